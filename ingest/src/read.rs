//! The decode driver: one input through framing and its decoder, with dead
//! letters for every record that cannot be read.

use std::io::Read;

use arrow_array::RecordBatch;
use chrono::Utc;
use serde::Serialize;
use vigil_schemas::Class;

use crate::decode::{DecodeConfig, Record};
use crate::emit::{Emitter, FormatStats};
use crate::format::{Format, Framing, sniff};
use crate::framing::{Frame, JsonValues, Lines};
use crate::source::Input;

/// A record that could not be decoded, as written to `dlq.ndjson`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct DeadLetter {
    /// The input the record came from.
    pub file: String,
    /// 1-based line of the record's start (EVTX: the record number).
    pub line: u64,
    /// Byte offset of the record's start in the decompressed input.
    pub offset: u64,
    /// The format the record was read as (`unknown` when none fitted).
    pub format: String,
    /// Why it could not be decoded.
    pub reason: String,
    /// The record, up to 4 KiB, lossily as UTF-8.
    pub record: String,
    /// Whether `record` was cut short.
    pub record_truncated: bool,
}

/// What a decode run hands on.
pub enum Output {
    /// A batch of one class.
    Batch(Class, RecordBatch),
    /// A record that could not be decoded.
    DeadLetter(DeadLetter),
}

/// Options for reading inputs.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Force a format instead of sniffing.
    pub format: Option<Format>,
    /// The largest record, in bytes.
    pub max_record_bytes: usize,
    /// Time zone and reference time for the decoders. The reference time is
    /// replaced by each file's modification time.
    pub decode: DecodeConfig,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            max_record_bytes: crate::framing::DEFAULT_MAX_RECORD_BYTES,
            decode: DecodeConfig::default(),
        }
    }
}

const SAMPLE: usize = 4096;

fn dead_letter(
    file: &str,
    format: &str,
    line: u64,
    offset: u64,
    reason: String,
    bytes: &[u8],
) -> DeadLetter {
    let cut = bytes.len() > SAMPLE;
    let end = bytes.len().min(SAMPLE);
    DeadLetter {
        file: file.to_string(),
        line,
        offset,
        format: format.to_string(),
        reason,
        record: String::from_utf8_lossy(&bytes[..end]).into_owned(),
        record_truncated: cut,
    }
}

/// Read one input to its end. Returns the format used and its counts.
///
/// Every record ends as rows or as one dead letter; a read error part way
/// (a truncated gzip stream) ends the input with one more dead letter that
/// says where, and the rows before it are kept.
pub fn read_input(
    input: Input,
    opts: &ReadOptions,
    out: &mut dyn FnMut(Output),
) -> (Option<Format>, FormatStats) {
    let Input {
        name,
        id,
        mtime,
        head,
        mut reader,
        ..
    } = input;
    let Some(format) = opts.format.or_else(|| sniff(&head)) else {
        let reason = "unknown format: no decoder recognises the content (use --format)".into();
        out(Output::DeadLetter(dead_letter(
            &name, "unknown", 1, 0, reason, &head,
        )));
        let stats = FormatStats {
            dead_letters: 1,
            ..FormatStats::default()
        };
        return (None, stats);
    };
    let mut cfg = opts.decode.clone();
    cfg.reference_time = mtime;
    let mut decoder = format.decoder(&cfg);
    let mut em = Emitter::new(format.name(), &id, Utc::now().timestamp_micros());
    let fname = format.name();
    let mut handle = |frame: Frame, em: &mut Emitter| {
        em.count_record();
        match frame {
            Frame::Record { text, line, offset } => {
                let rec = Record {
                    text: &text,
                    line,
                    offset,
                };
                if let Err(e) = decoder.decode(&rec, em) {
                    em.count_dead_letter();
                    let reason = e.to_string();
                    out(Output::DeadLetter(dead_letter(
                        &name,
                        fname,
                        line,
                        offset,
                        reason,
                        text.as_bytes(),
                    )));
                }
            }
            Frame::Bad {
                reason,
                sample,
                line,
                offset,
            } => {
                em.count_dead_letter();
                out(Output::DeadLetter(dead_letter(
                    &name, fname, line, offset, reason, &sample,
                )));
            }
        }
        for (c, b) in em.take_ready() {
            out(Output::Batch(c, b));
        }
    };
    let res = match format.framing() {
        Framing::Lines => {
            let mut f = Lines::new(&mut reader, opts.max_record_bytes);
            loop {
                match f.next_frame() {
                    Ok(Some(frame)) => handle(frame, &mut em),
                    Ok(None) => break Ok(()),
                    Err(e) => break Err((e, f.position())),
                }
            }
        }
        Framing::Json => {
            let mut f = JsonValues::new(&mut reader, opts.max_record_bytes);
            loop {
                match f.next_frame() {
                    Ok(Some(frame)) => handle(frame, &mut em),
                    Ok(None) => break Ok(()),
                    Err(e) => break Err((e, f.position())),
                }
            }
        }
        Framing::Evtx => read_evtx(
            &mut reader,
            &mut |frame, em: &mut Emitter| handle(frame, em),
            &mut em,
        ),
    };
    if let Err((e, (line, offset))) = res {
        em.count_dead_letter();
        let reason = format!("input ended with a read error: {e}");
        out(Output::DeadLetter(dead_letter(
            &name, fname, line, offset, reason, b"",
        )));
    }
    for (c, b) in em.flush() {
        out(Output::Batch(c, b));
    }
    (Some(format), em.stats().clone())
}

