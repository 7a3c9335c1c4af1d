//! `vigil run` against a real Kafka broker: Tansu with memory storage,
//! started by each test on a free loopback port (the test script installs
//! it; a test fails, never skips, when it is missing).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::service::{Service, free_port};
use common::{replay, shared};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

/// A Tansu broker on a loopback port, stopped when dropped.
struct Broker {
    child: Child,
    addr: String,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tansu() -> PathBuf {
    if let Ok(p) = std::env::var("VIGIL_TANSU") {
        return PathBuf::from(p);
    }
    let home = std::env::var("CARGO_HOME").map_or_else(
        |_| PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cargo"),
        PathBuf::from,
    );
    let p = home.join("bin/tansu");
    assert!(
        p.exists(),
        "the Kafka broker for these tests is missing: {} (scripts/test.sh installs it with \
         `cargo install --locked tansu --features dynostore`)",
        p.display()
    );
    p
}

impl Broker {
    fn start() -> Broker {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(tansu())
            .args([
                "broker",
                "--listener-url",
                &format!("tcp://{addr}"),
                "--advertised-listener-url",
                &format!("tcp://{addr}"),
                "--storage-engine",
                "memory://tansu/",
                "--silent",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let b = Broker { child, addr };
        let t = Instant::now();
        while TcpStream::connect(&b.addr).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "tansu did not listen on {}",
                b.addr
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        b
    }

    fn create_topics(&self, topics: &[(&str, i32)]) {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.addr)
            .create()
            .expect("admin client");
        let new: Vec<NewTopic<'_>> = topics
            .iter()
            .map(|(n, p)| NewTopic::new(n, *p, TopicReplication::Fixed(1)))
            .collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let res = rt
            .block_on(admin.create_topics(&new, &AdminOptions::new()))
            .expect("create topics");
        for r in res {
            r.expect("topic created");
        }
    }

    /// A producer that writes one record per batch.
    ///
    /// N.B. Tansu 0.6 with memory storage counts batches, not records, in
    /// its high watermark, and a fetch from an offset inside a batch gets
    /// nothing (checked by hand: 100 records sent in one batch, a consumer
    /// assigned at offset 37 read none in five seconds). A consumer that
    /// pauses, or restarts from a committed offset, lands inside a batch,
    /// so the tests' input is written a record per batch. Real Kafka has
    /// no such limit.
    fn producer(&self) -> BaseProducer {
        ClientConfig::new()
            .set("bootstrap.servers", &self.addr)
            .set("linger.ms", "0")
            .set("batch.num.messages", "1")
            .create()
            .expect("producer")
    }

    /// Every message of `topic` (all partitions), in partition then
    /// offset order, as (partition, offset, key, payload).
    fn read_all(&self, topic: &str) -> Vec<(i32, i64, String, String)> {
        let c: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.addr)
            .set("group.id", "vigil-test-reader")
            .set("enable.auto.commit", "false")
            .create()
            .expect("consumer");
        let md = c
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
        let parts: Vec<i32> = md.topics()[0].partitions().iter().map(|p| p.id()).collect();
        let mut out = Vec::new();
        for p in parts {
            let (low, high) = c
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .expect("watermarks");
            if high <= low {
                continue;
            }
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition_offset(topic, p, Offset::Offset(low))
                .expect("partition");
            c.assign(&tpl).expect("assign");
            let t = Instant::now();
            let mut next = low;
            // N.B. Tansu 0.6 with memory storage reports a high watermark
            // that counts record batches, not records, so reading goes on
            // past it until the partition has been quiet for three seconds.
            let mut idle = Instant::now();
            while next < high || idle.elapsed() < Duration::from_secs(3) {
                assert!(
                    t.elapsed() < Duration::from_secs(60),
                    "reading {topic}/{p} timed out at {next} of {high}"
                );
                match c.poll(Duration::from_millis(500)) {
                    Some(Ok(m)) => {
                        idle = Instant::now();
                        next = m.offset() + 1;
                        out.push((
                            p,
                            m.offset(),
                            String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned(),
                            String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                        ));
                    }
                    Some(Err(e)) => panic!("reading {topic}: {e}"),
                    None => {}
                }
            }
        }
        out
    }
}

/// Produce every line of `files`, in order, to partition 0 of `topic`;
/// returns the count.
fn produce_lines(b: &Broker, topic: &str, files: &[PathBuf]) -> u64 {
    let to: Vec<(PathBuf, i32)> = files.iter().map(|f| (f.clone(), 0)).collect();
    produce_to(b, topic, &to)
}

/// Produce every line of each file, in order, to the partition given
/// with it, keyed by the file name; returns the count.
fn produce_to(b: &Broker, topic: &str, files: &[(PathBuf, i32)]) -> u64 {
    let p = b.producer();
    let mut n = 0u64;
    for (f, part) in files {
        let key = f.file_name().expect("name").to_string_lossy().into_owned();
        let r = std::io::BufReader::new(std::fs::File::open(f).expect("open input"));
        for line in r.split(b'\n') {
            let line = line.expect("read input");
            if line.trim_ascii().is_empty() {
                continue;
            }
            let mut rec = BaseRecord::to(topic)
                .key(&key)
                .payload(&line)
                .partition(*part);
            loop {
                match p.send(rec) {
                    Ok(()) => break,
                    Err((_, r)) => {
                        p.poll(Duration::from_millis(50));
                        rec = r;
                    }
                }
            }
            n += 1;
        }
    }
    p.flush(Duration::from_secs(60)).expect("flush");
    n
}

/// The inputs every test uses: the shared Okta, Windows and Zeek files,
/// oldest first, as one stream of telemetry would be; `vigil replay`
/// reads them in the same order. Each is tagged with its dataset's
/// number (for a partition per dataset).
///
/// N.B. the order matters for risk, not for findings: a risk score is
/// never decayed back in time, so a signal that arrives after a later
/// event has moved the clock is applied at that later time, and where
/// such late signals fall depends on how records were grouped into
/// batches, which differs between a replay and a live consumer.
fn inputs_by_dataset() -> Vec<(PathBuf, i32)> {
    [
        ("network/zeek_json/apt29_day1_combined_zeek.log", 2),
        (
            "auth/windows_json/empire_shell_rubeus_asktgt_ptt_2020-09-21223848.json",
            1,
        ),
        (
            "auth/windows_json/purplesharp_ad_playbook_I_2020-10-22042947.security_auth.json",
            1,
        ),
        (
            "auth/okta/panther_scenario_compromised-root-creds_attacker_okta.jsonl",
            0,
        ),
        (
            "auth/okta/panther_scenario_compromised-root-creds_victim_okta.jsonl",
            0,
        ),
        (
            "auth/okta/panther_scenario_okta-add-administrator_1_legit_login.jsonl",
            0,
        ),
        (
            "auth/okta/panther_scenario_okta-add-administrator_2_brute_force_logins.jsonl",
            0,
        ),
        (
            "auth/okta/panther_scenario_okta-add-administrator_3_admin_privs_assigned.jsonl",
            0,
        ),
        (
            "auth/okta/panther_scenario_okta-add-administrator_4_new-user.jsonl",
            0,
        ),
        (
            "auth/windows_json/GoldenSAMLADFSMailAccess_WindowsEvents.json",
            1,
        ),
    ]
    .into_iter()
    .map(|(f, d)| (shared(f), d))
    .collect()
}

fn inputs() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let files: Vec<PathBuf> = inputs_by_dataset().into_iter().map(|(f, _)| f).collect();
    // Every file of the datasets is in the list.
    let mut all: Vec<PathBuf> = ["auth/okta", "auth/windows_json", "network/zeek_json"]
        .iter()
        .flat_map(|d| files_of(&shared(d)))
        .collect();
    all.sort();
    let mut listed = files.clone();
    listed.sort();
    assert_eq!(all, listed, "the test's input list is out of date");
    (Vec::new(), files)
}

