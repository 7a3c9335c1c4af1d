//! The syslog decoder over real sample data and the edge cases of
//! `shared/edge-cases.md` (BH-01, BH-03, BH-04, BH-06).
//!
//! Files (see `shared/data/SOURCES.md`):
//! - `auth/linux_sshd/loghub_OpenSSH_2k.log` with its loghub ground truth
//!   `..._structured.csv` (LineId, EventId E1..E27 per line);
//! - `labeled/fail2ban/sshd`, fail2ban's own filter test file, where each
//!   log line follows a `# failJSON: {...}` label;
//! - `auth/linux_sshd/beats_system_auth_test.log` (10 lines).
//!
//! The decoder is driven directly with a fixed `DecodeConfig` so that the
//! year of the year-less lines does not depend on a file's mtime.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use vigil_ingest::emit::Emitter;
use vigil_ingest::{DecodeConfig, Decoder, Format, Record};
use vigil_schemas::Class;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data");

fn data(rel: &str) -> String {
    let path = format!("{DATA}/{rel}");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("test data {path} is missing or unreadable: {e}"))
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.to_utc())
        .unwrap_or_else(|e| panic!("bad test time {s}: {e}"))
}

fn cfg(tz: Tz, reference: &str) -> DecodeConfig {
    DecodeConfig {
        timezone: tz,
        reference_time: at(reference),
    }
}

/// One output row, every column rendered as text.
#[derive(Debug, Clone)]
struct RowView {
    class: Class,
    cols: BTreeMap<String, String>,
    unmapped: Vec<(String, String)>,
}

impl RowView {
    fn get(&self, col: &str) -> Option<&str> {
        self.cols.get(col).map(String::as_str)
    }

    fn un(&self, key: &str) -> Option<&str> {
        self.unmapped
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A column, or the same name in `unmapped` (fields a class lacks).
    fn any(&self, col: &str) -> Option<&str> {
        self.get(col).or_else(|| self.un(col))
    }

    fn time(&self) -> Option<DateTime<Utc>> {
        self.get("time").map(at)
    }
}

fn cell(col: &dyn Array, i: usize) -> Option<String> {
    if col.is_null(i) {
        return None;
    }
    Some(match col.data_type() {
        DataType::Utf8 => col.as_string::<i32>().value(i).to_string(),
        DataType::Int32 => col.as_primitive::<Int32Type>().value(i).to_string(),
        DataType::Int64 => col.as_primitive::<Int64Type>().value(i).to_string(),
        DataType::Boolean => col.as_boolean().value(i).to_string(),
        DataType::Timestamp(..) => {
            let us = col.as_primitive::<TimestampMicrosecondType>().value(i);
            let t = DateTime::from_timestamp_micros(us).expect("time in range");
            t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        }
        other => panic!("unexpected column type {other}"),
    })
}

fn views(class: Class, b: &RecordBatch) -> Vec<RowView> {
    let schema = b.schema();
    (0..b.num_rows())
        .map(|i| {
            let mut v = RowView {
                class,
                cols: BTreeMap::new(),
                unmapped: Vec::new(),
            };
            for (f, col) in schema.fields().iter().zip(b.columns()) {
                if f.name() == "unmapped" {
                    let m = col.as_map().value(i);
                    let (k, val) = (
                        m.column(0).as_string::<i32>(),
                        m.column(1).as_string::<i32>(),
                    );
                    for j in 0..m.len() {
                        v.unmapped.push((k.value(j).into(), val.value(j).into()));
                    }
                } else if let Some(s) = cell(col.as_ref(), i) {
                    v.cols.insert(f.name().clone(), s);
                }
            }
            v
        })
        .collect()
}

/// Feeds lines one at a time through one decoder (state carries over),
/// collecting each line's rows or its dead-letter reason.
struct Run {
    dec: Box<dyn Decoder>,
    offset: u64,
}

impl Run {
    fn new(cfg: &DecodeConfig) -> Run {
        Run {
            dec: Format::Syslog.decoder(cfg),
            offset: 0,
        }
    }

    fn line(&mut self, n: u64, text: &str) -> Result<Vec<RowView>, String> {
        let mut em = Emitter::new("syslog", "test", Utc::now().timestamp_micros());
        let rec = Record {
            text,
            line: n,
            offset: self.offset,
        };
        self.offset += text.len() as u64 + 1;
        self.dec.decode(&rec, &mut em).map_err(|e| e.to_string())?;
        Ok(em.flush().iter().flat_map(|(c, b)| views(*c, b)).collect())
    }

