//! Behavioural baselines: what is normal for each user, device, address
//! and host, learned in event time, and signals when an event is not.
//!
//! [`Behaviour`] is a [`Detector`]. It reads `authentication`,
//! `network_activity` and `device_posture` batches, keeps bounded state per
//! entity, and returns each [`Signal`] as a `detection_finding` row
//! (`metadata_log_name = 'baseline'`, `finding_info_analytic_uid =
//! 'vigil.baseline.<kind>'`, the score in `risk_score`, a sentence in
//! `finding_info_desc`). The risk engine ([`crate::risk`]) folds them into
//! entity risk.
//!
//! | baseline | state per entity | signal |
//! | --- | --- | --- |
//! | failures then success | user: failure times (15 min) | brute force success, failure burst |
//! | failing users per source | ip: (time, user) pairs (30 min) | password spray |
//! | MFA denials | user: denial times (20 min) | MFA fatigue |
//! | geo-velocity | user: last successful sign-in's place and time | impossible travel |
//! | first seen | user: countries, devices, hosts logged on to | new country, new device, both, lateral movement |
//! | sessions | session id: first address and place (12 h) | session used from two places |
//! | RC4 tickets | user: (time, service) pairs (10 min) | Kerberoasting |
//! | distinct ports and hosts | ip: exact distinct counts per 10 min window, saturating, and the largest earlier window | port scan, host scan |
//! | bytes out | ip: bytes to the internet this hour, and the largest hour before | exfiltration |
//! | inter-arrival | (ip, destination): the last 12 gaps; destination: who else talks to it | beaconing |
//! | posture | device: compliant or not, since when, why | noncompliant device used |
//! | last success | user | dormant account |
//! | hour-of-week | user: 168 counters | rare hour |
//!
//! First-seen baselines stay quiet for an entity until it is *mature*
//! (`maturity_days` since it was first seen, 2 by default), so the first
//! day of data, or a new hire's first week, does not look new to
//! itself. Replaying history first (`vigil replay --state`) warms them up.
//!
//! A signal of one kind for one entity is not repeated within
//! `cooldown_minutes` (60), so an attack in progress raises it once an
//! hour while it goes on (scans and network brute force), or once (the
//! others, which fire on a crossing).
//!
//! Memory: every per-entity structure is capped (see
//! [`BehaviourConfig`]); [`Behaviour::state_bytes`] reports the total and
//! `vigil bench baselines` measures bytes per entity. The count of entities
//! is not capped: it grows with the users, devices and addresses seen.

pub(crate) mod signal;
mod state;

use std::collections::HashMap;
use std::net::IpAddr;

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};
use vigil_schemas::Class;

use self::state::{Recent, Seen, WindowDistinct, h64, km};
use crate::cols::{Bool, Float, Int, Text, Time, Unmapped};
use crate::entity::{self, Entity, Kind};
use crate::{DetectError, Detector};

pub use self::signal::{Signal, SignalKind};
pub(crate) use self::state::pairs;

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Thresholds and scores of the baselines. Every field has a default;
/// a TOML `[baselines]` table overrides any of them.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BehaviourConfig {
    /// Days from an entity's first event before first-seen signals fire.
    pub maturity_days: f64,
    /// Minutes before the same signal fires again for the same entity.
    pub cooldown_minutes: f64,
    /// Failures for one user within 15 minutes that make a success suspect.
    pub brute_force_failures: usize,
    /// Failures for one user within 15 minutes that alone are a signal.
    pub failure_burst: usize,
    /// Distinct users failing from one source within 30 minutes, when
    /// failures are at least half of that source's sign-ins (an office's
    /// shared address sees many typos among many successes).
    pub spray_users: usize,
    /// Denied MFA challenges for one user within 20 minutes.
    pub mfa_denials: usize,
    /// km/h above which two sign-ins are impossible travel.
    pub travel_kmh: f64,
    /// Minimum distance in km for impossible travel (nearby cities and
    /// geolocation error are not travel).
    pub travel_min_km: f64,
    /// Distinct services with RC4 tickets for one user within 10 minutes.
    pub kerberoast_services: usize,
    /// Hosts new to a user logged on to within an hour.
    pub lateral_new_hosts: usize,
    /// Distinct destination ports from one source within 10 minutes.
    pub scan_ports: usize,
    /// Distinct destination hosts from one source within 15 minutes.
    pub scan_hosts: usize,
    /// Connections from one source to one host's login port (SSH, RDP,
    /// FTP, Telnet, VNC, WinRM, databases) within 10 minutes.
    pub brute_force_connections: usize,
    /// How many times its own largest window a scan count must reach.
    pub scan_ratio: f64,
    /// Bytes to the internet in an hour below which nothing is exfiltration.
    pub exfil_min_bytes: f64,
    /// How many times the host's largest hour before.
    pub exfil_ratio: f64,
    /// Connections to one destination before their regularity is judged.
    pub beacon_min_connections: usize,
    /// Largest coefficient of variation of the gaps that counts as regular.
    pub beacon_max_cv: f64,
    /// Most other sources that may talk to a beacon's destination.
    pub beacon_max_peers: usize,
    /// Days without a successful sign-in that make an account dormant.
    pub dormant_days: f64,
    /// Minutes an event may lag the newest event of its own stream (its
    /// product, e.g. Okta or Zeek) and still reach the baselines. Later
    /// ones would corrupt the windows, so they are left out and counted
    /// (`baselines.late`); sort such input by time first.
    pub lateness_minutes: f64,
    /// Scores of the signals, 0 to 100.
    pub scores: Scores,
}

/// The score each signal kind carries.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scores {
    pub brute_force_success: f64,
    pub failure_burst: f64,
    pub password_spray: f64,
    pub mfa_fatigue: f64,
    pub impossible_travel: f64,
    pub new_country: f64,
    pub new_device: f64,
    pub new_device_new_country: f64,
    pub session_hijack: f64,
    pub kerberoasting: f64,
    pub lateral_movement: f64,
    pub port_scan: f64,
    pub host_scan: f64,
    pub exfiltration: f64,
    pub beaconing: f64,
    pub noncompliant_device: f64,
    pub dormant_account: f64,
    pub rare_hour: f64,
    /// Repeated connections to a login service.
    pub network_brute_force: f64,
}

