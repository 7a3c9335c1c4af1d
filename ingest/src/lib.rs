//! vigil ingest: sources and format decoders that emit class batches.
//!
//! Bytes come from a [`source::Input`] (file, directory, stdin, gzip),
//! are cut into records by [`framing`] (lines, JSON values, EVTX records),
//! and a [`decode::Decoder`] chosen by [`format::sniff`] or `--format`
//! turns each record into rows of a class through an [`emit::Emitter`].
//! A record that cannot be decoded becomes a [`read::DeadLetter`]; the run
//! goes on. [`read::read_input`] drives one input end to end.
//! [`sim`] is a source of its own: a simulated enterprise whose records,
//! in the same vendor formats, come with labelled attacks.
//!
//! ```no_run
//! use vigil_ingest::{read, source};
//! let counter = source::ByteCounter::default();
//! let input = source::open("auth.log".as_ref(), &counter).unwrap();
//! let (format, stats) = read::read_input(input, &Default::default(), &mut |out| match out {
//!     read::Output::Batch(class, batch) => println!("{} {}", class.name(), batch.num_rows()),
//!     read::Output::DeadLetter(dl) => eprintln!("{}:{}: {}", dl.file, dl.line, dl.reason),
//! });
//! ```

pub mod decode;
pub mod emit;
pub mod enrich;
pub mod format;
pub mod formats;
pub mod framing;
pub mod read;
pub mod sim;
pub mod source;
pub mod stream;

pub use decode::{DecodeConfig, DecodeError, Decoder, Record};
pub use format::Format;
