//! The call controller, sans-IO: bridge commands and SIP call events in; media actions, page
//! events and SIP out. It ties each SIP dialog (`signaling::UserAgent`) to an SDP session and an
//! RTP stream (`media`), applies the dial plan and the agent's policies (auto-answer, call
//! waiting), and keeps the call list the page sees.
//!
//! The driver owns the sockets: it gives the controller bound RTP addresses in advance
//! ([`Phone::add_rtp_address`]) and carries out [`MediaAction`]s on the streams bound there.

use crate::availability::{self, AgentConfig, Availability};
use crate::dialplan::{DialPlan, DialTarget};
use crate::record::{state_name, CallIds, CallRecord, TransferOf};
use crate::sdp::CallSdp;
use crate::view::{PageView, RegistrarView, Update};
use crate::wallclock::WallClock;
use bytes::Bytes;
use media::{AudioCaps, Direction, Negotiated};
use signaling::typed::NameAddr;
use signaling::RegistrationState;
use signaling::Transmit;
use signaling::Uri;
use signaling::{
    CallError, CallEvent, CallHandle, DialOptions, EndKind, EndReason, UaEvent, UserAgent,
};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};
use tracing::{debug, info, warn};
use wire::{
    AudioStatus, CallQuality, CallState, Command, CommandError, CommandReply,
    Direction as PageDirection, EndReason as PageEndReason, EventBody, Remote, Status,
    TransferState,
};

/// How many ended calls the status keeps, so a page that reconnects learns how they ended.
const ENDED_KEPT: usize = 8;

/// The controller's policies.
#[derive(Debug, Clone)]
pub struct PhoneConfig {
    pub caps: AudioCaps,
    /// Answer every incoming call at once (QA runs).
    pub auto_answer: bool,
    /// A second incoming call while one is live rings as call waiting; when false it gets
    /// 486 Busy Here.
    pub call_waiting: bool,
    /// The domain numbers are dialled at (`sip:NUMBER@domain`).
    pub domain: String,
    /// How the status document names the registration.
    pub registrar: RegistrarView,
    /// Availability and wrap-up (`[agent]`), and the state chosen at start.
    pub agent: AgentConfig,
    /// How long a connected call goes without the far end's RTP (neither side holding the
    /// other) before it is hung up as lost (`[calls] media_timeout_seconds`); `None`: never.
    pub media_timeout: Option<Duration>,
}

/// What the driver does on the RTP streams.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaAction {
    /// Start the stream bound at `local` for `call`; it reports the far end's RTP missing
    /// for `media_timeout` ([`Phone::media_timeout`]).
    Start {
        call: CallHandle,
        local: SocketAddr,
        negotiated: Negotiated,
        media_timeout: Option<Duration>,
    },
    /// The session changed (hold, resume, a new address or codec).
    Update {
        call: CallHandle,
        negotiated: Negotiated,
    },
    Mute {
        call: CallHandle,
        muted: bool,
    },
    /// Send DTMF digits in the media as RFC 4733 events (the far end negotiated
    /// telephone-event; otherwise the controller sends SIP INFO itself).
    SendDtmf {
        call: CallHandle,
        digits: String,
    },
    /// Stop the stream (started or not) and release its address.
    Stop {
        call: CallHandle,
        local: SocketAddr,
    },
}

/// See the module documentation.
pub struct Phone {
    ua: UserAgent,
    config: PhoneConfig,
    dial_plan: DialPlan,
    clock: WallClock,
    calls: BTreeMap<CallHandle, CallRecord>,
    ended: VecDeque<CallRecord>,
    spare_rtp: VecDeque<SocketAddr>,
    media: VecDeque<MediaAction>,
    view: PageView,
    /// How this run names its calls for the page.
    ids: CallIds,
    unregistered: Option<bool>,
    session_ids: u64,
    /// The agent's availability and wrap-up.
    agent: Availability,
    /// The live call that ended last since the agent's state was last brought up to date,
    /// and whether it was answered (it decides the wrap-up).
    last_ended: Option<(String, bool)>,
}

impl Phone {
    /// `run_prefix` names this agent run in call ids (see [`CallIds`]): pass a value
    /// no earlier run used, e.g. from a persistent run counter.
    pub fn new(
        ua: UserAgent,
        config: PhoneConfig,
        dial_plan: DialPlan,
        now: Instant,
        wall: SystemTime,
        run_prefix: &str,
    ) -> Self {
        let mut view = PageView::new(config.registrar.clone());
        let agent = Availability::new(config.agent.clone(), wall);
        view.agent(agent.status(), false);
        Phone {
            ua,
            view,
            agent,
            last_ended: None,
            ids: CallIds::new(run_prefix),
            config,
            dial_plan,
            clock: WallClock::new(now, wall),
            calls: BTreeMap::new(),
            ended: VecDeque::new(),
            spare_rtp: VecDeque::new(),
            media: VecDeque::new(),
            unregistered: None,
            session_ids: u64::from(
                wall.duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(1, |d| d.as_secs() as u32),
            ),
        }
    }

    // ----- driver interface -----

    /// Whether any call is not yet over (the driver's call-records heartbeat runs only then).
    pub fn has_live_calls(&self) -> bool {
        self.calls.values().any(CallRecord::is_live)
    }

    /// The agent's own tone for the calls as they stand (ringtone, call waiting,
    /// ringback: [`crate::tones`]); the driver plays it while it stays the same.
    pub fn tone(&self) -> Option<media::Tone> {
        crate::tones::tone_for(self.calls.values().map(|r| crate::tones::CallPhase {
            direction: r.direction,
            state: r.state,
            media_started: r.media_started,
        }))
    }

