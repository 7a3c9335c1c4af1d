//! Sigma detections compiled to predicates and a boolean expression.
//!
//! Each detection item (`Field|mods: values`) becomes one predicate per
//! value on one [`Source`], ORed (ANDed under `|all`); a map of items is an
//! AND, a list of maps an OR, a list of plain values keywords. The
//! condition is then an [`Expr`] over the named detections: `and`, `or`,
//! `not`, `1 of x*`, `all of them`, `N of`.
//!
//! Semantics follow pySigma: strings match case-insensitively unless
//! `cased`; `re` is case-sensitive unless `i`; `null` means the field is
//! absent, while `''` means present and empty (BH-14); numbers compare as
//! their decimal text (`EventID: 7045` matches `"7045"`), except under
//! `lt`/`lte`/`gt`/`gte`, which compare numerically.
//!
//! What cannot compile is a [`CompileError`] naming the feature, so the
//! load report can count rules per unsupported feature.

use std::collections::HashMap;

use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Modifier, Quantifier, SelectorPattern, SigmaString,
    SigmaValue,
};

use super::literal::LitRef;
use super::mapping::Target;
use super::pattern::{Matcher, Tok, Val, build_regex};

/// Why a rule cannot compile: the feature and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    /// The feature, for counting (`modifier minute`, `regex`, `condition`).
    pub feature: String,
    /// What exactly was wrong.
    pub reason: String,
}

impl CompileError {
    pub(crate) fn new(feature: &str, reason: impl Into<String>) -> CompileError {
        CompileError {
            feature: feature.to_string(),
            reason: reason.into(),
        }
    }
}

type Res<T> = Result<T, CompileError>;

/// Where a predicate reads its value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// One field.
    Field(Target),
    /// Keywords: the message, the raw record and every source field.
    Keywords,
}

/// Numeric comparison.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Cmp {
    Lt,
    Lte,
    Gt,
    Gte,
}

/// An IP network for `cidr`.
pub(crate) use vigil_schemas::Cidr as Net;

/// How `fieldref` compares two fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefKind {
    Eq,
    Prefix,
    Suffix,
    Contains,
}

/// What a predicate tests.
#[derive(Clone, Debug)]
pub(crate) enum Test {
    /// The field is absent or null.
    Null,
    /// The field is (or is not) present.
    Exists(bool),
    /// A pattern; over lower-cased values unless `cased`.
    Str { m: Matcher, cased: bool },
    /// `re`: over the value as it is.
    Regex(regex::Regex),
    /// `cidr`: any of the networks.
    Cidr(Vec<Net>),
    /// `lt`, `lte`, `gt`, `gte`.
    Num(Cmp, f64),
    /// `fieldref`: compare with another field of the same event.
    FieldRef(Target, RefKind),
}

/// One test on one source.
#[derive(Clone, Debug)]
pub(crate) struct Pred {
    pub(crate) src: Source,
    pub(crate) test: Test,
    /// Set when the literal is matched in a per-column group scan.
    pub(crate) lit: Option<LitRef>,
}

/// A boolean expression over predicates.
#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Pred(usize),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// At least `n` of the children.
    AtLeast(usize, Vec<Expr>),
}

/// A compiled detection: its predicates and the expression over them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Program {
    pub(crate) preds: Vec<Pred>,
    pub(crate) expr: Option<Expr>,
}

