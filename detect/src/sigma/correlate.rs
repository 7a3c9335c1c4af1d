//! Sigma correlation rules, evaluated in event time.
//!
//! A correlation reads the matches of the rules it names (`rules`, by `id`
//! or `name`, base rules or other correlations), groups them by its
//! `group-by` fields and applies its `condition` to each group's events
//! within `timespan`. Types: `event_count`, `value_count`, `temporal`,
//! `temporal_ordered`, and the value aggregations `value_sum`, `value_avg`,
//! `value_percentile`, `value_median` (rsigma-parser's names).
//!
//! # Event time and lateness
//!
//! Correlations that feed each other form a family; each family has a
//! watermark, the newest event time seen by any of its rules minus the
//! allowed lateness (5 s unless [`CorrelationConfig::lateness_us`] says
//! otherwise). Events wait in a buffer until the watermark passes them and
//! are then processed in order of (time, `event_uid`), so events that
//! arrive out of order within the lateness give exactly the result they
//! would in order, and the same input always gives the same findings. An
//! event older than the watermark when it arrives is late: it is counted
//! ([`CorrelationStats::late`]) and left out, so a window already decided
//! is never re-opened. Rows within one batch arrive together, so their
//! order inside the batch never matters. Findings of a condition that can
//! fire early therefore come out up to the lateness after the event that
//! completed it; the rest at [`super::SigmaEngine`]'s `finish`.
//!
//! # Windows
//!
//! The specification asks that the time frame "should not be restricted to
//! boundaries" (pySigma's Splunk output bins time into fixed spans, which
//! the specification lists as a cause of false negatives). So:
//!
//! - Counts that only grow (`event_count`, `value_count`, `temporal`,
//!   `temporal_ordered`) with only lower bounds (`gt`, `gte`) use a sliding
//!   window: a group holds its events of the last `timespan` (an event at
//!   `t` holds the events after `t - timespan`), and the condition is
//!   checked on each event. When it holds, one finding is made, at the time
//!   of that event, and the group's window is then fixed as `[first held
//!   event, first + timespan)`: later events of that span are absorbed
//!   without another finding, and the next event after it starts afresh.
//!   Five failures within a minute give one finding, not one per failure
//!   after the fifth.
//! - Conditions with an upper bound (`lt`, `lte`, `eq`, `neq`, ranges) and
//!   the value aggregations can only be decided once no more events can
//!   join: the window opens at the group's first event, spans `timespan`,
//!   and is decided when the watermark passes its end (or at the end of
//!   input); the finding's time is the window's end.
//!
//! `temporal` counts the distinct rules seen in the window; without a
//! condition every rule must be seen. `temporal_ordered` counts the longest
//! prefix of `rules` matched in order, each event strictly later than the
//! one before (events with equal times have no order); without a condition
//! the whole list must match. rsigma-parser gives an absent condition as
//! `gte: 1`, so an explicit `gte: 1` on a temporal type also means every
//! rule; that holds until the parser keeps the difference.
//!
//! # Groups
//!
//! A group key is the tuple of the `group-by` values, each read through the
//! mapping of the rule that matched (an alias first picks the rule's own
//! field name). An event whose group-by value is missing, empty or `-` (the
//! Windows and Zeek placeholder for "no value") is skipped by that
//! correlation and counted ([`CorrelationStats::missing_group`]); such
//! events are never pooled under one empty key (edge case BH-20). The
//! finding of a correlation that others reference becomes their event,
//! carrying its group-by values under its own group-by names.
//!
//! # Bounds
//!
//! State is bounded per correlation: at most
//! [`CorrelationConfig::max_groups`] group keys (past it the
//! least-recently-active tenth is evicted) and
//! [`CorrelationConfig::max_events`] events held per group (past it the
//! oldest is evicted, so a count threshold above it cannot be reached);
//! both are counted. Held events older than the watermark minus `timespan`
//! can no longer count and are dropped.
//!
//! # generate
//!
//! As the specification says, the rules a correlation references make no
//! findings of their own unless a correlation referencing them sets
//! `generate: true`; rules no correlation references are unaffected.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;

use arrow::array::{Array, ArrayRef, AsArray, MapArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimestampMicrosecondType};
use arrow_array::RecordBatch;
use rsigma_parser::{
    ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType, LogSource,
    WindowMode,
};

use super::RuleMeta;
use super::mapping::{Mappings, Target};

/// Evidence uids listed on one finding; the description gives the total.
pub(crate) const EVIDENCE_CAP: usize = 100;

/// Settings of the correlation stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CorrelationConfig {
    /// How far behind the newest event time (µs) an event may arrive and
    /// still count.
    pub lateness_us: i64,
    /// Group keys held per correlation.
    pub max_groups: usize,
    /// Events held per group.
    pub max_events: usize,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        CorrelationConfig {
            lateness_us: 5_000_000,
            max_groups: 100_000,
            max_events: 10_000,
        }
    }
}

