//! The simulated enterprise: people, their devices, servers and service
//! accounts, and each person's calendar (workdays, vacations, trips,
//! working from home, a new laptop).
//!
//! Everything is drawn once from the seed when the simulator starts and is
//! small (a few hundred bytes per person); what happens on a given day is
//! drawn later from a generator seeded by (seed, person, day), so any day
//! can be made without making the days before it.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;

use super::rng::{Stream, stream};
use super::tables::{
    APPS, CITIES, DEPTS, FIRST_NAMES, LAST_NAMES, OFFICES, TRAVEL_CITIES, UA_MAC, UA_PHONE,
    UA_WINDOWS, flight_hours,
};

/// The mail domain of every account.
pub(crate) const DOMAIN: &str = "corp.example";
/// The Windows (NetBIOS) domain.
pub(crate) const NT_DOMAIN: &str = "CORP";
/// The Kerberos realm.
pub(crate) const REALM: &str = "CORP.EXAMPLE";

/// What kind of device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DevKind {
    Windows,
    Mac,
    Phone,
}

/// A device a person uses, or one an attacker brings.
pub(crate) struct Device {
    /// Host name as the device and MDM know it (`WS-00042`).
    pub name: String,
    pub kind: DevKind,
    pub user: u32,
    /// Its address on the office LAN.
    pub ip: Ipv4Addr,
    /// Intune managedDevice id.
    pub mdm_id: String,
    /// Okta device id.
    pub okta_id: String,
    pub ua: &'static str,
    pub os_version: &'static str,
    /// Day it is first used and day after its last use (world days).
    pub from_day: i32,
    pub until_day: i32,
    /// Whether MDM and osquery know it (attackers' devices are unknown).
    pub managed: bool,
    /// First EventRecordID of its Security log.
    pub rec_base: u64,
}

/// A trip: leave home on `leave`, work at `city` from `first` to `last`,
/// fly home on `last + 1`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Trip {
    pub leave: i32,
    pub first: i32,
    pub last: i32,
    pub city: usize,
}

/// One person.
pub(crate) struct User {
    /// `first.last`, lower case: the account name everywhere.
    pub name: String,
    pub display: String,
    pub okta_id: String,
    pub rid: u32,
    pub dept: usize,
    pub office: usize,
    /// Usual start of work, minutes after local midnight, and its length.
    pub start_min: u32,
    pub len_min: u32,
    /// Chance of a workday from home, and of a little weekend work, in %.
    pub wfh_pct: u32,
    pub weekend_pct: u32,
    /// Devices in order of first use: the laptop in use on a day is the
    /// last one whose `from_day` is not after it.
    pub laptops: Vec<u32>,
    pub phone: Option<u32>,
    pub apps: Vec<usize>,
    /// Windows servers (indexes into `World::servers`) reached most days.
    pub servers: Vec<u32>,
    /// Linux servers reached by ssh.
    pub linux: Vec<u32>,
    pub home_ip: Ipv4Addr,
    pub vpn_ip: Ipv4Addr,
    /// A block of days off (first day, length), if any.
    pub vacation: Option<(i32, i32)>,
    pub trip: Option<Trip>,
    /// Active only on the first day of history (dormant_account victims).
    pub dormant: bool,
}

/// What a server does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Dc,
    File,
    App,
    Sql,
    Mail,
    Backup,
    Storage,
    Monitor,
    Linux,
    Bastion,
    Build,
    Web,
}

/// A server.
pub(crate) struct Server {
    /// Lower-case host name (`fs-03`).
    pub name: String,
    pub role: Role,
    pub ip: Ipv4Addr,
    pub rec_base: u64,
}

impl Server {
    pub fn is_windows(&self) -> bool {
        !matches!(
            self.role,
            Role::Linux | Role::Bastion | Role::Build | Role::Storage | Role::Web
        )
    }
}

/// The whole enterprise.
pub(crate) struct World {
    pub seed: u64,
    pub users: Vec<User>,
    pub devices: Vec<Device>,
    pub servers: Vec<Server>,
    /// Date of world day 0 (the first day of history).
    pub day0: NaiveDate,
    /// World days in all: history and labelled period.
    pub days: i32,
    /// First world day of the labelled period.
    pub labelled_from: i32,
}

/// Where a person works on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    Office,
    Home,
    /// On a trip, at this city.
    Away(usize),
}

/// One person's day: whether and when they work, where, on which laptop.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DayPlan {
    pub works: bool,
    /// First and last activity, ms since the epoch.
    pub start: i64,
    pub end: i64,
    pub place: Place,
    pub laptop: u32,
    /// A weekend check of mail: short, from home.
    pub light: bool,
}

