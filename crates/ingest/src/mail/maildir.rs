//! Maildir and Maildir++ trees (Dovecot, Courier, offlineimap, mutt).

use crate::IngestError;
use std::path::{Path, PathBuf};

/// One message file of a Maildir tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaildirEntry {
    /// `INBOX` for the root; Maildir++ `.My Folder.Nested` becomes `My Folder/Nested`.
    pub folder: String,
    pub path: PathBuf,
    /// Flag letters from the `:2,` info suffix (D draft, F flagged, P passed, R replied,
    /// S seen, T trashed), sorted.
    pub flags: String,
}

/// A Maildir has `cur` and `new` sub-folders.
pub fn is_maildir(path: &Path) -> bool {
    path.join("cur").is_dir() && path.join("new").is_dir()
}

/// Every message of the Maildir at `root` and of its Maildir++ sub-folders, sorted by
/// folder then file name so imports are deterministic.
pub fn walk_maildir(root: &Path) -> Result<Vec<MaildirEntry>, IngestError> {
    let mut folders = vec![("INBOX".to_owned(), root.to_owned())];
    for entry in std::fs::read_dir(root).map_err(io(root))? {
        let entry = entry.map_err(io(root))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(sub) = name.strip_prefix('.')
            && !sub.is_empty() && sub != "." && is_maildir(&entry.path()) {
                folders.push((sub.replace('.', "/"), entry.path()));
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
                if !entry.file_type().map_err(io(&dir))?.is_file() {
                    continue;
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    continue;
                }
                out.push(MaildirEntry { folder: folder.clone(), path: entry.path(), flags: flags(&name) });
            }
        }
    }
    out.sort_by(|a, b| (&a.folder, &a.path).cmp(&(&b.folder, &b.path)));
    Ok(out)
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Io { path: path.to_owned(), source }
}

fn flags(file_name: &str) -> String {
    let mut letters: Vec<char> = file_name
        .rsplit_once(":2,")
        .or_else(|| file_name.rsplit_once(";2,")) // the separator on file systems without ':'
        .map(|(_, f)| f.chars().filter(|c| "DFPRST".contains(*c)).collect())
        .unwrap_or_default();
    letters.sort_unstable();
    letters.dedup();
    letters.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_come_from_the_info_suffix() {
        assert_eq!(flags("1234.M1P2.host:2,SR"), "RS");
        assert_eq!(flags("1234.M1P2.host"), "");
        assert_eq!(flags("1234.host:2,TxS"), "ST");
    }
}
