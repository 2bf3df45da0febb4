//! [`MailSender`] over SMTP with lettre's blocking `SmtpTransport`, called on whatever
//! thread delivers (the app's delivery loop runs on its own thread, like sync). TLS
//! follows the mailbox policy: STARTTLS or implicit TLS, verified against the system
//! roots plus the account's CA file, never with invalid certificates accepted; plain
//! SMTP only to a loopback address, where no password crosses a network.

use crate::{MailSender, SendError};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, SmtpTransport, Transport};
use shopdesk_core::TlsMode;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How long one SMTP command may take before the attempt counts as failed (transient).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and how to submit. `Debug` leaves the password out.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Empty: submit without AUTH.
    pub username: String,
    pub password: String,
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

/// An SMTP submission server. Each `send` opens one connection (no pool: a shop sends a
/// handful of replies at a time, and a fresh connection never hits a stale socket).
pub struct SmtpSender {
    transport: SmtpTransport,
}

fn permanent(message: String) -> SendError {
    SendError {
        permanent: true,
        message,
    }
}

/// Whether `host` names this machine, the only place plain SMTP is allowed to go.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl SmtpSender {
    /// Prepares the transport (reads the CA file now, so a bad one is reported before any
    /// connection). Configuration problems are permanent errors.
    pub fn new(settings: &SmtpSettings) -> Result<SmtpSender, SendError> {
        let tls = match settings.tls {
            TlsMode::None => {
                if !is_loopback(&settings.host) {
                    return Err(permanent(format!(
                        "refusing plain SMTP to {}: without TLS the password and the mail cross the network readable; choose --smtp-tls starttls or tls",
                        settings.host
                    )));
                }
                Tls::None
            }
            TlsMode::Starttls => Tls::Required(tls_parameters(settings)?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters(settings)?),
        };
        let mut builder = SmtpTransport::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
        if !settings.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                settings.username.clone(),
                settings.password.clone(),
            ));
        }
        Ok(SmtpSender {
            transport: builder.build(),
        })
    }
}

fn tls_parameters(settings: &SmtpSettings) -> Result<TlsParameters, SendError> {
    let tls_err = |e: lettre::transport::smtp::Error| {
        permanent(format!("TLS setup for {}: {e}", settings.host))
    };
    let mut params = TlsParameters::builder(settings.host.clone());
    if let Some(path) = &settings.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| permanent(format!("CA file {}: {e}", path.display())))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| permanent(format!("CA file {}: {e}", path.display())))?;
        params = params.add_root_certificate(cert);
    }
    params.build_rustls().map_err(tls_err)
}

impl SmtpSender {
    /// Connects, secures and logs in (EHLO, STARTTLS/TLS, AUTH, NOOP) without sending:
    /// the account form's "test connection".
    pub fn check(&self) -> Result<(), SendError> {
        match self.transport.test_connection() {
            Ok(true) => Ok(()),
            Ok(false) => Err(permanent("the SMTP server did not answer NOOP".to_owned())),
            Err(e) => Err(SendError { permanent: e.is_permanent(), message: e.to_string() }),
        }
    }
}

impl MailSender for SmtpSender {
    fn send(
        &mut self,
        envelope_from: &str,
        recipients: &[String],
        raw: &[u8],
    ) -> Result<(), SendError> {
        let from: Address = envelope_from
            .parse()
            .map_err(|_| permanent(format!("{envelope_from:?} is not a valid sender address")))?;
        let to = recipients
            .iter()
            .map(|r| {
                r.parse::<Address>()
                    .map_err(|_| permanent(format!("{r:?} is not a valid recipient address")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(from), to).map_err(|e| permanent(e.to_string()))?;
        self.transport
            .send_raw(&envelope, raw)
            .map(|_| ())
            .map_err(|e| SendError {
                // Only a 5xx answer is final; 4xx, refused connections, TLS hiccups and
                // timeouts may pass.
                permanent: e.is_permanent(),
                message: e.to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain SMTP is refused to any host that is not this machine.
    #[test]
    fn plain_smtp_only_to_loopback() {
        let settings = |host: &str| SmtpSettings {
            host: host.into(),
            port: 25,
            tls: TlsMode::None,
            username: "u".into(),
            password: "p".into(),
            ca_file: None,
        };
        assert!(SmtpSender::new(&settings("127.0.0.1")).is_ok());
        assert!(SmtpSender::new(&settings("localhost")).is_ok());
        assert!(SmtpSender::new(&settings("::1")).is_ok());
        let err = SmtpSender::new(&settings("smtp.example.net"))
            .err()
            .expect("refused");
        assert!(
            err.permanent && err.message.contains("smtp.example.net"),
            "{err:?}"
        );
        assert!(!is_loopback("127.example.net"));
    }

    /// A connection refused (nothing listening) is transient, so the outbox retries.
    #[test]
    fn refused_connection_is_transient() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let settings = SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: TlsMode::None,
            username: String::new(),
            password: String::new(),
            ca_file: None,
        };
        let err = SmtpSender::new(&settings)
            .expect("sender")
            .send("a@shop.test", &["b@example.test".into()], b"x")
            .expect_err("refused");
        assert!(!err.permanent, "{err:?}");
    }

    /// The password never shows in debug output.
    #[test]
    fn settings_debug_hides_the_password() {
        let s = SmtpSettings {
            host: "h".into(),
            port: 1,
            tls: TlsMode::Tls,
            username: "u".into(),
            password: "hunter2-secret".into(),
            ca_file: None,
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
