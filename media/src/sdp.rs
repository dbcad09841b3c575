//! SDP (RFC 4566) model, parser and printer.
//!
//! An own small parser: offer/answer needs only `v o s c t m a` plus faithful pass-through
//! of the other lines, the parser must be lenient where real peers are sloppy (bare LF,
//! trailing blank lines, unknown line types, `c=` hostnames) and strict where it matters (a
//! typed error naming the bad line). Lines this module does not model are kept verbatim and
//! printed back. The `sdp` crate was measured against it (issue 11): it accepts the same
//! corpus and reads it the same, parsing 2.3-2.8× slower (docs/benchmarks.md,
//! `media/tests/sdp_corpus_crates.rs`); adopting it is pending there.

use std::fmt;
use std::net::IpAddr;

/// A parse error: which line (1-based) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// No text at all.
    #[error("SDP body is empty")]
    Empty,
    /// The first line is not `v=`.
    #[error("SDP must start with \"v=0\", found {found:?}")]
    MissingVersion {
        /// The first line.
        found: String,
    },
    /// A version other than 0.
    #[error("SDP version {0:?} is not supported (only v=0)")]
    BadVersion(String),
    /// A line that is not `<letter>=<value>`.
    #[error("SDP line {line} is not of the form <letter>=<value>: {text:?}")]
    BadLine {
        /// Its number, from 1.
        line: usize,
        /// The line.
        text: String,
    },
    /// An `o=` line without its six fields.
    #[error("SDP line {line} (o=) needs 6 fields (username sess-id sess-version nettype addrtype address): {text:?}")]
    BadOrigin {
        /// Its number, from 1.
        line: usize,
        /// The line.
        text: String,
    },
    /// A `c=` line that is not `IN IP4|IP6 address`.
    #[error("SDP line {line} (c=) needs \"IN IP4|IP6 address\": {text:?}")]
    BadConnection {
        /// Its number, from 1.
        line: usize,
        /// The line.
        text: String,
    },
    /// An `m=` line without media, numeric port, proto and formats.
    #[error(
        "SDP line {line} (m=) needs \"media port proto fmt...\" with a numeric port: {text:?}"
    )]
    BadMedia {
        /// Its number, from 1.
        line: usize,
        /// The line.
        text: String,
    },
    /// No `o=` line.
    #[error("SDP has no o= line")]
    MissingOrigin,
}

/// `o=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: String,
    pub session_version: String,
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

/// `c=` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub net_type: String,
    pub addr_type: String,
    /// The address without any `/ttl/count` suffix.
    pub address: String,
    /// The `/ttl...` suffix as written (multicast), usually empty.
    pub suffix: String,
}

impl Connection {
    /// A unicast `IN IP4|IP6` connection for `ip`.
    pub fn for_ip(ip: IpAddr) -> Self {
        Connection {
            net_type: "IN".into(),
            addr_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.into(),
            address: ip.to_string(),
            suffix: String::new(),
        }
    }

    /// The address as an IP, if it is one (it may be a host name).
    pub fn ip(&self) -> Option<IpAddr> {
        let a = self.address.trim_start_matches('[').trim_end_matches(']');
        a.parse().ok()
    }
}

/// `a=` line: `a=name` or `a=name:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

impl Attribute {
    pub fn flag(name: &str) -> Self {
        Attribute {
            name: name.into(),
            value: None,
        }
    }
    pub fn value(name: &str, value: impl Into<String>) -> Self {
        Attribute {
            name: name.into(),
            value: Some(value.into()),
        }
    }
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    pub media: String,
    pub port: u16,
    pub num_ports: Option<u16>,
    pub proto: String,
    pub formats: Vec<String>,
    pub connection: Option<Connection>,
    pub attributes: Vec<Attribute>,
    /// Unmodelled lines (`i b k`), verbatim, in order.
    pub other: Vec<(char, String)>,
}

impl MediaDescription {
    /// First value of attribute `name` (case-insensitive name).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        find_attr(&self.attributes, name)
    }
    /// Whether a flag or valued attribute `name` is present.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.name.eq_ignore_ascii_case(name))
    }
}

fn find_attr<'a>(attrs: &'a [Attribute], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .and_then(|a| a.value.as_deref())
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`: who made it, session id and version.
    pub origin: Origin,
    /// `s=`.
    pub session_name: String,
    /// Session-level `c=`, if any.
    pub connection: Option<Connection>,
    /// Session-level `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// `m=` sections, in order.
    pub media: Vec<MediaDescription>,
    /// Unmodelled session-level lines (`i u e p b t r z k`), verbatim, in order.
    pub other: Vec<(char, String)>,
}

