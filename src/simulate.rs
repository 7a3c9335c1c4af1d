//! `vigil simulate`: write a simulated enterprise's telemetry, with
//! labelled attacks, as files `vigil replay` reads (see
//! `vigil_ingest::sim` for what is modelled).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use chrono::NaiveDate;
use clap::Args;
use vigil_ingest::sim::{SimConfig, Simulator, writer};

/// Arguments of `vigil simulate`.
#[derive(Args)]
pub struct SimulateArgs {
    /// Seed of every random draw: the same seed and arguments give the
    /// same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Days in the labelled period (the one with attacks).
    #[arg(long, default_value_t = 7)]
    days: u32,
    /// Number of people in the enterprise.
    #[arg(long, default_value_t = 200)]
    users: u32,
    /// Output directory: history/, events/, labels.csv, sim.json.
    #[arg(long)]
    out: PathBuf,
    /// First day of the labelled period, 00:00 UTC.
    #[arg(long, default_value = "2026-11-02")]
    start: NaiveDate,
    /// Days of attack-free history before --start, under history/.
    #[arg(long, default_value_t = 7)]
    warmup_days: u32,
}

/// Run `vigil simulate`.
pub fn run(a: SimulateArgs) -> anyhow::Result<()> {
    let began = Instant::now();
    let cfg = SimConfig {
        seed: a.seed,
        users: a.users,
        start: a.start,
        days: a.days,
        warmup_days: a.warmup_days,
    };
    if a.out.join("labels.csv").exists() {
        anyhow::bail!(
            "simulate: {} already holds a simulation; choose another --out",
            a.out.display()
        );
    }
    let sim = Simulator::new(&cfg)?;
    let summary = writer::write_dir(sim, &a.out)
        .with_context(|| format!("simulate into {}", a.out.display()))?;
    let secs = began.elapsed().as_secs_f64();
    println!("{:<24} {:>12}", "records", "count");
    for (sink, n) in &summary.counts {
        println!("{:<24} {n:>12}", sink.name());
    }
    println!(
        "\n{:<24} {:>8} {:>8} {:>10}",
        "attack", "planned", "labelled", "events"
    );
    for (sc, planned) in &summary.planned {
        let mine = summary.labels.iter().filter(|l| l.scenario == *sc);
        let events: u64 = mine.clone().map(|l| l.events).sum();
        let labelled = mine.count();
        println!("{:<24} {planned:>8} {labelled:>8} {events:>10}", sc.name());
    }
    let skipped: std::collections::BTreeSet<_> = summary.skipped.iter().collect();
    for (sc, why) in skipped {
        println!("skipped {}: {why}", sc.name());
    }
    println!("\nwrote {} in {secs:.1} s", a.out.display());
    Ok(())
}
