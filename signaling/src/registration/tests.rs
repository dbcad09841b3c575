//! Registration unit tests: the policy table (which response leads where), without a
//! network. The end-to-end behaviour over a lossy network is in `tests/sim_registration.rs`.

use super::*;
use crate::auth::{DigestAlgorithm, DigestChallenge};
use crate::message::typed::{Contact, MinExpires, WwwAuthenticate};
use crate::message::{HeaderName, Method};
use crate::net::TransportKind;
use crate::transaction::response_to;

fn config(transport: TransportKind) -> RegistrationConfig {
    let registrar = Peer {
        transport,
        addr: "10.0.0.1:5060".parse().expect("valid"),
    };
    RegistrationConfig::new(
        registrar,
        "pbx.example",
        "1001",
        Password::new("pw"),
        "10.0.0.2:5060".parse().expect("valid"),
    )
}

struct Harness {
    reg: Registration,
    t0: Instant,
}

impl Harness {
    fn new(transport: TransportKind) -> Self {
        Harness {
            reg: Registration::new(config(transport), 11),
            t0: Instant::now(),
        }
    }
    fn at(&self, secs: f64) -> Instant {
        self.t0 + Duration::from_secs_f64(secs)
    }
    /// The next REGISTER the registration wants sent.
    fn sent(&mut self) -> (Request, u32) {
        loop {
            match self.reg.poll_action() {
                Some(RegistrationAction::Send { request, cseq }) => return (*request, cseq),
                Some(RegistrationAction::KeepAlive) => continue,
                Some(RegistrationAction::CloseFlow) | None => panic!("no REGISTER was sent"),
            }
        }
    }
    /// Registers at 0 s; the registrar grants 600 s at 0.1 s.
    fn registered(&mut self) {
        self.reg.register(self.at(0.0));
        let (req, _) = self.sent();
        self.reply(0.1, &req, 200, "OK", |r| {
            r.headers.push(HeaderName::Expires, "600")
        });
    }
    fn nothing_sent(&mut self) -> bool {
        self.reg.poll_action().is_none()
    }
    fn reply(
        &mut self,
        secs: f64,
        request: &Request,
        status: u16,
        reason: &str,
        edit: impl FnOnce(&mut Response),
    ) {
        let mut response = response_to(request, status, reason, Some("reg"));
        edit(&mut response);
        let now = self.at(secs);
        self.reg.handle_response(now, &response);
    }
    fn failed(&self) -> (RegistrationError, f64) {
        match self.reg.state() {
            RegistrationState::Failed {
                error,
                retry_at: at,
            } => (error.clone(), (*at - self.t0).as_secs_f64()),
            other => panic!("expected Failed, got {other:?}"),
        }
    }
}

fn challenge(r: &mut Response) {
    let digest = DigestChallenge::new("pbx.example", "n1", DigestAlgorithm::Md5);
    r.headers
        .push_typed(&WwwAuthenticate(digest.to_challenge()));
}

#[test]
fn the_register_request_carries_what_a_registrar_needs() {
    let mut h = Harness::new(TransportKind::Tcp);
    h.reg.register(h.at(0.0));
    let (req, cseq) = h.sent();
    assert_eq!(cseq, 1);
    assert_eq!(req.uri.to_string(), "sip:pbx.example");
    let via = req.headers.get(&HeaderName::Via).expect("Via").to_string();
    assert!(
        via.starts_with("SIP/2.0/TCP 10.0.0.2:5060") && via.contains("rport"),
        "{via}"
    );
    let contact = req
        .headers
        .get(&HeaderName::Contact)
        .expect("Contact")
        .to_string();
    assert!(
        contact.contains("sip:1001@10.0.0.2:5060;transport=tcp")
            && contact.contains("expires=3600"),
        "{contact}"
    );
    assert!(req
        .headers
        .get(&HeaderName::From)
        .expect("From")
        .contains("tag="));
    assert_eq!(
        req.headers.get(&HeaderName::Allow).map(|v| v.as_str()),
        Some(ALLOW)
    );
    assert_eq!(
        req.headers.get(&HeaderName::Supported).map(|v| v.as_str()),
        Some(SUPPORTED)
    );

    // The answer to the challenge: same Call-ID, next CSeq, credentials.
    h.reply(0.01, &req, 401, "Unauthorized", challenge);
    let (again, cseq2) = h.sent();
    assert_eq!(cseq2, 2);
    assert_eq!(
        again.headers.get(&HeaderName::CallId),
        req.headers.get(&HeaderName::CallId)
    );
    assert!(again.headers.contains(&HeaderName::Authorization));
}

