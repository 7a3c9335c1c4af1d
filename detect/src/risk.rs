//! The risk engine: a decaying risk score per entity, levels with
//! hysteresis, and a trust decision for every sign-in.
//!
//! [`RiskEngine`] is the last [`Detector`] of the stage. It takes every
//! `detection_finding` row the detectors before it produced (Sigma rules,
//! correlations, baselines) as a signal for the finding's entity, with the
//! finding's `risk_score`, or, for findings without one, a score from its
//! severity (informational 5, low 15, medium 35, high 60, critical 80).
//!
//! **Score.** Signals combine like independent evidence: a score `r` and a
//! signal `s` give `100 · (1 − (1 − r/100)(1 − s/100))`, so two medium
//! signals make more than one, nothing passes 100, and the order of
//! signals does not matter. Between signals the score halves every
//! `half_life_hours` of event time. Two analytics that find the same
//! ATT&CK technique on one entity (a Sigma correlation and a baseline on
//! one spray) are one piece of evidence, so the second raises the
//! technique's share only to the stronger of the two scores.
//!
//! **Levels.** low below 25, medium from 25, high from 50, critical from
//! 75. A level is entered when the score reaches its lower bound and left
//! only when the score falls `hysteresis` points below it, so a score that
//! hovers at a boundary does not flap. Every change of score by a signal,
//! and every fall of a level by decay, is an `entity_risk` row with the
//! level before, the score, and the signals behind it (the five largest,
//! decayed to that time, as JSON in `risk_contributions`); its
//! `event_uid` is stable across replays.
//!
//! **Decisions.** Each successful logon (`activity_id` 1, `status_id` 1)
//! with a user gets a `trust_decision` row: `deny`, `step_up` or `allow`,
//! with the reasons as sentences. It is decided from the user's risk, the
//! risk of the device used, the device's MDM compliance, and the signals
//! raised by that very sign-in (a new country, a new device), after the
//! signals of every earlier event are applied. Thresholds are in
//! [`DecisionConfig`]. Failed sign-ins, logoffs and ticket requests get no
//! decision: they grant nothing.
//!
//! Late signals (a correlation that closes after later events were seen)
//! are applied at their own time: the score is decayed to the later of the
//! two times, never back in time.
//!
//! Known shortcoming: a batch moves the clock to its latest event before
//! its findings are applied, so over input that is out of time order the
//! scores depend on where batch boundaries fall (a replay and a live
//! consumer group them differently). Reordering rows within the
//! allowed lateness before this stage would make them depend on the
//! records alone.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};
use vigil_schemas::{BatchBuilder, Class, Field};

use crate::behaviour::Posture;
use crate::cols::{Float, Int, Text, Time, Unmapped};
use crate::entity::{self, Entity, Kind};
use crate::sigma::finding::finding_uid;
use crate::{DetectError, Detector};

const HOUR: i64 = 3_600_000_000;

/// Risk levels, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Below medium.
    Low,
    /// Worth a look.
    Medium,
    /// Act: step-up, review.
    High,
    /// Act now: deny, revoke.
    Critical,
}

impl Level {
    /// Lower case name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    /// The level named `s`.
    pub fn from_name(s: &str) -> Option<Level> {
        [Level::Low, Level::Medium, Level::High, Level::Critical]
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(s))
    }
}

/// Settings of the risk engine. A TOML `[risk]` table overrides any field.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    /// Hours of event time in which a score halves.
    pub half_life_hours: f64,
    /// Lower bound of medium.
    pub medium: f64,
    /// Lower bound of high.
    pub high: f64,
    /// Lower bound of critical.
    pub critical: f64,
    /// Points below a level's bound the score must fall to leave it.
    pub hysteresis: f64,
    /// Trust decision thresholds.
    pub decision: DecisionConfig,
}

impl Default for RiskConfig {
    fn default() -> RiskConfig {
        RiskConfig {
            half_life_hours: 24.0,
            medium: 25.0,
            high: 50.0,
            critical: 75.0,
            hysteresis: 5.0,
            decision: DecisionConfig::default(),
        }
    }
}

