//! Okta System Log events (the objects `/api/v1/logs` returns, one per
//! JSON value).
//!
//! Every event names its type in `eventType` and its time in `published`.
//! Sign-in events become [`Class::Authentication`] rows; every other event
//! (admin actions, lifecycle, policy and system events) becomes a
//! [`Class::BaseEvent`] row, so nothing is dropped.
//!
//! | `eventType` | class, activity |
//! | --- | --- |
//! | `user.session.start`, `policy.evaluate_sign_on` | authentication, 1 Logon |
//! | `user.authentication.*` (sso, auth_via_mfa, verify, ...) | authentication, 1 Logon |
//! | `user.mfa.*` challenges (okta_verify, deny_push, attempt_bypass) | authentication, 1 Logon |
//! | `user.session.end`, `user.authentication.slo` | authentication, 2 Logoff |
//! | everything else, including `user.mfa.factor.*` | base event |
//!
//! `user.mfa.factor.*` (activate, deactivate, update, reset_all, suspend)
//! changes a user's enrolled factors; nobody signs in, so it is an account
//! change and stays a base event: counting it as a logon would skew
//! sign-in baselines.
//!
//! Mapping decisions:
//! - `time` is `published`; an event without it takes the ingest time
//!   (Panther's test events have none), but a `published` that is present
//!   and not a timestamp is an error.
//! - Status comes from `outcome.result`: SUCCESS and ALLOW are success,
//!   FAILURE and DENY failure, UNKNOWN unknown, anything else (CHALLENGE,
//!   SKIPPED) other; `status` keeps the word as written and `status_detail`
//!   is `outcome.reason`. Severity: DEBUG and INFO informational, WARN
//!   medium, ERROR high.
//! - On authentication rows the user is the actor: `alternateId` is
//!   `user_name` (and `user_email_addr` when it is an address), `id` is
//!   `user_uid`, `type` is `user_type`. On base events the actor is
//!   `actor_user_name` and the first target of type `User` is `user_name`
//!   (the account an admin action was done to).
//! - `service_name` / `service_uid` are the first `AppInstance` target; its
//!   `detailEntry.signOnModeType` gives `auth_protocol` (SAML, OIDC).
//! - `is_mfa` is true where the event itself says a second factor was
//!   used: `user.authentication.auth_via_mfa`, the `user.mfa.*` challenges,
//!   and events whose `debugContext.debugData.factor` names a factor.
//!   Otherwise it is null, never false: silence is not evidence.
//! - Location: Okta writes country names ("United States"), not ISO 3166
//!   codes, and vigil carries no name table, so the country column is set
//!   only when Okta wrote a two-letter code; the name always stays in
//!   `unmapped` as `client.geographicalContext.country`. City, latitude
//!   and longitude are mapped.
//! - `actor_session_uid` is `authenticationContext.externalSessionId`,
//!   except Okta's placeholder `unknown`.
//! - Every field is also flattened into `unmapped` under its Okta path
//!   (`outcome.result`, `target.0.alternateId`), so Sigma rules written
//!   against Okta names match. Keys are looked up ignoring ASCII case,
//!   since Panther's test events write `eventtype` and `debugcontext`.
//! - `debugContext.debugData` values that are Java map strings,
//!   `{reasons=Anomalous Location, Anomalous Device, level=HIGH}`, are
//!   also split into keys under the entry (`...risk.level` = `HIGH`,
//!   `...risk.reasons` = `Anomalous Location, Anomalous Device`): a piece
//!   without `=` continues the previous value (edge case BH-28). Values
//!   that are JSON objects (`logOnlySecurityData`) are flattened the same
//!   way. A string that is neither stays only as written.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use vigil_schemas::{Class, Field, Row};

use super::jsonval::{Val, flatten_into, flatten_under, parse, parse_time};
use super::util::id_ignoring_case;
use crate::decode::{DecodeConfig, DecodeError, Decoder, Record};
use crate::emit::Emitter;

const PRODUCT: &str = "Okta";
const LOG_NAME: &str = "System Log";

struct Okta;

