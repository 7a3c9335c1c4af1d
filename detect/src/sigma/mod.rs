//! The Sigma engine: rules compiled to predicates over Arrow class batches.
//!
//! ```text
//!  rule files ─► rsigma-parser ─► compile (mapping: logsource → classes,
//!                                  conditions; field → column/unmapped)
//!                                        │
//!  class batch ─► Columns (each field once, lower-cased once) ─► eval
//!                 per logsource scope, then per rule ─► detection_finding
//! ```
//!
//! - [`SigmaEngine::load`] reads rule files and directories with a set of
//!   [`Mappings`] and returns the engine and a [`LoadReport`]; a rule that
//!   cannot load is reported and skipped.
//! - The engine is a [`Detector`]: for each batch it evaluates the rules
//!   placed on the batch's class and returns one `detection_finding` row
//!   per (rule, matched event).
//! - [`SigmaEngine::matches`] gives the raw (rule, rows) matches, for
//!   `vigil rules test`.
//!
//! Rules that share a logsource share its conditions, which are evaluated
//! once per batch; rules whose conditions keep no row of the batch are not
//! evaluated at all.
//!
//! Correlation documents load after every rule file is read, so `rules`
//! may name rules of other files; they run on the base rules' matches in
//! event time (see `correlate.rs` for windows, lateness
//! and bounds). A correlation that cannot load is reported like a rule.
//! Filter documents are reported as not supported yet.

mod compile;
mod correlate;
mod eval;
pub(crate) mod finding;
mod literal;
mod load;
pub mod mapping;
mod pattern;
mod sql;

use std::collections::HashMap;
use std::path::Path;

use arrow_array::RecordBatch;
use rsigma_parser::{CorrelationRule, Detection, SigmaCollection, SigmaRule, parse_sigma_yaml};
use vigil_schemas::Class;

pub use self::compile::CompileError;
pub use self::correlate::{CorrelationConfig, CorrelationStats};
pub use self::load::{Failure, LoadReport, Unplaced};
pub use self::mapping::{Mappings, Target};

use self::compile::{Compiler, Expr, Program};
use self::eval::Columns;
use crate::{DetectError, Detector};

/// What a finding says about the rule that fired.
#[derive(Debug, Clone, Default)]
pub struct RuleMeta {
    /// The rule's `id` (or its title when it has none).
    pub id: String,
    /// `title`.
    pub title: String,
    /// `description`.
    pub description: Option<String>,
    /// `level`, as written (`high`).
    pub level: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
}

impl RuleMeta {
    /// ATT&CK technique ids from the tags (`attack.t1110.003` → `T1110.003`).
    pub fn techniques(&self) -> Vec<String> {
        self.tags
            .iter()
            .filter_map(|t| t.strip_prefix("attack.t"))
            .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
            .map(|t| format!("T{}", t.to_ascii_uppercase()))
            .collect()
    }

    /// OCSF severity_id and name from the level.
    pub fn severity(&self) -> (i64, &'static str) {
        match self.level.as_deref() {
            Some("informational") => (1, "Informational"),
            Some("low") => (2, "Low"),
            Some("medium") => (3, "Medium"),
            Some("high") => (4, "High"),
            Some("critical") => (5, "Critical"),
            _ => (0, "Unknown"),
        }
    }
}

struct Rule {
    meta: RuleMeta,
    prog: Program,
    /// Whether its matches are findings: false when only correlations
    /// use it (`generate`).
    emit: bool,
}

/// The Sigma detector. See the [module docs](self).
#[derive(Default)]
pub struct SigmaEngine {
    rules: Vec<Rule>,
    /// Logsource conditions, shared by the rules placed alike.
    scopes: Vec<Program>,
    /// Per class (by [`Class::index`]), the scopes and their rules.
    by_class: Vec<Vec<(usize, Vec<usize>)>>,
    /// Literal groups matched in one pass per column.
    groups: Vec<literal::Group>,
    /// Correlation rules and their windows.
    corr: correlate::Correlations,
}

impl SigmaEngine {
    /// Load rules from files and directories (recursively).
    ///
    /// # Errors
    ///
    /// Only when a path cannot be read; bad rules go to the report.
    pub fn load(
        paths: &[&Path],
        mappings: &Mappings,
    ) -> Result<(SigmaEngine, LoadReport), DetectError> {
        let files = load::rule_files(paths).map_err(DetectError::Config)?;
        let mut b = Builder::new(mappings);
        for f in &files {
            match std::fs::read_to_string(f) {
                Ok(text) => b.add_text(f, &text),
                Err(e) => b.fail(f, None, "file", format!("cannot read: {e}")),
            }
        }
        b.report.files = files.len();
        Ok(b.finish())
    }

