use arrow::array::{AsArray, Float64Array};
use arrow_array::RecordBatch;
use vigil_schemas::{BatchBuilder, Class, Field};

use super::features::{HOUR_US, N_FEATURES};
use super::fit::{Obs, fit};
use super::*;
use crate::{DetectError, Detector};

/// Monday 2026-11-02 00:00 UTC, µs.
const MONDAY: i64 = 1_793_577_600_000_000;

/// A small deterministic generator (xorshift), so tests need no crate.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }

    fn between(&mut self, lo: u64, hi: u64) -> f64 {
        (lo + self.below(hi - lo + 1)) as f64
    }
}

/// Raw values in feature order, for a working-hours hour.
fn raw(
    sign_ins: f64,
    failures: f64,
    ips: f64,
    countries: f64,
    services: f64,
    hosts: f64,
) -> [f64; N_FEATURES] {
    let ratio = if sign_ins > 0.0 {
        (failures / sign_ins).min(1.0)
    } else {
        0.0
    };
    [
        sign_ins, failures, ratio, ips, countries, services, hosts, 0.0,
    ]
}

fn obs(user: &str, hour: i64, raw: [f64; N_FEATURES]) -> Obs {
    let mut features = raw;
    for i in [0, 1, 3, 4, 5, 6] {
        features[i] = features[i].ln_1p();
    }
    Obs {
        user: user.to_string(),
        hour,
        raw,
        features,
    }
}

/// 30 office users (a few sign-ins to a few apps) and 10 administrators
/// (many logons to many hosts), 60 working hours each.
fn history() -> Vec<Obs> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for u in 0..40 {
        let admin = u >= 30;
        let user = if admin {
            format!("admin{u:02}")
        } else {
            format!("u{u:02}")
        };
        for h in 0..60 {
            let hour = MONDAY + (h / 10 * 24 + 8 + h % 10) * HOUR_US;
            let r = if admin {
                let s = rng.between(10, 30);
                raw(
                    s,
                    rng.between(0, 1),
                    rng.between(1, 2),
                    1.0,
                    rng.between(1, 2),
                    rng.between(3, 10),
                )
            } else {
                let s = rng.between(1, 6);
                raw(
                    s,
                    rng.between(0, 1).min(s),
                    1.0,
                    1.0,
                    rng.between(1, 3),
                    rng.between(0, 1),
                )
            };
            out.push(obs(&user, hour, r));
        }
    }
    out
}

fn model() -> Model {
    fit(&history(), &TrainConfig::default()).expect("the history fits")
}

fn assess(m: &Model, user: &str, r: [f64; N_FEATURES]) -> Option<Assessment> {
    let o = obs(user, MONDAY + 14 * HOUR_US, r);
    m.assess(user, o.hour, &o.raw, &o.features)
}

#[test]
fn an_unusual_hour_is_a_finding_and_usual_ones_are_not() {
    let m = model();

    assert_eq!(assess(&m, "u01", raw(3.0, 0.0, 1.0, 1.0, 2.0, 0.0)), None);

    let a = assess(&m, "u01", raw(60.0, 41.0, 9.0, 3.0, 2.0, 0.0)).expect("a finding");
    assert!(a.known_user);
    assert!((15.0..=40.0).contains(&a.score), "{}", a.score);
    assert!(
        a.explanation
            .starts_with("u01's hour 2026-11-02 14:00 UTC: "),
        "{}",
        a.explanation
    );
    assert!(a.explanation.contains("peer group"), "{}", a.explanation);
    assert!(
        a.explanation.contains("training hours"),
        "{}",
        a.explanation
    );
}

#[test]
fn few_training_hours_are_past_the_threshold() {
    let m = model();
    let flagged = history()
        .iter()
        .filter(|o| m.assess(&o.user, o.hour, &o.raw, &o.features).is_some())
        .count();
    assert!(flagged <= 5, "{flagged} of 2400 training hours flagged");
}

