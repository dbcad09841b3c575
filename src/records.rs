//! The agent's call records: the store (`crates/store`) on its own thread, fed with every
//! view of a call the page is told about, a heartbeat while calls are live, and the history
//! the bridge serves. A store that cannot be opened or written costs the records, never a
//! call: the status's `records` says so.

use bridge::history::{CallHistory, HistoryError};
use bridge::EventBody;
use phone::wallclock::rfc3339;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use store::{Health, Recorder, RecorderHandle, Store, StoreError, AGENT_CHOSEN};
use tokio::sync::mpsc;
use wire::{ChosenState, CrmRecord, HistoryEntry, HistoryPage, RecordsStatus};

/// How often live calls are marked as seen: what an agent crash can lose of a call's length.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

pub struct Records {
    recorder: Option<Recorder>,
    /// The status's `records` as of opening.
    status: RecordsStatus,
    /// Names this run in call ids.
    run_prefix: String,
    /// The availability the agent chose, as last kept in the store (read at open).
    chosen: Mutex<ChosenState>,
}

impl Records {
    /// Opens the store in `data_dir`; health changes later arrive on `health`.
    pub fn open(data_dir: &Path, health: mpsc::UnboundedSender<Health>) -> Records {
        let now = rfc3339(SystemTime::now());
        let opened = match Store::open(data_dir, &now) {
            Ok(opened) => opened,
            Err(e) => return Records::without_store(data_dir, &e),
        };
        let mut status = RecordsStatus {
            ok: true,
            error: None,
        };
        if let Some(moved) = &opened.moved_aside {
            let message = format!(
                "the call records file was damaged ({}); it was moved to {} and a fresh one started",
                moved.why,
                moved.to.display()
            );
            tracing::error!("{message}");
            status.error = Some(message);
        }
        if opened.interrupted > 0 {
            tracing::warn!(
                calls = opened.interrupted,
                "calls left open by the agent's last run closed as interrupted"
            );
        }
        let run_prefix = format!("r{}", opened.store.run());
        let chosen = kept_choice(&opened.store);
        let recorder = Recorder::spawn(opened.store, move |h| {
            let _ = health.send(h);
        });
        match recorder {
            Ok(recorder) => Records {
                recorder: Some(recorder),
                status,
                run_prefix,
                chosen: Mutex::new(chosen),
            },
            Err(e) => Records::without_store(data_dir, &StoreError::Thread(e)),
        }
    }

    fn without_store(data_dir: &Path, error: &StoreError) -> Records {
        tracing::error!(
            "call records cannot be kept in {}: {error}; calls work, but are not recorded",
            data_dir.display()
        );
        tracing::warn!(
            "the agent's chosen status cannot be read or kept without the store: starting available"
        );
        // No run counter: the start time in ms names the run instead (base 36, 8 characters).
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        Records {
            recorder: None,
            status: RecordsStatus {
                ok: false,
                error: Some(format!("call records cannot be kept: {error}")),
            },
            run_prefix: format!("t{}", base36(ms)),
            chosen: Mutex::new(ChosenState::Available),
        }
    }

    pub fn run_prefix(&self) -> &str {
        &self.run_prefix
    }

    pub fn status(&self) -> RecordsStatus {
        self.status.clone()
    }

