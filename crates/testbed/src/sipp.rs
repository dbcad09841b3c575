//! SIPp, QA's SIP traffic tool, as a bounded child of a test.
//!
//! Every run gets, unless the caller's args already say otherwise: `-i 127.0.0.1` (and the
//! control socket on 127.0.0.1, which SIPp otherwise binds on 0.0.0.0:8888), `-p` a free port,
//! `-m 1`; always: `-timeout` (with `-timeout_error`, so running out of time is a failure),
//! `-nostdin`, and message/error/log traces in a scratch directory that end up in the
//! [`SippOutcome`].

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::paths::{scratch_dir, sipp_scenario};
use crate::port::{on_fresh_ports, Attempt};
use crate::process::{describe, Guarded};
use crate::tools::tool;
use crate::{free_port, is_bound, wait_until, TestbedError, TimedOut};

/// Extra time after SIPp's own `-timeout` before the testbed kills it.
const GRACE: Duration = Duration::from_secs(5);
/// SIPp's exit code when it cannot bind its SIP port.
const EXIT_NO_BIND: i32 = 254;

/// Entry points; see the module docs for the arguments added to every run.
pub struct Sipp;

impl Sipp {
    /// Runs a scenario to completion (or `timeout`) and returns what happened.
    ///
    /// `scenario`: a `.xml` file (a path, or a name under `tests/sipp/`), or the name of a
    /// built-in scenario (`uas`, `uac`, ...). `args`: the rest of SIPp's command line, e.g.
    /// `["-s", "1002", "-au", "1002", "-ap", "secret1002", "127.0.0.1:5070"]`.
    pub fn run(
        scenario: impl AsRef<Path>,
        args: &[&str],
        timeout: Duration,
    ) -> Result<SippOutcome, TestbedError> {
        Ok(Self::spawn(scenario, args, timeout)?.wait())
    }

    /// Starts a scenario in the background (e.g. a UAS the softphone talks to) and returns
    /// once its SIP port is bound. Collect the result with [`SippProcess::wait`].
    pub fn spawn(
        scenario: impl AsRef<Path>,
        args: &[&str],
        timeout: Duration,
    ) -> Result<SippProcess, TestbedError> {
        let port_given = args.contains(&"-p");
        on_fresh_ports("sipp", |_| {
            let mut p = match Self::spawn_once(scenario.as_ref(), args, timeout) {
                Ok(p) => p,
                e => return Attempt::Done(e),
            };
            // SIPp exits at once when it cannot bind its port; a port it was given is the
            // caller's to fix, one we picked gets a fresh one.
            let lost_the_port = p.process.try_wait().and_then(|s| s.code()) == Some(EXIT_NO_BIND);
            if lost_the_port && !port_given {
                Attempt::PortTaken(Ok(p))
            } else {
                Attempt::Done(Ok(p))
            }
        })
    }

    fn spawn_once(
        scenario: &Path,
        args: &[&str],
        timeout: Duration,
    ) -> Result<SippProcess, TestbedError> {
        let sipp = tool("sipp")?;
        let dir = scratch_dir("sipp-")?;
        let d = dir.path();
        let has = |flag: &str| args.contains(&flag);

        let mut cmd: Vec<OsString> = Vec::new();
        if scenario.extension().is_some_and(|e| e == "xml") {
            let path = sipp_scenario(scenario)?;
            push(&mut cmd, &["-sf"]);
            cmd.push(path.into());
        } else {
            push(&mut cmd, &["-sn", &scenario.to_string_lossy()]);
        }
        if !has("-i") {
            push(&mut cmd, &["-i", "127.0.0.1"]);
        }
        if !has("-ci") {
            push(&mut cmd, &["-ci", "127.0.0.1"]);
        }
        let port = match args.iter().position(|a| *a == "-p") {
            Some(i) => args
                .get(i + 1)
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| {
                    let e = std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a port");
                    TestbedError::io("SIPp argument -p", e)
                })?,
            None => {
                let p = free_port()?;
                push(&mut cmd, &["-p", &p.to_string()]);
                p
            }
        };
        if !has("-m") {
            push(&mut cmd, &["-m", "1"]);
        }
        let secs = timeout.as_secs().max(1).to_string();
        push(&mut cmd, &["-timeout", &secs, "-timeout_error", "-nostdin"]);
        for (flag, file_flag, file) in [
            ("-trace_msg", "-message_file", "messages.log"),
            ("-trace_err", "-error_file", "errors.log"),
            ("-trace_logs", "-log_file", "logs.log"),
        ] {
            push(&mut cmd, &[flag, file_flag]);
            cmd.push(d.join(file).into());
        }
        cmd.extend(args.iter().map(OsString::from));

        let command = format!(
            "sipp {}",
            cmd.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let stdout = File::create(d.join("stdout.txt"))
            .map_err(|e| TestbedError::io("create SIPp stdout file", e))?;
        let stderr = File::create(d.join("stderr.txt"))
            .map_err(|e| TestbedError::io("create SIPp stderr file", e))?;
        let process = Guarded::spawn(
            &sipp,
            &cmd,
            timeout + GRACE * 2,
            d,
            Stdio::from(stdout),
            Stdio::from(stderr),
        )?;
        let mut p = SippProcess {
            process,
            dir,
            port,
            timeout,
            started: Instant::now(),
            command,
        };
        p.wait_bound();
        Ok(p)
    }

