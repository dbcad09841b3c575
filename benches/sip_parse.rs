//! SIP parsing and printing: our `signaling::Message` parser against rsip 0.4, on the two messages
//! a softphone handles most (an INVITE with SDP and a REGISTER with Authorization).
//!
//! `cargo bench --bench sip_parse -- --warm-up-time 1 --measurement-time 3`
//!
//! A counting global allocator reports allocations per operation once at start.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rsip::prelude::*;
use signaling::typed::{CSeq, CallId, From, To, Via};
use signaling::Message;
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Counts allocations (not bytes) so the bench can report allocations per parse.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// An INVITE as a PBX proxy forwards it: Record-Route, two Vias, an SDP offer.
const INVITE: &str = "INVITE sip:2001@192.168.1.30:5060;transport=udp SIP/2.0\r\n\
Record-Route: <sip:203.0.113.10;r2=on;lr;ftag=8sK2Jx1>\r\n\
Via: SIP/2.0/UDP 10.0.0.10;branch=z9hG4bK0b2f.9a1c3e2e4c1e1e7b2f9d9c1b6a9d2a1f.0\r\n\
Via: SIP/2.0/UDP 192.168.1.20:5060;received=198.51.100.4;rport=5060;branch=z9hG4bKPjf3a1e2d4\r\n\
Max-Forwards: 69\r\n\
From: \"Alice\" <sip:1001@sip.example.com>;tag=8sK2Jx1\r\n\
To: <sip:2001@sip.example.com>\r\n\
Contact: <sip:1001@198.51.100.4:5060;ob>\r\n\
Call-ID: 5f3c2b1a-9e8d-4c7b-a6f5-e4d3c2b1a098\r\n\
CSeq: 4711 INVITE\r\n\
Allow: INVITE, ACK, CANCEL, BYE, UPDATE, PRACK, OPTIONS, REFER, NOTIFY, INFO\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 229\r\n\
\r\n\
v=0\r\n\
o=- 3912345678 3912345678 IN IP4 192.168.1.20\r\n\
s=softphone\r\n\
c=IN IP4 192.168.1.20\r\n\
t=0 0\r\n\
m=audio 40000 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

/// A REGISTER answering a digest challenge.
const REGISTER: &str = "REGISTER sip:sip.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.168.1.20:5060;rport;branch=z9hG4bK.Rn0v2mXy\r\n\
From: <sip:1001@sip.example.com>;tag=dnR3xzp2K\r\n\
To: <sip:1001@sip.example.com>\r\n\
CSeq: 21 REGISTER\r\n\
Call-ID: 7bXo1v-3HbGd2S2WQ1b9gQ..\r\n\
Max-Forwards: 70\r\n\
Contact: <sip:1001@192.168.1.20:5060;transport=udp>;expires=3600\r\n\
Authorization: Digest username=\"1001\", realm=\"sip.example.com\", nonce=\"ZVxGk2VcRWcxb3J0ZWQtbm9uY2UtdmFsdWU=\", uri=\"sip:sip.example.com\", response=\"6629fae49393a05397450978507c4ef1\", algorithm=MD5, cnonce=\"0a4f113b\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\", qop=auth, nc=00000001\r\n\
Expires: 3600\r\n\
User-Agent: softphone/0.1\r\n\
Content-Length: 0\r\n\
\r\n";

fn ours_parse(bytes: &[u8]) -> Message {
    Message::parse(bytes).expect("benchmark message parses")
}

fn ours_parse_typed(bytes: &[u8]) -> usize {
    let m = ours_parse(bytes);
    let h = m.headers();
    let via = h.typed::<Via>().ok().flatten().expect("Via");
    let from = h.typed::<From>().ok().flatten().expect("From");
    let to = h.typed::<To>().ok().flatten().expect("To");
    let cseq = h.typed::<CSeq>().ok().flatten().expect("CSeq");
    let call_id = h.typed::<CallId>().ok().flatten().expect("Call-ID");
    via.params.len() + from.params.len() + to.params.len() + cseq.seq as usize + call_id.0.len()
}

fn rsip_parse(bytes: &[u8]) -> rsip::SipMessage {
    rsip::SipMessage::try_from(bytes).expect("rsip parses the benchmark message")
}

fn rsip_parse_typed(bytes: &[u8]) -> usize {
    let m = rsip_parse(bytes);
    let via = m.via_header().and_then(|v| v.typed()).expect("rsip Via");
    let from = m.from_header().and_then(|v| v.typed()).expect("rsip From");
    let to = m.to_header().and_then(|v| v.typed()).expect("rsip To");
    let cseq = m.cseq_header().and_then(|v| v.typed()).expect("rsip CSeq");
    let call_id = m.call_id_header().expect("rsip Call-ID");
    via.params.len()
        + from.params.len()
        + to.params.len()
        + cseq.seq as usize
        + call_id.value().len()
}