fn files_of(d: &Path) -> Vec<PathBuf> {
    let mut list: Vec<PathBuf> = std::fs::read_dir(d)
        .expect("list")
        .map(|e| e.expect("entry").path())
        .collect();
    list.sort();
    list
}

fn write_config(dir: &Path, broker: &Broker, group: &str, data: &Path) -> PathBuf {
    write_config_to(dir, broker, group, data, "")
}

/// A config whose output topics are prefixed with `out`.
fn write_config_to(dir: &Path, broker: &Broker, group: &str, data: &Path, out: &str) -> PathBuf {
    let rules = shared("sigma/rules");
    let cfg = format!(
        r#"[run]
data_dir = "{data}"
rules = "{rules}"
checkpoint_secs = 0.5
queue_batches = 4

[run.kafka]
brokers = "{addr}"
group = "{group}"
topics = [{{ name = "telemetry" }}]
consumer_properties = {{ "session.timeout.ms" = "6000", "heartbeat.interval.ms" = "500" }}

[run.kafka.outputs]
findings = "{out}findings"
risk = "{out}risk"
decisions = "{out}decisions"
dead_letters = "{out}dlq"
"#,
        data = data.display(),
        rules = rules.display(),
        addr = broker.addr,
    );
    let p = dir.join(format!("{group}.toml"));
    std::fs::write(&p, cfg).expect("write config");
    p
}

