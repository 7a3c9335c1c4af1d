//! Identity and cloud decoders (Okta, Entra ID, CloudTrail) over the shared
//! sample data and the edge cases BH-26, BH-28 and BH-29.
//!
//! Expected numbers come from `shared/data/SOURCES.md`, from
//! `shared/edge-cases.md`, or were counted in the files by hand; each test
//! says which.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use vigil_ingest::emit::{Emitter, FormatStats};
use vigil_ingest::format::classify_json;
use vigil_ingest::read::{DeadLetter, Output, ReadOptions, read_input};
use vigil_ingest::{DecodeConfig, DecodeError, Format, Record, source};
use vigil_schemas::Class;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/identity");

fn data(rel: &str) -> PathBuf {
    let p = Path::new(DATA).join(rel);
    assert!(
        p.exists(),
        "test data missing: {} (expected under ../shared/data)",
        p.display()
    );
    p
}

fn fixture(name: &str) -> PathBuf {
    let p = Path::new(FIXTURES).join(name);
    assert!(p.exists(), "fixture missing: {}", p.display());
    p
}

/// One decoded row, every column rendered as text.
#[derive(Debug)]
struct Row {
    cols: BTreeMap<String, String>,
    unmapped: Vec<(String, String)>,
}

impl Row {
    fn get(&self, col: &str) -> Option<&str> {
        self.cols.get(col).map(String::as_str)
    }

    fn um(&self, key: &str) -> Option<&str> {
        self.unmapped
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn render(batch: &RecordBatch) -> Vec<Row> {
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|i| {
            let mut row = Row {
                cols: BTreeMap::new(),
                unmapped: Vec::new(),
            };
            for (f, col) in schema.fields().iter().zip(batch.columns()) {
                if col.is_null(i) {
                    continue;
                }
                let text = match f.data_type() {
                    DataType::Utf8 => col.as_string::<i32>().value(i).to_string(),
                    DataType::Int32 => col.as_primitive::<Int32Type>().value(i).to_string(),
                    DataType::Int64 => col.as_primitive::<Int64Type>().value(i).to_string(),
                    DataType::Float64 => col.as_primitive::<Float64Type>().value(i).to_string(),
                    DataType::Boolean => col.as_boolean().value(i).to_string(),
                    DataType::Timestamp(..) => {
                        let us = col.as_primitive::<TimestampMicrosecondType>().value(i);
                        let t = DateTime::from_timestamp_micros(us).expect("in range");
                        t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
                    }
                    DataType::Map(..) => {
                        let m = col.as_map().value(i);
                        let (k, v) = (
                            m.column(0).as_string::<i32>(),
                            m.column(1).as_string::<i32>(),
                        );
                        for j in 0..m.len() {
                            row.unmapped.push((k.value(j).into(), v.value(j).into()));
                        }
                        continue;
                    }
                    other => panic!("unexpected column type {other}"),
                };
                row.cols.insert(f.name().clone(), text);
            }
            row
        })
        .collect()
}

/// What one input decoded to.
struct Decoded {
    format: Option<Format>,
    stats: FormatStats,
    rows: Vec<(Class, Row)>,
    dead: Vec<DeadLetter>,
}

impl Decoded {
    fn of(&self, class: Class) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|(c, _)| *c == class)
            .map(|(_, r)| r)
            .collect()
    }

    fn count(&self, class: Class) -> usize {
        self.of(class).len()
    }

    fn col(&self, class: Class, col: &str) -> Vec<Option<&str>> {
        self.of(class).iter().map(|r| r.get(col)).collect()
    }
}

/// Read a file end to end: open, sniff (or force), frame, decode.
fn decode_path(path: &Path, format: Option<Format>) -> Decoded {
    let counter = source::ByteCounter::default();
    let input = source::open(path, &counter).expect("open input");
    let opts = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    let (mut rows, mut dead) = (Vec::new(), Vec::new());
    let (format, stats) = read_input(input, &opts, &mut |o| match o {
        Output::Batch(c, b) => rows.extend(render(&b).into_iter().map(|r| (c, r))),
        Output::DeadLetter(d) => dead.push(d),
    });
    Decoded {
        format,
        stats,
        rows,
        dead,
    }
}

/// Write `text` to a file and read it end to end, sniffing its format.
fn decode_text(text: &str) -> Decoded {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(text.as_bytes()).expect("write temp file");
    decode_path(f.path(), None)
}

/// Decode one record with a given format's decoder.
fn decode_one(format: Format, text: &str) -> Result<Vec<(Class, Row)>, DecodeError> {
    let mut dec = format.decoder(&DecodeConfig::default());
    let mut em = Emitter::new(format.name(), "test", Utc::now().timestamp_micros());
    let rec = Record {
        text,
        line: 1,
        offset: 0,
    };
    dec.decode(&rec, &mut em)?;
    let batches = em.flush();
    Ok(batches
        .iter()
        .flat_map(|(c, b)| render(b).into_iter().map(move |r| (*c, r)))
        .collect())
}

/// The error a record gives, as the dead letter would say it.
fn error_of(format: Format, text: &str) -> String {
    match decode_one(format, text) {
        Ok(rows) => panic!("expected an error, got {} rows", rows.len()),
        Err(e) => e.to_string(),
    }
}

/// The `log` of every Panther rule test in a file.
fn panther_logs(file: &str) -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(data(file)).expect("read panther tests");
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("panther test line is JSON");
            let name = v["test_name"].as_str().unwrap_or_default().to_string();
            (name, v["log"].clone())
        })
        .collect()
}