/// Compiles detections, resolving field names with `resolve` and `expand`
/// placeholders with `placeholder`.
pub(crate) struct Compiler<'a> {
    pub(crate) preds: Vec<Pred>,
    resolve: &'a dyn Fn(&str) -> Target,
    placeholder: &'a dyn Fn(&str) -> Option<Vec<String>>,
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(
        resolve: &'a dyn Fn(&str) -> Target,
        placeholder: &'a dyn Fn(&str) -> Option<Vec<String>>,
    ) -> Compiler<'a> {
        Compiler {
            preds: Vec::new(),
            resolve,
            placeholder,
        }
    }

    /// Compile the named detections and the conditions (several are ORed).
    pub(crate) fn rule(
        &mut self,
        named: &HashMap<String, Detection>,
        conditions: &[ConditionExpr],
    ) -> Res<Expr> {
        let mut compiled = HashMap::with_capacity(named.len());
        for (name, d) in named {
            compiled.insert(name.as_str(), self.detection(d)?);
        }
        let mut out = Vec::with_capacity(conditions.len());
        for c in conditions {
            out.push(condition(c, &compiled)?);
        }
        match out.len() {
            0 => Err(CompileError::new("condition", "the rule has no condition")),
            1 => Ok(out.swap_remove(0)),
            _ => Ok(Expr::Or(out)),
        }
    }

    pub(crate) fn detection(&mut self, d: &Detection) -> Res<Expr> {
        match d {
            Detection::AllOf(items) => {
                let parts = items
                    .iter()
                    .map(|i| self.item(i))
                    .collect::<Res<Vec<_>>>()?;
                Ok(Expr::And(parts))
            }
            Detection::AnyOf(ds) => Ok(Expr::Or(
                ds.iter().map(|d| self.detection(d)).collect::<Res<_>>()?,
            )),
            Detection::And(ds) => Ok(Expr::And(
                ds.iter().map(|d| self.detection(d)).collect::<Res<_>>()?,
            )),
            Detection::Keywords(values) => {
                let mut ors = Vec::with_capacity(values.len());
                for v in values {
                    ors.push(self.values_on(Source::Keywords, &[Modifier::Contains], v)?);
                }
                Ok(Expr::Or(ors))
            }
            Detection::ArrayMatch { field, .. } => Err(CompileError::new(
                "array matching",
                format!("array quantifier on {field} is not supported"),
            )),
            Detection::Conditional { .. } => Err(CompileError::new(
                "nested condition",
                "a detection with its own condition is not supported",
            )),
        }
    }

    fn item(&mut self, it: &DetectionItem) -> Res<Expr> {
        let mods = &it.field.modifiers;
        check_modifiers(mods)?;
        let src = match &it.field.name {
            Some(name) => Source::Field((self.resolve)(&unescape_field(name))),
            None => Source::Keywords,
        };
        let mut mods = mods.clone();
        if src == Source::Keywords && !has_position(&mods) {
            mods.insert(0, Modifier::Contains);
        }
        if it.values.is_empty() {
            return Err(CompileError::new("value", "a field with no values"));
        }
        let mut parts = Vec::with_capacity(it.values.len());
        for v in &it.values {
            parts.push(self.values_on(src.clone(), &mods, v)?);
        }
        let all = mods.contains(&Modifier::All);
        let e = if all {
            Expr::And(parts)
        } else {
            Expr::Or(parts)
        };
        Ok(if mods.contains(&Modifier::Neq) {
            Expr::Not(Box::new(e))
        } else {
            e
        })
    }

    /// One value of an item: one predicate, or an OR of the expansions.
    fn values_on(&mut self, src: Source, mods: &[Modifier], v: &SigmaValue) -> Res<Expr> {
        let tests = value_tests(mods, v, self.resolve, self.placeholder)?;
        let mut ors: Vec<Expr> = Vec::with_capacity(tests.len());
        for test in tests {
            self.preds.push(Pred {
                src: src.clone(),
                test,
                lit: None,
            });
            ors.push(Expr::Pred(self.preds.len() - 1));
        }
        Ok(if ors.len() == 1 {
            ors.swap_remove(0)
        } else {
            Expr::Or(ors)
        })
    }
}

fn has_position(mods: &[Modifier]) -> bool {
    mods.iter().any(|m| {
        matches!(
            m,
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith | Modifier::Re
        )
    })
}

/// Field names come from the parser with `[` and `]` escaped.
pub(crate) fn unescape_field(name: &str) -> String {
    name.replace("\\[", "[").replace("\\]", "]")
}

