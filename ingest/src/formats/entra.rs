//! Microsoft Entra ID (Azure AD) sign-in and audit logs.
//!
//! The same events reach vigil in three shapes, and one decoder reads all
//! of them by looking each field up first in `properties`, then at the top
//! level, ignoring ASCII case:
//!
//! - Azure Monitor export (diagnostic settings to storage or Event Hub):
//!   `time`, `category`, `operationName`, `resultType`, `callerIpAddress`,
//!   and the event itself in `properties`.
//! - Log Analytics / Sentinel rows (`SigninLogs`, `AAD*SignInLogs`,
//!   `AuditLogs`): PascalCase columns (`CreatedDateTime`, `IPAddress`,
//!   `InitiatedBy`), dynamic columns often written as JSON text.
//! - Microsoft Graph (`/auditLogs/signIns`, `/auditLogs/directoryAudits`):
//!   the `properties` fields at the top level.
//!
//! A `{"records": [...]}` (Event Hub) or `{"value": [...]}` (Graph page)
//! wrapper is one record holding many events: each element becomes its own
//! row, with its own bytes as `raw_data`.
//!
//! Which class each record becomes:
//! - sign-ins (category or table `*SignInLogs`: interactive,
//!   non-interactive, service principal, managed identity, ADFS; or a
//!   Graph sign-in): authentication, activity 1 Logon;
//! - audits (category or table `AuditLogs`, or anything with `initiatedBy`
//!   or `activityDateTime`): base event, `api_operation` = `operationName`;
//! - other Entra categories (risk, provisioning): base event.
//!
//! Mapping decisions:
//! - Event time is `createdDateTime` for sign-ins and `activityDateTime`
//!   for audits, not `time`: Azure writes `time` when it processed the
//!   record, a minute or two later (edge case BH-29). `time`, then
//!   `TimeGenerated`, are used only when the event's own time is absent.
//!   Entra's 100 ns fractions are kept to the microsecond. `time` may be
//!   in US 12-hour form (`11/14/2025 1:48:53 AM`, UTC), which parses.
//!   vigil has no column for the processing time; it stays in `unmapped`
//!   as written.
//! - Sign-in status: `status.errorCode`, else `resultType`, as a number or
//!   numeric text; 0 is success, anything else failure (Entra's
//!   "interrupted" codes such as 50074 count as failures, as the portal
//!   shows them). The code is `status_code`, `status.failureReason` or
//!   `resultDescription` is `status_detail`. With neither code, the word
//!   SUCCESS or FAILURE in `resultType` or `resultSignature` decides.
//! - The user is `userPrincipalName` (also `user_email_addr`), `userId`,
//!   `userType`. For service-principal and managed-identity sign-ins the
//!   principal signing in is the user: `servicePrincipalName` (else
//!   `appDisplayName`), `servicePrincipalId` (else `appId`), `user_type`
//!   `ServicePrincipal` or `ManagedIdentity`.
//! - `service_name` is the application signed in to (`appDisplayName`,
//!   `appId`); for service principals, the resource they asked for.
//! - `src_endpoint_ip` is `ipAddress`, else `callerIpAddress`; location is
//!   `location` / `LocationDetails` (Entra writes ISO-2 countries).
//! - `is_mfa` follows `authenticationRequirement` (multi- or single-factor);
//!   `auth_protocol` is `authenticationProtocol` unless `none`.
//! - `cloud_account_uid` is `AADTenantId`, else `tenantId`. N.B. a
//!   Sentinel row's `TenantId` is the Log Analytics workspace, which is
//!   why `AADTenantId` comes first.
//! - Audit rows: `actor_user_name` is the initiating user's UPN (or the
//!   initiating app), `user_name` the first `User` target, `src_endpoint_ip`
//!   the initiator's address, status from `result`.
//! - Everything is flattened into `unmapped` under its source path. Top-level
//!   text that holds JSON (Sentinel's `InitiatedBy`, `TargetResources`,
//!   `Status`) is kept as written and also flattened under its key
//!   (`InitiatedBy.user.userPrincipalName`).

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};
use vigil_schemas::{Class, Field, Row};

