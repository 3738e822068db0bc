//! The explicit form `{ Type: value }` of every Variant type (fs-format.md §3.2), both
//! directions. Every f32 is written as `Value::Float32` and every f64 as `Value::Float`,
//! never rounded, so `decode(encode(v)) == v` bit for bit (DESIGN.md decision 1).

use std::collections::BTreeMap;

use base64::Engine as _;
use rbx_types::{
    Attributes, Axes, BinaryString, BrickColor, CFrame, Color3uint8, ColorSequence,
    ColorSequenceKeypoint, Content, ContentId, ContentType, CustomPhysicalProperties, Enum,
    EnumItem, Faces, Matrix3, NetAssetRef, NumberRange, NumberSequence, NumberSequenceKeypoint,
    PhysicalProperties, Ray, Rect, Ref, Region3, Region3int16, SecurityCapabilities, SharedString,
    Tags, UDim, UDim2, UniqueId, Variant, VariantType, Vector2int16, Vector3int16,
};

use super::fields::*;
use super::font_materials::{font, font_value, material_colors, material_colors_value};
use super::types::{explicit_parts, explicit_shape, type_name};
use crate::json_value::Value;

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// `{ Type: inner }` for any Variant.
pub(super) fn encode_explicit(value: &Variant) -> Value {
    Value::object([(type_name(value.ty()), encode_inner(value))])
}

/// The inner value of the explicit form.
fn encode_inner(value: &Variant) -> Value {
    match value {
        Variant::Axes(axes) => names_value(AXIS_NAMES, axes.bits()),
        Variant::BinaryString(bytes) => base64_value(bytes.as_ref()),
        Variant::Bool(b) => Value::Bool(*b),
        Variant::BrickColor(color) => Value::Int(i64::from(*color as u16)),
        Variant::CFrame(cframe) => cframe_object(cframe),
        Variant::Color3(color) => color3_value(*color),
        Variant::Color3uint8(c) => color3uint8_value(*c),
        Variant::ColorSequence(sequence) => keypoints(sequence.keypoints.iter().map(|k| {
            Value::object([
                ("color", color3_value(k.color)),
                ("time", Value::Float32(k.time)),
            ])
        })),
        Variant::ContentId(id) => Value::from(id.as_str()),
        Variant::Enum(e) => Value::Int(i64::from(e.to_u32())),
        Variant::Faces(faces) => names_value(FACE_NAMES, faces.bits()),
        Variant::Float32(x) => Value::Float32(*x),
        Variant::Float64(x) => Value::Float(*x),
        Variant::Int32(i) => Value::Int(i64::from(*i)),
        Variant::Int64(i) => Value::Int(*i),
        Variant::NumberRange(range) => f32s([range.min, range.max]),
        Variant::NumberSequence(sequence) => keypoints(sequence.keypoints.iter().map(|k| {
            Value::object([
                ("envelope", Value::Float32(k.envelope)),
                ("time", Value::Float32(k.time)),
                ("value", Value::Float32(k.value)),
            ])
        })),
        Variant::PhysicalProperties(props) => physical_properties_value(props),
        Variant::Ray(ray) => Value::object([
            ("direction", vector3_value(ray.direction)),
            ("origin", vector3_value(ray.origin)),
        ]),
        Variant::Rect(rect) => Value::Array(vec![vector2_value(rect.min), vector2_value(rect.max)]),
        Variant::Ref(referent) => Value::String(referent.to_string()),
        Variant::Region3(region) => {
            Value::Array(vec![vector3_value(region.min), vector3_value(region.max)])
        }
        Variant::Region3int16(region) => Value::Array(vec![
            vector3int16_value(region.min),
            vector3int16_value(region.max),
        ]),
        Variant::SharedString(shared) => base64_value(shared.data()),
        Variant::String(s) => Value::from(s.as_str()),
        Variant::UDim(udim) => udim_value(*udim),
        Variant::UDim2(udim2) => Value::Array(vec![udim_value(udim2.x), udim_value(udim2.y)]),
        Variant::Vector2(v) => vector2_value(*v),
        Variant::Vector2int16(v) => ints([i64::from(v.x), i64::from(v.y)]),
        Variant::Vector3(v) => vector3_value(*v),
        Variant::Vector3int16(v) => vector3int16_value(*v),
        Variant::OptionalCFrame(None) => Value::Null,
        Variant::OptionalCFrame(Some(cframe)) => cframe_object(cframe),
        Variant::Tags(tags) => tags_value(tags),
        Variant::Attributes(attributes) => Value::Object(
            attributes
                .iter()
                .map(|(name, value)| (name.clone(), encode_explicit(value)))
                .collect(),
        ),
        Variant::Font(font) => font_value(font),
        Variant::UniqueId(id) => Value::String(id.to_string()),
        Variant::MaterialColors(colors) => material_colors_value(colors),
        Variant::SecurityCapabilities(caps) => unsigned_value(caps.bits()),
        Variant::EnumItem(item) => Value::object([
            ("type", Value::from(item.ty.as_str())),
            ("value", Value::Int(i64::from(item.value))),
        ]),
        Variant::Content(content) => match content.value() {
            ContentType::None => Value::from("None"),
            ContentType::Uri(uri) => Value::object([("Uri", Value::from(uri.as_str()))]),
            ContentType::Object(referent) => {
                Value::object([("Object", Value::String(referent.to_string()))])
            }
            // rbx_types 3.1 has exactly the three kinds above; a future one is written
            // so that reading it back fails loudly instead of silently becoming None.
            _ => Value::object([("Unsupported", Value::from(format!("{content:?}")))]),
        },
        Variant::NetAssetRef(asset) => base64_value(asset.data()),
        // Variant is non-exhaustive; a future type reads back as a clear error.
        _ => Value::Null,
    }
}

