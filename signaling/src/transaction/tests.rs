//! Transaction tests: exact timer schedules (table-driven), ACK construction, absorption of
//! retransmissions, reliable transports, stray responses and cleanup.

use super::*;
use crate::message::typed::{CSeq, To, Via};
use crate::message::{
    HeaderName, Headers, Host, Message, Method, Params, Request, Response, SipStr, SipUri, Uri,
};
use crate::net::Peer;
use bytes::Bytes;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const ME: &str = "192.0.2.10:5060";
const PBX: &str = "198.51.100.1:5060";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test addresses are valid")
}

fn uri(user: &str, host: &str) -> Uri {
    Uri::Sip(SipUri {
        secure: false,
        user: Some(SipStr::from(user)),
        password: None,
        host: Host::Domain(SipStr::from(host)),
        port: None,
        params: Params::new(),
        headers: None,
    })
}

/// A request as a UA would send it; `branch: None` lets the layer pick one.
fn request(method: Method, branch: Option<&str>, transport: &str) -> Request {
    let mut headers = Headers::new();
    let mut via = format!("SIP/2.0/{transport} 192.0.2.10:5060;rport");
    if let Some(b) = branch {
        via.push_str(";branch=");
        via.push_str(b);
    }
    headers.push(HeaderName::Via, via);
    headers.push(HeaderName::MaxForwards, "70");
    headers.push(HeaderName::From, "<sip:1001@pbx.example>;tag=abc");
    headers.push(HeaderName::To, "<sip:1002@pbx.example>");
    headers.push(HeaderName::CallId, "call-1@192.0.2.10");
    headers.push(HeaderName::CSeq, format!("7 {method}"));
    headers.push(HeaderName::ContentLength, "0");
    Request {
        method,
        uri: uri("1002", "pbx.example"),
        headers,
        body: Bytes::new(),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        200 => "OK",
        486 => "Busy Here",
        _ => "Whatever",
    }
}

/// The response the far end would send to what we sent (first transmit of `layer`).
fn answer(sent: &Request, status: u16) -> Message {
    Message::Response(response_to(sent, status, reason(status), Some("far")))
}

fn parse(bytes: &Bytes) -> Message {
    Message::parse(bytes).expect("the layer sends parseable messages")
}

fn parse_request(bytes: &Bytes) -> Request {
    match parse(bytes) {
        Message::Request(r) => r,
        Message::Response(r) => panic!("expected a request, got {}", r.status),
    }
}

struct Drive {
    layer: TransactionLayer,
    t0: Instant,
    now: Instant,
    /// (seconds since t0, bytes) of everything sent.
    sent: Vec<(f64, Bytes)>,
    events: Vec<(f64, TransactionEvent)>,
}

impl Drive {
    fn new() -> Self {
        Self::with_config(TimerConfig::default())
    }
    fn with_config(config: TimerConfig) -> Self {
        let t0 = Instant::now();
        Drive {
            layer: TransactionLayer::new(config, 1),
            t0,
            now: t0,
            sent: Vec::new(),
            events: Vec::new(),
        }
    }
    fn secs(&self) -> f64 {
        (self.now - self.t0).as_secs_f64()
    }
    fn collect(&mut self) {
        let at = self.secs();
        while let Some(t) = self.layer.poll_transmit() {
            self.sent.push((at, t.bytes));
        }
        while let Some(e) = self.layer.poll_event() {
            self.events.push((at, e));
        }
    }
    /// Runs the timers until nothing is scheduled or `limit` is reached.
    fn run_until(&mut self, limit: Duration) {
        self.collect();
        while let Some(at) = self.layer.poll_timeout() {
            if at > self.t0 + limit {
                break;
            }
            self.now = self.now.max(at);
            self.layer.handle_timeout(self.now);
            self.collect();
        }
        self.now = self.now.max(self.t0 + limit);
    }
    fn advance(&mut self, by: Duration) {
        let until = self.now + by - self.t0;
        self.run_until(until);
    }
    fn send(&mut self, request: Request, dest: Peer) -> ClientTransactionId {
        let id = self
            .layer
            .send_request(self.now, request, dest)
            .expect("valid request");
        self.collect();
        id
    }
    fn receive(&mut self, message: Message, source: Peer) {
        self.layer.handle_message(self.now, message, source);
        self.collect();
    }
    fn sent_times(&self) -> Vec<f64> {
        self.sent.iter().map(|(t, _)| *t).collect()
    }
    fn take_sent(&mut self) -> Vec<Bytes> {
        self.sent.drain(..).map(|(_, b)| b).collect()
    }
    fn take_events(&mut self) -> Vec<TransactionEvent> {
        self.events.drain(..).map(|(_, e)| e).collect()
    }
}

