//! The SIP corpus in `testdata/sip/` (see its README): valid messages round-trip, invalid
//! ones fail exactly as listed, nothing panics on truncated or mutated input, and rsip agrees
//! with us on the messages it can read.

use signaling::typed::{
    Allow, Authorization, CSeq, CallId, Contact, ContentLength, ContentType, Event, Expires, From,
    MaxForwards, MinExpires, MinSe, PAssertedIdentity, ProxyAuthenticate, ProxyAuthorization, RAck,
    RSeq, RecordRoute, ReferTo, ReferredBy, Replaces, Require, Route, SessionExpires,
    SubscriptionState, Supported, To, TypedHeader, Unsupported, Via, WwwAuthenticate,
};
use signaling::{bad_request, frame};
use signaling::{HeaderName, Headers, Message, ParseErrorKind, Uri};
use std::path::PathBuf;

fn corpus(dir: &str) -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/sip")
        .join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "sip"))
        .map(|p| {
            let name = p
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read(&p).expect("readable corpus file"))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no corpus files in {}", root.display());
    files
}

/// The message without its Content-Length headers (printing rewrites them).
fn without_length(m: &Message) -> Message {
    let mut m = m.clone();
    m.headers_mut().remove(&HeaderName::ContentLength);
    m
}

/// Parses every value of `T` and checks that each prints back to itself.
fn typed_round_trip<T: TypedHeader + PartialEq + std::fmt::Debug>(
    name: &str,
    headers: &Headers,
) -> usize {
    let all = headers
        .typed_all::<T>()
        .unwrap_or_else(|e| panic!("{name}: {:?}: {e}", T::NAME));
    for v in &all {
        let printed = v.to_value_string();
        let back = T::parse(&printed).unwrap_or_else(|e| panic!("{name}: {printed}: {e}"));
        assert_eq!(&back, v, "{name}: {printed}");
    }
    all.len()
}

/// Every typed header we know, on one header list; returns how many values parsed.
fn all_typed(name: &str, h: &Headers) -> usize {
    typed_round_trip::<Via>(name, h)
        + typed_round_trip::<From>(name, h)
        + typed_round_trip::<To>(name, h)
        + typed_round_trip::<CallId>(name, h)
        + typed_round_trip::<CSeq>(name, h)
        + typed_round_trip::<Contact>(name, h)
        + typed_round_trip::<Route>(name, h)
        + typed_round_trip::<RecordRoute>(name, h)
        + typed_round_trip::<ReferTo>(name, h)
        + typed_round_trip::<ReferredBy>(name, h)
        + typed_round_trip::<PAssertedIdentity>(name, h)
        + typed_round_trip::<MaxForwards>(name, h)
        + typed_round_trip::<Expires>(name, h)
        + typed_round_trip::<MinExpires>(name, h)
        + typed_round_trip::<ContentLength>(name, h)
        + typed_round_trip::<RSeq>(name, h)
        + typed_round_trip::<MinSe>(name, h)
        + typed_round_trip::<RAck>(name, h)
        + typed_round_trip::<Replaces>(name, h)
        + typed_round_trip::<SessionExpires>(name, h)
        + typed_round_trip::<Event>(name, h)
        + typed_round_trip::<SubscriptionState>(name, h)
        + typed_round_trip::<Allow>(name, h)
        + typed_round_trip::<Supported>(name, h)
        + typed_round_trip::<Require>(name, h)
        + typed_round_trip::<Unsupported>(name, h)
        + typed_round_trip::<ContentType>(name, h)
        + typed_round_trip::<WwwAuthenticate>(name, h)
        + typed_round_trip::<ProxyAuthenticate>(name, h)
        + typed_round_trip::<Authorization>(name, h)
        + typed_round_trip::<ProxyAuthorization>(name, h)
}

