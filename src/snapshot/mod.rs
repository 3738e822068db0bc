//! Instance snapshots: what reading files produces, before it becomes a `WeakDom`.
//!
//! A snapshot is a plain owned tree (built in parallel, cheap to diff); `dom` turns it into
//! a `WeakDom` and resolves `Rojo_Ref_*` / `Rojo_Target_*` references.

mod dom;
mod dom_rebuild;
mod instance;
mod patch;
mod patch_apply;
mod patch_compute;
mod path_index;
mod tree;

pub use dom::{resolve_path, resolve_references, snapshot_to_dom, BuiltDom};
pub use dom::{REF_ID_ATTRIBUTE, REF_PATH_PREFIX, REF_TARGET_PREFIX};
pub use instance::{FileKind, InstanceMetadata, InstanceSnapshot, InstigatingSource};
pub use patch::{AppliedPatchSet, AppliedUpdate, PatchAdd, PatchSet, PatchUpdate};
pub use patch_apply::{apply_patch_set, resolve_tree_references};
pub use patch_compute::compute_patch_set;
pub use tree::{split_ref_attributes, RefAttributes, Tree};
