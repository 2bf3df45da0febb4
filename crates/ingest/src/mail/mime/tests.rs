use super::*;
use std::time::{Duration, Instant};

const REPLY_TEXT: &str = "From: =?UTF-8?B?15PXoNeUINec15XXmQ==?= <Dana@Example.test>\r\n\
To: Shop <hello@shop.test>, undisclosed-recipients:;\r\n\
Cc: Team: Avi <avi@shop.test>, Noa <noa@shop.test>;, Just A Name\r\n\
Reply-To: <dana.levi@example.test>\r\n\
Subject: =?UTF-8?Q?Re:_=D7=94=D7=94=D7=96=D7=9E=D7=A0=D7=94?=\r\n\
Date: Mon, 16 Nov 2026 10:30:00 +0200\r\n\
Message-ID: <reply-1@example.test>\r\n\
In-Reply-To: <orig-1@shop.test>\r\n\
References: <root@shop.test>\r\n <orig-1@shop.test>\r\n\
Thread-Index: AdK1bcdef0123456789\r\n ABCDEF==\r\n\
Content-Type: multipart/alternative; boundary=b\r\n\
\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nשלום, איפה ההזמנה?\r\n\
--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>שלום</p><img src=\"http://t.example/p.gif\"><script>x()</script>\r\n\
--b--\r\n";
const REPLY: &[u8] = REPLY_TEXT.as_bytes();

fn took(started: Instant, limit: Duration, what: &str) {
    let elapsed = started.elapsed();
    assert!(elapsed < limit, "{what} took {elapsed:?} (limit {limit:?})");
}

