//! The transaction layer: creates transactions, matches incoming messages to them, runs
//! their timers and removes them when they terminate.

use super::build::{encode, replace_top_via, stamp_received};
use super::client_invite::{InviteClient, OutgoingInvite};
use super::client_non_invite::NonInviteClient;
use super::key::{new_branch, ClientKey, ServerKey};
use super::schedule::Schedule;
use super::server_invite::InviteServer;
use super::server_non_invite::NonInviteServer;
use super::timer::TimerConfig;
use super::{ClientTransactionId, Output, ServerTransactionId, TransactionEvent, TransactionId};
use crate::message::typed::{CSeq, Via};
use crate::message::{Message, Method, Request, Response};
use crate::net::{Peer, Transmit};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;
use tracing::debug;

/// Why a request could not start a client transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    #[error("an ACK is not a transaction; send it with send_stateless")]
    /// An ACK is not a transaction; send it with `send_stateless`.
    Ack,
    #[error("the request has no usable Via header")]
    /// The request has no usable Via.
    MissingVia,
    #[error("the request has no usable CSeq header")]
    /// The request has no usable CSeq.
    MissingCSeq,
    #[error("the CSeq method {cseq} does not match the request method {method}")]
    /// The CSeq method differs from the request's.
    CSeqMismatch {
        /// The request's method.
        method: Method,
        /// The CSeq's method.
        cseq: Method,
    },
    #[error("a transaction with branch {0} is already running")]
    /// A transaction with this branch is already running.
    DuplicateBranch(String),
}

/// Why a response could not be sent on a server transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RespondError {
    #[error("no such server transaction (it has terminated)")]
    /// No such server transaction (it has terminated).
    UnknownTransaction,
    #[error("{0} is not a response status (100-699)")]
    /// Not a response status (100-699).
    InvalidStatus(u16),
    #[error("the transaction already sent its final response")]
    /// The transaction already sent its final response.
    AlreadyFinal,
}

/// Counters of what the layer dropped or absorbed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerStats {
    /// Responses that matched no client transaction (late, or not ours).
    pub stray_responses: u64,
    /// Messages dropped because their Via or CSeq could not be used to match them.
    pub unmatchable: u64,
    /// Retransmitted requests absorbed by a server transaction.
    pub absorbed_requests: u64,
}

#[derive(Debug)]
enum Client {
    Invite(InviteClient),
    NonInvite(NonInviteClient),
}

#[derive(Debug)]
enum Server {
    Invite(InviteServer),
    NonInvite(NonInviteServer),
}

/// Calls the same method on either kind of transaction.
macro_rules! each {
    ($value:expr, $kind:ident, $t:ident => $body:expr) => {
        match $value {
            $kind::Invite($t) => $body,
            $kind::NonInvite($t) => $body,
        }
    };
}

impl Client {
    fn next_timeout(&self) -> Option<Instant> {
        each!(self, Client, t => t.core.next_timeout())
    }
    fn is_terminated(&self) -> bool {
        each!(self, Client, t => t.core.is_terminated())
    }
    fn dest(&self) -> Peer {
        each!(self, Client, t => t.core.peer)
    }
    fn request(&self) -> &Request {
        each!(self, Client, t => &t.core.request)
    }
    fn handle_timeout(&mut self, now: Instant, out: &mut Output) {
        each!(self, Client, t => t.handle_timeout(now, out))
    }
    fn on_transport_error(&mut self, out: &mut Output) {
        each!(self, Client, t => t.on_transport_error(out))
    }
    fn on_response(&mut self, now: Instant, response: Response, out: &mut Output) {
        each!(self, Client, t => t.on_response(now, response, out))
    }
}

impl Server {
    fn next_timeout(&self) -> Option<Instant> {
        each!(self, Server, t => t.core.next_timeout())
    }
    fn is_terminated(&self) -> bool {
        each!(self, Server, t => t.core.is_terminated())
    }
    fn source(&self) -> Peer {
        each!(self, Server, t => t.core.peer)
    }
    fn request(&self) -> &Request {
        each!(self, Server, t => &t.core.request)
    }
    fn handle_timeout(&mut self, now: Instant, out: &mut Output) {
        each!(self, Server, t => t.handle_timeout(now, out))
    }
    fn on_transport_error(&mut self, out: &mut Output) {
        each!(self, Server, t => t.on_transport_error(out))
    }
    fn on_retransmission(&mut self, out: &mut Output) {
        each!(self, Server, t => t.on_retransmission(out))
    }
    fn respond(
        &mut self,
        now: Instant,
        response: &Response,
        out: &mut Output,
    ) -> Result<(), RespondError> {
        each!(self, Server, t => t.respond(now, response, out))
    }
}

