//! What the JSON chat parsers (Messenger/Instagram, Telegram) share: reading the bytes
//! as JSON text, turning serde errors into [`FormatError`]s, and attaching media files
//! found beside the export under a size budget.

use super::FormatError;
use serde_json::Value;
use shopdesk_core::chat::{ChatExport, ChatProblem};
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

/// Loads media files named by an export from a folder on disk, never outside `bound`
/// (symlinks resolved), within [`MAX_MEDIA_FILE`] and [`MAX_MEDIA_TOTAL`].
pub(crate) struct MediaLoader {
    bound: Option<PathBuf>,
    used: u64,
}

impl MediaLoader {
    pub(crate) fn new(bound: &Path) -> MediaLoader {
        MediaLoader {
            bound: bound.canonicalize().ok(),
            used: 0,
        }
    }

    /// The bytes of `uri` resolved against the first of `bases` where it exists. A file
    /// that exists but is over a cap becomes a problem of the export.
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
            if len > MAX_MEDIA_FILE {
                export.problems.push(ChatProblem {
                    line,
                    message: format!(
                        "{uri}: not attached, larger than {} MiB",
                        MAX_MEDIA_FILE >> 20
                    ),
                });
                return None;
            }
            if self.used.saturating_add(len) > MAX_MEDIA_TOTAL {
                export.problems.push(ChatProblem {
                    line,
                    message: format!(
                        "{uri}: not attached, the export's media exceed {} MiB",
                        MAX_MEDIA_TOTAL >> 20
                    ),
                });
                return None;
            }
            return match std::fs::read(&path) {
                Ok(bytes) => {
                    self.used += bytes.len() as u64;
                    Some(bytes)
                }
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
    fn bom_is_skipped_and_bad_utf8_names_its_line() {
        assert_eq!(json_text(b"\xEF\xBB\xBF{}", "x"), Ok("{}"));
        let err = json_text(b"{\n\"a\":\n\"\xFF\"}", "x").expect_err("invalid");
        assert_eq!(err.line, 3);
    }
}
