//! Real mail servers for system tests: a private Dovecot (IMAP) and Postfix (SMTP) pair on
//! 127.0.0.1, with Postfix delivering into Dovecot over LMTP.
//!
//! Every [`MailServers`] value owns a fresh temp dir under /tmp with its own config files,
//! mail store, queue, logs and free ports, so tests can run their own pairs in parallel.
//! Nothing under /etc is read or changed, and the system instances are never touched.
//!
//! Both daemons run in the foreground as children of the test process, so we reap them
//! ourselves: daemonised processes end up with an init that reaps zombies late, and a
//! zombie behind a stale pid file makes the next Dovecot start refuse to run.
//!
//! Needs root (both daemons switch users; mail is stored as nobody:nogroup) and the
//! Debian packages dovecot-imapd, dovecot-lmtpd and postfix; without them `start()` fails
//! and says what to install. Set `SHOPDESK_KEEP_MAIL=1` to keep the temp dir (configs,
//! logs, Maildirs) after a run.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, anyhow, bail};

/// Address both servers listen on and tests must connect to (IPv4 only; not "localhost").
pub const HOST: &str = "127.0.0.1";
/// Mail domains the servers accept and deliver locally.
pub const DOMAINS: [&str; 2] = ["shop.test", "example.test"];

const DOVECOT_CONF: &str = include_str!("../mail/dovecot.conf");
const POSTFIX_MAIN_CF: &str = include_str!("../mail/main.cf");
const POSTFIX_MASTER_CF: &str = include_str!("../mail/master.cf");
const DOVECOT_LOG: &str = "dovecot/dovecot.log";
const POSTFIX_LOG: &str = "postfix/postfix.log";

/// How long a daemon may take to come up or shut down before we call it broken.
const START_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(20);
/// Mail is stored as nobody:nogroup; Dovecot will not deliver as root.
const MAIL_UID: u32 = 65534;
const MAIL_GID: u32 = 65534;

/// A mailbox on the test servers. `login` is what IMAP LOGIN wants (the full address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailUser {
    pub address: String,
    pub login: String,
    pub password: String,
}

impl MailUser {
    fn new(address: &str, password: &str) -> MailUser {
        MailUser { address: address.to_owned(), login: address.to_owned(), password: password.to_owned() }
    }
}

#[derive(Clone, Copy, Debug)]
struct Ports {
    imap: u16,
    smtp: u16,
    /// Implicit-TLS listeners, only with [`MailServers::start_with_tls`].
    imaps: Option<u16>,
    smtps: Option<u16>,
}

/// A running Dovecot + Postfix pair; both are stopped when this is dropped.
pub struct MailServers {
    ports: Ports,
    shop: MailUser,
    customer: MailUser,
    /// Self-signed certificate (also the CA to trust) when TLS listeners were asked for.
    ca_file: Option<PathBuf>,
    postfix_daemon_dir: PathBuf,
    dovecot: Mutex<Option<Child>>,
    postfix: Mutex<Option<Child>>,
    /// Cleans up if the test process dies without running Drop (SIGKILL, Ctrl-C, abort).
    /// Keeps its stdin pipe open for as long as we live.
    watchdog: Mutex<Option<Child>>,
    // Declared last: fields drop after Drop::drop, so the dir outlives the daemons.
    root: tempfile::TempDir,
}

impl MailServers {
    /// Start a fresh Dovecot + Postfix pair with users shop@shop.test and
    /// customer@example.test, plain IMAP and SMTP on 127.0.0.1 and free ports.
    ///
    /// Fails with the binary at fault and its log tail if a daemon does not come up
    /// within a few seconds, and with the package to install if a binary is missing.
    pub fn start() -> Result<MailServers> {
        Self::launch(false)
    }

    /// Like [`MailServers::start`], plus implicit-TLS listeners ([`Self::imaps_port`],
    /// [`Self::smtps_port`]) using a fresh certificate for 127.0.0.1 from a private CA,
    /// which clients should trust through [`Self::ca_file`]. Plain ports stay plain (no STARTTLS
    /// on SMTP; Dovecot does advertise STARTTLS on the plain IMAP port in this mode).
    pub fn start_with_tls() -> Result<MailServers> {
        Self::launch(true)
    }

