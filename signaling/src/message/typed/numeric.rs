//! Headers whose value is one number: Max-Forwards, Expires, Min-Expires, Content-Length,
//! RSeq (RFC 3262), Min-SE (RFC 4028, params allowed and ignored).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxForwards(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expires(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinExpires(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentLength(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RSeq(pub u32);
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinSe(pub u32);
