//! The header of one syslog line: PRI, timestamp, host, app, pid, and for
//! RFC 5424 the MSGID and structured data. The message is what is left.
//!
//! Three shapes are read, each with or without `<PRI>`:
//!
//! ```text
//! RFC 3164   <38>Feb 21 21:54:44 host sshd[3402]: message
//!            (also: no host, `[tag]`, `Mmm dd yyyy`, fractions, a zone
//!             token as Cisco writes it: `<189>123: Jan  1 03:13:14.663 UTC: %SYS..`)
//! ISO        2015-04-16T18:02:50.568798+00:00 host sshd[2716]: message
//! RFC 5424   <165>1 2003-10-11T22:14:15.003Z host app procid msgid [sd] message
//! ```
//!
//! Parsing only borrows from the line, except structured-data values with
//! escapes. Nothing here knows about time zones: [`RawTime`] is resolved
//! by the `stamp` module.

use std::borrow::Cow;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime};

use crate::decode::DecodeError;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A timestamp as written, before zone and year are applied.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum RawTime<'a> {
    /// RFC 3164 `Mmm dd [yyyy] hh:mm:ss[.f]`, with the zone token the line
    /// carries, if any (`UTC`, `+01:00`).
    Bsd {
        /// 1 to 12.
        month: u32,
        /// 1 to 31 (checked against the month when the year is known).
        day: u32,
        /// When the line writes one.
        year: Option<i32>,
        /// Wall-clock time.
        time: NaiveTime,
        /// Zone token as written, without a trailing `:`.
        zone: Option<&'a str>,
    },
    /// ISO 8601 / RFC 3339 date and time, with its offset when written.
    Iso {
        /// Wall-clock date and time.
        at: NaiveDateTime,
        /// The offset, when the text has one.
        offset: Option<FixedOffset>,
    },
    /// RFC 5424 NILVALUE, or an RFC 3164 line without a timestamp.
    Missing,
}

/// One RFC 5424 structured-data parameter. An element without parameters
/// is kept as one entry with an empty name and value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SdParam<'a> {
    /// SD-ID, e.g. `exampleSDID@32473`.
    pub id: &'a str,
    /// PARAM-NAME (empty for an element without parameters).
    pub name: &'a str,
    /// PARAM-VALUE with the RFC 5424 escapes resolved.
    pub value: Cow<'a, str>,
}

/// The parsed header and the message.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Header<'a> {
    /// `<PRI>` value, 0 to 191.
    pub pri: Option<u8>,
    /// The timestamp, unresolved.
    pub time: RawTime<'a>,
    /// The timestamp text as written (zone token included).
    pub time_text: Option<&'a str>,
    /// A Cisco-style sequence number before the timestamp.
    pub seq: Option<&'a str>,
    /// HOSTNAME.
    pub host: Option<&'a str>,
    /// APP-NAME / the tag before `[pid]:`.
    pub app: Option<&'a str>,
    /// PROCID / the pid in brackets.
    pub pid: Option<&'a str>,
    /// RFC 5424 MSGID.
    pub msgid: Option<&'a str>,
    /// RFC 5424 structured data, in order.
    pub sd: Vec<SdParam<'a>>,
    /// The message (MSG), leading spaces and a UTF-8 BOM removed.
    pub msg: &'a str,
}

/// Parse one line.
///
/// # Errors
///
/// [`DecodeError::Syntax`] when the line has neither `<PRI>` nor a leading
/// timestamp, or a broken RFC 5424 header or structured data;
/// [`DecodeError::Value`] for a PRI above 191 or a timestamp whose fields
/// are out of range.
pub(crate) fn parse(line: &str) -> Result<Header<'_>, DecodeError> {
    let (pri, rest) = split_pri(line)?;
    if pri.is_some()
        && let Some(after) = version_5424(rest)
    {
        return parse_5424(pri, after);
    }
    let (seq, rest) = split_seq(rest);
    let stamp = match leading_stamp(rest)? {
        Some(s) => s,
        None if pri.is_some() => (RawTime::Missing, "", rest),
        None => return Err(not_syslog()),
    };
    let (time, time_text, rest) = stamp;
    let (host, app, pid, msg) = if time == RawTime::Missing {
        tag_msg(rest)
    } else {
        host_tag_msg(rest)
    };
    Ok(Header {
        pri,
        time,
        time_text: (!time_text.is_empty()).then_some(time_text),
        seq,
        host,
        app,
        pid,
        msgid: None,
        sd: Vec::new(),
        msg,
    })
}

