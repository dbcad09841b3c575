//! SIP signaling, sans-IO: messages, transactions, digest authentication, registration,
//! calls (dialogs).
//!
//! Protocol cores ([`TransactionLayer`], [`Registration`], [`Endpoint`], [`UserAgent`]) take
//! `(now, input)` and are polled for output and their next deadline; the only I/O lives in
//! [`Transports`], the thin tokio drivers.
//!
//! The modules are private: what other crates use is re-exported here, and the typed header
//! values (`Via`, `CSeq`, `From`, ...) under [`typed`], as their names would clash with
//! others' at the root.

#![warn(missing_docs)]

mod auth;
mod call;
mod endpoint;
mod message;
mod net;
mod registration;
mod transaction;
mod transport;

pub use auth::{
    verify_request, AuthError, Authenticator, ChallengeError, ChallengeKind, DigestAlgorithm,
    DigestChallenge, Password, Qop,
};
pub use call::{
    CallDirection, CallError, CallEvent, CallHandle, CallSettings, DialOptions, EndKind, EndReason,
    UaConfig, UaEvent, UserAgent,
};
pub use endpoint::{Endpoint, EndpointConfig, EndpointCounters, EndpointEvent};
pub use message::typed;
pub use message::{
    bad_request, frame, is_keepalive, Frame, Header, HeaderName, HeaderValue, Headers, Host,
    Message, Method, Params, ParamsIter, ParseError, ParseErrorKind, Request, Response, SipStr,
    SipUri, TelUri, Uri,
};
pub use net::{Peer, Transmit, TransportFailure, TransportKind};
pub use registration::{
    Registration, RegistrationAction, RegistrationConfig, RegistrationError, RegistrationEvent,
    RegistrationState, RequestFailure, RetryPolicy,
};
pub use transaction::{
    response_to, ClientTransactionId, LayerStats, RespondError, SendError, ServerTransactionId,
    TimerConfig, TransactionEvent, TransactionId, TransactionLayer,
};
pub use transport::{
    certificate_summary, failure_of, CertificateSummary, Inbound, TlsClient, TlsSettings,
    TlsSetupError, Transports, TLS_HANDSHAKE_TIMEOUT,
};