use super::cloudtrail::{in_element, split_array};
use super::jsonval::{Val, flatten_into, flatten_under, parse, parse_time};
use super::util::{contains_ignoring_case, id_ignoring_case};
use crate::decode::{DecodeConfig, DecodeError, Decoder, Record};
use crate::emit::Emitter;

const PRODUCT: &str = "Entra ID";
const VENDOR: &str = "Microsoft";

/// Wrappers that hold many events in one JSON value.
const WRAPPERS: &[&str] = &["records", "value"];

struct Entra;

/// A decoder for Entra ID sign-in and audit logs.
pub fn decoder(_cfg: &DecodeConfig) -> Box<dyn Decoder> {
    Box::new(Entra)
}

impl Decoder for Entra {
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
        let v = parse(rec.text)?;
        if v.as_obj().is_none() {
            return Err(DecodeError::shape(
                "expected a JSON object (an Entra sign-in or audit record)",
            ));
        }
        if let Some(key) = wrapper(&v) {
            return decode_wrapped(rec, out, key);
        }
        Event::read(&v)?.emit(rec, out);
        Ok(())
    }
}

/// The wrapper key when `m` is a `records` / `value` list, not an event.
fn wrapper(v: &Val<'_>) -> Option<&'static str> {
    if v.get("category").is_some() || v.get("properties").is_some() {
        return None;
    }
    let objects = |a: &[Val<'_>]| a.iter().all(|x| x.as_obj().is_some());
    WRAPPERS
        .iter()
        .copied()
        .find(|k| v.get(k).and_then(Val::as_arr).is_some_and(objects))
}

/// Check every element of the wrapper, then write them all.
fn decode_wrapped(rec: &Record<'_>, out: &mut Emitter, key: &str) -> Result<(), DecodeError> {
    let Some(subs) = split_array(rec, key) else {
        return Err(DecodeError::shape(format!(
            "`{key}` is not a list of records"
        )));
    };
    let values = subs
        .iter()
        .enumerate()
        .map(|(i, r)| parse(r.text).map_err(|e| in_element(e, key, i)))
        .collect::<Result<Vec<_>, _>>()?;
    let events = values
        .iter()
        .enumerate()
        .map(|(i, v)| Event::read(v).map_err(|e| in_element(e, key, i)))
        .collect::<Result<Vec<_>, _>>()?;
    for (r, ev) in subs.iter().zip(&events) {
        ev.emit(r, out);
    }
    Ok(())
}

/// What a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    SignIn,
    Audit,
    Other,
}

/// One record, read: its fields, kind and time, checked before any row.
struct Event<'a> {
    view: View<'a>,
    kind: Kind,
    time: Option<(DateTime<Utc>, String)>,
    /// The log name, [`View::log_name`] of the kind.
    log: Cow<'a, str>,
}

impl<'a> Event<'a> {
    fn read(v: &'a Val<'a>) -> Result<Self, DecodeError> {
        let Some(view) = View::new(v) else {
            return Err(DecodeError::shape(
                "expected a JSON object (an Entra sign-in or audit record)",
            ));
        };
        let kind = view.kind().ok_or_else(|| {
            DecodeError::shape(
                "not an Entra record: none of category, Type, operationName, \
                 createdDateTime or activityDateTime",
            )
        })?;
        let keys: &[&str] = match kind {
            Kind::SignIn => &["createdDateTime", "time", "TimeGenerated"],
            Kind::Audit => &["activityDateTime", "time", "TimeGenerated"],
            Kind::Other => &[
                "createdDateTime",
                "activityDateTime",
                "time",
                "TimeGenerated",
            ],
        };
        let time = event_time(&view, keys)?;
        let log = view.log_name(kind);
        Ok(Event {
            view,
            kind,
            time,
            log,
        })
    }

