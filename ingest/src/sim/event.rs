//! Simulated events as compact structs, and their rendering into each
//! vendor's own layout.
//!
//! Events refer to the world's people, devices and servers by index, so a
//! day of them stays small until it is written; text is made only when an
//! event leaves the simulator, which is also when a Windows event gets its
//! host's next `EventRecordID`.

use std::io::Write;
use std::net::Ipv4Addr;

use chrono::DateTime;
use xxhash_rust::xxh3::xxh3_128;

use super::Sink;
use super::tables::{APPS, CITIES, SAAS, SERVICE_ACCOUNTS};
use super::world::{DOMAIN, DevKind, NT_DOMAIN, REALM, World, uuid};

/// One event: when, which attack instance it belongs to (`0` none, `k`
/// the instance `k - 1`), and what.
pub(crate) struct Ev {
    pub t: i64,
    pub tag: u32,
    pub body: Body,
}

pub(crate) enum Body {
    Okta(Okta),
    Win(Win),
    Ssh(Ssh),
    Conn(Conn),
    Osq(Osq),
    Mdm(Mdm),
}

impl Body {
    pub fn sink(&self) -> Sink {
        match self {
            Body::Okta(_) => Sink::Okta,
            Body::Win(_) => Sink::Windows,
            Body::Ssh(_) => Sink::Sshd,
            Body::Conn(_) => Sink::ZeekConn,
            Body::Osq(_) => Sink::Osquery,
            Body::Mdm(_) => Sink::Mdm,
        }
    }
}

/// An Okta System Log event kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OktaKind {
    SessionStart,
    Sso,
    PushSend,
    DenyPush,
    AuthViaMfa,
    SessionEnd,
}

impl OktaKind {
    fn event_type(self) -> &'static str {
        match self {
            OktaKind::SessionStart => "user.session.start",
            OktaKind::Sso => "user.authentication.sso",
            OktaKind::PushSend => "system.push.send_factor_verify_push",
            OktaKind::DenyPush => "user.mfa.okta_verify.deny_push",
            OktaKind::AuthViaMfa => "user.authentication.auth_via_mfa",
            OktaKind::SessionEnd => "user.session.end",
        }
    }

    fn message(self) -> &'static str {
        match self {
            OktaKind::SessionStart => "User login to Okta",
            OktaKind::Sso => "User single sign on to app",
            OktaKind::PushSend => "A push notification was sent to the user's Okta Verify",
            OktaKind::DenyPush => "User rejected Okta push verify",
            OktaKind::AuthViaMfa => "Authentication of user via MFA",
            OktaKind::SessionEnd => "User logout from Okta",
        }
    }
}

/// An Okta event.
pub(crate) struct Okta {
    pub kind: OktaKind,
    pub user: u32,
    pub ip: Ipv4Addr,
    /// City the address geolocates to.
    pub city: u8,
    pub ua: &'static str,
    pub device: Option<u32>,
    pub session: u64,
    pub app: Option<u8>,
    /// `None` for success, else the failure reason.
    pub fail: Option<&'static str>,
    pub id: u64,
}

/// A host that writes a Security log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Host {
    Dev(u32),
    Srv(u32),
}

/// An account named in a Windows event.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Acct {
    User(u32),
    /// A service account, by index into `SERVICE_ACCOUNTS`.
    Svc(u8),
    /// A host's machine account (`FS-01$`).
    Machine(Host),
}

/// A Windows Security event.
pub(crate) struct Win {
    pub id: u16,
    pub host: Host,
    pub acct: Acct,
    pub logon_type: u8,
    /// Source address (`None` is written `-`, as local logons do).
    pub ip: Option<Ipv4Addr>,
    pub port: u16,
    pub workstation: Option<Host>,
    /// 4769: the service asked for.
    pub service: Option<Acct>,
    /// 4768/4769: `0x12` AES256 or `0x17` RC4.
    pub enc: u8,
    /// 4625: failure (`0xC000006D` with a sub-status).
    pub sub_status: Option<u32>,
    pub logon_id: u32,
}

