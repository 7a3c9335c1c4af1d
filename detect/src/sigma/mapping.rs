//! Field mapping as data, in the manner of pySigma's processing pipelines.
//!
//! A mapping file (YAML, `rules/mappings/*.yml`) lists logsources. Each
//! entry names a logsource (`product`, `service`, `category`; absent keys
//! match anything) and may say:
//!
//! - `classes`: the class tables a rule of that logsource runs on;
//! - `conditions`: a Sigma selection every event must also meet, written on
//!   vigil's own columns (`metadata_product_name: Okta`) or on source fields
//!   (`unmapped[Channel]: Security`); a list of maps is an OR;
//! - `fields`: Sigma field name to a column (`user_name`) or a source
//!   field (`unmapped[TargetUserName]`).
//!
//! A rule takes every entry whose keys all equal its logsource's. Their
//! conditions are ANDed, their field maps merged (the more specific entry
//! wins), and the classes come from the most specific entry that has them.
//! A Sigma field no entry maps is read from `unmapped[<field>]`, which is
//! where decoders keep every source field under its own name.
//!
//! ```yaml
//! name: example
//! logsources:
//!   - logsource: {product: windows, service: windefend}
//!     classes: [base_event]
//!     conditions: {unmapped[Channel]: Microsoft-Windows-Windows Defender/Operational}
//!     fields: {User: user_name}
//! ```

use std::collections::HashMap;
use std::path::Path;

use rsigma_parser::LogSource;
use serde::Deserialize;
use vigil_schemas::Class;

/// The built-in mapping files, compiled in.
const BUILTIN: &[(&str, &str)] = &[
    (
        "windows.yml",
        include_str!("../../../rules/mappings/windows.yml"),
    ),
    (
        "identity.yml",
        include_str!("../../../rules/mappings/identity.yml"),
    ),
    (
        "linux.yml",
        include_str!("../../../rules/mappings/linux.yml"),
    ),
    ("zeek.yml", include_str!("../../../rules/mappings/zeek.yml")),
];

/// Where a Sigma field is read from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A class column, by name.
    Column(String),
    /// A key of the `unmapped` map.
    Unmapped(String),
}

impl Target {
    /// Parse `column` or `unmapped[Key]` (quotes around the key allowed).
    pub fn parse(s: &str) -> Target {
        let s = s.trim();
        match s
            .strip_prefix("unmapped[")
            .and_then(|r| r.strip_suffix(']'))
        {
            Some(key) => {
                let key = key.trim_matches(|c| c == '\'' || c == '"');
                Target::Unmapped(key.to_string())
            }
            None => Target::Column(s.to_string()),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Column(c) => write!(f, "{c}"),
            Target::Unmapped(k) => write!(f, "unmapped['{k}']"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    placeholders: HashMap<String, Vec<String>>,
    logsources: Vec<EntryDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryDoc {
    logsource: KeyDoc,
    #[serde(default)]
    classes: Option<Vec<String>>,
    #[serde(default)]
    conditions: Option<yaml_serde::Value>,
    #[serde(default)]
    fields: HashMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct KeyDoc {
    product: Option<String>,
    service: Option<String>,
    category: Option<String>,
}

/// One logsource entry of a mapping file.
#[derive(Debug)]
struct Entry {
    /// `file#index`, naming the entry in messages and caches.
    origin: String,
    product: Option<String>,
    service: Option<String>,
    category: Option<String>,
    classes: Option<Vec<Class>>,
    conditions: Option<yaml_serde::Value>,
    fields: HashMap<String, Target>,
}

impl Entry {
    fn specificity(&self) -> usize {
        [&self.product, &self.service, &self.category]
            .iter()
            .filter(|k| k.is_some())
            .count()
    }

    fn applies(&self, ls: &LogSource) -> bool {
        let eq = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have.as_ref().is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        eq(&self.product, &ls.product)
            && eq(&self.service, &ls.service)
            && eq(&self.category, &ls.category)
    }
}

/// All mapping entries in force, and the `expand` placeholders.
#[derive(Debug, Default)]
pub struct Mappings {
    entries: Vec<Entry>,
    placeholders: HashMap<String, Vec<String>>,
}

/// What the mappings say about one rule's logsource.
#[derive(Debug)]
pub struct Placement<'m> {
    /// The classes the rule runs on.
    pub classes: Vec<Class>,
    /// Conditions every event must meet, each `(origin, selection)`.
    pub conditions: Vec<(&'m str, &'m yaml_serde::Value)>,
    fields: HashMap<&'m str, &'m Target>,
}

impl Placement<'_> {
    /// Where the Sigma field `name` is read from.
    pub fn target(&self, name: &str) -> Target {
        match self.fields.get(name) {
            Some(t) => (*t).clone(),
            None => Target::Unmapped(name.to_string()),
        }
    }

    /// A key naming the conditions, equal for rules that share them.
    pub fn condition_key(&self) -> String {
        let names: Vec<&str> = self.conditions.iter().map(|(o, _)| *o).collect();
        format!("{:?}|{}", self.classes, names.join("+"))
    }
}

impl Mappings {
    /// The mappings shipped with vigil (`rules/mappings/`).
    ///
    /// # Errors
    ///
    /// Only if a built-in file is broken, which a test rules out.
    pub fn builtin() -> Result<Mappings, String> {
        let mut m = Mappings::default();
        for (name, text) in BUILTIN {
            m.add_yaml(name, text)?;
        }
        Ok(m)
    }

    /// Add every `*.yml`/`*.yaml` file of `dir` (not recursive), after the
    /// ones already loaded, so their entries refine the built-in ones.
    ///
    /// # Errors
    ///
    /// A file that cannot be read or is not a valid mapping, named.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), String> {
        let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut files: Vec<_> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| is_yaml(p))
            .collect();
        files.sort();
        for p in files {
            let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            self.add_yaml(&p.display().to_string(), &text)?;
        }
        Ok(())
    }

    /// Add one mapping document.
    ///
    /// # Errors
    ///
    /// Invalid YAML, unknown keys, or an unknown class name, with `name`.
    pub fn add_yaml(&mut self, name: &str, text: &str) -> Result<(), String> {
        let doc: FileDoc =
            yaml_serde::from_str(text).map_err(|e| format!("mapping {name}: {e}"))?;
        let label = doc.name.unwrap_or_else(|| name.to_string());
        self.placeholders.extend(doc.placeholders);
        for (i, e) in doc.logsources.into_iter().enumerate() {
            let classes =
                match e.classes {
                    None => None,
                    Some(list) => Some(parse_classes(&list).map_err(|c| {
                        format!("mapping {name}: logsource {i}: unknown class {c:?}")
                    })?),
                };
            self.entries.push(Entry {
                origin: format!("{label}#{i}"),
                product: e.logsource.product,
                service: e.logsource.service,
                category: e.logsource.category,
                classes,
                conditions: e.conditions,
                fields: e
                    .fields
                    .into_iter()
                    .map(|(k, v)| (k, Target::parse(&v)))
                    .collect(),
            });
        }
        Ok(())
    }

    /// Values of an `expand` placeholder.
    pub fn placeholder(&self, name: &str) -> Option<&[String]> {
        self.placeholders.get(name).map(Vec::as_slice)
    }

    /// Place a rule of logsource `ls`; `None` when no entry applies.
    pub fn place(&self, ls: &LogSource) -> Option<Placement<'_>> {
        let mut hits: Vec<&Entry> = self.entries.iter().filter(|e| e.applies(ls)).collect();
        if hits.is_empty() {
            return None;
        }
        hits.sort_by_key(|e| e.specificity());
        let classes = hits.iter().rev().find_map(|e| e.classes.clone())?;
        let mut fields = HashMap::new();
        for e in &hits {
            fields.extend(e.fields.iter().map(|(k, v)| (k.as_str(), v)));
        }
        let conditions = hits
            .iter()
            .filter_map(|e| e.conditions.as_ref().map(|c| (e.origin.as_str(), c)))
            .collect();
        Some(Placement {
            classes,
            conditions,
            fields,
        })
    }
}

