//! The header list: names (long, compact, any case) and raw values in message order.

use super::scan::NameKey;
use super::typed::TypedHeader;
use super::{ParseError, SipStr};
use std::fmt;
use std::sync::OnceLock;

macro_rules! header_names {
    ($( $variant:ident => $canon:literal $(, $compact:literal)? ; )*) => {
        /// A header name. Known names are recognised case-insensitively and in compact
        /// form (RFC 3261 §7.3.3); anything else is kept verbatim in `Other`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum HeaderName {
            $( $variant, )*
            Other(SipStr),
        }

        impl HeaderName {
            /// The canonical long form, as we print it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( HeaderName::$variant => $canon, )*
                    HeaderName::Other(s) => s.as_str(),
                }
            }

            /// Recognises a header name (long or compact, any case). `Other` keeps the
            /// original spelling.
            pub fn from_name(name: &str) -> HeaderName {
                match HeaderName::from_name_known(name) {
                    Some(h) => h,
                    None => HeaderName::Other(SipStr::from(name)),
                }
            }

            /// Like `from_name`, but an unknown name shares `raw`'s buffer instead of copying.
            pub fn from_sip_str(raw: SipStr) -> HeaderName {
                match HeaderName::from_name_known(raw.as_str()) {
                    Some(h) => h,
                    None => HeaderName::Other(raw),
                }
            }

            /// Recognises a known name (long or compact, any case) without copying.
            pub(crate) fn from_name_known(name: &str) -> Option<HeaderName> {
                if let Some(h) = common(name.as_bytes()) {
                    return Some(h);
                }
                let bytes = name.as_bytes();
                name_table()[bucket(bytes)]
                    .iter()
                    .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(bytes))
                    .map(|(_, h)| h.clone())
            }

            /// Every known spelling (long and compact) with its name.
            fn known_spellings() -> Vec<(&'static str, HeaderName)> {
                let canon = [$( ($canon, HeaderName::$variant) ),*];
                let compact = [$( $( ($compact, HeaderName::$variant), )? )*];
                canon.into_iter().chain(compact).collect()
            }
        }
    };
}

header_names! {
    Via => "Via", "v";
    From => "From", "f";
    To => "To", "t";
    CallId => "Call-ID", "i";
    CSeq => "CSeq";
    Contact => "Contact", "m";
    MaxForwards => "Max-Forwards";
    Route => "Route";
    RecordRoute => "Record-Route";
    Expires => "Expires";
    MinExpires => "Min-Expires";
    ContentLength => "Content-Length", "l";
    ContentType => "Content-Type", "c";
    ContentEncoding => "Content-Encoding", "e";
    Authorization => "Authorization";
    ProxyAuthorization => "Proxy-Authorization";
    WwwAuthenticate => "WWW-Authenticate";
    ProxyAuthenticate => "Proxy-Authenticate";
    Allow => "Allow";
    Accept => "Accept";
    Supported => "Supported", "k";
    Require => "Require";
    ProxyRequire => "Proxy-Require";
    Unsupported => "Unsupported";
    RSeq => "RSeq";
    RAck => "RAck";
    ReferTo => "Refer-To", "r";
    ReferredBy => "Referred-By", "b";
    Replaces => "Replaces";
    Event => "Event", "o";
    SubscriptionState => "Subscription-State";
    SessionExpires => "Session-Expires", "x";
    MinSe => "Min-SE";
    PAssertedIdentity => "P-Asserted-Identity";
    Subject => "Subject", "s";
    UserAgent => "User-Agent";
    Server => "Server";
    Date => "Date";
    Timestamp => "Timestamp";
    Warning => "Warning";
    RetryAfter => "Retry-After";
    Organization => "Organization";
    Priority => "Priority";
    AllowEvents => "Allow-Events", "u";
    AcceptEncoding => "Accept-Encoding";
    AcceptLanguage => "Accept-Language";
    ContentDisposition => "Content-Disposition";
    InReplyTo => "In-Reply-To";
    ReplyTo => "Reply-To";
    Path => "Path";
}

