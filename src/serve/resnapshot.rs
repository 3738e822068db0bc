//! Re-reading one instance of the live tree from the files, the way the build first read
//! it: through its instigating source (a file/folder path or a project node), with the
//! snapshot context (glob ignores, sync rules) of the projects around it.

use std::path::{Path, PathBuf};

use rbx_dom_weak::types::Ref;

use crate::formats::{self, project_node, Context, SnapshotError};
use crate::project::{self, Project, ProjectNode, DEFAULT_PROJECT_NAMES};
use crate::snapshot::{InstanceSnapshot, InstigatingSource, Tree};
use crate::vfs::Vfs;

/// Reads instance `id` again; `Ok(None)` when its files are gone.
pub fn resnapshot(
    tree: &Tree,
    vfs: &Vfs,
    id: Ref,
) -> Result<Option<InstanceSnapshot>, SnapshotError> {
    let metadata = tree
        .metadata(id)
        .ok_or_else(|| SnapshotError::new("", format!("instance {id} is not in the tree")))?;
    match &metadata.instigating_source {
        Some(InstigatingSource::Path(path)) => {
            let ctx = context_for(tree, id)?;
            formats::snapshot_path(&ctx, vfs, path)
        }
        Some(InstigatingSource::ProjectNode {
            project_file,
            node_path,
        }) => {
            if node_path.is_empty() {
                if id == tree.root_ref() {
                    let project = load_project(project_file)?;
                    return project_node::snapshot_project(
                        &Context::default(),
                        vfs,
                        &project,
                        None,
                    );
                }
                // A nested project's root: read the folder or file that holds it, in the
                // context of the projects around it.
                let parent = parent_of(tree, id).unwrap_or_else(|| tree.root_ref());
                let ctx = context_for(tree, parent)?;
                return formats::snapshot_path(&ctx, vfs, &nested_project_entry(project_file));
            }
            let project = load_project(project_file)?;
            let Some(node) = find_node(&project.tree, node_path) else {
                // The node was removed from its project file.
                return Ok(None);
            };
            let ctx = context_for(tree, id)?;
            let parent_class = parent_of(tree, id)
                .and_then(|parent| tree.dom().get_by_ref(parent))
                .map(|parent| parent.class.to_string());
            let name = node_path.last().cloned().unwrap_or_default();
            project_node::snapshot_project_node(
                &ctx,
                vfs,
                &project,
                node,
                &name,
                parent_class.as_deref(),
                node_path,
            )
        }
        None => Err(SnapshotError::new(
            "",
            format!("instance {id} has no source to read it from"),
        )),
    }
}

/// The instance to re-read for `id`: itself, or its nearest ancestor with a source (the
/// children of a model file have none).
pub fn source_instance(tree: &Tree, id: Ref) -> Option<Ref> {
    tree.dom().get_by_ref(id)?;
    tree.dom()
        .ancestors_of(id)
        .map(|instance| instance.referent())
        .find(|r| {
            tree.metadata(*r)
                .is_some_and(|m| m.instigating_source.is_some())
        })
}

fn parent_of(tree: &Tree, id: Ref) -> Option<Ref> {
    tree.dom()
        .get_by_ref(id)
        .map(|instance| instance.parent())
        .filter(|parent| parent.is_some())
}

/// The path whose snapshot is a nested project: its folder for a default project file,
/// else the project file itself (read by the project file rule).
fn nested_project_entry(project_file: &Path) -> PathBuf {
    let file_name = project_file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    match project_file.parent() {
        Some(folder) if DEFAULT_PROJECT_NAMES.contains(&file_name) => folder.to_path_buf(),
        _ => project_file.to_path_buf(),
    }
}

/// The context snapshotting used at `id`: the projects whose nodes are `id`'s ancestors
/// (or `id` itself), outermost first.
fn context_for(tree: &Tree, id: Ref) -> Result<Context, SnapshotError> {
    let mut files: Vec<&Path> = Vec::new();
    let chain: Vec<Ref> = tree.dom().ancestors_of(id).map(|i| i.referent()).collect();
    for referent in chain.iter().rev() {
        if let Some(InstigatingSource::ProjectNode { project_file, .. }) = tree
            .metadata(*referent)
            .and_then(|m| m.instigating_source.as_ref())
        {
            if files.last() != Some(&project_file.as_path()) {
                files.push(project_file);
            }
        }
    }
    let mut ctx = Context::default();
    for file in files {
        ctx = ctx.for_project(&load_project(file)?)?;
    }
    Ok(ctx)
}

fn load_project(file: &Path) -> Result<Project, SnapshotError> {
    let text = std::fs::read_to_string(file).map_err(|e| SnapshotError::io(file, e))?;
    project::parse(&text, file).map_err(|e| {
        // Project errors already start with the path.
        let message = e.to_string();
        let shown = file.display().to_string();
        let message = message.strip_prefix(&shown).unwrap_or(&message);
        SnapshotError::new(file, message.trim_start_matches(':').trim_start())
    })
}

fn find_node<'a>(root: &'a ProjectNode, node_path: &[String]) -> Option<&'a ProjectNode> {
    let mut node = root;
    for name in node_path {
        node = node.children.get(name)?;
    }
    Some(node)
}
