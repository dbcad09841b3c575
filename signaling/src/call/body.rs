//! Which bodies are SDP: the one Content-Type check for requests and responses (a body
//! must name its type, RFC 3261 §20.15), and the 415 for a body of any other type.

use crate::message::{HeaderName, Headers, Request, Response};
use crate::transaction::response_to;
use bytes::Bytes;

/// The SDP a message carries: its body, when there is one and its type is SDP.
pub(super) fn sdp_of(headers: &Headers, body: &Bytes) -> Option<Bytes> {
    let sdp = headers
        .get(&HeaderName::ContentType)
        .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/sdp"));
    (sdp && !body.is_empty()).then(|| body.clone())
}

/// A 415 (naming SDP as what we accept) when `request` has a body that is not SDP, or one
/// in an encoding we cannot undo (gzip...: we read only the identity encoding, §8.2.3).
pub(super) fn refuse_non_sdp(request: &Request, local_tag: &str) -> Option<Response> {
    if request.body.is_empty() {
        return None;
    }
    let encoded = request
        .headers
        .get_all(&HeaderName::ContentEncoding)
        .any(|v| {
            v.split(',')
                .any(|e| !e.trim().eq_ignore_ascii_case("identity"))
        });
    if !encoded && sdp_of(&request.headers, &request.body).is_some() {
        return None;
    }
    let mut response = response_to(request, 415, "Unsupported Media Type", Some(local_tag));
    response.headers.push(HeaderName::Accept, "application/sdp");
    if encoded {
        response
            .headers
            .push(HeaderName::AcceptEncoding, "identity");
    }
    Some(response)
}
