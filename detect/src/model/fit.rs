//! Training: entity-hours from lake history to a [`Model`].

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use linfa::DatasetBase;
use linfa::traits::{Fit, Predict};
use linfa_clustering::{GaussianMixtureModel, KMeans};
use ndarray::{Array2, Axis};

use super::ModelError;
use super::features::{AuthCols, FEATURES, HourAcc, N_FEATURES, hour_of, hour_text};
use super::file::{
    Component, MODEL_VERSION, Model, PeerGroup, QUANTILES, Scaling, Window, sq_dist,
};

/// Added to the diagonal of every mixture covariance, in standardised
/// units: a floor on how tightly a group may hold a feature, so that a
/// feature a group never varies on (everyone signs in from one country)
/// makes a change unusual but not infinitely so. 0.05 is a standard
/// deviation of about 0.22 of the fleet's.
const REG_COVARIANCE: f64 = 0.05;

/// Entity-hours per mixture component: full covariance over 8 features
/// has 44 parameters, and ten hours or more per parameter keeps EM from
/// fitting noise.
const HOURS_PER_COMPONENT: usize = 500;

/// How to train.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// Fewest entity-hours in the history, and in each peer group; groups
    /// are merged (fewer k-means clusters) until each has this many.
    pub min_hours: usize,
    /// The quantile of a group's training scores above which an hour is a
    /// finding. 0.999 flags about one hour in a thousand of a history
    /// like the training one.
    pub threshold_quantile: f64,
    /// Most peer groups.
    pub max_groups: usize,
    /// Most mixture components per group.
    pub max_components: usize,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            min_hours: 200,
            threshold_quantile: 0.999,
            max_groups: 8,
            max_components: 4,
        }
    }
}

/// Gathers entity-hours from `authentication` batches, then fits.
///
/// Batches may be raw events or pre-counted groups with an Int64 column
/// `n` (how many events each row stands for); rows of one user and hour
/// may come in any order and any batch.
#[derive(Default)]
pub struct Trainer {
    hours: BTreeMap<(String, i64), HourAcc>,
}

/// One training entity-hour.
pub(crate) struct Obs {
    pub(crate) user: String,
    pub(crate) hour: i64,
    pub(crate) raw: [f64; N_FEATURES],
    pub(crate) features: [f64; N_FEATURES],
}

impl Trainer {
    /// No hours yet.
    pub fn new() -> Trainer {
        Trainer::default()
    }

    /// Add the rows of an `authentication` batch.
    pub fn add(&mut self, batch: &RecordBatch) {
        let cols = AuthCols::new(batch);
        for row in 0..batch.num_rows() {
            if let Some(r) = cols.read(row) {
                let key = (r.user.clone(), hour_of(r.time));
                self.hours.entry(key).or_default().add(&r);
            }
        }
    }

    /// Entity-hours gathered so far.
    pub fn hours(&self) -> usize {
        self.hours.len()
    }

    /// Fit the model.
    ///
    /// # Errors
    ///
    /// [`ModelError::TooLittleData`] under `cfg.min_hours` entity-hours;
    /// [`ModelError::Fit`] when clustering or a mixture fails.
    pub fn fit(self, cfg: &TrainConfig) -> Result<Model, ModelError> {
        let obs: Vec<Obs> = self
            .hours
            .into_iter()
            .map(|((user, hour), acc)| Obs {
                raw: acc.raw(hour),
                features: acc.features(hour),
                user,
                hour,
            })
            .collect();
        fit(&obs, cfg)
    }
}