/// A finding without what depends on where its event was read from (ids,
/// ingest times): what must agree between `vigil replay` and `vigil run`.
fn content(v: &serde_json::Value) -> String {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|k, _| {
                    !matches!(
                        k.as_str(),
                        "uid"
                            | "uids"
                            | "event_uid"
                            | "processed_time"
                            | "processed_time_dt"
                            | "ingest_time"
                            | "ingest_time_dt"
                            | "related_events"
                            | "source"
                            | "evidences_event_uids"
                    )
                });
                for x in m.values_mut() {
                    strip(x);
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v = v.clone();
    strip(&mut v);
    v.to_string()
}

fn uid(v: &serde_json::Value) -> String {
    v["finding_info"]["uid"]
        .as_str()
        .expect("finding uid")
        .to_string()
}

fn topics(b: &Broker, input_partitions: i32) {
    b.create_topics(&[("telemetry", input_partitions)]);
    outputs(b, "");
}

fn outputs(b: &Broker, prefix: &str) {
    let names: Vec<String> = ["findings", "risk", "decisions", "dlq"]
        .iter()
        .map(|t| format!("{prefix}{t}"))
        .collect();
    let list: Vec<(&str, i32)> = names.iter().map(|n| (n.as_str(), 1)).collect();
    b.create_topics(&list);
}

/// The next offset a run's last checkpoint holds for `telemetry/<p>`.
fn checkpointed(data: &Path, p: i32) -> i64 {
    let Ok(text) = std::fs::read_to_string(data.join("state/checkpoint.json")) else {
        return 0;
    };
    let v: serde_json::Value = serde_json::from_str(&text).expect("checkpoint is JSON");
    v["offsets"][format!("telemetry/{p}")].as_i64().unwrap_or(0)
}