/// What the correlation stage left out or evicted, summed over all
/// correlations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrelationStats {
    /// Events older than their family's watermark on arrival.
    pub late: u64,
    /// Events without a value for a `group-by` field.
    pub missing_group: u64,
    /// Events without the condition's `field` (or, for the value
    /// aggregations, without a number there).
    pub missing_value: u64,
    /// Events without a time.
    pub no_time: u64,
    /// Groups evicted by the group cap, their windows undecided.
    pub evicted_groups: u64,
    /// Events evicted by the per-group cap.
    pub evicted_events: u64,
}

impl CorrelationStats {
    fn add(&mut self, o: &CorrelationStats) {
        self.late += o.late;
        self.missing_group += o.missing_group;
        self.missing_value += o.missing_value;
        self.no_time += o.no_time;
        self.evicted_groups += o.evicted_groups;
        self.evicted_events += o.evicted_events;
    }
}

/// What a base rule looks like to the correlations that name it.
pub(crate) struct BaseRule {
    pub id: Option<String>,
    pub name: Option<String>,
    pub logsource: LogSource,
}

/// A correlation that did not load: the document's file, id and reason.
pub(crate) struct Rejected {
    pub file: PathBuf,
    pub id: Option<String>,
    pub reason: String,
}

/// The kind of entity a group-by value names, for the finding's entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntityKind {
    User,
    Device,
    Ip,
}

