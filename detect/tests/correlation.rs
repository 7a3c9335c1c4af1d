//! The shipped correlation rules (`rules/correlations/`) over shared data:
//! the purplesharp password spray (SOURCES.md: 7×4625 on WORKSTATION5 at
//! 08:29:55) and Panther's Okta brute force (9 FAILURE then 1 SUCCESS for
//! one user), in order and shuffled.

use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, StringArray};
use arrow::datatypes::TimestampMicrosecondType;
use arrow_array::RecordBatch;
use vigil_detect::Detector;
use vigil_detect::sigma::{CorrelationConfig, Mappings, SigmaEngine};
use vigil_ingest::read::{Output, ReadOptions, read_input};
use vigil_ingest::source::{self, ByteCounter};
use vigil_schemas::Class;

const SPRAY_BY_WORKSTATION: &str = "0b8f5e1a-6c2d-4e7f-8a90-1c2d3e4f5a61";
const OKTA_BRUTE_FORCE: &str = "6f4a5b7c-8d9e-4f0a-9b2c-3d4e5f6a7b01";

fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel);
    assert!(p.exists(), "shared sample data missing: {}", p.display());
    p
}

fn engine() -> SigmaEngine {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/correlations");
    let m = Mappings::builtin().expect("builtin mappings");
    let (e, report) = SigmaEngine::load(&[&dir], &m).expect("load");
    assert!(report.failed.is_empty(), "{report}");
    // Two files: 3 base rules and 4 correlations.
    assert_eq!(report.loaded, 7, "{report}");
    assert_eq!(e.correlation_count(), 4);
    e
}

/// Decode a file into class batches; no record may be dead-lettered.
fn decode(path: &Path) -> Vec<(Class, RecordBatch)> {
    let input = source::open(path, &ByteCounter::default()).expect("open input");
    let mut out = Vec::new();
    read_input(input, &ReadOptions::default(), &mut |o| match o {
        Output::Batch(c, b) => out.push((c, b)),
        Output::DeadLetter(d) => panic!("dead letter: {}", d.reason),
    });
    out
}

/// Every row as its own batch, in file order.
fn rows(batches: &[(Class, RecordBatch)]) -> Vec<(Class, RecordBatch)> {
    batches
        .iter()
        .flat_map(|(c, b)| (0..b.num_rows()).map(move |i| (*c, b.slice(i, 1))))
        .collect()
}

fn text(b: &RecordBatch, name: &str, row: usize) -> Option<String> {
    let c: &StringArray = b.column_by_name(name)?.as_string_opt::<i32>()?;
    c.is_valid(row).then(|| c.value(row).to_string())
}

fn unmapped(b: &RecordBatch, row: usize, key: &str) -> Option<String> {
    let m = b.column_by_name("unmapped")?.as_map_opt()?;
    let (ks, vs) = (m.keys().as_string::<i32>(), m.values().as_string::<i32>());
    let off = m.value_offsets();
    (off[row] as usize..off[row + 1] as usize)
        .find(|&j| ks.value(j) == key)
        .map(|j| vs.value(j).to_string())
}

/// The source field `key` of the event with uid `uid`.
fn field_of(batches: &[(Class, RecordBatch)], uid: &str, key: &str) -> Option<String> {
    batches.iter().find_map(|(_, b)| {
        (0..b.num_rows())
            .find(|&r| text(b, "event_uid", r).as_deref() == Some(uid))
            .and_then(|r| unmapped(b, r, key))
    })
}

#[derive(Debug, Clone, PartialEq)]
struct Found {
    rule: String,
    uid: String,
    time_us: i64,
    entity: (Option<String>, Option<String>),
    evidence: Vec<String>,
    desc: String,
}

