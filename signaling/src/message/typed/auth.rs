//! WWW-Authenticate / Proxy-Authenticate challenges and Authorization /
//! Proxy-Authorization credentials (RFC 3261 §20.44, RFC 7616, RFC 8760).
//!
//! These are not comma lists at the header level (their parameters are comma-separated),
//! so several challenges come as repeated header lines.

use crate::message::SipStr;

/// `Digest realm="pbx",nonce="...",qop="auth",algorithm=SHA-256,stale=true,opaque="..."`.
/// Parameter values are unquoted and unescaped; `algorithm` is kept exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, e.g. `Digest` (compare case-insensitively).
    pub scheme: SipStr,
    /// `(name, unquoted value, was_quoted)` in order.
    pub params: Vec<(SipStr, SipStr, bool)>,
}

/// `Digest username="1001",realm="pbx",nonce="...",uri="sip:pbx",response="...",...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub scheme: SipStr,
    /// `(name, unquoted value, was_quoted)` in order; printing quotes what was quoted.
    pub params: Vec<(SipStr, SipStr, bool)>,
}

impl Challenge {
    /// The unquoted value of a parameter, name compared case-insensitively.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _, _)| k.eq_ignore_ascii_case(name)).map(|(_, v, _)| v.as_str())
    }
}

impl Credentials {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _, _)| k.eq_ignore_ascii_case(name)).map(|(_, v, _)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WwwAuthenticate(pub Challenge);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyAuthenticate(pub Challenge);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization(pub Credentials);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyAuthorization(pub Credentials);
