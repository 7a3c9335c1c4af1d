//! The fitted model: what `vigil train` writes, how it scores an
//! entity-hour, and how a score becomes a sentence.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ModelError;
use super::features::{FEATURES, N_FEATURES, hour_text};

/// The model file format this build reads and writes.
pub const MODEL_VERSION: u32 = 1;

/// Training quantiles kept per group, for thresholds and percentiles.
pub(crate) const QUANTILES: [f64; 9] = [0.5, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 1.0];

/// A model of entity-hours per peer group: see the module docs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// [`MODEL_VERSION`] when written.
    pub version: u32,
    /// Feature names, in vector order.
    pub features: Vec<String>,
    /// How raw features were standardised.
    pub scaling: Scaling,
    /// The training quantile of a group's scores used as its threshold.
    pub threshold_quantile: f64,
    /// What the model was trained on.
    pub window: Window,
    /// The peer groups.
    pub groups: Vec<PeerGroup>,
    /// Each training user's peer group, by normalised user id.
    pub users: BTreeMap<String, usize>,
}

/// Standardisation: `(x - mean) / std` per feature, after `ln(1 + x)`
/// for counts.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    /// Training mean per feature.
    pub mean: Vec<f64>,
    /// Training standard deviation per feature (1 where it was 0).
    pub std: Vec<f64>,
}

/// The training window.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// First entity-hour seen, `YYYY-MM-DD HH:00` UTC.
    pub first_hour: String,
    /// Last entity-hour seen.
    pub last_hour: String,
    /// Entity-hours trained on.
    pub hours: usize,
    /// Users trained on.
    pub users: usize,
}

/// One peer group: users whose average hour looks alike, and a Gaussian
/// mixture over their hours.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PeerGroup {
    /// Users in the group.
    pub users: usize,
    /// Their entity-hours in training.
    pub hours: usize,
    /// The k-means centroid of the members' mean (scaled) vectors; new
    /// users go to the nearest.
    pub centroid: Vec<f64>,
    /// Mean scaled vector of the group's hours.
    pub mean: Vec<f64>,
    /// Standard deviation of the scaled features over the group's hours.
    pub spread: Vec<f64>,
    /// Median raw value per feature, for explanations.
    pub typical: Vec<f64>,
    /// Mixture components.
    pub components: Vec<Component>,
    /// `(q, score)` over the training hours, q from 0.5 to 1 (the most
    /// unusual training hour).
    pub quantiles: Vec<(f64, f64)>,
    /// Scores above this are findings.
    pub threshold: f64,
}

/// One Gaussian of a mixture, ready to evaluate.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Mixture weight.
    pub weight: f64,
    /// Mean, scaled space.
    pub mean: Vec<f64>,
    /// Inverse covariance, row by row.
    pub precision: Vec<Vec<f64>>,
    /// `ln weight + ln det(precision) / 2 - d ln(2π) / 2`.
    pub log_norm: f64,
}

/// What the model says about one unusual hour.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// The peer group it was judged against.
    pub group: usize,
    /// Whether the user was in training (else: the nearest group).
    pub known_user: bool,
    /// Negative log density under the group's mixture.
    pub nll: f64,
    /// 0 to 100: 15 at the threshold, towards 40 far past it.
    pub score: f64,
    /// A sentence a person can read.
    pub explanation: String,
}

impl Model {
    /// Read a model file.
    ///
    /// # Errors
    ///
    /// [`ModelError::Io`] when the file cannot be read,
    /// [`ModelError::Format`] when it is not a model this build can use;
    /// both name the file.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|e| ModelError::io(path, e))?;
        Model::from_json(&text).map_err(|reason| ModelError::Format {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parse and check a model from its JSON text.
    ///
    /// # Errors
    ///
    /// Why the text is not a usable model.
    pub fn from_json(text: &str) -> Result<Model, String> {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let version = v.get("version").and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(MODEL_VERSION)) {
            return Err(format!(
                "model file version {}, this vigil reads {MODEL_VERSION}: retrain",
                version.map_or("missing".to_string(), |v| v.to_string())
            ));
        }
        let m: Model = serde_json::from_value(v).map_err(|e| e.to_string())?;
        m.check()?;
        Ok(m)
    }

    /// Write the model as JSON.
    ///
    /// # Errors
    ///
    /// [`ModelError::Io`] naming the file.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| ModelError::Fit(format!("cannot encode the model: {e}")))?;
        std::fs::write(path, text).map_err(|e| ModelError::io(path, e))
    }

