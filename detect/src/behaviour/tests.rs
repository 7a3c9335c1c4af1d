use vigil_schemas::{BatchBuilder, Class, Field};

use super::*;

const T0: i64 = 1_793_000_000_000_000; // 2026-10-25, a Sunday

/// One authentication event, as a decoder would write it.
#[derive(Clone, Default)]
struct Ev {
    t: i64,
    product: &'static str,
    code: &'static str,
    user: &'static str,
    ok: bool,
    activity: i64,
    ip: &'static str,
    country: Option<&'static str>,
    place: Option<(f64, f64)>,
    device: Option<&'static str>,
    session: Option<&'static str>,
    logon_type: Option<i64>,
    host: Option<&'static str>,
    service: Option<&'static str>,
    enc: Option<&'static str>,
    mfa: bool,
    uid: String,
}

fn okta(t: i64, user: &'static str, ok: bool, ip: &'static str) -> Ev {
    Ev {
        t,
        product: "Okta",
        code: "user.session.start",
        user,
        ok,
        activity: 1,
        ip,
        uid: format!("ev-{t}-{user}"),
        ..Ev::default()
    }
}

fn auth_batch(evs: &[Ev]) -> RecordBatch {
    let mut b = BatchBuilder::new(Class::Authentication);
    for e in evs {
        let mut r = b.row();
        r.time_us(Field::Time, e.t);
        r.str(Field::MetadataProductName, e.product);
        r.str(Field::MetadataEventCode, e.code);
        r.str(Field::UserName, e.user);
        r.int(Field::StatusId, if e.ok { 1 } else { 2 });
        r.int(Field::ActivityId, e.activity);
        r.str(Field::SrcEndpointIp, e.ip);
        r.str(Field::EventUid, &e.uid);
        if let Some(c) = e.country {
            r.str(Field::SrcEndpointLocationCountry, c);
            r.str(Field::SrcEndpointLocationCity, "City");
        }
        if let Some((la, lo)) = e.place {
            r.float(Field::SrcEndpointLocationLat, la);
            r.float(Field::SrcEndpointLocationLong, lo);
        }
        if let Some(s) = e.session {
            r.str(Field::ActorSessionUid, s);
        }
        if let Some(l) = e.logon_type {
            r.int(Field::LogonTypeId, l);
        }
        if let Some(h) = e.host {
            r.str(Field::DeviceHostname, h);
        }
        if let Some(s) = e.service {
            r.str(Field::ServiceName, s);
        }
        if e.mfa {
            r.bool(Field::IsMfa, true);
        }
        if let Some(d) = e.device {
            if e.product == "Okta" {
                r.unmapped("device.name", d);
            } else {
                r.str(Field::SrcEndpointHostname, d);
            }
        }
        if let Some(x) = e.enc {
            r.unmapped("TicketEncryptionType", x);
        }
    }
    b.finish()
}

fn flow_batch(flows: &[(i64, &str, &str, i64, i64)]) -> RecordBatch {
    let mut b = BatchBuilder::new(Class::NetworkActivity);
    for (t, s, d, port, bytes) in flows {
        let mut r = b.row();
        r.time_us(Field::Time, *t);
        r.str(Field::SrcEndpointIp, s);
        r.str(Field::DstEndpointIp, d);
        r.int(Field::DstEndpointPort, *port);
        r.int(Field::TrafficBytesOut, *bytes);
    }
    b.finish()
}

/// The signals a batch raised: (analytic id, entity type, entity id).
fn signals(b: &mut Behaviour, class: Class, batch: &RecordBatch) -> Vec<(String, String, String)> {
    let out = b.detect(class, batch).expect("detect in test");
    let mut v = Vec::new();
    for (c, f) in out {
        assert_eq!(c, Class::DetectionFinding);
        let a = Text::new(&f, "finding_info_analytic_uid");
        let k = Text::new(&f, "entity_type");
        let i = Text::new(&f, "entity_id");
        for r in 0..f.num_rows() {
            v.push((
                a.get(r).expect("get in test").to_string(),
                k.get(r).expect("get in test").to_string(),
                i.get(r).expect("get in test").to_string(),
            ));
        }
    }
    v
}

fn kinds(v: &[(String, String, String)]) -> Vec<&str> {
    v.iter().map(|s| s.0.as_str()).collect()
}

