//! Sigma engine throughput: the shared rule set over the SigmaHQ
//! regression events (222 Windows events, mostly Sysmon), repeated into
//! batches of 8192 rows, as events per second on one core.

use std::path::Path;

use arrow::compute::concat_batches;
use arrow_array::RecordBatch;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vigil_detect::sigma::{Mappings, SigmaEngine};
use vigil_ingest::Format;
use vigil_ingest::read::{Output, ReadOptions, read_input};
use vigil_ingest::source::{self, ByteCounter};
use vigil_schemas::Class;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/sigma");

fn json_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

/// The regression events as base-event rows, repeated to `rows`.
fn events(rows: usize) -> RecordBatch {
    let mut files = Vec::new();
    json_files(&Path::new(DATA).join("regression_data"), &mut files);
    let opts = ReadOptions {
        format: Some(Format::WindowsEvtxJson),
        ..ReadOptions::default()
    };
    let mut batches = Vec::new();
    for f in files {
        let input = source::open(&f, &ByteCounter::default()).expect("open");
        read_input(input, &opts, &mut |o| {
            if let Output::Batch(Class::BaseEvent, b) = o {
                batches.push(b);
            }
        });
    }
    let one = concat_batches(&Class::BaseEvent.schema(), &batches).expect("concat");
    let copies = rows.div_ceil(one.num_rows().max(1));
    let all: Vec<RecordBatch> = std::iter::repeat_n(one, copies).collect();
    let big = concat_batches(&Class::BaseEvent.schema(), &all).expect("concat");
    big.slice(0, rows.min(big.num_rows()))
}

fn bench(c: &mut Criterion) {
    let m = Mappings::builtin().expect("mappings");
    let rules = Path::new(DATA).join("rules");
    let (engine, _) = SigmaEngine::load(&[&rules], &m).expect("rules");
    let batch = events(8192);
    let mut g = c.benchmark_group("sigma");
    g.throughput(Throughput::Elements(batch.num_rows() as u64));
    g.bench_function("shared_rules_8192_events", |b| {
        b.iter(|| engine.matches(Class::BaseEvent, &batch))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
