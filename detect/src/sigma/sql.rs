//! A loaded rule as SQL over vigil's tables, for `vigil rules to-sql`.
//!
//! The SQL is generated from the compiled predicates, not from the rule
//! text, so it means what the engine evaluates: the logsource conditions of
//! the rule's placement ANDed with its detection, over each class table the
//! rule is placed on (UNION ALL of the columns every class has when there
//! are several).
//!
//! How a predicate reads in SQL (the dialect is DataFusion's, as `vigil
//! sql` runs it):
//!
//! - a field is its column, or `unmapped['Key']`; a column that is not text
//!   is cast to text, as the engine compares its decimal text;
//! - case-insensitive matching compares `lower(field)` with a lower-cased
//!   literal: `=`, `starts_with`, `ends_with`, `strpos(..) > 0`; anything
//!   with inner wildcards becomes a regex (`~`), the same regex the engine
//!   runs;
//! - every leaf is wrapped in `coalesce(.., false)`, so a missing field
//!   reads as false and `NOT` keeps Sigma's two-valued meaning (SQL's NULL
//!   would drop the row under `NOT`);
//! - `cidr` uses `vigil_cidr_match(ip, 'net')`, a function `vigil sql`
//!   registers;
//! - keywords search `message`, `raw_data` and the values of `unmapped`
//!   (joined with U+001F, which the anchors of a keyword regex respect).

use std::fmt::Write as _;

use vigil_schemas::{Class, ColType, Field};

use super::SigmaEngine;
use super::compile::{Cmp, Expr, Pred, Program, RefKind, Source, Test};
use super::mapping::Target;
use super::pattern::Matcher;

/// Separator between unmapped values when keywords search all of them.
const SEP: &str = "\u{1f}";

/// The columns every class has, for a rule placed on several classes.
const COMMON: &[&str] = &[
    "time",
    "class_uid",
    "metadata_product_name",
    "metadata_log_name",
    "event_uid",
    "message",
    "raw_data",
];

impl SigmaEngine {
    /// Indexes of the loaded rules whose id (or title, for a rule without
    /// one) is `id`.
    pub fn find_rule(&self, id: &str) -> Vec<usize> {
        (0..self.rules.len())
            .filter(|i| self.rules[*i].meta.id == id)
            .collect()
    }

    /// SQL selecting the events rule `index` matches, from the tables of
    /// the classes it is placed on; `None` when there is no such rule.
    pub fn rule_sql(&self, index: usize) -> Option<String> {
        let rule = self.rules.get(index)?;
        let mut parts: Vec<(Class, String)> = Vec::new();
        for class in Class::ALL {
            for (scope, rules) in &self.by_class[class.index()] {
                if !rules.contains(&index) {
                    continue;
                }
                let mut conds = Vec::new();
                if let Some(s) = program_sql(&self.scopes[*scope]) {
                    conds.push(s);
                }
                if let Some(s) = program_sql(&rule.prog) {
                    conds.push(s);
                }
                let filter = match conds.len() {
                    0 => "TRUE".to_string(),
                    1 => conds.swap_remove(0),
                    _ => format!("({})\n  AND ({})", conds[0], conds[1]),
                };
                parts.push((class, filter));
            }
        }
        let mut out = format!("-- {}: {}\n", rule.meta.id, rule.meta.title);
        match parts.as_slice() {
            [] => return None,
            [(class, filter)] => {
                let _ = write!(out, "SELECT *\nFROM {}\nWHERE {filter}", class.name());
            }
            _ => {
                let cols = COMMON.join(", ");
                let selects: Vec<String> = parts
                    .iter()
                    .map(|(class, filter)| {
                        format!(
                            "SELECT {cols}, '{0}' AS class\nFROM {0}\nWHERE {filter}",
                            class.name()
                        )
                    })
                    .collect();
                out.push_str(&selects.join("\nUNION ALL\n"));
            }
        }
        out.push('\n');
        Some(out)
    }
}

fn program_sql(p: &Program) -> Option<String> {
    p.expr.as_ref().map(|e| expr_sql(e, &p.preds))
}

