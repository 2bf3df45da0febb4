//! The WhatsApp parser over the shared third-party corpus (see ../shared/corpus/README.md,
//! section WhatsApp exports): chat-miner's five styles of one chat and its dated
//! oracles, whatsapp-chat-parser's samples and one-line format cases, whatstk's chats,
//! format variants and its list of 96 supported header formats. The corpus is found
//! through `SHOPDESK_CORPUS` (default `../shared/corpus` from the repo root); without it
//! these tests fail, saying so.
//!
//! Golden file: `tests/golden/whatsapp/testlog.json` is our parse of chat-miner's
//! mixed-style `testlog.txt` (checked by hand against its `target.json`);
//! `UPDATE_GOLDEN=1 cargo test -p shopdesk-ingest --test corpus_whatsapp` rewrites it
//! after an intended change (review the diff).

use serde_json::Value;
use shopdesk_core::chat::{ChatExport, ChatKind, ChatMessage, ChatTime, CivilTime};
use shopdesk_ingest::IngestError;
use shopdesk_ingest::chat::whatsapp::{DateOrder, WhatsappOptions, parse_whatsapp, read_path};
use std::io::Write;
use std::path::{Path, PathBuf};

fn corpus() -> PathBuf {
    shopdesk_systests::corpus::corpus_dir().unwrap_or_else(|e| panic!("{e}"))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn parse_file(relative: &str) -> ChatExport {
    let path = corpus().join(relative);
    parse_whatsapp(&read(&path), &WhatsappOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn civil(m: &ChatMessage) -> CivilTime {
    match m.at {
        ChatTime::Local(t) => t,
        ChatTime::Utc(ms) => panic!("line {}: WhatsApp times are local, got UTC {ms}", m.line),
    }
}

fn author(m: &ChatMessage) -> &str {
    m.author.as_ref().map_or("", |a| a.name.as_str())
}

/// chat-miner flattens text: continuation lines joined with a space, U+00A0 as a space.
fn flat(text: &str) -> String {
    text.replace(['\n', '\u{a0}'], " ")
}

/// The local time as Unix milliseconds if it were UTC (chat-miner's `datetime`).
fn as_utc_millis(t: CivilTime) -> i64 {
    jiff::civil::date(t.year, t.month as i8, t.day as i8)
        .at(t.hour as i8, t.minute as i8, t.second as i8, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .expect("valid time")
        .timestamp()
        .as_millisecond()
}

/// A minimal RFC 4180 reader for the small oracle CSVs (quoted fields, `""` escapes).
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (mut fields, mut field, mut quoted) = (Vec::new(), String::new(), false);
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                ('"', _) => quoted = !quoted,
                (',', false) => fields.push(std::mem::take(&mut field)),
                (c, _) => field.push(c),
            }
        }
        fields.push(field);
        rows.push(fields);
    }
    rows
}

