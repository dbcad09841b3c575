use super::*;

const INVITE: &str = "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n\
Max-Forwards: 70\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
Call-ID: 3848276298220188511@atlanta.example.com\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@client.atlanta.example.com;transport=tcp>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\
\r\n\
v=0\n";

fn parse(s: &str) -> Result<Message, ParseError> {
    Message::parse(s.as_bytes())
}

fn kind(s: &str) -> ParseErrorKind {
    parse(s).unwrap_err().kind
}

#[test]
fn parses_a_request() {
    let m = parse(INVITE).unwrap();
    let Message::Request(r) = &m else {
        panic!("not a request")
    };
    assert_eq!(r.method, Method::Invite);
    assert_eq!(r.uri.to_string(), "sip:bob@biloxi.example.com");
    assert_eq!(r.headers.len(), 9);
    assert_eq!(&r.body[..], b"v=0\n");
    assert_eq!(
        m.call_id().unwrap().as_str(),
        "3848276298220188511@atlanta.example.com"
    );
    assert_eq!(m.cseq().unwrap().seq, 1);
    assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bK74bf9"));
    assert_eq!(m.from().unwrap().tag(), Some("9fxced76sl"));
    assert_eq!(m.to().unwrap().tag(), None);
}

#[test]
fn print_then_parse_is_equal() {
    let m = parse(INVITE).unwrap();
    let printed = m.to_bytes();
    assert_eq!(std::str::from_utf8(&printed).unwrap(), INVITE);
    assert_eq!(Message::parse(&printed).unwrap(), m);
}

#[test]
fn header_values_share_the_datagram() {
    let bytes = Bytes::from(INVITE.as_bytes().to_vec());
    let base = bytes.as_ptr() as usize;
    let m = Message::parse_bytes(bytes.clone()).unwrap();
    let v = m.headers().get(&HeaderName::CallId).unwrap();
    let p = v.as_bytes().as_ptr() as usize;
    assert!(p >= base && p < base + bytes.len());
}

#[test]
fn compact_forms_folding_and_bare_lf() {
    let s = "OPTIONS sip:a@b.example SIP/2.0\n\
v: SIP/2.0/UDP h.example;branch=z9hG4bK1\n\
f: <sip:c@d.example>;tag=1\n\
t: <sip:a@b.example>\n\
i: abc\n\
CSEQ: 7\n\
\x20  OPTIONS\n\
subject: a\n\
\tfolded  \n\
\x20line\n\
l: 0\n\
\n";
    let m = parse(s).unwrap();
    assert_eq!(m.cseq().unwrap().seq, 7);
    assert_eq!(
        m.headers().get(&HeaderName::Subject).unwrap(),
        "a folded line"
    );
    let out = m.to_bytes();
    assert!(std::str::from_utf8(&out)
        .unwrap()
        .contains("\r\nSubject: a folded line\r\n"));
    assert_eq!(Message::parse(&out).unwrap(), m);
}

#[test]
fn responses_and_reasons() {
    let base = "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\r\n";
    let r = parse(&format!("SIP/2.0 180 Ringing\r\n{base}")).unwrap();
    assert!(matches!(r, Message::Response(ref r) if r.status == 180 && r.reason == "Ringing"));
    let r = parse(&format!("SIP/2.0 100 \r\n{base}")).unwrap();
    assert!(matches!(r, Message::Response(ref r) if r.reason.is_empty()));
    let r = parse(&format!("SIP/2.0 100\r\n{base}")).unwrap();
    assert!(matches!(r, Message::Response(ref r) if r.status == 100));
    assert_eq!(
        kind(&format!("SIP/2.0 4294967301 Big\r\n{base}")),
        ParseErrorKind::StatusCode
    );
    assert_eq!(
        kind(&format!("SIP/2.0 99 Low\r\n{base}")),
        ParseErrorKind::StatusCode
    );
    assert_eq!(
        kind(&format!("SIP/7.0 200 OK\r\n{base}")),
        ParseErrorKind::Version
    );
}

#[test]
fn content_length_rules() {
    let with_cl = |cl: &str, body: &str| {
        INVITE
            .replace("Content-Length: 4", cl)
            .replace("v=0\n", body)
    };
    // Extra bytes beyond Content-Length are discarded.
    let m = parse(&with_cl("Content-Length: 4", "v=0\nEXTRA")).unwrap();
    assert_eq!(&m.body()[..], b"v=0\n");
    // A shorter body is an error.
    assert_eq!(
        kind(&with_cl("Content-Length: 9999", "v=0\n")),
        ParseErrorKind::ContentLength
    );
    assert_eq!(
        kind(&with_cl("Content-Length: -999", "")),
        ParseErrorKind::ContentLength
    );
    assert_eq!(
        kind(&with_cl("Content-Length: 18446744073709551618", "")),
        ParseErrorKind::TooLarge
    );
    // Without Content-Length the rest of the datagram is the body.
    let m = parse(&with_cl("X-No-Length: 1", "whole rest")).unwrap();
    assert_eq!(&m.body()[..], b"whole rest");
    let two = with_cl("Content-Length: 4\r\nl: 5", "v=0\n!");
    assert_eq!(kind(&two), ParseErrorKind::ContentLength);
}

