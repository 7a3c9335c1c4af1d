//! `vigil replay`: the whole pipeline over files, as fast as the machine
//! allows.
//!
//! ```text
//!  reader thread                          main thread
//!  open → sniff → frame → decode → enrich ──(bounded channel)──► detect → lake
//!                                     └──── dead letters ──────► dlq.ndjson
//! ```
//!
//! Findings go to the lake's `detection_finding` table and, as OCSF JSON,
//! to `<out>/findings.ndjson`.
//!
//! The detector stage runs, in order: the Sigma engine (with `--rules`),
//! the behavioural baselines and the risk engine (unless
//! `--no-baselines`). Risk changes go to `entity_risk`, trust decisions to
//! `trust_decision`, and every entity's final score to `<out>/risk.json`.
//!
//! With `--state DIR`, the baselines' and the risk engine's state is
//! checkpointed to `DIR/checkpoint.json` after whole inputs, at most every
//! `--checkpoint-secs`, after the lake has closed its open files; the
//! checkpoint lists the inputs done. A later replay with the same
//! `--state` goes on from there: it loads the state and skips those
//! inputs, so a run killed halfway and started again ends with the same
//! risk as one that was never stopped. Sigma correlation windows are not
//! checkpointed yet: a correlation whose window spans the restart can be
//! missed (resolved when correlation state is serialisable).
//!
//! The channel is bounded, so a slow lake slows the reader instead of
//! growing memory. At the end a summary per format is printed and written
//! to `<out>/summary.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arrow::array::RecordBatch;
use clap::Args;
use serde_json::json;
use vigil_detect::Detectors;
use vigil_detect::behaviour::Behaviour;
use vigil_detect::risk::RiskEngine;
use vigil_ingest::emit::FormatStats;
use vigil_ingest::enrich::GeoEnricher;
use vigil_ingest::read::{Output, ReadOptions, read_input};
use vigil_ingest::source::{self, ByteCounter};
use vigil_ingest::{DecodeConfig, Format};
use vigil_schemas::Class;
use vigil_sink::dlq::DeadLetterFile;
use vigil_sink::findings::FindingsFile;
use vigil_sink::lake::LakeWriter;

#[derive(Args)]
pub struct ReplayArgs {
    /// Files or directories (read recursively); `-` reads stdin. Plain or
    /// gzip; the format of each is told from its content.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Output directory: `lake/`, `findings.ndjson`, `dlq.ndjson`,
    /// `summary.json`.
    #[arg(long)]
    out: PathBuf,
    /// Read every input as this format instead of telling it from content
    /// (see `vigil formats`).
    #[arg(long, value_parser = parse_format)]
    format: Option<Format>,
    /// MaxMind City or Country database for geo enrichment.
    #[arg(long)]
    geoip: Option<PathBuf>,
    /// MaxMind ASN database.
    #[arg(long)]
    asn: Option<PathBuf>,
    /// Sigma rules directory for the detector stage.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// How far behind the newest event time an event may arrive and still
    /// count in Sigma correlations (seconds). Later ones are counted as
    /// late in summary.json and left out of correlations (they are still
    /// stored and matched by single-event rules).
    #[arg(long, default_value_t = 5.0, allow_negative_numbers = true)]
    lateness: f64,
    /// Time zone of sources whose timestamps carry none (RFC 3164 syslog,
    /// CICFlowMeter), as an IANA name. Never guessed.
    #[arg(long, default_value = "UTC")]
    timezone: String,
    /// Add to a lake that already holds data under --out. Without it, a
    /// second replay into the same --out is refused, because the lake would
    /// then hold both runs' rows. findings.ndjson is added to as well;
    /// dlq.ndjson and summary.json always describe the last run.
    #[arg(long)]
    append: bool,
    /// Largest record in bytes; larger ones are dead-lettered whole.
    #[arg(long, default_value_t = vigil_ingest::framing::DEFAULT_MAX_RECORD_BYTES)]
    max_record_bytes: usize,
    /// Settings of the baselines and the risk engine (vigil.toml).
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Leave out the behavioural baselines and the risk engine.
    #[arg(long)]
    no_baselines: bool,
    /// A model written by `vigil train`; its findings feed the risk engine.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Checkpoint detector state here, and go on from a checkpoint found
    /// here (see the module docs).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Seconds between checkpoints (with --state).
    #[arg(long, default_value_t = 30.0)]
    checkpoint_secs: f64,
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        format!("unknown format {s:?}; one of: {}", names.join(", "))
    })
}

