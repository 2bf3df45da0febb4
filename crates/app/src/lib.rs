//! Shopdesk's use cases. The CLI and the desktop shell are thin layers over [`App`]; both
//! get the same behaviour and the same errors ([`AppError`], which crosses IPC as
//! `{code, message}`). Time and the local time zone come from a [`Host`], so tests can fix them.

mod accounts;
mod customers;
mod error;
mod followups;
mod host;
mod import_any;
mod import_chat;
mod import_mail;
mod import_orders;
mod outbox;
pub mod notify;
pub mod scheduler;
mod secrets;
mod sync;
mod templates;
mod views;
mod workflow;

pub use error::{AppError, ErrorCode};
pub use host::{FixedHost, Host, SystemHost};
pub use followups::{FollowupListing, NOTIFY_NEW_MAIL, notify_new_mail};
pub use shopdesk_store::{DueFollowup, FollowupRow, FollowupRule, FollowupState, RuleTrigger};
pub use accounts::AccountListing;
pub use import_chat::{ChatDryRun, ChatImportOptions, ChatImportReport, ChatSource};
pub use import_mail::Progress;
pub use shopdesk_ingest::chat::whatsapp::DateOrder;
pub use shopdesk_store::{CustomerChange, CustomerDetail, SplitOutcome, Suggestion};
pub use import_orders::OrdersImportReport;
pub use shopdesk_ingest::orders::{OrderFormat, minor_digits};
pub use shopdesk_store::{OrderLineRow, OrderRow};
pub use outbox::{BackgroundDelivery, CRASH_AFTER_SMTP_ENV, DeliveryReport, FailedAttempt, ReplyDraft, wa_me_link};
pub use shopdesk_store::{OutboxEntry, OutboxState};
pub use secrets::{MemorySecrets, OsKeyring, SecretStore};
pub use shopdesk_store::{EventRow, NoteRow, NoteTarget, Saved, TeamMember, TemplateRow};
pub use templates::{DEFAULT_LANGUAGE, Rendered, SHOP_NAME};
pub use workflow::SnoozeUntil;
pub use import_any::{ImportOutcome, detect_kind};
pub use shopdesk_store::time::rfc3339;
pub use shopdesk_ingest::sniff::ImportKind;
pub use views::{CustomerView, MoneyTotal, TimelineItem};
pub use sync::{BackgroundSync, FolderReport, SyncEvent, SyncOptions, SyncReport, SyncStatus};
pub use shopdesk_store::{
    Account, ConversationFilter, ConversationRow, CustomerRow, DemoSummary, ImportProblem, ImportReport, MessageRow, SearchHit, Stats,
};

use shopdesk_core::demo::DemoOptions;
use shopdesk_core::{ConversationId, DAY, Millis};
use shopdesk_store::Store;
use std::path::{Path, PathBuf};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// The database file used when none is given: `~/.local/share/shopdesk/shopdesk.db` on Linux.
pub fn default_db_path() -> Result<PathBuf> {
    let dirs = directories::ProjectDirs::from("", "", "shopdesk")
        .ok_or_else(|| AppError::new(ErrorCode::Io, "cannot find a home directory for the database; pass --db"))?;
    Ok(dirs.data_dir().join("shopdesk.db"))
}

/// An open Shopdesk database and the host it runs on.
pub struct App {
    store: Store,
    host: Box<dyn Host>,
    /// Pokes the reminder scheduler running over this App when follow-ups change.
    reminders: scheduler::SchedulerHandle,
}

impl App {
    /// Opens (creating if missing) the database at `path`.
    pub fn open(path: &Path, host: impl Host) -> Result<App> {
        ensure_parent_dir(path)?;
        Ok(App { store: Store::open(path)?, host: Box::new(host), reminders: scheduler::SchedulerHandle::default() })
    }

