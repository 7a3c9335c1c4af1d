//! Correlation over hand-built events: each type from the specification's
//! own examples, lateness, the group and event caps, and edge cases BH-20
//! and BH-21 of `shared/edge-cases.md`.

use arrow::array::{Array, AsArray, StringArray};
use arrow::datatypes::TimestampMicrosecondType;
use arrow_array::RecordBatch;
use vigil_schemas::{BatchBuilder, Class, Field};

use super::super::{CorrelationConfig, Mappings, SigmaEngine};
use crate::Detector;

/// 2020-09-13T12:26:40Z, the time of second 0.
const T0: i64 = 1_600_000_000_000_000;
const SEC: i64 = 1_000_000;

/// Every rule on base events, fields read from `unmapped`.
fn mapping() -> Mappings {
    let mut m = Mappings::default();
    m.add_yaml(
        "test",
        "logsources:\n  - logsource: {}\n    classes: [base_event]\n",
    )
    .expect("valid mapping");
    m
}

fn load(yaml: &str) -> SigmaEngine {
    let (e, report) = SigmaEngine::from_yaml("test.yml", yaml, &mapping());
    assert!(report.failed.is_empty(), "{report}");
    e
}

/// One event: uid, second, unmapped fields.
type Ev<'a> = (&'a str, i64, &'a [(&'a str, &'a str)]);

fn batch(evs: &[Ev<'_>]) -> RecordBatch {
    let mut b = BatchBuilder::new(Class::BaseEvent);
    for (uid, sec, fields) in evs {
        let mut r = b.row();
        r.str(Field::EventUid, uid);
        r.time_us(Field::Time, T0 + sec * SEC);
        for (k, v) in *fields {
            r.unmapped(k, v);
        }
    }
    b.finish()
}

/// One finding, as the tests read it.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    rule: String,
    /// Seconds after `T0`.
    sec: i64,
    uid: String,
    entity: Option<String>,
    evidence: Vec<String>,
    desc: String,
}

fn text(b: &RecordBatch, name: &str, row: usize) -> Option<String> {
    let c: &StringArray = b.column_by_name(name)?.as_string_opt::<i32>()?;
    c.is_valid(row).then(|| c.value(row).to_string())
}

fn read(out: Vec<(Class, RecordBatch)>) -> Vec<Found> {
    let mut v = Vec::new();
    for (class, b) in out {
        assert_eq!(class, Class::DetectionFinding);
        let time = b
            .column_by_name("time")
            .expect("time")
            .as_primitive::<TimestampMicrosecondType>();
        for row in 0..b.num_rows() {
            let us = time.value(row) - T0;
            v.push(Found {
                rule: text(&b, "finding_info_analytic_uid", row).unwrap_or_default(),
                sec: us.div_euclid(SEC),
                uid: text(&b, "finding_info_uid", row).unwrap_or_default(),
                entity: text(&b, "entity_id", row),
                evidence: text(&b, "evidences_event_uids", row)
                    .map(|s| s.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
                desc: text(&b, "finding_info_desc", row).unwrap_or_default(),
            });
        }
    }
    v
}

/// Feed each batch, then finish; every finding in order.
fn run(e: &mut SigmaEngine, batches: &[RecordBatch]) -> Vec<Found> {
    let mut all = Vec::new();
    for b in batches {
        all.extend(read(e.detect(Class::BaseEvent, b).expect("detect")));
    }
    all.extend(read(e.finish().expect("finish")));
    all
}

fn uids(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

const FAILED_LOGIN: &str = "title: failed login\nid: fl-1\nname: failed_login\n\
    logsource: {product: windows, service: security}\n\
    detection:\n    selection:\n        EventID: 4625\n    condition: selection\n";

/// The specification's event_count example (100 per hour, scaled to 5).
const EVENT_COUNT: &str = r"title: Many failed logins
id: 0e95725d-7320-415d-80f7-004da920fc11
level: high
tags: [attack.credential-access, attack.t1110]
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - ComputerName
    timespan: 1h
    condition:
        gte: 5
";

fn fail(uid: &'static str, sec: i64, host: &'static str) -> Ev<'static> {
    let f: &'static [(&str, &str)] = match host {
        "host-a" => &[("EventID", "4625"), ("ComputerName", "host-a")],
        "host-b" => &[("EventID", "4625"), ("ComputerName", "host-b")],
        "host-c" => &[("EventID", "4625"), ("ComputerName", "host-c")],
        _ => &[("EventID", "4625")],
    };
    (uid, sec, f)
}

