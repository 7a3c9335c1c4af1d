//! A `vigil run` process under test, driven through its HTTP API.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (free when asked; tests race only each other).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A `vigil run` process and its API address.
pub struct Service {
    pub child: Child,
    pub http: String,
}

impl Drop for Service {
    /// A test that fails leaves no service behind.
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Service {
    /// `vigil run -c cfg` on a free port, once ready.
    pub fn start(cfg: &Path) -> Service {
        let port = free_port();
        let http = format!("127.0.0.1:{port}");
        let args = ["run", "-c", cfg.to_str().expect("utf-8"), "--http", &http];
        Service::spawn(&args, None, http.clone())
    }

    /// `vigil <args>` in `cwd`, its API at `http`, once ready.
    pub fn spawn(args: &[&str], cwd: Option<&Path>, http: String) -> Service {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
        if let Some(d) = cwd {
            cmd.current_dir(d);
        }
        let child = cmd
            .args(args)
            .env(
                "VIGIL_LOG",
                std::env::var("VIGIL_TEST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start vigil run");
        let s = Service { child, http };
        let t = Instant::now();
        while s.get("/readyz").is_none_or(|(c, _)| c != 200) {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "vigil run did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }

    pub fn get(&self, path: &str) -> Option<(u16, String)> {
        use std::io::{Read, Write};
        let mut s = TcpStream::connect(&self.http).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut buf = String::new();
        s.read_to_string(&mut buf).ok()?;
        let code = buf.split(' ').nth(1)?.parse().ok()?;
        let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_string())?;
        Some((code, body))
    }

    /// POST `body` to `path` with `headers`; (status, body).
    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
        use std::io::{Read, Write};
        let mut s = TcpStream::connect(&self.http).expect("connect to vigil run");
        s.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        s.write_all(head.as_bytes()).expect("send head");
        // N.B. a server may answer (413) before the whole body is read.
        let _ = s.write_all(body);
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let buf = String::from_utf8_lossy(&buf).into_owned();
        let code = buf
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP answer to POST {path}: {buf:?}"));
        let body = buf
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (code, body)
    }

    /// Send `signal` (a `kill -s` name) and wait for the exit status.
    pub fn signal_and_wait(mut self, signal: &str) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let st = Command::new("kill")
            .args(["-s", signal, &pid])
            .status()
            .expect("kill");
        assert!(st.success());
        let t = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                return st;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "vigil run did not stop on {signal}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A metric's value, summed over label sets; `name` may end in a
    /// label prefix (`vigil_events_out_total{output="kafka"`).
    pub fn metric(&self, name: &str) -> f64 {
        let Some((_, body)) = self.get("/metrics") else {
            return -1.0;
        };
        body.lines()
            .filter(|l| {
                l.starts_with(name)
                    && (name.contains('{') || l[name.len()..].starts_with(['{', ' ']))
            })
            .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
            .sum()
    }

    /// Wait until `n` records have come in and the queue is empty.
    pub fn wait_records(&self, n: u64, limit: Duration) {
        let t = Instant::now();
        loop {
            let got = self.metric("vigil_records_in_total");
            if got as u64 >= n && self.metric("vigil_queue_batches") == 0.0 {
                return;
            }
            assert!(t.elapsed() < limit, "only {got} of {n} records came in");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// SIGTERM, and wait for a clean exit.
    pub fn stop(self) {
        let st = self.signal_and_wait("TERM");
        assert!(st.success(), "vigil run exited with {st} on SIGTERM");
    }

    pub fn kill9(mut self) {
        self.child.kill().expect("SIGKILL");
        let _ = self.child.wait();
    }
}
