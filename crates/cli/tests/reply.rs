//! `shopdesk reply`, `outbox` and `deliver` against the real Dovecot + Postfix of the
//! test harness (tests/src/mail.rs), with SMTP AUTH checked by Dovecot: the reply threads
//! in the customer's mailbox, lands in Sent, is not duplicated by sync, survives Postfix
//! being down and a crash right after the server accepted it, and bad input queues
//! nothing. Needs the session keyring that `./x test` starts (passwords live there).

use shopdesk_systests::mail::{HOST, MailServers, MailUser};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

type Session = imap::Session<TcpStream>;

fn shopdesk(db: &Path, args: &[&str], stdin: &str) -> Output {
    shopdesk_systests::cli::run_with_stdin(env!("CARGO_BIN_EXE_shopdesk"), db, args, stdin)
}

fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "shopdesk failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn json(out: Output) -> serde_json::Value {
    let text = ok(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A shop database with the harness's shop mailbox as an account, one customer email
/// synced in, and its conversation id.
struct Shop {
    dir: tempfile::TempDir,
    db: PathBuf,
    account: String,
    conversation: i64,
}

const CUSTOMER_ID: &str = "c1-1042@example.test";

impl Shop {
    /// `tls`: submit over implicit TLS (the harness's private CA) instead of plain
    /// loopback SMTP; AUTH either way.
    fn new(servers: &MailServers, tls: bool) -> Shop {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("shop.db");
        // The session keyring outlives the test: a name no other run uses.
        let account = format!(
            "reply-{}-{}",
            std::process::id(),
            dir.path()
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("x")
        );
        let shop = servers.shop();
        let imap = servers.imap_port().to_string();
        let (smtp_port, smtp_tls) = match tls {
            true => (servers.smtps_port().expect("smtps port"), "tls"),
            false => (servers.smtp_port(), "none"),
        };
        let smtp = smtp_port.to_string();
        let mut args = vec![
            "account",
            "add",
            &account,
            "--email",
            &shop.address,
            "--display-name",
            "Sunflower Shop",
            "--imap-host",
            HOST,
            "--imap-port",
            &imap,
            "--imap-tls",
            "none",
            "--smtp-host",
            HOST,
            "--smtp-port",
            &smtp,
            "--smtp-tls",
            smtp_tls,
            "--user",
            &shop.login,
            "--password-stdin",
        ];
        let ca = servers.ca_file().map(|p| p.display().to_string());
        if let Some(ca) = ca.as_deref() {
            args.extend(["--ca-file", ca]);
        }
        ok(shopdesk(&db, &args, &format!("{}\n", shop.password)));

        let customer = servers.customer().address.clone();
        let raw = format!(
            "From: Anna Kowalska <{customer}>\r\nTo: {}\r\nSubject: Zamówienie 1042\r\nMessage-ID: <{CUSTOMER_ID}>\r\n\
             References: <c0@example.test>\r\nDate: Mon, 16 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nGdzie jest moja paczka?\r\n",
            shop.address
        );
        servers
            .send_raw(&customer, &[&shop.address], &raw)
            .expect("customer mail");
        wait_for(&mut login(servers, shop), "INBOX", 1);
        let mut s = Shop {
            dir,
            db,
            account,
            conversation: 0,
        };
        s.sync();
        let conversations = json(shopdesk(&s.db, &["conversations", "--json"], ""));
        s.conversation = conversations[0]["id"].as_i64().expect("conversation id");
        s
    }

    fn sync(&self) {
        ok(shopdesk(
            &self.db,
            &["sync", "--once", "--json", "--account", &self.account],
            "",
        ));
    }

    fn body(&self, text: &str) -> String {
        let path = self.dir.path().join("body.txt");
        std::fs::write(&path, text).expect("write body");
        path.display().to_string()
    }

    fn reply(&self, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let body = self.body("Paczka wyszła dziś.\n");
        let conversation = self.conversation.to_string();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_shopdesk"));
        cmd.arg("--db")
            .arg(&self.db)
            .args(["reply", &conversation, "--body-file", &body, "--json"])
            .args(extra);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run reply")
    }

    fn outbox(&self) -> serde_json::Value {
        json(shopdesk(&self.db, &["outbox", "--json"], ""))
    }

    fn messages(&self) -> serde_json::Value {
        json(shopdesk(
            &self.db,
            &["messages", &self.conversation.to_string(), "--json"],
            "",
        ))
    }
}

fn login(servers: &MailServers, user: &MailUser) -> Session {
    let tcp = TcpStream::connect((HOST, servers.imap_port())).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut client = imap::Client::new(tcp);
    client.read_greeting().expect("greeting");
    client
        .login(&user.login, &user.password)
        .map_err(|(e, _)| e)
        .expect("login")
}

fn wait_for(session: &mut Session, folder: &str, count: u32) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while session.examine(folder).expect("examine").exists < count {
        assert!(
            Instant::now() < deadline,
            "{folder} never reached {count} messages"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Every message of `folder`, raw.
fn fetch_all(session: &mut Session, folder: &str) -> Vec<Vec<u8>> {
    let exists = session.examine(folder).expect("examine").exists;
    if exists == 0 {
        return Vec::new();
    }
    let fetches = session.fetch("1:*", "BODY.PEEK[]").expect("fetch");
    fetches
        .iter()
        .filter_map(|f| f.body().map(<[u8]>::to_vec))
        .collect()
}

/// A header's value with folded lines joined (first occurrence).
fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut value: Option<String> = None;
    for line in head.split("\r\n") {
        match &mut value {
            Some(v) if line.starts_with([' ', '\t']) => v.push_str(line),
            Some(_) => break,
            None => {
                if let Some((n, v)) = line.split_once(':')
                    && n.eq_ignore_ascii_case(name)
                {
                    value = Some(v.trim().to_owned());
                }
            }
        }
    }
    value
}

/// Waits a moment more and counts the customer's INBOX: later copies would have arrived.
fn settled_count(servers: &MailServers, user: &MailUser, folder: &str) -> usize {
    std::thread::sleep(Duration::from_millis(1500));
    fetch_all(&mut login(servers, user), folder).len()
}

/// Over implicit TLS with AUTH: the reply reaches customer@'s INBOX threaded under the
/// customer's message (In-Reply-To = its id, References = its References + its id),
/// from the account's address with `Re:` once; the same bytes are in the shop's Sent;
/// the conversation shows it as sent; syncing afterwards (Sent and the receipt copy in
/// INBOX) adds no message.
#[test]
fn reply_threads_at_the_customer_lands_in_sent_and_is_not_duplicated() {
    let servers = MailServers::start_with_tls().expect("mail servers");
    let shop = Shop::new(&servers, true);
    let started = Instant::now();
    let entry = json(shop.reply(&[], &[]));
    let elapsed = started.elapsed();
    assert_eq!(entry["state"], "sent", "{entry}");
    let id = entry["rfc_message_id"].as_str().expect("id").to_owned();
    assert!(id.ends_with("@shop.test"), "{id}");
    eprintln!("reply queued and delivered through the CLI in {elapsed:?}");

    let mut customer = login(&servers, servers.customer());
    wait_for(&mut customer, "INBOX", 1);
    let got = fetch_all(&mut customer, "INBOX");
    assert_eq!(got.len(), 1);
    let raw = &got[0];
    assert_eq!(
        header(raw, "Message-ID").as_deref(),
        Some(format!("<{id}>").as_str())
    );
    assert_eq!(
        header(raw, "In-Reply-To").as_deref(),
        Some(format!("<{CUSTOMER_ID}>").as_str())
    );
    assert_eq!(
        header(raw, "References").as_deref(),
        Some(format!("<c0@example.test> <{CUSTOMER_ID}>").as_str())
    );
    assert!(
        header(raw, "From")
            .is_some_and(|f| f.contains("shop@shop.test") && f.contains("Sunflower Shop"))
    );
    assert!(header(raw, "To").is_some_and(|t| t.contains("customer@example.test")));
    // "Re: Zamówienie 1042", RFC 2047-encoded by the builder.
    assert!(
        header(raw, "Subject").is_some_and(|s| s.starts_with("Re: ") && !s.contains("Re: Re")),
        "{:?}",
        header(raw, "Subject")
    );
    assert!(
        header(raw, "Bcc").is_none(),
        "the receipt copy is envelope-only"
    );

    let mut session = login(&servers, servers.shop());
    let sent = fetch_all(&mut session, "Sent");
    assert_eq!(sent.len(), 1, "one copy in Sent");
    assert_eq!(header(&sent[0], "Message-ID"), header(raw, "Message-ID"));

    let messages = shop.messages();
    assert_eq!(messages.as_array().map(Vec::len), Some(2), "{messages}");
    assert_eq!(messages[1]["direction"], "out");
    assert_eq!(messages[1]["delivery"], "sent");
    wait_for(&mut session, "INBOX", 2); // the customer's mail and the receipt copy
    shop.sync();
    let after = shop.messages();
    assert_eq!(
        after.as_array().map(Vec::len),
        Some(2),
        "sync duplicated the reply: {after}"
    );
    assert_eq!(
        json(shopdesk(&shop.db, &["conversations", "--json"], ""))
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

/// Postfix down: the reply is queued with the connection error; Postfix back, retry and
/// deliver: sent, and the customer has exactly one copy; delivering again sends nothing.
#[test]
fn reply_while_postfix_is_down_is_queued_then_sent_once() {
    let servers = MailServers::start().expect("mail servers");
    let shop = Shop::new(&servers, false);
    servers.stop_smtp().expect("stop postfix");
    let entry = json(shop.reply(&[], &[]));
    assert_eq!(entry["state"], "queued", "{entry}");
    assert!(
        entry["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{entry}"
    );
    assert_eq!(entry["attempts"], 1);
    let listed = shop.outbox();
    assert_eq!(listed[0]["state"], "queued");
    assert_eq!(shop.messages()[1]["delivery"], "queued", "shown at once");

    servers.start_smtp().expect("start postfix");
    let id = entry["id"].to_string();
    // The next attempt is 30 s away (backoff); retry makes it due now.
    let retried = json(shopdesk(&shop.db, &["outbox", "retry", &id, "--json"], ""));
    assert_eq!(retried[0]["state"], "queued");
    let report: serde_json::Value = serde_json::from_str(&ok(shopdesk(
        &shop.db,
        &["deliver", "--once", "--json"],
        "",
    )))
    .expect("json");
    assert_eq!(report["sent"].as_array().map(Vec::len), Some(1), "{report}");
    let report: serde_json::Value = serde_json::from_str(&ok(shopdesk(
        &shop.db,
        &["deliver", "--once", "--json"],
        "",
    )))
    .expect("json");
    assert_eq!(report["sent"].as_array().map(Vec::len), Some(0), "{report}");
    assert_eq!(shop.outbox()[0]["state"], "sent");
    wait_for(&mut login(&servers, servers.customer()), "INBOX", 1);
    assert_eq!(settled_count(&servers, servers.customer(), "INBOX"), 1);
}

/// The process dies (test hook) right after Postfix accepted the reply and before it was
/// recorded: the entry is left `sending`; the next delivery finds it by Message-ID and
/// marks it sent without sending again: the customer has exactly one copy.
#[test]
fn crash_after_smtp_accepted_never_sends_twice() {
    let servers = MailServers::start().expect("mail servers");
    let shop = Shop::new(&servers, false);
    let out = shop.reply(&[], &[("SHOPDESK_TEST_CRASH_AFTER_SMTP", "1")]);
    assert_eq!(
        out.status.code(),
        Some(137),
        "the hook did not fire: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(shop.outbox()[0]["state"], "sending");
    wait_for(&mut login(&servers, servers.customer()), "INBOX", 1);
    // The receipt copy the server files in the shop's INBOX when it accepts.
    wait_for(&mut login(&servers, servers.shop()), "INBOX", 2);

    let report: serde_json::Value = serde_json::from_str(&ok(shopdesk(
        &shop.db,
        &["deliver", "--once", "--json"],
        "",
    )))
    .expect("json");
    assert_eq!(
        report["recovered"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    assert_eq!(report["sent"].as_array().map(Vec::len), Some(0), "{report}");
    let entry = &shop.outbox()[0];
    assert_eq!(entry["state"], "sent");
    assert_eq!(entry["attempts"], 1);
    assert_eq!(settled_count(&servers, servers.customer(), "INBOX"), 1);
}

/// Bad input is a clear error and nothing is queued or sent: a vanished attachment, CR/LF
/// in the subject, an invalid sender address; `chat-reply` refuses an email conversation.
#[test]
fn bad_input_queues_and_sends_nothing() {
    let servers = MailServers::start().expect("mail servers");
    let shop = Shop::new(&servers, false);
    let gone = shop.dir.path().join("faktura.pdf");
    let gone = gone.display().to_string();
    let out = shop.reply(&["--attach", &gone], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("faktura.pdf") && err.contains("nothing was queued"),
        "{err}"
    );

    let out = shop.reply(&["--subject", "Hi\r\nBcc: victim@example.test"], &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line break"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let bad = format!("{}-bad", shop.account);
    let args = [
        "account",
        "add",
        &bad,
        "--email",
        "shop@shop..test",
        "--imap-host",
        HOST,
        "--imap-port",
        "1",
        "--imap-tls",
        "none",
        "--smtp-host",
        HOST,
        "--smtp-port",
        "1",
        "--smtp-tls",
        "none",
        "--user",
        "x",
        "--password-stdin",
    ];
    ok(shopdesk(&shop.db, &args, "pw\n"));
    let out = shop.reply(&["--account", &bad], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("shop@shop..test") && err.contains("not a valid email address"),
        "{err}"
    );

    let out = shopdesk(
        &shop.db,
        &["chat-reply", &shop.conversation.to_string(), "--text", "hi"],
        "",
    );
    assert!(!out.status.success());

    assert_eq!(shop.outbox(), serde_json::json!([]));
    assert_eq!(shop.messages().as_array().map(Vec::len), Some(1));
    assert_eq!(settled_count(&servers, servers.customer(), "INBOX"), 0);
}
