//! The non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8).
//!
//! Trying --1xx from TU--> Proceeding; Trying/Proceeding --final from TU--> Completed
//! --Timer J--> Terminated. A retransmitted request is absorbed while Trying and answered
//! with the last response afterwards.

use super::build::encode_response;
use super::layer::RespondError;
use super::timer::{Timer, TimerConfig, TimerTable};
use super::{Output, ServerTransactionId, TransactionEvent, TransactionId};
use crate::message::{Request, Response};
use crate::net::{Peer, Transmit};
use bytes::Bytes;
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

#[derive(Debug)]
pub(crate) struct NonInviteServer {
    pub id: ServerTransactionId,
    pub source: Peer,
    pub state: State,
    request: Request,
    config: TimerConfig,
    timers: TimerTable,
    last_response: Option<Bytes>,
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
            source,
            state: State::Trying,
            request,
            config,
            timers: TimerTable::default(),
            last_response: None,
        }
    }

    pub fn request(&self) -> &Request {
        &self.request
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    pub fn respond(
        &mut self,
        now: Instant,
        response: &Response,
        out: &mut Output,
    ) -> Result<(), RespondError> {
        if !matches!(self.state, State::Trying | State::Proceeding) {
            return Err(RespondError::AlreadyFinal);
        }
        let bytes = encode_response(response);
        out.transmits.push_back(Transmit {
            dest: self.source,
            bytes: bytes.clone(),
        });
        self.last_response = Some(bytes);
        if response.status < 200 {
            self.state = State::Proceeding;
        } else if self.source.transport.is_reliable() {
            // Timer J is zero on reliable transports.
            self.state = State::Terminated;
        } else {
            self.timers.set(Timer::J, now + self.config.timeout());
            self.state = State::Completed;
        }
        Ok(())
    }

    /// The request arrived again: re-send the last response, if any.
    pub fn on_retransmission(&mut self, out: &mut Output) {
        if let Some(bytes) = &self.last_response {
            out.transmits.push_back(Transmit {
                dest: self.source,
                bytes: bytes.clone(),
            });
        }
    }

    pub fn handle_timeout(&mut self, now: Instant, _out: &mut Output) {
        while let Some(timer) = self.timers.pop_expired(now) {
            if timer == Timer::J {
                self.terminate();
            }
        }
    }

    pub fn on_transport_error(&mut self, out: &mut Output) {
        if matches!(self.state, State::Trying | State::Proceeding) {
            out.events.push_back(TransactionEvent::TransportError {
                id: TransactionId::Server(self.id),
            });
        }
        self.terminate();
    }

    fn terminate(&mut self) {
        self.timers.stop_all();
        self.state = State::Terminated;
    }
}
