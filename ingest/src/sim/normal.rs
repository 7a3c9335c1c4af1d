//! Ordinary activity: one person's day, and the servers' own rhythms.
//!
//! A workday is a morning logon on the laptop (Kerberos TGT, interactive
//! 4624), an Okta session with MFA most days and single sign-on to the
//! person's usual apps, network logons to the usual file and app servers,
//! ssh for engineers and admins, a few unlocks, DNS and web traffic, an
//! osquery snapshot now and then, and every device's daily MDM check-in.
//! Noise is woven in at realistic rates: mistyped passwords, legacy RC4
//! tickets, NTLM, phone sessions, trips, working from home, a device that
//! is noncompliant for a day it is not used.

use std::net::Ipv4Addr;

use chrono::Datelike;
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use super::event::{
    Acct, Body, Conn, Ev, Host, Mdm, Okta, OktaKind, Osq, Ssh, SshKind, SshUser, State, Svc, Win,
    saas_ip,
};
use super::rng::{Stream, key, stream};
use super::tables::{CITIES, DEPTS, SAAS, SERVICE_ACCOUNTS};
use super::world::{DayPlan, DevKind, Place, Role, User, World, office_ip, public_ip};

const MIN: i64 = 60_000;
const SEC: i64 = 1_000;

/// Makes events into a day's buffer.
pub(crate) struct Gen<'w> {
    pub w: &'w World,
    pub rng: ChaCha8Rng,
    pub out: &'w mut Vec<Ev>,
    /// Attack instance the events being made belong to (`0`: none).
    pub tag: u32,
}

impl Gen<'_> {
    pub fn push(&mut self, t: i64, body: Body) {
        self.out.push(Ev {
            t,
            tag: self.tag,
            body,
        });
    }

    pub fn id(&mut self) -> u64 {
        self.rng.random()
    }

    pub fn port(&mut self) -> u16 {
        self.rng.random_range(49152..65535)
    }

    /// An Okta event; `fail` is the failure reason.
    #[expect(clippy::too_many_arguments, reason = "one argument per event field")]
    pub fn okta(
        &mut self,
        t: i64,
        kind: OktaKind,
        user: u32,
        at: (Ipv4Addr, usize),
        ua: &'static str,
        device: Option<u32>,
        session: u64,
        app: Option<usize>,
        fail: Option<&'static str>,
    ) {
        let id = self.id();
        // N.B. Okta stamps events with its own clock: sub-second jitter,
        // under the shortest gap between the steps of one sign-in.
        let t = t + self.rng.random_range(0..900);
        let body = Body::Okta(Okta {
            kind,
            user,
            ip: at.0,
            city: at.1 as u8,
            ua,
            device,
            session,
            app: app.map(|a| a as u8),
            fail,
            id,
        });
        self.push(t, body);
    }

    /// A Windows event with the usual defaults; adjust with the closure.
    pub fn win(&mut self, t: i64, id: u16, host: Host, acct: Acct, f: impl FnOnce(&mut Win)) {
        let port = self.port();
        let mut x = Win {
            id,
            host,
            acct,
            logon_type: 3,
            ip: None,
            port,
            workstation: None,
            service: None,
            enc: 0x12,
            sub_status: None,
            logon_id: self.rng.random_range(0x10_0000..0x7fff_ffff),
        };
        f(&mut x);
        self.push(t, Body::Win(x));
    }

    /// A Zeek conn record.
    #[expect(clippy::too_many_arguments, reason = "one argument per conn field")]
    pub fn conn(
        &mut self,
        t: i64,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        dport: u16,
        svc: Svc,
        bytes: (u64, u64),
        duration_ms: u32,
        state: State,
    ) {
        let id = self.id();
        let sport = self.port();
        let body = Body::Conn(Conn {
            id,
            src,
            sport,
            dst,
            dport,
            udp: matches!(svc, Svc::Dns),
            svc,
            duration_ms,
            orig_bytes: bytes.0,
            resp_bytes: bytes.1,
            state,
        });
        self.push(t, body);
    }

    /// An sshd line.
    pub fn ssh(&mut self, t: i64, kind: SshKind, host: u32, user: SshUser, ip: Ipv4Addr, pid: u32) {
        let port = self.port();
        let body = Body::Ssh(Ssh {
            kind,
            host,
            user,
            ip,
            port,
            pid,
        });
        self.push(t, body);
    }

    /// A moment in `[a, b)`.
    pub fn between(&mut self, a: i64, b: i64) -> i64 {
        if b <= a {
            return a;
        }
        self.rng.random_range(a..b)
    }

    /// The first domain controller.
    pub fn dc(&self) -> u32 {
        self.w
            .role_servers(&[Role::Dc])
            .first()
            .copied()
            .unwrap_or(0)
    }
}