    fn one(&mut self, text: &str) -> RowView {
        let rows = self.line(1, text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(rows.len(), 1, "{text}");
        rows.into_iter().next().expect("one row")
    }
}

// ------------------------------------------------------------ loghub OpenSSH 2k

/// What a line of one loghub template becomes, and why.
struct Expect {
    event: &'static str,
    class: Class,
    activity: Option<&'static str>,
    status: Option<&'static str>,
    detail: Option<&'static str>,
    code: &'static str,
    rows: usize,
    /// Columns (or unmapped keys) set on every row of the template.
    set: &'static [&'static str],
    why: &'static str,
}

const AUTH: Class = Class::Authentication;
const BASE: Class = Class::BaseEvent;
/// `src`: `src_endpoint_ip`, or `src_endpoint_hostname` where sshd wrote a
/// name (UseDNS, PAM rhost).
const SRC: &[&str] = &["src"];
const SRC_USER: &[&str] = &["src", "user_name"];
const ATTEMPT: &[&str] = &["src", "src_endpoint_port", "user_name", "auth_protocol"];

#[rustfmt::skip]
const TEMPLATES: &[Expect] = &[
    Expect { event: "E1", class: AUTH, activity: Some("1"), status: Some("1"), detail: None,
        code: "accepted", rows: 1, set: ATTEMPT,
        why: "Accepted password: the one successful logon" },
    Expect { event: "E2", class: BASE, activity: None, status: None, detail: None,
        code: "disconnect", rows: 1, set: SRC,
        why: "Connection closed before auth: connection context, not an attempt" },
    Expect { event: "E3", class: BASE, activity: None, status: None, detail: None,
        code: "preauth_failure", rows: 1, set: SRC,
        why: "no identification string: a scanner, no credentials tried" },
    Expect { event: "E4", class: BASE, activity: None, status: None, detail: None,
        code: "max_auth_tries", rows: 1, set: SRC_USER,
        why: "summary of Failed lines already counted; address from the same pid" },
    Expect { event: "E5", class: BASE, activity: None, status: None, detail: None,
        code: "max_auth_tries", rows: 1, set: SRC_USER,
        why: "as E4" },
    Expect { event: "E6", class: BASE, activity: None, status: None, detail: None,
        code: "disconnect", rows: 1, set: SRC,
        why: "client's disconnect message; the failures were logged as Failed" },
    Expect { event: "E7", class: BASE, activity: None, status: None, detail: None,
        code: "disconnect", rows: 1, set: SRC,
        why: "as E6" },
    Expect { event: "E8", class: AUTH, activity: Some("1"), status: Some("2"),
        detail: Some("failed none"), code: "failed", rows: 1, set: ATTEMPT,
        why: "Failed none: one failed attempt (method none) by an invalid user" },
    Expect { event: "E9", class: AUTH, activity: Some("1"), status: Some("2"),
        detail: Some("failed password"), code: "failed", rows: 1, set: ATTEMPT,
        why: "Failed password: one failed attempt" },
    Expect { event: "E10", class: AUTH, activity: Some("1"), status: Some("2"),
        detail: Some("failed password"), code: "failed", rows: 1, set: ATTEMPT,
        why: "Failed password for invalid user: one failed attempt, invalid_user=true" },
    Expect { event: "E11", class: BASE, activity: None, status: None, detail: None,
        code: "disconnect", rows: 1, set: SRC,
        why: "write failed: the connection dropped; address from the same pid" },
    Expect { event: "E12", class: BASE, activity: None, status: None, detail: None,
        code: "input_userauth_invalid_user", rows: 1, set: SRC_USER,
        why: "echoes the Invalid user line (E13) of the same pid: not a second rejection" },
    Expect { event: "E13", class: AUTH, activity: Some("1"), status: Some("2"),
        detail: Some("invalid user"), code: "invalid_user", rows: 1, set: SRC_USER,
        why: "Invalid user: rejection of an unknown name, told apart by status_detail" },
    Expect { event: "E14", class: AUTH, activity: Some("1"), status: Some("2"),
        detail: Some("failed password"), code: "failed", rows: 5, set: ATTEMPT,
        why: "message repeated 5 times: five failed attempts, five rows" },
    Expect { event: "E15", class: BASE, activity: None, status: None, detail: None,
        code: "pam_auth_failure", rows: 1, set: SRC,
        why: "PAM's count of failures sshd logged as Failed: must not add attempts" },
    Expect { event: "E16", class: BASE, activity: None, status: None, detail: None,
        code: "pam_auth_failure", rows: 1, set: SRC,
        why: "as E15" },
    Expect { event: "E17", class: BASE, activity: None, status: None, detail: None,
        code: "pam_auth_failure", rows: 1, set: SRC_USER,
        why: "as E15, with user=" },
    Expect { event: "E18", class: BASE, activity: None, status: None, detail: None,
        code: "pam", rows: 1, set: SRC,
        why: "PAM configuration notice; address from the same pid" },
    Expect { event: "E19", class: BASE, activity: None, status: None, detail: None,
        code: "pam_auth_failure", rows: 1, set: SRC,
        why: "pam_unix echo of a Failed password line: not an extra failure" },
    Expect { event: "E20", class: BASE, activity: None, status: None, detail: None,
        code: "pam_auth_failure", rows: 1, set: SRC_USER,
        why: "as E19, with user=" },
    Expect { event: "E21", class: BASE, activity: None, status: None, detail: None,
        code: "pam", rows: 1, set: SRC,
        why: "pam_unix check pass; user unknown: echo of an invalid-user attempt" },
    Expect { event: "E22", class: AUTH, activity: Some("2"), status: None,
        detail: Some("session closed"), code: "session_closed", rows: 1, set: SRC_USER,
        why: "PAM session closed: logoff; no status, the outcome was the Accepted row" },
    Expect { event: "E23", class: AUTH, activity: Some("1"), status: None,
        detail: Some("session opened"), code: "session_opened", rows: 1, set: SRC_USER,
        why: "PAM session opened: logon session start, no status so success counts once" },
    Expect { event: "E24", class: BASE, activity: None, status: None, detail: None,
        code: "disconnect", rows: 1, set: SRC,
        why: "client said Bye Bye" },
    Expect { event: "E25", class: BASE, activity: None, status: None, detail: None,
        code: "disconnect", rows: 1, set: SRC,
        why: "client closed on user request" },
    Expect { event: "E26", class: BASE, activity: None, status: None, detail: None,
        code: "disconnect", rows: 1, set: SRC,
        why: "client disconnected after the session" },
    Expect { event: "E27", class: BASE, activity: None, status: None, detail: None,
        code: "reverse_mapping", rows: 1, set: SRC,
        why: "reverse DNS mismatch warning: context for the address, not an attempt" },
];

#[derive(serde::Deserialize)]
struct Structured {
    #[serde(rename = "LineId")]
    line_id: u64,
    #[serde(rename = "Component")]
    component: String,
    #[serde(rename = "Pid")]
    pid: String,
    #[serde(rename = "Content")]
    content: String,
    #[serde(rename = "EventId")]
    event_id: String,
}

fn loghub_truth() -> Vec<Structured> {
    let text = data("auth/linux_sshd/loghub_OpenSSH_2k.log_structured.csv");
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .map(|r| r.expect("structured csv row"))
        .collect()
}

fn check_template(e: &Expect, r: &RowView, line: &str) {
    let ctx = format!("{} ({}): {line}", e.event, e.why);
    assert_eq!(r.class, e.class, "{ctx}");
    assert_eq!(r.get("activity_id"), e.activity, "{ctx}");
    assert_eq!(r.get("status_id"), e.status, "{ctx}");
    assert_eq!(r.get("status_detail"), e.detail, "{ctx}");
    assert_eq!(r.get("metadata_event_code"), Some(e.code), "{ctx}");
    assert_eq!(r.get("metadata_product_name"), Some("sshd"), "{ctx}");
    assert_eq!(r.get("device_hostname"), Some("LabSZ"), "{ctx}");
    for &col in e.set {
        let v = match col {
            "src" => r.any("src_endpoint_ip").or(r.any("src_endpoint_hostname")),
            _ => r.any(col),
        };
        assert!(v.is_some(), "{ctx}: {col} not set in {r:?}");
    }
}

#[test]
fn loghub_openssh_every_template_and_the_totals() {
    let truth = loghub_truth();
    let log = data("auth/linux_sshd/loghub_OpenSSH_2k.log");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!((lines.len(), truth.len()), (2000, 2000));
    let by_event: HashMap<&str, &Expect> = TEMPLATES.iter().map(|e| (e.event, e)).collect();
    assert_eq!(by_event.len(), 27);

    // The file has no year: 2016-01-01 as reference puts Dec 10 in 2015.
    let mut run = Run::new(&cfg(Tz::UTC, "2016-01-01T00:00:00Z"));
    let mut all = Vec::new();
    let mut seen = BTreeSet::new();
    for (line, t) in lines.iter().zip(&truth) {
        let rows = run
            .line(t.line_id, line)
            .unwrap_or_else(|e| panic!("dead letter at line {}: {e}", t.line_id));
        let e = by_event[t.event_id.as_str()];
        assert_eq!(rows.len(), e.rows, "{}: {line}", e.event);
        for r in &rows {
            check_template(e, r, line);
            assert_eq!(r.any("actor_process_pid"), Some(t.pid.as_str()));
            assert_eq!(t.component, "LabSZ");
            if e.event != "E14" {
                // N.B. loghub's Content drops the trailing space that some
                // pam_unix lines have; the decoder keeps the message as written.
                let msg = r.get("message").map(str::trim_end);
                assert_eq!(msg, Some(t.content.as_str()), "{line}");
            }
        }
        seen.insert(e.event);
        all.extend(rows);
    }
    assert_eq!(seen.len(), 27, "every template occurs");

    // Totals, checked against the csv by hand: E8 4 + E9 383 + E10 135 = 522
    // Failed lines, plus two `message repeated 5 times` lines (E14) = 532
    // attempts; E13 113 invalid-user lines; E1 one Accepted.
    let count = |f: &dyn Fn(&RowView) -> bool| all.iter().filter(|r| f(r)).count();
    let failed = |r: &RowView| {
        r.get("status_detail")
            .is_some_and(|d| d.starts_with("failed "))
    };
    assert_eq!(count(&failed), 532);
    assert_eq!(
        count(&|r| r.get("status_detail") == Some("failed password")),
        528
    );
    assert_eq!(count(&|r| r.get("status_detail") == Some("failed none")), 4);
    assert_eq!(
        count(&|r| r.get("status_detail") == Some("invalid user")),
        113
    );
    assert_eq!(count(&|r| r.get("status_id") == Some("1")), 1);
    // Every failure row is an attempt or an invalid-user rejection: the 504
    // PAM failure lines (E15 2, E16 6, E17 2, E19 110, E20 384) add none.
    assert_eq!(count(&|r| r.get("status_id") == Some("2")), 532 + 113);
    assert_eq!(
        count(&|r| r.get("metadata_event_code") == Some("pam_auth_failure")),
        504
    );
    assert_eq!(
        count(&|r| r.un("invalid_user") == Some("true") && failed(r)),
        139
    );
    assert_eq!(all.len(), 2008);

    let first = &all[0];
    assert_eq!(first.time(), Some(at("2015-12-10T06:55:46Z")));
    assert_eq!(first.get("metadata_original_time"), Some("Dec 10 06:55:46"));
    assert_eq!(first.get("metadata_time_quality"), Some("year_inferred"));
    let last = all.last().expect("rows");
    assert_eq!(last.time(), Some(at("2015-12-10T11:04:45Z")));
}

#[test]
fn loghub_openssh_pinned_lines() {
    let log = data("auth/linux_sshd/loghub_OpenSSH_2k.log");
    let mut run = Run::new(&cfg(Tz::UTC, "2016-01-01T00:00:00Z"));
    let mut rows = Vec::new();
    for (i, line) in log.lines().enumerate() {
        rows.push(run.line(i as u64 + 1, line).expect("no dead letter"));
    }
    // Line 2: `Invalid user webmaster from 173.234.31.186`.
    let r = &rows[1][0];
    assert_eq!(r.get("user_name"), Some("webmaster"));
    assert_eq!(r.get("src_endpoint_ip"), Some("173.234.31.186"));
    assert_eq!(r.get("src_endpoint_port"), None);
    // Line 3 echoes it from the same pid 24200: the address is inferred.
    let r = &rows[2][0];
    assert_eq!(r.get("src_endpoint_ip"), Some("173.234.31.186"));
    assert_eq!(r.un("src_endpoint_inferred"), Some("same_pid"));
    // The one Accepted line.
    let (i, acc) = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r[0].get("status_id") == Some("1"))
        .expect("an accepted row");
    let r = &acc[0];
    assert_eq!(
        (
            r.get("user_name"),
            r.get("src_endpoint_ip"),
            r.get("src_endpoint_port")
        ),
        (Some("fztu"), Some("119.137.62.142"), Some("49116")),
        "line {}",
        i + 1
    );
    assert_eq!(r.get("auth_protocol"), Some("password"));
    assert_eq!(r.get("time"), Some("2015-12-10T09:32:20Z"));
    // A repeated line: five rows, indexed 1..5, each one attempt.
    let rep = rows.iter().find(|r| r.len() == 5).expect("a repeated line");
    let idx: Vec<_> = rep
        .iter()
        .map(|r| r.un("repeat_index").unwrap_or(""))
        .collect();
    assert_eq!(idx, ["1", "2", "3", "4", "5"]);
    assert_eq!(rep[0].get("src_endpoint_ip"), Some("5.36.59.76"));
    assert_eq!(
        rep[0].get("message"),
        Some("Failed password for root from 5.36.59.76 port 42393 ssh2")
    );
}

