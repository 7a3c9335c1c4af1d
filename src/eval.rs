//! `vigil eval`: how well a replay's alerts match labelled attacks.
//!
//! An *alert* is an `entity_risk` row whose level enters `--alert-level`
//! (high by default) or above from below it: the moment an analyst or an
//! enforcement point would act. An alert *detects* a labelled attack when
//! it concerns the labelled entity and falls between the attack's start
//! (less `--lead` seconds, since the evidence of an attack may begin a
//! little before its first labelled event) and its end plus `--grace`
//! seconds. Then, per scenario:
//!
//! - recall: attacks detected / attacks labelled;
//! - time to detect: first detecting alert − attack start (0 when the
//!   alert came within the lead), median over detected attacks;
//! - the signals (finding analytics) seen on the entity in that window.
//!
//! Overall: precision = alerts that detect some attack / all alerts;
//! false positives per 1,000 users per day = alerts that detect none,
//! per (users / 1000 × days). Users and days come from `sim.json` beside
//! the labels when `vigil simulate` wrote it, else from `--users` and
//! `--days`, else from the data (distinct users in `trust_decision`, and
//! the span of the alerts' and labels' times).
//!
//! With `sim.json`, only alerts within the labelled days count: the
//! history days before them train the baselines and hold no attacks.
//!
//! The result is printed as a table and written to `<out>/eval.json`.
//! `--check` exits non-zero unless every scenario's recall is at least
//! 0.95, precision at least 0.9, false positives at most 2 per 1,000 users
//! per day and the median time to detect under 60 s (the targets of
//! vigil's evaluation, EVALUATION.md).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use clap::Args;
use serde_json::json;
use vigil_sink::sql::{lake_context, query};

#[derive(Args)]
pub struct EvalArgs {
    /// labels.csv: scenario,entity_type,entity_id,start,end,event_ids
    /// (as `vigil simulate` writes it).
    #[arg(long)]
    labels: PathBuf,
    /// The replay's output directory (its `lake/` is read; `eval.json`
    /// is written there).
    #[arg(long)]
    out: PathBuf,
    /// Risk level whose entry is an alert: medium, high or critical.
    #[arg(long, default_value = "high")]
    alert_level: String,
    /// Seconds after an attack's last event in which an alert still counts.
    #[arg(long, default_value_t = 3600)]
    grace: i64,
    /// Seconds before an attack's first event in which an alert counts.
    #[arg(long, default_value_t = 300)]
    lead: i64,
    /// Users in the data, when no sim.json says.
    #[arg(long)]
    users: Option<u64>,
    /// Days of data, when no sim.json says.
    #[arg(long)]
    days: Option<f64>,
    /// Exit non-zero unless the targets are met.
    #[arg(long)]
    check: bool,
}

/// One labelled attack.
#[derive(Clone, Debug)]
struct Label {
    scenario: String,
    kind: String,
    id: String,
    start: i64,
    end: i64,
}

/// One alert.
#[derive(Clone, Debug)]
struct Alert {
    time: i64,
    kind: String,
    id: String,
}

const LEVELS: [&str; 4] = ["low", "medium", "high", "critical"];

fn rank(level: &str) -> Option<usize> {
    LEVELS.iter().position(|l| l.eq_ignore_ascii_case(level))
}

fn parse_time(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp_micros())
}

