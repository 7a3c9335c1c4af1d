//! `vigil bench decode`: decoder throughput on one core, from memory.
//!
//! Each file is read into memory first (and decompressed), then decoded
//! `--repeat` times through the same framing, decoder and batch building
//! as `replay`, without enrichment or the lake, so the figure is the
//! decoder's own. Peak memory is the process high-water mark.

use std::io::{Cursor, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use vigil_ingest::Format;
use vigil_ingest::read::{Output, ReadOptions, read_input};
use vigil_ingest::source::{self, ByteCounter, Input};

#[derive(Args)]
pub struct DecodeArgs {
    /// Files to decode (directories are read recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Decode each file this many times, to measure over more bytes.
    #[arg(long, default_value_t = 20)]
    repeat: u32,
    /// Force a format instead of telling it from content.
    #[arg(long)]
    format: Option<String>,
}

pub fn decode(a: DecodeArgs) -> anyhow::Result<()> {
    let format = match &a.format {
        Some(f) => Some(Format::from_name(f).with_context(|| format!("unknown format {f:?}"))?),
        None => None,
    };
    let opts = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    let _ = writeln!(
        std::io::stdout(),
        "{:<48} {:<18} {:>10} {:>12} {:>10} {:>12}",
        "file",
        "format",
        "MB",
        "records",
        "MB/s",
        "events/s"
    );
    for path in source::expand(&a.paths)? {
        let bytes: Arc<[u8]> = load(&path)?.into();
        let (mut records, mut rows, mut used) = (0u64, 0u64, None);
        let start = Instant::now();
        for _ in 0..a.repeat {
            let input = memory_input(&path, &bytes);
            let (f, stats) = read_input(input, &opts, &mut |o| {
                if let Output::Batch(_, b) = o {
                    rows += b.num_rows() as u64;
                }
            });
            records += stats.records;
            used = f;
        }
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let mb = bytes.len() as f64 * f64::from(a.repeat) / 1e6;
        let name = path
            .file_name()
            .map_or(String::new(), |n| n.to_string_lossy().into());
        let _ = writeln!(
            std::io::stdout(),
            "{:<48} {:<18} {:>10.1} {:>12} {:>10.1} {:>12.0}",
            truncate(&name, 48),
            used.map_or("unknown", |f| f.name()),
            mb,
            records,
            mb / secs,
            rows as f64 / secs
        );
    }
    let _ = writeln!(std::io::stdout(), "peak memory: {} MiB", peak_rss_mib());
    Ok(())
}

fn load(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    let input = source::open(path, &ByteCounter::default())?;
    let mut bytes = Vec::new();
    let mut r = input.reader;
    r.read_to_end(&mut bytes)
        .with_context(|| format!("{}", path.display()))?;
    Ok(bytes)
}

fn memory_input(path: &std::path::Path, bytes: &Arc<[u8]>) -> Input {
    let head = bytes[..bytes.len().min(source::SNIFF_BYTES)].to_vec();
    Input {
        name: path.display().to_string(),
        id: path.display().to_string(),
        mtime: chrono::Utc::now(),
        head,
        // N.B. `Cursor` is its own `BufRead`: no copy before framing.
        reader: Box::new(Cursor::new(bytes.clone())),
        gzip: false,
        path: None,
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// The process's peak resident memory, from /proc (0 where unavailable).
pub fn peak_rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}
