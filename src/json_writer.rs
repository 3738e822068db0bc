//! The canonical JSON5 writer every meta, model and project file goes through.
//!
//! Output is deterministic so syncback diffs stay small: keys in byte order, two-space
//! indent, no trailing commas, short scalar arrays on one line, exactly one trailing
//! newline (fs-format.md §3.5). Floats follow DESIGN.md decision 1 instead of the
//! reference's 6-digit rounding: each is printed in the shortest form that reads back
//! bit-identical *through our reader*, which parses every number as f64.

use crate::json_value::Value;

/// Arrays with at most this many items, all scalars, are written on one line.
const MAX_INLINE_ARRAY: usize = 20;

/// Serializes `value` as canonical JSON5 text ending in exactly one `\n`.
pub fn to_canonical_string(value: &Value) -> String {
    write_document(value, Flavor::Json5)
}

/// Like [`to_canonical_string`], in the syntax `path`'s extension calls for: a `.json`
/// file (a Rojo project, model or meta file kept by name) stays plain JSON, with every
/// key quoted, so Rojo's tools and JSON schemas still read it.
pub fn to_file_text(path: &std::path::Path, value: &Value) -> String {
    let json = path.extension().is_some_and(|ext| ext == "json");
    write_document(value, if json { Flavor::Json } else { Flavor::Json5 })
}

/// JSON5 (bare keys where they parse back) or JSON (every key quoted, only JSON escapes).
/// Numbers JSON cannot spell (NaN, Infinity) keep their JSON5 form either way: writing
/// anything else would lose the value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Json5,
    Json,
}

fn write_document(value: &Value, flavor: Flavor) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0, flavor);
    out.push('\n');
    out
}

fn write_value(out: &mut String, value: &Value, indent: usize, flavor: Flavor) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::UInt(u) => out.push_str(&u.to_string()),
        Value::Float(f) => out.push_str(&format_f64(*f)),
        Value::Float32(f) => out.push_str(&format_f32(*f)),
        Value::String(s) => write_string(out, s, flavor),
        Value::Array(items) => write_array(out, items, indent, flavor),
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push_str("{\n");
            for (index, (key, item)) in map.iter().enumerate() {
                push_indent(out, indent + 1);
                if flavor == Flavor::Json5 && is_bare_key(key) {
                    out.push_str(key);
                } else {
                    write_string(out, key, flavor);
                }
                out.push_str(": ");
                write_value(out, item, indent + 1, flavor);
                if index + 1 < map.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            push_indent(out, indent);
            out.push('}');
        }
    }
}

fn write_array(out: &mut String, items: &[Value], indent: usize, flavor: Flavor) {
    if items.is_empty() {
        out.push_str("[]");
        return;
    }
    let inline = items.len() <= MAX_INLINE_ARRAY
        && items
            .iter()
            .all(|item| !matches!(item, Value::Array(_) | Value::Object(_)));
    if inline {
        out.push_str("[ ");
        for (index, item) in items.iter().enumerate() {
            if index > 0 {
                out.push_str(", ");
            }
            write_value(out, item, indent, flavor);
        }
        out.push_str(" ]");
        return;
    }
    out.push_str("[\n");
    for (index, item) in items.iter().enumerate() {
        push_indent(out, indent + 1);
        write_value(out, item, indent + 1, flavor);
        if index + 1 < items.len() {
            out.push(',');
        }
        out.push('\n');
    }
    push_indent(out, indent);
    out.push(']');
}

fn push_indent(out: &mut String, indent: usize) {
    for _ in 0..indent {
        out.push_str("  ");
    }
}

/// A key may be written bare when it starts with a letter, `_` or `$` and continues with
/// letters, digits, `_` or `$`. "Letter" and "digit" are additionally checked against the
/// reader's own identifier rules so a bare key always parses back.
pub fn is_bare_key(key: &str) -> bool {
    let mut chars = key.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    // ASCII letters, digits, `_` and `$` are answered without the Unicode tables.
    let start_ok = first == '_'
        || first == '$'
        || first.is_ascii_alphabetic()
        || (!first.is_ascii()
            && first.is_alphabetic()
            && json5::char::is_json5_identifier_start(first));
    start_ok
        && chars.all(|c| {
            c == '_'
                || c == '$'
                || c.is_ascii_alphanumeric()
                || (!c.is_ascii() && c.is_alphanumeric() && json5::char::is_json5_identifier(c))
        })
}

/// Returns `s` as a double-quoted JSON5 string literal.
pub fn quote_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_string(&mut out, s, Flavor::Json5);
    out
}

