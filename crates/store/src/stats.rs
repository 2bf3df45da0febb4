use crate::{Result, Store};
use serde::Serialize;
use shopdesk_core::Millis;

/// Headline counts, the shape of `shopdesk stats --json`.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Stats {
    pub customers: i64,
    pub conversations: i64,
    pub messages: i64,
    pub orders: i64,
    /// Pending follow-ups due before `due_before` (the caller passes the end of today).
    pub followups_due: i64,
}

impl Store {
    pub fn stats(&self, due_before: Millis) -> Result<Stats> {
        let count = |sql: &str| -> Result<i64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        Ok(Stats {
            customers: count("SELECT count(*) FROM customers WHERE merged_into IS NULL")?,
            conversations: count("SELECT count(*) FROM conversations")?,
            messages: count("SELECT count(*) FROM messages")?,
            orders: count("SELECT count(*) FROM orders")?,
            followups_due: self.conn.query_row(
                "SELECT count(*) FROM followups WHERE state = 'pending' AND due_at < ?",
                [due_before],
                |r| r.get(0),
            )?,
        })
    }
}
