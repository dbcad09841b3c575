//! The user agent: the endpoint plus every call, and the dispatch between them.

use super::dialog::{Dialog, LocalContext};
use super::dtmf::DtmfQueue;
use super::reason::{EndKind, EndReason};
use super::retry::Sent;
use super::session_timer::SessionTimer;
use super::{CallDirection, CallError, CallEvent, CallHandle, CallSettings};
use crate::auth::{Authenticator, Password};
use crate::endpoint::{Endpoint, EndpointConfig, EndpointEvent};
use crate::message::typed::{CSeq, To};
use crate::message::{HeaderName, Method, Request, Response};
use crate::net::{Peer, Transmit, TransportFailure, TransportKind};
use crate::registration::RegistrationState;
use crate::transaction::{
    response_to, ClientTransactionId, ServerTransactionId, TransactionEvent, TransactionId,
};
use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tracing::debug;

pub(super) use crate::registration::{ALLOW, SUPPORTED};

#[derive(Debug, Clone)]
/// Everything a [`UserAgent`] needs: the account, the PBX and call settings.
pub struct UaConfig {
    /// Transactions, registration and seeding (see [`EndpointConfig`]).
    pub endpoint: EndpointConfig,
    /// The outbound proxy (the PBX): every request outside a dialog goes here.
    pub proxy: Peer,
    /// Our user part (`1001`) and domain (`pbx.example`): the From of our calls.
    pub user: String,
    /// Our domain: the host of our From.
    pub domain: String,
    /// The name shown with our calls, if any.
    pub display_name: Option<String>,
    /// The digest user name for challenges.
    pub auth_user: String,
    /// The digest password for challenges.
    pub password: Password,
    /// The local SIP address (Via, and Contact until the registrar tells us better).
    pub local_addr: SocketAddr,
    /// Our `User-Agent` header, if any.
    pub user_agent: Option<String>,
    /// Session timers.
    pub settings: CallSettings,
}

/// What the user agent reports: registration changes (from the endpoint) and call events.
// Events are moved once from the core to the driver; boxing would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UaEvent {
    /// The registration moved to this state.
    RegistrationChanged(RegistrationState),
    /// `unregister` finished (`clean`: the registrar confirmed it).
    Unregistered {
        /// Whether the registrar confirmed the removal.
        clean: bool,
    },
    /// Something happened to a call.
    Call(CallEvent),
}

/// Why we sent a client request, to route its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    Invite,
    Cancel,
    Reinvite,
    Bye,
    Info,
    Prack,
    Refer,
    Notify,
    Update,
}

/// The phase of a call's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Outbound: INVITE sent, nothing heard but maybe 100.
    Calling,
    /// Outbound with a 1xx, or inbound ringing.
    Early,
    /// Inbound: 2xx sent, waiting for the ACK.
    Answering,
    Established,
    /// Hung up; finishing the BYE/CANCEL in the background. The application no longer sees it.
    Ending,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Calling => "dialing",
            Phase::Early => "ringing",
            Phase::Answering => "answering",
            Phase::Established => "connected",
            Phase::Ending => "ending",
        }
    }
}

/// When a response the UA core itself retransmits (a 2xx until its ACK, a reliable 1xx
/// until its PRACK) goes out again: T1 doubling up to T2, for 64*T1 at most.
#[derive(Debug, Clone, Copy)]
pub(super) struct Resend {
    pub next: Instant,
    interval: Duration,
    give_up: Instant,
}

/// What a [`Resend`] says at a wake-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ResendDue {
    NotYet,
    Again,
    GiveUp,
}

impl Resend {
    pub fn start(now: Instant, t1: Duration) -> Self {
        Resend {
            next: now + t1,
            interval: t1,
            give_up: now + t1 * 64,
        }
    }

