use std::path::PathBuf;

/// What can go wrong in the store. Every variant that concerns a file names it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path} is not a Shopdesk database (not an SQLite file); it was left untouched")]
    NotADatabase { path: PathBuf },
    #[error("{path} has schema version {found}, but this Shopdesk knows only up to {known}; upgrade Shopdesk (the file was left untouched)")]
    SchemaTooNew { path: PathBuf, found: i64, known: i64 },
    #[error("cannot write the database at {path}: {reason}")]
    ReadOnly { path: PathBuf, reason: String },
    #[error("cannot open the database at {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("applying schema migrations failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("{what} {name:?} does not exist")]
    NotFoundByName { what: &'static str, name: String },
    #[error("{what} {name:?} already exists")]
    AlreadyExists { what: &'static str, name: String },
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: i64 },
    #[error("setting {key:?} holds invalid JSON: {reason}")]
    BadSetting { key: String, reason: String },
    #[error("cannot merge: {0}")]
    MergeRefused(String),
    #[error("cannot split: {0}")]
    SplitRefused(String),
    #[error("a chat's lines came before the chat was begun")]
    ChatNotBegun,
    #[error("a chat was not ended before the next one (or the commit)")]
    ChatNotEnded,
    #[error("{what} {id} is {state}, no longer pending")]
    NotPending { what: &'static str, id: i64, state: String },
    /// A saved reply that cannot be saved: which part (name, language, subject, body) and why.
    #[error("template {part}: {reason}")]
    BadTemplate { part: &'static str, reason: String },
    /// An action the entry's current state does not allow (the message says why).
    #[error("{0}")]
    Refused(String),
    #[error("change {id} cannot be undone: {reason}")]
    UndoRefused { id: i64, reason: String },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
