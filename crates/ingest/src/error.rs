//! Errors of the thin I/O layer. Parsers over bytes do not fail: they report what they
//! could not read in the result instead.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a Maildir (expected cur/ and new/ folders)")]
    NotAMaildir { path: PathBuf },
    /// The file is not the chat export it was imported as (wrong shape, not JSON…).
    #[error("{path}: {source}")]
    Format { path: PathBuf, source: crate::chat::FormatError },
    /// A folder holds no file of the expected export (e.g. no `message_N.json`).
    #[error("{path}: no {expected} found in it")]
    NoChatExport { path: PathBuf, expected: &'static str },
    /// A zip refused or unreadable (unsafe names, a zip bomb, a lying header…).
    #[error(transparent)]
    Archive(#[from] crate::chat::archive::ArchiveError),
    /// A file too big to read into memory for parsing.
    #[error("{path}: {size} bytes is over the {limit}-byte limit for this import")]
    TooLarge { path: PathBuf, size: u64, limit: u64 },
}
