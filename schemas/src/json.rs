//! Rows as OCSF JSON: the column's OCSF path becomes nesting again.
//!
//! `src_endpoint_ip` is written as `{"src_endpoint": {"ip": ...}}`. Rules:
//!
//! - Null columns are left out.
//! - Timestamps are OCSF `timestamp_t` (milliseconds since the epoch) at
//!   their path, with the full microsecond value as RFC 3339 text beside it
//!   under `<name>_dt`, as OCSF's date/time profile does.
//! - A path with `[]` (`finding_info.attacks[].technique.uid`) holds a
//!   comma-separated list in its column and becomes an array of objects.
//! - `unmapped` becomes an object of its keys; columns that are vigil
//!   extensions (no OCSF attribute) go under `unmapped.vigil`, so the rest
//!   of the document stays plain OCSF.
//! - `evidences` holds JSON text in its column and is embedded as JSON.
//! - Where two paths collide (a leaf where another path needs an object),
//!   the later one goes under `unmapped.vigil` by column name instead of
//!   overwriting.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use serde_json::{Map, Value};

use crate::{ColType, Field};

/// The OCSF JSON of row `row` of `batch`. Columns whose name vigil does not
/// know are rendered under `unmapped.vigil` by name.
pub fn row_to_ocsf(batch: &RecordBatch, row: usize) -> Map<String, Value> {
    let mut doc = Map::new();
    let mut extra = Map::new();
    let schema = batch.schema();
    for (i, col) in batch.columns().iter().enumerate() {
        if col.is_null(row) {
            continue;
        }
        let name = schema.field(i).name();
        let Some(field) = Field::from_name(name) else {
            if let Some(v) = plain_value(col, row) {
                extra.insert(name.clone(), v);
            }
            continue;
        };
        let def = field.def();
        match def.ty {
            ColType::Map => {
                let obj = map_value(col, row);
                if !obj.is_empty() {
                    doc.insert(def.ocsf_path.to_string(), Value::Object(obj));
                }
            }
            _ if def.ocsf_path == "vigil extension" => {
                if let Some(v) = typed_value(def.ty, col, row) {
                    extra.insert(def.name.to_string(), v);
                }
            }
            ColType::Timestamp => {
                let us = col.as_primitive::<TimestampMicrosecondType>().value(row);
                let placed = place(&mut doc, def.ocsf_path, Value::from(us.div_euclid(1000)));
                let dt = chrono::DateTime::from_timestamp_micros(us)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
                if let (true, Some(dt)) = (placed, dt) {
                    place(&mut doc, &format!("{}_dt", def.ocsf_path), Value::from(dt));
                } else if !placed {
                    extra.insert(def.name.to_string(), Value::from(us));
                }
            }
            ty => {
                let Some(mut v) = typed_value(ty, col, row) else {
                    continue;
                };
                if field == Field::Evidences
                    && let Some(parsed) = v.as_str().and_then(|t| serde_json::from_str(t).ok())
                {
                    v = parsed;
                }
                let placed = match def.ocsf_path.split_once("[].") {
                    Some((list, inner)) => place_list(&mut doc, list, inner, &v),
                    None => place(&mut doc, def.ocsf_path, v.clone()),
                };
                if !placed {
                    extra.insert(def.name.to_string(), v);
                }
            }
        }
    }
    if !extra.is_empty() {
        let unmapped = doc
            .entry("unmapped")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(u) = unmapped {
            u.insert("vigil".into(), Value::Object(extra));
        }
    }
    doc
}

/// Every row of `batch` as one line of OCSF JSON each, appended to `out`.
pub fn batch_to_ndjson(batch: &RecordBatch, out: &mut Vec<u8>) {
    for row in 0..batch.num_rows() {
        let doc = Value::Object(row_to_ocsf(batch, row));
        // N.B. serialising a Value to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &doc);
        out.push(b'\n');
    }
}

fn typed_value(ty: ColType, col: &ArrayRef, row: usize) -> Option<Value> {
    Some(match ty {
        ColType::Utf8 => Value::from(col.as_string_opt::<i32>()?.value(row)),
        ColType::Int32 => Value::from(col.as_primitive_opt::<Int32Type>()?.value(row)),
        ColType::Int64 => Value::from(col.as_primitive_opt::<Int64Type>()?.value(row)),
        ColType::Float64 => {
            let f = col.as_primitive_opt::<Float64Type>()?.value(row);
            serde_json::Number::from_f64(f).map(Value::Number)?
        }
        ColType::Bool => Value::from(col.as_boolean_opt()?.value(row)),
        ColType::Timestamp => Value::from(
            col.as_primitive_opt::<TimestampMicrosecondType>()?
                .value(row),
        ),
        ColType::Map => Value::Object(map_value(col, row)),
    })
}

