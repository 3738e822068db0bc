//! `.json5` / `.json` data files: a ModuleScript returning the data as a Luau table.

use std::path::Path;

use super::{data_module, SnapshotError};
use crate::json_value::{self, Value};
use crate::snapshot::InstanceSnapshot;
use crate::vfs::Vfs;

/// Builds the ModuleScript for a data file.
pub fn snapshot(vfs: &Vfs, path: &Path, name: &str) -> Result<InstanceSnapshot, SnapshotError> {
    let text = vfs
        .read_to_string(path)
        .map_err(|e| SnapshotError::io(path, e))?;
    let value = json_value::parse(&text).map_err(|e| {
        let at = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        SnapshotError::new(path, format!("{at}{}", e.message))
    })?;
    Ok(data_module::module_snapshot(
        path,
        name,
        &to_luau(&value, 0),
    ))
}

/// Renders a value as a Luau expression (fs-format.md §2.10); object keys come out in
/// byte order.
pub fn to_luau(value: &Value, depth: usize) -> String {
    match value {
        Value::Null => "nil".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => data_module::number(*f),
        Value::Float32(f) => data_module::number(*f as f64),
        Value::String(s) => data_module::string(s),
        Value::Array(items) => data_module::array(items.iter().map(|item| to_luau(item, depth))),
        Value::Object(map) => data_module::table(
            map.iter()
                .map(|(key, item)| (data_module::string_key(key), to_luau(item, depth + 1))),
            depth,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_reference_example() {
        let value =
            json_value::parse(r#"{ "int": 1234, "true": true, "1invalidident": "nice" }"#).unwrap();
        assert_eq!(
            format!("return {}", to_luau(&value, 0)),
            "return {\n\t[\"1invalidident\"] = \"nice\",\n\tint = 1234,\n\t[\"true\"] = true,\n}"
        );
    }

    #[test]
    fn renders_arrays_and_specials() {
        let value = json_value::parse("[1.5, null, NaN, -Infinity, \"a\\\"b\"]").unwrap();
        assert_eq!(
            to_luau(&value, 0),
            "{1.5, nil, 0/0, -math.huge, \"a\\\"b\"}"
        );
    }
}
