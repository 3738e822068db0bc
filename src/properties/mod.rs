//! Variant <-> JSON5 value codec for property and attribute values in project, meta and
//! model files (fs-format.md §3).
//!
//! Two forms exist. The explicit form `{ Type: value }` works for every Variant type and
//! needs no context. The shorthand form (`Size: [4, 1, 2]`) takes its type from the
//! reflection database. Encoding prefers the shorthand but only when it provably decodes
//! back to the identical value; floats are never rounded (DESIGN.md decision 1), so
//! `decode(encode(v)) == v` bit for bit.

mod explicit;
mod fields;
mod font_materials;
pub mod saved;
mod shorthand;
mod types;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;

use rbx_reflection::{
    DataType, EnumDescriptor, PropertyDescriptor, PropertyKind, PropertySerialization,
    ReflectionDatabase, Scriptability,
};
use rbx_types::{Attributes, Variant, VariantType};

use crate::json_value::Value;
use fields::Fail;
use types::{explicit_parts, shorthand_shape, type_name};

/// Why a property or attribute value could not be decoded. Every message names the
/// property (`Property Part.Size`) or attribute (`Attribute Health`) it is about.
#[derive(Debug, thiserror::Error)]
pub enum PropertyError {
    /// A shorthand value for a property the reflection database does not know.
    #[error(
        "Unknown property {class}.{property}: its type cannot be inferred, so write the value \
         in explicit form, e.g. {{ Vector3: [1, 2, 3] }}"
    )]
    UnknownProperty { class: String, property: String },
    /// The value does not have the shape its type needs.
    #[error("{subject} expects {expected}, got {found}")]
    WrongShape {
        subject: String,
        expected: String,
        found: String,
    },
    /// The shape is right but the value is not allowed.
    #[error("{subject}: {message}")]
    InvalidValue { subject: String, message: String },
    /// A string given for a Ref property; Refs are written as `Rojo_Ref_*` attributes.
    #[error(
        "{subject} is a Ref, which cannot be given as a string; add an attribute \
         Rojo_Ref_{property} holding the path of the target instance instead"
    )]
    RefShorthand { subject: String, property: String },
    /// The property's type has no shorthand form.
    #[error(
        "{subject} has type {ty}, which has no shorthand form; write it explicitly as \
         {{ {ty}: ... }}"
    )]
    NoShorthand { subject: String, ty: String },
}

/// The reflection database: a local override when one is installed, else the bundled one.
pub fn database() -> &'static ReflectionDatabase<'static> {
    rbx_reflection_database::get().unwrap_or_else(|_| rbx_reflection_database::get_bundled())
}

/// The classes among `instances` that the reflection database does not know, each with
/// how many instances have it and the first of them (build and syncback warn about them).
pub fn unknown_classes<'a>(
    instances: impl IntoIterator<Item = &'a rbx_dom_weak::Instance>,
) -> BTreeMap<&'a str, (usize, rbx_dom_weak::types::Ref)> {
    let classes = &database().classes;
    let mut unknown: BTreeMap<&str, (usize, rbx_dom_weak::types::Ref)> = BTreeMap::new();
    for instance in instances {
        let class = instance.class.as_str();
        if !classes.contains_key(class) {
            unknown.entry(class).or_insert((0, instance.referent())).0 += 1;
        }
    }
    unknown
}

/// The descriptor of `class.property`, walking superclasses (the one lookup the build,
/// syncback and serve share).
pub fn find_property(class: &str, property: &str) -> Option<&'static PropertyDescriptor<'static>> {
    let db = database();
    let mut current = db.classes.get(class)?;
    loop {
        if let Some(descriptor) = current.properties.get(property) {
            return Some(descriptor);
        }
        current = db.classes.get(current.superclass?)?;
    }
}

/// Whether a Studio plugin may write `class.property` (for an alias such as `size`, the
/// property it stands for). The reflection database marks the
/// values Roblox keeps from plugins (`NotScriptable`, or read-only such as
/// `MeshPart.MeshId`) with a scriptability of `None` or `Read`; serve never sends those,
/// since each would fail on every sync. `Custom` ones are written through methods
/// (`Model:ScaleTo`), which the plugin knows. Unknown classes and properties may be newer
/// than the database, so they count as writable.
pub fn plugin_can_write(class: &str, property: &str) -> bool {
    !plugin_unwritable(class).is_some_and(|names| names.contains(property))
}

