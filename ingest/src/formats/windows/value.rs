//! A borrowed JSON tree for the Windows decoders.
//!
//! A Windows record is one object of 30 to 60 short fields. Parsed into
//! `serde_json::Value` every key and string is copied and every object is a
//! hash map; here strings without escapes point into the record and objects
//! keep their members in order in a `Vec`, which is all the decoders need
//! (they walk every member once, and look up a handful by name).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::decode::DecodeError;

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
        match self {
            Val::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A scalar as text: strings as they are, numbers in decimal, booleans
    /// as `true`/`false`; `None` for null, arrays and objects.
    pub(crate) fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Val::Str(s) => Some(Cow::Borrowed(s.as_ref())),
            Val::Int(n) => Some(Cow::Owned(n.to_string())),
            Val::Uint(n) => Some(Cow::Owned(n.to_string())),
            Val::Float(n) => Some(Cow::Owned(n.to_string())),
            Val::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Val::Null | Val::Arr(_) | Val::Obj(_) => None,
        }
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

/// Parse one record.
///
/// # Errors
///
/// [`DecodeError::Syntax`] with serde's message (line and column), also for
/// text after the value.
pub(crate) fn parse(text: &str) -> Result<Val<'_>, DecodeError> {
    let syntax = |e: serde_json::Error| DecodeError::syntax(format!("invalid JSON: {e}"));
    let mut de = serde_json::Deserializer::from_str(text);
    let v = Val::deserialize(&mut de).map_err(syntax)?;
    de.end().map_err(syntax)?;
    Ok(v)
}

impl<'de> Deserialize<'de> for Val<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValVisitor)
    }
}

struct ValVisitor;

impl<'de> Visitor<'de> for ValVisitor {
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
        while let Some(v) = seq.next_element::<Val<'de>>()? {
            items.push(v);
        }
        Ok(Val::Arr(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Val<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(16));
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            members.push((k, map.next_value::<Val<'de>>()?));
        }
        Ok(Val::Obj(members))
    }
}

/// An object key, borrowed when it holds no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrows_plain_strings_and_keeps_member_order() {
        let v = parse(r#"{"b":"x","a":[1,-2,1.5,true,null],"c":"t\tab"}"#).expect("parses");
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
}
