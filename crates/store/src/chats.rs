//! Storing parsed chat exports (WhatsApp, Messenger, Instagram, Telegram): who is the
//! customer, which conversation, which lines are new.
//!
//! One file (one or many chats) is stored in one transaction, so it is either imported
//! whole or not at all. Re-importing a file, or a later export that overlaps an earlier
//! one, adds only the lines not seen before: each line has a source key hashed from what
//! the export says about it (channel, thread id, time as written, author, text, and its
//! occurrence among identical lines of the file), never from when it was imported.
//!
//! Lines can be streamed in ([`Store::write_chats`] and [`ChatSink`]), so a huge export is
//! stored while it is parsed, a chunk at a time, never held whole.

use crate::customers::{attach_identity_full, live_customer, normalize_name};
use crate::email::{hex, write_attachment_file};
use crate::imports::ImportProblem;
use crate::{Result, Store, StoreError};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use shopdesk_core::chat::{
    ChatAttachment, ChatAuthor, ChatExport, ChatKind, ChatMessage, ChatProblem, ChatTime, CivilTime,
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

/// Progress is reported every this many lines.
const PROGRESS_EVERY: usize = 10_000;

/// Lines buffered before they are written; the first chunk also decides the
/// conversation (see [`ChatSink::flush`]).
const CHUNK: usize = 4096;

/// A chat whose first lines are all the shop's or the platform's waits for its customer
/// this many lines at most before the chat's title stands in for them.
const MAX_WAIT_FOR_CUSTOMER: usize = 65_536;

/// One chat as it starts: everything but its lines.
#[derive(Debug, Clone, Copy)]
pub struct ChatHeader<'a> {
    pub channel: Channel,
    pub thread_id: Option<&'a str>,
    pub title: Option<&'a str>,
    /// Named participants the export lists, including ones who never wrote.
    pub participants: &'a [ChatAuthor],
}

impl<'a> ChatHeader<'a> {
    pub fn of(export: &'a ChatExport) -> ChatHeader<'a> {
        ChatHeader {
            channel: export.channel,
            thread_id: export.thread_id.as_deref(),
            title: export.title.as_deref(),
            participants: &export.participants,
        }
    }
}

impl Store {
    /// Stores one chat in one transaction; see [`Store::write_chats`].
    pub fn store_chat(
        &mut self,
        export: &ChatExport,
        options: &ChatStoreOptions<'_>,
        now: Millis,
    ) -> Result<ChatStored> {
        let mut stored = self.store_chats(vec![export.clone()], options, now, &mut |_| {})?;
        stored.pop().ok_or(StoreError::NotFound {
            what: "chat",
            id: 0,
        })
    }

