//! Files to instances: a whole project becomes one `WeakDom` (the read half of Atlas).

use crate::formats::{project_node, Context, SnapshotError};
use crate::project::Project;
use crate::snapshot::{snapshot_to_dom, BuiltDom, InstanceSnapshot};
use crate::vfs::Vfs;

/// Builds the project's snapshot tree (files read in parallel).
pub fn snapshot_project(vfs: &Vfs, project: &Project) -> Result<InstanceSnapshot, SnapshotError> {
    project_node::snapshot_project(&Context::default(), vfs, project, None)?.ok_or_else(|| {
        SnapshotError::new(
            &project.file_path,
            "the project's root node makes no instance",
        )
    })
}

/// Builds the project's instance tree, with references resolved.
pub fn build_project(vfs: &Vfs, project: &Project) -> Result<BuiltDom, SnapshotError> {
    Ok(snapshot_to_dom(snapshot_project(vfs, project)?))
}

/// One warning per class the reflection database does not know (a typo such as `Prt` in a
/// model file builds, but Studio cannot load such an instance), with how many instances
/// have it and the path of the first.
pub fn unknown_class_warnings(dom: &rbx_dom_weak::WeakDom) -> Vec<String> {
    crate::properties::unknown_classes(dom.descendants())
        .into_iter()
        .map(|(class, (count, first))| {
            let first = match dom.full_path_of(first, ".") {
                path if path.is_empty() => "the project's root".to_string(),
                path => path,
            };
            format!(
                "{count} instance(s) of class `{class}`, which Roblox does not know (first: {first}); check the spelling"
            )
        })
        .collect()
}

/// Properties the files set that place files never save (`Part.Position`: the place keeps
/// only the `CFrame`), once per class and property with a count: the built place leaves
/// them out, and only live sync applies them.
pub fn unsaved_property_warnings(dom: &rbx_dom_weak::WeakDom) -> Vec<String> {
    use std::collections::BTreeMap;
    use ustr::{Ustr, UstrMap};
    let mut unsaved: UstrMap<UstrMap<bool>> = UstrMap::default();
    let mut found: BTreeMap<(Ustr, Ustr), (usize, rbx_dom_weak::types::Ref)> = BTreeMap::new();
    for instance in dom.descendants() {
        let by_property = unsaved.entry(instance.class).or_default();
        for name in instance.properties.keys() {
            let never_saved = *by_property
                .entry(*name)
                .or_insert_with(|| crate::properties::never_saved(&instance.class, name));
            if never_saved {
                found
                    .entry((instance.class, *name))
                    .or_insert((0, instance.referent()))
                    .0 += 1;
            }
        }
    }
    found
        .into_iter()
        .map(|((class, property), (count, first))| {
            let advice = if property == "Position" || property == "Orientation" {
                "; set CFrame instead"
            } else {
                ""
            };
            format!(
                "{count} instance(s) set {class}.{property}, which place files do not save, so the built file leaves it out (live sync still applies it; first: {}){advice}",
                dom.full_path_of(first, ".")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use rbx_dom_weak::types::{Variant, Vector3};
    use rbx_dom_weak::{InstanceBuilder, WeakDom};

    #[test]
    fn properties_place_files_do_not_save_are_named_once_with_a_count() {
        let mut dom = WeakDom::new(InstanceBuilder::new("DataModel"));
        let root = dom.root_ref();
        for name in ["Spawn", "Exit"] {
            dom.insert(
                root,
                InstanceBuilder::new("Part")
                    .with_name(name)
                    .with_property("Position", Variant::Vector3(Vector3::new(0.0, 5.0, 0.0)))
                    .with_property("Anchored", true),
            );
        }
        let warnings = super::unsaved_property_warnings(&dom);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("2 instance(s) set Part.Position"),
            "{}",
            warnings[0]
        );
        assert!(
            warnings[0].contains("set CFrame instead"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn unknown_classes_are_named_once_with_a_count() {
        let mut dom = WeakDom::new(InstanceBuilder::new("DataModel"));
        let root = dom.root_ref();
        let folder = dom.insert(root, InstanceBuilder::new("Folder").with_name("Map"));
        for _ in 0..2 {
            dom.insert(folder, InstanceBuilder::new("Prt").with_name("Wall"));
        }
        dom.insert(folder, InstanceBuilder::new("Part").with_name("Floor"));
        let warnings = super::unknown_class_warnings(&dom);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("2 instance(s) of class `Prt`"),
            "{}",
            warnings[0]
        );
        assert!(warnings[0].contains("Map.Wall"), "{}", warnings[0]);
    }
}
