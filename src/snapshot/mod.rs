//! Instance snapshots: what reading files produces, before it becomes a `WeakDom`.
//!
//! A snapshot is a plain owned tree (built in parallel, cheap to diff); `dom` turns it into
//! a `WeakDom` and resolves `Rojo_Ref_*` / `Rojo_Target_*` references.

mod dom;
mod instance;

pub use dom::{resolve_references, snapshot_to_dom, BuiltDom};
pub use instance::{FileKind, InstanceMetadata, InstanceSnapshot, InstigatingSource};
