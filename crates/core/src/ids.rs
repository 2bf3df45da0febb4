//! Typed row ids, so a customer id can never be passed where a conversation id is meant.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

id_type!(
    /// A row of `customers`.
    CustomerId,
    /// A row of `conversations`.
    ConversationId,
    /// A row of `messages` (not an RFC Message-ID, which is a string).
    MessageId,
    /// A row of `orders`.
    OrderId,
    /// A row of `team_members`.
    MemberId,
    /// A row of `followups`.
    FollowupId,
);