fn not_syslog() -> DecodeError {
    DecodeError::syntax(
        "not a syslog line: it starts with neither <PRI>, an RFC 3164 timestamp \
         (Mmm dd hh:mm:ss) nor an ISO 8601 timestamp",
    )
}

/// Whether `line` starts the way a syslog line does (for sniffing).
pub(crate) fn looks_like(line: &str) -> bool {
    let line = line.trim_start_matches('\u{feff}');
    let Ok((pri, rest)) = split_pri(line) else {
        return false;
    };
    if pri.is_some() && version_5424(rest).is_some() {
        return true;
    }
    let (_, rest) = split_seq(rest);
    matches!(leading_stamp(rest), Ok(Some((_, _, after))) if after.starts_with(' '))
}

/// `<PRI>` at the start: `None` when there is none.
fn split_pri(line: &str) -> Result<(Option<u8>, &str), DecodeError> {
    let Some(body) = line.strip_prefix('<') else {
        return Ok((None, line));
    };
    let digits = body.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 3 || body.as_bytes().get(digits) != Some(&b'>') {
        if digits == 0 && !body.starts_with('>') {
            return Ok((None, line));
        }
        return Err(DecodeError::syntax(
            "pri: expected 1 to 3 digits between < and >",
        ));
    }
    let n: u16 = body[..digits].parse().unwrap_or(u16::MAX);
    match u8::try_from(n) {
        Ok(p) if p <= 191 => Ok((Some(p), &body[digits + 1..])),
        _ => Err(DecodeError::value("pri", format!("{n} is above 191"))),
    }
}

/// RFC 5424 VERSION (1 or 2 digits, not 0) and its space.
fn version_5424(rest: &str) -> Option<&str> {
    let b = rest.as_bytes();
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    (n > 0 && n <= 2 && b[0] != b'0' && b.get(n) == Some(&b' ')).then(|| &rest[n + 1..])
}

/// A Cisco sequence number `123: ` before the timestamp.
fn split_seq(rest: &str) -> (Option<&str>, &str) {
    let n = rest.bytes().take_while(u8::is_ascii_digit).count();
    if n > 0 && rest[n..].starts_with(": ") {
        return (Some(&rest[..n]), rest[n + 2..].trim_start_matches(' '));
    }
    (None, rest)
}

type Stamp<'a> = (RawTime<'a>, &'a str, &'a str);

/// The timestamp at the start of `rest`: (time, its text, what follows).
fn leading_stamp(rest: &str) -> Result<Option<Stamp<'_>>, DecodeError> {
    // N.B. Cisco marks an unsynchronised clock with `*` or `.`.
    let s = rest.strip_prefix(['*', '.']).unwrap_or(rest);
    if let Some((t, n)) = bsd_stamp(s)? {
        let (zone, end) = zone_token(s, n);
        let t = match t {
            RawTime::Bsd {
                month,
                day,
                year,
                time,
                ..
            } => RawTime::Bsd {
                month,
                day,
                year,
                time,
                zone,
            },
            other => other,
        };
        let after = s[end..].strip_prefix(':').unwrap_or(&s[end..]);
        return Ok(Some((t, s[..end].trim_end_matches(':'), after)));
    }
    if let Some((at, offset, n)) = iso_stamp(s)? {
        return Ok(Some((RawTime::Iso { at, offset }, &s[..n], &s[n..])));
    }
    Ok(None)
}

