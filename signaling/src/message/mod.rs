//! SIP messages: our own parser and printer (RFC 3261 §7, §20, §25).
//!
//! A [`Message`] keeps its headers as raw, unfolded values (offsets into the datagram's
//! header section, handed out as borrowed [`HeaderValue`]s) and parses a typed header only when asked ([`Headers::typed`]). `Message::parse`
//! does validate what every user agent relies on (start line, Via, From, To, Call-ID, CSeq,
//! Content-Length framing), so a `Message` in hand is always one a transaction can use.

mod error;
mod headers;
mod lex;
mod method;
mod params;
mod scan;
mod text;
mod uri;

pub(crate) mod parse;
mod print;
pub mod typed;

pub use error::{ParseError, ParseErrorKind};
pub use headers::{Header, HeaderName, HeaderValue, Headers};
pub use method::Method;
pub use params::{Params, ParamsIter};
pub use parse::{bad_request, frame, is_keepalive, Frame};
pub use text::SipStr;
pub use uri::{Host, SipUri, TelUri, Uri};

use bytes::Bytes;

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The Request-URI.
    pub uri: Uri,
    /// The headers, in message order.
    pub headers: Headers,
    /// The body (empty when there is none).
    pub body: Bytes,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code (100-699).
    pub status: u16,
    /// The reason phrase.
    pub reason: SipStr,
    /// The headers, in message order.
    pub headers: Headers,
    /// The body (empty when there is none).
    pub body: Bytes,
}

/// A SIP request or response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// The message's headers.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }
    /// The message's headers, to change.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }
    /// The message's body.
    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }
}

mod access;
