//! Inputs: files, directories (recursively), stdin; plain or gzip.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use flate2::read::MultiGzDecoder;

/// Bytes read from the sources so far (compressed bytes for gzip), for
/// progress and throughput.
pub type ByteCounter = Arc<AtomicU64>;

/// How much of an input is read to tell its format: as much as the
/// default largest record, so one large first event (a PowerShell script
/// block) still fits.
pub const SNIFF_BYTES: usize = 1 << 20;

/// One opened input.
pub struct Input {
    /// The path as given, or `-` for stdin; used in dead letters.
    pub name: String,
    /// The base name, used in stable event ids.
    pub id: String,
    /// The file's modification time (the clock for stdin): the reference
    /// instant for year-less timestamps.
    pub mtime: DateTime<Utc>,
    /// The first bytes, decompressed, for sniffing.
    pub head: Vec<u8>,
    /// The whole decompressed stream, `head` included.
    pub reader: Box<dyn BufRead + Send>,
    /// Whether the bytes were gzip-compressed.
    pub gzip: bool,
    /// The path, when the input is a file.
    pub path: Option<PathBuf>,
}

/// Expand the command-line paths: directories recursively in name order,
/// `-` as stdin. In directories, hidden entries (starting with `.`) are
/// skipped, symbolic links to directories are not followed (a link loop
/// would read the same files forever), and a file reached twice (through
/// a link) is read once. A subdirectory that cannot be listed is returned
/// as a path, so that opening it fails and it becomes a dead letter
/// instead of stopping the run.
///
/// # Errors
///
/// A path given on the command line that does not exist or cannot be
/// listed, naming it.
pub fn expand(paths: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push(p.clone());
            continue;
        }
        let meta = std::fs::metadata(p)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
        if meta.is_dir() {
            let rd = std::fs::read_dir(p)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
            walk(rd, &mut out, &mut seen);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(
    rd: std::fs::ReadDir,
    out: &mut Vec<PathBuf>,
    seen: &mut std::collections::HashSet<PathBuf>,
) {
    let mut entries: Vec<std::fs::DirEntry> = rd.filter_map(Result::ok).collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            match std::fs::read_dir(&p) {
                Ok(rd) => walk(rd, out, seen),
                Err(_) => out.push(p),
            }
        } else if ft.is_symlink() && p.is_dir() {
            continue;
        } else if seen.insert(p.canonicalize().unwrap_or_else(|_| p.clone())) {
            out.push(p);
        }
    }
}

struct Counting<R> {
    inner: R,
    n: ByteCounter,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

/// A reader that fails once with a stored error, then reads as empty.
struct Failing(Option<io::Error>);

impl Read for Failing {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// Open a path (or `-`), undo gzip when the bytes start with its magic,
/// and read the head for sniffing.
///
/// # Errors
///
/// The file cannot be opened, or its first bytes cannot be read (a gzip
/// header that is broken).
pub fn open(path: &Path, counter: &ByteCounter) -> io::Result<Input> {
    let name = path.display().to_string();
    let (raw, mtime, id): (Box<dyn Read + Send>, _, _) = if path.as_os_str() == "-" {
        (Box::new(io::stdin()), Utc::now(), "stdin".to_string())
    } else {
        let f = File::open(path).map_err(|e| io::Error::new(e.kind(), format!("{name}: {e}")))?;
        let mtime = f
            .metadata()
            .and_then(|m| m.modified())
            .map(DateTime::<Utc>::from);
        let id = path
            .file_name()
            .map_or(name.clone(), |n| n.to_string_lossy().into_owned());
        (Box::new(f), mtime.unwrap_or_else(|_| Utc::now()), id)
    };
    let counted = Counting {
        inner: raw,
        n: counter.clone(),
    };
    let mut buffered = BufReader::with_capacity(256 * 1024, counted);
    let gzip = buffered.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    let mut stream: Box<dyn Read + Send> = if gzip {
        Box::new(MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    };
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    // N.B. a stream that breaks inside the head (a short truncated gzip)
    // still yields the bytes before the break; the error comes back when
    // the reader reaches it, so the records before it are kept.
    let rest: Box<dyn Read + Send> = match (&mut stream)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
    {
        Ok(_) => stream,
        Err(e) => Box::new(Failing(Some(e))),
    };
    let reader = BufReader::with_capacity(256 * 1024, Cursor::new(head.clone()).chain(rest));
    let path = (path.as_os_str() != "-").then(|| path.to_path_buf());
    Ok(Input {
        name,
        id,
        mtime,
        head,
        reader: Box::new(reader),
        gzip,
        path,
    })
}
