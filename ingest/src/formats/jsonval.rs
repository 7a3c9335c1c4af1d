//! A borrowed JSON tree for the JSON decoders (Windows, Okta, Entra,
//! CloudTrail).
//!
//! A log record is one object of 30 to 60 short fields. Parsed into
//! `serde_json::Value` every key and string is copied and every object is a
//! hash map; here strings without escapes point into the record and objects
//! keep their members in order in a `Vec`, which is all the decoders need
//! (they walk every member once, and look up a handful by name).
//!
//! Two ways to parse, differing only on a key repeated in one object:
//! `parse` keeps what `serde_json::Value` keeps (the last value, in the
//! place of the first), `parse_all` keeps every member as written (the
//! Windows decoders, which look up the first). Text of numbers, the
//! [`fmt::Display`] form and `flatten_into` spell values as serde_json
//! does, so a decoder moved from `Value` writes the same rows.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use vigil_schemas::Row;

use super::util::{epoch, parse_time_str};
use crate::decode::DecodeError;

/// The members of an object, in record order.
pub(crate) type Members<'a> = [(Cow<'a, str>, Val<'a>)];

/// One JSON value, borrowing from the record text where it can.
#[derive(Debug, PartialEq)]
pub(crate) enum Val<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer that fits `i64`.
    Int(i64),
    /// An integer above `i64::MAX`.
    Uint(u64),
    /// Any other number.
    Float(f64),
    /// A string (owned only when it held escapes).
    Str(Cow<'a, str>),
    /// An array.
    Arr(Vec<Val<'a>>),
    /// An object, members in record order.
    Obj(Vec<(Cow<'a, str>, Val<'a>)>),
}

impl<'a> Val<'a> {
    /// The member `key` of an object (the first, if repeated).
    pub(crate) fn get(&self, key: &str) -> Option<&Val<'a>> {
        self.as_obj()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The member `key`, matched exactly or else ignoring ASCII case
    /// (Panther and Log Analytics change the case of field names).
    pub(crate) fn get_ci(&self, key: &str) -> Option<&Val<'a>> {
        self.entry_ci(key).map(|(_, v)| v)
    }

    /// Like [`Val::get_ci`], with the key as the record writes it.
    pub(crate) fn entry_ci(&self, key: &str) -> Option<(&str, &Val<'a>)> {
        // One pass: an exact match wins wherever it is, else the first
        // match ignoring case.
        let mut folded = None;
        for (k, v) in self.as_obj()? {
            if k == key {
                return Some((k, v));
            }
            if folded.is_none() && k.eq_ignore_ascii_case(key) {
                folded = Some((k.as_ref(), v));
            }
        }
        folded
    }

    /// The value at a path of keys, each matched as by [`Val::get_ci`].
    pub(crate) fn at_ci(&self, path: &[&str]) -> Option<&Val<'a>> {
        path.iter().try_fold(self, |cur, k| cur.get_ci(k))
    }

    /// The non-empty text at a path, as by [`Val::at_ci`].
    pub(crate) fn str_at(&self, path: &[&str]) -> Option<&str> {
        self.at_ci(path)?.as_str().filter(|s| !s.is_empty())
    }

    /// The value at a path of keys matched exactly.
    pub(crate) fn at(&self, path: &[&str]) -> Option<&Val<'a>> {
        path.iter().try_fold(self, |cur, k| cur.get(k))
    }

    /// A string's text.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An object's members.
    pub(crate) fn as_obj(&self) -> Option<&Members<'a>> {
        match self {
            Val::Obj(m) => Some(m),
            _ => None,
        }
    }

    /// An array's items.
    pub(crate) fn as_arr(&self) -> Option<&[Val<'a>]> {
        match self {
            Val::Arr(a) => Some(a),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// A number as `f64` (strings are not read).
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(n) => Some(*n as f64),
            Val::Uint(n) => Some(*n as f64),
            Val::Float(n) => Some(*n),
            _ => None,
        }
    }

    /// A number or a numeric string as an integer (fractions cut off).
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            Val::Int(n) => Some(*n),
            Val::Uint(n) => Some(*n as f64 as i64),
            Val::Float(n) => Some(*n as i64),
            Val::Str(s) => vigil_schemas::parse_int(s),
            _ => None,
        }
    }

    /// A scalar as text: strings as they are, numbers as serde_json writes
    /// them, booleans as `true`/`false`; `None` for null, arrays and objects.
    pub(crate) fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Val::Str(s) => Some(Cow::Borrowed(s.as_ref())),
            Val::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Val::Int(_) | Val::Uint(_) | Val::Float(_) => {
                let mut s = String::new();
                self.write_number(&mut s);
                Some(Cow::Owned(s))
            }
            Val::Null | Val::Arr(_) | Val::Obj(_) => None,
        }
    }

    /// Append a number as serde_json writes it (`1.0`, `1e20`).
    fn write_number(&self, out: &mut String) {
        // N.B. writing to a String cannot fail.
        let _ = match self {
            Val::Int(n) => write!(out, "{n}"),
            Val::Uint(n) => write!(out, "{n}"),
            Val::Float(n) => match serde_json::Number::from_f64(*n) {
                Some(num) => write!(out, "{num}"),
                None => write!(out, "{n}"),
            },
            _ => Ok(()),
        };
    }

    /// What kind of value this is, for error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "a boolean",
            Val::Int(_) | Val::Uint(_) | Val::Float(_) => "a number",
            Val::Str(_) => "a string",
            Val::Arr(_) => "an array",
            Val::Obj(_) => "an object",
        }
    }
}

