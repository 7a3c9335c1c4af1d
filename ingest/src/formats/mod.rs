//! One module per format family. Each exposes `decoder(...)`, and the
//! line formats a `looks_like(first_line)` used by content sniffing.

pub mod cicflow;
pub mod cloudtrail;
pub mod entra;
pub mod json;
pub mod jsonval;
pub mod mdm;
pub mod netcommon;
pub mod okta;
pub mod osquery;
pub mod suricata;
pub mod syslog;
pub mod util;
pub mod vpcflow;
pub mod windows;
pub mod zeek;