/// chat-miner's five styles of one chat (Android dd/mm/yy, mm/dd/yy, yyyy/mm/dd, Spanish
/// `a. m.`/`p. m.` 12 h, iOS `[mm/dd/yy HH:MM]`) each give the six user messages of
/// `target.json` (newest first there), with their authors, times and texts. Like with
/// like: the oracle drops system lines and the `John Doe:.` line; we keep the latter as
/// a message with empty text (someone did write then), so it is checked separately and
/// left out of the comparison, and texts are compared with continuation lines joined by
/// a space as chat-miner does.
#[test]
fn chat_miner_five_styles_give_the_target_messages() {
    let dir = "chat-miner/test/whatsapp";
    let target: Value = serde_json::from_slice(&read(&corpus().join(dir).join("target.json")))
        .expect("target.json");
    let mut expected: Vec<(String, String, String)> = target
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().expect(k).to_owned();
            (s("timestamp").replace('T', " "), s("author"), s("message"))
        })
        .collect();
    expected.reverse();
    assert_eq!(expected.len(), 6);
    for name in [
        "test_ddmmyy_24hrs.txt",
        "test_mmddyy_24hrs.txt",
        "test_yyyymmdd_24hrs.txt",
        "test_mmddyyyy_12hrs.txt",
        "test_[mmddyy]_24hrs.txt",
    ] {
        let export = parse_file(&format!("{dir}/{name}"));
        assert!(export.problems.is_empty(), "{name}: {:?}", export.problems);
        let empty: Vec<_> = export
            .messages
            .iter()
            .filter(|m| m.kind == ChatKind::Message && m.text.is_empty())
            .map(|m| (m.line, author(m).to_owned()))
            .collect();
        assert_eq!(
            empty,
            [(2, "John Doe".to_owned())],
            "{name}: the `John Doe:.` line"
        );
        let got: Vec<(String, String, String)> = export
            .messages
            .iter()
            .filter(|m| m.kind == ChatKind::Message && !m.text.is_empty())
            .map(|m| (civil(m).to_string(), author(m).to_owned(), flat(&m.text)))
            .collect();
        assert_eq!(got, expected, "{name}");
        let system: Vec<_> = export
            .messages
            .iter()
            .filter(|m| m.kind == ChatKind::System)
            .map(|m| (m.author.is_none(), m.text.as_str()))
            .collect();
        assert_eq!(
            system,
            [
                (true, "+12 345 578 created group \"Groupname\""),
                (true, "You were added")
            ],
            "{name}"
        );
    }
}

/// chat-miner@62d255f's `test_dateformat1`–`6` and `test_unicode` (m/d/yy, m/d/yyyy with
/// `p.m.`/`p. m.`, yyyy/mm/dd with a trailing dot, bracketed dd/mm/yy with `p.m.`
/// (no field over 12: day first), bracketed mm.dd.yy, blank lines, U+00A0 before `m.`)
/// match their `_target.csv` row for row: author (`System` = a system line, author
/// none), local time, text. Like with like: the oracle writes our empty `John Doe:.`
/// message as `<Disappearing Message>`, joins continuation lines with a space and turns
/// U+00A0 into a space.
#[test]
fn chat_miner_dateformats_match_their_target_csv() {
    let dir = "chat-miner@62d255f/test/whatsapp";
    let cases = [
        ("test_dateformat1", 10),
        ("test_dateformat2", 4),
        ("test_dateformat3", 4),
        ("test_dateformat4", 4),
        ("test_dateformat5", 4),
        ("test_dateformat6", 4),
        ("test_unicode", 3),
    ];
    for (name, rows) in cases {
        let csv = String::from_utf8(read(&corpus().join(format!("{dir}/{name}_target.csv"))))
            .expect("utf8");
        let table = csv_rows(&csv);
        assert_eq!(table[0][..3], ["timestamp", "author", "message"], "{name}");
        // The oracle is newest first, ties in reverse file order: reversed, it is file order.
        let expected: Vec<(String, String, String)> = table[1..]
            .iter()
            .rev()
            .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
            .collect();
        assert_eq!(expected.len(), rows, "{name}: oracle rows");
        let export = parse_file(&format!("{dir}/{name}.txt"));
        assert!(export.problems.is_empty(), "{name}: {:?}", export.problems);
        let got: Vec<(String, String, String)> = export
            .messages
            .iter()
            .map(|m| {
                let who = match m.kind {
                    ChatKind::System => "System".to_owned(),
                    _ => author(m).to_owned(),
                };
                let text = match m.kind {
                    ChatKind::Message if m.text.is_empty() => "<Disappearing Message>".to_owned(),
                    _ => flat(&m.text),
                };
                (civil(m).to_string(), who, text)
            })
            .collect();
        assert_eq!(got, expected, "{name}");
    }
}

