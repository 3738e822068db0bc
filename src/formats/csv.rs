//! `.csv` files: a LocalizationTable. Its `Contents` is compact JSON, the format Roblox
//! itself parses (DESIGN.md decision 3), never JSON5.

use std::collections::BTreeMap;
use std::path::Path;

use rbx_dom_weak::types::Variant;
use serde::{Deserialize, Serialize};

use super::SnapshotError;
use crate::snapshot::{FileKind, InstanceSnapshot, InstigatingSource};
use crate::vfs::Vfs;

/// One localization entry, in the field order Roblox writes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LocalizationEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, alias = "examples", skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default)]
    pub values: BTreeMap<String, String>,
}

/// Builds the LocalizationTable for a `.csv` file.
pub fn snapshot(vfs: &Vfs, path: &Path, name: &str) -> Result<InstanceSnapshot, SnapshotError> {
    let text = vfs
        .read_to_string(path)
        .map_err(|e| SnapshotError::io(path, e))?;
    let entries = parse_csv(&text).map_err(|e| SnapshotError::new(path, e))?;
    if let Some(line) = unterminated_quote_line(&text) {
        // Read as Rojo does (the field runs to the end of the file), but say so: the rows
        // after it are swallowed into one cell.
        log::warn!(
            "{}: the quoted cell opened on line {line} is never closed, so it runs to the end of the file",
            path.display()
        );
    }
    let contents = serde_json::to_string(&entries).map_err(|e| SnapshotError::new(path, e))?;
    let mut snapshot = InstanceSnapshot::new("LocalizationTable", name)
        .with_property("Contents", Variant::String(contents));
    snapshot.metadata.instigating_source = Some(InstigatingSource::Path(path.to_path_buf()));
    snapshot.metadata.relevant_paths.push(path.to_path_buf());
    snapshot.metadata.kind = Some(FileKind::Csv);
    Ok(snapshot)
}

/// Parses localization CSV (fs-format.md §2.9): the header names Key, Source, Context,
/// Example, and locale columns; empty cells are skipped; rows with neither Key nor Source
/// are dropped.
pub fn parse_csv(text: &str) -> Result<Vec<LocalizationEntry>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(header) => header.map_err(|e| format!("invalid CSV: {e}"))?,
        None => return Ok(Vec::new()),
    };
    let columns: Vec<String> = header.iter().map(str::to_string).collect();
    let mut entries = Vec::new();
    for record in records {
        let record = record.map_err(|e| format!("invalid CSV: {e}"))?;
        let mut entry = LocalizationEntry::default();
        for (column, cell) in columns.iter().zip(record.iter()) {
            if column.is_empty() || cell.is_empty() {
                continue;
            }
            let cell = cell.to_string();
            match column.as_str() {
                "Key" => entry.key = Some(cell),
                "Source" => entry.source = Some(cell),
                "Context" => entry.context = Some(cell),
                "Example" => entry.example = Some(cell),
                locale => {
                    entry.values.insert(locale.to_string(), cell);
                }
            }
        }
        if entry.key.is_some() || entry.source.is_some() {
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// The line on which a quoted cell opens that the text never closes. A quote opens a
/// quoted cell only at the start of a cell, and `""` inside one is an escaped quote, as the
/// `csv` crate reads them.
fn unterminated_quote_line(text: &str) -> Option<usize> {
    let mut line = 1;
    let mut opened_on = None;
    let mut at_cell_start = true;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if opened_on.is_some() {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                } else {
                    opened_on = None;
                }
            }
        } else if c == '"' && at_cell_start {
            opened_on = Some(line);
        }
        at_cell_start = opened_on.is_none() && matches!(c, ',' | '\n' | '\r');
        if c == '\n' {
            line += 1;
        }
    }
    opened_on
}

/// Turns a LocalizationTable's `Contents` into CSV text, but only when reading that CSV
/// back gives `Contents` byte for byte (otherwise the caller keeps `Contents` as a
/// property in a model file, so nothing is lost). Header: Key, Source, Context, Example,
/// then every locale in byte order; rows in their original order.
pub fn write_contents(contents: &str) -> Option<String> {
    let entries: Vec<LocalizationEntry> = serde_json::from_str(contents).ok()?;
    let mut locales: Vec<&str> = entries
        .iter()
        .flat_map(|e| e.values.keys().map(String::as_str))
        .collect();
    locales.sort_unstable();
    locales.dedup();
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let mut header = vec!["Key", "Source", "Context", "Example"];
    header.extend(locales.iter().copied());
    writer.write_record(&header).ok()?;
    for entry in &entries {
        let mut row: Vec<&str> = vec![
            entry.key.as_deref().unwrap_or(""),
            entry.source.as_deref().unwrap_or(""),
            entry.context.as_deref().unwrap_or(""),
            entry.example.as_deref().unwrap_or(""),
        ];
        for locale in &locales {
            row.push(entry.values.get(*locale).map(String::as_str).unwrap_or(""));
        }
        writer.write_record(&row).ok()?;
    }
    let bytes = writer.into_inner().ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let back = serde_json::to_string(&parse_csv(&text).ok()?).ok()?;
    (back == contents).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_into_compact_json() {
        let text =
            "Key,Source,Context,Example,es\nAck,Ack!,,An exclamation of despair,¡Ay!\n,,,,\n";
        let entries = parse_csv(text).unwrap();
        assert_eq!(
            serde_json::to_string(&entries).unwrap(),
            r#"[{"key":"Ack","example":"An exclamation of despair","source":"Ack!","values":{"es":"¡Ay!"}}]"#
        );
    }

    #[test]
    fn finds_a_quoted_cell_that_is_never_closed() {
        assert_eq!(unterminated_quote_line("Key,Source\na,\"b\nc,d\n"), Some(2));
        assert_eq!(
            unterminated_quote_line("Key,Source\na,\"b \"\"x\"\"\"\n\"c\nd"),
            Some(3)
        );
        // Closed quotes, escaped quotes, and quotes inside an unquoted cell are fine.
        assert_eq!(
            unterminated_quote_line("Key,Source\na,\"b,\n\"\"c\"\"\"\nx,y\"z\n"),
            None
        );
        assert_eq!(unterminated_quote_line("Key,Source\r\na,\"b\"\r\n"), None);
    }

    #[test]
    fn numeric_cells_stay_strings_and_empty_header_is_skipped() {
        let entries = parse_csv(",Key,Source,fr\nx,1,2,3\n").unwrap();
        assert_eq!(entries[0].key.as_deref(), Some("1"));
        assert_eq!(entries[0].values["fr"], "3");
    }
}
