//! The desktop shell. Each command is a one-line adapter to `shopdesk_app::App`; errors
//! cross IPC as `{code, message}` (AppError's serde shape) so the UI can branch on `code`.

use shopdesk_app::{
    App, AppError, BackgroundSync, ConversationFilter, ConversationRow, ErrorCode, MessageRow, OsKeyring, SearchHit, Stats, SyncStatus, SystemHost,
};
use shopdesk_core::ConversationId;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tauri::{Emitter, Manager, State};

/// The open database, or why it could not be opened (shown in the window instead of a
/// crash: a bad --db path must not kill the app).
struct Shared(Mutex<Result<App, AppError>>);

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&App) -> Result<T, AppError>) -> Result<T, AppError> {
        let guard = self.0.lock().map_err(|_| AppError::new(ErrorCode::Internal, "the database lock was poisoned"))?;
        match &*guard {
            Ok(app) => f(app),
            Err(e) => Err(e.clone()),
        }
    }
}

#[tauri::command]
async fn list_conversations(state: State<'_, Shared>, filter: ConversationFilter) -> Result<Vec<ConversationRow>, AppError> {
    state.with(|app| app.conversations(&filter))
}

#[tauri::command]
async fn conversation_messages(state: State<'_, Shared>, conversation_id: i64) -> Result<Vec<MessageRow>, AppError> {
    state.with(|app| app.messages(ConversationId(conversation_id)))
}

#[tauri::command]
async fn stats(state: State<'_, Shared>) -> Result<Stats, AppError> {
    state.with(App::stats)
}

#[tauri::command]
async fn search(state: State<'_, Shared>, query: String, limit: u32) -> Result<Vec<SearchHit>, AppError> {
    state.with(|app| app.search(&query, limit))
}

#[tauri::command]
async fn sync_status(state: State<'_, Syncing>) -> Result<Vec<SyncStatus>, AppError> {
    Ok(state.0.as_ref().map(BackgroundSync::latest).unwrap_or_default())
}

/// `--db PATH` on the command line, else `SHOPDESK_DB`, else the data dir default.
fn db_path() -> Result<PathBuf, AppError> {
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--db"
            && let Some(path) = args.next() {
                return Ok(PathBuf::from(path));
            }
    }
    match std::env::var_os("SHOPDESK_DB") {
        Some(p) if !p.is_empty() => Ok(PathBuf::from(p)),
        _ => shopdesk_app::default_db_path(),
    }
}

/// Mail accounts sync on their own threads while the window is open; each event goes to
/// the UI as a `sync` event (SyncStatus's JSON shape).
struct Syncing(Option<BackgroundSync>);

pub fn run() {
    let path = db_path();
    let app = path.clone().and_then(|path| App::open_or_create_demo(&path, SystemHost));
    if let Err(e) = &app {
        eprintln!("shopdesk: {e}");
    }
    let sync_db = path.ok().filter(|_| app.is_ok());
    let result = tauri::Builder::default()
        .manage(Shared(Mutex::new(app)))
        .setup(move |tauri_app| {
            let handle = tauri_app.handle().clone();
            let syncing = sync_db.and_then(|db| {
                BackgroundSync::start(&db, Arc::new(OsKeyring), move |status| {
                    let _ = handle.emit("sync", status);
                })
                .inspect_err(|e| eprintln!("shopdesk: mail sync did not start: {e}"))
                .ok()
            });
            tauri_app.manage(Syncing(syncing));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![list_conversations, conversation_messages, stats, search, sync_status])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("shopdesk: the window could not start: {e}");
        std::process::exit(1);
    }
}
