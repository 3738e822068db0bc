//! Turning a snapshot tree into a `WeakDom`, and resolving attribute-encoded references.

use std::collections::HashMap;

use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::{InstanceBuilder, WeakDom};

use super::{InstanceMetadata, InstanceSnapshot};

/// Attribute prefix of path references written by syncback (fs-format.md §2.12).
pub const REF_PATH_PREFIX: &str = "Rojo_Ref_";
/// Attribute prefix of legacy id references.
pub const REF_TARGET_PREFIX: &str = "Rojo_Target_";
/// Attribute naming an instance for legacy id references.
pub const REF_ID_ATTRIBUTE: &str = "Rojo_Id";

/// A built instance tree and the metadata of each instance in it.
pub struct BuiltDom {
    pub dom: WeakDom,
    pub metadata: HashMap<Ref, InstanceMetadata>,
}

/// Builds a `WeakDom` from a snapshot tree and resolves its references.
pub fn snapshot_to_dom(snapshot: InstanceSnapshot) -> BuiltDom {
    let mut metadata = HashMap::with_capacity(snapshot.count());
    let builder = to_builder(snapshot, &mut metadata);
    let mut dom = WeakDom::new(builder);
    resolve_references(&mut dom, &metadata);
    BuiltDom { dom, metadata }
}

fn to_builder(
    snapshot: InstanceSnapshot,
    metadata: &mut HashMap<Ref, InstanceMetadata>,
) -> InstanceBuilder {
    let mut builder = InstanceBuilder::with_property_capacity(
        snapshot.class_name.as_str(),
        snapshot.properties.len(),
    )
    .with_name(snapshot.name);
    if snapshot.snapshot_id.is_some() {
        builder = builder.with_referent(snapshot.snapshot_id);
    }
    builder.add_properties(snapshot.properties);
    metadata.insert(builder.referent(), snapshot.metadata);
    for child in snapshot.children {
        builder.add_child(to_builder(child, metadata));
    }
    builder
}

/// Resolves `Rojo_Target_*` (by id) and then `Rojo_Ref_*` (by path) attributes into Ref
/// properties and removes the transport attributes (`Rojo_Id` included).
pub fn resolve_references(dom: &mut WeakDom, metadata: &HashMap<Ref, InstanceMetadata>) {
    let mut ids: HashMap<String, Ref> = HashMap::new();
    let mut pending: Vec<Ref> = Vec::new();
    for instance in dom.descendants() {
        let referent = instance.referent();
        if let Some(id) = metadata.get(&referent).and_then(|m| m.legacy_id.as_ref()) {
            ids.entry(id.clone()).or_insert(referent);
        }
        if let Some(Variant::Attributes(attributes)) = instance.properties.get(&"Attributes".into())
        {
            if let Some(Variant::String(id)) = attributes.get(REF_ID_ATTRIBUTE) {
                ids.entry(id.clone()).or_insert(referent);
            }
            let has_refs = attributes.iter().any(|(name, _)| {
                name.starts_with(REF_PATH_PREFIX)
                    || name.starts_with(REF_TARGET_PREFIX)
                    || name == REF_ID_ATTRIBUTE
            });
            if has_refs {
                pending.push(referent);
            }
        }
    }

    for referent in pending {
        let Some(Variant::Attributes(attributes)) = dom
            .get_by_ref(referent)
            .and_then(|i| i.properties.get(&"Attributes".into()))
            .cloned()
        else {
            continue;
        };
        let mut resolved: Vec<(String, Ref)> = Vec::new();
        for (name, value) in attributes.iter() {
            if let Some(property) = name.strip_prefix(REF_TARGET_PREFIX) {
                if let Some(target) = attribute_text(value).and_then(|id| ids.get(id)) {
                    resolved.push((property.to_string(), *target));
                } else {
                    log::warn!(
                        "{name} on {}: no instance has the id {}",
                        dom.full_path_of(referent, "/"),
                        shown(value)
                    );
                }
            }
        }
        for (name, value) in attributes.iter() {
            if let Some(property) = name.strip_prefix(REF_PATH_PREFIX) {
                match attribute_text(value)
                    .and_then(|path| resolve_path(dom, metadata, referent, path))
                {
                    Some(target) => {
                        resolved.retain(|(p, _)| p != property);
                        resolved.push((property.to_string(), target));
                    }
                    None => log::warn!(
                        "{} on {}: could not resolve the path {}",
                        name,
                        dom.full_path_of(referent, "/"),
                        shown(value)
                    ),
                }
            }
        }
        if let Some(instance) = dom.get_by_ref(referent) {
            for (property, _) in &resolved {
                if let Some(problem) = not_a_reference(instance.class.as_str(), property) {
                    log::warn!(
                        "the reference attribute for {property} on {}: {problem}; set anyway, \
                         but Roblox will not use it",
                        dom.full_path_of(referent, "/")
                    );
                }
            }
        }
        let mut kept = attributes.clone();
        let transport: Vec<String> = attributes
            .iter()
            .map(|(name, _)| name.clone())
            .filter(|name| {
                name.starts_with(REF_PATH_PREFIX)
                    || name.starts_with(REF_TARGET_PREFIX)
                    || name == REF_ID_ATTRIBUTE
            })
            .collect();
        for name in transport {
            kept.remove(name.as_str());
        }
        let Some(instance) = dom.get_by_ref_mut(referent) else {
            continue;
        };
        if kept.is_empty() {
            instance.properties.remove(&"Attributes".into());
        } else {
            instance
                .properties
                .insert("Attributes".into(), Variant::Attributes(kept));
        }
        for (property, target) in resolved {
            instance
                .properties
                .insert(property.as_str().into(), Variant::Ref(target));
        }
    }
}

