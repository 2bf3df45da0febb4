//! The pure half of email threading (RFC 5256 REFERENCES, with the lessons of JWZ and
//! notmuch): which ids a message points at, and when a subject alone may join a thread.
//! The store does the lookups.

use crate::{DAY, Millis};

/// How far apart two messages of one customer may be for a same-subject match to join
/// them. Beyond it, "Order question" in March and in June are different conversations.
pub const SUBJECT_WINDOW: Millis = 14 * DAY;

/// The ids a message refers to, nearest parent last: References when present, else
/// In-Reply-To (RFC 5256). The message's own id and repeats are removed, so a message
/// that names itself cannot make a cycle.
pub fn parent_ids(own: Option<&str>, references: &[String], in_reply_to: &[String]) -> Vec<String> {
    let source = if references.is_empty() { in_reply_to } else { references };
    let mut out: Vec<String> = Vec::with_capacity(source.len());
    for id in source {
        let id = id.trim();
        if id.is_empty() || Some(id) == own || out.iter().any(|seen| seen == id) {
            continue;
        }
        out.push(id.to_owned());
    }
    // In-Reply-To names the direct parent; if References forgot it, it still counts.
    if let Some(parent) = in_reply_to.first().map(|p| p.trim())
        && !parent.is_empty() && Some(parent) != own && !out.iter().any(|seen| seen == parent) {
            out.push(parent.to_owned());
        }
    out
}

/// The subject with reply/forward prefixes (in the languages the shops write), list tags
/// like `[shop]` and extra spaces removed, lower-cased: "Re: AW: [Shop] Order 1042" ->
/// "order 1042".
pub fn base_subject(subject: &str) -> String {
    const PREFIXES: &[&str] = &["re", "fw", "fwd", "aw", "wg", "sv", "vs", "odp", "pd", "tr", "rv", "השב", "הועבר", "תשובה", "رد", "إعادة توجيه", "توجيه"];
    let mut s = subject.trim();
    loop {
        let before = s;
        if let Some(rest) = s.strip_prefix('[').and_then(|r| r.split_once(']')).map(|(_, rest)| rest) {
            s = rest.trim_start();
        }
        if let Some((head, rest)) = s.split_once([':', '：']) {
            let head = head.trim();
            // "Re[2]:" and "Re(2):" count as "Re:".
            let word = head.split(['[', '(']).next().unwrap_or(head).trim();
            if PREFIXES.iter().any(|p| p.eq_ignore_ascii_case(word) || *p == word) {
                s = rest.trim_start();
            }
        }
        if s == before {
            break;
        }
    }
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// Whether a message without usable references may join an existing conversation of the
/// same customer by subject: same non-empty base subject, within [`SUBJECT_WINDOW`].
pub fn subject_matches(message_subject: &str, message_at: Millis, thread_subject: &str, thread_last_at: Millis) -> bool {
    let a = base_subject(message_subject);
    !a.is_empty() && a == base_subject(thread_subject) && (message_at - thread_last_at).abs() <= SUBJECT_WINDOW
}

/// Outlook's Thread-Index: the first 22 bytes (30 base64 chars) name the thread's root.
pub fn thread_index_root(thread_index: &str) -> Option<&str> {
    let t = thread_index.trim();
    (t.len() >= 30).then(|| &t[..30]).filter(|root| root.is_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// References win over In-Reply-To; own id and repeats are dropped.
    #[test]
    fn parents_prefer_references_and_refuse_self() {
        assert_eq!(parent_ids(Some("c"), &ids(&["a", "b", "a", "c"]), &ids(&["b"])), ids(&["a", "b"]));
        assert_eq!(parent_ids(Some("c"), &[], &ids(&["b"])), ids(&["b"]));
        assert_eq!(parent_ids(Some("c"), &ids(&["c"]), &ids(&["c"])), Vec::<String>::new());
        // In-Reply-To missing from References is still a parent.
        assert_eq!(parent_ids(None, &ids(&["a"]), &ids(&["b"])), ids(&["a", "b"]));
    }

    /// Reply and forward prefixes in the shops' languages and list tags are stripped.
    #[test]
    fn base_subject_strips_prefixes() {
        for (input, expected) in [
            ("Re: AW: [Shop] Order  1042", "order 1042"),
            ("RE[2]: Fwd: Exchange", "exchange"),
            ("Odp: Zamówienie #1036", "zamówienie #1036"),
            ("השב: ההזמנה שלי", "ההזמנה שלי"),
            ("رد: طلبي", "طلبي"),
            ("Question: size?", "question: size?"),
            ("", ""),
        ] {
            assert_eq!(base_subject(input), expected, "{input}");
        }
    }

    /// Same subject joins only within the window, and an empty subject never does.
    #[test]
    fn subject_fallback_needs_the_window() {
        assert!(subject_matches("Re: Delivery", 10 * DAY, "Delivery", 0));
        assert!(!subject_matches("Re: Delivery", 30 * DAY, "Delivery", 0));
        assert!(!subject_matches("Re:", 0, "", 0));
    }

    #[test]
    fn thread_index_root_is_the_first_22_bytes() {
        let t = "AdQ1ZxK3n5mF0lqAQJKlLr7mZ8hWqAABBBCC";
        assert_eq!(thread_index_root(t), Some("AdQ1ZxK3n5mF0lqAQJKlLr7mZ8hWqA"));
        assert_eq!(thread_index_root("short"), None);
    }
}
