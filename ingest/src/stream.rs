//! Records that arrive one at a time: a Kafka message, a line POSTed over
//! HTTP, a syslog datagram, a simulator record.
//!
//! A [`StreamDecoder`] belongs to one stream (a Kafka partition, an HTTP
//! endpoint's format, a syslog listener) and keeps, for each format it has
//! seen, a decoder and an [`Emitter`], so stateful formats such as Zeek
//! TSV keep their header across records. The format is fixed per stream
//! or told from each record's content.
//!
//! The stream's name and each record's offset go into the stable event id,
//! so the same message at the same Kafka offset always gives the same
//! `event_uid`, and so the same finding ids, when it is read again after
//! a crash.

use arrow_array::RecordBatch;
use chrono::Utc;
use vigil_schemas::Class;

use crate::decode::{DecodeConfig, Decoder, Record};
use crate::emit::{Emitter, FormatStats};
use crate::format::{Format, sniff};
use crate::read::DeadLetter;

/// How much of a bad record a dead letter keeps.
const SAMPLE: usize = 4096;

/// Decodes the records of one stream.
pub struct StreamDecoder {
    name: String,
    format: Option<Format>,
    cfg: DecodeConfig,
    max_record_bytes: usize,
    lanes: Vec<Lane>,
    unknown: FormatStats,
}

struct Lane {
    format: Format,
    decoder: Box<dyn Decoder>,
    emitter: Emitter,
}

impl StreamDecoder {
    /// A decoder for the stream `name` (used in dead letters and event
    /// ids), reading `format`, or telling each record's format from its
    /// content when `None`.
    pub fn new(
        name: impl Into<String>,
        format: Option<Format>,
        cfg: DecodeConfig,
        max_record_bytes: usize,
    ) -> StreamDecoder {
        StreamDecoder {
            name: name.into(),
            format,
            cfg,
            max_record_bytes,
            lanes: Vec::new(),
            unknown: FormatStats::default(),
        }
    }