fn findings(out: Vec<(Class, RecordBatch)>) -> Vec<Found> {
    let mut v = Vec::new();
    for (class, b) in out {
        assert_eq!(class, Class::DetectionFinding);
        let time = b
            .column_by_name("time")
            .expect("time")
            .as_primitive::<TimestampMicrosecondType>();
        for r in 0..b.num_rows() {
            v.push(Found {
                rule: text(&b, "finding_info_analytic_uid", r).unwrap_or_default(),
                uid: text(&b, "finding_info_uid", r).unwrap_or_default(),
                time_us: time.value(r),
                entity: (text(&b, "entity_type", r), text(&b, "entity_id", r)),
                evidence: text(&b, "evidences_event_uids", r)
                    .map(|s| s.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
                desc: text(&b, "finding_info_desc", r).unwrap_or_default(),
            });
        }
    }
    v
}

fn run(e: &mut SigmaEngine, batches: &[(Class, RecordBatch)]) -> Vec<Found> {
    let mut all = Vec::new();
    for (c, b) in batches {
        all.extend(findings(e.detect(*c, b).expect("detect")));
    }
    all.extend(findings(e.finish().expect("finish")));
    all
}

#[test]
fn purplesharp_password_spray_gives_one_finding_for_workstation5() {
    let batches = decode(&shared(
        "auth/windows_json/purplesharp_ad_playbook_I_2020-10-22042947.security_auth.json",
    ));
    let mut e = engine();
    let found = run(&mut e, &batches);
    // Only the workstation correlation fires: the 4625s' IpAddress is '-'
    // (a local logon), so the address correlation skips all seven, and
    // the base rule makes no findings of its own (generate is false).
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(f.rule, SPRAY_BY_WORKSTATION);
    assert_eq!(
        f.entity,
        (Some("device".into()), Some("workstation5".into()))
    );
    // The fifth failure by time: mscott at 08:29:55.217Z.
    assert_eq!(f.time_us, 1_603_355_395_217_000);
    let users: Vec<String> = f
        .evidence
        .iter()
        .map(|u| field_of(&batches, u, "TargetUserName").unwrap_or_default())
        .collect();
    assert_eq!(
        users,
        ["lrodriguez", "pgustavo", "sysmonsvc", "sbeavers", "mscott"]
    );
    assert!(
        f.desc
            .contains("event_count 5 for WorkstationName=WORKSTATION5 within 1m (condition gte 5)"),
        "{}",
        f.desc
    );
    let stats = e.correlation_stats();
    assert_eq!(stats.missing_group, 7, "IpAddress '-' on every 4625");
    assert_eq!(stats.late, 0);

    // One event per batch with the seven 4625s in reverse order: all within
    // milliseconds, so within the lateness, and the same finding.
    let mut single = rows(&batches);
    let spray: Vec<usize> = (0..single.len())
        .filter(|&i| unmapped(&single[i].1, 0, "EventID").as_deref() == Some("4625"))
        .collect();
    assert_eq!(spray.len(), 7);
    let reversed: Vec<(Class, RecordBatch)> =
        spray.iter().rev().map(|&i| single[i].clone()).collect();
    for (slot, b) in spray.iter().zip(reversed) {
        single[*slot] = b;
    }
    let mut e = engine();
    assert_eq!(run(&mut e, &single), found);
    assert_eq!(e.correlation_stats().late, 0);
}

#[test]
fn okta_brute_force_then_success_gives_one_finding_for_the_user() {
    let batches = decode(&shared(
        "auth/okta/panther_scenario_okta-add-administrator_2_brute_force_logins.jsonl",
    ));
    let mut e = engine();
    let found = run(&mut e, &batches);
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(f.rule, OKTA_BRUTE_FORCE);
    assert_eq!(
        f.entity,
        (
            Some("user".into()),
            Some("jack.naglieri@runpanther.io".into())
        )
    );
    // The success at 21:41:03.49Z completes the order.
    assert_eq!(f.time_us, 1_624_657_263_490_000);
    // The repeated-failures finding (the fifth failure, 21:31:03.49Z, is
    // within 10 minutes of the first), then the success event.
    assert_eq!(f.evidence.len(), 2);
    assert_eq!(f.evidence[0].len(), 32, "a finding id");
    assert_eq!(
        field_of(&batches, &f.evidence[1], "uuid").as_deref(),
        Some("d251ee38-0d2a-4798-9f9f-5b77f110bde9")
    );
    assert!(
        f.desc.contains(
            "temporal_ordered 2 for actor.alternateId=jack.naglieri@runpanther.io within 30m"
        ),
        "{}",
        f.desc
    );

    // Shuffled, one event per batch, with a lateness that covers the
    // 14 minutes the events span: the same finding and id.
    let single = rows(&batches);
    assert_eq!(single.len(), 10);
    let order = [3, 0, 7, 1, 9, 5, 2, 8, 4, 6];
    let shuffled: Vec<(Class, RecordBatch)> = order.iter().map(|&i| single[i].clone()).collect();
    let mut e = engine();
    e.set_correlation_config(CorrelationConfig {
        lateness_us: 3_600_000_000,
        ..CorrelationConfig::default()
    });
    assert_eq!(run(&mut e, &shuffled), found);
    assert_eq!(e.correlation_stats().late, 0);

    // Newest first with the default 5 s lateness: the success comes first,
    // every failure is then late, and nothing fires.
    let reversed: Vec<(Class, RecordBatch)> = single.iter().rev().cloned().collect();
    let mut e = engine();
    assert_eq!(run(&mut e, &reversed), vec![]);
    assert_eq!(e.correlation_stats().late, 9);
}
