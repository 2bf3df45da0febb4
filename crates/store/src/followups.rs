//! Follow-ups (`followups`) and the rules that make them (`followup_rules`).
//!
//! A follow-up is a reminder to contact a customer at `due_at`. It is pending until done
//! or cancelled; `notified_at` records that the scheduler has shown it, so a reminder
//! fires once (catch-up after the app was closed included). Snoozing moves `due_at` and
//! clears `notified_at`, so it fires again at the new time. Every change writes an
//! `events` row.
//!
//! The scheduler's two questions are cheap: [`Store::next_followup_due`] is one probe of
//! the `followups_due (state, due_at)` index, and [`Store::due_unnotified`] reads only
//! rows already due.

use crate::customers::live_customer;
use crate::time::{ser_opt_rfc3339, ser_rfc3339};
use crate::{Result, Store, StoreError};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use shopdesk_core::{ConversationId, CustomerId, DAY, FollowupId, MessageId, Millis, text};

const SNIPPET_CHARS: usize = 100;

/// A one-off follow-up to add.
#[derive(Debug, Clone)]
pub struct NewFollowup {
    pub customer: CustomerId,
    pub conversation: Option<ConversationId>,
    pub due_at: Millis,
    /// Why: shown as the notification's title after the customer's name.
    pub reason: String,
}

/// A follow-up's life: pending until done or cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowupState {
    Pending,
    Done,
    Cancelled,
}

impl FollowupState {
    fn parse(s: &str) -> FollowupState {
        match s {
            "done" => FollowupState::Done,
            "cancelled" => FollowupState::Cancelled,
            _ => FollowupState::Pending,
        }
    }
}

/// Which follow-ups to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FollowupFilter {
    /// Every pending one, soonest first.
    #[default]
    Pending,
    /// Pending and due before the given time (overdue and due today when the caller
    /// passes the end of today).
    DueBefore(Millis),
    /// Every follow-up of one customer (any state), soonest first.
    Customer(CustomerId),
}

/// One follow-up as listings show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowupRow {
    pub id: FollowupId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub conversation_id: Option<ConversationId>,
    pub order_id: Option<i64>,
    pub order_number: Option<String>,
    pub rule_id: Option<i64>,
    #[serde(serialize_with = "ser_rfc3339")]
    pub due_at: Millis,
    pub reason: String,
    pub state: FollowupState,
    #[serde(serialize_with = "ser_opt_rfc3339")]
    pub notified_at: Option<Millis>,
    #[serde(serialize_with = "ser_rfc3339")]
    pub created_at: Millis,
    /// The customer has written since the follow-up was made: look before reaching out.
    pub flagged: bool,
}

/// A follow-up whose time has come and that has not been shown yet: what a notification needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DueFollowup {
    pub id: FollowupId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub reason: String,
    #[serde(serialize_with = "ser_rfc3339")]
    pub due_at: Millis,
    pub order_number: Option<String>,
    /// The saved reply the rule suggests (a template name), for rule-made follow-ups.
    pub template: Option<String>,
    /// The newest message of the follow-up's conversation (else the customer's latest).
    pub snippet: Option<String>,
    pub flagged: bool,
}

/// When a rule counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleTrigger {
    OrderCreated,
    OrderFulfilled,
}

impl RuleTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleTrigger::OrderCreated => "order_created",
            RuleTrigger::OrderFulfilled => "order_fulfilled",
        }
    }
}

/// One follow-up rule: "`days` days after an order is created / fulfilled, remind me".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowupRule {
    pub id: i64,
    pub name: String,
    pub trigger: RuleTrigger,
    pub days: i64,
    pub template_id: Option<i64>,
    pub template: Option<String>,
    pub enabled: bool,
    #[serde(serialize_with = "ser_rfc3339")]
    pub created_at: Millis,
}