// ---- Okta ------------------------------------------------------------------

const OKTA: &str = "auth/okta/panther_scenario_";

/// SOURCES.md: brute force = 10 events, 9 FAILURE then 1 SUCCESS,
/// 2021-06-25 21:27-21:41; all `user.session.start`.
#[test]
fn okta_brute_force_is_nine_failures_then_a_success() {
    let d = decode_path(
        &data(&format!(
            "{OKTA}okta-add-administrator_2_brute_force_logins.jsonl"
        )),
        None,
    );
    assert_eq!(d.format, Some(Format::Okta));
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert_eq!(
        (d.count(Class::Authentication), d.count(Class::BaseEvent)),
        (10, 0)
    );
    let status = d.col(Class::Authentication, "status_id");
    let mut want = vec![Some("2"); 9];
    want.push(Some("1"));
    assert_eq!(status, want);
    let auth = d.of(Class::Authentication);
    let (first, last) = (auth[0], auth[9]);
    assert_eq!(first.get("time"), Some("2021-06-25T21:27:03.490Z"));
    assert_eq!(first.get("status"), Some("FAILURE"));
    assert_eq!(first.get("status_detail"), Some("VERIFICATION_ERROR"));
    assert_eq!(first.get("src_endpoint_ip"), Some("195.154.58.200"));
    assert_eq!(first.get("activity_id"), Some("1"));
    assert_eq!(first.get("type_uid"), Some("300201"));
    assert_eq!(first.get("metadata_event_code"), Some("user.session.start"));
    assert_eq!(last.get("time"), Some("2021-06-25T21:41:03.490Z"));
    assert_eq!(last.get("src_endpoint_ip"), Some("194.88.246.242"));
    assert_eq!(last.get("user_name"), Some("jack.naglieri@runpanther.io"));
    assert_eq!(last.get("user_uid"), Some("00uu1uuuuIlllaaaa356"));
}

/// Okta writes country names; the first brute-force event is from
/// Wheelwright, Argentina at 37.7852,-122.3874 (read from the file).
#[test]
fn okta_location_keeps_city_coordinates_and_the_country_name_unmapped() {
    let d = decode_path(
        &data(&format!(
            "{OKTA}okta-add-administrator_2_brute_force_logins.jsonl"
        )),
        None,
    );
    let first = d.of(Class::Authentication)[0];
    assert_eq!(first.get("src_endpoint_location_city"), Some("Wheelwright"));
    assert_eq!(first.get("src_endpoint_location_lat"), Some("37.7852"));
    assert_eq!(first.get("src_endpoint_location_long"), Some("-122.3874"));
    assert_eq!(first.get("src_endpoint_location_country"), None);
    assert_eq!(
        first.um("client.geographicalContext.country"),
        Some("Argentina")
    );
    assert_eq!(first.um("outcome.result"), Some("FAILURE"));
    assert!(
        first
            .get("http_request_user_agent")
            .is_some_and(|u| u.contains("Chrome/86"))
    );
}

/// Row counts per file, from SOURCES.md (legit 5 SUCCESS; attacker 2
/// FAILURE; victim 1 SUCCESS) and, for the admin grant and new-user files,
/// their single non-sign-in event.
#[test]
fn okta_scenario_files_decode_with_pinned_rows() {
    let cases: &[(&str, usize, usize, &[&str])] = &[
        ("okta-add-administrator_1_legit_login", 5, 0, &["1"; 5]),
        ("compromised-root-creds_attacker_okta", 2, 0, &["2", "2"]),
        ("compromised-root-creds_victim_okta", 1, 0, &["1"]),
        ("okta-add-administrator_3_admin_privs_assigned", 0, 1, &[]),
        ("okta-add-administrator_4_new-user", 0, 1, &[]),
    ];
    for (file, auth, base, status) in cases {
        let d = decode_path(&data(&format!("{OKTA}{file}.jsonl")), None);
        assert_eq!(d.format, Some(Format::Okta), "{file}");
        assert!(d.dead.is_empty(), "{file}: {:?}", d.dead);
        assert_eq!(d.count(Class::Authentication), *auth, "{file}");
        assert_eq!(d.count(Class::BaseEvent), *base, "{file}");
        let got: Vec<&str> = d
            .col(Class::Authentication, "status_id")
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(&got, status, "{file}");
        assert_eq!(d.stats.time_missing, 0, "{file}");
    }
}

/// The victim's login: every mapped field, values read from the file.
#[test]
fn okta_victim_login_fields() {
    let d = decode_path(
        &data(&format!("{OKTA}compromised-root-creds_victim_okta.jsonl")),
        None,
    );
    let r = d.of(Class::Authentication)[0];
    let want = [
        ("time", "2020-10-27T04:38:51.650Z"),
        ("metadata_original_time", "2020-10-27T04:38:51.650Z"),
        ("metadata_product_name", "Okta"),
        ("metadata_log_name", "System Log"),
        ("metadata_uid", "776aaebb-2245-11eb-bc00-77678ac221c9"),
        ("message", "User login to Okta"),
        ("severity_id", "1"),
        ("user_name", "tracey.stone@acme.io"),
        ("user_email_addr", "tracey.stone@acme.io"),
        ("user_uid", "00sadf9dsf983928"),
        ("user_type", "User"),
        ("actor_session_uid", "102F5M3O5P6Rge8yFXs55YsJg"),
        ("src_endpoint_ip", "71.253.251.71"),
        ("src_endpoint_location_city", "San Francisco"),
        ("status", "SUCCESS"),
    ];
    for (col, v) in want {
        assert_eq!(r.get(col), Some(v), "{col}");
    }
    assert_eq!(
        r.get("is_mfa"),
        None,
        "a password login says nothing about MFA"
    );
    assert_eq!(
        r.um("debugContext.debugData.deviceFingerprint"),
        Some("164995752e4644fce6833bf4cafa9cca")
    );
    assert_eq!(r.um("request.ipChain.0.ip"), Some("71.253.251.71"));
}

