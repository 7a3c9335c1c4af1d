//! From a timestamp as written to an instant: the zone, the year, and the
//! local times that a DST change makes ambiguous or skips.
//!
//! Rules (edge cases BH-01 and BH-06):
//!
//! - Zone: the line's own zone or offset when it has one; otherwise the
//!   configured zone (`DecodeConfig::timezone`), never a guess.
//! - Year (RFC 3164 writes none): the latest year that puts the instant no
//!   later than the reference time plus [`FUTURE_SKEW_SECS`], i.e. the
//!   nearest year, allowing a small future skew. A date that the candidate
//!   year lacks (Feb 29) moves to the closest earlier year that has it.
//! - Ambiguous local time (the repeated hour in autumn): the offset in force
//!   after the change (2024-11-03 01:30 New York is 06:30Z, -05:00).
//! - Nonexistent local time (the skipped hour in spring): the offset in
//!   force before the change (2024-03-10 02:30 New York is 07:30Z, -05:00).
//!   Both are PostgreSQL's rules.
//! - `metadata_time_quality` says what was inferred: `year_inferred`,
//!   `ambiguous_local`, `nonexistent_local`, joined by `,` when several hold.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime,
    Offset, TimeZone, Utc,
};
use chrono_tz::Tz;

use super::header::{RawTime, parse_offset};
use crate::decode::DecodeError;

/// How far past the reference time an inferred-year timestamp may fall
/// (clock skew, a zone set wrong by up to a day's worth of hours).
pub(crate) const FUTURE_SKEW_SECS: i64 = 24 * 3600;

/// Years before the reference year tried for a year-less date: enough to
/// reach a Feb 29 across a century year that is not a leap year.
const YEARS_BACK: i32 = 8;

/// A resolved event time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct When {
    /// The instant.
    pub utc: DateTime<Utc>,
    /// `metadata_time_quality`, when anything was inferred.
    pub quality: Option<&'static str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Local {
    Plain,
    Ambiguous,
    Nonexistent,
}

/// The zone a wall-clock time is read in.
#[derive(Clone, Copy, Debug)]
enum Zone {
    Named(Tz),
    Fixed(FixedOffset),
}

impl Zone {
    fn of_token(token: Option<&str>, configured: Tz) -> Zone {
        let Some(t) = token else {
            return Zone::Named(configured);
        };
        if let Some(o) = parse_offset(t) {
            return Zone::Fixed(o);
        }
        t.parse::<Tz>().map_or(Zone::Named(configured), Zone::Named)
    }

    fn to_utc(self, at: NaiveDateTime) -> (DateTime<Utc>, Local) {
        match self {
            Zone::Fixed(o) => (Utc.from_utc_datetime(&(at - o)), Local::Plain),
            Zone::Named(tz) => named_to_utc(tz, at),
        }
    }
}

/// A wall-clock time in a named zone, with the DST rules of the module doc.
fn named_to_utc(tz: Tz, at: NaiveDateTime) -> (DateTime<Utc>, Local) {
    match tz.from_local_datetime(&at) {
        LocalResult::Single(t) => (t.to_utc(), Local::Plain),
        // N.B. chrono orders the pair earliest first; the later instant is
        // the one read with the offset in force after the change.
        LocalResult::Ambiguous(_, later) => (later.to_utc(), Local::Ambiguous),
        LocalResult::None => (before_gap(tz, at), Local::Nonexistent),
    }
}

/// Read `at` with the offset in force just before the gap it falls in.
fn before_gap(tz: Tz, at: NaiveDateTime) -> DateTime<Utc> {
    for step in 1..=48 {
        let probe = at - Duration::minutes(30 * step);
        if let Some(t) = tz.from_local_datetime(&probe).latest() {
            let off = t.offset().fix();
            return Utc.from_utc_datetime(&(at - off));
        }
    }
    Utc.from_utc_datetime(&at)
}

/// Resolve a timestamp: `None` when the line has none.
///
/// # Errors
///
/// [`DecodeError::Value`] for a date that does not exist in the year the
/// line gives, or a year-less date that fits no year near the reference.
pub(crate) fn resolve(
    raw: &RawTime<'_>,
    tz: Tz,
    reference: DateTime<Utc>,
) -> Result<Option<When>, DecodeError> {
    let (utc, local, inferred) = match *raw {
        RawTime::Missing => return Ok(None),
        RawTime::Iso { at, offset } => {
            let zone = offset.map_or(Zone::Named(tz), Zone::Fixed);
            let (utc, local) = zone.to_utc(at);
            (utc, local, false)
        }
        RawTime::Bsd {
            month,
            day,
            year,
            time,
            zone,
        } => {
            let zone = Zone::of_token(zone, tz);
            match year {
                Some(y) => {
                    let (utc, local) = zone.to_utc(dated(y, month, day)?.and_time(time));
                    (utc, local, false)
                }
                None => {
                    let (utc, local) = infer_year(month, day, time, zone, reference)?;
                    (utc, local, true)
                }
            }
        }
    };
    Ok(Some(When {
        utc,
        quality: quality(inferred, local),
    }))
}

fn dated(y: i32, month: u32, day: u32) -> Result<NaiveDate, DecodeError> {
    NaiveDate::from_ymd_opt(y, month, day).ok_or_else(|| {
        DecodeError::value(
            "timestamp",
            format!("{y:04}-{month:02}-{day:02} is not a date"),
        )
    })
}

