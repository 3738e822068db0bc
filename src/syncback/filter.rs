//! Which properties of an instance go into its files (fs-format.md §4.6 with DESIGN.md
//! decision 1: a property is dropped as default only when bit-identical to the default).

use rbx_dom_weak::types::{BinaryString, Content, ContentType, Variant};
use rbx_dom_weak::Instance;
use rbx_reflection::{ClassDescriptor, Scriptability};

use super::rules::CompiledRules;

pub use crate::properties::{database, find_property};

fn class(name: &str) -> Option<&'static ClassDescriptor<'static>> {
    database().classes.get(name)
}

/// The reflection default of `class.property`, walking superclasses.
pub fn default_value(class_name: &str, property: &str) -> Option<&'static Variant> {
    let mut current = class(class_name)?;
    loop {
        if let Some(value) = current.default_properties.get(property) {
            return Some(value);
        }
        current = class(current.superclass?)?;
    }
}

/// Whether `class_name` is `ancestor` or inherits from it.
pub fn is_a(class_name: &str, ancestor: &str) -> bool {
    let mut current = class(class_name);
    while let Some(descriptor) = current {
        if descriptor.name == ancestor {
            return true;
        }
        current = descriptor.superclass.and_then(class);
    }
    class_name == ancestor
}

/// Whether the class is a service (tagged so in the reflection database).
pub fn is_service(class_name: &str) -> bool {
    class(class_name).is_some_and(|c| c.tags.contains(&rbx_reflection::ClassTag::Service))
}

fn unscriptable(class_name: &str, property: &str) -> bool {
    find_property(class_name, property)
        .is_some_and(|d| matches!(d.scriptability, Scriptability::None))
}

