//! Inbound calls (UAS): checking an INVITE, ringing (reliably when the caller requires
//! 100rel), answering with a 2xx retransmitted until its ACK, declining, and CANCEL.

use super::body::{refuse_non_sdp, sdp_of};
use super::dialog::Dialog;
use super::reason::{EndKind, EndReason};
use super::session_timer::{self, UasTimer};
use super::ua::{
    Call, Pending2xx, PendingReliable, Phase, Resend, UasInvite, UserAgent, ALLOW, SUPPORTED,
};
use super::{CallDirection, CallError, CallEvent, CallHandle};
use crate::message::typed::{CSeq, RSeq, Replaces};
use crate::message::{HeaderName, Method, Request, Response};
use crate::net::Peer;
use crate::transaction::{response_to, ServerTransactionId};
use bytes::Bytes;
use std::time::Instant;
use tracing::debug;

impl UserAgent {
    pub(super) fn on_new_invite(
        &mut self,
        now: Instant,
        tx: ServerTransactionId,
        request: Request,
        _source: Peer,
    ) {
        let tag = self.new_tag();
        // The same INVITE by another path (a forking proxy): 482, not a second call (§8.2.2.2).
        if self.is_merged(&request) {
            self.reply(now, tx, &request, 482, "Loop Detected", Some(&tag));
            return;
        }
        // A Require we lack was answered 420 by the endpoint (§8.2.2.3).
        if let Some(response) = refuse_non_sdp(&request, &tag) {
            self.respond(now, tx, response);
            return;
        }
        let timer = session_timer::negotiate_uas(&request, &self.config.settings);
        if let UasTimer::TooSmall(min_se) = timer {
            let mut response = response_to(&request, 422, "Session Interval Too Small", Some(&tag));
            response.headers.push(HeaderName::MinSe, min_se.to_string());
            self.respond(now, tx, response);
            return;
        }
        let replaces = match request.headers.typed::<Replaces>() {
            Ok(None) => None,
            Ok(Some(r)) => match self.find_replaced(&r) {
                Some(handle) => Some(handle),
                None => {
                    self.reply(
                        now,
                        tx,
                        &request,
                        481,
                        "Call/Transaction Does Not Exist",
                        Some(&tag),
                    );
                    return;
                }
            },
            Err(_) => {
                self.reply(now, tx, &request, 400, "Bad Replaces", Some(&tag));
                return;
            }
        };
        let Some(dialog) = Dialog::uas(&request, tag) else {
            self.reply(now, tx, &request, 400, "Bad Request", None);
            return;
        };
        let handle = self.new_handle();
        let from = dialog.remote.clone();
        let to = dialog.local.clone();
        let mut call = Call::new(handle, CallDirection::Inbound, Phase::Early, dialog);
        call.peer_allows_update = request.headers.get_all(&HeaderName::Allow).any(|v| {
            v.split(',')
                .any(|m| m.trim().eq_ignore_ascii_case("UPDATE"))
        });
        call.uas = Some(UasInvite {
            tx,
            reliable: session_timer::requires(&request.headers, "100rel"),
            request: request.clone(),
            next_rseq: 1,
            pending_reliable: None,
            session_timer: timer,
        });
        self.calls.insert(handle, call);
        let offer = sdp_of(&request.headers, &request.body);
        self.emit(CallEvent::Incoming {
            call: handle,
            from,
            to,
            offer,
            replaces,
        });
        self.send_provisional(now, handle, 180, "Ringing");
    }

    /// Whether a tagless INVITE has the From tag, Call-ID and CSeq of an INVITE we are still
    /// serving (as a new server transaction, so another branch: it reached us twice).
    fn is_merged(&self, request: &Request) -> bool {
        let key = |r: &Request| {
            let call_id = r.call_id().ok().map(|c| c.as_str().to_owned());
            let from_tag = r.from().ok().and_then(|f| f.0.tag().map(str::to_owned));
            let cseq = r.cseq().ok().map(|c| c.seq);
            (call_id, from_tag, cseq)
        };
        let theirs = key(request);
        if theirs.0.is_none() || theirs.1.is_none() {
            return false;
        }
        self.calls
            .values()
            .filter_map(|c| c.uas.as_ref())
            .any(|uas| key(&uas.request) == theirs)
    }

    /// The call an incoming Replaces names (RFC 3891 §3: its to-tag is our local tag).
    fn find_replaced(&self, replaces: &Replaces) -> Option<CallHandle> {
        self.calls
            .values()
            .filter(|c| c.phase != Phase::Ending)
            .find(|c| {
                c.dialog.call_id == replaces.call_id.as_ref()
                    && c.dialog.local_tag == replaces.to_tag.as_ref()
                    && c.dialog.remote_tag.as_deref() == Some(replaces.from_tag.as_ref())
                    && !(replaces.early_only && c.phase == Phase::Established)
            })
            .map(|c| c.handle)
    }

