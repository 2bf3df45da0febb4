//! `shopdesk import mail`: mbox, Maildir and .eml folders land once, in threads, with a
//! report that names what could not be read.

use serde_json::Value;
use shopdesk_core::threading::{
    ThreadMessage, ThreadNode, parent_ids, render_threads, thread_references, thread_references_only,
};
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

/// One message of an imported mbox as the store keeps it, by its place in the file.
struct StoredMail {
    conversation: i64,
    message: ThreadMessage,
    sender: Option<String>,
}

/// What the store made of each message of `mbox` (imported into `db`), in mbox order:
/// located through the `file:line` each message's source records.
fn stored_mails(db: &Path, mbox: &Path) -> Vec<StoredMail> {
    let bytes = std::fs::read(mbox).unwrap_or_else(|e| panic!("{}: {e}", mbox.display()));
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    let separators: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with(b"From ") && (i == 0 || lines[i - 1].trim_ascii().is_empty()))
        .map(|i| i + 1)
        .collect();
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open");
    let mut stmt = conn
        .prepare(
            "SELECT s.import_path, m.conversation_id, e.rfc_message_id, e.refs, e.in_reply_to, m.subject,
                    m.sent_at, e.from_addr
               FROM message_sources s JOIN messages m ON m.id = s.message_id
               JOIN email_headers e ON e.message_id = m.id",
        )
        .expect("prepare");
    let mut found: Vec<(u32, StoredMail)> = stmt
        .query_map([], |r| {
            let path: String = r.get(0)?;
            let refs: Option<String> = r.get(3)?;
            Ok((
                path,
                StoredMail {
                    conversation: r.get(1)?,
                    message: ThreadMessage {
                        seq: 0,
                        message_id: r.get(2)?,
                        references: refs.unwrap_or_default().split_whitespace().map(str::to_owned).collect(),
                        in_reply_to: r.get::<_, Option<String>>(4)?.into_iter().collect(),
                        subject: r.get(5)?,
                        date: r.get(6)?,
                    },
                    sender: r.get(7)?,
                },
            ))
        })
        .expect("query")
        .map(|row| {
            let (path, mail) = row.expect("row");
            let line: usize =
                path.rsplit_once(':').and_then(|(_, l)| l.parse().ok()).unwrap_or_else(|| panic!("{path}"));
            let place = separators.iter().position(|&s| s == line).unwrap_or_else(|| panic!("{path}: not a separator"));
            (place as u32 + 1, StoredMail { message: ThreadMessage { seq: place as u32 + 1, ..mail.message }, ..mail })
        })
        .collect();
    found.sort_by_key(|(seq, _)| *seq);
    let seqs: Vec<u32> = found.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(
        seqs,
        (1..=separators.len() as u32).collect::<Vec<_>>(),
        "{}: every message stored once",
        mbox.display()
    );
    found.into_iter().map(|(_, mail)| mail).collect()
}

/// Sequence numbers grouped, each group and the list sorted.
fn groups(classes: impl IntoIterator<Item = Vec<u32>>) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = classes
        .into_iter()
        .map(|mut g| {
            g.sort_unstable();
            g
        })
        .collect();
    out.sort();
    out
}

/// Groups joined wherever `join` says two messages (by seq) belong together.
fn join_where(
    start: &[Vec<u32>],
    mails: &[StoredMail],
    join: impl Fn(&StoredMail, &StoredMail) -> bool,
) -> Vec<Vec<u32>> {
    let mut out: Vec<Vec<u32>> = start.to_vec();
    let group_of =
        |out: &Vec<Vec<u32>>, seq: u32| out.iter().position(|g| g.contains(&seq)).expect("every seq grouped");
    for a in mails {
        for b in mails {
            let (ga, gb) = (group_of(&out, a.message.seq), group_of(&out, b.message.seq));
            if ga != gb && join(a, b) {
                let moved = out.remove(ga.max(gb));
                out[ga.min(gb)].extend(moved);
            }
        }
    }
    groups(out)
}