impl SessionDescription {
    /// Session-level attribute value.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        find_attr(&self.attributes, name)
    }

    /// Parse an SDP body. Accepts CRLF or bare LF; never panics.
    pub fn parse(text: &str) -> Result<SessionDescription, SdpError> {
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.trim().is_empty());

        let (_, first) = lines.next().ok_or(SdpError::Empty)?;
        match first.split_once('=') {
            Some(("v", v)) if v.trim() == "0" => {}
            Some(("v", v)) => return Err(SdpError::BadVersion(v.into())),
            _ => {
                return Err(SdpError::MissingVersion {
                    found: truncate(first),
                })
            }
        }

        let mut origin = None;
        let mut session_name = String::new();
        let mut connection = None;
        let mut attributes = Vec::new();
        let mut other = Vec::new();
        let mut media: Vec<MediaDescription> = Vec::new();

        for (n, line) in lines {
            let bytes = line.as_bytes();
            if bytes.len() < 2 || bytes[1] != b'=' || !bytes[0].is_ascii_alphabetic() {
                return Err(SdpError::BadLine {
                    line: n,
                    text: truncate(line),
                });
            }
            let kind = bytes[0] as char;
            let value = &line[2..];
            match (kind, media.last_mut()) {
                ('m', _) => media.push(parse_media(n, value)?),
                ('c', Some(m)) => m.connection = Some(parse_connection(n, value)?),
                ('c', None) => connection = Some(parse_connection(n, value)?),
                ('a', Some(m)) => m.attributes.push(parse_attribute(value)),
                ('a', None) => attributes.push(parse_attribute(value)),
                ('o', None) => origin = Some(parse_origin(n, value)?),
                ('s', None) => session_name = value.to_string(),
                (k, Some(m)) => m.other.push((k, value.to_string())),
                (k, None) => other.push((k, value.to_string())),
            }
        }

        Ok(SessionDescription {
            origin: origin.ok_or(SdpError::MissingOrigin)?,
            session_name,
            connection,
            attributes,
            media,
            other,
        })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

fn parse_origin(n: usize, v: &str) -> Result<Origin, SdpError> {
    let f: Vec<&str> = v.split_ascii_whitespace().collect();
    if f.len() != 6 {
        return Err(SdpError::BadOrigin {
            line: n,
            text: truncate(v),
        });
    }
    Ok(Origin {
        username: f[0].into(),
        session_id: f[1].into(),
        session_version: f[2].into(),
        net_type: f[3].into(),
        addr_type: f[4].into(),
        address: f[5].into(),
    })
}

fn parse_connection(n: usize, v: &str) -> Result<Connection, SdpError> {
    let f: Vec<&str> = v.split_ascii_whitespace().collect();
    let err = || SdpError::BadConnection {
        line: n,
        text: truncate(v),
    };
    if f.len() != 3 || f[2].is_empty() {
        return Err(err());
    }
    let (address, suffix) = match f[2].find('/') {
        Some(i) => (&f[2][..i], &f[2][i..]),
        None => (f[2], ""),
    };
    if address.is_empty() {
        return Err(err());
    }
    Ok(Connection {
        net_type: f[0].into(),
        addr_type: f[1].into(),
        address: address.into(),
        suffix: suffix.into(),
    })
}

fn parse_media(n: usize, v: &str) -> Result<MediaDescription, SdpError> {
    let f: Vec<&str> = v.split_ascii_whitespace().collect();
    let err = || SdpError::BadMedia {
        line: n,
        text: truncate(v),
    };
    if f.len() < 3 {
        return Err(err());
    }
    let (port, num_ports) = match f[1].split_once('/') {
        Some((p, c)) => (
            p.parse().map_err(|_| err())?,
            Some(c.parse().map_err(|_| err())?),
        ),
        None => (f[1].parse().map_err(|_| err())?, None),
    };
    Ok(MediaDescription {
        media: f[0].into(),
        port,
        num_ports,
        proto: f[2].into(),
        formats: f[3..].iter().map(|s| s.to_string()).collect(),
        connection: None,
        attributes: Vec::new(),
        other: Vec::new(),
    })
}

fn parse_attribute(v: &str) -> Attribute {
    match v.split_once(':') {
        Some((name, value)) => Attribute {
            name: name.trim().into(),
            value: Some(value.into()),
        },
        None => Attribute {
            name: v.trim().into(),
            value: None,
        },
    }
}

