//! The non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6).
//!
//! Trying --1xx--> Proceeding; Trying/Proceeding --200-699--> Completed --Timer K-->
//! Terminated. Timer E retransmits on unreliable transports: T1, doubling up to T2 while
//! Trying, every T2 once Proceeding. Timer F (64*T1) gives up.

use super::build::encode_request;
use super::machine::NonInviteState as State;
use super::machine::{pass_up, Machine};
use super::timer::{Timer, TimerConfig};
use super::{ClientTransactionId, Output, TransactionId};
use crate::message::{Request, Response};
use crate::net::Peer;
use std::time::Instant;

#[derive(Debug)]
pub(crate) struct NonInviteClient {
    pub id: ClientTransactionId,
    pub core: Machine<State>,
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
        let mut core = Machine::new(State::Trying, request, dest, config);
        core.send(encoded, out);
        core.start_retransmissions(Timer::E, now);
        core.timers.set(Timer::F, now + config.timeout());
        NonInviteClient { id, core }
    }

    pub fn on_response(&mut self, now: Instant, response: Response, out: &mut Output) {
        let core = &mut self.core;
        match (core.state, response.status) {
            (State::Trying | State::Proceeding, 100..=199) => {
                core.state = State::Proceeding;
                pass_up(self.id, response, out);
            }
            (State::Trying | State::Proceeding, _) => {
                core.timers.stop_all();
                pass_up(self.id, response, out);
                core.linger(State::Completed, Timer::K, core.config.t4, now);
            }
            // Completed: retransmitted finals are absorbed.
            _ => {}
        }
    }

    pub fn handle_timeout(&mut self, now: Instant, out: &mut Output) {
        let core = &mut self.core;
        while let Some(timer) = core.timers.pop_expired(now) {
            match (timer, core.state) {
                (Timer::E, State::Trying | State::Proceeding) => {
                    let next = if core.state == State::Proceeding {
                        core.config.t2
                    } else {
                        (core.interval * 2).min(core.config.t2)
                    };
                    core.retransmit(Timer::E, now, next, out);
                }
                (Timer::F, State::Trying | State::Proceeding) => {
                    core.time_out(TransactionId::Client(self.id), out);
                }
                (Timer::K, _) => core.terminate(),
                _ => {}
            }
        }
    }

    pub fn on_transport_error(&mut self, out: &mut Output) {
        self.core
            .on_transport_error(TransactionId::Client(self.id), out);
    }
}
