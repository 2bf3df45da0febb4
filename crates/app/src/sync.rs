//! IMAP sync: one pass brings every chosen folder of an account up to date (new mail,
//! flags changed elsewhere, mail expunged or moved away, a recreated folder); `sync`
//! repeats passes, waiting on IDLE in between, and reconnects with backoff when the
//! connection drops (server restart, laptop asleep).
//!
//! Idempotency comes from the store: a message is keyed by its content, so a UID fetched
//! twice (crash before the position was saved, new UIDVALIDITY, the same mail in two
//! folders) is one message with one more location, never a second copy.

use crate::secrets::SecretStore;
use crate::{App, AppError, ErrorCode, Progress, Result, SystemHost};
use serde::Serialize;
use shopdesk_ingest::mail::{parse_email, source_key};
use shopdesk_core::email::ParsedEmail;
use shopdesk_core::MessageId;
use shopdesk_mailbox::{Folder, FolderRole, ImapMailbox, ImapSettings, MailboxError, RemoteMailbox, RemoteMessage};
use shopdesk_store::{Account, EmailInput, EmailLocation, FolderState, ImportProblem, ImportReport, Stored};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Messages per UID FETCH: big enough to keep the pipe full, small enough that a dropped
/// connection loses little and memory stays bounded (attachments can be large).
const FETCH_BATCH: usize = 50;

/// What one pass did to one folder.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FolderReport {
    pub name: String,
    pub role: String,
    /// Messages fetched that were new to the database.
    pub imported: usize,
    /// Messages fetched that were already known (another folder, an import, a retry).
    pub duplicates: usize,
    /// Locations whose flags another client changed.
    pub flags_changed: usize,
    /// Locations forgotten because the message left the folder (its history stays).
    pub gone: usize,
    /// The folder was new to us or its UIDVALIDITY changed, so it was read from scratch.
    pub full_resync: bool,
    /// The messages this pass added, for the desktop's new-mail notification (not shown).
    #[serde(skip)]
    pub new_messages: Vec<MessageId>,
}

/// How to reach `account`'s IMAP server with `password`.
pub(crate) fn imap_settings_with(account: &Account, password: String) -> ImapSettings {
    ImapSettings {
        host: account.imap_host.clone(),
        port: account.imap_port,
        tls: account.imap_tls,
        username: account.username.clone(),
        password,
        ca_file: account.ca_file.as_ref().map(Into::into),
    }
}

impl SyncReport {
    /// The messages this pass brought that are news: not those of a folder read from
    /// scratch (a new account's history or a UIDVALIDITY change).
    pub fn news(&self) -> Vec<MessageId> {
        self.folders.iter().filter(|f| !f.full_resync).flat_map(|f| f.new_messages.iter().copied()).collect()
    }
}

/// What one pass over an account did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SyncReport {
    pub account: String,
    pub folders: Vec<FolderReport>,
    pub imported: usize,
    pub duplicates: usize,
    pub problems: Vec<ImportProblem>,
}

/// What `sync` tells its caller while it runs.
#[derive(Debug)]
pub enum SyncEvent<'a> {
    Progress(Progress),
    Synced(&'a SyncReport),
    /// Waiting for the server to announce news (IDLE) or for the next poll.
    Waiting,
    /// The connection failed; the next attempt comes after `delay`.
    Retrying { error: &'a AppError, delay: Duration },
}

impl SyncEvent<'_> {
    /// The event as the UI and `sync --json` see it.
    pub fn status(&self, account: &str) -> SyncStatus {
        let account = account.to_owned();
        match self {
            SyncEvent::Progress(p) => SyncStatus::Progress { account, done: p.done, total: p.total },
            SyncEvent::Synced(r) => SyncStatus::Synced { account, report: (*r).clone() },
            SyncEvent::Waiting => SyncStatus::Waiting { account },
            SyncEvent::Retrying { error, delay } => {
                SyncStatus::Retrying { account, error: (*error).clone(), delay_secs: delay.as_secs() }
            }
        }
    }
}

