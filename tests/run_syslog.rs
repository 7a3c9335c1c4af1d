//! `vigil run` receiving syslog over TCP and UDP, from a raw socket and
//! from util-linux `logger` (a real RFC 5424 sender, with RFC 6587 octet
//! counting over TCP).

mod common;

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::service::{Service, free_port};
use common::{replay, shared, sql_csv};

fn config(dir: &Path, udp: u16, tcp: u16) -> std::path::PathBuf {
    let p = dir.join("vigil.toml");
    std::fs::write(
        &p,
        format!(
            "[run]\ndata_dir = \"{}\"\nmax_record_bytes = 4096\ncheckpoint_secs = 0.5\n\n\
             [run.syslog]\nudp = \"127.0.0.1:{udp}\"\ntcp = \"127.0.0.1:{tcp}\"\n",
            dir.join("data").display()
        ),
    )
    .expect("write config");
    p
}

fn logger(args: &[&str], msg: &str) {
    let st = Command::new("logger")
        .args(args)
        .arg(msg)
        .status()
        .expect("util-linux logger (Debian package bsdutils)");
    assert!(st.success(), "logger {args:?} failed");
}

#[test]
fn syslog_over_tcp_and_udp_decodes_what_a_replay_decodes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = shared("auth/linux_sshd/loghub_OpenSSH_2k.log");
    let text = std::fs::read_to_string(&file).expect("sshd sample");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 2000, "SOURCES.md: 2000 lines");

    let rout = dir.path().join("replay");
    replay(&[&file], &rout, &[]);
    let want_auth: u64 = sql_csv(&rout, "select count(*) from authentication")[0]
        .parse()
        .expect("count");
    assert!(
        want_auth > 100,
        "the sample is mostly sign-in attempts: {want_auth}"
    );

    let (udp_port, tcp_port) = (free_port(), free_port());
    let cfg = config(dir.path(), udp_port, tcp_port);
    let s = Service::start(&cfg);

    // Half over one TCP connection, newline-framed, in one write.
    let mut tcp = TcpStream::connect(("127.0.0.1", tcp_port)).expect("connect tcp");
    let mut body = lines[..1000].join("\n");
    body.push('\n');
    tcp.write_all(body.as_bytes()).expect("send");
    drop(tcp);
    // The other half as UDP datagrams, one message each, paced so the
    // socket's receive buffer never overflows.
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    for chunk in lines[1000..].chunks(50) {
        for l in chunk {
            udp.send_to(l.as_bytes(), ("127.0.0.1", udp_port))
                .expect("send udp");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // A real sender: RFC 5424, octet-counted over TCP, and over UDP.
    let port = tcp_port.to_string();
    let uport = udp_port.to_string();
    for i in 0..3 {
        let msg = format!(
            "Failed password for invalid user probe{i} from 198.51.100.{i} port 4{i}22 ssh2"
        );
        logger(
            &[
                "--server",
                "127.0.0.1",
                "--port",
                &port,
                "--tcp",
                "--octet-count",
                "--rfc5424",
                "-t",
                "sshd",
                "--id=4242",
                "-p",
                "auth.info",
            ],
            &msg,
        );
        logger(
            &[
                "--server",
                "127.0.0.1",
                "--port",
                &uport,
                "--udp",
                "--rfc5424",
                "-t",
                "sshd",
                "--id=4243",
                "-p",
                "auth.info",
            ],
            &msg,
        );
    }

    s.wait_records(2006, Duration::from_secs(120));
    s.stop();
    let data = dir.path().join("data");
    let got_auth: u64 = sql_csv(&data, "select count(*) from authentication")[0]
        .parse()
        .expect("count");
    assert_eq!(
        got_auth,
        want_auth + 6,
        "the sample's sign-ins as the replay reads them, and the six from logger"
    );
    let probes = sql_csv(
        &data,
        "select count(*) from authentication where user_name like 'probe%' and status_id = 2",
    );
    assert_eq!(
        probes,
        vec!["6".to_string()],
        "logger's failed sign-ins, decoded"
    );
}

#[test]
fn bad_syslog_frames_go_to_the_dead_letters_and_the_connection_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (udp_port, tcp_port) = (free_port(), free_port());
    let cfg = config(dir.path(), udp_port, tcp_port);
    let s = Service::start(&cfg);

    let good = "<38>1 2026-12-01T10:00:00Z host sshd 77 - - Failed password for root from 203.0.113.9 port 2222 ssh2";
    let mut tcp = TcpStream::connect(("127.0.0.1", tcp_port)).expect("connect tcp");
    let mut body = Vec::new();
    body.extend_from_slice(b"\xff\xfe\x00garbage\n");
    body.extend_from_slice(format!("5000 {}", "x".repeat(5000)).as_bytes());
    body.extend_from_slice(format!("{} {good}", good.len()).as_bytes());
    body.extend_from_slice(format!("{}\n", "y".repeat(6000)).as_bytes());
    body.extend_from_slice(good.as_bytes());
    body.push(b'\n');
    tcp.write_all(&body).expect("send");
    drop(tcp);
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    udp.send_to(&[b'z'; 5000], ("127.0.0.1", udp_port))
        .expect("send udp");

    s.wait_records(6, Duration::from_secs(60));
    assert_eq!(s.metric("vigil_dead_letters_total"), 4.0);
    s.stop();
    let data = dir.path().join("data");
    let dl = common::dead_letters(&data);
    let reasons = common::reasons(&dl);
    assert_eq!(dl.len(), 4, "{reasons:#?}");
    assert!(
        reasons.iter().any(|r| r.contains("invalid UTF-8")),
        "{reasons:#?}"
    );
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.contains("larger than the limit of 4096 bytes"))
            .count(),
        3,
        "octet-counted, newline-framed and UDP oversized frames: {reasons:#?}"
    );
    assert!(
        reasons
            .iter()
            .all(|r| r.starts_with("syslog-tcp:127.0.0.1:") || r.starts_with("syslog-udp:")),
        "each names its peer or socket: {reasons:#?}"
    );
    let rows = sql_csv(&data, "select count(*) from authentication");
    assert_eq!(rows, vec!["2".to_string()], "both good frames decoded");
}
