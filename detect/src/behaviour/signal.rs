//! Signals: what a baseline says about one entity at one time, and how it
//! becomes a `detection_finding` row.

use arrow_array::RecordBatch;
use vigil_schemas::{BatchBuilder, Class, Field, Row};

use crate::entity::Entity;
use crate::sigma::finding::finding_uid;

/// The kinds of signal the baselines emit. The id is the finding's
/// `finding_info_analytic_uid`; the name its title.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum SignalKind {
    /// Many failures for one user, then a success.
    BruteForceSuccess,
    /// Many failures for one user, no success yet.
    FailureBurst,
    /// One source failing against many users.
    PasswordSpray,
    /// Many denied MFA pushes for one user.
    MfaFatigue,
    /// Two sign-ins too far apart for the time between them.
    ImpossibleTravel,
    /// A sign-in from a country the user never used.
    NewCountry,
    /// A sign-in from a device the user never used.
    NewDevice,
    /// Both at once.
    NewDeviceNewCountry,
    /// One session used from two places.
    SessionHijack,
    /// Many RC4 service tickets for one user.
    Kerberoasting,
    /// Logons to many hosts new for the user.
    LateralMovement,
    /// One source to many ports.
    PortScan,
    /// One source to many hosts.
    HostScan,
    /// Bytes out far above the host's own normal.
    Exfiltration,
    /// Regular connections to a destination nobody else uses.
    Beaconing,
    /// A device the MDM says is noncompliant is used to sign in.
    NoncompliantDevice,
    /// A sign-in after a long silence.
    DormantAccount,
    /// Activity at an hour the user is never active.
    RareHour,
    /// Many connections from one source to one host's login service.
    NetworkBruteForce,
}

impl SignalKind {
    /// Every kind.
    pub const ALL: [SignalKind; 19] = [
        SignalKind::BruteForceSuccess,
        SignalKind::FailureBurst,
        SignalKind::PasswordSpray,
        SignalKind::MfaFatigue,
        SignalKind::ImpossibleTravel,
        SignalKind::NewCountry,
        SignalKind::NewDevice,
        SignalKind::NewDeviceNewCountry,
        SignalKind::SessionHijack,
        SignalKind::Kerberoasting,
        SignalKind::LateralMovement,
        SignalKind::PortScan,
        SignalKind::HostScan,
        SignalKind::Exfiltration,
        SignalKind::Beaconing,
        SignalKind::NoncompliantDevice,
        SignalKind::DormantAccount,
        SignalKind::RareHour,
        SignalKind::NetworkBruteForce,
    ];

    /// Stable id, `vigil.baseline.<name>`.
    pub fn id(self) -> &'static str {
        match self {
            SignalKind::BruteForceSuccess => "vigil.baseline.brute_force_success",
            SignalKind::FailureBurst => "vigil.baseline.failure_burst",
            SignalKind::PasswordSpray => "vigil.baseline.password_spray",
            SignalKind::MfaFatigue => "vigil.baseline.mfa_fatigue",
            SignalKind::ImpossibleTravel => "vigil.baseline.impossible_travel",
            SignalKind::NewCountry => "vigil.baseline.new_country",
            SignalKind::NewDevice => "vigil.baseline.new_device",
            SignalKind::NewDeviceNewCountry => "vigil.baseline.new_device_new_country",
            SignalKind::SessionHijack => "vigil.baseline.session_hijack",
            SignalKind::Kerberoasting => "vigil.baseline.kerberoasting",
            SignalKind::LateralMovement => "vigil.baseline.lateral_movement",
            SignalKind::PortScan => "vigil.baseline.port_scan",
            SignalKind::HostScan => "vigil.baseline.host_scan",
            SignalKind::Exfiltration => "vigil.baseline.exfiltration",
            SignalKind::Beaconing => "vigil.baseline.beaconing",
            SignalKind::NoncompliantDevice => "vigil.baseline.noncompliant_device",
            SignalKind::DormantAccount => "vigil.baseline.dormant_account",
            SignalKind::RareHour => "vigil.baseline.rare_hour",
            SignalKind::NetworkBruteForce => "vigil.baseline.network_brute_force",
        }
    }

    /// Title of the finding.
    pub fn title(self) -> &'static str {
        match self {
            SignalKind::BruteForceSuccess => "Sign-in success after repeated failures",
            SignalKind::FailureBurst => "Burst of failed sign-ins for one user",
            SignalKind::PasswordSpray => "Password spray from one source",
            SignalKind::MfaFatigue => "MFA push fatigue",
            SignalKind::ImpossibleTravel => "Impossible travel",
            SignalKind::NewCountry => "First sign-in from a country",
            SignalKind::NewDevice => "First sign-in from a device",
            SignalKind::NewDeviceNewCountry => "New device and new country at once",
            SignalKind::SessionHijack => "Session used from two places",
            SignalKind::Kerberoasting => "Kerberoasting: many RC4 service tickets",
            SignalKind::LateralMovement => "Logons to many hosts new for the user",
            SignalKind::PortScan => "Port scan",
            SignalKind::HostScan => "Host scan",
            SignalKind::Exfiltration => "Bytes out far above the host's normal",
            SignalKind::Beaconing => "Regular beaconing to a rare destination",
            SignalKind::NoncompliantDevice => "Noncompliant device used to sign in",
            SignalKind::DormantAccount => "Dormant account signs in",
            SignalKind::RareHour => "Activity at an unusual hour for the user",
            SignalKind::NetworkBruteForce => "Repeated connections to a login service",
        }
    }

    /// ATT&CK technique ids, comma separated.
    pub fn techniques(self) -> &'static str {
        match self {
            SignalKind::BruteForceSuccess | SignalKind::FailureBurst => "T1110.001",
            SignalKind::PasswordSpray => "T1110.003",
            SignalKind::MfaFatigue => "T1621",
            SignalKind::ImpossibleTravel
            | SignalKind::NewCountry
            | SignalKind::NewDevice
            | SignalKind::NewDeviceNewCountry
            | SignalKind::DormantAccount
            | SignalKind::RareHour => "T1078",
            SignalKind::SessionHijack => "T1550.004",
            SignalKind::Kerberoasting => "T1558.003",
            SignalKind::LateralMovement => "T1021",
            SignalKind::PortScan | SignalKind::HostScan => "T1046",
            SignalKind::NetworkBruteForce => "T1110",
            SignalKind::Exfiltration => "T1048",
            SignalKind::Beaconing => "T1071",
            SignalKind::NoncompliantDevice => "",
        }
    }

    /// The kind with this id.
    pub fn from_id(id: &str) -> Option<SignalKind> {
        SignalKind::ALL.into_iter().find(|k| k.id() == id)
    }
}