    /// At `now`: whether to send again (the next time is then set) or give up.
    pub fn due(&mut self, now: Instant, t2: Duration) -> ResendDue {
        if self.next > now {
            ResendDue::NotYet
        } else if now >= self.give_up {
            ResendDue::GiveUp
        } else {
            self.interval = (self.interval * 2).min(t2);
            // Wake at 64*T1 to give up then, not at the first resend after it.
            self.next = (now + self.interval).min(self.give_up);
            ResendDue::Again
        }
    }
}

/// A 2xx to an INVITE we retransmit until its ACK (RFC 3261 §13.3.1.4).
#[derive(Debug, Clone)]
pub(super) struct Pending2xx {
    pub tx: ServerTransactionId,
    pub response: Response,
    pub cseq: u32,
    pub resend: Resend,
    /// We made the offer in this 2xx; the ACK carries the answer.
    pub offer_in_2xx: bool,
}

/// A reliable provisional response we retransmit until its PRACK (RFC 3262 §3).
#[derive(Debug, Clone)]
pub(super) struct PendingReliable {
    pub response: Response,
    pub rseq: u32,
    pub resend: Resend,
}

/// Our outstanding INVITE as UAC.
#[derive(Debug, Clone)]
pub(super) struct UacInvite {
    pub tx: ClientTransactionId,
    pub request: Request,
    pub provisional: bool,
    pub cancel_wanted: bool,
    pub cancel_sent: bool,
    /// The last RSeq we PRACKed.
    pub acked_rseq: Option<u32>,
}

/// The INVITE we are serving as UAS.
#[derive(Debug, Clone)]
pub(super) struct UasInvite {
    pub tx: ServerTransactionId,
    pub request: Request,
    /// The UAC requires reliable provisional responses.
    pub reliable: bool,
    pub next_rseq: u32,
    pub pending_reliable: Option<PendingReliable>,
    pub session_timer: super::session_timer::UasTimer,
}

#[derive(Debug, Clone)]
pub(super) struct Call {
    pub handle: CallHandle,
    pub direction: CallDirection,
    pub phase: Phase,
    pub dialog: Dialog,
    pub uac: Option<UacInvite>,
    pub uas: Option<UasInvite>,
    /// The ACK we sent for the INVITE's 2xx (re-sent on its retransmissions), by CSeq.
    pub last_ack: Option<(u32, Request, Peer)>,
    pub pending_2xx: Option<Pending2xx>,
    /// Our re-INVITE in progress and its body (for auth retries).
    pub reoffer_out: Option<ClientTransactionId>,
    /// Our re-INVITE met glare (491): this offer goes out once more at this time (RFC 3261
    /// §14.1).
    pub reoffer_retry: Option<(Instant, Bytes)>,
    /// The 491 retry of the current re-offer was used.
    pub reoffer_retried: bool,
    /// A re-INVITE/UPDATE of the far end waiting for the application's answer.
    pub reoffer_in: Option<(ServerTransactionId, Request)>,
    pub session_timer: Option<SessionTimer>,
    pub session_deadline: Option<Instant>,
    /// The SDP we last sent (re-sent in session refreshes).
    pub local_sdp: Option<Bytes>,
    pub peer_allows_update: bool,
    /// An incoming REFER we accepted: the subscription to NOTIFY.
    pub refer_in: Option<u32>,
    /// Our REFER: the transfer is in progress.
    pub refer_out: bool,
    /// Digits waiting to go out by INFO, one at a time.
    pub dtmf: DtmfQueue,
    /// Hung up here after our 2xx but before its ACK: the BYE waits for the ACK or for the
    /// 2xx retransmissions to give up (§15.1.1), and the 2xx keeps going out meanwhile.
    pub bye_after_ack: bool,
    /// A re-INVITE (its SDP) or a REFER (Refer-To, Referred-By) the application asked for
    /// after our 2xx but before its ACK: they go when the ACK comes (a new INVITE
    /// transaction must wait for the first to complete, §14.1, and a request must not
    /// overtake the 2xx the far end may not have seen yet).
    pub reinvite_after_ack: Option<Bytes>,
    pub refer_after_ack: Option<(String, String)>,
}

