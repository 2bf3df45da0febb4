//! [`RemoteMailbox`] over IMAP4rev1 with the `imap` crate (blocking). We open the TCP and
//! TLS stream ourselves (implicit TLS or STARTTLS, verified against the system roots and
//! the account's CA file) and hand it to `imap::Client::new`.

use crate::tls::{self, TlsStream};
use crate::{FlagChange, Folder, FolderRole, FolderStatus, MailboxError, RemoteMailbox, RemoteMessage, Result, TlsMode, Wake};
use imap::extensions::idle::{SetReadTimeout, stop_on_any};
use imap_proto::NameAttribute;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// How long one command may go without a byte from the server before the connection
/// counts as dead (a laptop that slept leaves a socket that never answers).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Where and how to log in. `Debug` leaves the password out.
#[derive(Clone)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: String,
    pub password: String,
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for ImapSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

/// The byte stream under the IMAP session: plain TCP (loopback tests, `--imap-tls none`)
/// or TLS over TCP.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream>),
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Plain(s) => s.flush(),
            Stream::Tls(s) => s.flush(),
        }
    }
}

impl SetReadTimeout for Stream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> imap::Result<()> {
        self.tcp().set_read_timeout(timeout).map_err(imap::Error::Io)
    }
}

/// A logged-in IMAP session.
pub struct ImapMailbox {
    session: imap::Session<Stream>,
    /// A second handle on the socket, to restore the read timeout after IDLE.
    socket: TcpStream,
    condstore: bool,
    idle: bool,
    host: String,
}

impl ImapMailbox {
    /// Connects, secures the connection as `settings.tls` says, and logs in.
    pub fn connect(settings: &ImapSettings) -> Result<ImapMailbox> {
        let host = settings.host.as_str();
        let tcp = connect_tcp(host, settings.port)?;
        let socket = tcp.try_clone().map_err(|e| MailboxError::ConnectionLost(e.to_string()))?;
        let stream = match settings.tls {
            TlsMode::None => Stream::Plain(tcp),
            TlsMode::Tls => Stream::Tls(Box::new(tls::wrap(tls::config(settings.ca_file.as_deref())?, host, tcp)?)),
            TlsMode::Starttls => {
                let tcp = starttls(host, tcp)?;
                Stream::Tls(Box::new(tls::wrap(tls::config(settings.ca_file.as_deref())?, host, tcp)?))
            }
        };
        let mut client = imap::Client::new(stream);
        if settings.tls == TlsMode::Starttls {
            // The greeting was read before STARTTLS; none comes after it.
            client.greeting_read = true;
        } else {
            client.read_greeting().map_err(|e| MailboxError::from_imap("greeting", e))?;
        }
        let mut session = client.login(&settings.username, &settings.password).map_err(|(e, _)| match e {
            imap::Error::No(no) => MailboxError::Auth { host: host.into(), user: settings.username.clone(), message: no.information },
            other => MailboxError::from_imap("LOGIN", other),
        })?;
        let caps = session.capabilities().map_err(|e| MailboxError::from_imap("CAPABILITY", e))?;
        let condstore = caps.has_str("CONDSTORE") || caps.has_str("QRESYNC");
        let idle = caps.has_str("IDLE");
        if condstore && caps.has_str("ENABLE") {
            // Makes SELECT report HIGHESTMODSEQ, which flag_changes then starts from.
            session.run_command_and_check_ok("ENABLE CONDSTORE").map_err(|e| MailboxError::from_imap("ENABLE", e))?;
        }
        Ok(ImapMailbox { session, socket, condstore, idle, host: host.into() })
    }

    /// Whether the server reports modification sequences (RFC 7162 CONDSTORE).
    pub fn has_condstore(&self) -> bool {
        self.condstore
    }

    /// Says goodbye; errors are irrelevant at that point.
    pub fn logout(mut self) {
        let _ = self.session.logout();
    }

    fn lost(&self, what: &str, e: imap::Error) -> MailboxError {
        MailboxError::from_imap(&format!("{what} on {}", self.host), e)
    }
}