/// The properties of `class` a plugin may not write (see [`plugin_can_write`]), looked up
/// once for all of an instance's properties.
pub fn plugin_unwritable(class: &str) -> Option<&'static HashSet<&'static str>> {
    static UNWRITABLE: OnceLock<HashMap<&'static str, HashSet<&'static str>>> = OnceLock::new();
    let unwritable = UNWRITABLE.get_or_init(|| {
        let db = database();
        db.classes
            .keys()
            .map(|&class| {
                // The nearest declaration of a name wins: walk up from the class itself.
                let mut seen = HashSet::new();
                let mut names = HashSet::new();
                let mut current = db.classes.get(class);
                while let Some(descriptor) = current {
                    for (&name, property) in &descriptor.properties {
                        // An alias (`size`, `Color3uint8`) is written as what it stands for.
                        let canonical = canonical_property(class, name).unwrap_or(property);
                        let read_only = matches!(
                            canonical.scriptability,
                            Scriptability::None | Scriptability::Read
                        );
                        if seen.insert(name) && read_only {
                            names.insert(name);
                        }
                    }
                    current = descriptor.superclass.and_then(|s| db.classes.get(s));
                }
                (class, names)
            })
            .collect()
    });
    unwritable.get(class)
}

/// The descriptor `class.property` stands for: itself, or for an alias (`size`,
/// `Color3uint8`) the property it is another name of.
pub fn canonical_property(
    class: &str,
    property: &str,
) -> Option<&'static PropertyDescriptor<'static>> {
    let descriptor = find_property(class, property)?;
    match descriptor.kind {
        PropertyKind::Alias { alias_for } => find_property(class, alias_for).or(Some(descriptor)),
        _ => Some(descriptor),
    }
}

/// Whether the reflection database says place files never save `class.property` (an
/// alias follows what it stands for): `Part.Position`, whose place keeps the `CFrame`.
pub fn never_saved(class: &str, property: &str) -> bool {
    canonical_property(class, property).is_some_and(|descriptor| {
        matches!(
            descriptor.kind,
            PropertyKind::Canonical {
                serialization: PropertySerialization::DoesNotSerialize
            }
        )
    })
}

fn enum_descriptor(
    descriptor: &PropertyDescriptor<'static>,
) -> Option<&'static EnumDescriptor<'static>> {
    match &descriptor.data_type {
        DataType::Enum(name) => database().enums.get(name),
        _ => None,
    }
}

/// Type the reflection database gives `class.property`, walking superclasses.
///
/// The type is the one stored under that exact name: aliases and serialized names
/// (`size`, `Color3uint8`) have their own descriptors, so no redirection is needed; a
/// property that migrates to another keeps its own old type here.
pub fn property_type(class: &str, property: &str) -> Option<VariantType> {
    find_property(class, property).map(|descriptor| descriptor.data_type.ty())
}

/// Decode a value written for property `property` of class `class` (explicit
/// `{Type: value}` form, or a shorthand resolved through the reflection database;
/// fs-format.md §3.1).
pub fn decode_property(
    class: &str,
    property: &str,
    value: &Value,
) -> Result<Variant, PropertyError> {
    let subject = || format!("Property {class}.{property}");
    if let Some((ty, inner)) = explicit_parts(value) {
        return explicit::decode_explicit(ty, inner)
            .map_err(|fail| to_error(subject(), fail, String::new()));
    }
    let Some(descriptor) = find_property(class, property) else {
        return Err(PropertyError::UnknownProperty {
            class: class.to_string(),
            property: property.to_string(),
        });
    };
    decode_shorthand(descriptor, value, subject)
}

fn decode_shorthand(
    descriptor: &'static PropertyDescriptor<'static>,
    value: &Value,
    subject: impl Fn() -> String,
) -> Result<Variant, PropertyError> {
    let ty = descriptor.data_type.ty();
    if ty == VariantType::Ref {
        return Err(PropertyError::RefShorthand {
            subject: subject(),
            property: descriptor.name.to_string(),
        });
    }
    let enum_descriptor = enum_descriptor(descriptor);
    match shorthand::decode(ty, enum_descriptor, value) {
        Some(result) => result.map_err(|fail| {
            let expected = shorthand_shape(ty, enum_descriptor.map(|e| e.name));
            to_error(subject(), fail, expected)
        }),
        None => Err(PropertyError::NoShorthand {
            subject: subject(),
            ty: type_name(ty).to_string(),
        }),
    }
}

