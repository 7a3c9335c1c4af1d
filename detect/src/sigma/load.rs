//! Reading Sigma rule files and the load report.
//!
//! Files and directories are read recursively (`.yml`, `.yaml`); each file
//! is parsed with `rsigma-parser`. A document that does not parse or
//! compile is a [`Failure`] with the file, the rule id (read from the text
//! when the YAML itself is broken) and the reason, counted under a feature
//! name; the other rules of the file still load.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One rule (or document) that did not load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The file it came from.
    pub file: PathBuf,
    /// Its `id`, where one could be read.
    pub rule_id: Option<String>,
    /// The feature or part at fault, for counting (`yaml`, `condition`,
    /// `modifier minute`, `regex`, `correlation`).
    pub feature: String,
    /// What exactly was wrong.
    pub reason: String,
}

/// A rule that loaded but whose logsource no mapping places, so it never
/// runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unplaced {
    /// The file it came from.
    pub file: PathBuf,
    /// Its `id`.
    pub rule_id: Option<String>,
    /// The logsource, as `product/service/category`.
    pub logsource: String,
}

/// What loading a rule set did.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    /// Rule files read.
    pub files: usize,
    /// Rules compiled and running.
    pub loaded: usize,
    /// Rules that parsed but have no logsource mapping (not failures).
    pub unplaced: Vec<Unplaced>,
    /// Rules that did not load.
    pub failed: Vec<Failure>,
    /// Parser warnings (bad `status`, `level`), per file; the rule loads.
    pub warnings: Vec<(PathBuf, String)>,
}

impl LoadReport {
    /// Failures counted per feature.
    pub fn per_feature(&self) -> BTreeMap<&str, usize> {
        let mut m = BTreeMap::new();
        for f in &self.failed {
            *m.entry(f.feature.as_str()).or_insert(0) += 1;
        }
        m
    }

    /// Rules seen: loaded, unplaced and failed.
    pub fn total(&self) -> usize {
        self.loaded + self.unplaced.len() + self.failed.len()
    }

    /// One line: `N rules: L loaded, U without a logsource mapping, F failed`.
    pub fn summary(&self) -> String {
        format!(
            "{} rules in {} files: {} loaded, {} without a logsource mapping, {} failed",
            self.total(),
            self.files,
            self.loaded,
            self.unplaced.len(),
            self.failed.len()
        )
    }
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.summary())?;
        for x in &self.failed {
            let id = x.rule_id.as_deref().unwrap_or("-");
            writeln!(
                f,
                "failed  {}  id {id}  [{}] {}",
                x.file.display(),
                x.feature,
                x.reason
            )?;
        }
        for u in &self.unplaced {
            let id = u.rule_id.as_deref().unwrap_or("-");
            writeln!(
                f,
                "no mapping  {}  id {id}  logsource {}",
                u.file.display(),
                u.logsource
            )?;
        }
        for (feature, n) in self.per_feature() {
            writeln!(f, "unsupported or invalid: {feature}: {n}")?;
        }
        Ok(())
    }
}

/// Every rule file under `paths`, sorted, skipping directories named
/// `mappings` (mapping files live there).
pub(crate) fn rule_files(paths: &[&Path]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out)?;
        } else if p.is_file() {
            out.push(p.to_path_buf());
        } else {
            return Err(format!("{}: no such file or directory", p.display()));
        }
    }
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in rd {
        let p = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "mappings") {
                continue;
            }
            walk(&p, out)?;
        } else if super::mapping::is_yaml(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// Whether a parser message is a warning (the rule still loads) rather
/// than the reason a document was dropped.
pub(crate) fn is_warning(msg: &str) -> bool {
    [
        "invalid status",
        "invalid level",
        "invalid sigma-version",
        "related",
    ]
    .iter()
    .any(|p| msg.starts_with(p))
}

/// The feature a parser error belongs to.
pub(crate) fn parse_feature(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("Unknown modifier '") {
        return format!("modifier {}", rest.trim_end_matches('\''));
    }
    let lower = msg.to_ascii_lowercase();
    let feature = if lower.starts_with("yaml") || lower.contains("not a yaml mapping") {
        "yaml"
    } else if lower.starts_with("condition") {
        "condition"
    } else if lower.contains("not` is not a value modifier") {
        "modifier not"
    } else if lower.contains("correlation") || lower.starts_with("invalid timespan") {
        "correlation"
    } else {
        "rule structure"
    };
    feature.to_string()
}

/// The `id:` values at the top level of a YAML text, in order, read
/// without parsing (so a broken file still names its rule).
pub(crate) fn ids_in_text(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("id:"))
        .map(|v| v.trim().trim_matches(|c| c == '\'' || c == '"').to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_from_parser_messages() {
        assert_eq!(parse_feature("Unknown modifier 'foo'"), "modifier foo");
        assert_eq!(parse_feature("YAML parse error: x"), "yaml");
        assert_eq!(parse_feature("Condition parse error: x"), "condition");
        assert_eq!(parse_feature("Invalid timespan '5x'"), "correlation");
        assert_eq!(
            parse_feature("Missing required field 'title'"),
            "rule structure"
        );
        assert!(is_warning("invalid level: 'urgent'"));
        assert!(!is_warning("Unknown modifier 'foo'"));
    }

    #[test]
    fn ids_are_read_from_broken_text() {
        let t = "title: x\nid: 'abc-1'\ndetection: [\n";
        assert_eq!(ids_in_text(t), vec!["abc-1".to_string()]);
    }
}
