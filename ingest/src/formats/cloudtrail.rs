//! AWS CloudTrail records.
//!
//! Records arrive one JSON object per line (CloudWatch Logs, Mordor,
//! Panther) or as the files CloudTrail writes to S3, `{"Records": [...]}`.
//! A `Records` file is one framed value holding many events: each element
//! becomes its own row, and its `raw_data`, offset and line are that
//! element's own bytes and place, so a file of n events does not store
//! itself n times. Every element is checked before any row is written; one
//! broken element makes the whole value a dead letter naming its index
//! (`Records[3]: ...`).
//!
//! | `eventName` | class, activity |
//! | --- | --- |
//! | `ConsoleLogin`, `SwitchRole` | authentication, 1 Logon |
//! | STS credential calls (see below) | authentication, 3 Authentication Ticket |
//! | everything else | base event |
//!
//! The STS calls, `AssumeRole*`, `AssumeRoot`, `GetSessionToken` and
//! `GetFederationToken`, issue temporary credentials rather than open a
//! session, which is what OCSF's "authentication ticket" activity
//! describes (as a Kerberos TGT does).
//!
//! Mapping decisions:
//! - `time` is `eventTime`, else `@timestamp` (Logstash-shipped records
//!   such as Mordor's have only that). A record with neither takes the
//!   ingest time; one that is present and not a timestamp is an error.
//! - Console events take their outcome from `responseElements.ConsoleLogin`
//!   / `.SwitchRole` (`Success` / `Failure`); API calls fail when they
//!   carry `errorCode` and succeed otherwise. `status_code` is `errorCode`,
//!   `status_detail` is `errorMessage`.
//! - The identity is `userIdentity.userName`, else the last part of its
//!   ARN (the session name of an assumed role, `root`), else `invokedBy`
//!   (an AWS service), else the part of `principalId` after `:`. On
//!   authentication rows it is the user (`user_uid` = `principalId`,
//!   `user_type` = `userIdentity.type`); on base events it is the actor.
//! - `is_mfa` is `additionalEventData.MFAUsed` (`Yes` / `No`), else the
//!   session's `mfaAuthenticated`. A SAML console login or
//!   `AssumeRoleWithSAML` is `auth_protocol` SAML, `AssumeRoleWithWebIdentity`
//!   OIDC.
//! - `sourceIPAddress` is `src_endpoint_ip` when it is an address; when it
//!   is a service name (`s3.amazonaws.com`, `AWS Internal`) it is
//!   `src_endpoint_hostname`.
//! - `api_operation` is `eventName`, `api_service_name` `eventSource`,
//!   `api_request_uid` `requestID`, `cloud_region` `awsRegion`, and
//!   `cloud_account_uid` `recipientAccountId` (the account that logged the
//!   event; the caller's account stays in `unmapped`).
//! - Every field is flattened into `unmapped` under its CloudTrail path.
//!   Optional fields may be absent or `null` (`requestParameters`,
//!   `responseElements`, `requestID`, `recipientAccountId`); neither is an
//!   error and nulls are not written (edge case BH-26). The target role of
//!   `SwitchRole` / `AssumeRole` stays there too
//!   (`additionalEventData.SwitchTo`, `requestParameters.roleArn`).

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use vigil_schemas::{Class, Field, Row, parse_ip};

use super::jsonval::{Val, flatten_into, parse, parse_time};
use crate::decode::{DecodeConfig, DecodeError, Decoder, Record};
use crate::emit::Emitter;

const PRODUCT: &str = "CloudTrail";
const VENDOR: &str = "AWS";

struct CloudTrail;

/// A decoder for AWS CloudTrail records.
pub fn decoder(_cfg: &DecodeConfig) -> Box<dyn Decoder> {
    Box::new(CloudTrail)
}

impl Decoder for CloudTrail {
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
        let wrapped = memchr::memmem::find(rec.text.as_bytes(), b"\"Records\"").is_some();
        if wrapped && let Some(subs) = split_array(rec, "Records") {
            return decode_all(&subs, out);
        }
        let v = parse(rec.text)?;
        Trail::read(&v)?.emit(rec, out);
        Ok(())
    }
}