/// What an sshd line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SshKind {
    AcceptedKey,
    AcceptedPassword,
    FailedPassword,
    FailedInvalid,
    InvalidUser,
    SessionOpened,
    SessionClosed,
}

/// The account an sshd line names.
#[derive(Clone, Copy, Debug)]
pub(crate) enum SshUser {
    User(u32),
    Svc(u8),
    Name(&'static str),
}

/// An sshd syslog line.
pub(crate) struct Ssh {
    pub kind: SshKind,
    pub host: u32,
    pub user: SshUser,
    pub ip: Ipv4Addr,
    pub port: u16,
    pub pid: u32,
}

/// Zeek's application-protocol guess.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Svc {
    None,
    Dns,
    Ssl,
    Krb,
    Smb,
    Ldap,
    Ssh,
    Http,
}

impl Svc {
    fn name(self) -> &'static str {
        match self {
            Svc::None => "-",
            Svc::Dns => "dns",
            Svc::Ssl => "ssl",
            Svc::Krb => "krb_tcp",
            Svc::Smb => "smb,gssapi",
            Svc::Ldap => "ldap_tcp",
            Svc::Ssh => "ssh",
            Svc::Http => "http",
        }
    }
}

/// Zeek's connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Sf,
    S0,
    Rej,
    Rsto,
}

/// A Zeek conn.log record.
pub(crate) struct Conn {
    pub id: u64,
    pub src: Ipv4Addr,
    pub sport: u16,
    pub dst: Ipv4Addr,
    pub dport: u16,
    pub udp: bool,
    pub svc: Svc,
    pub duration_ms: u32,
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    pub state: State,
}

/// An osquery result: a disk-encryption snapshot, or an added listening
/// port.
pub(crate) struct Osq {
    pub device: u32,
    pub encrypted: bool,
    pub port: Option<u16>,
}

/// An MDM managedDevice record.
pub(crate) struct Mdm {
    pub device: u32,
    pub compliant: bool,
    pub encrypted: bool,
    pub jailbroken: bool,
}

/// RFC 3339 UTC with milliseconds.
pub(crate) fn rfc3339_ms(t: i64) -> String {
    let d = DateTime::from_timestamp_millis(t).unwrap_or_default();
    d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The source id of an event as labels name it: Okta `uuid`, Windows
/// `EventRecordID`, Zeek `uid`; sshd and posture records have none.
pub(crate) fn source_id(body: &Body, record_id: u64) -> Option<String> {
    match body {
        Body::Okta(o) => Some(okta_uuid(o.id)),
        Body::Win(_) => Some(record_id.to_string()),
        Body::Conn(c) => Some(zeek_uid(c.id)),
        _ => None,
    }
}

/// A Zeek connection uid: `C` and 17 base-62 characters.
fn zeek_uid(id: u64) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut x = xxh3_128(&id.to_le_bytes());
    let mut s = String::with_capacity(18);
    s.push('C');
    for _ in 0..17 {
        s.push(CHARS[(x % 62) as usize] as char);
        x /= 62;
    }
    s
}

/// Renders events as the bytes of one record each.
pub(crate) struct Render<'w> {
    pub w: &'w World,
}

