//! Where decoders put rows: per-class builders, flushed into batches, with
//! the event-time bookkeeping of DESIGN.md (watermark, late, future).

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMicrosecondType;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use vigil_schemas::{BatchBuilder, Class, Field, Row};

use crate::decode::Record;

/// Rows a builder holds before it is flushed into a batch.
pub const BATCH_ROWS: usize = 8192;
/// Text bytes a builder holds before it is flushed.
pub const BATCH_BYTES: usize = 8 << 20;
/// How far behind the newest event time an event may be before it counts
/// as late (DESIGN.md: 5 s by default).
pub const ALLOWED_LATENESS_US: i64 = 5_000_000;
/// How far ahead of the clock an event time may be before it is clamped.
pub const FUTURE_SKEW_US: i64 = 5 * 60 * 1_000_000;

/// Counts for one format over a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormatStats {
    /// Records framed and handed to the decoder.
    pub records: u64,
    /// Rows written, per class table name.
    pub rows: BTreeMap<&'static str, u64>,
    /// Records sent to the dead-letter output.
    pub dead_letters: u64,
    /// Rows whose event time was behind the watermark.
    pub late: u64,
    /// Rows whose event time was in the future and was clamped to the clock.
    pub future_clamped: u64,
    /// Rows with no event time; they take the ingest time.
    pub time_missing: u64,
}

impl FormatStats {
    /// Add another run's counts to these.
    pub fn merge(&mut self, o: &FormatStats) {
        self.records += o.records;
        for (k, v) in &o.rows {
            *self.rows.entry(k).or_default() += v;
        }
        self.dead_letters += o.dead_letters;
        self.late += o.late;
        self.future_clamped += o.future_clamped;
        self.time_missing += o.time_missing;
    }
}

/// Collects the rows of one input stream.
///
/// The driver hands it to the decoder with each record; full batches are
/// taken with [`Emitter::take_ready`].
pub struct Emitter {
    builders: Vec<Option<BatchBuilder>>,
    ready: Vec<(Class, RecordBatch)>,
    format: &'static str,
    source: Arc<str>,
    ingest_us: i64,
    now_us: i64,
    max_time_us: Vec<i64>,
    row_in_record: u64,
    last_offset: u64,
    stats: FormatStats,
}

impl Emitter {
    /// An emitter for records of `format` read from `source` (a file's base
    /// name or `stdin`, used in stable event ids), at `ingest_us`.
    pub fn new(format: &'static str, source: &str, ingest_us: i64) -> Emitter {
        Emitter {
            builders: Class::ALL.iter().map(|_| None).collect(),
            ready: Vec::new(),
            format,
            source: source.into(),
            ingest_us,
            now_us: ingest_us,
            max_time_us: vec![i64::MIN; Class::ALL.len()],
            row_in_record: 0,
            last_offset: u64::MAX,
            stats: FormatStats::default(),
        }
    }

    /// Set the ingest time and the clock for the rows that follow: a
    /// live source calls this as records arrive, where a file has one
    /// ingest time for all its rows.
    pub fn set_clock(&mut self, now_us: i64) {
        self.ingest_us = now_us;
        self.now_us = now_us;
    }

