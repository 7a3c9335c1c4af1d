//! Baselines, risk and trust decisions in `vigil replay`, end to end.

mod common;

use common::{replay, shared, sql_csv, summary, vigil, vigil_ok};

const PURPLESHARP: &str =
    "auth/windows_json/purplesharp_ad_playbook_I_2020-10-22042947.security_auth.json";

/// The purplesharp playbook (SOURCES.md): a password spray from
/// WORKSTATION5 (seven 4625s with no IpAddress, within a second) and
/// Kerberoasting by pgustavo (five 4769s with RC4, 0x17). The baselines
/// name both, on the right entities, and the risk engine takes them up.
#[test]
fn purplesharp_spray_and_kerberoasting_become_signals_and_risk() {
    let dir = tempfile::tempdir().expect("tempdir");
    replay(&[&shared(PURPLESHARP)], dir.path(), &[]);
    let signals = sql_csv(
        dir.path(),
        "select finding_info_analytic_uid, entity_type, entity_id from detection_finding \
         where metadata_log_name = 'baseline' order by 1",
    );
    assert_eq!(
        signals,
        vec![
            "vigil.baseline.kerberoasting,user,pgustavo",
            "vigil.baseline.password_spray,device,workstation5",
        ]
    );
    // Each signal alone is high: spray 70 and Kerberoasting 70.
    let risk = sql_csv(
        dir.path(),
        "select entity_type, entity_id, risk_score, risk_level, risk_prev_level from entity_risk order by 2",
    );
    assert_eq!(
        risk,
        vec![
            "user,pgustavo,70.0,high,low",
            "device,workstation5,70.0,high,low"
        ]
    );
    let contributions = sql_csv(
        dir.path(),
        "select risk_contributions from entity_risk where entity_id = 'pgustavo'",
    );
    assert!(
        contributions[0].contains("RC4-encrypted service tickets for 5 different services"),
        "{contributions:?}"
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("risk.json")).expect("risk.json"))
            .expect("JSON");
    assert_eq!(report["entities"][0]["entity_id"], "pgustavo");
    // Every successful logon of a person has a decision with at least one
    // reason; machine accounts and the three ANONYMOUS LOGONs are no user.
    let logons = sql_csv(
        dir.path(),
        "select count(*) from authentication where status_id = 1 and activity_id = 1 \
         and user_name is not null and user_name not like '%$' \
         and user_name <> 'ANONYMOUS LOGON'",
    );
    assert_eq!(logons, ["19"]);
    let decisions = sql_csv(
        dir.path(),
        "select count(*) from trust_decision where decision_reasons like '[\"%'",
    );
    assert_eq!(decisions, logons);
    let s = summary(dir.path());
    assert_eq!(s["risk_changes"], 2);
    assert_eq!(s["detector"]["baselines.signals"], 2);
}

#[test]
fn no_baselines_leaves_risk_and_decisions_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    replay(&[&shared(PURPLESHARP)], dir.path(), &["--no-baselines"]);
    assert_eq!(
        sql_csv(dir.path(), "select count(*) from entity_risk"),
        ["0"]
    );
    assert_eq!(
        sql_csv(dir.path(), "select count(*) from trust_decision"),
        ["0"]
    );
    assert!(!dir.path().join("risk.json").exists());
}

#[test]
fn a_config_changes_thresholds_and_a_bad_one_is_refused_with_every_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("vigil.toml");
    // Kerberoasting needs 6 services now: purplesharp's 5 are not enough.
    std::fs::write(&cfg, "[baselines]\nkerberoast_services = 6\n").expect("write");
    let out = dir.path().join("out");
    replay(
        &[&shared(PURPLESHARP)],
        &out,
        &["--config", cfg.to_str().expect("utf-8")],
    );
    assert_eq!(
        sql_csv(
            &out,
            "select count(*) from detection_finding where finding_info_analytic_uid = 'vigil.baseline.kerberoasting'"
        ),
        ["0"]
    );

    std::fs::write(&cfg, "[baselines]\nkerberoast_service = 6\n").expect("write");
    let bad = vigil(&[
        "replay",
        shared(PURPLESHARP).to_str().expect("utf-8"),
        "--out",
        dir.path().join("bad").to_str().expect("utf-8"),
        "--config",
        cfg.to_str().expect("utf-8"),
    ]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("vigil.toml") && err.contains("kerberoast_service"),
        "{err}"
    );

    std::fs::write(
        &cfg,
        "[baselines]\nscan_ports = 0\nlateness_minutes = -5.0\nbeacon_max_cv = nan\n\
         [baselines.scores]\nport_scan = 150.0\n\
         [risk]\nhalf_life_hours = -1\nhigh = 90\n[risk.decision]\nnoncompliant = \"maybe\"\n",
    )
    .expect("write");
    let bad = vigil(&[
        "replay",
        shared(PURPLESHARP).to_str().expect("utf-8"),
        "--out",
        dir.path().join("bad2").to_str().expect("utf-8"),
        "--config",
        cfg.to_str().expect("utf-8"),
    ]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    for part in [
        "baselines.scan_ports must be at least 1",
        "baselines.lateness_minutes must be a number 0 or more, not -5",
        "baselines.beacon_max_cv",
        "baselines.scores.port_scan must be within [0, 100], not 150",
        "half_life_hours",
        "levels must rise",
        "noncompliant",
    ] {
        assert!(err.contains(part), "{part} missing from: {err}");
    }
}