/// Size of the EVTX file header, which the first chunk follows.
const EVTX_HEADER_BYTES: u64 = 4096;
/// Size of one EVTX chunk.
const EVTX_CHUNK_BYTES: u64 = 65536;

type EvtxHandler<'a> = dyn FnMut(Frame, &mut Emitter) + 'a;

/// Binary EVTX: each record rendered as JSON (`#attributes` style) is one
/// frame. The evtx parser needs to seek, so the file is read into memory;
/// EVTX files are bounded by the event log's configured maximum size.
fn read_evtx(
    reader: &mut Box<dyn std::io::BufRead + Send>,
    handle: &mut EvtxHandler<'_>,
    em: &mut Emitter,
) -> Result<(), (std::io::Error, (u64, u64))> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(|e| (e, (0, 0)))?;
    let settings = evtx::ParserSettings::default();
    let len = bytes.len() as u64;
    let mut parser = match evtx::EvtxParser::from_buffer(bytes) {
        Ok(p) => p.with_configuration(settings),
        Err(e) => {
            let reason = format!("not a readable EVTX file: {e}");
            handle(
                Frame::Bad {
                    reason,
                    sample: Vec::new(),
                    line: 0,
                    offset: 0,
                },
                em,
            );
            return Ok(());
        }
    };
    // N.B. the parser reads whatever whole chunks a cut-off file still has
    // and says nothing of the rest: compare with the header's chunk count.
    let declared = u64::from(parser.header().chunk_count);
    let present = len.saturating_sub(EVTX_HEADER_BYTES) / EVTX_CHUNK_BYTES;
    if present < declared {
        let reason = format!(
            "EVTX file ends early: its header declares {declared} chunks of 64 KiB, \
             the file holds {present}; records in the missing chunks are lost"
        );
        let offset = EVTX_HEADER_BYTES + present * EVTX_CHUNK_BYTES;
        handle(
            Frame::Bad {
                reason,
                sample: Vec::new(),
                line: 0,
                offset,
            },
            em,
        );
    }
    for (i, rec) in parser.records_json().enumerate() {
        let frame = match rec {
            Ok(r) => Frame::Record {
                text: r.data,
                line: r.event_record_id,
                offset: i as u64,
            },
            Err(e) => Frame::Bad {
                reason: format!("EVTX record cannot be read: {e}"),
                sample: Vec::new(),
                line: 0,
                offset: i as u64,
            },
        };
        handle(frame, em);
    }
    Ok(())
}
