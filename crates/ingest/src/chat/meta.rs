//! Messenger and Instagram: the `message_N.json` files of Facebook's and Instagram's
//! "Download your information" exports (the two share one format).
//!
//! What the format does that a reader must undo:
//! - Mojibake: every string is UTF-8 whose bytes were each written as a `\u00XX` char.
//!   [`fix_mojibake`] maps them back when (and only when) that gives valid UTF-8.
//! - Messages are newest first; the export is returned oldest first, and messages with
//!   the same millisecond keep the reverse of their file order (which is their real order).
//! - Reactions are nested in the message they react to. They become separate
//!   [`ChatKind::Reaction`] entries right after it (author = who reacted, text = the
//!   emoji, at = the message's time: the export has no reaction time), so the timeline
//!   shows who reacted without changing the message.
//!
//! How entries are classified:
//! - `type: "Call"` or a `call_duration` → [`ChatKind::Call`], the duration in the text.
//! - `type: "Subscribe"/"Unsubscribe"`, a `users` list (someone added or left), an
//!   unsent message (`is_unsent`), and the platform's English poll notices →
//!   [`ChatKind::System`].
//! - Instagram's "Reacted ❤️ to your message" and "Liked a message" lines →
//!   [`ChatKind::Reaction`].
//! - Everything else is a [`ChatKind::Message`]: content as text, photos, videos, audio,
//!   GIFs, files, a sticker and a shared link as attachments (file name = the `uri`, or the
//!   link). A message with neither text nor media (Facebook drops what it cannot render,
//!   e.g. an expired story reply) is kept with empty text: someone did write then.
//!
//! A message that is not an object or has no `timestamp_ms` becomes a problem naming its
//! index in `messages`; the others are kept.

use super::FormatError;
use super::archive::SafeZip;
use super::json_common::{
    MediaLoader, ZipMediaLoader, int_field, json_text, serde_error, str_field, zip_dir,
    zip_prefixes,
};
use crate::IngestError;
use serde::Deserialize;
use serde_json::Value;
use shopdesk_core::Channel;
use shopdesk_core::chat::{
    ChatAttachment, ChatAuthor, ChatExport, ChatKind, ChatMessage, ChatProblem, ChatTime,
};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The format named in errors.
pub const FORMAT: &str = "Messenger/Instagram message_N.json";

#[derive(Deserialize)]
struct RawThread {
    #[serde(default)]
    participants: Vec<Value>,
    messages: Vec<Entry>,
    #[serde(default)]
    title: Option<Value>,
    #[serde(default)]
    thread_path: Option<Value>,
}

/// One element of `messages`, converted as soon as it is read so the file is never held
/// as a whole `Value` tree: the message's time and entries (lines not yet set), or why
/// it was not readable.
struct Entry(Result<(i64, Vec<ChatMessage>), String>);

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Entry, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(Entry(if v.is_object() {
            message_entries(&v)
        } else {
            Err("is not an object".to_owned())
        }))
    }
}

/// Undoes Facebook's export encoding: a string whose chars are all ≤ U+00FF is read as
/// the bytes of UTF-8. Returned unchanged when it has a char above U+00FF (it was never
/// mangled) or its bytes are not valid UTF-8 (it really is Latin-1 text).
pub fn fix_mojibake(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    let mut bytes = Vec::with_capacity(s.len());
    for c in s.chars() {
        match u8::try_from(u32::from(c)) {
            Ok(b) => bytes.push(b),
            Err(_) => return Cow::Borrowed(s),
        }
    }
    match String::from_utf8(bytes) {
        Ok(fixed) => Cow::Owned(fixed),
        Err(_) => Cow::Borrowed(s),
    }
}

fn fixed(s: &str) -> String {
    fix_mojibake(s).into_owned()
}

fn fixed_field(v: &Value, key: &str) -> Option<String> {
    str_field(v, key).map(fixed)
}

