//! CSeq (RFC 3261 §20.16).

use crate::message::Method;

/// `CSeq: 4711 INVITE`. The number is below 2**31 (RFC 3261 §8.1.1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}
