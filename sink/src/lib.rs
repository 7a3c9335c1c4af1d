//! vigil sinks: where class batches go.
//!
//! - [`lake::LakeWriter`]: the hive-partitioned Parquet lake.
//! - [`dlq::DeadLetterFile`]: records that could not be decoded, as NDJSON.
//! - [`findings::FindingsFile`]: findings as OCSF JSON lines.
//! - [`sql`]: DataFusion over the lake, one table per class.
//!
//! SIEM and enforcement outputs and the live window store join this crate
//! with their issues.

use std::fmt;
use std::path::Path;

pub mod dlq;
pub mod findings;
pub mod lake;
pub mod sql;

/// What went wrong in a sink, by who must act.
#[derive(Debug)]
#[non_exhaustive]
pub enum SinkError {
    /// A file or directory could not be used: the operator must act.
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing Parquet failed.
    Parquet(parquet::errors::ParquetError),
    /// An Arrow operation failed (an internal fault: please report it).
    Arrow(arrow::error::ArrowError),
    /// A query could not be planned or run: the user must fix the SQL.
    Query(datafusion::error::DataFusionError),
    /// A setting is wrong.
    Config(String),
}

impl SinkError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        SinkError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn parquet(e: parquet::errors::ParquetError) -> Self {
        SinkError::Parquet(e)
    }

    pub(crate) fn arrow(e: arrow::error::ArrowError) -> Self {
        SinkError::Arrow(e)
    }

    pub(crate) fn query(e: datafusion::error::DataFusionError) -> Self {
        SinkError::Query(e)
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkError::Io { path, source } => write!(f, "sink: {path}: {source}"),
            SinkError::Parquet(e) => write!(f, "lake: parquet: {e}"),
            SinkError::Arrow(e) => write!(f, "sink: arrow: {e}"),
            SinkError::Query(e) => write!(f, "sql: {e}"),
            SinkError::Config(m) => write!(f, "sink: {m}"),
        }
    }
}

impl std::error::Error for SinkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SinkError::Io { source, .. } => Some(source),
            SinkError::Parquet(e) => Some(e),
            SinkError::Arrow(e) => Some(e),
            SinkError::Query(e) => Some(e),
            SinkError::Config(_) => None,
        }
    }
}