impl Default for Scores {
    fn default() -> Scores {
        Scores {
            brute_force_success: 80.0,
            failure_burst: 50.0,
            password_spray: 70.0,
            mfa_fatigue: 75.0,
            impossible_travel: 75.0,
            new_country: 30.0,
            new_device: 15.0,
            new_device_new_country: 65.0,
            session_hijack: 80.0,
            kerberoasting: 70.0,
            lateral_movement: 65.0,
            port_scan: 60.0,
            host_scan: 60.0,
            exfiltration: 70.0,
            beaconing: 60.0,
            noncompliant_device: 60.0,
            dormant_account: 60.0,
            rare_hour: 10.0,
            network_brute_force: 60.0,
        }
    }
}

impl Scores {
    /// The score of `k`, within [0, 100].
    fn of(&self, k: SignalKind) -> f64 {
        self.raw(k).clamp(0.0, 100.0)
    }

    /// The score of `k` as configured.
    fn raw(&self, k: SignalKind) -> f64 {
        match k {
            SignalKind::BruteForceSuccess => self.brute_force_success,
            SignalKind::FailureBurst => self.failure_burst,
            SignalKind::PasswordSpray => self.password_spray,
            SignalKind::MfaFatigue => self.mfa_fatigue,
            SignalKind::ImpossibleTravel => self.impossible_travel,
            SignalKind::NewCountry => self.new_country,
            SignalKind::NewDevice => self.new_device,
            SignalKind::NewDeviceNewCountry => self.new_device_new_country,
            SignalKind::SessionHijack => self.session_hijack,
            SignalKind::Kerberoasting => self.kerberoasting,
            SignalKind::LateralMovement => self.lateral_movement,
            SignalKind::PortScan => self.port_scan,
            SignalKind::HostScan => self.host_scan,
            SignalKind::Exfiltration => self.exfiltration,
            SignalKind::Beaconing => self.beaconing,
            SignalKind::NoncompliantDevice => self.noncompliant_device,
            SignalKind::DormantAccount => self.dormant_account,
            SignalKind::RareHour => self.rare_hour,
            SignalKind::NetworkBruteForce => self.network_brute_force,
        }
    }
}

impl BehaviourConfig {
    /// Every problem with the settings, as sentences: counts must be at
    /// least 1, durations, speeds, sizes and ratios positive numbers, the
    /// beacon spread within (0, 1], scores within [0, 100].
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let counts = [
            ("brute_force_failures", self.brute_force_failures),
            ("failure_burst", self.failure_burst),
            ("spray_users", self.spray_users),
            ("mfa_denials", self.mfa_denials),
            ("kerberoast_services", self.kerberoast_services),
            ("lateral_new_hosts", self.lateral_new_hosts),
            ("scan_ports", self.scan_ports),
            ("scan_hosts", self.scan_hosts),
            ("brute_force_connections", self.brute_force_connections),
            ("beacon_min_connections", self.beacon_min_connections),
            ("beacon_max_peers", self.beacon_max_peers),
        ];
        for (k, v) in counts {
            if v == 0 {
                p.push(format!("baselines.{k} must be at least 1"));
            }
        }
        let positive = [
            ("maturity_days", self.maturity_days, true),
            ("cooldown_minutes", self.cooldown_minutes, true),
            ("travel_kmh", self.travel_kmh, false),
            ("travel_min_km", self.travel_min_km, true),
            ("scan_ratio", self.scan_ratio, false),
            ("exfil_min_bytes", self.exfil_min_bytes, false),
            ("exfil_ratio", self.exfil_ratio, false),
            ("dormant_days", self.dormant_days, false),
            ("lateness_minutes", self.lateness_minutes, true),
        ];
        for (k, v, zero_ok) in positive {
            let ok = v.is_finite() && if zero_ok { v >= 0.0 } else { v > 0.0 };
            if !ok {
                let bound = if zero_ok { "0 or more" } else { "above 0" };
                p.push(format!("baselines.{k} must be a number {bound}, not {v}"));
            }
        }
        if !(self.beacon_max_cv.is_finite()
            && self.beacon_max_cv > 0.0
            && self.beacon_max_cv <= 1.0)
        {
            p.push(format!(
                "baselines.beacon_max_cv must be within (0, 1], not {}",
                self.beacon_max_cv
            ));
        }
        for k in SignalKind::ALL {
            let v = self.scores.raw(k);
            if !(0.0..=100.0).contains(&v) {
                let name = k.id().trim_start_matches("vigil.baseline.");
                p.push(format!(
                    "baselines.scores.{name} must be within [0, 100], not {v}"
                ));
            }
        }
        p
    }
}

impl Default for BehaviourConfig {
    fn default() -> BehaviourConfig {
        BehaviourConfig {
            maturity_days: 2.0,
            cooldown_minutes: 60.0,
            brute_force_failures: 5,
            failure_burst: 10,
            spray_users: 5,
            mfa_denials: 3,
            travel_kmh: 1000.0,
            travel_min_km: 500.0,
            kerberoast_services: 5,
            lateral_new_hosts: 5,
            scan_ports: 50,
            scan_hosts: 20,
            scan_ratio: 3.0,
            brute_force_connections: 30,
            exfil_min_bytes: 20e6,
            exfil_ratio: 10.0,
            beacon_min_connections: 8,
            beacon_max_cv: 0.15,
            beacon_max_peers: 2,
            dormant_days: 7.0,
            lateness_minutes: 10.0,
            scores: Scores::default(),
        }
    }
}

/// Caps of the per-entity structures.
const CAP_COUNTRIES: usize = 16;
const CAP_DEVICES: usize = 16;
const CAP_HOSTS: usize = 64;
const CAP_FAILURES: usize = 64;
const CAP_WINDOW: usize = 256;
/// The sliding windows of the port and host scan counts.
const SCAN_PORTS_WINDOW: i64 = 10 * MINUTE;
const SCAN_HOSTS_WINDOW: i64 = 15 * MINUTE;
/// Ports of login services: FTP, SSH, Telnet, POP3, IMAP, LDAP(S), MSSQL,
/// MySQL, RDP, PostgreSQL, VNC and WinRM. Not SMB: its file access is
/// chatty.
const LOGIN_PORTS: [i64; 13] = [
    21, 22, 23, 110, 143, 389, 636, 1433, 3306, 3389, 5432, 5900, 5985,
];
const CAP_PAIRS_PER_SOURCE: usize = 32;
const CAP_GAPS: usize = 12;

