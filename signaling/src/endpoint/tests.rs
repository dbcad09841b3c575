//! Endpoint tests: what it answers by itself, what it hands to the application, and what it
//! drops.

use super::*;
use crate::message::typed::To;
use crate::message::HeaderName;
use crate::net::Peer;
use std::net::SocketAddr;

fn far() -> Peer {
    Peer::udp("198.51.100.7:5060".parse::<SocketAddr>().expect("valid"))
}

fn endpoint(deliver_calls: bool) -> Endpoint {
    Endpoint::new(EndpointConfig {
        registration: None,
        timers: TimerConfig::default(),
        deliver_calls,
        seed: 5,
    })
}

fn request(method: &str, to_tag: Option<&str>) -> Vec<u8> {
    let to = match to_tag {
        Some(tag) => format!("<sip:1001@10.0.0.2>;tag={tag}"),
        None => "<sip:1001@10.0.0.2>".to_owned(),
    };
    format!(
        "{method} sip:1001@10.0.0.2:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK{method}1\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:pbx@198.51.100.7>;tag=p1\r\n\
         To: {to}\r\n\
         Call-ID: c1@198.51.100.7\r\n\
         CSeq: 1 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Feeds one datagram and returns the single response sent back.
fn answer(ep: &mut Endpoint, bytes: &[u8]) -> Response {
    let now = Instant::now();
    ep.handle_datagram(now, far(), Bytes::copy_from_slice(bytes));
    let t = ep.poll_transmit().expect("an answer");
    assert_eq!(t.dest, far());
    assert!(ep.poll_transmit().is_none());
    match Message::parse(&t.bytes) {
        Ok(Message::Response(r)) => r,
        other => panic!("expected a response, got {other:?}"),
    }
}

#[test]
fn options_outside_a_dialog_gets_our_capabilities() {
    let mut ep = endpoint(false);
    let ok = answer(&mut ep, &request("OPTIONS", None));
    assert_eq!(ok.status, 200);
    assert!(ok
        .headers
        .get(&HeaderName::Allow)
        .is_some_and(|v| v.contains("INVITE")));
    assert_eq!(
        ok.headers.get(&HeaderName::Accept).map(|v| v.as_str()),
        Some("application/sdp")
    );
    assert!(ok.headers.contains(&HeaderName::Supported));
    let to = ok.headers.typed::<To>().expect("valid").expect("present");
    assert!(to.0.tag().is_some(), "a final response carries a To tag");
    assert!(ep.poll_event().is_none());
}

#[test]
fn methods_we_do_not_serve_get_405_with_allow() {
    for method in ["SUBSCRIBE", "PUBLISH", "FROBNICATE", "REGISTER"] {
        let mut ep = endpoint(true);
        let no = answer(&mut ep, &request(method, None));
        assert_eq!(no.status, 405, "{method}");
        assert!(no.headers.contains(&HeaderName::Allow));
    }
}

#[test]
fn a_required_extension_we_lack_gets_420_listing_it_in_and_out_of_dialogs() {
    let with_require = |method: &str, to_tag: Option<&str>, require: &str| {
        let text = String::from_utf8(request(method, to_tag)).expect("ascii");
        text.replace(
            "Content-Length: 0",
            &format!("Require: {require}\r\nContent-Length: 0"),
        )
        .into_bytes()
    };
    for (method, to_tag) in [
        ("INVITE", None),
        ("OPTIONS", None),
        ("INVITE", Some("ours")),
        ("BYE", Some("ours")),
        ("UPDATE", Some("ours")),
    ] {
        let mut ep = endpoint(true);
        let refusal = answer(&mut ep, &with_require(method, to_tag, "timer, foo, Bar"));
        assert_eq!(refusal.status, 420, "{method}");
        assert_eq!(
            refusal
                .headers
                .get(&HeaderName::Unsupported)
                .map(|v| v.as_str()),
            Some("foo, Bar"),
            "{method}: only the tags we lack"
        );
        let to = refusal
            .headers
            .typed::<To>()
            .expect("valid")
            .expect("present");
        match to_tag {
            Some(tag) => assert_eq!(to.0.tag(), Some(tag), "{method}: the dialog's tag kept"),
            None => assert!(
                to.0.tag().is_some(),
                "{method}: a final response has a To tag"
            ),
        }
        assert!(ep.poll_event().is_none(), "{method}: not delivered");
    }
    // What we understand is delivered (or answered) as usual; a method we do not serve is
    // 405 before its Require is looked at.
    let mut ep = endpoint(true);
    let now = Instant::now();
    ep.handle_datagram(
        now,
        far(),
        Bytes::from(with_require("INVITE", None, "100rel, Timer")),
    );
    assert!(matches!(
        ep.poll_event(),
        Some(EndpointEvent::Transaction(
            TransactionEvent::IncomingRequest { .. }
        ))
    ));
    let no = answer(&mut endpoint(true), &with_require("SUBSCRIBE", None, "foo"));
    assert_eq!(no.status, 405);
}

#[test]
fn a_request_uri_in_a_scheme_we_do_not_serve_gets_416() {
    for method in ["INVITE", "OPTIONS"] {
        let text = String::from_utf8(request(method, None)).expect("ascii");
        let mailto = text.replacen("sip:1001@10.0.0.2:5060", "mailto:1001@example.com", 1);
        let mut ep = endpoint(true);
        let refusal = answer(&mut ep, mailto.as_bytes());
        assert_eq!(refusal.status, 416, "{method}");
        assert!(ep.poll_event().is_none(), "{method}: not delivered");
    }
    // tel: is ours to serve (a number dialled at the PBX).
    let text = String::from_utf8(request("INVITE", None)).expect("ascii");
    let tel = text.replacen("sip:1001@10.0.0.2:5060", "tel:+15551001", 1);
    let mut ep = endpoint(true);
    ep.handle_datagram(Instant::now(), far(), Bytes::from(tel.into_bytes()));
    assert!(matches!(
        ep.poll_event(),
        Some(EndpointEvent::Transaction(
            TransactionEvent::IncomingRequest { .. }
        ))
    ));
}

#[test]
fn a_cancel_that_matches_no_invite_gets_481() {
    // RFC 3261 §9.2: no INVITE server transaction for it.
    let no = answer(&mut endpoint(true), &request("CANCEL", None));
    assert_eq!(no.status, 481);
}

#[test]
fn calls_are_declined_without_an_application_and_delivered_with_one() {
    let mut ep = endpoint(false);
    let declined = answer(&mut ep, &request("INVITE", None));
    assert_eq!(declined.status, 480);
    assert!(declined.headers.contains(&HeaderName::Warning));
    let stray_bye = answer(&mut ep, &request("BYE", Some("x")));
    assert_eq!(stray_bye.status, 481);

    let mut ep = endpoint(true);
    let now = Instant::now();
    ep.handle_datagram(now, far(), Bytes::from(request("INVITE", None)));
    let Some(EndpointEvent::Transaction(TransactionEvent::IncomingRequest {
        id,
        request,
        source,
    })) = ep.poll_event()
    else {
        panic!("the INVITE goes to the application")
    };
    assert_eq!(source, far());
    assert!(ep.poll_transmit().is_none(), "the application answers");
    let ringing = crate::transaction::response_to(&request, 180, "Ringing", Some("me"));
    ep.respond(now, id, ringing).expect("transaction alive");
    assert!(ep.poll_transmit().is_some());
}

#[test]
fn unparseable_requests_get_400_and_the_rest_is_dropped() {
    let mut ep = endpoint(false);
    let mut broken = request("OPTIONS", None);
    // A bad Max-Forwards fails the parse, but Via/From/To/Call-ID/CSeq can be salvaged.
    let text = String::from_utf8(broken.clone()).expect("ascii");
    broken = text
        .replace("Max-Forwards: 70", "Max-Forwards: seventy")
        .into_bytes();
    let bad = answer(&mut ep, &broken);
    assert_eq!(bad.status, 400);
    assert_eq!(ep.counters().answered_400, 1);

    ep.handle_datagram(
        Instant::now(),
        far(),
        Bytes::from_static(b"\x00\x01 definitely not SIP"),
    );
    ep.handle_datagram(
        Instant::now(),
        far(),
        Bytes::from_static(b"SIP/2.0 200 OK\r\nVia: broken\r\n\r\n"),
    );
    assert!(ep.poll_transmit().is_none());
    assert_eq!(ep.counters().dropped, 2);
    // Keep-alives are neither.
    ep.handle_datagram(Instant::now(), far(), Bytes::from_static(b"\r\n\r\n"));
    assert_eq!(
        ep.counters(),
        EndpointCounters {
            dropped: 2,
            answered_400: 1
        }
    );
}

#[test]
fn without_a_registration_unregister_ends_at_once() {
    let mut ep = endpoint(false);
    ep.unregister(Instant::now());
    assert_eq!(
        ep.poll_event(),
        Some(EndpointEvent::Unregistered { clean: true })
    );
    assert_eq!(ep.poll_timeout(), None);
    assert!(ep.transactions().is_empty());
}
