//! SIP transactions (RFC 3261 §17, with RFC 6026's Accepted states), sans-IO.
//!
//! A [`TransactionLayer`] is fed messages and the time, and is polled for bytes to send
//! ([`TransactionLayer::poll_transmit`]), things the transaction user must know
//! ([`TransactionLayer::poll_event`]) and when it next needs waking
//! ([`TransactionLayer::poll_timeout`]). It never reads a clock or touches a socket.
//!
//! Each of the four transaction kinds lives in its own module as a small state machine that
//! keeps all of its timers in one `TimerTable` (an array indexed by `Timer`); the layer
//! matches messages to transactions (§17.1.3, §17.2.3) and removes a transaction as soon as
//! it terminates, so `is_empty()` at the end of a test means nothing was left behind.
//! The layer files each transaction's next deadline in one time-ordered schedule, so an
//! input touches only the transaction it is for and a wake-up only the ones that are due:
//! the thousands that linger in §17's wait states under load (Timers D, I, J, K, L, M)
//! cost nothing until their timer fires.
//!
//! Responses from server transactions go back to the address the request came from
//! (RFC 3581 symmetric response routing); that is also the right hop on a TCP connection.

mod build;
mod client_invite;
mod client_non_invite;
mod key;
mod layer;
mod machine;
mod schedule;
mod server_invite;
mod server_non_invite;
mod timer;

pub use build::response_to;
pub use key::new_branch;
pub use layer::{LayerStats, RespondError, SendError, TransactionLayer};
pub use timer::TimerConfig;

use crate::message::{Request, Response};
use crate::net::{Peer, Transmit};
use std::collections::VecDeque;
use std::fmt;

/// A client transaction (a request we sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientTransactionId(u64);

/// A server transaction (a request we received and must answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerTransactionId(u64);

/// Either kind of transaction, for events that both kinds raise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TransactionId {
    /// A client transaction.
    Client(ClientTransactionId),
    /// A server transaction.
    Server(ServerTransactionId),
}

impl fmt::Display for ClientTransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "client#{}", self.0)
    }
}

impl fmt::Display for ServerTransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "server#{}", self.0)
    }
}

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransactionId::Client(id) => id.fmt(f),
            TransactionId::Server(id) => id.fmt(f),
        }
    }
}

/// What the transaction user (the UA core) learns from the layer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransactionEvent {
    /// A response to one of our requests: provisional, final, and (INVITE, RFC 6026)
    /// retransmitted or forked 2xx, which the TU acknowledges itself.
    Response {
        /// Our request's transaction.
        id: ClientTransactionId,
        /// The response.
        response: Response,
    },
    /// No final response in time (Timer B or F; the TU treats it as a 408), or no ACK for
    /// our final response to an INVITE (Timer H).
    Timeout {
        /// The transaction.
        id: TransactionId,
    },
    /// The driver reported that the hop failed (`handle_transport_error`).
    TransportError {
        /// The transaction.
        id: TransactionId,
    },
    /// A new request; answer it with [`TransactionLayer::respond`].
    IncomingRequest {
        /// Answer with this id.
        id: ServerTransactionId,
        /// The request.
        request: Request,
        /// Where it came from (responses go back there).
        source: Peer,
    },
    /// An ACK that matches no transaction: the ACK for a 2xx, which belongs to the dialog.
    AckFor2xx {
        /// The ACK.
        request: Request,
        /// Where it came from.
        source: Peer,
    },
    /// A CANCEL for an INVITE we are serving. Answer the CANCEL (`cancel`, normally 200)
    /// and, if the INVITE is still unanswered, the INVITE (`invite`, normally 487).
    Cancelled {
        /// The INVITE's transaction.
        invite: ServerTransactionId,
        /// The CANCEL's transaction.
        cancel: ServerTransactionId,
        /// The CANCEL.
        request: Request,
    },
    /// The transaction is gone; its id will not appear again.
    Terminated {
        /// The transaction.
        id: TransactionId,
    },
}

/// What a transaction state machine produced while handling one input.
#[derive(Debug, Default)]
pub(crate) struct Output {
    pub transmits: VecDeque<Transmit>,
    pub events: VecDeque<TransactionEvent>,
}

#[cfg(test)]
mod tests;