/// Fit a model to entity-hours: see the module docs for the method.
pub(crate) fn fit(obs: &[Obs], cfg: &TrainConfig) -> Result<Model, ModelError> {
    check_enough(obs, cfg)?;

    let x = Array2::from_shape_fn((obs.len(), N_FEATURES), |(r, c)| obs[r].features[c]);
    let scaling = scaling(&x);
    let z = Array2::from_shape_fn(x.dim(), |(r, c)| {
        (x[[r, c]] - scaling.mean[c]) / scaling.std[c]
    });

    let users = user_index(obs);
    let (labels, centroids) = peer_groups(obs, &z, &users, cfg)?;
    let mut groups = Vec::with_capacity(centroids.nrows());
    for (g, centroid) in centroids.rows().into_iter().enumerate() {
        let rows: Vec<usize> = (0..obs.len())
            .filter(|&r| labels[users[&obs[r].user]] == g)
            .collect();
        let members = labels.iter().filter(|&&l| l == g).count();
        let group = fit_group(obs, &z, &rows, members, centroid.to_vec(), cfg)
            .map_err(|e| ModelError::Fit(format!("peer group {}: {e}", g + 1)))?;
        groups.push(group);
    }

    Ok(Model {
        version: MODEL_VERSION,
        features: FEATURES.iter().map(|f| f.to_string()).collect(),
        scaling,
        threshold_quantile: cfg.threshold_quantile,
        window: window(obs, users.len()),
        groups,
        users: users.iter().map(|(u, &i)| (u.clone(), labels[i])).collect(),
    })
}

fn check_enough(obs: &[Obs], cfg: &TrainConfig) -> Result<(), ModelError> {
    let users = obs
        .iter()
        .map(|o| &o.user)
        .collect::<std::collections::BTreeSet<_>>();
    if obs.len() < cfg.min_hours.max(2) || users.len() < 2 {
        return Err(ModelError::TooLittleData(format!(
            "{} entity-hours of {} users; at least {} hours of 2 users are needed",
            obs.len(),
            users.len(),
            cfg.min_hours.max(2)
        )));
    }
    Ok(())
}

/// Per-feature mean and standard deviation (1 for a constant feature).
fn scaling(x: &Array2<f64>) -> Scaling {
    let mean = x.mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_default();
    let std = x
        .std_axis(Axis(0), 0.0)
        .iter()
        .map(|&s| if s > 1e-9 { s } else { 1.0 })
        .collect();
    Scaling { mean, std }
}

/// Users in order, to row numbers of the user matrix.
fn user_index(obs: &[Obs]) -> BTreeMap<String, usize> {
    let mut users = BTreeMap::new();
    for o in obs {
        let next = users.len();
        users.entry(o.user.clone()).or_insert(next);
    }
    users
}

/// Each user's mean scaled hour.
fn user_means(obs: &[Obs], z: &Array2<f64>, users: &BTreeMap<String, usize>) -> Array2<f64> {
    let mut sums = Array2::<f64>::zeros((users.len(), N_FEATURES));
    let mut counts = vec![0.0; users.len()];
    for (r, o) in obs.iter().enumerate() {
        let u = users[&o.user];
        counts[u] += 1.0;
        let mut row = sums.row_mut(u);
        row += &z.row(r);
    }
    for (u, mut row) in sums.rows_mut().into_iter().enumerate() {
        row /= counts[u];
    }
    sums
}

/// k-means over users' mean hours: a label per user and the centroids,
/// largest group first.
///
/// k is `sqrt(users / 2)`, at most `cfg.max_groups`; then a group with
/// fewer than `cfg.min_hours` entity-hours is merged into the group whose
/// centroid is nearest, smallest first, so that a handful of unusual
/// accounts (service accounts, say) joins its nearest kind instead of
/// collapsing every group into one.
fn peer_groups(
    obs: &[Obs],
    z: &Array2<f64>,
    users: &BTreeMap<String, usize>,
    cfg: &TrainConfig,
) -> Result<(Vec<usize>, Array2<f64>), ModelError> {
    let means = user_means(obs, z, users);
    let mut hours_of = vec![0; users.len()];
    obs.iter().for_each(|o| hours_of[users[&o.user]] += 1);

    let k = ((users.len() as f64 / 2.0).sqrt().round() as usize).clamp(1, cfg.max_groups.max(1));
    let mut labels = vec![0; users.len()];
    if k > 1 {
        let km = KMeans::params(k)
            .n_runs(5)
            .max_n_iterations(300)
            .tolerance(1e-6)
            .fit(&DatasetBase::from(means.clone()))
            .map_err(|e| ModelError::Fit(format!("k-means with {k} groups: {e}")))?;
        labels = km.predict(&means).to_vec();
    }

    while merge_smallest(&mut labels, &means, &hours_of, cfg.min_hours) {}
    Ok(renumber(&labels, &means, &hours_of))
}

