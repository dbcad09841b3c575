//! Small values the agent keeps across restarts (the `settings` table, migration 2), such
//! as the availability the agent chose. Keys are the caller's; values are text.

use crate::{Store, StoreError};
use rusqlite::OptionalExtension;

/// The key under which the agent's chosen availability (`available`, `away`, `dnd`) is kept.
pub const AGENT_CHOSEN: &str = "agent.chosen";

impl Store {
    /// The value kept under `key`, if any.
    pub fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Keeps `value` under `key`, replacing what was there.
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?
            .execute([key, value])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Recorder, Store, AGENT_CHOSEN};

    #[test]
    fn a_setting_survives_a_reopen_and_is_replaced_in_place() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::open(dir.path(), "2026-12-06T21:00:00Z")
            .expect("open")
            .store;
        assert_eq!(store.setting(AGENT_CHOSEN).expect("read"), None);
        store.set_setting(AGENT_CHOSEN, "away").expect("write");
        store.set_setting(AGENT_CHOSEN, "dnd").expect("write");
        drop(store);
        let store = Store::open(dir.path(), "2026-12-06T21:01:00Z")
            .expect("reopen")
            .store;
        assert_eq!(
            store.setting(AGENT_CHOSEN).expect("read").as_deref(),
            Some("dnd")
        );
        assert_eq!(store.setting("other").expect("read"), None);
    }

    #[test]
    fn the_recorder_writes_a_setting_on_its_thread() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), "2026-12-06T21:00:00Z")
            .expect("open")
            .store;
        let recorder = Recorder::spawn(store, |_| {}).expect("thread");
        recorder
            .handle()
            .setting(AGENT_CHOSEN.into(), "away".into());
        recorder.finish();
        let store = Store::open(dir.path(), "2026-12-06T21:01:00Z")
            .expect("reopen")
            .store;
        assert_eq!(
            store.setting(AGENT_CHOSEN).expect("read").as_deref(),
            Some("away")
        );
    }
}