#[test]
fn client_retransmission_schedules_on_udp() {
    struct Case {
        method: Method,
        config: TimerConfig,
        sends: &'static [f64],
        timeout_at: f64,
    }
    let fast = TimerConfig {
        t1: Duration::from_millis(100),
        t2: Duration::from_millis(400),
        t4: Duration::from_secs(1),
    };
    let cases = [
        // Timer E: 0.5, 1, 2, 4, 4, 4 ... s intervals; Timer F at 64*T1.
        Case {
            method: Method::Register,
            config: TimerConfig::default(),
            sends: &[0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5],
            timeout_at: 32.0,
        },
        // Timer A: 0.5, 1, 2, 4, 8, 16 s intervals; Timer B at 64*T1.
        Case {
            method: Method::Invite,
            config: TimerConfig::default(),
            sends: &[0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5],
            timeout_at: 32.0,
        },
        // Configurable T1/T2: E doubles 0.1 -> 0.4 and stays there; F at 6.4 s.
        Case {
            method: Method::Options,
            config: fast,
            sends: &[
                0.0, 0.1, 0.3, 0.7, 1.1, 1.5, 1.9, 2.3, 2.7, 3.1, 3.5, 3.9, 4.3, 4.7, 5.1, 5.5,
                5.9, 6.3,
            ],
            timeout_at: 6.4,
        },
    ];
    for case in cases {
        let mut d = Drive::with_config(case.config);
        let id = d.send(
            request(case.method.clone(), None, "UDP"),
            Peer::udp(addr(PBX)),
        );
        d.run_until(Duration::from_secs(600));
        let times: Vec<f64> = d
            .sent_times()
            .iter()
            .map(|t| (t * 1000.0).round() / 1000.0)
            .collect();
        assert_eq!(times, case.sends, "{}", case.method);
        let bytes: Vec<&Bytes> = d.sent.iter().map(|(_, b)| b).collect();
        assert!(
            bytes.windows(2).all(|w| w[0] == w[1]),
            "retransmissions are byte-identical"
        );
        let events: Vec<_> = d
            .events
            .iter()
            .map(|(t, e)| ((t * 1000.0).round() / 1000.0, e.clone()))
            .collect();
        assert_eq!(
            events,
            vec![
                (
                    case.timeout_at,
                    TransactionEvent::Timeout {
                        id: TransactionId::Client(id)
                    }
                ),
                (
                    case.timeout_at,
                    TransactionEvent::Terminated {
                        id: TransactionId::Client(id)
                    }
                ),
            ],
            "{}",
            case.method
        );
        assert!(d.layer.is_empty());
        assert_eq!(d.layer.poll_timeout(), None);
    }
}

#[test]
fn non_invite_client_in_proceeding_retransmits_every_t2() {
    let mut d = Drive::new();
    let pbx = Peer::udp(addr(PBX));
    d.send(request(Method::Register, None, "UDP"), pbx);
    let sent = parse_request(&d.take_sent()[0]);
    d.advance(Duration::from_millis(100));
    d.receive(answer(&sent, 100), pbx);
    d.run_until(Duration::from_secs(20));
    let times: Vec<f64> = d.sent_times();
    // Timer E fired at 0.5 in Proceeding: from then on every T2.
    assert_eq!(times, vec![0.5, 4.5, 8.5, 12.5, 16.5]);
}

