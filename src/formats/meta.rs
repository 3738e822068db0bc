//! Meta files (`X.meta.json5`, `init.meta.json5`, and their `.json` forms): properties,
//! attributes, a class for directories, and the real name of a slugified instance.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use rbx_dom_weak::types::Variant;

use super::SnapshotError;
use crate::json_value::{self, Value};
use crate::properties;
use crate::snapshot::InstanceSnapshot;
use crate::vfs::Vfs;

/// A parsed meta file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetaFile {
    pub schema: Option<String>,
    pub class_name: Option<String>,
    pub properties: BTreeMap<String, Value>,
    pub attributes: BTreeMap<String, Value>,
    pub ignore_unknown_instances: Option<bool>,
    pub id: Option<String>,
    pub name: Option<String>,
}

/// Script suffixes removed from a file's stem to find its meta file.
const SCRIPT_SUFFIXES: [&str; 5] = [".server", ".client", ".plugin", ".local", ".legacy"];

/// The base name adjacent meta files use for a file (`Foo.server.luau` -> `Foo`).
pub fn meta_base(file_name: &str) -> &str {
    let stem = super::file_stem(file_name);
    for suffix in SCRIPT_SUFFIXES {
        if let Some(base) = stem.strip_suffix(suffix) {
            if !base.is_empty() {
                return base;
            }
        }
    }
    stem
}

/// The names a meta file for `base` may have, in the order the build looks for them
/// (`Foo.meta.json5`, then `Foo.meta.json`; `init` for a folder's own).
pub fn file_names(base: &str) -> [String; 2] {
    [format!("{base}.meta.json5"), format!("{base}.meta.json")]
}

/// Finds the meta file for `base` in `dir` (`.meta.json5` first, then `.meta.json`).
fn find_meta(
    vfs: &Vfs,
    dir: &Path,
    base: &str,
    siblings: Option<&HashSet<String>>,
) -> Result<Option<PathBuf>, SnapshotError> {
    for name in file_names(base) {
        let exists = match siblings {
            Some(siblings) => siblings.contains(&name),
            None => {
                let path = dir.join(&name);
                vfs.kind(&path)
                    .map_err(|e| SnapshotError::io(&path, e))?
                    .is_some()
            }
        };
        if exists {
            return Ok(Some(dir.join(name)));
        }
    }
    Ok(None)
}

/// Applies the adjacent meta file of `path` (if any) to `snapshot`.
pub fn apply_adjacent(
    vfs: &Vfs,
    path: &Path,
    siblings: Option<&HashSet<String>>,
    snapshot: &mut InstanceSnapshot,
) -> Result<(), SnapshotError> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new(""));
    if let Some(meta_path) = find_meta(vfs, dir, meta_base(file_name), siblings)? {
        let meta = read(vfs, &meta_path)?;
        snapshot.metadata.relevant_paths.push(meta_path.clone());
        meta.apply(&meta_path, snapshot, false)?;
    }
    Ok(())
}

/// Applies `dir/init.meta.json5` (or `.json`) to a directory's snapshot.
pub fn apply_init(
    vfs: &Vfs,
    dir: &Path,
    siblings: &HashSet<String>,
    snapshot: &mut InstanceSnapshot,
    allow_class_name: bool,
) -> Result<(), SnapshotError> {
    if let Some(meta_path) = find_meta(vfs, dir, "init", Some(siblings))? {
        let meta = read(vfs, &meta_path)?;
        snapshot.metadata.relevant_paths.push(meta_path.clone());
        meta.apply(&meta_path, snapshot, allow_class_name)?;
    }
    Ok(())
}

/// Reads and parses a meta file.
pub fn read(vfs: &Vfs, path: &Path) -> Result<MetaFile, SnapshotError> {
    let text = vfs
        .read_to_string(path)
        .map_err(|e| SnapshotError::io(path, e))?;
    parse(&text, path)
}

