//! Property values as a place file gives them back.
//!
//! A project can say a value in a form place files do not keep: a `Color3` for
//! `Part.Color` (saved as 8-bit `Color3uint8`), an alias (`size`, `BrickColor`), an old
//! name Roblox migrated (`Decal.Texture` to `TextureContent`, `TextLabel.Font` to
//! `FontFace`), or a property never saved (`Part.Position`). Syncback compares the
//! project with a place, so it first asks what the place would hold for the project's
//! values; otherwise every such file would count as changed and be rewritten without
//! its comments. The answer comes from rbx_binary itself (a one-instance write and
//! read), and only for the properties the reflection database says it would change.

use std::cell::RefCell;
use std::collections::HashMap;

use rbx_dom_weak::{InstanceBuilder, Ustr, UstrMap, WeakDom};
use rbx_reflection::{PropertyKind, PropertySerialization};
use rbx_types::{Variant, VariantType};

use super::{find_property, property_type};

/// Whether a place file could give `class.name` back under another name, as another
/// type, or not at all, for a value of type `ty`.
fn may_change(class: &str, name: &str, ty: VariantType) -> bool {
    thread_local! {
        static KNOWN: RefCell<HashMap<(Ustr, Ustr, VariantType), bool>> =
            RefCell::new(HashMap::new());
    }
    let key = (Ustr::from(class), Ustr::from(name), ty);
    if let Some(known) = KNOWN.with(|known| known.borrow().get(&key).copied()) {
        return known;
    }
    let answer = match find_property(class, name) {
        // rbx_binary keeps what the database does not know as it is.
        None => false,
        Some(descriptor) => match &descriptor.kind {
            PropertyKind::Alias { .. } => true,
            PropertyKind::Canonical { serialization } => match serialization {
                PropertySerialization::Serializes => descriptor.data_type.ty() != ty,
                PropertySerialization::SerializesAs(saved) => {
                    property_type(class, saved) != Some(ty)
                }
                PropertySerialization::DoesNotSerialize | PropertySerialization::Migrate(_) => true,
                _ => true,
            },
            _ => true,
        },
    };
    KNOWN.with(|known| known.borrow_mut().insert(key, answer));
    answer
}

/// Whether any of `properties` of a `class` instance may read back differently.
fn any_may_change<'a>(
    class: &str,
    mut properties: impl Iterator<Item = (&'a str, &'a Variant)>,
) -> bool {
    properties.any(|(name, value)| may_change(class, name, value.ty()))
}

/// The properties a place file holding one `class` instance with `properties` gives
/// back, or `None` when rbx_binary refuses them (the caller keeps what it had).
fn round_trip(class: &str, properties: UstrMap<Variant>) -> Option<UstrMap<Variant>> {
    let mut dom = WeakDom::new(InstanceBuilder::new("DataModel"));
    let root = dom.root_ref();
    let instance = dom.insert(
        root,
        InstanceBuilder::new(class).with_properties(properties),
    );
    let mut bytes = Vec::new();
    rbx_binary::to_writer(&mut bytes, &dom, &[instance]).ok()?;
    let mut read = crate::place_file::decode_binary(bytes.as_slice()).ok()?;
    let read_root = read.root().children().first().copied()?;
    let instance = read.get_by_ref_mut(read_root)?;
    Some(std::mem::take(&mut instance.properties))
}

/// Puts every instance's properties into the form a place file would give back.
pub fn normalize_dom(dom: &mut WeakDom) {
    let changing: Vec<_> = dom
        .descendants()
        .filter(|instance| {
            any_may_change(
                &instance.class,
                instance
                    .properties
                    .iter()
                    .map(|(name, value)| (name.as_str(), value)),
            )
        })
        .map(|instance| instance.referent())
        .collect();
    for referent in changing {
        let Some(instance) = dom.get_by_ref_mut(referent) else {
            continue;
        };
        if let Some(saved) = round_trip(&instance.class, instance.properties.clone()) {
            instance.properties = saved;
        }
    }
}

/// What a place file gives back for `class.name` set to `value` alone: the name and
/// value it holds then (`Color` with a `Color3uint8` for a `Color3`, `TextureContent`
/// for `Texture`), or `None` when it keeps nothing of it.
pub fn saved_property(class: &str, name: &str, value: &Variant) -> Option<(Ustr, Variant)> {
    if !may_change(class, name, value.ty()) {
        return Some((Ustr::from(name), value.clone()));
    }
    let mut properties = UstrMap::default();
    properties.insert(Ustr::from(name), value.clone());
    let saved = round_trip(class, properties)?;
    // Anything else it reads back (a default filled in for a migration) is not this
    // property's doing.
    let mut entries: Vec<_> = saved.into_iter().collect();
    entries.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let canonical = super::canonical_property(class, name).map(|d| d.name);
    entries
        .iter()
        .position(|(saved_name, _)| Some(saved_name.as_str()) == canonical || saved_name == name)
        .or((entries.len() == 1).then_some(0))
        .map(|index| entries.swap_remove(index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rbx_types::{Color3, Color3uint8, Content, ContentId, Enum, Vector3};

    #[test]
    fn values_read_back_as_a_place_file_holds_them() {
        assert_eq!(
            saved_property(
                "Part",
                "Color",
                &Variant::Color3(Color3::new(0.0, 1.0, 0.5))
            ),
            Some((
                "Color".into(),
                Variant::Color3uint8(Color3uint8::new(0, 255, 128))
            ))
        );
        assert_eq!(
            saved_property(
                "Decal",
                "Texture",
                &Variant::ContentId(ContentId::from("rbxassetid://1"))
            ),
            Some((
                "TextureContent".into(),
                Variant::Content(Content::from_uri("rbxassetid://1"))
            ))
        );
        assert_eq!(
            saved_property(
                "Part",
                "size",
                &Variant::Vector3(Vector3::new(1.0, 2.0, 3.0))
            ),
            Some(("Size".into(), Variant::Vector3(Vector3::new(1.0, 2.0, 3.0))))
        );
        let font = saved_property("TextLabel", "Font", &Variant::Enum(Enum::from_u32(3)));
        assert!(matches!(font, Some((name, Variant::Font(_))) if name == "FontFace"));
        assert_eq!(
            saved_property(
                "Part",
                "Position",
                &Variant::Vector3(Vector3::new(1.0, 2.0, 3.0))
            ),
            None
        );
        // Values a place keeps as they are take no round trip.
        assert!(!may_change("Part", "Size", VariantType::Vector3));
        assert!(!may_change("Part", "Anchored", VariantType::Bool));
        assert!(!may_change("NoSuchClass", "Thing", VariantType::Bool));
    }

    #[test]
    fn a_dom_is_normalised_only_where_a_place_would_differ() {
        let mut dom = WeakDom::new(InstanceBuilder::new("DataModel"));
        let root = dom.root_ref();
        let part = dom.insert(
            root,
            InstanceBuilder::new("Part")
                .with_property("Color", Color3::new(1.0, 0.0, 0.0))
                .with_property("Anchored", true),
        );
        let folder = dom.insert(root, InstanceBuilder::new("Folder"));
        normalize_dom(&mut dom);
        let part = dom.get_by_ref(part).unwrap();
        assert_eq!(
            part.properties.get(&"Color".into()),
            Some(&Variant::Color3uint8(Color3uint8::new(255, 0, 0)))
        );
        assert_eq!(
            part.properties.get(&"Anchored".into()),
            Some(&Variant::Bool(true))
        );
        assert!(dom.get_by_ref(folder).unwrap().properties.is_empty());
    }
}
