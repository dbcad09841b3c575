//! Dial plan: what a person typed (or clicked in Salesforce) → the SIP target to call, and a
//! caller's SIP user part → the number the page searches Salesforce with. Pure, no I/O.
//!
//! ```
//! use phone::dialplan::{DialPlan, DialPlanConfig, DialTarget};
//!
//! let plan = DialPlan::new(DialPlanConfig {
//!     outside_line_prefix: Some("9".into()),
//!     international_prefix: "011".into(),
//!     country_code: Some("1".into()),
//!     national_prefix: "1".into(),
//!     ..DialPlanConfig::default()
//! })
//! .unwrap();
//! assert_eq!(
//!     plan.normalize("+1 (555) 123-4567 x12").unwrap(),
//!     DialTarget::Number {
//!         digits: "915551234567".into(),
//!         display: "+15551234567".into(),
//!         extension: Some("12".into()),
//!     }
//! );
//! assert_eq!(plan.caller_number("915551234567", None), "+15551234567");
//! ```
//!
//! Rules, in order (see [`DialPlan::normalize`]):
//! 1. `sip:`, `sips:`, `tel:` URIs are kept verbatim (lightly checked); `user@host` becomes
//!    `sip:user@host`.
//! 2. Separators are dropped: spaces, tabs, no-break spaces, `-` and the Unicode dashes,
//!    `.`, `/`, `(`, `)`. Fullwidth digits count as digits. Letters are keypad letters
//!    (ITU E.161: `1-800-FLOWERS` = `18003569377`) when the number has at least 3 real digits.
//!    A trailing `x12`, `ext 12`, `ext. 12`, `extension 12`, `;ext=12` or `,12` is the
//!    extension, kept apart (to send as DTMF once connected).
//! 3. With `*` or `#` it is a feature code (`*72`, `#31#`): dialled as is.
//! 4. Up to `max_extension_len` digits: an internal extension, dialled as is.
//! 5. Otherwise external: `+CC…` becomes `international_prefix CC…`, or `national_prefix …`
//!    when CC is our own `country_code`; then `outside_line_prefix` goes in front.

use std::fmt;

use serde::Deserialize;
use thiserror::Error;

/// Numbers longer than this (digits of the number itself, prefixes excluded) are refused.
pub const MAX_DIGITS: usize = 32;

/// The `[dial_plan]` settings. Every key is optional; an unknown key is an error.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DialPlanConfig {
    /// Digits the PBX needs in front of every external number, e.g. `"9"`. Dial strings are
    /// written without it; it is stripped again from callers' numbers. Default: none.
    pub outside_line_prefix: Option<String>,
    /// What replaces a leading `+` for calls abroad: `"00"` (most of the world, the default)
    /// or `"011"` (North America). A caller number starting with it is shown as `+…`.
    pub international_prefix: String,
    /// Our own country calling code without `+`, e.g. `"1"` or `"49"`. When set, `+CC…`
    /// numbers of our own country are dialled nationally (`national_prefix` + the national
    /// number), and national caller numbers are shown internationally (`+CC…`) so they
    /// match Salesforce records stored in E.164. Default: none (numbers are left as typed).
    pub country_code: Option<String>,
    /// The trunk prefix of national numbers in our country: `"0"` (most of Europe, the
    /// default) or `"1"` (North America). Only used together with `country_code`.
    pub national_prefix: String,
    /// Numbers of up to this many digits are internal extensions, dialled as typed with no
    /// prefix. Default 5.
    pub max_extension_len: usize,
}

impl Default for DialPlanConfig {
    fn default() -> Self {
        DialPlanConfig {
            outside_line_prefix: None,
            international_prefix: "00".to_string(),
            country_code: None,
            national_prefix: "0".to_string(),
            max_extension_len: 5,
        }
    }
}

/// A setting of [`DialPlanConfig`] that cannot work; names the key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("dial_plan.{key}: {problem}")]
pub struct DialPlanConfigError {
    pub key: &'static str,
    pub problem: String,
}

