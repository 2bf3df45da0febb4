//! The pure half of email threading (RFC 5256 REFERENCES, with the lessons of JWZ and
//! notmuch): which ids a message points at, and when a subject alone may join a thread.
//! The store does the lookups. [`thread_references`] builds the whole RFC 5256 tree over
//! a set of messages, as an IMAP server answers `THREAD REFERENCES`, and
//! [`render_threads`] writes it in the IMAP syntax.

use crate::{DAY, Millis};
use std::collections::HashMap;

/// How far apart two messages of one customer may be for a same-subject match to join
/// them. Beyond it, "Order question" in March and in June are different conversations.
pub const SUBJECT_WINDOW: Millis = 14 * DAY;

/// The ids a message refers to, nearest parent last: References when present, else
/// In-Reply-To (RFC 5256). The message's own id and repeats are removed, so a message
/// that names itself cannot make a cycle.
pub fn parent_ids(own: Option<&str>, references: &[String], in_reply_to: &[String]) -> Vec<String> {
    let source = if references.is_empty() {
        in_reply_to
    } else {
        references
    };
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
        && !parent.is_empty()
        && Some(parent) != own
        && !out.iter().any(|seen| seen == parent)
    {
        out.push(parent.to_owned());
    }
    out
}

/// The subject with reply/forward prefixes (in the languages the shops write), list tags
/// like `[shop]` and extra spaces removed, lower-cased: "Re: AW: [Shop] Order 1042" ->
/// "order 1042".
pub fn base_subject(subject: &str) -> String {
    let mut s = subject.trim();
    loop {
        let before = s;
        s = strip_list_tag(s);
        if let Some(rest) = strip_reply_prefix(s) {
            s = rest;
        }
        if s == before {
            break;
        }
    }
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Whether the subject, after list tags, starts with a reply or forward prefix ("Re:",
/// "[Shop] Fwd:", "Odp:"): RFC 5256 puts such a message under a same-subject original.
pub fn is_reply_or_forward(subject: &str) -> bool {
    let mut s = subject.trim();
    loop {
        let next = strip_list_tag(s);
        if next == s {
            return strip_reply_prefix(s).is_some();
        }
        s = next;
    }
}

/// `s` without one leading `[tag]`, or `s` itself.
fn strip_list_tag(s: &str) -> &str {
    s.strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .map_or(s, |(_, rest)| rest.trim_start())
}

/// `s` after one leading reply/forward prefix and its colon, if it has one.
fn strip_reply_prefix(s: &str) -> Option<&str> {
    const PREFIXES: &[&str] = &[
        "re",
        "fw",
        "fwd",
        "aw",
        "wg",
        "sv",
        "vs",
        "odp",
        "pd",
        "tr",
        "rv",
        "השב",
        "הועבר",
        "תשובה",
        "رد",
        "إعادة توجيه",
        "توجيه",
    ];
    let (head, rest) = s.split_once([':', '：'])?;
    let head = head.trim();
    // "Re[2]:" and "Re(2):" count as "Re:".
    let word = head.split(['[', '(']).next().unwrap_or(head).trim();
    PREFIXES
        .iter()
        .any(|p| p.eq_ignore_ascii_case(word) || *p == word)
        .then(|| rest.trim_start())
}

/// Whether a message without usable references may join an existing conversation of the
/// same customer by subject: same non-empty base subject, within [`SUBJECT_WINDOW`].
pub fn subject_matches(
    message_subject: &str,
    message_at: Millis,
    thread_subject: &str,
    thread_last_at: Millis,
) -> bool {
    let a = base_subject(message_subject);
    !a.is_empty()
        && a == base_subject(thread_subject)
        && (message_at - thread_last_at).abs() <= SUBJECT_WINDOW
}

/// Outlook's Thread-Index: the first 22 bytes (30 base64 chars) name the thread's root.
pub fn thread_index_root(thread_index: &str) -> Option<&str> {
    let t = thread_index.trim();
    (t.len() >= 30)
        .then(|| &t[..30])
        .filter(|root| root.is_ascii())
}

/// One message as RFC 5256 threading sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadMessage {
    /// Its IMAP sequence number: the tie-breaker between equal dates and its name in the
    /// tree.
    pub seq: u32,
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// References ids, oldest first.
    pub references: Vec<String>,
    pub in_reply_to: Vec<String>,
    pub subject: Option<String>,
    /// The sent date: the Date header, else the internal (received) date.
    pub date: Millis,
}

/// A node of a thread tree: a message, or a dummy (`seq` is `None`) standing for a
/// parent that is not in the set, kept only as the common root of several messages
/// (`((1)(2))`) or made by subject gathering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadNode {
    pub seq: Option<u32>,
    /// Oldest first (ties by sequence number).
    pub children: Vec<ThreadNode>,
}