/// Decode an attribute value (no class context, §3.3: explicit form, or string ->
/// String, number -> Float64, bool -> Bool).
pub fn decode_attribute(name: &str, value: &Value) -> Result<Variant, PropertyError> {
    explicit::decode_attribute_value(value)
        .map_err(|fail| to_error(format!("Attribute {name}"), fail, String::new()))
}

/// Decode a whole attributes object into `rbx_types::Attributes`.
pub fn decode_attributes(map: &BTreeMap<String, Value>) -> Result<Attributes, PropertyError> {
    let mut attributes = Attributes::new();
    for (name, value) in map {
        attributes.insert(name.clone(), decode_attribute(name, value)?);
    }
    Ok(attributes)
}

/// Encode a property value for a meta/model/project file: shorthand when the reflection
/// database knows `class.property` with the same type AND the shorthand decodes back to
/// exactly the same Variant; otherwise the explicit form. Never loses information.
pub fn encode_property(class: &str, property: &str, value: &Variant) -> Value {
    if let Some(shorthand) = shorthand_for(class, property, value) {
        return shorthand;
    }
    encode_explicit(value)
}

fn shorthand_for(class: &str, property: &str, value: &Variant) -> Option<Value> {
    let descriptor = find_property(class, property)?;
    if descriptor.data_type.ty() != value.ty() {
        return None;
    }
    let candidate = shorthand::encode(value, enum_descriptor(descriptor))?;
    // Decoding through the full path also catches a shorthand that would be mistaken
    // for an explicit form (e.g. an Attributes object whose only key is "Bool").
    let back = match explicit_parts(&candidate) {
        Some(_) => return None,
        None => decode_shorthand(descriptor, &candidate, String::new).ok()?,
    };
    identical(&back, value).then_some(candidate)
}

/// Encode an attribute value: String, Float64, Bool bare; everything else explicit.
///
/// A BinaryString that is valid UTF-8 is written as a plain string too. Roblox has one
/// string attribute type and place files store it as bytes, which rbx_binary and rbx_xml
/// read back as BinaryString; `"ground"` and `{ BinaryString: "Z3JvdW5k" }` are the same
/// attribute in a place, and only the first is readable in a meta file. Bytes that are not
/// UTF-8 stay explicit, so nothing is lost.
pub fn encode_attribute(value: &Variant) -> Value {
    match value {
        Variant::String(s) => Value::from(s.as_str()),
        Variant::BinaryString(bytes) => match std::str::from_utf8(bytes.as_ref()) {
            Ok(text) => Value::from(text),
            Err(_) => encode_explicit(value),
        },
        Variant::Float64(x) => Value::Float(*x),
        Variant::Bool(b) => Value::Bool(*b),
        other => encode_explicit(other),
    }
}

/// Explicit form, used when no shorthand is wanted.
pub fn encode_explicit(value: &Variant) -> Value {
    explicit::encode_explicit(value)
}

/// Equality that also tells `-0` from `0` and treats NaN as equal to NaN, by comparing
/// the explicit forms float by float.
fn identical(a: &Variant, b: &Variant) -> bool {
    a.ty() == b.ty() && same_bits(&encode_explicit(a), &encode_explicit(b))
}

fn same_bits(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float32(x), Value::Float32(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (Value::Float(x), Value::Float(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_bits(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && same_bits(vx, vy))
        }
        _ => a == b,
    }
}

fn to_error(subject: String, fail: Fail, fallback_expected: String) -> PropertyError {
    match fail {
        Fail::Shape {
            expected,
            found,
            path,
        } => PropertyError::WrongShape {
            subject,
            expected: expected.unwrap_or(fallback_expected),
            found: if path.is_empty() {
                found
            } else {
                format!("{found} at {path}")
            },
        },
        Fail::Invalid { message, path } => PropertyError::InvalidValue {
            subject,
            message: if path.is_empty() {
                message
            } else {
                format!("{path}: {message}")
            },
        },
    }
}
