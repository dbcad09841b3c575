//! Printing: canonical long header names, CRLF line ends, and a Content-Length always
//! computed from the body (whatever Content-Length header the message holds is replaced).

use super::{HeaderName, Headers, Message, Request, Response, SipStr, Uri};
use super::{Method, ParseError};
use bytes::Bytes;
use std::fmt;

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Appends the wire form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut line = String::with_capacity(64);
        line.push_str(self.method.as_str());
        line.push(' ');
        self.uri.print(&mut line);
        line.push_str(" SIP/2.0\r\n");
        out.extend_from_slice(line.as_bytes());
        write_headers_and_body(&self.headers, &self.body, out);
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(estimate(&self.headers, &self.body));
        self.write_to(&mut out);
        Bytes::from(out)
    }

    /// Parses a datagram that must hold a request.
    pub fn parse(bytes: &[u8]) -> Result<Request, ParseError> {
        match Message::parse(bytes)? {
            Message::Request(r) => Ok(r),
            Message::Response(_) => Err(ParseError::new(
                super::ParseErrorKind::StartLine,
                "expected a request, got a response",
            )),
        }
    }
}

impl Response {
    /// A response with no headers and no body.
    pub fn new(status: u16, reason: impl Into<SipStr>) -> Response {
        Response {
            status,
            reason: reason.into(),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Appends the response as sent on the wire.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"SIP/2.0 ");
        out.extend_from_slice(self.status.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(single_line(&self.reason).as_bytes());
        out.extend_from_slice(b"\r\n");
        write_headers_and_body(&self.headers, &self.body, out);
    }

    /// The response as sent on the wire.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = Vec::with_capacity(estimate(&self.headers, &self.body));
        self.write_to(&mut out);
        Bytes::from(out)
    }

    /// Parses a datagram that must hold a response.
    pub fn parse(bytes: &[u8]) -> Result<Response, ParseError> {
        match Message::parse(bytes)? {
            Message::Response(r) => Ok(r),
            Message::Request(_) => Err(ParseError::new(
                super::ParseErrorKind::StartLine,
                "expected a response, got a request",
            )),
        }
    }
}

impl Message {
    /// Appends the message as sent on the wire.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Message::Request(r) => r.write_to(out),
            Message::Response(r) => r.write_to(out),
        }
    }

    /// The wire form (see the module doc for what is normalised).
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

fn estimate(headers: &Headers, body: &Bytes) -> usize {
    let h: usize = headers
        .iter()
        .map(|h| h.name.as_str().len() + h.value.len() + 4)
        .sum();
    128 + h + body.len()
}

/// A value fit for one header line: CR and LF (only possible in hand-built values) become
/// spaces, so a value can never inject a header.
fn single_line(s: &str) -> std::borrow::Cow<'_, str> {
    if memchr::memchr2(b'\r', b'\n', s.as_bytes()).is_none() {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(s.replace(['\r', '\n'], " "))
}

fn write_headers_and_body(headers: &Headers, body: &Bytes, out: &mut Vec<u8>) {
    let mut wrote_length = false;
    for h in headers {
        if *h.name == HeaderName::ContentLength {
            // The first Content-Length keeps its place; later ones are dropped.
            if !wrote_length {
                write_content_length(body.len(), out);
                wrote_length = true;
            }
            continue;
        }
        out.extend_from_slice(h.name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(single_line(&h.value).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !wrote_length {
        write_content_length(body.len(), out);
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
}

fn write_content_length(len: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(b"Content-Length: ");
    out.extend_from_slice(len.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

macro_rules! display_wire {
    ($($t:ty),*) => {$(
        /// The wire form; a body that is not UTF-8 is shown lossily.
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
            }
        }
    )*};
}
display_wire!(Message, Request, Response);
