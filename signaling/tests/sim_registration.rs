//! Tier (b): our `Endpoint` registering with a simulated registrar over `netsim`, on a
//! virtual clock. Every scenario is deterministic per seed.

use bytes::Bytes;
use netsim::{LinkConfig, NodeId, Sim};
use signaling::typed::{Authorization, CSeq, Contact, Expires, MinExpires, Via, WwwAuthenticate};
use signaling::Peer;
use signaling::{response_to, TimerConfig};
use signaling::{verify_request, DigestAlgorithm, DigestChallenge, Password};
use signaling::{EndpointConfig, EndpointEvent};
use signaling::{HeaderName, Message, Method, Request, Response};
use signaling::{RegistrationConfig, RegistrationError, RegistrationState};
use simua::{addr, Either, Outbox, Responder, Server, SimEndpoint};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const REALM: &str = "pbx.example";
const PASSWORD: &str = "s3cret";

fn registrar_addr() -> SocketAddr {
    addr("10.0.0.1:5060")
}

fn phone_addr() -> SocketAddr {
    addr("10.0.0.2:5060")
}

/// A registrar as small as a test can have it: one account, digest with a nonce that
/// changes on restart, grants `min(requested, max_grant)`, optional Min-Expires (423).
struct Registrar {
    addr: SocketAddr,
    password: Password,
    nonce: String,
    restarts: u32,
    max_grant: u32,
    min_expires: Option<u32>,
    /// While true, every datagram is ignored (a restart in progress).
    silent: bool,
    /// Contact address -> expiry.
    bindings: BTreeMap<String, Instant>,
    /// Every REGISTER datagram received while listening: (time, CSeq, Contact values).
    registers: Vec<(Instant, u32, Vec<String>)>,
}

impl Registrar {
    fn new() -> Self {
        Registrar {
            addr: registrar_addr(),
            password: Password::new(PASSWORD),
            nonce: "nonce-0".into(),
            restarts: 0,
            max_grant: 120,
            min_expires: None,
            silent: false,
            bindings: BTreeMap::new(),
            registers: Vec::new(),
        }
    }

    fn restart(&mut self) {
        self.restarts += 1;
        self.nonce = format!("nonce-{}", self.restarts);
        self.bindings.clear();
    }

    fn answer(&mut self, now: Instant, request: Request) -> Option<Response> {
        if request.method != Method::Register {
            return Some(response_to(
                &request,
                405,
                "Method Not Allowed",
                Some("reg"),
            ));
        }
        let cseq = request.headers.typed::<CSeq>().ok()??.seq;
        let contacts = request.headers.typed_all::<Contact>().ok()?;
        self.registers.push((
            now,
            cseq,
            request
                .headers
                .get_all(&HeaderName::Contact)
                .map(|c| c.to_string())
                .collect(),
        ));
        let authorized = match request.headers.typed::<Authorization>() {
            Ok(Some(Authorization(creds))) => {
                verify_request(&creds, &request, &self.password, &self.nonce)
            }
            _ => false,
        };
        if !authorized {
            let mut challenge = response_to(&request, 401, "Unauthorized", Some("reg"));
            let digest = DigestChallenge::new(REALM, self.nonce.clone(), DigestAlgorithm::Md5);
            challenge
                .headers
                .push_typed(&WwwAuthenticate(digest.to_challenge()));
            return Some(challenge);
        }
        let default_expires = request
            .headers
            .typed::<Expires>()
            .ok()
            .flatten()
            .map_or(3600, |e| e.0);
        let mut ok = response_to(&request, 200, "OK", Some("reg"));
        for contact in contacts {
            let Contact::Addr(mut na) = contact else {
                continue;
            };
            let asked = na
                .params
                .value("expires")
                .and_then(|v| v.parse().ok())
                .unwrap_or(default_expires);
            if asked != 0 {
                if let Some(min) = self.min_expires.filter(|m| asked < *m) {
                    let mut brief = response_to(&request, 423, "Interval Too Brief", Some("reg"));
                    brief.headers.push_typed(&MinExpires(min));
                    return Some(brief);
                }
            }
            let key = na.uri.to_string();
            let granted = asked.min(self.max_grant);
            if granted == 0 {
                self.bindings.remove(&key);
                continue;
            }
            self.bindings
                .insert(key, now + Duration::from_secs(u64::from(granted)));
            na.params.set("expires", Some(&granted.to_string()));
            ok.headers.push_typed(&Contact::Addr(na));
        }
        Some(ok)
    }
}

