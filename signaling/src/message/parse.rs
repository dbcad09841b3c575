//! Parsing: datagrams, stream framing, and the lenient salvage used to answer 400.
//!
//! - [`Message::parse`] / [`Message::parse_bytes`]: one whole datagram or framed message.
//! - [`frame`]: stream transports (TCP): skips leading CRLF keep-alives, finds the header
//!   end and Content-Length, and says how many bytes make one message (or `None` when more
//!   bytes are needed).
//! - [`bad_request`]: a 400 for a request that failed to parse, when its Via/From/To/
//!   Call-ID/CSeq can be salvaged; `None` means drop it.
//!
//! Header values are offsets into the received header section (no copy, no string per
//! header) unless a folded line had to be joined. Nothing here indexes out of bounds or unwraps input-derived data: every input
//! gives a `Message` or a typed `ParseError`.

use super::scan;
use super::typed::{self, CSeq, NameAddr, TypedHeader, Via};
use super::{
    lex, HeaderName, Headers, Message, Method, ParseError, ParseErrorKind, Request, Response,
    SipStr, SipUri, Uri,
};
use bytes::{Buf, Bytes};

/// The largest header section we accept (start line included).
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// The largest body we accept.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One message found at the start of a stream buffer: drop `skip` bytes of keep-alive
/// CRLFs first, then the next `len` bytes are one whole message. `len == 0` means the buffer
/// held only keep-alives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Keep-alive bytes to drop first.
    pub skip: usize,
    /// The message's length after them.
    pub len: usize,
}

fn err(kind: ParseErrorKind, detail: &str) -> ParseError {
    ParseError::new(kind, detail)
}

/// Bytes of leading CR and LF (keep-alives, RFC 3261 §7.5 and RFC 5626 §3.5.1).
fn leading_crlf(buf: &[u8]) -> usize {
    buf.iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len())
}

/// Whether a datagram is only a keep-alive (CRLFs, or its pong; RFC 5626 §3.5.1): it
/// carries no message.
pub fn is_keepalive(bytes: &[u8]) -> bool {
    leading_crlf(bytes) == bytes.len()
}

use scan::find_head_end;

impl Message {
    /// Parses one datagram (or one message cut out of a stream by [`frame`]). Copies
    /// `bytes` once; [`Message::parse_bytes`] takes ownership without copying.
    pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
        Message::parse_bytes(Bytes::copy_from_slice(bytes))
    }

    /// Parses one datagram held in `Bytes`; header values and the body share its buffer.
    ///
    /// Validates what every user agent relies on: the start line (SIP/2.0 only), the
    /// Request-URI, at least one Via with a parseable top Via, From, To, Call-ID, CSeq (its
    /// method equal to the request's), Max-Forwards when present, and Content-Length
    /// against the body: fewer bytes than it says is an error, extra bytes are discarded
    /// (RFC 3261 §18.3), and without it the rest of the datagram is the body.
    pub fn parse_bytes(mut bytes: Bytes) -> Result<Message, ParseError> {
        bytes.advance(leading_crlf(&bytes));
        let (head_len, body_start, ascii) = match scan::find_head_end_ascii(&bytes) {
            Some(v) => v,
            None if bytes.len() > MAX_HEADER_BYTES => {
                return Err(err(ParseErrorKind::TooLarge, "header section"))
            }
            None => {
                return Err(err(
                    ParseErrorKind::Incomplete,
                    "no empty line after the headers",
                ))
            }
        };
        if head_len > MAX_HEADER_BYTES {
            return Err(err(ParseErrorKind::TooLarge, "header section"));
        }
        // Splitting and advancing an owned `Bytes` moves offsets; only `split_to` takes a
        // reference, so the datagram is shared exactly once for the whole header section.
        let head = bytes.split_to(head_len);
        let head = if ascii {
            // SAFETY: ASCII is UTF-8.
            unsafe { SipStr::from_utf8_unchecked(head) }
        } else {
            SipStr::from_utf8(head)
                .ok_or_else(|| err(ParseErrorKind::NotUtf8, "header section is not UTF-8"))?
        };
        let parsed = parse_head(head)?;
        bytes.advance((body_start - head_len).min(bytes.len()));
        match parsed.content_length {
            Some(n) if n > bytes.len() => {
                return Err(err(
                    ParseErrorKind::ContentLength,
                    "body shorter than Content-Length",
                ))
            }
            Some(n) => bytes.truncate(n),
            None if bytes.len() > MAX_BODY_BYTES => {
                return Err(err(ParseErrorKind::TooLarge, "body"))
            }
            None => {}
        }
        let body = bytes;
        Ok(match parsed.start {
            Start::Request(method, uri) => Message::Request(Request {
                method,
                uri,
                headers: parsed.headers,
                body,
            }),
            Start::Response(status, reason) => Message::Response(Response {
                status,
                reason,
                headers: parsed.headers,
                body,
            }),
        })
    }
}