/// Bit-identical equality, as far as files can tell values apart: `-0` differs from `0`,
/// and every NaN equals every NaN (files write them all as `NaN`, so a place's NaN with
/// another sign or payload is not a change).
pub fn identical(a: &Variant, b: &Variant) -> bool {
    match (a, b) {
        (Variant::Float32(x), Variant::Float32(y)) => same_f32(*x, *y),
        (Variant::Float64(x), Variant::Float64(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (Variant::Vector3(x), Variant::Vector3(y)) => same_vector3(x, y),
        (Variant::Vector2(x), Variant::Vector2(y)) => same_f32(x.x, y.x) && same_f32(x.y, y.y),
        (Variant::Color3(x), Variant::Color3(y)) => {
            same_f32(x.r, y.r) && same_f32(x.g, y.g) && same_f32(x.b, y.b)
        }
        (Variant::CFrame(x), Variant::CFrame(y)) => {
            same_vector3(&x.position, &y.position)
                && same_vector3(&x.orientation.x, &y.orientation.x)
                && same_vector3(&x.orientation.y, &y.orientation.y)
                && same_vector3(&x.orientation.z, &y.orientation.z)
        }
        (Variant::Bool(_), _)
        | (Variant::String(_), _)
        | (Variant::Int32(_), _)
        | (Variant::Int64(_), _)
        | (Variant::Enum(_), _)
        | (Variant::BrickColor(_), _)
        | (Variant::Color3uint8(_), _)
        | (Variant::ContentId(_), _)
        | (Variant::Content(_), _)
        | (Variant::Tags(_), _)
        | (Variant::BinaryString(_), _)
        | (Variant::SharedString(_), _)
        | (Variant::Vector2int16(_), _)
        | (Variant::Vector3int16(_), _)
        | (Variant::Axes(_), _)
        | (Variant::Faces(_), _)
        | (Variant::Ref(_), _)
        | (Variant::UniqueId(_), _)
        | (Variant::SecurityCapabilities(_), _)
        | (Variant::EnumItem(_), _) => a == b,
        (Variant::Attributes(x), Variant::Attributes(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((kx, vx), (ky, vy))| kx == ky && identical_attribute(vx, vy))
        }
        _ => {
            if a.ty() != b.ty() {
                return false;
            }
            // Slow path for other float-bearing values: the Debug text shows every float in
            // a form that tells -0 from 0 and prints every NaN alike. `==` settles the
            // common case first, but never holds for values holding a NaN.
            if a == b {
                return format!("{a:?}") == format!("{b:?}");
            }
            let text = format!("{a:?}");
            text.contains("NaN") && text == format!("{b:?}")
        }
    }
}

fn same_f32(x: f32, y: f32) -> bool {
    x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
}

fn same_vector3(x: &rbx_dom_weak::types::Vector3, y: &rbx_dom_weak::types::Vector3) -> bool {
    same_f32(x.x, y.x) && same_f32(x.y, y.y) && same_f32(x.z, y.z)
}

/// Attribute values are [`identical`], except that a string equals a BinaryString of the
/// same bytes: Roblox has one string attribute type, which place files store as bytes
/// (read back as BinaryString) and meta files as text.
fn identical_attribute(a: &Variant, b: &Variant) -> bool {
    match (a, b) {
        (Variant::String(text), Variant::BinaryString(bytes))
        | (Variant::BinaryString(bytes), Variant::String(text)) => {
            text.as_bytes() == <BinaryString as AsRef<[u8]>>::as_ref(bytes)
        }
        _ => identical(a, b),
    }
}

/// Whether the property codec writes `value` in a form that reads back identically.
/// Values it cannot carry (an object-valued Content, Variant types newer than the codec)
/// send their instance's subtree to an `.rbxm` file instead.
pub fn encodable(value: &Variant) -> bool {
    match value {
        Variant::Content(content) => {
            !matches!(content.value(), ContentType::Object(_)) || is_none_content(content)
        }
        Variant::Axes(_)
        | Variant::BinaryString(_)
        | Variant::Bool(_)
        | Variant::BrickColor(_)
        | Variant::CFrame(_)
        | Variant::Color3(_)
        | Variant::Color3uint8(_)
        | Variant::ColorSequence(_)
        | Variant::ContentId(_)
        | Variant::Enum(_)
        | Variant::Faces(_)
        | Variant::Float32(_)
        | Variant::Float64(_)
        | Variant::Int32(_)
        | Variant::Int64(_)
        | Variant::NumberRange(_)
        | Variant::NumberSequence(_)
        | Variant::PhysicalProperties(_)
        | Variant::Ray(_)
        | Variant::Rect(_)
        | Variant::Ref(_)
        | Variant::Region3(_)
        | Variant::Region3int16(_)
        | Variant::SharedString(_)
        | Variant::String(_)
        | Variant::UDim(_)
        | Variant::UDim2(_)
        | Variant::Vector2(_)
        | Variant::Vector2int16(_)
        | Variant::Vector3(_)
        | Variant::Vector3int16(_)
        | Variant::OptionalCFrame(_)
        | Variant::Tags(_)
        | Variant::Font(_)
        | Variant::UniqueId(_)
        | Variant::MaterialColors(_)
        | Variant::SecurityCapabilities(_)
        | Variant::EnumItem(_)
        | Variant::NetAssetRef(_) => true,
        Variant::Attributes(attributes) => attributes
            .iter()
            .all(|(_, v)| encodable(v) && !matches!(v, Variant::Ref(_) | Variant::Attributes(_))),
        _ => false,
    }
}

fn is_none_content(content: &Content) -> bool {
    matches!(content.value(), ContentType::None)
}

/// Why a property is left out of the files (or `None`: it is written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Ref values become `Rojo_Ref_*` attributes.
    Ref,
    /// UniqueId values are regenerated by Roblox and never written.
    UniqueId,
    /// `Attributes` is written as the `attributes` object instead.
    Attributes,
    NotSerialized,
    Unscriptable,
    Default,
    Ignored,
}

/// Why `class.property` is never written, whatever its value: the project's rules ignore
/// it, or the reflection database says place files do not keep it (or scripts cannot see
/// it, unless the rules sync such properties).
pub fn never_written(rules: &CompiledRules, class_name: &str, property: &str) -> Option<Skip> {
    if rules.ignores_property(class_name, property) {
        return Some(Skip::Ignored);
    }
    if crate::properties::never_saved(class_name, property) {
        return Some(Skip::NotSerialized);
    }
    if !rules.sync_unscriptable && unscriptable(class_name, property) {
        return Some(Skip::Unscriptable);
    }
    None
}

/// Decides whether `instance.property = value` is written (before the per-format filter
/// that drops the property the file itself carries).
pub fn skip_reason(
    rules: &CompiledRules,
    class_name: &str,
    property: &str,
    value: &Variant,
) -> Option<Skip> {
    match value {
        Variant::Ref(_) => return Some(Skip::Ref),
        Variant::UniqueId(_) => return Some(Skip::UniqueId),
        Variant::Attributes(_) if property == "Attributes" => return Some(Skip::Attributes),
        _ => {}
    }
    if let Some(skip) = never_written(rules, class_name, property) {
        return Some(skip);
    }
    if let Some(default) = default_value(class_name, property) {
        if identical(default, value) {
            return Some(Skip::Default);
        }
    }
    // Empty Tags / Attributes equal an absent property.
    if let Variant::Tags(tags) = value {
        if tags.iter().next().is_none() {
            return Some(Skip::Default);
        }
    }
    None
}

/// The properties of `instance` that its files must record, sorted by name.
pub fn kept_properties<'a>(
    rules: &CompiledRules,
    instance: &'a Instance,
) -> Vec<(&'a str, &'a Variant)> {
    let class_name = instance.class.as_str();
    let mut kept: Vec<(&str, &Variant)> = instance
        .properties
        .iter()
        .filter(|(name, value)| skip_reason(rules, class_name, name.as_str(), value).is_none())
        .map(|(name, value)| (name.as_str(), value))
        .collect();
    kept.sort_unstable_by(|a, b| a.0.cmp(b.0));
    kept
}

