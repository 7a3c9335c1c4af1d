//! `vigil train`: fit the peer-group model on a lake's history and write
//! it as a file `replay` and `run` score with (`--model`).
//!
//! The lake is grouped by SQL first, one row per user, hour and distinct
//! (activity, status, address, country, service, host) with a count `n`,
//! so the detector crate never sees the raw rows and a month of history
//! passes in a few thousand rows per user. The trainer reads those rows
//! with the same code the online detector uses (see
//! `vigil_detect::model`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use vigil_detect::model::{Model, TrainConfig, Trainer};
use vigil_sink::sql::{lake_context, query};

/// Arguments of `vigil train`.
#[derive(Args)]
pub struct TrainArgs {
    /// The lake to learn from (the `lake/` folder a replay wrote).
    #[arg(long)]
    lake: PathBuf,
    /// Where to write the model (JSON).
    #[arg(long)]
    out: PathBuf,
    /// Fewest entity-hours (user × hour) in the history and in each peer
    /// group.
    #[arg(long, default_value_t = TrainConfig::default().min_hours)]
    min_hours: usize,
    /// Quantile of a peer group's training scores above which an hour
    /// becomes a finding.
    #[arg(long, default_value_t = TrainConfig::default().threshold_quantile)]
    threshold_quantile: f64,
}

/// The entity-hour groups the trainer reads. `user_name` is normalised
/// in the trainer, so two spellings of one user join there.
const HOURS_SQL: &str = "\
select date_trunc('hour', time) as time, user_name, activity_id, status_id,
       src_endpoint_ip, src_endpoint_location_country, service_name,
       device_hostname, count(*) as n
from authentication
where user_name is not null and time is not null
group by 1, 2, 3, 4, 5, 6, 7, 8";

/// Run `vigil train`.
pub fn run(a: TrainArgs) -> anyhow::Result<()> {
    if !(0.5..1.0).contains(&a.threshold_quantile) {
        anyhow::bail!("train: --threshold-quantile must be in [0.5, 1)");
    }
    let began = Instant::now();
    let trainer = gather(&a)?;
    let read_secs = began.elapsed().as_secs_f64();

    let cfg = TrainConfig {
        min_hours: a.min_hours,
        threshold_quantile: a.threshold_quantile,
        ..TrainConfig::default()
    };
    let model = trainer
        .fit(&cfg)
        .with_context(|| format!("train on {}", a.lake.display()))?;
    model.save(&a.out)?;

    print_summary(&model, &a, read_secs, began.elapsed().as_secs_f64());
    Ok(())
}

/// The lake's entity-hours, gathered.
fn gather(a: &TrainArgs) -> anyhow::Result<Trainer> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the query runtime")?;
    let batches = rt.block_on(async {
        let ctx = lake_context(&a.lake).await?;
        query(&ctx, HOURS_SQL).await
    })?;
    let mut trainer = Trainer::new();
    for b in &batches {
        trainer.add(b);
    }
    Ok(trainer)
}

fn print_summary(m: &Model, a: &TrainArgs, read_secs: f64, secs: f64) {
    let w = &m.window;
    println!(
        "trained on {} entity-hours of {} users, {} to {} UTC",
        w.hours, w.users, w.first_hour, w.last_hour
    );
    println!(
        "{:<8} {:>8} {:>10} {:>11} {:>10}",
        "group", "users", "hours", "components", "threshold"
    );
    for (i, g) in m.groups.iter().enumerate() {
        println!(
            "{:<8} {:>8} {:>10} {:>11} {:>10.2}",
            i + 1,
            g.users,
            g.hours,
            g.components.len(),
            g.threshold
        );
    }
    let bytes = std::fs::metadata(&a.out).map_or(0, |m| m.len());
    println!(
        "wrote {} ({bytes} bytes) in {secs:.2} s ({read_secs:.2} s reading the lake)",
        a.out.display()
    );
}
