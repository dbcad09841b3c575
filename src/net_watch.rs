//! Notices a changed or lost local address toward the PBX: a Wi-Fi change, a VPN coming up
//! or down, a link taken down and back. The kernel's routing socket (rtnetlink) reports
//! every address, link and route change as it happens, so an idle agent costs no wake-up;
//! after a burst of reports settles, the address the system would now send to the PBX from
//! is looked up (a connected UDP socket: nothing is sent) and, when it differs from the
//! last one, handed to the cores (`Phone::handle_network_change`).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// A change comes as several reports (an address, its routes, the link): wait this long
/// after one for the rest before looking.
pub const SETTLE: Duration = Duration::from_millis(300);

/// The local address the system routes toward `server` from, if there is a route.
pub fn route_source(server: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = if server.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = std::net::UdpSocket::bind(any).ok()?;
    socket.connect(server).ok()?;
    Some(socket.local_addr().ok()?.ip())
}

/// Whether the route source moved (sans-IO): `Some(new)` when it differs from the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteSource {
    last: Option<IpAddr>,
}

impl RouteSource {
    pub fn new(now: Option<IpAddr>) -> Self {
        RouteSource { last: now }
    }

    /// What changed, if anything: the new source (`None`: no route any more).
    pub fn update(&mut self, now: Option<IpAddr>) -> Option<Option<IpAddr>> {
        (now != self.last).then(|| {
            self.last = now;
            now
        })
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use super::{route_source, RouteSource, SETTLE};
    use std::io;
    use std::net::{IpAddr, SocketAddr};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use tokio::io::unix::AsyncFd;
    use tokio::io::Interest;

    pub struct NetWatch {
        fd: AsyncFd<OwnedFd>,
        server: SocketAddr,
        source: RouteSource,
    }

    impl NetWatch {
        pub fn new(server: SocketAddr) -> io::Result<NetWatch> {
            // SAFETY: plain syscalls; results checked before use.
            let raw = unsafe {
                libc::socket(
                    libc::AF_NETLINK,
                    libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    libc::NETLINK_ROUTE,
                )
            };
            if raw < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: a fresh descriptor owned by nothing else.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            // SAFETY: zeroed is a valid sockaddr_nl; the fields set are plain integers.
            let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
            addr.nl_family = libc::AF_NETLINK as u16;
            addr.nl_groups = (libc::RTMGRP_LINK
                | libc::RTMGRP_IPV4_IFADDR
                | libc::RTMGRP_IPV6_IFADDR
                | libc::RTMGRP_IPV4_ROUTE
                | libc::RTMGRP_IPV6_ROUTE) as u32;
            // SAFETY: `addr` lives across the call and its size is given.
            let r = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&addr as *const libc::sockaddr_nl).cast(),
                    std::mem::size_of::<libc::sockaddr_nl>() as u32,
                )
            };
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: an `OwnedFd` keeps its descriptor open until dropped with the AsyncFd.
            let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
                .map_err(|e| e.into_parts().1)?;
            Ok(NetWatch {
                fd,
                server,
                source: RouteSource::new(route_source(server)),
            })
        }

        /// Reads and drops every report waiting (their content does not matter: the route
        /// source is looked up afresh). True if there was at least one.
        fn drain(&self) -> io::Result<bool> {
            let mut buf = [0u8; 8192];
            let mut any = false;
            loop {
                // SAFETY: reads at most `buf.len()` bytes into `buf`.
                let n = unsafe {
                    libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0)
                };
                if n >= 0 {
                    any = true;
                    continue;
                }
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EAGAIN) => return Ok(any),
                    // Reports were lost: something changed all the same.
                    Some(libc::ENOBUFS) => any = true,
                    Some(libc::EINTR) => {}
                    _ => return Err(e),
                }
            }
        }

        /// Waits until the route source toward the PBX changes; the new one (`None`: no
        /// route now).
        pub async fn changed(&mut self) -> io::Result<Option<IpAddr>> {
            loop {
                let mut ready = self.fd.readable().await?;
                let any = self.drain()?;
                ready.clear_ready();
                if !any {
                    continue;
                }
                tokio::time::sleep(SETTLE).await;
                self.drain()?;
                if let Some(now) = self.source.update(route_source(self.server)) {
                    return Ok(now);
                }
            }
        }
    }
}

#[cfg(target_os = "linux")]
pub use linux::NetWatch;

/// Elsewhere: no word of network changes; registration refreshes and the media timeout
/// are all there is.
#[cfg(not(target_os = "linux"))]
pub struct NetWatch;

#[cfg(not(target_os = "linux"))]
impl NetWatch {
    pub fn new(_server: SocketAddr) -> std::io::Result<NetWatch> {
        Err(std::io::Error::other("not on this system"))
    }

    pub async fn changed(&mut self) -> std::io::Result<Option<IpAddr>> {
        std::future::pending().await
    }
}

/// Waits for the next change `watch` sees; forever without a watch.
pub async fn next_change(watch: &mut Option<NetWatch>) -> Option<IpAddr> {
    match watch {
        Some(w) => match w.changed().await {
            Ok(now) => now,
            Err(e) => {
                tracing::warn!("the network watch stopped: {e}");
                *watch = None;
                std::future::pending().await
            }
        },
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_different_source_is_a_change() {
        let a: IpAddr = "10.0.0.2".parse().unwrap();
        let b: IpAddr = "10.0.0.3".parse().unwrap();
        let mut s = RouteSource::new(Some(a));
        assert_eq!(
            s.update(Some(a)),
            None,
            "reports that changed nothing for us"
        );
        assert_eq!(s.update(None), Some(None), "the link went down");
        assert_eq!(s.update(None), None);
        assert_eq!(s.update(Some(a)), Some(Some(a)), "back, same address");
        assert_eq!(s.update(Some(b)), Some(Some(b)), "moved");
    }

    #[test]
    fn the_route_to_loopback_is_from_loopback() {
        let server: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        assert_eq!(route_source(server), Some("127.0.0.1".parse().unwrap()));
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_kernel_takes_the_watch() {
        NetWatch::new("127.0.0.1:5060".parse().unwrap()).expect("rtnetlink socket bound");
    }
}
