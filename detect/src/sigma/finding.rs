//! Rule matches as `detection_finding` rows (OCSF 2004).
//!
//! One row per (rule, matched event). The finding id is a hash of the rule
//! id and the event's `event_uid`, so a replay of the same input yields the
//! same ids and receivers can drop duplicates. The entity is the event's
//! user (`user_name`, lower-cased), else its host (`device_hostname`),
//! else its source address. Time is the event's time. The event itself,
//! in OCSF JSON, is the finding's evidence.
//!
//! A correlation finding's id hashes the correlation id, the group key and
//! the uid of the window's first event, so a replay (or the same events in
//! another order within the lateness) gives the same id. Its evidence is
//! the list of contributing event uids.

use arrow::array::{Array, AsArray, StringArray};
use arrow::datatypes::TimestampMicrosecondType;
use arrow_array::RecordBatch;
use vigil_schemas::{BatchBuilder, Class, Field};

use super::RuleMeta;
use super::correlate::{Alert, Correlation, EVIDENCE_CAP, EntityKind};

/// The stable id of the finding of `rule_id` on the event `event_uid`.
pub fn finding_uid(rule_id: &str, event_uid: &str) -> String {
    let mut key = Vec::with_capacity(rule_id.len() + event_uid.len() + 1);
    key.extend_from_slice(rule_id.as_bytes());
    key.push(0);
    key.extend_from_slice(event_uid.as_bytes());
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(&key))
}

fn text_col<'b>(batch: &'b RecordBatch, name: &str) -> Option<&'b StringArray> {
    batch.column_by_name(name)?.as_string_opt::<i32>()
}

fn text_at(col: Option<&StringArray>, row: usize) -> Option<&str> {
    col.filter(|c| c.is_valid(row)).map(|c| c.value(row))
}

/// The event columns a finding copies.
struct EventCols<'b> {
    uid: Option<&'b StringArray>,
    user: Option<&'b StringArray>,
    host: Option<&'b StringArray>,
    ip: Option<&'b StringArray>,
    time: Option<&'b arrow::array::PrimitiveArray<TimestampMicrosecondType>>,
}

impl<'b> EventCols<'b> {
    fn new(batch: &'b RecordBatch) -> EventCols<'b> {
        EventCols {
            uid: text_col(batch, "event_uid"),
            user: text_col(batch, "user_name"),
            host: text_col(batch, "device_hostname"),
            ip: text_col(batch, "src_endpoint_ip"),
            time: batch
                .column_by_name("time")
                .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>()),
        }
    }

    fn entity(&self, row: usize) -> Option<(&'static str, String)> {
        if let Some(u) = text_at(self.user, row).filter(|s| !s.is_empty()) {
            return Some(("user", u.to_lowercase()));
        }
        if let Some(h) = text_at(self.host, row).filter(|s| !s.is_empty()) {
            return Some(("device", h.to_lowercase()));
        }
        text_at(self.ip, row).map(|i| ("ip", i.to_string()))
    }
}

/// The matched event as an OCSF evidence list: `[{"data": <event>}]`,
/// the event in OCSF JSON without its `raw_data` (which stays in the
/// event's own table, reachable by `evidences_event_uids`).
pub(crate) fn evidence(batch: &RecordBatch, row: usize) -> String {
    let mut event = vigil_schemas::json::row_to_ocsf(batch, row);
    event.remove("raw_data");
    let mut item = serde_json::Map::new();
    item.insert("data".into(), serde_json::Value::Object(event));
    serde_json::Value::Array(vec![serde_json::Value::Object(item)]).to_string()
}

/// Finding rows for `hits`: each rule with the rows of `batch` it matched.
pub(crate) fn findings(batch: &RecordBatch, hits: &[(&RuleMeta, Vec<usize>)]) -> RecordBatch {
    let ev = EventCols::new(batch);
    let mut b = BatchBuilder::new(Class::DetectionFinding);
    for (meta, rows) in hits {
        let techniques = meta.techniques().join(",");
        let tags = meta.tags.join(",");
        let (sev_id, sev) = meta.severity();
        for &row in rows {
            let uid = text_at(ev.uid, row).unwrap_or("");
            let mut r = b.row();
            if let Some(t) = ev.time.filter(|t| t.is_valid(row)) {
                r.time_us(Field::Time, t.value(row));
            }
            r.int(Field::ActivityId, 1)
                .str(Field::ActivityName, "Create");
            r.int(Field::SeverityId, sev_id).str(Field::Severity, sev);
            r.str(Field::MetadataProductName, "vigil");
            r.str(Field::MetadataLogName, "sigma");
            let fid = finding_uid(&meta.id, uid);
            r.str(Field::EventUid, &fid)
                .str(Field::FindingInfoUid, &fid);
            r.str(Field::FindingInfoTitle, &meta.title);
            r.opt_str(Field::FindingInfoDesc, meta.description.as_deref());
            r.str(Field::FindingInfoAnalyticUid, &meta.id);
            r.str(Field::FindingInfoAnalyticName, &meta.title);
            r.str(Field::FindingInfoAttackTechniques, &techniques);
            r.str(Field::FindingInfoTags, &tags);
            r.str(Field::EvidencesEventUids, uid);
            r.str(Field::Evidences, &evidence(batch, row));
            if let Some((kind, id)) = ev.entity(row) {
                r.str(Field::EntityType, kind).str(Field::EntityId, &id);
            }
            r.opt_str(Field::UserName, text_at(ev.user, row));
            r.opt_str(Field::DeviceHostname, text_at(ev.host, row));
            r.opt_str(Field::SrcEndpointIp, text_at(ev.ip, row));
        }
    }
    b.finish()
}

