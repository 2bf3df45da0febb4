//! `shopdesk import mail`: mbox, Maildir and .eml folders land once, in threads, with a
//! report that names what could not be read.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn shopdesk(db: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_shopdesk")).arg("--db").arg(db).args(args).output().expect("run");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

fn corpus() -> PathBuf {
    shopdesk_systests::corpus::corpus_dir().unwrap_or_else(|e| panic!("{e}"))
}

const MBOX: &str = "From dana@example.test Mon Nov 16 10:00:00 2026
From: Dana Levi <dana@example.test>
To: hello@shop.test
Subject: Order 1042
Date: Mon, 16 Nov 2026 10:00:00 +0200
Message-ID: <q1@example.test>

Where is my order?

From hello@shop.test Mon Nov 16 11:00:00 2026
From: Sunflower Shop <hello@shop.test>
To: dana@example.test
Subject: Re: Order 1042
Date: Mon, 16 Nov 2026 11:00:00 +0200
Message-ID: <a1@shop.test>
In-Reply-To: <q1@example.test>
References: <q1@example.test>

It left yesterday.
>From our warehouse, with love.

From dana@example.test Mon Nov 16 12:00:00 2026
From: Dana Levi <dana@example.test>
To: hello@shop.test
Subject: Re: Order 1042
Date: Mon, 16 Nov 2026 12:00:00 +0200
Message-ID: <q2@example.test>
In-Reply-To: <a1@shop.test>
References: <q1@example.test> <a1@shop.test>

Thanks!
";

/// An mbox thread becomes one conversation with the shop's reply outgoing; importing it
/// again adds nothing.
#[test]
fn mbox_thread_imports_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("m.db");
    let mbox = dir.path().join("Inbox.mbox");
    std::fs::write(&mbox, MBOX).expect("write");
    let mbox_arg = mbox.to_str().expect("utf-8 path");
    let first = shopdesk(&db, &["import", "mail", mbox_arg, "--me", "hello@shop.test", "--json"]);
    assert_eq!((first["imported"].as_u64(), first["duplicates"].as_u64()), (Some(3), Some(0)), "{first}");
    let again = shopdesk(&db, &["import", "mail", mbox_arg, "--json"]);
    assert_eq!((again["imported"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(3)), "{again}");

    let conversations = shopdesk(&db, &["conversations", "--json"]);
    let conversations = conversations.as_array().expect("list");
    assert_eq!(conversations.len(), 1, "{conversations:?}");
    assert_eq!(conversations[0]["message_ids"], serde_json::json!(["q1@example.test", "a1@shop.test", "q2@example.test"]));
    let messages = shopdesk(&db, &["messages", &conversations[0]["id"].to_string(), "--json"]);
    let directions: Vec<&str> = messages.as_array().expect("list").iter().filter_map(|m| m["direction"].as_str()).collect();
    assert_eq!(directions, ["in", "out", "in"]);
    assert!(messages[1]["body_text"].as_str().is_some_and(|t| t.contains("\nFrom our warehouse")), "mboxrd quoting undone");
    let customers = shopdesk(&db, &["customers", "--json"]);
    assert_eq!(customers[0]["name"], "Dana Levi");
}

/// Every corpus message imports (malformed ones with a note naming the file); a second
/// import of the same folder adds nothing.
#[test]
fn corpus_folder_imports_idempotently() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.db");
    let eml = corpus().join("mail-parser/resources/eml");
    let eml = eml.to_str().expect("utf-8 path");
    let first = shopdesk(&db, &["import", "mail", eml, "--json"]);
    let stored = shopdesk(&db, &["stats", "--json"])["messages"].as_u64().expect("count");
    assert_eq!(first["imported"].as_u64(), Some(stored));
    assert!(stored > 90, "{first}");
    for p in first["problems"].as_array().expect("problems") {
        assert!(p["location"].as_str().is_some_and(|l| l.ends_with(".eml")), "{p}");
    }
    let again = shopdesk(&db, &["import", "mail", eml, "--json"]);
    assert_eq!(again["imported"].as_u64(), Some(0), "{again}");
    assert_eq!(shopdesk(&db, &["stats", "--json"])["messages"].as_u64(), Some(stored));
}
