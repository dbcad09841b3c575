//! The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8).
//!
//! Trying --1xx from TU--> Proceeding; Trying/Proceeding --final from TU--> Completed
//! --Timer J--> Terminated. A retransmitted request is absorbed while Trying and answered
//! with the last response afterwards.

use super::build::encode_response;
use super::layer::RespondError;
use super::machine::NonInviteState as State;
use super::machine::{Machine, Phase};
use super::timer::{Timer, TimerConfig};
use super::{Output, ServerTransactionId, TransactionId};
use crate::message::{Request, Response};
use crate::net::Peer;
use std::time::Instant;

#[derive(Debug)]
pub(crate) struct NonInviteServer {
    pub id: ServerTransactionId,
    /// `resend` is the last response sent, re-sent when the request is retransmitted.
    pub core: Machine<State>,
}

impl NonInviteServer {
    pub fn start(
        id: ServerTransactionId,
        request: Request,
        source: Peer,
        config: TimerConfig,
    ) -> Self {
        NonInviteServer {
            id,
            core: Machine::new(State::Trying, request, source, config),
        }
    }

    pub fn respond(
        &mut self,
        now: Instant,
        response: &Response,
        out: &mut Output,
    ) -> Result<(), RespondError> {
        let core = &mut self.core;
        if !core.state.tu_waits() {
            return Err(RespondError::AlreadyFinal);
        }
        core.send(encode_response(response), out);
        if response.status < 200 {
            core.state = State::Proceeding;
        } else {
            core.linger(State::Completed, Timer::J, core.config.timeout(), now);
        }
        Ok(())
    }

    /// The request arrived again: re-send the last response, if any.
    pub fn on_retransmission(&mut self, out: &mut Output) {
        self.core.resend(out);
    }

    pub fn handle_timeout(&mut self, now: Instant, _out: &mut Output) {
        while let Some(timer) = self.core.timers.pop_expired(now) {
            if timer == Timer::J {
                self.core.terminate();
            }
        }
    }

    pub fn on_transport_error(&mut self, out: &mut Output) {
        self.core
            .on_transport_error(TransactionId::Server(self.id), out);
    }
}
