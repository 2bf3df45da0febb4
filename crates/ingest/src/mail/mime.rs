//! MIME: raw message bytes -> [`ParsedEmail`], with the mail-parser crate doing the
//! parsing (charsets, RFC 2047/2231, transfer encodings, broken structure).

use super::html::{MAX_HTML_TAGS, sanitize};
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{
    Encoding, GetHeader, HeaderName, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use sha2::{Digest, Sha256};
use shopdesk_core::email::{Address, ParsedAttachment, ParsedEmail};
use shopdesk_core::normalize_email;

/// Parses one message. Never fails and never panics: what cannot be read is described
/// in `problems`, and a message that cannot be parsed at all keeps its bytes as text.
pub fn parse_email(raw: &[u8]) -> ParsedEmail {
    let message_bytes = skip_mbox_separator(raw);
    // mail-parser promises not to panic, but it has debug assertions and index
    // arithmetic on hostile offsets; one bad message must not end an import.
    match std::panic::catch_unwind(|| parse_message(message_bytes)) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => unreadable(raw, "no email headers found; the file is kept as plain text"),
        Err(_) => unreadable(raw, "the MIME parser failed on this message; the file is kept as plain text"),
    }
}

fn unreadable(raw: &[u8], problem: &str) -> ParsedEmail {
    ParsedEmail {
        text: String::from_utf8_lossy(raw).into_owned(),
        problems: vec![problem.to_owned()],
        ..ParsedEmail::default()
    }
}

/// A single message saved from an mbox may still start with its `From ` separator line,
/// which is not a header and would hide the first real one.
fn skip_mbox_separator(raw: &[u8]) -> &[u8] {
    let Some(rest) = raw.strip_prefix(b"From ") else { return raw };
    // `From :` (space before the colon) is an obsolete but valid header, not a separator.
    if rest.iter().find(|b| !matches!(**b, b' ' | b'\t')) == Some(&b':') {
        return raw;
    }
    match raw.iter().position(|b| *b == b'\n') {
        Some(end) => &raw[end + 1..],
        None => raw,
    }
}

fn parse_message(raw: &[u8]) -> Option<ParsedEmail> {
    let message = MessageParser::default().parse(raw)?;
    let mut problems = Vec::new();

    let date = message.date().filter(|d| d.is_valid()).map(|d| d.to_timestamp().saturating_mul(1000));
    if date.is_none() && message.header_raw("Date").is_some_and(|v| !v.trim().is_empty()) {
        problems.push("the Date header could not be read".to_owned());
    }
    let headers = Headers::read(&message, &mut problems);
    if headers.subject.as_deref().is_some_and(|s| s.contains("=?") && s.contains("?=")) {
        problems.push("the subject has an encoded word that could not be decoded".to_owned());
    }

    let mut texts: Vec<String> = (0..message.text_body_count())
        .filter_map(|i| message.body_text(i))
        .map(|t| t.into_owned())
        .filter(|t| !t.trim().is_empty())
        .collect();
    let html = message.html_bodies().find_map(|part| match &part.body {
        PartType::Html(h) => Some(h.as_ref()),
        _ => None,
    });

    let mut attachments = Vec::new();
    for part in message.attachments() {
        match &part.body {
            // A multipart whose boundary never comes is text, not a file.
            PartType::Text(t) if part.content_type().is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart")) => {
                problems.push("a multipart section has no boundary lines; its content is kept as text".to_owned());
                if !t.trim().is_empty() {
                    texts.push(t.to_string());
                }
            }
            _ => attachments.push(attachment(&message, part)),
        }
    }

    let mut part_notes = Vec::new();
    for (index, part) in message.parts.iter().enumerate() {
        part_problems(index, part, &mut part_notes);
    }

    // mail-parser lists HTML-only bodies as text too (converted), so this fallback is for
    // messages whose only HTML sits elsewhere.
    let mut text = if texts.is_empty() {
        html.map(mail_parser::decoders::html::html_to_text).filter(|t| !t.trim().is_empty()).unwrap_or_default()
    } else {
        texts.join("\n\n")
    };
    if text.trim().is_empty() && html.is_none() && attachments.is_empty() {
        match body_without_blank_line(raw) {
            // What mail-parser took for headers was the body: its notes about it are moot.
            Some((line, body)) => {
                text = String::from_utf8_lossy(body).into_owned();
                part_notes.clear();
                problems.push(if line == 1 {
                    "no email headers found; the whole file is kept as text".to_owned()
                } else {
                    format!("no blank line after the headers; the text from line {line} on is kept as the body")
                });
            }
            None => part_notes.push("the message has no readable body".to_owned()),
        }
    }
    problems.extend(part_notes);

    let html = html.map(|h| {
        let (clean, reduced) = sanitize(h);
        if reduced {
            problems.push(format!("the HTML body has over {MAX_HTML_TAGS} tags; kept as plain text"));
        }
        clean
    });

    Some(ParsedEmail {
        message_id: message.message_id().map(clean_id).filter(|s| !s.is_empty()),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        // base64 of a binary blob: folding whitespace is not part of it.
        thread_index: message
            .header_raw("Thread-Index")
            .map(|v| v.chars().filter(|c| !c.is_whitespace()).collect::<String>())
            .filter(|s| !s.is_empty()),
        subject: headers.subject,
        date,
        from: headers.from,
        reply_to: headers.reply_to,
        to: headers.to,
        cc: headers.cc,
        text,
        html,
        attachments,
        problems,
    })
}