    fn emit(&self, rec: &Record<'_>, out: &mut Emitter) {
        let class = match self.kind {
            Kind::SignIn => Class::Authentication,
            Kind::Audit | Kind::Other => Class::BaseEvent,
        };
        let mut row = out.row(rec, class);
        self.common(&mut row);
        match self.kind {
            Kind::SignIn => sign_in(&mut row, &self.view, &self.log),
            Kind::Audit => audit(&mut row, &self.view),
            Kind::Other => {
                if let Some(ip) = self.view.str(&["callerIpAddress"]) {
                    row.ip(Field::SrcEndpointIp, ip);
                }
            }
        }
        self.view.unmapped(&mut row);
    }

    fn common(&self, row: &mut Row<'_>) {
        let view = &self.view;
        if let Some((t, original)) = &self.time {
            row.time(Field::Time, *t);
            row.str(Field::MetadataOriginalTime, original);
        }
        row.str(Field::MetadataProductName, PRODUCT);
        row.str(Field::MetadataProductVendorName, VENDOR);
        row.str(Field::MetadataLogName, &self.log);
        row.opt_str(Field::MetadataUid, view.str(&["id"]));
        row.opt_str(Field::MetadataEventCode, view.str(&["operationName"]));
        row.str(Field::CloudProvider, "Azure");
        let tenant = view
            .v
            .get_ci("AADTenantId")
            .or_else(|| view.get("tenantId"));
        row.opt_str(
            Field::CloudAccountUid,
            tenant.and_then(Val::text).as_deref(),
        );
    }
}

/// The first of `keys` present is the event time; it must parse.
fn event_time(
    view: &View<'_>,
    keys: &[&str],
) -> Result<Option<(DateTime<Utc>, String)>, DecodeError> {
    let Some((key, v)) = keys.iter().find_map(|k| Some((*k, view.get(k)?))) else {
        return Ok(None);
    };
    let original = v.text().unwrap_or_default().into_owned();
    match parse_entra_time(v) {
        Some(t) => Ok(Some((t, original))),
        None => Err(DecodeError::value(key, format!("not a timestamp: {v}"))),
    }
}

/// [`parse_time`], plus the US 12-hour form Azure Monitor sometimes writes
/// (`11/14/2025 1:48:53 AM`, UTC).
fn parse_entra_time(v: &Val<'_>) -> Option<DateTime<Utc>> {
    parse_time(v).or_else(|| {
        let s = v.as_str()?.trim();
        let t = NaiveDateTime::parse_from_str(s, "%m/%d/%Y %I:%M:%S %p").ok()?;
        Some(Utc.from_utc_datetime(&t))
    })
}

fn sign_in(row: &mut Row<'_>, view: &View<'_>, log: &str) {
    row.int(Field::ActivityId, 1);
    row.str(Field::ActivityName, "Logon");
    sign_in_status(row, view);
    principal(row, view, log);
    let ip = view
        .str(&["ipAddress"])
        .or_else(|| view.str(&["callerIpAddress"]));
    if let Some(ip) = ip {
        row.ip(Field::SrcEndpointIp, ip);
    }
    location(row, view);
    row.opt_str(Field::HttpRequestUserAgent, view.str(&["userAgent"]));
    row.opt_str(Field::ActorSessionUid, view.str(&["sessionId"]));
    row.opt_str(Field::DeviceUid, view.str(&["deviceDetail", "deviceId"]));
    row.opt_str(
        Field::DeviceHostname,
        view.str(&["deviceDetail", "displayName"]),
    );
    match view.str(&["authenticationRequirement"]) {
        Some("multiFactorAuthentication") => row.bool(Field::IsMfa, true),
        Some("singleFactorAuthentication") => row.bool(Field::IsMfa, false),
        _ => row,
    };
    if let Some(p) = view
        .str(&["authenticationProtocol"])
        .filter(|p| *p != "none")
    {
        const IDS: &[(&str, i64)] = &[("saml20", 5), ("devicecode", 6), ("ropc", 6), ("oauth2", 6)];
        let id = id_ignoring_case(p, IDS, 99);
        row.str(Field::AuthProtocol, p);
        row.int(Field::AuthProtocolId, id);
    }
}

