//! Shopdesk's SQLite store.
//!
//! [`Store::open`] is the only way in: it refuses files that are not Shopdesk databases
//! (without touching them), sets the per-connection pragmas, registers the SQL functions
//! the schema's triggers call, and applies pending migrations in one transaction. One
//! module per table group holds the queries.

mod accounts;
mod chats;
mod conversations;
mod customers;
mod demo;
mod email;
mod error;
mod followups;
mod imports;
mod open;
mod orders;
mod outbox;
mod search;
mod settings;
mod stats;
mod sync;
mod templates;
pub mod time;
mod workflow;

pub use accounts::Account;
pub use chats::{ChatHeader, ChatSink, ChatStoreOptions, ChatStored, LineKeys};
pub use conversations::{AttachmentRow, ConversationFilter, ConversationRow, MessageRow};
pub use customers::{CustomerChange, CustomerDetail, CustomerRow, IdentityRow, SplitOutcome, Suggestion, normalize_name};
pub use demo::DemoSummary;
pub use email::{EmailInput, EmailLocation, Stored};
pub use error::StoreError;
pub use followups::{DueFollowup, FollowupFilter, FollowupRow, FollowupRule, FollowupState, InboundMessage, NewFollowup, RuleTrigger};
pub use imports::{ImportProblem, ImportReport};
pub use open::{MIGRATIONS_COUNT, Store};
pub use orders::{OrderLineRow, OrderRow, OrdersReport};
pub use outbox::{MAX_ATTEMPTS, NewOutbound, OutboxEntry, OutboxState, ReplyContext, backoff};
pub use search::SearchHit;
pub use stats::Stats;
pub use sync::FolderState;
pub use templates::{Saved, TemplateRow, template_language};
pub use workflow::{CANCELLED_BY_CUSTOMER, CustomerMessageEffect, EventRow, NoteRow, NoteTarget, TeamMember};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
