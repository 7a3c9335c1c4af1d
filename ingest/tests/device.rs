//! Device posture decoders over real and written sample data: osquery
//! result and status logs (shared/data, edge case BH-30) and MDM
//! `managedDevice` records (fixtures written from the Graph schema, see
//! tests/fixtures/mdm/README.md).

use std::io::Write;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use chrono::{DateTime, Utc};
use vigil_ingest::decode::{DecodeConfig, DecodeError, Record};
use vigil_ingest::emit::Emitter;
use vigil_ingest::read::{self, DeadLetter, Output, ReadOptions};
use vigil_ingest::{Format, source};
use vigil_schemas::Class;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mdm/");

/// Everything one input produced.
struct Run {
    format: Option<Format>,
    batches: Vec<(Class, RecordBatch)>,
    dead: Vec<DeadLetter>,
}

impl Run {
    /// The one batch of `class` (test inputs are far below a batch's size).
    fn class(&self, class: Class) -> RecordBatch {
        let mut parts = self.batches.iter().filter(|(c, _)| *c == class);
        let first = parts.next().map(|(_, b)| b.clone());
        assert!(
            parts.next().is_none(),
            "more than one {} batch",
            class.name()
        );
        first.unwrap_or_else(|| RecordBatch::new_empty(class.schema()))
    }
}

fn read_path(path: &Path, format: Option<Format>) -> Run {
    assert!(
        path.exists(),
        "test data missing: {} (see shared/data/SOURCES.md)",
        path.display()
    );
    let counter = source::ByteCounter::default();
    let input = source::open(path, &counter).expect("open test data");
    let opts = ReadOptions {
        format,
        ..ReadOptions::default()
    };
    let mut batches = Vec::new();
    let mut dead = Vec::new();
    let (format, _) = read::read_input(input, &opts, &mut |o| match o {
        Output::Batch(c, b) => batches.push((c, b)),
        Output::DeadLetter(d) => dead.push(d),
    });
    Run {
        format,
        batches,
        dead,
    }
}

/// Decode each line of `text` with `format`'s decoder, keeping the errors.
fn decode_lines(format: Format, text: &str) -> (Run, Vec<DecodeError>) {
    let mut dec = format.decoder(&DecodeConfig::default());
    let mut em = Emitter::new(format.name(), "inline", Utc::now().timestamp_micros());
    let mut errors = Vec::new();
    let mut offset = 0;
    for (i, line) in text.lines().enumerate() {
        let rec = Record {
            text: line,
            line: i as u64 + 1,
            offset,
        };
        offset += line.len() as u64 + 1;
        if let Err(e) = dec.decode(&rec, &mut em) {
            errors.push(e);
        }
    }
    let run = Run {
        format: Some(format),
        batches: em.flush(),
        dead: Vec::new(),
    };
    (run, errors)
}

fn col<'a>(b: &'a RecordBatch, name: &str) -> &'a dyn Array {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_ref()
}

fn text(b: &RecordBatch, name: &str, row: usize) -> Option<String> {
    let a = col(b, name).as_string::<i32>();
    (!a.is_null(row)).then(|| a.value(row).to_string())
}

fn flag(b: &RecordBatch, name: &str, row: usize) -> Option<bool> {
    let a = col(b, name).as_boolean();
    (!a.is_null(row)).then(|| a.value(row))
}

fn int32(b: &RecordBatch, name: &str, row: usize) -> Option<i32> {
    let a = col(b, name).as_primitive::<Int32Type>();
    (!a.is_null(row)).then(|| a.value(row))
}

/// A timestamp column as RFC 3339 with as many fraction digits as needed.
fn time(b: &RecordBatch, name: &str, row: usize) -> Option<String> {
    let a = col(b, name).as_primitive::<TimestampMicrosecondType>();
    (!a.is_null(row)).then(|| {
        let t = DateTime::from_timestamp_micros(a.value(row)).expect("in range");
        t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    })
}

/// The `unmapped` map of a row, in source order.
fn unmapped(b: &RecordBatch, row: usize) -> Vec<(String, String)> {
    let m = col(b, "unmapped").as_map();
    let entries = m.value(row);
    let keys = entries.column(0).as_string::<i32>();
    let values = entries.column(1).as_string::<i32>();
    (0..entries.len())
        .map(|i| (keys.value(i).to_string(), values.value(i).to_string()))
        .collect()
}

