//! `vigil run`: the pipeline as a long-running service.
//!
//! ```text
//!  Kafka consumer ─┐
//!  HTTP ingest ────┤
//!  syslog UDP, TCP ┤
//!  followed files ─┼─(bounded queue)─► pipeline thread: detect → lake, files, Kafka
//!  simulator ──────┘                      └─ checkpoint: acks → state → offsets
//!  HTTP: /healthz /readyz /metrics /v1/ingest/{format} /services/collector/*
//! ```
//!
//! With no config, an embedded default runs: the simulator streaming a
//! 200-person enterprise (its history at once, then in real time), Sigma
//! rules from `./rules` when that folder exists, the baselines and the
//! risk engine, outputs under `./vigil-data`, and the API on
//! 127.0.0.1:8080.
//!
//! SIGTERM or Ctrl-C stops the sources, drains the queue, checkpoints and
//! commits; a second Ctrl-C exits at once (the next start replays from the
//! last checkpoint).
//!
//! Not built yet, and named so here: per-partition state handover between instances (see [`kafka`]); the
//! Sigma engine's correlation state is not in the checkpoint (it has no
//! `save_state`), so a restart forgets correlations half built.

pub mod bench;
mod http;
pub mod kafka;
mod metrics;
mod pipeline;
mod settings;
mod sim;
mod syslog;
mod tail;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use vigil_detect::Detectors;
use vigil_detect::behaviour::Behaviour;
use vigil_detect::risk::RiskEngine;
use vigil_ingest::DecodeConfig;
use vigil_sink::dlq::DeadLetterFile;
use vigil_sink::findings::FindingsFile;
use vigil_sink::lake::LakeWriter;

pub use settings::RunConfig;

use self::metrics::Metrics;
use self::pipeline::{CheckpointFile, Outputs, Pipeline, Work};

/// What travels from the sources to the pipeline.
pub enum Msg {
    /// Decoded rows.
    Work(Box<Work>),
    /// Checkpoint now (partitions are about to be revoked) and answer with
    /// the offsets it covers.
    Checkpoint(SyncSender<pipeline::Offsets>),
}