enum Msg {
    Out(Output),
    Done {
        file: String,
        format: Option<Format>,
        stats: FormatStats,
    },
}

/// Totals of one replay.
#[derive(Default)]
struct Summary {
    per_format: BTreeMap<String, FormatStats>,
    files: u64,
    findings: u64,
    /// Rows the detectors derived, per class.
    derived: BTreeMap<&'static str, u64>,
    detector_errors: u64,
    /// Detector counters at the end of the run.
    detector: Vec<(String, u64)>,
}

pub fn run(a: ReplayArgs) -> anyhow::Result<()> {
    let timezone = a
        .timezone
        .parse()
        .map_err(|e| anyhow::anyhow!("--timezone: {e}"))?;
    let paths = source::expand(&a.paths)?;
    if paths.is_empty() {
        bail!("no input files under {:?}", a.paths);
    }
    let geo = match (&a.geoip, &a.asn) {
        (None, None) => None,
        (city, asn) => Some(GeoEnricher::open(city.as_deref(), asn.as_deref())?),
    };
    let cfg = match &a.config {
        Some(p) => crate::config::Config::load(p)?,
        None => crate::config::Config::default(),
    };
    let mut detectors = match &a.rules {
        Some(dir) => {
            if !(a.lateness.is_finite() && a.lateness >= 0.0) {
                bail!("--lateness must be a number of seconds, 0 or more");
            }
            let correlation = vigil_detect::sigma::CorrelationConfig {
                lateness_us: (a.lateness * 1e6) as i64,
                ..Default::default()
            };
            if !dir.is_dir() {
                bail!(
                    "--rules {}: no such directory (a relative path is taken from the \
                     current directory; the shipped rules are `rules/` in the vigil checkout)",
                    dir.display()
                );
            }
            let (detectors, report) = vigil_detect::from_rules_dir_with(dir, correlation)?;
            eprintln!("{}", report.summary());
            detectors
        }
        None => Detectors::new(),
    };
    if !a.no_baselines {
        detectors.push(Box::new(Behaviour::new(cfg.baselines.clone())));
    }
    if let Some(p) = &a.model {
        let model = vigil_detect::model::ModelDetector::load(p)
            .with_context(|| format!("--model {}", p.display()))?;
        detectors.push(Box::new(model));
    }
    if !a.no_baselines {
        detectors.push(Box::new(RiskEngine::new(cfg.risk.clone())?));
    }
    let mut paths = paths;
    let mut checkpoint = match &a.state {
        Some(dir) => Some(Checkpointer::open(dir, a.checkpoint_secs)?),
        None => None,
    };
    let resumed = match &mut checkpoint {
        Some(c) => c.resume(&mut detectors, &mut paths)?,
        None => false,
    };
    let lake_dir = a.out.join("lake");
    let has_data = std::fs::read_dir(&lake_dir).is_ok_and(|mut d| d.next().is_some());
    if has_data && !a.append && !resumed {
        bail!(
            "{} already holds a lake; pass --append to add this run to it, \
             or choose another --out",
            lake_dir.display()
        );
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("{}", a.out.display()))?;
    let run_id = format!("{:x}", chrono::Utc::now().timestamp_micros());
    let lake = LakeWriter::create(&a.out.join("lake"), &run_id)?;
    let mut dlq = DeadLetterFile::create(&a.out.join("dlq.ndjson"))?;
    let mut sinks = Sinks {
        lake,
        findings: FindingsFile::open(&a.out.join("findings.ndjson"), a.append || resumed)?,
    };
    let opts = ReadOptions {
        format: a.format,
        max_record_bytes: a.max_record_bytes,
        decode: DecodeConfig {
            timezone,
            ..DecodeConfig::default()
        },
    };
    tracing::info!(inputs = paths.len(), out = %a.out.display(), "Replay started.");
    let started = Instant::now();
    let counter = ByteCounter::default();
    let total_bytes: u64 = paths
        .iter()
        .filter_map(|p| p.metadata().ok())
        .map(|m| m.len())
        .sum();
    let progress = progress_bar(total_bytes, counter.clone());
    // N.B. with batches of at most 8 MiB this holds at most 32 MiB in flight.
    let (tx, rx) = sync_channel::<Msg>(4);
    let reader = {
        let counter = counter.clone();
        std::thread::Builder::new()
            .name("vigil-read".into())
            .spawn(move || read_all(&paths, &opts, geo.as_ref(), &counter, &tx))?
    };
    let mut sum = Summary::default();
    for msg in rx {
        match msg {
            Msg::Out(Output::Batch(class, batch)) => {
                write_batch(&mut sinks, &mut detectors, &mut sum, class, &batch)?
            }
            Msg::Out(Output::DeadLetter(dl)) => dlq.push(&serde_json::to_value(&dl)?)?,
            Msg::Done {
                file,
                format,
                stats,
            } => {
                tracing::debug!(file, format = format.map(|f| f.name()), "Input finished.");
                let name = format.map_or("unknown", |f| f.name()).to_string();
                sum.per_format.entry(name).or_default().merge(&stats);
                sum.files += 1;
                if let Some(c) = &mut checkpoint {
                    c.input_done(file);
                    if c.due() {
                        c.save(&detectors, &mut sinks)?;
                    }
                }
            }
        }
    }
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))?;
    let end = detectors.finish();
    for e in &end.errors {
        tracing::warn!(error = %e, "Detector failed at the end of input.");
    }
    sum.detector_errors += end.errors.len() as u64;
    for (class, batch) in end.batches {
        sinks.write_derived(&mut sum, class, &batch)?;
    }
    if let Some(c) = &mut checkpoint {
        c.save(&detectors, &mut sinks)?;
    }
    sinks.findings.finish()?;
    sum.detector = detectors.counters();
    for (name, r) in detectors.reports() {
        if name == "risk" {
            let path = a.out.join("risk.json");
            std::fs::write(&path, serde_json::to_string_pretty(&r)? + "\n")
                .with_context(|| format!("{}", path.display()))?;
        }
    }
    let lake_stats = sinks.lake.finish()?;
    let dead = dlq.finish()?;
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    let elapsed = started.elapsed();
    let bytes = counter.load(Ordering::Relaxed);
    report(&a.out, &sum, dead, lake_stats.files, bytes, elapsed)?;
    Ok(())
}

