//! The header list: names (long, compact, any case) and raw values in message order.

use super::scan::NameKey;
use super::typed::TypedHeader;
use super::{ParseError, SipStr};
use std::fmt;
use std::sync::OnceLock;

macro_rules! header_names {
    ($( $variant:ident => $canon:literal $(, $compact:literal)? ; )*) => {
        /// Every known name, in declaration order: a header entry stores the index
        /// ([`HeaderName::known_id`]), and lookups hand out `&'static` names from here.
        static KNOWN: &[HeaderName] = &[$( HeaderName::$variant, )*];

        /// A header name. Known names are recognised case-insensitively and in compact
        /// form (RFC 3261 §7.3.3); anything else is kept verbatim in `Other`.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum HeaderName {
            $( #[doc = concat!("`", $canon, "`")] $variant, )*
            /// A name we do not know, as written.
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

            /// The index of a known name in [`KNOWN`]; `None` for `Other`.
            #[inline]
            pub(crate) fn known_id(&self) -> Option<u32> {
                #[allow(clippy::enum_variant_names)]
                enum Id { $( $variant, )* }
                match self {
                    $( HeaderName::$variant => Some(Id::$variant as u32), )*
                    HeaderName::Other(_) => None,
                }
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

/// A header value borrowed from a [`Headers`]: reads as a `str` and turns into a `SipStr`
/// that shares the message's buffer ([`HeaderValue::to_sip_str`], or `.into()`). Values are
/// stored as offsets into the parsed header section, so a parse makes no string per header.
/// (Not `Copy`, so the `value.clone()` of code written for `&SipStr` reads naturally.)
#[derive(Clone)]
pub struct HeaderValue<'a> {
    text: &'a str,
    /// The buffer `text` lies in.
    src: &'a SipStr,
}

impl<'a> HeaderValue<'a> {
    #[inline]
    /// The value as text.
    pub fn as_str(&self) -> &'a str {
        self.text
    }
    #[inline]
    /// The value's bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }
    /// The value as a `SipStr` sharing the message's buffer (no copy).
    #[inline]
    pub fn to_sip_str(&self) -> SipStr {
        self.src.slice_ref(self.text)
    }
    /// The part `sub` of this value as a `SipStr` sharing the buffer (a copy when `sub` lies
    /// elsewhere).
    #[inline]
    pub fn slice_ref(&self, sub: &str) -> SipStr {
        self.src.slice_ref(sub)
    }
}

impl std::ops::Deref for HeaderValue<'_> {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.text
    }
}

impl AsRef<str> for HeaderValue<'_> {
    fn as_ref(&self) -> &str {
        self.text
    }
}

impl fmt::Debug for HeaderValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.text, f)
    }
}

impl fmt::Display for HeaderValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

impl PartialEq for HeaderValue<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}
impl Eq for HeaderValue<'_> {}

impl std::hash::Hash for HeaderValue<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state)
    }
}

impl PartialEq<str> for HeaderValue<'_> {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}
impl PartialEq<&str> for HeaderValue<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}
impl PartialEq<SipStr> for HeaderValue<'_> {
    fn eq(&self, other: &SipStr) -> bool {
        self.text == other.as_str()
    }
}

impl From<HeaderValue<'_>> for SipStr {
    #[inline]
    fn from(v: HeaderValue<'_>) -> SipStr {
        v.to_sip_str()
    }
}

impl From<HeaderValue<'_>> for String {
    fn from(v: HeaderValue<'_>) -> String {
        v.text.to_string()
    }
}

/// One header line: a name and its value with folding removed and surrounding LWS trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    /// The header's name.
    pub name: &'a HeaderName,
    /// Its value.
    pub value: HeaderValue<'a>,
}

/// Where a header's text lives: a range of the parsed header section, or one of the
/// strings stored on their own (values set by hand or joined from folded lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Text {
    Src { start: u32, end: u32 },
    Owned(u32),
}

/// One header as stored: 16 bytes, no reference count, nothing to drop.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// An index into `KNOWN`, or `KNOWN.len() + i` for `others[i]`.
    name: u32,
    value: Text,
}

