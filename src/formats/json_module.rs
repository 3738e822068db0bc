//! `.json5` / `.json` data files: a ModuleScript returning the data as a Luau table.

use std::fmt::Write;
use std::path::Path;

use rbx_dom_weak::types::Variant;

use super::SnapshotError;
use crate::json_value::{self, Value};
use crate::snapshot::{FileKind, InstanceSnapshot, InstigatingSource};
use crate::vfs::Vfs;

const LUAU_KEYWORDS: [&str; 21] = [
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in", "local",
    "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// Builds the ModuleScript for a data file.
pub fn snapshot(vfs: &Vfs, path: &Path, name: &str) -> Result<InstanceSnapshot, SnapshotError> {
    let text = vfs
        .read_to_string(path)
        .map_err(|e| SnapshotError::io(path, e))?;
    let value = json_value::parse(&text).map_err(|e| {
        let at = e.line.map(|l| format!("line {l}: ")).unwrap_or_default();
        SnapshotError::new(path, format!("{at}{}", e.message))
    })?;
    let source = format!("return {}", to_luau(&value, 0));
    let mut snapshot = InstanceSnapshot::new("ModuleScript", name)
        .with_property("Source", Variant::String(source));
    snapshot.metadata.instigating_source = Some(InstigatingSource::Path(path.to_path_buf()));
    snapshot.metadata.relevant_paths.push(path.to_path_buf());
    snapshot.metadata.kind = Some(FileKind::JsonModule);
    Ok(snapshot)
}

/// Renders a value as a Luau expression (fs-format.md §2.10).
pub fn to_luau(value: &Value, depth: usize) -> String {
    match value {
        Value::Null => "nil".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => number(*f),
        Value::Float32(f) => number(*f as f64),
        Value::String(s) => quote(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(|item| to_luau(item, depth)).collect();
            format!("{{{}}}", parts.join(", "))
        }
        Value::Object(map) => {
            let mut out = String::from("{\n");
            let indent = "\t".repeat(depth + 1);
            for (key, item) in map {
                let key = if is_identifier(key) {
                    key.clone()
                } else {
                    format!("[{}]", quote(key))
                };
                let _ = writeln!(out, "{indent}{key} = {},", to_luau(item, depth + 1));
            }
            out.push_str(&"\t".repeat(depth));
            out.push('}');
            out
        }
    }
}

fn number(f: f64) -> String {
    if f.is_nan() {
        "0/0".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "math.huge" } else { "-math.huge" }.to_string()
    } else {
        format!("{f}")
    }
}

fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\{}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !LUAU_KEYWORDS.contains(&key)
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
