//! Sigma string values as patterns, the value modifiers that rewrite them,
//! and the matchers they compile to.
//!
//! A value starts as the parser's [`SigmaString`]: plain text with `*` and
//! `?` wildcards (escapes already resolved, so `\*` is a literal star and a
//! trailing backslash stays a backslash; BH-15). The modifiers then apply in
//! the order the rule writes them, as pySigma applies them (BH-19):
//! `contains`/`startswith`/`endswith` add wildcards at the ends, `windash`
//! turns a leading `-` or `/` into a class of five dashes (BH-12), `wide`
//! and friends turn text into UTF-16 bytes, `base64` and `base64offset`
//! turn bytes into text again (the latter into three alternatives).
//!
//! A finished pattern compiles to a [`Matcher`]: equality, prefix, suffix
//! or substring when it is literal text with wildcards only at its ends,
//! an anchored regex otherwise. Case-insensitive matchers hold lower-cased
//! text and run over lower-cased values.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rsigma_parser::{SigmaString, SpecialChar, StringPart};

/// The dash characters `windash` accepts for a switch prefix: hyphen,
/// slash, en dash, em dash and horizontal bar.
pub(crate) const DASHES: [char; 5] = ['-', '/', '\u{2013}', '\u{2014}', '\u{2015}'];

/// Longest literal or regex a rule may carry, in bytes.
pub(crate) const MAX_PATTERN_BYTES: usize = 64 * 1024;

/// One piece of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Literal text.
    Lit(String),
    /// `?`: exactly one character.
    One,
    /// `*`: any run of characters.
    Many,
    /// One of the `windash` dashes.
    Dash,
}

/// A value on its way through the modifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Val {
    /// Text with wildcards.
    Pat(Vec<Tok>),
    /// Bytes from a UTF-16 modifier, waiting for `base64`.
    Bytes(Vec<u8>),
}

impl Val {
    /// A Sigma string as a pattern.
    pub(crate) fn from_sigma(s: &SigmaString) -> Val {
        let toks = s
            .parts
            .iter()
            .map(|p| match p {
                StringPart::Plain(t) => Tok::Lit(t.clone()),
                StringPart::Special(SpecialChar::WildcardMulti) => Tok::Many,
                StringPart::Special(SpecialChar::WildcardSingle) => Tok::One,
            })
            .collect();
        Val::Pat(toks)
    }

    /// Literal text (numbers, booleans): no wildcards.
    pub(crate) fn literal(s: &str) -> Val {
        Val::Pat(vec![Tok::Lit(s.to_string())])
    }

    /// `contains`: a `*` at both ends unless one is there.
    pub(crate) fn contains(self) -> Result<Val, String> {
        self.starts_with()?.ends_with()
    }

    /// `startswith`: a `*` at the end.
    pub(crate) fn starts_with(self) -> Result<Val, String> {
        let mut t = self.into_pat("startswith")?;
        if t.last() != Some(&Tok::Many) {
            t.push(Tok::Many);
        }
        Ok(Val::Pat(t))
    }

    /// `endswith`: a `*` at the start.
    pub(crate) fn ends_with(self) -> Result<Val, String> {
        let mut t = self.into_pat("endswith")?;
        if t.first() != Some(&Tok::Many) {
            t.insert(0, Tok::Many);
        }
        Ok(Val::Pat(t))
    }

    /// `windash`: a `-` or `/` that starts a word (regex `\B[-/]\b` within
    /// each literal piece, as pySigma does) matches any of [`DASHES`].
    pub(crate) fn windash(self) -> Result<Val, String> {
        let toks = self.into_pat("windash")?;
        let mut out = Vec::with_capacity(toks.len());
        for t in toks {
            match t {
                Tok::Lit(s) => split_dashes(&s, &mut out),
                other => out.push(other),
            }
        }
        Ok(Val::Pat(out))
    }

