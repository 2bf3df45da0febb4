//! Writes the generated demo shop (shopdesk_core::demo) into the database.

use crate::{Result, Store};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use shopdesk_core::Millis;
use shopdesk_core::demo::{self, DemoCustomer, DemoOptions};
use std::collections::HashMap;

/// The settings key that marks a database as demo data (safe to replace).
pub const DEMO_SETTING: &str = "demo";

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
pub struct DemoSummary {
    pub customers: usize,
    pub conversations: usize,
    pub messages: usize,
    pub orders: usize,
    pub followups: usize,
}

impl Store {
    /// Fills the database with the demo shop in one transaction. `now` stamps created_at.
    pub fn write_demo(&mut self, opts: &DemoOptions, now: Millis) -> Result<DemoSummary> {
        self.write(|tx| {
            let members = insert_members(tx, now)?;
            tx.execute(
                "INSERT INTO settings(key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![DEMO_SETTING, serde_json::json!({ "seed": opts.seed }).to_string()],
            )?;
            tx.execute(
                "INSERT INTO settings(key, value) VALUES ('shop_chat_names', ?1)
                 ON CONFLICT(key) DO NOTHING",
                [serde_json::json!([demo::SHOP_CHAT_NAME]).to_string()],
            )?;
            let mut tags = TagCache::default();
            let mut summary = DemoSummary::default();
            demo::generate(opts, |c| insert_customer(tx, &c, &members, &mut tags, now, &mut summary))?;
            tx.execute(
                "INSERT INTO events(at, actor, entity, action, details) VALUES (?1, 'system', 'database', 'demo', ?2)",
                params![now, serde_json::to_string(&summary).unwrap_or_default()],
            )?;
            Ok(summary)
        })
    }

    /// True when the database holds the demo shop (or nothing at all) and may be replaced.
    pub fn is_demo_or_empty(&self) -> Result<bool> {
        let demo: Option<String> =
            self.conn.query_row("SELECT value FROM settings WHERE key = ?", [DEMO_SETTING], |r| r.get(0)).optional()?;
        if demo.is_some() {
            return Ok(true);
        }
        let rows: i64 = self.conn.query_row(
            "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM accounts) + (SELECT count(*) FROM orders)",
            [],
            |r| r.get(0),
        )?;
        Ok(rows == 0)
    }
}

fn insert_members(tx: &Transaction<'_>, now: Millis) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    for m in demo::MEMBERS {
        let existing: Option<i64> =
            tx.query_row("SELECT id FROM team_members WHERE name = ?", [m.name], |r| r.get(0)).optional()?;
        let id = match existing {
            Some(id) => id,
            None => {
                tx.execute(
                    "INSERT INTO team_members(name, email, is_me, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![m.name, m.email, m.is_me, now],
                )?;
                tx.last_insert_rowid()
            }
        };
        ids.push(id);
    }
    Ok(ids)
}