#[test]
fn success_after_many_failures_is_brute_force_and_a_typo_is_not() {
    let mut b = Behaviour::new(BehaviourConfig::default());
    // alice mistypes twice, then signs in.
    let mut evs = vec![
        okta(T0, "alice@corp.example", false, "198.51.100.1"),
        okta(T0 + MINUTE, "alice@corp.example", false, "198.51.100.1"),
        okta(T0 + 2 * MINUTE, "alice@corp.example", true, "198.51.100.1"),
    ];
    // bob: 8 failures in 4 minutes from one address, then a success.
    for i in 0..8 {
        evs.push(okta(T0 + i * 30_000_000, "CORP\\bob", false, "203.0.113.9"));
    }
    evs.push(okta(
        T0 + 5 * MINUTE,
        "bob@corp.example",
        true,
        "203.0.113.9",
    ));
    let got = signals(&mut b, Class::Authentication, &auth_batch(&evs));
    assert_eq!(
        got,
        vec![(
            "vigil.baseline.brute_force_success".to_string(),
            "user".to_string(),
            "bob".to_string()
        )]
    );
}

#[test]
fn one_source_failing_as_many_users_is_a_spray_raised_once() {
    const USERS: [&str; 14] = [
        "u01", "u02", "u03", "u04", "u05", "u06", "u07", "u08", "u09", "u10", "u11", "u12", "u13",
        "u14",
    ];
    let mut b = Behaviour::new(BehaviourConfig::default());
    let evs: Vec<Ev> = USERS
        .iter()
        .enumerate()
        .map(|(i, u)| okta(T0 + i as i64 * 20_000_000, u, false, "203.0.113.50"))
        .collect();
    let got = signals(&mut b, Class::Authentication, &auth_batch(&evs));
    assert_eq!(
        got,
        vec![(
            "vigil.baseline.password_spray".to_string(),
            "ip".to_string(),
            "203.0.113.50".to_string()
        )]
    );
}

#[test]
fn sign_ins_too_far_apart_for_the_time_between_are_impossible_travel() {
    let london = (51.5074, -0.1278);
    let lagos = (6.5244, 3.3792);
    let mut b = Behaviour::new(BehaviourConfig::default());
    let mut first = okta(T0, "carol", true, "198.51.100.7");
    first.place = Some(london);
    let mut second = okta(T0 + 40 * MINUTE, "carol", true, "203.0.113.77");
    second.place = Some(lagos);
    let got = signals(&mut b, Class::Authentication, &auth_batch(&[first, second]));
    assert_eq!(kinds(&got), vec!["vigil.baseline.impossible_travel"]);

    // The same trip in nine hours is a flight.
    let mut b = Behaviour::new(BehaviourConfig::default());
    let mut first = okta(T0, "dave", true, "198.51.100.7");
    first.place = Some(london);
    let mut second = okta(T0 + 9 * HOUR, "dave", true, "203.0.113.77");
    second.place = Some(lagos);
    let got = signals(&mut b, Class::Authentication, &auth_batch(&[first, second]));
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn new_country_and_device_fire_only_once_the_user_is_known() {
    let mut b = Behaviour::new(BehaviourConfig::default());
    let mut home = okta(T0, "erin", true, "198.51.100.8");
    home.country = Some("GB");
    home.device = Some("WS-001");
    // The first day is learning: a second country on day 1 is not news.
    let mut day1 = okta(T0 + DAY, "erin", true, "198.51.100.9");
    day1.country = Some("FR");
    day1.device = Some("ws-001");
    // Day 3: a new country alone, then a new device with another new country.
    let mut day3 = okta(T0 + 3 * DAY, "erin", true, "198.51.100.10");
    day3.country = Some("DE");
    day3.device = Some("ws-001");
    let mut day4 = okta(T0 + 4 * DAY, "erin", true, "203.0.113.10");
    day4.country = Some("BR");
    day4.device = Some("unknown-pc");
    let got = signals(
        &mut b,
        Class::Authentication,
        &auth_batch(&[home, day1, day3, day4]),
    );
    assert_eq!(
        kinds(&got),
        vec![
            "vigil.baseline.new_country",
            "vigil.baseline.new_device_new_country"
        ]
    );
}

#[test]
fn many_rc4_service_tickets_are_kerberoasting_and_aes_ones_are_not() {
    let services = [
        "svc-sql",
        "svc-web",
        "svc-backup",
        "svc-crm",
        "svc-erp",
        "svc-hr",
    ];
    let mut evs = Vec::new();
    for (i, s) in services.iter().enumerate() {
        for (user, enc) in [("frank", "0x17"), ("gina", "0x12")] {
            evs.push(Ev {
                t: T0 + i as i64 * 10_000_000,
                product: "Windows Security",
                code: "4769",
                user,
                ok: true,
                activity: 4,
                ip: "10.0.0.5",
                service: Some(s),
                enc: Some(enc),
                uid: format!("k-{i}-{user}"),
                ..Ev::default()
            });
        }
    }
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::Authentication, &auth_batch(&evs));
    assert_eq!(
        got,
        vec![(
            "vigil.baseline.kerberoasting".to_string(),
            "user".to_string(),
            "frank".to_string()
        )]
    );
}

