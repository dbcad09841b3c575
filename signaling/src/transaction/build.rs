//! Messages the transaction layer writes itself (the printer adds Content-Length): the ACK for a non-2xx final response
//! (§17.1.1.3), responses built from a request (§8.2.6), and the `received`/`rport` stamp a
//! server puts on the top Via of what it receives (§18.2.1, RFC 3581 §4).

use crate::message::typed::{split_list, CSeq, To, TypedHeader, Via};
use crate::message::{
    Header, HeaderName, Headers, Host, Message, Method, Request, Response, SipStr,
};
use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};

/// The wire form of a message.
pub(crate) fn encode(message: &Message) -> Bytes {
    message.to_bytes()
}

pub(crate) fn encode_request(request: &Request) -> Bytes {
    request.to_bytes()
}

pub(crate) fn encode_response(response: &Response) -> Bytes {
    response.to_bytes()
}

/// The canonical text of one typed header value.
pub(crate) fn print_typed<T: TypedHeader>(value: &T) -> String {
    let mut out = String::new();
    value.print(&mut out);
    out
}

/// The first element of the first Via line, as written.
pub(crate) fn top_via_raw(headers: &Headers) -> Option<SipStr> {
    let first_line = headers.get(&HeaderName::Via)?;
    let top = split_list(&first_line).next()?;
    Some(SipStr::from(top))
}

/// The ACK for a non-2xx final response to `invite` (RFC 3261 §17.1.1.3): the INVITE's
/// Request-URI, Call-ID, From, CSeq number and top Via, the response's To (with its tag),
/// and the INVITE's Route set.
pub(crate) fn ack_for_non_2xx(
    invite: &Request,
    top_via: &SipStr,
    cseq: u32,
    response: &Response,
) -> Request {
    let mut headers = Headers::with_capacity(8);
    headers.push(HeaderName::Via, top_via.clone());
    headers.push(HeaderName::MaxForwards, "70");
    copy_all(&invite.headers, &mut headers, &HeaderName::From);
    match response.headers.get(&HeaderName::To) {
        Some(to) => headers.push(HeaderName::To, to.clone()),
        None => copy_all(&invite.headers, &mut headers, &HeaderName::To),
    }
    copy_all(&invite.headers, &mut headers, &HeaderName::CallId);
    headers.push_typed(&CSeq {
        seq: cseq,
        method: Method::Ack,
    });
    copy_all(&invite.headers, &mut headers, &HeaderName::Route);
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        headers,
        body: Bytes::new(),
    }
}

/// A response to `request` (RFC 3261 §8.2.6.2): Via (every value, in order), From, To,
/// Call-ID, CSeq and, for a 100, Timestamp are copied; `to_tag` is added to To when the
/// request's To has no tag yet (pass `None` for a 100 Trying, which needs none). The body is
/// empty; add headers and a body before sending as needed.
pub fn response_to(request: &Request, status: u16, reason: &str, to_tag: Option<&str>) -> Response {
    let mut headers = Headers::with_capacity(8);
    copy_all(&request.headers, &mut headers, &HeaderName::Via);
    copy_all(&request.headers, &mut headers, &HeaderName::From);
    if let Some(to) = request.headers.get(&HeaderName::To) {
        let has_tag =
            matches!(request.headers.typed::<To>(), Ok(Some(To(ref n))) if n.tag().is_some());
        match to_tag {
            Some(tag) if !has_tag => {
                headers.push(HeaderName::To, format!("{};tag={}", to.as_str(), tag))
            }
            _ => headers.push(HeaderName::To, to.clone()),
        }
    }
    copy_all(&request.headers, &mut headers, &HeaderName::CallId);
    copy_all(&request.headers, &mut headers, &HeaderName::CSeq);
    if status == 100 {
        copy_all(&request.headers, &mut headers, &HeaderName::Timestamp);
    }
    Response {
        status,
        reason: SipStr::from(reason),
        headers,
        body: Bytes::new(),
    }
}

fn copy_all(from: &Headers, to: &mut Headers, name: &HeaderName) {
    for value in from.get_all(name) {
        to.push(name.clone(), value.clone());
    }
}

/// Stamps the top Via of a received request with `received` (when the sent-by host is not
/// the source address, or when the client asked for `rport`) and fills in `rport`, so every
/// response built from the request carries what the client needs to learn its public
/// address. Returns the stamped Via.
pub(crate) fn stamp_received(request: &mut Request, mut via: Via, source: SocketAddr) -> Via {
    let sent_by_is_source = match (&via.host, source.ip()) {
        (Host::V4(a), IpAddr::V4(b)) => *a == b,
        (Host::V6(a), IpAddr::V6(b)) => *a == b,
        _ => false,
    };
    let wants_rport = via.params.contains("rport");
    if !sent_by_is_source || wants_rport {
        via.params.set("received", Some(&source.ip().to_string()));
    }
    if wants_rport {
        via.params.set("rport", Some(&source.port().to_string()));
    }
    if sent_by_is_source && !wants_rport {
        return via;
    }
    request.headers = replace_top_via(&request.headers, &via);
    via
}

/// The same headers with the first element of the first Via line replaced.
pub(crate) fn replace_top_via(headers: &Headers, via: &Via) -> Headers {
    let mut out = Headers::with_capacity(headers.len());
    let mut done = false;
    for Header { name, value } in headers {
        if !done && *name == HeaderName::Via {
            done = true;
            let mut line = print_typed(via);
            for rest in split_list(&value).skip(1) {
                line.push_str(", ");
                line.push_str(rest);
            }
            out.push(HeaderName::Via, line);
        } else {
            out.push(name.clone(), value.clone());
        }
    }
    out
}