/// What the baselines know about a user.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct UserState {
    first_seen: i64,
    last_success: Option<i64>,
    failures: Recent,
    mfa_denials: Recent,
    rc4_services: Recent,
    new_hosts: Recent,
    countries: Seen,
    devices: Seen,
    hosts: Seen,
    /// Last successful sign-in with a place: (time, lat, lon, place).
    last_place: Option<(i64, f64, f64, String)>,
    /// Sign-ins per hour of the week (168 counters once the user has one).
    hours: Vec<u16>,
    events: u32,
}

impl UserState {
    fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.failures.bytes()
            + self.mfa_denials.bytes()
            + self.rc4_services.bytes()
            + self.new_hosts.bytes()
            + self.countries.bytes()
            + self.devices.bytes()
            + self.hosts.bytes()
            + self.last_place.as_ref().map_or(0, |p| p.3.capacity())
            + self.hours.capacity() * 2
    }
}

/// What the baselines know about an address.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct SourceState {
    first_seen: i64,
    failed_users: Recent,
    successes: Recent,
    ports: WindowDistinct,
    hosts: WindowDistinct,
    /// Connections to login ports: (time, destination and port hash).
    #[serde(default)]
    logins: Recent,
    hour_start: i64,
    hour_bytes_out: f64,
    usual_hour_bytes: f64,
    exfil_fired: bool,
    /// Destination hash → connection times' gaps.
    pairs: Vec<Pair>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Pair {
    dst: u64,
    last: i64,
    gaps: std::collections::VecDeque<i64>,
    fired: bool,
}

impl SourceState {
    fn bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.failed_users.bytes()
            + self.successes.bytes()
            + self.ports.bytes()
            + self.hosts.bytes()
            + self.logins.bytes()
            + self
                .pairs
                .iter()
                .map(|p| std::mem::size_of::<Pair>() + p.gaps.capacity() * 8)
                .sum::<usize>()
    }
}

/// A device's compliance as the MDM last reported it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct PostureState {
    pub(crate) compliant: bool,
    pub(crate) since: i64,
    pub(crate) at: i64,
    pub(crate) why: String,
}

/// Device compliance per device, from `device_posture` rows.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct Posture {
    pub(crate) devices: HashMap<String, PostureState>,
}

impl Posture {
    /// Take in a `device_posture` batch.
    pub(crate) fn update(&mut self, batch: &RecordBatch) {
        let time = Time::new(batch, "time");
        let host = Text::new(batch, "device_hostname");
        let name = Text::new(batch, "device_name");
        let compliant = Bool::new(batch, "device_is_compliant");
        let state = Text::new(batch, "device_compliance_state");
        let encrypted = Bool::new(batch, "device_is_encrypted");
        let jailbroken = Bool::new(batch, "device_is_jailbroken");
        for row in 0..batch.num_rows() {
            let Some(dev) = host.get(row).or(name.get(row)).and_then(entity::host) else {
                continue;
            };
            let ok = match (compliant.get(row), state.get(row)) {
                (Some(b), _) => b,
                (None, Some(s)) if s.eq_ignore_ascii_case("compliant") => true,
                (None, Some(s)) if s.eq_ignore_ascii_case("noncompliant") => false,
                _ => continue,
            };
            let t = time.get(row).unwrap_or(0);
            let mut why = Vec::new();
            if jailbroken.get(row) == Some(true) {
                why.push("jailbroken");
            }
            if encrypted.get(row) == Some(false) {
                why.push("not encrypted");
            }
            let why = if why.is_empty() {
                state.get(row).unwrap_or("").to_string()
            } else {
                why.join(", ")
            };
            match self.devices.get_mut(&dev) {
                Some(p) if p.at > t => {}
                Some(p) => {
                    if p.compliant != ok {
                        p.since = t;
                    }
                    p.compliant = ok;
                    p.at = t;
                    p.why = why;
                }
                None => {
                    self.devices.insert(
                        dev,
                        PostureState {
                            compliant: ok,
                            since: t,
                            at: t,
                            why,
                        },
                    );
                }
            }
        }
    }

    /// The device's posture at time `t`, if the MDM reported one by then.
    pub(crate) fn at(&self, device: &str, t: i64) -> Option<&PostureState> {
        self.devices.get(device).filter(|p| p.at <= t)
    }

    fn bytes(&self) -> usize {
        self.devices
            .iter()
            .map(|(k, v)| {
                k.capacity() + v.why.capacity() + std::mem::size_of::<PostureState>() + 16
            })
            .sum()
    }
}

/// A session's first use.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct SessionState {
    ip: String,
    place: Option<(f64, f64)>,
    country: Option<String>,
    last: i64,
    fired: bool,
}

/// Everything the baselines keep; serialisable for checkpoints.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BehaviourState {
    users: HashMap<String, UserState>,
    sources: HashMap<String, SourceState>,
    posture: Posture,
    sessions: HashMap<String, SessionState>,
    /// External destination → up to a few internal sources that talk to it.
    peers: HashMap<u64, Vec<u64>>,
    /// (kind, entity hash) → time the signal last fired.
    #[serde(with = "state::pairs")]
    cooldown: HashMap<(u8, u64), i64>,
    now: i64,
    last_prune: i64,
    /// Newest event time per stream (product name).
    #[serde(default)]
    newest: HashMap<String, i64>,
}

/// The baselines detector.
pub struct Behaviour {
    cfg: BehaviourConfig,
    st: BehaviourState,
    signals: u64,
    late: u64,
}

/// One authentication row, as the baselines read it.
struct Auth<'a> {
    t: i64,
    uid: Option<&'a str>,
    user: Option<String>,
    user_raw: Option<&'a str>,
    success: bool,
    failure: bool,
    logon: bool,
    mfa: bool,
    ip: Option<String>,
    country: Option<&'a str>,
    city: Option<&'a str>,
    place: Option<(f64, f64)>,
    session: Option<&'a str>,
    device: Option<String>,
    src_device: Option<String>,
    target: Option<String>,
    /// Key of the service signed in to, for failures then success: the
    /// host for services each host logs itself (sshd), where a failure
    /// on one host and a success on another are not one guessing attempt;
    /// 0 for an identity provider or a domain.
    service_key: u64,
    rc4_service: Option<&'a str>,
}

