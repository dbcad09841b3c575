//! Fast scanners for `Message::parse`: the line-end search, and recognisers that check the
//! eagerly validated headers (top Via, From, To) without building anything.
//!
//! Each recogniser accepts only a *subset* of what the typed parser accepts: the plain
//! forms nearly every message uses (no LWS inside, no quoted parameter values, no escapes,
//! no IPv6). Whatever it does not recognise goes to the typed parser, which decides and
//! gives the error. So a recogniser must be sound (`true` means the typed parser accepts
//! the same text) and need not be complete; `parse/tests.rs` checks soundness against the
//! typed parsers on the corpus and on mutations of it.

use super::{lex, HeaderName};

/// The index of the first CR or LF in `b` at or after `from`.
#[inline]
pub(crate) fn find_cr_lf(b: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline, and every load reads the 16 bytes
        // `b[i..i + 16]`, which the loop condition keeps inside `b`.
        unsafe {
            let cr = _mm_set1_epi8(b'\r' as i8);
            let lf = _mm_set1_epi8(b'\n' as i8);
            while i + 16 <= b.len() {
                let v = _mm_loadu_si128(b.as_ptr().add(i).cast::<__m128i>());
                let hits = _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf));
                let mask = _mm_movemask_epi8(hits);
                if mask != 0 {
                    return Some(i + mask.trailing_zeros() as usize);
                }
                i += 16;
            }
        }
    }
    while let Some(&c) = b.get(i) {
        if c == b'\r' || c == b'\n' {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Finds the empty line ending a header section: (header bytes including the last
/// header's line end, offset where the body starts); bare LF line ends are accepted. Looks
/// at every LF, 16 bytes at a time.
#[inline]
pub(crate) fn find_head_end(buf: &[u8]) -> Option<(usize, usize)> {
    let at = |j: usize| match buf.get(j + 1..) {
        Some([b'\n', ..]) => Some((j + 1, j + 2)),
        Some([b'\r', b'\n', ..]) => Some((j + 1, j + 3)),
        _ => None,
    };
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        while i + 16 <= buf.len() {
            // SAFETY: SSE2 is part of the x86_64 baseline, and the load reads
            // `buf[i..i + 16]`, inside `buf` by the loop condition.
            let mut mask = unsafe {
                let v = _mm_loadu_si128(buf.as_ptr().add(i).cast::<__m128i>());
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8))) as u32
            };
            while mask != 0 {
                if let Some(end) = at(i + mask.trailing_zeros() as usize) {
                    return Some(end);
                }
                mask &= mask - 1;
            }
            i += 16;
        }
    }
    while i < buf.len() {
        if buf.get(i) == Some(&b'\n') {
            if let Some(end) = at(i) {
                return Some(end);
            }
        }
        i += 1;
    }
    None
}

/// [`find_head_end`] that also tells whether the header section (`buf[..head_len]`) is
/// all ASCII, in the same pass over it.
#[inline]
pub(crate) fn find_head_end_ascii(buf: &[u8]) -> Option<(usize, usize, bool)> {
    let at = |j: usize| match buf.get(j + 1..) {
        Some([b'\n', ..]) => Some((j + 1, j + 2)),
        Some([b'\r', b'\n', ..]) => Some((j + 1, j + 3)),
        _ => None,
    };
    let mut i = 0;
    // Whether the bytes before `i` are ASCII (set by the vector loop where there is one).
    #[allow(unused_mut, unused_assignments)]
    let mut ascii = true;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8, _mm_setzero_si128,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline, and each load reads
        // `buf[i..i + 16]`, inside `buf` by the loop condition.
        unsafe {
            let mut high = _mm_setzero_si128();
            while i + 16 <= buf.len() {
                let v = _mm_loadu_si128(buf.as_ptr().add(i).cast::<__m128i>());
                let mut mask =
                    _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8))) as u32;
                while mask != 0 {
                    if let Some((head, body)) = at(i + mask.trailing_zeros() as usize) {
                        // Only the bytes of this block before `head` count.
                        let before = (1u32 << (head - i)) - 1;
                        let ok = _mm_movemask_epi8(high) == 0
                            && (_mm_movemask_epi8(v) as u32) & before == 0;
                        return Some((head, body, ok));
                    }
                    mask &= mask - 1;
                }
                high = _mm_or_si128(high, v);
                i += 16;
            }
            ascii = _mm_movemask_epi8(high) == 0;
        }
    }
    let tail = i;
    while i < buf.len() {
        if buf.get(i) == Some(&b'\n') {
            if let Some((head, body)) = at(i) {
                let ok = ascii && buf.get(tail..head).is_some_and(|t| t.is_ascii());
                return Some((head, body, ok));
            }
        }
        i += 1;
    }
    None
}

