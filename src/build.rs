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
