//! Garbage in: dead letters or a clear error, never a panic, and the run
//! goes on past every bad record.

mod common;

use std::io::Write;
use std::path::Path;

use common::{dead_letters, replay, shared, summary, vigil};

/// A deterministic byte generator (xorshift), so failures reproduce.
fn noise(n: usize, mut seed: u64) -> Vec<u8> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

fn okta_lines() -> Vec<String> {
    let p = shared("auth/okta/panther_scenario_okta-add-administrator_2_brute_force_logins.jsonl");
    std::fs::read_to_string(p)
        .expect("read")
        .lines()
        .map(str::to_string)
        .collect()
}

fn reasons(out: &Path) -> Vec<String> {
    dead_letters(out)
        .iter()
        .map(|d| d["reason"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn binary_noise_is_an_unknown_format_dead_letter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("noise.bin");
    std::fs::write(&f, noise(100_000, 7)).expect("write");
    let out = dir.path().join("out");
    replay(&[&f], &out, &[]);
    let r = reasons(&out);
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].starts_with("unknown format"), "{r:?}");
}

#[test]
fn binary_noise_read_as_syslog_dead_letters_lines_and_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("noise.log");
    let mut bytes = noise(50_000, 11);
    bytes.extend_from_slice(
        b"\nDec 10 06:55:46 host-a sshd[1]: Accepted password for alice from 192.0.2.1 port 22 ssh2\n",
    );
    std::fs::write(&f, bytes).expect("write");
    let out = dir.path().join("out");
    replay(&[&f], &out, &["--format", "syslog"]);
    let s = summary(&out);
    assert!(s["dead_letters"].as_u64().unwrap_or(0) > 0);
    assert_eq!(s["rows"]["authentication"], 1, "{s}");
}

#[test]
fn a_truncated_gzip_keeps_what_was_read_and_says_where_it_ended() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = okta_lines().join("\n") + "\n";
    let mut gz = flate2_write(text.as_bytes());
    gz.truncate(gz.len() * 2 / 3);
    let f = dir.path().join("okta.jsonl.gz");
    std::fs::write(&f, gz).expect("write");
    let out = dir.path().join("out");
    replay(&[&f], &out, &[]);
    let r = reasons(&out);
    assert!(
        r.iter()
            .any(|x| x.starts_with("input ended with a read error")),
        "{r:?}"
    );
    let rows = summary(&out)["rows"]["authentication"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        rows > 0 && rows < 10,
        "rows before the cut are kept: {rows}"
    );
}

fn flate2_write(bytes: &[u8]) -> Vec<u8> {
    let mut child = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip is installed");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(bytes)
        .expect("write");
    child.wait_with_output().expect("gzip").stdout
}

#[test]
fn a_ten_megabyte_line_is_dead_lettered_whole_and_neighbours_survive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = okta_lines();
    let mut text = lines[0].clone() + "\n";
    text.push_str("{\"eventType\": \"");
    text.push_str(&"A".repeat(10 << 20));
    text.push_str("\"}\n");
    text.push_str(&lines[1]);
    text.push('\n');
    let f = dir.path().join("big.jsonl");
    std::fs::write(&f, text).expect("write");
    let out = dir.path().join("out");
    replay(&[&f], &out, &["--format", "okta"]);
    let dl = dead_letters(&out);
    assert_eq!(dl.len(), 1, "{dl:?}");
    assert!(
        dl[0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("exceeds the limit"),
        "{dl:?}"
    );
    assert_eq!(dl[0]["record"].as_str().unwrap_or("").len(), 4096);
    assert_eq!(dl[0]["record_truncated"], true);
    assert_eq!(dl[0]["line"], 2);
    assert_eq!(summary(&out)["rows"]["authentication"], 2);
}

#[test]
fn a_ten_megabyte_line_of_junk_is_one_dead_letter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = okta_lines();
    let text = format!("{}\n{}\n{}\n", lines[0], "A".repeat(10 << 20), lines[1]);
    let f = dir.path().join("junk.jsonl");
    std::fs::write(&f, text).expect("write");
    let out = dir.path().join("out");
    replay(&[&f], &out, &["--format", "okta"]);
    let r = reasons(&out);
    assert_eq!(r, ["not JSON: expected an object or array"]);
    assert_eq!(summary(&out)["rows"]["authentication"], 2);
}

