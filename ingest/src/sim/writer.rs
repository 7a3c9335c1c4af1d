//! Lays a [`Simulator`] stream out as files a replay reads in time order.
//!
//! ```text
//! DIR/history/2026-10-26/08/3-okta.jsonl      before --start: no attacks
//! DIR/events/2026-11-02/08/1-mdm.json         the labelled period
//!                          2-osquery.log  3-okta.jsonl  4-windows.json
//!                          5-sshd.log     6-zeek-conn.log
//! DIR/labels.csv                              one row per attack instance
//! DIR/sim.json                                arguments and counts
//! ```
//!
//! Files are per hour, so reading `DIR/events` in sorted path order sees
//! events in time order across sources to within the hour; within a file
//! records are in time order. An hour without records of a kind has no
//! file of that kind.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::DateTime;
use serde_json::json;

use super::event::rfc3339_ms;
use super::{Label, Scenario, SimError, Simulator, Sink};

/// What a written run holds.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Records per sink.
    pub counts: BTreeMap<Sink, u64>,
    /// The labels, as in `labels.csv`.
    pub labels: Vec<Label>,
    /// Instances planned per scenario.
    pub planned: Vec<(Scenario, usize)>,
    /// Instances that could not be planned.
    pub skipped: Vec<(Scenario, String)>,
}

/// Open files of the current hour.
struct Hour {
    key: (bool, i64),
    dir: PathBuf,
    files: HashMap<Sink, BufWriter<File>>,
}

/// Write the whole stream under `dir`, then `labels.csv` and `sim.json`.
///
/// # Errors
///
/// [`SimError::Io`] naming the file that could not be created or written.
pub fn write_dir(mut sim: Simulator, dir: &Path) -> Result<Summary, SimError> {
    let start = sim.labelled_start_ms();
    let mut hour: Option<Hour> = None;
    for rec in sim.by_ref() {
        let key = (rec.time_ms >= start, rec.time_ms.div_euclid(3_600_000));
        if hour.as_ref().is_none_or(|h| h.key != key) {
            if let Some(h) = hour.take() {
                close(h)?;
            }
            hour = Some(open_hour(dir, key)?);
        }
        if let Some(h) = hour.as_mut() {
            write_record(h, rec.sink, rec.time_ms, &rec.bytes)?;
        }
    }
    if let Some(h) = hour.take() {
        close(h)?;
    }
    let summary = Summary {
        counts: sim.counts().iter().map(|(k, v)| (*k, *v)).collect(),
        labels: sim.labels(),
        planned: sim.planned(),
        skipped: sim.skipped().to_vec(),
    };
    write_labels(&dir.join("labels.csv"), &summary.labels)?;
    write_meta(&dir.join("sim.json"), &sim, &summary)?;
    Ok(summary)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SimError + '_ {
    move |source| SimError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn open_hour(dir: &Path, key: (bool, i64)) -> Result<Hour, SimError> {
    let t = DateTime::from_timestamp(key.1 * 3600, 0).unwrap_or_default();
    let part = if key.0 { "events" } else { "history" };
    let path = dir
        .join(part)
        .join(t.format("%Y-%m-%d").to_string())
        .join(t.format("%H").to_string());
    fs::create_dir_all(&path).map_err(io(&path))?;
    Ok(Hour {
        key,
        dir: path,
        files: HashMap::new(),
    })
}

fn write_record(h: &mut Hour, sink: Sink, t: i64, bytes: &[u8]) -> Result<(), SimError> {
    let path = h.dir.join(sink.file_name());
    let w = match h.files.entry(sink) {
        Entry::Occupied(o) => o.into_mut(),
        Entry::Vacant(v) => {
            let f = File::create(&path).map_err(io(&path))?;
            let mut w = BufWriter::with_capacity(256 * 1024, f);
            if let Some(head) = sink.preamble(t) {
                w.write_all(head.as_bytes()).map_err(io(&path))?;
            }
            v.insert(w)
        }
    };
    w.write_all(bytes).map_err(io(&path))?;
    w.write_all(b"\n").map_err(io(&path))
}

/// Flush the hour's files, ending each as its kind ends (Zeek's `#close`
/// at the end of the hour).
fn close(h: Hour) -> Result<(), SimError> {
    let end = (h.key.1 + 1) * 3_600_000;
    for (sink, mut w) in h.files {
        let path = h.dir.join(sink.file_name());
        if let Some(tail) = sink.postamble(end) {
            w.write_all(tail.as_bytes()).map_err(io(&path))?;
        }
        w.flush().map_err(io(&path))?;
    }
    Ok(())
}

/// `labels.csv`: `scenario,entity_type,entity_id,start,end,event_ids`.
fn write_labels(path: &Path, labels: &[Label]) -> Result<(), SimError> {
    let f = File::create(path).map_err(io(path))?;
    let mut w = BufWriter::new(f);
    let mut text = String::from("scenario,entity_type,entity_id,start,end,event_ids\n");
    for l in labels {
        text.push_str(&format!(
            "{},{},{},{},{},{}\n",
            l.scenario.name(),
            l.entity_type,
            l.entity_id,
            rfc3339_ms(l.start_ms),
            rfc3339_ms(l.end_ms),
            l.event_ids.join(";"),
        ));
    }
    w.write_all(text.as_bytes()).map_err(io(path))?;
    w.flush().map_err(io(path))
}

/// `sim.json`: the arguments, records per file kind, and per scenario the
/// instances planned, labelled and their events.
fn write_meta(path: &Path, sim: &Simulator, s: &Summary) -> Result<(), SimError> {
    let cfg = sim.config();
    let per_kind: BTreeMap<&str, u64> = s.counts.iter().map(|(k, v)| (k.name(), *v)).collect();
    let mut scenarios = serde_json::Map::new();
    for &(sc, planned) in &s.planned {
        let mine = s.labels.iter().filter(|l| l.scenario == sc);
        let events: u64 = mine.clone().map(|l| l.events).sum();
        let skipped: Vec<&str> = s
            .skipped
            .iter()
            .filter(|k| k.0 == sc)
            .map(|k| k.1.as_str())
            .collect();
        let entry = json!({
            "planned": planned,
            "labelled": mine.count(),
            "events": events,
            "skipped": skipped,
        });
        scenarios.insert(sc.name().to_string(), entry);
    }
    let meta = json!({
        "args": {
            "seed": cfg.seed,
            "users": cfg.users,
            "days": cfg.days,
            "warmup_days": cfg.warmup_days,
            "start": cfg.start.to_string(),
        },
        "records": per_kind,
        "scenarios": scenarios,
    });
    let text = serde_json::to_string_pretty(&meta).unwrap_or_default();
    fs::write(path, text + "\n").map_err(io(path))
}
