//! A reply as the exact bytes that will be sent, queued and APPENDed to Sent. Pure: the
//! date and the randomness behind the Message-ID and MIME boundaries are passed in, so
//! the same input gives the same bytes (golden tests) and the outbox can store the final
//! message before any network call.

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use shopdesk_core::Millis;
use std::time::{Duration, SystemTime};

/// A name and an address, as the user or the stored mail gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    pub name: Option<String>,
    pub email: String,
}

/// A file to attach, already read by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutAttachment {
    pub filename: String,
    pub mime_type: String,
    pub data: Vec<u8>,
}

/// Everything a reply is made of.
#[derive(Debug, Clone)]
pub struct ReplyInput<'a> {
    /// The shop's account address and display name.
    pub from: Party,
    /// The customer (Reply-To, else From, of their last message).
    pub to: Vec<Party>,
    /// The conversation's subject; the reply's is `Re: ` + it (prefix not doubled).
    pub original_subject: Option<&'a str>,
    /// A subject the user typed instead; used as is.
    pub subject: Option<&'a str>,
    /// Message-ID of the customer's message this answers (no angle brackets).
    pub parent_id: Option<&'a str>,
    /// That message's References (oldest first, no angle brackets).
    pub parent_references: &'a [String],
    pub body_text: &'a str,
    pub body_html: Option<&'a str>,
    /// Appended below `-- ` (the usual signature separator) in text and HTML.
    pub signature: Option<&'a str>,
    pub attachments: &'a [OutAttachment],
    pub date: Millis,
    /// Random bits for the Message-ID and the MIME boundaries.
    pub random: u128,
}

/// The finished message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composed {
    pub raw: Vec<u8>,
    /// Without angle brackets, as stored in email_headers.
    pub message_id: String,
    pub subject: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("{field}: {value:?} is not a valid email address")]
    InvalidAddress { field: &'static str, value: String },
    #[error("{field} contains a line break or control character; it would start a new mail header")]
    HeaderInjection { field: &'static str },
    #[error("the reply has no recipient")]
    NoRecipient,
    #[error("cannot build the message: {0}")]
    Build(String),
}

/// References kept at most: the first (the thread's root) and the most recent ones, as
/// RFC 5322 §3.6.4 suggests trimming, so long threads do not grow headers without end.
const MAX_REFERENCES: usize = 10;

/// Reply prefixes mail clients write, in the shop's languages; each is stripped before
/// one `Re: ` is put back, so `Re: AW: Re[2]: x` becomes `Re: x`.
const REPLY_PREFIXES: [&str; 8] = ["re", "aw", "sv", "antw", "odp", "השב", "תגובה", "رد"];

/// `Re: ` + the subject without the reply prefixes it already has.
pub fn reply_subject(original: &str) -> String {
    let mut rest = original.trim();
    'strip: loop {
        for prefix in REPLY_PREFIXES {
            let Some(head) = rest.get(..prefix.len()) else {
                continue;
            };
            if !head.eq_ignore_ascii_case(prefix) {
                continue;
            }
            let mut after = &rest[prefix.len()..];
            // A counter some clients add: `Re[2]:`, `Re(2):`.
            if let Some(open) = after.strip_prefix('[').or_else(|| after.strip_prefix('('))
                && let Some(end) = open.find([']', ')'])
                && open[..end].chars().all(|c| c.is_ascii_digit())
            {
                after = &open[end + 1..];
            }
            let after = after.trim_start();
            if let Some(stripped) = after.strip_prefix(':').or_else(|| after.strip_prefix('：')) {
                rest = stripped.trim_start();
                continue 'strip;
            }
        }
        break;
    }
    if rest.is_empty() {
        "Re:".to_owned()
    } else {
        format!("Re: {rest}")
    }
}

