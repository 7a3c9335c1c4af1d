//! Cutting a byte stream into records, with a size limit.
//!
//! Two framings cover every text format: lines ([`Lines`]) and JSON values
//! ([`JsonValues`], which reads NDJSON, concatenated or pretty-printed
//! objects and top-level arrays alike). Both hold at most one record in
//! memory, and a record over the limit is skipped to its end and reported,
//! never truncated silently and never buffered whole (see edge case BH-32).

use std::io::{self, BufRead};

/// The default largest record, in bytes.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1 << 20;

/// What the framer found next.
#[derive(Debug)]
pub enum Frame {
    /// A record (UTF-8 checked).
    Record {
        /// The text.
        text: String,
        /// 1-based line of its start.
        line: u64,
        /// Byte offset of its start.
        offset: u64,
    },
    /// Bytes that cannot be a record: the reason and a prefix of them.
    Bad {
        /// Why.
        reason: String,
        /// Up to 4 KiB of the bytes, for the dead letter.
        sample: Vec<u8>,
        /// 1-based line.
        line: u64,
        /// Byte offset.
        offset: u64,
    },
}

/// Bytes of a bad record kept for its dead letter: the 4 KiB shown, plus
/// one so the dead letter can tell it was cut.
const SAMPLE: usize = 4096 + 1;

fn checked(bytes: Vec<u8>, line: u64, offset: u64) -> Frame {
    match String::from_utf8(bytes) {
        Ok(text) => Frame::Record { text, line, offset },
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let mut sample = e.into_bytes();
            sample.truncate(SAMPLE);
            Frame::Bad {
                reason: format!("invalid UTF-8 at byte {at} of the record"),
                sample,
                line,
                offset,
            }
        }
    }
}

/// Newline-framed records. `\r\n` endings lose the `\r`; blank lines are
/// skipped.
pub struct Lines<R> {
    r: R,
    max: usize,
    line: u64,
    offset: u64,
    /// A read error met after a complete line: that line is handed out
    /// first, and the error on the next call, so no record is lost to it.
    pending: Option<io::Error>,
}

impl<R: BufRead> Lines<R> {
    /// The current 1-based line and byte offset.
    pub fn position(&self) -> (u64, u64) {
        (self.line, self.offset)
    }

    /// Lines of `r`, each at most `max` bytes.
    pub fn new(r: R, max: usize) -> Self {
        Lines {
            r,
            max,
            line: 0,
            offset: 0,
            pending: None,
        }
    }

    /// The next frame, or `None` at the end.
    ///
    /// # Errors
    ///
    /// I/O errors of the underlying reader (a truncated gzip stream).
    pub fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if self.offset == 0 && self.r.fill_buf()?.starts_with(&[0xEF, 0xBB, 0xBF]) {
            // A UTF-8 byte order mark is not part of the first record.
            self.r.consume(3);
            self.offset = 3;
        }
        loop {
            let start = self.offset;
            self.line += 1;
            let mut buf = Vec::new();
            let (mut total, mut ended) = (0usize, false);
            loop {
                let avail = match self.r.fill_buf() {
                    Ok(a) => a,
                    Err(e) if total > 0 => {
                        self.pending = Some(e);
                        break;
                    }
                    Err(e) => return Err(e),
                };
                if avail.is_empty() {
                    break;
                }
                let (n, done) = match memchr::memchr(b'\n', avail) {
                    Some(i) => (i + 1, true),
                    None => (avail.len(), false),
                };
                let body = if done { n - 1 } else { n };
                if total + body <= self.max.saturating_add(1) {
                    buf.extend_from_slice(&avail[..body]);
                } else if buf.len() < SAMPLE {
                    let room = SAMPLE.saturating_sub(buf.len()).min(body);
                    buf.extend_from_slice(&avail[..room]);
                }
                total += body;
                self.r.consume(n);
                self.offset += n as u64;
                if done {
                    ended = true;
                    break;
                }
            }
            if total == 0 && !ended {
                return Ok(None);
            }
            if total <= self.max.saturating_add(1) && buf.last() == Some(&b'\r') {
                buf.pop();
                total -= 1;
            }
            if total > self.max {
                buf.truncate(SAMPLE);
                let reason = format!(
                    "record of {total} bytes exceeds the limit of {} bytes",
                    self.max
                );
                return Ok(Some(Frame::Bad {
                    reason,
                    sample: buf,
                    line: self.line,
                    offset: start,
                }));
            }
            if buf.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            return Ok(Some(checked(buf, self.line, start)));
        }
    }
}