#[test]
fn logons_to_many_new_hosts_are_lateral_movement() {
    let hosts = ["srv-01", "srv-02", "srv-03", "srv-04", "srv-05", "srv-06"];
    let logon = |t: i64, host: &'static str| Ev {
        t,
        product: "Windows Security",
        code: "4624",
        user: "harry",
        ok: true,
        activity: 1,
        ip: "10.0.0.8",
        logon_type: Some(3),
        host: Some(host),
        device: Some("ws-harry"),
        uid: format!("l-{t}-{host}"),
        ..Ev::default()
    };
    let mut evs = vec![logon(T0, "fs-01")];
    for day in 1..4 {
        evs.push(logon(T0 + day * DAY, "fs-01"));
    }
    for (i, h) in hosts.iter().enumerate() {
        evs.push(logon(T0 + 4 * DAY + i as i64 * 5 * MINUTE, h));
    }
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::Authentication, &auth_batch(&evs));
    assert_eq!(kinds(&got), vec!["vigil.baseline.lateral_movement"]);
}

#[test]
fn many_ports_are_a_port_scan_and_many_hosts_a_host_scan() {
    let mut flows = Vec::new();
    for p in 0..150 {
        flows.push((T0 + p * 1_000_000, "10.0.0.66", "10.0.1.1", 1000 + p, 0));
    }
    for h in 0..60 {
        let dst: &'static str = Box::leak(format!("10.0.2.{h}").into_boxed_str());
        flows.push((T0 + h * 1_000_000, "10.0.0.77", dst, 445, 0));
    }
    flows.sort_by_key(|f| f.0);
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::NetworkActivity, &flow_batch(&flows));
    let mut got: Vec<(&str, &str)> = got.iter().map(|s| (s.0.as_str(), s.2.as_str())).collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("vigil.baseline.host_scan", "10.0.0.77"),
            ("vigil.baseline.port_scan", "10.0.0.66")
        ]
    );
}

/// 10.0.0.88 sweeps 74 hosts at one every 9 s from 14:34:46: no clock-
/// aligned 10-minute window holds 40 of them, but the sliding 15 minutes
/// do. 10.0.0.99 touches 30 hosts every hour as its job, so the same
/// count is its normal and nothing fires for it.
#[test]
fn a_scan_across_window_boundaries_is_found_and_a_busy_sources_normal_is_not() {
    let mut flows = Vec::new();
    let dst = |h: i64| -> &'static str { Box::leak(format!("10.0.3.{h}").into_boxed_str()) };
    let start = T0 + 14 * HOUR + 34 * MINUTE + 46_000_000;
    for h in 0..74 {
        flows.push((start + h * 9_000_000, "10.0.0.88", dst(h), 445, 0));
    }
    for hour in 0..30 {
        for h in 0..30 {
            let t = T0 + hour * HOUR + h * 10_000_000;
            flows.push((t, "10.0.0.99", dst(h + 100), 443, 0));
        }
    }
    flows.sort_by_key(|f| f.0);
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::NetworkActivity, &flow_batch(&flows));
    let got: Vec<(&str, &str)> = got.iter().map(|s| (s.0.as_str(), s.2.as_str())).collect();
    // 10.0.0.99's first sweep, before it has a normal, is a scan.
    assert_eq!(
        got,
        vec![
            ("vigil.baseline.host_scan", "10.0.0.99"),
            ("vigil.baseline.host_scan", "10.0.0.88"),
        ]
    );
}

