//! Event (`o`, RFC 6665) and Subscription-State.

use crate::message::{Params, SipStr};

/// `Event: refer;id=93809824`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub package: SipStr,
    pub params: Params,
}

/// `Subscription-State: active;expires=60` / `terminated;reason=noresource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    pub state: SipStr,
    pub params: Params,
}