/// Parses meta file text.
pub fn parse(text: &str, path: &Path) -> Result<MetaFile, SnapshotError> {
    if text.trim().is_empty() {
        return Ok(MetaFile::default());
    }
    let value = json_value::parse(text).map_err(|e| {
        let at = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        SnapshotError::new(path, format!("{at}{}", e.message))
    })?;
    let map = value
        .as_object()
        .ok_or_else(|| SnapshotError::new(path, "a meta file must hold an object"))?;
    let mut meta = MetaFile::default();
    let string = |key: &str, v: &Value| {
        v.as_str().map(str::to_string).ok_or_else(|| {
            SnapshotError::new(path, format!("`{key}` must be a string, got {}", v.kind()))
        })
    };
    let object = |key: &str, v: &Value| {
        v.as_object().cloned().ok_or_else(|| {
            SnapshotError::new(path, format!("`{key}` must be an object, got {}", v.kind()))
        })
    };
    for (key, v) in map {
        match key.as_str() {
            "$schema" => meta.schema = Some(string(key, v)?),
            "className" => meta.class_name = Some(string(key, v)?),
            "properties" => meta.properties = object(key, v)?,
            "attributes" => meta.attributes = object(key, v)?,
            "ignoreUnknownInstances" => {
                meta.ignore_unknown_instances = Some(v.as_bool().ok_or_else(|| {
                    SnapshotError::new(path, "`ignoreUnknownInstances` must be true or false")
                })?)
            }
            "id" => meta.id = Some(string(key, v)?),
            "name" => meta.name = Some(string(key, v)?),
            other => log::warn!("{}: unknown key `{other}` is ignored", path.display()),
        }
    }
    Ok(meta)
}

impl MetaFile {
    /// Applies this meta file to a snapshot (fs-format.md §2.6 order). `className` is only
    /// legal on a directory that would otherwise be a Folder.
    pub fn apply(
        &self,
        path: &Path,
        snapshot: &mut InstanceSnapshot,
        allow_class_name: bool,
    ) -> Result<(), SnapshotError> {
        if let Some(ignore) = self.ignore_unknown_instances {
            snapshot.metadata.ignore_unknown_instances = ignore;
        }
        if let Some(class) = &self.class_name {
            if !allow_class_name {
                if allow_class_name_ignored(path) {
                    log::warn!(
                        "{}: `className` is only used in init.meta files",
                        path.display()
                    );
                } else {
                    return Err(SnapshotError::new(
                        path,
                        format!("`className` cannot change a {} (only a plain directory, which would be a Folder, can get a class)", snapshot.class_name),
                    ));
                }
            } else {
                snapshot.class_name = class.clone();
            }
        }
        apply_properties(path, snapshot, &self.properties, &self.attributes)?;
        if let Some(id) = &self.id {
            if snapshot.metadata.legacy_id.is_some() {
                return Err(SnapshotError::new(path, "the instance already has an id"));
            }
            snapshot.metadata.legacy_id = Some(id.clone());
        }
        if let Some(name) = &self.name {
            snapshot.name = name.clone();
        }
        Ok(())
    }
}

/// Adjacent meta files ignore `className` (only init meta files may set it).
fn allow_class_name_ignored(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    !name.starts_with("init.meta.")
}

/// The 1-based line where `key` is written as an object key (`Size:`, `"Size":`), when
/// the text has exactly one such place (the parsed values no longer know their lines).
fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let mut found = None;
    for (index, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find(key) {
            let before = rest[..at].trim_end_matches(['"', '\'']);
            let after = rest[at + key.len()..].trim_start_matches(['"', '\'']);
            let starts_key = before
                .chars()
                .last()
                .is_none_or(|c| c.is_whitespace() || c == '{' || c == ',');
            if starts_key && after.trim_start().starts_with(':') {
                if found.is_some() {
                    return None;
                }
                found = Some(index + 1);
            }
            rest = &rest[at + key.len()..];
        }
    }
    found
}