    /// Load rules from YAML text (tests, single rules); `name` stands in
    /// for the file.
    pub fn from_yaml(name: &str, text: &str, mappings: &Mappings) -> (SigmaEngine, LoadReport) {
        let mut b = Builder::new(mappings);
        b.add_text(Path::new(name), text);
        b.report.files = 1;
        b.finish()
    }

    /// Rules loaded and running.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule runs.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Correlation rules loaded and running.
    pub fn correlation_count(&self) -> usize {
        self.corr.list.len()
    }

    /// The correlation stage's settings.
    pub fn correlation_config(&self) -> CorrelationConfig {
        self.corr.config()
    }

    /// Set the allowed lateness and state bounds of correlations; call it
    /// before the first batch.
    pub fn set_correlation_config(&mut self, config: CorrelationConfig) {
        self.corr.set_config(config);
    }

    /// Events correlations left out (late, missing group-by values) and
    /// state they evicted, so far.
    pub fn correlation_stats(&self) -> CorrelationStats {
        self.corr.stats()
    }

    /// The rule at `index` (as [`SigmaEngine::matches`] numbers them).
    pub fn rule(&self, index: usize) -> Option<&RuleMeta> {
        self.rules.get(index).map(|r| &r.meta)
    }

    /// Evaluate every rule placed on `class` over `batch`: for each rule
    /// with matches, its index and the matching row numbers.
    pub fn matches(&self, class: Class, batch: &RecordBatch) -> Vec<(usize, Vec<usize>)> {
        let mut out = Vec::new();
        let Some(groups) = self.by_class.get(class.index()) else {
            return out;
        };
        let mut cols = Columns::new(batch, &self.groups);
        let n = u32::try_from(cols.len()).unwrap_or(u32::MAX);
        let all: Vec<u32> = (0..n).collect();
        for (scope, rules) in groups {
            let in_scope = run(&self.scopes[*scope], &mut cols, &all);
            if in_scope.is_empty() {
                continue;
            }
            for r in rules {
                let rows = run(&self.rules[*r].prog, &mut cols, &in_scope);
                if !rows.is_empty() {
                    out.push((*r, rows.into_iter().map(|x| x as usize).collect()));
                }
            }
        }
        out
    }
}

/// Evaluate a program on the rows `sel` (no expression: all of them).
fn run(p: &Program, cols: &mut Columns<'_>, sel: &[u32]) -> eval::Rows {
    match &p.expr {
        None => sel.to_vec(),
        Some(e) => {
            cols.load(p.preds.iter());
            eval::eval(e, &p.preds, cols, sel)
        }
    }
}

impl Detector for SigmaEngine {
    fn name(&self) -> &str {
        "sigma"
    }

    fn detect(
        &mut self,
        class: Class,
        batch: &RecordBatch,
    ) -> Result<Vec<(Class, RecordBatch)>, DetectError> {
        if batch.num_rows() == 0 || class == Class::DetectionFinding {
            return Ok(Vec::new());
        }
        let hits = self.matches(class, batch);
        if hits.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let metas: Vec<(&RuleMeta, Vec<usize>)> = hits
            .iter()
            .filter(|(r, _)| self.rules[*r].emit)
            .map(|(r, rows)| (&self.rules[*r].meta, rows.clone()))
            .collect();
        if !metas.is_empty() {
            out.push((Class::DetectionFinding, finding::findings(batch, &metas)));
        }
        let alerts = self.corr.feed(batch, &hits);
        if !alerts.is_empty() {
            let b = finding::correlation_findings(&self.corr.list, &alerts);
            out.push((Class::DetectionFinding, b));
        }
        Ok(out)
    }

    fn finish(&mut self) -> Result<Vec<(Class, RecordBatch)>, DetectError> {
        let alerts = self.corr.finish();
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        let b = finding::correlation_findings(&self.corr.list, &alerts);
        Ok(vec![(Class::DetectionFinding, b)])
    }

    fn counters(&self) -> Vec<(&'static str, u64)> {
        if self.corr.list.is_empty() {
            return Vec::new();
        }
        let s = self.corr.stats();
        vec![
            ("correlation_late", s.late),
            ("correlation_missing_group", s.missing_group),
            ("correlation_missing_value", s.missing_value),
            ("correlation_no_time", s.no_time),
            ("correlation_evicted_groups", s.evicted_groups),
            ("correlation_evicted_events", s.evicted_events),
        ]
    }
}

