//! Zeek's ASCII (TSV) log writer format, read line by line.
//!
//! A header block (`#separator`, `#set_separator`, `#empty_field`,
//! `#unset_field`, `#path`, `#open`, `#fields`, `#types`) sets how the data
//! lines after it are read, until the next block; `#close` ends a file and
//! changes nothing. `#separator` starts a new block and resets the rest, so
//! concatenated logs of different paths read correctly.
//!
//! Values follow the writer's escaping (edge case BH-23):
//! - a field equal to the unset marker (`-`) is unset: left out;
//! - a field equal to the empty marker (`(empty)`) is an empty string, or
//!   an empty set or vector;
//! - a container is split on the set separator, then each element is
//!   unescaped, so an escaped separator (`\x2c`) stays inside its element;
//! - `\xHH` is the byte HH and `\\` a backslash; any other backslash stays.
//!   A literal `-` or `(empty)` is written escaped (`\x2d`, `\x28empty)`),
//!   so it never equals a marker and comes back as itself;
//! - text whose unescaped bytes are not UTF-8 (binary payloads) is kept as
//!   written, escapes and all, rather than replaced by U+FFFD.

use std::borrow::Cow;

use super::map::{Entry, Val, infer_path};
use crate::decode::DecodeError;

/// How a column's text is read, from its `#types` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Any scalar: kept as text.
    Scalar,
    /// `bool`: `T`/`F` become `true`/`false`.
    Bool,
    /// `set[...]`, `vector[...]`, `table[...]`: split on the set separator.
    Container,
}

impl Kind {
    fn of(ty: &str) -> Kind {
        if ty == "bool" {
            Kind::Bool
        } else if ty.starts_with("set[") || ty.starts_with("vector[") || ty.starts_with("table[") {
            Kind::Container
        } else {
            Kind::Scalar
        }
    }
}

/// The header state of one input.
#[derive(Debug)]
pub(crate) struct Tsv {
    sep: String,
    set_sep: String,
    empty: String,
    unset: String,
    path: Option<String>,
    fields: Option<Vec<String>>,
    kinds: Vec<Kind>,
}

impl Default for Tsv {
    fn default() -> Self {
        Tsv::with_separator("\t".into())
    }
}

impl Tsv {
    fn with_separator(sep: String) -> Tsv {
        Tsv {
            sep,
            set_sep: ",".into(),
            empty: "(empty)".into(),
            unset: "-".into(),
            path: None,
            fields: None,
            kinds: Vec::new(),
        }
    }

    /// Read a `#` line.
    ///
    /// # Errors
    ///
    /// A `#types` line whose length differs from the `#fields` line, or a
    /// `#separator` line with no separator.
    pub fn header(&mut self, line: &str) -> Result<(), DecodeError> {
        if let Some(rest) = line.strip_prefix("#separator") {
            let sep = unescape(rest.trim_start_matches([' ', '\t']));
            if sep.is_empty() {
                return Err(DecodeError::shape(
                    "zeek #separator line names no separator",
                ));
            }
            *self = Tsv::with_separator(sep.into_owned());
            return Ok(());
        }
        let body = &line[1..];
        let (key, value) = body.split_once(self.sep.as_str()).unwrap_or((body, ""));
        match key {
            "set_separator" => self.set_sep = unescape(value).into_owned(),
            "empty_field" => self.empty = unescape(value).into_owned(),
            "unset_field" => self.unset = unescape(value).into_owned(),
            "path" => self.path = Some(unescape(value).into_owned()),
            "fields" => {
                let names = value
                    .split(self.sep.as_str())
                    .map(|f| unescape(f).into_owned());
                self.fields = Some(names.collect());
                self.kinds.clear();
            }
            "types" => return self.types(value),
            // `#open`, `#close` and unknown `#` lines carry no event.
            _ => {}
        }
        Ok(())
    }

    fn types(&mut self, value: &str) -> Result<(), DecodeError> {
        self.kinds = value.split(self.sep.as_str()).map(Kind::of).collect();
        let n_fields = self.fields.as_ref().map_or(0, Vec::len);
        if self.fields.is_some() && n_fields != self.kinds.len() {
            let n_types = self.kinds.len();
            self.kinds.clear();
            return Err(DecodeError::shape(format!(
                "zeek #types names {n_types} types but #fields names {n_fields} fields"
            )));
        }
        Ok(())
    }

