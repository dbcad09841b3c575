//! Cutting a process's TCP connections from outside, as a dead NAT binding or a PBX that
//! drops a client would: `ss -K` (the kernel's SOCK_DESTROY; needs root) aborts the
//! socket, and its owner reads an error at once.

use crate::TestbedError;
use std::net::SocketAddr;
use std::process::Command;

/// Aborts every established TCP connection of process `pid` to `remote`; returns how many.
pub fn abort_connections(pid: u32, remote: SocketAddr) -> Result<usize, TestbedError> {
    let locals = local_ports(pid, remote)?;
    for port in &locals {
        let filter = [
            "-K".to_owned(),
            "state".into(),
            "established".into(),
            "src".into(),
            remote.ip().to_string(),
            "sport".into(),
            "=".into(),
            format!(":{port}"),
            "dst".into(),
            remote.ip().to_string(),
            "dport".into(),
            "=".into(),
            format!(":{}", remote.port()),
        ];
        let out = Command::new("ss")
            .args(&filter)
            .output()
            .map_err(|e| TestbedError::io("run ss -K", e))?;
        if !out.status.success() {
            return Err(TestbedError::io(
                "ss -K",
                std::io::Error::other(String::from_utf8_lossy(&out.stderr).into_owned()),
            ));
        }
    }
    Ok(locals.len())
}

/// The local ports of `pid`'s established TCP connections to `remote`.
fn local_ports(pid: u32, remote: SocketAddr) -> Result<Vec<u16>, TestbedError> {
    let out = Command::new("ss")
        .args([
            "-tnpH",
            "state",
            "established",
            "dst",
            &remote.ip().to_string(),
            "dport",
            "=",
            &format!(":{}", remote.port()),
        ])
        .output()
        .map_err(|e| TestbedError::io("run ss", e))?;
    Ok(owned_local_ports(
        &String::from_utf8_lossy(&out.stdout),
        pid,
    ))
}

/// From `ss -tnpH state established` lines (`Recv-Q Send-Q Local Peer users:((...pid=N,..))`),
/// the local ports of those `pid` owns.
fn owned_local_ports(ss: &str, pid: u32) -> Vec<u16> {
    let owner = format!("pid={pid},");
    ss.lines()
        .filter(|l| l.contains(&owner))
        .filter_map(|l| {
            l.split_whitespace()
                .nth(2)?
                .rsplit_once(':')?
                .1
                .parse()
                .ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_owners_local_ports() {
        let ss = "0      0          127.0.0.1:48398    127.0.0.1:5061 users:((\"softphone\",pid=77,fd=12))\n\
                  0      0          127.0.0.1:48400    127.0.0.1:5061 users:((\"baresip\",pid=78,fd=9))\n";
        assert_eq!(owned_local_ports(ss, 77), vec![48398]);
        assert_eq!(owned_local_ports(ss, 7), Vec::<u16>::new());
    }
}
