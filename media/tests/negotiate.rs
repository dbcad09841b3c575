//! Offer/answer against real-world SDP (testdata/sdp) and table tests of the rules.

use std::net::SocketAddr;
use std::path::PathBuf;

use media::{
    AudioCaps, Codec, CryptoAttribute, CryptoSuite, Direction, NegotiationError, OpusSettings,
    SdpSession, SessionDescription, SrtpMode,
};

fn corpus(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/sdp")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn session() -> SdpSession {
    SdpSession::new(
        "127.0.0.1:40000".parse().unwrap(),
        AudioCaps::default(),
        4242,
    )
}

/// A session that only does G.711 (the defaults before Opus).
fn g711_session() -> SdpSession {
    let caps = AudioCaps {
        codecs: vec![Codec::Pcmu, Codec::Pcma],
        ..AudioCaps::default()
    };
    SdpSession::new("127.0.0.1:40000".parse().unwrap(), caps, 4242)
}

fn addr(s: &str) -> Option<SocketAddr> {
    Some(s.parse().unwrap())
}

#[test]
fn every_valid_corpus_file_round_trips_through_the_printer() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/sdp");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sdp") {
            let text = std::fs::read_to_string(&path).unwrap();
            let sdp = SessionDescription::parse(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let again = SessionDescription::parse(&sdp.to_string()).unwrap();
            assert_eq!(sdp, again, "{}", path.display());
            n += 1;
        }
    }
    assert!(n >= 10);
}

