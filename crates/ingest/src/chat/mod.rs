//! Chat exports: WhatsApp (.txt or .zip), Messenger and Instagram (JSON), Telegram Desktop
//! (result.json). Each parser is a pure function over bytes returning a
//! [`shopdesk_core::chat::ChatExport`]; `read_path` functions beside them do the file,
//! folder and zip handling.
//!
//! A parser refuses input that is not its format at all ([`FormatError`], naming the
//! format and the first line that failed) and otherwise keeps going: bad lines become
//! problems in the export, never a lost file.

pub mod archive;
mod json_common;
pub mod meta;
pub mod telegram;
pub mod whatsapp;

/// The input is not the export format it was given as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a {format} export: line {line}: {message}")]
pub struct FormatError {
    /// Which format was expected, e.g. "WhatsApp chat", "Telegram Desktop result.json".
    pub format: &'static str,
    /// 1-based line of the text (for JSON, the line of the parse error).
    pub line: usize,
    pub message: String,
}