/// A zone token after a BSD time: `UTC:` (Cisco) or a numeric offset.
/// Returns the token and where the timestamp text ends.
fn zone_token(s: &str, n: usize) -> (Option<&str>, usize) {
    let after = &s[n..];
    let Some(tok) = after.strip_prefix(' ') else {
        return (None, n);
    };
    let word = tok.split(' ').next().unwrap_or("");
    let bare = word.strip_suffix(':').unwrap_or(word);
    let is_offset = parse_offset(bare).is_some() && bare.len() >= 3;
    let is_name = word.ends_with(':')
        && (1..=5).contains(&bare.len())
        && bare.bytes().all(|b| b.is_ascii_uppercase())
        && bare.parse::<chrono_tz::Tz>().is_ok();
    if is_offset || is_name {
        return (Some(bare), n + 1 + bare.len());
    }
    (None, n)
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let s = b.get(at..at + n)?;
    s.iter()
        .all(u8::is_ascii_digit)
        .then(|| s.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
}

/// `Mmm dd [yyyy] hh:mm:ss[.f]`: `None` when the text is not shaped so,
/// an error when it is but a field is out of range.
fn bsd_stamp(s: &str) -> Result<Option<(RawTime<'static>, usize)>, DecodeError> {
    let b = s.as_bytes();
    let Some(month) = MONTHS.iter().position(|m| b.starts_with(m.as_bytes())) else {
        return Ok(None);
    };
    let mut i = 3;
    let spaces = b[i..].iter().take_while(|&&c| c == b' ').count();
    if spaces == 0 || spaces > 2 {
        return Ok(None);
    }
    i += spaces;
    let dlen = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let Some(day) = (1..=2)
        .contains(&dlen)
        .then(|| digits(b, i, dlen))
        .flatten()
    else {
        return Ok(None);
    };
    i += dlen;
    if b.get(i) != Some(&b' ') {
        return Ok(None);
    }
    i += 1;
    let year = match (digits(b, i, 4), b.get(i + 4)) {
        (Some(y), Some(b' ')) => {
            i += 5;
            Some(y as i32)
        }
        _ => None,
    };
    let Some((time, n)) = clock(b, i)? else {
        return Ok(None);
    };
    check_day(month as u32 + 1, day)?;
    let t = RawTime::Bsd {
        month: month as u32 + 1,
        day,
        year,
        time,
        zone: None,
    };
    Ok(Some((t, i + n)))
}

/// `hh:mm:ss[.f]` at `at`: the time and its length.
fn clock(b: &[u8], at: usize) -> Result<Option<(NaiveTime, usize)>, DecodeError> {
    let (Some(h), Some(m), Some(s)) =
        (digits(b, at, 2), digits(b, at + 3, 2), digits(b, at + 6, 2))
    else {
        return Ok(None);
    };
    if b.get(at + 2) != Some(&b':') || b.get(at + 5) != Some(&b':') {
        return Ok(None);
    }
    let mut n = 8;
    let mut micro = 0u32;
    if b.get(at + n) == Some(&b'.') || b.get(at + n) == Some(&b',') {
        let f = b[at + n + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if f == 0 || f > 9 {
            return Err(DecodeError::value(
                "timestamp",
                "fraction of a second needs 1 to 9 digits",
            ));
        }
        let six = digits(b, at + n + 1, f.min(6)).unwrap_or(0);
        micro = six * 10u32.pow(6 - f.min(6) as u32);
        n += 1 + f;
    }
    let time = match (h, m, s) {
        (0..=23, 0..=59, 0..=59) => NaiveTime::from_hms_micro_opt(h, m, s, micro),
        // N.B. a leap second is read as the last microsecond run of :59.
        (0..=23, 0..=59, 60) => NaiveTime::from_hms_micro_opt(h, m, 59, 1_000_000 + micro),
        _ => None,
    };
    match time {
        Some(t) => Ok(Some((t, n))),
        None => Err(DecodeError::value(
            "timestamp",
            format!("{h:02}:{m:02}:{s:02} is not a time of day"),
        )),
    }
}

/// A month and day that exist in some year (Feb 29 does, Feb 30 not).
fn check_day(month: u32, day: u32) -> Result<(), DecodeError> {
    if NaiveDate::from_ymd_opt(2000, month, day).is_some() {
        return Ok(());
    }
    let name = MONTHS.get(month as usize - 1).copied().unwrap_or("?");
    Err(DecodeError::value(
        "timestamp",
        format!("{name} {day} is not a date"),
    ))
}

type Iso = (NaiveDateTime, Option<FixedOffset>, usize);

/// `YYYY-MM-DD[T ]hh:mm:ss[.f][Z|±hh:mm|±hhmm]` at the start of `s`.
fn iso_stamp(s: &str) -> Result<Option<Iso>, DecodeError> {
    let b = s.as_bytes();
    let (Some(y), Some(mo), Some(d)) = (digits(b, 0, 4), digits(b, 5, 2), digits(b, 8, 2)) else {
        return Ok(None);
    };
    let shaped = b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
        && matches!(b.get(10), Some(b'T' | b't' | b' '));
    if !shaped {
        return Ok(None);
    }
    let Some((time, n)) = clock(b, 11)? else {
        return Ok(None);
    };
    let Some(date) = NaiveDate::from_ymd_opt(y as i32, mo, d) else {
        let e = format!("{y:04}-{mo:02}-{d:02} is not a date");
        return Err(DecodeError::value("timestamp", e));
    };
    let end = 11 + n;
    let (offset, zlen) = iso_offset(&s[end..]);
    Ok(Some((date.and_time(time), offset, end + zlen)))
}

/// `Z`, `+hh:mm`, `+hhmm` or `+hh` at the start of `s`, and its length.
fn iso_offset(s: &str) -> (Option<FixedOffset>, usize) {
    if s.starts_with(['Z', 'z']) {
        return (FixedOffset::east_opt(0), 1);
    }
    let len = s.bytes().take_while(|b| !matches!(b, b' ' | b'\t')).count();
    match parse_offset(&s[..len]) {
        Some(o) => (Some(o), len),
        None => (None, 0),
    }
}

/// A numeric offset `+hh:mm`, `+hhmm` or `+hh`.
pub(crate) fn parse_offset(s: &str) -> Option<FixedOffset> {
    let b = s.as_bytes();
    let sign = match b.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = match b.len() {
        3 => (digits(b, 1, 2)?, 0),
        5 => (digits(b, 1, 2)?, digits(b, 3, 2)?),
        6 if b[3] == b':' => (digits(b, 1, 2)?, digits(b, 4, 2)?),
        _ => return None,
    };
    if h > 23 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60) as i32)
}