impl ThreadNode {
    /// The sequence numbers in this subtree, depth first.
    pub fn seqs(&self) -> Vec<u32> {
        let mut out = Vec::new();
        self.collect_seqs(&mut out);
        out
    }

    fn collect_seqs(&self, out: &mut Vec<u32>) {
        out.extend(self.seq);
        for child in &self.children {
            child.collect_seqs(out);
        }
    }
}

/// RFC 5256 `THREAD REFERENCES` over `messages`, roots oldest first:
/// 1. an id table, where a missing or repeated Message-ID gets a unique id of its own (the
///    lowest sequence number keeps a shared one) and an id only referenced is a dummy;
///    each message's [`parent_ids`] are linked in order, a child keeping a parent it
///    already has, and the message itself goes under the last of them (replacing an
///    earlier guess); a link that would close a cycle is refused;
/// 2. messages without a parent are the roots;
/// 3. dummies without children go, dummies with children give way to them, except a root
///    dummy with several children;
/// 4. roots are sorted by sent date (a dummy by its oldest child), ties by sequence number;
/// 5. roots with the same [`base_subject`] are gathered: a reply goes under the original,
///    anything under a dummy root, else both under a new dummy;
/// 6. every set of siblings is sorted as in step 4.
///
/// Two deliberate departures, shared with the store: [`parent_ids`] adds an In-Reply-To
/// missing from References as the nearest parent, and drops repeated ids; the subject
/// is compared by [`base_subject`] (the shops' languages, lower case), not the RFC's
/// rules (which also strip `(fwd)` trailers and `[fwd: …]` wrappers).
pub fn thread_references(messages: &[ThreadMessage]) -> Vec<ThreadNode> {
    thread(messages, true)
}

/// [`thread_references`] without step 5: the threads references alone make. The store
/// joins by a subject only within one customer's mail, so the two results differ exactly
/// where RFC 5256 joins by a subject alone.
pub fn thread_references_only(messages: &[ThreadMessage]) -> Vec<ThreadNode> {
    thread(messages, false)
}

/// The IMAP THREAD response body (RFC 5256 section 4): `(3 2)(1)`, `(1 (2 4)(3))`,
/// `((1)(2))` for a dummy root.
pub fn render_threads(roots: &[ThreadNode]) -> String {
    let mut out = String::new();
    for root in roots {
        out.push('(');
        render_members(root, &mut out);
        out.push(')');
    }
    out
}

/// A node's number followed by its only child's chain, or by each child in parentheses.
fn render_members(node: &ThreadNode, out: &mut String) {
    if let Some(seq) = node.seq {
        out.push_str(&seq.to_string());
        match node.children.as_slice() {
            [] => return,
            [only] => {
                out.push(' ');
                render_members(only, out);
                return;
            }
            _ => out.push(' '),
        }
    }
    for child in &node.children {
        out.push('(');
        render_members(child, out);
        out.push(')');
    }
}

/// A container of step 1: a message (index into the input) or a dummy.
struct Container {
    message: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// The step 1 graph: containers and their links, always a forest.
struct Links {
    nodes: Vec<Container>,
}

impl Links {
    fn add(&mut self, message: Option<usize>) -> usize {
        self.nodes.push(Container {
            message,
            parent: None,
            children: Vec::new(),
        });
        self.nodes.len() - 1
    }

    /// Whether `ancestor` is `node` or above it.
    fn is_ancestor(&self, ancestor: usize, node: usize) -> bool {
        let mut at = Some(node);
        while let Some(n) = at {
            if n == ancestor {
                return true;
            }
            at = self.nodes[n].parent;
        }
        false
    }

    /// Makes `child` (which has no parent) a child of `parent`, unless that closes a cycle.
    fn link(&mut self, parent: usize, child: usize) {
        if !self.is_ancestor(child, parent) {
            self.nodes[child].parent = Some(parent);
            self.nodes[parent].children.push(child);
        }
    }

