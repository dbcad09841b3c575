//! Bad input from the far end never panics the user agent and gets a clear answer: a call
//! placed to a scripted far end that answers and sends in-dialog requests with broken
//! parts (missing Contact, bad CSeq, non-SDP or garbage re-offers, broken escapes, ...),
//! and requests that break the RFC's request rules (offers that overlap, merged INVITEs).
//! Also what RFC 3261 requires of the requests and responses we send back (headers, ACK,
//! Record-Route, target refresh): docs/testing.md lists each rule with its test.

use bytes::Bytes;
use signaling::response_to;
use signaling::Peer;
use signaling::{CallEvent, CallHandle, CallSettings, DialOptions, UaConfig};
use signaling::{HeaderName, Message, Method, Request, Response, Uri};
use simua::{ua_config, SimUa, ANSWER, OFFER};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn far() -> SocketAddr {
    "10.0.0.2:5060".parse().expect("test address")
}

/// Our user agent with one outbound call to a far end the test scripts by hand.
struct Bench {
    /// Our user agent, fed by hand (no network): it answers nothing on its own.
    alice: SimUa,
    now: Instant,
    call: CallHandle,
    invite: Request,
    /// The far end's next CSeq for its in-dialog requests.
    far_cseq: u32,
}

impl Bench {
    fn dial() -> Self {
        let me: SocketAddr = "10.0.0.1:5060".parse().expect("test address");
        let mut alice = SimUa::new(UaConfig {
            user_agent: None,
            settings: CallSettings::default(),
            ..ua_config("alice", me, Peer::udp(far()), 3)
        });
        alice.answer_reoffers = false;
        let now = Instant::now();
        let call = alice
            .with(now, |now, ua| {
                ua.dial(
                    now,
                    Uri::parse("sip:bob@10.0.0.2:5060").expect("uri"),
                    Bytes::from_static(OFFER.as_bytes()),
                    DialOptions::default(),
                )
            })
            .expect("dial");
        let mut bench = Bench {
            alice,
            now,
            call,
            invite: Request::new(Method::Invite, Uri::parse("sip:x@y").expect("uri")),
            far_cseq: 100,
        };
        bench.invite = bench
            .sent()
            .into_iter()
            .find_map(|m| match m {
                Message::Request(r) if r.method == Method::Invite => Some(r),
                _ => None,
            })
            .expect("the INVITE went out");
        bench
    }

    /// Answers the INVITE with a 200 carrying `extra` header lines (and the answer).
    fn answer(mut self, extra: &[(HeaderName, &str)]) -> Self {
        let mut ok = response_to(&self.invite, 200, "OK", Some("far"));
        for (name, value) in extra {
            ok.headers.push(name.clone(), *value);
        }
        ok.headers.push(HeaderName::ContentType, "application/sdp");
        ok.body = Bytes::from_static(ANSWER.as_bytes());
        self.feed_response(&ok);
        self
    }

    fn connected() -> Self {
        let bench = Self::dial().answer(&[(HeaderName::Contact, "<sip:bob@10.0.0.2:5060>")]);
        assert!(bench.alice.answered(), "{:?}", bench.alice.events);
        bench
    }

    fn feed_response(&mut self, response: &Response) {
        self.feed(&response.to_bytes());
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.alice
            .ua
            .handle_datagram(self.now, Peer::udp(far()), Bytes::copy_from_slice(bytes));
        self.alice.collect(self.now);
    }

    /// Everything the user agent sent since the last look, parsed.
    fn sent(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        while let Some(t) = self.alice.ua.poll_transmit() {
            assert_eq!(t.dest.addr, far(), "sent elsewhere");
            out.push(Message::parse(&t.bytes).expect("we send what we can parse"));
        }
        out
    }

    /// The statuses of the responses sent since the last look, read off the status line
    /// (a 400 echoes the broken header it refuses, so it need not parse).
    fn statuses(&mut self) -> Vec<u16> {
        let mut out = Vec::new();
        while let Some(t) = self.alice.ua.poll_transmit() {
            let text = String::from_utf8_lossy(&t.bytes).into_owned();
            if let Some(status) = text.strip_prefix("SIP/2.0 ") {
                out.push(status[..3].parse().expect("a status code"));
            }
        }
        out
    }

    /// An in-dialog request from the far end, as text: `cseq` None takes the next one;
    /// `extra` is raw header lines.
    fn request(&mut self, method: &str, cseq: Option<&str>, extra: &str, body: &str) -> Vec<u8> {
        let from_tag = self
            .invite
            .from()
            .ok()
            .and_then(|f| f.0.tag().map(str::to_owned))
            .expect("our INVITE has a From tag");
        let call_id = self.invite.call_id().expect("Call-ID").as_str().to_owned();
        self.far_cseq += 1;
        let cseq = cseq.map_or(format!("{} {method}", self.far_cseq), str::to_owned);
        format!(
            "{method} sip:alice@10.0.0.1:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKfar{n}\r\n\
             From: <sip:bob@10.0.0.2>;tag=far\r\nTo: <sip:alice@10.0.0.1>;tag={from_tag}\r\n\
             Call-ID: {call_id}\r\nCSeq: {cseq}\r\nMax-Forwards: 70\r\n\
             Contact: <sip:bob@10.0.0.2:5060>\r\n{extra}Content-Length: {len}\r\n\r\n{body}",
            n = self.far_cseq,
            len = body.len(),
        )
        .into_bytes()
    }

    /// The call still works: hanging up sends a BYE to the far end.
    fn assert_hangs_up(&mut self) {
        self.sent();
        self.alice.ua.hangup(self.now, self.call).expect("hang up");
        let byes = self
            .sent()
            .into_iter()
            .filter(|m| matches!(m, Message::Request(r) if r.method == Method::Bye))
            .count();
        assert_eq!(byes, 1);
    }
}

#[test]
fn a_2xx_without_contact_or_with_a_broken_one_still_connects() {
    for contact in [None, Some("<<<not a uri"), Some("*")] {
        let extra: Vec<(HeaderName, &str)> = contact
            .map(|c| (HeaderName::Contact, c))
            .into_iter()
            .collect();
        let mut bench = Bench::dial().answer(&extra);
        assert!(
            bench.alice.answered(),
            "{contact:?}: {:?}",
            bench.alice.events
        );
        // The ACK and the BYE go to the address we called.
        bench.assert_hangs_up();
    }
}

#[test]
fn a_2xx_with_a_zero_session_interval_does_not_make_us_refresh_every_second() {
    let mut bench = Bench::dial().answer(&[
        (HeaderName::Contact, "<sip:bob@10.0.0.2:5060>"),
        (HeaderName::SessionExpires, "0;refresher=uac"),
        (HeaderName::Require, "timer"),
    ]);
    assert!(bench.alice.answered());
    bench.sent();
    let end = bench.now + Duration::from_secs(40);
    // Bounded: a deadline that never moves forward must fail the test, not hang it.
    for _ in 0..1000 {
        let Some(at) = bench.alice.ua.poll_timeout().filter(|t| *t <= end) else {
            break;
        };
        bench.now = bench.now.max(at);
        bench.alice.ua.handle_timeout(bench.now);
    }
    let refreshes = bench
        .sent()
        .into_iter()
        .filter(|m| matches!(m, Message::Request(r) if r.method != Method::Ack))
        .count();
    assert_eq!(refreshes, 0, "no refresh before half of the 90 s floor");
}

