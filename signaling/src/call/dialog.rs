//! The dialog state of a call (RFC 3261 §12): identifiers, route set, remote target, CSeqs,
//! and building requests inside it.

use crate::message::typed::{CSeq, CallId, Contact, From, NameAddr, RecordRoute, To};
use crate::message::{HeaderName, Headers, Host, Method, Request, Response, SipStr, Uri};
use crate::net::{Peer, TransportKind};
use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};

/// What every request we send carries about us.
#[derive(Debug, Clone)]
pub(super) struct LocalContext {
    /// Our address as the Via sent-by and the Contact host.
    pub addr: SocketAddr,
    pub transport: TransportKind,
    /// The printed Contact value, e.g. `<sip:1001@127.0.0.1:5060>`.
    pub contact: String,
    /// The Contact for a dialog started with a `sips:` URI (RFC 3261 §8.1.1.8, §12.1.1):
    /// `<sips:1001@127.0.0.1:5060>` over TLS; over another transport we cannot offer TLS
    /// to the end, so it stays `contact`.
    pub contact_secure: String,
    pub user_agent: Option<String>,
}

impl LocalContext {
    /// Our Contact in `dialog`.
    pub fn contact_in(&self, dialog: &Dialog) -> &str {
        if dialog.secure {
            &self.contact_secure
        } else {
            &self.contact
        }
    }

    /// A Via without a branch (the transaction layer adds one; ACKs get theirs from us).
    pub fn via(&self) -> String {
        format!("SIP/2.0/{} {};rport", self.transport.via_token(), self.addr)
    }
}

#[derive(Debug, Clone)]
pub(super) struct Dialog {
    pub call_id: String,
    pub local_tag: String,
    /// Known once the far end answered with a To tag (early or confirmed).
    pub remote_tag: Option<String>,
    /// Our address (From in our requests), without tag.
    pub local: NameAddr,
    /// The far end's address (To in our requests), without tag.
    pub remote: NameAddr,
    pub remote_target: Uri,
    /// Route header values, in the order our requests carry them.
    pub route_set: Vec<String>,
    pub local_cseq: u32,
    pub remote_cseq: Option<u32>,
    /// Started with a `sips:` URI: our Contact must be `sips:` too.
    pub secure: bool,
}

fn is_sips(uri: &Uri) -> bool {
    matches!(uri, Uri::Sip(sip) if sip.secure)
}

fn without_tag(mut addr: NameAddr) -> NameAddr {
    addr.params.remove("tag");
    addr
}

/// Record-Route values of a message, each element separately, in order.
fn record_routes(headers: &Headers) -> Vec<String> {
    headers
        .typed_all::<RecordRoute>()
        .unwrap_or_default()
        .iter()
        .map(|rr| rr.0.to_string())
        .collect()
}

fn contact_uri(headers: &Headers) -> Option<Uri> {
    match headers.typed::<Contact>().ok().flatten()? {
        Contact::Addr(addr) => Some(addr.uri),
        Contact::Wildcard => None,
    }
}

impl Dialog {
    /// The dialog we are about to create by sending an INVITE to `remote`.
    pub fn uac(call_id: String, local_tag: String, local: NameAddr, remote: NameAddr) -> Self {
        let remote_target = remote.uri.clone();
        Dialog {
            secure: is_sips(&remote.uri),
            call_id,
            local_tag,
            remote_tag: None,
            local: without_tag(local),
            remote: without_tag(remote),
            remote_target,
            route_set: Vec::new(),
            local_cseq: 1,
            remote_cseq: None,
        }
    }

