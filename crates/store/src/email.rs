//! Storing one parsed email: idempotency, direction, customer, thread, attachments.
//!
//! Everything happens in one transaction, so a crash leaves either the whole message
//! (with its location, headers, thread ids and attachments) or nothing.

use crate::{Result, Store, StoreError};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use shopdesk_core::email::{Address, ParsedEmail};
use shopdesk_core::threading::{parent_ids, subject_matches, thread_index_root};
use shopdesk_core::{ConversationId, CustomerId, Direction, MessageId, Millis, normalize_email};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Where a message was seen; recorded so a message found in two folders is one message
/// with two locations.
#[derive(Debug, Clone, PartialEq)]
pub enum EmailLocation {
    Imap { account_id: i64, folder: String, uidvalidity: i64, uid: i64, flags: String },
    File { path: String },
    /// Written by Shopdesk itself (a queued reply): no place yet; sync adds its copy in
    /// Sent as a location later.
    Outbox,
}

/// What storing a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Stored {
    New { message: MessageId, conversation: ConversationId, customer: CustomerId },
    /// Already stored under the same source key; only the location was recorded.
    Duplicate { message: MessageId },
}

/// One email to store.
pub struct EmailInput<'a> {
    pub parsed: &'a ParsedEmail,
    /// From `shopdesk_ingest::mail::source_key`: equal for copies of one message.
    pub source_key: &'a str,
    /// The shop's own addresses (accounts and aliases), normalised: mail from them is
    /// outgoing.
    pub own_addresses: &'a [String],
    pub location: EmailLocation,
}

impl Store {
    /// Stores `input` unless its source key is already known. `now` stands in for a
    /// missing Date header and stamps created_at.
    pub fn store_email(&mut self, input: &EmailInput<'_>, now: Millis) -> Result<Stored> {
        let attachments_dir = self.attachments_dir();
        self.write(|tx| store_email_tx(tx, input, attachments_dir.as_deref(), now, &mut write_attachment_file))
    }

