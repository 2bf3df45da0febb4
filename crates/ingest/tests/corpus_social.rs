//! The Messenger/Instagram and Telegram Desktop parsers over the shared corpus (see
//! ../shared/corpus/README.md, "Other chat exports": chat-miner's test exports and their
//! oracles), plus hostile input and the folder/zip readers.
//!
//! Golden files: `tests/golden/social/*.json` hold our whole parse of one corpus file per
//! format; `UPDATE_GOLDEN=1 cargo test -p shopdesk-ingest --test corpus_social` rewrites
//! them after an intended change (review the diff).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::Value;
use shopdesk_core::Channel;
use shopdesk_core::chat::{ChatExport, ChatKind, ChatMessage, ChatTime};
use shopdesk_ingest::IngestError;
use shopdesk_ingest::chat::{meta, telegram};
use std::path::{Path, PathBuf};

fn corpus(relative: &str) -> PathBuf {
    shopdesk_systests::corpus::corpus_file(relative).unwrap_or_else(|e| panic!("{e}"))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_meta_file(relative: &str, channel: Channel) -> ChatExport {
    meta::parse_meta(&read(&corpus(relative)), channel)
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// Milliseconds of a zone-less `2019-12-24T11:23:00` / `2019-12-24 11:23:00.000` read in
/// `tz`.
fn millis_in(naive: &str, tz: &TimeZone) -> i64 {
    let dt: DateTime = naive
        .replace(' ', "T")
        .parse()
        .unwrap_or_else(|e| panic!("{naive}: {e}"));
    dt.to_zoned(tz.clone())
        .unwrap_or_else(|e| panic!("{naive}: {e}"))
        .timestamp()
        .as_millisecond()
}

fn utc_millis(m: &ChatMessage) -> i64 {
    match m.at {
        ChatTime::Utc(ms) => ms,
        ChatTime::Local(t) => panic!("expected a UTC time, got local {t}"),
    }
}

fn author(m: &ChatMessage) -> &str {
    m.author.as_ref().map(|a| a.name.as_str()).unwrap_or("")
}

/// (UTC millis, author, text) of each entry.
fn rows(messages: &[ChatMessage]) -> Vec<(i64, String, String)> {
    messages
        .iter()
        .map(|m| (utc_millis(m), author(m).to_owned(), m.text.clone()))
        .collect()
}

/// chat-miner's `target.json` rows (naive UTC `timestamp`, `author`, `message`).
fn target_rows(path: &Path) -> Vec<(i64, String, String)> {
    let Value::Array(items) = json(path) else {
        panic!("{}: not an array", path.display())
    };
    items
        .iter()
        .map(|t| {
            let field = |k: &str| {
                t[k].as_str()
                    .unwrap_or_else(|| panic!("{k} in {t}"))
                    .to_owned()
            };
            (
                millis_in(&field("timestamp"), &TimeZone::UTC),
                field("author"),
                field("message"),
            )
        })
        .collect()
}

/// Instagram `test_export.json` gives its 2 messages with target.json's UTC times,
/// authors and texts, oldest first (the file lists them newest first).
#[test]
fn instagram_test_export_matches_target() {
    let export = parse_meta_file(
        "chat-miner/test/instagram/test_export.json",
        Channel::Instagram,
    );
    let mut expected = target_rows(&corpus("chat-miner/test/instagram/target.json"));
    expected.sort();
    assert_eq!(rows(&export.messages), expected);
    assert!(export.problems.is_empty(), "{:?}", export.problems);
    assert_eq!(export.channel, Channel::Instagram);
}

/// chat-miner's old Instagram parser (the one that wrote these oracles, at 62d255f and
/// a7e9d8c) turns the 13 entries of testlog.json into 11 rows: a share, photo, video or
/// audio message becomes the word `sentshare`/`sentphoto`/`sentvideo`/`sentaudio` (in
/// that order of precedence, whatever the content), a message with only reactions
/// becomes `disappearingmessage`, reactions are not rows, and content holding one of its
/// poll/reaction phrases is dropped (here the two poll notices). We keep all 13 (polls
/// and the join as system events) plus 4 reaction entries; this projects ours through
/// those same rules to compare like with like.
fn chat_miner_rows(messages: &[ChatMessage]) -> Vec<(i64, String, String)> {
    const DROPPED: [&str; 6] = [
        " to your message",
        " in the poll.",
        " created a poll: ",
        " liked a message",
        "This poll is no longer available.",
        "'s poll has multiple updates.",
    ];
    let mut out = Vec::new();
    for m in messages.iter().filter(|m| m.kind != ChatKind::Reaction) {
        let has = |kind: &str| m.attachments.iter().any(|a| a.kind == kind);
        let text = if has("share") {
            "sentshare".to_owned()
        } else if has("photo") {
            "sentphoto".to_owned()
        } else if has("video") {
            "sentvideo".to_owned()
        } else if has("audio") {
            "sentaudio".to_owned()
        } else if m.text.is_empty() && m.attachments.is_empty() {
            "disappearingmessage".to_owned()
        } else if DROPPED.iter().any(|flag| m.text.contains(flag)) {
            continue;
        } else {
            m.text.clone()
        };
        out.push((utc_millis(m), author(m).to_owned(), text));
    }
    out.sort();
    out
}

/// The mojibake-heavy Instagram testlog (@62d255f): our parse, projected as chat-miner
/// would render it, equals the 11-row testlog_target.csv exactly (❤️ and J❤️hn Doe, not
/// `â¤ï¸`). The CSV's times are chat-miner's `fromtimestamp`, i.e. the oracle author's
/// local time, Europe/Berlin (+01:00 in winter, +02:00 in summer).
#[test]
fn instagram_testlog_matches_chat_miner_csv() {
    let export = parse_meta_file(
        "chat-miner@62d255f/test/instagram/testlog.json",
        Channel::Instagram,
    );
    let berlin =
        TimeZone::get("Europe/Berlin").expect("the system time zone database has Europe/Berlin");
    let csv = String::from_utf8(read(&corpus(
        "chat-miner@62d255f/test/instagram/testlog_target.csv",
    )))
    .expect("utf-8");
    assert!(
        !csv.contains('"'),
        "the oracle has no quoted fields, so it is split on commas"
    );
    let mut expected: Vec<(i64, String, String)> = csv
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 7, "{line}");
            (millis_in(f[0], &berlin), f[1].to_owned(), f[2].to_owned())
        })
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 11);
    assert_eq!(chat_miner_rows(&export.messages), expected);
}

