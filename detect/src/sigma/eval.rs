//! Evaluating compiled detections over one class batch.
//!
//! [`Columns`] materialises each field a batch's rules read once: a class
//! column as text (numbers and times cast once), an `unmapped` key pulled
//! out of the map for every needed key in one pass over it, and the
//! lower-cased copy that case-insensitive tests read, made once on first
//! use. Expressions are evaluated over a selection of rows (ascending row
//! numbers), so an `and` tests its later parts only on rows the earlier
//! parts kept, an `or` tests each part only on rows not yet matched, and
//! a rule whose logsource conditions keep no row is not evaluated at all.
//! The cost follows the rows in play, not the batch size.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

use arrow::array::{Array, ArrayRef, AsArray, MapArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow_array::RecordBatch;

use super::compile::{Cmp, Expr, Pred, RefKind, Source, Test};
use super::literal::{Group, GroupRows};
use super::mapping::Target;

type Text<'b> = Option<Cow<'b, str>>;

/// One field of the batch as text, and its lower-cased form once needed.
struct Col<'b> {
    orig: Vec<Text<'b>>,
    lower: Option<Vec<Text<'b>>>,
}

impl<'b> Col<'b> {
    fn lower(&mut self) -> &[Text<'b>] {
        let orig = &self.orig;
        self.lower
            .get_or_insert_with(|| orig.iter().map(lower_text).collect())
    }
}

fn lower_text<'b>(t: &Text<'b>) -> Text<'b> {
    let s = t.as_ref()?;
    let changes = if s.is_ascii() {
        s.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        s.chars().any(char::is_uppercase)
    };
    match (changes, s.is_ascii()) {
        (false, _) => Some(s.clone()),
        (true, true) => Some(Cow::Owned(s.to_ascii_lowercase())),
        (true, false) => Some(Cow::Owned(s.to_lowercase())),
    }
}

/// The fields of one batch, materialised on demand.
pub(crate) struct Columns<'b> {
    batch: &'b RecordBatch,
    cols: HashMap<Target, Col<'b>>,
    keywords: Option<Vec<Vec<String>>>,
    groups: &'b [Group],
    /// Per literal group scanned so far, where each literal holds.
    hits: HashMap<usize, GroupRows>,
    /// `unmapped` entries by key: (row, value).
    map_index: Option<MapIndex<'b>>,
}

type MapIndex<'b> = HashMap<&'b str, Vec<(u32, &'b str)>, BuildHasherDefault<FxHasher>>;

/// Every `unmapped` entry of the batch by key, in one pass.
fn index_map(batch: &RecordBatch) -> MapIndex<'_> {
    let mut index = MapIndex::default();
    let Some(map) = unmapped(batch) else {
        return index;
    };
    let (ks, vs) = (
        map.keys().as_string::<i32>(),
        map.values().as_string::<i32>(),
    );
    let offsets = map.value_offsets();
    for row in 0..batch.num_rows() {
        if map.is_null(row) {
            continue;
        }
        let (a, b) = (offsets[row] as usize, offsets[row + 1] as usize);
        for j in (a..b).filter(|j| vs.is_valid(*j)) {
            let r = u32::try_from(row).unwrap_or(u32::MAX);
            index.entry(ks.value(j)).or_default().push((r, vs.value(j)));
        }
    }
    index
}

/// A small multiply-rotate hasher for the short keys of `unmapped`
/// (SipHash costs more than the rest of the lookup).
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl<'b> Columns<'b> {
    pub(crate) fn new(batch: &'b RecordBatch, groups: &'b [Group]) -> Columns<'b> {
        Columns {
            batch,
            cols: HashMap::new(),
            keywords: None,
            groups,
            hits: HashMap::new(),
            map_index: None,
        }
    }

    /// Where the literals of group `g` hold, scanning its column once.
    fn group_rows(&mut self, g: usize) -> Option<&GroupRows> {
        if !self.hits.contains_key(&g) {
            let group = self.groups.get(g)?;
            let col = self.cols.get_mut(&group.target)?;
            let vals: &[Text<'_>] = if group.cased { &col.orig } else { col.lower() };
            let rows = group.scan_all(vals);
            self.hits.insert(g, rows);
        }
        self.hits.get(&g)
    }

    /// Rows in the batch.
    pub(crate) fn len(&self) -> usize {
        self.batch.num_rows()
    }

    /// Materialise every target of `preds` not yet held.
    pub(crate) fn load<'p>(&mut self, preds: impl Iterator<Item = &'p Pred>) {
        for p in preds {
            for t in [pred_target(p), ref_target(p)].into_iter().flatten() {
                if self.cols.contains_key(t) {
                    continue;
                }
                let orig = match t {
                    Target::Column(name) => column_text(self.batch, name),
                    Target::Unmapped(k) => self.unmapped_text(k),
                };
                self.cols.insert(t.clone(), Col { orig, lower: None });
            }
        }
    }

    /// One `unmapped` key as a column; the map is indexed by key once per
    /// batch, on first use.
    fn unmapped_text(&mut self, key: &str) -> Vec<Text<'b>> {
        let batch = self.batch;
        let index = self.map_index.get_or_insert_with(|| index_map(batch));
        let mut out = vec![None; batch.num_rows()];
        for (row, v) in index.get(key).map_or(&[][..], Vec::as_slice) {
            let slot = &mut out[*row as usize];
            if slot.is_none() {
                *slot = Some(Cow::Borrowed(*v));
            }
        }
        out
    }

    fn keywords(&mut self) -> &[Vec<String>] {
        let batch = self.batch;
        self.keywords.get_or_insert_with(|| keyword_texts(batch))
    }
}

