//! One multi-pattern pass per column for the literals of many rules.
//!
//! Most Sigma values are a literal compared by equality, prefix, suffix or
//! substring (`Image|endswith: '\cmd.exe'`). When several predicates, of
//! any rules, test one field the same way (case-folded or `cased`), their
//! literals go into one Aho-Corasick automaton. Per batch, the first such
//! predicate to run scans the column once with it and keeps, per literal
//! and way of matching (equal, prefix, suffix, anywhere), the rows where
//! it holds; every predicate of the group then intersects its rows in
//! play with that list instead of scanning values again.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};

use super::compile::{Pred, Program, Source, Test};
use super::mapping::Target;
use super::pattern::Matcher;

/// A group being collected: field, case mode, literals and their ids.
type Draft = (Target, bool, Vec<String>, HashMap<String, u32>);

/// Fewer predicates than this on one field are tested one by one.
const MIN_GROUP: usize = 4;

/// Where a predicate's answer comes from in a group scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LitRef {
    pub(crate) group: usize,
    pub(crate) pattern: u32,
    pub(crate) kind: Kind,
}

/// How a literal must sit in the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Eq,
    Prefix,
    Suffix,
    Contains,
}

/// The literals of one field and case mode.
pub(crate) struct Group {
    pub(crate) target: Target,
    pub(crate) cased: bool,
    /// `None` only when the automaton could not be built; no predicate
    /// then points at the group.
    ac: Option<AhoCorasick>,
    /// How many literals the automaton holds.
    patterns: usize,
}

/// A pattern found in one value: its id, and whether it started at the
/// start and ended at the end of the value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hit {
    pattern: u32,
    at_start: bool,
    at_end: bool,
}

impl Group {
    /// Scan one value (lower-cased already unless `cased`).
    fn scan(&self, v: &str, out: &mut Vec<Hit>) {
        let Some(ac) = &self.ac else {
            return;
        };
        for m in ac.find_overlapping_iter(v) {
            out.push(Hit {
                pattern: m.pattern().as_u32(),
                at_start: m.start() == 0,
                at_end: m.end() == v.len(),
            });
        }
    }
}

/// For one batch, the rows where each pattern of a group sits each way
/// (equal, prefix, suffix, anywhere), ascending.
pub(crate) struct GroupRows {
    by_pattern: Vec<[Vec<u32>; 4]>,
}

impl GroupRows {
    fn new(patterns: usize) -> GroupRows {
        GroupRows {
            by_pattern: (0..patterns).map(|_| Default::default()).collect(),
        }
    }

    /// Record the hits of `row`; rows must come in ascending order.
    fn add(&mut self, row: u32, hits: &[Hit]) {
        for h in hits {
            let Some(lists) = self.by_pattern.get_mut(h.pattern as usize) else {
                continue;
            };
            let kinds = [h.at_start && h.at_end, h.at_start, h.at_end, true];
            for (list, on) in lists.iter_mut().zip(kinds) {
                if on && list.last() != Some(&row) {
                    list.push(row);
                }
            }
        }
    }

    /// The rows where `r` holds.
    pub(crate) fn rows(&self, r: LitRef) -> &[u32] {
        let k = match r.kind {
            Kind::Eq => 0,
            Kind::Prefix => 1,
            Kind::Suffix => 2,
            Kind::Contains => 3,
        };
        self.by_pattern
            .get(r.pattern as usize)
            .map_or(&[][..], |l| l[k].as_slice())
    }
}

impl Group {
    /// Scan `vals` (lower-cased already unless the group is `cased`).
    pub(crate) fn scan_all<S: AsRef<str>>(&self, vals: &[Option<S>]) -> GroupRows {
        let mut out = GroupRows::new(self.patterns);
        let mut buf = Vec::new();
        for (row, v) in vals.iter().enumerate() {
            let Some(v) = v else {
                continue;
            };
            buf.clear();
            self.scan(v.as_ref(), &mut buf);
            out.add(u32::try_from(row).unwrap_or(u32::MAX), &buf);
        }
        out
    }
}

fn literal(p: &Pred) -> Option<(&Target, bool, &str, Kind)> {
    let Source::Field(t) = &p.src else {
        return None;
    };
    let Test::Str { m, cased } = &p.test else {
        return None;
    };
    let (s, kind) = match m {
        Matcher::Eq(s) => (s, Kind::Eq),
        Matcher::Prefix(s) => (s, Kind::Prefix),
        Matcher::Suffix(s) => (s, Kind::Suffix),
        Matcher::Contains(s) => (s, Kind::Contains),
        Matcher::Any | Matcher::Regex(_) => return None,
    };
    (!s.is_empty()).then_some((t, *cased, s.as_str(), kind))
}

/// Group the literal predicates of `programs` by field and case mode,
/// build an automaton for each group large enough, and point each of its
/// predicates at it.
pub(crate) fn index(programs: &mut [&mut Program]) -> Vec<Group> {
    let mut counts: HashMap<(Target, bool), usize> = HashMap::new();
    for p in programs.iter().flat_map(|p| p.preds.iter()) {
        if let Some((t, cased, _, _)) = literal(p) {
            *counts.entry((t.clone(), cased)).or_insert(0) += 1;
        }
    }
    let mut groups: Vec<Draft> = Vec::new();
    let mut group_of: HashMap<(Target, bool), usize> = HashMap::new();
    for prog in programs.iter_mut() {
        for p in prog.preds.iter_mut() {
            let Some((t, cased, s, kind)) = literal(p) else {
                continue;
            };
            let key = (t.clone(), cased);
            if counts.get(&key).copied().unwrap_or(0) < MIN_GROUP {
                continue;
            }
            let g = *group_of.entry(key).or_insert_with(|| {
                groups.push((t.clone(), cased, Vec::new(), HashMap::new()));
                groups.len() - 1
            });
            let (_, _, pats, ids) = &mut groups[g];
            let next = u32::try_from(pats.len()).unwrap_or(u32::MAX);
            let pattern = *ids.entry(s.to_string()).or_insert_with(|| {
                pats.push(s.to_string());
                next
            });
            p.lit = Some(LitRef {
                group: g,
                pattern,
                kind,
            });
        }
    }
    build(groups, programs)
}

/// Build the automata; a group that cannot be built (never expected: the
/// literals are bounded) leaves its predicates on the direct path.
fn build(groups: Vec<Draft>, programs: &mut [&mut Program]) -> Vec<Group> {
    let mut out = Vec::with_capacity(groups.len());
    let mut failed = Vec::new();
    for (i, (target, cased, pats, _)) in groups.into_iter().enumerate() {
        let patterns = pats.len();
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&pats);
        if ac.is_err() {
            failed.push(i);
        }
        out.push(Group {
            target,
            cased,
            ac: ac.ok(),
            patterns,
        });
    }
    for p in programs.iter_mut().flat_map(|p| p.preds.iter_mut()) {
        if p.lit.is_some_and(|r| failed.contains(&r.group)) {
            p.lit = None;
        }
    }
    out
}
