//! The Windows decoders over the shared sample data (`shared/data/auth`),
//! read end to end through `source::open` and `read::read_input` as the
//! CLI reads them: sniffing, framing (JSON values, binary EVTX through the
//! `evtx` crate), decoding, batches and dead letters.
//!
//! Expected values come from `shared/data/SOURCES.md` (record counts per
//! event ID, the password spray and Kerberoast answers), from chainsaw's
//! rendering of the EVTX sample, or were counted by hand from the files as
//! each test says.

use std::collections::BTreeMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use serde_json::Value;
use vigil_ingest::Format;
use vigil_ingest::emit::FormatStats;
use vigil_ingest::read::{self, DeadLetter, Output, ReadOptions};
use vigil_ingest::source;
use vigil_schemas::Class;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/auth");
const PURPLESHARP: &str =
    "windows_json/purplesharp_ad_playbook_I_2020-10-22042947.security_auth.json";
const EMPIRE: &str = "windows_json/empire_shell_rubeus_asktgt_ptt_2020-09-21223848.json";
const GOLDEN_SAML: &str = "windows_json/GoldenSAMLADFSMailAccess_WindowsEvents.json";
const EVTX: &str = "evtx/chainsaw_security_sample.evtx";
const EVTX_4624: &str = "evtx/chainsaw_security_sample.search_4624.expected.jsonl";

/// One decoded row: its class, every non-null column as text (times as
/// RFC 3339 UTC), and the `unmapped` entries in order.
#[derive(Debug)]
struct Row {
    class: Class,
    cols: BTreeMap<String, String>,
    unmapped: Vec<(String, String)>,
}

impl Row {
    fn col(&self, name: &str) -> Option<&str> {
        self.cols.get(name).map(String::as_str)
    }

    fn un(&self, key: &str) -> Option<&str> {
        let mut hits = self.unmapped.iter().filter(|(k, _)| k == key);
        let first = hits.next().map(|(_, v)| v.as_str());
        assert!(hits.next().is_none(), "unmapped key {key} is repeated");
        first
    }

    fn code(&self) -> &str {
        self.col("metadata_event_code").unwrap_or("")
    }
}

/// What one input gave.
struct Read {
    format: Option<Format>,
    stats: FormatStats,
    rows: Vec<Row>,
    dead: Vec<DeadLetter>,
}

impl Read {
    /// Rows written per class table, and dead letters, as the run counted.
    fn counts(&self) -> (Vec<(&'static str, u64)>, u64) {
        let rows = self.stats.rows.iter().map(|(k, v)| (*k, *v)).collect();
        (rows, self.stats.dead_letters)
    }

    fn with_code<'a>(&'a self, code: &'a str) -> impl Iterator<Item = &'a Row> + 'a {
        self.rows.iter().filter(move |r| r.code() == code)
    }
}

/// Read a file under `shared/data/auth` as the CLI would.
fn read_sample(rel: &str) -> Read {
    read_path(&format!("{DATA}/{rel}"))
}

/// Read a file as the CLI would; a missing file fails the test.
fn read_path(path: &str) -> Read {
    let counter = source::ByteCounter::default();
    let input = source::open(path.as_ref(), &counter)
        .unwrap_or_else(|e| panic!("sample data missing or unreadable: {path}: {e}"));
    let mut rows = Vec::new();
    let mut dead = Vec::new();
    let (format, stats) = read::read_input(input, &ReadOptions::default(), &mut |o| match o {
        Output::Batch(class, batch) => rows.extend(rows_of(class, &batch)),
        Output::DeadLetter(d) => dead.push(d),
    });
    Read {
        format,
        stats,
        rows,
        dead,
    }
}

fn rows_of(class: Class, batch: &RecordBatch) -> Vec<Row> {
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|i| {
            let mut row = Row {
                class,
                cols: BTreeMap::new(),
                unmapped: Vec::new(),
            };
            for (f, col) in schema.fields().iter().zip(batch.columns()) {
                if f.name() == "unmapped" {
                    row.unmapped = map_entries(col.as_ref(), i);
                } else if let Some(v) = cell(col.as_ref(), i) {
                    row.cols.insert(f.name().clone(), v);
                }
            }
            row
        })
        .collect()
}

