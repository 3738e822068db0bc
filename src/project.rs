//! The project file (`*.project.json5` / `*.project.json`): types, loading, validation.
//!
//! Projects are parsed from our own JSON5 [`Value`] model rather than with serde derive so
//! that every error names the file, the line and the exact key path, and so that unknown
//! keys are reported instead of silently ignored (fs-format.md §1).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::json_value::{self, Value};

/// Default project file names looked for inside a directory, in order.
pub const DEFAULT_PROJECT_NAMES: [&str; 2] = ["default.project.json5", "default.project.json"];

/// Default port of `atlas serve`.
pub const DEFAULT_SERVE_PORT: u16 = 34873;

/// Keys other Rojo-family tools accept that Atlas knows about but does not act on.
const TOLERATED_TOP_LEVEL_KEYS: [&str; 4] = [
    "syncScriptsOnly",
    "fileLogLevel",
    "emitLegacyScripts",
    "serveAllowedHosts",
];

/// An error loading a project file, naming the file and (when known) the line.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    #[error("no project file found in {}: expected default.project.json5 or default.project.json", .0.display())]
    NotFound(PathBuf),
    #[error("{}: no such project file or folder", .0.display())]
    FileMissing(PathBuf),
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}{}: {message}", .path.display(), line_suffix(.line))]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
}

fn line_suffix(line: &Option<usize>) -> String {
    match line {
        Some(line) => format!(":{line}"),
        None => String::new(),
    }
}

/// Returns true for file names that are project files.
pub fn is_project_file_name(name: &str) -> bool {
    name.ends_with(".project.json5") || name.ends_with(".project.json")
}

/// A loaded project file.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// `$schema`, kept so it can be written back.
    pub schema: Option<String>,
    /// The root instance's name (from `name`, or derived from the file).
    pub name: String,
    /// Whether `name` was written in the file (rather than derived).
    pub name_is_explicit: bool,
    pub tree: ProjectNode,
    pub serve_port: Option<u16>,
    pub serve_address: Option<IpAddr>,
    pub serve_place_ids: Option<BTreeSet<u64>>,
    pub blocked_place_ids: Option<BTreeSet<u64>>,
    pub place_id: Option<u64>,
    pub game_id: Option<u64>,
    pub glob_ignore_paths: Vec<String>,
    pub sync_rules: Vec<SyncRule>,
    pub syncback_rules: SyncbackRules,
    /// Top-level `ignoreHiddenServices`; wins over `syncbackRules.ignoreHiddenServices`.
    pub ignore_hidden_services: Option<bool>,
    /// The project file this was loaded from.
    pub file_path: PathBuf,
}

impl Project {
    /// The folder holding the project file; `$path`s are relative to it.
    pub fn folder(&self) -> &Path {
        self.file_path.parent().unwrap_or(Path::new("."))
    }

    /// Whether syncback drops services outside the visible list (default true).
    pub fn ignores_hidden_services(&self) -> bool {
        self.ignore_hidden_services
            .or(self.syncback_rules.ignore_hidden_services)
            .unwrap_or(true)
    }
}

/// `$path`: required, or `{ optional: "..." }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodePath {
    Required(PathBuf),
    Optional(PathBuf),
}

impl NodePath {
    pub fn path(&self) -> &Path {
        match self {
            NodePath::Required(p) | NodePath::Optional(p) => p,
        }
    }

    pub fn is_optional(&self) -> bool {
        matches!(self, NodePath::Optional(_))
    }
}

/// One node of the project tree (fs-format.md §1.3).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectNode {
    pub class_name: Option<String>,
    pub path: Option<NodePath>,
    /// Raw property values; resolved against the node's final class when snapshotted.
    pub properties: BTreeMap<String, Value>,
    pub attributes: BTreeMap<String, Value>,
    pub ignore_unknown_instances: Option<bool>,
    /// Legacy `$id` for `Rojo_Target_*` references.
    pub id: Option<String>,
    /// Children by instance name (sorted, which is also their build order).
    pub children: BTreeMap<String, ProjectNode>,
}