/// Parses one `message_N.json`. Not JSON, or JSON without a `messages` array, is a
/// [`FormatError`] with the line serde stopped at; anything wrong inside a message is a
/// problem of the export.
pub fn parse_meta(bytes: &[u8], channel: Channel) -> Result<ChatExport, FormatError> {
    let text = json_text(bytes, FORMAT)?;
    let thread: RawThread = serde_json::from_str(text).map_err(|e| serde_error(FORMAT, &e))?;
    let mut export = ChatExport::new(channel);
    export.thread_id = thread
        .thread_path
        .as_ref()
        .and_then(Value::as_str)
        .map(fixed);
    export.title = thread.title.as_ref().and_then(Value::as_str).map(fixed);
    for p in &thread.participants {
        let name = match p {
            Value::String(s) => Some(fixed(s)),
            v => fixed_field(v, "name"),
        };
        if let Some(name) = name
            && !export.participants.iter().any(|p| p.name == name)
        {
            export.participants.push(ChatAuthor { name, id: None });
        }
    }

    // Each message with its reactions, in file order (newest first).
    let mut groups: Vec<(i64, Vec<ChatMessage>)> = Vec::with_capacity(thread.messages.len());
    for (index, Entry(entry)) in thread.messages.into_iter().enumerate() {
        match entry {
            Ok((at, mut entries)) => {
                entries.iter_mut().for_each(|m| m.line = index);
                groups.push((at, entries));
            }
            Err(why) => export.problems.push(ChatProblem {
                line: index,
                message: format!("message {index} {why}"),
            }),
        }
    }
    groups.reverse();
    groups.sort_by_key(|(at, _)| *at);
    export.messages = groups
        .into_iter()
        .flat_map(|(_, entries)| entries)
        .collect();
    Ok(export)
}

/// The entries one message gives: itself, then one per reaction (lines set by the caller).
fn message_entries(v: &Value) -> Result<(i64, Vec<ChatMessage>), String> {
    let Some(at) = int_field(v, "timestamp_ms") else {
        return Err("has no timestamp_ms".to_owned());
    };
    let author = fixed_field(v, "sender_name").map(|name| ChatAuthor { name, id: None });
    let content = fixed_field(v, "content").unwrap_or_default();
    let kind_field = str_field(v, "type").unwrap_or("Generic");

    let mut attachments = Vec::new();
    for (key, kind) in [
        ("photos", "photo"),
        ("videos", "video"),
        ("audio_files", "audio"),
        ("gifs", "gif"),
        ("files", "document"),
    ] {
        for item in v
            .get(key)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            attachments.push(ChatAttachment {
                filename: fixed_field(item, "uri"),
                kind: kind.to_owned(),
                data: None,
            });
        }
    }
    if let Some(sticker) = v.get("sticker").filter(|s| s.is_object()) {
        attachments.push(ChatAttachment {
            filename: fixed_field(sticker, "uri"),
            kind: "sticker".to_owned(),
            data: None,
        });
    }
    let mut text = content;
    if let Some(share) = v.get("share").filter(|s| s.is_object()) {
        if let Some(link) = fixed_field(share, "link").filter(|l| !l.is_empty()) {
            attachments.push(ChatAttachment {
                filename: Some(link),
                kind: "share".to_owned(),
                data: None,
            });
        }
        if text.is_empty() {
            text = fixed_field(share, "share_text").unwrap_or_default();
        }
    }

    let users = v
        .get("users")
        .and_then(Value::as_array)
        .is_some_and(|u| !u.is_empty());
    let unsent = v.get("is_unsent").and_then(Value::as_bool) == Some(true);
    let call_duration = int_field(v, "call_duration");
    let kind = if kind_field == "Call" || call_duration.is_some() {
        let secs = call_duration.unwrap_or(0);
        let missed = v.get("missed").and_then(Value::as_bool) == Some(true);
        let detail = if missed {
            "missed".to_owned()
        } else {
            format!("{secs} s")
        };
        text = if text.is_empty() {
            format!("Call ({detail})")
        } else {
            format!("{text} ({detail})")
        };
        ChatKind::Call
    } else if unsent {
        if text.is_empty() {
            text = "Message unsent".to_owned();
        }
        ChatKind::System
    } else if matches!(kind_field, "Subscribe" | "Unsubscribe") || users || is_poll_notice(&text) {
        ChatKind::System
    } else if let Some(emoji) = instagram_reaction(&text) {
        text = emoji;
        ChatKind::Reaction
    } else {
        ChatKind::Message
    };

    let time = ChatTime::Utc(at);
    let mut entries = vec![ChatMessage {
        at: time,
        author,
        kind,
        text,
        attachments,
        line: 0,
    }];
    for reaction in v
        .get("reactions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        entries.push(ChatMessage {
            at: time,
            author: fixed_field(reaction, "actor").map(|name| ChatAuthor { name, id: None }),
            kind: ChatKind::Reaction,
            text: fixed_field(reaction, "reaction").unwrap_or_default(),
            attachments: Vec::new(),
            line: 0,
        });
    }
    Ok((at, entries))
}

/// The notices Facebook/Instagram write into a thread when someone polls (English
/// exports; other languages stay messages).
fn is_poll_notice(text: &str) -> bool {
    text == "This poll is no longer available."
        || text.ends_with("'s poll has multiple updates.")
        || text.contains(" created a poll: ")
        || (text.ends_with(" in the poll.") && text.contains(" voted for "))
}

