//! The email parsers over the shared third-party corpus (see ../shared/corpus/README.md,
//! section Email): 107 real-world and malformed messages from mail-parser's and Dovecot's
//! tests with mail-parser's own expected parse beside each, a Maildir++ tree, and
//! imaptest's mboxes. The corpus is found through `SHOPDESK_CORPUS` (default
//! `../shared/corpus` from the repo root); without it these tests fail, saying so.
//!
//! Golden files: `tests/golden/eml/<family>/<NNN>.json` hold a summary of our parse of
//! each message; `UPDATE_GOLDEN=1 cargo test -p shopdesk-ingest --test corpus_mail`
//! rewrites them after an intended change (review the diff).

use serde_json::{Value, json};
use shopdesk_core::email::{Address, ParsedEmail};
use shopdesk_ingest::mail::{MaildirFlag, parse_email, source_key, split_mbox, walk_maildir};
use std::path::{Path, PathBuf};
use std::time::Instant;

const FAMILIES: [&str; 4] = ["rfc", "legacy", "thirdparty", "malformed"];

fn corpus() -> PathBuf {
    shopdesk_systests::corpus::corpus_dir().unwrap_or_else(|e| panic!("{e}"))
}

/// (family, path) of every corpus .eml, sorted.
fn eml_files() -> Vec<(&'static str, PathBuf)> {
    let root = corpus().join("mail-parser/resources/eml");
    let mut files = Vec::new();
    for family in FAMILIES {
        let dir = root.join(family);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "eml") {
                files.push((family, path));
            }
        }
    }
    files.sort();
    assert!(files.len() >= 100, "only {} .eml files in {}", files.len(), root.display());
    files
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn to_crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
    for (i, b) in raw.iter().enumerate() {
        if *b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(*b);
    }
    out
}