#[test]
fn granted_lifetime_comes_from_our_contact_then_expires_then_the_request() {
    let cases: [(Option<&str>, Option<&str>, u64); 3] = [
        (
            Some("<sip:1001@10.0.0.2:5060>;expires=300, <sip:1001@10.9.9.9:5060>;expires=9"),
            Some("600"),
            300,
        ),
        (Some("<sip:1001@10.9.9.9:5060>;expires=9"), Some("600"), 600),
        (None, None, 3600),
    ];
    for (contacts, expires, granted) in cases {
        let mut h = Harness::new(TransportKind::Udp);
        h.reg.register(h.at(0.0));
        let (req, _) = h.sent();
        h.reply(1.0, &req, 200, "OK", |r| {
            if let Some(c) = contacts {
                r.headers.push(HeaderName::Contact, c);
            }
            if let Some(e) = expires {
                r.headers.push(HeaderName::Expires, e);
            }
        });
        assert_eq!(
            h.reg.state(),
            &RegistrationState::Registered {
                expires_at: h.at(1.0 + granted as f64)
            }
        );
        // Refresh at half the lifetime.
        assert_eq!(
            h.reg.poll_timeout(),
            Some(h.at(1.0 + granted as f64 / 2.0)),
            "{contacts:?}"
        );
        h.reg.handle_timeout(h.at(1.0 + granted as f64 / 2.0));
        let (refresh, cseq) = h.sent();
        assert_eq!(cseq, 2);
        assert_eq!(
            refresh.headers.get(&HeaderName::CallId),
            req.headers.get(&HeaderName::CallId)
        );
    }
}

#[test]
fn final_errors_map_to_terminal_or_transient_failures() {
    struct Case {
        status: u16,
        retry_after: Option<&'static str>,
        terminal: bool,
        /// Bounds of the wait before the next attempt, in seconds.
        wait: (f64, f64),
    }
    let cases = [
        Case {
            status: 403,
            retry_after: None,
            terminal: true,
            wait: (480.0, 720.0),
        },
        Case {
            status: 404,
            retry_after: None,
            terminal: true,
            wait: (480.0, 720.0),
        },
        Case {
            status: 400,
            retry_after: None,
            terminal: true,
            wait: (480.0, 720.0),
        },
        Case {
            status: 503,
            retry_after: None,
            terminal: false,
            wait: (1.6, 2.4),
        },
        Case {
            status: 503,
            retry_after: Some("120 (maintenance)"),
            terminal: false,
            wait: (120.0, 120.0),
        },
        Case {
            status: 500,
            retry_after: None,
            terminal: false,
            wait: (1.6, 2.4),
        },
        Case {
            status: 408,
            retry_after: None,
            terminal: false,
            wait: (1.6, 2.4),
        },
        Case {
            status: 480,
            retry_after: None,
            terminal: false,
            wait: (1.6, 2.4),
        },
    ];
    for case in cases {
        let mut h = Harness::new(TransportKind::Udp);
        h.reg.register(h.at(0.0));
        let (req, _) = h.sent();
        h.reply(1.0, &req, case.status, "Whatever", |r| {
            if let Some(after) = case.retry_after {
                r.headers.push(HeaderName::RetryAfter, after);
            }
        });
        let (error, retry_at) = h.failed();
        assert_eq!(
            error.is_terminal(),
            case.terminal,
            "{}: {error}",
            case.status
        );
        let wait = retry_at - 1.0;
        assert!(
            wait >= case.wait.0 - 1e-6 && wait <= case.wait.1 + 1e-6,
            "{}: waits {wait}",
            case.status
        );
        assert!(h.nothing_sent());
        h.reg.handle_timeout(h.at(retry_at));
        assert_eq!(h.reg.state(), &RegistrationState::Registering);
        h.sent();
    }
}

