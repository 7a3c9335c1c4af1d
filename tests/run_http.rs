//! `vigil run` without Kafka: the embedded default, and HTTP ingest with
//! bad input.

mod common;

use std::time::{Duration, Instant};

use common::service::Service;
use common::shared;

const TOKEN: &str = "a-test-token-of-some-length";

#[test]
fn run_with_no_arguments_finds_in_the_simulator_within_a_minute_and_stops_on_ctrl_c() {
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(
        std::net::TcpListener::bind("127.0.0.1:8080").is_ok(),
        "this test runs `vigil run` with no arguments, which serves on 127.0.0.1:8080: free that port"
    );
    let s = Service::spawn(&["run"], Some(dir.path()), "127.0.0.1:8080".into());
    let t = Instant::now();
    let findings = loop {
        let n = s.metric("vigil_events_out_total{output=\"findings_file\"");
        if n > 0.0 {
            break n;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "no finding within a minute of start"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let st = s.signal_and_wait("INT");
    assert!(st.success(), "Ctrl-C should stop vigil run cleanly: {st}");

    let data = dir.path().join("vigil-data");
    let lines = std::fs::read_to_string(data.join("findings.ndjson")).expect("findings file");
    let written = lines.lines().count() as f64;
    assert!(
        written >= findings,
        "{findings} findings counted, {written} in findings.ndjson after the drain"
    );
    for l in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("a finding is JSON");
        assert_eq!(v["class_uid"], 2004, "an OCSF detection finding: {v}");
    }
    let cp: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(data.join("state/checkpoint.json")).expect("checkpoint"),
    )
    .expect("checkpoint JSON");
    assert!(
        cp["offsets"]["simulator/0"].as_i64().is_some_and(|o| o > 0),
        "the drain checkpoints the simulator's position: {}",
        cp["offsets"]
    );
}

#[test]
fn http_ingest_sends_bad_records_to_the_dead_letters_and_keeps_the_rest() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let cfg = dir.path().join("vigil.toml");
    std::fs::write(
        &cfg,
        format!(
            "[run]\ndata_dir = \"{}\"\ntokens = [\"{TOKEN}\"]\nmax_record_bytes = 4096\ncheckpoint_secs = 0.5\n",
            data.display()
        ),
    )
    .expect("write config");
    let s = Service::start(&cfg);
    let auth = format!("Bearer {TOKEN}");
    let h = [("Authorization", auth.as_str())];

    let okta = std::fs::read_to_string(shared(
        "auth/okta/panther_scenario_okta-add-administrator_2_brute_force_logins.jsonl",
    ))
    .expect("okta sample");
    let good: Vec<&str> = okta
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(3)
        .collect();
    let zeek = std::fs::read_to_string(shared("network/zeek_json/apt29_day1_combined_zeek.log"))
        .expect("zeek sample");
    let zeek_line = zeek.lines().next().expect("a zeek line");
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(10_000));

    // One body: good records with garbage bytes, an oversized record and
    // a record in the wrong format among them.
    let mut body = Vec::new();
    body.extend_from_slice(good[0].as_bytes());
    body.extend_from_slice(b"\n\xff\xfe\x00garbage\n");
    body.extend_from_slice(good[1].as_bytes());
    body.push(b'\n');
    body.extend_from_slice(big.as_bytes());
    body.push(b'\n');
    body.extend_from_slice(zeek_line.as_bytes());
    body.push(b'\n');
    body.extend_from_slice(good[2].as_bytes());
    body.push(b'\n');
    let (code, answer) = s.post("/v1/ingest/okta", &h, &body);
    assert_eq!(code, 200, "{answer}");
    let v: serde_json::Value = serde_json::from_str(&answer).expect("JSON answer");
    assert_eq!(v["records"], 6, "{answer}");
    assert_eq!(v["dead_letters"], 3, "{answer}");

    // Content no decoder knows, sent for sniffing.
    let (code, answer) = s.post("/v1/ingest/auto", &h, b"hello, this is no log format\n");
    assert_eq!(code, 200, "{answer}");
    assert!(answer.contains("\"dead_letters\":1"), "{answer}");

    // A HEC event whose payload is not the sourcetype's format.
    let hec_auth = format!("Splunk {TOKEN}");
    let ev = serde_json::json!({"event": "\u{0}zz", "sourcetype": "okta"}).to_string();
    let (code, answer) = s.post(
        "/services/collector/event",
        &[("Authorization", hec_auth.as_str())],
        ev.as_bytes(),
    );
    assert_eq!(code, 200, "{answer}");
    // A HEC body that is not JSON at all is refused whole, as HEC does.
    let (code, answer) = s.post(
        "/services/collector/event",
        &[("Authorization", hec_auth.as_str())],
        b"not json",
    );
    assert_eq!(code, 400, "{answer}");
    assert!(
        answer.contains("\"code\":6"),
        "HEC's invalid data format code: {answer}"
    );

    // No token, a wrong token, an unknown format.
    assert_eq!(s.post("/v1/ingest/okta", &[], good[0].as_bytes()).0, 401);
    assert_eq!(
        s.post(
            "/v1/ingest/okta",
            &[("Authorization", "Bearer wrong-token-x")],
            good[0].as_bytes()
        )
        .0,
        401
    );
    let (code, answer) = s.post("/v1/ingest/nosuch", &h, good[0].as_bytes());
    assert_eq!(code, 404, "{answer}");
    assert!(answer.contains("unknown format"), "{answer}");

    s.wait_records(8, Duration::from_secs(60));
    s.stop();

    let dl = common::dead_letters(&data);
    let reasons = common::reasons(&dl);
    assert_eq!(dl.len(), 5, "five dead letters: {reasons:#?}");
    let has = |needle: &str| reasons.iter().any(|r| r.contains(needle));
    assert!(has("invalid UTF-8"), "garbage bytes: {reasons:#?}");
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
        reasons
            .iter()
            .all(|r| r.starts_with("ingest/") || r.starts_with("hec")),
        "each dead letter names the request it came in: {reasons:#?}"
    );
    // The good Okta records are in the lake.
    let rows = common::sql_csv(
        dir.path().join("data").as_path(),
        "select count(*) from authentication",
    );
    assert_eq!(rows, vec!["3".to_string()], "the three good Okta sign-ins");
}