fn get(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

// ---------------------------------------------------------------- osquery

#[test]
fn osquery_beats_result_log_decodes_both_lines() {
    let run = read_path(
        &PathBuf::from(DATA).join("device/osquery/beats_osquery_result_test.log"),
        None,
    );
    assert_eq!(run.format, Some(Format::Osquery));
    assert!(run.dead.is_empty(), "dead letters: {:?}", run.dead);
    let b = run.class(Class::DevicePosture);
    assert_eq!(b.num_rows(), 2);

    // Line 1, read off the file: hostIdentifier, decorations.host_uuid,
    // unixTime 1514472008 = 2017-12-28T14:40:08Z.
    assert_eq!(
        text(&b, "device_hostname", 0).as_deref(),
        Some("192-168-0-4.rdsnet.ro")
    );
    assert_eq!(
        text(&b, "device_uid", 0).as_deref(),
        Some("4AB2906D-5516-5794-AF54-86D1D7F533F3")
    );
    assert_eq!(
        text(&b, "query_name", 0).as_deref(),
        Some("pack_it-compliance_mounts")
    );
    assert_eq!(text(&b, "action", 0).as_deref(), Some("removed"));
    assert_eq!(time(&b, "time", 0).as_deref(), Some("2017-12-28T14:40:08Z"));
    assert_eq!(
        text(&b, "metadata_original_time", 0).as_deref(),
        Some("Thu Dec 28 14:40:08 2017 UTC")
    );
    assert_eq!(
        text(&b, "metadata_product_name", 0).as_deref(),
        Some("osquery")
    );
    let u = unmapped(&b, 0);
    assert_eq!(get(&u, "path").as_deref(), Some("/private/var/vm"));
    assert_eq!(get(&u, "inodes").as_deref(), Some("9223372036854775807"));
    assert_eq!(get(&u, "type").as_deref(), Some("apfs"));
    assert_eq!(get(&u, "decorations.username").as_deref(), Some("tsg"));
    assert_eq!(get(&u, "counter").as_deref(), Some("1"));

    // Line 2 has neither hostIdentifier nor decorations: still a row.
    assert_eq!(text(&b, "device_hostname", 1), None);
    assert_eq!(text(&b, "device_uid", 1), None);
    assert_eq!(time(&b, "time", 1).as_deref(), Some("2017-12-28T14:40:18Z"));
    assert_eq!(
        get(&unmapped(&b, 1), "blocks").as_deref(),
        Some("122061322")
    );
}

/// The `log` objects of Panther's osquery rule tests, one per line.
fn panther_logs() -> Vec<serde_json::Value> {
    let path = PathBuf::from(DATA).join("labeled/panther_rule_tests/osquery_differential.jsonl");
    let body = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("test data missing: {}: {e}", path.display()));
    body.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("jsonl line");
            v["log"].clone()
        })
        .collect()
}

#[test]
fn osquery_panther_differential_events_keep_every_column() {
    let logs = panther_logs();
    assert_eq!(
        logs.len(),
        37,
        "SOURCES.md: osquery_differential holds 37 events"
    );
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    for l in &logs {
        writeln!(file, "{l}").expect("write");
    }
    // N.B. forced: several events carry no hostIdentifier or time, which
    // content sniffing needs to tell osquery from other JSON.
    let run = read_path(file.path(), Some(Format::Osquery));
    assert!(run.dead.is_empty(), "dead letters: {:?}", run.dead);
    let b = run.class(Class::DevicePosture);
    assert_eq!(b.num_rows(), 37);

    // Expected values come from the events themselves: name, action, and
    // every column under its own name with its text unchanged.
    for (i, log) in logs.iter().enumerate() {
        assert_eq!(
            text(&b, "query_name", i).as_deref(),
            log["name"].as_str(),
            "row {i}"
        );
        assert_eq!(
            text(&b, "action", i).as_deref(),
            log["action"].as_str(),
            "row {i}"
        );
        let u = unmapped(&b, i);
        let columns = log["columns"].as_object().expect("columns");
        for (k, v) in columns {
            let want = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(get(&u, k), Some(want), "row {i} column {k}");
        }
    }
}