#[test]
fn eager_validation() {
    let drop_header = |name: &str| {
        INVITE
            .lines()
            .filter(|l| !l.starts_with(name))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    for (name, kind_) in [
        ("Via", ParseErrorKind::MissingHeader("Via")),
        ("From", ParseErrorKind::MissingHeader("From")),
        ("To", ParseErrorKind::MissingHeader("To")),
        ("Call-ID", ParseErrorKind::MissingHeader("Call-ID")),
        ("CSeq", ParseErrorKind::MissingHeader("CSeq")),
    ] {
        assert_eq!(kind(&drop_header(name)), kind_, "{name}");
    }
    assert_eq!(
        kind(&INVITE.replace("CSeq: 1 INVITE", "CSeq: 1 ACK")),
        ParseErrorKind::InvalidHeader("CSeq")
    );
    assert_eq!(
        kind(&INVITE.replace("CSeq: 1 INVITE", "CSeq: 2147483648 INVITE")),
        ParseErrorKind::InvalidHeader("CSeq")
    );
    assert_eq!(
        kind(&INVITE.replace("Max-Forwards: 70", "Max-Forwards: 300")),
        ParseErrorKind::InvalidHeader("Max-Forwards")
    );
    assert_eq!(
        kind(&INVITE.replace("SIP/2.0/UDP client", "SIP/2.0/UDP ;client")),
        ParseErrorKind::InvalidHeader("Via")
    );
    assert_eq!(
        kind(&INVITE.replace("Call-ID: 38", "Call-ID: 3 8")),
        ParseErrorKind::InvalidHeader("Call-ID")
    );
    assert_eq!(
        kind(&INVITE.replace("INVITE sip:bob", "INVITE  sip:bob")),
        ParseErrorKind::StartLine
    );
    assert_eq!(
        kind(&INVITE.replace("com SIP/2.0\r\n", "com SIP/2.0 \r\n")),
        ParseErrorKind::StartLine
    );
    assert_eq!(
        kind(&INVITE.replace(
            "INVITE sip:bob@biloxi.example.com",
            "INVITE <sip:bob@biloxi.example.com>"
        )),
        ParseErrorKind::Uri
    );
    assert_eq!(
        kind(&INVITE.replace("Max-Forwards: 70", "Max-Forwards 70")),
        ParseErrorKind::HeaderSyntax
    );
    assert_eq!(
        kind(&INVITE.replace("\r\n\r\n", "\r\n")),
        ParseErrorKind::Incomplete
    );
    assert_eq!(
        kind("INVITE sip:a@b SIP/2.0\r\nX: \u{0}\r\n\r\n"),
        ParseErrorKind::MissingHeader("Via")
    );
    assert_eq!(
        Message::parse(b"INVITE sip:a@b SIP/2.0\r\nX: \xff\r\n\r\n")
            .unwrap_err()
            .kind,
        ParseErrorKind::NotUtf8
    );
}

#[test]
fn framing() {
    assert_eq!(frame(b"").unwrap(), None);
    assert_eq!(frame(b"\r\n\r\n").unwrap(), Some(Frame { skip: 4, len: 0 }));
    let mut stream = b"\r\n\r\n".to_vec();
    stream.extend_from_slice(INVITE.as_bytes());
    stream.extend_from_slice(INVITE.as_bytes());
    let f = frame(&stream).unwrap().unwrap();
    assert_eq!(
        f,
        Frame {
            skip: 4,
            len: INVITE.len()
        }
    );
    for cut in 5..4 + INVITE.len() {
        assert_eq!(frame(&stream[..cut]).unwrap(), None, "cut at {cut}");
    }
    let no_cl = INVITE.replace("Content-Length: 4\r\n", "");
    assert_eq!(
        frame(no_cl.as_bytes()).unwrap_err().kind,
        ParseErrorKind::MissingHeader("Content-Length")
    );
    let huge = INVITE.replace("Content-Length: 4", "Content-Length: 99999999");
    assert_eq!(
        frame(huge.as_bytes()).unwrap_err().kind,
        ParseErrorKind::TooLarge
    );
    let endless = vec![b'a'; MAX_HEADER_BYTES + 1];
    assert_eq!(frame(&endless).unwrap_err().kind, ParseErrorKind::TooLarge);
    let compact = INVITE.replace("Content-Length: 4", "l:\r\n 4");
    assert_eq!(
        frame(compact.as_bytes()).unwrap().unwrap().len,
        compact.len()
    );
}

#[test]
fn bad_request_salvages_headers() {
    let broken = INVITE.replace("Max-Forwards: 70", "Max-Forwards: lots");
    assert!(parse(&broken).is_err());
    let r = bad_request(broken.as_bytes(), "Bad Max-Forwards").unwrap();
    assert_eq!(r.status, 400);
    assert_eq!(r.reason, "Bad Max-Forwards");
    assert_eq!(r.top_via().unwrap().branch(), Some("z9hG4bK74bf9"));
    let tag = r.to().unwrap().tag().map(str::to_owned).unwrap();
    let again = bad_request(broken.as_bytes(), "Bad Max-Forwards").unwrap();
    assert_eq!(again.to().unwrap().tag(), Some(tag.as_str()));
    // The printed 400 parses.
    assert!(Message::parse(&r.to_bytes()).is_ok());
    // Never answer an ACK or a response; give up without the key headers.
    assert!(bad_request(broken.replace("INVITE sip", "ACK sip").as_bytes(), "x").is_none());
    assert!(bad_request(b"SIP/2.0 200 OK\r\nVia: x\r\n\r\n", "x").is_none());
    assert!(bad_request(INVITE.replace("Call-ID", "X").as_bytes(), "x").is_none());
    assert!(bad_request(b"", "x").is_none());
}

/// The corpus (valid and invalid) and seeded single- and double-byte mutations of it, biased
/// towards the bytes that matter to the recognisers.
fn corpus_and_mutations() -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/sip");
    let mut inputs = Vec::new();
    for dir in ["valid", "invalid"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("corpus directory")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "sip"))
            .collect();
        files.sort();
        for f in files {
            inputs.push(std::fs::read(f).expect("corpus file"));
        }
    }
    inputs.push(INVITE.as_bytes().to_vec());
    const INTERESTING: &[u8] = b" \t;:@<>\"'=,.%[]/?!~*()&+$_-0123456789aZ\\\r\n\x7f\xc3";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let originals = inputs.clone();
    for original in &originals {
        for _ in 0..150 {
            let mut v = original.clone();
            for _ in 0..1 + next(2) {
                if v.is_empty() {
                    break;
                }
                let at = next(v.len());
                let byte = INTERESTING[next(INTERESTING.len())];
                match next(3) {
                    0 => v[at] = byte,
                    1 => v.insert(at, byte),
                    _ => {
                        v.remove(at);
                    }
                }
            }
            inputs.push(v);
        }
    }
    inputs
}

