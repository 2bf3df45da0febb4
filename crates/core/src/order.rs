//! An order as the rest of Shopdesk sees it, after reading a shop's CSV export
//! (crates/ingest) and before storing and linking it to a customer (crates/store).

use crate::Millis;

/// One line item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrderLine {
    pub sku: Option<String>,
    pub title: String,
    pub quantity: i64,
    /// Unit price in minor units (cents, agorot, grosze).
    pub price_minor: Option<i64>,
}

/// One order with its lines. Money in minor units of `currency`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ParsedOrder {
    /// shopify | woocommerce
    pub source: String,
    /// The shop's order number as shown to the customer, e.g. `#1001`.
    pub number: String,
    pub email: Option<String>,
    /// As written in the export; the store normalises it to E.164.
    pub phone: Option<String>,
    /// The billing (else shipping) name.
    pub name: Option<String>,
    pub currency: Option<String>,
    pub total_minor: Option<i64>,
    pub financial_status: Option<String>,
    pub fulfillment_status: Option<String>,
    pub created_at: Millis,
    pub fulfilled_at: Option<Millis>,
    pub cancelled_at: Option<Millis>,
    pub lines: Vec<OrderLine>,
    /// 1-based line of the order's first row in the file, for problem reports.
    pub line: usize,
}
