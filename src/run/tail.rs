//! Following files for `vigil run`: each configured file is read to its
//! end and then watched for more, through rotation.
//!
//! A file is read line by line (a line still being written waits for its
//! newline). Every 200 ms the path is looked at again: when it names a
//! new file (another inode: rotated by rename) the old one is read to
//! its end first, its last unterminated line taken as a record, and the
//! new file is read from its start; when it has shrunk below what was
//! read (truncated in place, `copytruncate`), it is read again from its
//! start. Known shortcoming: a file truncated and then written past the
//! old position within one look (200 ms) passes for one that grew, and
//! its new start is not read; watching with inotify would resolve it.
//!
//! The position is checkpointed like a Kafka offset, under
//! `file:<path>#<inode>`, and only once the records before it are
//! durable. A restart whose path still names that inode goes on from
//! there; a path that names another file (rotated while vigil was down)
//! is read from its start, and the unread end of the old file is not read.
//! Reading the rotated name (`<path>.1`) would resolve that.
//!
//! Back-pressure: while the pipeline is full, the file is not read.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use anyhow::Context;
use vigil_ingest::read::DeadLetter;
use vigil_ingest::stream::StreamDecoder;
use vigil_ingest::{DecodeConfig, Format};

use super::Msg;
use super::metrics::Metrics;
use super::pipeline::Work;
use super::settings::FileSource;

const WORK_RECORDS: u64 = 4096;
const WORK_WINDOW: Duration = Duration::from_millis(50);
const POLL: Duration = Duration::from_millis(200);

/// The checkpoint key of a file's position.
fn key(path: &Path, inode: u64) -> (String, i32) {
    (format!("file:{}#{inode}", path.display()), 0)
}

/// Start a thread per file. `restored` holds the checkpointed positions.
pub fn start(
    files: &[FileSource],
    decode: &DecodeConfig,
    max_record_bytes: usize,
    restored: &BTreeMap<(String, i32), i64>,
    metrics: &Arc<Metrics>,
    shutdown: &Arc<AtomicBool>,
    tx: &SyncSender<Msg>,
) -> anyhow::Result<Vec<std::thread::JoinHandle<()>>> {
    let mut threads = Vec::new();
    for f in files {
        let format = match &f.format {
            Some(name) => Some(
                Format::from_name(name)
                    .with_context(|| format!("run.files {}: format {name:?}", f.path.display()))?,
            ),
            None => None,
        };
        let mut t = Tail {
            path: f.path.clone(),
            format,
            decode: decode.clone(),
            max: max_record_bytes,
            metrics: metrics.clone(),
            shutdown: shutdown.clone(),
            tx: tx.clone(),
            open: None,
            started: None,
            records: 0,
            dead: Vec::new(),
            late_seen: 0,
        };
        // N.B. the position saved for the inode the path names now, if any.
        if let Ok(md) = std::fs::metadata(&f.path)
            && let Some(pos) = restored.get(&key(&f.path, md.ino()))
        {
            t.open_at(u64::try_from(*pos).unwrap_or(0))
                .with_context(|| format!("run.files: cannot open {}", f.path.display()))?;
        }
        tracing::info!(path = %f.path.display(), position = t.open.as_ref().map_or(0, |o| o.pos), "Following file.");
        threads.push(
            std::thread::Builder::new()
                .name("vigil-tail".into())
                .spawn(move || t.run())?,
        );
    }
    Ok(threads)
}

struct Open {
    r: BufReader<File>,
    inode: u64,
    /// Byte offset after the last whole line read.
    pos: u64,
    /// Line number of the next line.
    line: u64,
    decoder: StreamDecoder,
    /// A line read without its newline yet.
    partial: Vec<u8>,
}

struct Tail {
    path: PathBuf,
    format: Option<Format>,
    decode: DecodeConfig,
    max: usize,
    metrics: Arc<Metrics>,
    shutdown: Arc<AtomicBool>,
    tx: SyncSender<Msg>,
    open: Option<Open>,
    started: Option<Instant>,
    records: u64,
    dead: Vec<DeadLetter>,
    late_seen: u64,
}