impl Behaviour {
    /// Baselines with these settings and no history.
    pub fn new(cfg: BehaviourConfig) -> Behaviour {
        Behaviour {
            cfg,
            st: BehaviourState::default(),
            signals: 0,
            late: 0,
        }
    }

    /// Baselines that go on from a checkpointed state.
    pub fn with_state(cfg: BehaviourConfig, st: BehaviourState) -> Behaviour {
        Behaviour {
            cfg,
            st,
            signals: 0,
            late: 0,
        }
    }

    /// Whether an event at `t` of `stream` lags that stream's newest by
    /// more than the lateness; if not, `t` may become the newest.
    fn is_late(&mut self, stream: &str, t: i64) -> bool {
        let lateness = (self.cfg.lateness_minutes * MINUTE as f64) as i64;
        match self.st.newest.get_mut(stream) {
            Some(newest) if t < *newest - lateness => {
                self.late += 1;
                true
            }
            Some(newest) => {
                *newest = (*newest).max(t);
                false
            }
            None => {
                self.st.newest.insert(stream.to_string(), t);
                false
            }
        }
    }

    /// The state, for a checkpoint.
    pub fn state(&self) -> &BehaviourState {
        &self.st
    }

    /// Approximate bytes of state held, and the number of entities.
    pub fn state_bytes(&self) -> (usize, usize) {
        let users: usize = self
            .st
            .users
            .iter()
            .map(|(k, v)| k.capacity() + v.bytes() + 16)
            .sum();
        let sources: usize = self
            .st
            .sources
            .iter()
            .map(|(k, v)| k.capacity() + v.bytes() + 16)
            .sum();
        let sessions = self.st.sessions.len() * (std::mem::size_of::<SessionState>() + 64);
        let peers = self.st.peers.len() * 64;
        let cooldown = self.st.cooldown.len() * 32;
        let n = self.st.users.len() + self.st.sources.len() + self.st.posture.devices.len();
        (
            users + sources + sessions + peers + cooldown + self.st.posture.bytes(),
            n,
        )
    }

    fn mature(&self, first_seen: i64, t: i64) -> bool {
        (t - first_seen) as f64 >= self.cfg.maturity_days * DAY as f64
    }

    /// Whether `kind` may fire for `key` at `t` (and note that it did).
    fn cool(&mut self, kind: SignalKind, key: &str, t: i64) -> bool {
        let k = (kind as u8, h64(key));
        let gap = (self.cfg.cooldown_minutes * MINUTE as f64) as i64;
        match self.st.cooldown.get(&k) {
            Some(&at) if (t - at).abs() < gap => false,
            _ => {
                self.st.cooldown.insert(k, t);
                true
            }
        }
    }

    fn prune(&mut self) {
        let now = self.st.now;
        if now - self.st.last_prune < HOUR {
            return;
        }
        self.st.last_prune = now;
        let gap = (self.cfg.cooldown_minutes * MINUTE as f64) as i64;
        self.st.cooldown.retain(|_, at| now - *at < gap);
        self.st.sessions.retain(|_, s| now - s.last < 12 * HOUR);
    }

    fn auth(&mut self, batch: &RecordBatch, out: &mut Vec<Signal>) {
        let c = AuthCols::new(batch);
        for row in 0..batch.num_rows() {
            let Some(a) = c.read(row) else { continue };
            if self.is_late(c.product.get(row).unwrap_or(""), a.t) {
                continue;
            }
            self.st.now = self.st.now.max(a.t);
            self.auth_row(&a, out);
        }
    }

