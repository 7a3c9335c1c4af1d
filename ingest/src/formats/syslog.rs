//! Syslog lines: RFC 3164 (with or without `<PRI>`), RFC 5424 with
//! structured data, and lines that start with an ISO 8601 timestamp. sshd
//! and its PAM stack become authentication rows; every other line is kept
//! as a base event with its host, app, pid and message.
//!
//! A line is read in three steps: `header` splits PRI, timestamp, host,
//! app, pid (and MSGID and structured data for RFC 5424); `stamp` turns the
//! timestamp into an instant (zone from the line or `DecodeConfig`, the
//! year of an RFC 3164 line inferred near the reference time, DST gaps and
//! folds by a fixed rule: see its doc); `sshd` reads sshd messages.
//!
//! # Every row
//!
//! `time`, `metadata_original_time` (the timestamp as written),
//! `metadata_time_quality` (`year_inferred`, `ambiguous_local`,
//! `nonexistent_local`, comma-joined), `metadata_product_name` (`sshd` for
//! sshd and sshd-session, else the app, else `syslog`), `metadata_log_name`
//! `syslog`, `device_hostname` (HOSTNAME), `actor_process_name` and
//! `actor_process_pid` (app and pid), `message`, `severity_id` from the PRI
//! severity. In `unmapped`: `facility`, `syslog_severity`, RFC 5424
//! `msgid`, each structured-data parameter as `sd.<SD-ID>.<PARAM-NAME>`
//! (an element without parameters as `sd.<SD-ID>`), a Cisco `sequence`.
//!
//! # sshd
//!
//! `metadata_event_code` names the message kind: `accepted`, `failed`,
//! `invalid_user`, `user_not_allowed`, `root_login_refused`,
//! `session_opened`, `session_closed`, `pam_auth_failure`, `pam`,
//! `auth_step`, `max_auth_tries`, `input_userauth_invalid_user`,
//! `connection_from`, `disconnect`, `preauth_failure`, `refused_connect`,
//! `reverse_mapping`, `other`. Authentication (3002) rows:
//!
//! | message | activity | status | status_detail |
//! |---|---|---|---|
//! | `Accepted <m> for U from A port P` | 1 Logon | 1 Success | - |
//! | `Failed <m> for [invalid user ]U from A port P` | 1 Logon | 2 Failure | `failed <m>` |
//! | `Invalid user U from A [port P]` | 1 Logon | 2 Failure | `invalid user` |
//! | `User U from A not allowed because R` | 1 Logon | 2 Failure | `user not allowed` |
//! | `ROOT LOGIN REFUSED FROM A` | 1 Logon | 2 Failure | `root login refused` |
//! | `pam_*(sshd:session): session opened for user U` | 1 Logon | - | `session opened` |
//! | `pam_*(sshd:session): session closed for user U` | 2 Logoff | - | `session closed` |
//!
//! So one `Failed` line is one failed attempt (`status_detail` starting
//! `failed `), an `Invalid user` line is one rejection of an unknown name
//! (told apart by `status_detail = 'invalid user'`), and `status_id = 1`
//! counts successful authentications once: the PAM session rows carry no
//! status, the `Accepted` row is the outcome. `auth_protocol` is the method
//! (`auth_protocol_id` 99 Other), `is_remote` true, `service_name` `ssh`;
//! `unmapped` adds `invalid_user`, `auth_info` (key type and fingerprint),
//! `reason`, `preauth`.
//!
//! Base event (0) rows, with `user_name` and `src_endpoint_ip` where the
//! line names them: PAM's own failure lines (`pam_unix(sshd:auth):
//! authentication failure; ... rhost=`, `PAM 2 more authentication
//! failures`, `error: PAM: Authentication failure for U from H`) because
//! they echo a `Failed` line and must not count as a second attempt;
//! summaries of failures already logged (`Disconnecting: Too many
//! authentication failures`, `maximum authentication attempts exceeded`);
//! `input_userauth_request: invalid user` (echoes `Invalid user`);
//! `Postponed`/`Partial`; connection lines (`Connection from/closed/reset`,
//! `Disconnected`, `Received disconnect`, `Did not receive identification
//! string`, `Unable to negotiate`, timeouts, kex errors); reverse-mapping
//! warnings; everything else sshd says.
//!
//! A line that names no address (`Disconnecting: Too many authentication
//! failures`, `session closed`, kex errors) takes the address of the last
//! line from the same host and sshd pid that named one, and says so with
//! `unmapped.src_endpoint_inferred = same_pid`. The address of a line is
//! read as the `sshd` module doc says (BH-04: the last `from <ip> port <n>`
//! that ends the line or precedes `: <auth info>`).
//!
//! `message repeated N times: [ <msg> ]` becomes N rows of `<msg>` (at most
//! [`MAX_REPEAT`]), each with `unmapped.repeat_count` and `repeat_index`,
//! so counting rows counts events.
//!
//! # Other lines
//!
//! Base events. `sudo` lines add `actor_user_name` (who ran it),
//! `user_name` (`USER=`), the `TTY`, `PWD`, `USER`, `COMMAND` fields in
//! `unmapped`, and status Failure with the reason (`user NOT in sudoers`)
//! when sudo gives one.
//!
//! # Not syslog
//!
//! A line with neither `<PRI>` nor a leading timestamp (a `#` comment,
//! random text) is a dead letter saying so; a line with `<PRI>` but no
//! timestamp is kept with no time (RFC 3164 section 4.3.2). Blank lines are
//! skipped. Known gap: `last message repeated N times` (old sysklogd,
//! without the message) is one base event, not N copies of the line before;
//! resolving it needs the previous line per host kept in the decoder.

