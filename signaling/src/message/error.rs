//! Typed parse errors: bad input from the network is normal input.

use std::fmt;

/// Why a message (or one header of it) could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Neither a request line nor a status line.
    StartLine,
    /// A SIP version other than SIP/2.0.
    Version,
    /// A method that is not a valid token.
    Method,
    /// A Request-URI or a URI inside a header that does not parse.
    Uri,
    /// A status code outside 100-699.
    StatusCode,
    /// A header line without a colon, a bad header name, or bad folding.
    HeaderSyntax,
    /// A header the message must carry is missing.
    MissingHeader(&'static str),
    /// A header that is present but whose value does not parse.
    InvalidHeader(&'static str),
    /// Content-Length disagrees with the bytes that follow, or the same header appears twice
    /// with different values.
    ContentLength,
    /// The header section is not UTF-8.
    NotUtf8,
    /// The message is larger than we accept.
    TooLarge,
    /// The header section never ends (no empty line).
    Incomplete,
}

/// A parse error: what was wrong, with a short human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What kind of problem.
    pub kind: ParseErrorKind,
    /// Where and what, in words.
    pub detail: String,
}

impl ParseError {
    /// An error of `kind` with `detail`.
    pub fn new(kind: ParseErrorKind, detail: impl Into<String>) -> Self {
        ParseError {
            kind,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.detail)
    }
}

impl std::error::Error for ParseError {}
