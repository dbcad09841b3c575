//! Character classes and small scanners shared by the URI and header parsers
//! (RFC 3261 §25.1). Everything here works on ASCII delimiters, so every index it returns
//! is a `char` boundary of the UTF-8 text it scanned.

use std::borrow::Cow;

/// `token` characters (RFC 3261 §25.1), as a table: the parser tests every byte of every
/// header name and of many values.
static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    t
};

/// `token` characters (RFC 3261 §25.1).
#[inline(always)]
pub(crate) fn is_token(b: u8) -> bool {
    TOKEN[b as usize]
}

/// A character class as a table: ASCII letters and digits (when `alnum`), plus `extra`.
const fn class(alnum: bool, extra: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = alnum && (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    let mut j = 0;
    while j < extra.len() {
        t[extra[j] as usize] = true;
        j += 1;
    }
    t
}

// `unreserved` (alphanumerics and the marks `-_.!~*'()`) plus each class's own extras.
static USER: [bool; 256] = class(true, b"-_.!~*'()&=+$,;?/");
static PASSWORD: [bool; 256] = class(true, b"-_.!~*'()&=+$,");
static PARAM: [bool; 256] = class(true, b"-_.!~*'()[]/:&+$");
static URI_HEADER: [bool; 256] = class(true, b"-_.!~*'()[]/?:+$=&");
static WORD: [bool; 256] = class(true, b"-.!%*_+`'~()<>:\\\"/[]?{}");

/// `word` characters (Call-ID): token characters plus a few separators.
#[inline(always)]
pub(crate) fn is_word(b: u8) -> bool {
    WORD[b as usize]
}

/// Characters a `user` may carry unescaped.
#[inline(always)]
pub(crate) fn is_user_char(b: u8) -> bool {
    USER[b as usize]
}

/// Characters a `password` may carry unescaped.
#[inline(always)]
pub(crate) fn is_password_char(b: u8) -> bool {
    PASSWORD[b as usize]
}

/// `paramchar` without the escape: characters a URI parameter name or value may carry.
#[inline(always)]
pub(crate) fn is_param_char(b: u8) -> bool {
    PARAM[b as usize]
}

/// `hnv-unreserved` / `hname` characters of URI headers, plus the `=` and `&` separators.
#[inline(always)]
pub(crate) fn is_uri_header_char(b: u8) -> bool {
    URI_HEADER[b as usize]
}

#[inline]
pub(crate) fn is_token_str(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token)
}

#[inline(always)]
pub(crate) fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

#[inline]
pub(crate) fn trim_ws(s: &str) -> &str {
    let b = s.as_bytes();
    let (mut start, mut end) = (0, b.len());
    while start < end && is_ws(b[start]) {
        start += 1;
    }
    while end > start && is_ws(b[end - 1]) {
        end -= 1;
    }
    // Both ends sit next to ASCII bytes, so they are char boundaries.
    s.get(start..end).unwrap_or("")
}

#[inline]
pub(crate) fn trim_ws_start(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

/// Whether `s` is made of `allowed` characters and well-formed `%HH` escapes.
#[inline]
pub(crate) fn is_escaped_text(s: &str, allowed: impl Fn(u8) -> bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
                {
                    return false;
                }
                i += 3;
            }
            c if allowed(c) => i += 1,
            _ => return false,
        }
    }
    true
}

#[inline]
fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Decodes `%HH` escapes. `None` for a malformed escape or a result that is not UTF-8.
pub(crate) fn unescape(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('%') {
        return Some(Cow::Borrowed(s));
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = *b.get(i + 1).filter(|c| c.is_ascii_hexdigit())?;
            let lo = *b.get(i + 2).filter(|c| c.is_ascii_hexdigit())?;
            out.push(hex_val(hi) << 4 | hex_val(lo));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// Appends `s`, escaping every byte that `allowed` rejects as `%HH`.
pub(crate) fn escape_into(out: &mut String, s: &str, allowed: impl Fn(u8) -> bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if allowed(b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// Appends a URI parameter or header text kept as written: existing `%HH` escapes stay,
/// any other character outside `allowed` is escaped (so a hand-built value cannot break the
/// URI).
pub(crate) fn escape_raw_into(out: &mut String, s: &str, allowed: impl Fn(u8) -> bool + Copy) {
    if is_escaped_text(s, allowed) {
        out.push_str(s);
    } else {
        escape_into(out, s, |b| b == b'%' || allowed(b));
    }
}

/// Length of the quoted string at the start of `s` (which must start with `"`), closing
/// quote included; `None` when it never ends.
#[inline]
pub(crate) fn quoted_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The content of a quoted string (quotes already removed) with `\x` escapes resolved.
pub(crate) fn unquote(content: &str) -> Cow<'_, str> {
    if !content.contains('\\') {
        return Cow::Borrowed(content);
    }
    let mut out = String::with_capacity(content.len());
    let mut chars = content.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Appends `s` as a quoted string: `"` and `\` and control characters are escaped as
/// quoted-pairs; CR and LF, which no quoted-pair can carry, become spaces.
pub(crate) fn quote_into(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_ascii_control() && c != '\t' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The index of the first `c` in `s`. A plain loop: the strings searched here are a few
/// dozen bytes, where calling out to a vectorised search costs more than it saves.
#[inline]
pub(crate) fn find_byte(s: &str, c: u8) -> Option<usize> {
    s.bytes().position(|b| b == c)
}

/// `s` split around its first `c` (which is dropped).
#[inline]
pub(crate) fn split_byte(s: &str, c: u8) -> Option<(&str, &str)> {
    let i = find_byte(s, c)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// Splits off the leading run of bytes matching `pred`.
#[inline]
pub(crate) fn take_while(s: &str, pred: impl Fn(u8) -> bool) -> (&str, &str) {
    let n = s.bytes().position(|b| !pred(b)).unwrap_or(s.len());
    s.split_at(n)
}

/// Parses a decimal number made only of digits (no sign, no spaces).
#[inline]
pub(crate) fn parse_digits<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        assert_eq!(unescape("a%40b").unwrap(), "a@b");
        assert_eq!(unescape("%00").unwrap(), "\0");
        assert!(unescape("%4").is_none());
        assert!(unescape("%FF").is_none());
        let mut s = String::new();
        escape_into(&mut s, "a@b c", is_user_char);
        assert_eq!(s, "a%40b%20c");
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(quoted_len(r#""a\"b" rest"#), Some(6));
        assert_eq!(quoted_len(r#""open"#), None);
        assert_eq!(quoted_len(r#""ends in \"#), None);
        assert_eq!(unquote(r#"a\"b\\"#), "a\"b\\");
        let mut s = String::new();
        quote_into(&mut s, "a\"b\u{7}\r");
        assert_eq!(s, "\"a\\\"b\\\u{7} \"");
    }
}