/// Checkpoints of detector state under `--state`.
struct Checkpointer {
    path: PathBuf,
    every: Duration,
    last: Instant,
    done: Vec<String>,
}

impl Checkpointer {
    fn open(dir: &Path, secs: f64) -> anyhow::Result<Checkpointer> {
        if !(secs.is_finite() && secs >= 0.0) {
            bail!("--checkpoint-secs must be a number of seconds, 0 or more");
        }
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
        Ok(Checkpointer {
            path: dir.join("checkpoint.json"),
            every: Duration::try_from_secs_f64(secs)
                .map_err(|_| anyhow::anyhow!("--checkpoint-secs {secs} is too large"))?,
            last: Instant::now(),
            done: Vec::new(),
        })
    }

    /// Load a checkpoint if there is one: detector state in, inputs done
    /// out of `paths`. True when there was one.
    fn resume(
        &mut self,
        detectors: &mut Detectors,
        paths: &mut Vec<PathBuf>,
    ) -> anyhow::Result<bool> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e).with_context(|| format!("{}", self.path.display())),
        };
        let doc: CheckpointIn = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a vigil checkpoint", self.path.display()))?;
        if doc.version != CHECKPOINT_VERSION {
            bail!(
                "{}: checkpoint version is not {CHECKPOINT_VERSION}; remove it to start afresh",
                self.path.display()
            );
        }
        self.done = doc.inputs_done;
        let restored = detectors
            .load_state(&doc.detectors)
            .with_context(|| format!("{}", self.path.display()))?;
        let before = paths.len();
        let done: std::collections::HashSet<&str> = self.done.iter().map(String::as_str).collect();
        paths.retain(|p| !done.contains(canonical(&p.display().to_string()).as_str()));
        eprintln!(
            "Resuming from {}: {} inputs already done, {} to go; state of {} restored.",
            self.path.display(),
            before - paths.len(),
            paths.len(),
            if restored.is_empty() {
                "no detector".to_string()
            } else {
                restored.join(", ")
            }
        );
        tracing::info!(
            checkpoint = %self.path.display(),
            skipped = before - paths.len(),
            "Resumed from a checkpoint."
        );
        Ok(true)
    }

    fn input_done(&mut self, file: String) {
        self.done.push(canonical(&file));
    }

    fn due(&self) -> bool {
        self.last.elapsed() >= self.every
    }

    /// Close the lake's open files, then write the state and the inputs
    /// done, atomically (a temporary file renamed over the old one).
    fn save(&mut self, detectors: &Detectors, sinks: &mut Sinks) -> anyhow::Result<()> {
        sinks.lake.close_open_files()?;
        sinks.findings.flush()?;
        let doc = CheckpointOut {
            version: CHECKPOINT_VERSION,
            inputs_done: &self.done,
            detectors: detectors.save_state()?,
        };
        write_json_atomic(&self.path, &doc)?;
        tracing::debug!(inputs = self.done.len(), "Checkpoint written.");
        self.last = Instant::now();
        Ok(())
    }
}