impl Call {
    pub fn new(handle: CallHandle, direction: CallDirection, phase: Phase, dialog: Dialog) -> Self {
        Call {
            handle,
            direction,
            phase,
            dialog,
            uac: None,
            uas: None,
            last_ack: None,
            pending_2xx: None,
            reoffer_out: None,
            reoffer_retry: None,
            reoffer_retried: false,
            reoffer_in: None,
            session_timer: None,
            session_deadline: None,
            local_sdp: None,
            peer_allows_update: false,
            refer_in: None,
            refer_out: false,
            dtmf: DtmfQueue::default(),
            bye_after_ack: false,
            reinvite_after_ack: None,
            refer_after_ack: None,
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        [
            self.pending_2xx.as_ref().map(|p| p.resend.next),
            self.uas
                .as_ref()
                .and_then(|u| u.pending_reliable.as_ref().map(|p| p.resend.next)),
            self.session_deadline,
            self.dtmf.deadline(),
            self.reoffer_retry.as_ref().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// The user agent: INVITE dialogs as UAC and UAS (RFC 3261 §12-15), reliable provisional
/// responses (RFC 3262), session timers (RFC 4028), in-dialog INFO/OPTIONS/UPDATE, and
/// transfer by REFER (RFC 3515, with Replaces from RFC 3891).
///
/// It owns the [`Endpoint`] (transactions and registration) and every call. The
/// application gives it commands (`dial`, `answer`, `hangup`, `reinvite`, `refer`, ...) with
/// SDP bodies it built itself, and polls [`CallEvent`]s. Signaling never looks inside SDP:
/// offers and answers are opaque bytes.
#[derive(Debug)]
pub struct UserAgent {
    pub(super) endpoint: Endpoint,
    pub(super) config: UaConfig,
    pub(super) auth: Authenticator,
    pub(super) rng: StdRng,
    pub(super) calls: BTreeMap<CallHandle, Call>,
    next_handle: u64,
    pub(super) client_txs: HashMap<ClientTransactionId, (CallHandle, Purpose)>,
    /// Our requests until their final response, for retries.
    pub(super) sent: HashMap<ClientTransactionId, Sent>,
    pub(super) events: VecDeque<UaEvent>,
    pub(super) transmits: VecDeque<Transmit>,
    /// The connection to the registrar was lost: once registered again (over a new one, at
    /// a new address), established calls refresh their target.
    flow_lost: bool,
}

impl UserAgent {
    /// A user agent with no calls; registration starts with [`UserAgent::register`].
    pub fn new(mut config: UaConfig) -> Self {
        config.endpoint.deliver_calls = true;
        let mut rng = StdRng::seed_from_u64(config.endpoint.seed ^ 0x5eed_ca11);
        let auth = Authenticator::new(config.auth_user.clone(), config.password.clone())
            .with_seed(rng.random());
        UserAgent {
            endpoint: Endpoint::new(config.endpoint.clone()),
            config,
            auth,
            rng,
            calls: BTreeMap::new(),
            next_handle: 1,
            client_txs: HashMap::new(),
            sent: HashMap::new(),
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            flow_lost: false,
        }
    }

    // ----- driver interface -----

    /// A message from `source`: a UDP datagram or one framed TCP message.
    pub fn handle_datagram(&mut self, now: Instant, source: Peer, bytes: Bytes) {
        self.endpoint.handle_datagram(now, source, bytes);
        self.pump(now);
    }

    /// The driver could not send to (or lost its connection to) `peer`.
    pub fn handle_transport_error(&mut self, now: Instant, peer: Peer) {
        self.note_flow_lost(peer);
        self.endpoint.handle_transport_error(now, peer);
        self.pump(now);
    }

    /// Like [`UserAgent::handle_transport_error`], with the driver's words for why (shown
    /// in the registration's error).
    pub fn handle_transport_failure(&mut self, now: Instant, peer: Peer, why: TransportFailure) {
        self.note_flow_lost(peer);
        self.endpoint.handle_transport_failure(now, peer, why);
        self.pump(now);
    }

    fn note_flow_lost(&mut self, peer: Peer) {
        let registrar = self.endpoint.registration().map(|r| r.config().registrar);
        if peer.transport.is_reliable() && registrar == Some(peer) {
            self.flow_lost = true;
        }
    }

    /// The machine slept or its wall clock was stepped: register again now (see
    /// [`crate::Registration::handle_clock_jump`]).
    pub fn handle_clock_jump(&mut self, now: Instant) {
        self.endpoint.handle_clock_jump(now);
        self.pump(now);
    }

    /// Our address toward the PBX changed: register again now with a fresh Contact; once
    /// registered, established calls are asked to refresh their target
    /// ([`CallEvent::TargetRefreshNeeded`]).
    pub fn handle_network_change(&mut self, now: Instant) {
        if self.endpoint.registration().is_some() {
            self.flow_lost = true;
        }
        self.endpoint.handle_network_change(now);
        self.pump(now);
    }

    /// Runs what is due at `now` (call `poll_timeout` for when).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.endpoint.handle_timeout(now);
        let due: Vec<CallHandle> = self
            .calls
            .values()
            .filter(|c| c.next_deadline().is_some_and(|d| d <= now))
            .map(|c| c.handle)
            .collect();
        for handle in due {
            self.on_call_timer(now, handle);
        }
        self.pump(now);
    }

    /// When [`UserAgent::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let calls = self.calls.values().filter_map(Call::next_deadline).min();
        match (self.endpoint.poll_timeout(), calls) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next bytes to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next connection to close ([`Endpoint::poll_close`]); drain before
    /// `poll_transmit`.
    pub fn poll_close(&mut self) -> Option<Peer> {
        self.endpoint.poll_close()
    }

    /// The next thing to tell the application.
    pub fn poll_event(&mut self) -> Option<UaEvent> {
        self.events.pop_front()
    }

    /// Starts registering (and keeps the registration fresh) when an account is configured.
    pub fn register(&mut self, now: Instant) {
        self.endpoint.register(now);
        self.pump(now);
    }

    /// Removes our registration; [`UaEvent::Unregistered`] says when it is done.
    pub fn unregister(&mut self, now: Instant) {
        self.endpoint.unregister(now);
        self.pump(now);
    }

    /// The endpoint underneath (registration and transactions), for reading.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Every call held, those finishing a hang-up in the background included.
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// Calls the application can see (not those finishing a hang-up in the background).
    pub fn active_calls(&self) -> impl Iterator<Item = CallHandle> + '_ {
        self.calls
            .values()
            .filter(|c| c.phase != Phase::Ending)
            .map(|c| c.handle)
    }

    /// Whether nothing is left: no call, no transaction (for tests).
    pub fn is_idle(&self) -> bool {
        self.calls.is_empty() && self.endpoint.transactions().is_empty() && self.sent.is_empty()
    }

    // ----- internals shared by the call modules -----

    pub(super) fn new_handle(&mut self) -> CallHandle {
        let handle = CallHandle(self.next_handle);
        self.next_handle += 1;
        handle
    }

    pub(super) fn new_tag(&mut self) -> String {
        format!("{:016x}", self.rng.random::<u64>())
    }

    pub(super) fn local_context(&self) -> LocalContext {
        let contact_addr = self
            .endpoint
            .registration()
            .map_or(self.config.local_addr, |r| r.contact_addr());
        let transport = self.config.proxy.transport;
        let param = transport
            .uri_param()
            .map(|t| format!(";transport={t}"))
            .unwrap_or_default();
        let contact = format!("<sip:{}@{}{}>", self.config.user, contact_addr, param);
        LocalContext {
            addr: self.config.local_addr,
            transport,
            contact_secure: if transport == TransportKind::Tls {
                format!("<sips:{}@{}>", self.config.user, contact_addr)
            } else {
                contact.clone()
            },
            contact,
            user_agent: self.config.user_agent.clone(),
        }
    }

    pub(super) fn emit(&mut self, event: CallEvent) {
        self.events.push_back(UaEvent::Call(event));
    }

    /// The call the application may command, or why not.
    pub(super) fn visible_call(&mut self, handle: CallHandle) -> Result<&mut Call, CallError> {
        match self.calls.get_mut(&handle) {
            Some(call) if call.phase != Phase::Ending => Ok(call),
            _ => Err(CallError::UnknownCall),
        }
    }

    /// Sends a client request for `handle` and remembers why.
    pub(super) fn send(
        &mut self,
        now: Instant,
        handle: CallHandle,
        purpose: Purpose,
        request: Request,
        dest: Peer,
    ) -> Option<ClientTransactionId> {
        match self.endpoint.send_request(now, request.clone(), dest) {
            Ok(id) => {
                self.client_txs.insert(id, (handle, purpose));
                self.sent.insert(
                    id,
                    Sent {
                        request,
                        retries: 0,
                    },
                );
                Some(id)
            }
            Err(error) => {
                debug!(%error, call = %handle, "could not send a request");
                None
            }
        }
    }

    /// Sends a new request inside the call's dialog.
    pub(super) fn send_in_dialog(
        &mut self,
        now: Instant,
        handle: CallHandle,
        purpose: Purpose,
        method: Method,
        build: impl FnOnce(&mut Request),
    ) -> Option<ClientTransactionId> {
        let ctx = self.local_context();
        let proxy = self.config.proxy;
        let call = self.calls.get_mut(&handle)?;
        let mut request = call.dialog.request(method, &ctx);
        build(&mut request);
        self.auth.authorize_cached(&mut request);
        let dest = call.dialog.next_hop(proxy);
        self.send(now, handle, purpose, request, dest)
    }

    pub(super) fn respond(&mut self, now: Instant, tx: ServerTransactionId, response: Response) {
        if let Err(error) = self.endpoint.respond(now, tx, response) {
            debug!(%error, "could not respond");
        }
    }

    /// Answers a request with a bare status.
    pub(super) fn reply(
        &mut self,
        now: Instant,
        tx: ServerTransactionId,
        request: &Request,
        status: u16,
        reason: &str,
        local_tag: Option<&str>,
    ) {
        let tag = match local_tag {
            Some(t) => t.to_owned(),
            None => self.new_tag(),
        };
        let response = response_to(request, status, reason, Some(&tag));
        self.respond(now, tx, response);
    }

    /// Ends a call for the application (once) and lets it finish in the background, or
    /// removes it when nothing is left to finish.
    pub(super) fn end_call(&mut self, handle: CallHandle, reason: EndReason, linger: bool) {
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let was_visible = call.phase != Phase::Ending;
        if linger {
            call.phase = Phase::Ending;
            if !call.bye_after_ack {
                call.pending_2xx = None;
            }
            call.session_deadline = None;
            if let Some(uas) = &mut call.uas {
                uas.pending_reliable = None;
            }
        } else {
            self.calls.remove(&handle);
        }
        if was_visible {
            debug!(call = %handle, reason = %reason, "call ended");
            self.emit(CallEvent::Ended {
                call: handle,
                reason,
            });
        }
    }

    /// Forgets a lingering call once its last transaction is over.
    pub(super) fn finish_ending(&mut self, handle: CallHandle) {
        if self
            .calls
            .get(&handle)
            .is_some_and(|c| c.phase == Phase::Ending && !c.bye_after_ack)
            && !self
                .client_txs
                .values()
                .any(|(h, p)| *h == handle && !matches!(p, Purpose::Invite | Purpose::Reinvite))
        {
            self.calls.remove(&handle);
        }
    }

    /// Hangs up an established call with BYE; `reason` is what the application is told.
    pub(super) fn send_bye(&mut self, now: Instant, handle: CallHandle, reason: EndReason) {
        self.send_in_dialog(now, handle, Purpose::Bye, Method::Bye, |_| {});
        self.end_call(handle, reason, true);
        self.finish_ending(handle);
    }

    /// Moves endpoint events into calls until there are none, then collects transmits.
    pub(super) fn pump(&mut self, now: Instant) {
        while let Some(event) = self.endpoint.poll_event() {
            match event {
                EndpointEvent::RegistrationChanged(state) => {
                    let registered = matches!(state, RegistrationState::Registered { .. });
                    self.events.push_back(UaEvent::RegistrationChanged(state));
                    if registered && std::mem::take(&mut self.flow_lost) {
                        self.refresh_targets();
                    }
                }
                EndpointEvent::Unregistered { clean } => {
                    self.events.push_back(UaEvent::Unregistered { clean })
                }
                EndpointEvent::Transaction(event) => self.on_transaction_event(now, event),
            }
        }
        while let Some(transmit) = self.endpoint.poll_transmit() {
            self.transmits.push_back(transmit);
        }
    }

    fn on_transaction_event(&mut self, now: Instant, event: TransactionEvent) {
        match event {
            TransactionEvent::IncomingRequest {
                id,
                request,
                source,
            } => self.on_request(now, id, request, source),
            TransactionEvent::Cancelled {
                invite,
                cancel,
                request,
            } => self.on_cancel(now, invite, cancel, request),
            TransactionEvent::AckFor2xx { request, .. } => self.on_ack(now, request),
            TransactionEvent::Response { id, response } => self.on_response(now, id, response),
            TransactionEvent::Timeout { id } => self.on_tx_failure(now, id, 408),
            TransactionEvent::TransportError { id } => self.on_tx_failure(now, id, 503),
            TransactionEvent::Terminated { id } => {
                if let TransactionId::Client(id) = id {
                    self.sent.remove(&id);
                    if let Some((handle, _)) = self.client_txs.remove(&id) {
                        self.finish_ending(handle);
                    }
                }
            }
        }
    }

    /// The call a request or response belongs to, by dialog identifiers.
    pub(super) fn find_dialog(
        &self,
        call_id: &str,
        local_tag: Option<&str>,
        remote_tag: Option<&str>,
    ) -> Option<CallHandle> {
        self.calls
            .values()
            .find(|c| c.dialog.matches(call_id, local_tag, remote_tag))
            .map(|c| c.handle)
    }

    fn on_request(
        &mut self,
        now: Instant,
        tx: ServerTransactionId,
        request: Request,
        source: Peer,
    ) {
        let to_tag = match request.headers.typed::<To>() {
            Ok(Some(to)) => to.0.tag().map(str::to_owned),
            _ => None,
        };
        if to_tag.is_none() && request.method == Method::Invite {
            self.on_new_invite(now, tx, request, source);
            return;
        }
        let call_id = request
            .call_id()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default();
        let from_tag = request
            .from()
            .ok()
            .and_then(|f| f.0.tag().map(str::to_owned));
        let handle = self.find_dialog(&call_id, to_tag.as_deref(), from_tag.as_deref());
        match handle {
            Some(handle)
                if self.calls[&handle].phase != Phase::Ending || request.method == Method::Bye =>
            {
                self.on_in_dialog_request(now, handle, tx, request)
            }
            _ => {
                let status = if to_tag.is_none() { 405 } else { 481 };
                let reason = if status == 405 {
                    "Method Not Allowed"
                } else {
                    "Call/Transaction Does Not Exist"
                };
                let mut response =
                    response_to(&request, status, reason, to_tag.as_deref().or(Some("x")));
                if status == 405 {
                    response.headers.push(HeaderName::Allow, ALLOW);
                }
                self.respond(now, tx, response);
            }
        }
    }

    fn on_ack(&mut self, now: Instant, ack: Request) {
        let call_id = ack
            .call_id()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default();
        let to_tag = ack.to().ok().and_then(|t| t.0.tag().map(str::to_owned));
        let from_tag = ack.from().ok().and_then(|f| f.0.tag().map(str::to_owned));
        let Some(handle) = self.find_dialog(&call_id, to_tag.as_deref(), from_tag.as_deref())
        else {
            debug!(%call_id, "ACK for no call");
            return;
        };
        let cseq = ack.headers.typed::<CSeq>().ok().flatten().map(|c| c.seq);
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let Some(pending) = &call.pending_2xx else {
            return; // a retransmitted ACK
        };
        if cseq != Some(pending.cseq) {
            return;
        }
        let sdp = (!ack.body.is_empty()).then(|| ack.body.clone());
        self.acknowledged(now, handle, sdp);
    }

    /// Our 2xx to an INVITE was acknowledged: by its ACK (carrying `sdp` when our 2xx made
    /// the offer), or implicitly by a later request of the far end in the dialog.
    pub(super) fn acknowledged(&mut self, now: Instant, handle: CallHandle, sdp: Option<Bytes>) {
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let Some(pending) = call.pending_2xx.take() else {
            return;
        };
        let offer_in_2xx = pending.offer_in_2xx;
        if call.bye_after_ack {
            // Hung up while answering: the dialog is confirmed now, so the BYE may go.
            call.bye_after_ack = false;
            self.send_in_dialog(now, handle, Purpose::Bye, Method::Bye, |_| {});
            self.finish_ending(handle);
            return;
        }
        let first = call.phase == Phase::Answering;
        if first {
            call.phase = Phase::Established;
        }
        if first {
            let sdp = if offer_in_2xx { sdp } else { None };
            self.emit(CallEvent::Answered { call: handle, sdp });
        } else if offer_in_2xx {
            self.emit(CallEvent::ReofferAccepted { call: handle, sdp });
        }
        // What the application asked for while the ACK was on its way goes now.
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let (reinvite, refer) = (call.reinvite_after_ack.take(), call.refer_after_ack.take());
        if let Some(sdp) = reinvite {
            self.send_reinvite(now, handle, sdp);
        }
        if let Some((refer_to, referred_by)) = refer {
            self.send_refer(now, handle, refer_to, referred_by);
        }
    }

    fn on_response(&mut self, now: Instant, id: ClientTransactionId, response: Response) {
        let Some(&(handle, purpose)) = self.client_txs.get(&id) else {
            return;
        };
        if response.status >= 200 && purpose != Purpose::Invite && purpose != Purpose::Reinvite {
            self.client_txs.remove(&id);
        }
        let is_final = response.status >= 200;
        match purpose {
            Purpose::Invite => self.on_invite_response(now, handle, id, response),
            Purpose::Reinvite => self.on_reinvite_response(now, handle, id, response),
            _ => self.on_other_response(now, handle, purpose, id, response),
        }
        if is_final {
            self.sent.remove(&id);
        }
        self.finish_ending(handle);
    }

    fn on_tx_failure(&mut self, now: Instant, id: TransactionId, status: u16) {
        let TransactionId::Client(id) = id else {
            return; // Timer H: no ACK for our failure response; nothing to do.
        };
        self.sent.remove(&id);
        let Some((handle, purpose)) = self.client_txs.remove(&id) else {
            return;
        };
        let reason = if status == 408 {
            "Request Timeout"
        } else {
            "Service Unavailable"
        };
        match purpose {
            Purpose::Invite => {
                let message = if status == 408 {
                    "no answer from the PBX (request timed out)"
                } else {
                    "cannot reach the PBX"
                };
                self.end_call(
                    handle,
                    EndReason::new(EndKind::Network, Some(status), message),
                    false,
                );
            }
            // §14.1: a 408 to a re-INVITE ends the dialog.
            Purpose::Reinvite => {
                self.reoffer_failed(now, handle, status, Some("the far end stopped answering"));
            }
            Purpose::Refer => self.refer_failed(handle, status),
            Purpose::Update => self.bye_lost(now, handle, status, "the far end stopped answering"),
            Purpose::Info => self.on_dtmf_answer(now, handle, id, status),
            _ => {
                debug!(call = %handle, ?purpose, status, reason, "in-dialog request failed");
            }
        }
        self.finish_ending(handle);
    }

    /// Hangs up a call the far end lost or stopped answering in (`status`: its answer or
    /// our timeout).
    pub(super) fn bye_lost(&mut self, now: Instant, handle: CallHandle, status: u16, why: &str) {
        let reason = EndReason::new(EndKind::Network, Some(status), why);
        self.send_bye(now, handle, reason);
    }

    /// Our re-offer failed with `status`: the call goes on as it was, unless `lost` says
    /// why the dialog is gone (then we hang up).
    pub(super) fn reoffer_failed(
        &mut self,
        now: Instant,
        handle: CallHandle,
        status: u16,
        lost: Option<&str>,
    ) {
        if let Some(call) = self.calls.get_mut(&handle) {
            call.reoffer_out = None;
        }
        self.emit(CallEvent::ReofferRejected {
            call: handle,
            status,
        });
        if let Some(why) = lost {
            self.bye_lost(now, handle, status, why);
        }
    }

    /// Our REFER failed with `status`: the transfer is over, and the application told.
    pub(super) fn refer_failed(&mut self, handle: CallHandle, status: u16) {
        if let Some(call) = self.calls.get_mut(&handle) {
            call.refer_out = false;
        }
        self.emit(CallEvent::TransferProgress {
            call: handle,
            status,
            done: true,
        });
    }

    fn on_call_timer(&mut self, now: Instant, handle: CallHandle) {
        let t2 = self.endpoint.transactions().timer_config().t2;
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        // 2xx retransmission until ACK (§13.3.1.4).
        if let Some(pending) = &mut call.pending_2xx {
            match pending.resend.due(now, t2) {
                ResendDue::NotYet => {}
                ResendDue::Again => {
                    let (tx, response) = (pending.tx, pending.response.clone());
                    self.respond(now, tx, response);
                }
                ResendDue::GiveUp => {
                    call.pending_2xx = None;
                    call.bye_after_ack = false;
                    let why = "the caller never confirmed the answer (no ACK)";
                    self.send_bye(now, handle, EndReason::new(EndKind::Network, None, why));
                    return;
                }
            }
        }
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        // Reliable provisional retransmission until PRACK (RFC 3262 §3).
        if let Some(uas) = &mut call.uas {
            if let Some(pending) = &mut uas.pending_reliable {
                match pending.resend.due(now, t2) {
                    ResendDue::NotYet => {}
                    ResendDue::Again => {
                        let (tx, response) = (uas.tx, pending.response.clone());
                        self.respond(now, tx, response);
                    }
                    ResendDue::GiveUp => uas.pending_reliable = None,
                }
            }
        }
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        if call.session_deadline.is_some_and(|d| d <= now) {
            call.session_deadline = None;
            self.on_session_timer(now, handle);
        }
        if let Some(call) = self.calls.get_mut(&handle) {
            if let Some((_, sdp)) = call.reoffer_retry.take_if(|(at, _)| *at <= now) {
                self.retry_reoffer(now, handle, sdp);
            }
        }
        if self
            .calls
            .get(&handle)
            .and_then(|c| c.dtmf.deadline())
            .is_some_and(|d| d <= now)
        {
            self.send_next_dtmf(now, handle);
        }
    }
}

/// The status line of a `message/sipfrag` body (`SIP/2.0 180 Ringing`).
pub(super) fn sipfrag_status(body: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(body).ok()?;
    let line = text.lines().next()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.eq_ignore_ascii_case("SIP/2.0") {
        return None;
    }
    parts
        .next()?
        .parse()
        .ok()
        .filter(|s| (100..700).contains(s))
}