#[test]
fn peer_groups_judge_admins_and_office_users_apart() {
    let m = model();
    assert_ne!(m.users["u01"], m.users["admin31"]);

    let busy = raw(20.0, 0.0, 1.0, 1.0, 1.0, 8.0);
    assert_eq!(assess(&m, "admin31", busy), None);
    let a = assess(&m, "u01", busy).expect("unusual for an office user");
    assert!(a.explanation.contains("8 hosts"), "{}", a.explanation);
}

#[test]
fn a_new_user_is_judged_against_the_nearest_group() {
    let m = model();
    assert_eq!(
        assess(&m, "newcomer", raw(3.0, 0.0, 1.0, 1.0, 2.0, 0.0)),
        None
    );
    let a = assess(&m, "newcomer", raw(60.0, 41.0, 9.0, 3.0, 2.0, 0.0)).expect("a finding");
    assert!(!a.known_user);
    assert!(
        a.explanation.contains("new user, nearest peer group"),
        "{}",
        a.explanation
    );
}

#[test]
fn a_model_round_trips_through_its_file() -> Result<(), ModelError> {
    let m = model();
    let dir = tempfile::tempdir().map_err(|e| ModelError::Fit(e.to_string()))?;
    let path = dir.path().join("model.json");
    m.save(&path)?;
    let back = Model::load(&path)?;
    assert_eq!(
        (&back.features, &back.window, &back.users),
        (&m.features, &m.window, &m.users)
    );
    assert_eq!(back.groups.len(), m.groups.len());
    // N.B. serde_json parses a float to within an ulp of what it wrote
    // (exact only with its `float_roundtrip` feature), so scores agree
    // to rounding, not bit for bit.
    let f = obs("u01", MONDAY, raw(60.0, 41.0, 9.0, 3.0, 2.0, 0.0)).features;
    for g in 0..m.groups.len() {
        let (a, b) = (back.nll(g, &f), m.nll(g, &f));
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} {b}");
        assert!((back.groups[g].threshold - m.groups[g].threshold).abs() < 1e-9);
    }
    Ok(())
}

#[test]
fn a_corrupt_or_foreign_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("model.json");

    std::fs::write(&path, "{\"version\": 1, \"features\": [").expect("written");
    let e = Model::load(&path).expect_err("corrupt").to_string();
    assert!(
        e.starts_with("model: ") && e.contains("model.json is not a usable model"),
        "{e}"
    );

    std::fs::write(&path, "{\"version\": 99}").expect("written");
    let e = Model::load(&path).expect_err("future").to_string();
    assert!(e.contains("version 99, this vigil reads 1: retrain"), "{e}");

    let mut m = model();
    m.features.swap(0, 1);
    m.save(&path).expect("saved");
    let e = Model::load(&path).expect_err("other features").to_string();
    assert!(e.contains("trained on features"), "{e}");

    let e = Model::load(&dir.path().join("missing.json"))
        .expect_err("missing")
        .to_string();
    assert!(e.contains("missing.json"), "{e}");
}

#[test]
fn too_little_history_is_a_clear_error() {
    let few: Vec<Obs> = history().into_iter().take(50).collect();
    let e = fit(&few, &TrainConfig::default())
        .expect_err("too few")
        .to_string();
    assert_eq!(
        e,
        "model: too little history to train: 50 entity-hours of 1 users; \
         at least 200 hours of 2 users are needed"
    );
}

/// An `authentication` batch: `(user, µs, failed, source address)` rows.
fn auth(rows: &[(&str, i64, bool, &str)]) -> RecordBatch {
    let mut b = BatchBuilder::new(Class::Authentication);
    for &(user, t, failed, ip) in rows {
        let mut r = b.row();
        r.time_us(Field::Time, t);
        r.str(Field::UserName, user);
        r.int(Field::ActivityId, 1);
        r.int(Field::StatusId, if failed { 2 } else { 1 });
        r.ip(Field::SrcEndpointIp, ip);
        r.str(Field::SrcEndpointLocationCountry, "GB");
        r.str(Field::ServiceName, "mail");
    }
    b.finish()
}