/// Public address in a city's network, from a key.
pub(crate) fn public_ip(city: usize, key: u64) -> Ipv4Addr {
    let [a, b] = CITIES[city].net;
    let c = (key >> 8) as u8;
    let d = (key as u8).clamp(2, 250);
    Ipv4Addr::new(a, b, c, d)
}

/// The egress address of an office (four NAT addresses per office).
pub(crate) fn office_ip(city: usize, n: u32) -> Ipv4Addr {
    let [a, b] = CITIES[city].net;
    Ipv4Addr::new(a, b, 10, 1 + (n % 4) as u8)
}

impl World {
    /// Draw the enterprise for `users` people over `days` world days.
    pub fn new(seed: u64, users: u32, day0: NaiveDate, days: i32, labelled_from: i32) -> World {
        let mut w = World {
            seed,
            users: Vec::new(),
            devices: Vec::new(),
            servers: Vec::new(),
            day0,
            days,
            labelled_from,
        };
        let mut rng = stream(seed, Stream::World, 0, 0);
        w.servers = servers(users, &mut rng);
        let mut names = HashSet::new();
        for i in 0..users {
            let u = w.person(i, &mut rng, &mut names);
            w.users.push(u);
        }
        w
    }

    fn person(&mut self, i: u32, rng: &mut ChaCha8Rng, names: &mut HashSet<String>) -> User {
        let (name, display) = unique_name(rng, names);
        let dept = weighted(rng, DEPTS.iter().map(|d| d.weight));
        let office = weighted(rng, CITIES[..OFFICES].iter().map(|c| c.staff));
        let d = &DEPTS[dept];
        let mut apps: Vec<usize> = d
            .apps
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.85))
            .collect();
        if !apps.contains(&0) {
            apps.insert(0, 0);
        }
        if rng.random_bool(0.2) {
            apps.push(rng.random_range(0..APPS.len()));
            apps.dedup();
        }
        let laptops = vec![self.device(i, office, d.mac_pct, rng, 0)];
        let phone = rng
            .random_bool(0.6)
            .then(|| self.add_device(i, DevKind::Phone, office, rng, 0));
        let mut u = User {
            okta_id: okta_id(rng),
            rid: 1100 + i,
            name,
            display,
            dept,
            office,
            start_min: rng.random_range(7 * 60 + 15..9 * 60 + 45),
            len_min: rng.random_range(7 * 60 + 30..9 * 60 + 30),
            wfh_pct: [0, 10, 20, 40][rng.random_range(0..4)],
            weekend_pct: [0, 0, 3, 8][rng.random_range(0..4)],
            laptops,
            phone,
            apps,
            servers: Vec::new(),
            linux: Vec::new(),
            home_ip: public_ip(office, rng.random_range(0..65536)),
            vpn_ip: Ipv4Addr::new(10, 200, (i >> 8) as u8, (i & 0xff) as u8),
            vacation: None,
            trip: None,
            dormant: false,
        };
        self.usual_servers(&mut u, rng);
        self.calendar(&mut u, rng);
        u
    }

    /// A laptop for person `user`: a Mac for some, else a Windows
    /// workstation; new laptops for some people part way through.
    fn device(
        &mut self,
        user: u32,
        office: usize,
        mac_pct: u32,
        rng: &mut ChaCha8Rng,
        from: i32,
    ) -> u32 {
        let kind = if rng.random_range(0..100) < mac_pct {
            DevKind::Mac
        } else {
            DevKind::Windows
        };
        self.add_device(user, kind, office, rng, from)
    }

    pub fn add_device(
        &mut self,
        user: u32,
        kind: DevKind,
        office: usize,
        rng: &mut ChaCha8Rng,
        from: i32,
    ) -> u32 {
        let n = self.devices.len() as u32;
        let name = match kind {
            DevKind::Windows => format!("WS-{:05}", 10 + n),
            DevKind::Mac => format!("MAC-{:05}", 10 + n),
            DevKind::Phone => format!("PH-{:05}", 10 + n),
        };
        let (ua, os) = match kind {
            DevKind::Windows => (*UA_WINDOWS.choose(rng).unwrap_or(&""), "10.0.22631.4460"),
            DevKind::Mac => (*UA_MAC.choose(rng).unwrap_or(&""), "15.1.1"),
            DevKind::Phone => (*UA_PHONE.choose(rng).unwrap_or(&""), "18.1"),
        };
        let net = 20 + office as u8 * 10 + (n >> 16) as u8;
        self.devices.push(Device {
            name,
            kind,
            user,
            ip: Ipv4Addr::new(10, net, (n >> 8) as u8, (n as u8).max(5)),
            mdm_id: uuid(rng.random()),
            okta_id: format!("guo{}", alnum(rng, 17)),
            ua,
            os_version: os,
            from_day: from,
            until_day: i32::MAX,
            managed: true,
            rec_base: 1_000 + u64::from(n) * 1_000_000 + rng.random_range(0..200_000),
        });
        n
    }

    /// Windows file/app servers of the department, and for engineers and
    /// admins the Linux servers they ssh to.
    fn usual_servers(&self, u: &mut User, rng: &mut ChaCha8Rng) {
        let d = &DEPTS[u.dept];
        let pick = |roles: &[Role], n: usize, rng: &mut ChaCha8Rng| -> Vec<u32> {
            let mut all: Vec<u32> = self.role_servers(roles);
            all.shuffle(rng);
            all.truncate(n);
            all
        };
        let (win, lin) = if d.admin { (14, 24) } else { (3, 4) };
        u.servers = pick(
            &[Role::File, Role::App, Role::Sql],
            rng.random_range(1..=win),
            rng,
        );
        if d.ssh {
            let roles = [Role::Linux, Role::Build];
            u.linux = pick(&roles, rng.random_range(2..=lin), rng);
        }
    }

    /// Servers with one of `roles`.
    pub fn role_servers(&self, roles: &[Role]) -> Vec<u32> {
        let servers = self.servers.iter().enumerate();
        let hit = servers.filter(|(_, s)| roles.contains(&s.role));
        hit.map(|(i, _)| i as u32).collect()
    }

    /// Vacations, trips and new laptops: at most one of each per person.
    fn calendar(&mut self, u: &mut User, rng: &mut ChaCha8Rng) {
        if rng.random_bool(0.25) {
            u.vacation = Some((rng.random_range(0..self.days), rng.random_range(1..=4)));
        }
        if rng.random_bool(0.06) && self.days >= 6 {
            u.trip = self.trip(u.office, rng);
        }
        if rng.random_bool(0.01) && self.days > 2 {
            let from = rng.random_range(1..self.days);
            let mac_pct = DEPTS[u.dept].mac_pct;
            let new = self.device(self.users.len() as u32, u.office, mac_pct, rng, from);
            if let Some(&old) = u.laptops.last() {
                self.devices[old as usize].until_day = from;
            }
            u.laptops.push(new);
        }
    }

    /// A business trip to another city, with a rest day after a long flight.
    fn trip(&self, home: usize, rng: &mut ChaCha8Rng) -> Option<Trip> {
        let city = rng.random_range(TRAVEL_CITIES);
        if city == home {
            return None;
        }
        let long = flight_hours(&CITIES[home], &CITIES[city]) > 6.0;
        let leave = rng.random_range(0..self.days - 5);
        let first = leave + 1 + i32::from(long);
        let last = first + rng.random_range(1..=3);
        Some(Trip {
            leave,
            first,
            last,
            city,
        })
    }

    /// The date of world day `day`.
    pub fn date(&self, day: i32) -> NaiveDate {
        self.day0 + chrono::Days::new(day.max(0) as u64)
    }

    /// Milliseconds at local time `min` minutes after midnight on `day`,
    /// in the zone of city `city`.
    pub fn local_ms(&self, city: usize, day: i32, min: u32) -> i64 {
        let date = self.date(day);
        let naive = date.and_time(NaiveTime::MIN) + chrono::Duration::minutes(i64::from(min));
        let tz = CITIES[city].tz;
        let t = tz.from_local_datetime(&naive).earliest();
        let t = t.map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc));
        t.timestamp_millis()
    }

    /// Milliseconds at UTC midnight starting world day `day`.
    pub fn day_ms(&self, day: i32) -> i64 {
        let date = self.day0 + chrono::Days::new(day.max(0) as u64);
        let t: DateTime<Utc> = Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN));
        t.timestamp_millis() + i64::from(day.min(0)) * 86_400_000
    }

    /// The laptop person `u` uses on `day`.
    pub fn laptop(&self, u: &User, day: i32) -> u32 {
        let live = u.laptops.iter().rev();
        let mut used = live.filter(|&&d| self.devices[d as usize].from_day <= day);
        used.next().or(u.laptops.first()).copied().unwrap_or(0)
    }

    /// Person `ui`'s plan for `day`.
    pub fn plan(&self, ui: u32, day: i32) -> DayPlan {
        let u = &self.users[ui as usize];
        let mut rng = stream(self.seed, Stream::Plan, ui, day);
        let weekday = self.date(day).weekday();
        let weekend = matches!(weekday, Weekday::Sat | Weekday::Sun);
        let on_vacation = u.vacation.is_some_and(|(s, n)| day >= s && day < s + n);
        let (place, city) = self.place(u, day, &mut rng);
        let flying = u
            .trip
            .is_some_and(|t| (day > t.leave && day < t.first) || day == t.last + 1);
        let light = weekend && rng.random_range(0..100) < u.weekend_pct;
        let off = on_vacation || flying || (weekend && !light) || (u.dormant && day > 0);
        let works = !off;
        let start_min = u.start_min + rng.random_range(0..40) - 20;
        let mut len = if light {
            rng.random_range(20..90)
        } else {
            u.len_min + rng.random_range(0..60) - 30
        };
        if u.trip.is_some_and(|t| day == t.leave) {
            len = len.min(12 * 60 - start_min);
        }
        let start_min = if light {
            10 * 60 + start_min / 4
        } else {
            start_min
        };
        let start = self.local_ms(city, day, start_min) + rng.random_range(0..60_000);
        DayPlan {
            works,
            start,
            end: start + i64::from(len) * 60_000,
            place: if light { Place::Home } else { place },
            laptop: self.laptop(u, day),
            light,
        }
    }

    /// Where the person is on `day`, and the city whose clock they keep.
    fn place(&self, u: &User, day: i32, rng: &mut ChaCha8Rng) -> (Place, usize) {
        if let Some(t) = u.trip
            && day >= t.first
            && day <= t.last
        {
            return (Place::Away(t.city), t.city);
        }
        let home = rng.random_range(0..100) < u.wfh_pct;
        (if home { Place::Home } else { Place::Office }, u.office)
    }
}

