//! Sending a request again: with credentials after a 401/407 (RFC 3261 §22.2, §22.3), or
//! changed after a 422. One path for the initial INVITE, re-INVITEs and every other
//! in-dialog request, so each gets the same CSeq, Via and next-hop handling and the same
//! bound on attempts.

use super::ua::{Purpose, UserAgent};
use super::CallHandle;
use crate::auth::AuthError;
use crate::message::typed::CSeq;
use crate::message::{HeaderName, Request, Response, SipStr};
use crate::transaction::ClientTransactionId;
use std::time::Instant;
use tracing::{debug, warn};

/// How many times one request is sent again (new credentials, a stale nonce, a longer
/// session interval) before its failure is final: enough for a challenge followed by a
/// stale nonce, few enough that a far end that keeps challenging cannot make us loop.
pub(super) const MAX_RETRIES: u8 = 2;

/// A request we sent, kept until its final response: over TCP the transaction layer forgets
/// it as soon as that response arrives, and a retry needs it.
#[derive(Debug, Clone)]
pub(super) struct Sent {
    pub request: Request,
    /// How many retries preceded this request.
    pub retries: u8,
}

impl UserAgent {
    /// Answers the 401/407 `challenge` to client transaction `tx` by sending its request
    /// again with credentials. Returns the new transaction, or None when the challenge must
    /// stand as the request's failure: the far end rejected the credentials we gave (wrong
    /// password), it cannot be answered, or the request was retried too often already.
    pub(super) fn resend_authorized(
        &mut self,
        now: Instant,
        handle: CallHandle,
        purpose: Purpose,
        tx: ClientTransactionId,
        challenge: &Response,
    ) -> Option<ClientTransactionId> {
        let sent = self.sent.remove(&tx)?;
        let method = sent.request.method.clone();
        if sent.retries >= MAX_RETRIES {
            warn!(call = %handle, %method, status = challenge.status, "challenged again after {} retries; giving up", sent.retries);
            return None;
        }
        let mut request = sent.request;
        match self.auth.authorize(&mut request, challenge) {
            Ok(()) => {}
            Err(error @ AuthError::Rejected { .. }) => {
                warn!(call = %handle, %method, %error, "the far end refused our credentials");
                return None;
            }
            Err(error) => {
                debug!(call = %handle, %method, %error, "cannot answer the challenge");
                return None;
            }
        }
        self.resend(now, handle, purpose, request, sent.retries + 1)
    }

    /// Sends `request` (a changed copy of one we sent for `handle`) as a new transaction:
    /// the next CSeq of the dialog, a fresh Via (the layer adds a new branch), to the
    /// proxy when it is the initial INVITE, else to the dialog's next hop.
    pub(super) fn resend(
        &mut self,
        now: Instant,
        handle: CallHandle,
        purpose: Purpose,
        mut request: Request,
        retries: u8,
    ) -> Option<ClientTransactionId> {
        let ctx = self.local_context();
        let proxy = self.config.proxy;
        let call = self.calls.get_mut(&handle)?;
        call.dialog.local_cseq += 1;
        let method = request.method.clone();
        request
            .headers
            .set_typed(&CSeq::new(call.dialog.local_cseq, method));
        request
            .headers
            .set(HeaderName::Via, SipStr::from(ctx.via()));
        let dest = if purpose == Purpose::Invite {
            proxy
        } else {
            call.dialog.next_hop(proxy)
        };
        let tx = self.send(now, handle, purpose, request, dest)?;
        if let Some(sent) = self.sent.get_mut(&tx) {
            sent.retries = retries;
        }
        Some(tx)
    }
}