/// The names nearly every message carries (and every compact form), matched on length and
/// first letter before falling back to the table.
#[inline]
fn common(b: &[u8]) -> Option<HeaderName> {
    use HeaderName as H;
    let eq = |s: &str| b.eq_ignore_ascii_case(s.as_bytes());
    let first = b.first()?.to_ascii_lowercase();
    if b.len() == 1 {
        return Some(match first {
            b'v' => H::Via,
            b'f' => H::From,
            b't' => H::To,
            b'i' => H::CallId,
            b'm' => H::Contact,
            b'l' => H::ContentLength,
            b'c' => H::ContentType,
            b'e' => H::ContentEncoding,
            b'k' => H::Supported,
            b'r' => H::ReferTo,
            b'b' => H::ReferredBy,
            b'o' => H::Event,
            b'x' => H::SessionExpires,
            b's' => H::Subject,
            b'u' => H::AllowEvents,
            _ => return None,
        });
    }
    Some(match (b.len(), first) {
        (2, b't') if eq("To") => H::To,
        (3, b'v') if eq("Via") => H::Via,
        (4, b'f') if eq("From") => H::From,
        (4, b'c') if eq("CSeq") => H::CSeq,
        (5, b'r') if eq("Route") => H::Route,
        (5, b'a') if eq("Allow") => H::Allow,
        (7, b'c') if eq("Call-ID") => H::CallId,
        (7, b'c') if eq("Contact") => H::Contact,
        (7, b'e') if eq("Expires") => H::Expires,
        (9, b's') if eq("Supported") => H::Supported,
        (10, b'u') if eq("User-Agent") => H::UserAgent,
        (12, b'm') if eq("Max-Forwards") => H::MaxForwards,
        (12, b'r') if eq("Record-Route") => H::RecordRoute,
        (12, b'c') if eq("Content-Type") => H::ContentType,
        (13, b'a') if eq("Authorization") => H::Authorization,
        (14, b'c') if eq("Content-Length") => H::ContentLength,
        (16, b'w') if eq("WWW-Authenticate") => H::WwwAuthenticate,
        _ => return None,
    })
}

