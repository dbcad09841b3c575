//! Hand-written SIP over UDP, for probing peers without any SIP stack of the project: the
//! readiness probe, and tests that look at one exact reply (e.g. the algorithm of a 401).

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::TestbedError;

fn unique() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// An out-of-dialog OPTIONS to `to`, sent from `local` over UDP.
pub fn options_request(local: SocketAddr, to: SocketAddr) -> String {
    options_request_via("UDP", local, to)
}

/// An out-of-dialog OPTIONS whose Via names `transport` ("UDP" or "TCP"): a server sends
/// the response where the Via says.
pub fn options_request_via(transport: &str, local: SocketAddr, to: SocketAddr) -> String {
    let u = unique();
    let param = if transport.eq_ignore_ascii_case("UDP") {
        String::new()
    } else {
        format!(";transport={}", transport.to_ascii_lowercase())
    };
    format!(
        "OPTIONS sip:{to}{param} SIP/2.0\r\n\
         Via: SIP/2.0/{transport} {local};branch=z9hG4bK-tb-{u};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@{ip}>;tag=tb{u}\r\n\
         To: <sip:{to}>\r\n\
         Call-ID: tb-{u}@{ip}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n",
        ip = local.ip(),
    )
}

/// A REGISTER for `user` without credentials (a registrar answers 401 with its challenge).
pub fn register_request(local: SocketAddr, to: SocketAddr, user: &str, expires: u32) -> String {
    let u = unique();
    let ip = to.ip();
    format!(
        "REGISTER sip:{to} SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-tb-{u};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@{ip}>;tag=tb{u}\r\n\
         To: <sip:{user}@{ip}>\r\n\
         Call-ID: tb-{u}@{lip}\r\n\
         CSeq: 1 REGISTER\r\n\
         Contact: <sip:{user}@{local}>\r\n\
         Expires: {expires}\r\n\
         Content-Length: 0\r\n\r\n",
        lip = local.ip(),
    )
}

/// Sends the request built by `build(local_addr)` from a fresh 127.0.0.1 socket to `to` and
/// returns the first final (>= 200) response, skipping provisional ones.
pub fn udp_request(
    to: SocketAddr,
    build: impl FnOnce(SocketAddr) -> String,
    timeout: Duration,
) -> Result<String, TestbedError> {
    let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| TestbedError::io("bind a UDP probe socket", e))?;
    let local = sock
        .local_addr()
        .map_err(|e| TestbedError::io("read the probe socket address", e))?;
    let request = build(local);
    sock.send_to(request.as_bytes(), to)
        .map_err(|e| TestbedError::io(format!("send to {to}"), e))?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65535];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(TestbedError::Timeout {
                what: format!("a final response from {to}"),
                waited: timeout,
                detail: format!("request was:\n{request}"),
            });
        }
        sock.set_read_timeout(Some(left))
            .map_err(|e| TestbedError::io("set the probe read timeout", e))?;
        match sock.recv_from(&mut buf) {
            Ok((n, _)) => {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                if status_code(&msg).is_some_and(|c| c >= 200) {
                    return Ok(msg);
                }
            }
            // Timeout (WouldBlock/TimedOut) or ICMP port unreachable (ConnectionRefused):
            // loop and let the deadline decide; a peer may be about to bind.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
            Err(e) => return Err(TestbedError::io(format!("receive from {to}"), e)),
        }
    }
}

/// Like [`udp_request`] over a fresh TCP connection: the first final response, read up to
/// the end of its headers (bodies are not read).
pub fn tcp_request(
    to: SocketAddr,
    build: impl FnOnce(SocketAddr) -> String,
    timeout: Duration,
) -> Result<String, TestbedError> {
    use std::io::{Read, Write};
    let deadline = Instant::now() + timeout;
    let mut stream = std::net::TcpStream::connect_timeout(&to, timeout)
        .map_err(|e| TestbedError::io(format!("connect to {to}"), e))?;
    let local = stream
        .local_addr()
        .map_err(|e| TestbedError::io("read the probe connection address", e))?;
    let request = build(local);
    stream
        .write_all(request.as_bytes())
        .map_err(|e| TestbedError::io(format!("send to {to}"), e))?;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // Responses are framed by the blank line (Content-Length 0 for what we send).
        while let Some(end) = find(&received, b"\r\n\r\n") {
            let msg = String::from_utf8_lossy(&received[..end + 4]).into_owned();
            received.drain(..end + 4);
            if status_code(&msg).is_some_and(|c| c >= 200) {
                return Ok(msg);
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(TestbedError::Timeout {
                what: format!("a final response from {to} over TCP"),
                waited: timeout,
                detail: format!("request was:\n{request}"),
            });
        }
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| TestbedError::io("set the probe read timeout", e))?;
        match stream.read(&mut buf) {
            Ok(0) => {
                let e = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
                return Err(TestbedError::io(format!("{to} closed the connection"), e));
            }
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(TestbedError::io(format!("receive from {to}"), e)),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The status code of a response, `None` for a request or garbage.
pub fn status_code(msg: &str) -> Option<u16> {
    let rest = msg.strip_prefix("SIP/2.0 ")?;
    rest.get(..3)?.parse().ok()
}

/// The value of the first header called `name` (case-insensitive; no compact forms).
pub fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.split("\r\n")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_and_headers() {
        let m = "SIP/2.0 401 Unauthorized\r\nVia: x\r\nWWW-Authenticate: Digest realm=\"r\", algorithm=SHA-256\r\n\r\n";
        assert_eq!(status_code(m), Some(401));
        assert_eq!(
            header(m, "www-authenticate"),
            Some("Digest realm=\"r\", algorithm=SHA-256")
        );
        assert_eq!(header(m, "Contact"), None);
        assert_eq!(status_code("OPTIONS sip:x SIP/2.0\r\n"), None);
    }

    #[test]
    fn requests_end_with_an_empty_line() {
        let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:2".parse().unwrap();
        assert!(options_request(a, b).ends_with("\r\n\r\n"));
        assert!(register_request(a, b, "1001", 60).contains("To: <sip:1001@127.0.0.1>"));
    }
}