/// A byte class for the recognisers: one table lookup tells which of the plain-form
/// character sets a byte belongs to.
pub(crate) const TOKEN: u8 = 1; // RFC 3261 token
pub(crate) const HOST: u8 = 2; // domain-name or IPv4 characters: alphanumerics, `-`, `.`, `_`
pub(crate) const USER: u8 = 4; // unescaped `user` characters
pub(crate) const UPARAM: u8 = 8; // unescaped URI `paramchar`
pub(crate) const HVAL: u8 = 16; // unquoted header parameter value: token, `[`, `]`, `:`

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let alnum = b.is_ascii_alphanumeric();
        let token = alnum
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        let mut c = 0;
        if token {
            c |= TOKEN | HVAL;
        }
        if matches!(b, b'[' | b']' | b':') {
            c |= HVAL;
        }
        if alnum || matches!(b, b'-' | b'.' | b'_') {
            c |= HOST;
        }
        // The unescaped sets of `lex` (USER, PARAM) without `%`: an escape goes to the
        // typed parser.
        if alnum
            || matches!(
                b,
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
            )
        {
            c |= USER | UPARAM;
        }
        if matches!(b, b'&' | b'=' | b'+' | b'$' | b',' | b';' | b'?' | b'/') {
            c |= USER;
        }
        if matches!(b, b'[' | b']' | b'/' | b':' | b'&' | b'+' | b'$') {
            c |= UPARAM;
        }
        t[i] = c;
        i += 1;
    }
    t
};

#[inline(always)]
pub(crate) fn is(b: u8, class: u8) -> bool {
    CLASS[b as usize] & class != 0
}

/// The end of the run of `class` bytes starting at `i` (`i` itself when `i` is past the
/// end).
#[inline(always)]
pub(crate) fn run(b: &[u8], i: usize, class: u8) -> usize {
    let i = plain_prefix(b, i);
    match b.get(i..) {
        Some(rest) => {
            i + rest
                .iter()
                .position(|&c| !is(c, class))
                .unwrap_or(rest.len())
        }
        None => i,
    }
}

/// Skips the bytes at `i` that belong to every class of the recognisers (letters, digits,
/// `-`, `.`, `_`), 16 at a time while 16 are left; the caller goes on byte by byte.
#[inline(always)]
fn plain_prefix(b: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_add_epi8, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128,
            _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        };
        while i + 16 <= b.len() {
            // SAFETY: SSE2 is part of the x86_64 baseline, and the load reads
            // `b[i..i + 16]`, inside `b` by the loop condition.
            let ok = unsafe {
                let v = _mm_loadu_si128(b.as_ptr().add(i).cast::<__m128i>());
                // Shifting a range to start at -128 makes "in range" one signed compare.
                let in_range = |x: __m128i, lo: u8, n: u8| {
                    let shifted = _mm_add_epi8(x, _mm_set1_epi8(0x80u8.wrapping_sub(lo) as i8));
                    _mm_cmplt_epi8(shifted, _mm_set1_epi8((0x80u8.wrapping_add(n)) as i8))
                };
                let letter = in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), b'a', 26);
                let digit = in_range(v, b'0', 10);
                let punct = _mm_or_si128(
                    _mm_or_si128(
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b'-' as i8)),
                        _mm_cmpeq_epi8(v, _mm_set1_epi8(b'.' as i8)),
                    ),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'_' as i8)),
                );
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), punct)) as u32
            };
            if ok != 0xffff {
                return i + (!ok).trailing_zeros() as usize;
            }
            i += 16;
        }
    }
    i
}

/// A dotted-quad IPv4 address as `Ipv4Addr`'s parser accepts it: four parts of one to
/// three digits, each at most 255, without leading zeros. `s` holds only digits and dots.
#[inline]
pub(crate) fn parse_ipv4(s: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let (mut part, mut digits, mut value) = (0usize, 0, 0u32);
    let mut leading_zero = false;
    for &c in s {
        if c == b'.' {
            if digits == 0 || part >= 3 {
                return None;
            }
            part += 1;
            digits = 0;
            value = 0;
            continue;
        }
        if digits == 0 {
            leading_zero = c == b'0';
        } else if leading_zero {
            return None;
        }
        digits += 1;
        value = value * 10 + u32::from(c.wrapping_sub(b'0'));
        if digits > 3 || value > 255 || !c.is_ascii_digit() {
            return None;
        }
        *out.get_mut(part)? = value as u8;
    }
    (digits > 0 && part == 3).then_some(out)
}