type HostTag<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, &'a str);

/// After an RFC 3164 timestamp: `[host] tag[pid]: message`. A first word
/// that is shaped as a tag (ends with `:`, or has `[`) means there is no
/// host. A line without a tag keeps all of its text as the message.
fn host_tag_msg(rest: &str) -> HostTag<'_> {
    let rest = rest.trim_start_matches(' ');
    let first = rest.split(' ').next().unwrap_or("");
    let (host, rest) = if first.is_empty() || is_tag_word(first) {
        (None, rest)
    } else {
        (Some(first), rest[first.len()..].trim_start_matches(' '))
    };
    match tag(rest) {
        Some((app, pid, msg)) => (host, Some(app), pid, clean_msg(msg)),
        None => (host, None, None, clean_msg(rest)),
    }
}

/// A line with `<PRI>` but no timestamp: a leading tag is read, no host.
fn tag_msg(rest: &str) -> HostTag<'_> {
    let first = rest.split(' ').next().unwrap_or("");
    match tag(rest).filter(|_| is_tag_word(first)) {
        Some((app, pid, msg)) => (None, Some(app), pid, clean_msg(msg)),
        None => (None, None, None, clean_msg(rest)),
    }
}

fn is_tag_word(w: &str) -> bool {
    w.ends_with(':') || w.contains('[')
}

/// `name[pid]:`, `name:`, `name[pid]` or `[name]` followed by the message.
fn tag(s: &str) -> Option<(&str, Option<&str>, &str)> {
    if let Some(inner) = s.strip_prefix('[') {
        let close = inner.find(']')?;
        let name = &inner[..close];
        let after = &inner[close + 1..];
        let after = after.strip_prefix(':').unwrap_or(after);
        return (!name.is_empty() && !name.contains(' ')).then_some((name, None, after));
    }
    let end = s.find(['[', ':', ' '])?;
    let name = &s[..end];
    if name.is_empty() {
        return None;
    }
    let after = &s[end..];
    if let Some(inner) = after.strip_prefix('[') {
        let close = inner.find(']')?;
        let pid = &inner[..close];
        let after = &inner[close + 1..];
        return Some((name, Some(pid), after.strip_prefix(':').unwrap_or(after)));
    }
    after.strip_prefix(':').map(|msg| (name, None, msg))
}

fn clean_msg(s: &str) -> &str {
    s.trim_start_matches([' ', '\u{feff}'])
}

// ---------------------------------------------------------------- RFC 5424

