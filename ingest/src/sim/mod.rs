//! `vigil simulate`: a deterministic enterprise that writes its identity,
//! device and network telemetry in the real vendor formats vigil decodes,
//! with attacks injected and labelled.
//!
//! # What it models
//!
//! A company of `users` people in offices in New York, San Francisco,
//! London, Berlin, Munich and Singapore (real coordinates and time zones,
//! daylight saving included). Each person has a department (engineering,
//! sales, finance, hr, marketing, support, it-admins, legal) that decides
//! their Okta apps, their usual file and app servers and whether they ssh
//! to Linux servers; a laptop (a Windows workstation `WS-NNNNN`, or a Mac)
//! and often a phone; working hours in local time with their own start
//! and jitter; weekends mostly off, a vacation of up to four days, a
//! business trip (the flight takes its time), days from home over VPN, and
//! now and then a new laptop. Admins log on to many servers, the same ones
//! on the same weekday every week. Servers keep their own rhythm: a
//! nightly backup pulls every Windows server and sends tens of GB to
//! storage, monitoring polls every server, the build server deploys over
//! ssh, the DMZ web servers serve the internet, and the bastion sees the
//! internet's background of guessed ssh names.
//!
//! Every day makes, per working person: 5 to 20 Okta events (session
//! start, MFA push on most days, single sign-on), a Kerberos TGT and an
//! interactive logon, unlocks and a logoff on a Windows laptop, network
//! logons to usual servers with their service tickets (AES; a few legacy
//! services still get RC4 `0x17`), tens of Zeek conn records, an osquery
//! snapshot on most days, and one MDM record per device.
//!
//! # Output
//!
//! [`Simulator`] is an iterator of [`SimRecord`]s in event-time order:
//! the time, the [`Sink`] (which file kind), and the bytes of one record
//! in the vendor's layout (Okta System Log JSON, NXLog flat Windows
//! Security JSON, RFC 5424 sshd syslog, a Zeek conn.log TSV line, osquery
//! results, Graph `managedDevice` JSON). Days are made one at a time from
//! random streams seeded by (seed, entity, day) and merged with a heap,
//! so memory holds about two days of events whatever the length of the
//! run; the same [`SimConfig`] gives the same bytes. [`writer`] lays the
//! stream out in hourly files with `labels.csv` and `sim.json`.
//!
//! ```no_run
//! use vigil_ingest::sim::{SimConfig, Simulator};
//! let cfg = SimConfig { users: 50, days: 2, ..SimConfig::default() };
//! let mut sim = Simulator::new(&cfg).unwrap();
//! for rec in sim.by_ref().take(3) {
//!     println!("{} {}", rec.sink.name(), String::from_utf8_lossy(&rec.bytes));
//! }
//! ```
//!
//! # Attacks and labels
//!
//! Only in the labelled period (from `start`), `max(3, users / 200)`
//! instances of each scenario, mostly in working hours. Each label names
//! the entity a defender should flag (user: the lower-case account name
//! without domain; ip: the address; device: the lower-case host name), the
//! first and last attack event, and the source ids of the attack events
//! (Okta `uuid`, Windows `EventRecordID`, Zeek `uid`; sshd lines have none).
//!
//! | scenario | entity | what happens |
//! |---|---|---|
//! | `password_spray` | ip | one address, 20-60 users, 1-2 wrong passwords each in 5-30 min (Okta, or 4625 at the mail server) |
//! | `brute_force_success` | user | 8-30 failures from one address in minutes, then a success (Okta, or sshd at the bastion) |
//! | `mfa_fatigue` | user | 6-20 pushes in 10-20 min denied, the last accepted, from abroad |
//! | `impossible_travel` | user | a success from another continent under an hour after the sign-in at home |
//! | `new_device_new_country` | user | a success from a device and country the user never used |
//! | `session_hijack` | user | the live Okta session id used from another country |
//! | `kerberoasting` | user | RC4 (`0x17`) service tickets for 8-24 service accounts with SPNs in minutes |
//! | `lateral_movement` | user | 4624 type 3 on 8-25 hosts never used, from one workstation, within the hour |
//! | `port_scan` | ip | 200-1000 ports on one target in minutes, mostly REJ/S0 |
//! | `host_scan` | ip | 50-250 internal hosts on one or two ports |
//! | `exfiltration` | ip | 50-500x a laptop's usual daily bytes out to a rare address |
//! | `beaconing` | ip | every 30-300 s (up to 10 % jitter) for hours to one new address |
//! | `noncompliant_device` | device | MDM turns noncompliant and the user keeps signing in from it; the label starts at the first sign-in after the record |
//! | `dormant_account` | user | active on the first day of history only, silent 7+ days, then signs in |
//!
//! Known limits: the Okta `client.geographicalContext` is the city's
//! centre (a per-address offset of under 0.1 degree), not a GeoIP lookup;
//! Windows hosts are named by their short name (`WS-00042`, `FS-01`), not
//! an FQDN, so that the lower-cased name is the device entity.