fn ipv4_ok(s: &[u8]) -> bool {
    parse_ipv4(s).is_some()
}

/// A plain host (domain name or IPv4 address) as `Host::parse_in` accepts it.
#[inline]
fn host_ok(h: &[u8]) -> bool {
    // The caller scanned `h` as a run of HOST bytes.
    match h.first() {
        None | Some(b'.' | b'-') => false,
        Some(b'0'..=b'9') if h.iter().all(|&c| c.is_ascii_digit() || c == b'.') => ipv4_ok(h),
        Some(_) => true,
    }
}

/// A dotted-quad IPv4 address at `i` that is a whole run of HOST bytes (the next byte is
/// none of them), parsed in the same pass: its octets and the index after it. `None` for
/// anything else, which [`host_ok`] then decides on the whole run.
#[inline]
pub(crate) fn ipv4_at(b: &[u8], i: usize) -> Option<([u8; 4], usize)> {
    // The digit at `j`, if there is one.
    let digit = |j: usize| {
        b.get(j)
            .map(|c| c.wrapping_sub(b'0'))
            .filter(|d| *d <= 9)
            .map(u32::from)
    };
    let mut out = [0u8; 4];
    let mut j = i;
    for (part, octet) in out.iter_mut().enumerate() {
        if part > 0 {
            if b.get(j) != Some(&b'.') {
                return None;
            }
            j += 1;
        }
        // One to three digits, no leading zero, at most 255 (as `Ipv4Addr` parses).
        let first = digit(j)?;
        let mut value = first;
        j += 1;
        if let Some(d) = digit(j) {
            if first == 0 {
                return None;
            }
            value = value * 10 + d;
            j += 1;
            if let Some(d) = digit(j) {
                value = value * 10 + d;
                j += 1;
                if digit(j).is_some() || value > 255 {
                    return None;
                }
            }
        }
        *octet = value as u8;
    }
    match b.get(j) {
        Some(&c) if is(c, HOST) => None,
        _ => Some((out, j)),
    }
}

/// `host [":" port]` at `i` (host a run of HOST bytes, port one to five digits up to
/// 65535); returns the index after it.
#[inline]
fn host_port(b: &[u8], i: usize) -> Option<usize> {
    // An IPv4 address is checked in one pass; anything else is a HOST run `host_ok` judges.
    let end = match ipv4_at(b, i) {
        Some((_, end)) => end,
        None => {
            let end = run(b, i, HOST);
            if !host_ok(b.get(i..end)?) {
                return None;
            }
            end
        }
    };
    if b.get(end) != Some(&b':') {
        return Some(end);
    }
    let (mut j, mut port) = (end + 1, 0u32);
    while let Some(&c) = b.get(j) {
        if !c.is_ascii_digit() {
            break;
        }
        port = port * 10 + u32::from(c - b'0');
        j += 1;
        if j - end > 6 {
            return None;
        }
    }
    (j > end + 1 && port <= 65535).then_some(j)
}

/// Header parameters from `i` to the end: `*( ";" token [ "=" hval ] )` with no LWS and no
/// quoted values (a subset of `Params::parse_header`).
// Not `params`: running to the end lets the loop index without bounds checks, and this is
// on every message's parse path (From, To, the top Via).
#[inline]
fn header_params_to_end(b: &[u8], mut i: usize) -> bool {
    while i < b.len() {
        if b[i] != b';' {
            return false;
        }
        let name_end = run(b, i + 1, TOKEN);
        if name_end == i + 1 {
            return false;
        }
        i = name_end;
        if b.get(i) == Some(&b'=') {
            let v_end = run(b, i + 1, HVAL);
            if v_end == i + 1 {
                return false;
            }
            i = v_end;
        }
    }
    true
}

/// A plain top Via as `Via::parse_sip` (after `split_list`) accepts it:
/// `SIP/2.0/transport SP host[:port] *(;name[=value])`, the whole value one element.
#[inline]
pub(crate) fn via_ok(v: &str) -> bool {
    let b = v.as_bytes();
    if !b.starts_with(b"SIP/2.0/") {
        return false;
    }
    let t_end = run(b, 8, TOKEN);
    if t_end == 8 || b.get(t_end) != Some(&b' ') {
        return false;
    }
    match host_port(b, t_end + 1) {
        Some(i) => header_params_to_end(b, i),
        None => false,
    }
}

