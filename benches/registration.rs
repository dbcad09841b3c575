//! Registration time over UDP against TLS, side by side in one run: the signaling core
//! (`Endpoint` with its `Registration`) driven by the agent's own transports against a real
//! Kamailio (MD5 digest, its TLS listener with a certificate made at run time). One sample is
//! one full registration from nothing: REGISTER, 401, REGISTER with the digest, 200; over
//! TLS each sample also opens a new connection (TCP, handshake, certificate check), as the
//! agent does when it starts or after its connection dropped. The unregister after each
//! sample is not timed.
//!
//! `cargo bench --bench registration -- --warm-up-time 1 --measurement-time 5`

use criterion::{criterion_group, criterion_main, Criterion};
use signaling::{
    Endpoint, EndpointConfig, EndpointEvent, Inbound, Password, Peer, RegistrationConfig,
    RegistrationState, TimerConfig, TlsClient, TlsSettings, Transports,
};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use testbed::tls::{TestCa, Validity};
use testbed::{Kamailio, KamailioOptions};
use tokio::runtime::Runtime;
use tokio::sync::mpsc::Receiver;

/// Gives up on one registration after this long (the bench then panics with what it saw).
const LIMIT: Duration = Duration::from_secs(10);

struct Side {
    transports: Transports,
    inbound: Receiver<Inbound>,
    registrar: Peer,
}

async fn side(registrar: Peer, tls: Option<&TlsSettings>) -> Side {
    let (transports, inbound) = Transports::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let transports = match tls {
        Some(settings) => transports.with_tls(TlsClient::new(settings).unwrap()),
        None => transports,
    };
    Side {
        transports,
        inbound,
        registrar,
    }
}

/// Runs `endpoint` until `done` says so; returns when that happened.
async fn drive(
    side: &mut Side,
    endpoint: &mut Endpoint,
    done: impl Fn(&EndpointEvent) -> bool,
) -> Instant {
    let give_up = Instant::now() + LIMIT;
    loop {
        while let Some(t) = endpoint.poll_transmit() {
            if let Err(e) = side.transports.send(t.dest, t.bytes).await {
                let why = signaling::failure_of(&e);
                endpoint.handle_transport_failure(Instant::now(), t.dest, why);
            }
        }
        while let Some(event) = endpoint.poll_event() {
            if done(&event) {
                return Instant::now();
            }
        }
        let deadline = endpoint.poll_timeout().unwrap_or(give_up).min(give_up);
        assert!(Instant::now() < give_up, "no registration within {LIMIT:?}");
        tokio::select! {
            Some(input) = side.inbound.recv() => match input {
                Inbound::Message { source, bytes } => {
                    endpoint.handle_datagram(Instant::now(), source, bytes)
                }
                Inbound::Closed { peer, failure: Some(why), .. } => {
                    endpoint.handle_transport_failure(Instant::now(), peer, why)
                }
                Inbound::Closed { peer, .. } => {
                    endpoint.handle_transport_error(Instant::now(), peer)
                }
            },
            _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {
                endpoint.handle_timeout(Instant::now())
            }
        }
    }
}

/// One registration from nothing, timed; then the unregister, untimed. Over TLS the
/// connection is dropped afterwards, so the next sample opens a new one.
async fn register_once(side: &mut Side, seed: u64) -> Duration {
    let local = side.transports.local_addr();
    let mut reg = RegistrationConfig::new(
        side.registrar,
        "127.0.0.1",
        "1001",
        Password::new("secret1001"),
        local,
    );
    reg.expires = 60;
    let mut endpoint = Endpoint::new(EndpointConfig {
        registration: Some(reg),
        timers: TimerConfig::default(),
        deliver_calls: false,
        seed,
    });
    let start = Instant::now();
    endpoint.register(start);
    let registered = drive(side, &mut endpoint, |e| {
        matches!(
            e,
            EndpointEvent::RegistrationChanged(RegistrationState::Registered { .. })
        )
    })
    .await;
    endpoint.unregister(Instant::now());
    drive(side, &mut endpoint, |e| {
        matches!(e, EndpointEvent::Unregistered { .. })
    })
    .await;
    side.transports.shutdown();
    registered - start
}

fn registration(c: &mut Criterion) {
    if !testbed::which("kamailio") {
        eprintln!("registration bench: kamailio is not installed (make deps); skipped");
        return;
    }
    let ca = TestCa::new("Bench CA").unwrap();
    let cert = ca.issue("pbx", &["pbx.test"], Validity::Current).unwrap();
    let kam =
        Kamailio::start(KamailioOptions::md5().with_tls(&cert.cert_file, &cert.key_file)).unwrap();
    let tls_addr: SocketAddr = kam.tls_addr().unwrap();
    let mut settings = TlsSettings::new(tls_addr, "pbx.test");
    settings.ca_file = Some(ca.ca_file());
    let rt = Runtime::new().unwrap();

    let mut group = c.benchmark_group("registration");
    let mut seed = 0u64;
    for (name, registrar, tls) in [
        ("udp", Peer::udp(kam.addr()), None),
        ("tls", Peer::tls(tls_addr), Some(&settings)),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        seed += 1;
                        let mut s = side(registrar, tls).await;
                        total += register_once(&mut s, seed).await;
                    }
                    total
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = registration
}
criterion_main!(benches);
