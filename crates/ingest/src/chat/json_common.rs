//! What the JSON chat parsers (Messenger/Instagram, Telegram) share: reading the bytes
//! as JSON text, turning serde errors into [`FormatError`]s, and attaching media files
//! found beside the export (in its folder or its zip) under a size budget.

use super::FormatError;
use super::archive::SafeZip;
use serde_json::Value;
use shopdesk_core::chat::{ChatExport, ChatProblem};
use std::io::{Read, Seek};
use std::path::{Component, Path, PathBuf};

/// One media file larger than this is named but not loaded (a phone video can be
/// gigabytes; the timeline only needs to know it was sent).
pub(crate) const MAX_MEDIA_FILE: u64 = 32 * 1024 * 1024;
/// All media loaded by one `read_path` call together stay under this, so a whole
/// Facebook export with years of photos cannot exhaust memory.
pub(crate) const MAX_MEDIA_TOTAL: u64 = 256 * 1024 * 1024;

/// The bytes as JSON text: a UTF-8 byte-order mark is skipped, invalid UTF-8 is refused
/// with the line it is on.
pub(crate) fn json_text<'a>(bytes: &'a [u8], format: &'static str) -> Result<&'a str, FormatError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let good = bytes.get(..e.valid_up_to()).unwrap_or_default();
        FormatError {
            format,
            line: 1 + good.iter().filter(|b| **b == b'\n').count(),
            message: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        }
    })
}

pub(crate) fn serde_error(format: &'static str, e: &serde_json::Error) -> FormatError {
    // serde_json's own message ends in "at line L column C"; the line is a field here.
    let text = e.to_string();
    let message = match text.rfind(" at line ") {
        Some(i) => text.get(..i).unwrap_or(&text).to_owned(),
        None => text,
    };
    FormatError {
        format,
        line: e.line().max(1),
        message,
    }
}