const CHECKPOINT_VERSION: u64 = 1;

/// Write `doc` as JSON to `path` so that a crash leaves the old file or
/// the new one, never half of one: a temporary file beside it, fsynced,
/// renamed over it.
pub(crate) fn write_json_atomic(path: &Path, doc: &impl serde::Serialize) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    let mut w = std::io::BufWriter::new(file);
    serde_json::to_writer(&mut w, doc)?;
    std::io::Write::flush(&mut w).with_context(|| format!("cannot write {}", tmp.display()))?;
    w.get_ref()
        .sync_all()
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        // N.B. the rename is durable once the directory is synced.
        let _ = d.sync_all();
    }
    Ok(())
}

/// An input as a checkpoint names it: its absolute path with links
/// resolved, so `./x` and `x` are one input; as given when it cannot be
/// resolved (stdin, a file gone since).
fn canonical(file: &str) -> String {
    std::fs::canonicalize(file).map_or_else(|_| file.to_string(), |p| p.display().to_string())
}

/// `checkpoint.json` as written: each detector's state is its own JSON
/// text, never a `serde_json::Value` tree (which for 100,000 entities
/// takes gigabytes).
#[derive(serde::Serialize)]
struct CheckpointOut<'a> {
    version: u64,
    inputs_done: &'a [String],
    detectors: BTreeMap<String, Box<serde_json::value::RawValue>>,
}

/// `checkpoint.json` as read.
#[derive(serde::Deserialize)]
struct CheckpointIn {
    version: u64,
    #[serde(default)]
    inputs_done: Vec<String>,
    #[serde(default)]
    detectors: BTreeMap<String, Box<serde_json::value::RawValue>>,
}

/// Where batches go: the lake, and findings also to findings.ndjson.
struct Sinks {
    lake: LakeWriter,
    findings: FindingsFile,
}

impl Sinks {
    /// A batch a detector derived: findings are counted and written twice.
    fn write_derived(
        &mut self,
        sum: &mut Summary,
        class: Class,
        batch: &RecordBatch,
    ) -> anyhow::Result<()> {
        if class == Class::DetectionFinding {
            sum.findings += batch.num_rows() as u64;
            self.findings.write(batch)?;
        }
        *sum.derived.entry(class.name()).or_default() += batch.num_rows() as u64;
        self.lake.write(class, batch)?;
        Ok(())
    }
}

fn write_batch(
    sinks: &mut Sinks,
    detectors: &mut Detectors,
    sum: &mut Summary,
    class: Class,
    batch: &RecordBatch,
) -> anyhow::Result<()> {
    if !detectors.is_empty() {
        let out = detectors.detect(class, batch);
        for e in &out.errors {
            tracing::warn!(error = %e, class = class.name(), "Detector failed on a batch.");
        }
        sum.detector_errors += out.errors.len() as u64;
        for (c, b) in out.batches {
            sinks.write_derived(sum, c, &b)?;
        }
    }
    sinks.lake.write(class, batch)?;
    Ok(())
}

