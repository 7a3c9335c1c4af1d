use std::collections::{BTreeMap, HashSet};
use std::io::Cursor;

use chrono::{NaiveDate, Utc};

use super::*;
use crate::read::{Output, ReadOptions, read_input};
use crate::source::Input;

fn cfg(seed: u64, users: u32, days: u32, warmup_days: u32) -> SimConfig {
    SimConfig {
        seed,
        users,
        start: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default(),
        days,
        warmup_days,
    }
}

fn run(c: &SimConfig) -> (Vec<SimRecord>, Vec<Label>, i64) {
    let mut sim = Simulator::new(c).expect("config is valid");
    let start = sim.labelled_start_ms();
    let recs: Vec<SimRecord> = sim.by_ref().collect();
    (recs, sim.labels(), start)
}

/// The source id a label would name for this record, if any.
fn source_ids(r: &SimRecord) -> Option<String> {
    let text = String::from_utf8_lossy(&r.bytes);
    match r.sink {
        Sink::Okta | Sink::Windows => {
            let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            let id = v.get("uuid").or_else(|| v.get("EventRecordID"))?;
            Some(id.as_str().map_or_else(|| id.to_string(), str::to_string))
        }
        Sink::ZeekConn => text.split('\t').nth(1).map(str::to_string),
        _ => None,
    }
}

#[test]
fn same_seed_gives_the_same_bytes() {
    let c = cfg(42, 30, 2, 1);
    let (a, la, _) = run(&c);
    let (b, lb, _) = run(&c);
    assert!(a.len() > 1000, "only {} records", a.len());
    assert!(a == b, "two runs with one seed differ");
    assert_eq!(la, lb);
}

#[test]
fn different_seeds_differ() {
    let (a, _, _) = run(&cfg(1, 30, 1, 1));
    let (b, _, _) = run(&cfg(2, 30, 1, 1));
    assert!(a != b);
}

#[test]
fn records_come_in_time_order_inside_the_run() {
    let c = cfg(3, 40, 2, 1);
    let (recs, _, start) = run(&c);
    assert!(recs.windows(2).all(|w| w[0].time_ms <= w[1].time_ms));
    let begin = start - 86_400_000;
    let end = start + 2 * 86_400_000;
    assert!(recs.iter().all(|r| r.time_ms >= begin && r.time_ms < end));
}

#[test]
fn every_label_event_id_is_in_the_output_and_ids_are_unique() {
    let (recs, labels, _) = run(&cfg(5, 60, 2, 1));
    let mut seen = HashSet::new();
    for r in &recs {
        if let Some(id) = source_ids(r) {
            assert!(seen.insert(id.clone()), "id {id} written twice");
        }
    }
    assert!(!labels.is_empty());
    for l in &labels {
        assert!(l.events > 0 && l.start_ms <= l.end_ms, "{l:?}");
        for id in &l.event_ids {
            assert!(
                seen.contains(id),
                "{} names {id}, not written",
                l.scenario.name()
            );
        }
    }
}

#[test]
fn attacks_only_in_the_labelled_period_and_every_scenario_labelled() {
    let (recs, labels, start) = run(&cfg(9, 60, 3, 7));
    assert!(
        recs.iter()
            .all(|r| r.scenario.is_none() || r.time_ms >= start)
    );
    assert!(labels.iter().all(|l| l.start_ms >= start));
    let history = recs.iter().filter(|r| r.time_ms < start);
    assert!(history.clone().count() > 1000);
    assert!(history.clone().all(|r| r.scenario.is_none()));
    let kinds: HashSet<Scenario> = labels.iter().map(|l| l.scenario).collect();
    for s in Scenario::ALL {
        assert!(kinds.contains(s), "no {} instance", s.name());
    }
    for l in &labels {
        if l.entity_type == "user" {
            assert_eq!(l.entity_id, l.entity_id.to_lowercase());
            assert!(!l.entity_id.contains('@'));
        }
    }
}

#[test]
fn the_real_decoders_read_every_record() {
    let (recs, _, _) = run(&cfg(11, 40, 2, 1));
    let mut files: BTreeMap<Sink, Vec<u8>> = BTreeMap::new();
    for r in &recs {
        let f = files
            .entry(r.sink)
            .or_insert_with(|| r.sink.preamble(r.time_ms).unwrap_or_default().into_bytes());
        f.extend_from_slice(&r.bytes);
        f.push(b'\n');
    }
    assert_eq!(files.len(), Sink::ALL.len(), "a file kind is missing");
    for (sink, bytes) in files {
        let (format, rows, dead) = decode(sink.file_name(), bytes);
        assert_eq!(format, Some(sink.format()), "{} sniffed wrong", sink.name());
        assert_eq!(dead, Vec::<String>::new(), "{} dead letters", sink.name());
        assert!(rows > 0, "{} gave no rows", sink.name());
    }
}

/// Read `bytes` as file `name` through the real read path: the format it
/// was sniffed as, rows made, dead-letter reasons.
fn decode(name: &str, bytes: Vec<u8>) -> (Option<Format>, usize, Vec<String>) {
    let head = bytes[..bytes.len().min(crate::source::SNIFF_BYTES)].to_vec();
    let input = Input {
        name: name.to_string(),
        id: name.to_string(),
        mtime: Utc::now(),
        head,
        reader: Box::new(Cursor::new(bytes)),
        gzip: false,
        path: None,
    };
    let mut rows = 0;
    let mut dead = Vec::new();
    let (format, _) = read_input(input, &ReadOptions::default(), &mut |out| match out {
        Output::Batch(_, b) => rows += b.num_rows(),
        Output::DeadLetter(d) => dead.push(format!("{}: {}", d.reason, d.record)),
    });
    dead.truncate(3);
    (format, rows, dead)
}

#[test]
fn writer_lays_out_hourly_files_and_labels() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = Simulator::new(&cfg(13, 30, 1, 1)).expect("config is valid");
    let summary = writer::write_dir(sim, dir.path()).expect("written");
    let labels = std::fs::read_to_string(dir.path().join("labels.csv")).expect("labels.csv");
    let mut lines = labels.lines();
    assert_eq!(
        lines.next(),
        Some("scenario,entity_type,entity_id,start,end,event_ids")
    );
    assert_eq!(lines.count(), summary.labels.len());
    let okta = dir.path().join("events/2026-11-02/14/3-okta.jsonl");
    assert!(okta.exists(), "{} missing", okta.display());
    let hist = dir.path().join("history/2026-11-01");
    assert!(hist.is_dir());
    let meta = std::fs::read_to_string(dir.path().join("sim.json")).expect("sim.json");
    let v: serde_json::Value = serde_json::from_str(&meta).expect("sim.json is JSON");
    assert_eq!(v["args"]["users"], 30);
}
