//! The desktop shell. Each command is a one-line adapter to `shopdesk_app::App`; errors
//! cross IPC as `{code, message}` (AppError's serde shape) so the UI can branch on `code`.
//!
//! Beside the window run: mail sync per account (`sync` events), the outbox delivery
//! loop, and the reminder scheduler (follow-ups, timed snoozes) whose desktop
//! notifications open the customer in the window (`open` events) and whose due count is
//! the tray badge.

use shopdesk_app::notify::{DesktopNotifier, OpenTarget};
use shopdesk_app::scheduler::{Scheduler, SchedulerOptions};
use shopdesk_app::{
    Account, AccountListing, App, AppError, BackgroundDelivery, BackgroundSync, ConversationFilter, ConversationRow, CustomerChange,
    CustomerView, ErrorCode, FollowupListing, FollowupRow, FollowupRule, ImportKind, ImportOutcome, MessageRow, NoteRow, NoteTarget,
    OsKeyring, OutboxEntry, Rendered, ReplyDraft, RuleTrigger, Saved, SearchHit, SnoozeUntil, SplitOutcome, Stats, SyncStatus, SystemHost,
    TeamMember, TemplateRow,
};
use shopdesk_core::{ConversationId, CustomerId, FollowupId, Status};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, Emitter, Manager, State};

/// The open database, or why it could not be opened (shown in the window instead of a
/// crash: a bad --db path must not kill the app). The scheduler shares the same `App`, so
/// a change made in the window wakes it at once.
struct Shared(Result<Arc<Mutex<App>>, AppError>);

impl Shared {
    fn app(&self) -> Result<&Arc<Mutex<App>>, AppError> {
        self.0.as_ref().map_err(Clone::clone)
    }

    fn with<T>(&self, f: impl FnOnce(&App) -> Result<T, AppError>) -> Result<T, AppError> {
        f(&*lock(self.app()?)?)
    }

    fn with_mut<T>(&self, f: impl FnOnce(&mut App) -> Result<T, AppError>) -> Result<T, AppError> {
        f(&mut *lock(self.app()?)?)
    }

    /// For work that may take a while (keyring lookups, server logins): off the runtime.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut App) -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let app = self.app()?.clone();
        off_runtime(move || f(&mut *lock(&app)?)).await
    }
}

fn lock(app: &Mutex<App>) -> Result<std::sync::MutexGuard<'_, App>, AppError> {
    app.lock().map_err(|_| AppError::new(ErrorCode::Internal, "the database lock was poisoned"))
}

/// Runs blocking work on Tauri's blocking pool, so the async runtime keeps answering.
async fn off_runtime<T: Send + 'static>(f: impl FnOnce() -> Result<T, AppError> + Send + 'static) -> Result<T, AppError> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| AppError::new(ErrorCode::Internal, format!("background task failed: {e}")))?
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

/// Follow-ups due now: the tray badge and the window's count.
#[tauri::command]
async fn due_count(state: State<'_, Shared>) -> Result<i64, AppError> {
    state.with(App::due_count)
}

#[tauri::command]
async fn customer_view(state: State<'_, Shared>, customer_id: i64) -> Result<CustomerView, AppError> {
    state.with(|app| app.customer_view(CustomerId(customer_id)))
}

#[tauri::command]
async fn set_status(state: State<'_, Shared>, conversation_id: i64, status: Status) -> Result<ConversationRow, AppError> {
    state.with_mut(|app| app.set_conversation_status(ConversationId(conversation_id), status))
}

/// `until`: free text ("tomorrow 9:00", "+3d"); `None` until the customer replies.
#[tauri::command]
async fn snooze(state: State<'_, Shared>, conversation_id: i64, until: Option<String>) -> Result<ConversationRow, AppError> {
    state.with_mut(|app| {
        let until = match until {
            Some(text) => SnoozeUntil::Time(app.parse_when(&text)?),
            None => SnoozeUntil::Reply,
        };
        app.snooze_conversation(ConversationId(conversation_id), until)
    })
}

#[tauri::command]
async fn tag(state: State<'_, Shared>, conversation_id: i64, tag: String) -> Result<ConversationRow, AppError> {
    state.with_mut(|app| app.tag_conversation(ConversationId(conversation_id), &tag))
}

#[tauri::command]
async fn untag(state: State<'_, Shared>, conversation_id: i64, tag: String) -> Result<ConversationRow, AppError> {
    state.with_mut(|app| app.untag_conversation(ConversationId(conversation_id), &tag))
}