/// Builds the reply. Refuses (before anything could be queued) addresses that are not
/// addresses and names or a subject that would inject a header.
pub fn compose_reply(input: &ReplyInput<'_>) -> Result<Composed, ComposeError> {
    let from = mailbox("From", &input.from)?;
    if input.to.is_empty() {
        return Err(ComposeError::NoRecipient);
    }
    let to = input
        .to
        .iter()
        .map(|p| mailbox("To", p))
        .collect::<Result<Vec<_>, _>>()?;
    let subject = match input.subject {
        Some(s) => {
            refuse_controls("Subject", s)?;
            s.trim().to_owned()
        }
        None => {
            let original = input.original_subject.unwrap_or("");
            // A stored subject is unfolded already; anything left is folded into spaces.
            let flat: String = original
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            reply_subject(&flat)
        }
    };
    let domain = from.email.domain().to_owned();
    let message_id = format!(
        "{}.{:016x}@{domain}",
        base36(input.date.max(0) as u64),
        (input.random >> 64) as u64
    );

    let mut builder = Message::builder()
        .from(from.clone())
        .subject(subject.clone())
        .date(SystemTime::UNIX_EPOCH + Duration::from_millis(input.date.max(0) as u64))
        .message_id(Some(format!("<{message_id}>")))
        .user_agent("Shopdesk".to_owned());
    for t in &to {
        builder = builder.to(t.clone());
    }
    let parent = input.parent_id.filter(|id| valid_id(id));
    if let Some(parent) = parent {
        builder = builder.in_reply_to(format!("<{parent}>"));
    }
    let refs = references(input.parent_references, parent);
    if !refs.is_empty() {
        let joined: Vec<String> = refs.iter().map(|r| format!("<{r}>")).collect();
        builder = builder.references(joined.join(" "));
    }

    let text = with_signature_text(input.body_text, input.signature);
    let boundary = |n: u32| format!("=_shopdesk_{:016x}_{n}", input.random as u64);
    let body = match input.body_html {
        Some(html) => MultiPart::alternative()
            .boundary(boundary(1))
            .singlepart(SinglePart::plain(text))
            .singlepart(SinglePart::html(with_signature_html(html, input.signature))),
        None => {
            if input.attachments.is_empty() {
                let message = builder
                    .singlepart(SinglePart::plain(text))
                    .map_err(|e| ComposeError::Build(e.to_string()))?;
                return Ok(finish(message, message_id, subject, &from, &to));
            }
            MultiPart::mixed()
                .boundary(boundary(2))
                .singlepart(SinglePart::plain(text))
        }
    };
    let body = if input.attachments.is_empty() {
        body
    } else {
        let mut mixed = if input.body_html.is_some() {
            MultiPart::mixed().boundary(boundary(2)).multipart(body)
        } else {
            body
        };
        for a in input.attachments {
            refuse_controls("attachment file name", &a.filename)?;
            let content_type = ContentType::parse(&a.mime_type).unwrap_or_else(|_| {
                ContentType::parse("application/octet-stream").expect("static type")
            });
            mixed = mixed
                .singlepart(Attachment::new(a.filename.clone()).body(a.data.clone(), content_type));
        }
        mixed
    };
    let message = builder
        .multipart(body)
        .map_err(|e| ComposeError::Build(e.to_string()))?;
    Ok(finish(message, message_id, subject, &from, &to))
}

fn finish(
    message: Message,
    message_id: String,
    subject: String,
    from: &Mailbox,
    to: &[Mailbox],
) -> Composed {
    Composed {
        raw: message.formatted(),
        message_id,
        subject,
        envelope_from: from.email.to_string(),
        recipients: to.iter().map(|m| m.email.to_string()).collect(),
    }
}

fn mailbox(field: &'static str, p: &Party) -> Result<Mailbox, ComposeError> {
    let email = p.email.trim();
    refuse_controls(field, email)?;
    let address: Address = email.parse().map_err(|_| ComposeError::InvalidAddress {
        field,
        value: p.email.clone(),
    })?;
    let name = match p.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        Some(n) => {
            refuse_controls(field, n)?;
            Some(n.to_owned())
        }
        None => None,
    };
    Ok(Mailbox::new(name, address))
}

fn refuse_controls(field: &'static str, value: &str) -> Result<(), ComposeError> {
    if value.chars().any(char::is_control) {
        return Err(ComposeError::HeaderInjection { field });
    }
    Ok(())
}

/// A Message-ID we can put back in a header: no spaces, brackets or control characters.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() < 1000
        && !id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
}

/// The parent's References plus the parent, without repeats, trimmed to the root and
/// the most recent ids.
fn references(parent_refs: &[String], parent: Option<&str>) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for id in parent_refs.iter().map(String::as_str).chain(parent) {
        if valid_id(id) && !all.iter().any(|x| x == id) {
            all.push(id.to_owned());
        }
    }
    if all.len() > MAX_REFERENCES {
        let tail = all.split_off(all.len() - (MAX_REFERENCES - 1));
        all.truncate(1);
        all.extend(tail);
    }
    all
}

fn with_signature_text(body: &str, signature: Option<&str>) -> String {
    let body = body.trim_end();
    match signature
        .map(str::trim_end)
        .filter(|s| !s.trim().is_empty())
    {
        Some(sig) if sig.starts_with("-- \n") || sig.starts_with("--\n") => {
            format!("{body}\n\n{sig}\n")
        }
        Some(sig) => format!("{body}\n\n-- \n{sig}\n"),
        None => format!("{body}\n"),
    }
}

fn with_signature_html(html: &str, signature: Option<&str>) -> String {
    match signature
        .map(str::trim_end)
        .filter(|s| !s.trim().is_empty())
    {
        Some(sig) => {
            let sig = sig
                .strip_prefix("-- \n")
                .or_else(|| sig.strip_prefix("--\n"))
                .unwrap_or(sig);
            let lines: Vec<String> = sig.lines().map(escape_html).collect();
            format!(
                "{html}\n<div class=\"signature\">-- <br>\n{}</div>\n",
                lines.join("<br>\n")
            )
        }
        None => html.to_owned(),
    }
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}