fn texts(out: &[(Class, RecordBatch)], col: &str) -> Vec<String> {
    out.iter()
        .flat_map(|(_, b)| {
            let c = b.column_by_name(col).expect("column").as_string::<i32>();
            (0..b.num_rows())
                .map(|i| c.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_detector_scores_closed_hours_and_emits_findings() -> Result<(), DetectError> {
    let mut d = ModelDetector::new(model());
    let h = MONDAY + 9 * HOUR_US;
    let minute = 60_000_000;

    let calm = auth(&[
        ("CORP\\U01", h, false, "10.0.0.5"),
        ("u01@corp", h + minute, false, "10.0.0.5"),
    ]);
    assert!(d.detect(Class::Authentication, &calm)?.is_empty());

    let attack: Vec<(&str, i64, bool, &str)> = (0..45)
        .map(|i| {
            (
                "u01",
                h + HOUR_US + i * minute,
                i < 41,
                ["198.51.100.1", "203.0.113.9", "192.0.2.7"][i as usize % 3],
            )
        })
        .collect();
    assert!(
        d.detect(Class::Authentication, &auth(&attack))?.is_empty(),
        "the hour is still open"
    );

    let later = auth(&[("u02", h + 3 * HOUR_US, false, "10.0.0.6")]);
    let out = d.detect(Class::Authentication, &later)?;
    assert_eq!(texts(&out, "finding_info_analytic_uid"), vec![ANALYTIC_UID]);
    assert_eq!(texts(&out, "entity_id"), vec!["u01"]);
    let desc = texts(&out, "finding_info_desc");
    assert!(
        desc[0].starts_with("u01's hour 2026-11-02 10:00 UTC: "),
        "{desc:?}"
    );
    let score = out[0].1.column_by_name("risk_score").expect("score");
    let score = score
        .as_any()
        .downcast_ref::<Float64Array>()
        .expect("float")
        .value(0);
    assert!((15.0..=40.0).contains(&score), "{score}");

    let late = auth(&[("u02", h, false, "10.0.0.6")]);
    d.detect(Class::Authentication, &late)?;
    let counters = d.counters();
    assert!(counters.contains(&("late_events", 1)), "{counters:?}");
    assert!(counters.contains(&("hours_scored", 2)), "{counters:?}");
    Ok(())
}

#[test]
fn state_survives_a_checkpoint_and_finish_flushes() -> Result<(), DetectError> {
    let mut d = ModelDetector::new(model());
    let h = MONDAY + 9 * HOUR_US;
    let attack: Vec<(&str, i64, bool, &str)> = (0..45)
        .map(|i| ("u01", h + i * 60_000_000, true, "198.51.100.1"))
        .collect();
    d.detect(Class::Authentication, &auth(&attack))?;
    let (users, bytes) = d.state_bytes();
    assert_eq!(users, 1);
    assert!(bytes < 1024, "{bytes} bytes for one user");

    let saved = d.save_state()?.expect("a state");
    let mut again = ModelDetector::new(d.model().clone());
    again.load_state(&saved)?;
    let out = again.finish()?;
    assert_eq!(texts(&out, "entity_id"), vec!["u01"]);
    let bad =
        serde_json::value::RawValue::from_string(r#"{"open": 3}"#.to_string()).expect("valid JSON");
    assert!(again.load_state(&bad).is_err());
    Ok(())
}

#[test]
fn the_trainer_reads_batches_as_the_detector_does() {
    let mut t = Trainer::new();
    let h = MONDAY + 9 * HOUR_US;
    t.add(&auth(&[
        ("CORP\\Alice", h, false, "10.0.0.5"),
        ("alice@corp", h + 5, true, "10.0.0.6"),
    ]));
    t.add(&auth(&[
        ("alice", h + HOUR_US, false, "10.0.0.5"),
        ("SYSTEM", h, false, "10.0.0.5"),
    ]));
    assert_eq!(t.hours(), 2);
    let e = t
        .fit(&TrainConfig::default())
        .expect_err("too few")
        .to_string();
    assert!(e.contains("2 entity-hours of 1 users"), "{e}");
}
