//! Registration with a PBX (RFC 3261 §10), sans-IO.
//!
//! A [`Registration`] keeps one account registered: it builds REGISTER requests (same
//! Call-ID, increasing CSeq, `;rport` in Via), answers digest challenges through
//! [`crate::auth`], refreshes at half the granted lifetime, backs off after failures
//! ([`RetryPolicy`]) and unregisters on request. It does not own the transaction layer: the
//! [`crate::endpoint::Endpoint`] sends what [`Registration::poll_action`] yields and feeds
//! back the final responses and failures, so this core can be tested on its own.
//!
//! Failure policy, in short:
//! - terminal (wrong password, 403, 404, an unsupported digest algorithm, other
//!   non-retryable 4xx/6xx): [`RegistrationState::Failed`] and one slow attempt every
//!   [`RetryPolicy::terminal`] (10 min), so a fix made on the PBX is picked up without
//!   hammering it;
//! - transient (timeout, transport error, 408, 480, 5xx with Retry-After honoured):
//!   exponential backoff with jitter, short-capped while nothing answers at all;
//! - 423 Interval Too Brief: retried at once with the registrar's Min-Expires.
//!
//! NAT: the registrar's `received`/`rport` (RFC 3581) tell us our public address. When it
//! differs from our Contact we re-register with the corrected Contact and remove the old
//! binding in the same request.

mod backoff;
mod challenge;
mod error;
mod request;
mod response;

pub use backoff::RetryPolicy;
pub use error::RegistrationError;
pub use request::{ALLOW, SUPPORTED};

use crate::auth::{Authenticator, Password};
use crate::message::typed::CSeq;
use crate::message::{Request, Response};
use crate::net::{Peer, TransportFailure};
use challenge::Unanswered;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use request::{build_register, RegisterParams};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tracing::debug;

/// One account at one registrar.
#[derive(Debug, Clone)]
pub struct RegistrationConfig {
    /// Where REGISTER goes: the registrar or the outbound proxy, and over what.
    pub registrar: Peer,
    /// The registrar domain (`pbx.example`, `10.0.0.5:5070`): Request-URI and AoR host.
    pub domain: String,
    /// The AoR user (`1001` in `sip:1001@pbx.example`).
    pub user: String,
    /// The digest user name, when it differs from `user`.
    pub auth_user: Option<String>,
    /// The name shown in our From and To, if any.
    pub display_name: Option<String>,
    /// The digest password.
    pub password: Password,
    /// Requested binding lifetime in seconds. Default 3600.
    pub expires: u32,
    /// Our address as we know it locally: Via sent-by and the first Contact.
    pub local_addr: SocketAddr,
    /// Our `User-Agent` header, if any.
    pub user_agent: Option<String>,
    /// CRLFCRLF keep-alive interval while registered (RFC 5626 §3.5.1 style). Default: 30 s
    /// on TCP and TLS, none on UDP.
    pub keepalive: Option<Duration>,
    /// How soon to retry after a failure.
    pub retry: RetryPolicy,
    /// How long `unregister` waits for the registrar before giving up. Default 5 s, so a
    /// quitting application is not held for Timer F's 32 s.
    pub unregister_timeout: Duration,
}

impl RegistrationConfig {
    /// A configuration with the defaults above.
    pub fn new(
        registrar: Peer,
        domain: &str,
        user: &str,
        password: Password,
        local_addr: SocketAddr,
    ) -> Self {
        RegistrationConfig {
            registrar,
            domain: domain.to_owned(),
            user: user.to_owned(),
            auth_user: None,
            display_name: None,
            password,
            expires: 3600,
            local_addr,
            user_agent: None,
            keepalive: registrar
                .transport
                .is_reliable()
                .then_some(Duration::from_secs(30)),
            retry: RetryPolicy::default(),
            unregister_timeout: Duration::from_secs(5),
        }
    }
}

