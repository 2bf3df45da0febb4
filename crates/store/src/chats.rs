//! Storing parsed chat exports (WhatsApp, Messenger, Instagram, Telegram): who is the
//! customer, which conversation, which lines are new.
//!
//! One call stores one file (one or many chats) in one transaction, so a file is either
//! imported whole or not at all. Re-importing a file, or a later export that overlaps an
//! earlier one, adds only the lines not seen before: each line has a source key hashed
//! from what the export says about it (channel, thread id, time as written, author, text,
//! and its occurrence among identical lines of the file), never from when it was imported.

use crate::customers::{attach_identity_full, live_customer, normalize_name};
use crate::email::{hex, write_attachment_file};
use crate::imports::ImportProblem;
use crate::{Result, Store, StoreError};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use shopdesk_core::chat::{
    ChatAttachment, ChatAuthor, ChatExport, ChatKind, ChatMessage, ChatTime, CivilTime,
};
use shopdesk_core::phone::{looks_like_phone, normalize_phone};
use shopdesk_core::{Channel, ConversationId, CustomerId, IdentityKind, Millis};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::Path;

/// How to store a chat export.
pub struct ChatStoreOptions<'a> {
    /// The shop's own names in chats (`--me` and the `chat_names` setting): their lines
    /// are outgoing and they never become customers. Compared after [`normalize_name`]
    /// (and as phone numbers, for a shop that appears as its number).
    pub own_names: &'a [String],
    /// Region for phone numbers written without a country code (ISO 3166 alpha-2).
    pub phone_region: Option<&'a str>,
    /// Turns a wall-clock time (WhatsApp) into UTC; the app applies the user's time zone,
    /// so the store knows none.
    pub to_utc: &'a dyn Fn(CivilTime) -> Millis,
    /// The file the export came from, for problem locations (`file:line`).
    pub source: &'a str,
}

/// What storing one chat did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatStored {
    /// `None` when the chat had no lines.
    pub conversation: Option<ConversationId>,
    /// The customers of the chat's participants (the shop's own names excluded).
    pub customers: Vec<CustomerId>,
    pub imported: usize,
    pub duplicates: usize,
    /// The parser's problems, located in the file.
    pub problems: Vec<ImportProblem>,
}

/// A line's source key: a sortable time prefix (keeps the unique index appending, not
/// scattering) and a 128-bit hash of the line.
struct LineKey {
    time: String,
    hash: [u8; 16],
}

impl LineKey {
    fn text(&self) -> String {
        format!("chat/{}/{}", self.time, hex(&self.hash))
    }

    /// The hash part of a stored key, to recognise lines already stored.
    fn parse_hash(key: &str) -> Option<[u8; 16]> {
        let hash = key.strip_prefix("chat/")?.rsplit('/').next()?;
        let mut out = [0u8; 16];
        if hash.len() != 32 {
            return None;
        }
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hash.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(out)
    }
}

/// How many evenly spread lines are looked up to find the conversation an overlapping
/// export continues (a miss is still caught while inserting; see `store_one`).
const OVERLAP_PROBES: usize = 64;

/// Progress is reported every this many lines.
const PROGRESS_EVERY: usize = 10_000;

impl Store {
    /// Stores one chat in one transaction; see [`Store::store_chats`].
    pub fn store_chat(
        &mut self,
        export: &ChatExport,
        options: &ChatStoreOptions<'_>,
        now: Millis,
    ) -> Result<ChatStored> {
        let mut stored =
            self.store_chats(std::slice::from_ref(export), options, now, &mut |_| {})?;
        stored.pop().ok_or(StoreError::NotFound {
            what: "chat",
            id: 0,
        })
    }

