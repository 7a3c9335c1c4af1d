//! Models: how unusual is this user's hour for people like them?
//!
//! The baselines ([`crate::behaviour`]) compare a user with their own
//! past, one signal at a time. A model compares a whole hour of a user's
//! activity (how many sign-ins, how many failed, from how many addresses
//! and countries, to how many services and hosts, in or out of working
//! hours) with the hours of their peer group, learnt from lake history.
//! Because it is trained from the lake, it is useful from the first event
//! of a run: no days of warm-up.
//!
//! ```text
//!  lake ──SQL──► Trainer ──fit──► Model ──JSON file──► ModelDetector ──► detection_finding
//!  (vigil train: entity-hours)    (peer groups,        (replay / run:     (vigil.model.peer_hours)
//!                                  mixtures)            online hours)
//! ```
//!
//! - [`Trainer`] gathers entity-hours (user × clock hour, UTC) from
//!   `authentication` batches; [`Trainer::fit`] makes a [`Model`].
//! - [`Model`] is what `vigil train` writes as JSON ([`Model::save`],
//!   [`Model::load`]).
//! - [`ModelDetector`] is a [`Detector`](crate::Detector): it keeps each
//!   user's current hour, and when the hour closes (the user's next event
//!   falls in a later hour, event time passes the hour's end by five
//!   minutes, or the run ends) scores it, and emits a finding when the hour
//!   is past its peer group's threshold.
//!
//! # The method, and why
//!
//! Each entity-hour is a vector of [`FEATURES`]: counts as `ln(1 + x)`,
//! the failure ratio and an off-hours flag, standardised with the training
//! mean and deviation. Then:
//!
//! 1. **Peer groups**: k-means (linfa) over each user's mean vector, so
//!    that users whose ordinary hour looks alike (an administrator touching
//!    many hosts, a salesperson on many networks) are judged together.
//!    k starts at `sqrt(users / 2)`, at most 8, and drops until each group
//!    has `min_hours` entity-hours.
//! 2. **Per group, a Gaussian mixture** (linfa, full covariance, 1 to 4
//!    components by the hours available) over the group's entity-hours. An
//!    hour's score is its negative log density under the mixture; the
//!    group's threshold is the 99.9th percentile of its training scores.
//!
//! Why a mixture rather than the alternatives linfa offers:
//!
//! - **Distance to the k-means centroid** treats every feature alike and
//!   every direction as equally rare. Features here are correlated (more
//!   sign-ins come with more services) and differ in spread; a full
//!   covariance learns both, and several components cover a group whose
//!   hours come in kinds (a quiet hour, a busy morning).
//! - **PCA reconstruction error** flags hours off the main subspace but
//!   not hours far out *along* it: twenty times the usual sign-ins,
//!   failures and addresses all together reconstruct well, and that is the
//!   credential-stuffing hour we most want. With 8 features there is also
//!   little dimension to reduce.
//! - A density gives a score with a meaning (how rare under the group's
//!   own history), so the threshold is a quantile the operator can read,
//!   and the explanation can say which features stand out.
//!
//! # Limits
//!
//! - Authentication only: `network_activity` rows carry no user, so the
//!   model has no network features until flows are joined to identities.
//! - Off hours are fixed in UTC (weekends, before 07:00, from 19:00):
//!   a team far from UTC reads as off hours all day, which its peer group
//!   then learns as usual. A per-user zone from the directory feed would
//!   resolve this.
//! - One open hour per user: an event of an hour older than the user's
//!   open one is counted as `late_events` and left out. Inputs replayed one
//!   after another with overlapping times score partial hours.
//! - Users the model never saw are judged against the peer group nearest
//!   to each hour, which is lenient; retrain to place them.

use std::path::{Path, PathBuf};

mod detector;
mod features;
mod file;
mod fit;

#[cfg(test)]
mod tests;

pub use self::detector::ModelDetector;
pub use self::features::{FEATURES, N_FEATURES};
pub use self::file::{Assessment, Component, MODEL_VERSION, Model, PeerGroup, Scaling, Window};
pub use self::fit::{TrainConfig, Trainer};

/// The findings' `finding_info_analytic_uid`.
pub const ANALYTIC_UID: &str = "vigil.model.peer_hours";

/// Why a model could not be trained, read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A model file cannot be read or written.
    #[error("model: {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A model file is not a model this build can use.
    #[error("model: {} is not a usable model: {reason}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The history is too small to train on: the user must give more.
    #[error("model: too little history to train: {0}")]
    TooLittleData(String),
    /// Fitting failed.
    #[error("model: training failed: {0}")]
    Fit(String),
}

impl ModelError {
    fn io(path: &Path, source: std::io::Error) -> ModelError {
        ModelError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