/// Where one person's events come from today.
pub(crate) struct Ctx {
    pub ui: u32,
    /// Okta's view: public address and the city it geolocates to.
    pub public: (Ipv4Addr, usize),
    /// The laptop's address as the network sees it (LAN or VPN pool).
    pub lan: Ipv4Addr,
    pub laptop: u32,
    pub ua: &'static str,
}

impl Ctx {
    pub fn new(w: &World, ui: u32, plan: &DayPlan) -> Ctx {
        let u = &w.users[ui as usize];
        let d = &w.devices[plan.laptop as usize];
        let public = match plan.place {
            Place::Office => (office_ip(u.office, ui), u.office),
            Place::Home => (u.home_ip, u.office),
            Place::Away(c) => (public_ip(c, key(w.seed, Stream::Plan, ui, -1)), c),
        };
        let lan = if plan.place == Place::Office {
            d.ip
        } else {
            u.vpn_ip
        };
        Ctx {
            ui,
            public,
            lan,
            laptop: plan.laptop,
            ua: d.ua,
        }
    }
}

/// The id of person `ui`'s `n`th Okta session of `day`.
pub(crate) fn session_id(w: &World, ui: u32, day: i32, n: i32) -> u64 {
    key(w.seed, Stream::Session, ui, day * 4 + n)
}

/// How a person's day is marked by an attack planned on it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Marks {
    /// The laptop is noncompliant today, for this attack instance (+1).
    pub noncompliant: u32,
}

/// Person `ui`'s events on `day`.
pub(crate) fn user_day(w: &World, ui: u32, day: i32, marks: Marks, out: &mut Vec<Ev>) {
    let plan = w.plan(ui, day);
    let mut g = Gen {
        w,
        rng: stream(w.seed, Stream::UserDay, ui, day),
        out,
        tag: 0,
    };
    let u = &w.users[ui as usize];
    if u.dormant && day > 0 {
        return;
    }
    mdm_day(&mut g, u, &plan, marks);
    if !plan.works {
        return;
    }
    let c = Ctx::new(w, ui, &plan);
    g.tag = marks.noncompliant;
    if plan.light {
        okta_light(&mut g, &c, &plan, day);
        return;
    }
    let kind = w.devices[c.laptop as usize].kind;
    if kind == DevKind::Windows {
        windows_logon(&mut g, &c, &plan);
    }
    okta_day(&mut g, &c, &plan, day);
    server_access(&mut g, &c, &plan, day);
    g.tag = 0;
    phone_session(&mut g, &c, &plan, day);
    ssh_day(&mut g, &c, &plan, day);
    traffic(&mut g, &c, &plan);
    osquery(&mut g, &c, &plan, marks);
}

/// Each device's daily MDM check-in: just before work on workdays, at
/// some hour otherwise. Now and then a laptop reports noncompliant on a
/// day it is not used, and is fixed by the next check-in.
fn mdm_day(g: &mut Gen<'_>, u: &User, plan: &DayPlan, marks: Marks) {
    let mut devices = vec![plan.laptop];
    devices.extend(u.phone);
    for d in devices {
        let t = if plan.works {
            plan.start - g.rng.random_range(5..40) * MIN
        } else {
            plan.start + g.rng.random_range(60..600) * MIN
        };
        let idle_glitch = !plan.works && g.rng.random_bool(0.01) && d == plan.laptop;
        let attacked = marks.noncompliant != 0 && d == plan.laptop;
        let bad = idle_glitch || attacked;
        let body = Body::Mdm(Mdm {
            device: d,
            compliant: !bad,
            encrypted: !bad,
            jailbroken: false,
        });
        g.push(t, body);
    }
}

