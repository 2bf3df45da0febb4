//! The conversation workflow: priority, tags, assignee, snooze, internal notes, the team,
//! and what a customer's new message does (wake the conversation, cancel a "send later"
//! reply). Status itself is [`Store::set_status`] in `conversations.rs`.
//!
//! Every change writes an `events` row naming its actor: the team member at this laptop
//! (the caller passes their name), or `system` for what the store does by itself.

use crate::customers::live_customer;
use crate::time::ser_rfc3339;
use crate::{Result, Store, StoreError};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use shopdesk_core::{ConversationId, CustomerId, MemberId, Millis, Priority, Status};

/// What an outbox row cancelled by a customer's message says in `last_error`.
pub const CANCELLED_BY_CUSTOMER: &str = "cancelled: the customer wrote first";

/// One person using the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeamMember {
    pub id: MemberId,
    pub name: String,
    pub email: Option<String>,
    pub is_me: bool,
}

/// One internal note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteRow {
    pub id: i64,
    pub customer_id: CustomerId,
    pub conversation_id: Option<ConversationId>,
    pub author: Option<String>,
    pub body: String,
    #[serde(serialize_with = "ser_rfc3339")]
    pub created_at: Millis,
}

/// Where a note goes: on a customer, or on one conversation (and so its customer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteTarget {
    Customer(CustomerId),
    Conversation(ConversationId),
}

/// One row of the change log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRow {
    pub id: i64,
    #[serde(serialize_with = "ser_rfc3339")]
    pub at: Millis,
    pub actor: String,
    pub entity: String,
    pub entity_id: Option<i64>,
    pub action: String,
    pub details: Option<String>,
}

/// What a customer's message did to its conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerMessageEffect {
    pub woken: bool,
    /// Outbox rows cancelled because the customer wrote before they went out.
    pub cancelled: Vec<i64>,
}

pub(crate) fn log_event(
    tx: &Transaction<'_>,
    now: Millis,
    actor: &str,
    entity: &str,
    entity_id: Option<i64>,
    action: &str,
    details: &serde_json::Value,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO events(at, actor, entity, entity_id, action, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![now, actor, entity, entity_id, action, details.to_string()])?;
    Ok(())
}

fn conversation_exists(tx: &rusqlite::Connection, id: ConversationId) -> Result<()> {
    let found: Option<i64> = tx
        .prepare_cached("SELECT id FROM conversations WHERE id = ?1")?
        .query_row([id.0], |r| r.get(0))
        .optional()?;
    found.map(|_| ()).ok_or(StoreError::NotFound {
        what: "conversation",
        id: id.0,
    })
}

impl Store {
    /// Applies [`on_customer_message_tx`] on its own, for a customer message that did not
    /// come through the mail or chat store (and for tests of the rule). Returns the
    /// cancelled outbox entries.
    pub fn customer_wrote(
        &mut self,
        conversation: ConversationId,
        sent_at: Millis,
        now: Millis,
    ) -> Result<Vec<i64>> {
        self.write(|tx| Ok(on_customer_message_tx(tx, conversation.0, sent_at, now)?.cancelled))
    }
}

