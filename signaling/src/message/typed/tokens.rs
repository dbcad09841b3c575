//! Comma-separated token lists: Allow (methods), Supported (`k`), Require, Unsupported
//! (option tags). Each list element is one typed value, so `typed_all` collects them all.

use crate::message::{Method, SipStr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow(pub Method);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supported(pub SipStr);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Require(pub SipStr);
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub SipStr);
