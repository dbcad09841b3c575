//! Generic `;name=value` parameters of URIs and headers, in order.

use super::SipStr;

/// Parameters in their original order. Names compare case-insensitively; a parameter
/// without `=` has value `None`. Values are kept as written (quotes included for quoted
/// strings, escapes undecoded for URI parameters) so printing is faithful.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(Vec<(SipStr, Option<SipStr>)>);

impl Params {
    pub fn new() -> Self {
        Params(Vec::new())
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_ref().map(|v| v.as_str())))
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// `Some(Some(v))` for `name=v`, `Some(None)` for a bare `name`, `None` when absent.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref().map(|v| v.as_str()))
    }
    /// The value of `name=value`, `None` when absent or valueless.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).flatten()
    }
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// Sets (replacing) a parameter.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let v = value.map(SipStr::from);
        match self.0.iter_mut().find(|(k, _)| k.eq_ignore_ascii_case(name)) {
            Some(slot) => slot.1 = v,
            None => self.0.push((SipStr::from(name), v)),
        }
    }
    pub fn push(&mut self, name: SipStr, value: Option<SipStr>) {
        self.0.push((name, value));
    }
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }
}