fn cell(col: &dyn Array, i: usize) -> Option<String> {
    if col.is_null(i) {
        return None;
    }
    Some(match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().value(i).to_string(),
        DataType::Int32 => col.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::Int64 => col.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::Float64 => col.as_primitive::<Float64Type>().value(i).to_string(),
        DataType::Boolean => col.as_boolean().value(i).to_string(),
        DataType::Timestamp(..) => {
            let us = col.as_primitive::<TimestampMicrosecondType>().value(i);
            let t = chrono::DateTime::from_timestamp_micros(us).expect("time in range");
            t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        }
        other => panic!("unexpected column type {other}"),
    })
}

fn map_entries(col: &dyn Array, i: usize) -> Vec<(String, String)> {
    let entries = col.as_map().value(i);
    let keys = entries.column(0).as_string::<i32>();
    let values = entries.column(1).as_string::<i32>();
    (0..keys.len())
        .map(|j| (keys.value(j).to_string(), values.value(j).to_string()))
        .collect()
}

/// Every row's raw record, EventID and time are what the source says, and
/// no field got lost: a sanity pass shared by the file tests.
fn check_every_row(r: &Read) {
    for row in &r.rows {
        let raw = row.col("raw_data").expect("raw_data");
        let v: Value = serde_json::from_str(raw).expect("raw_data is the JSON record");
        let id = v
            .pointer("/Event/System/EventID")
            .or_else(|| v.get("EventID"))
            .expect("EventID in the record");
        let id = id.get("#text").unwrap_or(id);
        let id = id
            .as_u64()
            .map(|n| n.to_string())
            .or(id.as_str().map(String::from));
        assert_eq!(row.un("EventID"), id.as_deref(), "{raw}");
        assert_eq!(Some(row.code()), id.as_deref(), "{raw}");
        assert!(row.col("time").is_some(), "no time: {raw}");
        assert!(row.col("metadata_product_name").is_some(), "{raw}");
        assert!(row.col("metadata_log_name").is_some(), "{raw}");
    }
}

// --- purplesharp: NXLog flat JSON, Security channel only ------------------

#[test]
fn purplesharp_counts_per_class() {
    let r = read_sample(PURPLESHARP);
    assert_eq!(r.format, Some(Format::WindowsJson));
    assert_eq!(r.stats.records, 154);
    assert!(r.dead.is_empty(), "{:?}", r.dead);
    // SOURCES.md: 4624×49, 4672×43, 4634×31, 4769×17, 4625×7, 4776×7. All
    // but 4672 (special privileges, no logon of its own) are authentication:
    // 49 + 31 + 17 + 7 + 7 = 111.
    assert_eq!(
        r.counts(),
        (vec![("authentication", 111), ("base_event", 43)], 0)
    );
    assert_eq!(r.with_code("4672").count(), 43);
    assert!(r.with_code("4672").all(|row| row.class == Class::BaseEvent));
    check_every_row(&r);
}

