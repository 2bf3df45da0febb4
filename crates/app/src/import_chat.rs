//! `import whatsapp|messenger|instagram|telegram PATH`: a chat export (a file, a folder or
//! a zip, as each platform gives it) parsed whole, then stored in one transaction, so a
//! file is imported entirely or not at all. Wall-clock times (WhatsApp) are read in the
//! host's time zone. The shop's own names (`--me`, remembered in the `chat_names`
//! setting) mark outgoing lines; everyone else becomes a customer (see
//! [`shopdesk_store::Store::store_chats`]). Re-importing adds nothing.

use crate::{App, AppError, ErrorCode, Progress, Result};
use shopdesk_core::chat::{ChatExport, ChatMessage, CivilTime};
use shopdesk_core::{Channel, CustomerId, Millis};
use shopdesk_ingest::IngestError;
use shopdesk_ingest::chat::whatsapp::{self, DateOrder, WhatsappOptions};
use shopdesk_store::{
    ChatHeader, ChatStoreOptions, ChatStored, ImportProblem, ImportReport, LineKeys,
};
use std::path::Path;
use std::sync::mpsc::sync_channel;

/// Which platform an export comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatSource {
    Whatsapp,
    Messenger,
    Instagram,
    Telegram,
}

impl ChatSource {
    pub fn channel(self) -> Channel {
        match self {
            ChatSource::Whatsapp => Channel::Whatsapp,
            ChatSource::Messenger => Channel::Messenger,
            ChatSource::Instagram => Channel::Instagram,
            ChatSource::Telegram => Channel::Telegram,
        }
    }
}

/// How to import a chat export.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ChatImportOptions {
    /// The shop's names in the chat (added to the remembered `chat_names`).
    pub me: Vec<String>,
    /// WhatsApp only: overrides the date order inferred from the file.
    #[serde(skip)]
    pub date_order: Option<DateOrder>,
}

/// What a chat import did: the common report plus the conversations and customers it
/// touched.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChatImportReport {
    pub imported: usize,
    pub duplicates: usize,
    pub problems: Vec<ImportProblem>,
    pub conversations: Vec<i64>,
    pub customers: Vec<CustomerId>,
}

/// What `--dry-run` found: the file parsed, nothing stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChatDryRun {
    pub chats: usize,
    pub messages: usize,
    pub problems: Vec<ImportProblem>,
}

/// Parsed lines handed from the parsing thread to the store at a time.
const CHUNK: usize = 8192;
/// Chunks waiting between the two threads (bounds memory: about `QUEUE * CHUNK` lines).
const QUEUE: usize = 4;

