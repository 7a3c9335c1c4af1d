//! The fields the mapping reads, found in one pass over an event's fields.

use super::shape::Text;

macro_rules! keys {
    ($($var:ident => $name:literal,)*) => {
        /// A field the mapping reads, by its Sigma name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum K { $($var),* }

        const COUNT: usize = [$($name),*].len();

        impl K {
            /// The field's name in the event.
            pub(crate) fn name(self) -> &'static str {
                match self { $(K::$var => $name),* }
            }

            fn of(name: &str) -> Option<K> {
                match name { $($name => Some(K::$var),)* _ => None }
            }
        }
    };
}

keys! {
    Channel => "Channel",
    Computer => "Computer",
    ProviderName => "Provider_Name",
    EventRecordId => "EventRecordID",
    EventOriginId => "EventOriginId",
    Type => "Type",
    Level => "Level",
    EventLevel => "EventLevel",
    SystemTime => "TimeCreated_SystemTime",
    AtTimestamp => "@timestamp",
    TimeCreated => "TimeCreated",
    EventTime => "EventTime",
    TimeGenerated => "TimeGenerated",
    Timestamp => "timestamp",
    TargetUserName => "TargetUserName",
    TargetDomainName => "TargetDomainName",
    TargetUserSid => "TargetUserSid",
    TargetSid => "TargetSid",
    TargetLogonId => "TargetLogonId",
    TargetServerName => "TargetServerName",
    SubjectUserName => "SubjectUserName",
    SubjectDomainName => "SubjectDomainName",
    SubjectUserSid => "SubjectUserSid",
    AccountName => "AccountName",
    AccountDomain => "AccountDomain",
    LogonId => "LogonID",
    IpAddress => "IpAddress",
    IpPort => "IpPort",
    ClientAddress => "ClientAddress",
    ClientName => "ClientName",
    WorkstationName => "WorkstationName",
    Workstation => "Workstation",
    LogonType => "LogonType",
    LogonProcessName => "LogonProcessName",
    AuthenticationPackageName => "AuthenticationPackageName",
    Status => "Status",
    SubStatus => "SubStatus",
    FailureCode => "FailureCode",
    FailureReason => "FailureReason",
    ServiceName => "ServiceName",
    ServiceSid => "ServiceSid",
    ProcessName => "ProcessName",
    ProcessId => "ProcessId",
}

/// The values of the [`K`] fields of one event (the first, if repeated).
pub(crate) struct Known<'e> {
    v: [Option<&'e str>; COUNT],
}

impl<'e> Known<'e> {
    /// Index `fields` in one pass.
    pub(crate) fn new(fields: &'e [(Text<'_>, Text<'_>)]) -> Known<'e> {
        let mut v = [None; COUNT];
        for (k, x) in fields {
            if let Some(key) = K::of(k) {
                v[key as usize].get_or_insert(x.as_ref());
            }
        }
        Known { v }
    }

    /// The value as written.
    pub(crate) fn raw(&self, k: K) -> Option<&'e str> {
        self.v[k as usize]
    }

    /// The value trimmed, unless it is empty or `-` (Windows' "none").
    pub(crate) fn get(&self, k: K) -> Option<&'e str> {
        let t = self.raw(k)?.trim();
        (!t.is_empty() && t != "-").then_some(t)
    }

    /// The first of `ks` that [`Known::get`] finds.
    pub(crate) fn first(&self, ks: &[K]) -> Option<&'e str> {
        ks.iter().find_map(|k| self.get(*k))
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    #[test]
    fn first_value_wins_and_dash_is_none() {
        let fields: Vec<(Text<'_>, Text<'_>)> = [
            ("IpAddress", "-"),
            ("LogonProcessName", "Advapi  "),
            ("Channel", "Security"),
            ("Channel", "Other"),
        ]
        .into_iter()
        .map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
        .collect();
        let known = Known::new(&fields);
        assert_eq!(known.raw(K::IpAddress), Some("-"));
        assert_eq!(known.get(K::IpAddress), None);
        assert_eq!(known.get(K::LogonProcessName), Some("Advapi"));
        assert_eq!(known.get(K::Channel), Some("Security"));
        assert_eq!(known.first(&[K::IpAddress, K::Channel]), Some("Security"));
        assert_eq!(K::SystemTime.name(), "TimeCreated_SystemTime");
    }
}
