//! One Zeek log entry, read from TSV or JSON, written as a class row.
//!
//! Both encodings are first turned into an [`Entry`]: the log's path and
//! its fields under their Zeek names (`id.orig_h`), with unset fields left
//! out, booleans as `true`/`false` and containers as lists. The mapping
//! below therefore treats a TSV line and a JSON object the same way.

use std::borrow::Cow;

use vigil_schemas::{Class, Field, Row};

use crate::decode::{DecodeError, Record};
use crate::emit::Emitter;
use crate::formats::util::parse_time_str;
use crate::formats::zeek::netcommon as net;

/// A field value: text, or the elements of a set or vector.
#[derive(Debug, PartialEq)]
pub(crate) enum Val<'a> {
    /// A scalar written as text (`T`/`F` already read as `true`/`false`).
    Text(Cow<'a, str>),
    /// A set or vector (an empty one for `(empty)`).
    List(Vec<Cow<'a, str>>),
}

/// One log entry, whatever the encoding.
#[derive(Debug)]
pub(crate) struct Entry<'a> {
    /// The log path (`conn`, `dns`, ...).
    pub path: Cow<'a, str>,
    /// Set fields in source order, under their Zeek names.
    pub fields: Vec<(Cow<'a, str>, Val<'a>)>,
}

impl Entry<'_> {
    /// A scalar field's text.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| match v {
                Val::Text(t) => Some(t.as_ref()),
                Val::List(_) => None,
            })
    }
}

/// Logs about a connection or an application exchange on one: these are
/// network activity. The first ten are the core set; the others are the
/// remaining Zeek application-protocol logs that carry `uid` and `id.*`.
/// Everything else (files, x509, pe, weird, notice, analyzer, dpd, ...)
/// describes files, certificates or the sensor, and is a base event.
const NETWORK_LOGS: &[&str] = &[
    "conn",
    "ssh",
    "rdp",
    "ntlm",
    "kerberos",
    "dns",
    "http",
    "ssl",
    "smb_mapping",
    "dce_rpc",
    "smb_files",
    "ftp",
    "smtp",
    "quic",
    "irc",
    "sip",
    "snmp",
    "socks",
    "mysql",
    "radius",
    "ntp",
];

/// Which log an entry without `#path` / `_path` comes from, by a field only
/// that log has; `None` when no field tells.
pub(crate) fn infer_path<'n>(names: impl Iterator<Item = &'n str>) -> Option<&'static str> {
    const MARKERS: &[(&str, &str)] = &[
        ("conn_state", "conn"),
        ("qtype_name", "dns"),
        ("status_code", "http"),
        ("server_name", "ssl"),
        ("auth_success", "ssh"),
        ("server_nb_computer_name", "ntlm"),
        ("request_type", "kerberos"),
        ("security_protocol", "rdp"),
        ("share_type", "smb_mapping"),
        ("named_pipe", "dce_rpc"),
        ("certificate.serial", "x509"),
        ("note", "notice"),
        ("fuid", "files"),
    ];
    let names: Vec<&str> = names.collect();
    MARKERS
        .iter()
        .find(|(m, _)| names.contains(m))
        .map(|(_, path)| *path)
}

/// Read a Zeek time: epoch seconds with a fraction (TSV, JSON default) or
/// ISO 8601 (JSON with `json_timestamps=JSON::TS_ISO8601`).
fn parse_ts(text: &str) -> Option<i64> {
    net::decimal_seconds_us(text).or_else(|| parse_time_str(text).map(|t| t.timestamp_micros()))
}

/// Write `e` as one row: network activity for the logs in [`NETWORK_LOGS`],
/// a base event otherwise. Every field also goes to `unmapped` under its
/// Zeek name.
///
/// # Errors
///
/// A `ts` that is not a time, before any row is written.
pub(crate) fn emit(e: &Entry<'_>, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
    let ts = match e.text("ts") {
        Some(t) => Some(parse_ts(t).ok_or_else(|| {
            DecodeError::value("ts", format!("{t:?} is neither epoch seconds nor ISO 8601"))
        })?),
        None => None,
    };
    let network = NETWORK_LOGS.contains(&e.path.as_ref());
    let class = if network {
        Class::NetworkActivity
    } else {
        Class::BaseEvent
    };

    let mut row = out.row(rec, class);
    common(&mut row, e, ts);
    if network {
        endpoints(&mut row, e);
        by_log(&mut row, e, ts);
    } else {
        base(&mut row, e);
    }
    unmapped(&mut row, e);
    Ok(())
}

