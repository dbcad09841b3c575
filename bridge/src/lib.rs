//! The localhost HTTP/WebSocket bridge to the softphone page.