/// JSON values: NDJSON, concatenated or pretty-printed objects, or the
/// elements of a top-level array. Text between values that is not JSON is
/// reported up to the end of its line.
pub struct JsonValues<R> {
    r: R,
    max: usize,
    line: u64,
    offset: u64,
    in_top_array: bool,
    wrapped: bool,
    started: bool,
}

/// Wrapper objects whose one array holds the records, as CloudTrail S3
/// objects (`{"Records":[...]}`) and Azure Event Hub captures
/// (`{"records":[...]}`) write them. Their elements are framed one by one,
/// so a large file is not one oversized record.
const WRAPPER_KEYS: &[&[u8]] = &[b"Records", b"records"];

/// The length of a wrapper prefix `{ "Records" : [` at the start of `buf`.
fn wrapper_prefix(buf: &[u8]) -> Option<usize> {
    let ws = |i: &mut usize| {
        while buf.get(*i).is_some_and(|b| b.is_ascii_whitespace()) {
            *i += 1;
        }
    };
    let mut i = 0;
    if buf.first() != Some(&b'{') {
        return None;
    }
    i += 1;
    ws(&mut i);
    let key = WRAPPER_KEYS.iter().find(|k| {
        buf.get(i) == Some(&b'"')
            && buf.get(i + 1..i + 1 + k.len()) == Some(**k)
            && buf.get(i + 1 + k.len()) == Some(&b'"')
    })?;
    i += key.len() + 2;
    ws(&mut i);
    (buf.get(i) == Some(&b':')).then_some(())?;
    i += 1;
    ws(&mut i);
    (buf.get(i) == Some(&b'[')).then_some(i + 1)
}

impl<R: BufRead> JsonValues<R> {
    /// The current 1-based line and byte offset.
    pub fn position(&self) -> (u64, u64) {
        (self.line, self.offset)
    }

    /// Values of `r`, each at most `max` bytes.
    pub fn new(r: R, max: usize) -> Self {
        JsonValues {
            r,
            max,
            line: 1,
            offset: 0,
            in_top_array: false,
            wrapped: false,
            started: false,
        }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.r.fill_buf()?.first().copied())
    }

    fn bump(&mut self, b: u8) {
        self.r.consume(1);
        self.offset += 1;
        if b == b'\n' {
            self.line += 1;
        }
    }

    /// The next frame, or `None` at the end.
    ///
    /// # Errors
    ///
    /// I/O errors of the underlying reader.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        loop {
            let Some(b) = self.peek()? else {
                return Ok(None);
            };
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.bump(b),
                b'[' if !self.started => {
                    self.started = true;
                    self.in_top_array = true;
                    self.bump(b);
                }
                b',' | b']' if self.in_top_array => self.bump(b),
                b'}' if self.wrapped => self.bump(b),
                b'{' if !self.started && self.skip_wrapper()? => {}
                b'{' | b'[' => {
                    self.started = true;
                    return self.value().map(Some);
                }
                0xEF if !self.started => {
                    // A UTF-8 byte order mark: skip its three bytes.
                    let bom = self.r.fill_buf()?.starts_with(&[0xEF, 0xBB, 0xBF]);
                    if !bom {
                        self.started = true;
                        return self.junk().map(Some);
                    }
                    (0..3).for_each(|_| self.bump(0));
                }
                _ => {
                    self.started = true;
                    return self.junk().map(Some);
                }
            }
        }
    }

    /// At the start of input, step into a wrapper object's record array.
    fn skip_wrapper(&mut self) -> io::Result<bool> {
        let Some(n) = wrapper_prefix(self.r.fill_buf()?) else {
            return Ok(false);
        };
        let newlines = self.r.fill_buf()?[..n]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        self.r.consume(n);
        self.offset += n as u64;
        self.line += newlines as u64;
        self.started = true;
        self.in_top_array = true;
        self.wrapped = true;
        Ok(true)
    }

    /// One object or array, by bracket depth outside strings.
    fn value(&mut self) -> io::Result<Frame> {
        let (line, offset) = (self.line, self.offset);
        let mut buf = Vec::new();
        let (mut depth, mut in_str, mut esc, mut len) = (0usize, false, false, 0usize);
        loop {
            let avail = self.r.fill_buf()?;
            if avail.is_empty() {
                buf.truncate(SAMPLE);
                let reason = format!("JSON value truncated at end of input after {len} bytes");
                return Ok(Frame::Bad {
                    reason,
                    sample: buf,
                    line,
                    offset,
                });
            }
            let end = scan(avail, &mut depth, &mut in_str, &mut esc);
            let n = end.unwrap_or(avail.len());
            self.line += memchr::memchr_iter(b'\n', &avail[..n]).count() as u64;
            if len + n <= self.max {
                buf.extend_from_slice(&avail[..n]);
            } else if buf.len() < SAMPLE {
                let room = SAMPLE.saturating_sub(buf.len()).min(n);
                buf.extend_from_slice(&avail[..room]);
            }
            len += n;
            self.r.consume(n);
            self.offset += n as u64;
            if end.is_some() {
                break;
            }
        }
        if len > self.max {
            buf.truncate(SAMPLE);
            let reason = format!(
                "record of {len} bytes exceeds the limit of {} bytes",
                self.max
            );
            return Ok(Frame::Bad {
                reason,
                sample: buf,
                line,
                offset,
            });
        }
        Ok(checked(buf, line, offset))
    }

    /// Text that cannot start a JSON value: report it to the end of its line.
    fn junk(&mut self) -> io::Result<Frame> {
        let (line, offset) = (self.line, self.offset);
        let mut sample = Vec::new();
        while let Some(b) = self.peek()? {
            self.bump(b);
            if b == b'\n' {
                break;
            }
            if sample.len() < SAMPLE {
                sample.push(b);
            }
        }
        let reason = "not JSON: expected an object or array".to_string();
        Ok(Frame::Bad {
            reason,
            sample,
            line,
            offset,
        })
    }
}

