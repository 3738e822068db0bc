//! `syncbackRules` compiled for fast checks (fs-format.md §4.12).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::filter;
use super::SyncbackError;
use crate::project::Project;

/// The project's syncback rules, ready to match.
#[derive(Debug, Clone)]
pub struct CompiledRules {
    ignore_trees: GlobSet,
    ignore_paths: GlobSet,
    user_ignore_paths: bool,
    ignore_properties: HashMap<String, HashSet<String>>,
    ignore_classes: HashSet<String>,
    pub sync_current_camera: bool,
    pub sync_unscriptable: bool,
    pub ignore_referents: bool,
    pub ignore_hidden_services: bool,
    pub warn_duplicate_names: bool,
    /// The place can only hold the visible services (a live syncback: the plugin sends
    /// no others), so a hidden service the project maps is left as it is, never emptied.
    pub only_visible_services: bool,
}

fn compile(project: &Project, globs: &[String], dir_forms: bool) -> Result<GlobSet, SyncbackError> {
    let mut builder = GlobSetBuilder::new();
    let mut add = |pattern: &str| -> Result<(), SyncbackError> {
        let glob = Glob::new(pattern).map_err(|e| {
            SyncbackError::Project(format!(
                "{}: syncbackRules: bad glob \"{pattern}\": {e}",
                project.file_path.display()
            ))
        })?;
        builder.add(glob);
        Ok(())
    };
    for pattern in globs {
        add(pattern)?;
        if dir_forms {
            if let Some(dir) = pattern.strip_suffix("/**") {
                if !dir.is_empty() {
                    add(dir)?;
                }
            }
        }
    }
    // `.git` is never touched.
    if dir_forms {
        add(".git")?;
        add(".git/**")?;
    }
    builder
        .build()
        .map_err(|e| SyncbackError::Project(e.to_string()))
}

impl CompiledRules {
    pub fn new(project: &Project) -> Result<CompiledRules, SyncbackError> {
        let rules = &project.syncback_rules;
        Ok(CompiledRules {
            ignore_trees: compile(project, &rules.ignore_trees, false)?,
            ignore_paths: compile(project, &rules.ignore_paths, rules.create_ignore_dir_paths)?,
            user_ignore_paths: !rules.ignore_paths.is_empty(),
            ignore_properties: rules
                .ignore_properties
                .iter()
                .map(|(class, props)| (class.clone(), props.iter().cloned().collect()))
                .collect(),
            ignore_classes: rules.ignore_classes.iter().cloned().collect(),
            sync_current_camera: rules.sync_current_camera,
            sync_unscriptable: rules.sync_unscriptable,
            ignore_referents: rules.ignore_referents,
            ignore_hidden_services: project.ignores_hidden_services(),
            warn_duplicate_names: rules.warn_duplicate_names,
            only_visible_services: false,
        })
    }

    /// Whether `property` is listed in `ignoreProperties` for the class or a superclass.
    pub fn ignores_property(&self, class_name: &str, property: &str) -> bool {
        if self.ignore_properties.is_empty() {
            return false;
        }
        self.ignore_properties
            .iter()
            .any(|(class, props)| props.contains(property) && filter::is_a(class_name, class))
    }

    /// Whether instances of this exact class are neither written nor removed.
    pub fn ignores_class(&self, class_name: &str) -> bool {
        self.ignore_classes.contains(class_name)
    }

    /// Whether the instance at `instance_path` (names joined by `/`, below the root) is
    /// in an `ignoreTrees` glob.
    pub fn ignores_tree(&self, instance_path: &str) -> bool {
        !self.ignore_trees.is_empty() && self.ignore_trees.is_match(instance_path)
    }

    pub fn has_ignore_trees(&self) -> bool {
        !self.ignore_trees.is_empty()
    }

    pub fn has_ignore_classes(&self) -> bool {
        !self.ignore_classes.is_empty()
    }

    /// Whether a path relative to the project folder is in an `ignorePaths` glob (or
    /// below `.git`).
    pub fn ignores_path(&self, relative: &Path) -> bool {
        if !self.user_ignore_paths {
            return relative
                .components()
                .next()
                .is_some_and(|c| c.as_os_str() == ".git");
        }
        self.ignore_paths.is_match(relative)
    }

    /// Whether syncback leaves `path` alone: the build skips it (`globIgnorePaths`, in
    /// `build`, the project's build context) or `ignorePaths` protects it.
    pub fn leaves_alone(
        &self,
        build: &crate::formats::Context,
        project_folder: &Path,
        path: &Path,
    ) -> bool {
        build.is_ignored(path)
            || self.ignores_path(path.strip_prefix(project_folder).unwrap_or(path))
    }

    /// Whether the project has its own `ignorePaths` (beyond `.git`).
    pub fn has_user_ignore_paths(&self) -> bool {
        self.user_ignore_paths
    }
}

/// One segment of an `ignoreTrees` instance path: `/` inside a name is escaped.
pub fn tree_segment(name: &str) -> String {
    name.replace('/', "\\/")
}