/// Known names by length and case-folded key (see `scan::NameKey`): two integer compares
/// per candidate. `None` for a name that is not known (of at most 16 bytes).
#[inline]
pub(crate) fn from_key(len: usize, k: NameKey) -> Option<HeaderName> {
    use HeaderName as H;
    match len {
        1 => common(&[k.0 as u8]),
        2 => {
            if k == const { NameKey::of("To") } {
                return Some(H::To);
            }
            None
        }
        3 => {
            if k == const { NameKey::of("Via") } {
                return Some(H::Via);
            }
            None
        }
        4 => {
            if k == const { NameKey::of("From") } {
                return Some(H::From);
            }
            if k == const { NameKey::of("CSeq") } {
                return Some(H::CSeq);
            }
            if k == const { NameKey::of("RSeq") } {
                return Some(H::RSeq);
            }
            if k == const { NameKey::of("RAck") } {
                return Some(H::RAck);
            }
            if k == const { NameKey::of("Date") } {
                return Some(H::Date);
            }
            if k == const { NameKey::of("Path") } {
                return Some(H::Path);
            }
            None
        }
        5 => {
            if k == const { NameKey::of("Route") } {
                return Some(H::Route);
            }
            if k == const { NameKey::of("Allow") } {
                return Some(H::Allow);
            }
            if k == const { NameKey::of("Event") } {
                return Some(H::Event);
            }
            None
        }
        6 => {
            if k == const { NameKey::of("Accept") } {
                return Some(H::Accept);
            }
            if k == const { NameKey::of("Min-SE") } {
                return Some(H::MinSe);
            }
            if k == const { NameKey::of("Server") } {
                return Some(H::Server);
            }
            None
        }
        7 => {
            if k == const { NameKey::of("Call-ID") } {
                return Some(H::CallId);
            }
            if k == const { NameKey::of("Contact") } {
                return Some(H::Contact);
            }
            if k == const { NameKey::of("Expires") } {
                return Some(H::Expires);
            }
            if k == const { NameKey::of("Require") } {
                return Some(H::Require);
            }
            if k == const { NameKey::of("Subject") } {
                return Some(H::Subject);
            }
            if k == const { NameKey::of("Warning") } {
                return Some(H::Warning);
            }
            None
        }
        8 => {
            if k == const { NameKey::of("Refer-To") } {
                return Some(H::ReferTo);
            }
            if k == const { NameKey::of("Replaces") } {
                return Some(H::Replaces);
            }
            if k == const { NameKey::of("Priority") } {
                return Some(H::Priority);
            }
            if k == const { NameKey::of("Reply-To") } {
                return Some(H::ReplyTo);
            }
            None
        }
        9 => {
            if k == const { NameKey::of("Supported") } {
                return Some(H::Supported);
            }
            if k == const { NameKey::of("Timestamp") } {
                return Some(H::Timestamp);
            }
            None
        }
        10 => {
            if k == const { NameKey::of("User-Agent") } {
                return Some(H::UserAgent);
            }
            None
        }
        11 => {
            if k == const { NameKey::of("Min-Expires") } {
                return Some(H::MinExpires);
            }
            if k == const { NameKey::of("Unsupported") } {
                return Some(H::Unsupported);
            }
            if k == const { NameKey::of("Referred-By") } {
                return Some(H::ReferredBy);
            }
            if k == const { NameKey::of("Retry-After") } {
                return Some(H::RetryAfter);
            }
            if k == const { NameKey::of("In-Reply-To") } {
                return Some(H::InReplyTo);
            }
            None
        }
        12 => {
            if k == const { NameKey::of("Max-Forwards") } {
                return Some(H::MaxForwards);
            }
            if k == const { NameKey::of("Record-Route") } {
                return Some(H::RecordRoute);
            }
            if k == const { NameKey::of("Content-Type") } {
                return Some(H::ContentType);
            }
            if k == const { NameKey::of("Organization") } {
                return Some(H::Organization);
            }
            if k == const { NameKey::of("Allow-Events") } {
                return Some(H::AllowEvents);
            }
            None
        }
        13 => {
            if k == const { NameKey::of("Authorization") } {
                return Some(H::Authorization);
            }
            if k == const { NameKey::of("Proxy-Require") } {
                return Some(H::ProxyRequire);
            }
            None
        }
        14 => {
            if k == const { NameKey::of("Content-Length") } {
                return Some(H::ContentLength);
            }
            None
        }
        15 => {
            if k == const { NameKey::of("Session-Expires") } {
                return Some(H::SessionExpires);
            }
            if k == const { NameKey::of("Accept-Encoding") } {
                return Some(H::AcceptEncoding);
            }
            if k == const { NameKey::of("Accept-Language") } {
                return Some(H::AcceptLanguage);
            }
            None
        }
        16 => {
            if k == const { NameKey::of("Content-Encoding") } {
                return Some(H::ContentEncoding);
            }
            if k == const { NameKey::of("WWW-Authenticate") } {
                return Some(H::WwwAuthenticate);
            }
            None
        }
        _ => None,
    }
}

const BUCKETS: usize = 128;

/// A cheap hash of a header name, case-insensitive: a header section has a dozen names to
/// look up, so a linear scan of ~70 spellings per name would dominate parsing.
#[inline]
fn bucket(name: &[u8]) -> usize {
    let first = name.first().map_or(0, |b| b.to_ascii_lowercase()) as usize;
    let last = name.last().map_or(0, |b| b.to_ascii_lowercase()) as usize;
    (first * 31 + last * 7 + name.len()) % BUCKETS
}

type NameTable = [Vec<(&'static str, HeaderName)>; BUCKETS];

#[inline]
fn name_table() -> &'static NameTable {
    static TABLE: OnceLock<NameTable> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t: NameTable = std::array::from_fn(|_| Vec::new());
        for (n, h) in HeaderName::known_spellings() {
            t[bucket(n.as_bytes())].push((n, h));
        }
        t
    })
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header line: a name and its value with folding removed and surrounding LWS trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: HeaderName,
    pub value: SipStr,
}

/// The headers of a message, in order. Repeated headers stay separate entries; comma-joined
/// values stay joined until a typed accessor splits them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers {
    entries: Vec<Header>,
}

