//! Follow-ups and their desktop reminders through a real session D-Bus: `shopdesk remind`
//! talks to the notification server (dunst, started by the bus on demand) while
//! `dbus-monitor` records every Notify call it receives.
//!
//! The notification tests need the session bus that `./x test` provides (it runs the suite
//! inside `dbus-run-session`); without one they fail, saying so. Tests run in parallel on
//! one bus, so each test's customers carry a unique token and each test looks only at
//! the Notify calls that mention it.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn shopdesk(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shopdesk"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("SHOPDESK_DB")
        .output()
        .expect("run shopdesk")
}

fn ok_json(db: &Path, args: &[&str]) -> Value {
    let out = shopdesk(db, args);
    assert!(
        out.status.success(),
        "shopdesk {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e})"))
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .expect("time")
        .to_string()
}

/// A token no other test (or earlier run) uses, put in customer names.
fn token() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "t{}x{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        now_ms() % 100_000
    )
}

/// A fresh database with customers named `names`, each known from one email they sent
/// long ago ("Has my parcel shipped?"), imported the ordinary way. Returns the database
/// and the customers' ids, in the order of `names`.
fn shop(dir: &Path, names: &[String]) -> (PathBuf, Vec<i64>) {
    let db = dir.join("shop.db");
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        customer_writes(&db, i, 1_700_000_000_000, "Has my parcel shipped?", name);
        let customers = ok_json(&db, &["customers", "--json"]);
        let id = customers
            .as_array()
            .and_then(|all| all.iter().find(|c| c["name"] == name.as_str()))
            .and_then(|c| c["id"].as_i64())
            .unwrap_or_else(|| panic!("{name} was not imported: {customers}"));
        ids.push(id);
    }
    (db, ids)
}

