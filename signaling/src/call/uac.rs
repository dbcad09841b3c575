//! Outbound calls (UAC): the INVITE, its challenges, provisional responses (with PRACK for
//! reliable ones), the 2xx and its ACK, CANCEL, and failures.

use super::body::sdp_of;
use super::dialog::{set_via, via_with_branch, Dialog};
use super::reason::EndReason;
use super::retry::MAX_RETRIES;
use super::session_timer;
use super::ua::{Call, Phase, Purpose, UacInvite, UserAgent, ALLOW, SUPPORTED};
use super::{CallDirection, CallError, CallEvent, CallHandle};
use crate::message::typed::{CSeq, NameAddr, RAck, RSeq, SessionExpires};
use crate::message::{HeaderName, Method, Request, Response, Uri};
use crate::transaction::{new_branch, ClientTransactionId};
use bytes::Bytes;
use rand::Rng;
use std::time::Instant;
use tracing::debug;

/// Extra headers of a call we place for a transfer.
#[derive(Debug, Clone, Default)]
pub struct DialOptions {
    /// `Replaces` (RFC 3891): the dialog at the target this call replaces.
    pub replaces: Option<String>,
    /// `Referred-By` (RFC 3892).
    pub referred_by: Option<String>,
}

impl UserAgent {
    /// Places a call to `target` with our SDP `offer`. The INVITE goes to the outbound proxy.
    pub fn dial(
        &mut self,
        now: Instant,
        target: Uri,
        offer: Bytes,
        options: DialOptions,
    ) -> Result<CallHandle, CallError> {
        if !matches!(target, Uri::Sip(_) | Uri::Tel(_)) {
            return Err(CallError::BadTarget {
                target: target.to_string(),
                reason: "only sip:, sips: and tel: addresses can be called".into(),
            });
        }
        let handle = self.new_handle();
        let local_tag = self.new_tag();
        let call_id = format!(
            "{:016x}{:08x}@{}",
            self.rng.random::<u64>(),
            self.rng.random::<u32>(),
            self.config.local_addr.ip()
        );
        let mut local = NameAddr::new(
            Uri::parse(&format!("sip:{}@{}", self.config.user, self.config.domain))
                .map_err(|e| CallError::Internal(format!("our own address does not parse: {e}")))?,
        );
        if let Some(name) = &self.config.display_name {
            local = local.with_display_name(name.as_str());
        }
        let remote = NameAddr::new(target);
        let dialog = Dialog::uac(call_id, local_tag, local, remote);
        let ctx = self.local_context();
        let mut request = dialog.request_with_cseq(Method::Invite, 1, &ctx);
        request.headers.push(HeaderName::Allow, ALLOW);
        request.headers.push(HeaderName::Supported, SUPPORTED);
        let settings = self.config.settings;
        if settings.session_expires > 0 {
            request
                .headers
                .push_typed(&SessionExpires::new(settings.session_expires, None));
            request
                .headers
                .push(HeaderName::MinSe, settings.min_se.to_string());
        }
        if let Some(replaces) = &options.replaces {
            request
                .headers
                .push(HeaderName::Replaces, replaces.as_str());
        }
        if let Some(by) = &options.referred_by {
            request.headers.push(HeaderName::ReferredBy, by.as_str());
        }
        request
            .headers
            .push(HeaderName::ContentType, "application/sdp");
        request.body = offer.clone();

        let mut call = Call::new(handle, CallDirection::Outbound, Phase::Calling, dialog);
        call.local_sdp = Some(offer);
        let proxy = self.config.proxy;
        let Some(tx) = self.send(now, handle, Purpose::Invite, request.clone(), proxy) else {
            return Err(CallError::Internal("the INVITE could not be sent".into()));
        };
        // The layer's copy carries the branch a CANCEL must repeat.
        let request = self
            .endpoint
            .transactions()
            .client_request(tx)
            .cloned()
            .unwrap_or(request);
        call.uac = Some(UacInvite {
            tx,
            request,
            provisional: false,
            cancel_wanted: false,
            cancel_sent: false,
            acked_rseq: None,
        });
        self.calls.insert(handle, call);
        self.pump(now);
        Ok(handle)
    }