/// Morning logon on a Windows laptop: TGT, ticket for the workstation,
/// the interactive logon (after a mistyped password now and then), a few
/// unlocks, and the logoff.
fn windows_logon(g: &mut Gen<'_>, c: &Ctx, plan: &DayPlan) {
    let dc = Host::Srv(g.dc());
    let ws = Host::Dev(c.laptop);
    let user = Acct::User(c.ui);
    let lan = c.lan;
    let remote = lan != g.w.devices[c.laptop as usize].ip;
    let t0 = plan.start;
    if g.rng.random_bool(0.04) {
        let t = t0 - g.rng.random_range(20..120) * SEC;
        g.win(t, 4625, ws, user, |x| {
            x.logon_type = 2;
            x.ip = Some(Ipv4Addr::LOCALHOST);
            x.workstation = Some(ws);
            x.sub_status = Some(0xc000_006a);
        });
    }
    g.win(t0, 4768, dc, user, |x| x.ip = Some(lan));
    g.win(t0 + 40, 4769, dc, user, |x| {
        x.ip = Some(lan);
        x.service = Some(Acct::Machine(ws));
    });
    let logon_id = g.rng.random_range(0x10_0000..0x7fff_ffff);
    g.win(t0 + 900, 4624, ws, user, |x| {
        x.logon_type = if remote { 11 } else { 2 };
        x.ip = Some(Ipv4Addr::LOCALHOST);
        x.workstation = Some(ws);
        x.logon_id = logon_id;
    });
    for _ in 0..g.rng.random_range(0..=2) {
        let t = g.between(plan.start + 60 * MIN, plan.end - 10 * MIN);
        g.win(t, 4624, ws, user, |x| {
            x.logon_type = 7;
            x.ip = Some(Ipv4Addr::LOCALHOST);
            x.workstation = Some(ws);
        });
    }
    g.win(plan.end, 4634, ws, user, |x| {
        x.logon_type = 2;
        x.logon_id = logon_id;
    });
}

/// The day's Okta session: sign-in (mistyped first now and then), MFA on
/// most days, single sign-on to usual apps, sometimes a sign-out.
fn okta_day(g: &mut Gen<'_>, c: &Ctx, plan: &DayPlan, day: i32) {
    let session = session_id(g.w, c.ui, day, 0);
    let dev = Some(c.laptop);
    let mut t = plan.start + g.rng.random_range(2..12) * MIN;
    if g.rng.random_bool(0.05) {
        for _ in 0..g.rng.random_range(1..=2) {
            let fail = Some("INVALID_CREDENTIALS");
            g.okta(
                t,
                OktaKind::SessionStart,
                c.ui,
                c.public,
                c.ua,
                dev,
                0,
                None,
                fail,
            );
            t += g.rng.random_range(60..300) * SEC;
        }
    }
    if g.rng.random_bool(0.7) {
        g.okta(
            t,
            OktaKind::PushSend,
            c.ui,
            c.public,
            c.ua,
            dev,
            session,
            None,
            None,
        );
        t += g.rng.random_range(5..40) * SEC;
        g.okta(
            t,
            OktaKind::AuthViaMfa,
            c.ui,
            c.public,
            c.ua,
            dev,
            session,
            None,
            None,
        );
        t += 2 * SEC;
    }
    g.okta(
        t,
        OktaKind::SessionStart,
        c.ui,
        c.public,
        c.ua,
        dev,
        session,
        None,
        None,
    );
    let apps = g.w.users[c.ui as usize].apps.clone();
    for _ in 0..g.rng.random_range(3..=12) {
        let at = g.between(t + 10 * SEC, plan.end);
        let app = apps.choose(&mut g.rng).copied();
        g.okta(
            at,
            OktaKind::Sso,
            c.ui,
            c.public,
            c.ua,
            dev,
            session,
            app,
            None,
        );
    }
    if g.rng.random_bool(0.25) {
        g.okta(
            plan.end,
            OktaKind::SessionEnd,
            c.ui,
            c.public,
            c.ua,
            dev,
            session,
            None,
            None,
        );
    }
}

