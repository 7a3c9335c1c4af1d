//! The decoder contract and what every decoder is handed.

use std::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::emit::Emitter;

/// One framed record: a line, or one JSON value, or one EVTX record
/// rendered as JSON.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// The record's text, without its line ending.
    pub text: &'a str,
    /// 1-based line where the record starts (for EVTX: the record number).
    pub line: u64,
    /// Byte offset of the record in the (decompressed) input.
    pub offset: u64,
}

/// Turns records of one format into class rows.
///
/// # Contract
///
/// - A decoder is made for one input stream (a file, stdin) and sees its
///   records in order, so it may keep state such as a Zeek `#fields` header
///   or a CSV header line.
/// - `decode` writes zero or more rows through [`Emitter::row`]. A record
///   that cannot be decoded returns a [`DecodeError`]; the caller sends it to
///   the dead-letter output and goes on with the next record. A decoder
///   checks the record before it writes rows, so that an error never leaves
///   half a record behind.
/// - A record that is valid but carries no event (a Zeek `#` header, a
///   blank line) returns `Ok(())` with no row.
/// - Every event kept: a record of the right format that is not one of the
///   events the decoder maps to a class goes to
///   [`Class::BaseEvent`](vigil_schemas::Class::BaseEvent) with its fields
///   in `unmapped`.
/// - A decoder never panics on input and never logs.
pub trait Decoder: Send {
    /// Decode one record.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when the record is not of this format or is broken.
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError>;
}

/// Why a record could not be decoded. Display is the dead-letter reason.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes are not valid in the framing (bad JSON, a CSV row with the
    /// wrong number of columns).
    Syntax(String),
    /// The record parses but has the wrong shape for the format (a required
    /// field is missing or of the wrong type).
    Shape(String),
    /// A field holds a value that cannot be read (a bad timestamp).
    Value {
        /// The source field.
        field: String,
        /// What was wrong.
        detail: String,
    },
}

impl DecodeError {
    /// A syntax error.
    pub fn syntax(detail: impl Into<String>) -> Self {
        DecodeError::Syntax(detail.into())
    }

    /// A shape error.
    pub fn shape(detail: impl Into<String>) -> Self {
        DecodeError::Shape(detail.into())
    }

    /// A bad value in `field`.
    pub fn value(field: impl Into<String>, detail: impl Into<String>) -> Self {
        DecodeError::Value {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Syntax(d) => write!(f, "syntax: {d}"),
            DecodeError::Shape(d) => write!(f, "shape: {d}"),
            DecodeError::Value { field, detail } => write!(f, "value of {field}: {detail}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Settings a decoder may need, from config or the command line.
#[derive(Clone, Debug)]
pub struct DecodeConfig {
    /// Time zone of sources whose timestamps carry none (RFC 3164 syslog,
    /// CICFlowMeter CSV). Never guessed: UTC unless configured.
    pub timezone: Tz,
    /// The instant a year-less timestamp is placed nearest to: the file's
    /// modification time for file replay, the clock for live input.
    pub reference_time: DateTime<Utc>,
}

impl Default for DecodeConfig {
    fn default() -> Self {
        DecodeConfig {
            timezone: Tz::UTC,
            reference_time: Utc::now(),
        }
    }
}