#[test]
fn event_count_fires_once_per_window_and_group() {
    let mut e = load(&format!("{FAILED_LOGIN}---\n{EVENT_COUNT}"));
    assert_eq!(e.correlation_count(), 1);
    let evs = [
        fail("a1", 0, "host-a"),
        fail("b1", 30, "host-b"),
        fail("a2", 60, "host-a"),
        fail("a3", 120, "host-a"),
        fail("b2", 150, "host-b"),
        fail("a4", 180, "host-a"),
        fail("a5", 240, "host-a"),
        // Same hour: absorbed by the window that fired.
        fail("a6", 300, "host-a"),
        fail("a7", 3000, "host-a"),
        // After the window (0 + 1h): a new window with one event.
        fail("a8", 3600, "host-a"),
    ];
    let found = run(&mut e, &[batch(&evs)]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(f.rule, "0e95725d-7320-415d-80f7-004da920fc11");
    assert_eq!(f.sec, 240, "time of the fifth event");
    assert_eq!(f.entity.as_deref(), Some("host-a"));
    assert_eq!(f.evidence, uids(&["a1", "a2", "a3", "a4", "a5"]));
    assert!(
        f.desc
            .starts_with("event_count 5 for ComputerName=host-a within 1h"),
        "{}",
        f.desc
    );
}

#[test]
fn a_sliding_window_catches_a_burst_across_a_fixed_boundary() {
    let mut e = load(&format!("{FAILED_LOGIN}---\n{EVENT_COUNT}"));
    // One early event, then five within 20 minutes that straddle 0 + 1h.
    let evs = [
        fail("x0", 0, "host-a"),
        fail("x1", 3000, "host-a"),
        fail("x2", 3300, "host-a"),
        fail("x3", 3700, "host-a"),
        fail("x4", 3900, "host-a"),
        fail("x5", 4200, "host-a"),
    ];
    let found = run(&mut e, &[batch(&evs)]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].evidence, uids(&["x1", "x2", "x3", "x4", "x5"]));
    assert_eq!(found[0].sec, 4200);
}

#[test]
fn referenced_rules_make_no_findings_unless_generate() {
    let five: Vec<Ev<'_>> = ["g1", "g2", "g3", "g4", "g5"]
        .iter()
        .zip(0..)
        .map(|(u, i)| fail(u, i * 10, "host-a"))
        .collect();
    let mut quiet = load(&format!("{FAILED_LOGIN}---\n{EVENT_COUNT}"));
    let found = run(&mut quiet, &[batch(&five)]);
    let rules: Vec<&str> = found.iter().map(|f| f.rule.as_str()).collect();
    assert_eq!(rules, ["0e95725d-7320-415d-80f7-004da920fc11"]);

    let loud = format!("{FAILED_LOGIN}---\n{EVENT_COUNT}generate: true\n");
    let mut loud = load(&loud);
    let found = run(&mut loud, &[batch(&five)]);
    let base = found.iter().filter(|f| f.rule == "fl-1").count();
    let corr = found.iter().filter(|f| f.rule != "fl-1").count();
    assert_eq!((base, corr), (5, 1));
}

