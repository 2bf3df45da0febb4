//! `shopdesk template|conversation|note|notes|team`: saved replies checked at save and
//! filled per customer language, and the conversation workflow end to end, including a
//! snoozed-until-reply conversation woken by the customer's next mail.

use serde_json::Value;
use shopdesk_systests::cli::run_with_stdin;
use std::path::{Path, PathBuf};
use std::process::Output;

const BIN: &str = env!("CARGO_BIN_EXE_shopdesk");

fn run(db: &Path, args: &[&str]) -> Output {
    run_with_stdin(BIN, db, args, "")
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "shopdesk {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn ok_json(db: &Path, args: &[&str]) -> Value {
    let text = ok(db, args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {text}"))
}

/// The error text of a command that must fail (exit code 1).
fn refused(db: &Path, args: &[&str]) -> String {
    let out = run(db, args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "shopdesk {args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The usage error of a command line the argument parser turns down (exit code 2).
fn usage_error(db: &Path, args: &[&str]) -> String {
    let out = run(db, args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "shopdesk {args:?} should be a usage error"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path
}

fn eml(id: &str, date: &str, in_reply_to: Option<&str>, body: &str) -> String {
    let mut m = format!(
        "From: Anna Kowalska <anna@example.pl>\r\nTo: hello@shop.test\r\nSubject: =?UTF-8?Q?Zam=C3=B3wienie?=\r\n\
         Message-ID: <{id}>\r\nDate: {date}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
    );
    if let Some(parent) = in_reply_to {
        m.push_str(&format!(
            "In-Reply-To: <{parent}>\r\nReferences: <{parent}>\r\n"
        ));
    }
    m.push_str("\r\n");
    m.push_str(body);
    m.push_str("\r\n");
    m
}

/// A shop with me (Dana Levi), a shop name, and Anna's one email conversation (id 1).
fn shop(dir: &Path) -> PathBuf {
    let db = dir.join("shop.db");
    ok(
        &db,
        &[
            "team",
            "add",
            "Dana Levi",
            "--email",
            "dana@shop.test",
            "--me",
        ],
    );
    ok(&db, &["settings", "set", "shop_name", "Sklep Ania"]);
    let mail = write(
        dir,
        "first.eml",
        &eml(
            "a1@example.pl",
            "Mon, 30 Nov 2026 10:00:00 +0000",
            None,
            "Gdzie jest moja paczka?",
        ),
    );
    ok_json(
        &db,
        &[
            "import",
            "mail",
            mail.to_str().expect("path"),
            "--me",
            "hello@shop.test",
            "--json",
        ],
    );
    db
}

fn sql(db: &Path, statement: &str) {
    rusqlite::Connection::open(db)
        .expect("open")
        .execute(statement, [])
        .expect(statement);
}

fn add_template(
    db: &Path,
    dir: &Path,
    name: &str,
    lang: &str,
    body: &str,
    subject: Option<&str>,
) -> Output {
    let file = write(dir, &format!("{name}.{lang}.txt"), body);
    let mut args = vec![
        "template",
        "add",
        name,
        "--lang",
        lang,
        "--body-file",
        file.to_str().expect("path"),
    ];
    if let Some(s) = subject {
        args.extend(["--subject", s]);
    }
    run(db, &args)
}

/// A saved reply renders in the customer's language with their first name, their latest
/// order (number, status and total in that language), my name and the shop's; without a
/// version in their language it falls back to English.
#[test]
fn template_renders_in_the_customers_language() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = shop(dir.path());
    sql(&db, "UPDATE customers SET language = 'pl' WHERE id = 1");
    sql(
        &db,
        "INSERT INTO orders(customer_id, source, number, currency, total_minor, financial_status,
                            fulfillment_status, created_at, updated_at)
         VALUES (1, 'shopify', '#1001', 'PLN', 14990, 'paid', 'fulfilled', 1000, 1000),
                (1, 'shopify', '#0999', 'PLN', 500, 'paid', NULL, 10, 10)",
    );
    for (lang, body, subject) in [
        (
            "pl",
            "Cześć {{customer.first_name}}!\nZamówienie {{order.number}} ({{order.total}}) jest {{order.status}}.\n{{agent.first_name}}, {{shop.name}}\n",
            Some("Zamówienie {{order.number}}"),
        ),
        (
            "he",
            "שלום {{customer.first_name}}, ההזמנה {{order.number}} {{order.status}}.\n{{agent.name}}\n",
            None,
        ),
        (
            "en",
            "Hi {{customer.first_name}}, order {{order.number}} is {{order.status}}.\n",
            None,
        ),
    ] {
        let out = add_template(&db, dir.path(), "shipped", lang, body, subject);
        assert!(
            out.status.success(),
            "{lang}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = ok_json(&db, &["template", "list", "--json"]);
    let langs: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|t| t["language"].as_str())
        .collect();
    assert_eq!(langs, ["en", "he", "pl"]);

    let r = ok_json(
        &db,
        &[
            "template",
            "render",
            "shipped",
            "--conversation",
            "1",
            "--json",
        ],
    );
    assert_eq!(r["language"], "pl");
    assert_eq!(r["subject"], "Zamówienie #1001");
    assert_eq!(
        r["body"],
        "Cześć Anna!\nZamówienie #1001 (149,90 PLN) jest wysłane.\nDana, Sklep Ania\n"
    );

    sql(&db, "UPDATE customers SET language = 'he' WHERE id = 1");
    let r = ok_json(
        &db,
        &[
            "template",
            "render",
            "shipped",
            "--conversation",
            "1",
            "--json",
        ],
    );
    assert_eq!(r["language"], "he");
    assert_eq!(r["body"], "שלום Anna, ההזמנה #1001 נשלחה.\nDana Levi\n");

    // Arabic: no Arabic version, no shop default: English.
    sql(&db, "UPDATE customers SET language = 'ar' WHERE id = 1");
    let r = ok_json(
        &db,
        &[
            "template",
            "render",
            "shipped",
            "--conversation",
            "1",
            "--json",
        ],
    );
    assert_eq!(r["language"], "en");
    // The shop's default language wins over English.
    ok(&db, &["settings", "set", "default_language", "pl"]);
    let r = ok_json(
        &db,
        &[
            "template",
            "render",
            "shipped",
            "--conversation",
            "1",
            "--json",
        ],
    );
    assert_eq!(r["language"], "pl");

    ok(&db, &["template", "delete", "shipped", "--lang", "pl"]);
    let r = ok_json(
        &db,
        &[
            "template",
            "render",
            "shipped",
            "--conversation",
            "1",
            "--json",
        ],
    );
    assert_eq!(r["language"], "en");
    assert!(
        refused(&db, &["template", "delete", "shipped", "--lang", "pl"]).contains("does not exist")
    );
}

/// A template with an unknown variable (or unbalanced braces) is refused at save time
/// with a message naming the variable, its position and the known ones; nothing is saved.
#[test]
fn unknown_variable_is_refused_at_save() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = shop(dir.path());
    let out = add_template(
        &db,
        dir.path(),
        "thanks",
        "en",
        "Hi {{customer.first_name}},\nthanks for {{order.numbr}}!",
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown variable {{order.numbr}} at line 2, column 12"),
        "{err}"
    );
    assert!(
        err.contains("order.number") && err.contains("customer.first_name"),
        "{err}"
    );
    let out = add_template(
        &db,
        dir.path(),
        "thanks",
        "he",
        "שלום {{customer.first_name",
        None,
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("never closed"),
        "{out:?}"
    );
    let out = add_template(&db, dir.path(), "thanks", "en", "Hi", Some("Re {{oops}}"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("template subject"),
        "{out:?}"
    );
    assert_eq!(
        ok_json(&db, &["template", "list", "--json"]),
        serde_json::json!([])
    );
}

/// A variable with no value for this conversation is an error at render, never a blank:
/// a customer without orders cannot get {{order.number}}.
#[test]
fn missing_value_is_refused_at_render() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = shop(dir.path());
    let out = add_template(
        &db,
        dir.path(),
        "where",
        "en",
        "Your order {{order.number}} is on its way.",
        None,
    );
    assert!(out.status.success());
    let err = refused(
        &db,
        &[
            "template",
            "render",
            "where",
            "--conversation",
            "1",
            "--json",
        ],
    );
    assert!(
        err.contains("{{order.number}} has no value") && err.contains("no order"),
        "{err}"
    );
    assert!(
        refused(&db, &["template", "render", "nope", "--conversation", "1"])
            .contains("does not exist")
    );
}

/// Status, priority, tags, assignee and snooze change the conversation and are logged
/// under me; snoozed until the customer replies, the customer's next mail wakes it.
#[test]
fn workflow_and_snooze_until_reply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = shop(dir.path());
    ok(&db, &["team", "add", "Omar", "--email", "omar@shop.test"]);
    let team = ok_json(&db, &["team", "list", "--json"]);
    assert_eq!(team[0]["is_me"], true);
    assert_eq!(team[1]["name"], "Omar");

    let c = ok_json(&db, &["conversation", "status", "1", "pending", "--json"]);
    assert_eq!(c["status"], "pending");
    let c = ok_json(&db, &["conversation", "priority", "1", "urgent", "--json"]);
    assert_eq!(c["priority"], "urgent");
    ok(&db, &["conversation", "tag", "1", "zwrot"]);
    let c = ok_json(&db, &["conversation", "tag", "1", "vip", "--json"]);
    assert_eq!(c["tags"], serde_json::json!(["vip", "zwrot"]));
    let c = ok_json(
        &db,
        &["conversation", "tag", "1", "zwrot", "--remove", "--json"],
    );
    assert_eq!(c["tags"], serde_json::json!(["vip"]));
    let c = ok_json(&db, &["conversation", "assign", "1", "omar", "--json"]);
    assert_eq!(c["assignee"], "Omar");
    let c = ok_json(&db, &["conversation", "assign", "1", "--none", "--json"]);
    assert_eq!(c["assignee"], Value::Null);

    let before = jiff::Timestamp::now();
    let c = ok_json(
        &db,
        &["conversation", "snooze", "1", "--until", "+2h", "--json"],
    );
    assert_eq!(c["status"], "snoozed");
    let until: jiff::Timestamp = c["snoozed_until"]
        .as_str()
        .expect("until")
        .parse()
        .expect("rfc3339");
    let ahead = until.as_second() - before.as_second();
    assert!((7199..=7260).contains(&ahead), "+2h snoozed for {ahead} s");

    let c = ok_json(
        &db,
        &["conversation", "snooze", "1", "--until-reply", "--json"],
    );
    assert_eq!(
        (c["status"].as_str(), c["snoozed_until"].as_str()),
        (Some("snoozed"), None)
    );
    let reply = write(
        dir.path(),
        "reply.eml",
        &eml(
            "a2@example.pl",
            "Tue, 01 Dec 2026 09:00:00 +0000",
            Some("a1@example.pl"),
            "Halo?",
        ),
    );
    ok_json(
        &db,
        &[
            "import",
            "mail",
            reply.to_str().expect("path"),
            "--me",
            "hello@shop.test",
            "--json",
        ],
    );
    let list = ok_json(&db, &["conversations", "--json"]);
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "the reply joined the conversation"
    );
    assert_eq!(list[0]["status"], "open", "the customer's reply woke it");

    let events = ok_json(&db, &["conversation", "events", "1", "--json"]);
    let rows = events.as_array().expect("events");
    let actions: Vec<(&str, &str)> = rows
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or(""),
                e["action"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("Dana Levi", "status"),
            ("Dana Levi", "priority"),
            ("Dana Levi", "tag"),
            ("Dana Levi", "tag"),
            ("Dana Levi", "untag"),
            ("Dana Levi", "assign"),
            ("Dana Levi", "assign"),
            ("Dana Levi", "status"),
            ("Dana Levi", "status"),
            ("system", "woken"),
        ]
    );

    // Refusals: clear messages, nothing changed.
    assert!(
        usage_error(&db, &["conversation", "status", "1", "snoozed"])
            .contains("conversation snooze")
    );
    assert!(
        refused(
            &db,
            &[
                "conversation",
                "snooze",
                "1",
                "--until",
                "2001-01-01T00:00:00Z"
            ]
        )
        .contains("has passed")
    );
    assert!(refused(&db, &["conversation", "snooze", "1", "--until", "soonish"]).contains("+2h"));
    assert!(
        refused(&db, &["conversation", "assign", "1", "Nobody"])
            .contains("team member \"Nobody\" does not exist")
    );
    assert!(
        refused(&db, &["conversation", "priority", "99", "low"])
            .contains("conversation 99 does not exist")
    );
    assert!(
        usage_error(&db, &["conversation", "assign", "1", "Omar", "--none"]).contains("--none")
    );
    assert!(refused(&db, &["conversation", "tag", "1", "nope", "--remove"]).contains("no tag"));
    assert!(refused(&db, &["team", "add", "dana levi"]).contains("already exists"));
    assert_eq!(
        ok_json(&db, &["conversations", "--json"])[0]["status"],
        "open"
    );
}

