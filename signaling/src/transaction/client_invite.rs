//! The INVITE client transaction (RFC 3261 §17.1.1, Figure 5; RFC 6026 §7.2 Accepted).
//!
//! Calling --1xx--> Proceeding --2xx--> Accepted --Timer M--> Terminated
//! Calling/Proceeding --300-699--> Completed (ACK sent; re-sent per retransmitted final)
//! --Timer D--> Terminated. Timer A retransmits the INVITE on unreliable transports,
//! doubling without a cap; Timer B (64*T1) gives up while still Calling.

use super::build::{ack_for_non_2xx, encode_request};
use super::machine::{pass_up, Machine, Phase};
use super::timer::{Timer, TimerConfig};
use super::{ClientTransactionId, Output, TransactionId};
use crate::message::{Request, Response, SipStr};
use crate::net::Peer;
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

impl Phase for State {
    const TERMINATED: Self = State::Terminated;
    fn tu_waits(self) -> bool {
        matches!(self, State::Calling | State::Proceeding)
    }
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
    pub core: Machine<State>,
    top_via: SipStr,
    cseq: u32,
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
        let mut core = Machine::new(State::Calling, request, dest, config);
        core.send(encoded, out);
        core.start_retransmissions(Timer::A, now);
        core.timers.set(Timer::B, now + config.timeout());
        InviteClient {
            id,
            core,
            top_via,
            cseq,
            ack: None,
        }
    }

    pub fn on_response(&mut self, now: Instant, response: Response, out: &mut Output) {
        let core = &mut self.core;
        match (core.state, response.status) {
            (State::Calling | State::Proceeding, 100..=199) => {
                // A provisional response means the request arrived: no more retransmissions,
                // and no timeout either (the TU cancels an INVITE that rings too long).
                core.timers.stop(Timer::A);
                core.timers.stop(Timer::B);
                core.state = State::Proceeding;
                pass_up(self.id, response, out);
            }
            (State::Calling | State::Proceeding, 200..=299) => {
                core.timers.stop_all();
                core.timers.set(Timer::M, now + core.config.timeout());
                core.state = State::Accepted;
                pass_up(self.id, response, out);
            }
            (State::Calling | State::Proceeding, _) => {
                core.timers.stop_all();
                let ack = ack_for_non_2xx(&core.request, &self.top_via, self.cseq, &response);
                let bytes = encode_request(&ack);
                core.send_once(bytes.clone(), out);
                self.ack = Some(bytes);
                pass_up(self.id, response, out);
                // Timer D: at least 32 s (RFC 3261 Table 4), or 64*T1 when T1 was raised.
                let wait = Duration::from_secs(32).max(core.config.timeout());
                core.linger(State::Completed, Timer::D, wait, now);
            }
            // RFC 6026: further 2xx (retransmissions or other forks) go to the TU, which
            // acknowledges each one; anything else is late noise.
            (State::Accepted, 200..=299) => pass_up(self.id, response, out),
            (State::Completed, 300..=699) => {
                if let Some(ack) = &self.ack {
                    core.send_once(ack.clone(), out);
                }
            }
            _ => {}
        }
    }

    pub fn handle_timeout(&mut self, now: Instant, out: &mut Output) {
        let core = &mut self.core;
        while let Some(timer) = core.timers.pop_expired(now) {
            match timer {
                Timer::A if core.state == State::Calling => {
                    core.retransmit(Timer::A, now, core.interval * 2, out);
                }
                Timer::B if core.state == State::Calling => {
                    core.time_out(TransactionId::Client(self.id), out);
                }
                Timer::D | Timer::M => core.terminate(),
                _ => {}
            }
        }
    }

    pub fn on_transport_error(&mut self, out: &mut Output) {
        self.core
            .on_transport_error(TransactionId::Client(self.id), out);
    }
}
