//! Telegram Desktop's JSON export (`result.json`): a single chat (top-level `messages`)
//! or a whole account (`chats.list[]`, and `left_chats.list[]` when present), one
//! [`ChatExport`] per chat.
//!
//! - `text` is a string or a list of strings and `{type, text}` entities; it is
//!   flattened by concatenation, since the plain strings carry Telegram's own spacing.
//!   Two formatted parts that meet with no whitespace between them get one space (the
//!   export writes `[bold "Link:", link "https://…"]` for "Link: https://…").
//! - Time: `date_unixtime` (seconds, UTC) when present, else `date`, which is wall-clock
//!   time with no zone ([`ChatTime::Local`]).
//! - `type: "service"` entries are [`ChatKind::System`] events (author = the actor) whose
//!   text says what happened ("created group “Shop”"); `phone_call`/`group_call` are
//!   [`ChatKind::Call`] with the duration or why it ended.
//! - `photo`, `file` (kind from `media_type`), locations and contacts are attachments;
//!   a poll's question is added to the text.
//!
//! An entry that is not an object or has no usable date is a problem naming its index
//! in its chat's `messages`; the rest is kept. A chat in `chats.list` that is not an
//! object at all is the wrong shape: a [`FormatError`].

use super::FormatError;
use super::archive::SafeZip;
use super::json_common::{
    MediaLoader, ZipMediaLoader, id_field, int_field, json_text, serde_error, str_field, zip_dir,
};
use crate::IngestError;
use serde::Deserialize;
use serde_json::Value;
use shopdesk_core::Channel;
use shopdesk_core::chat::{
    ChatAttachment, ChatAuthor, ChatExport, ChatKind, ChatMessage, ChatProblem, ChatTime, CivilTime,
};
use std::path::{Path, PathBuf};

/// The format named in errors.
pub const FORMAT: &str = "Telegram Desktop result.json";

#[derive(Deserialize)]
struct RawRoot {
    #[serde(default)]
    messages: Option<Vec<Entry>>,
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, rename = "type")]
    kind: Option<Value>,
    #[serde(default)]
    chats: Option<RawList>,
    #[serde(default)]
    left_chats: Option<RawList>,
}

#[derive(Deserialize)]
struct RawList {
    #[serde(default)]
    list: Vec<RawChat>,
}

#[derive(Deserialize)]
struct RawChat {
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, rename = "type")]
    kind: Option<Value>,
    #[serde(default)]
    messages: Vec<Entry>,
}

/// One element of `messages`, converted as soon as it is read so a full-account export
/// is never held as a whole `Value` tree: the message (line not yet set), or why it was
/// not readable.
struct Entry(Result<ChatMessage, String>);

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Entry, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(Entry(if v.is_object() {
            message(&v)
        } else {
            Err("is not an object".to_owned())
        }))
    }
}

/// Parses a `result.json`. Not JSON, JSON with neither `messages` nor `chats.list`, or
/// a chat that is not an object, is a [`FormatError`] with the line serde stopped at.
pub fn parse_telegram(bytes: &[u8]) -> Result<Vec<ChatExport>, FormatError> {
    let text = json_text(bytes, FORMAT)?;
    let root: RawRoot = serde_json::from_str(text).map_err(|e| serde_error(FORMAT, &e))?;
    if let Some(messages) = root.messages {
        let chat = RawChat {
            name: root.name,
            id: root.id,
            kind: root.kind,
            messages,
        };
        return Ok(vec![chat_export(chat)]);
    }
    if root.chats.is_none() && root.left_chats.is_none() {
        return Err(FormatError {
            format: FORMAT,
            line: 1,
            message:
                "neither `messages` (one chat) nor `chats.list` (whole account) at the top level"
                    .to_owned(),
        });
    }
    let chats = root
        .chats
        .into_iter()
        .chain(root.left_chats)
        .flat_map(|l| l.list);
    Ok(chats.map(chat_export).collect())
}