    /// The stream's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Decode one record. `line` and `offset` place it in the stream (for
    /// Kafka: the message offset for both). A trailing line ending is
    /// removed; an empty record is skipped.
    ///
    /// # Errors
    ///
    /// A [`DeadLetter`] naming the stream, the offset and the reason: the
    /// record is larger than the limit, is not UTF-8, is of no known
    /// format, or its decoder refused it.
    pub fn push(&mut self, bytes: &[u8], line: u64, offset: u64) -> Result<(), Box<DeadLetter>> {
        let bytes = trim_line_end(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let now = Utc::now().timestamp_micros();
        if bytes.len() > self.max_record_bytes {
            let reason = format!(
                "record of {} bytes is larger than the limit of {} bytes",
                bytes.len(),
                self.max_record_bytes
            );
            return Err(self.refuse(self.format, line, offset, reason, bytes));
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let reason = format!("invalid UTF-8 at byte {} of the record", e.valid_up_to());
                return Err(self.refuse(self.format, line, offset, reason, bytes));
            }
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let Some(format) = self.format.or_else(|| sniff(text.as_bytes())) else {
            let reason = "unknown format: no decoder recognises the content".to_string();
            return Err(self.refuse(None, line, offset, reason, bytes));
        };
        let i = match self.lanes.iter().position(|l| l.format == format) {
            Some(i) => i,
            None => {
                self.lanes.push(Lane {
                    format,
                    decoder: format.decoder(&self.cfg),
                    emitter: Emitter::new(format.name(), &self.name, now),
                });
                self.lanes.len() - 1
            }
        };
        let lane = &mut self.lanes[i];
        lane.emitter.set_clock(now);
        lane.emitter.count_record();
        let rec = Record { text, line, offset };
        match lane.decoder.decode(&rec, &mut lane.emitter) {
            Ok(()) => Ok(()),
            Err(e) => {
                lane.emitter.count_dead_letter();
                Err(Box::new(dead_letter(
                    &self.name,
                    format.name(),
                    line,
                    offset,
                    e.to_string(),
                    bytes,
                )))
            }
        }
    }

    fn refuse(
        &mut self,
        format: Option<Format>,
        line: u64,
        offset: u64,
        reason: String,
        bytes: &[u8],
    ) -> Box<DeadLetter> {
        self.unknown.records += 1;
        self.unknown.dead_letters += 1;
        let name = format.map_or("unknown", Format::name);
        Box::new(dead_letter(&self.name, name, line, offset, reason, bytes))
    }

    /// Batches that are full.
    pub fn take_ready(&mut self) -> Vec<(Class, RecordBatch)> {
        self.lanes
            .iter_mut()
            .flat_map(|l| l.emitter.take_ready())
            .collect()
    }

    /// Everything held, as batches: a live source calls this after each
    /// poll, so rows never wait for a batch to fill.
    pub fn flush(&mut self) -> Vec<(Class, RecordBatch)> {
        self.lanes
            .iter_mut()
            .flat_map(|l| l.emitter.flush())
            .collect()
    }

    /// Counts per format so far; records refused before a format was
    /// known count under `unknown`.
    pub fn stats(&self) -> Vec<(&'static str, FormatStats)> {
        let mut out: Vec<_> = self
            .lanes
            .iter()
            .map(|l| (l.format.name(), l.emitter.stats().clone()))
            .collect();
        if self.unknown.records > 0 {
            out.push(("unknown", self.unknown.clone()));
        }
        out
    }
}

fn trim_line_end(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}

fn dead_letter(
    stream: &str,
    format: &str,
    line: u64,
    offset: u64,
    reason: String,
    bytes: &[u8],
) -> DeadLetter {
    let end = bytes.len().min(SAMPLE);
    DeadLetter {
        file: stream.to_string(),
        line,
        offset,
        format: format.to_string(),
        reason,
        record: String::from_utf8_lossy(&bytes[..end]).into_owned(),
        record_truncated: bytes.len() > SAMPLE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoder(format: Option<Format>) -> StreamDecoder {
        StreamDecoder::new("t/0", format, DecodeConfig::default(), 1000)
    }

    #[test]
    fn each_record_is_told_apart_and_decoded() {
        let mut d = decoder(None);
        let okta = r#"{"uuid":"a1","published":"2026-11-02T10:00:00.000Z","eventType":"user.session.start","actor":{"alternateId":"ann@corp.example","type":"User"},"outcome":{"result":"SUCCESS"},"client":{"ipAddress":"10.0.0.1"}}"#;
        d.push(okta.as_bytes(), 7, 7)
            .expect("an Okta event decodes");
        let batches = d.flush();
        let rows: usize = batches.iter().map(|(_, b)| b.num_rows()).sum();
        assert_eq!(rows, 1);
        assert_eq!(batches[0].0, Class::Authentication);
        assert_eq!(d.stats()[0].0, "okta");
    }

    #[test]
    fn bad_records_are_dead_letters_with_reasons() {
        let mut d = decoder(None);
        let dl = d.push(b"\xff\xfe garbage", 1, 1).expect_err("not UTF-8");
        assert!(dl.reason.starts_with("invalid UTF-8"), "{}", dl.reason);
        assert_eq!(dl.file, "t/0");
        let dl = d.push(&[b'x'; 2000], 2, 2).expect_err("too large");
        assert!(dl.reason.contains("larger than the limit"), "{}", dl.reason);
        assert!(!dl.record_truncated);
        let dl = d
            .push(b"\x01\x02 plainly nothing", 3, 3)
            .expect_err("unknown");
        assert!(dl.reason.starts_with("unknown format"), "{}", dl.reason);
        let mut okta = decoder(Some(Format::Okta));
        let dl = okta
            .push(b"{\"a\":1}", 4, 4)
            .expect_err("wrong shape for Okta");
        assert_eq!(dl.format, "okta");
        let unknown = d.stats();
        assert_eq!(unknown, vec![("unknown", unknown[0].1.clone())]);
        assert_eq!(unknown[0].1.dead_letters, 3);
        assert!(d.push(b"  \r\n", 5, 5).is_ok(), "blank records are skipped");
    }

    #[test]
    fn the_same_record_at_the_same_offset_gets_the_same_id() {
        let line = "<34>1 2026-11-02T10:00:00Z host sshd 42 - - Failed password for root from 10.0.0.9 port 22 ssh2";
        let uid = |offset| {
            let mut d = decoder(Some(Format::Syslog));
            d.push(line.as_bytes(), offset, offset)
                .expect("syslog decodes");
            let (_, b) = d.flush().remove(0);
            let i = b.schema().index_of("event_uid").expect("event_uid column");
            let col = arrow_array::cast::AsArray::as_string::<i32>(b.column(i));
            col.value(0).to_string()
        };
        assert_eq!(uid(5), uid(5));
        assert_ne!(uid(5), uid(6));
    }
}
