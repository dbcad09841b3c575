//! Tier (b): a user agent registering with a digest-protecting registrar over a lossy,
//! reordering `netsim` network. The UA is a toy (fixed CSeq bookkeeping, plain
//! retransmission instead of the transaction layer) so the test exercises exactly the
//! authenticator: challenge, answer, stale nonce, wrong password, and duplicates/late
//! responses on the wire.

use bytes::Bytes;
use netsim::{LinkConfig, Node, NodeId, RunOutcome, Sim};
use signaling::typed::{Authorization, CSeq, WwwAuthenticate};
use signaling::{
    verify_request, AuthError, Authenticator, DigestAlgorithm, DigestChallenge, Password,
};
use signaling::{HeaderName, Message, Method, Request, Response, Uri};
use simua::{addr, Either, Outbox, Responder, Server};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const REALM: &str = "pbx.example.com";
const UA: &str = "10.0.0.1:5060";
const REGISTRAR: &str = "10.0.0.2:5060";

/// Registers once, and re-registers (with the cached nonce) when `refresh_at` comes.
struct Ua {
    auth: Authenticator,
    current: Request,
    cseq: u32,
    retransmit_at: Option<Instant>,
    interval: Duration,
    refresh_at: Option<Instant>,
    refreshes: bool,
    out: Vec<Bytes>,
    registered: u32,
    failure: Option<AuthError>,
}

impl Ua {
    fn new(password: &str, now: Instant, refresh_after: Option<Duration>) -> Ua {
        let mut ua = Ua {
            auth: Authenticator::new("1001", password).with_seed(99),
            current: Request::new(
                Method::Register,
                Uri::parse("sip:pbx.example.com").expect("uri"),
            ),
            cseq: 0,
            retransmit_at: None,
            interval: Duration::ZERO,
            refresh_at: refresh_after.map(|d| now + d),
            refreshes: refresh_after.is_some(),
            out: Vec::new(),
            registered: 0,
            failure: None,
        };
        let h = &mut ua.current.headers;
        h.push(HeaderName::From, "<sip:1001@pbx.example.com>;tag=ua1");
        h.push(HeaderName::To, "<sip:1001@pbx.example.com>");
        h.push(HeaderName::CallId, "reg-1@10.0.0.1");
        h.push(HeaderName::Contact, "<sip:1001@10.0.0.1:5060>");
        ua.send_next(now);
        ua
    }

    /// Sends `current` again as a new request: next CSeq, new branch.
    fn send_next(&mut self, now: Instant) {
        self.cseq += 1;
        let h = &mut self.current.headers;
        h.set(
            HeaderName::Via,
            format!("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-{}", self.cseq),
        );
        h.set(HeaderName::CSeq, format!("{} REGISTER", self.cseq));
        self.out.push(self.current.to_bytes());
        self.interval = Duration::from_millis(500);
        self.retransmit_at = Some(now + self.interval);
    }

    fn done(&self) -> bool {
        let want = if self.refreshes { 2 } else { 1 };
        self.failure.is_some() || self.registered >= want
    }
}

impl Node for Ua {
    fn addr(&self) -> SocketAddr {
        addr(UA)
    }

    fn handle_datagram(&mut self, now: Instant, _from: SocketAddr, payload: Bytes) {
        let Ok(Message::Response(resp)) = Message::parse(&payload) else {
            return;
        };
        // Late answers to earlier CSeqs (retransmissions, duplicates) are ignored.
        let Ok(Some(cseq)) = resp.headers.typed::<CSeq>() else {
            return;
        };
        if cseq.seq != self.cseq || self.retransmit_at.is_none() {
            return;
        }
        self.retransmit_at = None;
        match resp.status {
            200 => self.registered += 1,
            401 | 407 => match self.auth.authorize(&mut self.current, &resp) {
                Ok(()) => self.send_next(now),
                Err(e) => self.failure = Some(e),
            },
            other => panic!("registrar sent {other}"),
        }
    }

    fn poll_transmit(&mut self, _now: Instant) -> Option<(SocketAddr, Bytes)> {
        self.out.pop().map(|b| (addr(REGISTRAR), b))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        match (self.retransmit_at, self.refresh_at) {
            (Some(r), _) => Some(r),
            (None, refresh) if self.registered > 0 => refresh,
            _ => None,
        }
    }

    fn handle_timeout(&mut self, now: Instant) {
        if self.retransmit_at.is_some_and(|t| t <= now) {
            // Toy Timer E: double up to 4 s; a real UA gives up at Timer F.
            self.out.push(self.current.to_bytes());
            self.interval = (self.interval * 2).min(Duration::from_secs(4));
            self.retransmit_at = Some(now + self.interval);
        } else if self.refresh_at.is_some_and(|t| t <= now) {
            self.refresh_at = None;
            self.auth.authorize_cached(&mut self.current);
            self.send_next(now);
        }
    }
}

/// Challenges every REGISTER without valid credentials; nonces live `nonce_life`.
struct Registrar {
    password: Password,
    nonce_life: Duration,
    /// (nonce, issued at)
    nonces: Vec<(String, Instant)>,
    accepted: u32,
    stale_sent: u32,
}

impl Registrar {
    fn reply(
        &self,
        out: &mut Outbox,
        to: SocketAddr,
        req: &Request,
        status: u16,
        challenge: Option<DigestChallenge>,
    ) {
        let mut resp = Response::new(status, if status == 200 { "OK" } else { "Unauthorized" });
        for name in [
            HeaderName::Via,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
            HeaderName::CSeq,
        ] {
            for v in req.headers.get_all(&name) {
                resp.headers.push(name.clone(), v.clone());
            }
        }
        if let Some(d) = challenge {
            // Offer both; the UA must pick SHA-256.
            let mut md5 = d.clone();
            md5.algorithm = DigestAlgorithm::Md5;
            resp.headers
                .push_typed(&WwwAuthenticate(md5.to_challenge()));
            resp.headers.push_typed(&WwwAuthenticate(d.to_challenge()));
        }
        out.push((to, resp.to_bytes()));
    }
}

