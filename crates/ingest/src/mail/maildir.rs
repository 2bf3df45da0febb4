//! Maildir and Maildir++ trees (Dovecot, Courier, offlineimap, mutt): the one place in
//! the mail importers that touches the file system, and only to list files.

use crate::IngestError;
use std::path::{Path, PathBuf};

/// One message file of a Maildir tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaildirEntry {
    /// `INBOX` for the root; Maildir++ `.My Folder.Nested Folder` becomes
    /// `My Folder/Nested Folder` (IMAP modified UTF-7 names decoded).
    pub folder: String,
    pub path: PathBuf,
    /// From the `:2,` info suffix, in the order below, without repeats.
    pub flags: Vec<MaildirFlag>,
}

/// The standard Maildir flags; lowercase letters (Dovecot keywords) are not flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MaildirFlag {
    /// `D`
    Draft,
    /// `F`
    Flagged,
    /// `P`: resent, forwarded or bounced.
    Passed,
    /// `R`
    Replied,
    /// `S`
    Seen,
    /// `T`: marked for deletion.
    Trashed,
}

impl MaildirFlag {
    pub fn from_letter(letter: char) -> Option<Self> {
        Some(match letter {
            'D' => Self::Draft,
            'F' => Self::Flagged,
            'P' => Self::Passed,
            'R' => Self::Replied,
            'S' => Self::Seen,
            'T' => Self::Trashed,
            _ => return None,
        })
    }

    pub fn letter(self) -> char {
        match self {
            Self::Draft => 'D',
            Self::Flagged => 'F',
            Self::Passed => 'P',
            Self::Replied => 'R',
            Self::Seen => 'S',
            Self::Trashed => 'T',
        }
    }
}

/// The flags of a message file name: the letters after `:2,` (or `;2,`, the separator
/// on file systems without `:`). No info suffix means no flags.
pub fn parse_flags(file_name: &str) -> Vec<MaildirFlag> {
    let Some((_, letters)) = file_name.rsplit_once(":2,").or_else(|| file_name.rsplit_once(";2,")) else {
        return Vec::new();
    };
    let mut flags: Vec<MaildirFlag> = letters.chars().filter_map(MaildirFlag::from_letter).collect();
    flags.sort_unstable();
    flags.dedup();
    flags
}

/// A Maildir has `cur` and `new` sub-folders (`tmp` is often missing in copies).
pub fn is_maildir(path: &Path) -> bool {
    path.join("cur").is_dir() && path.join("new").is_dir()
}

/// Every message of the Maildir at `root` and of its Maildir++ sub-folders (the
/// dot-prefixed folders beside `cur`), sorted by folder then file name so imports are
/// deterministic.
pub fn walk_maildir(root: &Path) -> Result<Vec<MaildirEntry>, IngestError> {
    if !is_maildir(root) {
        return Err(IngestError::NotAMaildir { path: root.to_owned() });
    }
    let mut folders = vec![("INBOX".to_owned(), root.to_owned())];
    for entry in std::fs::read_dir(root).map_err(io(root))? {
        let entry = entry.map_err(io(root))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(sub) = name.strip_prefix('.') else { continue };
        let path = entry.path();
        // A sub-folder copied without one of cur/new still holds mail.
        if !sub.is_empty() && sub != "." && (path.join("cur").is_dir() || path.join("new").is_dir()) {
            folders.push((folder_name(sub), path));
        }
    }
    let mut out = Vec::new();
    for (folder, dir) in folders {
        for sub in ["cur", "new"] {
            let dir = dir.join(sub);
            if !dir.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
                let entry = entry.map_err(io(&dir))?;
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                // Hidden files are client or OS litter (.DS_Store), not messages.
                if name.starts_with('.') || !path.is_file() {
                    continue;
                }
                out.push(MaildirEntry { folder: folder.clone(), flags: parse_flags(&name), path });
            }
        }
    }
    out.sort_by(|a, b| (&a.folder, a.path.file_name(), &a.path).cmp(&(&b.folder, b.path.file_name(), &b.path)));
    Ok(out)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Io { path: path.to_owned(), source }
}

/// `My Folder.Nested Folder` -> `My Folder/Nested Folder`, each level decoded from IMAP
/// modified UTF-7 (`&BdQF1gXeBeAF1QXq-` is הזמנות) as Dovecot and Courier write non-ASCII names.
fn folder_name(dotted: &str) -> String {
    dotted.split('.').map(|level| decode_mutf7(level).unwrap_or_else(|| level.to_owned())).collect::<Vec<_>>().join("/")
}