impl EntityKind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Device => "device",
            EntityKind::Ip => "ip",
        }
    }

    /// The kind a field holds: by its column, else by words in its name.
    fn of(target: &Target) -> Option<EntityKind> {
        match target {
            Target::Column(c) => match c.as_str() {
                "user_name" | "user_uid" | "user_email_addr" | "actor_user_name" => {
                    Some(EntityKind::User)
                }
                "device_hostname"
                | "device_uid"
                | "src_endpoint_hostname"
                | "dst_endpoint_hostname" => Some(EntityKind::Device),
                "src_endpoint_ip" | "dst_endpoint_ip" => Some(EntityKind::Ip),
                _ => None,
            },
            Target::Unmapped(k) => {
                let k = k.to_ascii_lowercase();
                let has = |words: &[&str]| words.iter().any(|w| k.contains(w));
                if has(&["user", "account", "alternateid", "principal"]) {
                    Some(EntityKind::User)
                } else if has(&["ipaddress", "address", "_ip", ".ip"]) || k == "ip" {
                    Some(EntityKind::Ip)
                } else if has(&["host", "computer", "workstation", "device"]) {
                    Some(EntityKind::Device)
                } else {
                    None
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Rule(usize),
    Corr(usize),
}

/// Where an input reads one field.
#[derive(Debug, Clone)]
enum Get {
    /// From the matched event, through its rule's mapping.
    Target(Target),
    /// From a referenced correlation's finding: its n-th group-by value.
    Key(usize),
    /// The referenced correlation does not group by this field.
    Never,
}

/// How one input reads a field name: the getter and the entity kind.
type FieldOf<'a> = Box<dyn Fn(&str) -> (Get, Option<EntityKind>) + 'a>;

/// One entry of `rules`.
#[derive(Debug)]
struct Input {
    src: Source,
    group: Vec<Get>,
    value: Option<Get>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    Sum,
    Avg,
    Percentile(f64),
}

impl Kind {
    fn numeric(self) -> bool {
        matches!(self, Kind::Sum | Kind::Avg | Kind::Percentile(_))
    }
}

/// An event as one correlation sees it.
#[derive(Debug, Clone)]
struct Ev {
    time: i64,
    uid: String,
    slot: usize,
    key: Vec<String>,
    value: Option<String>,
}

/// An event held in a group's window.
#[derive(Debug, Clone)]
struct Held {
    time: i64,
    uid: String,
    slot: usize,
    value: Option<String>,
}

/// The best chain for a prefix of `rules` (temporal_ordered).
#[derive(Debug, Clone)]
struct Chain {
    start: i64,
    last: i64,
    uids: Vec<String>,
}

#[derive(Debug, Default)]
struct Group {
    held: VecDeque<Held>,
    distinct: HashMap<String, usize>,
    per_slot: Vec<usize>,
    chains: Vec<Option<Chain>>,
    /// After a sliding window fired: its end; earlier events are absorbed.
    quiet_until: Option<i64>,
    /// Fixed windows: start and first event.
    start: i64,
    first_uid: String,
    /// Newest event time, for the group cap.
    last: i64,
}

impl Group {
    fn new(slots: usize) -> Group {
        Group {
            per_slot: vec![0; slots],
            chains: vec![None; slots],
            ..Group::default()
        }
    }

    fn push(&mut self, h: Held) {
        self.per_slot[h.slot] += 1;
        if let Some(v) = &h.value {
            *self.distinct.entry(v.clone()).or_insert(0) += 1;
        }
        self.held.push_back(h);
    }

    fn pop_front(&mut self) -> Option<Held> {
        let h = self.held.pop_front()?;
        self.per_slot[h.slot] -= 1;
        if let Some(v) = &h.value
            && let Some(n) = self.distinct.get_mut(v)
        {
            *n -= 1;
            if *n == 0 {
                self.distinct.remove(v);
            }
        }
        Some(h)
    }

    /// Drop held events and chains at or before `cutoff`.
    fn expire(&mut self, cutoff: i64) {
        while self.held.front().is_some_and(|h| h.time <= cutoff) {
            self.pop_front();
        }
        for c in &mut self.chains {
            if c.as_ref().is_some_and(|c| c.start <= cutoff) {
                *c = None;
            }
        }
    }

    fn clear(&mut self) {
        let slots = self.per_slot.len();
        let last = self.last;
        *self = Group::new(slots);
        self.last = last;
    }

    fn is_idle(&self) -> bool {
        self.held.is_empty()
            && self.quiet_until.is_none()
            && self.chains.iter().all(Option::is_none)
    }
}

/// A correlation that fired.
#[derive(Debug, Clone)]
pub(crate) struct Alert {
    /// Index of the correlation.
    pub corr: usize,
    /// The completing event's time, or the window's end.
    pub time: i64,
    /// The group-by values.
    pub key: Vec<String>,
    /// Uid of the window's first event.
    pub first_uid: String,
    /// Uids of the contributing events, oldest first.
    pub evidence: Vec<String>,
    /// The count or value the condition held for.
    pub value: f64,
}

/// One loaded correlation and its state.
pub(crate) struct Correlation {
    pub meta: RuleMeta,
    pub type_name: &'static str,
    pub span_text: String,
    pub condition_text: String,
    pub group_names: Vec<String>,
    pub group_kinds: Vec<Option<EntityKind>>,
    /// Whether its findings are output (see `generate`).
    pub emit: bool,
    kind: Kind,
    inputs: Vec<Input>,
    span: i64,
    preds: Vec<(ConditionOperator, f64)>,
    early: bool,
    family: usize,
    /// Correlations fed by this one's findings: (index, slot).
    consumers: Vec<(usize, usize)>,
    pending: Vec<Ev>,
    groups: HashMap<Vec<String>, Group>,
    stats: CorrelationStats,
}

/// All loaded correlations, in an order where every correlation comes
/// after those it references.
#[derive(Default)]
pub(crate) struct Correlations {
    pub list: Vec<Correlation>,
    /// Per base rule: the correlations and slots it feeds.
    by_rule: Vec<Vec<(usize, usize)>>,
    /// Watermark per family.
    marks: Vec<i64>,
    config: CorrelationConfig,
}

impl Correlations {
    pub(crate) fn config(&self) -> CorrelationConfig {
        self.config
    }

    pub(crate) fn set_config(&mut self, c: CorrelationConfig) {
        self.config = c;
    }

    pub(crate) fn stats(&self) -> CorrelationStats {
        let mut s = CorrelationStats::default();
        for c in &self.list {
            s.add(&c.stats);
        }
        s
    }

    /// Take the base rule matches of one batch; returns what fired.
    pub(crate) fn feed(&mut self, batch: &RecordBatch, hits: &[(usize, Vec<usize>)]) -> Vec<Alert> {
        if self.list.is_empty() || hits.is_empty() {
            return Vec::new();
        }
        let mut reader = Reader::new(batch);
        let mut newest: Vec<Option<i64>> = vec![None; self.marks.len()];
        for (rule, rows) in hits {
            let Some(feeds) = self.by_rule.get(*rule) else {
                continue;
            };
            for &(ci, slot) in feeds {
                let c = &mut self.list[ci];
                let mark = self.marks[c.family];
                for &row in rows {
                    let Some(time) = reader.time(row) else {
                        c.stats.no_time += 1;
                        continue;
                    };
                    let n = &mut newest[c.family];
                    *n = Some(n.map_or(time, |x| x.max(time)));
                    if time < mark {
                        c.stats.late += 1;
                        continue;
                    }
                    let input = &c.inputs[slot];
                    let Some(key) = read_key(&input.group, |t| reader.text(t, row)) else {
                        c.stats.missing_group += 1;
                        continue;
                    };
                    let value = match &input.value {
                        None => None,
                        Some(Get::Target(t)) => match reader.text(t, row) {
                            Some(v) if !c.kind.numeric() || number(&v).is_some() => Some(v),
                            _ => {
                                c.stats.missing_value += 1;
                                continue;
                            }
                        },
                        Some(_) => {
                            c.stats.missing_value += 1;
                            continue;
                        }
                    };
                    let uid = reader.uid(row);
                    c.pending.push(Ev {
                        time,
                        uid,
                        slot,
                        key,
                        value,
                    });
                }
            }
        }
        let lateness = self.config.lateness_us;
        let mut out = Vec::new();
        for (family, n) in newest.into_iter().enumerate() {
            if let Some(n) = n {
                let w = n.saturating_sub(lateness);
                if w > self.marks[family] {
                    self.marks[family] = w;
                    self.advance(family, w, &mut out);
                }
            }
        }
        out
    }

    /// End of input: process everything held and decide open windows.
    pub(crate) fn finish(&mut self) -> Vec<Alert> {
        let mut out = Vec::new();
        for family in 0..self.marks.len() {
            self.marks[family] = i64::MAX;
            self.advance(family, i64::MAX, &mut out);
        }
        out
    }

    /// Process a family's events before the watermark `w`, inner
    /// correlations first, and close the windows `w` ends.
    fn advance(&mut self, family: usize, w: i64, out: &mut Vec<Alert>) {
        let config = self.config;
        for ci in 0..self.list.len() {
            if self.list[ci].family != family {
                continue;
            }
            let c = &mut self.list[ci];
            let (mut ready, rest): (Vec<Ev>, Vec<Ev>) = std::mem::take(&mut c.pending)
                .into_iter()
                .partition(|e| e.time < w);
            c.pending = rest;
            ready.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.uid.cmp(&b.uid)));
            let mut fired = Vec::new();
            for ev in ready {
                if let Some(a) = c.step(ci, ev, &config) {
                    fired.push(a);
                }
            }
            c.sweep(ci, w, &mut fired);
            for a in fired {
                let fid = super::finding::correlation_uid(&self.list[ci].meta.id, &a);
                let consumers = self.list[ci].consumers.clone();
                for (oi, slot) in consumers {
                    let outer = &mut self.list[oi];
                    let input = &outer.inputs[slot];
                    let Some(key) = key_from(&input.group, &a.key) else {
                        outer.stats.missing_group += 1;
                        continue;
                    };
                    let value = match &input.value {
                        None => None,
                        Some(Get::Key(i)) => a.key.get(*i).cloned(),
                        Some(_) => None,
                    };
                    if input.value.is_some() && value.is_none() {
                        outer.stats.missing_value += 1;
                        continue;
                    }
                    outer.pending.push(Ev {
                        time: a.time,
                        uid: fid.clone(),
                        slot,
                        key,
                        value,
                    });
                }
                if self.list[ci].emit {
                    out.push(a);
                }
            }
        }
    }
}

/// The group key from an inner correlation's key.
fn key_from(group: &[Get], inner: &[String]) -> Option<Vec<String>> {
    group
        .iter()
        .map(|g| match g {
            Get::Key(i) => inner.get(*i).cloned(),
            _ => None,
        })
        .collect()
}

/// The group key read through `text`; `None` if a value is missing.
/// With no group-by fields every event shares the empty key.
fn read_key(group: &[Get], mut text: impl FnMut(&Target) -> Option<String>) -> Option<Vec<String>> {
    if group.iter().any(|g| !matches!(g, Get::Target(_))) {
        return None;
    }
    group
        .iter()
        .map(|g| match g {
            Get::Target(t) => text(t).filter(|v| has_value(v)),
            _ => None,
        })
        .collect()
}

/// Empty and `-` are no value (edge case BH-20).
fn has_value(v: &str) -> bool {
    let v = v.trim();
    !v.is_empty() && v != "-"
}

fn number(v: &str) -> Option<f64> {
    v.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

impl Correlation {
    fn meets(&self, value: f64) -> bool {
        self.preds.iter().all(|(op, want)| match op {
            ConditionOperator::Lt => value < *want,
            ConditionOperator::Lte => value <= *want,
            ConditionOperator::Gt => value > *want,
            ConditionOperator::Gte => value >= *want,
            ConditionOperator::Eq => value == *want,
            ConditionOperator::Neq => value != *want,
        })
    }

    /// The group for `key`, making room under the group cap.
    fn group(&mut self, key: &[String], config: &CorrelationConfig) -> &mut Group {
        if !self.groups.contains_key(key) && self.groups.len() >= config.max_groups.max(1) {
            let mut lasts: Vec<(i64, Vec<String>)> = self
                .groups
                .iter()
                .map(|(k, g)| (g.last, k.clone()))
                .collect();
            let n = (lasts.len() / 10).max(1);
            lasts.sort();
            for (_, k) in lasts.into_iter().take(n) {
                self.groups.remove(&k);
                self.stats.evicted_groups += 1;
            }
        }
        let slots = self.inputs.len();
        self.groups
            .entry(key.to_vec())
            .or_insert_with(|| Group::new(slots))
    }

    /// Process one event in time order.
    fn step(&mut self, ci: usize, ev: Ev, config: &CorrelationConfig) -> Option<Alert> {
        let (early, span, kind) = (self.early, self.span, self.kind);
        let max_events = config.max_events.max(1);
        let g = self.group(&ev.key, config);
        g.last = g.last.max(ev.time);
        let held = Held {
            time: ev.time,
            uid: ev.uid,
            slot: ev.slot,
            value: ev.value,
        };
        let mut evicted = 0;
        let alert = if early {
            if let Some(q) = g.quiet_until {
                if ev.time < q {
                    return None;
                }
                g.clear();
            }
            g.expire(ev.time.saturating_sub(span));
            if kind == Kind::TemporalOrdered {
                extend_chains(g, &held);
            }
            g.push(held);
            while g.held.len() > max_events {
                g.pop_front();
                evicted += 1;
            }
            let (value, start, first, evidence) = sliding_value(g, kind);
            if self.meets(value) {
                let g = self.groups.get_mut(&ev.key)?;
                g.clear();
                g.quiet_until = Some(start.saturating_add(span));
                Some(Alert {
                    corr: ci,
                    time: ev.time,
                    key: ev.key,
                    first_uid: first,
                    evidence,
                    value,
                })
            } else {
                None
            }
        } else {
            let mut a = None;
            if !g.held.is_empty() && ev.time >= g.start.saturating_add(span) {
                let (start, first) = (g.start, g.first_uid.clone());
                let (value, evidence) = fixed_value(g, kind);
                g.clear();
                a = Some((start, first, value, evidence));
            }
            if g.held.is_empty() {
                g.start = held.time;
                g.first_uid = held.uid.clone();
            }
            g.push(held);
            while g.held.len() > max_events {
                g.pop_front();
                evicted += 1;
            }
            match a {
                Some((start, first, value, evidence)) if self.meets(value) => Some(Alert {
                    corr: ci,
                    time: start.saturating_add(span),
                    key: ev.key,
                    first_uid: first,
                    evidence,
                    value,
                }),
                _ => None,
            }
        };
        self.stats.evicted_events += evicted;
        alert
    }

    /// Drop what the watermark `w` makes useless and decide the fixed
    /// windows it closes.
    fn sweep(&mut self, ci: usize, w: i64, fired: &mut Vec<Alert>) {
        let (span, early, kind) = (self.span, self.early, self.kind);
        let mut decided = Vec::new();
        let cutoff = w.saturating_sub(span);
        self.groups.retain(|key, g| {
            if early {
                if g.quiet_until.is_some_and(|q| q <= w) {
                    g.quiet_until = None;
                }
                g.expire(cutoff);
                return !g.is_idle();
            }
            if !g.held.is_empty() && g.start.saturating_add(span) <= w {
                let (value, evidence) = fixed_value(g, kind);
                decided.push((key.clone(), g.start, g.first_uid.clone(), value, evidence));
                return false;
            }
            !g.held.is_empty()
        });
        decided.sort_by(|a, b| (a.1, &a.2).cmp(&(b.1, &b.2)));
        for (key, start, first_uid, value, evidence) in decided {
            if self.meets(value) {
                fired.push(Alert {
                    corr: ci,
                    time: start.saturating_add(span),
                    key,
                    first_uid,
                    evidence,
                    value,
                });
            }
        }
    }
}

/// temporal_ordered: extend the best chain of each prefix with `h`.
fn extend_chains(g: &mut Group, h: &Held) {
    let j = h.slot;
    let candidate = if j == 0 {
        Some(Chain {
            start: h.time,
            last: h.time,
            uids: vec![h.uid.clone()],
        })
    } else {
        g.chains[j - 1]
            .as_ref()
            .filter(|prev| prev.last < h.time)
            .map(|prev| {
                let mut uids = prev.uids.clone();
                uids.push(h.uid.clone());
                Chain {
                    start: prev.start,
                    last: h.time,
                    uids,
                }
            })
    };
    if let Some(c) = candidate
        && g.chains[j].as_ref().is_none_or(|old| c.start >= old.start)
    {
        g.chains[j] = Some(c);
    }
}

/// A sliding window's value, start, first uid and evidence.
fn sliding_value(g: &Group, kind: Kind) -> (f64, i64, String, Vec<String>) {
    if kind == Kind::TemporalOrdered {
        let done = g.chains.iter().take_while(|c| c.is_some()).count();
        let Some(Some(c)) = done.checked_sub(1).map(|i| &g.chains[i]) else {
            return (0.0, 0, String::new(), Vec::new());
        };
        return (done as f64, c.start, c.uids[0].clone(), c.uids.clone());
    }
    let value = match kind {
        Kind::EventCount => g.held.len() as f64,
        Kind::ValueCount => g.distinct.len() as f64,
        _ => g.per_slot.iter().filter(|n| **n > 0).count() as f64,
    };
    let (start, first) = g
        .held
        .front()
        .map(|h| (h.time, h.uid.clone()))
        .unwrap_or_default();
    let evidence = g.held.iter().map(|h| h.uid.clone()).collect();
    (value, start, first, evidence)
}

/// A fixed window's value and evidence.
fn fixed_value(g: &Group, kind: Kind) -> (f64, Vec<String>) {
    let evidence = g.held.iter().map(|h| h.uid.clone()).collect();
    let mut nums: Vec<f64> = g
        .held
        .iter()
        .filter_map(|h| h.value.as_deref().and_then(number))
        .collect();
    let value = match kind {
        Kind::EventCount => g.held.len() as f64,
        Kind::ValueCount => g.distinct.len() as f64,
        Kind::Temporal | Kind::TemporalOrdered => {
            g.per_slot.iter().filter(|n| **n > 0).count() as f64
        }
        Kind::Sum => nums.iter().sum(),
        Kind::Avg if nums.is_empty() => 0.0,
        Kind::Avg => nums.iter().sum::<f64>() / nums.len() as f64,
        Kind::Percentile(p) => percentile(&mut nums, p),
    };
    (value, evidence)
}

/// The `p`-th percentile (0–100), interpolating between the two nearest
/// ranks; 0 for no values.
fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let rank = p / 100.0 * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
}

/// Reads event fields of one batch.
struct Reader<'b> {
    batch: &'b RecordBatch,
    time: Option<&'b arrow::array::PrimitiveArray<TimestampMicrosecondType>>,
    uid: Option<&'b StringArray>,
    map: Option<&'b MapArray>,
    casts: HashMap<String, Option<ArrayRef>>,
}