#[tauri::command]
async fn assign(state: State<'_, Shared>, conversation_id: i64, member: Option<String>) -> Result<ConversationRow, AppError> {
    state.with_mut(|app| app.assign_conversation(ConversationId(conversation_id), member.as_deref()))
}

#[tauri::command]
async fn add_note(state: State<'_, Shared>, customer_id: i64, conversation_id: Option<i64>, body: String) -> Result<NoteRow, AppError> {
    let target = conversation_id.map_or(NoteTarget::Customer(CustomerId(customer_id)), |c| NoteTarget::Conversation(ConversationId(c)));
    state.with_mut(|app| app.add_note(target, &body))
}

/// Queues the reply (it is on the timeline when this returns) and wakes the delivery loop.
#[tauri::command]
async fn reply(state: State<'_, Shared>, delivery: State<'_, Delivering>, conversation_id: i64, draft: ReplyDraft) -> Result<OutboxEntry, AppError> {
    let entry = state.with_mut(|app| app.reply(ConversationId(conversation_id), &draft))?;
    if let Some(d) = &delivery.0 {
        d.wake();
    }
    Ok(entry)
}

#[derive(serde::Serialize)]
struct ChatReply {
    message_id: i64,
    link: Option<String>,
}

#[tauri::command]
async fn chat_reply(state: State<'_, Shared>, conversation_id: i64, body: String, how: String) -> Result<ChatReply, AppError> {
    let (id, link) = state.with_mut(|app| app.log_chat_reply(ConversationId(conversation_id), &body, &how))?;
    Ok(ChatReply { message_id: id.0, link })
}

#[tauri::command]
async fn templates(state: State<'_, Shared>) -> Result<Vec<TemplateRow>, AppError> {
    state.with(App::templates)
}

#[tauri::command]
async fn render_template(state: State<'_, Shared>, name: String, conversation_id: i64) -> Result<Rendered, AppError> {
    state.with(|app| app.render_template(&name, ConversationId(conversation_id)))
}

#[tauri::command]
async fn save_template(state: State<'_, Shared>, name: String, language: String, subject: Option<String>, body: String) -> Result<Saved, AppError> {
    state.with_mut(|app| app.save_template(&name, &language, subject.as_deref(), &body))
}

#[tauri::command]
async fn followups(state: State<'_, Shared>, listing: String) -> Result<Vec<FollowupRow>, AppError> {
    let listing = if listing == "due" { FollowupListing::Due } else { FollowupListing::Pending };
    state.with(|app| app.followups(listing))
}

#[tauri::command]
async fn add_followup(state: State<'_, Shared>, customer_id: i64, conversation_id: Option<i64>, when: String, note: String) -> Result<FollowupRow, AppError> {
    state.with_mut(|app| {
        let due = app.parse_when(&when)?;
        app.add_followup(CustomerId(customer_id), conversation_id.map(ConversationId), due, &note, false)
    })
}

#[tauri::command]
async fn finish_followup(state: State<'_, Shared>, id: i64) -> Result<(), AppError> {
    state.with_mut(|app| app.finish_followup(FollowupId(id)))
}

#[tauri::command]
async fn cancel_followup(state: State<'_, Shared>, id: i64) -> Result<(), AppError> {
    state.with_mut(|app| app.cancel_followup(FollowupId(id)))
}

#[tauri::command]
async fn snooze_followup(state: State<'_, Shared>, id: i64, when: String) -> Result<FollowupRow, AppError> {
    state.with_mut(|app| {
        let until = app.parse_when(&when)?;
        app.snooze_followup(FollowupId(id), until)
    })
}

#[tauri::command]
async fn followup_rules(state: State<'_, Shared>) -> Result<Vec<FollowupRule>, AppError> {
    state.with(App::followup_rules)
}

#[tauri::command]
async fn add_followup_rule(state: State<'_, Shared>, name: String, trigger: RuleTrigger, days: i64, template: Option<String>) -> Result<FollowupRule, AppError> {
    state.with_mut(|app| app.add_followup_rule(&name, trigger, days, template.as_deref()))
}

#[tauri::command]
async fn set_followup_rule_enabled(state: State<'_, Shared>, id: i64, enabled: bool) -> Result<(), AppError> {
    state.with_mut(|app| app.set_followup_rule_enabled(id, enabled))
}