/// When a sign-in is denied or asked for step-up.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionConfig {
    /// User risk at or above which a sign-in is denied.
    pub deny_user_risk: f64,
    /// User risk at or above which a sign-in needs step-up.
    pub step_up_user_risk: f64,
    /// Device risk at or above which a sign-in is denied.
    pub deny_device_risk: f64,
    /// Device risk at or above which a sign-in needs step-up.
    pub step_up_device_risk: f64,
    /// What a device the MDM reports noncompliant gets: `deny` or `step_up`.
    pub noncompliant: String,
    /// Score of a signal raised by the sign-in itself at or above which it
    /// needs step-up (a first sign-in from a country is 30).
    pub step_up_event_signal: f64,
}

impl Default for DecisionConfig {
    fn default() -> DecisionConfig {
        DecisionConfig {
            deny_user_risk: 75.0,
            step_up_user_risk: 50.0,
            deny_device_risk: 75.0,
            step_up_device_risk: 50.0,
            noncompliant: "deny".into(),
            step_up_event_signal: 25.0,
        }
    }
}

impl RiskConfig {
    /// Every problem with the settings, as sentences.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        // Above ten years the decay timers would pass the end of time.
        if !(self.half_life_hours > 0.0 && self.half_life_hours <= 87_600.0) {
            p.push(format!(
                "risk.half_life_hours must be above 0 and at most 87600 (ten years), not {}",
                self.half_life_hours
            ));
        }
        if !(0.0 < self.medium
            && self.medium < self.high
            && self.high < self.critical
            && self.critical <= 100.0)
        {
            p.push(format!(
                "risk levels must rise within (0, 100]: medium {}, high {}, critical {}",
                self.medium, self.high, self.critical
            ));
        }
        if !(0.0..self.medium).contains(&self.hysteresis) {
            p.push(format!(
                "risk.hysteresis must be at least 0 and below medium ({}), not {}",
                self.medium, self.hysteresis
            ));
        }
        let d = &self.decision;
        for (k, v) in [
            ("deny_user_risk", d.deny_user_risk),
            ("step_up_user_risk", d.step_up_user_risk),
            ("deny_device_risk", d.deny_device_risk),
            ("step_up_device_risk", d.step_up_device_risk),
            ("step_up_event_signal", d.step_up_event_signal),
        ] {
            if !(0.0..=100.0).contains(&v) {
                p.push(format!(
                    "risk.decision.{k} must be within [0, 100], not {v}"
                ));
            }
        }
        if d.deny_user_risk < d.step_up_user_risk {
            p.push(format!(
                "risk.decision.deny_user_risk ({}) is below step_up_user_risk ({})",
                d.deny_user_risk, d.step_up_user_risk
            ));
        }
        if d.deny_device_risk < d.step_up_device_risk {
            p.push(format!(
                "risk.decision.deny_device_risk ({}) is below step_up_device_risk ({})",
                d.deny_device_risk, d.step_up_device_risk
            ));
        }
        if !["deny", "step_up"].contains(&self.decision.noncompliant.as_str()) {
            p.push(format!(
                "risk.decision.noncompliant must be \"deny\" or \"step_up\", not {:?}",
                self.decision.noncompliant
            ));
        }
        p
    }

    fn level_up(&self, score: f64, was: Level) -> Level {
        let enter = if score >= self.critical {
            Level::Critical
        } else if score >= self.high {
            Level::High
        } else if score >= self.medium {
            Level::Medium
        } else {
            Level::Low
        };
        // Keep a higher level until the score falls below its bound less
        // the hysteresis.
        let mut keep = was;
        while keep > enter && score < self.bound(keep) - self.hysteresis {
            keep = match keep {
                Level::Critical => Level::High,
                Level::High => Level::Medium,
                _ => Level::Low,
            };
        }
        keep.max(enter)
    }

    fn bound(&self, l: Level) -> f64 {
        match l {
            Level::Low => 0.0,
            Level::Medium => self.medium,
            Level::High => self.high,
            Level::Critical => self.critical,
        }
    }
}

