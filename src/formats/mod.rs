//! One module per file kind, each owning how its files become instances (and, for
//! syncback, how instances become its files). This module dispatches a path to the
//! right kind (fs-format.md §2.1) and holds what the kinds share: naming and context.

pub mod csv;
pub mod data_module;
pub mod dir;
pub mod json_module;
pub mod meta;
pub mod model_json;
pub mod project_node;
pub mod rbxm;
pub mod script;
pub mod text;
pub mod toml_module;
pub mod yaml_module;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use globset::{Glob, GlobMatcher};

use crate::project::{Project, SyncRule};
use crate::snapshot::InstanceSnapshot;
use crate::vfs::{EntryKind, Vfs};

pub use script::ScriptKind;

/// An error turning files into instances; always names the file.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", .path.display())]
pub struct SnapshotError {
    pub path: PathBuf,
    pub message: String,
}

impl SnapshotError {
    pub fn new(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        SnapshotError {
            path: path.into(),
            message: message.to_string(),
        }
    }

    pub fn io(path: &Path, err: std::io::Error) -> Self {
        SnapshotError::new(path, err)
    }
}

pub type SnapshotResult = Result<Option<InstanceSnapshot>, SnapshotError>;

/// What kind of file a path is, by rule (built-in or the project's `syncRules`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRule {
    Script(ScriptKind),
    Project,
    JsonModel,
    JsonModule,
    TomlModule,
    YamlModule,
    Csv,
    Text,
    Rbxm,
    Rbxmx,
    Ignore,
}

/// Built-in rules in priority order: (file-name suffix, rule). The instance name is the
/// file name minus the suffix (fs-format.md §2.1).
const BUILTIN_RULES: &[(&str, FileRule)] = &[
    (".server.luau", FileRule::Script(ScriptKind::Server)),
    (".client.luau", FileRule::Script(ScriptKind::Client)),
    (".plugin.luau", FileRule::Script(ScriptKind::Plugin)),
    (".legacy.luau", FileRule::Script(ScriptKind::Legacy)),
    (".local.luau", FileRule::Script(ScriptKind::Local)),
    (".luau", FileRule::Script(ScriptKind::Module)),
    (".project.json5", FileRule::Project),
    (".model.json5", FileRule::JsonModel),
    (".meta.json5", FileRule::Ignore),
    (".json5", FileRule::JsonModule),
    (".server.lua", FileRule::Script(ScriptKind::Legacy)),
    (".client.lua", FileRule::Script(ScriptKind::Local)),
    (".plugin.lua", FileRule::Script(ScriptKind::Plugin)),
    (".lua", FileRule::Script(ScriptKind::Module)),
    (".project.json", FileRule::Project),
    (".model.json", FileRule::JsonModel),
    (".meta.json", FileRule::Ignore),
    (".json", FileRule::JsonModule),
    (".toml", FileRule::TomlModule),
    (".csv", FileRule::Csv),
    (".txt", FileRule::Text),
    (".rbxmx", FileRule::Rbxmx),
    (".rbxm", FileRule::Rbxm),
    (".yml", FileRule::YamlModule),
    (".yaml", FileRule::YamlModule),
];

/// Init files that turn a directory into another instance, in priority order (§2.1).
pub const INIT_FILES: &[(&str, FileRule)] = &[
    ("default.project.json5", FileRule::Project),
    ("default.project.json", FileRule::Project),
    ("init.luau", FileRule::Script(ScriptKind::Module)),
    ("init.server.luau", FileRule::Script(ScriptKind::Server)),
    ("init.client.luau", FileRule::Script(ScriptKind::Client)),
    ("init.plugin.luau", FileRule::Script(ScriptKind::Plugin)),
    ("init.local.luau", FileRule::Script(ScriptKind::Local)),
    ("init.legacy.luau", FileRule::Script(ScriptKind::Legacy)),
    ("init.csv", FileRule::Csv),
    ("init.lua", FileRule::Script(ScriptKind::Module)),
    ("init.server.lua", FileRule::Script(ScriptKind::Legacy)),
    ("init.client.lua", FileRule::Script(ScriptKind::Local)),
];