/// Allocations made by one call of `f` (after a warm-up call, so lazy statics don't count).
fn allocations<T>(f: impl Fn() -> T) -> usize {
    black_box(f());
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    black_box(f());
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

fn report_allocations() {
    for (name, msg) in [("INVITE", INVITE), ("REGISTER", REGISTER)] {
        let b = msg.as_bytes();
        let parsed = ours_parse(b);
        eprintln!(
            "{name} ({} bytes): allocations per parse: ours {}, rsip {}; parse + typed Via/From/To/CSeq/Call-ID: ours {}, rsip {}; print: ours {}",
            b.len(),
            allocations(|| ours_parse(b)),
            allocations(|| rsip_parse(b)),
            allocations(|| ours_parse_typed(b)),
            allocations(|| rsip_parse_typed(b)),
            allocations(|| parsed.to_bytes()),
        );
    }
}

/// Best time per call of `f` over one batch.
fn batch<T>(f: &impl Fn() -> T, n: u32) -> Duration {
    let t = Instant::now();
    for _ in 0..n {
        black_box(f());
    }
    t.elapsed() / n
}

/// Ours against rsip in alternating batches, best batch of each: on a shared machine whose
/// load changes from second to second, this ratio is steadier than comparing criterion
/// runs made seconds apart.
fn report_interleaved_ratio() {
    for (name, msg) in [("INVITE", INVITE), ("REGISTER", REGISTER)] {
        let b = msg.as_bytes();
        let (ours, theirs) = (|| ours_parse(b), || rsip_parse(b));
        let (ours_t, theirs_t) = (|| ours_parse_typed(b), || rsip_parse_typed(b));
        let mut best = [Duration::MAX; 4];
        for _ in 0..40 {
            best[0] = best[0].min(batch(&ours, 500));
            best[1] = best[1].min(batch(&theirs, 500));
            best[2] = best[2].min(batch(&ours_t, 500));
            best[3] = best[3].min(batch(&theirs_t, 500));
        }
        let ratio = |a: Duration, b: Duration| b.as_secs_f64() / a.as_secs_f64();
        eprintln!(
            "{name}: interleaved best-of-40: parse ours {:?}, rsip {:?} (rsip/ours {:.1}x); parse + typed ours {:?}, rsip {:?} ({:.1}x)",
            best[0],
            best[1],
            ratio(best[0], best[1]),
            best[2],
            best[3],
            ratio(best[2], best[3]),
        );
    }
}

/// `SIP_PARSE_LOOP=<ours|ours_typed|rsip|rsip_typed>:<invite|register>:<n>` parses one
/// message `n` times and exits, for `valgrind --tool=callgrind` instruction counts (see
/// docs/benchmarks.md): the difference between runs with two values of `n` is the cost
/// of `n` parses, deterministic on a shared machine.
fn profile_loop() -> bool {
    let Ok(spec) = std::env::var("SIP_PARSE_LOOP") else {
        return false;
    };
    let mut parts = spec.split(':');
    let (which, msg, n) = (parts.next(), parts.next(), parts.next());
    let msg = match msg {
        Some("register") => REGISTER,
        _ => INVITE,
    }
    .as_bytes();
    let n: usize = n.and_then(|n| n.parse().ok()).unwrap_or(1000);
    for _ in 0..n {
        match which {
            Some("ours_typed") => {
                black_box(ours_parse_typed(black_box(msg)));
            }
            Some("rsip") => {
                black_box(rsip_parse(black_box(msg)));
            }
            Some("rsip_typed") => {
                black_box(rsip_parse_typed(black_box(msg)));
            }
            _ => {
                black_box(ours_parse(black_box(msg)));
            }
        }
    }
    true
}

fn bench(c: &mut Criterion) {
    if profile_loop() {
        std::process::exit(0);
    }
    report_allocations();
    report_interleaved_ratio();
    for (name, msg) in [("invite", INVITE), ("register", REGISTER)] {
        let bytes = msg.as_bytes();
        let shared = Bytes::from_static(bytes);
        let parsed = ours_parse(bytes);

        let mut g = c.benchmark_group(format!("sip_parse/{name}"));
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function("ours_parse", |b| b.iter(|| ours_parse(black_box(bytes))));
        g.bench_function("ours_parse_bytes_zero_copy", |b| {
            b.iter(|| Message::parse_bytes(black_box(shared.clone())).expect("parses"))
        });
        g.bench_function("rsip_parse", |b| b.iter(|| rsip_parse(black_box(bytes))));
        g.bench_function("ours_parse_typed", |b| {
            b.iter(|| ours_parse_typed(black_box(bytes)))
        });
        g.bench_function("rsip_parse_typed", |b| {
            b.iter(|| rsip_parse_typed(black_box(bytes)))
        });
        g.bench_function("ours_print", |b| b.iter(|| black_box(&parsed).to_bytes()));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
