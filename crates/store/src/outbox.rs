//! The outbox: replies that must be sent exactly once. A reply is written here, with its
//! final Message-ID and exact bytes, together with its timeline row, in one transaction
//! before any network call; delivery then moves it queued → sending → sent (or back to
//! queued with a backoff, or failed). The timeline row is stored through the same path
//! as any email (see email.rs), so the copy APPENDed to Sent, when sync brings it back,
//! has the same source key and is a duplicate, not a second message.

use crate::email::{EmailInput, Stored, store_email_tx, write_attachment_file};
use crate::time::ser_opt_rfc3339;
use crate::{Result, Store, StoreError};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use shopdesk_core::{Channel, ConversationId, MessageId, Millis};

/// Where an outbox entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    /// Waiting for its time (send later, or the next attempt after a transient failure).
    Queued,
    /// Handed to the SMTP server, not yet recorded as accepted. Found at start, it means a
    /// crash in between: the Sent folder decides whether it went out.
    Sending,
    Sent,
    /// Refused for good (5xx) or given up; `retry` queues it again.
    Failed,
    Cancelled,
}

impl OutboxState {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Failed => "failed",
            OutboxState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Option<OutboxState> {
        Some(match s {
            "queued" => OutboxState::Queued,
            "sending" => OutboxState::Sending,
            "sent" => OutboxState::Sent,
            "failed" => OutboxState::Failed,
            "cancelled" => OutboxState::Cancelled,
            _ => return None,
        })
    }
}

/// One outbox row as listed (without the raw bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub account_id: i64,
    pub conversation_id: Option<ConversationId>,
    /// Its row on the conversation's timeline.
    pub message_id: Option<MessageId>,
    pub rfc_message_id: String,
    pub state: OutboxState,
    pub attempts: u32,
    #[serde(serialize_with = "ser_opt_rfc3339")]
    pub send_after: Option<Millis>,
    pub cancel_on_reply: bool,
    #[serde(serialize_with = "ser_opt_rfc3339")]
    pub next_attempt_at: Option<Millis>,
    /// The server's answer to the last failed attempt.
    pub last_error: Option<String>,
    #[serde(serialize_with = "ser_opt_rfc3339")]
    pub created_at: Option<Millis>,
    #[serde(serialize_with = "ser_opt_rfc3339")]
    pub sent_at: Option<Millis>,
}

/// A reply to queue: the outbox fields and the parsed form of the same bytes.
pub struct NewOutbound<'a> {
    pub account_id: i64,
    pub conversation: ConversationId,
    pub rfc_message_id: &'a str,
    pub raw: &'a [u8],
    pub send_after: Option<Millis>,
    pub cancel_on_reply: bool,
    /// `raw` parsed, with the source key sync will compute for its copy in Sent.
    pub email: EmailInput<'a>,
}

/// What the store knows about answering a conversation: its channel and subject and the
/// customer's last email (whom to answer, what to reference).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReplyContext {
    pub channel: Option<Channel>,
    pub subject: Option<String>,
    /// Reply-To, else From, of the customer's last email; else the customer's email.
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub parent_message_id: Option<String>,
    pub parent_references: Vec<String>,
    /// The account that received the customer's last email, when known.
    pub account_id: Option<i64>,
    /// The customer's phone (E.164), for chat replies.
    pub customer_phone: Option<String>,
}

/// Attempts before a message that keeps failing transiently is marked failed.
pub const MAX_ATTEMPTS: u32 = 12;

/// Wait before attempt `attempts + 1`: 30 s doubling, at most an hour.
pub fn backoff(attempts: u32) -> Millis {
    let base: Millis = 30_000;
    base.saturating_mul(1 << attempts.saturating_sub(1).min(7))
        .min(3_600_000)
}

const COLUMNS: &str =
    "id, account_id, conversation_id, message_id, rfc_message_id, state, attempts, send_after,
                       cancel_on_reply, next_attempt_at, last_error, created_at, sent_at";

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let state: String = r.get(5)?;
    Ok(OutboxEntry {
        id: r.get(0)?,
        account_id: r.get(1)?,
        conversation_id: r.get::<_, Option<i64>>(2)?.map(ConversationId),
        message_id: r.get::<_, Option<i64>>(3)?.map(MessageId),
        rfc_message_id: r.get(4)?,
        state: OutboxState::parse(&state).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                5,
                rusqlite::types::Type::Text,
                format!("outbox state {state:?}").into(),
            )
        })?,
        attempts: r.get(6)?,
        send_after: r.get(7)?,
        cancel_on_reply: r.get(8)?,
        next_attempt_at: r.get(9)?,
        last_error: r.get(10)?,
        created_at: r.get(11)?,
        sent_at: r.get(12)?,
    })
}