const ROW_SQL: &str = "
    SELECT f.id, f.customer_id, c.name, f.conversation_id, f.order_id, o.number, f.rule_id,
           f.due_at, f.reason, f.state, f.notified_at, f.created_at,
           EXISTS (SELECT 1 FROM conversations v
                    WHERE v.customer_id = f.customer_id AND v.last_inbound_at > f.created_at)
      FROM followups f
      JOIN customers c ON c.id = f.customer_id
      LEFT JOIN orders o ON o.id = f.order_id";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FollowupRow> {
    Ok(FollowupRow {
        id: FollowupId(r.get(0)?),
        customer_id: CustomerId(r.get(1)?),
        customer_name: r.get(2)?,
        conversation_id: r.get::<_, Option<i64>>(3)?.map(ConversationId),
        order_id: r.get(4)?,
        order_number: r.get(5)?,
        rule_id: r.get(6)?,
        due_at: r.get(7)?,
        reason: r.get(8)?,
        state: FollowupState::parse(&r.get::<_, String>(9)?),
        notified_at: r.get(10)?,
        created_at: r.get(11)?,
        flagged: r.get(12)?,
    })
}

impl Store {
    /// Adds a one-off follow-up for the customer `new.customer` stands for now (a merged
    /// customer's id reaches the customer it was merged into). The conversation, when
    /// given, must exist. Whether a time in the past is allowed is the caller's call.
    pub fn add_followup(
        &mut self,
        new: &NewFollowup,
        actor: &str,
        now: Millis,
    ) -> Result<FollowupId> {
        self.write(|tx| {
            let customer = live_customer(tx, new.customer)?;
            if let Some(conv) = new.conversation {
                let exists: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM conversations WHERE id = ?1",
                        [conv.0],
                        |r| r.get(0),
                    )
                    .optional()?;
                if exists.is_none() {
                    return Err(StoreError::NotFound {
                        what: "conversation",
                        id: conv.0,
                    });
                }
            }
            tx.execute(
                "INSERT INTO followups(customer_id, conversation_id, due_at, reason, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    customer.0,
                    new.conversation.map(|c| c.0),
                    new.due_at,
                    new.reason,
                    now
                ],
            )?;
            let id = tx.last_insert_rowid();
            event(
                tx,
                now,
                actor,
                id,
                "add",
                serde_json::json!({"due_at": new.due_at, "customer": customer.0}),
            )?;
            Ok(FollowupId(id))
        })
    }

    /// One follow-up.
    pub fn followup(&self, id: FollowupId) -> Result<FollowupRow> {
        self.conn
            .query_row(&format!("{ROW_SQL} WHERE f.id = ?1"), [id.0], row)
            .optional()?
            .ok_or(StoreError::NotFound {
                what: "follow-up",
                id: id.0,
            })
    }

    /// Follow-ups by `filter`, soonest due first.
    pub fn followups(&self, filter: FollowupFilter) -> Result<Vec<FollowupRow>> {
        let (sql, arg) = match filter {
            FollowupFilter::Pending => (
                format!("{ROW_SQL} WHERE f.state = 'pending' AND ?1 IS NULL"),
                None,
            ),
            FollowupFilter::DueBefore(t) => (
                format!("{ROW_SQL} WHERE f.state = 'pending' AND f.due_at < ?1"),
                Some(t),
            ),
            FollowupFilter::Customer(c) => {
                let live = live_customer(&self.conn, c)?;
                (format!("{ROW_SQL} WHERE f.customer_id = ?1"), Some(live.0))
            }
        };
        let mut stmt = self
            .conn
            .prepare(&format!("{sql} ORDER BY f.due_at, f.id"))?;
        let rows = stmt
            .query_map([arg], row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Marks a pending follow-up done.
    pub fn finish_followup(&mut self, id: FollowupId, actor: &str, now: Millis) -> Result<()> {
        self.close_followup(id, "done", actor, now)
    }

    /// Cancels a pending follow-up (it will never fire).
    pub fn cancel_followup(&mut self, id: FollowupId, actor: &str, now: Millis) -> Result<()> {
        self.close_followup(id, "cancelled", actor, now)
    }

    fn close_followup(
        &mut self,
        id: FollowupId,
        state: &str,
        actor: &str,
        now: Millis,
    ) -> Result<()> {
        self.write(|tx| {
            require_pending(tx, id)?;
            tx.execute(
                "UPDATE followups SET state = ?1, closed_at = ?2 WHERE id = ?3",
                params![state, now, id.0],
            )?;
            event(tx, now, actor, id.0, state, serde_json::Value::Null)
        })
    }

    /// Moves a pending follow-up to `until`; it notifies again then.
    pub fn snooze_followup(
        &mut self,
        id: FollowupId,
        until: Millis,
        actor: &str,
        now: Millis,
    ) -> Result<()> {
        self.write(|tx| {
            require_pending(tx, id)?;
            tx.execute(
                "UPDATE followups SET due_at = ?1, notified_at = NULL WHERE id = ?2",
                params![until, id.0],
            )?;
            event(
                tx,
                now,
                actor,
                id.0,
                "snooze",
                serde_json::json!({"due_at": until}),
            )
        })
    }

    /// The earliest due time of a pending follow-up not yet notified (possibly in the
    /// past: then it is due now). One walk of the `followups_due` index from its start;
    /// only pending rows already notified (all in the past) are stepped over.
    pub fn next_followup_due(&self) -> Result<Option<Millis>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT due_at FROM followups INDEXED BY followups_due
                  WHERE state = 'pending' AND notified_at IS NULL ORDER BY due_at LIMIT 1",
            )?
            .query_row([], |r| r.get(0))
            .optional()?)
    }

    /// Pending follow-ups due at or before `now` that have not been notified, oldest first.
    pub fn due_unnotified(&self, now: Millis) -> Result<Vec<DueFollowup>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT f.id, f.customer_id, c.name, f.reason, f.due_at, o.number, t.name, f.conversation_id,
                    EXISTS (SELECT 1 FROM conversations v
                             WHERE v.customer_id = f.customer_id AND v.last_inbound_at > f.created_at)
               FROM followups f
               JOIN customers c ON c.id = f.customer_id
               LEFT JOIN orders o ON o.id = f.order_id
               LEFT JOIN followup_rules r ON r.id = f.rule_id
               LEFT JOIN templates t ON t.id = r.template_id
              WHERE f.state = 'pending' AND f.due_at <= ?1 AND f.notified_at IS NULL
              ORDER BY f.due_at, f.id",
        )?;
        let rows = stmt
            .query_map([now], |r| {
                Ok((
                    DueFollowup {
                        id: FollowupId(r.get(0)?),
                        customer_id: CustomerId(r.get(1)?),
                        customer_name: r.get(2)?,
                        reason: r.get(3)?,
                        due_at: r.get(4)?,
                        order_number: r.get(5)?,
                        template: r.get(6)?,
                        snippet: None,
                        flagged: r.get(8)?,
                    },
                    r.get::<_, Option<i64>>(7)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (mut due, conversation) in rows {
            due.snippet = last_snippet(
                &self.conn,
                due.customer_id,
                conversation.map(ConversationId),
            )?;
            out.push(due);
        }
        Ok(out)
    }

    /// Records that these follow-ups were shown (they do not fire again unless snoozed).
    pub fn mark_notified(&mut self, ids: &[FollowupId], now: Millis) -> Result<()> {
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "UPDATE followups SET notified_at = ?1 WHERE id = ?2 AND notified_at IS NULL",
            )?;
            for id in ids {
                stmt.execute(params![now, id.0])?;
            }
            Ok(())
        })
    }

    /// Pending follow-ups due at or before `now`, notified or not: the tray badge.
    pub fn followups_due_count(&self, now: Millis) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM followups WHERE state = 'pending' AND due_at <= ?1",
            [now],
            |r| r.get(0),
        )?)
    }

    /// Adds a rule. `template` names a saved reply (any language of it); it must exist.
    pub fn add_followup_rule(
        &mut self,
        name: &str,
        trigger: RuleTrigger,
        days: i64,
        template: Option<&str>,
        actor: &str,
        now: Millis,
    ) -> Result<i64> {
        self.write(|tx| {
            let template_id = match template {
                None => None,
                Some(t) => Some(
                    tx.query_row("SELECT min(id) FROM templates WHERE name = ?1", [t], |r| {
                        r.get::<_, Option<i64>>(0)
                    })?
                    .ok_or_else(|| StoreError::NotFoundByName { what: "saved reply", name: t.to_owned() })?,
                ),
            };
            let exists: Option<i64> = tx
                .query_row("SELECT id FROM followup_rules WHERE name = ?1", [name], |r| r.get(0))
                .optional()?;
            if exists.is_some() {
                return Err(StoreError::AlreadyExists { what: "follow-up rule", name: name.to_owned() });
            }
            tx.execute(
                "INSERT INTO followup_rules(name, trigger, days, template_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, trigger.as_str(), days, template_id, now],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO events(at, actor, entity, entity_id, action, details)
                 VALUES (?1, ?2, 'followup_rules', ?3, 'add', json_object('trigger', ?4, 'days', ?5))",
                params![now, actor, id, trigger.as_str(), days],
            )?;
            Ok(id)
        })
    }

    /// Every rule, oldest first.
    pub fn followup_rules(&self) -> Result<Vec<FollowupRule>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.id, r.name, r.trigger, r.days, r.template_id, t.name, r.enabled, r.created_at
               FROM followup_rules r LEFT JOIN templates t ON t.id = r.template_id ORDER BY r.id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(FollowupRule {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    trigger: if r.get::<_, String>(2)? == "order_fulfilled" {
                        RuleTrigger::OrderFulfilled
                    } else {
                        RuleTrigger::OrderCreated
                    },
                    days: r.get(3)?,
                    template_id: r.get(4)?,
                    template: r.get(5)?,
                    enabled: r.get(6)?,
                    created_at: r.get(7)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Turns a rule on or off. Follow-ups it already made stay as they are.
    pub fn set_followup_rule_enabled(
        &mut self,
        id: i64,
        enabled: bool,
        actor: &str,
        now: Millis,
    ) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute("UPDATE followup_rules SET enabled = ?1 WHERE id = ?2", params![enabled, id])?;
            if n == 0 {
                return Err(StoreError::NotFound { what: "follow-up rule", id });
            }
            tx.execute(
                "INSERT INTO events(at, actor, entity, entity_id, action) VALUES (?1, ?2, 'followup_rules', ?3, ?4)",
                params![now, actor, id, if enabled { "enable" } else { "disable" }],
            )?;
            Ok(())
        })
    }

    /// Makes the follow-ups the enabled rules call for, once per rule and order
    /// (UNIQUE(rule_id, order_id): running it again adds nothing). Only orders whose
    /// reminder falls at or after the rule's creation count, so a new rule never floods
    /// the owner with reminders for years of past orders; cancelled orders and orders
    /// without a customer are skipped. Returns how many were made.
    pub fn apply_followup_rules(&mut self, now: Millis) -> Result<usize> {
        self.write(|tx| {
            let mut made = 0;
            for (trigger_col, trigger) in [("created_at", "order_created"), ("fulfilled_at", "order_fulfilled")] {
                made += tx.execute(
                    &format!(
                        "INSERT OR IGNORE INTO followups(customer_id, order_id, rule_id, due_at, reason, created_at)
                         SELECT o.customer_id, o.id, r.id, o.{trigger_col} + r.days * ?1,
                                r.name || ': order ' || o.number, ?2
                           FROM followup_rules r
                           JOIN orders o ON o.{trigger_col} IS NOT NULL
                                        AND o.{trigger_col} + r.days * ?1 >= r.created_at
                          WHERE r.enabled = 1 AND r.trigger = ?3
                            AND o.customer_id IS NOT NULL AND o.cancelled_at IS NULL"
                    ),
                    params![DAY, now, trigger],
                )?;
            }
            if made > 0 {
                tx.execute(
                    "INSERT INTO events(at, actor, entity, action, details)
                     VALUES (?1, 'system', 'followups', 'rules', json_object('made', ?2))",
                    params![now, made as i64],
                )?;
            }
            Ok(made)
        })
    }
}

