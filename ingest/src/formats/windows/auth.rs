//! The Authentication (3002) mapping of Windows logon, Kerberos and NTLM
//! events. Which events, and why, is in the [parent module](super).

use vigil_schemas::{Field, Row, parse_int};

use super::known::{K, Known};

/// How an event's outcome is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The event only exists for successes (4624, 4634, ...).
    Success,
    /// The event only exists for failures (4625).
    Failure,
    /// `Status` or `FailureCode`: `0x0` is success, anything else failure.
    FromCode,
}

/// What one event ID becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spec {
    activity: i32,
    name: &'static str,
    outcome: Outcome,
    /// The protocol the event implies, if it implies one.
    protocol: Option<(&'static str, i32)>,
}

const KERBEROS: Option<(&str, i32)> = Some(("Kerberos", 2));
const NTLM: Option<(&str, i32)> = Some(("NTLM", 1));

/// The mapping of `id`, if it is an authentication event.
pub(crate) fn spec(id: u32) -> Option<Spec> {
    use Outcome::{Failure, FromCode, Success};
    let (activity, name, outcome, protocol) = match id {
        4624 => (1, "Logon", Success, None),
        4625 => (1, "Logon", Failure, None),
        4634 => (2, "Logoff", Success, None),
        4647 => (2, "User Initiated Logoff", Success, None),
        4648 => (1, "Explicit Credential Logon", Success, None),
        4768 => (3, "Authentication Ticket", FromCode, KERBEROS),
        4769 => (4, "Service Ticket Request", FromCode, KERBEROS),
        4770 => (5, "Service Ticket Renew", FromCode, KERBEROS),
        4771 => (6, "Preauth", FromCode, KERBEROS),
        4776 => (1, "Credential Validation", FromCode, NTLM),
        4778 => (1, "Session Reconnect", Success, None),
        4779 => (2, "Session Disconnect", Success, None),
        _ => return None,
    };
    Some(Spec {
        activity,
        name,
        outcome,
        protocol,
    })
}

/// Whether the event comes from the Security log: its provider is the
/// Security auditing provider, or (no provider given) its channel is
/// `Security`, or it names neither. Other channels reuse event IDs.
pub(crate) fn is_security(known: &Known<'_>) -> bool {
    match (known.get(K::ProviderName), known.get(K::Channel)) {
        (Some(p), _) => p.eq_ignore_ascii_case("Microsoft-Windows-Security-Auditing"),
        (None, Some(c)) => c.eq_ignore_ascii_case("Security"),
        (None, None) => true,
    }
}

/// Write the authentication columns of one event.
pub(crate) fn map(row: &mut Row<'_>, spec: &Spec, known: &Known<'_>) {
    row.int(Field::ActivityId, i64::from(spec.activity));
    row.str(Field::ActivityName, spec.name);
    row.int(Field::SeverityId, 1);
    row.str(Field::Severity, "Informational");
    status(row, spec, known);
    users(row, known);
    endpoints(row, known);
    logon(row, known);
    if let Some((name, id)) = protocol(spec, known) {
        row.str(Field::AuthProtocol, name);
        row.int(Field::AuthProtocolId, i64::from(id));
    }
    row.opt_str(Field::ServiceName, known.get(K::ServiceName));
    row.opt_str(Field::ServiceUid, sid(known, &[K::ServiceSid]));
}

/// `status_id` 1 success, 2 failure, 0 when a code cannot be read;
/// `status_code` is `Status` (or `FailureCode`) as written, and a failure's
/// `status_detail` is `SubStatus` (or `FailureReason`).
fn status(row: &mut Row<'_>, spec: &Spec, known: &Known<'_>) {
    let code = known.first(&[K::Status, K::FailureCode]);
    let id = match (spec.outcome, code.map(parse_int)) {
        (Outcome::Success, _) => 1,
        (Outcome::Failure, _) => 2,
        (Outcome::FromCode, Some(Some(0))) => 1,
        (Outcome::FromCode, Some(Some(_))) => 2,
        (Outcome::FromCode, _) => 0,
    };
    row.int(Field::StatusId, id);
    row.str(
        Field::Status,
        ["Unknown", "Success", "Failure"][id as usize],
    );
    row.opt_str(Field::StatusCode, code);
    if id == 2 {
        let sub = known.get(K::SubStatus).filter(|s| parse_int(s) != Some(0));
        row.opt_str(Field::StatusDetail, sub.or(known.get(K::FailureReason)));
    }
}

/// The user is the `Target*` account (`Account*` in 4778/4779), the actor
/// the `Subject*` account that asked for it.
fn users(row: &mut Row<'_>, known: &Known<'_>) {
    row.opt_str(
        Field::UserName,
        known.first(&[K::TargetUserName, K::AccountName]),
    );
    row.opt_str(
        Field::UserDomain,
        known.first(&[K::TargetDomainName, K::AccountDomain]),
    );
    row.opt_str(
        Field::UserUid,
        sid(known, &[K::TargetUserSid, K::TargetSid]),
    );
    row.opt_str(Field::ActorUserName, known.get(K::SubjectUserName));
    row.opt_str(Field::ActorUserDomain, known.get(K::SubjectDomainName));
    row.opt_str(Field::ActorUserUid, sid(known, &[K::SubjectUserSid]));
    row.opt_str(
        Field::ActorSessionUid,
        known.first(&[K::TargetLogonId, K::LogonId]),
    );
    row.opt_str(Field::ActorProcessName, known.get(K::ProcessName));
    row.opt_str(Field::ActorProcessPid, known.get(K::ProcessId));
}

