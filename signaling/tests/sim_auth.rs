//! Tier (b): in-dialog requests challenged by the far end (401 and 407), over `netsim` on a
//! virtual clock. Bob sits behind a guard that authenticates every request reaching him,
//! as a PBX that challenges in-dialog requests does: alice's hold (re-INVITE), hang-up (BYE),
//! DTMF (INFO) and transfer (REFER) must be retried with credentials the guard verifies, with
//! a new CSeq, and complete; a wrong password fails clearly after one retry; a stale nonce
//! is answered once with the new one. Every scenario ends with nothing left behind.

use bytes::Bytes;
use netsim::{LinkConfig, NodeId};
use signaling::response_to;
use signaling::typed::{
    Authorization, Credentials, ProxyAuthenticate, ProxyAuthorization, To, WwwAuthenticate,
};
use signaling::{verify_request, ChallengeKind, DigestAlgorithm, DigestChallenge, Password};
use signaling::{CallEvent, CallHandle, EndKind, UserAgent};
use signaling::{Message, Method, Request, Uri};
use simua::{Duo, Gate, SimUa, ALICE, BOB, OFFER};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Instant;

const REALM: &str = "far.example";
const PASSWORD: &str = "alice-secret";

/// What the guard made of one request (first transmission of each branch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    NoCredentials,
    Valid,
    /// A right answer to a nonce the guard has since retired: challenged with stale=true.
    Stale,
    Invalid,
}

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    cseq: u32,
    verdict: Verdict,
}

/// Authenticates every request reaching the phone behind it (the initial INVITE only when
/// `guard_invite`): without credentials valid for the current nonce a request is answered
/// with 401 or 407 and never reaches the phone.
struct Guard {
    kind: ChallengeKind,
    password: Password,
    guard_invite: bool,
    /// Treats every right answer as stale (a broken far end): alice must stop retrying.
    always_stale: bool,
    nonce: String,
    retired: Vec<String>,
    /// Every challenge sent, by the branch it answers (retransmissions get it again).
    challenged: HashMap<String, Bytes>,
    /// Branches let through (their retransmissions are not judged again).
    passed: HashSet<String>,
    seen: Vec<Seen>,
    /// For each ACK of a 2xx: whether it carried credentials of our kind.
    acks: Vec<bool>,
    outbox: Vec<(SocketAddr, Bytes)>,
}

impl Guard {
    fn new(kind: ChallengeKind) -> Self {
        Guard {
            kind,
            password: Password::new(PASSWORD),
            guard_invite: false,
            always_stale: false,
            nonce: "nonce-1".into(),
            retired: Vec::new(),
            challenged: HashMap::new(),
            passed: HashSet::new(),
            seen: Vec::new(),
            acks: Vec::new(),
            outbox: Vec::new(),
        }
    }

    /// The current nonce expires: answers to it are now stale.
    fn expire_nonce(&mut self) {
        let next = format!("nonce-{}", self.retired.len() + 2);
        self.retired
            .push(std::mem::replace(&mut self.nonce, next.clone()));
    }

    fn credentials(&self, request: &Request) -> Option<Credentials> {
        match self.kind {
            ChallengeKind::Www => request
                .headers
                .typed::<Authorization>()
                .ok()
                .flatten()
                .map(|a| a.0),
            ChallengeKind::Proxy => request
                .headers
                .typed::<ProxyAuthorization>()
                .ok()
                .flatten()
                .map(|a| a.0),
        }
    }

    fn judge(&self, request: &Request) -> Verdict {
        let Some(creds) = self.credentials(request) else {
            return Verdict::NoCredentials;
        };
        if verify_request(&creds, request, &self.password, &self.nonce) {
            return Verdict::Valid;
        }
        if self
            .retired
            .iter()
            .any(|old| verify_request(&creds, request, &self.password, old))
        {
            return Verdict::Stale;
        }
        Verdict::Invalid
    }

