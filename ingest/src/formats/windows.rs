//! Windows event logs as JSON, in the three shapes they are shipped in.
//!
//! - [`Format::WindowsJson`]: flat NXLog / Mordor objects, System and
//!   EventData fields side by side (`EventID`, `Channel`, `Hostname`,
//!   `TargetUserName`, ...), time in `@timestamp` or, local to the
//!   configured time zone, in NXLog's `EventTime`.
//! - [`Format::WindowsEvtxJson`]: `{"Event": {"System": ..., "EventData":
//!   ...}}` with XML attributes under `#attributes`, as the `evtx` crate
//!   renders binary `.evtx` records (the EVTX reader feeds its records
//!   here) and as SigmaHQ's regression data holds them.
//! - [`Format::WindowsSentinel`]: Microsoft Sentinel `SecurityEvent` and
//!   `Event` rows (`TimeGenerated`, `Computer`, `EventID`, `Account`, ...).
//!
//! Each record is first normalised to one shape (`shape::Event`): the event
//! ID as a number, whether it came as `4624`, `"4624"` or
//! `{"#attributes": {"Qualifiers": ..}, "#text": 4624}`, and every field
//! under the name Sigma rules use (`TargetUserName`, `EventID`, `Channel`,
//! `Computer`, `Provider_Name`, `EventRecordID`; see `shape` for the naming
//! rules). One mapping then writes rows:
//!
//! | events (Security log) | class | activity |
//! |---|---|---|
//! | 4624 logon, 4625 failed logon | authentication | 1 Logon |
//! | 4634, 4647 logoff | authentication | 2 Logoff |
//! | 4648 explicit credentials (actor Subject, user Target) | authentication | 1 Logon |
//! | 4768 TGT | authentication | 3 Authentication Ticket |
//! | 4769 service ticket (`service_name`) | authentication | 4 Service Ticket Request |
//! | 4770 ticket renewed | authentication | 5 Service Ticket Renew |
//! | 4771 pre-authentication failed | authentication | 6 Preauth |
//! | 4776 NTLM credential validation | authentication | 1 Logon |
//! | 4778 / 4779 session reconnected / disconnected | authentication | 1 Logon / 2 Logoff |
//! | everything else (4672, Sysmon, PowerShell, ADFS, ...) | base_event | none |
//!
//! Why: these are the events that say who proved their identity to which
//! host or service, from where, and whether it worked, which is what the
//! authentication class models. 4776 is the domain controller's half of an
//! NTLM logon, so it counts as a logon attempt; a session reconnect resumes
//! a logon and a disconnect ends one. An event ID only maps when the event
//! comes from the Security auditing provider (or the Security channel, or
//! names neither), because other channels reuse the numbers.
//!
//! Outcome: 4624 and the logoffs succeed, 4625 fails, the Kerberos and NTLM
//! events read `Status` (4771: `FailureCode`): `0x0` is success, anything
//! else failure, with `status_code` the code and `status_detail` the
//! `SubStatus`. User columns come from `Target*`, actor columns from
//! `Subject*`; `IpAddress` `::ffff:a.b.c.d` becomes `a.b.c.d`, and `-`
//! leaves the column null. The protocol comes from the event (Kerberos,
//! NTLM) or `AuthenticationPackageName`.
//!
//! Every row, of either class, also carries every field of the event in
//! `unmapped`, values as written (so `IpAddress` `-` stays visible to
//! Sigma), with `EventID` as plain decimal text and its qualifiers apart
//! in `EventID_Qualifiers`. NXLog's `Message` goes to `message`. Because
//! `-` is null in the columns, a correlation grouped by `src_endpoint_ip`
//! does not pool local logons (edge case BH-20); one grouped by the raw
//! `IpAddress` sees `-`.
//!
//! Time: EVTX `TimeCreated/@SystemTime` (100 ns, kept to the µs), Sentinel
//! `TimeGenerated`, NXLog `@timestamp` (UTC, stamped by the shipper within
//! a second of the event) or else `EventTime`, which NXLog writes without
//! a zone in the agent's local time and is read in the configured zone.
//!
//! Known limits: unnamed `<Data>` elements (classic providers) come out as
//! `Data.0`, `Data.1`, ..., so a Sigma rule on `Data` finds nothing until
//! the rule engine joins them; GUIDs are kept as the source wrote them
//! (the evtx crate braces and lower-cases them, NXLog upper-cases them).

