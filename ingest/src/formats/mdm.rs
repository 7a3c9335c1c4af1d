//! MDM compliance records with the fields of Microsoft Graph `managedDevice`
//! (Intune), one row per device.
//!
//! Three inputs are read: a single `managedDevice` object (what
//! `GET /deviceManagement/managedDevices/{id}` returns), NDJSON of such
//! objects, and Graph list responses
//! (`{"@odata.context": ..., "value": [device, ...]}`), which give one row
//! per element of `value`. Every device is a [`Class::DevicePosture`] row
//! (activity 2, Collect: the state was collected from the MDM service).
//!
//! Mapping decisions:
//! - `device_uid` is `id`; `device_name` and `device_hostname` are
//!   `deviceName`; `device_os_name` / `device_os_version` are
//!   `operatingSystem` / `osVersion`; `device_type` is `deviceType`;
//!   `user_name` is `userPrincipalName` and `user_email_addr` is
//!   `emailAddress`. Graph writes `""` for unset strings; those leave the
//!   column null.
//! - `device_compliance_state` keeps `complianceState` as written, and
//!   `device_is_compliant` reads it: `compliant` is true; `noncompliant`,
//!   `conflict`, `error` and `inGracePeriod` (non-compliant but still let
//!   in) are false; `unknown`, `configManager` (compliance decided
//!   elsewhere) and anything else are null.
//! - `device_is_jailbroken` reads the text `jailBroken` (`True`, `False`;
//!   `Unknown` is null and then kept in `unmapped`).
//! - `device_is_managed` reads `managementState`: true while the device is
//!   enrolled and nothing is removing it (`managed`, `unhealthy`, a failed or
//!   cancelled retire or wipe); false when it is discovered but not
//!   enrolled or a retire, wipe or delete is under way; null otherwise. The
//!   state itself stays in `unmapped`.
//! - `time` is `lastSyncDateTime`: the record describes the device as it
//!   was at its last check-in, which is also `device_last_seen_time`. Graph
//!   writes `0001-01-01T00:00:00Z` for a device that never synced; that is
//!   no time, so the row takes the ingest time (`metadata_time_quality`
//!   `missing`).
//! - Every other property goes to `unmapped` by its Graph name, nested
//!   objects flattened (`deviceHealthAttestationState.bitLockerStatus`).
//! - `raw_data` of a row from a list response is that device's object,
//!   byte for byte, not the whole page: a device object is itself a complete
//!   Graph resource, and pages hold up to a thousand devices.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use vigil_schemas::{Class, Field, Row};

use super::util::{flatten_into, parse_json, parse_time_str};
use crate::decode::{DecodeConfig, DecodeError, Decoder, Record};
use crate::emit::Emitter;

/// Properties mapped to columns (or response metadata), left out of
/// `unmapped`.
const SKIP: &[&str] = &[
    "@odata.context",
    "id",
    "deviceName",
    "operatingSystem",
    "osVersion",
    "deviceType",
    "complianceState",
    "isEncrypted",
    "lastSyncDateTime",
    "userPrincipalName",
    "emailAddress",
];

/// [`SKIP`] plus `jailBroken`, for devices where it mapped to a boolean.
const SKIP_JAILBROKEN: &[&str] = &[
    "@odata.context",
    "id",
    "deviceName",
    "operatingSystem",
    "osVersion",
    "deviceType",
    "complianceState",
    "isEncrypted",
    "lastSyncDateTime",
    "userPrincipalName",
    "emailAddress",
    "jailBroken",
];

struct Mdm;

/// A decoder for MDM `managedDevice` records.
pub fn decoder(_cfg: &DecodeConfig) -> Box<dyn Decoder> {
    Box::new(Mdm)
}

/// The `value` array of a Graph list response, each element as written.
#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    value: Vec<&'a RawValue>,
}