    fn auth_row(&mut self, a: &Auth<'_>, out: &mut Vec<Signal>) {
        let cfg = self.cfg.clone();
        let sig = |kind: SignalKind, entity: Entity, explanation: String| Signal {
            time: a.t,
            kind,
            entity,
            score: cfg.scores.of(kind),
            explanation,
            event_uid: a.uid.map(str::to_string),
            user: a.user_raw.map(str::to_string),
            device: a.device.clone(),
            ip: a.ip.clone(),
        };

        // Per source: distinct users failing (password spray). The source
        // is the client address, else the client workstation's name.
        let source = match (&a.ip, &a.src_device) {
            (Some(ip), _) => Some((ip.clone(), Entity::new(Kind::Ip, ip.clone()))),
            (None, Some(d)) => Some((format!("device:{d}"), Entity::new(Kind::Device, d.clone()))),
            (None, None) => None,
        };
        if let (Some((key, src_entity)), Some(user)) = (source, &a.user)
            && (a.failure || a.success)
        {
            let src = self
                .st
                .sources
                .entry(key.clone())
                .or_insert_with(|| SourceState {
                    first_seen: a.t,
                    ..SourceState::default()
                });
            if a.success {
                src.successes.push(a.t, 0, 30 * MINUTE, CAP_WINDOW);
            } else {
                src.failed_users
                    .push(a.t, h64(user), 30 * MINUTE, CAP_WINDOW);
                src.successes.expire(a.t, 30 * MINUTE);
                let n = src.failed_users.distinct();
                let fails = src.failed_users.len();
                let oks = src.successes.len();
                let share = fails as f64 / (fails + oks) as f64;
                if n >= cfg.spray_users
                    && share >= 0.5
                    && self.cool(SignalKind::PasswordSpray, &key, a.t)
                {
                    let who = src_entity.id.clone();
                    out.push(sig(
                        SignalKind::PasswordSpray,
                        src_entity,
                        format!(
                            "{who} failed to sign in as {n} different users within 30 minutes ({fails} failures, {oks} successes)"
                        ),
                    ));
                }
            }
        }

        let Some(user) = a.user.clone() else { return };
        let mature = {
            let u = self
                .st
                .users
                .entry(user.clone())
                .or_insert_with(|| UserState {
                    first_seen: a.t,
                    hours: vec![0; 168],
                    ..UserState::default()
                });
            u.first_seen = u.first_seen.min(a.t);
            u.first_seen
        };
        let mature = self.mature(mature, a.t);
        let who = Entity::new(Kind::User, user.clone());
        let mut found: Vec<Signal> = Vec::new();

        // Hour-of-week profile, before this event counts in it.
        let how = hour_of_week(a.t);
        {
            let u = self.st.users.get_mut(&user).expect("inserted above");
            if u.hours.len() != 168 {
                u.hours.resize(168, 0);
            }
            if a.success && a.logon {
                let quiet = [167, 0, 1].iter().all(|d| u.hours[(how + d) % 168] == 0);
                if mature && u.events >= 200 && quiet {
                    found.push(sig(
                        SignalKind::RareHour,
                        who.clone(),
                        format!(
                            "{user} signed in at {}, an hour of the week with no activity in {} earlier sign-ins",
                            hour_text(how),
                            u.events
                        ),
                    ));
                }
                u.hours[how] = u.hours[how].saturating_add(1);
                u.events = u.events.saturating_add(1);
            }
        }

        // Failures, MFA denials, and what a success after them means.
        if a.failure {
            let u = self.st.users.get_mut(&user).expect("inserted above");
            if a.mfa {
                u.mfa_denials.push(a.t, 0, 20 * MINUTE, CAP_FAILURES);
                let n = u.mfa_denials.len();
                if n >= cfg.mfa_denials {
                    found.push(sig(
                        SignalKind::MfaFatigue,
                        who.clone(),
                        format!("{n} MFA challenges for {user} denied within 20 minutes"),
                    ));
                }
            } else {
                u.failures
                    .push(a.t, a.service_key, 15 * MINUTE, CAP_FAILURES);
                let n = u.failures.len();
                if n >= cfg.failure_burst {
                    found.push(sig(
                        SignalKind::FailureBurst,
                        who.clone(),
                        format!("{n} failed sign-ins for {user} within 15 minutes"),
                    ));
                }
            }
        }
        if a.success {
            let u = self.st.users.get_mut(&user).expect("inserted above");
            u.failures.expire(a.t, 15 * MINUTE);
            u.mfa_denials.expire(a.t, 20 * MINUTE);
            let n = u.failures.count(a.service_key);
            if n >= cfg.brute_force_failures {
                let mins = u.failures.first_time().map_or(0, |f| (a.t - f) / MINUTE);
                let from =
                    a.ip.as_deref()
                        .map(|i| format!(" from {i}"))
                        .unwrap_or_default();
                found.push(sig(
                    SignalKind::BruteForceSuccess,
                    who.clone(),
                    format!("{user} signed in{from} after {n} failed attempts in {mins} minutes"),
                ));
                u.failures.clear();
            }
            if u.mfa_denials.len() >= cfg.mfa_denials && a.mfa {
                let n = u.mfa_denials.len();
                found.push(sig(
                    SignalKind::MfaFatigue,
                    who.clone(),
                    format!("{user} accepted an MFA challenge after denying {n} within 20 minutes"),
                ));
                u.mfa_denials.clear();
            }
        }

        if a.success && a.logon {
            self.success_baselines(a, &user, mature, &sig, &mut found);
        }

        // RC4 service tickets (Kerberoasting).
        if let Some(svc) = a.rc4_service {
            let u = self.st.users.get_mut(&user).expect("inserted above");
            u.rc4_services
                .push(a.t, h64(&svc.to_lowercase()), 10 * MINUTE, CAP_WINDOW);
            let n = u.rc4_services.distinct();
            if n >= cfg.kerberoast_services {
                found.push(sig(
                    SignalKind::Kerberoasting,
                    who.clone(),
                    format!(
                        "{user} requested RC4-encrypted service tickets for {n} different services within 10 minutes"
                    ),
                ));
            }
        }

        // A device the MDM reports noncompliant.
        if a.success
            && let Some(dev) = &a.device
            && let Some(p) = self.st.posture.at(dev, a.t)
            && !p.compliant
        {
            let mins = (a.t - p.since) / MINUTE;
            found.push(sig(
                SignalKind::NoncompliantDevice,
                Entity::new(Kind::Device, dev.clone()),
                format!(
                    "{dev} signed in {user} while noncompliant ({}) for {mins} minutes",
                    if p.why.is_empty() { "per MDM" } else { &p.why }
                ),
            ));
        }

        for s in found {
            let key = s.entity.to_string();
            if self.cool(s.kind, &key, s.time) {
                out.push(s);
            }
        }
    }