#[test]
fn forbidden_reads_well() {
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.register(h.at(0.0));
    let (req, _) = h.sent();
    h.reply(0.1, &req, 403, "Forbidden", |_| {});
    assert_eq!(
        h.failed().0.to_string(),
        "the PBX refused 1001 (403 Forbidden)"
    );
}

#[test]
fn a_second_challenge_after_our_answer_is_a_wrong_password() {
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.register(h.at(0.0));
    let (req, _) = h.sent();
    h.reply(0.1, &req, 401, "Unauthorized", challenge);
    let (answer, _) = h.sent();
    h.reply(0.2, &answer, 401, "Unauthorized", challenge);
    let (error, retry_at) = h.failed();
    assert_eq!(
        error,
        RegistrationError::WrongPassword {
            user: "1001".into(),
            domain: "pbx.example".into()
        }
    );
    assert!(retry_at > 400.0, "slow retry only");
    assert!(h.nothing_sent());
}

#[test]
fn an_unsupported_algorithm_is_terminal() {
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.register(h.at(0.0));
    let (req, _) = h.sent();
    h.reply(0.1, &req, 401, "Unauthorized", |r| {
        r.headers.push(
            HeaderName::WwwAuthenticate,
            "Digest realm=\"pbx\", nonce=\"n\", algorithm=SHA-999",
        );
    });
    let (error, _) = h.failed();
    assert!(
        matches!(error, RegistrationError::UnsupportedAuth { .. }),
        "{error:?}"
    );
    assert!(error.is_terminal());
}

#[test]
fn interval_too_brief_retries_at_once_with_min_expires() {
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.register(h.at(0.0));
    let (req, _) = h.sent();
    h.reply(0.1, &req, 423, "Interval Too Brief", |r| {
        r.headers.push_typed(&MinExpires(7200))
    });
    let (again, _) = h.sent();
    let contact = again
        .headers
        .typed::<Contact>()
        .expect("valid")
        .expect("present");
    let Contact::Addr(addr) = contact else {
        panic!("not a wildcard")
    };
    assert_eq!(addr.params.value("expires"), Some("7200"));
    // A 423 without a usable Min-Expires is a plain rejection.
    h.reply(0.2, &again, 423, "Interval Too Brief", |_| {});
    assert!(h.failed().0.is_terminal());
}

#[test]
fn no_answer_backs_off_briefly_and_stays_brief() {
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.register(h.at(0.0));
    let mut now = 0.0;
    for attempt in 1..=10 {
        let (_, cseq) = h.sent();
        now += 32.0;
        h.reg
            .handle_failure(h.at(now), cseq, RequestFailure::Timeout);
        let (error, retry_at) = h.failed();
        assert!(error.is_unreachable());
        let wait = retry_at - now;
        assert!(wait <= 4.8 + 1e-6, "attempt {attempt}: waits {wait}");
        now = retry_at;
        h.reg.handle_timeout(h.at(now));
    }
}

#[test]
fn responses_to_older_requests_are_ignored() {
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.register(h.at(0.0));
    let (first, _) = h.sent();
    h.reply(0.1, &first, 401, "Unauthorized", challenge);
    let _ = h.sent();
    // A late 403 for CSeq 1 changes nothing.
    h.reply(0.2, &first, 403, "Forbidden", |_| {});
    assert_eq!(h.reg.state(), &RegistrationState::Registering);
}

#[test]
fn unregister_removes_the_binding_or_ends_at_once() {
    // Nothing registered: done immediately.
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.unregister(h.at(0.0));
    assert_eq!(
        h.reg.poll_event(),
        Some(RegistrationEvent::Unregistered { clean: true })
    );
    assert!(h.nothing_sent());

    // Registered: Expires 0, then the event.
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.register(h.at(0.0));
    let (req, _) = h.sent();
    h.reply(0.1, &req, 200, "OK", |_| {});
    h.reg.unregister(h.at(10.0));
    let (bye, _) = h.sent();
    assert_eq!(
        bye.headers.get(&HeaderName::Expires).map(|v| v.as_str()),
        Some("0")
    );
    assert!(bye
        .headers
        .get(&HeaderName::Contact)
        .expect("Contact")
        .contains("expires=0"));
    h.reply(10.1, &bye, 200, "OK", |_| {});
    let events: Vec<_> = std::iter::from_fn(|| h.reg.poll_event()).collect();
    assert_eq!(
        events.last(),
        Some(&RegistrationEvent::Unregistered { clean: true })
    );
    assert_eq!(
        h.reg.poll_timeout(),
        None,
        "no refresh, retry or keep-alive left"
    );

    // The registrar never answers: the deadline ends it.
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.register(h.at(0.0));
    let (req, _) = h.sent();
    h.reply(0.1, &req, 200, "OK", |_| {});
    h.reg.unregister(h.at(10.0));
    h.sent();
    assert_eq!(h.reg.poll_timeout(), Some(h.at(15.0)));
    h.reg.handle_timeout(h.at(15.0));
    let events: Vec<_> = std::iter::from_fn(|| h.reg.poll_event()).collect();
    assert_eq!(
        events.last(),
        Some(&RegistrationEvent::Unregistered { clean: false })
    );
    assert_eq!(h.reg.poll_timeout(), None);
}