impl Responder for Registrar {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
    fn respond(&mut self, now: Instant, from: SocketAddr, payload: Bytes, out: &mut Outbox) {
        if self.silent {
            return;
        }
        let Ok(Message::Request(mut request)) = Message::parse(&payload) else {
            return;
        };
        // Like any registrar behind rport (RFC 3581): tell the client where we saw it.
        if let Ok(Some(mut via)) = request.headers.typed::<Via>() {
            via.params.set("received", Some(&from.ip().to_string()));
            if via.params.contains("rport") {
                via.params.set("rport", Some(&from.port().to_string()));
            }
            // Our phone sends a single Via, so replacing them all is enough here.
            request.headers.set_typed(&via);
        }
        if let Some(response) = self.answer(now, request) {
            out.push((from, response.to_bytes()));
        }
    }
}

/// What the tests read from our endpoint's record.
trait PhoneLog {
    fn state(&self) -> &RegistrationState;
    fn register_times(&self) -> Vec<Instant>;
    fn registered_at(&self) -> Vec<Instant>;
    fn unregistered(&self) -> Option<bool>;
}

impl PhoneLog for SimEndpoint {
    fn state(&self) -> &RegistrationState {
        self.endpoint
            .registration_state()
            .expect("configured with a registration")
    }

    /// Times of REGISTER datagrams sent (keep-alives excluded).
    fn register_times(&self) -> Vec<Instant> {
        self.sent
            .iter()
            .filter(|(_, b)| b.starts_with(b"REGISTER"))
            .map(|(t, _)| *t)
            .collect()
    }

    fn registered_at(&self) -> Vec<Instant> {
        self.events
            .iter()
            .filter(|(_, e)| {
                matches!(
                    e,
                    EndpointEvent::RegistrationChanged(RegistrationState::Registered { .. })
                )
            })
            .map(|(t, _)| *t)
            .collect()
    }

    fn unregistered(&self) -> Option<bool> {
        self.events.iter().find_map(|(_, e)| match e {
            EndpointEvent::Unregistered { clean } => Some(*clean),
            _ => None,
        })
    }
}

type Party = Either<Box<SimEndpoint>, Server<Registrar>>;

const PHONE: NodeId = NodeId(0);
const REGISTRAR: NodeId = NodeId(1);

/// A phone and a registrar on one network.
struct World {
    sim: Sim<Party>,
    t0: Instant,
}

impl World {
    fn new(seed: u64, link: LinkConfig, config: RegistrationConfig, registrar: Registrar) -> Self {
        let mut sim = Sim::new(seed);
        sim.network_mut().set_default_link(link);
        let endpoint = EndpointConfig {
            registration: Some(config),
            timers: TimerConfig::default(),
            deliver_calls: false,
            seed,
        };
        sim.add_node(Either::Left(Box::new(SimEndpoint::new(
            phone_addr(),
            endpoint,
        ))));
        sim.add_node(Either::Right(Server::new(registrar)));
        let t0 = sim.now();
        World { sim, t0 }
    }

    fn phone(&self) -> &SimEndpoint {
        self.sim.node(PHONE).left()
    }

    fn registrar(&self) -> &Registrar {
        &self.sim.node(REGISTRAR).right().inner
    }

    fn registrar_mut(&mut self) -> &mut Registrar {
        &mut self.sim.node_mut(REGISTRAR).right_mut().inner
    }

    fn register(&mut self) {
        let now = self.sim.now();
        self.sim
            .node_mut(PHONE)
            .left_mut()
            .with(now, |now, e| e.register(now));
    }

