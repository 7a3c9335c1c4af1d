//! The service's counters, gauges and latency histograms, and their
//! Prometheus text exposition for `/metrics`.
//!
//! Counters are kept per batch, never per event, so counting costs nothing
//! next to decoding. Latencies are in microseconds in hdrhistogram
//! histograms (3 significant digits, up to an hour) and are exposed as
//! Prometheus summaries with the 0.5, 0.9, 0.99 and 0.999 quantiles.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use hdrhistogram::Histogram;

/// Pipeline stages whose latency is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Bytes to Arrow rows, per batch.
    Decode,
    /// Waiting in the queue between the sources and the pipeline.
    Queue,
    /// Sigma, baselines and risk over one batch.
    Detect,
    /// Lake, files and Kafka producers for one batch's results.
    Output,
    /// From a record's arrival to the risk engine having scored it.
    EventToRisk,
    /// From a Kafka record's timestamp (set by its producer) to the risk
    /// engine having scored it, per record: end to end through the broker.
    ProduceToRisk,
    /// One checkpoint: outputs flushed and acknowledged, state written,
    /// offsets committed.
    Checkpoint,
}

impl Stage {
    const ALL: [Stage; 7] = [
        Stage::Decode,
        Stage::Queue,
        Stage::Detect,
        Stage::Output,
        Stage::EventToRisk,
        Stage::ProduceToRisk,
        Stage::Checkpoint,
    ];

    fn name(self) -> &'static str {
        match self {
            Stage::Decode => "decode",
            Stage::Queue => "queue",
            Stage::Detect => "detect",
            Stage::Output => "output",
            Stage::EventToRisk => "event_to_risk",
            Stage::ProduceToRisk => "produce_to_risk",
            Stage::Checkpoint => "checkpoint",
        }
    }
}

/// Everything `/metrics` shows.
pub struct Metrics {
    /// Rows in, by (source, class).
    events_in: Mutex<BTreeMap<(String, &'static str), u64>>,
    /// Rows out, by (output, class).
    events_out: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Dead letters, by source.
    dead_letters: Mutex<BTreeMap<String, u64>>,
    /// Records received, by source.
    records_in: Mutex<BTreeMap<String, u64>>,
    /// Rows that arrived behind their stream's watermark.
    pub late_events: AtomicU64,
    /// Detector errors.
    pub detector_errors: AtomicU64,
    /// Messages the Kafka producer could not deliver.
    pub kafka_delivery_failures: AtomicU64,
    /// HTTP ingest requests refused with 503 because the queue was full.
    pub http_busy: AtomicU64,
    /// Times a source waited because the pipeline was full.
    pub backpressure_waits: AtomicU64,
    /// Checkpoints written.
    pub checkpoints: AtomicU64,
    /// Total consumer lag over the assigned partitions (from librdkafka's
    /// statistics); -1 until known.
    pub consumer_lag: AtomicI64,
    /// Kafka partitions this instance owns now.
    pub kafka_partitions: AtomicI64,
    /// Batches waiting between the sources and the pipeline.
    pub queue_depth: AtomicI64,
    /// Bytes of detector state, by the detectors' own count.
    pub state_bytes: AtomicU64,
    /// Entities with risk state.
    pub risk_entities: AtomicU64,
    /// Whether every source has started and state is loaded.
    pub ready: AtomicBool,
    latency: Vec<Mutex<Histogram<u64>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let hist = || {
            // N.B. 1 µs to 1 hour at 3 significant digits: about 30 KiB each.
            Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 3)
                    .expect("constant histogram bounds are valid"),
            )
        };
        Metrics {
            events_in: Mutex::default(),
            events_out: Mutex::default(),
            dead_letters: Mutex::default(),
            records_in: Mutex::default(),
            late_events: AtomicU64::new(0),
            detector_errors: AtomicU64::new(0),
            kafka_delivery_failures: AtomicU64::new(0),
            http_busy: AtomicU64::new(0),
            backpressure_waits: AtomicU64::new(0),
            checkpoints: AtomicU64::new(0),
            consumer_lag: AtomicI64::new(-1),
            kafka_partitions: AtomicI64::new(0),
            queue_depth: AtomicI64::new(0),
            state_bytes: AtomicU64::new(0),
            risk_entities: AtomicU64::new(0),
            ready: AtomicBool::new(false),
            latency: Stage::ALL.iter().map(|_| hist()).collect(),
        }
    }
}