impl<'b> Reader<'b> {
    fn new(batch: &'b RecordBatch) -> Reader<'b> {
        Reader {
            batch,
            time: batch
                .column_by_name("time")
                .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>()),
            uid: batch
                .column_by_name("event_uid")
                .and_then(|c| c.as_string_opt::<i32>()),
            map: batch
                .column_by_name("unmapped")
                .and_then(|c| c.as_map_opt()),
            casts: HashMap::new(),
        }
    }

    fn time(&self, row: usize) -> Option<i64> {
        self.time.filter(|t| t.is_valid(row)).map(|t| t.value(row))
    }

    fn uid(&self, row: usize) -> String {
        self.uid
            .filter(|u| u.is_valid(row))
            .map(|u| u.value(row).to_string())
            .unwrap_or_default()
    }

    fn text(&mut self, t: &Target, row: usize) -> Option<String> {
        match t {
            Target::Column(name) => {
                let batch = self.batch;
                let col = self
                    .casts
                    .entry(name.clone())
                    .or_insert_with(|| {
                        let c = batch.column_by_name(name)?;
                        cast(c, &DataType::Utf8).ok()
                    })
                    .as_ref()?;
                let s = col.as_string_opt::<i32>()?;
                s.is_valid(row).then(|| s.value(row).to_string())
            }
            Target::Unmapped(key) => {
                let map = self.map?;
                if map.is_null(row) {
                    return None;
                }
                let (ks, vs) = (
                    map.keys().as_string::<i32>(),
                    map.values().as_string::<i32>(),
                );
                let offsets = map.value_offsets();
                let (a, b) = (offsets[row] as usize, offsets[row + 1] as usize);
                (a..b)
                    .find(|&j| ks.value(j) == key && vs.is_valid(j))
                    .map(|j| vs.value(j).to_string())
            }
        }
    }
}