fn write_string(out: &mut String, s: &str, flavor: Flavor) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' if flavor == Flavor::Json5 => out.push_str("\\v"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Formats an f64 in the shortest decimal form that parses back to the same bits.
pub fn format_f64(x: f64) -> String {
    if let Some(special) =
        special_float(x.is_nan(), x.is_infinite(), x == 0.0, x.is_sign_negative())
    {
        return special;
    }
    layout(&format!("{x:e}"))
}

/// Formats an f32 in the shortest decimal form that gives back the same bits when read
/// the way our reader reads every number: parsed as f64, then cast to f32.
///
/// The f32-shortest digits almost always pass that test; when double rounding (decimal ->
/// f64 -> f32) would land on a neighbour, more digits are printed until it does not.
pub fn format_f32(x: f32) -> String {
    if let Some(special) =
        special_float(x.is_nan(), x.is_infinite(), x == 0.0, x.is_sign_negative())
    {
        return special;
    }
    // Whole numbers below 2^24 are exact in both widths and print as plain integers
    // (what `layout` would make of them); most values in a place are such numbers.
    if x.fract() == 0.0 && x.abs() < 16_777_216.0 {
        return (x as i32).to_string();
    }
    let shortest = format!("{x:e}");
    if reads_back_as_f32(&shortest, x) {
        return layout(&shortest);
    }
    let shortest_digits = shortest
        .split('e')
        .next()
        .map_or(1, |m| m.chars().filter(|c| c.is_ascii_digit()).count());
    // 17 significant digits of the exact value always identify the widened f64, whose
    // cast back to f32 is exact, so this loop always returns.
    for precision in shortest_digits..17 {
        let candidate = format!("{x:.precision$e}");
        if reads_back_as_f32(&candidate, x) {
            return layout(&candidate);
        }
    }
    format_f64(f64::from(x))
}

fn reads_back_as_f32(text: &str, x: f32) -> bool {
    text.parse::<f64>()
        .is_ok_and(|parsed| (parsed as f32).to_bits() == x.to_bits())
}

/// NaN, infinities and zeros. `-0` is written `-0.0`: our reader (the `json5` crate)
/// parses the integer literal `-0` as integer zero and would lose the sign.
fn special_float(nan: bool, infinite: bool, zero: bool, negative: bool) -> Option<String> {
    let text = if nan {
        "NaN"
    } else if infinite && negative {
        "-Infinity"
    } else if infinite {
        "Infinity"
    } else if zero && negative {
        "-0.0"
    } else if zero {
        "0"
    } else {
        return None;
    };
    Some(text.to_string())
}