/// A column vigil does not know: text, numbers and booleans by their
/// Arrow type, anything else left out.
fn plain_value(col: &ArrayRef, row: usize) -> Option<Value> {
    use arrow_schema::DataType as D;
    let ty = match col.data_type() {
        D::Utf8 => ColType::Utf8,
        D::Int32 => ColType::Int32,
        D::Int64 => ColType::Int64,
        D::Float64 => ColType::Float64,
        D::Boolean => ColType::Bool,
        D::Timestamp(_, _) => ColType::Timestamp,
        _ => return None,
    };
    typed_value(ty, col, row)
}

fn map_value(col: &ArrayRef, row: usize) -> Map<String, Value> {
    let mut obj = Map::new();
    let Some(m) = col.as_map_opt() else {
        return obj;
    };
    let entries = m.value(row);
    let (Some(keys), Some(vals)) = (
        entries.column(0).as_string_opt::<i32>(),
        entries.column(1).as_string_opt::<i32>(),
    ) else {
        return obj;
    };
    for i in 0..entries.len() {
        if keys.is_null(i) {
            continue;
        }
        let v = if vals.is_null(i) {
            Value::Null
        } else {
            Value::from(vals.value(i))
        };
        obj.insert(keys.value(i).to_string(), v);
    }
    obj
}

/// Put `v` at the dotted `path`; false when a leaf already sits where an
/// object is needed (or the reverse).
fn place(doc: &mut Map<String, Value>, path: &str, v: Value) -> bool {
    let mut parts = path.split('.').peekable();
    let mut cur = doc;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            if cur.contains_key(p) {
                return false;
            }
            cur.insert(p.to_string(), v);
            return true;
        }
        let next = cur
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        match next {
            Value::Object(o) => cur = o,
            _ => return false,
        }
    }
    false
}

/// `list[].inner` from a comma-separated text value: one object per item.
fn place_list(doc: &mut Map<String, Value>, list: &str, inner: &str, v: &Value) -> bool {
    let Some(text) = v.as_str() else {
        return place(doc, &format!("{list}.{inner}"), v.clone());
    };
    let items: Vec<Value> = text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let mut o = Map::new();
            place(&mut o, inner, Value::from(s));
            Value::Object(o)
        })
        .collect();
    if items.is_empty() {
        return true;
    }
    place(doc, list, Value::Array(items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BatchBuilder, Class};

    #[test]
    fn a_finding_row_nests_by_ocsf_path() {
        let mut b = BatchBuilder::new(Class::DetectionFinding);
        let mut r = b.row();
        r.time_us(Field::Time, 1_603_355_395_123_456);
        r.int(Field::SeverityId, 4).str(Field::Severity, "High");
        r.str(Field::FindingInfoUid, "f1");
        r.str(Field::FindingInfoAttackTechniques, "T1558.003, T1110");
        r.str(Field::EntityType, "user")
            .str(Field::EntityId, "pgustavo");
        r.str(Field::SrcEndpointIp, "172.18.39.5");
        r.finish();
        let batch = b.finish();
        let doc = Value::Object(row_to_ocsf(&batch, 0));
        assert_eq!(doc["time"], 1_603_355_395_123_i64);
        assert_eq!(doc["time_dt"], "2020-10-22T08:29:55.123456Z");
        assert_eq!(doc["severity_id"], 4);
        assert_eq!(doc["finding_info"]["uid"], "f1");
        assert_eq!(
            doc["finding_info"]["attacks"],
            serde_json::json!([{"technique": {"uid": "T1558.003"}}, {"technique": {"uid": "T1110"}}])
        );
        assert_eq!(doc["src_endpoint"]["ip"], "172.18.39.5");
        assert_eq!(doc["unmapped"]["vigil"]["entity_id"], "pgustavo");
        assert_eq!(doc["class_uid"], 2004);
        assert!(doc.get("raw_data").is_none(), "null columns are left out");
    }

    #[test]
    fn unmapped_keys_and_ndjson_lines() {
        let mut b = BatchBuilder::new(Class::Authentication);
        for user in ["alice", "bob"] {
            let mut r = b.row();
            r.str(Field::UserName, user).unmapped("LogonType", "3");
            r.finish();
        }
        let batch = b.finish();
        let mut out = Vec::new();
        batch_to_ndjson(&batch, &mut out);
        let text = String::from_utf8(out).expect("JSON is UTF-8");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["user"]["name"], "bob");
        assert_eq!(lines[0]["unmapped"]["LogonType"], "3");
    }

    #[test]
    fn a_collision_goes_to_unmapped_instead_of_overwriting() {
        let mut doc = Map::new();
        assert!(place(&mut doc, "a.b", Value::from(1)));
        assert!(!place(&mut doc, "a.b.c", Value::from(2)));
        assert!(!place(&mut doc, "a", Value::from(3)));
        assert_eq!(Value::Object(doc), serde_json::json!({"a": {"b": 1}}));
    }
}
