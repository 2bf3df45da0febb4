//! WhatsApp "Export chat" files: the `.txt` (Android `WhatsApp Chat with X.txt`, iOS
//! `_chat.txt`) and the `.zip` that carries it with the media.
//!
//! A message starts with a header line and runs until the next header; the lines in
//! between are its continuation lines, blank ones included:
//!
//! ```text
//! 31/12/23, 14:05 - Anna: text                 Android, 24 h
//! 12/31/23, 2:05 PM - Anna: text               Android, 12 h (also am, a. m., p.m., U+202F before PM)
//! [31/12/23, 14:05:09] Anna: text              iOS (a leading U+200E is common)
//! 2023/12/31, 14:05. - Anna: text              year first, trailing dot
//! 31.12.2023 klo 14.05.09 - Anna: text         Finnish
//! 31. 12. 2023. 14:05:09 Anna: text            Croatian (no dash)
//! ٣١/١٢/٢٠٢٣، ١٤:٠٥ - Anna: text                Arabic-Indic digits (also Persian ۰–۹)
//! 31/12/23, 14:05 - Messages and calls are end-to-end encrypted.   a system line
//! ```
//!
//! Headers are recognised by a hand-written byte matcher (no regex): optional marks and
//! `[`, three numeric date fields separated by `/`, `.`, `-` (or `. `), an optional
//! trailing dot, `,`/`،`/space and an optional short word (`klo`, `à`), `H:MM[:SS]` (or
//! with dots), an optional AM/PM marker (Latin `am`/`a.m.`/`a. m.` in any case, with a
//! space, U+00A0 or U+202F before it; Arabic `ص`/`م`; Greek `π.μ.`/`μ.μ.`; CJK `上午`/
//! `下午`/`午前`/`午後`/`오전`/`오후` before the time), then `]`, ` - `, `: ` or, in files
//! that never use those, a bare space.
//!
//! **Date order.** The export does not say whether `03/04/21` is 3 April or 4 March, so
//! it is decided once for the whole file, in this order:
//! 1. [`WhatsappOptions::date_order`] when given.
//! 2. Evidence: a first field over 12 means day first, a second field over 12 means
//!    month first (a 4-digit field is the year; with the year first, a middle field
//!    over 12 means year-day-month). If both kinds occur, the majority wins, the other
//!    lines are reported as invalid dates and a problem says the file is mixed.
//! 3. Chronology: exports are in time order, so if reading the dates month-first gives
//!    fewer backward jumps between consecutive messages than day-first, month first.
//! 4. Otherwise day first. An AM/PM style is *not* taken as a hint for US month-first:
//!    WhatsApp writes `3/6/18, 1:55 PM` for 3 June in many 12-hour locales (the
//!    whatsapp-chat-parser tests expect exactly that), so the hint would be wrong there.
//!
//! Two-digit years are 20xx. Four-digit years outside 1970–2199 are not Gregorian:
//! 2400–2699 is reported as a Buddhist-era year, 1300–1599 as a Hijri/Solar Hijri year;
//! such messages are problems (never silently shifted), and a file where every date is
//! like that is a [`FormatError`] asking for a Gregorian export.
//!
//! **Message parts.** The first `: ` after the header (within the first 512 bytes)
//! separates the author; a line with no author (or whose would-be author has an unclosed
//! quote, as in `X changed the subject to "a: b"`) is a [`ChatKind::System`] line with
//! author `None`. The encryption notice is a system line even when prefixed with the
//! chat's name (`Pokemon Chat: Messages and calls are end-to-end encrypted…`, iOS).
//! `Name:` with nothing (or only `.`) after it is a message with empty text. Media
//! markers on the first line (`<Media omitted>`, `IMG-….jpg (file attached)`,
//! `<attached: 00000042-PHOTO-….jpg>`, `NAME <attached>`, `image omitted`, and the
//! German, Spanish, French, Portuguese, Italian and Dutch variants of the first two)
//! become [`ChatAttachment`]s and leave the text. iOS's trailing `<This message was
//! edited>` and the U+200E it puts before bodies are dropped; trailing blank lines too
//! (blank lines inside a message are kept). Authors are trimmed of bidi marks (iOS wraps
//! phone numbers in U+202A…U+202C).
//!
//! **Problems, not failures.** Invalid UTF-8 is replaced (one problem), NUL bytes are
//! dropped (one problem), lines before the first header and headers with impossible
//! dates are problems naming their line. Only a file with no header at all is a
//! [`FormatError`]; an empty file is an export with no messages and the problem "the
//! chat is empty".
//!
//! Speed: two passes over the bytes (the first only gathers date-order evidence and
//! counts headers), lines found with `memchr`, one allocation per message for its text
//! and one for its author. [`parse_whatsapp_each`] streams messages to a callback for
//! importers that should not hold a large export's messages all at once.

use super::FormatError;
use super::archive::SafeZip;
use crate::IngestError;
use memchr::{memchr, memmem};
use shopdesk_core::chat::{
    ChatAttachment, ChatAuthor, ChatExport, ChatKind, ChatMessage, ChatProblem, ChatTime, CivilTime,
};
use shopdesk_core::{Channel, UnknownValue};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;

/// The format named in errors.
pub const FORMAT: &str = "WhatsApp chat";

/// A `.txt` export larger than this is refused rather than read into memory.
pub const MAX_TEXT_FILE: u64 = 2 << 30;
/// A media file in the zip larger than this is named but not loaded (a phone video can
/// be gigabytes; the timeline only needs to know it was sent). Same bound as the JSON
/// chat importers.
pub const MAX_MEDIA_FILE: u64 = 32 * 1024 * 1024;
/// All media loaded from one zip together stay under this.
pub const MAX_MEDIA_TOTAL: u64 = 256 * 1024 * 1024;

/// How to read the numeric dates of an export (see the module docs for the inference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateOrder {
    /// `31/12/23`
    Dmy,
    /// `12/31/23`
    Mdy,
    /// `23/12/31` (a 4-digit first field is always read as the year anyway)
    Ymd,
}

impl FromStr for DateOrder {
    type Err = UnknownValue;

    /// `dmy`, `mdy` or `ymd` (any case), as the CLI's `--date-order` takes them.
    fn from_str(s: &str) -> Result<DateOrder, UnknownValue> {
        match s.to_ascii_lowercase().as_str() {
            "dmy" => Ok(DateOrder::Dmy),
            "mdy" => Ok(DateOrder::Mdy),
            "ymd" => Ok(DateOrder::Ymd),
            _ => Err(UnknownValue {
                what: "date order",
                value: s.to_owned(),
                expected: "dmy, mdy, ymd".to_owned(),
            }),
        }
    }
}

/// Choices the file itself cannot make.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WhatsappOptions {
    /// Overrides the inferred date order.
    pub date_order: Option<DateOrder>,
    /// The chat's title when the file name does not give one.
    pub title: Option<String>,
}

/// Parses an exported chat (`.txt` bytes). Fails only when no line looks like a WhatsApp
/// message header at all; everything else that is wrong is a problem in the export.
pub fn parse_whatsapp(bytes: &[u8], options: &WhatsappOptions) -> Result<ChatExport, FormatError> {
    let mut messages = Vec::new();
    let mut export = parse(bytes, options, &mut messages)?;
    export.messages = messages;
    Ok(export)
}

/// [`parse_whatsapp`] handing each message to `on_message` as soon as it is complete
/// (oldest first) instead of collecting them, so an importer can store a large export in
/// batches without holding every message at once. The returned export has everything
/// but the messages: title, participants, problems.
pub fn parse_whatsapp_each(
    bytes: &[u8],
    options: &WhatsappOptions,
    on_message: impl FnMut(ChatMessage),
) -> Result<ChatExport, FormatError> {
    parse(bytes, options, &mut EachMessage(on_message))
}

/// Where pass 2 puts messages: a Vec sized from pass 1's count, or a callback.
trait Sink {
    fn expect(&mut self, _count: usize) {}
    fn push(&mut self, message: ChatMessage);
}

