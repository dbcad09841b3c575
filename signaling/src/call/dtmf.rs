//! DTMF by SIP INFO: `application/dtmf-relay` (`Signal=5\r\nDuration=160`) and
//! `application/dtmf` (just the digit).

/// Whether `c` is a DTMF key (RFC 4733 events 0-15).
pub fn is_dtmf_digit(c: char) -> bool {
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D')
}

/// The digit and duration (ms) of an INFO body; None when it is not a DTMF body.
pub fn parse_dtmf_relay(content_type: &str, body: &[u8]) -> Option<(char, u32)> {
    let text = std::str::from_utf8(body).ok()?;
    let ct = content_type.trim().to_ascii_lowercase();
    if ct.starts_with("application/dtmf-relay") {
        let mut digit = None;
        let mut duration = 250;
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key.trim().to_ascii_lowercase().as_str() {
                "signal" => digit = signal(value.trim()),
                "duration" => duration = value.trim().parse().unwrap_or(250),
                _ => {}
            }
        }
        digit.map(|d| (d, duration))
    } else if ct.starts_with("application/dtmf") {
        signal(text.trim()).map(|d| (d, 250))
    } else {
        None
    }
}

/// A digit from its text form (`5`, `*`, `#`, `A`) or event number (`10` is `*`, `11` `#`).
fn signal(value: &str) -> Option<char> {
    let mut chars = value.chars();
    let first = chars.next()?;
    if chars.next().is_none() {
        let upper = first.to_ascii_uppercase();
        return is_dtmf_digit(upper).then_some(upper);
    }
    match value.parse::<u8>().ok()? {
        10 => Some('*'),
        11 => Some('#'),
        n @ 12..=15 => Some((b'A' + (n - 12)) as char),
        _ => None,
    }
}

/// The body of an INFO carrying `digit`.
pub fn dtmf_relay_body(digit: char, duration_ms: u32) -> String {
    format!("Signal={digit}\r\nDuration={duration_ms}\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dtmf_relay_and_plain_dtmf() {
        let ct = "application/dtmf-relay";
        assert_eq!(
            parse_dtmf_relay(ct, b"Signal=5\r\nDuration=160\r\n"),
            Some(('5', 160))
        );
        assert_eq!(
            parse_dtmf_relay(ct, b"Signal= #\nDuration= 100"),
            Some(('#', 100))
        );
        assert_eq!(parse_dtmf_relay(ct, b"Signal=11\r\n"), Some(('#', 250)));
        assert_eq!(parse_dtmf_relay(ct, b"Signal=x\r\n"), None);
        assert_eq!(parse_dtmf_relay(ct, b"\xff\xfe"), None);
        assert_eq!(parse_dtmf_relay("application/dtmf", b"7"), Some(('7', 250)));
        assert_eq!(parse_dtmf_relay("text/plain", b"Signal=5"), None);
        assert_eq!(dtmf_relay_body('*', 200), "Signal=*\r\nDuration=200\r\n");
    }
}