#[test]
fn valid_messages_parse_print_and_reparse_equal() {
    let files = corpus("valid");
    for (name, bytes) in &files {
        let m = Message::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Eagerly validated headers are always there and typed.
        m.top_via().unwrap_or_else(|e| panic!("{name}: {e}"));
        m.from().unwrap_or_else(|e| panic!("{name}: {e}"));
        m.to().unwrap_or_else(|e| panic!("{name}: {e}"));
        m.call_id().unwrap_or_else(|e| panic!("{name}: {e}"));
        m.cseq().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(all_typed(name, m.headers()) >= 5, "{name}");

        let printed = m.to_bytes();
        let again = Message::parse(&printed).unwrap_or_else(|e| panic!("{name} reprinted: {e}"));
        assert_eq!(without_length(&again), without_length(&m), "{name}");
        assert_eq!(
            again.to_bytes(),
            printed,
            "{name}: printing is not a fixed point"
        );
        let text = String::from_utf8_lossy(&printed);
        assert!(
            text.contains(&format!("\r\nContent-Length: {}\r\n", m.body().len())),
            "{name}"
        );
    }
    assert!(files.len() >= 50, "only {} valid files", files.len());
}

/// How an invalid file must fail.
#[derive(Debug)]
enum Expect {
    /// `Message::parse` fails with this kind.
    Parse(ParseErrorKind),
    /// The message parses, and the typed accessor for this header fails.
    Typed(HeaderName),
}

fn expected(name: &str) -> Expect {
    use Expect::*;
    use ParseErrorKind::*;
    match name {
        "cseq-not-below-2-31.sip" => Parse(InvalidHeader("CSeq")),
        "missing-content-length-terminator.sip" => Parse(Incomplete),
        "not-utf8-header.sip" => Parse(NotUtf8),
        "rfc4475-badaspec.sip" => Parse(InvalidHeader("To")),
        "rfc4475-baddn.sip" => Parse(InvalidHeader("From")),
        "rfc4475-badinv01.sip" => Parse(InvalidHeader("Via")),
        "rfc4475-badvers.sip" => Parse(Version),
        "rfc4475-bigcode.sip" => Parse(StatusCode),
        "rfc4475-clerr.sip" => Parse(ContentLength),
        "rfc4475-escruri.sip" => Parse(Uri),
        "rfc4475-insuf.sip" => Parse(MissingHeader("From")),
        "rfc4475-ltgtruri.sip" => Parse(Uri),
        "rfc4475-lwsruri.sip" => Parse(StartLine),
        "rfc4475-lwsstart.sip" => Parse(StartLine),
        "rfc4475-mcl01.sip" => Parse(ContentLength),
        "rfc4475-mismatch01.sip" => Parse(InvalidHeader("CSeq")),
        "rfc4475-mismatch02.sip" => Parse(InvalidHeader("CSeq")),
        "rfc4475-multi01.sip" => Parse(InvalidHeader("CSeq")),
        "rfc4475-ncl.sip" => Parse(ContentLength),
        "rfc4475-quotbal.sip" => Parse(InvalidHeader("To")),
        "rfc4475-regbadct.sip" => Typed(HeaderName::Contact),
        "rfc4475-scalar02.sip" => Parse(InvalidHeader("CSeq")),
        "rfc4475-scalarlg.sip" => Parse(InvalidHeader("CSeq")),
        "rfc4475-trws.sip" => Parse(StartLine),
        "rfc5118-ipv6-bad.sip" => Parse(Uri),
        other => panic!("{other}: add the expected failure to corpus.rs"),
    }
}

#[test]
fn invalid_messages_fail_as_expected() {
    for (name, bytes) in corpus("invalid") {
        match expected(&name) {
            Expect::Parse(kind) => {
                let err = Message::parse(&bytes).expect_err(&name);
                assert_eq!(err.kind, kind, "{name}: {err}");
            }
            Expect::Typed(header) => {
                let m = Message::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
                let err = match header {
                    HeaderName::Contact => m.headers().typed_all::<Contact>().map(|_| ()),
                    other => panic!("{name}: no typed check for {other}"),
                };
                let err = err.expect_err(&name);
                assert_eq!(err.kind, ParseErrorKind::InvalidHeader("Contact"), "{name}");
            }
        }
    }
}