    /// How this run names its calls (the driver names streams and files after them).
    pub fn ids(&self) -> &CallIds {
        &self.ids
    }

    pub fn ua(&self) -> &UserAgent {
        &self.ua
    }

    /// A bound RTP address the next call may use.
    pub fn add_rtp_address(&mut self, addr: SocketAddr) {
        self.spare_rtp.push_back(addr);
    }

    /// How many bound addresses are waiting for calls.
    pub fn spare_rtp_addresses(&self) -> usize {
        self.spare_rtp.len()
    }

    pub fn handle_datagram(&mut self, now: Instant, source: signaling::Peer, bytes: Bytes) {
        self.ua.handle_datagram(now, source, bytes);
        self.drain(now);
    }

    pub fn handle_transport_error(&mut self, now: Instant, peer: signaling::Peer) {
        self.ua.handle_transport_error(now, peer);
        self.drain(now);
    }

    /// The driver could not send to `peer` and said why (e.g. a TLS certificate problem).
    pub fn handle_transport_failure(
        &mut self,
        now: Instant,
        peer: signaling::Peer,
        why: signaling::TransportFailure,
    ) {
        self.ua.handle_transport_failure(now, peer, why);
        self.drain(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.ua.handle_timeout(now);
        self.drain(now);
    }

    /// The network changed (a Wi-Fi change, a VPN up or down, a link down or back); our
    /// media now goes out from `local` when the driver knows it moved there (`None`: no
    /// route now, or media stays where SIP listens). Registers again now with a fresh
    /// Contact (without a route that fails, in words, and the next change tries again), and
    /// once registered, calls still on an address of ours refresh their target. A call
    /// whose media is on an address we no longer have, now that another one serves, cannot
    /// move (its RTP socket is bound there): it ends with reason `network` and words, the
    /// far end told by BYE or CANCEL if it can still be reached. While there is no route a
    /// call is left alone: the link may come back with the same address (the media timeout
    /// ends it if not). Spare RTP addresses elsewhere are dropped (the driver binds new
    /// ones on `local`).
    pub fn handle_network_change(&mut self, now: Instant, local: Option<std::net::IpAddr>) {
        if let Some(local) = local {
            self.end_stranded_calls(now, local);
            self.spare_rtp
                .retain(|a| a.ip().is_unspecified() || a.ip() == local);
        }
        self.ua.handle_network_change(now);
        self.drain(now);
    }

    fn end_stranded_calls(&mut self, now: Instant, local: std::net::IpAddr) {
        let stranded: Vec<CallHandle> = self
            .calls
            .iter()
            .filter(|(_, r)| {
                let ip = r.sdp.local_rtp().ip();
                r.is_live() && !ip.is_unspecified() && ip != local
            })
            .map(|(h, _)| *h)
            .collect();
        let why = format!("our network address changed to {local}: the call could not move to it");
        for call in stranded {
            let id = self.ids.id(call);
            warn!(call = %id, "{why}; ending it");
            if let Err(error) =
                self.ua
                    .hangup_because(now, call, EndReason::new(EndKind::Network, None, &why))
            {
                debug!(call = %id, %error, "could not end the stranded call");
            }
        }
    }

    /// The machine slept or its wall clock was stepped: register again now, over a new
    /// connection on TCP/TLS (calls then refresh their target as after any new connection).
    pub fn handle_clock_jump(&mut self, now: Instant) {
        self.ua.handle_clock_jump(now);
        self.drain(now);
    }

    pub fn register(&mut self, now: Instant) {
        self.ua.register(now);
        self.drain(now);
    }

    /// Hangs up every call and unregisters (clean shutdown).
    pub fn shutdown(&mut self, now: Instant) {
        let live: Vec<CallHandle> = self.calls.keys().copied().collect();
        for handle in live {
            let _ = self.ua.hangup(now, handle);
        }
        self.ua.unregister(now);
        self.drain(now);
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.ua.poll_timeout(), self.agent.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.ua.poll_transmit()
    }

    /// The next connection the driver is to close (a registrar's that stopped answering
    /// keep-alives), then report closed; drain before `poll_transmit`.
    pub fn poll_close(&mut self) -> Option<signaling::Peer> {
        self.ua.poll_close()
    }

    pub fn poll_media(&mut self) -> Option<MediaAction> {
        self.media.pop_front()
    }

    /// The next page event, with the status document as it stands right after it. The
    /// driver hands both to the bridge as they are.
    pub fn poll_update(&mut self) -> Option<Update> {
        self.view.poll()
    }

    /// The status document as it stands (`GET /api/v1/status`, snapshots).
    pub fn status(&self) -> &Status {
        self.view.status()
    }

    /// The audio devices' counters (the driver's device tick): part of the status, without
    /// an event.
    pub fn set_audio(&mut self, audio: Option<AudioStatus>) {
        self.view.set_audio(audio);
    }

    /// What the agent holds now (SIP transactions and calls), with the heap figure the
    /// driver measured: the status's `diagnostics` once given to [`Phone::set_diagnostics`].
    pub fn diagnostics(&self, heap_in_use: Option<u64>) -> wire::Diagnostics {
        wire::Diagnostics {
            sip_transactions: self.ua.endpoint().transactions().len() as u64,
            sip_calls: self.ua.call_count() as u64,
            heap_in_use,
        }
    }

    /// The status's `diagnostics` (the driver refreshes it); announced by no event.
    pub fn set_diagnostics(&mut self, diagnostics: wire::Diagnostics) {
        self.view.set_diagnostics(diagnostics);
    }

    /// The certificate the PBX presented over TLS (the status's `registration.certificate`);
    /// announced by no event.
    pub fn set_certificate(&mut self, certificate: Option<wire::PeerCertificate>) {
        self.view.set_certificate(certificate);
    }

    /// Whether call records are kept (the status's `records`); announced by no event.
    pub fn set_records(&mut self, records: Option<wire::RecordsStatus>) {
        self.view.set_records(records);
    }

    /// An event from outside the calls (an audio device switched): queued in order with the
    /// controller's own.
    pub fn announce(&mut self, event: EventBody) {
        self.view.event(event);
    }

    /// `Some(clean)` once unregistering finished.
    pub fn unregistered(&self) -> Option<bool> {
        self.unregistered
    }

    /// A digit the far end sent in the media (RFC 4733): the page gets the same `dtmf`
    /// event as for SIP INFO.
    pub fn media_digit(&mut self, call: CallHandle, digit: char) {
        if self.calls.contains_key(&call) {
            self.view.event(EventBody::Dtmf {
                call_id: self.ids.id(call),
                digits: digit.to_string(),
            });
        }
    }

    /// The latest media figures of a call (periodic, and once more when its stream stopped,
    /// which may be after the call ended): kept in its view and sent as `call_quality`.
    pub fn media_quality(&mut self, call: CallHandle, stats: &media::RtpStats, last: bool) {
        let quality = quality_of(stats);
        let record = match self.calls.get_mut(&call) {
            Some(r) => r,
            None => match self.ended.iter_mut().find(|r| r.handle == call) {
                Some(r) => r,
                None => return,
            },
        };
        record.quality = Some(quality.clone());
        self.view.call_quietly(record.view());
        self.view.event(EventBody::CallQuality {
            call_id: self.ids.id(call),
            quality,
            last,
        });
    }

    /// A call's stream heard no RTP from the far end for `silent` (the media timeout ran
    /// out, [`MediaAction::Start`]): a connected call that neither side holds is hung up
    /// (BYE) and ends with reason `network`. Held, or a hold or resume under way, the
    /// silence is expected (the stream may not have heard of the hold yet): nothing
    /// happens. Nor before the answer (early media may be silent).
    pub fn media_timeout(&mut self, now: Instant, call: CallHandle, silent: Duration) {
        let Some(record) = self.calls.get(&call) else {
            return;
        };
        let id = self.ids.id(call);
        if record.state != CallState::Connected
            || record.on_hold_by_remote
            || record.hold_pending.is_some()
        {
            debug!(call = %id, state = state_name(record.state), "no RTP, as expected now");
            return;
        }
        let why = format!(
            "no audio from the other party for {} s: the connection was lost",
            silent.as_secs()
        );
        warn!(call = %id, "{why}; hanging up");
        if let Err(error) =
            self.ua
                .hangup_because(now, call, EndReason::new(EndKind::Network, None, why))
        {
            warn!(call = %id, %error, "could not hang up the silent call");
        }
        self.drain(now);
    }

    // ----- commands from the page -----

    /// Carries out one bridge command. On an error nothing changed.
    pub fn command(
        &mut self,
        now: Instant,
        command: Command,
    ) -> Result<CommandReply, CommandError> {
        let result = self.run_command(now, command);
        self.drain(now);
        result
    }

    fn run_command(
        &mut self,
        now: Instant,
        command: Command,
    ) -> Result<CommandReply, CommandError> {
        match command {
            Command::SetAgentStatus { state } => {
                let wall = self.clock.at(now);
                info!(state = state.name(), "the agent chose a status");
                self.agent.choose(now, wall, state);
                Ok(CommandReply::Accepted)
            }
            Command::Dial { to } => self
                .dial(now, &to)
                .map(|h| CommandReply::Created { id: self.ids.id(h) }),
            Command::Answer { id } => self
                .answer(now, self.find(&id)?)
                .map(|_| CommandReply::Accepted),
            Command::Reject { id } => {
                let handle = self.expect_state(&id, &[CallState::Ringing], "reject")?;
                if self.calls[&handle].direction != PageDirection::Inbound {
                    return Err(CommandError::invalid_state(format!(
                        "call {id} is an outbound call; hang it up instead"
                    )));
                }
                self.ua
                    .reject(now, handle, 603)
                    .map_err(|e| self.call_error(&id, e))?;
                Ok(CommandReply::Accepted)
            }
            Command::Hangup { id } => {
                let handle = self.find(&id)?;
                self.ua
                    .hangup(now, handle)
                    .map_err(|e| self.call_error(&id, e))?;
                Ok(CommandReply::Accepted)
            }
            Command::Hold { id } => {
                let handle = self.expect_state(&id, &[CallState::Connected], "hold")?;
                self.reoffer(now, handle, true, &id)
            }
            Command::Resume { id } => {
                let handle = self.expect_state(&id, &[CallState::Held], "resume")?;
                self.reoffer(now, handle, false, &id)
            }
            Command::Mute { id } => self.set_muted(&id, true),
            Command::Unmute { id } => self.set_muted(&id, false),
            Command::Dtmf { id, digits } => {
                let handle = self.expect_state(
                    &id,
                    &[CallState::Connected, CallState::Held],
                    "send DTMF on",
                )?;
                self.send_digits(now, handle, &digits)
                    .map_err(|e| self.call_error(&id, e))?;
                Ok(CommandReply::Accepted)
            }
            Command::BlindTransfer { id, to } => {
                let handle =
                    self.expect_state(&id, &[CallState::Connected, CallState::Held], "transfer")?;
                let target = self.target_uri(&to)?;
                self.ua
                    .refer(now, handle, target.0, None)
                    .map_err(|e| self.call_error(&id, e))?;
                Ok(CommandReply::Accepted)
            }
            Command::AttendedTransfer { id, replaces } => {
                let handle =
                    self.expect_state(&id, &[CallState::Connected, CallState::Held], "transfer")?;
                let consult = self.expect_state(
                    &replaces,
                    &[CallState::Connected, CallState::Held],
                    "transfer to",
                )?;
                if consult == handle {
                    return Err(CommandError::bad_request(
                        "a call cannot be transferred to itself",
                    ));
                }
                let target = Uri::parse(&self.calls[&consult].remote.uri).map_err(|_| {
                    CommandError::invalid_state(format!(
                        "call {replaces} has no address to transfer to"
                    ))
                })?;
                self.ua
                    .refer(now, handle, target, Some(consult))
                    .map_err(|e| self.call_error(&id, e))?;
                Ok(CommandReply::Accepted)
            }
        }
    }

    fn find(&self, id: &str) -> Result<CallHandle, CommandError> {
        self.ids
            .parse(id)
            .filter(|h| self.calls.contains_key(h))
            .ok_or_else(|| {
                if self.ended.iter().any(|c| c.id == id) {
                    CommandError::invalid_state(format!("call {id} has ended"))
                } else {
                    CommandError::unknown_call(id)
                }
            })
    }

    fn expect_state(
        &self,
        id: &str,
        states: &[CallState],
        what: &str,
    ) -> Result<CallHandle, CommandError> {
        let handle = self.find(id)?;
        let state = self.calls[&handle].state;
        if states.contains(&state) {
            Ok(handle)
        } else {
            Err(CommandError::invalid_state(format!(
                "cannot {what} call {id}: it is {}",
                state_name(state)
            )))
        }
    }

    fn call_error(&self, id: &str, error: CallError) -> CommandError {
        match error {
            CallError::UnknownCall => CommandError::unknown_call(id),
            CallError::InvalidState { state } => {
                CommandError::invalid_state(format!("call {id} is {state}"))
            }
            CallError::OfferPending => CommandError::invalid_state(format!(
                "call {id} is still changing (hold/resume in progress)"
            )),
            CallError::BadTarget { target, reason } => {
                CommandError::undialable(format!("cannot call {target}: {reason}"))
            }
            CallError::Internal(message) => CommandError::unavailable(message),
            other => CommandError::unavailable(other.to_string()),
        }
    }

    /// The URI a dial string goes to, and digits to send after connecting.
    fn target_uri(&self, to: &str) -> Result<(Uri, Option<String>), CommandError> {
        let target = self
            .dial_plan
            .normalize(to)
            .map_err(|e| CommandError::undialable(e.to_string()))?;
        match target {
            DialTarget::Uri(uri) => Uri::parse(&uri)
                .map(|u| (u, None))
                .map_err(|e| CommandError::undialable(format!("not a valid address: {to} ({e})"))),
            DialTarget::Number {
                digits, extension, ..
            } => Uri::parse(&format!("sip:{digits}@{}", self.config.domain))
                .map(|u| (u, extension))
                .map_err(|e| CommandError::undialable(format!("not a valid number: {to} ({e})"))),
        }
    }

    fn dial(&mut self, now: Instant, to: &str) -> Result<CallHandle, CommandError> {
        let (target, post_dial) = self.target_uri(to)?;
        self.place_call(now, target, post_dial, DialOptions::default(), None)
    }

    fn place_call(
        &mut self,
        now: Instant,
        target: Uri,
        post_dial: Option<String>,
        options: DialOptions,
        transfer_of: Option<TransferOf>,
    ) -> Result<CallHandle, CommandError> {
        let Some(local) = self.spare_rtp.pop_front() else {
            return Err(CommandError::unavailable(
                "no audio port is ready yet; try again in a moment",
            ));
        };
        let mut sdp = self.new_sdp(local);
        let offer = sdp.offer(Direction::SendRecv);
        let handle = match self.ua.dial(now, target.clone(), offer, options) {
            Ok(h) => h,
            Err(e) => {
                self.spare_rtp.push_front(local);
                return Err(self.call_error("new", e));
            }
        };
        let remote = self.remote_of(&NameAddr::new(target));
        let mut record = CallRecord::new(
            handle,
            self.ids.id(handle),
            PageDirection::Outbound,
            remote,
            self.clock.at(now),
            sdp,
            local,
        );
        record.post_dial = post_dial;
        record.transfer_of = transfer_of;
        info!(call = %self.ids.id(handle), to = %record.remote.uri, "dialing");
        self.calls.insert(handle, record);
        self.publish_call(handle, false);
        Ok(handle)
    }

    fn answer(&mut self, now: Instant, handle: CallHandle) -> Result<(), CommandError> {
        let id = self.ids.id(handle);
        let record = &self.calls[&handle];
        if record.direction != PageDirection::Inbound || record.state != CallState::Ringing {
            return Err(CommandError::invalid_state(format!(
                "cannot answer call {id}: it is {} {}",
                if record.direction == PageDirection::Inbound {
                    "an inbound call,"
                } else {
                    "an outbound call,"
                },
                state_name(record.state)
            )));
        }
        let record = self.calls.get_mut(&handle).expect("checked above");
        let body = match record.offer.clone() {
            Some(offer) => match record.sdp.receive_offer(&offer, Direction::SendRecv) {
                Ok((answer, negotiated)) => {
                    record.negotiated = Some(negotiated);
                    answer
                }
                Err(error) => {
                    warn!(call = %id, %error, "cannot answer: the caller's media does not fit");
                    let _ = self
                        .ua
                        .reject_because(now, handle, 488, Some(&error.to_string()));
                    return Err(CommandError::invalid_state(format!(
                        "cannot answer call {id}: {error}"
                    )));
                }
            },
            // A late offer: we offer in the 2xx, the answer comes in the ACK.
            None => record.sdp.offer(Direction::SendRecv),
        };
        self.ua
            .answer(now, handle, body)
            .map_err(|e| self.call_error(&id, e))?;
        let answered_at = self.clock.at(now);
        let record = self.calls.get_mut(&handle).expect("checked above");
        record.offer = None;
        record.state = CallState::Connected;
        record.answered_at = Some(answered_at);
        if let Some(negotiated) = record.negotiated.clone() {
            self.start_media(handle, negotiated);
        }
        self.publish_call(handle, false);
        Ok(())
    }

    /// DTMF in the media (RFC 4733) when the far end negotiated telephone-event and the
    /// stream runs, else SIP INFO.
    fn send_digits(
        &mut self,
        now: Instant,
        handle: CallHandle,
        digits: &str,
    ) -> Result<(), CallError> {
        let in_media = self.calls.get(&handle).is_some_and(|r| {
            r.media_started
                && r.negotiated
                    .as_ref()
                    .is_some_and(|n| n.telephone_event.is_some() && n.local_direction.sends())
        });
        if in_media {
            self.media.push_back(MediaAction::SendDtmf {
                call: handle,
                digits: digits.to_owned(),
            });
            Ok(())
        } else {
            self.ua.send_dtmf_info(now, handle, digits, 160)
        }
    }

    fn reoffer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        hold: bool,
        id: &str,
    ) -> Result<CommandReply, CommandError> {
        let record = &self.calls[&handle];
        if record.hold_pending.is_some() {
            return Err(CommandError::invalid_state(format!(
                "call {id} is still changing (hold/resume in progress)"
            )));
        }
        let direction = match (hold, record.on_hold_by_remote) {
            (true, false) => Direction::SendOnly,
            (true, true) => Direction::Inactive,
            (false, false) => Direction::SendRecv,
            (false, true) => Direction::RecvOnly,
        };
        // A refused re-INVITE leaves the offer pending in the SDP session; the next offer
        // replaces it.
        let record = self.calls.get_mut(&handle).expect("found above");
        let offer = record.sdp.offer(direction);
        self.ua
            .reinvite(now, handle, offer)
            .map_err(|e| self.call_error(id, e))?;
        self.calls
            .get_mut(&handle)
            .expect("found above")
            .hold_pending = Some(hold);
        Ok(CommandReply::Accepted)
    }