/// Every corpus message, malformed ones included, parses without a panic (inside
/// mail-parser too, which parse_email would otherwise turn into a note), in LF and in
/// CRLF form alike, and gives something readable or a note saying why not. Prints the
/// time the whole corpus takes.
#[test]
fn every_corpus_message_parses() {
    let files = eml_files();
    let mut failures = Vec::new();
    let started = Instant::now();
    let mut bytes = 0;
    for (_, path) in &files {
        let raw = read(path);
        bytes += raw.len();
        for (form, raw) in [("LF", raw.clone()), ("CRLF", to_crlf(&raw))] {
            let p = match std::panic::catch_unwind(|| parse_email(&raw)) {
                Ok(p) => p,
                Err(_) => {
                    failures.push(format!("{} ({form}): panicked", path.display()));
                    continue;
                }
            };
            if p.problems.iter().any(|m| m.contains("MIME parser failed")) {
                failures.push(format!("{} ({form}): mail-parser panicked inside", path.display()));
            }
            let readable = !p.text.trim().is_empty() || p.html.is_some() || !p.attachments.is_empty();
            if !readable && p.problems.is_empty() {
                failures.push(format!("{} ({form}): nothing read and no problem noted", path.display()));
            }
        }
    }
    let elapsed = started.elapsed();
    eprintln!("parsed {} messages ({} KiB) twice (LF, CRLF) in {elapsed:?}", files.len(), bytes / 1024);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Line endings change nothing but line endings: the LF and CRLF forms of each message
/// give the same headers, attachments, (LF-normalised) text and source key.
#[test]
fn crlf_and_lf_parse_alike() {
    let mut differences = Vec::new();
    for (_, path) in eml_files() {
        let raw = read(&path);
        let (lf, crlf) = (parse_email(&raw), parse_email(&to_crlf(&raw)));
        let headers = |p: &ParsedEmail| {
            (p.message_id.clone(), p.subject.clone(), p.date, p.from.clone(), p.to.clone(), p.cc.clone())
        };
        let files = |p: &ParsedEmail| {
            p.attachments.iter().map(|a| (a.filename.clone(), a.mime_type.clone())).collect::<Vec<_>>()
        };
        let text = |p: &ParsedEmail| p.text.replace("\r\n", "\n");
        if headers(&lf) != headers(&crlf) {
            differences.push(format!("{}: headers {:?} vs {:?}", path.display(), headers(&lf), headers(&crlf)));
        }
        if files(&lf) != files(&crlf) {
            differences.push(format!("{}: attachments {:?} vs {:?}", path.display(), files(&lf), files(&crlf)));
        }
        // Binary parts (UTF-16 text in thirdparty/005) are changed by the conversion itself.
        let binary = String::from_utf8_lossy(&raw).to_ascii_lowercase().contains("content-transfer-encoding: binary");
        if text(&lf) != text(&crlf) && !binary {
            differences.push(format!("{}: text differs", path.display()));
        }
        if source_key(&lf) != source_key(&crlf) && !binary {
            differences.push(format!("{}: source key differs", path.display()));
        }
    }
    assert!(differences.is_empty(), "{} differences:\n{}", differences.len(), differences.join("\n"));
}

/// Seconds since the epoch of mail-parser's broken-down date, as its own `to_timestamp`
/// computes it (days overflowing the month roll over).
fn expected_millis(d: &Value) -> Option<i64> {
    let n = |k: &str| d[k].as_i64();
    let (year, month, day, hour, minute, second) =
        (n("year")?, n("month")?, n("day")?, n("hour")?, n("minute")?, n("second")?);
    let (tz_hour, tz_minute) = (n("tz_hour")?, n("tz_minute")?);
    let valid = (1900..=3000).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..=23).contains(&hour)
        && (0..=59).contains(&minute)
        && (0..=59).contains(&second)
        && (0..=23).contains(&tz_hour)
        && (0..=59).contains(&tz_minute);
    if !valid {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let offset = (tz_hour * 3600 + tz_minute * 60) * if d["tz_before_gmt"].as_bool()? { -1 } else { 1 };
    Some((days * 86_400 + hour * 3600 + minute * 60 + second - offset) * 1000)
}

/// Our subject, Message-ID, sender (address and name), recipients, date, attachment
/// count and plain text agree with mail-parser's upstream expectations (`NNN.json`
/// beside each message) wherever the expectation states them in a form we map. Two
/// deliberate differences are allowed and checked: raw 8-bit headers that mail-parser
/// leaves as U+FFFD we decode (same text otherwise), and a multipart without boundary
/// lines is body text to us, not an attachment.
#[test]
fn headers_match_upstream_expectations() {
    let mut checked = 0;
    let mut mismatches = Vec::new();
    for (_, path) in eml_files() {
        let json_path = path.with_extension("json");
        let Ok(json) = std::fs::read_to_string(&json_path) else {
            mismatches.push(format!("{}: no expectation file", path.display()));
            continue;
        };
        let expected: Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
        let ours = parse_email(&read(&path));
        let name = path.strip_prefix(corpus()).unwrap_or(&path).display().to_string();
        let mut check = |field: &str, ours: Value, theirs: Value| {
            checked += 1;
            if !same_or_repaired(&ours, &theirs) {
                mismatches.push(format!("{name}: {field}: ours {ours} != expected {theirs}"));
            }
        };

        let headers = expected.pointer("/parts/0/headers").and_then(Value::as_array).cloned().unwrap_or_default();
        // mail-parser keeps the last of repeated headers, as does its JSON reader here.
        let header = |name: &str| headers.iter().rev().find(|h| h["name"] == name).map(|h| h["value"].clone());
        if let Some(text) = header("subject").and_then(|v| v["Text"].as_str().map(str::trim).map(str::to_owned)) {
            check("subject", json!(ours.subject), json!(text));
        }
        if let Some(id) = header("message_id").and_then(|v| v["Text"].as_str().map(str::to_owned)) {
            check("message_id", json!(ours.message_id), json!(Some(id).filter(|s| !s.is_empty())));
        }
        for (field, list) in [("from", &ours.from), ("to", &ours.to), ("reply_to", &ours.reply_to)] {
            let Some(addrs) = header(field).and_then(|v| v.pointer("/Address/List").and_then(Value::as_array).cloned())
            else {
                continue;
            };
            let theirs: Vec<Address> = addrs
                .iter()
                .filter_map(|a| {
                    let email = a["address"].as_str()?.trim();
                    let name = a["name"].as_str().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
                    (!email.is_empty()).then(|| Address { name, email: email.to_owned() })
                })
                .collect();
            check(field, json!(list), json!(theirs));
        }
        match header("date") {
            Some(v) if v.get("DateTime").is_some() => {
                check("date", json!(ours.date), json!(expected_millis(&v["DateTime"])))
            }
            Some(_) => check("date", json!(ours.date), json!(null)),
            None => {}
        }

        let parts = expected["parts"].as_array().cloned().unwrap_or_default();
        // A multipart without boundary lines is text to us (malformed/002), a file to mail-parser.
        let part = |id: &Value| id.as_u64().and_then(|i| parts.get(usize::try_from(i).ok()?));
        let is_boundaryless = |id: &Value| {
            part(id).is_some_and(|p| {
                p["body"].get("Text").is_some()
                    && p["headers"].as_array().is_some_and(|hs| {
                        hs.iter()
                            .any(|h| h["name"] == "content_type" && h["value"]["ContentType"]["c_type"] == "multipart")
                    })
            })
        };
        let attachments =
            expected["attachments"].as_array().map_or(0, |a| a.iter().filter(|id| !is_boundaryless(id)).count());
        check("attachment count", json!(ours.attachments.len()), json!(attachments));
        let text_bodies: Option<Vec<String>> = expected["text_body"]
            .as_array()
            .map(|ids| ids.iter().map(part).collect::<Option<Vec<_>>>())
            .and_then(|parts| {
                parts.map(|parts| {
                    parts.iter().map(|p| p["body"]["Text"].as_str().map(str::to_owned)).collect::<Option<Vec<_>>>()
                })
            })
            .flatten();
        // Only plain-text bodies: HTML-derived text is mail-parser's conversion either way,
        // and we also derive it when the plain part is empty (malformed/019, thirdparty/011).
        let has_html = expected["html_body"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|id| part(id).is_some_and(|p| p["body"].get("Html").is_some())));
        if let Some(texts) = text_bodies.filter(|t| !t.is_empty()) {
            let joined: Vec<String> = texts.into_iter().filter(|t| !t.trim().is_empty()).collect();
            if !(joined.is_empty() && has_html) {
                // The .eml files are mostly CRLF; NNN.json has the LF form's text.
                let lf = |t: &str| t.replace("\r\n", "\n").trim_end().to_owned();
                check("text", json!(lf(&ours.text)), json!(lf(&joined.join("\n\n"))));
            }
        }
    }
    eprintln!("{checked} expectations checked, {} differ", mismatches.len());
    assert!(checked > 500, "only {checked} expectations found");
    assert!(mismatches.is_empty(), "{} of {checked} differ:\n{}", mismatches.len(), mismatches.join("\n"));
}