/// The same testlog at a7e9d8c, whose oracle gives UTC milliseconds: the same 11 rows.
/// Its share_text mixes chars above U+00FF (…, emoji) with ñ/é: it is not mojibake and
/// must come through unchanged.
#[test]
fn instagram_testlog_a7e9d8c_matches_target() {
    let export = parse_meta_file(
        "chat-miner@a7e9d8c/test/instagram/testlog.json",
        Channel::Instagram,
    );
    let target = String::from_utf8(read(&corpus(
        "chat-miner@a7e9d8c/test/instagram/target.json",
    )))
    .expect("utf-8");
    let mut expected: Vec<(i64, String, String)> = target
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let t: Value = serde_json::from_str(l).expect("json line");
            let ms = t["datetime"].as_i64().expect("datetime");
            (
                ms,
                t["author"].as_str().expect("author").to_owned(),
                t["message"].as_str().expect("message").to_owned(),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 11);
    assert_eq!(chat_miner_rows(&export.messages), expected);

    let raw = json(&corpus("chat-miner@a7e9d8c/test/instagram/testlog.json"));
    let share_text = raw["messages"]
        .as_array()
        .and_then(|ms| ms.iter().find_map(|m| m["share"]["share_text"].as_str()))
        .expect("a share_text");
    assert!(share_text.contains("Tantas veces lo soñé") && share_text.contains('…'));
    assert_eq!(meta::fix_mojibake(share_text), share_text);
}

/// Our own reading of the testlog beyond chat-miner's rows: 13 entries plus 4 reactions
/// (reactor and emoji, at the message's time, right after it); the poll notices and the
/// join are system events; media and the share are attachments named by uri/link;
/// participants and title repaired; oldest first, and the two entries sharing
/// 1579359180000 in the reverse of their file order.
#[test]
fn instagram_testlog_entries_in_detail() {
    let export = parse_meta_file(
        "chat-miner@62d255f/test/instagram/testlog.json",
        Channel::Instagram,
    );
    assert_eq!(export.messages.len(), 17);
    assert!(export.problems.is_empty(), "{:?}", export.problems);
    assert_eq!(export.title.as_deref(), Some("Test Log"));
    assert_eq!(
        export.thread_id.as_deref(),
        Some("inbox/testlog_2765720812686121")
    );
    let names: Vec<&str> = export
        .participants
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["John Doe", "J❤️hn Doe", "Jane Doe", "Lionel Messi"]);
    assert!(
        export.messages.windows(2).all(|w| w[0].at <= w[1].at),
        "oldest first"
    );

    let reactions: Vec<(&str, &str, usize)> = export
        .messages
        .iter()
        .filter(|m| m.kind == ChatKind::Reaction)
        .map(|m| (author(m), m.text.as_str(), m.line))
        .collect();
    assert_eq!(
        reactions,
        [
            ("J❤️hn Doe", "❤️", 8),
            ("Jane Doe", "💖", 8),
            ("J❤️hn Doe", "❤️", 0),
            ("Jane Doe", "💖", 0)
        ]
    );
    for (i, m) in export.messages.iter().enumerate() {
        if m.kind == ChatKind::Reaction {
            let reacted = export.messages[..i]
                .iter()
                .rev()
                .find(|p| p.kind != ChatKind::Reaction)
                .expect("a message before");
            assert_eq!(
                (reacted.line, reacted.at),
                (m.line, m.at),
                "a reaction follows its message"
            );
        }
    }

    let system: Vec<&str> = export
        .messages
        .iter()
        .filter(|m| m.kind == ChatKind::System)
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(
        system,
        [
            "Jane Doe joined the group.",
            "John Doe's poll has multiple updates.",
            "This poll is no longer available."
        ]
    );

    let same_ms: Vec<&str> = export
        .messages
        .iter()
        .filter(|m| m.at == ChatTime::Utc(1579359180000))
        .map(author)
        .collect();
    assert_eq!(same_ms, ["J❤️hn Doe", "❤️"]);

    let attachments: Vec<(&str, &str)> = export
        .messages
        .iter()
        .flat_map(|m| m.attachments.iter())
        .map(|a| (a.kind.as_str(), a.filename.as_deref().unwrap_or("")))
        .collect();
    assert_eq!(attachments.len(), 4);
    assert!(attachments.contains(&(
        "share",
        "https://www.instagram.com/p/CmUv48DLvxd/?feed_type=reshare_chaining"
    )));
    assert!(
        attachments
            .iter()
            .any(|(k, f)| *k == "photo" && f.ends_with(".jpg"))
    );
    assert!(
        attachments
            .iter()
            .any(|(k, f)| *k == "audio" && f.starts_with("messages/inbox/videocallwiththehomies"))
    );
    assert!(
        export
            .messages
            .iter()
            .all(|m| !m.text.contains('â') && !author(m).contains('â')),
        "no mojibake left"
    );
}