#[test]
fn loghub_openssh_through_the_reader_is_sniffed_and_complete() {
    let path = format!("{DATA}/auth/linux_sshd/loghub_OpenSSH_2k.log");
    let counter = vigil_ingest::source::ByteCounter::default();
    let input = vigil_ingest::source::open(path.as_ref(), &counter)
        .unwrap_or_else(|e| panic!("test data {path} is missing: {e}"));
    let mut dead = 0;
    let opts = vigil_ingest::read::ReadOptions::default();
    let (format, stats) = vigil_ingest::read::read_input(input, &opts, &mut |o| {
        if let vigil_ingest::read::Output::DeadLetter(_) = o {
            dead += 1;
        }
    });
    assert_eq!(format, Some(Format::Syslog));
    assert_eq!((stats.records, stats.dead_letters, dead), (2000, 0, 0));
    assert_eq!(stats.rows.values().sum::<u64>(), 2008);
}

// ------------------------------------------------------------ fail2ban

struct Labelled {
    line_no: u64,
    text: String,
    label: serde_json::Value,
}

/// Every log line with the `# failJSON:` label just before it.
fn fail2ban_labelled(text: &str) -> Vec<Labelled> {
    let mut out = Vec::new();
    let mut pending = None;
    for (i, l) in text.lines().enumerate() {
        if let Some(json) = l.strip_prefix("# failJSON:") {
            pending = Some(serde_json::from_str(json).expect("failJSON label is JSON"));
        } else if !l.starts_with('#')
            && !l.trim().is_empty()
            && let Some(label) = pending.take()
        {
            out.push(Labelled {
                line_no: i as u64 + 1,
                text: l.to_string(),
                label,
            });
        }
    }
    out
}