fn check_modifiers(mods: &[Modifier]) -> Res<()> {
    for m in mods {
        let name = match m {
            Modifier::Minute => "minute",
            Modifier::Hour => "hour",
            Modifier::Day => "day",
            Modifier::Week => "week",
            Modifier::Month => "month",
            Modifier::Year => "year",
            _ => continue,
        };
        return Err(CompileError::new(
            &format!("modifier {name}"),
            format!("the timestamp-part modifier `{name}` is not supported"),
        ));
    }
    let count = |f: &dyn Fn(&Modifier) -> bool| mods.iter().filter(|m| f(m)).count();
    let ops = count(&|m| {
        matches!(
            m,
            Modifier::Re | Modifier::Cidr | Modifier::Gt | Modifier::Gte | Modifier::Lt
        ) || matches!(m, Modifier::Lte | Modifier::Exists | Modifier::FieldRef)
    });
    if ops > 1 {
        return Err(CompileError::new(
            "modifier combination",
            format!("conflicting modifiers {mods:?}"),
        ));
    }
    Ok(())
}

/// The tests one value stands for (several after `base64offset` or
/// `expand`).
fn value_tests(
    mods: &[Modifier],
    v: &SigmaValue,
    resolve: &dyn Fn(&str) -> Target,
    placeholder: &dyn Fn(&str) -> Option<Vec<String>>,
) -> Res<Vec<Test>> {
    if let SigmaValue::Null = v {
        return Ok(vec![Test::Null]);
    }
    if mods.contains(&Modifier::Exists) {
        return match v {
            SigmaValue::Bool(b) => Ok(vec![Test::Exists(*b)]),
            _ => Err(CompileError::new(
                "modifier exists",
                "exists needs true or false",
            )),
        };
    }
    if mods.contains(&Modifier::Re) {
        return regex_test(mods, v).map(|t| vec![t]);
    }
    if mods.contains(&Modifier::Cidr) {
        return cidr_test(v).map(|t| vec![t]);
    }
    if let Some(cmp) = cmp_of(mods) {
        let n = number(v)
            .ok_or_else(|| CompileError::new("modifier lt/gt", format!("{v} is not a number")))?;
        return Ok(vec![Test::Num(cmp, n)]);
    }
    if mods.contains(&Modifier::FieldRef) {
        return fieldref_test(mods, v, resolve).map(|t| vec![t]);
    }
    let cased = mods.contains(&Modifier::Cased);
    let vals = transform(mods, start_value(v), placeholder)?;
    vals.into_iter()
        .map(|val| {
            let m = Matcher::compile(&val.finish(), cased)
                .map_err(|e| CompileError::new("value size", e))?;
            Ok(Test::Str { m, cased })
        })
        .collect()
}

fn start_value(v: &SigmaValue) -> Val {
    match v {
        SigmaValue::String(s) => Val::from_sigma(s),
        SigmaValue::Integer(n) => Val::literal(&n.to_string()),
        SigmaValue::Float(f) => Val::literal(&f.to_string()),
        SigmaValue::Bool(b) => Val::literal(if *b { "true" } else { "false" }),
        SigmaValue::Null => Val::literal(""),
    }
}

/// Apply the string modifiers in the order the rule gives them.
fn transform(
    mods: &[Modifier],
    v: Val,
    placeholder: &dyn Fn(&str) -> Option<Vec<String>>,
) -> Res<Vec<Val>> {
    let mut vals = vec![v];
    for m in mods {
        let mut next = Vec::with_capacity(vals.len());
        for v in vals {
            let step = |r: Result<Val, String>| {
                r.map(|v| vec![v])
                    .map_err(|e| CompileError::new(&format!("modifier {}", mod_name(m)), e))
            };
            next.extend(match m {
                Modifier::Contains => step(v.contains())?,
                Modifier::StartsWith => step(v.starts_with())?,
                Modifier::EndsWith => step(v.ends_with())?,
                Modifier::WindAsh => step(v.windash())?,
                Modifier::Wide => step(v.utf16(false, false))?,
                Modifier::Utf16be => step(v.utf16(true, false))?,
                Modifier::Utf16 => step(v.utf16(false, true))?,
                Modifier::Base64 => step(v.base64())?,
                Modifier::Base64Offset => v
                    .base64offset()
                    .map_err(|e| CompileError::new("modifier base64offset", e))?,
                Modifier::Expand => expand(v, placeholder)?,
                _ => vec![v],
            });
        }
        vals = next;
    }
    Ok(vals)
}

