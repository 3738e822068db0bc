//! Small readers and builders for the JSON shapes property values use (numbers, fixed-size
//! arrays, objects with named fields), with failures that remember where they happened.

use std::collections::BTreeMap;

use rbx_types::{Color3, Vector2, Vector3};

use crate::json_value::Value;

/// Why a value could not be decoded, before we know which property it was for.
#[derive(Debug)]
pub(super) enum Fail {
    /// The value has the wrong shape. `expected` is filled by the innermost typed decoder
    /// that knows the shape; `path` locates the offending part (`keypoints[2].time`).
    Shape {
        expected: Option<String>,
        found: String,
        path: String,
    },
    /// The shape is right but the value is not allowed (an unknown enum item, bad base64).
    Invalid { message: String, path: String },
}

pub(super) type Decoded<T> = Result<T, Fail>;

impl Fail {
    /// The value was of another kind than expected.
    pub fn found(value: &Value) -> Fail {
        Fail::found_text(describe(value))
    }

    pub fn found_text(found: impl Into<String>) -> Fail {
        Fail::Shape {
            expected: None,
            found: found.into(),
            path: String::new(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Fail {
        Fail::Invalid {
            message: message.into(),
            path: String::new(),
        }
    }

    /// Prefixes the location with an object key.
    pub fn at_key(self, key: &str) -> Fail {
        self.prefix(key)
    }

    /// Prefixes the location with an array index.
    pub fn at_index(self, index: usize) -> Fail {
        self.prefix(&format!("[{index}]"))
    }

    fn prefix(mut self, segment: &str) -> Fail {
        let path = match &mut self {
            Fail::Shape { path, .. } | Fail::Invalid { path, .. } => path,
        };
        let joiner = if !path.is_empty() && !path.starts_with('[') {
            "."
        } else {
            ""
        };
        *path = format!("{segment}{joiner}{path}");
        self
    }

    /// Records what shape was expected, unless a more specific decoder already did.
    pub fn expecting(mut self, shape: &str) -> Fail {
        if let Fail::Shape { expected, .. } = &mut self {
            if expected.is_none() {
                *expected = Some(shape.to_string());
            }
        }
        self
    }
}

/// A short description of a value for "got ..." messages.
pub(super) fn describe(value: &Value) -> String {
    match value {
        Value::Array(items) => match items.len() {
            1 => "an array of 1 item".to_string(),
            n => format!("an array of {n} items"),
        },
        Value::Object(map) if map.len() == 1 => {
            let key = map.keys().next().map(String::as_str).unwrap_or_default();
            format!("an object with the single key \"{key}\"")
        }
        other => other.kind().to_string(),
    }
}

/// Any number, read as f64.
pub(super) fn number(value: &Value) -> Decoded<f64> {
    value.as_f64().ok_or_else(|| Fail::found(value))
}

/// Any number, read as f64 and then narrowed: exactly what our writer's f32 output needs.
pub(super) fn number_f32(value: &Value) -> Decoded<f32> {
    number(value).map(|x| x as f32)
}

/// An integer-valued number, exactly. Non-integral numbers are an error, not truncated.
pub(super) fn integer(value: &Value) -> Decoded<i128> {
    match value {
        Value::Int(i) => Ok(i128::from(*i)),
        Value::UInt(u) => Ok(i128::from(*u)),
        Value::Float(_) | Value::Float32(_) => {
            let x = number(value)?;
            if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e30 {
                Ok(x as i128)
            } else {
                Err(Fail::invalid(format!("{x} is not an integer")))
            }
        }
        _ => Err(Fail::found(value)),
    }
}

/// A number truncated toward zero, for the Int32/Int64 shorthand.
pub(super) fn truncated(value: &Value) -> Decoded<i128> {
    match value {
        Value::Float(_) | Value::Float32(_) => {
            let x = number(value)?;
            if x.is_finite() && x.abs() < 1e30 {
                Ok(x.trunc() as i128)
            } else {
                Err(Fail::invalid(format!("{x} is not an integer")))
            }
        }
        _ => integer(value),
    }
}

/// Narrows an exact integer to `T`, naming the type when it does not fit.
pub(super) fn fit<T: TryFrom<i128>>(value: i128, type_name: &str) -> Decoded<T> {
    T::try_from(value)
        .map_err(|_| Fail::invalid(format!("{value} is out of range for {type_name}")))
}

/// An integer-valued number that fits `T`.
pub(super) fn integer_as<T: TryFrom<i128>>(value: &Value, type_name: &str) -> Decoded<T> {
    fit(integer(value)?, type_name)
}

pub(super) fn string(value: &Value) -> Decoded<&str> {
    value.as_str().ok_or_else(|| Fail::found(value))
}

pub(super) fn object(value: &Value) -> Decoded<&BTreeMap<String, Value>> {
    value.as_object().ok_or_else(|| Fail::found(value))
}

/// An array of exactly `N` items.
pub(super) fn array<const N: usize>(value: &Value) -> Decoded<&[Value; N]> {
    let items = value.as_array().ok_or_else(|| Fail::found(value))?;
    items.try_into().map_err(|_| Fail::found(value))
}

/// Decodes each item of an array of exactly `N` items.
pub(super) fn array_map<const N: usize, T>(
    value: &Value,
    mut decode: impl FnMut(&Value) -> Decoded<T>,
) -> Decoded<[T; N]> {
    let items = array::<N>(value)?;
    let mut out = Vec::with_capacity(N);
    for (index, item) in items.iter().enumerate() {
        out.push(decode(item).map_err(|fail| fail.at_index(index))?);
    }
    out.try_into().map_err(|_| Fail::found(value))
}

/// Decodes each item of an array of any length.
pub(super) fn list<T>(
    value: &Value,
    mut decode: impl FnMut(&Value) -> Decoded<T>,
) -> Decoded<Vec<T>> {
    let items = value.as_array().ok_or_else(|| Fail::found(value))?;
    items
        .iter()
        .enumerate()
        .map(|(index, item)| decode(item).map_err(|fail| fail.at_index(index)))
        .collect()
}

/// A required field of an object.
pub(super) fn field<'a>(map: &'a BTreeMap<String, Value>, key: &str) -> Decoded<&'a Value> {
    map.get(key)
        .ok_or_else(|| Fail::found_text(format!("an object without \"{key}\"")))
}

/// Decodes a required field, locating failures under its key.
pub(super) fn field_with<'a, T>(
    map: &'a BTreeMap<String, Value>,
    key: &str,
    decode: impl FnOnce(&'a Value) -> Decoded<T>,
) -> Decoded<T> {
    decode(field(map, key)?).map_err(|fail| fail.at_key(key))
}

/// Rejects keys an object form does not know, so typos do not pass silently.
pub(super) fn only_keys(map: &BTreeMap<String, Value>, allowed: &[&str]) -> Decoded<()> {
    match map.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(Fail::found_text(format!("an unknown key \"{key}\""))),
        None => Ok(()),
    }
}

pub(super) fn vector2(value: &Value) -> Decoded<Vector2> {
    let [x, y] = array_map(value, number_f32)?;
    Ok(Vector2::new(x, y))
}

pub(super) fn vector3(value: &Value) -> Decoded<Vector3> {
    let [x, y, z] = array_map(value, number_f32)?;
    Ok(Vector3::new(x, y, z))
}

pub(super) fn color3(value: &Value) -> Decoded<Color3> {
    let [r, g, b] = array_map(value, number_f32)?;
    Ok(Color3::new(r, g, b))
}

pub(super) fn f32s<const N: usize>(values: [f32; N]) -> Value {
    Value::Array(values.into_iter().map(Value::Float32).collect())
}

pub(super) fn vector2_value(v: Vector2) -> Value {
    f32s([v.x, v.y])
}

pub(super) fn vector3_value(v: Vector3) -> Value {
    f32s([v.x, v.y, v.z])
}

pub(super) fn color3_value(c: Color3) -> Value {
    f32s([c.r, c.g, c.b])
}

pub(super) fn ints<const N: usize>(values: [i64; N]) -> Value {
    Value::Array(values.into_iter().map(Value::Int).collect())
}