/// A short weekend session from home.
fn okta_light(g: &mut Gen<'_>, c: &Ctx, plan: &DayPlan, day: i32) {
    let session = session_id(g.w, c.ui, day, 0);
    let dev = Some(c.laptop);
    let t = plan.start;
    g.okta(
        t,
        OktaKind::SessionStart,
        c.ui,
        c.public,
        c.ua,
        dev,
        session,
        None,
        None,
    );
    for _ in 0..g.rng.random_range(1..=3) {
        let at = g.between(t + 10 * SEC, plan.end);
        g.okta(
            at,
            OktaKind::Sso,
            c.ui,
            c.public,
            c.ua,
            dev,
            session,
            Some(0),
            None,
        );
    }
}

/// A lunchtime session on the phone over the mobile network.
fn phone_session(g: &mut Gen<'_>, c: &Ctx, plan: &DayPlan, day: i32) {
    let Some(phone) = g.w.users[c.ui as usize].phone else {
        return;
    };
    if !g.rng.random_bool(0.35) {
        return;
    }
    let session = session_id(g.w, c.ui, day, 1);
    let city = c.public.1;
    let carrier = public_ip(city, 0x8000 | (g.rng.random::<u64>() & 0x7fff));
    let ua = g.w.devices[phone as usize].ua;
    let at = (carrier, city);
    let mid = (plan.start + plan.end) / 2;
    let t = g.between(mid - 60 * MIN, mid + 60 * MIN);
    g.okta(
        t,
        OktaKind::SessionStart,
        c.ui,
        at,
        ua,
        Some(phone),
        session,
        None,
        None,
    );
    for _ in 0..g.rng.random_range(1..=3) {
        let app = [0, 1].choose(&mut g.rng).copied();
        let t2 = t + g.rng.random_range(1..30) * MIN;
        g.okta(
            t2,
            OktaKind::Sso,
            c.ui,
            at,
            ua,
            Some(phone),
            session,
            app,
            None,
        );
    }
}

/// Servers reached today: admins a fixed share of theirs per weekday (the
/// same ones every week), everyone else a few of their usual ones.
fn todays_servers(g: &mut Gen<'_>, list: &[u32], day: i32, admin: bool) -> Vec<u32> {
    if list.is_empty() {
        return Vec::new();
    }
    if admin {
        let wd = g.w.date(day).weekday().num_days_from_monday();
        return list.iter().copied().filter(|s| s % 5 == wd % 5).collect();
    }
    let n = g.rng.random_range(1..=list.len().min(4));
    (0..n)
        .filter_map(|_| list.choose(&mut g.rng).copied())
        .collect()
}

/// Network logons to the day's servers, with their tickets and traffic;
/// legacy RC4 tickets and NTLM now and then.
fn server_access(g: &mut Gen<'_>, c: &Ctx, plan: &DayPlan, day: i32) {
    let u = &g.w.users[c.ui as usize];
    let admin = DEPTS[u.dept].admin;
    let servers = todays_servers(g, &u.servers.clone(), day, admin);
    let dc = Host::Srv(g.dc());
    let ws = Host::Dev(c.laptop);
    let user = Acct::User(c.ui);
    for s in servers {
        let t = g.between(plan.start + 15 * MIN, plan.end - 30 * MIN);
        network_logon(g, c, t, s, dc, ws, user);
    }
    let legacy_p = if DEPTS[u.dept].name == "finance" {
        0.25
    } else {
        0.03
    };
    if g.rng.random_bool(legacy_p) {
        let legacy = [8u8, 9, 10, 23].choose(&mut g.rng).copied().unwrap_or(8);
        let t = g.between(plan.start, plan.end);
        g.win(t, 4769, dc, user, |x| {
            x.ip = Some(c.lan);
            x.service = Some(Acct::Svc(legacy));
            x.enc = 0x17;
        });
    }
    if g.rng.random_bool(0.1) {
        let t = g.between(plan.start, plan.end);
        g.win(t, 4776, dc, user, |x| x.workstation = Some(ws));
    }
}

