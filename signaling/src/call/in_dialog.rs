//! Requests inside a call's dialog, both ways: hang-up (BYE/CANCEL), re-offers (re-INVITE,
//! UPDATE) for hold and session refresh, DTMF by INFO, OPTIONS, and transfer (REFER and its
//! NOTIFYs).

use super::body::refuse_non_sdp;
use super::dtmf::{dtmf_relay_body, parse_dtmf_relay};
use super::reason::{EndKind, EndReason};
use super::session_timer::{self, UasTimer};
use super::ua::{sipfrag_status, Pending2xx, Phase, Purpose, Resend, UserAgent, ALLOW, SUPPORTED};
use super::uas::ok_with_sdp;
use super::{CallDirection, CallError, CallEvent, CallHandle};
use crate::message::typed::{CSeq, Event, ReferTo, SessionExpires, SubscriptionState};
use crate::message::{HeaderName, Method, Request, Response, Uri};
use crate::transaction::{response_to, ClientTransactionId, ServerTransactionId};
use bytes::Bytes;
use rand::Rng;
use std::time::Instant;
use tracing::debug;

impl UserAgent {
    /// Hangs up: CANCEL while an outbound call rings, decline an inbound one that rings,
    /// BYE once answered. The call ends for the application at once.
    pub fn hangup(&mut self, now: Instant, handle: CallHandle) -> Result<(), CallError> {
        let call = self.visible_call(handle)?;
        let reason = EndReason::new(EndKind::LocalHangup, None, "hung up here");
        match (call.direction, call.phase) {
            (CallDirection::Outbound, Phase::Calling | Phase::Early) => {
                self.end_call(handle, reason, true);
                self.cancel(now, handle);
            }
            (CallDirection::Inbound, Phase::Early) => return self.reject(now, handle, 603),
            // No BYE before the ACK of our 2xx (§15.1.1): it goes when the ACK comes.
            (CallDirection::Inbound, Phase::Answering) => {
                if let Some(call) = self.calls.get_mut(&handle) {
                    call.bye_after_ack = true;
                }
                self.end_call(handle, reason, true);
            }
            _ => self.send_bye(now, handle, reason),
        }
        self.pump(now);
        Ok(())
    }

    /// Hangs up for a reason other than the agent's wish (its media stopped arriving, the
    /// far end's answer cannot be used): BYE once answered, CANCEL while an outbound call
    /// rings; the application is told `reason`.
    pub fn hangup_because(
        &mut self,
        now: Instant,
        handle: CallHandle,
        reason: EndReason,
    ) -> Result<(), CallError> {
        let call = self.visible_call(handle)?;
        if call.direction == CallDirection::Outbound
            && matches!(call.phase, Phase::Calling | Phase::Early)
        {
            self.end_call(handle, reason, true);
            self.cancel(now, handle);
            self.pump(now);
            return Ok(());
        }
        if !matches!(call.phase, Phase::Answering | Phase::Established) {
            return Err(CallError::InvalidState {
                state: call.phase.name(),
            });
        }
        self.send_bye(now, handle, reason);
        self.pump(now);
        Ok(())
    }

    /// Sends a new offer (hold, resume, codec change) in a re-INVITE. Asked for after our 2xx
    /// and before its ACK, it goes when the ACK comes.
    pub fn reinvite(
        &mut self,
        now: Instant,
        handle: CallHandle,
        sdp: Bytes,
    ) -> Result<(), CallError> {
        let call = self.visible_call(handle)?;
        let waits_for_ack = call.phase == Phase::Answering
            && call.pending_2xx.as_ref().is_some_and(|p| !p.offer_in_2xx);
        if call.phase != Phase::Established && !waits_for_ack {
            return Err(CallError::InvalidState {
                state: call.phase.name(),
            });
        }
        if call.reoffer_out.is_some()
            || call.reoffer_in.is_some()
            || call.reoffer_retry.is_some()
            || call.reinvite_after_ack.is_some()
            || (call.pending_2xx.is_some() && !waits_for_ack)
        {
            return Err(CallError::OfferPending);
        }
        if waits_for_ack {
            call.reinvite_after_ack = Some(sdp);
            return Ok(());
        }
        let tx = self.send_reinvite(now, handle, sdp);
        self.pump(now);
        tx.map(|_| ()).ok_or(CallError::Internal(
            "the re-INVITE could not be sent".into(),
        ))
    }