/// Messenger (pr39): two messages in the same millisecond come out in target.json's
/// order, which is the reverse of the file's (newest first) order.
#[test]
fn messenger_same_timestamp_matches_target() {
    let export = parse_meta_file(
        "chat-miner@30734a8-pr39/test/facebookMessenger/testlog.json",
        Channel::Messenger,
    );
    let Value::Array(target) = json(&corpus(
        "chat-miner@30734a8-pr39/test/facebookMessenger/target.json",
    )) else {
        panic!("target.json is not an array")
    };
    let expected: Vec<(i64, String, String)> = target
        .iter()
        .map(|t| {
            (
                t["datetime"].as_i64().expect("datetime"),
                t["author"].as_str().expect("author").to_owned(),
                t["message"].as_str().expect("message").to_owned(),
            )
        })
        .collect();
    assert_eq!(expected.len(), 2);
    assert_eq!(rows(&export.messages), expected);
    assert!(export.messages.iter().all(|m| m.kind == ChatKind::Message));
}

/// Telegram single-chat and full-account exports give the 2 messages of target.json
/// (UTC from date_unixtime), the entity list flattened to `Link: https://telegram.org/`;
/// the account export's chat keeps its name.
#[test]
fn telegram_single_and_batch_match_target() {
    let mut expected = target_rows(&corpus("chat-miner/test/telegram/target.json"));
    expected.sort();
    for file in ["test_single_export.json", "test_batch_export.json"] {
        let relative = format!("chat-miner/test/telegram/{file}");
        let exports = telegram::parse_telegram(&read(&corpus(&relative)))
            .unwrap_or_else(|e| panic!("{relative}: {e}"));
        assert_eq!(exports.len(), 1, "{file}");
        assert_eq!(rows(&exports[0].messages), expected, "{file}");
        assert!(
            exports[0].problems.is_empty(),
            "{file}: {:?}",
            exports[0].problems
        );
        assert_eq!(exports[0].channel, Channel::Telegram);
    }
    let batch = telegram::parse_telegram(&read(&corpus(
        "chat-miner/test/telegram/test_batch_export.json",
    )))
    .expect("batch");
    assert_eq!(batch[0].title.as_deref(), Some("Chatname"));
}

/// The @62d255f copies agree with test_target.csv, whose times are chat-miner's local
/// time (Europe/Berlin).
#[test]
fn telegram_62d255f_matches_csv() {
    let berlin =
        TimeZone::get("Europe/Berlin").expect("the system time zone database has Europe/Berlin");
    let csv = String::from_utf8(read(&corpus(
        "chat-miner@62d255f/test/telegram/test_target.csv",
    )))
    .expect("utf-8");
    let expected: Vec<(i64, String, String)> = csv
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 7, "{line}");
            (millis_in(f[0], &berlin), f[1].to_owned(), f[2].to_owned())
        })
        .collect();
    assert_eq!(expected.len(), 2);
    for file in ["test_single_export.json", "test_batch_export.json"] {
        let exports = telegram::parse_telegram(&read(&corpus(&format!(
            "chat-miner@62d255f/test/telegram/{file}"
        ))))
        .expect(file);
        assert_eq!(rows(&exports[0].messages), expected, "{file}");
    }
}

