//! SDP offer/answer (RFC 3264) for one audio stream: G.711 PCMU/PCMA, telephone-event,
//! ptime and direction; tracks our side's `o=` line across rounds.

use std::fmt;
use std::net::SocketAddr;

use crate::sdp::{Attribute, Connection, MediaDescription, Origin, SdpError, SessionDescription};

/// Audio codecs we can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Pcmu,
    Pcma,
}

impl Codec {
    /// The static payload type (RFC 3551).
    pub fn static_payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }
    /// The rtpmap encoding name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }
    /// Clock rate in Hz.
    pub fn clock_rate(self) -> u32 {
        8000
    }
    fn from_name(name: &str) -> Option<Codec> {
        [Codec::Pcmu, Codec::Pcma]
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }
    fn from_static(pt: u8) -> Option<Codec> {
        match pt {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            _ => None,
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Media direction (RFC 3264 §5.1), always from the point of view of the side that declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// The direction seen from the other side (sendonly <-> recvonly).
    pub fn reverse(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
    pub fn from_flags(send: bool, recv: bool) -> Direction {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
    /// What both allow.
    pub fn intersect(self, other: Direction) -> Direction {
        Direction::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }
    /// The SDP attribute name.
    pub fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
    fn from_attribute(name: &str) -> Option<Direction> {
        [
            Direction::SendRecv,
            Direction::SendOnly,
            Direction::RecvOnly,
            Direction::Inactive,
        ]
        .into_iter()
        .find(|d| d.attribute().eq_ignore_ascii_case(name))
    }
}

/// What we can do, in our preference order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioCaps {
    pub codecs: Vec<Codec>,
    pub telephone_event: bool,
    pub ptime_ms: u32,
}

impl Default for AudioCaps {
    fn default() -> Self {
        AudioCaps {
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: true,
            ptime_ms: 20,
        }
    }
}

/// The outcome of one offer/answer round: what the stream should do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Where the peer wants RTP; `None` when it gave port 0 or `c=0.0.0.0` (RFC 2543 hold).
    pub remote_rtp: Option<SocketAddr>,
    pub codec: Codec,
    /// The payload type for `codec` on the wire.
    pub payload_type: u8,
    /// The telephone-event payload type the peer uses, if both sides have it.
    pub telephone_event: Option<u8>,
    /// Packetisation time to send with.
    pub ptime_ms: u32,
    /// What we do now.
    pub local_direction: Direction,
    /// What the peer declared (SendOnly/Inactive = the peer put us on hold). A `c=0.0.0.0`
    /// hold counts as the peer not receiving.
    pub remote_direction: Direction,
}

/// Why an offer or answer cannot be used. The Display text goes into a 488 reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    #[error("malformed SDP: {0}")]
    Malformed(#[from] SdpError),
    #[error("the SDP has no audio stream")]
    NoAudio,
    #[error("audio is offered only over {proto}, which is not supported (plain RTP/AVP only)")]
    UnsupportedTransport { proto: String },
    #[error("no common audio codec: offered {}; we support {}", list_or_none(.offered), .supported.join(", "))]
    NoCommonCodec {
        offered: Vec<String>,
        supported: Vec<String>,
    },
    #[error("the audio stream has no connection address (no c= line)")]
    NoConnection,
    #[error("connection address {0:?} is not an IP address")]
    BadAddress(String),
    #[error("the answer rejected the audio stream (port 0)")]
    Rejected,
    #[error("the answer has {answered} media lines but the offer had {offered}")]
    MediaCountMismatch { offered: usize, answered: usize },
    #[error("an answer arrived but no offer of ours is pending")]
    NoOfferPending,
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "nothing".into()
    } else {
        v.join(", ")
    }
}

/// The telephone-event payload type we offer.
pub const TELEPHONE_EVENT_PT: u8 = 101;

/// One side's SDP session across offer/answer rounds.
#[derive(Debug, Clone)]
pub struct SdpSession {
    local_rtp: SocketAddr,
    caps: AudioCaps,
    session_id: u64,
    /// Version for the next SDP we produce.
    next_version: u64,
    /// Our pending offer: its direction and how many m= lines it had.
    pending_offer: Option<Direction>,
}