/// A customer's message as a new-mail notification shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub message: MessageId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub subject: Option<String>,
    pub snippet: String,
}

impl Store {
    /// Of `ids`, the messages customers wrote (direction `in`), in the order given, with
    /// the conversation's customer: what a new-mail notification needs.
    pub fn inbound_messages(&self, ids: &[MessageId]) -> Result<Vec<InboundMessage>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT v.customer_id, c.name, m.subject, m.body_text
               FROM messages m
               JOIN conversations v ON v.id = m.conversation_id
               JOIN customers c ON c.id = v.customer_id
              WHERE m.id = ?1 AND m.direction = 'in'",
        )?;
        let mut out = Vec::new();
        for id in ids {
            let found = stmt
                .query_row([id.0], |r| {
                    Ok(InboundMessage {
                        message: *id,
                        customer_id: CustomerId(r.get(0)?),
                        customer_name: r.get(1)?,
                        subject: r.get(2)?,
                        snippet: text::preview(&r.get::<_, String>(3)?, SNIPPET_CHARS),
                    })
                })
                .optional()?;
            out.extend(found);
        }
        Ok(out)
    }
}

fn require_pending(tx: &Transaction<'_>, id: FollowupId) -> Result<()> {
    let state: Option<String> = tx
        .query_row("SELECT state FROM followups WHERE id = ?1", [id.0], |r| {
            r.get(0)
        })
        .optional()?;
    match state.as_deref() {
        None => Err(StoreError::NotFound {
            what: "follow-up",
            id: id.0,
        }),
        Some("pending") => Ok(()),
        Some(other) => Err(StoreError::NotPending {
            what: "follow-up",
            id: id.0,
            state: other.to_owned(),
        }),
    }
}