/// The time free text stands for, as RFC 3339 (the preview under a date field).
#[tauri::command]
async fn parse_when(state: State<'_, Shared>, text: String) -> Result<String, AppError> {
    let at = state.with(|app| app.parse_when(&text))?;
    Ok(shopdesk_app::rfc3339(at))
}

#[tauri::command]
async fn settings(state: State<'_, Shared>) -> Result<serde_json::Map<String, serde_json::Value>, AppError> {
    state.with(App::settings)
}

#[tauri::command]
async fn set_setting(state: State<'_, Shared>, key: String, value: String) -> Result<serde_json::Value, AppError> {
    state.with_mut(|app| app.set_setting(&key, &value))
}

#[tauri::command]
async fn team(state: State<'_, Shared>) -> Result<Vec<TeamMember>, AppError> {
    state.with(App::team_members)
}

#[tauri::command]
async fn set_me(state: State<'_, Shared>, member: String) -> Result<TeamMember, AppError> {
    state.with_mut(|app| app.set_me(&member))
}

#[derive(Clone, serde::Serialize)]
struct ImportProgress {
    source: String,
    done: usize,
    total: usize,
}

/// Imports a file or folder (kind `auto`: found from its contents), with `import-progress`
/// events for the progress bar.
#[tauri::command]
async fn import_file(handle: AppHandle, state: State<'_, Shared>, kind: String, path: String) -> Result<ImportOutcome, AppError> {
    let kind: Option<ImportKind> = match kind.as_str() {
        "auto" => None,
        other => Some(other.parse()?),
    };
    // Its own connection (as sync and delivery have), so the window stays usable while a
    // big export is read; SQLite serialises the writes.
    let db = state.with(|app| app.db_path().map(std::path::Path::to_path_buf).ok_or_else(|| AppError::new(ErrorCode::Internal, "the database has no file")))?;
    let source = path.clone();
    let outcome = off_runtime(move || {
        let mut app = App::open(&db, SystemHost)?;
        let mut last = std::time::Instant::now();
        app.import_path(kind, std::path::Path::new(&path), |p| {
            // A few events a second are enough for a progress bar.
            if p.done == p.total || last.elapsed() >= std::time::Duration::from_millis(100) {
                last = std::time::Instant::now();
                let _ = handle.emit("import-progress", ImportProgress { source: source.clone(), done: p.done, total: p.total });
            }
        })
    })
    .await?;
    // Imported orders may start follow-up rules: wake the scheduler now, not in a minute.
    state.with(|app| {
        app.followups_changed();
        Ok(())
    })?;
    Ok(outcome)
}

#[tauri::command]
async fn accounts(state: State<'_, Shared>) -> Result<Vec<AccountListing>, AppError> {
    state.blocking(|app| app.accounts(&OsKeyring)).await
}

#[tauri::command]
async fn add_account(state: State<'_, Shared>, account: Account, password: String) -> Result<i64, AppError> {
    state.blocking(move |app| app.add_account(&account, &password, &OsKeyring)).await
}

#[tauri::command]
async fn test_account(state: State<'_, Shared>, account: Account, password: String) -> Result<(), AppError> {
    state.blocking(move |app| app.test_account(&account, &password)).await
}

#[tauri::command]
async fn merge_customers(state: State<'_, Shared>, keep: i64, absorbed: i64) -> Result<i64, AppError> {
    state.with_mut(|app| app.merge_customers(CustomerId(keep), CustomerId(absorbed)))
}

#[tauri::command]
async fn split_customer(state: State<'_, Shared>, customer_id: i64, identity: String) -> Result<SplitOutcome, AppError> {
    state.with_mut(|app| app.split_customer(CustomerId(customer_id), &identity))
}

#[tauri::command]
async fn undo_customer_change(state: State<'_, Shared>, change: i64) -> Result<CustomerChange, AppError> {
    state.with_mut(|app| app.undo_customer_change(change))
}

/// Opens an attachment with the desktop's default viewer (a copy in a private temp
/// folder, so the viewer never gets the content-addressed store).
#[tauri::command]
async fn open_attachment(state: State<'_, Shared>, id: i64) -> Result<(), AppError> {
    let dir = std::env::temp_dir().join(format!("shopdesk-attachments-{}", std::process::id())).join(id.to_string());
    let path = state.with(|app| app.export_attachment(id, &dir))?;
    std::process::Command::new("xdg-open")
        .arg(&path)
        .spawn()
        .map(drop)
        .map_err(|e| AppError::new(ErrorCode::Io, format!("opening {}: {e}", path.display())))
}