#[test]
fn purplesharp_password_spray_is_fourteen_failures() {
    let r = read_sample(PURPLESHARP);
    let failed: Vec<&Row> = r
        .rows
        .iter()
        .filter(|row| row.col("status_id") == Some("2"))
        .collect();
    assert_eq!(failed.len(), 14);
    assert!(failed.iter().all(|row| row.class == Class::Authentication));
    let users = |code: &str| -> Vec<&str> {
        let mut u: Vec<&str> = failed
            .iter()
            .filter(|row| row.code() == code)
            .filter_map(|row| row.col("user_name"))
            .collect();
        u.sort_unstable();
        u
    };
    // SOURCES.md: the spray tried seven accounts, each seen once on the
    // workstation (4625) and once on the DC (4776).
    let sprayed = [
        "lrodriguez",
        "mscott",
        "nxlogsvc",
        "pbeesly",
        "pgustavo",
        "sbeavers",
        "sysmonsvc",
    ];
    assert_eq!(users("4625"), sprayed);
    assert_eq!(users("4776"), sprayed);
    for row in failed {
        assert_eq!(
            row.col("time").map(|t| &t[..19]),
            Some("2020-10-22T08:29:55")
        );
        assert_eq!(row.col("src_endpoint_hostname"), Some("WORKSTATION5"));
        if row.code() == "4625" {
            assert_eq!(
                row.col("device_hostname"),
                Some("WORKSTATION5.theshire.local")
            );
            assert_eq!(row.col("status_code"), Some("0xc000006d"));
            assert_eq!(row.col("status_detail"), Some("0xc000006a"));
            assert_eq!(row.col("activity_id"), Some("1"));
            assert_eq!(row.col("logon_type_id"), Some("2"));
            assert_eq!(row.col("logon_type"), Some("Interactive"));
            assert_eq!(row.col("is_remote"), Some("false"));
            assert_eq!(row.col("auth_protocol_id"), Some("1"));
            assert_eq!(row.col("actor_user_name"), Some("pgustavo"));
            // BH-11: IpAddress "-" is no address, but Sigma still sees it.
            assert_eq!(row.col("src_endpoint_ip"), None);
            assert_eq!(row.col("src_endpoint_port"), None);
            assert_eq!(row.un("IpAddress"), Some("-"));
        } else {
            assert_eq!(row.col("device_hostname"), Some("MORDORDC.theshire.local"));
            assert_eq!(row.col("status_code"), Some("0xc000006a"));
            assert_eq!(row.col("auth_protocol"), Some("NTLM"));
            assert_eq!(row.col("auth_protocol_id"), Some("1"));
        }
    }
}

#[test]
fn purplesharp_kerberoast_is_five_rc4_service_tickets() {
    let r = read_sample(PURPLESHARP);
    let rc4: Vec<&Row> = r
        .with_code("4769")
        .filter(|row| row.un("TicketEncryptionType") == Some("0x17"))
        .collect();
    assert_eq!(rc4.len(), 5);
    let services: Vec<&str> = rc4
        .iter()
        .filter_map(|row| row.col("service_name"))
        .collect();
    // SOURCES.md, in record order.
    assert_eq!(
        services,
        ["sysmonsvc", "nxlogsvc", "defensesvc", "otrsvc", "mordorsvc"]
    );
    for row in &rc4 {
        assert_eq!(row.class, Class::Authentication);
        assert_eq!(row.col("user_name"), Some("pgustavo@THESHIRE.LOCAL"));
        assert_eq!(row.col("user_domain"), Some("THESHIRE.LOCAL"));
        // BH-11: "::ffff:172.18.39.5" is written as IPv4; the raw value stays.
        assert_eq!(row.col("src_endpoint_ip"), Some("172.18.39.5"));
        assert_eq!(row.un("IpAddress"), Some("::ffff:172.18.39.5"));
        assert_eq!(row.col("activity_id"), Some("4"));
        assert_eq!(row.col("type_uid"), Some("300204"));
        assert_eq!(row.col("status_id"), Some("1"));
        assert_eq!(row.col("status_code"), Some("0x0"));
        assert_eq!(row.col("auth_protocol"), Some("Kerberos"));
        assert_eq!(row.col("auth_protocol_id"), Some("2"));
        assert_eq!(row.un("TicketOptions"), Some("0x40810000"));
        assert_eq!(row.un("ServiceName"), row.col("service_name"));
        assert_eq!(row.un("Channel"), Some("Security"));
        assert_eq!(row.un("Computer"), Some("MORDORDC.theshire.local"));
        assert_eq!(
            row.un("Provider_Name"),
            Some("Microsoft-Windows-Security-Auditing")
        );
    }
    // The first one, field by field (RecordNumber 537268 in the file).
    let first = rc4[0];
    assert_eq!(first.col("metadata_uid"), Some("537268"));
    assert_eq!(first.un("EventRecordID"), Some("537268"));
    assert_eq!(first.col("src_endpoint_port"), Some("58185"));
    assert_eq!(first.col("time"), Some("2020-10-22T08:29:55.403Z"));
    assert_eq!(
        first.col("metadata_original_time"),
        Some("2020-10-22T08:29:55.403Z")
    );
    assert_eq!(
        first.col("service_uid"),
        Some("S-1-5-21-2323213074-4052461197-1785501644-1110")
    );
    // Twelve more 4769s use AES (0x12): 17 in all.
    assert_eq!(r.with_code("4769").count(), 17);
}

