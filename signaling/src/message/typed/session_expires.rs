//! Session-Expires (`x`, RFC 4028): `1800;refresher=uac`.

use crate::message::Params;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    Uac,
    Uas,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionExpires {
    pub delta_seconds: u32,
    pub refresher: Option<Refresher>,
    /// Other parameters, kept.
    pub params: Params,
}