    fn unlink(&mut self, child: usize) {
        if let Some(parent) = self.nodes[child].parent.take() {
            self.nodes[parent].children.retain(|&c| c != child);
        }
    }

    fn tree(&self, node: usize) -> Tree {
        let n = &self.nodes[node];
        Tree {
            message: n.message,
            children: n.children.iter().map(|&c| self.tree(c)).collect(),
        }
    }
}

/// Steps 2 to 6 work on owned trees.
struct Tree {
    message: Option<usize>,
    children: Vec<Tree>,
}

fn thread(messages: &[ThreadMessage], gather_subjects: bool) -> Vec<ThreadNode> {
    let mut links = Links {
        nodes: Vec::with_capacity(messages.len()),
    };
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by_key(|&i| messages[i].seq);

    // 1. The id table and parent/child links.
    for &i in &order {
        let m = &messages[i];
        let own = m
            .message_id
            .as_deref()
            .map(str::trim)
            .filter(|id| !id.is_empty());
        let me = match own.and_then(|id| ids.get(id).copied()) {
            Some(dummy) if links.nodes[dummy].message.is_none() => {
                links.nodes[dummy].message = Some(i);
                dummy
            }
            // A repeated Message-ID: this message gets a unique id nobody refers to.
            Some(_) => links.add(Some(i)),
            None => {
                let c = links.add(Some(i));
                if let Some(id) = own {
                    ids.insert(id.to_owned(), c);
                }
                c
            }
        };
        let mut chain = Vec::new();
        for id in parent_ids(own, &m.references, &m.in_reply_to) {
            let c = match ids.get(&id) {
                Some(&c) => c,
                None => {
                    let c = links.add(None);
                    ids.insert(id, c);
                    c
                }
            };
            chain.push(c);
        }
        for pair in chain.windows(2) {
            if links.nodes[pair[1]].parent.is_none() {
                links.link(pair[0], pair[1]);
            }
        }
        // The message's own references decide its parent, over what others guessed.
        links.unlink(me);
        if let Some(&parent) = chain.last() {
            links.link(parent, me);
        }
    }

    // 2. The roots; 3. pruning; 4. sorting.
    let roots: Vec<Tree> = (0..links.nodes.len())
        .filter(|&n| links.nodes[n].parent.is_none())
        .map(|n| links.tree(n))
        .collect();
    let mut roots = prune(roots, true);
    sort(&mut roots, messages);

    // 5. Subject gathering; 6. sorting again.
    if gather_subjects {
        roots = gather(roots, messages);
        sort(&mut roots, messages);
    }
    roots.into_iter().map(|t| node(t, messages)).collect()
}

/// Removes childless dummies and lets dummies give way to their children, except a root
/// dummy with more than one child.
fn prune(list: Vec<Tree>, at_root: bool) -> Vec<Tree> {
    let mut out = Vec::with_capacity(list.len());
    for mut t in list {
        t.children = prune(std::mem::take(&mut t.children), false);
        if t.message.is_none() && (!at_root || t.children.len() <= 1) {
            out.extend(t.children);
        } else {
            out.push(t);
        }
    }
    out
}

/// Sorts every set of siblings, the deepest first, by (sent date, sequence number); a
/// dummy sorts as its first child.
fn sort(list: &mut [Tree], messages: &[ThreadMessage]) {
    for t in list.iter_mut() {
        sort(&mut t.children, messages);
    }
    list.sort_by_key(|t| sort_key(t, messages));
}

fn sort_key(t: &Tree, messages: &[ThreadMessage]) -> (Millis, u32) {
    match t.message {
        Some(i) => (messages[i].date, messages[i].seq),
        None => t
            .children
            .first()
            .map_or((Millis::MAX, u32::MAX), |c| sort_key(c, messages)),
    }
}

/// The subject a thread is known by: its root's, or a dummy's first child's.
fn thread_subject<'a>(t: &Tree, messages: &'a [ThreadMessage]) -> &'a str {
    match t.message {
        Some(i) => messages[i].subject.as_deref().unwrap_or(""),
        None => t
            .children
            .first()
            .map_or("", |c| thread_subject(c, messages)),
    }
}