/// Where a call goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialTarget {
    /// A `sip:`, `sips:` or `tel:` URI, as given (or `sip:` + `user@host`).
    Uri(String),
    /// A number for the PBX.
    Number {
        /// The Request-URI user part: prefixes applied, only `0-9 * #`.
        digits: String,
        /// For people and the page: `+15551234567` when the country is known, otherwise
        /// the number as dialled without the outside-line prefix.
        display: String,
        /// Digits after `x`/`ext`, to send as DTMF once the call is answered.
        extension: Option<String>,
    },
}

/// Why a dial string was refused. The message is for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DialError {
    #[error("nothing to dial")]
    Empty,
    #[error("not a phone number: {input} ({reason})")]
    NotANumber { input: Shown, reason: String },
    #[error("not a phone number: {input} has {digits} digits (at most {MAX_DIGITS})")]
    TooLong { input: Shown, digits: usize },
    #[error("not a valid SIP address: {input} ({reason})")]
    BadUri { input: Shown, reason: String },
}

/// User input as quoted in an error: at most 40 characters, control characters escaped.
#[derive(Clone, PartialEq, Eq)]
pub struct Shown(String);

impl Shown {
    fn new(input: &str) -> Shown {
        let mut s: String = input.trim().chars().take(40).collect();
        if input.trim().chars().count() > 40 {
            s.push('…');
        }
        Shown(s)
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        f.write_str("\"")
    }
}

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A validated [`DialPlanConfig`], ready to use.
#[derive(Debug, Clone)]
pub struct DialPlan {
    config: DialPlanConfig,
}

