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
            pub fn from(&self) -> Result<From, ParseError> {
                required(self.headers())
            }
            pub fn to(&self) -> Result<To, ParseError> {
                required(self.headers())
            }
        }
    )*};
}

impl Request {
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
}

impl Response {
    pub fn headers(&self) -> &Headers {
        &self.headers
    }
}

accessors!(Message, Request, Response);

impl Message {
    pub fn as_request(&self) -> Option<&Request> {
        match self {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        }
    }
    pub fn as_response(&self) -> Option<&Response> {
        match self {
            Message::Response(r) => Some(r),
            Message::Request(_) => None,
        }
    }
    pub fn is_request(&self) -> bool {
        matches!(self, Message::Request(_))
    }
}