    fn set_muted(&mut self, id: &str, muted: bool) -> Result<CommandReply, CommandError> {
        let what = if muted { "mute" } else { "unmute" };
        let handle = self.expect_state(
            id,
            &[
                CallState::Dialing,
                CallState::Ringing,
                CallState::Early,
                CallState::Connected,
                CallState::Held,
            ],
            what,
        )?;
        let record = self.calls.get_mut(&handle).expect("found above");
        if record.muted != muted {
            record.muted = muted;
            self.media.push_back(MediaAction::Mute {
                call: handle,
                muted,
            });
            self.publish_call(handle, false);
        }
        Ok(CommandReply::Accepted)
    }

    // ----- SIP call events -----

    fn drain(&mut self, now: Instant) {
        while let Some(event) = self.ua.poll_event() {
            match event {
                UaEvent::RegistrationChanged(state) => {
                    log_registration(&state, &self.config.registrar);
                    self.view.registration(&state, now);
                }
                UaEvent::Unregistered { clean } => self.unregistered = Some(clean),
                UaEvent::Call(event) => self.on_call_event(now, event),
                other => debug!(?other, "user agent event not handled"),
            }
        }
        self.sync_agent(now);
    }

    /// Brings the agent's availability up to the calls and `now`; the page hears of a change
    /// (after the call events that caused it).
    fn sync_agent(&mut self, now: Instant) {
        let live = self.has_live_calls();
        let wall = self.clock.at(now);
        self.agent.observe(now, wall, live, self.last_ended.take());
        if let Some(status) = self.agent.poll_change() {
            info!(state = ?status.state, "agent status");
            self.view.agent(status, true);
        }
    }