/// The mean of the member users' mean vectors, per group label.
fn centroids(labels: &[usize], means: &Array2<f64>) -> BTreeMap<usize, Vec<f64>> {
    let mut out: BTreeMap<usize, (Vec<f64>, f64)> = BTreeMap::new();
    for (u, &g) in labels.iter().enumerate() {
        let (sum, n) = out.entry(g).or_insert((vec![0.0; N_FEATURES], 0.0));
        sum.iter_mut().zip(means.row(u)).for_each(|(s, x)| *s += x);
        *n += 1.0;
    }
    out.into_iter()
        .map(|(g, (sum, n))| (g, sum.into_iter().map(|s| s / n).collect()))
        .collect()
}

/// Merge the group with the fewest hours into its nearest, if it has
/// fewer than `min_hours` and is not the last; whether it did.
fn merge_smallest(
    labels: &mut [usize],
    means: &Array2<f64>,
    hours_of: &[usize],
    min_hours: usize,
) -> bool {
    let mut hours: BTreeMap<usize, usize> = BTreeMap::new();
    labels
        .iter()
        .zip(hours_of)
        .for_each(|(&g, &h)| *hours.entry(g).or_default() += h);
    let Some((&small, &h)) = hours.iter().min_by_key(|(_, h)| **h) else {
        return false;
    };
    if hours.len() < 2 || h >= min_hours {
        return false;
    }
    let c = centroids(labels, means);
    let into = c
        .iter()
        .filter(|(g, _)| **g != small)
        .min_by(|a, b| sq_dist(a.1, &c[&small]).total_cmp(&sq_dist(b.1, &c[&small])))
        .map(|(g, _)| *g);
    let Some(into) = into else { return false };
    labels
        .iter_mut()
        .filter(|g| **g == small)
        .for_each(|g| *g = into);
    true
}

/// Labels as 0.., largest group (by hours) first, with their centroids.
fn renumber(
    labels: &[usize],
    means: &Array2<f64>,
    hours_of: &[usize],
) -> (Vec<usize>, Array2<f64>) {
    let c = centroids(labels, means);
    let mut hours: BTreeMap<usize, usize> = BTreeMap::new();
    labels
        .iter()
        .zip(hours_of)
        .for_each(|(&g, &h)| *hours.entry(g).or_default() += h);
    let mut order: Vec<usize> = c.keys().copied().collect();
    order.sort_by_key(|g| std::cmp::Reverse(hours[g]));
    let new_of: BTreeMap<usize, usize> = order.iter().enumerate().map(|(i, &g)| (g, i)).collect();
    let mut cent = Array2::zeros((order.len(), N_FEATURES));
    for (i, g) in order.iter().enumerate() {
        cent.row_mut(i)
            .assign(&ndarray::ArrayView1::from(&c[g][..]));
    }
    (labels.iter().map(|g| new_of[g]).collect(), cent)
}