impl Responder for Registrar {
    fn addr(&self) -> SocketAddr {
        addr(REGISTRAR)
    }

    fn respond(&mut self, now: Instant, from: SocketAddr, payload: Bytes, out: &mut Outbox) {
        let Ok(Message::Request(req)) = Message::parse(&payload) else {
            return;
        };
        let creds = req
            .headers
            .typed::<Authorization>()
            .ok()
            .flatten()
            .map(|a| a.0);
        let mut stale = false;
        if let Some(c) = &creds {
            let known = self
                .nonces
                .iter()
                .find(|(n, _)| Some(n.as_str()) == c.param("nonce"));
            if let Some((nonce, issued)) = known {
                let ok = c.param("algorithm") == Some("SHA-256")
                    && verify_request(c, &req, &self.password, nonce);
                if ok && now - *issued <= self.nonce_life {
                    self.accepted += 1;
                    return self.reply(out, from, &req, 200, None);
                }
                // Good credentials on an expired nonce: say so, or the UA would think the
                // password wrong.
                stale = ok;
            }
        }
        let nonce = format!("nonce-{}", self.nonces.len());
        self.nonces.push((nonce.clone(), now));
        self.stale_sent += u32::from(stale);
        let d = DigestChallenge::new(REALM, nonce, DigestAlgorithm::Sha256)
            .with_opaque("op")
            .with_stale(stale);
        self.reply(out, from, &req, 401, Some(d));
    }
}

type Party = Either<Box<Ua>, Server<Registrar>>;

fn sim(seed: u64, ua_password: &str, refresh_after: Option<Duration>) -> Sim<Party> {
    let mut sim: Sim<Party> = Sim::new(seed);
    sim.network_mut().set_default_link(
        LinkConfig::lan()
            .delay(Duration::from_millis(20))
            .jitter(Duration::from_millis(30))
            .loss(0.2)
            .duplicate(0.1),
    );
    let now = sim.now();
    sim.add_node(Either::Left(Box::new(Ua::new(
        ua_password,
        now,
        refresh_after,
    ))));
    sim.add_node(Either::Right(Server::new(Registrar {
        password: Password::new("right"),
        nonce_life: Duration::from_secs(3),
        nonces: Vec::new(),
        accepted: 0,
        stale_sent: 0,
    })));
    sim
}

const UA_ID: NodeId = NodeId(0);
const REG_ID: NodeId = NodeId(1);

#[test]
fn registers_over_a_lossy_network_for_many_seeds() {
    let mut dropped = 0;
    for seed in 0..20 {
        let mut sim = sim(seed, "right", None);
        let outcome = sim.run_for(Duration::from_secs(60), |s| s.node(UA_ID).left().done());
        assert_eq!(outcome, RunOutcome::Stopped, "seed {seed}: {sim:?}");
        let ua = sim.node(UA_ID).left();
        assert_eq!(ua.failure, None, "seed {seed}");
        assert_eq!(ua.registered, 1, "seed {seed}");
        assert!(sim.node(REG_ID).right().inner.accepted >= 1);
        // Stray duplicates drain away and nothing keeps a timer running.
        assert_eq!(
            sim.run_for(Duration::from_secs(10), |_| false),
            RunOutcome::Idle,
            "seed {seed}"
        );
        dropped += sim.network().stats().dropped;
    }
    assert!(dropped > 0, "the seeds must exercise loss");
}

#[test]
fn a_refresh_on_an_expired_nonce_is_answered_after_stale() {
    for seed in 0..10 {
        let mut sim = sim(seed, "right", Some(Duration::from_secs(10)));
        let outcome = sim.run_for(Duration::from_secs(120), |s| s.node(UA_ID).left().done());
        assert_eq!(outcome, RunOutcome::Stopped, "seed {seed}: {sim:?}");
        let ua = sim.node(UA_ID).left();
        assert_eq!(
            ua.failure, None,
            "seed {seed}: stale must not read as a wrong password"
        );
        assert_eq!(ua.registered, 2, "seed {seed}");
        assert!(
            sim.node(REG_ID).right().inner.stale_sent >= 1,
            "seed {seed}"
        );
    }
}

#[test]
fn a_wrong_password_ends_in_rejected_not_a_loop() {
    for seed in 0..10 {
        let mut sim = sim(seed, "wrong", None);
        let outcome = sim.run_for(Duration::from_secs(60), |s| s.node(UA_ID).left().done());
        assert_eq!(outcome, RunOutcome::Stopped, "seed {seed}: {sim:?}");
        let ua = sim.node(UA_ID).left();
        assert_eq!(
            ua.failure,
            Some(AuthError::Rejected {
                realm: REALM.into()
            }),
            "seed {seed}"
        );
        assert_eq!(ua.registered, 0);
        // One challenge for the bare REGISTER, one for the wrong answer (plus retransmits).
        assert!(ua.cseq == 2, "seed {seed}: cseq {}", ua.cseq);
    }
}

#[test]
fn credentials_on_the_wire_never_carry_the_password() {
    let mut sim = sim(1, "right", None);
    let _ = sim.run_for(Duration::from_secs(60), |s| s.node(UA_ID).left().done());
    let wire = String::from_utf8_lossy(&sim.node(UA_ID).left().current.to_bytes()).into_owned();
    assert!(wire.contains("Authorization: Digest"), "{wire}");
    assert!(!wire.contains("right"), "{wire}");
}