/// Check every element of a `Records` list, then write them all.
fn decode_all(subs: &[Record<'_>], out: &mut Emitter) -> Result<(), DecodeError> {
    let values = subs
        .iter()
        .enumerate()
        .map(|(i, r)| parse(r.text).map_err(|e| in_element(e, "Records", i)))
        .collect::<Result<Vec<_>, _>>()?;
    let trails = values
        .iter()
        .enumerate()
        .map(|(i, v)| Trail::read(v).map_err(|e| in_element(e, "Records", i)))
        .collect::<Result<Vec<_>, _>>()?;
    for (r, t) in subs.iter().zip(&trails) {
        t.emit(r, out);
    }
    Ok(())
}

/// The elements of the array under `key` of a record that is a JSON
/// object, each as a record of its own: its exact text, its line and its
/// byte offset in the input. `None` when the record is not an object with
/// such an array (or has a key written with escapes, which no wrapper
/// does).
pub(crate) fn split_array<'a>(rec: &Record<'a>, key: &str) -> Option<Vec<Record<'a>>> {
    let top: HashMap<&'a str, &'a RawValue> = serde_json::from_str(rec.text).ok()?;
    let list: Vec<&'a RawValue> = serde_json::from_str(top.get(key)?.get()).ok()?;
    let base = rec.text.as_ptr() as usize;
    let (mut line, mut seen) = (rec.line, 0usize);
    let subs = list
        .into_iter()
        .map(|raw| {
            let text = raw.get();
            let at = (text.as_ptr() as usize)
                .saturating_sub(base)
                .min(rec.text.len());
            let between = rec.text.as_bytes().get(seen..at).unwrap_or_default();
            line += memchr::memchr_iter(b'\n', between).count() as u64;
            seen = at.max(seen);
            Record {
                text,
                line,
                offset: rec.offset + at as u64,
            }
        })
        .collect();
    Some(subs)
}

/// Say which element of a wrapper list an error is about.
pub(crate) fn in_element(e: DecodeError, key: &str, i: usize) -> DecodeError {
    match e {
        DecodeError::Syntax(d) => DecodeError::syntax(format!("{key}[{i}]: {d}")),
        DecodeError::Shape(d) => DecodeError::shape(format!("{key}[{i}]: {d}")),
        DecodeError::Value { field, detail } => {
            DecodeError::value(format!("{key}[{i}].{field}"), detail)
        }
    }
}

/// The authentication activity of an event name, or `None` for API calls
/// that are not sign-ins.
fn activity(name: &str) -> Option<(i64, &'static str)> {
    match name {
        "ConsoleLogin" | "SwitchRole" => Some((1, "Logon")),
        "GetSessionToken" | "GetFederationToken" | "AssumeRoot" => {
            Some((3, "Authentication Ticket"))
        }
        n if n.starts_with("AssumeRole") => Some((3, "Authentication Ticket")),
        _ => None,
    }
}

/// An event time and the text it was read from.
type Stamp<'a> = (DateTime<Utc>, Cow<'a, str>);

/// One CloudTrail event, checked.
struct Trail<'a> {
    v: &'a Val<'a>,
    name: &'a str,
    time: Option<Stamp<'a>>,
}

impl<'a> Trail<'a> {
    fn read(v: &'a Val<'a>) -> Result<Self, DecodeError> {
        if v.as_obj().is_none() {
            return Err(DecodeError::shape(
                "expected a JSON object (a CloudTrail record)",
            ));
        }
        let name = match v.get("eventName") {
            Some(Val::Str(s)) if !s.trim().is_empty() => s.as_ref(),
            None | Some(Val::Null) => {
                return Err(DecodeError::shape("cloudtrail record has no eventName"));
            }
            Some(other) => {
                return Err(DecodeError::value(
                    "eventName",
                    format!("expected the API call's name as text, found {other}"),
                ));
            }
        };
        let time = Self::time(v)?;
        Ok(Trail { v, name, time })
    }

