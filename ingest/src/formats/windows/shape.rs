//! The three JSON shapes of a Windows event, normalised to one [`Event`].
//!
//! - nested (EVTX rendered as JSON): `Event.System` and `Event.EventData`
//!   (or `Event.UserData`), XML attributes under `#attributes` (or, as
//!   chainsaw writes them, in an `Element_attributes` sibling);
//! - flat (NXLog, Mordor): System and EventData fields side by side at the
//!   top level, plus the shipper's own fields;
//! - Sentinel (`SecurityEvent`, `Event` tables): flat too, with Log
//!   Analytics column names.
//!
//! Every field gets the name Sigma rules use: an EventData or UserData
//! field its own name (`TargetUserName`), a System element its element name
//! (`Channel`, `EventRecordID`), an attribute `Element_Attribute`
//! (`Provider_Name`, `TimeCreated_SystemTime`, `EventID_Qualifiers`), an
//! array item `name.N`. Flat shapes also get the System names their
//! shipper renamed (`Computer` from NXLog's `Hostname`), and keep the
//! shipper's own names too. JSON nulls are left out: Sigma's `null` means
//! "absent", while an empty string stays an empty string.

use std::borrow::Cow;

use crate::decode::DecodeError;
use crate::formats::jsonval::Val;

/// Field name or value text, borrowed from the parsed record where it can.
pub(crate) type Text<'v> = Cow<'v, str>;

/// One Windows event, whatever shape it came in.
#[derive(Debug)]
pub(crate) struct Event<'v> {
    /// EventID as a number, however the source wrote it.
    pub(crate) id: u32,
    /// Every field by the name Sigma rules use, in record order.
    pub(crate) fields: Vec<(Text<'v>, Text<'v>)>,
    /// The rendered message, where the source carries one.
    pub(crate) message: Option<Text<'v>>,
}

impl<'v> Event<'v> {
    fn new(id: u32, capacity: usize) -> Event<'v> {
        Event {
            id,
            fields: Vec::with_capacity(capacity + 4),
            message: None,
        }
    }

    fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, _)| k == name)
    }

    /// Add `to` with the value of the first of `from` present, unless `to`
    /// is already there.
    fn alias(&mut self, to: &'static str, from: &[&str]) {
        if self.has(to) {
            return;
        }
        let found = from
            .iter()
            .find_map(|f| self.fields.iter().find(|(k, _)| k == f));
        if let Some((_, v)) = found {
            let v = v.clone();
            self.fields.push((Cow::Borrowed(to), v));
        }
    }

    /// `EventID` as plain decimal text, and its attributes (`Qualifiers`)
    /// beside it.
    fn push_event_id(&mut self, raw: &'v Val<'_>) {
        self.fields
            .push((Cow::Borrowed("EventID"), Cow::Owned(self.id.to_string())));
        if let Some(attrs) = raw.get("#attributes") {
            attributes(&mut self.fields, "EventID", attrs);
        }
    }
}

/// How the members of a plain (non-attribute) child object are named.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Naming {
    /// By their own name, as EventData and UserData fields are.
    Leaf,
    /// `parent.child`, for shipper objects that are not event data.
    Dotted,
}

/// The flat shapes: NXLog/Mordor (`sentinel` false) and Sentinel rows.
///
/// # Errors
///
/// A shape error when the record is not an object or has no `EventID`, a
/// value error when `EventID` is not a non-negative integer.
pub(crate) fn flat<'v>(v: &'v Val<'_>, sentinel: bool) -> Result<Event<'v>, DecodeError> {
    let members = record(v)?;
    let raw_id = v
        .get("EventID")
        .or_else(|| v.get("EventId"))
        .ok_or_else(|| DecodeError::shape("the record has no EventID"))?;
    let mut ev = Event::new(event_id(raw_id)?, members.len());
    for (k, x) in members {
        match k.as_ref() {
            "EventID" | "EventId" => ev.push_event_id(x),
            "Message" if matches!(x, Val::Str(_)) => ev.message = x.text(),
            "EventData" | "UserData" if matches!(x, Val::Obj(_)) => {
                children(&mut ev.fields, k, x, Naming::Leaf)
            }
            _ => member(&mut ev.fields, "", k, x, Naming::Dotted),
        }
    }
    if sentinel {
        sentinel_aliases(&mut ev);
    } else {
        ev.alias("Computer", &["Hostname"]);
        ev.alias("Provider_Name", &["SourceName"]);
        ev.alias("EventRecordID", &["RecordNumber"]);
    }
    Ok(ev)
}

