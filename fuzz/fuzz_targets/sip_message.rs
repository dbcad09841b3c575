//! The SIP message parser and every typed header: whatever arrives on the SIP socket from a
//! misbehaving PBX or a scanner.
//!
//! Properties: nothing panics; a message that parses prints to one that parses again; every
//! typed header value that parses prints to a value that parses again (what the agent echoes
//! back in responses and dialogs must stay readable).
#![no_main]

use libfuzzer_sys::fuzz_target;
// All the crate paths this target uses, in one place.
use signaling::message::parse::{bad_request, frame};
use signaling::message::typed::{
    Allow, Authorization, CSeq, CallId, Contact, ContentLength, ContentType, Event, Expires, From,
    MaxForwards, MinExpires, MinSe, PAssertedIdentity, ProxyAuthenticate, ProxyAuthorization, RAck,
    RSeq, RecordRoute, ReferTo, ReferredBy, Replaces, Require, Route, SessionExpires,
    SubscriptionState, Supported, To, TypedHeader, Unsupported, Via, WwwAuthenticate,
};
use signaling::message::{Headers, Message, Uri};

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
    if let Err(e) = Message::parse(&printed) {
        panic!(
            "a parsed message printed to one that does not parse ({e}):\n{}",
            String::from_utf8_lossy(&printed)
        );
    }
});

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
/// that parses again.
fn each<T: TypedHeader>(headers: &Headers) {
    let _ = headers.typed::<T>();
    let Ok(values) = headers.typed_all::<T>() else {
        return;
    };
    for value in values {
        let printed = value.to_value_string();
        if let Err(e) = T::parse(&printed) {
            panic!(
                "{} value printed as {printed:?} does not parse again: {e}",
                T::NAME.as_str()
            );
        }
    }
}
