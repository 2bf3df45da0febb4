//! `import mail PATH`: an mbox file, a Maildir(++) tree, one .eml, or a folder of .eml
//! files (Google Takeout, Thunderbird). Every message is parsed and stored on its own, so
//! one bad message is a problem in the report, never the end of the import; re-importing
//! adds nothing (source keys).
//!
//! Speed and memory: the tree is listed first (paths only; an mbox file is read once to
//! count its messages), then a second thread reads and parses message after message while
//! this one stores them, a few hundred per transaction (see
//! [`shopdesk_store::Store::store_emails`]: one failing message still fails alone). At
//! most `QUEUE + BATCH_MESSAGES` messages (and about `BATCH_BYTES` of them) are in memory
//! at any time, whatever the size of the mailbox; an mbox file is held whole while its
//! messages are imported.

use crate::{App, AppError, ErrorCode, Result};
use shopdesk_core::email::ParsedEmail;
use shopdesk_ingest::mail::{is_maildir, parse_email, source_key, split_mbox, walk_maildir};
use shopdesk_store::{EmailInput, EmailLocation, ImportProblem, ImportReport, Stored};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Messages stored per transaction: one commit (and WAL sync) for each batch.
const BATCH_MESSAGES: usize = 256;
/// A batch is also stored once the raw messages in it add up to this many bytes.
const BATCH_BYTES: usize = 32 << 20;
/// Parsed messages waiting between the parsing thread and the writer.
const QUEUE: usize = 32;

/// Import progress for a progress bar: messages done out of total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// Where messages come from, listed before anything is parsed.
enum Source {
    /// One message file (a Maildir entry, an .eml), read when its turn comes.
    File(PathBuf),
    /// An mbox file; `count` messages (for progress), split when its turn comes.
    Mbox { path: PathBuf, count: usize },
    /// A file that holds no message (empty), reported as a problem.
    Unreadable { location: String, message: String },
}

impl Source {
    fn count(&self) -> usize {
        match self {
            Source::Mbox { count, .. } => *count,
            _ => 1,
        }
    }
}

/// One message, parsed (or why it could not be read), on its way to the writer.
struct Item {
    location: String,
    content: std::result::Result<Parsed, String>,
}

struct Parsed {
    email: ParsedEmail,
    key: String,
    raw_len: usize,
}

impl App {
    /// Imports the mail at `path`; `own` adds addresses that mark mail as the shop's own
    /// (kept for later imports). Calls `progress` after each message.
    pub fn import_mail(&mut self, path: &Path, own: &[String], mut progress: impl FnMut(Progress)) -> Result<ImportReport> {
        let started = self.host.now();
        self.store.add_own_addresses(own)?;
        let own_addresses = self.store.own_addresses()?;
        let sources = collect(path)?;
        let mut report = ImportReport { kind: "mail".into(), source: path.display().to_string(), ..Default::default() };
        let total = sources.iter().map(Source::count).sum();
        let mut writer = Writer { app: self, own_addresses: &own_addresses, report: &mut report, total, done: 0 };
        std::thread::scope(|scope| -> Result<()> {
            let (tx, rx) = sync_channel(QUEUE);
            scope.spawn(move || read_and_parse(sources, tx));
            writer.run(rx, &mut progress)
        })?;
        self.store.record_import(&report, started, self.host.now())?;
        Ok(report)
    }
}

/// The parsing thread: reads and parses each message in order. Stops early when the
/// writer has gone (it failed).
fn read_and_parse(sources: Vec<Source>, tx: SyncSender<Item>) {
    let parse = |location: String, raw: Vec<u8>| {
        let email = parse_email(&raw);
        let key = source_key(&email);
        Item { location, content: Ok(Parsed { email, key, raw_len: raw.len() }) }
    };
    for source in sources {
        let sent = match source {
            Source::File(path) => {
                let location = path.display().to_string();
                let item = match std::fs::read(&path) {
                    Ok(raw) => parse(location, raw),
                    Err(e) => Item { location, content: Err(e.to_string()) },
                };
                tx.send(item).is_ok()
            }
            Source::Mbox { path, .. } => match std::fs::read(&path) {
                Ok(bytes) => {
                    let entries = split_mbox(&bytes);
                    drop(bytes);
                    entries.into_iter().all(|m| tx.send(parse(format!("{}:{}", path.display(), m.line), m.raw)).is_ok())
                }
                Err(e) => tx.send(Item { location: path.display().to_string(), content: Err(e.to_string()) }).is_ok(),
            },
            Source::Unreadable { location, message } => tx.send(Item { location, content: Err(message) }).is_ok(),
        };
        if !sent {
            return;
        }
    }
}

/// The storing side: batches parsed messages into transactions and keeps the report in
/// message order (a message's store problem first, then its parse problems).
struct Writer<'a> {
    app: &'a mut App,
    own_addresses: &'a [String],
    report: &'a mut ImportReport,
    total: usize,
    /// Messages taken off the queue so far, read failures included.
    done: usize,
}