/// Instagram writes some reactions as lines of their own: "Reacted 😂 to your message"
/// (the emoji returned) and "Liked a message" (returned as is).
fn instagram_reaction(text: &str) -> Option<String> {
    if text == "Liked a message" {
        return Some(text.to_owned());
    }
    let emoji = text
        .strip_prefix("Reacted ")?
        .trim_end()
        .strip_suffix(" to your message")?;
    (!emoji.is_empty() && emoji.chars().count() <= 8).then(|| emoji.to_owned())
}

fn is_message_file(name: &str) -> bool {
    name.strip_prefix("message_")
        .and_then(|rest| rest.strip_suffix(".json"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn message_file_number(name: &str) -> u64 {
    name.trim_start_matches("message_")
        .trim_end_matches(".json")
        .parse()
        .unwrap_or(u64::MAX)
}

/// Merges the parsed files of one thread (any order) into one export: oldest first,
/// exact duplicates (same time, author, kind, text and attachments) dropped. `files` are
/// (number in `message_N.json`, file name, export).
pub(crate) fn merge_thread(
    mut files: Vec<(u64, String, ChatExport)>,
    channel: Channel,
) -> ChatExport {
    // message_1 holds the newest messages: the highest number goes first.
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let mut merged = ChatExport::new(channel);
    let single = files.len() == 1;
    for (_, name, export) in files {
        if merged.thread_id.is_none() {
            merged.thread_id = export.thread_id;
        }
        if merged.title.is_none() {
            merged.title = export.title;
        }
        for p in export.participants {
            if !merged.participants.contains(&p) {
                merged.participants.push(p);
            }
        }
        merged.messages.extend(export.messages);
        merged.problems.extend(export.problems.into_iter().map(|p| {
            if single {
                p
            } else {
                ChatProblem {
                    line: p.line,
                    message: format!("{name}: {}", p.message),
                }
            }
        }));
    }
    merged.messages.sort_by_key(|m| m.at);
    dedup_exact(&mut merged.messages);
    merged
}

fn same_entry(a: &ChatMessage, b: &ChatMessage) -> bool {
    a.at == b.at
        && a.author == b.author
        && a.kind == b.kind
        && a.text == b.text
        && a.attachments.len() == b.attachments.len()
        && a.attachments
            .iter()
            .zip(&b.attachments)
            .all(|(x, y)| x.filename == y.filename && x.kind == y.kind)
}

/// Drops each message that equals an earlier one with the same time, together with the
/// reactions that follow it (a message and its reactions are compared as one group, so
/// two same-millisecond messages that each got the same ❤️ keep both reactions). The
/// list is sorted by time, so only each run of equal times is compared.
fn dedup_exact(messages: &mut Vec<ChatMessage>) {
    let mut groups: Vec<Vec<ChatMessage>> = Vec::new();
    for m in messages.drain(..) {
        match groups.last_mut() {
            Some(group)
                if m.kind == ChatKind::Reaction
                    && group.first().is_some_and(|head| {
                        head.kind != ChatKind::Reaction && head.line == m.line && head.at == m.at
                    }) =>
            {
                group.push(m)
            }
            _ => groups.push(vec![m]),
        }
    }
    let same_group = |a: &[ChatMessage], b: &[ChatMessage]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_entry(x, y))
    };
    let mut kept: Vec<Vec<ChatMessage>> = Vec::with_capacity(groups.len());
    let mut run_start = 0;
    for group in groups {
        let at = group.first().map(|m| m.at);
        if kept.get(run_start).and_then(|g| g.first()).map(|m| m.at) != at {
            run_start = kept.len();
        }
        if !kept
            .get(run_start..)
            .unwrap_or_default()
            .iter()
            .any(|seen| same_group(seen, &group))
        {
            kept.push(group);
        }
    }
    *messages = kept.into_iter().flatten().collect();
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Io {
        path: path.to_owned(),
        source,
    }
}

fn format_error(path: &Path) -> impl Fn(FormatError) -> IngestError + '_ {
    move |source| IngestError::Format {
        path: path.to_owned(),
        source,
    }
}

