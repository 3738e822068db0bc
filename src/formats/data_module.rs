//! What the data-module formats (JSON, TOML, YAML; fs-format.md §2.10) share: the
//! ModuleScript each file becomes, and the Luau literals its `return <expr>` is spelled
//! with, so the three formats agree on numbers, strings, keys and tables.

use std::fmt::Write;
use std::path::Path;

use rbx_dom_weak::types::Variant;

use crate::snapshot::{FileKind, InstanceSnapshot, InstigatingSource};

const LUAU_KEYWORDS: [&str; 21] = [
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "if", "in", "local",
    "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
];

/// The ModuleScript of a data file whose value renders as `expression`.
pub fn module_snapshot(path: &Path, name: &str, expression: &str) -> InstanceSnapshot {
    let source = format!("return {expression}");
    let mut snapshot = InstanceSnapshot::new("ModuleScript", name)
        .with_property("Source", Variant::String(source));
    snapshot.metadata.instigating_source = Some(InstigatingSource::Path(path.to_path_buf()));
    snapshot.metadata.relevant_paths.push(path.to_path_buf());
    snapshot.metadata.kind = Some(FileKind::DataModule);
    snapshot
}

/// A number as Luau reads it back: the shortest f64 display, `0/0` for NaN,
/// `math.huge`/`-math.huge` for the infinities.
pub fn number(f: f64) -> String {
    if f.is_nan() {
        "0/0".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "math.huge" } else { "-math.huge" }.to_string()
    } else {
        format!("{f}")
    }
}

/// A double-quoted Luau string.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Three digits: `\1` before a digit would read as another character.
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\{:03}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A table key naming a string: bare when it is an identifier and not a keyword.
pub fn string_key(key: &str) -> String {
    if is_identifier(key) {
        key.to_string()
    } else {
        format!("[{}]", string(key))
    }
}

/// An array: `{a, b, c}` on one line.
pub fn array(items: impl IntoIterator<Item = String>) -> String {
    format!("{{{}}}", items.into_iter().collect::<Vec<_>>().join(", "))
}

/// A table of `key = value,` lines, each indented one tab deeper than `depth`. Keys
/// come already spelled (see [`string_key`]).
pub fn table(entries: impl IntoIterator<Item = (String, String)>, depth: usize) -> String {
    let mut out = String::from("{\n");
    let indent = "\t".repeat(depth + 1);
    for (key, value) in entries {
        let _ = writeln!(out, "{indent}{key} = {value},");
    }
    out.push_str(&"\t".repeat(depth));
    out.push('}');
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

/// The generated `Source` of the data file `/p/<file_name>` holding `text`, read by a
/// format's `snapshot` (for the formats' tests).
#[cfg(test)]
pub(super) fn source_from(
    file_name: &str,
    text: &str,
    snapshot: fn(&crate::vfs::Vfs, &Path, &str) -> Result<InstanceSnapshot, super::SnapshotError>,
) -> Result<String, super::SnapshotError> {
    let vfs = crate::vfs::Vfs::new_memory();
    let path = Path::new("/p").join(file_name);
    vfs.insert_file(&path, text);
    let snapshot = snapshot(&vfs, &path, "Data")?;
    match snapshot.properties.get(&"Source".into()) {
        Some(Variant::String(source)) => Ok(source.clone()),
        other => panic!("no Source: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bare_only_when_luau_allows() {
        assert_eq!(string_key("walkSpeed"), "walkSpeed");
        assert_eq!(string_key("_x1"), "_x1");
        assert_eq!(string_key("end"), "[\"end\"]");
        assert_eq!(string_key("1st"), "[\"1st\"]");
        assert_eq!(string_key("max-players"), "[\"max-players\"]");
        assert_eq!(string_key(""), "[\"\"]");
    }

    #[test]
    fn strings_and_numbers_read_back_as_written() {
        assert_eq!(string("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\001\"");
        // A control character before a digit keeps its own code: `\0019`, not `\19`.
        assert_eq!(string("\u{0}9\u{1}2"), "\"\\0009\\0012\"");
        assert_eq!(number(1234.0), "1234");
        assert_eq!(number(-0.5), "-0.5");
        assert_eq!(number(f64::NAN), "0/0");
        assert_eq!(number(f64::NEG_INFINITY), "-math.huge");
    }
}
