//! The transaction layer's cost per input with N transactions alive or lingering.
//!
//! A call leaves transactions behind for RFC 3261 §17's wait states: a completed INVITE
//! client transaction for 32 s (Timer D), a CANCEL or other non-INVITE server transaction
//! for 32 s (Timer J). Under load an agent holds thousands. Each case below first fills a
//! layer with N such transactions (half INVITE clients answered 486, half non-INVITE
//! servers answered 200, all over UDP, none due), then measures one input plus the
//! `poll_timeout` the driver calls after every input:
//!
//! - `new_server_tcp`: a new request arrives over TCP, is answered 200 (the transaction ends
//!   at once, so N stays the same);
//! - `new_client_tcp`: we send a request over TCP and its 200 arrives;
//! - `retransmission_udp`: a lingering request arrives again and is absorbed (the 200 is
//!   re-sent).
//!
//! Messages are parsed in the untimed setup, so the figures are the layer's own cost.
//!
//! `cargo bench -p signaling --bench transaction_layer -- --warm-up-time 1 --measurement-time 2`

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion};
use signaling::{response_to, TimerConfig, TransactionEvent, TransactionLayer};
use signaling::{Message, Request};
use signaling::{Peer, TransportKind};
use std::hint::black_box;
use std::net::SocketAddr;
use std::time::Instant;

const SIZES: [usize; 3] = [10, 1000, 10_000];

fn far() -> SocketAddr {
    "127.0.0.1:5080".parse().expect("literal")
}

fn request(method: &str, branch: &str, via_host: &str, transport: &str) -> Request {
    let text = format!(
        "{method} sip:1002@pbx.example SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {via_host};branch=z9hG4bK{branch}\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:1001@pbx.example>;tag=f{branch}\r\n\
         To: <sip:1002@pbx.example>\r\n\
         Call-ID: {branch}@bench\r\n\
         CSeq: 1 {method}\r\n\
         Content-Length: 0\r\n\r\n"
    );
    match Message::parse(text.as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("the bench's request does not parse: {other:?}"),
    }
}

fn drain(layer: &mut TransactionLayer) -> Option<signaling::ServerTransactionId> {
    let mut incoming = None;
    while let Some(t) = layer.poll_transmit() {
        black_box(t);
    }
    while let Some(e) = layer.poll_event() {
        if let TransactionEvent::IncomingRequest { id, .. } = e {
            incoming = Some(id);
        }
    }
    incoming
}

/// A layer holding `n` lingering transactions, and the requests of its server ones.
fn lingering(n: usize, now: Instant) -> (TransactionLayer, Vec<Request>) {
    let mut layer = TransactionLayer::new(TimerConfig::default(), 7);
    let udp = Peer::udp(far());
    let mut served = Vec::new();
    for i in 0..n {
        if i % 2 == 0 {
            // An INVITE we sent, answered 486: Completed, Timer D.
            let invite = request("INVITE", &format!("c{i}"), "127.0.0.1:5060", "UDP");
            let id = layer.send_request(now, invite, udp).expect("valid INVITE");
            let sent = layer.client_request(id).expect("just started").clone();
            drain(&mut layer);
            let busy = response_to(&sent, 486, "Busy Here", Some("far"));
            layer.handle_message(now, Message::Response(busy), udp);
        } else {
            // A request we answered 200: Completed, Timer J.
            let req = request("MESSAGE", &format!("s{i}"), "127.0.0.1:5080", "UDP");
            layer.handle_message(now, Message::Request(req.clone()), udp);
            let id = drain(&mut layer).expect("a new server transaction");
            let ok = response_to(&req, 200, "OK", Some("me"));
            layer.respond(now, id, ok).expect("answerable");
            served.push(req);
        }
        drain(&mut layer);
    }
    assert_eq!(layer.len(), n, "every transaction lingers");
    (layer, served)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("transaction_layer");
    let now = Instant::now();
    let tcp = Peer {
        transport: TransportKind::Tcp,
        addr: far(),
    };
    for n in SIZES {
        let (mut layer, _) = lingering(n, now);
        let mut seq = 0u64;
        group.bench_function(BenchmarkId::new("new_server_tcp", n), |b| {
            b.iter_batched(
                || {
                    seq += 1;
                    request("OPTIONS", &format!("t{seq}"), "127.0.0.1:5080", "TCP")
                },
                |req| {
                    layer.handle_message(now, Message::Request(req.clone()), tcp);
                    let id = drain(&mut layer).expect("a new server transaction");
                    let ok = response_to(&req, 200, "OK", Some("me"));
                    layer.respond(now, id, ok).expect("answerable");
                    drain(&mut layer);
                    black_box(layer.poll_timeout())
                },
                BatchSize::SmallInput,
            )
        });
        assert_eq!(layer.len(), n, "the TCP transactions ended");

        group.bench_function(BenchmarkId::new("new_client_tcp", n), |b| {
            b.iter_batched(
                || {
                    seq += 1;
                    let req = request("OPTIONS", &format!("u{seq}"), "127.0.0.1:5060", "TCP");
                    let ok = Message::Response(response_to(&req, 200, "OK", Some("far")));
                    (req, ok)
                },
                |(req, ok)| {
                    layer.send_request(now, req, tcp).expect("valid");
                    drain(&mut layer);
                    layer.handle_message(now, ok, tcp);
                    drain(&mut layer);
                    black_box(layer.poll_timeout())
                },
                BatchSize::SmallInput,
            )
        });
        assert_eq!(layer.len(), n, "the TCP transactions ended");
    }
    for n in SIZES {
        let (mut layer, served) = lingering(n, now);
        let udp = Peer::udp(far());
        let mut i = 0usize;
        group.bench_function(BenchmarkId::new("retransmission_udp", n), |b| {
            b.iter_batched(
                || {
                    i = (i + 1) % served.len();
                    Message::Request(served[i].clone())
                },
                |req| {
                    layer.handle_message(now, req, udp);
                    drain(&mut layer);
                    black_box(layer.poll_timeout())
                },
                BatchSize::SmallInput,
            )
        });
        assert!(layer.stats().absorbed_requests > 0);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
