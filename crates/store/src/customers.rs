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
use crate::time::{ser_opt_rfc3339, ser_rfc3339};
use crate::{Result, Store, StoreError};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use shopdesk_core::{ConversationId, CustomerId, IdentityKind, Millis};
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IdentityRow {
    /// The `identities` row (what `customer split --identity` takes).
    pub id: i64,
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
                    (SELECT count(*) FROM conversations v WHERE v.customer_id = c.id
                        OR v.id IN (SELECT p.conversation_id FROM conversation_participants p
                                      JOIN identities i ON i.id = p.identity_id
                                     WHERE i.customer_id = c.id)),
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
            "SELECT customer_id, kind, value, display, id FROM identities ORDER BY customer_id, kind, value",
        )?;
        let mut q = stmt.query([])?;
        while let Some(r) = q.next()? {
            by_customer.entry(r.get(0)?).or_default().push(IdentityRow {
                kind: parse_col(r, 1)?,
                value: r.get(2)?,
                display: r.get(3)?,
                id: r.get(4)?,
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

/// One customer with everything that identifies it (`customer show`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CustomerDetail {
    pub id: CustomerId,
    pub name: String,
    pub language: Option<String>,
    /// Set when this customer was merged into another (then it holds nothing).
    pub merged_into: Option<CustomerId>,
    pub identities: Vec<IdentityRow>,
    /// Its own conversations and the group chats it takes part in, newest first.
    pub conversation_ids: Vec<ConversationId>,
    pub order_count: i64,
    pub note_count: i64,
    pub followup_count: i64,
    /// The merges and splits this customer took part in, oldest first.
    pub changes: Vec<CustomerChange>,
}

/// One merge or split (a `customer_merges` row).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CustomerChange {
    /// What `customer undo` takes.
    pub id: i64,
    /// `merge`: `other` was absorbed into `kept`; `split`: rows moved from `kept` to the
    /// new customer `other`.
    pub kind: String,
    pub kept: CustomerId,
    pub other: CustomerId,
    #[serde(serialize_with = "ser_rfc3339")]
    pub at: Millis,
    #[serde(serialize_with = "ser_opt_rfc3339")]
    pub undone_at: Option<Millis>,
}

/// Two customers that may be one person; never merged without the user.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Suggestion {
    pub a: CustomerId,
    pub a_name: String,
    pub b: CustomerId,
    pub b_name: String,
    /// Why, for the user: `same name "anna nowak"`, `phones end in the same 7 digits`.
    pub reasons: Vec<String>,
}

/// What a split did.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct SplitOutcome {
    /// The new customer that now holds the identity.
    pub customer: CustomerId,
    /// The change id that `customer undo` takes.
    pub change: i64,
}