fn connect_tcp(host: &str, port: u16) -> Result<TcpStream> {
    let err = |message: String| MailboxError::Connect { host: host.into(), port, message };
    let addrs = (host, port).to_socket_addrs().map_err(|e| err(e.to_string()))?;
    let mut last = String::from("no address found");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(tcp) => {
                tcp.set_read_timeout(Some(COMMAND_TIMEOUT)).map_err(|e| err(e.to_string()))?;
                tcp.set_write_timeout(Some(COMMAND_TIMEOUT)).map_err(|e| err(e.to_string()))?;
                let _ = tcp.set_nodelay(true);
                return Ok(tcp);
            }
            Err(e) => last = e.to_string(),
        }
    }
    Err(err(last))
}

/// RFC 3501 STARTTLS on a fresh connection: greeting, `STARTTLS`, tagged OK. Read line by
/// line straight from the socket so no byte of the TLS handshake is swallowed by a buffer.
fn starttls(host: &str, tcp: TcpStream) -> Result<TcpStream> {
    let lost = |e: std::io::Error| MailboxError::ConnectionLost(e.to_string());
    let mut reader = BufReader::with_capacity(1, tcp);
    let mut line = String::new();
    reader.read_line(&mut line).map_err(lost)?;
    reader.get_mut().write_all(b"s0 STARTTLS\r\n").map_err(lost)?;
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(lost)? == 0 {
            return Err(MailboxError::ConnectionLost("closed during STARTTLS".into()));
        }
        if let Some(status) = line.strip_prefix("s0 ") {
            if status.to_ascii_uppercase().starts_with("OK") {
                return Ok(reader.into_inner());
            }
            return Err(MailboxError::NoStartTls { host: host.into() });
        }
    }
}

impl RemoteMailbox for ImapMailbox {
    fn folders(&mut self) -> Result<Vec<Folder>> {
        let names = self.session.list(Some(""), Some("*")).map_err(|e| self.lost("LIST", e))?;
        let mut folders: Vec<Folder> = names
            .iter()
            .filter(|n| !n.attributes().iter().any(|a| matches!(a, NameAttribute::NoSelect)))
            .map(|n| {
                let role = if n.name().eq_ignore_ascii_case("INBOX") {
                    FolderRole::Inbox
                } else if n.attributes().iter().any(|a| matches!(a, NameAttribute::Sent)) {
                    FolderRole::Sent
                } else {
                    FolderRole::Other
                };
                Folder { name: n.name().to_owned(), role }
            })
            .collect();
        // Servers without SPECIAL-USE: the usual names of the Sent folder.
        if !folders.iter().any(|f| f.role == FolderRole::Sent) {
            const SENT_NAMES: [&str; 5] = ["Sent", "Sent Items", "Sent Messages", "INBOX.Sent", "INBOX/Sent"];
            if let Some(f) = folders.iter_mut().find(|f| SENT_NAMES.iter().any(|s| f.name.eq_ignore_ascii_case(s))) {
                f.role = FolderRole::Sent;
            }
        }
        Ok(folders)
    }

    fn select(&mut self, folder: &str) -> Result<FolderStatus> {
        let mailbox = self.session.examine(folder).map_err(|e| self.lost("EXAMINE", e))?;
        let uidvalidity = mailbox.uid_validity.ok_or_else(|| MailboxError::Server {
            command: "EXAMINE".into(),
            message: format!("{folder}: no UIDVALIDITY"),
        })?;
        Ok(FolderStatus { uidvalidity, exists: mailbox.exists, highest_modseq: mailbox.highest_mod_seq.filter(|_| self.condstore) })
    }

    fn uids_from(&mut self, first: u32) -> Result<Vec<u32>> {
        let first = first.max(1);
        let found = self.session.uid_search(format!("UID {first}:*")).map_err(|e| self.lost("UID SEARCH", e))?;
        // "n:*" always includes the highest UID, even when it is below n.
        let mut uids: Vec<u32> = found.into_iter().filter(|u| *u >= first).collect();
        uids.sort_unstable();
        Ok(uids)
    }