/// Equal, or equal except that where mail-parser has U+FFFD (raw 8-bit header bytes it
/// reads as UTF-8) we have one real character: our legacy-charset fallback.
fn same_or_repaired(ours: &Value, theirs: &Value) -> bool {
    match (ours, theirs) {
        _ if ours == theirs => true,
        (Value::String(o), Value::String(t)) if t.contains('\u{FFFD}') => {
            !o.contains('\u{FFFD}')
                && o.chars().count() == t.chars().count()
                && o.chars().zip(t.chars()).all(|(a, b)| a == b || b == '\u{FFFD}')
        }
        (Value::Array(o), Value::Array(t)) => {
            o.len() == t.len() && o.iter().zip(t).all(|(a, b)| same_or_repaired(a, b))
        }
        (Value::Object(o), Value::Object(t)) => {
            o.len() == t.len() && o.iter().all(|(k, v)| t.get(k).is_some_and(|tv| same_or_repaired(v, tv)))
        }
        _ => ours == theirs,
    }
}

fn address_list(list: &[Address]) -> Vec<String> {
    list.iter()
        .map(|a| match &a.name {
            Some(name) => format!("{name} <{}>", a.email),
            None => a.email.clone(),
        })
        .collect()
}

/// A compact, reviewable summary of a parse: what the golden files hold (fields in
/// this order).
#[derive(serde::Serialize)]
struct Summary {
    message_id: Option<String>,
    in_reply_to: Vec<String>,
    references: Vec<String>,
    thread_index: Option<String>,
    subject: Option<String>,
    date: Option<String>,
    from: Vec<String>,
    reply_to: Vec<String>,
    to: Vec<String>,
    cc: Vec<String>,
    text_chars: usize,
    text_start: String,
    html: bool,
    attachments: Vec<AttachmentSummary>,
    problems: Vec<String>,
}

