//! Project files as instances: the root project, nested projects, and each node's
//! `$className` / `$path` / `$properties` / `$attributes` (fs-format.md §1.3-1.5).

use std::path::Path;

use rayon::prelude::*;

use super::{meta, snapshot_path, Context, SnapshotError, SnapshotResult};
use crate::project::{self, Project, ProjectNode};
use crate::snapshot::{FileKind, InstanceSnapshot, InstigatingSource};
use crate::vfs::Vfs;

/// Loads a project file and builds its tree. `fallback_name` names the root when the
/// project has no `name` (a nested project found in a folder or by file rule).
pub fn snapshot_project_file(
    ctx: &Context,
    vfs: &Vfs,
    path: &Path,
    fallback_name: Option<&str>,
) -> SnapshotResult {
    let text = vfs
        .read_to_string(path)
        .map_err(|e| SnapshotError::io(path, e))?;
    let project = project::parse(&text, path)
        .map_err(|e| SnapshotError::new(path, strip_path(&e.to_string(), path)))?;
    snapshot_project(ctx, vfs, &project, fallback_name)
}

/// Project errors already start with the path; avoid printing it twice.
fn strip_path(message: &str, path: &Path) -> String {
    let shown = path.display().to_string();
    match message.strip_prefix(&shown) {
        Some(rest) => rest.trim_start_matches(':').trim_start().to_string(),
        None => message.to_string(),
    }
}

/// Builds the tree of a loaded project.
pub fn snapshot_project(
    ctx: &Context,
    vfs: &Vfs,
    project: &Project,
    fallback_name: Option<&str>,
) -> SnapshotResult {
    let ctx = ctx.for_project(project)?;
    let name = match fallback_name {
        Some(name) if !project.name_is_explicit => name,
        _ => project.name.as_str(),
    };
    let snapshot = snapshot_project_node(&ctx, vfs, project, &project.tree, name, None, &[])?;
    Ok(snapshot.map(|mut s| {
        s.metadata.relevant_paths.push(project.file_path.clone());
        s
    }))
}

/// A file that is a `$path` target is the only instance of its folder the tree knows:
/// the meta files it could have count as its own paths even while they do not exist, so
/// one created later reads the instance again (a file in a mapped folder has its folder
/// for that).
fn watch_meta_candidates(target: &Path, snapshot: &mut InstanceSnapshot) {
    let is_file = matches!(
        snapshot.metadata.kind,
        Some(kind) if !matches!(kind, FileKind::Directory | FileKind::InitDirectory | FileKind::Project)
    );
    let (true, Some(folder), Some(name)) = (
        is_file,
        target.parent(),
        target.file_name().and_then(|n| n.to_str()),
    ) else {
        return;
    };
    for candidate in meta::file_names(meta::meta_base(name)) {
        let path = folder.join(candidate);
        if !snapshot.metadata.relevant_paths.contains(&path) {
            snapshot.metadata.relevant_paths.push(path);
        }
    }
}

/// Whether a node named `name` under a node of class `parent_class` gets its class from
/// its name (services under DataModel, player script folders, Terrain).
pub fn inferred_class(name: &str, parent_class: Option<&str>) -> Option<String> {
    match parent_class? {
        "DataModel" => {
            let database = rbx_reflection_database::get().ok()?;
            let class = database.classes.get(name)?;
            class
                .tags
                .contains(&rbx_reflection::ClassTag::Service)
                .then(|| name.to_string())
        }
        "StarterPlayer" if name == "StarterPlayerScripts" || name == "StarterCharacterScripts" => {
            Some(name.to_string())
        }
        "Workspace" if name == "Terrain" => Some(name.to_string()),
        _ => None,
    }
}

