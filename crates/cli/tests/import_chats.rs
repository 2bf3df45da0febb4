//! `shopdesk import whatsapp|messenger|instagram|telegram` and `shopdesk customer …`: chat
//! exports land once, the shop's lines are outgoing, and one person is one customer across
//! mail, chats and orders; merges and splits are undoable and lose nothing.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn run(db: &Path, args: &[&str]) -> Output {
    shopdesk_systests::cli::run_with_stdin(env!("CARGO_BIN_EXE_shopdesk"), db, args, "")
}

fn json(db: &Path, args: &[&str]) -> Value {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Runs a command that must fail; returns its stderr.
fn fails(db: &Path, args: &[&str]) -> String {
    let out = run(db, args);
    assert!(
        !out.status.success(),
        "{args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn corpus(relative: &str) -> PathBuf {
    shopdesk_systests::corpus::corpus_file(relative).unwrap_or_else(|e| panic!("{e}"))
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn count(report: &Value, field: &str) -> u64 {
    report[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} in {report}"))
}

fn stats(db: &Path) -> Value {
    json(db, &["stats", "--json"])
}

/// whatstk's lorem-merge-part1 then part2: every line of both once (600); importing
/// either again, or one export holding both, adds nothing.
#[test]
fn whatstk_merge_parts_give_the_union_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.db");
    let part1 = corpus("whatstk/chats/whatsapp/lorem-merge-part1.txt");
    let part2 = corpus("whatstk/chats/whatsapp/lorem-merge-part2.txt");
    let first = json(&db, &["import", "whatsapp", s(&part1), "--json"]);
    assert_eq!(
        (count(&first, "imported"), count(&first, "duplicates")),
        (300, 0),
        "{first}"
    );
    let second = json(&db, &["import", "whatsapp", s(&part2), "--json"]);
    assert_eq!(
        (count(&second, "imported"), count(&second, "duplicates")),
        (300, 0),
        "{second}"
    );
    assert_eq!(stats(&db)["messages"], 600);

    for part in [&part1, &part2] {
        let again = json(&db, &["import", "whatsapp", s(part), "--json"]);
        assert_eq!(
            (count(&again, "imported"), count(&again, "duplicates")),
            (0, 300),
            "{again}"
        );
    }
    // A later export holding the whole history.
    let mut both = std::fs::read(&part1).expect("part1");
    both.push(b'\n');
    both.extend(std::fs::read(&part2).expect("part2"));
    let whole = dir.path().join("WhatsApp Chat with Lorem.txt");
    std::fs::write(&whole, both).expect("write");
    let again = json(&db, &["import", "whatsapp", s(&whole), "--json"]);
    assert_eq!(
        (count(&again, "imported"), count(&again, "duplicates")),
        (0, 600),
        "{again}"
    );
    assert_eq!(stats(&db)["messages"], 600);
    // The phone-number author is a phone identity.
    let customers = json(&db, &["customers", "--json"]);
    let phones: Vec<&Value> = customers
        .as_array()
        .expect("list")
        .iter()
        .flat_map(|c| c["identities"].as_array().expect("identities"))
        .filter(|i| i["kind"] == "phone")
        .collect();
    assert_eq!(phones.len(), 1, "{customers}");
    assert_eq!(phones[0]["value"], "+1123456789");
}

/// Telegram's single-chat export and Instagram's test export give the oracles' two
/// messages each (entity text flattened to `Link: https://telegram.org/`); with `--me`
/// naming one side, that side is outgoing and not a customer.
#[test]
fn telegram_and_instagram_give_their_oracle_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.db");
    let tg = json(
        &db,
        &[
            "import",
            "telegram",
            s(&corpus("chat-miner/test/telegram/test_single_export.json")),
            "--me",
            "Author 1",
            "--json",
        ],
    );
    assert_eq!(
        (count(&tg, "imported"), count(&tg, "duplicates")),
        (2, 0),
        "{tg}"
    );
    let conversation = tg["conversations"][0].to_string();
    let messages = json(&db, &["messages", &conversation, "--json"]);
    let lines: Vec<(&str, &str, &str)> = messages
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["direction"].as_str().unwrap_or(""),
                m["author"].as_str().unwrap_or(""),
                m["body_text"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("out", "Author 1", "Minimal Message"),
            ("in", "Author 2", "Link: https://telegram.org/")
        ]
    );
    assert_eq!(messages[0]["sent_at"], "2018-12-05T10:39:10Z");

    let ig = json(
        &db,
        &[
            "import",
            "instagram",
            s(&corpus("chat-miner/test/instagram/test_export.json")),
            "--me",
            "Jane Doe",
            "--json",
        ],
    );
    assert_eq!(count(&ig, "imported"), 2, "{ig}");
    let conversation = ig["conversations"][0].to_string();
    let messages = json(&db, &["messages", &conversation, "--json"]);
    let lines: Vec<(&str, &str, &str)> = messages
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (
                m["sent_at"].as_str().unwrap_or(""),
                m["author"].as_str().unwrap_or(""),
                m["body_text"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("2019-12-24T11:23:00Z", "Jane Doe", "Hello John!"),
            ("2020-01-17T20:49:00Z", "John Doe", "Hello Jane!")
        ]
    );
    let names: Vec<String> = json(&db, &["customers", "--json"])
        .as_array()
        .expect("customers")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(names, ["Author 2", "John Doe"]);
    let again = json(
        &db,
        &[
            "import",
            "instagram",
            s(&corpus("chat-miner/test/instagram/test_export.json")),
            "--json",
        ],
    );
    assert_eq!(
        (count(&again, "imported"), count(&again, "duplicates")),
        (0, 2),
        "{again}"
    );
}

