//! Evaluating compiled detections over one class batch.
//!
//! [`Columns`] materialises each field a batch's rules read once: a class
//! column as text (numbers and times cast once), an `unmapped` key pulled
//! out of the map for every needed key in one pass over it, and the
//! lower-cased copy that case-insensitive tests read, made once on first
//! use. Expressions are evaluated under a row mask, so an `and` tests its
//! later parts only on rows the earlier parts kept, and a rule whose
//! logsource conditions keep no row is not evaluated at all.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use arrow::array::{Array, ArrayRef, AsArray, MapArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow_array::RecordBatch;

use super::compile::{Cmp, Expr, Pred, RefKind, Source, Test};
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
    if s.chars().any(char::is_uppercase) {
        Some(Cow::Owned(s.to_lowercase()))
    } else {
        Some(s.clone())
    }
}

/// The fields of one batch, materialised on demand.
pub(crate) struct Columns<'b> {
    batch: &'b RecordBatch,
    cols: HashMap<Target, Col<'b>>,
    keywords: Option<Vec<Vec<String>>>,
}

impl<'b> Columns<'b> {
    pub(crate) fn new(batch: &'b RecordBatch) -> Columns<'b> {
        Columns {
            batch,
            cols: HashMap::new(),
            keywords: None,
        }
    }

    /// Rows in the batch.
    pub(crate) fn len(&self) -> usize {
        self.batch.num_rows()
    }

    /// Materialise every target of `preds` not yet held; `unmapped` keys
    /// are all read in one pass over the map.
    pub(crate) fn load<'p>(&mut self, preds: impl Iterator<Item = &'p Pred>) {
        let mut keys: HashSet<&str> = HashSet::new();
        let mut columns: Vec<Target> = Vec::new();
        for p in preds {
            let targets = [pred_target(p), ref_target(p)];
            for t in targets.into_iter().flatten() {
                if self.cols.contains_key(t) {
                    continue;
                }
                match t {
                    Target::Unmapped(k) => {
                        keys.insert(k.as_str());
                    }
                    Target::Column(_) => columns.push(t.clone()),
                }
            }
        }
        for t in columns {
            if let Target::Column(name) = &t {
                let orig = column_text(self.batch, name);
                self.cols.insert(t, Col { orig, lower: None });
            }
        }
        if !keys.is_empty() {
            self.load_unmapped(&keys);
        }
    }

    fn load_unmapped(&mut self, keys: &HashSet<&str>) {
        let n = self.batch.num_rows();
        let mut out: HashMap<&str, Vec<Text<'b>>> =
            keys.iter().map(|k| (*k, vec![None; n])).collect();
        if let Some(map) = unmapped(self.batch) {
            let (ks, vs) = (
                map.keys().as_string::<i32>(),
                map.values().as_string::<i32>(),
            );
            let offsets = map.value_offsets();
            for row in 0..n {
                if map.is_null(row) {
                    continue;
                }
                let (a, b) = (offsets[row] as usize, offsets[row + 1] as usize);
                for j in a..b {
                    if let Some(slot) = out.get_mut(ks.value(j))
                        && slot[row].is_none()
                        && vs.is_valid(j)
                    {
                        slot[row] = Some(Cow::Borrowed(vs.value(j)));
                    }
                }
            }
        }
        for (k, orig) in out {
            let t = Target::Unmapped(k.to_string());
            self.cols.insert(t, Col { orig, lower: None });
        }
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

/// Evaluate `expr` on the rows of `mask`; rows outside it come out false.
pub(crate) fn eval(
    expr: &Expr,
    preds: &[Pred],
    cols: &mut Columns<'_>,
    mask: &[bool],
) -> Vec<bool> {
    match expr {
        Expr::Pred(i) => preds
            .get(*i)
            .map_or_else(|| vec![false; mask.len()], |p| test(p, cols, mask)),
        Expr::And(xs) => {
            let mut m = mask.to_vec();
            for x in xs {
                if !m.iter().any(|b| *b) {
                    break;
                }
                m = eval(x, preds, cols, &m);
            }
            m
        }
        Expr::Or(xs) => {
            let mut acc = vec![false; mask.len()];
            for x in xs {
                let rest: Vec<bool> = mask.iter().zip(&acc).map(|(m, a)| *m && !*a).collect();
                if !rest.iter().any(|b| *b) {
                    break;
                }
                let r = eval(x, preds, cols, &rest);
                acc.iter_mut().zip(r).for_each(|(a, r)| *a |= r);
            }
            acc
        }
        Expr::Not(x) => {
            let r = eval(x, preds, cols, mask);
            mask.iter().zip(r).map(|(m, r)| *m && !r).collect()
        }
        Expr::AtLeast(n, xs) => {
            let mut counts = vec![0usize; mask.len()];
            for x in xs {
                let r = eval(x, preds, cols, mask);
                counts
                    .iter_mut()
                    .zip(r)
                    .for_each(|(c, r)| *c += usize::from(r));
            }
            counts.iter().map(|c| *c >= *n).collect()
        }
    }
}

fn test(p: &Pred, cols: &mut Columns<'_>, mask: &[bool]) -> Vec<bool> {
    let target = match &p.src {
        Source::Keywords => return keyword_test(p, cols, mask),
        Source::Field(t) => t,
    };
    if let Test::FieldRef(other, kind) = &p.test {
        return fieldref(cols, target, other, *kind, mask);
    }
    let Some(col) = cols.cols.get_mut(target) else {
        return vec![false; mask.len()];
    };
    let lower = matches!(&p.test, Test::Str { cased: false, .. });
    let vals: &[Text<'_>] = if lower { col.lower() } else { &col.orig };
    vals.iter()
        .zip(mask)
        .map(|(v, m)| *m && value_test(&p.test, v.as_deref()))
        .collect()
}

fn keyword_test(p: &Pred, cols: &mut Columns<'_>, mask: &[bool]) -> Vec<bool> {
    let Test::Str { m, .. } = &p.test else {
        return vec![false; mask.len()];
    };
    cols.keywords()
        .iter()
        .zip(mask)
        .map(|(texts, on)| *on && texts.iter().any(|t| m.is_match(t)))
        .collect()
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

fn fieldref(
    cols: &mut Columns<'_>,
    a: &Target,
    b: &Target,
    kind: RefKind,
    mask: &[bool],
) -> Vec<bool> {
    let left: Vec<Option<String>> = match cols.cols.get_mut(a) {
        Some(c) => c
            .lower()
            .iter()
            .map(|v| v.as_deref().map(str::to_string))
            .collect(),
        None => return vec![false; mask.len()],
    };
    let Some(right) = cols.cols.get_mut(b) else {
        return vec![false; mask.len()];
    };
    let right = right.lower();
    left.iter()
        .zip(right)
        .zip(mask)
        .map(|((l, r), m)| {
            let (Some(l), Some(r)) = (l.as_deref(), r.as_deref()) else {
                return false;
            };
            *m && match kind {
                RefKind::Eq => l == r,
                RefKind::Prefix => l.starts_with(r),
                RefKind::Suffix => l.ends_with(r),
                RefKind::Contains => l.contains(r),
            }
        })
        .collect()
}
