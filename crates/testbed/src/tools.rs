//! Finding the external programs, and the rule for when they are missing: an end-to-end test
//! FAILS (it must not pass silently on a machine that never ran it), unless the developer
//! opted out with `SOFTPHONE_SKIP_E2E=1`.

use std::env;
use std::path::{Path, PathBuf};

use crate::TestbedError;

/// Environment variable that skips end-to-end tests (they print a note and return).
pub const SKIP_ENV: &str = "SOFTPHONE_SKIP_E2E";

/// Directories searched after `PATH`. Kamailio and kamcmd live in /usr/sbin, which is not on
/// an ordinary user's `PATH` on Debian: without this a non-root `cargo test` would claim
/// Kamailio is missing right after `make deps` installed it.
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/sbin", "/usr/local/sbin"];

/// Full path of an executable, searched in `PATH` then the sbin directories.
pub fn find_tool(bin: &str) -> Option<PathBuf> {
    if bin.contains('/') {
        let p = PathBuf::from(bin);
        return is_executable(&p).then_some(p);
    }
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(bin))
        .find(|p| is_executable(p))
}

/// Whether `bin` is installed.
pub fn which(bin: &str) -> bool {
    find_tool(bin).is_some()
}

/// Like [`find_tool`], as a typed error naming the fix.
pub fn tool(bin: &str) -> Result<PathBuf, TestbedError> {
    find_tool(bin).ok_or_else(|| TestbedError::MissingTool {
        tool: bin.to_string(),
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// True when the developer asked to skip end-to-end tests (`SOFTPHONE_SKIP_E2E=1`).
pub fn skip_e2e() -> bool {
    matches!(
        env::var(SKIP_ENV).as_deref(),
        Ok("1") | Ok("true") | Ok("yes")
    )
}

/// Gate for an end-to-end test, usually through [`require!`](crate::require):
/// - `SOFTPHONE_SKIP_E2E=1`: prints a note and returns `false` (the test returns early);
/// - a tool is missing: **panics** with the fix (`make deps`), so the test fails;
/// - otherwise returns `true`.
pub fn require_tools(test: &str, tools: &[&str]) -> bool {
    if skip_e2e() {
        eprintln!("note: {test}: skipped end-to-end test ({SKIP_ENV} is set)");
        return false;
    }
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !which(t)).collect();
    if !missing.is_empty() {
        panic!(
            "{test}: missing {}: run `make deps` (scripts/install-deps.sh) to install the \
             end-to-end test peers, or set {SKIP_ENV}=1 to skip end-to-end tests",
            missing.join(", ")
        );
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_and_not_nonsense() {
        assert!(which("sh"));
        assert!(!which("surely-not-a-real-tool-4711"));
        assert!(find_tool("/bin/sh").is_some());
    }

    #[test]
    fn a_missing_tool_fails_the_test_unless_skipped() {
        if skip_e2e() {
            assert!(!require_tools("t", &["surely-not-a-real-tool-4711"]));
            return;
        }
        let r = std::panic::catch_unwind(|| require_tools("t", &["surely-not-a-real-tool-4711"]));
        let msg = r.expect_err("must fail");
        let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("make deps"), "{msg}");
        assert!(require_tools("t", &["sh"]));
    }

    #[test]
    fn missing_tool_error_names_the_fix() {
        let e = tool("surely-not-a-real-tool-4711").unwrap_err();
        assert!(e.to_string().contains("make deps"), "{e}");
    }
}