/// Builds one project node and its children.
pub fn snapshot_project_node(
    ctx: &Context,
    vfs: &Vfs,
    project: &Project,
    node: &ProjectNode,
    name: &str,
    parent_class: Option<&str>,
    node_path: &[String],
) -> SnapshotResult {
    let project_file = &project.file_path;
    let where_ = |node_path: &[String]| {
        if node_path.is_empty() {
            "the root node".to_string()
        } else {
            format!("node {}", node_path.join("."))
        }
    };
    let from_path = match &node.path {
        Some(node_path_value) => {
            let full = project.folder().join(node_path_value.path());
            let mut snapshot = snapshot_path(ctx, vfs, &full)?;
            if let Some(snapshot) = snapshot.as_mut() {
                watch_meta_candidates(&full, snapshot);
            }
            if snapshot.is_none() && !node_path_value.is_optional() {
                return Err(SnapshotError::new(
                    project_file,
                    format!(
                        "{}: $path {} does not exist or makes no instance",
                        where_(node_path),
                        full.display()
                    ),
                ));
            }
            snapshot
        }
        None => None,
    };
    let inferred = inferred_class(name, parent_class);
    let class_name = match (&node.class_name, &from_path, &inferred) {
        (Some(given), Some(file), _) => {
            if file.class_name == "Folder" {
                given.clone()
            } else {
                return Err(SnapshotError::new(
                    project_file,
                    format!(
                        "{}: $className {given} is given, but its $path {} makes a {} (only a plain directory can take a $className)",
                        where_(node_path),
                        node.path.as_ref().map(|p| p.path().display().to_string()).unwrap_or_default(),
                        file.class_name
                    ),
                ));
            }
        }
        (Some(given), None, _) => given.clone(),
        (None, Some(file), Some(inferred)) if file.class_name == "Folder" => inferred.clone(),
        (None, Some(file), _) => file.class_name.clone(),
        (None, None, Some(inferred)) => inferred.clone(),
        (None, None, None) => {
            if node.path.as_ref().is_some_and(|p| p.is_optional()) {
                return Ok(None);
            }
            return Err(SnapshotError::new(
                project_file,
                format!(
                    "{}: cannot tell its class: give it a $className or a $path",
                    where_(node_path)
                ),
            ));
        }
    };

    let had_path = from_path.is_some();
    let mut snapshot = from_path.unwrap_or_else(|| InstanceSnapshot::new(class_name.clone(), name));
    snapshot.class_name = class_name.clone();
    snapshot.name = name.to_string();
    snapshot.metadata.fs_name = Some(name.to_string());
    snapshot.metadata.instigating_source = Some(InstigatingSource::ProjectNode {
        project_file: project_file.clone(),
        node_path: node_path.to_vec(),
    });
    snapshot.metadata.kind = Some(if had_path {
        snapshot.metadata.kind.unwrap_or(FileKind::ProjectNode)
    } else {
        FileKind::ProjectNode
    });
    snapshot.metadata.relevant_paths.push(project_file.clone());
    if let Some(ignore) = node.ignore_unknown_instances {
        snapshot.metadata.ignore_unknown_instances = ignore;
    } else if !had_path {
        snapshot.metadata.ignore_unknown_instances = true;
    }
    if let Some(id) = &node.id {
        snapshot.metadata.legacy_id = Some(id.clone());
    }

    let children: Vec<(String, &ProjectNode)> =
        node.children.iter().map(|(k, v)| (k.clone(), v)).collect();
    let built: Vec<Option<InstanceSnapshot>> = children
        .par_iter()
        .map(|(child_name, child)| {
            let mut child_path = node_path.to_vec();
            child_path.push(child_name.clone());
            snapshot_project_node(
                ctx,
                vfs,
                project,
                child,
                child_name,
                Some(&class_name),
                &child_path,
            )
        })
        .collect::<Result<_, _>>()?;
    snapshot.children.extend(built.into_iter().flatten());

    meta::apply_properties(
        project_file,
        &mut snapshot,
        &node.properties,
        &node.attributes,
    )
    .map_err(|e| {
        SnapshotError::new(
            project_file,
            format!("{}: {}", where_(node_path), e.message),
        )
    })?;
    Ok(Some(snapshot))
}