/// Saves an attachment into the Downloads folder; returns where it went.
#[tauri::command]
async fn save_attachment(state: State<'_, Shared>, id: i64) -> Result<String, AppError> {
    let dir = directories::UserDirs::new()
        .and_then(|d| d.download_dir().map(std::path::Path::to_path_buf))
        .or_else(|| directories::UserDirs::new().map(|d| d.home_dir().to_path_buf()))
        .ok_or_else(|| AppError::new(ErrorCode::Io, "no Downloads or home folder"))?;
    state.with(|app| app.export_attachment(id, &dir)).map(|p| p.display().to_string())
}

/// What `bench/desktop` asks the window to do (env `SHOPDESK_BENCH_CUSTOMER`,
/// `SHOPDESK_BENCH_OTHER_CUSTOMER`, `SHOPDESK_BENCH_QUERIES` `|`-separated); `None` in
/// normal use.
#[derive(serde::Serialize)]
struct BenchPlan {
    customer_id: i64,
    other_customer_id: Option<i64>,
    queries: Vec<String>,
}

#[tauri::command]
async fn bench_plan() -> Result<Option<BenchPlan>, AppError> {
    let Ok(customer) = std::env::var("SHOPDESK_BENCH_CUSTOMER") else { return Ok(None) };
    let customer_id = customer.parse().map_err(|_| AppError::new(ErrorCode::InvalidInput, "SHOPDESK_BENCH_CUSTOMER must be a customer id"))?;
    let queries = std::env::var("SHOPDESK_BENCH_QUERIES").unwrap_or_default().split('|').filter(|q| !q.is_empty()).map(str::to_owned).collect();
    let other_customer_id = std::env::var("SHOPDESK_BENCH_OTHER_CUSTOMER").ok().and_then(|v| v.parse().ok());
    Ok(Some(BenchPlan { customer_id, other_customer_id, queries }))
}

/// A figure the window measured in bench mode, printed for `bench/desktop` with the wall
/// clock (for cold start) and this process's RSS; `done` ends the app.
#[tauri::command]
async fn bench_report(handle: AppHandle, phase: String, ms: f64) -> Result<(), AppError> {
    let epoch_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let me = std::process::id();
    // WebKit renders in child processes: report them too, so no memory hides there.
    let children: u64 = child_pids(me).into_iter().map(rss_kb).sum();
    println!("SHOPDESK_BENCH phase={phase} ms={ms:.1} epoch_ms={epoch_ms} rss_kb={} webkit_rss_kb={children}", rss_kb(me));
    if phase == "done" {
        handle.exit(0);
    }
    Ok(())
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// Direct children of `parent` (from /proc/PID/stat's 4th field).
fn child_pids(parent: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else { return Vec::new() };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok()))
                == Some(parent)
        })
        .collect()
}

