//! Network namespaces a test makes for itself (needs root): hosts with their own loopback,
//! joined by veth pairs, whose addresses a test moves and whose links it takes down. Nothing
//! in them reaches the machine's own networks, and they are deleted on drop.

use crate::TestbedError;
use std::ffi::OsString;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// One namespace, loopback up.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// `sp-TAG-PID-N`: unique per test process and call.
    pub fn new(tag: &str) -> Result<Netns, TestbedError> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("sp-{tag}-{}-{n}", std::process::id());
        ip(&["netns", "add", &name])?;
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NAME ARGS...`, its output.
    pub fn ip(&self, args: &[&str]) -> Result<String, TestbedError> {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// What runs a program inside: `ip netns exec NAME` (the program and its arguments
    /// follow).
    pub fn exec_prefix(&self) -> (OsString, Vec<OsString>) {
        (
            "ip".into(),
            vec!["netns".into(), "exec".into(), self.name.clone().into()],
        )
    }

    /// Runs `f` on a thread that has entered this namespace: the sockets it opens are
    /// this namespace's (its loopback, its links).
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        in_netns(&self.name, f)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "delete", &self.name]);
    }
}

/// Joins `a` and `b` by a veth pair, each end named `ifname` in its namespace, with
/// `a_addr` and `b_addr` (`10.66.0.1/24`), both up.
pub fn veth(
    a: &Netns,
    a_addr: &str,
    b: &Netns,
    b_addr: &str,
    ifname: &str,
) -> Result<(), TestbedError> {
    a.ip(&[
        "link", "add", ifname, "type", "veth", "peer", "name", ifname, "netns", &b.name,
    ])?;
    for (ns, addr) in [(a, a_addr), (b, b_addr)] {
        ns.ip(&["addr", "add", addr, "dev", ifname])?;
        ns.ip(&["link", "set", ifname, "up"])?;
    }
    Ok(())
}

/// Runs `f` on a scoped thread that entered namespace `name` (`/run/netns/NAME`).
pub fn in_netns<T: Send>(name: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{name}");
    std::thread::scope(|s| {
        s.spawn(move || {
            let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            use std::os::fd::AsRawFd;
            // SAFETY: setns(2) on this thread only, with a namespace file we keep open.
            let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(r, 0, "setns {path}: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

fn ip(args: &[&str]) -> Result<String, TestbedError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| TestbedError::io("run ip", e))?;
    if !out.status.success() {
        return Err(TestbedError::io(
            format!("ip {}", args.join(" ")),
            std::io::Error::other(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