/// RFC 3501 modified UTF-7; `None` when the name is not valid in it (then it is shown
/// as written).
fn decode_mutf7(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after.find('-')?;
        let encoded = &after[..end];
        if encoded.is_empty() {
            out.push('&');
        } else {
            out.push_str(&decode_utf16_base64(encoded)?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The modified base64 (`,` for `/`, no padding) of UTF-16BE text.
fn decode_utf16_base64(encoded: &str) -> Option<String> {
    let mut bits: u32 = 0;
    let mut bit_count = 0;
    let mut bytes = Vec::new();
    for c in encoded.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b',' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        bit_count += 6;
        if bit_count >= 8 {
            bit_count -= 8;
            bytes.push(((bits >> bit_count) & 0xff) as u8);
        }
    }
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|p| u16::from_be_bytes([p[0], p[1]])).collect();
    String::from_utf16(&units).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use MaildirFlag::*;

    /// Flags are the upper-case letters after `:2,` or `;2,`, sorted, without repeats;
    /// keywords, unknown letters and names without the suffix give none.
    #[test]
    fn flags_come_from_the_info_suffix() {
        assert_eq!(parse_flags("1234.M1P2.host:2,SR"), vec![Replied, Seen]);
        assert_eq!(parse_flags("1234.M1P2.host"), vec![]);
        assert_eq!(parse_flags("1234.host:2,TxSS"), vec![Seen, Trashed]);
        assert_eq!(parse_flags("1035478339.27041_118.foo.org,S=1000,W=1030;2,RDF,"), vec![Draft, Flagged, Replied]);
        assert_eq!(parse_flags("x:2,DFPRST"), vec![Draft, Flagged, Passed, Replied, Seen, Trashed]);
        assert_eq!(parse_flags("x:2,"), vec![]);
        for flag in [Draft, Flagged, Passed, Replied, Seen, Trashed] {
            assert_eq!(MaildirFlag::from_letter(flag.letter()), Some(flag));
        }
    }

    /// Maildir++ folder names: dots are levels, modified UTF-7 is decoded, names that are
    /// not valid modified UTF-7 are kept as written.
    #[test]
    fn folder_names_are_decoded() {
        assert_eq!(folder_name("My Folder.Nested Folder"), "My Folder/Nested Folder");
        assert_eq!(folder_name("Archive.&BdQF1gXeBeAF1QXq-"), "Archive/הזמנות");
        assert_eq!(decode_mutf7("Sent &- Received").as_deref(), Some("Sent & Received"));
        assert_eq!(decode_mutf7("Zam&APM-wienia").as_deref(), Some("Zamówienia"));
        assert_eq!(decode_mutf7("&BB8EMAQ,BDoEMA-").as_deref(), Some("Папка"));
        assert_eq!(folder_name("Broken &xyz"), "Broken &xyz");
        assert_eq!(folder_name("Odd &!!-"), "Odd &!!-");
    }

    /// A folder without cur/ and new/ is refused with a typed error naming it.
    #[test]
    fn non_maildir_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = walk_maildir(dir.path()).expect_err("not a maildir");
        assert!(matches!(err, IngestError::NotAMaildir { .. }), "{err}");
        assert!(err.to_string().contains("not a Maildir"), "{err}");
    }

    /// Root and sub-folders are read from cur/ and new/, hidden files and tmp/ skipped,
    /// and the order is folder then file name whatever the directory order.
    #[test]
    fn walks_root_and_subfolders_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for sub in ["cur", "new", "tmp", ".Orders/cur", ".Orders/new", ".Orders.2026/cur", ".Zam&APM-wienia/new"] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        for file in [
            "new/3.host",
            "cur/1.host:2,S",
            "cur/.DS_Store",
            "tmp/9.host",
            ".Orders/cur/2.host:2,FS",
            ".Orders.2026/cur/1.host:2,",
            ".Zam&APM-wienia/new/5.host",
        ] {
            std::fs::write(root.join(file), b"Subject: x\r\n\r\nx\r\n").expect("write");
        }
        let entries = walk_maildir(root).expect("walk");
        let seen: Vec<(&str, String, Vec<MaildirFlag>)> = entries
            .iter()
            .map(|e| {
                (e.folder.as_str(), e.path.file_name().expect("name").to_string_lossy().into_owned(), e.flags.clone())
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                ("INBOX", "1.host:2,S".to_owned(), vec![Seen]),
                ("INBOX", "3.host".to_owned(), vec![]),
                ("Orders", "2.host:2,FS".to_owned(), vec![Flagged, Seen]),
                ("Orders/2026", "1.host:2,".to_owned(), vec![]),
                ("Zamówienia", "5.host".to_owned(), vec![]),
            ]
        );
    }
}
