//! `vigil run` following a file as it grows, is rotated, and across a
//! restart.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use common::service::Service;
use common::{replay, shared, sql_csv};

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open for append");
    f.write_all(text.as_bytes()).expect("append");
}

/// A config that follows `log`, with its format when given.
fn config(dir: &Path, log: &Path, format: Option<&str>) -> std::path::PathBuf {
    let cfg = dir.join("vigil.toml");
    let format = format.map_or(String::new(), |f| format!("format = \"{f}\"\n"));
    std::fs::write(
        &cfg,
        format!(
            "[run]\ndata_dir = \"{}\"\ncheckpoint_secs = 0.5\n\n[[run.files]]\npath = \"{}\"\n{format}",
            dir.join("data").display(),
            log.display()
        ),
    )
    .expect("write config");
    cfg
}

fn joined(lines: &[&str]) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

#[test]
fn a_followed_file_is_read_through_growth_rotation_and_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sample = shared("auth/linux_sshd/loghub_OpenSSH_2k.log");
    let text = std::fs::read_to_string(&sample).expect("sshd sample");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 2000, "SOURCES.md: 2000 lines");
    let rout = dir.path().join("replay");
    replay(&[&sample], &rout, &["--format", "syslog"]);
    let want_auth = sql_csv(&rout, "select count(*) from authentication");

    let log = dir.path().join("auth.log");
    let data = dir.path().join("data");
    let cfg = config(dir.path(), &log, Some("syslog"));

    // Written before the start, with a line still being written.
    let (head, tail) = lines[1000].split_at(20);
    append(&log, &joined(&lines[..1000]));
    append(&log, head);
    let s = Service::start(&cfg);
    s.wait_records(1000, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        s.metric("vigil_records_in_total"),
        1000.0,
        "a line without its newline is not a record yet"
    );
    // The line ends, and more come.
    append(&log, &format!("{tail}\n"));
    append(&log, &joined(&lines[1001..1500]));
    s.wait_records(1500, Duration::from_secs(60));

    // Rotated by rename; the writer starts a new file.
    std::fs::rename(&log, dir.path().join("auth.log.1")).expect("rotate");
    append(&log, &joined(&lines[1500..1800]));
    s.wait_records(1800, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(1200));
    s.stop();

    // While vigil is down the file grows; a restart reads only what is new.
    append(&log, &joined(&lines[1800..]));
    let s = Service::start(&cfg);
    s.wait_records(200, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(
        s.metric("vigil_records_in_total"),
        200.0,
        "the restart goes on from the checkpointed position"
    );
    s.stop();

    assert_eq!(
        sql_csv(&data, "select count(*) from authentication"),
        want_auth,
        "every sign-in once, as the replay of the whole file has them"
    );
    let rows = |out: &Path| -> u64 {
        ["authentication", "base_event"]
            .iter()
            .map(|t| {
                sql_csv(out, &format!("select count(*) from {t}"))
                    .first()
                    .and_then(|c| c.parse::<u64>().ok())
                    .unwrap_or(0)
            })
            .sum()
    };
    assert_eq!(
        rows(&data),
        rows(&rout),
        "every line once, as the replay reads them"
    );
}

#[test]
fn a_file_truncated_in_place_is_read_again_from_its_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(shared("auth/linux_sshd/loghub_OpenSSH_2k.log"))
        .expect("sshd sample");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let log = dir.path().join("auth.log");
    let cfg = config(dir.path(), &log, None);
    append(&log, &joined(&lines[..300]));
    let s = Service::start(&cfg);
    s.wait_records(300, Duration::from_secs(60));
    // copytruncate: the same file, emptied, then written from its start.
    std::fs::File::create(&log).expect("truncate");
    append(&log, &joined(&lines[300..350]));
    s.wait_records(350, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        s.metric("vigil_records_in_total"),
        350.0,
        "the new content once"
    );
    s.stop();
}