/// Wait until the run's checkpoint covers `n` messages of partition 0.
fn wait_checkpoint(data: &Path, n: u64, limit: Duration) {
    let t = Instant::now();
    while (checkpointed(data, 0) as u64) < n {
        assert!(
            t.elapsed() < limit,
            "checkpoint stuck at {} of {n}",
            checkpointed(data, 0)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn parse(msgs: &[(i32, i64, String, String)]) -> Vec<serde_json::Value> {
    msgs.iter()
        .map(|(_, _, _, p)| serde_json::from_str(p).expect("output message is JSON"))
        .collect()
}

#[test]
fn kafka_in_and_out_give_what_replay_gives() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, files) = inputs();
    let rout = dir.path().join("replay");
    let cw = replay_findings(&rout);
    let want: usize = cw.values().sum();
    assert!(want > 30, "the replay should find plenty: {want}");

    let b = Broker::start();
    topics(&b, 1);
    let n = produce_lines(&b, "telemetry", &files);
    let cfg = write_config(dir.path(), &b, "one", &dir.path().join("run"));
    let s = Service::start(&cfg);
    s.wait_records(n, Duration::from_secs(600));
    if std::env::var_os("VIGIL_TEST_LOG").is_some() {
        eprintln!("{}", s.get("/metrics").map(|(_, b)| b).unwrap_or_default());
    }
    s.stop();

    let got = parse(&b.read_all("findings"));
    let cg = counts(&got);
    assert_same_findings(
        &cw,
        &cg,
        &format!("{want} from replay, {} from run", got.len()),
    );
    // Finding ids are unique and keyed.
    let msgs = b.read_all("findings");
    let ids: BTreeSet<&str> = msgs.iter().map(|(_, _, k, _)| k.as_str()).collect();
    assert_eq!(ids.len(), msgs.len(), "one message per finding id");

    // Risk changes and decisions: the same changes (entity, time to the
    // millisecond, score) as the replay's lake holds; risk keyed by
    // entity_type:entity_id.
    let rr = common::sql_csv(
        &rout,
        "select entity_type || ':' || entity_id || ' ' || cast(cast(time as bigint) / 1000 as varchar) \
         || ' ' || cast(round(risk_score, 1) as varchar) as r from entity_risk order by r",
    );
    let risk_msgs = b.read_all("risk");
    let mut risk_rows: Vec<String> = risk_msgs
        .iter()
        .map(|(_, _, k, p)| {
            let v: serde_json::Value = serde_json::from_str(p).expect("risk JSON");
            let score = v["unmapped"]["vigil"]["risk_score"]
                .as_f64()
                .expect("risk_score");
            format!("{k} {} {:.1}", v["time"], score)
        })
        .collect();
    risk_rows.sort();
    assert!(!rr.is_empty(), "the replay changes some risk");
    let only_replay: Vec<_> = rr.iter().filter(|r| !risk_rows.contains(r)).collect();
    let only_kafka: Vec<_> = risk_rows.iter().filter(|r| !rr.contains(r)).collect();
    assert!(
        risk_rows == rr,
        "risk changes differ: {} in the replay, {} on Kafka\nreplay only: {only_replay:#?}\nKafka only: {only_kafka:#?}",
        rr.len(),
        risk_rows.len()
    );
    for v in parse(&b.read_all("risk")) {
        assert!(
            v["unmapped"]["vigil"]["risk_score"].is_number(),
            "a risk message carries its score: {v}"
        );
    }
    let dec = b.read_all("decisions");
    let rd = common::sql_csv(&rout, "select count(*) from trust_decision");
    assert_eq!(rd[0], dec.len().to_string(), "trust decisions");
}

#[test]
fn a_consumer_killed_mid_stream_loses_no_finding_and_repeats_ids() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, files) = inputs();
    let b = Broker::start();
    topics(&b, 1);
    outputs(&b, "ref.");
    let n = produce_lines(&b, "telemetry", &files);

    // The reference: one run that is never stopped.
    let ref_data = dir.path().join("ref");
    let cfg = write_config_to(dir.path(), &b, "ref", &ref_data, "ref.");
    let s = Service::start(&cfg);
    wait_checkpoint(&ref_data, n, Duration::from_secs(600));
    s.stop();
    let want = parse(&b.read_all("ref.findings"));
    assert!(want.len() > 30, "reference findings: {}", want.len());

    // The crash: kill -9 once a checkpoint has covered part of the input.
    let data = dir.path().join("crash");
    let cfg = write_config(dir.path(), &b, "crash", &data);
    let s = Service::start(&cfg);
    let t = Instant::now();
    loop {
        let done = checkpointed(&data, 0);
        if done > 0 {
            assert!(
                (done as u64) < n,
                "the run finished before it could be killed mid-stream"
            );
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(300), "no checkpoint came");
        std::thread::sleep(Duration::from_millis(20));
    }
    s.kill9();
    let at = checkpointed(&data, 0);
    let s = Service::start(&cfg);
    wait_checkpoint(&data, n, Duration::from_secs(600));
    s.stop();

    let got = parse(&b.read_all("findings"));
    let want_ids: BTreeSet<String> = want.iter().map(uid).collect();
    let got_ids: BTreeSet<String> = got.iter().map(uid).collect();
    let missing: Vec<_> = want_ids.difference(&got_ids).take(5).collect();
    assert!(
        missing.is_empty(),
        "findings lost across the crash at offset {at} of {n}: {missing:?}"
    );
    let extra: Vec<_> = got_ids.difference(&want_ids).take(5).collect();
    assert!(
        extra.is_empty(),
        "findings the uninterrupted run did not make: {extra:?}"
    );
    let mut by_id: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in &got {
        by_id.entry(uid(v)).or_default().insert(content(v));
    }
    let differing: Vec<_> = by_id
        .iter()
        .filter(|(_, c)| c.len() > 1)
        .map(|(k, _)| k)
        .take(3)
        .collect();
    assert!(
        differing.is_empty(),
        "a repeated finding id carries different content: {differing:?}"
    );
    eprintln!(
        "crash at {at} of {n}: {} findings delivered for {} distinct ids",
        got.len(),
        got_ids.len()
    );
}

