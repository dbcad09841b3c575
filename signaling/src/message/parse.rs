//! Parsing: datagrams, stream framing, and the lenient salvage used to answer 400.
//!
//! API (implemented below):
//! - `Message::parse(bytes) -> Result<Message, ParseError>`: a whole datagram/frame.
//! - `frame(buf) -> Result<Option<Frame>, ParseError>`: stream transports (TCP): skips
//!   leading CRLF keep-alives, finds the header end and Content-Length, and says how many
//!   bytes make one message (or `None` when more bytes are needed).
//! - `bad_request(bytes, reason) -> Option<Response>`: a 400 for a request that failed to
//!   parse, when its Via/From/To/Call-ID/CSeq can be salvaged; `None` means drop it.