    /// Baselines of successful sign-ins: travel, first seen, sessions,
    /// dormancy, lateral movement.
    fn success_baselines(
        &mut self,
        a: &Auth<'_>,
        user: &str,
        mature: bool,
        sig: &dyn Fn(SignalKind, Entity, String) -> Signal,
        found: &mut Vec<Signal>,
    ) {
        let cfg = &self.cfg;
        let who = Entity::new(Kind::User, user.to_string());
        let place_text = place(a);
        let u = self.st.users.get_mut(user).expect("inserted by auth_row");

        // Dormancy, then note this success.
        if let Some(last) = u.last_success {
            let idle = (a.t - last) as f64 / DAY as f64;
            if idle >= cfg.dormant_days {
                found.push(sig(
                    SignalKind::DormantAccount,
                    who.clone(),
                    format!("{user} signed in after {idle:.0} days without a successful sign-in"),
                ));
            }
        }
        u.last_success = Some(u.last_success.map_or(a.t, |l| l.max(a.t)));

        // Geo-velocity.
        if let Some((lat, lon)) = a.place {
            if let Some((pt, plat, plon, pplace)) = &u.last_place {
                let d = km((*plat, *plon), (lat, lon));
                let hours = ((a.t - pt).max(0) as f64 / HOUR as f64).max(1.0 / 60.0);
                let speed = d / hours;
                if d >= cfg.travel_min_km && speed >= cfg.travel_kmh && a.t >= *pt {
                    found.push(sig(
                        SignalKind::ImpossibleTravel,
                        who.clone(),
                        format!(
                            "{user} signed in from {place_text}, {d:.0} km from the previous sign-in in {pplace} {:.0} minutes earlier ({speed:.0} km/h)",
                            hours * 60.0
                        ),
                    ));
                }
            }
            if u.last_place.as_ref().is_none_or(|p| p.0 <= a.t) {
                u.last_place = Some((a.t, lat, lon, place_text.clone()));
            }
        }

        // First-seen country and device.
        let new_country = a
            .country
            .map(|c| {
                u.countries
                    .insert(h64(&c.to_lowercase()), a.t, CAP_COUNTRIES)
            })
            .unwrap_or(false);
        let new_device = a
            .device
            .as_deref()
            .map(|d| u.devices.insert(h64(d), a.t, CAP_DEVICES))
            .unwrap_or(false);
        if mature {
            let dev = a.device.as_deref().unwrap_or("?");
            let country = a.country.unwrap_or("?");
            match (new_country, new_device) {
                (true, true) => found.push(sig(
                    SignalKind::NewDeviceNewCountry,
                    who.clone(),
                    format!("{user} signed in from {place_text} on {dev}: a country and a device never seen for this user"),
                )),
                (true, false) => found.push(sig(
                    SignalKind::NewCountry,
                    who.clone(),
                    format!("first sign-in from {country} for {user} ({place_text})"),
                )),
                (false, true) => found.push(sig(
                    SignalKind::NewDevice,
                    who.clone(),
                    format!("first sign-in from device {dev} for {user}"),
                )),
                (false, false) => {}
            }
        }

        // Hosts logged on to (lateral movement).
        if let Some(target) = &a.target {
            let new = u.hosts.insert(h64(target), a.t, CAP_HOSTS);
            if new && mature {
                u.new_hosts.push(a.t, h64(target), HOUR, CAP_WINDOW);
                let n = u.new_hosts.distinct();
                if n >= cfg.lateral_new_hosts {
                    found.push(sig(
                        SignalKind::LateralMovement,
                        who.clone(),
                        format!("{user} logged on to {n} hosts within an hour that it never logged on to before, the latest {target}"),
                    ));
                }
            }
        }

        // One session, two places.
        if let (Some(sess), Some(ip)) = (a.session, &a.ip) {
            match self.st.sessions.get_mut(sess) {
                Some(s) if s.ip != *ip && !s.fired => {
                    let far = match (s.place, a.place) {
                        (Some(p), Some(q)) => km(p, q) >= cfg.travel_min_km,
                        _ => false,
                    };
                    let other_country = match (&s.country, a.country) {
                        (Some(x), Some(y)) => !x.eq_ignore_ascii_case(y),
                        _ => false,
                    };
                    if far || other_country {
                        s.fired = true;
                        found.push(sig(
                            SignalKind::SessionHijack,
                            who.clone(),
                            format!(
                                "session {sess} of {user}, opened from {}{}, used from {ip} in {place_text}",
                                s.ip,
                                s.country.as_deref().map(|c| format!(" in {c}")).unwrap_or_default()
                            ),
                        ));
                    }
                    s.last = a.t;
                }
                Some(s) => s.last = s.last.max(a.t),
                None => {
                    self.st.sessions.insert(
                        sess.to_string(),
                        SessionState {
                            ip: ip.clone(),
                            place: a.place,
                            country: a.country.map(str::to_string),
                            last: a.t,
                            fired: false,
                        },
                    );
                }
            }
        }
    }

    fn network(&mut self, batch: &RecordBatch, out: &mut Vec<Signal>) {
        let time = Time::new(batch, "time");
        let uid = Text::new(batch, "event_uid");
        let src = Text::new(batch, "src_endpoint_ip");
        let dst = Text::new(batch, "dst_endpoint_ip");
        let port = Int::new(batch, "dst_endpoint_port");
        let bytes_out = Int::new(batch, "traffic_bytes_out");
        let host = Text::new(batch, "device_hostname");
        let product = Text::new(batch, "metadata_product_name");
        for row in 0..batch.num_rows() {
            let (Some(t), Some(s), Some(d)) = (time.get(row), src.get(row), dst.get(row)) else {
                continue;
            };
            if self.is_late(product.get(row).unwrap_or(""), t) {
                continue;
            }
            let (Ok(sa), Ok(da)) = (s.parse::<IpAddr>(), d.parse::<IpAddr>()) else {
                continue;
            };
            let (sa, da) = (entity::canonical(sa), entity::canonical(da));
            self.st.now = self.st.now.max(t);
            let flow = Flow {
                t,
                uid: uid.get(row),
                src: sa.to_string(),
                dst: da.to_string(),
                dst_internal: entity::is_internal(da),
                src_internal: entity::is_internal(sa),
                port: port.get(row),
                bytes_out: bytes_out.get(row).unwrap_or(0).max(0),
                host: host.get(row),
            };
            self.flow(&flow, out);
        }
    }

