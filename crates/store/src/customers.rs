//! Customers and the identities that recognise them.

use crate::conversations::parse_col;
use crate::{Result, Store};
use serde::Serialize;
use shopdesk_core::{CustomerId, IdentityKind};
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IdentityRow {
    pub kind: IdentityKind,
    /// Normalised (lower-cased email, E.164 phone).
    pub value: String,
    /// As it was written, e.g. `Anna Nowak <anna@x.pl>`.
    pub display: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CustomerRow {
    pub id: CustomerId,
    pub name: String,
    pub language: Option<String>,
    pub identities: Vec<IdentityRow>,
    pub conversation_count: i64,
    pub order_count: i64,
}

impl Store {
    /// Every customer that has not been merged into another, by name.
    pub fn customers(&self) -> Result<Vec<CustomerRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.name, c.language,
                    (SELECT count(*) FROM conversations v WHERE v.customer_id = c.id),
                    (SELECT count(*) FROM orders o WHERE o.customer_id = c.id)
               FROM customers c WHERE c.merged_into IS NULL
              ORDER BY c.name COLLATE NOCASE, c.id",
        )?;
        let mut rows = stmt
            .query_map([], |r| {
                Ok(CustomerRow {
                    id: CustomerId(r.get(0)?),
                    name: r.get(1)?,
                    language: r.get(2)?,
                    conversation_count: r.get(3)?,
                    order_count: r.get(4)?,
                    identities: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;

        // One pass over identities instead of one query per customer.
        let mut by_customer: HashMap<i64, Vec<IdentityRow>> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT customer_id, kind, value, display FROM identities ORDER BY customer_id, kind, value",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            by_customer.entry(r.get(0)?).or_default().push(IdentityRow {
                kind: parse_col(r, 1)?,
                value: r.get(2)?,
                display: r.get(3)?,
            });
        }
        for row in &mut rows {
            row.identities = by_customer.remove(&row.id.0).unwrap_or_default();
        }
        Ok(rows)
    }
}