fn sign_in_status(row: &mut Row<'_>, view: &View<'_>) {
    let code = view.at(&["status", "errorCode"]).and_then(Val::as_int);
    let code = code.or_else(|| view.get("resultType").and_then(Val::as_int));
    let ok = match code {
        Some(c) => {
            row.str(Field::StatusCode, &c.to_string());
            Some(c == 0)
        }
        None => ["resultType", "resultSignature"]
            .iter()
            .find_map(|k| match view.str(&[k]) {
                Some(s) if s.eq_ignore_ascii_case("SUCCESS") => Some(true),
                Some(s) if s.eq_ignore_ascii_case("FAILURE") => Some(false),
                _ => None,
            }),
    };
    if let Some(ok) = ok {
        row.int(Field::StatusId, if ok { 1 } else { 2 });
        row.str(Field::Status, if ok { "Success" } else { "Failure" });
    }
    let detail = view.str(&["status", "failureReason"]);
    row.opt_str(
        Field::StatusDetail,
        detail.or_else(|| view.str(&["resultDescription"])),
    );
}

/// The principal signing in: a user, or a service principal / managed
/// identity; and the application or resource it signed in to.
fn principal(row: &mut Row<'_>, view: &View<'_>, log: &str) {
    let upn = view.str(&["userPrincipalName"]);
    let spn = view.str(&["servicePrincipalName"]);
    let managed = contains_ignoring_case(log, "managedidentity");
    let service = contains_ignoring_case(log, "serviceprincipal") || managed;
    if service || (upn.is_none() && spn.is_some()) {
        let kind = if managed {
            "ManagedIdentity"
        } else {
            "ServicePrincipal"
        };
        row.opt_str(
            Field::UserName,
            spn.or_else(|| view.str(&["appDisplayName"])),
        );
        let uid = view
            .str(&["servicePrincipalId"])
            .or_else(|| view.str(&["appId"]));
        row.opt_str(Field::UserUid, uid);
        row.str(Field::UserType, kind);
        row.opt_str(Field::ServiceName, view.str(&["resourceDisplayName"]));
        return;
    }
    if let Some(upn) = upn {
        row.str(Field::UserName, upn);
        if upn.contains('@') {
            row.str(Field::UserEmailAddr, upn);
        }
    }
    row.opt_str(Field::UserName, view.str(&["userDisplayName"]));
    row.opt_str(Field::UserUid, view.str(&["userId"]));
    row.opt_str(Field::UserType, view.str(&["userType"]));
    let app = view
        .str(&["appDisplayName"])
        .or_else(|| view.str(&["resourceDisplayName"]));
    row.opt_str(Field::ServiceName, app);
    row.opt_str(Field::ServiceUid, view.str(&["appId"]));
}

/// City, country and coordinates of the sign-in.
fn location(row: &mut Row<'_>, view: &View<'_>) {
    let is_obj = |x: &&Val<'_>| x.as_obj().is_some();
    let loc = match view.get("location").filter(is_obj) {
        Some(m) => Some(m),
        _ => view.get("LocationDetails").filter(is_obj),
    };
    let Some(loc) = loc else { return };
    row.opt_str(Field::SrcEndpointLocationCity, loc.str_at(&["city"]));
    if let Some(c) = loc.str_at(&["countryOrRegion"])
        && c.len() == 2
    {
        row.str(Field::SrcEndpointLocationCountry, &c.to_ascii_uppercase());
    }
    let coord = |k: &str| {
        let v = loc.at_ci(&["geoCoordinates", k])?;
        v.as_f64().or_else(|| v.as_str()?.trim().parse().ok())
    };
    if let Some(lat) = coord("latitude") {
        row.float(Field::SrcEndpointLocationLat, lat);
    }
    if let Some(lon) = coord("longitude") {
        row.float(Field::SrcEndpointLocationLong, lon);
    }
}