/// Print order of session-level lines that come before / after `c=` (RFC 4566 §5).
const SESSION_BEFORE_C: &[char] = &['i', 'u', 'e', 'p'];

impl fmt::Display for SessionDescription {
    /// Prints with CRLF line ends, in RFC 4566 order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(f, "v=0\r\n")?;
        write!(
            f,
            "o={} {} {} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
        )?;
        let name = if self.session_name.is_empty() {
            "-"
        } else {
            &self.session_name
        };
        write!(f, "s={name}\r\n")?;
        for (k, v) in self
            .other
            .iter()
            .filter(|(k, _)| SESSION_BEFORE_C.contains(k))
        {
            write!(f, "{k}={v}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        let mut has_t = false;
        for (k, v) in self
            .other
            .iter()
            .filter(|(k, _)| !SESSION_BEFORE_C.contains(k))
        {
            has_t |= *k == 't';
            write!(f, "{k}={v}\r\n")?;
        }
        if !has_t {
            write!(f, "t=0 0\r\n")?;
        }
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        for m in &self.media {
            write!(f, "{m}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}{}",
            self.net_type, self.addr_type, self.address, self.suffix
        )
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}:{}", self.name, v),
            None => write!(f, "{}", self.name),
        }
    }
}

impl fmt::Display for MediaDescription {
    /// The whole section, each line ending in CRLF.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m={} {}", self.media, self.port)?;
        if let Some(n) = self.num_ports {
            write!(f, "/{n}")?;
        }
        write!(f, " {}", self.proto)?;
        for fmt_ in &self.formats {
            write!(f, " {fmt_}")?;
        }
        write!(f, "\r\n")?;
        for (k, v) in self.other.iter().filter(|(k, _)| *k == 'i') {
            write!(f, "{k}={v}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        for (k, v) in self.other.iter().filter(|(k, _)| *k != 'i') {
            write!(f, "{k}={v}\r\n")?;
        }
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASIC: &str = "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=call\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n";

    #[test]
    fn parses_and_prints_back() {
        let s = SessionDescription::parse(BASIC).unwrap();
        assert_eq!(s.origin.session_version, "2");
        assert_eq!(
            s.connection.as_ref().unwrap().ip(),
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(s.media.len(), 1);
        assert_eq!(s.media[0].formats, ["0", "8", "101"]);
        assert_eq!(s.media[0].attribute("fmtp"), Some("101 0-16"));
        assert!(s.media[0].has_attribute("sendrecv"));
        assert_eq!(s.to_string(), BASIC);
    }

    #[test]
    fn bare_lf_and_blank_lines_are_accepted() {
        let text = BASIC.replace("\r\n", "\n") + "\n\n";
        let s = SessionDescription::parse(&text).unwrap();
        assert_eq!(s.to_string(), BASIC);
    }

    #[test]
    fn errors_name_the_line() {
        let cases: &[(&str, &str)] = &[
            ("", "empty"),
            ("o=- 1 1 IN IP4 1.2.3.4\r\n", "v=0"),
            ("v=1\r\n", "version"),
            ("v=0\r\no=- 1 1 IN IP4\r\n", "line 2 (o=)"),
            (
                "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\nc=IN IP4\r\n",
                "line 3 (c=)",
            ),
            (
                "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\nm=audio x RTP/AVP 0\r\n",
                "line 3 (m=)",
            ),
            (
                "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\nm=audio\r\n",
                "line 3 (m=)",
            ),
            ("v=0\r\nhello\r\n", "line 2 is not"),
            ("v=0\r\ns=x\r\n", "no o="),
        ];
        for (text, want) in cases {
            let e = SessionDescription::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "v=0\r\n=\r\n",
            "v=0\r\né=x\r\n",
            "\u{0}",
            "v=0\r\no=\r\n",
            "v=0\r\nm=audio 99999 RTP/AVP 0",
        ] {
            let _ = SessionDescription::parse(text);
        }
        // Every prefix of a valid body.
        for i in 0..BASIC.len() {
            if BASIC.is_char_boundary(i) {
                let _ = SessionDescription::parse(&BASIC[..i]);
            }
        }
    }

    #[test]
    fn ipv6_connection() {
        let c = parse_connection(1, "IN IP6 2001:db8::1").unwrap();
        assert_eq!(c.ip(), Some("2001:db8::1".parse().unwrap()));
        let c = parse_connection(1, "IN IP4 224.2.1.1/127").unwrap();
        assert_eq!(c.address, "224.2.1.1");
        assert_eq!(c.to_string(), "IN IP4 224.2.1.1/127");
    }
}