/// Our parse of one corpus file per format equals its reviewed golden JSON (the whole
/// export: times, authors, kinds, texts, attachments, lines, problems).
#[test]
fn golden_exports() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let golden_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/social");
    let cases: [(&str, &str, Vec<ChatExport>); 3] = [
        (
            "instagram_testlog.json",
            "chat-miner@62d255f/test/instagram/testlog.json",
            vec![parse_meta_file(
                "chat-miner@62d255f/test/instagram/testlog.json",
                Channel::Instagram,
            )],
        ),
        (
            "messenger_testlog.json",
            "chat-miner@30734a8-pr39/test/facebookMessenger/testlog.json",
            vec![parse_meta_file(
                "chat-miner@30734a8-pr39/test/facebookMessenger/testlog.json",
                Channel::Messenger,
            )],
        ),
        (
            "telegram_batch_export.json",
            "chat-miner/test/telegram/test_batch_export.json",
            telegram::parse_telegram(&read(&corpus(
                "chat-miner/test/telegram/test_batch_export.json",
            )))
            .expect("telegram"),
        ),
    ];
    let mut differing = Vec::new();
    for (golden, source, exports) in cases {
        let path = golden_dir.join(golden);
        let mut actual = serde_json::to_string_pretty(&exports).expect("json");
        actual.push('\n');
        if update {
            std::fs::create_dir_all(&golden_dir).expect("mkdir golden");
            std::fs::write(&path, &actual).expect("write golden");
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(_) => differing.push(format!("{source}: differs from {}", path.display())),
            Err(e) => differing.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(
        differing.is_empty(),
        "golden exports differ (after an intended change: UPDATE_GOLDEN=1 cargo test -p shopdesk-ingest --test corpus_social, then review the diff):\n{}",
        differing.join("\n")
    );
}

// ---- hostile input ----

/// Input that is not a message_N.json (not JSON, an array, `messages` not an array, no
/// `messages` at all, invalid UTF-8) is a FormatError naming the format and the line
/// serde stopped at; never a panic.
#[test]
fn meta_refuses_wrong_shapes_with_a_line() {
    let cases: [(&[u8], usize); 6] = [
        (b"hello, this is not json", 1),
        (b"[1, 2, 3]", 1),
        (b"{\n  \"participants\": [],\n  \"messages\": 5\n}", 3),
        (b"{\n  \"title\": \"x\"\n}", 3),
        (
            b"{\"messages\": [\n{\"timestamp_ms\": 1,\n\"content\": \"\xFF\"}]}",
            3,
        ),
        (b"", 1),
    ];
    for (input, line) in cases {
        let err =
            meta::parse_meta(input, Channel::Messenger).expect_err(&String::from_utf8_lossy(input));
        assert_eq!(err.format, meta::FORMAT);
        assert_eq!(err.line, line, "{err}");
        assert!(
            err.to_string()
                .starts_with("not a Messenger/Instagram message_N.json export: line "),
            "{err}"
        );
    }
}

/// Telegram: not JSON, an array, an object with neither `messages` nor `chats`, a chat
/// list entry that is not an object: FormatErrors with the format and a line.
#[test]
fn telegram_refuses_wrong_shapes_with_a_line() {
    let cases: [(&[u8], usize); 5] = [
        (b"not json", 1),
        (b"[]", 1),
        (b"{\"name\": \"x\"}", 1),
        (b"{\n\"chats\": {\"list\": [\n5]}}", 3),
        (b"{\"messages\": {\"a\": 1}}", 1),
    ];
    for (input, line) in cases {
        let err = telegram::parse_telegram(input).expect_err(&String::from_utf8_lossy(input));
        assert_eq!((err.format, err.line), (telegram::FORMAT, line), "{err}");
    }
}

/// A UTF-8 byte-order mark in front of either format is skipped.
#[test]
fn bom_is_tolerated() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(read(&corpus("chat-miner/test/instagram/test_export.json")));
    assert_eq!(
        meta::parse_meta(&bytes, Channel::Instagram)
            .expect("meta with BOM")
            .messages
            .len(),
        2
    );
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(read(&corpus(
        "chat-miner/test/telegram/test_single_export.json",
    )));
    assert_eq!(
        telegram::parse_telegram(&bytes).expect("telegram with BOM")[0]
            .messages
            .len(),
        2
    );
}

/// A message without timestamp_ms, one that is not an object, and strings whose \u00XX
/// chars are not valid UTF-8: each bad message is a problem naming its index, the rest
/// are kept; invalid mojibake is kept as written rather than lost or garbled further.
#[test]
fn meta_bad_messages_are_problems_and_the_rest_is_kept() {
    let input = br#"{"participants": [{"name": "Caf\u00e9 Bob"}, "Plain"],
      "messages": [
        {"sender_name": "Ann", "timestamp_ms": 3000, "content": "third"},
        {"sender_name": "Ann", "content": "no time"},
        "just a string",
        {"sender_name": "Bob", "timestamp_ms": 1000, "content": "bad \u00e2\u009d then \u00c3"},
        {"sender_name": "Bob", "timestamp_ms": "2000", "content": "string time"}
      ]}"#;
    let export = meta::parse_meta(input, Channel::Messenger).expect("parses");
    let texts: Vec<(&str, usize)> = export
        .messages
        .iter()
        .map(|m| (m.text.as_str(), m.line))
        .collect();
    assert_eq!(
        texts,
        [
            ("bad \u{e2}\u{9d} then \u{c3}", 3),
            ("string time", 4),
            ("third", 0)
        ]
    );
    let problems: Vec<(usize, &str)> = export
        .problems
        .iter()
        .map(|p| (p.line, p.message.as_str()))
        .collect();
    assert_eq!(
        problems,
        [
            (1, "message 1 has no timestamp_ms"),
            (2, "message 2 is not an object")
        ]
    );
    let names: Vec<&str> = export
        .participants
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["Caf\u{e9} Bob", "Plain"]);
}

/// Calls, unsent messages, subscriptions, stickers, GIFs, files and Instagram's
/// "Reacted … to your message" lines get their kinds and attachments.
#[test]
fn meta_kinds_and_attachments() {
    let input = br#"{"messages": [
        {"sender_name": "Ann", "timestamp_ms": 9, "content": "Reacted \u00f0\u009f\u0098\u0082 to your message ", "type": "Generic"},
        {"sender_name": "Ann", "timestamp_ms": 8, "type": "Call", "content": "Ann called you.", "call_duration": 65},
        {"sender_name": "Ann", "timestamp_ms": 7, "type": "Call", "call_duration": 0, "missed": true},
        {"sender_name": "Ann", "timestamp_ms": 6, "is_unsent": true, "type": "Generic"},
        {"sender_name": "Ann", "timestamp_ms": 5, "type": "Subscribe", "content": "Ann added Bob to the group.", "users": [{"name": "Bob"}]},
        {"sender_name": "Ann", "timestamp_ms": 4, "sticker": {"uri": "messages/stickers_used/1.png"}},
        {"sender_name": "Ann", "timestamp_ms": 3, "gifs": [{"uri": "messages/inbox/t/gifs/a.gif"}], "files": [{"uri": "messages/inbox/t/files/invoice.pdf"}]},
        {"sender_name": "Ann", "timestamp_ms": 2, "share": {"link": "https://shop.test/p/1", "share_text": "Blue mug"}, "type": "Share"},
        {"sender_name": "Ann", "timestamp_ms": 1, "type": "Generic"}
      ]}"#;
    let export = meta::parse_meta(input, Channel::Messenger).expect("parses");
    type Row<'a> = (ChatKind, &'a str, Vec<(&'a str, &'a str)>);
    let got: Vec<Row<'_>> = export
        .messages
        .iter()
        .map(|m| {
            let atts = m
                .attachments
                .iter()
                .map(|a| (a.kind.as_str(), a.filename.as_deref().unwrap_or("")))
                .collect();
            (m.kind, m.text.as_str(), atts)
        })
        .collect();
    assert_eq!(
        got,
        [
            (ChatKind::Message, "", vec![]),
            (
                ChatKind::Message,
                "Blue mug",
                vec![("share", "https://shop.test/p/1")]
            ),
            (
                ChatKind::Message,
                "",
                vec![
                    ("gif", "messages/inbox/t/gifs/a.gif"),
                    ("document", "messages/inbox/t/files/invoice.pdf")
                ]
            ),
            (
                ChatKind::Message,
                "",
                vec![("sticker", "messages/stickers_used/1.png")]
            ),
            (ChatKind::System, "Ann added Bob to the group.", vec![]),
            (ChatKind::System, "Message unsent", vec![]),
            (ChatKind::Call, "Call (missed)", vec![]),
            (ChatKind::Call, "Ann called you. (65 s)", vec![]),
            (ChatKind::Reaction, "😂", vec![]),
        ]
    );
}

