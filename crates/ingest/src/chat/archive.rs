//! Reading export zips (WhatsApp `.zip`, Messenger/Instagram/Telegram download archives)
//! without trusting them. Nothing is extracted to disk: entries are read into memory on
//! request, and a zip is refused when opened if any entry name could escape a folder
//! (`..`, absolute, drive or UNC paths), is a symbolic link, or the declared sizes add up
//! to more than the limit or compress implausibly well (a zip bomb). Declared sizes are
//! not trusted either: every read stops one byte past the declared size and fails if it
//! got there.
//!
//! ```no_run
//! # use shopdesk_ingest::chat::archive::SafeZip;
//! let mut zip = SafeZip::open(std::path::Path::new("WhatsApp Chat - Anna.zip"))?;
//! let text = zip.read("_chat.txt")?;
//! # Ok::<(), shopdesk_ingest::chat::archive::ArchiveError>(())
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::{Path, PathBuf};

/// What a zip may expand to before it is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// The most bytes all entries together may declare (and each read may yield).
    pub max_total_size: u64,
    /// An entry bigger than `ratio_floor` bytes may not be more than this many times its
    /// compressed size.
    pub max_ratio: u64,
    /// Entries up to this size are never refused for their ratio (a 1 MB file of zeros
    /// is harmless).
    pub ratio_floor: u64,
    /// The most entries an archive may list.
    pub max_entries: usize,
}

impl Default for ZipLimits {
    /// 2 GiB in all, 1000:1 above 100 MB, 1,000,000 entries.
    fn default() -> ZipLimits {
        ZipLimits {
            max_total_size: 2 << 30,
            max_ratio: 1000,
            ratio_floor: 100 << 20,
            max_entries: 1_000_000,
        }
    }
}

/// One entry of the archive as its central directory describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// The path inside the zip, `/`-separated (checked safe when the zip was opened).
    pub name: String,
    /// The declared uncompressed size in bytes.
    pub size: u64,
    /// The stored (compressed) size in bytes.
    pub compressed_size: u64,
    pub is_dir: bool,
}

impl EntryInfo {
    /// The last path component: `media/IMG-1.jpg` → `IMG-1.jpg`.
    pub fn file_name(&self) -> &str {
        let trimmed = self.name.trim_end_matches('/');
        trimmed.rsplit('/').next().unwrap_or(trimmed)
    }
}

/// Why a zip or one of its entries was refused. Every variant names the zip, and the
/// entry when one is at fault.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a readable zip archive: {source}", path.display())]
    NotAZip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
    #[error("{}: entry {entry:?} {reason}; the archive was refused", path.display())]
    UnsafeName {
        path: PathBuf,
        entry: String,
        reason: &'static str,
    },
    #[error("{}: entry {entry:?} is a symbolic link; the archive was refused", path.display())]
    Symlink { path: PathBuf, entry: String },
    #[error("{}: the archive lists {count} entries, more than the {limit} allowed", path.display())]
    TooManyEntries {
        path: PathBuf,
        count: usize,
        limit: usize,
    },
    #[error(
        "{}: the entries would expand to {declared} bytes, over the {limit}-byte limit; the archive was refused",
        path.display()
    )]
    TooLarge {
        path: PathBuf,
        declared: u64,
        limit: u64,
    },
    #[error(
        "{}: entry {entry:?} claims {size} bytes from {compressed} compressed (over {max_ratio}:1), a likely zip bomb; the archive was refused",
        path.display()
    )]
    Bomb {
        path: PathBuf,
        entry: String,
        size: u64,
        compressed: u64,
        max_ratio: u64,
    },
    #[error(
        "{}: entry {entry:?} inflates past the {declared} bytes its header declares; reading stopped",
        path.display()
    )]
    SizeMismatch {
        path: PathBuf,
        entry: String,
        declared: u64,
    },
    #[error("{}: no entry named {entry:?}", path.display())]
    NoSuchEntry { path: PathBuf, entry: String },
    #[error("{}: entry {entry:?}: {source}", path.display())]
    Entry {
        path: PathBuf,
        entry: String,
        source: zip::result::ZipError,
    },
}

/// A zip archive whose entry names and declared sizes were checked on opening.
pub struct SafeZip<R = BufReader<File>> {
    path: PathBuf,
    archive: zip::ZipArchive<R>,
    entries: Vec<EntryInfo>,
    by_name: HashMap<String, usize>,
    limits: ZipLimits,
}

impl<R> std::fmt::Debug for SafeZip<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SafeZip")
            .field("path", &self.path)
            .field("entries", &self.entries.len())
            .field("limits", &self.limits)
            .finish()
    }
}

