//! `vigil rules to-sql RULE`: a rule as SQL over vigil's tables.
//!
//! RULE is a rule file, or a directory with `--id`. The rule is loaded with
//! the same mappings as the engine and each loaded rule is printed as one
//! query that `vigil sql --lake` can run: the logsource conditions of its
//! placement and its detection, over the class tables it is placed on.
//! A rule that does not load is reported with the reason, as `vigil rules
//! check` would, and the command fails.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Args;
use vigil_detect::sigma::{Mappings, SigmaEngine};

#[derive(Args)]
pub struct ToSqlArgs {
    /// A rule file, or a rule directory (read recursively) with --id.
    rule: PathBuf,
    /// Print only the rule with this id (or, for a rule without an id,
    /// this title).
    #[arg(long)]
    id: Option<String>,
    /// Extra field-mapping files (a directory of YAML), after the built-in
    /// ones.
    #[arg(long)]
    mappings: Option<PathBuf>,
}

pub fn run(a: &ToSqlArgs) -> anyhow::Result<()> {
    let mut m = Mappings::builtin().map_err(anyhow::Error::msg)?;
    if let Some(dir) = &a.mappings {
        m.add_dir(dir).map_err(anyhow::Error::msg)?;
    }
    if a.rule.is_dir() && a.id.is_none() {
        bail!(
            "{} is a directory; name the rule with --id",
            a.rule.display()
        );
    }
    let (engine, report) = SigmaEngine::load(&[a.rule.as_path()], &m)?;
    let wanted = |id: &str| a.id.as_deref().is_none_or(|w| w == id);
    let failed: Vec<_> = report
        .failed
        .iter()
        .filter(|f| a.id.is_none() || f.rule_id.as_deref().is_some_and(wanted))
        .collect();
    for f in &failed {
        eprintln!(
            "{}: rule {} does not load ({}): {}",
            f.file.display(),
            f.rule_id.as_deref().unwrap_or("-"),
            f.feature,
            f.reason
        );
    }
    for u in &report.unplaced {
        if a.id.is_none() || u.rule_id.as_deref().is_some_and(wanted) {
            eprintln!(
                "{}: rule {} has no mapping for logsource {}",
                u.file.display(),
                u.rule_id.as_deref().unwrap_or("-"),
                u.logsource
            );
        }
    }
    let mut printed = 0;
    let mut out = String::new();
    for i in 0..engine.len() {
        let Some(meta) = engine.rule(i) else { continue };
        if !wanted(&meta.id) {
            continue;
        }
        if let Some(sql) = engine.rule_sql(i) {
            if printed > 0 {
                out.push('\n');
            }
            out.push_str(&sql);
            out.push_str(";\n");
            printed += 1;
        }
    }
    {
        use std::io::Write;
        match std::io::stdout().lock().write_all(out.as_bytes()) {
            // A reader that stops early (`| head`) is not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other?,
        }
    }
    if !failed.is_empty() {
        bail!("{} rule(s) did not load", failed.len());
    }
    if printed == 0 {
        match &a.id {
            Some(id) => bail!("no rule with id {id} loaded from {}", show(&a.rule)),
            None => bail!("no rule loaded from {}", show(&a.rule)),
        }
    }
    Ok(())
}

fn show(p: &Path) -> String {
    p.display().to_string()
}
