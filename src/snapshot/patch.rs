//! Patches: the difference between a fresh snapshot and the live [`super::Tree`]
//! ([`PatchSet`], from `patch_compute`), and what applying one changed
//! ([`AppliedPatchSet`], from `patch_apply`, which serve streams to Studio).

use rbx_dom_weak::types::{Ref, Variant};
use rbx_dom_weak::UstrMap;

use super::tree::RefAttributes;
use super::{InstanceMetadata, InstanceSnapshot};

/// Changes to bring a subtree of the tree in line with a snapshot of it.
#[derive(Debug, Default)]
pub struct PatchSet {
    /// Instances to remove, with their descendants.
    pub removed: Vec<Ref>,
    /// Subtrees to add. Every snapshot in them already has its final id in `snapshot_id`,
    /// and its Ref properties point at tree ids.
    pub added: Vec<PatchAdd>,
    /// Changes to existing instances.
    pub updated: Vec<PatchUpdate>,
    /// Parents whose children end up in another order than removing and appending gives:
    /// the wanted order of all their children, added ones included.
    pub child_orders: Vec<(Ref, Vec<Ref>)>,
}

impl PatchSet {
    /// Whether applying this would change nothing.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty()
            && self.added.is_empty()
            && self.updated.is_empty()
            && self.child_orders.is_empty()
    }
}

/// A subtree to add under `parent`.
#[derive(Debug)]
pub struct PatchAdd {
    pub parent: Ref,
    pub instance: InstanceSnapshot,
}

/// Changes to one existing instance; `None` fields are unchanged.
#[derive(Debug)]
pub struct PatchUpdate {
    pub id: Ref,
    pub changed_name: Option<String>,
    pub changed_class_name: Option<String>,
    /// Property name -> new value, or `None` to remove it.
    pub changed_properties: UstrMap<Option<Variant>>,
    pub changed_metadata: Option<InstanceMetadata>,
    pub changed_ref_attributes: Option<RefAttributes>,
}

impl PatchUpdate {
    /// An update that changes nothing yet.
    pub fn new(id: Ref) -> Self {
        PatchUpdate {
            id,
            changed_name: None,
            changed_class_name: None,
            changed_properties: UstrMap::default(),
            changed_metadata: None,
            changed_ref_attributes: None,
        }
    }

    /// Whether this update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changed_name.is_none()
            && self.changed_class_name.is_none()
            && self.changed_properties.is_empty()
            && self.changed_metadata.is_none()
            && self.changed_ref_attributes.is_none()
    }
}

/// What applying patches changed, in the terms Studio cares about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppliedPatchSet {
    /// Removed instances (their descendants went with them).
    pub removed: Vec<Ref>,
    /// Roots of added subtrees (their descendants came with them).
    pub added: Vec<Ref>,
    /// Changed instances.
    pub updated: Vec<AppliedUpdate>,
}

impl AppliedPatchSet {
    /// Whether nothing visible changed.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty() && self.updated.is_empty()
    }

    /// Appends another applied patch (several patches of one batch become one message).
    pub fn merge(&mut self, other: AppliedPatchSet) {
        self.removed.extend(other.removed);
        self.added.extend(other.added);
        self.updated.extend(other.updated);
    }

    /// Finds the update of `id`, adding an empty one when there is none.
    pub fn update_mut(&mut self, id: Ref) -> &mut AppliedUpdate {
        match self.updated.iter().position(|u| u.id == id) {
            Some(index) => &mut self.updated[index],
            None => {
                self.updated.push(AppliedUpdate::new(id));
                self.updated.last_mut().expect("just pushed")
            }
        }
    }
}

/// A visible change to one instance.
#[derive(Debug, Clone, PartialEq)]
pub struct AppliedUpdate {
    pub id: Ref,
    pub changed_name: Option<String>,
    pub changed_class_name: Option<String>,
    /// Property name -> new value, or `None` when it was removed.
    pub changed_properties: UstrMap<Option<Variant>>,
    /// Set when `ignore_unknown_instances` changed (the only metadata Studio sees).
    pub changed_ignore_unknown_instances: Option<bool>,
}

impl AppliedUpdate {
    /// An update of `id` that changes nothing yet.
    pub fn new(id: Ref) -> Self {
        AppliedUpdate {
            id,
            changed_name: None,
            changed_class_name: None,
            changed_properties: UstrMap::default(),
            changed_ignore_unknown_instances: None,
        }
    }

    /// Whether this update changes nothing visible.
    pub fn is_empty(&self) -> bool {
        self.changed_name.is_none()
            && self.changed_class_name.is_none()
            && self.changed_properties.is_empty()
            && self.changed_ignore_unknown_instances.is_none()
    }
}