/// Hand a source's work over, waiting while the pipeline is full (the
/// back-pressure of the simulator, syslog and followed files); false when
/// the pipeline has gone, or the service stops while waiting.
fn send_blocking(tx: &SyncSender<Msg>, metrics: &Metrics, shutdown: &AtomicBool, w: Work) -> bool {
    let mut msg = Msg::Work(Box::new(w));
    let mut waited = false;
    loop {
        match tx.try_send(msg) {
            Ok(()) => {
                metrics.queue_depth.fetch_add(1, Ordering::Relaxed);
                return true;
            }
            Err(TrySendError::Disconnected(_)) => return false,
            Err(TrySendError::Full(m)) => {
                if !waited {
                    metrics.backpressure_waits.fetch_add(1, Ordering::Relaxed);
                    waited = true;
                }
                if shutdown.load(Ordering::Relaxed) {
                    return false;
                }
                msg = m;
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

/// Arguments of `vigil run`.
#[derive(Args)]
pub struct RunArgs {
    /// vigil.toml with a `[run]` section; without it the embedded default
    /// runs (see `vigil run --help`).
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Data directory (overrides run.data_dir).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address of the HTTP API (overrides run.http).
    #[arg(long)]
    http: Option<SocketAddr>,
    /// Simulator speed: event time per wall-clock second once caught up
    /// (overrides run.simulator.speed).
    #[arg(long)]
    speed: Option<f64>,
}

/// Run `vigil run` until SIGTERM or Ctrl-C.
pub fn run(a: RunArgs) -> anyhow::Result<()> {
    let (cfg, mut rc) = match &a.config {
        Some(p) => {
            let cfg = crate::config::Config::load(p)?;
            let Some(rc) = cfg.run.clone() else {
                bail!("{}: no [run] section; see `vigil run --help`", p.display());
            };
            (cfg, rc)
        }
        None => {
            let rules = PathBuf::from("rules");
            let rc = RunConfig {
                rules: rules.is_dir().then_some(rules),
                simulator: Some(settings::SimSource::default()),
                ..RunConfig::default()
            };
            (crate::config::Config::default(), rc)
        }
    };
    if let Some(d) = a.data_dir {
        rc.data_dir = d;
    }
    if let Some(h) = a.http {
        rc.http = h;
    }
    if let Some(s) = a.speed {
        match &mut rc.simulator {
            Some(sim) => sim.speed = s,
            None => bail!("--speed: no simulator source in this config"),
        }
    }
    let problems = rc.problems();
    if !problems.is_empty() {
        bail!("config: {}", problems.join("; "));
    }
    // N.B. the API's port first: a port in use stops the start before any
    // file is written or any source (a consumer group) is joined.
    let http_listener = std::net::TcpListener::bind(rc.http)
        .with_context(|| format!("cannot listen on {} (run.http, --http)", rc.http))?;
    http_listener.set_nonblocking(true)?;
    let decode = DecodeConfig {
        timezone: rc
            .timezone
            .parse()
            .map_err(|e| anyhow::anyhow!("run.timezone: {e}"))?,
        ..DecodeConfig::default()
    };

    let mut detectors = match &rc.rules {
        Some(dir) => {
            if !dir.is_dir() {
                bail!("run.rules {}: no such directory", dir.display());
            }
            let (d, report) = vigil_detect::from_rules_dir_with(dir, Default::default())?;
            tracing::info!(rules = %dir.display(), summary = %report.summary(), "Sigma rules loaded.");
            d
        }
        None => Detectors::new(),
    };
    detectors.push(Box::new(Behaviour::new(cfg.baselines.clone())));
    detectors.push(Box::new(RiskEngine::new(cfg.risk.clone())?));

    let data = &rc.data_dir;
    std::fs::create_dir_all(data)
        .with_context(|| format!("cannot create the data directory {}", data.display()))?;
    let checkpoint = CheckpointFile::open(&data.join("state"))?;
    let restored = checkpoint.read()?.unwrap_or_default();
    if !restored.detectors.is_empty() {
        let names = detectors
            .load_state(&restored.detectors)
            .with_context(|| format!("{}", data.join("state").display()))?;
        tracing::info!(detectors = ?names, partitions = restored.offsets.len(), "State restored from the checkpoint.");
    }
    let run_id = format!("{:x}", chrono::Utc::now().timestamp_micros());
    let out = Outputs {
        lake: LakeWriter::create(&data.join("lake"), &run_id)?,
        findings: FindingsFile::open(&data.join("findings.ndjson"), true)?,
        dlq: DeadLetterFile::append(&data.join("dlq.ndjson"))?,
        kafka: match &rc.kafka {
            Some(k) => kafka::KafkaOut::new(k)?,
            None => None,
        },
    };

    let metrics = Arc::new(Metrics::default());
    let shutdown = Arc::new(AtomicBool::new(false));
    let alive = Arc::new(AtomicBool::new(true));
    let (tx, rx) = sync_channel::<Msg>(rc.queue_batches);
    let mut sources = Vec::new();
    let mut committer = None;
    if let Some(k) = &rc.kafka
        && !k.topics.is_empty()
    {
        let args = kafka::ConsumerArgs {
            config: k.clone(),
            decode: decode.clone(),
            max_record_bytes: rc.max_record_bytes,
            skip: restored.offsets.clone(),
            metrics: metrics.clone(),
            shutdown: shutdown.clone(),
        };
        let (h, c) = kafka::start_consumer(args, tx.clone())?;
        sources.push(h);
        committer = Some(c);
    }
    if let Some(sl) = &rc.syslog {
        sources.extend(syslog::start(
            sl,
            decode.clone(),
            rc.max_record_bytes,
            metrics.clone(),
            shutdown.clone(),
            tx.clone(),
        )?);
    }
    sources.extend(tail::start(
        &rc.files,
        &decode,
        rc.max_record_bytes,
        &restored.offsets,
        &metrics,
        &shutdown,
        &tx,
    )?);
    if let Some(s) = &rc.simulator {
        let key = (sim::POSITION_KEY.0.to_string(), sim::POSITION_KEY.1);
        let skip = restored.offsets.get(&key).copied().unwrap_or(0);
        sources.push(sim::start(
            s,
            decode.clone(),
            u64::try_from(skip).unwrap_or(0),
            metrics.clone(),
            shutdown.clone(),
            tx.clone(),
        )?);
    }

    let pipeline = Pipeline {
        detectors,
        out,
        committer,
        metrics: metrics.clone(),
        checkpoint,
        every: Duration::from_secs_f64(rc.checkpoint_secs),
        offsets: restored.offsets,
    };
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<anyhow::Result<()>>();
    let worker = {
        let alive = alive.clone();
        std::thread::Builder::new()
            .name("vigil-pipeline".into())
            .spawn(move || {
                let r = pipeline.run(&rx);
                alive.store(false, Ordering::Relaxed);
                let _ = done_tx.send(r);
            })?
    };

    let api = Arc::new(http::Api {
        metrics: metrics.clone(),
        tokens: rc.tokens.clone(),
        decode,
        max_record_bytes: rc.max_record_bytes,
        tx: Mutex::new(Some(tx)),
        alive: alive.clone(),
        requests: AtomicU64::new(0),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("vigil-http")
        .build()?;
    let result = rt.block_on(serve(
        http_listener,
        api.clone(),
        &rc,
        metrics.clone(),
        shutdown.clone(),
        done_rx,
    ));
    // N.B. the pipeline ends once every sender is gone: the sources' (they
    // see `shutdown`) and the API's.
    shutdown.store(true, Ordering::Relaxed);
    api.tx
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take();
    for h in sources {
        let _ = h.join();
    }
    let _ = worker.join();
    rt.shutdown_timeout(Duration::from_secs(5));
    let r = result?;
    tracing::info!("vigil run stopped.");
    r
}

/// Serve HTTP until a signal or the pipeline's end; the outer result is
/// the server's, the inner the pipeline's.
async fn serve(
    listener: std::net::TcpListener,
    api: Arc<http::Api>,
    rc: &RunConfig,
    metrics: Arc<Metrics>,
    shutdown: Arc<AtomicBool>,
    mut done: tokio::sync::oneshot::Receiver<anyhow::Result<()>>,
) -> anyhow::Result<anyhow::Result<()>> {
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data_dir = %rc.data_dir.display(), "vigil run is serving.");
    eprintln!(
        "vigil run: API on http://{addr}, data in {}; Ctrl-C stops.",
        rc.data_dir.display()
    );
    metrics.ready.store(true, Ordering::Relaxed);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let app = http::router(api.clone(), rc.max_body_bytes);
    let server = tokio::spawn(async move {
        let mut rx = stop_rx;
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.wait_for(|v| *v).await;
            })
            .await
    });
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let pipeline_result = tokio::select! {
        _ = tokio::signal::ctrl_c() => None,
        _ = term.recv() => None,
        r = &mut done => Some(r.unwrap_or_else(|_| Err(anyhow::anyhow!("the pipeline thread panicked")))),
    };
    let pipeline_result = match pipeline_result {
        Some(r) => {
            if let Err(e) = &r {
                tracing::error!(error = format!("{e:#}"), "Pipeline stopped.");
            }
            r
        }
        None => {
            tracing::info!("Stopping: draining the queue, checkpointing, committing.");
            eprintln!("vigil run: stopping (Ctrl-C again to quit at once).");
            shutdown.store(true, Ordering::Relaxed);
            api.tx
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            tokio::select! {
                r = &mut done => r.unwrap_or_else(|_| Err(anyhow::anyhow!("the pipeline thread panicked"))),
                _ = tokio::signal::ctrl_c() => {
                    eprintln!("vigil run: quit without draining; the next start replays from the last checkpoint.");
                    std::process::exit(130);
                }
            }
        }
    };
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    Ok(pipeline_result)
}