/// The text headers, with a second chance for raw 8-bit bytes: RFC 5322 wants ASCII
/// there, but old clients wrote the local charset unlabelled, which mail-parser can
/// only read as UTF-8 with replacement characters. Such a header is decoded in the
/// charset of the message's text (what those clients used), else windows-1252.
struct Headers {
    subject: Option<String>,
    from: Vec<Address>,
    reply_to: Vec<Address>,
    to: Vec<Address>,
    cc: Vec<Address>,
}

impl Headers {
    fn read(message: &Message<'_>, problems: &mut Vec<String>) -> Headers {
        let mut headers = Headers {
            subject: message.subject().map(str::trim).map(str::to_owned),
            from: addresses(message.from()),
            reply_to: addresses(message.reply_to()),
            to: addresses(message.to()),
            cc: addresses(message.cc()),
        };
        let Some(root) = message.parts.first() else { return headers };
        let (label, decode) = legacy_charset(message);
        for name in [HeaderName::Subject, HeaderName::From, HeaderName::ReplyTo, HeaderName::To, HeaderName::Cc] {
            let Some(header) = root.headers.header(name.clone()) else { continue };
            let Some(bytes) = message.raw_message().get(header.offset_start as usize..header.offset_end as usize)
            else {
                continue;
            };
            // Only where mail-parser fell back to replacement characters: raw bytes
            // inside an encoded word are read in that word's charset already.
            let damaged = match name {
                HeaderName::Subject => headers.subject.as_deref().is_some_and(|s| s.contains('\u{FFFD}')),
                HeaderName::From => has_replacement(&headers.from),
                HeaderName::ReplyTo => has_replacement(&headers.reply_to),
                HeaderName::To => has_replacement(&headers.to),
                _ => has_replacement(&headers.cc),
            };
            if !damaged || std::str::from_utf8(bytes).is_ok() {
                continue;
            }
            // Re-parse the decoded header alone so RFC 2047 words and folding are handled as usual.
            let field = format!("{}: {}\r\n\r\n", name.as_str(), decode(bytes));
            let Some(single) = MessageParser::default().parse(field.as_bytes()) else { continue };
            match name {
                HeaderName::Subject => headers.subject = single.subject().map(str::trim).map(str::to_owned),
                HeaderName::From => headers.from = addresses(single.from()),
                HeaderName::ReplyTo => headers.reply_to = addresses(single.reply_to()),
                HeaderName::To => headers.to = addresses(single.to()),
                _ => headers.cc = addresses(single.cc()),
            }
            problems.push(format!("the {} header has unlabelled 8-bit text; read as {label}", name.as_str()));
        }
        headers
    }
}

fn has_replacement(list: &[Address]) -> bool {
    list.iter().any(|a| a.email.contains('\u{FFFD}') || a.name.as_deref().is_some_and(|n| n.contains('\u{FFFD}')))
}

type Decoder = fn(&[u8]) -> String;