    /// `eventTime`, else `@timestamp`; present but unreadable is an error.
    fn time(v: &'a Val<'a>) -> Result<Option<Stamp<'a>>, DecodeError> {
        let found = ["eventTime", "@timestamp"]
            .into_iter()
            .find_map(|k| Some((k, v.get(k).filter(|x| !x.is_null())?)));
        let Some((key, t)) = found else {
            return Ok(None);
        };
        match parse_time(t) {
            Some(parsed) => Ok(Some((parsed, t.text().unwrap_or_default()))),
            None => Err(DecodeError::value(key, format!("not a timestamp: {t}"))),
        }
    }

    fn str(&self, path: &[&str]) -> Option<&'a str> {
        self.v.at(path)?.as_str().filter(|s| !s.is_empty())
    }

    fn emit(&self, rec: &Record<'_>, out: &mut Emitter) {
        let act = activity(self.name);
        let class = if act.is_some() {
            Class::Authentication
        } else {
            Class::BaseEvent
        };
        let mut row = out.row(rec, class);
        self.common(&mut row);
        match act {
            Some(act) => self.auth(&mut row, act),
            None => {
                row.opt_str(Field::ActorUserName, self.identity());
            }
        }
        flatten_into(&mut row, self.v);
    }

    /// Fields every row carries, whatever its class.
    fn common(&self, row: &mut Row<'_>) {
        if let Some((t, original)) = &self.time {
            row.time(Field::Time, *t);
            row.str(Field::MetadataOriginalTime, original);
        }
        row.str(Field::MetadataProductName, PRODUCT);
        row.str(Field::MetadataProductVendorName, VENDOR);
        row.str(
            Field::MetadataLogName,
            self.str(&["eventType"]).unwrap_or(PRODUCT),
        );
        row.opt_str(Field::MetadataUid, self.str(&["eventID"]));
        row.str(Field::MetadataEventCode, self.name);
        row.str(Field::ApiOperation, self.name);
        row.opt_str(Field::ApiServiceName, self.str(&["eventSource"]));
        row.opt_str(Field::ApiRequestUid, self.str(&["requestID"]));
        row.str(Field::CloudProvider, "AWS");
        row.opt_str(Field::CloudRegion, self.str(&["awsRegion"]));
        row.opt_str(Field::CloudAccountUid, self.str(&["recipientAccountId"]));
        self.outcome(row);
        if let Some(src) = self.str(&["sourceIPAddress"]) {
            if parse_ip(src).is_some() {
                row.ip(Field::SrcEndpointIp, src);
            } else {
                row.str(Field::SrcEndpointHostname, src);
            }
        }
    }

    /// Status from the console response or from `errorCode`.
    fn outcome(&self, row: &mut Row<'_>) {
        let error = self.str(&["errorCode"]);
        let console = matches!(self.name, "ConsoleLogin" | "SwitchRole");
        let ok = match self.str(&["responseElements", self.name]) {
            Some(r) if console && r.eq_ignore_ascii_case("Success") => Some(true),
            Some(r) if console && r.eq_ignore_ascii_case("Failure") => Some(false),
            _ if error.is_some() => Some(false),
            _ => (!console).then_some(true),
        };
        if let Some(ok) = ok {
            row.int(Field::StatusId, if ok { 1 } else { 2 });
            row.str(Field::Status, if ok { "Success" } else { "Failure" });
        }
        row.opt_str(Field::StatusCode, error);
        row.opt_str(Field::StatusDetail, self.str(&["errorMessage"]));
    }

    fn auth(&self, row: &mut Row<'_>, act: (i64, &str)) {
        row.int(Field::ActivityId, act.0);
        row.str(Field::ActivityName, act.1);
        row.opt_str(Field::UserName, self.identity());
        row.opt_str(Field::UserUid, self.str(&["userIdentity", "principalId"]));
        row.opt_str(Field::UserType, self.str(&["userIdentity", "type"]));
        row.opt_str(Field::HttpRequestUserAgent, self.str(&["userAgent"]));
        if let Some(mfa) = self.mfa() {
            row.bool(Field::IsMfa, mfa);
        }
        let saml = self
            .str(&["additionalEventData", "SamlProviderArn"])
            .is_some();
        let (protocol, id) = match self.name {
            "AssumeRoleWithSAML" => ("SAML", 5),
            "AssumeRoleWithWebIdentity" => ("OIDC", 4),
            _ if saml => ("SAML", 5),
            _ => return,
        };
        row.str(Field::AuthProtocol, protocol);
        row.int(Field::AuthProtocolId, id);
    }

    /// Who made the call (see the module docs for the order).
    fn identity(&self) -> Option<&'a str> {
        let ui = |k: &str| self.str(&["userIdentity", k]);
        let from_arn = ui("arn").and_then(|arn| {
            let last = arn.rsplit_once('/').or_else(|| arn.rsplit_once(':'))?.1;
            (!last.is_empty()).then_some(last)
        });
        ui("userName")
            .or(from_arn)
            .or_else(|| ui("invokedBy"))
            .or_else(|| ui("principalId").and_then(|p| p.rsplit(':').next()))
    }

    /// `MFAUsed`, else the session's `mfaAuthenticated`.
    fn mfa(&self) -> Option<bool> {
        if let Some(used) = self.str(&["additionalEventData", "MFAUsed"]) {
            return vigil_schemas::parse_bool(used);
        }
        let path = [
            "userIdentity",
            "sessionContext",
            "attributes",
            "mfaAuthenticated",
        ];
        match self.v.at(&path)? {
            Val::Bool(b) => Some(*b),
            Val::Str(s) => vigil_schemas::parse_bool(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_into_their_own_bytes_lines_and_offsets() {
        let text = "{\"Records\": [\n  {\"a\": 1},\n  {\"b\": [2]}\n]}";
        let rec = Record {
            text,
            line: 10,
            offset: 100,
        };
        let subs = split_array(&rec, "Records").expect("a Records list");
        let got: Vec<(&str, u64, u64)> = subs.iter().map(|r| (r.text, r.line, r.offset)).collect();
        assert_eq!(got, [("{\"a\": 1}", 11, 116), ("{\"b\": [2]}", 12, 128)]);
        assert!(split_array(&rec, "value").is_none());
    }

    #[test]
    fn activities_by_event_name() {
        assert_eq!(activity("ConsoleLogin"), Some((1, "Logon")));
        assert_eq!(activity("AssumeRoleWithSAML").map(|a| a.0), Some(3));
        assert_eq!(activity("GetSessionToken").map(|a| a.0), Some(3));
        assert_eq!(activity("ListBuckets"), None);
    }
}