fn mod_name(m: &Modifier) -> String {
    format!("{m:?}").to_lowercase()
}

/// `expand`: each `%name%` in the literal text becomes each of its values.
fn expand(v: Val, placeholder: &dyn Fn(&str) -> Option<Vec<String>>) -> Res<Vec<Val>> {
    let Val::Pat(toks) = v else {
        return Ok(vec![v]);
    };
    let mut outs: Vec<Vec<Tok>> = vec![Vec::new()];
    for t in toks {
        let Tok::Lit(s) = t else {
            outs.iter_mut().for_each(|o| o.push(t.clone()));
            continue;
        };
        let mut rest = s.as_str();
        while let Some((before, after)) = rest.split_once('%') {
            let Some((name, tail)) = after.split_once('%') else {
                break;
            };
            let values = placeholder(name).ok_or_else(|| {
                CompileError::new(
                    "modifier expand",
                    format!("placeholder %{name}% has no values in the mappings"),
                )
            })?;
            outs.iter_mut()
                .for_each(|o| o.push(Tok::Lit(before.to_string())));
            outs = product(outs, &values);
            rest = tail;
        }
        outs.iter_mut()
            .for_each(|o| o.push(Tok::Lit(rest.to_string())));
    }
    Ok(outs.into_iter().map(Val::Pat).collect())
}

fn product(outs: Vec<Vec<Tok>>, values: &[String]) -> Vec<Vec<Tok>> {
    let mut next = Vec::with_capacity(outs.len() * values.len());
    for o in &outs {
        for v in values {
            let mut o = o.clone();
            if let Val::Pat(t) = Val::from_sigma(&SigmaString::new(v)) {
                o.extend(t);
            }
            next.push(o);
        }
    }
    next
}

fn regex_test(mods: &[Modifier], v: &SigmaValue) -> Res<Test> {
    let SigmaValue::String(s) = v else {
        return Err(CompileError::new(
            "regex",
            format!("{v} is not a regex string"),
        ));
    };
    let mut flags = String::new();
    for (m, f) in [
        (Modifier::IgnoreCase, 'i'),
        (Modifier::Multiline, 'm'),
        (Modifier::DotAll, 's'),
    ] {
        if mods.contains(&m) {
            flags.push(f);
        }
    }
    let re = if flags.is_empty() {
        s.original.clone()
    } else {
        format!("(?{flags}){}", s.original)
    };
    let feature = if looks_like_lookaround(&s.original) {
        "regex lookaround/backreference"
    } else {
        "regex"
    };
    build_regex(&re)
        .map(Test::Regex)
        .map_err(|e| CompileError::new(feature, e))
}

fn looks_like_lookaround(re: &str) -> bool {
    ["(?=", "(?!", "(?<=", "(?<!", "\\1", "\\2"]
        .iter()
        .any(|p| re.contains(p))
}

fn cidr_test(v: &SigmaValue) -> Res<Test> {
    let text = v.to_string();
    Net::parse(&text)
        .map(|n| Test::Cidr(vec![n]))
        .ok_or_else(|| CompileError::new("modifier cidr", format!("invalid network {text:?}")))
}

fn cmp_of(mods: &[Modifier]) -> Option<Cmp> {
    mods.iter().find_map(|m| match m {
        Modifier::Lt => Some(Cmp::Lt),
        Modifier::Lte => Some(Cmp::Lte),
        Modifier::Gt => Some(Cmp::Gt),
        Modifier::Gte => Some(Cmp::Gte),
        _ => None,
    })
}