fn common(row: &mut Row<'_>, e: &Entry<'_>, ts: Option<i64>) {
    row.str(Field::MetadataProductName, "Zeek");
    row.str(Field::MetadataProductVendorName, "Zeek Project");
    row.str(Field::MetadataLogName, &e.path);
    if let Some(us) = ts {
        row.time_us(Field::Time, us);
        row.opt_str(Field::MetadataOriginalTime, e.text("ts"));
    }
    row.opt_str(Field::DeviceHostname, e.text("@system"));
    net::severity(row, 1);
}

fn endpoints(row: &mut Row<'_>, e: &Entry<'_>) {
    let resp = e
        .text("id.resp_h")
        .and_then(|h| row.ip(Field::DstEndpointIp, h));
    if let Some(h) = e.text("id.orig_h") {
        row.ip(Field::SrcEndpointIp, h);
    }
    row.opt_str(Field::SrcEndpointPort, e.text("id.orig_p"));
    row.opt_str(Field::DstEndpointPort, e.text("id.resp_p"));
    row.opt_str(Field::ConnectionInfoUid, e.text("uid"));
    if let Some(proto) = e.text("proto") {
        // N.B. Zeek says `icmp` for ICMPv6 too; the address family tells.
        let v6 = resp.is_some_and(|ip| ip.is_ipv6());
        match net::protocol_num(proto) {
            Some(1) if v6 => net::set_protocol_num(row, 58),
            Some(n) => net::set_protocol_num(row, n),
            None => {
                row.str(
                    Field::ConnectionInfoProtocolName,
                    &proto.to_ascii_lowercase(),
                );
            }
        }
    }
    let app = if e.path == "conn" {
        e.text("service")
    } else {
        Some(e.path.as_ref())
    };
    row.opt_str(Field::AppName, app);
}

fn by_log(row: &mut Row<'_>, e: &Entry<'_>, ts: Option<i64>) {
    match e.path.as_ref() {
        "conn" => conn(row, e, ts),
        "dns" => dns(row, e),
        "http" => http(row, e),
        "ssl" => ssl(row, e),
        "ssh" => ssh(row, e),
        "ntlm" => ntlm(row, e),
        "kerberos" => kerberos(row, e),
        "ftp" => {
            row.opt_str(Field::UserName, e.text("user"));
        }
        _ => {}
    }
    net::traffic(row);
}

/// Zeek `conn_state` as an OCSF network activity: how the connection
/// went, as far as the sensor saw it.
fn conn_activity(state: &str) -> (i64, &'static str) {
    match state {
        "S1" => (1, "Open"),
        "SF" | "S2" | "S3" => (2, "Close"),
        "RSTO" | "RSTR" | "RSTOS0" | "RSTRH" => (3, "Reset"),
        "S0" => (4, "Fail"),
        "REJ" => (5, "Refuse"),
        _ => (99, "Other"),
    }
}

fn conn(row: &mut Row<'_>, e: &Entry<'_>, ts: Option<i64>) {
    if let Some(state) = e.text("conn_state") {
        let (id, name) = conn_activity(state);
        net::activity(row, id, name);
    }
    let direction = match (e.text("local_orig"), e.text("local_resp")) {
        (Some("true"), Some("true")) => Some("lateral"),
        (Some("true"), Some("false")) => Some("outbound"),
        (Some("false"), Some("true")) => Some("inbound"),
        _ => None,
    };
    row.opt_str(Field::ConnectionInfoDirection, direction);
    net::bytes(row, num(e, "orig_bytes"), num(e, "resp_bytes"));
    net::packets(row, num(e, "orig_pkts"), num(e, "resp_pkts"));
    let dur = e.text("duration").and_then(net::decimal_seconds_us);
    if let Some(d) = dur {
        row.int(Field::Duration, net::us_to_ms(d));
    }
    if let Some(start) = ts {
        row.time_us(Field::StartTime, start);
        if let Some(d) = dur {
            row.time_us(Field::EndTime, start.saturating_add(d));
        }
    }
}