impl Decoder for Mdm {
    fn decode(&mut self, rec: &Record<'_>, out: &mut Emitter) -> Result<(), DecodeError> {
        let v = parse_json(rec.text)?;
        let Value::Object(m) = &v else {
            return Err(DecodeError::shape(
                "expected a managedDevice object or a Graph list response",
            ));
        };
        let Some(list) = m.get("value") else {
            let device = Device::read(&v, "")?;
            device.write(rec, out);
            return Ok(());
        };
        let Value::Array(items) = list else {
            return Err(DecodeError::shape(
                "value is not an array of managedDevice objects",
            ));
        };
        let devices = items
            .iter()
            .enumerate()
            .map(|(i, d)| Device::read(d, &format!("value[{i}].")))
            .collect::<Result<Vec<_>, _>>()?;
        let page: Page<'_> = serde_json::from_str(rec.text)
            .map_err(|e| DecodeError::shape(format!("value cannot be read: {e}")))?;
        for (device, raw) in devices.iter().zip(page.value) {
            let sub = Record {
                text: raw.get(),
                ..*rec
            };
            device.write(&sub, out);
        }
        Ok(())
    }
}

/// One device, checked before any row is written.
struct Device<'a> {
    v: &'a Value,
    id: &'a str,
    compliant: Option<bool>,
    encrypted: Option<bool>,
    jailbroken: Option<bool>,
    managed: Option<bool>,
    last_sync: Option<DateTime<Utc>>,
}

impl<'a> Device<'a> {
    /// Read and check one device; `at` prefixes field names in errors.
    fn read(v: &'a Value, at: &str) -> Result<Self, DecodeError> {
        if !v.is_object() {
            return Err(DecodeError::shape(format!(
                "{}managedDevice is not an object",
                at
            )));
        }
        let id = match v.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.as_str(),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                return Err(DecodeError::shape(format!(
                    "{at}id is missing: not a managedDevice"
                )));
            }
            Some(_) => return Err(DecodeError::shape(format!("{at}id is not a string"))),
        };
        let compliance = text_field(v, "complianceState", at)?;
        Ok(Device {
            v,
            id,
            compliant: compliance.and_then(compliant),
            encrypted: bool_field(v, "isEncrypted", at)?,
            jailbroken: jailbroken(v, at)?,
            managed: text_field(v, "managementState", at)?.and_then(managed),
            last_sync: last_sync(v, at)?,
        })
    }

    /// Write the device's row for `rec`.
    fn write(&self, rec: &Record<'_>, out: &mut Emitter) {
        let mut row = out.row(rec, Class::DevicePosture);
        if let Some(t) = self.last_sync {
            row.time(Field::Time, t);
            row.time(Field::DeviceLastSeenTime, t);
        }
        row.opt_str(Field::MetadataOriginalTime, self.text("lastSyncDateTime"));
        row.str(Field::MetadataProductName, "Microsoft Intune");
        row.str(Field::MetadataProductVendorName, "Microsoft");
        row.str(Field::MetadataLogName, "managedDevice");
        row.int(Field::ActivityId, 2);
        row.str(Field::ActivityName, "Collect");
        row.int(Field::SeverityId, 1);
        row.str(Field::DeviceUid, self.id);
        self.write_text(&mut row);
        self.write_state(&mut row);
        let skip = if self.jailbroken.is_some() {
            SKIP_JAILBROKEN
        } else {
            SKIP
        };
        flatten_into(&mut row, self.v, skip);
    }

    /// The text columns, straight from their properties.
    fn write_text(&self, row: &mut Row<'_>) {
        let name = self.text("deviceName");
        row.opt_str(Field::DeviceName, name);
        row.opt_str(Field::DeviceHostname, name);
        row.opt_str(Field::DeviceOsName, self.text("operatingSystem"));
        row.opt_str(Field::DeviceOsVersion, self.text("osVersion"));
        row.opt_str(Field::DeviceType, self.text("deviceType"));
        row.opt_str(Field::DeviceComplianceState, self.text("complianceState"));
        row.opt_str(Field::UserName, self.text("userPrincipalName"));
        row.opt_str(Field::UserEmailAddr, self.text("emailAddress"));
    }

    /// The posture booleans.
    fn write_state(&self, row: &mut Row<'_>) {
        let flags = [
            (Field::DeviceIsCompliant, self.compliant),
            (Field::DeviceIsEncrypted, self.encrypted),
            (Field::DeviceIsJailbroken, self.jailbroken),
            (Field::DeviceIsManaged, self.managed),
        ];
        for (field, value) in flags {
            if let Some(b) = value {
                row.bool(field, b);
            }
        }
    }

    /// A string property; `None` when absent, not a string, or empty.
    fn text(&self, key: &str) -> Option<&'a str> {
        self.v
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }
}