impl App {
    /// Imports the chat export at `path` as `kind`. Calls `progress` as lines are stored
    /// (for a WhatsApp `.txt`, in lines of the file, continuation lines included; else in
    /// messages). Fails, importing
    /// nothing, when the file is not that kind of export (the error names the file and
    /// the first line that failed).
    ///
    /// A WhatsApp `.txt` is parsed on a second thread while this one stores it, a chunk
    /// at a time, so a million-line export is never held whole (the file's bytes are).
    pub fn import_chat(
        &mut self,
        kind: ChatSource,
        path: &Path,
        options: &ChatImportOptions,
        mut progress: impl FnMut(Progress),
    ) -> Result<ChatImportReport> {
        let started = self.host.now();
        remember_names(self, &options.me)?;
        let own_names = self.store.setting_strings("chat_names")?;
        let region = self.store.default_phone_region()?;
        let tz = self.host.time_zone();
        let to_utc = move |c: CivilTime| civil_to_utc(c, &tz);
        let source = path.display().to_string();
        let store_options = ChatStoreOptions {
            own_names: &own_names,
            phone_region: region.as_deref(),
            to_utc: &to_utc,
            source: &source,
        };
        let now = self.host.now();

        let stored = if kind == ChatSource::Whatsapp && !is_zip(path) {
            let bytes = read_text_export(path)?;
            // Lines of the file (a last line without a newline counts too).
            let total = bytes.iter().filter(|&&b| b == b'\n').count()
                + usize::from(bytes.last().is_some_and(|&b| b != b'\n'));
            progress(Progress { done: 0, total });
            let title = path
                .file_stem()
                .and_then(|s| whatsapp::title_from_file_name(&s.to_string_lossy()));
            let wa = WhatsappOptions {
                date_order: options.date_order,
                title: title.clone(),
            };
            let header = ChatHeader {
                channel: Channel::Whatsapp,
                thread_id: None,
                title: title.as_deref(),
                participants: &[],
            };
            let stored = std::thread::scope(|scope| {
                let (chunks, rx) = sync_channel::<Vec<(ChatMessage, String)>>(QUEUE);
                let (bytes, wa) = (&bytes, &wa);
                let parser = scope.spawn(move || {
                    // Keys are made here, beside the parsing, off the storing thread.
                    let mut keys = LineKeys::new(Channel::Whatsapp, None);
                    let mut chunk = Vec::with_capacity(CHUNK);
                    let parsed = whatsapp::parse_whatsapp_each(bytes, wa, |m| {
                        let key = keys.next(&m);
                        chunk.push((m, key));
                        if chunk.len() == CHUNK {
                            // A closed channel means the store failed; the rest is not needed.
                            let _ = chunks
                                .send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
                        }
                    });
                    if !chunk.is_empty() {
                        let _ = chunks.send(chunk);
                    }
                    parsed
                });
                self.store
                    .write_chats(&store_options, now, |sink| -> Result<Vec<ChatStored>> {
                        sink.begin(header)?;
                        for chunk in rx {
                            let done = chunk.last().map_or(0, |(m, _)| m.line);
                            for (m, key) in chunk {
                                sink.push_keyed(m, key)?;
                            }
                            progress(Progress {
                                done: done.min(total),
                                total,
                            });
                        }
                        let export = parser
                            .join()
                            .map_err(|_| {
                                AppError::new(
                                    ErrorCode::Internal,
                                    "the WhatsApp parser stopped unexpectedly",
                                )
                            })?
                            .map_err(|source| {
                                ingest_error(IngestError::Format {
                                    path: path.to_path_buf(),
                                    source,
                                })
                            })?;
                        Ok(vec![sink.end(&export.problems)?])
                    })
            })?;
            progress(Progress { done: total, total });
            stored
        } else {
            let exports = read_exports(kind, path, options)?;
            let total: usize = exports.iter().map(|e| e.messages.len()).sum();
            progress(Progress { done: 0, total });
            let stored = self
                .store
                .store_chats(exports, &store_options, now, &mut |done| {
                    progress(Progress { done, total })
                })?;
            progress(Progress { done: total, total });
            stored
        };

        let mut report = ChatImportReport {
            imported: 0,
            duplicates: 0,
            problems: Vec::new(),
            conversations: Vec::new(),
            customers: Vec::new(),
        };
        if own_names.is_empty() {
            report.problems.push(ImportProblem {
                location: source.clone(),
                message: "no shop names given (--me or the chat_names setting): every author was taken for a customer"
                    .to_owned(),
            });
        }
        for s in stored {
            report.imported += s.imported;
            report.duplicates += s.duplicates;
            report.problems.extend(s.problems);
            report.conversations.extend(s.conversation.map(|c| c.0));
            for c in s.customers {
                if !report.customers.contains(&c) {
                    report.customers.push(c);
                }
            }
        }
        let record = ImportReport {
            kind: kind.channel().as_str().to_owned(),
            source,
            imported: report.imported,
            duplicates: report.duplicates,
            problems: report.problems.clone(),
        };
        self.store
            .record_import(&record, started, self.host.now())?;
        Ok(report)
    }