/// The stable id of a correlation finding: the correlation, the group
/// and the first event of its window.
pub(crate) fn correlation_uid(corr_id: &str, a: &Alert) -> String {
    let mut what = a.key.join("\u{1f}");
    what.push('\u{1e}');
    what.push_str(&a.first_uid);
    finding_uid(corr_id, &what)
}

/// A count or aggregate as text: whole numbers without decimals.
fn number_text(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

/// Finding rows for correlations that fired. The entity is the first
/// group-by value naming a user, else a device, else an address; the
/// description says what held (`event_count 7 for WorkstationName=...`).
pub(crate) fn correlation_findings(list: &[Correlation], alerts: &[Alert]) -> RecordBatch {
    let mut b = BatchBuilder::new(Class::DetectionFinding);
    for a in alerts {
        let c = &list[a.corr];
        let meta = &c.meta;
        let (sev_id, sev) = meta.severity();
        let fid = correlation_uid(&meta.id, a);
        let group: Vec<String> = c
            .group_names
            .iter()
            .zip(&a.key)
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        let mut desc = format!(
            "{} {} for {} within {} (condition {})",
            c.type_name,
            number_text(a.value),
            if group.is_empty() {
                "all events".to_string()
            } else {
                group.join(", ")
            },
            c.span_text,
            c.condition_text
        );
        if a.evidence.len() > EVIDENCE_CAP {
            desc.push_str(&format!(
                "; evidence lists {EVIDENCE_CAP} of {} events",
                a.evidence.len()
            ));
        }
        if let Some(d) = &meta.description {
            desc = format!("{} {desc}", d.trim_end());
        }
        let by_kind = |k: EntityKind| {
            c.group_kinds
                .iter()
                .zip(&a.key)
                .find(|(kind, _)| **kind == Some(k))
                .map(|(_, v)| v.as_str())
        };
        let mut r = b.row();
        r.time_us(Field::Time, a.time);
        r.int(Field::ActivityId, 1)
            .str(Field::ActivityName, "Create");
        r.int(Field::SeverityId, sev_id).str(Field::Severity, sev);
        r.str(Field::MetadataProductName, "vigil");
        r.str(Field::MetadataLogName, "sigma_correlation");
        r.str(Field::EventUid, &fid)
            .str(Field::FindingInfoUid, &fid);
        r.str(Field::FindingInfoTitle, &meta.title);
        r.str(Field::FindingInfoDesc, &desc);
        r.str(Field::FindingInfoAnalyticUid, &meta.id);
        r.str(Field::FindingInfoAnalyticName, &meta.title);
        r.str(
            Field::FindingInfoAttackTechniques,
            &meta.techniques().join(","),
        );
        r.str(Field::FindingInfoTags, &meta.tags.join(","));
        let shown = &a.evidence[..a.evidence.len().min(EVIDENCE_CAP)];
        r.str(Field::EvidencesEventUids, &shown.join(","));
        let entity = [EntityKind::User, EntityKind::Device, EntityKind::Ip]
            .into_iter()
            .find_map(|k| by_kind(k).map(|v| (k, v)));
        if let Some((k, v)) = entity {
            let id = if k == EntityKind::Ip {
                v.to_string()
            } else {
                v.to_lowercase()
            };
            r.str(Field::EntityType, k.name()).str(Field::EntityId, &id);
        }
        r.opt_str(Field::UserName, by_kind(EntityKind::User));
        r.opt_str(Field::DeviceHostname, by_kind(EntityKind::Device));
        r.opt_str(Field::SrcEndpointIp, by_kind(EntityKind::Ip));
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finding_uid_is_stable_and_depends_on_both_parts() {
        let a = finding_uid("496a0e47", "ev-1");
        assert_eq!(a, finding_uid("496a0e47", "ev-1"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, finding_uid("496a0e47", "ev-2"));
        assert_ne!(a, finding_uid("496a0e4", "7ev-1"));
    }
}
