//! The closed vocabularies of the domain. Each maps 1:1 to a CHECK constraint in
//! `migrations/0001_init.sql`; `as_str`/`FromStr` are the only conversions.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// A value that is not part of a vocabulary, e.g. a channel name typed on the command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?} (expected one of: {expected})")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub expected: String,
}

macro_rules! vocabulary {
    ($(#[$doc:meta])* $name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        what: $what,
                        value: s.to_owned(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary!(
    /// Where a conversation happens.
    Channel, "channel", {
        Email => "email",
        Whatsapp => "whatsapp",
        Messenger => "messenger",
        Instagram => "instagram",
        Telegram => "telegram",
    }
);

vocabulary!(
    /// Who a message is from: the customer (`in`), the shop (`out`), or neither (`system`).
    Direction, "direction", {
        In => "in",
        Out => "out",
        System => "system",
    }
);

vocabulary!(
    /// Where a conversation stands in the shop's workflow.
    Status, "status", {
        Open => "open",
        Pending => "pending",
        Snoozed => "snoozed",
        Closed => "closed",
    }
);

vocabulary!(
    /// How urgent a conversation is.
    Priority, "priority", {
        Low => "low",
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

vocabulary!(
    /// What kind of handle identifies a customer.
    IdentityKind, "identity kind", {
        Email => "email",
        Phone => "phone",
        Whatsapp => "whatsapp",
        Messenger => "messenger",
        Instagram => "instagram",
        Telegram => "telegram",
        Name => "name",
    }
);

vocabulary!(
    /// Where a follow-up stands.
    FollowupState, "follow-up state", {
        Pending => "pending",
        Done => "done",
        Cancelled => "cancelled",
    }
);

vocabulary!(
    /// How a mail connection is secured. There is no "accept invalid certificates" mode:
    /// a private CA is configured with a CA file instead.
    TlsMode, "TLS mode", {
        None => "none",
        Starttls => "starttls",
        Tls => "tls",
    }
);

/// Normalises an email address for identity matching: trimmed and lower-cased. Plus-tags
/// are kept (`anna+shop@x` is a distinct address the customer chose on purpose).
pub fn normalize_email(address: &str) -> String {
    address.trim().trim_matches(['<', '>']).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every vocabulary value survives a round trip through its text form, which is what
    /// the database CHECK constraints and the CLI accept.
    #[test]
    fn vocabularies_round_trip() {
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>(), Ok(*c));
        }
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>(), Ok(*s));
        }
        for k in IdentityKind::ALL {
            assert_eq!(k.as_str().parse::<IdentityKind>(), Ok(*k));
        }
        let err = "sms".parse::<Channel>().expect_err("sms is no channel");
        assert!(err.to_string().contains("whatsapp"), "{err}");
    }

    /// Serde uses the same lower-case names as the database.
    #[test]
    fn serde_names_match_database_names() {
        let json = serde_json::to_string(&Channel::Whatsapp).expect("serialize");
        assert_eq!(json, "\"whatsapp\"");
    }

    #[test]
    fn email_normalisation_lowercases_and_keeps_plus_tags() {
        assert_eq!(
            normalize_email(" <Anna+Shop@Example.COM> "),
            "anna+shop@example.com"
        );
    }
}