    fn unregister(&mut self) {
        let now = self.sim.now();
        self.sim
            .node_mut(PHONE)
            .left_mut()
            .with(now, |now, e| e.unregister(now));
    }

    /// Runs until `at` (seconds since the start).
    fn run_to(&mut self, at: f64) {
        let deadline = self.t0 + Duration::from_secs_f64(at);
        let _ = self.sim.run_until_idle(deadline);
    }

    fn secs(&self, t: Instant) -> f64 {
        (t - self.t0).as_secs_f64()
    }
}

fn account(password: &str) -> RegistrationConfig {
    let mut config = RegistrationConfig::new(
        Peer::udp(registrar_addr()),
        REALM,
        "1001",
        Password::new(password),
        phone_addr(),
    );
    config.display_name = Some("Agent 1001".into());
    config
}

/// (a) 30% loss both ways: registration completes, refreshes keep it alive, and after
/// unregistering nothing is left behind.
#[test]
fn registers_refreshes_and_unregisters_over_a_lossy_network() {
    for seed in 1..=8 {
        let mut config = account(PASSWORD);
        config.unregister_timeout = Duration::from_secs(40);
        let mut w = World::new(
            seed,
            LinkConfig::lan()
                .loss(0.3)
                .jitter(Duration::from_millis(20)),
            config,
            Registrar::new(),
        );
        w.register();
        w.run_to(600.0);

        let phone = w.phone();
        let registered = phone.registered_at();
        assert!(!registered.is_empty(), "seed {seed}: never registered");
        assert!(
            w.secs(registered[0]) < 40.0,
            "seed {seed}: first registration took {:?}",
            w.secs(registered[0])
        );
        // Granted 120 s, refreshed every ~60 s: about ten refreshes in ten minutes.
        assert!(
            registered.len() >= 8,
            "seed {seed}: only {} registrations/refreshes",
            registered.len()
        );
        assert!(
            matches!(phone.state(), RegistrationState::Registered { .. }),
            "seed {seed}: {:?}",
            phone.state()
        );
        assert_eq!(w.registrar().bindings.len(), 1, "seed {seed}");

        w.unregister();
        w.run_to(1200.0);
        assert!(w.sim.is_idle(), "seed {seed}: timers or datagrams left");
        let phone = w.phone();
        assert_eq!(phone.unregistered(), Some(true), "seed {seed}");
        assert!(
            phone.endpoint.transactions().is_empty(),
            "seed {seed}: transactions left"
        );
        assert_eq!(phone.state(), &RegistrationState::Unregistered);
        assert!(
            w.registrar().bindings.is_empty(),
            "seed {seed}: binding left at the registrar"
        );
    }
}