/// URI parameters from `i` up to the first byte that is none of theirs:
/// `*( ";" pname [ "=" pvalue ] )` without escapes; returns that index. Shared by the
/// plain-URI check here and `SipUri::parse_plain`.
#[inline]
pub(crate) fn uri_params(b: &[u8], mut i: usize) -> Option<usize> {
    while b.get(i) == Some(&b';') {
        let name_end = run(b, i + 1, UPARAM);
        if name_end == i + 1 {
            return None;
        }
        i = name_end;
        if b.get(i) == Some(&b'=') {
            let v_end = run(b, i + 1, UPARAM);
            if v_end == i + 1 {
                return None;
            }
            i = v_end;
        }
    }
    Some(i)
}

/// A plain sip:/sips: URI starting at `i` and ending at the first `>` (which must follow):
/// `sip[s]:[user@]host[:port]*(;param)`, no password, escapes or URI headers. Returns the
/// index of the `>`.
#[inline]
fn sip_uri_to_angle(b: &[u8], i: usize) -> Option<usize> {
    let rest = b.get(i..)?;
    let mut j = if rest.starts_with(b"sip:") {
        i + 4
    } else if rest.starts_with(b"sips:") {
        i + 5
    } else {
        return None;
    };
    // `SipUri::parse_rest` takes everything before the first `@` as the userinfo. A user
    // run ending at `@` is that; a user run ending elsewhere means no `@` in a plain URI
    // (the host, port and parameter characters exclude `@`).
    let user_end = run(b, j, USER);
    if b.get(user_end) == Some(&b'@') {
        if user_end == j {
            return None;
        }
        j = user_end + 1;
    }
    let j = host_port(b, j)?;
    let j = uri_params(b, j)?;
    (b.get(j) == Some(&b'>')).then_some(j)
}

/// A plain From/To/Contact value as `NameAddr::parse_in` accepts it: an optional display
/// name (tokens and spaces, or a quoted string without escapes), `<` a plain sip URI `>`,
/// then plain header parameters.
#[inline]
pub(crate) fn name_addr_ok(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'"') {
        i = 1;
        loop {
            match b.get(i) {
                Some(b'"') => break,
                Some(b'\\') | None => return false,
                Some(_) => i += 1,
            }
        }
        i += 1;
        while b.get(i).is_some_and(|&c| lex::is_ws(c)) {
            i += 1;
        }
    } else {
        while b.get(i).is_some_and(|&c| is(c, TOKEN) || lex::is_ws(c)) {
            i += 1;
        }
    }
    if b.get(i) != Some(&b'<') {
        return false;
    }
    match sip_uri_to_angle(b, i + 1) {
        Some(close) => header_params_to_end(b, close + 1),
        None => false,
    }
}

/// Whether `s` is a Call-ID (`word [ "@" word ]`), in one pass: the same as
/// `typed::call_id_is_valid`.
#[inline]
pub(crate) fn call_id_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut at = None;
    // Letters, digits, `-`, `.` and `_` are word characters: skipped 16 at a time.
    let mut i = plain_prefix(b, 0);
    while let Some(&c) = b.get(i) {
        if c == b'@' {
            if at.is_some() {
                return false;
            }
            at = Some(i);
            i = plain_prefix(b, i + 1);
            continue;
        } else if !lex::is_word(c) {
            return false;
        }
        i += 1;
    }
    match at {
        None => !b.is_empty(),
        Some(i) => i > 0 && i + 1 < b.len(),
    }
}

/// The offset from `pos` of a `:` that comes before any CR or LF, looking at the 17 bytes
/// from `pos` (16 at once); `None` when there is none or fewer bytes are left.
#[inline]
fn colon_offset(b: &[u8], pos: usize) -> Option<usize> {
    let window = b.get(pos..pos + 17)?;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86_64 baseline, and the load reads the first 16 of
        // the 17 bytes of `window`.
        let (colons, stops) = unsafe {
            let v = _mm_loadu_si128(window.as_ptr().cast::<__m128i>());
            let colons = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b':' as i8)));
            let stops = _mm_movemask_epi8(_mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\r' as i8)),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\n' as i8)),
            ));
            (colons as u32 | 1 << 16, stops as u32 | 1 << 16)
        };
        let colon = colons.trailing_zeros() as usize;
        if colon == 16 && window.get(16) != Some(&b':') {
            return None;
        }
        (colon < stops.trailing_zeros() as usize || stops == 1 << 16).then_some(colon)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let i = window
            .iter()
            .position(|&c| matches!(c, b':' | b'\r' | b'\n'))?;
        (window.get(i) == Some(&b':')).then_some(i)
    }
}