/// A decoder for Okta System Log events.
pub fn decoder(_cfg: &DecodeConfig) -> Box<dyn Decoder> {
    Box::new(Okta)
}

impl Decoder for Okta {
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
        let v = parse(rec.text)?;
        if v.as_obj().is_none() {
            return Err(DecodeError::shape(
                "expected a JSON object (an Okta System Log event)",
            ));
        }
        let ev = Event::read(&v)?;
        match activity(ev.event_type) {
            Some(act) => auth_row(rec, out, &ev, act),
            None => base_row(rec, out, &ev),
        }
        Ok(())
    }
}

/// The parts of an event every row needs, checked before any row is made.
struct Event<'a> {
    v: &'a Val<'a>,
    event_type: &'a str,
    time: Option<(DateTime<Utc>, Cow<'a, str>)>,
}

impl<'a> Event<'a> {
    fn read(v: &'a Val<'a>) -> Result<Self, DecodeError> {
        let event_type = match v.get_ci("eventType") {
            Some(Val::Str(s)) if !s.trim().is_empty() => s.as_ref(),
            None | Some(Val::Null) => {
                return Err(DecodeError::shape("okta event has no eventType"));
            }
            Some(other) => {
                return Err(DecodeError::value(
                    "eventType",
                    format!("expected the event type as text, found {other}"),
                ));
            }
        };
        let time = match v.get_ci("published") {
            None | Some(Val::Null) => None,
            Some(p) => match parse_time(p) {
                Some(t) => Some((t, p.text().unwrap_or_default())),
                None => {
                    return Err(DecodeError::value(
                        "published",
                        format!("not a timestamp: {p}"),
                    ));
                }
            },
        };
        Ok(Event {
            v,
            event_type,
            time,
        })
    }

    fn str(&self, path: &[&str]) -> Option<&'a str> {
        self.v.str_at(path)
    }
}

/// The authentication activity of an event type, or `None` for events
/// that are not sign-ins.
fn activity(event_type: &str) -> Option<(i64, &'static str)> {
    const LOGON: (i64, &str) = (1, "Logon");
    const LOGOFF: (i64, &str) = (2, "Logoff");
    match event_type {
        "user.session.end" | "user.authentication.slo" => Some(LOGOFF),
        "user.session.start" | "policy.evaluate_sign_on" => Some(LOGON),
        t if t.starts_with("user.authentication.") => Some(LOGON),
        t if t.starts_with("user.mfa.") && !t.starts_with("user.mfa.factor.") => Some(LOGON),
        _ => None,
    }
}

/// OCSF status id of `outcome.result`.
fn status(result: &str) -> i64 {
    const IDS: &[(&str, i64)] = &[
        ("SUCCESS", 1),
        ("ALLOW", 1),
        ("FAILURE", 2),
        ("DENY", 2),
        ("UNKNOWN", 0),
    ];
    id_ignoring_case(result, IDS, 99)
}

/// OCSF severity id of Okta's `severity`.
fn severity(s: &str) -> i64 {
    const IDS: &[(&str, i64)] = &[("DEBUG", 1), ("INFO", 1), ("WARN", 3), ("ERROR", 4)];
    id_ignoring_case(s, IDS, 0)
}

/// Fields every Okta row carries, whatever its class.
fn common(row: &mut Row<'_>, ev: &Event<'_>) {
    if let Some((t, original)) = &ev.time {
        row.time(Field::Time, *t);
        row.str(Field::MetadataOriginalTime, original);
    }
    row.str(Field::MetadataProductName, PRODUCT);
    row.str(Field::MetadataProductVendorName, PRODUCT);
    row.str(Field::MetadataLogName, LOG_NAME);
    row.opt_str(Field::MetadataUid, ev.str(&["uuid"]));
    row.str(Field::MetadataEventCode, ev.event_type);
    row.opt_str(Field::Message, ev.str(&["displayMessage"]));
    if let Some(s) = ev.str(&["severity"]) {
        row.int(Field::SeverityId, severity(s));
        row.str(Field::Severity, s);
    }
    if let Some(r) = ev.str(&["outcome", "result"]) {
        row.int(Field::StatusId, status(r));
        row.str(Field::Status, r);
    }
    row.opt_str(Field::StatusDetail, ev.str(&["outcome", "reason"]));
    if let Some(ip) = ev.str(&["client", "ipAddress"]) {
        row.ip(Field::SrcEndpointIp, ip);
    }
}