    /// Whether the datagram goes on to the phone.
    fn pass(&mut self, from: SocketAddr, payload: &[u8]) -> bool {
        let Ok(Message::Request(request)) = Message::parse(payload) else {
            return true;
        };
        let branch = request
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_owned))
            .unwrap_or_default();
        if let Some(challenge) = self.challenged.get(&branch) {
            // A retransmission of a challenged request, or the ACK of a challenged INVITE.
            if request.method != Method::Ack {
                self.outbox.push((from, challenge.clone()));
            }
            return false;
        }
        if self.passed.contains(&branch) {
            return true;
        }
        let in_dialog = request
            .headers
            .typed::<To>()
            .ok()
            .flatten()
            .is_some_and(|t| t.0.tag().is_some());
        if request.method == Method::Ack {
            // ACKs of 2xx are end to end and never challenged; note what they carry.
            if self.passed.insert(branch) {
                let carried = self.credentials(&request).is_some();
                self.acks.push(carried);
            }
            return true;
        }
        if request.method == Method::Cancel || (!in_dialog && !self.guard_invite) {
            return true;
        }
        let mut verdict = self.judge(&request);
        if self.always_stale && verdict == Verdict::Valid {
            self.expire_nonce();
            verdict = Verdict::Stale;
        }
        self.seen.push(Seen {
            method: request.method.clone(),
            cseq: request.cseq().map(|c| c.seq).unwrap_or(0),
            verdict,
        });
        if verdict == Verdict::Valid {
            self.passed.insert(branch);
            return true;
        }
        let digest = DigestChallenge::new(REALM, self.nonce.clone(), DigestAlgorithm::Md5)
            .with_stale(verdict == Verdict::Stale);
        let response = match self.kind {
            ChallengeKind::Www => {
                let mut r = response_to(&request, 401, "Unauthorized", Some("guard"));
                r.headers
                    .push_typed(&WwwAuthenticate(digest.to_challenge()));
                r
            }
            ChallengeKind::Proxy => {
                let mut r = response_to(
                    &request,
                    407,
                    "Proxy Authentication Required",
                    Some("guard"),
                );
                r.headers
                    .push_typed(&ProxyAuthenticate(digest.to_challenge()));
                r
            }
        };
        let bytes = response.to_bytes();
        self.challenged.insert(branch, bytes.clone());
        self.outbox.push((from, bytes));
        false
    }

    /// The verdicts on `method` requests, in order, with their CSeqs.
    fn verdicts(&self, method: Method) -> Vec<(u32, Verdict)> {
        self.seen
            .iter()
            .filter(|s| s.method == method)
            .map(|s| (s.cseq, s.verdict))
            .collect()
    }

    /// The verdicts on `method`'s requests in order, without their CSeq numbers.
    fn verdict_kinds(&self, method: Method) -> Vec<Verdict> {
        self.verdicts(method).into_iter().map(|(_, v)| v).collect()
    }
}

impl Gate for Guard {
    fn pass(&mut self, from: SocketAddr, payload: &[u8]) -> bool {
        Guard::pass(self, from, payload)
    }
    fn poll_transmit(&mut self) -> Option<(SocketAddr, Bytes)> {
        self.outbox.pop()
    }
}

struct World {
    duo: Duo<Guard>,
    call: CallHandle,
}

impl World {
    /// Alice (with `alice_password`) calls bob, who answers behind a guard of `kind`;
    /// nothing is challenged until the call is up unless `guard_invite`.
    fn connected(
        seed: u64,
        link: LinkConfig,
        kind: ChallengeKind,
        alice_password: &str,
        guard_invite: bool,
    ) -> Self {
        Self::connected_over(seed, link, kind, alice_password, guard_invite, false)
    }

    /// The same, both phones on TCP when `tcp` (reliable: no retransmissions, no Timer K).
    fn connected_over(
        seed: u64,
        link: LinkConfig,
        kind: ChallengeKind,
        alice_password: &str,
        guard_invite: bool,
        tcp: bool,
    ) -> Self {
        let mut duo = Duo::new(seed, link, tcp, |config| {
            if config.user == "alice" {
                config.password = Password::new(alice_password);
            }
        });
        let bob = duo.bob();
        bob.auto_answer = true;
        let mut guard = Guard::new(kind);
        guard.guard_invite = guard_invite;
        bob.gate = Some(guard);
        let call = duo.dial();
        let mut w = World { duo, call };
        w.run(40.0);
        assert_eq!(
            w.alice().count(|e| matches!(e, CallEvent::Answered { .. })),
            1,
            "seed {seed}: the call is not up: {:?}",
            w.alice().events
        );
        w
    }

    fn alice(&mut self) -> &mut SimUa<Guard> {
        self.duo.alice()
    }

    fn bob(&mut self) -> &mut SimUa<Guard> {
        self.duo.bob()
    }

    fn guard(&mut self) -> &mut Guard {
        self.bob().gate.as_mut().expect("bob is guarded")
    }

    fn with<R>(&mut self, id: NodeId, f: impl FnOnce(Instant, &mut UserAgent) -> R) -> R {
        self.duo.with(id, f)
    }

    fn run(&mut self, secs: f64) {
        self.duo.run(secs);
    }

    /// Bob hangs up if his call is still up; then nothing may be left on either side.
    fn finish(&mut self, what: &str) {
        if self.bob().ended().is_none() {
            let call = self.bob().incoming().expect("bob has the call");
            self.with(BOB, |now, ua| ua.hangup(now, call))
                .expect("bob hangs up");
        }
        self.duo.assert_idle(what);
    }
}

/// One in-dialog operation alice starts, and how to tell it worked at the far end.
#[derive(Debug, Clone, Copy)]
enum Op {
    Hold,
    Hangup,
    Dtmf,
    Transfer,
}