const MAIL: &str = "From: Ada Lovelace <a@x.test>
To: hello@shop.test
Subject: My order
Date: Mon, 13 May 2024 09:00:00 +0300
Message-ID: <ada-1@x.test>

Hello, has order #1001 shipped?
";

const ORDERS: &str = "Name,Email,Phone,Financial Status,Fulfillment Status,Currency,Total,Created at,Fulfilled at,Lineitem name,Lineitem quantity,Lineitem price,Lineitem sku,Billing Name
#1001,a@x.test,+972 50-123-4567,paid,unfulfilled,ILS,60.00,2024-05-10 10:00:00 +0300,,Mug,1,60.00,M-1,Ada Lovelace
";

const WHATSAPP: &str =
    "13/05/2024, 11:00 - +972 50-123-4567: Hi, it's Ada again, any news on #1001?
13/05/2024, 11:05 - Sunflower Shop: It left this morning!
";

/// THE acceptance: a customer who emails from a@x.test, has an order with that address
/// and a phone, and writes on WhatsApp from that phone is one customer, with the email
/// and phone identities, the mail and the chat conversations and the order, whichever
/// order the three arrive in.
#[test]
fn mail_order_and_whatsapp_are_one_customer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let eml = dir.path().join("ada.eml");
    std::fs::write(&eml, MAIL).expect("write");
    let csv = dir.path().join("orders_export.csv");
    std::fs::write(&csv, ORDERS).expect("write");
    let chat = dir.path().join("WhatsApp Chat with +972 50-123-4567.txt");
    std::fs::write(&chat, WHATSAPP).expect("write");
    let mail_args = [
        "import",
        "mail",
        s(&eml),
        "--me",
        "hello@shop.test",
        "--json",
    ];
    let order_args = ["import", "orders", s(&csv), "--json"];
    let chat_args = [
        "import",
        "whatsapp",
        s(&chat),
        "--me",
        "Sunflower Shop",
        "--json",
    ];

    for (run_no, sequence) in [
        [&mail_args[..], &order_args, &chat_args],
        [&chat_args, &order_args, &mail_args],
        [&mail_args, &chat_args, &order_args],
    ]
    .iter()
    .enumerate()
    {
        let db = dir.path().join(format!("one-{run_no}.db"));
        for args in sequence {
            json(&db, args);
        }
        let customers = json(&db, &["customers", "--json"]);
        let customers = customers.as_array().expect("list");
        assert_eq!(customers.len(), 1, "sequence {run_no}: {customers:?}");
        let ada = &customers[0];
        let mut ids: Vec<(&str, &str)> = ada["identities"]
            .as_array()
            .expect("identities")
            .iter()
            .filter_map(|i| Some((i["kind"].as_str()?, i["value"].as_str()?)))
            .collect();
        ids.sort();
        assert_eq!(
            ids,
            [("email", "a@x.test"), ("phone", "+972501234567")],
            "sequence {run_no}"
        );
        assert_eq!(
            (
                ada["conversation_count"].as_i64(),
                ada["order_count"].as_i64()
            ),
            (Some(2), Some(1)),
            "sequence {run_no}: {ada}"
        );
        let conversations = json(
            &db,
            &[
                "conversations",
                "--customer",
                &ada["id"].to_string(),
                "--json",
            ],
        );
        let mut channels: Vec<&str> = conversations
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|c| c["channel"].as_str())
            .collect();
        channels.sort();
        assert_eq!(channels, ["email", "whatsapp"], "sequence {run_no}");
    }
}