    /// The format name this emitter counts under.
    pub fn format(&self) -> &'static str {
        self.format
    }

    /// Start a row of `class` for `rec`.
    ///
    /// The row comes with `ingest_time`, `raw_data` (the record's text) and
    /// `event_uid` (a hash of source, offset, text and the row's index
    /// within the record) already set, and as the first value set wins, a
    /// decoder cannot change them. The decoder sets `time`,
    /// `metadata_product_name` and `metadata_log_name` on every row.
    pub fn row(&mut self, rec: &Record<'_>, class: Class) -> Row<'_> {
        if rec.offset != self.last_offset {
            self.last_offset = rec.offset;
            self.row_in_record = 0;
        }
        let uid = event_uid_hex(&self.source, rec, self.row_in_record);
        self.row_in_record += 1;
        *self.stats.rows.entry(class.name()).or_default() += 1;
        let b = self.builders[class.index()].get_or_insert_with(|| BatchBuilder::new(class));
        if b.len() >= BATCH_ROWS || b.approx_bytes() >= BATCH_BYTES {
            let batch = b.finish();
            self.ready.push((class, batch));
        }
        let b = self.builders[class.index()].get_or_insert_with(|| BatchBuilder::new(class));
        let mut row = b.row();
        row.time_us(Field::IngestTime, self.ingest_us);
        row.str(Field::EventUid, uid.as_str());
        row.raw(rec.text);
        row
    }

    /// Count a record handed to the decoder.
    pub fn count_record(&mut self) {
        self.stats.records += 1;
    }

    /// Count a dead letter.
    pub fn count_dead_letter(&mut self) {
        self.stats.dead_letters += 1;
    }

    /// Batches that are full, after event-time checks.
    pub fn take_ready(&mut self) -> Vec<(Class, RecordBatch)> {
        let ready = std::mem::take(&mut self.ready);
        ready
            .into_iter()
            .map(|(c, b)| (c, self.check_times(c, b)))
            .collect()
    }

    /// Everything still held, as batches, after event-time checks.
    pub fn flush(&mut self) -> Vec<(Class, RecordBatch)> {
        for slot in &mut self.builders {
            if let Some(b) = slot
                && !b.is_empty()
            {
                let class = b.class();
                let batch = b.finish();
                self.ready.push((class, batch));
            }
        }
        self.take_ready()
    }

    /// The counts so far.
    pub fn stats(&self) -> &FormatStats {
        &self.stats
    }

    /// Fill missing times with the ingest time, clamp future times to the
    /// clock, and count late rows against the watermark (newest event time
    /// seen minus the allowed lateness). Late rows are kept.
    fn check_times(&mut self, class: Class, batch: RecordBatch) -> RecordBatch {
        let schema = batch.schema();
        let Ok(ti) = schema.index_of("time") else {
            return batch;
        };
        let times = batch.column(ti).as_primitive::<TimestampMicrosecondType>();
        let mut changed = false;
        let mut quality: Vec<Option<&'static str>> = vec![None; times.len()];
        let mut out: Vec<i64> = Vec::with_capacity(times.len());
        for (i, t) in times.iter().enumerate() {
            let t = match t {
                None => {
                    self.stats.time_missing += 1;
                    changed = true;
                    quality[i] = Some("missing");
                    self.ingest_us
                }
                Some(t) if t > self.now_us + FUTURE_SKEW_US => {
                    self.stats.future_clamped += 1;
                    changed = true;
                    quality[i] = Some("clamped_future");
                    self.now_us
                }
                Some(t) => t,
            };
            let max = &mut self.max_time_us[class.index()];
            if *max != i64::MIN && t < *max - ALLOWED_LATENESS_US {
                self.stats.late += 1;
            }
            *max = (*max).max(t);
            out.push(t);
        }
        if !changed {
            return batch;
        }
        let mut cols: Vec<ArrayRef> = batch.columns().to_vec();
        cols[ti] = Arc::new(TimestampMicrosecondArray::from(out).with_timezone("UTC"));
        if let Ok(qi) = schema.index_of(Field::MetadataTimeQuality.name()) {
            let old = cols[qi].as_string::<i32>();
            let merged: StringArray = (0..old.len())
                .map(|i| quality[i].or((!old.is_null(i)).then(|| old.value(i))))
                .collect();
            cols[qi] = Arc::new(merged);
        }
        RecordBatch::try_new(schema, cols).unwrap_or(batch)
    }
}

/// A stable id for the `n`-th row of a record: the same input always gives
/// the same id, on any machine and in any directory.
pub fn event_uid(source: &str, rec: &Record<'_>, n: u64) -> String {
    String::from(event_uid_hex(source, rec, n).as_str())
}

/// A 32-character lower-case hex id, on the stack.
pub struct HexId([u8; 32]);

impl HexId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        // N.B. only ASCII hex digits are ever written into the array.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// [`event_uid`] without an allocation.
pub fn event_uid_hex(source: &str, rec: &Record<'_>, n: u64) -> HexId {
    use xxhash_rust::xxh3::Xxh3;
    let mut h = Xxh3::new();
    h.update(source.as_bytes());
    h.update(&[0]);
    h.update(&rec.offset.to_le_bytes());
    h.update(rec.text.as_bytes());
    h.update(&n.to_le_bytes());
    let v = h.digest128();
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        let nib = (v >> (124 - 4 * i)) & 0xf;
        *b = b"0123456789abcdef"[nib as usize];
    }
    HexId(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_stable_hex_and_differ_by_row_and_record() {
        let rec = Record {
            text: "{\"a\":1}",
            line: 1,
            offset: 0,
        };
        let a = event_uid("f.json", &rec, 0);
        assert_eq!(a.len(), 32);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_eq!(a, event_uid("f.json", &rec, 0));
        assert_ne!(a, event_uid("f.json", &rec, 1));
        assert_ne!(a, event_uid("g.json", &rec, 0));
        let moved = Record { offset: 8, ..rec };
        assert_ne!(a, event_uid("f.json", &moved, 0));
    }
}