fn read_labels(path: &Path) -> anyhow::Result<Vec<Label>> {
    let mut r = csv::Reader::from_path(path)
        .with_context(|| format!("cannot read labels {}", path.display()))?;
    let headers = r
        .headers()
        .with_context(|| format!("{}: no header line", path.display()))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{}: no column {name:?} in the header", path.display()))
    };
    let (sc, kt, ki, st, en) = (
        col("scenario")?,
        col("entity_type")?,
        col("entity_id")?,
        col("start")?,
        col("end")?,
    );
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.with_context(|| format!("{}:{line}: not CSV", path.display()))?;
        let get = |c: usize| rec.get(c).unwrap_or("").trim().to_string();
        let start = parse_time(&get(st)).with_context(|| {
            format!(
                "{}:{line}: start {:?} is not an RFC 3339 time",
                path.display(),
                get(st)
            )
        })?;
        let end = parse_time(&get(en)).with_context(|| {
            format!(
                "{}:{line}: end {:?} is not an RFC 3339 time",
                path.display(),
                get(en)
            )
        })?;
        if end < start {
            bail!("{}:{line}: end is before start", path.display());
        }
        let kind = get(kt).to_lowercase();
        if !["user", "device", "ip", "host", "service"].contains(&kind.as_str()) {
            bail!(
                "{}:{line}: entity_type {kind:?} is not user, device, ip, host or service",
                path.display()
            );
        }
        out.push(Label {
            scenario: get(sc),
            kind,
            id: get(ki),
            start,
            end,
        });
    }
    Ok(out)
}

async fn read_alerts(
    ctx: &datafusion::prelude::SessionContext,
    min: usize,
) -> anyhow::Result<Vec<Alert>> {
    let sql = "select cast(time as bigint) as t, entity_type, entity_id, risk_level, risk_prev_level \
               from entity_risk where entity_type is not null";
    let mut out = Vec::new();
    for b in query(ctx, sql).await? {
        let t = b.column(0).as_primitive::<Int64Type>();
        let (k, i, l, p) = (
            b.column(1).as_string::<i32>(),
            b.column(2).as_string::<i32>(),
            b.column(3).as_string::<i32>(),
            b.column(4).as_string::<i32>(),
        );
        for r in 0..b.num_rows() {
            let (Some(level), Some(prev)) = (rank(l.value(r)), rank(p.value(r))) else {
                continue;
            };
            if level >= min && prev < min && t.is_valid(r) {
                out.push(Alert {
                    time: t.value(r),
                    kind: k.value(r).to_string(),
                    id: i.value(r).to_string(),
                });
            }
        }
    }
    out.sort_by_key(|a| a.time);
    Ok(out)
}

/// (time, entity type, entity id, analytic) of every finding.
async fn read_signals(
    ctx: &datafusion::prelude::SessionContext,
) -> anyhow::Result<Vec<(i64, String, String, String)>> {
    let sql = "select cast(time as bigint), entity_type, entity_id, finding_info_analytic_uid \
               from detection_finding where entity_type is not null and time is not null";
    let mut out = Vec::new();
    for b in query(ctx, sql).await? {
        let t = b.column(0).as_primitive::<Int64Type>();
        let (k, i, a) = (
            b.column(1).as_string::<i32>(),
            b.column(2).as_string::<i32>(),
            b.column(3).as_string::<i32>(),
        );
        for r in 0..b.num_rows() {
            out.push((
                t.value(r),
                k.value(r).to_string(),
                i.value(r).to_string(),
                if a.is_valid(r) {
                    a.value(r).to_string()
                } else {
                    String::new()
                },
            ));
        }
    }
    Ok(out)
}