impl Headers {
    pub fn new() -> Self {
        Headers::default()
    }
    #[inline]
    pub fn with_capacity(n: usize) -> Self {
        Headers {
            entries: Vec::with_capacity(n),
        }
    }
    #[inline]
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.entries.iter()
    }
    #[inline]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first raw value of `name`.
    #[inline]
    pub fn get(&self, name: &HeaderName) -> Option<&SipStr> {
        self.entries
            .iter()
            .find(|h| &h.name == name)
            .map(|h| &h.value)
    }

    /// The first raw value of the header spelled `name` (long or compact form, any case;
    /// unknown names compare case-insensitively too).
    pub fn get_by_name(&self, name: &str) -> Option<&SipStr> {
        match HeaderName::from_name_known(name) {
            Some(known) => self.get(&known),
            None => self
                .entries
                .iter()
                .find(|h| matches!(&h.name, HeaderName::Other(o) if o.eq_ignore_ascii_case(name)))
                .map(|h| &h.value),
        }
    }

    /// Every raw value of `name`, in order (not split on commas).
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a SipStr> + 'a {
        self.entries
            .iter()
            .filter(move |h| &h.name == name)
            .map(|h| &h.value)
    }

    pub fn contains(&self, name: &HeaderName) -> bool {
        self.get(name).is_some()
    }

    /// Appends a raw header.
    #[inline]
    pub fn push(&mut self, name: HeaderName, value: impl Into<SipStr>) {
        self.entries.push(Header {
            name,
            value: value.into(),
        });
    }

    /// Inserts a raw header before all others (e.g. a new top Via).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<SipStr>) {
        self.entries.insert(
            0,
            Header {
                name,
                value: value.into(),
            },
        );
    }

    /// Removes every `name` header; returns how many were removed.
    pub fn remove(&mut self, name: &HeaderName) -> usize {
        let before = self.entries.len();
        self.entries.retain(|h| &h.name != name);
        before - self.entries.len()
    }

    /// Replaces every `name` header with one value (appended where the first one was, or at
    /// the end).
    pub fn set(&mut self, name: HeaderName, value: impl Into<SipStr>) {
        let value = value.into();
        match self.entries.iter().position(|h| h.name == name) {
            Some(i) => {
                self.entries[i].value = value;
                let mut j = i + 1;
                while j < self.entries.len() {
                    if self.entries[j].name == name {
                        self.entries.remove(j);
                    } else {
                        j += 1;
                    }
                }
            }
            None => self.entries.push(Header { name, value }),
        }
    }

    /// Parses the first value of a typed header (the first comma-separated element for list
    /// headers). `Ok(None)` when absent.
    pub fn typed<T: TypedHeader>(&self) -> Result<Option<T>, ParseError> {
        match self.get(&T::NAME) {
            None => Ok(None),
            Some(v) => {
                if T::LIST {
                    match super::typed::split_list(v).next() {
                        Some(first) => T::parse_sip(&v.slice_ref(first)).map(Some),
                        None => Ok(None),
                    }
                } else {
                    T::parse_sip(v).map(Some)
                }
            }
        }
    }

    /// Parses every value of a typed header across repeated lines and comma-joined lists.
    pub fn typed_all<T: TypedHeader>(&self) -> Result<Vec<T>, ParseError> {
        let mut out = Vec::new();
        for v in self.get_all(&T::NAME) {
            if T::LIST {
                for item in super::typed::split_list(v) {
                    out.push(T::parse_sip(&v.slice_ref(item))?);
                }
            } else {
                out.push(T::parse_sip(v)?);
            }
        }
        Ok(out)
    }

    /// Appends a typed header, printed in canonical form.
    pub fn push_typed<T: TypedHeader>(&mut self, value: &T) {
        let mut s = String::new();
        value.print(&mut s);
        self.push(T::NAME, s);
    }

    /// Replaces every header of `T`'s name with this value.
    pub fn set_typed<T: TypedHeader>(&mut self, value: &T) {
        let mut s = String::new();
        value.print(&mut s);
        self.set(T::NAME, s);
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}