fn bump<K: Ord>(m: &Mutex<BTreeMap<K, u64>>, k: K, n: u64) {
    if n == 0 {
        return;
    }
    let mut g = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    *g.entry(k).or_default() += n;
}

impl Metrics {
    /// Count `rows` of `class` from `source`.
    pub fn event_in(&self, source: &str, class: &'static str, rows: u64) {
        let mut g = self
            .events_in
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = g.get_mut(&(source.to_string(), class)) {
            *n += rows;
        } else {
            g.insert((source.to_string(), class), rows);
        }
    }

    /// Count `rows` of `class` written to `output`.
    pub fn event_out(&self, output: &'static str, class: &'static str, rows: u64) {
        bump(&self.events_out, (output, class), rows);
    }

    /// Count `n` dead letters from `source`.
    pub fn dead_letter(&self, source: &str, n: u64) {
        bump(&self.dead_letters, source.to_string(), n);
    }

    /// Count `n` records received from `source`.
    pub fn records(&self, source: &str, n: u64) {
        bump(&self.records_in, source.to_string(), n);
    }

    /// Record one latency of `stage`.
    pub fn latency(&self, stage: Stage, micros: u64) {
        self.latencies(stage, std::iter::once(micros));
    }

    /// Record one latency of `stage` per value.
    pub fn latencies(&self, stage: Stage, micros: impl Iterator<Item = u64>) {
        let i = Stage::ALL.iter().position(|s| *s == stage).unwrap_or(0);
        let mut h = self.latency[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for v in micros {
            h.saturating_record(v.max(1));
        }
    }

    /// Rows counted in so far, over every source and class.
    #[cfg(test)]
    pub fn total_in(&self) -> u64 {
        let g = self
            .events_in
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        g.values().sum()
    }

    /// The Prometheus text exposition (version 0.0.4).
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(8192);
        let lock = |m: &Mutex<BTreeMap<(String, &'static str), u64>>| {
            m.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        };
        header(
            &mut s,
            "vigil_events_in_total",
            "counter",
            "Rows decoded, by source and class.",
        );
        for ((src, class), n) in lock(&self.events_in) {
            let _ = writeln!(
                s,
                "vigil_events_in_total{{source=\"{}\",class=\"{class}\"}} {n}",
                escape(&src)
            );
        }
        header(
            &mut s,
            "vigil_records_in_total",
            "counter",
            "Records received, by source.",
        );
        for (src, n) in self
            .records_in
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                s,
                "vigil_records_in_total{{source=\"{}\"}} {n}",
                escape(src)
            );
        }
        header(
            &mut s,
            "vigil_events_out_total",
            "counter",
            "Rows written, by output and class.",
        );
        for ((out, class), n) in self
            .events_out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                s,
                "vigil_events_out_total{{output=\"{out}\",class=\"{class}\"}} {n}"
            );
        }
        header(
            &mut s,
            "vigil_dead_letters_total",
            "counter",
            "Records that could not be decoded, by source.",
        );
        for (src, n) in self
            .dead_letters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                s,
                "vigil_dead_letters_total{{source=\"{}\"}} {n}",
                escape(src)
            );
        }
        let counters: [(&str, &str, &AtomicU64); 6] = [
            (
                "vigil_late_events_total",
                "Rows behind their stream's watermark (kept, left out of correlations).",
                &self.late_events,
            ),
            (
                "vigil_detector_errors_total",
                "Batches a detector failed on.",
                &self.detector_errors,
            ),
            (
                "vigil_kafka_delivery_failures_total",
                "Messages the Kafka producer could not deliver.",
                &self.kafka_delivery_failures,
            ),
            (
                "vigil_http_busy_total",
                "Ingest requests answered 503 because the pipeline was full.",
                &self.http_busy,
            ),
            (
                "vigil_backpressure_waits_total",
                "Times a source paused because the pipeline was full.",
                &self.backpressure_waits,
            ),
            (
                "vigil_checkpoints_total",
                "Checkpoints written (outputs acknowledged, state saved, offsets committed).",
                &self.checkpoints,
            ),
        ];
        for (name, help, v) in counters {
            header(&mut s, name, "counter", help);
            let _ = writeln!(s, "{name} {}", v.load(Ordering::Relaxed));
        }
        let gauges: [(&str, &str, i64); 6] = [
            (
                "vigil_kafka_partitions",
                "Kafka partitions assigned to this instance.",
                self.kafka_partitions.load(Ordering::Relaxed),
            ),
            (
                "vigil_consumer_lag",
                "Messages behind the end of the assigned Kafka partitions (-1 until known).",
                self.consumer_lag.load(Ordering::Relaxed),
            ),
            (
                "vigil_queue_batches",
                "Batches waiting between the sources and the pipeline.",
                self.queue_depth.load(Ordering::Relaxed),
            ),
            (
                "vigil_state_bytes",
                "Detector state in bytes, by the detectors' own count.",
                i64::try_from(self.state_bytes.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
            ),
            (
                "vigil_risk_entities",
                "Entities with risk state.",
                i64::try_from(self.risk_entities.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
            ),
            (
                "vigil_ready",
                "1 when every source has started and state is loaded.",
                i64::from(self.ready.load(Ordering::Relaxed)),
            ),
        ];
        for (name, help, v) in gauges {
            header(&mut s, name, "gauge", help);
            let _ = writeln!(s, "{name} {v}");
        }
        header(
            &mut s,
            "vigil_stage_latency_seconds",
            "summary",
            "Latency per pipeline stage: per batch, but produce_to_risk per Kafka record.",
        );
        for (i, stage) in Stage::ALL.iter().enumerate() {
            let h = self.latency[i]
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let name = stage.name();
            for q in [0.5, 0.9, 0.99, 0.999] {
                let v = h.value_at_quantile(q) as f64 / 1e6;
                let _ = writeln!(
                    s,
                    "vigil_stage_latency_seconds{{stage=\"{name}\",quantile=\"{q}\"}} {v}"
                );
            }
            let sum = h.mean() * h.len() as f64 / 1e6;
            let _ = writeln!(
                s,
                "vigil_stage_latency_seconds_sum{{stage=\"{name}\"}} {sum}"
            );
            let _ = writeln!(
                s,
                "vigil_stage_latency_seconds_count{{stage=\"{name}\"}} {}",
                h.len()
            );
        }
        s
    }
}