#[test]
fn regular_connections_to_a_lonely_destination_are_beaconing() {
    let mut flows = Vec::new();
    for i in 0..12 {
        // every 60 s ± 2 s to a destination nobody else uses
        let jitter = [0, 2_000_000, -1_000_000][i as usize % 3];
        flows.push((
            T0 + i * 60_000_000 + jitter,
            "10.0.0.9",
            "198.51.100.200",
            443,
            300,
        ));
        // irregular browsing to a popular site
        flows.push((
            T0 + i * i * 7_000_000,
            "10.0.0.10",
            "203.0.113.1",
            443,
            9000,
        ));
    }
    flows.sort_by_key(|f| f.0);
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::NetworkActivity, &flow_batch(&flows));
    assert_eq!(
        got,
        vec![(
            "vigil.baseline.beaconing".to_string(),
            "ip".to_string(),
            "10.0.0.9".to_string()
        )]
    );
}

#[test]
fn bytes_out_far_above_the_hosts_own_hours_are_exfiltration() {
    let mut flows = Vec::new();
    // Three days of about 2 MB an hour to the internet, at irregular times.
    for h in 0..72 {
        let jitter = (h * 7919 % 1800) * 1_000_000;
        flows.push((
            T0 + h * HOUR + jitter,
            "10.0.0.20",
            "203.0.113.5",
            443,
            2_000_000,
        ));
    }
    // Then 600 MB within one hour.
    for i in 0..3 {
        flows.push((
            T0 + 72 * HOUR + i * MINUTE,
            "10.0.0.20",
            "198.51.100.99",
            443,
            200_000_000,
        ));
    }
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::NetworkActivity, &flow_batch(&flows));
    assert_eq!(kinds(&got), vec!["vigil.baseline.exfiltration"]);
}

#[test]
fn sign_in_from_a_noncompliant_device_is_a_device_signal() {
    let mut posture = BatchBuilder::new(Class::DevicePosture);
    for (t, ok) in [(T0, true), (T0 + HOUR, false)] {
        let mut r = posture.row();
        r.time_us(Field::Time, t);
        r.str(Field::DeviceHostname, "WS-042");
        r.bool(Field::DeviceIsCompliant, ok);
        r.bool(Field::DeviceIsEncrypted, ok);
    }
    let posture = posture.finish();
    let mut b = Behaviour::new(BehaviourConfig::default());
    assert!(signals(&mut b, Class::DevicePosture, &posture).is_empty());
    let mut before = okta(T0 + 30 * MINUTE, "ivy", true, "198.51.100.3");
    before.device = Some("ws-042");
    let mut after = okta(T0 + 2 * HOUR, "ivy", true, "198.51.100.3");
    after.device = Some("ws-042");
    let got = signals(&mut b, Class::Authentication, &auth_batch(&[before, after]));
    assert_eq!(
        got,
        vec![(
            "vigil.baseline.noncompliant_device".to_string(),
            "device".to_string(),
            "ws-042".to_string()
        )]
    );
}

#[test]
fn a_success_after_a_week_of_silence_is_a_dormant_account() {
    let mut b = Behaviour::new(BehaviourConfig::default());
    let evs = [
        okta(T0, "jack", true, "198.51.100.4"),
        okta(T0 + 3 * DAY, "kim", true, "198.51.100.4"),
        okta(T0 + 6 * DAY, "kim", true, "198.51.100.4"),
        okta(T0 + 11 * DAY, "jack", true, "198.51.100.4"),
    ];
    let got = signals(&mut b, Class::Authentication, &auth_batch(&evs));
    assert_eq!(
        got,
        vec![(
            "vigil.baseline.dormant_account".to_string(),
            "user".to_string(),
            "jack".to_string()
        )]
    );
}

#[test]
fn denied_pushes_then_an_accepted_one_are_mfa_fatigue() {
    let mut evs = vec![okta(T0, "lee", true, "203.0.113.30")];
    for i in 1..=6 {
        let mut e = okta(T0 + i * MINUTE, "lee", false, "203.0.113.30");
        e.code = "user.mfa.okta_verify.deny_push";
        e.mfa = true;
        evs.push(e);
    }
    let mut ok = okta(T0 + 8 * MINUTE, "lee", true, "203.0.113.30");
    ok.code = "user.authentication.auth_via_mfa";
    ok.mfa = true;
    evs.push(ok);
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::Authentication, &auth_batch(&evs));
    // Raised at the fourth denial; the acceptance falls in the cooldown.
    assert_eq!(kinds(&got), vec!["vigil.baseline.mfa_fatigue"]);
}

