//! Any JSON vigil has no decoder for: kept whole as base events.
//!
//! Every scalar is flattened into `unmapped`, so nothing is lost and Sigma
//! rules can still match on the source's own field names. The event time is
//! taken from the first of the usual time keys that parses.

use serde_json::Value;
use vigil_schemas::{Class, Field};

use super::util::{flatten_into, parse_json, parse_time, text_at};
use crate::decode::{DecodeConfig, DecodeError, Decoder, Record};
use crate::emit::Emitter;

const TIME_KEYS: &[&str] = &[
    "/time",
    "/timestamp",
    "/Timestamp",
    "/TimeGenerated",
    "/@timestamp",
    "/CreationTime",
    "/createdDateTime",
    "/eventTime",
    "/ts",
    "/date",
];

struct GenericJson;

/// A decoder for generic JSON.
pub fn decoder(_cfg: &DecodeConfig) -> Box<dyn Decoder> {
    Box::new(GenericJson)
}

impl Decoder for GenericJson {
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
        let v = parse_json(rec.text)?;
        if !v.is_object() {
            return Err(DecodeError::shape("expected a JSON object"));
        }
        emit_base(&v, rec, out, "json");
        Ok(())
    }
}

/// Write `v` as one base event whose product is `product`.
pub fn emit_base(v: &Value, rec: &Record<'_>, out: &mut Emitter, product: &str) {
    let mut row = out.row(rec, Class::BaseEvent);
    row.str(Field::MetadataProductName, product);
    row.str(Field::MetadataLogName, "json");
    for key in TIME_KEYS {
        if let Some(t) = v.pointer(key).and_then(parse_time) {
            row.time(Field::Time, t);
            row.opt_str(Field::MetadataOriginalTime, text_at(v, key).as_deref());
            break;
        }
    }
    flatten_into(&mut row, v, &[]);
}
