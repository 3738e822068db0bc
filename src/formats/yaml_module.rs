//! `.yml` / `.yaml` data files: a ModuleScript returning the document as a Luau table.
//! Mappings keep the document's key order; keys may be strings, numbers or booleans.
//! One document per file, and integers only up to 2^53 (beyond that a Luau number could
//! not hold them exactly), as Rojo does.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use super::{data_module, SnapshotError};
use crate::snapshot::InstanceSnapshot;
use crate::vfs::Vfs;

/// The largest integer a Luau number (an f64) holds exactly, with all below it.
const LARGEST_EXACT_INTEGER: i64 = 1 << 53;

/// Builds the ModuleScript for a YAML file.
pub fn snapshot(vfs: &Vfs, path: &Path, name: &str) -> Result<InstanceSnapshot, SnapshotError> {
    let text = vfs
        .read_to_string(path)
        .map_err(|e| SnapshotError::io(path, e))?;
    // A byte-order mark is not part of the first key (the other data formats skip it too).
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut documents = YamlLoader::load_from_str(text).map_err(|err| {
        SnapshotError::new(
            path,
            format!("line {}: {}", err.marker().line(), err.info()),
        )
    })?;
    let document = match documents.len() {
        1 => documents.remove(0),
        0 => return Err(SnapshotError::new(path, "the file holds no YAML document")),
        n => {
            return Err(SnapshotError::new(
                path,
                format!("the file holds {n} YAML documents; a data module holds exactly one"),
            ))
        }
    };
    let expression = to_luau(&document, 0).map_err(|message| SnapshotError::new(path, message))?;
    Ok(data_module::module_snapshot(path, name, &expression))
}

/// Renders a YAML value as a Luau expression, or says why it cannot be one.
fn to_luau(value: &Yaml, depth: usize) -> Result<String, String> {
    Ok(match value {
        Yaml::Null => "nil".to_string(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Integer(i) => integer(*i)?,
        Yaml::Real(text) => real(text)?,
        Yaml::String(s) => data_module::string(s),
        Yaml::Array(items) => data_module::array(
            items
                .iter()
                .map(|item| to_luau(item, depth))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Yaml::Hash(map) => data_module::table(
            map.iter()
                .map(|(key, item)| Ok((key_to_luau(key)?, to_luau(item, depth + 1)?)))
                .collect::<Result<Vec<_>, String>>()?,
            depth,
        ),
        Yaml::Alias(_) => return Err("YAML aliases are not supported".to_string()),
        Yaml::BadValue => return Err("the YAML holds a value that cannot be read".to_string()),
    })
}

fn key_to_luau(key: &Yaml) -> Result<String, String> {
    match key {
        Yaml::String(s) => Ok(data_module::string_key(s)),
        Yaml::Integer(i) => Ok(format!("[{}]", integer(*i)?)),
        Yaml::Real(text) => Ok(format!("[{}]", real(text)?)),
        Yaml::Boolean(b) => Ok(format!("[{b}]")),
        other => Err(format!(
            "a mapping key must be a string, a number or a boolean, not {}",
            match other {
                Yaml::Array(_) => "a list",
                Yaml::Hash(_) => "a mapping",
                Yaml::Null => "null",
                _ => "an alias or a bad value",
            }
        )),
    }
}

fn integer(i: i64) -> Result<String, String> {
    if i.unsigned_abs() > LARGEST_EXACT_INTEGER as u64 {
        return Err(format!(
            "the integer {i} cannot be held exactly by a Luau number (at most 2^53)"
        ));
    }
    Ok(data_module::number(i as f64))
}

fn real(text: &str) -> Result<String, String> {
    Yaml::Real(text.to_string())
        .as_f64()
        .map(data_module::number)
        .ok_or_else(|| format!("{text} is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source_of(text: &str) -> Result<String, SnapshotError> {
        data_module::source_from("Data.yaml", text, snapshot)
    }

    #[test]
    fn renders_in_document_order_with_any_scalar_key() {
        let source = source_of(
            "---\nname: Arena\nmax-players: 12\nratio: 0.5\nlimit: .inf\nnothing: ~\n\
             teams: [Red, Blue]\n1: one\ntrue: yes-string\nnested:\n  - key: value\n",
        )
        .unwrap();
        assert_eq!(
            source,
            "return {\n\tname = \"Arena\",\n\t[\"max-players\"] = 12,\n\tratio = 0.5,\n\
             \tlimit = math.huge,\n\tnothing = nil,\n\tteams = {\"Red\", \"Blue\"},\n\
             \t[1] = \"one\",\n\t[true] = \"yes-string\",\n\
             \tnested = {{\n\t\tkey = \"value\",\n\t}},\n}"
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_key() {
        let with_bom = source_of("\u{feff}a: 1\n").unwrap();
        assert!(with_bom.contains("a = 1"), "{with_bom}");
        assert!(!with_bom.contains('\u{feff}'), "{with_bom}");
    }

    #[test]
    fn integers_beyond_two_to_the_53_are_refused() {
        assert!(source_of("value: 9007199254740992\n").is_ok());
        let err = source_of("value: 9007199254740993\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("9007199254740993"), "{err}");
        assert!(source_of("value: -9007199254740993\n").is_err());
    }

    #[test]
    fn one_document_only_and_errors_name_the_line() {
        let err = source_of("---\na: 1\n---\nb: 2\n").unwrap_err().to_string();
        assert!(err.contains("2 YAML documents"), "{err}");
        let err = source_of("").unwrap_err().to_string();
        assert!(err.contains("no YAML document"), "{err}");
        let err = source_of("a: 1\nb: [1, 2\n").unwrap_err().to_string();
        assert!(err.starts_with("/p/Data.yaml: line "), "{err}");
    }
}