/// An attribute value as a user wrote it: its text, or its type when it is no text.
fn shown(value: &Variant) -> String {
    match attribute_text(value) {
        Some(text) => format!("{text:?}"),
        None => format!("(a {:?} value, not a string)", value.ty()),
    }
}

/// Why `class.property` cannot hold a reference, if the reflection database knows the
/// class and says it cannot.
fn not_a_reference(class: &str, property: &str) -> Option<String> {
    crate::properties::database().classes.get(class)?;
    let Some(descriptor) = crate::properties::find_property(class, property) else {
        return Some(format!("{class} has no property {property}"));
    };
    match &descriptor.data_type {
        rbx_reflection::DataType::Value(rbx_dom_weak::types::VariantType::Ref) => None,
        rbx_reflection::DataType::Value(ty) => Some(format!(
            "{class}.{property} is not a reference property (it holds {ty:?} values)"
        )),
        rbx_reflection::DataType::Enum(name) => Some(format!(
            "{class}.{property} is not a reference property (it holds Enum.{name})"
        )),
        _ => Some(format!("{class}.{property} is not a reference property")),
    }
}

fn attribute_text(value: &Variant) -> Option<&str> {
    match value {
        Variant::String(s) => Some(s),
        Variant::BinaryString(b) => std::str::from_utf8(b.as_ref()).ok(),
        _ => None,
    }
}

