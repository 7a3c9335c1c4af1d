//! Every column vigil knows, once, with its OCSF path, Arrow type and meaning.
//!
//! A column name is the OCSF attribute path with `.` replaced by `_`
//! (`src_endpoint.ip` becomes `src_endpoint_ip`). Columns marked
//! `vigil extension` have no OCSF attribute; their path names that.
//! Each class lists the fields it carries in [`crate::class`].

/// The Arrow type family of a column.
///
/// Timestamps are `Timestamp(Microsecond, "UTC")`: microseconds keep Zeek and
/// Entra precision, and the ±290,000-year range holds "never expires"
/// (9999-12-31) and FILETIME zero (1601-01-01) without overflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColType {
    /// UTF-8 text.
    Utf8,
    /// Signed 32-bit integer (OCSF enum ids).
    Int32,
    /// Signed 64-bit integer (counters, ports, numbers).
    Int64,
    /// 64-bit float (coordinates, scores).
    Float64,
    /// true or false.
    Bool,
    /// `Timestamp(Microsecond, "UTC")`.
    Timestamp,
    /// `Map<Utf8, Utf8>`: source fields with no column of their own.
    Map,
}

/// One column: what it is called, where it sits in OCSF, and what it means.
#[derive(Clone, Copy, Debug)]
pub struct FieldDef {
    /// The field this definition describes.
    pub field: Field,
    /// Column name.
    pub name: &'static str,
    /// OCSF attribute path, or `vigil extension`.
    pub ocsf_path: &'static str,
    /// Arrow type.
    pub ty: ColType,
    /// Meaning, for the reference table.
    pub doc: &'static str,
}

macro_rules! fields {
    ($($var:ident => $name:literal, $path:literal, $ty:ident, $doc:literal;)*) => {
        /// Every column name vigil knows. A class carries a subset of them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        #[non_exhaustive]
        pub enum Field { $(
            #[doc = $doc]
            $var
        ),* }

        /// All field definitions, indexed by `Field as usize`.
        pub const FIELDS: &[FieldDef] = &[$(FieldDef {
            field: Field::$var, name: $name, ocsf_path: $path, ty: ColType::$ty, doc: $doc,
        }),*];
    };
}