fn expr_sql(e: &Expr, preds: &[Pred]) -> String {
    let join = |xs: &[Expr], op: &str, empty: &str| -> String {
        match xs {
            [] => empty.to_string(),
            [x] => expr_sql(x, preds),
            _ => {
                let parts: Vec<String> = xs.iter().map(|x| expr_sql(x, preds)).collect();
                format!("({})", parts.join(op))
            }
        }
    };
    match e {
        Expr::Pred(i) => preds.get(*i).map_or_else(|| "FALSE".into(), pred_sql),
        Expr::And(xs) => join(xs, " AND ", "TRUE"),
        Expr::Or(xs) => join(xs, " OR ", "FALSE"),
        Expr::Not(x) => format!("NOT {}", expr_sql(x, preds)),
        Expr::AtLeast(n, xs) => {
            let terms: Vec<String> = xs
                .iter()
                .map(|x| format!("CASE WHEN {} THEN 1 ELSE 0 END", expr_sql(x, preds)))
                .collect();
            if terms.is_empty() {
                return if *n == 0 { "TRUE" } else { "FALSE" }.into();
            }
            format!("({}) >= {n}", terms.join(" + "))
        }
    }
}

/// A string literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A field as text.
fn field_sql(t: &Target) -> String {
    match t {
        Target::Unmapped(k) => format!("unmapped[{}]", lit(k)),
        Target::Column(c) => {
            let text = Field::from_name(c).is_none_or(|f| f.def().ty == ColType::Utf8);
            if text {
                c.clone()
            } else {
                format!("CAST({c} AS VARCHAR)")
            }
        }
    }
}

fn pred_sql(p: &Pred) -> String {
    let inner = match &p.src {
        Source::Field(t) => test_sql(&field_sql(t), &p.test),
        Source::Keywords => keyword_sql(&p.test),
    };
    match &p.test {
        // These are defined for a missing field and never yield NULL.
        Test::Null | Test::Exists(_) => inner,
        _ => format!("coalesce({inner}, false)"),
    }
}

fn test_sql(f: &str, t: &Test) -> String {
    match t {
        Test::Null => format!("{f} IS NULL"),
        Test::Exists(true) => format!("{f} IS NOT NULL"),
        Test::Exists(false) => format!("{f} IS NULL"),
        Test::Str { m, cased } => {
            let v = if *cased {
                f.to_string()
            } else {
                format!("lower({f})")
            };
            matcher_sql(&v, m)
        }
        Test::Regex(r) => format!("{f} ~ {}", lit(r.as_str())),
        Test::Cidr(nets) => {
            let parts: Vec<String> = nets
                .iter()
                .map(|n| format!("vigil_cidr_match({f}, {})", lit(&n.to_string())))
                .collect();
            match parts.len() {
                1 => parts.concat(),
                _ => format!("({})", parts.join(" OR ")),
            }
        }
        Test::Num(cmp, want) => {
            let op = match cmp {
                Cmp::Lt => "<",
                Cmp::Lte => "<=",
                Cmp::Gt => ">",
                Cmp::Gte => ">=",
            };
            format!("TRY_CAST(trim({f}) AS DOUBLE) {op} {want:?}")
        }
        Test::FieldRef(other, kind) => {
            let (a, b) = (
                format!("lower({f})"),
                format!("lower({})", field_sql(other)),
            );
            match kind {
                RefKind::Eq => format!("{a} = {b}"),
                RefKind::Prefix => format!("starts_with({a}, {b})"),
                RefKind::Suffix => format!("ends_with({a}, {b})"),
                RefKind::Contains => format!("strpos({a}, {b}) > 0"),
            }
        }
    }
}

fn matcher_sql(v: &str, m: &Matcher) -> String {
    match m {
        Matcher::Eq(s) => format!("{v} = {}", lit(s)),
        Matcher::Prefix(s) => format!("starts_with({v}, {})", lit(s)),
        Matcher::Suffix(s) => format!("ends_with({v}, {})", lit(s)),
        Matcher::Contains(s) => format!("strpos({v}, {}) > 0", lit(s)),
        Matcher::Any => format!("{v} IS NOT NULL"),
        Matcher::Regex(r) => format!("{v} ~ {}", lit(r.as_str())),
    }
}

