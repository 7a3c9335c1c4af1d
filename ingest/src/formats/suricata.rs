//! Suricata EVE JSON: one object per event, kind given by `event_type`.
//!
//! Which class:
//! - `flow`, `netflow`, `alert`, `drop` and the application-layer events
//!   (`dns`, `http`, `tls`, `quic`, `ssh`, `smb`, `krb5`, `rdp`, ...) are
//!   `network_activity` (OCSF 4001): each names a flow by its 5-tuple and
//!   `flow_id`. Activity is 6 "Traffic" (an EVE record reports traffic seen
//!   on a flow, not a state change of it).
//! - everything else (`fileinfo`, `anomaly`, `stats`, ...) is a `base_event`;
//!   `fileinfo` describes a file, `stats` the engine.
//!
//! What is mapped: `flow_id` to `connection_info_uid`, `src_ip`/`dest_ip`
//! and ports, `proto` (name and IANA number), `app_proto` as `app_name`
//! (unless `failed`), `host` (the sensor) as `device_hostname`; the `flow`
//! object's `*_toserver` as out and `*_toclient` as in, `start`/`end` and
//! their difference as duration; `netflow` (one direction) as out and
//! total. An `alert` takes its severity from `alert.severity` (Suricata's
//! 1 is the highest: 1 high, 2 medium, 3 low, others informational), its
//! action from `alert.action` (`allowed` 1, `blocked` 2), its signature as
//! the message and its `signature_id` as the event code; `drop` is denied.
//! dns, http, tls and quic fill the query, request and TLS columns.
//!
//! Nothing is dropped: every field also goes to `unmapped` under its EVE
//! path (`alert.signature`, `alert.signature_id`, `flow.pkts_toserver`).
//! `metadata_log_name` is the `event_type`. Time is `timestamp`, whose
//! offset Suricata writes without a colon (`+0200`).

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use vigil_schemas::{Class, Field, Row};

use super::util::{as_int, flatten_into, parse_json, parse_time_str};
use super::zeek::netcommon as net;
use crate::decode::{DecodeConfig, DecodeError, Decoder, Record};
use crate::emit::Emitter;

/// Event types that describe traffic on a flow.
const NETWORK_EVENTS: &[&str] = &[
    "flow",
    "netflow",
    "alert",
    "drop",
    "dns",
    "http",
    "http2",
    "tls",
    "quic",
    "ssh",
    "smb",
    "krb5",
    "rdp",
    "ftp",
    "ftp_data",
    "smtp",
    "dcerpc",
    "dhcp",
    "sip",
    "snmp",
    "tftp",
    "ikev2",
    "nfs",
    "rfb",
    "mqtt",
    "pgsql",
    "ldap",
    "websocket",
];

struct Eve;

/// A decoder for Suricata EVE JSON.
pub fn decoder(_cfg: &DecodeConfig) -> Box<dyn Decoder> {
    Box::new(Eve)
}

impl Decoder for Eve {
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
        let v = parse_json(rec.text)?;
        let Value::Object(m) = &v else {
            return Err(DecodeError::shape("suricata eve record is not an object"));
        };
        let Some(kind) = m.get("event_type").and_then(Value::as_str) else {
            return Err(DecodeError::shape("suricata eve record has no event_type"));
        };
        let stamp = m.get("timestamp").and_then(Value::as_str);
        let time = stamp.map(record_time).transpose()?;

        let network = NETWORK_EVENTS.contains(&kind);
        let class = if network {
            Class::NetworkActivity
        } else {
            Class::BaseEvent
        };
        let mut row = out.row(rec, class);
        if network {
            by_event(&mut row, m, kind);
            endpoints(&mut row, m);
            net::traffic(&mut row);
        } else {
            opt_ip(&mut row, Field::SrcEndpointIp, m.get("src_ip"));
        }
        common(&mut row, m, kind, time, stamp);
        flatten_into(&mut row, &v, &[]);
        Ok(())
    }
}

