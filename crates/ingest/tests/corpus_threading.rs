//! RFC 5256 `THREAD REFERENCES` against imaptest's oracles (see ../shared/corpus/README.md,
//! section Email): each `imaptest/src/tests/threadN` script states the IMAP commands run
//! on a mailbox made from `threadN.mbox` and the THREAD responses Dovecot must give. The
//! scripts are replayed here (appends, `\Deleted` flags, expunges and the renumbering
//! that follows), each message parsed by our MIME parser and threaded by
//! `shopdesk_core::threading::thread_references`; the expected response is read from the
//! script, never copied into this file. A message without a Date header is dated by its
//! mbox `From ` line, as the IMAP server's internal date (RFC 5256: the sent date, else
//! the internal date).
//!
//! Oracles checked (sequence numbers as the script sees them at that point):
//! - `thread`: `(3 2)(1)`; after expunging 1, `(2 1)` (a cycle refused, a message's own
//!   References beating another's guess)
//! - `thread2`: `(1)(2)` (two messages with one Message-ID)
//! - `thread3`: `(1 2)` (repeated Message-ID, then joined by subject)
//! - `thread4`: `(1 2)` (a lone dummy parent gives way, then subject)
//! - `thread5`: `(1 (2 4)(3))` over its first four appends; after expunging 1 and 2,
//!   `(1)(2)`; after appending the fifth, `(1)((2)(3))` (a dummy root)
//! - `thread6`: `((1)(2))` (no Message-IDs, a dummy parent)
//! - `thread7`: `(1 (2 3)(4))`; after expunging 2, `(1 3 2)` (a repeated id fills a
//!   dummy once the first is gone)
//! - `thread8`: `(1 2)`; after expunging 2, `(1)`; after appending the third, `(1 2)`
//!
//! Not checked: `thread-orderedsubject` and `thread-orderedsubject2` ask for
//! `THREAD ORDEREDSUBJECT`, another algorithm (group by subject only), which Shopdesk
//! does not implement; the test names every script it leaves out and why.

use shopdesk_core::Millis;
use shopdesk_core::threading::{ThreadMessage, render_threads, thread_references};
use shopdesk_ingest::mail::{parse_email, split_mbox};
use std::path::{Path, PathBuf};

fn imaptest_dir() -> PathBuf {
    let corpus = shopdesk_systests::corpus::corpus_dir().unwrap_or_else(|e| panic!("{e}"));
    let dir = corpus.join("imaptest/src/tests");
    assert!(dir.is_dir(), "the corpus has no imaptest scripts: {} is missing", dir.display());
    dir
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The messages of an mbox, in order, ready to thread (`seq` is set by the mailbox).
fn load_mbox(path: &Path) -> Vec<ThreadMessage> {
    let bytes = read(path);
    let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    split_mbox(&bytes)
        .iter()
        .map(|entry| {
            let p = parse_email(&entry.raw);
            let separator = String::from_utf8_lossy(lines[entry.line - 1]);
            let date = p.date.unwrap_or_else(|| {
                from_line_date(&separator)
                    .unwrap_or_else(|| panic!("{}:{}: no date in {separator:?}", path.display(), entry.line))
            });
            ThreadMessage {
                seq: 0,
                message_id: p.message_id,
                references: p.references,
                in_reply_to: p.in_reply_to,
                subject: p.subject,
                date,
            }
        })
        .collect()
}

/// The date of an mbox separator, `From user@domain  Fri Feb 22 17:06:23 2008 [+0200]`.
fn from_line_date(line: &str) -> Option<Millis> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let t = words.iter().position(|w| w.matches(':').count() == 2).filter(|&t| t >= 2)?;
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| *m == words[t - 2])?;
    let day: i8 = words.get(t - 1)?.parse().ok()?;
    let year: i16 = words.get(t + 1)?.parse().ok()?;
    let hms: Vec<i8> = words[t].split(':').map(str::parse).collect::<Result<_, _>>().ok()?;
    let offset_minutes = match words.get(t + 2) {
        Some(z) if z.len() == 5 && (z.starts_with('+') || z.starts_with('-')) => {
            let n: i64 = z[1..].parse().ok()?;
            (n / 100 * 60 + n % 100) * if z.starts_with('-') { -1 } else { 1 }
        }
        _ => 0,
    };
    let civil = jiff::civil::DateTime::new(year, month as i8 + 1, day, hms[0], hms[1], hms[2], 0).ok()?;
    let utc = civil.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp().as_millisecond();
    Some(utc - offset_minutes * 60_000)
}

