//! Applying a [`PatchSet`] to the live tree, then re-resolving reference attributes the
//! way the build does, so the tree stays equal to a fresh build of the files.

use std::collections::HashMap;

use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::Ustr;

use super::dom::resolve_path;
use super::patch::{AppliedPatchSet, AppliedUpdate, PatchSet, PatchUpdate};
use super::tree::{RefAttributes, Tree};

/// Applies a patch; returns what changed, including Ref properties whose targets moved.
pub fn apply_patch_set(tree: &mut Tree, patch: PatchSet) -> AppliedPatchSet {
    let mut applied = AppliedPatchSet {
        removed: tree.remove_all(&patch.removed),
        ..AppliedPatchSet::default()
    };
    for add in patch.added {
        if tree.dom().get_by_ref(add.parent).is_some() {
            applied.added.push(tree.insert(add.parent, add.instance));
        }
    }
    for update in patch.updated {
        apply_update(tree, update, &mut applied);
    }
    for (parent, order) in patch.child_orders {
        tree.reorder_children(parent, &order);
    }
    let index: HashMap<Ref, usize> = applied
        .updated
        .iter()
        .enumerate()
        .map(|(i, u)| (u.id, i))
        .collect();
    for (id, property, value) in resolve_tree_references(tree, false) {
        let update = match index.get(&id) {
            Some(i) => &mut applied.updated[*i],
            None => applied.update_mut(id),
        };
        update.changed_properties.insert(property, value);
    }
    applied
}

fn apply_update(tree: &mut Tree, update: PatchUpdate, applied: &mut AppliedPatchSet) {
    let id = update.id;
    if tree.dom().get_by_ref(id).is_none() {
        return;
    }
    let mut out = AppliedUpdate::new(id);
    if let Some(name) = update.changed_name {
        tree.set_name(id, name.clone());
        out.changed_name = Some(name);
    }
    if let Some(class) = update.changed_class_name {
        tree.set_class(id, &class);
        out.changed_class_name = Some(class);
    }
    for (key, value) in update.changed_properties {
        tree.set_property(id, key.as_str(), value.clone());
        out.changed_properties.insert(key, value);
    }
    if let Some(metadata) = update.changed_metadata {
        let before = tree.metadata(id).map(|m| m.ignore_unknown_instances);
        if before != Some(metadata.ignore_unknown_instances) {
            out.changed_ignore_unknown_instances = Some(metadata.ignore_unknown_instances);
        }
        tree.set_metadata(id, metadata);
    }
    if let Some(attributes) = update.changed_ref_attributes {
        tree.set_ref_attributes(id, attributes);
    }
    if !out.is_empty() {
        applied.updated.push(out);
    }
}

/// Resolves every instance's reference attributes into Ref properties (`Rojo_Target_*`
/// by id, then `Rojo_Ref_*` by path, which wins) and sets the ones that changed; returns
/// them as (instance, property, new value). An unresolvable reference leaves the property
/// unset, as in the build; it is logged when `log_all` is set or when it just broke.
pub fn resolve_tree_references(
    tree: &mut Tree,
    log_all: bool,
) -> Vec<(Ref, Ustr, Option<Variant>)> {
    let mut holders: Vec<(Ref, RefAttributes)> =
        tree.ref_holders().map(|(id, a)| (id, a.clone())).collect();
    if holders.is_empty() {
        return Vec::new();
    }
    holders.sort_by_key(|(id, _)| id.to_string());
    let ids = if holders.iter().any(|(_, a)| !a.targets.is_empty()) {
        legacy_ids(tree)
    } else {
        HashMap::new()
    };
    let mut changes = Vec::new();
    for (holder, attributes) in holders {
        let mut wanted: Vec<(String, Option<Ref>)> = Vec::new();
        for (property, id) in &attributes.targets {
            want(&mut wanted, property, ids.get(id).copied());
        }
        for (property, path) in &attributes.paths {
            let target = resolve_path(tree.dom(), tree.metadata_map(), holder, path);
            want(&mut wanted, property, target);
        }
        for (property, target) in wanted {
            let key: Ustr = property.as_str().into();
            let current = tree
                .dom()
                .get_by_ref(holder)
                .and_then(|instance| instance.properties.get(&key))
                .cloned();
            let value = target.map(Variant::Ref);
            if value.is_none() && (log_all || current.is_some()) {
                log::warn!(
                    "{}: could not resolve the reference for its {property} property ({})",
                    tree.dom().full_path_of(holder, "/"),
                    describe(&attributes, &property)
                );
            }
            if current != value {
                tree.set_property(holder, &property, value.clone());
                changes.push((holder, key, value));
            }
        }
    }
    changes
}

