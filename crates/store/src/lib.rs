//! Call records on disk: one SQLite file (`calls.db`) in the agent's data directory.
//!
//! The agent feeds the store every view of a call the page is told about (created, ringing,
//! answered, held, ended), so a record exists from the call's first instant and follows it
//! transition by transition; while a call is live a heartbeat keeps `last_seen_at` fresh, so
//! a call cut short by an agent crash is closed at the next start as `interrupted` with its
//! talk time up to the last heartbeat. Ended calls then wait with log state `pending` until a
//! page saves them to the CRM (`delivered` -> `saved` / `failed`).
//!
//! Times are RFC 3339 UTC text as the views carry them (they sort as text); the caller passes
//! `now` in the same form, so the store reads no clock for its records.
//!
//! Writes sync to disk (see [`open`]), so the agent runs the store on its own thread
//! ([`Recorder`]).

mod open;
mod recorder;
mod schema;
mod settings;

pub use recorder::{Health, Recorder, RecorderHandle};
pub use settings::AGENT_CHOSEN;

use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use std::path::{Path, PathBuf};
use wire::{
    CallQuality, CallView, CrmRecord, Direction, EndReason, HistoryEntry, HistoryPage, LogState,
    Remote,
};

/// The store's file in the data directory.
pub const FILE_NAME: &str = "calls.db";

/// The end reason code of a call the agent did not see end.
pub const INTERRUPTED: &str = "interrupted";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot move the damaged store {path} aside: {source}")]
    MoveAside {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the store has schema version {found}, newer than this agent knows ({known}): written by a newer softphone; records are not kept until it is upgraded")]
    TooNew { found: i64, known: i64 },
    #[error("the store cannot use write-ahead logging (journal mode {0})")]
    NoWal(String),
    #[error("the disk is full")]
    Full,
    #[error("the data directory is read-only")]
    ReadOnly,
    #[error("cannot start the call records thread: {0}")]
    Thread(std::io::Error),
    #[error("the call records thread has stopped")]
    Stopped,
    #[error("no call {0:?} in the history")]
    UnknownCall(String),
    #[error("{0}")]
    Sql(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::Full,
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly,
            _ => StoreError::Sql(e),
        }
    }
}

/// A damaged store file found at start, and where it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedAside {
    pub to: PathBuf,
    /// What was wrong with it.
    pub why: String,
}

/// What opening found.
#[derive(Debug)]
pub struct Opened {
    pub store: Store,
    /// Set when the file at start could not be used: it was renamed and a fresh store made.
    pub moved_aside: Option<MovedAside>,
    /// Calls left live by the previous run, now closed as `interrupted`.
    pub interrupted: usize,
}

#[derive(Debug)]
pub struct Store {
    conn: Connection,
    run: i64,
}

