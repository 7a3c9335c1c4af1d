use vigil_schemas::{BatchBuilder, Class, Field};

use super::*;

const T0: i64 = 1_793_000_000_000_000;

fn finding(
    t: i64,
    kind: &str,
    id: &str,
    score: Option<f64>,
    sev: i64,
    uid: &str,
    ev: &str,
) -> RecordBatch {
    let mut b = BatchBuilder::new(Class::DetectionFinding);
    let mut r = b.row();
    r.time_us(Field::Time, t);
    r.str(Field::EntityType, kind).str(Field::EntityId, id);
    if let Some(s) = score {
        r.float(Field::RiskScore, s);
    }
    r.int(Field::SeverityId, sev);
    r.str(Field::FindingInfoAnalyticUid, "test.signal");
    r.str(Field::FindingInfoTitle, "Test signal");
    r.str(Field::FindingInfoUid, uid);
    r.str(Field::FindingInfoDesc, "something unusual");
    r.str(Field::EvidencesEventUids, ev);
    drop(r);
    b.finish()
}

fn login(t: i64, user: &str, uid: &str, device: Option<&str>) -> RecordBatch {
    let mut b = BatchBuilder::new(Class::Authentication);
    let mut r = b.row();
    r.time_us(Field::Time, t);
    r.str(Field::MetadataProductName, "Okta");
    r.str(Field::UserName, user);
    r.int(Field::StatusId, 1).int(Field::ActivityId, 1);
    r.str(Field::EventUid, uid);
    if let Some(d) = device {
        r.unmapped("device.name", d);
    }
    drop(r);
    b.finish()
}

/// Entity, score, level and previous level of one entity_risk row.
type RiskRow = (String, f64, String, String);

