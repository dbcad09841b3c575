//! A child process that cannot outlive its test.
//!
//! Two guards: `Drop` terminates it (SIGTERM, then SIGKILL of its whole process group), and it
//! runs under coreutils `timeout LIFETIME`, so even when the test process itself is killed
//! (no `Drop` runs) the peer and its children are gone after their lifetime.

use std::ffi::OsString;
use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::tools::tool;
use crate::{wait_until, TestbedError, TimedOut};

const SIGKILL: i32 = 9;
const SIGTERM: i32 = 15;
const SIGCONT: i32 = 18;
const SIGSTOP: i32 = 19;

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

/// The child is `timeout`, leader of a new process group that holds the peer and everything
/// it forks. Invariant: the leader is reaped only after a SIGKILL to its group, sent while it
/// is alive or a zombie. A process group id cannot be reused while its leader is unreaped, so
/// that SIGKILL reaches the peer's leftovers (e.g. Kamailio children that outlive their main
/// process) and never anyone else.
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
            // On SIGTERM or when the lifetime is over, `timeout` sends TERM to the whole group,
            // and KILL 5 s later to whatever is left.
            .args(["--signal=TERM", "--kill-after=5", &secs])
            .arg(bin)
            .args(args)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // `timeout` makes its own group too; doing it here makes it certain at spawn.
            .process_group(0)
            .spawn()
            .map_err(|e| TestbedError::io(format!("start {}", bin.display()), e))?;
        Ok(Guarded {
            child,
            status: None,
        })
    }

    /// Like [`spawn`](Self::spawn), with stdout and stderr both written to `log`.
    pub(crate) fn spawn_logging(
        bin: &Path,
        args: &[OsString],
        lifetime: Duration,
        cwd: &Path,
        log: File,
    ) -> Result<Guarded, TestbedError> {
        let err = log
            .try_clone()
            .map_err(|e| TestbedError::io("open the log file again for stderr", e))?;
        Self::spawn(bin, args, lifetime, cwd, Stdio::from(log), Stdio::from(err))
    }

    /// The exit status if it has exited (then the group is swept and the leader reaped).
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() && self.leader_exited() {
            self.reap();
        }
        self.status
    }

    /// Waits up to `limit` for the process to exit on its own.
    pub(crate) fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let exited = || Ok::<_, TimedOut>(self.try_wait());
        wait_until("an exit", limit, Duration::from_millis(20), exited).ok()
    }

    /// Polls `ready` every `every` until the peer this process runs says it is ready. Fails
    /// with [`TestbedError::ExitedEarly`] when the process exits first, or stops it and fails
    /// with [`TestbedError::NotReady`] after `within`; `log` reads the peer's log for both.
    pub(crate) fn wait_ready<T>(
        &mut self,
        what: &str,
        within: Duration,
        every: Duration,
        log: impl Fn() -> String,
        mut ready: impl FnMut() -> Option<T>,
    ) -> Result<T, TestbedError> {
        let result = wait_until(what, within, every, || match self.try_wait() {
            Some(status) => Err(TestbedError::exited_early(what, status, log())),
            None => Ok(ready()),
        });
        if result.is_err() {
            self.terminate(Duration::from_secs(5));
        }
        result.map_err(|e| e.not_ready(log))
    }

    /// SIGTERM (which `timeout` passes to the whole group); after a quarter of `grace` SIGTERM
    /// to the group directly (a process still starting up may have missed the first);
    /// after `grace` SIGKILL.
    pub(crate) fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        if let Some(s) = self.try_wait() {
            return Some(s);
        }
        let pid = self.pid();
        signal(pid, SIGTERM);
        let first = grace / 4;
        if let Some(s) = self.wait_for(first) {
            return Some(s);
        }
        signal(-pid, SIGTERM);
        if let Some(s) = self.wait_for(grace - first) {
            return Some(s);
        }
        self.reap();
        self.status
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Stops (SIGSTOP) or resumes (SIGCONT) the whole group: a peer that hangs, its sockets
    /// still open (the kernel keeps accepting and acknowledging for it).
    pub(crate) fn freeze(&self, frozen: bool) {
        signal(-self.pid(), if frozen { SIGSTOP } else { SIGCONT });
    }

    /// Whether the leader has exited, without reaping it (it stays a zombie, keeping its pid
    /// and so the group id reserved).
    fn leader_exited(&self) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())) else {
            return true;
        };
        // "pid (comm) STATE ...": comm may contain anything, so split at the last ')'.
        let state = stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].trim_start().chars().next());
        matches!(state, Some('Z') | Some('X') | None)
    }

    /// SIGKILL to the group (leader alive or zombie: the group id is still ours), then reap.
    fn reap(&mut self) {
        signal(-self.pid(), SIGKILL);
        self.status = self.child.wait().ok();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(4));
    }
}

/// Prints the last `lines` lines of a peer's `log` to stderr, for a failing test's output.
pub(crate) fn print_log_tail(name: &str, log: &str, lines: usize) {
    let tail: Vec<&str> = log.lines().rev().take(lines).collect();
    eprintln!("--- {name}, last {} lines ---", tail.len());
    for line in tail.iter().rev() {
        eprintln!("{line}");
    }
    eprintln!("--- end of {name} (SOFTPHONE_KEEP_TESTBED=1 keeps the file) ---");
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
