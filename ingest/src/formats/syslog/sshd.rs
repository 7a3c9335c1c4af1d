//! What one sshd message says: its kind, the user, the source address.
//!
//! sshd writes the user name the client sent, unfiltered (BH-04), so a
//! name can hold spaces, `from <ip> port <n>` and `ssh2:`. The address is
//! therefore read from the end that sshd writes itself:
//!
//! - `for <user> from <addr> port <n> <proto>[: <info>]` (Accepted, Failed,
//!   Postponed, maximum attempts): the LAST `from <addr> port <n>` that is
//!   followed only by the protocol, `[preauth]` or `: <auth info>`. When no
//!   `from .. port ..` fits, the last `from <addr>`.
//! - `<user> <addr> port <n>` (Connection closed / reset by, Disconnected
//!   from ... user): the last `<addr> port <n>`.
//! - `<addr> port <n>: <text>` (Received disconnect, Unable to negotiate,
//!   Connection from): the first address; the text after it is the client's.
//!
//! A message that names no address gets none here; the decoder fills it
//! from an earlier line of the same sshd process.

/// The kinds of sshd message told apart. See the module doc of `syslog`
/// for the class and activity each becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `Accepted <method> for <user> from <addr> port <n>`.
    Accepted,
    /// `Failed <method> for [invalid user ]<user> from <addr> port <n>`.
    Failed,
    /// `Invalid user <user> from <addr> [port <n>]`.
    InvalidUser,
    /// `User <user> [from <addr>] not allowed because <reason>`.
    UserNotAllowed,
    /// `ROOT LOGIN REFUSED FROM <addr>`.
    RootLoginRefused,
    /// `pam_*(sshd:session): session opened for user <user>`.
    SessionOpened,
    /// `pam_*(sshd:session): session closed for user <user>`.
    SessionClosed,
    /// PAM's own report of a failure that sshd also logs as `Failed`.
    PamAuthFailure,
    /// Other PAM lines (`check pass; user unknown`, `ignoring max retries`).
    Pam,
    /// `Postponed` / `Partial`: one step of a multi-step authentication.
    AuthStep,
    /// A summary of failures already logged one by one.
    MaxAuthTries,
    /// `input_userauth_request: invalid user <user>`: echoes `Invalid user`.
    InputUserauth,
    /// `Connection from <addr> port <n> on <addr> port <n>`.
    ConnectionFrom,
    /// Connection closed, reset, disconnected, received disconnect.
    Disconnect,
    /// The client failed before authentication: no identification string,
    /// bad protocol version, no common algorithm, timeout, kex error.
    Preauth,
    /// tcp_wrappers `refused connect from`.
    RefusedConnect,
    /// `reverse mapping checking ... POSSIBLE BREAK-IN ATTEMPT` and
    /// `Address <addr> maps to <name>, but this does not map back`.
    ReverseMapping,
    /// Anything else.
    Other,
}

impl Kind {
    /// The value written to `metadata_event_code`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Kind::Accepted => "accepted",
            Kind::Failed => "failed",
            Kind::InvalidUser => "invalid_user",
            Kind::UserNotAllowed => "user_not_allowed",
            Kind::RootLoginRefused => "root_login_refused",
            Kind::SessionOpened => "session_opened",
            Kind::SessionClosed => "session_closed",
            Kind::PamAuthFailure => "pam_auth_failure",
            Kind::Pam => "pam",
            Kind::AuthStep => "auth_step",
            Kind::MaxAuthTries => "max_auth_tries",
            Kind::InputUserauth => "input_userauth_invalid_user",
            Kind::ConnectionFrom => "connection_from",
            Kind::Disconnect => "disconnect",
            Kind::Preauth => "preauth_failure",
            Kind::RefusedConnect => "refused_connect",
            Kind::ReverseMapping => "reverse_mapping",
            Kind::Other => "other",
        }
    }
}