    /// Stores every chat of one file in one transaction: nothing of the file is kept if
    /// any of it fails. `progress` gets the number of lines handled so far (of the sum of
    /// `messages.len()`).
    pub fn store_chats(
        &mut self,
        exports: &[ChatExport],
        options: &ChatStoreOptions<'_>,
        now: Millis,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<ChatStored>> {
        let dir = self.attachments_dir();
        self.write(|tx| {
            let mut done = 0;
            exports
                .iter()
                .map(|export| {
                    let stored =
                        store_one(tx, export, options, dir.as_deref(), now, done, progress)?;
                    done += export.messages.len();
                    progress(done);
                    Ok(stored)
                })
                .collect()
        })
    }
}

/// One person of a chat who is not the shop.
#[derive(Clone, Copy)]
struct Person {
    customer: CustomerId,
    /// The identity their lines are attributed to (phone or channel identity); `None`
    /// only for the stand-in customer of a chat where nobody but the shop wrote.
    identity: Option<i64>,
}

fn identity_kind(channel: Channel) -> IdentityKind {
    match channel {
        Channel::Whatsapp => IdentityKind::Whatsapp,
        Channel::Messenger => IdentityKind::Messenger,
        Channel::Instagram => IdentityKind::Instagram,
        Channel::Telegram => IdentityKind::Telegram,
        Channel::Email => IdentityKind::Email,
    }
}

/// The shop's own names as compared: normalised names and E.164 numbers.
struct OwnNames {
    names: HashSet<String>,
    phones: HashSet<String>,
}

impl OwnNames {
    fn new(options: &ChatStoreOptions<'_>) -> OwnNames {
        OwnNames {
            names: options
                .own_names
                .iter()
                .map(|n| normalize_name(n))
                .filter(|n| !n.is_empty())
                .collect(),
            phones: options
                .own_names
                .iter()
                .filter_map(|n| normalize_phone(n, options.phone_region))
                .collect(),
        }
    }

    fn contains(&self, author: &ChatAuthor, region: Option<&str>) -> bool {
        self.names.contains(&normalize_name(&author.name))
            || author
                .id
                .as_ref()
                .is_some_and(|id| self.names.contains(&normalize_name(id)))
            || (!self.phones.is_empty()
                && looks_like_phone(&author.name)
                && normalize_phone(&author.name, region).is_some_and(|p| self.phones.contains(&p)))
    }
}

/// The customer behind a chat author: a phone number as name is a phone identity (so it
/// meets the same number from an order or another channel); otherwise the channel's
/// identity (platform id, else the name as shown, which is how the exporter's app tells
/// contacts apart) plus a weak `name` identity that only feeds suggestions.
fn resolve_person(
    tx: &Transaction<'_>,
    channel: Channel,
    author: &ChatAuthor,
    region: Option<&str>,
    now: Millis,
) -> Result<Person> {
    let name = author.name.trim();
    let (kind, value) = match looks_like_phone(name)
        .then(|| normalize_phone(name, region))
        .flatten()
    {
        Some(phone) => (IdentityKind::Phone, phone),
        None => (
            identity_kind(channel),
            author
                .id
                .clone()
                .filter(|id| !id.trim().is_empty())
                .unwrap_or_else(|| normalize_name(name)),
        ),
    };
    let existing: Option<i64> = tx
        .prepare_cached("SELECT customer_id FROM identities WHERE kind = ?1 AND value = ?2")?
        .query_row(params![kind.as_str(), value], |r| r.get(0))
        .optional()?;
    let customer = match existing {
        Some(owner) => live_customer(tx, CustomerId(owner))?,
        None => {
            let shown = if name.is_empty() { "Unknown" } else { name };
            tx.prepare_cached(
                "INSERT INTO customers(name, created_at, updated_at) VALUES (?1, ?2, ?2)",
            )?
            .execute(params![shown, now])?;
            CustomerId(tx.last_insert_rowid())
        }
    };
    let display = (!name.is_empty()).then_some(name);
    let (customer, identity) = attach_identity_full(tx, customer, kind, &value, display, now)?;
    let weak = normalize_name(name);
    if kind != IdentityKind::Phone && !weak.is_empty() {
        attach_identity_full(tx, customer, IdentityKind::Name, &weak, display, now)?;
    }
    Ok(Person {
        customer,
        identity: Some(identity),
    })
}

/// Where the line's time stands in its key: civil time as written (so a change of the
/// machine's time zone does not make old lines look new) or Unix milliseconds.
fn key_time(at: ChatTime) -> String {
    match at {
        ChatTime::Local(c) => {
            format!(
                "l{:04}{:02}{:02}{:02}{:02}{:02}",
                c.year, c.month, c.day, c.hour, c.minute, c.second
            )
        }
        ChatTime::Utc(ms) => format!("u{ms:015}"),
    }
}

/// The source keys of an export's lines, in order.
fn line_keys(export: &ChatExport) -> Vec<LineKey> {
    let thread = export.thread_id.as_deref().unwrap_or("");
    fn author_of(m: &ChatMessage) -> &str {
        m.author
            .as_ref()
            .map_or("", |a| a.id.as_deref().unwrap_or(&a.name))
    }
    // Occurrences of one (time, author, text) in this file, by a 64-bit digest of it: a
    // line repeated verbatim in the same second is still two lines.
    let mut seen: HashMap<u64, u32> = HashMap::with_capacity(export.messages.len());
    export
        .messages
        .iter()
        .map(|m| {
            let mut h = std::hash::DefaultHasher::new();
            (m.at, author_of(m), &m.text).hash(&mut h);
            let count = seen.entry(h.finish()).or_insert(0);
            let occurrence = *count;
            *count += 1;
            let mut sha = Sha256::new();
            let time = key_time(m.at);
            for part in [
                export.channel.as_str(),
                thread,
                &time,
                author_of(m),
                &m.text,
            ] {
                sha.update((part.len() as u64).to_le_bytes());
                sha.update(part.as_bytes());
            }
            sha.update(occurrence.to_le_bytes());
            let digest = sha.finalize();
            let mut hash = [0u8; 16];
            hash.copy_from_slice(&digest[..16]);
            LineKey { time, hash }
        })
        .collect()
}

/// The conversation already holding some of these lines, if any: the first line, the
/// last, and evenly spread ones in between.
fn find_overlap(tx: &Transaction<'_>, channel: Channel, keys: &[LineKey]) -> Result<Option<i64>> {
    if keys.is_empty() {
        return Ok(None);
    }
    let step = (keys.len() / OVERLAP_PROBES).max(1);
    let mut stmt = tx.prepare_cached(
        "SELECT m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
          WHERE m.source_key = ?1 AND c.channel = ?2",
    )?;
    for i in (0..keys.len()).step_by(step).chain([keys.len() - 1]) {
        let hit: Option<i64> = stmt
            .query_row(params![keys[i].text(), channel.as_str()], |r| r.get(0))
            .optional()?;
        if hit.is_some() {
            return Ok(hit);
        }
    }
    Ok(None)
}

/// Readable text for a call or reaction line (the timeline shows it as an event).
fn event_text(m: &ChatMessage) -> String {
    let who = m.author.as_ref().map_or("", |a| a.name.as_str());
    let text = m.text.trim();
    match m.kind {
        ChatKind::Call if text.is_empty() => format!("Call from {who}"),
        ChatKind::Call => text.to_owned(),
        ChatKind::Reaction if text.is_empty() => format!("{who} reacted"),
        ChatKind::Reaction if who.is_empty() || text.contains(who) => text.to_owned(),
        ChatKind::Reaction => format!("{who} reacted {text}"),
        _ => m.text.clone(),
    }
}

fn mime_type(a: &ChatAttachment) -> Option<&'static str> {
    let name = a.filename.as_deref().unwrap_or("");
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    Some(match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "3gp" => "video/3gpp",
        "mov" => "video/quicktime",
        "opus" | "ogg" => "audio/ogg",
        "m4a" => "audio/mp4",
        "mp3" => "audio/mpeg",
        "aac" => "audio/aac",
        "pdf" => "application/pdf",
        "vcf" => "text/vcard",
        _ => return None,
    })
}