#[test]
fn invalid_requests_get_a_400_when_salvageable() {
    for (name, bytes) in corpus("invalid") {
        let Some(resp) = bad_request(&bytes, "Bad Request") else {
            continue;
        };
        assert_eq!(resp.status, 400, "{name}");
        let printed = resp.to_bytes();
        let parsed = Message::parse(&printed);
        // Salvaged headers are copied verbatim, so a 400 can carry the defect it answers;
        // when it parses, its To carries the tag we added.
        if let Ok(p) = parsed {
            assert!(p.to().is_ok_and(|t| t.tag().is_some()), "{name}");
        }
    }
    let bad = corpus("invalid");
    let count = bad
        .iter()
        .filter(|(_, b)| bad_request(b, "x").is_some())
        .count();
    assert!(count >= 10, "only {count} invalid requests salvaged");
}

/// Deterministic xorshift: the mutation test must be reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[u8] = b"\r\n \t:;,=\"<>\\%@[]?/0123456789\x00\xff\xc3";

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(v.len() + 1);
        let byte = if rng.below(2) == 0 {
            INTERESTING[rng.below(INTERESTING.len())]
        } else {
            rng.next() as u8
        };
        match rng.below(4) {
            0 if at < v.len() => v[at] = byte,
            1 => v.insert(at, byte),
            2 if at < v.len() => {
                v.remove(at);
            }
            _ => {
                let len = rng.below(16).min(v.len() - at.min(v.len()));
                let chunk: Vec<u8> = v[at.min(v.len())..at.min(v.len()) + len].to_vec();
                let to = rng.below(v.len() + 1);
                v.splice(to..to, chunk);
            }
        }
    }
    v
}

/// Everything a receiver might call on untrusted bytes; must never panic.
fn exercise(bytes: &[u8]) {
    let _ = frame(bytes);
    if let Some(r) = bad_request(bytes, "Bad Request") {
        let _ = Message::parse(&r.to_bytes());
    }
    let Ok(m) = Message::parse(bytes) else {
        return;
    };
    // What `parse` validated eagerly, the typed accessors must be able to read.
    for (what, ok) in [
        ("top Via", m.top_via().is_ok()),
        ("From", m.from().is_ok()),
        ("To", m.to().is_ok()),
        ("Call-ID", m.call_id().is_ok()),
        ("CSeq", m.cseq().is_ok()),
    ] {
        assert!(ok, "{what} passed validation but its accessor fails: {m:?}");
    }
    let _ = all_typed_lenient(m.headers());
    let printed = m.to_bytes();
    let again = Message::parse(&printed)
        .unwrap_or_else(|e| panic!("a parsed message must print parseably: {e}\n{m:?}"));
    assert_eq!(without_length(&again), without_length(&m));
}

/// Like `all_typed` but tolerant of errors (mutated headers may be invalid).
fn all_typed_lenient(h: &Headers) -> usize {
    fn count<T: TypedHeader>(h: &Headers) -> usize {
        match h.typed_all::<T>() {
            Ok(all) => {
                for v in &all {
                    let _ = T::parse(&v.to_value_string());
                }
                all.len()
            }
            Err(_) => 0,
        }
    }
    count::<Via>(h)
        + count::<From>(h)
        + count::<To>(h)
        + count::<Contact>(h)
        + count::<Route>(h)
        + count::<RecordRoute>(h)
        + count::<ReferTo>(h)
        + count::<ReferredBy>(h)
        + count::<PAssertedIdentity>(h)
        + count::<CSeq>(h)
        + count::<CallId>(h)
        + count::<MaxForwards>(h)
        + count::<Expires>(h)
        + count::<RSeq>(h)
        + count::<MinSe>(h)
        + count::<RAck>(h)
        + count::<Replaces>(h)
        + count::<SessionExpires>(h)
        + count::<Event>(h)
        + count::<SubscriptionState>(h)
        + count::<Allow>(h)
        + count::<Supported>(h)
        + count::<ContentType>(h)
        + count::<WwwAuthenticate>(h)
        + count::<ProxyAuthenticate>(h)
        + count::<Authorization>(h)
}

