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
    use crate::{schema, Recorder, Store, AGENT_CHOSEN, FILE_NAME};

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
    fn a_store_of_schema_1_gains_settings_and_keeps_its_calls() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let mut conn = rusqlite::Connection::open(dir.path().join(FILE_NAME)).expect("open");
            schema::migrate_to(&mut conn, 1).expect("schema 1");
            conn.execute_batch(
                "INSERT INTO runs (started_at) VALUES ('2026-12-01T09:00:00Z');
                 INSERT INTO calls (id, run, direction, state, remote_number, remote_uri,
                    started_at, ended_at, last_seen_at, end_reason_code)
                 VALUES ('r1c1', 1, 'inbound', 'ended', '+15550102000',
                    'sip:+15550102000@carrier.test', '2026-12-01T09:00:00Z',
                    '2026-12-01T09:01:00Z', '2026-12-01T09:01:00Z', 'hangup_remote');",
            )
            .expect("a call of the old schema");
        }
        let opened = Store::open(dir.path(), "2026-12-06T21:00:00Z").expect("upgrades");
        assert!(opened.moved_aside.is_none(), "upgraded in place");
        let mut store = opened.store;
        assert_eq!(store.setting(AGENT_CHOSEN).expect("read"), None);
        store.set_setting(AGENT_CHOSEN, "away").expect("write");
        assert!(
            store.get("r1c1").expect("read").is_some(),
            "the call is kept"
        );
        assert_eq!(store.run(), 2);
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