    fn on_call_event(&mut self, now: Instant, event: CallEvent) {
        match event {
            CallEvent::Incoming {
                call,
                from,
                offer,
                replaces,
                ..
            } => self.on_incoming(now, call, from, offer, replaces),
            CallEvent::Progress { call, status, sdp } => {
                let Some(record) = self.calls.get_mut(&call) else {
                    return;
                };
                record.state = if sdp.is_some() || status == 183 {
                    CallState::Early
                } else {
                    CallState::Ringing
                };
                if let Some(sdp) = sdp {
                    match record.sdp.receive_answer(&sdp) {
                        Ok(negotiated) => {
                            record.negotiated = Some(negotiated.clone());
                            self.start_media(call, negotiated);
                        }
                        Err(error @ media::NegotiationError::NoUsableCrypto { .. }) => {
                            // The 2xx would repeat it: give up now (CANCEL).
                            warn!(call = %self.ids.id(call), %error, "the far end's answer is not encrypted; cancelling");
                            let reason =
                                EndReason::new(EndKind::Incompatible, None, error.to_string());
                            let _ = self.ua.hangup_because(now, call, reason);
                            return;
                        }
                        Err(error) => {
                            debug!(call = %self.ids.id(call), %error, "early media answer not usable")
                        }
                    }
                }
                self.publish_call(call, false);
                self.report_transfer(now, call, status, "Ringing");
            }
            CallEvent::Answered { call, sdp } => {
                let answered_at = self.clock.at(now);
                let Some(record) = self.calls.get_mut(&call) else {
                    return;
                };
                if let Some(sdp) = sdp {
                    match record.sdp.receive_answer(&sdp) {
                        Ok(negotiated) => record.negotiated = Some(negotiated),
                        // The 2xx repeats the answer of early media: nothing new.
                        Err(media::NegotiationError::NoOfferPending) => {}
                        Err(error) => {
                            warn!(call = %self.ids.id(call), %error, "the far end's answer does not fit; hanging up");
                            let reason =
                                EndReason::new(EndKind::Incompatible, None, error.to_string());
                            let _ = self.ua.hangup_because(now, call, reason);
                            return;
                        }
                    }
                }
                record.state = CallState::Connected;
                if record.answered_at.is_none() {
                    record.answered_at = Some(answered_at);
                }
                let post_dial = record.post_dial.take();
                if let Some(negotiated) = record.negotiated.clone() {
                    self.start_media(call, negotiated);
                }
                self.publish_call(call, false);
                if let Some(digits) = post_dial {
                    let _ = self.send_digits(now, call, &digits);
                }
                self.report_transfer(now, call, 200, "OK");
            }
            CallEvent::RemoteReoffer { call, offer } => self.on_remote_reoffer(now, call, offer),
            CallEvent::ReofferAccepted { call, sdp } => {
                let Some(record) = self.calls.get_mut(&call) else {
                    return;
                };
                if let Some(sdp) = sdp {
                    match record.sdp.receive_answer(&sdp) {
                        Ok(negotiated) => {
                            record.on_hold_by_remote = !negotiated.remote_direction.receives();
                            record.negotiated = Some(negotiated.clone());
                            self.media
                                .push_back(MediaAction::Update { call, negotiated });
                        }
                        Err(error @ media::NegotiationError::NoUsableCrypto { .. }) => {
                            warn!(call = %self.ids.id(call), %error, "the far end's answer drops encryption; hanging up");
                            let reason =
                                EndReason::new(EndKind::Incompatible, None, error.to_string());
                            let _ = self.ua.hangup_because(now, call, reason);
                            return;
                        }
                        Err(error) => {
                            debug!(call = %self.ids.id(call), %error, "re-offer answer not usable")
                        }
                    }
                }
                let record = self.calls.get_mut(&call).expect("found above");
                match record.hold_pending.take() {
                    Some(true) => record.state = CallState::Held,
                    Some(false) => record.state = CallState::Connected,
                    None => {}
                }
                self.publish_call(call, false);
            }
            CallEvent::TargetRefreshNeeded { call } | CallEvent::SessionRefreshNeeded { call } => {
                // The same offer as now (held stays held): from our new address, or to
                // refresh the session timer; the answer is read as any other.
                let Some(record) = self.calls.get(&call) else {
                    return;
                };
                let held = record.state == CallState::Held;
                let id = self.ids.id(call);
                if let Err(error) = self.reoffer(now, call, held, &id) {
                    debug!(call = %id, ?error, "could not re-offer to refresh the call");
                }
            }
            CallEvent::ReofferRejected { call, status } => {
                if let Some(record) = self.calls.get_mut(&call) {
                    record.hold_pending = None;
                    debug!(call = %self.ids.id(call), status, "re-offer refused");
                    self.publish_call(call, false);
                }
            }
            CallEvent::Dtmf { call, digit, .. } => self.view.event(EventBody::Dtmf {
                call_id: self.ids.id(call),
                digits: digit.to_string(),
            }),
            CallEvent::DtmfFailed {
                call,
                status,
                digits,
            } => {
                warn!(call = %self.ids.id(call), status, %digits, "DTMF digits were not delivered");
                let message = if status == 408 {
                    "the far end did not answer the DTMF request".to_owned()
                } else {
                    format!("the far end refused the DTMF request ({status})")
                };
                self.view.event(EventBody::DtmfFailed {
                    call_id: self.ids.id(call),
                    digits,
                    sip_status: status,
                    message,
                });
            }
            CallEvent::TransferProgress { call, status, done } => {
                let state = match (status, done) {
                    (200..=299, true) => TransferState::Succeeded,
                    (_, true) => TransferState::Failed,
                    (180 | 183, false) => TransferState::Ringing,
                    _ => TransferState::Trying,
                };
                let message = match state {
                    TransferState::Trying => "transfer in progress".to_owned(),
                    TransferState::Ringing => "the transfer target is ringing".to_owned(),
                    TransferState::Succeeded => "transferred".to_owned(),
                    TransferState::Failed => EndReason::from_status(status, "")
                        .message
                        .replace(" ( )", ""),
                };
                self.view.event(EventBody::Transfer {
                    call_id: self.ids.id(call),
                    state,
                    sip_status: Some(status),
                    message,
                });
            }
            CallEvent::TransferRequested {
                call,
                target,
                replaces,
            } => {
                let options = DialOptions {
                    replaces,
                    referred_by: None,
                };
                let of = TransferOf {
                    referrer: call,
                    reported: false,
                };
                if let Err(error) = self.place_call(now, target, None, options, Some(of)) {
                    warn!(call = %self.ids.id(call), %error, "cannot place the call the far end asked for");
                    self.ua
                        .notify_transfer(now, call, 503, "Service Unavailable");
                }
            }
            CallEvent::Ended { call, reason } => self.on_ended(now, call, reason),
            other => debug!(?other, "call event not handled"),
        }
    }

