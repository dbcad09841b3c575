//! The INVITE server transaction (RFC 3261 §17.2.1, Figure 7; RFC 6026 §7.1 Accepted).
//!
//! Proceeding --2xx from TU--> Accepted --Timer L--> Terminated
//! Proceeding --300-699 from TU--> Completed --ACK--> Confirmed --Timer I--> Terminated;
//! Completed --Timer H--> Terminated (no ACK: the TU is told). Timer G retransmits the final
//! response on unreliable transports, T1 doubling up to T2. If the TU has said nothing
//! within 200 ms, the transaction sends 100 Trying itself (the `Trying` timer).

use super::build::{encode_response, response_to};
use super::layer::RespondError;
use super::timer::{Timer, TimerConfig, TimerTable};
use super::{Output, ServerTransactionId, TransactionEvent, TransactionId};
use crate::message::{Request, Response};
use crate::net::{Peer, Transmit};
use bytes::Bytes;
use std::time::{Duration, Instant};

/// How long the TU may stay silent before we send 100 Trying (§17.2.1).
const TRYING_DELAY: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Proceeding,
    Completed,
    Confirmed,
    Accepted,
    Terminated,
}

#[derive(Debug)]
pub(crate) struct InviteServer {
    pub id: ServerTransactionId,
    pub source: Peer,
    pub state: State,
    request: Request,
    config: TimerConfig,
    timers: TimerTable,
    /// The current Timer G interval.
    interval: Duration,
    /// The last response sent, re-sent when the INVITE is retransmitted.
    last_response: Option<Bytes>,
}

impl InviteServer {
    pub fn start(
        id: ServerTransactionId,
        request: Request,
        source: Peer,
        config: TimerConfig,
        now: Instant,
    ) -> Self {
        let mut timers = TimerTable::default();
        timers.set(Timer::Trying, now + TRYING_DELAY);
        InviteServer {
            id,
            source,
            state: State::Proceeding,
            request,
            config,
            timers,
            interval: config.t1,
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
        let status = response.status;
        match (self.state, status) {
            (State::Proceeding, 100..=199) => {
                self.timers.stop(Timer::Trying);
                self.send(response, out);
            }
            (State::Proceeding, 200..=299) => {
                self.timers.stop_all();
                self.send(response, out);
                self.timers.set(Timer::L, now + self.config.timeout());
                self.state = State::Accepted;
            }
            (State::Proceeding, _) => {
                self.timers.stop_all();
                self.send(response, out);
                if !self.source.transport.is_reliable() {
                    self.timers.set(Timer::G, now + self.interval);
                }
                self.timers.set(Timer::H, now + self.config.timeout());
                self.state = State::Completed;
            }
            // RFC 6026: the TU retransmits its 2xx through the Accepted transaction.
            (State::Accepted, 200..=299) => self.send(response, out),
            _ => return Err(RespondError::AlreadyFinal),
        }
        Ok(())
    }

    fn send(&mut self, response: &Response, out: &mut Output) {
        let bytes = encode_response(response);
        out.transmits.push_back(Transmit {
            dest: self.source,
            bytes: bytes.clone(),
        });
        self.last_response = Some(bytes);
    }

    /// The INVITE arrived again: re-send the last provisional or final response.
    /// In Accepted the TU owns 2xx retransmission, so the request is just absorbed.
    pub fn on_retransmission(&mut self, out: &mut Output) {
        if matches!(self.state, State::Proceeding | State::Completed) {
            if let Some(bytes) = &self.last_response {
                out.transmits.push_back(Transmit {
                    dest: self.source,
                    bytes: bytes.clone(),
                });
            }
        }
    }

    /// An ACK with this transaction's branch. Returns whether the TU must see it: only in
    /// Accepted (RFC 6026 §8.7), where it can only be the ACK for our 2xx.
    pub fn on_ack(&mut self, now: Instant) -> bool {
        match self.state {
            State::Completed => {
                self.timers.stop_all();
                if self.source.transport.is_reliable() {
                    // Timer I is zero on reliable transports.
                    self.state = State::Terminated;
                } else {
                    self.timers.set(Timer::I, now + self.config.t4);
                    self.state = State::Confirmed;
                }
                false
            }
            State::Accepted => true,
            _ => false,
        }
    }

    pub fn handle_timeout(&mut self, now: Instant, out: &mut Output) {
        while let Some(timer) = self.timers.pop_expired(now) {
            match (timer, self.state) {
                (Timer::Trying, State::Proceeding) if self.last_response.is_none() => {
                    let trying = response_to(&self.request, 100, "Trying", None);
                    self.send(&trying, out);
                }
                (Timer::G, State::Completed) => {
                    if let Some(bytes) = &self.last_response {
                        out.transmits.push_back(Transmit {
                            dest: self.source,
                            bytes: bytes.clone(),
                        });
                    }
                    self.interval = (self.interval * 2).min(self.config.t2);
                    self.timers.set(Timer::G, now + self.interval);
                }
                (Timer::H, State::Completed) => {
                    self.terminate();
                    out.events.push_back(TransactionEvent::Timeout {
                        id: TransactionId::Server(self.id),
                    });
                }
                (Timer::I, _) | (Timer::L, _) => self.terminate(),
                _ => {}
            }
        }
    }

    pub fn on_transport_error(&mut self, out: &mut Output) {
        if matches!(self.state, State::Proceeding | State::Completed) {
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
