//! Kafka in and out for `vigil run`.
//!
//! # In
//!
//! One consumer thread polls the group's partitions, decodes each message
//! as one record with a [`StreamDecoder`] per partition (the format is the
//! topic's, or each message's own), and hands the pipeline one poll's
//! rows at a time. The queue to the pipeline is bounded: when it has been
//! full for half a second, every assigned partition is paused until there
//! is room (a shorter wait only blocks the thread), and librdkafka's
//! prefetch is bounded per partition (`prefetch_kbytes`), so a large lag
//! never becomes memory. Offsets are never committed automatically: the
//! pipeline's checkpoint sends them back here once their effects are
//! durable (see [`super::pipeline`]).
//!
//! On a rebalance, before partitions are taken away, the consumer asks the
//! pipeline for a checkpoint and commits the revoked partitions' offsets
//! synchronously, so the next owner starts where this one stopped.
//!
//! # Keying
//!
//! Per-entity state lives with the instance that owns the partition its
//! events arrive on, so producers should key each message by the entity
//! whose behaviour matters most for it (the user for identity events, the
//! source address for flows). Events of one entity that arrive on two
//! partitions owned by two instances build two partial baselines and two
//! partial risk scores; nothing is lost, but neither instance sees the
//! whole entity. Single-event Sigma rules do not depend on keying.
//!
//! Known shortcoming: state is checkpointed per instance, not per
//! partition, so when a partition moves to another instance its entities'
//! baselines start cold there (its offsets are handed over, its state is
//! not). Splitting detector state by partition would resolve it.
//!
//! # Out
//!
//! Findings (OCSF JSON, keyed by finding id), risk changes (keyed by
//! `entity_type:entity_id`, for a compacted topic), trust decisions (keyed
//! by entity) and dead letters (keyed by source) go to the topics named in
//! `[run.kafka.outputs]`. A full producer queue blocks the pipeline, which
//! in turn pauses the sources.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use arrow::array::{Array, AsArray, RecordBatch};
use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use vigil_ingest::read::DeadLetter;
use vigil_ingest::stream::StreamDecoder;
use vigil_ingest::{DecodeConfig, Format};
use vigil_schemas::Class;

use super::Msg;
use super::metrics::Metrics;
use super::pipeline::{Offsets, Work};
use super::settings::KafkaConfig;

/// Where a checkpoint sends the offsets it made safe to commit.
pub trait OffsetCommitter: Send + Sync {
    /// Commit `offsets` (next offset to read per partition); partitions
    /// this instance no longer owns are left alone.
    ///
    /// # Errors
    ///
    /// The consumer has gone.
    fn commit(&self, offsets: &Offsets) -> anyhow::Result<()>;
}

/// Hands offsets to the consumer thread, which alone touches the consumer.
pub struct CommitChannel(Mutex<std::sync::mpsc::Sender<Offsets>>);

impl OffsetCommitter for CommitChannel {
    fn commit(&self, offsets: &Offsets) -> anyhow::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .send(offsets.clone())
            .map_err(|_| anyhow::anyhow!("the Kafka consumer has stopped; offsets not committed"))
    }
}

/// vigil's settings for one client, then the user's `properties` and the
/// client's own (`consumer_properties`, `producer_properties`), which win.
fn client_config(
    brokers: &str,
    ours: &[(&str, String)],
    k: &KafkaConfig,
    own: &std::collections::BTreeMap<String, String>,
) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    for (key, v) in ours {
        c.set(*key, v);
    }
    for (key, v) in k.properties.iter().chain(own) {
        c.set(key, v);
    }
    c
}

struct ConsumerCtx {
    metrics: Arc<Metrics>,
    /// The pipeline, asked for a checkpoint before partitions are revoked;
    /// taken away at shutdown so the pipeline can see every sender gone.
    pipeline: Mutex<Option<SyncSender<Msg>>>,
    /// Partitions whose decoders must be dropped (revoked).
    revoked: Mutex<Vec<(String, i32)>>,
}

impl ClientContext for ConsumerCtx {
    fn stats(&self, s: Statistics) {
        let lag: i64 = s
            .topics
            .values()
            .flat_map(|t| t.partitions.values())
            .filter(|p| p.partition >= 0 && p.consumer_lag >= 0)
            .map(|p| p.consumer_lag)
            .sum();
        self.metrics.consumer_lag.store(lag, Ordering::Relaxed);
    }
}

