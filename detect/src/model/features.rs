//! Entity-hours: what one user did in one clock hour, and its feature
//! vector.
//!
//! Training and online scoring share this code, so a model sees the same
//! features at `vigil train` time as in `replay` and `run`. An
//! `HourAcc` takes authentication rows one by one (online) or as
//! pre-counted groups (`vigil train` groups the lake in SQL first and
//! passes a count column `n`); `HourAcc::features` turns it into the
//! vector the model scores.

use arrow_array::RecordBatch;
use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::cols::{Int, Text, Time};
use crate::entity;

/// One hour, in µs.
pub(crate) const HOUR_US: i64 = 3_600_000_000;

/// The feature names, in vector order. A model file stores them, and a
/// model whose names differ is refused at load.
pub const FEATURES: [&str; 8] = [
    "sign_ins",
    "failures",
    "failure_ratio",
    "source_addresses",
    "countries",
    "services",
    "hosts",
    "off_hours",
];

/// How many features.
pub const N_FEATURES: usize = FEATURES.len();

/// Distinct values kept per set. Past this a set stops growing and its
/// count saturates; `log1p(32)` is already far in any tail seen in
/// training, so the score does not depend on the exact count beyond it.
const SET_CAP: usize = 32;

/// A capped set of value hashes.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Distinct(Vec<u64>);

impl Distinct {
    fn add(&mut self, v: Option<&str>) {
        let Some(v) = v else { return };
        let h = xxhash_rust::xxh3::xxh3_64(v.as_bytes());
        if self.0.len() < SET_CAP && !self.0.contains(&h) {
            self.0.push(h);
        }
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.0.capacity() * 8
    }
}

/// What one user did in one hour: counts and capped distinct sets.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct HourAcc {
    /// Authentication events other than logoffs.
    pub(crate) sign_ins: u64,
    /// Events with `status_id` 2.
    pub(crate) failures: u64,
    ips: Distinct,
    countries: Distinct,
    services: Distinct,
    hosts: Distinct,
}

/// The columns of an authentication batch the model reads.
pub(crate) struct AuthCols<'b> {
    time: Time<'b>,
    user: Text<'b>,
    activity: Int<'b>,
    status: Int<'b>,
    ip: Text<'b>,
    country: Text<'b>,
    service: Text<'b>,
    host: Text<'b>,
    /// A pre-counted group's size (`vigil train`); 1 when absent.
    n: Int<'b>,
}

/// One authentication row, user normalised and time in µs.
pub(crate) struct AuthRow<'b> {
    pub(crate) user: String,
    pub(crate) time: i64,
    activity: Option<i64>,
    status: Option<i64>,
    ip: Option<&'b str>,
    country: Option<&'b str>,
    service: Option<&'b str>,
    host: Option<&'b str>,
    n: u64,
}

impl<'b> AuthCols<'b> {
    pub(crate) fn new(b: &'b RecordBatch) -> AuthCols<'b> {
        AuthCols {
            time: Time::new(b, "time"),
            user: Text::new(b, "user_name"),
            activity: Int::new(b, "activity_id"),
            status: Int::new(b, "status_id"),
            ip: Text::new(b, "src_endpoint_ip"),
            country: Text::new(b, "src_endpoint_location_country"),
            service: Text::new(b, "service_name"),
            host: Text::new(b, "device_hostname"),
            n: Int::new(b, "n"),
        }
    }

    /// Row `row`, or `None` when it has no time or names no person.
    pub(crate) fn read(&self, row: usize) -> Option<AuthRow<'b>> {
        Some(AuthRow {
            user: entity::user(self.user.get(row)?)?,
            time: self.time.get(row)?,
            activity: self.activity.get(row),
            status: self.status.get(row),
            ip: self.ip.get(row),
            country: self.country.get(row),
            service: self.service.get(row),
            host: self.host.get(row),
            n: self.n.get(row).map_or(1, |n| n.max(0) as u64),
        })
    }
}

impl HourAcc {
    /// Count one row (or one pre-counted group of rows).
    pub(crate) fn add(&mut self, r: &AuthRow<'_>) {
        if r.activity != Some(2) {
            self.sign_ins += r.n;
        }
        if r.status == Some(2) {
            self.failures += r.n;
        }
        self.ips.add(r.ip.and_then(entity::ip).as_deref());
        self.countries.add(r.country);
        self.services
            .add(r.service.map(str::to_lowercase).as_deref());
        self.hosts.add(r.host.and_then(entity::host).as_deref());
    }

    /// The raw values, in [`FEATURES`] order, before scaling: counts, the
    /// failure ratio in 0..=1 and the off-hours flag as 0 or 1.
    pub(crate) fn raw(&self, hour: i64) -> [f64; N_FEATURES] {
        let ratio = if self.sign_ins == 0 {
            0.0
        } else {
            (self.failures as f64 / self.sign_ins as f64).min(1.0)
        };
        [
            self.sign_ins as f64,
            self.failures as f64,
            ratio,
            self.ips.len() as f64,
            self.countries.len() as f64,
            self.services.len() as f64,
            self.hosts.len() as f64,
            f64::from(u8::from(off_hours(hour))),
        ]
    }

    /// The feature vector: counts as `ln(1 + x)`, the ratio and the flag
    /// as they are. Scaling to the training mean and deviation is the
    /// model's job.
    pub(crate) fn features(&self, hour: i64) -> [f64; N_FEATURES] {
        let mut v = self.raw(hour);
        for (i, x) in v.iter_mut().enumerate() {
            if is_count(i) {
                *x = x.ln_1p();
            }
        }
        v
    }

    /// Heap and inline bytes, for the state measure.
    pub(crate) fn bytes(&self) -> usize {
        16 + self.ips.bytes() + self.countries.bytes() + self.services.bytes() + self.hosts.bytes()
    }
}

/// Whether feature `i` is a count (log-scaled).
fn is_count(i: usize) -> bool {
    !matches!(FEATURES[i], "failure_ratio" | "off_hours")
}

/// The start of the hour holding `t`, µs.
pub(crate) fn hour_of(t: i64) -> i64 {
    t.div_euclid(HOUR_US) * HOUR_US
}

/// Saturday, Sunday, or before 07:00 or from 19:00, in UTC.
///
/// N.B. UTC, not the user's zone: a team far from UTC reads as off hours
/// all day, which its peer group then learns as usual. A per-user zone
/// would resolve this once the directory feed carries one.
pub(crate) fn off_hours(hour: i64) -> bool {
    let Some(t) = DateTime::<Utc>::from_timestamp_micros(hour) else {
        return false;
    };
    matches!(t.weekday(), Weekday::Sat | Weekday::Sun) || t.hour() < 7 || t.hour() >= 19
}

/// `2026-11-05 14:00` for an hour start.
pub(crate) fn hour_text(hour: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(hour)
        .map(|t| t.format("%Y-%m-%d %H:00").to_string())
        .unwrap_or_else(|| hour.to_string())
}