/// A user sync rule (fs-format.md §1.6).
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRule {
    pub pattern: String,
    pub exclude: Option<String>,
    pub use_kind: String,
    pub suffix: Option<String>,
}

/// Names accepted for a sync rule's `use`.
pub const SYNC_RULE_KINDS: [&str; 14] = [
    "csv",
    "jsonModel",
    "json",
    "serverScript",
    "clientScript",
    "moduleScript",
    "pluginScript",
    "localScript",
    "legacyScript",
    "project",
    "rbxm",
    "rbxmx",
    "toml",
    "yaml",
];
const EXTRA_SYNC_RULE_KINDS: [&str; 2] = ["text", "ignore"];

/// `syncbackRules` (fs-format.md §4.12, with Atlas's defaults).
#[derive(Debug, Clone, PartialEq)]
pub struct SyncbackRules {
    pub ignore_trees: Vec<String>,
    pub ignore_paths: Vec<String>,
    pub create_ignore_dir_paths: bool,
    pub ignore_properties: BTreeMap<String, Vec<String>>,
    pub ignore_classes: Vec<String>,
    pub sync_current_camera: bool,
    /// Keep properties scripts cannot read; on by default so nothing a place stores is lost.
    pub sync_unscriptable: bool,
    pub ignore_referents: bool,
    pub ignore_hidden_services: Option<bool>,
    pub warn_duplicate_names: bool,
}

impl Default for SyncbackRules {
    fn default() -> Self {
        SyncbackRules {
            ignore_trees: Vec::new(),
            ignore_paths: Vec::new(),
            create_ignore_dir_paths: true,
            ignore_properties: BTreeMap::new(),
            ignore_classes: Vec::new(),
            sync_current_camera: false,
            sync_unscriptable: true,
            ignore_referents: false,
            ignore_hidden_services: None,
            warn_duplicate_names: false,
        }
    }
}

/// Finds the project file for `path`: the file itself, or a default project inside it.
pub fn locate(path: &Path) -> Result<PathBuf, ProjectError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if is_project_file_name(name) {
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
        if !path.is_dir() {
            return Err(ProjectError::FileMissing(path.to_path_buf()));
        }
    }
    if !path.exists() {
        return Err(ProjectError::FileMissing(path.to_path_buf()));
    }
    for default in DEFAULT_PROJECT_NAMES {
        let candidate = path.join(default);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(ProjectError::NotFound(path.to_path_buf()))
}

/// Loads the project for `path` (a project file or a folder holding a default project).
pub fn load(path: &Path) -> Result<Project, ProjectError> {
    let file = locate(path)?;
    let text = std::fs::read_to_string(&file).map_err(|source| ProjectError::Io {
        path: file.clone(),
        source,
    })?;
    parse(&text, &file)
}

/// Derives the root name when `name` is absent: the folder for default projects, otherwise
/// the file name without its `.project.json5` / `.project.json` suffix.
pub fn fallback_name(file_path: &Path) -> String {
    let file_name = file_path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if DEFAULT_PROJECT_NAMES.contains(&file_name) {
        let folder = file_path.parent().unwrap_or(Path::new("."));
        let absolute = if folder.as_os_str().is_empty() {
            std::env::current_dir().unwrap_or_default()
        } else {
            std::fs::canonicalize(folder).unwrap_or_else(|_| folder.to_path_buf())
        };
        return absolute
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("project")
            .to_string();
    }
    file_name
        .strip_suffix(".project.json5")
        .or_else(|| file_name.strip_suffix(".project.json"))
        .unwrap_or(file_name)
        .to_string()
}

/// Parses project text; `file` is used for errors, the fallback name and relative paths.
pub fn parse(text: &str, file: &Path) -> Result<Project, ProjectError> {
    let value = json_value::parse(text).map_err(|err| ProjectError::Invalid {
        path: file.to_path_buf(),
        line: err.line,
        message: match err.column {
            Some(column) => format!("column {column}: {}", err.message),
            None => err.message.clone(),
        },
    })?;
    let parser = Parser { text, file };
    parser.project(&value)
}