#[derive(serde::Serialize)]
struct AttachmentSummary {
    name: Option<String>,
    #[serde(rename = "type")]
    mime_type: String,
    size: usize,
    inline: bool,
    content_id: Option<String>,
}

fn summary(p: &ParsedEmail) -> Summary {
    Summary {
        message_id: p.message_id.clone(),
        in_reply_to: p.in_reply_to.clone(),
        references: p.references.clone(),
        thread_index: p.thread_index.clone(),
        subject: p.subject.clone(),
        date: p.date.map(|ms| {
            jiff::Timestamp::from_millisecond(ms).map_or_else(|e| format!("invalid {ms}: {e}"), |t| t.to_string())
        }),
        from: address_list(&p.from),
        reply_to: address_list(&p.reply_to),
        to: address_list(&p.to),
        cc: address_list(&p.cc),
        text_chars: p.text.chars().count(),
        text_start: p.text.chars().take(200).collect(),
        html: p.html.is_some(),
        attachments: p
            .attachments
            .iter()
            .map(|a| AttachmentSummary {
                name: a.filename.clone(),
                mime_type: a.mime_type.clone(),
                size: a.data.len(),
                inline: a.inline,
                content_id: a.content_id.clone(),
            })
            .collect(),
        problems: p.problems.clone(),
    }
}

/// Our parse of every corpus message equals its reviewed golden summary (set
/// UPDATE_GOLDEN=1 to rewrite them after an intended change).
#[test]
fn golden_summaries() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let golden_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/eml");
    let mut differing = Vec::new();
    for (family, path) in eml_files() {
        let stem = path.file_stem().expect("stem").to_string_lossy().into_owned();
        let golden = golden_root.join(family).join(format!("{stem}.json"));
        let mut actual = serde_json::to_string_pretty(&summary(&parse_email(&read(&path)))).expect("json");
        actual.push('\n');
        if update {
            std::fs::create_dir_all(golden.parent().expect("parent")).expect("mkdir golden");
            std::fs::write(&golden, &actual).expect("write golden");
            continue;
        }
        match std::fs::read_to_string(&golden) {
            Ok(expected) if expected == actual => {}
            Ok(_) => differing.push(format!("{}: differs from {}", path.display(), golden.display())),
            Err(e) => differing.push(format!("{}: {e}", golden.display())),
        }
    }
    assert!(
        differing.is_empty(),
        "{} golden summaries differ (after an intended change: UPDATE_GOLDEN=1 cargo test -p shopdesk-ingest --test corpus_mail, then review the diff):\n{}",
        differing.len(),
        differing.join("\n")
    );
}

/// The Maildir++ tree holds 6 messages, each file's content a letter naming it, with
/// the folders and flags the corpus README lists: INBOX {Seen}=b, {Seen,Trashed}=a;
/// `My Folder` {}=d, {Trashed,Draft,Replied}=c; `My Folder/Nested Folder`
/// {Replied,Draft,Flagged}=f, {Flagged,Passed}=e.
#[test]
fn maildir_tree_gives_six_messages_with_flags() {
    use MaildirFlag::*;
    let entries = walk_maildir(&corpus().join("mail-parser/resources/maildir")).expect("walk");
    let mut seen: Vec<(String, String, Vec<MaildirFlag>)> = entries
        .iter()
        .map(|e| {
            let letter = String::from_utf8_lossy(&read(&e.path)).trim().to_owned();
            (letter, e.folder.clone(), e.flags.clone())
        })
        .collect();
    seen.sort();
    let expected = [
        ("a", "INBOX", vec![Seen, Trashed]),
        ("b", "INBOX", vec![Seen]),
        ("c", "My Folder", vec![Draft, Replied, Trashed]),
        ("d", "My Folder", vec![]),
        ("e", "My Folder/Nested Folder", vec![Flagged, Passed]),
        ("f", "My Folder/Nested Folder", vec![Draft, Flagged, Replied]),
    ];
    let expected: Vec<(String, String, Vec<MaildirFlag>)> =
        expected.into_iter().map(|(l, f, flags)| (l.to_owned(), f.to_owned(), flags)).collect();
    assert_eq!(seen, expected);
    let folders: Vec<&str> = entries.iter().map(|e| e.folder.as_str()).collect();
    assert!(folders.is_sorted(), "not sorted by folder: {folders:?}");
    for e in &entries {
        // One-letter files are not mail: they parse to that letter as text, with a note.
        let p = parse_email(&read(&e.path));
        assert_eq!(p.text.trim().len(), 1, "{}: {p:?}", e.path.display());
    }
}

