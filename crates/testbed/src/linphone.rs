//! linphonec 5.1 as a second, independent far end (another SIP stack than baresip's).
//!
//! Each instance gets a scratch directory with its `linphonerc` (rendered here), a `HOME`
//! (with `.local/share/linphone`, without which its SIP port silently stays 0), a FIFO that
//! feeds its command line, and `linphonec.log` (its stdout and stderr). It runs under `timeout`
//! with the [`loopback`](crate::loopback) shim (its RTP sockets otherwise bind [::]).
//!
//! SIP goes over **TCP**: over UDP linphonec omits Content-Length, which the testbed
//! Kamailio's `sanity_check` rejects (RFC 3261 only requires it on streams).

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::loopback::{self, BoundSocket};
use crate::paths::scratch_dir;
use crate::process::{describe, print_log_tail, Guarded};
use crate::tools::tool;
use crate::{free_port, wait_until, TestbedError};

/// How to start a [`Linphone`]: `LinphoneOptions::user("1003", &kam)`, then adjust.
#[derive(Debug, Clone)]
pub struct LinphoneOptions {
    pub user: String,
    pub password: String,
    /// The registrar on 127.0.0.1 (reached over TCP).
    pub registrar: SocketAddr,
    /// Send REGISTER (default `true`).
    pub register: bool,
    /// `-a`: answer incoming calls at once (default `true`).
    pub auto_answer: bool,
    /// Hard upper bound of its life (default 60 s).
    pub lifetime: Duration,
    /// Its echo canceller (default `true`, linphonec's own default). A delay probe that
    /// loops the speaker into the microphone turns it off: it would remove the probe.
    pub echo_cancellation: bool,
}

impl LinphoneOptions {
    pub fn new(user: &str, password: &str, registrar: SocketAddr) -> LinphoneOptions {
        LinphoneOptions {
            user: user.to_string(),
            password: password.to_string(),
            registrar,
            register: true,
            auto_answer: true,
            lifetime: Duration::from_secs(60),
            echo_cancellation: true,
        }
    }

    /// One of the test users of [`crate::USERS`], registering at `kam`.
    pub fn user(user: &str, kam: &crate::Kamailio) -> LinphoneOptions {
        let password = crate::kamailio::password_of(user).unwrap_or("");
        Self::new(user, password, kam.addr())
    }
}

const READY_WITHIN: Duration = Duration::from_secs(10);

/// A running linphonec; stopped on drop.
pub struct Linphone {
    process: Option<Guarded>,
    commands: Mutex<File>,
    dir: TempDir,
    sip_port: u16,
    opts: LinphoneOptions,
}