/// Scan `buf` for the end of a JSON value, carrying the bracket depth and
/// string state across calls. Returns the length up to and including the
/// closing bracket, or `None` when the value goes on past `buf`.
///
/// # Time complexity
///
/// Linear in `buf`; string contents are skipped with `memchr2`, which is
/// what makes framing cheap next to parsing.
fn scan(buf: &[u8], depth: &mut usize, in_str: &mut bool, esc: &mut bool) -> Option<usize> {
    let mut i = 0;
    while i < buf.len() {
        if *esc {
            *esc = false;
            i += 1;
            continue;
        }
        if *in_str {
            match memchr::memchr2(b'"', b'\\', &buf[i..]) {
                None => return None,
                Some(k) => {
                    i += k;
                    if buf[i] == b'\\' {
                        *esc = true;
                    } else {
                        *in_str = false;
                    }
                    i += 1;
                    continue;
                }
            }
        }
        match buf[i] {
            b'"' => *in_str = true,
            b'{' | b'[' => *depth += 1,
            b'}' | b']' => {
                *depth = depth.saturating_sub(1);
                if *depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<Frame> {
        let mut l = Lines::new(input, max);
        std::iter::from_fn(|| l.next_frame().expect("io")).collect()
    }

    fn values(input: &[u8]) -> Vec<Frame> {
        let mut l = JsonValues::new(input, 1 << 20);
        std::iter::from_fn(|| l.next_frame().expect("io")).collect()
    }

    fn text(f: &Frame) -> &str {
        match f {
            Frame::Record { text, .. } => text,
            Frame::Bad { reason, .. } => panic!("bad frame: {reason}"),
        }
    }

    #[test]
    fn lines_strip_endings_and_skip_blank() {
        let f = lines(b"a\r\n\nb\nc", 100);
        assert_eq!(f.iter().map(text).collect::<Vec<_>>(), ["a", "b", "c"]);
        assert!(matches!(
            f[1],
            Frame::Record {
                line: 3,
                offset: 4,
                ..
            }
        ));
    }

    #[test]
    fn oversized_line_is_reported_and_the_next_line_survives() {
        let mut input = b"short one\n".to_vec();
        input.extend(std::iter::repeat_n(b'A', 5000));
        input.extend_from_slice(b"\nshort two\n");
        let f = lines(&input, 256);
        assert_eq!(f.len(), 3);
        assert_eq!(text(&f[0]), "short one");
        match &f[1] {
            Frame::Bad {
                reason,
                sample,
                line,
                ..
            } => {
                assert_eq!(
                    reason,
                    "record of 5000 bytes exceeds the limit of 256 bytes"
                );
                assert_eq!(
                    sample.len(),
                    4097,
                    "4 KiB shown plus one byte that says it was cut"
                );
                assert_eq!(*line, 2);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(text(&f[2]), "short two");
    }

    #[test]
    fn a_read_error_after_an_unterminated_last_line_keeps_the_line() {
        struct Broken;
        impl std::io::Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("invalid gzip header"))
            }
        }
        let r = std::io::BufReader::new(std::io::Read::chain(&b"one\ntwo"[..], Broken));
        let mut l = Lines::new(r, 100);
        let a = l.next_frame().expect("first");
        let b = l.next_frame().expect("second, before the error");
        assert_eq!(a.as_ref().map(text), Some("one"));
        assert_eq!(b.as_ref().map(text), Some("two"));
        let e = l.next_frame().expect_err("then the error");
        assert_eq!(e.to_string(), "invalid gzip header");
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_line() {
        let f = lines(b"\xEF\xBB\xBFfirst\nsecond\n", 100);
        assert_eq!(f.iter().map(text).collect::<Vec<_>>(), ["first", "second"]);
    }

    #[test]
    fn invalid_utf8_is_a_bad_frame() {
        let f = lines(b"ok\n\xff\xfe bad\n", 100);
        assert!(matches!(&f[1], Frame::Bad { reason, .. } if reason.starts_with("invalid UTF-8")));
    }

    #[test]
    fn json_values_in_every_layout() {
        let nd = values(b"{\"a\":1}\n{\"a\":2}\n");
        let pretty = values(b"{\n \"a\": \"}{\",\n \"b\": [1]\n}\n{\"a\":2}");
        let array = values(b"[ {\"a\":1} ,\n {\"a\":[2]} ]");
        assert_eq!(
            nd.iter().map(text).collect::<Vec<_>>(),
            ["{\"a\":1}", "{\"a\":2}"]
        );
        assert_eq!(text(&pretty[0]), "{\n \"a\": \"}{\",\n \"b\": [1]\n}");
        assert!(matches!(pretty[1], Frame::Record { line: 5, .. }));
        assert_eq!(
            array.iter().map(text).collect::<Vec<_>>(),
            ["{\"a\":1}", "{\"a\":[2]}"]
        );
    }

    #[test]
    fn values_split_across_reads_keep_string_and_escape_state() {
        // A tiny buffer makes every value cross many reads, escapes included.
        let input = b"{\"a\": \"x\\\"}{\\\\\"}\n{\"b\": [\"]\"]}";
        let r = std::io::BufReader::with_capacity(3, &input[..]);
        let mut l = JsonValues::new(r, 1 << 20);
        let f: Vec<Frame> = std::iter::from_fn(|| l.next_frame().expect("io")).collect();
        let texts: Vec<&str> = f.iter().map(text).collect();
        assert_eq!(texts, ["{\"a\": \"x\\\"}{\\\\\"}", "{\"b\": [\"]\"]}"]);
        assert!(matches!(f[1], Frame::Record { line: 2, .. }));
    }

    #[test]
    fn wrapper_arrays_are_framed_by_element() {
        let f = values(b"{\"Records\": [\n {\"a\":1},\n {\"b\":2}\n]}\n");
        assert_eq!(
            f.iter().map(text).collect::<Vec<_>>(),
            ["{\"a\":1}", "{\"b\":2}"]
        );
        assert!(matches!(f[1], Frame::Record { line: 3, .. }));
        let other = values(b"{\"value\": [1]}");
        assert_eq!(
            other.iter().map(text).collect::<Vec<_>>(),
            ["{\"value\": [1]}"]
        );
    }

    #[test]
    fn json_junk_and_truncation_are_reported() {
        let f = values(b"garbage here\n{\"a\":1}\n{\"b\":");
        assert!(matches!(&f[0], Frame::Bad { reason, .. } if reason.starts_with("not JSON")));
        assert_eq!(text(&f[1]), "{\"a\":1}");
        assert!(
            matches!(&f[2], Frame::Bad { reason, line: 3, .. } if reason.contains("truncated"))
        );
    }
}