mod attack;
mod event;
mod normal;
mod rng;
mod tables;
mod world;
pub mod writer;

#[cfg(test)]
mod tests;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use chrono::NaiveDate;

pub use self::attack::Scenario;
use self::attack::{Plan, Planner};
use self::event::{Ev, Host, Render, source_id};
use self::normal::{Gen, servers_day, user_day};
use self::rng::{Stream, stream};
use self::world::World;
use crate::format::Format;

/// What to simulate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// Seed of every random draw.
    pub seed: u64,
    /// Number of people.
    pub users: u32,
    /// First day (00:00 UTC) of the labelled period.
    pub start: NaiveDate,
    /// Days in the labelled period.
    pub days: u32,
    /// Days of attack-free history before `start`.
    pub warmup_days: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            users: 200,
            start: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default(),
            days: 7,
            warmup_days: 7,
        }
    }
}

impl SimConfig {
    /// Instances of each attack scenario: `max(3, users / 200)`.
    pub fn attacks_per_scenario(&self) -> u32 {
        (self.users / 200).max(3)
    }
}

/// Why a simulation cannot run or be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The configuration is out of range.
    #[error("simulate: {0}")]
    Config(String),
    /// A file could not be written.
    #[error("simulate: {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// The kind of file a record goes to. The order is the file order within
/// an hour's folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sink {
    /// MDM managedDevice JSON.
    Mdm,
    /// osquery result log.
    Osquery,
    /// Okta System Log JSON lines.
    Okta,
    /// Windows Security as flat NXLog JSON.
    Windows,
    /// sshd in RFC 5424 syslog.
    Sshd,
    /// Zeek conn.log TSV.
    ZeekConn,
}

impl Sink {
    /// Every sink, in file order.
    pub const ALL: &[Sink] = &[
        Sink::Mdm,
        Sink::Osquery,
        Sink::Okta,
        Sink::Windows,
        Sink::Sshd,
        Sink::ZeekConn,
    ];

    /// Short name, as in `sim.json`.
    pub fn name(self) -> &'static str {
        match self {
            Sink::Mdm => "mdm",
            Sink::Osquery => "osquery",
            Sink::Okta => "okta",
            Sink::Windows => "windows",
            Sink::Sshd => "sshd",
            Sink::ZeekConn => "zeek-conn",
        }
    }

    /// The file name within an hour's folder.
    pub fn file_name(self) -> &'static str {
        match self {
            Sink::Mdm => "1-mdm.json",
            Sink::Osquery => "2-osquery.log",
            Sink::Okta => "3-okta.jsonl",
            Sink::Windows => "4-windows.json",
            Sink::Sshd => "5-sshd.log",
            Sink::ZeekConn => "6-zeek-conn.log",
        }
    }

    /// The format vigil reads it as.
    pub fn format(self) -> Format {
        match self {
            Sink::Mdm => Format::Mdm,
            Sink::Osquery => Format::Osquery,
            Sink::Okta => Format::Okta,
            Sink::Windows => Format::WindowsJson,
            Sink::Sshd => Format::Syslog,
            Sink::ZeekConn => Format::ZeekTsv,
        }
    }

    /// What a file of this kind starts with, for a file opened at `t_ms`
    /// (the Zeek header block; nothing for the others).
    pub fn preamble(self, t_ms: i64) -> Option<String> {
        (self == Sink::ZeekConn).then(|| event::zeek_header(t_ms))
    }

    /// What a file of this kind ends with when it is closed at `t_ms`
    /// (Zeek's `#close` line; nothing for the others).
    pub fn postamble(self, t_ms: i64) -> Option<String> {
        (self == Sink::ZeekConn).then(|| event::zeek_close(t_ms))
    }
}