/// Whether everything the instance's files would hold can be written as JSON5.
pub fn instance_encodable(instance: &Instance) -> bool {
    instance.properties.values().all(encodable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rbx_dom_weak::types::Attributes;

    fn attributes(entries: Vec<(&str, Variant)>) -> Variant {
        let mut attributes = Attributes::new();
        for (name, value) in entries {
            attributes.insert(name.to_string(), value);
        }
        Variant::Attributes(attributes)
    }

    #[test]
    fn string_attributes_equal_their_bytes_from_a_place_file() {
        let from_meta = attributes(vec![
            ("Owner", Variant::String("Design".into())),
            ("Scale", Variant::Float64(-0.0)),
        ]);
        let from_place = attributes(vec![
            ("Owner", Variant::BinaryString(b"Design".to_vec().into())),
            ("Scale", Variant::Float64(-0.0)),
        ]);
        assert!(identical(&from_meta, &from_place));
        assert!(identical(&from_place, &from_meta));

        let other_text = attributes(vec![
            ("Owner", Variant::BinaryString(b"design".to_vec().into())),
            ("Scale", Variant::Float64(-0.0)),
        ]);
        assert!(!identical(&from_meta, &other_text));
        let other_zero = attributes(vec![
            ("Owner", Variant::String("Design".into())),
            ("Scale", Variant::Float64(0.0)),
        ]);
        assert!(!identical(&from_meta, &other_zero));
        let fewer = attributes(vec![("Owner", Variant::String("Design".into()))]);
        assert!(!identical(&from_meta, &fewer));
    }

    #[test]
    fn every_nan_is_the_same_value_and_negative_zero_is_not_zero() {
        use rbx_dom_weak::types::{CFrame, Matrix3, NumberRange, Vector3};
        let negative_nan = f32::from_bits(0xffc0_0000);
        assert!(negative_nan.is_nan());
        assert!(identical(
            &Variant::Float32(f32::NAN),
            &Variant::Float32(negative_nan)
        ));
        assert!(identical(
            &Variant::Float64(f64::NAN),
            &Variant::Float64(-f64::NAN)
        ));
        assert!(!identical(&Variant::Float32(0.0), &Variant::Float32(-0.0)));
        assert!(!identical(
            &Variant::Float32(f32::NAN),
            &Variant::Float32(0.0)
        ));

        let cframe =
            |x: f32| Variant::CFrame(CFrame::new(Vector3::new(x, 1.0, 2.0), Matrix3::identity()));
        assert!(identical(&cframe(f32::NAN), &cframe(negative_nan)));
        assert!(!identical(&cframe(0.0), &cframe(-0.0)));
        assert!(!identical(&cframe(f32::NAN), &cframe(1.0)));

        // A compound value on the slow path.
        let range = |x: f32| Variant::NumberRange(NumberRange::new(x, 5.0));
        assert!(identical(&range(f32::NAN), &range(negative_nan)));
        assert!(identical(&range(1.5), &range(1.5)));
        assert!(!identical(&range(0.0), &range(-0.0)));
        assert!(!identical(&range(f32::NAN), &range(1.5)));
    }
}
