//! Replaces (RFC 3891): `call-id;to-tag=...;from-tag=...[;early-only]`.

use crate::message::{Params, SipStr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    pub call_id: SipStr,
    pub to_tag: SipStr,
    pub from_tag: SipStr,
    pub early_only: bool,
    /// Any other parameters, kept.
    pub params: Params,
}