/// `--db PATH` on the command line, else `SHOPDESK_DB`, else the data dir default.
fn db_path() -> Result<PathBuf, AppError> {
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--db"
            && let Some(path) = args.next()
        {
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

/// The outbox delivery loop (kept so it lives as long as the window).
struct Delivering(#[allow(dead_code)] Option<BackgroundDelivery>);

/// Desktop notifications whose click opens what they name in the window.
fn window_notifier(handle: &AppHandle) -> DesktopNotifier {
    let handle = handle.clone();
    DesktopNotifier::new(Some(Arc::new(move |target| open_in_window(&handle, target))))
}

/// Shows the window and asks the UI to open what a clicked notification names.
fn open_in_window(handle: &AppHandle, target: OpenTarget) {
    if let Some(window) = handle.get_webview_window("main") {
        let _ = window.show();
        let _ = window.set_focus();
    }
    let _ = handle.emit("open", target);
}

/// The tray icon's label is the number of follow-ups due (empty when none). A desktop
/// without a tray (or a test display) simply has no icon; nothing else depends on it.
fn update_badge(handle: &AppHandle, app: &Arc<Mutex<App>>) {
    let due = app.lock().ok().and_then(|a| a.due_count().ok()).unwrap_or(0);
    if let Some(tray) = handle.tray_by_id("main") {
        let _ = tray.set_title((due > 0).then(|| due.to_string()));
        let _ = tray.set_tooltip(Some(format!("Shopdesk: {due} follow-ups due")));
    }
    let _ = handle.emit("due", due);
}

/// Starts the reminder scheduler on Tauri's async runtime, with desktop notifications.
fn start_reminders(handle: &AppHandle, app: &Arc<Mutex<App>>) {
    let notifier = window_notifier(handle);
    let badge = (handle.clone(), app.clone());
    let scheduler = Scheduler::new(app.clone(), Arc::new(notifier), SchedulerOptions::default())
        .on_event(move |_| update_badge(&badge.0, &badge.1));
    tauri::async_runtime::spawn(scheduler.run());
}

fn start_tray(tauri_app: &tauri::App) {
    let Some(icon) = tauri_app.default_window_icon().cloned() else { return };
    if let Err(e) = tauri::tray::TrayIconBuilder::with_id("main").icon(icon).tooltip("Shopdesk").build(tauri_app) {
        eprintln!("shopdesk: no tray icon: {e}");
    }
}

/// Without a GPU (no /dev/dri render node: a VM, Xvfb, remote desktop) WebKitGTK still
/// composites through software OpenGL, which makes every frame cost ~100 ms (bench/desktop:
/// search 200 ms → 80 ms, opening a customer 170 ms → 90 ms without it). Such machines
/// restart the process once with accelerated compositing off. The variable must be set
/// before WebKit starts, and setting it in-process would need `unsafe`; `exec` keeps the
/// process id, so WebDriver and process managers see one app. A user's own setting wins.
#[cfg(target_os = "linux")]
pub fn without_gpu_use_software_compositing() {
    use std::os::unix::process::CommandExt;
    const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    let has_gpu = std::fs::read_dir("/dev/dri")
        .map(|dir| dir.flatten().any(|e| e.file_name().to_string_lossy().starts_with("renderD")))
        .unwrap_or(false);
    if has_gpu {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let err = std::process::Command::new(exe).args(std::env::args_os().skip(1)).env(VAR, "1").exec();
    eprintln!("shopdesk: could not restart with software compositing ({err}); going on as is");
}

pub fn run() {
    let path = db_path();
    let app = path.clone().and_then(|path| App::open_or_create_demo(&path, SystemHost)).map(|a| Arc::new(Mutex::new(a)));
    if let Err(e) = &app {
        eprintln!("shopdesk: {e}");
    }
    let db = path.ok().filter(|_| app.is_ok());
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(Shared(app.clone()))
        .setup(move |tauri_app| {
            let handle = tauri_app.handle().clone();
            start_tray(tauri_app);
            if let Ok(app) = &app {
                start_reminders(&handle, app);
                update_badge(&handle, app);
            }
            let sync_handle = handle.clone();
            let notify_app = app.as_ref().ok().cloned();
            let mail_notifier = window_notifier(&handle);
            let syncing = db.as_ref().and_then(|db| {
                BackgroundSync::start(db, Arc::new(OsKeyring), move |status| {
                    // New customer mail while the window is open (setting notify_new_mail).
                    if let (SyncStatus::Synced { report, .. }, Some(app)) = (&status, &notify_app)
                        && let Ok(app) = app.lock()
                        && let Err(e) = app.notify_new_mail(&mail_notifier, &report.news())
                    {
                        eprintln!("shopdesk: new-mail notification: {e}");
                    }
                    let _ = sync_handle.emit("sync", status);
                })
                .inspect_err(|e| eprintln!("shopdesk: mail sync did not start: {e}"))
                .ok()
            });
            tauri_app.manage(Syncing(syncing));
            let delivering = db.as_ref().and_then(|db| {
                BackgroundDelivery::start(db, Arc::new(OsKeyring), |outcome| {
                    if let Err(e) = outcome {
                        eprintln!("shopdesk: outbox: {e}");
                    }
                })
                .inspect_err(|e| eprintln!("shopdesk: outbox delivery did not start: {e}"))
                .ok()
            });
            tauri_app.manage(Delivering(delivering));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            list_conversations,
            conversation_messages,
            stats,
            search,
            sync_status,
            due_count,
            customer_view,
            set_status,
            snooze,
            tag,
            untag,
            assign,
            add_note,
            reply,
            chat_reply,
            templates,
            render_template,
            save_template,
            followups,
            add_followup,
            finish_followup,
            cancel_followup,
            snooze_followup,
            followup_rules,
            add_followup_rule,
            set_followup_rule_enabled,
            parse_when,
            settings,
            set_setting,
            team,
            set_me,
            import_file,
            accounts,
            add_account,
            test_account,
            merge_customers,
            split_customer,
            undo_customer_change,
            open_attachment,
            save_attachment,
            bench_plan,
            bench_report,
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("shopdesk: the window could not start: {e}");
        std::process::exit(1);
    }
}