/// Servers scaled to the number of people.
fn servers(users: u32, rng: &mut ChaCha8Rng) -> Vec<Server> {
    let scale = |per: u32, min: u32| (users / per).max(min);
    let layout: [(Role, &str, u32, u8); 12] = [
        (Role::Dc, "dc", 2, 1),
        (Role::File, "fs", scale(100, 4), 2),
        (Role::App, "app", scale(120, 4), 3),
        (Role::Sql, "sql", scale(300, 2), 4),
        (Role::Mail, "mail", 1, 5),
        (Role::Backup, "bkp", 1, 6),
        (Role::Storage, "stor", 1, 6),
        (Role::Monitor, "mon", 1, 7),
        (Role::Linux, "lnx-app", scale(60, 6), 8),
        (Role::Build, "lnx-build", scale(250, 2), 9),
        (Role::Bastion, "bastion", 1, 10),
        (Role::Web, "web-dmz", 2, 50),
    ];
    let mut out = Vec::new();
    for (role, prefix, n, net) in layout {
        for k in 1..=n {
            out.push(Server {
                name: format!("{prefix}-{k:02}"),
                role,
                ip: Ipv4Addr::new(10, 0, net, (9 + k) as u8),
                rec_base: 0,
            });
        }
    }
    for (i, s) in out.iter_mut().enumerate() {
        s.rec_base = 50_000_000_000 + i as u64 * 1_000_000_000 + rng.random_range(0..9_000_000);
    }
    out
}

