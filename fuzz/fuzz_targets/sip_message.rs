//! The SIP message parser and every typed header: whatever arrives on the SIP socket from a
//! misbehaving PBX or a scanner.
//!
//! Properties: nothing panics; a message that parses prints to one that reads back the same
//! (start line, headers, body); every typed header value that parses prints to a value that
//! parses back to the same value (what the agent echoes back in responses and dialogs must
//! stay readable and mean the same).
#![no_main]

use libfuzzer_sys::fuzz_target;
// All the crate paths this target uses, in one place.
use signaling::typed::{
    Allow, Authorization, CSeq, CallId, Contact, ContentLength, ContentType, Event, Expires, From,
    MaxForwards, MinExpires, MinSe, PAssertedIdentity, ProxyAuthenticate, ProxyAuthorization, RAck,
    RSeq, RecordRoute, ReferTo, ReferredBy, Replaces, Require, Route, SessionExpires,
    SubscriptionState, Supported, To, TypedHeader, Unsupported, Via, WwwAuthenticate,
};
use signaling::{bad_request, frame};
use signaling::{HeaderName, Headers, Message, Uri};

fuzz_target!(|data: &[u8]| {
    // Stream (TCP) framing sees the same bytes a datagram would.
    let _ = frame(data);
    let _ = bad_request(data, "Bad Request");

    let Ok(message) = Message::parse(data) else {
        return;
    };
    let _ = message.call_id();
    let _ = message.cseq();
    let _ = message.top_via();
    let _ = message.from();
    let _ = message.to();
    if let Message::Request(request) = &message {
        let _ = Uri::parse(&request.uri.to_string());
    }
    typed_headers(message.headers());

    let printed = message.to_bytes();
    match Message::parse(&printed) {
        Ok(again) => assert_same(&message, &again, &printed),
        Err(e) => panic!(
            "a parsed message printed to one that does not parse ({e}):\n{}",
            String::from_utf8_lossy(&printed)
        ),
    }
});

/// `again` (parsed from `printed`, the print of `message`) says what `message` said: start
/// line, headers in order (Content-Length apart: printing sets it from the body) and body.
fn assert_same(message: &Message, again: &Message, printed: &[u8]) {
    let start_line_same = match (message, again) {
        (Message::Request(a), Message::Request(b)) => a.method == b.method && a.uri == b.uri,
        (Message::Response(a), Message::Response(b)) => {
            a.status == b.status && a.reason == b.reason
        }
        _ => false,
    };
    let headers = |m: &Message| {
        m.headers()
            .iter()
            .filter(|h| *h.name != HeaderName::ContentLength)
            .map(|h| (h.name.clone(), h.value.as_str().to_owned()))
            .collect::<Vec<_>>()
    };
    assert!(
        start_line_same && headers(message) == headers(again) && message.body() == again.body(),
        "a parsed message printed to one that reads back differently:\n{}",
        String::from_utf8_lossy(printed)
    );
}

/// Parses every typed header the message carries.
fn typed_headers(headers: &Headers) {
    each::<Via>(headers);
    each::<From>(headers);
    each::<To>(headers);
    each::<CallId>(headers);
    each::<CSeq>(headers);
    each::<Contact>(headers);
    each::<Route>(headers);
    each::<RecordRoute>(headers);
    each::<ReferTo>(headers);
    each::<ReferredBy>(headers);
    each::<PAssertedIdentity>(headers);
    each::<ContentType>(headers);
    each::<ContentLength>(headers);
    each::<Expires>(headers);
    each::<MinExpires>(headers);
    each::<MaxForwards>(headers);
    each::<MinSe>(headers);
    each::<SessionExpires>(headers);
    each::<RSeq>(headers);
    each::<RAck>(headers);
    each::<Event>(headers);
    each::<SubscriptionState>(headers);
    each::<Replaces>(headers);
    each::<Allow>(headers);
    each::<Supported>(headers);
    each::<Require>(headers);
    each::<Unsupported>(headers);
    each::<Authorization>(headers);
    each::<ProxyAuthorization>(headers);
    each::<WwwAuthenticate>(headers);
    each::<ProxyAuthenticate>(headers);
}

/// `T`'s first value and all of its values; each one that parses must print to a value
/// that parses back to itself.
fn each<T: TypedHeader + PartialEq + std::fmt::Debug>(headers: &Headers) {
    let _ = headers.typed::<T>();
    let Ok(values) = headers.typed_all::<T>() else {
        return;
    };
    for value in values {
        let printed = value.to_value_string();
        match T::parse(&printed) {
            Ok(again) => assert_eq!(
                again,
                value,
                "{} value printed as {printed:?} reads back differently",
                T::NAME.as_str()
            ),
            Err(e) => panic!(
                "{} value printed as {printed:?} does not parse again: {e}",
                T::NAME.as_str()
            ),
        }
    }
}
