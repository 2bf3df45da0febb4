//! Full-text search over messages (see the FTS notes in migrations/0001_init.sql).

use crate::conversations::{HAS_TAG, parse_col};
use crate::time::ser_rfc3339;
use crate::{Result, Store};
use rusqlite::{params_from_iter, types::Value};
use serde::Serialize;
use shopdesk_core::search::SearchQuery;
use shopdesk_core::{Channel, ConversationId, CustomerId, MessageId, Millis, text};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SearchHit {
    pub message_id: MessageId,
    pub conversation_id: ConversationId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub channel: Channel,
    pub author: Option<String>,
    #[serde(serialize_with = "ser_rfc3339")]
    pub sent_at: Millis,
    pub snippet: String,
}

const SNIPPET_CHARS: usize = 140;

impl Store {
    /// Messages matching every word of `query` (the last word as a prefix), best first.
    /// Punctuation and FTS syntax in the query are taken literally, never as operators.
    pub fn search(&self, query: &str, limit: u32) -> Result<Vec<SearchHit>> {
        self.search_query(&SearchQuery { words: query.to_owned(), ..SearchQuery::default() }, limit)
    }

    /// A parsed search box: the words full-text (best match first), the operators as
    /// filters. Operators alone list the matching messages newest first.
    pub fn search_query(&self, query: &SearchQuery, limit: u32) -> Result<Vec<SearchHit>> {
        let fts = text::fts_query(&query.words);
        if fts.is_none() && query.is_empty() {
            return Ok(Vec::new());
        }
        let terms: Vec<String> =
            query.words.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect();
        let mut sql = String::from(
            "SELECT m.id, m.conversation_id, c.customer_id, cu.name, m.channel, m.author, m.sent_at,
                    coalesce(m.subject || ' — ', '') || m.body_text",
        );
        let mut args: Vec<Value> = Vec::new();
        if let Some(fts) = &fts {
            sql.push_str(
                " FROM messages_fts f JOIN messages m ON m.id = f.rowid
                  JOIN conversations c ON c.id = m.conversation_id
                  JOIN customers cu ON cu.id = c.customer_id
                 WHERE messages_fts MATCH ?",
            );
            args.push(Value::Text(fts.clone()));
        } else {
            sql.push_str(
                " FROM messages m JOIN conversations c ON c.id = m.conversation_id
                  JOIN customers cu ON cu.id = c.customer_id WHERE 1 = 1",
            );
        }
        if let Some(from) = &query.from {
            // The customers that match are found once (not per message row).
            sql.push_str(
                " AND (m.author LIKE ? ESCAPE '\\'
                       OR (m.direction = 'in' AND c.customer_id IN (
                           SELECT id FROM customers WHERE name LIKE ? ESCAPE '\\'
                           UNION SELECT customer_id FROM identities WHERE value LIKE ? ESCAPE '\\')))",
            );
            let like = Value::Text(format!("%{}%", escape_like(from)));
            args.extend([like.clone(), like.clone(), like]);
        }
        if let Some(channel) = query.channel {
            sql.push_str(" AND m.channel = ?");
            args.push(Value::Text(channel.as_str().to_owned()));
        }
        if let Some(status) = query.status {
            sql.push_str(" AND c.status = ?");
            args.push(Value::Text(status.as_str().to_owned()));
        }
        if let Some(tag) = &query.tag {
            sql.push_str(HAS_TAG);
            args.push(Value::Text(tag.clone()));
        }
        if let Some(before) = query.before {
            sql.push_str(" AND m.sent_at < ?");
            args.push(Value::Integer(before));
        }
        if let Some(after) = query.after {
            sql.push_str(" AND m.sent_at >= ?");
            args.push(Value::Integer(after));
        }
        sql.push_str(if fts.is_some() { " ORDER BY f.rank, m.sent_at DESC" } else { " ORDER BY m.sent_at DESC, m.id DESC" });
        sql.push_str(" LIMIT ?");
        args.push(Value::Integer(i64::from(limit)));

        let mut stmt = self.conn.prepare_cached(&sql)?;
        let hits = stmt
            .query_map(params_from_iter(args), |r| {
                let body: String = r.get(7)?;
                Ok(SearchHit {
                    message_id: MessageId(r.get(0)?),
                    conversation_id: ConversationId(r.get(1)?),
                    customer_id: CustomerId(r.get(2)?),
                    customer_name: r.get(3)?,
                    channel: parse_col(r, 4)?,
                    author: r.get(5)?,
                    sent_at: r.get(6)?,
                    snippet: text::snippet(&body, &terms, SNIPPET_CHARS),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(hits)
    }
}

/// `%`, `_` and the escape character itself, literal in a LIKE pattern.
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pointed Hebrew and voweled Arabic are found by the plain spelling people type,
    /// and edits and deletes keep the index in step with the messages table.
    #[test]
    fn index_follows_folded_text_through_insert_update_delete() {
        let store = Store::open_in_memory().expect("open");
        store
            .conn
            .execute_batch(
                "INSERT INTO customers(id, name, created_at, updated_at) VALUES (1, 'Dana', 0, 0);
                 INSERT INTO conversations(id, customer_id, channel, created_at, last_activity_at)
                      VALUES (1, 1, 'whatsapp', 0, 0);
                 INSERT INTO messages(id, conversation_id, direction, channel, sent_at, body_text, source_key, created_at)
                      VALUES (1, 1, 'in', 'whatsapp', 5, 'שָׁלוֹם וּבְרָכָה, مَرْحَبًا بِكُمْ', 'k1', 0);",
            )
            .expect("insert");
        assert_eq!(store.search("שלום", 5).expect("search").len(), 1);
        assert_eq!(store.search("مرحبا", 5).expect("search").len(), 1);
        store.conn.execute("UPDATE messages SET body_text = 'dzień dobry' WHERE id = 1", []).expect("update");
        assert!(store.search("שלום", 5).expect("search").is_empty());
        assert_eq!(store.search("dzien", 5).expect("search").len(), 1);
        store.conn.execute("DELETE FROM messages WHERE id = 1", []).expect("delete");
        assert!(store.search("dzien", 5).expect("search").is_empty());
    }
}