/// The risk rows and the decisions a batch gives.
fn run(e: &mut RiskEngine, class: Class, b: &RecordBatch) -> (Vec<RiskRow>, Vec<(String, String)>) {
    let mut risk = Vec::new();
    let mut dec = Vec::new();
    for (c, out) in e.detect(class, b).expect("detect in test") {
        match c {
            Class::EntityRisk => {
                let id = Text::new(&out, "entity_id");
                let s = Float::new(&out, "risk_score");
                let l = Text::new(&out, "risk_level");
                let p = Text::new(&out, "risk_prev_level");
                for r in 0..out.num_rows() {
                    risk.push((
                        id.get(r).expect("get in test").to_string(),
                        s.get(r).expect("get in test"),
                        l.get(r).expect("get in test").to_string(),
                        p.get(r).expect("get in test").to_string(),
                    ));
                }
            }
            Class::TrustDecision => {
                let d = Text::new(&out, "decision");
                let why = Text::new(&out, "decision_reasons");
                for r in 0..out.num_rows() {
                    dec.push((
                        d.get(r).expect("get in test").to_string(),
                        why.get(r).expect("get in test").to_string(),
                    ));
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    (risk, dec)
}

#[test]
fn signals_combine_as_independent_evidence_and_levels_rise() {
    let mut e = RiskEngine::new(RiskConfig::default()).expect("valid in test");
    let _ = run(
        &mut e,
        Class::DetectionFinding,
        &finding(T0, "user", "ALICE@corp.example", Some(30.0), 3, "f1", "e1"),
    );
    let (risk, _) = run(
        &mut e,
        Class::NetworkActivity,
        &RecordBatch::new_empty(Class::NetworkActivity.schema()),
    );
    assert_eq!(
        risk,
        vec![("alice".into(), 30.0, "medium".into(), "low".into())]
    );
    // A second 30 at the same time: 100·(1 − 0.7·0.7) = 51.
    let _ = run(
        &mut e,
        Class::DetectionFinding,
        &finding(T0, "user", "alice", Some(30.0), 3, "f2", "e2"),
    );
    let (risk, _) = run(
        &mut e,
        Class::NetworkActivity,
        &RecordBatch::new_empty(Class::NetworkActivity.schema()),
    );
    assert_eq!(
        risk,
        vec![("alice".into(), 51.0, "high".into(), "medium".into())]
    );
}

#[test]
fn a_score_halves_every_half_life_and_levels_fall_with_hysteresis() {
    let mut e = RiskEngine::new(RiskConfig::default()).expect("valid in test");
    let _ = run(
        &mut e,
        Class::DetectionFinding,
        &finding(T0, "ip", "203.0.113.9", Some(80.0), 5, "f1", "e1"),
    );
    let _ = run(
        &mut e,
        Class::NetworkActivity,
        &RecordBatch::new_empty(Class::NetworkActivity.schema()),
    );
    // 80 → 75 − 5 = 70 takes 24·log2(80/70) = 4.6 h: critical → high then.
    // 70 → 45 takes another 15.3 h; 45 → 20 another 28.1 h.
    let empty_at = |t: i64| {
        let mut b = BatchBuilder::new(Class::NetworkActivity);
        b.row().time_us(Field::Time, t);
        b.finish()
    };
    let (risk, _) = run(&mut e, Class::NetworkActivity, &empty_at(T0 + 4 * HOUR));
    assert!(risk.is_empty(), "still critical at 4 h: {risk:?}");
    let (risk, _) = run(&mut e, Class::NetworkActivity, &empty_at(T0 + 5 * HOUR));
    assert_eq!(risk.len(), 1);
    assert_eq!(
        (risk[0].2.as_str(), risk[0].3.as_str()),
        ("high", "critical")
    );
    assert!((risk[0].1 - 70.0).abs() < 0.2, "{risk:?}");
    let (risk, _) = run(&mut e, Class::NetworkActivity, &empty_at(T0 + 60 * HOUR));
    let levels: Vec<(&str, &str)> = risk.iter().map(|r| (r.2.as_str(), r.3.as_str())).collect();
    assert_eq!(levels, vec![("medium", "high"), ("low", "medium")]);
    // The score at 60 h: 80 · 0.5^(60/24) = 14.1.
    let snap = e.snapshot();
    assert!((snap[0].1 - 14.14).abs() < 0.05, "{snap:?}");
}

#[test]
fn a_score_hovering_at_a_bound_does_not_flap() {
    let cfg = RiskConfig::default();
    assert_eq!(cfg.level_up(50.0, Level::Medium), Level::High);
    assert_eq!(
        cfg.level_up(48.0, Level::High),
        Level::High,
        "within the hysteresis"
    );
    assert_eq!(cfg.level_up(44.9, Level::High), Level::Medium);
    assert_eq!(cfg.level_up(49.9, Level::Medium), Level::Medium);
    assert_eq!(cfg.level_up(10.0, Level::Critical), Level::Low);
}

#[test]
fn decisions_follow_user_risk_posture_and_the_sign_ins_own_signals() {
    let mut e = RiskEngine::new(RiskConfig::default()).expect("valid in test");
    // A quiet user on a compliant device: allow.
    let mut p = BatchBuilder::new(Class::DevicePosture);
    for (dev, ok) in [("ws-1", true), ("ws-2", false)] {
        let mut r = p.row();
        r.time_us(Field::Time, T0 - HOUR);
        r.str(Field::DeviceHostname, dev);
        r.bool(Field::DeviceIsCompliant, ok);
    }
    let _ = run(&mut e, Class::DevicePosture, &p.finish());
    let (_, d) = run(
        &mut e,
        Class::Authentication,
        &login(T0, "bob", "e1", Some("WS-1")),
    );
    assert_eq!(d[0].0, "allow");
    assert!(
        d[0].1.contains("device ws-1 is compliant per MDM"),
        "{}",
        d[0].1
    );

    // A noncompliant device: deny, saying why.
    let (_, d) = run(
        &mut e,
        Class::Authentication,
        &login(T0, "bob", "e2", Some("ws-2")),
    );
    assert_eq!(d[0].0, "deny");
    assert!(d[0].1.contains("ws-2 is noncompliant"), "{}", d[0].1);

    // A sign-in that raised a medium signal itself: step-up, with it as reason.
    let _ = run(
        &mut e,
        Class::DetectionFinding,
        &finding(T0 + 1, "user", "carol", Some(30.0), 3, "f1", "e3"),
    );
    let (risk, d) = run(
        &mut e,
        Class::Authentication,
        &login(T0 + 1, "carol", "e3", None),
    );
    assert_eq!(risk.len(), 1, "the signal is applied before the decision");
    assert_eq!(d[0].0, "step_up");
    assert!(
        d[0].1.contains("this sign-in: something unusual"),
        "{}",
        d[0].1
    );

    // A critical user: deny.
    let _ = run(
        &mut e,
        Class::DetectionFinding,
        &finding(T0 + 2, "user", "dan", Some(80.0), 5, "f2", "x"),
    );
    let (_, d) = run(
        &mut e,
        Class::Authentication,
        &login(T0 + 3, "dan", "e4", None),
    );
    assert_eq!(d[0].0, "deny");
    assert!(d[0].1.contains("user dan risk is 80"), "{}", d[0].1);
}

#[test]
fn findings_without_a_score_count_by_severity() {
    let mut e = RiskEngine::new(RiskConfig::default()).expect("valid in test");
    let _ = run(
        &mut e,
        Class::DetectionFinding,
        &finding(T0, "user", "erin", None, 4, "f1", "e"),
    );
    let (risk, _) = run(
        &mut e,
        Class::NetworkActivity,
        &RecordBatch::new_empty(Class::NetworkActivity.schema()),
    );
    assert_eq!(
        risk,
        vec![("erin".into(), 60.0, "high".into(), "low".into())]
    );
}

#[test]
fn bad_settings_are_refused_with_every_problem() {
    let cfg = RiskConfig {
        half_life_hours: 0.0,
        high: 10.0,
        decision: DecisionConfig {
            noncompliant: "maybe".into(),
            ..DecisionConfig::default()
        },
        ..RiskConfig::default()
    };
    let Err(DetectError::Config(msg)) = RiskEngine::new(cfg) else {
        panic!("accepted")
    };
    assert!(msg.contains("half_life_hours"), "{msg}");
    assert!(msg.contains("levels must rise"), "{msg}");
    assert!(msg.contains("noncompliant"), "{msg}");
}

#[test]
fn risk_state_survives_a_checkpoint_round_trip() {
    let mut e = RiskEngine::new(RiskConfig::default()).expect("valid in test");
    let _ = run(
        &mut e,
        Class::DetectionFinding,
        &finding(T0, "user", "fay", Some(60.0), 4, "f1", "e"),
    );
    let _ = run(
        &mut e,
        Class::NetworkActivity,
        &RecordBatch::new_empty(Class::NetworkActivity.schema()),
    );
    let json = serde_json::to_string(e.state()).expect("valid in test");
    let back: RiskState = serde_json::from_str(&json).expect("from_str in test");
    let e2 = RiskEngine::with_state(RiskConfig::default(), back).expect("valid in test");
    assert_eq!(e.snapshot(), e2.snapshot());
}

/// A baseline and a Sigma correlation that both see one password spray
/// (T1110.003) are one piece of evidence: the source's risk is the
/// stronger of the two, 80, not 100·(1 − 0.3·0.2) = 94. Evidence of
/// another technique still adds up.
#[test]
fn two_analytics_on_one_technique_count_once() {
    let with = |t: i64, analytic: &str, technique: &str, score: f64, uid: &str| {
        let mut b = BatchBuilder::new(Class::DetectionFinding);
        let mut r = b.row();
        r.time_us(Field::Time, t);
        r.str(Field::EntityType, "ip")
            .str(Field::EntityId, "203.0.113.9");
        r.float(Field::RiskScore, score);
        r.str(Field::FindingInfoAnalyticUid, analytic);
        r.str(Field::FindingInfoTitle, analytic);
        r.str(Field::FindingInfoUid, uid);
        r.str(Field::FindingInfoAttackTechniques, technique);
        drop(r);
        b.finish()
    };
    let mut e = RiskEngine::new(RiskConfig::default()).expect("valid in test");
    let empty = RecordBatch::new_empty(Class::NetworkActivity.schema());
    let mut scores = Vec::new();
    for (analytic, technique, score, uid) in [
        ("vigil.baseline.password_spray", "T1110.003", 70.0, "a"),
        ("sigma-spray-correlation", "t1110.003", 80.0, "b"),
        ("vigil.baseline.port_scan", "T1046", 60.0, "c"),
    ] {
        let _ = run(
            &mut e,
            Class::DetectionFinding,
            &with(T0, analytic, technique, score, uid),
        );
        let (risk, _) = run(&mut e, Class::NetworkActivity, &empty);
        scores.push(risk.last().map(|r| r.1).expect("a risk row"));
    }
    // 70; then max(70, 80) = 80; then 100·(1 − 0.2·0.4) = 92.
    assert_eq!(scores, vec![70.0, 80.0, 92.0]);
}

/// A model's unusual hours of one user are context: however many, they
/// count as the strongest one, and stay below high.
#[test]
fn a_models_findings_of_one_entity_count_once() {
    let hour = |t: i64, score: f64, uid: &str| {
        let mut b = BatchBuilder::new(Class::DetectionFinding);
        let mut r = b.row();
        r.time_us(Field::Time, t);
        r.str(Field::EntityType, "user").str(Field::EntityId, "ann");
        r.float(Field::RiskScore, score);
        r.str(Field::FindingInfoAnalyticUid, "vigil.model.peer_hours");
        r.str(Field::FindingInfoTitle, "Unusual hour");
        r.str(Field::FindingInfoUid, uid);
        drop(r);
        b.finish()
    };
    let mut e = RiskEngine::new(RiskConfig::default()).expect("valid in test");
    let empty = RecordBatch::new_empty(Class::NetworkActivity.schema());
    let mut scores = Vec::new();
    for (t, score, uid) in [
        (T0, 40.0, "m1"),
        (T0 + HOUR, 38.0, "m2"),
        (T0 + 2 * HOUR, 40.0, "m3"),
    ] {
        let _ = run(&mut e, Class::DetectionFinding, &hour(t, score, uid));
        let (risk, _) = run(&mut e, Class::NetworkActivity, &empty);
        scores.push(
            risk.last()
                .map(|r| (r.1 * 10.0).round() / 10.0)
                .expect("a risk row"),
        );
    }
    assert!(scores.iter().all(|s| *s <= 40.0), "{scores:?}");
    assert_eq!(scores[0], 40.0);
}