/// Load correlations against the base rules (by index) and mappings.
/// Returns the loaded ones, which base rules still emit findings, and the
/// correlations that did not load.
pub(crate) fn compile(
    docs: Vec<(PathBuf, CorrelationRule)>,
    rules: &[BaseRule],
    unloaded: &HashMap<String, String>,
    mappings: &Mappings,
) -> (Correlations, Vec<bool>, Vec<Rejected>) {
    let mut names: HashMap<&str, Vec<Source>> = HashMap::new();
    for (i, r) in rules.iter().enumerate() {
        for n in [&r.id, &r.name].into_iter().flatten() {
            names.entry(n.as_str()).or_default().push(Source::Rule(i));
        }
    }
    for (j, (_, d)) in docs.iter().enumerate() {
        for n in [&d.id, &d.name].into_iter().flatten() {
            names.entry(n.as_str()).or_default().push(Source::Corr(j));
        }
    }
    for v in names.values_mut() {
        v.dedup();
    }
    let mut cx = Cx {
        docs: &docs,
        rules,
        unloaded,
        mappings,
        names: &names,
        state: vec![Visit::Todo; docs.len()],
        done: Vec::new(),
    };
    for j in 0..docs.len() {
        cx.visit(j);
    }
    let Cx { state, done, .. } = cx;
    let mut rejected = Vec::new();
    for (j, s) in state.into_iter().enumerate() {
        if let Visit::Failed(reason) = s {
            let (file, d) = &docs[j];
            rejected.push(Rejected {
                file: file.clone(),
                id: d.id.clone().or_else(|| d.name.clone()),
                reason,
            });
        }
    }
    // Renumber from document index to load order.
    let order: HashMap<usize, usize> = done.iter().enumerate().map(|(i, (j, _))| (*j, i)).collect();
    let doc_of: Vec<usize> = done.iter().map(|(j, _)| *j).collect();
    let mut list: Vec<Correlation> = done.into_iter().map(|(_, c)| c).collect();
    for c in &mut list {
        for input in &mut c.inputs {
            if let Source::Corr(j) = input.src {
                input.src = Source::Corr(order[&j]);
            }
        }
    }
    // generate: a referenced rule emits only if some referencing
    // correlation asks for it.
    let mut rule_emit: Vec<Option<bool>> = vec![None; rules.len()];
    let mut corr_emit: Vec<Option<bool>> = vec![None; list.len()];
    let mut by_rule = vec![Vec::new(); rules.len()];
    let mut parent: Vec<usize> = (0..list.len()).collect();
    for (ci, j) in doc_of.into_iter().enumerate() {
        let generate = docs[j].1.generate;
        let c = &list[ci];
        let srcs: Vec<Source> = c.inputs.iter().map(|i| i.src).collect();
        for (slot, src) in srcs.into_iter().enumerate() {
            match src {
                Source::Rule(r) => {
                    by_rule[r].push((ci, slot));
                    let e = &mut rule_emit[r];
                    *e = Some(e.unwrap_or(false) || generate);
                }
                Source::Corr(inner) => {
                    list[inner].consumers.push((ci, slot));
                    let e = &mut corr_emit[inner];
                    *e = Some(e.unwrap_or(false) || generate);
                    union(&mut parent, inner, ci);
                }
            }
        }
    }
    let mut families: HashMap<usize, usize> = HashMap::new();
    for ci in 0..list.len() {
        let root = find(&mut parent, ci);
        let n = families.len();
        list[ci].family = *families.entry(root).or_insert(n);
        list[ci].emit = corr_emit[ci].unwrap_or(true);
    }
    let corrs = Correlations {
        marks: vec![i64::MIN; families.len()],
        list,
        by_rule,
        config: CorrelationConfig::default(),
    };
    let emit = rule_emit.into_iter().map(|e| e.unwrap_or(true)).collect();
    (corrs, emit, rejected)
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        parent[ra] = rb;
    }
}

