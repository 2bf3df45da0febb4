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

/// A Maildir larger than one write batch: every message lands once, a thread that spans
/// batches is one conversation, a message without headers is a problem naming its file,
/// progress counts up to the total, and importing again adds nothing.
#[test]
fn big_maildir_imports_across_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let maildir = dir.path().join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("mkdir");
    }
    let n = 600;
    for i in 0..n {
        let parent = if i % 100 == 0 { String::new() } else { format!("In-Reply-To: <m{}@example.test>\n", i - 1) };
        let mail = format!(
            "From: Ola Nowak <ola{}@example.test>\nTo: hello@shop.test\nSubject: Zamówienie {}\nDate: Mon, 16 Nov 2026 10:{:02}:{:02} +0100\nMessage-ID: <m{i}@example.test>\n{parent}\nTreść {i}\n",
            i / 100,
            i / 100,
            i / 60,
            i % 60
        );
        std::fs::write(maildir.join("cur").join(format!("{i:05}.x:2,S")), mail).expect("write");
    }
    std::fs::write(maildir.join("cur").join("00300.y:2,S"), "no headers, only text\n").expect("write");
    let mut app = App::open(&dir.path().join("s.db"), host()).expect("open");
    let mut seen = Vec::new();
    let report = app.import_mail(&maildir, &["hello@shop.test".into()], |p| seen.push(p)).expect("import");
    assert_eq!((report.imported, report.duplicates), (n + 1, 0), "{:?}", report.problems);
    assert!(report.problems.len() == 1 && report.problems[0].location.ends_with("00300.y:2,S"), "{:?}", report.problems);
    assert_eq!(seen.len(), n + 1);
    assert!(seen.windows(2).all(|w| w[0].done < w[1].done) && seen.iter().all(|p| p.total == n + 1), "{seen:?}");
    let stats = app.stats().expect("stats");
    // Six threads of six customers, and the headerless message from an unknown sender.
    assert_eq!((stats.messages, stats.conversations, stats.customers), (n as i64 + 1, 7, 7));
    let again = app.import_mail(&maildir, &[], |_| {}).expect("again");
    assert_eq!((again.imported, again.duplicates), (0, n + 1));
}