impl Op {
    const ALL: [Op; 4] = [Op::Hold, Op::Hangup, Op::Dtmf, Op::Transfer];

    fn method(self) -> Method {
        match self {
            Op::Hold => Method::Invite,
            Op::Hangup => Method::Bye,
            Op::Dtmf => Method::Info,
            Op::Transfer => Method::Refer,
        }
    }

    fn start(self, w: &mut World) {
        let call = w.call;
        let hold = OFFER.replace("RTP/AVP 0\r\n", "RTP/AVP 0\r\na=sendonly\r\n");
        w.with(ALICE, |now, ua| match self {
            Op::Hold => ua.reinvite(now, call, Bytes::from(hold)),
            Op::Hangup => ua.hangup(now, call),
            Op::Dtmf => ua.send_dtmf_info(now, call, "5", 160),
            Op::Transfer => ua.refer(now, call, Uri::parse("sip:carol@10.0.0.3").unwrap(), None),
        })
        .unwrap_or_else(|e| panic!("{self:?}: {e}"));
    }

    /// Whether the operation took effect, as each user would notice it.
    fn completed(self, w: &mut World) -> bool {
        match self {
            Op::Hold => {
                w.alice()
                    .count(|e| matches!(e, CallEvent::ReofferAccepted { .. }))
                    == 1
                    && w.bob()
                        .count(|e| matches!(e, CallEvent::RemoteReoffer { offer: Some(o), .. } if o.windows(10).any(|x| x == b"a=sendonly")))
                        == 1
            }
            Op::Hangup => w.bob().ended() == Some(EndKind::RemoteHangup),
            Op::Dtmf => {
                w.bob()
                    .count(|e| matches!(e, CallEvent::Dtmf { digit: '5', .. }))
                    == 1
            }
            Op::Transfer => {
                w.bob()
                    .count(|e| matches!(e, CallEvent::TransferRequested { .. }))
                    == 1
                    && w.alice().count(|e| {
                        matches!(
                            e,
                            CallEvent::TransferProgress {
                                status: 100,
                                done: false,
                                ..
                            }
                        )
                    }) == 1
            }
        }
    }

    /// Whether alice was told the operation failed with `status`.
    fn failed_with(self, w: &mut World, status: u16) -> bool {
        match self {
            Op::Hold => {
                w.alice().count(
                    |e| matches!(e, CallEvent::ReofferRejected { status: s, .. } if *s == status),
                ) == 1
            }
            // The call ended for alice when she hung up; the BYE just does not reach bob.
            Op::Hangup => {
                w.alice().ended() == Some(EndKind::LocalHangup) && w.bob().ended().is_none()
            }
            Op::Dtmf => {
                w.alice().count(|e| {
                    matches!(e, CallEvent::DtmfFailed { status: s, digits, .. } if *s == status && digits == "5")
                }) == 1
            }
            Op::Transfer => {
                w.alice().count(|e| {
                    matches!(e, CallEvent::TransferProgress { status: s, done: true, .. } if *s == status)
                }) == 1
            }
        }
    }
}

fn status_of(kind: ChallengeKind) -> u16 {
    match kind {
        ChallengeKind::Www => 401,
        ChallengeKind::Proxy => 407,
    }
}

#[test]
fn challenged_in_dialog_requests_are_retried_with_valid_credentials_and_complete() {
    for kind in [ChallengeKind::Www, ChallengeKind::Proxy] {
        for op in Op::ALL {
            for seed in [1, 2, 3] {
                let what = format!("{op:?} challenged with {}, seed {seed}", status_of(kind));
                let link = if seed == 1 {
                    LinkConfig::lan()
                } else {
                    LinkConfig::lan().loss(0.2)
                };
                let mut w = World::connected(seed, link, kind, PASSWORD, false);
                op.start(&mut w);
                w.run(40.0);
                let verdicts = w.guard().verdicts(op.method());
                assert_eq!(verdicts.len(), 2, "{what}: {verdicts:?}");
                let ((first, v1), (retry, v2)) = (verdicts[0], verdicts[1]);
                assert_eq!(v1, Verdict::NoCredentials, "{what}");
                assert_eq!(v2, Verdict::Valid, "{what}: the retry's digest");
                assert!(retry > first, "{what}: CSeq {first} then {retry}");
                assert!(op.completed(&mut w), "{what}: {:?}", w.alice().events);
                if let Op::Hold = op {
                    // The call's ACK had nothing to carry; the re-INVITE's carries its credentials.
                    assert_eq!(w.guard().acks, [false, true], "{what}");
                }
                w.finish(&what);
            }
        }
    }
}