    /// Read a data line as an entry.
    ///
    /// # Errors
    ///
    /// A line before any `#fields` header, or with a different number of
    /// fields than the header names.
    pub fn entry<'a>(&'a self, line: &'a str) -> Result<Entry<'a>, DecodeError> {
        let Some(names) = &self.fields else {
            return Err(DecodeError::shape(
                "zeek data line before any #fields header: its fields cannot be named",
            ));
        };
        let parts = split(line, &self.sep);
        if parts.len() != names.len() {
            let path = self.path.as_deref().unwrap_or("unknown");
            return Err(DecodeError::syntax(format!(
                "zeek {path} line has {} fields but #fields names {}",
                parts.len(),
                names.len()
            )));
        }

        let mut fields = Vec::with_capacity(parts.len());
        for (i, (name, raw)) in names.iter().zip(parts).enumerate() {
            let kind = self.kinds.get(i).copied().unwrap_or(Kind::Scalar);
            if let Some(v) = self.value(raw, kind) {
                fields.push((Cow::Borrowed(name.as_str()), v));
            }
        }
        let path = match &self.path {
            Some(p) => Cow::Borrowed(p.as_str()),
            None => {
                Cow::Borrowed(infer_path(names.iter().map(String::as_str)).unwrap_or("unknown"))
            }
        };
        Ok(Entry { path, fields })
    }

    fn value<'a>(&self, raw: &'a str, kind: Kind) -> Option<Val<'a>> {
        if raw == self.unset {
            return None;
        }
        if raw == self.empty {
            return Some(match kind {
                Kind::Container => Val::List(Vec::new()),
                _ => Val::Text(Cow::Borrowed("")),
            });
        }
        Some(match kind {
            Kind::Container => Val::List(
                split(raw, &self.set_sep)
                    .into_iter()
                    .map(unescape)
                    .collect(),
            ),
            Kind::Bool => Val::Text(match raw {
                "T" => Cow::Borrowed("true"),
                "F" => Cow::Borrowed("false"),
                other => unescape(other),
            }),
            Kind::Scalar => Val::Text(unescape(raw)),
        })
    }
}

/// Split on a separator; a one-byte separator (the usual tab and comma)
/// takes the fast byte search.
fn split<'a>(s: &'a str, sep: &str) -> Vec<&'a str> {
    match sep.as_bytes() {
        [b] if b.is_ascii() => s.split(char::from(*b)).collect(),
        _ => s.split(sep).collect(),
    }
}

/// Undo the writer's escapes: `\xHH` and `\\`. Text without a backslash is
/// borrowed; text that does not unescape to UTF-8 is kept as written.
pub(crate) fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            if b.get(i + 1) == Some(&b'x')
                && let Some(byte) = hex_byte(b.get(i + 2..i + 4))
            {
                out.push(byte);
                i += 4;
                continue;
            }
            if b.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(text) => Cow::Owned(text),
        Err(_) => Cow::Borrowed(s),
    }
}

fn hex_byte(pair: Option<&[u8]>) -> Option<u8> {
    let pair = std::str::from_utf8(pair?).ok()?;
    u8::from_str_radix(pair, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_undone() {
        assert_eq!(unescape(r"tab\x09here"), "tab\there");
        assert_eq!(unescape(r"\x28empty)"), "(empty)");
        assert_eq!(unescape(r"\\pipe\\ntsvcs"), r"\pipe\ntsvcs");
        assert_eq!(unescape(r"smile\xf0\x9f\x98\x81"), "smile\u{1f601}");
        assert_eq!(unescape(r"odd\q"), r"odd\q");
        assert_eq!(unescape(r"cut\x4"), r"cut\x4");
        // Not UTF-8 once unescaped: kept as written.
        assert_eq!(unescape(r"bin\xff\xfe"), r"bin\xff\xfe");
    }

    #[test]
    fn types_choose_how_values_are_read() {
        assert_eq!(Kind::of("set[string]"), Kind::Container);
        assert_eq!(Kind::of("vector[interval]"), Kind::Container);
        assert_eq!(Kind::of("bool"), Kind::Bool);
        assert_eq!(Kind::of("string"), Kind::Scalar);
    }

    #[test]
    fn types_that_do_not_match_fields_are_reported() {
        let mut t = Tsv::default();
        t.header("#fields\ta\tb").expect("fields");
        let err = t.header("#types\tstring").expect_err("mismatch");
        assert_eq!(
            err.to_string(),
            "shape: zeek #types names 1 types but #fields names 2 fields"
        );
    }
}