    pub fn imap_port(&self) -> u16 {
        self.ports.imap
    }

    pub fn smtp_port(&self) -> u16 {
        self.ports.smtp
    }

    /// IMAP over implicit TLS; `None` unless started with [`Self::start_with_tls`].
    pub fn imaps_port(&self) -> Option<u16> {
        self.ports.imaps
    }

    /// SMTP over implicit TLS (like port 465); `None` unless started with TLS.
    pub fn smtps_port(&self) -> Option<u16> {
        self.ports.smtps
    }

    /// PEM certificate of the TLS listeners, to pass as a CA file; `None` without TLS.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    pub fn shop(&self) -> &MailUser {
        &self.shop
    }

    pub fn customer(&self) -> &MailUser {
        &self.customer
    }

    /// The temp dir holding configs, mail and logs (`dovecot/dovecot.log`, `postfix/postfix.log`).
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// Add a mailbox in one of [`DOMAINS`]; Dovecot re-reads its user file on the next login
    /// or delivery, so no restart is needed.
    pub fn add_user(&self, address: &str, password: &str) -> Result<MailUser> {
        let (local, domain) = address.split_once('@').with_context(|| format!("not an address: {address}"))?;
        if !DOMAINS.contains(&domain) || local.is_empty() || address.contains(':') || password.contains(':') {
            bail!("test users must be local@{{{}}} without ':' (got {address})", DOMAINS.join(","));
        }
        let user = MailUser::new(address, password);
        let mut users = OpenOptions::new().append(true).open(self.root().join("dovecot/users"))?;
        users.write_all(passwd_line(self.root(), &user).as_bytes())?;
        Ok(user)
    }

    /// Stop Dovecot (for fault tests). Open IMAP connections are dropped; mail is kept.
    pub fn stop_imap(&self) -> Result<()> {
        self.stop_daemon("dovecot", &self.dovecot, DOVECOT_LOG)
    }

    /// Start Dovecot again with the same config, ports and mail. No-op if it is running.
    pub fn start_imap(&self) -> Result<()> {
        let mut slot = lock(&self.dovecot);
        if running(&mut slot) {
            return Ok(());
        }
        let dir = self.root().join("dovecot");
        self.note(DOVECOT_LOG, "starting dovecot");
        // Our previous instance is reaped, so any pid file left is stale (e.g. after SIGKILL);
        // Dovecot would refuse to start if that pid now belongs to someone else.
        let _ = fs::remove_file(dir.join("run/master.pid"));
        let mut command = Command::new(find_binary("dovecot")?);
        command.arg("-F").arg("-c").arg(dir.join("dovecot.conf"));
        // Own process group, so a forced stop can take its helper processes with it.
        command.process_group(0);
        let child = spawn_logged(command, &dir.join("console.log"))?;
        *slot = Some(child);

        let name = self.name();
        let greeting = format!("{name} ready.");
        let lmtp = dir.join("run/lmtp");
        let ports = self.ports;
        let outcome = wait_until(&mut slot, || {
            Ok(probe_greeting(ports.imap, &greeting)?
                && probe_lmtp(&lmtp)?
                && ports.imaps.map_or(Ok(true), probe_port)?)
        });
        self.check_started("dovecot", &self.dovecot_ports(), &mut slot, outcome)
    }

    /// Stop Postfix (for fault tests). Queued mail stays queued.
    pub fn stop_smtp(&self) -> Result<()> {
        self.stop_daemon("postfix", &self.postfix, POSTFIX_LOG)
    }

    /// Start Postfix again with the same config, ports and queue. No-op if it is running.
    pub fn start_smtp(&self) -> Result<()> {
        let mut slot = lock(&self.postfix);
        if running(&mut slot) {
            return Ok(());
        }
        let config_dir = self.root().join("postfix/conf");
        self.note(POSTFIX_LOG, "starting postfix");
        // The master directly rather than `postfix start`, so it stays our child (see module
        // docs). It makes itself a session and process group leader, as stop_child expects.
        let mut command = Command::new(self.postfix_daemon_dir.join("master"));
        command.arg("-c").arg(&config_dir);
        // As `postfix start` does: lets the master log its own fatal errors (e.g. a port in
        // use) straight to maillog_file while postlogd is not running yet.
        command.env("POSTLOG_SERVICE", self.root().join("postfix/queue/public/postlog"));
        command.env("POSTLOG_HOSTNAME", "mail.shop.test");
        let child = spawn_logged(command, &self.root().join("postfix/console.log"))?;
        *slot = Some(child);

        let banner = format!("ESMTP {}", self.name());
        let ports = self.ports;
        let outcome = wait_until(&mut slot, || {
            Ok(probe_greeting(ports.smtp, &banner)? && ports.smtps.map_or(Ok(true), probe_port)?)
        });
        self.check_started("postfix", &self.postfix_ports(), &mut slot, outcome)
    }

    /// The last lines of every log, labelled, for assertion messages.
    pub fn log_tail(&self) -> String {
        let mut out = String::new();
        for log in ["dovecot/console.log", DOVECOT_LOG, "postfix/console.log", POSTFIX_LOG] {
            let text = fs::read_to_string(self.root().join(log)).unwrap_or_default();
            if text.trim().is_empty() {
                continue;
            }
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(30)..];
            out.push_str(&format!("--- {log} (last {} lines) ---\n{}\n", tail.len(), tail.join("\n")));
        }
        if out.is_empty() {
            out.push_str("(all mail server logs are empty)\n");
        }
        out
    }

    /// Hand a raw RFC 5322 message to Postfix over plain SMTP (no auth), as any loopback
    /// client would. Line endings are normalised to CRLF and lines are dot-stuffed.
    pub fn send_raw(&self, from: &str, to: &[&str], message: &str) -> Result<()> {
        smtp_send(self.smtp_port(), from, to, message)
            .with_context(|| format!("SMTP to {HOST}:{} failed\n{}", self.smtp_port(), self.log_tail()))
    }

    /// The shop's mailbox as a Shopdesk account on these servers (plain IMAP/SMTP on
    /// loopback), named `name`; callers change what their test is about.
    pub fn shop_account(&self, name: &str) -> shopdesk_app::Account {
        shopdesk_app::Account {
            id: 0,
            name: name.to_owned(),
            email: self.shop().address.clone(),
            aliases: vec![],
            display_name: None,
            username: self.shop().login.clone(),
            imap_host: HOST.into(),
            imap_port: self.imap_port(),
            imap_tls: shopdesk_core::TlsMode::None,
            smtp_host: HOST.into(),
            smtp_port: self.smtp_port(),
            smtp_tls: shopdesk_core::TlsMode::None,
            ca_file: None,
            folders: vec![],
            signature: None,
        }
    }

    /// Every message in `user`'s `folder`, raw, read over plain IMAP on loopback.
    pub fn fetch_folder(&self, user: &MailUser, folder: &str) -> Result<Vec<Vec<u8>>> {
        let tcp = TcpStream::connect((HOST, self.imap_port())).context("connecting to Dovecot")?;
        tcp.set_read_timeout(Some(Duration::from_secs(20)))?;
        let mut client = imap::Client::new(tcp);
        client.read_greeting().context("IMAP greeting")?;
        let mut session = client.login(&user.login, &user.password).map_err(|(e, _)| anyhow!("IMAP login: {e}"))?;
        let exists = session.examine(folder).with_context(|| format!("EXAMINE {folder}"))?.exists;
        let mut out = Vec::new();
        if exists > 0 {
            let fetches = session.fetch("1:*", "BODY.PEEK[]").context("FETCH")?;
            out.extend(fetches.iter().filter_map(|f| f.body().map(<[u8]>::to_vec)));
        }
        session.logout().ok();
        Ok(out)
    }

    fn launch(tls: bool) -> Result<MailServers> {
        preflight(tls)?;
        // Free ports are picked then released, so another test may grab one in between;
        // that shows up as "Address already in use" and a retry with new ports fixes it.
        let mut attempt = 1;
        loop {
            match Self::try_launch(tls) {
                Err(e) if attempt < 3 && format!("{e:#}").contains("Address already in use") => attempt += 1,
                result => return result,
            }
        }
    }

    fn try_launch(tls: bool) -> Result<MailServers> {
        // Short path under /tmp: Postfix unix socket paths must stay under ~64 chars.
        let root = tempfile::Builder::new().prefix("sd").tempdir_in("/tmp").context("creating mail temp dir")?;
        // tempdir is 0700; the daemons' unprivileged users must traverse it.
        set_mode(root.path(), 0o755)?;
        let dir = root.path().to_owned();
        let ports = pick_ports(tls)?;
        let ca_file = if tls { Some(make_certificate(&dir)?) } else { None };

        let shop = MailUser::new("shop@shop.test", "shop-secret");
        let customer = MailUser::new("customer@example.test", "customer-secret");
        let name = instance_name(&dir);
        let server_cert = ca_file.as_deref().map(|ca| ca.with_file_name("cert.pem"));
        write_dovecot_config(&dir, &name, ports, server_cert.as_deref(), &[&shop, &customer])?;
        write_postfix_config(&dir, &name, ports, server_cert.as_deref())?;
        let postfix_daemon_dir = postfix_daemon_dir(&dir.join("postfix/conf"))?;

        // Owns everything from here on: an error below drops it, which stops what started.
        let servers = MailServers {
            ports,
            shop,
            customer,
            ca_file,
            postfix_daemon_dir,
            dovecot: Mutex::new(None),
            postfix: Mutex::new(None),
            watchdog: Mutex::new(None),
            root,
        };
        *lock(&servers.watchdog) = Some(spawn_watchdog(&dir)?);
        servers.start_imap()?;
        // Once per fresh dir: creates the queue subdirectories with the right owners.
        postfix_check(&dir.join("postfix"))?;
        servers.start_smtp()?;
        Ok(servers)
    }

    /// Mark intentional stops and starts in a daemon's log, so the shutdown warnings that
    /// follow do not look like failures when a log tail is read.
    fn note(&self, log: &str, what: &str) {
        if let Ok(mut file) = OpenOptions::new().append(true).create(true).open(self.root().join(log)) {
            let _ = writeln!(file, "=== shopdesk harness: {what} ===");
        }
    }

    fn stop_daemon(&self, name: &str, slot: &Mutex<Option<Child>>, log: &str) -> Result<()> {
        let Some(child) = lock(slot).take() else { return Ok(()) };
        self.note(log, &format!("stopping {name}"));
        stop_child(child).with_context(|| format!("stopping {name}\n{}", self.log_tail()))
    }

    fn name(&self) -> String {
        instance_name(self.root())
    }

    fn dovecot_ports(&self) -> String {
        describe_ports("IMAP", self.ports.imap, self.ports.imaps)
    }

    fn postfix_ports(&self) -> String {
        describe_ports("SMTP", self.ports.smtp, self.ports.smtps)
    }

    /// Turn a readiness outcome into a clear error with the logs, stopping a half-started daemon.
    fn check_started(
        &self,
        daemon: &str,
        ports: &str,
        slot: &mut MutexGuard<'_, Option<Child>>,
        outcome: Result<(), String>,
    ) -> Result<()> {
        let Err(problem) = outcome else { return Ok(()) };
        if let Some(child) = slot.take() {
            let _ = stop_child(child);
        }
        Err(anyhow!("{daemon} did not come up on {ports}: {problem}\n{}", self.log_tail()))
    }
}

