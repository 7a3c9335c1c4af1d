//! osquery logs: scheduled-query results and the daemon's status log.
//!
//! osqueryd writes one JSON object per line. Every result carries an
//! envelope (`name`, `hostIdentifier`, `calendarTime`, `unixTime`, `epoch`,
//! `counter`, `decorations`) and its rows in one of three shapes:
//!
//! | shape | rows | `action` column |
//! | --- | --- | --- |
//! | differential: `columns` + `action` | one | `added` / `removed` as written |
//! | snapshot: `snapshot` array | one per element | `snapshot` |
//! | batch: `diffResults` `{added, removed}` | one per element | `added` / `removed` |
//!
//! Result rows are [`Class::DevicePosture`] (activity 2, Collect: a
//! scheduled query collected the device's state). Status log lines
//! (`severity`, `filename`, `line`, `message`) and osquery records with an
//! envelope but none of the shapes above are [`Class::BaseEvent`] rows.
//!
//! Mapping decisions:
//! - `time` is `unixTime` (whole seconds) when present, else `calendarTime`
//!   (`Fri Nov 22 01:47:25 2019 UTC`, day space-padded as `asctime` writes
//!   it); `metadata_original_time` keeps `calendarTime` as written. A record
//!   with neither takes the ingest time (Panther's test events have none).
//! - `device_hostname` is `hostIdentifier`, else `decorations.hostname`;
//!   `device_uid` is `decorations.host_uuid`; `query_name` is `name`.
//! - Every result column goes to `unmapped` under its osquery column name.
//!   osquery writes numbers as strings or as numbers depending on version
//!   and the `numerics` flag (edge case BH-30); both become the same decimal
//!   text, so `"4242"` and `4242` give identical rows. The envelope's other
//!   fields follow (`epoch`, `counter`, `decorations.<key>`, unknown keys).
//!   `numerics` itself is left out of `unmapped`: it only says how the
//!   numbers were encoded, which normalising erases, and it stays in
//!   `raw_data`.
//! - Each row's `raw_data` is the whole record, as for every decoder; a
//!   snapshot of n rows therefore stores the record n times.
//! - Status severity is glog's level (0 INFO, 1 WARNING, 2 ERROR, 3 FATAL),
//!   mapped to OCSF severity 1, 3, 4 and 6.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};
use vigil_schemas::{Class, Field, Row};

use super::util::{as_int, as_text, flatten_into, parse_json, text_at};
use crate::decode::{DecodeConfig, DecodeError, Decoder, Record};
use crate::emit::Emitter;

const PRODUCT: &str = "osquery";

/// Top-level keys of a result that are mapped to columns or say nothing
/// about the event; every other key goes to `unmapped`.
const RESULT_SKIP: &[&str] = &[
    "name",
    "hostIdentifier",
    "calendarTime",
    "unixTime",
    "numerics",
    "action",
    "columns",
    "snapshot",
    "diffResults",
];

/// The same for status log lines.
const STATUS_SKIP: &[&str] = &[
    "hostIdentifier",
    "calendarTime",
    "unixTime",
    "numerics",
    "message",
];

struct Osquery;

/// A decoder for osquery result and status logs.
pub fn decoder(_cfg: &DecodeConfig) -> Box<dyn Decoder> {
    Box::new(Osquery)
}

impl Decoder for Osquery {
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
        let v = parse_json(rec.text)?;
        let Value::Object(m) = &v else {
            return Err(DecodeError::shape(
                "expected a JSON object (an osquery result or status log)",
            ));
        };
        let env = Envelope::read(m)?;
        match Body::read(m)? {
            Body::Differential(columns) => {
                let action = m.get("action").and_then(as_text);
                result_row(rec, out, &env, &v, columns, action.as_deref(), "result");
            }
            Body::Snapshot(rows) => {
                for columns in rows {
                    result_row(rec, out, &env, &v, columns, Some("snapshot"), "snapshot");
                }
            }
            Body::Batch { added, removed } => {
                let tagged = added.iter().map(|c| (c, "added"));
                for (columns, action) in tagged.chain(removed.iter().map(|c| (c, "removed"))) {
                    result_row(rec, out, &env, &v, columns, Some(action), "result");
                }
            }
            Body::Status => status_row(rec, out, &env, &v),
            Body::Other => other_row(rec, out, &env, &v),
        }
        Ok(())
    }
}

