//! The JSON5 document model every project, meta and model file goes through.
//!
//! Parsing uses the `json5` crate; we keep our own value type (instead of
//! `serde_json::Value`) because we need three things it cannot give us: integers kept
//! exact (Int64 round trips), NaN/Infinity kept as numbers, and floats that remember
//! whether they are 32- or 64-bit so the canonical writer prints each in the shortest
//! form that round-trips *for its own width* (DESIGN.md decision 1).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// A parsed or to-be-written JSON5 value. Objects keep their keys sorted (byte order),
/// which is also the canonical output order.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// An integer literal, kept exact.
    Int(i64),
    /// An integer literal too large for `i64`.
    UInt(u64),
    /// A 64-bit float (also what every non-integer literal parses to).
    Float(f64),
    /// A 32-bit float; only produced by encoders, printed in f32 shortest form.
    Float32(f32),
    String(String),
    Array(Vec<Value>),
    Object(BTreeMap<String, Value>),
}

/// Error from parsing JSON5 text, with a 1-based line and column when known.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ParseError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

/// How deeply arrays and objects may nest. The parser recurses once per level, so a
/// hostile or broken file (`[[[[…`) must not reach its stack's end; real project, meta
/// and model files stay far below this.
pub const MAX_NESTING: usize = 1000;

/// Parses JSON5 text into a [`Value`].
pub fn parse(text: &str) -> Result<Value, ParseError> {
    if let Some(line) = line_beyond_nesting(text, MAX_NESTING) {
        return Err(ParseError {
            message: format!("arrays and objects nest more than {MAX_NESTING} levels deep"),
            line: Some(line),
            column: None,
        });
    }
    json5::from_str::<Value>(text).map_err(|err| {
        let position = err.position();
        ParseError {
            message: strip_position_suffix(&err.to_string()),
            line: position.map(|p| p.line + 1),
            column: position.map(|p| p.column + 1),
        }
    })
}

/// The line where brackets outside strings and comments first nest deeper than `max`.
fn line_beyond_nesting(text: &str, max: usize) -> Option<usize> {
    // Every file is parsed through here: most are far too short to hold `max` brackets.
    if text.len() <= max {
        return None;
    }
    let bytes = text.as_bytes();
    let (mut depth, mut line, mut i) = (0usize, 1usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => line += 1,
            quote @ (b'"' | b'\'') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    if bytes[i] == b'\\' {
                        i += 1;
                    }
                    if bytes.get(i) == Some(&b'\n') {
                        line += 1;
                    }
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    if bytes[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Some(line);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// `json5` appends " at line X column Y" to its messages; we report position separately.
/// Its "EOF parsing object" points at where the object opens: say so.
fn strip_position_suffix(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(index) => &message[..index],
        None => message,
    };
    match message.strip_prefix("EOF parsing ") {
        Some(what) => format!("the file ends before the {what} that opens here is closed"),
        None => message.to_string(),
    }
}

impl Value {
    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Float32(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// Any number as f64 (integers may lose precision beyond 2^53).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::UInt(u) => Some(*u as f64),
            Value::Float(f) => Some(*f),
            Value::Float32(f) => Some(*f as f64),
            _ => None,
        }
    }

    /// An exact integer: integer literals, or floats with no fractional part in range.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::UInt(u) => i64::try_from(*u).ok(),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.3e18 => Some(*f as i64),
            Value::Float32(f) if f.fract() == 0.0 && f.abs() < 9.3e18 => Some(*f as i64),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::UInt(u) => Some(*u),
            Value::Int(i) => u64::try_from(*i).ok(),
            Value::Float(f) if f.fract() == 0.0 && *f >= 0.0 && *f < 1.8e19 => Some(*f as u64),
            _ => None,
        }
    }

    pub fn is_number(&self) -> bool {
        matches!(
            self,
            Value::Int(_) | Value::UInt(_) | Value::Float(_) | Value::Float32(_)
        )
    }

    /// Builds an object from key/value pairs.
    pub fn object<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// Encodes the value model for the wire (msgpack or JSON): Float32 as f32, Float as f64,
