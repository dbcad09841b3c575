//! Free ports on 127.0.0.1, so every peer of every test gets its own and `cargo test` can run
//! tests in parallel threads.
//!
//! The port is found by binding port 0 and released before the peer binds it, so another
//! process can in principle take it in between. Two things keep that rare: the kernel hands
//! out ephemeral ports at random, and this process never hands out the same port twice. A
//! peer that still loses the race fails to bind; its starter then tries again on fresh ports
//! ([`on_fresh_ports`]).

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::sync::{Mutex, OnceLock};

use crate::TestbedError;

fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// A port that is free for both UDP and TCP on 127.0.0.1 right now (SIP listens on both)
/// and that this process has not handed out before.
pub fn free_port() -> Result<u16, TestbedError> {
    for _ in 0..64 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| TestbedError::io("bind UDP 127.0.0.1:0", e))?;
        let port = udp
            .local_addr()
            .map_err(|e| TestbedError::io("read a bound UDP port", e))?
            .port();
        // The same number must be free for TCP too; if not, try another.
        let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) else {
            continue;
        };
        let fresh = handed_out()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(port);
        drop(tcp);
        drop(udp);
        if fresh {
            return Ok(port);
        }
    }
    Err(TestbedError::NoFreePort)
}

/// One start of a peer, as [`on_fresh_ports`] sees it.
pub(crate) enum Attempt<T> {
    /// Started, or failed for a reason a fresh port would not cure.
    Done(Result<T, TestbedError>),
    /// Another process bound one of its ports first; this is the result to give back when
    /// no attempt is left.
    PortTaken(Result<T, TestbedError>),
}

/// How many times a peer is started before a taken port is its caller's failure.
pub(crate) const PORT_ATTEMPTS: usize = 5;

/// Calls `start(attempt)` (1, 2, ...) until it is [`Attempt::Done`] or [`PORT_ATTEMPTS`] have
/// lost their port. `start` picks fresh ports for every attempt after the first.
pub(crate) fn on_fresh_ports<T>(
    what: &str,
    mut start: impl FnMut(usize) -> Attempt<T>,
) -> Result<T, TestbedError> {
    let mut attempt = 1;
    loop {
        match start(attempt) {
            Attempt::Done(result) => return result,
            Attempt::PortTaken(result) if attempt >= PORT_ATTEMPTS => return result,
            Attempt::PortTaken(_) => {
                eprintln!("note: {what}: a port was taken; retrying on fresh ports");
                attempt += 1;
            }
        }
    }
}

/// Whether some process has bound `port` on 127.0.0.1 or a wildcard address (a UDP socket, or
/// a listening TCP socket), read from `/proc/net`. Probing by binding the port ourselves would
/// race with the very process we are waiting for and could make its own bind fail.
pub fn is_bound(port: u16) -> bool {
    const TCP_LISTEN: &str = "0A";
    let suffix = format!(":{port:04X}");
    ["udp", "udp6", "tcp", "tcp6"].iter().any(|table| {
        let Ok(text) = std::fs::read_to_string(format!("/proc/net/{table}")) else {
            return false;
        };
        text.lines().skip(1).any(|line| {
            let mut fields = line.split_whitespace();
            let local = fields.nth(1).unwrap_or_default();
            let state = fields.nth(1).unwrap_or_default();
            local.ends_with(&suffix) && (table.starts_with("udp") || state == TCP_LISTEN)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_bindable() {
        let a = free_port().unwrap();
        let b = free_port().unwrap();
        assert_ne!(a, b);
        UdpSocket::bind((Ipv4Addr::LOCALHOST, a)).unwrap();
        TcpListener::bind((Ipv4Addr::LOCALHOST, a)).unwrap();
    }

    #[test]
    fn retries_only_a_taken_port_and_gives_up_with_the_last_result() {
        let mut tried = Vec::new();
        let r = on_fresh_ports("peer", |n| {
            tried.push(n);
            Attempt::PortTaken(Ok::<_, TestbedError>(n))
        });
        assert_eq!(r.unwrap(), PORT_ATTEMPTS);
        assert_eq!(tried, (1..=PORT_ATTEMPTS).collect::<Vec<_>>());
        let r = on_fresh_ports("peer", |n| match n {
            1 => Attempt::PortTaken(Err(TestbedError::NoFreePort)),
            _ => Attempt::Done(Err::<(), _>(TestbedError::NoFreePort)),
        });
        assert!(matches!(r, Err(TestbedError::NoFreePort)));
    }

    #[test]
    fn bound_ports_are_seen_in_proc_net() {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let udp_port = udp.local_addr().unwrap().port();
        let tcp_port = tcp.local_addr().unwrap().port();
        assert!(is_bound(udp_port));
        assert!(is_bound(tcp_port));
    }
}
