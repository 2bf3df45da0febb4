//! `shopdesk import mail` on hostile input (issue 3, "Bad input"): garbage bytes, truncated
//! mbox files, a 50 MB attachment, a message with 10,000 References, header injection in
//! names. Every input is generated at run time into a temp dir. What must hold: imported as
//! far as possible, a clear note per bad message naming where it came from, no panic, no
//! loss of the other messages.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// No import here may take longer than this; a hang fails the test instead of the run.
const DEADLINE: Duration = Duration::from_secs(300);

/// What one run of the binary gave.
struct Run {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
    /// Peak RSS in KiB, when run under `/usr/bin/time`.
    peak_rss_kib: Option<u64>,
}

/// Runs `shopdesk --db DB ARGS` (under `/usr/bin/time -f %M` when `measure` and it exists),
/// killed and failed after [`DEADLINE`]. Output goes to files, so a big report cannot
/// block the child on a full pipe.
fn run(db: &Path, args: &[&str], measure: bool) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let (out_path, err_path, rss_path) = (dir.path().join("out"), dir.path().join("err"), dir.path().join("rss"));
    let time = Path::new("/usr/bin/time");
    let mut command = if measure && time.is_file() {
        let mut c = Command::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&rss_path).arg(env!("CARGO_BIN_EXE_shopdesk"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_shopdesk"))
    };
    command.arg("--db").arg(db).args(args).stdin(Stdio::null());
    command.stdout(std::fs::File::create(&out_path).expect("stdout file"));
    command.stderr(std::fs::File::create(&err_path).expect("stderr file"));
    let started = Instant::now();
    let mut child = command.spawn().expect("spawn shopdesk");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} still running after {DEADLINE:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let peak_rss_kib = std::fs::read_to_string(&rss_path).ok().and_then(|s| s.lines().last()?.trim().parse().ok());
    Run {
        status,
        stdout: std::fs::read(&out_path).expect("stdout"),
        stderr: String::from_utf8_lossy(&std::fs::read(&err_path).expect("stderr")).into_owned(),
        elapsed,
        peak_rss_kib,
    }
}

/// Runs a command that must succeed and print JSON, and never panic.
fn json(db: &Path, args: &[&str]) -> Value {
    parse_ok(run(db, args, false), args)
}

fn parse_ok(r: Run, args: &[&str]) -> Value {
    assert!(!r.stderr.contains("panicked"), "{args:?} panicked: {}", r.stderr);
    assert!(r.status.success(), "{args:?}: {} {}", r.status, r.stderr);
    serde_json::from_slice(&r.stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", String::from_utf8_lossy(&r.stdout)))
}

fn import(db: &Path, path: &Path) -> Value {
    json(db, &["import", "mail", path.to_str().expect("utf-8 path"), "--json"])
}

fn count(report: &Value, field: &str) -> u64 {
    report[field].as_u64().unwrap_or_else(|| panic!("{field} in {report}"))
}

fn problems(report: &Value) -> Vec<(String, String)> {
    report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| (p["location"].as_str().expect("location").to_owned(), p["message"].as_str().expect("message").to_owned()))
        .collect()
}

fn stored_messages(db: &Path) -> u64 {
    json(db, &["stats", "--json"])["messages"].as_u64().expect("message count")
}

/// Every stored message, with the id of its conversation, through `conversations` and
/// `messages`.
fn all_messages(db: &Path) -> Vec<Value> {
    let conversations = json(db, &["conversations", "--limit", "100000", "--json"]);
    let mut out = Vec::new();
    for c in conversations.as_array().expect("conversations") {
        let id = c["id"].as_i64().expect("id").to_string();
        out.extend(json(db, &["messages", &id, "--json"]).as_array().expect("messages").iter().cloned());
    }
    out
}

fn message_with_id<'a>(messages: &'a [Value], rfc_id: &str) -> Option<&'a Value> {
    messages.iter().find(|m| m["rfc_message_id"].as_str() == Some(rfc_id))
}

