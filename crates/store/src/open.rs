//! Opening the store file: WAL, durability, schema; and what to do with a file that cannot
//! be used (moved aside, never deleted).

use crate::schema::{self, MigrationError};
use crate::StoreError;
use rusqlite::{Connection, ErrorCode};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why an existing file was not usable: it is moved aside and a fresh store made.
pub(crate) struct Damaged(pub String);

pub(crate) enum OpenFailure {
    Damaged(Damaged),
    Fatal(StoreError),
}

impl From<StoreError> for OpenFailure {
    fn from(e: StoreError) -> Self {
        OpenFailure::Fatal(e)
    }
}

/// Opens (creating if absent) and migrates the store at `path`.
pub(crate) fn open_file(path: &Path) -> Result<Connection, OpenFailure> {
    let existed = path.exists();
    // Judge a foreign file before SQLite opens it: closing a connection may reset a WAL
    // file beside it, which belongs to whatever the file was.
    if existed {
        if let Some(why) = not_sqlite(path) {
            return Err(OpenFailure::Damaged(Damaged(why)));
        }
    }
    let sql = |e: rusqlite::Error| classify(e, existed);
    let mut conn = Connection::open(path).map_err(sql)?;
    // A crash loses nothing committed, and a power loss nothing either: with WAL and
    // synchronous=FULL each commit syncs the log. NORMAL would lose the last commits on power
    // loss, and the record of the call just answered is the one that matters. The cost (an
    // fsync per write) is why the store runs on its own thread.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(sql)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenFailure::Fatal(StoreError::NoWal(mode)));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sql)?;
    conn.busy_timeout(Duration::from_secs(2)).map_err(sql)?;
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(sql)?;
    if check != "ok" {
        return Err(OpenFailure::Damaged(Damaged(format!(
            "integrity check: {check}"
        ))));
    }
    match schema::migrate(&mut conn) {
        Ok(_) => Ok(conn),
        Err(MigrationError::TooNew { found, known }) => {
            Err(OpenFailure::Fatal(StoreError::TooNew { found, known }))
        }
        Err(MigrationError::Sql(e)) => Err(sql(e)),
    }
}

/// Why the file at `path` is not an SQLite database, judged by its header; `None` when it
/// is one, is empty (SQLite makes it one), or cannot be read (SQLite's open then says why).
fn not_sqlite(path: &Path) -> Option<String> {
    use std::io::Read;
    const MAGIC: &[u8; 16] = b"SQLite format 3\0";
    let mut header = Vec::with_capacity(MAGIC.len());
    let file = std::fs::File::open(path).ok()?;
    file.take(MAGIC.len() as u64)
        .read_to_end(&mut header)
        .ok()?;
    (!header.is_empty() && header != MAGIC)
        .then(|| "not an SQLite database (bad header)".to_owned())
}

/// A damaged or unreadable existing file is moved aside; anything else (a read-only
/// directory, a full disk) is the store being unavailable.
fn classify(e: rusqlite::Error, existed: bool) -> OpenFailure {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            OpenFailure::Damaged(Damaged(e.to_string()))
        }
        Some(ErrorCode::CannotOpen) if existed => OpenFailure::Damaged(Damaged(e.to_string())),
        _ => OpenFailure::Fatal(StoreError::from(e)),
    }
}

/// Renames the store file (and its WAL and shared-memory files, which belong to it and must
/// not be replayed into the fresh store) to `<name>.damaged-<unix seconds>`.
pub(crate) fn move_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut to = path.with_file_name(format!("{name}.damaged-{stamp}"));
    let mut n = 1;
    while to.exists() {
        to = path.with_file_name(format!("{name}.damaged-{stamp}-{n}"));
        n += 1;
    }
    for suffix in ["-wal", "-shm"] {
        let side = sibling(path, suffix);
        if side.exists() {
            std::fs::rename(&side, sibling(&to, suffix)).map_err(|source| {
                StoreError::MoveAside {
                    path: side.clone(),
                    source,
                }
            })?;
        }
    }
    std::fs::rename(path, &to).map_err(|source| StoreError::MoveAside {
        path: path.to_owned(),
        source,
    })?;
    Ok(to)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}