fn audit(row: &mut Row<'_>, view: &View<'_>) {
    let op = view
        .str(&["operationName"])
        .or_else(|| view.str(&["activityDisplayName"]));
    row.opt_str(Field::ApiOperation, op);
    row.opt_str(Field::ApiServiceName, view.str(&["loggedByService"]));
    row.opt_str(Field::Message, view.str(&["activityDisplayName"]));
    let actor = [
        &["initiatedBy", "user", "userPrincipalName"][..],
        &["initiatedBy", "user", "displayName"],
        &["initiatedBy", "app", "displayName"],
        &["initiatedBy", "app", "servicePrincipalName"],
    ]
    .iter()
    .find_map(|p| view.str(p));
    row.opt_str(Field::ActorUserName, actor);
    row.opt_str(Field::UserName, target_user(view));
    let ip = view.str(&["initiatedBy", "user", "ipAddress"]);
    if let Some(ip) = ip.or_else(|| view.str(&["callerIpAddress"])) {
        row.ip(Field::SrcEndpointIp, ip);
    }
    if let Some(r) = view.str(&["result"]) {
        const IDS: &[(&str, i64)] = &[("success", 1), ("failure", 2), ("unknownfuturevalue", 0)];
        let id = id_ignoring_case(r, IDS, 99);
        row.int(Field::StatusId, id);
        row.str(Field::Status, r);
    }
    row.opt_str(Field::StatusDetail, view.str(&["resultReason"]));
}

/// The first `User` among the audit's target resources.
fn target_user<'v>(view: &'v View<'_>) -> Option<&'v str> {
    let Some(Val::Arr(targets)) = view.get("targetResources") else {
        return None;
    };
    targets
        .iter()
        .filter(|t| t.as_obj().is_some())
        .filter(|t| {
            t.str_at(&["type"])
                .is_some_and(|k| k.eq_ignore_ascii_case("user"))
        })
        .find_map(|t| {
            t.str_at(&["userPrincipalName"])
                .or_else(|| t.str_at(&["displayName"]))
        })
}

/// A record's fields, looked up in `properties` first, then at the top
/// level, ignoring ASCII case. Null and empty text count as absent.
struct View<'a> {
    /// The record, an object.
    v: &'a Val<'a>,
    /// `properties`, when it is an object.
    props: Option<&'a Val<'a>>,
    /// Top-level text holding JSON (Sentinel dynamic columns), parsed.
    dynamic: Vec<(&'a str, Val<'a>)>,
}

impl<'a> View<'a> {
    fn new(v: &'a Val<'a>) -> Option<Self> {
        let top = v.as_obj()?;
        let props = v.get("properties").filter(|p| p.as_obj().is_some());
        let dynamic = top
            .iter()
            .filter_map(|(k, x)| {
                let s = x.as_str()?.trim_start();
                if !(s.starts_with('{') || s.starts_with('[')) {
                    return None;
                }
                Some((k.as_ref(), parse(s).ok()?))
            })
            .collect();
        Some(View { v, props, dynamic })
    }