impl Linphone {
    /// Renders the rc file, starts linphonec and waits for its prompt and its SIP (TCP) port.
    pub fn start(opts: LinphoneOptions) -> Result<Linphone, TestbedError> {
        let linphonec = tool("linphonec")?;
        let dir = scratch_dir("linphone-")?;
        let d = dir.path();
        let home = d.join("home");
        fs::create_dir_all(home.join(".local/share/linphone"))
            .map_err(|e| TestbedError::io("create linphone HOME", e))?;
        let sip_port = free_port()?;
        let rtp_port = free_port()? & !1;
        let rc = d.join("linphonerc");
        fs::write(&rc, render_rc(&opts, sip_port, rtp_port))
            .map_err(|e| TestbedError::io("write linphonerc", e))?;
        let fifo = d.join("commands");
        let status = Command::new(tool("mkfifo")?)
            .arg(&fifo)
            .status()
            .map_err(|e| TestbedError::io("run mkfifo", e))?;
        if !status.success() {
            return Err(TestbedError::io(
                "mkfifo",
                std::io::Error::other(describe(Some(status))),
            ));
        }
        // Read+write: opening does not block, and linphonec never sees end-of-file while we
        // hold it.
        let commands = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&fifo)
            .map_err(|e| TestbedError::io("open the linphonec command FIFO", e))?;
        let log = File::create(d.join("linphonec.log"))
            .map_err(|e| TestbedError::io("create linphonec.log", e))?;
        let args: Vec<OsString> = vec![
            format!("HOME={}", home.display()).into(),
            format!("LD_PRELOAD={}", loopback::shim()?.display()).into(),
            tool("sh")?.into(),
            "-c".into(),
            // "$2" is "-a" or empty (unquoted: then nothing).
            r#"exec "$0" -c "$1" -S $2 < "$3""#.into(),
            linphonec.into(),
            rc.into(),
            if opts.auto_answer { "-a" } else { "" }.into(),
            fifo.into(),
        ];
        let mut process = Guarded::spawn_logging(&tool("env")?, &args, opts.lifetime, d, log)?;
        let mut l = Linphone {
            process: None,
            commands: Mutex::new(commands),
            dir,
            sip_port,
            opts,
        };
        process.wait_ready(
            &format!("linphonec {} on 127.0.0.1:{sip_port}", l.opts.user),
            READY_WITHIN,
            Duration::from_millis(50),
            || l.output(),
            || {
                let prompt = l.output().contains("linphonec>");
                let sip = || TcpStream::connect_timeout(&l.sip_addr(), Duration::from_millis(200));
                (prompt && sip().is_ok()).then_some(())
            },
        )?;
        l.process = Some(process);
        Ok(l)
    }

    /// Its SIP address (TCP), `127.0.0.1:PORT`.
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.sip_port))
    }

    /// `sip:USER@REGISTRAR`: what others dial to reach it.
    pub fn aor(&self) -> String {
        crate::baresip::user_uri(&self.opts.user, self.opts.registrar)
    }

    /// The scratch directory: `linphonerc`, `linphonec.log`, `home/`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its output so far.
    pub fn output(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Types one command line, e.g. `send("status register")`.
    pub fn send(&self, command: &str) -> Result<(), TestbedError> {
        let mut f = self
            .commands
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        writeln!(f, "{command}").map_err(|e| TestbedError::io("write to linphonec", e))
    }

    /// Waits until its output contains `pattern`; returns the line.
    pub fn wait_output(&self, pattern: &str, timeout: Duration) -> Result<String, TestbedError> {
        self.wait_for(&format!("output {pattern:?}"), timeout, || {
            let out = self.output();
            out.lines()
                .find(|l| l.contains(pattern))
                .map(str::to_string)
        })
    }

    /// Asks `status register` until it says `registered,`.
    pub fn wait_registered(&self, timeout: Duration) -> Result<(), TestbedError> {
        let mut last_ask = Instant::now() - Duration::from_secs(1);
        self.wait_for("its registration", timeout, || {
            if last_ask.elapsed() >= Duration::from_millis(300) {
                last_ask = Instant::now();
                let _ = self.send("status register");
            }
            self.output()
                .contains("registered, identity=")
                .then_some(())
        })
    }

    /// Calls `uri`.
    pub fn dial(&self, uri: &str) -> Result<(), TestbedError> {
        self.send(&format!("call {uri}"))
    }

    /// Answers the incoming call (with `auto_answer: false`).
    pub fn answer(&self) -> Result<(), TestbedError> {
        self.send("answer")
    }

    /// Hangs up the current call.
    pub fn hangup(&self) -> Result<(), TestbedError> {
        self.send("terminate")
    }

    /// The sockets linphonec holds now.
    pub fn sockets(&self) -> Vec<BoundSocket> {
        let rc = self.dir.path().join("linphonerc");
        loopback::pids_with_arg(&rc.to_string_lossy())
            .into_iter()
            .flat_map(loopback::sockets_of)
            .collect()
    }

    /// `quit` (it unregisters), then SIGTERM/SIGKILL if it has not exited within 3 s.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = self.send("quit");
            if p.wait_for(Duration::from_secs(3)).is_none() {
                p.terminate(Duration::from_secs(2));
            }
        }
    }

    fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut found: impl FnMut() -> Option<T>,
    ) -> Result<T, TestbedError> {
        let what = format!(
            "{what} from linphonec {} ({})",
            self.opts.user,
            self.sip_addr()
        );
        wait_until(&what, timeout, Duration::from_millis(50), || Ok(found())).map_err(
            |e: TestbedError| e.with_detail(|| format!("--- output ---\n{}", self.output())),
        )
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("linphonec.log")
    }
}

impl Drop for Linphone {
    fn drop(&mut self) {
        self.shutdown();
        if thread::panicking() {
            let name = format!("linphonec {} output", self.opts.user);
            print_log_tail(&name, &self.output(), 60);
        }
    }
}

/// The rc file: TCP only on 127.0.0.1, no video, one proxy account.
pub(crate) fn render_rc(opts: &LinphoneOptions, sip_port: u16, rtp_port: u16) -> String {
    let reg = opts.registrar;
    let sound = if opts.echo_cancellation {
        ""
    } else {
        "\n[sound]\nechocancellation=0\n"
    };
    let rc = format!(
        "[sip]\n\
         sip_port=0\n\
         sip_tcp_port={sip_port}\n\
         sip_tls_port=0\n\
         bind_address=127.0.0.1\n\
         ipv6=0\n\
         default_proxy=0\n\
         \n\
         [rtp]\n\
         audio_rtp_port={rtp_port}\n\
         video_rtp_port=0\n\
         \n\
         [video]\n\
         enabled=0\n\
         \n\
         [net]\n\
         mtu=1300\n\
         \n\
         [proxy_0]\n\
         reg_proxy=<sip:{reg};transport=tcp>\n\
         reg_identity=sip:{user}@{reg}\n\
         reg_expires=60\n\
         reg_sendregister={register}\n\
         publish=0\n\
         \n\
         [auth_info_0]\n\
         username={user}\n\
         passwd={password}\n\
         realm={realm}\n\
         domain={reg}\n",
        user = opts.user,
        password = opts.password,
        register = u8::from(opts.register),
        realm = reg.ip(),
    );
    rc + sound
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc_is_tcp_on_loopback() {
        let o = LinphoneOptions::new("1003", "secret1003", "127.0.0.1:5070".parse().unwrap());
        let rc = render_rc(&o, 5090, 20000);
        assert!(rc.contains("sip_port=0\nsip_tcp_port=5090\n"));
        assert!(rc.contains("reg_proxy=<sip:127.0.0.1:5070;transport=tcp>\n"));
        assert!(rc.contains("reg_identity=sip:1003@127.0.0.1:5070\n"));
        assert!(rc.contains("passwd=secret1003\nrealm=127.0.0.1\n"));
        assert!(!rc.contains("0.0.0.0"));
    }
}