/// Admin actions are base events: the admin is the actor, the account
/// acted on is the user (values from the file).
#[test]
fn okta_admin_actions_are_base_events_with_actor_and_target() {
    let d = decode_path(
        &data(&format!(
            "{OKTA}okta-add-administrator_3_admin_privs_assigned.jsonl"
        )),
        None,
    );
    let r = d.of(Class::BaseEvent)[0];
    assert_eq!(
        r.get("metadata_event_code"),
        Some("user.account.privilege.grant")
    );
    assert_eq!(
        r.get("actor_user_name"),
        Some("jack.naglieri@runpanther.io")
    );
    assert_eq!(r.get("user_name"), Some("thomas12223391@gmail.com"));
    assert_eq!(r.get("src_endpoint_ip"), Some("194.88.246.242"));
    assert_eq!(r.get("status_id"), Some("1"));
    assert_eq!(r.get("time"), Some("2021-06-26T21:27:03.490Z"));
    let granted = "Organization administrator, Application administrator (all)";
    assert_eq!(
        r.um("debugContext.debugData.privilegeGranted"),
        Some(granted)
    );
}

/// BH-28: Java map strings in debugData are split, commas inside values
/// kept; the event is a successful sign-in by alice from 198.51.100.23.
#[test]
fn bh28_okta_debug_data_map_strings() {
    let d = decode_path(&fixture("bh28_okta_debug_data.ndjson"), None);
    assert_eq!(d.format, Some(Format::Okta));
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    let r = d.of(Class::Authentication)[0];
    assert_eq!(r.get("user_name"), Some("alice@example.com"));
    assert_eq!(r.get("src_endpoint_ip"), Some("198.51.100.23"));
    assert_eq!(r.get("status_id"), Some("1"));
    let p = "debugContext.debugData";
    assert_eq!(r.um(&format!("{p}.risk.level")), Some("HIGH"));
    assert_eq!(
        r.um(&format!("{p}.risk.reasons")),
        Some("Anomalous Location, Anomalous Device")
    );
    let behaviors = [
        ("New Geo-Location", "POSITIVE"),
        ("New Device", "POSITIVE"),
        ("New IP", "POSITIVE"),
        ("New State", "NEGATIVE"),
        ("New Country", "NEGATIVE"),
        ("Velocity", "UNKNOWN"),
        ("New City", "BAD_REQUEST"),
    ];
    for (k, v) in behaviors {
        assert_eq!(r.um(&format!("{p}.behaviors.{k}")), Some(v), "{k}");
    }
    let parsed = r
        .unmapped
        .iter()
        .filter(|(k, _)| k.starts_with(&format!("{p}.behaviors.")))
        .count();
    assert_eq!(parsed, 7);
    // `unmapped` is text: the boolean is the word false.
    assert_eq!(r.um(&format!("{p}.threatSuspected")), Some("false"));
    // The map strings themselves are kept as written too.
    assert!(
        r.um(&format!("{p}.risk"))
            .is_some_and(|s| s.starts_with("{reasons="))
    );
}

/// BH-28: a map string that cannot be parsed stays raw; the event is kept.
#[test]
fn bh28_okta_unparseable_map_string_is_kept_raw() {
    let text = json!({
        "published": "2024-05-01T12:00:00.000Z",
        "eventType": "user.session.start",
        "outcome": {"result": "SUCCESS"},
        "debugContext": {"debugData": {
            "risk": "{no pairs at all}",
            "logOnlySecurityData": "{\"risk\":{\"level\":\"LOW\"}}",
        }},
    })
    .to_string();
    let rows = decode_one(Format::Okta, &text).expect("decodes");
    let r = &rows[0].1;
    assert_eq!(
        r.um("debugContext.debugData.risk"),
        Some("{no pairs at all}")
    );
    assert!(
        !r.unmapped
            .iter()
            .any(|(k, _)| k.starts_with("debugContext.debugData.risk."))
    );
    // A JSON-valued entry is flattened under its key.
    assert_eq!(
        r.um("debugContext.debugData.logOnlySecurityData.risk.level"),
        Some("LOW")
    );
}

/// `user.authentication.auth_via_mfa` says MFA was used; the SSO target
/// app is the service, its SAML sign-on mode the protocol.
#[test]
fn okta_mfa_and_sso_app() {
    let mfa = json!({
        "published": "2024-05-01T12:00:00Z",
        "eventType": "user.authentication.auth_via_mfa",
        "outcome": {"result": "SUCCESS"},
        "actor": {"alternateId": "bob"},
    })
    .to_string();
    let rows = decode_one(Format::Okta, &mfa).expect("decodes");
    assert_eq!(rows[0].1.get("is_mfa"), Some("true"));
    assert_eq!(
        rows[0].1.get("user_email_addr"),
        None,
        "bob is not an address"
    );
    let sso = json!({
        "published": "2024-05-01T12:00:00Z",
        "eventType": "user.authentication.sso",
        "outcome": {"result": "SUCCESS"},
        "target": [{
            "alternateId": "AWS Production",
            "detailEntry": {"signOnModeType": "SAML_2_0"},
            "displayName": "AWS IAM Identity Center",
            "id": "0oaua5ldoougycQAO696",
            "type": "AppInstance",
        }],
    })
    .to_string();
    let rows = decode_one(Format::Okta, &sso).expect("decodes");
    let r = &rows[0].1;
    assert_eq!(r.get("service_name"), Some("AWS IAM Identity Center"));
    assert_eq!(r.get("service_uid"), Some("0oaua5ldoougycQAO696"));
    assert_eq!(
        (r.get("auth_protocol"), r.get("auth_protocol_id")),
        (Some("SAML"), Some("5"))
    );
}

