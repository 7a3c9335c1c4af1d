//! One multi-pattern pass per column for the literals of many rules.
//!
//! Most Sigma values are a literal compared by equality, prefix, suffix or
//! substring (`Image|endswith: '\cmd.exe'`). When several predicates, of
//! any rules, test one field the same way (case-folded or `cased`), their
//! literals go into one Aho-Corasick automaton. Per batch, the first such
//! predicate to run scans the column once with it and keeps, per row, the
//! patterns found and whether each touched the start or end of the value;
//! every predicate of the group then reads its answer from that list
//! instead of scanning the value again.

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
    pub(crate) fn scan(&self, v: &str, out: &mut Vec<Hit>) {
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

/// Order one value's hits by pattern, for [`satisfied`].
pub(crate) fn sort(hits: &mut [Hit]) {
    hits.sort_unstable_by_key(|h| h.pattern);
}

/// Whether the hits of one value (sorted by [`sort`]) satisfy `r`.
pub(crate) fn satisfied(hits: &[Hit], r: LitRef) -> bool {
    let from = hits.partition_point(|h| h.pattern < r.pattern);
    hits[from..]
        .iter()
        .take_while(|h| h.pattern == r.pattern)
        .any(|h| match r.kind {
            Kind::Eq => h.at_start && h.at_end,
            Kind::Prefix => h.at_start,
            Kind::Suffix => h.at_end,
            Kind::Contains => true,
        })
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
        });
    }
    for p in programs.iter_mut().flat_map(|p| p.preds.iter_mut()) {
        if p.lit.is_some_and(|r| failed.contains(&r.group)) {
            p.lit = None;
        }
    }
    out
}