#[test]
fn malformed_corpus_is_a_typed_error_naming_the_problem() {
    let cases = [
        ("bad_port.sdp", "line 6 (m=)"),
        ("no_version.sdp", "must start with \"v=0\""),
        ("short_origin.sdp", "line 2 (o=)"),
        ("bad_connection.sdp", "line 4 (c=)"),
        ("not_sdp.sdp", "must start with \"v=0\""),
        ("garbage_line.sdp", "line 4 is not"),
    ];
    for (file, want) in cases {
        let text = corpus(&format!("malformed/{file}"));
        let err = session()
            .receive_offer(&text, Direction::SendRecv)
            .unwrap_err();
        assert!(
            matches!(err, NegotiationError::Malformed(_)),
            "{file}: {err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains(want), "{file}: {msg}");
    }
}

#[test]
fn sipp_offer_is_answered_with_pcmu() {
    let mut s = session();
    let (answer, n) = s
        .receive_offer(&corpus("sipp_uac.sdp"), Direction::SendRecv)
        .unwrap();
    assert_eq!(n.codec, Codec::Pcmu);
    assert_eq!(n.payload_type, 0);
    assert_eq!(n.remote_rtp, addr("127.0.0.1:6000"));
    assert_eq!(n.telephone_event, None);
    assert_eq!(n.ptime_ms, 20);
    assert_eq!(n.local_direction, Direction::SendRecv);
    let a = SessionDescription::parse(&answer).unwrap();
    assert_eq!(a.media.len(), 1);
    assert_eq!(a.media[0].port, 40000);
    assert_eq!(a.media[0].formats, ["0"]);
    assert_eq!(a.connection.as_ref().unwrap().address, "127.0.0.1");
    assert!(answer.contains("a=sendrecv\r\n"));
    assert!(!answer.contains("telephone-event"));
}

#[test]
fn sipp_pcap_offer_takes_pcma_and_its_telephone_event() {
    let (answer, n) = session()
        .receive_offer(&corpus("sipp_uac_pcap.sdp"), Direction::SendRecv)
        .unwrap();
    assert_eq!(
        (n.codec, n.payload_type, n.telephone_event),
        (Codec::Pcma, 8, Some(101))
    );
    assert!(
        answer.contains("m=audio 40000 RTP/AVP 8 101\r\n"),
        "{answer}"
    );
    assert!(answer.contains("a=fmtp:101 0-16\r\n"));
}

#[test]
fn baresip_offer_picks_first_supported_in_offerer_order() {
    // Offer order: opus L16 L16 G722 PCMU PCMA; caps prefer PCMA, offerer's order wins.
    let caps = AudioCaps {
        codecs: vec![Codec::Pcma, Codec::Pcmu],
        ..AudioCaps::default()
    };
    let mut s = SdpSession::new("127.0.0.1:40000".parse().unwrap(), caps, 1);
    let (_, n) = s
        .receive_offer(&corpus("baresip.sdp"), Direction::SendRecv)
        .unwrap();
    assert_eq!(n.codec, Codec::Pcmu);
    assert_eq!(n.telephone_event, Some(101));
    assert_eq!(n.remote_rtp, addr("192.168.1.20:10462"));
    assert_eq!(n.remote_direction, Direction::SendRecv);
}

#[test]
fn linphone_ipv6_offer_with_video_keeps_m_line_order() {
    let caps = AudioCaps {
        codecs: vec![Codec::Pcmu, Codec::Pcma],
        ..AudioCaps::default()
    };
    let mut s = SdpSession::new("[::1]:40000".parse().unwrap(), caps, 7);
    let (answer, n) = s
        .receive_offer(&corpus("linphone.sdp"), Direction::SendRecv)
        .unwrap();
    assert_eq!(n.codec, Codec::Pcmu);
    assert_eq!(n.remote_rtp, addr("[2001:db8::20]:7078"));
    // telephone-event/48000 is PT 101, the 8 kHz one is PT 100.
    assert_eq!(n.telephone_event, Some(100));
    let a = SessionDescription::parse(&answer).unwrap();
    assert_eq!(a.media.len(), 2);
    assert_eq!(a.media[0].media, "audio");
    assert_eq!(a.media[0].formats, ["0", "100"]);
    assert_eq!(a.media[1].media, "video");
    assert_eq!(a.media[1].port, 0);
    assert_eq!(a.media[1].formats, ["96", "97"]);
    assert!(answer.contains("c=IN IP6 ::1\r\n"), "{answer}");
    assert!(answer.contains("o=- 7 7 IN IP6 ::1\r\n"), "{answer}");
}

#[test]
fn lowercase_names_media_level_connection_and_ptime() {
    let (answer, n) = session()
        .receive_offer(&corpus("lowercase_pcma_first.sdp"), Direction::SendRecv)
        .unwrap();
    assert_eq!(n.codec, Codec::Pcma);
    assert_eq!(n.remote_rtp, addr("203.0.113.5:40000"));
    assert_eq!(n.ptime_ms, 30);
    assert!(answer.contains("a=ptime:30\r\n"));
}

#[test]
fn hold_offers_show_in_remote_direction() {
    let cases = [
        (
            "hold_sendonly.sdp",
            Direction::SendOnly,
            Direction::RecvOnly,
            true,
        ),
        (
            "hold_inactive.sdp",
            Direction::Inactive,
            Direction::Inactive,
            true,
        ),
        // c=0.0.0.0: the peer receives nothing; it may still send.
        (
            "hold_rfc2543.sdp",
            Direction::SendOnly,
            Direction::RecvOnly,
            false,
        ),
    ];
    for (file, remote, local, has_addr) in cases {
        let (answer, n) = session()
            .receive_offer(&corpus(file), Direction::SendRecv)
            .unwrap();
        assert_eq!(n.remote_direction, remote, "{file}");
        assert_eq!(n.local_direction, local, "{file}");
        assert_eq!(n.remote_rtp.is_some(), has_addr, "{file}");
        assert!(
            answer.contains(&format!("a={}\r\n", local.attribute())),
            "{file}"
        );
    }
}

#[test]
fn direction_table() {
    use Direction::*;
    let all = [SendRecv, SendOnly, RecvOnly, Inactive];
    let offer = corpus("sipp_uac.sdp");
    for offered in all {
        for wanted in all {
            let text = offer.replace(
                "a=rtpmap:0 PCMU/8000\r\n",
                &format!("a=rtpmap:0 PCMU/8000\r\na={}\r\n", offered.attribute()),
            );
            let (_, n) = session().receive_offer(&text, wanted).unwrap();
            let expect = Direction::from_flags(
                wanted.sends() && offered.receives(),
                wanted.receives() && offered.sends(),
            );
            assert_eq!(
                n.local_direction, expect,
                "offer {offered:?}, wanted {wanted:?}"
            );
            assert_eq!(n.remote_direction, offered);
        }
    }
    assert_eq!(SendOnly.reverse(), RecvOnly);
    assert_eq!(RecvOnly.reverse(), SendOnly);
    assert_eq!(Inactive.reverse(), Inactive);
    assert_eq!(SendRecv.reverse(), SendRecv);
}

#[test]
fn no_common_codec_names_what_was_offered() {
    let err = g711_session()
        .receive_offer(&corpus("opus_only.sdp"), Direction::SendRecv)
        .unwrap_err();
    match &err {
        NegotiationError::NoCommonCodec { offered, .. } => {
            assert_eq!(offered, &["opus/48000/2", "G722/8000"])
        }
        e => panic!("{e:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("opus/48000/2") && msg.contains("PCMU, PCMA"),
        "{msg}"
    );
    // With the defaults, a G.722-only offer: the 488 reason names Opus among ours.
    let g722 = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
                m=audio 5000 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n";
    let err = session()
        .receive_offer(g722, Direction::SendRecv)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no common audio codec: offered G722/8000; we support opus, PCMU, PCMA"
    );
}

#[test]
fn srtp_only_with_srtp_off_and_video_only_are_refused() {
    let err = srtp_session(SrtpMode::Off)
        .receive_offer(&corpus("srtp_only.sdp"), Direction::SendRecv)
        .unwrap_err();
    assert!(
        matches!(err, NegotiationError::UnsupportedTransport { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("RTP/SAVP"));
    let err = session()
        .receive_offer(&corpus("video_only.sdp"), Direction::SendRecv)
        .unwrap_err();
    assert_eq!(err, NegotiationError::NoAudio);
}

#[test]
fn audio_with_port_zero_is_skipped_for_the_next_audio_line() {
    let offer = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
                 m=audio 0 RTP/AVP 0\r\nm=audio 5000 RTP/AVP 8\r\n";
    let (answer, n) = session().receive_offer(offer, Direction::SendRecv).unwrap();
    assert_eq!(n.codec, Codec::Pcma);
    assert_eq!(n.remote_rtp, addr("10.0.0.9:5000"));
    let a = SessionDescription::parse(&answer).unwrap();
    assert_eq!(a.media[0].port, 0);
    assert_eq!(a.media[1].port, 40000);
    let only_zero = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n";
    assert_eq!(
        session()
            .receive_offer(only_zero, Direction::SendRecv)
            .unwrap_err(),
        NegotiationError::NoAudio
    );
}

#[test]
fn static_payload_type_without_rtpmap_and_dynamic_pcmu() {
    let offer = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
                 m=audio 5000 RTP/AVP 112 8\r\na=rtpmap:112 PCMU/8000\r\n";
    let (answer, n) = session().receive_offer(offer, Direction::SendRecv).unwrap();
    assert_eq!((n.codec, n.payload_type), (Codec::Pcmu, 112));
    assert!(answer.contains("a=rtpmap:112 PCMU/8000\r\n"));
    // An rtpmap can also remap a static number to something else.
    let remapped = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
                    m=audio 5000 RTP/AVP 0\r\na=rtpmap:0 opus/48000/2\r\n";
    assert!(matches!(
        g711_session().receive_offer(remapped, Direction::SendRecv),
        Err(NegotiationError::NoCommonCodec { .. })
    ));
    // ... and the rtpmap wins: with Opus enabled that is Opus on PT 0.
    let (_, n) = session()
        .receive_offer(remapped, Direction::SendRecv)
        .unwrap();
    assert_eq!((n.codec, n.payload_type), (Codec::Opus, 0));
}

#[test]
fn missing_connection_is_an_error() {
    let offer = "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";
    let err = session()
        .receive_offer(offer, Direction::SendRecv)
        .unwrap_err();
    assert_eq!(err, NegotiationError::NoConnection);
}

#[test]
fn our_offer_and_the_answer() {
    let mut s = session();
    let offer = s.create_offer(Direction::SendRecv);
    assert!(
        offer.starts_with("v=0\r\no=- 4242 4242 IN IP4 127.0.0.1\r\n"),
        "{offer}"
    );
    assert!(
        offer.contains("m=audio 40000 RTP/AVP 111 0 8 101\r\n"),
        "{offer}"
    );
    assert!(offer.contains(
        "a=rtpmap:111 opus/48000/2\r\n\
         a=fmtp:111 useinbandfec=1;maxplaybackrate=48000;stereo=0;sprop-stereo=0\r\n\
         a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    ));
    assert!(offer.contains("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"));
    assert!(offer.contains("a=maxptime:120\r\na=ptime:20\r\na=sendrecv\r\n"));
    // Our offer parses as an offer for another session, which takes Opus on our PT.
    let (_, peer) = session()
        .receive_offer(&offer, Direction::SendRecv)
        .unwrap();
    assert_eq!((peer.codec, peer.payload_type), (Codec::Opus, 111));
    // ... or PCMU if it only does G.711.
    let (_, peer) = g711_session()
        .receive_offer(&offer, Direction::SendRecv)
        .unwrap();
    assert_eq!(peer.codec, Codec::Pcmu);

    let answer = "v=0\r\no=peer 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n\
                  m=audio 7000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:40\r\n";
    let n = s.receive_answer(answer).unwrap();
    assert_eq!((n.codec, n.payload_type), (Codec::Pcma, 8));
    assert_eq!(n.telephone_event, Some(101));
    assert_eq!(n.ptime_ms, 40);
    assert_eq!(n.remote_rtp, addr("10.0.0.2:7000"));
    assert_eq!(n.local_direction, Direction::SendRecv);
    // The same answer again: no offer is pending.
    assert_eq!(
        s.receive_answer(answer),
        Err(NegotiationError::NoOfferPending)
    );

    // Hold: re-offer sendonly, the version goes up, the session id stays.
    let hold = s.create_offer(Direction::SendOnly);
    assert!(hold.contains("o=- 4242 4243 IN IP4"), "{hold}");
    assert!(hold.contains("a=sendonly\r\n"));
    let n = s
        .receive_answer(&answer.replace("a=ptime:40", "a=recvonly"))
        .unwrap();
    assert_eq!(n.local_direction, Direction::SendOnly);
    assert_eq!(n.remote_direction, Direction::RecvOnly);
    // An answer to a hold that claims sendrecv still does not let us receive.
    s.create_offer(Direction::SendOnly);
    let n = s.receive_answer(answer).unwrap();
    assert_eq!(n.local_direction, Direction::SendOnly);
    // Receiving an offer also bumps the version.
    let (a, _) = s
        .receive_offer(&corpus("sipp_uac.sdp"), Direction::SendRecv)
        .unwrap();
    assert!(a.contains("o=- 4242 4245 IN IP4"), "{a}");
}

#[test]
fn answer_errors() {
    let mut s = session();
    s.create_offer(Direction::SendRecv);
    let rejected = "v=0\r\no=p 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n";
    assert_eq!(s.receive_answer(rejected), Err(NegotiationError::Rejected));
    s.create_offer(Direction::SendRecv);
    let two = "v=0\r\no=p 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n\
               m=audio 5000 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n";
    assert!(matches!(
        s.receive_answer(two),
        Err(NegotiationError::MediaCountMismatch {
            offered: 1,
            answered: 2
        })
    ));
    let wrong = "v=0\r\no=p 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 18\r\n";
    assert!(matches!(
        s.receive_answer(wrong),
        Err(NegotiationError::NoCommonCodec { .. })
    ));
    assert!(matches!(
        s.receive_answer("garbage"),
        Err(NegotiationError::Malformed(_))
    ));
}

/// baresip 1.x: `opus/48000/2` on PT 96 with its own fmtp, telephone-event only at 8000.
#[test]
fn baresip_opus_offer_is_answered_with_opus_on_its_payload_type() {
    let (answer, n) = session()
        .receive_offer(&corpus("baresip.sdp"), Direction::SendRecv)
        .unwrap();
    assert_eq!((n.codec, n.payload_type), (Codec::Opus, 96));
    assert_eq!(n.telephone_event, Some(101));
    assert_eq!(n.opus, OpusSettings::default());
    assert!(
        answer.contains("m=audio 40000 RTP/AVP 96 101\r\n"),
        "{answer}"
    );
    assert!(answer.contains("a=rtpmap:96 opus/48000/2\r\n"), "{answer}");
    assert!(answer
        .contains("a=fmtp:96 useinbandfec=1;maxplaybackrate=48000;stereo=0;sprop-stereo=0\r\n"));
    assert!(answer.contains("a=rtpmap:101 telephone-event/8000\r\n"));
    assert!(answer.contains("a=maxptime:120\r\n"));

    // A peer's maxaveragebitrate caps our bitrate; our own setting wins if lower.
    let capped = corpus("baresip.sdp").replace(
        "a=fmtp:96 stereo=1;sprop-stereo=1",
        "a=fmtp:96 stereo=1; sprop-stereo=1;maxaveragebitrate=24000;useinbandfec=1",
    );
    let (_, n) = session()
        .receive_offer(&capped, Direction::SendRecv)
        .unwrap();
    assert_eq!(n.opus.bitrate, Some(24000));
    let caps = AudioCaps {
        opus: OpusSettings {
            bitrate: Some(16000),
            fec: false,
            dtx: true,
            complexity: 5,
        },
        ..AudioCaps::default()
    };
    let mut s = SdpSession::new("127.0.0.1:40000".parse().unwrap(), caps, 1);
    let (answer, n) = s.receive_offer(&capped, Direction::SendRecv).unwrap();
    assert_eq!(
        n.opus,
        OpusSettings {
            bitrate: Some(16000),
            fec: false,
            dtx: true,
            complexity: 5,
        }
    );
    assert!(answer.contains("a=fmtp:96 useinbandfec=0;"), "{answer}");
    assert!(
        answer.contains(";maxaveragebitrate=16000;usedtx=1\r\n"),
        "{answer}"
    );
}

/// linphone 5: Opus on PT 96, telephone-event at 48000 (PT 101), 16000 and 8000 (PT 100).
#[test]
fn linphone_opus_offer_takes_the_48k_telephone_event() {
    let mut s = SdpSession::new("[::1]:40000".parse().unwrap(), AudioCaps::default(), 7);
    let (answer, n) = s
        .receive_offer(&corpus("linphone.sdp"), Direction::SendRecv)
        .unwrap();
    assert_eq!((n.codec, n.payload_type), (Codec::Opus, 96));
    assert_eq!(n.telephone_event, Some(101));
    let a = SessionDescription::parse(&answer).unwrap();
    assert_eq!(a.media[0].formats, ["96", "101"]);
    assert!(
        answer.contains("a=rtpmap:101 telephone-event/48000\r\n"),
        "{answer}"
    );
    assert_eq!(a.media[1].port, 0);
}

#[test]
fn codec_order_is_configurable_and_answers_switch_codecs() {
    let caps = AudioCaps {
        codecs: vec![Codec::Pcma, Codec::Opus],
        telephone_event: false,
        ..AudioCaps::default()
    };
    let mut s = SdpSession::new("127.0.0.1:40000".parse().unwrap(), caps, 9);
    let offer = s.create_offer(Direction::SendRecv);
    assert!(offer.contains("m=audio 40000 RTP/AVP 8 111\r\n"), "{offer}");
    let answer = |pts: &str, maps: &str| {
        format!(
            "v=0\r\no=p 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n\
             m=audio 7000 RTP/AVP {pts}\r\n{maps}"
        )
    };
    let n = s
        .receive_answer(&answer(
            "111 101",
            "a=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/48000\r\n",
        ))
        .unwrap();
    assert_eq!((n.codec, n.payload_type), (Codec::Opus, 111));
    assert_eq!(n.telephone_event, None, "we did not offer events");
    // A re-offer answered with PCMA: the stream is told to switch codecs.
    s.create_offer(Direction::SendRecv);
    let n = s.receive_answer(&answer("8", "")).unwrap();
    assert_eq!((n.codec, n.payload_type), (Codec::Pcma, 8));
}

/// The telephone-event clock rate follows the format taken: 48000 next to linphone's Opus,
/// 8000 next to G.711.
#[test]
fn telephone_event_rate_is_the_one_negotiated() {
    let mut s = SdpSession::new("[::1]:40000".parse().unwrap(), AudioCaps::default(), 7);
    let (_, n) = s
        .receive_offer(&corpus("linphone.sdp"), Direction::SendRecv)
        .unwrap();
    assert_eq!(
        (n.telephone_event, n.telephone_event_rate),
        (Some(101), 48000)
    );
    let (_, n) = session()
        .receive_offer(&corpus("sipp_uac_pcap.sdp"), Direction::SendRecv)
        .unwrap();
    assert_eq!(
        (n.telephone_event, n.telephone_event_rate),
        (Some(101), 8000)
    );
}

fn offer_with(extra: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
         m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n{extra}"
    )
}

#[test]
fn rtcp_goes_to_port_plus_one_or_where_a_rtcp_says_or_is_muxed() {
    let (answer, n) = session()
        .receive_offer(&offer_with(""), Direction::SendRecv)
        .unwrap();
    assert!(!n.rtcp_mux);
    assert_eq!(n.remote_rtcp, addr("10.0.0.9:30001"));
    assert!(!answer.contains("rtcp-mux"), "{answer}");

    let (_, n) = session()
        .receive_offer(&offer_with("a=rtcp:40007\r\n"), Direction::SendRecv)
        .unwrap();
    assert_eq!(n.remote_rtcp, addr("10.0.0.9:40007"));
    let (_, n) = session()
        .receive_offer(
            &offer_with("a=rtcp:40009 IN IP4 10.0.0.77\r\n"),
            Direction::SendRecv,
        )
        .unwrap();
    assert_eq!(n.remote_rtcp, addr("10.0.0.77:40009"));

    let (answer, n) = session()
        .receive_offer(&offer_with("a=rtcp-mux\r\n"), Direction::SendRecv)
        .unwrap();
    assert!(n.rtcp_mux);
    assert!(answer.contains("a=rtcp-mux\r\n"), "{answer}");

    // Our offers propose rtcp-mux; an answer without it keeps RTCP on port + 1.
    let mut s = session();
    assert!(s
        .create_offer(Direction::SendRecv)
        .contains("a=rtcp-mux\r\n"));
    let n = s.receive_answer(&offer_with("a=rtcp:bogus\r\n")).unwrap();
    assert!(!n.rtcp_mux);
    assert_eq!(n.remote_rtcp, None, "a broken a=rtcp gives no RTCP address");
}

/// G.722 (RFC 3551): static PT 9, `G722/8000` in the rtpmap although it samples at 16 kHz;
/// offered in the configured order, and taken from an offer whose first codec it is.
#[test]
fn g722_is_offered_in_the_configured_order_and_answered_at_8000() {
    let caps = AudioCaps {
        codecs: vec![Codec::G722, Codec::Opus, Codec::Pcma],
        ..AudioCaps::default()
    };
    let mut s = SdpSession::new("127.0.0.1:40000".parse().unwrap(), caps.clone(), 1);
    let offer = s.create_offer(Direction::SendRecv);
    assert!(
        offer.contains("m=audio 40000 RTP/AVP 9 111 8 101\r\n"),
        "{offer}"
    );
    assert!(offer.contains("a=rtpmap:9 G722/8000\r\n"), "{offer}");
    let answer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 5000 RTP/AVP 9 101\r\na=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n";
    let n = s.receive_answer(answer).unwrap();
    assert_eq!((n.codec, n.payload_type), (Codec::G722, 9));
    assert_eq!(
        (n.codec.clock_rate(), n.codec.sample_rate()),
        (8000, 16_000)
    );
    assert_eq!(
        (n.telephone_event, n.telephone_event_rate),
        (Some(101), 8000)
    );

    // A PBX's offer: G.722 first, by its static number alone (no rtpmap), then PCMU.
    let offer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 5000 RTP/AVP 9 0\r\n";
    let mut s = SdpSession::new("127.0.0.1:40000".parse().unwrap(), caps, 1);
    let (answer, n) = s.receive_offer(offer, Direction::SendRecv).unwrap();
    assert_eq!(n.codec, Codec::G722);
    assert!(answer.contains("m=audio 40000 RTP/AVP 9"), "{answer}");
    assert!(answer.contains("a=rtpmap:9 G722/8000"), "{answer}");
    // Without G.722 in our codecs, the same offer gets PCMU.
    let mut s = SdpSession::new("127.0.0.1:40000".parse().unwrap(), AudioCaps::default(), 1);
    let (_, n) = s.receive_offer(offer, Direction::SendRecv).unwrap();
    assert_eq!(n.codec, Codec::Pcmu);
}

// SRTP with SDES keys (RFC 4568): what each `[media] srtp` mode offers and accepts.

fn srtp_session(mode: SrtpMode) -> SdpSession {
    let caps = AudioCaps {
        srtp: mode,
        ..AudioCaps::default()
    };
    SdpSession::new("127.0.0.1:40000".parse().unwrap(), caps, 4242)
}

fn crypto_lines(sdp: &str) -> Vec<CryptoAttribute> {
    let sdp = SessionDescription::parse(sdp).unwrap();
    sdp.media[0]
        .attributes
        .iter()
        .filter(|a| a.name == "crypto")
        .map(|a| CryptoAttribute::parse(a.value.as_deref().unwrap()).unwrap())
        .collect()
}

fn proto(sdp: &str) -> String {
    SessionDescription::parse(sdp).unwrap().media[0]
        .proto
        .clone()
}

const KEY: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

fn offer(proto: &str, crypto: &[&str]) -> String {
    let mut s = format!(
        "v=0\r\no=- 1 1 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n\
         m=audio 5000 {proto} 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    );
    for c in crypto {
        s.push_str(&format!("a=crypto:{c}\r\n"));
    }
    s
}

#[test]
fn offers_per_mode_carry_keys_fresh_each_time() {
    let mut off = srtp_session(SrtpMode::Off);
    let o = off.create_offer(Direction::SendRecv);
    assert_eq!(proto(&o), "RTP/AVP");
    assert!(crypto_lines(&o).is_empty());

    let mut optional = srtp_session(SrtpMode::Optional);
    let first = optional.create_offer(Direction::SendRecv);
    assert_eq!(proto(&first), "RTP/AVP");
    let lines = crypto_lines(&first);
    let suites: Vec<_> = lines.iter().map(|c| (c.tag, c.suite)).collect();
    assert_eq!(
        suites,
        [
            (1, CryptoSuite::AesCm128HmacSha1_80),
            (2, CryptoSuite::AesCm128HmacSha1_32)
        ]
    );
    // Nothing agreed yet: another offer has fresh keys.
    let second = optional.create_offer(Direction::SendOnly);
    assert_ne!(crypto_lines(&second)[0].key, lines[0].key);

    let mut mandatory = srtp_session(SrtpMode::Mandatory);
    let o = mandatory.create_offer(Direction::SendRecv);
    assert_eq!(proto(&o), "RTP/SAVP");
    assert_eq!(crypto_lines(&o).len(), 2);
}

#[test]
fn an_answer_keyed_to_our_offer_encrypts_with_both_keys() {
    let mut s = srtp_session(SrtpMode::Mandatory);
    let ours = crypto_lines(&s.create_offer(Direction::SendRecv));
    let answer = offer(
        "RTP/SAVP",
        &[&format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}")],
    );
    let n = s.receive_answer(&answer).unwrap();
    let keys = n.srtp.clone().expect("encrypted");
    assert_eq!(keys.suite, CryptoSuite::AesCm128HmacSha1_32);
    assert_eq!(keys.local, ours[1].key);
    assert_eq!(
        keys.remote,
        CryptoAttribute::parse(&format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}"))
            .unwrap()
            .key
    );
    // Keys never show in Debug.
    assert!(!format!("{n:?}").contains(KEY));
}

#[test]
fn an_answer_without_usable_crypto_fails_only_when_mandatory() {
    for (mode, crypto) in [
        (SrtpMode::Mandatory, vec![]),
        // A tag we never offered.
        (
            SrtpMode::Mandatory,
            vec![format!("9 AES_CM_128_HMAC_SHA1_80 inline:{KEY}")],
        ),
        // The suite does not match the tag's.
        (
            SrtpMode::Mandatory,
            vec![format!("1 AES_CM_128_HMAC_SHA1_32 inline:{KEY}")],
        ),
    ] {
        let mut s = srtp_session(mode);
        s.create_offer(Direction::SendRecv);
        let refs: Vec<&str> = crypto.iter().map(String::as_str).collect();
        let err = s.receive_answer(&offer("RTP/SAVP", &refs)).unwrap_err();
        assert!(
            matches!(err, NegotiationError::NoUsableCrypto { side: "answer", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("encryption required"), "{err}");
    }
    // Optional: a far end that ignores a=crypto answers in clear, and the call goes on.
    let mut s = srtp_session(SrtpMode::Optional);
    s.create_offer(Direction::SendRecv);
    let n = s.receive_answer(&offer("RTP/AVP", &[])).unwrap();
    assert_eq!(n.srtp, None);
}

#[test]
fn offers_are_answered_per_mode() {
    let keyed_avp = offer(
        "RTP/AVP",
        &[
            "1 F8_128_HMAC_SHA1_80 inline:AAAA",
            &format!("2 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^20|1:4"),
            &format!("3 AES_CM_128_HMAC_SHA1_32 inline:{KEY}"),
        ],
    );
    let clear = offer("RTP/AVP", &[]);
    let savp = offer(
        "RTP/SAVP",
        &[&format!("5 AES_CM_128_HMAC_SHA1_80 inline:{KEY}")],
    );

    // Optional: the first line we can use (unknown suite and MKI skipped), our fresh key
    // under its tag and suite, the offer's transport kept.
    let (answer, n) = srtp_session(SrtpMode::Optional)
        .receive_offer(&keyed_avp, Direction::SendRecv)
        .unwrap();
    assert_eq!(proto(&answer), "RTP/AVP");
    let ours = crypto_lines(&answer);
    assert_eq!(ours.len(), 1);
    assert_eq!(
        (ours[0].tag, ours[0].suite),
        (3, CryptoSuite::AesCm128HmacSha1_32)
    );
    let keys = n.srtp.unwrap();
    assert_eq!(keys.local, ours[0].key);
    assert_ne!(keys.local, keys.remote);

    let (answer, n) = srtp_session(SrtpMode::Optional)
        .receive_offer(&savp, Direction::SendRecv)
        .unwrap();
    assert_eq!(proto(&answer), "RTP/SAVP");
    assert_eq!(crypto_lines(&answer)[0].tag, 5);
    assert!(n.srtp.is_some());

    let (answer, n) = srtp_session(SrtpMode::Optional)
        .receive_offer(&clear, Direction::SendRecv)
        .unwrap();
    assert!(crypto_lines(&answer).is_empty());
    assert_eq!(n.srtp, None);

    // Mandatory: clear RTP is refused with words for the 488; keyed AVP is fine.
    let err = srtp_session(SrtpMode::Mandatory)
        .receive_offer(&clear, Direction::SendRecv)
        .unwrap_err();
    assert!(
        matches!(err, NegotiationError::NoUsableCrypto { side: "offer", .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "encryption required but the far end's offer has no usable SRTP key: it has no a=crypto line"
    );
    assert!(srtp_session(SrtpMode::Mandatory)
        .receive_offer(&keyed_avp, Direction::SendRecv)
        .unwrap()
        .1
        .srtp
        .is_some());
    // An RTP/SAVP offer whose only key is unusable: the reason names the problem.
    let bad = offer("RTP/SAVP", &["1 AES_CM_128_HMAC_SHA1_80 inline:!!!"]);
    let err = srtp_session(SrtpMode::Optional)
        .receive_offer(&bad, Direction::SendRecv)
        .unwrap_err();
    assert!(err.to_string().contains("base64"), "{err}");

    // Off: a=crypto ignored, RTP/SAVP refused.
    let (answer, n) = srtp_session(SrtpMode::Off)
        .receive_offer(&keyed_avp, Direction::SendRecv)
        .unwrap();
    assert!(crypto_lines(&answer).is_empty());
    assert_eq!(n.srtp, None);
    assert!(matches!(
        srtp_session(SrtpMode::Off).receive_offer(&savp, Direction::SendRecv),
        Err(NegotiationError::UnsupportedTransport { .. })
    ));
}

#[test]
fn srtp_mode_config_names() {
    for m in SrtpMode::ALL {
        assert_eq!(SrtpMode::from_config_name(m.config_name()), Some(m));
    }
    assert_eq!(
        SrtpMode::from_config_name("MANDATORY"),
        Some(SrtpMode::Mandatory)
    );
    assert_eq!(SrtpMode::from_config_name("on"), None);
}

#[test]
fn a_reoffer_keeping_its_key_keeps_ours_and_a_new_key_gets_a_new_one() {
    let mut s = srtp_session(SrtpMode::Optional);
    let first = offer(
        "RTP/SAVP",
        &[&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}")],
    );
    let (a1, n1) = s.receive_offer(&first, Direction::SendRecv).unwrap();
    // The far end holds, keeping its key: our answer keeps ours.
    let (a2, n2) = s.receive_offer(&first, Direction::SendRecv).unwrap();
    assert_eq!(crypto_lines(&a1)[0].key, crypto_lines(&a2)[0].key);
    assert_eq!(n1.srtp, n2.srtp);
    // It re-keys: so do we.
    let other = "d2hhdGV2ZXIgd2hhdGV2ZXIgd2hhdGV2ZXIgMTIz";
    let rekeyed = offer(
        "RTP/SAVP",
        &[&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{other}")],
    );
    let (a3, n3) = s.receive_offer(&rekeyed, Direction::SendRecv).unwrap();
    assert_ne!(crypto_lines(&a3)[0].key, crypto_lines(&a2)[0].key);
    assert_ne!(n3.srtp, n2.srtp);
    // Our own re-offer (hold) offers the key in force again.
    let o = s.create_offer(Direction::SendOnly);
    assert_eq!(crypto_lines(&o), crypto_lines(&a3));
}

/// The far end's answer to our re-offers: it keeps its key, or re-keys.
fn answer_with(key: &str, tag: u32) -> String {
    offer(
        "RTP/SAVP",
        &[&format!("{tag} AES_CM_128_HMAC_SHA1_32 inline:{key}")],
    )
}

#[test]
fn our_hold_and_resume_keep_our_key_and_follow_the_far_ends() {
    let mut s = srtp_session(SrtpMode::Mandatory);
    let first = crypto_lines(&s.create_offer(Direction::SendRecv));
    let agreed = s
        .receive_answer(&answer_with(KEY, 2))
        .unwrap()
        .srtp
        .unwrap();
    assert_eq!(agreed.local, first[1].key);

    // Hold: one line, the agreed suite and tag, our key in force.
    let hold = crypto_lines(&s.create_offer(Direction::SendOnly));
    assert_eq!(hold.len(), 1);
    assert_eq!(hold[0].tag, 2);
    assert_eq!(hold[0].suite, CryptoSuite::AesCm128HmacSha1_32);
    assert_eq!(hold[0].key, first[1].key);
    let held = s.receive_answer(&answer_with(KEY, 2)).unwrap();
    assert_eq!(held.srtp.as_ref(), Some(&agreed), "nothing re-keyed");

    // The far end re-keys in its answer to our resume: we follow it, our key stays.
    let other = "d2hhdGV2ZXIgd2hhdGV2ZXIgd2hhdGV2ZXIgMTIz";
    let resume = crypto_lines(&s.create_offer(Direction::SendRecv));
    assert_eq!(resume, hold);
    let resumed = s
        .receive_answer(&answer_with(other, 2))
        .unwrap()
        .srtp
        .unwrap();
    assert_eq!(resumed.local, agreed.local);
    assert_ne!(resumed.remote, agreed.remote);
    // And the next re-offer still carries our key.
    assert_eq!(crypto_lines(&s.create_offer(Direction::SendOnly)), hold);
}

#[test]
fn a_new_local_address_gets_fresh_keys() {
    let mut s = srtp_session(SrtpMode::Mandatory);
    let first = crypto_lines(&s.create_offer(Direction::SendRecv));
    s.receive_answer(&answer_with(KEY, 2)).unwrap();
    s.set_local_rtp("127.0.0.1:40100".parse().unwrap());
    let moved = crypto_lines(&s.create_offer(Direction::SendOnly));
    // Every suite again, each with a key of its own.
    assert_eq!(moved.len(), 2);
    assert!(moved.iter().all(|c| first.iter().all(|f| f.key != c.key)));
    // Answering the far end's unchanged key from the new address: a fresh key too.
    let mut s = srtp_session(SrtpMode::Optional);
    let theirs = offer(
        "RTP/SAVP",
        &[&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}")],
    );
    let (a1, _) = s.receive_offer(&theirs, Direction::SendRecv).unwrap();
    s.set_local_rtp("127.0.0.1:40100".parse().unwrap());
    let (a2, _) = s.receive_offer(&theirs, Direction::SendRecv).unwrap();
    assert_ne!(crypto_lines(&a1)[0].key, crypto_lines(&a2)[0].key);
}

#[test]
fn a_clear_call_under_optional_offers_fresh_keys_again() {
    // Nothing in force (the far end answered in clear): a re-offer tries SRTP anew.
    let mut s = srtp_session(SrtpMode::Optional);
    let first = crypto_lines(&s.create_offer(Direction::SendRecv));
    let clear = offer("RTP/AVP", &[]);
    assert_eq!(s.receive_answer(&clear).unwrap().srtp, None);
    let again = crypto_lines(&s.create_offer(Direction::SendOnly));
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|c| first.iter().all(|f| f.key != c.key)));
}
