//! Sigma engine throughput on one core.
//!
//! - `sigma/shared_rules_8192_events`: every shared rule vigil loads over
//!   the SigmaHQ regression events (222 Windows events, mostly Sysmon),
//!   repeated into one batch of 8192 rows.
//! - `sigma_vs_rsigma/{vigil,rsigma}/{100,all}`: vigil and `rsigma-eval`
//!   over the same decoded events (the Mordor Windows files and the
//!   regression events) and the same rules (those both load; the first
//!   100 by rule id, and all of them), after checking that both find the
//!   same (rule, event) matches. `vigil bench sigma` is the longer run of
//!   the same comparison; see `support/sigma_compare.rs` for what keeps
//!   it fair.

#[path = "support/sigma_compare.rs"]
mod sigma_compare;

use std::path::{Path, PathBuf};

use arrow::compute::concat_batches;
use arrow_array::RecordBatch;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vigil_detect::sigma::{Mappings, SigmaEngine};
use vigil_schemas::Class;

use self::sigma_compare as cmp;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

/// The regression events' base-event rows, repeated to `rows`.
fn regression_batch(corpus: &cmp::Corpus, rows: usize) -> RecordBatch {
    let schema = Class::BaseEvent.schema();
    let one: Vec<&RecordBatch> = corpus
        .batches
        .iter()
        .filter(|(c, _)| *c == Class::BaseEvent)
        .map(|(_, b)| b)
        .collect();
    let one = concat_batches(&schema, one).expect("batches of one class concatenate");
    let copies = rows.div_ceil(one.num_rows().max(1));
    let all = concat_batches(&schema, &vec![one; copies]).expect("same schema");
    all.slice(0, rows.min(all.num_rows()))
}

fn shared_rules_8192(c: &mut Criterion, m: &Mappings) {
    let data = Path::new(DATA).join("sigma");
    let (engine, _) = SigmaEngine::load(&[&data.join("rules")], m).expect("rules");
    let corpus = cmp::read_events(&[data.join("regression_data")]).expect("regression events");
    let batch = regression_batch(&corpus, 8192);
    let mut g = c.benchmark_group("sigma");
    g.throughput(Throughput::Elements(batch.num_rows() as u64));
    g.bench_function("shared_rules_8192_events", |b| {
        b.iter(|| engine.matches(Class::BaseEvent, &batch))
    });
    g.finish();
}

fn versus_rsigma(c: &mut Criterion, m: &Mappings) {
    let data = Path::new(DATA);
    let inputs: Vec<PathBuf> = vec![
        data.join("auth/windows_json"),
        data.join("sigma/regression_data"),
    ];
    let corpus = cmp::read_events(&inputs).expect("events");
    let pipeline = cmp::windows_pipeline().expect("pipeline");
    let sets = cmp::shared_rules(&data.join("sigma/rules"), m, &pipeline).expect("rules");
    let ls = cmp::windows_logsource();
    let mut g = c.benchmark_group("sigma_vs_rsigma");
    g.sample_size(10);
    g.throughput(Throughput::Elements(corpus.events.len() as u64));
    let n = sets.shared.len();
    for (name, rules) in [
        ("100", &sets.shared[..100.min(n)]),
        ("all", &sets.shared[..]),
    ] {
        let vigil = cmp::vigil_engine(rules, m).expect("vigil engine");
        let rsigma = cmp::rsigma_engine(rules, &pipeline).expect("rsigma engine");
        let a = cmp::agreement(
            &cmp::vigil_matches(&vigil, &corpus),
            &cmp::rsigma_matches(&rsigma, &corpus),
        );
        eprintln!(
            "{name}: {} events from {} files ({} dead letters), {} rules ({} files left out); \
             matches: vigil {}, rsigma-eval {}",
            corpus.events.len(),
            corpus.files,
            corpus.dead_letters,
            rules.len(),
            sets.left_out.len(),
            a.vigil,
            a.rsigma
        );
        let diffs = cmp::difference_lines(&a, &corpus, rules);
        assert_eq!(
            a.unexplained(),
            0,
            "{name}: engines disagree:\n{}",
            diffs.join("\n")
        );
        g.bench_function(format!("vigil/{name}"), |b| {
            b.iter(|| cmp::vigil_pass(&vigil, &corpus))
        });
        g.bench_function(format!("rsigma/{name}"), |b| {
            b.iter(|| cmp::rsigma_pass(&rsigma, &corpus, &ls))
        });
    }
    g.finish();
}

fn bench(c: &mut Criterion) {
    let m = Mappings::builtin().expect("mappings");
    shared_rules_8192(c, &m);
    versus_rsigma(c, &m);
}

criterion_group!(benches, bench);
criterion_main!(benches);