fn auth_row(rec: &Record<'_>, out: &mut Emitter, ev: &Event<'_>, act: (i64, &str)) {
    let mut row = out.row(rec, Class::Authentication);
    common(&mut row, ev);
    row.int(Field::ActivityId, act.0);
    row.str(Field::ActivityName, act.1);
    user_from(&mut row, ev.v.get_ci("actor"));
    if let Some(s) = ev.str(&["authenticationContext", "externalSessionId"])
        && !s.eq_ignore_ascii_case("unknown")
    {
        row.str(Field::ActorSessionUid, s);
    }
    if is_mfa(ev) {
        row.bool(Field::IsMfa, true);
    }
    app_target(&mut row, ev);
    row.opt_str(
        Field::HttpRequestUserAgent,
        ev.str(&["client", "userAgent", "rawUserAgent"]),
    );
    location(&mut row, ev.v.at_ci(&["client", "geographicalContext"]));
    unmapped(&mut row, ev);
}

fn base_row(rec: &Record<'_>, out: &mut Emitter, ev: &Event<'_>) {
    let mut row = out.row(rec, Class::BaseEvent);
    common(&mut row, ev);
    row.opt_str(Field::ActorUserName, ev.str(&["actor", "alternateId"]));
    let user = targets(ev).find(|t| t.str_at(&["type"]) == Some("User"));
    row.opt_str(
        Field::UserName,
        user.and_then(|t| t.str_at(&["alternateId"])),
    );
    unmapped(&mut row, ev);
}

/// The user fields from an actor or target object.
fn user_from(row: &mut Row<'_>, who: Option<&Val<'_>>) {
    let Some(who @ Val::Obj(_)) = who else {
        return;
    };
    if let Some(alt) = who.str_at(&["alternateId"]) {
        row.str(Field::UserName, alt);
        if alt.contains('@') {
            row.str(Field::UserEmailAddr, alt);
        }
    }
    row.opt_str(Field::UserUid, who.str_at(&["id"]));
    row.opt_str(Field::UserType, who.str_at(&["type"]));
}

/// The event's `target` objects.
fn targets<'a>(ev: &Event<'a>) -> impl Iterator<Item = &'a Val<'a>> {
    let list =
        ev.v.get_ci("target")
            .and_then(Val::as_arr)
            .unwrap_or_default();
    list.iter().filter(|t| t.as_obj().is_some())
}

/// The application signed in to: the first `AppInstance` target.
fn app_target(row: &mut Row<'_>, ev: &Event<'_>) {
    let Some(app) = targets(ev).find(|t| t.str_at(&["type"]) == Some("AppInstance")) else {
        return;
    };
    let name = app
        .str_at(&["displayName"])
        .or_else(|| app.str_at(&["alternateId"]));
    row.opt_str(Field::ServiceName, name);
    row.opt_str(Field::ServiceUid, app.str_at(&["id"]));
    let (protocol, id) = match app.str_at(&["detailEntry", "signOnModeType"]) {
        Some(m) if m.starts_with("SAML") => ("SAML", 5),
        Some("OPENID_CONNECT") => ("OIDC", 4),
        Some(other) => (other, 99),
        None => return,
    };
    row.str(Field::AuthProtocol, protocol);
    row.int(Field::AuthProtocolId, id);
}

/// Whether the event itself says a second factor was used.
fn is_mfa(ev: &Event<'_>) -> bool {
    ev.event_type == "user.authentication.auth_via_mfa"
        || ev.event_type.starts_with("user.mfa.")
        || ev.str(&["debugContext", "debugData", "factor"]).is_some()
}

