//! Full-text search over messages (see the FTS notes in migrations/0001_init.sql).

use crate::conversations::parse_col;
use crate::time::ser_rfc3339;
use crate::{Result, Store};
use serde::Serialize;
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
        let Some(fts) = text::fts_query(query) else {
            return Ok(Vec::new());
        };
        let terms: Vec<String> = query.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect();
        let mut stmt = self.conn.prepare_cached(
            "SELECT m.id, m.conversation_id, c.customer_id, cu.name, m.channel, m.author, m.sent_at,
                    coalesce(m.subject || ' — ', '') || m.body_text
               FROM messages_fts f
               JOIN messages m ON m.id = f.rowid
               JOIN conversations c ON c.id = m.conversation_id
               JOIN customers cu ON cu.id = c.customer_id
              WHERE messages_fts MATCH ?
              ORDER BY f.rank, m.sent_at DESC
              LIMIT ?",
        )?;
        let hits = stmt
            .query_map(rusqlite::params![fts, limit], |r| {
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
