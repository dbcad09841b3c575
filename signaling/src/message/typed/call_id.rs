//! Call-ID (`i`, RFC 3261 §20.8): `word [ "@" word ]`.

use crate::message::SipStr;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallId(pub SipStr);