/// The customer's last email: Message-ID, References, Reply-To or From, author, subject,
/// receiving account.
type LastInbound = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

impl Store {
    /// Queues a reply: the timeline row (through the email path, so it threads into
    /// `conversation` and sync later recognises its copy) and the outbox row, in one
    /// transaction.
    pub fn enqueue_outbound(&mut self, new: &NewOutbound<'_>, now: Millis) -> Result<OutboxEntry> {
        let attachments_dir = self.attachments_dir();
        let id = self.write(|tx| {
            // The reply's own id points at the conversation first, so threading puts it
            // there even when the customer's mail carried no usable ids.
            tx.execute(
                "INSERT INTO email_thread_ids(rfc_message_id, conversation_id) VALUES (?1, ?2)
                 ON CONFLICT(rfc_message_id) DO NOTHING",
                params![new.rfc_message_id, new.conversation.0],
            )?;
            let stored = store_email_tx(tx, &new.email, attachments_dir.as_deref(), now, &mut write_attachment_file)?;
            let Stored::New { message, .. } = stored else {
                return Err(StoreError::AlreadyExists { what: "message", name: new.rfc_message_id.to_owned() });
            };
            tx.execute(
                "INSERT INTO outbox(account_id, conversation_id, message_id, rfc_message_id, raw, state, send_after,
                                    cancel_on_reply, next_attempt_at, created_at)
                 VALUES (?1, (SELECT conversation_id FROM messages WHERE id = ?2), ?2, ?3, ?4, 'queued', ?5, ?6, ?5, ?7)",
                params![new.account_id, message.0, new.rfc_message_id, new.raw, new.send_after, new.cancel_on_reply, now],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        self.outbox_entry(id)
    }

    /// Every entry, newest first.
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox ORDER BY id DESC"))?;
        Ok(stmt
            .query_map([], entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn outbox_entry(&self, id: i64) -> Result<OutboxEntry> {
        self.conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ?"))?
            .query_row([id], entry)
            .optional()?
            .ok_or(StoreError::NotFound {
                what: "outbox entry",
                id,
            })
    }

    /// The exact bytes to send.
    pub fn outbox_raw(&self, id: i64) -> Result<Vec<u8>> {
        self.conn
            .query_row("SELECT raw FROM outbox WHERE id = ?", [id], |r| r.get(0))
            .optional()?
            .ok_or(StoreError::NotFound {
                what: "outbox entry",
                id,
            })
    }

    /// Entries in `state`, oldest first.
    pub fn outbox_in_state(&self, state: OutboxState) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE state = ? ORDER BY id"
        ))?;
        Ok(stmt
            .query_map([state.as_str()], entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Queued entries whose time has come (send later and backoff both passed), oldest first.
    pub fn outbox_due(&self, now: Millis) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE state = 'queued'
                AND max(coalesce(next_attempt_at, 0), coalesce(send_after, 0)) <= ?1 ORDER BY id"
        ))?;
        Ok(stmt
            .query_map([now], entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// When the next queued entry becomes due; `None` when nothing waits.
    pub fn outbox_next_due(&self) -> Result<Option<Millis>> {
        Ok(self.conn.query_row(
            "SELECT min(max(coalesce(next_attempt_at, 0), coalesce(send_after, 0))) FROM outbox WHERE state = 'queued'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Claims a queued entry for sending; false when it is no longer queued (cancelled
    /// meanwhile, or another delivery run took it).
    pub fn outbox_claim(&mut self, id: i64, now: Millis) -> Result<bool> {
        let changed = self.conn.execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, next_attempt_at = ?2
              WHERE id = ?1 AND state = 'queued'",
            params![id, now],
        )?;
        Ok(changed == 1)
    }

    /// The server accepted it (or it was found in Sent after a crash).
    pub fn outbox_mark_sent(&mut self, id: i64, now: Millis) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?2, next_attempt_at = NULL WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
    }

    /// An attempt failed with the server's `answer`. A transient failure queues the entry
    /// again after [`backoff`] (until [`MAX_ATTEMPTS`]); a permanent one marks it failed.
    /// Returns the new state.
    pub fn outbox_mark_failed(
        &mut self,
        id: i64,
        answer: &str,
        permanent: bool,
        now: Millis,
    ) -> Result<OutboxState> {
        let entry = self.outbox_entry(id)?;
        let (state, next) = if permanent || entry.attempts >= MAX_ATTEMPTS {
            (OutboxState::Failed, None)
        } else {
            (OutboxState::Queued, Some(now + backoff(entry.attempts)))
        };
        self.conn.execute(
            "UPDATE outbox SET state = ?2, last_error = ?3, next_attempt_at = ?4 WHERE id = ?1",
            params![id, state.as_str(), answer, next],
        )?;
        Ok(state)
    }

    /// Queues a failed or waiting entry for an attempt now (the send-later time stays).
    pub fn outbox_retry(&mut self, id: i64, now: Millis) -> Result<OutboxEntry> {
        let entry = self.outbox_entry(id)?;
        if !matches!(entry.state, OutboxState::Failed | OutboxState::Queued) {
            return Err(StoreError::Refused(format!(
                "outbox entry {id} is {}; only queued or failed ones can be retried",
                entry.state.as_str()
            )));
        }
        self.conn.execute(
            "UPDATE outbox SET state = 'queued', next_attempt_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        self.outbox_entry(id)
    }

    /// Cancels an entry that has not been handed to a server yet.
    pub fn outbox_cancel(&mut self, id: i64) -> Result<OutboxEntry> {
        let changed =
            self.conn.execute("UPDATE outbox SET state = 'cancelled', next_attempt_at = NULL WHERE id = ?1 AND state IN ('queued', 'failed')", [id])?;
        let entry = self.outbox_entry(id)?;
        if changed == 0 {
            return Err(StoreError::Refused(format!(
                "outbox entry {id} is {}; only queued or failed ones can be cancelled",
                entry.state.as_str()
            )));
        }
        Ok(entry)
    }

    /// Whom and what a reply to `conversation` answers.
    pub fn reply_context(&self, conversation: ConversationId) -> Result<ReplyContext> {
        let head: Option<(String, Option<String>, i64)> = self
            .conn
            .query_row(
                "SELECT channel, subject, customer_id FROM conversations WHERE id = ?",
                [conversation.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((channel, subject, customer)) = head else {
            return Err(StoreError::NotFound {
                what: "conversation",
                id: conversation.0,
            });
        };
        let mut ctx = ReplyContext {
            channel: channel.parse().ok(),
            subject,
            ..ReplyContext::default()
        };
        let last: Option<LastInbound> = self
            .conn
            .query_row(
                "SELECT e.rfc_message_id, e.refs, coalesce(e.reply_to, e.from_addr), m.author, m.subject,
                        (SELECT s.account_id FROM message_sources s WHERE s.message_id = m.id AND s.account_id IS NOT NULL LIMIT 1)
                   FROM messages m JOIN email_headers e ON e.message_id = m.id
                  WHERE m.conversation_id = ?1 AND m.direction = 'in'
                  ORDER BY m.sent_at DESC, m.id DESC LIMIT 1",
                [conversation.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()?;
        if let Some((id, refs, address, author, msg_subject, account)) = last {
            ctx.parent_message_id = id;
            ctx.parent_references = refs
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            ctx.customer_email = address;
            ctx.customer_name = author.filter(|a| !a.contains('@'));
            ctx.account_id = account;
            if ctx.subject.is_none() {
                ctx.subject = msg_subject;
            }
        }
        let identity = |kind: &str| -> Result<Option<String>> {
            Ok(self
                .conn
                .query_row(
                    "SELECT value FROM identities WHERE customer_id = ?1 AND kind = ?2 ORDER BY id LIMIT 1",
                    params![customer, kind],
                    |r| r.get(0),
                )
                .optional()?)
        };
        if ctx.customer_email.is_none() {
            ctx.customer_email = identity("email")?;
        }
        ctx.customer_phone = identity("phone")?;
        if ctx.customer_name.is_none() {
            ctx.customer_name = self
                .conn
                .query_row("SELECT name FROM customers WHERE id = ?", [customer], |r| {
                    r.get(0)
                })
                .optional()?;
        }
        Ok(ctx)
    }

    /// Logs a reply the user sent by hand in a chat app (copied, or opened in WhatsApp):
    /// an outgoing message marked `sent_by_hand`. `key` makes its source key unique.
    pub fn log_hand_reply(
        &mut self,
        conversation: ConversationId,
        text: &str,
        author: Option<&str>,
        key: &str,
        now: Millis,
    ) -> Result<MessageId> {
        self.write(|tx| {
            let channel: Option<String> =
                tx.query_row("SELECT channel FROM conversations WHERE id = ?", [conversation.0], |r| r.get(0)).optional()?;
            let Some(channel) = channel else {
                return Err(StoreError::NotFound { what: "conversation", id: conversation.0 });
            };
            tx.execute(
                "INSERT INTO messages(conversation_id, direction, channel, author, sent_at, body_text, source_key, sent_by_hand, created_at)
                 VALUES (?1, 'out', ?2, ?3, ?4, ?5, ?6, 1, ?4)",
                params![conversation.0, channel, author, now, text, format!("hand:{}:{key}", conversation.0)],
            )?;
            Ok(MessageId(tx.last_insert_rowid()))
        })
    }
}
