//! Customers, the identities that recognise them, and how customers are merged, split and
//! un-merged.
//!
//! One person, one customer: an email address or phone number seen on two customers is
//! proof they are one person ([`attach_identity_tx`] merges them). Weaker evidence (the
//! same name) only becomes a [`Suggestion`]. Every merge and split is a `customer_merges`
//! row listing exactly the rows that changed owner, so it can be undone, and an `events`
//! row; nothing is ever deleted, so a merge never loses a message, note, order or
//! follow-up.

use crate::conversations::parse_col;
use crate::{Result, Store, StoreError};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use shopdesk_core::{CustomerId, IdentityKind, Millis};
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

/// The tables whose rows belong to a customer through `customer_id`, in the order a merge
/// moves them; `Moved` lists the moved ids per table.
const OWNED_TABLES: [&str; 5] = [
    "identities",
    "conversations",
    "orders",
    "notes",
    "followups",
];

/// Exactly the rows a merge or split moved (the JSON in `customer_merges.moved`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub(crate) struct Moved {
    #[serde(default)]
    pub identities: Vec<i64>,
    #[serde(default)]
    pub conversations: Vec<i64>,
    #[serde(default)]
    pub orders: Vec<i64>,
    #[serde(default)]
    pub notes: Vec<i64>,
    #[serde(default)]
    pub followups: Vec<i64>,
    /// Tag ids taken off the absorbed customer.
    #[serde(default)]
    pub tags: Vec<i64>,
    /// Of those, the ones the kept customer did not have (added to it by the merge).
    #[serde(default)]
    pub tags_added: Vec<i64>,
    /// The kept customer had no language and took the absorbed one's.
    #[serde(default)]
    pub language_taken: bool,
}

impl Moved {
    fn ids(&self, table: &str) -> &[i64] {
        match table {
            "identities" => &self.identities,
            "conversations" => &self.conversations,
            "orders" => &self.orders,
            "notes" => &self.notes,
            _ => &self.followups,
        }
    }

    fn ids_mut(&mut self, table: &str) -> &mut Vec<i64> {
        match table {
            "identities" => &mut self.identities,
            "conversations" => &mut self.conversations,
            "orders" => &mut self.orders,
            "notes" => &mut self.notes,
            _ => &mut self.followups,
        }
    }
}

impl Store {
    /// Merges customer `absorbed` into `keep` by hand (see [`merge_customers_tx`]);
    /// returns the merge id that [`Store::undo_merge`] takes.
    pub fn merge_customers(
        &mut self,
        keep: CustomerId,
        absorbed: CustomerId,
        actor: &str,
        now: Millis,
    ) -> Result<i64> {
        self.write(|tx| merge_as(tx, keep, absorbed, actor, "by hand", now))
    }
}

/// The customer `id` stands for now: itself, or the live customer it was merged into
/// (following chains). Fails when `id` does not exist.
pub(crate) fn live_customer(tx: &rusqlite::Connection, id: CustomerId) -> Result<CustomerId> {
    let mut current = id.0;
    // A chain longer than this is a cycle: no merge path can create one, but a
    // hand-edited database must not hang the app.
    for _ in 0..1000 {
        let next: Option<Option<i64>> = tx
            .prepare_cached("SELECT merged_into FROM customers WHERE id = ?1")?
            .query_row([current], |r| r.get(0))
            .optional()?;
        match next {
            None => {
                return Err(StoreError::NotFound {
                    what: "customer",
                    id: current,
                });
            }
            Some(None) => return Ok(CustomerId(current)),
            Some(Some(next)) => current = next,
        }
    }
    Err(StoreError::MergeRefused(format!(
        "customer {id} is in a cycle of merges"
    )))
}

fn record_event(
    tx: &Transaction<'_>,
    now: Millis,
    actor: &str,
    entity_id: i64,
    action: &str,
    details: serde_json::Value,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO events(at, actor, entity, entity_id, action, details) VALUES (?1, ?2, 'customers', ?3, ?4, ?5)",
    )?
    .execute(params![now, actor, entity_id, action, details.to_string()])?;
    Ok(())
}

/// Merges `absorbed` into `keep` (both resolved to their live customers first): every
/// identity, conversation, order, note, follow-up and tag of `absorbed` moves to `keep`,
/// `absorbed` stays as a row with `merged_into = keep`, and the move is recorded (the
/// `customer_merges` row whose id is returned, and an `events` row with `reason`).
/// Chat participation follows the identities. Refuses when both are already one customer.
pub(crate) fn merge_customers_tx(
    tx: &Transaction<'_>,
    keep: CustomerId,
    absorbed: CustomerId,
    reason: &str,
    now: Millis,
) -> Result<i64> {
    merge_as(tx, keep, absorbed, "system", reason, now)
}