/// What was read from one sshd message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sshd<'a> {
    /// The kind of message.
    pub kind: Kind,
    /// Authentication method (`password`, `publickey`, ...).
    pub method: Option<&'a str>,
    /// The user name as sshd wrote it.
    pub user: Option<&'a str>,
    /// sshd said `invalid user` / `illegal user` / `<invalid username>`.
    pub invalid_user: bool,
    /// Source address (IP or host name) as written.
    pub src: Option<&'a str>,
    /// Source port.
    pub port: Option<&'a str>,
    /// Local address of a `Connection from ... on <addr> port <n>`.
    pub dst: Option<&'a str>,
    /// Local port.
    pub dst_port: Option<&'a str>,
    /// Text after `ssh2: ` (key type and fingerprint).
    pub info: Option<&'a str>,
    /// Why (`not allowed because ...`, a disconnect reason).
    pub reason: Option<&'a str>,
    /// The line ended with `[preauth]`.
    pub preauth: bool,
}

impl<'a> Sshd<'a> {
    fn new(kind: Kind) -> Sshd<'a> {
        Sshd {
            kind,
            method: None,
            user: None,
            invalid_user: false,
            src: None,
            port: None,
            dst: None,
            dst_port: None,
            info: None,
            reason: None,
            preauth: false,
        }
    }

    fn with_src(mut self, ep: Option<Endpoint<'a>>) -> Sshd<'a> {
        if let Some(e) = ep {
            self.src = Some(e.addr);
            self.port = e.port;
        }
        self
    }
}

type Parse = for<'a> fn(&'a str) -> Option<Sshd<'a>>;

/// Message prefixes and their readers, tried in order. A reader that does
/// not recognise the rest returns `None` and the message is `Other`.
const RULES: &[(&str, Parse)] = &[
    ("Accepted ", |r| outcome(Kind::Accepted, r)),
    ("Failed ", |r| outcome(Kind::Failed, r)),
    ("Postponed ", |r| outcome(Kind::AuthStep, r)),
    ("Partial ", |r| outcome(Kind::AuthStep, r)),
    ("Invalid user ", invalid_user),
    ("Illegal user ", invalid_user),
    ("User ", user_not_allowed),
    ("ROOT LOGIN REFUSED FROM ", |r| {
        let mut s = Sshd::new(Kind::RootLoginRefused).with_src(addr_port(r));
        s.user = Some("root");
        Some(s)
    }),
    ("PAM: ", sshd_pam),
    ("PAM ", pam_more),
    ("Disconnecting: Too many authentication failures", too_many),
    (
        "maximum authentication attempts exceeded for ",
        max_attempts,
    ),
    ("input_userauth_request: invalid user ", |r| {
        let mut s = Sshd::new(Kind::InputUserauth);
        (s.user, s.invalid_user) = (Some(r), true);
        Some(s)
    }),
    ("Connection from ", connection_from),
    ("Connection closed by ", |r| user_addr(Kind::Disconnect, r)),
    ("Connection reset by ", |r| user_addr(Kind::Disconnect, r)),
    ("Disconnected from ", |r| user_addr(Kind::Disconnect, r)),
    ("Disconnecting ", disconnecting),
    ("Received disconnect from ", received_disconnect),
    ("Did not receive identification string from ", |r| {
        Some(Sshd::new(Kind::Preauth).with_src(addr_port(r)))
    }),
    ("Bad protocol version identification ", |r| {
        Some(Sshd::new(Kind::Preauth).with_src(last_from(r).map(|(_, e, _)| e)))
    }),
    ("Unable to negotiate with ", |r| {
        Some(Sshd::new(Kind::Preauth).with_src(addr_port(r)))
    }),
    ("Unable to negotiate", |_| Some(Sshd::new(Kind::Preauth))),
    ("Timeout before authentication for ", timeout),
    ("banner exchange: Connection from ", |r| {
        Some(Sshd::new(Kind::Preauth).with_src(addr_port(r)))
    }),
    ("ssh_dispatch_run_fatal: Connection from ", |r| {
        Some(Sshd::new(Kind::Preauth).with_src(addr_port(r)))
    }),
    ("kex_exchange_identification: ", |_| {
        Some(Sshd::new(Kind::Preauth))
    }),
    ("no matching ", |_| Some(Sshd::new(Kind::Preauth))),
    ("Read from socket failed: ", |_| {
        Some(Sshd::new(Kind::Disconnect))
    }),
    ("Write failed: ", |_| Some(Sshd::new(Kind::Disconnect))),
    ("refused connect from ", refused_connect),
    ("reverse mapping checking getaddrinfo for ", reverse_mapping),
    ("Address ", address_maps),
    ("SSH: Server;", ssh_server_remote),
];