/// fail2ban writes a label's "time" as local wall-clock time in its test
/// zone, Europe/Zurich (fail2ban/tests/utils.py: TZ=Europe/Zurich, clock
/// fixed at 1124013600 = 2005-08-14T10:00:00Z), without zone or fraction.
fn label_time(s: &str) -> DateTime<Utc> {
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").expect("label time");
    chrono_tz::Europe::Zurich
        .from_local_datetime(&naive)
        .single()
        .expect("unambiguous label time")
        .to_utc()
}

fn canonical(host: &str) -> String {
    vigil_schemas::parse_ip(host).map_or_else(|| host.to_string(), |ip| ip.to_string())
}

#[test]
fn fail2ban_sshd_labelled_hosts_and_times() {
    let text = data("labeled/fail2ban/sshd");
    let labelled = fail2ban_labelled(&text);
    let matching: Vec<&Labelled> = labelled
        .iter()
        .filter(|l| l.label["match"] == true && l.label.get("host").is_some())
        .collect();
    // 155 labelled log lines (every log line of the file), 109 with
    // "match": true, of which 108 name a host.
    assert_eq!(labelled.len(), 155);
    assert_eq!(
        labelled.iter().filter(|l| l.label["match"] == true).count(),
        109
    );
    assert_eq!(matching.len(), 108);

    // Every line in order, so that the decoder can carry an address from a
    // `Connection from` line to later lines of the same sshd pid. `#` lines
    // are not syslog and become dead letters; nothing else may.
    let zurich = chrono_tz::Europe::Zurich;
    let mut run = Run::new(&cfg(zurich, "2005-08-14T10:00:00Z"));
    let mut rows_of: HashMap<u64, Vec<RowView>> = HashMap::new();
    let mut dead = 0;
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match run.line(i as u64 + 1, l) {
            Ok(rows) => {
                assert!(!rows.is_empty(), "line {} gave no row", i + 1);
                rows_of.insert(i as u64 + 1, rows);
            }
            Err(e) => {
                assert!(l.starts_with('#'), "line {}: {e}", i + 1);
                assert!(e.starts_with("syntax: not a syslog line"), "{e}");
                dead += 1;
            }
        }
    }
    assert_eq!(dead, 193);

    let mut agreed = 0;
    for l in &matching {
        let host = l.label["host"].as_str().expect("host is text");
        let want_time = label_time(l.label["time"].as_str().expect("time is text"));
        let rows = &rows_of[&l.line_no];
        let src = |r: &RowView| {
            r.any("src_endpoint_ip")
                .or_else(|| r.any("src_endpoint_hostname"))
                .map(str::to_string)
        };
        let hit = rows.iter().find(|r| src(r) == Some(canonical(host)));
        // N.B. fail2ban's one auth-info injection line (`... port 58946 ssh2:
        // from 10.10.1.2 port 55555 ssh2`) is read by BH-04's rule: sshd
        // writes no auth info after a password attempt, so the text after
        // `ssh2:` can only be part of the client's user name, and the
        // source is the last `from <ip> port <n>`. fail2ban says 127.0.0.1.
        if l.text.ends_with("ssh2: from 10.10.1.2 port 55555 ssh2") {
            assert_eq!(host, "127.0.0.1");
            assert!(hit.is_none());
            assert_eq!(rows[0].get("src_endpoint_ip"), Some("10.10.1.2"));
            assert_eq!(
                rows[0].get("user_name"),
                Some("test from 127.0.0.1 port 58946 ssh2:")
            );
            continue;
        }
        let r = hit.unwrap_or_else(|| panic!("line {}: no row from {host}: {rows:?}", l.line_no));
        let got = r.time().expect("row has a time");
        let got_s = DateTime::from_timestamp(got.timestamp(), 0).expect("in range");
        assert_eq!(got_s, want_time, "line {}: {}", l.line_no, l.text);
        agreed += 1;
    }
    assert_eq!(agreed, 107);
}