/// A `first.last` name not used yet, with a digit added on a collision.
fn unique_name(rng: &mut ChaCha8Rng, names: &mut HashSet<String>) -> (String, String) {
    let first = *FIRST_NAMES.choose(rng).unwrap_or(&"alex");
    let last = *LAST_NAMES.choose(rng).unwrap_or(&"doe");
    let base = format!("{first}.{last}");
    let mut name = base.clone();
    let mut n = 1;
    while names.contains(&name) {
        n += 1;
        name = format!("{base}{n}");
    }
    names.insert(name.clone());
    (name, format!("{} {}", title(first), title(last)))
}

fn title(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// Index drawn with the given weights.
pub(crate) fn weighted(rng: &mut ChaCha8Rng, weights: impl Iterator<Item = u32> + Clone) -> usize {
    let total: u32 = weights.clone().sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, w) in weights.enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

/// An Okta-style id (`00u` and 17 characters).
fn okta_id(rng: &mut ChaCha8Rng) -> String {
    format!("00u{}", alnum(rng, 17))
}

/// `n` random letters and digits.
pub(crate) fn alnum(rng: &mut ChaCha8Rng, n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..n)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// A version 4 UUID's text from 128 random bits.
pub(crate) fn uuid(x: u128) -> String {
    let x = (x & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let h = format!("{x:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
