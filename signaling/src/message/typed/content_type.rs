//! Content-Type (`c`): `type/subtype;params`.

use crate::message::{Params, SipStr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    /// Lower-cased `type/subtype`, e.g. `application/sdp`.
    pub media_type: SipStr,
    pub params: Params,
}