/// A known header name at `pos` followed directly by `:`: `(name, length)`. `None` for
/// anything else (unknown names, LWS before the colon, no colon on the line, fewer than 17
/// bytes left), which the caller scans byte by byte.
///
/// It needs no token check per byte: a known name's case-folded key holds only letters and
/// `-`, and the only other byte that folds onto one of those is CR (onto `-`), which cannot
/// come before the colon.
#[inline]
pub(crate) fn known_name(b: &[u8], pos: usize) -> Option<(HeaderName, usize)> {
    let len = colon_offset(b, pos)?;
    if len == 0 {
        return None;
    }
    let key = NameKey::read(b, pos, len)?;
    Some((super::headers::from_key(len, key)?, len))
}

/// Case-folded key of a header name of at most 16 bytes, for matching known names with
/// two integer compares. Only valid for token characters, where OR-ing 0x20 folds exactly
/// the letters (no two other token characters differ only in that bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameKey(pub u64, pub u64);

impl NameKey {
    /// The key of a known spelling (at most 16 bytes).
    pub(crate) const fn of(s: &str) -> NameKey {
        let b = s.as_bytes();
        let (mut k0, mut k1, mut i) = (0u64, 0u64, 0);
        while i < b.len() {
            let c = (b[i] | 0x20) as u64;
            if i < 8 {
                k0 |= c << (8 * i);
            } else {
                k1 |= c << (8 * (i - 8));
            }
            i += 1;
        }
        NameKey(k0, k1)
    }

    /// The key of `buf[start..start + len]` (`len` at most 16, all token bytes), reading
    /// 16 bytes from `start`: `None` when the buffer ends before that.
    #[inline(always)]
    pub(crate) fn read(buf: &[u8], start: usize, len: usize) -> Option<NameKey> {
        let w = buf.get(start..start + 16)?;
        let w0 = u64::from_le_bytes(w[..8].try_into().ok()?);
        let w1 = u64::from_le_bytes(w[8..].try_into().ok()?);
        let (m0, m1) = *KEY_MASKS.get(len)?;
        const LOWER: u64 = 0x2020_2020_2020_2020;
        Some(NameKey((w0 | LOWER) & m0, (w1 | LOWER) & m1))
    }
}

/// The low `n` bytes of a `u64` set.
const fn low_bytes(n: usize) -> u64 {
    match n {
        0 => 0,
        1..=7 => (1u64 << (8 * n)) - 1,
        _ => u64::MAX,
    }
}