    fn flow(&mut self, f: &Flow<'_>, out: &mut Vec<Signal>) {
        let cfg = &self.cfg;
        let src_key = f.src.clone();
        let st = self
            .st
            .sources
            .entry(src_key.clone())
            .or_insert_with(|| SourceState {
                first_seen: f.t,
                hour_start: f.t - f.t.rem_euclid(HOUR),
                ..SourceState::default()
            });
        let mature = (f.t - st.first_seen) as f64 >= cfg.maturity_days * DAY as f64;
        let who = Entity::new(Kind::Ip, src_key.clone());
        let mut found = Vec::new();
        let sig = |kind: SignalKind, explanation: String| Signal {
            time: f.t,
            kind,
            entity: who.clone(),
            score: cfg.scores.of(kind),
            explanation,
            event_uid: f.uid.map(str::to_string),
            user: None,
            device: f.host.map(str::to_string),
            ip: Some(f.src.clone()),
        };

        // Scans: distinct ports and hosts per 10 minutes.
        let dst_h = h64(&f.dst);
        if let Some(p) = f.port {
            let key = p as u64;
            let n = st.ports.add(f.t, key, SCAN_PORTS_WINDOW, CAP_WINDOW);
            let need = (cfg.scan_ports as f64).max(cfg.scan_ratio * st.ports.usual_max);
            if n as f64 >= need && st.ports.fire(f.t, SCAN_PORTS_WINDOW, cfg.scan_ports as f64) {
                found.push(sig(
                    SignalKind::PortScan,
                    format!(
                        "{} connected to {} distinct destination ports within 10 minutes (its usual largest: {:.0})",
                        f.src,
                        at_least(n), st.ports.usual_max
                    ),
                ));
            }
        }
        let n = st.hosts.add(f.t, dst_h, SCAN_HOSTS_WINDOW, CAP_WINDOW);
        let need = (cfg.scan_hosts as f64).max(cfg.scan_ratio * st.hosts.usual_max);
        if n as f64 >= need && st.hosts.fire(f.t, SCAN_HOSTS_WINDOW, cfg.scan_hosts as f64) {
            found.push(sig(
                SignalKind::HostScan,
                format!(
                    "{} connected to {} distinct hosts within 15 minutes (its usual largest: {:.0})",
                    f.src,
                    at_least(n), st.hosts.usual_max
                ),
            ));
        }

        // Many connections to one host's login service: password guessing
        // seen from the network, when the service's own log is not here.
        if let Some(p) = f.port.filter(|p| LOGIN_PORTS.contains(p)) {
            let key = dst_h ^ (p as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            st.logins.push(f.t, key, 10 * MINUTE, CAP_WINDOW);
            let n = st.logins.count(key);
            if n >= cfg.brute_force_connections {
                found.push(sig(
                    SignalKind::NetworkBruteForce,
                    format!(
                        "{} opened {} connections to {} port {p} within 10 minutes",
                        f.src,
                        at_least(n),
                        f.dst
                    ),
                ));
            }
        }

        // Bytes to the internet per hour (exfiltration).
        if !f.dst_internal && f.src_internal {
            if f.t >= st.hour_start + HOUR {
                let elapsed_days = (f.t - st.hour_start) as f64 / DAY as f64;
                st.usual_hour_bytes =
                    (st.usual_hour_bytes * 0.5f64.powf(elapsed_days / 14.0)).max(st.hour_bytes_out);
                st.hour_bytes_out = 0.0;
                st.exfil_fired = false;
                st.hour_start = f.t - f.t.rem_euclid(HOUR);
            }
            st.hour_bytes_out += f.bytes_out as f64;
            let need = cfg
                .exfil_min_bytes
                .max(cfg.exfil_ratio * st.usual_hour_bytes);
            if mature && !st.exfil_fired && st.hour_bytes_out >= need {
                st.exfil_fired = true;
                found.push(sig(
                    SignalKind::Exfiltration,
                    format!(
                        "{} sent {} to the internet this hour (latest to {}), {:.0}x its largest hour before ({})",
                        f.src,
                        human_bytes(st.hour_bytes_out),
                        f.dst,
                        st.hour_bytes_out / st.usual_hour_bytes.max(1.0),
                        human_bytes(st.usual_hour_bytes)
                    ),
                ));
            }
        }

        // Beaconing: regular gaps to a destination few others use.
        if !f.dst_internal {
            let src_h = h64(&f.src);
            let peers = self.st.peers.entry(dst_h).or_default();
            if !peers.contains(&src_h) && peers.len() <= cfg.beacon_max_peers {
                peers.push(src_h);
            }
            let others = peers.iter().filter(|p| **p != src_h).count();
            let st = self.st.sources.get_mut(&src_key).expect("inserted above");
            let idx = match st.pairs.iter().position(|p| p.dst == dst_h) {
                Some(i) => i,
                None => {
                    if st.pairs.len() >= CAP_PAIRS_PER_SOURCE
                        && let Some(oldest) = st
                            .pairs
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, p)| p.last)
                            .map(|(i, _)| i)
                    {
                        st.pairs.swap_remove(oldest);
                    }
                    st.pairs.push(Pair {
                        dst: dst_h,
                        last: f.t,
                        ..Pair::default()
                    });
                    st.pairs.len() - 1
                }
            };
            let pair = &mut st.pairs[idx];
            let gap = f.t - pair.last;
            if gap > 0 {
                if pair.gaps.len() >= CAP_GAPS {
                    pair.gaps.pop_front();
                }
                pair.gaps.push_back(gap);
                pair.last = f.t;
            }
            if !pair.fired
                && others < cfg.beacon_max_peers
                && pair.gaps.len() + 1 >= cfg.beacon_min_connections
            {
                let n = pair.gaps.len() as f64;
                let mean = pair.gaps.iter().sum::<i64>() as f64 / n;
                let var = pair
                    .gaps
                    .iter()
                    .map(|g| (*g as f64 - mean).powi(2))
                    .sum::<f64>()
                    / n;
                let cv = var.sqrt() / mean.max(1.0);
                let secs = mean / 1e6;
                if cv <= cfg.beacon_max_cv && (10.0..=3600.0).contains(&secs) {
                    pair.fired = true;
                    found.push(sig(
                        SignalKind::Beaconing,
                        format!(
                            "{} connected to {} every {secs:.0} s (variation {:.0}%) over the last {} connections; {} other hosts talk to it",
                            f.src,
                            f.dst,
                            cv * 100.0,
                            pair.gaps.len() + 1,
                            others
                        ),
                    ));
                }
            }
        }

        for s in found {
            let key = s.entity.to_string();
            if self.cool(s.kind, &key, s.time) {
                out.push(s);
            }
        }
    }
}

struct Flow<'a> {
    t: i64,
    uid: Option<&'a str>,
    src: String,
    dst: String,
    dst_internal: bool,
    src_internal: bool,
    port: Option<i64>,
    bytes_out: i64,
    host: Option<&'a str>,
}

/// The authentication columns the baselines read.
struct AuthCols<'b> {
    time: Time<'b>,
    uid: Text<'b>,
    user: Text<'b>,
    status: Int<'b>,
    activity: Int<'b>,
    code: Text<'b>,
    mfa: Bool<'b>,
    ip: Text<'b>,
    country: Text<'b>,
    city: Text<'b>,
    lat: Float<'b>,
    lon: Float<'b>,
    session: Text<'b>,
    device_host: Text<'b>,
    src_host: Text<'b>,
    logon_type: Int<'b>,
    service: Text<'b>,
    product: Text<'b>,
    unmapped: Unmapped<'b>,
}