pub(crate) fn str_field<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// A JSON number or numeric string as an integer (ids and Unix times come as either).
pub(crate) fn int_field(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An id as text: `123` and `"user123"` alike.
pub(crate) fn id_field(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// A path the export names (`messages/inbox/x/photos/1.jpg`) as relative components,
/// or `None` when it could leave the folder it is resolved against (absolute, `..`) or
/// is a URL.
pub(crate) fn safe_relative(uri: &str) -> Option<PathBuf> {
    if uri.is_empty() || uri.contains("://") || uri.contains('\\') || uri.contains('\0') {
        return None;
    }
    let mut out = PathBuf::new();
    for c in Path::new(uri).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Keeps one `read_path` call's loaded media within [`MAX_MEDIA_FILE`] each and
/// [`MAX_MEDIA_TOTAL`] together.
#[derive(Debug, Default)]
pub(crate) struct MediaBudget {
    used: u64,
}

impl MediaBudget {
    /// Whether a file of `len` bytes may be loaded (and if so, counts it). A refusal is
    /// a problem of the export naming the file.
    pub(crate) fn admit(
        &mut self,
        uri: &str,
        len: u64,
        line: usize,
        export: &mut ChatExport,
    ) -> bool {
        let why = if len > MAX_MEDIA_FILE {
            format!(
                "{uri}: not attached, larger than {} MiB",
                MAX_MEDIA_FILE >> 20
            )
        } else if self.used.saturating_add(len) > MAX_MEDIA_TOTAL {
            format!(
                "{uri}: not attached, the export's media exceed {} MiB",
                MAX_MEDIA_TOTAL >> 20
            )
        } else {
            self.used += len;
            return true;
        };
        export.problems.push(ChatProblem { line, message: why });
        false
    }
}

/// Loads media files named by an export from a folder on disk, never outside `bound`
/// (symlinks resolved), within the [`MediaBudget`].
pub(crate) struct MediaLoader {
    bound: Option<PathBuf>,
    budget: MediaBudget,
}

impl MediaLoader {
    pub(crate) fn new(bound: &Path) -> MediaLoader {
        MediaLoader {
            bound: bound.canonicalize().ok(),
            budget: MediaBudget::default(),
        }
    }

    /// The bytes of `uri` resolved against the first of `bases` where it exists. A file
    /// that exists but is over a cap or unreadable becomes a problem of the export.
    pub(crate) fn load(
        &mut self,
        bases: &[PathBuf],
        uri: &str,
        line: usize,
        export: &mut ChatExport,
    ) -> Option<Vec<u8>> {
        let bound = self.bound.as_ref()?;
        let rel = safe_relative(uri)?;
        for base in bases {
            let Ok(path) = base.join(&rel).canonicalize() else {
                continue;
            };
            if !path.starts_with(bound) || !path.is_file() {
                continue;
            }
            let len = std::fs::metadata(&path)
                .map(|m| m.len())
                .unwrap_or(u64::MAX);
            if !self.budget.admit(uri, len, line, export) {
                return None;
            }
            return match std::fs::read(&path) {
                Ok(bytes) => Some(bytes),
                Err(e) => {
                    export.problems.push(ChatProblem {
                        line,
                        message: format!("{uri}: {e}"),
                    });
                    None
                }
            };
        }
        None
    }
}

/// Loads media files named by an export from entries of a zip, within the
/// [`MediaBudget`]. Entry names were checked safe when the zip was opened.
pub(crate) struct ZipMediaLoader<'z, R> {
    zip: &'z mut SafeZip<R>,
    budget: MediaBudget,
}

impl<'z, R: Read + Seek> ZipMediaLoader<'z, R> {
    pub(crate) fn new(zip: &'z mut SafeZip<R>) -> ZipMediaLoader<'z, R> {
        ZipMediaLoader {
            zip,
            budget: MediaBudget::default(),
        }
    }

    pub(crate) fn zip(&mut self) -> &mut SafeZip<R> {
        self.zip
    }

    /// The bytes of `uri` under the first of `prefixes` (`""` or `folder/…/`) naming an
    /// entry. An entry over a cap or failing to inflate becomes a problem of the export.
    pub(crate) fn load(
        &mut self,
        prefixes: &[String],
        uri: &str,
        line: usize,
        export: &mut ChatExport,
    ) -> Option<Vec<u8>> {
        let rel = safe_relative(uri)?;
        let rel: Vec<&str> = rel
            .components()
            .filter_map(|c| c.as_os_str().to_str())
            .collect();
        let rel = rel.join("/");
        for prefix in prefixes {
            let name = format!("{prefix}{rel}");
            let Some(entry) = self.zip.entry(&name).filter(|e| !e.is_dir) else {
                continue;
            };
            if !self.budget.admit(uri, entry.size, line, export) {
                return None;
            }
            return match self.zip.read(&name) {
                Ok(bytes) => Some(bytes),
                Err(e) => {
                    export.problems.push(ChatProblem {
                        line,
                        message: format!("{uri}: {e}"),
                    });
                    None
                }
            };
        }
        None
    }
}

/// `a/b/c/` → `["a/b/c/", "a/b/", "a/", ""]`: the folder of a zip entry and each above it.
pub(crate) fn zip_prefixes(dir: &str) -> Vec<String> {
    let mut out = vec![dir.to_owned()];
    let mut rest = dir.trim_end_matches('/');
    while !rest.is_empty() {
        rest = match rest.rfind('/') {
            Some(i) => rest.get(..i).unwrap_or(""),
            None => "",
        };
        out.push(if rest.is_empty() {
            String::new()
        } else {
            format!("{rest}/")
        });
    }
    out.dedup();
    out
}

/// The folder part of a zip entry name, with its trailing `/` (`""` at the top).
pub(crate) fn zip_dir(name: &str) -> &str {
    match name.rfind('/') {
        Some(i) => name.get(..=i).unwrap_or(""),
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths_are_refused() {
        assert_eq!(
            safe_relative("messages/inbox/a/photos/1.jpg"),
            Some(PathBuf::from("messages/inbox/a/photos/1.jpg"))
        );
        assert_eq!(
            safe_relative("./photos/1.jpg"),
            Some(PathBuf::from("photos/1.jpg"))
        );
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "https://x.test/a.jpg",
            "a\\..\\b",
        ] {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
    }

    #[test]
    fn zip_folders() {
        assert_eq!(zip_prefixes("a/b/c/"), ["a/b/c/", "a/b/", "a/", ""]);
        assert_eq!(zip_prefixes(""), [""]);
        assert_eq!(zip_dir("a/b/message_1.json"), "a/b/");
        assert_eq!(zip_dir("result.json"), "");
    }

    #[test]
    fn bom_is_skipped_and_bad_utf8_names_its_line() {
        assert_eq!(json_text(b"\xEF\xBB\xBF{}", "x"), Ok("{}"));
        let err = json_text(b"{\n\"a\":\n\"\xFF\"}", "x").expect_err("invalid");
        assert_eq!(err.line, 3);
    }
}