impl Store {
    /// Opens `dir/calls.db` (creating the directory and the file as needed), moves a damaged
    /// or unreadable file aside, closes the calls the last run left live, and starts a run.
    pub fn open(dir: &Path, now: &str) -> Result<Opened, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
            dir: dir.to_owned(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let (conn, moved_aside) = match open::open_file(&path) {
            Ok(conn) => (conn, None),
            Err(open::OpenFailure::Fatal(e)) => return Err(e),
            Err(open::OpenFailure::Damaged(open::Damaged(why))) => {
                let to = open::move_aside(&path)?;
                match open::open_file(&path) {
                    Ok(conn) => (conn, Some(MovedAside { to, why })),
                    Err(open::OpenFailure::Fatal(e)) => return Err(e),
                    Err(open::OpenFailure::Damaged(open::Damaged(why))) => {
                        return Err(StoreError::Sql(rusqlite::Error::SqliteFailure(
                            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
                            Some(format!("a fresh store is unusable too: {why}")),
                        )))
                    }
                }
            }
        };
        let interrupted = close_interrupted(&conn)?;
        if moved_aside.is_some() {
            // Call ids name the run; the moved file's runs counted from 1 too, and their ids
            // may already be in Salesforce (`CallObject`). Start this store's runs where
            // those cannot have reached: at the current Unix time.
            let seed = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_secs());
            conn.execute(
                "INSERT INTO runs (id, started_at) VALUES (?1, ?2)",
                params![i64::try_from(seed).unwrap_or(i64::MAX / 2), now],
            )?;
        } else {
            conn.execute("INSERT INTO runs (started_at) VALUES (?1)", [now])?;
        }
        let run = conn.last_insert_rowid();
        Ok(Opened {
            store: Store { conn, run },
            moved_aside,
            interrupted,
        })
    }

    /// This run's number: 1, 2, 3, ... for the life of the store file.
    pub fn run(&self) -> i64 {
        self.run
    }

    /// Records a call's view: creates its record, or moves it to the view's state.
    pub fn record(&mut self, view: &CallView, now: &str) -> Result<(), StoreError> {
        let reason = view.end_reason.as_ref();
        let quality = view.quality.as_ref().map(quality_json);
        self.conn
            .prepare_cached(
                "INSERT INTO calls (id, run, direction, state, remote_number, remote_display_name,
                    remote_uri, started_at, answered_at, ended_at, last_seen_at,
                    end_reason_code, end_reason_message, end_reason_sip_status, quality)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state,
                    remote_number = excluded.remote_number,
                    remote_display_name = excluded.remote_display_name,
                    remote_uri = excluded.remote_uri,
                    answered_at = excluded.answered_at, ended_at = excluded.ended_at,
                    last_seen_at = excluded.last_seen_at,
                    end_reason_code = excluded.end_reason_code,
                    end_reason_message = excluded.end_reason_message,
                    end_reason_sip_status = excluded.end_reason_sip_status,
                    quality = coalesce(excluded.quality, quality)",
            )?
            .execute(params![
                view.id,
                self.run,
                wire_name(&view.direction),
                wire_name(&view.state),
                view.remote.number,
                view.remote.display_name,
                view.remote.uri,
                view.started_at,
                view.answered_at,
                view.ended_at,
                now,
                reason.map(|r| &r.code),
                reason.map(|r| &r.message),
                reason.and_then(|r| r.sip_status),
                quality,
            ])?;
        Ok(())
    }

    /// Runs `writes` in one transaction: one sync to disk for all of them. On an error
    /// nothing of it is kept (the caller may retry the writes one by one).
    pub fn in_one_transaction(
        &mut self,
        writes: impl FnOnce(&mut Store) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match writes(self) {
            Ok(()) => match self.conn.execute_batch("COMMIT") {
                Ok(()) => Ok(()),
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    Err(e.into())
                }
            },
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// New audio figures of a call (the final ones arrive after it ended); how many records
    /// changed (0 when the call was never recorded).
    pub fn quality(&mut self, id: &str, quality: &CallQuality) -> Result<usize, StoreError> {
        Ok(self
            .conn
            .prepare_cached("UPDATE calls SET quality = ?2 WHERE id = ?1")?
            .execute(params![id, quality_json(quality)])?)
    }

    /// Marks the live calls as seen at `now`: what an agent crash loses is the time since.
    pub fn heartbeat(&mut self, now: &str) -> Result<usize, StoreError> {
        Ok(self
            .conn
            .prepare_cached("UPDATE calls SET last_seen_at = ?1 WHERE state <> 'ended'")?
            .execute([now])?)
    }

    /// Up to `limit` calls, newest first, older than the call `before` (a call id from an
    /// earlier page) when given.
    pub fn history(&self, limit: usize, before: Option<&str>) -> Result<HistoryPage, StoreError> {
        let below = match before {
            None => i64::MAX,
            Some(id) => self
                .conn
                .query_row("SELECT n FROM calls WHERE id = ?1", [id], |r| r.get(0))
                .optional()?
                .ok_or_else(|| StoreError::UnknownCall(id.to_owned()))?,
        };
        let wanted = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut calls: Vec<HistoryEntry> = self
            .conn
            .prepare_cached(&format!(
                "{SELECT_ENTRY} WHERE n < ?1 ORDER BY n DESC LIMIT ?2"
            ))?
            .query_map(params![below, wanted.saturating_add(1)], entry)?
            .collect::<Result<_, _>>()?;
        let next_before = if calls.len() > limit {
            calls.truncate(limit);
            calls.last().map(|c| c.id.clone())
        } else {
            None
        };
        Ok(HistoryPage { calls, next_before })
    }

    /// One call's record.
    pub fn get(&self, id: &str) -> Result<Option<HistoryEntry>, StoreError> {
        Ok(self
            .conn
            .query_row(&format!("{SELECT_ENTRY} WHERE id = ?1"), [id], entry)
            .optional()?)
    }

    /// Ended calls whose log is not saved yet (`pending` or `delivered`), oldest first: what
    /// the agent offers to a page.
    pub fn outbox(&self) -> Result<Vec<HistoryEntry>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "{SELECT_ENTRY} WHERE state = 'ended' AND log_state IN ('pending', 'delivered') ORDER BY n"
            ))?
            .query_map([], entry)?
            .collect::<Result<_, _>>()?)
    }

    /// The call's log was offered to a page.
    pub fn mark_delivered(&mut self, id: &str) -> Result<(), StoreError> {
        self.set_log(id, LogState::Delivered, None, None)
    }

    /// A page saved the call's log as Task `task_id`.
    pub fn mark_saved(&mut self, id: &str, task_id: &str) -> Result<(), StoreError> {
        self.set_log(id, LogState::Saved, Some(task_id), None)
    }

    /// A page could not save the call's log.
    pub fn mark_failed(&mut self, id: &str, error: &str) -> Result<(), StoreError> {
        self.set_log(id, LogState::Failed, None, Some(error))
    }

    /// The call's saved log is out of date (its wrap-up changed while it was being saved):
    /// back to the outbox, its Task id kept so the Task is updated.
    pub fn requeue(&mut self, id: &str) -> Result<(), StoreError> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE calls SET log_state = 'pending', log_error = NULL
                 WHERE id = ?1 AND state = 'ended'",
            )?
            .execute([id])?;
        if changed == 0 {
            return Err(StoreError::UnknownCall(id.to_owned()));
        }
        Ok(())
    }

    /// The Salesforce record the page matched the call to (its Task names it).
    pub fn set_crm(&mut self, id: &str, record: &CrmRecord) -> Result<(), StoreError> {
        let json = serde_json::to_string(record).unwrap_or_default();
        let changed = self
            .conn
            .prepare_cached("UPDATE calls SET crm_record = ?2 WHERE id = ?1")?
            .execute(params![id, json])?;
        if changed == 0 {
            return Err(StoreError::UnknownCall(id.to_owned()));
        }
        Ok(())
    }

    /// The agent's wrap-up of an ended call. A log already saved or failed goes back to the
    /// outbox, keeping its Task id, so the page updates that Task with the disposition and
    /// notes.
    pub fn set_wrapup(
        &mut self,
        id: &str,
        disposition: Option<&str>,
        notes: Option<&str>,
    ) -> Result<(), StoreError> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE calls SET disposition = ?2, notes = ?3,
                    log_state = CASE WHEN state = 'ended' THEN 'pending' ELSE log_state END,
                    log_error = NULL
                 WHERE id = ?1",
            )?
            .execute(params![id, disposition, notes])?;
        if changed == 0 {
            return Err(StoreError::UnknownCall(id.to_owned()));
        }
        Ok(())
    }

    fn set_log(
        &mut self,
        id: &str,
        state: LogState,
        task_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        // A Task id once known is kept: a retried delivery updates that Task.
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE calls SET log_state = ?2, task_id = coalesce(?3, task_id), log_error = ?4
                 WHERE id = ?1",
            )?
            .execute(params![id, wire_name(&state), task_id, error])?;
        if changed == 0 {
            return Err(StoreError::UnknownCall(id.to_owned()));
        }
        Ok(())
    }
}

