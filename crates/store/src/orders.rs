//! Orders from shop exports: stored once per (source, number), updated on re-import, and
//! linked to the customer their email, else their phone, belongs to.

use crate::customers::{attach_identity_tx, live_customer};
use crate::time::{ser_opt_rfc3339, ser_rfc3339};
use crate::{Result, Store};
use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;
use shopdesk_core::order::{OrderLine, ParsedOrder};
use shopdesk_core::phone::normalize_phone;
use shopdesk_core::{CustomerId, IdentityKind, Millis, normalize_email};
use std::collections::HashMap;

/// What storing one file of orders did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OrdersReport {
    /// Orders seen for the first time.
    pub new: usize,
    /// Orders already stored whose status, dates, totals, lines or buyer changed.
    pub updated: usize,
    /// Orders already stored exactly as in the file.
    pub unchanged: usize,
    /// Customers created for buyers nobody knew yet.
    pub customers_created: usize,
    /// Pairs of customers merged because an order showed one person's email and the
    /// other's phone.
    pub customers_merged: usize,
}

/// One line item of a stored order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderLineRow {
    pub sku: Option<String>,
    pub title: String,
    pub quantity: i64,
    /// Unit price in minor units.
    pub price_minor: Option<i64>,
}

/// One stored order with its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRow {
    pub id: i64,
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    pub source: String,
    pub number: String,
    pub email: Option<String>,
    /// E.164 when it could be normalised, else as written.
    pub phone: Option<String>,
    pub currency: Option<String>,
    pub total_minor: Option<i64>,
    pub financial_status: Option<String>,
    pub fulfillment_status: Option<String>,
    #[serde(serialize_with = "ser_rfc3339")]
    pub created_at: Millis,
    #[serde(serialize_with = "ser_opt_rfc3339")]
    pub fulfilled_at: Option<Millis>,
    #[serde(serialize_with = "ser_opt_rfc3339")]
    pub cancelled_at: Option<Millis>,
    pub lines: Vec<OrderLineRow>,
}

/// The stored columns an import can change, for telling "updated" from "unchanged".
#[derive(Debug, PartialEq, Eq)]
struct Stored {
    customer: Option<i64>,
    email: Option<String>,
    phone: Option<String>,
    currency: Option<String>,
    total_minor: Option<i64>,
    financial_status: Option<String>,
    fulfillment_status: Option<String>,
    created_at: Millis,
    fulfilled_at: Option<Millis>,
    cancelled_at: Option<Millis>,
    lines: Vec<(Option<String>, String, i64, Option<i64>)>,
}

impl Store {
    /// Stores one file's orders in one transaction (all or nothing). An order already
    /// stored under its (source, number) is updated in place, its lines replaced. Each
    /// buyer becomes a customer: found by lower-cased email, else by E.164 phone (numbers
    /// without a country code read in `default_region`), else created; when the email
    /// belongs to one customer and the phone to another, they are merged.
    pub fn store_orders(
        &mut self,
        orders: &[ParsedOrder],
        default_region: Option<&str>,
        now: Millis,
    ) -> Result<OrdersReport> {
        self.write(|tx| {
            let mut report = OrdersReport::default();
            for order in orders {
                store_order(tx, order, default_region, now, &mut report)?;
            }
            Ok(report)
        })
    }