impl Drop for MailServers {
    fn drop(&mut self) {
        // The watchdog first: we clean up ourselves, and it must not act on stale pid files.
        if let Some(mut watchdog) = lock(&self.watchdog).take() {
            let _ = watchdog.kill();
            let _ = watchdog.wait();
        }
        // Errors are not actionable here; stop_child already falls back to SIGKILL.
        let _ = self.stop_smtp();
        let _ = self.stop_imap();
        if std::env::var_os("SHOPDESK_KEEP_MAIL").is_some() {
            self.root.disable_cleanup(true);
            eprintln!("mail servers: keeping {}", self.root.path().display());
        }
    }
}

impl std::fmt::Debug for MailServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailServers")
            .field("root", &self.root())
            .field("ports", &self.ports)
            .field("shop", &self.shop.address)
            .field("customer", &self.customer.address)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------
// Setup

/// Fail loudly (never skip) with what to install when the environment cannot run the servers.
fn preflight(tls: bool) -> Result<()> {
    const INSTALL: &str = "apt-get install -y dovecot-imapd dovecot-lmtpd postfix";
    find_binary("dovecot").with_context(|| format!("Dovecot is missing: {INSTALL}"))?;
    find_binary("postfix").with_context(|| format!("Postfix is missing: {INSTALL}"))?;
    // Debian splits the IMAP and LMTP servers into their own packages.
    for (helper, package) in [("imap", "dovecot-imapd"), ("lmtp", "dovecot-lmtpd")] {
        let lib = Path::new("/usr/lib/dovecot");
        if lib.is_dir() && !lib.join(helper).exists() {
            bail!("Dovecot's {helper} server is missing: apt-get install -y {package}");
        }
    }
    if tls {
        find_binary("openssl").context("openssl is needed for the TLS listeners: apt-get install -y openssl")?;
    }
    if effective_uid()? != 0 {
        bail!("the mail servers need root (Dovecot and Postfix switch users); run the tests as root");
    }
    Ok(())
}