#[derive(Clone)]
enum Visit {
    Todo,
    Busy,
    /// Loaded: its index in `done`.
    Done(usize),
    Failed(String),
}

/// Loading state: correlations are loaded depth first, so a correlation
/// is loaded after those it references.
struct Cx<'a> {
    docs: &'a [(PathBuf, CorrelationRule)],
    rules: &'a [BaseRule],
    unloaded: &'a HashMap<String, String>,
    mappings: &'a Mappings,
    names: &'a HashMap<&'a str, Vec<Source>>,
    state: Vec<Visit>,
    /// Loaded correlations with their document index, in load order.
    done: Vec<(usize, Correlation)>,
}

impl Cx<'_> {
    fn visit(&mut self, j: usize) {
        if !matches!(self.state[j], Visit::Todo) {
            return;
        }
        self.state[j] = Visit::Busy;
        self.state[j] = match self.load(j) {
            Ok(c) => {
                self.done.push((j, c));
                Visit::Done(self.done.len() - 1)
            }
            Err(e) => Visit::Failed(e),
        };
    }

    fn load(&mut self, j: usize) -> Result<Correlation, String> {
        let (docs, rules, mappings) = (self.docs, self.rules, self.mappings);
        let d = &docs[j].1;
        if d.window != WindowMode::Sliding {
            return Err(format!(
                "window {} is not supported (only the default sliding window)",
                d.window.as_str()
            ));
        }
        if d.rules.is_empty() {
            return Err("no rules referenced".into());
        }
        let (preds, field, percentile) = match &d.condition {
            CorrelationCondition::Threshold {
                predicates,
                field,
                percentile,
            } => (predicates.clone(), field.clone(), *percentile),
            CorrelationCondition::Extended(_) => {
                return Err(
                    "a condition expression is not part of the Sigma specification; \
                     use a threshold map"
                        .into(),
                );
            }
        };
        let kind = match d.correlation_type {
            CorrelationType::EventCount => Kind::EventCount,
            CorrelationType::ValueCount => Kind::ValueCount,
            CorrelationType::Temporal => Kind::Temporal,
            CorrelationType::TemporalOrdered => Kind::TemporalOrdered,
            CorrelationType::ValueSum => Kind::Sum,
            CorrelationType::ValueAvg => Kind::Avg,
            CorrelationType::ValueMedian => Kind::Percentile(50.0),
            CorrelationType::ValuePercentile => {
                let p = percentile.unwrap_or(50);
                if p > 100 {
                    return Err(format!("percentile {p} is not within 0..100"));
                }
                Kind::Percentile(p as f64)
            }
        };
        let value_field = match (&field, kind) {
            (Some(f), _) if f.len() > 1 => {
                return Err("more than one condition field is not supported".into());
            }
            (None, Kind::ValueCount | Kind::Sum | Kind::Avg | Kind::Percentile(_)) => {
                return Err(format!(
                    "{} needs a field in its condition",
                    d.correlation_type.as_str()
                ));
            }
            (Some(f), _)
                if matches!(
                    kind,
                    Kind::EventCount | Kind::Temporal | Kind::TemporalOrdered
                ) =>
            {
                return Err(format!(
                    "{} takes no condition field (found {})",
                    d.correlation_type.as_str(),
                    f[0]
                ));
            }
            (f, _) => f.as_ref().and_then(|f| f.first().cloned()),
        };
        let n = d.rules.len();
        let temporal = matches!(kind, Kind::Temporal | Kind::TemporalOrdered);
        let mut preds: Vec<(ConditionOperator, f64)> =
            preds.into_iter().map(|(op, v)| (op, v as f64)).collect();
        if temporal && preds == [(ConditionOperator::Gte, 1.0)] {
            preds = vec![(ConditionOperator::Gte, n as f64)];
        }
        let grows = matches!(
            kind,
            Kind::EventCount | Kind::ValueCount | Kind::Temporal | Kind::TemporalOrdered
        );
        let early = grows
            && preds
                .iter()
                .all(|(op, _)| matches!(op, ConditionOperator::Gt | ConditionOperator::Gte));
        if kind == Kind::TemporalOrdered && !early {
            return Err("temporal_ordered takes only gt/gte conditions".into());
        }
        let span = i64::try_from(d.timespan.seconds)
            .ok()
            .and_then(|s| s.checked_mul(1_000_000))
            .filter(|s| *s > 0)
            .ok_or_else(|| format!("timespan {} is not usable", d.timespan.original))?;

        let mut inputs = Vec::with_capacity(n);
        let mut group_kinds: Vec<Option<EntityKind>> = vec![None; d.group_by.len()];
        for reference in &d.rules {
            let src = self.resolve(j, reference)?;
            let (names, field_of): (Vec<&str>, FieldOf<'_>) = match src {
                Source::Rule(r) => {
                    let base = &rules[r];
                    let place = mappings
                        .place(&base.logsource)
                        .ok_or_else(|| format!("rule {reference} has no logsource mapping"))?;
                    let names = [&base.id, &base.name]
                        .into_iter()
                        .flatten()
                        .map(String::as_str)
                        .collect();
                    let f = move |name: &str| {
                        let t = place.target(name);
                        let k = EntityKind::of(&t);
                        (Get::Target(t), k)
                    };
                    (names, Box::new(f))
                }
                Source::Corr(inner) => {
                    let Visit::Done(i) = self.state[inner] else {
                        return Err(format!("internal: {reference} not loaded"));
                    };
                    let c = &self.done[i].1;
                    let idx: HashMap<String, (usize, Option<EntityKind>)> = c
                        .group_names
                        .iter()
                        .enumerate()
                        .map(|(k, g)| (g.clone(), (k, c.group_kinds[k])))
                        .collect();
                    let (_, doc) = &docs[inner];
                    let names = [&doc.id, &doc.name]
                        .into_iter()
                        .flatten()
                        .map(String::as_str)
                        .collect();
                    let f = move |name: &str| match idx.get(name) {
                        Some((k, kind)) => (Get::Key(*k), *kind),
                        None => (Get::Never, None),
                    };
                    (names, Box::new(f))
                }
            };
            let field_name = |g: &str| -> String {
                d.aliases
                    .iter()
                    .find(|a| a.alias == g)
                    .and_then(|a| {
                        a.mapping
                            .get(reference.as_str())
                            .or_else(|| names.iter().find_map(|n| a.mapping.get(*n)))
                    })
                    .cloned()
                    .unwrap_or_else(|| g.to_string())
            };
            let mut group = Vec::with_capacity(d.group_by.len());
            for (k, g) in d.group_by.iter().enumerate() {
                let (get, ek) = field_of(&field_name(g));
                group_kinds[k] = group_kinds[k].or(ek);
                group.push(get);
            }
            let value = value_field.as_deref().map(|v| field_of(&field_name(v)).0);
            inputs.push(Input { src, group, value });
        }
        let condition_text = preds
            .iter()
            .map(|(op, v)| format!("{} {v}", op_name(*op)))
            .collect::<Vec<_>>()
            .join(" and ");
        let condition_text = match &value_field {
            Some(f) => format!("{condition_text} (field {f})"),
            None => condition_text,
        };
        Ok(Correlation {
            meta: RuleMeta {
                id: d
                    .id
                    .clone()
                    .or_else(|| d.name.clone())
                    .unwrap_or_else(|| d.title.clone()),
                title: d.title.clone(),
                description: d.description.clone(),
                level: d.level.map(|l| l.as_str().to_string()),
                tags: d.tags.clone(),
            },
            type_name: d.correlation_type.as_str(),
            span_text: d.timespan.original.clone(),
            condition_text,
            group_names: d.group_by.clone(),
            group_kinds,
            emit: true,
            kind,
            inputs,
            span,
            preds,
            early,
            family: 0,
            consumers: Vec::new(),
            pending: Vec::new(),
            groups: HashMap::new(),
            stats: CorrelationStats::default(),
        })
    }

    /// What `reference` names, loading a referenced correlation first.
    fn resolve(&mut self, j: usize, reference: &str) -> Result<Source, String> {
        let Some(found) = self.names.get(reference) else {
            return Err(match self.unloaded.get(reference) {
                Some(why) => format!("references rule {reference}, which did not load: {why}"),
                None => format!("references unknown rule {reference}"),
            });
        };
        if found.len() > 1 {
            return Err(format!(
                "rule reference {reference} is ambiguous: {} documents have that id or name",
                found.len()
            ));
        }
        match found[0] {
            Source::Rule(r) => Ok(Source::Rule(r)),
            Source::Corr(inner) => {
                if inner == j || matches!(self.state[inner], Visit::Busy) {
                    return Err(format!("references {reference}, which forms a cycle"));
                }
                self.visit(inner);
                match &self.state[inner] {
                    Visit::Done(_) => Ok(Source::Corr(inner)),
                    Visit::Failed(why) => Err(format!(
                        "references correlation {reference}, which did not load: {why}"
                    )),
                    _ => Err(format!("references {reference}, which forms a cycle")),
                }
            }
        }
    }
}

fn op_name(op: ConditionOperator) -> &'static str {
    match op {
        ConditionOperator::Lt => "lt",
        ConditionOperator::Lte => "lte",
        ConditionOperator::Gt => "gt",
        ConditionOperator::Gte => "gte",
        ConditionOperator::Eq => "eq",
        ConditionOperator::Neq => "neq",
    }
}

#[cfg(test)]
mod tests;