/// Read one sshd message.
pub(crate) fn classify(msg: &str) -> Sshd<'_> {
    let (m, preauth) = strip_noise(msg);
    let mut s = read(m).unwrap_or_else(|| Sshd::new(Kind::Other));
    s.preauth = preauth;
    s
}

fn read(m: &str) -> Option<Sshd<'_>> {
    if let Some(s) = pam_module(m) {
        return Some(s);
    }
    RULES
        .iter()
        .find_map(|(prefix, f)| m.strip_prefix(prefix).and_then(f))
}

/// Drop what does not change the meaning: trailing blanks, `[preauth]`,
/// a Solaris `[ID n facility.level]` prefix, and `error:` / `fatal:`.
fn strip_noise(msg: &str) -> (&str, bool) {
    let m = msg.trim_end();
    let (m, preauth) = match m.strip_suffix("[preauth]") {
        Some(rest) => (rest.trim_end(), true),
        None => (m, false),
    };
    let m = match m.strip_prefix("[ID ").and_then(|r| r.split_once("] ")) {
        Some((_, rest)) => rest,
        None => m,
    };
    let m = ["error: ", "fatal: "]
        .iter()
        .find_map(|p| m.strip_prefix(p))
        .unwrap_or(m);
    (m, preauth)
}

// ----------------------------------------------------------- addresses

/// An address and port as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint<'a> {
    /// IP or host name.
    pub addr: &'a str,
    /// Port digits.
    pub port: Option<&'a str>,
}

/// A token that can be a source: an IP address or a dotted host name.
fn is_addr(t: &str) -> bool {
    if t.is_empty() {
        return false;
    }
    if vigil_schemas::parse_ip(t).is_some() {
        return true;
    }
    t.contains('.')
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Leading port digits of `s`, and what follows them.
fn port_digits(s: &str) -> Option<(&str, &str)> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    (n > 0 && n <= 5).then(|| (&s[..n], &s[n..]))
}

/// `<addr>[:,][ port <n>]` at the start of `s`.
fn addr_port(s: &str) -> Option<Endpoint<'_>> {
    let tok = s.split(' ').next()?;
    let addr = tok.trim_end_matches([':', ',']);
    if !is_addr(addr) {
        return None;
    }
    let port = s[tok.len()..]
        .strip_prefix(" port ")
        .and_then(port_digits)
        .map(|(p, _)| p);
    Some(Endpoint { addr, port })
}

/// `tail` without the protocol word that may lead it (` ssh2`).
fn after_proto(t: &str) -> &str {
    ["ssh2", "ssh1", "ssh"]
        .iter()
        .find_map(|p| t.strip_prefix(' ').and_then(|r| r.strip_prefix(p)))
        .unwrap_or(t)
}

/// What may follow `port <n>` in an Accepted/Failed line: the protocol,
/// then nothing or `: <auth info>`.
fn is_auth_tail(t: &str) -> bool {
    let t = after_proto(t);
    t.is_empty() || t.starts_with(": ")
}

/// The user text, the endpoint, and the text after the endpoint.
type UserEndpoint<'a> = (&'a str, Endpoint<'a>, &'a str);

/// `<user> from <addr> port <n> <tail>`: the user text and the endpoint,
/// by the rules in the module doc.
fn last_from(s: &str) -> Option<UserEndpoint<'_>> {
    last_from_port(s).or_else(|| last_from_bare(s))
}