#[test]
fn truncations_never_panic() {
    for (_, bytes) in corpus("valid").into_iter().chain(corpus("invalid")) {
        for n in 0..=bytes.len() {
            exercise(&bytes[..n]);
        }
    }
}

#[test]
fn mutations_never_panic() {
    let mut rng = Rng(0x5eed_f51b_c0de);
    let files: Vec<_> = corpus("valid")
        .into_iter()
        .chain(corpus("invalid"))
        .collect();
    let per_file = 20_000 / files.len() + 1;
    for (_, bytes) in &files {
        for _ in 0..per_file {
            let m = mutate(&mut rng, bytes);
            exercise(&m);
            // Also as a stream: the mutated message followed by a clean one.
            let mut stream = m.clone();
            stream.extend_from_slice(bytes);
            if let Ok(Some(f)) = frame(&stream) {
                assert!(f.skip + f.len <= stream.len());
            }
        }
    }
}

/// Every typed parser (and the URI parser) on mutated header values of the corpus.
#[test]
fn typed_parsers_never_panic_on_mutated_values() {
    fn all<T: TypedHeader>(v: &str) {
        if let Ok(t) = T::parse(v) {
            let _ = T::parse(&t.to_value_string());
        }
    }
    let mut rng = Rng(0x00dd_ba11);
    let mut n = 0;
    for (_, bytes) in corpus("valid") {
        let Ok(m) = Message::parse(&bytes) else {
            continue;
        };
        for h in m.headers() {
            for _ in 0..8 {
                let mutated = mutate(&mut rng, h.value.as_bytes());
                let v = String::from_utf8_lossy(&mutated);
                all::<Via>(&v);
                all::<From>(&v);
                all::<Contact>(&v);
                all::<CSeq>(&v);
                all::<CallId>(&v);
                all::<RAck>(&v);
                all::<Replaces>(&v);
                all::<SessionExpires>(&v);
                all::<MinSe>(&v);
                all::<Event>(&v);
                all::<ContentType>(&v);
                all::<Allow>(&v);
                all::<WwwAuthenticate>(&v);
                all::<Authorization>(&v);
                let _ = Uri::parse(&v);
                n += 1;
            }
        }
    }
    assert!(n > 1000);
}

#[test]
fn typed_values_of_interest() {
    let files = corpus("valid");
    let get = |name: &str| {
        let (_, b) = files.iter().find(|(n, _)| n == name).expect("corpus file");
        Message::parse(b).expect("valid")
    };
    let m = get("refer-replaces.sip");
    let refer: ReferTo = m.headers().typed().unwrap().unwrap();
    let replaces = refer.replaces().expect("has Replaces").unwrap();
    assert_eq!(replaces.call_id, "12345@192.168.118.3");
    assert_eq!(replaces.from_tag, "5FFE-3994");

    let m = get("kamailio-401-register-sha256-md5.sip");
    let challenges: Vec<WwwAuthenticate> = m.headers().typed_all().unwrap();
    let algorithms: Vec<&str> = challenges.iter().map(|c| c.algorithm()).collect();
    assert_eq!(algorithms, ["SHA-256", "MD5"]);
    let printed = m.to_bytes();
    assert!(String::from_utf8_lossy(&printed).contains("algorithm=SHA-256"));

    let m = get("asterisk-407-invite.sip");
    let c: ProxyAuthenticate = m.headers().typed().unwrap().unwrap();
    assert_eq!(c.algorithm(), "md5", "kept exactly as sent");

    let m = get("freeswitch-200-register-contacts.sip");
    let contacts: Vec<Contact> = m.headers().typed_all().unwrap();
    let expires: Vec<Option<u32>> = contacts.iter().map(Contact::expires).collect();
    assert_eq!(expires, [Some(3600), Some(1790), Some(600)]);

    let m = get("notify-sipfrag.sip");
    let state: SubscriptionState = m.headers().typed().unwrap().unwrap();
    assert!(state.is_terminated());
    let ct: ContentType = m.headers().typed().unwrap().unwrap();
    assert!(ct.is("message/sipfrag"));

    let m = get("compact-form-invite.sip");
    assert_eq!(
        m.top_via().unwrap().transport,
        signaling::typed::Transport::Tcp
    );
    let se: SessionExpires = m.headers().typed().unwrap().unwrap();
    assert_eq!(se.delta_seconds, 600);

    let m = get("rfc5118-via-received-param-no-delim.sip");
    assert_eq!(
        m.top_via().unwrap().received_ip(),
        Some("2001:db8::9:255".parse().unwrap())
    );
}

