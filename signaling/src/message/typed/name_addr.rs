//! name-addr / addr-spec headers: From, To, Contact, Route, Record-Route, Refer-To,
//! Referred-By, P-Asserted-Identity (RFC 3261 §20, RFC 3515, RFC 3892, RFC 3325).

use crate::message::{Params, SipStr, Uri};

/// `"Display" <uri>;params` or a bare `uri;params` (where the params belong to the header).
/// `display_name` holds the unquoted, unescaped text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display_name: Option<SipStr>,
    pub uri: Uri,
    pub params: Params,
}

impl NameAddr {
    pub fn tag(&self) -> Option<&str> {
        self.params.value("tag")
    }
}

/// From (`f`); `tag` identifies the dialog's local/remote side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From(pub NameAddr);
/// To (`t`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct To(pub NameAddr);
/// One Contact element (`m`); `Contact: *` is `Contact::Wildcard`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Wildcard,
    Addr(NameAddr),
}
/// One Route element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route(pub NameAddr);
/// One Record-Route element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRoute(pub NameAddr);
/// Refer-To (`r`, RFC 3515); the URI may carry `?Replaces=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferTo(pub NameAddr);
/// Referred-By (`b`, RFC 3892).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferredBy(pub NameAddr);
/// One P-Asserted-Identity element (RFC 3325).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PAssertedIdentity(pub NameAddr);