fn chat_export(chat: RawChat) -> ChatExport {
    let mut export = ChatExport::new(Channel::Telegram);
    export.title = chat
        .name
        .as_ref()
        .and_then(Value::as_str)
        .map(str::to_owned);
    export.thread_id = match &chat.id {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    // A personal chat is named after the other person, whose user id is the chat id.
    if chat.kind.as_ref().and_then(Value::as_str) == Some("personal_chat")
        && let Some(name) = &export.title
    {
        let id = export.thread_id.as_ref().map(|id| format!("user{id}"));
        export.participants.push(ChatAuthor {
            name: name.clone(),
            id,
        });
    }
    for (index, Entry(entry)) in chat.messages.into_iter().enumerate() {
        match entry {
            Ok(m) => export.messages.push(ChatMessage { line: index, ..m }),
            Err(why) => export.problems.push(ChatProblem {
                line: index,
                message: format!("message {index} {why}"),
            }),
        }
    }
    // Telegram writes oldest first; a stable sort only repairs stray entries.
    export.messages.sort_by_key(|m| m.at);
    export
}

fn message(v: &Value) -> Result<ChatMessage, String> {
    let at = time(v).ok_or_else(|| "has no date_unixtime or date".to_owned())?;
    let service = str_field(v, "type") == Some("service");
    let author = if service {
        author(v, "actor", "actor_id")
    } else {
        author(v, "from", "from_id")
    };
    let mut text = flatten_text(v.get("text"));
    let mut kind = ChatKind::Message;
    if service {
        let (event_kind, summary) = service_summary(v);
        kind = event_kind;
        text = if text.is_empty() {
            summary
        } else {
            format!("{summary}\n{text}")
        };
    }
    if let Some(question) = v.get("poll").and_then(|p| str_field(p, "question")) {
        push_paragraph(&mut text, &format!("Poll: {question}"));
    }
    Ok(ChatMessage {
        at,
        author,
        kind,
        text,
        attachments: attachments(v),
        line: 0,
    })
}

fn time(v: &Value) -> Option<ChatTime> {
    if let Some(secs) = int_field(v, "date_unixtime") {
        return secs.checked_mul(1000).map(ChatTime::Utc);
    }
    str_field(v, "date")
        .and_then(civil_time)
        .map(ChatTime::Local)
}

/// `2018-12-05T11:39:10` (Telegram's `date`), range-checked.
fn civil_time(s: &str) -> Option<CivilTime> {
    let (date, clock) = s.split_once('T').or_else(|| s.split_once(' '))?;
    let mut d = date.splitn(3, '-');
    let mut t = clock.splitn(3, ':');
    let year: i16 = d.next()?.parse().ok()?;
    let month: u8 = d.next()?.parse().ok()?;
    let day: u8 = d.next()?.parse().ok()?;
    let hour: u8 = t.next()?.parse().ok()?;
    let minute: u8 = t.next()?.parse().ok()?;
    let second: u8 = t
        .next()
        .unwrap_or("0")
        .get(..2)
        .unwrap_or("0")
        .parse()
        .ok()?;
    let ok = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    ok.then_some(CivilTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

/// The name (`from`, which is null for deleted accounts) and id (`from_id`, `user123`).
fn author(v: &Value, name_key: &str, id_key: &str) -> Option<ChatAuthor> {
    let id = id_field(v, id_key);
    let name = str_field(v, name_key)
        .map(str::to_owned)
        .or_else(|| id.clone())?;
    Some(ChatAuthor { name, id })
}

/// `text` as one string: see the module docs for the joining rule.
pub fn flatten_text(text: Option<&Value>) -> String {
    match text {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => {
            let mut out = String::new();
            let mut last_was_entity = false;
            for part in parts {
                let (piece, entity) = match part {
                    Value::String(s) => (s.as_str(), false),
                    Value::Object(_) => (str_field(part, "text").unwrap_or_default(), true),
                    _ => continue,
                };
                if piece.is_empty() {
                    continue;
                }
                let glued =
                    !out.ends_with(char::is_whitespace) && !piece.starts_with(char::is_whitespace);
                if entity && last_was_entity && glued && !out.is_empty() {
                    out.push(' ');
                }
                out.push_str(piece);
                last_was_entity = entity;
            }
            out
        }
        _ => String::new(),
    }
}

fn push_paragraph(text: &mut String, line: &str) {
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(line);
}

fn names(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|m| m.as_str().unwrap_or("Deleted Account"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The event kind and an English line for a service entry's `action`.
fn service_summary(v: &Value) -> (ChatKind, String) {
    let action = str_field(v, "action").unwrap_or("");
    let title = str_field(v, "title").unwrap_or("");
    let line = match action {
        "phone_call" | "group_call" => {
            let what = if action == "phone_call" {
                "Call"
            } else {
                "Group call"
            };
            let secs = int_field(v, "duration_seconds").or_else(|| int_field(v, "duration"));
            let detail = match (secs, str_field(v, "discard_reason")) {
                (Some(s), _) if s > 0 => format!("{s} s"),
                (_, Some(reason)) => reason.to_owned(),
                _ => String::new(),
            };
            let line = if detail.is_empty() {
                what.to_owned()
            } else {
                format!("{what} ({detail})")
            };
            return (ChatKind::Call, line);
        }
        "create_group" | "create_channel" => format!("created “{title}”"),
        "edit_group_title" => format!("changed the title to “{title}”"),
        "edit_group_photo" => "changed the group photo".to_owned(),
        "delete_group_photo" => "removed the group photo".to_owned(),
        "invite_members" => format!("added {}", names(v, "members")),
        "remove_members" => format!("removed {}", names(v, "members")),
        "join_group_by_link" => "joined by invite link".to_owned(),
        "join_group_by_request" => "joined after a request".to_owned(),
        "pin_message" => "pinned a message".to_owned(),
        "migrate_to_supergroup" | "migrate_from_group" => {
            "upgraded the group to a supergroup".to_owned()
        }
        "clear_history" => "cleared the history".to_owned(),
        "" => "service message".to_owned(),
        other => other.replace('_', " "),
    };
    (ChatKind::System, line)
}

/// Telegram writes this instead of a path when the file was left out of the export.
fn included_path(s: &str) -> Option<&str> {
    (!s.is_empty() && !s.starts_with('(')).then_some(s)
}

fn attachments(v: &Value) -> Vec<ChatAttachment> {
    let mut out = Vec::new();
    if let Some(photo) = str_field(v, "photo") {
        out.push(ChatAttachment {
            filename: included_path(photo).map(str::to_owned),
            kind: "photo".to_owned(),
            data: None,
        });
    }
    let media_type = str_field(v, "media_type");
    if let Some(file) = str_field(v, "file") {
        let kind = match media_type {
            Some("sticker") => "sticker",
            Some("voice_message" | "audio_file") => "audio",
            Some("video_file" | "video_message") => "video",
            Some("animation") => "gif",
            _ => "document",
        };
        let filename = included_path(file)
            .or_else(|| str_field(v, "file_name"))
            .map(str::to_owned);
        out.push(ChatAttachment {
            filename,
            kind: kind.to_owned(),
            data: None,
        });
    }
    if let Some(place) = v.get("location_information") {
        let (lat, lon) = (
            place.get("latitude").and_then(Value::as_f64),
            place.get("longitude").and_then(Value::as_f64),
        );
        let filename = lat.zip(lon).map(|(lat, lon)| format!("geo:{lat},{lon}"));
        out.push(ChatAttachment {
            filename,
            kind: "location".to_owned(),
            data: None,
        });
    }
    if let Some(contact) = v.get("contact_information") {
        let filename = str_field(contact, "phone_number")
            .filter(|p| !p.is_empty())
            .map(|p| format!("tel:{p}"));
        out.push(ChatAttachment {
            filename,
            kind: "contact".to_owned(),
            data: None,
        });
    }
    out
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads a Telegram Desktop export from disk: a `result.json` file, the export folder
/// holding it (or a folder one or two levels above it), or a `.zip` of that folder (read
/// through [`super::archive::SafeZip`], nothing extracted). Media paths in the export
/// (`photos/photo_1@05-12-2018_11-39-10.jpg`, `chats/chat_001/files/…`) are relative to
/// the folder of `result.json`; files found there are attached, within the size caps of
/// [`super::json_common`].
pub fn read_path(path: &Path) -> Result<Vec<ChatExport>, IngestError> {
    let meta = std::fs::metadata(path).map_err(io_error(path))?;
    if meta.is_file()
        && path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        return read_zip(path);
    }
    let file = if meta.is_dir() {
        find_result_json(path)
            .map_err(io_error(path))?
            .ok_or_else(|| IngestError::NoChatExport {
                path: path.to_owned(),
                expected: FORMAT,
            })?
    } else {
        path.to_owned()
    };
    let bytes = std::fs::read(&file).map_err(io_error(&file))?;
    let mut exports = parse_telegram(&bytes).map_err(|source| IngestError::Format {
        path: file.clone(),
        source,
    })?;
    drop(bytes);
    let root = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut loader = MediaLoader::new(&root);
    let bases = [root.clone()];
    attach_media(&mut exports, |name, line, export| {
        loader.load(&bases, name, line, export)
    });
    Ok(exports)
}

/// The shallowest `result.json` in the zip (then by name) is the export; its folder is
/// the media root.
fn read_zip(path: &Path) -> Result<Vec<ChatExport>, IngestError> {
    let mut zip = SafeZip::open(path)?;
    let found = zip
        .entries()
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.is_dir && e.file_name() == "result.json")
        .min_by_key(|(_, e)| (e.name.matches('/').count(), e.name.clone()))
        .map(|(i, e)| (i, e.name.clone()));
    let Some((index, name)) = found else {
        return Err(IngestError::NoChatExport {
            path: path.to_owned(),
            expected: FORMAT,
        });
    };
    let bytes = zip.read_index(index)?;
    let mut exports = parse_telegram(&bytes).map_err(|source| IngestError::Format {
        path: path.join(&name),
        source,
    })?;
    drop(bytes);
    let prefixes = [zip_dir(&name).to_owned()];
    let mut loader = ZipMediaLoader::new(&mut zip);
    attach_media(&mut exports, |uri, line, export| {
        loader.load(&prefixes, uri, line, export)
    });
    Ok(exports)
}

/// Fills in the bytes of every file attachment `load` finds (locations and contacts
/// name no file).
fn attach_media(
    exports: &mut [ChatExport],
    mut load: impl FnMut(&str, usize, &mut ChatExport) -> Option<Vec<u8>>,
) {
    for export in exports {
        let mut messages = std::mem::take(&mut export.messages);
        for m in &mut messages {
            for a in m
                .attachments
                .iter_mut()
                .filter(|a| !matches!(a.kind.as_str(), "location" | "contact"))
            {
                if let Some(name) = a.filename.as_deref() {
                    a.data = load(name, m.line, export);
                }
            }
        }
        export.messages = messages;
    }
}

/// `result.json` in `dir` or up to two folders below it (Telegram exports into
/// `ChatExport_<date>/` or `DataExport_<date>/`), the shallowest first, then by path.
fn find_result_json(dir: &Path) -> std::io::Result<Option<PathBuf>> {
    let mut level = vec![dir.to_owned()];
    for _ in 0..3 {
        let mut hits = Vec::new();
        let mut next = Vec::new();
        for d in &level {
            for entry in std::fs::read_dir(d)? {
                let entry = entry?;
                let kind = entry.file_type()?;
                if kind.is_file() && entry.file_name() == "result.json" {
                    hits.push(entry.path());
                } else if kind.is_dir() {
                    next.push(entry.path());
                }
            }
        }
        hits.sort();
        if let Some(first) = hits.into_iter().next() {
            return Ok(Some(first));
        }
        next.sort();
        level = next;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_flattening() {
        assert_eq!(flatten_text(Some(&json!("plain"))), "plain");
        assert_eq!(
            flatten_text(Some(
                &json!([{"type": "bold", "text": "Link:"}, {"type": "link", "text": "https://telegram.org/"}])
            )),
            "Link: https://telegram.org/"
        );
        // Telegram's own spacing is kept exactly.
        assert_eq!(
            flatten_text(Some(
                &json!(["Hello ", {"type": "bold", "text": "world"}, "!"])
            )),
            "Hello world!"
        );
        assert_eq!(
            flatten_text(Some(
                &json!(["see ", {"type": "link", "text": "a.test"}, " and ", {"type": "mention", "text": "@b"}])
            )),
            "see a.test and @b"
        );
        assert_eq!(flatten_text(Some(&json!([5, null, {"type": "bold"}]))), "");
        assert_eq!(flatten_text(None), "");
    }

    #[test]
    fn civil_times() {
        assert_eq!(
            civil_time("2018-12-05T11:39:10"),
            Some(CivilTime {
                year: 2018,
                month: 12,
                day: 5,
                hour: 11,
                minute: 39,
                second: 10
            })
        );
        assert_eq!(civil_time("2018-13-05T11:39:10"), None);
        assert_eq!(civil_time("yesterday"), None);
    }
}