/// One network logon to server `s`: ticket, 4624 type 3, SMB, logoff.
pub(crate) fn network_logon(
    g: &mut Gen<'_>,
    c: &Ctx,
    t: i64,
    s: u32,
    dc: Host,
    ws: Host,
    user: Acct,
) {
    let host = Host::Srv(s);
    g.win(t, 4769, dc, user, |x| {
        x.ip = Some(c.lan);
        x.service = Some(Acct::Machine(host));
    });
    let logon_id = g.rng.random_range(0x10_0000..0x7fff_ffff);
    g.win(t + 300, 4624, host, user, |x| {
        x.ip = Some(c.lan);
        x.workstation = Some(ws);
        x.logon_id = logon_id;
    });
    let dst = g.w.servers[s as usize].ip;
    let bytes = (
        g.rng.random_range(2_000..400_000),
        g.rng.random_range(5_000..4_000_000),
    );
    let dur = g.rng.random_range(200..600_000);
    g.conn(t + 250, c.lan, dst, 445, Svc::Smb, bytes, dur, State::Sf);
    let off = t + 300 + g.rng.random_range(1..45) * MIN;
    g.win(off, 4634, host, user, |x| x.logon_id = logon_id);
}

/// ssh sessions of engineers and admins to their Linux servers.
fn ssh_day(g: &mut Gen<'_>, c: &Ctx, plan: &DayPlan, day: i32) {
    let u = &g.w.users[c.ui as usize];
    if u.linux.is_empty() {
        return;
    }
    let admin = DEPTS[u.dept].admin;
    let mut hosts = todays_servers(g, &u.linux.clone(), day, admin);
    if !admin {
        hosts.truncate(g.rng.random_range(1..=3));
    }
    for s in hosts {
        let t = g.between(plan.start + 20 * MIN, plan.end - 20 * MIN);
        ssh_session(g, c.lan, t, s, SshUser::User(c.ui));
    }
}

/// One ssh login (a mistyped password first now and then), its session
/// and its connection.
pub(crate) fn ssh_session(g: &mut Gen<'_>, from: Ipv4Addr, t: i64, s: u32, user: SshUser) {
    let pid = g.rng.random_range(2000..60000);
    let mut kind = SshKind::AcceptedKey;
    if g.rng.random_bool(0.05) {
        g.ssh(t - 20 * SEC, SshKind::FailedPassword, s, user, from, pid);
        kind = SshKind::AcceptedPassword;
    }
    g.ssh(t, kind, s, user, from, pid);
    g.ssh(t + 30, SshKind::SessionOpened, s, user, from, pid);
    let len = g.rng.random_range(2..90) * MIN;
    g.ssh(t + len, SshKind::SessionClosed, s, user, from, pid);
    let dst = g.w.servers[s as usize].ip;
    let bytes = (
        g.rng.random_range(3_000..90_000),
        g.rng.random_range(5_000..900_000),
    );
    g.conn(
        t - SEC,
        from,
        dst,
        22,
        Svc::Ssh,
        bytes,
        len as u32,
        State::Sf,
    );
}

