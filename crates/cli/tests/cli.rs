//! The `shopdesk` command line as other tools and checks use it: its JSON contract, its
//! determinism, and how it refuses bad databases.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn shopdesk(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shopdesk"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("SHOPDESK_DB")
        .output()
        .expect("run shopdesk")
}

fn json(db: &Path, args: &[&str]) -> Value {
    let out = shopdesk(db, args);
    assert!(out.status.success(), "shopdesk {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn demo_db(dir: &Path, name: &str, seed: &str) -> std::path::PathBuf {
    let db = dir.join(name);
    let out = shopdesk(&db, &["demo", "--seed", seed]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    db
}

/// `stats --json` has exactly the contract's keys, and the demo is as big as promised.
#[test]
fn stats_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = demo_db(dir.path(), "s.db", "1");
    let stats = json(&db, &["stats", "--json"]);
    let keys: Vec<&str> = stats.as_object().expect("object").keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 5, "{keys:?}");
    for k in ["customers", "conversations", "messages", "orders", "followups_due"] {
        assert!(stats[k].is_i64(), "{k} missing in {stats}");
    }
    assert!(stats["customers"].as_i64() >= Some(40));
    assert!(stats["messages"].as_i64() >= Some(500));
    assert!(stats["orders"].as_i64() > Some(0));
    assert!(stats["followups_due"].as_i64() > Some(0));
}

/// The same seed gives the same shop; another seed a different one.
#[test]
fn demo_is_deterministic_per_seed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = demo_db(dir.path(), "a.db", "7");
    let b = demo_db(dir.path(), "b.db", "7");
    let c = demo_db(dir.path(), "c.db", "8");
    assert_eq!(json(&a, &["customers", "--json"]), json(&b, &["customers", "--json"]));
    assert_eq!(json(&a, &["conversations", "--json"]), json(&b, &["conversations", "--json"]));
    assert_ne!(json(&a, &["customers", "--json"]), json(&c, &["customers", "--json"]));
}

/// customers, conversations and search print the contract's fields, and they agree with
/// each other (ids point at real rows, counts match the messages listed).
#[test]
fn listing_shapes_and_cross_references() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = demo_db(dir.path(), "l.db", "1");
    let customers = json(&db, &["customers", "--json"]);
    let customers = customers.as_array().expect("list");
    assert!(customers.len() >= 40);
    let languages: std::collections::HashSet<bool> = customers
        .iter()
        .map(|c| c["name"].as_str().is_some_and(|n| n.chars().any(|ch| ('\u{0590}'..='\u{06FF}').contains(&ch))))
        .collect();
    assert_eq!(languages.len(), 2, "names in RTL scripts and in Latin script");
    for c in customers {
        assert!(c["id"].is_i64() && c["name"].is_string());
        for i in c["identities"].as_array().expect("identities") {
            assert!(i["kind"].is_string() && i["value"].is_string(), "{i}");
        }
    }

    let conversations = json(&db, &["conversations", "--json"]);
    let conversations = conversations.as_array().expect("list");
    let times: Vec<&str> = conversations.iter().map(|c| c["last_activity"].as_str().expect("time")).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let email = conversations.iter().find(|c| c["channel"] == "email").expect("an email conversation");
    let id = email["id"].as_i64().expect("id");
    let messages = json(&db, &["messages", &id.to_string(), "--json"]);
    let messages = messages.as_array().expect("list");
    assert_eq!(email["message_count"].as_u64(), Some(messages.len() as u64));
    let ids: Vec<&Value> = messages.iter().map(|m| &m["rfc_message_id"]).collect();
    assert_eq!(email["message_ids"].as_array().expect("ids").iter().collect::<Vec<_>>(), ids);
    for key in ["customer_id", "status", "subject", "last_activity"] {
        assert!(email.get(key).is_some(), "{key}");
    }

    // One customer's conversations only.
    let customer = email["customer_id"].as_i64().expect("customer");
    let theirs = json(&db, &["conversations", "--customer", &customer.to_string(), "--json"]);
    assert!(theirs.as_array().expect("list").iter().all(|c| c["customer_id"] == customer));

    let hits = json(&db, &["search", "ההזמנה", "--json"]);
    let hits = hits.as_array().expect("list");
    assert!(!hits.is_empty());
    for h in hits {
        assert!(h["message_id"].is_i64() && h["conversation_id"].is_i64() && h["customer_id"].is_i64());
        assert!(h["snippet"].as_str().is_some_and(|s| s.contains("ההזמנה")), "{h}");
    }
}

/// A file that is not a database: non-zero exit, a message naming it, the file untouched.
#[test]
fn refuses_a_non_database_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("orders.csv");
    std::fs::write(&db, "Name,Email\n#1001,anna@example.com\n").expect("write");
    for args in [&["stats", "--json"][..], &["demo"][..], &["customers"][..]] {
        let out = shopdesk(&db, args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("orders.csv") && err.contains("not a Shopdesk database"), "{err}");
        assert!(out.stdout.is_empty());
    }
    assert_eq!(std::fs::read_to_string(&db).expect("read"), "Name,Email\n#1001,anna@example.com\n");
}

/// A database from a newer Shopdesk is refused and not modified.
#[test]
fn refuses_a_newer_schema_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("future.db");
    rusqlite::Connection::open(&db)
        .and_then(|c| c.execute_batch("CREATE TABLE x(y); PRAGMA user_version = 42;"))
        .expect("make a future database");
    let before = std::fs::read(&db).expect("read");
    let out = shopdesk(&db, &["stats", "--json"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("schema version 42"), "{err}");
    assert_eq!(std::fs::read(&db).expect("read"), before);
}

/// A folder the user cannot write: a clear error, no panic. Root may write anywhere, so
/// as root the command runs as 'nobody' (setpriv).
#[test]
fn read_only_folder_is_a_clear_error() {
    let dir = tempfile::tempdir_in("/tmp").expect("tempdir");
    let ro = dir.path().join("locked");
    std::fs::create_dir(&ro).expect("mkdir");
    let db = ro.join("shop.db");
    let mut cmd = if is_root() {
        use std::os::unix::fs::PermissionsExt;
        // 'nobody' must be able to reach the folder, just not write in it.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", env!("CARGO_BIN_EXE_shopdesk")]);
        c
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        Command::new(env!("CARGO_BIN_EXE_shopdesk"))
    };
    let out = cmd.arg("--db").arg(&db).args(["stats", "--json"]).env("HOME", "/tmp").output().expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("shop.db") && !err.contains("panicked"), "{err}");
    assert!(!db.exists());
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Asking for a conversation that does not exist is an error, not an empty answer.
#[test]
fn unknown_conversation_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = demo_db(dir.path(), "u.db", "1");
    let out = shopdesk(&db, &["messages", "987654", "--json"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("987654"));
}

/// The demo never replaces a database holding real data unless forced.
#[test]
fn demo_keeps_real_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = demo_db(dir.path(), "r.db", "1");
    rusqlite::Connection::open(&db).and_then(|c| c.execute("DELETE FROM settings WHERE key = 'demo'", [])).expect("mark real");
    let out = shopdesk(&db, &["demo"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--force"));
    assert!(shopdesk(&db, &["demo", "--force"]).status.success());
}