fn find_binary(name: &str) -> Result<PathBuf> {
    // sbin dirs are not always on PATH for test runners.
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| anyhow!("`{name}` not found on PATH or in /usr/sbin"))
}

fn effective_uid() -> Result<u32> {
    let status = fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("Uid:")).context("no Uid: in /proc/self/status")?;
    line.split_whitespace().nth(2).context("short Uid: line")?.parse().context("bad Uid: line")
}

fn user_id(name: &str) -> Result<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.len() > 3 && fields[0] == name)
        .and_then(|fields| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
        .with_context(|| format!("no user {name} in /etc/passwd (is the postfix package installed?)"))
}

/// Instance name derived from the temp dir: unique per MailServers, used in greetings.
fn instance_name(root: &Path) -> String {
    let base = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!("shopdesk-{base}")
}

fn pick_ports(tls: bool) -> Result<Ports> {
    // Hold all listeners at once so the ports differ from each other.
    let count = if tls { 4 } else { 2 };
    let listeners = (0..count)
        .map(|_| TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))))
        .collect::<std::io::Result<Vec<_>>>()
        .context("picking free ports")?;
    let ports = listeners.iter().map(|l| l.local_addr().map(|a| a.port())).collect::<std::io::Result<Vec<_>>>()?;
    Ok(Ports { imap: ports[0], smtp: ports[1], imaps: ports.get(2).copied(), smtps: ports.get(3).copied() })
}