    /// Sends the application's new offer `sdp` in a re-INVITE (with our session timer, if
    /// any); it may be retried once after a 491.
    pub(super) fn send_reinvite(
        &mut self,
        now: Instant,
        handle: CallHandle,
        sdp: Bytes,
    ) -> Option<ClientTransactionId> {
        let call = self.calls.get_mut(&handle)?;
        call.local_sdp = Some(sdp.clone());
        call.reoffer_retried = false;
        self.send_reoffer(now, handle, sdp)
    }

    /// Our re-INVITE carrying `sdp`, as the current re-offer.
    fn send_reoffer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        sdp: Bytes,
    ) -> Option<ClientTransactionId> {
        let timer = self.calls.get(&handle).and_then(|c| c.session_timer);
        let tx = self.send_in_dialog(now, handle, Purpose::Reinvite, Method::Invite, |r| {
            r.headers.push(HeaderName::Allow, ALLOW);
            r.headers.push(HeaderName::Supported, SUPPORTED);
            if let Some(t) = timer {
                r.headers.push_typed(&SessionExpires::new(
                    t.interval,
                    Some(if t.we_refresh {
                        crate::message::typed::Refresher::Uac
                    } else {
                        crate::message::typed::Refresher::Uas
                    }),
                ));
            }
            r.headers.push(HeaderName::ContentType, "application/sdp");
            r.body = sdp;
        });
        if let Some(call) = self.calls.get_mut(&handle) {
            call.reoffer_out = tx;
        }
        tx
    }

    /// Our re-INVITE met glare (491): once, after the wait of RFC 3261 §14.1 (2.1-4 s when
    /// we own the Call-ID, i.e. placed the call; 0-2 s otherwise), it goes out again; the
    /// application hears of the 491 only if that fails too. True if a retry was set.
    pub(super) fn schedule_reoffer_retry(&mut self, now: Instant, handle: CallHandle) -> bool {
        let Some(call) = self.calls.get(&handle) else {
            return false;
        };
        if call.reoffer_retried || call.phase != Phase::Established {
            return false;
        }
        let ms = if call.direction == CallDirection::Outbound {
            self.rng.random_range(210..=400u64) * 10
        } else {
            self.rng.random_range(0..=200u64) * 10
        };
        let call = self.calls.get_mut(&handle).expect("found above");
        let Some(sdp) = call.local_sdp.clone() else {
            return false;
        };
        call.reoffer_out = None;
        call.reoffer_retried = true;
        call.reoffer_retry = Some((now + std::time::Duration::from_millis(ms), sdp));
        debug!(call = %handle, ms, "re-INVITE met glare (491): trying again");
        true
    }

    /// The glare wait is over: the re-offer `sdp` goes out again, unless the call is busy
    /// with another exchange (then ours is refused with the 491 it got).
    pub(super) fn retry_reoffer(&mut self, now: Instant, handle: CallHandle, sdp: Bytes) {
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let busy = call.phase != Phase::Established
            || call.reoffer_in.is_some()
            || call.pending_2xx.is_some();
        if busy {
            self.reoffer_failed(now, handle, 491, None);
            return;
        }
        call.local_sdp = Some(sdp.clone());
        if self.send_reoffer(now, handle, sdp).is_none() {
            self.reoffer_failed(now, handle, 491, None);
        }
    }

    /// Answers the far end's re-offer ([`CallEvent::RemoteReoffer`]) with our SDP.
    pub fn answer_reoffer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        sdp: Bytes,
    ) -> Result<(), CallError> {
        let ctx = self.local_context();
        let t1 = self.endpoint.transactions().timer_config().t1;
        let settings = self.config.settings;
        let call = self.visible_call(handle)?;
        let Some((tx, request)) = call.reoffer_in.take() else {
            return Err(CallError::InvalidState {
                state: "without a pending re-offer",
            });
        };
        let negotiated = session_timer::negotiate_uas(&request, &settings);
        let ok = ok_with_sdp(
            &request,
            &call.dialog.local_tag,
            ctx.contact_in(&call.dialog),
            &negotiated,
            sdp.clone(),
        );
        if let UasTimer::Use(timer, ..) = negotiated {
            call.session_timer = Some(timer);
        }
        if let Some(timer) = call.session_timer {
            call.session_deadline = Some(timer.deadline(now));
        }
        call.local_sdp = Some(sdp);
        if request.method == Method::Invite {
            call.pending_2xx = Some(Pending2xx {
                tx,
                response: ok.clone(),
                cseq: request.cseq().map(|c| c.seq).unwrap_or(0),
                resend: Resend::start(now, t1),
                offer_in_2xx: request.body.is_empty(),
            });
        }
        self.respond(now, tx, ok);
        self.pump(now);
        Ok(())
    }

    /// Refuses the far end's re-offer (488 when the SDP does not fit); the call goes on.
    pub fn reject_reoffer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        status: u16,
        reason: &str,
    ) -> Result<(), CallError> {
        let call = self.visible_call(handle)?;
        let Some((tx, request)) = call.reoffer_in.take() else {
            return Err(CallError::InvalidState {
                state: "without a pending re-offer",
            });
        };
        let tag = call.dialog.local_tag.clone();
        let mut response = response_to(&request, status, reason, Some(&tag));
        response.headers.push(
            HeaderName::Warning,
            format!("399 softphone \"{}\"", reason.replace('"', "'")),
        );
        self.respond(now, tx, response);
        self.pump(now);
        Ok(())
    }

    /// Sends DTMF digits by SIP INFO (`application/dtmf-relay`), one request per digit,
    /// paced: the next after the previous one's 2xx and tone duration. Digits queue behind
    /// those still going out. A refused or unanswered INFO drops the digits after it and
    /// reports [`CallEvent::DtmfFailed`].
    pub fn send_dtmf_info(
        &mut self,
        now: Instant,
        handle: CallHandle,
        digits: &str,
        duration_ms: u32,
    ) -> Result<(), CallError> {
        let call = self.visible_call(handle)?;
        if call.phase != Phase::Established {
            return Err(CallError::InvalidState {
                state: call.phase.name(),
            });
        }
        call.dtmf.push(digits, duration_ms);
        self.send_next_dtmf(now, handle);
        self.pump(now);
        Ok(())
    }

    /// Sends the next queued digit if it may go now.
    pub(super) fn send_next_dtmf(&mut self, now: Instant, handle: CallHandle) {
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        if call.phase != Phase::Established {
            call.dtmf.fail(None); // the call is over: nobody to tell
            return;
        }
        let Some((digit, duration_ms)) = call.dtmf.next(now) else {
            return;
        };
        let tx = self.send_in_dialog(now, handle, Purpose::Info, Method::Info, |r| {
            r.headers
                .push(HeaderName::ContentType, "application/dtmf-relay");
            r.body = Bytes::from(dtmf_relay_body(digit, duration_ms));
        });
        match tx {
            Some(tx) => {
                if let Some(call) = self.calls.get_mut(&handle) {
                    call.dtmf.sent(tx, digit, duration_ms, now);
                }
            }
            None => self.dtmf_failed(handle, Some(digit), 503),
        }
    }

    /// The final answer to an INFO (or its timeout, as 408/503): the next digit after a
    /// 2xx; after a failure the rest is dropped and the application told.
    pub(super) fn on_dtmf_answer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        tx: ClientTransactionId,
        status: u16,
    ) {
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let digit = call.dtmf.digit_of(tx);
        if !call.dtmf.answered(tx) {
            return;
        }
        if (200..300).contains(&status) {
            self.send_next_dtmf(now, handle);
        } else {
            self.dtmf_failed(handle, digit, status);
        }
    }

    fn dtmf_failed(&mut self, handle: CallHandle, failed: Option<char>, status: u16) {
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let digits = call.dtmf.fail(failed);
        if call.phase == Phase::Ending || digits.is_empty() {
            return;
        }
        debug!(call = %handle, status, %digits, "DTMF by INFO failed; dropping the rest");
        self.emit(CallEvent::DtmfFailed {
            call: handle,
            status,
            digits,
        });
    }

    /// Transfers the far end (REFER, RFC 3515): blind to `target`, or attended when
    /// `replaces` names our consultation call with the target (RFC 3891).
    pub fn refer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        target: Uri,
        replaces: Option<CallHandle>,
    ) -> Result<(), CallError> {
        let replaces_param = match replaces {
            Some(other) => {
                let consult = self.visible_call(other)?;
                if consult.phase != Phase::Established {
                    return Err(CallError::InvalidState {
                        state: consult.phase.name(),
                    });
                }
                let d = &consult.dialog;
                let value = format!(
                    "{};to-tag={};from-tag={}",
                    d.call_id,
                    d.remote_tag.as_deref().unwrap_or_default(),
                    d.local_tag
                );
                Some(escape_uri_header(&value))
            }
            None => None,
        };
        let aor = format!("<sip:{}@{}>", self.config.user, self.config.domain);
        let call = self.visible_call(handle)?;
        // After our 2xx, before its ACK: the REFER waits for the ACK.
        let waits_for_ack = call.phase == Phase::Answering && call.pending_2xx.is_some();
        if call.phase != Phase::Established && !waits_for_ack {
            return Err(CallError::InvalidState {
                state: call.phase.name(),
            });
        }
        if call.refer_out {
            return Err(CallError::InvalidState {
                state: "already transferring",
            });
        }
        call.refer_out = true;
        let refer_to = match replaces_param {
            Some(r) => format!("<{target}?Replaces={r}>"),
            None => format!("<{target}>"),
        };
        if waits_for_ack {
            call.refer_after_ack = Some((refer_to, aor));
            return Ok(());
        }
        self.send_refer(now, handle, refer_to, aor);
        self.pump(now);
        Ok(())
    }

    /// Sends the REFER (`Refer-To`, `Referred-By` as given).
    pub(super) fn send_refer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        refer_to: String,
        referred_by: String,
    ) {
        self.send_in_dialog(now, handle, Purpose::Refer, Method::Refer, |r| {
            r.headers.push(HeaderName::ReferTo, refer_to);
            r.headers.push(HeaderName::ReferredBy, referred_by);
        });
    }

    /// Tells the referrer how the call it asked for went (NOTIFY with a sipfrag, RFC 3515
    /// §2.4.4); a final status ends the subscription.
    pub fn notify_transfer(&mut self, now: Instant, handle: CallHandle, status: u16, reason: &str) {
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let Some(cseq) = call.refer_in else {
            return;
        };
        if status >= 200 {
            call.refer_in = None;
        }
        let state = if status >= 200 {
            "terminated;reason=noresource".to_owned()
        } else {
            "active;expires=60".to_owned()
        };
        let body = format!("SIP/2.0 {status} {reason}\r\n");
        self.send_in_dialog(now, handle, Purpose::Notify, Method::Notify, |r| {
            r.headers
                .push(HeaderName::Event, format!("refer;id={cseq}"));
            r.headers.push(HeaderName::SubscriptionState, state);
            r.headers
                .push(HeaderName::ContentType, "message/sipfrag;version=2.0");
            r.body = Bytes::from(body);
        });
        self.pump(now);
    }

    pub(super) fn on_in_dialog_request(
        &mut self,
        now: Instant,
        handle: CallHandle,
        tx: ServerTransactionId,
        request: Request,
    ) {
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let tag = call.dialog.local_tag.clone();
        // CSeq must grow (§12.2.2); an older one is a stray retransmission.
        let cseq = request
            .headers
            .typed::<CSeq>()
            .ok()
            .flatten()
            .map(|c| c.seq)
            .unwrap_or(0);
        if request.method != Method::Ack {
            if let Some(last) = call.dialog.remote_cseq {
                if cseq < last && request.method != Method::Prack {
                    self.reply(now, tx, &request, 500, "Server Internal Error", Some(&tag));
                    return;
                }
            }
            call.dialog.remote_cseq = Some(cseq);
        }
        match request.method {
            Method::Bye => {
                self.reply(now, tx, &request, 200, "OK", Some(&tag));
                let call = self.calls.get_mut(&handle).expect("found above");
                if let Some(uas) = call.uas.take() {
                    if call.phase == Phase::Early {
                        let terminated =
                            response_to(&uas.request, 487, "Request Terminated", Some(&tag));
                        self.respond(now, uas.tx, terminated);
                    }
                }
                self.end_call(
                    handle,
                    EndReason::new(EndKind::RemoteHangup, None, "the other party hung up"),
                    false,
                );
            }
            Method::Invite | Method::Update => self.on_reoffer(now, handle, tx, request),
            Method::Info => {
                let ct = request
                    .headers
                    .get(&HeaderName::ContentType)
                    .map(|c| c.to_string())
                    .unwrap_or_default();
                match parse_dtmf_relay(&ct, &request.body) {
                    Some((digit, duration_ms)) => {
                        self.reply(now, tx, &request, 200, "OK", Some(&tag));
                        self.emit(CallEvent::Dtmf {
                            call: handle,
                            digit,
                            duration_ms,
                        });
                    }
                    None if request.body.is_empty() => {
                        self.reply(now, tx, &request, 200, "OK", Some(&tag))
                    }
                    None => {
                        self.reply(now, tx, &request, 415, "Unsupported Media Type", Some(&tag))
                    }
                }
            }
            Method::Options => {
                let mut ok = response_to(&request, 200, "OK", Some(&tag));
                ok.headers.push(HeaderName::Allow, ALLOW);
                ok.headers.push(HeaderName::Accept, "application/sdp");
                ok.headers.push(HeaderName::Supported, SUPPORTED);
                self.respond(now, tx, ok);
            }
            Method::Prack => self.on_prack(now, handle, tx, request),
            Method::Notify => self.on_notify(now, handle, tx, request),
            Method::Refer => self.on_refer(now, handle, tx, request),
            _ => {
                let mut response = response_to(&request, 405, "Method Not Allowed", Some(&tag));
                response.headers.push(HeaderName::Allow, ALLOW);
                self.respond(now, tx, response);
            }
        }
    }

    /// A re-INVITE or UPDATE from the far end: a new offer, a request for one, or (UPDATE
    /// without SDP) a session refresh.
    fn on_reoffer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        tx: ServerTransactionId,
        request: Request,
    ) {
        // The far end's new request in the dialog shows it has our 2xx: if only its ACK
        // is missing (lost on the way) and would carry nothing (the offer was theirs, our
        // 2xx answered it), take this as the acknowledgement. Our final response is sent
        // and no offer of ours is pending, so neither 500 nor 491 applies (RFC 3261 §14.2);
        // refusing would leave a hold click failing until the lost ACK is sent again.
        let implied_ack = self.calls.get(&handle).is_some_and(|c| {
            c.pending_2xx.as_ref().is_some_and(|p| {
                !p.offer_in_2xx
                    && request
                        .headers
                        .typed::<CSeq>()
                        .ok()
                        .flatten()
                        .is_some_and(|cseq| cseq.seq > p.cseq)
            })
        });
        if implied_ack {
            debug!(call = %handle, "a new request before the ACK of our 2xx: taken as its ACK");
            self.acknowledged(now, handle, None);
        }
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let tag = call.dialog.local_tag.clone();
        if call.phase != Phase::Established && request.method == Method::Invite {
            self.reply(now, tx, &request, 491, "Request Pending", Some(&tag));
            return;
        }
        // Their previous offer is still unanswered: 500 with Retry-After 0-10 s (RFC 3261
        // §14.2, RFC 3311 §5.2), not 491, which is for glare.
        if call.reoffer_in.is_some() {
            let retry = self.rng.random_range(0..=10u32);
            let mut response = response_to(&request, 500, "Server Internal Error", Some(&tag));
            response
                .headers
                .push(HeaderName::RetryAfter, retry.to_string());
            self.respond(now, tx, response);
            return;
        }
        // Glare (§14.2): our own offer is outstanding.
        if call.reoffer_out.is_some() || call.pending_2xx.is_some() {
            self.reply(now, tx, &request, 491, "Request Pending", Some(&tag));
            return;
        }
        if let UasTimer::TooSmall(min_se) =
            session_timer::negotiate_uas(&request, &self.config.settings)
        {
            let mut response = response_to(&request, 422, "Session Interval Too Small", Some(&tag));
            response.headers.push(HeaderName::MinSe, min_se.to_string());
            self.respond(now, tx, response);
            return;
        }
        if let Some(response) = refuse_non_sdp(&request, &tag) {
            self.respond(now, tx, response);
            return;
        }
        call.dialog.refresh_target(&request.headers);
        if call.reoffer_retry.take().is_some() {
            // They won the glare: ours is refused now, before their offer is taken.
            self.emit(CallEvent::ReofferRejected {
                call: handle,
                status: 491,
            });
        }
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let has_sdp = !request.body.is_empty();
        if request.method == Method::Update && !has_sdp {
            // A session refresh (RFC 4028 §10): no offer/answer.
            let mut ok = response_to(&request, 200, "OK", Some(&tag));
            if let UasTimer::Use(timer, se, require) =
                session_timer::negotiate_uas(&request, &self.config.settings)
            {
                ok.headers.push_typed(&se);
                if require {
                    ok.headers.push(HeaderName::Require, "timer");
                }
                call.session_timer = Some(timer);
            }
            if let Some(timer) = call.session_timer {
                call.session_deadline = Some(timer.deadline(now));
            }
            self.respond(now, tx, ok);
            return;
        }
        let offer = has_sdp.then(|| request.body.clone());
        call.reoffer_in = Some((tx, request));
        self.emit(CallEvent::RemoteReoffer {
            call: handle,
            offer,
        });
    }

    fn on_notify(
        &mut self,
        now: Instant,
        handle: CallHandle,
        tx: ServerTransactionId,
        request: Request,
    ) {
        let tag = self.calls[&handle].dialog.local_tag.clone();
        let event = request.headers.typed::<Event>().ok().flatten();
        if !event
            .as_ref()
            .is_some_and(|e| e.package.eq_ignore_ascii_case("refer"))
        {
            self.reply(now, tx, &request, 489, "Bad Event", Some(&tag));
            return;
        }
        self.reply(now, tx, &request, 200, "OK", Some(&tag));
        let terminated = request
            .headers
            .typed::<SubscriptionState>()
            .ok()
            .flatten()
            .is_some_and(|s| s.is_terminated());
        let Some(status) = sipfrag_status(&request.body) else {
            return;
        };
        let done = status >= 200 || terminated;
        self.emit(CallEvent::TransferProgress {
            call: handle,
            status,
            done,
        });
        if done {
            if let Some(call) = self.calls.get_mut(&handle) {
                call.refer_out = false;
            }
            if (200..300).contains(&status)
                && self
                    .calls
                    .get(&handle)
                    .is_some_and(|c| c.phase == Phase::Established)
            {
                self.send_bye(
                    now,
                    handle,
                    EndReason::new(
                        EndKind::Transferred,
                        Some(status),
                        "the call was transferred",
                    ),
                );
            }
        }
    }

    fn on_refer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        tx: ServerTransactionId,
        request: Request,
    ) {
        let tag = self.calls[&handle].dialog.local_tag.clone();
        let refer_to = match request.headers.typed::<ReferTo>() {
            Ok(Some(r)) => r,
            _ => {
                self.reply(now, tx, &request, 400, "Missing Refer-To", Some(&tag));
                return;
            }
        };
        if self.calls[&handle].phase != Phase::Established {
            self.reply(now, tx, &request, 603, "Decline", Some(&tag));
            return;
        }
        let replaces = refer_to
            .0
            .uri
            .as_sip()
            .and_then(|s| s.header("Replaces"))
            .map(unescape_uri_header);
        let mut target = refer_to.0.uri.clone();
        if let Some(sip) = target.as_sip_mut() {
            sip.headers = None;
        }
        let cseq = request.cseq().map(|c| c.seq).unwrap_or(0);
        self.reply(now, tx, &request, 202, "Accepted", Some(&tag));
        if let Some(call) = self.calls.get_mut(&handle) {
            call.refer_in = Some(cseq);
        }
        self.notify_transfer(now, handle, 100, "Trying");
        self.emit(CallEvent::TransferRequested {
            call: handle,
            target,
            replaces,
        });
    }

    /// Responses to BYE, CANCEL, INFO, PRACK, REFER, NOTIFY and UPDATE.
    pub(super) fn on_other_response(
        &mut self,
        now: Instant,
        handle: CallHandle,
        purpose: Purpose,
        tx: ClientTransactionId,
        response: Response,
    ) {
        let status = response.status;
        if status < 200 {
            return;
        }
        // Credentials asked for an in-dialog request: send it again with them.
        if matches!(status, 401 | 407) && purpose != Purpose::Cancel {
            if let Some(new_tx) = self.resend_authorized(now, handle, purpose, tx, &response) {
                if purpose == Purpose::Info {
                    if let Some(call) = self.calls.get_mut(&handle) {
                        call.dtmf.replaced(tx, new_tx);
                    }
                }
                return;
            }
        }
        match purpose {
            Purpose::Refer if status >= 300 => self.refer_failed(handle, status),
            // Our UPDATEs are session refreshes.
            Purpose::Update if status >= 300 => {
                if matches!(status, 481 | 408) {
                    self.bye_lost(now, handle, status, "the far end lost the call");
                } else if matches!(status, 405 | 501) {
                    // It listed UPDATE in Allow but refuses it: refresh by re-INVITE now
                    // and from now on, or the session would lapse. (Without an SDP of ours
                    // to re-offer there is no re-INVITE: no second UPDATE either.)
                    let can_reinvite = self.calls.get_mut(&handle).is_some_and(|call| {
                        call.peer_allows_update = false;
                        call.local_sdp.is_some()
                    });
                    if can_reinvite {
                        self.send_refresh(now, handle);
                    }
                }
            }
            Purpose::Update => {
                if let Some(call) = self.calls.get_mut(&handle) {
                    if let Some(timer) =
                        session_timer::from_uac_response(&response).or(call.session_timer)
                    {
                        call.session_timer = Some(timer);
                        call.session_deadline = Some(timer.deadline(now));
                    }
                }
            }
            Purpose::Info => self.on_dtmf_answer(now, handle, tx, status),
            _ => debug!(call = %handle, ?purpose, status, "in-dialog response"),
        }
    }

    /// The session timer fired: refresh (UPDATE when the far end allows it, else re-INVITE
    /// with our last SDP), or hang up when the far end failed to refresh (RFC 4028 §10).
    pub(super) fn on_session_timer(&mut self, now: Instant, handle: CallHandle) {
        let Some(call) = self.calls.get(&handle) else {
            return;
        };
        let Some(timer) = call.session_timer else {
            return;
        };
        if !timer.we_refresh {
            self.send_bye(
                now,
                handle,
                EndReason::new(
                    EndKind::SessionExpired,
                    None,
                    "the session expired: the far end stopped refreshing it",
                ),
            );
            return;
        }
        self.send_refresh(now, handle);
        // Until the refresh is answered, watch for expiry.
        if let Some(call) = self.calls.get_mut(&handle) {
            call.session_deadline = Some(now + timer.expire_after() - timer.refresh_after());
        }
    }

    /// Refreshes the session (RFC 4028): an UPDATE without a body when the far end allows
    /// it (its answer is not the application's: it raises no event); else the application
    /// re-offers ([`CallEvent::SessionRefreshNeeded`]), unless our re-offer is under way.
    /// A re-INVITE is an offer, and its answer may move the far end's media: resending our
    /// last SDP ourselves would leave that answer unread.
    pub(super) fn send_refresh(&mut self, now: Instant, handle: CallHandle) {
        let Some(call) = self.calls.get(&handle) else {
            return;
        };
        // We refresh, and we are this request's UAC: `refresher=uac` keeps the role with us
        // (RFC 4028 §7.4), whichever side placed the call.
        let se = call.session_timer.map(|timer| {
            SessionExpires::new(timer.interval, Some(crate::message::typed::Refresher::Uac))
        });
        if call.peer_allows_update || call.local_sdp.is_none() {
            self.send_in_dialog(now, handle, Purpose::Update, Method::Update, |r| {
                r.headers.push(HeaderName::Supported, SUPPORTED);
                if let Some(se) = &se {
                    r.headers.push_typed(se);
                }
            });
        } else if call.reoffer_out.is_some() {
            // Our re-INVITE under way carries Session-Expires: its answer is the refresh
            // (and if it never comes, the call ends with that transaction).
            debug!(call = %handle, "session refresh: our re-offer under way refreshes it");
        } else {
            debug!(call = %handle, "session refresh: asking for a re-offer");
            self.emit(CallEvent::SessionRefreshNeeded { call: handle });
        }
    }

    /// Our connection to the registrar was replaced, and with it the address the PBX
    /// reaches us at: every established call is to tell its far end our new Contact
    /// (RFC 3261 §12.2: a target refresh), so the far end's BYE, holds and transfers still
    /// find us. The application holds the SDP, so it sends the re-offer
    /// ([`CallEvent::TargetRefreshNeeded`]). A call with an offer under way is left alone.
    pub(super) fn refresh_targets(&mut self) {
        let due: Vec<CallHandle> = self
            .calls
            .values()
            .filter(|c| {
                c.phase == Phase::Established
                    && c.reoffer_out.is_none()
                    && c.reoffer_in.is_none()
                    && c.pending_2xx.is_none()
            })
            .map(|c| c.handle)
            .collect();
        for call in due {
            debug!(%call, "our address changed: the call's target needs refreshing");
            self.emit(CallEvent::TargetRefreshNeeded { call });
        }
    }
}

