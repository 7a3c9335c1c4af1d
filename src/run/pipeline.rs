//! The pipeline thread of `vigil run`: detection, outputs, checkpoints.
//!
//! ```text
//!  sources ──(bounded queue of Work)──► detect ──► lake, findings.ndjson,
//!                                                  dlq.ndjson, Kafka topics
//!                       every checkpoint_secs: outputs acknowledged →
//!                       state written → Kafka offsets committed
//! ```
//!
//! # Delivery
//!
//! A Kafka offset is committed only by a checkpoint, and a checkpoint
//! first waits until the Kafka producer has had every message it was
//! given acknowledged, closes the lake's open files and syncs the
//! findings and dead-letter files, then writes the detector state with
//! the next offset of every partition, and only then commits those
//! offsets. A crash at any point therefore replays from offsets whose
//! effects are all durable: nothing accepted is lost, and what is
//! replayed comes out again with the same ids (event ids hash the
//! partition, offset and bytes). After a restart the consumer skips
//! messages below the checkpoint's offsets, which the restored state
//! already holds, so baselines do not count an event twice.
//!
//! If the producer cannot deliver a message, the checkpoint fails, no
//! offset is committed, and the service stops with an error: a restart
//! replays from the last good checkpoint.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arrow::array::RecordBatch;
use vigil_detect::Detectors;
use vigil_ingest::read::DeadLetter;
use vigil_schemas::Class;
use vigil_sink::dlq::DeadLetterFile;
use vigil_sink::findings::FindingsFile;
use vigil_sink::lake::LakeWriter;

use super::Msg;
use super::kafka::{KafkaOut, OffsetCommitter};
use super::metrics::{Metrics, Stage};

/// Next offset to read, per `(topic, partition)`.
pub type Offsets = BTreeMap<(String, i32), i64>;

/// What a source hands the pipeline: one poll's worth of decoded rows.
pub struct Work {
    /// The source, as metrics label it: `kafka:<topic>` (`kafka` for a
    /// poll that spans topics), `http:ingest/<format>`, `http:hec`, `http:hec-raw`,
    /// `syslog-udp`, `syslog-tcp`, `file:<path>`, `simulator`.
    pub source: Arc<str>,
    /// Decoded rows.
    pub batches: Vec<(Class, RecordBatch)>,
    /// Records that could not be decoded.
    pub dead: Vec<DeadLetter>,
    /// Records received.
    pub records: u64,
    /// Rows behind their stream's watermark.
    pub late: u64,
    /// For Kafka: the next offset of each partition once this work is done.
    pub offsets: Vec<((String, i32), i64)>,
    /// When the first record of this work arrived.
    pub received: Instant,
    /// When decoding ended.
    pub decoded: Instant,
    /// For Kafka: each record's timestamp, ms since the epoch.
    pub produced_ms: Vec<i64>,
}

/// Where the pipeline writes.
pub struct Outputs {
    pub lake: LakeWriter,
    pub findings: FindingsFile,
    pub dlq: DeadLetterFile,
    pub kafka: Option<KafkaOut>,
}

/// The pipeline's state and its checkpoint.
pub struct Pipeline {
    pub detectors: Detectors,
    pub out: Outputs,
    pub committer: Option<Arc<dyn OffsetCommitter>>,
    pub metrics: Arc<Metrics>,
    pub checkpoint: CheckpointFile,
    pub every: Duration,
    /// Offsets reached, committed at the next checkpoint.
    pub offsets: Offsets,
}

