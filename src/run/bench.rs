//! `vigil bench e2e`: the whole service measured through a real broker.
//!
//! Two runs on simulated telemetry (Okta, Windows, sshd, Zeek, osquery,
//! MDM; one topic per kind with its format set):
//!
//! 1. **Throughput.** The records are produced first; then a bare rdkafka
//!    consumer reads them all (the ceiling: fetch and hand over, nothing
//!    else), then a `vigil run` process consumes, decodes, detects, scores
//!    risk and writes the lake and its Kafka outputs. Rates count from the
//!    first record seen to the last.
//! 2. **Latency.** A fresh `vigil run` subscribes to fresh topics; records
//!    are then produced at a fixed rate, and the service's own
//!    `produce_to_risk` histogram (Kafka record timestamp to risk scored,
//!    per record) gives p50, p99 and p99.9.
//!
//! Without `--brokers`, a Tansu broker with memory storage is started on
//! a loopback port and stopped at the end.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use vigil_ingest::sim::{SimConfig, Simulator, Sink};

/// `vigil bench e2e`.
#[derive(Args)]
pub struct E2eArgs {
    /// Kafka bootstrap servers; without it a Tansu broker is started.
    #[arg(long)]
    brokers: Option<String>,
    /// The Tansu binary (default: $VIGIL_TANSU, else ~/.cargo/bin/tansu).
    #[arg(long)]
    tansu: Option<PathBuf>,
    /// Records in the throughput run.
    #[arg(long, default_value_t = 500_000)]
    events: usize,
    /// Records per second in the latency run.
    #[arg(long, default_value_t = 20_000)]
    rate: u64,
    /// Seconds of the latency run.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Sigma rules for the service (default: none).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// librdkafka's fetch.wait.max.ms for every consumer (vigil's and the
    /// bare one): how long the broker may hold a fetch waiting for data.
    #[arg(long, default_value_t = 10)]
    fetch_wait_ms: u32,
    /// People in the simulated enterprise.
    #[arg(long, default_value_t = 2000)]
    users: u32,
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn start_tansu(bin: Option<PathBuf>) -> anyhow::Result<(Proc, String)> {
    let bin = bin
        .or_else(|| std::env::var_os("VIGIL_TANSU").map(PathBuf::from))
        .or_else(|| {
            std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
                .map(|c| c.join("bin/tansu"))
        })
        .context("cannot find Tansu: give --tansu or --brokers")?;
    let addr = format!("127.0.0.1:{}", free_port()?);
    let url = format!("tcp://{addr}");
    let child = Command::new(&bin)
        .args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
            "--storage-engine",
            "memory://tansu/",
            "--silent",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| {
            format!(
                "cannot start Tansu at {} (install: cargo install --locked tansu --features dynostore)",
                bin.display()
            )
        })?;
    let p = Proc(child);
    let t = Instant::now();
    while TcpStream::connect(&addr).is_err() {
        if t.elapsed() > Duration::from_secs(30) {
            bail!("Tansu did not listen on {addr} within 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((p, addr))
}

fn create_topics(brokers: &str, names: &[String]) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()?;
    let new: Vec<NewTopic<'_>> = names
        .iter()
        .map(|n| NewTopic::new(n, 1, TopicReplication::Fixed(1)))
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    for r in rt.block_on(admin.create_topics(&new, &AdminOptions::new()))? {
        r.map_err(|(t, e)| anyhow::anyhow!("cannot create topic {t}: {e}"))?;
    }
    Ok(())
}

/// `n` simulated records, each with the topic suffix of its kind; every
/// topic starts with its kind's preamble (Zeek's header).
fn records(users: u32, n: usize) -> anyhow::Result<Vec<(Sink, Vec<u8>)>> {
    let cfg = SimConfig {
        seed: 7,
        users,
        start: chrono::NaiveDate::from_ymd_opt(2026, 1, 5).context("date")?,
        days: 60,
        warmup_days: 0,
    };
    let sim = Simulator::new(&cfg).context("simulator")?;
    let mut out: Vec<(Sink, Vec<u8>)> = Vec::with_capacity(n + Sink::ALL.len());
    let mut first: Option<i64> = None;
    for r in sim.take(n) {
        let t = *first.get_or_insert(r.time_ms);
        if let Some(p) = r.sink.preamble(t)
            && !out.iter().any(|(s, _)| *s == r.sink)
        {
            for line in p.lines() {
                out.push((r.sink, line.as_bytes().to_vec()));
            }
        }
        out.push((r.sink, r.bytes));
    }
    if out.len() < n {
        bail!(
            "the simulation gave only {} records; ask for fewer",
            out.len()
        );
    }
    Ok(out)
}

fn topic(prefix: &str, s: Sink) -> String {
    format!("{prefix}{}", s.name())
}

fn producer(brokers: &str, linger_ms: &str) -> anyhow::Result<BaseProducer> {
    Ok(ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", linger_ms)
        .set("queue.buffering.max.messages", "1000000")
        .create()?)
}

fn send(p: &BaseProducer, topic: &str, payload: &[u8]) {
    let mut rec = BaseRecord::<(), [u8]>::to(topic).payload(payload);
    loop {
        match p.send(rec) {
            Ok(()) => return,
            Err((_, r)) => {
                p.poll(Duration::from_millis(5));
                rec = r;
            }
        }
    }
}

/// A GET against the service; the body, or nothing.
fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.starts_with("HTTP/1.1 200")
        .then(|| buf.split_once("\r\n\r\n").map(|(_, b)| b.to_string()))
        .flatten()
}

/// Sum of a metric's samples whose line starts with `prefix`.
fn metric(body: &str, prefix: &str) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum::<f64>()
        + 0.0
}