/// Edge case BH-30's input, verbatim from edge-cases.md.
const BH30: &str = r#"{"name":"pack_x_procs","hostIdentifier":"host-a","calendarTime":"Fri Nov 22 01:47:25 2019 UTC","unixTime":"1574387245","epoch":"0","counter":"728","numerics":false,"decorations":{"hostname":"host-a"},"columns":{"pid":"4242","name":"sshd","path":"/usr/sbin/sshd","uid":"0"},"action":"added"}
{"name":"pack_x_procs","hostIdentifier":"host-a","calendarTime":"Fri Nov 22 01:47:25 2019 UTC","unixTime":1574387245,"epoch":0,"counter":728,"numerics":true,"decorations":{"hostname":"host-a"},"columns":{"pid":4242,"name":"sshd","path":"/usr/sbin/sshd","uid":0},"action":"added"}
{"name":"pack_x_procs","hostIdentifier":"host-a","calendarTime":"Tue Jan 10 03:53:18 2017 UTC","unixTime":1484020398,"epoch":0,"counter":0,"numerics":true,"decorations":{"hostname":"host-a"},"snapshot":[{"pid":1,"name":"init","path":"/sbin/init","uid":0},{"pid":4242,"name":"sshd","path":"/usr/sbin/sshd","uid":0}],"action":"snapshot"}
{"hostIdentifier":"host-a","calendarTime":"Wed Jun  9 18:29:49 2021 UTC","unixTime":"1623263389","severity":"0","filename":"tls.cpp","line":"254","message":"TLS/HTTPS POST request"}"#;

/// Columns where rows `a` and `b` differ, leaving out the ones that
/// identify the record itself (its text, id and read time).
fn differing(b: &RecordBatch, a: usize, c: usize) -> Vec<String> {
    let mut out = Vec::new();
    for (i, f) in b.schema().fields().iter().enumerate() {
        let same = match f.name().as_str() {
            "raw_data" | "event_uid" | "ingest_time" => true,
            "unmapped" => unmapped(b, a) == unmapped(b, c),
            _ => b.column(i).slice(a, 1).to_data() == b.column(i).slice(c, 1).to_data(),
        };
        if !same {
            out.push(f.name().clone());
        }
    }
    out
}

#[test]
fn bh30_numbers_as_strings_or_numbers_give_identical_rows() {
    let (run, errors) = decode_lines(Format::Osquery, BH30);
    assert!(errors.is_empty(), "{errors:?}");
    let b = run.class(Class::DevicePosture);
    assert_eq!(b.num_rows(), 4, "1 + 1 differential rows, 2 snapshot rows");

    // Records 1 and 2.
    assert_eq!(differing(&b, 0, 1), Vec::<String>::new());
    for row in [0, 1] {
        assert_eq!(
            time(&b, "time", row).as_deref(),
            Some("2019-11-22T01:47:25Z")
        );
        assert_eq!(text(&b, "device_hostname", row).as_deref(), Some("host-a"));
        assert_eq!(text(&b, "action", row).as_deref(), Some("added"));
        let u = unmapped(&b, row);
        assert_eq!(get(&u, "pid").as_deref(), Some("4242"));
        assert_eq!(get(&u, "uid").as_deref(), Some("0"));
        assert_eq!(get(&u, "counter").as_deref(), Some("728"));
    }

    // Record 3: one row per snapshot element.
    for (row, name) in [(2, "init"), (3, "sshd")] {
        assert_eq!(
            time(&b, "time", row).as_deref(),
            Some("2017-01-10T03:53:18Z")
        );
        assert_eq!(text(&b, "action", row).as_deref(), Some("snapshot"));
        assert_eq!(get(&unmapped(&b, row), "name").as_deref(), Some(name));
    }
    assert_eq!(get(&unmapped(&b, 3), "pid").as_deref(), Some("4242"));

    // Record 4: the status log.
    let s = run.class(Class::BaseEvent);
    assert_eq!(s.num_rows(), 1);
    assert_eq!(time(&s, "time", 0).as_deref(), Some("2021-06-09T18:29:49Z"));
    assert_eq!(text(&s, "metadata_log_name", 0).as_deref(), Some("status"));
    assert_eq!(
        text(&s, "message", 0).as_deref(),
        Some("TLS/HTTPS POST request")
    );
    assert_eq!(int32(&s, "severity_id", 0), Some(1));
    let u = unmapped(&s, 0);
    assert_eq!(get(&u, "severity").as_deref(), Some("0"));
    assert_eq!(get(&u, "line").as_deref(), Some("254"));
}