#[cfg_attr(test, derive(Debug, PartialEq))]
enum Start {
    Request(Method, Uri),
    Response(u16, SipStr),
}

struct Head {
    start: Start,
    headers: Headers,
    content_length: Option<usize>,
}

/// The next line of `text` from `*pos`, without its CR LF / LF end; a CR anywhere else is
/// an error.
#[inline]
fn next_line<'t>(text: &'t str, pos: &mut usize) -> Result<Option<&'t str>, ParseError> {
    let b = text.as_bytes();
    let start = *pos;
    let Some(rest) = b.get(start..).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    // Lines are short: the inlined 16-byte scan beats a call into `memchr`.
    let end = match scan::find_cr_lf(rest, 0) {
        None => {
            *pos = b.len();
            b.len()
        }
        Some(i) if rest.get(i) == Some(&b'\n') => {
            *pos = start + i + 1;
            start + i
        }
        Some(i) if rest.get(i + 1) == Some(&b'\n') => {
            *pos = start + i + 2;
            start + i
        }
        Some(_) => return Err(err(ParseErrorKind::HeaderSyntax, "bare CR")),
    };
    Ok(text.get(start..end))
}

/// `line.splitn(3, ' ')` as three strings (empty when missing).
#[inline]
fn split3(line: &str) -> (&str, &str, &str) {
    let Some((a, rest)) = lex::split_byte(line, b' ') else {
        return (line, "", "");
    };
    match lex::split_byte(rest, b' ') {
        Some((b, c)) => (a, b, c),
        None => (a, rest, ""),
    }
}

/// `METHOD SP sip:URI SP SIP/2.0` with a plain URI (see `SipUri::parse_plain`), the form
/// nearly every request has, in one pass. `None` sends the line to the general parser,
/// which decides and gives the error; when `Some`, the result is the one it gives (a token
/// and a plain URI hold no SP, so the line splits where `split3` splits it).
#[inline]
fn plain_request_line(src: &SipStr, line: &str) -> Option<Start> {
    let b = line.as_bytes();
    let uri_end = b.len().checked_sub(8)?;
    if b.get(uri_end..)? != b" SIP/2.0" {
        return None;
    }
    let method_end = scan::run(b, 0, scan::TOKEN);
    if method_end == 0 || b.get(method_end) != Some(&b' ') {
        return None;
    }
    let uri = line.get(method_end + 1..uri_end)?.strip_prefix("sip:")?;
    let uri = SipUri::parse_plain(src, uri, false)?;
    let method = line.get(..method_end)?;
    let method = match Method::from_token(method) {
        Method::Other(_) => Method::Other(src.slice_ref(method)),
        m => m,
    };
    Some(Start::Request(method, Uri::Sip(uri)))
}

fn parse_start(src: &SipStr, line: &str) -> Result<Start, ParseError> {
    match plain_request_line(src, line) {
        Some(start) => Ok(start),
        None => parse_start_general(src, line),
    }
}

