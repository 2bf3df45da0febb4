//! Test harness shared by the system tests.

pub mod corpus;
pub mod desktop;
pub mod mail;

pub use mail::{MailServers, MailUser};