    fn on_incoming(
        &mut self,
        now: Instant,
        call: CallHandle,
        from: NameAddr,
        offer: Option<Bytes>,
        replaces: Option<CallHandle>,
    ) {
        // A wrap-up that ended before this INVITE no longer turns it away.
        self.sync_agent(now);
        if replaces.is_none() {
            if let Some(state) = self.agent.turns_away() {
                self.turn_away(now, call, &from, state);
                return;
            }
        }
        let busy = self.has_live_calls();
        if busy && !self.config.call_waiting && replaces.is_none() {
            info!(call = %self.ids.id(call), "busy: declining a second call");
            let _ = self.ua.reject(now, call, 486);
            return;
        }
        let Some(local) = self.spare_rtp.pop_front() else {
            warn!(call = %self.ids.id(call), "no audio port ready: declining the call");
            let _ = self.ua.reject(now, call, 480);
            return;
        };
        let sdp = self.new_sdp(local);
        let mut record = CallRecord::new(
            call,
            self.ids.id(call),
            PageDirection::Inbound,
            self.remote_of(&from),
            self.clock.at(now),
            sdp,
            local,
        );
        // An offer we can never take because it is not encrypted (`[media] srtp =
        // "mandatory"`, or an RTP/SAVP offer without a usable key) is refused at once with
        // 488 and the reason; the page lists the call as ended, it never rings.
        if let Some(Err(error @ media::NegotiationError::NoUsableCrypto { .. })) =
            offer.as_deref().map(|o| record.sdp.check_offer(o))
        {
            warn!(call = %self.ids.id(call), %error, "refusing the call: 488");
            self.calls.insert(call, record);
            let _ = self
                .ua
                .reject_because(now, call, 488, Some(&error.to_string()));
            return;
        }
        record.offer = offer;
        info!(call = %self.ids.id(call), from = %record.remote.uri, "incoming call");
        self.calls.insert(call, record);
        self.publish_call(call, true);
        if replaces.is_some() || self.config.auto_answer {
            if let Err(error) = self.answer(now, call) {
                warn!(call = %self.ids.id(call), %error, "could not answer automatically");
            }
            // RFC 3891: the replaced call ends once the new one is answered.
            if let Some(old) = replaces {
                let _ = self.ua.hangup(now, old);
            }
        }
    }

