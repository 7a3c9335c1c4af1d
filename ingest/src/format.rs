//! The formats vigil reads, how each is framed, and how a format is told
//! from content.

use serde_json::Value;

use crate::decode::{DecodeConfig, Decoder};
use crate::formats;

/// How a format's bytes are cut into records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// One record per line.
    Lines,
    /// One record per JSON value (NDJSON, pretty-printed, arrays).
    Json,
    /// Binary EVTX: each record is rendered as JSON by the `evtx` crate.
    Evtx,
}

macro_rules! formats {
    ($($var:ident => $name:literal, $framing:ident, $doc:literal;)*) => {
        /// A format vigil decodes. `--format` takes the name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Format { $(#[doc = $doc] $var),* }

        impl Format {
            /// Every format.
            pub const ALL: &[Format] = &[$(Format::$var),*];

            /// The name used by `--format`, in counts and in dead letters.
            pub fn name(self) -> &'static str {
                match self { $(Format::$var => $name),* }
            }

            /// How records of this format are framed.
            pub fn framing(self) -> Framing {
                match self { $(Format::$var => Framing::$framing),* }
            }

            /// One line on what the format is.
            pub fn describe(self) -> &'static str {
                match self { $(Format::$var => $doc),* }
            }
        }
    };
}

formats! {
    WindowsJson => "windows-json", Json, "Windows event log as flat JSON (NXLog, Winlogbeat-flat, Mordor): EventID, Channel, EventData fields at top level.";
    WindowsEvtxJson => "windows-evtx-json", Json, "Windows event log as nested EVTX-JSON: Event.System and Event.EventData.";
    WindowsSentinel => "windows-sentinel", Json, "Microsoft Sentinel SecurityEvent / WindowsEvent rows (TimeGenerated, Computer, EventID, Account).";
    Evtx => "evtx", Evtx, "Binary Windows .evtx files.";
    Okta => "okta", Json, "Okta System Log events.";
    Entra => "entra", Json, "Microsoft Entra ID sign-in and audit logs (Azure Monitor export or Sentinel tables).";
    CloudTrail => "cloudtrail", Json, "AWS CloudTrail records, one per value or in a Records array.";
    Syslog => "syslog", Lines, "Syslog lines in RFC 3164 or RFC 5424 framing; sshd and PAM messages become authentication rows.";
    ZeekTsv => "zeek-tsv", Lines, "Zeek logs as TSV with #fields headers.";
    ZeekJson => "zeek-json", Json, "Zeek logs as JSON (one object per line, _path or @stream naming the log).";
    Suricata => "suricata", Json, "Suricata EVE JSON (flow, alert, dns, http, tls, fileinfo, ...).";
    VpcFlow => "vpcflow", Lines, "AWS VPC flow logs, version 2 default or custom field order by header.";
    CicFlow => "cicflow", Lines, "CICFlowMeter / CIC-IDS2017 flow CSV with a header row.";
    Osquery => "osquery", Json, "osquery result logs (differential, snapshot) and status logs.";
    Mdm => "mdm", Json, "MDM device compliance records with Microsoft Graph managedDevice fields.";
    Json => "json", Json, "Any other JSON: kept as base events with fields flattened into unmapped.";
}

impl Format {
    /// Look a format up by name.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// A decoder for one input stream of this format.
    pub fn decoder(self, cfg: &DecodeConfig) -> Box<dyn Decoder> {
        match self {
            Format::WindowsJson | Format::WindowsEvtxJson | Format::WindowsSentinel => {
                formats::windows::decoder(self, cfg)
            }
            Format::Evtx => formats::windows::decoder(Format::WindowsEvtxJson, cfg),
            Format::Okta => formats::okta::decoder(cfg),
            Format::Entra => formats::entra::decoder(cfg),
            Format::CloudTrail => formats::cloudtrail::decoder(cfg),
            Format::Syslog => formats::syslog::decoder(cfg),
            Format::ZeekTsv | Format::ZeekJson => formats::zeek::decoder(self, cfg),
            Format::Suricata => formats::suricata::decoder(cfg),
            Format::VpcFlow => formats::vpcflow::decoder(cfg),
            Format::CicFlow => formats::cicflow::decoder(cfg),
            Format::Osquery => formats::osquery::decoder(cfg),
            Format::Mdm => formats::mdm::decoder(cfg),
            Format::Json => formats::json::decoder(cfg),
        }
    }
}