    /// `wide`/`utf16le`, `utf16be`, `utf16` (little endian with a byte
    /// order mark): text to UTF-16 code units.
    pub(crate) fn utf16(self, big_endian: bool, bom: bool) -> Result<Val, String> {
        let text = self.plain_text("wide/utf16")?;
        let mut bytes = Vec::with_capacity(text.len() * 2 + 2);
        if bom {
            bytes.extend_from_slice(&[0xff, 0xfe]);
        }
        for unit in text.encode_utf16() {
            let b = if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            };
            bytes.extend_from_slice(&b);
        }
        Ok(Val::Bytes(bytes))
    }

    /// `base64`: the value encoded, padding included.
    pub(crate) fn base64(self) -> Result<Val, String> {
        let bytes = self.into_bytes("base64")?;
        Ok(Val::literal(&STANDARD.encode(bytes)))
    }

    /// `base64offset`: the three encodings of the value at each alignment
    /// inside a longer blob, without the characters that depend on the
    /// neighbouring bytes (BH-19).
    pub(crate) fn base64offset(self) -> Result<Vec<Val>, String> {
        const START: [usize; 3] = [0, 2, 3];
        const END: [usize; 3] = [0, 3, 2];
        let bytes = self.into_bytes("base64offset")?;
        let mut out = Vec::with_capacity(3);
        for shift in 0..3 {
            let mut padded = vec![b' '; shift];
            padded.extend_from_slice(&bytes);
            let enc = STANDARD.encode(&padded);
            let end = enc.len() - END[(bytes.len() + shift) % 3];
            let piece = enc.get(START[shift]..end).unwrap_or("");
            out.push(Val::literal(piece));
        }
        Ok(out)
    }

    /// The finished pattern (bytes that never met `base64` read as text).
    pub(crate) fn finish(self) -> Vec<Tok> {
        match self {
            Val::Pat(t) => t,
            Val::Bytes(b) => vec![Tok::Lit(String::from_utf8_lossy(&b).into_owned())],
        }
    }

    fn into_pat(self, modifier: &str) -> Result<Vec<Tok>, String> {
        match self {
            Val::Pat(t) => Ok(t),
            Val::Bytes(_) => Err(format!(
                "{modifier} after a utf16 modifier needs base64 first"
            )),
        }
    }

    fn into_bytes(self, modifier: &str) -> Result<Vec<u8>, String> {
        match self {
            Val::Bytes(b) => Ok(b),
            v => Ok(v.plain_text(modifier)?.into_bytes()),
        }
    }

    fn plain_text(self, modifier: &str) -> Result<String, String> {
        let toks = self.into_pat(modifier)?;
        let mut s = String::new();
        for t in toks {
            match t {
                Tok::Lit(l) => s.push_str(&l),
                _ => return Err(format!("{modifier} of a value with wildcards")),
            }
        }
        Ok(s)
    }
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// Split `s` at every dash that starts a word, pushing literal pieces and
/// [`Tok::Dash`]es.
fn split_dashes(s: &str, out: &mut Vec<Tok>) {
    let chars: Vec<char> = s.chars().collect();
    let mut lit = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        if (c == '-' || c == '/') && !is_word(prev) && is_word(next) {
            if !lit.is_empty() {
                out.push(Tok::Lit(std::mem::take(&mut lit)));
            }
            out.push(Tok::Dash);
        } else {
            lit.push(c);
        }
    }
    if !lit.is_empty() {
        out.push(Tok::Lit(lit));
    }
}

/// How a finished pattern tests a value.
#[derive(Clone, Debug)]
pub(crate) enum Matcher {
    /// The whole value.
    Eq(String),
    /// A prefix.
    Prefix(String),
    /// A suffix.
    Suffix(String),
    /// A substring.
    Contains(String),
    /// Anything (`*`), as long as the field is there.
    Any,
    /// Anything else, as an anchored regex.
    Regex(regex::Regex),
}

impl Matcher {
    /// Compile `toks`; literals are lower-cased unless `cased`.
    pub(crate) fn compile(toks: &[Tok], cased: bool) -> Result<Matcher, String> {
        let fold = |s: &str| {
            if cased {
                s.to_string()
            } else {
                s.to_lowercase()
            }
        };
        let size: usize = toks
            .iter()
            .map(|t| match t {
                Tok::Lit(s) => s.len(),
                _ => 1,
            })
            .sum();
        if size > MAX_PATTERN_BYTES {
            return Err(format!(
                "value of {size} bytes is over the {MAX_PATTERN_BYTES}-byte limit"
            ));
        }
        let many_start = toks.first() == Some(&Tok::Many);
        let many_end = toks.len() > 1 && toks.last() == Some(&Tok::Many);
        let inner = &toks[usize::from(many_start)..toks.len() - usize::from(many_end)];
        match inner {
            [] => Ok(if toks.is_empty() {
                Matcher::Eq(String::new())
            } else {
                Matcher::Any
            }),
            [Tok::Lit(s)] => Ok(match (many_start, many_end) {
                (false, false) => Matcher::Eq(fold(s)),
                (false, true) => Matcher::Prefix(fold(s)),
                (true, false) => Matcher::Suffix(fold(s)),
                (true, true) => Matcher::Contains(fold(s)),
            }),
            _ => regex_of(toks, &fold).map(Matcher::Regex),
        }
    }

