//! Use cases against real database files in a temp dir.

use shopdesk_app::{App, ErrorCode, FixedHost, create_demo, start_of_day};
use shopdesk_core::demo::DemoOptions;
use shopdesk_core::{DAY, HOUR};

fn host() -> FixedHost {
    // 2026-11-22T10:00:00Z, in Jerusalem (UTC+2 in November).
    FixedHost { now: 1_795_341_600_000, tz: jiff::tz::TimeZone::get("Asia/Jerusalem").expect("tz") }
}

/// First run: no file -> the demo shop is created and opened; second run opens it as is.
#[test]
fn first_run_creates_the_demo_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nested/shopdesk.db");
    let app = App::open_or_create_demo(&path, host()).expect("first run");
    let stats = app.stats().expect("stats");
    assert!(stats.customers >= 40 && stats.messages >= 500, "{stats:?}");
    assert!(stats.followups_due > 0);
    drop(app);
    let again = App::open_or_create_demo(&path, host()).expect("second run");
    assert_eq!(again.stats().expect("stats"), stats);
}

/// The demo file is self-contained (no WAL left behind) and the temp file is gone.
#[test]
fn demo_is_written_atomically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("demo.db");
    create_demo(&path, &DemoOptions::default(), false, 0).expect("demo");
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("ls")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["demo.db".to_owned()]);
}

/// A database with real data is not replaced by the demo unless forced.
#[test]
fn demo_refuses_to_overwrite_real_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("shop.db");
    create_demo(&path, &DemoOptions::default(), false, 0).expect("demo");
    // Re-running the demo over a demo database is fine.
    create_demo(&path, &DemoOptions { seed: 2, ..DemoOptions::default() }, false, 0).expect("demo over demo");
    // Turn it into "real" data by removing the demo marker.
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute("DELETE FROM settings WHERE key = 'demo'", []))
        .expect("drop the demo marker");
    let err = create_demo(&path, &DemoOptions::default(), false, 0).expect_err("must refuse");
    assert_eq!(err.code, ErrorCode::WouldOverwrite, "{err}");
    create_demo(&path, &DemoOptions::default(), true, 0).expect("forced");
}

/// Errors carry a code the UI can branch on and a message naming the file.
#[test]
fn bad_files_give_coded_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("photo.jpg");
    std::fs::write(&path, [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0]).expect("write");
    let err = App::open(&path, host()).err().expect("refused");
    assert_eq!(err.code, ErrorCode::NotADatabase);
    assert!(err.message.contains("photo.jpg"), "{}", err.message);
}

/// "Today" is the user's local day, not the UTC day.
#[test]
fn start_of_day_is_local() {
    let h = host();
    let start = start_of_day(h.now, &h.tz);
    // 10:00Z is 12:00 in Jerusalem; local midnight is 22:00Z the day before.
    assert_eq!(h.now - start, 12 * HOUR);
    assert!(start < h.now && h.now - start < DAY);
}