/// Decodes the inner value of `{ ty: value }`. Failures carry the type's shape.
pub(super) fn decode_explicit(ty: VariantType, value: &Value) -> Decoded<Variant> {
    decode_inner(ty, value).map_err(|fail| fail.expecting(&explicit_shape(ty)))
}

fn decode_inner(ty: VariantType, value: &Value) -> Decoded<Variant> {
    Ok(match ty {
        VariantType::Axes => {
            let bits = names_bits(value, AXIS_NAMES, "axis")?;
            Variant::Axes(Axes::from_bits(bits).unwrap_or(Axes::empty()))
        }
        VariantType::BinaryString => Variant::BinaryString(BinaryString::from(base64(value)?)),
        VariantType::Bool => Variant::Bool(value.as_bool().ok_or_else(|| Fail::found(value))?),
        VariantType::BrickColor => {
            let number: u16 = integer_as(value, "BrickColor")?;
            let color = BrickColor::from_number(number)
                .ok_or_else(|| Fail::invalid(format!("{number} is not a BrickColor number")))?;
            Variant::BrickColor(color)
        }
        VariantType::CFrame => Variant::CFrame(cframe(value)?),
        VariantType::Color3 => Variant::Color3(color3(value)?),
        VariantType::Color3uint8 => Variant::Color3uint8(color3uint8(value)?),
        VariantType::ColorSequence => {
            let keypoints = keypoint_list(value, |map| {
                only_keys(map, &["color", "time"])?;
                Ok(ColorSequenceKeypoint::new(
                    field_with(map, "time", number_f32)?,
                    field_with(map, "color", color3)?,
                ))
            })?;
            Variant::ColorSequence(ColorSequence { keypoints })
        }
        VariantType::ContentId => Variant::ContentId(ContentId::from(string(value)?)),
        VariantType::Enum => Variant::Enum(Enum::from_u32(integer_as(value, "Enum")?)),
        VariantType::Faces => {
            let bits = names_bits(value, FACE_NAMES, "face")?;
            Variant::Faces(Faces::from_bits(bits).unwrap_or(Faces::empty()))
        }
        VariantType::Float32 => Variant::Float32(number_f32(value)?),
        VariantType::Float64 => Variant::Float64(number(value)?),
        VariantType::Int32 => Variant::Int32(integer_as(value, "Int32")?),
        VariantType::Int64 => Variant::Int64(integer_as(value, "Int64")?),
        VariantType::NumberRange => {
            let [min, max] = array_map(value, number_f32)?;
            Variant::NumberRange(NumberRange::new(min, max))
        }
        VariantType::NumberSequence => {
            let keypoints = keypoint_list(value, |map| {
                only_keys(map, &["envelope", "time", "value"])?;
                Ok(NumberSequenceKeypoint::new(
                    field_with(map, "time", number_f32)?,
                    field_with(map, "value", number_f32)?,
                    field_with(map, "envelope", number_f32)?,
                ))
            })?;
            Variant::NumberSequence(NumberSequence { keypoints })
        }
        VariantType::PhysicalProperties => Variant::PhysicalProperties(physical_properties(value)?),
        VariantType::Ray => {
            let map = object(value)?;
            only_keys(map, &["direction", "origin"])?;
            Variant::Ray(Ray::new(
                field_with(map, "origin", vector3)?,
                field_with(map, "direction", vector3)?,
            ))
        }
        VariantType::Rect => {
            let [min, max] = array_map(value, vector2)?;
            Variant::Rect(Rect::new(min, max))
        }
        VariantType::Ref => Variant::Ref(referent(value)?),
        VariantType::Region3 => {
            let [min, max] = array_map(value, vector3)?;
            Variant::Region3(Region3::new(min, max))
        }
        VariantType::Region3int16 => {
            let [min, max] = array_map(value, vector3int16)?;
            Variant::Region3int16(Region3int16::new(min, max))
        }
        VariantType::SharedString => Variant::SharedString(SharedString::new(base64(value)?)),
        VariantType::String => Variant::String(string(value)?.to_string()),
        VariantType::UDim => Variant::UDim(udim(value)?),
        VariantType::UDim2 => {
            let [x, y] = array_map(value, udim)?;
            Variant::UDim2(UDim2::new(x, y))
        }
        VariantType::Vector2 => Variant::Vector2(vector2(value)?),
        VariantType::Vector2int16 => {
            let [x, y] = array_map(value, |v| integer_as(v, "an Int16"))?;
            Variant::Vector2int16(Vector2int16::new(x, y))
        }
        VariantType::Vector3 => Variant::Vector3(vector3(value)?),
        VariantType::Vector3int16 => Variant::Vector3int16(vector3int16(value)?),
        VariantType::OptionalCFrame => match value {
            Value::Null => Variant::OptionalCFrame(None),
            _ => Variant::OptionalCFrame(Some(cframe(value)?)),
        },
        VariantType::Tags => Variant::Tags(tags(value)?),
        VariantType::Attributes => Variant::Attributes(attributes(value)?),
        VariantType::Font => Variant::Font(font(value)?),
        VariantType::UniqueId => Variant::UniqueId(unique_id(value)?),
        VariantType::MaterialColors => Variant::MaterialColors(material_colors(value)?),
        VariantType::SecurityCapabilities => Variant::SecurityCapabilities(
            SecurityCapabilities::from_bits(integer_as(value, "SecurityCapabilities")?),
        ),
        VariantType::EnumItem => {
            let map = object(value)?;
            only_keys(map, &["type", "value"])?;
            Variant::EnumItem(EnumItem {
                ty: field_with(map, "type", string)?.to_string(),
                value: field_with(map, "value", |v| integer_as(v, "an enum value"))?,
            })
        }
        VariantType::Content => Variant::Content(content(value)?),
        VariantType::NetAssetRef => Variant::NetAssetRef(NetAssetRef::new(base64(value)?)),
        other => {
            return Err(Fail::invalid(format!(
                "values of type {other:?} are not supported"
            )))
        }
    })
}