/// A character a name must not carry: C0/C1 controls (CR, LF, TAB, NUL, ...) and the
/// stateful bidi controls (embeddings, overrides, isolates), which can flip the text
/// around the name. The stateless marks (LRM, RLM, ALM) are fine.
fn forbidden_in_name(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// No customer name, identity display or message author holds a forbidden character.
fn assert_names_clean(db: &Path) {
    let customers = json(db, &["customers", "--json"]);
    for c in customers.as_array().expect("customers") {
        let name = c["name"].as_str().expect("name");
        assert!(!name.chars().any(forbidden_in_name), "customer name {name:?}");
        for identity in c["identities"].as_array().expect("identities") {
            for field in ["value", "display"] {
                let text = identity[field].as_str().unwrap_or_default();
                assert!(!text.chars().any(forbidden_in_name), "identity {field} {text:?}");
            }
        }
    }
    for m in all_messages(db) {
        let author = m["author"].as_str().unwrap_or_default();
        assert!(!author.chars().any(forbidden_in_name), "author {author:?}");
    }
}

/// A small deterministic generator (xorshift64*): the same bytes on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// Base64 with CRLF line breaks every 76 characters, as mailers write it.
fn base64_lines(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(data.len() / 3 * 4 * 78 / 76 + 8);
    for (i, chunk) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.extend_from_slice(b"\r\n");
        }
        let n = (u32::from(chunk[0]) << 16) | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8) | u32::from(*chunk.get(2).unwrap_or(&0));
        out.push(ALPHABET[(n >> 18) as usize & 63]);
        out.push(ALPHABET[(n >> 12) as usize & 63]);
        out.push(if chunk.len() > 1 { ALPHABET[(n >> 6) as usize & 63] } else { b'=' });
        out.push(if chunk.len() > 2 { ALPHABET[n as usize & 63] } else { b'=' });
    }
    out.extend_from_slice(b"\r\n");
    String::from_utf8(out).expect("ascii")
}

/// SHA-256 (FIPS 180-4), lower-case hex; here so the test checks the store's file names
/// without trusting the store's own hashing.
fn sha256_hex(data: &[u8]) -> String {
    const K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];
    let mut h: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut compress = |block: &[u8]| {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            (hh, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    };
    let full = data.len() / 64 * 64;
    for block in data[..full].chunks_exact(64) {
        compress(block);
    }
    let mut tail = data[full..].to_vec();
    tail.push(0x80);
    while tail.len() % 64 != 56 {
        tail.push(0);
    }
    tail.extend_from_slice(&((data.len() as u64) * 8).to_be_bytes());
    for block in tail.chunks_exact(64) {
        compress(block);
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

/// A plain, well-formed message.
fn good_eml(id: &str, from: &str, subject: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: hello@shop.test\r\nSubject: {subject}\r\nDate: Mon, 16 Nov 2026 10:00:00 +0200\r\n\
         Message-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

/// A folder of .eml files where some are garbage (seeded random bytes, empty, all NUL,
/// headers without a body, invalid UTF-8 in headers, one byte) among good ones:
/// - the import exits 0 and reports no panic;
/// - every good message is stored, with its body, and no problem names a good file;
/// - every bad file is named by at least one problem (imported with a note, or not
///   imported and reported), and every problem names one of the bad files;
/// - `imported` equals what the store holds; re-importing adds nothing
///   (duplicates = everything imported the first time);
/// - no stored name carries control characters.
#[test]
fn garbage_files_among_good_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).expect("mkdir");
    let db = dir.path().join("g.db");
    let good = [
        ("a_good.eml", "g1@good.test", "Ann Lee <ann@good.test>", "Order 1", "Where is order 1?"),
        ("m_good.eml", "g2@good.test", "Ben Roe <ben@good.test>", "Order 2", "Where is order 2?"),
        ("z_good.eml", "g3@good.test", "Cat Poe <cat@good.test>", "Order 3", "Where is order 3?"),
    ];
    for (file, id, from, subject, body) in good {
        std::fs::write(mail.join(file), good_eml(id, from, subject, body)).expect("write");
    }
    let mut invalid_utf8 = b"From: \"\xc5\x81ukasz \xff\xfe\" <lukasz@bad.test>\r\nSubject: Zam\xf3wienie \xff\r\n".to_vec();
    invalid_utf8.extend_from_slice(b"Date: Mon, 16 Nov 2026 11:00:00 +0200\r\nMessage-ID: <u8@bad.test>\r\n\r\nbody\r\n");
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("b_random.eml", Rng(0x5EED_0001).bytes(4096)),
        ("c_empty.eml", Vec::new()),
        ("d_nul.eml", vec![0; 4096]),
        (
            "e_headers_only.eml",
            b"From: Hal <hal@bad.test>\r\nSubject: Headers only\r\nMessage-ID: <h@bad.test>\r\nDate: Mon, 16 Nov 2026 12:00:00 +0200\r\n".to_vec(),
        ),
        ("f_invalid_utf8.eml", invalid_utf8),
        ("g_one_byte.eml", b"x".to_vec()),
    ];
    for (file, bytes) in &bad {
        std::fs::write(mail.join(file), bytes).expect("write");
    }

    let first = import(&db, &mail);
    let found = problems(&first);
    for (location, message) in &found {
        assert!(
            bad.iter().any(|(file, _)| location == &mail.join(file).display().to_string()),
            "problem not at a bad file: {location}: {message}"
        );
    }
    for (file, _) in &bad {
        let path = mail.join(file).display().to_string();
        assert!(found.iter().any(|(l, _)| *l == path), "{file}: neither imported with a note nor reported: {first}");
    }
    let imported = count(&first, "imported");
    assert_eq!(imported, stored_messages(&db), "{first}");
    assert!(imported >= good.len() as u64, "{first}");
    let messages = all_messages(&db);
    for (file, id, _, _, body) in good {
        let m = message_with_id(&messages, id).unwrap_or_else(|| panic!("{file} lost: {first}"));
        assert_eq!(m["body_text"].as_str().map(str::trim_end), Some(body), "{file}");
    }
    println!("garbage folder: {first}");

    let again = import(&db, &mail);
    assert_eq!((count(&again, "imported"), count(&again, "duplicates")), (0, imported), "{again}");
    assert_eq!(stored_messages(&db), imported);
    assert_names_clean(&db);
}

