//! Directories: a Folder of their entries, or the instance an `init.*` file makes
//! (fs-format.md §2.3-2.4), with `init.meta.json5` applied last.

use std::collections::HashSet;
use std::path::Path;

use rayon::prelude::*;

use super::{
    csv, meta, project_node, script, snapshot_file, strip_dedup_suffix, Context, FileRule,
    SnapshotError, SnapshotResult, INIT_FILES,
};
use crate::snapshot::{FileKind, InstanceSnapshot, InstigatingSource};
use crate::vfs::{EntryKind, Vfs};

/// Builds the instance for a directory.
pub fn snapshot_dir(ctx: &Context, vfs: &Vfs, path: &Path) -> SnapshotResult {
    let entries = vfs.read_dir(path).map_err(|e| SnapshotError::io(path, e))?;
    let names: HashSet<String> = entries.iter().map(|e| e.name.clone()).collect();
    let dir_name = &directory_name(path)?;
    let name = strip_dedup_suffix(dir_name).to_string();

    let init = INIT_FILES.iter().find(|(init_name, _)| {
        names.contains(*init_name) && {
            let init_path = path.join(init_name);
            !ctx.is_ignored(&init_path) && !ctx.is_being_read(&init_path)
        }
    });
    if let Some((init_name, FileRule::Project)) = init {
        let mut snapshot =
            project_node::snapshot_project_file(ctx, vfs, &path.join(init_name), Some(&name))?;
        if let Some(snapshot) = snapshot.as_mut() {
            snapshot.metadata.fs_name = Some(dir_name.to_string());
        }
        return Ok(snapshot);
    }

    let children: Vec<InstanceSnapshot> = entries
        .par_iter()
        .map(|entry| {
            if ctx.is_ignored(&entry.path) || ctx.is_being_read(&entry.path) {
                return Ok(None);
            }
            match entry.kind {
                EntryKind::Directory => snapshot_dir(ctx, vfs, &entry.path),
                EntryKind::File => snapshot_file(ctx, vfs, &entry.path, Some(&names)),
            }
        })
        .collect::<Result<Vec<_>, SnapshotError>>()?
        .into_iter()
        .flatten()
        .collect();

    let mut snapshot = match init {
        Some((init_name, FileRule::Script(kind))) => {
            let init_path = path.join(init_name);
            let source = vfs
                .read_to_string(&init_path)
                .map_err(|e| SnapshotError::io(&init_path, e))?;
            script::instance(&init_path, &name, *kind, source)
        }
        Some((init_name, FileRule::Csv)) => csv::snapshot(vfs, &path.join(init_name), &name)?,
        _ => InstanceSnapshot::new("Folder", name),
    };
    let is_folder = init.is_none();
    snapshot.children = children;
    snapshot.metadata.instigating_source = Some(InstigatingSource::Path(path.to_path_buf()));
    snapshot
        .metadata
        .relevant_paths
        .insert(0, path.to_path_buf());
    snapshot.metadata.kind = Some(if is_folder {
        FileKind::Directory
    } else {
        FileKind::InitDirectory
    });
    snapshot.metadata.fs_name = Some(dir_name.to_string());
    meta::apply_init(vfs, path, &names, &mut snapshot, is_folder)?;
    Ok(Some(snapshot))
}

/// A directory's own name; a path ending in `.` or `..` (`$path: ".."`) is named by the
/// folder it leads to.
fn directory_name(path: &Path) -> Result<String, SnapshotError> {
    let resolved;
    let name = match path.file_name() {
        Some(name) => name,
        None => {
            resolved = std::fs::canonicalize(path).map_err(|e| SnapshotError::io(path, e))?;
            resolved.file_name().ok_or_else(|| {
                SnapshotError::new(
                    path,
                    "a folder with no name (the file system root) cannot be an instance",
                )
            })?
        }
    };
    name.to_str()
        .map(str::to_string)
        .ok_or_else(|| SnapshotError::new(path, "the directory name is not valid UTF-8"))
}

/// The empty marker file written into a directory that would otherwise be empty, so
/// version control keeps it (the build reads no instance from it).
pub const GITKEEP: &str = ".gitkeep";

/// The `.gitkeep` of an empty directory.
pub fn gitkeep(dir: &Path) -> super::FileWrite {
    super::FileWrite::new(dir.join(GITKEEP), Vec::new())
}