#[test]
fn tcp_registrations_send_keepalives_while_registered() {
    let mut h = Harness::new(TransportKind::Tcp);
    h.registered();
    assert_eq!(h.reg.poll_timeout(), Some(h.at(30.1)));
    h.reg.handle_timeout(h.at(30.1));
    assert_eq!(h.reg.poll_action(), Some(RegistrationAction::KeepAlive));
    assert_eq!(h.reg.poll_timeout(), Some(h.at(60.1)));
    // UDP: none by default.
    let mut h = Harness::new(TransportKind::Udp);
    h.registered();
    assert_eq!(h.reg.poll_timeout(), Some(h.at(300.1)), "only the refresh");
}

#[test]
fn a_nat_rewrite_reregisters_and_removes_the_old_contact() {
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.register(h.at(0.0));
    let (req, _) = h.sent();
    // The registrar saw us elsewhere, but only says so in the 200.
    h.reply(0.1, &req, 200, "OK", |r| {
        r.headers.set(
            HeaderName::Via,
            "SIP/2.0/UDP 10.0.0.2:5060;rport=40000;received=203.0.113.7;branch=z9hG4bKx",
        );
    });
    assert_eq!(
        h.reg.contact_addr(),
        "203.0.113.7:40000".parse().expect("valid")
    );
    let (again, _) = h.sent();
    let contacts: Vec<String> = again
        .headers
        .get_all(&HeaderName::Contact)
        .map(|c| c.to_string())
        .collect();
    assert_eq!(contacts.len(), 2, "{contacts:?}");
    assert!(contacts[0].contains("203.0.113.7:40000") && contacts[0].contains("expires=3600"));
    assert!(contacts[1].contains("10.0.0.2:5060") && contacts[1].contains("expires=0"));
}

#[test]
fn a_registrar_that_never_accepts_an_answer_cannot_make_us_loop() {
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.register(h.at(0.0));
    let mut sent = 0;
    while let Some(RegistrationAction::Send { request, .. }) = h.reg.poll_action() {
        sent += 1;
        assert!(sent < 10, "looping");
        let nonce = format!("n{sent}");
        h.reply(0.1, &request, 401, "Unauthorized", |r| {
            let digest =
                DigestChallenge::new("pbx.example", nonce, DigestAlgorithm::Md5).with_stale(true);
            r.headers
                .push_typed(&WwwAuthenticate(digest.to_challenge()));
        });
    }
    assert!(matches!(h.reg.state(), RegistrationState::Failed { .. }));
}

#[test]
fn over_tls_the_register_says_tls_and_keeps_the_connection_alive() {
    let mut h = Harness::new(TransportKind::Tls);
    h.reg.register(h.at(0.0));
    let (req, _) = h.sent();
    let via = req.headers.get(&HeaderName::Via).expect("Via").to_string();
    assert!(via.starts_with("SIP/2.0/TLS 10.0.0.2:5060"), "{via}");
    let contact = req
        .headers
        .get(&HeaderName::Contact)
        .expect("Contact")
        .to_string();
    assert!(
        contact.contains("<sip:1001@10.0.0.2:5060;transport=tls>"),
        "{contact}"
    );
    h.reply(0.1, &req, 200, "OK", |r| {
        r.headers.push(HeaderName::Expires, "600")
    });
    h.reg.handle_timeout(h.at(30.1));
    assert_eq!(h.reg.poll_action(), Some(RegistrationAction::KeepAlive));
}