/// One record of the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimRecord {
    /// Event time, ms since the Unix epoch (UTC).
    pub time_ms: i64,
    /// The file kind.
    pub sink: Sink,
    /// The record, without a line ending.
    pub bytes: Vec<u8>,
    /// The attack it belongs to, if any.
    pub scenario: Option<Scenario>,
}

/// One attack instance as labelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// The scenario.
    pub scenario: Scenario,
    /// `user`, `ip` or `device`.
    pub entity_type: &'static str,
    /// The normalised entity id.
    pub entity_id: String,
    /// First and last attack event, ms since the epoch.
    pub start_ms: i64,
    /// See `start_ms`.
    pub end_ms: i64,
    /// Source ids of the attack events that have one.
    pub event_ids: Vec<String>,
    /// Attack events written, ids or not.
    pub events: u64,
}

/// The simulation as an event-time-ordered stream of records.
pub struct Simulator {
    cfg: SimConfig,
    world: World,
    plan: Plan,
    /// Chunks of events, each sorted with its earliest event last.
    chunks: Vec<Vec<Ev>>,
    free: Vec<usize>,
    /// The earliest event of each live chunk: (time, chunk order, slot).
    heap: BinaryHeap<Reverse<(i64, u64, usize)>>,
    next_day: i32,
    record_ids: HashMap<Host, u64>,
    labels: Vec<Option<Label>>,
    counts: HashMap<Sink, u64>,
    begin_ms: i64,
    end_ms: i64,
}

/// The earliest an event made for a day can be, before its UTC midnight:
/// local days east of UTC start up to 14 hours earlier.
const DAY_LEAD_MS: i64 = 14 * 3_600_000;