impl ConsumerContext for ConsumerCtx {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let tx = self
            .pipeline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let revoked: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        tracing::info!(
            partitions = revoked.len(),
            "Partitions revoked; checkpointing before handing them over."
        );
        if let Some(tx) = tx {
            let (reply_tx, reply_rx) = sync_channel(1);
            if tx.send(Msg::Checkpoint(reply_tx)).is_ok()
                && let Ok(offsets) = reply_rx.recv_timeout(Duration::from_secs(60))
            {
                let mut list = TopicPartitionList::new();
                for tp in &revoked {
                    if let Some(o) = offsets.get(tp) {
                        let _ = list.add_partition_offset(&tp.0, tp.1, Offset::Offset(*o));
                    }
                }
                if list.count() > 0
                    && let Err(e) = consumer.commit(&list, CommitMode::Sync)
                {
                    tracing::warn!(error = %e, "Commit of revoked partitions failed; the next owner replays them.");
                }
            } else {
                tracing::warn!(
                    "No checkpoint before the rebalance; the next owner replays from the last commit."
                );
            }
        }
        self.revoked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(revoked);
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let owned = match rebalance {
            Rebalance::Assign(tpl) => {
                tracing::info!(partitions = tpl.count(), "Partitions assigned.");
                tpl.count()
            }
            Rebalance::Revoke(_) | Rebalance::Error(_) => 0,
        };
        self.metrics
            .kafka_partitions
            .store(i64::try_from(owned).unwrap_or(i64::MAX), Ordering::Relaxed);
    }
}

/// The consumer thread's settings.
pub struct ConsumerArgs {
    pub config: KafkaConfig,
    pub decode: DecodeConfig,
    pub max_record_bytes: usize,
    /// Next offset per partition from the checkpoint: messages below it
    /// are already in the restored state.
    pub skip: Offsets,
    pub metrics: Arc<Metrics>,
    pub shutdown: Arc<AtomicBool>,
}

/// The most records one piece of work holds, and how long a poll gathers.
const WORK_RECORDS: u64 = 8192;
const WORK_WINDOW: Duration = Duration::from_millis(20);
/// How long the pipeline may stay full before the partitions are paused.
const PAUSE_AFTER: Duration = Duration::from_millis(500);

/// Create the consumer and subscribe, so that a broker that cannot be
/// reached or a bad property is an error at start-up.
pub fn start_consumer(
    a: ConsumerArgs,
    tx: SyncSender<Msg>,
) -> anyhow::Result<(std::thread::JoinHandle<()>, Arc<dyn OffsetCommitter>)> {
    let k = &a.config;
    let c = client_config(
        &k.brokers,
        &[
            ("group.id", k.group.clone()),
            ("enable.auto.commit", "false".into()),
            ("enable.auto.offset.store", "false".into()),
            ("auto.offset.reset", k.offset_reset.clone()),
            ("queued.max.messages.kbytes", k.prefetch_kbytes.to_string()),
            ("statistics.interval.ms", "1000".into()),
        ],
        k,
        &k.consumer_properties,
    );
    let ctx = ConsumerCtx {
        metrics: a.metrics.clone(),
        pipeline: Mutex::new(Some(tx.clone())),
        revoked: Mutex::default(),
    };
    let consumer: BaseConsumer<ConsumerCtx> = c
        .create_with_context(ctx)
        .context("cannot create the Kafka consumer")?;
    let topics: Vec<&str> = k.topics.iter().map(|t| t.name.as_str()).collect();
    // N.B. librdkafka retries an unreachable broker for ever, quietly to
    // the caller; asking for metadata once makes it an error at start-up.
    consumer
        .fetch_metadata(None, Duration::from_secs(15))
        .with_context(|| format!("cannot reach the Kafka brokers {} within 15 s", k.brokers))?;
    consumer
        .subscribe(&topics)
        .with_context(|| format!("cannot subscribe to {topics:?}"))?;
    let (commit_tx, commit_rx) = std::sync::mpsc::channel::<Offsets>();
    let formats: HashMap<String, Option<Format>> = k
        .topics
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                t.format.as_deref().and_then(Format::from_name),
            )
        })
        .collect();
    let handle = std::thread::Builder::new()
        .name("vigil-kafka-in".into())
        .spawn(move || {
            let mut c = Consume {
                consumer,
                formats,
                decoders: HashMap::new(),
                next: a.skip.clone().into_iter().collect(),
                late_seen: 0,
                held: std::collections::VecDeque::new(),
                a,
                tx,
                commit_rx,
            };
            c.run();
        })?;
    Ok((handle, Arc::new(CommitChannel(Mutex::new(commit_tx)))))
}

