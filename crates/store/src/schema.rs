//! The schema, as a list of migrations applied in order. `PRAGMA user_version` holds how many
//! have been applied, so each runs once, in its own transaction, and a store written by a
//! newer agent (a higher version than this list knows) is refused rather than misread.

use rusqlite::{Connection, TransactionBehavior};

/// Each entry takes the schema from version `i` to `i + 1`. Append only: never edit one that
/// has shipped.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: runs and calls.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started_at TEXT NOT NULL
    );
    CREATE TABLE calls (
        n INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        run INTEGER REFERENCES runs(id),
        direction TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
        state TEXT NOT NULL,
        remote_number TEXT NOT NULL,
        remote_display_name TEXT,
        remote_uri TEXT NOT NULL,
        started_at TEXT NOT NULL,
        answered_at TEXT,
        ended_at TEXT,
        last_seen_at TEXT NOT NULL,
        duration_s INTEGER NOT NULL DEFAULT 0,
        end_reason_code TEXT,
        end_reason_message TEXT,
        end_reason_sip_status INTEGER,
        quality TEXT,
        disposition TEXT,
        notes TEXT,
        crm_record TEXT,
        log_state TEXT NOT NULL DEFAULT 'pending'
            CHECK (log_state IN ('pending', 'delivered', 'saved', 'failed')),
        task_id TEXT,
        log_error TEXT
    );
    CREATE INDEX calls_live ON calls(state) WHERE state <> 'ended';
    -- Talk time, from answer to the end (or to the last instant the call was seen live).
    CREATE TRIGGER calls_duration_insert AFTER INSERT ON calls BEGIN
        UPDATE calls SET last_seen_at = last_seen_at WHERE n = NEW.n;
    END;
    CREATE TRIGGER calls_duration_update AFTER UPDATE OF answered_at, ended_at, last_seen_at ON calls BEGIN
        UPDATE calls SET duration_s = CASE WHEN answered_at IS NULL THEN 0 ELSE
            max(0, unixepoch(coalesce(ended_at, last_seen_at)) - unixepoch(answered_at)) END
        WHERE n = NEW.n;
    END;
    CREATE INDEX calls_log_state ON calls(log_state) WHERE log_state IN ('pending', 'delivered');",
    // 2: small values kept across restarts (the agent's chosen availability).
    "CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT
    );",
];

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("the store has schema version {found}, newer than this agent knows ({known}): written by a newer softphone")]
    TooNew { found: i64, known: i64 },
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

pub(crate) fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Brings the schema up to date; answers the version it had.
pub(crate) fn migrate(conn: &mut Connection) -> Result<i64, MigrationError> {
    migrate_to(conn, MIGRATIONS.len())
}

/// Applies migrations up to `target` (tests step through them one by one).
pub(crate) fn migrate_to(conn: &mut Connection, target: usize) -> Result<i64, MigrationError> {
    let found = version(conn)?;
    let known = MIGRATIONS.len() as i64;
    if found > known {
        return Err(MigrationError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .take(target)
        .skip(found as usize)
    {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_migration_applies_once_in_order() {
        let mut conn = Connection::open_in_memory().expect("in-memory database");
        for step in 1..=MIGRATIONS.len() {
            migrate_to(&mut conn, step).expect("migration applies");
            assert_eq!(version(&conn).expect("version"), step as i64);
        }
        assert_eq!(
            migrate(&mut conn).expect("nothing left to apply"),
            MIGRATIONS.len() as i64
        );
        let tables: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("tables");
        assert_eq!(tables, ["calls", "runs", "settings"]);
    }

    #[test]
    fn a_store_from_a_newer_agent_is_refused() {
        let mut conn = Connection::open_in_memory().expect("in-memory database");
        conn.pragma_update(None, "user_version", 99).expect("set");
        assert!(matches!(
            migrate(&mut conn),
            Err(MigrationError::TooNew { found: 99, .. })
        ));
    }

    #[test]
    fn a_failing_migration_leaves_the_version_unchanged() {
        let mut conn = Connection::open_in_memory().expect("in-memory database");
        // The table migration 1 creates already exists: it fails and rolls back whole.
        conn.execute_batch("CREATE TABLE runs (x)").expect("create");
        assert!(migrate(&mut conn).is_err());
        assert_eq!(version(&conn).expect("version"), 0);
        assert!(conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'calls'",
                [],
                |r| r.get::<_, i64>(0)
            )
            .is_ok_and(|n| n == 0));
    }
}
