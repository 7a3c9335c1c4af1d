//! The simulator as a live source: the part of the simulation before now
//! is streamed at once (history, then the attacks of the labelled days so
//! far), the rest as its event time comes, `speed` times faster than the
//! clock.
//!
//! The position (records handed over) is checkpointed like a Kafka offset
//! under the partition `simulator/0`, so a restart goes on where the last
//! checkpoint stopped instead of counting the history twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use vigil_ingest::DecodeConfig;
use vigil_ingest::sim::{SimConfig, Simulator, Sink};
use vigil_ingest::stream::StreamDecoder;

use super::Msg;
use super::metrics::Metrics;
use super::pipeline::Work;
use super::settings::SimSource;

/// The partition key the simulator's position is checkpointed under.
pub const POSITION_KEY: (&str, i32) = ("simulator", 0);

const WORK_RECORDS: u64 = 4096;
const WORK_WINDOW: Duration = Duration::from_millis(50);

/// Start the simulator thread; `skip` records are already in the state.
pub fn start(
    s: &SimSource,
    decode: DecodeConfig,
    skip: u64,
    metrics: Arc<Metrics>,
    shutdown: Arc<AtomicBool>,
    tx: SyncSender<Msg>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let today = Utc::now().date_naive();
    let cfg = SimConfig {
        seed: s.seed,
        users: s.users,
        start: today - chrono::Days::new(1),
        days: s.days,
        warmup_days: s.history_days,
    };
    let sim = Simulator::new(&cfg).context("run.simulator")?;
    let speed = s.speed;
    tracing::info!(users = cfg.users, start = %cfg.start, days = cfg.days, history_days = cfg.warmup_days, speed, skip, "Simulator source started.");
    Ok(std::thread::Builder::new()
        .name("vigil-sim".into())
        .spawn(move || stream(sim, speed, decode, skip, &metrics, &shutdown, &tx))?)
}

fn stream(
    sim: Simulator,
    speed: f64,
    decode: DecodeConfig,
    skip: u64,
    metrics: &Metrics,
    shutdown: &AtomicBool,
    tx: &SyncSender<Msg>,
) {
    let seed = sim.config().seed;
    let anchor_ms = Utc::now().timestamp_millis();
    let anchor = Instant::now();
    let mut decoders: HashMap<Sink, (StreamDecoder, u64)> = HashMap::new();
    let mut position = 0u64;
    let mut work: Option<(Instant, u64, Vec<vigil_ingest::read::DeadLetter>)> = None;
    let mut late_seen = 0u64;
    let mut records = sim.skip(usize::try_from(skip).unwrap_or(usize::MAX));
    position += skip;
    loop {
        if shutdown.load(Ordering::Relaxed) {
            break;
        }
        let next = records.next();
        let due = next.as_ref().and_then(|r| {
            let ahead_ms = r.time_ms - anchor_ms;
            (ahead_ms > 0)
                .then(|| anchor + Duration::from_secs_f64(ahead_ms as f64 / 1000.0 / speed))
        });
        let must_wait = due.is_some_and(|d| d > Instant::now());
        let full = work
            .as_ref()
            .is_some_and(|(t, n, _)| *n >= WORK_RECORDS || t.elapsed() >= WORK_WINDOW);
        if (must_wait || full || next.is_none())
            && let Some((received, n, dead)) = work.take()
        {
            let mut batches = Vec::new();
            let mut late = 0;
            for (d, _) in decoders.values_mut() {
                batches.extend(d.flush());
                late += d.stats().iter().map(|(_, s)| s.late).sum::<u64>();
            }
            let w = Work {
                source: "simulator".into(),
                batches,
                dead,
                records: n,
                late: late.saturating_sub(late_seen),
                offsets: vec![(
                    (POSITION_KEY.0.to_string(), POSITION_KEY.1),
                    i64::try_from(position).unwrap_or(i64::MAX),
                )],
                received,
                decoded: Instant::now(),
                produced_ms: Vec::new(),
            };
            late_seen = late;
            if !super::send_blocking(tx, metrics, shutdown, w) {
                return;
            }
        }
        let Some(rec) = next else {
            tracing::info!(records = position, "Simulator reached the end of its days.");
            return;
        };
        if let Some(due) = due {
            while Instant::now() < due {
                if shutdown.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep((due - Instant::now()).min(Duration::from_millis(200)));
            }
        }
        let (d, n) = decoders.entry(rec.sink).or_insert_with(|| {
            let mut d = StreamDecoder::new(
                format!("sim-{seed}/{}", rec.sink.name()),
                Some(rec.sink.format()),
                decode.clone(),
                vigil_ingest::framing::DEFAULT_MAX_RECORD_BYTES,
            );
            let mut n = 0u64;
            if let Some(head) = rec.sink.preamble(rec.time_ms) {
                for line in head.lines() {
                    n += 1;
                    let _ = d.push(line.as_bytes(), n, n);
                }
            }
            (d, n)
        });
        *n += 1;
        position += 1;
        let (_, count, dead) = work.get_or_insert_with(|| (Instant::now(), 0, Vec::new()));
        *count += 1;
        if let Err(dl) = d.push(&rec.bytes, *n, *n) {
            dead.push(*dl);
        }
    }
}
