//! Generic `;name=value` parameters of URIs and headers, in order.

use super::{lex, SipStr};

/// Parameters in their original order. Names compare case-insensitively; a parameter
/// without `=` has value `None`. Values are kept as written (quotes included for quoted
/// strings, escapes undecoded for URI parameters) so printing is faithful.
#[derive(Clone, Default)]
pub struct Params(Repr);

/// A parsed Request-URI's plain parameters stay one slice of the datagram (no list to
/// allocate); anything else, and any edit, is a list.
#[derive(Clone)]
enum Repr {
    List(Vec<(SipStr, Option<SipStr>)>),
    /// `;name[=value]...` with no `;` or `=` inside a name or value and no empty name or
    /// value (checked by the one constructor, [`Params::plain_uri`]).
    Plain(SipStr),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::List(Vec::new())
    }
}

/// The parameters of a [`Repr::Plain`] text, in order.
fn plain_iter(s: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    s.split(';').skip(1).map(|p| match p.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (p, None),
    })
}

/// Iterator over [`Params`].
pub struct ParamsIter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    List(std::slice::Iter<'a, (SipStr, Option<SipStr>)>),
    Plain(std::str::Split<'a, char>),
}

impl<'a> Iterator for ParamsIter<'a> {
    type Item = (&'a str, Option<&'a str>);
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::List(it) => it
                .next()
                .map(|(k, v)| (k.as_str(), v.as_ref().map(|v| v.as_str()))),
            IterRepr::Plain(it) => it.next().map(|p| match p.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (p, None),
            }),
        }
    }
}

impl PartialEq for Params {
    fn eq(&self, other: &Params) -> bool {
        self.iter().eq(other.iter())
    }
}
impl Eq for Params {}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Params {
    #[inline]
    /// No parameters.
    pub fn new() -> Self {
        Params(Repr::List(Vec::new()))
    }
    /// Every `(name, value)` in order; a flag has no value.
    pub fn iter(&self) -> ParamsIter<'_> {
        ParamsIter(match &self.0 {
            Repr::List(v) => IterRepr::List(v.iter()),
            Repr::Plain(s) => {
                let mut it = s.as_str().split(';');
                it.next(); // the empty text before the first `;`
                IterRepr::Plain(it)
            }
        })
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        match &self.0 {
            Repr::List(v) => v.is_empty(),
            Repr::Plain(s) => s.is_empty(),
        }
    }
    /// How many.
    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::List(v) => v.len(),
            Repr::Plain(s) => plain_iter(s).count(),
        }
    }
    /// `Some(Some(v))` for `name=v`, `Some(None)` for a bare `name`, `None` when absent.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }
    /// The value of `name=value`, `None` when absent or valueless.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).flatten()
    }
    /// Whether parameter `name` is present (case-insensitively).
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// Edits the list form (a plain text first becomes slices of it).
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<(SipStr, Option<SipStr>)>) -> R) -> R {
        let mut list = match std::mem::take(&mut self.0) {
            Repr::List(v) => v,
            Repr::Plain(s) => plain_iter(&s)
                .map(|(k, v)| (s.slice_ref(k), v.map(|v| s.slice_ref(v))))
                .collect(),
        };
        let r = f(&mut list);
        self.0 = Repr::List(list);
        r
    }
    /// Sets (replacing) a parameter.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let v = value.map(SipStr::from);
        self.edit(
            |list| match list.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
                Some(slot) => slot.1 = v,
                None => list.push((SipStr::from(name), v)),
            },
        )
    }
    #[inline]
    /// Appends a parameter.
    pub fn push(&mut self, name: SipStr, value: Option<SipStr>) {
        self.edit(|list| list.push((name, value)));
    }
    /// Removes every parameter `name` (case-insensitively).
    pub fn remove(&mut self, name: &str) {
        self.edit(|list| list.retain(|(k, _)| !k.eq_ignore_ascii_case(name)));
    }

    /// Plain URI parameters kept as one slice: `text` must be `;name[=value]...` where no
    /// name or value is empty or holds `;` or `=` (the caller has checked each character).
    #[inline]
    pub(crate) fn plain_uri(text: SipStr) -> Params {
        debug_assert!(text.is_empty() || text.starts_with(';'));
        Params(Repr::Plain(text))
    }
}

/// Why a parameter list did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadParams;