    /// The dialog an INVITE we received creates (§12.1.1), with our tag `local_tag`.
    pub fn uas(request: &Request, local_tag: String) -> Option<Self> {
        let from = request.from().ok()?.0;
        let to = request.to().ok()?.0;
        let remote_tag = from.tag().map(str::to_owned);
        let route_set = record_routes(&request.headers);
        let contact = contact_uri(&request.headers);
        // §12.1.1: a SIPS Request-URI, top Record-Route, or (without one) Contact.
        let secure = is_sips(&request.uri)
            || match route_set.first() {
                Some(top) => NameAddr::parse(top).is_ok_and(|a| is_sips(&a.uri)),
                None => contact.as_ref().is_some_and(is_sips),
            };
        Some(Dialog {
            secure,
            call_id: request.call_id().ok()?.as_str().to_owned(),
            local_tag,
            remote_tag,
            local: without_tag(to),
            remote: without_tag(from),
            remote_target: contact.unwrap_or_else(|| request.uri.clone()),
            route_set,
            local_cseq: 1,
            remote_cseq: request.cseq().ok().map(|c| c.seq),
        })
    }

    /// A response to our INVITE with a To tag creates or confirms the dialog (§12.1.2): the
    /// route set is the Record-Route reversed, the target the Contact. A 2xx recomputes them
    /// even after an early dialog.
    pub fn learn_from_response(&mut self, response: &Response) {
        if let Ok(to) = response.to() {
            if let Some(tag) = to.0.tag() {
                self.remote_tag = Some(tag.to_owned());
            }
        }
        let mut routes = record_routes(&response.headers);
        routes.reverse();
        self.route_set = routes;
        if let Some(target) = contact_uri(&response.headers) {
            self.remote_target = target;
        }
    }

    /// A target refresh (re-INVITE or its 2xx, UPDATE) moves the remote target (§12.2).
    pub fn refresh_target(&mut self, headers: &Headers) {
        if let Some(target) = contact_uri(headers) {
            self.remote_target = target;
        }
    }

    /// Whether a message with these identifiers (ours is the local tag) belongs here.
    pub fn matches(
        &self,
        call_id: &str,
        local_tag: Option<&str>,
        remote_tag: Option<&str>,
    ) -> bool {
        self.call_id == call_id
            && local_tag == Some(self.local_tag.as_str())
            && (self.remote_tag.is_none() || remote_tag == self.remote_tag.as_deref())
    }

    /// A new request inside the dialog with the next CSeq.
    pub fn request(&mut self, method: Method, ctx: &LocalContext) -> Request {
        self.local_cseq += 1;
        self.request_with_cseq(method, self.local_cseq, ctx)
    }

    /// A request inside the dialog with a given CSeq number (ACK, CANCEL, the INVITE itself).
    pub fn request_with_cseq(&self, method: Method, cseq: u32, ctx: &LocalContext) -> Request {
        let mut headers = Headers::with_capacity(12);
        headers.push(HeaderName::Via, ctx.via());
        headers.push(HeaderName::MaxForwards, "70");
        let from = self.local.clone().with_tag(&self.local_tag);
        headers.push_typed(&From(from));
        let to = match &self.remote_tag {
            Some(tag) => self.remote.clone().with_tag(tag),
            None => self.remote.clone(),
        };
        headers.push_typed(&To(to));
        headers.push_typed(&CallId::new(self.call_id.as_str()));
        headers.push_typed(&CSeq::new(cseq, method.clone()));
        let (uri, routes) = self.uri_and_routes();
        for route in routes {
            headers.push(HeaderName::Route, route);
        }
        if !matches!(method, Method::Ack | Method::Cancel | Method::Bye) {
            headers.push(HeaderName::Contact, ctx.contact_in(self));
        }
        if let Some(ua) = &ctx.user_agent {
            headers.push(HeaderName::UserAgent, ua.as_str());
        }
        Request {
            method,
            uri,
            headers,
            body: Bytes::new(),
        }
    }

    /// The Request-URI and Route headers (§12.2.1.1): loose routing puts the remote target in
    /// the Request-URI; a strict router (no `lr`) takes the Request-URI itself.
    fn uri_and_routes(&self) -> (Uri, Vec<String>) {
        let Some(first) = self.route_set.first() else {
            return (self.remote_target.clone(), Vec::new());
        };
        let first_uri = NameAddr::parse(first).ok().map(|a| a.uri);
        match first_uri {
            Some(Uri::Sip(ref sip)) if !sip.lr() => {
                let mut routes: Vec<String> = self.route_set[1..].to_vec();
                routes.push(format!("<{}>", self.remote_target));
                (Uri::Sip(sip.clone()), routes)
            }
            _ => (self.remote_target.clone(), self.route_set.clone()),
        }
    }