/// A SID, unless it is the NULL SID `S-1-0-0` ("no account").
fn sid<'e>(known: &Known<'e>, ks: &[K]) -> Option<&'e str> {
    known.first(ks).filter(|s| *s != "S-1-0-0")
}

/// Source address and port (`-` is none; `::ffff:a.b.c.d` is written as
/// IPv4 by [`Row::ip`]), source workstation, and the target server of an
/// explicit-credential logon.
fn endpoints(row: &mut Row<'_>, known: &Known<'_>) {
    if let Some(ip) = known.first(&[K::IpAddress, K::ClientAddress]) {
        row.ip(Field::SrcEndpointIp, ip);
    }
    row.opt_str(Field::SrcEndpointPort, known.get(K::IpPort));
    row.opt_str(
        Field::SrcEndpointHostname,
        known.first(&[K::WorkstationName, K::Workstation, K::ClientName]),
    );
    row.opt_str(Field::DstEndpointHostname, known.get(K::TargetServerName));
}

/// Logon type as number and name, whether it came over the network, and
/// the logon process (trimmed: Windows pads `Advapi  `).
fn logon(row: &mut Row<'_>, known: &Known<'_>) {
    row.opt_str(Field::LogonProcessName, known.get(K::LogonProcessName));
    let Some(text) = known.get(K::LogonType) else {
        return;
    };
    let Some(n) = parse_int(text) else {
        row.str(Field::LogonType, text);
        return;
    };
    row.int(Field::LogonTypeId, n);
    if let Some((name, remote)) = logon_type(n) {
        row.str(Field::LogonType, name);
        row.bool(Field::IsRemote, remote);
    }
}

/// A Windows logon type's name and whether it is a network logon.
fn logon_type(n: i64) -> Option<(&'static str, bool)> {
    Some(match n {
        0 => ("System", false),
        2 => ("Interactive", false),
        3 => ("Network", true),
        4 => ("Batch", false),
        5 => ("Service", false),
        7 => ("Unlock", false),
        8 => ("NetworkCleartext", true),
        9 => ("NewCredentials", false),
        10 => ("RemoteInteractive", true),
        11 => ("CachedInteractive", false),
        12 => ("CachedRemoteInteractive", true),
        13 => ("CachedUnlock", false),
        _ => return None,
    })
}

/// The protocol: the one the event implies (Kerberos for 4768-4771, NTLM
/// for 4776), else `AuthenticationPackageName`, else a `LogonProcessName`
/// that names one (`Kerberos`, `NtLmSsp`).
fn protocol<'e>(spec: &Spec, known: &Known<'e>) -> Option<(&'e str, i32)> {
    if let Some(p) = spec.protocol {
        return Some(p);
    }
    if let Some(pkg) = known.get(K::AuthenticationPackageName) {
        return Some(package(pkg));
    }
    let process = known.get(K::LogonProcessName)?;
    match package(process) {
        (_, 99) => None,
        p => Some(p),
    }
}

/// An authentication package and its OCSF `auth_protocol_id`: Kerberos 2,
/// NTLM 1 (also as `NtLmSsp` and the MSV1_0 package), anything else
/// (`Negotiate`, which picks one of the two at run time) 99 "other".
fn package(pkg: &str) -> (&str, i32) {
    let is = |s: &str| pkg.eq_ignore_ascii_case(s);
    if is("Kerberos") {
        ("Kerberos", 2)
    } else if is("NTLM") || is("NtLmSsp") || is("MICROSOFT_AUTHENTICATION_PACKAGE_V1_0") {
        ("NTLM", 1)
    } else {
        (pkg, 99)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mapped_event_has_its_activity() {
        let got: Vec<(u32, i32)> = [4624, 4625, 4634, 4647, 4648, 4768, 4769, 4770, 4771, 4776]
            .into_iter()
            .chain([4778, 4779])
            .map(|id| (id, spec(id).map_or(-1, |s| s.activity)))
            .collect();
        let want = [
            (4624, 1),
            (4625, 1),
            (4634, 2),
            (4647, 2),
            (4648, 1),
            (4768, 3),
            (4769, 4),
            (4770, 5),
            (4771, 6),
            (4776, 1),
            (4778, 1),
            (4779, 2),
        ];
        assert_eq!(got, want);
        assert_eq!(spec(4672), None);
        assert_eq!(spec(7045), None);
    }

    #[test]
    fn packages() {
        assert_eq!(package("Kerberos"), ("Kerberos", 2));
        assert_eq!(package("NtLmSsp"), ("NTLM", 1));
        assert_eq!(
            package("MICROSOFT_AUTHENTICATION_PACKAGE_V1_0"),
            ("NTLM", 1)
        );
        assert_eq!(package("Negotiate"), ("Negotiate", 99));
        assert_eq!(logon_type(3), Some(("Network", true)));
        assert_eq!(logon_type(6), None);
    }
}