/// (b) Nothing gets through: REGISTER retransmits at 0.5, 1, 2, 4, 4, 4 s intervals, the
/// attempt times out at 32 s, and the registration backs off.
#[test]
fn register_retransmits_then_times_out_and_backs_off() {
    let mut w = World::new(7, LinkConfig::down(), account(PASSWORD), Registrar::new());
    w.register();
    w.run_to(32.0);
    let times: Vec<f64> = w
        .phone()
        .register_times()
        .iter()
        .map(|t| w.secs(*t))
        .collect();
    assert_eq!(
        times,
        vec![0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    );
    let state = w.phone().state().clone();
    let RegistrationState::Failed { error, retry_at } = state else {
        panic!("expected a failure with a retry, got {state:?}")
    };
    assert_eq!(
        error,
        RegistrationError::NoAnswer {
            registrar: "10.0.0.1:5060".into()
        }
    );
    assert_eq!(
        error.to_string(),
        "no answer from 10.0.0.1:5060 (timed out)"
    );
    let wait = w.secs(retry_at) - 32.0;
    assert!((1.6..=2.4).contains(&wait), "first backoff {wait}");
    // The next attempt starts at retry_at and runs its own schedule.
    w.run_to(40.0);
    let times = w.phone().register_times();
    assert_eq!(w.secs(times[11]), w.secs(retry_at));
    assert!(w.phone().endpoint.transactions().len() == 1);
}

/// (c) Wrong password: a terminal failure, and a handful of REGISTERs in ten minutes.
#[test]
fn wrong_password_fails_terminally_without_a_retry_storm() {
    let mut w = World::new(3, LinkConfig::lan(), account("wrong"), Registrar::new());
    w.register();
    w.run_to(600.0);
    let phone = w.phone();
    let RegistrationState::Failed { error, .. } = phone.state() else {
        panic!("expected Failed, got {:?}", phone.state())
    };
    assert!(error.is_terminal());
    assert_eq!(error.to_string(), "wrong password for 1001 at pbx.example");
    let registers = w.registrar().registers.len();
    // One unauthenticated REGISTER and one answer, then at most one slow retry (~10 min).
    assert!(
        (2..=4).contains(&registers),
        "{registers} REGISTERs in ten minutes"
    );
}

/// (d) The registrar stops answering for 60 s (a restart) and comes back with a new nonce
/// and no bindings: we are registered again within 10 s of its return.
#[test]
fn registrar_restart_is_survived_within_ten_seconds() {
    for seed in 1..=4 {
        let mut registrar = Registrar::new();
        registrar.max_grant = 60;
        let mut w = World::new(seed, LinkConfig::lan(), account(PASSWORD), registrar);
        w.register();
        w.run_to(100.0);
        assert!(matches!(
            w.phone().state(),
            RegistrationState::Registered { .. }
        ));
        w.registrar_mut().silent = true;
        w.run_to(160.0);
        let failed_during_outage = w.phone().events.iter().any(|(t, e)| {
            w.secs(*t) > 100.0
                && matches!(
                    e,
                    EndpointEvent::RegistrationChanged(RegistrationState::Failed { .. })
                )
        });
        assert!(
            failed_during_outage,
            "seed {seed}: a refresh must have failed during the outage"
        );
        w.registrar_mut().silent = false;
        w.registrar_mut().restart();
        w.run_to(200.0);
        let back = w
            .phone()
            .registered_at()
            .into_iter()
            .map(|t| w.secs(t))
            .find(|t| *t >= 160.0);
        let back = back.unwrap_or_else(|| panic!("seed {seed}: not registered again"));
        assert!(
            back <= 170.0,
            "seed {seed}: registered again only at {back}"
        );
        assert_eq!(w.registrar().bindings.len(), 1);
    }
}

/// (e) 423 Interval Too Brief: the next REGISTER asks for Min-Expires.
#[test]
fn interval_too_brief_retries_with_min_expires() {
    let mut registrar = Registrar::new();
    registrar.min_expires = Some(7200);
    registrar.max_grant = 10_000;
    let mut w = World::new(5, LinkConfig::lan(), account(PASSWORD), registrar);
    w.register();
    w.run_to(10.0);
    let RegistrationState::Registered { expires_at } = w.phone().state().clone() else {
        panic!("expected Registered, got {:?}", w.phone().state())
    };
    assert!((w.secs(expires_at) - 7200.0).abs() < 1.0);
    let last = w
        .registrar()
        .registers
        .last()
        .expect("REGISTERs arrived")
        .2
        .clone();
    assert!(last[0].contains("expires=7200"), "{last:?}");
}

/// NAT: the registrar sees us at another address than our Contact; we re-register with the
/// address it saw and remove the binding of the private one.
#[test]
fn contact_is_rewritten_to_the_address_the_registrar_saw() {
    let mut config = account(PASSWORD);
    config.local_addr = addr("192.168.1.20:5060");
    let mut w = World::new(9, LinkConfig::lan(), config, Registrar::new());
    w.register();
    w.run_to(10.0);
    assert!(matches!(
        w.phone().state(),
        RegistrationState::Registered { .. }
    ));
    let bindings: Vec<&String> = w.registrar().bindings.keys().collect();
    assert_eq!(bindings.len(), 1, "{bindings:?}");
    assert!(bindings[0].contains("10.0.0.2:5060"), "{bindings:?}");
    assert_eq!(
        w.phone().endpoint.registration().map(|r| r.contact_addr()),
        Some(phone_addr())
    );
}