/// Every start line: a status line, or a request line of any form.
fn parse_start_general(src: &SipStr, line: &str) -> Result<Start, ParseError> {
    let is_version = |v: &str| v.eq_ignore_ascii_case("SIP/2.0");
    let version_err = |v: &str| {
        if v.len() >= 4
            && v.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
            && !v.contains(' ')
        {
            err(ParseErrorKind::Version, "only SIP/2.0 is supported")
        } else {
            err(ParseErrorKind::StartLine, "malformed start line")
        }
    };
    if line
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("SIP/"))
    {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase. A missing reason
        // (even without its SP) is accepted (RFC 4475 §3.1.1.13).
        let mut parts = line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if !is_version(version) {
            return Err(version_err(version));
        }
        let code = parts.next().unwrap_or("");
        let status: u16 = match lex::parse_digits::<u16>(code) {
            Some(c) if code.len() == 3 && (100..=699).contains(&c) => c,
            _ => {
                return Err(err(
                    ParseErrorKind::StatusCode,
                    "status code not in 100-699",
                ))
            }
        };
        let reason = parts.next().unwrap_or("");
        if reason.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(err(
                ParseErrorKind::StartLine,
                "control character in reason phrase",
            ));
        }
        return Ok(Start::Response(status, src.slice_ref(reason)));
    }
    // Request-Line = Method SP Request-URI SP SIP-Version: exactly one SP each.
    let (method, uri, version) = split3(line);
    if method.is_empty() || uri.is_empty() || version.is_empty() {
        return Err(err(ParseErrorKind::StartLine, "malformed request line"));
    }
    if !is_version(version) {
        return Err(version_err(version));
    }
    if !lex::is_token_str(method) {
        return Err(err(ParseErrorKind::Method, "method is not a token"));
    }
    let method = match Method::from_token(method) {
        Method::Other(_) => Method::Other(src.slice_ref(method)),
        m => m,
    };
    let uri = Uri::parse_in(src, uri)?;
    if uri.as_sip().is_some_and(|u| u.headers.is_some()) {
        return Err(err(
            ParseErrorKind::Uri,
            "headers are not allowed in a Request-URI",
        ));
    }
    Ok(Start::Request(method, uri))
}

/// Where a header's value is: a range of the header section, or (joined from folded
/// lines) the header list's entry.
#[derive(Clone, Copy)]
enum At {
    Src(usize, usize),
    Entry(usize),
}

/// Where the headers validated after the whole section is read are.
#[derive(Default)]
struct Seen {
    via: Option<At>,
    from: Option<At>,
    to: Option<At>,
    call_id: Option<At>,
    cseq: Option<At>,
    max_forwards: Option<At>,
}