/// A sync event, owned and serialisable: `{"event": "progress", "account": …, …}`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SyncStatus {
    Progress { account: String, done: usize, total: usize },
    Synced { account: String, report: SyncReport },
    Waiting { account: String },
    Retrying { account: String, error: AppError, delay_secs: u64 },
    /// Sync of this account stopped for good (login refused, certificate untrusted, no
    /// password); it starts again with the app.
    Failed { account: String, error: AppError },
}

/// Every account syncing on its own thread with its own database connection, for as
/// long as this value lives (the desktop app keeps it; dropping it asks the threads to
/// stop after their current wait).
pub struct BackgroundSync {
    stop: Arc<AtomicBool>,
    /// The latest telling event per account, for a window that opens after it was sent.
    latest: Arc<Mutex<BTreeMap<String, SyncStatus>>>,
}

impl BackgroundSync {
    pub fn start(
        db: &Path,
        secrets: Arc<dyn SecretStore>,
        on_status: impl Fn(SyncStatus) + Send + Sync + 'static,
    ) -> Result<BackgroundSync> {
        let accounts = App::open(db, SystemHost)?.account_settings()?;
        let stop = Arc::new(AtomicBool::new(false));
        let latest: Arc<Mutex<BTreeMap<String, SyncStatus>>> = Arc::default();
        let on_status = {
            let latest = latest.clone();
            Arc::new(move |status: SyncStatus| {
                // "waiting" follows every pass and says nothing the pass's result did not.
                if !matches!(status, SyncStatus::Waiting { .. })
                    && let Ok(mut map) = latest.lock()
                {
                    map.insert(status.account().to_owned(), status.clone());
                }
                on_status(status);
            })
        };
        for account in accounts {
            let (db, secrets, stop, on_status) = (db.to_owned(), secrets.clone(), stop.clone(), on_status.clone());
            std::thread::Builder::new()
                .name(format!("sync {}", account.name))
                .spawn(move || {
                    let name = account.name.clone();
                    let result = App::open(&db, SystemHost).and_then(|mut app| {
                        let settings = app.imap_settings(&account, secrets.as_ref())?;
                        app.sync(&account, &settings, &SyncOptions::default(), &stop, &mut |e| on_status(e.status(&name)))
                    });
                    if let Err(error) = result {
                        on_status(SyncStatus::Failed { account: name, error });
                    }
                })
                .map_err(|e| AppError::new(ErrorCode::Internal, format!("cannot start the sync thread: {e}")))?;
        }
        Ok(BackgroundSync { stop, latest })
    }

    /// The latest progress, result or failure of every account.
    pub fn latest(&self) -> Vec<SyncStatus> {
        self.latest.lock().map(|m| m.values().cloned().collect()).unwrap_or_default()
    }
}

impl SyncStatus {
    pub fn account(&self) -> &str {
        match self {
            SyncStatus::Progress { account, .. }
            | SyncStatus::Synced { account, .. }
            | SyncStatus::Waiting { account }
            | SyncStatus::Retrying { account, .. }
            | SyncStatus::Failed { account, .. } => account,
        }
    }
}

impl Drop for BackgroundSync {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// One pass, then return; a connection failure is an error instead of a retry.
    pub once: bool,
    /// Longest wait on IDLE before a pass over all folders anyway (Sent and the rest get
    /// no push from an IDLE on INBOX), and the bound on noticing a dead connection.
    pub poll_every: Duration,
    /// Cap of the doubling delay between reconnection attempts.
    pub max_backoff: Duration,
}

impl Default for SyncOptions {
    fn default() -> SyncOptions {
        SyncOptions { once: false, poll_every: Duration::from_secs(120), max_backoff: Duration::from_secs(60) }
    }
}

/// A failure inside a pass: the server's (maybe worth a retry) or ours.
enum Failure {
    Mailbox(MailboxError),
    App(AppError),
}