/// A file that is not a chat export of that kind is refused whole: the error names the
/// file, the format expected and the line, and nothing is imported or recorded.
#[test]
fn not_a_chat_export_is_refused_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.db");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "Shopping list\n- milk\n- 3 mugs\n").expect("write");
    let err = fails(&db, &["import", "whatsapp", s(&notes)]);
    assert!(
        err.contains(s(&notes)) && err.contains("WhatsApp") && err.contains("line 1"),
        "{err}"
    );

    let wrong = dir.path().join("result.json");
    std::fs::write(&wrong, "{\n  \"chats\": 42\n}\n").expect("write");
    let err = fails(&db, &["import", "telegram", s(&wrong)]);
    assert!(err.contains(s(&wrong)) && err.contains("line"), "{err}");

    let broken = dir.path().join("message_1.json");
    std::fs::write(&broken, "{\"participants\": [}").expect("write");
    let err = fails(&db, &["import", "messenger", s(&broken)]);
    assert!(err.contains(s(&broken)) && err.contains("line 1"), "{err}");

    assert_eq!(stats(&db)["messages"], 0);
    let imports: i64 = rusqlite::Connection::open(&db)
        .expect("db")
        .query_row("SELECT count(*) FROM imports", [], |r| r.get(0))
        .expect("count");
    assert_eq!(imports, 0);
}

/// Human output: the counts line, then each problem as `file:line: message`.
#[test]
fn human_report_lists_problems_with_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.db");
    let chat = dir.path().join("WhatsApp Chat with Anna.txt");
    std::fs::write(&chat, "stray line before any message\n01/02/2024, 10:00 - Anna: hi\n01/02/2024, 10:01 - Me: hello\n").expect("write");
    let out = run(&db, &["import", "whatsapp", s(&chat), "--me", "Me"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("imported 2, skipped 0 duplicates, 1 problems"),
        "{text}"
    );
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with(&format!("{}:1: ", chat.display()))),
        "{text}"
    );
}

/// Pokemon group chat: one conversation shared by every participant (each one's
/// conversation list shows it); the chat's own `Pokemon Chat` rows are system events,
/// not customers or customer messages.
#[test]
fn group_chat_is_one_conversation_shared_by_its_members() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.db");
    let report = json(
        &db,
        &[
            "import",
            "whatsapp",
            s(&corpus("whatstk/chats/whatsapp/pokemon.txt")),
            "--json",
        ],
    );
    assert_eq!(
        report["conversations"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );
    let conversation = &report["conversations"][0];
    let customers = json(&db, &["customers", "--json"]);
    let customers = customers.as_array().expect("list");
    assert!(customers.len() >= 3, "{customers:?}");
    assert!(
        customers.iter().all(|c| c["name"] != "Pokemon Chat"),
        "{customers:?}"
    );
    for c in customers {
        let theirs = json(
            &db,
            &[
                "conversations",
                "--customer",
                &c["id"].to_string(),
                "--json",
            ],
        );
        let ids: Vec<&Value> = theirs
            .as_array()
            .expect("list")
            .iter()
            .map(|v| &v["id"])
            .collect();
        assert_eq!(ids, [conversation], "customer {}", c["name"]);
    }
    let messages = json(&db, &["messages", &conversation.to_string(), "--json"]);
    let system = messages
        .as_array()
        .expect("list")
        .iter()
        .filter(|m| m["direction"] == "system")
        .count();
    assert!(system > 0, "no system events");
    assert!(
        messages
            .as_array()
            .expect("list")
            .iter()
            .all(|m| m["direction"] != "in" || m["author"] != "Pokemon Chat")
    );
}