/// The folder Atlas keeps its own files in, next to a project file (syncback's backup).
pub const ATLAS_FOLDER: &str = ".atlas";

/// A glob-ignore rule with the folder it is relative to.
struct IgnoreRule {
    base: PathBuf,
    glob: GlobMatcher,
}

/// A compiled user sync rule.
struct CompiledSyncRule {
    base: PathBuf,
    pattern: GlobMatcher,
    exclude: Option<GlobMatcher>,
    rule: FileRule,
    suffix: Option<String>,
}

/// What snapshotting needs to know about the project it is inside.
#[derive(Clone, Default)]
pub struct Context {
    /// Ignore globs accumulate into nested projects.
    ignore_rules: Vec<Arc<IgnoreRule>>,
    /// Sync rules are replaced by a nested project's own.
    sync_rules: Arc<Vec<CompiledSyncRule>>,
    /// The project files being read, outermost first: one that appears again includes
    /// itself, and reading it would never end.
    projects: Arc<Vec<PathBuf>>,
}

impl Context {
    /// The context of `project` inside `self` (the root context is `Context::default()`).
    pub fn for_project(&self, project: &Project) -> Result<Context, SnapshotError> {
        let file =
            std::fs::canonicalize(&project.file_path).unwrap_or_else(|_| project.file_path.clone());
        if let Some(start) = self.projects.iter().position(|p| *p == file) {
            let chain: Vec<String> = self.projects[start..]
                .iter()
                .chain(std::iter::once(&file))
                .map(|p| p.display().to_string())
                .collect();
            return Err(SnapshotError::new(
                &project.file_path,
                format!(
                    "the project includes itself ({}); a $path must not lead back to a project being read",
                    chain.join(" -> ")
                ),
            ));
        }
        let mut projects = Vec::clone(&self.projects);
        projects.push(file);
        let base = project.folder().to_path_buf();
        let compile = |glob: &str| {
            Glob::new(glob).map(|g| g.compile_matcher()).map_err(|err| {
                SnapshotError::new(&project.file_path, format!("bad glob \"{glob}\": {err}"))
            })
        };
        let mut ignore_rules = self.ignore_rules.clone();
        for glob in &project.glob_ignore_paths {
            ignore_rules.push(Arc::new(IgnoreRule {
                base: base.clone(),
                glob: compile(glob)?,
            }));
        }
        let mut sync_rules = Vec::new();
        for rule in &project.sync_rules {
            sync_rules.push(compile_sync_rule(rule, &base, &compile)?);
        }
        Ok(Context {
            ignore_rules,
            sync_rules: Arc::new(sync_rules),
            projects: Arc::new(projects),
        })
    }

    /// Whether any `globIgnorePaths` rule is active.
    pub fn has_ignore_rules(&self) -> bool {
        !self.ignore_rules.is_empty()
    }

    /// Whether `path` is a project file being read: found in a folder of its own tree
    /// (`$path: "."`), it is that project, not a part of it.
    pub fn is_being_read(&self, path: &Path) -> bool {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !crate::project::is_project_file_name(name) {
            return false;
        }
        std::fs::canonicalize(path).is_ok_and(|file| self.projects.contains(&file))
    }

    /// Whether `path` matches an active `globIgnorePaths` rule, or is the `.atlas` folder
    /// (syncback's backup) of a project being read.
    pub fn is_ignored(&self, path: &Path) -> bool {
        if path.file_name() == Some(std::ffi::OsStr::new(ATLAS_FOLDER))
            && self.projects.iter().any(|project| {
                project.parent().is_some_and(|folder| {
                    std::fs::canonicalize(path).is_ok_and(|p| p == folder.join(ATLAS_FOLDER))
                })
            })
        {
            return true;
        }
        self.ignore_rules.iter().any(|rule| {
            path.strip_prefix(&rule.base)
                .is_ok_and(|relative| rule.glob.is_match(relative))
        })
    }