/// The findings of a `vigil replay` over the inputs, as content counts.
fn replay_findings(out: &Path) -> BTreeMap<String, usize> {
    let (_, files) = inputs();
    let rules = shared("sigma/rules");
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    replay(&refs, out, &["--rules", rules.to_str().expect("utf-8")]);
    let list: Vec<serde_json::Value> = std::fs::read_to_string(out.join("findings.ndjson"))
        .expect("replay findings")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    counts(&list)
}

/// The same findings, as often, in `want` (a replay's) and `got`.
fn assert_same_findings(want: &BTreeMap<String, usize>, got: &BTreeMap<String, usize>, what: &str) {
    let missing: Vec<_> = want
        .iter()
        .filter(|(k, n)| got.get(*k) != Some(n))
        .take(3)
        .collect();
    let extra: Vec<_> = got
        .iter()
        .filter(|(k, n)| want.get(*k) != Some(n))
        .take(3)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "findings differ ({what})\nreplay only: {missing:#?}\nrun only: {extra:#?}"
    );
}

fn counts(list: &[serde_json::Value]) -> BTreeMap<String, usize> {
    let mut m: BTreeMap<String, usize> = BTreeMap::new();
    for v in list {
        *m.entry(content(v)).or_default() += 1;
    }
    m
}