struct Parser<'a> {
    text: &'a str,
    file: &'a Path,
}

impl Parser<'_> {
    /// An error at `key_path` (e.g. `tree.Workspace.$path`), with a best-effort line.
    fn error(&self, key_path: &[&str], message: impl Into<String>) -> ProjectError {
        let message = message.into();
        let shown = if key_path.is_empty() {
            message
        } else {
            format!("{}: {message}", key_path.join("."))
        };
        ProjectError::Invalid {
            path: self.file.to_path_buf(),
            line: find_key_line(self.text, key_path),
            message: shown,
        }
    }

    fn project(&self, value: &Value) -> Result<Project, ProjectError> {
        let map = value
            .as_object()
            .ok_or_else(|| self.error(&[], format!("expected an object, got {}", value.kind())))?;
        let mut project = Project {
            schema: None,
            name: String::new(),
            name_is_explicit: false,
            tree: ProjectNode::default(),
            serve_port: None,
            serve_address: None,
            serve_place_ids: None,
            blocked_place_ids: None,
            place_id: None,
            game_id: None,
            glob_ignore_paths: Vec::new(),
            sync_rules: Vec::new(),
            syncback_rules: SyncbackRules::default(),
            ignore_hidden_services: None,
            file_path: self.file.to_path_buf(),
        };
        let mut tree = None;
        for (key, v) in map {
            let at = [key.as_str()];
            match key.as_str() {
                "$schema" => project.schema = Some(self.string(&at, v)?),
                "name" => {
                    project.name = self.string(&at, v)?;
                    project.name_is_explicit = true;
                }
                "tree" => tree = Some(self.node(&mut vec!["tree".to_string()], v)?),
                "servePort" => {
                    let port = self.unsigned(&at, v)?;
                    project.serve_port = Some(u16::try_from(port).map_err(|_| {
                        self.error(&at, format!("{port} is not a valid port (0-65535)"))
                    })?);
                }
                "serveAddress" => {
                    let text = self.string(&at, v)?;
                    project.serve_address = Some(text.parse().map_err(|_| {
                        self.error(&at, format!("\"{text}\" is not an IP address"))
                    })?);
                }
                "servePlaceIds" => project.serve_place_ids = Some(self.id_set(&at, v)?),
                "blockedPlaceIds" => project.blocked_place_ids = Some(self.id_set(&at, v)?),
                "placeId" => project.place_id = Some(self.unsigned(&at, v)?),
                "gameId" => project.game_id = Some(self.unsigned(&at, v)?),
                "globIgnorePaths" => {
                    project.glob_ignore_paths = self.globs(&at, v)?;
                }
                "syncRules" => project.sync_rules = self.sync_rules(&at, v)?,
                "syncbackRules" => project.syncback_rules = self.syncback_rules(v)?,
                "ignoreHiddenServices" => {
                    project.ignore_hidden_services = Some(self.boolean(&at, v)?)
                }
                other if TOLERATED_TOP_LEVEL_KEYS.contains(&other) => {
                    log::warn!(
                        "{}: `{other}` is not supported by Atlas and is ignored",
                        self.file.display()
                    );
                }
                other => {
                    return Err(self.error(
                        &at,
                        format!("unknown key `{other}` (expected one of name, tree, servePort, serveAddress, servePlaceIds, blockedPlaceIds, placeId, gameId, globIgnorePaths, syncRules, syncbackRules, ignoreHiddenServices, $schema)"),
                    ))
                }
            }
        }
        project.tree = tree.ok_or_else(|| self.error(&[], "missing required key `tree`"))?;
        if !project.name_is_explicit {
            project.name = fallback_name(self.file);
        }
        Ok(project)
    }

    fn node(&self, key_path: &mut Vec<String>, value: &Value) -> Result<ProjectNode, ProjectError> {
        let owned_path = key_path.clone();
        let path_refs: Vec<&str> = owned_path.iter().map(String::as_str).collect();
        let map = value.as_object().ok_or_else(|| {
            self.error(
                &path_refs,
                format!("a project node must be an object, got {}", value.kind()),
            )
        })?;
        let mut node = ProjectNode::default();
        for (key, v) in map {
            let mut at = path_refs.clone();
            at.push(key);
            match key.as_str() {
                "$className" => node.class_name = Some(self.string(&at, v)?),
                "$path" => node.path = Some(self.node_path(&at, v)?),
                "$properties" => node.properties = self.value_map(&at, v)?,
                "$attributes" => node.attributes = self.value_map(&at, v)?,
                "$ignoreUnknownInstances" => {
                    node.ignore_unknown_instances = Some(self.boolean(&at, v)?)
                }
                "$id" => node.id = Some(self.string(&at, v)?),
                other if other.starts_with('$') => {
                    return Err(self.error(
                        &at,
                        format!("unknown directive `{other}` (expected $className, $path, $properties, $attributes, $ignoreUnknownInstances or $id)"),
                    ));
                }
                child => {
                    key_path.push(child.to_string());
                    let child_node = self.node(key_path, v)?;
                    key_path.pop();
                    node.children.insert(child.to_string(), child_node);
                }
            }
        }
        for reserved in ["Name", "Parent"] {
            if node.properties.remove(reserved).is_some() {
                log::warn!(
                    "{}: {}.$properties.{reserved} is ignored (set names with the node's key)",
                    self.file.display(),
                    key_path.join(".")
                );
            }
        }
        Ok(node)
    }

    fn node_path(&self, at: &[&str], value: &Value) -> Result<NodePath, ProjectError> {
        match value {
            Value::String(s) => Ok(NodePath::Required(PathBuf::from(s))),
            Value::Object(map) => {
                let optional = map.get("optional").and_then(Value::as_str);
                match (optional, map.len()) {
                    (Some(path), 1) => Ok(NodePath::Optional(PathBuf::from(path))),
                    _ => Err(self.error(at, "expected a path string or { optional: \"path\" }")),
                }
            }
            other => Err(self.error(
                at,
                format!(
                    "expected a path string or {{ optional: \"path\" }}, got {}",
                    other.kind()
                ),
            )),
        }
    }

    fn sync_rules(&self, at: &[&str], value: &Value) -> Result<Vec<SyncRule>, ProjectError> {
        let items = value
            .as_array()
            .ok_or_else(|| self.error(at, format!("expected an array, got {}", value.kind())))?;
        let mut rules = Vec::new();
        for item in items {
            let map = item
                .as_object()
                .ok_or_else(|| self.error(at, "each sync rule must be an object"))?;
            let mut rule = SyncRule {
                pattern: String::new(),
                exclude: None,
                use_kind: String::new(),
                suffix: None,
            };
            for (key, v) in map {
                let mut key_at = at.to_vec();
                key_at.push(key);
                match key.as_str() {
                    "pattern" => rule.pattern = self.string(&key_at, v)?,
                    "exclude" => rule.exclude = Some(self.string(&key_at, v)?),
                    "use" => rule.use_kind = self.string(&key_at, v)?,
                    "suffix" => rule.suffix = Some(self.string(&key_at, v)?),
                    other => {
                        return Err(self.error(
                            &key_at,
                            format!("unknown key `{other}` in a sync rule (expected pattern, exclude, use, suffix)"),
                        ))
                    }
                }
            }
            if rule.pattern.is_empty() {
                return Err(self.error(at, "a sync rule needs a `pattern`"));
            }
            let known = SYNC_RULE_KINDS.contains(&rule.use_kind.as_str())
                || EXTRA_SYNC_RULE_KINDS.contains(&rule.use_kind.as_str());
            if !known {
                return Err(self.error(
                    at,
                    format!(
                        "unknown sync rule `use: \"{}\"` (expected one of {}, text, ignore)",
                        rule.use_kind,
                        SYNC_RULE_KINDS.join(", ")
                    ),
                ));
            }
            for glob in std::iter::once(&rule.pattern).chain(rule.exclude.iter()) {
                globset::Glob::new(glob)
                    .map_err(|err| self.error(at, format!("bad glob \"{glob}\": {err}")))?;
            }
            rules.push(rule);
        }
        Ok(rules)
    }

    fn syncback_rules(&self, value: &Value) -> Result<SyncbackRules, ProjectError> {
        let at = ["syncbackRules"];
        let map = value
            .as_object()
            .ok_or_else(|| self.error(&at, format!("expected an object, got {}", value.kind())))?;
        let mut rules = SyncbackRules::default();
        for (key, v) in map {
            let key_at = ["syncbackRules", key.as_str()];
            match key.as_str() {
                "ignoreTrees" => rules.ignore_trees = self.globs(&key_at, v)?,
                "ignorePaths" => rules.ignore_paths = self.globs(&key_at, v)?,
                "createIgnoreDirPaths" => rules.create_ignore_dir_paths = self.boolean(&key_at, v)?,
                "ignoreProperties" => {
                    let classes = v.as_object().ok_or_else(|| {
                        self.error(&key_at, "expected an object of ClassName: [properties]")
                    })?;
                    for (class, props) in classes {
                        rules
                            .ignore_properties
                            .insert(class.clone(), self.strings(&key_at, props)?);
                    }
                }
                "ignoreClasses" => rules.ignore_classes = self.strings(&key_at, v)?,
                "syncCurrentCamera" => rules.sync_current_camera = self.boolean(&key_at, v)?,
                "syncUnscriptable" => rules.sync_unscriptable = self.boolean(&key_at, v)?,
                "ignoreReferents" => rules.ignore_referents = self.boolean(&key_at, v)?,
                "ignoreHiddenServices" => {
                    rules.ignore_hidden_services = Some(self.boolean(&key_at, v)?)
                }
                "warnDuplicateNames" => rules.warn_duplicate_names = self.boolean(&key_at, v)?,
                other => {
                    return Err(self.error(
                        &key_at,
                        format!("unknown key `{other}` (expected ignoreTrees, ignorePaths, createIgnoreDirPaths, ignoreProperties, ignoreClasses, syncCurrentCamera, syncUnscriptable, ignoreReferents, ignoreHiddenServices, warnDuplicateNames)"),
                    ))
                }
            }
        }
        Ok(rules)
    }

    fn string(&self, at: &[&str], value: &Value) -> Result<String, ProjectError> {
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| self.error(at, format!("expected a string, got {}", value.kind())))
    }

    fn boolean(&self, at: &[&str], value: &Value) -> Result<bool, ProjectError> {
        value
            .as_bool()
            .ok_or_else(|| self.error(at, format!("expected true or false, got {}", value.kind())))
    }

    fn unsigned(&self, at: &[&str], value: &Value) -> Result<u64, ProjectError> {
        value.as_u64().ok_or_else(|| {
            self.error(
                at,
                format!("expected a whole number ≥ 0, got {}", value.kind()),
            )
        })
    }

    fn strings(&self, at: &[&str], value: &Value) -> Result<Vec<String>, ProjectError> {
        let items = value.as_array().ok_or_else(|| {
            self.error(
                at,
                format!("expected an array of strings, got {}", value.kind()),
            )
        })?;
        items.iter().map(|item| self.string(at, item)).collect()
    }

    fn globs(&self, at: &[&str], value: &Value) -> Result<Vec<String>, ProjectError> {
        let globs = self.strings(at, value)?;
        for glob in &globs {
            globset::Glob::new(glob)
                .map_err(|err| self.error(at, format!("bad glob \"{glob}\": {err}")))?;
        }
        Ok(globs)
    }

    fn id_set(&self, at: &[&str], value: &Value) -> Result<BTreeSet<u64>, ProjectError> {
        let items = value.as_array().ok_or_else(|| {
            self.error(
                at,
                format!("expected an array of place ids, got {}", value.kind()),
            )
        })?;
        items.iter().map(|item| self.unsigned(at, item)).collect()
    }

    fn value_map(
        &self,
        at: &[&str],
        value: &Value,
    ) -> Result<BTreeMap<String, Value>, ProjectError> {
        value
            .as_object()
            .cloned()
            .ok_or_else(|| self.error(at, format!("expected an object, got {}", value.kind())))
    }
}