/// Collects rules, scopes and the report while loading.
struct Builder<'m> {
    mappings: &'m Mappings,
    engine: SigmaEngine,
    scope_ids: HashMap<String, usize>,
    report: LoadReport,
    /// Per loaded rule, what correlations need to name and place it.
    base: Vec<correlate::BaseRule>,
    /// Ids and names of rules that did not load, with the reason.
    unloaded: HashMap<String, String>,
    /// Correlation documents, loaded once every rule is known.
    correlations: Vec<(std::path::PathBuf, CorrelationRule)>,
}

impl<'m> Builder<'m> {
    fn new(mappings: &'m Mappings) -> Builder<'m> {
        let engine = SigmaEngine {
            by_class: vec![Vec::new(); Class::ALL.len()],
            ..SigmaEngine::default()
        };
        Builder {
            mappings,
            engine,
            scope_ids: HashMap::new(),
            report: LoadReport::default(),
            base: Vec::new(),
            unloaded: HashMap::new(),
            correlations: Vec::new(),
        }
    }

    fn finish(mut self) -> (SigmaEngine, LoadReport) {
        let docs = std::mem::take(&mut self.correlations);
        let (corr, emit, rejected) =
            correlate::compile(docs, &self.base, &self.unloaded, self.mappings);
        for r in rejected {
            self.fail(&r.file, r.id, "correlation", r.reason);
        }
        self.report.loaded += corr.list.len();
        for (rule, emit) in self.engine.rules.iter_mut().zip(emit) {
            rule.emit = emit;
        }
        self.engine.corr = corr;
        let e = &mut self.engine;
        let mut progs: Vec<&mut Program> = e.scopes.iter_mut().collect();
        progs.extend(e.rules.iter_mut().map(|r| &mut r.prog));
        e.groups = literal::index(&mut progs);
        (self.engine, self.report)
    }

    fn fail(&mut self, file: &Path, id: Option<String>, feature: &str, reason: String) {
        self.report.failed.push(Failure {
            file: file.to_path_buf(),
            rule_id: id,
            feature: feature.to_string(),
            reason,
        });
    }

    fn add_text(&mut self, file: &Path, text: &str) {
        let ids = load::ids_in_text(text);
        let coll = match parse_sigma_yaml(text) {
            Ok(c) => c,
            Err(e) => {
                let msg = e.to_string();
                let id = ids.first().cloned();
                return self.fail(file, id, &load::parse_feature(&msg), msg);
            }
        };
        self.add_collection(file, &ids, coll);
    }

    fn add_collection(&mut self, file: &Path, ids: &[String], coll: SigmaCollection) {
        let loaded_ids: Vec<Option<&String>> = coll
            .rules
            .iter()
            .map(|r| r.id.as_ref())
            .chain(coll.correlations.iter().map(|c| c.id.as_ref()))
            .chain(coll.filters.iter().map(|f| f.id.as_ref()))
            .collect();
        let orphan = ids.iter().find(|i| !loaded_ids.contains(&Some(i))).cloned();
        for msg in coll.errors {
            if load::is_warning(&msg) {
                self.report.warnings.push((file.to_path_buf(), msg));
            } else {
                let feature = load::parse_feature(&msg);
                if let Some(id) = &orphan {
                    self.unloaded.insert(id.clone(), msg.clone());
                }
                self.fail(file, orphan.clone(), &feature, msg);
            }
        }
        for c in coll.correlations {
            self.correlations.push((file.to_path_buf(), c));
        }
        for f in &coll.filters {
            let reason = "filter rules are not applied yet".to_string();
            self.fail(file, f.id.clone(), "filter", reason);
        }
        for r in &coll.rules {
            self.add_rule(file, r);
        }
    }

    fn add_rule(&mut self, file: &Path, rule: &SigmaRule) {
        let Some(place) = self.mappings.place(&rule.logsource) else {
            let ls = &rule.logsource;
            let part = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
            let logsource = format!(
                "{}/{}/{}",
                part(&ls.product),
                part(&ls.service),
                part(&ls.category)
            );
            self.not_loaded(rule, format!("no mapping places logsource {logsource}"));
            self.report.unplaced.push(Unplaced {
                file: file.to_path_buf(),
                rule_id: rule.id.clone(),
                logsource,
            });
            return;
        };
        let resolve = |name: &str| place.target(name);
        let placeholder = |name: &str| self.mappings.placeholder(name).map(<[String]>::to_vec);
        let mut c = Compiler::new(&resolve, &placeholder);
        let det = &rule.detection;
        let expr = match c.rule(&det.named, &det.conditions) {
            Ok(e) => e,
            Err(e) => {
                self.not_loaded(rule, e.reason.clone());
                return self.fail(file, rule.id.clone(), &e.feature, e.reason);
            }
        };
        let prog = Program {
            preds: c.preds,
            expr: Some(expr),
        };
        let scope = match self.scope(&place) {
            Ok(s) => s,
            Err(e) => {
                self.not_loaded(rule, e.reason.clone());
                return self.fail(file, rule.id.clone(), "mapping", e.reason);
            }
        };
        self.push_rule(rule, scope, &place.classes, prog);
    }

    /// Remember why `rule` did not load, for correlations that name it.
    fn not_loaded(&mut self, rule: &SigmaRule, why: String) {
        for n in [&rule.id, &rule.name].into_iter().flatten() {
            self.unloaded.insert(n.clone(), why.clone());
        }
    }

    fn push_rule(&mut self, rule: &SigmaRule, scope: usize, classes: &[Class], prog: Program) {
        let index = self.engine.rules.len();
        self.base.push(correlate::BaseRule {
            id: rule.id.clone(),
            name: rule.name.clone(),
            logsource: rule.logsource.clone(),
        });
        self.engine.rules.push(Rule {
            meta: RuleMeta {
                id: rule.id.clone().unwrap_or_else(|| rule.title.clone()),
                title: rule.title.clone(),
                description: rule.description.clone(),
                level: rule.level.map(|l| l.as_str().to_string()),
                tags: rule.tags.clone(),
            },
            prog,
            emit: true,
        });
        for class in classes {
            let groups = &mut self.engine.by_class[class.index()];
            match groups.iter_mut().find(|(s, _)| *s == scope) {
                Some((_, rules)) => rules.push(index),
                None => groups.push((scope, vec![index])),
            }
        }
        self.report.loaded += 1;
    }

    /// The shared program of a placement's conditions.
    fn scope(&mut self, place: &mapping::Placement<'_>) -> Result<usize, CompileError> {
        let key = place.condition_key();
        if let Some(i) = self.scope_ids.get(&key) {
            return Ok(*i);
        }
        let prog = scope_program(place)?;
        self.engine.scopes.push(prog);
        let i = self.engine.scopes.len() - 1;
        self.scope_ids.insert(key, i);
        Ok(i)
    }
}

/// Compile a placement's conditions: each is a Sigma selection whose keys
/// are vigil targets (`metadata_product_name`, `unmapped[Channel]`).
fn scope_program(place: &mapping::Placement<'_>) -> Result<Program, CompileError> {
    if place.conditions.is_empty() {
        return Ok(Program::default());
    }
    let resolve = |name: &str| Target::parse(name);
    let none = |_: &str| None;
    let mut c = Compiler::new(&resolve, &none);
    let mut parts = Vec::with_capacity(place.conditions.len());
    for (origin, value) in &place.conditions {
        let det = condition_detection(value)
            .map_err(|e| CompileError::new("mapping", format!("{origin}: {e}")))?;
        parts.push(c.detection(&det)?);
    }
    Ok(Program {
        preds: c.preds,
        expr: Some(Expr::And(parts)),
    })
}

/// Parse a mapping's `conditions` value as a Sigma detection, by wrapping
/// it in a minimal rule document for the parser.
fn condition_detection(value: &yaml_serde::Value) -> Result<Detection, String> {
    use yaml_serde::{Mapping, Value};
    let mut det = Mapping::new();
    det.insert(Value::from("scope"), value.clone());
    det.insert(Value::from("condition"), Value::from("scope"));
    let mut doc = Mapping::new();
    doc.insert(Value::from("title"), Value::from("mapping conditions"));
    doc.insert(Value::from("logsource"), Value::Mapping(Mapping::new()));
    doc.insert(Value::from("detection"), Value::Mapping(det));
    let text = yaml_serde::to_string(&Value::Mapping(doc)).map_err(|e| e.to_string())?;
    let mut coll = parse_sigma_yaml(&text).map_err(|e| e.to_string())?;
    if let Some(e) = coll.errors.first() {
        return Err(e.clone());
    }
    let mut rule = coll.rules.pop().ok_or("conditions did not parse")?;
    rule.detection
        .named
        .remove("scope")
        .ok_or_else(|| "conditions did not parse".to_string())
}

#[cfg(test)]
mod tests;