#[test]
fn value_count_counts_distinct_values_per_group() {
    // The specification's example: users per source and destination.
    let yaml = format!(
        r"{FAILED_LOGIN}---
title: Failed login
id: 0e95725d-7320-415d-80f7-004da920fc12
correlation:
    type: value_count
    rules:
        - failed_login
    group-by:
        - ComputerName
        - WorkstationName
    timespan: 1d
    condition:
        field: User
        gte: 3
"
    );
    let mut e = load(&yaml);
    let ev = |uid: &'static str, sec: i64, ws: &'static str, user: &'static str| -> Ev<'static> {
        let f: Vec<(&str, &str)> = vec![
            ("EventID", "4625"),
            ("ComputerName", "dc1"),
            ("WorkstationName", ws),
            ("User", user),
        ];
        (uid, sec, Box::leak(f.into_boxed_slice()))
    };
    let evs = [
        ev("v1", 0, "ws1", "alice"),
        ev("v2", 10, "ws1", "bob"),
        ev("v3", 20, "ws2", "alice"),
        ev("v4", 30, "ws1", "alice"),
        ev("v5", 40, "ws2", "alice"),
        ev("v6", 50, "ws1", "carol"),
        ev("v7", 60, "ws2", "alice"),
    ];
    let found = run(&mut e, &[batch(&evs)]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].sec, 50);
    assert_eq!(found[0].evidence, uids(&["v1", "v2", "v4", "v6"]));
    assert!(
        found[0]
            .desc
            .starts_with("value_count 3 for ComputerName=dc1, WorkstationName=ws1 within 1d"),
        "{}",
        found[0].desc
    );
}

const RECON: &str = "title: recon a\nid: ra\nname: recon_cmd_a\nlogsource: {product: test}\n\
    detection:\n    s:\n        cmd: a\n    condition: s\n---\n\
    title: recon b\nid: rb\nname: recon_cmd_b\nlogsource: {product: test}\n\
    detection:\n    s:\n        cmd: b\n    condition: s\n---\n\
    title: recon c\nid: rc\nname: recon_cmd_c\nlogsource: {product: test}\n\
    detection:\n    s:\n        cmd: c\n    condition: s\n";

fn cmd(uid: &'static str, sec: i64, c: &'static str, host: &'static str) -> Ev<'static> {
    let f: Vec<(&str, &str)> = vec![("cmd", c), ("ComputerName", host), ("User", "alice")];
    (uid, sec, Box::leak(f.into_boxed_slice()))
}

#[test]
fn temporal_needs_every_rule_in_any_order() {
    // The specification's example: three recon commands within 5 minutes.
    let yaml = format!(
        r"{RECON}---
title: recon
id: recon-t
correlation:
    type: temporal
    rules:
        - recon_cmd_a
        - recon_cmd_b
        - recon_cmd_c
    group-by:
        - ComputerName
        - User
    timespan: 5m
"
    );
    let mut e = load(&yaml);
    let evs = [
        cmd("h1c", 0, "c", "h1"),
        cmd("h1a", 60, "a", "h1"),
        cmd("h2a", 70, "a", "h2"),
        cmd("h2b", 80, "b", "h2"),
        cmd("h1b", 120, "b", "h1"),
        // h2's c comes 6 minutes after its a.
        cmd("h2c", 430, "c", "h2"),
    ];
    let found = run(&mut e, &[batch(&evs)]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].sec, 120);
    assert_eq!(found[0].evidence, uids(&["h1c", "h1a", "h1b"]));
    assert_eq!(
        found[0].entity.as_deref(),
        Some("alice"),
        "a user before a host"
    );
}