    /// A 1xx on the call's INVITE (reliable when the caller requires it).
    fn send_provisional(&mut self, now: Instant, handle: CallHandle, status: u16, reason: &str) {
        let ctx = self.local_context();
        let t1 = self.endpoint.transactions().timer_config().t1;
        let Some(call) = self.calls.get_mut(&handle) else {
            return;
        };
        let local_tag = call.dialog.local_tag.clone();
        let contact = ctx.contact_in(&call.dialog).to_owned();
        let Some(uas) = call.uas.as_mut() else {
            return;
        };
        let mut response = response_to(&uas.request, status, reason, Some(&local_tag));
        response.headers.push(HeaderName::Contact, contact);
        response.headers.push(HeaderName::Allow, ALLOW);
        if uas.reliable {
            let rseq = uas.next_rseq;
            uas.next_rseq += 1;
            response.headers.push(HeaderName::Require, "100rel");
            response.headers.push_typed(&RSeq(rseq));
            uas.pending_reliable = Some(PendingReliable {
                response: response.clone(),
                rseq,
                resend: Resend::start(now, t1),
            });
        }
        let tx = uas.tx;
        self.respond(now, tx, response);
    }

    /// Answers an inbound call with our SDP (an answer to the caller's offer, or our offer when
    /// the INVITE had none).
    pub fn answer(
        &mut self,
        now: Instant,
        handle: CallHandle,
        sdp: Bytes,
    ) -> Result<(), CallError> {
        let ctx = self.local_context();
        let t1 = self.endpoint.transactions().timer_config().t1;
        let call = self.visible_call(handle)?;
        if call.phase != Phase::Early || call.direction != CallDirection::Inbound {
            return Err(CallError::InvalidState {
                state: call.phase.name(),
            });
        }
        let Some(uas) = call.uas.as_mut() else {
            return Err(CallError::InvalidState { state: "unknown" });
        };
        uas.pending_reliable = None;
        let local_tag = call.dialog.local_tag.clone();
        let ok = ok_with_sdp(
            &uas.request,
            &local_tag,
            ctx.contact_in(&call.dialog),
            &uas.session_timer,
            sdp.clone(),
        );
        if let UasTimer::Use(timer, ..) = &uas.session_timer {
            call.session_timer = Some(*timer);
            call.session_deadline = Some(timer.deadline(now));
        }
        let offer_in_2xx = uas.request.body.is_empty();
        let tx = uas.tx;
        let cseq = uas.request.cseq().map(|c| c.seq).unwrap_or(1);
        call.local_sdp = Some(sdp);
        call.phase = Phase::Answering;
        call.pending_2xx = Some(Pending2xx {
            tx,
            response: ok.clone(),
            cseq,
            resend: Resend::start(now, t1),
            offer_in_2xx,
        });
        self.respond(now, tx, ok);
        self.pump(now);
        Ok(())
    }

    /// Declines an inbound call that is still ringing (486 Busy Here, 603 Decline, ...).
    pub fn reject(
        &mut self,
        now: Instant,
        handle: CallHandle,
        status: u16,
    ) -> Result<(), CallError> {
        self.reject_because(now, handle, status, None)
    }

    /// [`reject`](Self::reject) saying why: `warning` goes into a `Warning: 399` header for
    /// the caller (e.g. what was wrong with its SDP for a 488) and is the call's end reason
    /// here.
    pub fn reject_because(
        &mut self,
        now: Instant,
        handle: CallHandle,
        status: u16,
        warning: Option<&str>,
    ) -> Result<(), CallError> {
        let call = self.visible_call(handle)?;
        if call.phase != Phase::Early || call.direction != CallDirection::Inbound {
            return Err(CallError::InvalidState {
                state: call.phase.name(),
            });
        }
        let status = if (300..700).contains(&status) {
            status
        } else {
            603
        };
        let reason = match status {
            486 => "Busy Here",
            480 => "Temporarily Unavailable",
            488 => "Not Acceptable Here",
            600 => "Busy Everywhere",
            _ => "Decline",
        };
        let local_tag = call.dialog.local_tag.clone();
        if let Some(uas) = call.uas.take() {
            let mut response = response_to(&uas.request, status, reason, Some(&local_tag));
            if let Some(w) = warning {
                response.headers.push(
                    HeaderName::Warning,
                    format!("399 softphone \"{}\"", w.replace(['"', '\r', '\n'], "'")),
                );
            }
            self.respond(now, uas.tx, response);
        }
        let end = match warning {
            Some(w) if status == 488 => EndReason::new(EndKind::Incompatible, Some(status), w),
            _ => EndReason::new(
                EndKind::Rejected,
                Some(status),
                "the call was declined here",
            ),
        };
        self.end_call(handle, end, false);
        self.pump(now);
        Ok(())
    }

