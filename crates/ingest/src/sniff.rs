//! Which importer a dropped file or folder is for, so the owner can drop anything on the
//! window without saying what it is. Pure: the caller reads the first bytes and lists the
//! folder's or zip's entry names.

use serde::{Deserialize, Serialize};

/// The importers a path can go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    Mail,
    Whatsapp,
    Messenger,
    Instagram,
    Telegram,
    Orders,
}

impl ImportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::Mail => "mail",
            ImportKind::Whatsapp => "whatsapp",
            ImportKind::Messenger => "messenger",
            ImportKind::Instagram => "instagram",
            ImportKind::Telegram => "telegram",
            ImportKind::Orders => "orders",
        }
    }
}

/// The name the UI and CLI use, as [`ImportKind::as_str`] writes it.
impl std::str::FromStr for ImportKind {
    type Err = UnknownImportKind;

    fn from_str(s: &str) -> Result<ImportKind, UnknownImportKind> {
        ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| UnknownImportKind(s.to_owned()))
    }
}

const ALL: [ImportKind; 6] =
    [ImportKind::Mail, ImportKind::Whatsapp, ImportKind::Messenger, ImportKind::Instagram, ImportKind::Telegram, ImportKind::Orders];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown import kind {0:?}; use mail, whatsapp, messenger, instagram, telegram or orders")]
pub struct UnknownImportKind(pub String);

/// What the caller knows about the path.
pub struct Candidate<'a> {
    /// The full path as text (folder names such as `instagram` tell exports apart).
    pub path: &'a str,
    pub is_dir: bool,
    /// The first few KB of a file (empty for a folder).
    pub head: &'a [u8],
    /// Entry names (relative paths) of a folder or zip, possibly truncated.
    pub entries: &'a [String],
}

fn ext(name: &str) -> String {
    name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default()
}

fn base(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

/// Messenger and Instagram share one JSON shape; the export's folders tell them apart.
fn meta_kind(path: &str) -> ImportKind {
    if path.to_ascii_lowercase().contains("instagram") { ImportKind::Instagram } else { ImportKind::Messenger }
}

fn json_kind(path: &str, head: &[u8]) -> Option<ImportKind> {
    let text = String::from_utf8_lossy(head);
    if text.contains("\"date_unixtime\"") || text.contains("\"from_id\"") || text.contains("\"chats\"") {
        return Some(ImportKind::Telegram);
    }
    if text.contains("\"participants\"") || text.contains("\"timestamp_ms\"") {
        return Some(meta_kind(path));
    }
    None
}

fn entries_kind(path: &str, entries: &[String]) -> Option<ImportKind> {
    let names: Vec<&str> = entries.iter().map(|e| base(e)).collect();
    if names.contains(&"result.json") {
        return Some(ImportKind::Telegram);
    }
    if names.iter().any(|n| n.starts_with("message_") && n.ends_with(".json")) {
        let all = entries.join("/");
        return Some(meta_kind(&format!("{path}/{all}")));
    }
    if names.contains(&"_chat.txt") || (names.iter().any(|n| ext(n) == "txt") && !names.iter().any(|n| ext(n) == "eml")) {
        return Some(ImportKind::Whatsapp);
    }
    let maildir = entries.iter().any(|e| {
        let first = e.split(['/', '\\']).next().unwrap_or("");
        first == "cur" || first == "new" || e.contains("/cur/") || e.contains("/new/")
    });
    if maildir || names.iter().any(|n| matches!(ext(n).as_str(), "eml" | "mbox")) {
        return Some(ImportKind::Mail);
    }
    None
}

/// The first `max` entry names of a zip (empty when it is no readable zip: the importer
/// then says what is wrong with it).
pub fn zip_entry_names<R: std::io::Read + std::io::Seek>(reader: R, max: usize) -> Vec<String> {
    let Ok(archive) = zip::ZipArchive::new(reader) else { return Vec::new() };
    archive.file_names().take(max).filter_map(|n| n.ok().map(std::borrow::Cow::into_owned)).collect()
}

/// The importer for `c`, or `None` when nothing about it is recognised.
pub fn sniff(c: &Candidate<'_>) -> Option<ImportKind> {
    if c.is_dir {
        return entries_kind(c.path, c.entries);
    }
    match ext(c.path).as_str() {
        "csv" => return Some(ImportKind::Orders),
        "eml" | "mbox" | "mbx" => return Some(ImportKind::Mail),
        "zip" => return entries_kind(c.path, c.entries),
        "json" => return json_kind(c.path, c.head),
        _ => {}
    }
    let text = String::from_utf8_lossy(c.head);
    // An mbox starts with a "From " line; a single message with headers.
    if text.starts_with("From ") || text.lines().take(5).any(|l| l.starts_with("Received:") || l.starts_with("Message-ID:")) {
        return Some(ImportKind::Mail);
    }
    if ext(c.path) == "txt" {
        return Some(ImportKind::Whatsapp);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, head: &str) -> Option<ImportKind> {
        sniff(&Candidate { path, is_dir: false, head: head.as_bytes(), entries: &[] })
    }

    fn listing(path: &str, is_dir: bool, entries: &[&str]) -> Option<ImportKind> {
        let entries: Vec<String> = entries.iter().map(|s| (*s).to_owned()).collect();
        sniff(&Candidate { path, is_dir, head: &[], entries: &entries })
    }

    /// Each export the app imports is recognised from its name, first bytes or entries.
    #[test]
    fn recognises_every_export_kind() {
        assert_eq!(file("/x/orders_export.csv", "Name,Email"), Some(ImportKind::Orders));
        assert_eq!(file("/x/chat.txt", "12/01/2026, 10:00 - Anna: hi"), Some(ImportKind::Whatsapp));
        assert_eq!(file("/x/Inbox", "From MAILER-DAEMON Fri Jul  8 12:08:34 2011\n"), Some(ImportKind::Mail));
        assert_eq!(file("/x/result.json", "{\"name\": \"A\", \"type\": \"personal_chat\", \"messages\": [{\"from_id\": \"user1\""), Some(ImportKind::Telegram));
        assert_eq!(file("/x/inbox/anna_1/message_1.json", "{\"participants\": [{\"name\": \"Anna\"}]"), Some(ImportKind::Messenger));
        assert_eq!(
            file("/x/instagram-shop/messages/inbox/anna/message_1.json", "{\"participants\": []"),
            Some(ImportKind::Instagram)
        );
        assert_eq!(listing("/x/WhatsApp Chat with Anna.zip", false, &["_chat.txt", "IMG-1.jpg"]), Some(ImportKind::Whatsapp));
        assert_eq!(listing("/x/Takeout", true, &["a.eml", "b.eml"]), Some(ImportKind::Mail));
        assert_eq!(listing("/x/Maildir", true, &["cur", "new", "tmp"]), Some(ImportKind::Mail));
        assert_eq!(listing("/x/telegram-export", true, &["result.json", "photos/p.jpg"]), Some(ImportKind::Telegram));
    }

    /// Every kind reads back from its name; other names are refused.
    #[test]
    fn kinds_round_trip_by_name() {
        for k in ALL {
            assert_eq!(k.as_str().parse::<ImportKind>(), Ok(k));
        }
        assert!("fax".parse::<ImportKind>().is_err());
    }

    /// Something that is none of these is not guessed at.
    #[test]
    fn unknown_stays_unknown() {
        assert_eq!(file("/x/photo.jpg", "\u{ff}\u{d8}"), None);
        assert_eq!(file("/x/data.json", "{\"foo\": 1}"), None);
        assert_eq!(listing("/x/empty", true, &[]), None);
    }
}