impl From<MailboxError> for Failure {
    fn from(e: MailboxError) -> Failure {
        Failure::Mailbox(e)
    }
}
impl From<AppError> for Failure {
    fn from(e: AppError) -> Failure {
        Failure::App(e)
    }
}
impl From<shopdesk_store::StoreError> for Failure {
    fn from(e: shopdesk_store::StoreError) -> Failure {
        Failure::App(e.into())
    }
}
impl From<Failure> for AppError {
    fn from(f: Failure) -> AppError {
        match f {
            Failure::Mailbox(e) => e.into(),
            Failure::App(e) => e,
        }
    }
}

/// What every message of one folder's fetch shares.
struct FetchContext<'a> {
    account: &'a Account,
    folder: &'a str,
    uidvalidity: u32,
    own: &'a [String],
}

/// A fetched message, parsed on the fetching thread.
struct Fetched {
    uid: u32,
    flags: Vec<String>,
    parsed: ParsedEmail,
    key: String,
}

impl Fetched {
    fn parse(m: RemoteMessage) -> Fetched {
        let parsed = parse_email(&m.raw);
        let key = source_key(&parsed);
        Fetched { uid: m.uid, flags: m.flags, parsed, key }
    }
}

/// The folder's plan for a pass: where it stood and which UIDs are new.
struct Plan {
    folder: Folder,
    uidvalidity: u32,
    before: FolderState,
    new: Vec<u32>,
    full_resync: bool,
}

impl App {
    /// How to reach `account`'s IMAP server, with the password from `secrets`.
    pub fn imap_settings(&self, account: &Account, secrets: &dyn SecretStore) -> Result<ImapSettings> {
        let password = secrets.get(&account.name)?.ok_or_else(|| {
            AppError::new(
                ErrorCode::Keyring,
                format!("no password for account {:?} in the keyring; add the account again", account.name),
            )
        })?;
        Ok(imap_settings_with(account, password))
    }