#[test]
fn a_wrong_password_fails_the_request_after_one_retry() {
    for kind in [ChallengeKind::Www, ChallengeKind::Proxy] {
        for op in Op::ALL {
            let what = format!("{op:?} with a wrong password ({})", status_of(kind));
            let mut w = World::connected(4, LinkConfig::lan(), kind, "not-the-password", false);
            op.start(&mut w);
            w.run(40.0);
            let verdicts = w.guard().verdict_kinds(op.method());
            assert_eq!(
                verdicts,
                [Verdict::NoCredentials, Verdict::Invalid],
                "{what}: one retry, then the failure stands"
            );
            assert!(
                op.failed_with(&mut w, status_of(kind)),
                "{what}: {:?}",
                w.alice().events
            );
            assert!(!op.completed(&mut w), "{what}");
            w.finish(&what);
        }
    }
}

#[test]
fn a_stale_nonce_is_answered_once_with_the_new_nonce() {
    for kind in [ChallengeKind::Www, ChallengeKind::Proxy] {
        let what = format!("stale ({})", status_of(kind));
        let mut w = World::connected(5, LinkConfig::lan(), kind, PASSWORD, false);
        Op::Hold.start(&mut w);
        w.run(10.0);
        assert!(Op::Hold.completed(&mut w), "{what}");
        // The nonce alice holds expires; her next request reuses it and is told it is stale.
        w.guard().expire_nonce();
        Op::Dtmf.start(&mut w);
        w.run(10.0);
        let verdicts = w.guard().verdicts(Method::Info);
        assert_eq!(verdicts.len(), 2, "{what}: {verdicts:?}");
        assert_eq!(verdicts[0].1, Verdict::Stale, "{what}");
        assert_eq!(verdicts[1].1, Verdict::Valid, "{what}");
        assert!(verdicts[1].0 > verdicts[0].0, "{what}: CSeq grows");
        assert!(Op::Dtmf.completed(&mut w), "{what}");
        // The new nonce is cached: the hang-up goes through unchallenged.
        Op::Hangup.start(&mut w);
        w.run(10.0);
        assert_eq!(w.guard().verdicts(Method::Bye).len(), 1, "{what}");
        assert!(Op::Hangup.completed(&mut w), "{what}");
        w.finish(&what);
    }
}

#[test]
fn a_challenged_invite_is_retried_and_its_credentials_serve_the_dialog() {
    for kind in [ChallengeKind::Www, ChallengeKind::Proxy] {
        let what = format!("INVITE ({})", status_of(kind));
        let mut w = World::connected(6, LinkConfig::lan().loss(0.2), kind, PASSWORD, true);
        let invites = w.guard().verdicts(Method::Invite);
        assert_eq!(
            invites.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
            [Verdict::NoCredentials, Verdict::Valid],
            "{what}"
        );
        assert!(invites[1].0 > invites[0].0, "{what}: CSeq grows");
        assert_eq!(
            w.guard().acks,
            [true],
            "{what}: the ACK carries the INVITE's credentials"
        );
        // In the dialog, the cached credentials are accepted at once.
        Op::Transfer.start(&mut w);
        w.run(10.0);
        assert_eq!(
            w.guard().verdicts(Method::Refer),
            [(invites[1].0 + 1, Verdict::Valid)],
            "{what}"
        );
        assert!(Op::Transfer.completed(&mut w), "{what}");
        w.finish(&what);
    }
}

#[test]
fn a_far_end_that_keeps_calling_the_nonce_stale_gets_two_retries_then_a_failure() {
    for op in Op::ALL {
        let what = format!("{op:?} always stale");
        let mut w = World::connected(7, LinkConfig::lan(), ChallengeKind::Www, PASSWORD, false);
        w.guard().always_stale = true;
        op.start(&mut w);
        w.run(40.0);
        let verdicts = w.guard().verdict_kinds(op.method());
        assert_eq!(
            verdicts,
            [Verdict::NoCredentials, Verdict::Stale, Verdict::Stale],
            "{what}"
        );
        assert!(
            op.failed_with(&mut w, 401),
            "{what}: {:?}",
            w.alice().events
        );
        w.guard().always_stale = false;
        w.finish(&what);
    }
}

#[test]
fn challenged_requests_are_retried_over_tcp_where_the_transaction_forgets_them() {
    for op in Op::ALL {
        let what = format!("{op:?} over TCP");
        let mut w = World::connected_over(
            8,
            LinkConfig::lan(),
            ChallengeKind::Proxy,
            PASSWORD,
            false,
            true,
        );
        op.start(&mut w);
        w.run(10.0);
        let verdicts = w.guard().verdict_kinds(op.method());
        assert_eq!(verdicts, [Verdict::NoCredentials, Verdict::Valid], "{what}");
        assert!(op.completed(&mut w), "{what}: {:?}", w.alice().events);
        w.finish(&what);
    }
}