// ------------------------------------------------------------ beats

#[test]
fn beats_system_auth_pinned_rows() {
    let log = data("auth/linux_sshd/beats_system_auth_test.log");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 10);
    // The file has no year; with 2017-03-01 as reference every line is 2017.
    let mut run = Run::new(&cfg(Tz::UTC, "2017-03-01T00:00:00Z"));
    let rows: Vec<RowView> = lines.iter().map(|l| run.one(l)).collect();

    let r = &rows[0];
    assert_eq!(r.class, Class::Authentication);
    assert_eq!(r.get("time"), Some("2017-02-21T21:54:44Z"));
    assert_eq!(
        (
            r.get("activity_id"),
            r.get("status_id"),
            r.get("auth_protocol")
        ),
        (Some("1"), Some("1"), Some("publickey"))
    );
    assert_eq!(
        (r.get("user_name"), r.get("device_hostname")),
        (Some("vagrant"), Some("localhost"))
    );
    assert_eq!(
        (r.get("src_endpoint_ip"), r.get("src_endpoint_port")),
        (Some("10.0.2.2"), Some("63673"))
    );
    assert_eq!(
        (r.get("actor_process_name"), r.get("actor_process_pid")),
        (Some("sshd"), Some("3402"))
    );
    assert_eq!(
        r.un("auth_info"),
        Some("RSA 39:33:99:e9:a0:dc:f2:33:a3:e5:72:3b:7c:3a:56:84")
    );

    let r = &rows[1];
    assert_eq!(
        (r.get("status_id"), r.get("auth_protocol")),
        (Some("1"), Some("password"))
    );
    assert_eq!(
        (r.get("src_endpoint_ip"), r.get("src_endpoint_port")),
        (Some("192.168.33.1"), Some("58803"))
    );

    let r = &rows[2];
    assert_eq!(
        (r.get("status_id"), r.get("status_detail")),
        (Some("2"), Some("invalid user"))
    );
    assert_eq!(
        (r.get("user_name"), r.get("src_endpoint_ip")),
        (Some("test"), Some("10.0.2.2"))
    );
    assert_eq!(r.get("src_endpoint_port"), None);

    let r = &rows[3];
    assert_eq!(
        (r.get("status_detail"), r.get("user_name")),
        (Some("failed password"), Some("root"))
    );
    assert_eq!(
        (r.get("src_endpoint_ip"), r.get("device_hostname")),
        (Some("216.160.83.57"), Some("slave22"))
    );
    assert_eq!(r.get("time"), Some("2017-02-20T08:35:22Z"));

    let r = &rows[4];
    assert_eq!(
        (r.class, r.get("metadata_product_name")),
        (Class::BaseEvent, Some("sudo"))
    );
    assert_eq!(
        (r.get("actor_user_name"), r.get("user_name")),
        (Some("vagrant"), Some("root"))
    );
    assert_eq!(
        (r.un("TTY"), r.un("PWD"), r.un("COMMAND")),
        (Some("pts/0"), Some("/home/vagrant"), Some("/bin/ls"))
    );
    assert_eq!(r.get("status_id"), Some("1"));

    let r = &rows[5];
    assert_eq!(
        (r.class, r.get("metadata_event_code")),
        (Class::BaseEvent, Some("preauth_failure"))
    );
    assert_eq!(r.get("src_endpoint_ip"), Some("2.125.160.217"));
    assert_eq!(
        r.get("message"),
        Some("Did not receive identification string from 2.125.160.217")
    );

    assert_eq!(rows[6].un("COMMAND"), Some("/bin/cat /var/log/secure"));

    let r = &rows[7];
    assert_eq!(
        (r.get("actor_user_name"), r.get("status_id")),
        (Some("tsg"), Some("2"))
    );
    assert_eq!(r.get("status_detail"), Some("user NOT in sudoers"));
    assert_eq!(r.get("device_hostname"), Some("precise32"));

    let r = &rows[8];
    assert_eq!(
        (r.class, r.get("metadata_product_name")),
        (Class::BaseEvent, Some("groupadd"))
    );
    assert_eq!(
        (r.un("actor_process_pid"), r.get("message")),
        (Some("6991"), Some("new group: name=apache, GID=48"))
    );

    let r = &rows[9];
    assert_eq!(
        (r.get("metadata_product_name"), r.get("device_hostname")),
        (Some("useradd"), Some("localhost"))
    );
    assert_eq!(
        r.get("message"),
        Some("new user: name=apache, UID=48, GID=48, home=/usr/share/httpd, shell=/sbin/nologin")
    );
    for r in &rows {
        assert_eq!(r.get("metadata_log_name"), Some("syslog"));
        assert_eq!(r.get("metadata_time_quality"), Some("year_inferred"));
    }
}

