//! SIP signaling, sans-IO: messages, transactions, digest authentication, registration,
//! calls (dialogs).
//!
//! Protocol cores take `(now, input)` and are polled for output and their next deadline; the
//! only I/O lives in [`transport`], the thin tokio drivers.

pub mod auth;
pub mod call;
pub mod endpoint;
pub mod message;
pub mod net;
pub mod registration;
pub mod transaction;
pub mod transport;