/// An attribute value: the explicit form, or the bare string/number/bool shorthands
/// (fs-format.md §3.3).
pub(super) fn decode_attribute_value(value: &Value) -> Decoded<Variant> {
    if let Some((ty, inner)) = explicit_parts(value) {
        let decoded = decode_explicit(ty, inner)?;
        if !attribute_type(decoded.ty()) {
            return Err(Fail::invalid(format!(
                "an attribute cannot hold {ty:?} values (Roblox attributes hold strings, \
                 booleans, numbers, UDim, UDim2, BrickColor, Color3, Vector2, Vector3, \
                 CFrame, EnumItem, NumberSequence, ColorSequence, NumberRange, Rect and Font)"
            )));
        }
        return Ok(decoded);
    }
    match value {
        Value::String(s) => Ok(Variant::String(s.clone())),
        Value::Bool(b) => Ok(Variant::Bool(*b)),
        _ if value.is_number() => Ok(Variant::Float64(number(value)?)),
        _ => Err(Fail::found(value).expecting(
            "a string, number, boolean or an explicit value such as { Vector3: [1, 2, 3] }",
        )),
    }
}

/// The value types a place file can store as attributes (what rbx_types writes).
pub(super) fn attribute_type(ty: VariantType) -> bool {
    matches!(
        ty,
        VariantType::String
            | VariantType::BinaryString
            | VariantType::Bool
            | VariantType::Int32
            | VariantType::Float32
            | VariantType::Float64
            | VariantType::UDim
            | VariantType::UDim2
            | VariantType::BrickColor
            | VariantType::Color3
            | VariantType::Vector2
            | VariantType::Vector3
            | VariantType::CFrame
            | VariantType::EnumItem
            | VariantType::NumberSequence
            | VariantType::ColorSequence
            | VariantType::NumberRange
            | VariantType::Rect
            | VariantType::Font
    )
}