impl SdpSession {
    pub fn new(local_rtp: SocketAddr, caps: AudioCaps, session_id: u64) -> Self {
        SdpSession {
            local_rtp,
            caps,
            session_id,
            next_version: session_id,
            pending_offer: None,
        }
    }

    pub fn local_rtp(&self) -> SocketAddr {
        self.local_rtp
    }

    pub fn caps(&self) -> &AudioCaps {
        &self.caps
    }

    /// Change the local RTP address for later SDPs (e.g. after rebinding).
    pub fn set_local_rtp(&mut self, addr: SocketAddr) {
        self.local_rtp = addr;
    }

    /// The SDP for an INVITE / re-INVITE.
    pub fn create_offer(&mut self, direction: Direction) -> String {
        self.pending_offer = Some(direction);
        let mut formats: Vec<String> = self
            .caps
            .codecs
            .iter()
            .map(|c| c.static_payload_type().to_string())
            .collect();
        let mut attrs: Vec<Attribute> = self
            .caps
            .codecs
            .iter()
            .map(|c| rtpmap(c.static_payload_type(), c.name()))
            .collect();
        if self.caps.telephone_event {
            formats.push(TELEPHONE_EVENT_PT.to_string());
            attrs.push(rtpmap(TELEPHONE_EVENT_PT, "telephone-event"));
            attrs.push(Attribute::value(
                "fmtp",
                format!("{TELEPHONE_EVENT_PT} 0-16"),
            ));
        }
        attrs.push(Attribute::value("ptime", self.caps.ptime_ms.to_string()));
        attrs.push(Attribute::flag(direction.attribute()));
        let media = MediaDescription {
            media: "audio".into(),
            port: self.local_rtp.port(),
            num_ports: None,
            proto: "RTP/AVP".into(),
            formats,
            connection: None,
            attributes: attrs,
            other: Vec::new(),
        };
        self.render(vec![media])
    }

    /// Take the peer's answer to our last offer.
    pub fn receive_answer(&mut self, answer: &str) -> Result<Negotiated, NegotiationError> {
        let offered_dir = self.pending_offer.ok_or(NegotiationError::NoOfferPending)?;
        let sdp = SessionDescription::parse(answer)?;
        if sdp.media.len() != 1 {
            return Err(NegotiationError::MediaCountMismatch {
                offered: 1,
                answered: sdp.media.len(),
            });
        }
        let m = &sdp.media[0];
        if !m.media.eq_ignore_ascii_case("audio") {
            return Err(NegotiationError::NoAudio);
        }
        if m.port == 0 {
            self.pending_offer = None;
            return Err(NegotiationError::Rejected);
        }
        // The answer lists a subset of our offer; take its first one we support.
        let (codec, payload_type) = self.pick_codec(m).ok_or_else(|| self.no_common_codec(m))?;
        let remote_rtp = remote_addr(&sdp, m)?;
        let declared = declared_direction(&sdp, m);
        let remote_direction = effective_remote(declared, remote_rtp);
        self.pending_offer = None;
        Ok(Negotiated {
            remote_rtp,
            codec,
            payload_type,
            telephone_event: self
                .caps
                .telephone_event
                .then(|| telephone_event_pt(m))
                .flatten(),
            ptime_ms: ptime(&sdp, m).unwrap_or(self.caps.ptime_ms),
            local_direction: offered_dir.intersect(remote_direction.reverse()),
            remote_direction,
        })
    }

