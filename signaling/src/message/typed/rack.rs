//! RAck (RFC 3262 §7.2): `RAck: 776656 1 INVITE`.

use crate::message::Method;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RAck {
    pub rseq: u32,
    pub cseq: u32,
    pub method: Method,
}