// ------------------------------------------------------------ edge cases

#[test]
fn bh01_year_at_the_boundary_through_the_decoder() {
    let cases = [
        (
            "<13>Jan  1 00:00:00 host-a app[101]: tick",
            Tz::UTC,
            "2021-12-31T23:59:59.8Z",
            "2022-01-01T00:00:00Z",
            "Jan  1 00:00:00",
        ),
        (
            "<13>Dec 31 23:59:59 host-a app[101]: tock",
            Tz::UTC,
            "2022-01-01T00:00:02Z",
            "2021-12-31T23:59:59Z",
            "Dec 31 23:59:59",
        ),
        (
            "<189>123: Jan  1 03:13:14.663 UTC: %SYS-5-CONFIG_I: Configured from console by \
          alice on vty0 (192.0.2.1)",
            chrono_tz::America::New_York,
            "2020-01-01T03:13:20Z",
            "2020-01-01T03:13:14.663Z",
            "Jan  1 03:13:14.663 UTC",
        ),
        (
            "<13>Feb 29 10:00:00 host-a app[101]: leap-day line from an archived file",
            Tz::UTC,
            "2025-03-01T09:00:00Z",
            "2024-02-29T10:00:00Z",
            "Feb 29 10:00:00",
        ),
    ];
    for (line, tz, reference, want, raw) in cases {
        let r = Run::new(&cfg(tz, reference)).one(line);
        assert_eq!(r.time(), Some(at(want)), "{line}");
        assert_eq!(r.get("metadata_original_time"), Some(raw), "{line}");
        assert_eq!(
            r.get("metadata_time_quality"),
            Some("year_inferred"),
            "{line}"
        );
    }
}

