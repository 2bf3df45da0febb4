//! `shopdesk sync` against the real Dovecot + Postfix of the test harness (see
//! tests/src/mail.rs): initial sync, IDLE push, other clients changing the mailbox, a
//! server killed mid-sync, a recreated folder, verified TLS. Needs the session keyring
//! that `./x test` starts (account passwords live there).

use shopdesk_systests::mail::{HOST, MailServers, MailUser};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

type Session = imap::Session<TcpStream>;

fn shopdesk(db: &Path, args: &[&str], stdin: &str) -> Output {
    shopdesk_systests::cli::run_with_stdin(env!("CARGO_BIN_EXE_shopdesk"), db, args, stdin)
}

fn ok(out: Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "shopdesk failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// A shop database with the harness's shop mailbox as an account.
struct Shop {
    _dir: tempfile::TempDir,
    db: PathBuf,
    account: String,
}

impl Shop {
    fn new(servers: &MailServers, folders: &[&str]) -> Shop {
        Shop::with_tls(servers, "none", servers.imap_port(), None, folders)
    }

    fn with_tls(servers: &MailServers, tls: &str, port: u16, ca: Option<&Path>, folders: &[&str]) -> Shop {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("shop.db");
        // The session keyring outlives the test: a name no other run uses.
        let account = format!("sync-{}-{}", std::process::id(), dir.path().file_name().and_then(|n| n.to_str()).unwrap_or("x"));
        let shop = servers.shop();
        let port = port.to_string();
        let smtp = servers.smtp_port().to_string();
        let folders = folders.join(",");
        let mut args = vec![
            "account", "add", &account, "--email", &shop.address, "--imap-host", HOST, "--imap-port", &port, "--imap-tls", tls,
            "--smtp-host", HOST, "--smtp-port", &smtp, "--smtp-tls", "none", "--user", &shop.login, "--password-stdin",
        ];
        if !folders.is_empty() {
            args.extend(["--folders", &folders]);
        }
        let ca = ca.map(|p| p.display().to_string());
        if let Some(ca) = ca.as_deref() {
            args.extend(["--ca-file", ca]);
        }
        ok(shopdesk(&db, &args, &format!("{}\n", shop.password)));
        Shop { _dir: dir, db, account }
    }

    fn sync_once(&self) -> serde_json::Value {
        let out = ok(shopdesk(&self.db, &["sync", "--once", "--json", "--account", &self.account], ""));
        let synced = out
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|e| e["event"] == "synced")
            .unwrap_or_else(|| panic!("no synced event in {out}"));
        synced["report"].clone()
    }

    fn count(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(&self.db).expect("open db");
        conn.query_row(sql, [], |r| r.get(0)).expect(sql)
    }

    /// Messages, conversations, and the invariant that no message is stored twice.
    fn messages(&self) -> i64 {
        let distinct = self.count("SELECT count(DISTINCT source_key) FROM messages");
        assert_eq!(distinct, self.count("SELECT count(*) FROM messages"));
        distinct
    }

    /// The subjects of each conversation's messages, oldest first.
    fn conversations(&self) -> Vec<Vec<String>> {
        let conn = rusqlite::Connection::open(&self.db).expect("open db");
        let mut stmt = conn
            .prepare("SELECT conversation_id, coalesce(subject, '') FROM messages ORDER BY conversation_id, sent_at, id")
            .expect("prepare");
        let mut out: Vec<(i64, Vec<String>)> = Vec::new();
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))).expect("query") {
            let (conv, subject) = row.expect("row");
            match out.last_mut() {
                Some((c, subjects)) if *c == conv => subjects.push(subject),
                _ => out.push((conv, vec![subject])),
            }
        }
        out.into_iter().map(|(_, s)| s).collect()
    }

    /// `sync` running in the background, its JSON events arriving on a channel.
    fn start_daemon(&self, poll_every: u64) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shopdesk"))
            .arg("--db")
            .arg(&self.db)
            .args(["sync", "--json", "--account", &self.account, "--poll-every", &poll_every.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sync");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        Daemon { child, events: rx }
    }
}

struct Daemon {
    child: Child,
    events: mpsc::Receiver<serde_json::Value>,
}