mod auth;
mod known;
mod shape;

use chrono::offset::LocalResult;
use chrono::{DateTime, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use vigil_schemas::{Class, Field, Row, parse_int};

use self::known::{K, Known};
use self::shape::Event;
use super::util::parse_time_str;
use crate::decode::{DecodeConfig, DecodeError, Decoder, Record};
use crate::emit::Emitter;
use crate::format::Format;

/// A decoder for `format`: [`Format::WindowsJson`],
/// [`Format::WindowsSentinel`], or the nested EVTX-JSON shape for
/// [`Format::WindowsEvtxJson`] and anything else (binary EVTX records are
/// rendered to that shape before they get here).
pub fn decoder(format: Format, cfg: &DecodeConfig) -> Box<dyn Decoder> {
    let (format, shape) = match format {
        Format::WindowsJson => (format, Shape::Flat),
        Format::WindowsSentinel => (format, Shape::Sentinel),
        _ => (Format::WindowsEvtxJson, Shape::Nested),
    };
    Box::new(Windows {
        format,
        shape,
        tz: cfg.timezone,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    Flat,
    Nested,
    Sentinel,
}

struct Windows {
    format: Format,
    shape: Shape,
    tz: Tz,
}

/// The event time, the text it came from, and why it is not exact.
struct When<'e> {
    t: DateTime<Utc>,
    text: &'e str,
    quality: Option<&'static str>,
}

impl Decoder for Windows {
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
        let v = super::jsonval::parse_all(rec.text)?;
        let ev = match self.shape {
            Shape::Flat => shape::flat(&v, false)?,
            Shape::Sentinel => shape::flat(&v, true)?,
            Shape::Nested => shape::nested(&v)?,
        };
        let known = Known::new(&ev.fields);
        let when = self.when(&known)?;

        let spec = auth::spec(ev.id).filter(|_| auth::is_security(&known));
        let class = match spec {
            Some(_) => Class::Authentication,
            None => Class::BaseEvent,
        };
        let mut row = out.row(rec, class);
        self.common(&mut row, &ev, &known, when.as_ref());
        match &spec {
            Some(spec) => auth::map(&mut row, spec, &known),
            None => base(&mut row, &known),
        }
        for (k, v) in &ev.fields {
            row.unmapped(k, v);
        }
        Ok(())
    }
}

impl Windows {
    /// The event time from the first time field the shape has.
    ///
    /// # Errors
    ///
    /// A value error naming the field when its text is not a time.
    fn when<'e>(&self, known: &Known<'e>) -> Result<Option<When<'e>>, DecodeError> {
        let keys: &[K] = match self.shape {
            Shape::Nested => &[K::SystemTime],
            Shape::Flat => &[K::AtTimestamp, K::TimeCreated, K::EventTime],
            Shape::Sentinel => &[K::TimeGenerated, K::TimeCreated, K::Timestamp],
        };
        let Some((key, text)) = keys.iter().find_map(|k| known.get(*k).map(|t| (*k, t))) else {
            return Ok(None);
        };
        match parse_when(text, self.tz) {
            Some((t, quality)) => Ok(Some(When { t, text, quality })),
            None => Err(DecodeError::value(
                key.name(),
                format!("{text:?} is not a timestamp"),
            )),
        }
    }

    /// The columns every row gets: time, product, log, event code, record
    /// id, host, message and severity.
    fn common(
        &self,
        row: &mut Row<'_>,
        ev: &Event<'_>,
        known: &Known<'_>,
        when: Option<&When<'_>>,
    ) {
        if let Some(w) = when {
            row.time(Field::Time, w.t);
            row.str(Field::MetadataOriginalTime, w.text);
            row.opt_str(Field::MetadataTimeQuality, w.quality);
        }
        let channel = known.get(K::Channel);
        row.str(Field::MetadataProductName, product(channel, known));
        row.str(Field::MetadataProductVendorName, "Microsoft");
        let log = channel.or(known.get(K::Type)).unwrap_or(self.format.name());
        row.str(Field::MetadataLogName, log);
        row.int(Field::MetadataEventCode, i64::from(ev.id));
        let uid = known.first(&[K::EventRecordId, K::EventOriginId]);
        row.opt_str(Field::MetadataUid, uid);
        row.opt_str(Field::DeviceHostname, known.get(K::Computer));
        row.opt_str(Field::Message, ev.message.as_deref());
        if let Some((id, name)) = severity(known) {
            row.int(Field::SeverityId, id);
            row.str(Field::Severity, name);
        }
    }
}

