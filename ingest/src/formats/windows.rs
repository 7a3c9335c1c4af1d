//! Windows event logs as JSON, in the three shapes they are shipped in.
//!
//! - [`Format::WindowsJson`]: flat NXLog / Mordor objects, System and
//!   EventData fields side by side (`EventID`, `Channel`, `Hostname`,
//!   `TargetUserName`, ...), time in `@timestamp` or, local to the
//!   configured time zone, in NXLog's `EventTime`.
//! - [`Format::WindowsEvtxJson`]: `{"Event": {"System": ..., "EventData":
//!   ...}}` with XML attributes under `#attributes`, as the `evtx` crate
//!   renders binary `.evtx` records (the EVTX reader feeds its records
//!   here) and as SigmaHQ's regression data holds them.
//! - [`Format::WindowsSentinel`]: Microsoft Sentinel `SecurityEvent` and
//!   `Event` rows (`TimeGenerated`, `Computer`, `EventID`, `Account`, ...).
//!
//! Each record is first normalised to one shape (`shape::Event`): the event
//! ID as a number, whether it came as `4624`, `"4624"` or
//! `{"#attributes": {"Qualifiers": ..}, "#text": 4624}`, and every field
//! under the name Sigma rules use (`TargetUserName`, `EventID`, `Channel`,
//! `Computer`, `Provider_Name`, `EventRecordID`; see `shape` for the naming
//! rules). One mapping then writes rows:
//!
//! | events (Security log) | class | activity |
//! |---|---|---|
//! | 4624 logon, 4625 failed logon | authentication | 1 Logon |
//! | 4634, 4647 logoff | authentication | 2 Logoff |
//! | 4648 explicit credentials (actor = Subject, user = Target) | authentication | 1 Logon |
//! | 4768 TGT | authentication | 3 Authentication Ticket |
//! | 4769 service ticket (`service_name` = ServiceName) | authentication | 4 Service Ticket Request |
//! | 4770 ticket renewed | authentication | 5 Service Ticket Renew |
//! | 4771 pre-authentication failed | authentication | 6 Preauth |
//! | 4776 NTLM credential validation | authentication | 1 Logon |
//! | 4778 / 4779 session reconnected / disconnected | authentication | 1 Logon / 2 Logoff |
//! | everything else (4672, Sysmon, PowerShell, ADFS, ...) | base_event | none |
//!
//! Why: these are the events that say who proved their identity to which
//! host or service, from where, and whether it worked, which is what the
//! authentication class models. 4776 is the domain controller's half of an
//! NTLM logon, so it counts as a logon attempt; a session reconnect resumes
//! a logon and a disconnect ends one. An event ID only maps when the event
//! comes from the Security auditing provider (or the Security channel, or
//! names neither), because other channels reuse the numbers.
//!
//! Outcome: 4624 and the logoffs succeed, 4625 fails, the Kerberos and NTLM
//! events read `Status` (4771: `FailureCode`): `0x0` is success, anything
//! else failure, with `status_code` the code and `status_detail` the
//! `SubStatus`. User columns come from `Target*`, actor columns from
//! `Subject*`; `IpAddress` `::ffff:a.b.c.d` becomes `a.b.c.d`, and `-`
//! leaves the column null. The protocol comes from the event (Kerberos,
//! NTLM) or `AuthenticationPackageName`.
//!
//! Every row, of either class, also carries every field of the event in
//! `unmapped`, values as written (so `IpAddress` `-` stays visible to
//! Sigma), with `EventID` as plain decimal text and its qualifiers apart
//! in `EventID_Qualifiers`. NXLog's `Message` goes to `message`.

mod auth;
mod known;
mod shape;
mod value;

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use vigil_schemas::{Class, Field, Row, parse_int};

use self::known::{K, Known};
use self::shape::Event;
use super::util::parse_time_str;
use crate::decode::{DecodeConfig, DecodeError, Decoder, Record};
use crate::emit::Emitter;
use crate::format::Format;

/// A decoder for `format`: [`Format::WindowsJson`],
/// [`Format::WindowsSentinel`], or the nested EVTX-JSON shape for
/// [`Format::WindowsEvtxJson`] and anything else (binary EVTX records are
/// rendered to that shape before they get here).
pub fn decoder(format: Format, cfg: &DecodeConfig) -> Box<dyn Decoder> {
    let (format, shape) = match format {
        Format::WindowsJson => (format, Shape::Flat),
        Format::WindowsSentinel => (format, Shape::Sentinel),
        _ => (Format::WindowsEvtxJson, Shape::Nested),
    };
    Box::new(Windows {
        format,
        shape,
        tz: cfg.timezone,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Flat,
    Nested,
    Sentinel,
}

struct Windows {
    format: Format,
    shape: Shape,
    tz: Tz,
}

/// The event time, the text it came from, and why it is not exact.
struct When<'e> {
    t: DateTime<Utc>,
    text: &'e str,
    quality: Option<&'static str>,
}

impl Decoder for Windows {
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
        let v = value::parse(rec.text)?;
        let ev = match self.shape {
            Shape::Flat => shape::flat(&v, false)?,
            Shape::Sentinel => shape::flat(&v, true)?,
            Shape::Nested => shape::nested(&v)?,
        };
        let known = Known::new(&ev.fields);
        let when = self.when(&known)?;

        let spec = auth::spec(ev.id).filter(|_| auth::is_security(&known));
        let class = match spec {
            Some(_) => Class::Authentication,
            None => Class::BaseEvent,
        };
        let mut row = out.row(rec, class);
        self.common(&mut row, &ev, &known, when.as_ref());
        match &spec {
            Some(spec) => auth::map(&mut row, spec, &known),
            None => base(&mut row, &known),
        }
        for (k, v) in &ev.fields {
            row.unmapped(k, v);
        }
        Ok(())
    }
}