impl SafeZip<BufReader<File>> {
    /// Opens the zip at `path` with the default [`ZipLimits`].
    pub fn open(path: &Path) -> Result<SafeZip<BufReader<File>>, ArchiveError> {
        SafeZip::open_with_limits(path, ZipLimits::default())
    }

    pub fn open_with_limits(
        path: &Path,
        limits: ZipLimits,
    ) -> Result<SafeZip<BufReader<File>>, ArchiveError> {
        let file = File::open(path).map_err(|source| ArchiveError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        SafeZip::from_reader(BufReader::new(file), path, limits)
    }
}

impl<R: Read + Seek> SafeZip<R> {
    /// Opens a zip from any seekable reader; `label` names it in errors (usually its path).
    pub fn from_reader(
        reader: R,
        label: impl Into<PathBuf>,
        limits: ZipLimits,
    ) -> Result<SafeZip<R>, ArchiveError> {
        let path = label.into();
        let archive = zip::ZipArchive::new(reader).map_err(|source| match source {
            zip::result::ZipError::Io(source) => ArchiveError::Io {
                path: path.clone(),
                source,
            },
            source => ArchiveError::NotAZip {
                path: path.clone(),
                source,
            },
        })?;
        if archive.len() > limits.max_entries {
            return Err(ArchiveError::TooManyEntries {
                path,
                count: archive.len(),
                limit: limits.max_entries,
            });
        }
        let mut entries = Vec::with_capacity(archive.len());
        let mut by_name = HashMap::with_capacity(archive.len());
        let mut declared: u64 = 0;
        for index in 0..archive.len() {
            let entry = archive
                .by_index_data(index)
                .map_err(|source| ArchiveError::NotAZip {
                    path: path.clone(),
                    source,
                })?;
            let name = match entry.name() {
                Ok(name) => name.into_owned(),
                Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
            };
            if let Some(reason) = unsafe_name(&name) {
                return Err(ArchiveError::UnsafeName {
                    path,
                    entry: name,
                    reason,
                });
            }
            if entry.is_symlink() {
                return Err(ArchiveError::Symlink { path, entry: name });
            }
            let (size, compressed) = (entry.size(), entry.compressed_size());
            if size > limits.ratio_floor && size / compressed.max(1) > limits.max_ratio {
                return Err(ArchiveError::Bomb {
                    path,
                    entry: name,
                    size,
                    compressed,
                    max_ratio: limits.max_ratio,
                });
            }
            declared = declared.saturating_add(size);
            if declared > limits.max_total_size {
                return Err(ArchiveError::TooLarge {
                    path,
                    declared,
                    limit: limits.max_total_size,
                });
            }
            // The first of duplicate names wins, as with most unzip tools.
            by_name.entry(name.clone()).or_insert(index);
            entries.push(EntryInfo {
                name,
                size,
                compressed_size: compressed,
                is_dir: entry.is_dir(),
            });
        }
        Ok(SafeZip {
            path,
            archive,
            entries,
            by_name,
            limits,
        })
    }

    /// The zip's path (or the label it was opened with).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry, in central-directory order.
    pub fn entries(&self) -> &[EntryInfo] {
        &self.entries
    }

    /// The entry with exactly this name.
    pub fn entry(&self, name: &str) -> Option<&EntryInfo> {
        self.by_name.get(name).and_then(|&i| self.entries.get(i))
    }

    /// The position in [`SafeZip::entries`] of the entry with exactly this name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The bytes of the entry called `name`.
    pub fn read(&mut self, name: &str) -> Result<Vec<u8>, ArchiveError> {
        match self.by_name.get(name) {
            Some(&index) => self.read_index(index),
            None => Err(ArchiveError::NoSuchEntry {
                path: self.path.clone(),
                entry: name.to_string(),
            }),
        }
    }

