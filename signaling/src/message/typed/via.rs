//! Via (`v`, RFC 3261 §20.42, rport RFC 3581, IPv6 sent-by RFC 5118).

use super::{display_typed, invalid, TypedHeader};
use crate::message::uri::{parse_port, split_host_port};
use crate::message::{lex, HeaderName, Host, Params, ParseError, SipStr};

/// The transport token of a Via sent-protocol (`SIP/2.0/UDP`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transport {
    /// `UDP`.
    Udp,
    /// `TCP`.
    Tcp,
    /// `TLS`.
    Tls,
    /// `SCTP`.
    Sctp,
    /// `WS`: WebSocket (RFC 7118).
    Ws,
    /// `WSS`: secure WebSocket.
    Wss,
    /// Any other transport token, as written.
    Other(SipStr),
}

impl Transport {
    /// Recognises a transport token case-insensitively; unknown tokens are kept as written.
    pub fn from_token(s: &str) -> Transport {
        let eq = |t: &str| s.eq_ignore_ascii_case(t);
        match s.len() {
            3 if eq("UDP") => Transport::Udp,
            3 if eq("TCP") => Transport::Tcp,
            3 if eq("TLS") => Transport::Tls,
            4 if eq("SCTP") => Transport::Sctp,
            2 if eq("WS") => Transport::Ws,
            3 if eq("WSS") => Transport::Wss,
            _ => Transport::Other(SipStr::from(s)),
        }
    }