impl<'b> AuthCols<'b> {
    fn new(b: &'b RecordBatch) -> AuthCols<'b> {
        AuthCols {
            time: Time::new(b, "time"),
            uid: Text::new(b, "event_uid"),
            user: Text::new(b, "user_name"),
            status: Int::new(b, "status_id"),
            activity: Int::new(b, "activity_id"),
            code: Text::new(b, "metadata_event_code"),
            mfa: Bool::new(b, "is_mfa"),
            ip: Text::new(b, "src_endpoint_ip"),
            country: Text::new(b, "src_endpoint_location_country"),
            city: Text::new(b, "src_endpoint_location_city"),
            lat: Float::new(b, "src_endpoint_location_lat"),
            lon: Float::new(b, "src_endpoint_location_long"),
            session: Text::new(b, "actor_session_uid"),
            device_host: Text::new(b, "device_hostname"),
            src_host: Text::new(b, "src_endpoint_hostname"),
            logon_type: Int::new(b, "logon_type_id"),
            service: Text::new(b, "service_name"),
            product: Text::new(b, "metadata_product_name"),
            unmapped: Unmapped::new(b),
        }
    }

    fn read(&self, row: usize) -> Option<Auth<'b>> {
        let t = self.time.get(row)?;
        let status = self.status.get(row);
        let activity = self.activity.get(row);
        let code = self.code.get(row).unwrap_or("");
        let logon_type = self.logon_type.get(row);
        let product = self.product.get(row).unwrap_or("");
        let okta = product == "Okta";
        let windows = product.starts_with("Windows");
        // The client device: Okta's device, a Windows logon's workstation.
        let device = if okta {
            self.unmapped.get(row, "device.name")
        } else if windows {
            match logon_type {
                Some(2 | 7 | 11) => self.device_host.get(row),
                Some(3 | 10) => self.src_host.get(row),
                _ => None,
            }
        } else {
            None
        };
        // The host logged on to: a Windows network or remote logon's
        // computer, an sshd server.
        let remote_windows = windows && matches!(logon_type, Some(3 | 10)) && code == "4624";
        let ssh_logon = !okta && !windows && activity == Some(1);
        let target = if remote_windows || ssh_logon {
            self.device_host.get(row)
        } else {
            None
        };
        let rc4_service = if code == "4769" && status == Some(1) {
            let enc = self.unmapped.get(row, "TicketEncryptionType").unwrap_or("");
            let rc4 = enc.eq_ignore_ascii_case("0x17") || enc.eq_ignore_ascii_case("0x18");
            self.service
                .get(row)
                .filter(|s| rc4 && !s.ends_with('$') && !s.eq_ignore_ascii_case("krbtgt"))
        } else {
            None
        };
        let mfa = self.mfa.get(row) == Some(true)
            || code.contains("push")
            || code.starts_with("user.mfa.");
        let user_raw = self.user.get(row);
        let country = self
            .country
            .get(row)
            .or_else(|| self.unmapped.get(row, "client.geographicalContext.country"));
        Some(Auth {
            t,
            uid: self.uid.get(row),
            user: user_raw.and_then(entity::user),
            user_raw,
            success: status == Some(1),
            failure: status == Some(2),
            logon: activity == Some(1),
            mfa,
            ip: self.ip.get(row).and_then(entity::ip),
            country,
            city: self.city.get(row),
            place: self.lat.get(row).zip(self.lon.get(row)),
            session: self.session.get(row),
            device: device.and_then(entity::host),
            src_device: self.src_host.get(row).and_then(entity::host),
            service_key: if !okta && !windows {
                target.map_or(0, |t| h64(&t.to_ascii_lowercase()))
            } else {
                0
            },
            target: target.and_then(entity::host),
            rc4_service,
        })
    }
}

/// A count of a window capped at [`CAP_WINDOW`]: "256 or more" when full.
fn at_least(n: usize) -> String {
    if n >= CAP_WINDOW {
        format!("{CAP_WINDOW} or more")
    } else {
        n.to_string()
    }
}

/// "City, Country" or what is known of it.
fn place(a: &Auth<'_>) -> String {
    match (a.city, a.country) {
        (Some(c), Some(k)) => format!("{c}, {k}"),
        (Some(c), None) => c.to_string(),
        (None, Some(k)) => k.to_string(),
        (None, None) => a.ip.clone().unwrap_or_else(|| "an unknown place".into()),
    }
}

/// Hour of the week in UTC, Monday 00:00 = 0.
fn hour_of_week(t: i64) -> usize {
    let hours = t.div_euclid(HOUR);
    // 1970-01-01 was a Thursday: hour 72 of its week.
    ((hours + 72).rem_euclid(168)) as usize
}

fn hour_text(h: usize) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    format!("{} {:02}:00 UTC", DAYS[h / 24], h % 24)
}

fn human_bytes(b: f64) -> String {
    match b {
        b if b >= 1e9 => format!("{:.1} GB", b / 1e9),
        b if b >= 1e6 => format!("{:.1} MB", b / 1e6),
        b if b >= 1e3 => format!("{:.1} kB", b / 1e3),
        b => format!("{b:.0} B"),
    }
}

impl Detector for Behaviour {
    fn name(&self) -> &str {
        "baselines"
    }

    fn detect(
        &mut self,
        class: Class,
        batch: &RecordBatch,
    ) -> Result<Vec<(Class, RecordBatch)>, DetectError> {
        let mut out = Vec::new();
        match class {
            Class::Authentication => self.auth(batch, &mut out),
            Class::NetworkActivity => self.network(batch, &mut out),
            Class::DevicePosture => self.st.posture.update(batch),
            _ => return Ok(Vec::new()),
        }
        self.prune();
        if out.is_empty() {
            return Ok(Vec::new());
        }
        self.signals += out.len() as u64;
        Ok(vec![(Class::DetectionFinding, signal::rows(&out))])
    }

    fn save_state(&self) -> Result<Option<Box<serde_json::value::RawValue>>, DetectError> {
        serde_json::value::to_raw_value(&self.st)
            .map(Some)
            .map_err(|e| DetectError::Internal(format!("baselines state: {e}")))
    }

    fn load_state(&mut self, state: &serde_json::value::RawValue) -> Result<(), DetectError> {
        self.st = serde_json::from_str(state.get())
            .map_err(|e| DetectError::Config(format!("not a baselines state: {e}")))?;
        Ok(())
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let (bytes, entities) = self.state_bytes();
        vec![
            ("signals", self.signals),
            ("late", self.late),
            ("entities", entities as u64),
            ("state_bytes", bytes as u64),
        ]
    }
}

#[cfg(test)]
mod tests;
