//! AWS VPC flow logs: one space-separated record per line.
//!
//! The fields are the version 2 default (`version account-id interface-id
//! srcaddr dstaddr srcport dstport protocol packets bytes start end action
//! log-status`) unless a header line names them: S3 delivery writes one,
//! and a custom format may reorder fields or add newer ones
//! (`flow-direction`, `pkt-src-aws-service`, `vpc-id`, ...). A header is a
//! line with at least two known field names; it sets the order for the
//! lines after it, so values are read by name, never by position (edge
//! case BH-25). Names written with `_` (Athena style) are read as `-`.
//!
//! Every record is one `network_activity` row (OCSF 4001):
//! - `srcaddr`/`dstaddr` (IPv4 or IPv6) and ports, `protocol` as IANA number
//!   and name, `packets` and `bytes` as totals (a record counts one
//!   direction of a flow within the capture window);
//! - `start`/`end` (epoch seconds) as start and end time, `start` as the
//!   event time, `end - start` as the duration;
//! - `action` ACCEPT as Allowed (1), REJECT as Denied (2);
//! - `interface-id` as `src_endpoint_interface_uid` (the ENI the flow was
//!   captured on), `account-id` as `cloud_account_uid`, `flow-direction`
//!   ingress/egress as inbound/outbound;
//! - activity 6 "Traffic" for `log-status` OK. NODATA (no traffic in the
//!   window) and SKIPDATA (records skipped) have every address, port,
//!   counter and action `-`: they become activity 99 named by the status,
//!   with those columns null and the times kept; they are never errors.
//!
//! Fields without a column (`version`, `log-status`, `vpc-id`, ...) go to
//! `unmapped` under their header names; `-` means absent.

use vigil_schemas::{Class, Field, Row};

use super::zeek::netcommon as net;
use crate::decode::{DecodeConfig, DecodeError, Decoder, Record};
use crate::emit::Emitter;

/// The version 2 default format, used until a header says otherwise.
const DEFAULT_V2: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
];

/// Every field name AWS documents (versions 2 to 8), for telling a header
/// line from data.
const KNOWN: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
    "reject-reason",
];

/// Fields that must be a whole number (or `-`).
const NUMERIC: &[&str] = &[
    "version",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "tcp-flags",
    "traffic-path",
];

/// Fields that must be an address (or `-`).
const ADDRESSES: &[&str] = &["srcaddr", "dstaddr", "pkt-srcaddr", "pkt-dstaddr"];

/// Fields written to a column; the rest go to `unmapped`.
const MAPPED: &[&str] = &[
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "flow-direction",
];

fn canonical(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// `name` equals the canonical `known`, ignoring case and reading `_` as `-`.
fn same_name(name: &str, known: &str) -> bool {
    let norm = |b: u8| {
        if b == b'_' {
            b'-'
        } else {
            b.to_ascii_lowercase()
        }
    };
    name.len() == known.len() && name.bytes().zip(known.bytes()).all(|(a, k)| norm(a) == k)
}

/// A header names at least two known fields. Field names start with a
/// letter, so a line with a token starting otherwise (a number, an
/// address, `-`) is data and is ruled out without comparing names.
fn is_header(tokens: &[&str]) -> bool {
    let letters = |t: &&str| t.bytes().next().is_some_and(|b| b.is_ascii_alphabetic());
    if !tokens.iter().all(letters) {
        return false;
    }
    let known = tokens
        .iter()
        .filter(|t| KNOWN.iter().any(|k| same_name(t, k)));
    known.take(2).count() == 2
}

/// Whether a first line is a VPC flow log header, or a version 2 record
/// written without one (CloudWatch Logs exports).
pub fn looks_like(first_line: &str) -> bool {
    let tokens: Vec<&str> = first_line.split_ascii_whitespace().collect();
    if is_header(&tokens) {
        return tokens.iter().any(|t| same_name(t, "srcaddr"));
    }
    tokens.len() == DEFAULT_V2.len()
        && tokens[0] == "2"
        && tokens[1].bytes().all(|b| b.is_ascii_digit())
        && matches!(tokens[13], "OK" | "NODATA" | "SKIPDATA")
}

struct VpcFlow {
    /// Field names as written, and their canonical forms.
    names: Vec<(String, String)>,
    from_header: bool,
}

/// A decoder for VPC flow logs.
pub fn decoder(_cfg: &DecodeConfig) -> Box<dyn Decoder> {
    let names = DEFAULT_V2
        .iter()
        .map(|n| (n.to_string(), n.to_string()))
        .collect();
    Box::new(VpcFlow {
        names,
        from_header: false,
    })
}

impl Decoder for VpcFlow {
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
        let tokens: Vec<&str> = rec.text.split_ascii_whitespace().collect();
        if is_header(&tokens) {
            self.names = tokens
                .iter()
                .map(|t| (t.to_string(), canonical(t)))
                .collect();
            self.from_header = true;
            return Ok(());
        }
        let fields = self.fields(&tokens)?;
        emit(&fields, rec, out);
        Ok(())
    }
}

/// One record's values by canonical name, `-` left out, each checked.
struct Fields<'a> {
    items: Vec<(&'a str, &'a str, &'a str)>,
}

