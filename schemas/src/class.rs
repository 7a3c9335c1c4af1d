//! The event classes: which fields each carries, and its Arrow schema.

use std::sync::{Arc, OnceLock};

use arrow_schema::{DataType, Field as ArrowField, Schema, SchemaRef, TimeUnit};

use crate::fields::{ColType, Field};

/// An event class: one table in the lake and the SQL catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// OCSF Authentication (3002): logons, logoffs, tickets, sign-ins.
    Authentication,
    /// OCSF Network Activity (4001): flows and application sessions.
    NetworkActivity,
    /// OCSF Device Config State (5002): device posture and query results.
    DevicePosture,
    /// OCSF Detection Finding (2004): produced by vigil's detectors.
    DetectionFinding,
    /// vigil's entity risk changes.
    EntityRisk,
    /// OCSF Base Event (0): every record that belongs to no other class,
    /// kept so that nothing read is dropped.
    BaseEvent,
    /// vigil's trust decisions: allow, step-up or deny for each sign-in.
    TrustDecision,
}

/// Fields every class starts with, in this order.
const COMMON: &[Field] = &[
    Field::Time,
    Field::IngestTime,
    Field::ClassUid,
    Field::CategoryUid,
    Field::ActivityId,
    Field::ActivityName,
    Field::TypeUid,
    Field::SeverityId,
    Field::Severity,
    Field::StatusId,
    Field::Status,
    Field::StatusCode,
    Field::StatusDetail,
    Field::Message,
    Field::MetadataProductName,
    Field::MetadataProductVendorName,
    Field::MetadataLogName,
    Field::MetadataUid,
    Field::MetadataEventCode,
    Field::MetadataOriginalTime,
    Field::MetadataTimeQuality,
    Field::EventUid,
];

/// Fields every class ends with.
const TAIL: &[Field] = &[Field::RawData, Field::Unmapped];

const ENDPOINTS: &[Field] = &[
    Field::SrcEndpointIp,
    Field::SrcEndpointPort,
    Field::SrcEndpointHostname,
    Field::SrcEndpointInterfaceUid,
    Field::SrcEndpointLocationCountry,
    Field::SrcEndpointLocationCity,
    Field::SrcEndpointLocationLat,
    Field::SrcEndpointLocationLong,
    Field::SrcEndpointAsNumber,
    Field::SrcEndpointAsName,
    Field::DstEndpointIp,
    Field::DstEndpointPort,
    Field::DstEndpointHostname,
    Field::DstEndpointLocationCountry,
    Field::DstEndpointLocationCity,
    Field::DstEndpointLocationLat,
    Field::DstEndpointLocationLong,
    Field::DstEndpointAsNumber,
    Field::DstEndpointAsName,
];

const AUTHENTICATION: &[Field] = &[
    Field::UserName,
    Field::UserUid,
    Field::UserDomain,
    Field::UserType,
    Field::UserEmailAddr,
    Field::ActorUserName,
    Field::ActorUserUid,
    Field::ActorUserDomain,
    Field::ActorProcessName,
    Field::ActorProcessPid,
    Field::ActorSessionUid,
    Field::AuthProtocol,
    Field::AuthProtocolId,
    Field::LogonType,
    Field::LogonTypeId,
    Field::LogonProcessName,
    Field::IsRemote,
    Field::IsMfa,
    Field::ServiceName,
    Field::ServiceUid,
    Field::DeviceHostname,
    Field::DeviceUid,
    Field::DeviceIp,
    Field::HttpRequestUserAgent,
    Field::CloudProvider,
    Field::CloudRegion,
    Field::CloudAccountUid,
    Field::ApiOperation,
    Field::ApiServiceName,
    Field::ApiRequestUid,
];