    /// Shapes and numbers agree with this build's features.
    fn check(&self) -> Result<(), String> {
        if self.features != FEATURES {
            return Err(format!(
                "trained on features {:?}, this vigil computes {FEATURES:?}: retrain",
                self.features
            ));
        }
        if self.groups.is_empty() {
            return Err("no peer groups".into());
        }
        let dims = [&self.scaling.mean, &self.scaling.std];
        if dims.iter().any(|v| v.len() != N_FEATURES) {
            return Err("scaling does not match the features".into());
        }
        for (i, g) in self.groups.iter().enumerate() {
            g.check().map_err(|e| format!("peer group {i}: {e}"))?;
        }
        match self.users.values().find(|&&g| g >= self.groups.len()) {
            Some(g) => Err(format!("a user is in peer group {g}, which does not exist")),
            None => Ok(()),
        }
    }

    /// Raw-feature vector to scaled.
    pub(crate) fn scale(&self, features: &[f64; N_FEATURES]) -> [f64; N_FEATURES] {
        let mut z = *features;
        for (i, x) in z.iter_mut().enumerate() {
            *x = (*x - self.scaling.mean[i]) / self.scaling.std[i];
        }
        z
    }

    /// The group for `user`: their training group, or the group whose
    /// centroid is nearest to this hour for a user the model never saw.
    pub(crate) fn group_of(&self, user: &str, z: &[f64]) -> (usize, bool) {
        if let Some(&g) = self.users.get(user) {
            return (g, true);
        }
        let nearest = (0..self.groups.len())
            .min_by(|&a, &b| {
                let da = sq_dist(z, &self.groups[a].centroid);
                let db = sq_dist(z, &self.groups[b].centroid);
                da.total_cmp(&db)
            })
            .unwrap_or(0);
        (nearest, false)
    }

    /// Judge one hour of `user` (starting at `hour`, µs) with raw values
    /// `raw` and features `features`; `Some` when it is past its group's
    /// threshold.
    pub(crate) fn assess(
        &self,
        user: &str,
        hour: i64,
        raw: &[f64; N_FEATURES],
        features: &[f64; N_FEATURES],
    ) -> Option<Assessment> {
        let z = self.scale(features);
        let (g, known_user) = self.group_of(user, &z);
        let group = &self.groups[g];
        let nll = group.nll(&z);
        if nll <= group.threshold {
            return None;
        }
        let explanation = self.explain(user, hour, raw, &z, g, known_user, nll);
        Some(Assessment {
            group: g,
            known_user,
            nll,
            score: group.score(nll),
            explanation,
        })
    }

    /// The score of an hour under group `g`, for tests and tools.
    pub fn nll(&self, g: usize, features: &[f64; N_FEATURES]) -> f64 {
        self.groups[g].nll(&self.scale(features))
    }

    #[expect(clippy::too_many_arguments, reason = "one sentence from its parts")]
    fn explain(
        &self,
        user: &str,
        hour: i64,
        raw: &[f64; N_FEATURES],
        z: &[f64; N_FEATURES],
        g: usize,
        known: bool,
        nll: f64,
    ) -> String {
        let group = &self.groups[g];
        let top = group.outstanding(z);
        let what: Vec<String> = top.iter().map(|&i| describe(i, raw[i])).collect();
        let usual: Vec<String> = top.iter().map(|&i| describe(i, group.typical[i])).collect();
        let whose = if known { "" } else { "new user, nearest " };
        format!(
            "{user}'s hour {} UTC: {}, unlike {whose}peer group {} of {} ({} users, \
             typically {} an hour): {}",
            hour_text(hour),
            join(&what),
            g + 1,
            self.groups.len(),
            group.users,
            join(&usual),
            group.percentile_text(nll),
        )
    }
}