#[test]
fn state_carries_baselines_from_one_replay_to_the_next() {
    // The first replay learns; a checkpoint is written; a second replay
    // with the same --state and a new input goes on from it.
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state");
    let input = shared(PURPLESHARP);
    replay(
        &[&input],
        &dir.path().join("a"),
        &["--state", state.to_str().expect("utf-8")],
    );
    let cp: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("checkpoint.json")).expect("checkpoint"))
            .expect("JSON");
    assert_eq!(cp["version"], 1);
    assert_eq!(
        cp["inputs_done"][0],
        std::fs::canonicalize(&input)
            .expect("canonical")
            .display()
            .to_string()
    );
    assert!(cp["detectors"]["risk"].is_object());
    assert!(cp["detectors"]["baselines"].is_object());
    // Run again over the same input: it is already done, so nothing is
    // read and the risk carried over is still there.
    let out = replay(
        &[&input],
        &dir.path().join("a"),
        &["--state", state.to_str().expect("utf-8")],
    );
    assert!(out.contains("0 inputs"), "{out}");
    // The same file spelled another way is the same input.
    let other = input
        .parent()
        .expect("a directory")
        .join(".")
        .join(input.file_name().expect("a file name"));
    let out = replay(
        &[&other],
        &dir.path().join("a"),
        &["--state", state.to_str().expect("utf-8")],
    );
    assert!(out.contains("0 inputs"), "{out}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("a/risk.json")).expect("risk.json"))
            .expect("JSON");
    assert_eq!(report["entities"].as_array().map(Vec::len), Some(2));
}

/// The number of files under `dir`, recursively.
fn count_files(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("dir entry").path();
        n += if p.is_dir() { count_files(&p) } else { 1 };
    }
    n
}

fn risk_report(out: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(out.join("risk.json")).expect("risk.json"))
        .expect("risk.json is JSON")
}

/// Kill -9 a replay halfway through its inputs, start it again with the
/// same --state, and the final risk scores are those of a run that was
/// never interrupted.
#[test]
fn a_replay_killed_halfway_and_restarted_ends_with_the_same_risk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = dir.path().join("sim");
    vigil_ok(&[
        "simulate",
        "--seed",
        "11",
        "--users",
        "60",
        "--days",
        "2",
        "--warmup-days",
        "1",
        "--out",
        sim.to_str().expect("utf-8"),
    ]);
    let history = sim.join("history");
    let events = sim.join("events");
    let inputs = count_files(&history) + count_files(&events);

    let whole = dir.path().join("whole");
    replay(&[&history, &events], &whole, &[]);
    let expected = risk_report(&whole);
    let entities = expected["entities"].as_array().map_or(0, Vec::len);
    assert!(entities > 0, "the simulated attacks raise some risk");

    let out = dir.path().join("restarted");
    let state = dir.path().join("state");
    let args = [
        "replay",
        history.to_str().expect("utf-8"),
        events.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--state",
        state.to_str().expect("utf-8"),
        "--checkpoint-secs",
        "0",
    ];
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env("VIGIL_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start vigil");
    // Wait until half the inputs are checkpointed, then kill -9.
    let cp = state.join("checkpoint.json");
    loop {
        assert!(
            child.try_wait().expect("wait").is_none(),
            "the replay ended before it was halfway"
        );
        let done = std::fs::read(&cp)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["inputs_done"].as_array().map(Vec::len))
            .unwrap_or(0);
        if done * 2 >= inputs {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    assert!(!out.join("risk.json").exists(), "killed before the end");

    let resumed = vigil(&args);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(stderr.contains("Resuming from"), "{stderr}");
    let got = risk_report(&out);
    assert_eq!(got, expected);
}

/// Edge case BH-04: sshd logs the user name the client sent, so a name
/// with an address in it must not make that address the source. Six
/// users guessed from 203.0.113.9, every name carrying 198.51.100.7: the
/// spray and the risk are 203.0.113.9's, and 198.51.100.7 has none.
#[test]
fn an_address_inside_an_sshd_user_name_never_gets_the_risk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("auth.log");
    let mut lines = String::new();
    for (i, name) in ["x x", "root", "admin", "oracle", "test", "ubuntu"]
        .iter()
        .enumerate()
    {
        lines.push_str(&format!(
            "Mar  3 10:00:{:02} host-a sshd[20{i:02}]: Invalid user {name} 198.51.100.7 from 203.0.113.9 port 500{i:02}\n",
            i * 2
        ));
        lines.push_str(&format!(
            "Mar  3 10:00:{:02} host-a sshd[20{i:02}]: Failed password for invalid user {name} from 198.51.100.7 port 22 ssh2 from 203.0.113.9 port 500{i:02} ssh2\n",
            i * 2 + 1
        ));
    }
    std::fs::write(&log, lines).expect("write");
    let out = dir.path().join("out");
    replay(&[&log], &out, &[]);
    assert_eq!(
        sql_csv(
            &out,
            "select finding_info_analytic_uid, entity_type, entity_id from detection_finding"
        ),
        ["vigil.baseline.password_spray,ip,203.0.113.9"]
    );
    assert_eq!(
        sql_csv(
            &out,
            "select count(*) from entity_risk where entity_id = '198.51.100.7'"
        ),
        ["0"]
    );
    assert_eq!(
        sql_csv(
            &out,
            "select count(distinct src_endpoint_ip) from authentication where src_endpoint_ip <> '203.0.113.9'"
        ),
        ["0"]
    );
}
