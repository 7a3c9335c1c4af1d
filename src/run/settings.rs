//! The `[run]` section of vigil.toml: what `vigil run` reads from and
//! writes to.
//!
//! ```toml
//! [run]
//! data_dir = "vigil-data"        # lake/, findings.ndjson, dlq.ndjson, state/
//! rules = "rules"                # Sigma rules; leave out for none
//! http = "127.0.0.1:8080"        # API, /metrics, ingest
//! tokens = ["change-me"]         # bearer tokens for ingest; none: ingest is off
//! checkpoint_secs = 10
//! queue_batches = 32             # batches between the sources and the pipeline
//!
//! [run.simulator]                # the embedded default's source
//! users = 200
//! speed = 1.0
//!
//! [run.kafka]
//! brokers = "127.0.0.1:9092"
//! group = "vigil"
//! topics = [{ name = "okta", format = "okta" }, { name = "telemetry" }]
//! consumer_properties = { "session.timeout.ms" = "10000" }
//! [run.kafka.outputs]
//! findings = "vigil.findings"
//! risk = "vigil.risk"
//! decisions = "vigil.decisions"
//! dead_letters = "vigil.dlq"
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use vigil_ingest::Format;

/// `[run]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Where the lake, the findings and dead-letter files and the state
    /// live.
    pub data_dir: PathBuf,
    /// Sigma rules directory.
    pub rules: Option<PathBuf>,
    /// Address of the HTTP API.
    pub http: SocketAddr,
    /// Bearer tokens that may use the ingest endpoints. With none, the
    /// ingest endpoints answer 404: nobody can write without a token.
    pub tokens: Vec<String>,
    /// Seconds between checkpoints; a Kafka offset is committed only by a
    /// checkpoint.
    pub checkpoint_secs: f64,
    /// Batches that may wait between the sources and the pipeline before
    /// the sources are paused.
    pub queue_batches: usize,
    /// Largest record in bytes; larger ones are dead-lettered.
    pub max_record_bytes: usize,
    /// Largest HTTP ingest body in bytes (413 past it).
    pub max_body_bytes: usize,
    /// Time zone of sources whose timestamps carry none.
    pub timezone: String,
    /// The simulator source.
    pub simulator: Option<SimSource>,
    /// Kafka in and out.
    pub kafka: Option<KafkaConfig>,
    /// Syslog over UDP and TCP.
    pub syslog: Option<SyslogConfig>,
    /// Files followed through rotation.
    pub files: Vec<FileSource>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            data_dir: PathBuf::from("vigil-data"),
            rules: None,
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tokens: Vec::new(),
            checkpoint_secs: 10.0,
            queue_batches: 32,
            max_record_bytes: vigil_ingest::framing::DEFAULT_MAX_RECORD_BYTES,
            max_body_bytes: 16 << 20,
            timezone: "UTC".into(),
            simulator: None,
            kafka: None,
            syslog: None,
            files: Vec::new(),
        }
    }
}

/// `[run.simulator]`: a simulated enterprise streamed in event time.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimSource {
    /// Seed of the simulation.
    pub seed: u64,
    /// People in the enterprise.
    pub users: u32,
    /// Days of attack-free history, streamed at once before the live part.
    pub history_days: u32,
    /// Days with attacks; the first starts yesterday at 00:00 UTC, so the
    /// part before now is streamed at once and the rest as it happens.
    pub days: u32,
    /// Event time per wall-clock second once caught up with now (1.0:
    /// real time).
    pub speed: f64,
}

impl Default for SimSource {
    fn default() -> Self {
        SimSource {
            seed: 1,
            users: 200,
            history_days: 3,
            days: 3,
            speed: 1.0,
        }
    }
}

/// `[[run.files]]`: a file followed as it grows and rotates.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSource {
    /// The file's path (the name it is rotated away from).
    pub path: PathBuf,
    /// Its format (see `vigil formats`); leave out to tell it per record.
    pub format: Option<String>,
}

/// `[run.syslog]`: syslog receivers.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyslogConfig {
    /// Address for syslog over UDP (RFC 5426), e.g. "0.0.0.0:514".
    pub udp: Option<SocketAddr>,
    /// Address for syslog over TCP (RFC 6587: octet counting or newlines).
    pub tcp: Option<SocketAddr>,
    /// Format the messages are decoded as (default `syslog`: RFC 3164 and
    /// RFC 5424).
    pub format: Option<String>,
    /// Open TCP connections at most; more are closed at once.
    pub max_connections: usize,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            udp: None,
            tcp: None,
            format: None,
            max_connections: 256,
        }
    }
}

