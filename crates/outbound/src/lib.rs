//! The shop's outgoing mail: [`compose`] turns a reply into the exact RFC 5322 bytes
//! that will be sent (pure: time and randomness are passed in), and [`MailSender`] is
//! the capability of handing those bytes to a server, with [`smtp::SmtpSender`] (lettre,
//! blocking) as its backend. No database here: `shopdesk-app` keeps the outbox.

pub mod compose;
pub mod smtp;

pub use compose::{
    ComposeError, Composed, OutAttachment, Party, ReplyInput, compose_reply, reply_subject,
};
pub use smtp::{SmtpSender, SmtpSettings};

/// Why a server did not take a message. `permanent` is a 5xx answer (retrying the same
/// bytes will not help); anything else (4xx, refused or dropped connection, timeout) is
/// transient and worth retrying later. `message` carries the server's answer verbatim
/// when there was one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

/// Something that takes a finished message and delivers it to its recipients.
pub trait MailSender {
    /// Hands `raw` to the server for `recipients`, with `envelope_from` as the return
    /// path. `Ok` means the server accepted responsibility for the message.
    fn send(
        &mut self,
        envelope_from: &str,
        recipients: &[String],
        raw: &[u8],
    ) -> Result<(), SendError>;
}