/// chat-miner@a7e9d8c's `testlog.txt` mixes header styles in one file (m/d/yy, 12 h with
/// `p.m.`/`a.m.`/`p. m.`, seconds, brackets, dashes, mm.dd.yy, yyyy/mm/dd with a
/// trailing dot, U+00A0) and gives its 23 `target.json` records: same author (`System`
/// for system lines), time (local time written as UTC millis there) and flattened text.
#[test]
fn chat_miner_testlog_gives_its_23_records() {
    let dir = corpus().join("chat-miner@a7e9d8c/test/whatsapp");
    let target = String::from_utf8(read(&dir.join("target.json"))).expect("utf8");
    let mut expected: Vec<(i64, String, String)> = target
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let r: Value = serde_json::from_str(l).expect("json line");
            (
                r["datetime"].as_i64().expect("datetime"),
                r["author"].as_str().expect("author").to_owned(),
                r["message"].as_str().expect("message").to_owned(),
            )
        })
        .collect();
    expected.reverse();
    assert_eq!(expected.len(), 23);
    let export = parse_whatsapp(&read(&dir.join("testlog.txt")), &WhatsappOptions::default())
        .expect("testlog parses");
    assert!(export.problems.is_empty(), "{:?}", export.problems);
    let got: Vec<(i64, String, String)> = export
        .messages
        .iter()
        .map(|m| {
            let who = if m.kind == ChatKind::System {
                "System"
            } else {
                author(m)
            };
            (as_utc_millis(civil(m)), who.to_owned(), flat(&m.text))
        })
        .collect();
    assert_eq!(got, expected);
}

/// The golden parse of `testlog.txt` (every field, as JSON) is unchanged. It was
/// written from the code after the test above and a by-hand check against
/// `target.json`: same 23 entries, times, authors, texts; system lines without author.
#[test]
fn testlog_golden() {
    let export = parse_file("chat-miner@a7e9d8c/test/whatsapp/testlog.txt");
    let got = serde_json::to_string_pretty(&export).expect("json") + "\n";
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/whatsapp/testlog.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden.parent().expect("parent")).expect("mkdir");
        std::fs::write(&golden, &got).expect("write golden");
    }
    let want = std::fs::read_to_string(&golden)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", golden.display()));
    assert_eq!(got, want, "golden {} differs", golden.display());
}

/// whatsapp-chat-parser's `short-chat.txt` gives 5 entries (its count includes the two
/// system lines), the 5th from the phone-number author with its blank line kept:
/// `How are you?\n\nIs everything alright?`.
#[test]
fn short_chat_keeps_blank_lines() {
    let export = parse_file("whatsapp-chat-parser@75f11bd/samples/short-chat.txt");
    assert!(export.problems.is_empty(), "{:?}", export.problems);
    assert_eq!(export.messages.len(), 5);
    let kinds: Vec<ChatKind> = export.messages.iter().map(|m| m.kind).collect();
    assert_eq!(kinds[..2], [ChatKind::System, ChatKind::System]);
    let last = &export.messages[4];
    assert_eq!(author(last), "+410123456789");
    assert_eq!(last.text, "How are you?\n\nIs everything alright?");
}

/// whatsapp-chat-parser's `empty.txt` gives no messages and the problem "the chat is
/// empty" (not an error: the CLI shows it and imports nothing).
#[test]
fn empty_file_gives_no_messages_and_says_so() {
    let export = parse_file("whatsapp-chat-parser@75f11bd/samples/empty.txt");
    assert!(export.messages.is_empty());
    assert_eq!(export.problems.len(), 1, "{:?}", export.problems);
    assert_eq!(export.problems[0].message, "the chat is empty");
}