/// A customer wrote in `conversation` (a message sent at `sent_at`, stored at `now`):
/// - the conversation wakes (snoozed, pending or closed → open) if this is its newest
///   customer message, so a late-arriving old message changes nothing;
/// - every queued "send later" reply of the conversation that was scheduled before the
///   customer wrote, is not due yet and has `cancel_on_reply` is cancelled, so the
///   customer does not get an answer that ignores what they just said.
///
/// The one place this rule lives: the mail and the chat store both call it inside the
/// transaction that stores the message.
pub(crate) fn on_customer_message_tx(
    tx: &Transaction<'_>,
    conversation: i64,
    sent_at: Millis,
    now: Millis,
) -> Result<CustomerMessageEffect> {
    let woken = tx
        .prepare_cached(
            "UPDATE conversations SET status = 'open', snoozed_until = NULL
              WHERE id = ?1 AND status != 'open' AND last_inbound_at = ?2",
        )?
        .execute(params![conversation, sent_at])?
        > 0;
    if woken {
        let details = serde_json::json!({"status": "open", "reason": "customer wrote", "message_sent_at": sent_at});
        log_event(
            tx,
            now,
            "system",
            "conversations",
            Some(conversation),
            "woken",
            &details,
        )?;
    }
    let cancelled: Vec<i64> = tx
        .prepare_cached(
            "UPDATE outbox SET state = 'cancelled', last_error = ?4, next_attempt_at = NULL
              WHERE conversation_id = ?1 AND state = 'queued' AND cancel_on_reply = 1
                AND send_after IS NOT NULL AND send_after > ?3 AND created_at < ?2
             RETURNING id",
        )?
        .query_map(
            params![conversation, sent_at, now, CANCELLED_BY_CUSTOMER],
            |r| r.get(0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    for id in &cancelled {
        let details = serde_json::json!({"reason": CANCELLED_BY_CUSTOMER, "conversation": conversation, "message_sent_at": sent_at});
        log_event(
            tx,
            now,
            "system",
            "outbox",
            Some(*id),
            "cancelled",
            &details,
        )?;
    }
    Ok(CustomerMessageEffect { woken, cancelled })
}

fn member_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TeamMember> {
    Ok(TeamMember {
        id: MemberId(r.get(0)?),
        name: r.get(1)?,
        email: r.get(2)?,
        is_me: r.get(3)?,
    })
}

impl Store {
    /// The team member at this laptop, if one is chosen.
    pub fn me(&self) -> Result<Option<TeamMember>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id, name, email, is_me FROM team_members WHERE is_me = 1 ORDER BY id LIMIT 1")?
            .query_row([], member_row)
            .optional()?)
    }

    /// Everyone on the team, in the order they were added.
    pub fn team_members(&self) -> Result<Vec<TeamMember>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id, name, email, is_me FROM team_members ORDER BY id")?
            .query_map([], member_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// A team member by id, or by name (case-insensitive).
    pub fn team_member(&self, id_or_name: &str) -> Result<TeamMember> {
        let by_id = id_or_name.trim().parse::<i64>().ok();
        let found = self
            .conn
            .prepare_cached(
                "SELECT id, name, email, is_me FROM team_members
                  WHERE id = ?1 OR lower(name) = lower(?2) ORDER BY id = ?1 DESC, id LIMIT 1",
            )?
            .query_row(params![by_id, id_or_name.trim()], member_row)
            .optional()?;
        found.ok_or_else(|| StoreError::NotFoundByName {
            what: "team member",
            name: id_or_name.to_string(),
        })
    }

    /// Adds a team member; with `is_me` they become the one at this laptop (and the
    /// previous "me" no longer is). Names are unique, ignoring case.
    pub fn add_team_member(
        &mut self,
        name: &str,
        email: Option<&str>,
        is_me: bool,
        now: Millis,
    ) -> Result<MemberId> {
        let name = name.trim().to_string();
        self.write(|tx| {
            let taken: Option<i64> = tx
                .query_row(
                    "SELECT id FROM team_members WHERE lower(name) = lower(?1)",
                    [&name],
                    |r| r.get(0),
                )
                .optional()?;
            if taken.is_some() {
                return Err(StoreError::AlreadyExists {
                    what: "team member",
                    name: name.clone(),
                });
            }
            if is_me {
                tx.execute("UPDATE team_members SET is_me = 0 WHERE is_me = 1", [])?;
            }
            tx.execute(
                "INSERT INTO team_members(name, email, is_me, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, email, is_me, now],
            )?;
            let id = tx.last_insert_rowid();
            log_event(
                tx,
                now,
                "system",
                "team_members",
                Some(id),
                "added",
                &serde_json::json!({"name": name, "is_me": is_me}),
            )?;
            Ok(MemberId(id))
        })
    }

    /// Makes `member` the one at this laptop.
    pub fn set_me(&mut self, member: MemberId, now: Millis) -> Result<()> {
        self.write(|tx| {
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT id FROM team_members WHERE id = ?1",
                    [member.0],
                    |r| r.get(0),
                )
                .optional()?;
            if exists.is_none() {
                return Err(StoreError::NotFound {
                    what: "team member",
                    id: member.0,
                });
            }
            tx.execute("UPDATE team_members SET is_me = (id = ?1)", [member.0])?;
            log_event(
                tx,
                now,
                "system",
                "team_members",
                Some(member.0),
                "set_me",
                &serde_json::json!({}),
            )?;
            Ok(())
        })
    }

    pub fn set_priority(
        &mut self,
        id: ConversationId,
        priority: Priority,
        actor: &str,
        now: Millis,
    ) -> Result<()> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE conversations SET priority = ?1 WHERE id = ?2",
                params![priority.as_str(), id.0],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound {
                    what: "conversation",
                    id: id.0,
                });
            }
            log_event(
                tx,
                now,
                actor,
                "conversations",
                Some(id.0),
                "priority",
                &serde_json::json!({"priority": priority.as_str()}),
            )
        })
    }

    /// Puts `tag` on a conversation (creating the tag on first use). Returns whether it
    /// was new on this conversation; tagging twice is not an error.
    pub fn tag_conversation(
        &mut self,
        id: ConversationId,
        tag: &str,
        actor: &str,
        now: Millis,
    ) -> Result<bool> {
        let tag = tag.trim().to_string();
        self.write(|tx| {
            conversation_exists(tx, id)?;
            tx.execute("INSERT OR IGNORE INTO tags(name) VALUES (?1)", [&tag])?;
            let added = tx.execute(
                "INSERT OR IGNORE INTO conversation_tags(conversation_id, tag_id)
                 SELECT ?1, id FROM tags WHERE name = ?2",
                params![id.0, tag],
            )? > 0;
            if added {
                log_event(
                    tx,
                    now,
                    actor,
                    "conversations",
                    Some(id.0),
                    "tag",
                    &serde_json::json!({"tag": tag}),
                )?;
            }
            Ok(added)
        })
    }

    /// Takes `tag` off a conversation. Returns whether it was there.
    pub fn untag_conversation(
        &mut self,
        id: ConversationId,
        tag: &str,
        actor: &str,
        now: Millis,
    ) -> Result<bool> {
        let tag = tag.trim().to_string();
        self.write(|tx| {
            conversation_exists(tx, id)?;
            let removed = tx.execute(
                "DELETE FROM conversation_tags
                  WHERE conversation_id = ?1 AND tag_id IN (SELECT id FROM tags WHERE name = ?2)",
                params![id.0, tag],
            )? > 0;
            if removed {
                log_event(
                    tx,
                    now,
                    actor,
                    "conversations",
                    Some(id.0),
                    "untag",
                    &serde_json::json!({"tag": tag}),
                )?;
            }
            Ok(removed)
        })
    }

    /// Assigns a conversation to a team member, or to nobody.
    pub fn assign(
        &mut self,
        id: ConversationId,
        member: Option<MemberId>,
        actor: &str,
        now: Millis,
    ) -> Result<()> {
        self.write(|tx| {
            let name: Option<String> = match member {
                Some(m) => Some(
                    tx.query_row("SELECT name FROM team_members WHERE id = ?1", [m.0], |r| {
                        r.get(0)
                    })
                    .optional()?
                    .ok_or(StoreError::NotFound {
                        what: "team member",
                        id: m.0,
                    })?,
                ),
                None => None,
            };
            let changed = tx.execute(
                "UPDATE conversations SET assignee_id = ?1 WHERE id = ?2",
                params![member.map(|m| m.0), id.0],
            )?;
            if changed == 0 {
                return Err(StoreError::NotFound {
                    what: "conversation",
                    id: id.0,
                });
            }
            let details = serde_json::json!({"assignee_id": member.map(|m| m.0), "assignee": name});
            log_event(
                tx,
                now,
                actor,
                "conversations",
                Some(id.0),
                "assign",
                &details,
            )
        })
    }

    /// Snoozes a conversation until `until`, or (`None`) until the customer writes. A
    /// customer message wakes it either way.
    pub fn snooze(
        &mut self,
        id: ConversationId,
        until: Option<Millis>,
        actor: &str,
        now: Millis,
    ) -> Result<()> {
        self.set_status(id, Status::Snoozed, until, actor, now)
    }

    /// Wakes every conversation whose timed snooze is due at `now`; returns them.
    pub fn wake_due_snoozes(&mut self, now: Millis) -> Result<Vec<ConversationId>> {
        self.write(|tx| {
            let woken: Vec<i64> = tx
                .prepare_cached(
                    "UPDATE conversations SET status = 'open', snoozed_until = NULL
                      WHERE status = 'snoozed' AND snoozed_until IS NOT NULL AND snoozed_until <= ?1
                     RETURNING id",
                )?
                .query_map([now], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for id in &woken {
                let details = serde_json::json!({"status": "open", "reason": "snooze due"});
                log_event(
                    tx,
                    now,
                    "system",
                    "conversations",
                    Some(*id),
                    "woken",
                    &details,
                )?;
            }
            Ok(woken.into_iter().map(ConversationId).collect())
        })
    }

    /// When the next timed snooze ends, for a scheduler that sleeps until then.
    pub fn next_snooze_due(&self) -> Result<Option<Millis>> {
        Ok(self.conn.query_row(
            "SELECT min(snoozed_until) FROM conversations WHERE status = 'snoozed' AND snoozed_until IS NOT NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// Adds an internal note (never sent). A note on a conversation belongs to the
    /// conversation's customer; a note on a merged customer goes to the one they became.
    pub fn add_note(
        &mut self,
        target: NoteTarget,
        body: &str,
        author: Option<MemberId>,
        actor: &str,
        now: Millis,
    ) -> Result<i64> {
        self.write(|tx| {
            let (customer, conversation) = match target {
                NoteTarget::Customer(c) => (live_customer(tx, c)?, None),
                NoteTarget::Conversation(id) => {
                    let owner: i64 = tx
                        .query_row("SELECT customer_id FROM conversations WHERE id = ?1", [id.0], |r| r.get(0))
                        .optional()?
                        .ok_or(StoreError::NotFound { what: "conversation", id: id.0 })?;
                    (live_customer(tx, CustomerId(owner))?, Some(id.0))
                }
            };
            tx.execute(
                "INSERT INTO notes(customer_id, conversation_id, author_id, body, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![customer.0, conversation, author.map(|a| a.0), body, now],
            )?;
            let id = tx.last_insert_rowid();
            let details = serde_json::json!({"customer": customer.0, "conversation": conversation});
            log_event(tx, now, actor, "notes", Some(id), "added", &details)?;
            Ok(id)
        })
    }

    /// A customer's notes, oldest first.
    pub fn notes(&self, customer: CustomerId) -> Result<Vec<NoteRow>> {
        let customer = live_customer(&self.conn, customer)?;
        Ok(self
            .conn
            .prepare_cached(
                "SELECT n.id, n.customer_id, n.conversation_id, tm.name, n.body, n.created_at
                   FROM notes n LEFT JOIN team_members tm ON tm.id = n.author_id
                  WHERE n.customer_id = ?1 ORDER BY n.created_at, n.id",
            )?
            .query_map([customer.0], |r| {
                Ok(NoteRow {
                    id: r.get(0)?,
                    customer_id: CustomerId(r.get(1)?),
                    conversation_id: r.get::<_, Option<i64>>(2)?.map(ConversationId),
                    author: r.get(3)?,
                    body: r.get(4)?,
                    created_at: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The change log of one row (`entity` is its table), oldest first.
    pub fn events_of(&self, entity: &str, id: i64) -> Result<Vec<EventRow>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, at, actor, entity, entity_id, action, details FROM events
                  WHERE entity = ?1 AND entity_id = ?2 ORDER BY id",
            )?
            .query_map(params![entity, id], |r| {
                Ok(EventRow {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    entity: r.get(3)?,
                    entity_id: r.get(4)?,
                    action: r.get(5)?,
                    details: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?)
    }
}
