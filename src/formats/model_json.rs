//! `.model.json5` / `.model.json` files: one instance (with optional children) described
//! in JSON5: `className`, `name`, `properties`, `attributes`, `children`.

use std::collections::BTreeMap;
use std::path::Path;

use super::{meta, SnapshotError, SnapshotResult};
use crate::json_value::{self, Value};
use crate::snapshot::{FileKind, InstanceSnapshot, InstigatingSource};
use crate::vfs::Vfs;

/// Builds the instance described by a model file; an empty file makes nothing.
pub fn snapshot(vfs: &Vfs, path: &Path, name: &str) -> SnapshotResult {
    let text = vfs
        .read_to_string(path)
        .map_err(|e| SnapshotError::io(path, e))?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value = json_value::parse(&text).map_err(|e| {
        let at = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        SnapshotError::new(path, format!("{at}{}", e.message))
    })?;
    let mut snapshot = instance(path, &value, Some(name), &mut Vec::new())?;
    snapshot.metadata.instigating_source = Some(InstigatingSource::Path(path.to_path_buf()));
    snapshot.metadata.relevant_paths.push(path.to_path_buf());
    snapshot.metadata.kind = Some(FileKind::JsonModel);
    snapshot.metadata.fs_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    Ok(Some(snapshot))
}

/// One model object. `file_name` is the name derived from the file (top level only);
/// a top-level `name` overrides it. Children without a name are named after their class.
fn instance(
    path: &Path,
    value: &Value,
    file_name: Option<&str>,
    at: &mut Vec<String>,
) -> Result<InstanceSnapshot, SnapshotError> {
    let where_ = || {
        if at.is_empty() {
            String::new()
        } else {
            format!("{}: ", at.join("."))
        }
    };
    let map = value.as_object().ok_or_else(|| {
        SnapshotError::new(
            path,
            format!("{}expected an object, got {}", where_(), value.kind()),
        )
    })?;
    let get = |a: &str, b: &str| map.get(a).or_else(|| map.get(b));
    let string = |key: &str, v: &Value| {
        v.as_str().map(str::to_string).ok_or_else(|| {
            SnapshotError::new(
                path,
                format!("{}`{key}` must be a string, got {}", where_(), v.kind()),
            )
        })
    };
    let class_name = match get("className", "ClassName") {
        Some(v) => string("className", v)?,
        None => {
            return Err(SnapshotError::new(
                path,
                format!("{}missing `className`", where_()),
            ))
        }
    };
    let explicit_name = get("name", "Name").map(|v| string("name", v)).transpose()?;
    let name = explicit_name
        .or_else(|| file_name.map(str::to_string))
        .unwrap_or_else(|| class_name.clone());
    for key in map.keys() {
        let known = [
            "$schema",
            "name",
            "Name",
            "className",
            "ClassName",
            "id",
            "properties",
            "Properties",
            "attributes",
            "children",
            "Children",
        ];
        if !known.contains(&key.as_str()) {
            log::warn!(
                "{}: {}unknown key `{key}` is ignored",
                path.display(),
                where_()
            );
        }
    }
    let mut snapshot = InstanceSnapshot::new(class_name, name);
    if let Some(id) = map.get("id") {
        snapshot.metadata.legacy_id = Some(string("id", id)?);
    }
    let empty = BTreeMap::new();
    let object = |key: &str, v: Option<&Value>| -> Result<BTreeMap<String, Value>, SnapshotError> {
        match v {
            None => Ok(empty.clone()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(other) => Err(SnapshotError::new(
                path,
                format!(
                    "{}`{key}` must be an object, got {}",
                    where_(),
                    other.kind()
                ),
            )),
        }
    };
    let properties = object("properties", get("properties", "Properties"))?;
    let attributes = object("attributes", map.get("attributes"))?;
    meta::apply_properties(path, &mut snapshot, &properties, &attributes)
        .map_err(|e| SnapshotError::new(path, format!("{}{}", where_(), e.message)))?;
    if let Some(children) = get("children", "Children") {
        let items = children.as_array().ok_or_else(|| {
            SnapshotError::new(path, format!("{}`children` must be an array", where_()))
        })?;
        for (index, child) in items.iter().enumerate() {
            at.push(format!("children[{index}]"));
            let child_snapshot = instance(path, child, None, at)?;
            at.pop();
            snapshot.children.push(child_snapshot);
        }
    }
    Ok(snapshot)
}

/// A model file's instance, ready to be written (the write direction).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModelFile {
    /// Written only when the file name cannot carry the real name (top level), or always
    /// for children (whose name nothing else records).
    pub name: Option<String>,
    pub class_name: String,
    pub properties: BTreeMap<String, Value>,
    pub attributes: BTreeMap<String, Value>,
    pub children: Vec<ModelFile>,
}

impl ModelFile {
    /// The canonical JSON5 value (sorted keys).
    pub fn to_value(&self) -> Value {
        let mut map = BTreeMap::new();
        map.insert(
            "className".to_string(),
            Value::from(self.class_name.as_str()),
        );
        if let Some(name) = &self.name {
            map.insert("name".to_string(), Value::from(name.as_str()));
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
        if !self.children.is_empty() {
            let children = self.children.iter().map(ModelFile::to_value).collect();
            map.insert("children".to_string(), Value::Array(children));
        }
        Value::Object(map)
    }

    /// The model file at `path` (plain JSON when its name ends in `.json`).
    pub fn write(&self, path: impl Into<std::path::PathBuf>) -> super::FileWrite {
        let path = path.into();
        let text = crate::json_writer::to_file_text(&path, &self.to_value());
        super::FileWrite::new(path, text)
    }
}