/// Reads a Messenger/Instagram export from disk:
/// - one `message_N.json` file (one export);
/// - a thread folder holding `message_1.json`, `message_2.json`… (one export, merged);
/// - an export folder: every folder below it holding `message_N.json` files is a thread
///   (`messages/inbox/*/`, `messages/message_requests/*/`, Instagram's
///   `your_instagram_activity/messages/inbox/*/`…), one export each, sorted by path;
/// - a `.zip` of either, read through [`super::archive::SafeZip`] (nothing extracted).
///
/// Media the messages name by `uri` are attached when the file is inside the export
/// (the folder given, or up to four folders above a single file or thread folder: that
/// is where the uris are rooted; in a zip, the entry's folder and each above it), within
/// the size caps of [`super::json_common`].
pub fn read_path(path: &Path, channel: Channel) -> Result<Vec<ChatExport>, IngestError> {
    let meta = std::fs::metadata(path).map_err(io_error(path))?;
    if meta.is_file() && has_extension(path, "zip") {
        return read_zip(path, channel);
    }
    if meta.is_file() {
        let bytes = std::fs::read(path).map_err(io_error(path))?;
        let mut export = parse_meta(&bytes, channel).map_err(format_error(path))?;
        let thread_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let bound = ancestor(&thread_dir, 4);
        attach_media(&mut export, &thread_dir, &mut MediaLoader::new(&bound));
        return Ok(vec![export]);
    }
    let threads = find_thread_dirs(path).map_err(io_error(path))?;
    if threads.is_empty() {
        return Err(IngestError::NoChatExport {
            path: path.to_owned(),
            expected: FORMAT,
        });
    }
    // A thread folder given directly: its uris are rooted a few folders up.
    let bound = if threads.len() == 1 && threads[0] == path {
        ancestor(path, 4)
    } else {
        path.to_owned()
    };
    let mut loader = MediaLoader::new(&bound);
    let mut exports = Vec::with_capacity(threads.len());
    for dir in threads {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io_error(&dir))? {
            let entry = entry.map_err(io_error(&dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_message_file(&name) {
                continue;
            }
            let file = entry.path();
            let bytes = std::fs::read(&file).map_err(io_error(&file))?;
            let export = parse_meta(&bytes, channel).map_err(format_error(&file))?;
            files.push((message_file_number(&name), name, export));
        }
        let mut export = merge_thread(files, channel);
        attach_media(&mut export, &dir, &mut loader);
        exports.push(export);
    }
    Ok(exports)
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// Every folder of the zip holding `message_N.json` entries is a thread, as on disk.
fn read_zip(path: &Path, channel: Channel) -> Result<Vec<ChatExport>, IngestError> {
    let mut zip = SafeZip::open(path)?;
    // Thread folder (entry name prefix) → (N of message_N.json, entry index, entry name).
    let mut threads: BTreeMap<String, Vec<(u64, usize, String)>> = BTreeMap::new();
    for (index, entry) in zip.entries().iter().enumerate() {
        let file_name = entry.file_name();
        if entry.is_dir || !is_message_file(file_name) {
            continue;
        }
        let file = (message_file_number(file_name), index, entry.name.clone());
        threads
            .entry(zip_dir(&entry.name).to_owned())
            .or_default()
            .push(file);
    }
    if threads.is_empty() {
        return Err(IngestError::NoChatExport {
            path: path.to_owned(),
            expected: FORMAT,
        });
    }
    let mut media = ZipMediaLoader::new(&mut zip);
    let mut exports = Vec::with_capacity(threads.len());
    for (dir, entries) in threads {
        let mut files = Vec::with_capacity(entries.len());
        for (number, index, name) in entries {
            let bytes = media.zip().read_index(index)?;
            let export = parse_meta(&bytes, channel).map_err(format_error(&path.join(&name)))?;
            files.push((
                number,
                name.rsplit('/').next().unwrap_or(&name).to_owned(),
                export,
            ));
        }
        let mut export = merge_thread(files, channel);
        let prefixes = zip_prefixes(&dir);
        let mut messages = std::mem::take(&mut export.messages);
        for m in &mut messages {
            for a in m.attachments.iter_mut().filter(|a| a.kind != "share") {
                if let Some(uri) = a.filename.as_deref() {
                    a.data = media.load(&prefixes, uri, m.line, &mut export);
                }
            }
        }
        export.messages = messages;
        exports.push(export);
    }
    Ok(exports)
}

/// `levels` folders above `dir` (or the highest there is).
fn ancestor(dir: &Path, levels: usize) -> PathBuf {
    let abs = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    abs.ancestors()
        .take(levels + 1)
        .last()
        .map(Path::to_path_buf)
        .unwrap_or(abs)
}

/// Folders at most this deep below the export root are searched for threads
/// (`your_instagram_activity/messages/inbox/<thread>` is 4).
const MAX_THREAD_DEPTH: usize = 6;

/// Every folder under `root` (itself included) holding a `message_N.json`, sorted.
/// Symlinked folders are not followed.
fn find_thread_dirs(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut stack = vec![(root.to_owned(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let mut is_thread = false;
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() && depth < MAX_THREAD_DEPTH {
                stack.push((entry.path(), depth + 1));
            } else if kind.is_file() && is_message_file(&entry.file_name().to_string_lossy()) {
                is_thread = true;
            }
        }
        if is_thread {
            found.push(dir);
        }
    }
    found.sort();
    Ok(found)
}

/// Attaches the bytes of each media uri found on disk: uris are relative to the export
/// root, which is one of the thread folder's ancestors (`messages/inbox/t/photos/1.jpg`
/// from the folder above `messages`), so each ancestor within the loader's bound is tried.
fn attach_media(export: &mut ChatExport, thread_dir: &Path, loader: &mut MediaLoader) {
    let abs = thread_dir
        .canonicalize()
        .unwrap_or_else(|_| thread_dir.to_owned());
    let bases: Vec<PathBuf> = abs.ancestors().take(6).map(Path::to_path_buf).collect();
    let mut messages = std::mem::take(&mut export.messages);
    for m in &mut messages {
        for a in &mut m.attachments {
            if a.kind == "share" {
                continue;
            }
            if let Some(uri) = a.filename.as_deref() {
                a.data = loader.load(&bases, uri, m.line, export);
            }
        }
    }
    export.messages = messages;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mojibake_is_repaired_only_when_it_is_utf8() {
        assert_eq!(fix_mojibake("\u{e2}\u{9d}\u{a4}\u{ef}\u{b8}\u{8f}"), "❤️");
        assert_eq!(fix_mojibake("Zam\u{c3}\u{b3}wienie"), "Zamówienie");
        // Real Latin-1 text (é alone is not UTF-8) and text already decoded stay.
        assert_eq!(fix_mojibake("café"), "café");
        assert_eq!(fix_mojibake("שלום ❤️"), "שלום ❤️");
        // A truncated sequence is not UTF-8: kept as written.
        assert_eq!(fix_mojibake("\u{e2}\u{9d}"), "\u{e2}\u{9d}");
        assert_eq!(fix_mojibake("plain"), "plain");
    }

    #[test]
    fn message_file_names() {
        assert!(is_message_file("message_1.json"));
        assert!(is_message_file("message_12.json"));
        assert!(!is_message_file("message_.json"));
        assert!(!is_message_file("message_1.json.bak"));
        assert!(!is_message_file("messages.json"));
        assert_eq!(message_file_number("message_12.json"), 12);
    }

    fn file(json: &str) -> ChatExport {
        parse_meta(json.as_bytes(), Channel::Messenger).expect("parses")
    }

    /// Merging overlapping files drops the repeated message with its reactions, but two
    /// different same-millisecond messages that each got the same reaction keep both.
    #[test]
    fn merge_dedups_messages_with_their_reactions() {
        let newest = file(
            r#"{"messages": [
            {"sender_name": "Bob", "timestamp_ms": 5, "content": "b", "reactions": [{"reaction": "x", "actor": "Ann"}]},
            {"sender_name": "Bob", "timestamp_ms": 5, "content": "a", "reactions": [{"reaction": "x", "actor": "Ann"}]}]}"#,
        );
        let older = file(
            r#"{"messages": [
            {"sender_name": "Bob", "timestamp_ms": 5, "content": "a", "reactions": [{"reaction": "x", "actor": "Ann"}]},
            {"sender_name": "Bob", "timestamp_ms": 1, "content": "first"}]}"#,
        );
        let merged = merge_thread(
            vec![
                (1, "message_1.json".into(), newest),
                (2, "message_2.json".into(), older),
            ],
            Channel::Messenger,
        );
        let got: Vec<(&str, ChatKind)> = merged
            .messages
            .iter()
            .map(|m| (m.text.as_str(), m.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("first", ChatKind::Message),
                ("a", ChatKind::Message),
                ("x", ChatKind::Reaction),
                ("b", ChatKind::Message),
                ("x", ChatKind::Reaction),
            ]
        );
    }

    #[test]
    fn instagram_reaction_lines() {
        assert_eq!(
            instagram_reaction("Reacted 😂 to your message "),
            Some("😂".to_owned())
        );
        assert_eq!(instagram_reaction("Reacted to your message"), None);
        assert_eq!(
            instagram_reaction("Liked a message"),
            Some("Liked a message".to_owned())
        );
        assert_eq!(
            instagram_reaction("Reacted strongly to what you said in your message"),
            None
        );
    }
}
