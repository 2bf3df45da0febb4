//! Verified TLS for the mail connections: the system's trusted roots plus, for servers
//! with a private CA, the account's CA file. There is no switch to skip verification.

use crate::MailboxError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;

pub(crate) type TlsStream = StreamOwned<ClientConnection, TcpStream>;

pub(crate) fn config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, MailboxError> {
    let mut roots = RootCertStore::empty();
    // Unreadable system certificates only shrink the trusted set; a CA file must work.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let ca_err = |message: String| MailboxError::CaFile { path: path.display().to_string(), message };
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| ca_err(e.to_string()))?;
        let mut added = 0;
        for cert in certs {
            roots.add(cert.map_err(|e| ca_err(e.to_string()))?).map_err(|e| ca_err(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(ca_err("no PEM certificate in it".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MailboxError::Tls { host: String::new(), message: e.to_string() })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Wraps `tcp` in TLS to `host` and finishes the handshake now, so an untrusted
/// certificate is reported as such rather than as a failed first command.
pub(crate) fn wrap(config: Arc<ClientConfig>, host: &str, mut tcp: TcpStream) -> Result<TlsStream, MailboxError> {
    let tls_err = |message: String| MailboxError::Tls { host: host.to_owned(), message };
    let name = ServerName::try_from(host.to_owned()).map_err(|e| tls_err(e.to_string()))?;
    let mut conn = ClientConnection::new(config, name).map_err(|e| tls_err(e.to_string()))?;
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| tls_err(e.to_string()))?;
    }
    Ok(StreamOwned::new(conn, tcp))
}