impl DialPlan {
    /// Checks that every prefix is digits only (and the country code 1-3 digits).
    pub fn new(config: DialPlanConfig) -> Result<DialPlan, DialPlanConfigError> {
        let digits = |key: &'static str, v: &str, may_be_empty: bool| {
            if (v.is_empty() && !may_be_empty) || !v.bytes().all(|b| b.is_ascii_digit()) {
                Err(DialPlanConfigError {
                    key,
                    problem: format!("{v:?} must be digits only"),
                })
            } else {
                Ok(())
            }
        };
        if let Some(p) = &config.outside_line_prefix {
            digits("outside_line_prefix", p, true)?;
        }
        digits("international_prefix", &config.international_prefix, false)?;
        digits("national_prefix", &config.national_prefix, true)?;
        if let Some(cc) = &config.country_code {
            digits("country_code", cc, false)?;
            if cc.len() > 3 || cc.starts_with('0') {
                return Err(DialPlanConfigError {
                    key: "country_code",
                    problem: format!(
                        "{cc:?} is not a country calling code (1-3 digits, e.g. \"1\" or \"49\")"
                    ),
                });
            }
        }
        if config.max_extension_len > MAX_DIGITS {
            return Err(DialPlanConfigError {
                key: "max_extension_len",
                problem: format!("{} is more than {MAX_DIGITS}", config.max_extension_len),
            });
        }
        Ok(DialPlan { config })
    }

    pub fn config(&self) -> &DialPlanConfig {
        &self.config
    }

    /// What `input` (typed, pasted, or clicked in Salesforce) calls. See the module docs.
    pub fn normalize(&self, input: &str) -> Result<DialTarget, DialError> {
        let trimmed = input.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if trimmed.is_empty() {
            return Err(DialError::Empty);
        }
        if let Some(uri) = uri_target(trimmed)? {
            return Ok(DialTarget::Uri(uri));
        }
        let parsed = parse_number(trimmed).map_err(|reason| DialError::NotANumber {
            input: Shown::new(input),
            reason,
        })?;
        let count = parsed.digits.len();
        if count > MAX_DIGITS {
            return Err(DialError::TooLong {
                input: Shown::new(input),
                digits: count,
            });
        }
        let c = &self.config;
        let (digits, display) = if parsed.plus {
            let national = c
                .country_code
                .as_deref()
                .and_then(|cc| parsed.digits.strip_prefix(cc))
                .filter(|rest| !rest.is_empty());
            let dial = match national {
                Some(rest) => format!("{}{rest}", c.national_prefix),
                None => format!("{}{}", c.international_prefix, parsed.digits),
            };
            (self.outside(&dial), format!("+{}", parsed.digits))
        } else if parsed.digits.contains(['*', '#']) || count <= c.max_extension_len {
            (parsed.digits.clone(), parsed.digits)
        } else {
            let display = self.international(&parsed.digits);
            (self.outside(&parsed.digits), display)
        };
        Ok(DialTarget::Number {
            digits,
            display,
            extension: parsed.extension,
        })
    }

    /// The number the page searches Salesforce with, from a caller's SIP user part (and
    /// display name, used when the user part is not a number, e.g. `anonymous`): separators
    /// and URI parameters dropped, the outside-line prefix stripped, an international prefix
    /// turned back into `+`, national numbers made `+CC…` when `country_code` is set.
    /// Extensions are kept as they are; anything else that is not a number comes back trimmed.
    pub fn caller_number(&self, user_part: &str, display_name: Option<&str>) -> String {
        let user = percent_decode(user_part.split(';').next().unwrap_or(""));
        if let Some(n) = self.number_of(&user) {
            return n;
        }
        if let Some(n) = display_name.and_then(|d| self.number_of(d)) {
            return n;
        }
        user.trim().to_string()
    }

    fn number_of(&self, text: &str) -> Option<String> {
        let cleaned: String = text
            .trim()
            .chars()
            .filter(|c| !is_separator(*c))
            .map(fold_digit)
            .collect();
        let (plus, digits) = match cleaned.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, cleaned.as_str()),
        };
        if digits.is_empty()
            || digits.len() > MAX_DIGITS
            || !digits
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
        {
            return None;
        }
        if plus {
            return Some(format!("+{digits}"));
        }
        let c = &self.config;
        if digits.len() <= c.max_extension_len || digits.contains(['*', '#']) {
            return Some(digits.to_string());
        }
        let digits = c
            .outside_line_prefix
            .as_deref()
            .filter(|p| !p.is_empty())
            .and_then(|p| digits.strip_prefix(p))
            .filter(|rest| rest.len() > c.max_extension_len)
            .unwrap_or(digits);
        Some(self.international(digits))
    }

    /// `+…` for a number written with the international prefix, or (with `country_code`)
    /// for a national one; otherwise the digits unchanged.
    fn international(&self, digits: &str) -> String {
        let c = &self.config;
        if let Some(rest) = digits
            .strip_prefix(c.international_prefix.as_str())
            .filter(|r| !r.is_empty())
        {
            return format!("+{rest}");
        }
        match &c.country_code {
            Some(cc) => {
                let national = digits
                    .strip_prefix(c.national_prefix.as_str())
                    .filter(|r| !c.national_prefix.is_empty() && !r.is_empty())
                    .unwrap_or(digits);
                format!("+{cc}{national}")
            }
            None => digits.to_string(),
        }
    }

    fn outside(&self, digits: &str) -> String {
        format!(
            "{}{digits}",
            self.config.outside_line_prefix.as_deref().unwrap_or("")
        )
    }
}

/// A number split from its extension; `digits` holds only `0-9 * #`.
struct Parsed {
    plus: bool,
    digits: String,
    extension: Option<String>,
}

/// `Ok(Some(uri))` for a URI or `user@host`, `Ok(None)` for anything else.
fn uri_target(s: &str) -> Result<Option<String>, DialError> {
    let lower = s.to_ascii_lowercase();
    let scheme = ["sip:", "sips:", "tel:"]
        .into_iter()
        .find(|p| lower.starts_with(p));
    let (uri, scheme, rest) = match scheme {
        Some(p) => (s.to_string(), &p[..p.len() - 1], &s[p.len()..]),
        None if s.contains('@') => (format!("sip:{s}"), "sip", s),
        None => return Ok(None),
    };
    let bad = |reason: &str| {
        Err(DialError::BadUri {
            input: Shown::new(s),
            reason: reason.to_string(),
        })
    };
    if rest.is_empty() {
        return bad("nothing after the scheme");
    }
    if let Some(c) = rest
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '\\'))
    {
        return bad(&format!("{:?} is not allowed in a URI", c));
    }
    if !rest.is_ascii() {
        return bad("only ASCII is allowed in a URI (percent-encode the rest)");
    }
    if scheme == "tel" {
        let number = rest.split(';').next().unwrap_or("");
        if !number.starts_with(|c: char| c == '+' || c.is_ascii_digit()) {
            return bad("a tel: URI holds a number");
        }
    } else {
        let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
        let host = host.split([';', '?']).next().unwrap_or("");
        if host.is_empty() || host.starts_with(':') {
            return bad("no host");
        }
        if rest.split_once('@').is_some_and(|(u, _)| u.is_empty()) {
            return bad("empty user before @");
        }
    }
    Ok(Some(uri))
}