fn read_all(
    paths: &[PathBuf],
    opts: &ReadOptions,
    geo: Option<&GeoEnricher>,
    counter: &ByteCounter,
    tx: &SyncSender<Msg>,
) {
    for path in paths {
        let file = path.display().to_string();
        let input = match source::open(path, counter) {
            Ok(i) => i,
            Err(e) => {
                let dl = vigil_ingest::read::DeadLetter {
                    file: file.clone(),
                    line: 0,
                    offset: 0,
                    format: "unknown".into(),
                    reason: format!("cannot read the input: {e}"),
                    record: String::new(),
                    record_truncated: false,
                };
                let stats = FormatStats {
                    dead_letters: 1,
                    ..FormatStats::default()
                };
                let _ = tx.send(Msg::Out(Output::DeadLetter(dl)));
                let _ = tx.send(Msg::Done {
                    file,
                    format: None,
                    stats,
                });
                continue;
            }
        };
        let (format, stats) = read_input(input, opts, &mut |o| {
            let o = match (o, geo) {
                (Output::Batch(c, b), Some(g)) => Output::Batch(c, g.enrich(b)),
                (o, _) => o,
            };
            let _ = tx.send(Msg::Out(o));
        });
        let _ = tx.send(Msg::Done {
            file,
            format,
            stats,
        });
    }
}

fn progress_bar(total: u64, counter: ByteCounter) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} {bytes}/{total_bytes} {bytes_per_sec} {wide_bar} {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    let b = bar.clone();
    std::thread::spawn(move || {
        while !b.is_finished() {
            b.set_position(counter.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    Some(bar)
}

fn report(
    out: &Path,
    sum: &Summary,
    dead: u64,
    files: u64,
    bytes: u64,
    elapsed: Duration,
) -> anyhow::Result<()> {
    let mut total = FormatStats::default();
    for s in sum.per_format.values() {
        total.merge(s);
    }
    let secs = elapsed.as_secs_f64().max(1e-9);
    let per_format: serde_json::Map<String, serde_json::Value> = sum
        .per_format
        .iter()
        .map(|(k, s)| (k.clone(), stats_json(s)))
        .collect();
    let doc = json!({
        "inputs": sum.files,
        "bytes": bytes,
        "seconds": secs,
        "records": total.records,
        "rows": total.rows,
        "dead_letters": dead,
        "late": total.late,
        "future_clamped": total.future_clamped,
        "time_missing": total.time_missing,
        "findings": sum.findings,
        "risk_changes": sum.derived.get("entity_risk").copied().unwrap_or(0),
        "decisions": sum.derived.get("trust_decision").copied().unwrap_or(0),
        "detector_errors": sum.detector_errors,
        "detector": sum.detector.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "lake_files": files,
        "per_format": per_format,
    });
    // N.B. the file is written before the table is printed, so a closed
    // stdout (`| head`) cannot lose it.
    let path = out.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("{}", path.display()))?;
    let footer = format!(
        "{} inputs, {} findings, {} risk changes, {} decisions, {:.1} MB in {:.2} s",
        sum.files,
        sum.findings,
        sum.derived.get("entity_risk").copied().unwrap_or(0),
        sum.derived.get("trust_decision").copied().unwrap_or(0),
        bytes as f64 / 1e6,
        secs
    );
    let _ = print_table(sum, &total, dead, &footer);
    tracing::info!(
        records = total.records,
        dead_letters = dead,
        seconds = secs,
        "Replay finished."
    );
    Ok(())
}

/// The summary table on stdout. A closed stdout is not an error.
fn print_table(sum: &Summary, total: &FormatStats, dead: u64, footer: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut w = std::io::stdout().lock();
    writeln!(
        w,
        "{:<18} {:>9} {:>9} {:>6} {:>6} {:>7}  rows per class",
        "format", "records", "rows", "dead", "late", "no time"
    )?;
    for (name, s) in &sum.per_format {
        let rows: u64 = s.rows.values().sum();
        let per: Vec<String> = s.rows.iter().map(|(c, n)| format!("{c}={n}")).collect();
        writeln!(
            w,
            "{name:<18} {:>9} {rows:>9} {:>6} {:>6} {:>7}  {}",
            s.records,
            s.dead_letters,
            s.late,
            s.time_missing,
            per.join(" ")
        )?;
    }
    let rows: u64 = total.rows.values().sum();
    writeln!(
        w,
        "{:<18} {:>9} {rows:>9} {dead:>6} {:>6} {:>7}  {footer}",
        "total", total.records, total.late, total.time_missing
    )
}

fn stats_json(s: &FormatStats) -> serde_json::Value {
    json!({
        "records": s.records,
        "rows": s.rows,
        "dead_letters": s.dead_letters,
        "late": s.late,
        "future_clamped": s.future_clamped,
        "time_missing": s.time_missing,
    })
}