/// Lays out Rust's `{:e}` output (`-1.2345e-7`) as plain decimal when the decimal exponent
/// lies in [-7, 21), otherwise as `<digits>e<exp>` with no `+`.
fn layout(scientific: &str) -> String {
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = {
        let trimmed = digits.trim_end_matches('0');
        if trimmed.is_empty() {
            "0"
        } else {
            trimmed
        }
    };
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if (-7..21).contains(&exponent) {
        if exponent >= 0 {
            let integer_len = exponent as usize + 1;
            if digits.len() <= integer_len {
                out.push_str(digits);
                out.extend(std::iter::repeat_n('0', integer_len - digits.len()));
            } else {
                out.push_str(&digits[..integer_len]);
                out.push('.');
                out.push_str(&digits[integer_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exponent - 1) as usize));
            out.push_str(digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push_str(&exponent.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_value::parse;
    use std::collections::BTreeMap;

    #[test]
    fn json_files_stay_plain_json() {
        let value = Value::object([
            ("$className", Value::String("Part".into())),
            ("name", Value::String("tab\tvt\u{b}".into())),
            (
                "properties",
                Value::object([("Size", Value::Array(vec![Value::Int(1), Value::Float(0.5)]))]),
            ),
        ]);
        let json = to_file_text(std::path::Path::new("a/Door.model.json"), &value);
        let strict: serde_json::Value = serde_json::from_str(&json).expect(&json);
        assert_eq!(strict["name"], "tab\tvt\u{b}");
        assert_eq!(strict["properties"]["Size"][1], 0.5);
        assert_eq!(parse(&json).unwrap(), value);
        // JSON5 files keep bare keys.
        let json5 = to_file_text(std::path::Path::new("default.project.json5"), &value);
        assert!(json5.contains("\n  name: "), "{json5}");
        assert_eq!(json5, to_canonical_string(&value));
        assert!(serde_json::from_str::<serde_json::Value>(&json5).is_err());
    }

    /// A small deterministic generator (xorshift64*) so the bit-pattern tests need no
    /// extra dependency and fail reproducibly.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    fn read_number(text: &str) -> f64 {
        parse(text)
            .unwrap_or_else(|err| panic!("{text:?} does not parse: {err}"))
            .as_f64()
            .unwrap_or_else(|| panic!("{text:?} is not a number"))
    }

    fn check_f32(x: f32) {
        let text = to_canonical_string(&Value::Float32(x));
        let back = read_number(&text) as f32;
        if x.is_nan() {
            assert!(back.is_nan(), "{x:?} -> {text:?}");
        } else {
            assert_eq!(back.to_bits(), x.to_bits(), "{x:?} -> {text:?}");
        }
    }

    fn check_f64(x: f64) {
        let text = to_canonical_string(&Value::Float(x));
        let back = read_number(&text);
        if x.is_nan() {
            assert!(back.is_nan(), "{x:?} -> {text:?}");
        } else {
            assert_eq!(back.to_bits(), x.to_bits(), "{x:?} -> {text:?}");
        }
    }

    fn edge_f32() -> Vec<f32> {
        vec![
            0.0,
            -0.0,
            0.1,
            1.0 / 3.0,
            -1.0 / 3.0,
            6.67,
            801.715_6,
            7.6e-6,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            f32::from_bits(1),
            f32::from_bits(0x007f_ffff),
            f32::EPSILON,
            16_777_216.0,
            16_777_217.0,
            1e10,
            1e20,
            1e21,
            1e-7,
            1.5e-8,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        ]
    }

    #[test]
    fn f32_edge_values_round_trip() {
        for x in edge_f32() {
            check_f32(x);
            check_f32(-x);
        }
    }

    #[test]
    fn f32_random_bit_patterns_round_trip() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..200_000 {
            check_f32(f32::from_bits(rng.next() as u32));
        }
        // Every subnormal and the low normals are where precision is thinnest.
        for bits in (0..0x0100_0000u32).step_by(97) {
            check_f32(f32::from_bits(bits));
        }
    }

    #[test]
    fn f32_needing_extra_digits_still_round_trips() {
        // Search for values whose shortest f32 digits fail the f64-then-f32 reading;
        // whether or not any exist in the sample, every value must round-trip.
        let mut rng = Rng(42);
        let mut widened = 0;
        for _ in 0..200_000 {
            let x = f32::from_bits(rng.next() as u32);
            if !x.is_finite() {
                continue;
            }
            if !reads_back_as_f32(&format!("{x:e}"), x) {
                widened += 1;
            }
            check_f32(x);
        }
        // Double rounding is rare; this only documents that it is handled.
        assert!(widened < 1000);
    }

    #[test]
    fn f32_whole_numbers_print_as_the_general_path_would() {
        let edges = [
            1.0,
            -1.0,
            16_777_215.0,
            -16_777_215.0,
            16_777_216.0,
            1e20,
            100.0,
        ];
        let stepped = (-16_777_216i32..=16_777_216).step_by(997).map(|i| i as f32);
        for x in edges.into_iter().chain(stepped).filter(|x| *x != 0.0) {
            assert_eq!(format_f32(x), layout(&format!("{x:e}")), "{x}");
            check_f32(x);
        }
    }

    #[test]
    fn f32_double_rounding_case_gets_more_digits() {
        // The only positive f32 (found by exhaustive search) whose shortest digits,
        // read as f64 and narrowed, land on its neighbour.
        let x = f32::from_bits(0x15ae_43fd);
        assert_eq!(format!("{x:e}"), "7.038531e-26");
        assert!(!reads_back_as_f32("7.038531e-26", x));
        let text = format_f32(x);
        assert_ne!(text, "7.038531e-26");
        check_f32(x);
        check_f32(-x);
    }

    #[test]
    fn f64_edge_and_random_values_round_trip() {
        let edges = [
            0.0,
            -0.0,
            0.1,
            1.0 / 3.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::from_bits(1),
            f64::EPSILON,
            9_007_199_254_740_993.0,
            1e20,
            1e21,
            1e22,
            123_456_789_012_345_680_000.0,
            1e-7,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for x in edges {
            check_f64(x);
            check_f64(-x);
        }
        let mut rng = Rng(7);
        for _ in 0..200_000 {
            check_f64(f64::from_bits(rng.next()));
        }
    }

    #[test]
    fn float_formatting() {
        let f = |x: f64| format_f64(x);
        assert_eq!(f(6.0), "6");
        assert_eq!(f(-0.0), "-0.0");
        assert_eq!(f(0.0), "0");
        assert_eq!(f(0.5), "0.5");
        assert_eq!(f(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(f(f64::MAX), "1.7976931348623157e308");
        assert_eq!(f(1e20), "100000000000000000000");
        assert_eq!(f(1e21), "1e21");
        assert_eq!(f(1.5e-7), "0.00000015");
        assert_eq!(f(1.5e-8), "1.5e-8");
        assert_eq!(f(-123.25), "-123.25");
        assert_eq!(f(f64::NAN), "NaN");
        assert_eq!(f(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(format_f32(1.0 / 3.0), "0.33333334");
        assert_eq!(format_f32(0.1), "0.1");
        assert_eq!(format_f32(6.67), "6.67");
        assert_eq!(format_f32(801.715_6), "801.7156");
        assert_eq!(format_f32(f32::MAX), "3.4028235e38");
        assert_eq!(format_f32(f32::from_bits(1)), "1e-45");
    }

    #[test]
    fn integers_are_exact() {
        let text = to_canonical_string(&Value::Array(vec![
            Value::Int(i64::MIN),
            Value::Int(i64::MAX),
            Value::UInt(u64::MAX),
        ]));
        assert_eq!(
            text,
            "[ -9223372036854775808, 9223372036854775807, 18446744073709551615 ]\n"
        );
        assert_eq!(
            parse(&text).unwrap().as_array().unwrap()[1],
            Value::Int(i64::MAX)
        );
    }

    #[test]
    fn golden_layout() {
        let value = parse(
            r#"{
                className: "Model",
                "Spawn Weight": 2.5,
                empty: {}, list: [], "1st": null,
                nested: { position: [0, 5, 0], orientation: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] },
                mixed: [1, "two", true, null, { a: 1 }],
            }"#,
        )
        .unwrap();
        let expected = r#"{
  "1st": null,
  "Spawn Weight": 2.5,
  className: "Model",
  empty: {},
  list: [],
  mixed: [
    1,
    "two",
    true,
    null,
    {
      a: 1
    }
  ],
  nested: {
    orientation: [
      [ 1, 0, 0 ],
      [ 0, 1, 0 ],
      [ 0, 0, 1 ]
    ],
    position: [ 0, 5, 0 ]
  }
}
"#;
        assert_eq!(to_canonical_string(&value), expected);
        assert_eq!(parse(expected).unwrap(), value);
    }

    #[test]
    fn long_scalar_arrays_break_lines() {
        let items: Vec<Value> = (0..21).map(Value::Int).collect();
        let text = to_canonical_string(&Value::Array(items[..20].to_vec()));
        assert_eq!(text.lines().count(), 1);
        let text = to_canonical_string(&Value::Array(items));
        assert_eq!(text.lines().count(), 23);
        assert!(text.starts_with("[\n  0,\n  1,\n"));
        assert!(text.ends_with("  20\n]\n"));
    }

    #[test]
    fn scalars_and_empty_containers() {
        assert_eq!(to_canonical_string(&Value::Null), "null\n");
        assert_eq!(to_canonical_string(&Value::Object(BTreeMap::new())), "{}\n");
        assert_eq!(to_canonical_string(&Value::Array(vec![])), "[]\n");
        assert_eq!(to_canonical_string(&Value::Bool(false)), "false\n");
    }

    #[test]
    fn string_escapes_round_trip() {
        let s = "q\" b\\ \u{8}\u{c}\n\r\t\u{b} \u{2028}\u{2029} \u{0}\u{1f}\u{7f} é 日本 🎉 '";
        let text = to_canonical_string(&Value::from(s));
        assert_eq!(
            text,
            "\"q\\\" b\\\\ \\b\\f\\n\\r\\t\\v \\u2028\\u2029 \\u0000\\u001f\\u007f é 日本 🎉 '\"\n"
        );
        assert_eq!(parse(&text).unwrap(), Value::from(s));
    }

    #[test]
    fn key_quoting() {
        for bare in ["a", "_x", "$schema", "Größe", "名前", "a1", "x$_9"] {
            assert!(is_bare_key(bare), "{bare}");
        }
        for quoted in ["", "1st", "a b", "a-b", "a.b", "é\u{301}x\u{200d}", "@self"] {
            assert!(!is_bare_key(quoted), "{quoted}");
        }
        let mut map = BTreeMap::new();
        for key in ["a", "a b", "Größe", "", "\n", "$schema", "名前"] {
            map.insert(key.to_string(), Value::Int(1));
        }
        let value = Value::Object(map);
        let text = to_canonical_string(&value);
        assert!(text.contains("\n  \"a b\": 1,"));
        assert!(text.contains("\n  Größe: 1,"));
        assert!(text.contains("\n  \"\": 1,"));
        assert_eq!(parse(&text).unwrap(), value);
    }
}
