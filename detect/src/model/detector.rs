//! [`ModelDetector`]: scores each user's hours online, in event time.

use std::collections::HashMap;
use std::path::Path;

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};
use vigil_schemas::{BatchBuilder, Class, Field};

use super::features::{AuthCols, HOUR_US, HourAcc, hour_of};
use super::file::{Assessment, Model};
use super::{ANALYTIC_UID, ModelError};
use crate::behaviour::signal::{Derived, derived_row};
use crate::cols::Time;
use crate::sigma::finding::finding_uid;
use crate::{DetectError, Detector};

/// How long after an hour ends, in event time across all users, it is
/// closed and scored even if its user sends nothing more: 5 minutes, for
/// sources that deliver a little late.
const GRACE_US: i64 = 300_000_000;

const TITLE: &str = "Hour unusual for the user's peer group";

/// Scores each user's hours against a [`Model`]: see the module docs.
pub struct ModelDetector {
    model: Model,
    state: State,
    counters: Counters,
}

/// What carries over a checkpoint: one open hour per user.
#[derive(Default, Serialize, Deserialize)]
struct State {
    open: HashMap<String, Open>,
    /// Latest authentication event time seen, µs.
    watermark: i64,
    /// Hours ending at or before this were swept, µs.
    swept: i64,
}

/// A user's current hour.
#[derive(Serialize, Deserialize)]
struct Open {
    hour: i64,
    /// Time of its latest event, µs: the finding's time.
    last: i64,
    acc: HourAcc,
}

#[derive(Default)]
struct Counters {
    hours_scored: u64,
    findings: u64,
    late_events: u64,
    new_user_hours: u64,
}

/// One finding before it is a row.
struct Found {
    user: String,
    hour: i64,
    time: i64,
    assessment: Assessment,
}

impl ModelDetector {
    /// A detector scoring with `model`.
    pub fn new(model: Model) -> ModelDetector {
        ModelDetector {
            model,
            state: State::default(),
            counters: Counters::default(),
        }
    }

    /// A detector scoring with the model file at `path`.
    ///
    /// # Errors
    ///
    /// As [`Model::load`]: the error names the file.
    pub fn load(path: &Path) -> Result<ModelDetector, ModelError> {
        Ok(ModelDetector::new(Model::load(path)?))
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Users with an open hour, and the bytes their state takes
    /// (estimated: keys, hour records and set capacity).
    pub fn state_bytes(&self) -> (usize, usize) {
        let bytes = self
            .state
            .open
            .iter()
            .map(|(u, o)| u.capacity() + 48 + 16 + o.acc.bytes())
            .sum();
        (self.state.open.len(), bytes)
    }

    fn auth(&mut self, batch: &RecordBatch, out: &mut Vec<Found>) {
        let cols = AuthCols::new(batch);
        for row in 0..batch.num_rows() {
            let Some(r) = cols.read(row) else { continue };
            let hour = hour_of(r.time);
            match self.state.open.get_mut(&r.user) {
                Some(o) if o.hour == hour => {
                    o.acc.add(&r);
                    o.last = o.last.max(r.time);
                }
                Some(o) if o.hour > hour => self.counters.late_events += 1,
                _ => {
                    let mut acc = HourAcc::default();
                    acc.add(&r);
                    let fresh = Open {
                        hour,
                        last: r.time,
                        acc,
                    };
                    if let Some(done) = self.state.open.insert(r.user.clone(), fresh) {
                        self.close(&r.user, done, out);
                    }
                }
            }
        }
        if let Some(t) = Time::new(batch, "time").max() {
            self.state.watermark = self.state.watermark.max(t);
        }
        self.sweep(out);
    }

    /// Close every hour that ended more than [`GRACE_US`] before the
    /// watermark; runs once per hour of event time.
    fn sweep(&mut self, out: &mut Vec<Found>) {
        let through = hour_of(self.state.watermark - GRACE_US);
        if through <= self.state.swept {
            return;
        }
        self.state.swept = through;
        let ended: Vec<String> = self
            .state
            .open
            .iter()
            .filter(|(_, o)| o.hour + HOUR_US <= through)
            .map(|(u, _)| u.clone())
            .collect();
        self.close_users(ended, out);
    }

    fn close_users(&mut self, mut users: Vec<String>, out: &mut Vec<Found>) {
        users.sort();
        for u in users {
            if let Some(o) = self.state.open.remove(&u) {
                self.close(&u, o, out);
            }
        }
    }

    fn close(&mut self, user: &str, o: Open, out: &mut Vec<Found>) {
        self.counters.hours_scored += 1;
        if !self.model.users.contains_key(user) {
            self.counters.new_user_hours += 1;
        }
        let raw = o.acc.raw(o.hour);
        let features = o.acc.features(o.hour);
        if let Some(a) = self.model.assess(user, o.hour, &raw, &features) {
            self.counters.findings += 1;
            out.push(Found {
                user: user.to_string(),
                hour: o.hour,
                time: o.last,
                assessment: a,
            });
        }
    }
}

/// `detection_finding` rows, in the shape of the baselines' signals.
fn rows(found: &[Found]) -> RecordBatch {
    let mut b = BatchBuilder::new(Class::DetectionFinding);
    for f in found {
        let fid = finding_uid(ANALYTIC_UID, &format!("user:{}\u{1f}{}", f.user, f.hour));
        let a = &f.assessment;
        let mut r = derived_row(
            &mut b,
            &Derived {
                time: f.time,
                uid: &fid,
                log_name: "model",
                analytic: ANALYTIC_UID,
                title: TITLE,
                explanation: &a.explanation,
                techniques: "T1078",
                tags: "vigil.model",
                entity_type: "user",
                entity_id: &f.user,
                score: a.score,
            },
        );
        r.str(Field::UserName, &f.user);
    }
    b.finish()
}

fn emit(found: Vec<Found>) -> Vec<(Class, RecordBatch)> {
    if found.is_empty() {
        return Vec::new();
    }
    vec![(Class::DetectionFinding, rows(&found))]
}

impl Detector for ModelDetector {
    fn name(&self) -> &str {
        "model"
    }

    fn detect(
        &mut self,
        class: Class,
        batch: &RecordBatch,
    ) -> Result<Vec<(Class, RecordBatch)>, DetectError> {
        let mut found = Vec::new();
        if class == Class::Authentication {
            self.auth(batch, &mut found);
        }
        Ok(emit(found))
    }

    fn finish(&mut self) -> Result<Vec<(Class, RecordBatch)>, DetectError> {
        let mut found = Vec::new();
        let users: Vec<String> = self.state.open.keys().cloned().collect();
        self.close_users(users, &mut found);
        Ok(emit(found))
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        let c = &self.counters;
        vec![
            ("hours_scored", c.hours_scored),
            ("findings", c.findings),
            ("late_events", c.late_events),
            ("new_user_hours", c.new_user_hours),
            ("open_hours", self.state.open.len() as u64),
        ]
    }

    fn save_state(&self) -> Result<Option<Box<serde_json::value::RawValue>>, DetectError> {
        serde_json::value::to_raw_value(&self.state)
            .map(Some)
            .map_err(|e| DetectError::Internal(format!("model: cannot save state: {e}")))
    }

    fn load_state(&mut self, state: &serde_json::value::RawValue) -> Result<(), DetectError> {
        self.state = serde_json::from_str(state.get())
            .map_err(|e| DetectError::Config(format!("model: not a model state: {e}")))?;
        Ok(())
    }
}
