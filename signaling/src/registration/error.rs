//! Why a registration failed, worded for the agent, and whether retrying can help.

use crate::net::Peer;
use std::time::Duration;

/// A registration failure. `Display` is a sentence an agent can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// We answered the PBX's challenge and it challenged again: the password (or auth
    /// user) is wrong.
    #[error("wrong password for {user} at {domain}")]
    WrongPassword {
        /// The account.
        user: String,
        /// Its domain.
        domain: String,
    },
    /// 403: the PBX knows the account but will not let it register.
    #[error("the PBX refused {user} ({status} {reason})")]
    Forbidden {
        /// The account.
        user: String,
        /// The PBX's status.
        status: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// 404: the PBX does not know the account.
    #[error("the PBX does not know {user} at {domain} ({status} {reason})")]
    NotFound {
        /// The account.
        user: String,
        /// Its domain.
        domain: String,
        /// The PBX's status.
        status: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// The challenge asks for something we cannot answer (e.g. an unknown digest algorithm).
    #[error("cannot answer the PBX's authentication challenge for {user}: {detail}")]
    UnsupportedAuth {
        /// The account.
        user: String,
        /// What we cannot answer.
        detail: String,
    },
    /// Another final error that retrying the same request will not fix (400, 420, 6xx...).
    #[error("the PBX rejected the registration of {user} ({status} {reason})")]
    Rejected {
        /// The account.
        user: String,
        /// The PBX's status.
        status: u16,
        /// Its reason phrase.
        reason: String,
    },
    /// No response at all (Timer F).
    #[error("no answer from {registrar} (timed out)")]
    NoAnswer {
        /// The registrar.
        registrar: String,
    },
    /// The driver could not send to the registrar (TCP refused, unreachable).
    #[error("cannot reach {registrar} over {transport}")]
    Transport {
        /// The registrar.
        registrar: String,
        /// The transport we tried.
        transport: String,
    },
    /// The driver could not connect to the registrar, and said why (refused, timed out).
    #[error("cannot reach {registrar} over {transport}: {detail}")]
    Unreachable {
        /// The registrar.
        registrar: String,
        /// The transport we tried.
        transport: String,
        /// What the driver saw.
        detail: String,
    },
    /// The registrar was reached but the connection was refused on purpose: its TLS
    /// certificate is not trusted, has expired or names another host, or it refused ours.
    /// `detail` is a sentence naming the cause and the setting to fix.
    #[error("{detail}")]
    Refused {
        /// The registrar.
        registrar: String,
        /// The cause and the fix, in words.
        detail: String,
    },
    /// A transient error from the PBX (5xx, 408, 480); `retry_after` is its Retry-After.
    #[error("the PBX at {registrar} is unavailable ({status} {reason})")]
    Unavailable {
        /// The registrar.
        registrar: String,
        /// The PBX's status.
        status: u16,
        /// Its reason phrase.
        reason: String,
        /// How long the PBX asked us to wait, if it said.
        retry_after: Option<Duration>,
    },
}

impl RegistrationError {
    /// Terminal errors need a person (a config change or the PBX admin); retrying at the
    /// normal pace would only add failed logins.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            RegistrationError::WrongPassword { .. }
                | RegistrationError::Forbidden { .. }
                | RegistrationError::NotFound { .. }
                | RegistrationError::UnsupportedAuth { .. }
                | RegistrationError::Rejected { .. }
        )
    }

    /// Nothing came back from the registrar: it may be restarting, so we keep probing at a
    /// short interval (see [`super::RetryPolicy::max_unreachable`]).
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            RegistrationError::NoAnswer { .. }
                | RegistrationError::Transport { .. }
                | RegistrationError::Unreachable { .. }
        )
    }

    pub(crate) fn no_answer(registrar: Peer) -> Self {
        RegistrationError::NoAnswer {
            registrar: registrar.addr.to_string(),
        }
    }

    pub(crate) fn transport(registrar: Peer) -> Self {
        RegistrationError::Transport {
            registrar: registrar.addr.to_string(),
            transport: registrar.transport.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_account_and_the_cause() {
        let wrong = RegistrationError::WrongPassword {
            user: "1001".into(),
            domain: "pbx.example:5060".into(),
        };
        assert_eq!(
            wrong.to_string(),
            "wrong password for 1001 at pbx.example:5060"
        );
        let refused = RegistrationError::Forbidden {
            user: "1001".into(),
            status: 403,
            reason: "Forbidden".into(),
        };
        assert_eq!(refused.to_string(), "the PBX refused 1001 (403 Forbidden)");
        let silent =
            RegistrationError::no_answer(Peer::udp("127.0.0.1:5070".parse().expect("valid")));
        assert_eq!(
            silent.to_string(),
            "no answer from 127.0.0.1:5070 (timed out)"
        );
        assert!(wrong.is_terminal() && refused.is_terminal());
        assert!(!silent.is_terminal() && silent.is_unreachable());
    }
}