/// Decodes `properties` against the snapshot's class and `attributes` without one; a
/// non-empty `attributes` replaces any `Attributes` the properties set.
pub fn apply_properties(
    path: &Path,
    snapshot: &mut InstanceSnapshot,
    props: &BTreeMap<String, Value>,
    attributes: &BTreeMap<String, Value>,
) -> Result<(), SnapshotError> {
    for (name, value) in props {
        let variant =
            properties::decode_property(&snapshot.class_name, name, value).map_err(|e| {
                let at = std::fs::read_to_string(path)
                    .ok()
                    .and_then(|text| line_of_key(&text, name))
                    .map(|line| format!("line {line}: "))
                    .unwrap_or_default();
                SnapshotError::new(path, format!("{at}{e}"))
            })?;
        snapshot.properties.insert(name.as_str().into(), variant);
    }
    if !attributes.is_empty() {
        let decoded =
            properties::decode_attributes(attributes).map_err(|e| SnapshotError::new(path, e))?;
        snapshot
            .properties
            .insert("Attributes".into(), Variant::Attributes(decoded));
    }
    Ok(())
}

impl MetaFile {
    /// Whether writing this meta file would change nothing (no file is needed).
    pub fn is_empty(&self) -> bool {
        self.schema.is_none()
            && self.class_name.as_deref().is_none_or(|c| c == "Folder")
            && self.properties.is_empty()
            && self.attributes.is_empty()
            && self.ignore_unknown_instances.is_none()
            && self.id.is_none()
            && self.name.is_none()
    }

    /// The canonical JSON5 value of this meta file (sorted keys, fs-format.md §3.5).
    pub fn to_value(&self) -> Value {
        let mut map = BTreeMap::new();
        if let Some(schema) = &self.schema {
            map.insert("$schema".to_string(), Value::from(schema.as_str()));
        }
        if let Some(class) = self.class_name.as_deref().filter(|c| *c != "Folder") {
            map.insert("className".to_string(), Value::from(class));
        }
        if !self.properties.is_empty() {
            map.insert(
                "properties".to_string(),
                Value::Object(self.properties.clone()),
            );
        }
        if !self.attributes.is_empty() {
            map.insert(
                "attributes".to_string(),
                Value::Object(self.attributes.clone()),
            );
        }
        if let Some(ignore) = self.ignore_unknown_instances {
            map.insert("ignoreUnknownInstances".to_string(), Value::Bool(ignore));
        }
        if let Some(id) = &self.id {
            map.insert("id".to_string(), Value::from(id.as_str()));
        }
        if let Some(name) = &self.name {
            map.insert("name".to_string(), Value::from(name.as_str()));
        }
        Value::Object(map)
    }

    /// The meta file at `path` (plain JSON when its name ends in `.json`), or `None` when
    /// it would be empty.
    pub fn write(&self, path: impl Into<PathBuf>) -> Option<super::FileWrite> {
        if self.is_empty() {
            return None;
        }
        let path = path.into();
        let text = crate::json_writer::to_file_text(&path, &self.to_value());
        Some(super::FileWrite::new(path, text))
    }
}

/// Where the adjacent meta file of a file with base name `base` lives (`Foo.meta.json5`).
pub fn adjacent_file_name(base: &str) -> String {
    format!("{base}.meta.json5")
}

/// The meta file inside a directory (`init.meta.json5`).
pub const INIT_META: &str = "init.meta.json5";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_found_on_its_line_only_when_it_is_the_only_one() {
        let text = "{\n  className: \"Part\",\n  properties: {\n    Size: [1, 2],\n    \"Color\": 3\n  }\n}\n";
        assert_eq!(super::line_of_key(text, "Size"), Some(4));
        assert_eq!(super::line_of_key(text, "Color"), Some(5));
        assert_eq!(super::line_of_key(text, "Missing"), None);
        let twice = "{ properties: { Size: 1 }, children: [{ properties: { Size: 2 } }] }";
        assert_eq!(super::line_of_key(twice, "Size"), None);
        // A value that merely contains the name is not a key.
        assert_eq!(super::line_of_key("{ Name: \"Size\" }", "Size"), None);
    }

    #[test]
    fn meta_base_strips_script_suffixes() {
        assert_eq!(meta_base("Foo.server.luau"), "Foo");
        assert_eq!(meta_base("Foo~2.luau"), "Foo~2");
        assert_eq!(meta_base("Foo.txt"), "Foo");
        assert_eq!(meta_base("Foo.data.json5"), "Foo.data");
        assert_eq!(meta_base("Foo.local.luau"), "Foo");
    }
}