mod header;
mod sshd;
mod stamp;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use vigil_schemas::{Class, Field, Row};

use self::header::Header;
use self::sshd::{Kind, Sshd};
use self::stamp::When;
use crate::decode::{DecodeConfig, DecodeError, Decoder, Record};
use crate::emit::Emitter;

/// The most rows one `message repeated N times` line becomes.
pub const MAX_REPEAT: u32 = 10_000;

/// sshd processes whose address is remembered; past this the memory is
/// cleared (an sshd pid lives as long as one connection).
const MAX_SESSIONS: usize = 65_536;

/// A decoder for syslog lines.
pub fn decoder(cfg: &DecodeConfig) -> Box<dyn Decoder> {
    Box::new(Syslog {
        tz: cfg.timezone,
        reference: cfg.reference_time,
        sessions: HashMap::new(),
    })
}

/// Whether a first line looks like syslog (for content sniffing): RFC 3164
/// with or without `<PRI>`, RFC 5424, or an ISO 8601 timestamp and a space.
pub fn looks_like(first_line: &str) -> bool {
    header::looks_like(first_line)
}

struct Syslog {
    tz: Tz,
    reference: DateTime<Utc>,
    /// Last address named per (host, sshd pid).
    sessions: HashMap<u64, Seen>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Seen {
    addr: Box<str>,
    port: Option<Box<str>>,
}

/// One parsed line, ready to write.
struct Line<'a> {
    hdr: Header<'a>,
    when: Option<When>,
    /// The message a row stands for (the inner one of a repeat).
    msg: &'a str,
    /// N of `message repeated N times`.
    repeat: Option<u64>,
}

impl Line<'_> {
    fn rows(&self) -> u32 {
        self.repeat
            .map_or(1, |n| n.clamp(1, u64::from(MAX_REPEAT)) as u32)
    }
}

impl Decoder for Syslog {
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
        if rec.text.trim().is_empty() {
            return Ok(());
        }
        let hdr = header::parse(rec.text)?;
        let when = stamp::resolve(&hdr.time, self.tz, self.reference)?;
        let (repeat, msg) = repeated(hdr.msg);
        let line = Line {
            hdr,
            when,
            msg,
            repeat,
        };

        if is_sshd(line.hdr.app) {
            self.emit_sshd(rec, out, &line);
        } else {
            emit_other(rec, out, &line);
        }
        Ok(())
    }
}

/// `message repeated N times: [ <msg>]` (rsyslog): N and the inner message.
fn repeated(msg: &str) -> (Option<u64>, &str) {
    let inner = msg.strip_prefix("message repeated ").and_then(|r| {
        let (n, rest) = r.split_once(" times: [")?;
        let n: u64 = n.parse().ok()?;
        Some((n, rest.strip_suffix(']')?.trim()))
    });
    match inner {
        Some((n, m)) => (Some(n), m),
        None => (None, msg),
    }
}

fn is_sshd(app: Option<&str>) -> bool {
    let Some(app) = app else {
        return false;
    };
    let base = app.rsplit('/').next().unwrap_or(app);
    base == "sshd" || base.starts_with("sshd-")
}