// Inlined into its one caller: the `Message` is then built in place instead of moved
// through `Head` and `Result` (hundreds of bytes copied per parse).
#[inline(always)]
fn parse_head(src: SipStr) -> Result<Head, ParseError> {
    let text = src.as_str();
    let bytes = text.as_bytes();
    let mut pos = 0;
    let start = parse_start(&src, next_line(text, &mut pos)?.unwrap_or(""))?;

    // Most messages carry 8-20 headers; a longer list grows once.
    let mut headers = Headers::with_capacity(16);
    let mut seen = Seen::default();
    let mut content_length: Option<usize> = None;
    while pos < bytes.len() {
        // The plain form first: a known name right before the colon (found 16 bytes at a
        // time), else a token name right before the colon.
        let plain = match scan::known_name(bytes, pos) {
            Some((name, name_len)) => Some((name, pos + name_len)),
            None => {
                let rest = bytes.get(pos..).unwrap_or_default();
                let name_len = rest
                    .iter()
                    .position(|&c| !lex::is_token(c))
                    .unwrap_or(rest.len());
                (name_len > 0 && rest.get(name_len) == Some(&b':')).then(|| {
                    let name_end = pos + name_len;
                    let name = text.get(pos..name_end).unwrap_or("");
                    let name = HeaderName::from_name_known(name)
                        .unwrap_or_else(|| HeaderName::Other(src.slice_ref(name)));
                    (name, name_end)
                })
            }
        };
        let (name, value_start, value_end) = if let Some((name, name_end)) = plain {
            // The value, without the LWS around it, up to the line end.
            let mut value_start = name_end + 1;
            while matches!(bytes.get(value_start), Some(b' ' | b'\t')) {
                value_start += 1;
            }
            let mut end = match scan::find_cr_lf(bytes, value_start) {
                None => {
                    pos = bytes.len();
                    bytes.len()
                }
                Some(i) => {
                    pos = match bytes.get(i..) {
                        Some([b'\n', ..]) => i + 1,
                        Some([b'\r', b'\n', ..]) => i + 2,
                        _ => return Err(err(ParseErrorKind::HeaderSyntax, "bare CR")),
                    };
                    i
                }
            };
            while end > value_start && matches!(bytes.get(end - 1), Some(b' ' | b'\t')) {
                end -= 1;
            }
            (name, value_start, end)
        } else {
            let line = next_line(text, &mut pos)?.unwrap_or("");
            if line.starts_with([' ', '\t']) {
                return Err(err(
                    ParseErrorKind::HeaderSyntax,
                    "continuation line before any header",
                ));
            }
            let colon = line
                .bytes()
                .position(|b| b == b':')
                .ok_or_else(|| err(ParseErrorKind::HeaderSyntax, "header line without ':'"))?;
            let name = lex::trim_ws(line.get(..colon).unwrap_or(""));
            if !lex::is_token_str(name) {
                return Err(err(ParseErrorKind::HeaderSyntax, "bad header name"));
            }
            // Known names need no text of their own; only unknown ones share the buffer.
            let name = HeaderName::from_name_known(name)
                .unwrap_or_else(|| HeaderName::Other(src.slice_ref(name)));
            let first = lex::trim_ws(line.get(colon + 1..).unwrap_or(""));
            // `first` lies inside `text`: its offsets.
            let start = (first.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
            (name, start, start + first.len())
        };
        // Folding (CRLF + WSP continues the header) is rare: only then is a value joined
        // into a string of its own.
        let joined = if matches!(bytes.get(pos), Some(b' ' | b'\t')) {
            join_folded(text, &mut pos, value_start, value_end)?
        } else {
            None
        };
        match joined {
            None => {
                let value = bytes.get(value_start..value_end).unwrap_or_default();
                let at = At::Src(value_start, value_end);
                note_header(&mut seen, &mut content_length, &name, at, value)?;
                headers.push_src(name, value_start, value_end);
            }
            Some(j) => {
                let at = At::Entry(headers.len());
                note_header(&mut seen, &mut content_length, &name, at, j.as_bytes())?;
                headers.push(name, j);
            }
        }
    }
    validate(&start, text, &headers, &seen)?;
    headers.attach_src(src);
    Ok(Head {
        start,
        headers,
        content_length,
    })
}

/// Joins the continuation lines at `*pos` to the value `start..end` of `text`: the whole
/// LWS becomes one SP. `None` when every continuation line is blank (the value is unchanged).
#[cold]
fn join_folded(
    text: &str,
    pos: &mut usize,
    start: usize,
    end: usize,
) -> Result<Option<String>, ParseError> {
    let mut joined: Option<String> = None;
    while matches!(text.as_bytes().get(*pos), Some(b' ' | b'\t')) {
        let more = lex::trim_ws(next_line(text, pos)?.unwrap_or(""));
        if !more.is_empty() {
            let j = joined.get_or_insert_with(|| text.get(start..end).unwrap_or("").to_string());
            if !j.is_empty() {
                j.push(' ');
            }
            j.push_str(more);
        }
    }
    Ok(joined)
}

/// Records where the eagerly checked headers are and reads Content-Length.
#[inline(always)]
fn note_header(
    seen: &mut Seen,
    content_length: &mut Option<usize>,
    name: &HeaderName,
    at: At,
    value: &[u8],
) -> Result<(), ParseError> {
    let slot = match name {
        HeaderName::Via => Some(&mut seen.via),
        HeaderName::From => Some(&mut seen.from),
        HeaderName::To => Some(&mut seen.to),
        HeaderName::CallId => Some(&mut seen.call_id),
        HeaderName::CSeq => Some(&mut seen.cseq),
        HeaderName::MaxForwards => Some(&mut seen.max_forwards),
        HeaderName::ContentLength => {
            let n = parse_content_length(value)?;
            if content_length.is_some_and(|c| c != n) {
                return Err(err(
                    ParseErrorKind::ContentLength,
                    "two different Content-Length values",
                ));
            }
            *content_length = Some(n);
            None
        }
        _ => None,
    };
    if let Some(slot) = slot {
        if slot.is_some() && *name != HeaderName::Via {
            // RFC 3261 §7.3.1: only comma-list headers may repeat (RFC 4475 §3.3.11).
            return Err(err(
                ParseErrorKind::InvalidHeader(single_name(name)),
                "header repeated",
            ));
        }
        slot.get_or_insert(at);
    }
    Ok(())
}

/// The printable name of a header that must appear once.
fn single_name(name: &HeaderName) -> &'static str {
    match name {
        HeaderName::From => "From",
        HeaderName::To => "To",
        HeaderName::CallId => "Call-ID",
        HeaderName::CSeq => "CSeq",
        HeaderName::MaxForwards => "Max-Forwards",
        _ => "header",
    }
}

