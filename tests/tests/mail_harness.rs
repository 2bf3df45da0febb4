//! Proof that the mail server harness works end to end.
//!
//! Invariant: a message sent through Postfix SMTP to customer@ is delivered via LMTP into
//! Dovecot and can be read back over IMAP with the same subject and body — also after the
//! IMAP or SMTP server was stopped and started again.
//!
//! Each test starts its own server pair, so they run in parallel.

use std::io::Write;
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use shopdesk_systests::mail::{HOST, MailServers, MailUser};

type Session = imap::Session<TcpStream>;

/// Upper bound for SMTP -> LMTP -> IMAP delivery; it normally takes well under a second.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn smtp_message_is_delivered_to_imap_with_same_subject_and_body() -> Result<()> {
    let started = Instant::now();
    let servers = MailServers::start()?;
    eprintln!("MailServers::start took {:?}", started.elapsed());

    let subject = unique("Order 1042 has shipped");
    let body = "Hello,\r\nyour order left the shop today.\r\n.leading dot survives\r\n-- Shop";
    send(&servers, servers.customer(), &subject, body)?;

    let mut session = login(&servers, servers.customer())?;
    let (got_subject, got_body) = wait_for_message(&servers, &mut session, &subject)?;
    assert_eq!(got_subject, subject, "{}", servers.log_tail());
    assert_eq!(got_body.trim_end(), body, "{}", servers.log_tail());
    session.logout()?;
    Ok(())
}

#[test]
fn mail_and_folders_survive_an_imap_restart() -> Result<()> {
    let servers = MailServers::start()?;
    let subject = unique("Return request");
    send(&servers, servers.customer(), &subject, "Please take it back.")?;
    let mut session = login(&servers, servers.customer())?;
    wait_for_message(&servers, &mut session, &subject)?;
    // A dot inside a name only works with the listescape plugin and "/" separator.
    session.create("Orders/2024.Q1")?;
    session.logout()?;

    servers.stop_imap()?;
    assert!(
        TcpStream::connect((HOST, servers.imap_port())).is_err(),
        "IMAP still accepts connections after stop_imap"
    );
    servers.start_imap()?;

    let mut session = login(&servers, servers.customer())?;
    let (got_subject, got_body) = wait_for_message(&servers, &mut session, &subject)?;
    assert_eq!(got_subject, subject);
    assert_eq!(got_body.trim_end(), "Please take it back.");
    let folders = session.list(None, Some("*"))?;
    let names: Vec<&str> = folders.iter().map(|f| f.name()).collect();
    for wanted in ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive", "Orders/2024.Q1"] {
        assert!(names.contains(&wanted), "{wanted} missing from {names:?}");
    }
    session.logout()?;
    Ok(())
}

#[test]
fn smtp_accepts_mail_again_after_a_restart() -> Result<()> {
    let servers = MailServers::start()?;
    servers.stop_smtp()?;
    assert!(
        TcpStream::connect((HOST, servers.smtp_port())).is_err(),
        "SMTP still accepts connections after stop_smtp"
    );
    servers.start_smtp()?;

    // The other direction this time: customer writes to the shop.
    let subject = unique("Question about sizes");
    send(&servers, servers.shop(), &subject, "Do you have it in XL?")?;
    let mut session = login(&servers, servers.shop())?;
    let (got_subject, _) = wait_for_message(&servers, &mut session, &subject)?;
    assert_eq!(got_subject, subject);
    session.logout()?;
    Ok(())
}

#[test]
fn added_users_can_log_in_and_receive_mail() -> Result<()> {
    let servers = MailServers::start()?;
    let orders = servers.add_user("orders@shop.test", "orders-secret")?;
    let subject = unique("Wholesale enquiry");
    send(&servers, &orders, &subject, "Do you sell in bulk?")?;
    let mut session = login(&servers, &orders)?;
    let (_, got_body) = wait_for_message(&servers, &mut session, &subject)?;
    assert_eq!(got_body.trim_end(), "Do you sell in bulk?");
    session.logout()?;
    assert!(servers.add_user("someone@elsewhere.test", "x").is_err(), "only the test domains are local");
    Ok(())
}

#[test]
fn tls_listeners_use_the_certificate_from_ca_file() -> Result<()> {
    let servers = MailServers::start_with_tls()?;
    let ca_file = servers.ca_file().context("no CA file with TLS")?;
    let imaps = servers.imaps_port().context("no IMAPS port with TLS")?;
    let smtps = servers.smtps_port().context("no SMTPS port with TLS")?;
    for (port, greeting, bye) in [(imaps, "* OK", "a LOGOUT\r\n"), (smtps, "220 ", "QUIT\r\n")] {
        // openssl's client verifies the chain against the CA file and prints the greeting;
        // it ignores EOF on stdin, so the server must end the session.
        let mut client = Command::new("openssl")
            .args(["s_client", "-connect", &format!("{HOST}:{port}"), "-verify_return_error", "-quiet"])
            .arg("-CAfile")
            .arg(ca_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        client.stdin.take().context("no stdin")?.write_all(bye.as_bytes())?;
        let output = client.wait_with_output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            stdout.starts_with(greeting),
            "TLS on port {port}: {stdout}{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            servers.log_tail()
        );
    }
    // The plain ports keep working next to the TLS ones.
    let subject = unique("Over plain SMTP");
    send(&servers, servers.customer(), &subject, "plain")?;
    let mut session = login(&servers, servers.customer())?;
    wait_for_message(&servers, &mut session, &subject)?;
    Ok(())
}

/// A subject no other test run will use.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{prefix} [{}-{nanos}]", std::process::id())
}

fn send(servers: &MailServers, to: &MailUser, subject: &str, body: &str) -> Result<()> {
    let from = if to == servers.shop() { servers.customer() } else { servers.shop() };
    let message = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}@shop.test>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        from = from.address,
        to = to.address,
        id = unique("msg").replace([' ', '[', ']'], ""),
    );
    servers.send_raw(&from.address, &[&to.address], &message)
}

fn login(servers: &MailServers, user: &MailUser) -> Result<Session> {
    let tcp = TcpStream::connect((HOST, servers.imap_port()))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut client = imap::Client::new(tcp);
    client.read_greeting()?;
    client.login(&user.login, &user.password).map_err(|(e, _)| anyhow!("IMAP login as {}: {e}", user.login))
}

/// Poll INBOX until a message with `subject` shows up; returns its subject and body text.
fn wait_for_message(servers: &MailServers, session: &mut Session, subject: &str) -> Result<(String, String)> {
    let deadline = Instant::now() + DELIVERY_TIMEOUT;
    loop {
        // SELECT again each round so the server reports newly delivered mail.
        session.select("INBOX")?;
        let found = session.search(format!("SUBJECT \"{subject}\""))?;
        if let Some(seq) = found.into_iter().next() {
            let fetches = session.fetch(seq.to_string(), "(ENVELOPE BODY.PEEK[TEXT])")?;
            let fetch = fetches.iter().next().context("FETCH returned nothing")?;
            let envelope = fetch.envelope().context("no ENVELOPE")?;
            let got_subject = envelope.subject.as_deref().map(String::from_utf8_lossy).unwrap_or_default();
            let body = fetch.text().map(String::from_utf8_lossy).unwrap_or_default();
            return Ok((got_subject.into_owned(), body.into_owned()));
        }
        if Instant::now() > deadline {
            bail!("no message {subject:?} in INBOX after {DELIVERY_TIMEOUT:?}\n{}", servers.log_tail());
        }
        sleep(Duration::from_millis(100));
    }
}
