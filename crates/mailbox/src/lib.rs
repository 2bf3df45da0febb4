//! The shop's mail server as Shopdesk sees it: a list of folders, each a sequence of
//! messages under (UIDVALIDITY, UID), their flags, and a way to wait for news.
//!
//! [`RemoteMailbox`] is that capability; [`imap::ImapMailbox`] is its one backend (the
//! `imap` crate, blocking, on whatever thread calls it, over TLS we verify ourselves).
//! No database here: `shopdesk-app` drives a sync pass between this and the store.

mod error;
pub mod imap;
mod tls;

pub use error::MailboxError;
pub use imap::{ImapMailbox, ImapSettings};
pub use shopdesk_core::TlsMode;

use std::time::Duration;

pub type Result<T, E = MailboxError> = std::result::Result<T, E>;

/// What a folder is for; decides which ones a sync takes by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderRole {
    Inbox,
    Sent,
    Other,
}

impl FolderRole {
    pub fn as_str(self) -> &'static str {
        match self {
            FolderRole::Inbox => "inbox",
            FolderRole::Sent => "sent",
            FolderRole::Other => "other",
        }
    }
}

/// A folder the server lists (only selectable ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folder {
    /// The server's name for it, as LIST gives it (modified UTF-7 for non-ASCII names).
    pub name: String,
    pub role: FolderRole,
}

/// A folder's state when selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FolderStatus {
    pub uidvalidity: u32,
    pub exists: u32,
    /// Present when the server has CONDSTORE (RFC 7162): flag changes since a modseq can
    /// be asked for instead of re-reading every flag.
    pub highest_modseq: Option<u64>,
}

/// One message as fetched: its UID, flags (`\Seen`, `$Label1`, …) and raw RFC 5322 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMessage {
    pub uid: u32,
    pub flags: Vec<String>,
    pub raw: Vec<u8>,
}

/// The flags of one message whose flags changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagChange {
    pub uid: u32,
    pub flags: Vec<String>,
}

/// Why waiting for news ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The server said something changed (new mail, flags, expunge).
    Changed,
    /// Nothing came within the timeout; a good moment to look at the other folders.
    TimedOut,
}

/// A mail server holding the shop's mailbox. Every call may fail with a
/// [`MailboxError`]; [`MailboxError::is_transient`] tells a dropped connection (retry)
/// from a refused login or an untrusted certificate (tell the user).
pub trait RemoteMailbox {
    /// Selectable folders with their roles (INBOX; Sent by SPECIAL-USE, else by name).
    fn folders(&mut self) -> Result<Vec<Folder>>;
    /// Opens `folder` read-only, so fetching never marks mail as read.
    fn select(&mut self, folder: &str) -> Result<FolderStatus>;
    /// UIDs of the selected folder from `first` on, ascending.
    fn uids_from(&mut self, first: u32) -> Result<Vec<u32>>;
    /// The messages with these UIDs (missing ones — expunged meanwhile — are left out).
    fn fetch(&mut self, uids: &[u32]) -> Result<Vec<RemoteMessage>>;
    /// Flags of every message, or with CONDSTORE only of those changed after `since`.
    fn flag_changes(&mut self, since: Option<u64>) -> Result<Vec<FlagChange>>;
    /// Waits (IDLE, or a plain sleep where IDLE is missing) until the selected folder
    /// changes or `timeout` passes.
    fn wait_for_change(&mut self, timeout: Duration) -> Result<Wake>;
    /// Stores `raw` in `folder` with `flags` (e.g. `\\Seen`): a sent reply's copy in Sent.
    fn append(&mut self, folder: &str, flags: &[&str], raw: &[u8]) -> Result<()>;
    /// The UID of a message in `folder` whose Message-ID header is `message_id` (without
    /// angle brackets), if any: how a reply interrupted after sending is found again.
    /// Selects `folder` read-only.
    fn find_message_id(&mut self, folder: &str, message_id: &str) -> Result<Option<u32>>;
}
