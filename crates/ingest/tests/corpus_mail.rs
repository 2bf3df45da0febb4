//! The email parsers over the shared third-party corpus (see ../shared/corpus/README.md):
//! 100+ real-world and malformed messages from mail-parser and Dovecot's tests, a
//! Maildir++ tree, and imaptest's mboxes.

use shopdesk_ingest::mail::{parse_email, split_mbox, walk_maildir};
use std::path::PathBuf;

fn corpus() -> PathBuf {
    shopdesk_systests::corpus::corpus_dir().unwrap_or_else(|e| panic!("{e}"))
}

fn eml_files() -> Vec<PathBuf> {
    let root = corpus().join("mail-parser/resources/eml");
    let mut files = Vec::new();
    for family in ["rfc", "legacy", "thirdparty", "malformed"] {
        for entry in std::fs::read_dir(root.join(family)).expect("corpus folder") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "eml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every corpus message, malformed ones included, parses without a panic and gives
/// something readable (text, html or attachments) or a note saying why not.
#[test]
fn every_corpus_message_parses() {
    let files = eml_files();
    assert!(files.len() > 100, "only {} .eml files", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let raw = std::fs::read(path).expect("read");
        match std::panic::catch_unwind(|| parse_email(&raw)) {
            Ok(p) => {
                let readable = !p.text.trim().is_empty() || p.html.is_some() || !p.attachments.is_empty() || p.subject.is_some();
                if !readable && p.problems.is_empty() && !raw.iter().all(u8::is_ascii_whitespace) {
                    failures.push(format!("{}: nothing read and no problem noted", path.display()));
                }
            }
            Err(_) => failures.push(format!("{}: panicked", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Our subject, Message-ID and sender agree with mail-parser's upstream expectations
/// (`NNN.json` beside each message) wherever the expectation states them.
#[test]
fn headers_match_upstream_expectations() {
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for path in eml_files() {
        let Ok(json) = std::fs::read_to_string(path.with_extension("json")) else { continue };
        let Ok(expected) = serde_json::from_str::<serde_json::Value>(&json) else { continue };
        let Some(headers) = expected.pointer("/parts/0/headers").and_then(|h| h.as_array()) else { continue };
        let header = |name: &str| headers.iter().find(|h| h["name"] == name).map(|h| &h["value"]);
        let ours = parse_email(&std::fs::read(&path).expect("read"));
        if let Some(text) = header("subject").and_then(|v| v["Text"].as_str()) {
            checked += 1;
            if ours.subject.as_deref() != Some(text) {
                mismatches.push(format!("{}: subject {:?} != {:?}", path.display(), ours.subject, text));
            }
        }
        if let Some(text) = header("message_id").and_then(|v| v["Text"].as_str()) {
            checked += 1;
            if ours.message_id.as_deref() != Some(text) {
                mismatches.push(format!("{}: message-id {:?} != {:?}", path.display(), ours.message_id, text));
            }
        }
        if let Some(addr) = header("from").and_then(|v| v.pointer("/Address/List/0/address")).and_then(|a| a.as_str()) {
            checked += 1;
            if ours.from.first().map(|a| a.email.as_str()) != Some(addr) {
                mismatches.push(format!("{}: from {:?} != {:?}", path.display(), ours.from.first(), addr));
            }
        }
    }
    assert!(checked > 100, "only {checked} expectations found");
    assert!(mismatches.is_empty(), "{} of {checked} differ:\n{}", mismatches.len(), mismatches.join("\n"));
}

/// The Maildir++ tree holds 6 messages: 2 in INBOX, 2 in "My Folder", 2 in
/// "My Folder/Nested Folder", with the flags the corpus README lists.
#[test]
fn maildir_tree_gives_six_messages_with_flags() {
    let entries = walk_maildir(&corpus().join("mail-parser/resources/maildir")).expect("walk");
    let mut seen: Vec<(String, String)> = entries.iter().map(|e| (e.folder.clone(), e.flags.clone())).collect();
    seen.sort();
    let expected = [("INBOX", "S"), ("INBOX", "ST"), ("My Folder", ""), ("My Folder", "DRT"), ("My Folder/Nested Folder", "DFR"), ("My Folder/Nested Folder", "FP")];
    let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(seen, expected);
    for e in &entries {
        let p = parse_email(&std::fs::read(&e.path).expect("read"));
        assert!(p.subject.is_some() || !p.text.is_empty(), "{}", e.path.display());
    }
}

/// imaptest's THREAD mboxes split into as many messages as they have separators.
#[test]
fn imaptest_mboxes_split() {
    let dir = corpus().join("imaptest/src/tests");
    let mut mboxes = 0;
    for entry in std::fs::read_dir(&dir).expect("imaptest dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "mbox") {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read");
        let separators = bytes.split(|b| *b == b'\n').filter(|l| l.starts_with(b"From ")).count();
        let entries = split_mbox(&bytes);
        assert!(entries.len() <= separators && !entries.is_empty(), "{}: {} of {separators}", path.display(), entries.len());
        for m in &entries {
            parse_email(&m.raw);
        }
        mboxes += 1;
    }
    assert!(mboxes >= 5, "only {mboxes} mboxes");
}
