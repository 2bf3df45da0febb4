//! Shopdesk's domain, free of I/O and clocks: callers pass `now` in as [`Millis`].
//!
//! Everything here is deterministic so it can be tested without a database or a network.

pub mod chat;
pub mod demo;
pub mod email;
pub mod ids;
pub mod model;
pub mod order;
pub mod phone;
pub mod search;
pub mod text;
pub mod template;
pub mod threading;
pub mod when;

pub use ids::*;
pub use model::*;

/// A point in time: milliseconds since the Unix epoch, UTC. The same unit as every
/// `*_at` column in the database.
pub type Millis = i64;

pub const MINUTE: Millis = 60_000;
pub const HOUR: Millis = 60 * MINUTE;
pub const DAY: Millis = 24 * HOUR;
