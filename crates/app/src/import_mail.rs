//! `import mail PATH`: an mbox file, a Maildir(++) tree, one .eml, or a folder of .eml
//! files (Google Takeout, Thunderbird). Every message is parsed and stored on its own, so
//! one bad message is a problem in the report, never the end of the import; re-importing
//! adds nothing (source keys).

use crate::{App, AppError, ErrorCode, Result};
use shopdesk_ingest::mail::{is_maildir, parse_email, source_key, split_mbox, walk_maildir};
use shopdesk_store::{EmailInput, EmailLocation, ImportProblem, ImportReport, Stored};
use std::path::{Path, PathBuf};

/// Import progress for a progress bar: messages done out of total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

/// One message to import and where it came from.
struct Item {
    location: String,
    raw: std::result::Result<Vec<u8>, String>,
}

impl App {
    /// Imports the mail at `path`; `own` adds addresses that mark mail as the shop's own
    /// (kept for later imports). Calls `progress` after each message.
    pub fn import_mail(&mut self, path: &Path, own: &[String], mut progress: impl FnMut(Progress)) -> Result<ImportReport> {
        let started = self.host.now();
        self.store.add_own_addresses(own)?;
        let own_addresses = self.store.own_addresses()?;
        let items = collect(path)?;
        let mut report = ImportReport { kind: "mail".into(), source: path.display().to_string(), ..Default::default() };
        let total = items.len();
        for (done, item) in items.into_iter().enumerate() {
            let raw = match item.raw {
                Ok(raw) => raw,
                Err(message) => {
                    report.problems.push(ImportProblem { location: item.location, message });
                    continue;
                }
            };
            let parsed = parse_email(&raw);
            let key = source_key(&parsed);
            let input = EmailInput {
                parsed: &parsed,
                source_key: &key,
                own_addresses: &own_addresses,
                location: EmailLocation::File { path: item.location.clone() },
            };
            match self.store.store_email(&input, self.host.now()) {
                Ok(Stored::New { .. }) => report.imported += 1,
                Ok(Stored::Duplicate { .. }) => report.duplicates += 1,
                Err(e) => report.problems.push(ImportProblem { location: item.location.clone(), message: e.to_string() }),
            }
            for p in &parsed.problems {
                report.problems.push(ImportProblem { location: item.location.clone(), message: p.clone() });
            }
            progress(Progress { done: done + 1, total });
        }
        self.store.record_import(&report, started, self.host.now())?;
        Ok(report)
    }
}

/// Lists the messages under `path` in a stable order, without parsing them.
fn collect(path: &Path) -> Result<Vec<Item>> {
    let meta = std::fs::metadata(path).map_err(|e| AppError::io(path, e))?;
    if meta.is_dir() {
        if is_maildir(path) {
            return maildir_items(path);
        }
        let (mut files, mut maildirs) = (Vec::new(), Vec::new());
        walk(path, &mut files, &mut maildirs).map_err(|e| AppError::io(path, e))?;
        files.sort();
        maildirs.sort();
        let mut items = Vec::new();
        for dir in maildirs {
            items.extend(maildir_items(&dir)?);
        }
        for file in files {
            items.extend(file_items(&file)?);
        }
        if items.is_empty() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("{}: no mail found (expected .eml files, mbox files or a Maildir)", path.display()),
            ));
        }
        return Ok(items);
    }
    file_items(path)
}

fn maildir_items(root: &Path) -> Result<Vec<Item>> {
    let entries = walk_maildir(root).map_err(|e| AppError::new(ErrorCode::Io, e.to_string()))?;
    Ok(entries.into_iter().map(|e| Item { location: e.path.display().to_string(), raw: read(&e.path) }).collect())
}

/// An mbox file gives one item per message (located by line), anything else one item.
fn file_items(path: &Path) -> Result<Vec<Item>> {
    let bytes = std::fs::read(path).map_err(|e| AppError::io(path, e))?;
    if bytes.starts_with(b"From ") {
        return Ok(split_mbox(&bytes)
            .into_iter()
            .map(|m| Item { location: format!("{}:{}", path.display(), m.line), raw: Ok(m.raw) })
            .collect());
    }
    if bytes.is_empty() {
        return Ok(vec![Item { location: path.display().to_string(), raw: Err("empty file".into()) }]);
    }
    Ok(vec![Item { location: path.display().to_string(), raw: Ok(bytes) }])
}

fn read(path: &Path) -> std::result::Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| e.to_string())
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