/// The 1-based line of the last `From ` separator in `mbox` (where a cut message is located).
fn last_separator_line(mbox: &str) -> usize {
    let lines: Vec<&str> = mbox.split('\n').collect();
    (0..lines.len()).rev().find(|&i| lines[i].starts_with("From ") && (i == 0 || lines[i - 1].is_empty())).expect("separator") + 1
}

/// mbox files cut short: in the middle of the last message's headers, and in the middle
/// of the last message's base64 attachment (mid-line, and at a line end so the base64
/// still decodes; no closing boundary either way). Each file into its own database:
/// - the earlier messages of each are stored intact (body as written);
/// - the cut message is named by a problem at `file:line` of its separator, and if it
///   was stored, what could be read of it is there (its text part before the cut);
/// - exit status 0, no panic.
#[test]
fn truncated_mbox_keeps_earlier_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    let message = |n: u32, host: &str| {
        format!(
            "From {host}@trunc.test Mon Nov 16 10:00:0{n} 2026\nFrom: Sender {n} <s{n}@{host}.test>\nTo: hello@shop.test\n\
             Subject: Order {n}\nDate: Mon, 16 Nov 2026 10:00:0{n} +0200\nMessage-ID: <{host}{n}@trunc.test>\n\n\
             Message {n} of {host}.\n\n"
        )
    };

    // Cut in the middle of the last message's headers.
    let mut headers_cut: String = (1..=3).map(|n| message(n, "hdr")).collect();
    headers_cut.push_str(
        "From cut@trunc.test Mon Nov 16 10:00:09 2026\nFrom: Cut Short <cut@hdr.test>\nTo: hello@shop.test\n\
         Subject: Order 9\nMessage-ID: <hdr9@trunc.test>\nDate: Mon, 16 Nov 20",
    );
    // Cut in the middle of a base64 line of the last message's attachment, and (a
    // second file) at the end of one of its lines, so the base64 itself is whole.
    let attachment = base64_lines(&Rng(0x5EED_0002).bytes(6000)).replace("\r\n", "\n");
    let cut_mid_line = attachment.len() / 2 + 7;
    let cut_line_end = attachment[..attachment.len() / 2].rfind('\n').expect("line") + 1;
    let body_cut = |cut: usize| {
        let mut mbox: String = (1..=2).map(|n| message(n, "b64")).collect();
        mbox.push_str(&format!(
        "From cut@trunc.test Mon Nov 16 10:00:09 2026\nFrom: Cut Body <cut@b64.test>\nTo: hello@shop.test\n\
         Subject: Photos\nDate: Mon, 16 Nov 2026 10:00:09 +0200\nMessage-ID: <b649@trunc.test>\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"cut-here\"\n\n--cut-here\nContent-Type: text/plain; charset=utf-8\n\n\
         The photos are attached.\n--cut-here\nContent-Type: image/jpeg; name=\"photo.jpg\"\n\
         Content-Disposition: attachment; filename=\"photo.jpg\"\nContent-Transfer-Encoding: base64\n\n{}",
            &attachment[..cut]
        ));
        mbox
    };

    for (name, mbox, complete, cut_id, cut_text) in [
        ("headers.mbox", &headers_cut, 3, "hdr9@trunc.test", None),
        ("body_mid_line.mbox", &body_cut(cut_mid_line), 2, "b649@trunc.test", Some("The photos are attached.")),
        ("body_line_end.mbox", &body_cut(cut_line_end), 2, "b649@trunc.test", Some("The photos are attached.")),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, mbox).expect("write");
        let db = dir.path().join(format!("{name}.db"));
        let report = import(&db, &path);
        println!("{name}: {report}");
        let messages = all_messages(&db);
        let host = &cut_id[..3];
        for n in 1..=complete {
            let m = message_with_id(&messages, &format!("{host}{n}@trunc.test"))
                .unwrap_or_else(|| panic!("{name}: message {n} lost: {report}"));
            assert_eq!(m["body_text"].as_str().map(str::trim_end), Some(format!("Message {n} of {host}.").as_str()), "{name}");
        }
        let cut_location = format!("{}:{}", path.display(), last_separator_line(mbox));
        let found = problems(&report);
        assert!(found.iter().any(|(l, _)| *l == cut_location), "{name}: no problem at {cut_location}: {report}");
        for (location, message) in &found {
            assert_eq!(location, &cut_location, "{name}: only the cut message has problems: {message}");
        }
        if let Some(m) = message_with_id(&messages, cut_id)
            && let Some(text) = cut_text
        {
            assert!(m["body_text"].as_str().is_some_and(|b| b.contains(text)), "{name}: readable part kept: {m}");
        }
    }
}