    /// Stores many messages in one transaction; a message that fails is rolled back alone
    /// and reported in its slot, the others are kept. The outcome per message is that of
    /// [`Store::store_email`] on each in order, at a fraction of the cost for bulk imports
    /// (one commit for the whole slice). The outer error is for the transaction itself
    /// (begin or commit), which loses the whole slice.
    ///
    /// Fast path: the slice without savepoints (a savepoint makes FTS5 flush its pending
    /// terms and SQLite journal every page it touches), attachment files written by a
    /// second thread that is joined before the commit, so a committed message's files
    /// always exist. If any message or file write fails, that transaction is rolled back
    /// and the slice is stored again with a savepoint per message and files written in
    /// line (files are content-addressed: the ones already written are simply found).
    pub fn store_emails(&mut self, inputs: &[EmailInput<'_>], now: Millis) -> Result<Vec<Result<Stored>>> {
        let attachments_dir = self.attachments_dir();
        let conn = &mut self.conn;
        let dir = attachments_dir.as_deref();
        let fast = std::thread::scope(|scope| -> Result<Option<Vec<Stored>>> {
            let (files, queue) = std::sync::mpsc::channel::<(&Path, String, &[u8])>();
            let writer = scope.spawn(move || queue.into_iter().try_for_each(|(dir, sha, data)| write_attachment_file(dir, sha, data)));
            let mut queue_file = |dir, sha, data| {
                files.send((dir, sha, data)).map_err(|_| StoreError::Io(std::io::Error::other("the attachment writer stopped")))
            };
            let tx = conn.transaction()?;
            let stored: Result<Vec<Stored>> = inputs.iter().map(|input| store_email_tx(&tx, input, dir, now, &mut queue_file)).collect();
            drop(files);
            let written = writer.join().unwrap_or_else(|_| Err(StoreError::Io(std::io::Error::other("the attachment writer panicked"))));
            match (stored, written) {
                (Ok(stored), Ok(())) => {
                    tx.commit()?;
                    Ok(Some(stored))
                }
                _ => Ok(None), // dropping `tx` rolls it back
            }
        })?;
        if let Some(stored) = fast {
            return Ok(stored.into_iter().map(Ok).collect());
        }
        self.write(|tx| {
            let mut out = Vec::with_capacity(inputs.len());
            for input in inputs {
                tx.execute_batch("SAVEPOINT store_email")?;
                match store_email_tx(tx, input, dir, now, &mut write_attachment_file) {
                    Ok(stored) => {
                        tx.execute_batch("RELEASE store_email")?;
                        out.push(Ok(stored));
                    }
                    Err(e) => {
                        tx.execute_batch("ROLLBACK TO store_email; RELEASE store_email")?;
                        out.push(Err(e));
                    }
                }
            }
            Ok(out)
        })
    }

    /// Content-addressed attachment files live beside the database.
    pub fn attachments_dir(&self) -> Option<PathBuf> {
        self.path().and_then(Path::parent).map(|dir| dir.join("attachments"))
    }

    /// Where the bytes with this SHA-256 are kept, if they are.
    pub fn attachment_file(&self, sha256: &str) -> Option<PathBuf> {
        let path = attachment_path(&self.attachments_dir()?, sha256)?;
        path.is_file().then_some(path)
    }
}

/// Writes (or hands to a writer thread) one attachment file: `(attachments dir, sha256, bytes)`.
type FileSink<'a, 's> = dyn FnMut(&'a Path, String, &'a [u8]) -> Result<()> + 's;

pub(crate) fn store_email_tx<'a>(
    tx: &Transaction<'_>,
    input: &EmailInput<'a>,
    attachments_dir: Option<&'a Path>,
    now: Millis,
    files: &mut FileSink<'a, '_>,
) -> Result<Stored> {
    let p = input.parsed;
    let existing: Option<i64> =
        tx.query_row("SELECT id FROM messages WHERE source_key = ?", [input.source_key], |r| r.get(0)).optional()?;
    if let Some(id) = existing {
        record_location(tx, id, &input.location, now)?;
        return Ok(Stored::Duplicate { message: MessageId(id) });
    }

    let is_own = |a: &Address| input.own_addresses.contains(&normalize_email(&a.email));
    let direction = if p.from.iter().any(is_own) { Direction::Out } else { Direction::In };
    // The customer: the sender (their Reply-To if they set one) of incoming mail, the main
    // recipient of outgoing mail.
    let counterpart = match direction {
        Direction::Out => p.to.iter().chain(&p.cc).find(|a| !is_own(a)),
        _ => p.reply_to.iter().chain(&p.from).find(|a| !is_own(a)),
    };
    let customer = customer_for(tx, counterpart, now)?;

    let mut problems = p.problems.clone();
    let sent_at = p.date.unwrap_or_else(|| {
        problems.push("no readable Date header; using the time of import".to_owned());
        now
    });
    let conversation = match find_thread(tx, p, customer, sent_at)? {
        Some(c) => c,
        None => {
            tx.prepare_cached(
                "INSERT INTO conversations(customer_id, channel, subject, created_at, last_activity_at)
                 VALUES (?1, 'email', ?2, ?3, ?3)",
            )?
            .execute(params![customer.0, p.subject, sent_at])?;
            tx.last_insert_rowid()
        }
    };

    let author = p.from.first().map(|a| a.name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| a.email.clone()));
    tx.prepare_cached(
        "INSERT INTO messages(conversation_id, direction, channel, author, sent_at, subject, body_text,
                              body_html, source_key, problems, created_at)
         VALUES (?1, ?2, 'email', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        conversation,
        direction.as_str(),
        author,
        sent_at,
        p.subject,
        p.text,
        p.html,
        input.source_key,
        (!problems.is_empty()).then(|| problems.join("\n")),
        now
    ])?;
    let message = tx.last_insert_rowid();

    let addrs = |list: &[Address]| serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned());
    tx.prepare_cached(
        "INSERT INTO email_headers(message_id, rfc_message_id, in_reply_to, refs, thread_index, from_addr,
                                   to_addrs, cc_addrs, reply_to)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        message,
        p.message_id,
        p.in_reply_to.first(),
        p.references.join(" "),
        p.thread_index,
        p.from.first().map(|a| normalize_email(&a.email)),
        addrs(&p.to),
        addrs(&p.cc),
        p.reply_to.first().map(|a| normalize_email(&a.email)),
    ])?;
    link_thread_ids(tx, p, conversation, message)?;
    record_location(tx, message, &input.location, now)?;
    store_attachments(tx, message, p, attachments_dir, files)?;

    // A customer's mail wakes the conversation and cancels a "send later" reply.
    if direction == Direction::In {
        crate::workflow::on_customer_message_tx(tx, conversation, sent_at, now)?;
    }
    Ok(Stored::New { message: MessageId(message), conversation: ConversationId(conversation), customer })
}