const NETWORK_ACTIVITY: &[Field] = &[
    Field::ConnectionInfoUid,
    Field::ConnectionInfoProtocolName,
    Field::ConnectionInfoProtocolNum,
    Field::ConnectionInfoDirection,
    Field::AppName,
    Field::Action,
    Field::ActionId,
    Field::StartTime,
    Field::EndTime,
    Field::Duration,
    Field::TrafficBytesOut,
    Field::TrafficBytesIn,
    Field::TrafficBytes,
    Field::TrafficPacketsOut,
    Field::TrafficPacketsIn,
    Field::TrafficPackets,
    Field::UserName,
    Field::AuthProtocol,
    Field::QueryHostname,
    Field::QueryType,
    Field::Rcode,
    Field::HttpRequestHttpMethod,
    Field::HttpRequestUrlHostname,
    Field::HttpRequestUrlPath,
    Field::HttpRequestUserAgent,
    Field::HttpResponseCode,
    Field::TlsSni,
    Field::TlsVersion,
    Field::TlsCertificateSubject,
    Field::DeviceHostname,
    Field::CloudAccountUid,
];

const DEVICE_POSTURE: &[Field] = &[
    Field::DeviceHostname,
    Field::DeviceUid,
    Field::DeviceIp,
    Field::DeviceName,
    Field::DeviceType,
    Field::DeviceOsName,
    Field::DeviceOsVersion,
    Field::DeviceIsCompliant,
    Field::DeviceIsManaged,
    Field::DeviceIsEncrypted,
    Field::DeviceIsJailbroken,
    Field::DeviceComplianceState,
    Field::DeviceLastSeenTime,
    Field::DeviceOwnerName,
    Field::UserName,
    Field::UserEmailAddr,
    Field::QueryName,
    Field::Action,
];

const DETECTION_FINDING: &[Field] = &[
    Field::FindingInfoUid,
    Field::FindingInfoTitle,
    Field::FindingInfoDesc,
    Field::FindingInfoAnalyticUid,
    Field::FindingInfoAnalyticName,
    Field::FindingInfoAttackTechniques,
    Field::FindingInfoTags,
    Field::EntityType,
    Field::EntityId,
    Field::EvidencesEventUids,
    Field::Evidences,
    Field::RiskScore,
    Field::UserName,
    Field::DeviceHostname,
    Field::SrcEndpointIp,
];

const ENTITY_RISK: &[Field] = &[
    Field::EntityType,
    Field::EntityId,
    Field::RiskScore,
    Field::RiskLevel,
    Field::RiskPrevLevel,
    Field::RiskContributions,
];

const TRUST_DECISION: &[Field] = &[
    Field::EntityType,
    Field::EntityId,
    Field::Decision,
    Field::DecisionReasons,
    Field::UserRiskScore,
    Field::DeviceRiskScore,
    Field::UserName,
    Field::DeviceHostname,
    Field::DeviceIsCompliant,
    Field::ServiceName,
    Field::SrcEndpointIp,
    Field::SrcEndpointLocationCountry,
    Field::SrcEndpointLocationCity,
    Field::EvidencesEventUids,
];

const BASE_EVENT: &[Field] = &[
    Field::DeviceHostname,
    Field::UserName,
    Field::ActorUserName,
    Field::SrcEndpointIp,
    Field::CloudAccountUid,
    Field::ApiOperation,
    Field::ApiServiceName,
];

impl Class {
    /// Every class, in table order.
    pub const ALL: [Class; 7] = [
        Class::Authentication,
        Class::NetworkActivity,
        Class::DevicePosture,
        Class::DetectionFinding,
        Class::EntityRisk,
        Class::BaseEvent,
        Class::TrustDecision,
    ];

