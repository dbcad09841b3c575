//! Printing: `Message::to_bytes()`, `Display` for URIs and typed headers.