/// Resolves a `Rojo_Ref_*` path relative to `source` (fs-format.md §2.12).
pub fn resolve_path(
    dom: &WeakDom,
    metadata: &HashMap<Ref, InstanceMetadata>,
    source: Ref,
    path: &str,
) -> Option<Ref> {
    let parent_of = |r: Ref| {
        dom.get_by_ref(r)
            .map(|i| i.parent())
            .filter(|p| p.is_some())
    };
    let (mut current, rest) = if path == "@game" {
        (dom.root_ref(), "")
    } else if let Some(rest) = path.strip_prefix("@game/") {
        (dom.root_ref(), rest)
    } else if path == "@self" {
        (source, "")
    } else if let Some(rest) = path.strip_prefix("@self/") {
        (source, rest)
    } else if path.starts_with("./") || path.starts_with("../") {
        let mut current = parent_of(source)?;
        let mut rest = path;
        loop {
            if let Some(r) = rest.strip_prefix("./") {
                rest = r;
            } else if let Some(r) = rest.strip_prefix("../") {
                current = parent_of(current)?;
                rest = r;
            } else {
                break;
            }
        }
        (current, rest)
    } else {
        (dom.root_ref(), path)
    };
    for segment in rest.split('/').filter(|s| !s.is_empty()) {
        if segment == ".." {
            current = parent_of(current)?;
            continue;
        }
        if segment == "." {
            continue;
        }
        let children = dom.get_by_ref(current)?.children();
        let by_fs_name = children.iter().copied().find(|child| {
            metadata
                .get(child)
                .and_then(|m| m.fs_name.as_deref())
                .is_some_and(|name| name.eq_ignore_ascii_case(segment))
        });
        let found = by_fs_name.or_else(|| {
            children.iter().copied().find(|child| {
                dom.get_by_ref(*child)
                    .is_some_and(|i| i.name.eq_ignore_ascii_case(segment))
            })
        })?;
        current = found;
    }
    Some(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rbx_dom_weak::types::Attributes;

    #[test]
    fn reference_attributes_for_properties_that_hold_none_are_named() {
        assert_eq!(not_a_reference("ObjectValue", "Value"), None);
        assert_eq!(not_a_reference("Model", "PrimaryPart"), None);
        assert_eq!(not_a_reference("NotAClass", "Anything"), None);
        let name = not_a_reference("Part", "Name").unwrap();
        assert!(
            name.contains("Part.Name is not a reference property"),
            "{name}"
        );
        let nope = not_a_reference("Folder", "Nope").unwrap();
        assert_eq!(nope, "Folder has no property Nope");
        assert_eq!(shown(&Variant::String("..".into())), "\"..\"");
        assert!(shown(&Variant::Float64(5.0)).contains("Float64"));
    }

    fn named(class: &str, name: &str, fs: &str) -> InstanceSnapshot {
        let mut s = InstanceSnapshot::new(class, name);
        s.metadata.fs_name = Some(fs.to_string());
        s
    }

    fn with_ref(mut s: InstanceSnapshot, prop: &str, path: &str) -> InstanceSnapshot {
        let mut attrs = Attributes::new();
        attrs.insert(
            format!("{REF_PATH_PREFIX}{prop}"),
            Variant::String(path.into()),
        );
        s.properties
            .insert("Attributes".into(), Variant::Attributes(attrs));
        s
    }

    fn find(dom: &WeakDom, name: &str) -> Ref {
        dom.descendants()
            .find(|i| i.name == name)
            .unwrap()
            .referent()
    }

    #[test]
    fn resolves_every_path_form() {
        let tree = InstanceSnapshot::new("DataModel", "game").with_children(vec![named(
            "ReplicatedStorage",
            "ReplicatedStorage",
            "ReplicatedStorage",
        )
        .with_children(vec![
            named("Model", "House", "House").with_children(vec![
                named("Part", "Door", "Door.model.json5"),
                with_ref(
                    named("ObjectValue", "Up", "Up.model.json5"),
                    "Value",
                    "../Sibling.model.json5",
                ),
                with_ref(
                    named("ObjectValue", "Same", "Same.model.json5"),
                    "Value",
                    "./Door.model.json5",
                ),
            ]),
            named("Part", "Sibling", "Sibling.model.json5"),
            with_ref(
                named("ObjectValue", "Abs", "Abs.model.json5"),
                "Value",
                "@game/ReplicatedStorage/House/door.MODEL.json5",
            ),
            with_ref(
                named("ObjectValue", "Me", "Me.model.json5"),
                "Value",
                "@self",
            ),
            with_ref(
                named("ObjectValue", "Root", "Root.model.json5"),
                "Value",
                "@game",
            ),
            with_ref(
                named("ObjectValue", "ByName", "ByName.model.json5"),
                "Value",
                "ReplicatedStorage/House/Door",
            ),
            with_ref(
                named("ObjectValue", "Missing", "Missing.model.json5"),
                "Value",
                "@game/Nope",
            ),
        ])]);
        let built = snapshot_to_dom(tree);
        let dom = &built.dom;
        let value = |name: &str| {
            dom.get_by_ref(find(dom, name))
                .unwrap()
                .properties
                .get(&"Value".into())
                .cloned()
        };
        let door = find(dom, "Door");
        assert_eq!(value("Same"), Some(Variant::Ref(door)));
        assert_eq!(value("Up"), Some(Variant::Ref(find(dom, "Sibling"))));
        assert_eq!(value("Abs"), Some(Variant::Ref(door)));
        assert_eq!(value("Me"), Some(Variant::Ref(find(dom, "Me"))));
        assert_eq!(value("Root"), Some(Variant::Ref(dom.root_ref())));
        assert_eq!(value("ByName"), Some(Variant::Ref(door)));
        assert_eq!(value("Missing"), None);
        // Transport attributes are removed.
        for instance in dom.descendants() {
            assert!(
                !instance.properties.contains_key(&"Attributes".into()),
                "{}",
                instance.name
            );
        }
    }

    #[test]
    fn resolves_legacy_ids_and_paths_win() {
        let mut target = named("Part", "Target", "Target.model.json5");
        target.metadata.legacy_id = Some("t1".into());
        let other = named("Part", "Other", "Other.model.json5");
        let mut pointer = named("ObjectValue", "Pointer", "Pointer.model.json5");
        let mut attrs = Attributes::new();
        attrs.insert("Rojo_Target_Value".into(), Variant::String("t1".into()));
        attrs.insert("Keep".into(), Variant::Float64(1.0));
        pointer
            .properties
            .insert("Attributes".into(), Variant::Attributes(attrs.clone()));
        let mut both = named("ObjectValue", "Both", "Both.model.json5");
        attrs.insert(
            "Rojo_Ref_Value".into(),
            Variant::String("./Other.model.json5".into()),
        );
        both.properties
            .insert("Attributes".into(), Variant::Attributes(attrs));
        let tree = InstanceSnapshot::new("Folder", "root")
            .with_children(vec![target, other, pointer, both]);
        let built = snapshot_to_dom(tree);
        let dom = &built.dom;
        let get = |name: &str| dom.get_by_ref(find(dom, name)).unwrap();
        assert_eq!(
            get("Pointer").properties.get(&"Value".into()),
            Some(&Variant::Ref(find(dom, "Target")))
        );
        assert_eq!(
            get("Both").properties.get(&"Value".into()),
            Some(&Variant::Ref(find(dom, "Other")))
        );
        match get("Pointer").properties.get(&"Attributes".into()) {
            Some(Variant::Attributes(a)) => {
                assert_eq!(a.len(), 1);
                assert!(a.get("Keep").is_some());
            }
            other => panic!("{other:?}"),
        }
    }
}