/// Every Panther Okta rule test decodes except six that are not valid
/// Okta events, and those say why: two whose `log` holds only Panther
/// enrichment (`p_*` keys, no event at all) and four whose `published` is
/// the word `redacted` (a present but unreadable time is an error by the
/// decoder contract). Counted from the file's `eventType` / `eventtype`
/// values: sign-ins are user.session.start 26, auth_via_mfa 5,
/// policy.evaluate_sign_on 5, sso 3, auth_via_IDP 1 = 40, less the four
/// redacted user.session.start = 36; the other 46 events are base events.
#[test]
fn panther_okta_rule_tests_decode() {
    let logs = panther_logs("labeled/panther_rule_tests/okta_systemlog.jsonl");
    assert_eq!(logs.len(), 88);
    let (mut auth, mut base, mut stubs, mut redacted) = (0, 0, 0, 0);
    for (name, log) in &logs {
        let text = log.to_string();
        let e = match decode_one(Format::Okta, &text) {
            Ok(rows) => {
                assert_eq!(rows.len(), 1, "{name}");
                match rows[0].0 {
                    Class::Authentication => auth += 1,
                    _ => base += 1,
                }
                continue;
            }
            Err(e) => e.to_string(),
        };
        let only_panther = log
            .as_object()
            .is_some_and(|m| m.keys().all(|k| k.starts_with("p_")));
        if only_panther {
            assert_eq!(e, "shape: okta event has no eventType", "{name}");
            stubs += 1;
        } else {
            assert_eq!(log["published"], "redacted", "{name}: {e}");
            assert_eq!(e, r#"value of published: not a timestamp: "redacted""#);
            redacted += 1;
        }
    }
    assert_eq!((auth, base, stubs, redacted), (36, 46, 2, 4));
}

#[test]
fn okta_wrong_shapes_say_what_is_wrong() {
    let cases = [
        (
            r#"{"published":"2024-05-01T12:00:00Z","outcome":{}}"#,
            "shape: okta event has no eventType",
        ),
        (
            r#"{"eventType":"user.session.start","published":"yesterday"}"#,
            r#"value of published: not a timestamp: "yesterday""#,
        ),
        (
            r#"{"eventType":7,"published":"2024-05-01T12:00:00Z"}"#,
            "value of eventType: expected the event type as text, found 7",
        ),
        (
            "[1, 2]",
            "shape: expected a JSON object (an Okta System Log event)",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(error_of(Format::Okta, text), want, "{text}");
    }
    assert!(error_of(Format::Okta, "{\"eventType\":").starts_with("syntax: invalid JSON"));
}

// ---- Entra ID ---------------------------------------------------------------

/// SOURCES.md: 4 audit rows (app credential added, delegated permission
/// granted), 13:25-13:29Z. Operations and initiator read from the file.
#[test]
fn entra_golden_saml_audit_rows() {
    let d = decode_path(
        &data("auth/entra_m365/GoldenSAMLADFSMailAccess_AADAuditEvents.json"),
        None,
    );
    assert_eq!(d.format, Some(Format::Entra));
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert_eq!(
        (d.count(Class::BaseEvent), d.count(Class::Authentication)),
        (4, 0)
    );
    let ops: Vec<Option<&str>> = d.col(Class::BaseEvent, "api_operation");
    let creds = Some("Update application – Certificates and secrets management ");
    let want = [
        creds,
        creds,
        Some("Update application"),
        Some("Add delegated permission grant"),
    ];
    assert_eq!(ops, want);
    let r = d.of(Class::BaseEvent)[3];
    assert_eq!(r.get("actor_user_name"), Some("pgustavo@simulandlabs.com"));
    assert_eq!(r.get("time"), Some("2021-08-02T13:27:20.017Z"));
    assert_eq!(r.get("metadata_log_name"), Some("AuditLogs"));
    assert_eq!(r.get("api_service_name"), Some("Core Directory"));
    assert_eq!(
        (r.get("status_id"), r.get("status")),
        (Some("1"), Some("success"))
    );
    // InitiatedBy is JSON text in Sentinel rows: kept as written and flattened.
    assert!(
        r.um("InitiatedBy")
            .is_some_and(|s| s.starts_with("{\"user\""))
    );
    assert_eq!(
        r.um("InitiatedBy.user.userPrincipalName"),
        Some("pgustavo@simulandlabs.com")
    );
    assert_eq!(
        r.um("TargetResources.0.displayName"),
        Some("Microsoft Graph")
    );
}

/// The Defender and Office 365 files are not Entra: they fall to the
/// generic JSON decoder, every record a base event (SOURCES.md: 9 and 1).
#[test]
fn m365_defender_and_office_files_fall_to_generic_json() {
    let cases = [
        (
            "GoldenSAMLADFSMailAccess_Microsoft365DefenderEvents.json",
            9,
        ),
        ("GoldenSAMLADFSMailAccess_OfficeActivityEvents.json", 1),
    ];
    for (file, n) in cases {
        let d = decode_path(&data(&format!("auth/entra_m365/{file}")), None);
        assert_eq!(d.format, Some(Format::Json), "{file}");
        assert!(d.dead.is_empty(), "{file}: {:?}", d.dead);
        assert_eq!(d.count(Class::BaseEvent), n, "{file}");
        assert_eq!(d.rows.len(), n, "{file}");
        assert_eq!(d.stats.time_missing, 0, "{file}");
    }
}

/// BH-29, both records in one NDJSON input, sniffed as Entra.
#[test]
fn bh29_entra_event_time_string_numbers_and_pascal_case() {
    let d = decode_path(&fixture("bh29_entra_sign_ins.ndjson"), None);
    assert_eq!(d.format, Some(Format::Entra));
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    let rows = d.of(Class::Authentication);
    assert_eq!(rows.len(), 2);

    let r = rows[0];
    assert_eq!(
        r.get("time"),
        Some("2025-11-14T01:47:10.123456Z"),
        "createdDateTime, to the µs"
    );
    assert_eq!(
        r.get("metadata_original_time"),
        Some("2025-11-14T01:47:10.1234567Z")
    );
    assert_eq!(
        r.um("time"),
        Some("11/14/2025 1:48:53 AM"),
        "processing time kept as written"
    );
    assert_eq!(r.um("durationMs"), Some("0"));
    assert_eq!(r.get("user_name"), Some("alice@example.com"));
    assert_eq!(r.get("src_endpoint_ip"), Some("203.0.113.77"));
    assert_eq!(
        (r.get("status_id"), r.get("status")),
        (Some("2"), Some("Failure"))
    );
    assert_eq!(r.get("status_code"), Some("50126"));
    assert_eq!(r.um("resultType"), Some("50126"));
    assert_eq!(r.um("properties.status.errorCode"), Some("50126"));
    assert_eq!(
        r.get("status_detail"),
        Some("Invalid username or password.")
    );
    assert_eq!(
        r.get("metadata_uid"),
        Some("00000000-0000-4000-8000-000000000020")
    );

    let r = rows[1];
    assert_eq!(r.get("time"), Some("2025-07-01T10:45:17.582421Z"));
    assert_eq!(r.um("DurationMs"), Some("0"));
    assert_eq!(r.get("user_name"), Some("app-a"));
    assert_eq!(r.get("user_type"), Some("ServicePrincipal"));
    assert_eq!(
        r.get("user_uid"),
        Some("00000000-0000-4000-8000-000000000022")
    );
    assert_eq!(r.get("src_endpoint_ip"), Some("192.0.2.60"));
    assert_eq!(
        (r.get("status_id"), r.get("status_code")),
        (Some("1"), Some("0"))
    );
    assert_eq!(
        r.get("metadata_log_name"),
        Some("ServicePrincipalSignInLogs")
    );
}

/// BH-29: the US 12-hour `time` parses (as UTC) when it is the only time.
#[test]
fn bh29_entra_us_twelve_hour_time_parses() {
    let record = |time: &str| {
        json!({
            "time": time,
            "category": "SignInLogs",
            "resultType": "0",
            "properties": {"userPrincipalName": "alice@example.com"},
        })
        .to_string()
    };
    let cases = [
        ("11/14/2025 1:48:53 AM", "2025-11-14T01:48:53Z"),
        ("11/14/2025 1:48:53 PM", "2025-11-14T13:48:53Z"),
        ("11/14/2025 12:05:00 AM", "2025-11-14T00:05:00Z"),
    ];
    for (time, want) in cases {
        let rows = decode_one(Format::Entra, &record(time)).expect("decodes");
        assert_eq!(rows[0].1.get("time"), Some(want), "{time}");
        assert_eq!(rows[0].1.get("metadata_original_time"), Some(time));
    }
}

/// Sign-in location, MFA, device and app from a Panther sign-in (values
/// read from the file's "Sign-In with legacy auth" test).
#[test]
fn entra_sign_in_details() {
    let logs = panther_logs("labeled/panther_rule_tests/azure_signin_and_audit.jsonl");
    let (_, log) = logs
        .iter()
        .find(|(n, _)| n == "Sign-In with legacy auth")
        .expect("test present");
    let rows = decode_one(Format::Entra, &log.to_string()).expect("decodes");
    let r = &rows[0].1;
    assert_eq!(rows[0].0, Class::Authentication);
    assert_eq!(r.get("time"), Some("2023-07-21T05:03:52.160562Z"));
    assert_eq!(r.get("src_endpoint_location_country"), Some("US"));
    assert_eq!(r.get("src_endpoint_location_city"), Some("Springfield"));
    assert_eq!(r.get("is_mfa"), Some("false"));
    assert_eq!(r.get("service_name"), Some("Office 365 Exchange Online"));
    assert_eq!(r.get("auth_protocol"), Some("rpoc"));
    assert_eq!(r.get("src_endpoint_ip"), Some("12.12.12.12"));
    assert_eq!(r.get("metadata_log_name"), Some("SignInLogs"));
}

/// A Log Analytics `SigninLogs` row, written for this test after the
/// table's documented columns: PascalCase, dynamic columns as JSON text,
/// and `TenantId` naming the workspace while `AADTenantId` names the tenant.
#[test]
fn entra_sentinel_sign_in_row() {
    let row = json!({
        "TenantId": "workspace-0001",
        "TimeGenerated": "2024-03-01T10:00:05Z",
        "OperationName": "Sign-in activity",
        "Category": "SignInLogs",
        "ResultType": "50126",
        "ResultDescription": "Invalid username or password.",
        "CreatedDateTime": "2024-03-01T10:00:00.1234567Z",
        "UserPrincipalName": "bob@example.com",
        "AppDisplayName": "Azure Portal",
        "IPAddress": "203.0.113.9",
        "LocationDetails": "{\"city\":\"Oslo\",\"countryOrRegion\":\"NO\",\
            \"geoCoordinates\":{\"latitude\":59.9,\"longitude\":10.7}}",
        "Status": "{\"errorCode\":50126,\"failureReason\":\"Invalid password.\"}",
        "AuthenticationRequirement": "singleFactorAuthentication",
        "AADTenantId": "tenant-0001",
        "Type": "SigninLogs",
    });
    assert_eq!(classify_json(&row), Format::Entra);
    let rows = decode_one(Format::Entra, &row.to_string()).expect("decodes");
    assert_eq!(rows[0].0, Class::Authentication);
    let r = &rows[0].1;
    let want = [
        ("time", "2024-03-01T10:00:00.123456Z"),
        ("user_name", "bob@example.com"),
        ("status_id", "2"),
        ("status_code", "50126"),
        ("status_detail", "Invalid password."),
        ("src_endpoint_ip", "203.0.113.9"),
        ("src_endpoint_location_city", "Oslo"),
        ("src_endpoint_location_country", "NO"),
        ("src_endpoint_location_lat", "59.9"),
        ("cloud_account_uid", "tenant-0001"),
        ("service_name", "Azure Portal"),
        ("is_mfa", "false"),
        ("metadata_log_name", "SignInLogs"),
    ];
    for (col, v) in want {
        assert_eq!(r.get(col), Some(v), "{col}");
    }
    assert_eq!(r.um("Status.errorCode"), Some("50126"));
    assert!(
        r.um("Status").is_some_and(|s| s.starts_with('{')),
        "kept as written"
    );
}

/// Every Panther Azure rule test decodes. Categories counted in the file:
/// SignInLogs 15 + ServicePrincipalSignInLogs 9 +
/// NonInteractiveUserSignInLogs 3 = 27 sign-ins; AuditLogs 15, Policy 2,
/// DirectoryManagement 2, ApplicationManagement 2 = 21 audits. Each is
/// also sniffed as Entra.
#[test]
fn panther_azure_rule_tests_decode() {
    let logs = panther_logs("labeled/panther_rule_tests/azure_signin_and_audit.jsonl");
    assert_eq!(logs.len(), 48);
    let (mut auth, mut base) = (0, 0);
    for (name, log) in &logs {
        assert_eq!(classify_json(log), Format::Entra, "{name}");
        let rows =
            decode_one(Format::Entra, &log.to_string()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(rows.len(), 1, "{name}");
        let r = &rows[0].1;
        assert!(r.get("time").is_some(), "{name}: no time");
        match rows[0].0 {
            Class::Authentication => {
                auth += 1;
                assert!(r.get("status_id").is_some(), "{name}: no status");
            }
            _ => base += 1,
        }
    }
    assert_eq!((auth, base), (27, 21));
}

/// A Graph API page (`value`) and an Event Hub batch (`records`) give one
/// row per element, each with its own bytes as raw_data.
#[test]
fn entra_wrappers_yield_a_row_per_element() {
    let a = json!({
        "createdDateTime": "2024-01-01T00:00:00Z",
        "userPrincipalName": "a@example.com",
        "ipAddress": "192.0.2.1",
        "status": {"errorCode": 0},
    })
    .to_string();
    let b = json!({
        "activityDateTime": "2024-01-01T00:01:00Z",
        "activityDisplayName": "Add user",
        "initiatedBy": {"user": {"userPrincipalName": "admin@example.com"}},
        "result": "success",
    })
    .to_string();
    for key in ["value", "records"] {
        let text = format!("{{\"{key}\": [{a}, {b}]}}");
        let rows = decode_one(Format::Entra, &text).expect("decodes");
        let classes: Vec<Class> = rows.iter().map(|(c, _)| *c).collect();
        assert_eq!(classes, [Class::Authentication, Class::BaseEvent], "{key}");
        assert_eq!(rows[0].1.get("raw_data"), Some(a.as_str()));
        assert_eq!(rows[1].1.get("raw_data"), Some(b.as_str()));
        assert_eq!(rows[1].1.get("actor_user_name"), Some("admin@example.com"));
        assert_ne!(rows[0].1.get("event_uid"), rows[1].1.get("event_uid"));
    }
}

#[test]
fn entra_wrong_shapes_say_what_is_wrong() {
    let none = "shape: not an Entra record: none of category, Type, operationName, \
                createdDateTime or activityDateTime";
    let cases = [
        (r#"{"foo":1}"#.to_string(), none.to_string()),
        (
            r#"{"category":"SignInLogs","properties":{"createdDateTime":"soon"}}"#.into(),
            r#"value of createdDateTime: not a timestamp: "soon""#.into(),
        ),
        (
            r#"{"value":[{"createdDateTime":"2024-01-01T00:00:00Z","appId":"x"},{"foo":1}]}"#
                .into(),
            format!("shape: value[1]: {}", none.trim_start_matches("shape: ")),
        ),
        (
            "\"text\"".into(),
            "shape: expected a JSON object (an Entra sign-in or audit record)".into(),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(error_of(Format::Entra, &text), want, "{text}");
    }
}

/// looks_like must not claim the other identity formats' records.
#[test]
fn entra_sniffing_does_not_claim_okta_cloudtrail_or_windows() {
    let files = [
        (
            "auth/okta/panther_scenario_okta-add-administrator_1_legit_login.jsonl",
            Format::Okta,
        ),
        (
            "auth/aws_cloudtrail/ec2_proxy_s3_exfiltration_2020-09-14011940.json",
            Format::CloudTrail,
        ),
        (
            "auth/windows_json/GoldenSAMLADFSMailAccess_WindowsEvents.json",
            Format::WindowsSentinel,
        ),
        (
            "auth/entra_m365/GoldenSAMLADFSMailAccess_Microsoft365DefenderEvents.json",
            Format::Json,
        ),
    ];
    for (file, want) in files {
        let text = std::fs::read_to_string(data(file)).expect("read");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).expect("json line");
            assert!(!vigil_ingest::formats::entra::looks_like(&v), "{file}");
            assert_eq!(classify_json(&v), want, "{file}");
        }
    }
}

// ---- CloudTrail -------------------------------------------------------------

/// SOURCES.md: 103 records, 2020-09-14T00:44-01:13Z. Counted in the file:
/// 5 AssumeRole by the EC2 service (authentication), 98 other calls: 87
/// by IAM user pedro, 11 by the stolen instance-role session
/// i-0317f6c6b66ae9c40. No record has eventTime; all have @timestamp.
#[test]
fn cloudtrail_mordor_exfiltration_file() {
    let d = decode_path(
        &data("auth/aws_cloudtrail/ec2_proxy_s3_exfiltration_2020-09-14011940.json"),
        None,
    );
    assert_eq!(d.format, Some(Format::CloudTrail));
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    assert_eq!(d.stats.records, 103);
    assert_eq!(
        (d.count(Class::Authentication), d.count(Class::BaseEvent)),
        (5, 98)
    );
    assert_eq!(d.stats.time_missing, 0);
    for r in d.of(Class::Authentication) {
        assert_eq!(r.get("api_operation"), Some("AssumeRole"));
        assert_eq!(r.get("activity_id"), Some("3"));
        assert_eq!(r.get("user_name"), Some("ec2.amazonaws.com"));
        assert_eq!(r.get("user_type"), Some("AWSService"));
        assert_eq!(r.get("src_endpoint_hostname"), Some("ec2.amazonaws.com"));
        assert_eq!(r.get("src_endpoint_ip"), None);
        assert_eq!(r.get("status_id"), Some("1"));
    }
    let mut actors: BTreeMap<&str, usize> = BTreeMap::new();
    for a in d.col(Class::BaseEvent, "actor_user_name") {
        *actors.entry(a.unwrap_or("-")).or_default() += 1;
    }
    let want = BTreeMap::from([("i-0317f6c6b66ae9c40", 11), ("pedro", 87)]);
    assert_eq!(actors, want);
    let first = d.of(Class::BaseEvent)[0];
    let want = [
        ("time", "2020-09-14T00:44:23Z"),
        ("api_operation", "DescribeInstanceTypes"),
        ("api_service_name", "ec2.amazonaws.com"),
        ("metadata_uid", "fd4f1042-c7f6-4107-a6ee-d841d92596e7"),
        ("cloud_account_uid", "123456789123"),
        ("src_endpoint_ip", "1.2.3.4"),
        ("metadata_product_name", "CloudTrail"),
        ("metadata_log_name", "AwsApiCall"),
    ];
    for (col, v) in want {
        assert_eq!(first.get(col), Some(v), "{col}");
    }
    assert_eq!(
        first.um("cloud_region"),
        Some("us-east-1"),
        "base events keep it unmapped"
    );
    assert_eq!(
        first.um("userIdentity.sessionContext.attributes.mfaAuthenticated"),
        Some("true")
    );
}

/// BH-26: null and missing optional fields decode; values from the case.
#[test]
fn bh26_cloudtrail_nulls_and_missing_optional_fields() {
    let d = decode_path(&fixture("bh26_cloudtrail_nulls.ndjson"), None);
    assert_eq!(d.format, Some(Format::CloudTrail));
    assert!(d.dead.is_empty(), "{:?}", d.dead);

    let r1 = d.of(Class::BaseEvent);
    assert_eq!(r1.len(), 1);
    let r1 = r1[0];
    assert_eq!(
        r1.get("actor_user_name"),
        Some("alice"),
        "the assumed role's session name"
    );
    assert_eq!(r1.get("src_endpoint_ip"), Some("192.0.2.30"));
    assert_eq!(r1.get("api_operation"), Some("ListInstanceAssociations"));
    assert_eq!(r1.get("status_id"), Some("1"));
    let nulls = ["requestParameters", "responseElements"];
    assert!(
        !r1.unmapped
            .iter()
            .any(|(k, _)| nulls.iter().any(|n| k.starts_with(n)))
    );

    let r2 = d.of(Class::Authentication);
    assert_eq!(r2.len(), 1);
    let r2 = r2[0];
    assert_eq!(r2.get("user_name"), Some("alice"));
    assert_eq!(
        (r2.get("status_id"), r2.get("status")),
        (Some("1"), Some("Success"))
    );
    assert_eq!(r2.get("api_request_uid"), None);
    assert_eq!(r2.get("cloud_account_uid"), None);
    assert_eq!(r2.um("recipientAccountId"), None);
    assert_eq!(
        r2.um("additionalEventData.SwitchTo"),
        Some("arn:aws:iam::210987654321:role/role-b")
    );
    assert_eq!(r2.get("src_endpoint_ip"), Some("198.51.100.44"));
    assert_eq!(r2.get("activity_id"), Some("1"));
}

/// Every Panther ConsoleLogin rule test decodes as authentication.
/// Counted in the file: responseElements.ConsoleLogin Success 23,
/// Failure 7, absent 2 (status unknown). MFA: additionalEventData.MFAUsed
/// is Yes in 5 tests, and one test without MFAUsed has a session with
/// mfaAuthenticated true ("No MFA - authenticated from session with MFA").
#[test]
fn panther_cloudtrail_console_logins_decode() {
    let logs = panther_logs("labeled/panther_rule_tests/aws_cloudtrail_consolelogin.jsonl");
    assert_eq!(logs.len(), 32);
    let mut status: BTreeMap<String, usize> = BTreeMap::new();
    let mut mfa = 0;
    for (name, log) in &logs {
        let rows = decode_one(Format::CloudTrail, &log.to_string())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(rows.len(), 1, "{name}");
        assert_eq!(rows[0].0, Class::Authentication, "{name}");
        let r = &rows[0].1;
        *status
            .entry(r.get("status").unwrap_or("-").to_string())
            .or_default() += 1;
        mfa += usize::from(r.get("is_mfa") == Some("true"));
    }
    let want = BTreeMap::from([
        ("-".to_string(), 2),
        ("Failure".into(), 7),
        ("Success".into(), 23),
    ]);
    assert_eq!(status, want);
    assert_eq!(mfa, 6);
}

/// The "Successful Login w/ MFA" test: MFA, user and failure detail.
#[test]
fn cloudtrail_console_login_fields() {
    let logs = panther_logs("labeled/panther_rule_tests/aws_cloudtrail_consolelogin.jsonl");
    let find = |n: &str| {
        logs.iter()
            .find(|(t, _)| t == n)
            .map(|(_, l)| l.to_string())
            .expect("test present")
    };
    let rows = decode_one(Format::CloudTrail, &find("Successful Login w/ MFA")).expect("decodes");
    let r = &rows[0].1;
    assert_eq!(r.get("is_mfa"), Some("true"));
    assert_eq!(r.get("user_name"), Some("anaya"));
    assert_eq!(r.get("user_uid"), Some("AIDACKCEVSQ6C2EXAMPLE"));
    assert_eq!(r.get("time"), Some("2022-11-10T16:24:34Z"));
    let rows = decode_one(Format::CloudTrail, &find("Unsuccessful Login w/ MFA")).expect("decodes");
    let r = &rows[0].1;
    assert_eq!(
        (r.get("status_id"), r.get("status_detail")),
        (Some("2"), Some("Failed authentication"))
    );
    let rows = decode_one(Format::CloudTrail, &find("Login with SAML")).expect("decodes");
    assert_eq!(rows[0].1.get("auth_protocol_id"), Some("5"));
    assert_eq!(rows[0].1.get("is_mfa"), Some("false"));
}

/// A `Records` file: one row per element, each with its own bytes.
#[test]
fn cloudtrail_records_file_yields_a_row_per_element() {
    let a = json!({
        "eventVersion": "1.08",
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "eventTime": "2024-01-01T00:00:00Z",
        "responseElements": {"ConsoleLogin": "Failure"},
        "userIdentity": {"type": "Root", "arn": "arn:aws:iam::123456789012:root"},
    })
    .to_string();
    let b = json!({
        "eventVersion": "1.08",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "eventTime": "2024-01-01T00:00:01Z",
        "errorCode": "AccessDenied",
        "sourceIPAddress": "AWS Internal",
    })
    .to_string();
    let d = decode_text(&format!("{{\"Records\": [\n{a},\n{b}\n]}}\n"));
    assert_eq!(d.format, Some(Format::CloudTrail));
    assert!(d.dead.is_empty(), "{:?}", d.dead);
    let (auth, base) = (d.of(Class::Authentication), d.of(Class::BaseEvent));
    assert_eq!((auth.len(), base.len()), (1, 1));
    assert_eq!(auth[0].get("raw_data"), Some(a.as_str()));
    assert_eq!(auth[0].get("user_name"), Some("root"));
    assert_eq!(auth[0].get("status_id"), Some("2"));
    assert_eq!(base[0].get("raw_data"), Some(b.as_str()));
    assert_eq!(
        (base[0].get("status_id"), base[0].get("status_code")),
        (Some("2"), Some("AccessDenied"))
    );
    assert_eq!(base[0].um("src_endpoint_hostname"), Some("AWS Internal"));
    assert_eq!(base[0].get("src_endpoint_ip"), None);
}

#[test]
fn cloudtrail_wrong_shapes_say_what_is_wrong() {
    let good = r#"{"eventName":"GetObject","eventTime":"2024-01-01T00:00:00Z"}"#;
    let cases = [
        (
            r#"{"eventTime":"2024-01-01T00:00:00Z"}"#.to_string(),
            "shape: cloudtrail record has no eventName",
        ),
        (
            r#"{"eventName":"GetObject","eventTime":"last tuesday"}"#.into(),
            r#"value of eventTime: not a timestamp: "last tuesday""#,
        ),
        (
            r#"{"eventName":["x"]}"#.into(),
            r#"value of eventName: expected the API call's name as text, found ["x"]"#,
        ),
        (
            format!(r#"{{"Records":[{good},{{"eventTime":"2024-01-01T00:00:00Z"}}]}}"#),
            "shape: Records[1]: cloudtrail record has no eventName",
        ),
        (
            format!(r#"{{"Records":[{good},{{"eventName":"x","eventTime":"?"}}]}}"#),
            r#"value of Records[1].eventTime: not a timestamp: "?""#,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(error_of(Format::CloudTrail, &text), want, "{text}");
    }
}
