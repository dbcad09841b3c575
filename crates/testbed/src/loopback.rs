//! Keeping peers on loopback: an `LD_PRELOAD` shim that turns wildcard binds into loopback
//! binds, and a check of what a running process has bound.
//!
//! baresip 1.0 binds its DNS client socket to 0.0.0.0 and [::], linphonec its RTP sockets to
//! [::]; no config key changes either. `shim/bind_loopback.c` (shipped with this crate) is
//! compiled with `cc` once per machine and source version, into the system temp directory.
//! [`sockets_of`] reads `/proc` so a self-test can prove the peers stay on 127.0.0.1.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use crate::tools::tool;
use crate::TestbedError;

const SHIM_SOURCE: &str = include_str!("../shim/bind_loopback.c");

/// Path of the compiled shim (`bind_loopback-HASH.so`), building it on first use.
pub fn shim() -> Result<PathBuf, TestbedError> {
    static BUILT: OnceLock<Mutex<Option<PathBuf>>> = OnceLock::new();
    let mut slot = BUILT
        .get_or_init(|| Mutex::new(None))
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(p) = slot.as_ref() {
        return Ok(p.clone());
    }
    let dir = std::env::temp_dir().join("softphone-testbed-shim");
    let path = dir.join(format!("bind_loopback-{:016x}.so", fnv1a(SHIM_SOURCE)));
    if !path.is_file() {
        build(&dir, &path)?;
    }
    *slot = Some(path.clone());
    Ok(path)
}

fn build(dir: &Path, path: &Path) -> Result<(), TestbedError> {
    let cc = tool("cc")?;
    fs::create_dir_all(dir)
        .map_err(|e| TestbedError::io(format!("create {}", dir.display()), e))?;
    // Build under a unique name and rename: concurrent test processes never see half a file.
    let unique = format!("{}.{}", std::process::id(), fnv1a(&format!("{:?}", dir)));
    let src = dir.join(format!("bind_loopback-{unique}.c"));
    let tmp = dir.join(format!("bind_loopback-{unique}.so.tmp"));
    fs::write(&src, SHIM_SOURCE)
        .map_err(|e| TestbedError::io(format!("write {}", src.display()), e))?;
    let out = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&tmp)
        .arg(&src)
        .arg("-ldl")
        .output()
        .map_err(|e| TestbedError::io("run cc", e))?;
    let _ = fs::remove_file(&src);
    if !out.status.success() {
        return Err(TestbedError::Command {
            command: format!("cc -shared -fPIC -o {} {}", tmp.display(), src.display()),
            status: crate::process::describe(Some(out.status)),
            output: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    fs::rename(&tmp, path).map_err(|e| TestbedError::io(format!("rename to {}", path.display()), e))
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One socket of a process, from `/proc/PID/net/{udp,tcp}{,6}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundSocket {
    /// "udp", "tcp", "udp6" or "tcp6".
    pub proto: &'static str,
    pub local: SocketAddr,
}

impl BoundSocket {
    /// 127.0.0.0/8, ::1, or ::ffff:127.x.y.z (a dual-stack socket on IPv4 loopback).
    pub fn is_loopback(&self) -> bool {
        match self.local.ip() {
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
            ip => ip.is_loopback(),
        }
    }
}

/// Every UDP and TCP socket that process `pid` holds (listening, bound or connected).
pub fn sockets_of(pid: u32) -> Vec<BoundSocket> {
    let mut inodes = Vec::new();
    if let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.flatten() {
            if let Ok(link) = fs::read_link(fd.path()) {
                let link = link.to_string_lossy().into_owned();
                if let Some(inode) = link
                    .strip_prefix("socket:[")
                    .and_then(|s| s.strip_suffix(']'))
                {
                    inodes.push(inode.to_string());
                }
            }
        }
    }
    let mut out = Vec::new();
    for proto in ["udp", "tcp", "udp6", "tcp6"] {
        let table = fs::read_to_string(format!("/proc/{pid}/net/{proto}")).unwrap_or_default();
        for line in table.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(inode)) = (cols.get(1), cols.get(9)) else {
                continue;
            };
            if inodes.iter().any(|i| i == inode) {
                if let Some(local) = parse_proc_addr(local) {
                    out.push(BoundSocket { proto, local });
                }
            }
        }
    }
    out
}

/// The process ids whose command line contains `needle` as one argument (e.g. a peer's
/// unique config directory).
pub fn pids_with_arg(needle: &str) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| c.split(|b| *b == 0).any(|a| a == needle.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
}

/// "0100007F:1F90" (IPv4) or 32 hex digits + ":PORT" (IPv6), as the kernel prints them.
fn parse_proc_addr(s: &str) -> Option<SocketAddr> {
    let (ip, port) = s.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(
            u32::from_str_radix(ip, 16).ok()?.swap_bytes(),
        )),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_mut(4).enumerate() {
                let word = u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok()?;
                chunk.copy_from_slice(&word.swap_bytes().to_be_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kernel_addresses() {
        assert_eq!(
            parse_proc_addr("0100007F:1F90"),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            parse_proc_addr("00000000000000000000000001000000:0035"),
            Some("[::1]:53".parse().unwrap())
        );
        assert_eq!(parse_proc_addr("nonsense"), None);
    }

    #[test]
    fn sees_its_own_sockets() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = s.local_addr().unwrap();
        let mine = sockets_of(std::process::id());
        assert!(
            mine.iter().any(|b| b.local == addr && b.proto == "udp"),
            "{mine:?}"
        );
    }

    #[test]
    fn shim_builds() {
        let p = shim().unwrap();
        assert!(p.is_file());
        assert_eq!(shim().unwrap(), p);
    }
}