/// Escapes a header value for use inside a URI's `?name=value` (RFC 3261 §25.1 hnv-unreserved).
fn escape_uri_header(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 16);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()[]/?:+$".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes `%XX` escapes in a URI header value.
fn unescape_uri_header(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // Bytes, not `&value[..]`: a `%` before a multi-byte character must not split it.
        if let [b'%', hi, lo, ..] = bytes[i..] {
            if let (Some(hi), Some(lo)) = (hex_value(hi), hex_value(lo)) {
                out.push(hi << 4 | lo);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit).to_digit(16).map(|v| v as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescaping_never_splits_a_character() {
        assert_eq!(unescape_uri_header("%a\u{e9}"), "%a\u{e9}");
        assert_eq!(unescape_uri_header("%\u{e9}"), "%\u{e9}");
        assert_eq!(unescape_uri_header("%+1%4"), "%+1%4");
        assert_eq!(unescape_uri_header("%C3%A9"), "\u{e9}");
    }

    #[test]
    fn replaces_round_trips_through_uri_escaping() {
        let value = "abc@127.0.0.1;to-tag=12;from-tag=34";
        let escaped = escape_uri_header(value);
        assert_eq!(escaped, "abc%40127.0.0.1%3Bto-tag%3D12%3Bfrom-tag%3D34");
        assert_eq!(unescape_uri_header(&escaped), value);
        assert_eq!(unescape_uri_header("100%"), "100%");
    }
}