const MBOX: &[u8] = b"From dana@example.test Mon Nov 16 10:00:00 2026\r\n\
From: Dana <dana@example.test>\r\nSubject: one\r\nMessage-ID: <1@x>\r\n\r\nbody one\r\n>From the shop, with love\r\n\r\n\
From hello@shop.test Mon Nov 16 11:00:00 2026\n\
From: hello@shop.test\nSubject: two\nMessage-ID: <2@x>\nIn-Reply-To: <1@x>\n\nline\nFrom here on, not a separator\n>>From kept once\n\n\
From dana@example.test Mon Nov 16 12:00:00 2026\n\
From: dana@example.test\nSubject: three\nMessage-ID: <3@x>\nReferences: <1@x> <2@x>\n\nlast\n";

/// A three-message mbox (CRLF and LF, mboxrd quoting, a body line starting with "From "
/// after text) splits into three messages at the right lines, each parsing to its
/// headers with the quoting undone.
#[test]
fn small_mbox_splits_and_parses() {
    let entries = split_mbox(MBOX);
    assert_eq!(entries.iter().map(|e| e.line).collect::<Vec<_>>(), vec![1, 9, 19]);
    let parsed: Vec<ParsedEmail> = entries.iter().map(|e| parse_email(&e.raw)).collect();
    let subjects: Vec<Option<&str>> = parsed.iter().map(|p| p.subject.as_deref()).collect();
    assert_eq!(subjects, [Some("one"), Some("two"), Some("three")]);
    assert_eq!(parsed[0].text.replace("\r\n", "\n"), "body one\nFrom the shop, with love\n");
    assert_eq!(parsed[1].text, "line\nFrom here on, not a separator\n>From kept once\n");
    assert_eq!(parsed[2].references, ["1@x", "2@x"]);
    assert!(parsed.iter().all(|p| p.problems.is_empty()), "{parsed:?}");
}

/// Message separators of an mbox counted the plain way: lines starting with "From "
/// that open the file or follow an empty line.
fn count_separators(bytes: &[u8]) -> usize {
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l)).collect();
    (0..lines.len()).filter(|&i| lines[i].starts_with(b"From ") && (i == 0 || lines[i - 1].is_empty())).count()
}

/// Each imaptest mbox splits into exactly as many messages as it has separators, each
/// parsing to a sender, Message-ID, References or text; the THREAD mboxes give the ids and References
/// the threading oracles are about.
#[test]
fn imaptest_mboxes_split() {
    let dir = corpus().join("imaptest/src/tests");
    let mut mboxes = 0;
    let mut messages = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "mbox") {
            continue;
        }
        let bytes = read(&path);
        let entries = split_mbox(&bytes);
        assert_eq!(entries.len(), count_separators(&bytes), "{}", path.display());
        for m in &entries {
            let p = parse_email(&m.raw);
            // Some imaptest messages are a bare body ("1") after an empty header block.
            let ok =
                !p.from.is_empty() || p.message_id.is_some() || !p.references.is_empty() || !p.text.trim().is_empty();
            assert!(ok, "{}:{}: {p:?}", path.display(), m.line);
        }
        mboxes += 1;
        messages += entries.len();
    }
    assert!(mboxes >= 30, "only {mboxes} mboxes in {}", dir.display());
    eprintln!("{mboxes} imaptest mboxes, {messages} messages");

    let thread = |name: &str| -> Vec<(Option<String>, Vec<String>)> {
        split_mbox(&read(&dir.join(name)))
            .iter()
            .map(|m| parse_email(&m.raw))
            .map(|p| (p.message_id, p.references))
            .collect()
    };
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        thread("thread.mbox"),
        vec![
            (Some("a@b".to_owned()), vec![]),
            (Some("b@b".to_owned()), s(&["a@b", "c@b"])),
            (Some("c@b".to_owned()), s(&["b@b"])),
        ]
    );
    assert_eq!(thread("thread6.mbox"), vec![(None, s(&["a@b"])), (None, s(&["a@b"]))]);
}