/// One signal behind an entity's score.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Contribution {
    /// The finding's analytic (rule id or `vigil.baseline.*`).
    pub signal: String,
    /// Its title.
    pub title: String,
    /// The finding's id.
    pub finding: String,
    /// Score it carried.
    pub score: f64,
    /// When, µs.
    pub time: i64,
    /// What it said.
    pub explanation: String,
    /// Its ATT&CK technique ids, upper case.
    #[serde(default)]
    pub techniques: Vec<String>,
}

/// An entity's risk.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EntityRisk {
    /// Score at `at`.
    pub score: f64,
    /// Event time of the last update, µs.
    pub at: i64,
    /// Current level.
    pub level: Level,
    /// The largest signals, newest last.
    pub contributions: Vec<Contribution>,
    /// Bumped on each change, to tell stale decay timers.
    version: u64,
}

/// Everything the risk engine keeps; serialisable for checkpoints.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RiskState {
    #[serde(with = "crate::behaviour::pairs")]
    entities: HashMap<Entity, EntityRisk>,
    posture: Posture,
    /// (due time, version, entity): when a level may fall by decay.
    timers: BinaryHeap<Reverse<(i64, u64, Entity)>>,
    now: i64,
}

/// A signal as the risk engine takes it.
#[derive(Clone, Debug)]
struct Sig {
    time: i64,
    entity: Entity,
    score: f64,
    signal: String,
    title: String,
    finding: String,
    explanation: String,
    event_uid: Option<String>,
    techniques: Vec<String>,
}

const CONTRIBUTIONS: usize = 5;

/// Whether two technique lists share a technique, a sub-technique counting
/// as its parent (T1110.003 and T1110 are one).
fn same_technique(a: &[String], b: &[String]) -> bool {
    a.iter().any(|x| {
        b.iter().any(|y| {
            x == y
                || x.strip_prefix(y.as_str())
                    .is_some_and(|r| r.starts_with('.'))
                || y.strip_prefix(x.as_str())
                    .is_some_and(|r| r.starts_with('.'))
        })
    })
}

/// The risk engine detector.
pub struct RiskEngine {
    cfg: RiskConfig,
    st: RiskState,
    pending: Vec<Sig>,
    changes: u64,
    decisions: [u64; 3],
}

impl RiskEngine {
    /// A risk engine with these settings and no history.
    ///
    /// # Errors
    ///
    /// [`DetectError::Config`] listing every problem with the settings.
    pub fn new(cfg: RiskConfig) -> Result<RiskEngine, DetectError> {
        Self::with_state(cfg, RiskState::default())
    }

    /// A risk engine that goes on from a checkpointed state.
    ///
    /// # Errors
    ///
    /// As [`RiskEngine::new`].
    pub fn with_state(cfg: RiskConfig, st: RiskState) -> Result<RiskEngine, DetectError> {
        let p = cfg.problems();
        if !p.is_empty() {
            return Err(DetectError::Config(p.join("; ")));
        }
        Ok(RiskEngine {
            cfg,
            st,
            pending: Vec::new(),
            changes: 0,
            decisions: [0; 3],
        })
    }

    /// The state, for a checkpoint.
    pub fn state(&self) -> &RiskState {
        &self.st
    }

