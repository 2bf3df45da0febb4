//! MIME: raw message bytes -> [`ParsedEmail`], with the mail-parser crate doing the
//! parsing (charsets, RFC 2047/2231, transfer encodings, broken structure).

use super::html::sanitize_html;
use mail_parser::{HeaderValue, MessageParser, MimeHeaders, PartType};
use sha2::{Digest, Sha256};
use shopdesk_core::email::{Address, ParsedAttachment, ParsedEmail};
use shopdesk_core::normalize_email;

/// Parses one message. Never fails: what cannot be read is described in `problems`, and
/// a message mail-parser cannot parse at all keeps its bytes as text.
pub fn parse_email(raw: &[u8]) -> ParsedEmail {
    let Some(message) = MessageParser::default().parse(raw) else {
        return ParsedEmail {
            text: String::from_utf8_lossy(raw).into_owned(),
            problems: vec!["not a readable email message; kept as plain text".to_owned()],
            ..ParsedEmail::default()
        };
    };
    let mut problems = Vec::new();

    let date = message.date().filter(|d| d.is_valid()).map(|d| d.to_timestamp() * 1000);
    if message.header_raw("Date").is_some() && date.is_none() {
        problems.push("the Date header could not be read".to_owned());
    }

    let texts: Vec<String> = message
        .text_bodies()
        .filter_map(|part| match &part.body {
            PartType::Text(t) => Some(t.to_string()),
            _ => None,
        })
        .collect();
    let html = message.html_bodies().find_map(|part| match &part.body {
        PartType::Html(h) => Some(h.to_string()),
        _ => None,
    });
    let text = if texts.is_empty() {
        html.as_deref().map(mail_parser::decoders::html::html_to_text).unwrap_or_default()
    } else {
        texts.join("\n\n")
    };

    let attachments: Vec<ParsedAttachment> = message
        .attachments()
        .map(|part| {
            let mime_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned())
                .to_ascii_lowercase();
            ParsedAttachment {
                filename: part.attachment_name().map(str::to_owned).or_else(|| part.is_message().then(|| "message.eml".to_owned())),
                mime_type,
                content_id: part.content_id().map(clean_id),
                inline: matches!(part.body, PartType::InlineBinary(_)),
                data: part.contents().to_vec(),
            }
        })
        .collect();

    if message.parts.iter().any(|p| p.is_encoding_problem) {
        problems.push("part of the message has a damaged encoding; decoded as far as possible".to_owned());
    }

    if text.trim().is_empty() && html.is_none() && attachments.is_empty() {
        problems.push("the message has no readable body".to_owned());
    }

    ParsedEmail {
        message_id: message.message_id().map(clean_id).filter(|s| !s.is_empty()),
        in_reply_to: ids(message.in_reply_to()),
        references: ids(message.references()),
        thread_index: message.header_raw("Thread-Index").map(|v| v.trim().to_owned()).filter(|s| !s.is_empty()),
        subject: message.subject().map(str::to_owned),
        date,
        from: addresses(message.from()),
        reply_to: addresses(message.reply_to()),
        to: addresses(message.to()),
        cc: addresses(message.cc()),
        text,
        html: html.map(|h| sanitize_html(&h)),
        attachments,
        problems,
    }
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let list: Vec<String> = match value {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    };
    list.iter().map(|id| clean_id(id)).filter(|s| !s.is_empty()).collect()
}

/// The key that makes importing idempotent: equal for copies of one message (CC'd to
/// two of the shop's addresses, found in two folders — their Received and Delivered-To
/// headers differ), different for two messages that only share a Message-ID.
pub fn source_key(p: &ParsedEmail) -> String {
    let mut h = Sha256::new();
    for part in [
        p.from.first().map(|a| normalize_email(&a.email)).unwrap_or_default(),
        p.date.map(|d| d.to_string()).unwrap_or_default(),
        p.subject.clone().unwrap_or_default(),
        p.text.clone(),
    ] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let digest: String = h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("email:{}:{digest}", p.message_id.as_deref().unwrap_or("-"))
}

fn clean_id(id: &str) -> String {
    id.trim().trim_start_matches('<').trim_end_matches('>').trim().to_owned()
}

fn addresses(list: Option<&mail_parser::Address<'_>>) -> Vec<Address> {
    let Some(list) = list else { return Vec::new() };
    list.iter()
        .filter_map(|a| {
            let email = a.address()?.trim();
            (!email.is_empty()).then(|| Address {
                name: a.name().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned),
                email: email.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY_TEXT: &str = "From: =?UTF-8?B?15PXoNeUINec15XXmQ==?= <Dana@Example.test>\r\n\
To: Shop <hello@shop.test>\r\n\
Subject: =?UTF-8?Q?Re:_=D7=94=D7=94=D7=96=D7=9E=D7=A0=D7=94?=\r\n\
Date: Mon, 16 Nov 2026 10:30:00 +0200\r\n\
Message-ID: <reply-1@example.test>\r\n\
In-Reply-To: <orig-1@shop.test>\r\n\
References: <root@shop.test> <orig-1@shop.test>\r\n\
Content-Type: multipart/alternative; boundary=b\r\n\
\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nשלום, איפה ההזמנה?\r\n\
--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>שלום</p><img src=\"http://t.example/p.gif\"><script>x()</script>\r\n\
--b--\r\n";
    const REPLY: &[u8] = REPLY_TEXT.as_bytes();

    /// Headers, RFC 2047 words, ids without brackets, UTC date, text preferred over HTML,
    /// HTML sanitised.
    #[test]
    fn parses_a_reply() {
        let p = parse_email(REPLY);
        assert_eq!(p.message_id.as_deref(), Some("reply-1@example.test"));
        assert_eq!(p.in_reply_to, vec!["orig-1@shop.test"]);
        assert_eq!(p.references, vec!["root@shop.test", "orig-1@shop.test"]);
        assert_eq!(p.subject.as_deref(), Some("Re: ההזמנה"));
        assert_eq!(p.from, vec![Address { name: Some("דנה לוי".into()), email: "Dana@Example.test".into() }]);
        assert_eq!(p.date, Some(1_794_817_800_000));
        assert_eq!(p.text.trim(), "שלום, איפה ההזמנה?");
        let html = p.html.expect("html");
        assert!(!html.contains("script") && html.contains("shopdesk-blocked:http://t.example/p.gif"), "{html}");
        assert!(p.problems.is_empty(), "{:?}", p.problems);
    }

    /// Copies of one message share a key even when transport headers differ; a different
    /// message reusing the Message-ID does not.
    #[test]
    fn source_key_identifies_content_not_transport() {
        let copy = [b"Received: from mx2\r\nDelivered-To: orders@shop.test\r\n".as_slice(), REPLY].concat();
        assert_eq!(source_key(&parse_email(REPLY)), source_key(&parse_email(&copy)));
        let other = String::from_utf8_lossy(REPLY).replace("איפה ההזמנה", "תודה רבה");
        assert_ne!(source_key(&parse_email(REPLY)), source_key(&parse_email(other.as_bytes())));
        assert!(source_key(&parse_email(REPLY)).starts_with("email:reply-1@example.test:"));
    }

    /// Garbage, empty input and missing headers never panic and still give a result.
    #[test]
    fn hostile_input_is_survived() {
        for raw in [&b""[..], b"\xff\xfe\x00garbage", b"no headers at all", b"Subject: x\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!notbase64\r\n"] {
            let p = parse_email(raw);
            assert!(p.message_id.is_none());
        }
        let deep = "Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n".repeat(300);
        let p = parse_email(deep.as_bytes());
        assert!(p.text.len() < deep.len() + 1);
    }
}
