//! The INVITE server transaction (RFC 3261 §17.2.1, Figure 7; RFC 6026 §7.1 Accepted).
//!
//! Proceeding --2xx from TU--> Accepted --Timer L--> Terminated
//! Proceeding --300-699 from TU--> Completed --ACK--> Confirmed --Timer I--> Terminated;
//! Completed --Timer H--> Terminated (no ACK: the TU is told). Timer G retransmits the final
//! response on unreliable transports, T1 doubling up to T2. If the TU has said nothing
//! within 200 ms, the transaction sends 100 Trying itself (the `Trying` timer).

use super::build::{encode_response, response_to};
use super::layer::RespondError;
use super::machine::{Machine, Phase};
use super::timer::{Timer, TimerConfig};
use super::{Output, ServerTransactionId, TransactionId};
use crate::message::{Request, Response};
use crate::net::Peer;
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

impl Phase for State {
    const TERMINATED: Self = State::Terminated;
    fn tu_waits(self) -> bool {
        matches!(self, State::Proceeding | State::Completed)
    }
}

#[derive(Debug)]
pub(crate) struct InviteServer {
    pub id: ServerTransactionId,
    /// `resend` is the last response sent, re-sent when the INVITE is retransmitted.
    pub core: Machine<State>,
}

impl InviteServer {
    pub fn start(
        id: ServerTransactionId,
        request: Request,
        source: Peer,
        config: TimerConfig,
        now: Instant,
    ) -> Self {
        let mut core = Machine::new(State::Proceeding, request, source, config);
        core.timers.set(Timer::Trying, now + TRYING_DELAY);
        InviteServer { id, core }
    }

    pub fn respond(
        &mut self,
        now: Instant,
        response: &Response,
        out: &mut Output,
    ) -> Result<(), RespondError> {
        let core = &mut self.core;
        match (core.state, response.status) {
            (State::Proceeding, 100..=199) => {
                core.timers.stop(Timer::Trying);
                core.send(encode_response(response), out);
            }
            (State::Proceeding, 200..=299) => {
                core.timers.stop_all();
                core.send(encode_response(response), out);
                core.timers.set(Timer::L, now + core.config.timeout());
                core.state = State::Accepted;
            }
            (State::Proceeding, _) => {
                core.timers.stop_all();
                core.send(encode_response(response), out);
                core.start_retransmissions(Timer::G, now);
                core.timers.set(Timer::H, now + core.config.timeout());
                core.state = State::Completed;
            }
            // RFC 6026: the TU retransmits its 2xx through the Accepted transaction.
            (State::Accepted, 200..=299) => core.send(encode_response(response), out),
            _ => return Err(RespondError::AlreadyFinal),
        }
        Ok(())
    }

    /// The INVITE arrived again: re-send the last provisional or final response.
    /// In Accepted the TU owns 2xx retransmission, so the request is just absorbed.
    pub fn on_retransmission(&mut self, out: &mut Output) {
        if matches!(self.core.state, State::Proceeding | State::Completed) {
            self.core.resend(out);
        }
    }

    /// An ACK with this transaction's branch. Returns whether the TU must see it: only in
    /// Accepted (RFC 6026 §8.7), where it can only be the ACK for our 2xx.
    pub fn on_ack(&mut self, now: Instant) -> bool {
        let core = &mut self.core;
        match core.state {
            State::Completed => {
                core.timers.stop_all();
                core.linger(State::Confirmed, Timer::I, core.config.t4, now);
                false
            }
            State::Accepted => true,
            _ => false,
        }
    }

    pub fn handle_timeout(&mut self, now: Instant, out: &mut Output) {
        let core = &mut self.core;
        while let Some(timer) = core.timers.pop_expired(now) {
            match (timer, core.state) {
                (Timer::Trying, State::Proceeding) if core.resend.is_none() => {
                    let trying = response_to(&core.request, 100, "Trying", None);
                    core.send(encode_response(&trying), out);
                }
                (Timer::G, State::Completed) => {
                    let next = (core.interval * 2).min(core.config.t2);
                    core.retransmit(Timer::G, now, next, out);
                }
                (Timer::H, State::Completed) => {
                    core.time_out(TransactionId::Server(self.id), out);
                }
                (Timer::I, _) | (Timer::L, _) => core.terminate(),
                _ => {}
            }
        }
    }

    pub fn on_transport_error(&mut self, out: &mut Output) {
        self.core
            .on_transport_error(TransactionId::Server(self.id), out);
    }
}