pub(super) fn attributes(value: &Value) -> Decoded<Attributes> {
    let mut out = Attributes::new();
    for (name, item) in object(value)? {
        let decoded = decode_attribute_value(item).map_err(|fail| fail.at_key(name))?;
        out.insert(name.clone(), decoded);
    }
    Ok(out)
}

pub(super) fn tags(value: &Value) -> Decoded<Tags> {
    Ok(Tags::from(list(value, |item| {
        string(item).map(str::to_string)
    })?))
}

pub(super) fn tags_value(tags: &Tags) -> Value {
    Value::Array(tags.iter().map(Value::from).collect())
}

/// `{ position: [x, y, z], orientation: [[row], [row], [row]] }`.
fn cframe_object(cframe: &CFrame) -> Value {
    let m = &cframe.orientation;
    Value::object([
        (
            "orientation",
            Value::Array(vec![
                vector3_value(m.x),
                vector3_value(m.y),
                vector3_value(m.z),
            ]),
        ),
        ("position", vector3_value(cframe.position)),
    ])
}

fn cframe(value: &Value) -> Decoded<CFrame> {
    let map = object(value)?;
    only_keys(map, &["orientation", "position"])?;
    let position = field_with(map, "position", vector3)?;
    let [x, y, z] = field_with(map, "orientation", |v| array_map(v, vector3))?;
    Ok(CFrame::new(position, Matrix3::new(x, y, z)))
}

/// Faces and Axes are written as names in bit order, so the output is canonical.
const FACE_NAMES: &[&str] = &["Right", "Top", "Back", "Left", "Bottom", "Front"];
const AXIS_NAMES: &[&str] = &["X", "Y", "Z"];

fn names_value(names: &[&str], bits: u8) -> Value {
    Value::Array(
        names
            .iter()
            .enumerate()
            .filter(|(index, _)| bits & (1 << index) != 0)
            .map(|(_, name)| Value::from(*name))
            .collect(),
    )
}

fn names_bits(value: &Value, names: &[&str], what: &str) -> Decoded<u8> {
    let mut bits = 0u8;
    for name in list(value, |item| string(item).map(str::to_string))? {
        let index = names.iter().position(|n| *n == name).ok_or_else(|| {
            Fail::invalid(format!(
                "\"{name}\" is not a {what} (expected one of {names:?})"
            ))
        })?;
        bits |= 1 << index;
    }
    Ok(bits)
}

fn base64_value(bytes: &[u8]) -> Value {
    Value::String(BASE64.encode(bytes))
}

fn base64(value: &Value) -> Decoded<Vec<u8>> {
    BASE64
        .decode(string(value)?)
        .map_err(|err| Fail::invalid(format!("invalid base64: {err}")))
}

fn unsigned_value(x: u64) -> Value {
    match i64::try_from(x) {
        Ok(i) => Value::Int(i),
        Err(_) => Value::UInt(x),
    }
}

pub(super) fn color3uint8_value(c: Color3uint8) -> Value {
    ints([i64::from(c.r), i64::from(c.g), i64::from(c.b)])
}

pub(super) fn color3uint8(value: &Value) -> Decoded<Color3uint8> {
    let [r, g, b] = array_map(value, |v| integer_as(v, "a color channel (0 to 255)"))?;
    Ok(Color3uint8::new(r, g, b))
}

fn vector3int16_value(v: Vector3int16) -> Value {
    ints([i64::from(v.x), i64::from(v.y), i64::from(v.z)])
}

fn vector3int16(value: &Value) -> Decoded<Vector3int16> {
    let [x, y, z] = array_map(value, |v| integer_as(v, "an Int16"))?;
    Ok(Vector3int16::new(x, y, z))
}

fn udim_value(udim: UDim) -> Value {
    Value::Array(vec![
        Value::Float32(udim.scale),
        Value::Int(i64::from(udim.offset)),
    ])
}