/// Edge case BH-21: every step of the order is enforced.
#[test]
fn bh21_temporal_ordered_enforces_every_step() {
    let rules = "title: recon\nid: r1\nname: recon\nlogsource: {product: test}\n\
        detection:\n    s:\n        EventID: 4798\n    condition: s\n---\n\
        title: failed\nid: r2\nname: failed_logon\nlogsource: {product: test}\n\
        detection:\n    s:\n        EventID: 4625\n    condition: s\n---\n\
        title: success\nid: r3\nname: success_logon\nlogsource: {product: test}\n\
        detection:\n    s:\n        EventID: 4624\n    condition: s\n---\n\
        title: ordered\nid: bh21\ncorrelation:\n    type: temporal_ordered\n    rules: \
        [recon, failed_logon, success_logon]\n    group-by: [Computer]\n    timespan: 10m\n";
    let ev = |uid: &'static str, sec: i64, id: &'static str| -> Ev<'static> {
        let f: Vec<(&str, &str)> = vec![("EventID", id), ("Computer", "host-a")];
        (uid, sec, Box::leak(f.into_boxed_slice()))
    };
    // Seconds after 10:00:00 (09:59:00 is -60).
    let set_a = [
        ev("a1", 0, "4798"),
        ev("a2", 30, "4624"),
        ev("a3", 60, "4625"),
    ];
    let set_b = [
        ev("b1", 0, "4798"),
        ev("b2", 30, "4625"),
        ev("b3", 60, "4624"),
    ];
    let set_c = [
        ev("c1", -60, "4625"),
        ev("c2", 0, "4798"),
        ev("c3", 60, "4624"),
    ];
    assert_eq!(run(&mut load(rules), &[batch(&set_a)]), vec![]);
    let b = run(&mut load(rules), &[batch(&set_b)]);
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].sec, 60);
    assert_eq!(b[0].evidence, uids(&["b1", "b2", "b3"]));
    assert_eq!(run(&mut load(rules), &[batch(&set_c)]), vec![]);
}

/// The specification's closing example: a chain of an event_count
/// correlation into a temporal_ordered one, across documents.
#[test]
fn chained_failed_logins_then_success() {
    let yaml = r"title: Correlation - Multiple Failed Logins Followed by Successful Login
id: b180ead8-d58f-40b2-ae54-c8940995b9b6
correlation:
    type: temporal_ordered
    rules:
        - multiple_failed_login
        - successful_login
    group-by:
        - User
    timespan: 10m
level: high
---
title: Multiple failed logons
id: a8418a5a-5fc4-46b5-b23b-6c73beb19d41
name: multiple_failed_login
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - User
    timespan: 10m
    condition:
        gte: 10
---
title: Single failed login
id: 53ba33fd-3a50-4468-a5ef-c583635cfa92
name: failed_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 529
            - 4625
    condition: selection
---
title: Successful login
id: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8
name: successful_login
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID:
            - 528
            - 4624
    condition: selection
";
    let mut e = load(yaml);
    assert_eq!(e.correlation_count(), 2);
    let mut evs: Vec<Ev<'static>> = Vec::new();
    for (user, n) in [("alice", 10), ("bob", 9)] {
        for i in 0..n {
            let uid: &'static str = Box::leak(format!("{user}-f{i}").into_boxed_str());
            let f: Vec<(&str, &str)> = vec![("EventID", "4625"), ("User", user)];
            evs.push((uid, i * 30, Box::leak(f.into_boxed_slice())));
        }
        let uid: &'static str = Box::leak(format!("{user}-ok").into_boxed_str());
        let f: Vec<(&str, &str)> = vec![("EventID", "4624"), ("User", user)];
        evs.push((uid, 400, Box::leak(f.into_boxed_slice())));
    }
    let found = run(&mut e, &[batch(&evs)]);
    assert_eq!(
        found.len(),
        1,
        "only the outer correlation emits: {found:#?}"
    );
    let f = &found[0];
    assert_eq!(f.rule, "b180ead8-d58f-40b2-ae54-c8940995b9b6");
    assert_eq!(f.sec, 400);
    assert_eq!(f.entity.as_deref(), Some("alice"));
    // The inner finding (at alice's tenth failure, 270 s) then the success.
    assert_eq!(f.evidence.len(), 2);
    assert_eq!(f.evidence[0].len(), 32, "a finding id: {:?}", f.evidence);
    assert_eq!(f.evidence[1], "alice-ok");
}