fn pred_target(p: &Pred) -> Option<&Target> {
    match &p.src {
        Source::Field(t) => Some(t),
        Source::Keywords => None,
    }
}

fn ref_target(p: &Pred) -> Option<&Target> {
    match &p.test {
        Test::FieldRef(t, _) => Some(t),
        _ => None,
    }
}

fn unmapped(batch: &RecordBatch) -> Option<&MapArray> {
    batch.column_by_name("unmapped")?.as_map_opt()
}

/// A class column as text; all null when the batch has no such column.
fn column_text<'b>(batch: &'b RecordBatch, name: &str) -> Vec<Text<'b>> {
    let n = batch.num_rows();
    let Some(col) = batch.column_by_name(name) else {
        return vec![None; n];
    };
    if let Some(s) = col.as_string_opt::<i32>() {
        return s.iter().map(|v| v.map(Cow::Borrowed)).collect();
    }
    let cast: Option<ArrayRef> = cast(col, &DataType::Utf8).ok();
    match cast.as_ref().and_then(|c| c.as_string_opt::<i32>()) {
        Some(s) => s
            .iter()
            .map(|v| v.map(|v| Cow::Owned(v.to_string())))
            .collect(),
        None => vec![None; n],
    }
}

/// Per row, the lower-cased texts keywords search: message, raw record
/// and every `unmapped` value.
fn keyword_texts(batch: &RecordBatch) -> Vec<Vec<String>> {
    let n = batch.num_rows();
    let mut out: Vec<Vec<String>> = vec![Vec::new(); n];
    for name in ["message", "raw_data"] {
        let Some(s) = batch
            .column_by_name(name)
            .and_then(|c| c.as_string_opt::<i32>())
        else {
            continue;
        };
        for (row, v) in s.iter().enumerate() {
            if let Some(v) = v {
                out[row].push(v.to_lowercase());
            }
        }
    }
    if let Some(map) = unmapped(batch) {
        let vs: &StringArray = map.values().as_string::<i32>();
        let offsets = map.value_offsets();
        for (row, texts) in out.iter_mut().enumerate() {
            let (a, b) = (offsets[row] as usize, offsets[row + 1] as usize);
            texts.extend(
                (a..b)
                    .filter(|j| vs.is_valid(*j))
                    .map(|j| vs.value(j).to_lowercase()),
            );
        }
    }
    out
}

/// Rows of a batch, ascending.
pub(crate) type Rows = Vec<u32>;

/// Evaluate `expr` on the rows `sel` (ascending); returns those that match.
pub(crate) fn eval(expr: &Expr, preds: &[Pred], cols: &mut Columns<'_>, sel: &[u32]) -> Rows {
    match expr {
        Expr::Pred(i) => preds.get(*i).map_or_else(Vec::new, |p| test(p, cols, sel)),
        Expr::And(xs) => {
            let mut m = sel.to_vec();
            for x in xs {
                if m.is_empty() {
                    break;
                }
                m = eval(x, preds, cols, &m);
            }
            m
        }
        Expr::Or(xs) => {
            let mut rest = sel.to_vec();
            let mut acc: Rows = Vec::new();
            for x in xs {
                if rest.is_empty() {
                    break;
                }
                let r = eval(x, preds, cols, &rest);
                if !r.is_empty() {
                    rest = minus(&rest, &r);
                    acc = union(&acc, &r);
                }
            }
            acc
        }
        Expr::Not(x) => minus(sel, &eval(x, preds, cols, sel)),
        Expr::AtLeast(n, xs) => {
            let mut counts: HashMap<u32, usize> = HashMap::new();
            for x in xs {
                for r in eval(x, preds, cols, sel) {
                    *counts.entry(r).or_insert(0) += 1;
                }
            }
            sel.iter()
                .copied()
                .filter(|r| counts.get(r).is_some_and(|c| c >= n))
                .collect()
        }
    }
}