impl Sink for Vec<ChatMessage> {
    fn expect(&mut self, count: usize) {
        // Pass 1 counted the headers: one allocation, no regrowth, no slack.
        self.reserve_exact(count);
    }
    fn push(&mut self, message: ChatMessage) {
        Vec::push(self, message);
    }
}

struct EachMessage<F>(F);

impl<F: FnMut(ChatMessage)> Sink for EachMessage<F> {
    fn push(&mut self, message: ChatMessage) {
        (self.0)(message);
    }
}

fn parse(
    bytes: &[u8],
    options: &WhatsappOptions,
    sink: &mut impl Sink,
) -> Result<ChatExport, FormatError> {
    let mut export = ChatExport::new(Channel::Whatsapp);
    export.title = options.title.clone();
    let (text, decode_problem) = decode(bytes);
    export.problems.extend(decode_problem);
    let text: &str = &text;

    let scan = scan(text.as_bytes());
    if scan.first_content_line.is_none() {
        export.problems.push(ChatProblem {
            line: 1,
            message: "the chat is empty".to_owned(),
        });
        return Ok(export);
    }
    if scan.strong.headers == 0 && scan.weak.headers == 0 {
        let line = scan.first_content_line.unwrap_or(1);
        let found = nth_line(text, line)
            .map(|l| shorten(l.trim(), 80))
            .unwrap_or_default();
        return Err(FormatError {
            format: FORMAT,
            line,
            message: format!(
                "expected a message header such as `31/12/23, 14:05 - Name: text` or \
                 `[31/12/23, 14:05:09] Name: text`, found `{found}`"
            ),
        });
    }
    let accept_weak = scan.strong.headers == 0;
    let evidence = if accept_weak {
        &scan.weak
    } else {
        &scan.strong
    };
    if evidence.gregorian == 0
        && let Some((line, year)) = evidence.first_odd_year
    {
        return Err(FormatError {
            format: FORMAT,
            line,
            message: calendar_message(year),
        });
    }
    let order = decide_order(evidence, options.date_order, &mut export.problems);
    sink.expect(evidence.headers);
    build(text, accept_weak, order, &mut export, sink);
    Ok(export)
}

/// Reads a WhatsApp export from disk: a `.txt`, or a `.zip` holding `_chat.txt` (iOS) or
/// `WhatsApp Chat with X.txt` (Android) and the media. Media files named by markers are
/// attached from the zip (up to [`MAX_MEDIA_FILE`] each, [`MAX_MEDIA_TOTAL`] in all;
/// others keep `data: None` and a problem says why). The title comes from the file name
/// (`WhatsApp Chat with Anna.txt`, `WhatsApp Chat - Anna.zip` → `Anna`), else from
/// `options.title`.
pub fn read_path(path: &Path, options: &WhatsappOptions) -> Result<ChatExport, IngestError> {
    let is_zip = path
        .extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("zip"));
    if is_zip {
        return read_zip(path, options);
    }
    let io_error = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io_error)?.len();
    if size > MAX_TEXT_FILE {
        return Err(IngestError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: MAX_TEXT_FILE,
        });
    }
    let bytes = std::fs::read(path).map_err(io_error)?;
    let mut export = parse_whatsapp(&bytes, options).map_err(|source| IngestError::Format {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(title) = path
        .file_stem()
        .and_then(|s| title_from_file_name(&s.to_string_lossy()))
    {
        export.title = Some(title);
    }
    Ok(export)
}

fn read_zip(path: &Path, options: &WhatsappOptions) -> Result<ChatExport, IngestError> {
    let mut zip = SafeZip::open(path)?;
    let Some(chat_index) = find_chat_entry(&zip) else {
        return Err(IngestError::NoChatExport {
            path: path.to_path_buf(),
            expected: "WhatsApp chat (_chat.txt or \"WhatsApp Chat with ….txt\")",
        });
    };
    let chat_name = zip.entries()[chat_index].name.clone();
    let bytes = zip.read_index(chat_index)?;
    let mut export = parse_whatsapp(&bytes, options).map_err(|source| IngestError::Format {
        path: path.join(&chat_name),
        source,
    })?;
    drop(bytes);
    let chat_stem = chat_name.rsplit('/').next().unwrap_or(&chat_name);
    let chat_stem = chat_stem.strip_suffix(".txt").unwrap_or(chat_stem);
    let zip_stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(title) = title_from_file_name(chat_stem).or_else(|| title_from_file_name(&zip_stem))
    {
        export.title = Some(title);
    }
    attach_zip_media(&mut export, &mut zip);
    Ok(export)
}

/// `_chat.txt` first, then a `WhatsApp Chat…`/localised name, then the only `.txt`.
fn find_chat_entry<R>(zip: &SafeZip<R>) -> Option<usize>
where
    R: std::io::Read + std::io::Seek,
{
    let texts: Vec<usize> = zip
        .entries()
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.is_dir && e.name.to_ascii_lowercase().ends_with(".txt"))
        .map(|(i, _)| i)
        .collect();
    let named = |pred: &dyn Fn(&str) -> bool| {
        texts
            .iter()
            .copied()
            .find(|&i| pred(zip.entries()[i].file_name()))
    };
    named(&|n| n == "_chat.txt")
        .or_else(|| named(&|n| title_from_file_name(n.trim_end_matches(".txt")).is_some()))
        .or_else(|| (texts.len() == 1).then(|| texts[0]))
}

/// Loads the media files the markers name, within the per-file and total budgets.
fn attach_zip_media<R: std::io::Read + std::io::Seek>(
    export: &mut ChatExport,
    zip: &mut SafeZip<R>,
) {
    // Media usually sit at the top of the zip; a nested copy is found by its base name.
    let mut by_base: HashMap<String, usize> = HashMap::new();
    for (i, e) in zip.entries().iter().enumerate() {
        if !e.is_dir {
            by_base.entry(e.file_name().to_owned()).or_insert(i);
        }
    }
    let mut budget = MAX_MEDIA_TOTAL;
    let mut problems = Vec::new();
    for message in &mut export.messages {
        for attachment in &mut message.attachments {
            let Some(name) = attachment.filename.as_deref() else {
                continue;
            };
            let index = zip.index_of(name).or_else(|| by_base.get(name).copied());
            let Some(index) = index else { continue };
            let size = zip.entries()[index].size;
            if size > MAX_MEDIA_FILE || size > budget {
                problems.push(ChatProblem {
                    line: message.line,
                    message: format!(
                        "media file {name:?} ({size} bytes) was not loaded: over the {} limit",
                        if size > MAX_MEDIA_FILE {
                            "per-file"
                        } else {
                            "total media"
                        }
                    ),
                });
                continue;
            }
            match zip.read_index(index) {
                Ok(data) => {
                    budget -= (data.len() as u64).min(budget);
                    attachment.data = Some(data);
                }
                Err(e) => problems.push(ChatProblem {
                    line: message.line,
                    message: format!("media file {name:?} could not be read: {e}"),
                }),
            }
        }
    }
    export.problems.extend(problems);
}

/// The chat partner or group name in an export's file name, if it is one of WhatsApp's.
pub fn title_from_file_name(stem: &str) -> Option<String> {
    const PREFIXES: &[&str] = &[
        "WhatsApp Chat with ",
        "WhatsApp Chat - ",
        "WhatsApp-Chat mit ",
        "WhatsApp Chat mit ",
        "Chat de WhatsApp con ",
        "Conversa do WhatsApp com ",
        "Discussion WhatsApp avec ",
        "Chat WhatsApp con ",
        "WhatsApp-chat met ",
    ];
    PREFIXES.iter().find_map(|p| {
        let rest = stem.strip_prefix(p)?.trim();
        (!rest.is_empty()).then(|| rest.to_owned())
    })
}