    /// Whether `v` (lower-cased already for a case-insensitive matcher)
    /// matches.
    pub(crate) fn is_match(&self, v: &str) -> bool {
        match self {
            Matcher::Eq(s) => v == s,
            Matcher::Prefix(s) => v.starts_with(s.as_str()),
            Matcher::Suffix(s) => v.ends_with(s.as_str()),
            Matcher::Contains(s) => memchr::memmem::find(v.as_bytes(), s.as_bytes()).is_some(),
            Matcher::Any => true,
            Matcher::Regex(r) => r.is_match(v),
        }
    }
}

/// An equivalent regex; a `*` at either end drops the anchor there
/// instead of becoming `.*`, so the search can start at a literal.
fn regex_of(toks: &[Tok], fold: &dyn Fn(&str) -> String) -> Result<regex::Regex, String> {
    let open_start = toks.first() == Some(&Tok::Many);
    let open_end = toks.len() > 1 && toks.last() == Some(&Tok::Many);
    let inner = &toks[usize::from(open_start)..toks.len() - usize::from(open_end)];
    let mut re = String::from(if open_start { "(?s)" } else { "(?s)^" });
    for t in inner {
        match t {
            Tok::Lit(s) => re.push_str(&regex::escape(&fold(s))),
            Tok::One => re.push('.'),
            Tok::Many => re.push_str(".*"),
            Tok::Dash => {
                re.push('[');
                DASHES
                    .iter()
                    .for_each(|d| re.push_str(&regex::escape(&d.to_string())));
                re.push(']');
            }
        }
    }
    if !open_end {
        re.push('$');
    }
    build_regex(&re)
}

/// Compile a regex with bounded size, so a huge or explosive pattern is a
/// load error rather than a stall.
pub(crate) fn build_regex(re: &str) -> Result<regex::Regex, String> {
    if re.len() > MAX_PATTERN_BYTES {
        return Err(format!(
            "regex of {} bytes is over the {MAX_PATTERN_BYTES}-byte limit",
            re.len()
        ));
    }
    regex::RegexBuilder::new(re)
        .size_limit(2 << 20)
        .dfa_size_limit(4 << 20)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(n) => format!("regex compiles to over {n} bytes"),
            e => format!("invalid regex: {}", first_line(&e.to_string())),
        })
}