    /// The availability the agent chose in its last run (available when none was kept).
    pub fn agent_chosen(&self) -> ChosenState {
        *self.chosen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The status's `records` after a change of health.
    pub fn status_after(health: Health) -> RecordsStatus {
        match health {
            Health::Ok => RecordsStatus {
                ok: true,
                error: None,
            },
            Health::Failing(e) => {
                tracing::error!(
                    "call records cannot be written: {e}; calls work, but are not recorded"
                );
                RecordsStatus {
                    ok: false,
                    error: Some(format!("call records cannot be written: {e}")),
                }
            }
        }
    }

    /// Records what a page event says about a call.
    pub fn feed(&self, event: &EventBody) {
        let Some(r) = self.handle() else { return };
        match event {
            EventBody::Incoming { call } | EventBody::Call { call } => {
                r.call(call.clone(), rfc3339(SystemTime::now()))
            }
            EventBody::CallQuality {
                call_id, quality, ..
            } => r.quality(call_id.clone(), quality.clone()),
            // Kept only when the choice changed, not at every call's state change.
            EventBody::AgentStatus { agent } => {
                let mut kept = self.chosen.lock().unwrap_or_else(|p| p.into_inner());
                if *kept != agent.chosen {
                    *kept = agent.chosen;
                    r.setting(AGENT_CHOSEN.to_owned(), agent.chosen.name().to_owned());
                }
            }
            _ => {}
        }
    }

    /// Marks the live calls as seen now.
    pub fn heartbeat(&self) {
        if let Some(r) = self.handle() {
            r.heartbeat(rfc3339(SystemTime::now()));
        }
    }

    /// What the bridge serves at `/api/v1/history`.
    pub fn history(&self) -> std::sync::Arc<dyn CallHistory> {
        std::sync::Arc::new(History(self.handle().cloned()))
    }

    /// Waits until every record queued is written.
    pub async fn finish(self) {
        if let Some(recorder) = self.recorder {
            let _ = tokio::task::spawn_blocking(move || recorder.finish()).await;
        }
    }

    fn handle(&self) -> Option<&RecorderHandle> {
        self.recorder.as_ref().map(Recorder::handle)
    }
}

/// The choice kept by the last run; available when none was kept or it cannot be read.
fn kept_choice(store: &Store) -> ChosenState {
    match store.setting(AGENT_CHOSEN) {
        Ok(None) => ChosenState::Available,
        Ok(Some(name)) => ChosenState::from_name(&name).unwrap_or_else(|| {
            tracing::warn!("the kept agent status {name:?} is unknown: starting available");
            ChosenState::Available
        }),
        Err(e) => {
            tracing::warn!("the kept agent status cannot be read ({e}): starting available");
            ChosenState::Available
        }
    }
}

struct History(Option<RecorderHandle>);

impl History {
    fn recorder(&self) -> Result<&RecorderHandle, HistoryError> {
        self.0.as_ref().ok_or_else(|| {
            HistoryError::Unavailable("call records are not kept: see the status's records".into())
        })
    }

    /// Runs `f` on the store's thread; errors in the bridge's terms.
    fn ask<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, HistoryError> {
        self.recorder()?.ask(f).map_err(|e| match e {
            StoreError::UnknownCall(id) => HistoryError::UnknownCall(id),
            e => HistoryError::Unavailable(format!("call records cannot be used: {e}")),
        })
    }
}

impl CallHistory for History {
    fn page(&self, limit: usize, before: Option<&str>) -> Result<HistoryPage, HistoryError> {
        self.recorder()?
            .history(limit, before.map(str::to_owned))
            .map_err(|e| match e {
                StoreError::UnknownCall(_) => HistoryError::UnknownCursor(format!("before: {e}")),
                e => HistoryError::Unavailable(format!("call records cannot be read: {e}")),
            })
    }

    fn outbox(&self) -> Result<Vec<HistoryEntry>, HistoryError> {
        self.ask(|s| s.outbox())
    }

    fn mark_delivered(&self, ids: &[String]) -> Result<(), HistoryError> {
        let ids = ids.to_vec();
        self.ask(move |s| {
            s.in_one_transaction(|s| ids.iter().try_for_each(|id| s.mark_delivered(id)))
        })
    }

    fn logged(&self, id: &str, outcome: Result<String, String>) -> Result<(), HistoryError> {
        let id = id.to_owned();
        self.ask(move |s| match outcome {
            Ok(task) => s.mark_saved(&id, &task),
            Err(why) => s.mark_failed(&id, &why),
        })
    }

    fn requeue(&self, id: &str) -> Result<(), HistoryError> {
        let id = id.to_owned();
        self.ask(move |s| s.requeue(&id))
    }

    fn set_crm(&self, id: &str, record: CrmRecord) -> Result<(), HistoryError> {
        let id = id.to_owned();
        self.ask(move |s| s.set_crm(&id, &record))
    }

    fn set_wrapup(
        &self,
        id: &str,
        disposition: Option<String>,
        notes: Option<String>,
    ) -> Result<(), HistoryError> {
        let id = id.to_owned();
        self.ask(move |s| s.set_wrapup(&id, disposition.as_deref(), notes.as_deref()))
    }
}

fn base36(mut n: u128) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    // Only ASCII digits and letters were pushed.
    String::from_utf8(out).unwrap_or_default()
}
