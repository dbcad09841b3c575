//! Building REGISTER requests (RFC 3261 §10.2) from the registration's configuration.

use super::RegistrationConfig;
use crate::message::typed::{CSeq, Contact, From, NameAddr, To};
use crate::message::{HeaderName, Headers, Host, Method, Params, Request, SipStr, SipUri, Uri};
use bytes::Bytes;
use std::net::{IpAddr, SocketAddr};

/// Methods we accept, advertised in REGISTER, OPTIONS answers and 405s.
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, PRACK, REFER, NOTIFY";
/// Option tags we support (RFC 3262, 4028, 3891; RFC 3327 Path needs nothing from a UA
/// but saying so).
pub const SUPPORTED: &str = "100rel, timer, replaces, path";

/// What changes from one REGISTER to the next.
pub(super) struct RegisterParams {
    pub cseq: u32,
    pub contact: SocketAddr,
    /// Requested lifetime of `contact`; 0 removes it.
    pub expires: u32,
    /// A contact to remove in the same request (the one we registered before a NAT
    /// rewrite).
    pub remove: Option<SocketAddr>,
}

/// The registrar domain as a host and optional port (`pbx.example`, `10.0.0.5:5070`,
/// `[2001:db8::1]:5060`).
pub(super) fn split_host_port(domain: &str) -> (Host, Option<u16>) {
    if let Ok(addr) = domain.parse::<SocketAddr>() {
        return (host_of(addr.ip()), Some(addr.port()));
    }
    if let Ok(ip) = domain
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return (host_of(ip), None);
    }
    match domain.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() => match port.parse::<u16>() {
            Ok(port) => (Host::Domain(SipStr::from(host)), Some(port)),
            Err(_) => (Host::Domain(SipStr::from(domain)), None),
        },
        _ => (Host::Domain(SipStr::from(domain)), None),
    }
}

pub(super) fn host_of(ip: IpAddr) -> Host {
    match ip {
        IpAddr::V4(a) => Host::V4(a),
        IpAddr::V6(a) => Host::V6(a),
    }
}

fn sip_uri(user: Option<&str>, host: Host, port: Option<u16>) -> SipUri {
    SipUri {
        secure: false,
        user: user.map(SipStr::from),
        password: None,
        host,
        port,
        params: Params::new(),
        headers: None,
    }
}

/// `sip:user@domain`: the address of record.
pub(super) fn aor(config: &RegistrationConfig) -> Uri {
    let (host, port) = split_host_port(&config.domain);
    Uri::Sip(sip_uri(Some(&config.user), host, port))
}

/// `sip:domain`: the Request-URI of a REGISTER.
pub(super) fn registrar_uri(config: &RegistrationConfig) -> Uri {
    let (host, port) = split_host_port(&config.domain);
    Uri::Sip(sip_uri(None, host, port))
}

/// `sip:user@ip:port[;transport=tcp|tls]`: where we can be reached. Over TLS the Contact
/// stays a `sip:` URI with `transport=tls` (RFC 5630 §3.1.3): a `sips:` Contact would ask
/// for TLS on every hop to us, end to end, which the PBX's other parties may not offer.
pub(super) fn contact_uri(config: &RegistrationConfig, addr: SocketAddr) -> Uri {
    let mut uri = sip_uri(Some(&config.user), host_of(addr.ip()), Some(addr.port()));
    if let Some(t) = config.registrar.transport.uri_param() {
        uri.params.set("transport", Some(t));
    }
    Uri::Sip(uri)
}

fn contact(config: &RegistrationConfig, addr: SocketAddr, expires: u32) -> Contact {
    let mut params = Params::new();
    params.set("expires", Some(&expires.to_string()));
    Contact::Addr(NameAddr {
        display_name: None,
        uri: contact_uri(config, addr),
        params,
    })
}

/// A REGISTER for `params`, without a branch (the transaction layer adds it).
pub(super) fn build_register(
    config: &RegistrationConfig,
    call_id: &str,
    from_tag: &str,
    params: &RegisterParams,
) -> Request {
    let mut headers = Headers::with_capacity(14);
    // rport (RFC 3581): the registrar tells us the address it saw, and answers there.
    headers.push(
        HeaderName::Via,
        format!(
            "SIP/2.0/{} {};rport",
            config.registrar.transport.via_token(),
            params.contact
        ),
    );
    headers.push(HeaderName::MaxForwards, "70");
    let display_name = config.display_name.as_deref().map(SipStr::from);
    let mut from_params = Params::new();
    from_params.set("tag", Some(from_tag));
    headers.push_typed(&From(NameAddr {
        display_name: display_name.clone(),
        uri: aor(config),
        params: from_params,
    }));
    headers.push_typed(&To(NameAddr {
        display_name,
        uri: aor(config),
        params: Params::new(),
    }));
    headers.push(HeaderName::CallId, call_id.to_owned());
    headers.push_typed(&CSeq {
        seq: params.cseq,
        method: Method::Register,
    });
    headers.push_typed(&contact(config, params.contact, params.expires));
    if let Some(old) = params.remove {
        headers.push_typed(&contact(config, old, 0));
    }
    if params.expires == 0 {
        headers.push(HeaderName::Expires, "0");
    }
    headers.push(HeaderName::Allow, ALLOW);
    headers.push(HeaderName::Supported, SUPPORTED);
    if let Some(agent) = &config.user_agent {
        headers.push(HeaderName::UserAgent, agent.clone());
    }
    Request {
        method: Method::Register,
        uri: registrar_uri(config),
        headers,
        body: Bytes::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_split_into_host_and_port() {
        let cases: [(&str, Host, Option<u16>); 5] = [
            (
                "pbx.example",
                Host::Domain(SipStr::from("pbx.example")),
                None,
            ),
            (
                "pbx.example:5070",
                Host::Domain(SipStr::from("pbx.example")),
                Some(5070),
            ),
            (
                "10.0.0.5",
                Host::V4("10.0.0.5".parse().expect("valid")),
                None,
            ),
            (
                "10.0.0.5:5062",
                Host::V4("10.0.0.5".parse().expect("valid")),
                Some(5062),
            ),
            (
                "[2001:db8::1]:5060",
                Host::V6("2001:db8::1".parse().expect("valid")),
                Some(5060),
            ),
        ];
        for (domain, host, port) in cases {
            assert_eq!(split_host_port(domain), (host, port), "{domain}");
        }
    }
}