#[test]
fn one_session_from_two_countries_is_a_hijack() {
    let mut a = okta(T0, "mia", true, "198.51.100.5");
    a.session = Some("idx-1");
    a.country = Some("US");
    a.place = Some((40.71, -74.0));
    let mut same = okta(T0 + 5 * MINUTE, "mia", true, "198.51.100.5");
    same.session = Some("idx-1");
    same.country = Some("US");
    same.place = Some((40.71, -74.0));
    let mut b_ = okta(T0 + 20 * MINUTE, "mia", true, "203.0.113.44");
    b_.session = Some("idx-1");
    b_.country = Some("RO");
    b_.place = Some((44.43, 26.1));
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::Authentication, &auth_batch(&[a, same, b_]));
    let mut k = kinds(&got);
    k.sort_unstable();
    assert_eq!(
        k,
        vec![
            "vigil.baseline.impossible_travel",
            "vigil.baseline.session_hijack"
        ]
    );
}

#[test]
fn state_is_bounded_per_entity() {
    let mut b = Behaviour::new(BehaviourConfig::default());
    // One user signing in from 500 countries and devices keeps at most
    // the caps.
    let evs: Vec<Ev> = (0..500)
        .map(|i| {
            let mut e = okta(T0 + i * MINUTE, "noah", true, "198.51.100.6");
            e.country = Some(Box::leak(format!("C{i}").into_boxed_str()));
            e.device = Some(Box::leak(format!("d{i}").into_boxed_str()));
            e
        })
        .collect();
    let _ = b
        .detect(Class::Authentication, &auth_batch(&evs))
        .expect("valid in test");
    let u = &b.state().users["noah"];
    assert_eq!(u.countries.len(), CAP_COUNTRIES);
    assert_eq!(u.devices.len(), CAP_DEVICES);
    let (bytes, entities) = b.state_bytes();
    assert_eq!(entities, 2, "the user and the address");
    assert!(bytes < 12_000, "{bytes} bytes for one user and one address");
}

#[test]
fn state_survives_a_checkpoint_round_trip() {
    let mut b = Behaviour::new(BehaviourConfig::default());
    let _ = b
        .detect(
            Class::Authentication,
            &auth_batch(&[okta(T0, "olga", true, "198.51.100.2")]),
        )
        .expect("valid in test");
    let json = serde_json::to_string(b.state()).expect("valid in test");
    let back: BehaviourState = serde_json::from_str(&json).expect("from_str in test");
    let mut b2 = Behaviour::with_state(BehaviourConfig::default(), back);
    // The restored state knows olga: a success 10 days later is dormancy.
    let got = signals(
        &mut b2,
        Class::Authentication,
        &auth_batch(&[okta(T0 + 10 * DAY, "olga", true, "198.51.100.2")]),
    );
    assert_eq!(kinds(&got), vec!["vigil.baseline.dormant_account"]);
}

#[test]
fn typos_behind_a_busy_office_address_are_not_a_spray() {
    let users: Vec<&'static str> = (0..40)
        .map(|i| &*Box::leak(format!("user{i:02}").into_boxed_str()))
        .collect();
    let mut evs = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let t = T0 + i as i64 * 20_000_000;
        if i % 4 == 0 {
            evs.push(okta(t, u, false, "198.51.100.1"));
        }
        evs.push(okta(t + 10_000_000, u, true, "198.51.100.1"));
    }
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::Authentication, &auth_batch(&evs));
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn a_spray_from_a_workstation_without_an_address_names_the_workstation() {
    // The purplesharp shape: 4625s with no IpAddress, WorkstationName set.
    let users = [
        "lrodriguez",
        "pgustavo",
        "sysmonsvc",
        "sbeavers",
        "mscott",
        "pbeesly",
        "nxlogsvc",
    ];
    let evs: Vec<Ev> = users
        .iter()
        .enumerate()
        .map(|(i, u)| Ev {
            t: T0 + i as i64 * 2_000,
            product: "Windows Security",
            code: "4625",
            user: u,
            ok: false,
            activity: 1,
            ip: "-",
            logon_type: Some(3),
            device: Some("WORKSTATION5"),
            uid: format!("s-{i}"),
            ..Ev::default()
        })
        .collect();
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::Authentication, &auth_batch(&evs));
    assert_eq!(
        got,
        vec![(
            "vigil.baseline.password_spray".to_string(),
            "device".to_string(),
            "workstation5".to_string()
        )]
    );
}