#[test]
fn bh03_structured_data_escapes() {
    // The line of edge-cases.md, byte for byte.
    let line = concat!(
        r#"<165>1 2003-10-11T22:14:15.003Z host-a evntslog - ID47 [exampleSDID@32473 iut="3" "#,
        r#"path="C:\\Temp\\x" note="say \"hi\" \] ok" url="http:\/\/example.com"]"#,
        r#"[examplePriority@32473 class="high"] An application event"#
    );
    let r = Run::new(&cfg(Tz::UTC, "2024-01-01T00:00:00Z")).one(line);
    assert_eq!(r.time(), Some(at("2003-10-11T22:14:15.003Z")));
    assert_eq!(r.get("metadata_time_quality"), None);
    assert_eq!(r.get("device_hostname"), Some("host-a"));
    assert_eq!(r.any("actor_process_name"), Some("evntslog"));
    assert_eq!(r.any("actor_process_pid"), None);
    assert_eq!(r.un("msgid"), Some("ID47"));
    let sd: Vec<(&str, &str)> = r
        .unmapped
        .iter()
        .filter(|(k, _)| k.starts_with("sd."))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        sd,
        [
            ("sd.exampleSDID@32473.iut", "3"),
            ("sd.exampleSDID@32473.path", r"C:\Temp\x"),
            ("sd.exampleSDID@32473.note", r#"say "hi" ] ok"#),
            ("sd.exampleSDID@32473.url", r"http:\/\/example.com"),
            ("sd.examplePriority@32473.class", "high"),
        ]
    );
    assert_eq!(r.get("message"), Some("An application event"));
    assert_eq!(
        (r.get("severity_id"), r.un("facility")),
        (Some("2"), Some("local4"))
    );
}

#[test]
fn bh04_the_source_is_the_last_from_ip_port() {
    let mut run = Run::new(&cfg(Tz::UTC, "2024-06-01T00:00:00Z"));
    let a = run.one(
        "Mar  3 10:00:01 host-a sshd[2001]: Invalid user x x 198.51.100.7 from 203.0.113.9 \
         port 50022",
    );
    let b = run.one(
        "Mar  3 10:00:02 host-a sshd[2001]: Failed password for invalid user root from \
         198.51.100.7 port 22 ssh2 from 203.0.113.9 port 50022 ssh2",
    );
    assert_eq!(
        (
            a.get("src_endpoint_ip"),
            a.get("src_endpoint_port"),
            a.get("user_name")
        ),
        (Some("203.0.113.9"), Some("50022"), Some("x x 198.51.100.7"))
    );
    assert_eq!(
        (a.get("status_id"), a.get("status_detail")),
        (Some("2"), Some("invalid user"))
    );
    assert_eq!(
        (
            b.get("src_endpoint_ip"),
            b.get("src_endpoint_port"),
            b.get("user_name")
        ),
        (
            Some("203.0.113.9"),
            Some("50022"),
            Some("root from 198.51.100.7 port 22 ssh2")
        )
    );
    assert_eq!(b.get("status_id"), Some("2"));
    for r in [&a, &b] {
        assert!(r.cols.values().all(|v| v != "198.51.100.7"), "{r:?}");
    }
    assert_eq!(a.time(), Some(at("2024-03-03T10:00:01Z")));
    assert_eq!(b.time(), Some(at("2024-03-03T10:00:02Z")));
}

#[test]
fn bh06_local_times_in_a_dst_change() {
    let ny = chrono_tz::America::New_York;
    let mut run = Run::new(&cfg(ny, "2024-12-01T00:00:00Z"));
    let cases = [
        (
            "<38>Nov  3 01:30:00 host-a sshd[100]: Accepted publickey for alice from 192.0.2.5 \
             port 50000 ssh2",
            "2024-11-03T06:30:00Z",
            "year_inferred,ambiguous_local",
            "Nov  3 01:30:00",
        ),
        (
            "<38>Mar 10 02:30:00 host-a sshd[101]: Accepted publickey for alice from 192.0.2.5 \
             port 50001 ssh2",
            "2024-03-10T07:30:00Z",
            "year_inferred,nonexistent_local",
            "Mar 10 02:30:00",
        ),
    ];
    for (line, want, quality, raw) in cases {
        let r = run.one(line);
        assert_eq!(r.class, Class::Authentication);
        assert_eq!(r.time(), Some(at(want)), "{line}");
        assert_eq!(r.get("metadata_time_quality"), Some(quality));
        assert_eq!(r.get("metadata_original_time"), Some(raw));
        assert_eq!(
            (r.get("status_id"), r.get("user_name")),
            (Some("1"), Some("alice"))
        );
    }
}