/// The text of the bytes: UTF-16 when it has a UTF-16 byte-order mark, else UTF-8 with
/// its mark dropped and invalid sequences replaced (one problem names the first).
fn decode(bytes: &[u8]) -> (Cow<'_, str>, Option<ChatProblem>) {
    let utf16 = |big: bool| {
        let units = bytes[2..].chunks_exact(2).map(|c| {
            if big {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect::<String>()
    };
    if bytes.starts_with(&[0xFF, 0xFE]) {
        return (Cow::Owned(utf16(false)), None);
    }
    if bytes.starts_with(&[0xFE, 0xFF]) {
        return (Cow::Owned(utf16(true)), None);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => (Cow::Borrowed(text), None),
        Err(e) => {
            let good = bytes.get(..e.valid_up_to()).unwrap_or_default();
            let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
            let problem = ChatProblem {
                line,
                message: "the file is not valid UTF-8; unreadable bytes were replaced with �"
                    .to_owned(),
            };
            (String::from_utf8_lossy(bytes), Some(problem))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Header matching

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meridiem {
    None,
    Am,
    Pm,
}

/// A header line's fields before the date order is applied.
#[derive(Debug, Clone, Copy)]
struct Header {
    date: [u32; 3],
    digits: [u8; 3],
    hour: u32,
    minute: u32,
    second: u32,
    meridiem: Meridiem,
    /// Closed by `]`, ` - ` or `: ` (a bare space is weak: only trusted in files that
    /// never use the others).
    strong: bool,
    /// Where the part after the header starts in the line.
    body: usize,
}

/// Bidi and byte-order marks WhatsApp sprinkles around headers and names: U+200E,
/// U+200F, U+202A–U+202E, U+2066–U+2069, U+061C, U+FEFF. Returns their length at `i`.
fn mark_len(b: &[u8], i: usize) -> usize {
    match b.get(i..i + 3) {
        Some([0xE2, 0x80, 0x8E | 0x8F | 0xAA..=0xAE]) => 3,
        Some([0xE2, 0x81, 0xA6..=0xA9]) => 3,
        Some([0xEF, 0xBB, 0xBF]) => 3,
        _ => match b.get(i..i + 2) {
            Some([0xD8, 0x9C]) => 2,
            _ => 0,
        },
    }
}

fn skip_marks(b: &[u8], mut i: usize) -> usize {
    loop {
        let n = mark_len(b, i);
        if n == 0 {
            return i;
        }
        i += n;
    }
}

/// Spaces as WhatsApp writes them: ASCII, U+00A0, U+202F, U+2009.
fn space_len(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b' ') => 1,
        Some(0xC2) if b.get(i + 1) == Some(&0xA0) => 2,
        Some(0xE2) if matches!(b.get(i + 1..i + 3), Some([0x80, 0xAF | 0x89])) => 3,
        _ => 0,
    }
}

fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    loop {
        let n = space_len(b, i);
        if n == 0 {
            return i;
        }
        i += n;
    }
}

/// A decimal digit at `i`: ASCII, Arabic-Indic (U+0660–U+0669) or Extended Arabic-Indic
/// (U+06F0–U+06F9), as (value, byte length).
fn digit(b: &[u8], i: usize) -> Option<(u32, usize)> {
    match *b.get(i)? {
        d @ b'0'..=b'9' => Some((u32::from(d - b'0'), 1)),
        0xD9 => match *b.get(i + 1)? {
            d @ 0xA0..=0xA9 => Some((u32::from(d - 0xA0), 2)),
            _ => None,
        },
        0xDB => match *b.get(i + 1)? {
            d @ 0xB0..=0xB9 => Some((u32::from(d - 0xB0), 2)),
            _ => None,
        },
        _ => None,
    }
}

/// 1 to `max` digits at `i`: (value, digit count, next index).
fn number(b: &[u8], mut i: usize, max: u8) -> Option<(u32, u8, usize)> {
    let (mut value, mut count) = (0u32, 0u8);
    while let Some((d, len)) = digit(b, i) {
        if count == max {
            return None;
        }
        value = value * 10 + d;
        count += 1;
        i += len;
    }
    (count > 0).then_some((value, count, i))
}

/// A date field separator (`/`, `.`, `-`, with marks around and an optional space after).
fn date_sep(b: &[u8], i: usize) -> Option<usize> {
    let i = skip_marks(b, i);
    match b.get(i)? {
        b'/' | b'.' | b'-' => {
            let j = skip_marks(b, i + 1);
            Some(if b.get(j) == Some(&b' ') {
                skip_marks(b, j + 1)
            } else {
                j
            })
        }
        _ => None,
    }
}

fn starts(b: &[u8], i: usize, prefix: &[u8]) -> bool {
    b.get(i..i + prefix.len()) == Some(prefix)
}

/// An AM/PM marker written before the time (Chinese, Japanese, Korean).
fn prefix_meridiem(b: &[u8], i: usize) -> Option<(Meridiem, usize)> {
    const MARKS: &[(&str, Meridiem)] = &[
        ("上午", Meridiem::Am),
        ("下午", Meridiem::Pm),
        ("午前", Meridiem::Am),
        ("午後", Meridiem::Pm),
        ("오전", Meridiem::Am),
        ("오후", Meridiem::Pm),
    ];
    MARKS.iter().find_map(|(m, which)| {
        starts(b, i, m.as_bytes()).then(|| (*which, skip_spaces(b, i + m.len())))
    })
}

/// An AM/PM marker after the time: `am`, `a.m.`, `a. m.` (any case, any space kind
/// inside), Arabic `ص`/`م`, Greek `π.μ.`/`μ.μ.`. Must not run into a letter.
fn suffix_meridiem(b: &[u8], i: usize) -> Option<(Meridiem, usize)> {
    let ends_word = |j: usize| match b.get(j) {
        None => true,
        Some(c) => {
            !c.is_ascii_alphanumeric() && *c < 0x80 || space_len(b, j) > 0 || mark_len(b, j) > 0
        }
    };
    let which = match b.get(i)? {
        b'a' | b'A' => Some(Meridiem::Am),
        b'p' | b'P' => Some(Meridiem::Pm),
        _ => None,
    };
    if let Some(which) = which {
        let mut j = i + 1;
        if b.get(j) == Some(&b'.') {
            j += 1;
        }
        j = skip_spaces(b, j);
        if matches!(b.get(j), Some(b'm' | b'M')) {
            j += 1;
            if b.get(j) == Some(&b'.') {
                j += 1;
            }
            if ends_word(j) {
                return Some((which, j));
            }
        }
        return None;
    }
    const OTHERS: &[(&str, Meridiem)] = &[
        ("ص", Meridiem::Am),
        ("م", Meridiem::Pm),
        ("π.μ.", Meridiem::Am),
        ("μ.μ.", Meridiem::Pm),
    ];
    OTHERS.iter().find_map(|(m, which)| {
        let j = i + m.len();
        (starts(b, i, m.as_bytes()) && ends_word(j)).then_some((*which, j))
    })
}

/// Whether a line could start with a header at all: after marks, a digit or `[`.
#[inline]
fn may_be_header(line: &[u8]) -> bool {
    match line.first() {
        Some(b'0'..=b'9' | b'[') => true,
        Some(0xD9 | 0xDB | 0xE2 | 0xEF | 0xD8) => {
            let i = skip_marks(line, 0);
            matches!(line.get(i), Some(b'0'..=b'9' | b'[')) || digit(line, i).is_some()
        }
        _ => false,
    }
}

/// Recognises a message header at the start of `line`.
fn match_header(line: &[u8]) -> Option<Header> {
    let b = line;
    let mut i = skip_marks(b, 0);
    let bracket = b.get(i) == Some(&b'[');
    if bracket {
        i = skip_marks(b, i + 1);
    }
    let (d0, n0, j) = number(b, i, 4)?;
    let j = date_sep(b, j)?;
    let (d1, n1, j) = number(b, j, 4)?;
    let j = date_sep(b, j)?;
    let (d2, n2, j) = number(b, j, 4)?;
    let digits = [n0, n1, n2];
    // Date fields have 1–2 digits, except one 4-digit year.
    if digits.contains(&3) || digits.iter().filter(|&&n| n == 4).count() > 1 {
        return None;
    }
    i = skip_marks(b, j);
    if b.get(i) == Some(&b'.') {
        i += 1;
    }
    // Between date and time: `,` / `،` / spaces, then maybe a short word (`klo`, `à`).
    let before = i;
    if b.get(i) == Some(&b',') {
        i += 1;
    } else if starts(b, i, "،".as_bytes()) {
        i += 2;
    }
    i = skip_marks(b, skip_spaces(b, i));
    if i == before {
        return None;
    }
    let mut meridiem = Meridiem::None;
    if let Some((m, j)) = prefix_meridiem(b, i) {
        meridiem = m;
        i = j;
    } else if digit(b, i).is_none() {
        let word_end = (i..(i + 8).min(b.len())).find(|&k| b[k] == b' ')?;
        if word_end == i || b[i..word_end].iter().any(u8::is_ascii_digit) {
            return None;
        }
        i = skip_spaces(b, word_end);
    }
    let (hour, _, j) = number(b, i, 2)?;
    if !matches!(b.get(j), Some(b':' | b'.')) {
        return None;
    }
    let (minute, mn, j) = number(b, j + 1, 2)?;
    if mn != 2 {
        return None;
    }
    i = j;
    let mut second = 0;
    if matches!(b.get(i), Some(b':' | b'.')) && digit(b, i + 1).is_some() {
        let (s, sn, j) = number(b, i + 1, 2)?;
        if sn != 2 {
            return None;
        }
        second = s;
        i = j;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
    }
    i = skip_marks(b, i);
    if meridiem == Meridiem::None {
        let j = skip_spaces(b, i);
        if let Some((m, k)) = suffix_meridiem(b, j) {
            meridiem = m;
            i = skip_marks(b, k);
        }
    }
    let strong;
    if bracket {
        let j = skip_spaces(b, i);
        if b.get(j) != Some(&b']') {
            return None;
        }
        i = skip_marks(b, j + 1);
        if b.get(i) == Some(&b' ') {
            i += 1;
        }
        strong = true;
    } else if starts(b, i, b" - ") || starts(b, i, " – ".as_bytes()) {
        i += if b[i + 1] == b'-' { 3 } else { 5 };
        strong = true;
    } else if starts(b, i, b": ") {
        i += 2;
        strong = true;
    } else if i + 2 == b.len() && starts(b, i, b" -") {
        // `31/12/23, 14:05 -` with nothing after it.
        i += 2;
        strong = true;
    } else if b.get(i) == Some(&b' ') {
        i += 1;
        strong = false;
    } else {
        return None;
    }
    Some(Header {
        date: [d0, d1, d2],
        digits,
        hour,
        minute,
        second,
        meridiem,
        strong,
        body: i,
    })
}

// ---------------------------------------------------------------------------------------
// Pass 1: date-order evidence

#[derive(Debug, Default)]
struct Evidence {
    headers: usize,
    first_header_line: usize,
    /// A first field (of two day/month fields) over 12.
    day_first: usize,
    /// A second field over 12.
    month_first: usize,
    /// Year first and the middle field over 12 / the last field over 12.
    ydm: usize,
    ymd: usize,
    /// Backward date jumps between consecutive headers under each reading.
    back_dmy: usize,
    back_mdy: usize,
    prev_dmy: u32,
    prev_mdy: u32,
    /// Headers whose 4-digit year is Gregorian-looking, and the first that is not.
    gregorian: usize,
    first_odd_year: Option<(usize, u32)>,
}

impl Evidence {
    fn add(&mut self, h: &Header, line: usize) {
        self.headers += 1;
        if self.first_header_line == 0 {
            self.first_header_line = line;
        }
        let [a, b, c] = h.date;
        let year4 = h.digits.iter().position(|&n| n == 4);
        if let Some(p) = year4 {
            let year = h.date[p];
            if (1970..=2199).contains(&year) {
                self.gregorian += 1;
            } else if self.first_odd_year.is_none() {
                self.first_odd_year = Some((line, year));
            }
        } else {
            self.gregorian += 1;
        }
        if year4 == Some(0) {
            if (13..=31).contains(&b) && c <= 12 {
                self.ydm += 1;
            } else if (13..=31).contains(&c) && b <= 12 {
                self.ymd += 1;
            }
            return;
        }
        // The two day/month fields and the year, with the year in the middle or last.
        let (p, q, y) = if year4 == Some(1) {
            (a, c, b)
        } else {
            (a, b, c)
        };
        if (13..=31).contains(&p) && q <= 12 {
            self.day_first += 1;
        } else if (13..=31).contains(&q) && p <= 12 {
            self.month_first += 1;
        }
        let dmy = y * 10_000 + q * 100 + p;
        let mdy = y * 10_000 + p * 100 + q;
        if self.headers > 1 {
            self.back_dmy += usize::from(dmy < self.prev_dmy);
            self.back_mdy += usize::from(mdy < self.prev_mdy);
        }
        self.prev_dmy = dmy;
        self.prev_mdy = mdy;
    }
}

#[derive(Debug, Default)]
struct Scan {
    strong: Evidence,
    weak: Evidence,
    first_content_line: Option<usize>,
}

/// Calls `f(line_number, line_without_eol)` for every line.
#[inline]
fn for_each_line(text: &[u8], mut f: impl FnMut(usize, usize, &[u8])) {
    let (mut start, mut number) = (0usize, 1usize);
    while start < text.len() {
        let end = memchr(b'\n', &text[start..]).map_or(text.len(), |k| start + k);
        let mut content = &text[start..end];
        if let [rest @ .., b'\r'] = content {
            content = rest;
        }
        f(number, start, content);
        start = end + 1;
        number += 1;
    }
}

fn scan(text: &[u8]) -> Scan {
    let mut scan = Scan::default();
    for_each_line(text, |number, _, line| {
        if scan.first_content_line.is_none() && line.iter().any(|c| !c.is_ascii_whitespace()) {
            scan.first_content_line = Some(number);
        }
        if !may_be_header(line) {
            return;
        }
        if let Some(h) = match_header(line) {
            if h.strong {
                &mut scan.strong
            } else {
                &mut scan.weak
            }
            .add(&h, number);
        }
    });
    scan
}

/// How the numeric fields are read, decided once per file.
#[derive(Debug, Clone, Copy)]
struct Order {
    day_first: bool,
    /// With the year first: year-day-month.
    ydm: bool,
    /// Two-digit fields only: the first is the year.
    two_digit_year_first: bool,
}

fn decide_order(
    ev: &Evidence,
    forced: Option<DateOrder>,
    problems: &mut Vec<ChatProblem>,
) -> Order {
    let ydm = ev.ydm > ev.ymd;
    let mut inferred_day_first = || match (ev.day_first, ev.month_first) {
        (0, 0) => ev.back_mdy >= ev.back_dmy,
        (_, 0) => true,
        (0, _) => false,
        (d, m) => {
            problems.push(ChatProblem {
                line: ev.first_header_line,
                message: format!(
                    "the dates mix day-first ({d} lines) and month-first ({m} lines) order; \
                         read as {}-first, choose the other with the date-order option",
                    if d >= m { "day" } else { "month" }
                ),
            });
            d >= m
        }
    };
    match forced {
        Some(DateOrder::Dmy) => Order {
            day_first: true,
            ydm,
            two_digit_year_first: false,
        },
        Some(DateOrder::Mdy) => Order {
            day_first: false,
            ydm,
            two_digit_year_first: false,
        },
        Some(DateOrder::Ymd) => Order {
            day_first: inferred_day_first(),
            ydm: false,
            two_digit_year_first: true,
        },
        None => Order {
            day_first: inferred_day_first(),
            ydm,
            two_digit_year_first: false,
        },
    }
}

fn calendar_message(year: u32) -> String {
    let which = if (2400..=2699).contains(&year) {
        format!("year {year} looks like a Buddhist-era year (Gregorian + 543)")
    } else if (1300..=1599).contains(&year) {
        format!("year {year} looks like a Hijri or Solar Hijri year")
    } else {
        format!("year {year} is outside 1970–2199")
    };
    format!(
        "{which}; only Gregorian dates can be imported: set the phone's calendar to Gregorian and export the chat again"
    )
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        _ => 28,
    }
}

/// The header's time under `order`, or why it is not a valid Gregorian date and time.
fn civil_time(h: &Header, order: Order) -> Result<CivilTime, String> {
    let [a, b, c] = h.date;
    let year4 = h.digits.iter().position(|&n| n == 4);
    let (year, month, day) = match year4 {
        Some(0) if order.ydm => (a, c, b),
        Some(0) => (a, b, c),
        Some(1) if order.day_first => (b, c, a),
        Some(1) => (b, a, c),
        None if order.two_digit_year_first => (a + 2000, b, c),
        _ => {
            let year = if year4.is_some() { c } else { c + 2000 };
            if order.day_first {
                (year, b, a)
            } else {
                (year, a, b)
            }
        }
    };
    if !(1970..=2199).contains(&year) {
        return Err(calendar_message(year));
    }
    if !(1..=12).contains(&month) {
        return Err(format!("month {month} does not exist"));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(format!("day {day} does not exist in {year}-{month:02}"));
    }
    let hour = match (h.meridiem, h.hour) {
        (Meridiem::Am, 12) => 0,
        (Meridiem::Pm, h) if h < 12 => h + 12,
        (_, h) => h,
    };
    if hour > 23 || h.minute > 59 || h.second > 59 {
        return Err(format!(
            "{:02}:{:02}:{:02} is not a time of day",
            h.hour, h.minute, h.second
        ));
    }
    // All in range, so the narrowing casts below cannot truncate.
    Ok(CivilTime {
        year: year as i16,
        month: month as u8,
        day: day as u8,
        hour: hour as u8,
        minute: h.minute as u8,
        second: h.second as u8,
    })
}

// ---------------------------------------------------------------------------------------
// Pass 2: messages

/// A message whose continuation lines are still being read.
struct Pending {
    at: CivilTime,
    line: usize,
    author: Option<(usize, usize)>,
    system: bool,
    /// Text span in the whole file: from after `Name: ` to the end of its last line.
    start: usize,
    end: usize,
}

struct Builder<'t> {
    text: &'t str,
    has_cr: bool,
    has_nul: bool,
    first_nul_line: Option<usize>,
    /// Distinct authors in order of first message, found without hashing every message.
    seen_authors: HashSet<&'t str>,
    participants: Vec<&'t str>,
    last_author: Option<&'t str>,
}

fn build(
    text: &str,
    accept_weak: bool,
    order: Order,
    export: &mut ChatExport,
    sink: &mut impl Sink,
) {
    let bytes = text.as_bytes();
    let mut b = Builder {
        text,
        has_cr: memchr(b'\r', bytes).is_some(),
        has_nul: memchr(0, bytes).is_some(),
        first_nul_line: None,
        seen_authors: HashSet::new(),
        participants: Vec::new(),
        last_author: None,
    };
    let mut pending: Option<Pending> = None;
    let mut skipping = false;
    // Lines before the first header: (first line, count, first text).
    let mut preamble: Option<(usize, usize, usize)> = None;
    for_each_line(bytes, |number, start, line| {
        let header = if may_be_header(line) {
            match_header(line).filter(|h| h.strong || accept_weak)
        } else {
            None
        };
        let Some(h) = header else {
            if let Some(p) = pending.as_mut() {
                p.end = start + line.len();
            } else if !skipping {
                match preamble.as_mut() {
                    Some((_, count, _)) => *count += 1,
                    None => preamble = Some((number, 1, start)),
                }
            }
            return;
        };
        if let Some(p) = pending.take() {
            b.finish(p, sink);
        }
        match civil_time(&h, order) {
            Ok(at) => {
                skipping = false;
                pending = Some(b.start_message(at, number, start, line, &h));
            }
            Err(why) => {
                skipping = true;
                let shown = shorten(
                    &String::from_utf8_lossy(&line[..h.body.min(line.len())]),
                    40,
                );
                export.problems.push(ChatProblem {
                    line: number,
                    message: format!(
                        "`{}` is not a valid date: {why}; the message was skipped",
                        shown.trim()
                    ),
                });
            }
        }
    });
    if let Some(p) = pending.take() {
        b.finish(p, sink);
    }
    if let Some((line, count, start)) = preamble {
        let first = text
            .get(start..)
            .and_then(|t| t.lines().next())
            .unwrap_or("");
        export.problems.push(ChatProblem {
            line,
            message: format!(
                "{count} line{} before the first message header {} skipped (`{}`)",
                if count == 1 { "" } else { "s" },
                if count == 1 { "was" } else { "were" },
                shorten(first.trim(), 40)
            ),
        });
    }
    if let Some(line) = b.first_nul_line {
        export.problems.push(ChatProblem {
            line,
            message: "NUL bytes in the text were removed".to_owned(),
        });
    }
    export.problems.sort_by_key(|p| p.line);
    export.participants = b
        .participants
        .iter()
        .map(|name| ChatAuthor {
            name: (*name).to_owned(),
            id: None,
        })
        .collect();
}

/// The part after the header: `Name: text`, `Name:` (empty text) or a system line.
fn split_author(body: &[u8]) -> Option<(usize, usize)> {
    let window = &body[..body.len().min(512)];
    // The first `: ` (memchr for `:` then a look at the next byte; cheaper per line than
    // building a substring searcher).
    let mut from = 0;
    let mut colon = None;
    while let Some(k) = memchr(b':', &window[from..]) {
        let k = from + k;
        if window.get(k + 1) == Some(&b' ') {
            colon = Some(k);
            break;
        }
        from = k + 1;
    }
    let (name_end, text_start) = match colon {
        Some(k) => (k, k + 2),
        None if body.len() <= 512 && body.ends_with(b":") => (body.len() - 1, body.len()),
        None if body.len() <= 512 && body.ends_with(b":.") => (body.len() - 2, body.len()),
        None => return None,
    };
    let name = &body[..name_end];
    if name.is_empty() || unbalanced_quotes(name) {
        return None;
    }
    Some((name_end, text_start))
}

/// An opening quote without its closing one: the colon is inside a quoted subject or
/// description of a system line, not after a name.
fn unbalanced_quotes(name: &[u8]) -> bool {
    if !name.iter().any(|&c| c == b'"' || c == 0xE2) {
        return false;
    }
    let straight = name.iter().filter(|&&c| c == b'"').count();
    let open = memmem::find_iter(name, "“".as_bytes()).count();
    let close = memmem::find_iter(name, "”".as_bytes()).count();
    straight % 2 == 1 || open > close
}

fn is_encryption_notice(text: &str) -> bool {
    if !text.starts_with("Messages ") {
        return false;
    }
    let first = text.lines().next().unwrap_or("");
    first.contains("end-to-end encrypt")
}

impl<'t> Builder<'t> {
    fn start_message(
        &self,
        at: CivilTime,
        number: usize,
        start: usize,
        line: &[u8],
        h: &Header,
    ) -> Pending {
        let line_end = start + line.len();
        let body_at = start + h.body.min(line.len());
        let body = line.get(h.body..).unwrap_or_default();
        let Some((name_end, text_start)) = split_author(body) else {
            return Pending {
                at,
                line: number,
                author: None,
                system: true,
                start: body_at,
                end: line_end,
            };
        };
        let text_at = body_at + text_start;
        let system = is_encryption_notice(self.text.get(text_at..line_end).unwrap_or(""));
        let name = trim_marks_span(self.text.as_bytes(), body_at, body_at + name_end);
        Pending {
            at,
            line: number,
            author: (!system).then_some(name),
            system,
            start: text_at,
            end: line_end,
        }
    }

    fn finish(&mut self, p: Pending, sink: &mut impl Sink) {
        const EDITED: &str = "\u{200E}<This message was edited>";
        let raw = self.text.get(p.start..p.end.max(p.start)).unwrap_or("");
        // Trailing blank lines belong to no one (WhatsApp trims messages).
        let raw = raw.trim_end_matches(['\n', '\r']);
        let raw = raw.strip_prefix('\u{200E}').unwrap_or(raw);
        let (body, attachments) = if p.system {
            (Cow::Borrowed(raw), Vec::new())
        } else {
            take_media(raw)
        };
        let mut text = body.into_owned();
        if let Some(kept) = text.strip_suffix(EDITED).map(|t| t.trim_end().len()) {
            text.truncate(kept);
        }
        if self.has_cr && text.contains('\r') {
            text = text.replace("\r\n", "\n");
        }
        if self.has_nul && text.contains('\0') {
            text.retain(|c| c != '\0');
            self.first_nul_line.get_or_insert(p.line);
        }
        let author = p.author.map(|(s, e)| {
            let name = self.text.get(s..e).unwrap_or("");
            if self.last_author != Some(name) {
                // Most chats have a handful of people: a short list beats hashing.
                let new = if self.participants.len() <= 16 {
                    !self.participants.contains(&name)
                } else {
                    if self.seen_authors.is_empty() {
                        self.seen_authors.extend(self.participants.iter().copied());
                    }
                    self.seen_authors.insert(name)
                };
                if new {
                    self.participants.push(name);
                }
            }
            self.last_author = Some(name);
            ChatAuthor {
                name: name.to_owned(),
                id: None,
            }
        });
        sink.push(ChatMessage {
            at: ChatTime::Local(p.at),
            author,
            kind: if p.system {
                ChatKind::System
            } else {
                ChatKind::Message
            },
            text,
            attachments,
            line: p.line,
        });
    }
}

/// `[s, e)` without bidi marks and spaces at either end.
fn trim_marks_span(b: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    loop {
        let n = mark_len(b, s).max(space_len(b, s));
        if n == 0 || s + n > e {
            break;
        }
        s += n;
    }
    loop {
        let n = [3usize, 2, 1]
            .into_iter()
            .find(|&n| e >= s + n && (mark_len(b, e - n) == n || space_len(b, e - n) == n))
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        e -= n;
    }
    (s, e)
}

// ---------------------------------------------------------------------------------------
// Media markers

/// `<Media omitted>` and its translations: media left out of the export, no name.
const MEDIA_OMITTED: &[&str] = &[
    "Media omitted",
    "Medien ausgeschlossen",
    "Multimedia omitido",
    "Médias omis",
    "Mídia oculta",
    "Media omessi",
    "Media weggelaten",
];
/// `NAME (file attached)` and its translations.
const FILE_ATTACHED: &[&str] = &[
    "file attached",
    "Datei angehängt",
    "archivo adjunto",
    "fichier joint",
    "arquivo anexado",
    "file allegato",
    "bestand bijgevoegd",
];
/// iOS exports without media: `image omitted` and friends, with the kind they mean.
const IOS_OMITTED: &[(&str, &str)] = &[
    ("image omitted", "photo"),
    ("video omitted", "video"),
    ("audio omitted", "audio"),
    ("sticker omitted", "sticker"),
    ("GIF omitted", "gif"),
    ("document omitted", "document"),
    ("Contact card omitted", "contact"),
];

/// The kind of a media file from its name.
pub fn media_kind(file_name: &str) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    if file_name.starts_with("STK-") {
        return "sticker";
    }
    match ext.as_str() {
        "jpg" | "jpeg" | "png" | "heic" | "heif" | "bmp" | "tif" | "tiff" => "photo",
        "webp" => "sticker",
        "gif" => "gif",
        "mp4" | "mov" | "3gp" | "mkv" | "avi" | "webm" | "m4v" => "video",
        "opus" | "ogg" | "m4a" | "mp3" | "aac" | "amr" | "wav" | "flac" => "audio",
        "pdf" | "doc" | "docx" | "xls" | "xlsx" | "ppt" | "pptx" | "odt" | "ods" | "txt"
        | "csv" | "rtf" | "zip" | "rar" | "7z" | "apk" => "document",
        "vcf" => "contact",
        _ => "other",
    }
}