/// Merge, split and undo from the command line: a merge makes one customer of two, its
/// undo restores both; a split moves one identity with its chat to a new customer and
/// its undo folds it back; message counts never change. Same-name customers are only
/// suggested, and a dismissed suggestion stays dismissed.
#[test]
fn merge_split_undo_and_suggestions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.db");
    let one = dir.path().join("WhatsApp Chat with Anna Nowak.txt");
    std::fs::write(
        &one,
        "01/02/2024, 10:00 - Anna Nowak: hi\n01/02/2024, 10:01 - Shop: hello\n",
    )
    .expect("write");
    let two = dir.path().join("WhatsApp Chat with +48 601 234 567.txt");
    std::fs::write(
        &two,
        "02/02/2024, 09:00 - +48 601 234 567: it's Anna, from my other phone\n",
    )
    .expect("write");
    json(
        &db,
        &["import", "whatsapp", s(&one), "--me", "Shop", "--json"],
    );
    json(
        &db,
        &[
            "import",
            "telegram",
            s(&corpus("chat-miner/test/telegram/test_single_export.json")),
            "--json",
        ],
    );
    json(&db, &["import", "whatsapp", s(&two), "--json"]);
    let messages_before = stats(&db)["messages"].clone();
    let customers = json(&db, &["customers", "--json"]);
    let id_of = |name: &str| -> i64 {
        customers
            .as_array()
            .expect("list")
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["id"].as_i64())
            .expect(name)
    };
    let (anna, phone) = (id_of("Anna Nowak"), id_of("+48 601 234 567"));
    let before = customers.as_array().expect("list").len();

    // Telegram's Author 1 and Author 2 share no name with anyone: no suggestion yet.
    assert_eq!(
        json(&db, &["customer", "suggestions", "--json"]),
        serde_json::json!([])
    );

    let merged = json(
        &db,
        &[
            "customer",
            "merge",
            &anna.to_string(),
            &phone.to_string(),
            "--json",
        ],
    );
    let change = merged["change"].to_string();
    assert_eq!(
        json(&db, &["customers", "--json"]).as_array().map(Vec::len),
        Some(before - 1)
    );
    let shown = json(&db, &["customer", "show", &anna.to_string(), "--json"]);
    assert_eq!(
        shown["conversation_ids"].as_array().map(Vec::len),
        Some(2),
        "{shown}"
    );
    assert_eq!(stats(&db)["messages"], messages_before);

    // Split the phone back off, then undo the split: Anna has both chats again.
    let split = json(
        &db,
        &[
            "customer",
            "split",
            &anna.to_string(),
            "--identity",
            "phone:+48 601-234-567",
            "--json",
        ],
    );
    let new_customer = split["customer"].to_string();
    let shown = json(&db, &["customer", "show", &new_customer, "--json"]);
    assert_eq!(
        shown["conversation_ids"].as_array().map(Vec::len),
        Some(1),
        "{shown}"
    );
    // The merge cannot be undone while the split that depends on it stands.
    let err = fails(&db, &["customer", "undo", &change]);
    assert!(
        err.contains(&format!("change {}", split["change"])),
        "{err}"
    );
    json(
        &db,
        &["customer", "undo", &split["change"].to_string(), "--json"],
    );
    assert_eq!(
        json(&db, &["customer", "show", &anna.to_string(), "--json"])["conversation_ids"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    // Now the merge itself.
    json(&db, &["customer", "undo", &change, "--json"]);
    assert_eq!(
        json(&db, &["customers", "--json"]).as_array().map(Vec::len),
        Some(before)
    );
    assert_eq!(stats(&db)["messages"], messages_before);
    let again = fails(&db, &["customer", "undo", &change]);
    assert!(again.contains("already undone"), "{again}");

    // A Messenger contact with Anna's name is a suggestion, not a merge.
    let fb = dir.path().join("message_1.json");
    std::fs::write(
        &fb,
        r#"{"participants":[{"name":"Anna Nowak"},{"name":"Shop"}],"messages":[{"sender_name":"Anna Nowak","timestamp_ms":1706860800000,"content":"czy macie kubki?"}],"title":"Anna Nowak","thread_path":"inbox/annanowak_123"}"#,
    )
    .expect("write");
    json(&db, &["import", "messenger", s(&fb), "--json"]);
    let suggestions = json(&db, &["customer", "suggestions", "--json"]);
    let pairs = suggestions.as_array().expect("list");
    assert_eq!(pairs.len(), 1, "{suggestions}");
    assert_eq!(pairs[0]["a"], anna);
    assert_eq!(
        json(&db, &["customers", "--json"]).as_array().map(Vec::len),
        Some(before + 1)
    );
    let out = run(
        &db,
        &[
            "customer",
            "dismiss",
            &pairs[0]["a"].to_string(),
            &pairs[0]["b"].to_string(),
        ],
    );
    assert!(out.status.success());
    assert_eq!(
        json(&db, &["customer", "suggestions", "--json"]),
        serde_json::json!([])
    );
}

/// `settings set` takes a bare word or JSON and `settings get` prints JSON; chat_names
/// set there mark the shop's lines without `--me`.
#[test]
fn settings_get_and_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.db");
    assert!(
        run(&db, &["settings", "set", "default_phone_region", "pl"])
            .status
            .success()
    );
    assert_eq!(
        json(&db, &["settings", "get", "default_phone_region"]),
        "PL"
    );
    assert!(
        run(
            &db,
            &["settings", "set", "chat_names", r#"["Sunflower Shop"]"#]
        )
        .status
        .success()
    );
    assert_eq!(
        json(&db, &["settings", "get", "chat_names"]),
        serde_json::json!(["Sunflower Shop"])
    );
    let err = fails(&db, &["settings", "set", "chat_names", "Sunflower Shop"]);
    assert!(err.contains("JSON list"), "{err}");
    let chat = dir.path().join("WhatsApp Chat with Ola.txt");
    std::fs::write(
        &chat,
        "01/02/2024, 10:00 - 601 234 567: hej\n01/02/2024, 10:01 - Sunflower Shop: dzień dobry\n",
    )
    .expect("write");
    let report = json(&db, &["import", "whatsapp", s(&chat), "--json"]);
    assert_eq!(report["problems"], serde_json::json!([]));
    let customers = json(&db, &["customers", "--json"]);
    assert_eq!(customers.as_array().map(Vec::len), Some(1), "{customers}");
}

/// `--dry-run` parses and counts (the speed benchmark's "parse alone") and stores
/// nothing.
#[test]
fn dry_run_counts_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("c.db");
    let part1 = corpus("whatstk/chats/whatsapp/lorem-merge-part1.txt");
    let parsed = json(
        &db,
        &["import", "whatsapp", s(&part1), "--dry-run", "--json"],
    );
    assert_eq!(
        (count(&parsed, "chats"), count(&parsed, "messages")),
        (1, 300),
        "{parsed}"
    );
    let tg = corpus("chat-miner/test/telegram/test_batch_export.json");
    let parsed = json(&db, &["import", "telegram", s(&tg), "--dry-run", "--json"]);
    assert!(count(&parsed, "messages") >= 2, "{parsed}");
    assert_eq!(stats(&db)["messages"], 0);
}
