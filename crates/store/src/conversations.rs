//! The inbox (conversations newest first) and one conversation's messages.

use crate::time::{ser_opt_rfc3339, ser_rfc3339};
use crate::{Result, Store, StoreError};
use rusqlite::{OptionalExtension, params_from_iter, types::Value};
use serde::{Deserialize, Serialize};
use shopdesk_core::{Channel, ConversationId, CustomerId, Direction, MessageId, Millis, Priority, Status, text};

/// Which conversations to list. The default is every conversation, newest activity first.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ConversationFilter {
    pub customer: Option<CustomerId>,
    pub status: Option<Status>,
    pub channel: Option<Channel>,
    /// Conversations carrying this tag (case ignored).
    pub tag: Option<String>,
    /// A team member's name, `me` (the member marked as me) or `none` (unassigned).
    pub assignee: Option<String>,
    /// Only those where the customer wrote last and no one has answered (not closed).
    pub waiting: bool,
    /// Only those whose customer has a follow-up due today (the app turns this into
    /// `followups_due_by`, since the store has no clock).
    pub followups_due: bool,
    /// Only those whose customer has a pending follow-up due at or before this time.
    #[serde(skip)]
    pub followups_due_by: Option<Millis>,
    /// Page size; `None` lists all.
    pub limit: Option<u32>,
    pub offset: u32,
}

/// One inbox row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConversationRow {
    pub id: ConversationId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub channel: Channel,
    pub status: Status,
    pub priority: Priority,
    pub subject: Option<String>,
    pub assignee: Option<String>,
    pub tags: Vec<String>,
    pub message_count: i64,
    /// RFC Message-IDs of the conversation's email messages, oldest first.
    pub message_ids: Vec<String>,
    #[serde(serialize_with = "ser_rfc3339")]
    pub last_activity: Millis,
    /// When the customer last wrote; with `last_activity` this gives the waiting time.
    #[serde(serialize_with = "ser_opt_rfc3339")]
    pub last_inbound: Option<Millis>,
    #[serde(serialize_with = "ser_opt_rfc3339")]
    pub snoozed_until: Option<Millis>,
    /// The start of the newest message, on one line.
    pub snippet: String,
}

/// One message on a conversation's timeline.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MessageRow {
    pub id: MessageId,
    pub conversation_id: ConversationId,
    pub direction: Direction,
    pub channel: Channel,
    pub author: Option<String>,
    #[serde(serialize_with = "ser_rfc3339")]
    pub sent_at: Millis,
    pub subject: Option<String>,
    pub body_text: String,
    /// Already sanitised when stored.
    pub body_html: Option<String>,
    pub rfc_message_id: Option<String>,
    pub sent_by_hand: bool,
    /// For a reply written here: its outbox state (`queued`, `sending`, `sent`, `failed`,
    /// `cancelled`); `None` for everything else.
    pub delivery: Option<String>,
}

/// One attachment of a message (the file itself is content-addressed beside the database).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AttachmentRow {
    pub id: i64,
    pub message_id: MessageId,
    pub filename: Option<String>,
    pub mime_type: Option<String>,
    pub size: Option<i64>,
    /// Where the bytes are stored; `None` when they were not kept (too large, unreadable).
    #[serde(skip)]
    pub sha256: Option<String>,
    pub inline: bool,
}

fn attachment_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AttachmentRow> {
    Ok(AttachmentRow {
        id: r.get(0)?,
        message_id: MessageId(r.get(1)?),
        filename: r.get(2)?,
        mime_type: r.get(3)?,
        size: r.get(4)?,
        sha256: r.get(5)?,
        inline: r.get(6)?,
    })
}

/// SQL condition: conversation `c` carries the tag bound to `?` (the inbox filter and the
/// search box's `tag:`; tag names compare without case).
pub(crate) const HAS_TAG: &str = " AND c.id IN (SELECT ct.conversation_id FROM conversation_tags ct
                                  JOIN tags t ON t.id = ct.tag_id WHERE t.name = ?)";

const SNIPPET_CHARS: usize = 120;

