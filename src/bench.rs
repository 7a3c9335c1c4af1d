//! `vigil bench`: throughput on one core, from memory.
//!
//! - `decode`: each file is read into memory first (and decompressed),
//!   then decoded `--repeat` times through the same framing, decoder and
//!   batch building as `replay`, without enrichment or the lake, so the
//!   figure is the decoder's own. Peak memory is the process high-water
//!   mark.
//! - `sigma`: vigil's Sigma engine against `rsigma-eval` on the same
//!   decoded Windows events and the same rules, after checking both find
//!   the same matches (`detect/benches/support/sigma_compare.rs` holds the
//!   comparison, shared with the criterion bench).

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use vigil_detect::sigma::Mappings;
use vigil_ingest::Format;
use vigil_ingest::read::{Output, ReadOptions, read_input};
use vigil_ingest::source::{self, ByteCounter, Input};

#[derive(Args)]
pub struct DecodeArgs {
    /// Files to decode (directories are read recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Decode each file this many times, to measure over more bytes.
    #[arg(long, default_value_t = 20)]
    repeat: u32,
    /// Force a format instead of telling it from content.
    #[arg(long)]
    format: Option<String>,
}

pub fn decode(a: DecodeArgs) -> anyhow::Result<()> {
    let format = match &a.format {
        Some(f) => Some(Format::from_name(f).with_context(|| format!("unknown format {f:?}"))?),
        None => None,
    };
    let opts = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    let _ = writeln!(
        std::io::stdout(),
        "{:<48} {:<18} {:>10} {:>12} {:>10} {:>12}",
        "file",
        "format",
        "MB",
        "records",
        "MB/s",
        "events/s"
    );
    for path in source::expand(&a.paths)? {
        let bytes: Arc<[u8]> = load(&path)?.into();
        let (mut records, mut rows, mut used) = (0u64, 0u64, None);
        let start = Instant::now();
        for _ in 0..a.repeat {
            let input = memory_input(&path, &bytes);
            let (f, stats) = read_input(input, &opts, &mut |o| {
                if let Output::Batch(_, b) = o {
                    rows += b.num_rows() as u64;
                }
            });
            records += stats.records;
            used = f;
        }
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let mb = bytes.len() as f64 * f64::from(a.repeat) / 1e6;
        let name = path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into());
        let _ = writeln!(
            std::io::stdout(),
            "{:<48} {:<18} {:>10.1} {:>12} {:>10.1} {:>12.0}",
            truncate(&name, 48),
            used.map_or("unknown", |f| f.name()),
            mb,
            records,
            mb / secs,
            rows as f64 / secs
        );
    }
    let _ = writeln!(std::io::stdout(), "peak memory: {} MiB", peak_rss_mib());
    Ok(())
}

#[path = "../detect/benches/support/sigma_compare.rs"]
mod sigma_compare;

use self::sigma_compare as cmp;

#[derive(Args)]
pub struct SigmaArgs {
    /// The Sigma rules (a directory, read recursively).
    #[arg(long, default_value = "../shared/data/sigma/rules")]
    rules: PathBuf,
    /// Windows event files or directories (directories: their .json files).
    #[arg(
        long,
        num_args = 1..,
        default_values = ["../shared/data/auth/windows_json", "../shared/data/sigma/regression_data"]
    )]
    events: Vec<PathBuf>,
    /// Timed passes over the events per engine and rule set (the median
    /// pass is reported).
    #[arg(long, default_value_t = 20)]
    repeat: u32,
    /// The size of the smaller rule set: the first N shared rules by id.
    #[arg(long, default_value_t = 100)]
    first: usize,
    /// List every rule file left out, and why.
    #[arg(long)]
    list_left_out: bool,
}

