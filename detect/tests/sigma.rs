//! The Sigma engine over events decoded by vigil-ingest: the shared rule
//! set, the purplesharp Security log (SOURCES.md known answers) and the
//! BH-09 events of `shared/edge-cases.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use vigil_detect::Detector;
use vigil_detect::sigma::{Mappings, SigmaEngine};
use vigil_ingest::Format;
use vigil_ingest::read::{Output, ReadOptions, read_input};
use vigil_ingest::source::{self, ByteCounter};
use vigil_schemas::Class;

fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel);
    assert!(p.exists(), "shared sample data missing: {}", p.display());
    p
}

/// Decode a file into class batches; no record may be dead-lettered.
fn decode(path: &Path, format: Option<Format>) -> Vec<(Class, RecordBatch)> {
    let input = source::open(path, &ByteCounter::default()).expect("open input");
    let opts = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    let mut out = Vec::new();
    read_input(input, &opts, &mut |o| match o {
        Output::Batch(c, b) => out.push((c, b)),
        Output::DeadLetter(d) => panic!("dead letter: {}", d.reason),
    });
    out
}

fn shared_engine() -> SigmaEngine {
    let m = Mappings::builtin().expect("builtin mappings");
    let (e, report) = SigmaEngine::load(&[&shared("sigma/rules")], &m).expect("load");
    assert!(report.failed.is_empty(), "{report}");
    e
}

/// Findings per rule id over the decoded batches.
fn count_by_rule(e: &SigmaEngine, batches: &[(Class, RecordBatch)]) -> BTreeMap<String, usize> {
    let mut n = BTreeMap::new();
    for (class, b) in batches {
        for (r, rows) in e.matches(*class, b) {
            let id = e.rule(r).map(|m| m.id.clone()).unwrap_or_default();
            *n.entry(id).or_insert(0) += rows.len();
        }
    }
    n
}

#[test]
fn the_shared_rule_set_loads_at_least_97_percent() {
    let m = Mappings::builtin().expect("builtin mappings");
    let (e, report) = SigmaEngine::load(&[&shared("sigma/rules")], &m).expect("load");
    // 418 files, one rule each (SOURCES.md).
    assert_eq!(report.total(), 418, "{report}");
    assert!(report.loaded * 100 >= 418 * 97, "{report}");
    assert_eq!(report.loaded, 415);
    assert_eq!(e.len(), 415);
    let unplaced: Vec<&str> = report
        .unplaced
        .iter()
        .map(|u| u.logsource.as_str())
        .collect();
    assert_eq!(
        unplaced,
        [
            "cisco/duo/-",
            "onelogin/onelogin.events/-",
            "onelogin/onelogin.events/-"
        ]
    );
}

#[test]
fn purplesharp_gives_the_known_finding_counts() {
    let path =
        shared("auth/windows_json/purplesharp_ad_playbook_I_2020-10-22042947.security_auth.json");
    let batches = decode(&path, None);
    let n = count_by_rule(&shared_engine(), &batches);
    let get = |prefix: &str| {
        n.iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| *v)
            .sum::<usize>()
    };
    // SOURCES.md: 496a0e47 5, d04ae2b8 5, 9eb99343 0.
    assert_eq!(get("496a0e47"), 5, "{n:?}");
    assert_eq!(get("d04ae2b8"), 5, "{n:?}");
    assert_eq!(get("9eb99343"), 0, "{n:?}");
    // 4634 user logoff (rule 0badd08f): 31 in the file (SOURCES.md).
    assert_eq!(get("0badd08f"), 31, "{n:?}");
}

#[test]
fn finding_ids_are_stable_across_runs() {
    let path =
        shared("auth/windows_json/purplesharp_ad_playbook_I_2020-10-22042947.security_auth.json");
    let ids = || {
        let mut e = shared_engine();
        let mut out = Vec::new();
        for (class, b) in decode(&path, None) {
            for (_, f) in e.detect(class, &b).expect("detect") {
                let col = f.column_by_name("finding_info_uid").expect("uid column");
                let col = arrow::array::AsArray::as_string::<i32>(col);
                out.extend(col.iter().flatten().map(str::to_string));
            }
        }
        out.sort();
        out
    };
    let a = ids();
    assert_eq!(a.len(), 41);
    assert_eq!(a, ids());
    let mut d = a.clone();
    d.dedup();
    assert_eq!(d.len(), a.len(), "finding ids must be distinct");
}