fn parse_5424(pri: Option<u8>, rest: &str) -> Result<Header<'_>, DecodeError> {
    let mut fields = rest.splitn(6, ' ');
    let mut next = |name: &str| {
        fields
            .next()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| DecodeError::syntax(format!("rfc 5424 header: {name} is missing")))
    };
    let ts = next("TIMESTAMP")?;
    let host = nil(next("HOSTNAME")?);
    let app = nil(next("APP-NAME")?);
    let pid = nil(next("PROCID")?);
    let msgid = nil(next("MSGID")?);
    let tail = fields.next().unwrap_or("");
    let time = time_5424(ts)?;
    let (sd, msg) = structured_data(tail)?;
    Ok(Header {
        pri,
        time,
        time_text: (ts != "-").then_some(ts),
        seq: None,
        host,
        app,
        pid,
        msgid,
        sd,
        msg: clean_msg(msg),
    })
}

fn nil(s: &str) -> Option<&str> {
    (s != "-").then_some(s)
}

fn time_5424(ts: &str) -> Result<RawTime<'_>, DecodeError> {
    if ts == "-" {
        return Ok(RawTime::Missing);
    }
    match iso_stamp(ts)? {
        Some((at, offset, n)) if n == ts.len() => Ok(RawTime::Iso { at, offset }),
        _ => Err(DecodeError::value(
            "timestamp",
            format!("{ts:?} is not an RFC 3339 timestamp"),
        )),
    }
}

/// STRUCTURED-DATA (`-` or elements) and the message after it.
fn structured_data(s: &str) -> Result<(Vec<SdParam<'_>>, &str), DecodeError> {
    if let Some(msg) = s.strip_prefix('-') {
        return sd_end(Vec::new(), msg);
    }
    if !s.starts_with('[') {
        return Err(DecodeError::syntax(
            "structured data: expected '-' or '[' after MSGID",
        ));
    }
    let mut out = Vec::new();
    let mut s = s;
    while let Some(body) = s.strip_prefix('[') {
        s = sd_element(body, &mut out)?;
    }
    sd_end(out, s)
}

fn sd_end<'a>(
    sd: Vec<SdParam<'a>>,
    s: &'a str,
) -> Result<(Vec<SdParam<'a>>, &'a str), DecodeError> {
    match s.strip_prefix(' ') {
        Some(msg) => Ok((sd, msg)),
        None if s.is_empty() => Ok((sd, "")),
        None => Err(DecodeError::syntax(
            "structured data: expected a space before the message",
        )),
    }
}

/// One element after its `[`: pushes its parameters, returns what follows `]`.
fn sd_element<'a>(s: &'a str, out: &mut Vec<SdParam<'a>>) -> Result<&'a str, DecodeError> {
    let id_len = s.find([' ', ']', '=', '"']).unwrap_or(s.len());
    let id = &s[..id_len];
    if id.is_empty() {
        return Err(DecodeError::syntax(
            "structured data: an element has no SD-ID",
        ));
    }
    let mut s = &s[id_len..];
    let before = out.len();
    loop {
        s = s.trim_start_matches(' ');
        if let Some(rest) = s.strip_prefix(']') {
            if out.len() == before {
                let value = Cow::Borrowed("");
                out.push(SdParam {
                    id,
                    name: "",
                    value,
                });
            }
            return Ok(rest);
        }
        let (param, rest) = sd_param(id, s)?;
        out.push(param);
        s = rest;
    }
}

/// `name="value"`, with `\"`, `\\` and `\]` unescaped and any other
/// backslash kept with the character after it (RFC 5424 section 6.3.3).
fn sd_param<'a>(id: &'a str, s: &'a str) -> Result<(SdParam<'a>, &'a str), DecodeError> {
    let bad = |what: &str| DecodeError::syntax(format!("structured data: {what} in element {id}"));
    let eq = s.find('=').ok_or_else(|| bad("a parameter without '='"))?;
    let name = &s[..eq];
    if name.is_empty() || name.contains([' ', ']', '"']) {
        return Err(bad("a malformed parameter name"));
    }
    let body = s[eq + 1..]
        .strip_prefix('"')
        .ok_or_else(|| bad(&format!("no opening quote for {name}")))?;
    let (value, used) =
        sd_value(body).ok_or_else(|| bad(&format!("unterminated value of {name}")))?;
    Ok((SdParam { id, name, value }, &body[used..]))
}

