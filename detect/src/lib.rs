//! vigil detection: the detector stage of the pipeline.
//!
//! Every class batch passes through a [`Detector`] after enrichment and
//! before the lake. A detector reads the batch and returns rows of other
//! classes it derives from it: `detection_finding` rows for rule matches,
//! `entity_risk` rows for risk changes. The input batch itself always goes
//! on to the lake unchanged; a detector cannot drop events.
//!
//! [`Detectors`] runs several in order. With none configured the stage is
//! empty and costs nothing. The Sigma engine ([`sigma::SigmaEngine`], built
//! by [`from_rules_dir`]), the baselines ([`behaviour::Behaviour`]), the
//! models trained on lake history ([`model::ModelDetector`]) and the
//! risk engine ([`risk::RiskEngine`]) are detectors that plug in here. A
//! detector that [takes derived batches](Detector::takes_derived) sees
//! what the detectors before it produced for a batch (the findings) before
//! it sees the batch itself: that is how findings become risk.

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use serde_json::value::RawValue;
use vigil_schemas::Class;

pub mod behaviour;
mod cols;
pub mod entity;
pub mod model;
pub mod risk;
pub mod sigma;

pub use sigma::LoadReport;

/// Why a detector failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// The detector's configuration or content is wrong (a rule that
    /// cannot load): the user must act.
    #[error("detect: {0}")]
    Config(String),
    /// A fault inside a detector while evaluating a batch.
    #[error("detect: internal: {0}")]
    Internal(String),
}

/// Reads class batches and derives findings and risk.
///
/// # Contract
///
/// - `detect` is called once per batch, in the order batches arrive for
///   one input stream; it may keep state between calls (windows, baselines)
///   and must bound that state.
/// - The batch may have zero rows. The detector must not assume any column
///   beyond those of `class`'s schema.
/// - Returned batches are of [`Class::DetectionFinding`] or
///   [`Class::EntityRisk`]; they go to the lake and to outputs like any
///   other batch. Returning an empty vector is the common case.
/// - `finish` is called once at the end of a run, to flush windows that are
///   still open.
/// - A detector whose [`Detector::takes_derived`] is true is also called
///   with each batch the detectors before it returned for an input batch,
///   before it is called with the input batch itself, and with what they
///   return from `finish` before its own `finish`.
pub trait Detector: Send {
    /// A short name for logs and metrics.
    fn name(&self) -> &str;

    /// Whether this detector wants the batches earlier detectors derive
    /// (findings), as well as the input. False by default.
    fn takes_derived(&self) -> bool {
        false
    }

    /// Evaluate one batch.
    ///
    /// # Errors
    ///
    /// [`DetectError`] on an internal fault; the pipeline reports it and
    /// goes on without this batch's detections.
    fn detect(
        &mut self,
        class: Class,
        batch: &RecordBatch,
    ) -> Result<Vec<(Class, RecordBatch)>, DetectError>;

    /// Flush what is left at the end of input.
    ///
    /// # Errors
    ///
    /// As for [`Detector::detect`].
    fn finish(&mut self) -> Result<Vec<(Class, RecordBatch)>, DetectError> {
        Ok(Vec::new())
    }

    /// Counters for the run summary and metrics, as `(name, value)`:
    /// events a detector left out (late, missing a key) and state it
    /// evicted. Names are stable, lower case, with underscores.
    fn counters(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// The detector's state as JSON text, for a checkpoint; `None` for a
    /// detector that keeps none it can save. Text, not a
    /// `serde_json::Value`: a tree of 100,000 entities' state takes
    /// gigabytes where its text takes tens of megabytes.
    ///
    /// # Errors
    ///
    /// [`DetectError::Internal`] when the state cannot be written out.
    fn save_state(&self) -> Result<Option<Box<RawValue>>, DetectError> {
        Ok(None)
    }

    /// Go on from a state [`Detector::save_state`] wrote.
    ///
    /// # Errors
    ///
    /// [`DetectError::Config`] when the state is not this detector's.
    fn load_state(&mut self, _state: &RawValue) -> Result<(), DetectError> {
        Ok(())
    }

    /// What the detector knows at the end of a run, for a report file
    /// (the risk engine: every entity's score); `None` by default.
    fn report(&self) -> Option<serde_json::Value> {
        None
    }
}

/// Detectors run in order over each batch.
#[derive(Default)]
pub struct Detectors {
    list: Vec<Box<dyn Detector>>,
}

impl Detectors {
    /// No detectors: the stage passes batches through.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a detector at the end.
    pub fn push(&mut self, d: Box<dyn Detector>) {
        self.list.push(d);
    }

    /// How many detectors run.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the stage is empty.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Run every detector over `batch`. A failing detector is reported in
    /// the second vector, by name, and the others still run.
    pub fn detect(&mut self, class: Class, batch: &RecordBatch) -> DetectOutcome {
        self.pass(|d| d.detect(class, batch))
    }