/// A message with a 50 MB attachment (base64, generated) beside a small message:
/// - both are imported;
/// - the attachment is one file under `<db dir>/attachments/<first 2 hex>/<sha256>` with
///   exactly the attachment's bytes (size and SHA-256 computed here), and its
///   `attachments` row has that size and hash;
/// - peak RSS of the import, measured with `/usr/bin/time -f %M` when it exists (else
///   skipped with a note), stays under 10x the attachment size.
#[test]
fn fifty_megabyte_attachment() {
    const SIZE: usize = 50 << 20;
    assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let dir = tempfile::tempdir().expect("tempdir");
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).expect("mkdir");
    let db = dir.path().join("big.db");
    let data = Rng(0x5EED_0003).bytes(SIZE);
    let sha = sha256_hex(&data);
    let mut eml = String::from(
        "From: Big Sender <big@att.test>\r\nTo: hello@shop.test\r\nSubject: Catalogue scans\r\n\
         Date: Mon, 16 Nov 2026 10:00:00 +0200\r\nMessage-ID: <big@att.test>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b0undary\"\r\n\r\n--b0undary\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nScans attached.\r\n--b0undary\r\n\
         Content-Type: application/octet-stream; name=\"scans.bin\"\r\n\
         Content-Disposition: attachment; filename=\"scans.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    );
    eml.push_str(&base64_lines(&data));
    eml.push_str("--b0undary--\r\n");
    std::fs::write(mail.join("big.eml"), &eml).expect("write");
    drop(eml);
    std::fs::write(mail.join("small.eml"), good_eml("small@att.test", "Sam <sam@att.test>", "Hi", "Small one.")).expect("write");

    let args = ["import", "mail", mail.to_str().expect("utf-8 path"), "--json"];
    let r = run(&db, &args, true);
    let (elapsed, rss) = (r.elapsed, r.peak_rss_kib);
    let report = parse_ok(r, &args);
    println!("50 MB attachment: import took {elapsed:?}: {report}");
    assert_eq!(count(&report, "imported"), 2, "{report}");
    assert!(problems(&report).is_empty(), "{report}");

    let stored = dir.path().join("attachments").join(&sha[..2]).join(&sha);
    let bytes = std::fs::read(&stored).unwrap_or_else(|e| panic!("{}: {e}", stored.display()));
    assert_eq!(bytes.len(), SIZE);
    assert!(bytes == data, "stored attachment differs from the original");
    drop(bytes);
    let conn = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open");
    let row: (String, i64, String) = conn
        .query_row("SELECT filename, size, sha256 FROM attachments", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("one attachment row");
    assert_eq!(row, ("scans.bin".to_owned(), SIZE as i64, sha));

    match rss {
        Some(kib) => {
            println!("50 MB attachment: peak RSS {} MiB", kib / 1024);
            assert!(kib * 1024 < 10 * SIZE as u64, "peak RSS {kib} KiB for a {SIZE}-byte attachment");
        }
        None => println!("50 MB attachment: /usr/bin/time not available; peak RSS not measured"),
    }
}

/// A message with 10,000 References ids (the last one a message in the folder), two
/// messages that reference each other (a cycle) and one that references itself:
/// - the import of the folder finishes (well within the deadline; the time is printed),
///   exit 0, no panic;
/// - all four are imported; the cycle's two messages share one conversation, as does
///   the message whose References end in one of them;
/// - re-importing adds nothing.
#[test]
fn ten_thousand_references_and_a_cycle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).expect("mkdir");
    let db = dir.path().join("r.db");
    let with_refs = |id: &str, refs: &str, subject: &str, body: &str| {
        format!(
            "From: Rita Ref <rita@refs.test>\r\nTo: hello@shop.test\r\nSubject: {subject}\r\n\
             Date: Mon, 16 Nov 2026 10:00:00 +0200\r\nMessage-ID: <{id}>\r\nReferences: {refs}\r\n\
             In-Reply-To: {}\r\n\r\n{body}\r\n",
            refs.split_whitespace().last().unwrap_or_default()
        )
    };
    let mut refs: Vec<String> = (0..9_999).map(|i| format!("<r{i}@refs.test>")).collect();
    refs.push("<cycle-a@refs.test>".to_owned());
    std::fs::write(mail.join("many.eml"), with_refs("many@refs.test", &refs.join("\r\n "), "Long thread", "Many refs."))
        .expect("write");
    std::fs::write(mail.join("cycle_a.eml"), with_refs("cycle-a@refs.test", "<cycle-b@refs.test>", "Cycle A", "A."))
        .expect("write");
    std::fs::write(mail.join("cycle_b.eml"), with_refs("cycle-b@refs.test", "<cycle-a@refs.test>", "Cycle B", "B."))
        .expect("write");
    std::fs::write(mail.join("self.eml"), with_refs("self@refs.test", "<self@refs.test>", "Me", "Self.")).expect("write");

    let args = ["import", "mail", mail.to_str().expect("utf-8 path"), "--json"];
    let r = run(&db, &args, false);
    let elapsed = r.elapsed;
    let report = parse_ok(r, &args);
    println!("10,000 References + cycle: import took {elapsed:?}: {report}");
    assert_eq!(count(&report, "imported"), 4, "{report}");
    let messages = all_messages(&db);
    let conversation = |id: &str| message_with_id(&messages, id).unwrap_or_else(|| panic!("{id} lost"))["conversation_id"].clone();
    assert_eq!(conversation("cycle-a@refs.test"), conversation("cycle-b@refs.test"));
    assert_eq!(conversation("many@refs.test"), conversation("cycle-a@refs.test"));
    conversation("self@refs.test");

    let again = import(&db, &mail);
    assert_eq!((count(&again, "imported"), count(&again, "duplicates")), (0, 4), "{again}");
}