/// Step 5: roots with the same base subject become one thread.
fn gather(roots: Vec<Tree>, messages: &[ThreadMessage]) -> Vec<Tree> {
    let subjects: Vec<String> = roots
        .iter()
        .map(|t| base_subject(thread_subject(t, messages)))
        .collect();
    let reply: Vec<bool> = roots
        .iter()
        .map(|t| is_reply_or_forward(thread_subject(t, messages)))
        .collect();
    let dummy = |i: usize| roots[i].message.is_none();
    // The root that stands for each subject: the first, unless a later one is a dummy
    // (and the first is not) or is an original where the first is a reply.
    let replaces = |i: usize, j: usize| (dummy(i) && !dummy(j)) || (reply[j] && !reply[i]);
    let mut table: HashMap<&str, usize> = HashMap::new();
    for (i, subject) in subjects.iter().enumerate() {
        if subject.is_empty() {
            continue;
        }
        if table.get(subject.as_str()).is_none_or(|&j| replaces(i, j)) {
            table.insert(subject, i);
        }
    }
    let mut slots: Vec<Option<Tree>> = roots.into_iter().map(Some).collect();
    for i in 0..slots.len() {
        let Some(&j) = table.get(subjects[i].as_str()) else {
            continue;
        };
        if j == i {
            continue;
        }
        let (Some(t), Some(target)) = (slots[i].take(), slots[j].take()) else {
            continue;
        };
        // A root the table names may have become a dummy by an earlier merge.
        slots[j] = Some(match (t.message.is_none(), target.message.is_none()) {
            (true, true) => {
                let mut target = target;
                target.children.extend(t.children);
                target
            }
            (false, true) => push_child(target, t),
            (true, false) => push_child(t, target),
            (false, false) if reply[i] && !reply[j] => push_child(target, t),
            (false, false) => Tree {
                message: None,
                children: vec![target, t],
            },
        });
    }
    slots.into_iter().flatten().collect()
}

fn push_child(mut parent: Tree, child: Tree) -> Tree {
    parent.children.push(child);
    parent
}