// --- the chainsaw EVTX sample, through the evtx crate -----------------------

#[test]
fn evtx_sample_decodes_whole() {
    let r = read_sample(EVTX);
    assert_eq!(r.format, Some(Format::Evtx));
    assert_eq!(r.stats.records, 10);
    assert!(r.dead.is_empty(), "{:?}", r.dead);
    // SOURCES.md: 4624×2, 4672×2, 5058×2, 5059×2, 5061×2.
    assert_eq!(
        r.counts(),
        (vec![("authentication", 2), ("base_event", 8)], 0)
    );
    check_every_row(&r);
    let uids: Vec<&str> = r
        .rows
        .iter()
        .filter_map(|row| row.col("metadata_uid"))
        .collect();
    assert_eq!(uids.len(), 10);
    for row in &r.rows {
        assert_eq!(row.col("metadata_product_name"), Some("Windows Security"));
        assert_eq!(row.col("metadata_log_name"), Some("Security"));
        assert_eq!(row.col("device_hostname"), Some("DESKTOP-JK4Q86I"));
        assert_eq!(row.col("severity_id"), Some("1"), "Level 0 (log always)");
    }
}

/// Equal, or the same GUID or time written differently: the evtx crate
/// (0.15) writes GUIDs braced and lower case and `SystemTime` to 100 ns,
/// the older one chainsaw's expected output came from bare upper-case GUIDs
/// and microseconds.
fn same_value(expected: &str, got: &str) -> bool {
    fn micros(s: &str) -> Option<i64> {
        chrono::DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_micros())
    }
    fn guid(s: &str) -> Option<String> {
        let t = s.trim_start_matches('{').trim_end_matches('}');
        let hex = t.chars().filter(|c| *c != '-').count() == 32
            && t.chars().all(|c| c == '-' || c.is_ascii_hexdigit());
        (hex && t.len() == 36).then(|| t.to_ascii_lowercase())
    }
    expected == got
        || guid(expected).is_some_and(|e| guid(got) == Some(e))
        || micros(expected).is_some_and(|e| micros(got) == Some(e))
}

fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[test]
fn evtx_4624s_match_chainsaw_rendering() {
    let r = read_sample(EVTX);
    let path = format!("{DATA}/{EVTX_4624}");
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("sample data missing or unreadable: {path}: {e}"));
    let mut seen = 0;
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let want: Value = serde_json::from_str(line).expect("expected line is JSON");
        let record_id = want
            .pointer("/Event/System/EventRecordID")
            .and_then(json_text);
        let row = r
            .rows
            .iter()
            .find(|row| row.col("metadata_uid") == record_id.as_deref())
            .unwrap_or_else(|| panic!("no row for EventRecordID {record_id:?}"));
        check_system(row, &want["Event"]["System"]);
        check_event_data(row, &want["Event"]["EventData"]);
        seen += 1;
    }
    assert_eq!(seen, 2);
}

