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