struct Service {
    proc: Proc,
    http: String,
}

impl Service {
    fn start(
        dir: &Path,
        brokers: &str,
        prefix: &str,
        rules: Option<&Path>,
        fetch_wait_ms: u32,
    ) -> anyhow::Result<Service> {
        let http = format!("127.0.0.1:{}", free_port()?);
        let topics: Vec<String> = Sink::ALL
            .iter()
            .map(|s| {
                format!(
                    "{{ name = \"{}\", format = \"{}\" }}",
                    topic(prefix, *s),
                    s.format().name()
                )
            })
            .collect();
        let rules = rules.map_or(String::new(), |r| {
            format!("rules = {:?}\n", r.display().to_string())
        });
        let cfg = format!(
            "[run]\ndata_dir = {data:?}\n{rules}checkpoint_secs = 5\n\n\
             [run.kafka]\nbrokers = {brokers:?}\ngroup = \"vigil-bench-{prefix}\"\ntopics = [{topics}]\n\
             consumer_properties = {{ \"fetch.wait.max.ms\" = \"{fetch_wait_ms}\" }}\n\n\
             [run.kafka.outputs]\nfindings = \"{prefix}out.findings\"\nrisk = \"{prefix}out.risk\"\ndecisions = \"{prefix}out.decisions\"\n",
            data = dir.join(format!("{prefix}data")).display().to_string(),
            topics = topics.join(", "),
        );
        let path = dir.join(format!("{prefix}vigil.toml"));
        std::fs::write(&path, cfg)?;
        let child = Command::new(std::env::current_exe()?)
            .args(["run", "-c"])
            .arg(&path)
            .args(["--http", &http])
            .env(
                "VIGIL_LOG",
                std::env::var("VIGIL_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .spawn()
            .context("cannot start vigil run")?;
        let s = Service {
            proc: Proc(child),
            http,
        };
        let t = Instant::now();
        loop {
            if let Some(m) = s.metrics()
                && metric(&m, "vigil_kafka_partitions ") >= Sink::ALL.len() as f64
            {
                return Ok(s);
            }
            if t.elapsed() > Duration::from_secs(60) {
                bail!("vigil run did not get its partitions within 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn metrics(&self) -> Option<String> {
        http_get(&self.http, "/metrics")
    }

    fn records_in(&self) -> f64 {
        self.metrics()
            .map_or(0.0, |m| metric(&m, "vigil_records_in_total"))
    }

    fn peak_rss_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.proc.0.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |k| k / 1024)
    }

    /// Wait until `n` records are in; (first seen, all in).
    fn wait_for(&self, n: usize, limit: Duration) -> anyhow::Result<(Instant, Instant)> {
        let t = Instant::now();
        let mut first = None;
        loop {
            let got = self.records_in();
            if got > 0.0 {
                first.get_or_insert_with(Instant::now);
            }
            if got as usize >= n {
                return Ok((first.unwrap_or(t), Instant::now()));
            }
            if t.elapsed() > limit {
                bail!("vigil run took in only {got} of {n} records within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.proc.0.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let st = self.proc.0.wait()?;
        if !st.success() {
            bail!("vigil run exited with {st}");
        }
        Ok(())
    }
}

/// The bare consumer: read `n` records of `topics` and touch each payload.
fn bare_consume(
    brokers: &str,
    topics: &[String],
    n: usize,
    fetch_wait_ms: u32,
) -> anyhow::Result<f64> {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("fetch.wait.max.ms", fetch_wait_ms.to_string())
        .set("group.id", format!("bare-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()?;
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    c.subscribe(&refs)?;
    let mut got = 0usize;
    let mut bytes = 0usize;
    let mut first = None;
    let t = Instant::now();
    while got < n {
        if t.elapsed() > Duration::from_secs(600) {
            bail!("the bare consumer read only {got} of {n} records in 10 minutes");
        }
        match c.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                first.get_or_insert_with(Instant::now);
                bytes += m.payload().map_or(0, <[u8]>::len);
                got += 1;
            }
            Some(Err(e)) => bail!("bare consumer: {e}"),
            None => {}
        }
    }
    let secs = first.map_or(0.0, |f: Instant| f.elapsed().as_secs_f64());
    std::hint::black_box(bytes);
    Ok(n as f64 / secs.max(1e-9))
}

/// A bare consumer beside the latency run: each record's age when it is
/// polled, in µs, until `n` records or `limit`.
fn bare_latency(
    brokers: String,
    topics: Vec<String>,
    n: usize,
    limit: Duration,
    fetch_wait_ms: u32,
) -> std::thread::JoinHandle<anyhow::Result<hdrhistogram::Histogram<u64>>> {
    std::thread::spawn(move || {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("fetch.wait.max.ms", fetch_wait_ms.to_string())
            .set("group.id", format!("bare-latency-{}", std::process::id()))
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()?;
        let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
        c.subscribe(&refs)?;
        let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3)?;
        let t = Instant::now();
        let mut got = 0;
        while got < n && t.elapsed() < limit {
            if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
                got += 1;
                if let Some(ts) = m.timestamp().to_millis() {
                    let age = chrono::Utc::now().timestamp_millis() - ts;
                    h.saturating_record(u64::try_from(age).unwrap_or(0).max(1) * 1000);
                }
            }
        }
        Ok(h)
    })
}

/// Run the benchmark and print its report.
pub fn e2e(a: E2eArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let (_broker, brokers) = match &a.brokers {
        Some(b) => (None, b.clone()),
        None => {
            let (p, addr) = start_tansu(a.tansu.clone())?;
            (Some(p), addr)
        }
    };
    eprintln!(
        "bench e2e: broker {brokers}; simulating {} records",
        a.events
    );
    let recs = records(a.users, a.events)?;
    let bytes: usize = recs.iter().map(|(_, b)| b.len()).sum();

    // Throughput.
    let t_topics: Vec<String> = Sink::ALL.iter().map(|s| topic("t.", *s)).collect();
    let mut all = t_topics.clone();
    all.extend(["t.out.findings", "t.out.risk", "t.out.decisions"].map(String::from));
    create_topics(&brokers, &all)?;
    let p = producer(&brokers, "5")?;
    let t = Instant::now();
    for (s, b) in &recs {
        send(&p, &topic("t.", *s), b);
    }
    p.flush(Duration::from_secs(300))
        .context("the broker did not take the records")?;
    let produce_rate = recs.len() as f64 / t.elapsed().as_secs_f64();
    eprintln!(
        "bench e2e: produced {} records ({:.0}/s); bare consumer…",
        recs.len(),
        produce_rate
    );
    let bare = bare_consume(&brokers, &t_topics, recs.len(), a.fetch_wait_ms)?;
    eprintln!("bench e2e: bare consumer {bare:.0}/s; vigil run…");
    let svc = Service::start(
        dir.path(),
        &brokers,
        "t.",
        a.rules.as_deref(),
        a.fetch_wait_ms,
    )?;
    let (first, done) = svc.wait_for(recs.len(), Duration::from_secs(1800))?;
    let vigil_rate = recs.len() as f64 / (done - first).as_secs_f64().max(1e-9);
    let rss = svc.peak_rss_mib();
    let m = svc.metrics().unwrap_or_default();
    let findings = metric(&m, "vigil_events_out_total{output=\"findings_file\"");
    let dead = metric(&m, "vigil_dead_letters_total");
    svc.stop()?;

    // Latency at a fixed rate.
    let l_topics: Vec<String> = Sink::ALL.iter().map(|s| topic("l.", *s)).collect();
    let mut all = l_topics.clone();
    all.extend(["l.out.findings", "l.out.risk", "l.out.decisions"].map(String::from));
    create_topics(&brokers, &all)?;
    let svc = Service::start(
        dir.path(),
        &brokers,
        "l.",
        a.rules.as_deref(),
        a.fetch_wait_ms,
    )?;
    let total = usize::try_from(a.rate * a.seconds)?.min(recs.len());
    let bare_lat = bare_latency(
        brokers.clone(),
        l_topics.clone(),
        total,
        Duration::from_secs(a.seconds + 120),
        a.fetch_wait_ms,
    );
    // N.B. the bare consumer joins its group before anything is sent.
    std::thread::sleep(Duration::from_secs(2));
    let p = producer(&brokers, "5")?;
    let start = Instant::now();
    for (i, (s, b)) in recs.iter().take(total).enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / a.rate as f64);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        send(&p, &topic("l.", *s), b);
        p.poll(Duration::ZERO);
    }
    let achieved = total as f64 / start.elapsed().as_secs_f64();
    p.flush(Duration::from_secs(60))?;
    svc.wait_for(total, Duration::from_secs(600))?;
    let m = svc.metrics().unwrap_or_default();
    let q = |stage: &str, q: &str| {
        metric(
            &m,
            &format!("vigil_stage_latency_seconds{{stage=\"{stage}\",quantile=\"{q}\"}}"),
        ) * 1000.0
    };
    let lat = [
        q("produce_to_risk", "0.5"),
        q("produce_to_risk", "0.99"),
        q("produce_to_risk", "0.999"),
    ];
    let in_vigil = [
        q("event_to_risk", "0.5"),
        q("event_to_risk", "0.99"),
        q("event_to_risk", "0.999"),
    ];
    let stages: Vec<(&str, [f64; 3])> = ["decode", "queue", "detect", "output", "checkpoint"]
        .into_iter()
        .map(|st| (st, [q(st, "0.5"), q(st, "0.99"), q(st, "0.999")]))
        .collect();
    svc.stop()?;
    let bh = bare_lat
        .join()
        .map_err(|_| anyhow::anyhow!("the bare latency consumer panicked"))??;
    let bq = |q: f64| bh.value_at_quantile(q) as f64 / 1000.0;

    println!(
        "vigil bench e2e: {} simulated records ({:.1} MB, {} users), broker {}",
        recs.len(),
        bytes as f64 / 1e6,
        a.users,
        if a.brokers.is_some() {
            "given"
        } else {
            "Tansu (memory)"
        }
    );
    println!();
    println!("| run | records/s | note |");
    println!("|---|---:|---|");
    println!("| producer (librdkafka, linger 5 ms) | {produce_rate:.0} | loading the topics |");
    println!("| bare rdkafka consumer | {bare:.0} | the ceiling: fetch and hand over |");
    println!(
        "| vigil run, whole pipeline | {vigil_rate:.0} | {:.0}% of the bare consumer; {findings:.0} findings, {dead:.0} dead letters, peak RSS {rss} MiB |",
        100.0 * vigil_rate / bare
    );
    println!();
    println!(
        "Latency at {} records/s for {} s ({achieved:.0}/s achieved; producer linger 5 ms, fetch.wait.max.ms {}):",
        a.rate, a.seconds, a.fetch_wait_ms
    );
    println!();
    println!("| measure | p50 ms | p99 ms | p99.9 ms |");
    println!("|---|---:|---:|---:|");
    println!(
        "| bare rdkafka consumer (per record, Kafka timestamp to polled) | {:.1} | {:.1} | {:.1} |",
        bq(0.5),
        bq(0.99),
        bq(0.999)
    );
    println!(
        "| produce to risk (per record, Kafka timestamp to scored) | {:.1} | {:.1} | {:.1} |",
        lat[0], lat[1], lat[2]
    );
    println!(
        "| in vigil (per batch, first record polled to scored) | {:.1} | {:.1} | {:.1} |",
        in_vigil[0], in_vigil[1], in_vigil[2]
    );
    for (st, v) in stages {
        println!(
            "| stage `{st}` (per batch) | {:.1} | {:.1} | {:.1} |",
            v[0], v[1], v[2]
        );
    }
    Ok(())
}