/// What every osquery record says about where and when.
struct Envelope<'a> {
    time: Option<DateTime<Utc>>,
    original_time: Option<std::borrow::Cow<'a, str>>,
    host: Option<std::borrow::Cow<'a, str>>,
    uid: Option<std::borrow::Cow<'a, str>>,
    query: Option<std::borrow::Cow<'a, str>>,
}

impl<'a> Envelope<'a> {
    fn read(m: &'a Map<String, Value>) -> Result<Self, DecodeError> {
        let calendar = m.get("calendarTime").and_then(as_text);
        let time = match (m.get("unixTime"), &calendar) {
            (Some(u), _) if !u.is_null() => Some(unix_time(u)?),
            (_, Some(c)) => Some(calendar_time(c).ok_or_else(|| {
                DecodeError::value("calendarTime", format!("not an osquery time: {c:?}"))
            })?),
            _ => None,
        };
        let original_time = calendar.or_else(|| m.get("unixTime").and_then(as_text));
        let decorations = m.get("decorations");
        let host = non_empty(m.get("hostIdentifier"))
            .or_else(|| non_empty(decorations.and_then(|d| d.get("hostname"))));
        Ok(Envelope {
            time,
            original_time,
            host,
            uid: non_empty(decorations.and_then(|d| d.get("host_uuid"))),
            query: non_empty(m.get("name")),
        })
    }

    /// Set the fields every row of the record shares.
    fn write(&self, row: &mut Row<'_>, log: &str) {
        if let Some(t) = self.time {
            row.time(Field::Time, t);
        }
        row.opt_str(Field::MetadataOriginalTime, self.original_time.as_deref());
        row.str(Field::MetadataProductName, PRODUCT);
        row.str(Field::MetadataLogName, log);
        row.opt_str(Field::DeviceHostname, self.host.as_deref());
        row.opt_str(Field::DeviceUid, self.uid.as_deref());
    }
}

/// A scalar as text, `None` when absent, null or empty.
fn non_empty(v: Option<&Value>) -> Option<std::borrow::Cow<'_, str>> {
    v.and_then(as_text).filter(|s| !s.is_empty())
}

/// `unixTime`: whole seconds as a number or a numeric string.
fn unix_time(v: &Value) -> Result<DateTime<Utc>, DecodeError> {
    as_int(v)
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or_else(|| DecodeError::value("unixTime", format!("not epoch seconds: {v}")))
}

/// `calendarTime` as osquery writes it: `asctime` in UTC plus ` UTC`, the
/// day padded with a space (`Wed Jun  9 18:29:49 2021 UTC`).
fn calendar_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let s = s.strip_suffix("UTC").unwrap_or(s).trim_end();
    let words: Vec<&str> = s.split_whitespace().collect();
    let joined = words.join(" ");
    let t = NaiveDateTime::parse_from_str(&joined, "%a %b %e %H:%M:%S %Y").ok()?;
    Some(Utc.from_utc_datetime(&t))
}