    /// Where a request in this dialog goes: the first route, else the remote target; a host
    /// that is not an address literal goes to `fallback` (the outbound proxy).
    pub fn next_hop(&self, fallback: Peer) -> Peer {
        let uri = match self.route_set.first() {
            Some(route) => NameAddr::parse(route).ok().map(|a| a.uri),
            None => Some(self.remote_target.clone()),
        };
        uri.as_ref()
            .and_then(|u| peer_of(u, fallback.transport))
            .unwrap_or(fallback)
    }
}

/// The address a SIP URI names, when its host is an IP literal.
pub(super) fn peer_of(uri: &Uri, default_transport: TransportKind) -> Option<Peer> {
    let sip = uri.as_sip()?;
    let ip: IpAddr = match &sip.host {
        Host::V4(a) => IpAddr::V4(*a),
        Host::V6(a) => IpAddr::V6(*a),
        Host::Domain(_) => return None,
    };
    let transport = match sip.transport() {
        Some(t) if t.eq_ignore_ascii_case("tcp") => TransportKind::Tcp,
        Some(t) if t.eq_ignore_ascii_case("tls") => TransportKind::Tls,
        Some(t) if t.eq_ignore_ascii_case("udp") => TransportKind::Udp,
        _ => default_transport,
    };
    Some(Peer {
        transport,
        addr: SocketAddr::new(ip, sip.port.unwrap_or(5060)),
    })
}

/// The top Via of a request we send statelessly (ACK for a 2xx), with its own branch.
pub(super) fn via_with_branch(ctx: &LocalContext, branch: &str) -> SipStr {
    SipStr::from(format!("{};branch={branch}", ctx.via()))
}