/// The headers of a message, in order. Repeated headers stay separate entries; comma-joined
/// values stay joined until a typed accessor splits them.
///
/// A parsed message's values are offsets into its header section (`src`), so parsing makes
/// no per-header string and no reference-count traffic; a value becomes a `SipStr` only when
/// asked ([`HeaderValue::to_sip_str`], the typed accessors).
#[derive(Clone, Default)]
pub struct Headers {
    /// The parsed header section that `Text::Src` ranges index (empty when built by hand).
    src: SipStr,
    entries: Vec<Entry>,
    /// Values not in `src`, indexed by `Text::Owned`.
    owned: Vec<SipStr>,
    /// Names not in `KNOWN` (`HeaderName::Other`).
    others: Vec<HeaderName>,
}

static EMPTY: SipStr = SipStr::from_static("");
static NO_NAME: HeaderName = HeaderName::Other(SipStr::from_static(""));

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Headers::default()
    }
    #[inline]
    /// No headers, with room for `n`.
    pub fn with_capacity(n: usize) -> Self {
        Headers {
            entries: Vec::with_capacity(n),
            ..Headers::default()
        }
    }
    #[inline]
    /// Every header line in message order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            headers: self,
            inner: self.entries.iter(),
        }
    }
    #[inline]
    /// How many header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    #[inline]
    fn name_of(&self, id: u32) -> &HeaderName {
        let known = KNOWN.len() as u32;
        if id < known {
            KNOWN.get(id as usize).unwrap_or(&NO_NAME)
        } else {
            self.others.get((id - known) as usize).unwrap_or(&NO_NAME)
        }
    }

    #[inline]
    fn value_of(&self, text: Text) -> HeaderValue<'_> {
        match text {
            Text::Src { start, end } => HeaderValue {
                text: self
                    .src
                    .as_str()
                    .get(start as usize..end as usize)
                    .unwrap_or(""),
                src: &self.src,
            },
            Text::Owned(i) => {
                let s = self.owned.get(i as usize).unwrap_or(&EMPTY);
                HeaderValue {
                    text: s.as_str(),
                    src: s,
                }
            }
        }
    }

    /// A matcher for entries named `name`: known names compare by index.
    #[inline]
    fn matcher<'a>(&'a self, name: &'a HeaderName) -> impl Fn(&Entry) -> bool + 'a {
        let id = name.known_id();
        move |e: &Entry| is_named(e, id, name, &self.others)
    }

    /// The first raw value of `name`.
    #[inline]
    pub fn get(&self, name: &HeaderName) -> Option<HeaderValue<'_>> {
        let is = self.matcher(name);
        self.entries
            .iter()
            .find(|e| is(e))
            .map(|e| self.value_of(e.value))
    }

    /// The first raw value of the header spelled `name` (long or compact form, any case;
    /// unknown names compare case-insensitively too).
    pub fn get_by_name(&self, name: &str) -> Option<HeaderValue<'_>> {
        match HeaderName::from_name_known(name) {
            Some(known) => self.get(&known),
            None => self
                .iter()
                .find(|h| matches!(h.name, HeaderName::Other(o) if o.eq_ignore_ascii_case(name)))
                .map(|h| h.value),
        }
    }

    /// Every raw value of `name`, in order (not split on commas).
    pub fn get_all<'a>(
        &'a self,
        name: &'a HeaderName,
    ) -> impl Iterator<Item = HeaderValue<'a>> + 'a {
        let is = self.matcher(name);
        self.entries
            .iter()
            .filter(move |e| is(e))
            .map(|e| self.value_of(e.value))
    }

    /// Whether a header `name` is present.
    pub fn contains(&self, name: &HeaderName) -> bool {
        self.get(name).is_some()
    }

    #[inline]
    fn name_id(&mut self, name: HeaderName) -> u32 {
        match name.known_id() {
            Some(id) => id,
            None => {
                self.others.push(name);
                (KNOWN.len() + self.others.len() - 1) as u32
            }
        }
    }

    #[inline]
    fn own(&mut self, value: SipStr) -> Text {
        self.owned.push(value);
        Text::Owned((self.owned.len() - 1) as u32)
    }

    /// Appends a raw header.
    #[inline]
    pub fn push(&mut self, name: HeaderName, value: impl Into<SipStr>) {
        let name = self.name_id(name);
        let value = self.own(value.into());
        self.entries.push(Entry { name, value });
    }

    /// Inserts a raw header before all others (e.g. a new top Via).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<SipStr>) {
        let name = self.name_id(name);
        let value = self.own(value.into());
        self.entries.insert(0, Entry { name, value });
    }

    /// Removes every `name` header; returns how many were removed.
    pub fn remove(&mut self, name: &HeaderName) -> usize {
        let before = self.entries.len();
        let (id, others) = (name.known_id(), &self.others);
        self.entries.retain(|e| !is_named(e, id, name, others));
        before - self.entries.len()
    }

    /// Replaces every `name` header with one value (appended where the first one was, or at
    /// the end).
    pub fn set(&mut self, name: HeaderName, value: impl Into<SipStr>) {
        let value = value.into();
        let id = name.known_id();
        let first = {
            let others = &self.others;
            self.entries
                .iter()
                .position(|e| is_named(e, id, &name, others))
        };
        let Some(i) = first else {
            return self.push(name, value);
        };
        let text = match self.entries.get(i).map(|e| e.value) {
            // Reuse the slot of a value set by hand, so repeated sets do not grow `owned`.
            Some(Text::Owned(k)) if (k as usize) < self.owned.len() => {
                if let Some(slot) = self.owned.get_mut(k as usize) {
                    *slot = value;
                }
                Text::Owned(k)
            }
            _ => self.own(value),
        };
        if let Some(e) = self.entries.get_mut(i) {
            e.value = text;
        }
        // The later ones go.
        let others = &self.others;
        let mut j = 0;
        self.entries.retain(|e| {
            j += 1;
            j <= i + 1 || !is_named(e, id, &name, others)
        });
    }

    /// Parses the first value of a typed header (the first comma-separated element for list
    /// headers). `Ok(None)` when absent.
    pub fn typed<T: TypedHeader>(&self) -> Result<Option<T>, ParseError> {
        match self.get(&T::NAME) {
            None => Ok(None),
            Some(v) => {
                if T::LIST {
                    match super::typed::split_list(v.as_str()).next() {
                        Some(first) => T::parse_sip(&v.slice_ref(first)).map(Some),
                        None => Ok(None),
                    }
                } else {
                    T::parse_sip(&v.to_sip_str()).map(Some)
                }
            }
        }
    }

    /// Parses every value of a typed header across repeated lines and comma-joined lists.
    pub fn typed_all<T: TypedHeader>(&self) -> Result<Vec<T>, ParseError> {
        let mut out = Vec::new();
        for v in self.get_all(&T::NAME) {
            if T::LIST {
                for item in super::typed::split_list(v.as_str()) {
                    out.push(T::parse_sip(&v.slice_ref(item))?);
                }
            } else {
                out.push(T::parse_sip(&v.to_sip_str())?);
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

/// Whether `e` is named `name` (whose known index is `id`).
#[inline]
fn is_named(e: &Entry, id: Option<u32>, name: &HeaderName, others: &[HeaderName]) -> bool {
    match id {
        Some(id) => e.name == id,
        None => e
            .name
            .checked_sub(KNOWN.len() as u32)
            .and_then(|i| others.get(i as usize))
            .is_some_and(|o| o == name),
    }
}

/// The parser's side: entries are pushed as offsets before the header section they index is
/// attached.
impl Headers {
    /// Appends a header whose value is `start..end` of the section attached later by
    /// [`Headers::attach_src`].
    #[inline(always)]
    pub(crate) fn push_src(&mut self, name: HeaderName, start: usize, end: usize) {
        // A known name (nearly every header) needs no call: its id is its variant.
        let name = match name.known_id() {
            Some(id) => id,
            None => self.name_id(name),
        };
        self.entries.push(Entry {
            name,
            value: Text::Src {
                start: start as u32,
                end: end as u32,
            },
        });
    }

    /// Sets the header section the `Text::Src` ranges index.
    #[inline]
    pub(crate) fn attach_src(&mut self, src: SipStr) {
        self.src = src;
    }

    /// The text of entry `i`'s value, with ranges looked up in `src` (the section about to
    /// be attached).
    #[inline]
    pub(crate) fn value_in<'a>(&'a self, src: &'a str, i: usize) -> Option<&'a str> {
        match self.entries.get(i)?.value {
            Text::Src { start, end } => src.get(start as usize..end as usize),
            Text::Owned(k) => self.owned.get(k as usize).map(|s| s.as_str()),
        }
    }
}

/// The headers in order, as [`Header`] views.
pub struct Iter<'a> {
    headers: &'a Headers,
    inner: std::slice::Iter<'a, Entry>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Header<'a>;
    #[inline]
    fn next(&mut self) -> Option<Header<'a>> {
        let e = self.inner.next()?;
        Some(Header {
            name: self.headers.name_of(e.name),
            value: self.headers.value_of(e.value),
        })
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let e = self.inner.next_back()?;
        Some(Header {
            name: self.headers.name_of(e.name),
            value: self.headers.value_of(e.value),
        })
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Headers {
    type Item = Header<'a>;
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Equal when the same names carry the same values in the same order, wherever the text is
/// stored.
impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}
impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    const REQ: &str = "OPTIONS sip:a@b.example SIP/2.0\r\n\
Via: SIP/2.0/UDP h.example;branch=z9hG4bK1\r\n\
X-Tag: one\r\n\
From: <sip:c@d.example>;tag=1\r\n\
To: <sip:a@b.example>\r\n\
x-tag: two\r\n\
Call-ID: abc\r\n\
CSeq: 7 OPTIONS\r\n\
Via: SIP/2.0/UDP p.example;branch=z9hG4bK2\r\n\
Content-Length: 0\r\n\r\n";

    fn parsed() -> Headers {
        Message::parse(REQ.as_bytes()).unwrap().headers().clone()
    }

    #[test]
    fn parsed_and_built_lists_read_the_same() {
        let h = parsed();
        let mut built = Headers::new();
        for header in &h {
            built.push(header.name.clone(), header.value.to_string());
        }
        assert_eq!(h, built);
        assert_eq!(h.len(), 9);
        assert_eq!(h.get(&HeaderName::CallId).unwrap(), "abc");
        let vias: Vec<_> = h.get_all(&HeaderName::Via).map(|v| v.to_string()).collect();
        assert_eq!(
            vias,
            [
                "SIP/2.0/UDP h.example;branch=z9hG4bK1",
                "SIP/2.0/UDP p.example;branch=z9hG4bK2"
            ]
        );
        // Unknown names match exactly in `get`, case-insensitively in `get_by_name`.
        let x = HeaderName::from_name("X-Tag");
        assert_eq!(h.get_all(&x).count(), 1);
        assert_eq!(h.get_by_name("X-TAG").unwrap(), "one");
        assert_eq!(h.get_by_name("v").unwrap().as_str(), vias[0]);
        let last = h.iter().next_back().unwrap();
        assert_eq!(*last.name, HeaderName::ContentLength);
    }

    #[test]
    fn values_share_the_buffer_until_copied() {
        let h = parsed();
        let v = h.get(&HeaderName::CallId).unwrap();
        let s = v.to_sip_str();
        assert_eq!(s, "abc");
        assert_eq!(s.as_bytes().as_ptr(), v.as_bytes().as_ptr());
        drop(h);
        // The `SipStr` keeps the buffer alive on its own.
        assert_eq!(s, "abc");
    }

    #[test]
    fn edits_keep_order_and_do_not_grow() {
        let mut h = parsed();
        h.push_front(HeaderName::Via, "SIP/2.0/TCP new.example;branch=z9hG4bK0");
        assert!(h
            .get(&HeaderName::Via)
            .unwrap()
            .starts_with("SIP/2.0/TCP new"));
        assert_eq!(h.remove(&HeaderName::Via), 3);
        assert!(!h.contains(&HeaderName::Via));
        h.set(HeaderName::CSeq, "8 OPTIONS");
        assert_eq!(h.get(&HeaderName::CSeq).unwrap(), "8 OPTIONS");
        for n in 9..100 {
            h.set(HeaderName::CSeq, format!("{n} OPTIONS"));
        }
        assert_eq!(h.get(&HeaderName::CSeq).unwrap(), "99 OPTIONS");
        assert_eq!(h.owned.len(), 2, "repeated sets reuse their slot");
        // `set` keeps the first place and drops the later ones.
        let x = HeaderName::from_name("x-tag");
        h.push(x.clone(), "three");
        h.set(x.clone(), "only");
        let names: Vec<String> = h.iter().map(|e| e.name.to_string()).collect();
        assert_eq!(
            names,
            [
                "X-Tag",
                "From",
                "To",
                "x-tag",
                "Call-ID",
                "CSeq",
                "Content-Length"
            ]
        );
        assert_eq!(h.get(&x).unwrap(), "only");
        assert_eq!(h.get_all(&x).count(), 1);
    }
}
