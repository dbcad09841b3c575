//! What the endpoint answers by itself, before any dialog layer exists: OPTIONS outside a
//! dialog (200 with our capabilities), methods we do not serve (405 with Allow), calls
//! when no application takes them (480), requests for dialogs we do not have (481), and
//! any request that requires an extension we lack (420 with Unsupported, RFC 3261 §8.2.2.3)
//! or is addressed by a URI scheme other than sip, sips and tel (416, §8.2.2.1).

use crate::message::typed::{Require, To};
use crate::message::{HeaderName, Method, Request, Response, Uri};
use crate::registration::{ALLOW, SUPPORTED};
use crate::transaction::response_to;

/// How the endpoint treats a request the transaction layer just delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Disposition {
    /// Answer it here with this response.
    Answer(Response),
    /// Hand it to the application (the calls layer).
    Deliver,
}

/// Whether a request belongs to a dialog (RFC 3261 §12.2.2: a To tag).
fn in_dialog(request: &Request) -> bool {
    matches!(request.headers.typed::<To>(), Ok(Some(To(addr))) if addr.tag().is_some())
}

/// Methods the calls layer handles (inside dialogs, or starting one).
fn is_call_method(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite
            | Method::Bye
            | Method::Info
            | Method::Update
            | Method::Prack
            | Method::Notify
            | Method::Refer
    )
}

pub(super) fn dispose(request: &Request, deliver_calls: bool, to_tag: &str) -> Disposition {
    let dialog = in_dialog(request);
    let served = request.method == Method::Options || is_call_method(&request.method);
    // Methods first (405), then the Request-URI's scheme (416, §8.2.2.1), then Require
    // (§8.2.2.3), in or out of a dialog.
    if served && matches!(request.uri, Uri::Other(_)) {
        let refusal = response_to(request, 416, "Unsupported URI Scheme", Some(to_tag));
        return Disposition::Answer(refusal);
    }
    if served {
        if let Some(refusal) = bad_extension(request, to_tag) {
            return Disposition::Answer(refusal);
        }
    }
    match &request.method {
        Method::Options if !dialog || !deliver_calls => {
            Disposition::Answer(capabilities(request, to_tag))
        }
        // A CANCEL that matched no INVITE transaction (§9.2).
        Method::Cancel => Disposition::Answer(response_to(
            request,
            481,
            "Call/Transaction Does Not Exist",
            Some(to_tag),
        )),
        m if (dialog || is_call_method(m)) && deliver_calls => Disposition::Deliver,
        _ if dialog => Disposition::Answer(response_to(
            request,
            481,
            "Call/Transaction Does Not Exist",
            Some(to_tag),
        )),
        Method::Invite => {
            // No application takes calls on this endpoint (e.g. a registration-only run).
            let mut busy = response_to(request, 480, "Temporarily Unavailable", Some(to_tag));
            busy.headers.push(
                HeaderName::Warning,
                "399 softphone \"incoming calls are not enabled\"",
            );
            Disposition::Answer(busy)
        }
        _ => {
            let mut not_allowed = response_to(request, 405, "Method Not Allowed", Some(to_tag));
            not_allowed.headers.push(HeaderName::Allow, ALLOW);
            Disposition::Answer(not_allowed)
        }
    }
}

/// Option tags we honour in a Require header.
const UNDERSTOOD: [&str; 3] = ["100rel", "timer", "replaces"];

/// 420 Bad Extension listing, in Unsupported, the required option tags we lack. ACK and
/// CANCEL never get here (the transaction layer takes them), and their Require is ignored.
fn bad_extension(request: &Request, to_tag: &str) -> Option<Response> {
    let unsupported: Vec<String> = request
        .headers
        .typed_all::<Require>()
        .unwrap_or_default()
        .iter()
        .map(|t| t.0.to_string())
        .filter(|t| !UNDERSTOOD.iter().any(|u| u.eq_ignore_ascii_case(t)))
        .collect();
    if unsupported.is_empty() {
        return None;
    }
    let mut refusal = response_to(request, 420, "Bad Extension", Some(to_tag));
    refusal
        .headers
        .push(HeaderName::Unsupported, unsupported.join(", "));
    Some(refusal)
}

/// 200 to OPTIONS (RFC 3261 §11.2): what we accept and support.
fn capabilities(request: &Request, to_tag: &str) -> Response {
    let mut ok = response_to(request, 200, "OK", Some(to_tag));
    ok.headers.push(HeaderName::Allow, ALLOW);
    ok.headers.push(HeaderName::Accept, "application/sdp");
    ok.headers.push(HeaderName::Supported, SUPPORTED);
    ok
}
