//! Every file under ../shared/data/{auth,network,device} decodes without a
//! crash, and the rows per class and dead letters per file are pinned in
//! `tests/golden/shared_data_counts.tsv`.
//!
//! The per-family tests (windows.rs, syslog.rs, identity.rs, network.rs,
//! device.rs) check the values behind these counts by hand; this test
//! catches any change in what a file becomes. After a deliberate change,
//! regenerate with `VIGIL_BLESS=1 cargo test -p vigil-ingest --test shared_data`
//! and review the diff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use vigil_ingest::DecodeConfig;
use vigil_ingest::read::{Output, ReadOptions, read_input};
use vigil_ingest::source::{self, ByteCounter};

fn shared() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data");
    assert!(
        p.join("SOURCES.md").is_file(),
        "shared sample data missing at {}: the tests need ../shared/data beside the repo",
        p.display()
    );
    p
}

/// Replays are deterministic: a fixed reference time for year-less stamps.
fn options() -> ReadOptions {
    let reference = chrono::DateTime::parse_from_rfc3339("2026-12-03T00:00:00Z")
        .expect("constant")
        .with_timezone(&chrono::Utc);
    ReadOptions {
        decode: DecodeConfig {
            reference_time: reference,
            ..DecodeConfig::default()
        },
        ..ReadOptions::default()
    }
}

struct FileCounts {
    format: String,
    rows: BTreeMap<&'static str, u64>,
    dead: Vec<String>,
}

fn replay(path: &Path) -> FileCounts {
    let input = source::open(path, &ByteCounter::default()).expect("open");
    let mut rows: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut dead = Vec::new();
    let mut opts = options();
    // N.B. read_input sets the reference time from the file's mtime; pin it
    // by giving the input a fixed mtime instead.
    let mut input = input;
    input.mtime = opts.decode.reference_time;
    opts.format = None;
    let (format, _) = read_input(input, &opts, &mut |o| match o {
        Output::Batch(c, b) => *rows.entry(c.name()).or_default() += b.num_rows() as u64,
        Output::DeadLetter(d) => dead.push(format!("{}:{}: {}", d.line, d.offset, d.reason)),
    });
    FileCounts {
        format: format.map_or("unknown", |f| f.name()).to_string(),
        rows,
        dead,
    }
}

fn table() -> String {
    let root = shared();
    let dirs = ["auth", "network", "device"].map(|d| root.join(d));
    let files = source::expand(&dirs).expect("list shared data");
    let mut out = String::from("# file\tformat\trows per class\tdead letters\n");
    for f in files {
        let rel = f
            .strip_prefix(&root)
            .expect("under root")
            .display()
            .to_string();
        let c = replay(&f);
        let rows: Vec<String> = c.rows.iter().map(|(k, v)| format!("{k}={v}")).collect();
        out.push_str(&format!(
            "{rel}\t{}\t{}\t{}\n",
            c.format,
            rows.join(","),
            c.dead.len()
        ));
        for d in &c.dead {
            out.push_str(&format!("#   {rel} {d}\n"));
        }
    }
    out
}

#[test]
fn every_shared_file_decodes_to_the_pinned_counts() {
    let have = table();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/shared_data_counts.tsv");
    if std::env::var_os("VIGIL_BLESS").is_some() {
        std::fs::write(&path, &have).expect("write golden");
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let diff: Vec<String> = want
            .lines()
            .zip(have.lines())
            .filter(|(a, b)| a != b)
            .take(10)
            .map(|(a, b)| format!("- {a}\n+ {b}"))
            .collect();
        panic!(
            "decoded counts differ from {} (VIGIL_BLESS=1 to accept after review):\n{}",
            path.display(),
            diff.join("\n")
        );
    }
}

#[test]
fn every_dead_letter_says_what_was_wrong() {
    let root = shared();
    let dirs = ["auth", "network", "device"].map(|d| root.join(d));
    for f in source::expand(&dirs).expect("list") {
        for d in replay(&f).dead {
            let reason = d.split_once(": ").map_or("", |(_, r)| r);
            assert!(
                reason.len() > 10,
                "{}: vague dead-letter reason {d:?}",
                f.display()
            );
            assert!(!reason.contains("not built yet"), "{}: {d}", f.display());
        }
    }
}