/// The customer an address belongs to, created (with an email identity) when new. A
/// display name replaces a name that was only the address.
fn customer_for(tx: &Transaction<'_>, address: Option<&Address>, now: Millis) -> Result<CustomerId> {
    let Some(address) = address else {
        tx.execute(
            "INSERT INTO customers(name, created_at, updated_at) VALUES ('Unknown sender', ?1, ?1)",
            [now],
        )?;
        return Ok(CustomerId(tx.last_insert_rowid()));
    };
    let email = normalize_email(&address.email);
    let display_name = address.name.as_deref().map(str::trim).filter(|n| !n.is_empty() && !n.contains('@'));
    let found: Option<i64> = tx
        .prepare_cached("SELECT customer_id FROM identities WHERE kind = 'email' AND value = ?")?
        .query_row([&email], |r| r.get(0))
        .optional()?;
    if let Some(id) = found {
        if let Some(name) = display_name {
            tx.prepare_cached("UPDATE customers SET name = ?1, updated_at = ?3 WHERE id = ?2 AND name = ?4")?
                .execute(params![name, id, now, email])?;
        }
        return Ok(CustomerId(id));
    }
    tx.prepare_cached("INSERT INTO customers(name, created_at, updated_at) VALUES (?1, ?2, ?2)")?
        .execute(params![display_name.unwrap_or(&email), now])?;
    let id = tx.last_insert_rowid();
    let display = match display_name {
        Some(n) => format!("{n} <{}>", address.email),
        None => address.email.clone(),
    };
    tx.prepare_cached("INSERT INTO identities(customer_id, kind, value, display, created_at) VALUES (?1, 'email', ?2, ?3, ?4)")?
        .execute(params![id, email, display, now])?;
    Ok(CustomerId(id))
}

