//! Injected attacks: which instances happen, when and to whom (the plan,
//! drawn when the simulator starts), and the events each one makes.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand_chacha::ChaCha8Rng;

use super::event::{Acct, Host, OktaKind, SshKind, SshUser, State, Svc};
use super::normal::{Ctx, Gen, Marks, network_logon, session_id};
use super::rng::{Stream, stream};
use super::tables::{APPS, ATTACK_CITIES, DEPTS, SERVICE_ACCOUNTS, UA_ATTACK};
use super::world::{DevKind, Place, Role, World, alnum, public_ip};

const MIN: i64 = 60_000;
const SEC: i64 = 1_000;
const HOUR: i64 = 60 * MIN;

macro_rules! scenarios {
    ($($var:ident => $name:literal, $entity:literal;)*) => {
        /// An attack scenario.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Scenario { $($var),* }

        impl Scenario {
            /// Every scenario, in label order.
            pub const ALL: &[Scenario] = &[$(Scenario::$var),*];

            /// The name in `labels.csv`.
            pub fn name(self) -> &'static str {
                match self { $(Scenario::$var => $name),* }
            }

            /// The type of entity its label names: `user`, `ip` or `device`.
            pub fn entity_type(self) -> &'static str {
                match self { $(Scenario::$var => $entity),* }
            }
        }
    };
}

scenarios! {
    PasswordSpray => "password_spray", "ip";
    BruteForceSuccess => "brute_force_success", "user";
    MfaFatigue => "mfa_fatigue", "user";
    ImpossibleTravel => "impossible_travel", "user";
    NewDeviceNewCountry => "new_device_new_country", "user";
    SessionHijack => "session_hijack", "user";
    Kerberoasting => "kerberoasting", "user";
    LateralMovement => "lateral_movement", "user";
    PortScan => "port_scan", "ip";
    HostScan => "host_scan", "ip";
    Exfiltration => "exfiltration", "ip";
    Beaconing => "beaconing", "ip";
    NoncompliantDevice => "noncompliant_device", "device";
    DormantAccount => "dormant_account", "user";
}

/// One planned attack.
#[derive(Clone, Debug)]
pub(crate) struct Instance {
    pub scenario: Scenario,
    /// Its number among the instances of its scenario (varies the flavour).
    pub n: u32,
    /// World day whose buffer makes its events (the UTC day of `t`).
    pub gen_day: i32,
    /// The victim's local day (for plans and session ids).
    pub day: i32,
    pub t: i64,
    pub user: Option<u32>,
    pub device: Option<u32>,
    /// The attacker's (or the internal culprit's) address.
    pub ip: Ipv4Addr,
    /// City the attacker's address geolocates to.
    pub city: usize,
    /// The entity the label names.
    pub entity: String,
}

/// All planned attacks, and the marks they leave on ordinary days.
pub(crate) struct Plan {
    pub instances: Vec<Instance>,
    pub marks: HashMap<(u32, i32), Marks>,
    /// Instances by the day whose buffer makes them.
    pub by_day: HashMap<i32, Vec<usize>>,
    /// Scenarios that could not be planned, and why.
    pub skipped: Vec<(Scenario, String)>,
}

/// Draws the attacks into the world (dormant accounts, attackers'
/// devices) and returns the plan.
pub(crate) struct Planner<'w> {
    w: &'w mut World,
    used: HashSet<u32>,
    plan: Plan,
}