    /// The rule for a file and the instance name it gives, user rules first.
    pub fn rule_for(&self, path: &Path, file_name: &str) -> Option<(FileRule, String)> {
        for rule in self.sync_rules.iter() {
            let Ok(relative) = path.strip_prefix(&rule.base) else {
                continue;
            };
            if !rule.pattern.is_match(relative) {
                continue;
            }
            if rule.exclude.as_ref().is_some_and(|e| e.is_match(relative)) {
                continue;
            }
            let name = match &rule.suffix {
                Some(suffix) if file_name.ends_with(suffix.as_str()) => {
                    file_name[..file_name.len() - suffix.len()].to_string()
                }
                _ => file_stem(file_name).to_string(),
            };
            return Some((rule.rule, name));
        }
        builtin_rule(file_name)
    }
}

fn compile_sync_rule(
    rule: &SyncRule,
    base: &Path,
    compile: &dyn Fn(&str) -> Result<GlobMatcher, SnapshotError>,
) -> Result<CompiledSyncRule, SnapshotError> {
    let kind = match rule.use_kind.as_str() {
        "csv" => FileRule::Csv,
        "jsonModel" => FileRule::JsonModel,
        "json" => FileRule::JsonModule,
        "toml" => FileRule::TomlModule,
        "yaml" => FileRule::YamlModule,
        "serverScript" => FileRule::Script(ScriptKind::Server),
        "clientScript" => FileRule::Script(ScriptKind::Client),
        "moduleScript" => FileRule::Script(ScriptKind::Module),
        "pluginScript" => FileRule::Script(ScriptKind::Plugin),
        "localScript" => FileRule::Script(ScriptKind::Local),
        "legacyScript" => FileRule::Script(ScriptKind::Legacy),
        "project" => FileRule::Project,
        "rbxm" => FileRule::Rbxm,
        "rbxmx" => FileRule::Rbxmx,
        "text" => FileRule::Text,
        _ => FileRule::Ignore,
    };
    Ok(CompiledSyncRule {
        base: base.to_path_buf(),
        pattern: compile(&rule.pattern)?,
        exclude: rule.exclude.as_deref().map(compile).transpose()?,
        rule: kind,
        suffix: rule.suffix.clone(),
    })
}

/// The built-in rule for a file name and the instance name it gives.
pub fn builtin_rule(file_name: &str) -> Option<(FileRule, String)> {
    for (suffix, rule) in BUILTIN_RULES {
        if file_name.len() > suffix.len() && file_name.ends_with(suffix) {
            return Some((
                *rule,
                file_name[..file_name.len() - suffix.len()].to_string(),
            ));
        }
    }
    None
}

/// File name without its last extension.
pub fn file_stem(file_name: &str) -> &str {
    match file_name.rfind('.') {
        Some(index) if index > 0 => &file_name[..index],
        _ => file_name,
    }
}

/// Removes a `~N` duplicate suffix (N a u32 > 0) that syncback adds to sibling names.
pub fn strip_dedup_suffix(name: &str) -> &str {
    if let Some(index) = name.rfind('~') {
        if let Ok(n) = name[index + 1..].parse::<u32>() {
            if n > 0 && !name[index + 1..].starts_with('+') {
                return &name[..index];
            }
        }
    }
    name
}

/// Whether a file name is one a directory consumes as its init file.
pub fn is_init_file(file_name: &str) -> bool {
    INIT_FILES
        .iter()
        .any(|(name, rule)| *name == file_name && *rule != FileRule::Project)
}

