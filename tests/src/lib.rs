//! Test harness shared by the system tests.

pub mod cli;
pub mod corpus;
pub mod desktop;
pub mod mail;

pub use mail::{MailServers, MailUser};