/// imaptest's THREAD mboxes (the oracles of crates/ingest/tests/corpus_threading.rs),
/// each imported with `shopdesk import mail`, give conversations that group the messages
/// as RFC 5256's top-level threads (`thread_references` over what the store recorded of
/// them), except where the store deliberately differs. These messages have no From, so
/// each is its own "Unknown sender" customer. The differences, each named by the mbox
/// where it shows (checked below, so this list stays true):
/// 1. `subject`: RFC 5256 gathers roots by subject whoever sent them (thread3, thread4
///    answer `(1 2)`); the store joins by subject only within one customer's mail, so a
///    subject join across senders splits back into the reference threads.
/// 2. `message-id`: RFC 5256 gives a repeated Message-ID a unique one (thread2, thread3);
///    the store files a message whose Message-ID it knows into that id's conversation (a
///    list copy with a tag or footer is still that mail), and a byte-identical copy
///    (thread2) is one stored message in two places.
/// 3. `reference`: RFC 5256 drops a link that would close a cycle (`thread`:
///    `(3 2)(1)` though message 2 References message 1); a conversation is a set, not a
///    tree, so every reference between two messages joins them.
#[test]
fn imaptest_thread_mboxes_group_like_rfc5256() {
    const DIFFERENCES: &[(&str, &[&str])] = &[
        ("thread", &["reference"]),
        ("thread2", &["message-id"]),
        ("thread3", &["subject", "message-id"]),
        ("thread4", &["subject"]),
        ("thread5", &[]),
        ("thread6", &[]),
        ("thread7", &[]),
        ("thread8", &[]),
    ];
    let dir = corpus().join("imaptest/src/tests");
    // Every thread*.mbox whose script asks for THREAD=REFERENCES, so a new one must be
    // listed above (thread-orderedsubject* ask for ORDEREDSUBJECT).
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.expect("entry").file_name().to_str()?.strip_suffix(".mbox").map(str::to_owned))
        .filter(|name| name.starts_with("thread"))
        .filter(|name| std::fs::read_to_string(dir.join(name)).is_ok_and(|s| s.contains("THREAD=REFERENCES")))
        .collect();
    names.sort();
    assert_eq!(names, DIFFERENCES.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>(), "in {}", dir.display());
    let tmp = tempfile::tempdir().expect("tempdir");
    for (name, documented) in DIFFERENCES {
        let mbox = dir.join(format!("{name}.mbox"));
        let db = tmp.path().join(format!("{name}.db"));
        let report = shopdesk(&db, &["import", "mail", mbox.to_str().expect("utf-8 path"), "--json"]);
        let mails = stored_mails(&db, &mbox);
        let messages: Vec<ThreadMessage> = mails.iter().map(|m| m.message.clone()).collect();

        let rfc = groups(thread_references(&messages).iter().map(ThreadNode::seqs));
        // 1. A subject-only join stands only when one known sender wrote all of it.
        let by_references = groups(thread_references_only(&messages).iter().map(ThreadNode::seqs));
        let one_sender = |g: &Vec<u32>| {
            let senders: Vec<&Option<String>> = g.iter().map(|&s| &mails[s as usize - 1].sender).collect();
            senders[0].is_some() && senders.iter().all(|s| *s == senders[0])
        };
        let subject = groups(rfc.iter().flat_map(|g| {
            if one_sender(g) {
                vec![g.clone()]
            } else {
                by_references.iter().filter(|r| g.contains(&r[0])).cloned().collect()
            }
        }));
        // 2. One Message-ID, one conversation.
        let message_id = join_where(&subject, &mails, |a, b| {
            a.message.message_id.is_some() && a.message.message_id == b.message.message_id
        });
        // 3. Every reference to another message joins.
        let reference = join_where(&message_id, &mails, |a, b| {
            b.message.message_id.as_ref().is_some_and(|id| {
                parent_ids(a.message.message_id.as_deref(), &a.message.references, &a.message.in_reply_to).contains(id)
            })
        });
        let steps = [
            (&rfc, &subject, "subject"),
            (&subject, &message_id, "message-id"),
            (&message_id, &reference, "reference"),
        ];
        let applied: Vec<&str> =
            steps.iter().filter(|(before, after, _)| before != after).map(|(_, _, rule)| *rule).collect();
        assert_eq!(
            &applied,
            documented,
            "{name}: RFC 5256 {} vs expected {reference:?}",
            render_threads(&thread_references(&messages))
        );

        let mut by_conversation: Vec<(i64, Vec<u32>)> = Vec::new();
        for m in &mails {
            match by_conversation.iter_mut().find(|(c, _)| *c == m.conversation) {
                Some((_, g)) => g.push(m.message.seq),
                None => by_conversation.push((m.conversation, vec![m.message.seq])),
            }
        }
        assert_eq!(groups(by_conversation.iter().map(|(_, g)| g.clone())), reference, "{name}: conversations");
        // The command line lists exactly these conversations, holding every stored message.
        let listed = shopdesk(&db, &["conversations", "--json"]);
        let listed = listed.as_array().expect("list");
        let mut ids: Vec<i64> = listed.iter().filter_map(|c| c["id"].as_i64()).collect();
        ids.sort_unstable();
        let mut expected_ids: Vec<i64> = by_conversation.iter().map(|(c, _)| *c).collect();
        expected_ids.sort_unstable();
        assert_eq!(ids, expected_ids, "{name}");
        let count: u64 = listed.iter().filter_map(|c| c["message_count"].as_u64()).sum();
        assert_eq!(Some(count), report["imported"].as_u64(), "{name}: {report}");
    }
}
