//! IP networks (`10.0.0.0/8`), for Sigma's `cidr` modifier and the SQL
//! function that mirrors it.

use std::net::IpAddr;

/// An IP network: an address and a prefix length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parse `addr/prefix`, or a bare address (a host network). `None` when
    /// either part is not valid or the prefix is too long.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            max
        } else {
            p.trim().parse().ok()?
        };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    /// Whether `ip` is inside. An IPv4-mapped IPv6 address counts as its
    /// IPv4 address; otherwise the families must agree.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) if self.addr.is_ipv4() => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            ip => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }

    /// Whether the text `v` is an address inside.
    pub fn contains_text(&self, v: &str) -> bool {
        v.trim().parse::<IpAddr>().is_ok_and(|ip| self.contains(ip))
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_families_and_mapped_addresses() {
        let n = Cidr::parse("10.1.0.0/16").expect("valid");
        assert!(n.contains_text("10.1.255.3"));
        assert!(!n.contains_text("10.2.0.1"));
        assert!(n.contains_text("::ffff:10.1.2.3"));
        assert!(!n.contains_text("fe80::1"));
        assert!(!n.contains_text("not an ip"));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .expect("valid")
                .contains_text("8.8.8.8")
        );
        assert!(
            Cidr::parse("2001:db8::/32")
                .expect("valid")
                .contains_text("2001:db8::9")
        );
        assert_eq!(
            Cidr::parse("192.0.2.7").expect("valid").to_string(),
            "192.0.2.7/32"
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("10.0.0/8").is_none());
    }
}