impl Fields<'_> {
    fn get(&self, canonical: &str) -> Option<&str> {
        self.items
            .iter()
            .find(|(_, c, _)| *c == canonical)
            .map(|(_, _, v)| *v)
    }

    fn int(&self, canonical: &str) -> Option<i64> {
        self.get(canonical).and_then(|v| v.parse().ok())
    }
}

impl VpcFlow {
    fn fields<'a>(&'a self, tokens: &[&'a str]) -> Result<Fields<'a>, DecodeError> {
        if tokens.len() != self.names.len() {
            let by = if self.from_header {
                "the header"
            } else {
                "the default version 2 format"
            };
            return Err(DecodeError::syntax(format!(
                "vpc flow line has {} fields but {by} names {}",
                tokens.len(),
                self.names.len()
            )));
        }
        let mut items = Vec::with_capacity(tokens.len());
        for ((name, canon), value) in self.names.iter().zip(tokens) {
            if *value == "-" {
                continue;
            }
            check(name, canon, value)?;
            items.push((name.as_str(), canon.as_str(), *value));
        }
        Ok(Fields { items })
    }
}

fn check(name: &str, canon: &str, value: &str) -> Result<(), DecodeError> {
    if NUMERIC.contains(&canon) && value.parse::<i64>().is_err() {
        return Err(DecodeError::value(
            name,
            format!("{value:?} is not a whole number"),
        ));
    }
    if ADDRESSES.contains(&canon) && vigil_schemas::parse_ip(value).is_none() {
        return Err(DecodeError::value(
            name,
            format!("{value:?} is not an IP address"),
        ));
    }
    Ok(())
}

fn emit(f: &Fields<'_>, rec: &Record<'_>, out: &mut Emitter) {
    let mut row = out.row(rec, Class::NetworkActivity);
    row.str(Field::MetadataProductName, "Amazon VPC");
    row.str(Field::MetadataProductVendorName, "AWS");
    row.str(Field::MetadataLogName, "vpcflow");
    net::severity(&mut row, 1);
    times(&mut row, f);
    endpoints(&mut row, f);
    match f.get("log-status") {
        Some(status @ ("NODATA" | "SKIPDATA")) => net::activity(&mut row, 99, status),
        _ => net::traffic(&mut row),
    }
    for (name, canon, value) in &f.items {
        if !MAPPED.contains(canon) {
            row.unmapped(name, value);
        }
    }
}

fn times(row: &mut Row<'_>, f: &Fields<'_>) {
    let (start, end) = (f.int("start"), f.int("end"));
    if let Some(s) = start {
        row.time_us(Field::Time, s.saturating_mul(1_000_000));
        row.time_us(Field::StartTime, s.saturating_mul(1_000_000));
        row.opt_str(Field::MetadataOriginalTime, f.get("start"));
    }
    if let Some(e) = end {
        row.time_us(Field::EndTime, e.saturating_mul(1_000_000));
    }
    if let (Some(s), Some(e)) = (start, end) {
        row.int(Field::Duration, e.saturating_sub(s).saturating_mul(1000));
    }
}

fn endpoints(row: &mut Row<'_>, f: &Fields<'_>) {
    row.opt_str(Field::CloudAccountUid, f.get("account-id"));
    row.opt_str(Field::SrcEndpointInterfaceUid, f.get("interface-id"));
    if let Some(ip) = f.get("srcaddr") {
        row.ip(Field::SrcEndpointIp, ip);
    }
    if let Some(ip) = f.get("dstaddr") {
        row.ip(Field::DstEndpointIp, ip);
    }
    row.opt_str(Field::SrcEndpointPort, f.get("srcport"));
    row.opt_str(Field::DstEndpointPort, f.get("dstport"));
    if let Some(p) = f.int("protocol") {
        net::set_protocol_num(row, p);
    }
    row.opt_str(Field::TrafficPackets, f.get("packets"));
    row.opt_str(Field::TrafficBytes, f.get("bytes"));
    match f.get("action") {
        Some("ACCEPT") => net::action(row, true),
        Some("REJECT") => net::action(row, false),
        _ => {}
    }
    let direction = match f.get("flow-direction") {
        Some("ingress") => Some("inbound"),
        Some("egress") => Some("outbound"),
        _ => None,
    };
    row.opt_str(Field::ConnectionInfoDirection, direction);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_headers_and_headerless_v2_records() {
        let header = "version account-id interface-id srcaddr dstaddr srcport dstport \
                      protocol packets bytes start end action log-status";
        assert!(looks_like(header));
        assert!(looks_like(
            "2 493859302102 eni-0b13344793d4fde67 92.55.146.245 172.31.77.31 48316 22 6 \
             19 7119 1604266544 1604266560 ACCEPT OK"
        ));
        assert!(looks_like(
            "2 123456789012 eni-0a1b2c3d4e5f60718 - - - - - - - 1431280876 1431280934 - NODATA"
        ));
        assert!(!looks_like(
            "2 is the number of things I saw today, yes it is, OK"
        ));
        assert!(!looks_like("id,Flow ID,Src IP"));
    }

    #[test]
    fn underscored_names_read_as_dashed() {
        assert!(is_header(&["account_id", "srcaddr"]));
        assert_eq!(canonical("Log_Status"), "log-status");
    }
}
