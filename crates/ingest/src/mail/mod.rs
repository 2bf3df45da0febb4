//! Email: MIME parsing, HTML sanitising, mbox and Maildir reading, and the idempotency key.

mod html;
mod maildir;
mod mbox;
mod mime;

pub use html::{MAX_HTML_TAGS, REMOTE_SRC_ATTRIBUTE, sanitize_html};
pub use maildir::{MaildirEntry, MaildirFlag, is_maildir, parse_flags, walk_maildir};
pub use mbox::{MboxEntry, split_mbox};
pub use mime::{parse_email, source_key};
