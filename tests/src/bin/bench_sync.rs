//! `bench-sync --shopdesk BIN --maildir DIR [--messages N]`: the initial-sync figure of
//! issue 3. Starts the harness's Dovecot, APPENDs N messages from DIR (a gen-maildir tree)
//! to the shop's INBOX, then times, on the same mailbox in the same run:
//!   - the floor: one bare `UID FETCH 1:* BODY.PEEK[]` over a plain IMAP session;
//!   - ours: `shopdesk sync --once` into an empty database (fetch + parse + store + FTS);
//!   - mbsync (isync) pulling the same INBOX into an empty Maildir.
//!
//! It prints each and the ratio ours / mbsync. Needs a Secret Service keyring in the
//! session (the account password goes there), as `./x bench` provides.

use anyhow::{Context, Result, bail};
use shopdesk_systests::mail::{HOST, MailServers};
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut shopdesk, mut maildir, mut messages) = (None, None, 10_000usize);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--shopdesk" => shopdesk = args.next().map(PathBuf::from),
            "--maildir" => maildir = args.next().map(PathBuf::from),
            "--messages" => messages = args.next().and_then(|v| v.parse().ok()).context("--messages N")?,
            _ => bail!("usage: bench-sync --shopdesk BIN --maildir DIR [--messages N]"),
        }
    }
    let shopdesk = shopdesk.context("--shopdesk BIN")?;
    let files = mail_files(&maildir.context("--maildir DIR")?, messages)?;
    let bytes: u64 = files.iter().map(|f| f.metadata().map(|m| m.len()).unwrap_or(0)).sum();

    let servers = MailServers::start()?;
    let shop = servers.shop().clone();
    let started = Instant::now();
    let mut session = login(&servers)?;
    for file in &files {
        let raw = std::fs::read(file).with_context(|| file.display().to_string())?;
        session.append("INBOX", &raw).finish().context("APPEND")?;
    }
    println!("mailbox: {} messages, {:.1} MB, appended in {:.1} s", files.len(), bytes as f64 / 1e6, started.elapsed().as_secs_f64());

    // The floor: the bytes over the wire, nothing done with them.
    let t = Instant::now();
    session.examine("INBOX")?;
    let fetched = session.uid_fetch("1:*", "BODY.PEEK[]")?;
    let floor = t.elapsed();
    let fetched_bytes: usize = fetched.iter().filter_map(|f| f.body()).map(<[u8]>::len).sum();
    drop(fetched);
    session.logout().ok();
    println!("{:<44} {:>7.2} s  ({} bytes)", "bare UID FETCH 1:* BODY.PEEK[] (floor)", floor.as_secs_f64(), fetched_bytes);

    let work = tempfile::tempdir()?;
    let db = work.path().join("shop.db");
    let account = format!("bench-{}", std::process::id());
    let port = servers.imap_port().to_string();
    let smtp = servers.smtp_port().to_string();
    let mut add = Command::new(&shopdesk)
        .arg("--db")
        .arg(&db)
        .args(["account", "add", &account, "--email", &shop.address, "--imap-host", HOST, "--imap-port", &port])
        .args(["--imap-tls", "none", "--smtp-host", HOST, "--smtp-port", &smtp, "--smtp-tls", "none"])
        .args(["--user", &shop.login, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
    add.stdin.take().context("stdin")?.write_all(format!("{}\n", shop.password).as_bytes())?;
    if !add.wait()?.success() {
        bail!("shopdesk account add failed (is a Secret Service keyring running in this session?)");
    }
    let t = Instant::now();
    let out = Command::new(&shopdesk).arg("--db").arg(&db).args(["sync", "--once", "--account", &account]).output()?;
    let ours = t.elapsed();
    if !out.status.success() {
        bail!("shopdesk sync failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let summary = String::from_utf8_lossy(&out.stdout);
    println!("{:<44} {:>7.2} s  ({})", "shopdesk sync --once (fetch+parse+store+FTS)", ours.as_secs_f64(), summary.lines().next().unwrap_or("").trim());
    println!("{:<44} {:>7.1} MB", "database + attachments", dir_size(work.path()) as f64 / 1e6);

    let theirs = mbsync(&servers, work.path())?;
    let local = count_files(&work.path().join("mbsync/INBOX"));
    println!("{:<44} {:>7.2} s  ({local} messages in the Maildir)", "mbsync (isync) into an empty Maildir", theirs.as_secs_f64());
    println!("ratio ours / mbsync: {:.2}x (target <= 1.0x); ours / floor: {:.1}x", ours.as_secs_f64() / theirs.as_secs_f64(), ours.as_secs_f64() / floor.as_secs_f64());
    Ok(())
}

fn login(servers: &MailServers) -> Result<imap::Session<TcpStream>> {
    let tcp = TcpStream::connect((HOST, servers.imap_port()))?;
    tcp.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut client = imap::Client::new(tcp);
    client.read_greeting()?;
    let shop = servers.shop();
    client.login(&shop.login, &shop.password).map_err(|(e, _)| e).context("IMAP login")
}

fn mbsync(servers: &MailServers, work: &Path) -> Result<Duration> {
    let local = work.join("mbsync");
    std::fs::create_dir_all(&local)?;
    let shop = servers.shop();
    let config = work.join("mbsyncrc");
    std::fs::write(
        &config,
        format!(
            "IMAPAccount shop\nHost {HOST}\nPort {}\nUser {}\nPass {}\nSSLType None\nAuthMechs LOGIN\n\n\
             IMAPStore remote\nAccount shop\n\n\
             MaildirStore local\nPath {dir}/\nInbox {dir}/INBOX\n\n\
             Channel shop\nFar :remote:\nNear :local:\nPatterns INBOX\nCreate Near\nSyncState *\n",
            servers.imap_port(),
            shop.login,
            shop.password,
            dir = local.display()
        ),
    )?;
    let t = Instant::now();
    let out = Command::new("mbsync").arg("-q").arg("-c").arg(&config).arg("shop").output().context("running mbsync (apt-get install isync)")?;
    let took = t.elapsed();
    if !out.status.success() {
        bail!("mbsync failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(took)
}

/// The first `n` message files of a Maildir tree (cur/ and new/ of every folder), sorted.
fn mail_files(root: &Path, n: usize) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| dir.display().to_string())? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.parent().and_then(Path::file_name).is_some_and(|p| p == "cur" || p == "new") {
                files.push(path);
            }
        }
    }
    files.sort();
    files.truncate(n);
    if files.len() < n {
        bail!("{} holds only {} messages", root.display(), files.len());
    }
    Ok(files)
}

fn count_files(dir: &Path) -> usize {
    ["cur", "new"].iter().filter_map(|s| std::fs::read_dir(dir.join(s)).ok()).map(Iterator::count).sum()
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            total += if p.is_dir() { dir_size(&p) } else { e.metadata().map(|m| m.len()).unwrap_or(0) };
        }
    }
    total
}