struct Consume {
    consumer: BaseConsumer<ConsumerCtx>,
    formats: HashMap<String, Option<Format>>,
    decoders: HashMap<(String, i32), StreamDecoder>,
    /// Next offset expected per partition; anything below is a message
    /// the restored state already holds (or one seen twice).
    next: HashMap<(String, i32), i64>,
    late_seen: u64,
    /// Messages that arrived while the partitions were paused, read
    /// before anything new is polled.
    held: std::collections::VecDeque<OwnedMessage>,
    a: ConsumerArgs,
    tx: SyncSender<Msg>,
    commit_rx: Receiver<Offsets>,
}

impl Consume {
    fn run(&mut self) {
        tracing::info!(topics = ?self.formats.keys().collect::<Vec<_>>(), "Kafka consumer started.");
        while !self.a.shutdown.load(Ordering::Relaxed) {
            self.commit_pending();
            self.drop_revoked();
            let Some(work) = self.gather() else {
                continue;
            };
            if !self.send(work) {
                break;
            }
        }
        // N.B. let the pipeline see every sender gone, then commit what
        // its last checkpoint made safe, until it hangs up.
        self.consumer
            .context()
            .pipeline
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let (tx, _) = sync_channel(1);
        drop(std::mem::replace(&mut self.tx, tx));
        while let Ok(offsets) = self.commit_rx.recv() {
            self.commit(&offsets);
        }
        tracing::info!("Kafka consumer stopped; offsets committed.");
    }

    fn commit_pending(&mut self) {
        while let Ok(offsets) = self.commit_rx.try_recv() {
            self.commit(&offsets);
        }
    }

