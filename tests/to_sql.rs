//! `vigil rules to-sql` means what the engine evaluates: for every shared
//! rule that loads, its SQL over the regression events (and the Mordor
//! Security events) selects exactly the events the engine matches.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use common::shared;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use vigil_detect::sigma::{Mappings, SigmaEngine};
use vigil_ingest::Format;
use vigil_ingest::read::{Output, ReadOptions, read_input};
use vigil_ingest::source::{self, ByteCounter};
use vigil_schemas::Class;

/// An event's identity on both sides: its uid and raw record.
type Key = (String, String);

fn keys(batch: &RecordBatch, rows: impl Iterator<Item = usize>) -> Vec<Key> {
    let text = |name: &str, r: usize| {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_string_opt::<i32>())
            .filter(|c| c.is_valid(r))
            .map_or_else(String::new, |c| c.value(r).to_string())
    };
    rows.map(|r| (text("event_uid", r), text("raw_data", r)))
        .collect()
}

fn read_all(paths: &[std::path::PathBuf], format: Option<Format>) -> Vec<(Class, RecordBatch)> {
    let opts = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    let mut out = Vec::new();
    for p in source::expand(paths).expect("inputs") {
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let input = source::open(&p, &ByteCounter::default()).expect("open");
        read_input(input, &opts, &mut |o| {
            if let Output::Batch(c, b) = o {
                out.push((c, b));
            }
        });
    }
    out
}

#[test]
fn every_rule_as_sql_selects_the_events_the_engine_matches() {
    let m = Mappings::builtin().expect("built-in mappings");
    let (engine, _) = SigmaEngine::load(&[shared("sigma/rules").as_path()], &m).expect("rules");
    let mut batches = read_all(
        &[shared("sigma/regression_data")],
        Some(Format::WindowsEvtxJson),
    );
    batches.extend(read_all(&[shared("auth/windows_json")], None));

    // The engine's matches, per rule.
    let mut want: BTreeMap<usize, BTreeSet<Key>> = BTreeMap::new();
    for (class, b) in &batches {
        for (rule, rows) in engine.matches(*class, b) {
            want.entry(rule)
                .or_default()
                .extend(keys(b, rows.into_iter()));
        }
    }
    assert!(want.len() > 150, "rules with matches: {}", want.len());

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ctx = SessionContext::new();
    vigil_sink::sql::register_functions(&ctx);
    for class in Class::ALL {
        let parts: Vec<RecordBatch> = batches
            .iter()
            .filter(|(c, _)| *c == class)
            .map(|(_, b)| b.clone())
            .collect();
        let t = MemTable::try_new(class.schema(), vec![parts]).expect("table");
        ctx.register_table(class.name(), Arc::new(t))
            .expect("register");
    }

    let mut failures = Vec::new();
    for rule in 0..engine.len() {
        let id = engine.rule(rule).map(|r| r.id.clone()).unwrap_or_default();
        let Some(sql) = engine.rule_sql(rule) else {
            failures.push(format!("{id}: no SQL"));
            continue;
        };
        let got: BTreeSet<Key> = match rt.block_on(async { ctx.sql(&sql).await?.collect().await }) {
            Ok(res) => res.iter().flat_map(|b| keys(b, 0..b.num_rows())).collect(),
            Err(e) => {
                failures.push(format!("{id}: {e}\n{sql}"));
                continue;
            }
        };
        let expected = want.remove(&rule).unwrap_or_default();
        if got != expected {
            failures.push(format!(
                "{id}: SQL selects {}, the engine matches {}\n{sql}",
                got.len(),
                expected.len()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn to_sql_prints_a_query_vigil_sql_can_run() {
    let rule = shared("sigma/rules");
    let out = common::vigil_ok(&[
        "rules",
        "to-sql",
        rule.to_str().expect("utf-8"),
        "--id",
        "496a0e47-0a33-4dca-b009-9e6ca3591f39",
    ]);
    assert!(out.contains("FROM authentication"), "{out}");
    assert!(out.contains("unmapped['TicketEncryptionType']"), "{out}");

    let dir = tempfile::tempdir().expect("tempdir");
    let input =
        shared("auth/windows_json/purplesharp_ad_playbook_I_2020-10-22042947.security_auth.json");
    common::replay(&[&input], dir.path(), &[]);
    let query = format!(
        "select count(*) from ({})",
        out.trim_end().trim_end_matches(';')
    );
    // SOURCES.md: five RC4 service tickets.
    assert_eq!(common::sql_csv(dir.path(), &query), ["5"]);
}

#[test]
fn to_sql_names_a_rule_that_does_not_exist() {
    let rule = shared("sigma/rules");
    let out = common::vigil(&[
        "rules",
        "to-sql",
        rule.to_str().expect("utf-8"),
        "--id",
        "no-such-rule",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no rule with id no-such-rule"), "{err}");
}
