//! The findings file: `<out>/findings.ndjson`, one OCSF Detection Finding
//! (class 2004) per line, as nested OCSF JSON (see
//! [`vigil_schemas::json`]).
//!
//! Each batch is flushed as it is written: findings are few, and one that
//! was reported must not sit in a buffer when the process dies.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;

use crate::SinkError;

/// Appends finding rows as OCSF JSON lines.
pub struct FindingsFile {
    path: PathBuf,
    out: File,
    count: u64,
    buf: Vec<u8>,
}

impl FindingsFile {
    /// Open the file at `path`: truncated, or added to when `append`.
    ///
    /// # Errors
    ///
    /// The file cannot be created or opened.
    pub fn open(path: &Path, append: bool) -> Result<FindingsFile, SinkError> {
        let mut o = OpenOptions::new();
        o.create(true);
        if append {
            o.append(true);
        } else {
            o.write(true).truncate(true);
        }
        let out = o.open(path).map_err(|e| SinkError::io(path, e))?;
        Ok(FindingsFile {
            path: path.to_path_buf(),
            out,
            count: 0,
            buf: Vec::new(),
        })
    }

    /// Write every row of a `detection_finding` batch.
    ///
    /// # Errors
    ///
    /// The write fails.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), SinkError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.buf.clear();
        vigil_schemas::json::batch_to_ndjson(batch, &mut self.buf);
        self.out
            .write_all(&self.buf)
            .map_err(|e| SinkError::io(&self.path, e))?;
        self.count += batch.num_rows() as u64;
        Ok(())
    }

    /// Findings written by this run.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Make what was written so far durable (a checkpoint calls this).
    ///
    /// # Errors
    ///
    /// The sync fails.
    pub fn flush(&mut self) -> Result<(), SinkError> {
        self.out
            .sync_data()
            .map_err(|e| SinkError::io(&self.path, e))
    }

    /// Flush to disk.
    ///
    /// # Errors
    ///
    /// The sync fails.
    pub fn finish(self) -> Result<u64, SinkError> {
        self.out
            .sync_data()
            .map_err(|e| SinkError::io(&self.path, e))?;
        Ok(self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_schemas::{BatchBuilder, Class, Field};

    fn one_finding(uid: &str) -> RecordBatch {
        let mut b = BatchBuilder::new(Class::DetectionFinding);
        let mut r = b.row();
        r.str(Field::FindingInfoUid, uid);
        r.finish();
        b.finish()
    }

    #[test]
    fn rows_are_lines_and_append_keeps_earlier_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("findings.ndjson");
        let mut f = FindingsFile::open(&path, false).expect("open");
        f.write(&one_finding("a")).expect("write");
        assert_eq!(f.finish().expect("finish"), 1);
        let mut f = FindingsFile::open(&path, true).expect("open");
        f.write(&one_finding("b")).expect("write");
        f.finish().expect("finish");
        let text = std::fs::read_to_string(&path).expect("read");
        let uids: Vec<String> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
                v["finding_info"]["uid"].as_str().unwrap_or("").to_string()
            })
            .collect();
        assert_eq!(uids, ["a", "b"]);
        let f = FindingsFile::open(&path, false).expect("open");
        f.finish().expect("finish");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "");
    }
}