/// Telegram entries: a message without any date is a problem naming its index; `date`
/// alone gives local time; service entries are system events by the actor, calls are
/// Call events with duration or reason; media, locations, contacts and polls are kept.
#[test]
fn telegram_entries_in_detail() {
    let input = br#"{"name": "Anna", "type": "personal_chat", "id": 4242, "messages": [
        {"id": 1, "type": "service", "date": "2024-03-01T09:00:00", "date_unixtime": "1709283600", "actor": "Shop", "actor_id": "user1", "action": "phone_call", "duration_seconds": 65, "text": ""},
        {"id": 2, "type": "service", "date_unixtime": "1709283700", "actor": "Anna", "actor_id": "user4242", "action": "phone_call", "discard_reason": "missed", "text": ""},
        {"id": 3, "type": "message", "from": "Anna", "from_id": "user4242", "text": "no date here"},
        {"id": 4, "type": "message", "date": "2024-03-01T10:00:05", "from": null, "from_id": "user9", "text": ["Hi ", {"type": "bold", "text": "there"}, "!"]},
        {"id": 5, "type": "message", "date_unixtime": "1709290000", "from": "Anna", "from_id": "user4242", "photo": "photos/photo_1@01-03-2024_10-00-00.jpg", "text": ""},
        {"id": 6, "type": "message", "date_unixtime": "1709290001", "from": "Anna", "from_id": "user4242", "file": "voice_messages/audio_1.ogg", "media_type": "voice_message", "text": ""},
        {"id": 7, "type": "message", "date_unixtime": "1709290002", "from": "Anna", "from_id": "user4242", "file": "(File not included. Change data exporting settings to download.)", "file_name": "order.pdf", "text": "the order"},
        {"id": 8, "type": "message", "date_unixtime": "1709290003", "from": "Anna", "from_id": "user4242", "location_information": {"latitude": 32.1, "longitude": 34.8}, "text": ""},
        {"id": 9, "type": "message", "date_unixtime": "1709290004", "from": "Anna", "from_id": "user4242", "contact_information": {"first_name": "Bo", "last_name": "", "phone_number": "+48600100200"}, "text": ""},
        {"id": 10, "type": "message", "date_unixtime": "1709290005", "from": "Anna", "from_id": "user4242", "poll": {"question": "Which colour?"}, "text": ""},
        {"id": 11, "type": "service", "date_unixtime": "1709290006", "actor": "Anna", "actor_id": "user4242", "action": "invite_members", "members": ["Bo", null], "text": ""}
      ]}"#;
    let exports = telegram::parse_telegram(input).expect("parses");
    let export = &exports[0];
    assert_eq!(export.thread_id.as_deref(), Some("4242"));
    assert_eq!(export.participants.len(), 1);
    assert_eq!(export.participants[0].id.as_deref(), Some("user4242"));
    let problems: Vec<(usize, &str)> = export
        .problems
        .iter()
        .map(|p| (p.line, p.message.as_str()))
        .collect();
    assert_eq!(problems, [(2, "message 2 has no date_unixtime or date")]);
    let by_line = |line: usize| {
        export
            .messages
            .iter()
            .find(|m| m.line == line)
            .unwrap_or_else(|| panic!("line {line}"))
    };

    let call = by_line(0);
    assert_eq!(
        (call.kind, call.text.as_str(), author(call)),
        (ChatKind::Call, "Call (65 s)", "Shop")
    );
    assert_eq!(
        call.at,
        ChatTime::Utc(1_709_283_600_000),
        "date_unixtime is preferred to date"
    );
    assert_eq!(by_line(1).text, "Call (missed)");
    let local = by_line(3);
    assert_eq!(
        local.at,
        ChatTime::Local("2024-03-01 10:00:05".parse::<Civil>().expect("civil").0)
    );
    assert_eq!((local.text.as_str(), author(local)), ("Hi there!", "user9"));
    let kinds = |line: usize| {
        by_line(line)
            .attachments
            .iter()
            .map(|a| (a.kind.clone(), a.filename.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(4),
        [(
            "photo".to_owned(),
            Some("photos/photo_1@01-03-2024_10-00-00.jpg".to_owned())
        )]
    );
    assert_eq!(
        kinds(5),
        [(
            "audio".to_owned(),
            Some("voice_messages/audio_1.ogg".to_owned())
        )]
    );
    assert_eq!(
        kinds(6),
        [("document".to_owned(), Some("order.pdf".to_owned()))]
    );
    assert_eq!(
        kinds(7),
        [("location".to_owned(), Some("geo:32.1,34.8".to_owned()))]
    );
    assert_eq!(
        kinds(8),
        [("contact".to_owned(), Some("tel:+48600100200".to_owned()))]
    );
    assert_eq!(by_line(9).text, "Poll: Which colour?");
    let invite = by_line(10);
    assert_eq!(
        (invite.kind, invite.text.as_str()),
        (ChatKind::System, "added Bo, Deleted Account")
    );
}

/// `2024-03-01 10:00:05` as the core's civil time (test helper).
struct Civil(shopdesk_core::chat::CivilTime);
impl std::str::FromStr for Civil {
    type Err = String;
    fn from_str(s: &str) -> Result<Civil, String> {
        let dt: DateTime = s.replace(' ', "T").parse().map_err(|e| format!("{e}"))?;
        Ok(Civil(shopdesk_core::chat::CivilTime {
            year: dt.year(),
            month: dt.month() as u8,
            day: dt.day() as u8,
            hour: dt.hour() as u8,
            minute: dt.minute() as u8,
            second: dt.second() as u8,
        }))
    }
}

/// Every prefix of every corpus file (a truncated download) gives a result or an error,
/// never a panic, in both parsers.
#[test]
fn truncated_files_never_panic() {
    for relative in [
        "chat-miner@62d255f/test/instagram/testlog.json",
        "chat-miner@30734a8-pr39/test/facebookMessenger/testlog.json",
        "chat-miner/test/telegram/test_batch_export.json",
        "chat-miner/test/telegram/test_single_export.json",
    ] {
        let bytes = read(&corpus(relative));
        for end in 0..bytes.len() {
            let prefix = &bytes[..end];
            let meta_result =
                std::panic::catch_unwind(|| meta::parse_meta(prefix, Channel::Instagram).is_ok());
            let telegram_result =
                std::panic::catch_unwind(|| telegram::parse_telegram(prefix).is_ok());
            assert!(
                meta_result.is_ok() && telegram_result.is_ok(),
                "{relative}: panicked at {end} bytes"
            );
        }
    }
}

// ---- folders ----

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}