#[test]
fn invalid_utf8_and_wrong_shapes_are_dead_letters_with_reasons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = okta_lines();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(lines[0].as_bytes());
    bytes.extend_from_slice(
        b"\n{\"eventType\": \"user.session.start\", \"published\": \"\xff\xfe\"}\n",
    );
    bytes.extend_from_slice(
        b"{\"eventType\": 5}\n[1, 2, 3]\n\"just a string\"\n{\"unterminated\": \n",
    );
    let f = dir.path().join("mixed.jsonl");
    std::fs::write(&f, bytes).expect("write");
    let out = dir.path().join("out");
    replay(&[&f], &out, &["--format", "okta"]);
    let dl = dead_letters(&out);
    assert!(dl.len() >= 4, "{dl:#?}");
    for d in &dl {
        assert_eq!(d["file"].as_str(), Some(f.display().to_string().as_str()));
        assert!(d["line"].as_u64().unwrap_or(0) >= 2, "{d}");
        assert!(d["reason"].as_str().unwrap_or("").len() > 10, "{d}");
    }
    assert!(reasons(&out).iter().any(|r| r.starts_with("invalid UTF-8")));
    assert_eq!(summary(&out)["rows"]["authentication"], 1);
}

#[test]
fn a_missing_input_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = vigil(&[
        "replay",
        "/nonexistent/vigil-input",
        "--out",
        &dir.path().display().to_string(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/vigil-input"), "{err}");
}

#[test]
fn an_unknown_format_name_is_refused_with_the_list() {
    let out = vigil(&["replay", "x", "--out", "y", "--format", "nope"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown format") && err.contains("windows-json"),
        "{err}"
    );
}

#[test]
fn sql_is_read_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let okta = shared("auth/okta/panther_scenario_okta-add-administrator_4_new-user.jsonl");
    replay(&[&okta], dir.path(), &[]);
    let lake = dir.path().join("lake").display().to_string();
    let copy_to = dir.path().join("copied.csv").display().to_string();
    for q in [
        "insert into base_event select * from base_event".to_string(),
        format!("copy (select 1) to '{copy_to}'"),
        "create external table t stored as csv location '/etc/passwd'".to_string(),
        "drop table base_event".to_string(),
        "set datafusion.execution.batch_size = 1".to_string(),
    ] {
        let out = vigil(&["sql", "--lake", &lake, &q]);
        assert!(!out.status.success(), "{q} was allowed");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("not supported") || err.contains("not allowed"),
            "{q}: {err}"
        );
    }
    assert!(!dir.path().join("copied.csv").exists());
    let n = common::sql_csv(dir.path(), "select count(*) from base_event");
    assert_eq!(n, ["1"]);
}

#[test]
fn a_second_replay_into_the_same_lake_needs_append() {
    let dir = tempfile::tempdir().expect("tempdir");
    let okta = shared("auth/okta/panther_scenario_okta-add-administrator_4_new-user.jsonl");
    replay(&[&okta], dir.path(), &[]);
    let out = dir.path().display().to_string();
    let again = vigil(&["replay", &okta.display().to_string(), "--out", &out]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--append"));
    replay(&[&okta], dir.path(), &["--append"]);
    assert_eq!(
        common::sql_csv(dir.path(), "select count(*) from base_event"),
        ["2"]
    );
}

#[test]
fn the_out_directory_given_as_lake_is_named_as_a_mistake() {
    let dir = tempfile::tempdir().expect("tempdir");
    let okta = shared("auth/okta/panther_scenario_okta-add-administrator_4_new-user.jsonl");
    replay(&[&okta], dir.path(), &[]);
    let out = vigil(&[
        "sql",
        "--lake",
        &dir.path().display().to_string(),
        "select 1",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean"));
}

#[test]
fn a_symlink_loop_in_an_input_directory_reads_each_file_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    let okta =
        shared("auth/okta/panther_scenario_okta-add-administrator_2_brute_force_logins.jsonl");
    std::fs::copy(&okta, input.join("okta.jsonl")).expect("copy");
    std::os::unix::fs::symlink(".", input.join("self")).expect("symlink");
    std::os::unix::fs::symlink("okta.jsonl", input.join("latest.jsonl")).expect("symlink");
    let out = dir.path().join("out");
    replay(&[&input], &out, &[]);
    assert_eq!(summary(&out)["rows"]["authentication"], 10);
}

#[test]
fn a_truncated_evtx_file_says_records_were_lost() {
    let dir = tempfile::tempdir().expect("tempdir");
    let full = std::fs::read(shared("auth/evtx/chainsaw_security_sample.evtx")).expect("read");
    let f = dir.path().join("cut.evtx");
    std::fs::write(&f, &full[..40_000]).expect("write");
    let out = dir.path().join("out");
    replay(&[&f], &out, &[]);
    let r = reasons(&out);
    assert!(
        r.iter().any(|x| x.starts_with("EVTX file ends early")),
        "{r:?}"
    );
}