/// Every line of `derived/parser-test-lines.json`, parsed alone as its own chat, gives
/// the expected date (12 styles: `p.m.`, dashed dates with dotted times, `: ` after the
/// time, bracketed month-first, Finnish `klo`, Croatian `13. 6. 2018.`, `p. m.`, a
/// leading U+200E, year first, year in the middle, U+00A0 and U+202F before the marker)
/// and the expected attachment file name (4 marker styles), with the marker gone from
/// the text.
#[test]
fn parser_test_lines_give_expected_dates_and_attachments() {
    let path = corpus().join("whatsapp-chat-parser/derived/parser-test-lines.json");
    let cases: Value = serde_json::from_slice(&read(&path)).expect("json");
    let one = |line: &str| {
        let export = parse_whatsapp(line.as_bytes(), &WhatsappOptions::default())
            .unwrap_or_else(|e| panic!("{line:?}: {e}"));
        assert!(
            export.problems.is_empty(),
            "{line:?}: {:?}",
            export.problems
        );
        assert_eq!(export.messages.len(), 1, "{line:?}");
        export.messages.into_iter().next().expect("one message")
    };
    let dates = cases["date_formats"].as_array().expect("date_formats");
    assert_eq!(dates.len(), 12);
    for case in dates {
        let line = case["line"].as_str().expect("line");
        let m = one(line);
        let t = civil(&m);
        let iso = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        );
        assert_eq!(
            iso,
            case["expected_date_utc"].as_str().expect("date"),
            "{}: {line:?}",
            case["id"]
        );
        assert_eq!(
            (author(&m), m.text.as_str(), m.kind),
            ("a", "m", ChatKind::Message),
            "{line:?}"
        );
    }
    let attachments = cases["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 4);
    for case in attachments {
        let line = case["line"].as_str().expect("line");
        let m = one(line);
        let want = case["expected_attachment_fileName"].as_str().expect("name");
        assert_eq!(m.attachments.len(), 1, "{line:?}");
        assert_eq!(m.attachments[0].filename.as_deref(), Some(want), "{line:?}");
        assert_eq!(m.attachments[0].kind, "photo", "{line:?}");
        assert!(
            !m.text.contains(want) && !m.text.contains("attached"),
            "{line:?}: {:?}",
            m.text
        );
    }
}

/// Every chat in whatstk's `chats/whatsapp` parses with no problems, and since those
/// files have no continuation lines, every non-empty line is exactly one entry.
#[test]
fn whatstk_chats_parse_without_problems() {
    let dir = corpus().join("whatstk/chats/whatsapp");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "{files:?}");
    for path in files {
        let bytes = read(&path);
        let export = parse_whatsapp(&bytes, &WhatsappOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            export.problems.is_empty(),
            "{}: {:?}",
            path.display(),
            export.problems
        );
        let lines = String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        assert_eq!(export.messages.len(), lines, "{}", path.display());
    }
}

/// In whatstk's `pokemon.txt` the row "authored" `Pokemon Chat` (the chat's name before
/// the encryption notice) is a system line with no author, and so is the group notice;
/// the other 18 rows are messages from their named authors.
#[test]
fn pokemon_chat_rows_are_system() {
    let export = parse_file("whatstk/chats/whatsapp/pokemon.txt");
    let first = &export.messages[0];
    assert_eq!(
        (first.line, first.kind, first.author.is_none()),
        (1, ChatKind::System, true)
    );
    assert!(
        first
            .text
            .starts_with("Messages and calls are end-to-end encrypted"),
        "{}",
        first.text
    );
    assert!(export.messages.iter().all(|m| author(m) != "Pokemon Chat"));
    assert!(export.participants.iter().all(|p| p.name != "Pokemon Chat"));
    let system = export
        .messages
        .iter()
        .filter(|m| m.kind == ChatKind::System)
        .count();
    assert_eq!(system, 2);
    assert_eq!(export.messages.len() - system, 18);
}