/// Sentinel names: `EventSourceName` (SecurityEvent) or `Source` (Event)
/// is the provider, `EventLog` the channel; `X_string` and `X_dynamic`
/// are Log Analytics' type-suffixed copies of a field `X`.
fn sentinel_aliases(ev: &mut Event<'_>) {
    ev.alias("Provider_Name", &["EventSourceName", "Source"]);
    ev.alias("Channel", &["EventLog"]);
    let mut extra = Vec::new();
    for (k, v) in &ev.fields {
        let base = k
            .strip_suffix("_string")
            .or_else(|| k.strip_suffix("_dynamic"));
        if let Some(base) = base.filter(|b| !b.is_empty() && !ev.has(b)) {
            extra.push((Cow::Owned(base.to_string()), v.clone()));
        }
    }
    ev.fields.extend(extra);
}

/// The nested shape: `{"Event": {"System": {...}, "EventData": {...}}}`.
///
/// # Errors
///
/// A shape error naming what is missing (`Event`, `Event.System`,
/// `Event.System.EventID`), a value error for a bad `EventID`.
pub(crate) fn nested<'v>(v: &'v Val<'_>) -> Result<Event<'v>, DecodeError> {
    let top = record(v)?;
    let event = v
        .get("Event")
        .ok_or_else(|| DecodeError::shape("the record has no Event object"))?;
    let parts = members(event, "Event")?;
    let system = event
        .get("System")
        .ok_or_else(|| DecodeError::shape("Event has no System object"))?;
    let sys = members(system, "Event.System")?;
    let raw_id = system
        .get("EventID")
        .ok_or_else(|| DecodeError::shape("Event.System has no EventID"))?;

    let mut ev = Event::new(event_id(raw_id)?, sys.len() + 32);
    for (k, x) in sys {
        match k.as_ref() {
            "EventID" => ev.push_event_id(x),
            _ => member(&mut ev.fields, "", k, x, Naming::Leaf),
        }
    }
    for (k, x) in parts {
        match k.as_ref() {
            "System" | "#attributes" => {}
            "EventData" | "UserData" => children(&mut ev.fields, k, x, Naming::Leaf),
            _ => member(&mut ev.fields, "", k, x, Naming::Dotted),
        }
    }
    for (k, x) in top {
        if k != "Event" && k != "Event_attributes" {
            member(&mut ev.fields, "", k, x, Naming::Dotted);
        }
    }
    Ok(ev)
}

type Members<'v, 'a> = &'v [(Cow<'a, str>, Val<'a>)];

/// The members of a whole record, which must be an object.
fn record<'v, 'a>(v: &'v Val<'a>) -> Result<Members<'v, 'a>, DecodeError> {
    match v {
        Val::Obj(m) => Ok(m),
        other => Err(DecodeError::shape(format!(
            "expected a JSON object, found {}",
            other.kind()
        ))),
    }
}

/// The members of the part `what` of a record, which must be an object.
fn members<'v, 'a>(v: &'v Val<'a>, what: &str) -> Result<Members<'v, 'a>, DecodeError> {
    match v {
        Val::Obj(m) => Ok(m),
        other => Err(DecodeError::shape(format!(
            "{what} is {}, not an object",
            other.kind()
        ))),
    }
}

/// EventID as a number: `4624`, `"4624"` or
/// `{"#attributes": {"Qualifiers": 16384}, "#text": 4624}`.
///
/// # Errors
///
/// A value error on `EventID` for anything else, saying what it was.
pub(crate) fn event_id(v: &Val<'_>) -> Result<u32, DecodeError> {
    let bad = |what: String| DecodeError::value("EventID", what);
    match v {
        Val::Int(n) => u32::try_from(*n).map_err(|_| bad(format!("{n} is out of range"))),
        Val::Str(s) => s
            .trim()
            .parse::<u32>()
            .map_err(|_| bad(format!("{s:?} is not a non-negative integer"))),
        Val::Obj(_) => match v.get("#text") {
            Some(t) => event_id(t),
            None => Err(bad("an object without #text".into())),
        },
        other => Err(bad(format!("expected an integer, found {}", other.kind()))),
    }
}