    /// The upper-case token as printed in a Via.
    pub fn as_str(&self) -> &str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
            Transport::Other(s) => s,
        }
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Via element: `SIP/2.0/UDP host:port;branch=z9hG4bK...;rport;received=...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// The transport (`SIP/2.0/UDP`).
    pub transport: Transport,
    /// The sent-by host.
    pub host: Host,
    /// The sent-by port, when given.
    pub port: Option<u16>,
    /// Parameters (`branch`, `received`, `rport`...).
    pub params: Params,
}

impl Via {
    /// `SIP/2.0/<transport> host[:port];branch=<branch>`.
    pub fn new(transport: Transport, host: Host, port: Option<u16>, branch: &str) -> Via {
        let mut params = Params::new();
        params.set("branch", Some(branch));
        Via {
            transport,
            host,
            port,
            params,
        }
    }

    /// Adds a bare `;rport` (RFC 3581) asking the server to answer to the source port.
    pub fn with_rport(mut self) -> Via {
        self.params.set("rport", None);
        self
    }

    /// The `branch` parameter (the transaction id, RFC 3261 §17.2.3).
    pub fn branch(&self) -> Option<&str> {
        self.params.value("branch")
    }
    /// The `received` parameter (where the server saw the request come from).
    pub fn received(&self) -> Option<&str> {
        self.params.value("received")
    }
    /// The `received` parameter as an address; an IPv6 value may come with or without
    /// brackets (RFC 5118 §4.5).
    pub fn received_ip(&self) -> Option<std::net::IpAddr> {
        let r = self.received()?;
        let r = r
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .unwrap_or(r);
        r.parse().ok()
    }
    /// `None` when absent, `Some(None)` for a bare `;rport`, `Some(Some(p))` when filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }
    /// The `maddr` parameter.
    pub fn maddr(&self) -> Option<&str> {
        self.params.value("maddr")
    }
    /// The `ttl` parameter.
    pub fn ttl(&self) -> Option<u8> {
        self.params.value("ttl")?.parse().ok()
    }
}

fn bad(detail: &str) -> ParseError {
    invalid("Via", detail)
}

impl TypedHeader for Via {
    const NAME: HeaderName = HeaderName::Via;
    const LIST: bool = true;

    fn parse_sip(value: &SipStr) -> Result<Self, ParseError> {
        // sent-protocol: `SIP / 2.0 / UDP`, LWS allowed around the slashes.
        let mut rest = lex::trim_ws(value);
        let mut parts = [""; 3];
        for (i, part) in parts.iter_mut().enumerate() {
            if i > 0 {
                rest = lex::trim_ws_start(
                    rest.strip_prefix('/')
                        .ok_or_else(|| bad("bad sent-protocol"))?,
                );
            }
            let (tok, after) = lex::take_while(rest, lex::is_token);
            if tok.is_empty() {
                return Err(bad("bad sent-protocol"));
            }
            *part = tok;
            rest = lex::trim_ws_start(after);
        }
        if !parts[0].eq_ignore_ascii_case("SIP") || parts[1] != "2.0" {
            return Err(bad("not SIP/2.0"));
        }
        let transport = match Transport::from_token(parts[2]) {
            Transport::Other(_) => Transport::Other(value.slice_ref(parts[2])),
            t => t,
        };
        // sent-by: host [ COLON port ], LWS allowed around the colon; then params.
        let end = rest
            .bytes()
            .position(|b| b == b';' || lex::is_ws(b))
            .unwrap_or(rest.len());
        let (sent_by, mut after) = rest.split_at(end);
        let tail = lex::trim_ws_start(after);
        // `host : port` or `host: port`: the port follows LWS.
        let spaced = match tail.strip_prefix(':') {
            Some(p) => Some((sent_by, p)),
            None => sent_by.strip_suffix(':').map(|host| (host, after)),
        };
        if let Some((host, p)) = spaced {
            let (digits, more) = lex::take_while(lex::trim_ws_start(p), |b| b.is_ascii_digit());
            let port = parse_port(digits).map_err(|_| bad("bad port"))?;
            let host = Host::parse_in(value, host).map_err(|e| bad(&e.detail))?;
            let params = Params::parse_header(value, more).map_err(|_| bad("bad parameters"))?;
            return Ok(Via {
                transport,
                host,
                port: Some(port),
                params,
            });
        }
        after = tail;
        let (host, port) = split_host_port(sent_by).map_err(|e| bad(&e.detail))?;
        let host = Host::parse_in(value, host).map_err(|e| bad(&e.detail))?;
        let port = port
            .map(parse_port)
            .transpose()
            .map_err(|_| bad("bad port"))?;
        let params = Params::parse_header(value, after).map_err(|_| bad("bad parameters"))?;
        Ok(Via {
            transport,
            host,
            port,
            params,
        })
    }

    fn print(&self, out: &mut String) {
        out.push_str("SIP/2.0/");
        out.push_str(self.transport.as_str());
        out.push(' ');
        self.host.print(out);
        if let Some(p) = self.port {
            out.push(':');
            out.push_str(&p.to_string());
        }
        self.params.print_header(out);
    }
}

display_typed!(Via);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Headers;

    #[test]
    fn plain_via() {
        let v =
            Via::parse("SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;rport").unwrap();
        assert_eq!(v.transport, Transport::Udp);
        assert_eq!(v.host, Host::Domain("pc33.atlanta.com".into()));
        assert_eq!(v.port, Some(5066));
        assert_eq!(v.branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP pc33.atlanta.com:5066;branch=z9hG4bK776asdhds;rport"
        );
    }

    #[test]
    fn lws_everywhere() {
        let v =
            Via::parse("SIP  /   2.0 / TCP   host.example.com : 5070 ; branch = z9hG4bK1 ;ttl=4")
                .unwrap();
        assert_eq!(v.transport, Transport::Tcp);
        assert_eq!(v.port, Some(5070));
        assert_eq!(v.branch(), Some("z9hG4bK1"));
        assert_eq!(v.ttl(), Some(4));
        let v = Via::parse("SIP/2.0/UDP host.example.com: 5070;branch=z9hG4bK1").unwrap();
        assert_eq!(v.port, Some(5070));
    }

    #[test]
    fn ipv6_and_received() {
        let v = Via::parse(
            "SIP/2.0/UDP [2001:db8::9:1]:5060;received=[2001:db8::9:255];branch=z9hG4bKas3-111;rport=5061",
        )
        .unwrap();
        assert_eq!(v.host, Host::V6("2001:db8::9:1".parse().unwrap()));
        assert_eq!(v.received_ip(), Some("2001:db8::9:255".parse().unwrap()));
        assert_eq!(v.rport(), Some(Some(5061)));
        let v = Via::parse("SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bK1")
            .unwrap();
        assert_eq!(v.received_ip(), Some("2001:db8::9:255".parse().unwrap()));
        assert_eq!(v.port, None);
    }

    #[test]
    fn unknown_transport_and_maddr() {
        let v =
            Via::parse("SIP/2.0/NOTATRANSPORT 192.0.2.1;maddr=224.2.0.1;ttl=16;branch=z9hG4bK1")
                .unwrap();
        assert_eq!(v.transport, Transport::Other("NOTATRANSPORT".into()));
        assert_eq!(v.maddr(), Some("224.2.0.1"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/2.0/UDP",
            "SIP/3.0/UDP host",
            "SIP/2.0 host",
            "SIP/2.0/UDP host:99999",
            "SIP/2.0/UDP [::1",
            "SIP/2.0/UDP host junk",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn typed_from_headers_splits_lists() {
        let mut h = Headers::new();
        h.push(
            HeaderName::Via,
            "SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/TCP b;branch=z9hG4bK2",
        );
        h.push(HeaderName::Via, "SIP/2.0/TLS c;branch=z9hG4bK3");
        let all: Vec<Via> = h.typed_all().unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(
            h.typed::<Via>().unwrap().unwrap().branch(),
            Some("z9hG4bK1")
        );
        let built = Via::new(
            Transport::Udp,
            Host::V4([192, 0, 2, 1].into()),
            Some(5060),
            "z9hG4bKx",
        )
        .with_rport();
        assert_eq!(
            built.to_string(),
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx;rport"
        );
    }
}