/// The same 20-line chat in whatstk@f0a0af1 and @0510af6 date styles gives identical
/// messages: authors, kinds, texts and times (`dd.mm.yyyy`, `[yyyy/mm/dd HH:MM]`); the
/// variants with seconds (dotted 24 h, dashed 12 h) differ only by their `:10`. The two
/// 12-hour files were hand-edited upstream on a few lines (`11:45 PM` where the others
/// have 11:45, `02:23 PM` for 12:23, `p.m.` for AM); there the time written in that file
/// is expected, everywhere else the same time as the others.
#[test]
fn whatstk_variants_give_identical_messages() {
    type Row = (String, ChatKind, String, CivilTime);
    let rows = |relative: &str| -> Vec<Row> {
        let export = parse_file(relative);
        assert!(
            export.problems.is_empty(),
            "{relative}: {:?}",
            export.problems
        );
        export
            .messages
            .iter()
            .map(|m| (author(m).to_owned(), m.kind, m.text.clone(), civil(m)))
            .collect()
    };
    let base = rows("whatstk@f0a0af1/tests/chats/example_1.txt");
    assert_eq!(base.len(), 20);
    for other in [
        "whatstk@f0a0af1/tests/chats/example_2.txt",
        "whatstk@0510af6/chats/dot/samplechat_1.txt",
    ] {
        assert_eq!(rows(other), base, "{other}");
    }
    let with_seconds = rows("whatstk@0510af6/chats/dot/samplechat_3.txt");
    assert_eq!(
        rows("whatstk@0510af6/chats/dash/samplechat_4.txt"),
        with_seconds
    );
    let tens: Vec<Row> = base
        .iter()
        .map(|(a, k, t, c)| (a.clone(), *k, t.clone(), CivilTime { second: 10, ..*c }))
        .collect();
    assert_eq!(with_seconds, tens);
    // (file, [(1-based row, hour:minute as that file writes it)])
    type Edits<'a> = &'a [(&'a str, &'a [(usize, (u8, u8))])];
    let edited: Edits<'_> = &[
        (
            "whatstk@f0a0af1/tests/chats/example-12h.txt",
            &[(9, (23, 45)), (19, (23, 45)), (20, (14, 23))],
        ),
        (
            "whatstk@f0a0af1/tests/chats/example-12h-2.txt",
            &[
                (9, (23, 45)),
                (13, (21, 45)),
                (14, (23, 25)),
                (19, (23, 45)),
                (20, (14, 23)),
            ],
        ),
    ];
    for (twelve, changes) in edited {
        let expected: Vec<Row> = base
            .iter()
            .enumerate()
            .map(|(i, (a, k, t, c))| {
                let time = match changes.iter().find(|(row, _)| *row == i + 1) {
                    Some((_, (hour, minute))) => CivilTime {
                        hour: *hour,
                        minute: *minute,
                        ..*c
                    },
                    None => *c,
                };
                (a.clone(), *k, t.clone(), time)
            })
            .collect();
        assert_eq!(rows(twelve), expected, "{twelve}");
    }
}

/// One small chat written in a whatstk header format (`%d.%m.%y, %I:%M %p - %name:` …):
/// two messages (23 April 2020 09:07:05, 5 April 2020 21:30:45), a continuation line and
/// a system line. Two-digit `%y` when the year is last, four digits when it is first
/// (WhatsApp writes year-first dates with four digits).
fn whatstk_sample(format: &str) -> String {
    let year_first = format.trim_start_matches('[').starts_with("%y");
    let stamp = |d: u32, h: u32, mi: u32, s: u32| {
        let (h12, p) = match h {
            0 => (12, "AM"),
            1..=11 => (h, "AM"),
            12 => (12, "PM"),
            _ => (h - 12, "PM"),
        };
        format
            .replace("%y", if year_first { "2020" } else { "20" })
            .replace("%m", "04")
            .replace("%d", &format!("{d:02}"))
            .replace("%H", &format!("{h:02}"))
            .replace("%I", &format!("{h12:02}"))
            .replace("%M", &format!("{mi:02}"))
            .replace("%S", &format!("{s:02}"))
            .replace("%p", p)
    };
    let system = stamp(5, 21, 31, 0)
        .replace(" %name:", " You were added")
        .replace("%name:", "You were added");
    format!(
        "{} Ana: first\n{} Ben: second\nand more\n{}\n",
        stamp(23, 9, 7, 5).replace("%name:", "").trim_end(),
        stamp(5, 21, 30, 45).replace("%name:", "").trim_end(),
        system
    )
}