/// Every System value of chainsaw's rendering is in the row: element
/// values under their name, `X_attributes.A` as `X_A`, null as absent.
fn check_system(row: &Row, system: &Value) {
    let Value::Object(members) = system else {
        panic!("System is not an object");
    };
    for (k, v) in members {
        match v {
            Value::Null => assert_eq!(row.un(k), None, "{k}"),
            Value::Object(attrs) => {
                let elem = k.strip_suffix("_attributes").expect("attributes object");
                for (a, x) in attrs {
                    let key = format!("{elem}_{a}");
                    let want = json_text(x).expect("scalar attribute");
                    let got = row.un(&key).unwrap_or_else(|| panic!("no {key}"));
                    assert!(same_value(&want, got), "{key}: want {want}, got {got}");
                }
            }
            scalar => {
                let want = json_text(scalar).expect("scalar");
                assert_eq!(row.un(k), Some(want.as_str()), "{k}");
            }
        }
    }
    // The columns say the same. SystemTime is 100 ns in EVTX; columns hold µs.
    let time = system["TimeCreated_attributes"]["SystemTime"].as_str();
    assert_eq!(row.col("time"), time);
    assert_eq!(row.code(), system["EventID"].to_string());
    let record = system["EventRecordID"].to_string();
    assert_eq!(row.col("metadata_uid"), Some(record.as_str()));
    assert_eq!(row.col("metadata_log_name"), system["Channel"].as_str());
    assert_eq!(row.col("device_hostname"), system["Computer"].as_str());
}

/// Every EventData value of chainsaw's rendering is in `unmapped` under
/// its own name, and the mapped ones are in their columns.
fn check_event_data(row: &Row, data: &Value) {
    let Value::Object(members) = data else {
        panic!("EventData is not an object");
    };
    for (k, v) in members {
        let want = json_text(v).expect("scalar EventData value");
        let got = row.un(k).unwrap_or_else(|| panic!("no unmapped {k}"));
        assert!(same_value(&want, got), "{k}: want {want}, got {got}");
    }
    let d = |k: &str| data[k].as_str();
    assert_eq!(row.class, Class::Authentication);
    assert_eq!(row.col("user_name"), d("TargetUserName"));
    assert_eq!(row.col("user_domain"), d("TargetDomainName"));
    assert_eq!(row.col("user_uid"), d("TargetUserSid"));
    assert_eq!(row.col("actor_user_name"), d("SubjectUserName"));
    assert_eq!(row.col("actor_user_domain"), d("SubjectDomainName"));
    assert_eq!(row.col("actor_user_uid"), d("SubjectUserSid"));
    assert_eq!(row.col("actor_session_uid"), d("TargetLogonId"));
    assert_eq!(row.col("actor_process_name"), d("ProcessName"));
    // "0x29c", a hexadecimal process id, is 668.
    assert_eq!(d("ProcessId"), Some("0x29c"));
    assert_eq!(row.col("actor_process_pid"), Some("668"));
    assert_eq!(Some(row.col("logon_type_id").unwrap_or("")), Some("5"));
    assert_eq!(data["LogonType"], 5);
    assert_eq!(row.col("logon_type"), Some("Service"));
    assert_eq!(row.col("is_remote"), Some("false"));
    // Windows pads "Advapi  "; the column is trimmed, unmapped is not.
    assert_eq!(row.col("logon_process_name"), Some("Advapi"));
    assert_eq!(row.col("auth_protocol"), d("AuthenticationPackageName"));
    assert_eq!(
        row.col("auth_protocol_id"),
        Some("99"),
        "Negotiate is 'other'"
    );
    // IpAddress, IpPort and WorkstationName are "-": no value.
    assert_eq!(d("IpAddress"), Some("-"));
    assert_eq!(row.col("src_endpoint_ip"), None);
    assert_eq!(row.col("src_endpoint_port"), None);
    assert_eq!(row.col("src_endpoint_hostname"), None);
    assert_eq!(row.col("status_id"), Some("1"));
    assert_eq!(row.col("activity_id"), Some("1"));
}

// --- empire: NXLog flat JSON, every channel ---------------------------------

