//! A password that cannot end up in a log by accident.

use std::fmt;

/// A SIP password. `Debug` and `Display` print `***`, so a password inside any struct that
/// derives `Debug` (an account, an authenticator, an error) never reaches a log line. Read
/// it only through [`Password::expose`], where the digest is computed.
#[derive(Clone, Default)]
pub struct Password(String);

impl Password {
    /// A password; it never prints (`Debug` shows it redacted).
    pub fn new(secret: impl Into<String>) -> Self {
        Password(secret.into())
    }

    /// The secret itself: for hashing only, never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether no password was configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Password {
    fn from(s: String) -> Self {
        Password(s)
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Self {
        Password(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let p = Password::new("Circle of Life");
        assert_eq!(format!("{p}"), "***");
        assert_eq!(format!("{p:?}"), "***");
        assert_eq!(format!("{p:#?}"), "***");

        #[derive(Debug)]
        #[allow(dead_code)] // the field is read only through Debug
        struct Account {
            user: &'static str,
            password: Password,
        }
        let shown = format!(
            "{:?}",
            Account {
                user: "1001",
                password: p.clone()
            }
        );
        assert!(!shown.contains("Circle"), "{shown}");
        assert_eq!(p.expose(), "Circle of Life");
    }
}