/// Rows in both `a` and `b` (both ascending).
fn intersect(a: &[u32], b: &[u32]) -> Rows {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    small
        .iter()
        .copied()
        .filter(|x| large.binary_search(x).is_ok())
        .collect()
}

/// `a` without `b` (both ascending).
fn minus(a: &[u32], b: &[u32]) -> Rows {
    let mut out = Vec::with_capacity(a.len());
    let mut j = 0;
    for &x in a {
        while j < b.len() && b[j] < x {
            j += 1;
        }
        if j >= b.len() || b[j] != x {
            out.push(x);
        }
    }
    out
}

/// `a` and `b` merged (both ascending, no duplicates).
fn union(a: &[u32], b: &[u32]) -> Rows {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                j += 1;
                i += 1;
                *x
            }
            (Some(x), Some(y)) if x < y => {
                i += 1;
                *x
            }
            (Some(x), None) => {
                i += 1;
                *x
            }
            (_, Some(y)) => {
                j += 1;
                *y
            }
            (None, None) => break,
        };
        out.push(next);
    }
    out
}

fn test(p: &Pred, cols: &mut Columns<'_>, sel: &[u32]) -> Rows {
    let target = match &p.src {
        Source::Keywords => return keyword_test(p, cols, sel),
        Source::Field(t) => t,
    };
    if let Test::FieldRef(other, kind) = &p.test {
        return fieldref(cols, target, other, *kind, sel);
    }
    if let Some(r) = p.lit
        && let Some(rows) = cols.group_rows(r.group)
    {
        return intersect(sel, rows.rows(r));
    }
    let Some(col) = cols.cols.get_mut(target) else {
        return Vec::new();
    };
    let lower = matches!(&p.test, Test::Str { cased: false, .. });
    let vals: &[Text<'_>] = if lower { col.lower() } else { &col.orig };
    keep(sel, |i| value_test(&p.test, vals[i].as_deref()))
}

/// The rows of `sel` for which `f(row)` holds.
fn keep(sel: &[u32], mut f: impl FnMut(usize) -> bool) -> Rows {
    sel.iter().copied().filter(|r| f(*r as usize)).collect()
}

fn keyword_test(p: &Pred, cols: &mut Columns<'_>, sel: &[u32]) -> Rows {
    let Test::Str { m, .. } = &p.test else {
        return Vec::new();
    };
    let texts = cols.keywords();
    keep(sel, |i| texts[i].iter().any(|t| m.is_match(t)))
}

/// One value against one test. `v` is lower-cased for case-insensitive
/// string tests.
fn value_test(t: &Test, v: Option<&str>) -> bool {
    match (t, v) {
        (Test::Null, v) => v.is_none(),
        (Test::Exists(want), v) => v.is_some() == *want,
        (_, None) => false,
        (Test::Str { m, .. }, Some(v)) => m.is_match(v),
        (Test::Regex(r), Some(v)) => r.is_match(v),
        (Test::Cidr(nets), Some(v)) => v
            .trim()
            .parse::<IpAddr>()
            .is_ok_and(|ip| nets.iter().any(|n| n.contains(ip))),
        (Test::Num(cmp, want), Some(v)) => v.trim().parse::<f64>().is_ok_and(|x| match cmp {
            Cmp::Lt => x < *want,
            Cmp::Lte => x <= *want,
            Cmp::Gt => x > *want,
            Cmp::Gte => x >= *want,
        }),
        (Test::FieldRef(..), Some(_)) => false,
    }
}

fn fieldref(cols: &mut Columns<'_>, a: &Target, b: &Target, kind: RefKind, sel: &[u32]) -> Rows {
    let left: Vec<Option<String>> = match cols.cols.get_mut(a) {
        Some(c) => c
            .lower()
            .iter()
            .map(|v| v.as_deref().map(str::to_string))
            .collect(),
        None => return Vec::new(),
    };
    let Some(right) = cols.cols.get_mut(b) else {
        return Vec::new();
    };
    let right = right.lower();
    keep(sel, |i| {
        let (Some(l), Some(r)) = (left[i].as_deref(), right[i].as_deref()) else {
            return false;
        };
        match kind {
            RefKind::Eq => l == r,
            RefKind::Prefix => l.starts_with(r),
            RefKind::Suffix => l.ends_with(r),
            RefKind::Contains => l.contains(r),
        }
    })
}