fn parse_number(s: &str) -> Result<Parsed, String> {
    let (main, extension) = split_extension(s);
    let mut plus = false;
    let mut digits = String::new();
    let mut letters = 0usize;
    let mut real_digits = 0usize;
    let mut run = String::new();
    let check_run = |run: &mut String| -> Result<(), String> {
        let word = std::mem::take(run).to_ascii_lowercase();
        if matches!(word.as_str(), "x" | "ext" | "extension") {
            return Err(format!("{word:?} without extension digits"));
        }
        Ok(())
    };
    for c in main.chars() {
        let c = fold_digit(c);
        if c.is_ascii_alphabetic() {
            run.push(c);
        } else {
            check_run(&mut run)?;
        }
        match c {
            '0'..='9' => {
                digits.push(c);
                real_digits += 1;
            }
            '*' | '#' => digits.push(c),
            '+' if digits.is_empty() && !plus => plus = true,
            '+' => return Err("'+' only goes at the start".to_string()),
            c if is_separator(c) => {}
            c if c.is_ascii_alphabetic() => {
                digits.push(keypad_digit(c));
                letters += 1;
            }
            c => return Err(format!("{c:?} is not a digit")),
        }
    }
    check_run(&mut run)?;
    if real_digits == 0 && !digits.contains(['*', '#']) {
        return Err("no digits".to_string());
    }
    if letters > 0 && real_digits < 3 {
        return Err("letters only count on a number with at least 3 digits".to_string());
    }
    if plus && digits.contains(['*', '#']) {
        return Err("'*' and '#' do not go in an international number".to_string());
    }
    if plus && digits.is_empty() {
        return Err("no digits after '+'".to_string());
    }
    Ok(Parsed {
        plus,
        digits,
        extension,
    })
}

/// Splits a trailing extension off: `x12`, `ext 12`, `ext. 12`, `extension 12`, `;ext=12`,
/// `,12` (case-insensitive, after the number).
fn split_extension(s: &str) -> (&str, Option<String>) {
    let lower = s.to_ascii_lowercase();
    // Rightmost marker whose tail is digits (and separators) only.
    for marker in ["extension", ";ext=", "ext.", "ext", "x", ","] {
        // A pause: everything after the first comma (",,34" waits twice, then dials 34).
        let found = if marker == "," {
            lower.find(marker)
        } else {
            lower.rfind(marker)
        };
        let Some(at) = found else {
            continue;
        };
        let tail = &s[at + marker.len()..];
        let tail = tail.trim_start_matches([' ', '\t', '.', ':', '=', ',', '\u{a0}']);
        let ext: String = tail.chars().filter(|c| !is_separator(*c)).collect();
        if !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_digit()) {
            // The marker must follow the number, not be a vanity letter inside a word.
            let before = &s[..at];
            let attached = before
                .chars()
                .next_back()
                .is_some_and(|c| c.is_ascii_alphabetic());
            if !attached || marker == "," || marker == ";ext=" {
                return (before, Some(ext));
            }
        }
    }
    (s, None)
}

/// Visual separators people put in numbers.
fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '-'
            | '.'
            | '/'
            | '('
            | ')'
            | '['
            | ']'
            | '\u{a0}'
            | '\u{2007}'
            | '\u{202f}'
            | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{fe58}' | '\u{fe63}' | '\u{ff0d}'
    )
}