    /// What the desktop app does on start: open `path`, and if nothing exists there yet
    /// (first run, nothing configured), fill it with the demo shop first.
    pub fn open_or_create_demo(path: &Path, host: impl Host) -> Result<App> {
        if !path.exists() {
            let anchor = start_of_day(host.now(), &host.time_zone());
            create_demo(path, &DemoOptions { anchor, ..DemoOptions::default() }, false, host.now())?;
        }
        App::open(path, host)
    }

    pub fn stats(&self) -> Result<Stats> {
        let now = self.host.now();
        // "Due" means due by the end of the user's today, as the follow-ups view shows it.
        let end_of_today = start_of_day(now, &self.host.time_zone()) + DAY;
        Ok(self.store.stats(end_of_today)?)
    }

    pub fn customers(&self) -> Result<Vec<CustomerRow>> {
        Ok(self.store.customers()?)
    }

    /// The inbox. `followups_due` means due by the end of today, in the shop's time zone.
    pub fn conversations(&self, filter: &ConversationFilter) -> Result<Vec<ConversationRow>> {
        if filter.followups_due && filter.followups_due_by.is_none() {
            let mut filter = filter.clone();
            filter.followups_due_by = Some(start_of_day(self.host.now(), &self.host.time_zone()) + shopdesk_core::DAY);
            return Ok(self.store.conversations(&filter)?);
        }
        Ok(self.store.conversations(filter)?)
    }

    pub fn conversation(&self, id: ConversationId) -> Result<ConversationRow> {
        Ok(self.store.conversation(id)?)
    }

    pub fn messages(&self, conversation: ConversationId) -> Result<Vec<MessageRow>> {
        Ok(self.store.messages(conversation)?)
    }

    pub fn db_path(&self) -> Option<&Path> {
        self.store.path()
    }
}

/// Writes the demo shop to `path`. It is built in a temporary file beside `path` and
/// renamed into place, so a failure never leaves half a database. An existing database
/// holding real data is only replaced with `force`.
pub fn create_demo(path: &Path, opts: &DemoOptions, force: bool, now: Millis) -> Result<DemoSummary> {
    ensure_parent_dir(path)?;
    if path.exists() && !force {
        let existing = Store::open(path)?;
        if !existing.is_demo_or_empty()? {
            return Err(AppError::new(
                ErrorCode::WouldOverwrite,
                format!("{} holds real data; pass --force to replace it with the demo shop", path.display()),
            ));
        }
    }
    let tmp = sibling(path, ".demo-tmp");
    remove_db_files(&tmp)?;
    let result = (|| {
        let mut store = Store::open(&tmp)?;
        store.set_bulk_mode()?;
        let summary = store.write_demo(opts, now)?;
        store.close_as_single_file()?;
        Ok::<_, AppError>(summary)
    })();
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = remove_db_files(&tmp);
            return Err(e);
        }
    };
    // A stale -wal next to the new file would be replayed into it: remove both first.
    remove_db_files(path)?;
    std::fs::rename(&tmp, path).map_err(|e| AppError::io(path, e))?;
    Ok(summary)
}

/// Midnight (local time) of the day that contains `now`, as UTC milliseconds.
pub fn start_of_day(now: Millis, tz: &jiff::tz::TimeZone) -> Millis {
    jiff::Timestamp::from_millisecond(now)
        .ok()
        .and_then(|t| t.to_zoned(tz.clone()).start_of_day().ok())
        .map_or(now - now.rem_euclid(DAY), |z| z.timestamp().as_millisecond())
}

fn ensure_parent_dir(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.exists() => {
            std::fs::create_dir_all(dir).map_err(|e| AppError::io(dir, e))
        }
        _ => Ok(()),
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_db_files(path: &Path) -> Result<()> {
    for p in [path.to_owned(), sibling(path, "-wal"), sibling(path, "-shm"), sibling(path, "-journal")] {
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(AppError::io(&p, e)),
        }
    }
    Ok(())
}