/// Compact JSON, as `serde_json::Value` displays.
impl fmt::Display for Val<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&s)
    }
}

impl Serialize for Val<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Val::Null => s.serialize_unit(),
            Val::Bool(b) => s.serialize_bool(*b),
            Val::Int(n) => s.serialize_i64(*n),
            Val::Uint(n) => s.serialize_u64(*n),
            Val::Float(n) => s.serialize_f64(*n),
            Val::Str(t) => s.serialize_str(t),
            Val::Arr(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for x in a {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Val::Obj(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, x) in m {
                    map.serialize_entry(k.as_ref(), x)?;
                }
                map.end()
            }
        }
    }
}

/// Parse one record; a key repeated in an object keeps its first place
/// and its last value, as `serde_json::Value` does.
///
/// # Errors
///
/// [`DecodeError::Syntax`] with serde's message (line and column), also for
/// text after the value.
pub(crate) fn parse(text: &str) -> Result<Val<'_>, DecodeError> {
    parse_with::<true>(text)
}

/// Parse one record keeping every member as written, repeated keys too.
///
/// # Errors
///
/// As [`parse`].
pub(crate) fn parse_all(text: &str) -> Result<Val<'_>, DecodeError> {
    parse_with::<false>(text)
}

/// Parse with `DEDUP` a constant, so each way is compiled on its own.
#[inline]
fn parse_with<const DEDUP: bool>(text: &str) -> Result<Val<'_>, DecodeError> {
    let syntax = |e: serde_json::Error| DecodeError::syntax(format!("invalid JSON: {e}"));
    let mut de = serde_json::Deserializer::from_str(text);
    let v = Seed::<DEDUP>.deserialize(&mut de).map_err(syntax)?;
    de.end().map_err(syntax)?;
    Ok(v)
}

/// A timestamp in any form [`parse_time_str`] reads, or epoch seconds,
/// milliseconds or microseconds as a number.
pub(crate) fn parse_time(v: &Val<'_>) -> Option<DateTime<Utc>> {
    match v {
        Val::Int(_) | Val::Uint(_) | Val::Float(_) => epoch(v.as_f64()?),
        Val::Str(s) => parse_time_str(s),
        _ => None,
    }
}

/// Flatten every scalar of `v` into `unmapped`, keys joined with `.`
/// (`client.ipAddress`), arrays indexed (`ipChain.0.ip`), nulls skipped.
pub(crate) fn flatten_into(row: &mut Row<'_>, v: &Val<'_>) {
    flatten_under(row, "", v);
}

/// [`flatten_into`] with every key under `prefix` (none when empty).
pub(crate) fn flatten_under(row: &mut Row<'_>, prefix: &str, v: &Val<'_>) {
    let mut w = Flat {
        row,
        key: String::with_capacity(128),
        num: String::new(),
    };
    w.key.push_str(prefix);
    match v {
        Val::Obj(m) if prefix.is_empty() => {
            for (k, x) in m {
                w.key.clear();
                w.key.push_str(k);
                w.walk(x);
            }
        }
        _ => w.walk(v),
    }
}

/// The state of one flattening: the key being built and a number buffer.
struct Flat<'r, 'b> {
    row: &'r mut Row<'b>,
    key: String,
    num: String,
}

impl Flat<'_, '_> {
    fn walk(&mut self, v: &Val<'_>) {
        match v {
            Val::Obj(m) => {
                for (k, x) in m {
                    let len = self.key.len();
                    if len > 0 {
                        self.key.push('.');
                    }
                    self.key.push_str(k);
                    self.walk(x);
                    self.key.truncate(len);
                }
            }
            Val::Arr(a) => {
                for (i, x) in a.iter().enumerate() {
                    let len = self.key.len();
                    let _ = write!(self.key, ".{i}");
                    self.walk(x);
                    self.key.truncate(len);
                }
            }
            Val::Null => {}
            Val::Str(s) => {
                self.row.unmapped(&self.key, s);
            }
            Val::Bool(b) => {
                self.row
                    .unmapped(&self.key, if *b { "true" } else { "false" });
            }
            Val::Int(_) | Val::Uint(_) | Val::Float(_) => {
                self.num.clear();
                v.write_number(&mut self.num);
                self.row.unmapped(&self.key, &self.num);
            }
        }
    }
}

/// Builds a [`Val`], removing repeated keys (`DEDUP`) or not.
#[derive(Clone, Copy)]
struct Seed<const DEDUP: bool>;