    /// A field by name: `properties` first, then the top level.
    fn get(&self, key: &str) -> Option<&Val<'a>> {
        let present = |x: &&Val<'_>| !x.is_null() && x.as_str() != Some("");
        if let Some(x) = self.props.and_then(|p| p.get_ci(key)).filter(present) {
            return Some(x);
        }
        let (k, x) = self.v.entry_ci(key)?;
        let parsed = self.dynamic.iter().find(|(d, _)| *d == k).map(|(_, p)| p);
        Some(parsed.unwrap_or(x)).filter(present)
    }

    /// A nested field: the first step by [`View::get`], the rest by key.
    fn at(&self, path: &[&str]) -> Option<&Val<'a>> {
        let (first, rest) = path.split_first()?;
        self.get(first)?.at_ci(rest)
    }

    /// A nested field that is non-empty text.
    fn str(&self, path: &[&str]) -> Option<&str> {
        self.at(path)?.as_str().filter(|s| !s.is_empty())
    }

    /// The log the record came from.
    fn log_name(&self, kind: Kind) -> Cow<'a, str> {
        let named = self
            .v
            .get_ci("category")
            .or_else(|| self.v.get_ci("Type"))
            .and_then(Val::text);
        match (kind, named) {
            (Kind::Audit, _) => Cow::Borrowed("AuditLogs"),
            (_, Some(n)) if !n.is_empty() => n,
            (Kind::SignIn, _) => Cow::Borrowed("SignInLogs"),
            (Kind::Other, _) => Cow::Borrowed(PRODUCT),
        }
    }

    fn kind(&self) -> Option<Kind> {
        let cat = self.v.get_ci("category").and_then(Val::as_str);
        let table = self.v.get_ci("Type").and_then(Val::as_str);
        let named = |want: &str| {
            cat.is_some_and(|c| c.eq_ignore_ascii_case(want))
                || table.is_some_and(|t| t.eq_ignore_ascii_case(want))
        };
        if cat.is_some_and(is_sign_in_log) || table.is_some_and(is_sign_in_log) {
            return Some(Kind::SignIn);
        }
        if named("AuditLogs") || self.get("initiatedBy").is_some() {
            return Some(Kind::Audit);
        }
        if self.get("activityDateTime").is_some() {
            return Some(Kind::Audit);
        }
        let user = ["userPrincipalName", "servicePrincipalName", "appId"];
        if self.get("createdDateTime").is_some() && user.iter().any(|k| self.get(k).is_some()) {
            return Some(Kind::SignIn);
        }
        (cat.is_some() || table.is_some() || self.get("operationName").is_some())
            .then_some(Kind::Other)
    }

    /// Everything under its source path, then the parsed dynamic columns.
    fn unmapped(&self, row: &mut Row<'_>) {
        flatten_into(row, self.v);
        for (k, parsed) in &self.dynamic {
            flatten_under(row, k, parsed);
        }
    }
}

/// Whether a category or table name is one of the sign-in logs
/// (`SignInLogs`, `NonInteractiveUserSignInLogs`, `AADServicePrincipalSignInLogs`, ...).
fn is_sign_in_log(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 10 && b[b.len() - 10..].eq_ignore_ascii_case(b"signinlogs")
}

/// `key` in `m`, matched exactly or else ignoring ASCII case (Panther and
/// Log Analytics change the case of field names).
fn get_ci<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).or_else(|| {
        m.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Whether a JSON value looks like an Entra record (for content sniffing).
///
/// Recognises Azure Monitor exports of the sign-in and audit categories
/// (and any record from the `Microsoft.aadiam` provider), Log Analytics
/// sign-in and audit rows, and Graph sign-ins and directory audits. Okta,
/// CloudTrail and Windows records carry none of these keys.
pub fn looks_like(v: &Value) -> bool {
    let Value::Object(m) = v else {
        return false;
    };
    let text = |k: &str| m.get(k).and_then(Value::as_str);
    let cat = text("category").or_else(|| text("Category"));
    let table = text("Type");
    let audit = |n: &str| n.eq_ignore_ascii_case("AuditLogs");
    if cat.is_some_and(|c| is_sign_in_log(c) || audit(c) || ENTRA_CATEGORIES.contains(&c)) {
        return true;
    }
    if table.is_some_and(|t| is_sign_in_log(t) || audit(t) || t.starts_with("AADRisky")) {
        return true;
    }
    if m.contains_key("OperationName")
        && (m.contains_key("InitiatedBy") || m.contains_key("TargetResources"))
    {
        return true;
    }
    let aadiam = get_ci(m, "resourceId")
        .and_then(Value::as_str)
        .is_some_and(|r| r.to_ascii_lowercase().contains("microsoft.aadiam"));
    if aadiam && m.get("properties").is_some_and(Value::is_object) {
        return true;
    }
    let has = |k: &str| m.contains_key(k);
    let graph_sign_in = has("createdDateTime")
        && (has("userPrincipalName") || has("servicePrincipalName"))
        && (has("status") || has("ipAddress"));
    graph_sign_in || (has("activityDateTime") && has("initiatedBy"))
}

/// Other Azure Monitor categories of the Entra ID (`Microsoft.aadiam`)
/// diagnostic settings.
const ENTRA_CATEGORIES: &[&str] = &[
    "ProvisioningLogs",
    "RiskyUsers",
    "UserRiskEvents",
    "RiskyServicePrincipals",
    "ServicePrincipalRiskEvents",
    "NetworkAccessTrafficLogs",
];