/// Notes are kept on the customer, with me as author, and never become messages.
#[test]
fn notes_are_internal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = shop(dir.path());
    ok(
        &db,
        &[
            "note",
            "add",
            "--conversation",
            "1",
            "--text",
            "Klientka VIP — nie wysyłać kuponu",
        ],
    );
    let n = ok_json(
        &db,
        &[
            "note",
            "add",
            "--customer",
            "1",
            "--text",
            "מעדיפה וואטסאפ",
            "--json",
        ],
    );
    assert_eq!(n["author"], "Dana Levi");
    let notes = ok_json(&db, &["notes", "--customer", "1", "--json"]);
    let bodies: Vec<&str> = notes
        .as_array()
        .expect("notes")
        .iter()
        .filter_map(|n| n["body"].as_str())
        .collect();
    assert_eq!(
        bodies,
        ["Klientka VIP — nie wysyłać kuponu", "מעדיפה וואטסאפ"]
    );
    assert_eq!(notes[0]["conversation_id"], 1);
    let messages = ok_json(&db, &["messages", "1", "--json"]);
    assert_eq!(
        messages.as_array().map(Vec::len),
        Some(1),
        "a note is never a message"
    );
    assert!(
        refused(&db, &["note", "add", "--customer", "1", "--text", "  "])
            .contains("needs some text")
    );
    assert!(
        refused(&db, &["note", "add", "--customer", "42", "--text", "x"])
            .contains("does not exist")
    );
}