    /// Answer the peer's offer. `wanted` is what we would like (SendOnly to hold); the
    /// answer's direction is `wanted` ∩ the offer's reverse.
    pub fn receive_offer(
        &mut self,
        offer: &str,
        wanted: Direction,
    ) -> Result<(String, Negotiated), NegotiationError> {
        let sdp = SessionDescription::parse(offer)?;
        self.pending_offer = None;
        let audio: Vec<usize> = (0..sdp.media.len())
            .filter(|&i| sdp.media[i].media.eq_ignore_ascii_case("audio") && sdp.media[i].port != 0)
            .collect();
        if audio.is_empty() {
            return Err(NegotiationError::NoAudio);
        }
        // The first audio stream over plain RTP with a codec in common.
        let mut chosen = None;
        let mut first_error = None;
        for &i in &audio {
            let m = &sdp.media[i];
            if !is_plain_rtp(&m.proto) {
                first_error.get_or_insert(NegotiationError::UnsupportedTransport {
                    proto: m.proto.clone(),
                });
                continue;
            }
            match self.pick_codec(m) {
                Some(c) => {
                    chosen = Some((i, c));
                    break;
                }
                None => {
                    let e = self.no_common_codec(m);
                    // A codec mismatch is more telling than an SRTP-only stream.
                    if !matches!(first_error, Some(NegotiationError::NoCommonCodec { .. })) {
                        first_error = Some(e);
                    }
                }
            }
        }
        let Some((index, (codec, payload_type))) = chosen else {
            return Err(first_error.unwrap_or(NegotiationError::NoAudio));
        };
        let m = &sdp.media[index];
        let remote_rtp = remote_addr(&sdp, m)?;
        let declared = declared_direction(&sdp, m);
        let remote_direction = effective_remote(declared, remote_rtp);
        let local_direction = wanted.intersect(remote_direction.reverse());
        let telephone_event = if self.caps.telephone_event {
            telephone_event_pt(m)
        } else {
            None
        };
        let ptime_ms = ptime(&sdp, m).unwrap_or(self.caps.ptime_ms);

        let mut answer_media = Vec::with_capacity(sdp.media.len());
        for (i, om) in sdp.media.iter().enumerate() {
            if i != index {
                answer_media.push(rejected(om));
                continue;
            }
            let mut formats = vec![payload_type.to_string()];
            let mut attrs = vec![rtpmap(payload_type, codec.name())];
            if let Some(pt) = telephone_event {
                formats.push(pt.to_string());
                attrs.push(rtpmap(pt, "telephone-event"));
                attrs.push(Attribute::value("fmtp", format!("{pt} 0-16")));
            }
            attrs.push(Attribute::value("ptime", ptime_ms.to_string()));
            attrs.push(Attribute::flag(local_direction.attribute()));
            answer_media.push(MediaDescription {
                media: om.media.clone(),
                port: self.local_rtp.port(),
                num_ports: None,
                proto: om.proto.clone(),
                formats,
                connection: None,
                attributes: attrs,
                other: Vec::new(),
            });
        }
        let answer = self.render(answer_media);
        Ok((
            answer,
            Negotiated {
                remote_rtp,
                codec,
                payload_type,
                telephone_event,
                ptime_ms,
                local_direction,
                remote_direction,
            },
        ))
    }

    fn render(&mut self, media: Vec<MediaDescription>) -> String {
        let version = self.next_version;
        self.next_version = self.next_version.wrapping_add(1);
        let ip = self.local_rtp.ip();
        let conn = Connection::for_ip(ip);
        let sdp = SessionDescription {
            origin: Origin {
                username: "-".into(),
                session_id: self.session_id.to_string(),
                session_version: version.to_string(),
                net_type: conn.net_type.clone(),
                addr_type: conn.addr_type.clone(),
                address: conn.address.clone(),
            },
            session_name: "softphone".into(),
            connection: Some(conn),
            attributes: Vec::new(),
            media,
            other: vec![('t', "0 0".into())],
        };
        sdp.to_string()
    }

    /// The first format in `m` (in its order) that we support, with the PT it uses.
    fn pick_codec(&self, m: &MediaDescription) -> Option<(Codec, u8)> {
        m.formats.iter().find_map(|f| {
            let pt: u8 = f.parse().ok().filter(|pt| *pt < 128)?;
            let codec = match rtpmap_of(m, pt) {
                Some((name, rate)) => {
                    Codec::from_name(name).filter(|c| rate == Some(c.clock_rate()))?
                }
                None => Codec::from_static(pt)?,
            };
            self.caps.codecs.contains(&codec).then_some((codec, pt))
        })
    }