    /// Orders, newest first, with their lines; only `customer`'s (including those of
    /// customers merged into it) when given.
    pub fn orders(&self, customer: Option<CustomerId>) -> Result<Vec<OrderRow>> {
        // The customer and everyone merged into it, directly or through a chain.
        const FAMILY: &str = "WITH RECURSIVE family(id) AS (
                SELECT ?1 UNION SELECT c.id FROM customers c JOIN family f ON c.merged_into = f.id)";
        let live = match customer {
            Some(c) => Some(live_customer(&self.conn, c)?.0),
            None => None,
        };
        let filter = if live.is_some() {
            "WHERE o.customer_id IN (SELECT id FROM family)"
        } else {
            "WHERE ?1 IS NULL"
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "{FAMILY}
             SELECT o.id, o.customer_id, c.name, o.source, o.number, o.email, o.phone, o.currency,
                    o.total_minor, o.financial_status, o.fulfillment_status, o.created_at,
                    o.fulfilled_at, o.cancelled_at
               FROM orders o LEFT JOIN customers c ON c.id = o.customer_id
               {filter}
              ORDER BY o.created_at DESC, o.id DESC"
        ))?;
        let mut rows = stmt
            .query_map([live], |r| {
                Ok(OrderRow {
                    id: r.get(0)?,
                    customer_id: r.get::<_, Option<i64>>(1)?.map(CustomerId),
                    customer_name: r.get(2)?,
                    source: r.get(3)?,
                    number: r.get(4)?,
                    email: r.get(5)?,
                    phone: r.get(6)?,
                    currency: r.get(7)?,
                    total_minor: r.get(8)?,
                    financial_status: r.get(9)?,
                    fulfillment_status: r.get(10)?,
                    created_at: r.get(11)?,
                    fulfilled_at: r.get(12)?,
                    cancelled_at: r.get(13)?,
                    lines: Vec::new(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;

        // One pass over the lines of the listed orders.
        let mut stmt = self.conn.prepare_cached(&format!(
            "{FAMILY}
             SELECT l.order_id, l.sku, l.title, l.quantity, l.price_minor
               FROM order_lines l JOIN orders o ON o.id = l.order_id
               {filter}
              ORDER BY l.order_id, l.position"
        ))?;
        let mut by_order: HashMap<i64, Vec<OrderLineRow>> = HashMap::new();
        let mut q = stmt.query([live])?;
        while let Some(r) = q.next()? {
            by_order.entry(r.get(0)?).or_default().push(OrderLineRow {
                sku: r.get(1)?,
                title: r.get(2)?,
                quantity: r.get(3)?,
                price_minor: r.get(4)?,
            });
        }
        for row in &mut rows {
            row.lines = by_order.remove(&row.id).unwrap_or_default();
        }
        Ok(rows)
    }
}

fn store_order(
    tx: &Transaction<'_>,
    order: &ParsedOrder,
    default_region: Option<&str>,
    now: Millis,
    report: &mut OrdersReport,
) -> Result<()> {
    let email = order
        .email
        .as_deref()
        .map(normalize_email)
        .filter(|e| e.contains('@'));
    let e164 = order
        .phone
        .as_deref()
        .and_then(|p| normalize_phone(p, default_region));
    let phone = e164.clone().or_else(|| {
        order
            .phone
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
    });
    let customer = link_customer(tx, order, email.as_deref(), e164.as_deref(), now, report)?;
    let wanted = Stored {
        customer: customer.map(|c| c.0),
        email,
        phone,
        currency: order.currency.clone(),
        total_minor: order.total_minor,
        financial_status: order.financial_status.clone(),
        fulfillment_status: order.fulfillment_status.clone(),
        created_at: order.created_at,
        fulfilled_at: order.fulfilled_at,
        cancelled_at: order.cancelled_at,
        lines: order.lines.iter().map(line_tuple).collect(),
    };
    let existing: Option<i64> = tx
        .prepare_cached("SELECT id FROM orders WHERE source = ?1 AND number = ?2")?
        .query_row(params![order.source, order.number], |r| r.get(0))
        .optional()?;
    let id = match existing {
        None => {
            tx.prepare_cached(
                "INSERT INTO orders(customer_id, source, number, email, phone, currency, total_minor,
                                    financial_status, fulfillment_status, created_at, fulfilled_at,
                                    cancelled_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?
            .execute(params![
                wanted.customer,
                order.source,
                order.number,
                wanted.email,
                wanted.phone,
                wanted.currency,
                wanted.total_minor,
                wanted.financial_status,
                wanted.fulfillment_status,
                wanted.created_at,
                wanted.fulfilled_at,
                wanted.cancelled_at,
                now
            ])?;
            report.new += 1;
            tx.last_insert_rowid()
        }
        Some(id) => {
            if stored(tx, id)? == wanted {
                report.unchanged += 1;
                return Ok(());
            }
            tx.prepare_cached(
                "UPDATE orders SET customer_id = ?2, email = ?3, phone = ?4, currency = ?5, total_minor = ?6,
                                   financial_status = ?7, fulfillment_status = ?8, created_at = ?9,
                                   fulfilled_at = ?10, cancelled_at = ?11, updated_at = ?12
                  WHERE id = ?1",
            )?
            .execute(params![
                id,
                wanted.customer,
                wanted.email,
                wanted.phone,
                wanted.currency,
                wanted.total_minor,
                wanted.financial_status,
                wanted.fulfillment_status,
                wanted.created_at,
                wanted.fulfilled_at,
                wanted.cancelled_at,
                now
            ])?;
            tx.prepare_cached("DELETE FROM order_lines WHERE order_id = ?1")?
                .execute([id])?;
            report.updated += 1;
            id
        }
    };
    let mut insert = tx.prepare_cached(
        "INSERT INTO order_lines(order_id, position, sku, title, quantity, price_minor) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (position, line) in order.lines.iter().enumerate() {
        insert.execute(params![
            id,
            position as i64,
            line.sku,
            line.title,
            line.quantity,
            line.price_minor
        ])?;
    }
    Ok(())
}

fn line_tuple(l: &OrderLine) -> (Option<String>, String, i64, Option<i64>) {
    (l.sku.clone(), l.title.clone(), l.quantity, l.price_minor)
}

/// An order as stored, in the shape [`store_order`] compares against. The customer is the
/// live one (a merge since the last import is not a change of the order).
fn stored(tx: &Transaction<'_>, id: i64) -> Result<Stored> {
    let mut s = tx
        .prepare_cached(
            "SELECT customer_id, email, phone, currency, total_minor, financial_status, fulfillment_status,
                    created_at, fulfilled_at, cancelled_at
               FROM orders WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(Stored {
                customer: r.get(0)?,
                email: r.get(1)?,
                phone: r.get(2)?,
                currency: r.get(3)?,
                total_minor: r.get(4)?,
                financial_status: r.get(5)?,
                fulfillment_status: r.get(6)?,
                created_at: r.get(7)?,
                fulfilled_at: r.get(8)?,
                cancelled_at: r.get(9)?,
                lines: Vec::new(),
            })
        })?;
    if let Some(c) = s.customer {
        s.customer = Some(live_customer(tx, CustomerId(c))?.0);
    }
    s.lines = tx
        .prepare_cached("SELECT sku, title, quantity, price_minor FROM order_lines WHERE order_id = ?1 ORDER BY position")?
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(s)
}

/// The customer who placed `order`: the owner of its email, else of its phone, else a new
/// customer. The order's email and phone are attached to that customer; when the other one
/// already belongs to someone else, the two customers are one person and are merged.
/// `None` when the order names neither.
fn link_customer(
    tx: &Transaction<'_>,
    order: &ParsedOrder,
    email: Option<&str>,
    phone: Option<&str>,
    now: Millis,
    report: &mut OrdersReport,
) -> Result<Option<CustomerId>> {
    if email.is_none() && phone.is_none() {
        return Ok(None);
    }
    let owner = |kind: IdentityKind, value: Option<&str>| -> Result<Option<CustomerId>> {
        let Some(value) = value else { return Ok(None) };
        let found: Option<i64> = tx
            .prepare_cached("SELECT customer_id FROM identities WHERE kind = ?1 AND value = ?2")?
            .query_row(params![kind.as_str(), value], |r| r.get(0))
            .optional()?;
        found.map(|c| live_customer(tx, CustomerId(c))).transpose()
    };
    let by_email = owner(IdentityKind::Email, email)?;
    let by_phone = owner(IdentityKind::Phone, phone)?;
    let name = order
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let mut customer = match by_email.or(by_phone) {
        Some(c) => c,
        None => {
            let fallback = email.or(order.phone.as_deref()).unwrap_or(&order.number);
            tx.prepare_cached(
                "INSERT INTO customers(name, created_at, updated_at) VALUES (?1, ?2, ?2)",
            )?
            .execute(params![name.unwrap_or(fallback), now])?;
            report.customers_created += 1;
            CustomerId(tx.last_insert_rowid())
        }
    };
    if let Some(email) = email {
        customer = attach_identity_tx(
            tx,
            customer,
            IdentityKind::Email,
            email,
            order.email.as_deref(),
            now,
        )?;
    }
    if let Some(phone) = phone {
        customer = attach_identity_tx(
            tx,
            customer,
            IdentityKind::Phone,
            phone,
            order.phone.as_deref(),
            now,
        )?;
    }
    if matches!((by_email, by_phone), (Some(a), Some(b)) if a != b) {
        report.customers_merged += 1;
    }
    if let Some(name) = name {
        name_placeholder(tx, customer, name, email, phone, now)?;
    }
    Ok(Some(customer))
}

/// A customer known only by an address or a number (mail without a display name, a
/// WhatsApp author outside the contacts) takes the name the buyer gave on the order.
fn name_placeholder(
    tx: &Transaction<'_>,
    customer: CustomerId,
    name: &str,
    email: Option<&str>,
    phone: Option<&str>,
    now: Millis,
) -> Result<()> {
    let current: String = tx
        .prepare_cached("SELECT name FROM customers WHERE id = ?1")?
        .query_row([customer.0], |r| r.get(0))?;
    let trimmed = current.trim();
    let placeholder = trimmed.is_empty()
        || trimmed == "Unknown sender"
        || email.is_some_and(|e| normalize_email(trimmed) == e)
        || phone
            .is_some_and(|p| normalize_phone(trimmed, None).as_deref() == Some(p) || trimmed == p);
    if placeholder && trimmed != name {
        tx.prepare_cached("UPDATE customers SET name = ?2, updated_at = ?3 WHERE id = ?1")?
            .execute(params![customer.0, name, now])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(number: &str, email: Option<&str>, phone: Option<&str>) -> ParsedOrder {
        ParsedOrder {
            source: "shopify".into(),
            number: number.into(),
            email: email.map(str::to_owned),
            phone: phone.map(str::to_owned),
            name: Some("Dana Levi".into()),
            currency: Some("ILS".into()),
            total_minor: Some(12_000),
            financial_status: Some("paid".into()),
            fulfillment_status: None,
            created_at: 1_700_000_000_000,
            fulfilled_at: None,
            cancelled_at: None,
            lines: vec![OrderLine {
                sku: Some("M-1".into()),
                title: "Mug".into(),
                quantity: 2,
                price_minor: Some(6_000),
            }],
            line: 2,
        }
    }

    fn count(store: &Store, sql: &str) -> i64 {
        store.conn.query_row(sql, [], |r| r.get(0)).expect("count")
    }

    /// Re-importing the same order changes nothing; a changed fulfilment or line updates
    /// the one row (lines replaced, never duplicated).
    #[test]
    fn upsert_by_source_and_number() {
        let mut store = Store::open_in_memory().expect("store");
        let first = store
            .store_orders(&[order("#1", Some("Dana@X.test"), None)], None, 1)
            .expect("store");
        assert_eq!(
            (
                first.new,
                first.updated,
                first.unchanged,
                first.customers_created
            ),
            (1, 0, 0, 1)
        );
        let again = store
            .store_orders(&[order("#1", Some("dana@x.test"), None)], None, 2)
            .expect("store");
        assert_eq!(
            (
                again.new,
                again.updated,
                again.unchanged,
                again.customers_created
            ),
            (0, 0, 1, 0)
        );
        let mut changed = order("#1", Some("dana@x.test"), None);
        changed.fulfillment_status = Some("fulfilled".into());
        changed.lines.push(OrderLine {
            sku: None,
            title: "Plate".into(),
            quantity: 1,
            price_minor: None,
        });
        let update = store.store_orders(&[changed], None, 3).expect("store");
        assert_eq!((update.new, update.updated, update.unchanged), (0, 1, 0));
        assert_eq!(count(&store, "SELECT count(*) FROM orders"), 1);
        assert_eq!(count(&store, "SELECT count(*) FROM order_lines"), 2);
        let rows = store.orders(None).expect("orders");
        assert_eq!(rows[0].fulfillment_status.as_deref(), Some("fulfilled"));
        assert_eq!(
            rows[0]
                .lines
                .iter()
                .map(|l| l.title.as_str())
                .collect::<Vec<_>>(),
            ["Mug", "Plate"]
        );
        assert_eq!(rows[0].email.as_deref(), Some("dana@x.test"));
    }

    /// The buyer is found by email, then by E.164 phone (a national number read in the
    /// default region); a customer known by the email and another by the phone merge.
    #[test]
    fn links_by_email_then_phone_and_merges_on_proof() {
        let mut store = Store::open_in_memory().expect("store");
        store
            .store_orders(&[order("#1", Some("a@x.test"), None)], None, 1)
            .expect("email buyer");
        store
            .store_orders(&[order("#2", None, Some("+972 50-123-4567"))], None, 2)
            .expect("phone buyer");
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM customers WHERE merged_into IS NULL"
            ),
            2
        );
        let report = store
            .store_orders(
                &[order("#3", Some("A@x.test"), Some("050-1234567"))],
                Some("IL"),
                3,
            )
            .expect("both");
        assert_eq!((report.customers_merged, report.customers_created), (1, 0));
        assert_eq!(
            count(
                &store,
                "SELECT count(*) FROM customers WHERE merged_into IS NULL"
            ),
            1
        );
        let live: i64 = count(&store, "SELECT id FROM customers WHERE merged_into IS NULL");
        let mine = store.orders(Some(CustomerId(live))).expect("orders");
        assert_eq!(
            mine.iter().map(|o| o.number.as_str()).collect::<Vec<_>>(),
            ["#3", "#2", "#1"]
        );
        assert_eq!(mine[0].phone.as_deref(), Some("+972501234567"));
        // Asking by the absorbed customer's id gives the same orders.
        let absorbed = count(
            &store,
            "SELECT id FROM customers WHERE merged_into IS NOT NULL",
        );
        assert_eq!(
            store
                .orders(Some(CustomerId(absorbed)))
                .expect("orders")
                .len(),
            3
        );
    }

    /// A phone that cannot be normalised is kept on the order as written but proves no
    /// identity; an order with neither email nor phone stays unlinked.
    #[test]
    fn unprovable_buyers_stay_apart() {
        let mut store = Store::open_in_memory().expect("store");
        store
            .store_orders(
                &[
                    order("#1", None, Some("050-1234567")),
                    order("#2", None, None),
                ],
                None,
                1,
            )
            .expect("store");
        let rows = store.orders(None).expect("orders");
        assert!(rows.iter().all(|o| o.customer_id.is_none()), "{rows:?}");
        assert_eq!(
            rows.iter()
                .find(|o| o.number == "#1")
                .and_then(|o| o.phone.as_deref()),
            Some("050-1234567")
        );
        assert_eq!(count(&store, "SELECT count(*) FROM customers"), 0);
    }

    /// A customer named only by their address takes the name from the order.
    #[test]
    fn order_names_a_nameless_customer() {
        let mut store = Store::open_in_memory().expect("store");
        store
            .conn
            .execute_batch(
                "INSERT INTO customers(id, name, created_at, updated_at) VALUES (7, 'dana@x.test', 0, 0);
                 INSERT INTO identities(customer_id, kind, value, created_at) VALUES (7, 'email', 'dana@x.test', 0);",
            )
            .expect("seed");
        store
            .store_orders(&[order("#1", Some("dana@x.test"), None)], None, 1)
            .expect("store");
        let name: String = store
            .conn
            .query_row("SELECT name FROM customers WHERE id = 7", [], |r| r.get(0))
            .expect("name");
        assert_eq!(name, "Dana Levi");
    }
}