/// Closes every call the last run left live at the last instant it was seen live, as
/// `interrupted`, with its log pending.
fn close_interrupted(conn: &Connection) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "UPDATE calls SET state = 'ended', ended_at = last_seen_at,
            end_reason_code = ?1, end_reason_message = ?2, end_reason_sip_status = NULL,
            log_state = 'pending', log_error = NULL
         WHERE state <> 'ended'",
        params![
            INTERRUPTED,
            "the agent stopped during the call; closed at its next start"
        ],
    )?)
}

const SELECT_ENTRY: &str = "SELECT id, direction, remote_number, remote_display_name, remote_uri,
    started_at, answered_at, ended_at, duration_s, end_reason_code, end_reason_message,
    end_reason_sip_status, log_state, task_id, log_error, disposition, notes, crm_record, quality
    FROM calls";

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<HistoryEntry> {
    let text = |i: usize| -> rusqlite::Result<String> { r.get(i) };
    let bad = |i: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("not a {what}").into(),
        )
    };
    let direction: Direction = from_wire_name(text(1)?).ok_or_else(|| bad(1, "direction"))?;
    let end_reason = match r.get::<_, Option<String>>(9)? {
        None => None,
        Some(code) => Some(EndReason {
            code,
            message: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
            sip_status: r.get(11)?,
        }),
    };
    Ok(HistoryEntry {
        id: text(0)?,
        direction,
        remote: Remote {
            number: text(2)?,
            display_name: r.get(3)?,
            uri: text(4)?,
        },
        started_at: text(5)?,
        answered_at: r.get(6)?,
        ended_at: r.get(7)?,
        duration_s: r.get::<_, i64>(8)?.max(0) as u64,
        end_reason,
        log_state: from_wire_name(text(12)?).ok_or_else(|| bad(12, "log state"))?,
        task_id: r.get(13)?,
        log_error: r.get(14)?,
        disposition: r.get(15)?,
        notes: r.get(16)?,
        crm_record: r
            .get::<_, Option<String>>(17)?
            .and_then(|c| serde_json::from_str(&c).ok()),
        quality: r
            .get::<_, Option<String>>(18)?
            .and_then(|q| serde_json::from_str(&q).ok()),
    })
}

fn quality_json(q: &CallQuality) -> String {
    // Plain numbers and no maps with non-string keys: serializing cannot fail.
    serde_json::to_string(q).unwrap_or_default()
}

/// The name serde gives a unit variant (`inbound`, `connected`): the store keeps the names
/// the bridge protocol uses.
fn wire_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn from_wire_name<T: serde::de::DeserializeOwned>(s: String) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s)).ok()
}

#[cfg(test)]
mod tests;