/// Records a wanted target; a later resolved target wins, an unresolved one keeps the
/// earlier (a path that does not resolve falls back to the id's target, as in the build).
fn want(wanted: &mut Vec<(String, Option<Ref>)>, property: &str, target: Option<Ref>) {
    match wanted.iter_mut().find(|(p, _)| p == property) {
        Some(entry) => {
            if target.is_some() {
                entry.1 = target;
            }
        }
        None => wanted.push((property.to_string(), target)),
    }
}

fn describe(attributes: &RefAttributes, property: &str) -> String {
    let path = attributes.paths.iter().find(|(p, _)| p == property);
    let target = attributes.targets.iter().find(|(p, _)| p == property);
    match (path, target) {
        (Some((_, path)), _) => format!("path {path:?}"),
        (None, Some((_, id))) => format!("id {id:?}"),
        _ => "no reference".to_string(),
    }
}

/// Legacy ids (`$id`, meta/model `id`, `Rojo_Id`) -> instance; the first one in tree
/// order wins, as in the build.
fn legacy_ids(tree: &Tree) -> HashMap<String, Ref> {
    let mut ids = HashMap::new();
    for instance in tree.dom().descendants() {
        let referent = instance.referent();
        if let Some(id) = tree.metadata(referent).and_then(|m| m.legacy_id.as_ref()) {
            ids.entry(id.clone()).or_insert(referent);
        }
        if let Some(id) = tree.ref_attributes(referent).and_then(|a| a.id.as_ref()) {
            ids.entry(id.clone()).or_insert(referent);
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::super::{compute_patch_set, InstanceSnapshot, InstigatingSource};
    use super::*;
    use rbx_dom_weak::types::Attributes;

    fn file(class: &str, name: &str) -> InstanceSnapshot {
        let mut s = InstanceSnapshot::new(class, name);
        s.metadata.fs_name = Some(format!("{name}.model.json5"));
        s.metadata.instigating_source = Some(InstigatingSource::Path(format!("/p/{name}").into()));
        s
    }

    fn names(tree: &Tree, parent: Ref) -> Vec<String> {
        super::super::dom_rebuild::child_names(tree.dom(), parent)
    }

    fn sync(tree: &mut Tree, snapshot: InstanceSnapshot) -> AppliedPatchSet {
        let root = tree.root_ref();
        let patch = compute_patch_set(Some(snapshot), tree, root);
        apply_patch_set(tree, patch)
    }

    #[test]
    fn keeps_ids_and_reports_property_changes() {
        let v1 = file("Folder", "root").with_children(vec![
            file("Part", "A").with_property("Anchored", true),
            file("Part", "B"),
        ]);
        let mut tree = Tree::new(v1.clone());
        let a = tree.dom().root().children()[0];
        let v2 = file("Folder", "root").with_children(vec![
            file("Part", "A").with_property("Anchored", false),
            file("Part", "B"),
        ]);
        let applied = sync(&mut tree, v2);
        assert!(applied.added.is_empty() && applied.removed.is_empty());
        assert_eq!(applied.updated.len(), 1);
        assert_eq!(applied.updated[0].id, a);
        assert_eq!(
            applied.updated[0]
                .changed_properties
                .get(&"Anchored".into()),
            Some(&Some(Variant::Bool(false)))
        );
        // Nothing changes when the snapshot is the same.
        let again = sync(
            &mut tree,
            file("Folder", "root").with_children(vec![
                file("Part", "A").with_property("Anchored", false),
                file("Part", "B"),
            ]),
        );
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(tree.dom().root().children()[0], a);
    }

    #[test]
    fn adds_removes_and_orders_children_like_the_snapshot() {
        let mut tree = Tree::new(
            file("Folder", "root").with_children(vec![file("Part", "B"), file("Part", "D")]),
        );
        let b = tree.dom().root().children()[0];
        let applied = sync(
            &mut tree,
            file("Folder", "root").with_children(vec![
                file("Part", "A"),
                file("Part", "B"),
                file("Part", "C").with_children(vec![file("Part", "C1")]),
            ]),
        );
        assert_eq!(applied.added.len(), 2);
        assert_eq!(applied.removed.len(), 1);
        let root = tree.root_ref();
        assert_eq!(names(&tree, root), ["A", "B", "C"]);
        assert_eq!(tree.dom().root().children()[1], b);
        assert_eq!(tree.len(), 5);
    }

    #[test]
    fn class_change_of_a_child_replaces_it() {
        let mut tree = Tree::new(file("Folder", "root").with_children(vec![file("Part", "A")]));
        let old = tree.dom().root().children()[0];
        let applied = sync(
            &mut tree,
            file("Folder", "root").with_children(vec![file("Model", "A")]),
        );
        assert_eq!(applied.removed, vec![old]);
        assert_eq!(applied.added.len(), 1);
    }

    #[test]
    fn removing_the_snapshot_removes_the_instance() {
        let mut tree = Tree::new(file("Folder", "root").with_children(vec![file("Part", "A")]));
        let a = tree.dom().root().children()[0];
        let patch = compute_patch_set(None, &tree, a);
        let applied = apply_patch_set(&mut tree, patch);
        assert_eq!(applied.removed, vec![a]);
        assert_eq!(tree.len(), 1);
        let root = tree.root_ref();
        assert!(compute_patch_set(None, &tree, root).is_empty());
    }

    fn pointer(path: &str) -> InstanceSnapshot {
        let mut attributes = Attributes::new();
        attributes.insert("Rojo_Ref_Value".into(), Variant::String(path.into()));
        file("ObjectValue", "Pointer").with_property("Attributes", Variant::Attributes(attributes))
    }

    #[test]
    fn reference_attributes_follow_their_targets() {
        let v1 = file("Folder", "root").with_children(vec![
            pointer("./Target.model.json5"),
            file("Part", "Target"),
        ]);
        let mut tree = Tree::new(v1.clone());
        resolve_tree_references(&mut tree, true);
        let p = tree.dom().root().children()[0];
        let t = tree.dom().root().children()[1];
        let value = |tree: &Tree| {
            tree.dom()
                .get_by_ref(p)
                .unwrap()
                .properties
                .get(&"Value".into())
                .cloned()
        };
        assert_eq!(value(&tree), Some(Variant::Ref(t)));
        assert!(!tree
            .dom()
            .get_by_ref(p)
            .unwrap()
            .properties
            .contains_key(&"Attributes".into()));

        // The target is deleted: the property goes away.
        let applied = sync(
            &mut tree,
            file("Folder", "root").with_children(vec![pointer("./Target.model.json5")]),
        );
        assert_eq!(value(&tree), None);
        assert_eq!(applied.update_mut_clone(p), Some(None));

        // It comes back (a new instance): the property points at it.
        let applied = sync(&mut tree, v1);
        let t2 = tree.dom().root().children()[1];
        assert_ne!(t, t2);
        assert_eq!(value(&tree), Some(Variant::Ref(t2)));
        assert_eq!(applied.update_mut_clone(p), Some(Some(Variant::Ref(t2))));
    }

    #[test]
    fn model_refs_are_mapped_to_tree_ids() {
        let mut model = file("Model", "M");
        let mut part = file("Part", "P");
        part.snapshot_id = Ref::new();
        model = model.with_property("PrimaryPart", Variant::Ref(part.snapshot_id));
        model.snapshot_id = Ref::new();
        let v1 = file("Folder", "root")
            .with_children(vec![model.clone().with_children(vec![part.clone()])]);
        let mut tree = Tree::new(file("Folder", "root"));
        sync(&mut tree, v1);
        let m = tree.dom().root().children()[0];
        let p = tree.dom().get_by_ref(m).unwrap().children()[0];
        assert_eq!(
            tree.dom()
                .get_by_ref(m)
                .unwrap()
                .properties
                .get(&"PrimaryPart".into()),
            Some(&Variant::Ref(p))
        );
        // Re-reading the same model (new snapshot-local ids) changes nothing.
        let mut part2 = part.clone();
        part2.snapshot_id = Ref::new();
        let mut model2 = model
            .clone()
            .with_property("PrimaryPart", Variant::Ref(part2.snapshot_id));
        model2.snapshot_id = Ref::new();
        let applied = sync(
            &mut tree,
            file("Folder", "root").with_children(vec![model2.with_children(vec![part2])]),
        );
        assert!(applied.is_empty(), "{applied:?}");
    }

    impl AppliedPatchSet {
        fn update_mut_clone(&self, id: Ref) -> Option<Option<Variant>> {
            self.updated
                .iter()
                .find(|u| u.id == id)
                .and_then(|u| u.changed_properties.get(&"Value".into()).cloned())
        }
    }
}