    /// Syncs `account` until `stop` is set (checked between passes and retries), or for
    /// one pass with `options.once`.
    pub fn sync(
        &mut self,
        account: &Account,
        settings: &ImapSettings,
        options: &SyncOptions,
        stop: &AtomicBool,
        on_event: &mut dyn FnMut(SyncEvent<'_>),
    ) -> Result<()> {
        let mut delay = Duration::from_secs(1);
        loop {
            match self.sync_session(account, settings, options, stop, &mut delay, on_event) {
                Ok(()) => return Ok(()),
                Err(Failure::Mailbox(e)) if e.is_transient() && !options.once => {
                    let error = AppError::from(e);
                    on_event(SyncEvent::Retrying { error: &error, delay });
                    if sleep_unless_stopped(delay, stop) {
                        return Ok(());
                    }
                    delay = (delay * 2).min(options.max_backoff);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// One connection's life: passes with IDLE in between, until an error or the end.
    fn sync_session(
        &mut self,
        account: &Account,
        settings: &ImapSettings,
        options: &SyncOptions,
        stop: &AtomicBool,
        delay: &mut Duration,
        on_event: &mut dyn FnMut(SyncEvent<'_>),
    ) -> Result<(), Failure> {
        let mut remote = ImapMailbox::connect(settings)?;
        loop {
            let report = self.pass(account, &mut remote, &mut |p| on_event(SyncEvent::Progress(p)))?;
            *delay = Duration::from_secs(1);
            on_event(SyncEvent::Synced(&report));
            if options.once || stop.load(Ordering::Relaxed) {
                remote.logout();
                return Ok(());
            }
            remote.select("INBOX")?;
            on_event(SyncEvent::Waiting);
            remote.wait_for_change(options.poll_every)?;
        }
    }

    /// One pass over `account`'s folders on an open connection (any [`RemoteMailbox`]).
    pub fn sync_pass(&mut self, account: &Account, remote: &mut (dyn RemoteMailbox + Send), progress: &mut dyn FnMut(Progress)) -> Result<SyncReport> {
        Ok(self.pass(account, remote, progress)?)
    }

    fn pass(&mut self, account: &Account, remote: &mut (dyn RemoteMailbox + Send), progress: &mut dyn FnMut(Progress)) -> Result<SyncReport, Failure> {
        let started = self.host.now();
        let mut report = SyncReport { account: account.name.clone(), ..SyncReport::default() };
        let own = self.store.own_addresses()?;
        let folders = chosen_folders(remote.folders()?, &account.folders, &mut report.problems);

        // First find out what is new everywhere, so progress has a true total.
        let mut plans = Vec::new();
        for folder in folders {
            let status = remote.select(&folder.name)?;
            let mut before = self.store.folder_state(account.id, &folder.name)?;
            let full_resync = before.uidvalidity != Some(status.uidvalidity);
            if full_resync {
                self.store.reset_folder(account.id, &folder.name, folder.role.as_str(), status.uidvalidity)?;
                before = FolderState { uidvalidity: Some(status.uidvalidity), ..FolderState::default() };
            }
            let new = if status.exists == 0 { Vec::new() } else { remote.uids_from(before.last_uid.saturating_add(1))? };
            plans.push(Plan { folder, uidvalidity: status.uidvalidity, before, new, full_resync });
        }
        let total = plans.iter().map(|p| p.new.len()).sum();
        let mut done = 0;
        progress(Progress { done, total });

        for plan in plans {
            let name = plan.folder.name.as_str();
            let mut folder_report = FolderReport {
                name: name.to_owned(),
                role: plan.folder.role.as_str().to_owned(),
                full_resync: plan.full_resync,
                ..FolderReport::default()
            };
            let status = remote.select(name)?;
            if status.uidvalidity != plan.uidvalidity {
                // Recreated between the two looks; the next pass starts it over.
                report.problems.push(ImportProblem {
                    location: format!("{}/{name}", account.name),
                    message: "the folder was recreated during the sync; it is read again on the next pass".into(),
                });
                continue;
            }
            let context = FetchContext { account, folder: name, uidvalidity: plan.uidvalidity, own: &own };
            self.fetch_new(&context, &plan.new, remote, &mut folder_report, &mut report.problems, &mut |n| {
                done += n;
                progress(Progress { done, total });
            })?;
            if !plan.full_resync && plan.before.last_uid > 0 {
                self.reconcile(account.id, name, plan.uidvalidity, plan.before.highest_modseq, remote, &mut folder_report)?;
            }
            self.store.finish_folder_pass(account.id, name, status.highest_modseq, self.host.now())?;
            report.imported += folder_report.imported;
            report.duplicates += folder_report.duplicates;
            report.folders.push(folder_report);
        }
        if report.imported > 0 || report.duplicates > 0 || !report.problems.is_empty() {
            let record = ImportReport {
                kind: "imap".into(),
                source: account.name.clone(),
                imported: report.imported,
                duplicates: report.duplicates,
                problems: report.problems.clone(),
            };
            self.store.record_import(&record, started, self.host.now())?;
        }
        Ok(report)
    }

    /// Fetches `uids` and stores them. Network and CPU overlap: a second thread fetches and
    /// parses the next batch while this one stores the last; the channel holds at most
    /// two batches, so memory stays bounded whatever the mailbox size. After each stored
    /// batch the folder's position moves on, so a dropped connection loses at most the
    /// batches in flight (fetched again next time, found by source key).
    fn fetch_new(
        &mut self,
        context: &FetchContext<'_>,
        uids: &[u32],
        remote: &mut (dyn RemoteMailbox + Send),
        folder_report: &mut FolderReport,
        problems: &mut Vec<ImportProblem>,
        on_stored: &mut dyn FnMut(usize),
    ) -> Result<(), Failure> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(u32, usize, Vec<Fetched>)>(2);
        std::thread::scope(|scope| {
            let fetcher = scope.spawn(move || -> Result<(), MailboxError> {
                for chunk in uids.chunks(FETCH_BATCH) {
                    let batch: Vec<Fetched> = remote.fetch(chunk)?.into_iter().map(Fetched::parse).collect();
                    let last = chunk.last().copied().unwrap_or(0);
                    if tx.send((last, chunk.len(), batch)).is_err() {
                        break; // the storing side failed and said why
                    }
                }
                Ok(())
            });
            for (last, count, batch) in rx {
                self.store_batch(context, batch, folder_report, problems)?;
                self.store.set_last_uid(context.account.id, context.folder, last)?;
                on_stored(count);
            }
            fetcher.join().map_err(|_| AppError::new(ErrorCode::Internal, "the IMAP fetch thread panicked"))??;
            Ok(())
        })
    }

    fn store_batch(
        &mut self,
        context: &FetchContext<'_>,
        batch: Vec<Fetched>,
        folder_report: &mut FolderReport,
        problems: &mut Vec<ImportProblem>,
    ) -> Result<(), Failure> {
        let inputs: Vec<EmailInput<'_>> = batch
            .iter()
            .map(|m| EmailInput {
                parsed: &m.parsed,
                source_key: &m.key,
                own_addresses: context.own,
                location: EmailLocation::Imap {
                    account_id: context.account.id,
                    folder: context.folder.to_owned(),
                    uidvalidity: i64::from(context.uidvalidity),
                    uid: i64::from(m.uid),
                    flags: m.flags.join(" "),
                },
            })
            .collect();
        let outcomes = self.store.store_emails(&inputs, self.host.now())?;
        for (m, outcome) in batch.iter().zip(outcomes) {
            let location = format!("{}/{} UID {}", context.account.name, context.folder, m.uid);
            match outcome {
                Ok(Stored::New { message, .. }) => {
                    folder_report.imported += 1;
                    folder_report.new_messages.push(message);
                }
                Ok(Stored::Duplicate { .. }) => folder_report.duplicates += 1,
                Err(e) => problems.push(ImportProblem { location: location.clone(), message: e.to_string() }),
            }
            for p in &m.parsed.problems {
                problems.push(ImportProblem { location: location.clone(), message: p.clone() });
            }
        }
        Ok(())
    }

    /// Brings what we know of messages fetched in earlier passes in line with the server:
    /// flags set by another client, and mail that left the folder.
    fn reconcile(
        &mut self,
        account_id: i64,
        folder: &str,
        uidvalidity: u32,
        since: Option<u64>,
        remote: &mut (dyn RemoteMailbox + Send),
        report: &mut FolderReport,
    ) -> Result<(), Failure> {
        let changes: Vec<(u32, String)> = remote.flag_changes(since)?.into_iter().map(|c| (c.uid, c.flags.join(" "))).collect();
        report.flags_changed = self.store.update_flags(account_id, folder, uidvalidity, &changes)?;
        let on_server: HashSet<u32> = remote.uids_from(1)?.into_iter().collect();
        let gone: Vec<u32> =
            self.store.folder_uids(account_id, folder, uidvalidity)?.into_iter().filter(|uid| !on_server.contains(uid)).collect();
        report.gone = self.store.remove_locations(account_id, folder, uidvalidity, &gone)?;
        Ok(())
    }
}

/// INBOX, the Sent folder, and the account's extra folders (by exact or case-insensitive
/// name); a configured folder the server lacks is a problem, not a failure.
fn chosen_folders(available: Vec<Folder>, extra: &[String], problems: &mut Vec<ImportProblem>) -> Vec<Folder> {
    let mut chosen: Vec<Folder> = Vec::new();
    for role in [FolderRole::Inbox, FolderRole::Sent] {
        if let Some(f) = available.iter().find(|f| f.role == role) {
            chosen.push(f.clone());
        }
    }
    for want in extra {
        let found = available.iter().find(|f| f.name == *want).or_else(|| available.iter().find(|f| f.name.eq_ignore_ascii_case(want)));
        match found {
            Some(f) if !chosen.iter().any(|c| c.name == f.name) => chosen.push(f.clone()),
            Some(_) => {}
            None => problems.push(ImportProblem { location: want.clone(), message: "no such folder on the server".into() }),
        }
    }
    chosen
}

/// Sleeps `delay` in short steps; true when `stop` was set meanwhile.
fn sleep_unless_stopped(delay: Duration, stop: &AtomicBool) -> bool {
    let step = Duration::from_millis(100);
    let mut slept = Duration::ZERO;
    while slept < delay {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        std::thread::sleep(step);
        slept += step;
    }
    stop.load(Ordering::Relaxed)
}
