//! `vigil`: the command line.
//!
//! - `vigil replay PATH... --out DIR`: the whole pipeline over files.
//! - `vigil sql --lake DIR QUERY`: SQL over the lake.
//! - `vigil bench decode PATH...`: decoder throughput.
//! - `vigil bench sigma`: Sigma evaluation against rsigma-eval.
//! - `vigil rules check|test`: Sigma rule loading and regression cases.
//! - `vigil eval --labels L --out DIR`: a replay's alerts against labelled attacks.
//! - `vigil formats`: the formats vigil reads.
//! - `vigil simulate --out DIR`: a simulated enterprise's telemetry.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod bench;
mod config;
mod eval;
mod replay;
mod rules;
mod run;
mod simulate;
mod sql;
mod to_sql;
mod train;

/// Zero Trust continuous verification: identity, device and network
/// telemetry in; OCSF-aligned Arrow, detections and risk out.
#[derive(Parser)]
#[command(name = "vigil", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the pipeline as a service: sources (Kafka, HTTP, the
    /// simulator) in; findings, risk and decisions out; /metrics and
    /// health on the API. With no config, an embedded default streams a
    /// simulated enterprise.
    Run(run::RunArgs),
    /// Run the pipeline over files: decode, normalise, enrich, detect, and
    /// write the Parquet lake, dead letters and a summary under --out.
    Replay(replay::ReplayArgs),
    /// Query the lake with SQL (DataFusion); one table per class.
    Sql(SqlArgs),
    /// Measure vigil's own speed.
    Bench(BenchArgs),
    /// Check Sigma rules and run their regression cases.
    Rules(rules::RulesArgs),
    /// Score a replay's alerts against labelled attacks: recall, time to
    /// detect, precision and false positives per 1,000 users per day.
    Eval(eval::EvalArgs),
    /// List the input formats and what each is.
    Formats,
    /// Write a simulated enterprise's telemetry with labelled attacks.
    Simulate(simulate::SimulateArgs),
    /// Fit per-peer-group models of entity-hours from a lake's history.
    Train(train::TrainArgs),
}

#[derive(Args)]
struct SqlArgs {
    /// The lake directory (the `lake` folder under a replay's --out).
    #[arg(long)]
    lake: PathBuf,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = OutFormat::Table)]
    format: OutFormat,
    /// The query, e.g. "select count(*) from authentication".
    query: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Table,
    Csv,
    Json,
}

#[derive(Args)]
struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Subcommand)]
enum BenchWhat {
    /// Decode files from memory and report MB/s and events/s on one core.
    Decode(bench::DecodeArgs),
    /// Sigma evaluation, vigil against rsigma-eval, on one core: same
    /// events, same rules, same matches checked first.
    Sigma(bench::SigmaArgs),
    /// The whole service through a Kafka broker (Tansu unless --brokers):
    /// throughput against a bare rdkafka consumer, and produce-to-risk
    /// latency at a fixed rate.
    E2e(run::bench::E2eArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // N.B. the service logs what an operator follows (starts, stops,
    // rebalances) by default; one-shot commands only their warnings.
    init_logging(if matches!(cli.cmd, Cmd::Run(_)) {
        "info"
    } else {
        "warn"
    });
    let res = match cli.cmd {
        Cmd::Run(a) => run::run(a),
        Cmd::Replay(a) => replay::run(a),
        Cmd::Sql(a) => sql::run(a.lake, a.format.into(), &a.query),
        Cmd::Bench(BenchArgs {
            what: BenchWhat::Decode(a),
        }) => bench::decode(a),
        Cmd::Bench(BenchArgs {
            what: BenchWhat::Sigma(a),
        }) => bench::sigma(a),
        Cmd::Bench(BenchArgs {
            what: BenchWhat::E2e(a),
        }) => run::bench::e2e(a),
        Cmd::Rules(a) => rules::run(a),
        Cmd::Simulate(a) => simulate::run(a),
        Cmd::Train(a) => train::run(a),
        Cmd::Eval(a) => match eval::run(a) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
        Cmd::Formats => {
            for f in vigil_ingest::Format::ALL {
                println!("{:<18} {}", f.name(), f.describe());
            }
            Ok(())
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vigil: {}", error_chain(&e));
            ExitCode::FAILURE
        }
    }
}

impl From<OutFormat> for vigil_sink::sql::ResultFormat {
    fn from(f: OutFormat) -> Self {
        match f {
            OutFormat::Table => Self::Table,
            OutFormat::Csv => Self::Csv,
            OutFormat::Json => Self::Json,
        }
    }
}

/// The error and its causes, each cause only where the message before it
/// does not already say it (library errors often include their source).
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
    }
    out
}

fn init_logging(default: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("VIGIL_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