/// From display names built to inject: CR/LF (raw, bare CR, and in an encoded word that
/// decodes to "\r\nBcc: x@y"), other C0 controls, `<script>`, an RTL override U+202E,
/// and a 100 KB name:
/// - every message is imported, exit 0, no panic;
/// - no customer name, identity or author holds CR, LF or another control character
///   (nor a bidi embedding/override/isolate), checked via `customers --json` and
///   `messages --json`;
/// - no extra header appears: no address x@y anywhere (identity, To, Cc);
/// - an HTML-looking name is stored as the text it is (the UI escapes it on display);
///   the visible letters of every name survive.
#[test]
fn header_injection_in_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).expect("mkdir");
    let db = dir.path().join("n.db");
    let b64 = |s: &str| base64_lines(s.as_bytes()).trim_end().to_owned();
    let long_name = "Long ".repeat(20 * 1024);
    let cases: Vec<(&str, String, &str)> = vec![
        // (file, From header value, the name's visible text that must survive)
        ("raw_crlf.eml", "\"Raw\r\nBcc: x@y\" <raw@inj.test>".to_owned(), ""),
        ("bare_cr.eml", "\"Bare\rCR\" <cr@inj.test>".to_owned(), "Bare"),
        ("encoded_b.eml", format!("=?UTF-8?B?{}?= <encb@inj.test>", b64("Evil\r\nBcc: x@y")), "Evil"),
        ("encoded_q.eml", "=?UTF-8?Q?Q_Evil=0D=0ABcc:_x@y?= <encq@inj.test>".to_owned(), "Q Evil"),
        ("controls.eml", "=?UTF-8?Q?Bell=07Tab=09Nul=00Del=7FEnd?= <ctl@inj.test>".to_owned(), "Bell"),
        ("script.eml", "\"<script>alert(1)</script>\" <script@inj.test>".to_owned(), "<script>alert(1)</script>"),
        ("rtl.eml", "=?UTF-8?Q?Dana_=E2=80=AEgnp.exe?= <rtl@inj.test>".to_owned(), "gnp.exe"),
        ("long.eml", format!("\"{long_name}\" <long@inj.test>"), "Long Long"),
    ];
    for (i, (file, from, _)) in cases.iter().enumerate() {
        let eml = format!(
            "From: {from}\r\nTo: hello@shop.test\r\nSubject: Case {i}\r\nDate: Mon, 16 Nov 2026 10:00:0{i} +0200\r\n\
             Message-ID: <case{i}@inj.test>\r\n\r\nBody {i}.\r\n"
        );
        std::fs::write(mail.join(file), eml).expect("write");
    }

    let report = import(&db, &mail);
    let shown: String = report.to_string().chars().take(2000).collect();
    println!("names: {shown}");
    assert_eq!(count(&report, "imported"), cases.len() as u64, "{shown}");
    assert_names_clean(&db);

    let customers = json(&db, &["customers", "--json"]);
    let customers = customers.as_array().expect("customers");
    for c in customers {
        println!("names: customer {:?}", c["name"].as_str().map(|n| n.chars().take(60).collect::<String>()));
    }
    let name_of = |email: &str| {
        customers
            .iter()
            .find(|c| c["identities"].as_array().is_some_and(|ids| ids.iter().any(|i| i["value"] == email)))
            .and_then(|c| c["name"].as_str())
            .map(str::to_owned)
    };
    for c in customers {
        for identity in c["identities"].as_array().expect("identities") {
            assert_ne!(identity["value"], "x@y", "injected address became a customer: {c}");
        }
    }
    let conn = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open");
    let leaked: i64 = conn
        .query_row(
            "SELECT count(*) FROM email_headers WHERE to_addrs LIKE '%x@y%' OR cc_addrs LIKE '%x@y%' OR reply_to LIKE '%x@y%'",
            [],
            |r| r.get(0),
        )
        .expect("query");
    assert_eq!(leaked, 0, "an injected header became a recipient");

    let messages = all_messages(&db);
    for (i, (file, _, visible)) in cases.iter().enumerate() {
        let m = message_with_id(&messages, &format!("case{i}@inj.test")).unwrap_or_else(|| panic!("{file} lost"));
        let author = m["author"].as_str().unwrap_or_default();
        assert!(author.contains(visible), "{file}: author {:?} lost {visible:?}", author.chars().take(80).collect::<String>());
    }
    assert_eq!(name_of("script@inj.test").as_deref(), Some("<script>alert(1)</script>"), "stored as text, not escaped");
    let rtl = name_of("rtl@inj.test").expect("rtl customer");
    assert!(rtl.starts_with("Dana") && rtl.ends_with("gnp.exe"), "{rtl:?}");
    let long = name_of("long@inj.test").expect("long customer");
    assert!(long_name.trim().starts_with(&long), "a long name is kept (or cut), not altered");
}