/// City and coordinates from `client.geographicalContext`, and the
/// country when Okta wrote an ISO 3166-1 alpha-2 code.
fn location(row: &mut Row<'_>, geo: Option<&Val<'_>>) {
    let Some(geo @ Val::Obj(_)) = geo else {
        return;
    };
    row.opt_str(Field::SrcEndpointLocationCity, geo.str_at(&["city"]));
    if let Some(c) = geo.str_at(&["country"])
        && c.len() == 2
        && c.bytes().all(|b| b.is_ascii_uppercase())
    {
        row.str(Field::SrcEndpointLocationCountry, c);
    }
    let coord = |k: &str| geo.at_ci(&["geolocation", k]).and_then(Val::as_f64);
    if let Some(lat) = coord("lat") {
        row.float(Field::SrcEndpointLocationLat, lat);
    }
    if let Some(lon) = coord("lon") {
        row.float(Field::SrcEndpointLocationLong, lon);
    }
}

/// Every field under its Okta path, then the parsed `debugData` maps.
fn unmapped(row: &mut Row<'_>, ev: &Event<'_>) {
    flatten_into(row, ev.v);
    debug_data(row, ev.v);
}

/// Split the map strings in `debugContext.debugData` into keys (BH-28).
fn debug_data(row: &mut Row<'_>, v: &Val<'_>) {
    let Some((ctx_key, ctx @ Val::Obj(_))) = v.entry_ci("debugContext") else {
        return;
    };
    let Some((data_key, Val::Obj(data))) = ctx.entry_ci("debugData") else {
        return;
    };
    for (k, v) in data {
        let Val::Str(s) = v else { continue };
        let t = s.trim();
        if !(t.starts_with('{') && t.ends_with('}')) {
            continue;
        }
        let prefix = format!("{ctx_key}.{data_key}.{k}");
        if let Ok(json @ Val::Obj(_)) = parse(t) {
            flatten_under(row, &prefix, &json);
        } else if let Some(pairs) = java_map(t) {
            for (key, value) in pairs {
                row.unmapped(&format!("{prefix}.{key}"), &value);
            }
        }
    }
}

/// Parse a Java `Map.toString()` string, `{a=1, b=x, y, c=2}`, into its
/// pairs. A piece without `=` belongs to the previous value, so values may
/// hold `, `. `None` when the text is not such a map (no key first, an
/// empty key); the caller then keeps it only as written.
fn java_map(text: &str) -> Option<Vec<(&str, String)>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?.trim();
    if inner.is_empty() {
        return None;
    }
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for piece in inner.split(", ") {
        match piece.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => pairs.push((k.trim(), v.to_string())),
            _ => {
                let (_, last) = pairs.last_mut()?;
                last.push_str(", ");
                last.push_str(piece);
            }
        }
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_map_keeps_commas_inside_values() {
        let pairs = java_map("{reasons=Anomalous Location, Anomalous Device, level=HIGH}");
        let want = vec![
            (
                "reasons",
                "Anomalous Location, Anomalous Device".to_string(),
            ),
            ("level", "HIGH".to_string()),
        ];
        assert_eq!(pairs, Some(want));
    }

    #[test]
    fn java_map_rejects_text_that_is_not_a_map() {
        assert_eq!(java_map("{no pairs here}"), None);
        assert_eq!(java_map("{}"), None);
        assert_eq!(java_map("{=x}"), None);
        assert_eq!(java_map("reasons=a"), None);
    }

    #[test]
    fn activities_by_event_type() {
        assert_eq!(activity("user.session.start"), Some((1, "Logon")));
        assert_eq!(activity("user.authentication.sso"), Some((1, "Logon")));
        assert_eq!(
            activity("user.mfa.okta_verify.deny_push"),
            Some((1, "Logon"))
        );
        assert_eq!(activity("user.session.end"), Some((2, "Logoff")));
        assert_eq!(activity("user.mfa.factor.deactivate"), None);
        assert_eq!(activity("user.account.privilege.grant"), None);
    }

    #[test]
    fn outcome_words_to_status_ids() {
        let ids: Vec<i64> = [
            "SUCCESS",
            "ALLOW",
            "FAILURE",
            "DENY",
            "UNKNOWN",
            "CHALLENGE",
        ]
        .into_iter()
        .map(status)
        .collect();
        assert_eq!(ids, [1, 1, 2, 2, 0, 99]);
    }
}