/// Parses a Content-Length value (LWS already trimmed), capping it at [`MAX_BODY_BYTES`].
fn parse_content_length(v: &[u8]) -> Result<usize, ParseError> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return Err(err(
            ParseErrorKind::ContentLength,
            "Content-Length is not a number",
        ));
    }
    let n = v.iter().fold(0usize, |n, &b| {
        n.saturating_mul(10).saturating_add(usize::from(b - b'0'))
    });
    if n > MAX_BODY_BYTES {
        return Err(err(ParseErrorKind::TooLarge, "body larger than we accept"));
    }
    Ok(n)
}

#[inline(always)]
fn header_at<'h>(
    headers: &'h Headers,
    text: &'h str,
    at: Option<At>,
    name: &'static str,
) -> Result<&'h str, ParseError> {
    match at {
        Some(At::Src(start, end)) => text.get(start..end),
        Some(At::Entry(i)) => headers.value_in(text, i),
        None => None,
    }
    .ok_or_else(|| err(ParseErrorKind::MissingHeader(name), name))
}

/// Runs a validating parse over `text` without touching the datagram's reference count
/// (each shared `Bytes` clone is an atomic increment and decrement, and a typed parse makes
/// a dozen). The parser sees `text` as a `SipStr` over static, non-counted bytes.
///
/// `f` is a plain `fn` (no captures) returning no `SipStr`, so nothing it builds can outlive
/// this call.
fn check(text: &str, f: fn(&SipStr) -> Result<(), ParseError>) -> Result<(), ParseError> {
    // SAFETY: the `'static` bytes are only reachable through `borrowed` and the values `f`
    // builds from it; `f` cannot store them (no captures, and it returns only a result
    // without text), so all of them are dropped before `text`'s borrow ends.
    let bytes: &'static [u8] =
        unsafe { std::mem::transmute::<&[u8], &'static [u8]>(text.as_bytes()) };
    // SAFETY: `text` is a `str`, so its bytes are UTF-8.
    let borrowed = unsafe { SipStr::from_utf8_unchecked(Bytes::from_static(bytes)) };
    f(&borrowed)
}

/// The eager checks every user agent relies on (see [`Message::parse_bytes`]).
fn validate(start: &Start, text: &str, headers: &Headers, seen: &Seen) -> Result<(), ParseError> {
    // Each check tries the plain form first (no allocation, no reference count); what the
    // recogniser does not know goes to the typed parser, which decides.
    let via = header_at(headers, text, seen.via, "Via")?;
    if !scan::via_ok(via) {
        let top = typed::split_list(via)
            .next()
            .ok_or_else(|| err(ParseErrorKind::InvalidHeader("Via"), "empty Via"))?;
        check(top, |v| Via::parse_sip(v).map(drop))?;
    }
    let from = header_at(headers, text, seen.from, "From")?;
    if !scan::name_addr_ok(from) {
        check(from, |v| NameAddr::parse_in(v, v, "From").map(drop))?;
    }
    let to = header_at(headers, text, seen.to, "To")?;
    if !scan::name_addr_ok(to) {
        check(to, |v| NameAddr::parse_in(v, v, "To").map(drop))?;
    }
    let call_id = header_at(headers, text, seen.call_id, "Call-ID")?;
    if !scan::call_id_ok(lex::trim_ws(call_id)) {
        return Err(err(
            ParseErrorKind::InvalidHeader("Call-ID"),
            "not word[@word]",
        ));
    }
    let cseq = header_at(headers, text, seen.cseq, "CSeq")?;
    let request_method = match start {
        Start::Request(method, _) => Some(method.as_str()),
        Start::Response(..) => None,
    };
    if !cseq_ok(cseq, request_method) {
        // Rare (an unusual form or a mismatch): a copy is fine here.
        let cseq = CSeq::parse(cseq)?;
        if let Start::Request(method, _) = start {
            if &cseq.method != method {
                return Err(err(
                    ParseErrorKind::InvalidHeader("CSeq"),
                    "CSeq method differs from the request method",
                ));
            }
        }
    }
    if seen.max_forwards.is_some() {
        let v = header_at(headers, text, seen.max_forwards, "Max-Forwards")?;
        // 1-3 digits up to 255 is what the typed parser accepts; it decides anything else.
        let b = v.as_bytes();
        let plain = (1..=3).contains(&b.len())
            && b.iter().all(u8::is_ascii_digit)
            && b.iter().fold(0u32, |n, &c| n * 10 + u32::from(c - b'0')) <= 255;
        if !plain {
            check(v, |v| typed::MaxForwards::parse_sip(v).map(drop))?;
        }
    }
    Ok(())
}

/// The plain CSeq `digits SP method` (a number below 2**31, the method a token equal to the
/// request's), in one pass. `false` sends the value to `CSeq::parse_sip`, which decides.
/// Comparing the method text is comparing the `Method`s: both come from `from_token`.
#[inline]
fn cseq_ok(v: &str, request_method: Option<&str>) -> bool {
    let b = v.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 10 || b.get(digits) != Some(&b' ') {
        return false;
    }
    let seq = b
        .iter()
        .take(digits)
        .fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'));
    if seq > u64::from(typed::MAX_CSEQ) {
        return false;
    }
    let method = v.get(digits + 1..).unwrap_or("");
    match request_method {
        Some(m) => method == m,
        None => lex::is_token_str(method),
    }
}

/// Finds one message at the start of a stream buffer (RFC 3261 §18.3: stream transports
/// must carry Content-Length). `Ok(None)` means "need more bytes"; an error means the
/// stream can no longer be split into messages.
pub fn frame(buf: &[u8]) -> Result<Option<Frame>, ParseError> {
    let skip = leading_crlf(buf);
    let rest = buf.get(skip..).unwrap_or_default();
    if rest.is_empty() {
        return Ok((skip > 0).then_some(Frame { skip, len: 0 }));
    }
    let (head_len, body_start) = match find_head_end(rest) {
        Some(v) => v,
        None if rest.len() > MAX_HEADER_BYTES => {
            return Err(err(ParseErrorKind::TooLarge, "header section"))
        }
        None => return Ok(None),
    };
    if head_len > MAX_HEADER_BYTES {
        return Err(err(ParseErrorKind::TooLarge, "header section"));
    }
    let head = rest.get(..head_len).unwrap_or_default();
    let mut content_length = None;
    for (name, value) in raw_headers(head) {
        if name.eq_ignore_ascii_case(b"Content-Length") || name.eq_ignore_ascii_case(b"l") {
            let n = parse_content_length(trim_bytes(&value))?;
            if content_length.is_some_and(|c| c != n) {
                return Err(err(
                    ParseErrorKind::ContentLength,
                    "two different Content-Length values",
                ));
            }
            content_length = Some(n);
        }
    }
    let n = content_length.ok_or_else(|| {
        err(
            ParseErrorKind::MissingHeader("Content-Length"),
            "stream message without Content-Length",
        )
    })?;
    let len = body_start + n;
    Ok((rest.len() >= len).then_some(Frame { skip, len }))
}

fn trim_bytes(v: &[u8]) -> &[u8] {
    let start = v.iter().position(|b| !lex::is_ws(*b)).unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !lex::is_ws(*b))
        .map_or(start, |e| e + 1);
    v.get(start..end).unwrap_or_default()
}