/// Push `v` under `name`: a scalar as its text, an array item by item as
/// `name.N`, an object member by member (`#text` as `name` itself,
/// attributes as `name_Attribute`, plain members named by `naming`).
fn walk<'v>(out: &mut Vec<(Text<'v>, Text<'v>)>, name: Text<'v>, v: &'v Val<'_>, naming: Naming) {
    match v {
        Val::Null => {}
        Val::Arr(items) => {
            for (i, x) in items.iter().enumerate() {
                walk(out, Cow::Owned(format!("{name}.{i}")), x, naming);
            }
        }
        Val::Obj(_) => children(out, &name, v, naming),
        scalar => {
            if let Some(t) = scalar_text(scalar) {
                out.push((name, t));
            }
        }
    }
}

/// A scalar's text; fractional numbers as Rust writes them (`1`, not
/// `1.0` as serde_json does), which is how this decoder has always
/// written them.
fn scalar_text<'v>(v: &'v Val<'_>) -> Option<Text<'v>> {
    match v {
        Val::Str(s) => Some(Cow::Borrowed(s)),
        Val::Float(n) => Some(Cow::Owned(n.to_string())),
        _ => v.text(),
    }
}

/// The members of the object `v` whose own name is `name`. With
/// [`Naming::Leaf`] plain members are named by themselves, so the members
/// of `EventData` are `TargetUserName`, not `EventData.TargetUserName`.
fn children<'v>(out: &mut Vec<(Text<'v>, Text<'v>)>, name: &str, v: &'v Val<'_>, naming: Naming) {
    let Val::Obj(members) = v else {
        walk(out, Cow::Owned(name.to_string()), v, naming);
        return;
    };
    for (k, x) in members {
        member(out, name, k.as_ref(), x, naming);
    }
}

/// One member `k` of an object whose own name is `parent` ("" at the top
/// of a record or of System): `#text` is the parent's value, `#attributes`
/// its attributes, `X_attributes` (chainsaw's form) the attributes of the
/// sibling `X`, anything else a child named by `naming`.
fn member<'v>(
    out: &mut Vec<(Text<'v>, Text<'v>)>,
    parent: &str,
    k: &'v str,
    x: &'v Val<'_>,
    naming: Naming,
) {
    if k == "#text" {
        walk(out, Cow::Owned(parent.to_string()), x, naming);
    } else if k == "#attributes" {
        attributes(out, parent, x);
    } else if let Some(elem) = k.strip_suffix("_attributes") {
        attributes(out, &child_name(parent, elem, naming), x);
    } else {
        let child = match (naming, parent.is_empty()) {
            (Naming::Leaf, _) | (Naming::Dotted, true) => Cow::Borrowed(k),
            (Naming::Dotted, false) => Cow::Owned(format!("{parent}.{k}")),
        };
        walk(out, child, x, naming);
    }
}

fn child_name(parent: &str, k: &str, naming: Naming) -> String {
    match naming {
        Naming::Dotted if !parent.is_empty() => format!("{parent}.{k}"),
        _ => k.to_string(),
    }
}

