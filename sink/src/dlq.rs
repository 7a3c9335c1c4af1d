//! The dead-letter file: one JSON object per line, `<out>/dlq.ndjson`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::SinkError;

/// Appends dead letters as NDJSON.
pub struct DeadLetterFile {
    path: PathBuf,
    out: BufWriter<File>,
    count: u64,
}

impl DeadLetterFile {
    /// Create (or truncate) the file at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be created.
    pub fn create(path: &Path) -> Result<DeadLetterFile, SinkError> {
        let f = File::create(path).map_err(|e| SinkError::io(path, e))?;
        Ok(DeadLetterFile {
            path: path.to_path_buf(),
            out: BufWriter::new(f),
            count: 0,
        })
    }

    /// Open the file at `path` to add to it, creating it when missing (a
    /// service that restarts keeps the dead letters it wrote before).
    ///
    /// # Errors
    ///
    /// The file cannot be opened.
    pub fn append(path: &Path) -> Result<DeadLetterFile, SinkError> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| SinkError::io(path, e))?;
        Ok(DeadLetterFile {
            path: path.to_path_buf(),
            out: BufWriter::new(f),
            count: 0,
        })
    }

    /// Make what was written so far durable (a checkpoint calls this).
    ///
    /// # Errors
    ///
    /// The write or the sync fails.
    pub fn flush(&mut self) -> Result<(), SinkError> {
        self.out.flush().map_err(|e| SinkError::io(&self.path, e))?;
        self.out
            .get_ref()
            .sync_data()
            .map_err(|e| SinkError::io(&self.path, e))
    }

    /// Append one dead letter, already as JSON.
    ///
    /// # Errors
    ///
    /// The write fails.
    pub fn push(&mut self, v: &Value) -> Result<(), SinkError> {
        serde_json::to_writer(&mut self.out, v).map_err(|e| SinkError::io(&self.path, e.into()))?;
        self.out
            .write_all(b"\n")
            .map_err(|e| SinkError::io(&self.path, e))?;
        self.count += 1;
        Ok(())
    }

    /// Dead letters written.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Flush to disk.
    ///
    /// # Errors
    ///
    /// The flush fails.
    pub fn finish(mut self) -> Result<u64, SinkError> {
        self.out.flush().map_err(|e| SinkError::io(&self.path, e))?;
        Ok(self.count)
    }
}