/// Lenient lexical scan of header lines (after the start line) for framing and salvage:
/// `(name, value)` with folded lines joined by a space; lines without a colon are skipped.
fn raw_headers(head: &[u8]) -> Vec<(&[u8], Vec<u8>)> {
    let mut out: Vec<(&[u8], Vec<u8>)> = Vec::new();
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.first().is_some_and(|b| lex::is_ws(*b)) {
            if let Some((_, v)) = out.last_mut() {
                v.push(b' ');
                v.extend_from_slice(trim_bytes(line));
            }
            continue;
        }
        if let Some(colon) = memchr::memchr(b':', line) {
            let (name, value) = line.split_at(colon);
            out.push((
                trim_bytes(name),
                trim_bytes(value.get(1..).unwrap_or_default()).to_vec(),
            ));
        }
    }
    out
}

/// A `400 <reason>` for a request datagram that failed to parse (RFC 3261 §8.2.6), built
/// from its Via, From, To, Call-ID and CSeq found lexically. `None` when those cannot be
/// found, or when the datagram is a response or an ACK (neither is ever answered).
///
/// When the To has no tag we add one derived from the request (stable across
/// retransmissions, as a stateless answer must be).
pub fn bad_request(bytes: &[u8], reason: &str) -> Option<Response> {
    let bytes = bytes.get(leading_crlf(bytes)..)?;
    let head_end = find_head_end(bytes).map_or(bytes.len(), |(h, _)| h);
    let head = bytes.get(..head_end)?;
    let first_line = head.split(|&b| b == b'\n').next()?;
    let method = first_line.split(|&b| b == b' ').next()?;
    if method.is_empty() || !method.iter().all(|&b| lex::is_token(b)) || method == b"ACK" {
        return None;
    }
    if method.len() >= 4
        && method
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
    {
        return None;
    }
    let (mut vias, mut from, mut to, mut call_id, mut cseq) = (Vec::new(), None, None, None, None);
    for (name, value) in raw_headers(head) {
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        let Ok(value) = String::from_utf8(value) else {
            continue;
        };
        if value.is_empty() {
            continue;
        }
        match HeaderName::from_name(name) {
            HeaderName::Via => vias.push(value),
            HeaderName::From if from.is_none() => from = Some(value),
            HeaderName::To if to.is_none() => to = Some(value),
            HeaderName::CallId if call_id.is_none() => call_id = Some(value),
            HeaderName::CSeq if cseq.is_none() => cseq = Some(value),
            _ => {}
        }
    }
    let (from, mut to, call_id, cseq) = (from?, to?, call_id?, cseq?);
    if vias.is_empty() || cseq.split_whitespace().nth(1) == Some("ACK") {
        return None;
    }
    if !has_tag(&to) {
        let tag = stable_tag(&[&call_id, &from, &cseq]);
        to.push_str(";tag=");
        to.push_str(&tag);
    }
    let mut headers = Headers::with_capacity(vias.len() + 5);
    for v in vias {
        headers.push(HeaderName::Via, v);
    }
    headers.push(HeaderName::From, from);
    headers.push(HeaderName::To, to);
    headers.push(HeaderName::CallId, call_id);
    headers.push(HeaderName::CSeq, cseq);
    headers.push(HeaderName::ContentLength, "0");
    let reason: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let reason = if reason.trim().is_empty() {
        "Bad Request".to_string()
    } else {
        reason
    };
    Some(Response {
        status: 400,
        reason: SipStr::from(reason),
        headers,
        body: Bytes::new(),
    })
}

/// Whether a To/From value carries a `tag` header parameter (lexically: after the `>` of a
/// name-addr, or anywhere in an addr-spec).
fn has_tag(value: &str) -> bool {
    let params = match value.rfind('>') {
        Some(i) => &value[i..],
        None => value,
    };
    params.split(';').skip(1).any(|p| {
        p.split('=')
            .next()
            .is_some_and(|n| lex::trim_ws(n).eq_ignore_ascii_case("tag"))
    })
}

/// FNV-1a of the parts, as 16 hex digits.
fn stable_tag(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests;