fn describe_ports(protocol: &str, plain: u16, tls: Option<u16>) -> String {
    match tls {
        Some(tls) => format!("{HOST}:{plain} ({protocol}) and {HOST}:{tls} ({protocol} over TLS)"),
        None => format!("{HOST}:{plain} ({protocol})"),
    }
}

/// A private CA and a server certificate for 127.0.0.1 it signed, as a shop's own mail
/// server would have. Returns the CA certificate (what clients trust); the server's
/// `cert.pem` and `key.pem` lie beside it. (A self-signed leaf would not do: strict
/// verifiers such as rustls/webpki refuse a CA certificate used as the server's.)
fn make_certificate(root: &Path) -> Result<PathBuf> {
    let dir = root.join("tls");
    fs::create_dir(&dir)?;
    let openssl = |args: &[&str]| -> Result<()> {
        let output = Command::new(find_binary("openssl")?)
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .context("running openssl")?;
        if !output.status.success() {
            bail!("openssl {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
        }
        Ok(())
    };
    // EC keys generate in milliseconds.
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl(&[&["req", "-x509"][..], &ec, &["-days", "3650", "-subj", "/CN=Shopdesk Test CA", "-keyout", "ca.key", "-out", "ca.pem"]].concat())?;
    openssl(&[&["req"][..], &ec, &["-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "server.csr"]].concat())?;
    fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl(&[
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "3650",
        "-extfile", "server.ext", "-out", "cert.pem",
    ])?;
    // The daemons read the key as their own users.
    set_mode(&dir.join("key.pem"), 0o644)?;
    Ok(dir.join("ca.pem"))
}

fn render(template: &str, vars: &[(&str, String)]) -> Result<String> {
    let mut text = template.to_owned();
    for (key, value) in vars {
        text = text.replace(&format!("{{{{{key}}}}}"), value);
    }
    if let Some(at) = text.find("{{") {
        bail!("unfilled placeholder in mail config: {}", &text[at..text.len().min(at + 40)]);
    }
    Ok(text)
}

fn passwd_line(root: &Path, user: &MailUser) -> String {
    let (local, domain) = user.address.split_once('@').unwrap_or((&user.address, "local"));
    let home = root.join("dovecot/mail").join(domain).join(local);
    format!("{}:{{PLAIN}}{}:{MAIL_UID}:{MAIL_GID}::{}::\n", user.login, user.password, home.display())
}

fn write_dovecot_config(
    root: &Path,
    name: &str,
    ports: Ports,
    cert: Option<&Path>,
    users: &[&MailUser],
) -> Result<()> {
    let dir = root.join("dovecot");
    fs::create_dir_all(dir.join("mail"))?;
    // Dovecot creates each user's home on first use, as the mail user.
    std::os::unix::fs::chown(dir.join("mail"), Some(MAIL_UID), Some(MAIL_GID))?;
    // The auth process runs unprivileged and must read the user file.
    let lines: String = users.iter().map(|u| passwd_line(root, u)).collect();
    fs::write(dir.join("users"), lines)?;
    set_mode(&dir.join("users"), 0o644)?;

    let ssl = match cert {
        // The key sits next to the certificate; Dovecot reads both as root.
        Some(cert) => format!(
            "ssl = yes\nssl_cert = <{}\nssl_key = <{}",
            cert.display(),
            cert.with_file_name("key.pem").display()
        ),
        None => "ssl = no".to_owned(),
    };
    let conf = render(
        DOVECOT_CONF,
        &[
            ("ROOT", root.display().to_string()),
            ("NAME", name.to_owned()),
            ("SSL", ssl),
            ("IMAP_PORT", ports.imap.to_string()),
            ("IMAPS_PORT", ports.imaps.unwrap_or(0).to_string()),
        ],
    )?;
    fs::write(dir.join("dovecot.conf"), conf)?;
    Ok(())
}

fn write_postfix_config(root: &Path, name: &str, ports: Ports, cert: Option<&Path>) -> Result<()> {
    let dir = root.join("postfix");
    // Config apart from queue and data: `postfix check` expects everything under the
    // config dir to be root-owned and not group-writable, and warns about each file.
    fs::create_dir_all(dir.join("conf"))?;
    // Postfix insists on a root-owned queue dir and a data dir owned by its mail_owner.
    fs::create_dir_all(dir.join("queue"))?;
    fs::create_dir_all(dir.join("data"))?;
    let (postfix_uid, postfix_gid) = user_id("postfix")?;
    std::os::unix::fs::chown(dir.join("data"), Some(postfix_uid), Some(postfix_gid))?;

    let (tls, smtps) = match (cert, ports.smtps) {
        (Some(cert), Some(port)) => (
            // Certificate loaded, but STARTTLS stays off on the plain port.
            format!(
                "smtpd_tls_cert_file = {}\nsmtpd_tls_key_file = {}\nsmtpd_tls_security_level = none",
                cert.display(),
                cert.with_file_name("key.pem").display()
            ),
            format!(
                "127.0.0.1:{port} inet n - n - - smtpd\n  -o smtpd_tls_wrappermode=yes\n  -o smtpd_tls_security_level=encrypt"
            ),
        ),
        _ => (String::new(), String::new()),
    };
    let vars = [
        ("ROOT", root.display().to_string()),
        ("NAME", name.to_owned()),
        ("SMTP_PORT", ports.smtp.to_string()),
        ("TLS", tls),
        ("SMTPS", smtps),
    ];
    let main_cf = dir.join("conf/main.cf");
    let master_cf = dir.join("conf/master.cf");
    fs::write(&main_cf, render(POSTFIX_MAIN_CF, &vars)?)?;
    fs::write(&master_cf, render(POSTFIX_MASTER_CF, &vars)?)?;
    // Postfix waits for config files younger than ~2 s to settle; backdate them.
    let past = SystemTime::now() - Duration::from_secs(60);
    for file in [main_cf, master_cf] {
        File::options().write(true).open(file)?.set_modified(past)?;
    }
    Ok(())
}

fn postfix_daemon_dir(config_dir: &Path) -> Result<PathBuf> {
    let output = Command::new(find_binary("postconf")?)
        .arg("-c")
        .arg(config_dir)
        .args(["-h", "daemon_directory"])
        .output()
        .context("running postconf")?;
    if !output.status.success() {
        bail!("postconf failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()))
}

fn postfix_check(dir: &Path) -> Result<()> {
    let config_dir = dir.join("conf");
    let output = Command::new(find_binary("postfix")?)
        .arg("-c")
        .arg(&config_dir)
        .arg("check")
        .stdin(Stdio::null())
        .output()
        .context("running postfix check")?;
    if !output.status.success() {
        let log = fs::read_to_string(dir.join("postfix.log")).unwrap_or_default();
        bail!(
            "`postfix -c {} check` failed ({}): {}\n{log}",
            config_dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).with_context(|| format!("chmod {}", path.display()))
}

/// A shell that outlives the test process if it dies without Drop (SIGKILL, Ctrl-C, abort),
/// then stops both daemons by their pid files and removes the temp dir. It waits on a pipe
/// only we hold the write end of (close-on-exec, so no other child inherits it): the kernel
/// closes it when we die. Own process group, so a Ctrl-C aimed at the test run spares it.
/// Drop kills it first, so it only ever acts after an abnormal exit.
fn spawn_watchdog(root: &Path) -> Result<Child> {
    const SCRIPT: &str = r#"
        read -r _
        for f in "$1/dovecot/run/master.pid" "$1/postfix/queue/pid/master.pid"; do
            pid=$(head -n 1 "$f" 2>/dev/null | tr -d ' ')
            [ -n "$pid" ] && kill -s TERM -- "-$pid" 2>/dev/null
        done
        sleep 2
        rm -rf "$1"
    "#;
    Command::new("/bin/sh")
        .args(["-c", SCRIPT, "mail-watchdog"])
        .arg(root)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("starting the mail server watchdog")
}

// ---------------------------------------------------------------------------------------
// Process control

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock must not stop Drop from cleaning up.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn running(slot: &mut Option<Child>) -> bool {
    match slot {
        Some(child) => matches!(child.try_wait(), Ok(None)),
        None => false,
    }
}

/// Start a daemon with stdout/stderr appended to `console` (early config errors land there).
fn spawn_logged(mut command: Command, console: &Path) -> Result<Child> {
    let log = OpenOptions::new().create(true).append(true).open(console)?;
    command.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
    command.spawn().with_context(|| format!("spawning {:?}", command.get_program()))
}

/// Poll `ready` until it says yes, the child exits, or START_TIMEOUT passes.
fn wait_until(slot: &mut Option<Child>, mut ready: impl FnMut() -> Result<bool>) -> Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(child) = slot.as_mut()
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(format!("it exited during startup ({status})"));
        }
        match ready() {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => return Err(format!("{e:#}")),
        }
        if Instant::now() > deadline {
            return Err(format!("not ready after {START_TIMEOUT:?}"));
        }
        sleep(POLL);
    }
}

/// SIGTERM the daemon's process group, reap it, and wait until the group is empty so ports
/// and sockets are free for a restart. SIGKILL the group if that takes over STOP_TIMEOUT.
fn stop_child(mut child: Child) -> Result<()> {
    let pid = child.id();
    let deadline = Instant::now() + STOP_TIMEOUT;
    if child.try_wait()?.is_none() {
        // Both daemons lead their own process group, so the group id is the master's pid.
        // The whole group at once: a TERM to Dovecot's master alone takes ~1.1 s, as it
        // waits for its helpers; signalled together they are all gone in ~0.1 s.
        signal("TERM", &format!("-{pid}"));
    }
    while child.try_wait()?.is_none() && Instant::now() < deadline {
        sleep(POLL);
    }
    while !group_members(pid).is_empty() && Instant::now() < deadline {
        sleep(POLL);
    }
    if child.try_wait()?.is_none() || !group_members(pid).is_empty() {
        signal("KILL", &format!("-{pid}"));
        let _ = child.kill();
        child.wait()?;
        bail!("it ignored SIGTERM for {STOP_TIMEOUT:?} and was killed");
    }
    Ok(())
}

/// `kill` via the command: the workspace forbids unsafe, so no libc::kill.
fn signal(signal: &str, target: &str) {
    let _ = Command::new("kill")
        .args(["-s", signal, "--", target])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Live (non-zombie) processes in a process group, from /proc.
fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
            // Fields after the ")" that ends the command name: state, ppid, pgrp, ...
            let Some((_, rest)) = stat.rsplit_once(')') else { return false };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.len() > 2 && !matches!(fields[0], "Z" | "X") && fields[2] == pgid.to_string()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Probes and a tiny SMTP client

/// Does the server on `port` greet with a line containing `expected`? Connection refused
/// means "not yet"; Dovecot may first send "* OK Waiting for authentication process".
fn probe_greeting(port: u16, expected: &str) -> Result<bool> {
    let Ok(stream) = TcpStream::connect((HOST, port)) else { return Ok(false) };
    // Short: a silent stranger on the port must not stall startup; we simply retry.
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    for _ in 0..3 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return Ok(false);
        }
        if line.contains(expected) {
            // Say goodbye so the server logs a clean disconnect, not an error.
            let bye = if line.starts_with("220") { "QUIT\r\n" } else { "a LOGOUT\r\n" };
            let _ = (&stream).write_all(bye.as_bytes());
            return Ok(true);
        }
    }
    Ok(false)
}

fn probe_port(port: u16) -> Result<bool> {
    Ok(TcpStream::connect((HOST, port)).is_ok())
}

/// Dovecot's LMTP socket answers with a 220 once Postfix can deliver.
fn probe_lmtp(socket: &Path) -> Result<bool> {
    let Ok(mut stream) = UnixStream::connect(socket) else { return Ok(false) };
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut greeting = [0u8; 3];
    let ok = stream.read_exact(&mut greeting).is_ok() && &greeting == b"220";
    let _ = stream.write_all(b"QUIT\r\n");
    Ok(ok)
}

fn smtp_send(port: u16, from: &str, to: &[&str], message: &str) -> Result<()> {
    let stream = TcpStream::connect((HOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let mut step = |command: &str, expect: u16| -> Result<()> {
        if !command.is_empty() {
            writer.write_all(command.as_bytes())?;
        }
        let (code, text) = smtp_reply(&mut reader)?;
        let shown = command.lines().next().unwrap_or("greeting");
        if code != expect {
            bail!("after {shown:?} the server said {code} {text} (wanted {expect})");
        }
        Ok(())
    };
    step("", 220)?;
    step("EHLO harness.shop.test\r\n", 250)?;
    step(&format!("MAIL FROM:<{from}>\r\n"), 250)?;
    for rcpt in to {
        step(&format!("RCPT TO:<{rcpt}>\r\n"), 250)?;
    }
    step("DATA\r\n", 354)?;
    let mut data = String::new();
    for line in message.lines() {
        // A leading dot would otherwise end DATA early (RFC 5321 4.5.2).
        if line.starts_with('.') {
            data.push('.');
        }
        data.push_str(line);
        data.push_str("\r\n");
    }
    data.push_str(".\r\n");
    step(&data, 250)?;
    step("QUIT\r\n", 221)
}

/// Read one (possibly multi-line) SMTP reply.
fn smtp_reply(reader: &mut impl BufRead) -> Result<(u16, String)> {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            bail!("connection closed mid-reply (so far: {text:?})");
        }
        let code = line.get(..3).and_then(|c| c.parse().ok()).with_context(|| format!("bad SMTP reply {line:?}"))?;
        text.push_str(line.get(4..).unwrap_or("").trim_end());
        // "250-..." continues, "250 ..." ends the reply.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok((code, text));
        }
        text.push(' ');
    }
}