fn parse_classes(list: &[String]) -> Result<Vec<Class>, String> {
    list.iter()
        .map(|c| Class::from_name(c).ok_or_else(|| c.clone()))
        .collect()
}

pub(crate) fn is_yaml(p: &Path) -> bool {
    p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(product: &str, service: Option<&str>, category: Option<&str>) -> LogSource {
        LogSource {
            product: Some(product.into()),
            service: service.map(str::to_string),
            category: category.map(str::to_string),
            ..LogSource::default()
        }
    }

    #[test]
    fn builtin_mappings_load() {
        let m = Mappings::builtin().expect("builtin mappings are valid");
        assert!(m.entries.len() > 40);
    }

    #[test]
    fn a_service_is_its_channel_bh09() {
        let m = Mappings::builtin().expect("builtin");
        let p = m
            .place(&ls("windows", Some("windefend"), None))
            .expect("placed");
        assert_eq!(p.classes, vec![Class::BaseEvent]);
        let text = format!("{:?}", p.conditions);
        assert!(text.contains("Windows Defender/Operational"), "{text}");
        let sec = m
            .place(&ls("windows", Some("security"), None))
            .expect("placed");
        assert_eq!(sec.classes, vec![Class::Authentication, Class::BaseEvent]);
        assert_eq!(sec.conditions.len(), 2);
        assert_eq!(
            sec.target("TargetUserName"),
            Target::Unmapped("TargetUserName".into())
        );
    }

    #[test]
    fn unknown_logsource_is_not_placed() {
        let m = Mappings::builtin().expect("builtin");
        assert!(m.place(&ls("cisco", Some("duo"), None)).is_none());
    }

    #[test]
    fn user_entries_refine_fields_and_reject_unknown_classes() {
        let mut m = Mappings::builtin().expect("builtin");
        m.add_yaml(
            "mine.yml",
            "logsources:\n  - logsource: {product: okta}\n    fields: {user: user_name}\n",
        )
        .expect("valid");
        let p = m.place(&ls("okta", Some("okta"), None)).expect("placed");
        assert_eq!(p.target("user"), Target::Column("user_name".into()));
        let bad = "logsources:\n  - logsource: {product: x}\n    classes: [nope]\n";
        assert!(
            m.add_yaml("bad.yml", bad)
                .expect_err("must fail")
                .contains("nope")
        );
    }

    #[test]
    fn target_syntax() {
        assert_eq!(
            Target::parse("user_name"),
            Target::Column("user_name".into())
        );
        assert_eq!(
            Target::parse("unmapped['Channel']"),
            Target::Unmapped("Channel".into())
        );
        assert_eq!(
            Target::parse("unmapped[outcome.result]"),
            Target::Unmapped("outcome.result".into())
        );
    }
}
