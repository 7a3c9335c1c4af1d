//! vigil's Sigma engine side by side with `rsigma-eval`, on the same
//! Windows events and the same rules. Shared by the criterion bench
//! (`cargo bench -p vigil-detect --bench sigma_eval`) and `vigil bench
//! sigma`, which includes this file by path.
//!
//! What makes the comparison fair:
//!
//! - Events: every input record is decoded once by vigil's Windows
//!   decoders. vigil evaluates the class batches; rsigma-eval evaluates
//!   each row as a flat JSON object of the same fields under the same
//!   names (the `unmapped` entries: every System and EventData field named
//!   as Sigma rules name them, values as written, plus NXLog's `Message`).
//!   Numbers arrive as their decimal text; rsigma-eval compares a rule's
//!   number with such text numerically, as vigil does. Both sides start
//!   from decoded events: neither decoding nor JSON parsing is timed.
//! - Logsources: vigil scopes a rule by `rules/mappings/windows.yml`
//!   (channel and EventID conditions per service and category).
//!   rsigma-eval gets the same conditions as a processing pipeline built
//!   from that file ([`windows_pipeline`]): one `add_condition` per
//!   logsource entry, applied to the rules whose logsource the entry
//!   names, which is how vigil applies them. The product-wide condition on
//!   vigil's `metadata_product_name` column has no source field; every
//!   event here is a Windows one, so rsigma-eval is told the event's
//!   product (`windows`) instead and prunes rules of other products.
//! - Rules: those both engines load, one rule per file, by rule id.
//!
//! A match is a (rule id, event number) pair; event numbers follow the
//! rows of [`Corpus::batches`] in order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray};
use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;
use rsigma_eval::{Engine, JsonEvent, Pipeline, parse_pipeline};
use rsigma_parser::{LogSource, SigmaRule, parse_sigma_yaml};
use serde_json::{Map, Value};
use vigil_detect::sigma::{Mappings, SigmaEngine};
use vigil_ingest::Format;
use vigil_ingest::read::{Output, ReadOptions, read_input};
use vigil_ingest::source::{self, ByteCounter};
use vigil_schemas::Class;

/// The Windows mapping vigil compiles in, read here to build rsigma-eval's
/// pipeline from the same conditions.
const WINDOWS_MAPPING: &str = include_str!("../../../rules/mappings/windows.yml");

/// Rows per vigil batch: the order of a replay batch.
pub const BATCH_ROWS: usize = 8192;

/// Decoded events, in both engines' forms.
pub struct Corpus {
    /// vigil's class batches; event numbers run through them in order.
    pub batches: Vec<(Class, RecordBatch)>,
    /// rsigma-eval's events: event `i` as a flat JSON object.
    pub events: Vec<Value>,
    /// Where event `i` came from: file name and record within the file.
    pub origins: Vec<String>,
    /// Input files read.
    pub files: usize,
    /// Records vigil could not decode (left out of both sides).
    pub dead_letters: usize,
}