    /// Cancels an outbound call that is not answered yet (§9.1): at once if a provisional
    /// response arrived, else as soon as one does.
    pub(super) fn cancel(&mut self, now: Instant, handle: CallHandle) {
        let Some(uac) = self.calls.get_mut(&handle).and_then(|c| c.uac.as_mut()) else {
            return;
        };
        uac.cancel_wanted = true;
        if !uac.provisional || uac.cancel_sent {
            return;
        }
        uac.cancel_sent = true;
        let invite = uac.request.clone();
        let mut cancel = Request {
            method: Method::Cancel,
            uri: invite.uri.clone(),
            headers: Default::default(),
            body: Bytes::new(),
        };
        for name in [
            HeaderName::Via,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
        ] {
            if let Some(value) = invite.headers.get(&name) {
                cancel.headers.push(name, value.clone());
            }
        }
        cancel.headers.push(HeaderName::MaxForwards, "70");
        let seq = invite.cseq().map(|c| c.seq).unwrap_or(1);
        cancel.headers.push_typed(&CSeq::new(seq, Method::Cancel));
        for route in invite.headers.get_all(&HeaderName::Route) {
            cancel.headers.push(HeaderName::Route, route.clone());
        }
        let proxy = self.config.proxy;
        self.send(now, handle, Purpose::Cancel, cancel, proxy);
    }

    pub(super) fn on_invite_response(
        &mut self,
        now: Instant,
        handle: CallHandle,
        tx: ClientTransactionId,
        response: Response,
    ) {
        let status = response.status;
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let current = call.uac.as_ref().is_some_and(|u| u.tx == tx);
        match status {
            100 => {}
            101..=199 => {
                if !current {
                    return;
                }
                if let Some(uac) = &mut call.uac {
                    uac.provisional = true;
                }
                let has_tag = response.to().is_ok_and(|t| t.0.tag().is_some());
                if has_tag && call.phase != Phase::Ending {
                    call.dialog.learn_from_response(&response);
                    call.phase = Phase::Early;
                }
                self.prack_if_reliable(now, handle, &response);
                let wants_cancel = self.calls[&handle]
                    .uac
                    .as_ref()
                    .is_some_and(|u| u.cancel_wanted && !u.cancel_sent);
                if wants_cancel {
                    self.cancel(now, handle);
                } else if self.calls[&handle].phase != Phase::Ending {
                    let sdp = sdp_of(&response.headers, &response.body);
                    self.emit(CallEvent::Progress {
                        call: handle,
                        status,
                        sdp,
                    });
                }
            }
            200..=299 => self.on_invite_2xx(now, handle, response),
            _ => {
                self.client_txs.remove(&tx);
                if !current {
                    return;
                }
                self.on_invite_failure(now, handle, tx, response);
            }
        }
    }