    fn on_remote_reoffer(&mut self, now: Instant, call: CallHandle, offer: Option<Bytes>) {
        let Some(record) = self.calls.get_mut(&call) else {
            return;
        };
        let wanted = if record.state == CallState::Held {
            Direction::SendOnly
        } else {
            Direction::SendRecv
        };
        let Some(offer) = offer else {
            let sdp = record.sdp.offer(wanted);
            let _ = self.ua.answer_reoffer(now, call, sdp);
            return;
        };
        match record.sdp.receive_offer(&offer, wanted) {
            Ok((answer, negotiated)) => {
                let held_by_remote = !negotiated.remote_direction.receives();
                let changed = held_by_remote != record.on_hold_by_remote;
                record.on_hold_by_remote = held_by_remote;
                record.negotiated = Some(negotiated.clone());
                let _ = self.ua.answer_reoffer(now, call, answer);
                self.media
                    .push_back(MediaAction::Update { call, negotiated });
                if changed {
                    info!(call = %self.ids.id(call), held_by_remote, "remote hold changed");
                    self.publish_call(call, false);
                }
            }
            Err(error) => {
                warn!(call = %self.ids.id(call), %error, "refusing the far end's new offer");
                let _ = self.ua.reject_reoffer(now, call, 488, &error.to_string());
            }
        }
    }