// ------------------------------------------------------------ garbage

#[test]
fn text_that_is_not_syslog_is_a_dead_letter_with_a_reason() {
    let mut run = Run::new(&cfg(Tz::UTC, "2024-01-01T00:00:00Z"));
    let cases = [
        ("hello world", "syntax: not a syslog line"),
        (
            "\u{0}\u{1}\u{7f}\u{fffd}\u{fffd}",
            "syntax: not a syslog line",
        ),
        ("{\"time\":1}", "syntax: not a syslog line"),
        (
            "<200>Jan  1 00:00:00 h a: m",
            "value of pri: 200 is above 191",
        ),
        (
            "Apr 31 00:00:00 h a: m",
            "value of timestamp: Apr 31 is not a date",
        ),
    ];
    for (line, want) in cases {
        match run.line(1, line) {
            Ok(rows) => panic!("{line:?} gave rows {rows:?}"),
            Err(e) => assert!(e.starts_with(want), "{line:?}: {e}"),
        }
    }
    assert!(run.line(1, "   ").expect("blank is fine").is_empty());
    let r = run.one("<13>\u{0}\u{1} binary after a PRI");
    // No timestamp: the emitter gives it the ingest time and says so.
    assert_eq!(r.class, Class::BaseEvent);
    assert_eq!(r.get("metadata_time_quality"), Some("missing"));
    assert_eq!(r.get("message"), Some("\u{0}\u{1} binary after a PRI"));
}

/// xorshift64*: a small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "<",
    ">",
    "13",
    "1 ",
    " ",
    "  ",
    ":",
    "[",
    "]",
    "\"",
    "\\",
    "=",
    "-",
    "Jan",
    "Feb",
    "29",
    " 10:00:00",
    ".123",
    "2024-03-10T02:30:00",
    "Z",
    "+01:00",
    "host",
    "sshd",
    "[12]:",
    " from ",
    " port ",
    "22",
    "1.2.3.4",
    "::ffff:",
    "Failed password for ",
    "invalid user ",
    "Accepted ",
    "message repeated 99999999999 times: [ ",
    " ssh2",
    ": ",
    "rhost=",
    "user=",
    "pam_unix(sshd:auth): authentication failure; ",
    "é",
    "\u{0}",
    "\t",
    "UTC:",
    "*",
];

#[test]
fn random_input_never_panics_and_every_kept_line_has_a_row() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let seeds = [
        "Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for root from 1.2.3.4 port 22 ssh2",
        r#"<165>1 2003-10-11T22:14:15.003Z h a - ID47 [x@1 a="\"b\\" c="d"] m"#,
        "<38>1 2019-07-08T17:40:16.954167-04:00 h sshd 5 - - Invalid user a from ::1 port 2",
    ];
    let mut run = Run::new(&cfg(chrono_tz::America::New_York, "2024-06-01T00:00:00Z"));
    let (mut kept, mut dead) = (0, 0);
    for i in 0..6000 {
        let line = match i % 3 {
            0 => (0..rng.below(24))
                .map(|_| PIECES[rng.below(PIECES.len())])
                .collect::<String>(),
            1 => {
                let mut b = seeds[rng.below(seeds.len())].as_bytes().to_vec();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(b.len() + 1);
                    match rng.below(3) {
                        0 => b.truncate(at),
                        1 => b.insert(at.min(b.len()), rng.next() as u8),
                        _ => {
                            if at < b.len() {
                                b.remove(at);
                            }
                        }
                    }
                }
                String::from_utf8_lossy(&b).into_owned()
            }
            _ => {
                let b: Vec<u8> = (0..rng.below(120)).map(|_| rng.next() as u8).collect();
                String::from_utf8_lossy(&b).into_owned()
            }
        };
        match run.line(i, &line) {
            Ok(rows) if line.trim().is_empty() => assert!(rows.is_empty()),
            Ok(rows) => {
                assert!(!rows.is_empty() && rows.len() <= 10_000, "{line:?}");
                kept += 1;
            }
            Err(e) => {
                assert!(e.len() > 10, "{line:?}: {e}");
                dead += 1;
            }
        }
    }
    assert!(kept > 500 && dead > 500, "kept {kept}, dead {dead}");
}

#[test]
fn a_huge_repeat_count_is_capped() {
    let line = "Jan  1 00:00:00 h sshd[1]: message repeated 99999999999 times: [ Failed \
                password for root from 1.2.3.4 port 22 ssh2]";
    let rows = Run::new(&cfg(Tz::UTC, "2024-06-01T00:00:00Z"))
        .line(1, line)
        .expect("decodes");
    assert_eq!(rows.len(), 10_000);
    assert_eq!(rows[0].un("repeat_capped"), Some("true"));
    assert_eq!(rows[0].un("repeat_count"), Some("99999999999"));
}