    /// Table name, as in the lake and SQL.
    pub fn name(self) -> &'static str {
        match self {
            Class::Authentication => "authentication",
            Class::NetworkActivity => "network_activity",
            Class::DevicePosture => "device_posture",
            Class::DetectionFinding => "detection_finding",
            Class::EntityRisk => "entity_risk",
            Class::TrustDecision => "trust_decision",
            Class::BaseEvent => "base_event",
        }
    }

    /// Look a class up by table name.
    pub fn from_name(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == name)
    }

    /// OCSF class_uid (0 for base events; 0 also for vigil's risk table).
    pub fn uid(self) -> i32 {
        match self {
            Class::Authentication => 3002,
            Class::NetworkActivity => 4001,
            Class::DevicePosture => 5002,
            Class::DetectionFinding => 2004,
            Class::EntityRisk | Class::TrustDecision | Class::BaseEvent => 0,
        }
    }

    /// OCSF category_uid.
    pub fn category_uid(self) -> i32 {
        self.uid() / 1000
    }

    /// Position of the class in [`Class::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The fields of this class, in column order.
    pub fn fields(self) -> &'static [Field] {
        static CACHE: OnceLock<Vec<Vec<Field>>> = OnceLock::new();
        let all = CACHE.get_or_init(|| Class::ALL.iter().map(|c| c.build_fields()).collect());
        &all[self.index()]
    }

    fn build_fields(self) -> Vec<Field> {
        let own: &[&[Field]] = match self {
            Class::Authentication => &[AUTHENTICATION, ENDPOINTS],
            Class::NetworkActivity => &[NETWORK_ACTIVITY, ENDPOINTS],
            Class::DevicePosture => &[DEVICE_POSTURE],
            Class::DetectionFinding => &[DETECTION_FINDING],
            Class::EntityRisk => &[ENTITY_RISK],
            Class::TrustDecision => &[TRUST_DECISION],
            Class::BaseEvent => &[BASE_EVENT],
        };
        let mut out: Vec<Field> = COMMON.to_vec();
        for f in own.iter().flat_map(|s| s.iter()) {
            if !out.contains(f) {
                out.push(*f);
            }
        }
        out.extend_from_slice(TAIL);
        out
    }

    /// Column index of `field` in this class, if it carries it.
    pub fn slot(self, field: Field) -> Option<usize> {
        static CACHE: OnceLock<Vec<Vec<Option<u16>>>> = OnceLock::new();
        let all = CACHE.get_or_init(|| {
            Class::ALL
                .iter()
                .map(|c| {
                    let mut slots = vec![None; crate::fields::FIELDS.len()];
                    for (i, f) in c.fields().iter().enumerate() {
                        slots[*f as usize] = Some(i as u16);
                    }
                    slots
                })
                .collect()
        });
        all[self.index()][field as usize].map(usize::from)
    }

    /// The Arrow schema of this class.
    pub fn schema(self) -> SchemaRef {
        static CACHE: OnceLock<Vec<SchemaRef>> = OnceLock::new();
        let all = CACHE.get_or_init(|| Class::ALL.iter().map(|c| c.build_schema()).collect());
        all[self.index()].clone()
    }

    fn build_schema(self) -> SchemaRef {
        let fields: Vec<ArrowField> = self
            .fields()
            .iter()
            .map(|f| {
                let def = f.def();
                let nullable = !matches!(f, Field::ClassUid);
                ArrowField::new(def.name, arrow_type(def.ty), nullable)
            })
            .collect();
        Arc::new(Schema::new(fields))
    }
}

/// The Arrow type of a column type.
pub fn arrow_type(ty: ColType) -> DataType {
    match ty {
        ColType::Utf8 => DataType::Utf8,
        ColType::Int32 => DataType::Int32,
        ColType::Int64 => DataType::Int64,
        ColType::Float64 => DataType::Float64,
        ColType::Bool => DataType::Boolean,
        ColType::Timestamp => timestamp_type(),
        ColType::Map => map_type(),
    }
}

/// `Timestamp(Microsecond, "UTC")`.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The type of the `unmapped` column: `Map<Utf8, Utf8>` with field names
/// `entries`, `keys`, `values`, as arrow's `MapBuilder` writes it.
pub fn map_type() -> DataType {
    let entries = ArrowField::new(
        "entries",
        DataType::Struct(
            vec![
                ArrowField::new("keys", DataType::Utf8, false),
                ArrowField::new("values", DataType::Utf8, true),
            ]
            .into(),
        ),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}