    /// Parses the export at `path` and counts what it holds, storing nothing
    /// (`import … --dry-run`; the parsing speed benchmark).
    pub fn parse_chat(
        &self,
        kind: ChatSource,
        path: &Path,
        options: &ChatImportOptions,
    ) -> Result<ChatDryRun> {
        let source = path.display().to_string();
        let locate = |problems: &[shopdesk_core::chat::ChatProblem]| -> Vec<ImportProblem> {
            problems
                .iter()
                .map(|p| ImportProblem {
                    location: format!("{source}:{}", p.line),
                    message: p.message.clone(),
                })
                .collect()
        };
        if kind == ChatSource::Whatsapp && !is_zip(path) {
            let bytes = read_text_export(path)?;
            let wa = WhatsappOptions {
                date_order: options.date_order,
                title: None,
            };
            let mut messages = 0;
            let export = whatsapp::parse_whatsapp_each(&bytes, &wa, |_| messages += 1).map_err(
                |source| {
                    ingest_error(IngestError::Format {
                        path: path.to_path_buf(),
                        source,
                    })
                },
            )?;
            return Ok(ChatDryRun {
                chats: 1,
                messages,
                problems: locate(&export.problems),
            });
        }
        let exports = read_exports(kind, path, options)?;
        Ok(ChatDryRun {
            chats: exports.len(),
            messages: exports.iter().map(|e| e.messages.len()).sum(),
            problems: exports.iter().flat_map(|e| locate(&e.problems)).collect(),
        })
    }
}

fn is_zip(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
}

/// A WhatsApp `.txt` read whole, within the parser's size limit.
fn read_text_export(path: &Path) -> Result<Vec<u8>> {
    let io = |e| {
        ingest_error(IngestError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > whatsapp::MAX_TEXT_FILE {
        return Err(ingest_error(IngestError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: whatsapp::MAX_TEXT_FILE,
        }));
    }
    std::fs::read(path).map_err(io)
}

/// The parsed export(s) of one file, or why it is not one.
fn read_exports(
    kind: ChatSource,
    path: &Path,
    options: &ChatImportOptions,
) -> Result<Vec<ChatExport>> {
    use shopdesk_ingest::chat::{meta, telegram};
    let read = match kind {
        ChatSource::Whatsapp => {
            let wa = WhatsappOptions {
                date_order: options.date_order,
                title: None,
            };
            whatsapp::read_path(path, &wa).map(|e| vec![e])
        }
        ChatSource::Messenger | ChatSource::Instagram => meta::read_path(path, kind.channel()),
        ChatSource::Telegram => telegram::read_path(path),
    };
    read.map_err(ingest_error)
}

/// Adds `--me` names to the remembered `chat_names`, so later imports agree.
fn remember_names(app: &mut App, names: &[String]) -> Result<()> {
    let mut all = app.store.setting_strings("chat_names")?;
    let before = all.len();
    for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if !all.iter().any(|known| {
            shopdesk_store::normalize_name(known) == shopdesk_store::normalize_name(name)
        }) {
            all.push(name.to_owned());
        }
    }
    if all.len() != before {
        app.store
            .set_setting("chat_names", &serde_json::json!(all))?;
    }
    Ok(())
}

/// A wall-clock time in `tz` as UTC. A time skipped by a daylight-saving jump is read as
/// if the clock had not jumped (jiff's "compatible" rule); an impossible date (which the
/// parser does not produce) counts as the epoch rather than failing the import.
pub(crate) fn civil_to_utc(c: CivilTime, tz: &jiff::tz::TimeZone) -> Millis {
    jiff::civil::DateTime::new(
        c.year,
        c.month as i8,
        c.day as i8,
        c.hour as i8,
        c.minute as i8,
        c.second as i8,
        0,
    )
    .and_then(|dt| dt.to_zoned(tz.clone()))
    .map(|z| z.timestamp().as_millisecond())
    .unwrap_or(0)
}

