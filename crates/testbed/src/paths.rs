//! Where the project keeps what the peers run: `tests/kamailio/` and `tests/sipp/` at the
//! repository root. Resolved from this crate's manifest directory at compile time, so tests
//! find them whatever the current directory is.

use std::path::{Path, PathBuf};

use crate::TestbedError;

/// The repository root (two levels above `crates/testbed`).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `tests/sipp/`: the SIPp scenarios.
pub fn sipp_dir() -> PathBuf {
    project_root().join("tests/sipp")
}

/// `tests/kamailio/`: the Kamailio config template and its db_text tables.
pub fn kamailio_dir() -> PathBuf {
    project_root().join("tests/kamailio")
}

/// A scenario file: `name` as given if that path exists, else `tests/sipp/<name>`.
pub fn sipp_scenario(name: impl AsRef<Path>) -> Result<PathBuf, TestbedError> {
    let name = name.as_ref();
    if name.is_file() {
        return Ok(name.to_path_buf());
    }
    let p = sipp_dir().join(name);
    if p.is_file() {
        Ok(p)
    } else {
        Err(TestbedError::MissingFile { path: p })
    }
}

/// Environment variable that keeps every scratch directory (configs, logs, SIPp traces)
/// after the test, for a post-mortem; their paths are printed.
pub const KEEP_ENV: &str = "SOFTPHONE_KEEP_TESTBED";

/// A fresh scratch directory under the system temp dir (kept if `SOFTPHONE_KEEP_TESTBED=1`).
/// Short paths on purpose: Kamailio's ctl unix socket lives in it (108-byte limit).
pub fn scratch_dir(prefix: &str) -> Result<tempfile::TempDir, TestbedError> {
    let mut dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| TestbedError::io("create a scratch directory", e))?;
    if matches!(std::env::var(KEEP_ENV).as_deref(), Ok("1")) {
        dir.disable_cleanup(true);
        eprintln!("note: keeping {}", dir.path().display());
    }
    Ok(dir)
}
