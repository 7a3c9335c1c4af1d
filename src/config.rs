//! `vigil.toml`: the settings of the detection path.
//!
//! ```toml
//! [baselines]          # see vigil_detect::behaviour::BehaviourConfig
//! maturity_days = 2
//! spray_users = 10
//! [baselines.scores]
//! new_country = 30
//!
//! [risk]               # see vigil_detect::risk::RiskConfig
//! half_life_hours = 24
//! high = 50
//! [risk.decision]
//! noncompliant = "step_up"
//! ```
//!
//! Every key is optional; a key vigil does not know is an error that names
//! it, so a typo never silently leaves a default in force.

use std::path::Path;

use anyhow::{Context, bail};
use serde::Deserialize;
use vigil_detect::behaviour::BehaviourConfig;
use vigil_detect::risk::RiskConfig;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Behavioural baselines.
    pub baselines: BehaviourConfig,
    /// Risk scoring and trust decisions.
    pub risk: RiskConfig,
    /// Sources, outputs and the API of `vigil run` (see
    /// [`crate::run::RunConfig`]); other commands ignore it.
    pub run: Option<crate::run::RunConfig>,
}

impl Config {
    /// Read and check a config file; every problem with its values is
    /// reported at once.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        let cfg: Config =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut problems = cfg.baselines.problems();
        problems.extend(cfg.risk.problems());
        if let Some(r) = &cfg.run {
            problems.extend(r.problems());
        }
        if !problems.is_empty() {
            bail!("{}: {}", path.display(), problems.join("; "));
        }
        Ok(cfg)
    }
}