    fn on_ended(&mut self, now: Instant, call: CallHandle, reason: EndReason) {
        let Some(mut record) = self.calls.remove(&call) else {
            return;
        };
        info!(call = %self.ids.id(call), reason = %reason, "call ended");
        record.state = CallState::Ended;
        record.ended_at = Some(self.clock.at(now));
        record.end_reason = Some(PageEndReason {
            code: reason.kind.code().to_owned(),
            message: reason.message.clone(),
            sip_status: reason.status,
        });
        self.media.push_back(MediaAction::Stop {
            call,
            local: record.local_rtp,
        });
        let view = record.view();
        if let Some(of) = record.transfer_of {
            if !of.reported {
                let status = reason.status.filter(|s| *s >= 300).unwrap_or(487);
                self.ua.notify_transfer(now, of.referrer, status, "Failed");
            }
        }
        self.last_ended = Some((record.id.clone(), record.answered_at.is_some()));
        self.keep_ended(record, view);
    }

    /// Lists an ended call for a while (the page learns how it ended) and tells the page.
    fn keep_ended(&mut self, record: CallRecord, view: wire::CallView) {
        self.ended.push_back(record);
        while self.ended.len() > ENDED_KEPT {
            if let Some(old) = self.ended.pop_front() {
                self.view.forget_call(&old.id);
            }
        }
        self.view.call(view, false);
    }

