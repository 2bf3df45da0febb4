//! Email: MIME parsing, HTML sanitising, mbox and Maildir reading, and the idempotency key.

mod html;
mod maildir;
mod mbox;
mod mime;

pub use html::{BLOCKED_SCHEME, sanitize_html};
pub use maildir::{MaildirEntry, is_maildir, walk_maildir};
pub use mbox::{MboxEntry, split_mbox};
pub use mime::{parse_email, source_key};