impl<'de, const DEDUP: bool> DeserializeSeed<'de> for Seed<DEDUP> {
    type Value = Val<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Val<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, const DEDUP: bool> Visitor<'de> for Seed<DEDUP> {
    type Value = Val<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }

    fn visit_none<E>(self) -> Result<Val<'de>, E> {
        Ok(Val::Null)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Val<'de>, E> {
        Ok(Val::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Val<'de>, E> {
        Ok(Val::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Val<'de>, E> {
        Ok(i64::try_from(v).map_or(Val::Uint(v), Val::Int))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Val<'de>, E> {
        Ok(Val::Float(v))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Val<'de>, E> {
        Ok(Val::Str(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Val<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Val::Arr(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val<'de>, A::Error> {
        let mut members: Vec<(Cow<'de, str>, Val<'de>)> =
            Vec::with_capacity(map.size_hint().unwrap_or(16));
        // A one-word filter of the keys seen: only a key whose bit is
        // already set is searched for among the earlier members.
        let mut seen = 0u64;
        while let Some(k) = map.next_key_seed(KeySeed)? {
            let v = map.next_value_seed(self)?;
            if DEDUP {
                let bit = 1u64 << key_bit(&k);
                if seen & bit != 0
                    && let Some(slot) = members.iter_mut().find(|(x, _)| *x == k)
                {
                    slot.1 = v;
                    continue;
                }
                seen |= bit;
            }
            members.push((k, v));
        }
        Ok(Val::Obj(members))
    }
}

/// Which of 64 bits stands for a key in the repeated-key filter.
fn key_bit(k: &str) -> u32 {
    let b = k.as_bytes();
    let first = b.first().copied().unwrap_or(0) as usize;
    let last = b.last().copied().unwrap_or(0) as usize;
    ((b.len().wrapping_mul(31) ^ first.wrapping_mul(7) ^ last) & 63) as u32
}

/// An object key, borrowed when it holds no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings_and_keeps_member_order() {
        let v = parse_all(r#"{"b":"x","a":[1,-2,1.5,true,null],"c":"t\tab"}"#).expect("parses");
        let Val::Obj(m) = &v else {
            panic!("not an object: {v:?}");
        };
        let keys: Vec<&str> = m.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "a", "c"]);
        assert!(matches!(v.get("b"), Some(Val::Str(Cow::Borrowed("x")))));
        assert!(matches!(v.get("c"), Some(Val::Str(Cow::Owned(s))) if s == "t\tab"));
        let Some(Val::Arr(a)) = v.get("a") else {
            panic!("no array");
        };
        let texts: Vec<Option<String>> = a.iter().map(|x| x.text().map(|t| t.into())).collect();
        assert_eq!(
            texts,
            [
                Some("1".into()),
                Some("-2".into()),
                Some("1.5".into()),
                Some("true".into()),
                None
            ]
        );
    }

    #[test]
    fn big_unsigned_numbers_and_trailing_text() {
        let v = parse("18446744073709551615").expect("parses");
        assert_eq!(v, Val::Uint(u64::MAX));
        let err = parse(r#"{"a":1} x"#).expect_err("trailing text");
        assert!(
            err.to_string()
                .starts_with("syntax: invalid JSON: trailing characters")
        );
    }

    /// Whatever the tree, text, display and repeated keys come out as
    /// `serde_json::Value` gives them.
    #[test]
    fn agrees_with_serde_json_value() {
        let text = r#"{"a":1.0,"b":[1e20,-0.5,3],"a":{"x":"q\"","y":null},"c":true,
            "d":18446744073709551615,"e":-7,"f":{},"g":[]}"#;
        let ours = parse(text).expect("parses");
        let theirs: serde_json::Value = serde_json::from_str(text).expect("parses");
        assert_eq!(ours.to_string(), theirs.to_string());
        let keys: Vec<&str> = ours
            .as_obj()
            .expect("object")
            .iter()
            .map(|m| &*m.0)
            .collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e", "f", "g"]);
        let b = ours.get("b").and_then(Val::as_arr).expect("array");
        let got: Vec<String> = b
            .iter()
            .filter_map(|x| x.text().map(Cow::into_owned))
            .collect();
        let want: Vec<String> = theirs["b"]
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|x| crate::formats::util::as_text(x).map(Cow::into_owned))
            .collect();
        assert_eq!(got, want);
        assert_eq!(Val::Float(1.0).text().as_deref(), Some("1.0"));
    }

    #[test]
    fn keys_ignoring_case_and_paths() {
        let v = parse(r#"{"EventType":"x","debugContext":{"DebugData":{"f":"y","e":""}}}"#)
            .expect("parses");
        assert_eq!(v.get_ci("eventtype").and_then(Val::as_str), Some("x"));
        assert_eq!(v.entry_ci("eventType").map(|e| e.0), Some("EventType"));
        assert_eq!(v.str_at(&["debugcontext", "debugData", "f"]), Some("y"));
        assert_eq!(v.str_at(&["debugContext", "DebugData", "e"]), None);
        assert_eq!(v.at(&["debugcontext"]), None);
    }
}