    fn on_invite_2xx(&mut self, now: Instant, handle: CallHandle, response: Response) {
        let cseq = response.cseq().map(|c| c.seq).unwrap_or(1);
        let ctx = self.local_context();
        let proxy = self.config.proxy;
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        // A retransmitted 2xx: send the same ACK again (§13.2.2.4).
        let remote_tag = response
            .to()
            .ok()
            .and_then(|t| t.0.tag().map(str::to_owned));
        if let Some((acked, ack, dest)) = &call.last_ack {
            if *acked == cseq && remote_tag == call.dialog.remote_tag {
                let (dest, ack) = (*dest, ack.clone());
                self.transmit(dest, ack);
                return;
            }
            // A 2xx from another fork: acknowledge it and hang it up (§13.2.2.4).
            let mut other = call.dialog.clone();
            other.learn_from_response(&response);
            self.ack_and_bye_fork(now, other, cseq);
            return;
        }
        call.dialog.learn_from_response(&response);
        let mut ack = call.dialog.request_with_cseq(Method::Ack, cseq, &ctx);
        set_via(&mut ack, via_with_branch(&ctx, &new_branch(&mut self.rng)));
        if let Some(uac) = &call.uac {
            copy_credentials(&uac.request, &mut ack);
        }
        let dest = call.dialog.next_hop(proxy);
        call.last_ack = Some((cseq, ack.clone(), dest));
        self.transmit(dest, ack);

        let call = self
            .calls
            .get_mut(&handle)
            .expect("the call was found above");
        if call.phase == Phase::Ending {
            // We hung up (CANCEL) but the far end answered first: end it properly.
            call.phase = Phase::Established;
            self.send_in_dialog(now, handle, Purpose::Bye, Method::Bye, |_| {});
            if let Some(call) = self.calls.get_mut(&handle) {
                call.phase = Phase::Ending;
            }
            return;
        }
        call.phase = Phase::Established;
        call.peer_allows_update = allows(&response, "UPDATE");
        if let Some(timer) = session_timer::from_uac_response(&response) {
            call.session_timer = Some(timer);
            call.session_deadline = Some(timer.deadline(now));
        }
        let sdp = sdp_of(&response.headers, &response.body);
        self.emit(CallEvent::Answered { call: handle, sdp });
    }

    fn ack_and_bye_fork(&mut self, now: Instant, mut fork: Dialog, cseq: u32) {
        let ctx = self.local_context();
        let proxy = self.config.proxy;
        let mut ack = fork.request_with_cseq(Method::Ack, cseq, &ctx);
        set_via(&mut ack, via_with_branch(&ctx, &new_branch(&mut self.rng)));
        let dest = fork.next_hop(proxy);
        self.transmit(dest, ack);
        let bye = fork.request(Method::Bye, &ctx);
        if let Err(error) = self.endpoint.send_request(now, bye, dest) {
            debug!(%error, "could not hang up a forked answer");
        }
    }

    fn on_invite_failure(
        &mut self,
        now: Instant,
        handle: CallHandle,
        tx: ClientTransactionId,
        response: Response,
    ) {
        let status = response.status;
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        if call.phase == Phase::Ending {
            self.calls.remove(&handle);
            return;
        }
        // Answer a challenge, or a 422 asking for a longer session interval, with a new INVITE.
        let new_tx = match status {
            401 | 407 => self.resend_authorized(now, handle, Purpose::Invite, tx, &response),
            422 => self.resend_longer_session(now, handle, tx, &response),
            _ => None,
        };
        if let Some(new_tx) = new_tx {
            // The layer's copy carries the branch a CANCEL must repeat.
            let request = self.endpoint.transactions().client_request(new_tx).cloned();
            if let Some(uac) = self.calls.get_mut(&handle).and_then(|c| c.uac.as_mut()) {
                uac.tx = new_tx;
                if let Some(request) = request {
                    uac.request = request;
                }
                uac.provisional = false;
            }
            return;
        }
        let phrase = response.reason.to_string();
        self.end_call(handle, EndReason::from_status(status, &phrase), false);
    }

    /// Sends the INVITE again with the session interval a 422 asked for (RFC 4028 §7.4).
    fn resend_longer_session(
        &mut self,
        now: Instant,
        handle: CallHandle,
        tx: ClientTransactionId,
        response: &Response,
    ) -> Option<ClientTransactionId> {
        let min_se = session_timer::min_se_of(response)?;
        let sent = self.sent.remove(&tx)?;
        if sent.retries >= MAX_RETRIES {
            return None;
        }
        let mut request = sent.request;
        request
            .headers
            .set_typed(&SessionExpires::new(min_se, None));
        request.headers.set(HeaderName::MinSe, min_se.to_string());
        self.resend(now, handle, Purpose::Invite, request, sent.retries + 1)
    }