fn record_time(text: &str) -> Result<DateTime<Utc>, DecodeError> {
    eve_time(text)
        .ok_or_else(|| DecodeError::value("timestamp", format!("{text:?} is not an EVE timestamp")))
}

/// EVE's `2011-08-12T14:52:57.716360+0200`, or any RFC 3339 form.
fn eve_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .map(|t| t.to_utc())
        .ok()
        .or_else(|| parse_time_str(text))
}

fn common(
    row: &mut Row<'_>,
    m: &Map<String, Value>,
    kind: &str,
    time: Option<DateTime<Utc>>,
    stamp: Option<&str>,
) {
    row.str(Field::MetadataProductName, "Suricata");
    row.str(Field::MetadataProductVendorName, "OISF");
    row.str(Field::MetadataLogName, kind);
    if let Some(t) = time {
        row.time(Field::Time, t);
    }
    row.opt_str(Field::MetadataOriginalTime, stamp);
    row.opt_str(Field::DeviceHostname, m.get("host").and_then(Value::as_str));
    // N.B. the first value set wins: an alert has set its own severity.
    net::severity(row, 1);
}

fn opt_ip(row: &mut Row<'_>, field: Field, v: Option<&Value>) {
    if let Some(ip) = v.and_then(Value::as_str) {
        row.ip(field, ip);
    }
}

fn opt_int(row: &mut Row<'_>, field: Field, v: Option<&Value>) {
    if let Some(n) = v.and_then(as_int) {
        row.int(field, n);
    }
}

fn endpoints(row: &mut Row<'_>, m: &Map<String, Value>) {
    opt_ip(row, Field::SrcEndpointIp, m.get("src_ip"));
    opt_int(row, Field::SrcEndpointPort, m.get("src_port"));
    opt_ip(row, Field::DstEndpointIp, m.get("dest_ip"));
    opt_int(row, Field::DstEndpointPort, m.get("dest_port"));
    if let Some(id) = m.get("flow_id").and_then(as_int) {
        row.str(Field::ConnectionInfoUid, &id.to_string());
    }
    if let Some(proto) = m.get("proto").and_then(Value::as_str) {
        match net::protocol_num(proto) {
            Some(n) => net::set_protocol_num(row, n),
            None => {
                row.str(
                    Field::ConnectionInfoProtocolName,
                    &proto.to_ascii_lowercase(),
                );
            }
        }
    }
    let app = m.get("app_proto").and_then(Value::as_str);
    row.opt_str(Field::AppName, app.filter(|a| *a != "failed"));
}

fn by_event(row: &mut Row<'_>, m: &Map<String, Value>, kind: &str) {
    match kind {
        "alert" => alert(row, m.get("alert")),
        "drop" => net::action(row, false),
        _ => {}
    }
    if let Some(f) = m.get("flow") {
        flow(row, f);
    }
    if let Some(f) = m.get("netflow") {
        netflow(row, f);
    }
    if let Some(d) = m.get("dns") {
        dns(row, d);
    }
    if let Some(h) = m.get("http") {
        http(row, h);
    }
    tls(row, m);
}

fn tls(row: &mut Row<'_>, m: &Map<String, Value>) {
    let s = |obj: &str, k: &str| m.get(obj).and_then(|o| o.get(k)).and_then(Value::as_str);
    row.opt_str(Field::TlsSni, s("tls", "sni"));
    row.opt_str(Field::TlsVersion, s("tls", "version"));
    row.opt_str(Field::TlsCertificateSubject, s("tls", "subject"));
    row.opt_str(Field::TlsSni, s("quic", "sni"));
    row.opt_str(Field::HttpRequestUserAgent, s("quic", "ua"));
}

/// Suricata severity (1 highest) as OCSF severity.
fn alert_severity(sev: i64) -> i64 {
    match sev {
        1 => 4,
        2 => 3,
        3 => 2,
        _ => 1,
    }
}