impl Daemon {
    /// The first event satisfying `pred` within `timeout`.
    fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(e) if pred(&e) => return e,
                Ok(_) => {}
                Err(_) => panic!("no {what} event from sync within {timeout:?}"),
            }
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn login(servers: &MailServers, user: &MailUser) -> Session {
    let tcp = TcpStream::connect((HOST, servers.imap_port())).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut client = imap::Client::new(tcp);
    client.read_greeting().expect("greeting");
    client.login(&user.login, &user.password).map_err(|(e, _)| e).expect("login")
}

/// A plain-text message; `refs` are the Message-IDs it replies to, oldest first.
fn mail(from: &str, to: &str, subject: &str, id: &str, refs: &[&str], body: &str) -> String {
    let mut headers = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Mon, 16 Nov 2026 10:{:02}:00 +0000\r\n",
        refs.len()
    );
    if let Some(parent) = refs.last() {
        let all: Vec<String> = refs.iter().map(|r| format!("<{r}>")).collect();
        headers.push_str(&format!("In-Reply-To: <{parent}>\r\nReferences: {}\r\n", all.join(" ")));
    }
    format!("{headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n")
}

fn wait_for_inbox(session: &mut Session, count: u32) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while session.examine("INBOX").expect("examine").exists < count {
        assert!(Instant::now() < deadline, "INBOX never reached {count} messages");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A five-message exchange (customer mail delivered by Postfix, the shop's replies sent
/// from "another client" and so only in Sent) is one conversation of five messages, the
/// customer's read mail included; the shop's replies are outgoing; a second pass adds
/// nothing.
#[test]
fn initial_sync_threads_a_five_message_chain_once() {
    let servers = MailServers::start().expect("mail servers");
    let shop = Shop::new(&servers, &[]);
    let (c, s) = (servers.customer().address.clone(), servers.shop().address.clone());
    let ids = ["c1@example.test", "s2@shop.test", "c3@example.test", "s4@shop.test", "c5@example.test"];
    let mut session = login(&servers, servers.shop());
    for (i, id) in ids.iter().enumerate() {
        let subject = if i == 0 { "Order 1042: wrong size" } else { "Re: Order 1042: wrong size" };
        let raw = mail(if i % 2 == 0 { &c } else { &s }, if i % 2 == 0 { &s } else { &c }, subject, id, &ids[..i], &format!("part {i}"));
        if i % 2 == 0 {
            servers.send_raw(&c, &[&s], &raw).expect("send");
        } else {
            session.append("Sent", raw.as_bytes()).flag(imap::types::Flag::Seen).finish().expect("append to Sent");
        }
    }
    wait_for_inbox(&mut session, 3);
    // The owner already read the first one on the phone: read mail is fetched too.
    session.select("INBOX").expect("select");
    session.store("1", "+FLAGS (\\Seen)").expect("mark read");

    let report = shop.sync_once();
    assert_eq!(report["imported"], 5, "{report}");
    assert_eq!(shop.messages(), 5);
    assert_eq!(shop.conversations().len(), 1, "{:?}", shop.conversations());
    assert_eq!(shop.count("SELECT count(*) FROM messages WHERE direction = 'out'"), 2);
    let customer = shop.count(
        "SELECT count(DISTINCT c.customer_id) FROM conversations c JOIN identities i ON i.customer_id = c.customer_id
         WHERE i.value = 'customer@example.test'",
    );
    assert_eq!(customer, 1, "the conversation belongs to customer@example.test");
    assert_eq!(shop.count("SELECT count(*) FROM message_sources WHERE flags LIKE '%\\Seen%' AND folder = 'INBOX'"), 1);

    let again = shop.sync_once();
    assert_eq!((again["imported"].as_i64(), again["duplicates"].as_i64()), (Some(0), Some(0)), "{again}");
    assert_eq!(shop.messages(), 5);
}

/// While `sync` idles, mail delivered by Postfix shows up as a new message of the right
/// conversation (a reply joins its thread) within 5 s of delivery.
#[test]
fn idle_brings_new_mail_within_five_seconds() {
    let servers = MailServers::start().expect("mail servers");
    let shop = Shop::new(&servers, &[]);
    let (c, s) = (servers.customer().address.clone(), servers.shop().address.clone());
    servers.send_raw(&c, &[&s], &mail(&c, &s, "Where is my parcel?", "p1@example.test", &[], "hello")).expect("send");
    wait_for_inbox(&mut login(&servers, servers.shop()), 1);

    let daemon = shop.start_daemon(300);
    daemon.wait_for("first synced", Duration::from_secs(30), |e| e["event"] == "synced" && e["report"]["imported"] == 1);
    daemon.wait_for("waiting", Duration::from_secs(10), |e| e["event"] == "waiting");

    let reply = mail(&c, &s, "Re: Where is my parcel?", "p2@example.test", &["p1@example.test"], "still waiting");
    servers.send_raw(&c, &[&s], &reply).expect("send reply");
    // Postfix hands the message to Dovecot over LMTP: delivery is done once INBOX has it.
    let mut watcher = login(&servers, servers.shop());
    wait_for_inbox(&mut watcher, 2);
    let delivered = Instant::now();
    daemon.wait_for("synced with the reply", Duration::from_secs(10), |e| e["event"] == "synced" && e["report"]["imported"] == 1);
    let took = delivered.elapsed();
    assert!(took <= Duration::from_secs(5), "the reply took {took:?} after delivery");
    assert_eq!(shop.conversations(), vec![vec!["Where is my parcel?".to_owned(), "Re: Where is my parcel?".to_owned()]]);
}

/// Another client marking mail read and moving mail to a folder we do not sync changes
/// nothing wrong: no message is lost or duplicated, the read flag is picked up, and the
/// moved message keeps its place in the history while its INBOX location is forgotten.
/// Moving a message into a synced folder keeps it one message with a new location.
#[test]
fn other_clients_reading_and_moving_mail() {
    let servers = MailServers::start().expect("mail servers");
    let shop = Shop::new(&servers, &["Archive"]);
    let (c, s) = (servers.customer().address.clone(), servers.shop().address.clone());
    for i in 1..=3 {
        let raw = mail(&c, &s, &format!("Question {i}"), &format!("q{i}@example.test"), &[], "?");
        servers.send_raw(&c, &[&s], &raw).expect("send");
    }
    let mut phone = login(&servers, servers.shop());
    wait_for_inbox(&mut phone, 3);
    assert_eq!(shop.sync_once()["imported"], 3);

    phone.select("INBOX").expect("select");
    phone.uid_store("1", "+FLAGS (\\Seen)").expect("read");
    phone.uid_mv("2", "Archive").expect("move to Archive");
    phone.uid_mv("3", "Trash").expect("move to Trash");

    let report = shop.sync_once();
    assert_eq!(report["imported"], 0, "{report}");
    assert_eq!(shop.messages(), 3, "moving mail never deletes or duplicates history");
    let inbox = &report["folders"].as_array().expect("folders")[0];
    assert_eq!((inbox["name"].as_str(), inbox["gone"].as_i64(), inbox["flags_changed"].as_i64()), (Some("INBOX"), Some(2), Some(1)), "{report}");
    assert_eq!(shop.count("SELECT count(*) FROM message_sources WHERE folder = 'INBOX'"), 1);
    assert_eq!(shop.count("SELECT count(*) FROM message_sources WHERE folder = 'INBOX' AND flags LIKE '%\\Seen%'"), 1);
    assert_eq!(shop.count("SELECT count(*) FROM message_sources WHERE folder = 'Archive'"), 1);
}

/// Killing Dovecot in the middle of the first sync and starting it again: the running
/// sync reconnects by itself, and afterwards the database holds exactly the server's
/// messages, each once. A `--once` run against a stopped server fails with a clear error.
#[test]
fn server_killed_mid_sync_then_exactly_the_servers_messages() {
    let servers = MailServers::start().expect("mail servers");
    let shop = Shop::new(&servers, &[]);
    let (c, s) = (servers.customer().address.clone(), servers.shop().address.clone());
    // Enough mail (about 10 MB) that the first pass is still fetching when Dovecot dies.
    const N: u32 = 1000;
    let mut session = login(&servers, servers.shop());
    for i in 0..N {
        let body = format!("message {i}\r\n{}", "Lorem ipsum dolor sit amet. ".repeat(360));
        let raw = mail(&c, &s, &format!("Bulk {i}"), &format!("bulk{i}@example.test"), &[], &body);
        session.append("INBOX", raw.as_bytes()).finish().expect("append");
    }
    session.logout().expect("logout");

    let daemon = shop.start_daemon(300);
    daemon.wait_for("progress", Duration::from_secs(30), |e| e["event"] == "progress" && e["done"].as_u64().is_some_and(|d| d > 0));
    servers.stop_imap().expect("stop dovecot");
    let retrying = daemon.wait_for("retrying", Duration::from_secs(30), |e| e["event"] == "retrying" || e["event"] == "synced");
    assert_eq!(retrying["event"], "retrying", "the first pass finished before Dovecot was stopped: the test proves nothing");
    assert!(shop.messages() < i64::from(N), "nothing was left to fetch after the restart");
    let failed = shopdesk(&shop.db, &["sync", "--once", "--account", &shop.account], "");
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("cannot connect to 127.0.0.1"), "{stderr}");
    servers.start_imap().expect("start dovecot");
    daemon.wait_for("synced after the restart", Duration::from_secs(90), |e| e["event"] == "synced");
    drop(daemon);

    let report = shop.sync_once();
    assert_eq!(report["imported"], 0, "{report}");
    assert_eq!(shop.messages(), i64::from(N));
    assert_eq!(shop.count("SELECT count(*) FROM message_sources WHERE folder = 'INBOX'"), i64::from(N));
}

/// A folder deleted and recreated with the same mail (new UIDVALIDITY) is read again
/// from scratch and gives no duplicate, a message without Message-ID included: the same
/// messages, now at their new UIDs.
#[test]
fn uidvalidity_change_resyncs_without_duplicates() {
    let servers = MailServers::start().expect("mail servers");
    let shop = Shop::new(&servers, &["Orders"]);
    let (c, s) = (servers.customer().address.clone(), servers.shop().address.clone());
    let mut session = login(&servers, servers.shop());
    session.create("Orders").expect("create");
    let mut raws: Vec<String> =
        (1..=4).map(|i| mail(&c, &s, &format!("Order #{i}"), &format!("o{i}@example.test"), &[], "order")).collect();
    // Mail without a Message-ID is recognised by its content alone.
    raws[3] = raws[3].replace("Message-ID: <o4@example.test>\r\n", "");
    for raw in &raws {
        session.append("Orders", raw.as_bytes()).finish().expect("append");
    }
    assert_eq!(shop.sync_once()["imported"], 4);
    let old: i64 = shop.count("SELECT max(uidvalidity) FROM message_sources WHERE folder = 'Orders'");

    session.delete("Orders").expect("delete");
    // UIDVALIDITY is a timestamp in Dovecot; make sure the new one differs.
    std::thread::sleep(Duration::from_millis(1100));
    session.create("Orders").expect("recreate");
    for raw in &raws {
        session.append("Orders", raw.as_bytes()).finish().expect("append again");
    }
    let report = shop.sync_once();
    let orders = report["folders"].as_array().expect("folders").iter().find(|f| f["name"] == "Orders").cloned().expect("Orders");
    assert_eq!((orders["full_resync"].as_bool(), orders["imported"].as_i64(), orders["duplicates"].as_i64()), (Some(true), Some(0), Some(4)), "{report}");
    assert_eq!(shop.messages(), 4);
    assert_eq!(shop.count("SELECT count(*) FROM message_sources WHERE folder = 'Orders'"), 4);
    assert_eq!(shop.count(&format!("SELECT count(*) FROM message_sources WHERE folder = 'Orders' AND uidvalidity = {old}")), 0);
}

/// TLS is verified: with the server's CA file both implicit TLS and STARTTLS work;
/// without it the certificate is refused with an error that says so.
#[test]
fn tls_is_verified_against_the_ca_file() {
    let servers = MailServers::start_with_tls().expect("mail servers");
    let ca = servers.ca_file().expect("ca file").to_owned();
    let (c, s) = (servers.customer().address.clone(), servers.shop().address.clone());
    servers.send_raw(&c, &[&s], &mail(&c, &s, "Over TLS", "tls1@example.test", &[], "secret stuff")).expect("send");
    wait_for_inbox(&mut login(&servers, servers.shop()), 1);
    let imaps = servers.imaps_port().expect("imaps port");

    let tls = Shop::with_tls(&servers, "tls", imaps, Some(&ca), &[]);
    assert_eq!(tls.sync_once()["imported"], 1);
    let starttls = Shop::with_tls(&servers, "starttls", servers.imap_port(), Some(&ca), &[]);
    assert_eq!(starttls.sync_once()["imported"], 1);

    let untrusted = Shop::with_tls(&servers, "tls", imaps, None, &[]);
    let out = shopdesk(&untrusted.db, &["sync", "--once", "--account", &untrusted.account], "");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TLS with 127.0.0.1 failed") && stderr.contains("certificate"), "{stderr}");
    assert_eq!(untrusted.count("SELECT count(*) FROM messages"), 0);
}
