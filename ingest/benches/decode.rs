//! Decoder throughput per format family, from memory, one core.
//!
//! `cargo bench -p vigil-ingest --bench decode`. Inputs are the public
//! samples in ../shared/data, each repeated in memory to at least 4 MB so
//! that per-file setup does not dominate. Throughput is reported in bytes,
//! so criterion prints MB/s.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vigil_ingest::read::{Output, ReadOptions, read_input};
use vigil_ingest::source::Input;

const FAMILIES: &[(&str, &str)] = &[
    (
        "windows-json",
        "auth/windows_json/empire_shell_rubeus_asktgt_ptt_2020-09-21223848.json",
    ),
    (
        "okta",
        "auth/okta/panther_scenario_okta-add-administrator_2_brute_force_logins.jsonl",
    ),
    (
        "entra",
        "auth/entra_m365/GoldenSAMLADFSMailAccess_AADAuditEvents.json",
    ),
    // Panther rule-test records wrap each event ({"rule_id":..,"log":{..}}),
    // so they sniff as generic JSON: this measures the generic decoder.
    (
        "json-generic",
        "labeled/panther_rule_tests/okta_systemlog.jsonl",
    ),
    (
        "cloudtrail",
        "auth/aws_cloudtrail/ec2_proxy_s3_exfiltration_2020-09-14011940.json",
    ),
    ("syslog", "auth/linux_sshd/loghub_OpenSSH_2k.log"),
    (
        "zeek-json",
        "network/zeek_json/apt29_day1_combined_zeek.log",
    ),
    ("zeek-tsv", "network/zeek_tsv/wrccdc2018/rdp.log"),
    ("cicflow", "labeled/cicids2017_improved/BENIGN_2500.csv"),
    ("evtx", "auth/evtx/chainsaw_security_sample.evtx"),
];

fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data")
        .join(rel);
    assert!(p.exists(), "bench data missing: {}", p.display());
    p
}

/// The file repeated to at least 4 MB, one record per line kept whole.
/// Binary EVTX and files with a header are used once.
fn load(rel: &str) -> Vec<u8> {
    let bytes = std::fs::read(shared(rel)).expect("read bench input");
    let repeatable = !(rel.ends_with(".evtx") || rel.ends_with(".csv") || rel.contains("zeek_tsv"));
    if !repeatable {
        return bytes;
    }
    let mut out = Vec::with_capacity(4 << 20);
    while out.len() < 4 << 20 {
        out.extend_from_slice(&bytes);
        if !bytes.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out
}

/// An in-memory input; `Cursor` is its own `BufRead`, so the bytes are not
/// copied before framing.
fn input(bytes: &Arc<[u8]>) -> Input {
    Input {
        name: "bench".into(),
        id: "bench".into(),
        mtime: chrono::Utc::now(),
        head: bytes[..bytes.len().min(64 * 1024)].to_vec(),
        reader: Box::new(Cursor::new(bytes.clone())),
        gzip: false,
        path: None,
    }
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    group.sample_size(10);
    for (name, rel) in FAMILIES {
        let bytes: Arc<[u8]> = load(rel).into();
        let opts = ReadOptions::default();
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(*name, |b| {
            b.iter(|| {
                let mut rows = 0usize;
                read_input(input(&bytes), &opts, &mut |o| {
                    if let Output::Batch(_, batch) = o {
                        rows += batch.num_rows();
                    }
                });
                rows
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
