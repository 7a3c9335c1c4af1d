//! Entities: typed, normalised keys that signals, risk and decisions share.
//!
//! An entity is a pair (type, id). Ids are normalised so that the spellings
//! one person or machine goes by in different sources meet in one key:
//!
//! | type | normalisation | examples that meet |
//! | --- | --- | --- |
//! | `user` | lower case; the domain dropped from `DOMAIN\name` and `name@domain` | `CORP\Alice`, `alice@corp.example`, `ALICE` |
//! | `device`, `host` | lower case; a DNS suffix is kept | `WS-001`, `ws-001` |
//! | `ip` | the canonical text of the address; IPv4-mapped IPv6 as IPv4 | `::ffff:10.0.0.1`, `10.0.0.1` |
//!
//! Dropping the domain is the identity map vigil applies until a directory
//! is wired in: it joins `alice@corp.example` and `CORP\alice`, and would
//! also join two different people called `alice` in two domains. A
//! deployment with overlapping account names across domains needs a
//! directory-backed map (not built yet).
//!
//! Machine accounts (`HOST$`) and well-known non-person principals
//! (`SYSTEM`, `ANONYMOUS LOGON`, `LOCAL SERVICE`, ...) are not users:
//! [`user`] returns `None` for them, so they never gather user risk.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The kind of an entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A person's account.
    User,
    /// An end-user device (workstation, laptop, phone).
    Device,
    /// A network address.
    Ip,
    /// A server.
    Host,
    /// A workload or service identity.
    Service,
}

impl Kind {
    /// The name used in tables and APIs.
    pub fn name(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Device => "device",
            Kind::Ip => "ip",
            Kind::Host => "host",
            Kind::Service => "service",
        }
    }

    /// The kind named `s`.
    pub fn from_name(s: &str) -> Option<Kind> {
        [
            Kind::User,
            Kind::Device,
            Kind::Ip,
            Kind::Host,
            Kind::Service,
        ]
        .into_iter()
        .find(|k| k.name() == s)
    }
}

/// An entity: its kind and normalised id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entity {
    /// What it is.
    pub kind: Kind,
    /// Its normalised id.
    pub id: String,
}

impl Entity {
    /// An entity from a kind and an id that is already normalised.
    pub fn new(kind: Kind, id: impl Into<String>) -> Entity {
        Entity {
            kind,
            id: id.into(),
        }
    }

    /// Normalise `raw` as an id of `kind`; `None` when it names no entity
    /// of that kind (empty, a machine account, not an address).
    pub fn normalised(kind: Kind, raw: &str) -> Option<Entity> {
        let id = match kind {
            Kind::User => user(raw)?,
            Kind::Device | Kind::Host | Kind::Service => host(raw)?,
            Kind::Ip => ip(raw)?,
        };
        Some(Entity { kind, id })
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.name(), self.id)
    }
}

/// Principals that are not people.
const NOT_PEOPLE: &[&str] = &[
    "system",
    "local service",
    "network service",
    "anonymous logon",
    "anonymous",
    "dwm-1",
    "umfd-0",
    "umfd-1",
];

/// A user name as a user id: see the module docs.
pub fn user(raw: &str) -> Option<String> {
    let s = raw.trim();
    let s = s.rsplit_once('\\').map_or(s, |(_, name)| name);
    let s = s.split_once('@').map_or(s, |(name, _)| name);
    let s = s.trim();
    if s.is_empty() || s == "-" || s.ends_with('$') {
        return None;
    }
    let lower = s.to_lowercase();
    if NOT_PEOPLE.contains(&lower.as_str())
        || lower.starts_with("dwm-")
        || lower.starts_with("umfd-")
    {
        return None;
    }
    Some(lower)
}

/// A host or device name as an id: lower case, trimmed.
pub fn host(raw: &str) -> Option<String> {
    let s = raw.trim().trim_end_matches('.');
    if s.is_empty() || s == "-" {
        return None;
    }
    Some(s.to_lowercase())
}

/// An address as an id: canonical text, IPv4-mapped IPv6 as IPv4.
pub fn ip(raw: &str) -> Option<String> {
    let a: IpAddr = raw.trim().parse().ok()?;
    Some(canonical(a).to_string())
}

/// IPv4-mapped IPv6 as IPv4; everything else as is.
pub fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether an address is inside the organisation: private, loopback,
/// link-local, or unique-local, as opposed to the internet.
pub fn is_internal(a: IpAddr) -> bool {
    match canonical(a) {
        IpAddr::V4(v4) => {
            v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified()
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_spellings_meet() {
        for raw in ["CORP\\Alice", "alice@corp.example", "ALICE", " alice "] {
            assert_eq!(user(raw).as_deref(), Some("alice"), "{raw}");
        }
    }

    #[test]
    fn machine_accounts_and_system_principals_are_not_users() {
        for raw in [
            "WS-01$",
            "CORP\\DC01$",
            "SYSTEM",
            "ANONYMOUS LOGON",
            "-",
            "",
            "DWM-3",
        ] {
            assert_eq!(user(raw), None, "{raw}");
        }
    }

    #[test]
    fn addresses_are_canonical() {
        assert_eq!(ip("::ffff:10.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(ip("2001:DB8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(ip("not an ip"), None);
        assert!(is_internal("10.1.2.3".parse().expect("parse in test")));
        assert!(is_internal("fd00::1".parse().expect("parse in test")));
        assert!(!is_internal("8.8.8.8".parse().expect("parse in test")));
        assert!(!is_internal("2001:db8::1".parse().expect("parse in test")));
    }

    #[test]
    fn entity_display_and_kind_names() {
        let e = Entity::normalised(Kind::Device, "WS-001").expect("normalised in test");
        assert_eq!(e.to_string(), "device:ws-001");
        assert_eq!(Kind::from_name("ip"), Some(Kind::Ip));
        assert_eq!(Kind::from_name("nope"), None);
    }
}