#[test]
fn a_connection_that_stops_answering_keepalives_is_closed_after_10_s() {
    let mut h = Harness::new(TransportKind::Tls);
    h.registered();
    // The registrar answers the first keep-alive: from now on it is held to it.
    h.reg.handle_timeout(h.at(30.1));
    assert_eq!(h.reg.poll_action(), Some(RegistrationAction::KeepAlive));
    h.reg.handle_pong();
    assert_eq!(h.reg.poll_timeout(), Some(h.at(60.1)), "no pong wait left");
    // The next one goes unanswered: 10 s later the connection is given up.
    h.reg.handle_timeout(h.at(60.1));
    assert_eq!(h.reg.poll_action(), Some(RegistrationAction::KeepAlive));
    assert_eq!(h.reg.poll_timeout(), Some(h.at(70.1)));
    h.reg.handle_timeout(h.at(70.1));
    assert_eq!(h.reg.poll_action(), Some(RegistrationAction::CloseFlow));
    assert!(h.nothing_sent());
    // The driver closes it and reports the close: a REGISTER over a new connection.
    h.reg.handle_flow_closed(h.at(70.1));
    let (again, _) = h.sent();
    assert_eq!(again.method, Method::Register);
    // The new connection has not answered a keep-alive yet: none is waited for.
    h.reply(70.2, &again, 200, "OK", |r| {
        r.headers.push(HeaderName::Expires, "600")
    });
    h.reg.handle_timeout(h.at(100.2));
    assert_eq!(h.reg.poll_action(), Some(RegistrationAction::KeepAlive));
    assert_eq!(h.reg.poll_timeout(), Some(h.at(130.2)), "no pong wait");
}

#[test]
fn a_registrar_that_never_answers_keepalives_is_not_held_to_it() {
    let mut h = Harness::new(TransportKind::Tcp);
    h.registered();
    for n in 1..=5 {
        let at = 0.1 + 30.0 * f64::from(n);
        h.reg.handle_timeout(h.at(at));
        assert_eq!(h.reg.poll_action(), Some(RegistrationAction::KeepAlive));
        assert!(h.nothing_sent(), "keep-alive {n}");
    }
    assert!(matches!(
        h.reg.state(),
        RegistrationState::Registered { .. }
    ));
}

#[test]
fn after_a_clock_jump_the_registration_is_renewed_at_once() {
    // UDP: a REGISTER now, not at the refresh 300 s (of the monotonic clock) away.
    let mut h = Harness::new(TransportKind::Udp);
    h.registered();
    assert!(h.nothing_sent());
    h.reg.handle_clock_jump(h.at(10.0));
    let (again, _) = h.sent();
    assert_eq!(again.method, Method::Register);
    // TLS: the old connection is closed first; its close registers again over a new one.
    let mut h = Harness::new(TransportKind::Tls);
    h.registered();
    h.reg.handle_clock_jump(h.at(10.0));
    assert_eq!(h.reg.poll_action(), Some(RegistrationAction::CloseFlow));
    h.reg.handle_flow_closed(h.at(10.0));
    let (again, _) = h.sent();
    assert_eq!(again.method, Method::Register);
    // Failed and backing off: the retry is not waited for (the network may be back).
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.register(h.at(0.0));
    let (req, _) = h.sent();
    h.reply(0.1, &req, 503, "Service Unavailable", |_| {});
    let (_, retry_at) = h.failed();
    assert!(retry_at > 1.0, "{retry_at}");
    h.reg.handle_clock_jump(h.at(0.5));
    assert_eq!(h.reg.state(), &RegistrationState::Registering);
    let (again, _) = h.sent();
    assert_eq!(again.method, Method::Register);
    // Unregistered on purpose: nothing.
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.handle_clock_jump(h.at(1.0));
    assert!(h.nothing_sent());
}

/// Registered over TLS at `secs`; the connection then drops at `drop_at`.
fn registered_then_dropped(h: &mut Harness, secs: f64, drop_at: f64) {
    let (req, _) = h.sent();
    h.reply(secs, &req, 200, "OK", |r| {
        r.headers.push(HeaderName::Expires, "600")
    });
    h.reg.handle_flow_closed(h.at(drop_at));
}