/// Acceptance: a reply scheduled with `reply --send-at` is cancelled when the customer
/// writes first (the outbox says why); one sent with `--keep-on-reply` stays queued.
#[test]
fn scheduled_reply_is_cancelled_when_the_customer_writes_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = shop(dir.path());
    sql(
        &db,
        "INSERT INTO accounts(name, email, username, imap_host, imap_port, imap_tls, smtp_host, smtp_port,
                              smtp_tls, created_at)
         VALUES ('shop', 'hello@shop.test', 'hello', '127.0.0.1', 1, 'none', '127.0.0.1', 1, 'none', 0)",
    );
    let body = write(dir.path(), "reply.txt", "Paczka wyjdzie jutro.");
    let later = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(3);
    let later = later.to_string();
    let body = body.to_str().expect("path");
    let cancel = ok_json(
        &db,
        &[
            "reply",
            "1",
            "--body-file",
            body,
            "--send-at",
            &later,
            "--json",
        ],
    );
    let keep = ok_json(
        &db,
        &[
            "reply",
            "1",
            "--body-file",
            body,
            "--send-at",
            &later,
            "--keep-on-reply",
            "--json",
        ],
    );
    assert_eq!(
        (cancel["state"].as_str(), keep["state"].as_str()),
        (Some("queued"), Some("queued"))
    );

    // The customer writes a minute from now, before either reply is due.
    let date = (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(1))
        .to_zoned(jiff::tz::TimeZone::UTC)
        .strftime("%a, %d %b %Y %H:%M:%S +0000")
        .to_string();
    let mail = write(
        dir.path(),
        "again.eml",
        &eml(
            "a3@example.pl",
            &date,
            Some("a1@example.pl"),
            "Już nieważne, dziękuję",
        ),
    );
    ok_json(
        &db,
        &[
            "import",
            "mail",
            mail.to_str().expect("path"),
            "--me",
            "hello@shop.test",
            "--json",
        ],
    );

    let outbox = ok_json(&db, &["outbox", "--json"]);
    let state = |id: &Value| {
        outbox
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["id"] == *id))
            .map(|r| {
                (
                    r["state"].as_str().unwrap_or("").to_owned(),
                    r["last_error"].as_str().map(str::to_owned),
                )
            })
    };
    assert_eq!(
        state(&cancel["id"]),
        Some((
            "cancelled".to_owned(),
            Some("cancelled: the customer wrote first".to_owned())
        ))
    );
    assert_eq!(state(&keep["id"]), Some(("queued".to_owned(), None)));
}
