//! The Parquet lake: `<root>/<class>/date=YYYY-MM-DD/hour=HH/*.parquet`.
//!
//! Hive-style partitions by the event's `time` (UTC), zstd-compressed,
//! which DuckDB, Trino, Spark and Athena read as they are. Rows are written
//! as they arrive: each open file flushes a row group every
//! [`ROW_GROUP_ROWS`] rows or [`ROW_GROUP_BYTES`] bytes, and at most [`MAX_OPEN_FILES`] files are open at
//! once (the least recently written is closed first), so memory stays
//! bounded whatever the input size.
//!
//! A file being written is named `*.parquet.inprogress` and renamed when it
//! is closed, so a reader never sees half a file and a crash leaves only
//! files that readers skip.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::TimestampMicrosecondType;
use chrono::{DateTime, Datelike, Timelike};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use vigil_schemas::Class;

use crate::SinkError;

/// Rows per Parquet row group.
pub const ROW_GROUP_ROWS: usize = 64 * 1024;
/// Buffered bytes of a row group before it is flushed: with at most
/// [`MAX_OPEN_FILES`] files open, this bounds the lake's memory (32 × 8 MiB)
/// whatever the input size; wide records (Windows events carry their whole
/// raw record) reach it long before [`ROW_GROUP_ROWS`].
pub const ROW_GROUP_BYTES: usize = 8 << 20;
/// Row groups per file before it is closed and a new one started: a writer
/// keeps the metadata of every row group it wrote until it closes, so
/// rotating files keeps that bounded too.
pub const FILE_ROW_GROUPS: usize = 32;
/// Rows per file before it is closed and a new one started.
pub const FILE_ROWS: usize = 1 << 20;
/// Files open at once.
pub const MAX_OPEN_FILES: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PartKey {
    class: Class,
    date: String,
    hour: u32,
}

struct OpenFile {
    writer: ArrowWriter<File>,
    tmp: PathBuf,
    done: PathBuf,
    rows: usize,
    last_use: u64,
}

/// Counts of what the lake wrote.
#[derive(Clone, Debug, Default)]
pub struct LakeStats {
    /// Files closed.
    pub files: u64,
    /// Rows written, per class.
    pub rows: HashMap<Class, u64>,
}

/// Writes class batches into the lake.
pub struct LakeWriter {
    root: PathBuf,
    run: String,
    seq: u64,
    tick: u64,
    open: HashMap<PartKey, OpenFile>,
    stats: LakeStats,
}

impl LakeWriter {
    /// A writer under `root`, creating it. `run` names this run's files
    /// (`part-<run>-<n>.parquet`) so that runs never overwrite each other.
    ///
    /// # Errors
    ///
    /// The directory cannot be created.
    pub fn create(root: &Path, run: &str) -> Result<LakeWriter, SinkError> {
        fs::create_dir_all(root).map_err(|e| SinkError::io(root, e))?;
        Ok(LakeWriter {
            root: root.to_path_buf(),
            run: run.to_string(),
            seq: 0,
            tick: 0,
            open: HashMap::new(),
            stats: LakeStats::default(),
        })
    }