    fn no_common_codec(&self, m: &MediaDescription) -> NegotiationError {
        let offered = m
            .formats
            .iter()
            .map(
                |f| match f.parse::<u8>().ok().and_then(|pt| rtpmap_value(m, pt)) {
                    Some(v) => v.to_string(),
                    None => match f.parse::<u8>().ok().and_then(Codec::from_static) {
                        Some(c) => c.name().to_string(),
                        None => format!("payload type {f}"),
                    },
                },
            )
            .collect();
        NegotiationError::NoCommonCodec {
            offered,
            supported: self
                .caps
                .codecs
                .iter()
                .map(|c| c.name().to_string())
                .collect(),
        }
    }
}

fn rtpmap(pt: u8, name: &str) -> Attribute {
    Attribute::value("rtpmap", format!("{pt} {name}/8000"))
}

fn is_plain_rtp(proto: &str) -> bool {
    proto.eq_ignore_ascii_case("RTP/AVP") || proto.eq_ignore_ascii_case("RTP/AVPF")
}

/// The raw `encoding/rate[/params]` of `a=rtpmap:<pt> ...`.
fn rtpmap_value(m: &MediaDescription, pt: u8) -> Option<&str> {
    m.attributes
        .iter()
        .filter(|a| a.name.eq_ignore_ascii_case("rtpmap"))
        .filter_map(|a| a.value.as_deref())
        .find_map(|v| {
            let (p, rest) = v.trim().split_once(char::is_whitespace)?;
            (p.parse::<u8>().ok()? == pt).then_some(rest.trim())
        })
}

/// `(encoding name, clock rate)` from the rtpmap of `pt`.
fn rtpmap_of(m: &MediaDescription, pt: u8) -> Option<(&str, Option<u32>)> {
    let v = rtpmap_value(m, pt)?;
    let mut parts = v.split('/');
    let name = parts.next()?.trim();
    let rate = parts.next().and_then(|r| r.trim().parse().ok());
    Some((name, rate))
}

fn telephone_event_pt(m: &MediaDescription) -> Option<u8> {
    m.formats.iter().find_map(|f| {
        let pt: u8 = f.parse().ok()?;
        let (name, rate) = rtpmap_of(m, pt)?;
        (name.eq_ignore_ascii_case("telephone-event") && rate == Some(8000)).then_some(pt)
    })
}

fn ptime(sdp: &SessionDescription, m: &MediaDescription) -> Option<u32> {
    let v = m.attribute("ptime").or_else(|| sdp.attribute("ptime"))?;
    let ms: u32 = v.trim().parse().ok()?;
    // Only whole 10 ms frames in a sane range; otherwise fall back to our default.
    (10..=120).contains(&ms).then_some(ms - ms % 10)
}

fn declared_direction(sdp: &SessionDescription, m: &MediaDescription) -> Direction {
    let from = |attrs: &[Attribute]| {
        attrs
            .iter()
            .filter(|a| a.value.is_none())
            .find_map(|a| Direction::from_attribute(&a.name))
    };
    from(&m.attributes)
        .or_else(|| from(&sdp.attributes))
        .unwrap_or_default()
}

/// RFC 2543 hold (`c=0.0.0.0`) or port 0: the peer receives nothing.
fn effective_remote(declared: Direction, remote: Option<SocketAddr>) -> Direction {
    if remote.is_none() {
        Direction::from_flags(declared.sends(), false)
    } else {
        declared
    }
}

fn remote_addr(
    sdp: &SessionDescription,
    m: &MediaDescription,
) -> Result<Option<SocketAddr>, NegotiationError> {
    let conn = m
        .connection
        .as_ref()
        .or(sdp.connection.as_ref())
        .ok_or(NegotiationError::NoConnection)?;
    let ip = conn
        .ip()
        .ok_or_else(|| NegotiationError::BadAddress(conn.address.clone()))?;
    if m.port == 0 || ip.is_unspecified() {
        return Ok(None);
    }
    Ok(Some(SocketAddr::new(ip, m.port)))
}

/// The answer's line for a stream we do not take: same media/proto/formats, port 0.
fn rejected(m: &MediaDescription) -> MediaDescription {
    let formats = if m.formats.is_empty() {
        vec!["0".to_string()]
    } else {
        m.formats.clone()
    };
    MediaDescription {
        media: m.media.clone(),
        port: 0,
        num_ports: None,
        proto: m.proto.clone(),
        formats,
        connection: None,
        attributes: Vec::new(),
        other: Vec::new(),
    }
}
