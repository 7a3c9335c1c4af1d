//! Syslog over UDP and TCP for `vigil run`.
//!
//! UDP: one message per datagram (RFC 5426); a trailing newline is
//! dropped. TCP: each frame is either octet-counted (`LEN SP MSG`, RFC
//! 6587 §3.4.1; a frame that starts with a digit) or ends at a newline
//! (§3.4.2; a trailing CR is dropped), decided frame by frame, so a
//! sender may use either. Both RFC 3164 and RFC 5424 messages decode with
//! the `syslog` format (or the format configured).
//!
//! Back-pressure: a TCP connection whose rows the pipeline cannot take
//! stops being read, so the sender's TCP window closes and it waits. UDP
//! has no way to make a sender wait: while the pipeline is full, datagrams
//! queue in the socket's receive buffer and the kernel drops what does not
//! fit (counted by the kernel in `/proc/net/snmp` `Udp: RcvbufErrors`,
//! not by vigil). Use TCP where loss matters.
//!
//! A frame over `run.max_record_bytes` goes to the dead letters (its
//! length and where it came from), and the connection goes on with the
//! next frame. The peer address names each dead letter's source.

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use anyhow::Context;
use vigil_ingest::read::DeadLetter;
use vigil_ingest::stream::StreamDecoder;
use vigil_ingest::{DecodeConfig, Format};

use super::Msg;
use super::metrics::Metrics;
use super::pipeline::Work;
use super::settings::SyslogConfig;

const WORK_RECORDS: u64 = 4096;
const WORK_WINDOW: Duration = Duration::from_millis(20);

/// What every syslog thread shares.
#[derive(Clone)]
struct Ctx {
    format: Format,
    decode: DecodeConfig,
    max_record_bytes: usize,
    metrics: Arc<Metrics>,
    shutdown: Arc<AtomicBool>,
    tx: SyncSender<Msg>,
}

/// Bind the configured sockets and start their threads; a port that
/// cannot be bound is an error at start-up.
pub fn start(
    cfg: &SyslogConfig,
    decode: DecodeConfig,
    max_record_bytes: usize,
    metrics: Arc<Metrics>,
    shutdown: Arc<AtomicBool>,
    tx: SyncSender<Msg>,
) -> anyhow::Result<Vec<std::thread::JoinHandle<()>>> {
    let format = match &cfg.format {
        Some(f) => Format::from_name(f).with_context(|| format!("run.syslog.format {f:?}"))?,
        None => Format::Syslog,
    };
    let ctx = Ctx {
        format,
        decode,
        max_record_bytes,
        metrics,
        shutdown,
        tx,
    };
    let mut threads = Vec::new();
    if let Some(addr) = cfg.udp {
        let sock = UdpSocket::bind(addr)
            .with_context(|| format!("run.syslog.udp: cannot listen on {addr}"))?;
        sock.set_read_timeout(Some(WORK_WINDOW))?;
        let ctx = ctx.clone();
        tracing::info!(%addr, "Syslog over UDP listening.");
        threads.push(
            std::thread::Builder::new()
                .name("vigil-syslog-udp".into())
                .spawn(move || udp(&sock, &ctx))?,
        );
    }
    if let Some(addr) = cfg.tcp {
        let l = TcpListener::bind(addr)
            .with_context(|| format!("run.syslog.tcp: cannot listen on {addr}"))?;
        l.set_nonblocking(true)?;
        let max = cfg.max_connections;
        tracing::info!(%addr, max_connections = max, "Syslog over TCP listening.");
        threads.push(
            std::thread::Builder::new()
                .name("vigil-syslog-tcp".into())
                .spawn(move || accept(&l, &ctx, max))?,
        );
    }
    Ok(threads)
}

/// Records of one stream gathered into pieces of work.
struct Batcher {
    source: Arc<str>,
    format: &'static str,
    decoder: StreamDecoder,
    n: u64,
    started: Option<Instant>,
    records: u64,
    dead: Vec<DeadLetter>,
    late_seen: u64,
}

impl Batcher {
    fn new(ctx: &Ctx, source: &str, name: String) -> Batcher {
        Batcher {
            source: source.into(),
            format: ctx.format.name(),
            decoder: StreamDecoder::new(
                name,
                Some(ctx.format),
                ctx.decode.clone(),
                ctx.max_record_bytes,
            ),
            n: 0,
            started: None,
            records: 0,
            dead: Vec::new(),
            late_seen: 0,
        }
    }

    fn push(&mut self, rec: &[u8]) {
        self.started.get_or_insert_with(Instant::now);
        self.n += 1;
        self.records += 1;
        if let Err(dl) = self.decoder.push(rec, self.n, self.n) {
            self.dead.push(*dl);
        }
    }

    /// A dead letter for a frame that was never read whole.
    fn oversized(&mut self, len: usize, limit: usize) {
        self.started.get_or_insert_with(Instant::now);
        self.n += 1;
        self.records += 1;
        self.dead.push(DeadLetter {
            file: self.decoder.name().to_string(),
            line: self.n,
            offset: self.n,
            format: self.format.to_string(),
            reason: format!("record of {len} bytes is larger than the limit of {limit} bytes"),
            record: String::new(),
            record_truncated: true,
        });
    }