    /// Sends a still-ringing inbound call elsewhere: `302 Moved Temporarily` with `target` as
    /// the Contact (RFC 3261 §8.3: the caller's side retries there).
    pub fn redirect(
        &mut self,
        now: Instant,
        handle: CallHandle,
        target: &crate::Uri,
    ) -> Result<(), CallError> {
        let call = self.visible_call(handle)?;
        if call.phase != Phase::Early || call.direction != CallDirection::Inbound {
            return Err(CallError::InvalidState {
                state: call.phase.name(),
            });
        }
        let local_tag = call.dialog.local_tag.clone();
        if let Some(uas) = call.uas.take() {
            let mut response =
                response_to(&uas.request, 302, "Moved Temporarily", Some(&local_tag));
            response
                .headers
                .push(HeaderName::Contact, format!("<{target}>"));
            self.respond(now, uas.tx, response);
        }
        self.end_call(
            handle,
            EndReason::new(
                EndKind::Transferred,
                Some(302),
                format!("the call was forwarded to {target}"),
            ),
            false,
        );
        self.pump(now);
        Ok(())
    }

    /// A CANCEL for an inbound call (§9.2): 200 to the CANCEL, 487 to the INVITE.
    pub(super) fn on_cancel(
        &mut self,
        now: Instant,
        invite: ServerTransactionId,
        cancel: ServerTransactionId,
        request: Request,
    ) {
        let handle = self
            .calls
            .values()
            .find(|c| c.uas.as_ref().is_some_and(|u| u.tx == invite))
            .map(|c| (c.handle, c.phase, c.dialog.local_tag.clone()));
        let tag = handle
            .as_ref()
            .map(|h| h.2.clone())
            .unwrap_or_else(|| self.new_tag());
        let ok = response_to(&request, 200, "OK", Some(&tag));
        self.respond(now, cancel, ok);
        let Some((handle, phase, tag)) = handle else {
            return;
        };
        if phase != Phase::Early {
            return; // already answered: the CANCEL changes nothing
        }
        if let Some(uas) = self.calls.get_mut(&handle).and_then(|c| c.uas.take()) {
            let terminated = response_to(&uas.request, 487, "Request Terminated", Some(&tag));
            self.respond(now, invite, terminated);
        }
        debug!(call = %handle, "caller cancelled");
        self.end_call(
            handle,
            EndReason::new(
                EndKind::Missed,
                None,
                "the caller hung up before the call was answered",
            ),
            false,
        );
    }

    /// A PRACK for our reliable provisional response (RFC 3262 §3): 200 when its RAck names
    /// the one we are retransmitting (RSeq, the INVITE's CSeq number and method), else 481.
    pub(super) fn on_prack(
        &mut self,
        now: Instant,
        handle: CallHandle,
        tx: ServerTransactionId,
        request: Request,
    ) {
        let rack = request
            .headers
            .typed::<crate::message::typed::RAck>()
            .ok()
            .flatten();
        let local_tag = self.calls.get(&handle).map(|c| c.dialog.local_tag.clone());
        let matched = self
            .calls
            .get_mut(&handle)
            .and_then(|c| c.uas.as_mut())
            .and_then(|u| {
                let rack = rack.as_ref()?;
                let pending = u.pending_reliable.as_ref()?;
                let invite_cseq = u.request.headers.typed::<CSeq>().ok().flatten()?;
                let names_it = rack.rseq == pending.rseq
                    && rack.cseq == invite_cseq.seq
                    && rack.method == Method::Invite;
                names_it.then(|| u.pending_reliable.take())
            })
            .is_some();
        let (status, reason) = if matched {
            (200, "OK")
        } else {
            (481, "Call/Transaction Does Not Exist")
        };
        self.reply(now, tx, &request, status, reason, local_tag.as_deref());
    }
}

/// Our 2xx with SDP to an INVITE or re-INVITE: the dialog's headers, what we allow and
/// support, the session timer when one was agreed, and the SDP.
pub(super) fn ok_with_sdp(
    request: &Request,
    local_tag: &str,
    contact: &str,
    timer: &UasTimer,
    sdp: Bytes,
) -> Response {
    let mut ok = response_to(request, 200, "OK", Some(local_tag));
    copy_record_route(request, &mut ok);
    ok.headers.push(HeaderName::Contact, contact);
    ok.headers.push(HeaderName::Allow, ALLOW);
    ok.headers.push(HeaderName::Supported, SUPPORTED);
    if let UasTimer::Use(_, se, require) = timer {
        ok.headers.push_typed(se);
        if *require {
            ok.headers.push(HeaderName::Require, "timer");
        }
    }
    ok.headers.push(HeaderName::ContentType, "application/sdp");
    ok.body = sdp;
    ok
}

/// A dialog-establishing response carries the request's Record-Route, in order (§12.1.1),
/// so the caller routes its ACK and later requests through the same proxies.
pub(super) fn copy_record_route(request: &Request, response: &mut Response) {
    for value in request.headers.get_all(&HeaderName::RecordRoute) {
        response
            .headers
            .push(HeaderName::RecordRoute, value.clone());
    }
}