/// All transactions of one user agent. See the module documentation.
#[derive(Debug)]
pub struct TransactionLayer {
    config: TimerConfig,
    rng: StdRng,
    next_id: u64,
    // BTreeMaps so that a transport error reaches transactions in the same order on every run.
    clients: BTreeMap<ClientTransactionId, (ClientKey, Client)>,
    servers: BTreeMap<ServerTransactionId, (ServerKey, Server)>,
    client_keys: HashMap<ClientKey, ClientTransactionId>,
    server_keys: HashMap<ServerKey, ServerTransactionId>,
    /// Every transaction's next deadline, earliest first.
    schedule: Schedule,
    /// Reused by `handle_timeout` for the transactions due at once.
    due: Vec<TransactionId>,
    out: Output,
    stats: LayerStats,
}

impl TransactionLayer {
    /// `rng_seed` feeds branch generation; pass a random one outside tests.
    pub fn new(config: TimerConfig, rng_seed: u64) -> Self {
        TransactionLayer {
            config,
            rng: StdRng::seed_from_u64(rng_seed),
            next_id: 0,
            clients: BTreeMap::new(),
            servers: BTreeMap::new(),
            client_keys: HashMap::new(),
            server_keys: HashMap::new(),
            schedule: Schedule::default(),
            due: Vec::new(),
            out: Output::default(),
            stats: LayerStats::default(),
        }
    }

    /// The timer constants it runs with.
    pub fn timer_config(&self) -> TimerConfig {
        self.config
    }

    /// A fresh `z9hG4bK` branch from the layer's generator.
    pub fn new_branch(&mut self) -> String {
        new_branch(&mut self.rng)
    }

    /// Starts a client transaction for `request` and sends it to `dest`. If the top Via has
    /// no branch, one is generated; a CANCEL must carry the branch of the INVITE it cancels.
    pub fn send_request(
        &mut self,
        now: Instant,
        mut request: Request,
        dest: Peer,
    ) -> Result<ClientTransactionId, SendError> {
        if request.method == Method::Ack {
            return Err(SendError::Ack);
        }
        let mut via = match request.headers.typed::<Via>() {
            Ok(Some(via)) => via,
            _ => return Err(SendError::MissingVia),
        };
        let cseq = match request.headers.typed::<CSeq>() {
            Ok(Some(cseq)) => cseq,
            _ => return Err(SendError::MissingCSeq),
        };
        if cseq.method != request.method {
            return Err(SendError::CSeqMismatch {
                method: request.method.clone(),
                cseq: cseq.method,
            });
        }
        if via.branch().is_none() {
            let branch = self.new_branch();
            via.params.set("branch", Some(&branch));
            request.headers = replace_top_via(&request.headers, &via);
        }
        let key = ClientKey::new(&via, &cseq.method).ok_or(SendError::MissingVia)?;
        if self.client_keys.contains_key(&key) {
            return Err(SendError::DuplicateBranch(
                via.branch().unwrap_or_default().to_owned(),
            ));
        }
        let id = ClientTransactionId(self.next_id());
        let client = if request.method == Method::Invite {
            let top_via =
                super::build::top_via_raw(&request.headers).ok_or(SendError::MissingVia)?;
            let invite = OutgoingInvite {
                request,
                top_via,
                cseq: cseq.seq,
            };
            Client::Invite(InviteClient::start(
                id,
                invite,
                dest,
                self.config,
                now,
                &mut self.out,
            ))
        } else {
            Client::NonInvite(NonInviteClient::start(
                id,
                request,
                dest,
                self.config,
                now,
                &mut self.out,
            ))
        };
        debug!(%id, %dest, "client transaction started");
        self.client_keys.insert(key.clone(), id);
        self.clients.insert(id, (key, client));
        self.settle(TransactionId::Client(id));
        Ok(id)
    }