impl Simulator {
    /// Draw the enterprise and plan the attacks.
    ///
    /// # Errors
    ///
    /// [`SimError::Config`] when there are no users or no days.
    pub fn new(cfg: &SimConfig) -> Result<Simulator, SimError> {
        if cfg.users == 0 || cfg.days == 0 {
            return Err(SimError::Config(
                "need at least one user and one day".into(),
            ));
        }
        if cfg.users > 1_000_000 || cfg.days + cfg.warmup_days > 3660 {
            return Err(SimError::Config(
                "at most 1,000,000 users and 10 years".into(),
            ));
        }
        let day0 = cfg.start - chrono::Days::new(u64::from(cfg.warmup_days));
        let days = (cfg.warmup_days + cfg.days) as i32;
        let mut world = World::new(cfg.seed, cfg.users, day0, days, cfg.warmup_days as i32);
        let plan = Planner::new(&mut world).plan(cfg.attacks_per_scenario());
        let labels = plan.instances.iter().map(|_| None).collect();
        let (begin_ms, end_ms) = (world.day_ms(0), world.day_ms(days));
        Ok(Simulator {
            cfg: cfg.clone(),
            world,
            plan,
            chunks: Vec::new(),
            free: Vec::new(),
            heap: BinaryHeap::new(),
            next_day: 0,
            record_ids: HashMap::new(),
            labels,
            counts: HashMap::new(),
            begin_ms,
            end_ms,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Start of the labelled period, ms since the epoch.
    pub fn labelled_start_ms(&self) -> i64 {
        self.world.day_ms(self.world.labelled_from)
    }

    /// Records made so far, per sink.
    pub fn counts(&self) -> &HashMap<Sink, u64> {
        &self.counts
    }

    /// Attack instances planned per scenario.
    pub fn planned(&self) -> Vec<(Scenario, usize)> {
        let count = |s| {
            self.plan
                .instances
                .iter()
                .filter(|i| i.scenario == s)
                .count()
        };
        Scenario::ALL.iter().map(|&s| (s, count(s))).collect()
    }

    /// Scenario instances that could not be planned, and why (a run too
    /// short for a dormant account to sleep seven days, too few people).
    pub fn skipped(&self) -> &[(Scenario, String)] {
        &self.plan.skipped
    }

    /// Labels of the attack events made so far, by start time. Complete
    /// once the stream has ended.
    pub fn labels(&self) -> Vec<Label> {
        let mut out: Vec<Label> = self.labels.iter().flatten().cloned().collect();
        out.sort_by_key(|l| (l.start_ms, l.scenario));
        out
    }

    /// Make the events of the next day and add them to the merge.
    fn generate_next_day(&mut self) {
        let day = self.next_day;
        self.next_day += 1;
        let mut users = Vec::new();
        for ui in 0..self.world.users.len() as u32 {
            let marks = self.plan.marks.get(&(ui, day)).copied().unwrap_or_default();
            user_day(&self.world, ui, day, marks, &mut users);
        }
        let mut servers = Vec::new();
        servers_day(&self.world, day, &mut servers);
        let mut attacks = Vec::new();
        let todays = self.plan.by_day.get(&day).cloned().unwrap_or_default();
        for i in todays {
            let mut g = Gen {
                w: &self.world,
                rng: stream(self.world.seed, Stream::Attack, i as u32, day),
                out: &mut attacks,
                tag: 0,
            };
            attack::generate(&mut g, &self.plan, i);
        }
        let order = day as u64 * 4;
        for (k, chunk) in [users, servers, attacks].into_iter().enumerate() {
            self.add_chunk(order + k as u64, chunk);
        }
    }

    fn add_chunk(&mut self, order: u64, mut chunk: Vec<Ev>) {
        chunk.sort_by_key(|e| e.t);
        chunk.reverse();
        let Some(head) = chunk.last().map(|e| e.t) else {
            return;
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.chunks[s] = chunk;
                s
            }
            None => {
                self.chunks.push(chunk);
                self.chunks.len() - 1
            }
        };
        self.heap.push(Reverse((head, order, slot)));
    }

    /// The next event in time order, or `None` at the end.
    fn next_event(&mut self) -> Option<Ev> {
        loop {
            let due = self.world.day_ms(self.next_day) - DAY_LEAD_MS;
            let head = self.heap.peek().map(|Reverse((t, _, _))| *t);
            if self.next_day < self.world.days && head.is_none_or(|t| t >= due) {
                self.generate_next_day();
                continue;
            }
            let Reverse((_, order, slot)) = self.heap.pop()?;
            let chunk = &mut self.chunks[slot];
            let ev = chunk.pop()?;
            match chunk.last() {
                Some(next) => self.heap.push(Reverse((next.t, order, slot))),
                None => {
                    self.chunks[slot] = Vec::new();
                    self.free.push(slot);
                }
            }
            return Some(ev);
        }
    }

    /// Render one event, count it and label it.
    fn record(&mut self, ev: &Ev) -> Option<SimRecord> {
        let sink = ev.body.sink();
        let record_id = match &ev.body {
            event::Body::Win(w) => self.next_record_id(w.host),
            _ => 0,
        };
        let mut bytes = Vec::with_capacity(512);
        let render = Render { w: &self.world };
        // N.B. writes into a Vec cannot fail; an error here would be a
        // formatting bug, and the record is left out rather than half made.
        render.write(ev, record_id, &mut bytes).ok()?;
        *self.counts.entry(sink).or_default() += 1;
        let scenario = self.label(ev, record_id);
        Some(SimRecord {
            time_ms: ev.t,
            sink,
            bytes,
            scenario,
        })
    }

    fn next_record_id(&mut self, host: Host) -> u64 {
        let base = match host {
            Host::Dev(d) => self.world.devices[d as usize].rec_base,
            Host::Srv(s) => self.world.servers[s as usize].rec_base,
        };
        let next = self.record_ids.entry(host).or_insert(base);
        *next += 1;
        *next
    }

    fn label(&mut self, ev: &Ev, record_id: u64) -> Option<Scenario> {
        let i = (ev.tag as usize).checked_sub(1)?;
        let inst = self.plan.instances.get(i)?;
        let label = self.labels[i].get_or_insert_with(|| Label {
            scenario: inst.scenario,
            entity_type: inst.scenario.entity_type(),
            entity_id: inst.entity.clone(),
            start_ms: ev.t,
            end_ms: ev.t,
            event_ids: Vec::new(),
            events: 0,
        });
        label.end_ms = ev.t;
        label.events += 1;
        label.event_ids.extend(source_id(&ev.body, record_id));
        Some(inst.scenario)
    }
}

impl Iterator for Simulator {
    type Item = SimRecord;

    fn next(&mut self) -> Option<SimRecord> {
        loop {
            let ev = self.next_event()?;
            if ev.t < self.begin_ms || ev.t >= self.end_ms {
                continue;
            }
            if let Some(rec) = self.record(&ev) {
                return Some(rec);
            }
        }
    }
}