fn last_from_port(s: &str) -> Option<UserEndpoint<'_>> {
    for (i, _) in s.rmatch_indices("from ") {
        if i > 0 && s.as_bytes()[i - 1] != b' ' {
            continue;
        }
        let after = &s[i + 5..];
        let Some((addr, rest)) = after.split_once(" port ") else {
            continue;
        };
        let Some((port, tail)) = port_digits(rest) else {
            continue;
        };
        if !addr.contains(' ') && is_addr(addr) && is_auth_tail(tail) {
            let user = s[..i].strip_suffix(' ').unwrap_or(&s[..i]);
            return Some((
                user,
                Endpoint {
                    addr,
                    port: Some(port),
                },
                tail,
            ));
        }
    }
    None
}

/// The last `from <addr>` whose address is a whole token.
fn last_from_bare(s: &str) -> Option<UserEndpoint<'_>> {
    let i = s
        .rmatch_indices("from ")
        .map(|(i, _)| i)
        .find(|&i| (i == 0 || s.as_bytes()[i - 1] == b' ') && addr_port(&s[i + 5..]).is_some())?;
    let user = s[..i].strip_suffix(' ').unwrap_or(&s[..i]);
    let ep = addr_port(&s[i + 5..])?;
    let tok = s[i + 5..].split(' ').next().unwrap_or("");
    Some((user, ep, &s[i + 5 + tok.len()..]))
}

/// `<user> <addr> port <n>` ending the text: the last address and port.
fn user_then_endpoint(s: &str) -> Option<(&str, Endpoint<'_>)> {
    let (head, port) = s.rsplit_once(" port ")?;
    let (p, rest) = port_digits(port)?;
    if !rest.is_empty() {
        return None;
    }
    let (user, addr) = head.rsplit_once(' ').unwrap_or(("", head));
    is_addr(addr).then_some((
        user,
        Endpoint {
            addr,
            port: Some(p),
        },
    ))
}

// ----------------------------------------------------------- readers

/// `<method> for [invalid user ]<user> from <addr> port <n> ssh2[: <info>]`.
fn outcome(kind: Kind, r: &str) -> Option<Sshd<'_>> {
    let (method, rest) = r.split_once(" for ")?;
    if method.contains(' ') {
        return None;
    }
    let mut s = Sshd::new(kind);
    s.method = Some(method);
    let rest = match rest.strip_prefix("invalid user ") {
        Some(r) => {
            s.invalid_user = true;
            r
        }
        None => rest,
    };
    let (user, ep, tail) = last_from(rest)?;
    s.info = after_proto(tail).strip_prefix(": ");
    set_user(&mut s, user);
    Some(s.with_src(Some(ep)))
}

/// A user name as written; Solaris `<invalid username>` means none.
fn set_user<'a>(s: &mut Sshd<'a>, user: &'a str) {
    if user == "<invalid username>" {
        s.invalid_user = true;
    } else if !user.is_empty() {
        s.user = Some(user);
    }
}

fn invalid_user(r: &str) -> Option<Sshd<'_>> {
    let mut s = Sshd::new(Kind::InvalidUser);
    s.invalid_user = true;
    match last_from(r) {
        Some((user, ep, _)) => {
            set_user(&mut s, user);
            Some(s.with_src(Some(ep)))
        }
        None => {
            set_user(&mut s, r);
            Some(s)
        }
    }
}

/// `User <user> [from <addr>] not allowed because <reason>`.
fn user_not_allowed(r: &str) -> Option<Sshd<'_>> {
    let (who, reason) = r.rsplit_once(" not allowed because ")?;
    let mut s = Sshd::new(Kind::UserNotAllowed);
    s.reason = Some(reason);
    match last_from(who) {
        Some((user, ep, _)) => {
            set_user(&mut s, user);
            Some(s.with_src(Some(ep)))
        }
        None => {
            set_user(&mut s, who);
            Some(s)
        }
    }
}

/// sshd's PAM errors: `PAM: Authentication failure for [illegal user ]<user>
/// from <host>[ via <addr>]`.
fn sshd_pam(r: &str) -> Option<Sshd<'_>> {
    let (what, who) = r.split_once(" for ")?;
    let mut s = Sshd::new(Kind::PamAuthFailure);
    s.reason = Some(what);
    let who = match who.strip_prefix("illegal user ") {
        Some(w) => {
            s.invalid_user = true;
            w
        }
        None => who,
    };
    let (user, ep, _) = last_from(who)?;
    set_user(&mut s, user);
    Some(s.with_src(Some(ep)))
}

