//! Small helpers shared by the JSON decoders.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;
use vigil_schemas::Row;

use crate::decode::DecodeError;

/// Parse a record as JSON.
///
/// # Errors
///
/// [`DecodeError::Syntax`] with serde's message (line and column).
pub fn parse_json(text: &str) -> Result<Value, DecodeError> {
    serde_json::from_str(text).map_err(|e| DecodeError::syntax(format!("invalid JSON: {e}")))
}

/// The value at a `/`-separated pointer as text: strings as they are,
/// numbers and booleans written out, null and absent as `None`.
pub fn text_at<'a>(v: &'a Value, pointer: &str) -> Option<std::borrow::Cow<'a, str>> {
    as_text(v.pointer(pointer)?)
}

/// A scalar as text; `None` for null, objects and arrays.
pub fn as_text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    match v {
        Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// A number or a numeric string as an integer (osquery and Entra write both).
pub fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => vigil_schemas::parse_int(s),
        _ => None,
    }
}

/// Flatten every scalar of `v` into `unmapped`, keys joined with `.`
/// (`client.ipAddress`), arrays indexed (`ipChain.0.ip`), nulls skipped.
/// Keys listed in `skip` (top-level only) are left out.
pub fn flatten_into(row: &mut Row<'_>, v: &Value, skip: &[&str]) {
    let mut w = Flat {
        row,
        key: String::with_capacity(128),
        num: String::new(),
    };
    if let Value::Object(m) = v {
        for (k, x) in m {
            if skip.contains(&k.as_str()) {
                continue;
            }
            w.key.clear();
            w.key.push_str(k);
            w.walk(x);
        }
    } else {
        w.walk(v);
    }
}

/// The state of one [`flatten_into`]: the key being built and a buffer
/// for numbers, both reused for every field.
struct Flat<'r, 'b> {
    row: &'r mut Row<'b>,
    key: String,
    num: String,
}

impl Flat<'_, '_> {
    fn walk(&mut self, v: &Value) {
        use std::fmt::Write as _;
        match v {
            Value::Object(m) => {
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
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    let len = self.key.len();
                    // N.B. writing to a String cannot fail.
                    let _ = write!(self.key, ".{i}");
                    self.walk(x);
                    self.key.truncate(len);
                }
            }
            Value::Null => {}
            Value::String(s) => {
                self.row.unmapped(&self.key, s);
            }
            Value::Bool(b) => {
                self.row
                    .unmapped(&self.key, if *b { "true" } else { "false" });
            }
            Value::Number(n) => {
                self.num.clear();
                let _ = write!(self.num, "{n}");
                self.row.unmapped(&self.key, &self.num);
            }
        }
    }
}

/// Parse the timestamp forms seen in JSON logs: RFC 3339 with any
/// fraction (up to 100 ns in Entra), without zone (read as UTC), with a
/// space instead of `T`, and Unix epoch seconds, milliseconds or
/// microseconds as a number or numeric string.
pub fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => epoch(n.as_f64()?),
        Value::String(s) => parse_time_str(s),
        _ => None,
    }
}

/// [`parse_time`] for text.
pub fn parse_time_str(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(t.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.fZ",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return epoch(s.parse().ok()?);
    }
    None
}

/// The id paired with `word` in `table`, words matched ignoring ASCII
/// case; `other` when none matches. Saves upper-casing a copy per row.
pub fn id_ignoring_case(word: &str, table: &[(&str, i64)], other: i64) -> i64 {
    table
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(word))
        .map_or(other, |(_, id)| *id)
}

/// Whether `hay` contains `needle`, ignoring ASCII case.
pub fn contains_ignoring_case(hay: &str, needle: &str) -> bool {
    let n = needle.as_bytes();
    n.is_empty()
        || hay
            .as_bytes()
            .windows(n.len())
            .any(|w| w.eq_ignore_ascii_case(n))
}

/// Epoch seconds, milliseconds or microseconds, told apart by size.
pub fn epoch(x: f64) -> Option<DateTime<Utc>> {
    let us = if x.abs() < 1e11 {
        x * 1e6
    } else if x.abs() < 1e14 {
        x * 1e3
    } else {
        x
    };
    DateTime::from_timestamp_micros(us.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_every_common_form() {
        let want = "2020-10-22T08:29:55Z";
        for s in [
            "2020-10-22T08:29:55Z",
            "2020-10-22T08:29:55.000Z",
            "2020-10-22 08:29:55",
            "2020-10-22T08:29:55+00:00",
            "1603355395",
            "1603355395000",
        ] {
            let t =
                parse_time_str(s).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
            assert_eq!(t.as_deref(), Some(want), "{s}");
        }
        let entra = parse_time_str("2025-11-14T01:47:10.1234567Z").expect("entra");
        assert_eq!(entra.timestamp_subsec_micros(), 123_456);
    }

    #[test]
    fn words_ignoring_case() {
        let table = [("SUCCESS", 1), ("ALLOW", 1), ("FAILURE", 2)];
        assert_eq!(id_ignoring_case("success", &table, 99), 1);
        assert_eq!(id_ignoring_case("Failure", &table, 99), 2);
        assert_eq!(id_ignoring_case("CHALLENGE", &table, 99), 99);
        assert!(contains_ignoring_case(
            "AADServicePrincipalSignInLogs",
            "serviceprincipal"
        ));
        assert!(!contains_ignoring_case("SignInLogs", "managedidentity"));
    }
}