/// Fullwidth digits (U+FF10..U+FF19) and plus as ASCII.
fn fold_digit(c: char) -> char {
    match c {
        '\u{ff10}'..='\u{ff19}' => char::from(b'0' + (c as u32 - 0xff10) as u8),
        '\u{ff0b}' => '+',
        c => c,
    }
}

/// ITU E.161 keypad letters.
fn keypad_digit(c: char) -> char {
    match c.to_ascii_uppercase() {
        'A'..='C' => '2',
        'D'..='F' => '3',
        'G'..='I' => '4',
        'J'..='L' => '5',
        'M'..='O' => '6',
        'P'..='S' => '7',
        'T'..='V' => '8',
        _ => '9',
    }
}

/// `%2B1555…` → `+1555…`; invalid escapes are kept as they are.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us() -> DialPlan {
        DialPlan::new(DialPlanConfig {
            outside_line_prefix: Some("9".into()),
            international_prefix: "011".into(),
            country_code: Some("1".into()),
            national_prefix: "1".into(),
            max_extension_len: 5,
        })
        .unwrap()
    }

    fn plain() -> DialPlan {
        DialPlan::new(DialPlanConfig::default()).unwrap()
    }

    fn num(digits: &str, display: &str, ext: Option<&str>) -> DialTarget {
        DialTarget::Number {
            digits: digits.into(),
            display: display.into(),
            extension: ext.map(str::to_string),
        }
    }

    #[test]
    fn normalizes_numbers_us_pbx() {
        let plan = us();
        let cases: &[(&str, DialTarget)] = &[
            ("1002", num("1002", "1002", None)),
            ("  1002\t", num("1002", "1002", None)),
            (
                "+1 (555) 123-4567",
                num("915551234567", "+15551234567", None),
            ),
            (
                "555.123.4567 x12",
                num("95551234567", "+15551234567", Some("12")),
            ),
            (
                "555-123-4567 ext. 12",
                num("95551234567", "+15551234567", Some("12")),
            ),
            (
                "555-123-4567 EXT 12",
                num("95551234567", "+15551234567", Some("12")),
            ),
            (
                "555-123-4567 extension 7",
                num("95551234567", "+15551234567", Some("7")),
            ),
            (
                "555 123 4567,,34",
                num("95551234567", "+15551234567", Some("34")),
            ),
            (
                "5551234567;ext=9",
                num("95551234567", "+15551234567", Some("9")),
            ),
            ("1 555 123 4567", num("915551234567", "+15551234567", None)),
            (
                "555\u{2013}123\u{2014}4567",
                num("95551234567", "+15551234567", None),
            ),
            (
                "555\u{a0}123\u{2011}4567",
                num("95551234567", "+15551234567", None),
            ),
            (
                "\u{ff15}\u{ff15}\u{ff15}1234567",
                num("95551234567", "+15551234567", None),
            ),
            ("1-800-FLOWERS", num("918003569377", "+18003569377", None)),
            ("1-800-flowers", num("918003569377", "+18003569377", None)),
            (
                "+44 20 7946 0958",
                num("9011442079460958", "+442079460958", None),
            ),
            (
                "011 44 20 7946 0958",
                num("9011442079460958", "+442079460958", None),
            ),
            ("*72", num("*72", "*72", None)),
            (
                "#31#5551234567",
                num("#31#5551234567", "#31#5551234567", None),
            ),
            ("#31#", num("#31#", "#31#", None)),
            (
                "*67 555 123 4567",
                num("*675551234567", "*675551234567", None),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(&plan.normalize(input).unwrap(), want, "{input:?}");
        }
    }

    #[test]
    fn normalizes_numbers_european_pbx() {
        let plan = DialPlan::new(DialPlanConfig {
            outside_line_prefix: Some("0".into()),
            country_code: Some("49".into()),
            ..DialPlanConfig::default()
        })
        .unwrap();
        let cases: &[(&str, DialTarget)] = &[
            ("+49 30 1234567", num("00301234567", "+49301234567", None)),
            ("030 1234567", num("00301234567", "+49301234567", None)),
            (
                "+33 1 23 45 67 89",
                num("00033123456789", "+33123456789", None),
            ),
            (
                "0033 1 23 45 67 89",
                num("00033123456789", "+33123456789", None),
            ),
            ("12345", num("12345", "12345", None)),
        ];
        for (input, want) in cases {
            assert_eq!(&plan.normalize(input).unwrap(), want, "{input:?}");
        }
        // Without a country code numbers stay as typed.
        assert_eq!(
            plain().normalize("030 1234567").unwrap(),
            num("0301234567", "0301234567", None)
        );
        assert_eq!(
            plain().normalize("+1 555 123 4567").unwrap(),
            num("0015551234567", "+15551234567", None)
        );
    }

    #[test]
    fn keeps_uris() {
        let plan = us();
        for (input, want) in [
            ("sip:1002@pbx", "sip:1002@pbx"),
            (
                "SIP:1002@pbx.example.com:5070;transport=tcp",
                "SIP:1002@pbx.example.com:5070;transport=tcp",
            ),
            ("sips:alice@example.com", "sips:alice@example.com"),
            ("tel:+15551234567", "tel:+15551234567"),
            ("  sip:pbx.example.com  ", "sip:pbx.example.com"),
            ("1002@pbx", "sip:1002@pbx"),
        ] {
            assert_eq!(
                plan.normalize(input).unwrap(),
                DialTarget::Uri(want.into()),
                "{input:?}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_a_number() {
        let plan = us();
        let cases: &[(&str, &str)] = &[
            ("", "nothing to dial"),
            ("   \t ", "nothing to dial"),
            ("---", "not a phone number: \"---\" (no digits)"),
            ("()", "not a phone number: \"()\" (no digits)"),
            ("<script>alert(1)</script>", "not a phone number: \"<script>alert(1)</script>\" ('<' is not a digit)"),
            ("hello", "not a phone number: \"hello\" (no digits)"),
            ("12 CALL", "not a phone number: \"12 CALL\" (letters only count on a number with at least 3 digits)"),
            ("555+1234", "not a phone number: \"555+1234\" ('+' only goes at the start)"),
            ("+", "not a phone number: \"+\" (no digits)"),
            ("+1 555 *72", "not a phone number: \"+1 555 *72\" ('*' and '#' do not go in an international number)"),
            ("12\u{0}34", "not a phone number: \"12\\u{0}34\" ('\\0' is not a digit)"),
            ("555 123 4567 x", "not a phone number: \"555 123 4567 x\" (\"x\" without extension digits)"),
            ("555 123 4567 ext.", "not a phone number: \"555 123 4567 ext.\" (\"ext\" without extension digits)"),
            (
                "123456789012345678901234567890123",
                "not a phone number: \"123456789012345678901234567890123\" has 33 digits (at most 32)",
            ),
            ("sip:", "not a valid SIP address: \"sip:\" (nothing after the scheme)"),
            ("sip:a b@pbx", "not a valid SIP address: \"sip:a b@pbx\" (' ' is not allowed in a URI)"),
            ("sip:<1002@pbx>", "not a valid SIP address: \"sip:<1002@pbx>\" ('<' is not allowed in a URI)"),
            ("sip:1002@", "not a valid SIP address: \"sip:1002@\" (no host)"),
            ("@pbx", "not a valid SIP address: \"@pbx\" (empty user before @)"),
            ("tel:abc", "not a valid SIP address: \"tel:abc\" (a tel: URI holds a number)"),
            ("sip:jörg@pbx", "not a valid SIP address: \"sip:jörg@pbx\" (only ASCII is allowed in a URI (percent-encode the rest))"),
        ];
        for (input, want) in cases {
            let got = plan.normalize(input).unwrap_err().to_string();
            assert_eq!(&got, want, "{input:?}");
        }
        let long = "9".repeat(500);
        let e = plan.normalize(&long).unwrap_err().to_string();
        assert!(
            e.contains("has 500 digits") && e.contains('…') && e.len() < 120,
            "{e}"
        );
    }

    #[test]
    fn the_letter_x_in_a_vanity_number_is_not_an_extension() {
        let plan = us();
        // 1-800-XBOX-360? "x" is attached to the letters before/after, not a marker.
        assert_eq!(
            plan.normalize("1-800-MAX-1234").unwrap(),
            num("918006291234", "+18006291234", None)
        );
    }

    #[test]
    fn caller_numbers_for_the_page() {
        let plan = us();
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("1002", None, "1002"),
            ("+15551234567", None, "+15551234567"),
            ("915551234567", None, "+15551234567"),
            ("95551234567", None, "+15551234567"),
            ("15551234567", None, "+15551234567"),
            ("5551234567", None, "+15551234567"),
            ("9011442079460958", None, "+442079460958"),
            ("011442079460958", None, "+442079460958"),
            ("%2B15551234567", None, "+15551234567"),
            (
                "+1-555-123-4567;phone-context=example.com",
                None,
                "+15551234567",
            ),
            ("*72", None, "*72"),
            ("anonymous", Some("+1 (555) 123-4567"), "+15551234567"),
            ("anonymous", None, "anonymous"),
            ("alice", Some("Alice Smith"), "alice"),
            ("", None, ""),
        ];
        for (user, name, want) in cases {
            assert_eq!(plan.caller_number(user, *name), *want, "{user:?} {name:?}");
        }
        let plain = plain();
        assert_eq!(plain.caller_number("0015551234567", None), "+15551234567");
        assert_eq!(plain.caller_number("0301234567", None), "0301234567");
        assert_eq!(plain.caller_number("4711", None), "4711");
    }

    #[test]
    fn dialled_display_and_caller_number_agree() {
        let plan = us();
        for input in [
            "+1 555 123 4567",
            "555-123-4567",
            "+44 20 7946 0958",
            "1002",
        ] {
            let DialTarget::Number {
                digits, display, ..
            } = plan.normalize(input).unwrap()
            else {
                panic!("{input}");
            };
            assert_eq!(plan.caller_number(&digits, None), display, "{input}");
        }
    }

    #[test]
    fn config_from_toml_and_its_errors() {
        let c: DialPlanConfig = toml::from_str(
            "outside_line_prefix = \"9\"\ninternational_prefix = \"011\"\ncountry_code = \"1\"\nnational_prefix = \"1\"\nmax_extension_len = 4\n",
        )
        .unwrap();
        assert_eq!(c.max_extension_len, 4);
        assert!(DialPlan::new(c).is_ok());
        let c: DialPlanConfig = toml::from_str("").unwrap();
        assert_eq!(c, DialPlanConfig::default());
        let e = toml::from_str::<DialPlanConfig>("outside_prefix = \"9\"").unwrap_err();
        assert!(
            e.to_string().contains("unknown field `outside_prefix`"),
            "{e}"
        );

        for (config, want) in [
            (
                DialPlanConfig { outside_line_prefix: Some("9a".into()), ..Default::default() },
                "dial_plan.outside_line_prefix: \"9a\" must be digits only",
            ),
            (
                DialPlanConfig { international_prefix: "".into(), ..Default::default() },
                "dial_plan.international_prefix: \"\" must be digits only",
            ),
            (
                DialPlanConfig { country_code: Some("+1".into()), ..Default::default() },
                "dial_plan.country_code: \"+1\" must be digits only",
            ),
            (
                DialPlanConfig { country_code: Some("1234".into()), ..Default::default() },
                "dial_plan.country_code: \"1234\" is not a country calling code (1-3 digits, e.g. \"1\" or \"49\")",
            ),
            (
                DialPlanConfig { max_extension_len: 40, ..Default::default() },
                "dial_plan.max_extension_len: 40 is more than 32",
            ),
        ] {
            assert_eq!(DialPlan::new(config).unwrap_err().to_string(), want);
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        let plan = us();
        let odd = [
            "x",
            "ext",
            ",",
            ";ext=",
            "+",
            "++1",
            "%",
            "%zz",
            "\u{feff}",
            "🙂",
            "١٢٣٤٥٦٧",
            "x12",
            "ext. 12",
            "sip",
            "sip:@",
            "tel:",
            "@",
            "a@",
            "1002@",
            "\u{202e}1002",
        ];
        for s in odd {
            let _ = plan.normalize(s);
            let _ = plan.caller_number(s, Some(s));
        }
    }
}