#[test]
fn ack_for_486_is_built_from_the_invite_and_resent_on_retransmission() {
    let mut d = Drive::new();
    let pbx = Peer::udp(addr(PBX));
    let mut invite = request(Method::Invite, Some("z9hG4bKinv1"), "UDP");
    // A second Via below ours must not appear in the ACK; the Route set must.
    invite
        .headers
        .push(HeaderName::Via, "SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKbelow");
    invite
        .headers
        .push(HeaderName::Route, "<sip:proxy1.example;lr>");
    invite
        .headers
        .push(HeaderName::Route, "<sip:proxy2.example;lr>");
    let id = d.send(invite.clone(), pbx);
    d.take_sent();
    d.advance(Duration::from_millis(200));
    let busy = answer(&invite, 486);
    d.receive(busy.clone(), pbx);

    let sent = d.take_sent();
    assert_eq!(sent.len(), 1);
    let ack = parse_request(&sent[0]);
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, invite.uri);
    let vias = ack.headers.typed_all::<Via>().expect("valid Via");
    assert_eq!(vias.len(), 1);
    assert_eq!(vias[0].branch(), Some("z9hG4bKinv1"));
    assert_eq!(
        ack.headers.get(&HeaderName::CallId),
        invite.headers.get(&HeaderName::CallId)
    );
    assert_eq!(
        ack.headers.get(&HeaderName::From),
        invite.headers.get(&HeaderName::From)
    );
    let to = ack
        .headers
        .typed::<To>()
        .expect("valid To")
        .expect("To present");
    assert_eq!(to.0.tag(), Some("far"));
    assert_eq!(
        ack.headers.typed::<CSeq>().expect("valid CSeq"),
        Some(CSeq {
            seq: 7,
            method: Method::Ack
        })
    );
    let routes: Vec<&str> = ack
        .headers
        .get_all(&HeaderName::Route)
        .map(|v| v.as_str())
        .collect();
    assert_eq!(
        routes,
        vec!["<sip:proxy1.example;lr>", "<sip:proxy2.example;lr>"]
    );

    let events = d.take_events();
    assert!(
        matches!(&events[..], [TransactionEvent::Response { id: i, response }] if *i == id && response.status == 486)
    );

    // The 486 again: the same ACK again, and the TU hears nothing.
    d.advance(Duration::from_secs(1));
    d.receive(busy, pbx);
    assert_eq!(d.take_sent(), sent);
    assert!(d.take_events().is_empty());

    // Timer D (32 s) ends it.
    d.run_until(Duration::from_secs(600));
    assert!(d.layer.is_empty());
    assert!(
        matches!(d.events.last(), Some((t, TransactionEvent::Terminated { .. })) if (*t - 32.2).abs() < 1e-6)
    );
}

