//! Zeek logs, as TSV (the ASCII writer's default) or JSON.
//!
//! - TSV (module `tsv`): a `#fields`/`#types` header block names the tab-separated
//!   columns of the lines after it; the decoder keeps that header per input.
//!   Escaping follows Zeek's writer exactly (edge case BH-23).
//! - JSON: one object per line, the log named by `_path` (Zeek's own JSON
//!   writer) or `@stream` (the json-streaming-logs package). Keys may use
//!   Zeek's dots (`id.orig_h`) or underscores (`id_orig_h`); the
//!   underscore forms of Zeek's record fields (`id`, `certificate`, `san`,
//!   `basic_constraints`, `remote_location`, `times`) are read back with
//!   dots, and nested objects are joined with dots, so both encodings give
//!   the same names. `ts` is epoch seconds or ISO 8601.
//!
//! Either way an entry becomes one row (module `map`):
//! - conn, ssh, rdp, ntlm, kerberos, dns, http, ssl, smb_mapping, dce_rpc
//!   and the other application-protocol logs (smb_files, ftp, smtp, ...)
//!   are `network_activity` (OCSF 4001): endpoints from `id.*`, `uid` as the
//!   connection id, `proto`, `app_name` (conn's `service`, else the log
//!   name), and per log: conn traffic and duration (`orig_*` is out,
//!   `resp_*` in) with the activity taken from `conn_state`; dns query; http
//!   request; ssl server name; ssh, ntlm and kerberos outcome and user.
//! - every other log (files, x509, pe, weird, notice, analyzer, ...) is a
//!   `base_event`, never dropped.
//! - every field also goes to `unmapped` under its Zeek name (`id.orig_h`,
//!   `auth_success`), booleans as `true`/`false`, sets and vectors as JSON
//!   arrays of strings, so Sigma's Zeek rules match on the names they use.
//!
//! `metadata_log_name` is the log path. An entry without one is named by a
//! field only its log has (`conn_state` for conn), else `unknown`.

use std::borrow::Cow;

use serde_json::Value;

use crate::decode::{DecodeConfig, DecodeError, Decoder, Record};
use crate::emit::Emitter;
use crate::format::Format;
use crate::formats::util::parse_json;

mod map;
mod tsv;

// N.B. shared by all network decoders, declared in formats/mod.rs; named
// here too so their `zeek::netcommon` paths keep working.
pub(crate) use super::netcommon;

use map::{Entry, Val};

/// A decoder for [`Format::ZeekTsv`] (line framed) or [`Format::ZeekJson`]
/// (JSON framed). Any other format gets the JSON decoder.
pub fn decoder(format: Format, _cfg: &DecodeConfig) -> Box<dyn Decoder> {
    match format {
        Format::ZeekTsv => Box::new(ZeekTsv::default()),
        _ => Box::new(ZeekJson),
    }
}

/// TSV: header state per input.
#[derive(Default)]
struct ZeekTsv {
    header: tsv::Tsv,
}

impl Decoder for ZeekTsv {
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
        if rec.text.starts_with('#') {
            return self.header.header(rec.text);
        }
        let entry = self.header.entry(rec.text)?;
        map::emit(&entry, rec, out)
    }
}

/// JSON: one object per record, no state.
struct ZeekJson;

impl Decoder for ZeekJson {
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
        let v = parse_json(rec.text)?;
        let entry = json_entry(&v)?;
        map::emit(&entry, rec, out)
    }
}

/// Zeek record-typed fields whose dots some JSON writers turn into `_`.
const RECORD_PREFIXES: &[&str] = &[
    "id_",
    "certificate_",
    "san_",
    "basic_constraints_",
    "remote_location_",
    "times_",
];

/// A JSON key under its Zeek name: `id_orig_h` becomes `id.orig_h`.
fn zeek_name(key: &str) -> Cow<'_, str> {
    for p in RECORD_PREFIXES {
        if let Some(rest) = key.strip_prefix(p)
            && !rest.is_empty()
        {
            return Cow::Owned(format!("{}.{rest}", &p[..p.len() - 1]));
        }
    }
    Cow::Borrowed(key)
}

fn json_entry(v: &Value) -> Result<Entry<'_>, DecodeError> {
    let Value::Object(m) = v else {
        return Err(DecodeError::shape("zeek json record is not an object"));
    };
    let mut fields = Vec::with_capacity(m.len());
    for (k, x) in m {
        push_json(&mut fields, zeek_name(k), x);
    }
    let named = ["_path", "@stream"]
        .iter()
        .find_map(|k| m.get(*k).and_then(Value::as_str));
    let path = match named {
        Some(p) => Cow::Borrowed(p),
        None => {
            let names = fields.iter().map(|(k, _)| k.as_ref());
            Cow::Borrowed(map::infer_path(names).unwrap_or("unknown"))
        }
    };
    Ok(Entry { path, fields })
}

fn push_json<'a>(fields: &mut Vec<(Cow<'a, str>, Val<'a>)>, name: Cow<'a, str>, x: &'a Value) {
    let val = match x {
        Value::Null => return,
        Value::Object(o) => {
            for (k, y) in o {
                push_json(fields, Cow::Owned(format!("{name}.{k}")), y);
            }
            return;
        }
        Value::Array(items) => Val::List(items.iter().filter_map(json_text).collect()),
        scalar => match json_text(scalar) {
            Some(t) => Val::Text(t),
            None => return,
        },
    };
    fields.push((name, val));
}

/// A JSON value as Zeek text: strings as they are, numbers and booleans
/// written out, nested values as JSON; null is unset.
fn json_text(x: &Value) -> Option<Cow<'_, str>> {
    match x {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        other => Some(Cow::Owned(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underscored_record_fields_get_their_dots_back() {
        assert_eq!(zeek_name("id_orig_h"), "id.orig_h");
        assert_eq!(zeek_name("certificate_serial"), "certificate.serial");
        assert_eq!(zeek_name("orig_bytes"), "orig_bytes");
        assert_eq!(zeek_name("id"), "id");
        assert_eq!(zeek_name("id.resp_p"), "id.resp_p");
    }

    #[test]
    fn nested_json_objects_are_joined_with_dots() -> Result<(), DecodeError> {
        let v: Value = serde_json::from_str(
            r#"{"_path":"conn","id":{"orig_h":"10.0.0.1","orig_p":5},"tags":["a","b"],"x":null}"#,
        )
        .map_err(|e| DecodeError::syntax(e.to_string()))?;
        let e = json_entry(&v)?;
        assert_eq!(e.path, "conn");
        assert_eq!(e.text("id.orig_h"), Some("10.0.0.1"));
        assert_eq!(e.text("id.orig_p"), Some("5"));
        assert_eq!(e.text("x"), None);
        let tags = e.fields.iter().find(|(k, _)| k == "tags").map(|(_, v)| v);
        assert_eq!(tags, Some(&Val::List(vec!["a".into(), "b".into()])));
        Ok(())
    }
}