/// Ingest errors as the user sees them: a file that is not the expected export is
/// invalid input (the message names the file, the format and the line).
pub(crate) fn ingest_error(e: IngestError) -> AppError {
    let code = match &e {
        IngestError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            ErrorCode::NotFound
        }
        IngestError::Io { .. } => ErrorCode::Io,
        _ => ErrorCode::InvalidInput,
    };
    AppError::new(code, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedHost;

    fn app(dir: &Path) -> App {
        let host = FixedHost {
            now: 1_700_000_000_000,
            tz: jiff::tz::TimeZone::get("Asia/Jerusalem").expect("zone"),
        };
        App::open(&dir.join("s.db"), host).expect("app")
    }

    /// WhatsApp's wall-clock times are read in the host's zone: 10:00 in Jerusalem in
    /// January (UTC+2) is 08:00 UTC; in July (UTC+3) 07:00 UTC.
    #[test]
    fn local_times_use_the_host_zone() {
        let tz = jiff::tz::TimeZone::get("Asia/Jerusalem").expect("zone");
        let at = |month| {
            civil_to_utc(
                CivilTime {
                    year: 2024,
                    month,
                    day: 15,
                    hour: 10,
                    minute: 0,
                    second: 0,
                },
                &tz,
            )
        };
        assert_eq!(
            jiff::Timestamp::from_millisecond(at(1))
                .expect("ts")
                .to_string(),
            "2024-01-15T08:00:00Z"
        );
        assert_eq!(
            jiff::Timestamp::from_millisecond(at(7))
                .expect("ts")
                .to_string(),
            "2024-07-15T07:00:00Z"
        );
    }

    /// A file that is not a WhatsApp chat fails with InvalidInput naming the file and a
    /// line, and leaves the database without messages or an import record.
    #[test]
    fn not_a_chat_imports_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("notes.txt");
        std::fs::write(&file, "shopping list\nmilk\n").expect("write");
        let mut app = app(dir.path());
        let err = app
            .import_chat(
                ChatSource::Whatsapp,
                &file,
                &ChatImportOptions::default(),
                |_| {},
            )
            .expect_err("refused");
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(
            err.message.contains("notes.txt") && err.message.contains("line 1"),
            "{}",
            err.message
        );
        assert_eq!(app.stats().expect("stats").messages, 0);
    }

    /// `--me` names are remembered: a second import without `--me` still marks them as
    /// the shop, and progress ends at the file's line count.
    #[test]
    fn me_names_are_remembered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("WhatsApp Chat with Anna.txt");
        std::fs::write(
            &file,
            "01/02/2024, 10:00 - Anna: hi\n01/02/2024, 10:01 - Dana Shop: hello\n",
        )
        .expect("write");
        let mut app = app(dir.path());
        let opts = ChatImportOptions {
            me: vec!["Dana Shop".into()],
            date_order: None,
        };
        let mut last = None;
        let report = app
            .import_chat(ChatSource::Whatsapp, &file, &opts, |p| last = Some(p))
            .expect("import");
        assert_eq!((report.imported, report.customers.len()), (2, 1));
        assert_eq!(last, Some(Progress { done: 2, total: 2 }));
        std::fs::write(&file, "01/02/2024, 10:00 - Anna: hi\n01/02/2024, 10:01 - Dana Shop: hello\n01/02/2024, 10:02 - Dana Shop: bye\n")
            .expect("write");
        let again = app
            .import_chat(
                ChatSource::Whatsapp,
                &file,
                &ChatImportOptions::default(),
                |_| {},
            )
            .expect("again");
        assert_eq!(
            (again.imported, again.duplicates, again.customers.len()),
            (1, 2, 1)
        );
        assert!(again.problems.is_empty(), "{:?}", again.problems);
        assert_eq!(app.customers().expect("customers").len(), 1);
    }
}