#[allow(clippy::too_many_arguments)]
fn store_one(
    tx: &Transaction<'_>,
    export: &ChatExport,
    options: &ChatStoreOptions<'_>,
    attachments_dir: Option<&Path>,
    now: Millis,
    done_before: usize,
    progress: &mut dyn FnMut(usize),
) -> Result<ChatStored> {
    let problems = export
        .problems
        .iter()
        .map(|p| ImportProblem {
            location: format!("{}:{}", options.source, p.line),
            message: p.message.clone(),
        })
        .collect();
    let mut out = ChatStored {
        conversation: None,
        customers: Vec::new(),
        imported: 0,
        duplicates: 0,
        problems,
    };
    if export.messages.is_empty() {
        return Ok(out);
    }
    let region = options.phone_region;
    let own = OwnNames::new(options);
    let channel = export.channel;

    // The people: listed participants first (their order decides the conversation's
    // customer in a group), then authors as they first write. Each author is looked at
    // once; the lines then only look the answer up.
    let mut authors: HashMap<(&str, Option<&str>), Option<Person>> = HashMap::new();
    let mut order: Vec<Person> = Vec::new();
    let writers = export
        .messages
        .iter()
        .filter(|m| m.kind != ChatKind::System)
        .filter_map(|m| m.author.as_ref());
    for author in export.participants.iter().chain(writers) {
        let key = (author.name.as_str(), author.id.as_deref());
        if authors.contains_key(&key) {
            continue;
        }
        let person = match own.contains(author, region) || author.name.trim().is_empty() {
            true => None,
            false => Some(resolve_person(tx, channel, author, region, now)?),
        };
        order.extend(person);
        authors.insert(key, person);
    }
    if order.is_empty() {
        // Only the shop wrote: the chat's title names the other side.
        let person = match &export.title {
            Some(title) if !title.trim().is_empty() => resolve_person(
                tx,
                channel,
                &ChatAuthor {
                    name: title.clone(),
                    id: None,
                },
                region,
                now,
            )?,
            _ => {
                tx.prepare_cached("INSERT INTO customers(name, created_at, updated_at) VALUES ('Unknown', ?1, ?1)")?
                    .execute([now])?;
                Person {
                    customer: CustomerId(tx.last_insert_rowid()),
                    identity: None,
                }
            }
        };
        order.push(person);
    }
    // Attaching a later person's identity can merge an earlier person's customer away.
    for person in &mut order {
        person.customer = live_customer(tx, person.customer)?;
        if !out.customers.contains(&person.customer) {
            out.customers.push(person.customer);
        }
    }
    let identities: Vec<i64> = order.iter().filter_map(|p| p.identity).collect();

    let keys = line_keys(export);
    let external_key = export
        .thread_id
        .clone()
        .or_else(|| export.title.clone())
        .filter(|k| !k.trim().is_empty());
    let mut conversation = find_overlap(tx, channel, &keys)?;
    let mut created = false;
    if conversation.is_none()
        && let Some(key) = &external_key
    {
        // Same thread id or title: the same chat only if someone in it is the same (two
        // exports both named "_chat" are not one chat).
        let found: Option<i64> = tx
            .prepare_cached(
                "SELECT id FROM conversations WHERE channel = ?1 AND external_key = ?2
                    AND EXISTS (SELECT 1 FROM conversation_participants p
                                 WHERE p.conversation_id = conversations.id
                                   AND p.identity_id IN (SELECT value FROM json_each(?3)))",
            )?
            .query_row(
                params![
                    channel.as_str(),
                    key,
                    serde_json::to_string(&identities).unwrap_or_default()
                ],
                |r| r.get(0),
            )
            .optional()?;
        conversation = found;
    }
    let conversation = match conversation {
        Some(id) => id,
        None => {
            let key_free: bool = match &external_key {
                Some(key) => tx
                    .prepare_cached("SELECT NOT EXISTS (SELECT 1 FROM conversations WHERE channel = ?1 AND external_key = ?2)")?
                    .query_row(params![channel.as_str(), key], |r| r.get(0))?,
                None => false,
            };
            let first_at = export
                .messages
                .iter()
                .map(|m| to_millis(m.at, options))
                .min()
                .unwrap_or(now);
            tx.prepare_cached(
                "INSERT INTO conversations(customer_id, channel, subject, external_key, created_at, last_activity_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )?
            .execute(params![
                order[0].customer.0,
                channel.as_str(),
                export.title,
                if key_free { external_key.as_deref() } else { None },
                first_at
            ])?;
            created = true;
            tx.last_insert_rowid()
        }
    };
    for &identity in &identities {
        tx.prepare_cached("INSERT OR IGNORE INTO conversation_participants(conversation_id, identity_id) VALUES (?1, ?2)")?
            .execute(params![conversation, identity])?;
    }

    // Lines this conversation already has, so a re-import skips them without a query each.
    let mut known: HashSet<[u8; 16]> = HashSet::new();
    if !created {
        let mut stmt = tx.prepare("SELECT source_key FROM messages WHERE conversation_id = ?1")?;
        let mut rows = stmt.query([conversation])?;
        while let Some(r) = rows.next()? {
            if let Some(hash) = r.get_ref(0)?.as_str().ok().and_then(LineKey::parse_hash) {
                known.insert(hash);
            }
        }
    }

    let mut insert = tx.prepare(
        "INSERT INTO messages(conversation_id, direction, channel, author, sent_at, body_text, source_key, identity_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT(source_key) DO NOTHING",
    )?;
    let mut newest_inbound: Option<Millis> = None;
    // A line stored in another conversation: the overlap the probes missed.
    let mut elsewhere: Option<String> = None;
    for (i, (m, key)) in export.messages.iter().zip(&keys).enumerate() {
        if i % PROGRESS_EVERY == 0 && i > 0 {
            progress(done_before + i);
        }
        if known.contains(&key.hash) {
            out.duplicates += 1;
            continue;
        }
        let person = m
            .author
            .as_ref()
            .and_then(|a| authors.get(&(a.name.as_str(), a.id.as_deref())));
        let direction = match (m.kind, person) {
            (ChatKind::Message, Some(Some(_))) => "in",
            (ChatKind::Message, Some(None))
                if m.author.as_ref().is_some_and(|a| !a.name.trim().is_empty()) =>
            {
                "out"
            }
            _ => "system",
        };
        let body = match m.kind {
            ChatKind::Call | ChatKind::Reaction => event_text(m),
            _ => m.text.clone(),
        };
        let sent_at = to_millis(m.at, options);
        let source_key = key.text();
        let inserted = insert.execute(params![
            conversation,
            direction,
            channel.as_str(),
            m.author.as_ref().map(|a| a.name.as_str()),
            sent_at,
            body,
            source_key,
            person.copied().flatten().and_then(|p| p.identity),
            now
        ])?;
        if inserted == 0 {
            out.duplicates += 1;
            elsewhere.get_or_insert(source_key);
            continue;
        }
        out.imported += 1;
        if direction == "in" {
            newest_inbound = newest_inbound.max(Some(sent_at));
        }
        if !m.attachments.is_empty() {
            let message = tx.last_insert_rowid();
            for a in &m.attachments {
                store_attachment(tx, message, a, attachments_dir)?;
            }
        }
    }
    drop(insert);

    let mut conversation = conversation;
    if let Some(key) = elsewhere {
        let other: Option<i64> = tx
            .prepare_cached(
                "SELECT m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
                  WHERE m.source_key = ?1 AND c.channel = ?2",
            )?
            .query_row(params![key, channel.as_str()], |r| r.get(0))
            .optional()?;
        if let Some(other) = other
            && created
            && other != conversation
        {
            absorb_new_conversation(tx, other, conversation)?;
            conversation = other;
        }
    }
    // A customer's new line wakes a snoozed, pending or closed conversation (as mail does).
    if let Some(at) = newest_inbound {
        tx.prepare_cached(
            "UPDATE conversations SET status = 'open', snoozed_until = NULL
              WHERE id = ?1 AND status != 'open' AND last_inbound_at = ?2",
        )?
        .execute(params![conversation, at])?;
    }
    out.conversation = Some(ConversationId(conversation));
    Ok(out)
}

fn to_millis(at: ChatTime, options: &ChatStoreOptions<'_>) -> Millis {
    match at {
        ChatTime::Utc(ms) => ms,
        ChatTime::Local(civil) => (options.to_utc)(civil),
    }
}

/// Folds `new` (created by this import) into `into`, the conversation that already held
/// some of its lines.
fn absorb_new_conversation(tx: &Transaction<'_>, into: i64, new: i64) -> Result<()> {
    tx.execute(
        "UPDATE messages SET conversation_id = ?1 WHERE conversation_id = ?2",
        params![into, new],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO conversation_participants(conversation_id, identity_id)
         SELECT ?1, identity_id FROM conversation_participants WHERE conversation_id = ?2",
        params![into, new],
    )?;
    tx.execute("DELETE FROM conversations WHERE id = ?1", [new])?;
    tx.execute(
        "UPDATE conversations SET
            created_at = min(created_at, coalesce((SELECT min(sent_at) FROM messages WHERE conversation_id = ?1), created_at)),
            last_activity_at = coalesce((SELECT max(sent_at) FROM messages WHERE conversation_id = ?1), last_activity_at),
            last_inbound_at = (SELECT max(sent_at) FROM messages WHERE conversation_id = ?1 AND direction = 'in')
          WHERE id = ?1",
        [into],
    )?;
    Ok(())
}

/// One attachment row; its file (when the export carried it) content-addressed like
/// mail attachments. Only named media keep `sha256` NULL.
fn store_attachment(
    tx: &Transaction<'_>,
    message: i64,
    a: &ChatAttachment,
    dir: Option<&Path>,
) -> Result<()> {
    let (sha, size) = match &a.data {
        Some(data) => {
            let sha = hex(&Sha256::digest(data));
            if let Some(dir) = dir {
                write_attachment_file(dir, sha.clone(), data)?;
            }
            (Some(sha), Some(data.len() as i64))
        }
        None => (None, None),
    };
    tx.prepare_cached("INSERT INTO attachments(message_id, filename, mime_type, size, sha256) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![message, a.filename, mime_type(a), size, sha])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ConversationFilter;
    use shopdesk_core::chat::ChatProblem;

    fn civil(minute: u8) -> ChatTime {
        ChatTime::Local(CivilTime {
            year: 2024,
            month: 3,
            day: 1,
            hour: 10,
            minute,
            second: 0,
        })
    }

    fn line(minute: u8, author: &str, text: &str) -> ChatMessage {
        ChatMessage {
            at: civil(minute),
            author: Some(ChatAuthor {
                name: author.to_owned(),
                id: None,
            }),
            kind: ChatKind::Message,
            text: text.to_owned(),
            attachments: Vec::new(),
            line: usize::from(minute) + 1,
        }
    }

    fn system(minute: u8, text: &str) -> ChatMessage {
        ChatMessage {
            author: None,
            kind: ChatKind::System,
            ..line(minute, "", text)
        }
    }

    fn chat(title: &str, messages: Vec<ChatMessage>) -> ChatExport {
        ChatExport {
            title: Some(title.to_owned()),
            messages,
            ..ChatExport::new(Channel::Whatsapp)
        }
    }

    /// Civil times read as UTC: the zone is the app's business.
    fn as_utc(c: CivilTime) -> Millis {
        jiff::civil::datetime(
            c.year,
            c.month as i8,
            c.day as i8,
            c.hour as i8,
            c.minute as i8,
            c.second as i8,
            0,
        )
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
    }

    fn store_with(store: &mut Store, export: &ChatExport, me: &[&str]) -> ChatStored {
        let own: Vec<String> = me.iter().map(|s| s.to_string()).collect();
        let options = ChatStoreOptions {
            own_names: &own,
            phone_region: Some("IL"),
            to_utc: &as_utc,
            source: "chat.txt",
        };
        store
            .store_chat(export, &options, 1_000)
            .expect("store chat")
    }

    fn count(store: &Store, sql: &str) -> i64 {
        store.conn.query_row(sql, [], |r| r.get(0)).expect("count")
    }

    /// Importing the same export twice adds nothing the second time: same conversation,
    /// every line a duplicate, no new customer.
    #[test]
    fn reimport_is_idempotent() {
        let mut store = Store::open_in_memory().expect("store");
        let export = chat(
            "Anna",
            vec![
                line(0, "Anna", "hi"),
                line(1, "Shop", "hello"),
                line(2, "Anna", "hi"),
            ],
        );
        let first = store_with(&mut store, &export, &["Shop"]);
        assert_eq!((first.imported, first.duplicates), (3, 0));
        let again = store_with(&mut store, &export, &["Shop"]);
        assert_eq!((again.imported, again.duplicates), (0, 3));
        assert_eq!(again.conversation, first.conversation);
        assert_eq!(count(&store, "SELECT count(*) FROM messages"), 3);
        assert_eq!(count(&store, "SELECT count(*) FROM customers"), 1);
    }

    /// Two exports of one chat that overlap (different file titles) end as one
    /// conversation holding the union, each line once; also when the overlap is not at
    /// any probed position.
    #[test]
    fn overlapping_exports_give_the_union() {
        let mut store = Store::open_in_memory().expect("store");
        let all: Vec<ChatMessage> = (0..40)
            .map(|i| {
                line(
                    i,
                    if i % 2 == 0 { "Anna" } else { "Shop" },
                    &format!("m{i}"),
                )
            })
            .collect();
        let part1 = chat("part1", all[..25].to_vec());
        let part2 = chat("part2", all[20..].to_vec());
        let a = store_with(&mut store, &part1, &["Shop"]);
        let b = store_with(&mut store, &part2, &["Shop"]);
        assert_eq!((b.imported, b.duplicates), (15, 5));
        assert_eq!(a.conversation, b.conversation);
        assert_eq!(count(&store, "SELECT count(*) FROM messages"), 40);
        assert_eq!(
            count(&store, "SELECT count(DISTINCT body_text) FROM messages"),
            40
        );

        // 200 new lines around 1 overlapping line in the middle: no probe hits it, the
        // insert's conflict finds it and the new conversation folds into the old one.
        let mut lines: Vec<ChatMessage> = (0..100)
            .map(|i| line(50, "Anna", &format!("before {i}")))
            .collect();
        lines.push(all[30].clone());
        lines.extend((0..100).map(|i| line(59, "Anna", &format!("after {i}"))));
        let c = store_with(&mut store, &chat("part3", lines), &["Shop"]);
        assert_eq!((c.imported, c.duplicates), (200, 1));
        assert_eq!(c.conversation, a.conversation);
        assert_eq!(count(&store, "SELECT count(*) FROM conversations"), 1);
        assert_eq!(count(&store, "SELECT count(*) FROM messages"), 240);
    }

    /// The same line written twice in the same minute is two messages, and stays two on
    /// re-import.
    #[test]
    fn repeated_identical_lines_are_kept() {
        let mut store = Store::open_in_memory().expect("store");
        let export = chat(
            "Anna",
            vec![
                line(0, "Anna", "ok"),
                line(0, "Anna", "ok"),
                line(0, "Anna", "ok"),
            ],
        );
        assert_eq!(store_with(&mut store, &export, &[]).imported, 3);
        assert_eq!(store_with(&mut store, &export, &[]).imported, 0);
        assert_eq!(count(&store, "SELECT count(*) FROM messages"), 3);
    }

    /// A group chat is one conversation; every non-shop author is a customer taking part
    /// in it, and each one's timeline lists it. The conversation belongs to the first.
    #[test]
    fn group_chat_is_shared_by_its_participants() {
        let mut store = Store::open_in_memory().expect("store");
        let export = chat(
            "Order group",
            vec![
                line(0, "Anna", "a"),
                line(1, "Ben", "b"),
                line(2, "Shop", "s"),
                line(3, "+972 50-123-4567", "c"),
            ],
        );
        let stored = store_with(&mut store, &export, &["Shop"]);
        assert_eq!(stored.customers.len(), 3);
        assert_eq!(count(&store, "SELECT count(*) FROM conversations"), 1);
        assert_eq!(
            count(&store, "SELECT count(*) FROM conversation_participants"),
            3
        );
        let conversation = stored.conversation.expect("conversation");
        for customer in &stored.customers {
            let filter = ConversationFilter {
                customer: Some(*customer),
                ..ConversationFilter::default()
            };
            let rows = store.conversations(&filter).expect("list");
            assert_eq!(
                rows.iter().map(|r| r.id).collect::<Vec<_>>(),
                vec![conversation],
                "customer {customer}"
            );
        }
        let owner: i64 = store
            .conn
            .query_row("SELECT customer_id FROM conversations", [], |r| r.get(0))
            .expect("owner");
        assert_eq!(owner, stored.customers[0].0);
        let phone: i64 = count(
            &store,
            "SELECT count(*) FROM identities WHERE kind = 'phone' AND value = '+972501234567'",
        );
        assert_eq!(phone, 1);
        let attributed = count(
            &store,
            "SELECT count(*) FROM messages WHERE identity_id IS NOT NULL",
        );
        assert_eq!(attributed, 3);
    }

    /// System lines, calls and reactions are events: direction `system`, they never count
    /// as the customer writing (last_inbound), and a system-only "author" is no customer.
    #[test]
    fn system_lines_are_not_customer_messages() {
        let mut store = Store::open_in_memory().expect("store");
        let mut call = line(3, "Anna", "");
        call.kind = ChatKind::Call;
        let mut reaction = line(4, "Anna", "❤️");
        reaction.kind = ChatKind::Reaction;
        let mut joined = system(0, "Messages are end-to-end encrypted.");
        joined.author = Some(ChatAuthor {
            name: "WhatsApp".to_owned(),
            id: None,
        });
        let export = chat(
            "Anna",
            vec![
                joined,
                line(1, "Anna", "hi"),
                system(2, "Anna changed her number"),
                call,
                reaction,
            ],
        );
        store_with(&mut store, &export, &[]);
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM messages WHERE direction = 'system'"
            ),
            4
        );
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM messages WHERE direction = 'in'"
            ),
            1
        );
        assert_eq!(count(&store, "SELECT count(*) FROM customers"), 1);
        let inbound: i64 = count(&store, "SELECT last_inbound_at FROM conversations");
        assert_eq!(
            inbound,
            as_utc(CivilTime {
                year: 2024,
                month: 3,
                day: 1,
                hour: 10,
                minute: 1,
                second: 0
            })
        );
        let texts: Vec<String> = store
            .conn
            .prepare("SELECT body_text FROM messages WHERE sent_at >= ?1 ORDER BY sent_at")
            .expect("prepare")
            .query_map([inbound + 120_000], |r| r.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows");
        assert_eq!(texts, vec!["Call from Anna", "Anna reacted ❤️"]);
    }

    /// The shop's own names (any case, and as a phone number) make lines outgoing and
    /// never become customers.
    #[test]
    fn own_names_are_outgoing() {
        let mut store = Store::open_in_memory().expect("store");
        let export = chat(
            "Anna",
            vec![
                line(0, "Anna", "q"),
                line(1, "my shop", "a"),
                line(2, "+48 601 234 567", "b"),
                line(3, "Anna", "thanks"),
            ],
        );
        store_with(&mut store, &export, &["My Shop", "+48601234567"]);
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM messages WHERE direction = 'out'"
            ),
            2
        );
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM messages WHERE direction = 'in'"
            ),
            2
        );
        assert_eq!(count(&store, "SELECT count(*) FROM customers"), 1);
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM identities WHERE kind = 'phone'"
            ),
            0
        );
    }

    /// A WhatsApp author who is a phone number already on a customer (from an order or
    /// mail) lands on that customer: one person, no new customer.
    #[test]
    fn phone_author_meets_existing_customer() {
        let mut store = Store::open_in_memory().expect("store");
        let customer = store
            .write(|tx| {
                tx.execute("INSERT INTO customers(name, created_at, updated_at) VALUES ('Anna Nowak', 1, 1)", [])?;
                let c = CustomerId(tx.last_insert_rowid());
                crate::customers::attach_identity_tx(tx, c, IdentityKind::Email, "a@x.test", None, 1)?;
                crate::customers::attach_identity_tx(tx, c, IdentityKind::Phone, "+972501234567", None, 1)
            })
            .expect("customer");
        let stored = store_with(
            &mut store,
            &chat(
                "+972 50-123-4567",
                vec![line(0, "\u{200E}+972 50-123-4567", "where is my order?")],
            ),
            &[],
        );
        assert_eq!(stored.customers, vec![customer]);
        assert_eq!(count(&store, "SELECT count(*) FROM customers"), 1);
        let owner: i64 = count(&store, "SELECT customer_id FROM conversations");
        assert_eq!(owner, customer.0);
    }

    /// A chat stored after the conversation was snoozed wakes it when the customer wrote
    /// something new; a re-import of old lines does not.
    #[test]
    fn new_inbound_line_wakes_snoozed_conversation() {
        let mut store = Store::open_in_memory().expect("store");
        let first = chat("Anna", vec![line(0, "Anna", "hi")]);
        store_with(&mut store, &first, &[]);
        store
            .conn
            .execute(
                "UPDATE conversations SET status = 'snoozed', snoozed_until = 99",
                [],
            )
            .expect("snooze");
        store_with(&mut store, &first, &[]);
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM conversations WHERE status = 'snoozed'"
            ),
            1
        );
        store_with(
            &mut store,
            &chat(
                "Anna",
                vec![line(0, "Anna", "hi"), line(5, "Anna", "any news?")],
            ),
            &[],
        );
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM conversations WHERE status = 'open' AND snoozed_until IS NULL"
            ),
            1
        );
    }

    /// Media carried by the export are stored by SHA-256; media only named keep sha256
    /// NULL. Parser problems come back located in the file.
    #[test]
    fn attachments_and_problems() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("s.db")).expect("store");
        let mut m = line(0, "Anna", "");
        m.attachments = vec![
            ChatAttachment {
                filename: Some("IMG-1.jpg".to_owned()),
                kind: "photo".to_owned(),
                data: Some(b"jpeg".to_vec()),
            },
            ChatAttachment {
                filename: Some("VID-2.mp4".to_owned()),
                kind: "video".to_owned(),
                data: None,
            },
        ];
        let mut export = chat("Anna", vec![m]);
        export.problems.push(ChatProblem {
            line: 7,
            message: "unreadable date".to_owned(),
        });
        let stored = store_with(&mut store, &export, &[]);
        assert_eq!(
            stored.problems,
            vec![ImportProblem {
                location: "chat.txt:7".to_owned(),
                message: "unreadable date".to_owned()
            }]
        );
        let sha = hex(&Sha256::digest(b"jpeg"));
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM attachments WHERE sha256 IS NULL AND filename = 'VID-2.mp4'"
            ),
            1
        );
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM attachments WHERE mime_type = 'image/jpeg' AND size = 4"
            ),
            1
        );
        assert!(
            dir.path()
                .join("attachments")
                .join(&sha[..2])
                .join(&sha)
                .exists()
        );
    }

    /// Telegram-style authors with platform ids: the id is the identity, so a renamed
    /// user is still one customer.
    #[test]
    fn platform_id_is_the_identity() {
        let mut store = Store::open_in_memory().expect("store");
        let by = |name: &str, minute: u8| ChatMessage {
            author: Some(ChatAuthor {
                name: name.to_owned(),
                id: Some("user42".to_owned()),
            }),
            at: ChatTime::Utc(i64::from(minute) * 60_000),
            ..line(minute, name, "x")
        };
        let mut export = ChatExport::new(Channel::Telegram);
        export.thread_id = Some("42".to_owned());
        export.messages = vec![by("Dana", 0), by("Dana K.", 1)];
        let stored = store_with(&mut store, &export, &[]);
        assert_eq!(stored.customers.len(), 1);
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM identities WHERE kind = 'telegram' AND value = 'user42'"
            ),
            1
        );
    }
}