    /// Commit the offsets of partitions this instance still owns.
    fn commit(&self, offsets: &Offsets) {
        let owned = match self.consumer.assignment() {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "Cannot read the assignment; commit skipped.");
                return;
            }
        };
        let mut list = TopicPartitionList::new();
        for e in owned.elements() {
            if let Some(o) = offsets.get(&(e.topic().to_string(), e.partition())) {
                let _ = list.add_partition_offset(e.topic(), e.partition(), Offset::Offset(*o));
            }
        }
        if list.count() == 0 {
            return;
        }
        if let Err(e) = self.consumer.commit(&list, CommitMode::Sync) {
            tracing::warn!(error = %e, "Offset commit failed; a restart replays from the last one.");
        }
    }

    fn drop_revoked(&mut self) {
        let revoked = std::mem::take(
            &mut *self
                .consumer
                .context()
                .revoked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        for tp in revoked {
            self.held
                .retain(|m| (m.topic(), m.partition()) != (tp.0.as_str(), tp.1));
            self.decoders.remove(&tp);
            self.next.remove(&tp);
        }
    }

    /// Poll for up to [`WORK_WINDOW`] or [`WORK_RECORDS`]; `None` when
    /// nothing came.
    fn gather(&mut self) -> Option<Work> {
        let mut received: Option<Instant> = None;
        let mut records = 0u64;
        let mut dead = Vec::new();
        let mut touched: BTreeMap<(String, i32), i64> = BTreeMap::new();
        let mut skipped = 0u64;
        let mut produced_ms = Vec::new();
        loop {
            let timeout = match received {
                None => Duration::from_millis(100),
                Some(t) => match WORK_WINDOW.checked_sub(t.elapsed()) {
                    Some(d) => d,
                    None => break,
                },
            };
            let held = self.held.pop_front();
            let polled;
            let (topic, partition, offset, payload, ts) = match &held {
                Some(m) => (
                    m.topic(),
                    m.partition(),
                    m.offset(),
                    m.payload(),
                    m.timestamp(),
                ),
                None => {
                    polled = match self.consumer.poll(timeout) {
                        None => break,
                        Some(Err(e)) => {
                            tracing::warn!(error = %e, "Kafka poll failed.");
                            break;
                        }
                        Some(Ok(m)) => m,
                    };
                    (
                        polled.topic(),
                        polled.partition(),
                        polled.offset(),
                        polled.payload(),
                        polled.timestamp(),
                    )
                }
            };
            let tp = (topic.to_string(), partition);
            let expected = self.next.get(&tp).copied().unwrap_or(i64::MIN);
            if offset < expected {
                skipped += 1;
                continue;
            }
            if let Some(t) = ts.to_millis() {
                produced_ms.push(t);
            }
            self.next.insert(tp.clone(), offset + 1);
            touched.insert(tp.clone(), offset + 1);
            received.get_or_insert_with(Instant::now);
            records += 1;
            let format = self.formats.get(&tp.0).copied().flatten();
            let d = self.decoders.entry(tp.clone()).or_insert_with(|| {
                StreamDecoder::new(
                    format!("kafka:{}/{}", tp.0, tp.1),
                    format,
                    self.a.decode.clone(),
                    self.a.max_record_bytes,
                )
            });
            let o = u64::try_from(offset).unwrap_or(0);
            match payload {
                Some(p) if !p.trim_ascii().is_empty() => {
                    if let Err(dl) = d.push(p, o, o) {
                        dead.push(*dl);
                    }
                }
                // N.B. an empty or null value (a tombstone) holds no
                // record, but it was sent: it is reported, not dropped.
                _ => dead.push(DeadLetter {
                    file: d.name().to_string(),
                    line: o,
                    offset: o,
                    format: format.map_or("unknown", Format::name).to_string(),
                    reason: "empty message: no value to decode".into(),
                    record: String::new(),
                    record_truncated: false,
                }),
            }
            if records >= WORK_RECORDS {
                break;
            }
        }
        if skipped > 0 {
            tracing::debug!(
                skipped,
                "Messages already in the restored state were skipped."
            );
        }
        let received = received?;
        let mut batches = Vec::new();
        let mut late = 0;
        for d in self.decoders.values_mut() {
            batches.extend(d.flush());
            late += d.stats().iter().map(|(_, s)| s.late).sum::<u64>();
        }
        let new_late = late.saturating_sub(self.late_seen);
        self.late_seen = late;
        let source: Arc<str> = match touched.keys().next() {
            Some((t, _)) if touched.keys().all(|(x, _)| x == t) => format!("kafka:{t}").into(),
            _ => "kafka".into(),
        };
        Some(Work {
            source,
            batches,
            dead,
            records,
            late: new_late,
            offsets: touched.into_iter().collect(),
            received,
            decoded: Instant::now(),
            produced_ms,
        })
    }

    /// Hand work to the pipeline, pausing the partitions while it is full.
    /// False when the pipeline has gone.
    fn send(&mut self, work: Work) -> bool {
        let mut msg = Msg::Work(Box::new(work));
        let mut paused: Option<TopicPartitionList> = None;
        let mut full_since: Option<Instant> = None;
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => {
                    self.a.metrics.queue_depth.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(m)) => {
                    msg = m;
                    self.commit_pending();
                    let since = *full_since.get_or_insert_with(Instant::now);
                    if paused.is_none() && since.elapsed() < PAUSE_AFTER {
                        // N.B. a pipeline that is merely busy frees a slot
                        // within one batch; pausing would throw away the
                        // prefetched messages only to fetch them again.
                        std::thread::sleep(Duration::from_millis(1));
                        continue;
                    }
                    if paused.is_none()
                        && let Ok(a) = self.consumer.assignment()
                    {
                        self.a
                            .metrics
                            .backpressure_waits
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::debug!(
                            waited_ms = since.elapsed().as_millis(),
                            "Pipeline full; Kafka partitions paused."
                        );
                        if let Err(e) = self.consumer.pause(&a) {
                            tracing::warn!(error = %e, "Cannot pause Kafka partitions.");
                        }
                        paused = Some(a);
                    }
                    // N.B. polling keeps the group membership alive; paused
                    // partitions fetch nothing more, and a message that was
                    // already on its way is held, in order, to be read first
                    // once there is room (at most what was prefetched).
                    if let Some(Ok(m)) = self.consumer.poll(Duration::from_millis(50)) {
                        self.held.push_back(m.detach());
                    }
                }
            }
        }
        if let Some(a) = paused
            && let Err(e) = self.consumer.resume(&a)
        {
            tracing::warn!(error = %e, "Cannot resume Kafka partitions.");
        }
        true
    }
}

struct ProducerCtx {
    failed: Arc<std::sync::atomic::AtomicU64>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl ClientContext for ProducerCtx {}

impl ProducerContext for ProducerCtx {
    type DeliveryOpaque = ();

    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        if let Err((e, m)) = r {
            self.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, topic = m.topic(), "Kafka delivery failed.");
            *self
                .last_error
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e.to_string());
        }
    }
}

/// The Kafka outputs.
pub struct KafkaOut {
    producer: BaseProducer<ProducerCtx>,
    findings: Option<String>,
    risk: Option<String>,
    decisions: Option<String>,
    dead_letters: Option<String>,
    failed: Arc<std::sync::atomic::AtomicU64>,
    last_error: Arc<Mutex<Option<String>>>,
    buf: Vec<u8>,
}