/// DNS, web, Kerberos and LDAP traffic of the laptop.
fn traffic(g: &mut Gen<'_>, c: &Ctx, plan: &DayPlan) {
    let dcs = g.w.role_servers(&[Role::Dc]);
    let dc_ip = |g: &mut Gen<'_>| {
        let s = dcs.choose(&mut g.rng).copied().unwrap_or(0);
        g.w.servers[s as usize].ip
    };
    for _ in 0..g.rng.random_range(8..20) {
        let t = g.between(plan.start, plan.end);
        let dst = dc_ip(g);
        let bytes = (g.rng.random_range(30..80), g.rng.random_range(60..400));
        g.conn(t, c.lan, dst, 53, Svc::Dns, bytes, 3, State::Sf);
    }
    let usual = 6 + (c.ui as usize % 7);
    for _ in 0..g.rng.random_range(10..35) {
        let t = g.between(plan.start, plan.end);
        let k = g.rng.random_range(0..usual.min(SAAS.len()));
        let dst = saas_ip(k, g.rng.random_range(1..30));
        let up = g.rng.random_bool(0.04);
        let out = if up {
            g.rng.random_range(200_000..3_000_000)
        } else {
            g.rng.random_range(600..40_000)
        };
        let bytes = (out, g.rng.random_range(2_000..2_500_000));
        let dur = g.rng.random_range(100..300_000);
        let state = if g.rng.random_bool(0.03) {
            State::Rsto
        } else {
            State::Sf
        };
        g.conn(t, c.lan, dst, 443, Svc::Ssl, bytes, dur, state);
    }
    for port in [88, 389] {
        for _ in 0..g.rng.random_range(1..4) {
            let t = g.between(plan.start, plan.end);
            let dst = dc_ip(g);
            let svc = if port == 88 { Svc::Krb } else { Svc::Ldap };
            let bytes = (
                g.rng.random_range(1_200..3_000),
                g.rng.random_range(1_500..6_000),
            );
            g.conn(t, c.lan, dst, port, svc, bytes, 40, State::Sf);
        }
    }
}

/// An osquery disk-encryption snapshot on most days, a new listening port
/// now and then.
fn osquery(g: &mut Gen<'_>, c: &Ctx, plan: &DayPlan, marks: Marks) {
    let device = c.laptop;
    if g.rng.random_bool(0.6) {
        let t = g.between(plan.start + 30 * MIN, plan.start + 120 * MIN);
        let encrypted = marks.noncompliant == 0;
        g.push(
            t,
            Body::Osq(Osq {
                device,
                encrypted,
                port: None,
            }),
        );
    }
    if g.rng.random_bool(0.05) {
        let t = g.between(plan.start, plan.end);
        let port = [3000, 5000, 8000, 8080, 8443].choose(&mut g.rng).copied();
        g.push(
            t,
            Body::Osq(Osq {
                device,
                encrypted: true,
                port,
            }),
        );
    }
}

/// The servers' own rhythms on `day`: the nightly backup, monitoring,
/// deployments, internet visitors of the DMZ web servers, and the
/// internet's background of ssh guessing at the bastion.
pub(crate) fn servers_day(w: &World, day: i32, out: &mut Vec<Ev>) {
    let mut g = Gen {
        w,
        rng: stream(w.seed, Stream::ServerDay, 0, day),
        out,
        tag: 0,
    };
    let midnight = w.day_ms(day);
    backup(&mut g, midnight);
    monitoring(&mut g, midnight);
    deploys(&mut g, midnight);
    web_visitors(&mut g, midnight);
    ssh_background(&mut g, midnight);
}

fn svc_index(name: &str) -> u8 {
    SERVICE_ACCOUNTS
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or(0) as u8
}

/// The backup server pulls every Windows server at night and pushes the
/// lot to storage: tens of GB out, every night.
fn backup(g: &mut Gen<'_>, midnight: i64) {
    let (Some(&bkp), Some(&stor)) = (
        g.w.role_servers(&[Role::Backup]).first(),
        g.w.role_servers(&[Role::Storage]).first(),
    ) else {
        return;
    };
    let svc = Acct::Svc(svc_index("svc_backup"));
    let bkp_ip = g.w.servers[bkp as usize].ip;
    let windows: Vec<u32> = (0..g.w.servers.len() as u32)
        .filter(|&s| g.w.servers[s as usize].is_windows() && s != bkp)
        .collect();
    let mut t = midnight + 60 * MIN + g.rng.random_range(0..120_000);
    for s in windows {
        let host = Host::Srv(s);
        let logon_id = g.rng.random_range(0x10_0000..0x7fff_ffff);
        g.win(t, 4624, host, svc, |x| {
            x.ip = Some(bkp_ip);
            x.workstation = Some(Host::Srv(bkp));
            x.logon_id = logon_id;
        });
        g.win(t + 4 * MIN, 4634, host, svc, |x| x.logon_id = logon_id);
        t += g.rng.random_range(2..20) * SEC;
    }
    let stor_ip = g.w.servers[stor as usize].ip;
    for _ in 0..g.rng.random_range(1..=3) {
        let bytes = g.rng.random_range(20_000_000_000..45_000_000_000u64);
        let dur = g.rng.random_range(3_000_000..7_000_000);
        g.conn(
            t,
            bkp_ip,
            stor_ip,
            445,
            Svc::Smb,
            (bytes, bytes / 2000),
            dur,
            State::Sf,
        );
        t += 90 * SEC;
    }
}