    /// Sends PRACK for a reliable provisional response (RFC 3262 §4), once per RSeq.
    fn prack_if_reliable(&mut self, now: Instant, handle: CallHandle, response: &Response) {
        if !session_timer::requires(&response.headers, "100rel") {
            return;
        }
        let Some(rseq) = response.headers.typed::<RSeq>().ok().flatten() else {
            return;
        };
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let Some(uac) = call.uac.as_mut() else {
            return;
        };
        if uac.acked_rseq.is_some_and(|last| rseq.0 <= last) {
            return; // a retransmission, already acknowledged
        }
        uac.acked_rseq = Some(rseq.0);
        let cseq = response.cseq().map(|c| c.seq).unwrap_or(1);
        let rack = RAck {
            rseq: rseq.0,
            cseq,
            method: Method::Invite,
        };
        self.send_in_dialog(now, handle, Purpose::Prack, Method::Prack, |r| {
            r.headers.push_typed(&rack);
        });
    }

    pub(super) fn transmit(&mut self, dest: crate::net::Peer, request: Request) {
        self.transmits.push_back(crate::net::Transmit {
            dest,
            bytes: request.to_bytes(),
        });
    }

    /// A response to our re-INVITE.
    pub(super) fn on_reinvite_response(
        &mut self,
        now: Instant,
        handle: CallHandle,
        tx: ClientTransactionId,
        response: Response,
    ) {
        let status = response.status;
        if status < 200 {
            return;
        }
        self.client_txs.remove(&tx);
        let cseq = response.cseq().map(|c| c.seq).unwrap_or(0);
        let ctx = self.local_context();
        let proxy = self.config.proxy;
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        if (200..300).contains(&status) {
            call.dialog.refresh_target(&response.headers);
            let mut ack = call.dialog.request_with_cseq(Method::Ack, cseq, &ctx);
            set_via(&mut ack, via_with_branch(&ctx, &new_branch(&mut self.rng)));
            if let Some(sent) = self.sent.get(&tx) {
                copy_credentials(&sent.request, &mut ack);
            }
            let dest = call.dialog.next_hop(proxy);
            call.last_ack = Some((cseq, ack.clone(), dest));
            self.transmit(dest, ack);
            let call = self.calls.get_mut(&handle).expect("found above");
            let was_ours = call.reoffer_out == Some(tx);
            call.reoffer_out = None;
            if let Some(timer) = session_timer::from_uac_response(&response) {
                call.session_timer = Some(timer);
                call.session_deadline = Some(timer.deadline(now));
            } else if let Some(timer) = call.session_timer {
                call.session_deadline = Some(timer.deadline(now));
            }
            if was_ours && call.phase != Phase::Ending {
                let sdp = sdp_of(&response.headers, &response.body);
                self.emit(CallEvent::ReofferAccepted { call: handle, sdp });
            }
            return;
        }
        if matches!(status, 401 | 407) {
            if let Some(new_tx) =
                self.resend_authorized(now, handle, Purpose::Reinvite, tx, &response)
            {
                if let Some(call) = self.calls.get_mut(&handle) {
                    if call.reoffer_out == Some(tx) {
                        call.reoffer_out = Some(new_tx);
                    }
                }
                return;
            }
        }
        let ours = self
            .calls
            .get(&handle)
            .is_some_and(|c| c.reoffer_out == Some(tx));
        if status == 491 && ours && self.schedule_reoffer_retry(now, handle) {
            return;
        }
        // §12.2.1.2: 481 or 408 means the dialog is gone.
        let lost = matches!(status, 481 | 408).then_some("the far end lost the call");
        self.reoffer_failed(now, handle, status, lost);
    }
}

/// The ACK of a 2xx carries the INVITE's credentials, for proxies that check them (§22.1).
fn copy_credentials(invite: &Request, ack: &mut Request) {
    for name in [HeaderName::Authorization, HeaderName::ProxyAuthorization] {
        for value in invite.headers.get_all(&name) {
            ack.headers.push(name.clone(), value.clone());
        }
    }
}

pub(super) fn allows(response: &Response, method: &str) -> bool {
    response
        .headers
        .get_all(&HeaderName::Allow)
        .any(|v| v.split(',').any(|m| m.trim().eq_ignore_ascii_case(method)))
}