#[test]
fn a_dropped_connection_registers_again_at_once_then_with_backoff() {
    let mut h = Harness::new(TransportKind::Tls);
    h.reg.register(h.at(0.0));
    // The first drop after a long-lived connection: a new REGISTER at once.
    registered_then_dropped(&mut h, 0.1, 200.0);
    // ...which succeeds, and the new connection drops again right away: wait first.
    registered_then_dropped(&mut h, 200.1, 200.2);
    assert!(h.nothing_sent(), "no REGISTER before the backoff");
    let retry = h.reg.poll_timeout().expect("a retry is scheduled");
    let wait = (retry - h.at(200.2)).as_secs_f64();
    assert!((1.6..=4.8).contains(&wait), "waits {wait}");
    h.reg.handle_timeout(retry);
    let (again, _) = h.sent();
    assert_eq!(again.method, crate::message::Method::Register);
    // Still registered meanwhile: the PBX holds the binding until it expires.
    assert!(matches!(
        h.reg.state(),
        RegistrationState::Registered { .. }
    ));
}

#[test]
fn after_a_dropped_connection_the_new_source_port_is_registered_at_once() {
    let mut h = Harness::new(TransportKind::Tls);
    h.reg.register(h.at(0.0));
    let seen_at = |port: u16| {
        move |r: &mut Response| {
            r.headers.set(
                HeaderName::Via,
                format!("SIP/2.0/TLS 10.0.0.2:5060;rport={port};received=10.0.0.2;branch=z9hG4bKx"),
            );
            r.headers.push(HeaderName::Expires, "600");
        }
    };
    let (req, _) = h.sent();
    h.reply(0.1, &req, 200, "OK", seen_at(40000));
    let (again, _) = h.sent(); // the Contact the registrar saw
    h.reply(0.2, &again, 200, "OK", seen_at(40000));
    assert!(h.nothing_sent());
    // 10 s later the connection drops; the new one leaves from port 40001.
    h.reg.handle_flow_closed(h.at(10.0));
    let (after_drop, _) = h.sent();
    h.reply(10.1, &after_drop, 200, "OK", seen_at(40001));
    let (rewrite, _) = h.sent();
    let contacts: Vec<String> = rewrite
        .headers
        .get_all(&HeaderName::Contact)
        .map(|c| c.to_string())
        .collect();
    assert!(contacts[0].contains("10.0.0.2:40001"), "{contacts:?}");
    assert!(contacts[1].contains("10.0.0.2:40000") && contacts[1].contains("expires=0"));
}

#[test]
fn a_dropped_connection_means_nothing_on_udp_or_while_a_register_is_out() {
    let mut h = Harness::new(TransportKind::Udp);
    h.reg.register(h.at(0.0));
    registered_then_dropped(&mut h, 0.1, 200.0);
    assert!(h.nothing_sent());

    let mut h = Harness::new(TransportKind::Tls);
    h.reg.register(h.at(0.0));
    let _ = h.sent();
    h.reg.handle_flow_closed(h.at(0.1));
    assert!(
        h.nothing_sent(),
        "the REGISTER out will fail or succeed by itself"
    );
}

#[test]
fn a_refused_tls_connection_fails_in_the_drivers_words_and_retries_slowly() {
    let mut h = Harness::new(TransportKind::Tls);
    h.reg.register(h.at(0.0));
    let mut now = 0.0;
    let mut waits = Vec::new();
    for _ in 0..8 {
        let (_, cseq) = h.sent();
        let words = "the PBX's TLS certificate at 10.0.0.1:5060 has an untrusted issuer";
        h.reg.handle_failure(
            h.at(now),
            cseq,
            RequestFailure::TransportBecause(TransportFailure::Refused(words.into())),
        );
        let (error, retry_at) = h.failed();
        assert_eq!(error.to_string(), words);
        assert!(!error.is_terminal() && !error.is_unreachable());
        waits.push(retry_at - now);
        now = retry_at;
        h.reg.handle_timeout(h.at(now));
    }
    // 2, 4, 8 ... s (±20%): the retries thin out instead of hammering the PBX.
    assert!(waits[0] <= 2.4 && waits[7] >= 200.0, "{waits:?}");
}