impl Tail {
    fn open_at(&mut self, pos: u64) -> std::io::Result<()> {
        let mut f = File::open(&self.path)?;
        let inode = f.metadata()?.ino();
        let pos = pos.min(f.metadata()?.len());
        f.seek(SeekFrom::Start(pos))?;
        self.late_seen = 0;
        self.open = Some(Open {
            r: BufReader::with_capacity(1 << 16, f),
            inode,
            pos,
            line: 1,
            decoder: StreamDecoder::new(
                format!("{}#{inode}", self.path.display()),
                self.format,
                self.decode.clone(),
                self.max,
            ),
            partial: Vec::new(),
        });
        Ok(())
    }

    fn run(&mut self) {
        let mut last_check = Instant::now() - POLL;
        while !self.shutdown.load(Ordering::Relaxed) {
            if self.open.is_none() {
                match self.open_at(0) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        tracing::warn!(path = %self.path.display(), error = %e, "Cannot open file.")
                    }
                }
            }
            let got = self.read_some();
            if self.due() && !self.send() {
                return;
            }
            if got == 0 {
                if last_check.elapsed() >= POLL {
                    last_check = Instant::now();
                    self.check_rotation();
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.send();
    }

    /// Read up to a piece of work's worth of lines; how many were read.
    fn read_some(&mut self) -> u64 {
        let Some(o) = self.open.as_mut() else {
            return 0;
        };
        let mut n = 0;
        let mut buf = Vec::new();
        while n < WORK_RECORDS {
            buf.clear();
            match o.r.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(k) => {
                    if buf.last() != Some(&b'\n') {
                        // N.B. a line still being written: kept until its
                        // newline comes (or the file is rotated away).
                        o.partial.extend_from_slice(&buf);
                        break;
                    }
                    let start = o.pos;
                    o.pos += k as u64;
                    let mut rec = std::mem::take(&mut o.partial);
                    rec.extend_from_slice(&buf[..buf.len() - 1]);
                    if rec.last() == Some(&b'\r') {
                        rec.pop();
                    }
                    let line = o.line;
                    o.line += 1;
                    if rec.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    n += 1;
                    self.records += 1;
                    self.started.get_or_insert_with(Instant::now);
                    if let Err(dl) = o.decoder.push(&rec, line, start) {
                        self.dead.push(*dl);
                    }
                }
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "Read failed.");
                    break;
                }
            }
        }
        n
    }

    fn check_rotation(&mut self) {
        let Some(o) = self.open.as_mut() else {
            return;
        };
        let Ok(md) = std::fs::metadata(&self.path) else {
            return;
        };
        let read_to = o.pos + o.partial.len() as u64;
        if md.ino() != o.inode {
            // Rotated by rename: the old file was read to its end above;
            // what it ends with without a newline is a record of its own.
            let rest = std::mem::take(&mut o.partial);
            if !rest.is_empty() {
                self.records += 1;
                self.started.get_or_insert_with(Instant::now);
                let (line, pos) = (o.line, o.pos);
                if let Err(dl) = o.decoder.push(&rest, line, pos) {
                    self.dead.push(*dl);
                }
            }
            tracing::info!(path = %self.path.display(), "File rotated; reading the new one from its start.");
            if !self.send() {
                return;
            }
            self.open = None;
        } else if md.len() < read_to {
            tracing::info!(path = %self.path.display(), "File truncated; reading it again from its start.");
            if !self.send() {
                return;
            }
            self.open = None;
        }
    }

    fn due(&self) -> bool {
        self.records >= WORK_RECORDS || self.started.is_some_and(|t| t.elapsed() >= WORK_WINDOW)
    }

    /// Hand over what has gathered; false when the pipeline has gone or
    /// the service stops while waiting.
    fn send(&mut self) -> bool {
        let Some(received) = self.started.take() else {
            return true;
        };
        let Some(o) = self.open.as_mut() else {
            return true;
        };
        let batches = o.decoder.flush();
        let late: u64 = o.decoder.stats().iter().map(|(_, s)| s.late).sum();
        let w = Work {
            source: format!("file:{}", self.path.display()).into(),
            batches,
            dead: std::mem::take(&mut self.dead),
            records: std::mem::take(&mut self.records),
            late: late.saturating_sub(self.late_seen),
            offsets: vec![(
                key(&self.path, o.inode),
                i64::try_from(o.pos).unwrap_or(i64::MAX),
            )],
            received,
            decoded: Instant::now(),
            produced_ms: Vec::new(),
        };
        self.late_seen = late;
        super::send_blocking(&self.tx, &self.metrics, &self.shutdown, w)
    }
}