/// The specification's alias example: one address as destination in one
/// rule's events and as source in the other's.
#[test]
fn aliases_group_different_fields_of_each_rule() {
    let yaml = r"title: internal error
id: ie
name: internal_error
logsource: {product: test}
detection:
    selection:
        http.response.status_code: 500
    condition: selection
---
title: new connection
id: nc
name: new_network_connection
logsource: {product: test}
detection:
    selection:
        event.category: network
        event.type: connection
        event.outcome: success
    condition: selection
---
title: error then connection
id: alias-1
correlation:
    type: temporal
    rules:
        - internal_error
        - new_network_connection
    group-by:
        - internal_ip
        - remote_ip
    timespan: 10s
    aliases:
        internal_ip:
            internal_error: destination.ip
            new_network_connection: source.ip
        remote_ip:
            internal_error: source.ip
            new_network_connection: destination.ip
";
    let mut e = load(yaml);
    let err = |uid: &'static str, sec: i64, dst: &'static str, src: &'static str| -> Ev<'static> {
        let f: Vec<(&str, &str)> = vec![
            ("http.response.status_code", "500"),
            ("destination.ip", dst),
            ("source.ip", src),
        ];
        (uid, sec, Box::leak(f.into_boxed_slice()))
    };
    let conn = |uid: &'static str, sec: i64, src: &'static str, dst: &'static str| -> Ev<'static> {
        let f: Vec<(&str, &str)> = vec![
            ("event.category", "network"),
            ("event.type", "connection"),
            ("event.outcome", "success"),
            ("source.ip", src),
            ("destination.ip", dst),
        ];
        (uid, sec, Box::leak(f.into_boxed_slice()))
    };
    let evs = [
        err("e1", 0, "10.0.0.1", "203.0.113.9"),
        // Same addresses, but in the same roles: no alias match.
        conn("c1", 2, "203.0.113.9", "10.0.0.1"),
        conn("c2", 4, "10.0.0.1", "203.0.113.9"),
    ];
    let found = run(&mut e, &[batch(&evs)]);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].evidence, uids(&["e1", "c2"]));
    assert_eq!(found[0].entity.as_deref(), Some("10.0.0.1"));
    assert!(
        found[0]
            .desc
            .starts_with("temporal 2 for internal_ip=10.0.0.1, remote_ip=203.0.113.9"),
        "{}",
        found[0].desc
    );
}

/// Edge case BH-20: events without the group-by value are skipped, not
/// pooled; `-` counts as no value.
#[test]
fn bh20_missing_group_by_values_are_not_pooled() {
    let yaml = r"title: failed logon
name: failed_logon
id: fl
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4625}
    condition: selection
---
title: many failed logons from one source
id: bh20
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [IpAddress]
    timespan: 5m
    condition: {gte: 5}
";
    let set = |n: usize, ip: Option<&'static str>, tag: &str| -> Vec<Ev<'static>> {
        (0..n)
            .map(|i| {
                let uid: &'static str = Box::leak(format!("{tag}{i}").into_boxed_str());
                let user: &'static str = Box::leak(format!("user-{}", i + 1).into_boxed_str());
                let host: &'static str = Box::leak(format!("host-{}", i + 1).into_boxed_str());
                let mut f = vec![
                    ("EventID", "4625"),
                    ("TargetUserName", user),
                    ("Computer", host),
                ];
                if let Some(ip) = ip {
                    f.push(("IpAddress", ip));
                }
                let f: &'static [(&str, &str)] = Box::leak(f.into_boxed_slice());
                (uid, i as i64 * 10, f)
            })
            .collect()
    };
    let mut e = load(yaml);
    assert_eq!(run(&mut e, &[batch(&set(6, None, "s1-"))]), vec![]);
    assert_eq!(e.correlation_stats().missing_group, 6);
    let mut e = load(yaml);
    assert_eq!(run(&mut e, &[batch(&set(6, Some("-"), "s2-"))]), vec![]);
    assert_eq!(e.correlation_stats().missing_group, 6);
    let mut e = load(yaml);
    let found = run(&mut e, &[batch(&set(5, Some("192.0.2.50"), "s3-"))]);
    assert_eq!(found.len(), 1);
    assert!(
        found[0]
            .desc
            .starts_with("event_count 5 for IpAddress=192.0.2.50")
    );
    assert_eq!(found[0].entity.as_deref(), Some("192.0.2.50"));
    assert_eq!(e.correlation_stats().missing_group, 0);
}

