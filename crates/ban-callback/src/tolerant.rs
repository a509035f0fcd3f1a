//! Decoding where Tencent's pages disagree: a number or a string, an array
//! or a string, `null` for empty. Each is a serde `with` module (a field
//! names one: `#[serde(rename = "EventTime", default, with = "opt_u64")]`)
//! that reads tolerantly and writes the plain form back.

use serde::de::{Deserialize, Deserializer, Error};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// A u64 sent as a number or as a string of digits; `null` or absent is
/// none. Written as a number.
pub(crate) mod opt_u64 {
    pub(crate) use super::u64_or_string as deserialize;

    pub(crate) fn serialize<S: super::Serializer>(
        v: &Option<u64>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        super::Serialize::serialize(v, s)
    }
}

/// `null` read as the type's default. Written as the value.
pub(crate) mod or_default {
    pub(crate) use super::null_default as deserialize;

    pub(crate) fn serialize<S: super::Serializer, T: super::Serialize>(
        v: &T,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }
}

/// A list of strings sent as an array, a single string, or `null`.
/// Written as an array.
pub(crate) mod string_list {
    pub(crate) use super::strings as deserialize;

    pub(crate) fn serialize<S: super::Serializer>(v: &[String], s: S) -> Result<S::Ok, S::Error> {
        super::Serialize::serialize(v, s)
    }
}

/// A u64 sent as a number or as a string of digits; `null` or absent is
/// none.
pub(crate) fn u64_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("{n} is not a whole number of 0 or more"))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("\"{}\" is not a whole number", prefix(&s)))),
        Some(other) => Err(D::Error::custom(format!("expected a number, got {other}"))),
    }
}

/// A list of strings sent as an array, a single string, or `null`.
pub(crate) fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s]),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Ok(other.to_string()),
            })
            .collect(),
        Some(other) => Ok(vec![other.to_string()]),
    }
}

/// `null` read as the type's default.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// At most 32 bytes of `s`, cut at a character boundary, for messages.
pub(crate) fn prefix(s: &str) -> &str {
    let mut cut = s.len().min(32);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    &s[..cut]
}
