//! Importers: parsers over bytes feeding the store. Each parser is a pure function of
//! its input; directory walking is kept apart and thin.

pub mod chat;
pub mod error;
pub mod mail;
pub mod orders;
pub mod sniff;

pub use error::IngestError;