    /// Stores every chat of one file in one transaction. `progress` gets the number of
    /// lines handled so far (of the sum of `messages.len()`).
    pub fn store_chats(
        &mut self,
        exports: Vec<ChatExport>,
        options: &ChatStoreOptions<'_>,
        now: Millis,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<ChatStored>> {
        self.write_chats(options, now, |sink| {
            let mut done = 0;
            let mut out = Vec::with_capacity(exports.len());
            for mut export in exports {
                let messages = std::mem::take(&mut export.messages);
                sink.begin(ChatHeader::of(&export))?;
                for m in messages {
                    sink.push(m)?;
                    done += 1;
                    if done % PROGRESS_EVERY == 0 {
                        progress(done);
                    }
                }
                out.push(sink.end(&export.problems)?);
            }
            progress(done);
            Ok(out)
        })
    }

    /// Runs `f` with a [`ChatSink`] in one transaction, committed when `f` returns Ok and
    /// rolled back (nothing of the file kept) when it returns an error.
    pub fn write_chats<T, E: From<StoreError>>(
        &mut self,
        options: &ChatStoreOptions<'_>,
        now: Millis,
        f: impl FnOnce(&mut ChatSink<'_, '_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let dir = self.attachments_dir();
        let tx = self.conn.transaction().map_err(StoreError::from)?;
        let mut sink = ChatSink {
            tx: &tx,
            options,
            own: OwnNames::new(options),
            attachments_dir: dir,
            now,
            chat: None,
        };
        let out = f(&mut sink)?;
        if sink.chat.is_some() {
            return Err(StoreError::ChatNotEnded.into());
        }
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }
}

/// Takes the chats of one file, line by line, inside [`Store::write_chats`]'s
/// transaction: [`ChatSink::begin`] a chat, [`ChatSink::push`] its lines oldest first,
/// [`ChatSink::end`] it; then the next chat.
pub struct ChatSink<'t, 'o> {
    tx: &'t Transaction<'t>,
    options: &'o ChatStoreOptions<'o>,
    own: OwnNames,
    attachments_dir: Option<std::path::PathBuf>,
    now: Millis,
    chat: Option<Chat>,
}

/// The chat being stored.
struct Chat {
    channel: Channel,
    thread_id: Option<String>,
    title: Option<String>,
    external_key: Option<String>,
    keys: LineKeys,
    /// Each author seen so far: `None` for the shop's own names.
    authors: HashMap<(String, Option<String>), Option<Person>>,
    /// The people, listed participants first, then authors as they first write.
    people: Vec<Person>,
    /// Lines waiting to be written.
    pending: Vec<Pending>,
    /// Set once the first chunk is written.
    target: Option<Target>,
    imported: usize,
    duplicates: usize,
    /// A line already stored in another conversation (an overlap the probes missed).
    elsewhere: Option<String>,
}

/// Where a chat's lines go, decided with its first chunk.
struct Target {
    conversation: i64,
    /// Created by this import (so it may fold into an older one that holds its lines).
    created: bool,
    bulk: BulkIndex,
    /// The highest message id before this chat's lines.
    before: i64,
}

/// One line ready to insert.
struct Pending {
    message: ChatMessage,
    key: String,
    direction: &'static str,
    identity: Option<i64>,
    sent_at: Millis,
}

impl ChatSink<'_, '_> {
    /// Starts a chat: its listed participants become customers now.
    pub fn begin(&mut self, header: ChatHeader<'_>) -> Result<()> {
        if self.chat.is_some() {
            return Err(StoreError::ChatNotEnded);
        }
        let external_key = header
            .thread_id
            .or(header.title)
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_owned);
        self.chat = Some(Chat {
            channel: header.channel,
            thread_id: header.thread_id.map(str::to_owned),
            title: header.title.map(str::to_owned),
            external_key,
            keys: LineKeys::new(header.channel, header.thread_id),
            authors: HashMap::new(),
            people: Vec::new(),
            pending: Vec::with_capacity(CHUNK),
            target: None,
            imported: 0,
            duplicates: 0,
            elsewhere: None,
        });
        for author in header.participants {
            self.author(author)?;
        }
        Ok(())
    }

    /// Adds the chat's next line.
    pub fn push(&mut self, message: ChatMessage) -> Result<()> {
        let chat = self.chat.as_mut().ok_or(StoreError::ChatNotBegun)?;
        let key = chat.keys.next(&message);
        self.push_keyed(message, key)
    }

    /// Adds the chat's next line with its key, made by a [`LineKeys`] for this chat's
    /// channel and thread id that was fed every line before it. (Lines of one chat go
    /// either all through [`ChatSink::push`] or all through this.)
    pub fn push_keyed(&mut self, message: ChatMessage, key: String) -> Result<()> {
        let person = match (&message.author, message.kind) {
            (Some(author), kind) if kind != ChatKind::System => self.author(author)?,
            (Some(author), _) => self.known_author(author),
            (None, _) => None,
        };
        let own_line = message
            .author
            .as_ref()
            .is_some_and(|a| !a.name.trim().is_empty())
            && person.is_none();
        let direction = match (message.kind, person) {
            (ChatKind::Message, Some(_)) => "in",
            (ChatKind::Message, None) if own_line => "out",
            _ => "system",
        };
        let sent_at = to_millis(message.at, self.options);
        let chat = self.chat.as_mut().ok_or(StoreError::ChatNotBegun)?;
        chat.pending.push(Pending {
            message,
            key,
            direction,
            identity: person.and_then(|p| p.identity),
            sent_at,
        });
        if chat.pending.len() >= CHUNK {
            self.flush(false)?;
        }
        Ok(())
    }

    /// Ends the chat: writes what is left, does the index work, and reports.
    pub fn end(&mut self, problems: &[ChatProblem]) -> Result<ChatStored> {
        self.flush(true)?;
        let mut chat = self.chat.take().ok_or(StoreError::ChatNotBegun)?;
        let tx = self.tx;
        let problems = problems
            .iter()
            .map(|p| ImportProblem {
                location: format!("{}:{}", self.options.source, p.line),
                message: p.message.clone(),
            })
            .collect();
        let mut out = ChatStored {
            conversation: None,
            customers: Vec::new(),
            imported: chat.imported,
            duplicates: chat.duplicates,
            problems,
        };
        let Some(target) = chat.target.take() else {
            return Ok(out); // no lines at all
        };
        target.bulk.finish(tx, target.before, target.conversation)?;
        let mut conversation = target.conversation;
        for identity in chat.people.iter().filter_map(|p| p.identity) {
            tx.prepare_cached("INSERT OR IGNORE INTO conversation_participants(conversation_id, identity_id) VALUES (?1, ?2)")?
                .execute(params![conversation, identity])?;
        }
        if let Some(key) = chat.elsewhere.as_deref() {
            let other: Option<i64> = tx
                .prepare_cached(
                    "SELECT m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
                      WHERE m.source_key = ?1 AND c.channel = ?2",
                )?
                .query_row(params![key, chat.channel.as_str()], |r| r.get(0))
                .optional()?;
            if let Some(other) = other
                && target.created
                && other != conversation
            {
                absorb_new_conversation(tx, other, conversation)?;
                conversation = other;
            }
        }
        // A customer's new line wakes the conversation and cancels a "send later" reply (as mail does).
        let newest_inbound: Option<Millis> = tx.query_row(
            "SELECT max(sent_at) FROM messages WHERE id > ?1 AND conversation_id = ?2 AND direction = 'in'",
            params![target.before, conversation],
            |r| r.get(0),
        )?;
        if let Some(at) = newest_inbound {
            crate::workflow::on_customer_message_tx(tx, conversation, at, self.now)?;
        }
        for person in &chat.people {
            let customer = live_customer(tx, person.customer)?;
            if !out.customers.contains(&customer) {
                out.customers.push(customer);
            }
        }
        out.conversation = Some(ConversationId(conversation));
        Ok(out)
    }

    /// The person behind `author`, resolved (and made a customer) on first sight;
    /// `None` for the shop's own names.
    fn author(&mut self, author: &ChatAuthor) -> Result<Option<Person>> {
        let chat = self.chat.as_mut().ok_or(StoreError::ChatNotBegun)?;
        if let Some(known) = chat.authors.get(&(author.name.clone(), author.id.clone())) {
            return Ok(*known);
        }
        let region = self.options.phone_region;
        let person = match self.own.contains(author, region) || author.name.trim().is_empty() {
            true => None,
            false => Some(resolve_person(
                self.tx,
                chat.channel,
                author,
                region,
                self.now,
            )?),
        };
        chat.people.extend(person);
        chat.authors
            .insert((author.name.clone(), author.id.clone()), person);
        Ok(person)
    }

    /// A system line's author, only if they are already a known person.
    fn known_author(&self, author: &ChatAuthor) -> Option<Person> {
        let chat = self.chat.as_ref()?;
        chat.authors
            .get(&(author.name.clone(), author.id.clone()))
            .copied()
            .flatten()
    }

    /// Writes the pending lines. The first write decides the conversation: the one that
    /// already holds any of these lines (a re-import, a later export), else the one with
    /// this thread id or title and a participant in common, else a new one belonging to
    /// the first person of the chat. It waits (lines stay pending) while no person has
    /// appeared yet, up to [`MAX_WAIT_FOR_CUSTOMER`] lines or the end of the chat.
    fn flush(&mut self, at_end: bool) -> Result<()> {
        let tx = self.tx;
        let Some(chat) = self.chat.as_mut() else {
            return Err(StoreError::ChatNotBegun);
        };
        if chat.pending.is_empty() {
            return Ok(());
        }
        if chat.target.is_none() {
            if chat.people.is_empty() && !at_end && chat.pending.len() < MAX_WAIT_FOR_CUSTOMER {
                return Ok(());
            }
            if chat.people.is_empty() {
                // Only the shop (or the platform) wrote: the chat's title names the other side.
                let person = match chat
                    .title
                    .as_deref()
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                {
                    Some(title) => resolve_person(
                        tx,
                        chat.channel,
                        &ChatAuthor {
                            name: title.to_owned(),
                            id: None,
                        },
                        self.options.phone_region,
                        self.now,
                    )?,
                    None => {
                        tx.prepare_cached("INSERT INTO customers(name, created_at, updated_at) VALUES ('Unknown', ?1, ?1)")?
                            .execute([self.now])?;
                        Person {
                            customer: CustomerId(tx.last_insert_rowid()),
                            identity: None,
                        }
                    }
                };
                chat.people.push(person);
            }
            chat.target = Some(decide_conversation(tx, chat, self.now)?);
        }
        let Some(target) = chat.target.as_ref() else {
            return Ok(());
        };
        let (conversation, created, before) = (target.conversation, target.created, target.before);
        let mut batch = LineBatch::new(
            tx,
            conversation,
            chat.channel,
            self.now,
            created && chat.elsewhere.is_none(),
        )?;
        // Attachments need their message's id: they are written after the batch, for the
        // lines that turned out new.
        let mut files: Vec<(String, Vec<ChatAttachment>)> = Vec::new();
        for mut line in chat.pending.drain(..) {
            if !line.message.attachments.is_empty() {
                files.push((
                    line.key.clone(),
                    std::mem::take(&mut line.message.attachments),
                ));
            }
            batch.push(line)?;
        }
        let (imported, duplicates, elsewhere) = batch.finish()?;
        let dir = self.attachments_dir.as_deref();
        for (key, attachments) in files {
            let message: Option<i64> = tx
                .prepare_cached("SELECT id FROM messages WHERE source_key = ?1 AND id > ?2")?
                .query_row(params![key, before], |r| r.get(0))
                .optional()?;
            if let Some(message) = message {
                for a in &attachments {
                    store_attachment(tx, message, a, dir)?;
                }
            }
        }
        chat.imported += imported;
        chat.duplicates += duplicates;
        if chat.elsewhere.is_none() {
            chat.elsewhere = elsewhere;
        }
        Ok(())
    }
}

/// Picks (or creates) the conversation for a chat's first chunk; see [`ChatSink::flush`].
fn decide_conversation(tx: &Transaction<'_>, chat: &Chat, now: Millis) -> Result<Target> {
    let channel = chat.channel;
    let mut conversation: Option<i64> = None;
    {
        let mut stmt = tx.prepare_cached(
            "SELECT m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
              WHERE m.source_key = ?1 AND c.channel = ?2",
        )?;
        for line in &chat.pending {
            conversation = stmt
                .query_row(params![line.key, channel.as_str()], |r| r.get(0))
                .optional()?;
            if conversation.is_some() {
                break;
            }
        }
    }
    let identities: Vec<i64> = chat.people.iter().filter_map(|p| p.identity).collect();
    if conversation.is_none()
        && let Some(key) = &chat.external_key
    {
        // Same thread id or title: the same chat only if someone in it is the same (two
        // exports both named "_chat" are not one chat).
        conversation = tx
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
    }
    let created = conversation.is_none();
    let conversation = match conversation {
        Some(id) => id,
        None => {
            let key_free: bool = match &chat.external_key {
                Some(key) => tx
                    .prepare_cached("SELECT NOT EXISTS (SELECT 1 FROM conversations WHERE channel = ?1 AND external_key = ?2)")?
                    .query_row(params![channel.as_str(), key], |r| r.get(0))?,
                None => false,
            };
            let first_at = chat.pending.iter().map(|l| l.sent_at).min().unwrap_or(now);
            let customer = chat
                .people
                .first()
                .map(|p| live_customer(tx, p.customer))
                .transpose()?;
            let customer = customer.ok_or(StoreError::NotFound {
                what: "chat participant",
                id: 0,
            })?;
            tx.prepare_cached(
                "INSERT INTO conversations(customer_id, channel, subject, external_key, created_at, last_activity_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            )?
            .execute(params![
                customer.0,
                channel.as_str(),
                chat.title,
                if key_free { chat.external_key.as_deref() } else { None },
                first_at
            ])?;
            tx.last_insert_rowid()
        }
    };
    let before: i64 = tx.query_row("SELECT coalesce(max(id), 0) FROM messages", [], |r| {
        r.get(0)
    })?;
    let bulk = BulkIndex::begin(tx)?;
    let _ = &chat.thread_id;
    Ok(Target {
        conversation,
        created,
        bulk,
        before,
    })
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
    // Written by hand: format! was a tenth of a million-line import.
    fn digits(out: &mut String, value: i64, width: usize) {
        let mut buf = [b'0'; 20];
        let mut v = value.unsigned_abs();
        let mut i = buf.len();
        while v > 0 {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        let start = (buf.len() - width).min(i);
        if value < 0 {
            out.push('-');
        }
        out.extend(buf[start..].iter().map(|&b| char::from(b)));
    }
    let mut out = String::with_capacity(20);
    match at {
        ChatTime::Local(c) => {
            out.push('l');
            digits(&mut out, i64::from(c.year), 4);
            for part in [c.month, c.day, c.hour, c.minute, c.second] {
                digits(&mut out, i64::from(part), 2);
            }
        }
        ChatTime::Utc(ms) => {
            out.push('u');
            digits(&mut out, ms, 15);
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Source keys of a chat's lines, made in order: a sortable time prefix (keeps the
/// unique index appending rather than scattering) and a 128-bit hash of the line. Public
/// so an importer can make them on its parsing thread: feed it every line of the chat in
/// order and hand each key to [`ChatSink::push_keyed`].
pub struct LineKeys {
    channel: &'static str,
    thread: String,
    /// Occurrences of one (time, author, text) so far, by a 64-bit digest of it: a line
    /// repeated verbatim in the same minute is still two lines.
    seen: HashMap<u64, u32>,
}

impl LineKeys {
    pub fn new(channel: Channel, thread: Option<&str>) -> LineKeys {
        LineKeys {
            channel: channel.as_str(),
            thread: thread.unwrap_or("").to_owned(),
            seen: HashMap::new(),
        }
    }

    /// The key of the chat's next line.
    pub fn next(&mut self, m: &ChatMessage) -> String {
        let author = m
            .author
            .as_ref()
            .map_or("", |a| a.id.as_deref().unwrap_or(&a.name));
        let mut h = std::hash::DefaultHasher::new();
        (m.at, author, &m.text).hash(&mut h);
        let count = self.seen.entry(h.finish()).or_insert(0);
        let occurrence = *count;
        *count += 1;
        let time = key_time(m.at);
        let mut sha = Sha256::new();
        for part in [self.channel, &self.thread, &time, author, &m.text] {
            sha.update((part.len() as u64).to_le_bytes());
            sha.update(part.as_bytes());
        }
        sha.update(occurrence.to_le_bytes());
        let digest = sha.finalize();
        let mut key = String::with_capacity(5 + time.len() + 1 + 32);
        key.push_str("chat/");
        key.push_str(&time);
        key.push('/');
        for b in &digest[..16] {
            key.push(char::from(HEX[usize::from(b >> 4)]));
            key.push(char::from(HEX[usize::from(b & 15)]));
        }
        key
    }
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

impl Pending {
    fn author(&self) -> Option<&str> {
        self.message.author.as_ref().map(|a| a.name.as_str())
    }

    /// The text stored: calls and reactions become readable events.
    fn body(&self) -> std::borrow::Cow<'_, str> {
        match self.message.kind {
            ChatKind::Call | ChatKind::Reaction => {
                std::borrow::Cow::Owned(event_text(&self.message))
            }
            _ => std::borrow::Cow::Borrowed(self.message.text.as_str()),
        }
    }
}

/// Lines per multi-row INSERT: one statement per line costs more in statement setup and
/// teardown than the insert itself.
const BATCH: usize = 128;

/// Inserts lines [`BATCH`] at a time, skipping source keys already stored, and counts
/// what went in.
struct LineBatch<'t> {
    tx: &'t Transaction<'t>,
    many: rusqlite::CachedStatement<'t>,
    one: rusqlite::CachedStatement<'t>,
    conversation: i64,
    pending: Vec<Pending>,
    imported: usize,
    duplicates: usize,
    /// Whether to look a skipped line up in other conversations (only worth it for a
    /// conversation this import created).
    look_elsewhere: bool,
    /// A line found stored in another conversation.
    elsewhere: Option<String>,
}

impl<'t> LineBatch<'t> {
    fn new(
        tx: &'t Transaction<'t>,
        conversation: i64,
        channel: Channel,
        now: Millis,
        look_elsewhere: bool,
    ) -> Result<LineBatch<'t>> {
        // The constant columns are written into the SQL (integers and a vocabulary word).
        let row = format!(
            "({conversation}, ?, '{}', ?, ?, ?, ?, ?, {now})",
            channel.as_str()
        );
        let sql = |rows: usize| {
            format!(
                "INSERT INTO messages(conversation_id, direction, channel, author, sent_at, body_text, source_key,
                                      identity_id, created_at)
                 VALUES {} ON CONFLICT(source_key) DO NOTHING",
                vec![row.as_str(); rows].join(", ")
            )
        };
        Ok(LineBatch {
            tx,
            many: tx.prepare_cached(&sql(BATCH))?,
            one: tx.prepare_cached(&sql(1))?,
            conversation,
            pending: Vec::with_capacity(BATCH),
            imported: 0,
            duplicates: 0,
            look_elsewhere,
            elsewhere: None,
        })
    }

    fn push(&mut self, line: Pending) -> Result<()> {
        self.pending.push(line);
        if self.pending.len() == BATCH {
            let mut n = 1;
            for l in &self.pending {
                self.many.raw_bind_parameter(n, l.direction)?;
                self.many.raw_bind_parameter(n + 1, l.author())?;
                self.many.raw_bind_parameter(n + 2, l.sent_at)?;
                self.many.raw_bind_parameter(n + 3, l.body().as_ref())?;
                self.many.raw_bind_parameter(n + 4, l.key.as_str())?;
                self.many.raw_bind_parameter(n + 5, l.identity)?;
                n += 6;
            }
            let inserted = self.many.raw_execute()?;
            let lines = std::mem::take(&mut self.pending);
            self.counted(&lines, inserted)?;
            self.pending = lines;
            self.pending.clear();
        }
        Ok(())
    }

    fn insert_single(&mut self, line: &Pending) -> Result<usize> {
        let inserted = self.one.execute(params![
            line.direction,
            line.author(),
            line.sent_at,
            line.body(),
            line.key,
            line.identity
        ])?;
        self.counted(std::slice::from_ref(line), inserted)?;
        Ok(inserted)
    }

    fn flush_pending(&mut self) -> Result<()> {
        for line in std::mem::take(&mut self.pending) {
            self.insert_single(&line)?;
        }
        Ok(())
    }

    fn counted(&mut self, lines: &[Pending], inserted: usize) -> Result<()> {
        self.imported += inserted;
        self.duplicates += lines.len() - inserted;
        if inserted < lines.len() && self.look_elsewhere && self.elsewhere.is_none() {
            let mut stmt = self.tx.prepare_cached(
                "SELECT 1 FROM messages WHERE source_key = ?1 AND conversation_id != ?2",
            )?;
            for line in lines {
                if stmt.exists(params![line.key, self.conversation])? {
                    self.elsewhere = Some(line.key.clone());
                    break;
                }
            }
        }
        Ok(())
    }

    /// Inserts what is left; returns (imported, duplicates, a key stored elsewhere).
    fn finish(mut self) -> Result<(usize, usize, Option<String>)> {
        self.flush_pending()?;
        Ok((self.imported, self.duplicates, self.elsewhere))
    }
}

/// The `messages_ai` trigger exactly as `migrations/0001_init.sql` creates it.
const MESSAGES_AI: &str = "CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, subject, body_text, author)
        VALUES (new.id, shopdesk_fold(new.subject), shopdesk_fold(new.body_text),
                shopdesk_fold(new.author));
    UPDATE conversations
       SET last_activity_at = max(last_activity_at, new.sent_at),
           last_inbound_at = CASE WHEN new.direction = 'in'
                                  THEN max(coalesce(last_inbound_at, 0), new.sent_at)
                                  ELSE last_inbound_at END
     WHERE id = new.conversation_id;
END";

/// Bulk insertion without the per-row `messages_ai` trigger, inside the caller's
/// transaction: the trigger is dropped, the lines inserted, then the trigger's work is
/// done once for all new rows (one FTS5 INSERT…SELECT, one conversation update) and the
/// trigger re-created from its own stored text. Row by row, the trigger makes every
/// insert a statement that writes to FTS5 under a statement savepoint, and FTS5 flushes
/// its pending terms at each savepoint: about ten times slower for a big chat. Other
/// connections never see the trigger missing (it is all one transaction).
///
/// Only when the trigger is exactly the one this code mirrors ([`MESSAGES_AI`]); a
/// later schema with another trigger keeps it and stays correct, only slower.
struct BulkIndex {
    trigger_sql: Option<String>,
}

impl BulkIndex {
    fn begin(tx: &Transaction<'_>) -> Result<BulkIndex> {
        let sql: Option<String> = tx
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_ai'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        match sql {
            Some(sql) if squash(&sql) == squash(MESSAGES_AI) => {
                tx.execute_batch("DROP TRIGGER messages_ai")?;
                Ok(BulkIndex {
                    trigger_sql: Some(sql),
                })
            }
            _ => Ok(BulkIndex { trigger_sql: None }),
        }
    }

    /// Does the trigger's work for the rows with id > `before` (all in `conversation`)
    /// and puts the trigger back.
    fn finish(self, tx: &Transaction<'_>, before: i64, conversation: i64) -> Result<()> {
        let Some(sql) = self.trigger_sql else {
            return Ok(());
        };
        tx.execute(
            "INSERT INTO messages_fts(rowid, subject, body_text, author)
             SELECT id, shopdesk_fold(subject), shopdesk_fold(body_text), shopdesk_fold(author)
               FROM messages WHERE id > ?1",
            [before],
        )?;
        tx.execute(
            "UPDATE conversations
                SET last_activity_at = max(last_activity_at,
                        coalesce((SELECT max(sent_at) FROM messages WHERE id > ?1), last_activity_at)),
                    last_inbound_at = coalesce(
                        max(coalesce(last_inbound_at, 0),
                            (SELECT max(sent_at) FROM messages WHERE id > ?1 AND direction = 'in')),
                        last_inbound_at)
              WHERE id = ?2",
            params![before, conversation],
        )?;
        tx.execute_batch(&sql)?;
        Ok(())
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

fn to_millis(at: ChatTime, options: &ChatStoreOptions<'_>) -> Millis {
    match at {
        ChatTime::Utc(ms) => ms,
        ChatTime::Local(civil) => (options.to_utc)(civil),
    }
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

        // New lines, then one line of the old export after the first chunk (which alone
        // decides the conversation): the insert's conflict finds it, and the new
        // conversation folds into the old one.
        let fresh = CHUNK + 100;
        let mut lines: Vec<ChatMessage> = (0..fresh)
            .map(|i| line(50, "Anna", &format!("before {i}")))
            .collect();
        lines.push(all[30].clone());
        lines.extend((0..100).map(|i| line(59, "Anna", &format!("after {i}"))));
        let c = store_with(&mut store, &chat("part3", lines), &["Shop"]);
        assert_eq!((c.imported, c.duplicates), (fresh + 100, 1));
        assert_eq!(c.conversation, a.conversation);
        assert_eq!(count(&store, "SELECT count(*) FROM conversations"), 1);
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM messages WHERE conversation_id = (SELECT id FROM conversations)"
            ),
            40 + fresh as i64 + 100
        );
        assert_eq!(store.search("before 4150", 5).expect("search").len(), 1);
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

    /// Key times are fixed-width digits, as format! would write them.
    #[test]
    fn key_time_digits() {
        let c = CivilTime {
            year: 2024,
            month: 3,
            day: 1,
            hour: 0,
            minute: 5,
            second: 59,
        };
        assert_eq!(key_time(ChatTime::Local(c)), "l20240301000559");
        assert_eq!(
            key_time(ChatTime::Utc(1_700_000_000_000)),
            "u001700000000000"
        );
        assert_eq!(key_time(ChatTime::Utc(0)), "u000000000000000");
        assert_eq!(key_time(ChatTime::Utc(-5)), "u-000000000000005");
    }

    /// The bulk path mirrors the schema's trigger exactly (a schema that changes
    /// `messages_ai` must update [`MESSAGES_AI`]); after an import the trigger is back,
    /// the chat's words are searchable, and the conversation's activity times are set.
    #[test]
    fn bulk_path_indexes_like_the_trigger() {
        let mut store = Store::open_in_memory().expect("store");
        let tx = store.conn.transaction().expect("tx");
        assert!(
            BulkIndex::begin(&tx).expect("begin").trigger_sql.is_some(),
            "messages_ai differs from MESSAGES_AI"
        );
        drop(tx);
        let export = chat(
            "Anna",
            vec![
                line(0, "Anna", "zamówienie 1001"),
                line(7, "Shop", "wysłane"),
            ],
        );
        store_with(&mut store, &export, &["Shop"]);
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'messages_ai'"
            ),
            1
        );
        assert_eq!(store.search("zamowienie", 10).expect("search").len(), 1);
        assert_eq!(store.search("wyslane", 10).expect("search").len(), 1);
        let minute = |m: u8| {
            as_utc(CivilTime {
                year: 2024,
                month: 3,
                day: 1,
                hour: 10,
                minute: m,
                second: 0,
            })
        };
        let (activity, inbound): (i64, i64) = store
            .conn
            .query_row(
                "SELECT last_activity_at, last_inbound_at FROM conversations",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("times");
        assert_eq!((activity, inbound), (minute(7), minute(0)));
    }
}

#[cfg(test)]
mod bulk {
    use super::*;