impl PeerGroup {
    fn check(&self) -> Result<(), String> {
        let vecs = [&self.centroid, &self.mean, &self.spread, &self.typical];
        if vecs.iter().any(|v| v.len() != N_FEATURES) {
            return Err("vectors do not match the features".into());
        }
        if self.components.is_empty() {
            return Err("no mixture components".into());
        }
        for c in &self.components {
            let square = c.precision.len() == N_FEATURES
                && c.precision.iter().all(|r| r.len() == N_FEATURES);
            if c.mean.len() != N_FEATURES || !square || !c.log_norm.is_finite() {
                return Err("a mixture component has the wrong shape".into());
            }
        }
        if !self.threshold.is_finite() || self.quantiles.is_empty() {
            return Err("no threshold".into());
        }
        Ok(())
    }

    /// Negative log density of a scaled vector under the mixture.
    pub(crate) fn nll(&self, z: &[f64]) -> f64 {
        let logs: Vec<f64> = self.components.iter().map(|c| c.log_density(z)).collect();
        let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = logs.iter().map(|l| (l - top).exp()).sum();
        -(top + sum.ln())
    }

    /// 0 to 100 for a score past the threshold: 15 at the threshold,
    /// rising towards 40 as the excess grows in units of the gap between
    /// the group's median hour and its threshold. An hour unlike the
    /// user's peers is context, not proof: alone it stays below high
    /// (50), and it tips an entity over only with other evidence. (Scored
    /// up to 70, the models alone made 271 false high alerts in 14 days
    /// of simulate seed 7, EVALUATION.md.)
    fn score(&self, nll: f64) -> f64 {
        let median = self.quantiles.first().map_or(0.0, |q| q.1);
        let unit = (self.threshold - median).max(1.0);
        let excess = ((nll - self.threshold) / unit).max(0.0);
        15.0 + 25.0 * (1.0 - (-excess).exp())
    }

    /// The features most above the group's usual, most first (two at
    /// most; the single largest when none stands out).
    fn outstanding(&self, z: &[f64]) -> Vec<usize> {
        let mut dev: Vec<(usize, f64)> = (0..N_FEATURES)
            .map(|i| (i, (z[i] - self.mean[i]) / self.spread[i].max(0.1)))
            .collect();
        dev.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut top: Vec<usize> = dev
            .iter()
            .take(2)
            .filter(|d| d.1 > 2.0)
            .map(|d| d.0)
            .collect();
        if top.is_empty() {
            top.push(dev[0].0);
        }
        top
    }

    fn percentile_text(&self, nll: f64) -> String {
        let below = self.quantiles.iter().rev().find(|(_, v)| *v < nll);
        match below {
            Some((q, _)) if *q >= 1.0 => format!(
                "more unusual than every one of the group's {} training hours",
                self.hours
            ),
            Some((q, _)) => format!(
                "past the {} percentile of the group's {} training hours",
                ordinal(q * 100.0),
                self.hours
            ),
            None => format!("among the group's {} training hours", self.hours),
        }
    }
}

impl Component {
    fn log_density(&self, z: &[f64]) -> f64 {
        let d: Vec<f64> = z.iter().zip(&self.mean).map(|(a, b)| a - b).collect();
        let mut m = 0.0;
        for (i, row) in self.precision.iter().enumerate() {
            let pd: f64 = row.iter().zip(&d).map(|(p, x)| p * x).sum();
            m += d[i] * pd;
        }
        self.log_norm - 0.5 * m
    }
}

/// Squared Euclidean distance.
pub(crate) fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// `99.9th`, `95th`.
fn ordinal(p: f64) -> String {
    let text = format!("{p:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    let suffix = match text.chars().last() {
        Some('1') if !text.ends_with("11") => "st",
        Some('2') if !text.ends_with("12") => "nd",
        Some('3') if !text.ends_with("13") => "rd",
        _ => "th",
    };
    format!("{text}{suffix}")
}

/// One feature's value in words.
fn describe(i: usize, v: f64) -> String {
    let n = v.round() as u64;
    let plural = |one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match FEATURES[i] {
        "sign_ins" => plural("sign-in", "sign-ins"),
        "failures" => plural("failure", "failures"),
        "failure_ratio" => format!("{:.0} % of sign-ins failed", v * 100.0),
        "source_addresses" => plural("source address", "source addresses"),
        "countries" => plural("country", "countries"),
        "services" => plural("service", "services"),
        "hosts" => plural("host", "hosts"),
        _ if v >= 0.5 => "activity off hours".to_string(),
        _ => "activity in working hours".to_string(),
    }
}

fn join(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}