fn merge_as(
    tx: &Transaction<'_>,
    keep: CustomerId,
    absorbed: CustomerId,
    actor: &str,
    reason: &str,
    now: Millis,
) -> Result<i64> {
    let keep = live_customer(tx, keep)?;
    let absorbed = live_customer(tx, absorbed)?;
    if keep == absorbed {
        return Err(StoreError::MergeRefused(format!(
            "customer {keep} and that customer are already one customer"
        )));
    }
    let mut moved = Moved::default();
    for table in OWNED_TABLES {
        let ids = tx
            .prepare_cached(&format!(
                "SELECT id FROM {table} WHERE customer_id = ?1 ORDER BY id"
            ))?
            .query_map([absorbed.0], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        tx.prepare_cached(&format!(
            "UPDATE {table} SET customer_id = ?1 WHERE customer_id = ?2"
        ))?
        .execute(params![keep.0, absorbed.0])?;
        *moved.ids_mut(table) = ids;
    }
    moved.tags = tx
        .prepare_cached("SELECT tag_id FROM customer_tags WHERE customer_id = ?1 ORDER BY tag_id")?
        .query_map([absorbed.0], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<i64>>>()?;
    for &tag in &moved.tags {
        let added = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO customer_tags(customer_id, tag_id) VALUES (?1, ?2)",
            )?
            .execute(params![keep.0, tag])?;
        if added > 0 {
            moved.tags_added.push(tag);
        }
    }
    tx.prepare_cached("DELETE FROM customer_tags WHERE customer_id = ?1")?
        .execute([absorbed.0])?;
    moved.language_taken = tx
        .prepare_cached(
            "UPDATE customers SET language = (SELECT language FROM customers WHERE id = ?2)
              WHERE id = ?1 AND language IS NULL
                AND (SELECT language FROM customers WHERE id = ?2) IS NOT NULL",
        )?
        .execute(params![keep.0, absorbed.0])?
        > 0;
    tx.prepare_cached("UPDATE customers SET merged_into = ?1, updated_at = ?3 WHERE id = ?2")?
        .execute(params![keep.0, absorbed.0, now])?;
    tx.prepare_cached("UPDATE customers SET updated_at = ?2 WHERE id = ?1")?
        .execute(params![keep.0, now])?;
    let moved_json =
        serde_json::to_string(&moved).map_err(|e| StoreError::MergeRefused(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO customer_merges(kept_id, merged_id, moved, created_at, kind) VALUES (?1, ?2, ?3, ?4, 'merge')",
    )?
    .execute(params![keep.0, absorbed.0, moved_json, now])?;
    let merge_id = tx.last_insert_rowid();
    record_event(
        tx,
        now,
        actor,
        keep.0,
        "merged",
        serde_json::json!({ "merge_id": merge_id, "absorbed": absorbed.0, "reason": reason }),
    )?;
    Ok(merge_id)
}

/// Gives `customer` the identity `(kind, value)` (`value` already normalised: lower-cased
/// email, E.164 phone) and returns the customer that now holds it.
///
/// When the identity already belongs to another live customer, that is proof the two are
/// one person and they are merged, the older customer kept (its id is returned). A `name`
/// identity proves nothing: it stays where it is and no merge happens (see
/// [`Store::merge_suggestions`]).
pub(crate) fn attach_identity_tx(
    tx: &Transaction<'_>,
    customer: CustomerId,
    kind: IdentityKind,
    value: &str,
    display: Option<&str>,
    now: Millis,
) -> Result<CustomerId> {
    attach_identity_full(tx, customer, kind, value, display, now).map(|(customer, _)| customer)
}

/// [`attach_identity_tx`], also returning the identity's row id.
pub(crate) fn attach_identity_full(
    tx: &Transaction<'_>,
    customer: CustomerId,
    kind: IdentityKind,
    value: &str,
    display: Option<&str>,
    now: Millis,
) -> Result<(CustomerId, i64)> {
    let customer = live_customer(tx, customer)?;
    let found: Option<(i64, i64)> = tx
        .prepare_cached("SELECT id, customer_id FROM identities WHERE kind = ?1 AND value = ?2")?
        .query_row(params![kind.as_str(), value], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let Some((identity, owner)) = found else {
        tx.prepare_cached("INSERT INTO identities(customer_id, kind, value, display, created_at) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![customer.0, kind.as_str(), value, display, now])?;
        return Ok((customer, tx.last_insert_rowid()));
    };
    let owner = live_customer(tx, CustomerId(owner))?;
    if owner == customer || kind == IdentityKind::Name {
        return Ok((customer, identity));
    }
    let (keep, absorbed) = older_first(tx, customer, owner)?;
    merge_customers_tx(tx, keep, absorbed, &format!("same {kind} {value}"), now)?;
    Ok((keep, identity))
}

/// The two customers, the one created first (then the lower id) first.
fn older_first(
    tx: &Transaction<'_>,
    a: CustomerId,
    b: CustomerId,
) -> Result<(CustomerId, CustomerId)> {
    let created = |id: CustomerId| -> Result<(i64, i64)> {
        Ok(tx
            .prepare_cached("SELECT created_at FROM customers WHERE id = ?1")?
            .query_row([id.0], |r| Ok((r.get::<_, i64>(0)?, id.0)))?)
    };
    Ok(if created(a)? <= created(b)? {
        (a, b)
    } else {
        (b, a)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(store: &mut Store, name: &str, created_at: Millis) -> CustomerId {
        store
            .conn
            .execute(
                "INSERT INTO customers(name, created_at, updated_at) VALUES (?1, ?2, ?2)",
                params![name, created_at],
            )
            .expect("insert customer");
        CustomerId(store.conn.last_insert_rowid())
    }

    fn owner(store: &Store, table: &str, id: i64) -> i64 {
        store
            .conn
            .query_row(
                &format!("SELECT customer_id FROM {table} WHERE id = ?1"),
                [id],
                |r| r.get(0),
            )
            .expect("owner")
    }

    /// Attaching an email or phone already on another customer merges the two into the
    /// older one, moving the newer one's rows; a shared name merges nothing.
    #[test]
    fn attach_identity_merges_on_proof_only() {
        let mut store = Store::open_in_memory().expect("store");
        let old = customer(&mut store, "Anna", 10);
        let new = customer(&mut store, "+972501234567", 20);
        let tx = store.conn.transaction().expect("tx");
        attach_identity_tx(&tx, old, IdentityKind::Email, "a@x.test", None, 30).expect("attach");
        attach_identity_tx(&tx, old, IdentityKind::Name, "anna", None, 30).expect("attach");
        attach_identity_tx(&tx, new, IdentityKind::Phone, "+972501234567", None, 30)
            .expect("attach");
        tx.execute("INSERT INTO conversations(customer_id, channel, created_at, last_activity_at) VALUES (?1, 'whatsapp', 1, 1)", [new.0])
            .expect("conversation");
        let conversation = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO notes(customer_id, body, created_at, updated_at) VALUES (?1, 'n', 1, 1)",
            [new.0],
        )
        .expect("note");
        let note = tx.last_insert_rowid();
        let third = CustomerId({
            tx.execute(
                "INSERT INTO customers(name, created_at, updated_at) VALUES ('Anna', 40, 40)",
                [],
            )
            .expect("c");
            tx.last_insert_rowid()
        });
        assert_eq!(
            attach_identity_tx(&tx, third, IdentityKind::Name, "anna", None, 50).expect("name"),
            third
        );
        let kept = attach_identity_tx(&tx, new, IdentityKind::Email, "a@x.test", None, 60)
            .expect("attach");
        tx.commit().expect("commit");
        assert_eq!(kept, old);
        assert_eq!(owner(&store, "conversations", conversation), old.0);
        assert_eq!(owner(&store, "notes", note), old.0);
        let merged_into: Option<i64> = store
            .conn
            .query_row(
                "SELECT merged_into FROM customers WHERE id = ?1",
                [new.0],
                |r| r.get(0),
            )
            .expect("row");
        assert_eq!(merged_into, Some(old.0));
        let third_merged: Option<i64> = store
            .conn
            .query_row(
                "SELECT merged_into FROM customers WHERE id = ?1",
                [third.0],
                |r| r.get(0),
            )
            .expect("row");
        assert_eq!(third_merged, None);
        let moved: String = store
            .conn
            .query_row("SELECT moved FROM customer_merges", [], |r| r.get(0))
            .expect("merge row");
        let moved: Moved = serde_json::from_str(&moved).expect("json");
        assert_eq!(
            (moved.conversations, moved.notes),
            (vec![conversation], vec![note])
        );
    }
}