/// For a name of `len` bytes (index), the masks keeping its bytes in the two key words.
static KEY_MASKS: [(u64, u64); 17] = {
    let mut t = [(0, 0); 17];
    let mut n = 0;
    while n < 17 {
        t[n] = (low_bytes(n), low_bytes(n.saturating_sub(8)));
        n += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends() {
        let s = b"0123456789abcdefghij\r\nxyz";
        assert_eq!(find_cr_lf(s, 0), Some(20));
        assert_eq!(find_cr_lf(s, 21), Some(21));
        assert_eq!(find_cr_lf(s, 22), None);
        let long = [b'a'; 100];
        assert_eq!(find_cr_lf(&long, 0), None);
        for at in 0..40 {
            let mut v = vec![b'x'; 40];
            v[at] = b'\n';
            assert_eq!(find_cr_lf(&v, 0), Some(at));
        }
    }

    #[test]
    fn head_end() {
        type Case = (&'static [u8], Option<(usize, usize)>);
        let cases: [Case; 6] = [
            (b"A\r\nB: c\r\n\r\nbody", Some((9, 11))),
            (b"A\nB: c\n\nbody", Some((7, 8))),
            (b"A\nB: c\n\r\nbody", Some((7, 9))),
            (b"A\r\nB: c\r\n", None),
            (b"", None),
            (
                b"0123456789abcdef0123456789abcdef: xyz\r\n\r\n",
                Some((39, 41)),
            ),
        ];
        for (buf, want) in cases {
            assert_eq!(
                find_head_end(buf),
                want,
                "{:?}",
                String::from_utf8_lossy(buf)
            );
        }
    }

    #[test]
    fn head_end_and_ascii_in_one_pass() {
        // Every length and every position of a non-ASCII byte, before and after the head
        // end: the flag covers the header section only.
        for len in 0..70 {
            let mut v = vec![b'a'; len];
            v.extend_from_slice(b"\r\n\r\nbody\xff");
            let want = find_head_end(&v).map(|(h, b)| (h, b, true));
            assert_eq!(find_head_end_ascii(&v), want, "{len}");
            for at in 0..v.len() {
                let keep = v[at];
                v[at] = 0x80;
                let got = find_head_end_ascii(&v);
                let want = find_head_end(&v).map(|(h, b)| (h, b, v[..h].is_ascii()));
                assert_eq!(got, want, "{len} {at}");
                v[at] = keep;
            }
        }
        assert_eq!(find_head_end_ascii(b"A\r\nB: c\r\n"), None);
    }

    #[test]
    fn runs_agree_with_the_byte_table() {
        // Every byte value at every position of a 40-byte run, for every class.
        for class in [TOKEN, HOST, USER, UPARAM, HVAL] {
            for at in 0..40 {
                for c in 0..=255u8 {
                    let mut v = vec![b'a'; 40];
                    v[at] = c;
                    for start in [0, 3, at] {
                        let want = start
                            + v[start..]
                                .iter()
                                .position(|&x| !is(x, class))
                                .unwrap_or(v.len() - start);
                        assert_eq!(run(&v, start, class), want, "{class} {at} {c} {start}");
                    }
                }
            }
        }
        let mixed = b"z9hG4bK0b2f.9a1c3e2e-4c1e_1e7b2f9d9c1bXYZ;x";
        assert_eq!(run(mixed, 0, TOKEN), mixed.len() - 2);
        assert_eq!(run(mixed, 50, TOKEN), 50);
    }

    #[test]
    fn ipv4_in_one_pass_agrees_with_the_run() {
        let cases = [
            "1.2.3.4",
            "10.0.0.10:5060",
            "255.255.255.255;x",
            "0.0.0.0>",
            "1.2.3.4.5",
            "1.2.3",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3.04",
            "1..2.3",
            "1.2.3.4a",
            "1.2.3.4-",
            "1234.example.com",
            "1.2.3.4_",
            "9",
            "",
            "192.168.1.20:5060;rport",
        ];
        // Every string of up to six bytes over digits, `.`, a port colon and a letter, alone
        // and after one or two octets.
        const ALPHABET: &[u8] = b"01259.:a";
        let mut generated = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..6 {
            last = last
                .iter()
                .flat_map(|p| ALPHABET.iter().map(move |&c| format!("{p}{}", c as char)))
                .collect();
            generated.extend(last.iter().cloned());
        }
        let prefixed = generated
            .iter()
            .flat_map(|g| [g.clone(), format!("1.{g}"), format!("25.100.{g}")]);
        for c in cases.iter().map(|c| c.to_string()).chain(prefixed) {
            let c = c.as_str();
            let b = c.as_bytes();
            let end = run(b, 0, HOST);
            let old =
                host_ok(&b[..end]) && b[..end].iter().all(|&x| x.is_ascii_digit() || x == b'.');
            match ipv4_at(b, 0) {
                Some((octets, e)) => {
                    assert!(old, "{c}");
                    assert_eq!(e, end, "{c}");
                    assert_eq!(Some(octets), parse_ipv4(&b[..end]), "{c}");
                }
                None => assert!(!old, "{c}"),
            }
        }
    }

    #[test]
    fn ipv4() {
        for ok in ["1.2.3.4", "255.255.255.255", "0.0.0.0", "10.0.0.10"] {
            assert!(ipv4_ok(ok.as_bytes()), "{ok}");
            assert!(ok.parse::<std::net::Ipv4Addr>().is_ok());
        }
        for bad in [
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "01.2.3.4",
            "1..2.3",
            "1.2.3.",
            ".1.2.3",
        ] {
            assert!(!ipv4_ok(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn name_keys() {
        let buf = b"content-LENGTH: 12\r\n\r\n";
        assert_eq!(
            NameKey::read(buf, 0, 14),
            Some(NameKey::of("Content-Length"))
        );
        assert_eq!(
            NameKey::read(b"Via: x\r\n\r\n12345678", 0, 3),
            Some(NameKey::of("VIA"))
        );
        assert_eq!(NameKey::read(b"Via: x", 0, 3), None);
    }
}