/// Snapshots any path: a directory, a file, or nothing (missing, ignored, no rule).
pub fn snapshot_path(ctx: &Context, vfs: &Vfs, path: &Path) -> SnapshotResult {
    if ctx.is_ignored(path) {
        return Ok(None);
    }
    match vfs.kind(path).map_err(|e| SnapshotError::io(path, e))? {
        None => Ok(None),
        Some(EntryKind::Directory) => dir::snapshot_dir(ctx, vfs, path),
        Some(EntryKind::File) => snapshot_file(ctx, vfs, path, None),
    }
}

/// Snapshots a file. `siblings` is the listing of its directory when the caller has it,
/// so looking for an adjacent meta file costs nothing.
pub fn snapshot_file(
    ctx: &Context,
    vfs: &Vfs,
    path: &Path,
    siblings: Option<&HashSet<String>>,
) -> SnapshotResult {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| SnapshotError::new(path, "the file name is not valid UTF-8"))?;
    if is_init_file(file_name) {
        return Ok(None);
    }
    let Some((rule, raw_name)) = ctx.rule_for(path, file_name) else {
        return Ok(None);
    };
    let name = strip_dedup_suffix(&raw_name).to_string();
    let snapshot = match rule {
        FileRule::Ignore => return Ok(None),
        FileRule::Script(kind) => script::snapshot(vfs, path, &name, kind)?,
        FileRule::Text => text::snapshot(vfs, path, &name)?,
        FileRule::Csv => csv::snapshot(vfs, path, &name)?,
        FileRule::JsonModule => json_module::snapshot(vfs, path, &name)?,
        FileRule::TomlModule => toml_module::snapshot(vfs, path, &name)?,
        FileRule::YamlModule => yaml_module::snapshot(vfs, path, &name)?,
        FileRule::JsonModel => return model_json::snapshot(vfs, path, &name),
        FileRule::Rbxm | FileRule::Rbxmx => return rbxm::snapshot(vfs, path, &name, rule),
        FileRule::Project => {
            return project_node::snapshot_project_file(ctx, vfs, path, Some(&name))
        }
    };
    let mut snapshot = snapshot;
    snapshot.metadata.fs_name = Some(file_name.to_string());
    meta::apply_adjacent(vfs, path, siblings, &mut snapshot)?;
    Ok(Some(snapshot))
}

/// One file a format wants written (the write direction, used by syncback).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWrite {
    pub path: PathBuf,
    pub contents: Vec<u8>,
}

impl FileWrite {
    pub fn new(path: impl Into<PathBuf>, contents: impl Into<Vec<u8>>) -> Self {
        FileWrite {
            path: path.into(),
            contents: contents.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_suffix() {
        assert_eq!(strip_dedup_suffix("Foo~2"), "Foo");
        assert_eq!(strip_dedup_suffix("Foo~10"), "Foo");
        assert_eq!(strip_dedup_suffix("Baz~0"), "Baz~0");
        assert_eq!(strip_dedup_suffix("Foo~abc"), "Foo~abc");
        assert_eq!(strip_dedup_suffix("Foo~"), "Foo~");
        assert_eq!(strip_dedup_suffix("A~B~3"), "A~B");
        assert_eq!(strip_dedup_suffix("X~+3"), "X~+3");
    }

    #[test]
    fn builtin_rules_pick_the_first_match() {
        let rule = |n: &str| builtin_rule(n);
        assert_eq!(
            rule("a.server.luau"),
            Some((FileRule::Script(ScriptKind::Server), "a".into()))
        );
        assert_eq!(
            rule("a.local.lua"),
            Some((FileRule::Script(ScriptKind::Module), "a.local".into()))
        );
        assert_eq!(
            rule("a.data.json5"),
            Some((FileRule::JsonModule, "a.data".into()))
        );
        assert_eq!(rule("a.meta.json5"), Some((FileRule::Ignore, "a".into())));
        assert_eq!(
            rule("x.model.json"),
            Some((FileRule::JsonModel, "x".into()))
        );
        assert_eq!(rule(".gitkeep"), None);
        assert_eq!(rule("README.md"), None);
        assert_eq!(rule(".luau"), None);
    }
}