/// `PAM <n> more authentication failure(s); <pam fields>` and
/// `PAM service(sshd) ignoring max retries; ...`.
fn pam_more(r: &str) -> Option<Sshd<'_>> {
    if r.contains(" more authentication failure") {
        let (_, fields) = r.split_once("; ")?;
        return Some(pam_fields(Kind::PamAuthFailure, fields));
    }
    Some(Sshd::new(Kind::Pam))
}

/// `pam_<module>(sshd:<stack>): <text>`.
fn pam_module(m: &str) -> Option<Sshd<'_>> {
    if !m.starts_with("pam_") {
        return None;
    }
    let (_, text) = m.split_once("(sshd:")?.1.split_once("): ")?;
    if let Some(fields) = text.strip_prefix("authentication failure; ") {
        return Some(pam_fields(Kind::PamAuthFailure, fields));
    }
    if let Some(r) = text.strip_prefix("session opened for user ") {
        return Some(session(Kind::SessionOpened, r));
    }
    if let Some(r) = text.strip_prefix("session closed for user ") {
        return Some(session(Kind::SessionClosed, r));
    }
    Some(Sshd::new(Kind::Pam))
}

/// `<user>[(uid=n)][ by <who>]`.
fn session(kind: Kind, r: &str) -> Sshd<'_> {
    let user = r.split_once(" by ").map_or(r, |(u, _)| u);
    let user = user.split_once("(uid=").map_or(user, |(u, _)| u);
    let mut s = Sshd::new(kind);
    set_user(&mut s, user);
    s
}

/// pam_unix fields `logname= uid=0 euid=0 tty=ssh ruser=<r> rhost=<h>[
/// user=<u>]`: the first `rhost=` followed by nothing or by ` user=`
/// (ruser and user are the client's text), and the user after it.
fn pam_fields(kind: Kind, f: &str) -> Sshd<'_> {
    let mut s = Sshd::new(kind);
    for (i, _) in f.match_indices("rhost=") {
        let rest = &f[i + 6..];
        let host = rest.split(' ').next().unwrap_or("");
        let tail = rest[host.len()..].trim_start_matches(' ');
        if tail.is_empty() || tail.starts_with("user=") {
            if is_addr(host) {
                s.src = Some(host);
            }
            if let Some(u) = tail.strip_prefix("user=") {
                set_user(&mut s, u);
            }
            break;
        }
    }
    if s.user.is_none() {
        let ruser = f
            .split_once("ruser=")
            .map(|(_, r)| r.split(' ').next().unwrap_or(""));
        set_user(&mut s, ruser.unwrap_or(""));
    }
    s
}

/// `Disconnecting: Too many authentication failures[ for <user>]`.
fn too_many(r: &str) -> Option<Sshd<'_>> {
    let mut s = Sshd::new(Kind::MaxAuthTries);
    if let Some(user) = r.strip_prefix(" for ") {
        set_user(&mut s, user.strip_prefix("invalid user ").unwrap_or(user));
    }
    Some(s)
}

/// `maximum authentication attempts exceeded for [invalid user ]<user> from ...`.
fn max_attempts(r: &str) -> Option<Sshd<'_>> {
    let mut s = Sshd::new(Kind::MaxAuthTries);
    let r = match r.strip_prefix("invalid user ") {
        Some(r) => {
            s.invalid_user = true;
            r
        }
        None => r,
    };
    let (user, ep, _) = last_from(r)?;
    set_user(&mut s, user);
    Some(s.with_src(Some(ep)))
}

/// `Connection from <addr> port <n>[ on <addr> port <n>]`.
fn connection_from(r: &str) -> Option<Sshd<'_>> {
    let mut s = Sshd::new(Kind::ConnectionFrom).with_src(addr_port(r));
    if let Some((_, local)) = r.split_once(" on ")
        && let Some(ep) = addr_port(local)
    {
        (s.dst, s.dst_port) = (Some(ep.addr), ep.port);
    }
    Some(s)
}