fn strip_marks_str(s: &str) -> &str {
    s.trim_matches(|c: char| {
        c.is_whitespace()
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}' | '\u{FEFF}')
    })
}

fn attachment(filename: Option<&str>, kind: Option<&'static str>) -> ChatAttachment {
    let filename = filename.map(strip_marks_str).filter(|n| !n.is_empty());
    ChatAttachment {
        kind: kind
            .unwrap_or_else(|| filename.map_or("other", media_kind))
            .to_owned(),
        filename: filename.map(str::to_owned),
        data: None,
    }
}

/// Finds a media marker on the first line of a message's text and returns the text
/// without it, plus the attachment.
fn take_media(text: &str) -> (Cow<'_, str>, Vec<ChatAttachment>) {
    let (first, rest) = match memchr(b'\n', text.as_bytes()) {
        Some(k) => (&text[..k], Some(&text[k + 1..])),
        None => (text, None),
    };
    let Some((before, found, after)) = media_marker(first) else {
        return (Cow::Borrowed(text), Vec::new());
    };
    let kept = format!(
        "{}{}{}",
        strip_marks_str(before),
        if before.trim().is_empty() || after.trim().is_empty() {
            ""
        } else {
            " "
        },
        strip_marks_str(after)
    );
    let joined = match rest {
        Some(rest) if kept.is_empty() => rest.to_owned(),
        Some(rest) => format!("{kept}\n{rest}"),
        None => kept,
    };
    (Cow::Owned(joined), vec![found])
}

