//! The user agent core, sans-IO: bytes in, bytes out.
//!
//! An [`Endpoint`] owns the [`TransactionLayer`] and the account's [`Registration`]. The
//! driver feeds it datagrams (or framed TCP messages) with [`Endpoint::handle_datagram`] and
//! the time with [`Endpoint::handle_timeout`], and drains [`Endpoint::poll_transmit`],
//! [`Endpoint::poll_event`] and [`Endpoint::poll_timeout`] after every input.
//!
//! Out of dialog the endpoint answers by itself: OPTIONS (200 with Allow/Accept/Supported),
//! unknown methods (405 with Allow), unparseable requests (400, when enough of them can be
//! salvaged to address an answer). Calls and in-dialog requests go to the application as
//! [`EndpointEvent::Transaction`] events when [`EndpointConfig::deliver_calls`] is set (the
//! calls layer answers them with [`Endpoint::respond`]); otherwise INVITE gets
//! 480 Temporarily Unavailable and in-dialog requests 481.

mod answer;

use crate::message::parse::bad_request;
use crate::message::{is_keepalive, HeaderName, Message, Request, Response};
use crate::net::{Peer, Transmit, TransportFailure};
use crate::registration::{
    Registration, RegistrationAction, RegistrationConfig, RegistrationEvent, RegistrationState,
    RequestFailure,
};
use crate::transaction::{
    ClientTransactionId, RespondError, SendError, ServerTransactionId, TimerConfig,
    TransactionEvent, TransactionId, TransactionLayer,
};
use answer::{dispose, Disposition};
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, VecDeque};
use std::time::Instant;
use tracing::debug;

/// A CRLFCRLF keep-alive (RFC 5626 §3.5.1).
const KEEPALIVE: &[u8] = b"\r\n\r\n";

#[derive(Debug, Clone)]
/// What an [`Endpoint`] is made of.
pub struct EndpointConfig {
    /// The account to keep registered, if any.
    pub registration: Option<RegistrationConfig>,
    /// RFC 3261 timer constants.
    pub timers: TimerConfig,
    /// Deliver INVITEs and in-dialog requests to the application (the calls layer).
    /// When false, the endpoint declines calls with 480 itself.
    pub deliver_calls: bool,
    /// Seeds branches, tags, Call-IDs and jitter. Use a random seed outside tests.
    pub seed: u64,
}

/// What the endpoint tells the application.
// Events are moved once from the core to the driver; boxing would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndpointEvent {
    /// The registration moved to this state.
    RegistrationChanged(RegistrationState),
    /// `unregister` finished (`clean`: the registrar confirmed); the driver may exit.
    Unregistered {
        /// Whether the registrar confirmed the removal.
        clean: bool,
    },
    /// What the transaction layer reported about the application's transactions (requests
    /// it sent with [`Endpoint::send_request`], requests and CANCELs for calls): everything
    /// but what the endpoint handles itself (REGISTER, OPTIONS, requests it refuses).
    Transaction(TransactionEvent),
}

/// What the endpoint dropped or answered on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EndpointCounters {
    /// Datagrams that did not parse and could not be answered.
    pub dropped: u64,
    /// Requests that did not parse and were answered 400.
    pub answered_400: u64,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Endpoint {
    layer: TransactionLayer,
    registration: Option<Registration>,
    /// REGISTER transactions and their CSeq, to route failures back to the registration.
    register_txs: HashMap<ClientTransactionId, u32>,
    deliver_calls: bool,
    rng: StdRng,
    transmits: VecDeque<Transmit>,
    /// Connections the driver is to close (a registrar's that stopped answering pongs).
    closing: VecDeque<Peer>,
    events: VecDeque<EndpointEvent>,
    counters: EndpointCounters,
    /// Why the hop being failed by `handle_transport_failure` failed, while its
    /// transactions are told.
    failing: Option<TransportFailure>,
}