#[test]
fn invite_2xx_is_passed_up_in_accepted_until_timer_m() {
    let mut d = Drive::new();
    let pbx = Peer::udp(addr(PBX));
    let invite = request(Method::Invite, Some("z9hG4bKinv2"), "UDP");
    let id = d.send(invite.clone(), pbx);
    d.take_sent();
    d.receive(answer(&invite, 180), pbx);
    d.receive(answer(&invite, 200), pbx);
    d.advance(Duration::from_secs(2));
    d.receive(answer(&invite, 200), pbx);
    // No ACK from the transaction for a 2xx, and no retransmissions after the 180.
    assert!(d.take_sent().is_empty());
    let statuses: Vec<u16> = d
        .take_events()
        .into_iter()
        .filter_map(|e| match e {
            TransactionEvent::Response { id: i, response } if i == id => Some(response.status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, vec![180, 200, 200]);
    d.run_until(Duration::from_secs(600));
    assert!(d.layer.is_empty());
    assert_eq!(
        d.events.last().map(|(t, _)| *t),
        Some(32.0),
        "Timer M = 64*T1 after the first 2xx"
    );
}

#[test]
fn server_absorbs_retransmitted_requests_and_resends_its_response() {
    let mut d = Drive::new();
    let pbx = Peer::udp(addr(PBX));
    let options = request(Method::Options, Some("z9hG4bKopt1"), "UDP");
    d.receive(Message::Request(options.clone()), pbx);
    let events = d.take_events();
    let (id, seen) = match &events[..] {
        [TransactionEvent::IncomingRequest {
            id,
            request,
            source,
        }] => {
            assert_eq!(*source, pbx);
            (*id, request.clone())
        }
        other => panic!("unexpected events {other:?}"),
    };
    // Retransmitted while the TU thinks: absorbed silently.
    d.receive(Message::Request(options.clone()), pbx);
    assert!(d.take_sent().is_empty());
    assert!(d.take_events().is_empty());

    d.layer
        .respond(d.now, id, response_to(&seen, 200, "OK", Some("t1")))
        .expect("server transaction alive");
    d.collect();
    let first = d.take_sent();
    assert_eq!(first.len(), 1);
    d.advance(Duration::from_secs(1));
    d.receive(Message::Request(options), pbx);
    assert_eq!(d.take_sent(), first, "the retransmission gets the same 200");
    assert!(d.take_events().is_empty());
    assert_eq!(d.layer.stats().absorbed_requests, 2);
    assert_eq!(
        d.layer
            .respond(d.now, id, response_to(&seen, 500, "No", None)),
        Err(RespondError::AlreadyFinal)
    );

    // Timer J: 64*T1 after the final response.
    d.run_until(Duration::from_secs(600));
    assert!(d.layer.is_empty());
    assert_eq!(d.events.last().map(|(t, _)| *t), Some(32.0));
}

#[test]
fn invite_server_timer_g_doubles_to_t2_and_timer_h_gives_up() {
    let mut d = Drive::new();
    let pbx = Peer::udp(addr(PBX));
    d.receive(
        Message::Request(request(Method::Invite, Some("z9hG4bKinv3"), "UDP")),
        pbx,
    );
    let id = match d.take_events().as_slice() {
        [TransactionEvent::IncomingRequest { id, .. }] => *id,
        other => panic!("unexpected events {other:?}"),
    };
    let invite = d.layer.server_request(id).expect("alive").clone();
    d.layer
        .respond(
            d.now,
            id,
            response_to(&invite, 486, "Busy Here", Some("t2")),
        )
        .expect("alive");
    d.run_until(Duration::from_secs(600));
    let times = d.sent_times();
    assert_eq!(
        times,
        vec![0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5],
        "Timer G: T1 doubling to T2, until Timer H"
    );
    let events: Vec<_> = d.take_events();
    assert_eq!(
        events,
        vec![
            TransactionEvent::Timeout {
                id: TransactionId::Server(id)
            },
            TransactionEvent::Terminated {
                id: TransactionId::Server(id)
            },
        ]
    );
    assert!(d.layer.is_empty());
}

#[test]
fn invite_server_ack_stops_retransmissions_and_timer_i_cleans_up() {
    let mut d = Drive::new();
    let pbx = Peer::udp(addr(PBX));
    let mut invite = request(Method::Invite, Some("z9hG4bKinv4"), "UDP");
    invite.headers.push(HeaderName::Timestamp, "54.3 0.1");
    d.receive(Message::Request(invite.clone()), pbx);
    let id = match d.take_events().as_slice() {
        [TransactionEvent::IncomingRequest { id, .. }] => *id,
        other => panic!("unexpected events {other:?}"),
    };
    // The TU is slow: 100 Trying goes out by itself after 200 ms, with the request's
    // Timestamp copied (§8.2.6.1).
    d.advance(Duration::from_millis(300));
    let sent = d.take_sent();
    assert_eq!(sent.len(), 1);
    assert!(
        matches!(parse(&sent[0]), Message::Response(r) if r.status == 100
        && r.headers.get(&HeaderName::Timestamp).map(|v| v.as_str()) == Some("54.3 0.1"))
    );
    // The INVITE again: the 100 again.
    d.receive(Message::Request(invite.clone()), pbx);
    assert_eq!(d.take_sent(), sent);

    let busy = response_to(&invite, 486, "Busy Here", Some("t4"));
    d.layer.respond(d.now, id, busy.clone()).expect("alive");
    d.advance(Duration::from_millis(600));
    assert_eq!(
        d.take_sent().len(),
        2,
        "the 486 and one Timer G retransmission"
    );
    // The caller's ACK (same branch, To from our 486).
    let client_side = InviteClientView::ack(&invite, &busy);
    d.receive(Message::Request(client_side.clone()), pbx);
    d.receive(Message::Request(client_side), pbx);
    d.run_until(Duration::from_secs(600));
    assert!(d.take_sent().is_empty(), "no retransmissions after the ACK");
    assert!(d.layer.is_empty());
    let events = d.take_events();
    assert_eq!(
        events,
        vec![TransactionEvent::Terminated {
            id: TransactionId::Server(id)
        }],
        "ACKs absorbed"
    );
}

/// Builds the ACK a caller sends for our non-2xx, the way our own client transaction does.
struct InviteClientView;
impl InviteClientView {
    fn ack(invite: &Request, response: &Response) -> Request {
        let top = build::top_via_raw(&invite.headers).expect("has Via");
        build::ack_for_non_2xx(invite, &top, 7, response)
    }
}

#[test]
fn reliable_transports_never_retransmit_and_skip_the_wait_states() {
    let mut d = Drive::new();
    let pbx = Peer::tcp(addr(PBX));
    let req = request(Method::Register, None, "TCP");
    d.send(req, pbx);
    d.run_until(Duration::from_secs(600));
    assert_eq!(d.sent_times(), vec![0.0], "no Timer E on TCP");
    assert!(
        matches!(d.events[0], (t, TransactionEvent::Timeout { .. }) if t == 32.0),
        "Timer F still runs"
    );
    assert!(d.layer.is_empty());

    // A final response on TCP ends the client transaction at once (Timer K = 0).
    let mut d = Drive::new();
    let req = request(Method::Options, None, "TCP");
    d.send(req, pbx);
    let sent = parse_request(&d.take_sent()[0]);
    d.receive(answer(&sent, 200), pbx);
    assert!(d.layer.is_empty());
    assert_eq!(d.layer.poll_timeout(), None);

    // Server side: 486 on TCP, no Timer G; the ACK ends it at once (Timer I = 0).
    let invite = request(Method::Invite, Some("z9hG4bKtcp1"), "TCP");
    d.receive(Message::Request(invite.clone()), pbx);
    let sid = match d.take_events().as_slice() {
        [_, _, TransactionEvent::IncomingRequest { id, .. }] => *id,
        other => panic!("unexpected events {other:?}"),
    };
    let busy = response_to(&invite, 486, "Busy Here", Some("t"));
    d.layer.respond(d.now, sid, busy.clone()).expect("alive");
    d.advance(Duration::from_secs(10));
    d.take_sent();
    d.receive(Message::Request(InviteClientView::ack(&invite, &busy)), pbx);
    assert!(d.layer.is_empty());
    assert!(d.take_sent().is_empty());
}

#[test]
fn stray_responses_are_dropped_and_counted() {
    let mut d = Drive::new();
    let pbx = Peer::udp(addr(PBX));
    let never_sent = request(Method::Register, Some("z9hG4bKnotours"), "UDP");
    d.receive(answer(&never_sent, 200), pbx);
    // Same branch as a live transaction but another method: still not a match (§17.1.3).
    let live = request(Method::Options, Some("z9hG4bKlive"), "UDP");
    d.send(live.clone(), pbx);
    let mut other_method = request(Method::Register, Some("z9hG4bKlive"), "UDP");
    other_method.headers.set(HeaderName::CSeq, "7 REGISTER");
    d.receive(answer(&other_method, 200), pbx);
    assert!(d.take_events().is_empty());
    assert_eq!(d.layer.stats().stray_responses, 2);
    assert_eq!(d.layer.len(), 1);
}

#[test]
fn cancel_is_matched_to_its_invite_and_a_2xx_ack_goes_to_the_tu() {
    let mut d = Drive::new();
    let pbx = Peer::udp(addr(PBX));
    let invite = request(Method::Invite, Some("z9hG4bKinv5"), "UDP");
    d.receive(Message::Request(invite.clone()), pbx);
    let mut cancel = request(Method::Cancel, Some("z9hG4bKinv5"), "UDP");
    cancel.headers.set(HeaderName::CSeq, "7 CANCEL");
    d.receive(Message::Request(cancel), pbx);
    let events = d.take_events();
    let invite_id = match &events[0] {
        TransactionEvent::IncomingRequest { id, .. } => *id,
        other => panic!("unexpected {other:?}"),
    };
    assert!(
        matches!(&events[1], TransactionEvent::Cancelled { invite, request, .. }
        if *invite == invite_id && request.method == Method::Cancel)
    );

    let ack = request(Method::Ack, Some("z9hG4bKnewbranch"), "UDP");
    d.receive(Message::Request(ack), pbx);
    assert!(
        matches!(d.take_events().as_slice(), [TransactionEvent::AckFor2xx { source, .. }] if *source == pbx)
    );
}

#[test]
fn received_and_rport_are_stamped_on_what_we_answer() {
    let mut d = Drive::new();
    // The request claims 192.0.2.10:5060 but arrives from a NAT's public side.
    let nat = Peer::udp(addr("203.0.113.9:40000"));
    d.receive(
        Message::Request(request(Method::Options, Some("z9hG4bKnat"), "UDP")),
        nat,
    );
    let id = match d.take_events().as_slice() {
        [TransactionEvent::IncomingRequest { id, .. }] => *id,
        other => panic!("unexpected {other:?}"),
    };
    let seen = d.layer.server_request(id).expect("alive").clone();
    d.layer
        .respond(d.now, id, response_to(&seen, 200, "OK", Some("x")))
        .expect("alive");
    d.collect();
    let sent = d.take_sent();
    let Message::Response(ok) = parse(&sent[0]) else {
        panic!("expected a response")
    };
    let via = ok.headers.typed::<Via>().expect("valid").expect("present");
    assert_eq!(via.received(), Some("203.0.113.9"));
    assert_eq!(via.rport(), Some(Some(40000)));
    assert_eq!(via.branch(), Some("z9hG4bKnat"));
}

#[test]
fn transport_errors_end_the_transactions_on_that_hop() {
    let mut d = Drive::new();
    let pbx = Peer::tcp(addr(PBX));
    let id = d.send(request(Method::Register, None, "TCP"), pbx);
    d.send(request(Method::Options, None, "UDP"), Peer::udp(addr(ME)));
    d.layer.handle_transport_error(d.now, pbx);
    d.collect();
    assert_eq!(
        d.take_events(),
        vec![
            TransactionEvent::TransportError {
                id: TransactionId::Client(id)
            },
            TransactionEvent::Terminated {
                id: TransactionId::Client(id)
            },
        ]
    );
    assert_eq!(d.layer.len(), 1);
}

#[test]
fn send_request_refuses_what_is_not_a_transaction() {
    let mut d = Drive::new();
    let pbx = Peer::udp(addr(PBX));
    let ack = request(Method::Ack, None, "UDP");
    assert_eq!(d.layer.send_request(d.now, ack, pbx), Err(SendError::Ack));
    let mut no_via = request(Method::Options, None, "UDP");
    no_via.headers.remove(&HeaderName::Via);
    assert_eq!(
        d.layer.send_request(d.now, no_via, pbx),
        Err(SendError::MissingVia)
    );
    let dup = request(Method::Options, Some("z9hG4bKdup"), "UDP");
    d.layer
        .send_request(d.now, dup.clone(), pbx)
        .expect("first is fine");
    assert!(matches!(
        d.layer.send_request(d.now, dup, pbx),
        Err(SendError::DuplicateBranch(_))
    ));
}

/// Fills `d` with `n` finished UDP transactions lingering in §17's wait states: half INVITEs
/// we sent that were answered 486 (Timer D, 32 s), half requests we answered 200 (Timer J,
/// 32 s). Returns the served requests.
fn linger(d: &mut Drive, n: usize) -> Vec<Request> {
    let pbx = Peer::udp(addr(PBX));
    let mut served = Vec::new();
    for i in 0..n {
        if i % 2 == 0 {
            let invite = request(Method::Invite, Some(&format!("z9hG4bKc{i}")), "UDP");
            let id = d.send(invite, pbx);
            let sent = d.layer.client_request(id).expect("alive").clone();
            d.receive(answer(&sent, 486), pbx);
        } else {
            let mut req = request(Method::Message, Some(&format!("z9hG4bKs{i}")), "UDP");
            req.headers.remove(&HeaderName::Via);
            req.headers.push(
                HeaderName::Via,
                format!("SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKs{i}"),
            );
            d.receive(Message::Request(req.clone()), pbx);
            let id = match d.take_events().pop() {
                Some(TransactionEvent::IncomingRequest { id, .. }) => id,
                other => panic!("expected a new request, got {other:?}"),
            };
            d.layer
                .respond(d.now, id, response_to(&req, 200, "OK", Some("me")))
                .expect("alive");
            served.push(req);
        }
        d.collect();
    }
    d.take_sent();
    d.take_events();
    assert_eq!(d.layer.len(), n);
    served
}

#[test]
fn a_retransmission_during_timer_j_is_absorbed_among_thousands_and_a_new_one_after_it() {
    let mut d = Drive::new();
    let pbx = Peer::udp(addr(PBX));
    let served = linger(&mut d, 10_000);
    let last = served.last().expect("some served").clone();
    d.advance(Duration::from_millis(31_900));
    assert_eq!(d.layer.len(), 10_000, "no wait state is over before 32 s");

    // Within Timer J: the same 200 again, nothing for the TU, no new transaction.
    d.receive(Message::Request(last.clone()), pbx);
    let resent = d.take_sent();
    assert_eq!(resent.len(), 1);
    match parse(&resent[0]) {
        Message::Response(r) => assert_eq!(r.status, 200),
        Message::Request(r) => panic!("expected the 200, got {}", r.method),
    }
    assert!(d.take_events().is_empty());
    assert_eq!(d.layer.stats().absorbed_requests, 1);
    assert_eq!(d.layer.len(), 10_000);

    // Timer J over: all of them end at 32 s, each one reported once.
    d.advance(Duration::from_millis(200));
    assert!(d.layer.is_empty());
    assert_eq!(d.layer.poll_timeout(), None);
    let ended = d.take_events();
    assert_eq!(ended.len(), 10_000);
    assert!(ended
        .iter()
        .all(|e| matches!(e, TransactionEvent::Terminated { .. })));

    // The same request now starts a new transaction.
    d.receive(Message::Request(last), pbx);
    assert!(d.take_sent().is_empty());
    assert!(matches!(
        &d.take_events()[..],
        [TransactionEvent::IncomingRequest { .. }]
    ));
}

/// A burst of calls leaves thousands of transactions lingering; once the last is gone the
/// layer's tables hold no room for them any more (a soak's memory comes back after its
/// linger timers, tests/soak.rs).
#[test]
fn once_every_lingering_transaction_is_gone_the_tables_give_back_their_room() {
    let mut d = Drive::new();
    let idle_room = d.layer.room();
    linger(&mut d, 5_000);
    assert!(d.layer.room() >= 5_000, "{}", d.layer.room());
    d.advance(Duration::from_secs(33));
    assert!(d.layer.is_empty());
    assert!(d.layer.room() <= idle_room.max(16), "{}", d.layer.room());
}

#[test]
fn a_new_transaction_among_ten_thousand_lingering_ones_runs_on_time() {
    let mut d = Drive::new();
    let pbx = Peer::udp(addr(PBX));
    linger(&mut d, 10_000);
    assert_eq!(d.layer.poll_timeout(), Some(d.t0 + Duration::from_secs(32)));

    d.advance(Duration::from_secs(1));
    let id = d.send(request(Method::Options, Some("z9hG4bKnew"), "UDP"), pbx);
    assert_eq!(d.take_sent().len(), 1);
    // Its Timer E is the earliest deadline now; nothing fires before it.
    let e = d.t0 + Duration::from_millis(1_500);
    assert_eq!(d.layer.poll_timeout(), Some(e));
    d.layer.handle_timeout(e - Duration::from_millis(1));
    d.collect();
    assert!(d.take_sent().is_empty());
    d.now = e;
    d.layer.handle_timeout(e);
    d.collect();
    assert_eq!(d.take_sent().len(), 1, "exactly its retransmission");
    assert!(
        d.take_events().is_empty(),
        "no lingering transaction touched"
    );
    assert_eq!(
        d.layer.poll_timeout(),
        Some(d.t0 + Duration::from_millis(2_500))
    );

    let sent = d.layer.client_request(id).expect("alive").clone();
    d.receive(answer(&sent, 200), pbx);
    assert!(matches!(
        &d.take_events()[..],
        [TransactionEvent::Response { id: got, .. }] if *got == id
    ));
    // Timer K (T4 = 5 s) ends it at 6.5 s, long before the others.
    d.advance(Duration::from_secs(6));
    assert!(matches!(
        &d.take_events()[..],
        [TransactionEvent::Terminated { id: TransactionId::Client(got) }] if *got == id
    ));
    assert_eq!(d.layer.len(), 10_000);
    assert_eq!(d.layer.poll_timeout(), Some(d.t0 + Duration::from_secs(32)));
    d.advance(Duration::from_secs(30));
    assert!(d.layer.is_empty());
}

#[test]
fn poll_timeout_follows_the_earliest_deadline_as_timers_stop_and_start() {
    let mut d = Drive::new();
    let pbx = Peer::udp(addr(PBX));
    let at = |d: &Drive, ms: u64| Some(d.t0 + Duration::from_millis(ms));
    // Client INVITE at 0 (Timer A at 500 ms), incoming INVITE at 100 ms (100 Trying at
    // 300 ms), client OPTIONS at 200 ms (Timer E at 700 ms).
    let invite = d.send(request(Method::Invite, Some("z9hG4bKinv"), "UDP"), pbx);
    assert_eq!(d.layer.poll_timeout(), at(&d, 500));
    d.now += Duration::from_millis(100);
    let mut incoming = request(Method::Invite, Some("z9hG4bKin"), "UDP");
    incoming.headers.remove(&HeaderName::Via);
    incoming.headers.push(
        HeaderName::Via,
        "SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKin",
    );
    d.receive(Message::Request(incoming.clone()), pbx);
    let server = match &d.take_events()[..] {
        [TransactionEvent::IncomingRequest { id, .. }] => *id,
        other => panic!("unexpected events {other:?}"),
    };
    assert_eq!(d.layer.poll_timeout(), at(&d, 300));
    d.now += Duration::from_millis(100);
    d.send(request(Method::Options, Some("z9hG4bKopt"), "UDP"), pbx);
    assert_eq!(d.layer.poll_timeout(), at(&d, 300));

    // The TU rings: no 100 Trying needed, the INVITE's Timer A is next.
    d.layer
        .respond(
            d.now,
            server,
            response_to(&incoming, 180, "Ringing", Some("me")),
        )
        .expect("alive");
    assert_eq!(d.layer.poll_timeout(), at(&d, 500));
    // A 1xx to our INVITE stops Timers A and B: Timer E is next.
    let sent = d.layer.client_request(invite).expect("alive").clone();
    d.receive(answer(&sent, 180), pbx);
    assert_eq!(d.layer.poll_timeout(), at(&d, 700));
    // Woken early, nothing fires and the deadline stays.
    d.take_sent();
    d.layer.handle_timeout(d.t0 + Duration::from_millis(699));
    d.collect();
    assert!(d.take_sent().is_empty());
    assert_eq!(d.layer.poll_timeout(), at(&d, 700));
}

#[test]
fn an_rfc_2543_invite_without_the_cookie_is_matched_by_its_other_fields() {
    // §17.2.3: no `z9hG4bK`: the retransmission and the ACK of our failure are matched by
    // the top Via, Call-ID, CSeq number and From tag instead of the branch.
    let mut d = Drive::new();
    let pbx = Peer::udp(addr(PBX));
    let invite = request(Method::Invite, Some("old2543"), "UDP");
    d.receive(Message::Request(invite.clone()), pbx);
    let id = match d.take_events().as_slice() {
        [TransactionEvent::IncomingRequest { id, .. }] => *id,
        other => panic!("unexpected events {other:?}"),
    };
    d.receive(Message::Request(invite.clone()), pbx);
    assert!(d.take_events().is_empty(), "the retransmission is absorbed");
    let busy = response_to(&invite, 486, "Busy Here", Some("t9"));
    d.layer.respond(d.now, id, busy.clone()).expect("alive");
    let ack = InviteClientView::ack(&invite, &busy);
    d.receive(Message::Request(ack), pbx);
    d.run_until(Duration::from_secs(600));
    let resent = d.take_sent();
    assert_eq!(resent.len(), 1, "the 486 once: the ACK stopped Timer G");
    assert_eq!(
        d.take_events(),
        vec![TransactionEvent::Terminated {
            id: TransactionId::Server(id)
        }]
    );
    assert!(d.layer.is_empty());
}