fn alert(row: &mut Row<'_>, a: Option<&Value>) {
    let Some(a) = a else { return };
    if let Some(sev) = a.get("severity").and_then(as_int) {
        net::severity(row, alert_severity(sev));
    }
    match a.get("action").and_then(Value::as_str) {
        Some("allowed") => net::action(row, true),
        Some("blocked") => net::action(row, false),
        _ => {}
    }
    row.opt_str(Field::Message, a.get("signature").and_then(Value::as_str));
    if let Some(sid) = a.get("signature_id").and_then(as_int) {
        row.str(Field::MetadataEventCode, &sid.to_string());
    }
}

fn flow(row: &mut Row<'_>, f: &Value) {
    let n = |k: &str| f.get(k).and_then(as_int);
    net::bytes(row, n("bytes_toserver"), n("bytes_toclient"));
    net::packets(row, n("pkts_toserver"), n("pkts_toclient"));
    span(row, f);
}

fn netflow(row: &mut Row<'_>, f: &Value) {
    let n = |k: &str| f.get(k).and_then(as_int);
    net::bytes(row, n("bytes"), None);
    net::packets(row, n("pkts"), None);
    opt_int(row, Field::TrafficBytes, f.get("bytes"));
    opt_int(row, Field::TrafficPackets, f.get("pkts"));
    span(row, f);
}

/// `start`, `end` and the milliseconds between them.
fn span(row: &mut Row<'_>, f: &Value) {
    let t = |k: &str| f.get(k).and_then(Value::as_str).and_then(eve_time);
    let (start, end) = (t("start"), t("end"));
    if let Some(s) = start {
        row.time(Field::StartTime, s);
    }
    if let Some(e) = end {
        row.time(Field::EndTime, e);
    }
    if let (Some(s), Some(e)) = (start, end) {
        let us = e.timestamp_micros().saturating_sub(s.timestamp_micros());
        row.int(Field::Duration, net::us_to_ms(us));
    }
}

fn dns(row: &mut Row<'_>, d: &Value) {
    // EVE v2 puts the query at the top of `dns`; v3 in `dns.queries[0]`.
    let q = d.pointer("/queries/0").unwrap_or(d);
    row.opt_str(
        Field::QueryHostname,
        q.get("rrname").and_then(Value::as_str),
    );
    row.opt_str(Field::QueryType, q.get("rrtype").and_then(Value::as_str));
    row.opt_str(Field::Rcode, d.get("rcode").and_then(Value::as_str));
}

fn http(row: &mut Row<'_>, h: &Value) {
    let s = |k: &str| h.get(k).and_then(Value::as_str);
    row.opt_str(Field::HttpRequestHttpMethod, s("http_method"));
    row.opt_str(Field::HttpRequestUrlHostname, s("hostname"));
    row.opt_str(Field::HttpRequestUrlPath, s("url"));
    row.opt_str(Field::HttpRequestUserAgent, s("http_user_agent"));
    if let Some(code) = h.get("status").and_then(as_int) {
        row.int(Field::HttpResponseCode, code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eve_offsets_without_a_colon() {
        let t = eve_time("2011-08-12T14:52:57.716360+0200").map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Some("2011-08-12T12:52:57.716360+00:00"));
        let t = eve_time("2016-06-08T20:01:52.875791+0000").map(|t| t.timestamp_micros());
        assert_eq!(t, Some(1_465_416_112_875_791));
        assert!(eve_time("2016-06-08T20:01:52.875791+00:00").is_some());
        assert!(eve_time("June 8th").is_none());
    }

    #[test]
    fn suricata_one_is_the_highest_severity() {
        assert_eq!(alert_severity(1), 4);
        assert_eq!(alert_severity(2), 3);
        assert_eq!(alert_severity(3), 2);
        assert_eq!(alert_severity(4), 1);
    }
}
