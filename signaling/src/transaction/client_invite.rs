//! The INVITE client transaction (RFC 3261 §17.1.1, Figure 5; RFC 6026 §7.2 Accepted).
//!
//! Calling --1xx--> Proceeding --2xx--> Accepted --Timer M--> Terminated
//! Calling/Proceeding --300-699--> Completed (ACK sent; re-sent per retransmitted final)
//! --Timer D--> Terminated. Timer A retransmits the INVITE on unreliable transports,
//! doubling without a cap; Timer B (64*T1) gives up while still Calling.

use super::build::{ack_for_non_2xx, encode_request};
use super::timer::{Timer, TimerConfig, TimerTable};
use super::{ClientTransactionId, Output, TransactionEvent, TransactionId};
use crate::message::{Request, Response, SipStr};
use crate::net::{Peer, Transmit};
use bytes::Bytes;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Calling,
    Proceeding,
    Completed,
    Accepted,
    Terminated,
}

/// An INVITE ready to start a transaction, with what its ACK will need.
#[derive(Debug)]
pub(crate) struct OutgoingInvite {
    pub request: Request,
    /// The top Via as sent (with its branch), repeated in the ACK.
    pub top_via: SipStr,
    pub cseq: u32,
}

#[derive(Debug)]
pub(crate) struct InviteClient {
    pub id: ClientTransactionId,
    pub dest: Peer,
    pub state: State,
    request: Request,
    encoded: Bytes,
    top_via: SipStr,
    cseq: u32,
    config: TimerConfig,
    timers: TimerTable,
    /// The current Timer A interval.
    interval: Duration,
    /// The ACK for our non-2xx final response, kept to answer its retransmissions.
    ack: Option<Bytes>,
}

impl InviteClient {
    /// Sends the INVITE and starts Timers A (unreliable only) and B.
    pub fn start(
        id: ClientTransactionId,
        invite: OutgoingInvite,
        dest: Peer,
        config: TimerConfig,
        now: Instant,
        out: &mut Output,
    ) -> Self {
        let OutgoingInvite {
            request,
            top_via,
            cseq,
        } = invite;
        let encoded = encode_request(&request);
        out.transmits.push_back(Transmit {
            dest,
            bytes: encoded.clone(),
        });
        let mut timers = TimerTable::default();
        if !dest.transport.is_reliable() {
            timers.set(Timer::A, now + config.t1);
        }
        timers.set(Timer::B, now + config.timeout());
        InviteClient {
            id,
            dest,
            state: State::Calling,
            request,
            encoded,
            top_via,
            cseq,
            config,
            timers,
            interval: config.t1,
            ack: None,
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
        let status = response.status;
        match (self.state, status) {
            (State::Calling | State::Proceeding, 100..=199) => {
                // A provisional response means the request arrived: no more retransmissions,
                // and no timeout either (the TU cancels an INVITE that rings too long).
                self.timers.stop(Timer::A);
                self.timers.stop(Timer::B);
                self.state = State::Proceeding;
                self.pass_up(response, out);
            }
            (State::Calling | State::Proceeding, 200..=299) => {
                self.timers.stop_all();
                self.timers.set(Timer::M, now + self.config.timeout());
                self.state = State::Accepted;
                self.pass_up(response, out);
            }
            (State::Calling | State::Proceeding, _) => {
                self.timers.stop_all();
                let ack = ack_for_non_2xx(&self.request, &self.top_via, self.cseq, &response);
                let bytes = encode_request(&ack);
                out.transmits.push_back(Transmit {
                    dest: self.dest,
                    bytes: bytes.clone(),
                });
                self.ack = Some(bytes);
                self.pass_up(response, out);
                self.complete(now);
            }
            // RFC 6026: further 2xx (retransmissions or other forks) go to the TU, which
            // acknowledges each one; anything else is late noise.
            (State::Accepted, 200..=299) => self.pass_up(response, out),
            (State::Completed, 300..=699) => {
                if let Some(ack) = &self.ack {
                    out.transmits.push_back(Transmit {
                        dest: self.dest,
                        bytes: ack.clone(),
                    });
                }
            }
            _ => {}
        }
    }

    fn complete(&mut self, now: Instant) {
        if self.dest.transport.is_reliable() {
            // Timer D is zero on reliable transports: nothing can be retransmitted to us.
            self.state = State::Terminated;
        } else {
            // Timer D: at least 32 s (RFC 3261 Table 4), or 64*T1 when T1 was raised.
            let wait = Duration::from_secs(32).max(self.config.timeout());
            self.timers.set(Timer::D, now + wait);
            self.state = State::Completed;
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
            match timer {
                Timer::A if self.state == State::Calling => {
                    out.transmits.push_back(Transmit {
                        dest: self.dest,
                        bytes: self.encoded.clone(),
                    });
                    self.interval *= 2;
                    self.timers.set(Timer::A, now + self.interval);
                }
                Timer::B if self.state == State::Calling => {
                    self.terminate();
                    out.events.push_back(TransactionEvent::Timeout {
                        id: TransactionId::Client(self.id),
                    });
                }
                Timer::D | Timer::M => self.terminate(),
                _ => {}
            }
        }
    }

    /// The hop failed. The TU hears of it only while it still waits for a final response.
    pub fn on_transport_error(&mut self, out: &mut Output) {
        if matches!(self.state, State::Calling | State::Proceeding) {
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