/// Where the rows of a record are.
enum Body<'a> {
    Differential(&'a Value),
    Snapshot(&'a [Value]),
    Batch {
        added: &'a [Value],
        removed: &'a [Value],
    },
    Status,
    Other,
}

impl<'a> Body<'a> {
    /// Find and check the rows, so that no row is written for a broken record.
    fn read(m: &'a Map<String, Value>) -> Result<Self, DecodeError> {
        let present = |k: &str| m.get(k).filter(|v| !v.is_null());
        if let Some(s) = present("snapshot") {
            return Ok(Body::Snapshot(rows_of(s, "snapshot")?));
        }
        if let Some(d) = present("diffResults") {
            let Value::Object(d) = d else {
                return Err(DecodeError::shape("diffResults is not an object"));
            };
            let side = |k: &str| match d.get(k).filter(|v| !v.is_null()) {
                Some(v) => rows_of(v, &format!("diffResults.{k}")),
                None => Ok(&[][..]),
            };
            let (added, removed) = (side("added")?, side("removed")?);
            return Ok(Body::Batch { added, removed });
        }
        if let Some(c) = m.get("columns") {
            return match c {
                Value::Object(_) => Ok(Body::Differential(c)),
                _ => Err(DecodeError::shape(format!(
                    "columns is not an object but {}",
                    kind(c)
                ))),
            };
        }
        if m.contains_key("message") && (m.contains_key("severity") || m.contains_key("filename")) {
            return Ok(Body::Status);
        }
        if ["hostIdentifier", "calendarTime", "unixTime"]
            .iter()
            .any(|k| m.contains_key(*k))
        {
            return Ok(Body::Other);
        }
        Err(DecodeError::shape(
            "not an osquery log: no columns, snapshot, diffResults, status message \
             or hostIdentifier",
        ))
    }
}

/// An array of row objects, checked.
fn rows_of<'a>(v: &'a Value, field: &str) -> Result<&'a [Value], DecodeError> {
    let Value::Array(a) = v else {
        return Err(DecodeError::shape(format!(
            "{field} is not an array but {}",
            kind(v)
        )));
    };
    match a.iter().position(|r| !r.is_object()) {
        Some(i) => Err(DecodeError::shape(format!(
            "{field}[{i}] is not an object but {}",
            kind(&a[i])
        ))),
        None => Ok(a),
    }
}

/// A JSON value's kind, for error messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One result row: a device posture row with the columns in `unmapped`.
fn result_row(
    rec: &Record<'_>,
    out: &mut Emitter,
    env: &Envelope<'_>,
    record: &Value,
    columns: &Value,
    action: Option<&str>,
    log: &str,
) {
    let mut row = out.row(rec, Class::DevicePosture);
    env.write(&mut row, log);
    row.int(Field::ActivityId, 2);
    row.str(Field::ActivityName, "Collect");
    row.int(Field::SeverityId, 1);
    row.opt_str(Field::QueryName, env.query.as_deref());
    row.opt_str(Field::Action, action);

    // Columns first, so a column named like an envelope key comes first.
    flatten_into(&mut row, columns, &[]);
    flatten_into(&mut row, record, RESULT_SKIP);
}

/// A status log line as a base event.
fn status_row(rec: &Record<'_>, out: &mut Emitter, env: &Envelope<'_>, record: &Value) {
    let mut row = out.row(rec, Class::BaseEvent);
    env.write(&mut row, "status");
    row.opt_str(Field::Message, text_at(record, "/message").as_deref());
    let level = record.get("severity").and_then(as_int);
    if let Some((id, name)) = level.and_then(glog_severity) {
        row.int(Field::SeverityId, id);
        row.str(Field::Severity, name);
    }
    flatten_into(&mut row, record, STATUS_SKIP);
}

/// glog's level as OCSF severity id and name.
fn glog_severity(level: i64) -> Option<(i64, &'static str)> {
    match level {
        0 => Some((1, "Informational")),
        1 => Some((3, "Medium")),
        2 => Some((4, "High")),
        3 => Some((6, "Fatal")),
        _ => None,
    }
}

/// An osquery record of no known shape: kept whole as a base event.
fn other_row(rec: &Record<'_>, out: &mut Emitter, env: &Envelope<'_>, record: &Value) {
    let mut row = out.row(rec, Class::BaseEvent);
    env.write(&mut row, "result");
    flatten_into(&mut row, record, &["hostIdentifier", "numerics"]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_time_with_a_padded_day() {
        let t = calendar_time("Wed Jun  9 18:29:49 2021 UTC").map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Some("2021-06-09T18:29:49+00:00"));
        let t = calendar_time("Fri Nov 22 01:47:25 2019 UTC").map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Some("2019-11-22T01:47:25+00:00"));
        assert_eq!(calendar_time("yesterday"), None);
    }

    #[test]
    fn unix_time_as_text_or_number() {
        let a = unix_time(&Value::from("1574387245")).map(|t| t.timestamp());
        let b = unix_time(&Value::from(1574387245)).map(|t| t.timestamp());
        assert_eq!(a, Ok(1574387245));
        assert_eq!(b, Ok(1574387245));
        assert!(unix_time(&Value::from("soon")).is_err());
    }
}
