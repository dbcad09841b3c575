//! A child process that cannot outlive its test.
//!
//! Two guards: `Drop` terminates it (SIGTERM, then SIGKILL of its whole process group), and it
//! runs under coreutils `timeout LIFETIME`, so even when the test process itself is killed
//! (no `Drop` runs) the peer is gone after its lifetime.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::tools::tool;
use crate::TestbedError;

const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;

// std can only SIGKILL a single child; graceful stops (Kamailio and SIPp clean up and exit on
// SIGTERM) and killing a whole process group need kill(2). libc is linked anyway.
unsafe extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions; a stale pid only yields ESRCH.
    unsafe {
        kill(pid, sig);
    }
}

/// Exit code `timeout` uses when the lifetime ran out.
pub(crate) const LIFETIME_EXPIRED: i32 = 124;

pub(crate) struct Guarded {
    child: Child,
    status: Option<ExitStatus>,
}

impl Guarded {
    /// Starts `bin args` in `cwd`, in a new process group, ended after `lifetime` at the latest.
    pub(crate) fn spawn(
        bin: &Path,
        args: &[OsString],
        lifetime: Duration,
        cwd: &Path,
        stdout: Stdio,
        stderr: Stdio,
    ) -> Result<Guarded, TestbedError> {
        use std::os::unix::process::CommandExt;
        let timeout = tool("timeout")?;
        let secs = lifetime.as_secs().max(1).to_string();
        let child = Command::new(&timeout)
            // TERM first (clean shutdown), KILL 5 s later if that did not work.
            .args(["--signal=TERM", "--kill-after=5", &secs])
            .arg(bin)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Own group: stopping the peer also reaches every process it forked.
            .process_group(0)
            .spawn()
            .map_err(|e| TestbedError::io(format!("start {}", bin.display()), e))?;
        Ok(Guarded {
            child,
            status: None,
        })
    }

    /// The exit status if it has exited.
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().ok().flatten();
        }
        self.status
    }

    /// Waits up to `limit` for the process to exit on its own.
    pub(crate) fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.try_wait() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM (which `timeout` forwards), then after `grace` SIGKILL to the whole group.
    pub(crate) fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.try_wait() {
            return Some(s);
        }
        let pid = self.child.id() as i32;
        signal(pid, SIGTERM);
        if let Some(s) = self.wait_for(grace) {
            return Some(s);
        }
        // Still running, so not reaped: its pid is still its group id and cannot have been
        // reused by an unrelated process.
        signal(-pid, SIGKILL);
        self.status = self.child.wait().ok();
        self.status
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(3));
    }
}

/// "exit 1", "killed by signal 9", "lifetime expired" for messages.
pub(crate) fn describe(status: Option<ExitStatus>) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status {
        None => "still running".to_string(),
        Some(s) => match (s.code(), s.signal()) {
            (Some(LIFETIME_EXPIRED), _) => "lifetime expired, stopped by `timeout`".to_string(),
            (Some(c), _) => format!("exit {c}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            (None, None) => "unknown exit".to_string(),
        },
    }
}

/// Runs a short command to completion, killed after `limit` (it runs under `timeout` too).
pub(crate) fn run_bounded(
    bin: &Path,
    args: &[&str],
    limit: Duration,
) -> Result<std::process::Output, TestbedError> {
    let timeout = tool("timeout")?;
    let secs = limit.as_secs().max(1).to_string();
    Command::new(&timeout)
        .args(["--signal=KILL", &secs])
        .arg(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| TestbedError::io(format!("run {}", bin.display()), e))
}