/// whatstk's list of 96 supported header formats, as a checklist: a sample chat in each
/// (see [`whatstk_sample`]) parses to the right authors, texts, system line and times
/// (seconds only where the format has them). Prints how many pass; all must.
#[test]
fn whatstk_header_formats_checklist() {
    let path = corpus().join("whatstk/whatstk/whatsapp/assets/header_format_support.json");
    let list: Value = serde_json::from_slice(&read(&path)).expect("json");
    let formats: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|f| f["format"].as_str().expect("format"))
        .collect();
    assert_eq!(formats.len(), 96);
    let mut failures = Vec::new();
    for format in &formats {
        let sample = whatstk_sample(format);
        let seconds = format.contains("%S");
        let want = [
            (
                "Ana",
                ChatKind::Message,
                "first",
                (23, 9, 7, if seconds { 5 } else { 0 }),
            ),
            (
                "Ben",
                ChatKind::Message,
                "second\nand more",
                (5, 21, 30, if seconds { 45 } else { 0 }),
            ),
            ("", ChatKind::System, "You were added", (5, 21, 31, 0)),
        ];
        let ok =
            match parse_whatsapp(sample.as_bytes(), &WhatsappOptions::default()) {
                Ok(export) => {
                    export.problems.is_empty()
                        && export.messages.len() == 3
                        && export.messages.iter().zip(&want).all(
                            |(m, (a, k, text, (d, h, mi, s)))| {
                                let t = civil(m);
                                author(m) == *a
                                    && m.kind == *k
                                    && m.text == *text
                                    && (t.year, t.month, t.day, t.hour, t.minute, t.second)
                                        == (2020, 4, *d, *h, *mi, *s)
                            },
                        )
                }
                Err(_) => false,
            };
        if !ok {
            failures.push(format!("{format}\n{sample}"));
        }
    }
    println!(
        "whatstk header formats: {}/{} pass",
        formats.len() - failures.len(),
        formats.len()
    );
    assert!(
        failures.is_empty(),
        "{} formats fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The date order option overrides the inference: `03/04/21` is 3 April by default
/// (no evidence either way) and 4 March with `mdy`.
#[test]
fn date_order_option_overrides_inference() {
    let line = b"03/04/21, 10:00 - Ana: hi\n";
    let day = |order| {
        let export = parse_whatsapp(
            line,
            &WhatsappOptions {
                date_order: order,
                title: None,
            },
        )
        .expect("parse");
        let t = civil(&export.messages[0]);
        (t.month, t.day)
    };
    assert_eq!(day(None), (4, 3));
    assert_eq!(day(Some(DateOrder::Dmy)), (4, 3));
    assert_eq!(day(Some(DateOrder::Mdy)), (3, 4));
    assert_eq!("MDY".parse::<DateOrder>(), Ok(DateOrder::Mdy));
    assert!("dym".parse::<DateOrder>().is_err());
}

fn zip_file(path: &Path, files: &[(&str, &[u8])]) {
    let file = std::fs::File::create(path).expect("create zip");
    let mut writer = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        writer.start_file(*name, options).expect("start");
        writer.write_all(data).expect("write");
    }
    writer.finish().expect("finish");
}

/// `read_path` on an iOS-style zip (`_chat.txt` + media): the marker's file comes with
/// its bytes, a marker whose file is absent keeps `data: None`, `image omitted` has no
/// name, and the title comes from the zip name `WhatsApp Chat - Anna.zip`.
#[test]
fn read_path_ios_zip_attaches_media() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("WhatsApp Chat - Anna.zip");
    let chat = "[03/06/2024, 10:00:00] Anna: Hello\n\
                [03/06/2024, 10:01:00] Anna: \u{200e}<attached: 00000001-PHOTO-2024-06-03-10-01-00.jpg>\n\
                [03/06/2024, 10:02:00] Anna: \u{200e}<attached: 00000002-AUDIO-2024-06-03-10-02-00.opus>\n\
                [03/06/2024, 10:03:00] Shop: \u{200e}image omitted\n";
    zip_file(
        &path,
        &[
            ("_chat.txt", chat.as_bytes()),
            ("00000001-PHOTO-2024-06-03-10-01-00.jpg", b"JPEGDATA"),
        ],
    );
    let export = read_path(&path, &WhatsappOptions::default()).expect("read zip");
    assert_eq!(export.title.as_deref(), Some("Anna"));
    assert!(export.problems.is_empty(), "{:?}", export.problems);
    let media: Vec<_> = export
        .messages
        .iter()
        .flat_map(|m| &m.attachments)
        .map(|a| (a.filename.as_deref(), a.kind.as_str(), a.data.as_deref()))
        .collect();
    assert_eq!(
        media,
        [
            (
                Some("00000001-PHOTO-2024-06-03-10-01-00.jpg"),
                "photo",
                Some(&b"JPEGDATA"[..])
            ),
            (
                Some("00000002-AUDIO-2024-06-03-10-02-00.opus"),
                "audio",
                None
            ),
            (None, "photo", None),
        ]
    );
    assert!(
        export.messages[1..].iter().all(|m| m.text.is_empty()),
        "{:?}",
        export.messages
    );
}

