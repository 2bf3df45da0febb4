//! mbox files (mboxo/mboxrd as Thunderbird, Google Takeout and mutt write them).

/// One message of an mbox file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MboxEntry {
    /// 1-based line of its `From ` separator, for error reports (`file:line`).
    pub line: usize,
    /// The message without the separator line, `>From ` quoting undone.
    pub raw: Vec<u8>,
}

/// Splits an mbox file into messages. A message starts at a line beginning with `From `
/// that is the first line or follows an empty line (so a body line "From here on…" after
/// text does not split a message). Lines quoted as `>From `, `>>From ` lose one `>`.
/// Text before the first separator, if any, is a message of its own.
pub fn split_mbox(bytes: &[u8]) -> Vec<MboxEntry> {
    let mut entries = Vec::new();
    let mut current: Option<MboxEntry> = None;
    let mut previous_blank = true;
    for (index, line) in bytes.split_inclusive(|b| *b == b'\n').enumerate() {
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if previous_blank && content.starts_with(b"From ") {
            entries.extend(current.take().map(trim_separator_blank));
            current = Some(MboxEntry { line: index + 1, raw: Vec::new() });
            previous_blank = false;
            continue;
        }
        previous_blank = content.is_empty();
        let entry = current.get_or_insert_with(|| MboxEntry { line: index + 1, raw: Vec::new() });
        let gts = content.iter().take_while(|b| **b == b'>').count();
        if gts > 0 && content[gts..].starts_with(b"From ") {
            entry.raw.extend_from_slice(&line[1..]);
        } else {
            entry.raw.extend_from_slice(line);
        }
    }
    entries.extend(current.map(trim_separator_blank));
    entries.retain(|e| !e.raw.iter().all(u8::is_ascii_whitespace));
    entries
}

/// The blank line before the next `From ` belongs to the format, not the message.
fn trim_separator_blank(mut e: MboxEntry) -> MboxEntry {
    for ending in [&b"\r\n\r\n"[..], b"\n\n"] {
        if e.raw.ends_with(ending) {
            e.raw.truncate(e.raw.len() - ending.len() / 2);
            break;
        }
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three messages, CRLF and LF mixed, an escaped body line and a body line starting
    /// with "From " after text (not a separator); lines are those of the separators.
    #[test]
    fn splits_messages_and_unquotes() {
        let mbox = b"From a@x Mon Jan  1 00:00:00 2024\r\nSubject: one\r\n\r\nbody one\r\n>From the shop\r\n\r\n\
From b@x Mon Jan  1 00:00:01 2024\nSubject: two\n\nline\nFrom here on, not a separator\n>>From kept once\n\n\
From c@x Mon Jan  1 00:00:02 2024\nSubject: three\n\nlast\n";
        let entries = split_mbox(mbox);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries.iter().map(|e| e.line).collect::<Vec<_>>(), vec![1, 7, 14]);
        assert_eq!(entries[0].raw, b"Subject: one\r\n\r\nbody one\r\nFrom the shop\r\n");
        assert_eq!(entries[1].raw, b"Subject: two\n\nline\nFrom here on, not a separator\n>From kept once\n");
        assert_eq!(entries[2].raw, b"Subject: three\n\nlast\n");
    }

    /// A file that does not open with a separator (a cut export) still gives its first
    /// message, located at line 1; blank lines before the first separator are nothing.
    #[test]
    fn leading_block_is_a_message() {
        let entries =
            split_mbox(b"Subject: cut\n\nhalf a message\n\nFrom b@x Mon Jan  1 00:00:01 2024\nSubject: b\n\nb\n");
        assert_eq!(entries.iter().map(|e| e.line).collect::<Vec<_>>(), vec![1, 5]);
        assert_eq!(entries[0].raw, b"Subject: cut\n\nhalf a message\n");
        let entries = split_mbox(b"\n\r\nFrom a@x Mon Jan  1 00:00:00 2024\nSubject: a\n\na\n");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].line, 3);
    }

    /// CRLF files split like LF ones and keep their line endings; ">From" in headers and
    /// at the very end is unquoted too.
    #[test]
    fn crlf_file() {
        let entries = split_mbox(b"From a@x Mon Jan  1 00:00:00 2024\r\nSubject: a\r\n\r\n>From x\r\n\r\nFrom b@x Mon Jan  1 00:00:01 2024\r\nSubject: b\r\n\r\n>>>From y");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].raw, b"Subject: a\r\n\r\nFrom x\r\n");
        assert_eq!(entries[1].raw, b"Subject: b\r\n\r\n>>From y");
        assert_eq!(entries[1].line, 6);
    }

    /// Nothing, or only separators, gives no messages.
    #[test]
    fn empty_and_separator_only_files_give_nothing() {
        assert!(split_mbox(b"").is_empty());
        assert!(split_mbox(b"From x\n\n").is_empty());
    }
}