/// Where the registration stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    /// Not registered and not trying (before `register`, after `unregister`).
    Unregistered,
    /// The first REGISTER (or a retry after a failure) is under way.
    Registering,
    /// The registrar holds our binding until `expires_at`. Each successful refresh reports
    /// this state again with the new `expires_at`.
    Registered {
        /// When the binding lapses unless refreshed.
        expires_at: Instant,
    },
    /// The last attempt failed; the next one is due at `retry_at` (about 10 min away after
    /// a terminal error, see [`RetryPolicy`]). `register` retries at once.
    Failed {
        /// What went wrong.
        error: RegistrationError,
        /// When the next attempt is due.
        retry_at: Instant,
    },
}

/// What the registration asks of its driver (the endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationAction {
    /// Start a client transaction for this REGISTER towards the registrar.
    Send {
        /// The REGISTER.
        request: Box<Request>,
        /// Its CSeq number, to match the outcome to it.
        cseq: u32,
    },
    /// Send a CRLFCRLF keep-alive to the registrar.
    KeepAlive,
    /// The connection to the registrar answers no more keep-alives: close it, and report
    /// the close like any other (`Endpoint::handle_transport_error`), which registers
    /// again over a new one.
    CloseFlow,
}

/// What the registration reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistrationEvent {
    /// The registration moved to this state.
    StateChanged(RegistrationState),
    /// `unregister` finished: `clean` when the registrar confirmed it (or there was nothing
    /// to remove), false when it timed out or failed.
    Unregistered {
        /// Whether the registrar confirmed the removal.
        clean: bool,
    },
}

/// Why a REGISTER got no final response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestFailure {
    /// Timer F fired.
    Timeout,
    /// The driver could not send it.
    Transport,
    /// The driver could not send it, and said why (a TLS certificate problem, a refused
    /// connection).
    TransportBecause(TransportFailure),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Goal {
    Registered,
    Unregistered,
}

/// The REGISTER we are waiting on.
#[derive(Debug, Clone)]
struct InFlight {
    /// As we built it (without the branch the transaction layer adds).
    request: Request,
    cseq: u32,
    contact: SocketAddr,
    expires: u32,
}

/// The registration's own timers, one table like the transactions'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RegTimer {
    Refresh,
    Retry,
    KeepAlive,
    /// A keep-alive went out on a connection that answers them: its pong is due.
    Pong,
    UnregisterDeadline,
}

impl RegTimer {
    const ALL: [RegTimer; 5] = [
        RegTimer::Refresh,
        RegTimer::Retry,
        RegTimer::KeepAlive,
        RegTimer::Pong,
        RegTimer::UnregisterDeadline,
    ];
}

/// How long a keep-alive waits for its pong before the connection counts as failed
/// (RFC 5626 §4.4.1).
pub const PONG_WAIT: Duration = Duration::from_secs(10);

/// After a NAT rewrite we wait this long before the next immediate one, so a registrar
/// reporting a different address every time cannot make us loop.
const NAT_REWRITE_HOLDOFF: Duration = Duration::from_secs(30);
/// Never refresh sooner than this, whatever the registrar grants.
const MIN_REFRESH: Duration = Duration::from_secs(1);
/// A connection to the registrar that lived this long before it dropped counts as healthy:
/// the next drop re-registers at once instead of after a backoff (RFC 5626 §4.5).
const FLOW_STABLE: Duration = Duration::from_secs(120);
/// Challenges answered in a row (stale nonces, several realms) before we call it a failure:
/// a registrar that never accepts an answer must not make us loop at network speed.
const MAX_CHALLENGES_IN_A_ROW: u32 = 3;

/// See the module documentation.
#[derive(Debug)]
pub struct Registration {
    config: RegistrationConfig,
    call_id: String,
    from_tag: String,
    cseq: u32,
    rng: StdRng,
    state: RegistrationState,
    goal: Goal,
    in_flight: Option<InFlight>,
    auth: Authenticator,
    challenges_in_a_row: u32,
    /// Our Contact address: `local_addr` until the registrar tells us otherwise.
    contact: SocketAddr,
    /// The contact the registrar currently holds for us, if any.
    bound: Option<SocketAddr>,
    last_nat_rewrite: Option<Instant>,
    /// Requested lifetime; raised by a 423.
    expires: u32,
    failures: u32,
    /// Since when the current connection (TCP, TLS) has carried a successful registration.
    flow_since: Option<Instant>,
    /// Connections to the registrar that dropped in a row, each soon after the last.
    flow_drops: u32,
    /// The registrar answered a keep-alive on the current connection: from then on a
    /// keep-alive without its pong means the connection is dead (RFC 5626 §4.4.1). A
    /// registrar that never answers one is not held to it.
    pongs_seen: bool,
    timers: [Option<Instant>; RegTimer::ALL.len()],
    actions: VecDeque<RegistrationAction>,
    events: VecDeque<RegistrationEvent>,
}