#[test]
fn empire_counts_per_class() {
    let r = read_sample(EMPIRE);
    assert_eq!(r.format, Some(Format::WindowsJson));
    assert_eq!(r.stats.records, 1179);
    assert!(r.dead.is_empty(), "{:?}", r.dead.first());
    // Counted from the file by (Channel, EventID): the "Security" channel
    // holds 4624×7, 4634×8 and 4768×1 (16 authentication rows); the other
    // 1163 records (Sysmon 564, PowerShell 306, System 3, the rest of
    // Security and the lower-case "security" channel) are base events.
    assert_eq!(
        r.counts(),
        (vec![("authentication", 16), ("base_event", 1163)], 0)
    );
    let product = |p: &str| {
        r.rows
            .iter()
            .filter(|row| row.col("metadata_product_name") == Some(p))
            .count()
    };
    assert_eq!(product("Sysmon"), 564);
    assert_eq!(product("Windows Security"), 306);
    assert_eq!(product("Windows"), 306 + 3);
    check_every_row(&r);
}

#[test]
fn empire_rubeus_asktgt_is_one_rc4_tgt() {
    let r = read_sample(EMPIRE);
    let tgts: Vec<&Row> = r.with_code("4768").collect();
    assert_eq!(tgts.len(), 1);
    let tgt = tgts[0];
    assert_eq!(tgt.class, Class::Authentication);
    assert_eq!(tgt.col("user_name"), Some("pgustavo"));
    assert_eq!(tgt.col("user_domain"), Some("theshire.local"));
    assert_eq!(
        tgt.col("user_uid"),
        Some("S-1-5-21-4228717743-1032521047-1810997296-1104")
    );
    assert_eq!(tgt.un("TicketEncryptionType"), Some("0x17"));
    assert_eq!(tgt.col("src_endpoint_ip"), Some("172.18.39.6"));
    assert_eq!(tgt.col("src_endpoint_port"), Some("53409"));
    assert_eq!(tgt.col("activity_id"), Some("3"));
    assert_eq!(tgt.col("activity_name"), Some("Authentication Ticket"));
    assert_eq!(tgt.col("status_id"), Some("1"));
    assert_eq!(tgt.col("service_name"), Some("krbtgt"));
    assert_eq!(tgt.col("auth_protocol_id"), Some("2"));
    assert_eq!(tgt.col("device_hostname"), Some("MORDORDC.theshire.local"));
    assert_eq!(tgt.col("metadata_uid"), Some("1950060"));
    assert_eq!(tgt.col("time"), Some("2020-09-22T02:39:14.736Z"));
    // A shipper flag (JSON true) is kept as text too.
    assert_eq!(tgt.un("ERROR_EVT_UNRESOLVED"), Some("true"));
}

// --- Golden SAML: Sentinel SecurityEvent and Event rows ---------------------