impl Syslog {
    fn emit_sshd(&mut self, rec: &Record<'_>, out: &mut Emitter, line: &Line<'_>) {
        let ev = sshd::classify(line.msg);
        let inferred = self.session_address(line, &ev);
        let class = class_of(ev.kind);
        for i in 0..line.rows() {
            let mut row = out.row(rec, class);
            common(&mut row, line, "sshd");
            sshd_fields(&mut row, &ev);
            if let Some(seen) = &inferred {
                set_src(&mut row, &seen.addr, seen.port.as_deref());
                row.unmapped("src_endpoint_inferred", "same_pid");
            }
            repeat_fields(&mut row, line, i);
        }
    }

    /// Remember the address a line names, or recall the one named earlier
    /// by the same sshd process when this line names none.
    fn session_address(&mut self, line: &Line<'_>, ev: &Sshd<'_>) -> Option<Seen> {
        let key = session_key(line.hdr.host, line.hdr.pid?);
        let Some(addr) = ev.src else {
            return self.sessions.get(&key).cloned();
        };
        let seen = Seen {
            addr: addr.into(),
            port: ev.port.map(Into::into),
        };
        if self.sessions.len() >= MAX_SESSIONS && !self.sessions.contains_key(&key) {
            self.sessions.clear();
        }
        self.sessions.insert(key, seen);
        None
    }
}

fn session_key(host: Option<&str>, pid: &str) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(host.unwrap_or("").as_bytes());
    h.update(&[0]);
    h.update(pid.as_bytes());
    h.digest()
}

fn class_of(kind: Kind) -> Class {
    match kind {
        Kind::Accepted
        | Kind::Failed
        | Kind::InvalidUser
        | Kind::UserNotAllowed
        | Kind::RootLoginRefused
        | Kind::SessionOpened
        | Kind::SessionClosed => Class::Authentication,
        _ => Class::BaseEvent,
    }
}

/// Fields every row of the line gets.
fn common(row: &mut Row<'_>, line: &Line<'_>, product: &str) {
    let h = &line.hdr;
    if let Some(w) = line.when {
        row.time(Field::Time, w.utc);
        row.opt_str(Field::MetadataTimeQuality, w.quality);
    }
    row.opt_str(Field::MetadataOriginalTime, h.time_text);
    row.str(Field::MetadataProductName, product);
    row.str(Field::MetadataLogName, "syslog");
    row.opt_str(Field::DeviceHostname, h.host);
    row.opt_str(Field::ActorProcessName, h.app);
    row.opt_str(Field::ActorProcessPid, h.pid);
    row.str(Field::Message, line.msg);
    if let Some(p) = h.pri {
        priority(row, p);
    }
    if let Some(m) = h.msgid {
        row.unmapped("msgid", m);
    }
    if let Some(s) = h.seq {
        row.unmapped("sequence", s);
    }
    for p in &h.sd {
        let key = if p.name.is_empty() {
            format!("sd.{}", p.id)
        } else {
            format!("sd.{}.{}", p.id, p.name)
        };
        row.unmapped(&key, &p.value);
    }
}

const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "security", "console", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

/// PRI: facility and severity in `unmapped`, severity mapped to OCSF.
fn priority(row: &mut Row<'_>, pri: u8) {
    let (facility, sev) = (usize::from(pri / 8), usize::from(pri % 8));
    // N.B. OCSF: 6 fatal, 5 critical, 4 high, 3 medium, 2 low, 1 informational.
    let (id, name) = match sev {
        0 => (6, "Fatal"),
        1 | 2 => (5, "Critical"),
        3 => (4, "High"),
        4 => (3, "Medium"),
        5 => (2, "Low"),
        _ => (1, "Informational"),
    };
    row.int(Field::SeverityId, id);
    row.str(Field::Severity, name);
    row.unmapped(
        "facility",
        FACILITIES.get(facility).copied().unwrap_or("unknown"),
    );
    row.unmapped("syslog_severity", SEVERITIES[sev]);
}

fn sshd_fields(row: &mut Row<'_>, ev: &Sshd<'_>) {
    row.str(Field::MetadataEventCode, ev.kind.code());
    outcome(row, ev);
    if row.class() == Class::Authentication {
        row.bool(Field::IsRemote, true);
        row.str(Field::ServiceName, "ssh");
    }
    row.opt_str(Field::UserName, ev.user);
    if let Some(a) = ev.src {
        set_src(row, a, ev.port);
    }
    if let Some(d) = ev.dst {
        row.ip(Field::DstEndpointIp, d);
        row.opt_str(Field::DstEndpointPort, ev.dst_port);
    }
    if ev.invalid_user {
        row.unmapped("invalid_user", "true");
    }
    if let Some(i) = ev.info {
        row.unmapped("auth_info", i);
    }
    if let Some(r) = ev.reason {
        row.unmapped("reason", r);
    }
    if ev.preauth {
        row.unmapped("preauth", "true");
    }
}