impl Endpoint {
    /// An endpoint with no transactions; registration starts with [`Endpoint::register`].
    pub fn new(config: EndpointConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let layer = TransactionLayer::new(config.timers, rng.random());
        let registration = config
            .registration
            .map(|c| Registration::new(c, rng.random()));
        Endpoint {
            layer,
            registration,
            register_txs: HashMap::new(),
            deliver_calls: config.deliver_calls,
            rng,
            transmits: VecDeque::new(),
            closing: VecDeque::new(),
            events: VecDeque::new(),
            counters: EndpointCounters::default(),
            failing: None,
        }
    }

    /// A message from `source`: a UDP datagram or one framed TCP message.
    /// The message's header values and body share `bytes` (no copy).
    pub fn handle_datagram(&mut self, now: Instant, source: Peer, bytes: Bytes) {
        if is_keepalive(&bytes) {
            // On a stream, a CRLF is the registrar's pong to our keep-alive.
            if let Some(reg) = &mut self.registration {
                if reg.config().registrar == source && source.transport.is_reliable() {
                    reg.handle_pong();
                }
            }
            return;
        }
        match Message::parse_bytes(bytes.clone()) {
            Ok(message) => self.layer.handle_message(now, message, source),
            Err(error) => match bad_request(&bytes, "Bad Request") {
                Some(mut response) => {
                    response
                        .headers
                        .push(HeaderName::Warning, warning(&error.detail));
                    debug!(%source, %error, "answering an unparseable request with 400");
                    self.counters.answered_400 += 1;
                    self.layer
                        .send_stateless(&Message::Response(response), source);
                }
                None => {
                    debug!(%source, %error, "dropping an unparseable message");
                    self.counters.dropped += 1;
                }
            },
        }
        self.pump(now);
    }

    /// The driver could not deliver to `peer`, or its connection to `peer` closed.
    pub fn handle_transport_error(&mut self, now: Instant, peer: Peer) {
        self.layer.handle_transport_error(now, peer);
        self.pump(now);
        self.flow_failed(now, peer);
        self.pump(now);
    }

    /// Like [`Endpoint::handle_transport_error`], with the driver's words for why; a failed
    /// REGISTER shows them in [`RegistrationError`](crate::RegistrationError).
    pub fn handle_transport_failure(&mut self, now: Instant, peer: Peer, why: TransportFailure) {
        self.failing = Some(why);
        self.layer.handle_transport_error(now, peer);
        self.pump(now);
        self.failing = None;
        self.flow_failed(now, peer);
        self.pump(now);
    }

    /// A stream to the registrar is gone: the registration must open a new one.
    fn flow_failed(&mut self, now: Instant, peer: Peer) {
        if let Some(reg) = &mut self.registration {
            if reg.config().registrar == peer {
                reg.handle_flow_closed(now);
            }
        }
    }

    /// The machine slept or its wall clock was stepped ([`Registration::handle_clock_jump`]).
    pub fn handle_clock_jump(&mut self, now: Instant) {
        if let Some(reg) = &mut self.registration {
            reg.handle_clock_jump(now);
        }
        self.pump(now);
    }

    /// Our address toward the registrar changed ([`Registration::handle_network_change`]).
    pub fn handle_network_change(&mut self, now: Instant) {
        if let Some(reg) = &mut self.registration {
            reg.handle_network_change(now);
        }
        self.pump(now);
    }

    /// Starts registering (and keeps the registration fresh) when an account is configured.
    pub fn register(&mut self, now: Instant) {
        if let Some(reg) = &mut self.registration {
            reg.register(now);
        }
        self.pump(now);
    }

    /// Removes the binding; [`EndpointEvent::Unregistered`] follows (immediately when there
    /// is no registration).
    pub fn unregister(&mut self, now: Instant) {
        match &mut self.registration {
            Some(reg) => reg.unregister(now),
            None => self
                .events
                .push_back(EndpointEvent::Unregistered { clean: true }),
        }
        self.pump(now);
    }