/// The latest year whose instant is no later than reference + skew.
fn infer_year(
    month: u32,
    day: u32,
    time: NaiveTime,
    zone: Zone,
    reference: DateTime<Utc>,
) -> Result<(DateTime<Utc>, Local), DecodeError> {
    let limit = reference + Duration::seconds(FUTURE_SKEW_SECS);
    let top = reference.year() + 1;
    for y in (top - 1 - YEARS_BACK..=top).rev() {
        let Some(date) = NaiveDate::from_ymd_opt(y, month, day) else {
            continue;
        };
        let (utc, local) = zone.to_utc(date.and_time(time));
        if utc <= limit {
            return Ok((utc, local));
        }
    }
    Err(DecodeError::value(
        "timestamp",
        format!("month {month} day {day} fits no year near the reference time"),
    ))
}

fn quality(inferred: bool, local: Local) -> Option<&'static str> {
    match (inferred, local) {
        (false, Local::Plain) => None,
        (false, Local::Ambiguous) => Some("ambiguous_local"),
        (false, Local::Nonexistent) => Some("nonexistent_local"),
        (true, Local::Plain) => Some("year_inferred"),
        (true, Local::Ambiguous) => Some("year_inferred,ambiguous_local"),
        (true, Local::Nonexistent) => Some("year_inferred,nonexistent_local"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::syslog::header::parse;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.to_utc())
            .expect("test time")
    }

    fn when(line: &str, tz: Tz, reference: &str) -> When {
        let h = parse(line).expect("test line parses");
        resolve(&h.time, tz, at(reference))
            .expect("resolves")
            .expect("has a time")
    }

    #[test]
    fn bh01_year_at_the_boundary() {
        let a = when(
            "<13>Jan  1 00:00:00 host-a app[101]: tick",
            Tz::UTC,
            "2021-12-31T23:59:59.8Z",
        );
        assert_eq!(a.utc, at("2022-01-01T00:00:00Z"));
        assert_eq!(a.quality, Some("year_inferred"));

        let b = when(
            "<13>Dec 31 23:59:59 host-a app[101]: tock",
            Tz::UTC,
            "2022-01-01T00:00:02Z",
        );
        assert_eq!(b.utc, at("2021-12-31T23:59:59Z"));

        let line = "<189>123: Jan  1 03:13:14.663 UTC: %SYS-5-CONFIG_I: Configured from console \
                    by alice on vty0 (192.0.2.1)";
        let c = when(line, chrono_tz::America::New_York, "2020-01-01T03:13:20Z");
        assert_eq!(c.utc, at("2020-01-01T03:13:14.663Z"));

        let d = when(
            "<13>Feb 29 10:00:00 host-a app[101]: leap",
            Tz::UTC,
            "2025-03-01T09:00:00Z",
        );
        assert_eq!(d.utc, at("2024-02-29T10:00:00Z"));
    }

    #[test]
    fn bh06_dst_ambiguous_and_nonexistent() {
        let ny = chrono_tz::America::New_York;
        let line = "<38>Nov  3 01:30:00 host-a sshd[100]: Accepted publickey for alice";
        let w = when(line, ny, "2024-12-01T00:00:00Z");
        assert_eq!(w.utc, at("2024-11-03T06:30:00Z"));
        assert_eq!(w.quality, Some("year_inferred,ambiguous_local"));

        let line = "<38>Mar 10 02:30:00 host-a sshd[101]: Accepted publickey for alice";
        let w = when(line, ny, "2024-12-01T00:00:00Z");
        assert_eq!(w.utc, at("2024-03-10T07:30:00Z"));
        assert_eq!(w.quality, Some("year_inferred,nonexistent_local"));

        let w = when(
            "2024-11-03T01:30:00 host-a app: m",
            ny,
            "2024-12-01T00:00:00Z",
        );
        assert_eq!(
            (w.utc, w.quality),
            (at("2024-11-03T06:30:00Z"), Some("ambiguous_local"))
        );
    }

    #[test]
    fn explicit_offsets_and_years_are_not_inferred() {
        let w = when(
            "2015-04-16T18:02:50.568798+00:00 h sshd[1]: x",
            Tz::UTC,
            "2000-01-01T00:00:00Z",
        );
        assert_eq!(
            (w.utc, w.quality),
            (at("2015-04-16T18:02:50.568798Z"), None)
        );
        let w = when(
            "Jan  2 2019 10:00:00 h a: x",
            Tz::UTC,
            "2030-01-01T00:00:00Z",
        );
        assert_eq!((w.utc, w.quality), (at("2019-01-02T10:00:00Z"), None));
        let w = when(
            "Jan  2 10:00:00 +0200 h a: x",
            Tz::UTC,
            "2019-06-01T00:00:00Z",
        );
        assert_eq!(w.utc, at("2019-01-02T08:00:00Z"));
    }

    #[test]
    fn a_date_missing_from_the_written_year_is_an_error() {
        let h = parse("Feb 29 2023 10:00:00 h a: x").expect("parses");
        let e = resolve(&h.time, Tz::UTC, at("2024-01-01T00:00:00Z"));
        assert_eq!(
            e.map_err(|e| e.to_string()),
            Err("value of timestamp: 2023-02-29 is not a date".to_string())
        );
    }
}