fn meta_file(thread_path: &str, messages: &[(&str, i64, &str)], extra: &str) -> Vec<u8> {
    let items: Vec<String> = messages
        .iter()
        .map(|(who, ms, text)| {
            format!(
                r#"{{"sender_name": "{who}", "timestamp_ms": {ms}, "content": "{text}"{extra}}}"#
            )
        })
        .collect();
    format!(r#"{{"participants": [{{"name": "Ann"}}, {{"name": "Shop"}}], "messages": [{}], "title": "Ann", "thread_path": "{thread_path}"}}"#, items.join(",")).into_bytes()
}

/// A thread folder with message_1.json (newest) and message_2.json (older, overlapping by
/// one message) gives one export: oldest first, the shared message once, problems
/// prefixed with their file.
#[test]
fn thread_folder_merges_files_without_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let thread = dir.path().join("ann_123");
    write(
        &thread.join("message_1.json"),
        &meta_file(
            "inbox/ann_123",
            &[("Ann", 4000, "four"), ("Shop", 3000, "three")],
            "",
        ),
    );
    write(
        &thread.join("message_2.json"),
        br#"{"messages": [{"sender_name": "Shop", "timestamp_ms": 3000, "content": "three"},
            {"sender_name": "Ann", "timestamp_ms": 2000, "content": "two"}, {"sender_name": "Ann"},
            {"sender_name": "Ann", "timestamp_ms": 1000, "content": "one"}]}"#,
    );
    write(&thread.join("notes.json"), b"not a message file");
    let exports = meta::read_path(&thread, Channel::Messenger).expect("read thread");
    assert_eq!(exports.len(), 1);
    let texts: Vec<&str> = exports[0]
        .messages
        .iter()
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(texts, ["one", "two", "three", "four"]);
    assert_eq!(exports[0].thread_id.as_deref(), Some("inbox/ann_123"));
    let problems: Vec<&str> = exports[0]
        .problems
        .iter()
        .map(|p| p.message.as_str())
        .collect();
    assert_eq!(problems, ["message_2.json: message 2 has no timestamp_ms"]);
}