#[test]
fn bh09_event_id_shapes_and_channel_scoping() {
    let events = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Service Control Manager"}},"EventID":7045,"Channel":"System","Computer":"host-a"}}}
{"Event":{"System":{"Provider":{"#attributes":{"Name":"Service Control Manager"}},"EventID":"7045","Channel":"System","Computer":"host-a"}}}
{"Event":{"System":{"Provider":{"#attributes":{"Name":"Service Control Manager"}},"EventID":{"#attributes":{"Qualifiers":16384},"#text":7045},"Channel":"System","Computer":"host-a"}}}
{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-DNSServer"}},"EventID":1500,"Channel":"DNS Server","Computer":"host-a"}}}
{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-DNSServer"}},"EventID":150,"Channel":"DNS Server","Computer":"host-a"}}}
{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Wcmsvc"}},"EventID":1116,"Channel":"Microsoft-Windows-Wcmsvc/Operational","Computer":"host-a"}}}
"##;
    let rules = "title: R1\nid: R1\nlogsource: {product: windows, service: system}\n\
detection:\n  selection:\n    Provider_Name: 'Service Control Manager'\n    EventID: 7045\n  condition: selection\n\
---\ntitle: R2\nid: R2\nlogsource: {product: windows, service: dns-server}\n\
detection:\n  selection:\n    EventID: [150, 770, 771]\n  condition: selection\n\
---\ntitle: R3\nid: R3\nlogsource: {product: windows, service: windefend}\n\
detection:\n  selection:\n    EventID: 1116\n  condition: selection\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bh09.json");
    std::fs::write(&file, events).expect("write events");
    let m = Mappings::builtin().expect("builtin");
    let (e, report) = SigmaEngine::from_yaml("bh09.yml", rules, &m);
    assert_eq!(report.loaded, 3, "{report}");
    let mut hits: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut offset = 0;
    for (class, b) in decode(&file, Some(Format::WindowsEvtxJson)) {
        for (r, rows) in e.matches(class, &b) {
            let id = e.rule(r).map(|m| m.id.clone()).unwrap_or_default();
            hits.entry(id)
                .or_default()
                .extend(rows.iter().map(|x| x + offset + 1));
        }
        offset += b.num_rows();
    }
    assert_eq!(offset, 6);
    // BH-09 expected: R1 on events 1-3, R2 on event 5 only, R3 on none.
    assert_eq!(hits.get("R1"), Some(&vec![1, 2, 3]));
    assert_eq!(hits.get("R2"), Some(&vec![5]));
    assert_eq!(hits.get("R3"), None);
}

#[test]
fn okta_rules_run_through_the_identity_mapping() {
    // Panther's okta-add-administrator scenario: step 3 is one
    // user.account.privilege.grant, step 4 one user.lifecycle.create; the
    // brute force of step 2 has neither. SigmaHQ 413d4a81 (admin role
    // assigned) and b6c718dd (user created) match on eventType alone.
    let e = shared_engine();
    let run = |file: &str| {
        let path = shared(&format!(
            "auth/okta/panther_scenario_okta-add-administrator_{file}"
        ));
        count_by_rule(&e, &decode(&path, None))
    };
    let admin = run("3_admin_privs_assigned.jsonl");
    assert_eq!(
        admin.get("413d4a81-6c98-4479-9863-014785fd579c"),
        Some(&1),
        "{admin:?}"
    );
    assert_eq!(admin.values().sum::<usize>(), 1, "{admin:?}");
    let user = run("4_new-user.jsonl");
    assert_eq!(
        user.get("b6c718dd-8f53-4b9f-98d8-93fdca966969"),
        Some(&1),
        "{user:?}"
    );
    assert_eq!(user.values().sum::<usize>(), 1, "{user:?}");
    assert!(run("2_brute_force_logins.jsonl").is_empty());
}