fn number(v: &SigmaValue) -> Option<f64> {
    match v {
        SigmaValue::Integer(n) => Some(*n as f64),
        SigmaValue::Float(f) => Some(*f),
        SigmaValue::String(s) => s.original.trim().parse().ok(),
        _ => None,
    }
}

fn fieldref_test(mods: &[Modifier], v: &SigmaValue, resolve: &dyn Fn(&str) -> Target) -> Res<Test> {
    let SigmaValue::String(s) = v else {
        return Err(CompileError::new(
            "modifier fieldref",
            "fieldref needs a field name",
        ));
    };
    let kind = if mods.contains(&Modifier::Contains) {
        RefKind::Contains
    } else if mods.contains(&Modifier::StartsWith) {
        RefKind::Prefix
    } else if mods.contains(&Modifier::EndsWith) {
        RefKind::Suffix
    } else {
        RefKind::Eq
    };
    Ok(Test::FieldRef(resolve(&s.original), kind))
}

/// The condition over compiled named detections.
fn condition(c: &ConditionExpr, named: &HashMap<&str, Expr>) -> Res<Expr> {
    match c {
        ConditionExpr::And(xs) => Ok(Expr::And(
            xs.iter().map(|x| condition(x, named)).collect::<Res<_>>()?,
        )),
        ConditionExpr::Or(xs) => Ok(Expr::Or(
            xs.iter().map(|x| condition(x, named)).collect::<Res<_>>()?,
        )),
        ConditionExpr::Not(x) => Ok(Expr::Not(Box::new(condition(x, named)?))),
        ConditionExpr::Identifier(id) => named.get(id.as_str()).cloned().ok_or_else(|| {
            CompileError::new(
                "condition",
                format!("the condition names {id:?}, which the detection does not define"),
            )
        }),
        ConditionExpr::Selector {
            quantifier,
            pattern,
        } => selector(quantifier, pattern, named),
    }
}

fn selector(q: &Quantifier, p: &SelectorPattern, named: &HashMap<&str, Expr>) -> Res<Expr> {
    let mut names: Vec<&&str> = named
        .keys()
        .filter(|n| match p {
            SelectorPattern::Them => !n.starts_with('_'),
            SelectorPattern::Pattern(p) => glob(p, n),
        })
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(CompileError::new(
            "condition",
            format!("`{q} of {p}` matches no detection"),
        ));
    }
    let xs: Vec<Expr> = names
        .iter()
        .filter_map(|n| named.get(**n).cloned())
        .collect();
    Ok(match q {
        Quantifier::Any => Expr::Or(xs),
        Quantifier::All => Expr::And(xs),
        Quantifier::Count(n) => Expr::AtLeast(usize::try_from(*n).unwrap_or(usize::MAX), xs),
    })
}

/// Whether `name` matches the selector pattern (`*` any run, `?` one char).
fn glob(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_selection_names() {
        assert!(glob("selection_*", "selection_svc"));
        assert!(glob("sel*", "sel"));
        assert!(!glob("selection_*", "filter_main"));
        assert!(glob("a?c*", "abcde"));
        assert!(!glob("a?c", "ac"));
    }

    #[test]
    fn cidr_contains_v4_v6_and_mapped() {
        let n = Net::parse("10.0.0.0/8").expect("net");
        assert!(n.contains("10.2.3.4".parse().expect("ip")));
        assert!(!n.contains("11.0.0.1".parse().expect("ip")));
        assert!(n.contains("::ffff:10.0.0.1".parse().expect("ip")));
        let n6 = Net::parse("fe80::/10").expect("net");
        assert!(n6.contains("fe80::1".parse().expect("ip")));
        assert!(!n6.contains("2001:db8::1".parse().expect("ip")));
        assert!(
            Net::parse("0.0.0.0/0")
                .expect("net")
                .contains("1.2.3.4".parse().expect("ip"))
        );
        assert!(Net::parse("10.0.0.0/33").is_none());
    }
}