/// The value up to its closing quote, and the bytes used including it.
fn sd_value(body: &str) -> Option<(Cow<'_, str>, usize)> {
    let b = body.as_bytes();
    let mut owned: Option<String> = None;
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                let value = match owned {
                    Some(mut o) => {
                        o.push_str(&body[start..i]);
                        Cow::Owned(o)
                    }
                    None => Cow::Borrowed(&body[..i]),
                };
                return Some((value, i + 1));
            }
            b'\\' if matches!(b.get(i + 1), Some(b'"' | b'\\' | b']')) => {
                let o = owned.get_or_insert_with(String::new);
                o.push_str(&body[start..i]);
                start = i + 1;
                i += 2;
            }
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Header<'_> {
        match parse(line) {
            Ok(h) => h,
            Err(e) => panic!("{line}: {e}"),
        }
    }

    #[test]
    fn rfc3164_with_and_without_pri_and_host() {
        let h = ok("<38>Feb 21 21:54:44 localhost sshd[3402]: Accepted x");
        assert_eq!(h.pri, Some(38));
        assert_eq!(h.time_text, Some("Feb 21 21:54:44"));
        assert_eq!(
            (h.host, h.app, h.pid),
            (Some("localhost"), Some("sshd"), Some("3402"))
        );
        assert_eq!(h.msg, "Accepted x");

        let h = ok("Nov 23 21:50:19 sshd[8148]: Disconnecting: x");
        assert_eq!((h.host, h.app, h.pid), (None, Some("sshd"), Some("8148")));

        let h = ok("Mar  3 00:17:22 [sshd]: User root from 1.2.3.4 not allowed");
        assert_eq!((h.host, h.app, h.pid), (None, Some("sshd"), None));
        assert_eq!(h.msg, "User root from 1.2.3.4 not allowed");

        let h = ok("Feb 24 00:13:02 precise32 sudo:      tsg : user NOT in sudoers");
        assert_eq!((h.host, h.app), (Some("precise32"), Some("sudo")));
        assert_eq!(h.msg, "tsg : user NOT in sudoers");

        let h = ok("Feb 7 16:01:07 linux-m899 sshd[5106]: x");
        let RawTime::Bsd { month, day, .. } = h.time else {
            panic!("{:?}", h.time)
        };
        assert_eq!((month, day), (2, 7));
    }

    #[test]
    fn a_line_without_tag_keeps_its_text() {
        let h = ok("Feb 20 08:35:23 slave22 last message repeated 2 times");
        assert_eq!((h.host, h.app), (Some("slave22"), None));
        assert_eq!(h.msg, "last message repeated 2 times");
    }

    #[test]
    fn cisco_sequence_fraction_and_zone() {
        let line = "<189>123: Jan  1 03:13:14.663 UTC: %SYS-5-CONFIG_I: Configured from console";
        let h = ok(line);
        assert_eq!(h.seq, Some("123"));
        assert_eq!(h.time_text, Some("Jan  1 03:13:14.663 UTC"));
        let RawTime::Bsd { zone, time, .. } = h.time else {
            panic!()
        };
        assert_eq!(zone, Some("UTC"));
        assert_eq!(
            time,
            NaiveTime::from_hms_micro_opt(3, 13, 14, 663_000).unwrap_or_default()
        );
        assert_eq!((h.host, h.app), (None, Some("%SYS-5-CONFIG_I")));
        assert_eq!(h.msg, "Configured from console");
    }

    #[test]
    fn iso_prefixed() {
        let h = ok("2015-04-16T18:02:50.568798+00:00 host sshd[2716]: Connection closed");
        let RawTime::Iso { offset, at } = h.time else {
            panic!()
        };
        assert_eq!(offset, FixedOffset::east_opt(0));
        assert_eq!(at.and_utc().timestamp_micros() % 1_000_000, 568_798);
        assert_eq!(
            (h.host, h.app, h.pid),
            (Some("host"), Some("sshd"), Some("2716"))
        );
    }

    #[test]
    fn rfc5424_structured_data_escapes_bh03() {
        let line = concat!(
            r#"<165>1 2003-10-11T22:14:15.003Z host-a evntslog - ID47 [exampleSDID@32473 "#,
            r#"iut="3" path="C:\\Temp\\x" note="say \"hi\" \] ok" "#,
            r#"url="http:\/\/example.com"][examplePriority@32473 class="high"] "#,
            "An application event"
        );
        let h = ok(line);
        assert_eq!(
            (h.host, h.app, h.pid, h.msgid),
            (Some("host-a"), Some("evntslog"), None, Some("ID47"))
        );
        let got: Vec<(&str, &str, &str)> =
            h.sd.iter()
                .map(|p| (p.id, p.name, p.value.as_ref()))
                .collect();
        assert_eq!(
            got,
            [
                ("exampleSDID@32473", "iut", "3"),
                ("exampleSDID@32473", "path", r"C:\Temp\x"),
                ("exampleSDID@32473", "note", r#"say "hi" ] ok"#),
                ("exampleSDID@32473", "url", r"http:\/\/example.com"),
                ("examplePriority@32473", "class", "high"),
            ]
        );
        assert_eq!(h.msg, "An application event");
    }

    #[test]
    fn rfc5424_nil_sd_brackets_in_value_and_empty_element() {
        let h = ok("<38>1 2019-07-08T17:40:16.954167-04:00 h sshd 57915 - - Failed x");
        assert_eq!(
            (h.app, h.pid, h.msg),
            (Some("sshd"), Some("57915"), "Failed x")
        );
        let h = ok(r#"<38>1 - h a - - [timeQuality tzKnown="1"][x@1 t="[b]"][e@2] m"#);
        assert_eq!(h.time, RawTime::Missing);
        assert_eq!(h.sd.len(), 3);
        assert_eq!(h.sd[1].value, "[b]");
        assert_eq!((h.sd[2].id, h.sd[2].name), ("e@2", ""));
        assert_eq!(h.msg, "m");
    }

    #[test]
    fn broken_input_gives_a_reason() {
        let cases = [
            ("hello world", "syntax: not a syslog line"),
            ("# failJSON: {}", "syntax: not a syslog line"),
            (
                "<999>Jan  1 00:00:00 h a: m",
                "value of pri: 999 is above 191",
            ),
            ("<1x>m", "syntax: pri"),
            (
                "Feb 30 10:00:00 h a: m",
                "value of timestamp: Feb 30 is not a date",
            ),
            (
                "Jan  1 25:00:00 h a: m",
                "value of timestamp: 25:00:00 is not a time",
            ),
            (
                "<13>1 2024-13-01T00:00:00Z h a - - - m",
                "value of timestamp: 2024-13-01",
            ),
            (
                "<13>1 yesterday h a - - - m",
                "value of timestamp: \"yesterday\"",
            ),
            ("<13>1 - h a -", "syntax: rfc 5424 header: MSGID is missing"),
            (
                "<13>1 - h a - - [x a=\"1] m",
                "syntax: structured data: unterminated value of a",
            ),
            (
                "<13>1 - h a - - x m",
                "syntax: structured data: expected '-' or '['",
            ),
        ];
        for (line, want) in cases {
            match parse(line) {
                Ok(h) => panic!("{line} parsed: {h:?}"),
                Err(e) => assert!(e.to_string().starts_with(want), "{line}: {e}"),
            }
        }
    }

    #[test]
    fn pri_without_timestamp_is_a_message() {
        let h = ok("<13>just text");
        assert_eq!(
            (h.time, h.host, h.app, h.msg),
            (RawTime::Missing, None, None, "just text")
        );
        let h = ok("<13>sshd[7]: Failed x");
        assert_eq!(
            (h.host, h.app, h.pid, h.msg),
            (None, Some("sshd"), Some("7"), "Failed x")
        );
    }

    #[test]
    fn sniffing() {
        for yes in [
            "Dec 10 06:55:46 LabSZ sshd[24200]: x",
            "<13>Jan  1 00:00:00 host-a app[101]: tick",
            "<165>1 2003-10-11T22:14:15.003Z host-a evntslog - ID47 - x",
            "2015-04-16T18:02:50.568798+00:00 host sshd[2716]: x",
            "<189>123: Jan  1 03:13:14.663 UTC: %SYS-5-CONFIG_I: x",
        ] {
            assert!(looks_like(yes), "{yes}");
        }
        for no in [
            r#"{"time":"2024-01-01T00:00:00Z"}"#,
            "#separator \\x09",
            "version account-id interface-id srcaddr dstaddr srcport",
            "id,Flow ID,Src IP,Src Port,Dst IP,Timestamp",
            "2024-01-01T00:00:00Z,a,b",
            "Date,Time,Host",
            "",
        ] {
            assert!(!looks_like(no), "{no}");
        }
    }
}
