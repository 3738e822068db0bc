//! Diffing a fresh snapshot against the live tree.
//!
//! Children are matched by name and class, in order (the first unmatched tree child with
//! the same name and class wins), so ids stay stable across edits: editing a file keeps
//! its instance, renaming it removes one instance and adds another. Reference attributes
//! are compared as attributes here; `patch_apply` turns them into Ref properties.

use std::collections::{HashMap, HashSet, VecDeque};

use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::Ustr;

use super::patch::{PatchAdd, PatchSet, PatchUpdate};
use super::tree::{split_ref_attributes, Tree};
use super::InstanceSnapshot;

/// Computes the patch that makes the tree's instance `id` (and its subtree) equal to
/// `snapshot`; `None` means the instance is gone (the root is never removed).
pub fn compute_patch_set(snapshot: Option<InstanceSnapshot>, tree: &Tree, id: Ref) -> PatchSet {
    let mut compute = Compute {
        tree,
        patch: PatchSet::default(),
        snapshot_ids: HashMap::new(),
        deferred_refs: Vec::new(),
        update_index: HashMap::new(),
    };
    match snapshot {
        None => {
            if id != tree.root_ref() && tree.dom().get_by_ref(id).is_some() {
                compute.patch.removed.push(id);
            }
        }
        Some(snapshot) => compute.diff(snapshot, id),
    }
    compute.finish()
}

struct Compute<'a> {
    tree: &'a Tree,
    patch: PatchSet,
    /// Snapshot-local referent (from models) -> tree id, for Ref properties.
    snapshot_ids: HashMap<Ref, Ref>,
    /// Ref properties of matched instances, compared once every id is known:
    /// (tree id, property, snapshot-local target).
    deferred_refs: Vec<(Ref, Ustr, Ref)>,
    /// Tree id -> index in `patch.updated`.
    update_index: HashMap<Ref, usize>,
}

impl Compute<'_> {
    fn diff(&mut self, snapshot: InstanceSnapshot, id: Ref) {
        let tree = self.tree;
        let Some(instance) = tree.dom().get_by_ref(id) else {
            return;
        };
        let InstanceSnapshot {
            snapshot_id,
            name,
            class_name,
            mut properties,
            children,
            metadata,
        } = snapshot;
        if snapshot_id.is_some() {
            self.snapshot_ids.insert(snapshot_id, id);
        }
        let ref_attributes = split_ref_attributes(&mut properties);

        let mut update = PatchUpdate::new(id);
        if instance.name != name {
            update.changed_name = Some(name);
        }
        if instance.class.as_str() != class_name {
            update.changed_class_name = Some(class_name);
        }
        for key in instance.properties.keys() {
            if !properties.contains_key(key) && !ref_attributes.manages(key.as_str()) {
                update.changed_properties.insert(*key, None);
            }
        }
        for (key, value) in properties {
            if let Variant::Ref(target) = value {
                self.deferred_refs.push((id, key, target));
                continue;
            }
            match instance.properties.get(&key) {
                Some(old) if identical(old, &value) => {}
                _ => {
                    update.changed_properties.insert(key, Some(value));
                }
            }
        }
        if tree.metadata(id) != Some(&metadata) {
            update.changed_metadata = Some(metadata);
        }
        let old_attributes = tree.ref_attributes(id).cloned().unwrap_or_default();
        if old_attributes != ref_attributes {
            update.changed_ref_attributes = Some(ref_attributes);
        }
        if !update.is_empty() {
            self.update_index.insert(id, self.patch.updated.len());
            self.patch.updated.push(update);
        }

        // Match children by (name, class), first come first served.
        let mut groups: HashMap<(&str, &str), VecDeque<Ref>> = HashMap::new();
        for child in instance.children() {
            if let Some(child_instance) = tree.dom().get_by_ref(*child) {
                groups
                    .entry((child_instance.name.as_str(), child_instance.class.as_str()))
                    .or_default()
                    .push_back(*child);
            }
        }
        let matches: Vec<Option<Ref>> = children
            .iter()
            .map(|child| {
                groups
                    .get_mut(&(child.name.as_str(), child.class_name.as_str()))
                    .and_then(VecDeque::pop_front)
            })
            .collect();
        let kept: HashSet<Ref> = matches.iter().flatten().copied().collect();
        let mut natural_order: Vec<Ref> = Vec::with_capacity(children.len());
        for child in instance.children() {
            if kept.contains(child) {
                natural_order.push(*child);
            } else {
                self.patch.removed.push(*child);
            }
        }
        let mut wanted_order: Vec<Ref> = Vec::with_capacity(children.len());
        for (mut child, matched) in children.into_iter().zip(matches) {
            match matched {
                Some(child_id) => {
                    wanted_order.push(child_id);
                    self.diff(child, child_id);
                }
                None => {
                    let child_id = self.assign_ids(&mut child);
                    wanted_order.push(child_id);
                    natural_order.push(child_id);
                    self.patch.added.push(PatchAdd {
                        parent: id,
                        instance: child,
                    });
                }
            }
        }
        if natural_order != wanted_order {
            self.patch.child_orders.push((id, wanted_order));
        }
    }

    /// Gives every instance of an added subtree its final id.
    fn assign_ids(&mut self, snapshot: &mut InstanceSnapshot) -> Ref {
        let id = Ref::new();
        if snapshot.snapshot_id.is_some() {
            self.snapshot_ids.insert(snapshot.snapshot_id, id);
        }
        snapshot.snapshot_id = id;
        for child in &mut snapshot.children {
            self.assign_ids(child);
        }
        id
    }

    fn map_ref(&self, target: Ref) -> Ref {
        self.snapshot_ids.get(&target).copied().unwrap_or(target)
    }

    fn finish(mut self) -> PatchSet {
        let deferred = std::mem::take(&mut self.deferred_refs);
        for (id, key, target) in deferred {
            let target = self.map_ref(target);
            let current = self
                .tree
                .dom()
                .get_by_ref(id)
                .and_then(|instance| instance.properties.get(&key));
            if current == Some(&Variant::Ref(target)) {
                continue;
            }
            let index = match self.update_index.get(&id) {
                Some(index) => *index,
                None => {
                    self.update_index.insert(id, self.patch.updated.len());
                    self.patch.updated.push(PatchUpdate::new(id));
                    self.patch.updated.len() - 1
                }
            };
            self.patch.updated[index]
                .changed_properties
                .insert(key, Some(Variant::Ref(target)));
        }
        if !self.snapshot_ids.is_empty() {
            let mut added = std::mem::take(&mut self.patch.added);
            for add in &mut added {
                self.rewrite_refs(&mut add.instance);
            }
            self.patch.added = added;
        }
        self.patch
    }

    fn rewrite_refs(&self, snapshot: &mut InstanceSnapshot) {
        for value in snapshot.properties.values_mut() {
            if let Variant::Ref(target) = value {
                *target = self.map_ref(*target);
            }
        }
        for child in &mut snapshot.children {
            self.rewrite_refs(child);
        }
    }
}

/// Equality that sees `-0` vs `0` and NaN payloads of plain floats, and treats NaN as
/// equal to NaN everywhere (a NaN property must not produce an update on every edit).
fn identical(a: &Variant, b: &Variant) -> bool {
    match (a, b) {
        (Variant::Float32(x), Variant::Float32(y)) => x.to_bits() == y.to_bits(),
        (Variant::Float64(x), Variant::Float64(y)) => x.to_bits() == y.to_bits(),
        _ => a == b || (a.ty() == b.ty() && format!("{a:?}") == format!("{b:?}")),
    }
}