    fn fetch(&mut self, uids: &[u32]) -> Result<Vec<RemoteMessage>> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let fetches = self.session.uid_fetch(uid_set(uids), "(UID FLAGS BODY.PEEK[])").map_err(|e| self.lost("UID FETCH", e))?;
        let mut out: Vec<RemoteMessage> = fetches
            .iter()
            .filter_map(|f| {
                let uid = f.uid?;
                let raw = f.body()?.to_vec();
                Some(RemoteMessage { uid, flags: f.flags().iter().map(|fl| fl.to_string()).collect(), raw })
            })
            .collect();
        out.sort_by_key(|m| m.uid);
        Ok(out)
    }

    fn flag_changes(&mut self, since: Option<u64>) -> Result<Vec<FlagChange>> {
        let query = match since.filter(|_| self.condstore) {
            Some(modseq) => format!("(UID FLAGS) (CHANGEDSINCE {modseq})"),
            None => "(UID FLAGS)".to_owned(),
        };
        let fetches = self.session.uid_fetch("1:*", query).map_err(|e| self.lost("UID FETCH FLAGS", e))?;
        Ok(fetches
            .iter()
            .filter_map(|f| Some(FlagChange { uid: f.uid?, flags: f.flags().iter().map(|fl| fl.to_string()).collect() }))
            .collect())
    }

    fn wait_for_change(&mut self, timeout: Duration) -> Result<Wake> {
        if !self.idle {
            std::thread::sleep(timeout);
            return Ok(Wake::TimedOut);
        }
        let outcome = self.session.idle().timeout(timeout).keepalive(false).wait_while(stop_on_any);
        // wait_while leaves the socket without a read timeout; commands need one.
        self.socket.set_read_timeout(Some(COMMAND_TIMEOUT)).map_err(|e| MailboxError::ConnectionLost(e.to_string()))?;
        match outcome.map_err(|e| self.lost("IDLE", e))? {
            imap::extensions::idle::WaitOutcome::MailboxChanged => Ok(Wake::Changed),
            imap::extensions::idle::WaitOutcome::TimedOut => Ok(Wake::TimedOut),
        }
    }

    fn append(&mut self, folder: &str, flags: &[&str], raw: &[u8]) -> Result<()> {
        self.append_impl(folder, flags, raw)
    }

    fn find_message_id(&mut self, folder: &str, message_id: &str) -> Result<Option<u32>> {
        self.find_message_id_impl(folder, message_id)
    }
}

impl ImapMailbox {
    fn append_impl(&mut self, folder: &str, flags: &[&str], raw: &[u8]) -> Result<()> {
        let mut cmd = self.session.append(folder, raw);
        cmd.flags(flags.iter().map(|f| imap::types::Flag::from(*f)));
        cmd.finish().map(|_| ()).map_err(|e| MailboxError::from_imap(&format!("APPEND to {folder}"), e))
    }

    fn find_message_id_impl(&mut self, folder: &str, message_id: &str) -> Result<Option<u32>> {
        // A quoted string may not hold quotes, backslashes or line breaks; a Message-ID
        // with them is not one of ours and cannot be searched for safely.
        if message_id.is_empty() || message_id.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
            return Ok(None);
        }
        self.select(folder)?;
        let found = self
            .session
            .uid_search(format!("HEADER Message-ID \"<{message_id}>\""))
            .map_err(|e| self.lost("UID SEARCH HEADER", e))?;
        Ok(found.into_iter().min())
    }
}

/// `1:3,7,9:10` for [1, 2, 3, 7, 9, 10] (sorted input).
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end + 1 {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Consecutive UIDs collapse into ranges; order and gaps are kept.
    #[test]
    fn uid_sets_use_ranges() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[]), "");
    }

    /// The password never shows in debug output (logs, panics).
    #[test]
    fn settings_debug_hides_the_password() {
        let s = ImapSettings {
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