impl Writer<'_> {
    fn run(&mut self, rx: Receiver<Item>, progress: &mut impl FnMut(Progress)) -> Result<()> {
        let mut batch: Vec<Item> = Vec::with_capacity(BATCH_MESSAGES);
        let mut bytes = 0;
        for item in rx {
            bytes += item.content.as_ref().map_or(0, |p| p.raw_len);
            batch.push(item);
            if batch.len() >= BATCH_MESSAGES || bytes >= BATCH_BYTES {
                self.flush(&mut batch, progress)?;
                bytes = 0;
            }
        }
        self.flush(&mut batch, progress)
    }

    fn flush(&mut self, batch: &mut Vec<Item>, progress: &mut impl FnMut(Progress)) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let inputs: Vec<EmailInput<'_>> = batch
            .iter()
            .filter_map(|item| {
                let parsed = item.content.as_ref().ok()?;
                Some(EmailInput {
                    parsed: &parsed.email,
                    source_key: &parsed.key,
                    own_addresses: self.own_addresses,
                    location: EmailLocation::File { path: item.location.clone() },
                })
            })
            .collect();
        let now = self.app.host.now();
        // A failed transaction loses the whole batch: each of its messages gets the error.
        let stored: Vec<std::result::Result<Stored, String>> = match self.app.store.store_emails(&inputs, now) {
            Ok(results) => results.into_iter().map(|r| r.map_err(|e| e.to_string())).collect(),
            Err(e) => vec![Err(e.to_string()); inputs.len()],
        };
        drop(inputs);
        let mut stored = stored.into_iter();
        for item in batch.drain(..) {
            self.done += 1;
            let parsed = match item.content {
                Ok(parsed) => parsed,
                Err(message) => {
                    self.report.problems.push(ImportProblem { location: item.location, message });
                    continue;
                }
            };
            match stored.next() {
                Some(Ok(Stored::New { .. })) => self.report.imported += 1,
                Some(Ok(Stored::Duplicate { .. })) => self.report.duplicates += 1,
                Some(Err(message)) => self.report.problems.push(ImportProblem { location: item.location.clone(), message }),
                None => {}
            }
            for p in &parsed.email.problems {
                self.report.problems.push(ImportProblem { location: item.location.clone(), message: p.clone() });
            }
            progress(Progress { done: self.done, total: self.total });
        }
        Ok(())
    }
}

/// Lists the messages under `path` in a stable order, without parsing them.
fn collect(path: &Path) -> Result<Vec<Source>> {
    let meta = std::fs::metadata(path).map_err(|e| AppError::io(path, e))?;
    if meta.is_dir() {
        if is_maildir(path) {
            return maildir_sources(path);
        }
        let (mut files, mut maildirs) = (Vec::new(), Vec::new());
        walk(path, &mut files, &mut maildirs).map_err(|e| AppError::io(path, e))?;
        files.sort();
        maildirs.sort();
        let mut sources = Vec::new();
        for dir in maildirs {
            sources.extend(maildir_sources(&dir)?);
        }
        for file in files {
            sources.push(file_source(&file)?);
        }
        if sources.iter().map(Source::count).sum::<usize>() == 0 {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("{}: no mail found (expected .eml files, mbox files or a Maildir)", path.display()),
            ));
        }
        return Ok(sources);
    }
    Ok(vec![file_source(path)?])
}

fn maildir_sources(root: &Path) -> Result<Vec<Source>> {
    let entries = walk_maildir(root).map_err(|e| AppError::new(ErrorCode::Io, e.to_string()))?;
    Ok(entries.into_iter().map(|e| Source::File(e.path)).collect())
}

/// An mbox file gives one item per message (located by line), anything else one item.
/// Only an mbox file is read in full here (to count its messages); others are read when
/// their turn comes.
fn file_source(path: &Path) -> Result<Source> {
    let mut head = Vec::with_capacity(5);
    std::fs::File::open(path).and_then(|f| f.take(5).read_to_end(&mut head)).map_err(|e| AppError::io(path, e))?;
    if head.starts_with(b"From ") {
        let bytes = std::fs::read(path).map_err(|e| AppError::io(path, e))?;
        return Ok(Source::Mbox { path: path.to_owned(), count: split_mbox(&bytes).len() });
    }
    if head.is_empty() {
        return Ok(Source::Unreadable { location: path.display().to_string(), message: "empty file".into() });
    }
    Ok(Source::File(path.to_owned()))
}

/// Mail files in a folder tree (`.eml`, `.mbox`, extension-less mbox files as Thunderbird
/// keeps them) and Maildirs inside it.
fn walk(dir: &Path, out: &mut Vec<PathBuf>, maildirs: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if is_maildir(&path) {
                maildirs.push(path);
            } else {
                walk(&path, out, maildirs)?;
            }
        } else if kind.is_file() {
            let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
            let looks_like_mail = match ext.as_deref() {
                Some("eml") | Some("mbox") | Some("mbx") => true,
                None => starts_with_from(&path),
                _ => false,
            };
            if looks_like_mail {
                out.push(path);
            }
        }
    }
    Ok(())
}

fn starts_with_from(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 5];
    std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && &head == b"From "
}