fn first_line(s: &str) -> String {
    s.lines()
        .filter(|l| l.starts_with("error:"))
        .map(|l| l.trim_start_matches("error:").trim().to_string())
        .next()
        .unwrap_or_else(|| s.lines().last().unwrap_or("").trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> Val {
        Val::from_sigma(&SigmaString::new(s))
    }

    fn matches(toks: Vec<Tok>, cased: bool, v: &str) -> bool {
        let m = Matcher::compile(&toks, cased).expect("compiles");
        let v = if cased {
            v.to_string()
        } else {
            v.to_lowercase()
        };
        m.is_match(&v)
    }

    fn lits(vals: Vec<Val>) -> Vec<String> {
        vals.into_iter()
            .map(|v| match v.finish().as_slice() {
                [Tok::Lit(s)] => s.clone(),
                other => panic!("not a literal: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn base64offset_trims_both_ends_bh19() {
        // The expected strings are the ones BH-19 gives (pySigma's output).
        let plain = lits(pat("IEX (New").base64offset().expect("plain"));
        assert_eq!(plain, ["SUVYIChOZX", "lFWCAoTmV3", "JRVggKE5ld"]);
        let wide = pat("IEX (New").utf16(false, false).expect("wide");
        let wide = lits(wide.base64offset().expect("b64"));
        assert_eq!(
            wide,
            [
                "SQBFAFgAIAAoAE4AZQB3A",
                "kARQBYACAAKABOAGUAdw",
                "JAEUAWAAgACgATgBlAHcA"
            ]
        );
    }

    #[test]
    fn base64_pads_and_rejects_wildcards() {
        let v = pat("IEX (New").base64().expect("b64").finish();
        assert_eq!(v, [Tok::Lit("SUVYIChOZXc=".into())]);
        assert!(pat("a*b").base64().is_err());
    }

    #[test]
    fn utf16_variants_encode_code_units() {
        let be = pat("A\u{1F600}").utf16(true, false).expect("be");
        assert_eq!(be, Val::Bytes(vec![0, 0x41, 0xd8, 0x3d, 0xde, 0x00]));
        let bom = pat("A").utf16(false, true).expect("bom");
        assert_eq!(bom, Val::Bytes(vec![0xff, 0xfe, 0x41, 0]));
    }

    #[test]
    fn windash_expands_only_leading_dashes_bh12() {
        let v = pat(" -ma ").windash().and_then(Val::contains).expect("ok");
        let toks = v.finish();
        for (line, want) in [
            ("procdump.exe -ma 4242 out.dmp", true),
            ("procdump.exe /ma 4242 out.dmp", true),
            ("procdump.exe \u{2013}ma 4242 out.dmp", true),
            ("procdump.exe \u{2014}ma 4242 out.dmp", true),
            ("procdump.exe \u{2015}ma 4242 out.dmp", true),
            ("procdump.exe +ma 4242 out.dmp", false),
        ] {
            assert_eq!(matches(toks.clone(), false, line), want, "{line}");
        }
        let v = pat(" -ex-policy").windash().and_then(Val::contains);
        let toks = v.expect("ok").finish();
        assert!(matches(toks.clone(), false, "tool.exe /ex-policy"));
        assert!(!matches(toks, false, "tool.exe /ex/policy"));
    }

    #[test]
    fn escapes_follow_pysigma_bh15() {
        let a = pat(r"\\\\\*\IPC$").finish();
        assert!(matches(a.clone(), false, r"\\*\IPC$"));
        assert!(!matches(a, false, r"\\host-a\IPC$"));
        let b = pat(r"\\\\*\IPC$").finish();
        assert!(matches(b.clone(), false, r"\\*\IPC$"));
        assert!(matches(b, false, r"\\host-a\IPC$"));
        let c = pat(r"\Desktop\").contains().expect("ok").finish();
        assert!(matches(c, false, r"C:\Users\alice\Desktop\tool.exe"));
        let d = pat("what?").ends_with().expect("ok").finish();
        assert!(matches(d.clone(), false, "echo whats"));
        assert!(matches(d, false, "echo what?"));
        let e = pat(r"what\?").ends_with().expect("ok").finish();
        assert!(!matches(e.clone(), false, "echo whats"));
        assert!(matches(e, false, "echo what?"));
    }

    #[test]
    fn case_folds_unless_cased() {
        let t = pat("CMD.exe").finish();
        assert!(matches(t.clone(), false, "cmd.EXE"));
        assert!(!matches(t.clone(), true, "cmd.EXE"));
        assert!(matches(t, true, "CMD.exe"));
    }

    #[test]
    fn matcher_shapes() {
        let m = |s: &str| Matcher::compile(&pat(s).finish(), false).expect("ok");
        assert!(matches!(m("abc"), Matcher::Eq(_)));
        assert!(matches!(m("abc*"), Matcher::Prefix(_)));
        assert!(matches!(m("*abc"), Matcher::Suffix(_)));
        assert!(matches!(m("*abc*"), Matcher::Contains(_)));
        assert!(matches!(m("*"), Matcher::Any));
        assert!(matches!(m("a*c"), Matcher::Regex(_)));
        assert!(matches!(m(""), Matcher::Eq(ref s) if s.is_empty()));
    }

    #[test]
    fn huge_regex_is_an_error_not_a_stall() {
        let big = "a".repeat(1 << 20);
        assert!(build_regex(&big).expect_err("must fail").contains("limit"));
        assert!(
            build_regex("(")
                .expect_err("must fail")
                .starts_with("invalid regex")
        );
        assert!(build_regex("a{1000}{1000}").is_err());
    }
}