impl Windows {
    /// The event time from the first time field the shape has.
    ///
    /// # Errors
    ///
    /// A value error naming the field when its text is not a time.
    fn when<'e>(&self, known: &Known<'e>) -> Result<Option<When<'e>>, DecodeError> {
        let keys: &[K] = match self.shape {
            Shape::Nested => &[K::SystemTime],
            Shape::Flat => &[K::AtTimestamp, K::TimeCreated, K::EventTime],
            Shape::Sentinel => &[K::TimeGenerated, K::TimeCreated, K::Timestamp],
        };
        let Some((key, text)) = keys.iter().find_map(|k| known.get(*k).map(|t| (*k, t))) else {
            return Ok(None);
        };
        match parse_when(text, self.tz) {
            Some((t, quality)) => Ok(Some(When { t, text, quality })),
            None => Err(DecodeError::value(
                key.name(),
                format!("{text:?} is not a timestamp"),
            )),
        }
    }

    /// The columns every row gets: time, product, log, event code, record
    /// id, host, message and severity.
    fn common(
        &self,
        row: &mut Row<'_>,
        ev: &Event<'_>,
        known: &Known<'_>,
        when: Option<&When<'_>>,
    ) {
        if let Some(w) = when {
            row.time(Field::Time, w.t);
            row.str(Field::MetadataOriginalTime, w.text);
            row.opt_str(Field::MetadataTimeQuality, w.quality);
        }
        let channel = known.get(K::Channel);
        row.str(Field::MetadataProductName, product(channel, known));
        row.str(Field::MetadataProductVendorName, "Microsoft");
        let log = channel.or(known.get(K::Type)).unwrap_or(self.format.name());
        row.str(Field::MetadataLogName, log);
        row.int(Field::MetadataEventCode, i64::from(ev.id));
        let uid = known.first(&[K::EventRecordId, K::EventOriginId]);
        row.opt_str(Field::MetadataUid, uid);
        row.opt_str(Field::DeviceHostname, known.get(K::Computer));
        row.opt_str(Field::Message, ev.message.as_deref());
        if let Some((id, name)) = severity(known) {
            row.int(Field::SeverityId, id);
            row.str(Field::Severity, name);
        }
    }
}

/// Base events name who and where when the event says so: the target
/// user, the subject (actor), the source address.
fn base(row: &mut Row<'_>, known: &Known<'_>) {
    row.opt_str(Field::UserName, known.get(K::TargetUserName));
    row.opt_str(Field::ActorUserName, known.get(K::SubjectUserName));
    if let Some(ip) = known.get(K::IpAddress) {
        row.ip(Field::SrcEndpointIp, ip);
    }
}

/// "Windows Security" for the Security log, "Sysmon" for Sysmon, else
/// "Windows".
fn product(channel: Option<&str>, known: &Known<'_>) -> &'static str {
    let provider = known.get(K::ProviderName).unwrap_or("");
    match channel {
        Some(c) if c.eq_ignore_ascii_case("Security") => "Windows Security",
        Some(c) if c.contains("Sysmon") => "Sysmon",
        _ if provider.contains("Sysmon") => "Sysmon",
        _ => "Windows",
    }
}

/// OCSF severity from the Windows `Level` (Sentinel `EventLevel`):
/// 1 critical is high, 2 error medium, 3 warning low, and 0 (log always,
/// as audits are), 4 information and 5 verbose informational. Sentinel's
/// `SecurityEvent.Level` (8, 16) is not this scale and is left out.
fn severity(known: &Known<'_>) -> Option<(i64, &'static str)> {
    let level = parse_int(known.first(&[K::Level, K::EventLevel])?)?;
    Some(match level {
        1 => (4, "High"),
        2 => (3, "Medium"),
        3 => (2, "Low"),
        0 | 4 | 5 => (1, "Informational"),
        _ => return None,
    })
}

/// A timestamp: one with a zone or offset (or epoch digits) as it says,
/// one without in `tz`, with the quality of an ambiguous or nonexistent
/// local time (a DST change) noted.
fn parse_when(text: &str, tz: Tz) -> Option<(DateTime<Utc>, Option<&'static str>)> {
    let s = text.trim();
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, f) {
            return local(naive, tz);
        }
    }
    parse_time_str(s).map(|t| (t, None))
}

fn local(naive: NaiveDateTime, tz: Tz) -> Option<(DateTime<Utc>, Option<&'static str>)> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some((t.with_timezone(&Utc), None)),
        LocalResult::Ambiguous(first, _) => {
            Some((first.with_timezone(&Utc), Some("ambiguous_local")))
        }
        LocalResult::None => {
            let later = tz.from_local_datetime(&(naive + TimeDelta::hours(1)));
            let t = later.earliest()?.with_timezone(&Utc);
            Some((t, Some("nonexistent_local")))
        }
    }
}