/// XML attributes of element `elem` as `elem_Attribute`; namespace
/// declarations (`xmlns`) are left out.
fn attributes<'v>(out: &mut Vec<(Text<'v>, Text<'v>)>, elem: &str, attrs: &'v Val<'_>) {
    let Val::Obj(members) = attrs else {
        return;
    };
    for (a, x) in members {
        if a == "xmlns" || a.starts_with("xmlns:") {
            continue;
        }
        let name = if elem.is_empty() {
            Cow::Borrowed(a.as_ref())
        } else {
            Cow::Owned(format!("{elem}_{a}"))
        };
        walk(out, name, x, Naming::Leaf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::jsonval::parse_all as parse;

    fn pairs(ev: &Event<'_>) -> Vec<String> {
        ev.fields.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    #[test]
    fn nested_system_names_follow_sigma() {
        let text = r##"{"Event":{"#attributes":{"xmlns":"x"},"System":{
            "Provider":{"#attributes":{"Name":"P","Guid":"G"}},
            "EventID":{"#attributes":{"Qualifiers":16384},"#text":"7045"},
            "TimeCreated":{"#attributes":{"SystemTime":"2022-10-11T19:26:52Z"}},
            "EventRecordID":7,"Correlation":null,"Channel":"System","Computer":"h"},
            "EventData":{"A":"1","B":null,"C":"","Data":{"#text":["x","y"]}}}}"##;
        let v = parse(text).expect("json");
        let ev = nested(&v).expect("event");
        assert_eq!(ev.id, 7045);
        assert_eq!(
            pairs(&ev),
            [
                "Provider_Name=P",
                "Provider_Guid=G",
                "EventID=7045",
                "EventID_Qualifiers=16384",
                "TimeCreated_SystemTime=2022-10-11T19:26:52Z",
                "EventRecordID=7",
                "Channel=System",
                "Computer=h",
                "A=1",
                "C=",
                "Data.0=x",
                "Data.1=y",
            ]
        );
    }

    #[test]
    fn separate_attribute_members_as_chainsaw_writes_them() {
        let text = r##"{"Event_attributes":{"xmlns":"x"},"Event":{"System":{
            "Provider_attributes":{"Name":"P"},"EventID":4624,
            "Execution_attributes":{"ProcessID":688}},
            "UserData":{"Op":{"#attributes":{"xmlns":"y"},"User":"u"}}}}"##;
        let v = parse(text).expect("json");
        let ev = nested(&v).expect("event");
        assert_eq!(
            pairs(&ev),
            [
                "Provider_Name=P",
                "EventID=4624",
                "Execution_ProcessID=688",
                "User=u"
            ]
        );
    }

    #[test]
    fn flat_aliases_and_shipper_fields() {
        let text = r#"{"EventID":"4624","Hostname":"H","SourceName":"S","RecordNumber":9,
            "tags":["a"],"Message":"m","EventData":{"X":"1"},"winlog":{"k":"v"}}"#;
        let v = parse(text).expect("json");
        let ev = flat(&v, false).expect("event");
        assert_eq!(ev.message.as_deref(), Some("m"));
        assert_eq!(
            pairs(&ev),
            [
                "EventID=4624",
                "Hostname=H",
                "SourceName=S",
                "RecordNumber=9",
                "tags.0=a",
                "X=1",
                "winlog.k=v",
                "Computer=H",
                "Provider_Name=S",
                "EventRecordID=9",
            ]
        );
    }

    #[test]
    fn sentinel_aliases() {
        let text = r#"{"EventID":18,"Source":"Sysmon","EventLog":"L","ProcessId_dynamic":"5"}"#;
        let v = parse(text).expect("json");
        let ev = flat(&v, true).expect("event");
        assert_eq!(
            pairs(&ev)[4..],
            ["Provider_Name=Sysmon", "Channel=L", "ProcessId=5"]
        );
    }

    #[test]
    fn bad_event_ids_say_what_they_were() {
        let cases = [
            (
                r#"{"EventID":"abc"}"#,
                r#"value of EventID: "abc" is not a non-negative integer"#,
            ),
            (r#"{"EventID":-1}"#, "value of EventID: -1 is out of range"),
            (
                r#"{"EventID":1.5}"#,
                "value of EventID: expected an integer, found a number",
            ),
            (
                r#"{"EventID":{"a":1}}"#,
                "value of EventID: an object without #text",
            ),
            (
                r#"{"Channel":"Security"}"#,
                "shape: the record has no EventID",
            ),
            ("[]", "shape: expected a JSON object, found an array"),
        ];
        for (text, want) in cases {
            let v = parse(text).expect("json");
            let err = flat(&v, false).expect_err(text);
            assert_eq!(err.to_string(), want, "{text}");
        }
    }

    #[test]
    fn nested_errors_name_the_missing_part() {
        let cases = [
            (r#"{"System":{}}"#, "shape: the record has no Event object"),
            (r#"{"Event":[]}"#, "shape: Event is an array, not an object"),
            (
                r#"{"Event":{"EventData":{}}}"#,
                "shape: Event has no System object",
            ),
            (
                r#"{"Event":{"System":"x"}}"#,
                "shape: Event.System is a string, not an object",
            ),
            (
                r#"{"Event":{"System":{"Channel":"S"}}}"#,
                "shape: Event.System has no EventID",
            ),
        ];
        for (text, want) in cases {
            let v = parse(text).expect("json");
            let err = nested(&v).expect_err(text);
            assert_eq!(err.to_string(), want, "{text}");
        }
    }
}