/// Keywords: any of message, raw_data or an unmapped value matches.
fn keyword_sql(t: &Test) -> String {
    let Test::Str { m, .. } = t else {
        return "FALSE".into();
    };
    let mut ors: Vec<String> = ["message", "raw_data"]
        .iter()
        .map(|c| {
            format!(
                "coalesce({}, false)",
                matcher_sql(&format!("lower({c})"), m)
            )
        })
        .collect();
    let joined = format!("lower(array_to_string(map_values(unmapped), {}))", lit(SEP));
    let over_values = match m {
        Matcher::Contains(s) if !s.contains(SEP) => matcher_sql(&joined, m),
        Matcher::Any => "cardinality(map_values(unmapped)) > 0".into(),
        other => format!("{joined} ~ {}", lit(&separated_regex(other))),
    };
    ors.push(format!("coalesce({over_values}, false)"));
    format!("({})", ors.join(" OR "))
}

/// A matcher as a regex over values joined by [`SEP`]: each anchor stops at
/// a separator, and no wildcard crosses one.
fn separated_regex(m: &Matcher) -> String {
    let (start, end) = ("(?:^|\u{1f})", "(?:\u{1f}|$)");
    let esc = |s: &str| regex::escape(s);
    match m {
        Matcher::Eq(s) => format!("{start}{}{end}", esc(s)),
        Matcher::Prefix(s) => format!("{start}{}", esc(s)),
        Matcher::Suffix(s) => format!("{}{end}", esc(s)),
        Matcher::Contains(s) => esc(s),
        Matcher::Any => String::new(),
        Matcher::Regex(r) => {
            let src = r.as_str();
            let body = src.strip_prefix("(?s)").unwrap_or(src);
            let (body, anchored_start) = match body.strip_prefix('^') {
                Some(b) => (b, true),
                None => (body, false),
            };
            let (body, anchored_end) = match body.strip_suffix('$') {
                Some(b) if !b.ends_with('\\') => (b, true),
                _ => (body, false),
            };
            // N.B. a `*` stays inside one value; a `?` (a bare `.`) may
            // still match the separator itself, which only matters for a
            // keyword pattern spanning two values.
            let body = body.replace(".*", "[^\u{1f}]*");
            format!(
                "{}{body}{}",
                if anchored_start { start } else { "" },
                if anchored_end { end } else { "" }
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigma::Mappings;

    fn engine(yaml: &str) -> SigmaEngine {
        let m = Mappings::builtin().expect("built-in mappings");
        let (e, report) = SigmaEngine::from_yaml("t.yml", yaml, &m);
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        e
    }

    #[test]
    fn a_windows_rule_reads_as_scope_and_detection() {
        let e = engine(
            "title: t\nid: r1\nlogsource: {product: windows, service: security}\n\
             detection:\n  sel:\n    EventID: 4769\n    TicketEncryptionType: '0x17'\n  \
             filter:\n    ServiceName|endswith: '$'\n  condition: sel and not filter\n",
        );
        let sql = e.rule_sql(e.find_rule("r1")[0]).expect("placed");
        assert!(sql.starts_with("-- r1: t\n"), "{sql}");
        assert!(sql.contains("unmapped['TicketEncryptionType']"), "{sql}");
        assert!(
            sql.contains("NOT coalesce(ends_with(lower(unmapped['ServiceName']), '$'), false)"),
            "{sql}"
        );
    }

    #[test]
    fn quotes_are_doubled_and_at_least_becomes_a_sum() {
        let x = Expr::AtLeast(2, vec![Expr::Pred(0), Expr::Pred(1), Expr::Pred(0)]);
        let preds = vec![
            Pred {
                src: Source::Field(Target::Column("user_name".into())),
                test: Test::Str {
                    m: Matcher::Eq("o'brien".into()),
                    cased: false,
                },
                lit: None,
            },
            Pred {
                src: Source::Field(Target::Column("src_endpoint_port".into())),
                test: Test::Num(Cmp::Gte, 1024.0),
                lit: None,
            },
        ];
        let sql = expr_sql(&x, &preds);
        assert!(sql.contains("lower(user_name) = 'o''brien'"), "{sql}");
        assert!(
            sql.contains("TRY_CAST(trim(CAST(src_endpoint_port AS VARCHAR)) AS DOUBLE) >= 1024.0"),
            "{sql}"
        );
        assert!(sql.ends_with(") >= 2"), "{sql}");
    }

    #[test]
    fn keyword_anchors_stop_at_the_value_separator() {
        let re = separated_regex(&Matcher::Eq("a.b".into()));
        let r = regex::Regex::new(&re).expect("valid");
        assert!(r.is_match("x\u{1f}a.b\u{1f}y"));
        assert!(!r.is_match("xa.b"));
    }
}