fn num(e: &Entry<'_>, key: &str) -> Option<i64> {
    e.text(key).and_then(vigil_schemas::parse_int)
}

fn dns(row: &mut Row<'_>, e: &Entry<'_>) {
    row.opt_str(Field::QueryHostname, e.text("query"));
    row.opt_str(Field::QueryType, e.text("qtype_name").or(e.text("qtype")));
    row.opt_str(Field::Rcode, e.text("rcode_name").or(e.text("rcode")));
}

fn http(row: &mut Row<'_>, e: &Entry<'_>) {
    row.opt_str(Field::HttpRequestHttpMethod, e.text("method"));
    row.opt_str(Field::HttpRequestUrlHostname, e.text("host"));
    row.opt_str(Field::HttpRequestUrlPath, e.text("uri"));
    row.opt_str(Field::HttpRequestUserAgent, e.text("user_agent"));
    row.opt_str(Field::HttpResponseCode, e.text("status_code"));
}

fn ssl(row: &mut Row<'_>, e: &Entry<'_>) {
    row.opt_str(Field::TlsSni, e.text("server_name"));
    row.opt_str(Field::TlsVersion, e.text("version"));
    row.opt_str(Field::TlsCertificateSubject, e.text("subject"));
}

fn success(row: &mut Row<'_>, e: &Entry<'_>, key: &str) {
    match e.text(key) {
        Some("true") => net::status(row, true),
        Some("false") => net::status(row, false),
        _ => {}
    }
}

fn ssh(row: &mut Row<'_>, e: &Entry<'_>) {
    success(row, e, "auth_success");
    if let Some(d) = e.text("direction") {
        row.str(Field::ConnectionInfoDirection, &d.to_ascii_lowercase());
    }
}

fn ntlm(row: &mut Row<'_>, e: &Entry<'_>) {
    row.opt_str(Field::UserName, e.text("username"));
    row.str(Field::AuthProtocol, "NTLM");
    success(row, e, "success");
    row.opt_str(Field::StatusCode, e.text("status"));
}

fn kerberos(row: &mut Row<'_>, e: &Entry<'_>) {
    row.opt_str(Field::UserName, e.text("client"));
    row.str(Field::AuthProtocol, "Kerberos");
    row.opt_str(Field::ServiceName, e.text("service"));
    success(row, e, "success");
    row.opt_str(Field::StatusCode, e.text("error_msg"));
}

fn base(row: &mut Row<'_>, e: &Entry<'_>) {
    if let Some(h) = e.text("id.orig_h") {
        row.ip(Field::SrcEndpointIp, h);
    }
    let message = match e.path.as_ref() {
        "notice" => e.text("msg"),
        "weird" => e.text("name"),
        _ => None,
    };
    row.opt_str(Field::Message, message);
}

/// Every field under its Zeek name; a set or vector as a JSON array of
/// strings, so an element holding the set separator stays one element.
fn unmapped(row: &mut Row<'_>, e: &Entry<'_>) {
    for (k, v) in &e.fields {
        match v {
            Val::Text(t) => {
                row.unmapped(k, t);
            }
            Val::List(items) => {
                let json = serde_json::to_string(items).unwrap_or_default();
                row.unmapped(k, &json);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conn_states_become_activities() {
        assert_eq!(conn_activity("SF"), (2, "Close"));
        assert_eq!(conn_activity("REJ"), (5, "Refuse"));
        assert_eq!(conn_activity("RSTO"), (3, "Reset"));
        assert_eq!(conn_activity("S0"), (4, "Fail"));
        assert_eq!(conn_activity("SHR"), (99, "Other"));
    }

    #[test]
    fn paths_are_inferred_only_from_telling_fields() {
        let conn = ["ts", "uid", "id.orig_h", "conn_state"];
        assert_eq!(infer_path(conn.into_iter()), Some("conn"));
        assert_eq!(infer_path(["ts", "uid", "id.orig_h"].into_iter()), None);
    }

    #[test]
    fn times_in_both_encodings() {
        assert_eq!(parse_ts("1588205199.82437"), Some(1_588_205_199_824_370));
        assert_eq!(
            parse_ts("2020-04-30T00:06:39.824370Z"),
            Some(1_588_205_199_824_370)
        );
        assert_eq!(parse_ts("yesterday"), None);
    }
}