fn legacy_charset(message: &Message<'_>) -> (String, Decoder) {
    let body_charset = message
        .text_bodies()
        .chain(message.html_bodies())
        .filter_map(|p| p.content_type().and_then(|ct| ct.attribute("charset")))
        // An ASCII label says nothing about which 8-bit charset the sender used.
        .filter(|c| !["us-ascii", "ascii", "ansi_x3.4-1968"].iter().any(|a| a.eq_ignore_ascii_case(c.trim())))
        .find_map(|c| charset_decoder(c.as_bytes()).map(|d| (c.trim().to_ascii_lowercase(), d)));
    match body_charset {
        Some((label, decode)) => (label, decode),
        None => ("windows-1252".to_owned(), charset_decoder(b"windows-1252").unwrap_or(lossy_utf8)),
    }
}

fn lossy_utf8(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// When the header block runs into the body without a blank line: the 1-based line
/// where the first line that is neither a header field nor a continuation starts, and
/// the bytes from there. `None` when a blank line does end the headers.
fn body_without_blank_line(raw: &[u8]) -> Option<(usize, &[u8])> {
    let mut offset = 0;
    for (index, line) in raw.split_inclusive(|b| *b == b'\n').enumerate() {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.is_empty() {
            return None;
        }
        let continuation = index > 0 && matches!(content[0], b' ' | b'\t');
        if !continuation && !is_header_field(content) {
            return Some((index + 1, &raw[offset..]));
        }
        offset += line.len();
    }
    None
}

/// `Name:` with a printable-ASCII field name (RFC 5322 ftext), spaces allowed before
/// the colon (obsolete syntax).
fn is_header_field(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|b| *b == b':') else { return false };
    let name = line[..colon].trim_ascii_end();
    !name.is_empty() && name.iter().all(|b| (33..=126).contains(b))
}

fn attachment(message: &Message<'_>, part: &MessagePart<'_>) -> ParsedAttachment {
    let content_type = part.content_type();
    let mut mime_type = match content_type {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_owned(),
        },
        None if part.is_text() => "text/plain".to_owned(),
        None => "application/octet-stream".to_owned(),
    }
    .to_ascii_lowercase();
    let is_message = part.is_message() || matches!(mime_type.as_str(), "message/rfc822" | "message/global");

    let mut filename = part.attachment_name().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    let data = if is_message {
        // A forwarded message stays one .eml file rather than being exploded into parts.
        mime_type = "message/rfc822".to_owned();
        let name = filename.take().or_else(|| part.message().and_then(|m| m.subject()).map(file_name_from));
        filename = Some(eml_name(name.as_deref().unwrap_or("message")));
        nested_message_bytes(message, part)
    } else {
        part.contents().to_vec()
    };

    let disposition = part.content_disposition();
    let inline = match disposition {
        Some(d) if d.is_attachment() => false,
        Some(d) if d.is_inline() => true,
        // No disposition: an embedded image (InlineBinary, or one with a Content-ID
        // referenced as cid: from the HTML) is shown in place.
        _ => matches!(part.body, PartType::InlineBinary(_)) || part.content_id().is_some(),
    };
    ParsedAttachment {
        filename,
        mime_type,
        content_id: part.content_id().map(clean_id).filter(|s| !s.is_empty()),
        inline,
        data,
    }
}

/// The bytes of a message/rfc822 part. For a part without transfer encoding mail-parser
/// keeps the whole outer message as the nested one's raw bytes, so the part is cut out
/// of the outer message by its offsets instead.
fn nested_message_bytes(outer: &Message<'_>, part: &MessagePart<'_>) -> Vec<u8> {
    if part.encoding == Encoding::None {
        let (start, end) = (part.offset_body as usize, part.offset_end as usize);
        // A part cut short by a broken structure may have no end offset: it runs to the end.
        let bytes = if end > start { outer.raw_message().get(start..end) } else { outer.raw_message().get(start..) };
        if let Some(bytes) = bytes {
            return bytes.to_vec();
        }
    }
    part.contents().to_vec()
}

fn file_name_from(subject: &str) -> String {
    let name: String =
        subject.chars().map(|c| if c.is_control() || "/\\:*?\"<>|".contains(c) { '_' } else { c }).take(100).collect();
    name.trim().to_owned()
}

fn eml_name(name: &str) -> String {
    let name = if name.trim().is_empty() { "message" } else { name };
    if name.to_ascii_lowercase().ends_with(".eml") { name.to_owned() } else { format!("{name}.eml") }
}