#[test]
fn golden_saml_sentinel_rows() {
    let r = read_sample(GOLDEN_SAML);
    assert_eq!(r.format, Some(Format::WindowsSentinel));
    assert_eq!(r.stats.records, 38);
    assert!(r.dead.is_empty(), "{:?}", r.dead);
    // SOURCES.md: 4624×28 (authentication), 4662×5, and one each of ADFS
    // 412 and 501, SQL audit 33205, Sysmon 18 and 5156 (base events).
    assert_eq!(
        r.counts(),
        (vec![("authentication", 28), ("base_event", 10)], 0)
    );
    check_every_row(&r);

    // Two NTLM network logons, both pgustavo from ADFS01 (13:08:45.653Z,
    // 13:13:29.373Z); 25 are Kerberos and one Negotiate (counted from the
    // file's AuthenticationPackageName).
    let ntlm: Vec<&Row> = r
        .with_code("4624")
        .filter(|row| row.col("auth_protocol") == Some("NTLM"))
        .collect();
    assert_eq!(ntlm.len(), 2);
    let kerberos = r
        .with_code("4624")
        .filter(|row| row.col("auth_protocol_id") == Some("2"));
    assert_eq!(kerberos.count(), 25);
    let row = ntlm[0];
    assert_eq!(row.col("time"), Some("2021-08-02T13:08:45.653Z"));
    assert_eq!(row.col("user_name"), Some("pgustavo"));
    assert_eq!(row.col("user_domain"), Some("SIMULANDLABS"));
    assert_eq!(row.col("src_endpoint_ip"), Some("192.168.2.5"));
    assert_eq!(row.col("src_endpoint_port"), Some("53115"));
    assert_eq!(row.col("src_endpoint_hostname"), Some("ADFS01"));
    assert_eq!(row.col("device_hostname"), Some("DC01.simulandlabs.com"));
    assert_eq!(row.col("logon_type_id"), Some("3"));
    assert_eq!(row.col("is_remote"), Some("true"));
    assert_eq!(row.col("auth_protocol_id"), Some("1"));
    assert_eq!(row.col("logon_process_name"), Some("NtLmSsp"));
    // The NULL SID subject is no actor.
    assert_eq!(row.col("actor_user_uid"), None);
    assert_eq!(row.un("SubjectUserSid"), Some("S-1-0-0"));
    assert_eq!(
        row.un("LogonGuid"),
        Some("00000000-0000-0000-0000-000000000000")
    );
    assert_eq!(
        row.un("Provider_Name"),
        Some("Microsoft-Windows-Security-Auditing")
    );
    assert_eq!(row.col("metadata_log_name"), Some("Security"));

    // cjones logs on over IPv6 link-local.
    let cjones = r
        .rows
        .iter()
        .find(|row| row.col("user_name") == Some("cjones"));
    let cjones = cjones.expect("cjones' logon");
    assert_eq!(
        cjones.col("src_endpoint_ip"),
        Some("fe80::1d35:28c0:59d6:6862")
    );

    // Sysmon 18 from the Sentinel Event table: provider and channel named
    // as Sigma expects, the type-suffixed ProcessId under its plain name.
    let pipe = r.with_code("18").next().expect("the Sysmon 18 row");
    assert_eq!(pipe.class, Class::BaseEvent);
    assert_eq!(pipe.col("metadata_product_name"), Some("Sysmon"));
    assert_eq!(
        pipe.col("metadata_log_name"),
        Some("Microsoft-Windows-Sysmon/Operational")
    );
    assert_eq!(pipe.un("Provider_Name"), Some("Microsoft-Windows-Sysmon"));
    assert_eq!(pipe.un("PipeName"), Some("\\MICROSOFT##WID\\tsql\\query"));
    assert_eq!(pipe.un("ProcessId"), Some("5692"));
    assert_eq!(pipe.un("ProcessId_dynamic"), Some("5692"));
    assert_eq!(
        pipe.col("severity_id"),
        Some("1"),
        "EventLevel 4 is information"
    );
}

// --- SigmaHQ regression events: nested EVTX-JSON ---------------------------

#[test]
fn sigma_regression_events_all_decode() {
    let root = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/sigma/regression_data"
    );
    let mut files = Vec::new();
    collect(root.as_ref(), &mut files);
    let json: Vec<_> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    let evtx: Vec<_> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "evtx"))
        .collect();
    // SOURCES.md: 192 JSON files holding 222 events; 31 folders keep EVTX.
    assert_eq!(
        (json.len(), evtx.len()),
        (192, 31),
        "sigma regression data missing?"
    );
    let mut events = 0;
    for p in json.iter().chain(&evtx) {
        let r = read_path(&p.to_string_lossy());
        let want = if p.extension().is_some_and(|e| e == "json") {
            Format::WindowsEvtxJson
        } else {
            Format::Evtx
        };
        assert_eq!(r.format, Some(want), "{}", p.display());
        assert!(r.dead.is_empty(), "{}: {:?}", p.display(), r.dead);
        assert_eq!(r.rows.len() as u64, r.stats.records, "{}", p.display());
        check_every_row(&r);
        if want == Format::WindowsEvtxJson {
            events += r.rows.len();
        }
    }
    assert_eq!(events, 222);
}

fn collect(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("sample data missing: {}: {e}", dir.display()));
    for e in entries {
        let p = e.expect("directory entry").path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}
