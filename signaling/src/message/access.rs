//! Typed shortcuts on messages for the headers every layer reads.
//!
//! Each returns `Result<T, ParseError>`: `Err` with `ParseErrorKind::MissingHeader` when
//! the header is absent, `InvalidHeader` when it does not parse. A message that came out of
//! `Message::parse` always has a Via, From, To, Call-ID and CSeq that parse, so on received
//! messages these only fail for hand-built ones.

use super::typed::{CSeq, CallId, From, To, TypedHeader, Via};
use super::{Headers, Message, ParseError, ParseErrorKind, Request, Response};

fn required<T: TypedHeader>(headers: &Headers) -> Result<T, ParseError> {
    headers.typed::<T>()?.ok_or_else(|| {
        let name = match T::NAME {
            super::HeaderName::Via => "Via",
            super::HeaderName::From => "From",
            super::HeaderName::To => "To",
            super::HeaderName::CallId => "Call-ID",
            super::HeaderName::CSeq => "CSeq",
            _ => "header",
        };
        ParseError::new(ParseErrorKind::MissingHeader(name), name)
    })
}

macro_rules! accessors {
    ($($t:ty),*) => {$(
        impl $t {
            /// The Call-ID.
            pub fn call_id(&self) -> Result<CallId, ParseError> {
                required(self.headers())
            }
            /// The CSeq.
            pub fn cseq(&self) -> Result<CSeq, ParseError> {
                required(self.headers())
            }
            /// The first element of the first Via.
            pub fn top_via(&self) -> Result<Via, ParseError> {
                required(self.headers())
            }
            /// The From header (required in every message).
            pub fn from(&self) -> Result<From, ParseError> {
                required(self.headers())
            }
            /// The To header (required in every message).
            pub fn to(&self) -> Result<To, ParseError> {
                required(self.headers())
            }
        }
    )*};
}

impl Request {
    /// The request's headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
}

impl Response {
    /// The response's headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
}

accessors!(Message, Request, Response);

impl Message {
    /// Whether it is a request.
    pub fn is_request(&self) -> bool {
        matches!(self, Message::Request(_))
    }
}