/// Candidate texts for the recognisers: every header value, every `<...>` inside one, and
/// every request line's URI.
fn candidate_values(inputs: &[Vec<u8>]) -> Vec<String> {
    let mut out = Vec::new();
    for input in inputs {
        let Some((head_len, _)) = find_head_end(input) else {
            continue;
        };
        let head = &input[..head_len];
        if let Some(uri) = std::str::from_utf8(head.split(|&b| b == b'\n').next().unwrap_or(b""))
            .ok()
            .and_then(|l| l.split(' ').nth(1))
        {
            out.push(uri.to_string());
        }
        for (_, value) in raw_headers(head) {
            let Ok(v) = String::from_utf8(value) else {
                continue;
            };
            if let (Some(a), Some(b)) = (v.find('<'), v.find('>')) {
                if a < b {
                    out.push(v[a + 1..b].to_string());
                }
            }
            out.push(v);
        }
    }
    out
}

#[test]
fn plain_request_line_agrees_with_the_general_parser() {
    let mut lines: Vec<String> = corpus_and_mutations()
        .iter()
        .filter_map(|m| {
            let first = m.split(|&b| b == b'\n').next()?;
            let first = first.strip_suffix(b"\r").unwrap_or(first);
            String::from_utf8(first.to_vec()).ok()
        })
        .collect();
    for extra in [
        "INVITE sip:2001@192.168.1.30:5060;transport=udp SIP/2.0",
        "FOO sip:a@b SIP/2.0",
        "INVITE  sip:a@b SIP/2.0",
        "INVITE sip:a@b  SIP/2.0",
        "INVITE sip:a b SIP/2.0",
        "INVITE sip: SIP/2.0",
        "INVITE sip:a@b sip/2.0",
        "INVITE SIP/2.0",
        " SIP/2.0",
        "SIP/2.0 200 SIP/2.0",
        "INV@TE sip:a@b SIP/2.0",
        "INVITE sip:a@b?x=y SIP/2.0",
        "INVITE sip:a@1.2.3.4.5 SIP/2.0",
    ] {
        lines.push(extra.to_string());
    }
    let mut hits = 0;
    for line in &lines {
        let src = SipStr::from(line.as_str());
        if let Some(fast) = plain_request_line(&src, &src) {
            hits += 1;
            assert_eq!(Ok(fast), parse_start_general(&src, &src), "{line:?}");
        }
    }
    assert!(hits > 100, "only {hits} plain request lines");
}