/// `[authenticating |invalid ]user <user> <addr> port <n>`, or `<addr>[ port <n>]`.
fn user_addr(kind: Kind, r: &str) -> Option<Sshd<'_>> {
    let mut s = Sshd::new(kind);
    let users = ["authenticating user ", "invalid user ", "user "];
    let Some((i, who)) = users
        .iter()
        .enumerate()
        .find_map(|(i, p)| r.strip_prefix(p).map(|w| (i, w)))
    else {
        return Some(s.with_src(addr_port(r)));
    };
    s.invalid_user = i == 1;
    let (user, ep) = user_then_endpoint(who)?;
    set_user(&mut s, user);
    Some(s.with_src(Some(ep)))
}

/// `Disconnecting [invalid |authenticating ]user <user> <addr> port <n>: <reason>`.
/// The reason can quote client text too; the first `<addr> port <n>:`
/// is taken.
fn disconnecting(r: &str) -> Option<Sshd<'_>> {
    let mut s = Sshd::new(Kind::Disconnect);
    let (head, reason) = r.split_once(": ")?;
    s.reason = Some(reason);
    if let Some(who) = head.strip_prefix("invalid user ") {
        s.invalid_user = true;
        let (user, ep) = user_then_endpoint(who)?;
        set_user(&mut s, user);
        return Some(s.with_src(Some(ep)));
    }
    let who = head.strip_prefix("authenticating user ").unwrap_or(head);
    let (user, ep) = user_then_endpoint(who)?;
    set_user(&mut s, user);
    Some(s.with_src(Some(ep)))
}

/// `<addr>[ port <n>]:<code>: <text>` or `<addr>: <code>: <text>`.
fn received_disconnect(r: &str) -> Option<Sshd<'_>> {
    let mut s = Sshd::new(Kind::Disconnect).with_src(addr_port(r));
    s.reason = r.split_once(": ").map(|(_, t)| t);
    Some(s)
}

/// `<addr> port <n>` or `connection from <addr> to <addr>, pid = <n>`.
fn timeout(r: &str) -> Option<Sshd<'_>> {
    let ep = match r.strip_prefix("connection from ") {
        Some(rest) => addr_port(rest),
        None => addr_port(r),
    };
    Some(Sshd::new(Kind::Preauth).with_src(ep))
}

/// `<user>@<host> (<addr>)`: the address in the final parentheses.
fn refused_connect(r: &str) -> Option<Sshd<'_>> {
    let inner = r.strip_suffix(')')?.rsplit_once('(')?.1;
    let s = Sshd::new(Kind::RefusedConnect);
    Some(s.with_src(addr_port(inner)))
}

/// `<name> [<addr>] failed - POSSIBLE BREAK-IN ATTEMPT!`.
fn reverse_mapping(r: &str) -> Option<Sshd<'_>> {
    let (_, rest) = r.split_once(" [")?;
    let (addr, _) = rest.split_once(']')?;
    Some(Sshd::new(Kind::ReverseMapping).with_src(addr_port(addr)))
}

/// `Address <addr> maps to <name>, but this does not map back ...`.
fn address_maps(r: &str) -> Option<Sshd<'_>> {
    let (addr, _) = r.split_once(" maps to ")?;
    Some(Sshd::new(Kind::ReverseMapping).with_src(addr_port(addr)))
}