/// An export folder with Facebook's `messages/inbox/*/` and Instagram's newer
/// `your_instagram_activity/messages/inbox/*/` layouts gives one export per thread;
/// media named by uri are attached when the file is inside the export and left without
/// data when absent or when the uri tries to leave the folder.
#[test]
fn export_folder_finds_every_thread_and_attaches_media() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("export");
    let photo = "messages/inbox/ann_1/photos/p1.jpg";
    write(&root.join(photo), b"JPEGDATA");
    write(&dir.path().join("secret.txt"), b"outside");
    let extra = format!(
        r#", "photos": [{{"uri": "{photo}"}}, {{"uri": "messages/inbox/ann_1/photos/missing.jpg"}}, {{"uri": "../../../../secret.txt"}}]"#
    );
    write(
        &root.join("messages/inbox/ann_1/message_1.json"),
        &meta_file("inbox/ann_1", &[("Ann", 1000, "hi")], &extra),
    );
    write(
        &root.join("messages/message_requests/bob_2/message_1.json"),
        &meta_file("message_requests/bob_2", &[("Bob", 2000, "price?")], ""),
    );
    let ig_photo = "your_instagram_activity/messages/inbox/cat_3/photos/c.jpg";
    write(&root.join(ig_photo), b"IGPHOTO");
    let ig_extra = format!(r#", "photos": [{{"uri": "{ig_photo}"}}]"#);
    write(
        &root.join("your_instagram_activity/messages/inbox/cat_3/message_1.json"),
        &meta_file("cat_3", &[("Cat", 3000, "hey")], &ig_extra),
    );

    let exports = meta::read_path(&root, Channel::Instagram).expect("read export");
    let threads: Vec<&str> = exports
        .iter()
        .filter_map(|e| e.thread_id.as_deref())
        .collect();
    assert_eq!(threads, ["inbox/ann_1", "message_requests/bob_2", "cat_3"]);
    let ann = &exports[0].messages[0];
    let data: Vec<Option<&[u8]>> = ann.attachments.iter().map(|a| a.data.as_deref()).collect();
    assert_eq!(data, [Some(&b"JPEGDATA"[..]), None, None]);
    assert_eq!(
        exports[2].messages[0].attachments[0].data.as_deref(),
        Some(&b"IGPHOTO"[..])
    );

    // The single file, read alone, still finds its photo a few folders up.
    let one = meta::read_path(
        &root.join("messages/inbox/ann_1/message_1.json"),
        Channel::Instagram,
    )
    .expect("one file");
    assert_eq!(
        one[0].messages[0].attachments[0].data.as_deref(),
        Some(&b"JPEGDATA"[..])
    );
}

/// A folder with no message_N.json anywhere, and a file that is not the format, are
/// errors naming the path (and, for the file, the line).
#[test]
fn read_path_errors_name_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(&dir.path().join("photos/a.jpg"), b"x");
    let err = meta::read_path(dir.path(), Channel::Messenger).expect_err("no threads");
    assert!(matches!(err, IngestError::NoChatExport { .. }), "{err:?}");
    assert!(err.to_string().contains("message_N.json"), "{err}");
    let bad = dir.path().join("message_1.json");
    write(&bad, b"{\n\"messages\": 5}");
    let err = meta::read_path(&bad, Channel::Messenger).expect_err("wrong shape");
    assert!(
        matches!(&err, IngestError::Format { source, .. } if source.line == 2),
        "{err:?}"
    );
    assert!(err.to_string().contains("message_1.json"), "{err}");
    let err = telegram::read_path(&dir.path().join("photos")).expect_err("no result.json");
    assert!(matches!(err, IngestError::NoChatExport { .. }), "{err:?}");
}

/// A media file over the per-file cap is named but not loaded, with a problem saying so.
#[test]
fn oversized_media_is_not_loaded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let thread = dir.path().join("messages/inbox/t_1");
    let big = thread.join("videos/big.mp4");
    write(&big, b"");
    std::fs::File::options()
        .write(true)
        .open(&big)
        .expect("open")
        .set_len(33 << 20)
        .expect("sparse 33 MiB");
    let extra = r#", "videos": [{"uri": "messages/inbox/t_1/videos/big.mp4"}]"#;
    write(
        &thread.join("message_1.json"),
        &meta_file("inbox/t_1", &[("Ann", 1, "")], extra),
    );
    let exports = meta::read_path(dir.path(), Channel::Messenger).expect("read");
    assert_eq!(exports[0].messages[0].attachments[0].data, None);
    assert!(
        exports[0]
            .problems
            .iter()
            .any(|p| p.message.contains("big.mp4") && p.message.contains("32 MiB")),
        "{:?}",
        exports[0].problems
    );
}

/// Telegram's export folder (result.json one level down) is found and its media,
/// relative to result.json, attached; a path climbing out is not followed.
#[test]
fn telegram_folder_attaches_media() {
    let dir = tempfile::tempdir().expect("tempdir");
    let export = dir.path().join("ChatExport_2024-03-01");
    write(&export.join("photos/photo_1.jpg"), b"TGPHOTO");
    write(&dir.path().join("secret.txt"), b"outside");
    write(
        &export.join("result.json"),
        br#"{"name": "Anna", "type": "personal_chat", "id": 7, "messages": [
            {"id": 1, "type": "message", "date_unixtime": "1709290000", "from": "Anna", "from_id": "user7", "photo": "photos/photo_1.jpg", "text": ""},
            {"id": 2, "type": "message", "date_unixtime": "1709290001", "from": "Anna", "from_id": "user7", "file": "../secret.txt", "text": ""}]}"#,
    );
    let exports = telegram::read_path(dir.path()).expect("read folder");
    assert_eq!(exports.len(), 1);
    let data: Vec<Option<&[u8]>> = exports[0]
        .messages
        .iter()
        .map(|m| m.attachments[0].data.as_deref())
        .collect();
    assert_eq!(data, [Some(&b"TGPHOTO"[..]), None]);
}

// ---- zips ----

/// A zip in `dir` holding `files` (name, bytes), deflated.
fn zip_file(dir: &Path, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    use std::io::Write;
    let path = dir.join(name);
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).expect("create zip"));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        writer.start_file(*name, options).expect("start");
        writer.write_all(data).expect("write");
    }
    writer.finish().expect("finish");
    path
}