/// Files under `paths`: files as given, directories walked for `.json`
/// files (so a regression folder's `.evtx` copies and `info.yml` are not
/// read twice or as events), in path order.
pub fn event_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &|f| f.extension().is_some_and(|x| x == "json"), &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn walk(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for e in entries {
        let p = e.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if p.is_dir() {
            walk(&p, keep, out)?;
        } else if keep(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Decode `paths` (see [`event_files`]) into a [`Corpus`].
///
/// # Errors
///
/// A file that cannot be opened, or one that is not Windows events (the
/// logsource handling above holds for Windows only).
pub fn read_events(paths: &[PathBuf]) -> Result<Corpus, String> {
    let files = event_files(paths)?;
    // Per class: the file's batches, with the file's name.
    let mut parts: BTreeMap<usize, Vec<(String, RecordBatch)>> = BTreeMap::new();
    let mut dead_letters = 0;
    for f in &files {
        let input = source::open(f, &ByteCounter::default())
            .map_err(|e| format!("{}: {e}", f.display()))?;
        let name = f
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let (format, _) = read_input(input, &ReadOptions::default(), &mut |o| match o {
            Output::Batch(class, b) => parts
                .entry(class.index())
                .or_default()
                .push((name.clone(), b)),
            Output::DeadLetter(_) => dead_letters += 1,
        });
        let windows = [
            Format::WindowsJson,
            Format::WindowsEvtxJson,
            Format::WindowsSentinel,
            Format::Evtx,
        ];
        if !format.is_some_and(|f| windows.contains(&f)) {
            let seen = format.map_or("unknown", |f| f.name());
            return Err(format!(
                "{}: read as {seen}, but the comparison is on Windows events",
                f.display()
            ));
        }
    }
    let mut corpus = Corpus {
        batches: Vec::new(),
        events: Vec::new(),
        origins: Vec::new(),
        files: files.len(),
        dead_letters,
    };
    for class in Class::ALL {
        let Some(list) = parts.remove(&class.index()) else {
            continue;
        };
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (name, b) in &list {
            for _ in 0..b.num_rows() {
                let k = seen.entry(name.as_str()).or_insert(0);
                *k += 1;
                corpus
                    .origins
                    .push(format!("{name} ({} record {k})", class.name()));
            }
        }
        let batches: Vec<&RecordBatch> = list.iter().map(|(_, b)| b).collect();
        let all = concat_batches(&class.schema(), batches).map_err(|e| e.to_string())?;
        let mut at = 0;
        while at < all.num_rows() {
            let len = BATCH_ROWS.min(all.num_rows() - at);
            let b = all.slice(at, len);
            corpus.events.extend((0..len).map(|r| json_event(&b, r)));
            corpus.batches.push((class, b));
            at += len;
        }
    }
    Ok(corpus)
}

/// Row `row` as rsigma-eval's event: the `unmapped` fields, and `Message`
/// from the `message` column when the record had one.
fn json_event(b: &RecordBatch, row: usize) -> Value {
    let mut obj = Map::new();
    if let Some(map) = b.column_by_name("unmapped").and_then(|c| c.as_map_opt())
        && map.is_valid(row)
    {
        let (ks, vs) = (
            map.keys().as_string::<i32>(),
            map.values().as_string::<i32>(),
        );
        let offsets = map.value_offsets();
        for j in offsets[row] as usize..offsets[row + 1] as usize {
            if vs.is_valid(j) {
                // First value wins, as vigil reads a repeated key.
                obj.entry(ks.value(j))
                    .or_insert_with(|| Value::String(vs.value(j).to_string()));
            }
        }
    }
    if let Some(m) = b
        .column_by_name("message")
        .and_then(|c| c.as_string_opt::<i32>())
        && m.is_valid(row)
    {
        obj.entry("Message")
            .or_insert_with(|| Value::String(m.value(row).to_string()));
    }
    Value::Object(obj)
}

/// rsigma-eval's processing pipeline with the conditions of vigil's
/// Windows mapping: `unmapped[F]: v` becomes `F: v`, for the rules of the
/// entry's logsource. Conditions on vigil's own columns are left out (see
/// the module docs).
///
/// # Errors
///
/// A condition this translation does not handle (a list of alternatives).
pub fn windows_pipeline() -> Result<Pipeline, String> {
    use yaml_serde::{Mapping, Value as Y};
    let doc: Y = yaml_serde::from_str(WINDOWS_MAPPING).map_err(|e| e.to_string())?;
    let entries = doc
        .get("logsources")
        .and_then(Y::as_sequence)
        .ok_or("windows.yml has no logsources list")?;
    let mut items = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(conds) = e.get("conditions") else {
            continue;
        };
        let conds = conds
            .as_mapping()
            .ok_or_else(|| format!("windows.yml entry {i}: conditions is not one map"))?;
        let mut add = Mapping::new();
        for (k, v) in conds {
            let k = k.as_str().unwrap_or_default();
            if let Some(field) = k
                .strip_prefix("unmapped[")
                .and_then(|r| r.strip_suffix(']'))
            {
                add.insert(Y::from(field), v.clone());
            }
        }
        if add.is_empty() {
            continue;
        }
        let mut ls = Mapping::new();
        ls.insert(Y::from("type"), Y::from("logsource"));
        if let Some(Y::Mapping(keys)) = e.get("logsource") {
            for (k, v) in keys {
                ls.insert(k.clone(), v.clone());
            }
        }
        let mut item = Mapping::new();
        item.insert(Y::from("id"), Y::from(format!("vigil_windows_{i}")));
        item.insert(Y::from("type"), Y::from("add_condition"));
        item.insert(Y::from("conditions"), Y::Mapping(add));
        item.insert(
            Y::from("rule_conditions"),
            Y::Sequence(vec![Y::Mapping(ls)]),
        );
        items.push(Y::Mapping(item));
    }
    let mut p = Mapping::new();
    p.insert(Y::from("name"), Y::from("vigil windows.yml"));
    p.insert(Y::from("priority"), Y::from(10));
    p.insert(Y::from("transformations"), Y::Sequence(items));
    let text = yaml_serde::to_string(&Y::Mapping(p)).map_err(|e| e.to_string())?;
    parse_pipeline(&text).map_err(|e| format!("pipeline from windows.yml: {e}"))
}

/// The logsource rsigma-eval is told every event has.
pub fn windows_logsource() -> LogSource {
    LogSource {
        product: Some("windows".into()),
        ..LogSource::default()
    }
}

/// One rule both engines load.
pub struct SharedRule {
    /// Its `id`.
    pub id: String,
    /// The file it is the only rule of.
    pub file: PathBuf,
    /// As rsigma-parser read it.
    pub rule: SigmaRule,
}

/// The rules both engines load, and why the others are left out.
pub struct RuleSets {
    /// Sorted by rule id.
    pub shared: Vec<SharedRule>,
    /// (file, reason) for each file left out.
    pub left_out: Vec<(PathBuf, String)>,
}

/// Read every rule file under `dir` and keep those both engines load.
///
/// # Errors
///
/// When `dir` cannot be walked.
pub fn shared_rules(dir: &Path, m: &Mappings, p: &Pipeline) -> Result<RuleSets, String> {
    let mut files = Vec::new();
    let yaml = |f: &Path| f.extension().is_some_and(|x| x == "yml" || x == "yaml");
    walk(dir, &yaml, &mut files)?;
    files.sort();
    let mut sets = RuleSets {
        shared: Vec::new(),
        left_out: Vec::new(),
    };
    let mut ids = BTreeSet::new();
    for f in files {
        match shared_rule(&f, m, p) {
            Ok(r) if !ids.insert(r.id.clone()) => {
                sets.left_out
                    .push((f, format!("rule id {} seen before", r.id)));
            }
            Ok(r) => sets.shared.push(r),
            Err(why) => sets.left_out.push((f, why)),
        }
    }
    sets.shared.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(sets)
}

fn shared_rule(f: &Path, m: &Mappings, p: &Pipeline) -> Result<SharedRule, String> {
    let text = std::fs::read_to_string(f).map_err(|e| format!("cannot read: {e}"))?;
    let mut coll = parse_sigma_yaml(&text).map_err(|e| format!("does not parse: {e}"))?;
    if !coll.correlations.is_empty() || !coll.filters.is_empty() || coll.rules.len() != 1 {
        return Err("not exactly one detection rule".into());
    }
    let rule = coll.rules.pop().ok_or("no rule")?;
    let id = rule.id.clone().ok_or("no rule id")?;
    let (vigil, report) = SigmaEngine::from_yaml(&f.display().to_string(), &text, m);
    if vigil.len() != 1 {
        let why = match (report.failed.first(), report.unplaced.first()) {
            (Some(fail), _) => format!("vigil: {}: {}", fail.feature, fail.reason),
            (None, Some(u)) => format!("vigil: no mapping for logsource {}", u.logsource),
            (None, None) => "vigil: not loaded".into(),
        };
        return Err(why);
    }
    let mut rsigma = Engine::new_with_pipeline(p.clone());
    rsigma
        .add_rule(&rule)
        .map_err(|e| format!("rsigma-eval: {e}"))?;
    Ok(SharedRule {
        id,
        file: f.to_path_buf(),
        rule,
    })
}

/// vigil's engine over `rules`.
///
/// # Errors
///
/// When a rule file cannot be read, or a rule that loaded alone does not
/// load with the others.
pub fn vigil_engine(rules: &[SharedRule], m: &Mappings) -> Result<SigmaEngine, String> {
    let paths: Vec<&Path> = rules.iter().map(|r| r.file.as_path()).collect();
    let (e, report) = SigmaEngine::load(&paths, m).map_err(|e| e.to_string())?;
    if e.len() != rules.len() {
        return Err(format!("vigil loaded {} of {} rules", e.len(), rules.len()));
    }
    let _ = report;
    Ok(e)
}

/// rsigma-eval's engine over `rules`, with the pipeline.
///
/// # Errors
///
/// When a rule that compiled alone does not compile here.
pub fn rsigma_engine(rules: &[SharedRule], p: &Pipeline) -> Result<Engine, String> {
    let mut e = Engine::new_with_pipeline(p.clone());
    let errors = e.add_rules(rules.iter().map(|r| &r.rule));
    if let Some((i, err)) = errors.first() {
        return Err(format!("rsigma-eval: rule {}: {err}", rules[*i].id));
    }
    Ok(e)
}

/// (rule id, event number) pairs.
pub type MatchSet = BTreeSet<(String, usize)>;

/// vigil's matches over the corpus.
pub fn vigil_matches(e: &SigmaEngine, c: &Corpus) -> MatchSet {
    let mut out = MatchSet::new();
    let mut base = 0;
    for (class, b) in &c.batches {
        for (r, rows) in e.matches(*class, b) {
            let id = e.rule(r).map_or_else(String::new, |m| m.id.clone());
            out.extend(rows.into_iter().map(|row| (id.clone(), base + row)));
        }
        base += b.num_rows();
    }
    out
}

/// rsigma-eval's matches over the corpus.
pub fn rsigma_matches(e: &Engine, c: &Corpus) -> MatchSet {
    let ls = windows_logsource();
    let mut out = MatchSet::new();
    for (i, v) in c.events.iter().enumerate() {
        for r in e.evaluate_pruned(&JsonEvent::borrow(v), &ls) {
            out.insert((r.header.rule_id.unwrap_or_default(), i));
        }
    }
    out
}

/// One timed vigil pass: evaluate every batch; the number of matches.
pub fn vigil_pass(e: &SigmaEngine, c: &Corpus) -> usize {
    c.batches
        .iter()
        .flat_map(|(class, b)| e.matches(*class, b))
        .map(|(_, rows)| rows.len())
        .sum()
}

/// One timed rsigma-eval pass: evaluate every event; the number of
/// matches.
pub fn rsigma_pass(e: &Engine, c: &Corpus, ls: &LogSource) -> usize {
    c.events
        .iter()
        .map(|v| e.evaluate_pruned(&JsonEvent::borrow(v), ls).len())
        .sum()
}

/// How two match sets differ.
pub struct Agreement {
    /// Matches vigil found.
    pub vigil: usize,
    /// Matches rsigma-eval found.
    pub rsigma: usize,
    /// Found by vigil only, with the reason when it is a known one.
    pub only_vigil: Vec<((String, usize), Option<&'static str>)>,
    /// Found by rsigma-eval only, with the reason when it is a known one.
    pub only_rsigma: Vec<((String, usize), Option<&'static str>)>,
}

impl Agreement {
    /// Differences without a known reason.
    pub fn unexplained(&self) -> usize {
        self.only_vigil
            .iter()
            .chain(&self.only_rsigma)
            .filter(|(_, why)| why.is_none())
            .count()
    }
}

/// Rules on which the engines are known to differ, and why. A difference
/// on any other rule is a bug on one side.
pub const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

/// Compare the two match sets.
pub fn agreement(vigil: &MatchSet, rsigma: &MatchSet) -> Agreement {
    let why = |id: &str| {
        KNOWN_DIFFERENCES
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, w)| *w)
    };
    let tag = |m: &(String, usize)| (m.clone(), why(&m.0));
    Agreement {
        vigil: vigil.len(),
        rsigma: rsigma.len(),
        only_vigil: vigil.difference(rsigma).map(tag).collect(),
        only_rsigma: rsigma.difference(vigil).map(tag).collect(),
    }
}

/// The differences, one line each: which side found the match, the rule
/// and its file, the event and where it came from, and the known reason.
pub fn difference_lines(a: &Agreement, c: &Corpus, rules: &[SharedRule]) -> Vec<String> {
    let file = |id: &str| {
        rules
            .iter()
            .find(|r| r.id == id)
            .map_or_else(String::new, |r| r.file.display().to_string())
    };
    let sides = [
        ("vigil only", &a.only_vigil),
        ("rsigma-eval only", &a.only_rsigma),
    ];
    let mut out = Vec::new();
    for (side, list) in sides {
        for ((id, ev), why) in list {
            let origin = c.origins.get(*ev).map_or("?", String::as_str);
            let event = c.events.get(*ev).map_or_else(String::new, short_event);
            let why = why.unwrap_or("UNEXPLAINED");
            out.push(format!(
                "{side}: rule {id} ({}) on event {ev}, {origin} {event}: {why}",
                file(id)
            ));
        }
    }
    out
}

/// `EventID=.. Channel=..` of an event, to find it in its file.
fn short_event(v: &Value) -> String {
    ["EventID", "Channel", "EventRecordID"]
        .iter()
        .filter_map(|k| Some(format!("{k}={}", v.get(k)?.as_str()?)))
        .collect::<Vec<_>>()
        .join(" ")
}
