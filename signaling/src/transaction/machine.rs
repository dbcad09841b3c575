//! What the four transaction state machines share: the hop, the request, one timer table,
//! the retransmission interval and the bytes a retransmission re-sends; entering a wait
//! state that is zero on reliable transports; timing out; failing on a transport error.
//! Each kind keeps only its own transitions (RFC 3261 Figures 5-8).

use super::timer::{Timer, TimerConfig, TimerTable};
use super::{ClientTransactionId, Output, TransactionEvent, TransactionId};
use crate::message::{Request, Response};
use crate::net::{Peer, Transmit};
use bytes::Bytes;
use std::time::{Duration, Instant};

/// A transaction kind's states, as the shared parts need to see them.
pub(crate) trait Phase: Copy + PartialEq {
    /// The state a transaction ends in (the layer then removes it).
    const TERMINATED: Self;
    /// Whether the TU still waits on this transaction (so it must hear of a failure).
    fn tu_waits(self) -> bool;
}

/// The states of both non-INVITE transactions (RFC 3261 Figures 6 and 8 have the same
/// four): a final response moves Trying or Proceeding to Completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonInviteState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

impl Phase for NonInviteState {
    const TERMINATED: Self = NonInviteState::Terminated;
    fn tu_waits(self) -> bool {
        matches!(self, NonInviteState::Trying | NonInviteState::Proceeding)
    }
}

/// The state shared by every transaction kind; `S` is the kind's state enum.
#[derive(Debug)]
pub(crate) struct Machine<S> {
    pub state: S,
    /// Where requests go (client) or where the request came from and responses go (server).
    pub peer: Peer,
    pub request: Request,
    pub config: TimerConfig,
    pub timers: TimerTable,
    /// The current retransmission interval (Timer A, E or G).
    pub interval: Duration,
    /// What a retransmission re-sends: our request (client) or our last response (server).
    pub resend: Option<Bytes>,
}

impl<S: Phase> Machine<S> {
    pub fn new(state: S, request: Request, peer: Peer, config: TimerConfig) -> Self {
        Machine {
            state,
            peer,
            request,
            config,
            timers: TimerTable::default(),
            interval: config.t1,
            resend: None,
        }
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    pub fn is_terminated(&self) -> bool {
        self.state == S::TERMINATED
    }

    /// Sends `bytes` to the peer once.
    pub fn send_once(&self, bytes: Bytes, out: &mut Output) {
        out.transmits.push_back(Transmit {
            dest: self.peer,
            bytes,
        });
    }

    /// Sends `bytes` and keeps them as what a retransmission re-sends.
    pub fn send(&mut self, bytes: Bytes, out: &mut Output) {
        self.send_once(bytes.clone(), out);
        self.resend = Some(bytes);
    }

    /// Re-sends the kept bytes, if any.
    pub fn resend(&self, out: &mut Output) {
        if let Some(bytes) = &self.resend {
            self.send_once(bytes.clone(), out);
        }
    }

    /// Starts retransmission `timer` at the current interval; only on unreliable transports,
    /// where messages can be lost.
    pub fn start_retransmissions(&mut self, timer: Timer, now: Instant) {
        if !self.peer.transport.is_reliable() {
            self.timers.set(timer, now + self.interval);
        }
    }

    /// `timer` fired: re-sends, and fires again after `next` (the kind's backoff).
    pub fn retransmit(&mut self, timer: Timer, now: Instant, next: Duration, out: &mut Output) {
        self.resend(out);
        self.interval = next;
        self.timers.set(timer, now + next);
    }

    /// Enters `waiting` for `wait`, to absorb retransmissions (Timers D, I, J, K); on a
    /// reliable transport nothing is retransmitted, so the wait is zero and it terminates.
    pub fn linger(&mut self, waiting: S, timer: Timer, wait: Duration, now: Instant) {
        if self.peer.transport.is_reliable() {
            self.state = S::TERMINATED;
        } else {
            self.timers.set(timer, now + wait);
            self.state = waiting;
        }
    }

    /// The transaction timed out (Timers B, F, H): it ends and the TU is told.
    pub fn time_out(&mut self, id: TransactionId, out: &mut Output) {
        self.terminate();
        out.events.push_back(TransactionEvent::Timeout { id });
    }

    /// The hop failed. The TU hears of it only while it still waits on the transaction.
    pub fn on_transport_error(&mut self, id: TransactionId, out: &mut Output) {
        if self.state.tu_waits() {
            out.events
                .push_back(TransactionEvent::TransportError { id });
        }
        self.terminate();
    }

    pub fn terminate(&mut self) {
        self.timers.stop_all();
        self.state = S::TERMINATED;
    }
}

/// Hands a response to the TU (client transactions).
pub(crate) fn pass_up(id: ClientTransactionId, response: Response, out: &mut Output) {
    out.events
        .push_back(TransactionEvent::Response { id, response });
}