/// Notes on one MIME part: damaged transfer encoding, unknown charset, undecodable bytes.
fn part_problems(index: usize, part: &MessagePart<'_>, problems: &mut Vec<String>) {
    let what = describe_part(index, part);
    if part.is_encoding_problem {
        problems.push(match part.content_transfer_encoding() {
            Some(cte) => format!("{what}: its {} encoding is damaged; kept undecoded", cte.to_ascii_lowercase()),
            None => format!("{what} is damaged; kept as far as it could be read"),
        });
        return;
    }
    let (PartType::Text(text) | PartType::Html(text)) = &part.body else { return };
    let charset = part.content_type().and_then(|ct| ct.attribute("charset")).map(str::trim).unwrap_or("");
    if !charset.is_empty() && charset_decoder(charset.as_bytes()).is_none() && !is_utf8_label(charset) {
        problems.push(format!("{what} is in an unknown charset \"{charset}\"; read as UTF-8"));
    } else if text.contains('\u{FFFD}') {
        let label = if charset.is_empty() { "no charset given" } else { charset };
        problems.push(format!("{what} has characters that could not be decoded ({label})"));
    }
}

fn describe_part(index: usize, part: &MessagePart<'_>) -> String {
    let mime = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_owned(),
        })
        .unwrap_or_else(|| "text/plain".to_owned());
    match part.attachment_name() {
        Some(name) => format!("part {} ({mime}, \"{name}\")", index + 1),
        None => format!("part {} ({mime})", index + 1),
    }
}

/// The labels mail-parser reads as UTF-8 without a decoder of its own.
fn is_utf8_label(charset: &str) -> bool {
    ["utf8", "utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8", "unicode-1-1-utf-8"]
        .iter()
        .any(|l| l.eq_ignore_ascii_case(charset))
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<&str> = match value {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.as_ref()).collect(),
        _ => Vec::new(),
    };
    list.into_iter().map(clean_id).filter(|s| !s.is_empty()).collect()
}

fn clean_id(id: &str) -> String {
    id.trim().trim_start_matches('<').trim_end_matches('>').trim().to_owned()
}

/// Mailboxes of an address header, groups flattened; entries without an address (a bare
/// display name, an empty group) are skipped.
fn addresses(list: Option<&mail_parser::Address<'_>>) -> Vec<Address> {
    let Some(list) = list else { return Vec::new() };
    list.iter()
        .filter_map(|a| {
            let email = a.address()?.trim();
            (!email.is_empty()).then(|| Address {
                name: a.name().map(clean_name).filter(|n| !n.is_empty()),
                email: email.to_owned(),
            })
        })
        .collect()
}

/// A display name as one line of plain text: control characters (CR and LF from an
/// encoded word or a bare CR, TAB, NUL, ...) become spaces, bidi embeddings, overrides
/// and isolates (U+202A-E, U+2066-9; they reorder the text around the name) are dropped,
/// runs of spaces collapse. The marks LRM, RLM and ALM stay: mixed-script names use them.
fn clean_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
            continue;
        }
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    out.trim().to_owned()
}

/// The key that makes importing idempotent: `email:<Message-ID or ->:<16 hex>`, the hex
/// from SHA-256 over sender, date, subject and text. Equal for copies of one message
/// (CC'd to two of the shop's addresses, found in two folders: their Received and
/// Delivered-To headers differ, their line endings may too), different for two messages
/// that only share a Message-ID.
pub fn source_key(p: &ParsedEmail) -> String {
    let mut h = Sha256::new();
    for part in [
        p.from.first().map(|a| normalize_email(&a.email)).unwrap_or_default(),
        p.date.map(|d| d.to_string()).unwrap_or_default(),
        p.subject.as_deref().map(str::trim).unwrap_or_default().to_owned(),
        canonical_text(&p.text),
    ] {
        // Length-prefixed, so "ab"+"c" and "a"+"bc" differ whatever bytes the text holds.
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    let digest: String = h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("email:{}:{digest}", p.message_id.as_deref().unwrap_or("-"))
}

/// Text as the key sees it: line endings and trailing blanks differ between copies that
/// went through mbox, Maildir and IMAP, the words do not.
fn canonical_text(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    lines.join("\n").trim_end().to_owned()
}

#[cfg(test)]
mod tests;
