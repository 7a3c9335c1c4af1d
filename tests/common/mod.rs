//! Helpers for the end-to-end tests: run the `vigil` binary, read outputs.

#![allow(
    clippy::allow_attributes,
    dead_code,
    reason = "each test binary uses a different subset"
)]

pub mod service;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared/data/<rel>` from the repository root; panics when missing,
/// so a test never passes quietly without its data.
pub fn shared(rel: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel);
    assert!(
        p.exists(),
        "shared sample data missing: {} (tests need ../shared/data)",
        p.display()
    );
    p
}

/// Run vigil with `args`; returns the process output.
pub fn vigil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env("VIGIL_LOG", "warn")
        .output()
        .expect("run vigil")
}

/// Run vigil and require success; returns stdout.
pub fn vigil_ok(args: &[&str]) -> String {
    let out = vigil(args);
    assert!(
        out.status.success(),
        "vigil {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// `vigil replay <inputs> --out <out> <extra>`.
pub fn replay(inputs: &[&Path], out: &Path, extra: &[&str]) -> String {
    let mut args: Vec<String> = vec!["replay".into()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.push("--out".into());
    args.push(out.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    vigil_ok(&refs)
}

/// `vigil sql --lake <out>/lake --format csv <q>`, without the header line.
pub fn sql_csv(out: &Path, q: &str) -> Vec<String> {
    let lake = out.join("lake").display().to_string();
    let text = vigil_ok(&["sql", "--lake", &lake, "--format", "csv", q]);
    text.lines().skip(1).map(str::to_string).collect()
}

/// The dead letters of a replay, as JSON values.
pub fn dead_letters(out: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(out.join("dlq.ndjson")).expect("dlq.ndjson");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("dead letter is JSON"))
        .collect()
}

/// Each dead letter as `source | reason`, for assertions and messages.
pub fn reasons(dead: &[serde_json::Value]) -> Vec<String> {
    dead.iter()
        .map(|d| {
            format!(
                "{} | {}",
                d["file"].as_str().unwrap_or("?"),
                d["reason"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// The replay's summary.json.
pub fn summary(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("summary is JSON")
}