/// Best-effort line of the last key of `key_path`: scans for each key in turn, so a key
/// that appears several times is found below its parent's first appearance.
fn find_key_line(text: &str, key_path: &[&str]) -> Option<usize> {
    let mut offset = 0;
    let mut found = None;
    for key in key_path {
        let candidates = [format!("\"{key}\""), format!("'{key}'"), key.to_string()];
        let mut best: Option<usize> = None;
        for candidate in &candidates {
            let mut search_from = offset;
            while let Some(pos) = text[search_from..].find(candidate.as_str()) {
                let start = search_from + pos;
                let end = start + candidate.len();
                let before_ok = start == 0
                    || !text[..start]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$');
                let after = text[end..].trim_start();
                if before_ok && after.starts_with(':') {
                    best = Some(best.map_or(start, |b: usize| b.min(start)));
                    break;
                }
                search_from = end;
            }
        }
        match best {
            Some(pos) => {
                offset = pos;
                found = Some(pos);
            }
            None => return found.map(|pos| line_of(text, pos)),
        }
    }
    found.map(|pos| line_of(text, pos))
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// Serializes a project back to its canonical JSON5 value (sorted keys), for syncback.
pub fn to_value(project: &Project) -> Value {
    let mut map = BTreeMap::new();
    if let Some(schema) = &project.schema {
        map.insert("$schema".to_string(), Value::from(schema.as_str()));
    }
    if project.name_is_explicit {
        map.insert("name".to_string(), Value::from(project.name.as_str()));
    }
    map.insert("tree".to_string(), node_to_value(&project.tree));
    if let Some(port) = project.serve_port {
        map.insert("servePort".to_string(), Value::Int(port.into()));
    }
    if let Some(address) = project.serve_address {
        map.insert(
            "serveAddress".to_string(),
            Value::String(address.to_string()),
        );
    }
    let ids = |set: &BTreeSet<u64>| {
        Value::Array(
            set.iter()
                .map(|id| Value::UInt(*id))
                .map(normalize_uint)
                .collect(),
        )
    };
    if let Some(set) = &project.serve_place_ids {
        map.insert("servePlaceIds".to_string(), ids(set));
    }
    if let Some(set) = &project.blocked_place_ids {
        map.insert("blockedPlaceIds".to_string(), ids(set));
    }
    if let Some(id) = project.place_id {
        map.insert("placeId".to_string(), normalize_uint(Value::UInt(id)));
    }
    if let Some(id) = project.game_id {
        map.insert("gameId".to_string(), normalize_uint(Value::UInt(id)));
    }
    let strings =
        |items: &[String]| Value::Array(items.iter().map(|s| Value::from(s.as_str())).collect());
    if !project.glob_ignore_paths.is_empty() {
        map.insert(
            "globIgnorePaths".to_string(),
            strings(&project.glob_ignore_paths),
        );
    }
    if !project.sync_rules.is_empty() {
        let rules = project
            .sync_rules
            .iter()
            .map(|rule| {
                let mut r = BTreeMap::new();
                r.insert("pattern".to_string(), Value::from(rule.pattern.as_str()));
                r.insert("use".to_string(), Value::from(rule.use_kind.as_str()));
                if let Some(exclude) = &rule.exclude {
                    r.insert("exclude".to_string(), Value::from(exclude.as_str()));
                }
                if let Some(suffix) = &rule.suffix {
                    r.insert("suffix".to_string(), Value::from(suffix.as_str()));
                }
                Value::Object(r)
            })
            .collect();
        map.insert("syncRules".to_string(), Value::Array(rules));
    }
    if let Some(ignore) = project.ignore_hidden_services {
        map.insert("ignoreHiddenServices".to_string(), Value::Bool(ignore));
    }
    let rules = &project.syncback_rules;
    if *rules != SyncbackRules::default() {
        let defaults = SyncbackRules::default();
        let mut r = BTreeMap::new();
        if !rules.ignore_trees.is_empty() {
            r.insert("ignoreTrees".to_string(), strings(&rules.ignore_trees));
        }
        if !rules.ignore_paths.is_empty() {
            r.insert("ignorePaths".to_string(), strings(&rules.ignore_paths));
        }
        if rules.create_ignore_dir_paths != defaults.create_ignore_dir_paths {
            r.insert(
                "createIgnoreDirPaths".to_string(),
                Value::Bool(rules.create_ignore_dir_paths),
            );
        }
        if !rules.ignore_properties.is_empty() {
            let props = rules
                .ignore_properties
                .iter()
                .map(|(class, list)| (class.clone(), strings(list)))
                .collect();
            r.insert("ignoreProperties".to_string(), Value::Object(props));
        }
        if !rules.ignore_classes.is_empty() {
            r.insert("ignoreClasses".to_string(), strings(&rules.ignore_classes));
        }
        for (key, value, default) in [
            (
                "syncCurrentCamera",
                rules.sync_current_camera,
                defaults.sync_current_camera,
            ),
            (
                "syncUnscriptable",
                rules.sync_unscriptable,
                defaults.sync_unscriptable,
            ),
            (
                "ignoreReferents",
                rules.ignore_referents,
                defaults.ignore_referents,
            ),
            (
                "warnDuplicateNames",
                rules.warn_duplicate_names,
                defaults.warn_duplicate_names,
            ),
        ] {
            if value != default {
                r.insert(key.to_string(), Value::Bool(value));
            }
        }
        if let Some(ignore) = rules.ignore_hidden_services {
            r.insert("ignoreHiddenServices".to_string(), Value::Bool(ignore));
        }
        map.insert("syncbackRules".to_string(), Value::Object(r));
    }
    Value::Object(map)
}

fn normalize_uint(value: Value) -> Value {
    match value {
        Value::UInt(u) => match i64::try_from(u) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(u),
        },
        other => other,
    }
}