/// Replaces a request's top Via (used to give an ACK its branch).
pub(super) fn set_via(request: &mut Request, via: SipStr) {
    request.headers.set(HeaderName::Via, via);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;

    fn ctx() -> LocalContext {
        LocalContext {
            addr: "127.0.0.1:5060".parse().unwrap(),
            transport: TransportKind::Udp,
            contact: "<sip:1001@127.0.0.1:5060>".into(),
            contact_secure: "<sip:1001@127.0.0.1:5060>".into(),
            user_agent: None,
        }
    }

    fn parse_response(text: &str) -> Response {
        match Message::parse(text.as_bytes()).unwrap() {
            Message::Response(r) => r,
            _ => unreachable!(),
        }
    }

    fn tls_ctx() -> LocalContext {
        LocalContext {
            addr: "127.0.0.1:5060".parse().unwrap(),
            transport: TransportKind::Tls,
            contact: "<sip:1001@127.0.0.1:5060;transport=tls>".into(),
            contact_secure: "<sips:1001@127.0.0.1:5060>".into(),
            user_agent: None,
        }
    }

    fn request(text: &str) -> Request {
        match Message::parse(text.as_bytes()).unwrap() {
            Message::Request(r) => r,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_dialog_started_with_a_sips_uri_gets_a_sips_contact() {
        let local = NameAddr::parse("<sip:1001@pbx>").unwrap();
        let ctx = tls_ctx();
        let secure = NameAddr::parse("<sips:1002@pbx>").unwrap();
        let d = Dialog::uac("c1".into(), "t1".into(), local.clone(), secure);
        let invite = d.request_with_cseq(Method::Invite, 1, &ctx);
        assert_eq!(
            invite.headers.get(&HeaderName::Contact).map(|c| c.as_str()),
            Some("<sips:1001@127.0.0.1:5060>")
        );
        let plain = NameAddr::parse("<sip:1002@pbx>").unwrap();
        let d = Dialog::uac("c2".into(), "t1".into(), local, plain);
        let invite = d.request_with_cseq(Method::Invite, 1, &ctx);
        assert_eq!(
            invite.headers.get(&HeaderName::Contact).map(|c| c.as_str()),
            Some("<sip:1001@127.0.0.1:5060;transport=tls>")
        );

        // As the callee: a sips Request-URI, or a sips top Record-Route (§12.1.1).
        let head = "Via: SIP/2.0/TLS 10.0.0.1:5061;branch=z9hG4bKx\r\nFrom: <sip:1002@pbx>;tag=f1\r\nTo: <sip:1001@pbx>\r\nCall-ID: c3\r\nCSeq: 1 INVITE\r\nContact: <sip:1002@10.0.0.9:5061;transport=tls>\r\n";
        let by_uri = request(&format!(
            "INVITE sips:1001@127.0.0.1:5060 SIP/2.0\r\n{head}Content-Length: 0\r\n\r\n"
        ));
        assert!(Dialog::uas(&by_uri, "t2".into()).unwrap().secure);
        let by_route = request(&format!(
            "INVITE sip:1001@127.0.0.1:5060;transport=tls SIP/2.0\r\n{head}Record-Route: <sips:10.0.0.1:5061;lr>\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(Dialog::uas(&by_route, "t2".into()).unwrap().secure);
        let neither = request(&format!(
            "INVITE sip:1001@127.0.0.1:5060;transport=tls SIP/2.0\r\n{head}Record-Route: <sip:10.0.0.1:5061;transport=tls;lr>\r\nContent-Length: 0\r\n\r\n"
        ));
        assert!(!Dialog::uas(&neither, "t2".into()).unwrap().secure);
    }

    #[test]
    fn a_2xx_sets_the_route_set_reversed_and_the_target() {
        let local = NameAddr::parse("<sip:1001@pbx>").unwrap();
        let remote = NameAddr::parse("<sip:1002@pbx>").unwrap();
        let mut d = Dialog::uac("c1".into(), "t1".into(), local, remote);
        let ok = parse_response(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n\
             Record-Route: <sip:10.0.0.2;lr>, <sip:10.0.0.1:5070;lr>\r\n\
             From: <sip:1001@pbx>;tag=t1\r\nTo: <sip:1002@pbx>;tag=r9\r\nCall-ID: c1\r\n\
             CSeq: 1 INVITE\r\nContact: <sip:1002@10.0.0.9:5080>\r\nContent-Length: 0\r\n\r\n",
        );
        d.learn_from_response(&ok);
        assert_eq!(d.remote_tag.as_deref(), Some("r9"));
        assert_eq!(
            d.route_set,
            vec!["<sip:10.0.0.1:5070;lr>", "<sip:10.0.0.2;lr>"]
        );
        let bye = d.request(Method::Bye, &ctx());
        assert_eq!(bye.uri.to_string(), "sip:1002@10.0.0.9:5080");
        assert_eq!(bye.cseq().unwrap().seq, 2);
        let routes: Vec<_> = bye.headers.get_all(&HeaderName::Route).collect();
        assert_eq!(routes.len(), 2);
        let hop = d.next_hop(Peer::udp("127.0.0.1:9".parse().unwrap()));
        assert_eq!(hop.addr, "10.0.0.1:5070".parse().unwrap());
        assert!(d.matches("c1", Some("t1"), Some("r9")));
        assert!(!d.matches("c1", Some("t1"), Some("other")));
    }

    #[test]
    fn without_routes_requests_go_to_the_target_or_the_proxy() {
        let local = NameAddr::parse("<sip:1001@pbx>").unwrap();
        let remote = NameAddr::parse("<sip:1002@pbx.example>").unwrap();
        let d = Dialog::uac("c1".into(), "t1".into(), local, remote);
        let proxy = Peer::udp("127.0.0.1:5070".parse().unwrap());
        assert_eq!(d.next_hop(proxy), proxy);
    }
}
