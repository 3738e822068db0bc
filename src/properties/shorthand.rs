//! Shorthand (implicit) forms: values whose type comes from the reflection database
//! rather than from a `{ Type: ... }` wrapper (fs-format.md §3.1).

use rbx_reflection::EnumDescriptor;
use rbx_types::{CFrame, Content, ContentId, Enum, Matrix3, Variant, VariantType, Vector3};

use super::explicit::{attributes, tags, tags_value};
use super::fields::*;
use super::font_materials::{font, font_value, material_colors, material_colors_value};
use crate::json_value::Value;

/// Decodes a shorthand for a property of type `ty` (`enum_descriptor` set for enums).
/// `None` when the type has no shorthand at all.
pub(super) fn decode(
    ty: VariantType,
    enum_descriptor: Option<&EnumDescriptor>,
    value: &Value,
) -> Option<Decoded<Variant>> {
    Some(match ty {
        VariantType::Bool => value
            .as_bool()
            .map(Variant::Bool)
            .ok_or_else(|| Fail::found(value)),
        VariantType::String => string(value).map(|s| Variant::String(s.to_string())),
        VariantType::ContentId => string(value).map(|s| Variant::ContentId(ContentId::from(s))),
        VariantType::Content => string(value).map(|s| Variant::Content(Content::from_uri(s))),
        VariantType::Enum => decode_enum(enum_descriptor, value).map(Variant::Enum),
        VariantType::Int32 => truncated(value)
            .and_then(|i| fit(i, "Int32"))
            .map(Variant::Int32),
        VariantType::Int64 => truncated(value)
            .and_then(|i| fit(i, "Int64"))
            .map(Variant::Int64),
        VariantType::Float32 => number_f32(value).map(Variant::Float32),
        VariantType::Float64 => number(value).map(Variant::Float64),
        VariantType::Tags => tags(value).map(Variant::Tags),
        VariantType::Vector2 => vector2(value).map(Variant::Vector2),
        VariantType::Vector3 => vector3(value).map(Variant::Vector3),
        VariantType::Color3 => color3(value).map(Variant::Color3),
        VariantType::CFrame => cframe12(value).map(Variant::CFrame),
        VariantType::Attributes => attributes(value).map(Variant::Attributes),
        VariantType::Font => font(value).map(Variant::Font),
        VariantType::MaterialColors => material_colors(value).map(Variant::MaterialColors),
        _ => return None,
    })
}

/// The shorthand for `value`, when its type has one. The caller checks that it decodes
/// back to the same value before using it.
pub(super) fn encode(value: &Variant, enum_descriptor: Option<&EnumDescriptor>) -> Option<Value> {
    Some(match value {
        Variant::Bool(b) => Value::Bool(*b),
        Variant::String(s) => Value::from(s.as_str()),
        Variant::ContentId(id) => Value::from(id.as_str()),
        // Only a Uri has a shorthand; None and Object stay explicit so they read back.
        Variant::Content(content) => Value::from(content.as_uri()?),
        Variant::Enum(e) => Value::from(enum_item_name(enum_descriptor?, e.to_u32())?),
        Variant::Int32(i) => Value::Int(i64::from(*i)),
        Variant::Int64(i) => Value::Int(*i),
        Variant::Float32(x) => Value::Float32(*x),
        Variant::Float64(x) => Value::Float(*x),
        Variant::Tags(t) => tags_value(t),
        Variant::Vector2(v) => vector2_value(*v),
        Variant::Vector3(v) => vector3_value(*v),
        Variant::Color3(c) => color3_value(*c),
        Variant::CFrame(cframe) => cframe12_value(cframe),
        Variant::Attributes(attrs) => Value::Object(
            attrs
                .iter()
                .map(|(name, value)| (name.clone(), super::encode_explicit(value)))
                .collect(),
        ),
        Variant::Font(f) => font_value(f),
        Variant::MaterialColors(colors) => material_colors_value(colors),
        _ => return None,
    })
}

/// The name of the item with `value`; the byte-order first if several share it.
fn enum_item_name<'a>(descriptor: &EnumDescriptor<'a>, value: u32) -> Option<&'a str> {
    descriptor
        .items
        .iter()
        .filter(|(_, item)| **item == value)
        .map(|(name, _)| *name)
        .min()
}

/// An item name, or (for convenience) the raw number.
fn decode_enum(descriptor: Option<&EnumDescriptor>, value: &Value) -> Decoded<Enum> {
    match value {
        Value::String(name) => {
            let descriptor = descriptor.ok_or_else(|| Fail::found(value))?;
            descriptor
                .items
                .get(name.as_str())
                .map(|item| Enum::from_u32(*item))
                .ok_or_else(|| {
                    Fail::invalid(format!(
                        "\"{name}\" is not an item of enum {}",
                        descriptor.name
                    ))
                })
        }
        _ if value.is_number() => Ok(Enum::from_u32(integer_as(value, "an enum value")?)),
        _ => Err(Fail::found(value)),
    }
}

/// `[x, y, z, R00, R01, R02, R10, R11, R12, R20, R21, R22]`, rotation by rows.
fn cframe12_value(cframe: &CFrame) -> Value {
    let p = cframe.position;
    let m = &cframe.orientation;
    f32s([
        p.x, p.y, p.z, m.x.x, m.x.y, m.x.z, m.y.x, m.y.y, m.y.z, m.z.x, m.z.y, m.z.z,
    ])
}

fn cframe12(value: &Value) -> Decoded<CFrame> {
    let [x, y, z, r00, r01, r02, r10, r11, r12, r20, r21, r22] = array_map(value, number_f32)?;
    Ok(CFrame::new(
        Vector3::new(x, y, z),
        Matrix3::new(
            Vector3::new(r00, r01, r02),
            Vector3::new(r10, r11, r12),
            Vector3::new(r20, r21, r22),
        ),
    ))
}