    /// Speed check (run by hand: `cargo test -p shopdesk-store --release --lib -- --ignored
    /// --nocapture bulk`): a 1,000,000-line chat (`BULK_LINES=N` for another size) into a
    /// database file, then again (all duplicates). Asserts the counts; prints the times.
    #[test]
    #[ignore]
    fn million_lines() {
        let words = [
            "שלום",
            "zamówienie",
            "order",
            "😀",
            "תודה",
            "paczka",
            "when",
            "arrives",
            "dziękuję",
            "size",
        ];
        let n: usize = std::env::var("BULK_LINES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let messages: Vec<ChatMessage> = (0..n)
            .map(|i| {
                let s = i as u32;
                let text: Vec<&str> = (0..(4 + i % 9))
                    .map(|w| words[(i * 7 + w * 3) % words.len()])
                    .collect();
                ChatMessage {
                    at: ChatTime::Local(CivilTime {
                        year: 2020 + (s / 31_536_000) as i16,
                        month: 1 + ((s / 2_592_000) % 12) as u8,
                        day: 1 + ((s / 86_400) % 28) as u8,
                        hour: ((s / 3600) % 24) as u8,
                        minute: ((s / 60) % 60) as u8,
                        second: 0,
                    }),
                    author: Some(ChatAuthor {
                        name: ["Anna", "Shop", "+972 50-123-4567"][i % 3].to_owned(),
                        id: None,
                    }),
                    kind: ChatKind::Message,
                    text: text.join(" "),
                    attachments: Vec::new(),
                    line: i + 1,
                }
            })
            .collect();
        let export = ChatExport {
            messages,
            ..ChatExport::new(Channel::Whatsapp)
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(&dir.path().join("s.db")).expect("store");
        let own = vec!["Shop".to_owned()];
        let to_utc =
            |c: CivilTime| i64::from(c.year) * 1000 + i64::from(c.month) * 100 + i64::from(c.day);
        let options = ChatStoreOptions {
            own_names: &own,
            phone_region: None,
            to_utc: &to_utc,
            source: "big.txt",
        };
        let started = std::time::Instant::now();
        let stored = store.store_chat(&export, &options, 0).expect("store");
        eprintln!("{n} lines stored in {:?}", started.elapsed());
        assert_eq!(stored.imported + stored.duplicates, n);
        let started = std::time::Instant::now();
        let again = store.store_chat(&export, &options, 0).expect("again");
        eprintln!("re-import (all duplicates) in {:?}", started.elapsed());
        assert_eq!(again.imported, 0);
    }
}