/// `SSH: Server;Ltype: ...;Remote: <addr>-<port>;...` (a patched sshd).
fn ssh_server_remote(r: &str) -> Option<Sshd<'_>> {
    let remote = r.split(';').find_map(|f| f.strip_prefix("Remote: "));
    let ep = remote.and_then(|x| {
        let (addr, port) = x.rsplit_once('-')?;
        let port = port_digits(port).map(|(p, _)| p);
        is_addr(addr).then_some(Endpoint { addr, port })
    });
    Some(Sshd::new(Kind::Other).with_src(ep))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(m: &str) -> (Kind, Option<&str>, Option<&str>, Option<&str>) {
        let s = classify(m);
        (s.kind, s.user, s.src, s.port)
    }

    #[test]
    fn bh04_the_last_from_is_the_source() {
        assert_eq!(
            src("Invalid user x x 198.51.100.7 from 203.0.113.9 port 50022"),
            (
                Kind::InvalidUser,
                Some("x x 198.51.100.7"),
                Some("203.0.113.9"),
                Some("50022")
            )
        );
        let m = "Failed password for invalid user root from 198.51.100.7 port 22 ssh2 \
                 from 203.0.113.9 port 50022 ssh2";
        let s = classify(m);
        assert_eq!(
            (s.kind, s.user, s.src, s.port, s.invalid_user),
            (
                Kind::Failed,
                Some("root from 198.51.100.7 port 22 ssh2"),
                Some("203.0.113.9"),
                Some("50022"),
                true
            )
        );
        let m = "Failed password for invalid user x from 6.6.6.6 port 1 ssh2: y \
                 from 203.0.113.9 port 50022 ssh2";
        assert_eq!(classify(m).src, Some("203.0.113.9"));
    }

    #[test]
    fn accepted_with_info_and_failed_without_port() {
        let m = "Accepted publickey for vagrant from 10.0.2.2 port 63673 ssh2: RSA 39:33:99";
        let s = classify(m);
        assert_eq!(
            (s.method, s.user, s.src),
            (Some("publickey"), Some("vagrant"), Some("10.0.2.2"))
        );
        assert_eq!(s.info, Some("RSA 39:33:99"));
        let m = "Failed password for invalid user ROOT from aaaa:bbbb:cccc:1234::1:1";
        assert_eq!(src(m).2, Some("aaaa:bbbb:cccc:1234::1:1"));
        let m = "Failed password for user from 127.0.0.1 port 20000 ssh1: ruser XX from 1.2.3.4";
        assert_eq!(src(m).2, Some("127.0.0.1"));
    }

    #[test]
    fn users_and_addresses_in_other_shapes() {
        let cases: &[(&str, Kind, Option<&str>, Option<&str>)] = &[
            (
                "Invalid user  from 192.0.2.68 port 34916",
                Kind::InvalidUser,
                None,
                Some("192.0.2.68"),
            ),
            (
                "Connection closed by authenticating user test 127.0.0.1 port 12345 \
                 192.0.2.11 port 46039 [preauth]",
                Kind::Disconnect,
                Some("test 127.0.0.1 port 12345"),
                Some("192.0.2.11"),
            ),
            (
                "User root from example.com not allowed because not listed in AllowUsers",
                Kind::UserNotAllowed,
                Some("root"),
                Some("example.com"),
            ),
            (
                "error: PAM: authentication error for james from example.com via 192.168.1.201",
                Kind::PamAuthFailure,
                Some("james"),
                Some("example.com"),
            ),
            (
                "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh \
                 ruser= rhost=192.0.2.112  user=root",
                Kind::PamAuthFailure,
                Some("root"),
                Some("192.0.2.112"),
            ),
            (
                "Received disconnect from 10.0.0.1 port 7736:3: com.jcraft.jsch.JSchException: \
                 Auth fail [preauth]",
                Kind::Disconnect,
                None,
                Some("10.0.0.1"),
            ),
            (
                "refused connect from _U2F=_@::ffff:218.249.210.161 (::ffff:218.249.210.161)",
                Kind::RefusedConnect,
                None,
                Some("::ffff:218.249.210.161"),
            ),
            (
                "reverse mapping checking getaddrinfo for ns.example.com [173.234.31.186] \
                 failed - POSSIBLE BREAK-IN ATTEMPT!",
                Kind::ReverseMapping,
                None,
                Some("173.234.31.186"),
            ),
            (
                "pam_unix(sshd:session): session opened for user rda by (uid=0)",
                Kind::SessionOpened,
                Some("rda"),
                None,
            ),
            ("Connection reset by peer", Kind::Disconnect, None, None),
        ];
        for (m, kind, user, addr) in cases {
            let s = classify(m);
            assert_eq!((s.kind, s.user, s.src), (*kind, *user, *addr), "{m}");
        }
    }
}