/// The monitoring server checks every server every two hours.
fn monitoring(g: &mut Gen<'_>, midnight: i64) {
    let Some(&mon) = g.w.role_servers(&[Role::Monitor]).first() else {
        return;
    };
    let src = g.w.servers[mon as usize].ip;
    for h in (0..24).step_by(2) {
        for s in 0..g.w.servers.len() {
            let srv = &g.w.servers[s];
            let (port, svc) = if srv.is_windows() {
                (5985, Svc::Http)
            } else {
                (22, Svc::Ssh)
            };
            let dst = srv.ip;
            let t = midnight + h * 60 * MIN + (s as i64 * 997) % (10 * MIN);
            let bytes = (g.rng.random_range(300..900), g.rng.random_range(400..3000));
            g.conn(t, src, dst, port, svc, bytes, 120, State::Sf);
        }
    }
}

/// The build server deploys to the Linux app servers every four hours.
fn deploys(g: &mut Gen<'_>, midnight: i64) {
    let Some(&build) = g.w.role_servers(&[Role::Build]).first() else {
        return;
    };
    let from = g.w.servers[build as usize].ip;
    let deploy = SshUser::Svc(svc_index("svc_deploy"));
    for h in (2..24).step_by(4) {
        for s in g.w.role_servers(&[Role::Linux]) {
            let t = midnight + h * 60 * MIN + g.rng.random_range(0..300_000);
            ssh_session(g, from, t, s, deploy);
        }
    }
}

/// Internet clients of the DMZ web servers.
fn web_visitors(g: &mut Gen<'_>, midnight: i64) {
    let web = g.w.role_servers(&[Role::Web]);
    for s in web {
        let dst = g.w.servers[s as usize].ip;
        for _ in 0..g.rng.random_range(40..120) {
            let t = midnight + g.rng.random_range(0..86_400_000);
            let city = g.rng.random_range(0..11);
            let src = public_ip(city, g.rng.random());
            let bytes = (
                g.rng.random_range(400..4_000),
                g.rng.random_range(2_000..200_000),
            );
            g.conn(t, src, dst, 443, Svc::Ssl, bytes, 900, State::Sf);
        }
    }
}

/// A few internet hosts trying common names at the bastion, none getting
/// in: the noise every exposed sshd sees.
fn ssh_background(g: &mut Gen<'_>, midnight: i64) {
    let Some(&bastion) = g.w.role_servers(&[Role::Bastion]).first() else {
        return;
    };
    const NAMES: &[&str] = &[
        "admin", "root", "test", "oracle", "ubuntu", "user", "git", "pi",
    ];
    for _ in 0..g.rng.random_range(1..4) {
        let city = g.rng.random_range(11..CITIES.len());
        let ip = public_ip(city, g.rng.random());
        let mut t = midnight + g.rng.random_range(0..86_000_000);
        for _ in 0..g.rng.random_range(1..4) {
            let name = NAMES.choose(&mut g.rng).copied().unwrap_or("admin");
            let pid = g.rng.random_range(2000..60000);
            g.ssh(
                t,
                SshKind::InvalidUser,
                bastion,
                SshUser::Name(name),
                ip,
                pid,
            );
            g.ssh(
                t + 800,
                SshKind::FailedInvalid,
                bastion,
                SshUser::Name(name),
                ip,
                pid,
            );
            t += g.rng.random_range(2..30) * SEC;
        }
    }
}