/// Activity, status and method of the authentication kinds.
fn outcome(row: &mut Row<'_>, ev: &Sshd<'_>) {
    let (activity, status, detail) = match ev.kind {
        Kind::Accepted => (1, Some(1), None),
        Kind::Failed => (1, Some(2), None),
        Kind::InvalidUser => (1, Some(2), Some("invalid user")),
        Kind::UserNotAllowed => (1, Some(2), Some("user not allowed")),
        Kind::RootLoginRefused => (1, Some(2), Some("root login refused")),
        Kind::SessionOpened => (1, None, Some("session opened")),
        Kind::SessionClosed => (2, None, Some("session closed")),
        _ => return,
    };
    row.int(Field::ActivityId, activity);
    row.str(
        Field::ActivityName,
        if activity == 1 { "Logon" } else { "Logoff" },
    );
    match status {
        Some(1) => row.int(Field::StatusId, 1).str(Field::Status, "Success"),
        Some(_) => row.int(Field::StatusId, 2).str(Field::Status, "Failure"),
        None => row,
    };
    if let Some(m) = ev.method {
        row.str(Field::AuthProtocol, m);
        row.int(Field::AuthProtocolId, 99);
        if ev.kind == Kind::Failed {
            row.str(Field::StatusDetail, &format!("failed {m}"));
        }
    }
    row.opt_str(Field::StatusDetail, detail);
}

/// An address that parses goes to `src_endpoint_ip` (IPv4-mapped IPv6 as
/// IPv4), a name to `src_endpoint_hostname`.
fn set_src(row: &mut Row<'_>, addr: &str, port: Option<&str>) {
    if vigil_schemas::parse_ip(addr).is_some() {
        row.ip(Field::SrcEndpointIp, addr);
    } else {
        row.str(Field::SrcEndpointHostname, addr);
    }
    row.opt_str(Field::SrcEndpointPort, port);
}

fn repeat_fields(row: &mut Row<'_>, line: &Line<'_>, i: u32) {
    let Some(n) = line.repeat else {
        return;
    };
    row.unmapped("repeat_count", &n.to_string());
    row.unmapped("repeat_index", &(i + 1).to_string());
    if n > u64::from(MAX_REPEAT) {
        row.unmapped("repeat_capped", "true");
    }
}

fn emit_other(rec: &Record<'_>, out: &mut Emitter, line: &Line<'_>) {
    let product = line.hdr.app.unwrap_or("syslog");
    for i in 0..line.rows() {
        let mut row = out.row(rec, Class::BaseEvent);
        common(&mut row, line, product);
        if line.hdr.app == Some("sudo") {
            sudo_fields(&mut row, line.msg);
        }
        repeat_fields(&mut row, line, i);
    }
}

/// `<user> : [<reason> ; ]TTY=.. ; PWD=.. ; USER=.. ; COMMAND=..`.
fn sudo_fields(row: &mut Row<'_>, msg: &str) {
    let Some((actor, mut rest)) = msg.split_once(" : ") else {
        return;
    };
    row.str(Field::ActorUserName, actor.trim());
    let mut reason = None;
    loop {
        // N.B. COMMAND is last and may itself contain " ; ".
        if let Some(cmd) = rest.strip_prefix("COMMAND=") {
            row.unmapped("COMMAND", cmd);
            break;
        }
        let (seg, next) = rest.split_once(" ; ").unwrap_or((rest, ""));
        match seg.split_once('=') {
            Some((k, v)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_uppercase()) => {
                row.unmapped(k, v);
                if k == "USER" {
                    row.str(Field::UserName, v);
                }
            }
            _ => reason = Some(seg.trim()),
        }
        if next.is_empty() {
            break;
        }
        rest = next;
    }
    match reason {
        Some(r) => row
            .int(Field::StatusId, 2)
            .str(Field::Status, "Failure")
            .str(Field::StatusDetail, r),
        None => row.int(Field::StatusId, 1).str(Field::Status, "Success"),
    };
}
