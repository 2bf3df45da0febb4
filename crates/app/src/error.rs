use serde::Serialize;
use shopdesk_store::StoreError;
use std::path::Path;

/// A machine-readable error class: the UI branches on it, the CLI prints the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    NotADatabase,
    SchemaTooNew,
    ReadOnly,
    NotFound,
    InvalidInput,
    WouldOverwrite,
    Keyring,
    /// The mail server cannot be reached or dropped the connection (retried by sync).
    MailServerUnreachable,
    /// The mail server refused the user name or password.
    MailLogin,
    /// The mail server's certificate is not trusted, or TLS failed.
    Tls,
    /// The mail server refused a command.
    MailServer,
    /// A merge, split or undo that the current state does not allow (the message says
    /// why, e.g. which later change to undo first).
    Refused,
    /// A saved reply with an unknown variable or unbalanced braces (refused at save).
    InvalidTemplate,
    /// A template variable with no value for this conversation (e.g. no order).
    MissingTemplateValue,
    Database,
    Io,
    Internal,
}

/// The error every use case returns; serialises as `{"code": "...", "message": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> AppError {
        AppError { code, message: message.into() }
    }

    pub fn io(path: &Path, e: std::io::Error) -> AppError {
        let code = if e.kind() == std::io::ErrorKind::PermissionDenied || e.raw_os_error() == Some(30) {
            ErrorCode::ReadOnly
        } else {
            ErrorCode::Io
        };
        AppError::new(code, format!("{}: {e}", path.display()))
    }
}

impl From<shopdesk_ingest::sniff::UnknownImportKind> for AppError {
    fn from(e: shopdesk_ingest::sniff::UnknownImportKind) -> AppError {
        AppError::new(ErrorCode::InvalidInput, e.to_string())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        let code = match &e {
            StoreError::NotADatabase { .. } => ErrorCode::NotADatabase,
            StoreError::SchemaTooNew { .. } => ErrorCode::SchemaTooNew,
            StoreError::ReadOnly { .. } => ErrorCode::ReadOnly,
            StoreError::NotFound { .. } | StoreError::NotFoundByName { .. } => ErrorCode::NotFound,
            StoreError::AlreadyExists { .. } => ErrorCode::InvalidInput,
            StoreError::MergeRefused(_)
            | StoreError::SplitRefused(_)
            | StoreError::UndoRefused { .. }
            | StoreError::NotPending { .. }
            | StoreError::Refused(_) => ErrorCode::Refused,
            StoreError::BadSetting { .. } => ErrorCode::InvalidInput,
            StoreError::BadTemplate { .. } => ErrorCode::InvalidTemplate,
            StoreError::ChatNotBegun | StoreError::ChatNotEnded => ErrorCode::Internal,
            StoreError::Io(_) => ErrorCode::Io,
            StoreError::Open { .. } | StoreError::Migration(_) | StoreError::Sqlite(_) => ErrorCode::Database,
        };
        AppError::new(code, e.to_string())
    }
}

impl From<shopdesk_mailbox::MailboxError> for AppError {
    fn from(e: shopdesk_mailbox::MailboxError) -> AppError {
        use shopdesk_mailbox::MailboxError as M;
        let code = match &e {
            M::Connect { .. } | M::ConnectionLost(_) => ErrorCode::MailServerUnreachable,
            M::Auth { .. } => ErrorCode::MailLogin,
            M::Tls { .. } | M::NoStartTls { .. } | M::CaFile { .. } => ErrorCode::Tls,
            M::Server { .. } => ErrorCode::MailServer,
        };
        AppError::new(code, e.to_string())
    }
}
