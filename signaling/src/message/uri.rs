//! sip:, sips: and tel: URIs (RFC 3261 §19.1, RFC 3966), IPv6 references (RFC 5118).

use super::{Params, SipStr};
use std::net::{Ipv4Addr, Ipv6Addr};

/// A host: a domain name, an IPv4 address or an IPv6 reference (printed in brackets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    Domain(SipStr),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

/// A sip: or sips: URI. `user` and `password` hold the unescaped text; the printer escapes
/// what must be escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    pub secure: bool,
    pub user: Option<SipStr>,
    pub password: Option<SipStr>,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
    /// `?name=value&...` URI headers, kept as written.
    pub headers: Option<SipStr>,
}

/// A tel: URI (RFC 3966). `number` is as written, visual separators included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelUri {
    pub number: SipStr,
    pub params: Params,
}

/// Any URI a SIP message can carry. `Other` keeps an absolute URI of another scheme
/// (e.g. `mailto:`, `http:`) verbatim: legal in Contact and elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    Sip(SipUri),
    Tel(TelUri),
    Other(SipStr),
}