fn event(
    tx: &Transaction<'_>,
    now: Millis,
    actor: &str,
    id: i64,
    action: &str,
    details: serde_json::Value,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO events(at, actor, entity, entity_id, action, details) VALUES (?1, ?2, 'followups', ?3, ?4, ?5)",
    )?
    .execute(params![now, actor, id, action, (!details.is_null()).then(|| details.to_string())])?;
    Ok(())
}

/// The newest message of `conversation`, else of the customer's most recently active one.
fn last_snippet(
    conn: &Connection,
    customer: CustomerId,
    conversation: Option<ConversationId>,
) -> Result<Option<String>> {
    let conversation = match conversation {
        Some(c) => Some(c.0),
        None => conn
            .prepare_cached(
                "SELECT id FROM conversations WHERE customer_id = ?1 ORDER BY last_activity_at DESC LIMIT 1",
            )?
            .query_row([customer.0], |r| r.get(0))
            .optional()?,
    };
    let Some(conversation) = conversation else {
        return Ok(None);
    };
    let body: Option<String> = conn
        .prepare_cached(
            "SELECT body_text FROM messages WHERE conversation_id = ?1 AND direction != 'system'
              ORDER BY sent_at DESC, id DESC LIMIT 1",
        )?
        .query_row([conversation], |r| r.get(0))
        .optional()?;
    Ok(body
        .map(|b| text::preview(&b, SNIPPET_CHARS))
        .filter(|s| !s.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Millis = 1_800_000_000_000;

    /// A store with one customer (id 1, "Anna Kowalska") and one email conversation (id 1).
    fn store() -> Store {
        let store = Store::open_in_memory().expect("store");
        store
            .conn
            .execute_batch(
                "INSERT INTO customers(id, name, created_at, updated_at) VALUES (1, 'Anna Kowalska', 0, 0);
                 INSERT INTO conversations(id, customer_id, channel, created_at, last_activity_at)
                   VALUES (1, 1, 'email', 0, 0);",
            )
            .expect("seed");
        store
    }

    fn customer_writes(store: &Store, at: Millis, text: &str) {
        store
            .conn
            .execute(
                "INSERT INTO messages(conversation_id, direction, channel, sent_at, body_text, source_key, created_at)
                 VALUES (1, 'in', 'email', ?1, ?2, ?3, ?1)",
                params![at, text, format!("k{at}")],
            )
            .expect("message");
    }

    fn add(store: &mut Store, due: Millis, reason: &str) -> FollowupId {
        let new = NewFollowup {
            customer: CustomerId(1),
            conversation: None,
            due_at: due,
            reason: reason.into(),
        };
        store.add_followup(&new, "user", T0).expect("add")
    }

    /// A follow-up fires once: it is due-unnotified only between its time and mark_notified;
    /// snoozing re-arms it at the new time; done/cancel close it, and closing twice is refused.
    #[test]
    fn lifecycle_fires_once_and_snooze_rearms() {
        let mut store = store();
        assert_eq!(store.next_followup_due().expect("next"), None);
        let a = add(&mut store, T0 + 2000, "ask about the parcel");
        let b = add(&mut store, T0 + 1000, "send invoice");
        assert_eq!(store.next_followup_due().expect("next"), Some(T0 + 1000));
        assert!(store.due_unnotified(T0 + 999).expect("due").is_empty());
        let due = store.due_unnotified(T0 + 2000).expect("due");
        assert_eq!(due.iter().map(|d| d.id).collect::<Vec<_>>(), vec![b, a]);
        assert_eq!(due[0].customer_name, "Anna Kowalska");
        store.mark_notified(&[b], T0 + 2000).expect("mark");
        assert_eq!(store.next_followup_due().expect("next"), Some(T0 + 2000));
        assert_eq!(store.due_unnotified(T0 + 5000).expect("due").len(), 1);
        assert_eq!(store.followups_due_count(T0 + 5000).expect("count"), 2);

        store
            .snooze_followup(b, T0 + 9000, "user", T0 + 2100)
            .expect("snooze");
        assert_eq!(store.followup(b).expect("row").notified_at, None);
        store.mark_notified(&[a], T0 + 2100).expect("mark");
        assert_eq!(store.next_followup_due().expect("next"), Some(T0 + 9000));

        store.finish_followup(a, "user", T0 + 3000).expect("done");
        store.cancel_followup(b, "user", T0 + 3000).expect("cancel");
        assert!(matches!(
            store.finish_followup(a, "user", T0 + 3001),
            Err(StoreError::NotPending { .. })
        ));
        assert!(matches!(
            store.snooze_followup(b, T0, "user", T0),
            Err(StoreError::NotPending { .. })
        ));
        assert_eq!(store.next_followup_due().expect("next"), None);
        assert_eq!(
            store
                .followups(FollowupFilter::Pending)
                .expect("list")
                .len(),
            0
        );
        assert_eq!(
            store
                .followups(FollowupFilter::Customer(CustomerId(1)))
                .expect("list")
                .len(),
            2
        );
        let events: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM events WHERE entity = 'followups'",
                [],
                |r| r.get(0),
            )
            .expect("events");
        assert_eq!(events, 5, "add, add, snooze, done, cancel");
    }

    /// Unknown customers, conversations and follow-ups are refused with NotFound.
    #[test]
    fn refuses_unknown_targets() {
        let mut store = store();
        let new = NewFollowup {
            customer: CustomerId(99),
            conversation: None,
            due_at: T0,
            reason: "x".into(),
        };
        assert!(matches!(
            store.add_followup(&new, "user", T0),
            Err(StoreError::NotFound {
                what: "customer",
                ..
            })
        ));
        let new = NewFollowup {
            customer: CustomerId(1),
            conversation: Some(ConversationId(7)),
            due_at: T0,
            reason: "x".into(),
        };
        assert!(matches!(
            store.add_followup(&new, "user", T0),
            Err(StoreError::NotFound {
                what: "conversation",
                ..
            })
        ));
        assert!(matches!(
            store.finish_followup(FollowupId(5), "user", T0),
            Err(StoreError::NotFound { .. })
        ));
    }

    /// A customer who wrote after the follow-up was made is flagged (listing and due), one
    /// who wrote only before is not; the snippet is their newest message.
    #[test]
    fn flagged_when_customer_wrote_since() {
        let mut store = store();
        customer_writes(&store, T0 - 5000, "where is my order?");
        let id = add(&mut store, T0 + 1000, "check in");
        assert!(!store.followup(id).expect("row").flagged);
        assert!(!store.due_unnotified(T0 + 1000).expect("due")[0].flagged);
        customer_writes(&store, T0 + 500, "it arrived, thanks");
        assert!(store.followup(id).expect("row").flagged);
        let due = store.due_unnotified(T0 + 1000).expect("due");
        assert!(due[0].flagged);
        assert_eq!(due[0].snippet.as_deref(), Some("it arrived, thanks"));
    }

    /// Rules make one follow-up per order (again: none), due N days after the trigger;
    /// orders whose reminder would fall before the rule existed, cancelled orders and
    /// unfulfilled orders (for a fulfilment rule) make none; disabled rules make none.
    #[test]
    fn rules_apply_idempotently() {
        let mut store = store();
        store
            .conn
            .execute_batch(&format!(
                "INSERT INTO orders(id, customer_id, source, number, created_at, fulfilled_at, cancelled_at, updated_at) VALUES
                   (1, 1, 'shopify', '#1001', {new}, NULL, NULL, 0),
                   (2, 1, 'shopify', '#1002', {new}, {new}, NULL, 0),
                   (3, 1, 'shopify', '#1003', {old}, {old}, NULL, 0),
                   (4, 1, 'shopify', '#1004', {new}, {new}, {new}, 0),
                   (5, NULL, 'shopify', '#1005', {new}, {new}, NULL, 0);",
                new = T0 + 1000,
                old = T0 - 30 * DAY,
            ))
            .expect("orders");
        let created = store
            .add_followup_rule("thank you", RuleTrigger::OrderCreated, 3, None, "user", T0)
            .expect("rule");
        let fulfilled = store
            .add_followup_rule("happy?", RuleTrigger::OrderFulfilled, 7, None, "user", T0)
            .expect("rule");
        assert!(matches!(
            store.add_followup_rule("happy?", RuleTrigger::OrderCreated, 1, None, "user", T0),
            Err(StoreError::AlreadyExists { .. })
        ));
        assert!(matches!(
            store.add_followup_rule("x", RuleTrigger::OrderCreated, 1, Some("nope"), "user", T0),
            Err(StoreError::NotFoundByName { .. })
        ));
        assert_eq!(store.apply_followup_rules(T0 + 2000).expect("apply"), 3);
        assert_eq!(store.apply_followup_rules(T0 + 3000).expect("again"), 0);
        let rows = store.followups(FollowupFilter::Pending).expect("list");
        let mut got: Vec<_> = rows
            .iter()
            .map(|r| (r.rule_id, r.order_number.clone(), r.due_at))
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                (Some(created), Some("#1001".into()), T0 + 1000 + 3 * DAY),
                (Some(created), Some("#1002".into()), T0 + 1000 + 3 * DAY),
                (Some(fulfilled), Some("#1002".into()), T0 + 1000 + 7 * DAY),
            ]
        );
        assert!(rows.iter().all(|r| r.reason.contains("order #100")));
        store
            .set_followup_rule_enabled(created, false, "user", T0)
            .expect("disable");
        store
            .conn
            .execute(
                "UPDATE orders SET fulfilled_at = ?1 WHERE id = 1",
                [T0 + 5000],
            )
            .expect("fulfil");
        assert_eq!(
            store.apply_followup_rules(T0 + 6000).expect("apply"),
            1,
            "only the fulfilment rule"
        );
        assert!(!store.followup_rules().expect("rules")[0].enabled);
    }

    /// Only customers' messages are new mail: the shop's own and unknown ids are left out.
    #[test]
    fn inbound_messages_only_customers() {
        let store = store();
        customer_writes(&store, T0, "hello there");
        store
            .conn
            .execute(
                "INSERT INTO messages(conversation_id, direction, channel, sent_at, body_text, source_key, created_at)
                 VALUES (1, 'out', 'email', 5, 'our answer', 'out1', 5)",
                [],
            )
            .expect("out");
        let got = store
            .inbound_messages(&[MessageId(1), MessageId(2), MessageId(99)])
            .expect("read");
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].customer_name.as_str(), got[0].snippet.as_str()),
            ("Anna Kowalska", "hello there")
        );
    }

    /// The scheduler's "when next" question is answered from the followups_due index.
    #[test]
    fn next_due_uses_the_index() {
        let store = store();
        let plan: String = store
            .conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT due_at FROM followups INDEXED BY followups_due
                  WHERE state = 'pending' AND notified_at IS NULL ORDER BY due_at LIMIT 1",
                [],
                |r| r.get(3),
            )
            .expect("plan");
        assert!(plan.contains("followups_due"), "{plan}");
    }
}