/// Int/UInt as integers, Object as a map. serve uses it for property values.
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Value::Null => serializer.serialize_unit(),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Int(i) => serializer.serialize_i64(*i),
            Value::UInt(u) => serializer.serialize_u64(*u),
            Value::Float(x) => serializer.serialize_f64(*x),
            Value::Float32(x) => serializer.serialize_f32(*x),
            Value::String(s) => serializer.serialize_str(s),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Object(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (key, value) in map {
                    out.serialize_entry(key, value)?;
                }
                out.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON5 value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::UInt(v),
        })
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format!("duplicate key \"{key}\"")));
            }
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_file_says_which_bracket_is_left_open() {
        let err = parse("{\n  a: 1,\n  b: [\n    1,\n").unwrap_err();
        assert!(
            err.message.starts_with("the file ends before the"),
            "{}",
            err.message
        );
        assert!(err.line.is_some());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        // At the limit it parses, on a thread with the default 2 MiB stack.
        let at_limit = format!("{}{}", "[".repeat(MAX_NESTING), "]".repeat(MAX_NESTING));
        let parsed = std::thread::spawn(move || parse(&at_limit).is_ok())
            .join()
            .unwrap();
        assert!(parsed);
        let deep = format!("{{\n a: {}", "[".repeat(200_000));
        let err = parse(&deep).unwrap_err();
        assert!(err.message.contains("nest more than"), "{}", err.message);
        assert_eq!(err.line, Some(2));
        // Brackets in strings and comments do not count.
        let quoted = format!(
            "// {}\n/* {} */ {{ a: \"{}\", b: '{}' }}",
            "[".repeat(2000),
            "{".repeat(2000),
            "[".repeat(2000),
            "\\'[".repeat(2000)
        );
        assert!(parse(&quoted).is_ok());
    }

    #[test]
    fn parses_json5_features() {
        let v = parse("{ // c\n a: 1, 'b': [NaN, Infinity, -Infinity, 0x10, 1.5,], }").unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj["a"], Value::Int(1));
        let arr = obj["b"].as_array().unwrap();
        assert!(matches!(arr[0], Value::Float(f) if f.is_nan()));
        assert_eq!(arr[1], Value::Float(f64::INFINITY));
        assert_eq!(arr[2], Value::Float(f64::NEG_INFINITY));
        assert_eq!(arr[3], Value::Int(16));
        assert_eq!(arr[4], Value::Float(1.5));
    }

    #[test]
    fn keeps_large_integers_exact() {
        let v = parse("[9007199254740993, -9223372036854775808, 18446744073709551615]").unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr[0], Value::Int(9007199254740993));
        assert_eq!(arr[1], Value::Int(i64::MIN));
        assert_eq!(arr[2], Value::UInt(u64::MAX));
    }

    #[test]
    fn reports_line_and_column() {
        let err = parse("{\n  a: 1,\n  b: ]\n}").unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(err.column.is_some());
    }

    #[test]
    fn rejects_duplicate_keys() {
        assert!(parse("{a: 1, a: 2}").is_err());
    }

    #[test]
    fn serializes_to_msgpack_with_float_widths() {
        let value = Value::object([
            ("f32", Value::Float32(1.5)),
            ("f64", Value::Float(2.5)),
            ("int", Value::Int(-3)),
            ("list", Value::Array(vec![Value::Null, Value::Bool(true)])),
        ]);
        let bytes = rmp_serde::to_vec_named(&value).unwrap();
        // fixmap(4), "f32" -> float32 (0xca), "f64" -> float64 (0xcb)
        assert_eq!(bytes[0], 0x84);
        assert_eq!(&bytes[1..5], b"\xa3f32");
        assert_eq!(bytes[5], 0xca);
        assert_eq!(bytes[10..14], *b"\xa3f64");
        assert_eq!(bytes[14], 0xcb);
        assert_eq!(
            serde_json::to_string(&value).unwrap(),
            r#"{"f32":1.5,"f64":2.5,"int":-3,"list":[null,true]}"#
        );
    }
}