/// RFC 4028 with a far end that does not take UPDATE: the refresh is a re-INVITE, an offer
/// (RFC 3264 §8): the application makes it, and the far end's answer, which may move its
/// media, reaches the application as the answer to any re-offer does.
#[test]
fn a_session_refresh_by_reinvite_is_a_reoffer_whose_answer_is_read() {
    let mut bench = Bench::dial().answer(&[
        (HeaderName::Contact, "<sip:bob@10.0.0.2:5060>"),
        (HeaderName::SessionExpires, "90;refresher=uac"),
        (HeaderName::Require, "timer"),
    ]);
    assert!(bench.alice.answered(), "{:?}", bench.alice.events);
    bench.sent();
    let start = bench.now;
    let sent = run_timers(&mut bench.alice, start, start + Duration::from_secs(50));
    let refreshes = requests_sent(&sent);
    let reinvite = refreshes
        .first()
        .copied()
        .cloned()
        .expect("a refresh by 50 s");
    assert!(
        refreshes
            .iter()
            .all(|r| cseq_number(r) == cseq_number(&reinvite)),
        "one refresh (and its retransmissions) by 50 s: {refreshes:?}"
    );
    assert_eq!(
        reinvite.method,
        Method::Invite,
        "the far end allows no UPDATE"
    );
    assert_eq!(
        bench
            .alice
            .count(|e| matches!(e, CallEvent::SessionRefreshNeeded { .. })),
        1
    );
    let se = reinvite
        .headers
        .get(&HeaderName::SessionExpires)
        .expect("the refresh carries Session-Expires");
    assert!(se.contains("refresher=uac"), "we stay the refresher: {se}");
    assert_eq!(
        &reinvite.body[..],
        OFFER.as_bytes(),
        "the application's offer"
    );

    // The far end answers from a new media port.
    bench.now = sent.last().map_or(bench.now, |(at, _)| *at);
    let moved = ANSWER.replace("m=audio 5000", "m=audio 5002");
    let mut ok = response_to(&reinvite, 200, "OK", Some("far"));
    ok.headers
        .push(HeaderName::Contact, "<sip:bob@10.0.0.2:5060>");
    ok.headers
        .push(HeaderName::SessionExpires, "90;refresher=uac");
    ok.headers.push(HeaderName::Require, "timer");
    ok.headers.push(HeaderName::ContentType, "application/sdp");
    ok.body = Bytes::from(moved.clone());
    bench.feed_response(&ok);
    let answers: Vec<Option<Bytes>> = bench
        .alice
        .events
        .iter()
        .filter_map(|(_, e)| match e {
            CallEvent::ReofferAccepted { sdp, .. } => Some(sdp.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        answers,
        [Some(Bytes::from(moved))],
        "the answer reaches the application"
    );
    let acks = requests_of(&bench.sent(), Method::Ack).len();
    assert_eq!(acks, 1, "the refresh's 2xx is acknowledged");
    // Refreshed: no BYE at the old deadline (90 s less a third, RFC 4028 §10).
    let later = run_timers(&mut bench.alice, bench.now, start + Duration::from_secs(80));
    assert!(!later.iter().any(|(_, m)| is_bye(m)), "{later:?}");
    bench.assert_hangs_up();
}

/// A far end that lists UPDATE in Allow but refuses it (405 or 501): the refresh goes again
/// at once by re-INVITE, so the session does not lapse.
#[test]
fn a_refused_update_refresh_is_made_again_by_reinvite() {
    for refusal in [405, 501] {
        let mut bench = Bench::dial().answer(&[
            (HeaderName::Contact, "<sip:bob@10.0.0.2:5060>"),
            (HeaderName::Allow, "INVITE, ACK, CANCEL, BYE, UPDATE"),
            (HeaderName::SessionExpires, "90;refresher=uac"),
            (HeaderName::Require, "timer"),
        ]);
        bench.sent();
        let start = bench.now;
        let sent = run_timers(&mut bench.alice, start, start + Duration::from_secs(46));
        let update = requests_sent(&sent)
            .into_iter()
            .find(|r| r.method == Method::Update)
            .cloned()
            .expect("the refresh by UPDATE");
        bench.now = sent.last().map_or(bench.now, |(at, _)| *at);
        bench.feed_response(&response_to(&update, refusal, "Nope", None));
        let reinvites = requests_of(&bench.sent(), Method::Invite);
        assert_eq!(reinvites.len(), 1, "{refusal}: a re-INVITE at once");
        assert_eq!(&reinvites[0].body[..], OFFER.as_bytes(), "{refusal}");
        let mut ok = response_to(&reinvites[0], 200, "OK", Some("far"));
        ok.headers
            .push(HeaderName::SessionExpires, "90;refresher=uac");
        ok.headers.push(HeaderName::ContentType, "application/sdp");
        ok.body = Bytes::from_static(ANSWER.as_bytes());
        bench.feed_response(&ok);
        // Refreshed: no BYE at the old deadline, and the next refresh (45 s on) is a
        // re-INVITE too.
        let later = run_timers(
            &mut bench.alice,
            bench.now,
            bench.now + Duration::from_secs(60),
        );
        let requests = requests_sent(&later);
        // Left unanswered, it is resent; none of it is an UPDATE or a BYE.
        assert!(!requests.is_empty(), "{refusal}: the next refresh");
        assert!(
            requests.iter().all(|r| r.method == Method::Invite),
            "{refusal}: refreshes by re-INVITE only, no BYE: {requests:?}"
        );
    }
}

/// RFC 4028 §7.4: a refresh names its sender as the refresher (`refresher=uac`: it is that
/// request's UAC), also on a call we answered. A caller that asked us to refresh
/// (`refresher=uas`) keeps getting refreshes, and we do not hand the role back to it.
#[test]
fn our_refreshes_of_an_answered_call_keep_us_the_refresher() {
    let invite = incoming_invite_with(
        "st",
        "Supported: timer\r\nSession-Expires: 90;refresher=uas\r\n\
         Allow: INVITE, ACK, CANCEL, BYE, UPDATE\r\n",
    );
    let (mut alice, now, _, ok) = answered_inbound_to(12, invite.into_bytes());
    let se = |headers: &signaling::Headers| {
        headers
            .get(&HeaderName::SessionExpires)
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default()
    };
    assert!(se(&ok.headers).contains("refresher=uas"), "{ok:?}");
    alice.ua.handle_datagram(now, Peer::udp(far()), ack_of(&ok));
    alice.collect(now);

    let sent = run_timers(&mut alice, now, now + Duration::from_secs(50));
    let refresh = requests_sent(&sent)
        .into_iter()
        .find(|r| r.method == Method::Update)
        .cloned()
        .expect("a refresh by UPDATE at 45 s");
    assert!(
        se(&refresh.headers).contains("refresher=uac"),
        "the refresher names itself: {}",
        se(&refresh.headers)
    );
    // The far end's 2xx confirms it, as RFC 4028 §9 has it do.
    let mut answer = response_to(&refresh, 200, "OK", None);
    answer
        .headers
        .push(HeaderName::SessionExpires, "90;refresher=uac");
    answer.headers.push(HeaderName::Require, "timer");
    let at = sent.last().map_or(now, |(at, _)| *at);
    alice
        .ua
        .handle_datagram(at, Peer::udp(far()), answer.to_bytes());
    alice.collect(at);
    let later = run_timers(&mut alice, at, now + Duration::from_secs(100));
    assert!(
        requests_sent(&later)
            .iter()
            .any(|r| r.method == Method::Update && cseq_number(r) != cseq_number(&refresh)),
        "still the refresher: a second refresh by 100 s: {later:?}"
    );
    assert!(!later.iter().any(|(_, m)| is_bye(m)), "{later:?}");
}

#[test]
fn an_in_dialog_request_with_a_bad_or_old_cseq_is_refused_not_obeyed() {
    let mut bench = Bench::connected();
    bench.sent();
    // A 400 echoes the CSeq; without one there is nothing to answer and it is dropped.
    for (cseq, answer) in [
        ("abc INFO", &[400][..]),
        ("99999999999 INFO", &[400]),
        ("5", &[400]),
        ("", &[]),
    ] {
        let request = bench.request("INFO", Some(cseq), "", "");
        bench.feed(&request);
        assert_eq!(bench.statuses(), answer, "CSeq {cseq:?}");
    }
    let newer = bench.request("INFO", None, "", "");
    bench.feed(&newer);
    assert_eq!(bench.statuses(), [200]);
    // An older CSeq in the dialog (a BYE from the past) is refused, and the call stays up.
    let old = bench.request("BYE", Some("1 BYE"), "", "");
    bench.feed(&old);
    assert_eq!(bench.statuses(), [500]);
    assert_eq!(
        bench.alice.count(|e| matches!(e, CallEvent::Ended { .. })),
        0
    );
    bench.assert_hangs_up();
}

#[test]
fn a_reinvite_with_a_body_that_is_not_sdp_gets_415_and_garbage_sdp_is_the_apps_to_refuse() {
    let mut bench = Bench::connected();
    bench.sent();
    let text = bench.request(
        "INVITE",
        None,
        "Content-Type: text/plain\r\n",
        "hello there",
    );
    bench.feed(&text);
    assert_eq!(bench.statuses(), [415]);
    let missing_type = bench.request("INVITE", None, "", "v=0\r\n");
    bench.feed(&missing_type);
    assert_eq!(bench.statuses(), [415]);
    assert_eq!(
        bench
            .alice
            .count(|e| matches!(e, CallEvent::RemoteReoffer { .. })),
        0
    );
    // SDP by its type but garbage inside: the application judges it (the controller's
    // negotiation fails) and refuses it with 488; the call goes on.
    let garbage = bench.request(
        "INVITE",
        None,
        "Content-Type: application/sdp\r\n",
        "\u{1}\u{2}not sdp at all",
    );
    bench.feed(&garbage);
    assert_eq!(
        bench
            .alice
            .count(|e| matches!(e, CallEvent::RemoteReoffer { .. })),
        1
    );
    bench
        .alice
        .ua
        .reject_reoffer(bench.now, bench.call, 488, "no \"m=\" line")
        .expect("reject");
    let responses: Vec<Response> = bench
        .sent()
        .into_iter()
        .filter_map(|m| match m {
            Message::Response(r) if r.status >= 200 => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].status, 488);
    assert_eq!(
        responses[0]
            .headers
            .get(&HeaderName::Warning)
            .map(|w| w.to_string()),
        Some("399 softphone \"no 'm=' line\"".to_owned())
    );
    bench.assert_hangs_up();
}

#[test]
fn a_second_reinvite_before_the_first_is_answered_gets_500_with_retry_after() {
    let mut bench = Bench::connected();
    bench.sent();
    let sdp = "Content-Type: application/sdp\r\n";
    let first = bench.request("INVITE", None, sdp, OFFER);
    bench.feed(&first);
    assert_eq!(
        bench
            .alice
            .count(|e| matches!(e, CallEvent::RemoteReoffer { .. })),
        1
    );
    // RFC 3261 §14.2: 500 with Retry-After 0-10 s (491 is for glare, not this); an UPDATE
    // offer meanwhile is the same (RFC 3311 §5.2).
    for method in ["INVITE", "UPDATE"] {
        let second = bench.request(method, None, sdp, OFFER);
        bench.feed(&second);
        let finals: Vec<Response> = bench
            .sent()
            .into_iter()
            .filter_map(|m| match m {
                Message::Response(r) if r.status >= 200 => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(finals.len(), 1, "{method}");
        assert_eq!(finals[0].status, 500, "{method}");
        let retry: u32 = finals[0]
            .headers
            .get(&HeaderName::RetryAfter)
            .and_then(|v| v.parse().ok())
            .expect("a Retry-After in seconds");
        assert!(retry <= 10, "{method}: Retry-After {retry}");
    }
    // §14.1: nor do we start an INVITE of our own while theirs is in progress.
    assert!(bench
        .alice
        .ua
        .reinvite(bench.now, bench.call, Bytes::from_static(OFFER.as_bytes()))
        .is_err());
    assert!(requests_of(&bench.sent(), Method::Invite).is_empty());
    // The first is still ours to answer, and it is the one answered.
    assert_eq!(
        bench
            .alice
            .count(|e| matches!(e, CallEvent::RemoteReoffer { .. })),
        1
    );
    bench
        .alice
        .ua
        .reject_reoffer(bench.now, bench.call, 488, "not now")
        .expect("the first re-INVITE is still pending");
    assert_eq!(bench.statuses(), [488]);
    bench.assert_hangs_up();
}

#[test]
fn broken_info_notify_and_refer_bodies_get_answers_not_panics() {
    let mut bench = Bench::connected();
    bench.sent();
    let info = bench.request(
        "INFO",
        None,
        "Content-Type: application/dtmf-relay\r\n",
        "Signal=\u{e9}\r\n",
    );
    bench.feed(&info);
    assert_eq!(bench.statuses(), [415]);
    // A NOTIFY for a transfer we never asked for, with a body that is no sipfrag.
    let notify = bench.request(
        "NOTIFY",
        None,
        "Event: refer\r\nSubscription-State: active\r\nContent-Type: message/sipfrag\r\n",
        "SIP/2.0 abc\r\n",
    );
    bench.feed(&notify);
    assert_eq!(bench.statuses(), [200]);
    assert_eq!(
        bench
            .alice
            .count(|e| matches!(e, CallEvent::TransferProgress { .. })),
        0
    );
    let no_target = bench.request("REFER", None, "", "");
    bench.feed(&no_target);
    assert_eq!(bench.statuses(), [400]);
    // A Replaces escape cut before a multi-byte character: the Refer-To does not parse, so
    // 400 (unescaping such a value is covered in `in_dialog::tests`).
    let refer = bench.request(
        "REFER",
        None,
        "Refer-To: <sip:carol@10.0.0.3?Replaces=%a\u{e9}>\r\n",
        "",
    );
    bench.feed(&refer);
    assert_eq!(bench.statuses(), [400]);
    assert_eq!(
        bench
            .alice
            .count(|e| matches!(e, CallEvent::TransferRequested { .. })),
        0
    );
    bench.assert_hangs_up();
}

#[test]
fn broken_provisional_responses_and_a_2xx_without_a_to_tag_do_not_panic() {
    let mut bench = Bench::dial();
    bench.sent();
    // 100rel required but no RSeq, then an RSeq that is no number: no PRACK for either.
    for rseq in [None, Some("x1")] {
        let mut ringing = response_to(&bench.invite, 180, "Ringing", Some("far"));
        ringing.headers.push(HeaderName::Require, "100rel");
        if let Some(rseq) = rseq {
            ringing.headers.push(HeaderName::RSeq, rseq);
        }
        bench.feed_response(&ringing);
        let pracks = bench
            .sent()
            .into_iter()
            .filter(|m| matches!(m, Message::Request(r) if r.method == Method::Prack))
            .count();
        assert_eq!(pracks, 0, "RSeq {rseq:?}");
    }
    let mut ok = response_to(&bench.invite, 200, "OK", None);
    ok.headers.push(HeaderName::ContentType, "application/sdp");
    ok.body = Bytes::from_static(ANSWER.as_bytes());
    bench.feed_response(&ok);
    assert!(bench.alice.answered(), "{:?}", bench.alice.events);
    bench.assert_hangs_up();
}

/// Our user agent (alice, seeded with `seed`) at a fresh `now`, with `invite` from the far
/// end fed to it and its events collected: how every inbound-call test starts.
fn alice_after(seed: u64, invite: Vec<u8>) -> (SimUa, Instant) {
    let me: SocketAddr = "10.0.0.1:5060".parse().expect("test address");
    let mut alice: SimUa = SimUa::new(ua_config("alice", me, Peer::udp(far()), seed));
    let now = Instant::now();
    alice
        .ua
        .handle_datagram(now, Peer::udp(far()), Bytes::from(invite));
    alice.collect(now);
    (alice, now)
}

/// An INVITE from the far end that starts a call, sent by `branch`.
fn incoming_invite(branch: &str) -> Vec<u8> {
    format!(
        "INVITE sip:alice@10.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK{branch}\r\n\
         From: <sip:bob@10.0.0.2>;tag=bob1\r\nTo: <sip:alice@10.0.0.1>\r\n\
         Call-ID: forked@10.0.0.2\r\nCSeq: 7 INVITE\r\nMax-Forwards: 70\r\n\
         Contact: <sip:bob@10.0.0.2:5060>\r\nContent-Type: application/sdp\r\n\
         Content-Length: {len}\r\n\r\n{OFFER}",
        len = OFFER.len(),
    )
    .into_bytes()
}

/// [`incoming_invite`] with `extra` header lines (each ending in CRLF) after Max-Forwards.
fn incoming_invite_with(branch: &str, extra: &str) -> String {
    String::from_utf8(incoming_invite(branch))
        .expect("ascii")
        .replace(
            "Max-Forwards: 70\r\n",
            &format!("Max-Forwards: 70\r\n{extra}"),
        )
}

#[test]
fn the_same_invite_by_two_paths_rings_once_and_the_second_gets_482() {
    let me: SocketAddr = "10.0.0.1:5060".parse().expect("test address");
    let mut alice = SimUa::new(ua_config("alice", me, Peer::udp(far()), 4));
    let now = Instant::now();
    let feed = |alice: &mut SimUa, bytes: Vec<u8>| -> Vec<u16> {
        alice
            .ua
            .handle_datagram(now, Peer::udp(far()), Bytes::from(bytes));
        alice.collect(now);
        let mut statuses = Vec::new();
        while let Some(t) = alice.ua.poll_transmit() {
            if let Ok(Message::Response(r)) = Message::parse(&t.bytes) {
                statuses.push(r.status);
            }
        }
        statuses
    };
    let incoming = |alice: &SimUa| alice.count(|e| matches!(e, CallEvent::Incoming { .. }));
    assert_eq!(feed(&mut alice, incoming_invite("path1")), [180]);
    assert_eq!(incoming(&alice), 1);
    // The same request retransmitted on its own path is the same transaction: nothing new.
    assert_eq!(feed(&mut alice, incoming_invite("path1")), [180]);
    // By a second path (another branch): merged, refused with 482 (RFC 3261 §8.2.2.2).
    assert_eq!(feed(&mut alice, incoming_invite("path2")), [482]);
    assert_eq!(incoming(&alice), 1, "{:?}", alice.events);
    assert_eq!(alice.ua.active_calls().count(), 1);
}

/// The requests in `sent`, by method.
fn requests_of(sent: &[Message], method: Method) -> Vec<Request> {
    sent.iter()
        .filter_map(|m| match m {
            Message::Request(r) if r.method == method => Some(r.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn our_requests_carry_what_every_request_must_and_each_2xx_is_acked() {
    let bench = Bench::dial();
    let invite = bench.invite.clone();
    // §8.1.1: the six headers, a tagged From, a cookie branch, a Contact, a typed body.
    for name in [
        HeaderName::To,
        HeaderName::From,
        HeaderName::CSeq,
        HeaderName::CallId,
        HeaderName::MaxForwards,
        HeaderName::Via,
        HeaderName::Contact,
        HeaderName::ContentType,
    ] {
        assert!(invite.headers.contains(&name), "INVITE without {name:?}");
    }
    assert!(invite.from().expect("From").0.tag().is_some());
    let cseq = invite.cseq().expect("CSeq");
    assert_eq!(cseq.method, Method::Invite);
    assert!(cseq.seq < 1 << 31);
    let branch = invite.to_bytes();
    let text = String::from_utf8_lossy(&branch);
    assert!(text.contains(";branch=z9hG4bK"), "{text}");

    // §13.2.2.4: the ACK has the INVITE's CSeq number, method ACK, goes to the 2xx's
    // Contact, and is sent again for each retransmitted 2xx.
    let mut bench = bench.answer(&[(HeaderName::Contact, "<sip:bob@10.0.0.2:5060;x=1>")]);
    let sent = bench.sent();
    let acks = requests_of(&sent, Method::Ack);
    assert_eq!(acks.len(), 1, "{sent:?}");
    let ack_cseq = acks[0].cseq().expect("CSeq");
    assert_eq!(
        (ack_cseq.seq, ack_cseq.method.clone()),
        (cseq.seq, Method::Ack)
    );
    assert_eq!(acks[0].uri.to_string(), "sip:bob@10.0.0.2:5060;x=1");
    assert_eq!(acks[0].call_id().ok(), invite.call_id().ok());
    let mut ok = response_to(&bench.invite, 200, "OK", Some("far"));
    ok.headers
        .push(HeaderName::Contact, "<sip:bob@10.0.0.2:5060;x=1>");
    ok.headers.push(HeaderName::ContentType, "application/sdp");
    ok.body = Bytes::from_static(ANSWER.as_bytes());
    bench.feed_response(&ok);
    assert_eq!(
        requests_of(&bench.sent(), Method::Ack).len(),
        1,
        "the 2xx again: ACK again"
    );

    // §12.2.1.1: the BYE is in the dialog: same Call-ID and tags, next CSeq, to the target.
    bench
        .alice
        .ua
        .hangup(bench.now, bench.call)
        .expect("hang up");
    let byes = requests_of(&bench.sent(), Method::Bye);
    assert_eq!(byes.len(), 1);
    let bye = &byes[0];
    assert_eq!(bye.cseq().expect("CSeq").seq, cseq.seq + 1);
    assert_eq!(bye.call_id().ok(), invite.call_id().ok());
    assert_eq!(
        bye.from().expect("From").0.tag(),
        invite.from().expect("From").0.tag()
    );
    assert_eq!(bye.uri.to_string(), "sip:bob@10.0.0.2:5060;x=1");
    assert!(bye.headers.contains(&HeaderName::MaxForwards));
}

#[test]
fn a_target_refresh_from_the_far_end_moves_where_our_requests_go() {
    let mut bench = Bench::connected();
    bench.sent();
    let reinvite = bench.request("INVITE", None, "Content-Type: application/sdp\r\n", OFFER);
    let moved = String::from_utf8(reinvite)
        .expect("ascii")
        .replace("<sip:bob@10.0.0.2:5060>", "<sip:bob@10.0.0.2:5099;moved>");
    bench.feed(moved.as_bytes());
    bench
        .alice
        .ua
        .answer_reoffer(bench.now, bench.call, Bytes::from_static(ANSWER.as_bytes()))
        .expect("answer the re-INVITE");
    bench.sent();
    bench
        .alice
        .ua
        .hangup(bench.now, bench.call)
        .expect("hang up");
    // §12.2.2: the remote target is the re-INVITE's Contact now, and the BYE goes there.
    let mut byes = Vec::new();
    while let Some(t) = bench.alice.ua.poll_transmit() {
        if let Ok(Message::Request(r)) = Message::parse(&t.bytes) {
            if r.method == Method::Bye {
                byes.push((t.dest.addr, r.uri.to_string()));
            }
        }
    }
    let moved: SocketAddr = "10.0.0.2:5099".parse().expect("test address");
    assert_eq!(byes, [(moved, "sip:bob@10.0.0.2:5099;moved".to_owned())]);
}

#[test]
fn our_answer_copies_the_request_and_its_record_routes_with_one_to_tag() {
    let invite = incoming_invite_with(
        "rr",
        "Record-Route: <sip:p1.example;lr;unknown=x>\r\n\
             Record-Route: <sip:p2.example;lr>, <sip:p3.example;lr>\r\n",
    );
    let Ok(Message::Request(request)) = Message::parse(invite.as_bytes()) else {
        panic!("the INVITE parses")
    };
    let (mut alice, now) = alice_after(6, invite.into_bytes());
    let call = alice.incoming().expect("ringing");
    alice
        .ua
        .answer(now, call, Bytes::from_static(ANSWER.as_bytes()))
        .expect("answer");
    let mut responses = Vec::new();
    while let Some(t) = alice.ua.poll_transmit() {
        if let Ok(Message::Response(r)) = Message::parse(&t.bytes) {
            responses.push(r);
        }
    }
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [180, 200]);
    let mut tags = Vec::new();
    for r in &responses {
        // §8.2.6.2: From, Call-ID, CSeq and Via copied; To with our tag added.
        for name in [
            HeaderName::From,
            HeaderName::CallId,
            HeaderName::CSeq,
            HeaderName::Via,
        ] {
            let ours: Vec<String> = r.headers.get_all(&name).map(|v| v.to_string()).collect();
            let theirs: Vec<String> = request
                .headers
                .get_all(&name)
                .map(|v| v.to_string())
                .collect();
            assert_eq!(ours, theirs, "{} {name:?}", r.status);
        }
        let to = r
            .headers
            .typed::<signaling::typed::To>()
            .expect("To")
            .expect("To");
        tags.push(to.0.tag().expect("our tag").to_owned());
    }
    assert_eq!(tags[0], tags[1], "one To tag on every response");
    // §12.1.1: the 2xx has every Record-Route, in order, parameters kept, and a Contact.
    let ok = &responses[1];
    let routes: Vec<String> = ok
        .headers
        .get_all(&HeaderName::RecordRoute)
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        routes,
        [
            "<sip:p1.example;lr;unknown=x>",
            "<sip:p2.example;lr>",
            "<sip:p3.example;lr>"
        ]
    );
    assert!(ok.headers.contains(&HeaderName::Contact));
}

/// A final response `status` to `request` from the far end, with SDP for a 2xx.
fn far_response(request: &Request, status: u16, tag: &str, contact: &str) -> Response {
    let mut r = response_to(request, status, "Whatever", Some(tag));
    r.headers.push(HeaderName::Contact, contact);
    if (200..300).contains(&status) {
        r.headers.push(HeaderName::ContentType, "application/sdp");
        r.body = Bytes::from_static(ANSWER.as_bytes());
    }
    r
}

#[test]
fn a_2xx_from_a_second_fork_is_acked_and_hung_up() {
    let mut bench = Bench::connected();
    bench.sent();
    // §13.2.2.4: a 2xx we do not want (another fork answered too) is ACKed, then BYE.
    let other = far_response(
        &bench.invite,
        200,
        "fork2",
        "<sip:bob@10.0.0.2:5060;fork=2>",
    );
    bench.feed_response(&other);
    let sent = bench.sent();
    let to_fork = |r: &Request| r.to().is_ok_and(|t| t.0.tag() == Some("fork2"));
    let acks = requests_of(&sent, Method::Ack);
    let byes = requests_of(&sent, Method::Bye);
    assert_eq!(acks.len(), 1, "{sent:?}");
    assert_eq!(byes.len(), 1, "{sent:?}");
    assert!(to_fork(&acks[0]) && to_fork(&byes[0]));
    // The first answer's call is untouched.
    assert_eq!(
        bench.alice.count(|e| matches!(e, CallEvent::Ended { .. })),
        0
    );
    bench.assert_hangs_up();
}

#[test]
fn statuses_we_do_not_know_are_taken_by_their_class() {
    // §8.1.3.2: an unknown 1xx is progress, an unknown 2xx answers, an unknown 4xx fails.
    let mut bench = Bench::dial();
    bench.sent();
    let ringing = far_response(&bench.invite, 199, "far", "<sip:bob@10.0.0.2:5060>");
    bench.feed_response(&ringing);
    assert_eq!(
        bench
            .alice
            .count(|e| matches!(e, CallEvent::Progress { .. })),
        1
    );
    let ok = far_response(&bench.invite, 299, "far", "<sip:bob@10.0.0.2:5060>");
    bench.feed_response(&ok);
    assert!(bench.alice.answered(), "{:?}", bench.alice.events);
    assert_eq!(requests_of(&bench.sent(), Method::Ack).len(), 1);

    let mut bench = Bench::dial();
    bench.sent();
    let odd = far_response(&bench.invite, 499, "far", "<sip:bob@10.0.0.2:5060>");
    bench.feed_response(&odd);
    assert!(bench.alice.ended().is_some(), "{:?}", bench.alice.events);
    assert!(!bench.alice.answered());
    assert_eq!(requests_of(&bench.sent(), Method::Ack).len(), 1);
}

#[test]
fn while_our_reinvite_is_pending_theirs_gets_491_and_its_2xx_moves_the_target() {
    let mut bench = Bench::connected();
    bench.sent();
    bench
        .alice
        .ua
        .reinvite(bench.now, bench.call, Bytes::from_static(OFFER.as_bytes()))
        .expect("re-INVITE");
    let ours = requests_of(&bench.sent(), Method::Invite);
    assert_eq!(ours.len(), 1);
    // §14.2: their INVITE while ours is in progress gets 491.
    let theirs = bench.request("INVITE", None, "Content-Type: application/sdp\r\n", OFFER);
    bench.feed(&theirs);
    assert_eq!(bench.statuses(), [491]);
    // §12.2.1.2: the 2xx to our target refresh brings a new Contact: it is the target now.
    let ok = far_response(&ours[0], 200, "far", "<sip:bob@10.0.0.2:5077;moved>");
    bench.feed_response(&ok);
    bench
        .alice
        .ua
        .hangup(bench.now, bench.call)
        .expect("hang up");
    let mut requests = Vec::new();
    while let Some(t) = bench.alice.ua.poll_transmit() {
        if let Ok(Message::Request(r)) = Message::parse(&t.bytes) {
            requests.push((r.method.clone(), t.dest.addr, r.uri.to_string()));
        }
    }
    let moved: SocketAddr = "10.0.0.2:5077".parse().expect("test address");
    let target = "sip:bob@10.0.0.2:5077;moved".to_owned();
    assert_eq!(
        requests,
        [
            (Method::Ack, moved, target.clone()),
            (Method::Bye, moved, target)
        ]
    );
}

#[test]
fn a_bye_while_ringing_gets_200_and_the_invite_487() {
    let me: SocketAddr = "10.0.0.1:5060".parse().expect("test address");
    let mut alice: SimUa = SimUa::new(ua_config("alice", me, Peer::udp(far()), 8));
    let now = Instant::now();
    let responses = |alice: &mut SimUa, bytes: Vec<u8>| -> Vec<Response> {
        alice
            .ua
            .handle_datagram(now, Peer::udp(far()), Bytes::from(bytes));
        alice.collect(now);
        let mut out = Vec::new();
        while let Some(t) = alice.ua.poll_transmit() {
            if let Ok(Message::Response(r)) = Message::parse(&t.bytes) {
                out.push(r);
            }
        }
        out
    };
    let ringing = responses(&mut alice, incoming_invite("early"));
    assert_eq!(ringing.len(), 1);
    let to = ringing[0]
        .headers
        .get(&HeaderName::To)
        .expect("To")
        .to_string();
    let bye = format!(
        "BYE sip:alice@10.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKearlybye\r\n\
         From: <sip:bob@10.0.0.2>;tag=bob1\r\nTo: {to}\r\n\
         Call-ID: forked@10.0.0.2\r\nCSeq: 8 BYE\r\nMax-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    );
    // §15.1.2: 200 for the BYE, 487 for the INVITE still pending on the dialog.
    let mut statuses: Vec<(u16, Method)> = responses(&mut alice, bye.into_bytes())
        .iter()
        .map(|r| (r.status, r.cseq().expect("CSeq").method.clone()))
        .collect();
    statuses.sort_by_key(|(s, _)| *s);
    assert_eq!(statuses, [(200, Method::Bye), (487, Method::Invite)]);
    assert!(alice.ended().is_some());
}

#[test]
fn reliable_provisionals_only_for_a_caller_that_asks_for_them() {
    // §8.2.4: no extension in a response unless the request names it; we use 100rel only
    // when it is required (RFC 3262 allows it when merely supported; we do not need to).
    for (extra, reliable) in [
        ("", false),
        ("Supported: 100rel\r\n", false),
        ("Require: 100rel\r\n", true),
    ] {
        let (mut alice, _) = alice_after(9, incoming_invite_with("rel", extra).into_bytes());
        let t = alice.ua.poll_transmit().expect("a provisional");
        let Ok(Message::Response(ringing)) = Message::parse(&t.bytes) else {
            panic!("a response")
        };
        assert_eq!(ringing.status, 180, "{extra:?}");
        let requires_100rel = ringing
            .headers
            .get_all(&HeaderName::Require)
            .any(|v| v.as_str().contains("100rel"));
        assert_eq!(requires_100rel, reliable, "{extra:?}");
        assert_eq!(
            ringing.headers.contains(&HeaderName::RSeq),
            reliable,
            "{extra:?}"
        );
    }
}

/// Our user agent with an inbound call it has just answered (200 sent, no ACK yet), the
/// clock, and the 200.
fn answered_inbound(seed: u64) -> (SimUa, Instant, CallHandle, Response) {
    answered_inbound_to(seed, incoming_invite("ans"))
}

/// [`answered_inbound`], the call coming in by `invite`.
fn answered_inbound_to(seed: u64, invite: Vec<u8>) -> (SimUa, Instant, CallHandle, Response) {
    let (mut alice, now) = alice_after(seed, invite);
    let call = alice.incoming().expect("ringing");
    alice
        .ua
        .answer(now, call, Bytes::from_static(ANSWER.as_bytes()))
        .expect("answer");
    let mut ok = None;
    while let Some(t) = alice.ua.poll_transmit() {
        if let Ok(Message::Response(r)) = Message::parse(&t.bytes) {
            if r.status == 200 {
                ok = Some(r);
            }
        }
    }
    (alice, now, call, ok.expect("the 200 went out"))
}

/// The requests among what [`run_timers`] returned, retransmissions too, ACKs left out.
fn requests_sent(sent: &[(Instant, Message)]) -> Vec<&Request> {
    sent.iter()
        .filter_map(|(_, m)| match m {
            Message::Request(r) if r.method != Method::Ack => Some(r),
            _ => None,
        })
        .collect()
}

/// A request's CSeq number: retransmissions share it.
fn cseq_number(r: &Request) -> Option<u32> {
    r.cseq().ok().map(|c| c.seq)
}

/// Runs `alice`'s timers up to `until`, returning what it sent, parsed, with when.
fn run_timers(alice: &mut SimUa, from: Instant, until: Instant) -> Vec<(Instant, Message)> {
    let mut sent = Vec::new();
    let mut now = from;
    while let Some(at) = alice.ua.poll_timeout() {
        if at > until {
            break;
        }
        now = now.max(at);
        alice.ua.handle_timeout(now);
        alice.collect(now);
        while let Some(t) = alice.ua.poll_transmit() {
            sent.push((
                now,
                Message::parse(&t.bytes).expect("we send what we parse"),
            ));
        }
    }
    sent
}

fn is_bye(m: &Message) -> bool {
    matches!(m, Message::Request(r) if r.method == Method::Bye)
}

#[test]
fn hung_up_while_answering_the_bye_waits_for_the_ack() {
    let (mut alice, now, call, ok) = answered_inbound(10);
    alice.ua.hangup(now, call).expect("hang up");
    alice.collect(now);
    assert!(
        alice.ended().is_some(),
        "the call ends for the application at once"
    );
    // §15.1.1: no BYE before the ACK; §13.3.1.4: the 200 keeps going out meanwhile.
    let sent = run_timers(&mut alice, now, now + Duration::from_secs(2));
    assert!(!sent.iter().any(|(_, m)| is_bye(m)), "{sent:?}");
    assert!(sent
        .iter()
        .any(|(_, m)| matches!(m, Message::Response(r) if r.status == 200)));
    let to = ok.headers.get(&HeaderName::To).expect("To").to_string();
    let ack = format!(
        "ACK sip:alice@10.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKack1\r\n\
         From: <sip:bob@10.0.0.2>;tag=bob1\r\nTo: {to}\r\n\
         Call-ID: forked@10.0.0.2\r\nCSeq: 7 ACK\r\nMax-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    );
    let later = now + Duration::from_secs(2);
    alice
        .ua
        .handle_datagram(later, Peer::udp(far()), Bytes::from(ack.into_bytes()));
    alice.collect(later);
    let mut byes = 0;
    while let Some(t) = alice.ua.poll_transmit() {
        byes += usize::from(is_bye(&Message::parse(&t.bytes).expect("parses")));
    }
    assert_eq!(byes, 1, "the ACK lets the BYE go");
    assert_eq!(alice.count(|e| matches!(e, CallEvent::Ended { .. })), 1);
}

/// The ACK of `ok` (the 200 of `answered_inbound`), as the far end sends it.
fn ack_of(ok: &Response) -> Bytes {
    let to = ok.headers.get(&HeaderName::To).expect("To").to_string();
    Bytes::from(format!(
        "ACK sip:alice@10.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKack1\r\n\
         From: <sip:bob@10.0.0.2>;tag=bob1\r\nTo: {to}\r\n\
         Call-ID: forked@10.0.0.2\r\nCSeq: 7 ACK\r\nMax-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    ))
}

/// The page shows a call connected as soon as it is answered; a hold or a transfer asked
/// for before the far end's ACK arrived is not refused: it goes when the ACK comes (a new
/// INVITE transaction waits for the first to complete, §14.1).
#[test]
fn hold_and_transfer_asked_while_answering_go_when_the_ack_comes() {
    let (mut alice, now, call, ok) = answered_inbound(11);
    alice
        .ua
        .reinvite(now, call, Bytes::from_static(OFFER.as_bytes()))
        .expect("a re-INVITE asked for before the ACK is accepted");
    assert!(
        alice
            .ua
            .reinvite(now, call, Bytes::from_static(OFFER.as_bytes()))
            .is_err(),
        "one offer at a time"
    );
    let target = Uri::parse("sip:1002@pbx.test").expect("uri");
    alice
        .ua
        .refer(now, call, target, None)
        .expect("a REFER asked for before the ACK is accepted");
    alice.collect(now);
    let sent = run_timers(&mut alice, now, now + Duration::from_secs(1));
    let requests = |sent: &[Message]| -> Vec<Method> {
        sent.iter()
            .filter_map(|m| match m {
                Message::Request(r) => Some(r.method.clone()),
                Message::Response(_) => None,
            })
            .collect()
    };
    let before: Vec<Message> = sent.into_iter().map(|(_, m)| m).collect();
    assert_eq!(requests(&before), [], "nothing goes before the ACK");

    let later = now + Duration::from_secs(1);
    alice
        .ua
        .handle_datagram(later, Peer::udp(far()), ack_of(&ok));
    alice.collect(later);
    let mut after = Vec::new();
    while let Some(t) = alice.ua.poll_transmit() {
        after.push(Message::parse(&t.bytes).expect("parses"));
    }
    assert_eq!(requests(&after), [Method::Invite, Method::Refer]);
    let Message::Request(reinvite) = &after[0] else {
        unreachable!()
    };
    assert_eq!(reinvite.body, Bytes::from_static(OFFER.as_bytes()));
    assert!(alice.ended().is_none(), "the call goes on");
}

#[test]
fn without_an_ack_the_200_is_resent_until_64_t1_then_the_call_ends_with_a_bye() {
    let (mut alice, now, _call, _ok) = answered_inbound(11);
    let sent = run_timers(&mut alice, now, now + Duration::from_secs(40));
    // §13.3.1.4: T1 doubling to T2 (0.5, 1, 2, 4, 4, ... s), then BYE at 64*T1 = 32 s.
    let resent: Vec<f64> = sent
        .iter()
        .filter(|(_, m)| matches!(m, Message::Response(r) if r.status == 200))
        .map(|(at, _)| (*at - now).as_secs_f64())
        .collect();
    assert_eq!(&resent[..4], [0.5, 1.5, 3.5, 7.5], "{resent:?}");
    assert!(resent.iter().all(|&t| t < 32.0 + 1e-9), "{resent:?}");
    let bye_at: Vec<f64> = sent
        .iter()
        .filter(|(_, m)| is_bye(m))
        .map(|(at, _)| (*at - now).as_secs_f64())
        .take(1)
        .collect();
    assert_eq!(bye_at.len(), 1, "{sent:?}");
    assert!((bye_at[0] - 32.0).abs() < 1e-9, "BYE at {}", bye_at[0]);
    assert!(alice.ended().is_some());
}

#[test]
fn a_body_in_an_encoding_we_cannot_read_gets_415_and_require_is_judged_before_the_body() {
    // §8.2.3: a new call with a gzip'd SDP body: 415 naming what we accept.
    let gzipped = incoming_invite_with("gz", "Content-Encoding: gzip\r\n");
    let (mut alice, _) = alice_after(12, gzipped.into_bytes());
    let t = alice.ua.poll_transmit().expect("an answer");
    let Ok(Message::Response(refusal)) = Message::parse(&t.bytes) else {
        panic!("a response")
    };
    assert_eq!(refusal.status, 415);
    assert_eq!(
        refusal
            .headers
            .get(&HeaderName::AcceptEncoding)
            .map(|v| v.as_str()),
        Some("identity")
    );
    assert!(alice.incoming().is_none(), "no call rings");

    // In a dialog too; and `identity` is no encoding at all.
    let mut bench = Bench::connected();
    bench.sent();
    let sdp = "Content-Type: application/sdp\r\n";
    let reinvite = bench.request(
        "INVITE",
        None,
        &format!("{sdp}Content-Encoding: gzip\r\n"),
        OFFER,
    );
    bench.feed(&reinvite);
    assert_eq!(bench.statuses(), [415]);
    let plain = bench.request(
        "INVITE",
        None,
        &format!("{sdp}Content-Encoding: identity\r\n"),
        OFFER,
    );
    bench.feed(&plain);
    assert_eq!(
        bench
            .alice
            .count(|e| matches!(e, CallEvent::RemoteReoffer { .. })),
        1
    );
    bench
        .alice
        .ua
        .reject_reoffer(bench.now, bench.call, 488, "not now")
        .expect("pending");
    bench.sent();
    // §8.2: headers (Require) are inspected before the body: 420, not 415.
    let both = bench.request(
        "INVITE",
        None,
        "Require: frobnication\r\nContent-Type: text/plain\r\n",
        "hello",
    );
    bench.feed(&both);
    assert_eq!(bench.statuses(), [420]);
    bench.assert_hangs_up();
}

#[test]
fn ack_and_cancel_carry_no_require() {
    // §8.1.1.9: Require never goes in a CANCEL or an ACK, even when the INVITE had one.
    let mut bench = Bench::dial();
    bench.sent();
    let ringing = far_response(&bench.invite, 180, "far", "<sip:bob@10.0.0.2:5060>");
    bench.feed_response(&ringing);
    bench
        .alice
        .ua
        .hangup(bench.now, bench.call)
        .expect("hang up");
    let cancels = requests_of(&bench.sent(), Method::Cancel);
    assert_eq!(cancels.len(), 1);
    assert!(!cancels[0].headers.contains(&HeaderName::Require));
    let terminated = far_response(&bench.invite, 487, "far", "<sip:bob@10.0.0.2:5060>");
    bench.feed_response(&terminated);
    let acks = requests_of(&bench.sent(), Method::Ack);
    assert_eq!(acks.len(), 1);
    assert!(!acks[0].headers.contains(&HeaderName::Require));

    let mut bench = Bench::connected();
    let acks = requests_of(&bench.sent(), Method::Ack);
    assert!(acks
        .iter()
        .all(|a| !a.headers.contains(&HeaderName::Require)));
}

#[test]
fn a_488_to_our_reinvite_keeps_the_call_and_a_481_ends_it() {
    let mut bench = Bench::connected();
    bench.sent();
    let reinvite = |bench: &mut Bench, status: u16| {
        bench
            .alice
            .ua
            .reinvite(bench.now, bench.call, Bytes::from_static(OFFER.as_bytes()))
            .expect("re-INVITE");
        let ours = requests_of(&bench.sent(), Method::Invite);
        assert_eq!(ours.len(), 1);
        let refusal = far_response(&ours[0], status, "far", "<sip:bob@10.0.0.2:5060>");
        bench.feed_response(&refusal);
        bench.sent();
    };
    let ended = |bench: &Bench| bench.alice.count(|e| matches!(e, CallEvent::Ended { .. }));
    // §14.1: a non-2xx leaves the call as it was (and a new offer may follow).
    reinvite(&mut bench, 488);
    assert_eq!(ended(&bench), 0, "{:?}", bench.alice.events);
    // §12.2.1.2: a 481 says the dialog is gone.
    reinvite(&mut bench, 481);
    assert_eq!(ended(&bench), 1, "{:?}", bench.alice.events);
}

#[test]
fn an_answered_call_routes_our_bye_through_the_callers_record_routes_in_order() {
    // §12.1.1: the UAS route set is the Record-Routes in the request's order, the remote
    // target its Contact; §12.2.1.1: our BYE uses both (loose routing: the target in the
    // Request-URI, the routes in Route, sent to the first).
    let (mut alice, now, call, ok) = {
        let invite = incoming_invite_with(
            "route",
            "Record-Route: <sip:10.0.0.5:5070;lr>\r\n\
                 Record-Route: <sip:10.0.0.6;lr>\r\n",
        );
        let (mut alice, now) = alice_after(13, invite.into_bytes());
        let call = alice.incoming().expect("ringing");
        alice
            .ua
            .answer(now, call, Bytes::from_static(ANSWER.as_bytes()))
            .expect("answer");
        let mut ok = None;
        while let Some(t) = alice.ua.poll_transmit() {
            if let Ok(Message::Response(r)) = Message::parse(&t.bytes) {
                ok = Some(r).filter(|r| r.status == 200).or(ok);
            }
        }
        (alice, now, call, ok.expect("200"))
    };
    let to = ok.headers.get(&HeaderName::To).expect("To").to_string();
    let ack = format!(
        "ACK sip:alice@10.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKack2\r\n\
         From: <sip:bob@10.0.0.2>;tag=bob1\r\nTo: {to}\r\n\
         Call-ID: forked@10.0.0.2\r\nCSeq: 7 ACK\r\nMax-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    );
    alice
        .ua
        .handle_datagram(now, Peer::udp(far()), Bytes::from(ack.into_bytes()));
    alice.collect(now);
    assert!(alice.answered());
    // The remote CSeq starts at the INVITE's (7): an INFO numbered 3 is out of order (500).
    let old_info = format!(
        "INFO sip:alice@10.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKinfo3\r\n\
         From: <sip:bob@10.0.0.2>;tag=bob1\r\nTo: {to}\r\n\
         Call-ID: forked@10.0.0.2\r\nCSeq: 3 INFO\r\nMax-Forwards: 70\r\n\
         Content-Length: 0\r\n\r\n"
    );
    alice
        .ua
        .handle_datagram(now, Peer::udp(far()), Bytes::from(old_info.into_bytes()));
    alice.collect(now);
    let t = alice.ua.poll_transmit().expect("an answer to the INFO");
    assert!(matches!(Message::parse(&t.bytes), Ok(Message::Response(r)) if r.status == 500));
    alice.ua.hangup(now, call).expect("hang up");
    let t = alice.ua.poll_transmit().expect("the BYE");
    let Ok(Message::Request(bye)) = Message::parse(&t.bytes) else {
        panic!("a request")
    };
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(bye.uri.to_string(), "sip:bob@10.0.0.2:5060");
    let routes: Vec<String> = bye
        .headers
        .get_all(&HeaderName::Route)
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(routes, ["<sip:10.0.0.5:5070;lr>", "<sip:10.0.0.6;lr>"]);
    let first_route: SocketAddr = "10.0.0.5:5070".parse().expect("test address");
    assert_eq!(t.dest.addr, first_route);
    let tag = |v: &str| v.rsplit("tag=").next().map(str::to_owned);
    assert_eq!(
        bye.headers.get(&HeaderName::From).map(|v| tag(v.as_str())),
        Some(tag(&to)),
        "our tag from the 200"
    );
}

#[test]
fn the_ack_of_a_challenged_invite_carries_its_credentials() {
    // §13.2.2.4: the ACK carries the same credentials as the INVITE it acknowledges.
    let mut bench = Bench::dial();
    bench.sent();
    let mut challenge = response_to(
        &bench.invite,
        407,
        "Proxy Authentication Required",
        Some("p"),
    );
    challenge.headers.push(
        HeaderName::ProxyAuthenticate,
        "Digest realm=\"pbx\", nonce=\"n1\", algorithm=MD5, qop=\"auth\"",
    );
    bench.feed_response(&challenge);
    let retried = requests_of(&bench.sent(), Method::Invite);
    assert_eq!(retried.len(), 1, "the INVITE again, with credentials");
    let credentials = retried[0]
        .headers
        .get(&HeaderName::ProxyAuthorization)
        .expect("Proxy-Authorization")
        .to_string();
    bench.invite = retried[0].clone();
    let mut bench = bench.answer(&[(HeaderName::Contact, "<sip:bob@10.0.0.2:5060>")]);
    let acks = requests_of(&bench.sent(), Method::Ack);
    assert_eq!(acks.len(), 1);
    assert_eq!(
        acks[0]
            .headers
            .get(&HeaderName::ProxyAuthorization)
            .map(|v| v.to_string()),
        Some(credentials)
    );
}

#[test]
fn a_bye_answered_481_or_never_answered_still_ends_everything() {
    // §15.1.1: a 481, a 408 or no answer at all to our BYE: the dialog is over anyway.
    for answer in [Some(481), Some(408), None] {
        let mut bench = Bench::connected();
        bench.sent();
        bench
            .alice
            .ua
            .hangup(bench.now, bench.call)
            .expect("hang up");
        bench.alice.collect(bench.now);
        assert!(bench.alice.ended().is_some(), "{answer:?}: ended at once");
        let byes = requests_of(&bench.sent(), Method::Bye);
        assert_eq!(byes.len(), 1);
        if let Some(status) = answer {
            let refusal = response_to(&byes[0], status, "Gone", None);
            bench.feed_response(&refusal);
        }
        let start = bench.now;
        let later = run_timers(&mut bench.alice, start, start + Duration::from_secs(120));
        let byes_again = later
            .iter()
            .filter(|(at, m)| is_bye(m) && *at > start + Duration::from_secs(33))
            .count();
        assert_eq!(
            byes_again, 0,
            "{answer:?}: no BYE after the transaction gave up"
        );
        assert!(bench.alice.ua.is_idle(), "{answer:?}: nothing left behind");
        assert_eq!(
            bench.alice.count(|e| matches!(e, CallEvent::Ended { .. })),
            1
        );
    }
}

/// RFC 3262 §4: a reliable 18x we receive (`Require: 100rel`, `RSeq`) is PRACKed in its
/// early dialog, with `RAck` naming its RSeq, the INVITE's CSeq number and method; its
/// retransmissions are discarded (the PRACK's own transaction resends it); an unreliable
/// 18x is not PRACKed.
#[test]
fn a_reliable_provisional_we_receive_is_pracked_with_its_rack() {
    let mut bench = Bench::dial();
    let cseq = bench.invite.cseq().expect("CSeq").seq;
    let mut ringing = response_to(&bench.invite, 180, "Ringing", Some("far"));
    ringing
        .headers
        .push(HeaderName::Contact, "<sip:bob@10.0.0.2:5060>");
    ringing.headers.push(HeaderName::Require, "100rel");
    ringing.headers.push(HeaderName::RSeq, "7");
    bench.feed_response(&ringing);
    let pracks = requests_of(&bench.sent(), Method::Prack);
    assert_eq!(pracks.len(), 1, "one PRACK");
    let prack = &pracks[0];
    let text = String::from_utf8_lossy(&prack.to_bytes()).into_owned();
    assert!(text.contains(&format!("RAck: 7 {cseq} INVITE")), "{text}");
    assert_eq!(prack.call_id().ok(), bench.invite.call_id().ok());
    assert_eq!(
        prack.to().expect("To").0.tag(),
        Some("far"),
        "in the early dialog"
    );
    assert_eq!(prack.uri.to_string(), "sip:bob@10.0.0.2:5060");
    // A retransmission of the same 18x (same dialog, CSeq and RSeq): discarded.
    bench.feed_response(&ringing);
    assert!(requests_of(&bench.sent(), Method::Prack).is_empty());
    // An unreliable 183: no PRACK.
    let mut progress = response_to(&bench.invite, 183, "Session Progress", Some("far"));
    progress
        .headers
        .push(HeaderName::Contact, "<sip:bob@10.0.0.2:5060>");
    bench.feed_response(&progress);
    assert!(requests_of(&bench.sent(), Method::Prack).is_empty());
    // The call still connects.
    let bench = bench.answer(&[(HeaderName::Contact, "<sip:bob@10.0.0.2:5060>")]);
    assert!(bench.alice.answered(), "{:?}", bench.alice.events);
}

/// An INVITE from a third party naming one of our dialogs in `Replaces`.
fn replacing_invite(replaces: &str, branch: &str) -> Vec<u8> {
    format!(
        "INVITE sip:alice@10.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK{branch}\r\n\
         From: <sip:carol@10.0.0.2>;tag=carol1\r\nTo: <sip:alice@10.0.0.1>\r\n\
         Call-ID: replacing-{branch}@10.0.0.2\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n\
         Contact: <sip:carol@10.0.0.2:5060>\r\nReplaces: {replaces}\r\n\
         Content-Type: application/sdp\r\nContent-Length: {len}\r\n\r\n{OFFER}",
        len = OFFER.len(),
    )
    .into_bytes()
}

/// RFC 3891 §3: an INVITE whose `Replaces` names a confirmed dialog of ours (its to-tag
/// is our tag) is a new call that takes that one's place: the application hears which
/// (`Incoming { replaces }`, and the controller answers it and hangs up the old one); one
/// naming no dialog of ours gets 481 and rings nothing, a malformed one 400.
#[test]
fn an_invite_with_replaces_names_the_call_it_takes_over_or_gets_481() {
    let mut bench = Bench::connected();
    let call_id = bench.invite.call_id().expect("Call-ID").as_str().to_owned();
    let ours = bench
        .invite
        .from()
        .ok()
        .and_then(|f| f.0.tag().map(str::to_owned))
        .expect("our tag");
    bench.sent();

    // Wrong tags: no dialog of ours.
    let wrong = format!("{call_id};to-tag=nobody;from-tag=far");
    bench.feed(&replacing_invite(&wrong, "r1"));
    assert_eq!(bench.statuses(), vec![481]);
    // Not a Replaces at all.
    bench.feed(&replacing_invite("no-tags-here", "r2"));
    assert_eq!(bench.statuses(), vec![400]);
    assert!(
        !bench
            .alice
            .events
            .iter()
            .any(|(_, e)| matches!(e, CallEvent::Incoming { .. })),
        "{:?}",
        bench.alice.events
    );

    // Ours: a new call that says whom it replaces, and rings.
    let right = format!("{call_id};to-tag={ours};from-tag=far");
    bench.feed(&replacing_invite(&right, "r3"));
    let replaced = bench.alice.events.iter().find_map(|(_, e)| match e {
        CallEvent::Incoming { replaces, .. } => Some(*replaces),
        _ => None,
    });
    assert_eq!(replaced, Some(Some(bench.call)));
    assert_eq!(bench.statuses(), vec![180]);
}

/// §8.1.1.3 and §8.1.1.4: each new call has a From tag and a Call-ID of its own;
/// §8.1.1.9: our INVITE insists on no extension (`Supported`, never `Require`).
#[test]
fn each_new_call_has_a_fresh_tag_and_call_id_and_our_invite_requires_nothing() {
    let mut bench = Bench::dial();
    let first = bench.invite.clone();
    let call = bench.alice.with(bench.now, |now, ua| {
        ua.dial(
            now,
            Uri::parse("sip:carol@10.0.0.2:5060").expect("uri"),
            Bytes::from_static(OFFER.as_bytes()),
            DialOptions::default(),
        )
    });
    assert!(call.is_ok());
    let second = requests_of(&bench.sent(), Method::Invite)
        .pop()
        .expect("the second INVITE");
    let tag = |r: &Request| r.from().ok().and_then(|f| f.0.tag().map(str::to_owned));
    assert!(
        tag(&first).is_some_and(|t| t.len() >= 8),
        "{:?}",
        tag(&first)
    );
    assert_ne!(tag(&first), tag(&second), "a From tag used twice");
    assert_ne!(first.call_id().ok(), second.call_id().ok());
    for invite in [&first, &second] {
        assert!(
            !invite.headers.contains(&HeaderName::Require),
            "our INVITE requires an extension"
        );
        assert!(invite.headers.contains(&HeaderName::Supported));
    }
}

/// RFC 3262 §3: a reliable 18x goes again, T1 then doubling, until its PRACK comes; the
/// PRACK stops it (and is answered 200).
#[test]
fn a_reliable_provisional_is_resent_until_its_prack() {
    let invite = incoming_invite_with("rel2", "Require: 100rel\r\n");
    let (mut alice, t0) = alice_after(12, invite.into_bytes());
    let mut ringing = None;
    while let Some(t) = alice.ua.poll_transmit() {
        if let Ok(Message::Response(r)) = Message::parse(&t.bytes) {
            ringing = Some(r);
        }
    }
    let ringing = ringing.expect("the reliable 180");
    let again: Vec<f64> = run_timers(&mut alice, t0, t0 + Duration::from_millis(3600))
        .into_iter()
        .filter(|(_, m)| matches!(m, Message::Response(r) if r.status == 180))
        .map(|(at, _)| (at - t0).as_secs_f64())
        .collect();
    // T1 = 500 ms: 0.5, 1.5, 3.5 s.
    assert_eq!(again, [0.5, 1.5, 3.5], "resent at {again:?}");
    // The PRACK: answered 200, and no more 180s.
    let rseq = ringing
        .headers
        .get(&HeaderName::RSeq)
        .expect("RSeq")
        .to_string();
    let prack = format!(
        "PRACK sip:alice@10.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKprack1\r\n\
         From: <sip:bob@10.0.0.2>;tag=bob1\r\nTo: {to}\r\n\
         Call-ID: forked@10.0.0.2\r\nCSeq: 8 PRACK\r\nMax-Forwards: 70\r\n\
         RAck: {rseq} 7 INVITE\r\nContent-Length: 0\r\n\r\n",
        to = ringing.headers.get(&HeaderName::To).expect("To"),
    );
    let at = t0 + Duration::from_millis(3600);
    alice
        .ua
        .handle_datagram(at, Peer::udp(far()), Bytes::from(prack.into_bytes()));
    alice.collect(at);
    let mut answered = Vec::new();
    while let Some(t) = alice.ua.poll_transmit() {
        if let Ok(Message::Response(r)) = Message::parse(&t.bytes) {
            answered.push((r.status, r.cseq().map(|c| c.method.clone()).ok()));
        }
    }
    assert_eq!(answered, [(200, Some(Method::Prack))]);
    let later = run_timers(&mut alice, at, at + Duration::from_secs(10));
    assert!(
        !later
            .iter()
            .any(|(_, m)| matches!(m, Message::Response(r) if r.status == 180)),
        "a 180 after its PRACK"
    );
}

/// RFC 3311 §5.2: an UPDATE with an offer while our own offer (a re-INVITE) is out gets 491.
#[test]
fn an_update_offer_while_our_reinvite_is_out_gets_491() {
    let mut bench = Bench::connected();
    bench.sent();
    bench
        .alice
        .ua
        .reinvite(bench.now, bench.call, Bytes::from_static(OFFER.as_bytes()))
        .expect("re-INVITE");
    bench.sent();
    let update = bench.request("UPDATE", None, "Content-Type: application/sdp\r\n", OFFER);
    bench.feed(&update);
    assert_eq!(bench.statuses(), [491]);
}