/// A property that must be a string when present.
fn text_field<'a>(v: &'a Value, key: &str, at: &str) -> Result<Option<&'a str>, DecodeError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(x) => Err(DecodeError::value(
            format!("{at}{key}"),
            format!("expected a string, got {x}"),
        )),
    }
}

/// A Graph Boolean; `"true"` / `"false"` text is read too (CSV exports).
fn bool_field(v: &Value, key: &str, at: &str) -> Result<Option<bool>, DecodeError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(x) => Err(DecodeError::value(
            format!("{at}{key}"),
            format!("expected true or false, got {x}"),
        )),
    }
}

/// `jailBroken` is documented as a String: `True`, `False` or `Unknown`.
fn jailbroken(v: &Value, at: &str) -> Result<Option<bool>, DecodeError> {
    match v.get("jailBroken") {
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        None | Some(Value::Null) | Some(Value::String(_)) => Ok(None),
        Some(x) => Err(DecodeError::value(
            format!("{at}jailBroken"),
            format!("expected True, False or Unknown, got {x}"),
        )),
    }
}

/// `complianceState` as a verdict.
fn compliant(state: &str) -> Option<bool> {
    const FAILING: [&str; 4] = ["noncompliant", "conflict", "error", "inGracePeriod"];
    if state.eq_ignore_ascii_case("compliant") {
        Some(true)
    } else if FAILING.iter().any(|f| state.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// `managementState` as "under management".
fn managed(state: &str) -> Option<bool> {
    const ENROLLED: [&str; 6] = [
        "managed",
        "unhealthy",
        "retireFailed",
        "wipeFailed",
        "retireCanceled",
        "wipeCanceled",
    ];
    const LEAVING: [&str; 6] = [
        "discovered",
        "retirePending",
        "retireIssued",
        "wipePending",
        "wipeIssued",
        "deletePending",
    ];
    if ENROLLED.iter().any(|s| state.eq_ignore_ascii_case(s)) {
        Some(true)
    } else if LEAVING.iter().any(|s| state.eq_ignore_ascii_case(s)) {
        Some(false)
    } else {
        None
    }
}

/// `lastSyncDateTime`, with Graph's year-1 "never" read as no time.
fn last_sync(v: &Value, at: &str) -> Result<Option<DateTime<Utc>>, DecodeError> {
    let Some(s) = text_field(v, "lastSyncDateTime", at)?.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let t = parse_time_str(s).ok_or_else(|| {
        DecodeError::value(
            format!("{at}lastSyncDateTime"),
            format!("not an ISO 8601 time: {s:?}"),
        )
    })?;
    Ok((t.timestamp() > NEVER_BEFORE).then_some(t))
}

/// Times at or before 1970-01-02 are Graph's "never" placeholder
/// (`0001-01-01T00:00:00Z`) or a zeroed field, not a check-in.
const NEVER_BEFORE: i64 = 86_400;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compliance_states_as_verdicts() {
        assert_eq!(compliant("compliant"), Some(true));
        assert_eq!(compliant("Noncompliant"), Some(false));
        assert_eq!(compliant("inGracePeriod"), Some(false));
        assert_eq!(compliant("unknown"), None);
        assert_eq!(compliant("configManager"), None);
    }

    #[test]
    fn never_synced_is_no_time() -> Result<(), DecodeError> {
        let v = serde_json::json!({"lastSyncDateTime": "0001-01-01T00:00:00Z"});
        assert_eq!(last_sync(&v, "")?, None);
        let v = serde_json::json!({"lastSyncDateTime": "yesterday"});
        assert!(last_sync(&v, "").is_err());
        Ok(())
    }
}
