//! Placeholder until the cloudtrail decoder lands: every record is a dead letter
//! naming the missing decoder, so nothing is silently dropped.

use crate::decode::{DecodeConfig, DecodeError, Decoder, Record};
use crate::emit::Emitter;
#[expect(unused_imports, reason = "placeholder until the decoder lands")]
use crate::format::Format;

struct Pending;

/// A decoder for this format.
pub fn decoder(_cfg: &DecodeConfig) -> Box<dyn Decoder> {
    Box::new(Pending)
}

impl Decoder for Pending {
    fn decode(&mut self, _rec: &Record<'_>, _out: &mut Emitter) -> Result<(), DecodeError> {
        Err(DecodeError::shape(
            "the cloudtrail decoder is not built yet",
        ))
    }
}