/// Serializes one project node (directives then children, all sorted by the writer).
pub fn node_to_value(node: &ProjectNode) -> Value {
    let mut map = BTreeMap::new();
    if let Some(class) = &node.class_name {
        map.insert("$className".to_string(), Value::from(class.as_str()));
    }
    if let Some(path) = &node.path {
        let text = path.path().to_string_lossy().replace('\\', "/");
        let value = match path {
            NodePath::Required(_) => Value::String(text),
            NodePath::Optional(_) => Value::object([("optional", Value::String(text))]),
        };
        map.insert("$path".to_string(), value);
    }
    if !node.properties.is_empty() {
        map.insert(
            "$properties".to_string(),
            Value::Object(node.properties.clone()),
        );
    }
    if !node.attributes.is_empty() {
        map.insert(
            "$attributes".to_string(),
            Value::Object(node.attributes.clone()),
        );
    }
    if let Some(ignore) = node.ignore_unknown_instances {
        map.insert("$ignoreUnknownInstances".to_string(), Value::Bool(ignore));
    }
    if let Some(id) = &node.id {
        map.insert("$id".to_string(), Value::from(id.as_str()));
    }
    for (name, child) in &node.children {
        map.insert(name.clone(), node_to_value(child));
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_project_is_named_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let missing_file = dir.path().join("nope.project.json5");
        let err = locate(&missing_file).unwrap_err().to_string();
        assert!(
            err.ends_with("nope.project.json5: no such project file or folder"),
            "{err}"
        );
        let missing_folder = dir.path().join("gone");
        assert!(matches!(
            locate(&missing_folder),
            Err(ProjectError::FileMissing(_))
        ));
        // A folder without a default project says what it looked for.
        let err = locate(dir.path()).unwrap_err().to_string();
        assert!(err.contains("expected default.project.json5"), "{err}");
    }

    fn parse_str(text: &str) -> Result<Project, ProjectError> {
        parse(text, Path::new("/tmp/game/default.project.json5"))
    }

    #[test]
    fn parses_every_field() {
        let project = parse_str(
            r#"{
  $schema: "x",
  name: "Game",
  servePort: 1234,
  serveAddress: "0.0.0.0",
  servePlaceIds: [1, 2],
  blockedPlaceIds: [3],
  placeId: 4,
  gameId: 5,
  globIgnorePaths: ["**/*.spec.luau"],
  syncRules: [{ pattern: "*.foo", use: "text", suffix: ".foo" }],
  syncbackRules: { ignoreTrees: ["Workspace/X"], syncUnscriptable: false },
  tree: {
    $className: "DataModel",
    ReplicatedStorage: { $path: "src/shared", $ignoreUnknownInstances: false },
    Opt: { $path: { optional: "missing" } },
    Workspace: { $properties: { Gravity: 100 }, $attributes: { A: 1 }, $id: "ws" },
  },
}"#,
        )
        .unwrap();
        assert_eq!(project.name, "Game");
        assert_eq!(project.serve_port, Some(1234));
        assert_eq!(project.serve_address, Some("0.0.0.0".parse().unwrap()));
        assert_eq!(project.serve_place_ids, Some([1, 2].into()));
        assert_eq!(project.blocked_place_ids, Some([3].into()));
        assert_eq!(project.place_id, Some(4));
        assert_eq!(project.game_id, Some(5));
        assert_eq!(project.sync_rules.len(), 1);
        assert!(!project.syncback_rules.sync_unscriptable);
        assert_eq!(project.syncback_rules.ignore_trees, vec!["Workspace/X"]);
        let tree = &project.tree;
        assert_eq!(tree.class_name.as_deref(), Some("DataModel"));
        let rs = &tree.children["ReplicatedStorage"];
        assert_eq!(rs.path, Some(NodePath::Required("src/shared".into())));
        assert_eq!(rs.ignore_unknown_instances, Some(false));
        assert!(tree.children["Opt"].path.as_ref().unwrap().is_optional());
        let ws = &tree.children["Workspace"];
        assert_eq!(ws.properties["Gravity"], Value::Int(100));
        assert_eq!(ws.id.as_deref(), Some("ws"));
    }

    #[test]
    fn unknown_key_names_line() {
        let err = parse_str("{\n  tree: { $className: \"Folder\" },\n  bogus: 1,\n}").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("default.project.json5:3"), "{text}");
        assert!(text.contains("unknown key `bogus`"), "{text}");
    }

    #[test]
    fn unknown_directive_is_error() {
        let err = parse_str("{ tree: { $classname: \"Folder\" } }").unwrap_err();
        assert!(err.to_string().contains("unknown directive `$classname`"));
    }

    #[test]
    fn syntax_error_has_line() {
        let err = parse_str("{\n tree: {\n  $className: \"Folder\",,\n }\n}").unwrap_err();
        assert!(err.to_string().contains(":3"), "{err}");
    }

    #[test]
    fn missing_tree_is_error() {
        let err = parse_str("{ name: \"x\" }").unwrap_err();
        assert!(err.to_string().contains("missing required key `tree`"));
    }

    #[test]
    fn wrong_type_is_error_with_path() {
        let err = parse_str("{\n tree: {\n  Foo: { $path: 5 },\n },\n}").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("tree.Foo.$path"), "{text}");
        assert!(text.contains(":3"), "{text}");
    }

    #[test]
    fn fallback_names() {
        assert_eq!(
            fallback_name(Path::new("/a/b/thing.project.json5")),
            "thing"
        );
        assert_eq!(fallback_name(Path::new("/a/b/thing.project.json")), "thing");
    }
}