/// One signal.
#[derive(Clone, Debug)]
pub struct Signal {
    /// Event time of the event that raised it, µs.
    pub time: i64,
    /// What kind.
    pub kind: SignalKind,
    /// Whom it concerns.
    pub entity: Entity,
    /// How unusual, 0 to 100.
    pub score: f64,
    /// A sentence a person can read.
    pub explanation: String,
    /// `event_uid` of the event that raised it.
    pub event_uid: Option<String>,
    /// User, device and source address of that event, where known.
    pub user: Option<String>,
    pub device: Option<String>,
    pub ip: Option<String>,
}

/// OCSF severity for a score: the bands of the risk levels.
pub(crate) fn severity(score: f64) -> (i64, &'static str) {
    match score {
        s if s >= 75.0 => (5, "Critical"),
        s if s >= 50.0 => (4, "High"),
        s if s >= 25.0 => (3, "Medium"),
        s if s >= 10.0 => (2, "Low"),
        _ => (1, "Informational"),
    }
}

/// What every finding vigil derives itself (baselines, models) carries.
pub(crate) struct Derived<'a> {
    pub(crate) time: i64,
    pub(crate) uid: &'a str,
    /// `metadata_log_name`: `baseline` or `model`.
    pub(crate) log_name: &'a str,
    pub(crate) analytic: &'a str,
    pub(crate) title: &'a str,
    pub(crate) explanation: &'a str,
    pub(crate) techniques: &'a str,
    pub(crate) tags: &'a str,
    pub(crate) entity_type: &'a str,
    pub(crate) entity_id: &'a str,
    pub(crate) score: f64,
}

/// Start a `detection_finding` row with the columns every derived
/// finding has; the caller adds its own.
pub(crate) fn derived_row<'b>(b: &'b mut BatchBuilder, f: &Derived<'_>) -> Row<'b> {
    let (sev_id, sev) = severity(f.score);
    let mut r = b.row();
    r.time_us(Field::Time, f.time);
    r.int(Field::ActivityId, 1)
        .str(Field::ActivityName, "Create");
    r.int(Field::SeverityId, sev_id).str(Field::Severity, sev);
    r.str(Field::MetadataProductName, "vigil");
    r.str(Field::MetadataLogName, f.log_name);
    r.str(Field::EventUid, f.uid)
        .str(Field::FindingInfoUid, f.uid);
    r.str(Field::FindingInfoTitle, f.title);
    r.str(Field::FindingInfoDesc, f.explanation);
    r.str(Field::Message, f.explanation);
    r.str(Field::FindingInfoAnalyticUid, f.analytic);
    r.str(Field::FindingInfoAnalyticName, f.title);
    r.str(Field::FindingInfoAttackTechniques, f.techniques);
    r.str(Field::FindingInfoTags, f.tags);
    r.str(Field::EntityType, f.entity_type);
    r.str(Field::EntityId, f.entity_id);
    r.float(Field::RiskScore, f.score);
    r
}

/// Finding rows for signals.
pub(crate) fn rows(signals: &[Signal]) -> RecordBatch {
    let mut b = BatchBuilder::new(Class::DetectionFinding);
    for s in signals {
        let what = format!("{}\u{1f}{}", s.entity, s.event_uid.as_deref().unwrap_or(""));
        let fid = finding_uid(s.kind.id(), &format!("{what}\u{1f}{}", s.time));
        let mut r = derived_row(
            &mut b,
            &Derived {
                time: s.time,
                uid: &fid,
                log_name: "baseline",
                analytic: s.kind.id(),
                title: s.kind.title(),
                explanation: &s.explanation,
                techniques: s.kind.techniques(),
                tags: "vigil.baseline",
                entity_type: s.entity.kind.name(),
                entity_id: &s.entity.id,
                score: s.score,
            },
        );
        r.opt_str(Field::EvidencesEventUids, s.event_uid.as_deref());
        r.opt_str(Field::UserName, s.user.as_deref());
        r.opt_str(Field::DeviceHostname, s.device.as_deref());
        r.opt_str(Field::SrcEndpointIp, s.ip.as_deref());
    }
    b.finish()
}