impl Params {
    /// Parses header parameters (`*( SEMI generic-param )`, RFC 3261 §25.1): LWS is allowed
    /// around `;` and `=`; a value is a token, a host (IPv6 references included) or a quoted
    /// string kept with its quotes. `s` must be empty/LWS or start (after LWS) with `;`.
    #[inline]
    pub(crate) fn parse_header(src: &SipStr, s: &str) -> Result<Params, BadParams> {
        let mut params = Vec::with_capacity(s.bytes().filter(|&b| b == b';').count());
        let mut rest = lex::trim_ws_start(s);
        while !rest.is_empty() {
            rest = lex::trim_ws_start(rest.strip_prefix(';').ok_or(BadParams)?);
            let (name, after) = lex::take_while(rest, lex::is_token);
            if name.is_empty() {
                return Err(BadParams);
            }
            rest = lex::trim_ws_start(after);
            let mut value = None;
            if let Some(v) = rest.strip_prefix('=') {
                let v = lex::trim_ws_start(v);
                let len = if v.starts_with('"') {
                    lex::quoted_len(v).ok_or(BadParams)?
                } else {
                    v.bytes()
                        .position(|b| !(lex::is_token(b) || matches!(b, b'[' | b']' | b':')))
                        .unwrap_or(v.len())
                };
                if len == 0 {
                    return Err(BadParams);
                }
                let (val, after) = v.split_at(len);
                value = Some(src.slice_ref(val));
                rest = lex::trim_ws_start(after);
            }
            params.push((src.slice_ref(name), value));
        }
        Ok(Params(Repr::List(params)))
    }

    /// Parses URI parameters (`*( ";" pname [ "=" pvalue ] )`, no LWS). `s` is empty or
    /// starts with `;`; values keep their `%HH` escapes.
    #[inline]
    pub(crate) fn parse_uri(src: &SipStr, s: &str) -> Result<Params, BadParams> {
        if s.is_empty() {
            return Ok(Params::new());
        }
        let body = s.strip_prefix(';').ok_or(BadParams)?;
        let mut params = Vec::new();
        for item in body.split(';') {
            let (name, value) = match lex::split_byte(item, b'=') {
                Some((n, v)) => (n, Some(v)),
                None => (item, None),
            };
            if name.is_empty() || !lex::is_escaped_text(name, lex::is_param_char) {
                return Err(BadParams);
            }
            if let Some(v) = value {
                if v.is_empty() || !lex::is_escaped_text(v, lex::is_param_char) {
                    return Err(BadParams);
                }
            }
            params.push((src.slice_ref(name), value.map(|v| src.slice_ref(v))));
        }
        Ok(Params(Repr::List(params)))
    }

    /// Appends `;name=value` for each parameter, as written (header form).
    pub(crate) fn print_header(&self, out: &mut String) {
        for (k, v) in self.iter() {
            out.push(';');
            out.push_str(k);
            if let Some(v) = v {
                out.push('=');
                out.push_str(v);
            }
        }
    }

    /// Appends `;name=value` for each parameter, escaping what a URI parameter cannot carry.
    pub(crate) fn print_uri(&self, out: &mut String) {
        for (k, v) in self.iter() {
            out.push(';');
            lex::escape_raw_into(out, k, lex::is_param_char);
            if let Some(v) = v {
                out.push('=');
                lex::escape_raw_into(out, v, lex::is_param_char);
            }
        }
    }

    /// The unquoted value of `name` (quoted-string values lose their quotes and escapes).
    pub fn unquoted(&self, name: &str) -> Option<std::borrow::Cow<'_, str>> {
        let v = self.value(name)?;
        Some(
            match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(inner) => lex::unquote(inner),
                None => std::borrow::Cow::Borrowed(v),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(s: &str) -> Result<Params, BadParams> {
        Params::parse_header(&SipStr::from(s), s)
    }

    #[test]
    fn header_params_with_lws_and_quotes() {
        let p = header(r#" ; tag = 1234 ;lr; x="a;b\"c" ;received=[2001:db8::1]"#).unwrap();
        assert_eq!(p.value("tag"), Some("1234"));
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.value("x"), Some(r#""a;b\"c""#));
        assert_eq!(p.unquoted("x").unwrap(), "a;b\"c");
        assert_eq!(p.value("received"), Some("[2001:db8::1]"));
        assert!(header(";;").is_err());
        assert!(header(";a=").is_err());
        assert!(header("x").is_err());
        assert!(header(r#";a="open"#).is_err());
    }

    #[test]
    fn uri_params() {
        let s = SipStr::from(";transport=tcp;lr;x=%41");
        let p = Params::parse_uri(&s, &s).unwrap();
        assert_eq!(p.value("transport"), Some("tcp"));
        assert!(p.contains("LR"));
        let mut out = String::new();
        p.print_uri(&mut out);
        assert_eq!(out, ";transport=tcp;lr;x=%41");
        assert!(Params::parse_uri(&s, ";a b").is_err());
    }
}