/// A name as compared for suggestions and used as a name-based identity value: folded
/// (accents, Hebrew points), lower-case, invisible marks dropped, spaces collapsed.
pub fn normalize_name(name: &str) -> String {
    let visible: String = name
        .chars()
        .filter(|c| !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'))
        .collect();
    shopdesk_core::text::fold(&visible)
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A group of same-name customers bigger than this is a common name ("Mom", "Support"),
/// not evidence; pairing it would flood the list.
const MAX_SAME_NAME_GROUP: usize = 8;

/// How many trailing digits two phone numbers must share to count as a hint (the same
/// subscriber number read with a different country code).
const PHONE_SUFFIX_DIGITS: usize = 7;

impl Store {
    /// One customer, merged or not, with its identities and merge history.
    pub fn customer(&self, id: CustomerId) -> Result<CustomerDetail> {
        let row: Option<(String, Option<String>, Option<i64>)> = self
            .conn
            .prepare_cached("SELECT name, language, merged_into FROM customers WHERE id = ?1")?
            .query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let Some((name, language, merged_into)) = row else {
            return Err(StoreError::NotFound {
                what: "customer",
                id: id.0,
            });
        };
        let identities = self
            .conn
            .prepare_cached("SELECT id, kind, value, display FROM identities WHERE customer_id = ?1 ORDER BY kind, value")?
            .query_map([id.0], |r| {
                Ok(IdentityRow { id: r.get(0)?, kind: parse_col(r, 1)?, value: r.get(2)?, display: r.get(3)? })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let conversation_ids = self
            .conn
            .prepare_cached(
                "SELECT id FROM conversations WHERE customer_id = ?1
                     OR id IN (SELECT p.conversation_id FROM conversation_participants p
                                 JOIN identities i ON i.id = p.identity_id WHERE i.customer_id = ?1)
                  ORDER BY last_activity_at DESC, id DESC",
            )?
            .query_map([id.0], |r| Ok(ConversationId(r.get(0)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let count = |table: &str| -> Result<i64> {
            Ok(self
                .conn
                .prepare_cached(&format!(
                    "SELECT count(*) FROM {table} WHERE customer_id = ?1"
                ))?
                .query_row([id.0], |r| r.get(0))?)
        };
        let changes = self
            .conn
            .prepare_cached(
                "SELECT id, kind, kept_id, merged_id, created_at, undone_at FROM customer_merges
                  WHERE kept_id = ?1 OR merged_id = ?1 ORDER BY id",
            )?
            .query_map([id.0], |r| {
                Ok(CustomerChange {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    kept: CustomerId(r.get(2)?),
                    other: CustomerId(r.get(3)?),
                    at: r.get(4)?,
                    undone_at: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(CustomerDetail {
            id,
            name,
            language,
            merged_into: merged_into.map(CustomerId),
            identities,
            conversation_ids,
            order_count: count("orders")?,
            note_count: count("notes")?,
            followup_count: count("followups")?,
            changes,
        })
    }

    /// The identity `kind:value` (value normalised as stored), if any customer has it.
    pub fn find_identity(&self, kind: IdentityKind, value: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM identities WHERE kind = ?1 AND value = ?2")?
            .query_row(params![kind.as_str(), value], |r| r.get(0))
            .optional()?)
    }

    /// Undoes merge or split `change`: every row it moved goes back, the absorbed
    /// customer (merge) comes back to life, the split-off customer (split) is folded back.
    ///
    /// Refuses, changing nothing, when a later change depends on it: a moved row has
    /// since gone to yet another customer, or a customer involved has been merged away
    /// since (undo that later change first).
    pub fn undo_merge(&mut self, change: i64, actor: &str, now: Millis) -> Result<CustomerChange> {
        self.write(|tx| undo_tx(tx, change, actor, now))
    }

    /// Moves identity `identity` of `customer` to a new customer, with what came through
    /// it: conversations where it is the customer's only voice (chats it wrote, mail from
    /// that address), orders placed with that email or phone, and the notes and follow-ups
    /// on those. Undo with [`Store::undo_merge`] and the returned change id.
    pub fn split_customer(
        &mut self,
        customer: CustomerId,
        identity: i64,
        actor: &str,
        now: Millis,
    ) -> Result<SplitOutcome> {
        self.write(|tx| split_tx(tx, customer, identity, actor, now))
    }

    /// Pairs of live customers that may be one person on weaker evidence than a shared
    /// email or phone: the same name (customer name, name identity, or chat display name),
    /// strengthened when their phone numbers end in the same digits. Dismissed pairs are
    /// left out. Strongest first.
    pub fn merge_suggestions(&self) -> Result<Vec<Suggestion>> {
        let mut names: HashMap<i64, String> = HashMap::new();
        let mut keys: HashMap<String, Vec<i64>> = HashMap::new();
        let mut add = |key: String, customer: i64| {
            if key.is_empty() || key.contains('@') || shopdesk_core::phone::looks_like_phone(&key) {
                return;
            }
            let list = keys.entry(key).or_default();
            if !list.contains(&customer) {
                list.push(customer);
            }
        };
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, name FROM customers WHERE merged_into IS NULL")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (id, name): (i64, String) = (r.get(0)?, r.get(1)?);
            add(normalize_name(&name), id);
            names.insert(id, name);
        }
        let mut phones: HashMap<i64, Vec<String>> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT i.customer_id, i.kind, i.value, i.display FROM identities i
               JOIN customers c ON c.id = i.customer_id WHERE c.merged_into IS NULL",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (customer, kind, value, display): (i64, String, String, Option<String>) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            match kind.as_str() {
                "name" => add(value, customer),
                "phone" => phones.entry(customer).or_default().push(value),
                "email" => {}
                _ => add(
                    normalize_name(display.as_deref().unwrap_or(&value)),
                    customer,
                ),
            }
        }
        let mut dismissed = std::collections::HashSet::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT customer_a, customer_b FROM dismissed_suggestions")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            dismissed.insert((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?));
        }

        let mut pairs: HashMap<(i64, i64), Vec<String>> = HashMap::new();
        for (key, customers) in &keys {
            if customers.len() < 2 || customers.len() > MAX_SAME_NAME_GROUP {
                continue;
            }
            for (i, &a) in customers.iter().enumerate() {
                for &b in &customers[i + 1..] {
                    let pair = (a.min(b), a.max(b));
                    if !dismissed.contains(&pair) {
                        pairs
                            .entry(pair)
                            .or_default()
                            .push(format!("same name {key:?}"));
                    }
                }
            }
        }
        let suffix = |p: &str| -> String {
            let digits: Vec<char> = p.chars().filter(char::is_ascii_digit).collect();
            digits[digits.len().saturating_sub(PHONE_SUFFIX_DIGITS)..]
                .iter()
                .collect()
        };
        let mut out: Vec<Suggestion> = pairs
            .into_iter()
            .map(|((a, b), mut reasons)| {
                reasons.sort();
                reasons.dedup();
                let pa = phones.get(&a).map(Vec::as_slice).unwrap_or_default();
                let pb = phones.get(&b).map(Vec::as_slice).unwrap_or_default();
                if pa.iter().any(|x| {
                    pb.iter()
                        .any(|y| suffix(x) == suffix(y) && suffix(x).len() == PHONE_SUFFIX_DIGITS)
                }) {
                    reasons.push(format!(
                        "phones end in the same {PHONE_SUFFIX_DIGITS} digits"
                    ));
                }
                Suggestion {
                    a: CustomerId(a),
                    a_name: names.get(&a).cloned().unwrap_or_default(),
                    b: CustomerId(b),
                    b_name: names.get(&b).cloned().unwrap_or_default(),
                    reasons,
                }
            })
            .collect();
        out.sort_by(|x, y| {
            y.reasons
                .len()
                .cmp(&x.reasons.len())
                .then(x.a.cmp(&y.a))
                .then(x.b.cmp(&y.b))
        });
        Ok(out)
    }

    /// Turns down the suggestion that `a` and `b` are one person; it is not made again.
    pub fn dismiss_suggestion(&mut self, a: CustomerId, b: CustomerId, now: Millis) -> Result<()> {
        if a == b {
            return Err(StoreError::MergeRefused(format!(
                "customer {a} is one customer already"
            )));
        }
        self.write(|tx| {
            let (lo, hi) = (a.min(b), a.max(b));
            tx.execute(
                "INSERT OR IGNORE INTO dismissed_suggestions(customer_a, customer_b, dismissed_at) VALUES (?1, ?2, ?3)",
                params![lo.0, hi.0, now],
            )?;
            record_event(tx, now, "user", lo.0, "suggestion_dismissed", serde_json::json!({ "other": hi.0 }))
        })
    }
}

fn undo_tx(tx: &Transaction<'_>, change: i64, actor: &str, now: Millis) -> Result<CustomerChange> {
    let row: Option<(String, i64, i64, String, i64, Option<i64>)> = tx
        .prepare_cached("SELECT kind, kept_id, merged_id, moved, created_at, undone_at FROM customer_merges WHERE id = ?1")?
        .query_row([change], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
        .optional()?;
    let Some((kind, kept, other, moved, at, undone_at)) = row else {
        return Err(StoreError::NotFound {
            what: "merge or split",
            id: change,
        });
    };
    let refuse = |reason: String| StoreError::UndoRefused { id: change, reason };
    if undone_at.is_some() {
        return Err(refuse("it was already undone".to_owned()));
    }
    let moved: Moved = serde_json::from_str(&moved)
        .map_err(|e| refuse(format!("its record is unreadable: {e}")))?;
    let merged_into = |id: i64| -> Result<Option<i64>> {
        Ok(tx
            .prepare_cached("SELECT merged_into FROM customers WHERE id = ?1")?
            .query_row([id], |r| r.get(0))?)
    };
    let later_change = |id: i64| -> Result<String> {
        let found: Option<i64> = tx
            .prepare_cached(
                "SELECT id FROM customer_merges WHERE undone_at IS NULL AND id > ?2 AND (kept_id = ?1 OR merged_id = ?1)
                  ORDER BY id DESC LIMIT 1",
            )?
            .query_row(params![id, change], |r| r.get(0))
            .optional()?;
        Ok(found
            .map(|c| format!(" (change {c}; undo it first)"))
            .unwrap_or_default())
    };
    // Rows now sit on `holder`; they go back to `back_to`.
    let (holder, back_to) = match kind.as_str() {
        "split" => (other, kept),
        _ => (kept, other),
    };
    if kind == "merge" && merged_into(other)? != Some(kept) {
        return Err(refuse(format!(
            "customer {other} is no longer merged into customer {kept}{}",
            later_change(other)?
        )));
    }
    for id in [holder, back_to] {
        if kind == "merge" && id == other {
            continue;
        }
        if let Some(into) = merged_into(id)? {
            return Err(refuse(format!(
                "customer {id} was merged into customer {into} since{}",
                later_change(id)?
            )));
        }
    }
    for table in OWNED_TABLES {
        for &id in moved.ids(table) {
            let owner: Option<i64> = tx
                .prepare_cached(&format!("SELECT customer_id FROM {table} WHERE id = ?1"))?
                .query_row([id], |r| r.get(0))
                .optional()?
                .flatten();
            // A row deleted since (a note removed) has nothing to move back; an order
            // unlinked (NULL) likewise stays as it is.
            if let Some(owner) = owner
                && owner != holder
            {
                let what = table.trim_end_matches('s');
                return Err(refuse(format!(
                    "{what} {id} belongs to customer {owner} now, not {holder}{}",
                    later_change(holder)?
                )));
            }
        }
    }
    for table in OWNED_TABLES {
        for &id in moved.ids(table) {
            tx.prepare_cached(&format!(
                "UPDATE {table} SET customer_id = ?1 WHERE id = ?2 AND customer_id = ?3"
            ))?
            .execute(params![back_to, id, holder])?;
        }
    }
    for &tag in &moved.tags {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO customer_tags(customer_id, tag_id) VALUES (?1, ?2)",
        )?
        .execute(params![back_to, tag])?;
    }
    for &tag in &moved.tags_added {
        tx.prepare_cached("DELETE FROM customer_tags WHERE customer_id = ?1 AND tag_id = ?2")?
            .execute(params![holder, tag])?;
    }
    if moved.language_taken {
        tx.prepare_cached("UPDATE customers SET language = NULL WHERE id = ?1")?
            .execute([holder])?;
    }
    match kind.as_str() {
        "split" => tx
            .prepare_cached("UPDATE customers SET merged_into = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![other, kept, now])?,
        _ => tx
            .prepare_cached(
                "UPDATE customers SET merged_into = NULL, updated_at = ?2 WHERE id = ?1",
            )?
            .execute(params![other, now])?,
    };
    tx.prepare_cached("UPDATE customers SET updated_at = ?2 WHERE id = ?1")?
        .execute(params![kept, now])?;
    tx.prepare_cached("UPDATE customer_merges SET undone_at = ?2 WHERE id = ?1")?
        .execute(params![change, now])?;
    record_event(
        tx,
        now,
        actor,
        kept,
        &format!("{kind}_undone"),
        serde_json::json!({ "change": change, "other": other }),
    )?;
    Ok(CustomerChange {
        id: change,
        kind,
        kept: CustomerId(kept),
        other: CustomerId(other),
        at,
        undone_at: Some(now),
    })
}

fn split_tx(
    tx: &Transaction<'_>,
    customer: CustomerId,
    identity: i64,
    actor: &str,
    now: Millis,
) -> Result<SplitOutcome> {
    let live = live_customer(tx, customer)?;
    if live != customer {
        return Err(StoreError::SplitRefused(format!(
            "customer {customer} was merged into customer {live}; split from {live}"
        )));
    }
    let found: Option<(i64, String, String, Option<String>)> = tx
        .prepare_cached("SELECT customer_id, kind, value, display FROM identities WHERE id = ?1")?
        .query_row([identity], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    let Some((owner, kind, value, display)) = found else {
        return Err(StoreError::NotFound {
            what: "identity",
            id: identity,
        });
    };
    if owner != customer.0 {
        return Err(StoreError::SplitRefused(format!(
            "identity {identity} ({kind}:{value}) belongs to customer {owner}, not {customer}"
        )));
    }
    let others: i64 = tx
        .prepare_cached("SELECT count(*) FROM identities WHERE customer_id = ?1 AND id != ?2")?
        .query_row(params![customer.0, identity], |r| r.get(0))?;
    if others == 0 {
        return Err(StoreError::SplitRefused(format!(
            "identity {identity} ({kind}:{value}) is the only one of customer {customer}; there is nothing to split off"
        )));
    }

    // The new customer is named as the identity was written ("Anna <a@x>" -> "Anna").
    let shown = display
        .as_deref()
        .map(|d| d.split('<').next().unwrap_or(d).trim())
        .filter(|d| !d.is_empty());
    tx.prepare_cached("INSERT INTO customers(name, created_at, updated_at) VALUES (?1, ?2, ?2)")?
        .execute(params![shown.unwrap_or(&value), now])?;
    let new = tx.last_insert_rowid();

    let ids = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<Vec<i64>> {
        Ok(tx
            .prepare_cached(sql)?
            .query_map(args, |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?)
    };
    let mut moved = Moved {
        identities: vec![identity],
        ..Moved::default()
    };
    // Chats where this identity is the customer's only participant.
    moved.conversations = ids(
        "SELECT v.id FROM conversations v WHERE v.customer_id = ?1
            AND EXISTS (SELECT 1 FROM conversation_participants p WHERE p.conversation_id = v.id AND p.identity_id = ?2)
            AND NOT EXISTS (SELECT 1 FROM conversation_participants p JOIN identities i ON i.id = p.identity_id
                             WHERE p.conversation_id = v.id AND i.customer_id = ?1 AND p.identity_id != ?2)
          ORDER BY v.id",
        &[&customer.0, &identity],
    )?;
    if kind == "email" {
        // Mail threads whose customer side is this address only: from it (or replying
        // to it), or the shop writing to it.
        let through = |addr: &str| {
            format!(
            "EXISTS (SELECT 1 FROM messages m JOIN email_headers e ON e.message_id = m.id
                      WHERE m.conversation_id = v.id AND (
                        (m.direction = 'in' AND (e.from_addr {addr} OR e.reply_to {addr}))
                     OR (m.direction = 'out' AND EXISTS (SELECT 1 FROM json_each(e.to_addrs) t
                                                          WHERE lower(t.value ->> 'email') {addr}))))"
        )
        };
        let sql = format!(
            "SELECT v.id FROM conversations v WHERE v.customer_id = ?1 AND v.channel = 'email' AND {} AND NOT {} ORDER BY v.id",
            through("= ?2"),
            through(
                "IN (SELECT value FROM identities WHERE customer_id = ?1 AND kind = 'email' AND id != ?3)"
            ),
        );
        moved
            .conversations
            .extend(ids(&sql, &[&customer.0, &value, &identity])?);
    }
    moved.orders = match kind.as_str() {
        "email" => ids(
            "SELECT id FROM orders WHERE customer_id = ?1 AND lower(email) = ?2 ORDER BY id",
            &[&customer.0, &value],
        )?,
        "phone" => ids(
            "SELECT id FROM orders WHERE customer_id = ?1 AND phone = ?2 ORDER BY id",
            &[&customer.0, &value],
        )?,
        _ => Vec::new(),
    };
    let conversations =
        serde_json::to_string(&moved.conversations).unwrap_or_else(|_| "[]".to_owned());
    let orders = serde_json::to_string(&moved.orders).unwrap_or_else(|_| "[]".to_owned());
    moved.notes = ids(
        "SELECT id FROM notes WHERE customer_id = ?1 AND conversation_id IN (SELECT value FROM json_each(?2)) ORDER BY id",
        &[&customer.0, &conversations],
    )?;
    moved.followups = ids(
        "SELECT id FROM followups WHERE customer_id = ?1
            AND (conversation_id IN (SELECT value FROM json_each(?2)) OR order_id IN (SELECT value FROM json_each(?3)))
          ORDER BY id",
        &[&customer.0, &conversations, &orders],
    )?;
    for table in OWNED_TABLES {
        for &id in moved.ids(table) {
            tx.prepare_cached(&format!(
                "UPDATE {table} SET customer_id = ?1 WHERE id = ?2"
            ))?
            .execute(params![new, id])?;
        }
    }
    tx.prepare_cached("UPDATE customers SET updated_at = ?2 WHERE id = ?1")?
        .execute(params![customer.0, now])?;
    let moved_json =
        serde_json::to_string(&moved).map_err(|e| StoreError::SplitRefused(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO customer_merges(kept_id, merged_id, moved, created_at, kind) VALUES (?1, ?2, ?3, ?4, 'split')",
    )?
    .execute(params![customer.0, new, moved_json, now])?;
    let change = tx.last_insert_rowid();
    record_event(
        tx,
        now,
        actor,
        customer.0,
        "split",
        serde_json::json!({ "change": change, "new_customer": new, "identity": identity }),
    )?;
    Ok(SplitOutcome {
        customer: CustomerId(new),
        change,
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

    /// (table, id, customer_id) rows; (customer, tag); (customer, merged_into).
    type Snapshot = (
        Vec<(String, i64, Option<i64>)>,
        Vec<(i64, i64)>,
        Vec<(i64, Option<i64>)>,
    );

    /// Every row of every owned table, as (table, id, customer_id), plus customer tags and
    /// which customers are live: the whole picture a merge must preserve.
    fn snapshot(store: &Store) -> Snapshot {
        let mut rows = Vec::new();
        for table in OWNED_TABLES {
            let mut stmt = store
                .conn
                .prepare(&format!("SELECT id, customer_id FROM {table} ORDER BY id"))
                .expect("prepare");
            let found = stmt
                .query_map([], |r| Ok((table.to_owned(), r.get(0)?, r.get(1)?)))
                .expect("query");
            rows.extend(found.map(|r| r.expect("row")));
        }
        let tags = store
            .conn
            .prepare("SELECT customer_id, tag_id FROM customer_tags ORDER BY 1, 2")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect();
        let customers = store
            .conn
            .prepare("SELECT id, merged_into FROM customers ORDER BY id")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect();
        (rows, tags, customers)
    }

    /// Two customers with a chat each, an order, a note, a follow-up and tags.
    fn shop(store: &mut Store) -> (CustomerId, CustomerId, i64) {
        let a = customer(store, "Anna Nowak", 10);
        let b = customer(store, "+972501234567", 20);
        let tx = store.conn.transaction().expect("tx");
        let email = attach_identity_full(
            &tx,
            a,
            IdentityKind::Email,
            "a@x.test",
            Some("Anna <a@x.test>"),
            30,
        )
        .expect("id")
        .1;
        let phone = attach_identity_full(&tx, b, IdentityKind::Phone, "+972501234567", None, 30)
            .expect("id")
            .1;
        for (c, channel, identity) in [(a, "email", None), (b, "whatsapp", Some(phone))] {
            tx.execute(
                "INSERT INTO conversations(customer_id, channel, created_at, last_activity_at) VALUES (?1, ?2, 1, 1)",
                params![c.0, channel],
            )
            .expect("conversation");
            let v = tx.last_insert_rowid();
            if let Some(identity) = identity {
                tx.execute(
                    "INSERT INTO conversation_participants VALUES (?1, ?2)",
                    [v, identity],
                )
                .expect("participant");
            }
            tx.execute(
                "INSERT INTO messages(conversation_id, direction, channel, sent_at, source_key, created_at) VALUES (?1, 'in', ?2, 1, ?3, 1)",
                params![v, channel, format!("k{v}")],
            )
            .expect("message");
            tx.execute("INSERT INTO notes(customer_id, conversation_id, body, created_at, updated_at) VALUES (?1, ?2, 'n', 1, 1)", params![c.0, v])
                .expect("note");
        }
        tx.execute(
            "INSERT INTO orders(customer_id, source, number, phone, created_at, updated_at) VALUES (?1, 'shopify', '#1001', '+972501234567', 1, 1)",
            [b.0],
        )
        .expect("order");
        let order = tx.last_insert_rowid();
        tx.execute("INSERT INTO followups(customer_id, order_id, due_at, reason, created_at) VALUES (?1, ?2, 5, 'ask', 1)", params![b.0, order])
            .expect("followup");
        tx.execute("INSERT INTO tags(name) VALUES ('vip'), ('wholesale')", [])
            .expect("tags");
        tx.execute(
            "INSERT INTO customer_tags VALUES (?1, 1), (?2, 1), (?2, 2)",
            [a.0, b.0],
        )
        .expect("customer tags");
        tx.commit().expect("commit");
        let _ = email;
        (a, b, phone)
    }

    /// Merge then undo restores every row's owner, the tags and the absorbed customer
    /// exactly; in between, the kept customer holds everything and nothing is missing.
    #[test]
    fn merge_then_undo_round_trips() {
        let mut store = Store::open_in_memory().expect("store");
        let (a, b, _) = shop(&mut store);
        let before = snapshot(&store);
        let messages = |s: &Store| -> i64 {
            s.conn
                .query_row("SELECT count(*) FROM messages", [], |r| r.get(0))
                .expect("count")
        };
        let merge = store.merge_customers(a, b, "Dana", 100).expect("merge");
        let merged = snapshot(&store);
        assert_eq!(merged.0.len(), before.0.len(), "no row lost");
        assert!(
            merged.0.iter().all(|(_, _, owner)| *owner == Some(a.0)),
            "{merged:?}"
        );
        assert_eq!(merged.1, vec![(a.0, 1), (a.0, 2)]);
        assert_eq!(messages(&store), 2);
        let detail = store.customer(a).expect("detail");
        assert_eq!(
            (
                detail.conversation_ids.len(),
                detail.order_count,
                detail.note_count,
                detail.followup_count
            ),
            (2, 1, 2, 1)
        );
        assert_eq!(store.customers().expect("list").len(), 1);
        // Merging with the absorbed one resolves to the same live customer: refused.
        assert!(matches!(
            store.merge_customers(b, a, "Dana", 101),
            Err(StoreError::MergeRefused(_))
        ));

        store.undo_merge(merge, "Dana", 200).expect("undo");
        assert_eq!(snapshot(&store), before);
        assert!(matches!(
            store.undo_merge(merge, "Dana", 201),
            Err(StoreError::UndoRefused { .. })
        ));
        let events: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM events WHERE entity = 'customers'",
                [],
                |r| r.get(0),
            )
            .expect("events");
        assert_eq!(events, 2);
    }

    /// Splitting the phone identity off a merged customer takes the WhatsApp chat, the
    /// order placed with that phone and their note and follow-up to a new customer; the
    /// email side stays. Undoing the split folds it all back.
    #[test]
    fn split_then_undo_round_trips() {
        let mut store = Store::open_in_memory().expect("store");
        let (a, b, phone) = shop(&mut store);
        store.merge_customers(a, b, "Dana", 100).expect("merge");
        let merged = snapshot(&store);
        let split = store.split_customer(a, phone, "Dana", 150).expect("split");
        let after = snapshot(&store);
        assert_eq!(after.0.len(), merged.0.len(), "no row lost");
        let on_new: Vec<&str> = after
            .0
            .iter()
            .filter(|(_, _, owner)| *owner == Some(split.customer.0))
            .map(|(t, _, _)| t.as_str())
            .collect();
        assert_eq!(
            on_new,
            vec![
                "identities",
                "conversations",
                "orders",
                "notes",
                "followups"
            ]
        );
        assert_eq!(
            store.customer(split.customer).expect("new").name,
            "+972501234567"
        );
        // The only identity left cannot be split off.
        let email = store
            .find_identity(IdentityKind::Email, "a@x.test")
            .expect("find")
            .expect("email");
        assert!(matches!(
            store.split_customer(a, email, "Dana", 160),
            Err(StoreError::SplitRefused(_))
        ));

        store
            .undo_merge(split.change, "Dana", 200)
            .expect("undo split");
        let undone = snapshot(&store);
        assert_eq!(undone.0, merged.0);
        assert_eq!(
            undone.2.iter().find(|(id, _)| *id == split.customer.0),
            Some(&(split.customer.0, Some(a.0)))
        );
    }

    /// An undo that a later change depends on is refused with the reason and changes
    /// nothing: the merge cannot be undone while a later split holds a row it moved.
    #[test]
    fn undo_refuses_when_a_later_change_depends_on_it() {
        let mut store = Store::open_in_memory().expect("store");
        let (a, b, phone) = shop(&mut store);
        let merge = store.merge_customers(a, b, "Dana", 100).expect("merge");
        let split = store.split_customer(a, phone, "Dana", 150).expect("split");
        let before = snapshot(&store);
        let err = store
            .undo_merge(merge, "Dana", 200)
            .expect_err("must refuse");
        assert!(
            err.to_string()
                .contains(&format!("change {}", split.change)),
            "{err}"
        );
        assert_eq!(snapshot(&store), before);
        store
            .undo_merge(split.change, "Dana", 210)
            .expect("undo split");
        store
            .undo_merge(merge, "Dana", 220)
            .expect("then the merge");
    }

    /// Same name on two customers (an email customer and a WhatsApp contact) is a
    /// suggestion, never a merge; matching phone endings strengthen it; dismissing it
    /// removes it for good.
    #[test]
    fn same_name_is_suggested_not_merged() {
        let mut store = Store::open_in_memory().expect("store");
        let a = customer(&mut store, "Anna Nowak", 10);
        let b = customer(&mut store, "anna  nowak", 20);
        let c = customer(&mut store, "Ben", 30);
        let tx = store.conn.transaction().expect("tx");
        attach_identity_tx(&tx, a, IdentityKind::Phone, "+48601234567", None, 1).expect("id");
        attach_identity_tx(&tx, b, IdentityKind::Phone, "+972601234567", None, 1).expect("id");
        attach_identity_tx(&tx, c, IdentityKind::Whatsapp, "ben", Some("Ben"), 1).expect("id");
        tx.commit().expect("commit");
        let suggestions = store.merge_suggestions().expect("suggest");
        assert_eq!(suggestions.len(), 1, "{suggestions:?}");
        assert_eq!((suggestions[0].a, suggestions[0].b), (a, b));
        assert_eq!(
            suggestions[0].reasons.len(),
            2,
            "{:?}",
            suggestions[0].reasons
        );
        assert_eq!(store.customers().expect("list").len(), 3);
        store.dismiss_suggestion(b, a, 50).expect("dismiss");
        assert!(store.merge_suggestions().expect("suggest").is_empty());
    }
}