impl Store {
    /// Lists conversations newest activity first (ties by id, so paging is stable).
    pub fn conversations(&self, filter: &ConversationFilter) -> Result<Vec<ConversationRow>> {
        let mut sql = String::from(
            "SELECT c.id, c.customer_id, cu.name, c.channel, c.status, c.priority, c.subject,
                    tm.name, c.last_activity_at, c.last_inbound_at, c.snoozed_until,
                    (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id),
                    (SELECT m.body_text FROM messages m WHERE m.conversation_id = c.id
                      ORDER BY m.sent_at DESC, m.id DESC LIMIT 1)
               FROM conversations c
               JOIN customers cu ON cu.id = c.customer_id
               LEFT JOIN team_members tm ON tm.id = c.assignee_id
              WHERE 1 = 1",
        );
        let mut args: Vec<Value> = Vec::new();
        if let Some(customer) = filter.customer {
            // A customer's timeline includes the group chats they take part in.
            sql.push_str(
                " AND (c.customer_id = ?1 OR c.id IN (SELECT p.conversation_id FROM conversation_participants p
                                                       JOIN identities i ON i.id = p.identity_id
                                                      WHERE i.customer_id = ?1))",
            );
            args.push(Value::Integer(customer.0));
        }
        if let Some(status) = filter.status {
            sql.push_str(" AND c.status = ?");
            args.push(Value::Text(status.as_str().to_owned()));
        }
        if let Some(channel) = filter.channel {
            sql.push_str(" AND c.channel = ?");
            args.push(Value::Text(channel.as_str().to_owned()));
        }
        if let Some(tag) = &filter.tag {
            sql.push_str(HAS_TAG);
            args.push(Value::Text(tag.trim().to_owned()));
        }
        match filter.assignee.as_deref().map(str::trim) {
            None | Some("") => {}
            Some("none") => sql.push_str(" AND c.assignee_id IS NULL"),
            Some("me") => sql.push_str(" AND c.assignee_id = (SELECT id FROM team_members WHERE is_me = 1)"),
            Some(name) => {
                sql.push_str(" AND c.assignee_id IN (SELECT id FROM team_members WHERE name = ? COLLATE NOCASE)");
                args.push(Value::Text(name.to_owned()));
            }
        }
        if filter.waiting {
            // The customer's message is the newest activity: nobody has answered yet.
            sql.push_str(
                " AND c.status <> 'closed' AND c.last_inbound_at IS NOT NULL
                  AND c.last_inbound_at >= c.last_activity_at",
            );
        }
        if let Some(by) = filter.followups_due_by {
            sql.push_str(
                " AND c.customer_id IN (SELECT f.customer_id FROM followups f
                                         WHERE f.state = 'pending' AND f.due_at <= ?)",
            );
            args.push(Value::Integer(by));
        }
        sql.push_str(" ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ? OFFSET ?");
        args.push(Value::Integer(filter.limit.map_or(-1, i64::from)));
        args.push(Value::Integer(i64::from(filter.offset)));

        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt
            .query_map(params_from_iter(args), |r| {
                Ok(ConversationRow {
                    id: ConversationId(r.get(0)?),
                    customer_id: CustomerId(r.get(1)?),
                    customer_name: r.get(2)?,
                    channel: parse_col(r, 3)?,
                    status: parse_col(r, 4)?,
                    priority: parse_col(r, 5)?,
                    subject: r.get(6)?,
                    assignee: r.get(7)?,
                    last_activity: r.get(8)?,
                    last_inbound: r.get(9)?,
                    snoozed_until: r.get(10)?,
                    message_count: r.get(11)?,
                    snippet: text::preview(&r.get::<_, Option<String>>(12)?.unwrap_or_default(), SNIPPET_CHARS),
                    tags: Vec::new(),
                    message_ids: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for row in &mut rows {
            row.tags = self.conversation_tags(row.id)?;
            row.message_ids = self.email_message_ids(row.id)?;
        }
        Ok(rows)
    }

    /// One conversation's row, or NotFound.
    pub fn conversation(&self, id: ConversationId) -> Result<ConversationRow> {
        let customer: Option<i64> = self
            .conn
            .query_row("SELECT customer_id FROM conversations WHERE id = ?", [id.0], |r| r.get(0))
            .optional()?;
        let customer = customer.ok_or(StoreError::NotFound { what: "conversation", id: id.0 })?;
        let rows = self.conversations(&ConversationFilter { customer: Some(CustomerId(customer)), ..Default::default() })?;
        rows.into_iter().find(|c| c.id == id).ok_or(StoreError::NotFound { what: "conversation", id: id.0 })
    }

    /// The attachments of a conversation's messages, in message order.
    pub fn conversation_attachments(&self, conversation: ConversationId) -> Result<Vec<AttachmentRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT a.id, a.message_id, a.filename, a.mime_type, a.size, a.sha256, a.inline
               FROM attachments a JOIN messages m ON m.id = a.message_id
              WHERE m.conversation_id = ? ORDER BY a.message_id, a.id",
        )?;
        let rows = stmt
            .query_map([conversation.0], attachment_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// One attachment, or NotFound.
    pub fn attachment(&self, id: i64) -> Result<AttachmentRow> {
        self.conn
            .query_row(
                "SELECT id, message_id, filename, mime_type, size, sha256, inline FROM attachments WHERE id = ?",
                [id],
                attachment_row,
            )
            .optional()?
            .ok_or(StoreError::NotFound { what: "attachment", id })
    }

    /// A conversation's messages, oldest first.
    pub fn messages(&self, conversation: ConversationId) -> Result<Vec<MessageRow>> {
        let exists: Option<i64> =
            self.conn.query_row("SELECT id FROM conversations WHERE id = ?", [conversation.0], |r| r.get(0)).optional()?;
        if exists.is_none() {
            return Err(StoreError::NotFound { what: "conversation", id: conversation.0 });
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.id, m.conversation_id, m.direction, m.channel, m.author, m.sent_at, m.subject,
                    m.body_text, m.body_html, e.rfc_message_id, m.sent_by_hand,
                    (SELECT o.state FROM outbox o WHERE o.message_id = m.id)
               FROM messages m LEFT JOIN email_headers e ON e.message_id = m.id
              WHERE m.conversation_id = ?
              ORDER BY m.sent_at, m.id",
        )?;
        let rows = stmt
            .query_map([conversation.0], |r| {
                Ok(MessageRow {
                    id: MessageId(r.get(0)?),
                    conversation_id: ConversationId(r.get(1)?),
                    direction: parse_col(r, 2)?,
                    channel: parse_col(r, 3)?,
                    author: r.get(4)?,
                    sent_at: r.get(5)?,
                    subject: r.get(6)?,
                    body_text: r.get(7)?,
                    body_html: r.get(8)?,
                    rfc_message_id: r.get(9)?,
                    sent_by_hand: r.get(10)?,
                    delivery: r.get(11)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn conversation_tags(&self, id: ConversationId) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT t.name FROM conversation_tags ct JOIN tags t ON t.id = ct.tag_id
              WHERE ct.conversation_id = ? ORDER BY t.name",
        )?;
        let tags = stmt.query_map([id.0], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(tags)
    }

    fn email_message_ids(&self, id: ConversationId) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.rfc_message_id FROM messages m JOIN email_headers e ON e.message_id = m.id
              WHERE m.conversation_id = ? AND e.rfc_message_id IS NOT NULL
              ORDER BY m.sent_at, m.id",
        )?;
        let ids = stmt.query_map([id.0], |r| r.get(0))?.collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(ids)
    }
}

/// Reads a TEXT column into one of the core vocabularies; an unknown value (only possible
/// if someone edited the file by hand past the CHECK constraints) is a conversion error.
pub(crate) fn parse_col<T>(row: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T: std::str::FromStr<Err = shopdesk_core::UnknownValue>,
{
    let text: String = row.get(idx)?;
    text.parse::<T>()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e)))
}

impl Store {
    /// Moves a conversation to `status` (with `snoozed_until` for a timed snooze; `None`
    /// snoozes until the customer writes) and logs who did it.
    pub fn set_status(
        &mut self,
        id: ConversationId,
        status: Status,
        snoozed_until: Option<Millis>,
        actor: &str,
        now: Millis,
    ) -> Result<()> {
        self.write(|tx| {
            let until = if status == Status::Snoozed { snoozed_until } else { None };
            let changed = tx.execute(
                "UPDATE conversations SET status = ?1, snoozed_until = ?2 WHERE id = ?3",
                rusqlite::params![status.as_str(), until, id.0],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound { what: "conversation", id: id.0 });
            }
            tx.execute(
                "INSERT INTO events(at, actor, entity, entity_id, action, details)
                 VALUES (?1, ?2, 'conversations', ?3, 'status', json_object('status', ?4, 'snoozed_until', ?5))",
                rusqlite::params![now, actor, id.0, status.as_str(), until],
            )?;
            Ok(())
        })
    }
}
