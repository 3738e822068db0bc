//! `.toml` data files: a ModuleScript returning the document as a Luau table. Tables come
//! out with their keys in byte order, as JSON objects do; datetimes become strings.

use std::collections::BTreeMap;
use std::path::Path;

use super::{data_module, json_module, SnapshotError};
use crate::json_value::Value;
use crate::snapshot::InstanceSnapshot;
use crate::vfs::Vfs;

/// Builds the ModuleScript for a TOML file.
pub fn snapshot(vfs: &Vfs, path: &Path, name: &str) -> Result<InstanceSnapshot, SnapshotError> {
    let text = vfs
        .read_to_string(path)
        .map_err(|e| SnapshotError::io(path, e))?;
    let table = text.parse::<toml::Table>().map_err(|err| {
        let at = err
            .span()
            .map(|span| format!("line {}: ", line_of(&text, span.start)))
            .unwrap_or_default();
        SnapshotError::new(path, format!("{at}{}", err.message()))
    })?;
    let value = Value::Object(object(table));
    Ok(data_module::module_snapshot(
        path,
        name,
        &json_module::to_luau(&value, 0),
    ))
}

fn object(table: toml::Table) -> BTreeMap<String, Value> {
    table
        .into_iter()
        .map(|(key, value)| (key, convert(value)))
        .collect()
}

fn convert(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::Int(i),
        toml::Value::Float(f) => Value::Float(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(datetime) => Value::String(datetime.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(convert).collect()),
        toml::Value::Table(table) => Value::Object(object(table)),
    }
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source_of(text: &str) -> Result<String, SnapshotError> {
        data_module::source_from("Config.toml", text, snapshot)
    }

    #[test]
    fn renders_tables_arrays_and_datetimes() {
        let source = source_of(
            "title = \"Arena\"\nmax-players = 12\ngravity = 196.2\n\
             released = 2024-05-01T10:00:00Z\n[spawn]\noffsets = [0, 2.5, -1]\nenabled = true\n",
        )
        .unwrap();
        assert_eq!(
            source,
            "return {\n\tgravity = 196.2,\n\t[\"max-players\"] = 12,\n\
             \treleased = \"2024-05-01T10:00:00Z\",\n\tspawn = {\n\t\tenabled = true,\n\
             \t\toffsets = {0, 2.5, -1},\n\t},\n\ttitle = \"Arena\",\n}"
        );
    }

    #[test]
    fn a_syntax_error_names_the_file_and_line() {
        let err = source_of("a = 1\nb = = 2\n").unwrap_err().to_string();
        assert!(err.starts_with("/p/Config.toml: line 2: "), "{err}");
    }
}
