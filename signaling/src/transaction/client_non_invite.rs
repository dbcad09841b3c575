//! The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6).
//!
//! Trying --1xx--> Proceeding; Trying/Proceeding --200-699--> Completed --Timer K-->
//! Terminated. Timer E retransmits on unreliable transports: T1, doubling up to T2 while
//! Trying, every T2 once Proceeding. Timer F (64*T1) gives up.

use super::build::encode_request;
use super::timer::{Timer, TimerConfig, TimerTable};
use super::{ClientTransactionId, Output, TransactionEvent, TransactionId};
use crate::message::{Request, Response};
use crate::net::{Peer, Transmit};
use bytes::Bytes;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

#[derive(Debug)]
pub(crate) struct NonInviteClient {
    pub id: ClientTransactionId,
    pub dest: Peer,
    pub state: State,
    request: Request,
    encoded: Bytes,
    config: TimerConfig,
    timers: TimerTable,
    /// The current Timer E interval.
    interval: Duration,
}

impl NonInviteClient {
    /// Sends the request and starts Timers E (unreliable only) and F.
    pub fn start(
        id: ClientTransactionId,
        request: Request,
        dest: Peer,
        config: TimerConfig,
        now: Instant,
        out: &mut Output,
    ) -> Self {
        let encoded = encode_request(&request);
        out.transmits.push_back(Transmit {
            dest,
            bytes: encoded.clone(),
        });
        let mut timers = TimerTable::default();
        if !dest.transport.is_reliable() {
            timers.set(Timer::E, now + config.t1);
        }
        timers.set(Timer::F, now + config.timeout());
        NonInviteClient {
            id,
            dest,
            state: State::Trying,
            request,
            encoded,
            config,
            timers,
            interval: config.t1,
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

    pub fn on_response(&mut self, now: Instant, response: Response, out: &mut Output) {
        match (self.state, response.status) {
            (State::Trying | State::Proceeding, 100..=199) => {
                self.state = State::Proceeding;
                self.pass_up(response, out);
            }
            (State::Trying | State::Proceeding, _) => {
                self.timers.stop_all();
                self.pass_up(response, out);
                if self.dest.transport.is_reliable() {
                    // Timer K is zero on reliable transports.
                    self.state = State::Terminated;
                } else {
                    self.timers.set(Timer::K, now + self.config.t4);
                    self.state = State::Completed;
                }
            }
            // Completed: retransmitted finals are absorbed.
            _ => {}
        }
    }

    fn pass_up(&self, response: Response, out: &mut Output) {
        out.events.push_back(TransactionEvent::Response {
            id: self.id,
            response,
        });
    }

    pub fn handle_timeout(&mut self, now: Instant, out: &mut Output) {
        while let Some(timer) = self.timers.pop_expired(now) {
            match (timer, self.state) {
                (Timer::E, State::Trying | State::Proceeding) => {
                    out.transmits.push_back(Transmit {
                        dest: self.dest,
                        bytes: self.encoded.clone(),
                    });
                    self.interval = if self.state == State::Proceeding {
                        self.config.t2
                    } else {
                        (self.interval * 2).min(self.config.t2)
                    };
                    self.timers.set(Timer::E, now + self.interval);
                }
                (Timer::F, State::Trying | State::Proceeding) => {
                    self.terminate();
                    out.events.push_back(TransactionEvent::Timeout {
                        id: TransactionId::Client(self.id),
                    });
                }
                (Timer::K, _) => self.terminate(),
                _ => {}
            }
        }
    }

    /// The hop failed. The TU hears of it only while it still waits for a final response.
    pub fn on_transport_error(&mut self, out: &mut Output) {
        if matches!(self.state, State::Trying | State::Proceeding) {
            out.events.push_back(TransactionEvent::TransportError {
                id: TransactionId::Client(self.id),
            });
        }
        self.terminate();
    }

    fn terminate(&mut self) {
        self.timers.stop_all();
        self.state = State::Terminated;
    }
}
