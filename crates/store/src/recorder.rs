//! The store on a thread of its own, fed by a channel: a write syncs to disk (about a
//! millisecond, far more on a busy disk), which the agent loop must not wait for.

use crate::{Store, StoreError};
use std::sync::mpsc;
use std::thread::JoinHandle;
use wire::{CallQuality, CallView, HistoryPage};

/// Whether writes succeed, reported to the owner each time it changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Writes fail (full disk, read-only directory, I/O error): records are not being kept.
    Failing(String),
}

enum Job {
    // Boxed: a view is ten times the size of the other jobs.
    Call {
        view: Box<CallView>,
        now: String,
    },
    Quality {
        id: String,
        quality: CallQuality,
    },
    Heartbeat {
        now: String,
    },
    Setting {
        key: String,
        value: String,
    },
    History {
        limit: usize,
        before: Option<String>,
        reply: mpsc::Sender<Result<HistoryPage, StoreError>>,
    },
    /// Runs once the writes before it are on disk (the answer goes back through a channel
    /// the closure owns).
    Apply(Box<dyn FnOnce(&mut Store) + Send>),
    /// Ends the thread once the jobs before it are done, whoever still holds a handle.
    Stop,
}

/// Sends work to the store's thread; cheap to clone.
#[derive(Clone)]
pub struct RecorderHandle {
    jobs: mpsc::Sender<Job>,
}

/// Owns the store's thread: [`Recorder::finish`] waits for the writes queued before it.
pub struct Recorder {
    handle: RecorderHandle,
    thread: JoinHandle<()>,
}

impl Recorder {
    /// Runs `store` on a new thread; `on_health` hears each change of [`Health`] (called on
    /// that thread).
    pub fn spawn(
        mut store: Store,
        on_health: impl Fn(Health) + Send + 'static,
    ) -> std::io::Result<Recorder> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("call-records".into())
            .spawn(move || {
                let mut health = HealthReport::new(on_health);
                let mut writes: Vec<Job> = Vec::new();
                // Writes that queued up while the last ones were syncing go to disk together
                // (group commit): one sync instead of one each, so a burst of calls costs
                // the machine little; when it is quiet, each write is its own batch.
                while let Ok(first) = queue.recv() {
                    let mut next = Some(first);
                    while let Some(job) = next.take() {
                        match job {
                            Job::History {
                                limit,
                                before,
                                reply,
                            } => {
                                health.note(write_all(&mut store, &mut writes));
                                let _ = reply.send(store.history(limit, before.as_deref()));
                            }
                            Job::Apply(apply) => {
                                health.note(write_all(&mut store, &mut writes));
                                apply(&mut store);
                            }
                            Job::Stop => {
                                health.note(write_all(&mut store, &mut writes));
                                return;
                            }
                            write => writes.push(write),
                        }
                        if writes.len() < MAX_BATCH {
                            next = queue.try_recv().ok();
                        }
                    }
                    health.note(write_all(&mut store, &mut writes));
                }
            })?;
        Ok(Recorder {
            handle: RecorderHandle { jobs },
            thread,
        })
    }

    pub fn handle(&self) -> &RecorderHandle {
        &self.handle
    }

    /// Waits until everything queued is written, then ends the thread; work sent later
    /// through a remaining handle is dropped (a history request answers `Stopped`).
    pub fn finish(self) {
        self.handle.send(Job::Stop);
        // A panic on the store's thread has already been reported by the panic hook.
        let _ = self.thread.join();
    }
}

/// The most writes committed together.
const MAX_BATCH: usize = 256;

/// Writes `jobs` (writes only) in one transaction; if that fails, one by one, so a bad write
/// costs only itself. Returns the first error, if any; `None` when nothing needed writing
/// (a heartbeat with no live call), which says nothing about the store's health: on a full
/// disk such a no-op still "succeeds".
fn write_all(store: &mut Store, jobs: &mut Vec<Job>) -> Option<Result<(), StoreError>> {
    if jobs.is_empty() {
        return None;
    }
    let batch = std::mem::take(jobs);
    let mut wrote = false;
    if batch.len() > 1
        && store
            .in_one_transaction(|store| {
                batch.iter().try_for_each(|job| {
                    wrote |= write(store, job)?;
                    Ok(())
                })
            })
            .is_ok()
    {
        return wrote.then_some(Ok(()));
    }
    wrote = false;
    let mut first_error = None;
    for job in &batch {
        match write(store, job) {
            Ok(w) => wrote |= w,
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        Some(e) => Some(Err(e)),
        None => wrote.then_some(Ok(())),
    }
}

/// Carries out one write; whether it changed anything on disk.
fn write(store: &mut Store, job: &Job) -> Result<bool, StoreError> {
    match job {
        Job::Call { view, now } => store.record(view, now).map(|()| true),
        Job::Quality { id, quality } => store.quality(id, quality).map(|n| n > 0),
        Job::Heartbeat { now } => store.heartbeat(now).map(|n| n > 0),
        Job::Setting { key, value } => store.set_setting(key, value).map(|()| true),
        Job::History { .. } | Job::Apply(_) | Job::Stop => Ok(false),
    }
}

/// Tells the owner when writes start failing and when they work again.
struct HealthReport<F: Fn(Health)> {
    healthy: bool,
    on_health: F,
}

impl<F: Fn(Health)> HealthReport<F> {
    fn new(on_health: F) -> Self {
        HealthReport {
            healthy: true,
            on_health,
        }
    }

    fn note(&mut self, written: Option<Result<(), StoreError>>) {
        let Some(written) = written else {
            return;
        };
        match written {
            Ok(()) if !self.healthy => {
                self.healthy = true;
                (self.on_health)(Health::Ok);
            }
            Err(e) if self.healthy => {
                self.healthy = false;
                (self.on_health)(Health::Failing(e.to_string()));
            }
            _ => {}
        }
    }
}

impl RecorderHandle {
    /// Records a call's view (see [`Store::record`]).
    pub fn call(&self, view: CallView, now: String) {
        self.send(Job::Call {
            view: Box::new(view),
            now,
        });
    }

    /// New audio figures of a call.
    pub fn quality(&self, id: String, quality: CallQuality) {
        self.send(Job::Quality { id, quality });
    }

    /// Marks the live calls as seen at `now`.
    pub fn heartbeat(&self, now: String) {
        self.send(Job::Heartbeat { now });
    }

    /// Keeps `value` under `key` (see [`Store::set_setting`]).
    pub fn setting(&self, key: String, value: String) {
        self.send(Job::Setting { key, value });
    }

    /// A page of the history (see [`Store::history`]); blocks until the thread answers.
    pub fn history(&self, limit: usize, before: Option<String>) -> Result<HistoryPage, StoreError> {
        let (reply, answer) = mpsc::channel();
        self.send(Job::History {
            limit,
            before,
            reply,
        });
        answer.recv().unwrap_or_else(|_| Err(StoreError::Stopped))
    }

    /// Runs `f` on the store's thread after the writes queued before it, and waits for its
    /// answer: for the page's acknowledgements and the outbox, which the caller must hear
    /// back about.
    pub fn ask<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = mpsc::channel();
        self.send(Job::Apply(Box::new(move |store| {
            let _ = reply.send(f(store));
        })));
        answer.recv().unwrap_or_else(|_| Err(StoreError::Stopped))
    }

    fn send(&self, job: Job) {
        // The thread lives as long as a sender does, so this only fails if it panicked;
        // a history request then answers `Stopped`.
        let _ = self.jobs.send(job);
    }
}