async fn distinct_users(ctx: &datafusion::prelude::SessionContext) -> anyhow::Result<u64> {
    let b = query(ctx, "select count(distinct entity_id) from trust_decision").await?;
    Ok(b.first()
        .filter(|b| b.num_rows() > 0)
        .and_then(|b| {
            b.column(0)
                .as_primitive_opt::<Int64Type>()
                .map(|c| c.value(0))
        })
        .unwrap_or(0)
        .max(0) as u64)
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

pub fn run(a: EvalArgs) -> anyhow::Result<bool> {
    if a.days.is_some_and(|d| !(d.is_finite() && d > 0.0)) {
        bail!("--days must be a number of days above 0");
    }
    if a.users == Some(0) {
        bail!("--users must be at least 1");
    }
    let min = rank(&a.alert_level).filter(|r| *r >= 1).with_context(|| {
        format!(
            "--alert-level {:?}: one of medium, high, critical",
            a.alert_level
        )
    })?;
    let labels = read_labels(&a.labels)?;
    let lake = a.out.join("lake");
    if !lake.is_dir() {
        bail!(
            "{} has no lake/: give --out the directory a replay wrote",
            a.out.display()
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the query runtime")?;
    let (mut alerts, signals, seen_users) = rt.block_on(async {
        let ctx = lake_context(&lake).await?;
        anyhow::Ok((
            read_alerts(&ctx, min).await?,
            read_signals(&ctx).await?,
            distinct_users(&ctx).await?,
        ))
    })?;

    // Users and days.
    let sim: Option<serde_json::Value> = a
        .labels
        .parent()
        .map(|d| d.join("sim.json"))
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    let sim_num = |k: &str| {
        sim.as_ref().and_then(|s| {
            s.get(k)
                .or_else(|| s.get("args").and_then(|x| x.get(k)))
                .and_then(serde_json::Value::as_f64)
        })
    };
    // A simulation's history days train the baselines and hold no attacks;
    // alerts then are the cost of learning, not of the evaluated period.
    let period = sim.as_ref().and_then(|s| {
        let args = s.get("args")?;
        let start = chrono::NaiveDate::parse_from_str(args.get("start")?.as_str()?, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
            .and_utc()
            .timestamp_micros();
        let days = args.get("days")?.as_f64()?;
        Some((start, start + (days * 86_400e6) as i64))
    });
    if let Some((start, end)) = period {
        let before = alerts.len();
        alerts.retain(|x| x.time >= start && x.time < end);
        if alerts.len() < before {
            eprintln!(
                "{} alerts before or after the labelled period (the simulation's history) are left out.",
                before - alerts.len()
            );
        }
    }
    let users = a
        .users
        .map(|u| u as f64)
        .or_else(|| sim_num("users"))
        .unwrap_or(seen_users as f64)
        .max(1.0);
    let days = a.days.or_else(|| sim_num("days")).unwrap_or_else(|| {
        let times: Vec<i64> = alerts
            .iter()
            .map(|x| x.time)
            .chain(labels.iter().flat_map(|l| [l.start, l.end]))
            .collect();
        match (times.iter().min(), times.iter().max()) {
            (Some(lo), Some(hi)) => ((hi - lo) as f64 / 86_400e6).max(1.0),
            _ => 1.0,
        }
    });

    // Match.
    // Ten years at most: beyond that the times overflow.
    const MAX_SECS: i64 = 10 * 366 * 86_400;
    if !(0..=MAX_SECS).contains(&a.lead) || !(0..=MAX_SECS).contains(&a.grace) {
        bail!("--lead and --grace must be between 0 and {MAX_SECS} seconds");
    }
    let lead = a.lead * 1_000_000;
    let grace = a.grace * 1_000_000;
    let hits = |l: &Label, kind: &str, id: &str, t: i64| {
        kind == l.kind && id == l.id && t >= l.start - lead && t <= l.end + grace
    };
    let mut alert_true = vec![false; alerts.len()];
    struct Per {
        total: usize,
        detected: usize,
        ttd: Vec<f64>,
        signals: BTreeMap<String, usize>,
        missed: Vec<String>,
    }
    let mut per: BTreeMap<String, Per> = BTreeMap::new();
    let mut all_ttd = Vec::new();
    for l in &labels {
        let p = per.entry(l.scenario.clone()).or_insert_with(|| Per {
            total: 0,
            detected: 0,
            ttd: Vec::new(),
            signals: BTreeMap::new(),
            missed: Vec::new(),
        });
        p.total += 1;
        let mut first = None;
        for (i, al) in alerts.iter().enumerate() {
            if hits(l, &al.kind, &al.id, al.time) {
                alert_true[i] = true;
                first = Some(first.map_or(al.time, |f: i64| f.min(al.time)));
            }
        }
        let mut kinds = BTreeSet::new();
        for (t, k, i, an) in &signals {
            if hits(l, k, i, *t) {
                kinds.insert(an.trim_start_matches("vigil.baseline.").to_string());
            }
        }
        for k in kinds {
            *p.signals.entry(k).or_default() += 1;
        }
        match first {
            Some(f) => {
                p.detected += 1;
                let secs = ((f - l.start).max(0)) as f64 / 1e6;
                p.ttd.push(secs);
                all_ttd.push(secs);
            }
            None => p.missed.push(format!("{}:{}", l.kind, l.id)),
        }
    }
    let true_alerts = alert_true.iter().filter(|x| **x).count();
    let false_alerts = alerts.len() - true_alerts;
    let precision = if alerts.is_empty() {
        0.0
    } else {
        true_alerts as f64 / alerts.len() as f64
    };
    let fp_rate = false_alerts as f64 / (users / 1000.0) / days;
    let median_ttd = median(&mut all_ttd);
    let mut false_by_kind: BTreeMap<String, usize> = BTreeMap::new();
    // Each false alert with the signals on its entity in the hour before,
    // for whoever tunes the baselines.
    let mut false_list = Vec::new();
    for (i, al) in alerts.iter().enumerate() {
        if !alert_true[i] {
            *false_by_kind.entry(al.kind.clone()).or_default() += 1;
            let why: BTreeSet<&str> = signals
                .iter()
                .filter(|(t, k, id, _)| {
                    *k == al.kind && *id == al.id && *t <= al.time && *t >= al.time - 3_600_000_000
                })
                .map(|(_, _, _, an)| an.as_str())
                .collect();
            false_list.push(json!({
                "time": chrono::DateTime::from_timestamp_micros(al.time).map(|d| d.to_rfc3339()),
                "entity_type": al.kind,
                "entity_id": al.id,
                "signals": why,
            }));
        }
    }

    // Report.
    let mut rows = Vec::new();
    let mut text = String::new();
    text.push_str(&format!(
        "{:<24} {:>9} {:>9} {:>7} {:>11}  signals on the entity\n",
        "scenario", "attacks", "detected", "recall", "median TTD"
    ));
    let mut all_recall_ok = true;
    for (name, p) in per.iter_mut() {
        let recall = p.detected as f64 / p.total.max(1) as f64;
        all_recall_ok &= recall >= 0.95;
        let m = median(&mut p.ttd);
        let sig: Vec<String> = p
            .signals
            .iter()
            .map(|(k, n)| format!("{k} ({n})"))
            .collect();
        text.push_str(&format!(
            "{:<24} {:>9} {:>9} {:>7.2} {:>11}  {}\n",
            name,
            p.total,
            p.detected,
            recall,
            m.map_or("-".into(), |s| format!("{s:.0} s")),
            sig.join(", ")
        ));
        rows.push(json!({
            "scenario": name,
            "attacks": p.total,
            "detected": p.detected,
            "recall": recall,
            "median_ttd_seconds": m,
            "signals": p.signals,
            "missed": p.missed,
        }));
    }
    text.push_str(&format!(
        "\nalerts {} (entering {} or above): {} detect an attack, {} do not\n\
         precision {:.3}; false positives {:.2} per 1,000 users per day ({} users, {:.1} days); median time to detect {}\n",
        alerts.len(),
        LEVELS[min],
        true_alerts,
        false_alerts,
        precision,
        fp_rate,
        users,
        days,
        median_ttd.map_or("-".into(), |s| format!("{s:.0} s")),
    ));
    if !false_by_kind.is_empty() {
        let v: Vec<String> = false_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        text.push_str(&format!("false alerts by entity type: {}\n", v.join(", ")));
    }
    let ok =
        all_recall_ok && precision >= 0.9 && fp_rate <= 2.0 && median_ttd.is_some_and(|m| m < 60.0);
    let summary = json!({
        "alert_level": LEVELS[min],
        "scenarios": rows,
        "alerts": alerts.len(),
        "true_alerts": true_alerts,
        "false_alerts": false_alerts,
        "false_alerts_by_entity_type": false_by_kind,
        "false_alert_list": false_list,
        "precision": precision,
        "false_positives_per_1000_users_per_day": fp_rate,
        "users": users,
        "days": days,
        "median_ttd_seconds": median_ttd,
        "targets_met": ok,
    });
    let path = a.out.join("eval.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&summary)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if a.check && !ok {
        eprintln!("vigil eval: targets not met (see {})", path.display());
        return Ok(false);
    }
    Ok(true)
}