#[derive(Default)]
struct TagCache(HashMap<&'static str, i64>);

impl TagCache {
    fn id(&mut self, tx: &Transaction<'_>, name: &'static str) -> Result<i64> {
        if let Some(id) = self.0.get(name) {
            return Ok(*id);
        }
        tx.execute("INSERT INTO tags(name) VALUES (?1) ON CONFLICT(name) DO NOTHING", [name])?;
        let id: i64 = tx.query_row("SELECT id FROM tags WHERE name = ?", [name], |r| r.get(0))?;
        self.0.insert(name, id);
        Ok(id)
    }
}

fn insert_customer(
    tx: &Transaction<'_>,
    c: &DemoCustomer,
    members: &[i64],
    tags: &mut TagCache,
    now: Millis,
    summary: &mut DemoSummary,
) -> Result<()> {
    let member = |i: Option<usize>| i.and_then(|i| members.get(i).copied());
    tx.prepare_cached("INSERT INTO customers(name, language, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)")?
        .execute(params![c.name, c.language, now])?;
    let customer_id = tx.last_insert_rowid();
    summary.customers += 1;

    let mut identity = tx.prepare_cached(
        "INSERT INTO identities(customer_id, kind, value, display, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for i in &c.identities {
        identity.execute(params![customer_id, i.kind.as_str(), i.value, i.display, now])?;
    }
    for t in &c.tags {
        tx.prepare_cached("INSERT INTO customer_tags(customer_id, tag_id) VALUES (?1, ?2)")?
            .execute(params![customer_id, tags.id(tx, t)?])?;
    }

    let mut conversation = tx.prepare_cached(
        "INSERT INTO conversations(customer_id, channel, subject, status, priority, assignee_id,
                                   snoozed_until, external_key, created_at, last_activity_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?;
    let mut message = tx.prepare_cached(
        "INSERT INTO messages(conversation_id, direction, channel, author, author_member_id, sent_at,
                              subject, body_text, source_key, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut headers = tx.prepare_cached(
        "INSERT INTO email_headers(message_id, rfc_message_id, in_reply_to, refs, from_addr, to_addrs)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut thread_id = tx.prepare_cached(
        "INSERT INTO email_thread_ids(rfc_message_id, conversation_id, message_id) VALUES (?1, ?2, ?3)",
    )?;
    let mut conversation_ids = Vec::new();
    for conv in &c.conversations {
        let started = conv.messages.first().map_or(now, |m| m.sent_at);
        conversation.execute(params![
            customer_id,
            conv.channel.as_str(),
            conv.subject,
            conv.status.as_str(),
            conv.priority.as_str(),
            member(conv.assignee),
            conv.snoozed_until,
            conv.external_key,
            started
        ])?;
        let conversation_id = tx.last_insert_rowid();
        conversation_ids.push(conversation_id);
        summary.conversations += 1;
        for t in &conv.tags {
            tx.prepare_cached("INSERT INTO conversation_tags(conversation_id, tag_id) VALUES (?1, ?2)")?
                .execute(params![conversation_id, tags.id(tx, t)?])?;
        }
        for m in &conv.messages {
            message.execute(params![
                conversation_id,
                m.direction.as_str(),
                conv.channel.as_str(),
                m.author,
                member(m.member),
                m.sent_at,
                m.subject,
                m.body,
                m.source_key,
                now
            ])?;
            let message_id = tx.last_insert_rowid();
            summary.messages += 1;
            if let Some(rfc_id) = &m.rfc_message_id {
                let to = m.to_addr.as_ref().map(|a| serde_json::json!([a]).to_string());
                headers.execute(params![
                    message_id,
                    rfc_id,
                    m.in_reply_to,
                    m.references.join(" "),
                    m.from_addr,
                    to
                ])?;
                thread_id.execute(params![rfc_id, conversation_id, message_id])?;
            }
        }
    }

    let mut order_ids = Vec::new();
    for o in &c.orders {
        tx.prepare_cached(
            "INSERT INTO orders(customer_id, source, number, email, phone, currency, total_minor,
                                financial_status, fulfillment_status, created_at, fulfilled_at, updated_at)
             VALUES (?1, 'demo', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            customer_id,
            o.number,
            c.identities.iter().find(|i| i.kind == shopdesk_core::IdentityKind::Email).map(|i| &i.value),
            c.identities.iter().find(|i| i.kind == shopdesk_core::IdentityKind::Phone).map(|i| &i.value),
            o.currency,
            o.total_minor,
            o.financial_status,
            o.fulfillment_status,
            o.created_at,
            o.fulfilled_at,
            now
        ])?;
        let order_id = tx.last_insert_rowid();
        order_ids.push(order_id);
        summary.orders += 1;
        for (pos, line) in o.lines.iter().enumerate() {
            tx.prepare_cached(
                "INSERT INTO order_lines(order_id, position, sku, title, quantity, price_minor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![order_id, pos as i64, line.sku, line.title, line.quantity, line.price_minor])?;
        }
    }

    for n in &c.notes {
        tx.prepare_cached(
            "INSERT INTO notes(customer_id, conversation_id, author_id, body, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        )?
        .execute(params![customer_id, conversation_ids.first(), members.get(n.author), n.body, n.at])?;
    }
    for f in &c.followups {
        tx.prepare_cached(
            "INSERT INTO followups(customer_id, conversation_id, order_id, due_at, reason, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![customer_id, conversation_ids.first(), f.order.and_then(|i| order_ids.get(i)), f.due_at, f.reason, now])?;
        summary.followups += 1;
    }
    Ok(())
}