    /// One pass over the detectors in order: each first sees what the
    /// earlier ones derived (if it takes derived rows), then does `step`.
    fn pass(
        &mut self,
        mut step: impl FnMut(&mut dyn Detector) -> Result<Vec<(Class, RecordBatch)>, DetectError>,
    ) -> DetectOutcome {
        let mut out = DetectOutcome::default();
        for d in &mut self.list {
            let mut found = Vec::new();
            if d.takes_derived() {
                for (c, b) in &out.batches {
                    match d.detect(*c, b) {
                        Ok(more) => found.extend(more),
                        Err(e) => out.errors.push(format!("{}: {e}", d.name())),
                    }
                }
            }
            match step(d.as_mut()) {
                Ok(more) => found.extend(more),
                Err(e) => out.errors.push(format!("{}: {e}", d.name())),
            }
            out.batches.extend(found);
        }
        out
    }

    /// Every detector's counters, as `detector.counter`.
    pub fn counters(&self) -> Vec<(String, u64)> {
        self.list
            .iter()
            .flat_map(|d| {
                d.counters()
                    .into_iter()
                    .map(move |(k, v)| (format!("{}.{k}", d.name()), v))
            })
            .collect()
    }

    /// Every detector's saved state, by name.
    ///
    /// # Errors
    ///
    /// The first detector whose state cannot be saved.
    pub fn save_state(&self) -> Result<BTreeMap<String, Box<RawValue>>, DetectError> {
        let mut m = BTreeMap::new();
        for d in &self.list {
            if let Some(v) = d.save_state()? {
                m.insert(d.name().to_string(), v);
            }
        }
        Ok(m)
    }

    /// Give each detector its saved state, by name; detectors with none
    /// saved start empty. Returns the names that were restored.
    ///
    /// # Errors
    ///
    /// A detector that refuses its state, naming it.
    pub fn load_state(
        &mut self,
        saved: &BTreeMap<String, Box<RawValue>>,
    ) -> Result<Vec<String>, DetectError> {
        let mut done = Vec::new();
        for d in &mut self.list {
            if let Some(v) = saved.get(d.name()) {
                d.load_state(v)
                    .map_err(|e| DetectError::Config(format!("{}: {e}", d.name())))?;
                done.push(d.name().to_string());
            }
        }
        Ok(done)
    }

    /// Every detector's end-of-run report, by name.
    pub fn reports(&self) -> Vec<(String, serde_json::Value)> {
        self.list
            .iter()
            .filter_map(|d| d.report().map(|r| (d.name().to_string(), r)))
            .collect()
    }

    /// Flush every detector at the end of a run.
    pub fn finish(&mut self) -> DetectOutcome {
        self.pass(|d| d.finish())
    }
}

/// What the detector stage produced for one batch.
#[derive(Default)]
pub struct DetectOutcome {
    /// Derived batches (findings, risk).
    pub batches: Vec<(Class, RecordBatch)>,
    /// Detector failures, as `name: error`.
    pub errors: Vec<String>,
}

/// Build the detectors for a rule directory: the Sigma engine over every
/// rule file under `dir` (recursively), with vigil's built-in field
/// mappings plus any mapping files in `<dir>/mappings/`.
///
/// Rules that cannot load are skipped and listed in the returned
/// [`LoadReport`]; the rest run.
///
/// # Errors
///
/// [`DetectError::Config`] when `dir` cannot be read or a mapping file is
/// invalid.
pub fn from_rules_dir(dir: &std::path::Path) -> Result<(Detectors, LoadReport), DetectError> {
    from_rules_dir_with(dir, sigma::CorrelationConfig::default())
}

/// As [`from_rules_dir`], with the correlation stage's settings (allowed
/// lateness, state caps).
///
/// # Errors
///
/// As [`from_rules_dir`].
pub fn from_rules_dir_with(
    dir: &std::path::Path,
    correlation: sigma::CorrelationConfig,
) -> Result<(Detectors, LoadReport), DetectError> {
    let mut mappings = sigma::Mappings::builtin().map_err(DetectError::Config)?;
    let own = dir.join("mappings");
    if own.is_dir() {
        mappings.add_dir(&own).map_err(DetectError::Config)?;
    }
    let (mut engine, report) = sigma::SigmaEngine::load(&[dir], &mappings)?;
    engine.set_correlation_config(correlation);
    let mut ds = Detectors::new();
    ds.push(Box::new(engine));
    Ok((ds, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::RecordBatch;

    struct CountRows(usize);

    impl Detector for CountRows {
        fn name(&self) -> &str {
            "count"
        }

        fn detect(
            &mut self,
            _class: Class,
            batch: &RecordBatch,
        ) -> Result<Vec<(Class, RecordBatch)>, DetectError> {
            self.0 += batch.num_rows();
            if self.0 > 3 {
                return Err(DetectError::Internal("too many".into()));
            }
            Ok(vec![(
                Class::DetectionFinding,
                RecordBatch::new_empty(Class::DetectionFinding.schema()),
            )])
        }
    }

    #[test]
    fn a_failing_detector_is_reported_and_the_rest_run() {
        let mut ds = Detectors::new();
        ds.push(Box::new(CountRows(0)));
        ds.push(Box::new(CountRows(10)));
        let b = vigil_schemas::BatchBuilder::new(Class::Authentication).finish();
        let out = ds.detect(Class::Authentication, &b);
        assert_eq!(out.batches.len(), 1);
        assert_eq!(
            out.errors,
            vec!["count: detect: internal: too many".to_string()]
        );
    }
}