    /// The bytes of the `index`th entry of [`SafeZip::entries`]. Stops, with an error,
    /// as soon as the data runs past the declared size, so a lying header costs at most
    /// the declared size (itself within the limit) plus one byte.
    pub fn read_index(&mut self, index: usize) -> Result<Vec<u8>, ArchiveError> {
        let Some(info) = self.entries.get(index) else {
            return Err(ArchiveError::NoSuchEntry {
                path: self.path.clone(),
                entry: format!("#{index}"),
            });
        };
        let (name, declared) = (info.name.clone(), info.size.min(self.limits.max_total_size));
        let entry_error = |path: &Path, source| ArchiveError::Entry {
            path: path.to_path_buf(),
            entry: name.clone(),
            source,
        };
        let file = self
            .archive
            .by_index(index)
            .map_err(|e| entry_error(&self.path, e))?;
        // Grow as data arrives rather than trusting the header for the allocation.
        let mut data = Vec::with_capacity(declared.min(64 << 20) as usize);
        let read = file.take(declared.saturating_add(1)).read_to_end(&mut data);
        if data.len() as u64 > declared {
            return Err(ArchiveError::SizeMismatch {
                path: self.path.clone(),
                entry: name,
                declared,
            });
        }
        match read {
            Ok(_) => Ok(data),
            Err(e) => Err(entry_error(&self.path, zip::result::ZipError::Io(e))),
        }
    }
}

/// Why an entry name is unsafe to use as a relative path, if it is.
fn unsafe_name(name: &str) -> Option<&'static str> {
    let bytes = name.as_bytes();
    if name.is_empty() {
        return Some("has an empty name");
    }
    if bytes.contains(&0) {
        return Some("has a NUL byte in its name");
    }
    if bytes[0] == b'/' || bytes[0] == b'\\' {
        return Some("is an absolute path");
    }
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Some("starts with a drive letter");
    }
    if name.split(['/', '\\']).any(|part| part == "..") {
        return Some("climbs out of the folder with `..`");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;

    fn deflated() -> SimpleFileOptions {
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
    }

    /// A zip in memory holding `files` (name, bytes), deflated.
    fn build(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in files {
            writer.start_file(*name, deflated()).expect("start");
            writer.write_all(data).expect("write");
        }
        writer.finish().expect("finish").into_inner()
    }

    fn open(bytes: Vec<u8>, limits: ZipLimits) -> Result<SafeZip<Cursor<Vec<u8>>>, ArchiveError> {
        SafeZip::from_reader(Cursor::new(bytes), "test.zip", limits)
    }

    /// A well-formed zip lists its entries with sizes and gives back each entry's bytes;
    /// an absent name is a NoSuchEntry error naming it.
    #[test]
    fn reads_entries_back() {
        let bytes = build(&[("_chat.txt", b"hello"), ("media/IMG-1.jpg", &[1, 2, 3])]);
        let mut zip = open(bytes, ZipLimits::default()).expect("open");
        let names: Vec<_> = zip
            .entries()
            .iter()
            .map(|e| (e.name.as_str(), e.size))
            .collect();
        assert_eq!(names, [("_chat.txt", 5), ("media/IMG-1.jpg", 3)]);
        assert_eq!(zip.entries()[1].file_name(), "IMG-1.jpg");
        assert_eq!(zip.read("_chat.txt").expect("read"), b"hello");
        assert_eq!(zip.read("media/IMG-1.jpg").expect("read"), [1, 2, 3]);
        let err = zip.read("nope.txt").expect_err("absent");
        assert!(matches!(err, ArchiveError::NoSuchEntry { ref entry, .. } if entry == "nope.txt"));
        assert!(err.to_string().contains("test.zip"), "{err}");
    }

    /// Entry names that could escape a folder when extracted (`../`, absolute, drive,
    /// UNC, backslash parents) make the whole archive refused at open, and the error
    /// names the zip and the entry.
    #[test]
    fn refuses_escaping_names() {
        for evil in [
            "../evil.txt",
            "media/../../evil.txt",
            "/etc/passwd",
            "\\windows\\evil.txt",
            "C:\\evil.txt",
            "c:/evil.txt",
            "\\\\server\\share\\evil.txt",
            "a\\..\\..\\evil.txt",
        ] {
            let bytes = build(&[("_chat.txt", b"ok"), (evil, b"owned")]);
            let err = open(bytes, ZipLimits::default()).expect_err(evil);
            match &err {
                ArchiveError::UnsafeName { entry, .. } => assert_eq!(entry, evil),
                other => panic!("{evil}: expected UnsafeName, got {other:?}"),
            }
            let shown = err.to_string();
            assert!(
                shown.contains("test.zip") && shown.contains(&format!("{evil:?}")),
                "{shown}"
            );
        }
    }

    /// A symbolic link entry makes the archive refused (it could point anywhere).
    #[test]
    fn refuses_symlinks() {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        writer.start_file("_chat.txt", deflated()).expect("start");
        writer.write_all(b"ok").expect("write");
        writer
            .add_symlink("link.txt", "/etc/passwd", deflated())
            .expect("symlink");
        let bytes = writer.finish().expect("finish").into_inner();
        let err = open(bytes, ZipLimits::default()).expect_err("symlink");
        assert!(
            matches!(err, ArchiveError::Symlink { ref entry, .. } if entry == "link.txt"),
            "{err:?}"
        );
    }

    /// A zip bomb (200 MB of zeros, which deflate shrinks about 1000-fold) is refused at
    /// open, before any data is inflated: by the ratio rule with default limits, and by
    /// the declared-total rule when the limit is set below its size.
    #[test]
    fn refuses_zip_bomb_before_inflating() {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .start_file("zeros.bin", deflated().large_file(true))
            .expect("start");
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..200 {
            writer.write_all(&chunk).expect("write");
        }
        let bytes = writer.finish().expect("finish").into_inner();
        assert!(
            bytes.len() < 1 << 20,
            "bomb should be small, is {} bytes",
            bytes.len()
        );

        let err = open(bytes.clone(), ZipLimits::default()).expect_err("ratio");
        assert!(
            matches!(err, ArchiveError::Bomb { ref entry, size, .. } if entry == "zeros.bin" && size == 200 << 20),
            "{err:?}"
        );
        let low = ZipLimits {
            max_total_size: 10 << 20,
            ..ZipLimits::default()
        };
        let low_ratio = ZipLimits {
            max_ratio: u64::MAX,
            ..low
        };
        let err = open(bytes, low_ratio).expect_err("total");
        assert!(
            matches!(err, ArchiveError::TooLarge { declared, limit, .. } if declared == 200 << 20 && limit == 10 << 20),
            "{err:?}"
        );
    }

    /// Many entries each under the limit but together over it are refused at open.
    #[test]
    fn refuses_declared_total_over_limit() {
        let block = vec![7u8; 4096];
        let files: Vec<(String, &[u8])> = (0..10)
            .map(|i| (format!("part{i}.bin"), block.as_slice()))
            .collect();
        let files: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), *d)).collect();
        let limits = ZipLimits {
            max_total_size: 30_000,
            ..ZipLimits::default()
        };
        let err = open(build(&files), limits).expect_err("total");
        assert!(
            matches!(err, ArchiveError::TooLarge { limit: 30_000, .. }),
            "{err:?}"
        );
    }

    /// Overwrites the uncompressed-size field of every local and central header for the
    /// zip's entries (the zip writer is honest; attackers are not).
    fn lie_about_size(bytes: &mut [u8], size: u32) {
        let mut i = 0;
        while i + 4 <= bytes.len() {
            let at = &bytes[i..i + 4];
            if at == [0x50, 0x4b, 0x03, 0x04] {
                bytes[i + 22..i + 26].copy_from_slice(&size.to_le_bytes());
            } else if at == [0x50, 0x4b, 0x01, 0x02] {
                bytes[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
            }
            i += 1;
        }
    }

    /// An entry whose header declares 100 bytes but inflates to 1 MB passes the checks
    /// at open (its declared size is small) and is then stopped while inflating: the
    /// read fails, naming the entry, rather than returning the extra data. (The zip
    /// crate's own size check usually fires first; our `take(declared + 1)` is the
    /// backstop that does not depend on it.)
    #[test]
    fn lying_header_is_stopped_while_inflating() {
        let big = vec![b'a'; 1 << 20];
        let mut bytes = build(&[("_chat.txt", &big)]);
        lie_about_size(&mut bytes, 100);
        let limits = ZipLimits {
            max_total_size: 1000,
            ..ZipLimits::default()
        };
        let mut zip = open(bytes, limits).expect("declared sizes are within the limit");
        assert_eq!(zip.entries()[0].size, 100);
        let err = zip.read("_chat.txt").expect_err("lying header");
        match &err {
            ArchiveError::SizeMismatch {
                entry,
                declared: 100,
                ..
            } => assert_eq!(entry, "_chat.txt"),
            ArchiveError::Entry {
                entry,
                source: zip::result::ZipError::Io(io),
                ..
            } => {
                assert_eq!(entry, "_chat.txt");
                assert_eq!(io.kind(), std::io::ErrorKind::InvalidData, "{io}");
            }
            other => panic!("expected the read to be stopped, got {other:?}"),
        }
        assert!(err.to_string().contains("_chat.txt"), "{err}");
    }

    /// Bytes that are not a zip are a NotAZip error naming the file, not a panic.
    #[test]
    fn garbage_is_not_a_zip() {
        for junk in [&b""[..], b"PK\x03\x04garbage", &[0xffu8; 300]] {
            let err = open(junk.to_vec(), ZipLimits::default()).expect_err("junk");
            assert!(matches!(err, ArchiveError::NotAZip { .. }), "{err:?}");
            assert!(err.to_string().contains("test.zip"), "{err}");
        }
    }

    /// Opening from a path works and a missing file is an Io error naming the path.
    #[test]
    fn opens_from_a_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("export.zip");
        std::fs::write(&path, build(&[("_chat.txt", b"hi")])).expect("write");
        let mut zip = SafeZip::open(&path).expect("open");
        assert_eq!(zip.read("_chat.txt").expect("read"), b"hi");
        let err = SafeZip::open(&dir.path().join("absent.zip")).expect_err("absent");
        assert!(matches!(err, ArchiveError::Io { .. }) && err.to_string().contains("absent.zip"));
    }
}