/// Customer number `n` (named `name`) emails the shop at `at_ms`.
fn customer_writes(db: &Path, n: usize, at_ms: i64, text: &str, name: &str) {
    let dir = db.parent().expect("dir").join(format!("mail-{n}-{at_ms}"));
    std::fs::create_dir_all(&dir).expect("mail dir");
    let date = jiff::fmt::rfc2822::to_string(
        &jiff::Timestamp::from_millisecond(at_ms)
            .expect("time")
            .to_zoned(jiff::tz::TimeZone::UTC),
    )
    .expect("date");
    let eml = format!(
        "From: \"{name}\" <customer{n}@example.test>\r\nTo: shop@myshop.example\r\nSubject: Order\r\n\
         Date: {date}\r\nMessage-ID: <m{n}-{at_ms}@example.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    );
    std::fs::write(dir.join("m.eml"), eml).expect("write eml");
    let dir = dir.to_str().expect("utf-8 path");
    ok_json(
        db,
        &[
            "import",
            "mail",
            dir,
            "--me",
            "shop@myshop.example",
            "--json",
        ],
    );
}

fn add_followup(db: &Path, customer: i64, due: &str, extra: &[&str]) -> Value {
    let id = customer.to_string();
    let mut args = vec![
        "followup",
        "add",
        &id,
        "--due",
        due,
        "--note",
        "ask how the parcel arrived",
        "--json",
    ];
    args.extend_from_slice(extra);
    ok_json(db, &args)
}

/// One Notify method call as dbus-monitor printed it.
#[derive(Debug, Clone)]
struct NotifyCall {
    /// Wall-clock time of the call (dbus-monitor's `time=`), Unix milliseconds.
    at_ms: i64,
    summary: String,
    body: String,
}

/// `dbus-monitor` on the session bus, collecting Notify calls.
struct Monitor {
    child: Child,
    calls: Arc<Mutex<Vec<NotifyCall>>>,
}

impl Monitor {
    fn start() -> Monitor {
        require_session_bus();
        let mut child = Command::new("dbus-monitor")
            .arg("type='method_call',interface='org.freedesktop.Notifications',member='Notify'")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor (package dbus) must be installed: run the tests with ./x test");
        let stdout = child.stdout.take().expect("stdout");
        let calls = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let sink = calls.clone();
        std::thread::spawn(move || parse_monitor(BufReader::new(stdout), &sink, ready_tx));
        // dbus-monitor prints NameAcquired/NameLost once it is a monitor: from then on no
        // call is missed.
        ready_rx
            .recv_timeout(Duration::from_secs(5))
            .expect("dbus-monitor did not start");
        std::thread::sleep(Duration::from_millis(100));
        Monitor { child, calls }
    }

    /// The calls that mention `token` (in the title or body).
    fn calls_with(&self, token: &str) -> Vec<NotifyCall> {
        let calls = self.calls.lock().expect("calls");
        calls
            .iter()
            .filter(|c| c.summary.contains(token) || c.body.contains(token))
            .cloned()
            .collect()
    }

    /// Waits until `n` calls mention `token`, or `limit` passes.
    fn wait_for(&self, token: &str, n: usize, limit: Duration) -> Vec<NotifyCall> {
        let start = Instant::now();
        loop {
            let calls = self.calls_with(token);
            if calls.len() >= n || start.elapsed() > limit {
                return calls;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_monitor(
    out: impl BufRead,
    calls: &Mutex<Vec<NotifyCall>>,
    ready: std::sync::mpsc::Sender<()>,
) {
    let mut strings: Vec<String> = Vec::new();
    let mut open: Option<String> = None;
    let mut at_ms = 0;
    let mut in_call = false;
    let flush = |in_call: bool, at_ms: i64, strings: &mut Vec<String>| {
        // Notify(app_name, replaces_id, app_icon, summary, body, ...): strings 0, 1, 2, 3.
        if in_call && strings.len() >= 4 {
            calls.lock().expect("calls").push(NotifyCall {
                at_ms,
                summary: strings[2].clone(),
                body: strings[3].clone(),
            });
        }
        strings.clear();
    };
    for line in out.lines() {
        let Ok(line) = line else { break };
        let _ = ready.send(());
        if let Some(text) = open.as_mut() {
            text.push('\n');
            if let Some(last) = line.strip_suffix('"') {
                text.push_str(last);
                strings.push(open.take().unwrap_or_default());
            } else {
                text.push_str(&line);
            }
            continue;
        }
        if line.starts_with("method call")
            || line.starts_with("signal")
            || line.starts_with("method return")
            || line.starts_with("error")
        {
            flush(in_call, at_ms, &mut strings);
            in_call = line.contains("member=Notify");
            at_ms = line
                .split_whitespace()
                .find_map(|w| w.strip_prefix("time="))
                .and_then(|t| t.parse::<f64>().ok())
                .map_or(0, |t| (t * 1000.0) as i64);
            continue;
        }
        if let Some(rest) = line.trim_start().strip_prefix("string \"") {
            match rest.strip_suffix('"') {
                Some(whole) => strings.push(whole.to_owned()),
                None => open = Some(rest.to_owned()),
            }
        }
        if line.trim_start().starts_with("array [") && in_call && strings.len() >= 4 {
            flush(in_call, at_ms, &mut strings);
            in_call = false;
        }
    }
}

/// The notification tests need the session bus `./x test` starts; fail loudly without it.
fn require_session_bus() {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no session D-Bus (DBUS_SESSION_BUS_ADDRESS is unset): the notification tests need one with a \
         notification server; run them with ./x test (it runs the suite inside dbus-run-session, \
         which starts dunst on demand), or wrap cargo test in `xvfb-run -a dbus-run-session --`"
    );
}

/// `shopdesk remind` running until dropped.
struct Remind(Child);

impl Remind {
    fn start(db: &Path) -> Remind {
        Remind(
            Command::new(env!("CARGO_BIN_EXE_shopdesk"))
                .arg("--db")
                .arg(db)
                .args(["remind", "--json"])
                .env_remove("SHOPDESK_DB")
                .stdout(Stdio::null())
                .spawn()
                .expect("run shopdesk remind"),
        )
    }
}

impl Drop for Remind {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The desktop case: the scheduler runs (parked, nothing pending) over the window's App;
/// a follow-up due in 2 s is added through that App; exactly one Notify call reaches the
/// real notification server, titled with the customer's name, within a second of due.
#[test]
fn due_in_two_seconds_notifies_once() {
    use shopdesk_app::notify::DesktopNotifier;
    use shopdesk_app::scheduler::{Scheduler, SchedulerOptions};
    let monitor = Monitor::start();
    let dir = tempfile::tempdir().expect("dir");
    let token = token();
    let name = format!("Zofia Wiśniewska {token}");
    let (db, ids) = shop(dir.path(), std::slice::from_ref(&name));
    let app = Arc::new(Mutex::new(
        shopdesk_app::App::open(&db, shopdesk_app::SystemHost).expect("open"),
    ));
    let scheduler = Scheduler::new(
        app.clone(),
        Arc::new(DesktopNotifier::new(None)),
        SchedulerOptions::default(),
    );
    let handle = scheduler.handle();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .expect("runtime");
    let task = runtime.spawn(scheduler.run());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(handle.rounds(), 1, "one round at start, then parked");
    let due = now_ms() + 2000;
    app.lock()
        .expect("app")
        .add_followup(
            shopdesk_core::CustomerId(ids[0]),
            None,
            due,
            "ask how the parcel arrived",
            false,
        )
        .expect("add");
    let calls = monitor.wait_for(&token, 1, Duration::from_secs(6));
    assert_eq!(calls.len(), 1, "one Notify call for the follow-up");
    assert!(
        calls[0].summary.starts_with(&name),
        "title has the customer's name: {:?}",
        calls[0]
    );
    let late = calls[0].at_ms - due;
    println!("notified {late} ms after due");
    assert!((-50..3000).contains(&late), "notified {late} ms after due");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(monitor.calls_with(&token).len(), 1, "shown once");
    task.abort();
}

/// A follow-up added before the scheduler starts, due in 2 s: one Notify call within a
/// second of due (the scheduler's own sleep, measured), with the name in the title.
#[test]
fn scheduler_fires_within_a_second_of_due() {
    let monitor = Monitor::start();
    let dir = tempfile::tempdir().expect("dir");
    let token = token();
    let name = format!("Dana Levi {token}");
    let (db, ids) = shop(dir.path(), std::slice::from_ref(&name));
    let due = now_ms() + 2000;
    add_followup(&db, ids[0], &rfc3339(due), &[]);
    let _remind = Remind::start(&db);
    let calls = monitor.wait_for(&token, 1, Duration::from_secs(10));
    assert_eq!(calls.len(), 1, "one Notify call");
    assert!(calls[0].summary.starts_with(&name), "{:?}", calls[0]);
    assert!(
        calls[0].body.contains("Has my parcel shipped?"),
        "body has the snippet: {:?}",
        calls[0]
    );
    let late = calls[0].at_ms - due;
    println!("scheduler fired {late} ms after due");
    assert!((-50..3000).contains(&late), "fired {late} ms after due");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(monitor.calls_with(&token).len(), 1, "shown once");
}

/// A follow-up that came due while no scheduler ran notifies once when it starts, and
/// not again when it starts a second time.
#[test]
fn due_while_closed_notifies_once_on_start() {
    let monitor = Monitor::start();
    let dir = tempfile::tempdir().expect("dir");
    let token = token();
    let name = format!("Omar Haddad {token}");
    let (db, ids) = shop(dir.path(), std::slice::from_ref(&name));
    add_followup(&db, ids[0], "+1m", &[]);
    let conn = rusqlite::Connection::open(&db).expect("open");
    // The app was closed while it fell due: move it into the past.
    conn.execute("UPDATE followups SET due_at = ?1", [now_ms() - 3_600_000])
        .expect("backdate");
    {
        let _remind = Remind::start(&db);
        let calls = monitor.wait_for(&token, 1, Duration::from_secs(10));
        assert_eq!(calls.len(), 1, "one notification on start");
        assert!(calls[0].summary.contains(&name));
        std::thread::sleep(Duration::from_millis(500));
    }
    let out = shopdesk(&db, &["remind", "--once", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    {
        let _again = Remind::start(&db);
        std::thread::sleep(Duration::from_secs(2));
    }
    assert_eq!(
        monitor.calls_with(&token).len(),
        1,
        "not shown again on later starts"
    );
    let listed = ok_json(&db, &["followups", "--due", "--json"]);
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "still due until done: {listed}"
    );
    assert!(listed[0]["notified_at"].is_string());
}

/// Five follow-ups due at start make one grouped notification ("5 follow-ups due"),
/// naming the customers, not five.
#[test]
fn many_due_are_grouped() {
    let monitor = Monitor::start();
    let dir = tempfile::tempdir().expect("dir");
    let token = token();
    let names: Vec<String> = (1..=5).map(|i| format!("Customer{i} {token}")).collect();
    let (db, ids) = shop(dir.path(), &names);
    let past = rfc3339(now_ms() - 60_000);
    for &c in &ids {
        add_followup(&db, c, &past, &["--allow-past"]);
    }
    let out = shopdesk(&db, &["remind", "--once", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_slice(&out.stdout).expect("event line");
    assert_eq!(line["notifications"], 1);
    let calls = monitor.wait_for(&token, 1, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(500));
    let calls_now = monitor.calls_with(&token);
    assert_eq!(calls_now.len(), 1, "one grouped notification: {calls:?}");
    assert_eq!(calls_now[0].summary, "5 follow-ups due");
    assert!(
        names.iter().all(|n| calls_now[0].body.contains(n.as_str())),
        "{:?}",
        calls_now[0]
    );
}

/// A follow-up whose customer wrote after it was set is flagged: in the listing and in
/// the notification's title and body.
#[test]
fn customer_wrote_since_is_flagged() {
    let monitor = Monitor::start();
    let dir = tempfile::tempdir().expect("dir");
    let token = token();
    let name = format!("Ewa Kowalczyk {token}");
    let (db, ids) = shop(dir.path(), std::slice::from_ref(&name));
    let row = add_followup(&db, ids[0], "+1m", &[]);
    assert_eq!(row["flagged"], false);
    customer_writes(&db, 0, now_ms() + 2000, "It arrived broken!", &name);
    let listed = ok_json(&db, &["followups", "--json"]);
    assert_eq!(listed[0]["flagged"], true, "{listed}");
    let conn = rusqlite::Connection::open(&db).expect("open");
    conn.execute("UPDATE followups SET due_at = ?1", [now_ms() - 1000])
        .expect("due now");
    let out = shopdesk(&db, &["remind", "--once"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = monitor.wait_for(&token, 1, Duration::from_secs(5));
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].summary.ends_with("(has written since)"),
        "{:?}",
        calls[0]
    );
    assert!(
        calls[0].body.contains("written since") && calls[0].body.contains("It arrived broken!"),
        "{:?}",
        calls[0]
    );
}

/// Without a session bus `remind` fails at once with a message saying so (exit 1).
#[test]
fn remind_without_a_bus_says_so() {
    let dir = tempfile::tempdir().expect("dir");
    let (db, _) = shop(dir.path(), &["Anna Nowak".to_owned()]);
    let out = Command::new(env!("CARGO_BIN_EXE_shopdesk"))
        .arg("--db")
        .arg(&db)
        .args(["remind", "--once"])
        .env_remove("SHOPDESK_DB")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no desktop session bus"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Bad input gets clear errors and changes nothing: a past due time (unless
/// --allow-past), an unreadable time, an empty note, an unknown customer, closing a
/// follow-up twice, snoozing into the past. Done/cancel/snooze do what they say.
#[test]
fn followup_commands_and_bad_input() {
    let dir = tempfile::tempdir().expect("dir");
    let (db, ids) = shop(dir.path(), &["Anna Nowak".to_owned()]);
    let cust = ids[0].to_string();
    let cust = cust.as_str();
    let err = |args: &[&str], needle: &str| {
        let out = shopdesk(&db, args);
        assert_eq!(out.status.code(), Some(1), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    };
    err(
        &[
            "followup",
            "add",
            cust,
            "--due",
            "2020-01-01T09:00:00Z",
            "--note",
            "x",
        ],
        "is in the past",
    );
    err(
        &[
            "followup",
            "add",
            cust,
            "--due",
            "next blue moon",
            "--note",
            "x",
        ],
        "blue moon",
    );
    err(
        &["followup", "add", cust, "--due", "+1d", "--note", "  "],
        "needs a note",
    );
    err(
        &["followup", "add", "999", "--due", "+1d", "--note", "x"],
        "customer 999 does not exist",
    );
    assert_eq!(
        ok_json(&db, &["followups", "--json"]),
        serde_json::json!([]),
        "nothing was added"
    );

    let past = add_followup(&db, ids[0], "2020-01-01T09:00:00Z", &["--allow-past"]);
    assert_eq!(past["due_at"], "2020-01-01T09:00:00Z");
    let later = add_followup(&db, ids[0], "+7d", &[]);
    let (a, b) = (past["id"].to_string(), later["id"].to_string());
    assert_eq!(
        ok_json(&db, &["followups", "--due", "--json"])
            .as_array()
            .map(Vec::len),
        Some(1),
        "only the overdue one is due"
    );
    assert!(shopdesk(&db, &["followup", "done", &a]).status.success());
    err(&["followup", "done", &a], "no longer pending");
    err(
        &["followup", "snooze", &b, "--until", "2020-01-01T00:00:00Z"],
        "not in the future",
    );
    let snoozed = ok_json(
        &db,
        &["followup", "snooze", &b, "--until", "+14d", "--json"],
    );
    assert!(snoozed["due_at"].as_str() > later["due_at"].as_str());
    assert!(shopdesk(&db, &["followup", "cancel", &b]).status.success());
    assert_eq!(
        ok_json(&db, &["followups", "--json"]),
        serde_json::json!([])
    );
    assert_eq!(
        ok_json(&db, &["followups", "--customer", cust, "--json"])
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

/// `rule add` stores the rule and applies it: an order created now gets one follow-up
/// N days later, and re-applying (enable again) adds none.
#[test]
fn rules_make_followups_for_orders() {
    let dir = tempfile::tempdir().expect("dir");
    let (db, ids) = shop(dir.path(), &["Anna Nowak".to_owned()]);
    let created = now_ms();
    rusqlite::Connection::open(&db)
        .expect("open")
        .execute(
            "INSERT INTO orders(customer_id, source, number, created_at, updated_at) VALUES (?1, 'shopify', '#1001', ?2, ?2)",
            [ids[0], created],
        )
        .expect("order");
    let rule = ok_json(
        &db,
        &[
            "rule",
            "add",
            "thank you",
            "--after",
            "created",
            "--days",
            "3",
            "--json",
        ],
    );
    assert_eq!(rule["trigger"], "order_created");
    let rows = ok_json(&db, &["followups", "--json"]);
    assert_eq!(rows.as_array().map(Vec::len), Some(1), "{rows}");
    assert_eq!(rows[0]["order_number"], "#1001");
    assert_eq!(rows[0]["due_at"], rfc3339(created + 3 * 86_400_000));
    let id = rule["id"].to_string();
    assert!(shopdesk(&db, &["rule", "disable", &id]).status.success());
    assert!(shopdesk(&db, &["rule", "enable", &id]).status.success());
    assert_eq!(
        ok_json(&db, &["followups", "--json"])
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(ok_json(&db, &["rules", "--json"])[0]["enabled"], true);
    let out = shopdesk(
        &db,
        &["rule", "add", "x", "--after", "shipped", "--days", "1"],
    );
    assert!(!out.status.success());
}
