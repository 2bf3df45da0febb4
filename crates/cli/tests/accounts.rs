//! `shopdesk account add|list` against the session's real Secret Service keyring (the test
//! command starts gnome-keyring inside its private D-Bus session).

use std::path::Path;
use std::process::Output;

fn run(db: &Path, args: &[&str], stdin: &str) -> Output {
    shopdesk_systests::cli::run_with_stdin(env!("CARGO_BIN_EXE_shopdesk"), db, args, stdin)
}

fn add_args<'a>(name: &'a str, email: &'a str) -> Vec<&'a str> {
    vec![
        "account", "add", name, "--email", email, "--imap-host", "127.0.0.1", "--imap-port", "143", "--imap-tls", "none",
        "--smtp-host", "127.0.0.1", "--smtp-port", "25", "--smtp-tls", "none", "--user", email, "--password-stdin",
    ]
}

/// The password lands in the OS keyring and nowhere else: not in the database file (nor
/// its WAL), not in any output. A second account with the same name is refused and does
/// not overwrite the first one's password.
#[test]
fn password_goes_to_the_keyring_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("a.db");
    // The keyring is shared by parallel tests and runs: a unique account name.
    let name = format!("test-{}-{}", std::process::id(), dir.path().file_name().and_then(|n| n.to_str()).unwrap_or("x"));
    let password = "Correct-Horse-Battery-Staple-🔑";

    let out = run(&db, &add_args(&name, "hello@shop.test"), &format!("{password}\n"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "account add failed (is a Secret Service keyring running?): {stderr}");
    let entry = keyring::Entry::new("shopdesk", &name).expect("entry");
    assert_eq!(entry.get_password().expect("password in keyring"), password);

    let dup = run(&db, &add_args(&name, "other@shop.test"), "another password\n");
    assert!(!dup.status.success());
    assert_eq!(entry.get_password().expect("still there"), password, "the first password was overwritten");

    let list = run(&db, &["account", "list", "--json"], "");
    let json: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(json[0]["name"], name.as_str());
    assert_eq!(json[0]["password_stored"], true);

    let mut leaked = Vec::new();
    for output in [&out, &dup, &list] {
        for stream in [&output.stdout, &output.stderr] {
            if String::from_utf8_lossy(stream).contains("Correct-Horse") {
                leaked.push(String::from_utf8_lossy(stream).into_owned());
            }
        }
    }
    for file in std::fs::read_dir(dir.path()).expect("ls") {
        let path = file.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        if bytes.windows(password.len()).any(|w| w == password.as_bytes()) {
            leaked.push(path.display().to_string());
        }
    }
    entry.delete_credential().expect("clean up the keyring");
    assert!(leaked.is_empty(), "password leaked into {leaked:?}");
}

/// The password is never taken from the command line, and a missing one is an error.
#[test]
fn password_only_from_stdin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("b.db");
    let mut args = add_args("nopass", "hello@shop.test");
    args.retain(|a| *a != "--password-stdin");
    assert!(!run(&db, &args, "pw\n").status.success(), "--password-stdin is required");
    let empty = run(&db, &add_args("nopass", "hello@shop.test"), "\n");
    assert!(!empty.status.success());
    assert!(String::from_utf8_lossy(&empty.stderr).contains("empty"));
}