    /// Every entity's score and level decayed to the latest event time,
    /// highest first.
    pub fn snapshot(&self) -> Vec<(Entity, f64, Level)> {
        let mut v: Vec<(Entity, f64, Level)> = self
            .st
            .entities
            .iter()
            .map(|(e, r)| {
                let s = self.decayed(r, self.st.now);
                (e.clone(), s, self.cfg.level_up(s, r.level))
            })
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    fn decayed(&self, r: &EntityRisk, t: i64) -> f64 {
        let dt = (t - r.at).max(0) as f64 / HOUR as f64;
        r.score * 0.5f64.powf(dt / self.cfg.half_life_hours)
    }

    /// The entity's score at `t`.
    fn score_of(&self, e: &Entity, t: i64) -> f64 {
        self.st.entities.get(e).map_or(0.0, |r| self.decayed(r, t))
    }

    fn take_findings(&mut self, batch: &RecordBatch) {
        let time = Time::new(batch, "time");
        let kind = Text::new(batch, "entity_type");
        let id = Text::new(batch, "entity_id");
        let score = Float::new(batch, "risk_score");
        let sev = Int::new(batch, "severity_id");
        let analytic = Text::new(batch, "finding_info_analytic_uid");
        let title = Text::new(batch, "finding_info_title");
        let fid = Text::new(batch, "finding_info_uid");
        let desc = Text::new(batch, "finding_info_desc");
        let ev = Text::new(batch, "evidences_event_uids");
        let techniques = Text::new(batch, "finding_info_attack_technique_uids");
        for row in 0..batch.num_rows() {
            let Some(entity) = kind
                .get(row)
                .and_then(Kind::from_name)
                .zip(id.get(row))
                .and_then(|(k, i)| Entity::normalised(k, i))
            else {
                continue;
            };
            let s = score.get(row).unwrap_or_else(|| match sev.get(row) {
                Some(1) => 5.0,
                Some(2) => 15.0,
                Some(3) => 35.0,
                Some(4) => 60.0,
                Some(5) => 80.0,
                Some(6) => 90.0,
                _ => 5.0,
            });
            let explanation: String = desc.get(row).unwrap_or("").chars().take(300).collect();
            self.pending.push(Sig {
                time: time.get(row).unwrap_or(self.st.now),
                entity,
                score: s.clamp(0.0, 100.0),
                signal: analytic.get(row).unwrap_or("").to_string(),
                title: title.get(row).unwrap_or("").to_string(),
                finding: fid.get(row).unwrap_or("").to_string(),
                explanation,
                event_uid: ev.get(row).map(str::to_string),
                techniques: techniques
                    .get(row)
                    .unwrap_or("")
                    .split(',')
                    .map(|t| t.trim().to_ascii_uppercase())
                    .filter(|t| !t.is_empty())
                    .collect(),
            });
        }
    }

    /// Apply one signal; returns the `entity_risk` row's content.
    fn apply(&mut self, s: &Sig, out: &mut BatchBuilder) {
        let t = s
            .time
            .max(self.st.entities.get(&s.entity).map_or(i64::MIN, |r| r.at));
        self.st.now = self.st.now.max(t);
        let (prev_score, prev_level) = match self.st.entities.get(&s.entity) {
            Some(r) => (self.decayed(r, t), r.level),
            None => (0.0, Level::Low),
        };
        let half_life = self.cfg.half_life_hours;
        let decay = |c: &Contribution| {
            c.score * 0.5f64.powf((t - c.time).max(0) as f64 / HOUR as f64 / half_life)
        };
        // Another analytic that already saw the same technique on this
        // entity (a Sigma correlation and a baseline both finding one
        // spray) is the same evidence twice: together they count as the
        // stronger of the two, not as independent evidence. So are a
        // model's unusual hours of one entity: context that does not add
        // up to high however many hours there are.
        let corroborated = self.st.entities.get(&s.entity).map_or(0.0, |r| {
            r.contributions
                .iter()
                .filter(|c| {
                    (c.signal != s.signal && same_technique(&c.techniques, &s.techniques))
                        || (c.signal == s.signal && s.signal.starts_with("vigil.model."))
                })
                .map(decay)
                .fold(0.0, f64::max)
        }) / 100.0;
        let fresh = if corroborated > 0.0 && corroborated < 1.0 {
            1.0 - (1.0 - corroborated.max(s.score / 100.0)) / (1.0 - corroborated)
        } else {
            s.score / 100.0
        };
        let score = 100.0 * (1.0 - (1.0 - prev_score / 100.0) * (1.0 - fresh));
        let level = self.cfg.level_up(score, prev_level);
        let r = self
            .st
            .entities
            .entry(s.entity.clone())
            .or_insert_with(|| EntityRisk {
                score: 0.0,
                at: t,
                level: Level::Low,
                contributions: Vec::new(),
                version: 0,
            });
        r.score = score;
        r.at = t;
        r.level = level;
        r.version += 1;
        r.contributions.push(Contribution {
            signal: s.signal.clone(),
            title: s.title.clone(),
            finding: s.finding.clone(),
            score: s.score,
            time: s.time,
            explanation: s.explanation.clone(),
            techniques: s.techniques.clone(),
        });
        let decayed = decay;
        if r.contributions.len() > CONTRIBUTIONS {
            let weakest = r
                .contributions
                .iter()
                .enumerate()
                .min_by(|a, b| decayed(a.1).total_cmp(&decayed(b.1)))
                .map(|(i, _)| i);
            if let Some(i) = weakest {
                r.contributions.remove(i);
            }
        }
        let contributions = contributions_json(&r.contributions, &decayed);
        let version = r.version;
        let change = finding_uid("vigil.risk", &format!("{}\u{1f}{}", s.entity, s.finding));
        let message = if level == prev_level {
            format!(
                "{} risk {:.1} ({}) after {}",
                s.entity,
                score,
                level.name(),
                s.title
            )
        } else {
            format!(
                "{} risk {} → {} ({:.1}) after {}",
                s.entity,
                prev_level.name(),
                level.name(),
                score,
                s.title
            )
        };
        risk_row(
            out,
            t,
            &s.entity,
            score,
            level,
            prev_level,
            &contributions,
            &change,
            &message,
        );
        self.changes += 1;
        self.schedule(&s.entity, version, score, level, t);
    }

    /// Note when the entity's level would fall by decay alone.
    fn schedule(&mut self, e: &Entity, version: u64, score: f64, level: Level, t: i64) {
        if level == Level::Low {
            return;
        }
        let floor = (self.cfg.bound(level) - self.cfg.hysteresis).max(0.01);
        if score <= floor {
            return;
        }
        let hours = self.cfg.half_life_hours * (score / floor).log2();
        let due = t + (hours * HOUR as f64).ceil() as i64 + 1;
        self.st.timers.push(Reverse((due, version, e.clone())));
    }

    /// Levels that fell by decay up to `now`.
    fn decay_to(&mut self, now: i64, out: &mut BatchBuilder) {
        while let Some(Reverse((due, version, e))) = self.st.timers.peek().cloned() {
            if due > now {
                break;
            }
            self.st.timers.pop();
            let Some(r) = self.st.entities.get(&e) else {
                continue;
            };
            if r.version != version {
                continue;
            }
            let score = self.decayed(r, due);
            let prev = r.level;
            let level = self.cfg.level_up(score, prev);
            if level == prev {
                continue;
            }
            let half_life = self.cfg.half_life_hours;
            let decayed = |c: &Contribution| {
                c.score * 0.5f64.powf((due - c.time).max(0) as f64 / HOUR as f64 / half_life)
            };
            let contributions = contributions_json(&r.contributions, &decayed);
            let change = finding_uid("vigil.risk.decay", &format!("{e}\u{1f}{due}"));
            let message = format!(
                "{e} risk {} → {} ({score:.1}) as its signals aged",
                prev.name(),
                level.name()
            );
            if let Some(r) = self.st.entities.get_mut(&e) {
                r.score = score;
                r.at = due;
                r.level = level;
                r.version += 1;
                let v = r.version;
                risk_row(
                    out,
                    due,
                    &e,
                    score,
                    level,
                    prev,
                    &contributions,
                    &change,
                    &message,
                );
                self.changes += 1;
                self.schedule(&e, v, score, level, due);
            }
        }
    }

    /// Apply pending signals at or before `t` (all of them with `None`).
    fn apply_pending(&mut self, upto: Option<i64>, out: &mut BatchBuilder) {
        if self.pending.is_empty() {
            return;
        }
        self.pending.sort_by_key(|s| s.time);
        let n = match upto {
            Some(t) => self.pending.partition_point(|s| s.time <= t),
            None => self.pending.len(),
        };
        let due: Vec<Sig> = self.pending.drain(..n).collect();
        for s in &due {
            self.decay_to(s.time, out);
            self.apply(s, out);
        }
    }

    /// Decide every successful logon of an authentication batch, applying
    /// pending signals in time order between them.
    fn decide_batch(
        &mut self,
        batch: &RecordBatch,
        risk: &mut BatchBuilder,
        decisions: &mut BatchBuilder,
    ) {
        let c = DecisionCols::new(batch);
        let mut rows: Vec<(i64, usize)> = (0..batch.num_rows())
            .filter_map(|r| c.time.get(r).map(|t| (t, r)))
            .collect();
        rows.sort_by_key(|(t, r)| (*t, *r));
        // Signals raised by each event, to give its decision their reasons.
        let mut by_event: HashMap<String, Vec<Sig>> = HashMap::new();
        for s in &self.pending {
            if let Some(uid) = &s.event_uid {
                by_event.entry(uid.clone()).or_default().push(s.clone());
            }
        }
        for (t, row) in rows {
            self.apply_pending(Some(t), risk);
            self.decay_to(t, risk);
            self.st.now = self.st.now.max(t);
            if c.status.get(row) != Some(1) || c.activity.get(row) != Some(1) {
                continue;
            }
            let Some(user) = c.user.get(row).and_then(entity::user) else {
                continue;
            };
            let device = c.device(row);
            let own: &[Sig] = c
                .uid
                .get(row)
                .and_then(|u| by_event.get(u))
                .map_or(&[], Vec::as_slice);
            self.decide(&c, row, t, &user, device.as_deref(), own, decisions);
        }
        self.apply_pending(None, risk);
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "one call site; the parts of one decision"
    )]
    fn decide(
        &mut self,
        c: &DecisionCols<'_>,
        row: usize,
        t: i64,
        user: &str,
        device: Option<&str>,
        own: &[Sig],
        out: &mut BatchBuilder,
    ) {
        let d = &self.cfg.decision;
        let user_e = Entity::new(Kind::User, user.to_string());
        let user_risk = self.score_of(&user_e, t);
        let device_risk =
            device.map(|dv| self.score_of(&Entity::new(Kind::Device, dv.to_string()), t));
        let posture = device.and_then(|dv| self.st.posture.at(dv, t));
        let mut deny = Vec::new();
        let mut step_up = Vec::new();
        if user_risk >= d.deny_user_risk {
            deny.push(format!(
                "user {user} risk is {user_risk:.0}, at or above {}",
                d.deny_user_risk
            ));
        } else if user_risk >= d.step_up_user_risk {
            step_up.push(format!(
                "user {user} risk is {user_risk:.0}, at or above {}",
                d.step_up_user_risk
            ));
        }
        if let (Some(dv), Some(r)) = (device, device_risk) {
            if r >= d.deny_device_risk {
                deny.push(format!(
                    "device {dv} risk is {r:.0}, at or above {}",
                    d.deny_device_risk
                ));
            } else if r >= d.step_up_device_risk {
                step_up.push(format!(
                    "device {dv} risk is {r:.0}, at or above {}",
                    d.step_up_device_risk
                ));
            }
        }
        if let (Some(dv), Some(p)) = (device, posture)
            && !p.compliant
        {
            let why = if p.why.is_empty() {
                String::new()
            } else {
                format!(" ({})", p.why)
            };
            let s = format!("device {dv} is noncompliant{why} per MDM");
            if d.noncompliant == "deny" {
                deny.push(s);
            } else {
                step_up.push(s);
            }
        }
        for s in own {
            if s.score >= d.step_up_event_signal {
                step_up.push(format!("this sign-in: {}", s.explanation));
            }
        }
        let (decision, mut reasons) = if !deny.is_empty() {
            ("deny", deny)
        } else if !step_up.is_empty() {
            ("step_up", step_up)
        } else {
            let mut r = vec![format!(
                "user {user} risk is {user_risk:.0}, below {}",
                d.step_up_user_risk
            )];
            match (device, posture) {
                (Some(dv), Some(_)) => r.push(format!("device {dv} is compliant per MDM")),
                (Some(dv), None) => r.push(format!("device {dv} has no MDM record")),
                (None, _) => {}
            }
            ("allow", r)
        };
        reasons.dedup();
        let idx = match decision {
            "deny" => 2,
            "step_up" => 1,
            _ => 0,
        };
        self.decisions[idx] += 1;
        let uid = c.uid.get(row);
        let id = finding_uid("vigil.decision", uid.unwrap_or(""));
        let mut r = out.row();
        r.time_us(Field::Time, t);
        r.int(Field::ActivityId, 1)
            .str(Field::ActivityName, "Decide");
        r.str(Field::MetadataProductName, "vigil");
        r.str(Field::MetadataLogName, "decision");
        r.str(Field::EventUid, &id);
        r.str(Field::EntityType, "user").str(Field::EntityId, user);
        r.str(Field::Decision, decision);
        r.str(
            Field::DecisionReasons,
            &serde_json::Value::from(reasons.clone()).to_string(),
        );
        r.str(
            Field::Message,
            &format!("{decision}: {}", reasons.join("; ")),
        );
        r.float(Field::UserRiskScore, round1(user_risk));
        if let Some(dr) = device_risk {
            r.float(Field::DeviceRiskScore, round1(dr));
        }
        r.opt_str(Field::UserName, c.user.get(row));
        r.opt_str(Field::DeviceHostname, device);
        if let Some(p) = posture {
            r.bool(Field::DeviceIsCompliant, p.compliant);
        }
        r.opt_str(Field::ServiceName, c.service.get(row));
        r.opt_str(Field::SrcEndpointIp, c.ip.get(row));
        r.opt_str(Field::SrcEndpointLocationCountry, c.country(row));
        r.opt_str(Field::SrcEndpointLocationCity, c.city.get(row));
        r.opt_str(Field::EvidencesEventUids, uid);
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn contributions_json(list: &[Contribution], decayed: &dyn Fn(&Contribution) -> f64) -> String {
    let mut v: Vec<&Contribution> = list.iter().collect();
    v.sort_by(|a, b| decayed(b).total_cmp(&decayed(a)));
    let items: Vec<serde_json::Value> = v
        .iter()
        .map(|c| {
            serde_json::json!({
                "signal": c.signal,
                "title": c.title,
                "finding": c.finding,
                "score": round1(c.score),
                "now": round1(decayed(c)),
                "time": vigil_time(c.time),
                "explanation": c.explanation,
            })
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

fn vigil_time(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us).map_or_else(String::new, |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    })
}

#[expect(clippy::too_many_arguments, reason = "the columns of one row")]
fn risk_row(
    b: &mut BatchBuilder,
    t: i64,
    e: &Entity,
    score: f64,
    level: Level,
    prev: Level,
    contributions: &str,
    change: &str,
    message: &str,
) {
    let mut r = b.row();
    r.time_us(Field::Time, t);
    r.int(Field::ActivityId, 99)
        .str(Field::ActivityName, "Update");
    r.str(Field::MetadataProductName, "vigil");
    r.str(Field::MetadataLogName, "risk");
    r.str(Field::EventUid, change);
    r.str(Field::Message, message);
    r.str(Field::EntityType, e.kind.name());
    r.str(Field::EntityId, &e.id);
    r.float(Field::RiskScore, round1(score));
    r.str(Field::RiskLevel, level.name());
    r.str(Field::RiskPrevLevel, prev.name());
    r.str(Field::RiskContributions, contributions);
}

/// The authentication columns a decision reads.
struct DecisionCols<'b> {
    time: Time<'b>,
    uid: Text<'b>,
    user: Text<'b>,
    status: Int<'b>,
    activity: Int<'b>,
    product: Text<'b>,
    logon_type: Int<'b>,
    device_host: Text<'b>,
    src_host: Text<'b>,
    service: Text<'b>,
    ip: Text<'b>,
    country: Text<'b>,
    city: Text<'b>,
    unmapped: Unmapped<'b>,
}

impl<'b> DecisionCols<'b> {
    fn new(b: &'b RecordBatch) -> DecisionCols<'b> {
        DecisionCols {
            time: Time::new(b, "time"),
            uid: Text::new(b, "event_uid"),
            user: Text::new(b, "user_name"),
            status: Int::new(b, "status_id"),
            activity: Int::new(b, "activity_id"),
            product: Text::new(b, "metadata_product_name"),
            logon_type: Int::new(b, "logon_type_id"),
            device_host: Text::new(b, "device_hostname"),
            src_host: Text::new(b, "src_endpoint_hostname"),
            service: Text::new(b, "service_name"),
            ip: Text::new(b, "src_endpoint_ip"),
            country: Text::new(b, "src_endpoint_location_country"),
            city: Text::new(b, "src_endpoint_location_city"),
            unmapped: Unmapped::new(b),
        }
    }

    /// The client device, as the baselines name it.
    fn device(&self, row: usize) -> Option<String> {
        let product = self.product.get(row).unwrap_or("");
        let raw = if product == "Okta" {
            self.unmapped.get(row, "device.name")
        } else if product.starts_with("Windows") {
            match self.logon_type.get(row) {
                Some(2 | 7 | 11) => self.device_host.get(row),
                Some(3 | 10) => self.src_host.get(row),
                _ => None,
            }
        } else {
            None
        };
        raw.and_then(entity::host)
    }

    fn country(&self, row: usize) -> Option<&'b str> {
        self.country
            .get(row)
            .or_else(|| self.unmapped.get(row, "client.geographicalContext.country"))
    }
}

impl Detector for RiskEngine {
    fn name(&self) -> &str {
        "risk"
    }

    fn takes_derived(&self) -> bool {
        true
    }

    fn detect(
        &mut self,
        class: Class,
        batch: &RecordBatch,
    ) -> Result<Vec<(Class, RecordBatch)>, DetectError> {
        let mut risk = BatchBuilder::new(Class::EntityRisk);
        let mut decisions = BatchBuilder::new(Class::TrustDecision);
        match class {
            Class::DetectionFinding => self.take_findings(batch),
            Class::DevicePosture => {
                self.st.posture.update(batch);
                self.apply_pending(None, &mut risk);
            }
            Class::Authentication => self.decide_batch(batch, &mut risk, &mut decisions),
            _ => {
                if let Some(t) = Time::new(batch, "time").max() {
                    self.st.now = self.st.now.max(t);
                }
                self.apply_pending(None, &mut risk);
                let now = self.st.now;
                self.decay_to(now, &mut risk);
            }
        }
        let mut out = Vec::new();
        if !risk.is_empty() {
            out.push((Class::EntityRisk, risk.finish()));
        }
        if !decisions.is_empty() {
            out.push((Class::TrustDecision, decisions.finish()));
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<(Class, RecordBatch)>, DetectError> {
        let mut risk = BatchBuilder::new(Class::EntityRisk);
        self.apply_pending(None, &mut risk);
        let now = self.st.now;
        self.decay_to(now, &mut risk);
        if risk.is_empty() {
            return Ok(Vec::new());
        }
        Ok(vec![(Class::EntityRisk, risk.finish())])
    }

    fn save_state(&self) -> Result<Option<Box<serde_json::value::RawValue>>, DetectError> {
        serde_json::value::to_raw_value(&self.st)
            .map(Some)
            .map_err(|e| DetectError::Internal(format!("risk state: {e}")))
    }

    fn load_state(&mut self, state: &serde_json::value::RawValue) -> Result<(), DetectError> {
        self.st = serde_json::from_str(state.get())
            .map_err(|e| DetectError::Config(format!("not a risk state: {e}")))?;
        Ok(())
    }

    fn report(&self) -> Option<serde_json::Value> {
        let list: Vec<serde_json::Value> = self
            .snapshot()
            .into_iter()
            .map(|(e, score, level)| {
                serde_json::json!({
                    "entity_type": e.kind.name(),
                    "entity_id": e.id,
                    "score": round1(score),
                    "level": level.name(),
                })
            })
            .collect();
        Some(serde_json::json!({ "as_of": vigil_time(self.st.now), "entities": list }))
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("changes", self.changes),
            ("entities", self.st.entities.len() as u64),
            ("decisions_allow", self.decisions[0]),
            ("decisions_step_up", self.decisions[1]),
            ("decisions_deny", self.decisions[2]),
        ]
    }
}

#[cfg(test)]
mod tests;