    /// Where the registration stands, when an account is configured.
    pub fn registration_state(&self) -> Option<&RegistrationState> {
        self.registration.as_ref().map(|r| r.state())
    }

    /// The registration, when an account is configured.
    pub fn registration(&self) -> Option<&Registration> {
        self.registration.as_ref()
    }

    /// Sends a request of the application's (the calls layer) in a client transaction.
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        dest: Peer,
    ) -> Result<ClientTransactionId, SendError> {
        let id = self.layer.send_request(now, request, dest)?;
        self.pump(now);
        Ok(id)
    }

    /// Answers a request delivered as [`TransactionEvent::IncomingRequest`] or `Cancelled`.
    pub fn respond(
        &mut self,
        now: Instant,
        id: ServerTransactionId,
        response: Response,
    ) -> Result<(), RespondError> {
        let result = self.layer.respond(now, id, response);
        self.pump(now);
        result
    }

    /// Sends a message outside any transaction (the ACK for a 2xx).
    pub fn send_stateless(&mut self, now: Instant, message: &Message, dest: Peer) {
        self.layer.send_stateless(message, dest);
        self.pump(now);
    }

    /// Runs what is due at `now` (call `poll_timeout` for when).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        if let Some(reg) = &mut self.registration {
            if reg.poll_timeout().is_some_and(|at| at <= now) {
                reg.handle_timeout(now);
            }
        }
        self.pump(now);
    }

    /// When [`Endpoint::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let reg = self.registration.as_ref().and_then(|r| r.poll_timeout());
        match (self.layer.poll_timeout(), reg) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next bytes to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next connection the driver is to close; it then reports the close through
    /// [`Endpoint::handle_transport_error`] like any other. Drain before `poll_transmit`,
    /// so what follows goes out over a new connection.
    pub fn poll_close(&mut self) -> Option<Peer> {
        self.closing.pop_front()
    }

    /// The next thing to tell the application.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        self.events.pop_front()
    }

    /// What was dropped or answered without the application.
    pub fn counters(&self) -> EndpointCounters {
        self.counters
    }

    /// The transactions, for inspection (tests assert `is_empty()` at the end).
    pub fn transactions(&self) -> &TransactionLayer {
        &self.layer
    }

    /// Moves work between the registration and the transaction layer until neither has
    /// anything left for the other.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut progressed = false;
            while let Some(action) = self.registration.as_mut().and_then(|r| r.poll_action()) {
                progressed = true;
                self.run_registration_action(now, action);
            }
            while let Some(event) = self.layer.poll_event() {
                progressed = true;
                self.on_transaction_event(now, event);
            }
            while let Some(event) = self.registration.as_mut().and_then(|r| r.poll_event()) {
                self.events.push_back(match event {
                    RegistrationEvent::StateChanged(state) => {
                        EndpointEvent::RegistrationChanged(state)
                    }
                    RegistrationEvent::Unregistered { clean } => {
                        EndpointEvent::Unregistered { clean }
                    }
                });
            }
            if !progressed {
                break;
            }
        }
        while let Some(transmit) = self.layer.poll_transmit() {
            self.transmits.push_back(transmit);
        }
    }

    fn run_registration_action(&mut self, now: Instant, action: RegistrationAction) {
        let Some(reg) = &mut self.registration else {
            return;
        };
        let registrar = reg.config().registrar;
        match action {
            RegistrationAction::Send { request, cseq } => {
                match self.layer.send_request(now, *request, registrar) {
                    Ok(id) => {
                        self.register_txs.insert(id, cseq);
                    }
                    Err(error) => {
                        // Our own REGISTER is always well-formed; report rather than panic.
                        debug!(%error, "could not start the REGISTER transaction");
                        reg.handle_failure(now, cseq, RequestFailure::Transport);
                    }
                }
            }
            RegistrationAction::KeepAlive => {
                self.transmits.push_back(Transmit {
                    dest: registrar,
                    bytes: Bytes::from_static(KEEPALIVE),
                });
            }
            RegistrationAction::CloseFlow => self.closing.push_back(registrar),
        }
    }

    fn on_transaction_event(&mut self, now: Instant, event: TransactionEvent) {
        match event {
            TransactionEvent::Response { id, response } => {
                if self.register_txs.contains_key(&id) {
                    if let Some(reg) = &mut self.registration {
                        reg.handle_response(now, &response);
                    }
                } else {
                    let event = TransactionEvent::Response { id, response };
                    self.events.push_back(EndpointEvent::Transaction(event));
                }
            }
            TransactionEvent::Timeout { id } => self.on_failure(now, id, RequestFailure::Timeout),
            TransactionEvent::TransportError { id } => {
                let failure = match &self.failing {
                    Some(why) => RequestFailure::TransportBecause(why.clone()),
                    None => RequestFailure::Transport,
                };
                self.on_failure(now, id, failure)
            }
            TransactionEvent::Terminated { id } => {
                let ours = match id {
                    TransactionId::Client(client) => self.register_txs.remove(&client).is_some(),
                    TransactionId::Server(_) => false,
                };
                if !ours && self.deliver_calls {
                    let event = TransactionEvent::Terminated { id };
                    self.events.push_back(EndpointEvent::Transaction(event));
                }
            }
            TransactionEvent::IncomingRequest {
                id, ref request, ..
            } => {
                let tag = format!("{:016x}", self.rng.random::<u64>());
                match dispose(request, self.deliver_calls, &tag) {
                    Disposition::Deliver => {
                        self.events.push_back(EndpointEvent::Transaction(event))
                    }
                    Disposition::Answer(response) => {
                        // The transaction was created just now and has not answered yet.
                        if let Err(error) = self.layer.respond(now, id, response) {
                            debug!(%error, "could not answer a request");
                        }
                    }
                }
            }
            TransactionEvent::Cancelled {
                cancel,
                ref request,
                ..
            } => {
                if self.deliver_calls {
                    self.events.push_back(EndpointEvent::Transaction(event));
                } else {
                    // We answered the INVITE at once; the CANCEL changes nothing (§9.2).
                    let tag = format!("{:016x}", self.rng.random::<u64>());
                    let ok = crate::transaction::response_to(request, 200, "OK", Some(&tag));
                    if let Err(error) = self.layer.respond(now, cancel, ok) {
                        debug!(%error, "could not answer a CANCEL");
                    }
                }
            }
            TransactionEvent::AckFor2xx { .. } => {
                if self.deliver_calls {
                    self.events.push_back(EndpointEvent::Transaction(event));
                }
            }
        }
    }

    fn on_failure(&mut self, now: Instant, id: TransactionId, failure: RequestFailure) {
        if let TransactionId::Client(client) = id {
            if let Some(cseq) = self.register_txs.get(&client).copied() {
                if let Some(reg) = &mut self.registration {
                    reg.handle_failure(now, cseq, failure);
                }
                return;
            }
        }
        let event = match failure {
            RequestFailure::Timeout => TransactionEvent::Timeout { id },
            RequestFailure::Transport | RequestFailure::TransportBecause(_) => {
                TransactionEvent::TransportError { id }
            }
        };
        self.events.push_back(EndpointEvent::Transaction(event));
    }
}

/// A `Warning: 399` value explaining a 400, with the detail reduced to characters that are
/// safe inside a quoted string.
fn warning(detail: &str) -> String {
    let safe: String = detail
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " -_.:,;/()".contains(c) {
                c
            } else {
                ' '
            }
        })
        .take(120)
        .collect();
    format!("399 softphone \"{}\"", safe.trim())
}

#[cfg(test)]
mod tests;