    /// Sends a message outside any transaction: the ACK for a 2xx (which belongs to the
    /// dialog), or a response to a request that could not be parsed.
    pub fn send_stateless(&mut self, message: &Message, dest: Peer) {
        self.out.transmits.push_back(Transmit {
            dest,
            bytes: encode(message),
        });
    }

    /// Sends `response` on a server transaction (build it with [`super::response_to`]).
    pub fn respond(
        &mut self,
        now: Instant,
        id: ServerTransactionId,
        response: Response,
    ) -> Result<(), RespondError> {
        if !(100..=699).contains(&response.status) {
            return Err(RespondError::InvalidStatus(response.status));
        }
        let (_, server) = self
            .servers
            .get_mut(&id)
            .ok_or(RespondError::UnknownTransaction)?;
        let result = server.respond(now, &response, &mut self.out);
        self.settle(TransactionId::Server(id));
        result
    }

    /// Feeds a message received from `source`.
    pub fn handle_message(&mut self, now: Instant, message: Message, source: Peer) {
        match message {
            Message::Request(request) => self.handle_request(now, request, source),
            Message::Response(response) => self.handle_response(now, response),
        }
    }

    fn handle_response(&mut self, now: Instant, response: Response) {
        let key = match (
            response.headers.typed::<Via>(),
            response.headers.typed::<CSeq>(),
        ) {
            (Ok(Some(via)), Ok(Some(cseq))) => ClientKey::new(&via, &cseq.method),
            _ => None,
        };
        let Some(key) = key else {
            self.stats.unmatchable += 1;
            return;
        };
        let Some(id) = self.client_keys.get(&key).copied() else {
            self.stats.stray_responses += 1;
            debug!(status = response.status, "stray response dropped");
            return;
        };
        if let Some((_, client)) = self.clients.get_mut(&id) {
            client.on_response(now, response, &mut self.out);
            self.settle(TransactionId::Client(id));
        }
    }

    fn handle_request(&mut self, now: Instant, mut request: Request, source: Peer) {
        let (via, cseq) = match (
            request.headers.typed::<Via>(),
            request.headers.typed::<CSeq>(),
        ) {
            (Ok(Some(via)), Ok(Some(cseq))) => (via, cseq),
            _ => {
                self.stats.unmatchable += 1;
                return;
            }
        };
        let via = stamp_received(&mut request, via, source.addr);
        if request.method == Method::Ack {
            let key = ServerKey::new(&via, &request, cseq.seq, Method::Invite);
            let id = self.server_keys.get(&key).copied();
            let to_tu = match id.and_then(|id| self.servers.get_mut(&id)) {
                Some((_, Server::Invite(invite))) => invite.on_ack(now),
                // No INVITE transaction: the ACK for a 2xx, which the dialog handles.
                _ => true,
            };
            if let Some(id) = id {
                self.settle(TransactionId::Server(id));
            }
            if to_tu {
                self.out
                    .events
                    .push_back(TransactionEvent::AckFor2xx { request, source });
            }
            return;
        }
        let key = ServerKey::new(&via, &request, cseq.seq, request.method.clone());
        if let Some(&id) = self.server_keys.get(&key) {
            if let Some((_, server)) = self.servers.get_mut(&id) {
                // Absorbing changes no timer: the transaction stays filed where it was.
                self.stats.absorbed_requests += 1;
                server.on_retransmission(&mut self.out);
                return;
            }
        }
        let id = ServerTransactionId(self.next_id());
        let cancelled = if request.method == Method::Cancel {
            let invite_key = ServerKey::new(&via, &request, cseq.seq, Method::Invite);
            self.server_keys.get(&invite_key).copied()
        } else {
            None
        };
        let server = if request.method == Method::Invite {
            Server::Invite(InviteServer::start(
                id,
                request.clone(),
                source,
                self.config,
                now,
            ))
        } else {
            Server::NonInvite(NonInviteServer::start(
                id,
                request.clone(),
                source,
                self.config,
            ))
        };
        debug!(%id, method = %request.method, %source, "server transaction started");
        self.server_keys.insert(key.clone(), id);
        self.servers.insert(id, (key, server));
        self.settle(TransactionId::Server(id));
        let event = match cancelled {
            Some(invite) => TransactionEvent::Cancelled {
                invite,
                cancel: id,
                request,
            },
            None => TransactionEvent::IncomingRequest {
                id,
                request,
                source,
            },
        };
        self.out.events.push_back(event);
    }

