use thiserror::Error;

/// Why talking to the mail server failed. Messages never contain the password.
#[derive(Debug, Error)]
pub enum MailboxError {
    #[error("cannot connect to {host}:{port}: {message}")]
    Connect { host: String, port: u16, message: String },
    #[error("TLS with {host} failed: {message}")]
    Tls { host: String, message: String },
    #[error("{host} does not offer STARTTLS; choose --imap-tls tls or none")]
    NoStartTls { host: String },
    #[error("CA file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error("{host} refused the login of {user}: {message}")]
    Auth { host: String, user: String, message: String },
    #[error("connection to the mail server lost: {0}")]
    ConnectionLost(String),
    #[error("the mail server answered {command}: {message}")]
    Server { command: String, message: String },
}

impl MailboxError {
    /// A dropped or refused connection is worth retrying later (the laptop slept, the
    /// server restarted); a refused login or an untrusted certificate is not.
    pub fn is_transient(&self) -> bool {
        matches!(self, MailboxError::Connect { .. } | MailboxError::ConnectionLost(_))
    }

    /// Turns an error of the `imap` crate during `command` into ours.
    pub(crate) fn from_imap(command: &str, e: imap::Error) -> MailboxError {
        match e {
            imap::Error::Io(e) => MailboxError::ConnectionLost(e.to_string()),
            imap::Error::ConnectionLost => MailboxError::ConnectionLost("the server closed the connection".into()),
            imap::Error::Bye(b) => MailboxError::ConnectionLost(format!("the server said BYE: {}", b.information)),
            imap::Error::TagMismatch(t) => MailboxError::ConnectionLost(t.to_string()),
            imap::Error::No(n) => MailboxError::Server { command: command.into(), message: format!("NO {}", n.information) },
            imap::Error::Bad(b) => MailboxError::Server { command: command.into(), message: format!("BAD {}", b.information) },
            other => MailboxError::Server { command: command.into(), message: other.to_string() },
        }
    }
}