/// The conversation a message belongs to: by its references (and any placeholder for its
/// own id), else Outlook's Thread-Index, else the same customer's same subject within the
/// window. When references join two conversations of the same customer, they merge.
fn find_thread(tx: &Transaction<'_>, p: &ParsedEmail, customer: CustomerId, sent_at: Millis) -> Result<Option<i64>> {
    let mut ids = parent_ids(p.message_id.as_deref(), &p.references, &p.in_reply_to);
    ids.extend(p.message_id.clone());
    let mut found: Vec<(i64, i64)> = Vec::new(); // (conversation, its customer)
    for id in ids.iter().rev() {
        let hit: Option<(i64, i64)> = tx
            .prepare_cached(
                "SELECT t.conversation_id, c.customer_id FROM email_thread_ids t
                   JOIN conversations c ON c.id = t.conversation_id WHERE t.rfc_message_id = ?",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        if let Some(hit) = hit
            && !found.contains(&hit) {
                found.push(hit);
            }
    }
    if let Some(&(first, first_customer)) = found.first() {
        // The nearest referenced conversation wins; others of the same customer merge in.
        for &(other, other_customer) in &found[1..] {
            if other_customer == first_customer {
                merge_conversations(tx, first, other)?;
            }
        }
        return Ok(Some(first));
    }

    if let Some(root) = p.thread_index.as_deref().and_then(thread_index_root) {
        let hit: Option<i64> = tx
            .prepare_cached(
                "SELECT m.conversation_id FROM email_headers e JOIN messages m ON m.id = e.message_id
                   JOIN conversations c ON c.id = m.conversation_id
                  WHERE c.customer_id = ?1 AND substr(e.thread_index, 1, 30) = ?2 LIMIT 1",
            )?
            .query_row(params![customer.0, root], |r| r.get(0))
            .optional()?;
        if hit.is_some() {
            return Ok(hit);
        }
    }

    let Some(subject) = p.subject.as_deref() else { return Ok(None) };
    let mut stmt = tx.prepare_cached(
        "SELECT id, coalesce(subject, ''), last_activity_at FROM conversations
          WHERE customer_id = ?1 AND channel = 'email' ORDER BY last_activity_at DESC LIMIT 20",
    )?;
    let candidates = stmt
        .query_map([customer.0], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(candidates.into_iter().find(|(_, s, at)| subject_matches(subject, sent_at, s, *at)).map(|(id, _, _)| id))
}

/// The message's own id points at its conversation; ids it references but we have not
/// seen become placeholders there, so a late parent finds the thread. An id already
/// mapped (another message with the same Message-ID) keeps its mapping.
fn link_thread_ids(tx: &Transaction<'_>, p: &ParsedEmail, conversation: i64, message: i64) -> Result<()> {
    if let Some(id) = &p.message_id {
        tx.prepare_cached(
            "INSERT INTO email_thread_ids(rfc_message_id, conversation_id, message_id) VALUES (?1, ?2, ?3)
             ON CONFLICT(rfc_message_id) DO UPDATE SET message_id = excluded.message_id,
                                                       conversation_id = excluded.conversation_id
              WHERE email_thread_ids.message_id IS NULL",
        )?
        .execute(params![id, conversation, message])?;
    }
    for parent in parent_ids(p.message_id.as_deref(), &p.references, &p.in_reply_to) {
        tx.prepare_cached(
            "INSERT INTO email_thread_ids(rfc_message_id, conversation_id) VALUES (?1, ?2)
             ON CONFLICT(rfc_message_id) DO NOTHING",
        )?
        .execute(params![parent, conversation])?;
    }
    Ok(())
}

/// Moves everything of conversation `from` into `into` and deletes `from`.
fn merge_conversations(tx: &Transaction<'_>, into: i64, from: i64) -> Result<()> {
    if into == from {
        return Ok(());
    }
    for sql in [
        "UPDATE messages SET conversation_id = ?1 WHERE conversation_id = ?2",
        "UPDATE email_thread_ids SET conversation_id = ?1 WHERE conversation_id = ?2",
        "UPDATE notes SET conversation_id = ?1 WHERE conversation_id = ?2",
        "UPDATE followups SET conversation_id = ?1 WHERE conversation_id = ?2",
        "UPDATE outbox SET conversation_id = ?1 WHERE conversation_id = ?2",
        "INSERT OR IGNORE INTO conversation_tags(conversation_id, tag_id) SELECT ?1, tag_id FROM conversation_tags WHERE conversation_id = ?2",
    ] {
        tx.execute(sql, params![into, from])?;
    }
    tx.execute("DELETE FROM conversations WHERE id = ?1", [from])?;
    tx.execute(
        "UPDATE conversations SET
            created_at = min(created_at, coalesce((SELECT min(sent_at) FROM messages WHERE conversation_id = ?1), created_at)),
            last_activity_at = coalesce((SELECT max(sent_at) FROM messages WHERE conversation_id = ?1), last_activity_at),
            last_inbound_at = (SELECT max(sent_at) FROM messages WHERE conversation_id = ?1 AND direction = 'in')
          WHERE id = ?1",
        [into],
    )?;
    tx.execute(
        "INSERT INTO events(at, actor, entity, entity_id, action, details)
         VALUES ((SELECT last_activity_at FROM conversations WHERE id = ?1), 'system', 'conversations', ?1, 'merged_thread', json_object('from', ?2))",
        params![into, from],
    )?;
    Ok(())
}

fn record_location(tx: &Transaction<'_>, message: i64, location: &EmailLocation, now: Millis) -> Result<()> {
    match location {
        EmailLocation::Imap { account_id, folder, uidvalidity, uid, flags } => {
            tx.prepare_cached(
                "INSERT INTO message_sources(message_id, account_id, folder, uidvalidity, uid, flags, seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(account_id, folder, uidvalidity, uid) DO UPDATE SET flags = excluded.flags",
            )?
            .execute(params![message, account_id, folder, uidvalidity, uid, flags, now])?;
        }
        EmailLocation::Outbox => {}
        EmailLocation::File { path } => {
            let known: Option<i64> = tx
                .prepare_cached("SELECT id FROM message_sources WHERE message_id = ?1 AND import_path = ?2")?
                .query_row(params![message, path], |r| r.get(0))
                .optional()?;
            if known.is_none() {
                tx.prepare_cached("INSERT INTO message_sources(message_id, import_path, seen_at) VALUES (?1, ?2, ?3)")?
                    .execute(params![message, path, now])?;
            }
        }
    }
    Ok(())
}

/// Records each attachment under its SHA-256 and has its file written (see
/// [`write_attachment_file`]).
fn store_attachments<'a>(
    tx: &Transaction<'_>,
    message: i64,
    p: &'a ParsedEmail,
    dir: Option<&'a Path>,
    files: &mut FileSink<'a, '_>,
) -> Result<()> {
    for a in &p.attachments {
        let sha = hex(&Sha256::digest(&a.data));
        tx.prepare_cached(
            "INSERT INTO attachments(message_id, filename, mime_type, size, sha256, content_id, inline)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![message, a.filename, a.mime_type, a.data.len() as i64, sha, a.content_id, a.inline])?;
        if let Some(dir) = dir {
            files(dir, sha, &a.data)?;
        }
    }
    Ok(())
}

/// Writes an attachment once under `dir/<first two hex>/<sha256>` (temp file + rename, so
/// a crash never leaves a half file under a final name).
pub(crate) fn write_attachment_file(dir: &Path, sha: String, data: &[u8]) -> Result<()> {
    let Some(path) = attachment_path(dir, &sha) else { return Ok(()) };
    if !path.exists() {
        std::fs::create_dir_all(dir.join(&sha[..2]))?;
        let tmp = path.with_extension("part");
        std::fs::write(&tmp, data)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(())
}

/// `dir/<first two hex>/<sha256>`; `None` for something that is no hex digest (a database
/// value is never trusted as a path).
fn attachment_path(dir: &Path, sha: &str) -> Option<PathBuf> {
    (sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit())).then(|| dir.join(&sha[..2]).join(sha))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
