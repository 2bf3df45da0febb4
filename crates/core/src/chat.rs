//! A chat export as the rest of Shopdesk sees it, after parsing (crates/ingest: WhatsApp,
//! Messenger, Instagram, Telegram) and before storing (crates/store). Pure data.
//!
//! Parsers never fail on a single bad line: what they could not read goes into
//! [`ChatExport::problems`] with its line (or JSON index), and the rest is kept. Only
//! input that is not this kind of export at all is an error (see the parsers).

use crate::{Channel, Millis};

/// When a chat message was written. WhatsApp writes wall-clock time with no zone, so its
/// parser returns [`ChatTime::Local`] and the app applies the user's time zone; JSON
/// exports carry Unix time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(untagged)]
pub enum ChatTime {
    Utc(Millis),
    Local(CivilTime),
}

/// A wall-clock date and time with no time zone (Gregorian calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct CivilTime {
    pub year: i16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl std::fmt::Display for CivilTime {
    /// `2019-12-24 11:23:00`, the form the corpus oracles use.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Who wrote a message, as the export names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct ChatAuthor {
    /// The display name (or, in WhatsApp, the phone number as written when the author is
    /// not in the exporter's contacts).
    pub name: String,
    /// A stable platform id when the export has one (Telegram `from_id`, e.g. `user123`).
    pub id: Option<String>,
}

/// What a timeline entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    /// Something a person wrote (possibly only media).
    Message,
    /// A line from the platform: "X joined", "Messages are end-to-end encrypted", a title
    /// change. Stored as a system event, never as a customer message.
    System,
    /// A voice/video call record.
    Call,
    /// A reaction to another message (Messenger/Instagram), kept as an event.
    Reaction,
}

/// A file a message carries or names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChatAttachment {
    /// The file name as the export names it (`IMG-20200101-WA0001.jpg`), or a URI for a
    /// share/link.
    pub filename: Option<String>,
    /// photo | video | audio | sticker | document | share | gif | contact | location | other
    pub kind: String,
    /// The bytes, when the export carried the file (a WhatsApp zip, a Messenger folder).
    #[serde(skip)]
    pub data: Option<Vec<u8>>,
}

/// One entry of a chat's timeline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChatMessage {
    pub at: ChatTime,
    /// `None` for platform lines without an author.
    pub author: Option<ChatAuthor>,
    pub kind: ChatKind,
    /// The text with its own line breaks (blank lines kept), media markers removed.
    pub text: String,
    pub attachments: Vec<ChatAttachment>,
    /// Where it came from, for problem reports: 1-based line of a text export, or the
    /// 0-based index in a JSON `messages` array.
    pub line: usize,
}

/// A line or entry the parser could not read; the rest of the file is still imported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChatProblem {
    pub line: usize,
    pub message: String,
}

/// One chat thread from an export, oldest message first.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChatExport {
    pub channel: Channel,
    /// The thread's identity in its channel when the export has one (Messenger
    /// `thread_path`, Telegram chat id); `None` for WhatsApp, whose exports carry none.
    pub thread_id: Option<String>,
    /// The chat's title when known (WhatsApp: from the file name; Telegram: chat name).
    pub title: Option<String>,
    /// Named participants the export lists, including ones who never wrote.
    pub participants: Vec<ChatAuthor>,
    pub messages: Vec<ChatMessage>,
    pub problems: Vec<ChatProblem>,
}

impl ChatExport {
    pub fn new(channel: Channel) -> ChatExport {
        ChatExport {
            channel,
            thread_id: None,
            title: None,
            participants: Vec::new(),
            messages: Vec::new(),
            problems: Vec::new(),
        }
    }
}