/// `[run.kafka]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Consumer group id; instances with the same group split the
    /// partitions.
    #[serde(default = "default_group")]
    pub group: String,
    /// Input topics.
    #[serde(default)]
    pub topics: Vec<TopicConfig>,
    /// Output topics.
    #[serde(default)]
    pub outputs: KafkaOutputs,
    /// Where a group with no committed offset starts: `earliest` or
    /// `latest`.
    #[serde(default = "default_offset_reset")]
    pub offset_reset: String,
    /// Prefetch bound per partition in KiB (librdkafka's
    /// `queued.max.messages.kbytes`), so a large lag cannot blow up memory.
    #[serde(default = "default_prefetch")]
    pub prefetch_kbytes: u32,
    /// Further librdkafka properties, for both consumer and producer
    /// (security.protocol, sasl.*, ssl.*).
    #[serde(default)]
    pub properties: std::collections::BTreeMap<String, String>,
    /// librdkafka properties for the consumer only (session.timeout.ms,
    /// fetch.max.bytes), applied after `properties`.
    #[serde(default)]
    pub consumer_properties: std::collections::BTreeMap<String, String>,
    /// librdkafka properties for the producer only (compression.type,
    /// linger.ms), applied after `properties`.
    #[serde(default)]
    pub producer_properties: std::collections::BTreeMap<String, String>,
}

fn default_group() -> String {
    "vigil".into()
}

fn default_offset_reset() -> String {
    "earliest".into()
}

fn default_prefetch() -> u32 {
    16 * 1024
}

/// One input topic.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// Topic name.
    pub name: String,
    /// Format of every message (see `vigil formats`); leave out to tell
    /// each message's format from its content.
    pub format: Option<String>,
}

/// `[run.kafka.outputs]`: topic names; an output left out is not written.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaOutputs {
    /// `bootstrap.servers` of the cluster the outputs go to, when it is
    /// not the one read from.
    pub brokers: Option<String>,
    /// Detection findings as OCSF JSON, keyed by finding id.
    pub findings: Option<String>,
    /// Risk changes, keyed by `entity_type:entity_id` (make it compacted).
    pub risk: Option<String>,
    /// Trust decisions, keyed by user.
    pub decisions: Option<String>,
    /// Dead letters with their reasons, keyed by source.
    pub dead_letters: Option<String>,
}

impl RunConfig {
    /// Every problem with the values, each naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !(self.checkpoint_secs.is_finite() && self.checkpoint_secs > 0.0) {
            p.push("run.checkpoint_secs must be a number of seconds above 0".into());
        }
        if !(1..=10_000).contains(&self.queue_batches) {
            p.push(
                "run.queue_batches must be from 1 to 10000 (each batch holds up to 8192 records)"
                    .into(),
            );
        }
        if self.max_body_bytes == 0 {
            p.push("run.max_body_bytes must be at least 1".into());
        }
        if self.max_record_bytes < 64 {
            p.push("run.max_record_bytes must be at least 64".into());
        }
        if self.timezone.parse::<chrono_tz::Tz>().is_err() {
            p.push(format!(
                "run.timezone {:?} is not an IANA time zone",
                self.timezone
            ));
        }
        if self.tokens.iter().any(|t| t.trim().len() < 8) {
            p.push("run.tokens: each token must have at least 8 characters".into());
        }
        if let Some(s) = &self.simulator {
            if !(s.speed.is_finite() && s.speed > 0.0) {
                p.push("run.simulator.speed must be above 0".into());
            }
            if s.users == 0 || s.days == 0 {
                p.push("run.simulator needs at least one user and one day".into());
            }
        }
        for f in &self.files {
            if f.path.as_os_str().is_empty() {
                p.push("run.files: a path is empty".into());
            }
            if let Some(name) = &f.format
                && Format::from_name(name).is_none()
            {
                p.push(format!(
                    "run.files {}: format {name:?} is not a format (see `vigil formats`)",
                    f.path.display()
                ));
            }
        }
        if let Some(sl) = &self.syslog {
            if sl.udp.is_none() && sl.tcp.is_none() {
                p.push("run.syslog needs udp or tcp (an address to listen on)".into());
            }
            if let Some(f) = &sl.format
                && Format::from_name(f).is_none()
            {
                p.push(format!(
                    "run.syslog.format {f:?} is not a format (see `vigil formats`)"
                ));
            }
            if sl.max_connections == 0 {
                p.push("run.syslog.max_connections must be at least 1".into());
            }
        }
        if let Some(k) = &self.kafka {
            if k.brokers.trim().is_empty() {
                p.push("run.kafka.brokers is empty".into());
            }
            if !matches!(k.offset_reset.as_str(), "earliest" | "latest") {
                p.push(format!(
                    "run.kafka.offset_reset {:?}: earliest or latest",
                    k.offset_reset
                ));
            }
            for (i, t) in k.topics.iter().enumerate() {
                if t.name.trim().is_empty() {
                    p.push(format!("run.kafka.topics[{i}].name is empty"));
                }
                if let Some(f) = &t.format
                    && Format::from_name(f).is_none()
                {
                    p.push(format!(
                        "run.kafka.topics[{i}].format {f:?} is not a format (see `vigil formats`)"
                    ));
                }
            }
        }
        if self.simulator.is_none()
            && self.kafka.as_ref().is_none_or(|k| k.topics.is_empty())
            && self.tokens.is_empty()
            && self.syslog.is_none()
            && self.files.is_empty()
        {
            p.push(
                "run: no source; set [run.simulator], [run.kafka] topics, [run.syslog], [[run.files]], or run.tokens for HTTP ingest"
                    .into(),
            );
        }
        p
    }
}