#[test]
fn two_instances_in_one_group_split_the_partitions_and_find_what_one_finds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let want = replay_findings(&dir.path().join("replay"));

    let b = Broker::start();
    topics(&b, 3);
    let cfg_a = write_config(dir.path(), &b, "pair", &dir.path().join("a"));
    let cfg_b = dir.path().join("pair-b.toml");
    std::fs::write(
        &cfg_b,
        std::fs::read_to_string(&cfg_a).expect("config").replace(
            &dir.path().join("a").display().to_string(),
            &dir.path().join("b").display().to_string(),
        ),
    )
    .expect("write config");
    let sa = Service::start(&cfg_a);
    let sb = Service::start(&cfg_b);
    // Both members own partitions before anything is produced, so no
    // entity's events are split by a rebalance.
    let t = Instant::now();
    loop {
        let (pa, pb) = (
            sa.metric("vigil_kafka_partitions"),
            sb.metric("vigil_kafka_partitions"),
        );
        if pa > 0.0 && pb > 0.0 && pa + pb == 3.0 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the group did not split 3 partitions: {pa} and {pb}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Keyed by entity: each dataset's entities (Okta users, Windows hosts
    // and accounts, Zeek addresses) stay on one partition.
    let n = produce_to(&b, "telemetry", &inputs_by_dataset());
    let t = Instant::now();
    loop {
        let (ra, rb) = (
            sa.metric("vigil_records_in_total"),
            sb.metric("vigil_records_in_total"),
        );
        let idle =
            sa.metric("vigil_queue_batches") == 0.0 && sb.metric("vigil_queue_batches") == 0.0;
        if (ra + rb) as u64 >= n && idle {
            assert!(
                ra > 0.0 && rb > 0.0,
                "one instance did all the work: {ra} and {rb}"
            );
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(600),
            "only {ra} + {rb} of {n} records came in"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    sa.stop();
    sb.stop();

    let got = counts(&parse(&b.read_all("findings")));
    assert_same_findings(&want, &got, "two instances against one replay");
}

/// Replace `from` in a config file's text, requiring it to be there.
fn edit_config(p: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(p).expect("config");
    assert!(text.contains(from), "config lacks {from:?}");
    std::fs::write(p, text.replacen(from, to, 1)).expect("write config");
}

#[test]
fn bad_kafka_messages_go_to_the_dead_letter_topic_with_a_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let b = Broker::start();
    topics(&b, 1);
    b.create_topics(&[("okta-in", 1)]);
    let data = dir.path().join("run");
    let cfg = write_config(dir.path(), &b, "bad", &data);
    edit_config(&cfg, "[run]\n", "[run]\nmax_record_bytes = 4096\n");
    edit_config(
        &cfg,
        r#"topics = [{ name = "telemetry" }]"#,
        r#"topics = [{ name = "telemetry" }, { name = "okta-in", format = "okta" }]"#,
    );
    let okta = std::fs::read_to_string(shared(
        "auth/okta/panther_scenario_okta-add-administrator_2_brute_force_logins.jsonl",
    ))
    .expect("okta sample");
    let good: Vec<&str> = okta
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(2)
        .collect();
    let zeek = std::fs::read_to_string(shared("network/zeek_json/apt29_day1_combined_zeek.log"))
        .expect("zeek sample");
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(10_000));
    let msgs: Vec<(&str, Vec<u8>)> = vec![
        ("okta-in", good[0].as_bytes().to_vec()),
        ("okta-in", b"\xff\xfe\x00garbage".to_vec()),
        ("okta-in", big.into_bytes()),
        (
            "okta-in",
            zeek.lines().next().expect("zeek line").as_bytes().to_vec(),
        ),
        ("okta-in", good[1].as_bytes().to_vec()),
        ("telemetry", b"hello, this is no log format".to_vec()),
        ("okta-in", Vec::new()),
    ];
    let p = b.producer();
    for (topic, payload) in &msgs {
        p.send(BaseRecord::<(), [u8]>::to(topic).payload(payload))
            .map_err(|(e, _)| e)
            .expect("produce");
    }
    p.flush(Duration::from_secs(30)).expect("flush");

    let s = Service::start(&cfg);
    s.wait_records(msgs.len() as u64, Duration::from_secs(120));
    assert_eq!(
        s.metric("vigil_dead_letters_total"),
        5.0,
        "dead letters counted"
    );
    s.stop();

    let dl = parse(&b.read_all("dlq"));
    let reasons = common::reasons(&dl);
    assert_eq!(dl.len(), 5, "five dead letters: {reasons:#?}");
    let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
    assert!(has("empty message"), "an empty value: {reasons:#?}");
    assert!(
        has("kafka:okta-in/0") && has("kafka:telemetry/0"),
        "each names its partition: {reasons:#?}"
    );
    assert!(
        has("invalid UTF-8 at byte 0"),
        "garbage bytes: {reasons:#?}"
    );
    assert!(
        has("larger than the limit of 4096 bytes"),
        "oversized: {reasons:#?}"
    );
    assert!(
        has("okta event has no eventType"),
        "wrong format: {reasons:#?}"
    );
    assert!(
        has("no decoder recognises"),
        "unknown content: {reasons:#?}"
    );
    assert!(
        dl.iter().all(|d| d["offset"].is_u64()),
        "each names its offset: {reasons:#?}"
    );
    // The same dead letters are in the data directory, and the good
    // records went through.
    assert_eq!(common::dead_letters(&data).len(), 5);
    let rows = common::sql_csv(&data, "select count(*) from authentication");
    assert_eq!(rows, vec!["2".to_string()], "the two good Okta sign-ins");
}

