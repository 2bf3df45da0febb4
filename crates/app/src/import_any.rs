//! One entry point for whatever the owner drops on the window: finds the importer (or
//! takes the one chosen) and reports in one shape.

use crate::{App, AppError, ChatImportOptions, ChatSource, ErrorCode, OrderFormat, Progress, Result};
use serde::Serialize;
use shopdesk_ingest::sniff::{Candidate, ImportKind, sniff, zip_entry_names};
use shopdesk_store::ImportProblem;
use std::io::Read;
use std::path::Path;

/// How many bytes and entry names are enough to tell an export's kind.
const HEAD_BYTES: u64 = 16 * 1024;
const MAX_ENTRIES: usize = 2_000;

/// What one import did, whatever its kind.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportOutcome {
    pub kind: ImportKind,
    pub source: String,
    pub imported: usize,
    pub duplicates: usize,
    pub problems: Vec<ImportProblem>,
}

/// Finds which importer `path` is for, from its name, first bytes or entries.
pub fn detect_kind(path: &Path) -> Result<ImportKind> {
    let meta = std::fs::metadata(path).map_err(|e| AppError::io(path, e))?;
    let mut head = Vec::new();
    let mut entries = Vec::new();
    if meta.is_dir() {
        // Two levels are enough for Maildir (cur/new) and the exports' layouts.
        for entry in std::fs::read_dir(path).map_err(|e| AppError::io(path, e))?.flatten().take(MAX_ENTRIES) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir()
                && let Ok(children) = std::fs::read_dir(entry.path())
            {
                entries.extend(children.flatten().take(50).map(|c| format!("{name}/{}", c.file_name().to_string_lossy())));
            }
            entries.push(name);
        }
    } else {
        let file = std::fs::File::open(path).map_err(|e| AppError::io(path, e))?;
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
            entries = zip_entry_names(std::io::BufReader::new(file), MAX_ENTRIES);
        } else {
            file.take(HEAD_BYTES).read_to_end(&mut head).map_err(|e| AppError::io(path, e))?;
        }
    }
    let text = path.to_string_lossy();
    sniff(&Candidate { path: &text, is_dir: meta.is_dir(), head: &head, entries: &entries }).ok_or_else(|| {
        AppError::new(
            ErrorCode::InvalidInput,
            format!(
                "{}: not a mailbox (mbox, Maildir, .eml), chat export (WhatsApp .txt/.zip, Messenger or \
                 Instagram message_N.json, Telegram result.json) or orders CSV; choose the kind by hand if it is one",
                path.display()
            ),
        )
    })
}

impl App {
    /// Imports `path` with the importer for `kind`, or the one its contents call for.
    pub fn import_path(&mut self, kind: Option<ImportKind>, path: &Path, progress: impl FnMut(Progress)) -> Result<ImportOutcome> {
        let kind = match kind {
            Some(k) => k,
            None => detect_kind(path)?,
        };
        let source = path.display().to_string();
        let (imported, duplicates, problems) = match kind {
            ImportKind::Mail => {
                let r = self.import_mail(path, &[], progress)?;
                (r.imported, r.duplicates, r.problems)
            }
            ImportKind::Orders => {
                let r = self.import_orders(path, OrderFormat::Auto, None, progress)?;
                (r.imported, r.duplicates, r.problems)
            }
            ImportKind::Whatsapp | ImportKind::Messenger | ImportKind::Instagram | ImportKind::Telegram => {
                let source_kind = match kind {
                    ImportKind::Whatsapp => ChatSource::Whatsapp,
                    ImportKind::Messenger => ChatSource::Messenger,
                    ImportKind::Instagram => ChatSource::Instagram,
                    _ => ChatSource::Telegram,
                };
                // The shop's names come from the chat_names setting (Settings screen).
                let r = self.import_chat(source_kind, path, &ChatImportOptions::default(), progress)?;
                (r.imported, r.duplicates, r.problems)
            }
        };
        Ok(ImportOutcome { kind, source, imported, duplicates, problems })
    }
}