fn node(t: Tree, messages: &[ThreadMessage]) -> ThreadNode {
    ThreadNode {
        seq: t.message.map(|i| messages[i].seq),
        children: t.children.into_iter().map(|c| node(c, messages)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HOUR;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn msg(
        seq: u32,
        id: Option<&str>,
        refs: &[&str],
        subject: &str,
        date: Millis,
    ) -> ThreadMessage {
        ThreadMessage {
            seq,
            message_id: id.map(str::to_owned),
            references: ids(refs),
            in_reply_to: Vec::new(),
            subject: (!subject.is_empty()).then(|| subject.to_owned()),
            date,
        }
    }

    fn threads(messages: &[ThreadMessage]) -> String {
        render_threads(&thread_references(messages))
    }

    /// A link that would close a cycle is refused, and a message's own References decide
    /// its parent over another message's guess (imaptest `thread`: `(3 2)(1)`).
    #[test]
    fn cycles_are_refused() {
        let corpus = [
            msg(1, Some("a"), &[], "", 2 * HOUR),
            msg(2, Some("b"), &["a", "c"], "", 0),
            msg(3, Some("c"), &["b"], "", HOUR),
        ];
        assert_eq!(threads(&corpus), "(3 2)(1)");
        // Two messages naming each other: the first link stands.
        assert_eq!(
            threads(&[
                msg(1, Some("a"), &["b"], "", 0),
                msg(2, Some("b"), &["a"], "", 0)
            ]),
            "(2 1)"
        );
        // A message naming itself is a root.
        assert_eq!(threads(&[msg(1, Some("a"), &["a"], "", 0)]), "(1)");
    }

    /// Messages without a Message-ID are threads of their own, joined only through what
    /// they reference (imaptest `thread6`: `((1)(2))`).
    #[test]
    fn missing_message_ids_stay_apart() {
        assert_eq!(
            threads(&[msg(1, None, &[], "", 0), msg(2, None, &[], "", 0)]),
            "(1)(2)"
        );
        assert_eq!(
            threads(&[msg(1, None, &["a"], "", 0), msg(2, None, &["a"], "", 1)]),
            "((1)(2))"
        );
    }

    /// A repeated Message-ID belongs to the lowest sequence number; the later message gets
    /// a unique id, so it neither replaces nor swallows the first (imaptest `thread2`,
    /// `thread7`).
    #[test]
    fn duplicate_message_ids_get_unique_ones() {
        assert_eq!(
            threads(&[msg(1, Some("a"), &[], "", 0), msg(2, Some("a"), &[], "", 0)]),
            "(1)(2)"
        );
        let corpus = [
            msg(1, Some("a"), &[], "", 0),
            msg(2, Some("b"), &["a"], "", 0),
            msg(3, Some("c"), &["b"], "", 0),
            msg(4, Some("b"), &["a"], "", 0),
        ];
        assert_eq!(threads(&corpus), "(1 (2 3)(4))");
    }

    /// Dummies (ids only referenced) vanish without children, give way to a single child
    /// or to children below the root, and stay as the root of several children.
    #[test]
    fn dummy_parents_are_pruned() {
        assert_eq!(threads(&[msg(1, Some("a"), &["x", "y"], "", 0)]), "(1)");
        assert_eq!(
            threads(&[
                msg(1, None, &["x", "y"], "", 0),
                msg(2, None, &["x", "z"], "", 0)
            ]),
            "((1)(2))"
        );
        let corpus = [
            msg(1, Some("a"), &[], "", 0),
            msg(2, Some("b"), &["a", "m"], "", 1),
            msg(3, Some("c"), &["a", "m"], "", 2),
        ];
        assert_eq!(threads(&corpus), "(1 (2)(3))");
        // A late parent fills its dummy.
        assert_eq!(
            threads(&[
                msg(1, Some("b"), &["a"], "", 1),
                msg(2, Some("a"), &[], "", 0)
            ]),
            "(2 1)"
        );
    }

    /// Roots with one base subject gather: a reply under the original (whichever comes
    /// first), equals under a dummy; without step 5 they stay apart.
    #[test]
    fn subjects_gather_roots() {
        let reply_first = [
            msg(1, Some("a"), &[], "Re: Order 7", 0),
            msg(2, Some("b"), &[], "order 7", 1),
        ];
        assert_eq!(threads(&reply_first), "(2 1)");
        assert_eq!(
            render_threads(&thread_references_only(&reply_first)),
            "(1)(2)"
        );
        let equals = [
            msg(1, Some("a"), &[], "Order 7", 0),
            msg(2, Some("b"), &[], "Order 7", 1),
            msg(3, Some("c"), &[], "[Shop] Odp: Order 7", 2),
            msg(4, Some("d"), &[], "Order 8", 3),
        ];
        assert_eq!(threads(&equals), "((1)(2)(3))(4)");
        assert!(is_reply_or_forward("[Shop] Re: x"));
        assert!(!is_reply_or_forward("[Shop] x") && !is_reply_or_forward("Question: x"));
    }

    /// Siblings sort by sent date, ties by sequence number (imaptest `thread5`).
    #[test]
    fn siblings_sort_by_date() {
        let mut corpus = vec![
            msg(1, Some("1"), &[], "", 2 * HOUR),
            msg(2, Some("2"), &["1"], "", 0),
            msg(3, Some("3"), &["1"], "", 0),
            msg(4, Some("4"), &["2"], "", 0),
        ];
        assert_eq!(threads(&corpus), "(1 (2 4)(3))");
        corpus[1].date = HOUR;
        assert_eq!(threads(&corpus), "(1 (3)(2 4))");
        assert_eq!(thread_references(&corpus)[0].seqs(), vec![1, 3, 2, 4]);
    }

    /// References win over In-Reply-To; own id and repeats are dropped.
    #[test]
    fn parents_prefer_references_and_refuse_self() {
        assert_eq!(
            parent_ids(Some("c"), &ids(&["a", "b", "a", "c"]), &ids(&["b"])),
            ids(&["a", "b"])
        );
        assert_eq!(parent_ids(Some("c"), &[], &ids(&["b"])), ids(&["b"]));
        assert_eq!(
            parent_ids(Some("c"), &ids(&["c"]), &ids(&["c"])),
            Vec::<String>::new()
        );
        // In-Reply-To missing from References is still a parent.
        assert_eq!(
            parent_ids(None, &ids(&["a"]), &ids(&["b"])),
            ids(&["a", "b"])
        );
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
