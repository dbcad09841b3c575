//! The hub the agent publishes into and the bridge serves from: the current status, the
//! event sequence, a bounded history for resuming, and live delivery.
//!
//! Status, sequence and history sit under one lock; live delivery goes through a
//! `tokio::sync::broadcast` that is fed and subscribed under that same lock, so a client
//! that takes a snapshot or a replay and then follows the live channel neither misses nor
//! repeats an event.

use crate::protocol::{Event, EventBody, Status};
use crate::tabs::Tabs;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{broadcast, watch};

/// How many recent events a hub keeps for `?since=` by default.
pub const DEFAULT_HISTORY: usize = 1000;

/// How many events a live subscriber may fall behind before it is resynchronised.
const LIVE_CAPACITY: usize = 256;

/// Shared between the agent (which publishes) and the server (which serves).
pub struct Hub {
    inner: Mutex<Inner>,
    live: broadcast::Sender<Arc<Event>>,
    closing: watch::Sender<bool>,
    instance: String,
    tabs: Tabs,
}

struct Inner {
    status: Status,
    seq: u64,
    history: VecDeque<Arc<Event>>,
    history_cap: usize,
}

/// Where a new (or resynchronised) subscriber starts.
pub(crate) enum Start {
    /// Send these (possibly none), then follow live.
    Replay(Vec<Arc<Event>>),
    /// Send this snapshot, then follow live.
    Snapshot(Box<Event>),
}

impl Hub {
    /// A hub holding `initial`, keeping the last [`DEFAULT_HISTORY`] events.
    pub fn new(initial: Status) -> Arc<Hub> {
        Self::with_history(initial, DEFAULT_HISTORY)
    }

    /// A hub keeping the last `history` events for resuming (0 disables resuming).
    pub fn with_history(initial: Status, history: usize) -> Arc<Hub> {
        let (live, _) = broadcast::channel(LIVE_CAPACITY);
        let (closing, _) = watch::channel(false);
        let bytes: [u8; 8] = rand::random();
        Arc::new(Hub {
            inner: Mutex::new(Inner {
                status: initial,
                seq: 0,
                history: VecDeque::with_capacity(history.min(DEFAULT_HISTORY)),
                history_cap: history,
            }),
            live,
            closing,
            instance: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            tabs: Tabs::new(),
        })
    }

    /// The current status document.
    pub fn status(&self) -> Status {
        self.lock().status.clone()
    }

    /// Replaces the status without an event (for changes no client needs to be told about
    /// as they happen, such as the audio counters; they see them in the next snapshot or
    /// `GET /api/v1/status`).
    pub fn set_status(&self, status: Status) {
        self.lock().status = status;
    }

    /// Replaces the status and emits `event` atomically; returns the event's seq (1, 2, ...).
    /// `status` must already reflect the event.
    pub fn publish(&self, status: Status, event: EventBody) -> u64 {
        let mut inner = self.lock();
        inner.seq += 1;
        inner.status = status;
        let event = Arc::new(Event {
            seq: inner.seq,
            body: event,
        });
        if inner.history_cap > 0 {
            if inner.history.len() == inner.history_cap {
                inner.history.pop_front();
            }
            inner.history.push_back(event.clone());
        }
        // No subscriber is not an error.
        let _ = self.live.send(event);
        inner.seq
    }

    /// Sends `event` to live subscribers only: no new seq (it carries the last one), no
    /// history, no status change. For frequent, disposable events (audio levels) that
    /// must not push real events out of the resume history.
    pub fn publish_volatile(&self, event: EventBody) {
        let inner = self.lock();
        let _ = self.live.send(Arc::new(Event {
            seq: inner.seq,
            body: event,
        }));
    }

    /// The seq of the last published event (0 before any).
    pub fn seq(&self) -> u64 {
        self.lock().seq
    }

    /// Names this hub (this agent run); clients pass it back when resuming.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Closes every event socket (close code 1001) and refuses new ones; `serve` calls
    /// this when it shuts down.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// The connected pages and which one leads.
    pub(crate) fn tabs(&self) -> &Tabs {
        &self.tabs
    }

    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Subscribes to live events and decides where the subscriber starts, under one lock:
    /// the events after `since` if the history still holds all of them, else a snapshot.
    pub(crate) fn attach(&self, since: Option<u64>) -> (Start, broadcast::Receiver<Arc<Event>>) {
        let inner = self.lock();
        let live = self.live.subscribe();
        let start = match since {
            Some(n) if n == inner.seq => Start::Replay(Vec::new()),
            Some(n) if n < inner.seq && inner.history.front().is_some_and(|e| e.seq <= n + 1) => {
                Start::Replay(
                    inner
                        .history
                        .iter()
                        .filter(|e| e.seq > n)
                        .cloned()
                        .collect(),
                )
            }
            _ => Start::Snapshot(Box::new(Event {
                seq: inner.seq,
                body: EventBody::Snapshot {
                    instance: self.instance.clone(),
                    status: inner.status.clone(),
                },
            })),
        };
        (start, live)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock leaves consistent data (every update is
        // a plain assignment), so carry on rather than poison the bridge.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("instance", &self.instance)
            .field("seq", &self.seq())
            .finish_non_exhaustive()
    }
}