/// An event far behind its own stream's newest is left out of the
/// baselines and counted; another stream's clock does not make it late.
#[test]
fn events_behind_their_stream_are_late_and_counted() {
    let flows = vec![
        (T0 + 2 * HOUR, "10.0.0.5", "10.0.1.1", 443, 0),
        (T0 + 2 * HOUR - 5 * MINUTE, "10.0.0.5", "10.0.1.2", 443, 0),
        (T0, "10.0.0.5", "10.0.1.3", 443, 0),
    ];
    let mut b = Behaviour::new(BehaviourConfig::default());
    let _ = signals(&mut b, Class::NetworkActivity, &flow_batch(&flows));
    let late = b
        .counters()
        .into_iter()
        .find(|(k, _)| *k == "late")
        .map(|(_, v)| v);
    assert_eq!(late, Some(1));
    // A sign-in an hour behind the flows is on time for its own stream.
    let evs = vec![Ev {
        t: T0 + HOUR,
        product: "Okta",
        user: "ann",
        ok: true,
        activity: 1,
        ip: "10.0.0.5",
        uid: "a-1".to_string(),
        ..Ev::default()
    }];
    let _ = signals(&mut b, Class::Authentication, &auth_batch(&evs));
    let late = b
        .counters()
        .into_iter()
        .find(|(k, _)| *k == "late")
        .map(|(_, v)| v);
    assert_eq!(late, Some(1));
}

/// 40 connections to one host's SSH in five minutes is password guessing
/// seen from the network; 40 to its HTTPS is not.
#[test]
fn many_connections_to_a_login_port_are_a_network_brute_force() {
    let mut flows = Vec::new();
    for i in 0..40 {
        flows.push((T0 + i * 7_000_000, "172.16.0.1", "192.168.10.50", 22, 0));
        flows.push((T0 + i * 7_000_000, "172.16.0.2", "192.168.10.50", 443, 0));
    }
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::NetworkActivity, &flow_batch(&flows));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "vigil.baseline.network_brute_force");
    assert_eq!((got[0].1.as_str(), got[0].2.as_str()), ("ip", "172.16.0.1"));
}

/// A source that scanned once is found again when it scans again a day
/// later: the first scan is not learnt as its normal.
#[test]
fn a_second_scan_by_the_same_source_is_found_too() {
    let mut flows = Vec::new();
    for day in 0..2 {
        for p in 0..300 {
            let t = T0 + day * DAY + p * 1_000_000;
            flows.push((t, "10.0.0.66", "10.0.1.1", 1000 + p, 0));
        }
    }
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::NetworkActivity, &flow_batch(&flows));
    let kinds: Vec<&str> = got.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["vigil.baseline.port_scan", "vigil.baseline.port_scan"]
    );
}

/// A deploy account whose key is refused once on each of five servers
/// and then gets in elsewhere is not guessing a password; five refusals
/// on one server and then a success there are.
#[test]
fn sshd_failures_count_towards_a_success_on_the_same_host_only() {
    let ssh = |t: i64, host: &'static str, ok: bool| Ev {
        t,
        product: "sshd",
        user: "svc_deploy",
        ok,
        activity: 1,
        ip: "10.0.9.10",
        host: Some(host),
        uid: format!("s-{t}-{host}"),
        ..Ev::default()
    };
    let hosts = ["app-1", "app-2", "app-3", "app-4", "app-5"];
    let mut evs: Vec<Ev> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| ssh(T0 + i as i64 * 10_000_000, h, false))
        .collect();
    evs.push(ssh(T0 + MINUTE, "app-6", true));
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::Authentication, &auth_batch(&evs));
    assert!(kinds(&got).is_empty(), "{got:?}");

    let mut evs: Vec<Ev> = (0..5)
        .map(|i| ssh(T0 + HOUR + i * 10_000_000, "app-7", false))
        .collect();
    evs.push(ssh(T0 + HOUR + MINUTE, "app-7", true));
    let got = signals(&mut b, Class::Authentication, &auth_batch(&evs));
    assert_eq!(kinds(&got), vec!["vigil.baseline.brute_force_success"]);
}

/// Scans by one source a day apart are each found, however many; the
/// normal a first sweep taught decays while the source is quiet.
#[test]
fn every_later_scan_by_a_source_faces_the_same_bar() {
    let mut flows = Vec::new();
    for day in 0..5 {
        for p in 0..300 {
            let t = T0 + day * DAY + p * 1_000_000;
            flows.push((t, "10.0.0.66", "10.0.1.1", 1000 + p, 0));
        }
    }
    let mut b = Behaviour::new(BehaviourConfig::default());
    let got = signals(&mut b, Class::NetworkActivity, &flow_batch(&flows));
    assert_eq!(got.len(), 5, "{got:?}");
}