    fn due(&self) -> bool {
        self.records >= WORK_RECORDS || self.started.is_some_and(|t| t.elapsed() >= WORK_WINDOW)
    }

    /// Hand what has gathered to the pipeline, waiting while it is full.
    /// False when the pipeline has gone or the service is stopping.
    fn send(&mut self, ctx: &Ctx) -> bool {
        let Some(received) = self.started.take() else {
            return true;
        };
        let batches = self.decoder.flush();
        let late: u64 = self.decoder.stats().iter().map(|(_, s)| s.late).sum();
        let w = Work {
            source: self.source.clone(),
            batches,
            dead: std::mem::take(&mut self.dead),
            records: std::mem::take(&mut self.records),
            late: late.saturating_sub(self.late_seen),
            offsets: Vec::new(),
            received,
            decoded: Instant::now(),
            produced_ms: Vec::new(),
        };
        self.late_seen = late;
        super::send_blocking(&ctx.tx, &ctx.metrics, &ctx.shutdown, w)
    }
}

fn udp(sock: &UdpSocket, ctx: &Ctx) {
    let name = sock
        .local_addr()
        .map_or_else(|_| "syslog-udp".to_string(), |a| format!("syslog-udp:{a}"));
    let mut b = Batcher::new(ctx, "syslog-udp", name);
    let mut buf = vec![0u8; 65_536];
    while !ctx.shutdown.load(Ordering::Relaxed) {
        match sock.recv_from(&mut buf) {
            Ok((n, _peer)) => {
                let mut rec = &buf[..n];
                while let [head @ .., b'\n' | b'\r' | 0] = rec {
                    rec = head;
                }
                if !rec.is_empty() {
                    b.push(rec);
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => {
                tracing::warn!(error = %e, "Syslog UDP receive failed.");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        if b.due() && !b.send(ctx) {
            return;
        }
    }
    b.send(ctx);
}

fn accept(l: &TcpListener, ctx: &Ctx, max: usize) {
    let open = Arc::new(AtomicUsize::new(0));
    let mut conns = Vec::new();
    while !ctx.shutdown.load(Ordering::Relaxed) {
        match l.accept() {
            Ok((s, peer)) => {
                if open.load(Ordering::Relaxed) >= max {
                    tracing::warn!(%peer, max, "Syslog TCP connection refused: too many open.");
                    drop(s);
                    continue;
                }
                open.fetch_add(1, Ordering::Relaxed);
                let (ctx, count) = (ctx.clone(), open.clone());
                let h = std::thread::Builder::new()
                    .name("vigil-syslog-conn".into())
                    .spawn(move || {
                        if let Err(e) = connection(s, peer, &ctx) {
                            tracing::warn!(%peer, error = %e, "Syslog TCP connection ended.");
                        }
                        count.fetch_sub(1, Ordering::Relaxed);
                    });
                match h {
                    Ok(h) => conns.push(h),
                    Err(e) => {
                        open.fetch_sub(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, "Cannot start a syslog connection thread.");
                    }
                }
                conns.retain(|h| !h.is_finished());
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                tracing::warn!(error = %e, "Syslog TCP accept failed.");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    for h in conns {
        let _ = h.join();
    }
}

/// Frames of one TCP stream (RFC 6587), either framing per frame.
struct Framer {
    buf: Vec<u8>,
    /// Bytes of an oversized frame still to throw away; `None` for a
    /// newline-framed one (thrown away to its newline).
    skip: Option<Skip>,
    max: usize,
}

enum Skip {
    Bytes(usize),
    ToNewline,
}

enum Frame {
    Record(Vec<u8>),
    /// A frame over the limit, with its length (as far as known).
    Oversized(usize),
}

impl Framer {
    /// The next whole frame in the buffer, if any.
    fn next(&mut self, eof: bool) -> Option<Frame> {
        match self.skip.take() {
            Some(Skip::Bytes(n)) => {
                let k = n.min(self.buf.len());
                self.buf.drain(..k);
                if k < n {
                    self.skip = Some(Skip::Bytes(n - k));
                    return None;
                }
            }
            Some(Skip::ToNewline) => match memchr(b'\n', &self.buf) {
                Some(i) => {
                    self.buf.drain(..=i);
                }
                None => {
                    self.buf.clear();
                    self.skip = Some(Skip::ToNewline);
                    return None;
                }
            },
            None => {}
        }
        // N.B. blank lines between frames are not records.
        let lead = self
            .buf
            .iter()
            .take_while(|c| matches!(c, b'\n' | b'\r' | b' '))
            .count();
        self.buf.drain(..lead);
        if self.buf.is_empty() {
            return None;
        }
        if self.buf[0].is_ascii_digit() {
            let digits = self.buf.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits < self.buf.len() && self.buf[digits] == b' ' && digits <= 10 {
                let len: usize = std::str::from_utf8(&self.buf[..digits])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(usize::MAX);
                if len > self.max {
                    self.buf.drain(..=digits);
                    self.skip = Some(Skip::Bytes(len));
                    return Some(Frame::Oversized(len));
                }
                if self.buf.len() < digits + 1 + len {
                    if eof {
                        // A frame cut short by the sender: what came is
                        // a record of its own, decoded or dead-lettered.
                        let rec = self.buf.split_off(digits + 1);
                        self.buf.clear();
                        return Some(Frame::Record(rec));
                    }
                    return None;
                }
                let rest = self.buf.split_off(digits + 1 + len);
                let rec = self.buf.split_off(digits + 1);
                self.buf = rest;
                return Some(Frame::Record(rec));
            }
            if digits == self.buf.len() && !eof && digits <= 10 {
                // The length may go on in the next read.
                return None;
            }
        }
        match memchr(b'\n', &self.buf) {
            Some(i) => {
                let mut rec: Vec<u8> = self.buf.drain(..=i).collect();
                rec.pop();
                if rec.last() == Some(&b'\r') {
                    rec.pop();
                }
                if rec.len() > self.max {
                    Some(Frame::Oversized(rec.len()))
                } else {
                    Some(Frame::Record(rec))
                }
            }
            None if self.buf.len() > self.max => {
                let n = self.buf.len();
                self.buf.clear();
                self.skip = Some(Skip::ToNewline);
                Some(Frame::Oversized(n))
            }
            None if eof => Some(Frame::Record(std::mem::take(&mut self.buf))),
            None => None,
        }
    }
}

fn memchr(c: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|x| *x == c)
}

fn connection(mut s: TcpStream, peer: SocketAddr, ctx: &Ctx) -> std::io::Result<()> {
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(WORK_WINDOW))?;
    tracing::debug!(%peer, "Syslog TCP connection opened.");
    let mut b = Batcher::new(ctx, "syslog-tcp", format!("syslog-tcp:{peer}"));
    let mut f = Framer {
        buf: Vec::new(),
        skip: None,
        max: ctx.max_record_bytes,
    };
    let mut chunk = vec![0u8; 65_536];
    loop {
        if ctx.shutdown.load(Ordering::Relaxed) {
            b.send(ctx);
            return Ok(());
        }
        let eof = match s.read(&mut chunk) {
            Ok(0) => true,
            Ok(n) => {
                f.buf.extend_from_slice(&chunk[..n]);
                false
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => {
                b.send(ctx);
                return Err(e);
            }
        };
        while let Some(frame) = f.next(eof) {
            match frame {
                Frame::Record(r) => b.push(&r),
                Frame::Oversized(n) => b.oversized(n, ctx.max_record_bytes),
            }
            // N.B. a full pipeline stops the reading here, so the sender's
            // window closes: that is TCP back-pressure.
            if b.records >= WORK_RECORDS && !b.send(ctx) {
                return Ok(());
            }
        }
        if eof {
            b.send(ctx);
            tracing::debug!(%peer, "Syslog TCP connection closed.");
            return Ok(());
        }
        if b.due() && !b.send(ctx) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[&[u8]], max: usize) -> Vec<String> {
        let mut f = Framer {
            buf: Vec::new(),
            skip: None,
            max,
        };
        let mut out = Vec::new();
        for (i, part) in input.iter().enumerate() {
            f.buf.extend_from_slice(part);
            let eof = i + 1 == input.len();
            while let Some(fr) = f.next(eof) {
                out.push(match fr {
                    Frame::Record(r) => String::from_utf8_lossy(&r).into_owned(),
                    Frame::Oversized(n) => format!("<oversized {n}>"),
                });
            }
        }
        out
    }

    #[test]
    fn octet_counting_and_newlines_mix_and_split_anywhere() {
        let got = frames(
            &[
                b"11 <13>hello w",
                b"orld<14>line two\r\n1",
                b"2 <13>a\nb c d e\n<1>last",
            ],
            1024,
        );
        assert_eq!(
            got,
            [
                "<13>hello w",
                "orld<14>line two",
                "<13>a\nb c d ",
                "e",
                "<1>last"
            ]
        );
    }

    #[test]
    fn oversized_frames_are_skipped_whole_either_way() {
        let big = vec![b'x'; 50];
        let mut counted = b"50 ".to_vec();
        counted.extend_from_slice(&big);
        counted.extend_from_slice(b"5 <1>ok");
        let mut lined = big.clone();
        lined.extend_from_slice(b"\n<2>fine\n");
        assert_eq!(frames(&[&counted], 10), ["<oversized 50>", "<1>ok"]);
        assert_eq!(
            frames(&[&lined[..20], &lined[20..]], 10),
            ["<oversized 20>", "<2>fine"]
        );
    }

    #[test]
    fn a_frame_cut_short_at_the_end_is_still_a_record() {
        assert_eq!(frames(&[b"30 <1>short"], 1024), ["<1>short"]);
    }
}