    /// Write a batch of `class`, split by hour of `time`.
    ///
    /// # Errors
    ///
    /// A file cannot be created or written.
    pub fn write(&mut self, class: Class, batch: &RecordBatch) -> Result<(), SinkError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        for (key, rows) in partition(class, batch) {
            let part = if rows.len() == batch.num_rows() {
                batch.clone()
            } else {
                let idx = UInt32Array::from(rows);
                take_record_batch(batch, &idx).map_err(SinkError::arrow)?
            };
            self.write_part(key, &part)?;
        }
        Ok(())
    }

    fn write_part(&mut self, key: PartKey, part: &RecordBatch) -> Result<(), SinkError> {
        self.tick += 1;
        if !self.open.contains_key(&key) {
            if self.open.len() >= MAX_OPEN_FILES {
                self.close_oldest()?;
            }
            let f = self.open_file(&key, part)?;
            self.open.insert(key.clone(), f);
        }
        let tick = self.tick;
        let Some(f) = self.open.get_mut(&key) else {
            return Ok(());
        };
        f.writer.write(part).map_err(SinkError::parquet)?;
        if f.writer.in_progress_size() >= ROW_GROUP_BYTES {
            f.writer.flush().map_err(SinkError::parquet)?;
        }
        f.rows += part.num_rows();
        f.last_use = tick;
        *self.stats.rows.entry(key.class).or_default() += part.num_rows() as u64;
        if f.rows >= FILE_ROWS || f.writer.flushed_row_groups().len() >= FILE_ROW_GROUPS {
            self.close(&key)?;
        }
        Ok(())
    }

    fn open_file(&mut self, key: &PartKey, part: &RecordBatch) -> Result<OpenFile, SinkError> {
        let dir = self
            .root
            .join(key.class.name())
            .join(format!("date={}", key.date))
            .join(format!("hour={:02}", key.hour));
        fs::create_dir_all(&dir).map_err(|e| SinkError::io(&dir, e))?;
        self.seq += 1;
        let done = dir.join(format!("part-{}-{:05}.parquet", self.run, self.seq));
        let tmp = done.with_extension("parquet.inprogress");
        let file = File::create(&tmp).map_err(|e| SinkError::io(&tmp, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let writer =
            ArrowWriter::try_new(file, part.schema(), Some(props)).map_err(SinkError::parquet)?;
        Ok(OpenFile {
            writer,
            tmp,
            done,
            rows: 0,
            last_use: self.tick,
        })
    }

    fn close_oldest(&mut self) -> Result<(), SinkError> {
        let oldest = self
            .open
            .iter()
            .min_by_key(|(_, f)| f.last_use)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => self.close(&k),
            None => Ok(()),
        }
    }

    fn close(&mut self, key: &PartKey) -> Result<(), SinkError> {
        let Some(f) = self.open.remove(key) else {
            return Ok(());
        };
        f.writer.close().map_err(SinkError::parquet)?;
        fs::rename(&f.tmp, &f.done).map_err(|e| SinkError::io(&f.done, e))?;
        self.stats.files += 1;
        Ok(())
    }

    /// Close every open file and go on: what was written so far is then in
    /// finished files that survive a crash (a checkpoint calls this).
    ///
    /// # Errors
    ///
    /// A file cannot be finished or renamed.
    pub fn close_open_files(&mut self) -> Result<(), SinkError> {
        let keys: Vec<PartKey> = self.open.keys().cloned().collect();
        for k in keys {
            self.close(&k)?;
        }
        Ok(())
    }

    /// Close every open file.
    ///
    /// # Errors
    ///
    /// A file cannot be finished or renamed.
    pub fn finish(mut self) -> Result<LakeStats, SinkError> {
        let keys: Vec<PartKey> = self.open.keys().cloned().collect();
        for k in keys {
            self.close(&k)?;
        }
        Ok(std::mem::take(&mut self.stats))
    }
}

/// Row indices of `batch` per hour partition, in first-seen order.
fn partition(class: Class, batch: &RecordBatch) -> Vec<(PartKey, Vec<u32>)> {
    let mut parts: Vec<(PartKey, Vec<u32>)> = Vec::new();
    let Some(col) = batch.column_by_name("time") else {
        return vec![(key_of(class, None), (0..batch.num_rows() as u32).collect())];
    };
    let times = col.as_primitive::<TimestampMicrosecondType>();
    let mut last: Option<(i64, usize)> = None;
    for i in 0..times.len() {
        let t = (!times.is_null(i)).then(|| times.value(i));
        let hour = t.map(|t| t.div_euclid(3_600_000_000));
        let slot = match (last, hour) {
            (Some((h, s)), Some(hh)) if h == hh => s,
            _ => {
                let key = key_of(class, t);
                let s = match parts.iter().position(|(k, _)| *k == key) {
                    Some(s) => s,
                    None => {
                        parts.push((key, Vec::new()));
                        parts.len() - 1
                    }
                };
                if let Some(hh) = hour {
                    last = Some((hh, s));
                }
                s
            }
        };
        parts[slot].1.push(i as u32);
    }
    parts
}

fn key_of(class: Class, t: Option<i64>) -> PartKey {
    match t.and_then(DateTime::from_timestamp_micros) {
        Some(t) => PartKey {
            class,
            date: format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day()),
            hour: t.hour(),
        },
        None => PartKey {
            class,
            date: "1970-01-01".into(),
            hour: 0,
        },
    }
}
