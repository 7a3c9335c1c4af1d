//! Small pieces the network decoders share (Zeek, Suricata, VPC flow logs,
//! CICFlowMeter): IANA protocol numbers and names, exact decimal epoch
//! seconds, and the OCSF activity and action values they all set.

use vigil_schemas::{Field, Row};

/// The IANA protocol number of a protocol name (any case), or of a
/// protocol written as a decimal number.
pub fn protocol_num(name: &str) -> Option<i64> {
    let n = match name.to_ascii_lowercase().as_str() {
        "icmp" => 1,
        "igmp" => 2,
        "tcp" => 6,
        "udp" => 17,
        "gre" => 47,
        "esp" => 50,
        "ah" => 51,
        "ipv6-icmp" | "icmpv6" | "icmp6" => 58,
        "sctp" => 132,
        other => return other.parse::<u8>().ok().map(i64::from),
    };
    Some(n)
}

/// The lower-case name of an IANA protocol number, for the common ones.
pub fn protocol_name(num: i64) -> Option<&'static str> {
    Some(match num {
        1 => "icmp",
        2 => "igmp",
        6 => "tcp",
        17 => "udp",
        47 => "gre",
        50 => "esp",
        51 => "ah",
        58 => "ipv6-icmp",
        132 => "sctp",
        _ => return None,
    })
}

/// Set `connection_info_protocol_name` and `_num` from a protocol number.
pub fn set_protocol_num(row: &mut Row<'_>, num: i64) {
    row.int(Field::ConnectionInfoProtocolNum, num);
    if let Some(name) = protocol_name(num) {
        row.str(Field::ConnectionInfoProtocolName, name);
    }
}

/// Decimal epoch seconds (`1521835139.673219`, `-1.5`, `1604266544`) as
/// microseconds, read digit by digit so no precision is lost to a float.
/// Digits past the sixth decimal are cut off.
pub fn decimal_seconds_us(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits(int) || !digits(frac) || int.len() > 12 {
        return None;
    }
    let secs: i64 = int.parse().ok()?;
    let mut us: i64 = 0;
    for (i, b) in frac.bytes().take(6).enumerate() {
        us += i64::from(b - b'0') * 10_i64.pow(5 - i as u32);
    }
    let total = secs * 1_000_000 + us;
    Some(if neg { -total } else { total })
}

/// Microseconds rounded to whole milliseconds (half away from zero).
pub fn us_to_ms(us: i64) -> i64 {
    let ms = us / 1000;
    let rem = us % 1000;
    if rem >= 500 {
        ms + 1
    } else if rem <= -500 {
        ms - 1
    } else {
        ms
    }
}

/// OCSF network activity 6, "Traffic": a report of traffic over a span,
/// which is what a flow record is.
pub fn traffic(row: &mut Row<'_>) {
    activity(row, 6, "Traffic");
}

/// Set `activity_id` and `activity_name`.
pub fn activity(row: &mut Row<'_>, id: i64, name: &str) {
    row.int(Field::ActivityId, id);
    row.str(Field::ActivityName, name);
}

/// Set `action` and `action_id`: 1 Allowed, 2 Denied.
pub fn action(row: &mut Row<'_>, allowed: bool) {
    let (id, name) = if allowed {
        (1, "Allowed")
    } else {
        (2, "Denied")
    };
    row.int(Field::ActionId, id);
    row.str(Field::Action, name);
}

/// Set `severity_id` and `severity`.
pub fn severity(row: &mut Row<'_>, id: i64) {
    let name = match id {
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        5 => "Critical",
        6 => "Fatal",
        _ => "Unknown",
    };
    row.int(Field::SeverityId, id);
    row.str(Field::Severity, name);
}

/// Set bytes out (source to destination), in, and their sum when both
/// are known.
pub fn bytes(row: &mut Row<'_>, out: Option<i64>, inb: Option<i64>) {
    let cols = [
        Field::TrafficBytesOut,
        Field::TrafficBytesIn,
        Field::TrafficBytes,
    ];
    out_in_total(row, out, inb, cols);
}

/// Set packets out, in, and their sum when both are known.
pub fn packets(row: &mut Row<'_>, out: Option<i64>, inb: Option<i64>) {
    let cols = [
        Field::TrafficPacketsOut,
        Field::TrafficPacketsIn,
        Field::TrafficPackets,
    ];
    out_in_total(row, out, inb, cols);
}

fn out_in_total(row: &mut Row<'_>, out: Option<i64>, inb: Option<i64>, cols: [Field; 3]) {
    if let Some(v) = out {
        row.int(cols[0], v);
    }
    if let Some(v) = inb {
        row.int(cols[1], v);
    }
    if let (Some(o), Some(i)) = (out, inb) {
        row.int(cols[2], o.saturating_add(i));
    }
}

/// Set `status_id` and `status` from a success flag.
pub fn status(row: &mut Row<'_>, success: bool) {
    let (id, name) = if success {
        (1, "Success")
    } else {
        (2, "Failure")
    };
    row.int(Field::StatusId, id);
    row.str(Field::Status, name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_seconds_keep_every_microsecond() {
        assert_eq!(
            decimal_seconds_us("1521835139.673219"),
            Some(1_521_835_139_673_219)
        );
        assert_eq!(
            decimal_seconds_us("1604266544"),
            Some(1_604_266_544_000_000)
        );
        assert_eq!(decimal_seconds_us("1.5"), Some(1_500_000));
        assert_eq!(decimal_seconds_us("-1.5"), Some(-1_500_000));
        assert_eq!(decimal_seconds_us("0.0000019"), Some(1));
        assert_eq!(decimal_seconds_us("abc"), None);
        assert_eq!(decimal_seconds_us("1e5"), None);
        assert_eq!(decimal_seconds_us(""), None);
    }

    #[test]
    fn milliseconds_round_half_away_from_zero() {
        assert_eq!(us_to_ms(25_324), 25);
        assert_eq!(us_to_ms(1_201_128), 1201);
        assert_eq!(us_to_ms(1_500), 2);
        assert_eq!(us_to_ms(-1_500), -2);
        assert_eq!(us_to_ms(499), 0);
    }

    #[test]
    fn protocols_by_name_and_number() {
        assert_eq!(protocol_num("TCP"), Some(6));
        assert_eq!(protocol_num("udp"), Some(17));
        assert_eq!(protocol_num("IPv6-ICMP"), Some(58));
        assert_eq!(protocol_num("47"), Some(47));
        assert_eq!(protocol_num("bogus"), None);
        assert_eq!(protocol_name(17), Some("udp"));
        assert_eq!(protocol_name(0), None);
    }
}