fn udim(value: &Value) -> Decoded<UDim> {
    let [scale, offset] = array::<2>(value)?;
    Ok(UDim::new(
        number_f32(scale).map_err(|f| f.at_index(0))?,
        integer_as(offset, "an Int32 offset").map_err(|f| f.at_index(1))?,
    ))
}

fn keypoints(items: impl Iterator<Item = Value>) -> Value {
    Value::object([("keypoints", Value::Array(items.collect()))])
}

fn keypoint_list<T>(
    value: &Value,
    mut decode: impl FnMut(&BTreeMap<String, Value>) -> Decoded<T>,
) -> Decoded<Vec<T>> {
    let map = object(value)?;
    only_keys(map, &["keypoints"])?;
    field_with(map, "keypoints", |v| list(v, |item| decode(object(item)?)))
}

fn physical_properties_value(props: &PhysicalProperties) -> Value {
    match props {
        PhysicalProperties::Default => Value::from("Default"),
        PhysicalProperties::Custom(c) => Value::object([
            (
                "acousticAbsorption",
                Value::Float32(c.acoustic_absorption()),
            ),
            ("density", Value::Float32(c.density())),
            ("elasticity", Value::Float32(c.elasticity())),
            ("elasticityWeight", Value::Float32(c.elasticity_weight())),
            ("friction", Value::Float32(c.friction())),
            ("frictionWeight", Value::Float32(c.friction_weight())),
        ]),
    }
}

/// `acousticAbsorption` is optional (Roblox's default is 1) because files written before
/// the field existed lack it; the other five are required.
fn physical_properties(value: &Value) -> Decoded<PhysicalProperties> {
    if let Value::String(s) = value {
        return match s.as_str() {
            "Default" => Ok(PhysicalProperties::Default),
            _ => Err(Fail::invalid(format!(
                "\"{s}\" is not allowed; the only string form is \"Default\""
            ))),
        };
    }
    let map = object(value)?;
    only_keys(
        map,
        &[
            "acousticAbsorption",
            "density",
            "elasticity",
            "elasticityWeight",
            "friction",
            "frictionWeight",
        ],
    )?;
    let acoustic_absorption = match map.get("acousticAbsorption") {
        Some(v) => number_f32(v).map_err(|f| f.at_key("acousticAbsorption"))?,
        None => 1.0,
    };
    Ok(PhysicalProperties::Custom(CustomPhysicalProperties::new(
        field_with(map, "density", number_f32)?,
        field_with(map, "friction", number_f32)?,
        field_with(map, "elasticity", number_f32)?,
        field_with(map, "frictionWeight", number_f32)?,
        field_with(map, "elasticityWeight", number_f32)?,
        acoustic_absorption,
    )))
}

fn referent(value: &Value) -> Decoded<Ref> {
    let hex = hex32(value)?;
    hex.parse::<Ref>()
        .map_err(|err| Fail::invalid(format!("invalid Ref \"{hex}\": {err}")))
}

/// UniqueId is parsed here rather than with its `FromStr`, which rejects a negative
/// random part although its `Display` writes one.
fn unique_id(value: &Value) -> Decoded<UniqueId> {
    let hex = hex32(value)?;
    let part = |range: std::ops::Range<usize>| u64::from_str_radix(&hex[range], 16).unwrap_or(0);
    let random = part(0..16) as i64;
    let time = part(16..24) as u32;
    let index = part(24..32) as u32;
    Ok(UniqueId::new(index, time, random))
}

fn hex32(value: &Value) -> Decoded<&str> {
    let s = string(value)?;
    if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(s)
    } else {
        Err(Fail::invalid(format!(
            "\"{s}\" is not a string of 32 hex digits"
        )))
    }
}

/// `"None"`, `{ Uri: "..." }` or `{ Object: "<32 hex>" }`; any other plain string is
/// accepted as a Uri for convenience.
fn content(value: &Value) -> Decoded<Content> {
    match value {
        Value::String(s) if s == "None" => Ok(Content::none()),
        Value::String(s) => Ok(Content::from_uri(s.as_str())),
        _ => {
            let map = object(value)?;
            if map.len() == 1 {
                if let Some(uri) = map.get("Uri") {
                    return Ok(Content::from_uri(string(uri).map_err(|f| f.at_key("Uri"))?));
                }
                if let Some(object) = map.get("Object") {
                    return Ok(Content::from_referent(
                        referent(object).map_err(|f| f.at_key("Object"))?,
                    ));
                }
            }
            Err(Fail::found(value))
        }
    }
}