#[test]
fn request_uris_of_the_corpus_reparse() {
    for (name, bytes) in corpus("valid") {
        if let Ok(Message::Request(r)) = Message::parse(&bytes) {
            let text = r.uri.to_string();
            let back = Uri::parse(&text).unwrap_or_else(|e| panic!("{name}: {text}: {e}"));
            assert_eq!(back, r.uri, "{name}");
            assert!(back.eq_rfc(&r.uri), "{name}");
        }
    }
}

/// Messages rsip 0.4 reads correctly: long header names only, no IPv6, no folding.
const RSIP_COMPATIBLE: &[&str] = &[
    "asterisk-183-rseq.sip",
    "asterisk-407-invite.sip",
    "asterisk-options-qualify.sip",
    "cisco-cucm-invite.sip",
    "kamailio-401-register-sha256-md5.sip",
    "kamailio-invite-sdp-record-route.sip",
    "notify-sipfrag.sip",
    "prack-rack.sip",
    "refer-replaces.sip",
    "register-authorization-sha256.sip",
    "subscribe-presence.sip",
];

#[test]
fn agrees_with_rsip_where_rsip_works() {
    use rsip::prelude::*;
    let files = corpus("valid");
    for want in RSIP_COMPATIBLE {
        let (name, bytes) = files
            .iter()
            .find(|(n, _)| n == want)
            .unwrap_or_else(|| panic!("{want} missing"));
        let ours = Message::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let theirs = rsip::SipMessage::try_from(bytes.as_slice())
            .unwrap_or_else(|e| panic!("{name}: rsip: {e}"));
        match (&ours, &theirs) {
            (Message::Request(a), rsip::SipMessage::Request(b)) => {
                assert_eq!(a.method.as_str(), b.method().to_string(), "{name}");
                // rsip upper-cases some parameter values; compare per RFC 3261 §19.1.4.
                let their_uri = Uri::parse(&b.uri().to_string()).expect("rsip prints a URI");
                assert!(a.uri.eq_rfc(&their_uri), "{name}: {} vs {their_uri}", a.uri);
            }
            (Message::Response(a), rsip::SipMessage::Response(b)) => {
                assert_eq!(a.status, b.status_code().code(), "{name}");
            }
            _ => panic!("{name}: request/response disagreement"),
        }
        assert_eq!(
            ours.headers().len(),
            theirs.headers().iter().count(),
            "{name}"
        );
        let call_id = theirs.call_id_header().expect("rsip Call-ID");
        assert_eq!(
            ours.call_id().expect("Call-ID").as_str(),
            call_id.value(),
            "{name}"
        );
        let cseq = theirs.cseq_header().expect("rsip CSeq");
        let our_cseq = ours.cseq().expect("CSeq");
        assert_eq!(
            our_cseq.seq,
            cseq.seq().expect("rsip CSeq number"),
            "{name}"
        );
        assert_eq!(
            our_cseq.method.as_str(),
            cseq.method().expect("rsip CSeq method").to_string(),
            "{name}"
        );
        assert_eq!(ours.body().as_ref(), theirs.body().as_slice(), "{name}");
    }
}