    /// Answers an incoming call while the agent is not available: forwarded (302) when
    /// `[agent] forward_to` is set, else rejected with `[agent] unavailable_response`. The
    /// page learns of it as an ended call (`call`, never `incoming`: nothing rings or pops).
    fn turn_away(
        &mut self,
        now: Instant,
        call: CallHandle,
        from: &NameAddr,
        state: wire::AgentState,
    ) {
        let why = availability::why(state);
        let id = self.ids.id(call);
        let forward = self.agent.forward_to().map(str::to_owned).and_then(|to| {
            match self.target_uri(&to) {
                Ok((uri, _)) => Some((to, uri)),
                Err(error) => {
                    warn!(call = %id, %error, "[agent] forward_to cannot be dialled; rejecting instead");
                    None
                }
            }
        });
        let (code, status, message, sent) = match forward {
            Some((to, uri)) => (
                "forwarded",
                302,
                format!("forwarded to {to}: {why}"),
                self.ua.redirect(now, call, &uri),
            ),
            None => {
                let status = self.agent.unavailable_response();
                (
                    "unavailable_rejected",
                    status,
                    format!("rejected: {why}"),
                    self.ua.reject(now, call, status),
                )
            }
        };
        if let Err(error) = sent {
            warn!(call = %id, %error, "could not turn the call away");
            return;
        }
        let at = self.clock.at(now);
        // Never live, so no audio port: the record only carries the page's view.
        let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
        let sdp = CallSdp::new(nowhere, self.config.caps.clone(), 0);
        let mut record = CallRecord::new(
            call,
            id,
            PageDirection::Inbound,
            self.remote_of(from),
            at,
            sdp,
            nowhere,
        );
        record.state = CallState::Ended;
        record.ended_at = Some(at);
        record.end_reason = Some(PageEndReason {
            code: code.to_owned(),
            message,
            sip_status: Some(status),
        });
        info!(call = %record.id, from = %record.remote.uri, status, "{}", record.end_reason.as_ref().map_or("", |r| r.message.as_str()));
        let view = record.view();
        self.keep_ended(record, view);
    }

    /// Tells the far end that asked for this call (REFER) how it goes.
    fn report_transfer(&mut self, now: Instant, call: CallHandle, status: u16, reason: &str) {
        let Some(record) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(of) = record.transfer_of.as_mut() else {
            return;
        };
        if of.reported {
            return;
        }
        if status >= 200 {
            of.reported = true;
        }
        let referrer = of.referrer;
        self.ua.notify_transfer(now, referrer, status, reason);
    }

    fn start_media(&mut self, call: CallHandle, negotiated: Negotiated) {
        let Some(record) = self.calls.get_mut(&call) else {
            return;
        };
        // A call may start held: an offer or answer that is sendonly or inactive.
        record.on_hold_by_remote = !negotiated.remote_direction.receives();
        if record.media_started {
            self.media
                .push_back(MediaAction::Update { call, negotiated });
        } else {
            record.media_started = true;
            self.media.push_back(MediaAction::Start {
                call,
                local: record.local_rtp,
                negotiated,
                media_timeout: self.config.media_timeout,
            });
            if record.muted {
                self.media
                    .push_back(MediaAction::Mute { call, muted: true });
            }
        }
    }

    fn publish_call(&mut self, call: CallHandle, incoming: bool) {
        let Some(record) = self.calls.get(&call) else {
            return;
        };
        let view = record.view();
        self.view.call(view, incoming);
    }

    fn remote_of(&self, addr: &NameAddr) -> Remote {
        let user = match &addr.uri {
            Uri::Sip(sip) => sip.user.as_deref().unwrap_or_default().to_owned(),
            Uri::Tel(tel) => tel.digits(),
            _ => String::new(),
        };
        let display_name = addr
            .display_name
            .as_deref()
            .map(str::to_owned)
            .filter(|n| !n.is_empty());
        Remote {
            number: self.dial_plan.caller_number(&user, display_name.as_deref()),
            display_name,
            uri: addr.uri.to_string(),
        }
    }

    /// A new call's SDP session on `local` (RTP), with the next session id.
    fn new_sdp(&mut self, local: SocketAddr) -> CallSdp {
        self.session_ids += 1;
        CallSdp::new(local, self.config.caps.clone(), self.session_ids)
    }
}

/// The page's view of a stream's figures (rounded: ms to 0.1, MOS to 0.01).
fn quality_of(s: &media::RtpStats) -> CallQuality {
    // Dividing by the step count gives the nearest f64 (1.2, not 1.2000000000000002).
    let round = |v: f32, steps: f64| ((v as f64) * steps).round() / steps;
    CallQuality {
        packets_sent: s.packets_sent,
        packets_received: s.packets_received,
        packets_lost: s.lost,
        late: s.late,
        jitter_ms: round(s.jitter_ms, 10.0),
        rtt_ms: s.rtt_ms.map(|r| round(r, 10.0)),
        concealed_ms: s.concealed_ms,
        playout_delay_ms: round(s.playout_delay_ms, 10.0),
        mos: round(s.mos, 100.0),
        junk: s.dropped + s.rtcp_dropped,
        srtp_auth_failed: s.srtp_auth_failed,
        srtp_replayed: s.srtp_replayed,
        digits_received: s.digits_received,
    }
}

fn log_registration(state: &RegistrationState, registrar: &RegistrarView) {
    match state {
        RegistrationState::Registered { .. } => {
            info!("registered {} at {}", registrar.aor, registrar.server)
        }
        RegistrationState::Failed { error, .. } => warn!("registration failed: {error}"),
        RegistrationState::Registering => debug!("registering"),
        RegistrationState::Unregistered => info!("unregistered"),
    }
}