const FEW: &str = r"title: few logins
id: few
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [ComputerName]
    timespan: 1h
    condition: {lt: 3}
";

#[test]
fn an_upper_bound_is_decided_when_the_window_closes() {
    let mut e = load(&format!("{FAILED_LOGIN}---\n{FEW}"));
    let first = batch(&[
        fail("a1", 0, "host-a"),
        fail("b1", 10, "host-b"),
        fail("a2", 20, "host-a"),
        fail("b2", 30, "host-b"),
        fail("b3", 40, "host-b"),
    ]);
    let out = read(e.detect(Class::BaseEvent, &first).expect("detect"));
    assert_eq!(out, vec![], "windows still open");
    // Two hours later: the watermark closes both windows.
    let later = batch(&[fail("c1", 7200, "host-c")]);
    let out = read(e.detect(Class::BaseEvent, &later).expect("detect"));
    assert_eq!(out.len(), 1, "{out:#?}");
    assert_eq!(out[0].entity.as_deref(), Some("host-a"));
    assert_eq!(out[0].sec, 3600, "the window's end");
    assert_eq!(out[0].evidence, uids(&["a1", "a2"]));
    // host-c's window is still open at the end of input; it has one event.
    let end = read(e.finish().expect("finish"));
    assert_eq!(end.len(), 1);
    assert_eq!(end[0].entity.as_deref(), Some("host-c"));
    assert_eq!(end[0].sec, 7200 + 3600);
}

/// The failed-login rule and an event_count of `n` per ComputerName.
fn counting(n: u32, span: &str) -> String {
    format!(
        "{FAILED_LOGIN}---
title: count
id: count-{n}
correlation:
    type: event_count
    rules: [failed_login]
    group-by: [ComputerName]
    timespan: {span}
    condition: {{gte: {n}}}
"
    )
}

#[test]
fn out_of_order_within_lateness_counts_and_gives_the_same_ids() {
    let yaml = counting(3, "1m");
    let ordered = [
        batch(&[fail("o1", 8, "host-a")]),
        batch(&[fail("o2", 10, "host-a")]),
        batch(&[fail("o3", 12, "host-a")]),
    ];
    // 10 first, then 8 (2 s behind), then 12.
    let shuffled = [
        batch(&[fail("o2", 10, "host-a")]),
        batch(&[fail("o1", 8, "host-a")]),
        batch(&[fail("o3", 12, "host-a")]),
    ];
    let mut a = load(&yaml);
    let in_order = run(&mut a, &ordered);
    let mut b = load(&yaml);
    let out_of_order = run(&mut b, &shuffled);
    assert_eq!(in_order.len(), 1);
    assert_eq!(in_order[0].evidence, uids(&["o1", "o2", "o3"]));
    assert_eq!(in_order, out_of_order);
    assert_eq!(b.correlation_stats().late, 0);
}