/// Base events name who and where when the event says so: the target
/// user, the subject (actor), the source address.
fn base(row: &mut Row<'_>, known: &Known<'_>) {
    row.opt_str(Field::UserName, known.get(K::TargetUserName));
    row.opt_str(Field::ActorUserName, known.get(K::SubjectUserName));
    if let Some(ip) = known.get(K::IpAddress) {
        row.ip(Field::SrcEndpointIp, ip);
    }
}

/// "Windows Security" for the Security log, "Sysmon" for Sysmon, else
/// "Windows".
fn product(channel: Option<&str>, known: &Known<'_>) -> &'static str {
    let provider = known.get(K::ProviderName).unwrap_or("");
    match channel {
        Some(c) if c.eq_ignore_ascii_case("Security") => "Windows Security",
        Some(c) if c.contains("Sysmon") => "Sysmon",
        _ if provider.contains("Sysmon") => "Sysmon",
        _ => "Windows",
    }
}

/// OCSF severity from the Windows `Level` (Sentinel `EventLevel`):
/// 1 critical is high, 2 error medium, 3 warning low, and 0 (log always,
/// as audits are), 4 information and 5 verbose informational. Sentinel's
/// `SecurityEvent.Level` (8, 16) is not this scale and is left out.
fn severity(known: &Known<'_>) -> Option<(i64, &'static str)> {
    let level = parse_int(known.first(&[K::Level, K::EventLevel])?)?;
    Some(match level {
        1 => (4, "High"),
        2 => (3, "Medium"),
        3 => (2, "Low"),
        0 | 4 | 5 => (1, "Informational"),
        _ => return None,
    })
}

/// A timestamp: one with a zone or offset (or epoch digits) as it says,
/// one without in `tz`, with the quality of an ambiguous or nonexistent
/// local time (a DST change) noted.
fn parse_when(text: &str, tz: Tz) -> Option<(DateTime<Utc>, Option<&'static str>)> {
    let s = text.trim();
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, f) {
            return local(naive, tz);
        }
    }
    parse_time_str(s).map(|t| (t, None))
}

