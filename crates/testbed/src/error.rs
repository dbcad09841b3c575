//! The one error type of the testbed. Every variant carries what a developer needs to fix a
//! failing end-to-end test without re-running it: the command, the log, the hint.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Why a peer could not be started, queried or stopped.
#[derive(Debug)]
pub enum TestbedError {
    /// A program the test needs is not installed.
    MissingTool { tool: String },
    /// A file the testbed ships (config template, scenario) is not where it should be.
    MissingFile { path: PathBuf },
    /// An I/O operation failed; `what` says which one.
    Io { what: String, source: io::Error },
    /// No port could be found that is free for both UDP and TCP on 127.0.0.1.
    NoFreePort,
    /// The process exited before it became ready (bad config, port taken, ...).
    ExitedEarly {
        what: String,
        status: String,
        log: String,
    },
    /// The process is running but did not become ready in time.
    NotReady {
        what: String,
        waited: Duration,
        log: String,
    },
    /// A control command (`kamcmd ...`) failed.
    Command {
        command: String,
        status: String,
        output: String,
    },
    /// A wait for a condition (registration appears, ...) ran out of time.
    Timeout {
        what: String,
        waited: Duration,
        detail: String,
    },
}

impl TestbedError {
    pub(crate) fn io(what: impl Into<String>, source: io::Error) -> Self {
        TestbedError::Io {
            what: what.into(),
            source,
        }
    }

    /// `status` ended the process before it was ready.
    pub(crate) fn exited_early(what: &str, status: std::process::ExitStatus, log: String) -> Self {
        TestbedError::ExitedEarly {
            what: what.to_string(),
            status: crate::process::describe(Some(status)),
            log,
        }
    }

    /// A start that ran out of time is `NotReady`, with the peer's log; other errors stay.
    pub(crate) fn not_ready(self, log: impl FnOnce() -> String) -> Self {
        match self {
            TestbedError::Timeout { what, waited, .. } => TestbedError::NotReady {
                what,
                waited,
                log: log(),
            },
            e => e,
        }
    }

    /// A wait that ran out of time, with `detail` (what the peer had done by then); other
    /// errors stay as they are.
    pub(crate) fn with_detail(self, detail: impl FnOnce() -> String) -> Self {
        match self {
            TestbedError::Timeout { what, waited, .. } => TestbedError::Timeout {
                what,
                waited,
                detail: detail(),
            },
            e => e,
        }
    }
}

impl fmt::Display for TestbedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestbedError::MissingTool { tool } => write!(
                f,
                "`{tool}` is not installed: run `make deps` (scripts/install-deps.sh), \
                 or set SOFTPHONE_SKIP_E2E=1 to skip end-to-end tests"
            ),
            TestbedError::MissingFile { path } => {
                write!(f, "testbed file missing: {}", path.display())
            }
            TestbedError::Io { what, source } => write!(f, "{what}: {source}"),
            TestbedError::NoFreePort => {
                write!(f, "no port free for both UDP and TCP on 127.0.0.1")
            }
            TestbedError::ExitedEarly { what, status, log } => {
                write!(
                    f,
                    "{what} exited before it was ready ({status})\n--- log ---\n{log}"
                )
            }
            TestbedError::NotReady { what, waited, log } => {
                write!(f, "{what} not ready after {waited:?}\n--- log ---\n{log}")
            }
            TestbedError::Command {
                command,
                status,
                output,
            } => write!(f, "`{command}` failed ({status}):\n{output}"),
            TestbedError::Timeout {
                what,
                waited,
                detail,
            } => write!(f, "timed out after {waited:?} waiting for {what}\n{detail}"),
        }
    }
}

impl std::error::Error for TestbedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TestbedError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