impl Registration {
    /// `rng_seed` feeds Call-ID, tag and jitter; pass a random one outside tests.
    pub fn new(config: RegistrationConfig, rng_seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(rng_seed);
        let call_id = format!(
            "{:016x}{:08x}@{}",
            rng.random::<u64>(),
            rng.random::<u32>(),
            config.local_addr.ip()
        );
        let from_tag = format!("{:016x}", rng.random::<u64>());
        let auth_user = config
            .auth_user
            .clone()
            .unwrap_or_else(|| config.user.clone());
        Registration {
            auth: Authenticator::new(auth_user, config.password.clone()).with_seed(rng.random()),
            contact: config.local_addr,
            expires: config.expires,
            config,
            call_id,
            from_tag,
            cseq: 0,
            rng,
            state: RegistrationState::Unregistered,
            goal: Goal::Unregistered,
            in_flight: None,
            challenges_in_a_row: 0,
            bound: None,
            last_nat_rewrite: None,
            failures: 0,
            flow_since: None,
            flow_drops: 0,
            pongs_seen: false,
            timers: [None; RegTimer::ALL.len()],
            actions: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The account and policy it runs with.
    pub fn config(&self) -> &RegistrationConfig {
        &self.config
    }

    /// Where it stands.
    pub fn state(&self) -> &RegistrationState {
        &self.state
    }

    /// The Contact address we register (learned from the registrar behind a NAT).
    pub fn contact_addr(&self) -> SocketAddr {
        self.contact
    }

    /// Starts (or restarts at once, e.g. after a terminal failure the user fixed)
    /// registering.
    pub fn register(&mut self, now: Instant) {
        self.goal = Goal::Registered;
        self.failures = 0;
        self.stop(RegTimer::Retry);
        self.stop(RegTimer::UnregisterDeadline);
        if self.in_flight.as_ref().is_some_and(|f| f.expires != 0) {
            return;
        }
        if !matches!(self.state, RegistrationState::Registered { .. }) {
            self.set_state(RegistrationState::Registering);
        }
        self.send_register(now, None);
    }

    /// Removes our binding (Expires 0). Ends with [`RegistrationEvent::Unregistered`], at
    /// the latest after `unregister_timeout`.
    pub fn unregister(&mut self, now: Instant) {
        self.goal = Goal::Unregistered;
        self.timers = [None; RegTimer::ALL.len()];
        if self.bound.is_none() && self.in_flight.is_none() {
            self.finish_unregister(true);
            return;
        }
        self.set(
            RegTimer::UnregisterDeadline,
            now + self.config.unregister_timeout,
        );
        self.send_register(now, None);
    }

    /// Sends the next REGISTER: a fresh one (with cached credentials, if we hold a nonce),
    /// or, given the challenged request and its 401/407, the answer to that challenge.
    fn send_register(&mut self, now: Instant, challenge: Option<(&Request, &Response)>) {
        let unregister = self.goal == Goal::Unregistered;
        let removes = self.bound.filter(|old| *old != self.contact);
        let params = RegisterParams {
            cseq: self.cseq + 1,
            contact: self.contact,
            expires: if unregister { 0 } else { self.expires },
            remove: removes,
        };
        let mut request = build_register(&self.config, &self.call_id, &self.from_tag, &params);
        match challenge {
            None => {
                self.challenges_in_a_row = 0;
                self.auth.authorize_cached(&mut request);
            }
            Some((challenged, response)) => {
                if let Err(why) =
                    challenge::answer(&mut self.auth, challenged, &mut request, response)
                {
                    let user = self.config.user.clone();
                    let error = match why {
                        Unanswered::Rejected => RegistrationError::WrongPassword {
                            user,
                            domain: self.config.domain.clone(),
                        },
                        Unanswered::Unsupported(detail) => {
                            RegistrationError::UnsupportedAuth { user, detail }
                        }
                    };
                    self.fail(now, error);
                    return;
                }
            }
        }
        self.cseq += 1;
        debug!(cseq = self.cseq, unregister, "sending REGISTER");
        self.in_flight = Some(InFlight {
            request: request.clone(),
            cseq: self.cseq,
            contact: self.contact,
            expires: params.expires,
        });
        self.actions.push_back(RegistrationAction::Send {
            request: Box::new(request),
            cseq: self.cseq,
        });
    }

    /// A response to one of our REGISTERs (responses to older ones are ignored).
    pub fn handle_response(&mut self, now: Instant, response: &Response) {
        let cseq = match response.headers.typed::<CSeq>() {
            Ok(Some(c)) => c.seq,
            _ => return,
        };
        let Some(flight) = self.in_flight.clone().filter(|f| f.cseq == cseq) else {
            return;
        };
        if response.status < 200 {
            return;
        }
        self.in_flight = None;
        if let Some(seen) = response::observed_addr(response, self.config.local_addr) {
            if seen != self.contact {
                debug!(%seen, "registrar sees us at another address");
                self.contact = seen;
            }
        }
        let reason = response.reason.to_string();
        let user = self.config.user.clone();
        match response.status {
            200..=299 => self.on_success(now, response, &flight),
            401 | 407 if self.challenges_in_a_row < MAX_CHALLENGES_IN_A_ROW => {
                self.challenges_in_a_row += 1;
                self.send_register(now, Some((&flight.request, response)));
            }
            401 | 407 => self.fail(
                now,
                RegistrationError::Rejected {
                    user,
                    status: response.status,
                    reason,
                },
            ),
            423 => match response::min_expires(response) {
                Some(min) if min > flight.expires && flight.expires != 0 => {
                    debug!(min, "423: retrying with Min-Expires");
                    self.expires = min;
                    self.send_register(now, None);
                }
                _ => self.fail(
                    now,
                    RegistrationError::Rejected {
                        user,
                        status: 423,
                        reason,
                    },
                ),
            },
            403 => self.fail(
                now,
                RegistrationError::Forbidden {
                    user,
                    status: 403,
                    reason,
                },
            ),
            404 => {
                let domain = self.config.domain.clone();
                self.fail(
                    now,
                    RegistrationError::NotFound {
                        user,
                        domain,
                        status: 404,
                        reason,
                    },
                );
            }
            408 | 480 | 500..=599 => {
                let error = RegistrationError::Unavailable {
                    registrar: self.config.registrar.addr.to_string(),
                    status: response.status,
                    reason,
                    retry_after: response::retry_after(response),
                };
                self.fail(now, error);
            }
            status => self.fail(
                now,
                RegistrationError::Rejected {
                    user,
                    status,
                    reason,
                },
            ),
        }
    }

    fn on_success(&mut self, now: Instant, response: &Response, flight: &InFlight) {
        self.failures = 0;
        self.flow_since.get_or_insert(now);
        if flight.expires == 0 {
            self.bound = None;
            self.finish_unregister(true);
            return;
        }
        let granted = response::granted_expires(response, flight.contact, flight.expires);
        if granted == 0 {
            let error = RegistrationError::Rejected {
                user: self.config.user.clone(),
                status: response.status,
                reason: "the registrar granted no lifetime".to_owned(),
            };
            self.fail(now, error);
            return;
        }
        self.bound = Some(flight.contact);
        let lifetime = Duration::from_secs(u64::from(granted));
        self.set_state(RegistrationState::Registered {
            expires_at: now + lifetime,
        });
        self.stop(RegTimer::Retry);
        self.set(RegTimer::Refresh, now + (lifetime / 2).max(MIN_REFRESH));
        if let Some(every) = self.config.keepalive {
            if self.get(RegTimer::KeepAlive).is_none() {
                self.set(RegTimer::KeepAlive, now + every);
            }
        }
        let may_rewrite = self
            .last_nat_rewrite
            .is_none_or(|at| now >= at + NAT_REWRITE_HOLDOFF);
        if flight.contact != self.contact && may_rewrite {
            debug!(contact = %self.contact, "re-registering with the address the registrar saw");
            self.last_nat_rewrite = Some(now);
            self.send_register(now, None);
        }
    }

    /// The REGISTER with `cseq` got no final response.
    pub fn handle_failure(&mut self, now: Instant, cseq: u32, failure: RequestFailure) {
        if self.in_flight.as_ref().is_none_or(|f| f.cseq != cseq) {
            return;
        }
        self.in_flight = None;
        let registrar = self.config.registrar;
        let error = match failure {
            RequestFailure::Timeout => RegistrationError::no_answer(registrar),
            RequestFailure::Transport => RegistrationError::transport(registrar),
            RequestFailure::TransportBecause(TransportFailure::Unreachable(detail)) => {
                RegistrationError::Unreachable {
                    registrar: registrar.addr.to_string(),
                    transport: registrar.transport.to_string(),
                    detail,
                }
            }
            RequestFailure::TransportBecause(TransportFailure::Refused(detail)) => {
                RegistrationError::Refused {
                    registrar: registrar.addr.to_string(),
                    detail,
                }
            }
        };
        self.fail(now, error);
    }

    /// Time passed that the monotonic clock did not see (the machine slept, or the wall
    /// clock was stepped): the registrar may have dropped our binding meanwhile and a NAT
    /// or firewall its mapping, and our timers know nothing of it. Register again now; on
    /// TCP and TLS over a new connection (the old one is likely dead on the far side), so
    /// the driver is first told to close it ([`RegistrationAction::CloseFlow`]), and its
    /// report of the close registers again.
    pub fn handle_clock_jump(&mut self, now: Instant) {
        self.renew(now);
    }

    /// Our address toward the registrar changed (a Wi-Fi change, a VPN up or down, a link
    /// back): register again now, as after a clock jump, and take the address the registrar
    /// reports at once (a fresh Contact), whenever the last such rewrite was.
    pub fn handle_network_change(&mut self, now: Instant) {
        self.last_nat_rewrite = None;
        self.renew(now);
    }

    fn renew(&mut self, now: Instant) {
        if self.goal != Goal::Registered {
            return;
        }
        let registered = matches!(self.state, RegistrationState::Registered { .. });
        if registered && self.config.registrar.transport.is_reliable() {
            self.stop(RegTimer::Pong);
            self.pongs_seen = false;
            self.actions.push_back(RegistrationAction::CloseFlow);
        } else if self.in_flight.is_none() {
            // Also a failed one waiting out its backoff: the network may be back.
            self.stop(RegTimer::Retry);
            if !registered {
                self.set_state(RegistrationState::Registering);
            }
            self.send_register(now, None);
        }
    }

    /// The registrar answered a keep-alive (a CRLF on its connection): the connection is
    /// alive, and from now on its pongs are expected.
    pub fn handle_pong(&mut self) {
        if self.config.keepalive.is_some() {
            self.pongs_seen = true;
            self.stop(RegTimer::Pong);
        }
    }

    /// The connection to the registrar (TCP, TLS) closed or broke. The PBX can no longer
    /// reach us through it, so register again over a new one: at once after a connection
    /// that lived a while, after a growing backoff when connections keep dropping.
    pub fn handle_flow_closed(&mut self, now: Instant) {
        if !self.config.registrar.transport.is_reliable()
            || self.goal != Goal::Registered
            || self.in_flight.is_some()
            || !matches!(self.state, RegistrationState::Registered { .. })
        {
            // Not registered: a retry is already scheduled, or an answer is awaited.
            return;
        }
        let stable = self
            .flow_since
            .is_some_and(|since| now >= since + FLOW_STABLE);
        self.flow_drops = if stable { 1 } else { self.flow_drops + 1 };
        self.flow_since = None;
        self.pongs_seen = false;
        // The new connection has a new source port, which the registrar will report: that
        // is no looping registrar, so learn it at once, whenever the last rewrite was.
        self.last_nat_rewrite = None;
        self.stop(RegTimer::KeepAlive);
        self.stop(RegTimer::Pong);
        if self.flow_drops <= 1 {
            debug!("connection to the registrar closed: registering again");
            self.send_register(now, None);
        } else {
            let error = RegistrationError::transport(self.config.registrar);
            let wait = self
                .config
                .retry
                .delay(&error, self.flow_drops - 1, &mut self.rng);
            debug!(
                ?wait,
                drops = self.flow_drops,
                "connection to the registrar keeps closing"
            );
            self.stop(RegTimer::Refresh);
            self.set(RegTimer::Retry, now + wait);
        }
    }

    fn fail(&mut self, now: Instant, error: RegistrationError) {
        debug!(%error, "registration attempt failed");
        self.in_flight = None;
        if self.goal == Goal::Unregistered {
            self.finish_unregister(false);
            return;
        }
        if error.is_terminal() {
            // Start the next (slow) attempt from scratch: fresh challenge, fresh counters.
            self.auth.forget();
        }
        self.failures = self.failures.saturating_add(1);
        self.flow_since = None;
        let retry_at = now
            + self
                .config
                .retry
                .delay(&error, self.failures, &mut self.rng);
        self.stop(RegTimer::Refresh);
        self.stop(RegTimer::KeepAlive);
        self.stop(RegTimer::Pong);
        self.set(RegTimer::Retry, retry_at);
        self.set_state(RegistrationState::Failed { error, retry_at });
    }

    fn finish_unregister(&mut self, clean: bool) {
        self.timers = [None; RegTimer::ALL.len()];
        self.in_flight = None;
        self.set_state(RegistrationState::Unregistered);
        self.events
            .push_back(RegistrationEvent::Unregistered { clean });
    }

    /// When [`Registration::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.iter().flatten().min().copied()
    }

    /// Runs what is due at `now`: a refresh, a retry, a keep-alive, giving up an unregister.
    pub fn handle_timeout(&mut self, now: Instant) {
        for timer in RegTimer::ALL {
            if self.get(timer).is_none_or(|at| at > now) {
                continue;
            }
            self.stop(timer);
            match timer {
                RegTimer::Refresh if self.in_flight.is_none() => self.send_register(now, None),
                RegTimer::Refresh => {}
                RegTimer::Retry => {
                    if !matches!(self.state, RegistrationState::Registered { .. }) {
                        self.set_state(RegistrationState::Registering);
                    }
                    self.send_register(now, None);
                }
                RegTimer::KeepAlive => {
                    self.actions.push_back(RegistrationAction::KeepAlive);
                    if let Some(every) = self.config.keepalive {
                        self.set(RegTimer::KeepAlive, now + every);
                    }
                    if self.pongs_seen && self.get(RegTimer::Pong).is_none() {
                        self.set(RegTimer::Pong, now + PONG_WAIT);
                    }
                }
                RegTimer::Pong => {
                    // The driver closes it and reports the close like any other, which
                    // fails what was in flight on it and registers again
                    // (`handle_flow_closed`).
                    debug!("no pong from the registrar in 10 s: its connection is dead");
                    self.pongs_seen = false;
                    self.actions.push_back(RegistrationAction::CloseFlow);
                }
                RegTimer::UnregisterDeadline => self.finish_unregister(false),
            }
        }
    }

    /// The next thing for the driver to do.
    pub fn poll_action(&mut self) -> Option<RegistrationAction> {
        self.actions.pop_front()
    }

    /// The next thing to tell the application.
    pub fn poll_event(&mut self) -> Option<RegistrationEvent> {
        self.events.pop_front()
    }

    fn set_state(&mut self, state: RegistrationState) {
        if self.state != state {
            self.state = state.clone();
            self.events
                .push_back(RegistrationEvent::StateChanged(state));
        }
    }

    fn get(&self, timer: RegTimer) -> Option<Instant> {
        self.timers[timer as usize]
    }

    fn set(&mut self, timer: RegTimer, at: Instant) {
        self.timers[timer as usize] = Some(at);
    }

    fn stop(&mut self, timer: RegTimer) {
        self.timers[timer as usize] = None;
    }
}

#[cfg(test)]
mod tests;