#[test]
fn past_lateness_an_event_is_late_and_reopens_nothing() {
    let mut e = load(&format!("{FAILED_LOGIN}---\n{FEW}"));
    let batches = [
        batch(&[fail("a1", 0, "host-a")]),
        // Closes host-a's window [0, 3600) with one event: a finding.
        batch(&[fail("b1", 4000, "host-b")]),
        // 4000 s behind: late; host-a's window is not re-opened.
        batch(&[fail("a2", 10, "host-a")]),
    ];
    let found = run(&mut e, &batches);
    let got: Vec<(Option<&str>, i64, Vec<String>)> = found
        .iter()
        .map(|f| (f.entity.as_deref(), f.sec, f.evidence.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("host-a"), 3600, uids(&["a1"])),
            (Some("host-b"), 7600, uids(&["b1"])),
        ]
    );
    assert_eq!(e.correlation_stats().late, 1);

    // Counting types: the late event does not count.
    let yaml = format!("{FAILED_LOGIN}---\n{EVENT_COUNT}");
    let mut e = load(&yaml);
    let mut batches: Vec<RecordBatch> = ["p1", "p2", "p3", "p4"]
        .iter()
        .zip(0..)
        .map(|(u, i)| batch(&[fail(u, 100 + i * 10, "host-a")]))
        .collect();
    batches.push(batch(&[fail("p5", 120, "host-a")]));
    assert_eq!(run(&mut e, &batches), vec![]);
    assert_eq!(e.correlation_stats().late, 1);

    // The same, with the lateness raised past the gap: it counts.
    let mut e = load(&yaml);
    e.set_correlation_config(CorrelationConfig {
        lateness_us: 60 * SEC,
        ..CorrelationConfig::default()
    });
    let found = run(&mut e, &batches);
    assert_eq!(found.len(), 1);
    // Ties in time go by event uid.
    assert_eq!(found[0].evidence, uids(&["p1", "p2", "p3", "p5", "p4"]));
}

#[test]
fn the_group_cap_evicts_the_least_recent_group() {
    let yaml = counting(2, "1h");
    let evs = [
        fail("a1", 0, "host-a"),
        fail("b1", 1, "host-b"),
        fail("c1", 2, "host-c"),
        fail("a2", 3, "host-a"),
        fail("b2", 4, "host-b"),
    ];
    let mut open = load(&yaml);
    let found = run(&mut open, &[batch(&evs)]);
    let who: Vec<Option<&str>> = found.iter().map(|f| f.entity.as_deref()).collect();
    assert_eq!(who, [Some("host-a"), Some("host-b")]);

    let mut capped = load(&yaml);
    capped.set_correlation_config(CorrelationConfig {
        max_groups: 2,
        ..CorrelationConfig::default()
    });
    assert_eq!(run(&mut capped, &[batch(&evs)]), vec![]);
    // c evicts a, a evicts b, b evicts c.
    assert_eq!(capped.correlation_stats().evicted_groups, 3);

    let mut few = load(&format!("{FAILED_LOGIN}---\n{EVENT_COUNT}"));
    few.set_correlation_config(CorrelationConfig {
        max_events: 3,
        ..CorrelationConfig::default()
    });
    let five: Vec<Ev<'_>> = ["m1", "m2", "m3", "m4", "m5"]
        .iter()
        .zip(0..)
        .map(|(u, i)| fail(u, i, "host-a"))
        .collect();
    assert_eq!(run(&mut few, &[batch(&five)]), vec![]);
    assert_eq!(few.correlation_stats().evicted_events, 2);
}

