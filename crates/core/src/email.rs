//! An email as the rest of Shopdesk sees it, after MIME parsing (crates/ingest) and
//! before storing (crates/store). Pure data: parsing lives in ingest, threading and
//! customer matching in the store's email writer.

use crate::Millis;

/// One mailbox address. `email` is as written (case kept); compare with
/// [`crate::normalize_email`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Address {
    pub name: Option<String>,
    pub email: String,
}

/// A file carried by an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAttachment {
    /// Decoded file name (RFC 2047/2231 already applied), when the part has one.
    pub filename: Option<String>,
    pub mime_type: String,
    /// For inline parts referenced from HTML as `cid:…`, without angle brackets.
    pub content_id: Option<String>,
    pub inline: bool,
    pub data: Vec<u8>,
}

/// A parsed email. Everything is optional because real mail lacks anything at times;
/// what could not be read is listed in `problems` instead of failing the import.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedEmail {
    /// Message-ID without angle brackets; `None` when missing or empty.
    pub message_id: Option<String>,
    /// In-Reply-To ids, without angle brackets.
    pub in_reply_to: Vec<String>,
    /// References ids, oldest first, without angle brackets.
    pub references: Vec<String>,
    /// Outlook's Thread-Index header (base64), a threading hint.
    pub thread_index: Option<String>,
    pub subject: Option<String>,
    /// The Date header in UTC; `None` when missing or unparseable.
    pub date: Option<Millis>,
    pub from: Vec<Address>,
    pub reply_to: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// Readable text: the text/plain body, else text derived from the HTML body.
    pub text: String,
    /// The HTML body after sanitising: no script, no event handlers, no remote
    /// resources (remote images are kept only as inert data the UI may enable).
    pub html: Option<String>,
    pub attachments: Vec<ParsedAttachment>,
    /// Human-readable notes on what could not be read, e.g. "undecodable charset x-foo in part 2".
    pub problems: Vec<String>,
}