#[test]
fn bh30_space_padded_calendar_time_alone_gives_the_time() {
    let line = concat!(
        r#"{"hostIdentifier":"host-a","calendarTime":"Wed Jun  9 18:29:49 2021 UTC","#,
        r#""severity":0,"filename":"tls.cpp","line":254,"message":"TLS/HTTPS POST request"}"#
    );
    let (run, errors) = decode_lines(Format::Osquery, line);
    assert!(errors.is_empty(), "{errors:?}");
    let s = run.class(Class::BaseEvent);
    assert_eq!(time(&s, "time", 0).as_deref(), Some("2021-06-09T18:29:49Z"));
    assert_eq!(get(&unmapped(&s, 0), "line").as_deref(), Some("254"));
}

#[test]
fn osquery_batch_format_gives_a_row_per_diff_element() {
    let line = concat!(
        r#"{"name":"users","hostIdentifier":"host-b","unixTime":1700000000,"diffResults":"#,
        r#"{"added":[{"username":"eve"},{"username":"mallory"}],"removed":[{"username":"bob"}]}}"#
    );
    let (run, errors) = decode_lines(Format::Osquery, line);
    assert!(errors.is_empty(), "{errors:?}");
    let b = run.class(Class::DevicePosture);
    let got: Vec<(Option<String>, Option<String>)> = (0..b.num_rows())
        .map(|i| (text(&b, "action", i), get(&unmapped(&b, i), "username")))
        .collect();
    let want = [("added", "eve"), ("added", "mallory"), ("removed", "bob")];
    let want: Vec<_> = want
        .iter()
        .map(|(a, u)| (Some(a.to_string()), Some(u.to_string())))
        .collect();
    assert_eq!(got, want);
    assert_eq!(time(&b, "time", 2).as_deref(), Some("2023-11-14T22:13:20Z"));
}