/// Headers: RFC 2047 words decoded, ids without brackets (references oldest first),
/// UTC date, groups flattened and name-only entries skipped, Thread-Index unfolded;
/// text preferred over HTML, HTML sanitised.
#[test]
fn parses_a_reply() {
    let p = parse_email(REPLY);
    assert_eq!(p.message_id.as_deref(), Some("reply-1@example.test"));
    assert_eq!(p.in_reply_to, vec!["orig-1@shop.test"]);
    assert_eq!(p.references, vec!["root@shop.test", "orig-1@shop.test"]);
    assert_eq!(p.thread_index.as_deref(), Some("AdK1bcdef0123456789ABCDEF=="));
    assert_eq!(p.subject.as_deref(), Some("Re: ההזמנה"));
    assert_eq!(p.from, vec![Address { name: Some("דנה לוי".into()), email: "Dana@Example.test".into() }]);
    assert_eq!(p.to, vec![Address { name: Some("Shop".into()), email: "hello@shop.test".into() }]);
    let cc: Vec<&str> = p.cc.iter().map(|a| a.email.as_str()).collect();
    assert_eq!(cc, ["avi@shop.test", "noa@shop.test"]);
    assert_eq!(p.reply_to, vec![Address { name: None, email: "dana.levi@example.test".into() }]);
    assert_eq!(p.date, Some(1_794_817_800_000));
    assert_eq!(p.text.trim(), "שלום, איפה ההזמנה?");
    let html = p.html.expect("html");
    assert!(!html.contains("script") && html.contains(r#"data-remote-src="http://t.example/p.gif""#), "{html}");
    assert!(p.problems.is_empty(), "{:?}", p.problems);
}

/// Copies of one message share a key even when transport headers and line endings
/// differ; a different message reusing the Message-ID does not; no Message-ID gives "-".
#[test]
fn source_key_identifies_content_not_transport() {
    let key = source_key(&parse_email(REPLY));
    assert!(key.starts_with("email:reply-1@example.test:"), "{key}");
    assert_eq!(key.rsplit(':').next().map(str::len), Some(16), "{key}");

    let copy = [b"Received: from mx2\r\nDelivered-To: orders@shop.test\r\n".as_slice(), REPLY].concat();
    assert_eq!(source_key(&parse_email(&copy)), key);
    let lf = REPLY_TEXT.replace("\r\n", "\n");
    assert_eq!(source_key(&parse_email(lf.as_bytes())), key, "LF copy");

    let other_text = REPLY_TEXT.replace("איפה ההזמנה", "תודה רבה");
    assert_ne!(source_key(&parse_email(other_text.as_bytes())), key);
    let other_date = REPLY_TEXT.replace("10:30:00", "10:31:00");
    assert_ne!(source_key(&parse_email(other_date.as_bytes())), key);
    let other_sender = REPLY_TEXT.replace("Dana@Example.test", "someone@else.test");
    assert_ne!(source_key(&parse_email(other_sender.as_bytes())), key);

    let no_id = REPLY_TEXT.replace("Message-ID: <reply-1@example.test>\r\n", "Message-ID: <>\r\n");
    let p = parse_email(no_id.as_bytes());
    assert_eq!(p.message_id, None);
    assert!(source_key(&p).starts_with("email:-:"), "{}", source_key(&p));
}

/// A message/rfc822 part is one .eml attachment holding exactly the forwarded message;
/// images with a Content-ID are inline; RFC 2231 file names are decoded.
#[test]
fn attachments_are_kept_whole() {
    let raw = "From: a@shop.test\r\nSubject: Fwd: order\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n\
--o\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n\
--o\r\nContent-Type: image/png\r\nContent-ID: <logo@shop>\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n\
--o\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''%D7%97%D7%A9%D7%91%D7%95%D7%A0%D7%99%D7%AA.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n\
--o\r\nContent-Type: message/rfc822\r\n\r\nFrom: dana@example.test\r\nSubject: Where is order 1042?\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\nContent-Type: text/plain\r\n\r\ninner text\r\n--i\r\nContent-Type: image/gif; name=inner.gif\r\n\r\nGIF89a\r\n--i--\r\n\
--o--\r\n";
    let p = parse_email(raw.as_bytes());
    assert_eq!(p.text.trim(), "See below.");
    let summary: Vec<(Option<&str>, &str, bool, Option<&str>)> = p
        .attachments
        .iter()
        .map(|a| (a.filename.as_deref(), a.mime_type.as_str(), a.inline, a.content_id.as_deref()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (None, "image/png", true, Some("logo@shop")),
            (Some("חשבונית.pdf"), "application/pdf", false, None),
            (Some("Where is order 1042_.eml"), "message/rfc822", false, None),
        ]
    );
    assert_eq!(p.attachments[0].data, b"\x89PNG\r\n\x1a\n");
    assert_eq!(p.attachments[1].data, b"%PDF-1.4\n");
    let inner = parse_email(&p.attachments[2].data);
    assert_eq!(inner.subject.as_deref(), Some("Where is order 1042?"));
    assert_eq!(inner.text.trim(), "inner text");
    assert_eq!(inner.attachments.len(), 1);
    assert!(
        !String::from_utf8_lossy(&p.attachments[2].data).contains("See below"),
        "outer message leaked into the .eml"
    );
}

/// An HTML-only message gets its text from the HTML; several text parts are joined with
/// a blank line.
#[test]
fn text_comes_from_html_or_all_text_parts() {
    let html_only =
        "Subject: h\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Order <b>1042</b> shipped</p><p>Thanks</p>\r\n";
    let p = parse_email(html_only.as_bytes());
    assert!(p.text.contains("Order 1042 shipped") && p.text.contains("Thanks"), "{:?}", p.text);
    assert!(p.html.as_deref().is_some_and(|h| h.contains("<b>1042</b>")), "{:?}", p.html);

    let two = "Subject: t\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--m\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--m--\r\n";
    let p = parse_email(two.as_bytes());
    assert_eq!(p.text.replace("\r\n", "\n").trim(), "first\n\nsecond");
    assert_eq!(p.html, None);
}

/// Bodies in a charset nobody knows still give their text, with a note; a known legacy
/// charset is decoded without one.
#[test]
fn charsets() {
    let unknown = b"Subject: c\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nHello plain ascii\r\n";
    let p = parse_email(unknown);
    assert_eq!(p.text.trim(), "Hello plain ascii");
    assert!(p.problems.iter().any(|m| m.contains("x-klingon")), "{:?}", p.problems);

    let hebrew = b"Subject: c\r\nContent-Type: text/plain; charset=windows-1255\r\n\r\n\xf9\xec\xe5\xed\r\n";
    let p = parse_email(hebrew);
    assert_eq!(p.text.trim(), "שלום");
    assert!(p.problems.is_empty(), "{:?}", p.problems);

    let bad_utf8 = b"Subject: c\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nok \xff\xfe ok\r\n";
    let p = parse_email(bad_utf8);
    assert!(p.text.contains("ok") && p.problems.iter().any(|m| m.contains("could not be decoded")), "{p:?}");
}

/// A message saved with its mbox `From ` line still has its first header read; the
/// obsolete `From :` header form is not mistaken for that line.
#[test]
fn mbox_separator_line_is_skipped() {
    let p =
        parse_email(b"From dana@example.test Mon Nov 16 10:00:00 2026\nFrom: dana@example.test\nSubject: s\n\nbody\n");
    assert_eq!(p.from.first().map(|a| a.email.as_str()), Some("dana@example.test"));
    assert_eq!(p.subject.as_deref(), Some("s"));
    let p = parse_email(b"From : dana@example.test\nSubject: s\n\nbody\n");
    assert_eq!(p.from.first().map(|a| a.email.as_str()), Some("dana@example.test"));
}

// Hostile input: none of these may panic, overflow the stack or take long, and each
// still yields a ParsedEmail.

/// Empty and blank input give an empty result with a note.
#[test]
fn hostile_empty() {
    for raw in [&b""[..], b"\r\n\r\n", b"\n"] {
        let p = parse_email(raw);
        assert!(p.text.trim().is_empty() && p.subject.is_none(), "{p:?}");
        assert!(!p.problems.is_empty(), "{raw:?} gave no note");
    }
}

/// 10 MB of random bytes parse in bounded time.
#[test]
fn hostile_garbage() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let garbage: Vec<u8> = (0..10 * 1024 * 1024)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect();
    let started = Instant::now();
    let p = parse_email(&garbage);
    took(started, Duration::from_secs(20), "10 MB of garbage");
    assert!(p.message_id.is_none());
    assert!(!p.problems.is_empty(), "garbage parsed without a note");
}

/// A header folded over 100,000 lines is read in linear time.
#[test]
fn hostile_long_folded_header() {
    let mut raw = b"From: a@example.test\r\nSubject: start".to_vec();
    for i in 0..100_000 {
        raw.extend_from_slice(format!("\r\n word{i}").as_bytes());
    }
    raw.extend_from_slice(b"\r\nX-Many: a".repeat(10_000).as_slice());
    raw.extend_from_slice(b"\r\n\r\nbody\r\n");
    let started = Instant::now();
    let p = parse_email(&raw);
    took(started, Duration::from_secs(1), "100k folded lines");
    let subject = p.subject.expect("subject");
    assert!(subject.starts_with("start word0 word1") && subject.ends_with("word99999"), "{}", &subject[..80]);
    assert_eq!(p.text.trim(), "body");
}

/// Raw 8-bit and invalid UTF-8 in headers give readable text, never a panic.
#[test]
fn hostile_invalid_utf8_headers() {
    let raw = b"From: \"M\xfcller \xff\xfe\" <mueller@example.test>\r\nSubject: Bestellung \xfc\xff\xc3\r\nMessage-ID: <\xff@x>\r\nX-Junk: \xc3\x28\xa0\xa1\r\n\r\nbody\r\n";
    let p = parse_email(raw);
    assert_eq!(p.from.first().map(|a| a.email.as_str()), Some("mueller@example.test"));
    assert_eq!(p.from.first().and_then(|a| a.name.as_deref()), Some("Müller ÿþ"));
    assert_eq!(p.subject.as_deref(), Some("Bestellung üÿÃ"));
    assert!(p.message_id.is_some());
    assert_eq!(p.text.trim(), "body");
}

/// Broken base64 keeps the part undecoded and says which part.
#[test]
fn hostile_broken_base64() {
    let raw = b"Subject: x\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\nreadable\r\n--z\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!not*base64%%%\r\n\xff\xfe\r\n--z--\r\n";
    let p = parse_email(raw);
    assert!(p.text.contains("readable"), "{:?}", p.text);
    assert_eq!(p.attachments.len(), 1, "the damaged file is kept as it was");
    assert_eq!(p.problems, [r#"part 3 (application/pdf, "a.pdf"): its base64 encoding is damaged; kept undecoded"#]);
}

/// Multipart nested 200 (and 20,000) levels deep, and message/rfc822 nested 200 levels,
/// do not overflow the stack.
#[test]
fn hostile_deep_nesting() {
    for depth in [200, 20_000] {
        let mut raw = String::from("Subject: deep\r\n");
        for level in 0..depth {
            raw.push_str(&format!("Content-Type: multipart/mixed; boundary=b{level}\r\n\r\n--b{level}\r\n"));
        }
        raw.push_str("Content-Type: text/plain\r\n\r\nthe bottom\r\n");
        for level in (0..depth).rev() {
            raw.push_str(&format!("--b{level}--\r\n"));
        }
        let started = Instant::now();
        let p = parse_email(raw.as_bytes());
        took(started, Duration::from_secs(10), "deep multipart");
        assert_eq!(p.subject.as_deref(), Some("deep"));
        assert!(p.text.contains("the bottom"), "depth {depth}: {:?}", &p.text[..p.text.len().min(200)]);
    }

    let mut raw = String::new();
    for level in 0..200 {
        raw.push_str(&format!("Subject: level {level}\r\nContent-Type: message/rfc822\r\n\r\n"));
    }
    raw.push_str("Subject: bottom\r\n\r\nthe bottom\r\n");
    let p = parse_email(raw.as_bytes());
    assert_eq!(p.subject.as_deref(), Some("level 0"));
    assert_eq!(p.attachments.len(), 1);
    assert_eq!(parse_email(&p.attachments[0].data).subject.as_deref(), Some("level 1"));
}

/// Without the blank line after the headers the body is kept from the first line that
/// is not a header, with a note; a file with no headers at all is kept whole as text.
#[test]
fn hostile_no_blank_line_after_headers() {
    let p = parse_email(
        b"From: a@example.test\r\nSubject: no gap\r\nThis is the body, no blank line before it.\r\nSecond line.\r\n",
    );
    assert_eq!(p.subject.as_deref(), Some("no gap"));
    assert_eq!(p.text, "This is the body, no blank line before it.\r\nSecond line.\r\n");
    assert_eq!(p.problems, ["no blank line after the headers; the text from line 3 on is kept as the body"]);

    let p = parse_email(b"Thanks for the order!\nDana");
    assert_eq!(p.text, "Thanks for the order!\nDana");
    assert_eq!(p.problems, ["no email headers found; the whole file is kept as text"]);
}

/// A multipart whose boundary never appears is read as text, with a note.
#[test]
fn hostile_multipart_without_boundary() {
    let p = parse_email(b"Subject: x\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\nthe body after all\r\n");
    assert_eq!(p.text.trim(), "the body after all");
    assert!(p.attachments.is_empty(), "{:?}", p.attachments);
    assert!(p.problems.iter().any(|m| m.contains("no boundary")), "{:?}", p.problems);
}

/// Raw 8-bit headers (no RFC 2047) are read in the charset of the message's text, else
/// windows-1252, and say so; encoded words and ASCII headers are left to mail-parser.
#[test]
fn raw_8bit_headers_use_the_body_charset() {
    let hebrew = b"From: \xe3\xf0\xe4 <dana@example.test>\r\nSubject: \xe4\xe6\xee\xf0\xe4 1042\r\n\
Content-Type: text/plain; charset=windows-1255\r\n\r\n\xf9\xec\xe5\xed\r\n";
    let p = parse_email(hebrew);
    assert_eq!(p.subject.as_deref(), Some("הזמנה 1042"));
    assert_eq!(p.from, vec![Address { name: Some("דנה".into()), email: "dana@example.test".into() }]);
    assert_eq!(p.text.trim(), "שלום");
    assert_eq!(p.problems.len(), 2, "{:?}", p.problems);
    assert!(p.problems.iter().all(|m| m.contains("read as windows-1255")), "{:?}", p.problems);

    let ascii_body = b"Subject: Zam\xf3wienie\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nx\r\n";
    let p = parse_email(ascii_body);
    assert_eq!(p.subject.as_deref(), Some("Zamówienie"));
    assert!(p.problems.iter().any(|m| m.contains("windows-1252")), "{:?}", p.problems);

    let encoded = b"Subject: =?iso-8859-1?Q?Fr\xf6sche?=\r\n\r\nx\r\n";
    let p = parse_email(encoded);
    assert_eq!(p.subject.as_deref(), Some("Frösche"));
    assert!(p.problems.is_empty(), "{:?}", p.problems);
}

/// Display names are one line of text: CR/LF (bare, or from an encoded word), other
/// controls and bidi overrides never reach the stored name; visible letters, RLM and
/// HTML-looking text stay as they are.
#[test]
fn hostile_display_names_are_one_line_of_text() {
    let from = |header: &str| {
        let raw = format!("From: {header}\r\nSubject: x\r\n\r\nbody\r\n");
        parse_email(raw.as_bytes()).from.first().and_then(|a| a.name.clone())
    };
    assert_eq!(from("=?UTF-8?B?RXZpbA0KQmNjOiB4QHk=?= <e@x.test>").as_deref(), Some("Evil Bcc: x@y"));
    assert_eq!(from("\"Bare\rCR\" <c@x.test>").as_deref(), Some("Bare CR"));
    assert_eq!(from("=?UTF-8?Q?Bell=07Tab=09Nul=00End?= <b@x.test>").as_deref(), Some("Bell Tab Nul End"));
    assert_eq!(from("=?UTF-8?Q?Dana_=E2=80=AEgnp.exe?= <r@x.test>").as_deref(), Some("Dana gnp.exe"));
    assert_eq!(from("=?UTF-8?Q?=D7=93=D7=A0=D7=94=E2=80=8F_Levi?= <m@x.test>").as_deref(), Some("דנה\u{200F} Levi"));
    assert_eq!(from("\"<script>alert(1)</script>\" <s@x.test>").as_deref(), Some("<script>alert(1)</script>"));
}