/// Tell the format of an input from its first bytes (already decompressed).
/// `None` when nothing fits; the caller then reports the input as unknown.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"ElfFile\0") {
        return Some(Format::Evtx);
    }
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return Some(classify_first_values(trimmed));
    }
    let mut lines = trimmed.lines().filter(|l| !l.trim().is_empty());
    let first = lines.next().unwrap_or("");
    if first.starts_with("#separator") || first.starts_with("#fields") {
        return Some(Format::ZeekTsv);
    }
    // N.B. a comment or a stray first line must not decide for the whole
    // file: the first of the first lines that fits a format wins.
    std::iter::once(first)
        .chain(lines)
        .take(SNIFF_LINES)
        .find_map(sniff_line)
}

/// Records looked at to tell a format: the first that is not generic wins.
const SNIFF_LINES: usize = 16;

fn sniff_line(line: &str) -> Option<Format> {
    if formats::vpcflow::looks_like(line) {
        return Some(Format::VpcFlow);
    }
    if formats::cicflow::looks_like(line) {
        return Some(Format::CicFlow);
    }
    if formats::syslog::looks_like(line) {
        return Some(Format::Syslog);
    }
    None
}

/// The format of the first JSON values that tell one; generic JSON when
/// none does (or when the first value does not fit in the sniff window).
fn classify_first_values(text: &str) -> Format {
    let mut frames = crate::framing::JsonValues::new(text.as_bytes(), usize::MAX);
    let mut seen = 0;
    while let Ok(Some(f)) = frames.next_frame() {
        if let crate::framing::Frame::Record { text, .. } = f
            && let Ok(v) = serde_json::from_str::<Value>(&text)
        {
            let format = classify_json(&v);
            if format != Format::Json {
                return format;
            }
        }
        seen += 1;
        if seen >= SNIFF_LINES {
            break;
        }
    }
    Format::Json
}

/// Which JSON format one value belongs to, by its keys.
pub fn classify_json(v: &Value) -> Format {
    let has = |k: &str| v.get(k).is_some();
    if let Some(Value::Array(recs)) = v.get("Records") {
        return recs.first().map_or(Format::CloudTrail, classify_json);
    }
    if let Some(Value::Array(vals)) = v.get("value")
        && let Some(first) = vals.first()
    {
        return classify_json(first);
    }
    if v.pointer("/Event/System").is_some() {
        return Format::WindowsEvtxJson;
    }
    if has("eventType") && has("published") {
        return Format::Okta;
    }
    if has("eventVersion") && has("eventSource") {
        return Format::CloudTrail;
    }
    if (has("TimeGenerated") || has("TimeCollected")) && (has("EventID") || has("EventId")) {
        return Format::WindowsSentinel;
    }
    if has("EventID") && (has("Channel") || has("SourceName") || has("Hostname")) {
        return Format::WindowsJson;
    }
    if formats::entra::looks_like(v) {
        return Format::Entra;
    }
    if has("@stream") || has("_path") || (has("uid") && has("id.orig_h")) || has("id_orig_h") {
        return Format::ZeekJson;
    }
    if has("event_type") && (has("src_ip") || has("flow_id") || has("timestamp")) {
        return Format::Suricata;
    }
    let osquery_result = has("name") && (has("columns") || has("snapshot")) && has("action");
    if has("hostIdentifier")
        || has("diffResults")
        || osquery_result
        || (has("calendarTime") && (has("columns") || has("snapshot")))
    {
        return Format::Osquery;
    }
    if has("complianceState") || (has("deviceName") && has("operatingSystem")) {
        return Format::Mdm;
    }
    Format::Json
}