#[test]
fn osquery_wrong_shapes_are_clear_errors_and_write_nothing() {
    let cases = [
        (r#"{"foo":1}"#, "shape: not an osquery log"),
        (r#"[1,2]"#, "shape: expected a JSON object"),
        (
            r#"{"name":"q","columns":"pid=1"}"#,
            "shape: columns is not an object but a string",
        ),
        (
            r#"{"name":"q","snapshot":[{"pid":1},7]}"#,
            "shape: snapshot[1] is not an object but a number",
        ),
        (
            r#"{"name":"q","diffResults":{"added":{"pid":1}}}"#,
            "shape: diffResults.added is not an array but an object",
        ),
        (
            r#"{"name":"q","unixTime":"soon","columns":{}}"#,
            "value of unixTime: not epoch seconds",
        ),
        (
            r#"{"name":"q","calendarTime":"someday","columns":{}}"#,
            "value of calendarTime: not an osquery time",
        ),
        (r#"{"name":"q""#, "syntax: invalid JSON"),
    ];
    for (input, want) in cases {
        let (run, errors) = decode_lines(Format::Osquery, input);
        assert_eq!(errors.len(), 1, "{input}");
        let got = errors[0].to_string();
        assert!(got.starts_with(want), "{input}: got {got:?}, want {want:?}");
        assert!(run.batches.is_empty(), "{input}: rows written");
    }
}

// -------------------------------------------------------------------- MDM

#[test]
fn mdm_single_device_maps_every_posture_field() {
    let run = read_path(&PathBuf::from(FIXTURES).join("single_device.json"), None);
    assert_eq!(run.format, Some(Format::Mdm));
    assert!(run.dead.is_empty(), "dead letters: {:?}", run.dead);
    let b = run.class(Class::DevicePosture);
    assert_eq!(b.num_rows(), 1);

    let want_text = [
        ("device_uid", "0f6c2a4e-1b7d-4c3e-9a51-2d8e7f301a01"),
        ("device_name", "DESKTOP-7QK2M4"),
        ("device_hostname", "DESKTOP-7QK2M4"),
        ("device_os_name", "Windows"),
        ("device_os_version", "10.0.22631.3447"),
        ("device_type", "desktop"),
        ("device_compliance_state", "compliant"),
        ("user_name", "alice@example.com"),
        ("user_email_addr", "alice@example.com"),
        ("metadata_product_name", "Microsoft Intune"),
        ("metadata_log_name", "managedDevice"),
        ("metadata_original_time", "2024-05-01T08:15:42.1234567Z"),
    ];
    for (name, want) in want_text {
        assert_eq!(text(&b, name, 0).as_deref(), Some(want), "{name}");
    }
    assert_eq!(flag(&b, "device_is_compliant", 0), Some(true));
    assert_eq!(flag(&b, "device_is_encrypted", 0), Some(true));
    assert_eq!(
        flag(&b, "device_is_jailbroken", 0),
        None,
        "jailBroken Unknown"
    );
    assert_eq!(flag(&b, "device_is_managed", 0), Some(true));
    // .1234567 s is kept to the microsecond.
    let synced = Some("2024-05-01T08:15:42.123456Z");
    assert_eq!(time(&b, "time", 0).as_deref(), synced);
    assert_eq!(time(&b, "device_last_seen_time", 0).as_deref(), synced);
    assert_eq!(int32(&b, "class_uid", 0), Some(5002));

    let u = unmapped(&b, 0);
    assert_eq!(get(&u, "jailBroken").as_deref(), Some("Unknown"));
    assert_eq!(get(&u, "managementState").as_deref(), Some("managed"));
    assert_eq!(get(&u, "serialNumber").as_deref(), Some("5CG3141XYZ"));
    assert_eq!(
        get(&u, "azureADDeviceId").as_deref(),
        Some("b41f0c6d-2a95-4e73-8d1e-5c7a9f2e0b11")
    );
    assert_eq!(
        get(&u, "deviceHealthAttestationState.bitLockerStatus").as_deref(),
        Some("enabled")
    );
    assert_eq!(
        get(&u, "totalStorageSpaceInBytes").as_deref(),
        Some("510770802688")
    );
    assert_eq!(get(&u, "@odata.context"), None);
    assert_eq!(get(&u, "complianceState"), None, "mapped, not repeated");
}

#[test]
fn mdm_ndjson_devices_give_exact_verdicts() {
    let run = read_path(&PathBuf::from(FIXTURES).join("devices.ndjson"), None);
    assert_eq!(run.format, Some(Format::Mdm));
    assert!(run.dead.is_empty(), "dead letters: {:?}", run.dead);
    let b = run.class(Class::DevicePosture);
    assert_eq!(b.num_rows(), 3);

    // iPhone: noncompliant, jailBroken "True", managed.
    assert_eq!(text(&b, "device_name", 0).as_deref(), Some("Bob's iPhone"));
    assert_eq!(text(&b, "device_type", 0).as_deref(), Some("iPhone"));
    assert_eq!(flag(&b, "device_is_compliant", 0), Some(false));
    assert_eq!(flag(&b, "device_is_jailbroken", 0), Some(true));
    assert_eq!(flag(&b, "device_is_encrypted", 0), Some(true));
    assert_eq!(flag(&b, "device_is_managed", 0), Some(true));
    assert_eq!(time(&b, "time", 0).as_deref(), Some("2024-05-01T07:59:10Z"));
    assert_eq!(
        get(&unmapped(&b, 0), "jailBroken"),
        None,
        "mapped to a boolean"
    );

    // Android kiosk: never synced, unknown compliance, discovered, no user.
    assert_eq!(
        text(&b, "device_compliance_state", 1).as_deref(),
        Some("unknown")
    );
    assert_eq!(flag(&b, "device_is_compliant", 1), None);
    assert_eq!(flag(&b, "device_is_managed", 1), Some(false));
    assert_eq!(flag(&b, "device_is_encrypted", 1), Some(false));
    assert_eq!(time(&b, "device_last_seen_time", 1), None);
    assert_eq!(
        text(&b, "metadata_time_quality", 1).as_deref(),
        Some("missing")
    );
    assert_eq!(text(&b, "user_name", 1), None, "empty userPrincipalName");
    assert_eq!(text(&b, "user_email_addr", 1), None);

    // MacBook: grace period is not compliant; retire pending is leaving.
    assert_eq!(flag(&b, "device_is_compliant", 2), Some(false));
    assert_eq!(flag(&b, "device_is_jailbroken", 2), Some(false));
    assert_eq!(flag(&b, "device_is_encrypted", 2), Some(false));
    assert_eq!(flag(&b, "device_is_managed", 2), Some(false));
    assert_eq!(
        text(&b, "device_os_version", 2).as_deref(),
        Some("14.4.1 (23E224)")
    );
    assert_eq!(time(&b, "time", 2).as_deref(), Some("2024-04-28T22:41:05Z"));
}

#[test]
fn mdm_list_response_gives_a_row_per_device_with_its_own_raw_data() {
    let run = read_path(&PathBuf::from(FIXTURES).join("list_response.json"), None);
    assert_eq!(run.format, Some(Format::Mdm));
    assert!(run.dead.is_empty(), "dead letters: {:?}", run.dead);
    let b = run.class(Class::DevicePosture);
    assert_eq!(b.num_rows(), 3);

    let ids = [
        "d2e4f6a8-1c3b-4d5e-8f70-a1b2c3d4e505",
        "e3f5a7b9-2d4c-4e6f-9081-b2c3d4e5f606",
        "f4a6b8c0-3e5d-4f70-a192-c3d4e5f6a707",
    ];
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(text(&b, "device_uid", i).as_deref(), Some(*id));
        let raw = text(&b, "raw_data", i).expect("raw_data");
        let v: serde_json::Value = serde_json::from_str(&raw).expect("raw_data is one device");
        assert_eq!(v["id"].as_str(), Some(*id));
        assert!(!raw.contains("@odata.nextLink"), "row {i} holds the page");
    }
    let uids: std::collections::BTreeSet<_> = (0..3).map(|i| text(&b, "event_uid", i)).collect();
    assert_eq!(uids.len(), 3, "event ids differ per device");

    // error -> false; configManager -> null; conflict -> false.
    assert_eq!(flag(&b, "device_is_compliant", 0), Some(false));
    assert_eq!(flag(&b, "device_is_compliant", 1), None);
    assert_eq!(flag(&b, "device_is_compliant", 2), Some(false));
    // 05:30 at +02:00 is 03:30 UTC.
    assert_eq!(time(&b, "time", 1).as_deref(), Some("2024-05-01T03:30:00Z"));
    assert_eq!(flag(&b, "device_is_managed", 2), Some(false), "wipe issued");
    assert_eq!(text(&b, "device_os_name", 2).as_deref(), Some("iPadOS"));
}

#[test]
fn mdm_wrong_shapes_are_clear_errors_and_write_nothing() {
    let cases = [
        (
            r#"{"deviceName":"x","operatingSystem":"Windows"}"#,
            "shape: id is missing: not a managedDevice",
        ),
        (r#"{"id":42}"#, "shape: id is not a string"),
        (r#"{"value":3}"#, "shape: value is not an array"),
        (
            r#"{"value":[{"id":"a"},5]}"#,
            "shape: value[1].managedDevice is not an object",
        ),
        (r#""device""#, "shape: expected a managedDevice object"),
        (
            r#"{"id":"a","isEncrypted":"maybe"}"#,
            "value of isEncrypted: expected true or false, got \"maybe\"",
        ),
        (
            r#"{"value":[{"id":"a","lastSyncDateTime":"yesterday"}]}"#,
            "value of value[0].lastSyncDateTime: not an ISO 8601 time",
        ),
        (
            r#"{"id":"a","complianceState":1}"#,
            "value of complianceState",
        ),
        (r#"{"id":"a","jailBroken":[]}"#, "value of jailBroken"),
    ];
    for (input, want) in cases {
        let (run, errors) = decode_lines(Format::Mdm, input);
        assert_eq!(errors.len(), 1, "{input}");
        let got = errors[0].to_string();
        assert!(got.starts_with(want), "{input}: got {got:?}, want {want:?}");
        assert!(run.batches.is_empty(), "{input}: rows written");
    }
}

#[test]
fn mdm_empty_list_response_is_no_rows_and_no_error() {
    let (run, errors) = decode_lines(Format::Mdm, r#"{"@odata.context":"x","value":[]}"#);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(run.batches.is_empty());
}