/// A Facebook download zip (everything under one top folder): one export per thread
/// folder, a thread's message_N.json files merged, photos named by uri (rooted above
/// `messages/`) attached from the zip.
#[test]
fn messenger_zip_gives_threads_with_media() {
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = r#", "photos": [{"uri": "messages/inbox/ann_1/photos/p.jpg"}]"#;
    let newest = meta_file("inbox/ann_1", &[("Ann", 3000, "three")], extra);
    let older = meta_file(
        "inbox/ann_1",
        &[("Shop", 2000, "two"), ("Ann", 1000, "one")],
        "",
    );
    let bob = meta_file("inbox/bob_2", &[("Bob", 5000, "hello")], "");
    let path = zip_file(
        dir.path(),
        "facebook-shop.zip",
        &[
            ("facebook-shop/messages/inbox/ann_1/message_1.json", &newest),
            ("facebook-shop/messages/inbox/ann_1/message_2.json", &older),
            (
                "facebook-shop/messages/inbox/ann_1/photos/p.jpg",
                b"ZIPPHOTO",
            ),
            ("facebook-shop/messages/inbox/bob_2/message_1.json", &bob),
        ],
    );
    let exports = meta::read_path(&path, Channel::Messenger).expect("read zip");
    let threads: Vec<(Option<&str>, Vec<&str>)> = exports
        .iter()
        .map(|e| {
            (
                e.thread_id.as_deref(),
                e.messages.iter().map(|m| m.text.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        threads,
        [
            (Some("inbox/ann_1"), vec!["one", "two", "three"]),
            (Some("inbox/bob_2"), vec!["hello"])
        ]
    );
    assert_eq!(
        exports[0].messages[2].attachments[0].data.as_deref(),
        Some(&b"ZIPPHOTO"[..])
    );
}

/// A zip with a `../` entry is refused whole before anything is parsed (the archive
/// error names the entry); a zip without message_N.json or result.json says which
/// export it expected; a message file of the wrong shape names the zip and entry.
#[test]
fn hostile_zips_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = meta_file("inbox/a", &[("Ann", 1, "x")], "");
    let evil = zip_file(
        dir.path(),
        "evil.zip",
        &[
            ("messages/inbox/a/message_1.json", &good),
            ("../../evil.txt", b"owned"),
        ],
    );
    for err in [
        meta::read_path(&evil, Channel::Instagram).expect_err("meta"),
        telegram::read_path(&evil).expect_err("telegram"),
    ] {
        assert!(matches!(err, IngestError::Archive(_)), "{err:?}");
        assert!(err.to_string().contains("evil.txt"), "{err}");
    }
    assert!(
        !dir.path()
            .parent()
            .expect("parent")
            .join("evil.txt")
            .exists()
    );

    let empty = zip_file(dir.path(), "photos.zip", &[("photos/a.jpg", b"x")]);
    let err = meta::read_path(&empty, Channel::Instagram).expect_err("no threads");
    assert!(
        matches!(err, IngestError::NoChatExport { .. })
            && err.to_string().contains("message_N.json"),
        "{err}"
    );
    let err = telegram::read_path(&empty).expect_err("no result.json");
    assert!(
        matches!(err, IngestError::NoChatExport { .. }) && err.to_string().contains("result.json"),
        "{err}"
    );

    let wrong = zip_file(
        dir.path(),
        "wrong.zip",
        &[
            ("inbox/a/message_1.json", b"{\"messages\": 5}"),
            ("result.json", b"[]"),
        ],
    );
    let err = meta::read_path(&wrong, Channel::Instagram).expect_err("wrong shape");
    assert!(
        matches!(&err, IngestError::Format { path, .. } if path.ends_with("wrong.zip/inbox/a/message_1.json")),
        "{err:?}"
    );
    let err = telegram::read_path(&wrong).expect_err("wrong shape");
    assert!(
        matches!(&err, IngestError::Format { path, .. } if path.ends_with("wrong.zip/result.json")),
        "{err:?}"
    );
}

/// A zipped full-account Telegram export (result.json inside a folder, left_chats too):
/// one export per chat, media relative to result.json's folder attached from the zip.
#[test]
fn telegram_zip_with_account_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    let result = br#"{"chats": {"list": [
        {"name": "Anna", "type": "personal_chat", "id": 7, "messages": [
          {"id": 1, "type": "message", "date_unixtime": "1709290000", "from": "Anna", "from_id": "user7", "photo": "chats/chat_001/photos/a.jpg", "text": "see"}]}]},
      "left_chats": {"list": [
        {"name": "Old group", "type": "private_group", "id": 9, "messages": [
          {"id": 1, "type": "service", "date_unixtime": "1709000000", "actor": "Bo", "actor_id": "user8", "action": "create_group", "title": "Old group", "members": ["Bo"], "text": ""}]}]}}"#;
    let path = zip_file(
        dir.path(),
        "telegram.zip",
        &[
            ("DataExport_2024-03-01/result.json", result),
            (
                "DataExport_2024-03-01/chats/chat_001/photos/a.jpg",
                b"TGZIP",
            ),
        ],
    );
    let exports = telegram::read_path(&path).expect("read zip");
    let titles: Vec<Option<&str>> = exports.iter().map(|e| e.title.as_deref()).collect();
    assert_eq!(titles, [Some("Anna"), Some("Old group")]);
    assert_eq!(
        exports[0].messages[0].attachments[0].data.as_deref(),
        Some(&b"TGZIP"[..])
    );
    let created = &exports[1].messages[0];
    assert_eq!(
        (created.kind, created.text.as_str(), author(created)),
        (ChatKind::System, "created “Old group”", "Bo")
    );
}