pub fn sigma(a: SigmaArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let m = Mappings::builtin().map_err(anyhow::Error::msg)?;
    let pipeline = cmp::windows_pipeline().map_err(anyhow::Error::msg)?;
    let corpus = cmp::read_events(&a.events).map_err(anyhow::Error::msg)?;
    let sets = cmp::shared_rules(&a.rules, &m, &pipeline).map_err(anyhow::Error::msg)?;
    let events = corpus.events.len();
    if events == 0 || sets.shared.is_empty() {
        bail!(
            "nothing to compare: {events} events, {} shared rules",
            sets.shared.len()
        );
    }
    writeln!(
        out,
        "events: {events} from {} files ({} records did not decode and are left out)",
        corpus.files, corpus.dead_letters
    )?;
    writeln!(
        out,
        "rules: {} loaded by both engines; {} files left out:",
        sets.shared.len(),
        sets.left_out.len()
    )?;
    let mut why: BTreeMap<String, usize> = BTreeMap::new();
    for (f, reason) in &sets.left_out {
        if a.list_left_out {
            writeln!(out, "  {}: {reason}", f.display())?;
        }
        *why.entry(reason_kind(reason)).or_default() += 1;
    }
    for (reason, n) in &why {
        writeln!(out, "  {n:>4}  {reason}")?;
    }

    let n = sets.shared.len();
    let small = a.first.min(n);
    let sizes = [
        (format!("first {small}"), &sets.shared[..small]),
        ("all".to_string(), &sets.shared[..]),
    ];
    let ls = cmp::windows_logsource();
    let mut rows = Vec::new();
    let mut failed = false;
    for (name, rules) in &sizes {
        let vigil = cmp::vigil_engine(rules, &m).map_err(anyhow::Error::msg)?;
        let rsigma = cmp::rsigma_engine(rules, &pipeline).map_err(anyhow::Error::msg)?;
        let vm = cmp::vigil_matches(&vigil, &corpus);
        let agree = cmp::agreement(&vm, &cmp::rsigma_matches(&rsigma, &corpus));
        let rules_hit = vm
            .iter()
            .map(|(id, _)| id)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        writeln!(
            out,
            "\n{name} ({} rules): matches vigil {}, rsigma-eval {}, in both {}; {} rules match at least one event",
            rules.len(),
            agree.vigil,
            agree.rsigma,
            agree.vigil - agree.only_vigil.len(),
            rules_hit
        )?;
        for line in cmp::difference_lines(&agree, &corpus, rules) {
            writeln!(out, "  {line}")?;
        }
        if agree.unexplained() > 0 {
            failed = true;
            continue;
        }
        let (tv, tr) = time_both(
            a.repeat,
            || cmp::vigil_pass(&vigil, &corpus),
            || cmp::rsigma_pass(&rsigma, &corpus, &ls),
        );
        rows.push((name.clone(), rules.len(), agree.vigil, tv, tr));
    }
    if failed {
        bail!("vigil and rsigma-eval disagree on matches (listed above as UNEXPLAINED)");
    }

    // vigil from bytes: decoding the same files, then the timed evaluation.
    let decode = decode_time(&a.events, a.repeat)?;
    writeln!(
        out,
        "\n{:<12} {:>6} {:>8} {:>14} {:>14} {:>7} {:>18}",
        "rule set", "rules", "matches", "vigil ev/s", "rsigma ev/s", "ratio", "vigil decode+eval"
    )?;
    for (name, n_rules, matches, tv, tr) in rows {
        let per = |d: Duration| events as f64 / d.as_secs_f64().max(1e-12);
        writeln!(
            out,
            "{name:<12} {n_rules:>6} {matches:>8} {:>14.0} {:>14.0} {:>6.1}x {:>18.0}",
            per(tv),
            per(tr),
            tr.as_secs_f64() / tv.as_secs_f64().max(1e-12),
            per(tv + decode)
        )?;
    }
    writeln!(
        out,
        "(events/s on one core, median of {} passes over {events} events; decode alone {:.0} events/s)",
        a.repeat,
        events as f64 / decode.as_secs_f64().max(1e-12)
    )?;
    Ok(())
}

/// A left-out reason without its details, for counting.
fn reason_kind(reason: &str) -> String {
    let mut parts = reason.splitn(3, ": ");
    match (parts.next(), parts.next()) {
        (Some(side), Some(what)) if side == "vigil" || side == "rsigma-eval" => {
            format!("{side}: {}", truncate(what, 60))
        }
        (Some(first), _) => truncate(first, 60).to_string(),
        _ => String::new(),
    }
}

/// Median time of one pass of each, the passes interleaved so both see
/// the same machine load.
fn time_both(
    repeat: u32,
    mut a: impl FnMut() -> usize,
    mut b: impl FnMut() -> usize,
) -> (Duration, Duration) {
    // One untimed pass each: caches, lazily built state.
    std::hint::black_box(a());
    std::hint::black_box(b());
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        std::hint::black_box(a());
        ta.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(b());
        tb.push(t.elapsed());
    }
    (median(ta), median(tb))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median time to decode the event files once, from memory.
fn decode_time(paths: &[PathBuf], repeat: u32) -> anyhow::Result<Duration> {
    let files = cmp::event_files(paths).map_err(anyhow::Error::msg)?;
    let loaded: Vec<(PathBuf, Arc<[u8]>)> = files
        .into_iter()
        .map(|p| load(&p).map(|b| (p, b.into())))
        .collect::<anyhow::Result<_>>()?;
    let opts = ReadOptions::default();
    let mut times = Vec::new();
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        for (p, bytes) in &loaded {
            read_input(memory_input(p, bytes), &opts, &mut |o| {
                std::hint::black_box(o);
            });
        }
        times.push(t.elapsed());
    }
    Ok(median(times))
}

fn load(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let input = source::open(path, &ByteCounter::default())?;
    let mut bytes = Vec::new();
    let mut r = input.reader;
    r.read_to_end(&mut bytes)
        .with_context(|| format!("{}", path.display()))?;
    Ok(bytes)
}

fn memory_input(path: &std::path::Path, bytes: &Arc<[u8]>) -> Input {
    let head = bytes[..bytes.len().min(source::SNIFF_BYTES)].to_vec();
    Input {
        name: path.display().to_string(),
        id: path.display().to_string(),
        mtime: chrono::Utc::now(),
        head,
        // N.B. `Cursor` is its own `BufRead`: no copy before framing.
        reader: Box::new(Cursor::new(bytes.clone())),
        gzip: false,
        path: None,
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The process's peak resident memory, from /proc (0 where unavailable).
pub fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}
