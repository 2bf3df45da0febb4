//! Errors of the thin I/O layer. Parsers over bytes do not fail: they report what they
//! could not read in the result instead.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a Maildir (expected cur/ and new/ folders)")]
    NotAMaildir { path: PathBuf },
}