/// (text before the marker, the attachment, text after) for the first marker on `line`.
fn media_marker(line: &str) -> Option<(&str, ChatAttachment, &str)> {
    // `image omitted` and friends are short: skip the comparison for ordinary lines.
    if line.len() <= 40 {
        let bare = strip_marks_str(line);
        if let Some(&(_, kind)) = IOS_OMITTED.iter().find(|(w, _)| *w == bare) {
            return Some(("", attachment(None, Some(kind)), ""));
        }
    }
    // `<…>` forms: `<attached: NAME>`, `NAME <attached>`, `<Media omitted>`.
    for open in memchr::memchr_iter(b'<', line.as_bytes()) {
        if let Some(len) = memchr(b'>', &line.as_bytes()[open..]) {
            let inner = strip_marks_str(&line[open + 1..open + len]);
            let before = &line[..open];
            let after = &line[open + len + 1..];
            if let Some(name) = inner.strip_prefix("attached:") {
                return Some((before, attachment(Some(name), None), after));
            }
            if inner == "attached" && !strip_marks_str(before).is_empty() {
                return Some(("", attachment(Some(before), None), after));
            }
            if MEDIA_OMITTED.contains(&inner) {
                return Some((before, attachment(None, Some("other")), after));
            }
        }
    }
    // `NAME (file attached)`.
    let trimmed = line.trim_end();
    if trimmed.ends_with(')') {
        for word in FILE_ATTACHED {
            let Some(name) = trimmed
                .strip_suffix(')')
                .and_then(|t| t.strip_suffix(word))
                .and_then(|t| t.strip_suffix(" ("))
            else {
                continue;
            };
            if !strip_marks_str(name).is_empty() {
                return Some(("", attachment(Some(name), None), ""));
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// Small helpers

fn nth_line(text: &str, n: usize) -> Option<&str> {
    text.lines().nth(n.checked_sub(1)?)
}

/// At most `max` chars, with `…` when cut.
fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> ChatExport {
        parse_whatsapp(text.as_bytes(), &WhatsappOptions::default()).expect("parses")
    }

    fn at(m: &ChatMessage) -> String {
        match m.at {
            ChatTime::Local(t) => t.to_string(),
            ChatTime::Utc(ms) => format!("utc {ms}"),
        }
    }

    fn name(m: &ChatMessage) -> Option<&str> {
        m.author.as_ref().map(|a| a.name.as_str())
    }

    /// A 10 MB single line parses in bounded time (no quadratic scan) and stays one
    /// message; 10 MB of text with no header is a FormatError for line 1.
    #[test]
    fn ten_megabyte_line() {
        let long = "x".repeat(10 << 20);
        let export = parse(&format!("01/02/2020, 10:00 - Ana: {long}"));
        assert_eq!(export.messages.len(), 1);
        assert_eq!(export.messages[0].text.len(), 10 << 20);
        let err =
            parse_whatsapp(long.as_bytes(), &WhatsappOptions::default()).expect_err("no header");
        assert_eq!((err.format, err.line), (FORMAT, 1));
        assert!(
            err.message.contains("expected a message header"),
            "{}",
            err.message
        );
    }

    /// NUL bytes are dropped from the text, with one problem naming the first line.
    #[test]
    fn nul_bytes_are_removed_with_a_problem() {
        let export = parse("01/02/2020, 10:00 - Ana: a\0b\n01/02/2020, 10:01 - Ana: \0\0c\n");
        let texts: Vec<&str> = export.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["ab", "c"]);
        assert_eq!(export.problems.len(), 1, "{:?}", export.problems);
        assert_eq!(export.problems[0].line, 1);
        assert!(export.problems[0].message.contains("NUL"));
    }

    /// Invalid UTF-8 is replaced with U+FFFD and reported once with its line; the rest
    /// of the file is kept.
    #[test]
    fn invalid_utf8_is_lossy_with_a_problem() {
        let bytes = b"01/02/2020, 10:00 - Ana: ok\n01/02/2020, 10:01 - Ana: bad \xff\xfe here\n";
        let export = parse_whatsapp(bytes, &WhatsappOptions::default()).expect("parses");
        assert_eq!(export.messages.len(), 2);
        assert_eq!(export.messages[1].text, "bad \u{fffd}\u{fffd} here");
        assert_eq!(export.problems.len(), 1);
        assert_eq!(export.problems[0].line, 2);
        assert!(export.problems[0].message.contains("UTF-8"));
    }

    /// A header-looking line with month 13 (in a file that is day-first by evidence) is
    /// a problem naming its line; that message and its continuation lines are skipped,
    /// the next message is kept.
    #[test]
    fn month_thirteen_is_a_problem() {
        let export = parse(
            "25/12/2020, 10:00 - Ana: fine\n14/13/2020, 10:01 - Ana: bad\nits continuation\n26/12/2020, 10:02 - Ben: next\n",
        );
        let kept: Vec<(&str, &str)> = export
            .messages
            .iter()
            .map(|m| (name(m).unwrap_or(""), m.text.as_str()))
            .collect();
        assert_eq!(kept, [("Ana", "fine"), ("Ben", "next")]);
        assert_eq!(export.problems.len(), 1, "{:?}", export.problems);
        assert_eq!(export.problems[0].line, 2);
        assert!(
            export.problems[0].message.contains("month 13"),
            "{}",
            export.problems[0].message
        );
    }

    /// Days that do not exist (31 April, 29 February 2021) and hour 25 are problems;
    /// 29 February 2020 is fine.
    #[test]
    fn impossible_days_and_times() {
        let export = parse(
            "31/04/2021, 10:00 - A: x\n29/02/2021, 10:00 - A: x\n29/02/2020, 10:00 - A: ok\n28/02/2020, 25:00 - A: x\n",
        );
        assert_eq!(export.messages.len(), 1);
        assert_eq!(at(&export.messages[0]), "2020-02-29 10:00:00");
        let lines: Vec<usize> = export.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [1, 2, 4]);
    }

    /// Text before the first header is one problem for the run of lines, not lost
    /// silently and not an error.
    #[test]
    fn lines_before_the_first_header_are_a_problem() {
        let export = parse("exported by a tool\nsecond\n01/02/2020, 10:00 - Ana: hi\n");
        assert_eq!(export.messages.len(), 1);
        assert_eq!(export.problems.len(), 1);
        assert_eq!(export.problems[0].line, 1);
        assert!(
            export.problems[0]
                .message
                .starts_with("2 lines before the first message header")
        );
    }

    /// A file with no header at all is a FormatError naming the format, the first
    /// non-empty line and what was expected.
    #[test]
    fn not_a_chat_is_a_format_error() {
        let err = parse_whatsapp(b"\n\nDear customer,\nthanks\n", &WhatsappOptions::default())
            .expect_err("not a chat");
        assert_eq!(err.line, 3);
        let shown = err.to_string();
        assert!(
            shown.contains("WhatsApp chat") && shown.contains("Dear customer"),
            "{shown}"
        );
    }

    /// An empty or blank file is an export with no messages and "the chat is empty".
    #[test]
    fn empty_file() {
        for text in ["", "\n\n", "\u{feff}", "  \r\n"] {
            let export = parse(text);
            assert!(export.messages.is_empty());
            assert_eq!(export.problems[0].message, "the chat is empty", "{text:?}");
        }
    }

    /// Buddhist-era (2563) and Hijri (1441) dates are refused as a whole-file FormatError
    /// that names the calendar; one odd year among Gregorian ones is a problem on its line.
    #[test]
    fn non_gregorian_calendars_are_reported() {
        let err = parse_whatsapp(
            b"15/04/2563, 10:00 - Ana: hi\n",
            &WhatsappOptions::default(),
        )
        .expect_err("buddhist");
        assert!(
            err.message.contains("Buddhist") && err.message.contains("Gregorian"),
            "{err}"
        );
        let err = parse_whatsapp(
            b"[1441/08/22, 10:00:00] Ana: hi\n",
            &WhatsappOptions::default(),
        )
        .expect_err("hijri");
        assert!(err.message.contains("Hijri"), "{err}");
        let export = parse("15/04/2020, 10:00 - Ana: hi\n16/04/2563, 10:00 - Ana: odd\n");
        assert_eq!(export.messages.len(), 1);
        assert_eq!(export.problems[0].line, 2);
        assert!(export.problems[0].message.contains("Buddhist"));
    }

    /// Arabic-Indic digits (with RLM marks and the Arabic comma) and Persian digits are
    /// read as numbers, `م` as PM.
    #[test]
    fn arabic_indic_digits() {
        let export = parse(
            "١٥\u{200f}/٠٤\u{200f}/٢٠٢٠، ١٠:٣٠ م - أحمد: مرحبا\n۱۶/۰۴/۲۰۲۰, ۰۹:۰۵ - Ali: salam\n",
        );
        assert!(export.problems.is_empty(), "{:?}", export.problems);
        assert_eq!(at(&export.messages[0]), "2020-04-15 22:30:00");
        assert_eq!(name(&export.messages[0]), Some("أحمد"));
        assert_eq!(export.messages[0].text, "مرحبا");
        assert_eq!(at(&export.messages[1]), "2020-04-16 09:05:00");
    }

    /// AM/PM before the time (Chinese, Korean) and after it in several spellings.
    #[test]
    fn meridiem_spellings() {
        let cases = [
            ("2020/01/15 下午3:04 - Ana: hi", "2020-01-15 15:04:00"),
            ("2020/01/15 오전 12:04 - Ana: hi", "2020-01-15 00:04:00"),
            ("15/01/2020, 12:04 a. m. - Ana: hi", "2020-01-15 00:04:00"),
            (
                "15/01/2020, 12:04\u{202f}pm - Ana: hi",
                "2020-01-15 12:04:00",
            ),
            (
                "15/01/2020, 1:04\u{a0}P.M. - Ana: hi",
                "2020-01-15 13:04:00",
            ),
            ("15/01/2020, 13:04 p.m. - Ana: hi", "2020-01-15 13:04:00"),
        ];
        for (line, want) in cases {
            let export = parse(line);
            assert!(export.problems.is_empty(), "{line}: {:?}", export.problems);
            assert_eq!(at(&export.messages[0]), want, "{line}");
            assert_eq!(export.messages[0].text, "hi", "{line}");
        }
    }

    /// With no field over 12, the reading under which the dates run forward wins
    /// (06/03, 08/05, 09/04 are June–September month-first); both readings equally
    /// ordered means day first.
    #[test]
    fn date_order_from_chronology() {
        let export =
            parse("06/03/2017, 00:45 - A: x\n08/05/2017, 01:48 - B: y\n09/04/2017, 01:50 - A: z\n");
        let months: Vec<String> = export.messages.iter().map(at).collect();
        assert_eq!(
            months,
            [
                "2017-06-03 00:45:00",
                "2017-08-05 01:48:00",
                "2017-09-04 01:50:00"
            ]
        );
        let export = parse("03/04/2017, 00:45 - A: x\n");
        assert_eq!(at(&export.messages[0]), "2017-04-03 00:45:00");
    }

    /// A file with both a first field over 12 and a second field over 12 is read by the
    /// majority, says it is mixed, and reports the minority lines as invalid dates.
    #[test]
    fn mixed_date_orders_are_reported() {
        let export =
            parse("13/01/2020, 10:00 - A: x\n14/01/2020, 10:00 - A: y\n01/15/2020, 10:00 - A: z\n");
        assert_eq!(export.messages.len(), 2);
        assert!(
            export
                .problems
                .iter()
                .any(|p| p.message.contains("mix day-first")),
            "{:?}",
            export.problems
        );
        assert!(
            export
                .problems
                .iter()
                .any(|p| p.line == 3 && p.message.contains("month 15"))
        );
    }

    /// System lines: no `Name:`, or a colon inside an unclosed quote of a subject change,
    /// are system entries without author; `Name:` alone is an empty message.
    #[test]
    fn system_lines_and_empty_bodies() {
        let export = parse(
            "01/02/2020, 10:00 - Ana changed the subject from \"a\" to \"Sale: 50%\"\n\
             01/02/2020, 10:01 - Ana: \n\
             01/02/2020, 10:02 - Ana:\n\
             01/02/2020, 10:03 - Robert \"Bob\" Smith: hello: world\n\
             01/02/2020, 10:04 - Ben joined using this group's invite link\n",
        );
        let got: Vec<(ChatKind, Option<&str>, &str)> = export
            .messages
            .iter()
            .map(|m| (m.kind, name(m), m.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    ChatKind::System,
                    None,
                    "Ana changed the subject from \"a\" to \"Sale: 50%\""
                ),
                (ChatKind::Message, Some("Ana"), ""),
                (ChatKind::Message, Some("Ana"), ""),
                (
                    ChatKind::Message,
                    Some("Robert \"Bob\" Smith"),
                    "hello: world"
                ),
                (
                    ChatKind::System,
                    None,
                    "Ben joined using this group's invite link"
                ),
            ]
        );
        let participants: Vec<&str> = export
            .participants
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(participants, ["Ana", "Robert \"Bob\" Smith"]);
    }

    /// iOS details: a leading U+200E on the line and body, a phone author wrapped in
    /// U+202A/U+202C, the edited marker, a document marker after its description.
    #[test]
    fn ios_marks_and_markers() {
        let export = parse(
            "\u{200e}[15/04/2020, 10:30:00] \u{202a}+1 555 123 4567\u{202c}: hi there \u{200e}<This message was edited>\n\
             [15/04/2020, 10:31:00] Ana: Invoice.pdf • 1 page \u{200e}<attached: 00000034-Invoice.pdf>\n\
             [15/04/2020, 10:32:00] Ana: \u{200e}video omitted\n\
             [15/04/2020, 10:33:00] Ana: <Media omitted>\n",
        );
        assert!(export.problems.is_empty(), "{:?}", export.problems);
        let m = &export.messages;
        assert_eq!(
            (name(&m[0]), m[0].text.as_str()),
            (Some("+1 555 123 4567"), "hi there")
        );
        assert_eq!(m[1].text, "Invoice.pdf • 1 page");
        assert_eq!(
            m[1].attachments[0].filename.as_deref(),
            Some("00000034-Invoice.pdf")
        );
        assert_eq!(m[1].attachments[0].kind, "document");
        assert_eq!(
            (
                m[2].attachments[0].kind.as_str(),
                m[2].attachments[0].filename.as_deref(),
                m[2].text.as_str()
            ),
            ("video", None, "")
        );
        assert_eq!(
            (m[3].attachments[0].kind.as_str(), m[3].text.as_str()),
            ("other", "")
        );
    }

    /// Media kinds follow the file name.
    #[test]
    fn media_kinds() {
        let kinds: Vec<&str> = [
            "IMG-1.jpg",
            "VID-1.mp4",
            "PTT-1.opus",
            "STK-1.webp",
            "a.PDF",
            "c.vcf",
            "x.bin",
            "noext",
        ]
        .into_iter()
        .map(media_kind)
        .collect();
        assert_eq!(
            kinds,
            [
                "photo", "video", "audio", "sticker", "document", "contact", "other", "other"
            ]
        );
    }

    /// CRLF files give `\n` inside texts and no `\r` anywhere; blank lines inside a
    /// message are kept, trailing blank lines dropped; UTF-16LE with a byte-order mark
    /// is decoded.
    #[test]
    fn line_endings_and_utf16() {
        let text =
            "01/02/2020, 10:00 - Ana: one\r\n\r\ntwo\r\n\r\n01/02/2020, 10:01 - Ben: three\r\n\r\n";
        let export = parse(text);
        let texts: Vec<&str> = export.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["one\n\ntwo", "three"]);
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let export = parse_whatsapp(&utf16, &WhatsappOptions::default()).expect("utf-16");
        assert_eq!(export.messages.len(), 2);
        assert_eq!(export.messages[1].text, "three");
    }

    /// A continuation line that looks like a header closed by a bare space (the Croatian
    /// style) stays text in a file whose headers use ` - `; in a file of bare-space
    /// headers it is a header.
    #[test]
    fn bare_space_headers_only_when_the_file_uses_them() {
        let export =
            parse("13.06.2018, 21:25 - a: see below\n13. 6. 2018. 21:25:15 was the time\n");
        assert_eq!(export.messages.len(), 1);
        assert_eq!(
            export.messages[0].text,
            "see below\n13. 6. 2018. 21:25:15 was the time"
        );
        let export = parse("13. 6. 2018. 21:25:15 a: one\n14. 6. 2018. 08:00:00 b: two\n");
        let got: Vec<(Option<&str>, &str)> = export
            .messages
            .iter()
            .map(|m| (name(m), m.text.as_str()))
            .collect();
        assert_eq!(got, [(Some("a"), "one"), (Some("b"), "two")]);
    }

    /// The streaming form hands over exactly the messages `parse_whatsapp` collects, in
    /// order, and returns the same export otherwise (participants, problems).
    #[test]
    fn each_message_matches_the_collected_parse() {
        let text = "x\n01/02/2020, 10:00 - Ana: one\nmore\n01/02/2020, 10:01 - Ben: <Media omitted>\n01/02/2020, 10:02 - Ana left\n";
        let whole = parse(text);
        let mut streamed = Vec::new();
        let rest = parse_whatsapp_each(text.as_bytes(), &WhatsappOptions::default(), |m| {
            streamed.push(m)
        })
        .expect("parses");
        assert_eq!(streamed, whole.messages);
        assert_eq!(streamed.len(), 3);
        assert!(rest.messages.is_empty());
        assert_eq!(
            (rest.participants, rest.problems),
            (whole.participants, whole.problems)
        );
    }

    /// No input panics: every byte prefix of a sample full of edge cases (marks, multibyte
    /// digits, markers, CRLF, invalid bytes) parses or fails with a FormatError.
    #[test]
    fn no_prefix_panics() {
        let mut sample = "\u{200e}[15/04/2020, 10:30:00 p. m.] \u{202a}+1 555\u{202c}: hi\r\n١٥/٠٤/٢٠٢٠، ١٠:٣٠ م - أحمد: <attached: a.jpg>\n13. 6. 2018. 21:25:15 a: m\n2020/01/15 下午3:04 - Ana: IMG-1.jpg (file attached)\n"
            .as_bytes()
            .to_vec();
        sample.extend_from_slice(b"\xff\x00 01/02/20, 1:00\xe2\x80\xaf");
        for end in 0..=sample.len() {
            let _ = parse_whatsapp(&sample[..end], &WhatsappOptions::default());
        }
    }
}
