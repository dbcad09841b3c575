//! What the agent shows of the PBX's certificate: its subject and when it expires, read from
//! the DER the TLS handshake verified. A small reader of just those X.509 fields (RFC 5280
//! §4.1), so that no certificate-parsing library is needed for two strings; anything it
//! does not understand gives `None`, never a panic.

/// The PBX's certificate as a person reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// The subject, e.g. `CN=pbx.example.com, O=Example Corp`.
    pub subject: String,
    /// The end of its validity (notAfter), RFC 3339 UTC, e.g. `2027-03-01T12:00:00Z`.
    pub expires: String,
}

/// Reads the subject and notAfter of a DER certificate.
pub fn certificate_summary(der: &[u8]) -> Option<CertificateSummary> {
    let (cert, _) = element(der, SEQUENCE)?;
    let (tbs, _) = element(cert, SEQUENCE)?;
    let mut rest = tbs;
    // version [0] EXPLICIT, optional
    if rest.first() == Some(&0xa0) {
        rest = element(rest, 0xa0)?.1;
    }
    rest = element(rest, INTEGER)?.1; // serialNumber
    rest = element(rest, SEQUENCE)?.1; // signature AlgorithmIdentifier
    rest = element(rest, SEQUENCE)?.1; // issuer
    let (validity, rest) = element(rest, SEQUENCE)?;
    let (subject, _) = element(rest, SEQUENCE)?;
    let not_before_rest = skip_any(validity)?;
    let expires = time(not_before_rest)?;
    Some(CertificateSummary {
        subject: name(subject)?,
        expires,
    })
}

const INTEGER: u8 = 0x02;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// One element with tag `tag` at the start of `input`: its contents and what follows it.
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, contents, rest) = any(input)?;
    (found == tag).then_some((contents, rest))
}

/// The element at the start of `input`, whatever its tag: (tag, contents, rest). Only
/// definite lengths (DER).
fn any(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, mut input) = input.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let bytes = usize::from(first & 0x7f);
        if bytes == 0 || bytes > 4 {
            return None;
        }
        let mut len = 0usize;
        for _ in 0..bytes {
            let (&b, more) = input.split_first()?;
            len = (len << 8) | usize::from(b);
            input = more;
        }
        len
    };
    if len > input.len() {
        return None;
    }
    let (contents, rest) = input.split_at(len);
    Some((tag, contents, rest))
}

fn skip_any(input: &[u8]) -> Option<&[u8]> {
    any(input).map(|(_, _, rest)| rest)
}

/// A Time (UTCTime or GeneralizedTime, `Z` form as RFC 5280 requires) as RFC 3339.
fn time(input: &[u8]) -> Option<String> {
    let (tag, contents, _) = any(input)?;
    let text = std::str::from_utf8(contents).ok()?;
    let digits = text.strip_suffix('Z')?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let full = match (tag, digits.len()) {
        (UTC_TIME, 12) => {
            // RFC 5280 §4.1.2.5.1: YY >= 50 is 19YY, else 20YY.
            let century = if digits[..2] >= *"50" { "19" } else { "20" };
            format!("{century}{digits}")
        }
        (GENERALIZED_TIME, 14) => digits.to_owned(),
        _ => return None,
    };
    Some(format!(
        "{}-{}-{}T{}:{}:{}Z",
        &full[0..4],
        &full[4..6],
        &full[6..8],
        &full[8..10],
        &full[10..12],
        &full[12..14]
    ))
}

/// A Name (SEQUENCE OF RelativeDistinguishedName) as `CN=..., O=...`, in the order written.
fn name(mut input: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    while !input.is_empty() {
        let (rdn, rest) = element(input, SET)?;
        input = rest;
        let mut attrs = rdn;
        while !attrs.is_empty() {
            let (attr, more) = element(attrs, SEQUENCE)?;
            attrs = more;
            let (oid, value) = element(attr, OID)?;
            let (tag, text, _) = any(value)?;
            let Some(label) = label(oid) else { continue };
            // UTF8String, PrintableString, TeletexString, IA5String
            if !matches!(tag, 0x0c | 0x13 | 0x14 | 0x16) {
                continue;
            }
            let text = String::from_utf8_lossy(text);
            parts.push(format!("{label}={text}"));
        }
    }
    Some(parts.join(", "))
}

/// Short names of the attributes a PBX certificate's subject carries (RFC 4514 §3).
fn label(oid: &[u8]) -> Option<&'static str> {
    // 2.5.4.x is 55 04 x.
    match oid {
        [0x55, 0x04, 0x03] => Some("CN"),
        [0x55, 0x04, 0x06] => Some("C"),
        [0x55, 0x04, 0x07] => Some("L"),
        [0x55, 0x04, 0x08] => Some("ST"),
        [0x55, 0x04, 0x0a] => Some("O"),
        [0x55, 0x04, 0x0b] => Some("OU"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_both_forms() {
        assert_eq!(
            time(b"\x17\x0d210101000000Z").as_deref(),
            Some("2021-01-01T00:00:00Z")
        );
        assert_eq!(
            time(b"\x17\x0d991231235959Z").as_deref(),
            Some("1999-12-31T23:59:59Z")
        );
        assert_eq!(
            time(b"\x18\x0f21000101000000Z").as_deref(),
            Some("2100-01-01T00:00:00Z")
        );
        assert_eq!(time(b"\x17\x0d21010100000+Z"), None);
        assert_eq!(time(b"\x17\x0b2101010000Z"), None);
    }

    #[test]
    fn broken_input_gives_none() {
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x85\x01\x01\x01\x01\x01",
            b"\x30\x82\xff\xff",
            b"\x30\x03\x30\x01",
        ] {
            assert_eq!(certificate_summary(bad), None, "{bad:?}");
        }
    }
}