fn header(s: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(s, "# HELP {name} {help}");
    let _ = writeln!(s, "# TYPE {name} {kind}");
}

/// A label value with `\`, `"` and newlines escaped as the format asks.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_types_labels_and_quantiles() {
        let m = Metrics::default();
        m.event_in("kafka:okta/0", "authentication", 3);
        m.event_in("kafka:okta/0", "authentication", 2);
        m.dead_letter("http/\"x\"", 1);
        for v in 1..=1000 {
            m.latency(Stage::Detect, v);
        }
        let text = m.render();
        assert!(
            text.contains(
                "vigil_events_in_total{source=\"kafka:okta/0\",class=\"authentication\"} 5"
            )
        );
        assert!(text.contains("vigil_dead_letters_total{source=\"http/\\\"x\\\"\"} 1"));
        assert!(text.contains("# TYPE vigil_stage_latency_seconds summary"));
        assert!(
            text.contains("vigil_stage_latency_seconds{stage=\"detect\",quantile=\"0.5\"} 0.0005")
        );
        assert!(text.contains("vigil_stage_latency_seconds_count{stage=\"detect\"} 1000"));
        assert_eq!(m.total_in(), 5);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').expect("name and value");
            assert!(value.parse::<f64>().is_ok(), "{line}");
            assert!(!name.is_empty());
        }
    }
}