/// The mixture, scores and summary of one group.
fn fit_group(
    obs: &[Obs],
    z: &Array2<f64>,
    rows: &[usize],
    members: usize,
    centroid: Vec<f64>,
    cfg: &TrainConfig,
) -> Result<PeerGroup, String> {
    let zg = z.select(Axis(0), rows);
    let components = mixture(&zg, cfg)?;
    let mut group = PeerGroup {
        users: members,
        hours: rows.len(),
        centroid,
        mean: zg
            .mean_axis(Axis(0))
            .map(|m| m.to_vec())
            .unwrap_or_default(),
        spread: zg.std_axis(Axis(0), 0.0).to_vec(),
        typical: (0..N_FEATURES)
            .map(|c| median(rows.iter().map(|&r| obs[r].raw[c]).collect()))
            .collect(),
        components,
        quantiles: Vec::new(),
        threshold: 0.0,
    };

    let mut scores: Vec<f64> = zg
        .rows()
        .into_iter()
        .map(|r| group.nll(&r.to_vec()))
        .collect();
    scores.sort_by(f64::total_cmp);
    group.quantiles = QUANTILES
        .iter()
        .map(|&q| (q, quantile(&scores, q)))
        .collect();
    group.threshold = quantile(&scores, cfg.threshold_quantile);
    Ok(group)
}

/// A full-covariance mixture over `zg`, with as many components as the
/// hours allow, fewer when EM fails (an emptied component).
fn mixture(zg: &Array2<f64>, cfg: &TrainConfig) -> Result<Vec<Component>, String> {
    let most = (zg.nrows() / HOURS_PER_COMPONENT).clamp(1, cfg.max_components.max(1));
    let ds = DatasetBase::from(zg.clone());
    let mut last = String::new();
    for n in (1..=most).rev() {
        let fitted = GaussianMixtureModel::params(n)
            .n_runs(2)
            .tolerance(1e-4)
            .reg_covariance(REG_COVARIANCE)
            .max_n_iterations(300)
            .fit(&ds);
        match fitted {
            Ok(gmm) => return components(&gmm),
            Err(e) => last = format!("Gaussian mixture with {n} components: {e}"),
        }
    }
    Err(last)
}

/// linfa's mixture as evaluable components.
fn components(gmm: &GaussianMixtureModel<f64>) -> Result<Vec<Component>, String> {
    let d = N_FEATURES as f64;
    let mut out = Vec::new();
    for k in 0..gmm.weights().len() {
        let cov = gmm.covariances().index_axis(Axis(0), k).to_owned();
        let log_det_cov = log_det(&cov).ok_or("a covariance is not positive definite")?;
        let weight = gmm.weights()[k];
        let precision = gmm.precisions().index_axis(Axis(0), k);
        out.push(Component {
            weight,
            mean: gmm.means().row(k).to_vec(),
            precision: precision.rows().into_iter().map(|r| r.to_vec()).collect(),
            log_norm: weight.ln() - 0.5 * log_det_cov - 0.5 * d * (2.0 * std::f64::consts::PI).ln(),
        });
    }
    Ok(out)
}

/// `ln det` of a symmetric positive definite matrix, by Cholesky.
fn log_det(a: &Array2<f64>) -> Option<f64> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[[i, k]] * l[[j, k]]).sum();
            if i == j {
                let d = a[[i, i]] - s;
                if d <= 0.0 || !d.is_finite() {
                    return None;
                }
                l[[i, j]] = d.sqrt();
            } else {
                l[[i, j]] = (a[[i, j]] - s) / l[[j, j]];
            }
        }
    }
    Some(2.0 * (0..n).map(|i| l[[i, i]].ln()).sum::<f64>())
}

/// The `q` quantile of sorted `v` (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::INFINITY;
    };
    sorted[((q.clamp(0.0, 1.0) * last as f64).ceil() as usize).min(last)]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    quantile(&v, 0.5)
}

fn window(obs: &[Obs], users: usize) -> Window {
    let first = obs.iter().map(|o| o.hour).min().unwrap_or(0);
    let last = obs.iter().map(|o| o.hour).max().unwrap_or(0);
    Window {
        first_hour: hour_text(first),
        last_hour: hour_text(last),
        hours: obs.len(),
        users,
    }
}