fields! {
    Time => "time", "time", Timestamp, "When the event happened (UTC).";
    IngestTime => "ingest_time", "vigil extension", Timestamp, "When vigil read the record (UTC).";
    ClassUid => "class_uid", "class_uid", Int32, "OCSF class id (3002, 4001, 5002, 2004; 0 for base events).";
    CategoryUid => "category_uid", "category_uid", Int32, "OCSF category id.";
    ActivityId => "activity_id", "activity_id", Int32, "OCSF activity id of the class (for authentication: 1 logon, 2 logoff, 3 authentication ticket, 4 service ticket request, 99 other).";
    ActivityName => "activity_name", "activity_name", Utf8, "Activity as text, as the source named it where it did.";
    TypeUid => "type_uid", "type_uid", Int64, "class_uid * 100 + activity_id.";
    SeverityId => "severity_id", "severity_id", Int32, "OCSF severity: 0 unknown, 1 informational, 2 low, 3 medium, 4 high, 5 critical, 6 fatal.";
    Severity => "severity", "severity", Utf8, "Severity as text.";
    StatusId => "status_id", "status_id", Int32, "Outcome: 0 unknown, 1 success, 2 failure, 99 other.";
    Status => "status", "status", Utf8, "Outcome as text.";
    StatusCode => "status_code", "status_code", Utf8, "Source-specific outcome code (Windows Status, Entra errorCode, Okta reason).";
    StatusDetail => "status_detail", "status_detail", Utf8, "Source-specific detail of the outcome (Windows SubStatus, failure reason).";
    Message => "message", "message", Utf8, "Human-readable message or description of the event.";
    MetadataProductName => "metadata_product_name", "metadata.product.name", Utf8, "Product that produced the record (Windows Security, Okta, sshd, Zeek, ...).";
    MetadataProductVendorName => "metadata_product_vendor_name", "metadata.product.vendor_name", Utf8, "Vendor of that product.";
    MetadataLogName => "metadata_log_name", "metadata.log_name", Utf8, "Format or log the record came from (vigil format name, Zeek log path, Windows channel).";
    MetadataUid => "metadata_uid", "metadata.uid", Utf8, "Source's own record id (Okta uuid, CloudTrail eventID, EventRecordID).";
    MetadataEventCode => "metadata_event_code", "metadata.event_code", Utf8, "Source event code (Windows EventID, Okta eventType, CloudTrail eventName).";
    MetadataOriginalTime => "metadata_original_time", "metadata.original_time", Utf8, "The time exactly as the source wrote it.";
    MetadataTimeQuality => "metadata_time_quality", "vigil extension", Utf8, "Why the time is not plain: ambiguous_local, nonexistent_local, year_inferred, clamped_future; null when exact.";
    DeviceHostname => "device_hostname", "device.hostname", Utf8, "Host that reported or is described by the event.";
    DeviceUid => "device_uid", "device.uid", Utf8, "Device id (osquery hostIdentifier, MDM device id).";
    DeviceIp => "device_ip", "device.ip", Utf8, "Address of the reporting device.";
    DeviceName => "device_name", "device.name", Utf8, "Device display name.";
    DeviceType => "device_type", "device.type", Utf8, "Device type (Windows, iPhone, ...).";
    DeviceOsName => "device_os_name", "device.os.name", Utf8, "Operating system name.";
    DeviceOsVersion => "device_os_version", "device.os.version", Utf8, "Operating system version.";
    DeviceIsCompliant => "device_is_compliant", "device.is_compliant", Bool, "Device meets the compliance policy.";
    DeviceIsManaged => "device_is_managed", "device.is_managed", Bool, "Device is managed by MDM.";
    DeviceIsEncrypted => "device_is_encrypted", "vigil extension", Bool, "Device storage is encrypted (MDM isEncrypted).";
    DeviceIsJailbroken => "device_is_jailbroken", "vigil extension", Bool, "Device is jailbroken or rooted (MDM jailBroken).";
    DeviceComplianceState => "device_compliance_state", "vigil extension", Utf8, "MDM complianceState as the source wrote it.";
    DeviceLastSeenTime => "device_last_seen_time", "device.last_seen_time", Timestamp, "When the device last checked in (MDM lastSyncDateTime).";
    DeviceOwnerName => "device_owner_name", "device.owner.name", Utf8, "User the device belongs to.";
    UserName => "user_name", "user.name", Utf8, "The user the event is about (the account logging on, the target).";
    UserUid => "user_uid", "user.uid", Utf8, "That user's id (SID, Okta id, object id).";
    UserDomain => "user_domain", "user.domain", Utf8, "That user's domain.";
    UserType => "user_type", "user.type", Utf8, "User, Admin, System, ServicePrincipal, ...";
    UserEmailAddr => "user_email_addr", "user.email_addr", Utf8, "That user's e-mail address or UPN.";
    ActorUserName => "actor_user_name", "actor.user.name", Utf8, "Who acted (the subject that requested a logon, the admin who changed something).";
    ActorUserUid => "actor_user_uid", "actor.user.uid", Utf8, "The actor's id.";
    ActorUserDomain => "actor_user_domain", "actor.user.domain", Utf8, "The actor's domain.";
    ActorProcessName => "actor_process_name", "actor.process.name", Utf8, "Process that acted (Windows ProcessName, sshd).";
    ActorProcessPid => "actor_process_pid", "actor.process.pid", Int64, "That process's id.";
    ActorSessionUid => "actor_session_uid", "actor.session.uid", Utf8, "Session id (Windows TargetLogonId, Okta session, authentication id).";
    AuthProtocol => "auth_protocol", "auth_protocol", Utf8, "Kerberos, NTLM, Negotiate, password, publickey, SAML, OIDC, ...";
    AuthProtocolId => "auth_protocol_id", "auth_protocol_id", Int32, "OCSF auth protocol id: 0 unknown, 1 NTLM, 2 Kerberos, 3 Digest, 4 OpenID, 5 SAML, 6 OAuth 2.0, 7 PAP, 8 CHAP, 9 EAP, 10 RADIUS, 99 other.";
    LogonType => "logon_type", "logon_type", Utf8, "Logon type as text (Interactive, Network, ...).";
    LogonTypeId => "logon_type_id", "logon_type_id", Int32, "Logon type id (Windows LogonType numbers).";
    LogonProcessName => "logon_process_name", "logon_process.name", Utf8, "Logon process (Kerberos, NtLmSsp, Advapi).";
    IsRemote => "is_remote", "is_remote", Bool, "The logon came over the network.";
    IsMfa => "is_mfa", "is_mfa", Bool, "Multi-factor authentication was used.";
    ServiceName => "service_name", "service.name", Utf8, "Service or application accessed (Kerberos service name, Okta app, AWS service).";
    ServiceUid => "service_uid", "service.uid", Utf8, "Its id (app id, service SID).";
    SrcEndpointIp => "src_endpoint_ip", "src_endpoint.ip", Utf8, "Source address, canonical (IPv4-mapped IPv6 written as IPv4).";
    SrcEndpointPort => "src_endpoint_port", "src_endpoint.port", Int64, "Source port.";
    SrcEndpointHostname => "src_endpoint_hostname", "src_endpoint.hostname", Utf8, "Source host name (Windows WorkstationName, sshd host).";
    SrcEndpointInterfaceUid => "src_endpoint_interface_uid", "src_endpoint.interface_uid", Utf8, "Source network interface (AWS ENI).";
    SrcEndpointLocationCountry => "src_endpoint_location_country", "src_endpoint.location.country", Utf8, "Source country, ISO 3166-1 alpha-2.";
    SrcEndpointLocationCity => "src_endpoint_location_city", "src_endpoint.location.city", Utf8, "Source city.";
    SrcEndpointLocationLat => "src_endpoint_location_lat", "src_endpoint.location.lat", Float64, "Source latitude.";
    SrcEndpointLocationLong => "src_endpoint_location_long", "src_endpoint.location.long", Float64, "Source longitude.";
    SrcEndpointAsNumber => "src_endpoint_autonomous_system_number", "src_endpoint.autonomous_system.number", Int64, "Source autonomous system number.";
    SrcEndpointAsName => "src_endpoint_autonomous_system_name", "src_endpoint.autonomous_system.name", Utf8, "Source autonomous system organisation.";
    DstEndpointIp => "dst_endpoint_ip", "dst_endpoint.ip", Utf8, "Destination address, canonical.";
    DstEndpointPort => "dst_endpoint_port", "dst_endpoint.port", Int64, "Destination port.";
    DstEndpointHostname => "dst_endpoint_hostname", "dst_endpoint.hostname", Utf8, "Destination host name.";
    DstEndpointLocationCountry => "dst_endpoint_location_country", "dst_endpoint.location.country", Utf8, "Destination country, ISO 3166-1 alpha-2.";
    DstEndpointLocationCity => "dst_endpoint_location_city", "dst_endpoint.location.city", Utf8, "Destination city.";
    DstEndpointLocationLat => "dst_endpoint_location_lat", "dst_endpoint.location.lat", Float64, "Destination latitude.";
    DstEndpointLocationLong => "dst_endpoint_location_long", "dst_endpoint.location.long", Float64, "Destination longitude.";
    DstEndpointAsNumber => "dst_endpoint_autonomous_system_number", "dst_endpoint.autonomous_system.number", Int64, "Destination autonomous system number.";
    DstEndpointAsName => "dst_endpoint_autonomous_system_name", "dst_endpoint.autonomous_system.name", Utf8, "Destination autonomous system organisation.";
    HttpRequestUserAgent => "http_request_user_agent", "http_request.user_agent", Utf8, "HTTP user agent.";
    HttpRequestHttpMethod => "http_request_http_method", "http_request.http_method", Utf8, "HTTP method.";
    HttpRequestUrlHostname => "http_request_url_hostname", "http_request.url.hostname", Utf8, "HTTP host.";
    HttpRequestUrlPath => "http_request_url_path", "http_request.url.path", Utf8, "HTTP path and query.";
    HttpResponseCode => "http_response_code", "http_response.code", Int64, "HTTP status code.";
    CloudProvider => "cloud_provider", "cloud.provider", Utf8, "Cloud provider (AWS, Azure).";
    CloudRegion => "cloud_region", "cloud.region", Utf8, "Cloud region.";
    CloudAccountUid => "cloud_account_uid", "cloud.account.uid", Utf8, "Cloud account, subscription or tenant id.";
    ApiOperation => "api_operation", "api.operation", Utf8, "API call (CloudTrail eventName, Entra operationName).";
    ApiServiceName => "api_service_name", "api.service.name", Utf8, "API service (CloudTrail eventSource).";
    ApiRequestUid => "api_request_uid", "api.request.uid", Utf8, "API request id.";
    ConnectionInfoUid => "connection_info_uid", "connection_info.uid", Utf8, "Connection id (Zeek uid, Suricata flow_id, CICFlowMeter Flow ID).";
    ConnectionInfoProtocolName => "connection_info_protocol_name", "connection_info.protocol_name", Utf8, "Transport protocol, lower case (tcp, udp, icmp).";
    ConnectionInfoProtocolNum => "connection_info_protocol_num", "connection_info.protocol_num", Int32, "IANA protocol number.";
    ConnectionInfoDirection => "connection_info_direction", "connection_info.direction", Utf8, "Direction as the source gave it (inbound, outbound, local).";
    AppName => "app_name", "app_name", Utf8, "Application protocol (ssh, dns, http, rdp, ...).";
    Action => "action", "action", Utf8, "What the control did: Allowed or Denied.";
    ActionId => "action_id", "action_id", Int32, "0 unknown, 1 allowed, 2 denied, 99 other.";
    StartTime => "start_time", "start_time", Timestamp, "Start of the flow or window.";
    EndTime => "end_time", "end_time", Timestamp, "End of the flow or window.";
    Duration => "duration", "duration", Int64, "Duration in milliseconds.";
    TrafficBytesOut => "traffic_bytes_out", "traffic.bytes_out", Int64, "Bytes from source to destination.";
    TrafficBytesIn => "traffic_bytes_in", "traffic.bytes_in", Int64, "Bytes from destination to source.";
    TrafficBytes => "traffic_bytes", "traffic.bytes", Int64, "Bytes in both directions.";
    TrafficPacketsOut => "traffic_packets_out", "traffic.packets_out", Int64, "Packets from source to destination.";
    TrafficPacketsIn => "traffic_packets_in", "traffic.packets_in", Int64, "Packets from destination to source.";
    TrafficPackets => "traffic_packets", "traffic.packets", Int64, "Packets in both directions.";
    QueryHostname => "query_hostname", "query.hostname", Utf8, "DNS query name.";
    QueryType => "query_type", "query.type", Utf8, "DNS query type.";
    Rcode => "rcode", "rcode", Utf8, "DNS response code.";
    TlsSni => "tls_sni", "tls.sni", Utf8, "TLS server name.";
    TlsVersion => "tls_version", "tls.version", Utf8, "TLS version.";
    TlsCertificateSubject => "tls_certificate_subject", "tls.certificate.subject", Utf8, "Server certificate subject.";
    QueryName => "query_name", "vigil extension", Utf8, "osquery query or pack name.";
    FindingInfoUid => "finding_info_uid", "finding_info.uid", Utf8, "Stable finding id (same input, same id).";
    FindingInfoTitle => "finding_info_title", "finding_info.title", Utf8, "Finding title (the rule title).";
    FindingInfoDesc => "finding_info_desc", "finding_info.desc", Utf8, "Finding description.";
    FindingInfoAnalyticUid => "finding_info_analytic_uid", "finding_info.analytic.uid", Utf8, "Id of the rule that fired.";
    FindingInfoAnalyticName => "finding_info_analytic_name", "finding_info.analytic.name", Utf8, "Name of the rule that fired.";
    FindingInfoAttackTechniques => "finding_info_attack_technique_uids", "finding_info.attacks[].technique.uid", Utf8, "ATT&CK technique ids, comma separated.";
    FindingInfoTags => "finding_info_tags", "vigil extension", Utf8, "Rule tags, comma separated.";
    EvidencesEventUids => "evidences_event_uids", "vigil extension", Utf8, "Ids of the matched events, comma separated.";
    Evidences => "evidences", "evidences", Utf8, "Matched events as OCSF JSON.";
    EntityType => "entity_type", "vigil extension", Utf8, "Entity the row concerns: user, device, ip, host or service.";
    EntityId => "entity_id", "vigil extension", Utf8, "That entity's normalised id.";
    RiskScore => "risk_score", "vigil extension", Float64, "Current risk score, 0 to 100.";
    RiskLevel => "risk_level", "vigil extension", Utf8, "low, medium, high or critical.";
    RiskPrevLevel => "risk_prev_level", "vigil extension", Utf8, "Level before this change.";
    RiskContributions => "risk_contributions", "vigil extension", Utf8, "Signals behind the score, as JSON.";
    Decision => "decision", "vigil extension", Utf8, "Trust decision for a sign-in: allow, step_up or deny.";
    DecisionReasons => "decision_reasons", "vigil extension", Utf8, "Why, as a JSON array of sentences.";
    UserRiskScore => "user_risk_score", "vigil extension", Float64, "The user's risk score when the decision was made.";
    DeviceRiskScore => "device_risk_score", "vigil extension", Float64, "The device's risk score when the decision was made.";
    EventUid => "event_uid", "vigil extension", Utf8, "vigil's id for this row: a hash of source, location and record, stable across replays.";
    RawData => "raw_data", "raw_data", Utf8, "The original record, as read.";
    Unmapped => "unmapped", "unmapped", Map, "Source fields with no column, by their source name, values as text.";
}

impl Field {
    /// This field's definition.
    pub fn def(self) -> &'static FieldDef {
        &FIELDS[self as usize]
    }

    /// Column name.
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// Look a field up by column name.
    pub fn from_name(name: &str) -> Option<Field> {
        FIELDS.iter().find(|d| d.name == name).map(|d| d.field)
    }
}
