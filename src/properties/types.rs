//! Variant type names (the keys of the explicit form) and human descriptions of the JSON
//! shape each type is written in, for error messages.

use rbx_types::VariantType;

use crate::json_value::Value;

macro_rules! type_names {
    ($($name:ident),* $(,)?) => {
        /// Every Variant type this codec knows, in `rbx_types` declaration order.
        #[cfg(test)]
        pub(super) const ALL_TYPES: &[VariantType] = &[$(VariantType::$name),*];

        /// The Variant type an explicit-form key names, if any.
        pub(super) fn type_from_name(name: &str) -> Option<VariantType> {
            match name {
                $(stringify!($name) => Some(VariantType::$name),)*
                _ => None,
            }
        }

        /// The explicit-form key for a Variant type.
        pub(super) fn type_name(ty: VariantType) -> &'static str {
            match ty {
                $(VariantType::$name => stringify!($name),)*
                _ => "Unknown",
            }
        }
    };
}

type_names! {
    Axes, BinaryString, Bool, BrickColor, CFrame, Color3, Color3uint8, ColorSequence,
    ContentId, Enum, Faces, Float32, Float64, Int32, Int64, NumberRange, NumberSequence,
    PhysicalProperties, Ray, Rect, Ref, Region3, Region3int16, SharedString, String, UDim,
    UDim2, Vector2, Vector2int16, Vector3, Vector3int16, OptionalCFrame, Tags, Attributes,
    Font, UniqueId, MaterialColors, SecurityCapabilities, EnumItem, Content, NetAssetRef,
}

/// Splits an explicit-form value `{ Type: inner }` into its type and inner value.
pub(super) fn explicit_parts(value: &Value) -> Option<(VariantType, &Value)> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    let (key, inner) = map.iter().next()?;
    Some((type_from_name(key)?, inner))
}

/// What the explicit form of `ty` looks like, e.g. `Vector3 (an array of 3 numbers)`.
pub(super) fn explicit_shape(ty: VariantType) -> String {
    let shape = match ty {
        VariantType::Axes => "an array of axis names \"X\", \"Y\", \"Z\"",
        VariantType::BinaryString => "a base64 string",
        VariantType::Bool => "true or false",
        VariantType::BrickColor => "a BrickColor number",
        VariantType::CFrame => {
            "an object { position: [x, y, z], orientation: [[R00, R01, R02], [R10, R11, R12], [R20, R21, R22]] }"
        }
        VariantType::Color3 => "an array of 3 numbers",
        VariantType::Color3uint8 => "an array of 3 integers from 0 to 255",
        VariantType::ColorSequence => {
            "an object { keypoints: [{ time, color: [r, g, b] }, ...] }"
        }
        VariantType::ContentId => "a string",
        VariantType::Enum => "a non-negative integer",
        VariantType::Faces => {
            "an array of face names \"Right\", \"Top\", \"Back\", \"Left\", \"Bottom\", \"Front\""
        }
        VariantType::Float32 | VariantType::Float64 => "a number",
        VariantType::Int32 | VariantType::Int64 => "an integer",
        VariantType::NumberRange => "an array of 2 numbers [min, max]",
        VariantType::NumberSequence => {
            "an object { keypoints: [{ time, value, envelope }, ...] }"
        }
        VariantType::PhysicalProperties => {
            "\"Default\" or an object { density, friction, elasticity, frictionWeight, elasticityWeight, acousticAbsorption }"
        }
        VariantType::Ray => "an object { origin: [x, y, z], direction: [x, y, z] }",
        VariantType::Rect => "an array [[minX, minY], [maxX, maxY]]",
        VariantType::Ref | VariantType::UniqueId => "a string of 32 hex digits",
        VariantType::Region3 => "an array [[minX, minY, minZ], [maxX, maxY, maxZ]]",
        VariantType::Region3int16 => {
            "an array of 2 arrays of 3 integers [[minX, minY, minZ], [maxX, maxY, maxZ]]"
        }
        VariantType::SharedString | VariantType::NetAssetRef => "a base64 string",
        VariantType::String => "a string",
        VariantType::UDim => "an array [scale, offset]",
        VariantType::UDim2 => "an array [[xScale, xOffset], [yScale, yOffset]]",
        VariantType::Vector2 => "an array of 2 numbers",
        VariantType::Vector2int16 => "an array of 2 integers",
        VariantType::Vector3 => "an array of 3 numbers",
        VariantType::Vector3int16 => "an array of 3 integers",
        VariantType::OptionalCFrame => {
            "null or an object { position: [x, y, z], orientation: [[...], [...], [...]] }"
        }
        VariantType::Tags => "an array of strings",
        VariantType::Attributes => "an object of attribute values",
        VariantType::Font => "an object { family, weight, style, cachedFaceId }",
        VariantType::MaterialColors => "an object { <TerrainMaterial>: [r, g, b] } (0 to 255)",
        VariantType::SecurityCapabilities => "a non-negative integer bit mask",
        VariantType::EnumItem => "an object { type, value }",
        VariantType::Content => {
            "\"None\", an object { Uri: \"...\" } or an object { Object: \"<32 hex digits>\" }"
        }
        _ => "a value",
    };
    format!("{} ({shape})", type_name(ty))
}

/// What the shorthand of `ty` looks like, when it has one.
pub(super) fn shorthand_shape(ty: VariantType, enum_name: Option<&str>) -> String {
    let shape = match ty {
        VariantType::Bool => "true or false",
        VariantType::String | VariantType::ContentId | VariantType::Content => "a string",
        VariantType::Int32 | VariantType::Int64 | VariantType::Float32 | VariantType::Float64 => {
            "a number"
        }
        VariantType::Tags => "an array of strings",
        VariantType::Vector2 => "an array of 2 numbers",
        VariantType::Vector3 | VariantType::Color3 => "an array of 3 numbers",
        VariantType::CFrame => {
            "an array of 12 numbers x, y, z, R00, R01, R02, R10, R11, R12, R20, R21, R22"
        }
        VariantType::Attributes => "an object of attribute values",
        VariantType::Font => "an object { family, weight, style, cachedFaceId }",
        VariantType::MaterialColors => "an object { <TerrainMaterial>: [r, g, b] } (0 to 255)",
        VariantType::Enum => {
            return match enum_name {
                Some(name) => format!("an item of enum {name} (its name as a string)"),
                None => "Enum (an item name)".to_string(),
            };
        }
        _ => return explicit_shape(ty),
    };
    format!("{} ({shape})", type_name(ty))
}