#[test]
fn recognisers_agree_with_the_typed_parsers() {
    let inputs = corpus_and_mutations();
    let values = candidate_values(&inputs);
    let (mut via_hits, mut addr_hits, mut uri_hits) = (0, 0, 0);
    for v in &values {
        let src = SipStr::from(v.as_str());
        if scan::via_ok(v) {
            via_hits += 1;
            assert_eq!(typed::split_list(v).next(), Some(v.as_str()), "{v:?}");
            assert!(Via::parse_sip(&src).is_ok(), "via_ok but Via rejects {v:?}");
        }
        if scan::name_addr_ok(v) {
            addr_hits += 1;
            assert!(
                NameAddr::parse_in(&src, &src, "From").is_ok(),
                "name_addr_ok but NameAddr rejects {v:?}"
            );
        }
        assert_eq!(
            scan::call_id_ok(v),
            typed::call_id_is_valid(v),
            "Call-ID {v:?}"
        );
        for (scheme, secure) in [("sip:", false), ("sips:", true)] {
            if let Some(rest) = v.strip_prefix(scheme) {
                if let Some(plain) = crate::message::SipUri::parse_plain(&src, rest, secure) {
                    uri_hits += 1;
                    assert_eq!(
                        crate::message::SipUri::parse_general(&src, rest, secure),
                        Ok(plain),
                        "{v:?}"
                    );
                }
            }
        }
    }
    // The plain forms are the common ones: most corpus values take the fast paths.
    assert!(
        via_hits > 1000 && addr_hits > 1000 && uri_hits > 1000,
        "fast paths barely used: Via {via_hits}, name-addr {addr_hits}, URI {uri_hits} of {}",
        values.len()
    );
}

#[test]
fn parsed_messages_always_have_their_typed_essentials() {
    for input in corpus_and_mutations() {
        let Ok(m) = Message::parse(&input) else {
            continue;
        };
        let text = String::from_utf8_lossy(&input);
        assert!(m.top_via().is_ok(), "{text}");
        assert!(m.from().is_ok(), "{text}");
        assert!(m.to().is_ok(), "{text}");
        assert!(m.call_id().is_ok(), "{text}");
        assert!(m.cseq().is_ok(), "{text}");
    }
}

/// The SSE2 known-name path skips the per-byte token check; on every line start of the
/// corpus and its mutations, and on lines built to trip it, what it finds must be what the
/// byte-by-byte scan finds: a token name right before the colon, with the same meaning.
#[test]
fn known_name_fast_path_agrees_with_the_token_scan() {
    let mut inputs = corpus_and_mutations();
    for line in [
        "Call\rID: x\r\n\r\n",
        "Call-ID : x\r\n\r\n",
        "WWW-Authenticate: Digest realm=\"a\"\r\n\r\n",
        "WWW-Authenticatf: x\r\n\r\n",
        "Content-Encoding:gzip\r\n\r\n",
        "v:SIP/2.0/UDP h\r\n\r\n\r\n\r\n\r\n",
        "\x16: x\r\n\r\n\r\n\r\n\r\n\r\n",
        "VIA\n: x\r\n\r\n\r\n\r\n\r\n\r\n",
        "Max\x00Forwards: 70\r\n\r\n",
        "Contént-Length: 0\r\n\r\n",
    ] {
        inputs.push(line.as_bytes().to_vec());
    }
    let mut found = 0;
    for input in &inputs {
        let starts = std::iter::once(0).chain(
            input
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        for pos in starts {
            let Some((name, len)) = scan::known_name(input, pos) else {
                continue;
            };
            found += 1;
            let text = &input[pos..pos + len];
            assert!(
                text.iter().all(|&c| lex::is_token(c)),
                "{:?}",
                String::from_utf8_lossy(text)
            );
            assert_eq!(input.get(pos + len), Some(&b':'));
            let text = std::str::from_utf8(text).unwrap();
            assert_eq!(HeaderName::from_name_known(text), Some(name), "{text:?}");
        }
    }
    assert!(found > 1000, "only {found} known names found");
    assert_eq!(
        scan::known_name(b"Call\rID: x\r\n\r\n", 0),
        None,
        "CR folds onto '-'"
    );
    assert!(scan::known_name(b"WWW-Authenticate: x\r\n", 0).is_some());
}