/// One THREAD response of a script, with what we answer.
struct Check {
    /// `script:line` of the THREAD command.
    location: String,
    /// Whether an expunge, or an append after an earlier THREAD, came before it.
    after_changes: bool,
    expected: String,
    actual: String,
}

/// Replays a script over its mbox: every `THREAD REFERENCES` response it states, or why
/// the script is left out.
fn replay(script: &Path, mbox: &[ThreadMessage]) -> Result<Vec<Check>, String> {
    let text = String::from_utf8(read(script)).unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    let lines: Vec<&str> = text.lines().collect();
    let at = |i: usize| format!("{}:{}", script.display(), i + 1);
    // The mailbox holds indices into the mbox; a message's sequence number is its place.
    let mut mailbox: Vec<usize> = Vec::new();
    let mut next_append = 0;
    let mut deleted: Vec<u32> = Vec::new();
    let mut changed = false;
    let mut checks = Vec::new();
    let mut i = 0;
    // Header: "capabilities: …", "messages: all" or "state: created", up to a blank line.
    while i < lines.len() && !lines[i].trim().is_empty() {
        let (key, value) = lines[i].split_once(':').unwrap_or_else(|| panic!("{}: not a header", at(i)));
        match (key.trim(), value.trim()) {
            ("capabilities", caps) if !caps.split_whitespace().any(|c| c.eq_ignore_ascii_case("THREAD=REFERENCES")) => {
                return Err(format!("needs {caps}, not THREAD=REFERENCES"));
            }
            ("capabilities", _) | ("state", "created") => {}
            ("messages", "all") => {
                mailbox = (0..mbox.len()).collect();
                next_append = mbox.len();
            }
            _ => panic!("{}: unknown header {:?}", at(i), lines[i]),
        }
        i += 1;
    }
    while i < lines.len() {
        let line = lines[i].trim();
        let words: Vec<String> = line.split_whitespace().map(str::to_ascii_lowercase).collect();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        match words.as_slice() {
            [] => {}
            ["ok", "select", _] => {}
            ["ok", "append"] => {
                assert!(next_append < mbox.len(), "{}: no message left in the mbox to append", at(i));
                mailbox.push(next_append);
                next_append += 1;
                // Appends that fill a new mailbox before any THREAD are its starting state.
                changed |= !checks.is_empty();
            }
            ["ok", "store", set, "+flags", "\\deleted"] => deleted.extend(sequence_set(set)),
            ["ok", "expunge"] => {
                let mut seq = 0;
                mailbox.retain(|_| {
                    seq += 1;
                    !deleted.contains(&seq)
                });
                deleted.clear();
                changed = true;
            }
            ["ok", "thread", "references", "us-ascii", "all"] => {
                let response = lines.get(i + 1).map(|l| l.trim()).unwrap_or_default();
                let expected = response
                    .get(..9)
                    .filter(|head| head.eq_ignore_ascii_case("* thread "))
                    .map(|_| response[9..].trim().to_owned())
                    .unwrap_or_else(|| panic!("{}: THREAD without a `* THREAD` response after it", at(i)));
                let messages: Vec<ThreadMessage> = mailbox
                    .iter()
                    .enumerate()
                    .map(|(place, &m)| ThreadMessage { seq: place as u32 + 1, ..mbox[m].clone() })
                    .collect();
                let actual = render_threads(&thread_references(&messages));
                checks.push(Check { location: at(i), after_changes: changed, expected, actual });
                i += 1;
            }
            _ => panic!("{}: unknown script line {line:?}", at(i)),
        }
        i += 1;
    }
    if checks.is_empty() {
        return Err("states no THREAD REFERENCES response".to_owned());
    }
    Ok(checks)
}