impl KafkaOut {
    /// A producer for the configured output topics; `None` when none is
    /// configured.
    pub fn new(k: &KafkaConfig) -> anyhow::Result<Option<KafkaOut>> {
        let o = &k.outputs;
        if o.findings.is_none()
            && o.risk.is_none()
            && o.decisions.is_none()
            && o.dead_letters.is_none()
        {
            return Ok(None);
        }
        let failed = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let last_error = Arc::new(Mutex::new(None));
        let brokers = o.brokers.as_deref().unwrap_or(&k.brokers);
        let c = client_config(
            brokers,
            &[("acks", "all".into()), ("linger.ms", "5".into())],
            k,
            &k.producer_properties,
        );
        let producer = c
            .create_with_context(ProducerCtx {
                failed: failed.clone(),
                last_error: last_error.clone(),
            })
            .context("cannot create the Kafka producer")?;
        Producer::client(&producer)
            .fetch_metadata(None, Duration::from_secs(15))
            .with_context(|| {
                format!("cannot reach the Kafka output brokers {brokers} within 15 s")
            })?;
        Ok(Some(KafkaOut {
            producer,
            findings: o.findings.clone(),
            risk: o.risk.clone(),
            decisions: o.decisions.clone(),
            dead_letters: o.dead_letters.clone(),
            failed,
            last_error,
            buf: Vec::new(),
        }))
    }

    /// Serve delivery reports.
    pub fn poll(&mut self) {
        self.producer.poll(Duration::ZERO);
    }

    /// Send every row of a derived batch to its class's topic. False when
    /// the class has no topic.
    pub fn write(&mut self, class: Class, batch: &RecordBatch) -> anyhow::Result<bool> {
        let topic = match class {
            Class::DetectionFinding => self.findings.clone(),
            Class::EntityRisk => self.risk.clone(),
            Class::TrustDecision => self.decisions.clone(),
            _ => None,
        };
        let Some(topic) = topic else {
            return Ok(false);
        };
        let col = |name: &str| {
            batch
                .schema()
                .index_of(name)
                .ok()
                .and_then(|i| batch.column(i).as_string_opt::<i32>().cloned())
        };
        let uid = col("finding_info_uid");
        let etype = col("entity_type");
        let eid = col("entity_id");
        for row in 0..batch.num_rows() {
            let doc = vigil_schemas::json::row_to_ocsf(batch, row);
            self.buf.clear();
            serde_json::to_writer(&mut self.buf, &doc)?;
            let key = match (class, &uid, &etype, &eid) {
                (Class::DetectionFinding, Some(u), _, _) if u.is_valid(row) => {
                    u.value(row).to_string()
                }
                (_, _, Some(t), Some(i)) if t.is_valid(row) && i.is_valid(row) => {
                    format!("{}:{}", t.value(row), i.value(row))
                }
                _ => String::new(),
            };
            let payload = std::mem::take(&mut self.buf);
            self.send(&topic, &key, &payload)?;
            self.buf = payload;
        }
        Ok(true)
    }

    /// Send one dead letter.
    pub fn dead_letter(&mut self, source: &str, v: &serde_json::Value) -> anyhow::Result<()> {
        let Some(topic) = self.dead_letters.clone() else {
            return Ok(());
        };
        let payload = serde_json::to_vec(v)?;
        self.send(&topic, source, &payload)
    }

    fn send(&mut self, topic: &str, key: &str, payload: &[u8]) -> anyhow::Result<()> {
        loop {
            let rec = BaseRecord::to(topic).key(key).payload(payload);
            match self.producer.send(rec) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // N.B. a full queue waits for the broker, which is
                    // back-pressure: the pipeline, then the sources, wait.
                    self.producer.poll(Duration::from_millis(100));
                }
                Err((e, _)) => bail!("cannot send to Kafka topic {topic}: {e}"),
            }
        }
    }

    /// Wait until every message given so far is acknowledged.
    ///
    /// # Errors
    ///
    /// A message could not be delivered, or the broker did not answer
    /// within a minute: the checkpoint must not go ahead.
    pub fn flush(&mut self, metrics: &Metrics) -> anyhow::Result<()> {
        self.producer
            .flush(Duration::from_secs(60))
            .context("Kafka outputs did not acknowledge within 60 s; offsets not committed")?;
        let failed = self.failed.swap(0, Ordering::Relaxed);
        if failed > 0 {
            metrics
                .kafka_delivery_failures
                .fetch_add(failed, Ordering::Relaxed);
            let why = self
                .last_error
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
                .unwrap_or_default();
            bail!(
                "{failed} Kafka output messages were not delivered ({why}); offsets not committed"
            );
        }
        Ok(())
    }
}