/// Resident memory of a process in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn an_output_that_stalls_for_ten_seconds_pauses_consumption_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let want = replay_findings(&dir.path().join("replay"));

    // Input on one broker, outputs on another that is then frozen.
    let input = Broker::start();
    input.create_topics(&[("telemetry", 1)]);
    let out = Broker::start();
    outputs(&out, "");
    let data = dir.path().join("run");
    let cfg = write_config(dir.path(), &input, "stall", &data);
    edit_config(&cfg, "queue_batches = 4", "queue_batches = 1");
    edit_config(
        &cfg,
        "[run.kafka.outputs]\n",
        &format!("[run.kafka.outputs]\nbrokers = \"{}\"\n", out.addr),
    );
    let s = Service::start(&cfg);
    let frozen = Instant::now();
    let pid = out.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-STOP", &pid])
            .status()
            .expect("kill")
            .success()
    );

    // The input arrives in pieces, so that it reaches the service as
    // several batches while the outputs cannot acknowledge.
    let (_, files) = inputs();
    let mut n = 0;
    let mut peak_queue = 0.0f64;
    let mut rss = Vec::new();
    for f in &files {
        n += produce_lines(&input, "telemetry", std::slice::from_ref(f));
        peak_queue = peak_queue.max(s.metric("vigil_queue_batches"));
        rss.push(rss_kib(s.child.id()));
        std::thread::sleep(Duration::from_millis(300));
    }
    let mut during = Vec::new();
    while frozen.elapsed() < Duration::from_secs(10) {
        peak_queue = peak_queue.max(s.metric("vigil_queue_batches"));
        during.push(s.metric("vigil_records_in_total"));
        rss.push(rss_kib(s.child.id()));
        std::thread::sleep(Duration::from_millis(250));
    }
    let waits = s.metric("vigil_backpressure_waits_total");
    let stalled_at = s.metric("vigil_records_in_total");
    assert!(
        Command::new("kill")
            .args(["-CONT", &pid])
            .status()
            .expect("kill")
            .success()
    );

    assert!(waits > 0.0, "the stalled output never paused consumption");
    assert!(
        (stalled_at as u64) < n,
        "all {n} records went through while the output was frozen"
    );
    let tail = &during[during.len().saturating_sub(8)..];
    assert!(
        tail.iter().all(|x| *x == stalled_at),
        "consumption went on during the stall: {during:?}"
    );
    assert!(
        peak_queue <= 1.0,
        "the queue grew past its bound: {peak_queue}"
    );
    let (lo, hi) = (
        rss.iter().min().copied().unwrap_or(0),
        rss.iter().max().copied().unwrap_or(0),
    );
    assert!(
        hi - lo < 256 * 1024,
        "memory grew by {} MiB during the stall",
        (hi - lo) / 1024
    );

    s.wait_records(n, Duration::from_secs(300));
    wait_checkpoint(&data, n, Duration::from_secs(120));
    s.stop();
    let got = counts(&parse(&out.read_all("findings")));
    assert_same_findings(&want, &got, "after the stall, against the replay");
}