fn local(naive: NaiveDateTime, tz: Tz) -> Option<(DateTime<Utc>, Option<&'static str>)> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some((t.with_timezone(&Utc), None)),
        LocalResult::Ambiguous(first, _) => {
            Some((first.with_timezone(&Utc), Some("ambiguous_local")))
        }
        LocalResult::None => {
            let later = tz.from_local_datetime(&(naive + TimeDelta::hours(1)));
            let t = later.earliest()?.with_timezone(&Utc);
            Some((t, Some("nonexistent_local")))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int64Type, TimestampMicrosecondType};
    use arrow_array::{Array, RecordBatch};
    use arrow_schema::DataType;

    use super::*;

    /// One row: class, non-null columns as text, `unmapped` in order.
    #[derive(Debug)]
    struct Out {
        class: Class,
        cols: BTreeMap<String, String>,
        unmapped: Vec<(String, String)>,
    }

    impl Out {
        fn col(&self, name: &str) -> Option<&str> {
            self.cols.get(name).map(String::as_str)
        }

        fn un(&self, key: &str) -> Option<&str> {
            let found = self.unmapped.iter().find(|(k, _)| k == key);
            found.map(|(_, v)| v.as_str())
        }
    }

    fn decode_tz(format: Format, tz: Tz, text: &str) -> Result<Vec<Out>, DecodeError> {
        let cfg = DecodeConfig {
            timezone: tz,
            ..DecodeConfig::default()
        };
        let mut d = decoder(format, &cfg);
        let mut em = Emitter::new(format.name(), "test", Utc::now().timestamp_micros());
        let rec = Record {
            text,
            line: 1,
            offset: 0,
        };
        let res = d.decode(&rec, &mut em);
        let rows: Vec<Out> = em.flush().iter().flat_map(|(c, b)| outs(*c, b)).collect();
        match res {
            Ok(()) => Ok(rows),
            Err(e) => {
                assert!(rows.is_empty(), "an error left rows behind: {rows:?}");
                Err(e)
            }
        }
    }

    /// Decode one record that must give exactly one row.
    fn one(format: Format, text: &str) -> Out {
        let mut rows = decode_tz(format, Tz::UTC, text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(rows.len(), 1, "{text}");
        rows.remove(0)
    }

    fn outs(class: Class, batch: &RecordBatch) -> Vec<Out> {
        let schema = batch.schema();
        (0..batch.num_rows())
            .map(|i| {
                let mut out = Out {
                    class,
                    cols: BTreeMap::new(),
                    unmapped: Vec::new(),
                };
                for (f, col) in schema.fields().iter().zip(batch.columns()) {
                    if col.is_null(i) {
                        continue;
                    }
                    let text = match col.data_type() {
                        DataType::Utf8 => col.as_string::<i32>().value(i).to_string(),
                        DataType::Int32 => col.as_primitive::<Int32Type>().value(i).to_string(),
                        DataType::Int64 => col.as_primitive::<Int64Type>().value(i).to_string(),
                        DataType::Boolean => col.as_boolean().value(i).to_string(),
                        DataType::Timestamp(..) => {
                            let us = col.as_primitive::<TimestampMicrosecondType>().value(i);
                            let t = DateTime::from_timestamp_micros(us).unwrap_or_default();
                            t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                        }
                        _ => {
                            let m = col.as_map().value(i);
                            let (k, v) = (m.column(0).as_string::<i32>(), m.column(1));
                            let v = v.as_string::<i32>();
                            out.unmapped = (0..k.len())
                                .map(|j| (k.value(j).to_string(), v.value(j).to_string()))
                                .collect();
                            continue;
                        }
                    };
                    out.cols.insert(f.name().clone(), text);
                }
                out
            })
            .collect()
    }

    const FORMATS: [Format; 3] = [
        Format::WindowsJson,
        Format::WindowsEvtxJson,
        Format::WindowsSentinel,
    ];

    /// BH-09's Service Control Manager event with `event_id` written as
    /// given, in the record shape of `format`.
    fn system_7045(format: Format, event_id: &str) -> String {
        let provider = r#""Service Control Manager""#;
        match format {
            Format::WindowsEvtxJson => format!(
                concat!(
                    r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":{}}}}},"##,
                    r#""EventID":{},"Channel":"System","Computer":"host-a"}}}}}}"#,
                ),
                provider, event_id
            ),
            Format::WindowsSentinel => format!(
                concat!(
                    r#"{{"TimeGenerated":"2024-05-01T12:00:00Z","Source":{},"#,
                    r#""EventID":{},"EventLog":"System","Computer":"host-a"}}"#,
                ),
                provider, event_id
            ),
            _ => format!(
                r#"{{"SourceName":{},"EventID":{},"Channel":"System","Hostname":"host-a"}}"#,
                provider, event_id
            ),
        }
    }

    #[test]
    fn bh09_event_id_number_string_or_object_is_7045() {
        let forms = [
            ("7045", None),
            (r#""7045""#, None),
            (
                r##"{"#attributes":{"Qualifiers":16384},"#text":7045}"##,
                Some("16384"),
            ),
        ];
        for format in FORMATS {
            for (form, qualifiers) in forms {
                let text = system_7045(format, form);
                let row = one(format, &text);
                assert_eq!(row.class, Class::BaseEvent, "{text}");
                assert_eq!(row.col("metadata_event_code"), Some("7045"), "{text}");
                assert_eq!(row.un("EventID"), Some("7045"), "{text}");
                assert_eq!(row.un("EventID_Qualifiers"), qualifiers, "{text}");
                assert_eq!(row.un("Provider_Name"), Some("Service Control Manager"));
                assert_eq!(row.un("Channel"), Some("System"), "{text}");
                assert_eq!(row.un("Computer"), Some("host-a"), "{text}");
                assert_eq!(row.col("metadata_log_name"), Some("System"), "{text}");
                assert_eq!(row.col("device_hostname"), Some("host-a"), "{text}");
            }
        }
    }

    #[test]
    fn bh09_other_ids_and_channels_are_kept_exactly() {
        let lines = [
            (
                concat!(
                    r##"{"Event":{"System":{"Provider":{"#attributes":"##,
                    r#"{"Name":"Microsoft-Windows-DNSServer"}},"EventID":1500,"#,
                    r#""Channel":"DNS Server","Computer":"host-a"}}}"#,
                ),
                "1500",
                "DNS Server",
            ),
            (
                concat!(
                    r##"{"Event":{"System":{"Provider":{"#attributes":"##,
                    r#"{"Name":"Microsoft-Windows-DNSServer"}},"EventID":150,"#,
                    r#""Channel":"DNS Server","Computer":"host-a"}}}"#,
                ),
                "150",
                "DNS Server",
            ),
            (
                concat!(
                    r##"{"Event":{"System":{"Provider":{"#attributes":"##,
                    r#"{"Name":"Microsoft-Windows-Wcmsvc"}},"EventID":1116,"#,
                    r#""Channel":"Microsoft-Windows-Wcmsvc/Operational","Computer":"host-a"}}}"#,
                ),
                "1116",
                "Microsoft-Windows-Wcmsvc/Operational",
            ),
        ];
        for (text, id, channel) in lines {
            let row = one(Format::WindowsEvtxJson, text);
            assert_eq!(row.un("EventID"), Some(id));
            assert_eq!(row.un("Channel"), Some(channel));
            assert_eq!(row.col("metadata_log_name"), Some(channel));
        }
    }

    /// The three records of edge-cases.md BH-11, verbatim.
    const BH11: [&str; 3] = [
        concat!(
            r#"{"EventID":4624,"Channel":"Security","Computer":"host-a","EventData":"#,
            r#"{"TargetUserName":"alice","LogonType":"3","IpAddress":"::ffff:192.0.2.10","#,
            r#""IpPort":"50123"}}"#,
        ),
        concat!(
            r#"{"EventID":4625,"Channel":"Security","Computer":"host-a","EventData":"#,
            r#"{"TargetUserName":"alice","TargetDomainName":"","LogonType":"2","#,
            r#""IpAddress":"-","IpPort":"-","SubStatus":"0xc000006a"}}"#,
        ),
        concat!(
            r#"{"EventID":4624,"Channel":"Security","Computer":"host-a","EventData":"#,
            r#"{"TargetUserName":"alice","LogonType":"3","IpAddress":"2001:db8::10","#,
            r#""IpPort":"50124"}}"#,
        ),
    ];

    #[test]
    fn bh11_ip_address_forms() {
        for text in BH11 {
            let v: serde_json::Value = serde_json::from_str(text).expect("json");
            assert_eq!(crate::format::classify_json(&v), Format::WindowsJson);
        }
        let rows: Vec<Out> = BH11.iter().map(|t| one(Format::WindowsJson, t)).collect();
        assert!(rows.iter().all(|r| r.class == Class::Authentication));
        assert!(rows.iter().all(|r| r.col("user_name") == Some("alice")));

        assert_eq!(rows[0].col("src_endpoint_ip"), Some("192.0.2.10"));
        assert_eq!(rows[0].col("src_endpoint_port"), Some("50123"));
        assert_eq!(rows[0].un("IpAddress"), Some("::ffff:192.0.2.10"));
        assert_eq!(rows[0].col("is_remote"), Some("true"));

        assert_eq!(rows[1].col("src_endpoint_ip"), None);
        assert_eq!(rows[1].col("src_endpoint_port"), None);
        assert_eq!(rows[1].un("IpAddress"), Some("-"));
        assert_eq!(rows[1].un("IpPort"), Some("-"));
        assert_eq!(
            rows[1].un("src_endpoint_ip"),
            None,
            "'-' is no address, not bad text"
        );
        assert_eq!(rows[1].col("status_id"), Some("2"));
        assert_eq!(rows[1].col("status_detail"), Some("0xc000006a"));
        // BH-14: the empty domain stays an empty string for Sigma.
        assert_eq!(rows[1].un("TargetDomainName"), Some(""));
        assert_eq!(rows[1].col("user_domain"), None);

        assert_eq!(rows[2].col("src_endpoint_ip"), Some("2001:db8::10"));
        assert_eq!(rows[2].col("src_endpoint_port"), Some("50124"));
    }

    #[test]
    fn bh11_in_the_nested_and_sentinel_shapes() {
        let nested = r##"{"Event":{"System":{"EventID":4624,"Channel":"Security"},
            "EventData":{"IpAddress":"::ffff:192.0.2.10","IpPort":"50123"}}}"##;
        let sentinel = r#"{"TimeGenerated":"2024-05-01T12:00:00Z","EventID":4625,
            "Channel":"Security","IpAddress":"-","IpPort":"-"}"#;
        let row = one(Format::WindowsEvtxJson, nested);
        assert_eq!(row.col("src_endpoint_ip"), Some("192.0.2.10"));
        assert_eq!(row.col("src_endpoint_port"), Some("50123"));
        let row = one(Format::WindowsSentinel, sentinel);
        assert_eq!(row.col("src_endpoint_ip"), None);
        assert_eq!(row.un("IpAddress"), Some("-"));
    }

    #[test]
    fn wrong_shapes_are_errors_naming_the_problem() {
        let cases: [(Format, &str, &str); 9] = [
            (
                Format::WindowsJson,
                r#"{"EventID":"abc"}"#,
                r#"value of EventID: "abc" is not a non-negative integer"#,
            ),
            (
                Format::WindowsSentinel,
                r#"{"EventID":null,"TimeGenerated":"2024-05-01T12:00:00Z"}"#,
                "value of EventID: expected an integer, found null",
            ),
            (
                Format::WindowsJson,
                "[]",
                "shape: expected a JSON object, found an array",
            ),
            (
                Format::WindowsEvtxJson,
                "[]",
                "shape: expected a JSON object, found an array",
            ),
            (
                Format::WindowsEvtxJson,
                r#"{"Event":{"EventData":{"TargetUserName":"a"}}}"#,
                "shape: Event has no System object",
            ),
            (
                Format::WindowsEvtxJson,
                r#"{"EventID":4624}"#,
                "shape: the record has no Event object",
            ),
            (
                Format::WindowsJson,
                r#"{"EventID":4624,"@timestamp":"yesterday"}"#,
                r#"value of @timestamp: "yesterday" is not a timestamp"#,
            ),
            (
                Format::WindowsEvtxJson,
                concat!(
                    r##"{"Event":{"System":{"EventID":1,"##,
                    r##""TimeCreated":{"#attributes":{"SystemTime":"x"}}}}}"##,
                ),
                r#"value of TimeCreated_SystemTime: "x" is not a timestamp"#,
            ),
            (
                Format::WindowsSentinel,
                r#"{"EventID":4624"#,
                "syntax: invalid JSON: EOF while parsing an object at line 1 column 15",
            ),
        ];
        for (format, text, want) in cases {
            let err = decode_tz(format, Tz::UTC, text).expect_err(text);
            assert_eq!(err.to_string(), want, "{text}");
        }
    }

    #[test]
    fn odd_but_valid_records_never_panic() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let odd = [
            r#"{"EventID":4624,"IpAddress":{"a":[1,2,{"b":null}]},"IpPort":"-1"}"#,
            r#"{"EventID":4624,"LogonType":"99999999999999999999","ProcessId":"zz"}"#,
            r#"{"EventID":4625,"EventData":[1,2],"Status":"not hex"}"#,
            r#"{"EventID":4771,"IpAddress":"not an ip","TargetUserName":{}}"#,
            r#"{"EventID":4294967295,"Level":"9"}"#,
            &deep,
        ];
        for text in odd {
            for format in FORMATS {
                // Any outcome but a panic will do.
                let _ = decode_tz(format, Tz::UTC, text);
            }
        }
        let row = one(Format::WindowsJson, odd[0]);
        assert_eq!(row.un("IpAddress.a.0"), Some("1"));
        assert_eq!(row.col("src_endpoint_port"), Some("-1"));
        let row = one(Format::WindowsJson, odd[3]);
        assert_eq!(row.un("src_endpoint_ip"), Some("not an ip"));
        assert_eq!(row.col("status_id"), Some("0"), "4771 without FailureCode");
    }

    #[test]
    fn nxlog_event_time_is_local_to_the_configured_zone() {
        let ny: Tz = "America/New_York".parse().expect("zone");
        let cases = [
            ("2020-10-22 04:29:53", "2020-10-22T08:29:53Z", None),
            (
                "2020-11-01 01:30:00",
                "2020-11-01T05:30:00Z",
                Some("ambiguous_local"),
            ),
            (
                "2020-03-08 02:30:00",
                "2020-03-08T07:30:00Z",
                Some("nonexistent_local"),
            ),
            ("2020-10-22T04:29:53-04:00", "2020-10-22T08:29:53Z", None),
        ];
        for (local, utc, quality) in cases {
            let text = format!(r#"{{"EventID":4672,"Channel":"Security","EventTime":"{local}"}}"#);
            let rows = decode_tz(Format::WindowsJson, ny, &text).expect("decodes");
            assert_eq!(rows[0].col("time"), Some(utc), "{local}");
            assert_eq!(rows[0].col("metadata_original_time"), Some(local));
            assert_eq!(rows[0].col("metadata_time_quality"), quality, "{local}");
        }
        // @timestamp, when the shipper wrote one, carries its zone and wins.
        let text = concat!(
            r#"{"EventID":4672,"EventTime":"2020-10-22 04:29:53","#,
            r#""@timestamp":"2020-10-22T08:29:53.907Z"}"#,
        );
        let rows = decode_tz(Format::WindowsJson, ny, text).expect("decodes");
        assert_eq!(rows[0].col("time"), Some("2020-10-22T08:29:53.907Z"));
    }

    #[test]
    fn explicit_credentials_actor_is_the_subject() {
        let text = r#"{"EventID":4648,"Channel":"Security","Hostname":"ws1",
            "SubjectUserName":"pgustavo","SubjectDomainName":"THESHIRE",
            "SubjectUserSid":"S-1-5-21-1","SubjectLogonId":"0x211ec28",
            "TargetUserName":"admin","TargetDomainName":"THESHIRE",
            "TargetServerName":"server01","IpAddress":"10.0.0.5","IpPort":"0",
            "ProcessName":"C:\\Windows\\System32\\runas.exe","ProcessId":"0x1d60"}"#;
        let row = one(Format::WindowsJson, text);
        assert_eq!(row.class, Class::Authentication);
        assert_eq!(row.col("activity_id"), Some("1"));
        assert_eq!(row.col("activity_name"), Some("Explicit Credential Logon"));
        assert_eq!(row.col("actor_user_name"), Some("pgustavo"));
        assert_eq!(row.col("actor_user_domain"), Some("THESHIRE"));
        assert_eq!(row.col("actor_user_uid"), Some("S-1-5-21-1"));
        assert_eq!(row.col("user_name"), Some("admin"));
        assert_eq!(row.col("dst_endpoint_hostname"), Some("server01"));
        assert_eq!(row.col("src_endpoint_ip"), Some("10.0.0.5"));
        assert_eq!(row.col("actor_process_pid"), Some("7520"));
        assert_eq!(row.col("status_id"), Some("1"));
        assert_eq!(row.col("auth_protocol"), None);
        assert_eq!(row.un("SubjectLogonId"), Some("0x211ec28"));
    }

    #[test]
    fn kerberos_preauth_failure_reads_failure_code() {
        let text = r##"{"Event":{"System":{
            "Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},
            "EventID":4771,"Level":0,
            "TimeCreated":{"#attributes":{"SystemTime":"2024-05-01T12:00:00.5Z"}},
            "EventRecordID":42,"Channel":"Security","Computer":"dc1"},
            "EventData":{"TargetUserName":"bob","TargetSid":"S-1-5-21-9",
            "ServiceName":"krbtgt/CORP",
            "TicketOptions":"0x40810010","Status":null,"FailureCode":"0x18","PreAuthType":"2",
            "IpAddress":"::ffff:10.0.0.9","IpPort":"50000"}}}"##;
        let row = one(Format::WindowsEvtxJson, text);
        assert_eq!(row.class, Class::Authentication);
        assert_eq!(row.col("activity_id"), Some("6"));
        assert_eq!(row.col("type_uid"), Some("300206"));
        assert_eq!(row.col("status_id"), Some("2"));
        assert_eq!(row.col("status"), Some("Failure"));
        assert_eq!(row.col("status_code"), Some("0x18"));
        assert_eq!(row.col("auth_protocol"), Some("Kerberos"));
        assert_eq!(row.col("user_uid"), Some("S-1-5-21-9"));
        assert_eq!(row.col("service_name"), Some("krbtgt/CORP"));
        assert_eq!(row.col("src_endpoint_ip"), Some("10.0.0.9"));
        assert_eq!(row.col("time"), Some("2024-05-01T12:00:00.500Z"));
        assert_eq!(row.col("metadata_uid"), Some("42"));
        assert_eq!(row.un("FailureCode"), Some("0x18"));
        assert_eq!(row.un("Status"), None, "JSON null is absent (BH-14)");
    }

    #[test]
    fn session_reconnect_and_failed_ntlm_and_renewal() {
        let text = r#"{"EventID":4778,"Channel":"Security","AccountName":"carol",
            "AccountDomain":"CORP","LogonID":"0x5a1","SessionName":"RDP-Tcp#3",
            "ClientName":"LAPTOP7","ClientAddress":"198.51.100.7"}"#;
        let row = one(Format::WindowsJson, text);
        assert_eq!(row.col("activity_name"), Some("Session Reconnect"));
        assert_eq!(row.col("user_name"), Some("carol"));
        assert_eq!(row.col("user_domain"), Some("CORP"));
        assert_eq!(row.col("actor_session_uid"), Some("0x5a1"));
        assert_eq!(row.col("src_endpoint_hostname"), Some("LAPTOP7"));
        assert_eq!(row.col("src_endpoint_ip"), Some("198.51.100.7"));

        let text = r#"{"EventID":4776,"Channel":"Security","TargetUserName":"dave",
            "Workstation":"WS9","PackageName":"MICROSOFT_AUTHENTICATION_PACKAGE_V1_0",
            "Status":"0xc0000064"}"#;
        let row = one(Format::WindowsJson, text);
        assert_eq!(row.col("status_id"), Some("2"));
        assert_eq!(row.col("status_code"), Some("0xc0000064"));
        assert_eq!(row.col("auth_protocol_id"), Some("1"));
        assert_eq!(row.col("src_endpoint_hostname"), Some("WS9"));

        let text = r#"{"EventID":4770,"Channel":"Security","TargetUserName":"erin",
            "ServiceName":"cifs/fs1","Status":"0x0"}"#;
        let row = one(Format::WindowsJson, text);
        assert_eq!(row.col("activity_id"), Some("5"));
        assert_eq!(row.col("status_id"), Some("1"));
    }

    #[test]
    fn logon_ids_from_other_channels_are_base_events() {
        let texts = [
            r#"{"EventID":4624,"Channel":"Microsoft-Windows-X/Operational","TargetUserName":"x"}"#,
            r#"{"EventID":4624,"Channel":"Security","SourceName":"AD FS","TargetUserName":"x"}"#,
        ];
        for text in texts {
            let row = one(Format::WindowsJson, text);
            assert_eq!(row.class, Class::BaseEvent, "{text}");
            // Base events still name the user the event is about.
            assert_eq!(row.col("user_name"), Some("x"), "{text}");
        }
    }

    #[test]
    fn message_and_severity() {
        let text =
            r#"{"EventID":7000,"Channel":"System","Level":2,"Message":"The service failed."}"#;
        let row = one(Format::WindowsJson, text);
        assert_eq!(row.col("message"), Some("The service failed."));
        assert_eq!(row.un("Message"), None);
        assert_eq!(row.col("severity_id"), Some("3"));
        assert_eq!(row.col("severity"), Some("Medium"));
        assert_eq!(row.col("metadata_product_name"), Some("Windows"));
        // No time in the record: the emitter fills in the ingest time.
        assert_eq!(row.col("metadata_original_time"), None);
        assert_eq!(row.col("metadata_time_quality"), Some("missing"));
    }
}
