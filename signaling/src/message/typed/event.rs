//! Event (`o`, RFC 6665) and Subscription-State.

use super::{display_typed, invalid, TypedHeader};
use crate::message::{lex, HeaderName, Params, ParseError, SipStr};

/// `Event: refer;id=93809824`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event package (`refer`, `dialog`...).
    pub package: SipStr,
    /// Its parameters (`id`).
    pub params: Params,
}

/// `Subscription-State: active;expires=60` / `terminated;reason=noresource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    /// `active`, `pending` or `terminated`.
    pub state: SipStr,
    /// Its parameters (`expires`, `reason`).
    pub params: Params,
}

/// `token *(SEMI generic-param)`.
fn token_with_params(value: &SipStr, header: &'static str) -> Result<(SipStr, Params), ParseError> {
    let s = lex::trim_ws(value);
    let (tok, rest) = lex::take_while(s, lex::is_token);
    if tok.is_empty() {
        return Err(invalid(header, "missing token"));
    }
    let params =
        Params::parse_header(value, rest).map_err(|_| invalid(header, "bad parameters"))?;
    Ok((value.slice_ref(tok), params))
}

fn print_token_with_params(tok: &str, params: &Params, out: &mut String) {
    out.push_str(tok);
    params.print_header(out);
}

impl Event {
    /// An Event of `package` without parameters.
    pub fn new(package: impl Into<SipStr>) -> Event {
        Event {
            package: package.into(),
            params: Params::new(),
        }
    }
    /// The `id` parameter (RFC 6665 §8.2.1; a REFER's NOTIFY carries the CSeq of the REFER).
    pub fn id(&self) -> Option<&str> {
        self.params.value("id")
    }
}

impl SubscriptionState {
    /// A state without parameters.
    pub fn new(state: impl Into<SipStr>) -> SubscriptionState {
        SubscriptionState {
            state: state.into(),
            params: Params::new(),
        }
    }
    /// The `expires` parameter, in seconds.
    pub fn expires(&self) -> Option<u32> {
        self.params.value("expires")?.parse().ok()
    }
    /// The `reason` parameter.
    pub fn reason(&self) -> Option<&str> {
        self.params.value("reason")
    }
    /// Whether the subscription is over.
    pub fn is_terminated(&self) -> bool {
        self.state.eq_ignore_ascii_case("terminated")
    }
}

impl TypedHeader for Event {
    const NAME: HeaderName = HeaderName::Event;
    const LIST: bool = false;
    fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
        token_with_params(value, "Event").map(|(package, params)| Event { package, params })
    }
    fn print(&self, out: &mut String) {
        print_token_with_params(&self.package, &self.params, out)
    }
}

impl TypedHeader for SubscriptionState {
    const NAME: HeaderName = HeaderName::SubscriptionState;
    const LIST: bool = false;
    fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
        token_with_params(value, "Subscription-State")
            .map(|(state, params)| SubscriptionState { state, params })
    }
    fn print(&self, out: &mut String) {
        print_token_with_params(&self.state, &self.params, out)
    }
}

display_typed!(Event, SubscriptionState);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_and_state() {
        let e = Event::parse("refer;id=93809824").unwrap();
        assert_eq!(e.package, "refer");
        assert_eq!(e.id(), Some("93809824"));
        assert_eq!(e.to_string(), "refer;id=93809824");
        assert_eq!(
            Event::parse("presence.winfo").unwrap().package,
            "presence.winfo"
        );
        let s = SubscriptionState::parse("terminated;reason=noresource").unwrap();
        assert!(s.is_terminated());
        assert_eq!(s.reason(), Some("noresource"));
        assert_eq!(
            SubscriptionState::parse("active ;expires=60")
                .unwrap()
                .expires(),
            Some(60)
        );
        assert!(Event::parse(";id=1").is_err());
        assert!(Event::parse("a b").is_err());
    }
}