/// `read_path` on an Android-style zip finds `WhatsApp Chat with Ben.txt` (beside a
/// media `.txt` document), takes the title from it, and attaches `(file attached)`
/// media; on the bare `.txt` it takes the title from the file name too.
#[test]
fn read_path_android_zip_and_txt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let chat = "12/06/2024, 09:00 - Ben: IMG-20240612-WA0001.jpg (file attached)\nlook\n\
                12/06/2024, 09:01 - Ben: notes.txt (file attached)\n";
    let path = dir.path().join("export.zip");
    zip_file(
        &path,
        &[
            ("notes.txt", b"a document"),
            ("WhatsApp Chat with Ben.txt", chat.as_bytes()),
            ("IMG-20240612-WA0001.jpg", b"IMG"),
        ],
    );
    let export = read_path(&path, &WhatsappOptions::default()).expect("read zip");
    assert_eq!(export.title.as_deref(), Some("Ben"));
    assert_eq!(export.messages[0].text, "look");
    assert_eq!(
        export.messages[0].attachments[0].data.as_deref(),
        Some(&b"IMG"[..])
    );
    assert_eq!(export.messages[1].attachments[0].kind, "document");
    assert_eq!(
        export.messages[1].attachments[0].data.as_deref(),
        Some(&b"a document"[..])
    );

    let txt = dir.path().join("WhatsApp Chat with Ben.txt");
    std::fs::write(&txt, chat).expect("write");
    let export = read_path(
        &txt,
        &WhatsappOptions {
            date_order: None,
            title: Some("ignored".into()),
        },
    )
    .expect("txt");
    assert_eq!(export.title.as_deref(), Some("Ben"));
    assert_eq!(export.messages[0].attachments[0].data, None);
    let other = dir.path().join("chat.txt");
    std::fs::write(&other, chat).expect("write");
    let export = read_path(
        &other,
        &WhatsappOptions {
            date_order: None,
            title: Some("Ben B.".into()),
        },
    )
    .expect("txt");
    assert_eq!(export.title.as_deref(), Some("Ben B."));
}

/// Bad input through `read_path`: a zip with a `../` entry is refused as an archive
/// error naming the zip and the entry; a zip without a chat `.txt` says what it
/// expected; a text file that is not a chat is a format error naming the file and line.
#[test]
fn read_path_bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let evil = dir.path().join("evil.zip");
    zip_file(
        &evil,
        &[
            ("_chat.txt", b"[03/06/2024, 10:00:00] A: hi\n"),
            ("../evil.txt", b"x"),
        ],
    );
    let err = read_path(&evil, &WhatsappOptions::default()).expect_err("unsafe zip");
    assert!(matches!(err, IngestError::Archive(_)), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("evil.zip") && shown.contains("../evil.txt"),
        "{shown}"
    );

    let no_chat = dir.path().join("photos.zip");
    zip_file(&no_chat, &[("a.jpg", b"x"), ("b.jpg", b"y")]);
    let err = read_path(&no_chat, &WhatsappOptions::default()).expect_err("no chat");
    assert!(err.to_string().contains("_chat.txt"), "{err}");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "\nshopping list\nmilk\n").expect("write");
    let err = read_path(&text, &WhatsappOptions::default()).expect_err("not a chat");
    let shown = err.to_string();
    assert!(
        shown.contains("notes.txt") && shown.contains("WhatsApp chat") && shown.contains("line 2"),
        "{shown}"
    );
}