impl Pipeline {
    /// Take work until every source has hung up, checkpointing on the way;
    /// then flush what the detectors hold, and checkpoint a last time.
    ///
    /// # Errors
    ///
    /// An output that fails (a disk write, a Kafka message that cannot be
    /// delivered) stops the pipeline, with no offset committed past the
    /// last good checkpoint.
    pub fn run(mut self, rx: &Receiver<Msg>) -> anyhow::Result<()> {
        let mut last = Instant::now();
        let mut dirty = false;
        loop {
            let wait = self.every.saturating_sub(last.elapsed());
            match rx.recv_timeout(wait) {
                Ok(Msg::Work(work)) => {
                    self.metrics.queue_depth.fetch_sub(1, Ordering::Relaxed);
                    self.process(*work)?;
                    dirty = true;
                }
                Ok(Msg::Checkpoint(reply)) => {
                    self.save()?;
                    dirty = false;
                    last = Instant::now();
                    let _ = reply.send(self.offsets.clone());
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if let Some(k) = &mut self.out.kafka {
                k.poll();
            }
            if last.elapsed() >= self.every {
                if dirty {
                    self.save()?;
                    dirty = false;
                }
                last = Instant::now();
            }
        }
        // N.B. the state is saved before `finish`, which closes windows as
        // at the end of input: a restart goes on from the open windows.
        self.save()?;
        let end = self.detectors.finish();
        self.detector_errors(&end.errors);
        for (class, batch) in end.batches {
            self.write(class, &batch)?;
        }
        self.flush_outputs()?;
        self.out.lake.finish()?;
        self.out.findings.finish()?;
        self.out.dlq.finish()?;
        tracing::info!("Pipeline drained and checkpointed.");
        Ok(())
    }

    fn process(&mut self, w: Work) -> anyhow::Result<()> {
        let m = self.metrics.clone();
        m.records(&w.source, w.records);
        m.dead_letter(&w.source, w.dead.len() as u64);
        m.late_events.fetch_add(w.late, Ordering::Relaxed);
        m.latency(Stage::Decode, micros(w.decoded - w.received));
        m.latency(Stage::Queue, micros(w.decoded.elapsed()));
        for dl in &w.dead {
            let v = serde_json::to_value(dl)?;
            self.out.dlq.push(&v)?;
            if let Some(k) = &mut self.out.kafka {
                k.dead_letter(&w.source, &v)?;
            }
        }
        let mut detect_us = 0;
        let mut output_us = 0;
        for (class, batch) in &w.batches {
            m.event_in(&w.source, class.name(), batch.num_rows() as u64);
            let t = Instant::now();
            let derived = if self.detectors.is_empty() {
                Vec::new()
            } else {
                let out = self.detectors.detect(*class, batch);
                self.detector_errors(&out.errors);
                out.batches
            };
            let t2 = Instant::now();
            detect_us += micros(t2 - t);
            for (c, b) in &derived {
                self.write(*c, b)?;
            }
            self.out.lake.write(*class, batch)?;
            m.event_out("lake", class.name(), batch.num_rows() as u64);
            output_us += micros(t2.elapsed());
        }
        m.latency(Stage::Detect, detect_us);
        m.latency(Stage::Output, output_us);
        m.latency(Stage::EventToRisk, micros(w.received.elapsed()));
        if !w.produced_ms.is_empty() {
            let now_ms = chrono::Utc::now().timestamp_millis();
            m.latencies(
                Stage::ProduceToRisk,
                w.produced_ms
                    .iter()
                    .map(|t| u64::try_from(now_ms - t).unwrap_or(0) * 1000),
            );
        }
        for (tp, next) in w.offsets {
            let e = self.offsets.entry(tp).or_insert(next);
            *e = (*e).max(next);
        }
        Ok(())
    }

    fn detector_errors(&self, errors: &[String]) {
        for e in errors {
            tracing::warn!(error = %e, "Detector failed on a batch.");
        }
        self.metrics
            .detector_errors
            .fetch_add(errors.len() as u64, Ordering::Relaxed);
    }

    /// A batch a detector derived.
    fn write(&mut self, class: Class, batch: &RecordBatch) -> anyhow::Result<()> {
        let n = batch.num_rows() as u64;
        if class == Class::DetectionFinding {
            self.out.findings.write(batch)?;
            self.metrics.event_out("findings_file", class.name(), n);
        }
        if let Some(k) = &mut self.out.kafka
            && k.write(class, batch)?
        {
            self.metrics.event_out("kafka", class.name(), n);
        }
        self.out.lake.write(class, batch)?;
        self.metrics.event_out("lake", class.name(), n);
        Ok(())
    }

    fn flush_outputs(&mut self) -> anyhow::Result<()> {
        if let Some(k) = &mut self.out.kafka {
            k.flush(&self.metrics)?;
        }
        self.out.lake.close_open_files()?;
        self.out.findings.flush()?;
        self.out.dlq.flush()?;
        Ok(())
    }

    /// Outputs acknowledged, then state, then offsets.
    fn save(&mut self) -> anyhow::Result<()> {
        let t = Instant::now();
        self.flush_outputs()?;
        let state = self.detectors.save_state()?;
        self.checkpoint.write(&state, &self.offsets)?;
        if let Some(c) = &self.committer
            && !self.offsets.is_empty()
        {
            c.commit(&self.offsets)?;
        }
        for (k, v) in self.detectors.counters() {
            match k.as_str() {
                "baselines.state_bytes" => self.metrics.state_bytes.store(v, Ordering::Relaxed),
                "risk.entities" => self.metrics.risk_entities.store(v, Ordering::Relaxed),
                _ => {}
            }
        }
        self.metrics.checkpoints.fetch_add(1, Ordering::Relaxed);
        self.metrics.latency(Stage::Checkpoint, micros(t.elapsed()));
        tracing::debug!(partitions = self.offsets.len(), "Checkpoint written.");
        Ok(())
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// `state/checkpoint.json`: detector state and the offsets it covers,
/// written atomically (a temporary file, fsynced, renamed over the old).
pub struct CheckpointFile {
    path: PathBuf,
}

/// What a checkpoint holds once read.
#[derive(Default)]
pub struct Restored {
    pub detectors: BTreeMap<String, Box<serde_json::value::RawValue>>,
    pub offsets: Offsets,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Doc {
    version: u64,
    /// `topic/partition` → next offset.
    offsets: BTreeMap<String, i64>,
    detectors: BTreeMap<String, Box<serde_json::value::RawValue>>,
}

const VERSION: u64 = 1;

impl CheckpointFile {
    /// The checkpoint under `dir`, creating the directory.
    pub fn open(dir: &Path) -> anyhow::Result<CheckpointFile> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
        Ok(CheckpointFile {
            path: dir.join("checkpoint.json"),
        })
    }

    /// The last checkpoint, if there is one.
    pub fn read(&self) -> anyhow::Result<Option<Restored>> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("{}", self.path.display())),
        };
        let doc: Doc = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a vigil run checkpoint", self.path.display()))?;
        if doc.version != VERSION {
            bail!(
                "{}: checkpoint version is not {VERSION}; remove it to start afresh",
                self.path.display()
            );
        }
        let mut offsets = Offsets::new();
        for (k, v) in doc.offsets {
            let Some((topic, p)) = k.rsplit_once('/') else {
                bail!("{}: bad partition key {k:?}", self.path.display());
            };
            let p: i32 = p
                .parse()
                .with_context(|| format!("{}: bad partition key {k:?}", self.path.display()))?;
            offsets.insert((topic.to_string(), p), v);
        }
        Ok(Some(Restored {
            detectors: doc.detectors,
            offsets,
        }))
    }

    fn write(
        &self,
        detectors: &BTreeMap<String, Box<serde_json::value::RawValue>>,
        offsets: &Offsets,
    ) -> anyhow::Result<()> {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            version: u64,
            offsets: BTreeMap<String, i64>,
            detectors: &'a BTreeMap<String, Box<serde_json::value::RawValue>>,
        }
        let doc = Out {
            version: VERSION,
            offsets: offsets
                .iter()
                .map(|((t, p), o)| (format!("{t}/{p}"), *o))
                .collect(),
            detectors,
        };
        crate::replay::write_json_atomic(&self.path, &doc)
    }
}