    /// A scenario shipped in `tests/sipp/`, as a full path.
    pub fn scenario(name: &str) -> Result<PathBuf, TestbedError> {
        sipp_scenario(name)
    }
}

/// The arguments of SIPp as a client of `server` (`IP:PORT`) that sends to `service` (`-s`,
/// the Request-URI's user: a user to register, a number to call) and answers digest
/// challenges as `user` with `password` (`-au`, `-ap`); `extra` (e.g. `["-t", "t1"]`) go
/// before the address.
pub fn client_args<'a>(
    service: &'a str,
    (user, password): (&'a str, &'a str),
    extra: &[&'a str],
    server: &'a str,
) -> Vec<&'a str> {
    let mut args = vec!["-s", service, "-au", user, "-ap", password];
    args.extend_from_slice(extra);
    args.push(server);
    args
}

/// A SIPp running in the background; killed on drop.
pub struct SippProcess {
    process: Guarded,
    dir: TempDir,
    port: u16,
    timeout: Duration,
    started: Instant,
    command: String,
}

impl SippProcess {
    /// Its SIP port (`-p`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its SIP address, `127.0.0.1:PORT`: where to point the softphone.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The scratch directory with the trace files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn is_running(&mut self) -> bool {
        self.process.try_wait().is_none()
    }

    /// The message trace so far (e.g. to see what the softphone sent while it runs).
    pub fn messages(&self) -> String {
        read(self.dir.path(), "messages.log")
    }

    /// Waits for SIPp to end by itself (it does at `-m` calls or its `-timeout`), killing it
    /// if it overstays, and collects the outcome.
    pub fn wait(mut self) -> SippOutcome {
        let left = (self.timeout + GRACE).saturating_sub(self.started.elapsed());
        let status = self.process.wait_for(left);
        let timed_out = status.is_none();
        let status = status.or_else(|| self.process.terminate(Duration::from_secs(2)));
        self.outcome(status, timed_out)
    }

    /// Stops it now (SIGTERM, then SIGKILL) and collects the outcome.
    pub fn stop(mut self) -> SippOutcome {
        let status = self.process.terminate(Duration::from_secs(3));
        self.outcome(status, false)
    }

    fn outcome(&self, status: Option<std::process::ExitStatus>, timed_out: bool) -> SippOutcome {
        let d = self.dir.path();
        SippOutcome {
            success: !timed_out && status.is_some_and(|s| s.success()),
            exit_code: status.and_then(|s| s.code()),
            status: if timed_out {
                "overstayed its -timeout, killed".to_string()
            } else {
                describe(status)
            },
            timed_out,
            command: self.command.clone(),
            stdout: read(d, "stdout.txt"),
            stderr: read(d, "stderr.txt"),
            messages: read(d, "messages.log"),
            errors: read(d, "errors.log"),
            logs: read(d, "logs.log"),
        }
    }

    /// Until SIPp holds its port (so a peer started next does not hit a closed port), or it
    /// exited, or 5 s passed. Binding the port ourselves fails exactly when SIPp has it.
    fn wait_bound(&mut self) {
        let port = self.port;
        let _ = wait_until::<_, TimedOut>(
            &format!("SIPp to bind port {port}"),
            Duration::from_secs(5),
            Duration::from_millis(10),
            || Ok((is_bound(port) || !self.is_running()).then_some(())),
        );
    }
}

impl Drop for SippProcess {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("--- sipp ({}) messages ---", self.command);
            eprintln!("{}", self.messages());
            eprintln!("--- end of sipp messages ---");
        }
    }
}

fn push(cmd: &mut Vec<OsString>, args: &[&str]) {
    cmd.extend(args.iter().map(OsString::from));
}

fn read(dir: &Path, file: &str) -> String {
    fs::read_to_string(dir.join(file)).unwrap_or_default()
}

/// What a SIPp run did. `Display` prints everything, for assertion messages:
/// `assert!(out.success, "{out}")`.
#[derive(Debug, Clone)]
pub struct SippOutcome {
    /// Exit code 0: every call of the scenario succeeded.
    pub success: bool,
    /// SIPp's code: 0 all calls succeeded, 1 some failed, 97 internal stop command,
    /// 99 no call processed, 255 fatal error, 254 could not bind; 124 lifetime expired.
    pub exit_code: Option<i32>,
    /// The exit in words.
    pub status: String,
    /// The testbed had to kill it after its `-timeout` plus a grace period.
    pub timed_out: bool,
    /// The full command line, to re-run by hand.
    pub command: String,
    pub stdout: String,
    pub stderr: String,
    /// `-trace_msg`: every message sent and received.
    pub messages: String,
    /// `-trace_err`: unexpected messages and errors.
    pub errors: String,
    /// `-trace_logs`: the scenario's `<log>` actions.
    pub logs: String,
}

impl fmt::Display for SippOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "SIPp {} (success: {})", self.status, self.success)?;
        writeln!(f, "command: {}", self.command)?;
        for (name, text) in [
            ("stderr", &self.stderr),
            ("errors", &self.errors),
            ("logs", &self.logs),
            ("messages", &self.messages),
        ] {
            if !text.trim().is_empty() {
                writeln!(f, "--- {name} ---\n{}", text.trim_end())?;
            }
        }
        Ok(())
    }
}