impl Render<'_> {
    /// Write `ev` (no line ending). `record_id` is used by Windows events.
    pub fn write(&self, ev: &Ev, record_id: u64, out: &mut Vec<u8>) -> std::io::Result<()> {
        match &ev.body {
            Body::Okta(o) => self.okta(ev.t, o, out),
            Body::Win(x) => self.win(ev.t, x, record_id, out),
            Body::Ssh(x) => self.ssh(ev.t, x, out),
            Body::Conn(x) => conn(ev.t, x, out),
            Body::Osq(x) => self.osq(ev.t, x, out),
            Body::Mdm(x) => self.mdm(ev.t, x, out),
        }
    }

    fn okta(&self, t: i64, o: &Okta, out: &mut Vec<u8>) -> std::io::Result<()> {
        let u = &self.w.users[o.user as usize];
        let city = &CITIES[o.city as usize];
        let jitter = |k: u32| f64::from((u32::from(o.ip) >> k) % 100) / 1000.0;
        let (result, reason) = match o.fail {
            None => ("SUCCESS", "null".to_string()),
            Some(r) => ("FAILURE", format!("\"{r}\"")),
        };
        write!(
            out,
            concat!(
                r#"{{"uuid":"{}","published":"{}","eventType":"{}","version":"0","#,
                r#""severity":"{}","displayMessage":"{}","#,
                r#""actor":{{"id":"{}","type":"User","alternateId":"{}@{}","#,
                r#""displayName":"{}","detailEntry":null}},"#,
                r#""client":{{"userAgent":{{"rawUserAgent":"{}","os":"{}","#,
                r#""browser":"{}"}},"zone":"null","device":"{}","id":null,"ipAddress":"{}","#,
                r#""geographicalContext":{{"city":"{}","#,
                r#""state":null,"country":"{}","postalCode":null,"#,
                r#""geolocation":{{"lat":{:.4},"lon":{:.4}}}}}}},"#,
                r#""outcome":{{"result":"{}","reason":{}}},"#,
                r#""authenticationContext":{{"authenticationProvider":"{}","#,
                r#""credentialProvider":null,"#,
                r#""credentialType":null,"issuer":null,"interface":null,"authenticationStep":0,"#,
                r#""externalSessionId":"{}"}},"#,
            ),
            okta_uuid(o.id),
            rfc3339_ms(t),
            o.kind.event_type(),
            if o.fail.is_some() { "WARN" } else { "INFO" },
            o.kind.message(),
            u.okta_id,
            u.name,
            DOMAIN,
            u.display,
            o.ua,
            ua_os(o.ua),
            ua_browser(o.ua),
            if o.ua.contains("Mobile") {
                "Mobile"
            } else {
                "Computer"
            },
            o.ip,
            city.name,
            city.country,
            city.lat + jitter(3),
            city.lon - jitter(11),
            result,
            reason,
            if o.kind == OktaKind::AuthViaMfa {
                "FACTOR_PROVIDER"
            } else {
                "OKTA_AUTHENTICATION_PROVIDER"
            },
            session_text(o.session),
        )?;
        self.okta_tail(t, o, out)
    }

    /// Target, device, debug context and transaction of an Okta event.
    fn okta_tail(&self, t: i64, o: &Okta, out: &mut Vec<u8>) -> std::io::Result<()> {
        match o.app {
            Some(a) => {
                let (name, id) = APPS[a as usize];
                write!(
                    out,
                    concat!(
                        r#""target":[{{"id":"{}","type":"AppInstance","alternateId":"{}","#,
                        r#""displayName":"{}","detailEntry":{{"signOnModeType":"SAML_2_0"}}}}],"#,
                    ),
                    id, name, name
                )?;
            }
            None => out.extend_from_slice(br#""target":[],"#),
        }
        match o.device.map(|d| &self.w.devices[d as usize]) {
            Some(d) => write!(
                out,
                concat!(
                    r#""device":{{"id":"{}","name":"{}","os_platform":"{}","os_version":"{}","#,
                    r#""managed":{},"registered":{},"disk_encryption_type":"{}"}},"#,
                ),
                d.okta_id,
                d.name,
                match d.kind {
                    DevKind::Windows => "WINDOWS",
                    DevKind::Mac => "OSX",
                    DevKind::Phone => "IOS",
                },
                d.os_version,
                d.managed,
                d.managed,
                if d.managed {
                    "ALL_INTERNAL_VOLUMES"
                } else {
                    "NONE"
                },
            )?,
            None => out.extend_from_slice(br#""device":null,"#),
        }
        let factor = match o.kind {
            OktaKind::PushSend | OktaKind::DenyPush | OktaKind::AuthViaMfa => {
                r#","factor":"OKTA_VERIFY_PUSH""#
            }
            _ => "",
        };
        write!(
            out,
            concat!(
                r#""debugContext":{{"debugData":{{"requestId":"{:016x}","requestUri":"{}","#,
                r#""threatSuspected":"false","url":"{}"{}}}}},"#,
                r#""legacyEventType":null,"transaction":{{"type":"WEB","#,
                r#""id":"{:016x}","detail":{{}}}},"#,
                r#""request":{{"ipChain":[{{"ip":"{}","version":"V4","source":null}}]}}}}"#,
            ),
            o.id ^ 0x5bd1_e995,
            request_uri(o.kind),
            request_uri(o.kind),
            factor,
            o.id.rotate_left(17) ^ t as u64,
            o.ip,
        )
    }

    fn win(&self, t: i64, x: &Win, rid: u64, out: &mut Vec<u8>) -> std::io::Result<()> {
        let host = self.host_name(x.host);
        let fail = x.sub_status.is_some();
        let (task, category) = match x.id {
            4624 | 4625 => (12544, "Logon"),
            4634 => (12545, "Logoff"),
            4768 => (14339, "Kerberos Authentication Service"),
            4769 => (14337, "Kerberos Service Ticket Operations"),
            _ => (14336, "Credential Validation"),
        };
        write!(
            out,
            concat!(
                r#"{{"@timestamp":"{}","Hostname":"{}","#,
                r#""SourceName":"Microsoft-Windows-Security-Auditing","#,
                r#""ProviderGuid":"{{54849625-5478-4994-A5BA-3E3B0328C30D}}","#,
                r#""Channel":"Security","#,
                r#""EventID":{},"EventRecordID":{},"Task":{},"Category":"{}","EventType":"{}","#,
                r#""Severity":"{}","SeverityValue":{},"#,
                r#""Keywords":"{}","OpcodeValue":0,"Version":{}"#,
            ),
            rfc3339_ms(t),
            host,
            x.id,
            rid,
            task,
            category,
            if fail {
                "AUDIT_FAILURE"
            } else {
                "AUDIT_SUCCESS"
            },
            if fail { "ERROR" } else { "INFO" },
            if fail { 4 } else { 2 },
            if fail {
                "0x8010000000000000"
            } else {
                "0x8020000000000000"
            },
            if x.id == 4624 { 2 } else { 0 },
        )?;
        match x.id {
            4624 | 4625 => self.win_logon(x, out)?,
            4634 => self.win_logoff(x, out)?,
            4768 | 4769 => self.win_kerberos(x, out)?,
            _ => self.win_ntlm(x, out)?,
        }
        out.push(b'}');
        Ok(())
    }

    fn win_logon(&self, x: &Win, out: &mut Vec<u8>) -> std::io::Result<()> {
        let network = x.logon_type == 3;
        let failed = x.sub_status.is_some();
        let (process, package) = match (network, x.logon_type) {
            (true, _) if failed => ("NtLmSsp ", "NTLM"),
            (true, _) => ("Kerberos", "Kerberos"),
            (false, 5) => ("Advapi  ", "Negotiate"),
            _ => ("User32 ", "Negotiate"),
        };
        let subject = match (network, x.host) {
            (true, _) => ("S-1-0-0".to_string(), "-".to_string(), "-"),
            (false, h) => (
                "S-1-5-18".to_string(),
                format!("{}$", self.host_name(h)),
                NT_DOMAIN,
            ),
        };
        write!(
            out,
            concat!(
                r#","SubjectUserSid":"{}","SubjectUserName":"{}","SubjectDomainName":"{}","#,
                r#""SubjectLogonId":"{}","TargetUserSid":"{}","TargetUserName":"{}","#,
                r#""TargetDomainName":"{}","LogonType":"{}","LogonProcessName":"{}","#,
                r#""AuthenticationPackageName":"{}","WorkstationName":"{}","#,
                r#""TransmittedServices":"-","LmPackageName":"-","KeyLength":"0","#,
                r#""ProcessId":"{}","ProcessName":"{}","IpAddress":"{}","IpPort":"{}""#,
            ),
            subject.0,
            subject.1,
            subject.2,
            if network { "0x0" } else { "0x3e7" },
            if x.sub_status.is_some() {
                "S-1-0-0".to_string()
            } else {
                self.sid(x.acct)
            },
            self.acct_name(x.acct),
            NT_DOMAIN,
            x.logon_type,
            process,
            package,
            x.workstation.map_or("-".to_string(), |h| self.host_name(h)),
            if network { "0x0" } else { "0x2f4" },
            if network {
                "-"
            } else {
                r"C:\\Windows\\System32\\svchost.exe"
            },
            x.ip.map_or("-".to_string(), |ip| ip.to_string()),
            if x.ip.is_some() {
                x.port.to_string()
            } else {
                "-".to_string()
            },
        )?;
        match x.sub_status {
            Some(sub) => write!(
                out,
                r#","Status":"0xc000006d","SubStatus":"0x{sub:08x}","FailureReason":"%%2313""#
            ),
            None => write!(
                out,
                concat!(
                    r#","TargetLogonId":"0x{:x}","#,
                    r#""LogonGuid":"{{00000000-0000-0000-0000-000000000000}}","#,
                    r#""ImpersonationLevel":"%%1833","#,
                    r#""VirtualAccount":"%%1843","ElevatedToken":"%%1842""#,
                ),
                x.logon_id
            ),
        }
    }

    fn win_logoff(&self, x: &Win, out: &mut Vec<u8>) -> std::io::Result<()> {
        write!(
            out,
            concat!(
                r#","TargetUserSid":"{}","TargetUserName":"{}","TargetDomainName":"{}","#,
                r#""TargetLogonId":"0x{:x}","LogonType":"{}""#,
            ),
            self.sid(x.acct),
            self.acct_name(x.acct),
            NT_DOMAIN,
            x.logon_id,
            x.logon_type
        )
    }

    fn win_kerberos(&self, x: &Win, out: &mut Vec<u8>) -> std::io::Result<()> {
        let (service, service_sid) = match x.service {
            Some(s) => (self.acct_name(s), self.sid(s)),
            None => (
                "krbtgt".to_string(),
                "S-1-5-21-3623811015-3361044348-30300820-502".into(),
            ),
        };
        let user = match (x.id, x.acct) {
            (4769, a) => format!("{}@{}", self.acct_name(a), REALM),
            (_, a) => self.acct_name(a),
        };
        write!(
            out,
            concat!(
                r#","TargetUserName":"{}","TargetDomainName":"{}","ServiceName":"{}","#,
                r#""ServiceSid":"{}","TicketOptions":"{}","TicketEncryptionType":"0x{:x}","#,
                r#""IpAddress":"::ffff:{}","IpPort":"{}","Status":"0x0","TransmittedServices":"-""#,
            ),
            user,
            if x.id == 4769 { REALM } else { NT_DOMAIN },
            service,
            service_sid,
            if x.id == 4768 {
                "0x40810010"
            } else {
                "0x40810000"
            },
            x.enc,
            x.ip.unwrap_or(Ipv4Addr::LOCALHOST),
            x.port,
        )?;
        if x.id == 4768 {
            let sid = self.sid(x.acct);
            write!(out, r#","TargetSid":"{sid}","PreAuthType":"2""#)?;
        }
        Ok(())
    }

    fn win_ntlm(&self, x: &Win, out: &mut Vec<u8>) -> std::io::Result<()> {
        write!(
            out,
            concat!(
                r#","PackageName":"MICROSOFT_AUTHENTICATION_PACKAGE_V1_0","TargetUserName":"{}","#,
                r#""Workstation":"{}","Status":"0x0""#,
            ),
            self.acct_name(x.acct),
            x.workstation.map_or("-".to_string(), |h| self.host_name(h)),
        )
    }

    fn host_name(&self, h: Host) -> String {
        match h {
            Host::Dev(d) => self.w.devices[d as usize].name.clone(),
            Host::Srv(s) => self.w.servers[s as usize].name.to_ascii_uppercase(),
        }
    }

    fn acct_name(&self, a: Acct) -> String {
        match a {
            Acct::User(u) => self.w.users[u as usize].name.clone(),
            Acct::Svc(s) => SERVICE_ACCOUNTS[s as usize].0.to_string(),
            Acct::Machine(h) => format!("{}$", self.host_name(h)),
        }
    }

    fn sid(&self, a: Acct) -> String {
        let rid = match a {
            Acct::User(u) => self.w.users[u as usize].rid,
            Acct::Svc(s) => 500_000 + u32::from(s),
            Acct::Machine(Host::Dev(d)) => 600_000 + d,
            Acct::Machine(Host::Srv(s)) => 900_000 + s,
        };
        format!("S-1-5-21-3623811015-3361044348-30300820-{rid}")
    }

    fn ssh(&self, t: i64, x: &Ssh, out: &mut Vec<u8>) -> std::io::Result<()> {
        let user = match x.user {
            SshUser::User(u) => self.w.users[u as usize].name.as_str(),
            SshUser::Svc(s) => SERVICE_ACCOUNTS[s as usize].0,
            SshUser::Name(n) => n,
        };
        let host = &self.w.servers[x.host as usize].name;
        write!(out, "<38>1 {} {host} sshd {} - - ", rfc3339_ms(t), x.pid)?;
        let from = format!("from {} port {}", x.ip, x.port);
        match x.kind {
            SshKind::AcceptedKey => write!(
                out,
                "Accepted publickey for {user} {from} ssh2: ED25519 SHA256:{}",
                fingerprint(user)
            ),
            SshKind::AcceptedPassword => write!(out, "Accepted password for {user} {from} ssh2"),
            SshKind::FailedPassword => write!(out, "Failed password for {user} {from} ssh2"),
            SshKind::FailedInvalid => {
                write!(out, "Failed password for invalid user {user} {from} ssh2")
            }
            SshKind::InvalidUser => write!(out, "Invalid user {user} {from}"),
            SshKind::SessionOpened => write!(
                out,
                "pam_unix(sshd:session): session opened for user {user}(uid={}) by (uid=0)",
                uid(user)
            ),
            SshKind::SessionClosed => {
                write!(
                    out,
                    "pam_unix(sshd:session): session closed for user {user}"
                )
            }
        }
    }

    fn osq(&self, t: i64, x: &Osq, out: &mut Vec<u8>) -> std::io::Result<()> {
        let d = &self.w.devices[x.device as usize];
        let user = &self.w.users[d.user as usize].name;
        let secs = t.div_euclid(1000);
        let cal = DateTime::from_timestamp(secs, 0).unwrap_or_default();
        write!(
            out,
            concat!(
                r#"{{"name":"{}","hostIdentifier":"{}","calendarTime":"{}","unixTime":{},"#,
                r#""epoch":0,"counter":{},"numerics":false,"#,
                r#""decorations":{{"host_uuid":"{}","username":"{}"}},"#,
            ),
            if x.port.is_some() {
                "pack_vigil_listening_ports"
            } else {
                "pack_vigil_disk_encryption"
            },
            d.name,
            cal.format("%a %b %e %H:%M:%S %Y UTC"),
            secs,
            secs % 97,
            d.mdm_id.to_ascii_uppercase(),
            user,
        )?;
        match (x.port, d.kind) {
            (Some(p), _) => write!(
                out,
                concat!(
                    r#""columns":{{"address":"0.0.0.0","port":"{}","#,
                    r#""protocol":"6","pid":"{}"}},"action":"added"}}"#,
                ),
                p,
                4000 + secs % 3000
            ),
            (None, DevKind::Windows) => write!(
                out,
                concat!(
                    r#""snapshot":[{{"drive_letter":"C:","protection_status":"{}","#,
                    r#""encryption_method":"XTS_AES_256","#,
                    r#""conversion_status":"{}"}}],"action":"snapshot"}}"#,
                ),
                u8::from(x.encrypted),
                u8::from(x.encrypted),
            ),
            (None, _) => write!(
                out,
                concat!(
                    r#""snapshot":[{{"name":"/dev/disk3s1","#,
                    r#""encrypted":"{}","type":"APFS Encryption","#,
                    r#""uid":"","user_uuid":""}}],"action":"snapshot"}}"#,
                ),
                u8::from(x.encrypted)
            ),
        }
    }

    fn mdm(&self, t: i64, x: &Mdm, out: &mut Vec<u8>) -> std::io::Result<()> {
        let d = &self.w.devices[x.device as usize];
        let u = &self.w.users[d.user as usize];
        let (os, model, maker, dtype) = match d.kind {
            DevKind::Windows => ("Windows", "Latitude 7440", "Dell Inc.", "desktop"),
            DevKind::Mac => ("macOS", "MacBookPro18,3", "Apple", "macMDM"),
            DevKind::Phone => ("iOS", "iPhone 15", "Apple", "iPhone"),
        };
        let synced = DateTime::from_timestamp_millis(t).unwrap_or_default();
        write!(
            out,
            concat!(
                r#"{{"id":"{}","userId":"{}","deviceName":"{}","#,
                r#""managedDeviceOwnerType":"company","#,
                r#""enrolledDateTime":"2025-03-{:02}T09:12:44Z","lastSyncDateTime":"{}","#,
                r#""operatingSystem":"{}","complianceState":"{}","jailBroken":"{}","#,
                r#""managementAgent":"mdm","osVersion":"{}","easActivated":true,"#,
                r#""azureADRegistered":true,"deviceEnrollmentType":"userEnrollment","#,
                r#""emailAddress":"{}@{}","azureADDeviceId":"{}","#,
                r#""deviceRegistrationState":"registered","isEncrypted":{},"#,
                r#""userPrincipalName":"{}@{}","model":"{}","manufacturer":"{}","#,
                r#""serialNumber":"{}","userDisplayName":"{}","managementState":"managed","#,
                r#""deviceType":"{}","isSupervised":false}}"#,
            ),
            d.mdm_id,
            uuid(u128::from(u.rid) << 64 | 7),
            d.name,
            1 + d.user % 28,
            synced.format("%Y-%m-%dT%H:%M:%SZ"),
            os,
            if x.compliant {
                "compliant"
            } else {
                "noncompliant"
            },
            if x.jailbroken { "True" } else { "False" },
            d.os_version,
            u.name,
            DOMAIN,
            uuid(xxh3_128(d.mdm_id.as_bytes())),
            x.encrypted,
            u.name,
            DOMAIN,
            model,
            maker,
            &d.okta_id[3..15].to_ascii_uppercase(),
            u.display,
            dtype,
        )
    }
}

/// Zeek's `#` header block for a conn.log file opened at `t`.
pub(crate) fn zeek_header(t: i64) -> String {
    let open = DateTime::from_timestamp_millis(t).unwrap_or_default();
    format!(
        concat!(
            "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n",
            "#path\tconn\n#open\t{}\n",
            "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\t",
            "duration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\t",
            "history\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n",
            "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\t",
            "string\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n",
        ),
        open.format("%Y-%m-%d-%H-%M-%S")
    )
}

/// Zeek's `#close` line for a file closed at `t`.
pub(crate) fn zeek_close(t: i64) -> String {
    let close = DateTime::from_timestamp_millis(t).unwrap_or_default();
    format!("#close\t{}\n", close.format("%Y-%m-%d-%H-%M-%S"))
}

fn conn(t: i64, x: &Conn, out: &mut Vec<u8>) -> std::io::Result<()> {
    let local = |ip: Ipv4Addr| if ip.is_private() { "T" } else { "F" };
    let (history, opk, rpk) = match (x.state, x.udp) {
        (State::Sf, true) => ("Dd", 1 + x.orig_bytes / 1200, 1 + x.resp_bytes / 1200),
        (State::Sf, false) => ("ShADadfF", 4 + x.orig_bytes / 1400, 3 + x.resp_bytes / 1400),
        (State::S0, _) => ("S", 1, 0),
        (State::Rej, _) => ("Sr", 1, 1),
        (State::Rsto, _) => ("ShADR", 3 + x.orig_bytes / 1400, 2 + x.resp_bytes / 1400),
    };
    let state = match x.state {
        State::Sf => "SF",
        State::S0 => "S0",
        State::Rej => "REJ",
        State::Rsto => "RSTO",
    };
    let opened = matches!(x.state, State::Sf | State::Rsto);
    let overhead = if x.udp { 28 } else { 40 };
    write!(
        out,
        "{}.{:03}000\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t",
        t.div_euclid(1000),
        t.rem_euclid(1000),
        zeek_uid(x.id),
        x.src,
        x.sport,
        x.dst,
        x.dport,
        if x.udp { "udp" } else { "tcp" },
        x.svc.name(),
    )?;
    if opened {
        write!(
            out,
            "{}.{:03}000\t{}\t{}\t",
            x.duration_ms / 1000,
            x.duration_ms % 1000,
            x.orig_bytes,
            x.resp_bytes
        )?;
    } else {
        write!(out, "-\t0\t0\t")?;
    }
    write!(
        out,
        "{state}\t{}\t{}\t0\t{history}\t{opk}\t{}\t{rpk}\t{}\t-",
        local(x.src),
        local(x.dst),
        x.orig_bytes + opk * overhead,
        x.resp_bytes + rpk * overhead,
    )
}

/// The `uuid` of an Okta event with id `id`.
fn okta_uuid(id: u64) -> String {
    uuid(xxh3_128(&id.to_le_bytes()))
}

/// Okta's `externalSessionId` (`unknown` before a session exists).
fn session_text(s: u64) -> String {
    if s == 0 {
        return "unknown".to_string();
    }
    let tail = s.rotate_left(29) & 0xff_ffff;
    format!("102{s:016x}{tail:06x}")
}

fn request_uri(k: OktaKind) -> &'static str {
    match k {
        OktaKind::SessionStart => "/idp/idx/identify",
        OktaKind::Sso => "/app/sso/saml",
        OktaKind::PushSend | OktaKind::DenyPush => "/idp/idx/authenticators/poll",
        OktaKind::AuthViaMfa => "/idp/idx/challenge/answer",
        OktaKind::SessionEnd => "/login/signout",
    }
}

fn ua_os(ua: &str) -> &'static str {
    if ua.contains("Windows") {
        "Windows 10"
    } else if ua.contains("iPhone") {
        "iOS"
    } else if ua.contains("Android") {
        "Android"
    } else if ua.contains("Mac OS") {
        "Mac OS X"
    } else if ua.contains("Linux") {
        "Linux"
    } else {
        "Unknown"
    }
}

fn ua_browser(ua: &str) -> &'static str {
    if ua.contains("Edg/") {
        "EDGE"
    } else if ua.contains("Chrome") {
        "CHROME"
    } else if ua.contains("Firefox") {
        "FIREFOX"
    } else if ua.contains("Safari") {
        "SAFARI"
    } else {
        "UNKNOWN"
    }
}

fn fingerprint(user: &str) -> String {
    let x = xxh3_128(user.as_bytes());
    format!("{:032x}{:011x}", x, x >> 84)
}

fn uid(user: &str) -> u32 {
    1000 + (xxh3_128(user.as_bytes()) % 5000) as u32
}

/// The first three octets of a SaaS service's addresses.
pub(crate) fn saas_ip(i: usize, last: u8) -> Ipv4Addr {
    let [a, b, c] = SAAS[i % SAAS.len()].1;
    Ipv4Addr::new(a, b, c, last.max(1))
}