#[test]
fn value_aggregations_at_window_close() {
    let base = "title: upload\nid: up\nname: upload\nlogsource: {product: test}\n\
        detection:\n    s:\n        action: upload\n    condition: s\n";
    let corr = |id: &str, ty: &str, cond: &str| {
        format!(
            "---
title: {id}
id: {id}
correlation:
    type: {ty}
    rules: [upload]
    group-by: [user]
    timespan: 1h
    condition: {{field: bytes, {cond}}}
"
        )
    };
    let yaml = [
        base.to_string(),
        corr("sum", "value_sum", "gt: 1000"),
        corr("avg", "value_avg", "gte: 400"),
        corr("median", "value_median", "gte: 400"),
        corr("p50", "value_percentile", "percentile: 50, gte: 420"),
    ]
    .concat();
    let mut e = load(&yaml);
    assert_eq!(e.correlation_count(), 4);
    let up =
        |uid: &'static str, sec: i64, user: &'static str, bytes: &'static str| -> Ev<'static> {
            let f: Vec<(&str, &str)> = vec![("action", "upload"), ("user", user), ("bytes", bytes)];
            (uid, sec, Box::leak(f.into_boxed_slice()))
        };
    let evs = [
        up("u1", 0, "alice", "400"),
        up("u2", 10, "bob", "400"),
        up("u3", 20, "alice", "500"),
        up("u4", 30, "bob", "500"),
        up("u5", 40, "alice", "200"),
        up("u6", 50, "bob", "lots"),
    ];
    let found = run(&mut e, &[batch(&evs)]);
    let mut got: Vec<(String, String, String)> = found
        .iter()
        .map(|f| {
            let v = f.desc.split(' ').nth(1).unwrap_or_default().to_string();
            (f.rule.clone(), f.entity.clone().unwrap_or_default(), v)
        })
        .collect();
    got.sort();
    let want = [
        ("avg", "bob", "450"),
        ("median", "alice", "400"),
        ("median", "bob", "450"),
        ("p50", "bob", "450"),
        ("sum", "alice", "1100"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
    assert!(found.iter().all(|f| f.sec == 3600 || f.sec == 3610));
    // "lots" is no number: skipped by each of the four.
    assert_eq!(e.correlation_stats().missing_value, 4);
}

#[test]
fn correlations_that_cannot_load_are_reported() {
    let corr = |id: &str, ty: &str, rules: &str, extra: &str| {
        format!(
            "---
title: {id}
id: {id}
correlation:
    type: {ty}
    rules: [{rules}]
    group-by: [x]
    timespan: 1m
{extra}"
        )
    };
    let gte2 = "    condition: {gte: 2}\n";
    let yaml = [
        FAILED_LOGIN.to_string(),
        corr("c-unknown", "event_count", "no_such_rule", gte2),
        corr("c-nofield", "value_count", "failed_login", gte2),
        corr(
            "c-window",
            "event_count",
            "failed_login",
            &format!("    window: tumbling\n{gte2}"),
        ),
        corr("c-chain", "temporal", "c-unknown, failed_login", ""),
        corr("c-span", "event_count", "failed_login", gte2).replace("1m", "5x"),
        corr("c-ok", "event_count", "fl-1", gte2),
    ]
    .concat();
    let (e, report) = SigmaEngine::from_yaml("bad.yml", &yaml, &mapping());
    let mut failed: Vec<(String, String, String)> = report
        .failed
        .iter()
        .map(|f| {
            (
                f.rule_id.clone().unwrap_or_default(),
                f.feature.clone(),
                f.reason.clone(),
            )
        })
        .collect();
    failed.sort();
    let ids: Vec<&str> = failed.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(
        ids,
        ["c-chain", "c-nofield", "c-span", "c-unknown", "c-window"]
    );
    assert!(failed.iter().all(|f| f.1 == "correlation"), "{failed:?}");
    let reason = |id: &str| failed.iter().find(|f| f.0 == id).map(|f| f.2.clone());
    assert_eq!(
        reason("c-unknown").as_deref(),
        Some("references unknown rule no_such_rule")
    );
    assert_eq!(
        reason("c-nofield").as_deref(),
        Some("value_count needs a field in its condition")
    );
    assert!(reason("c-window").is_some_and(|r| r.contains("tumbling")));
    assert!(reason("c-chain").is_some_and(|r| r.starts_with("references correlation c-unknown")));
    assert!(reason("c-span").is_some_and(|r| r.contains("5x")));
    assert_eq!(e.correlation_count(), 1);
    assert_eq!(report.loaded, 2, "the base rule and c-ok");
    // A correlation whose rule did not load says so.
    let yaml = r"title: broken
id: br
name: broken
logsource: {product: test}
detection:
    s:
        x|nosuchmodifier: 1
    condition: s
---
title: on broken
id: c-br
correlation:
    type: event_count
    rules: [broken]
    group-by: [x]
    timespan: 1m
    condition: {gte: 2}
";
    let (_, report) = SigmaEngine::from_yaml("b.yml", yaml, &mapping());
    let f: Vec<String> = report
        .failed
        .iter()
        .map(|f| f.rule_id.clone().unwrap_or_default())
        .collect();
    assert!(f.contains(&"c-br".to_string()), "{report}");
}