impl<'w> Planner<'w> {
    pub fn new(w: &'w mut World) -> Planner<'w> {
        Planner {
            w,
            used: HashSet::new(),
            plan: Plan {
                instances: Vec::new(),
                marks: HashMap::new(),
                by_day: HashMap::new(),
                skipped: Vec::new(),
            },
        }
    }

    /// `per_kind` instances of every scenario in the labelled period.
    pub fn plan(mut self, per_kind: u32) -> Plan {
        if self.w.labelled_from >= self.w.days || self.w.users.len() < 8 {
            return self.plan;
        }
        for (k, &s) in Scenario::ALL.iter().enumerate() {
            for n in 0..per_kind {
                let mut rng = stream(self.w.seed, Stream::Attack, (k as u32) << 20 | n, 0);
                if let Err(why) = self.one(s, n, &mut rng) {
                    self.plan.skipped.push((s, why));
                }
            }
        }
        for (i, inst) in self.plan.instances.iter().enumerate() {
            self.plan.by_day.entry(inst.gen_day).or_default().push(i);
        }
        self.plan
    }

    fn one(&mut self, s: Scenario, n: u32, rng: &mut ChaCha8Rng) -> Result<(), String> {
        if s == Scenario::DormantAccount && self.w.labelled_from.max(8) >= self.w.days {
            return Err("needs warmup days + days of at least 9 (7 silent days)".into());
        }
        for _ in 0..200 {
            if let Some(inst) = self.draw(s, n, rng) {
                if s == Scenario::NoncompliantDevice
                    && let Some(u) = inst.user
                {
                    let tag = self.plan.instances.len() as u32 + 1;
                    self.plan
                        .marks
                        .insert((u, inst.day), Marks { noncompliant: tag });
                }
                self.plan.instances.push(inst);
                return Ok(());
            }
        }
        Err(format!("no victim and time fit instance {n}"))
    }

    /// One try at an instance; `None` when the drawn victim or day does
    /// not fit the scenario.
    fn draw(&mut self, s: Scenario, n: u32, rng: &mut ChaCha8Rng) -> Option<Instance> {
        let w = &*self.w;
        let lo = w
            .labelled_from
            .max(if s == Scenario::DormantAccount { 8 } else { 0 });
        if lo >= w.days {
            return None;
        }
        let day = rng.random_range(lo..w.days);
        let ui = rng.random_range(0..w.users.len() as u32);
        let u = &w.users[ui as usize];
        if self.used.contains(&ui) || u.dormant {
            return None;
        }
        let plan = w.plan(ui, day);
        let at_work = plan.works && !plan.light && !matches!(plan.place, Place::Away(_));
        let on_laptop = w.devices[plan.laptop as usize].kind != DevKind::Phone;
        let needs_work = matches!(
            s,
            Scenario::ImpossibleTravel
                | Scenario::SessionHijack
                | Scenario::Kerberoasting
                | Scenario::LateralMovement
                | Scenario::NoncompliantDevice
                | Scenario::Exfiltration
                | Scenario::Beaconing
        );
        if needs_work && !(at_work && on_laptop) {
            return None;
        }
        if s == Scenario::LateralMovement && DEPTS[u.dept].admin {
            return None;
        }
        let abroad = matches!(
            s,
            Scenario::ImpossibleTravel | Scenario::NewDeviceNewCountry
        );
        if abroad && u.trip.is_some() {
            return None;
        }
        if s == Scenario::DormantAccount && !w.plan(ui, 0).works {
            return None;
        }
        let network = matches!(s, Scenario::Exfiltration | Scenario::Beaconing);
        if network && plan.place != Place::Office {
            return None;
        }
        let t = self.when(s, &plan, day, rng);
        let start = w.day_ms(w.labelled_from);
        let end = w.day_ms(w.days);
        if t < start || t > end - 2 * HOUR {
            return None;
        }
        let city = rng.random_range(ATTACK_CITIES);
        let ip = public_ip(city, rng.random());
        Some(self.instance(s, n, day, t, ui, plan.laptop, ip, city, rng))
    }

    /// When the attack starts: in the victim's working hours for the
    /// scenarios that need the victim at work, else mostly in working
    /// hours (of the victim's office) and now and then at night.
    fn when(
        &self,
        s: Scenario,
        plan: &super::world::DayPlan,
        day: i32,
        rng: &mut ChaCha8Rng,
    ) -> i64 {
        let span = (plan.end - plan.start).max(2 * HOUR);
        match s {
            Scenario::ImpossibleTravel => plan.start + rng.random_range(25..50) * MIN,
            Scenario::NoncompliantDevice => plan.start,
            Scenario::SessionHijack
            | Scenario::Kerberoasting
            | Scenario::LateralMovement
            | Scenario::Exfiltration
            | Scenario::Beaconing => plan.start + HOUR + rng.random_range(0..span - 2 * HOUR),
            _ if rng.random_bool(0.75) && plan.works => plan.start + rng.random_range(0..span),
            _ => self.w.day_ms(day) + rng.random_range(0..24 * HOUR),
        }
    }

    #[expect(clippy::too_many_arguments, reason = "the drawn facts of one instance")]
    fn instance(
        &mut self,
        s: Scenario,
        n: u32,
        day: i32,
        t: i64,
        ui: u32,
        laptop: u32,
        ip: Ipv4Addr,
        city: usize,
        rng: &mut ChaCha8Rng,
    ) -> Instance {
        let external = s == Scenario::PasswordSpray
            || (matches!(s, Scenario::PortScan | Scenario::HostScan) && !n.is_multiple_of(2));
        if !external {
            self.used.insert(ui);
        }
        let w = &mut *self.w;
        let gen_day = ((t - w.day_ms(0)).div_euclid(24 * HOUR)) as i32;
        let mut inst = Instance {
            scenario: s,
            n,
            gen_day,
            day,
            t,
            user: Some(ui),
            device: None,
            ip,
            city,
            entity: w.users[ui as usize].name.clone(),
        };
        match s {
            Scenario::PasswordSpray => {
                inst.user = None;
                inst.entity = ip.to_string();
            }
            Scenario::PortScan | Scenario::HostScan => {
                inst.user = None;
                if n.is_multiple_of(2) {
                    inst.ip = w.devices[laptop as usize].ip;
                }
                inst.entity = inst.ip.to_string();
            }
            Scenario::Exfiltration | Scenario::Beaconing => {
                inst.device = Some(laptop);
                inst.entity = w.devices[laptop as usize].ip.to_string();
            }
            Scenario::NoncompliantDevice => {
                inst.device = Some(laptop);
                inst.entity = w.devices[laptop as usize].name.to_ascii_lowercase();
            }
            Scenario::NewDeviceNewCountry => {
                let d = w.add_device(ui, DevKind::Windows, 0, rng, day);
                let dev = &mut w.devices[d as usize];
                dev.name = format!("DESKTOP-{}", alnum(rng, 7).to_ascii_uppercase());
                dev.managed = false;
                dev.ua = UA_ATTACK[2];
                inst.device = Some(d);
            }
            Scenario::DormantAccount => w.users[ui as usize].dormant = true,
            _ => {}
        }
        inst
    }
}

/// Make the events of instance `i` of `plan`.
pub(crate) fn generate(g: &mut Gen<'_>, plan: &Plan, i: usize) {
    let inst = &plan.instances[i];
    g.tag = i as u32 + 1;
    match inst.scenario {
        Scenario::PasswordSpray => spray(g, inst),
        Scenario::BruteForceSuccess => brute_force(g, inst),
        Scenario::MfaFatigue => mfa_fatigue(g, inst),
        Scenario::ImpossibleTravel => foreign_signin(g, inst, inst.n.is_multiple_of(2)),
        Scenario::NewDeviceNewCountry => foreign_signin(g, inst, false),
        Scenario::SessionHijack => hijack(g, inst),
        Scenario::Kerberoasting => kerberoast(g, inst),
        Scenario::LateralMovement => lateral(g, inst),
        Scenario::PortScan => port_scan(g, inst),
        Scenario::HostScan => host_scan(g, inst),
        Scenario::Exfiltration => exfiltrate(g, inst),
        Scenario::Beaconing => beacon(g, inst),
        Scenario::NoncompliantDevice => {}
        Scenario::DormantAccount => dormant(g, inst),
    }
    g.tag = 0;
}

fn attack_ua(g: &mut Gen<'_>) -> &'static str {
    UA_ATTACK
        .choose(&mut g.rng)
        .copied()
        .unwrap_or(UA_ATTACK[0])
}

/// Users other than dormant ones, shuffled.
fn some_users(g: &mut Gen<'_>, n: usize) -> Vec<u32> {
    let mut all: Vec<u32> = (0..g.w.users.len() as u32)
        .filter(|&u| !g.w.users[u as usize].dormant)
        .collect();
    all.shuffle(&mut g.rng);
    all.truncate(n);
    all
}

/// One address against many accounts, one or two wrong passwords each:
/// at Okta, or at the Exchange server's Windows logon.
fn spray(g: &mut Gen<'_>, inst: &Instance) {
    let n = g.rng.random_range(20..=60);
    let span = g.rng.random_range(5..=30) * MIN;
    let users = some_users(g, n);
    let ua = attack_ua(g);
    let mail =
        g.w.role_servers(&[Role::Mail])
            .first()
            .copied()
            .unwrap_or(0);
    let step = span / (users.len().max(1) as i64 * 2);
    let mut t = inst.t;
    for u in users {
        for _ in 0..g.rng.random_range(1..=2) {
            if inst.n.is_multiple_of(2) {
                let at = (inst.ip, inst.city);
                let fail = Some("INVALID_CREDENTIALS");
                g.okta(t, OktaKind::SessionStart, u, at, ua, None, 0, None, fail);
            } else {
                g.win(t, 4625, Host::Srv(mail), Acct::User(u), |x| {
                    x.ip = Some(inst.ip);
                    x.sub_status = Some(0xc000_006a);
                });
            }
            t += g.rng.random_range(step / 2..=step.max(1) * 3 / 2);
        }
    }
}

/// Many failures for one account from one address, then a success: at
/// Okta, or at the bastion's sshd.
fn brute_force(g: &mut Gen<'_>, inst: &Instance) {
    let Some(u) = inst.user else { return };
    let n = g.rng.random_range(8..=30);
    let at = (inst.ip, inst.city);
    let ua = attack_ua(g);
    let bastion =
        g.w.role_servers(&[Role::Bastion])
            .first()
            .copied()
            .unwrap_or(0);
    let pid = g.rng.random_range(2000..60000);
    let mut t = inst.t;
    for _ in 0..n {
        if inst.n.is_multiple_of(2) {
            let fail = Some("INVALID_CREDENTIALS");
            g.okta(t, OktaKind::SessionStart, u, at, ua, None, 0, None, fail);
        } else {
            g.ssh(
                t,
                SshKind::FailedPassword,
                bastion,
                SshUser::User(u),
                inst.ip,
                pid,
            );
        }
        t += g.rng.random_range(3..25) * SEC;
    }
    if inst.n.is_multiple_of(2) {
        let session = g.id();
        g.okta(
            t,
            OktaKind::SessionStart,
            u,
            at,
            ua,
            None,
            session,
            None,
            None,
        );
        let app = g.w.users[u as usize].apps.first().copied();
        g.okta(
            t + 40 * SEC,
            OktaKind::Sso,
            u,
            at,
            ua,
            None,
            session,
            app,
            None,
        );
    } else {
        g.ssh(
            t,
            SshKind::AcceptedPassword,
            bastion,
            SshUser::User(u),
            inst.ip,
            pid + 1,
        );
        g.ssh(
            t + 30,
            SshKind::SessionOpened,
            bastion,
            SshUser::User(u),
            inst.ip,
            pid + 1,
        );
    }
}

/// The right password, then push after push until the tired user accepts.
fn mfa_fatigue(g: &mut Gen<'_>, inst: &Instance) {
    let Some(u) = inst.user else { return };
    let pushes = g.rng.random_range(6..=20);
    let span = g.rng.random_range(10..=20) * MIN;
    let step = span / pushes;
    let at = (inst.ip, inst.city);
    let ua = attack_ua(g);
    let session = g.id();
    let mut t = inst.t;
    for k in 0..pushes {
        g.okta(t, OktaKind::PushSend, u, at, ua, None, session, None, None);
        let answer = t + g.rng.random_range(10..40) * SEC;
        if k + 1 < pushes {
            let denied = Some("USER_REJECTED_OKTA_VERIFY_PUSH");
            g.okta(
                answer,
                OktaKind::DenyPush,
                u,
                at,
                ua,
                None,
                session,
                None,
                denied,
            );
        } else {
            g.okta(
                answer,
                OktaKind::AuthViaMfa,
                u,
                at,
                ua,
                None,
                session,
                None,
                None,
            );
            g.okta(
                answer + 2 * SEC,
                OktaKind::SessionStart,
                u,
                at,
                ua,
                None,
                session,
                None,
                None,
            );
            let app = Some(0);
            g.okta(
                answer + 50 * SEC,
                OktaKind::Sso,
                u,
                at,
                ua,
                None,
                session,
                app,
                None,
            );
        }
        t += step;
    }
}

/// A success from far away: with the victim's own browser and laptop (a
/// stolen cookie and fingerprint) or with the attacker's, or (new device)
/// from a device the user never had.
fn foreign_signin(g: &mut Gen<'_>, inst: &Instance, same_device: bool) {
    let Some(u) = inst.user else { return };
    let plan = g.w.plan(u, inst.day);
    let at = (inst.ip, inst.city);
    let (ua, device) = match inst.device {
        Some(d) => (g.w.devices[d as usize].ua, Some(d)),
        None if same_device => (g.w.devices[plan.laptop as usize].ua, Some(plan.laptop)),
        None => (attack_ua(g), None),
    };
    let session = g.id();
    let mut t = inst.t;
    if g.rng.random_bool(0.5) {
        g.okta(
            t,
            OktaKind::PushSend,
            u,
            at,
            ua,
            device,
            session,
            None,
            None,
        );
        t += g.rng.random_range(8..30) * SEC;
        g.okta(
            t,
            OktaKind::AuthViaMfa,
            u,
            at,
            ua,
            device,
            session,
            None,
            None,
        );
        t += 2 * SEC;
    }
    g.okta(
        t,
        OktaKind::SessionStart,
        u,
        at,
        ua,
        device,
        session,
        None,
        None,
    );
    let apps = g.w.users[u as usize].apps.clone();
    for _ in 0..g.rng.random_range(1..=4) {
        t += g.rng.random_range(1..15) * MIN;
        let app = apps.choose(&mut g.rng).copied();
        g.okta(t, OktaKind::Sso, u, at, ua, device, session, app, None);
    }
}

/// The victim's live session used from another country: same session id,
/// the victim's browser string, the attacker's address.
fn hijack(g: &mut Gen<'_>, inst: &Instance) {
    let Some(u) = inst.user else { return };
    let plan = g.w.plan(u, inst.day);
    let session = session_id(g.w, u, inst.day, 0);
    let ua = g.w.devices[plan.laptop as usize].ua;
    let at = (inst.ip, inst.city);
    let apps = g.w.users[u as usize].apps.clone();
    let mut t = inst.t;
    for _ in 0..g.rng.random_range(3..=8) {
        let app = apps.choose(&mut g.rng).copied().or(Some(0));
        g.okta(t, OktaKind::Sso, u, at, ua, None, session, app, None);
        t += g.rng.random_range(1..6) * MIN;
    }
}

/// RC4 service tickets for many services in a few minutes.
fn kerberoast(g: &mut Gen<'_>, inst: &Instance) {
    let Some(u) = inst.user else { return };
    let plan = g.w.plan(u, inst.day);
    let c = Ctx::new(g.w, u, &plan);
    // Kerberoasting tools (Rubeus, GetUserSPNs) ask for the tickets of user
    // accounts with SPNs: machine accounts' passwords are random and long,
    // not worth cracking.
    let mut services: Vec<Acct> = (0..SERVICE_ACCOUNTS.len() as u8).map(Acct::Svc).collect();
    services.shuffle(&mut g.rng);
    services.truncate(g.rng.random_range(8..=SERVICE_ACCOUNTS.len()));
    let dc = Host::Srv(g.dc());
    let mut t = inst.t;
    for s in services {
        g.win(t, 4769, dc, Acct::User(u), |x| {
            x.ip = Some(c.lan);
            x.service = Some(s);
            x.enc = 0x17;
        });
        t += g.rng.random_range(200..12_000);
    }
}

/// Network logons to many hosts the account never used, from its laptop,
/// within the hour.
fn lateral(g: &mut Gen<'_>, inst: &Instance) {
    let Some(u) = inst.user else { return };
    let plan = g.w.plan(u, inst.day);
    let c = Ctx::new(g.w, u, &plan);
    let usual = g.w.users[u as usize].servers.clone();
    let mut hosts: Vec<u32> = (0..g.w.servers.len() as u32)
        .filter(|&s| g.w.servers[s as usize].is_windows() && !usual.contains(&s))
        .collect();
    hosts.shuffle(&mut g.rng);
    hosts.truncate(g.rng.random_range(8..=25));
    let dc = Host::Srv(g.dc());
    let ws = Host::Dev(c.laptop);
    let step = 50 * MIN / hosts.len().max(1) as i64;
    let mut t = inst.t;
    for s in hosts {
        network_logon(g, &c, t, s, dc, ws, Acct::User(u));
        t += g.rng.random_range(step / 2..=step);
    }
}

/// A target server: an internal one for an internal scanner, a DMZ web
/// server for one on the internet.
fn scan_target(g: &mut Gen<'_>, internal: bool) -> Ipv4Addr {
    let roles: &[Role] = if internal {
        &[Role::File, Role::App, Role::Sql]
    } else {
        &[Role::Web]
    };
    let list = g.w.role_servers(roles);
    let s = list.choose(&mut g.rng).copied().unwrap_or(0);
    g.w.servers[s as usize].ip
}

/// Hundreds of ports on one target in minutes, mostly refused or silent.
fn port_scan(g: &mut Gen<'_>, inst: &Instance) {
    let internal = inst.n.is_multiple_of(2);
    let dst = scan_target(g, internal);
    let mut ports: Vec<u16> = (1..=1024)
        .chain([1433, 3306, 3389, 5432, 5985, 8080, 8443])
        .collect();
    ports.shuffle(&mut g.rng);
    ports.truncate(g.rng.random_range(200..=1000));
    let span = g.rng.random_range(2..=12) * MIN;
    let step = span / ports.len() as i64;
    let mut t = inst.t;
    for p in ports {
        let open = [22, 80, 135, 443, 445, 3389, 5985].contains(&p);
        let state = match (open, g.rng.random_range(0..100)) {
            (true, _) => State::Sf,
            (false, x) if x < 70 => State::Rej,
            _ => State::S0,
        };
        g.conn(t, inst.ip, dst, p, Svc::None, (0, 0), 1, state);
        t += g.rng.random_range(step / 2..=step.max(1) * 3 / 2);
    }
}

/// One or two ports across many internal addresses.
fn host_scan(g: &mut Gen<'_>, inst: &Instance) {
    let ports: &[u16] = [&[445][..], &[3389], &[22], &[445, 139]][inst.n as usize % 4];
    let n = g.rng.random_range(50..=250);
    let mut targets: Vec<Ipv4Addr> = g.w.servers.iter().map(|s| s.ip).collect();
    targets.extend(g.w.devices.iter().filter(|d| d.managed).map(|d| d.ip));
    targets.shuffle(&mut g.rng);
    targets.truncate(n);
    while targets.len() < n {
        let last = g.rng.random_range(2..250);
        targets.push(Ipv4Addr::new(10, 0, g.rng.random_range(60..90), last));
    }
    let span = g.rng.random_range(3..=20) * MIN;
    let step = span / n as i64;
    let mut t = inst.t;
    for dst in targets {
        for &p in ports {
            let state = match g.rng.random_range(0..100) {
                x if x < 15 => State::Sf,
                x if x < 55 => State::Rej,
                _ => State::S0,
            };
            g.conn(t, inst.ip, dst, p, Svc::None, (0, 0), 1, state);
        }
        t += g.rng.random_range(step / 2..=step.max(1) * 3 / 2);
    }
}

/// A laptop's usual bytes out in a day, roughly (see `normal::traffic`).
const USUAL_DAILY_OUT: u64 = 3_000_000;

/// 50 to 500 times the usual daily bytes, to an address nobody uses, in
/// one to three connections.
fn exfiltrate(g: &mut Gen<'_>, inst: &Instance) {
    let Some(d) = inst.device else { return };
    let src = g.w.devices[d as usize].ip;
    let total = USUAL_DAILY_OUT * g.rng.random_range(50..=500);
    let parts = g.rng.random_range(1..=3);
    let mut t = inst.t;
    for _ in 0..parts {
        let bytes = total / parts;
        let dur = (bytes / 2_000) as u32;
        let resp = g.rng.random_range(20_000..90_000);
        g.conn(
            t,
            src,
            inst.ip,
            443,
            Svc::Ssl,
            (bytes, resp),
            dur,
            State::Sf,
        );
        t += i64::from(dur) + g.rng.random_range(1..10) * MIN;
    }
}

/// Regular small connections to one address for hours.
fn beacon(g: &mut Gen<'_>, inst: &Instance) {
    let Some(d) = inst.device else { return };
    let src = g.w.devices[d as usize].ip;
    let period = g.rng.random_range(30..=300) * SEC;
    let jitter_pct = g.rng.random_range(0..=10);
    let hours = g.rng.random_range(2..=8);
    let end = inst.t + hours * HOUR;
    let port = [443, 8443, 80][inst.n as usize % 3];
    let svc = if port == 80 { Svc::Http } else { Svc::Ssl };
    let mut t = inst.t;
    while t < end {
        let bytes = (g.rng.random_range(180..700), g.rng.random_range(200..1_500));
        g.conn(t, src, inst.ip, port, svc, bytes, 300, State::Sf);
        let j = period * jitter_pct / 100;
        t += period + g.rng.random_range(-j..=j);
    }
}

/// A long-silent account signs in and gets to work.
fn dormant(g: &mut Gen<'_>, inst: &Instance) {
    let Some(u) = inst.user else { return };
    let home = g.w.users[u as usize].office;
    let (ip, city) = if inst.n.is_multiple_of(3) {
        (g.w.users[u as usize].home_ip, home)
    } else {
        (inst.ip, inst.city)
    };
    let at = (ip, city);
    let ua = attack_ua(g);
    let session = g.id();
    let mut t = inst.t;
    g.okta(
        t,
        OktaKind::SessionStart,
        u,
        at,
        ua,
        None,
        session,
        None,
        None,
    );
    let apps: Vec<usize> = (0..APPS.len()).collect();
    for _ in 0..g.rng.random_range(2..=6) {
        t += g.rng.random_range(1..20) * MIN;
        let app = apps.choose(&mut g.rng).copied();
        g.okta(t, OktaKind::Sso, u, at, ua, None, session, app, None);
    }
}