    /// The driver could not deliver to `peer` (TCP connect or write failed, ICMP
    /// unreachable): every transaction using that hop fails.
    /// A scan of all transactions, which is fine for an event this rare.
    pub fn handle_transport_error(&mut self, _now: Instant, peer: Peer) {
        let mut failed = std::mem::take(&mut self.due);
        for (id, (_, client)) in self.clients.iter_mut() {
            if client.dest() == peer {
                client.on_transport_error(&mut self.out);
                failed.push(TransactionId::Client(*id));
            }
        }
        for (id, (_, server)) in self.servers.iter_mut() {
            if server.source() == peer {
                server.on_transport_error(&mut self.out);
                failed.push(TransactionId::Server(*id));
            }
        }
        for id in failed.drain(..) {
            self.settle(id);
        }
        self.due = failed;
    }

    /// Fires every timer that is due at `now`, in deadline order. Only the due
    /// transactions are touched.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Collected first, so a timer re-armed at or before `now` waits for the next call
        // instead of spinning here.
        let mut due = std::mem::take(&mut self.due);
        while let Some(id) = self.schedule.pop_due(now) {
            due.push(id);
        }
        for id in due.drain(..) {
            match id {
                TransactionId::Client(c) => {
                    if let Some((_, client)) = self.clients.get_mut(&c) {
                        client.handle_timeout(now, &mut self.out);
                    }
                }
                TransactionId::Server(s) => {
                    if let Some((_, server)) = self.servers.get_mut(&s) {
                        server.handle_timeout(now, &mut self.out);
                    }
                }
            }
            self.settle(id);
        }
        self.due = due;
    }

    /// The earliest deadline of any transaction: the head of the schedule, O(log n).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.schedule.next()
    }

    /// The next bytes to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.transmits.pop_front()
    }

    /// The next thing to tell the transaction user.
    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.out.events.pop_front()
    }

    /// The request a client transaction was started with (its top Via carries the branch).
    pub fn client_request(&self, id: ClientTransactionId) -> Option<&Request> {
        self.clients.get(&id).map(|(_, c)| c.request())
    }

    /// The request a server transaction is answering (top Via stamped with `received`).
    pub fn server_request(&self, id: ServerTransactionId) -> Option<&Request> {
        self.servers.get(&id).map(|(_, s)| s.request())
    }

    /// Live transactions, client and server.
    pub fn len(&self) -> usize {
        self.clients.len() + self.servers.len()
    }

    /// Whether no transaction is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What was dropped or absorbed so far.
    pub fn stats(&self) -> LayerStats {
        self.stats
    }

    fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// After `id` handled an input: removes it if it terminated (and tells the TU), or
    /// files its next deadline.
    fn settle(&mut self, id: TransactionId) {
        let (terminated, next) = match id {
            TransactionId::Client(c) => match self.clients.get(&c) {
                Some((_, client)) => (client.is_terminated(), client.next_timeout()),
                None => return,
            },
            TransactionId::Server(s) => match self.servers.get(&s) {
                Some((_, server)) => (server.is_terminated(), server.next_timeout()),
                None => return,
            },
        };
        if !terminated {
            self.schedule.set(id, next);
            return;
        }
        self.schedule.set(id, None);
        match id {
            TransactionId::Client(c) => {
                if let Some((key, _)) = self.clients.remove(&c) {
                    self.client_keys.remove(&key);
                }
            }
            TransactionId::Server(s) => {
                if let Some((key, _)) = self.servers.remove(&s) {
                    self.server_keys.remove(&key);
                }
            }
        }
        debug!(%id, "transaction terminated");
        self.out
            .events
            .push_back(TransactionEvent::Terminated { id });
        if self.is_empty() {
            self.release_room();
        }
    }

    /// The last transaction is gone: the lookup tables give back the room a busy moment
    /// grew them to (a hash map keeps its capacity when emptied; thousands of transactions
    /// lingering in Timer D/J after a burst of calls would otherwise stay paid for).
    fn release_room(&mut self) {
        self.client_keys.shrink_to_fit();
        self.server_keys.shrink_to_fit();
        self.schedule.shrink_to_fit();
    }

    /// Room held by the lookup tables, in entries (tests).
    #[cfg(test)]
    pub(crate) fn room(&self) -> usize {
        self.client_keys.capacity() + self.server_keys.capacity() + self.schedule.room()
    }
}
