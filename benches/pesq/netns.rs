//! The run's own network namespace and the impairment of the sender's media in it.
//!
//! The harness re-executes itself under `unshare --net` (root, or CAP_SYS_ADMIN): a fresh,
//! unnamed network namespace whose only interface is its own `lo`, which every peer of the
//! run (Kamailio, baresip, the agent) inherits and binds (127.0.0.1 there). Nothing is
//! created in the machine's namespace, and the namespace, its iptables rules with it,
//! disappears with the last process in it, so a failed or killed run leaves nothing behind.
//!
//! The impairment: this machine's kernel has no `sch_netem` (nor `sch_prio`), so `tc netem`
//! cannot be used. Instead an iptables rule in the namespace hands every UDP packet *from the
//! sender's RTP ports* (its RTP and RTCP, never SIP) to NFQUEUE, where
//! `benches/pesq/impair.py` drops it or holds it back, as netem's `loss random` and `delay
//! D J distribution normal` would. Its random draws are seeded per call (codec, condition,
//! repetition), so both receivers of a comparison face the same losses and delays packet
//! for packet; repetitions differ. The receiver's own packets back to the sender are not
//! impaired: what is measured is the sender-to-receiver audio.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use std::process::Command;

/// Set in the re-executed harness: it is inside its namespace.
pub const INSIDE: &str = "SOFTPHONE_PESQ_NETNS";

/// Whether this process is the harness inside its namespace, or the outer one that ran it.
pub enum Entered {
    Inside,
    /// The inner run ended with this exit code.
    Done(i32),
}

/// Re-executes this program with its arguments under `unshare --net` (once), or, inside,
/// brings `lo` up.
pub fn enter() -> Result<Entered, String> {
    if std::env::var_os(INSIDE).is_some() {
        ip(&["link", "set", "lo", "up"])?;
        return Ok(Entered::Inside);
    }
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let status = Command::new("unshare")
        .arg("--net")
        .arg("--")
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(INSIDE, "1")
        .status()
        .map_err(|e| format!("run unshare --net (util-linux): {e}"))?;
    Ok(Entered::Done(status.code().unwrap_or(1)))
}

/// One network condition of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Clean,
    Loss3,
    Loss10,
    Jitter40,
}

impl Condition {
    pub const ALL: [Condition; 4] = [
        Condition::Clean,
        Condition::Loss3,
        Condition::Loss10,
        Condition::Jitter40,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Condition::Clean => "clean",
            Condition::Loss3 => "loss3",
            Condition::Loss10 => "loss10",
            Condition::Jitter40 => "jitter40",
        }
    }

    pub fn from_name(name: &str) -> Option<Condition> {
        Condition::ALL.into_iter().find(|c| c.name() == name)
    }

    /// As the table says it.
    pub fn label(self) -> &'static str {
        match self {
            Condition::Clean => "clean",
            Condition::Loss3 => "3% loss",
            Condition::Loss10 => "10% loss",
            Condition::Jitter40 => "40 ms jitter",
        }
    }

    /// The impairer's parameters (none: not impaired at all).
    pub fn impairment(self) -> Option<&'static [&'static str]> {
        match self {
            Condition::Clean => None,
            // Independent (Bernoulli) loss of each packet.
            Condition::Loss3 => Some(&["--loss", "0.03"]),
            Condition::Loss10 => Some(&["--loss", "0.10"]),
            // Each packet held 100 ms plus a normal deviate of sigma 40 ms (clipped at 0):
            // packets 20 ms apart overtake one another, as on a congested path; RFC 3550's
            // interarrival jitter of such a stream is about 45 ms.
            Condition::Jitter40 => Some(&["--delay-ms", "100", "--jitter-ms", "40"]),
        }
    }
}

/// The NFQUEUE queue number the rule and the impairer share.
const QUEUE: &str = "7";

/// The impairment in force; removed on drop.
pub struct Impairment {
    impairer: Option<Child>,
}

impl Impairment {
    pub fn new() -> Impairment {
        Impairment { impairer: None }
    }

    /// Impairs what leaves the UDP ports `from` (the sender's RTP range, inclusive) as `cond`
    /// says, with random draws seeded by `seed`; what was sent and what was dropped are
    /// written into `capture` (`rtp.bin`, `dropped.json`) for offline decoding.
    pub fn apply(
        &mut self,
        cond: Condition,
        seed: &str,
        from: (u16, u16),
        capture: &Path,
    ) -> Result<(), String> {
        self.clear();
        let Some(params) = cond.impairment() else {
            return Ok(());
        };
        let python = super::score::python()?;
        // Real-time priority (root): a packet let through is not held up further by the
        // impairer waiting for a CPU on a busy machine.
        let mut child = std::process::Command::new("chrt")
            .args(["-f", "20"])
            .arg(python)
            .arg(script("impair.py"))
            .args(["--queue", QUEUE, "--seed", seed])
            .arg("--capture")
            .arg(capture)
            .args(params)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("impair.py: {e}"))?;
        // It says "ready" once bound to the queue; a rule before that would drop packets.
        let mut first = String::new();
        let stderr = child.stderr.take().expect("piped");
        let mut lines = BufReader::new(stderr);
        let _ = lines.read_line(&mut first);
        if first.trim() != "ready" {
            let mut rest = String::new();
            let _ = lines.read_to_string(&mut rest);
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("impair.py did not start: {first}{rest}"));
        }
        self.impairer = Some(child);
        run(
            "iptables",
            &[
                "-A",
                "OUTPUT",
                "-o",
                "lo",
                "-p",
                "udp",
                "--sport",
                &format!("{}:{}", from.0, from.1),
                "-j",
                "NFQUEUE",
                "--queue-num",
                QUEUE,
            ],
        )
        .map(|_| ())
    }

    /// No impairment; what the impairer counted (JSON), if one ran.
    pub fn clear(&mut self) -> Option<String> {
        let mut child = self.impairer.take()?;
        let _ = run("iptables", &["-F", "OUTPUT"]);
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let done = testbed::wait_until(
            "impair.py to exit",
            Duration::from_secs(5),
            Duration::from_millis(20),
            || Ok::<_, testbed::TimedOut>(child.try_wait().ok().flatten()),
        );
        if done.is_err() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let mut out = String::new();
        if let Some(mut o) = child.stdout.take() {
            let _ = o.read_to_string(&mut out);
        }
        Some(out.trim().to_owned())
    }
}

impl Drop for Impairment {
    fn drop(&mut self) {
        self.clear();
    }
}

/// `rtp_ports A-B` of a baresip's rendered config.
pub fn baresip_rtp_ports(dir: &Path) -> Result<(u16, u16), String> {
    let config = std::fs::read_to_string(dir.join("config"))
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    config
        .lines()
        .find_map(|l| l.strip_prefix("rtp_ports "))
        .and_then(|r| r.trim().split_once('-'))
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .ok_or_else(|| format!("no rtp_ports in {}/config", dir.display()))
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/pesq")
        .join(name)
}

fn ip(args: &[&str]) -> Result<(), String> {
    run("ip", args).map(|_| ())
}

fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e} (scripts/install-deps.sh installs it)"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}