/// An IMAP sequence set of numbers and ranges: `1`, `1,2`, `2:4`.
fn sequence_set(set: &str) -> Vec<u32> {
    let number = |n: &str| n.parse::<u32>().unwrap_or_else(|e| panic!("sequence set {set:?}: {e}"));
    set.split(',')
        .flat_map(|part| match part.split_once(':') {
            Some((a, b)) => (number(a)..=number(b)).collect::<Vec<_>>(),
            None => vec![number(part)],
        })
        .collect()
}

/// Every `thread*.mbox` with its script's checks, and the scripts left out with why.
fn all_checks() -> (Vec<(String, Vec<Check>)>, Vec<String>) {
    let dir = imaptest_dir();
    let mut mboxes: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "mbox"))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("thread")))
        .collect();
    mboxes.sort();
    let (mut checked, mut left_out) = (Vec::new(), Vec::new());
    for mbox in mboxes {
        let script = mbox.with_extension("");
        let name = script.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if !script.is_file() {
            left_out.push(format!("{name}: no script beside {}", mbox.display()));
            continue;
        }
        match replay(&script, &load_mbox(&mbox)) {
            Ok(checks) => checked.push((name, checks)),
            Err(why) => left_out.push(format!("{name}: {why}")),
        }
    }
    eprintln!("checked: {:?}", checked.iter().map(|(n, _)| n).collect::<Vec<_>>());
    eprintln!("left out: {left_out:?}");
    assert!(checked.len() >= 8, "only {} THREAD REFERENCES scripts in {}", checked.len(), dir.display());
    for why in &left_out {
        assert!(why.contains("ORDEREDSUBJECT"), "a thread script was left out for an unexpected reason: {why}");
    }
    (checked, left_out)
}

fn assert_checks<'a>(checks: impl IntoIterator<Item = &'a Check>) -> usize {
    let mut failures = Vec::new();
    let mut count = 0;
    for c in checks {
        count += 1;
        if c.actual != c.expected {
            failures.push(format!("{}: expected {}, got {}", c.location, c.expected, c.actual));
        } else {
            eprintln!("{}: {}", c.location, c.actual);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    count
}

/// The first THREAD REFERENCES response of every script (before any expunge, over every
/// message the script has put in the mailbox: all of the mbox for `messages: all`) is
/// exactly what Dovecot answers.
#[test]
fn first_thread_responses_match_imaptest() {
    let (checked, _) = all_checks();
    let firsts: Vec<&Check> = checked.iter().filter_map(|(_, checks)| checks.first()).collect();
    assert!(firsts.iter().all(|c| !c.after_changes), "a script appends or expunges before its first THREAD");
    assert_eq!(assert_checks(firsts), checked.len());
}

/// After expunges (which renumber the messages left) and later appends, every further
/// THREAD REFERENCES response the scripts state is exactly what Dovecot answers.
#[test]
fn thread_responses_after_expunge_and_append_match_imaptest() {
    let (checked, _) = all_checks();
    let later: Vec<&Check> = checked.iter().flat_map(|(_, checks)| checks.iter().skip(1)).collect();
    assert!(later.iter().all(|c| c.after_changes));
    let count = assert_checks(later);
    assert!(count >= 6, "only {count} THREAD responses after changes");
}

/// The mbox `From ` line date, local or with an offset, is what orders messages without
/// a Date header.
#[test]
fn from_line_dates_parse() {
    let a = from_line_date("From user@domain  Fri Feb 22 17:06:23 2008").expect("date");
    assert_eq!(a, 1_203_699_983_000); // 2008-02-22T17:06:23Z
    let b = from_line_date("From user@domain  Fri Feb 22 19:06:23 2008 +0200").expect("date");
    assert_eq!(a, b);
    assert_eq!(from_line_date("From user@domain"), None);
}
