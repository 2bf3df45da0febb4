//! Order CSV exports: Shopify's admin export and the common WooCommerce export plugins
//! (Advanced Order Export, Customer/Order/Coupon Export, WP All Export style headers), or
//! any layout described by a [`ColumnMapping`].
//!
//! Columns are found by their header name (case, spaces and punctuation ignored), never by
//! position: export plugins add, drop and reorder columns. One row per line item (order
//! fields on the first row, as Shopify writes them, or repeated on every row) or one row
//! per order. A row that cannot be read (a bad date, a bad number) becomes a problem with
//! its file line and the rest of the file is kept; a file whose columns are not an order
//! export at all is refused with the headers found and the ones expected.

use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use shopdesk_core::Millis;
use shopdesk_core::order::{OrderLine, ParsedOrder};
use std::collections::HashMap;

/// Which export the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderFormat {
    Shopify,
    Woocommerce,
    /// Decided from the headers.
    Auto,
}

impl OrderFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderFormat::Shopify => "shopify",
            OrderFormat::Woocommerce => "woocommerce",
            OrderFormat::Auto => "auto",
        }
    }
}

impl std::str::FromStr for OrderFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "shopify" => Ok(OrderFormat::Shopify),
            "woocommerce" | "woo" => Ok(OrderFormat::Woocommerce),
            "auto" => Ok(OrderFormat::Auto),
            other => Err(format!(
                "unknown order format {other:?} (expected shopify, woocommerce or auto)"
            )),
        }
    }
}

/// How to read day and month in dates written with slashes or dots (`01/02/2024`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    Dmy,
    Mdy,
}

/// A mapping file for a layout this module does not know: which header holds which field.
/// Fields left out are looked up under the usual Shopify/WooCommerce names.
///
/// ```json
/// {"number": "Zamówienie", "created_at": "Data", "email": "E-mail", "item_name": "Produkt"}
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    pub number: Option<String>,
    pub created_at: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The buyer's full name.
    pub name: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub currency: Option<String>,
    pub total: Option<String>,
    pub financial_status: Option<String>,
    /// The order's progress (WooCommerce's single "status" goes here).
    #[serde(alias = "status")]
    pub fulfillment_status: Option<String>,
    pub fulfilled_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub item_name: Option<String>,
    pub item_quantity: Option<String>,
    /// Unit price of the line item.
    pub item_price: Option<String>,
    pub item_sku: Option<String>,
    /// The order source stored with the orders (their numbers are unique per source);
    /// default: the format (`woocommerce` for an unknown layout).
    pub source: Option<String>,
    /// For `01/02/2024`-style dates; inferred from the file when absent.
    pub date_order: Option<DateOrder>,
}

impl ColumnMapping {
    /// Reads a mapping file (a JSON object of field → header name).
    pub fn from_json(bytes: &[u8]) -> Result<ColumnMapping, OrdersError> {
        let mapping: ColumnMapping =
            serde_json::from_slice(bytes).map_err(|e| OrdersError::Mapping {
                line: Some(e.line()),
                message: e.to_string(),
            })?;
        if !ALL_FIELDS.iter().any(|f| mapped(&mapping, *f).is_some()) {
            return Err(OrdersError::Mapping {
                line: None,
                message: "it names no column (expected keys such as \"number\", \"created_at\", \"email\")".into(),
            });
        }
        Ok(mapping)
    }
}

/// A row (or an order) that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrderProblem {
    /// 1-based line of the file where the row starts.
    pub line: usize,
    pub message: String,
}

/// What a file gave: its orders in file order and what could not be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OrdersFile {
    /// The format the file was read as (never `Auto`).
    pub format: OrderFormat,
    pub orders: Vec<ParsedOrder>,
    pub problems: Vec<OrderProblem>,
}

/// The file is not an order export this module can read.
/// The file is not an order export this module can read. [`OrdersError::line`] says
/// where, for a `file:line` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrdersError {
    #[error("not a CSV file: {reason}")]
    NotCsv { line: usize, reason: String },
    #[error("the file is empty (no header line)")]
    Empty,
    #[error(
        "the columns are not {expected_format}: no {missing} column (expected one of: {expected}); \
         columns found: {found}. Name your columns in a mapping file and pass --mapping FILE"
    )]
    UnknownColumns {
        expected_format: &'static str,
        missing: &'static str,
        expected: String,
        found: String,
    },
    #[error(
        "the mapping file names the column {column:?}, which this file does not have; columns found: {found}"
    )]
    MappingColumn { column: String, found: String },
    /// The mapping file itself is unreadable (`line` in the mapping file).
    #[error("not a mapping file: {message}")]
    Mapping {
        line: Option<usize>,
        message: String,
    },
}

impl OrdersError {
    /// The 1-based line the error is about (in the mapping file for [`OrdersError::Mapping`]).
    pub fn line(&self) -> Option<usize> {
        match self {
            OrdersError::NotCsv { line, .. } => Some(*line),
            OrdersError::Empty => None,
            OrdersError::UnknownColumns { .. } | OrdersError::MappingColumn { .. } => Some(1),
            OrdersError::Mapping { line, .. } => *line,
        }
    }
}

/// The fields an order export can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Number,
    CreatedAt,
    Email,
    Phone,
    Phone2,
    Phone3,
    Name,
    Name2,
    FirstName,
    LastName,
    ShipFirstName,
    ShipLastName,
    Currency,
    Total,
    FinancialStatus,
    FulfillmentStatus,
    FulfilledAt,
    CancelledAt,
    ItemName,
    ItemQuantity,
    ItemPrice,
    ItemSku,
}

const FIELDS: usize = 22;

/// Header names (normalised by [`norm`]) each field is found under, best first.
fn aliases(format: OrderFormat, field: Field) -> &'static [&'static str] {
    use Field::*;
    match format {
        OrderFormat::Shopify => match field {
            Number => &["name"],
            CreatedAt => &["created at", "processed at"],
            Email => &["email"],
            Phone => &["phone"],
            Phone2 => &["billing phone"],
            Phone3 => &["shipping phone"],
            Name => &["billing name"],
            Name2 => &["shipping name"],
            FirstName => &["billing first name"],
            LastName => &["billing last name"],
            ShipFirstName => &["shipping first name"],
            ShipLastName => &["shipping last name"],
            Currency => &["currency"],
            Total => &["total"],
            FinancialStatus => &["financial status"],
            FulfillmentStatus => &["fulfillment status"],
            FulfilledAt => &["fulfilled at"],
            CancelledAt => &["cancelled at"],
            ItemName => &["lineitem name"],
            ItemQuantity => &["lineitem quantity"],
            ItemPrice => &["lineitem price"],
            ItemSku => &["lineitem sku"],
        },
        // Advanced Order Export ("Order Number", "Email (Billing)"), Customer/Order/Coupon
        // Export (`order_number`, `billing_email`), WP All Export ("Billing Email Address").
        _ => match field {
            Number => &[
                "order number",
                "order number formatted",
                "order id",
                "order no",
                "order",
                "id",
            ],
            CreatedAt => &[
                "order date",
                "date created",
                "order created",
                "created at",
                "date",
                "created",
            ],
            Email => &[
                "billing email",
                "email billing",
                "billing email address",
                "customer email",
                "email",
            ],
            Phone => &[
                "billing phone",
                "phone billing",
                "billing phone number",
                "customer phone",
                "phone",
            ],
            Phone2 => &["shipping phone", "phone shipping"],
            Phone3 => &[],
            Name => &[
                "billing full name",
                "full name billing",
                "billing name",
                "customer name",
            ],
            Name2 => &["shipping full name", "full name shipping", "shipping name"],
            FirstName => &["billing first name", "first name billing"],
            LastName => &["billing last name", "last name billing"],
            ShipFirstName => &["shipping first name", "first name shipping"],
            ShipLastName => &["shipping last name", "last name shipping"],
            Currency => &["order currency", "currency"],
            Total => &[
                "order total",
                "order total amount",
                "total",
                "order total amount refund",
            ],
            FinancialStatus => &["payment status", "financial status"],
            FulfillmentStatus => &["order status", "status"],
            FulfilledAt => &[
                "completed date",
                "date completed",
                "completed at",
                "order completed date",
            ],
            CancelledAt => &["cancelled date", "date cancelled", "cancelled at"],
            ItemName => &[
                "item name",
                "product name",
                "line item name",
                "name",
                "item",
            ],
            ItemQuantity => &[
                "quantity",
                "item quantity",
                "qty",
                "quantity refund",
                "item qty",
            ],
            ItemPrice => &["item cost", "item price", "cost", "price", "unit price"],
            ItemSku => &["sku", "item sku", "product sku"],
        },
    }
}

const ALL_FIELDS: [Field; FIELDS] = {
    use Field::*;
    [
        Number,
        CreatedAt,
        Email,
        Phone,
        Phone2,
        Phone3,
        Name,
        Name2,
        FirstName,
        LastName,
        ShipFirstName,
        ShipLastName,
        Currency,
        Total,
        FinancialStatus,
        FulfillmentStatus,
        FulfilledAt,
        CancelledAt,
        ItemName,
        ItemQuantity,
        ItemPrice,
        ItemSku,
    ]
};

fn mapped(mapping: &ColumnMapping, field: Field) -> Option<&str> {
    use Field::*;
    let m = mapping;
    match field {
        Number => m.number.as_deref(),
        CreatedAt => m.created_at.as_deref(),
        Email => m.email.as_deref(),
        Phone => m.phone.as_deref(),
        Name => m.name.as_deref(),
        FirstName => m.first_name.as_deref(),
        LastName => m.last_name.as_deref(),
        Currency => m.currency.as_deref(),
        Total => m.total.as_deref(),
        FinancialStatus => m.financial_status.as_deref(),
        FulfillmentStatus => m.fulfillment_status.as_deref(),
        FulfilledAt => m.fulfilled_at.as_deref(),
        CancelledAt => m.cancelled_at.as_deref(),
        ItemName => m.item_name.as_deref(),
        ItemQuantity => m.item_quantity.as_deref(),
        ItemPrice => m.item_price.as_deref(),
        ItemSku => m.item_sku.as_deref(),
        Phone2 | Phone3 | Name2 | ShipFirstName | ShipLastName => None,
    }
}

/// A header as compared: lower case, every run of non-alphanumerics one space.
fn norm(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    for c in header.trim_start_matches('\u{FEFF}').chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Where each field is in a row.
struct Columns([Option<usize>; FIELDS]);

impl Columns {
    fn get(&self, f: Field) -> Option<usize> {
        self.0[f as usize]
    }

    fn resolve(
        headers: &[String],
        format: OrderFormat,
        mapping: Option<&ColumnMapping>,
    ) -> Result<Columns, OrdersError> {
        let normed: Vec<String> = headers.iter().map(|h| norm(h)).collect();
        let find = |name: &str| normed.iter().position(|h| h == name);
        let mut cols = [None; FIELDS];
        for field in ALL_FIELDS {
            if let Some(wanted) = mapping.and_then(|m| mapped(m, field)) {
                let idx = find(&norm(wanted)).ok_or_else(|| OrdersError::MappingColumn {
                    column: wanted.to_owned(),
                    found: list_headers(headers),
                })?;
                cols[field as usize] = Some(idx);
                continue;
            }
            cols[field as usize] = aliases(format, field).iter().find_map(|a| find(a));
        }
        let cols = Columns(cols);
        let expected_format = match (mapping.is_some(), format) {
            (true, _) => "what the mapping file describes",
            (false, OrderFormat::Shopify) => "a Shopify order export",
            (false, _) => "a WooCommerce order export",
        };
        for (field, missing) in [
            (Field::Number, "order number"),
            (Field::CreatedAt, "order date"),
        ] {
            if cols.get(field).is_none() {
                return Err(OrdersError::UnknownColumns {
                    expected_format,
                    missing,
                    expected: expected_names(format, field),
                    found: list_headers(headers),
                });
            }
        }
        Ok(cols)
    }
}

fn expected_names(format: OrderFormat, field: Field) -> String {
    let formats: &[OrderFormat] = match format {
        OrderFormat::Auto => &[OrderFormat::Shopify, OrderFormat::Woocommerce],
        _ => std::slice::from_ref(&format),
    };
    let mut names: Vec<String> = Vec::new();
    for f in formats {
        for a in aliases(*f, field) {
            let titled = title(a);
            if !names.contains(&titled) {
                names.push(titled);
            }
        }
    }
    names.join(", ")
}

fn title(normed: &str) -> String {
    let mut c = normed.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The headers for an error message, shortened so a binary or a huge line stays readable.
fn list_headers(headers: &[String]) -> String {
    const MAX: usize = 40;
    let mut shown: Vec<String> = headers
        .iter()
        .take(MAX)
        .map(|h| {
            let h = h.trim_start_matches('\u{FEFF}');
            match h.char_indices().nth(60) {
                Some((cut, _)) => format!("{:?}…", &h[..cut]),
                None => format!("{h:?}"),
            }
        })
        .collect();
    if headers.len() > MAX {
        shown.push(format!("… ({} in all)", headers.len()));
    }
    shown.join(", ")
}

/// The format a file's headers show; `None` when they are neither.
fn detect(headers: &[String]) -> Option<OrderFormat> {
    let normed: Vec<String> = headers.iter().map(|h| norm(h)).collect();
    let has = |n: &str| normed.iter().any(|h| h == n);
    if has("name") && (has("lineitem name") || has("financial status") || has("fulfillment status"))
    {
        return Some(OrderFormat::Shopify);
    }
    let woo = |field| {
        aliases(OrderFormat::Woocommerce, field)
            .iter()
            .any(|a| has(a))
    };
    (woo(Field::Number) && woo(Field::CreatedAt)).then_some(OrderFormat::Woocommerce)
}

/// Reads an order export. `tz` is the shop's zone, for times written without an offset.
pub fn parse_orders(
    bytes: &[u8],
    format: OrderFormat,
    mapping: Option<&ColumnMapping>,
    tz: &TimeZone,
) -> Result<OrdersFile, OrdersError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Text never holds NUL: anywhere in the file it means binary data (or a file cut into
    // another), refused whole rather than imported in part.
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
        return Err(OrdersError::NotCsv {
            line,
            reason: "binary data (a NUL byte)".into(),
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(bytes))
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let headers: Vec<String> = match records.next() {
        Some(Ok(r)) => r
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect(),
        Some(Err(e)) => {
            return Err(OrdersError::NotCsv {
                line: 1,
                reason: e.to_string(),
            });
        }
        None => return Err(OrdersError::Empty),
    };
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(OrdersError::Empty);
    }
    let format = match format {
        OrderFormat::Auto => match (detect(&headers), mapping) {
            (Some(f), _) => f,
            (None, Some(_)) => OrderFormat::Woocommerce,
            (None, None) => {
                let field = match detect_missing(&headers) {
                    Some(f) => f,
                    None => Field::Number,
                };
                return Err(OrdersError::UnknownColumns {
                    expected_format: "a Shopify or WooCommerce order export",
                    missing: if field == Field::Number {
                        "order number"
                    } else {
                        "order date"
                    },
                    expected: expected_names(OrderFormat::Auto, field),
                    found: list_headers(&headers),
                });
            }
        },
        f => f,
    };
    let cols = Columns::resolve(&headers, format, mapping)?;
    let source = mapping
        .and_then(|m| m.source.clone())
        .unwrap_or_else(|| format.as_str().to_owned());

    let mut rows = Vec::new();
    let mut problems = Vec::new();
    let mut lines = LineCounter {
        bytes,
        at: 0,
        line: 1,
    };
    // Rows with bytes that are not UTF-8 (an export saved in a legacy code page): the
    // first one's line and how many, said once rather than once per row.
    let (mut not_utf8, mut first_not_utf8) = (0usize, 0usize);
    for record in records {
        match record {
            Ok(r) => {
                let line = r.position().map_or(0, |p| lines.line_at(p.byte()));
                let mut clean = true;
                let fields = r.iter().map(|f| decode(f, &mut clean)).collect();
                if !clean {
                    not_utf8 += 1;
                    if first_not_utf8 == 0 {
                        first_not_utf8 = line;
                    }
                }
                rows.push(Row { line, fields });
            }
            // With `flexible` the reader only fails on I/O, which a byte slice never does;
            // keep going rather than lose the file.
            Err(e) => problems.push(OrderProblem {
                line: e.position().map_or(0, |p| lines.line_at(p.byte())),
                message: e.to_string(),
            }),
        }
    }
    if not_utf8 > 0 {
        problems.push(OrderProblem {
            line: first_not_utf8,
            message: format!(
                "not UTF-8 text ({not_utf8} rows from here on): unreadable bytes were replaced \
                 (save the export as UTF-8)"
            ),
        });
    }
    let date_order = mapping
        .and_then(|m| m.date_order)
        .or_else(|| infer_date_order(&rows, &cols));
    let ctx = Ctx {
        cols: &cols,
        tz,
        date_order,
        format,
    };
    let mut out = Builder::default();
    for row in &rows {
        out.add(&ctx, row, &source, &mut problems);
    }
    let mut orders = out.finish();
    orders.sort_by_key(|o| o.line);
    problems.sort_by_key(|p| p.line);
    if date_order.is_none() && out_has_ambiguous(&rows, &cols) {
        problems.insert(
            0,
            OrderProblem {
                line: 1,
                message:
                    "dates such as 01/02/2024 could be day/month or month/day; read as month/day \
                          (set \"date_order\": \"dmy\" in a mapping file to change it)"
                        .into(),
            },
        );
    }
    Ok(OrdersFile {
        format,
        orders,
        problems,
    })
}

/// Which required field is missing when the format could not be told.
fn detect_missing(headers: &[String]) -> Option<Field> {
    let normed: Vec<String> = headers.iter().map(|h| norm(h)).collect();
    let has_any = |field| {
        [OrderFormat::Shopify, OrderFormat::Woocommerce]
            .iter()
            .any(|f| {
                aliases(*f, field)
                    .iter()
                    .any(|a| normed.iter().any(|h| h == a))
            })
    };
    if !has_any(Field::Number) {
        Some(Field::Number)
    } else if !has_any(Field::CreatedAt) {
        Some(Field::CreatedAt)
    } else {
        None
    }
}

/// File lines of record starts. csv's own line count lags by one after a CRLF (the `\n`
/// is consumed with the next record), so lines are counted here from byte offsets.
struct LineCounter<'a> {
    bytes: &'a [u8],
    at: usize,
    line: usize,
}

impl LineCounter<'_> {
    /// The line of the first byte at or after `offset` that is not a line break (records
    /// are read in order, so each call only counts the bytes since the last).
    fn line_at(&mut self, offset: u64) -> usize {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while matches!(self.bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start >= self.at {
            self.line += self.bytes[self.at..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.at = start;
        }
        self.line
    }
}

/// `,`, `;` or tab: whichever the header line uses most (European spreadsheets write `;`).
fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or(bytes);
    let count = |d: u8| first.iter().filter(|&&b| b == d).count();
    let (comma, semi, tab) = (count(b','), count(b';'), count(b'\t'));
    if semi > comma && semi >= tab {
        b';'
    } else if tab > comma && tab > semi {
        b'\t'
    } else {
        b','
    }
}

fn decode(field: &[u8], clean: &mut bool) -> String {
    match std::str::from_utf8(field) {
        Ok(s) => s.to_owned(),
        Err(_) => {
            *clean = false;
            String::from_utf8_lossy(field).into_owned()
        }
    }
}

struct Row {
    line: usize,
    fields: Vec<String>,
}

impl Row {
    fn at(&self, idx: Option<usize>) -> Option<&str> {
        idx.and_then(|i| self.fields.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
}

struct Ctx<'a> {
    cols: &'a Columns,
    tz: &'a TimeZone,
    date_order: Option<DateOrder>,
    format: OrderFormat,
}

impl Ctx<'_> {
    fn get<'r>(&self, row: &'r Row, f: Field) -> Option<&'r str> {
        row.at(self.cols.get(f))
    }

    fn when(&self, s: &str) -> Result<Millis, String> {
        parse_when(s, self.tz, self.date_order.unwrap_or(DateOrder::Mdy))
    }
}

/// Orders being assembled, in order of first appearance, indexed by number.
#[derive(Default)]
struct Builder {
    orders: Vec<Option<ParsedOrder>>,
    by_number: HashMap<String, usize>,
}

impl Builder {
    fn add(&mut self, ctx: &Ctx<'_>, row: &Row, source: &str, problems: &mut Vec<OrderProblem>) {
        if row.fields.iter().all(|f| f.trim().is_empty()) {
            return;
        }
        let problem = |problems: &mut Vec<OrderProblem>, message: String| {
            problems.push(OrderProblem {
                line: row.line,
                message,
            })
        };
        let Some(number) = ctx.get(row, Field::Number) else {
            problem(problems, "no order number; row skipped".into());
            return;
        };
        let slot = match self.by_number.get(number) {
            Some(&i) => i,
            None => {
                let order = first_row(ctx, row, number, source, problems);
                self.orders.push(order);
                self.by_number
                    .insert(number.to_owned(), self.orders.len() - 1);
                self.orders.len() - 1
            }
        };
        // Rows of an order that failed are not reported again: its first row said why.
        let Some(order) = self.orders.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        let (line, message) = line_item(ctx, row);
        order.lines.extend(line);
        if let Some(message) = message {
            problem(problems, format!("order {number}: {message}"));
        }
    }

    fn finish(self) -> Vec<ParsedOrder> {
        self.orders.into_iter().flatten().collect()
    }
}

/// The order fields of an order's first row; `None` (and a problem) when its date cannot
/// be read, since an order without a date cannot be placed on a timeline.
fn first_row(
    ctx: &Ctx<'_>,
    row: &Row,
    number: &str,
    source: &str,
    problems: &mut Vec<OrderProblem>,
) -> Option<ParsedOrder> {
    let mut problem = |message: String| {
        problems.push(OrderProblem {
            line: row.line,
            message,
        })
    };
    let created_at = match ctx.get(row, Field::CreatedAt).map(|s| ctx.when(s)) {
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            problem(format!("order {number}: order date {e}; order skipped"));
            return None;
        }
        None => {
            problem(format!("order {number}: no order date; order skipped"));
            return None;
        }
    };
    let mut optional_time =
        |field: Field, what: &str| match ctx.get(row, field).map(|s| ctx.when(s)) {
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                problem(format!("order {number}: {what} {e}; left empty"));
                None
            }
            None => None,
        };
    let fulfilled_at = optional_time(Field::FulfilledAt, "fulfilment date");
    let cancelled_at = optional_time(Field::CancelledAt, "cancellation date");
    let currency = ctx.get(row, Field::Currency).map(str::to_ascii_uppercase);
    let exponent = minor_digits(currency.as_deref());
    let total_minor = match ctx.get(row, Field::Total).map(|s| parse_money(s, exponent)) {
        Some(Ok(v)) => Some(v),
        Some(Err(e)) => {
            problem(format!("order {number}: total {e}; left empty"));
            None
        }
        None => None,
    };
    let email = match ctx.get(row, Field::Email) {
        Some(e) if e.contains('@') && !e.chars().any(char::is_whitespace) => Some(e.to_owned()),
        Some(e) => {
            problem(format!(
                "order {number}: {e:?} is not an email address; left empty"
            ));
            None
        }
        None => None,
    };
    let phone = [Field::Phone, Field::Phone2, Field::Phone3]
        .iter()
        .find_map(|f| ctx.get(row, *f))
        .map(str::to_owned);
    let joined = |first: Field, last: Field| {
        let parts: Vec<&str> = [ctx.get(row, first), ctx.get(row, last)]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    };
    let name = ctx
        .get(row, Field::Name)
        .map(str::to_owned)
        .or_else(|| joined(Field::FirstName, Field::LastName))
        .or_else(|| ctx.get(row, Field::Name2).map(str::to_owned))
        .or_else(|| joined(Field::ShipFirstName, Field::ShipLastName));
    let status = |f: Field| ctx.get(row, f).map(|s| normalise_status(ctx.format, s));
    Some(ParsedOrder {
        source: source.to_owned(),
        number: number.to_owned(),
        email,
        phone,
        name,
        currency,
        total_minor,
        financial_status: status(Field::FinancialStatus),
        fulfillment_status: status(Field::FulfillmentStatus),
        created_at,
        fulfilled_at,
        cancelled_at,
        lines: Vec::new(),
        line: row.line,
    })
}

/// WooCommerce writes statuses as labels ("Completed", "On hold") or slugs ("wc-on-hold");
/// both become the slug without its prefix so re-imports from either plugin agree.
fn normalise_status(format: OrderFormat, s: &str) -> String {
    let lower = s.trim().to_lowercase();
    match format {
        OrderFormat::Shopify => lower,
        _ => lower
            .strip_prefix("wc-")
            .unwrap_or(&lower)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("-"),
    }
}

/// The row's line item, if it has one, and what was wrong with the row. When the straight
/// reading fails and the name is missing, the row is tried one column to either side: a
/// stray or missing separator earlier in the row shifts every column after it (the Shopify
/// corpus template has such a row). A shifted reading is kept, and said.
fn line_item(ctx: &Ctx<'_>, row: &Row) -> (Option<OrderLine>, Option<String>) {
    let err = match read_item(ctx, row, 0) {
        Ok(item) => return (item, None),
        Err(e) => e,
    };
    if ctx.get(row, Field::ItemName).is_none() {
        for shift in [1isize, -1] {
            if let Ok(Some(item)) = read_item(ctx, row, shift)
                && parse_quantity(&item.title).is_none()
                && parse_money(&item.title, 2).is_err()
            {
                let side = if shift > 0 { "right" } else { "left" };
                let message = format!(
                    "{err}; the row looks shifted one column to the {side} (a stray separator?): \
                     the line item was read as {:?} × {}",
                    item.title, item.quantity
                );
                return (Some(item), Some(message));
            }
        }
    }
    (None, Some(format!("{err}; line item skipped")))
}

fn read_item(ctx: &Ctx<'_>, row: &Row, shift: isize) -> Result<Option<OrderLine>, String> {
    let at = |f: Field| row.at(ctx.cols.get(f).and_then(|i| i.checked_add_signed(shift)));
    let (name, qty, price, sku) = (
        at(Field::ItemName),
        at(Field::ItemQuantity),
        at(Field::ItemPrice),
        at(Field::ItemSku),
    );
    if name.is_none() && qty.is_none() && price.is_none() {
        return Ok(None);
    }
    let quantity = match qty {
        Some(q) => {
            parse_quantity(q).ok_or_else(|| format!("quantity {q:?} is not a whole number"))?
        }
        None => 1,
    };
    let currency = ctx.get(row, Field::Currency).map(str::to_ascii_uppercase);
    let price_minor = match price {
        Some(p) => Some(
            parse_money(p, minor_digits(currency.as_deref())).map_err(|e| format!("price {e}"))?,
        ),
        None => None,
    };
    let title = name.ok_or_else(|| "a line item without a name".to_owned())?;
    Ok(Some(OrderLine {
        sku: sku.map(str::to_owned),
        title: title.to_owned(),
        quantity,
        price_minor,
    }))
}

/// `3`, `+3`, `3.0` (spreadsheets): a whole number.
fn parse_quantity(s: &str) -> Option<i64> {
    let s = s.trim();
    let (int, frac) = s.split_once(['.', ',']).unwrap_or((s, ""));
    if !frac.chars().all(|c| c == '0') {
        return None;
    }
    let digits = int.strip_prefix('+').unwrap_or(int);
    let (neg, digits) = match digits.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, digits),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = digits.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// Digits after the decimal point in a currency (ISO 4217); 2 when unknown.
pub fn minor_digits(currency: Option<&str>) -> u32 {
    match currency.unwrap_or("") {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// A decimal amount as written in an export (`1,234.50`, `12.5`, `1.234,50`, `$10`,
/// `120 zł`, `-3`) in minor units with `exponent` decimals, without floating point.
/// Digits beyond the currency's are rounded half away from zero (computed net prices).
pub fn parse_money(s: &str, exponent: u32) -> Result<i64, String> {
    let bad = || format!("{s:?} is not an amount");
    // Currency symbols and codes around the number, and spaces inside it (1 234,50).
    let core = s.trim_matches(|c: char| {
        !(c.is_ascii_digit() || c == '-' || c == '+' || c == '.' || c == ',')
    });
    let (neg, core) = match core.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, core.strip_prefix('+').unwrap_or(core)),
    };
    let cleaned: String = core
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{00A0}' | '\u{202F}' | '\''))
        .collect();
    if cleaned.is_empty()
        || !cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return Err(bad());
    }
    let last_dot = cleaned.rfind('.');
    let last_comma = cleaned.rfind(',');
    let decimal = match (last_dot, last_comma) {
        (Some(d), Some(c)) => Some(d.max(c)),
        (Some(d), None) => (cleaned.matches('.').count() == 1).then_some(d),
        // One comma followed by exactly three digits groups thousands; otherwise it is
        // the decimal comma of European exports (`12,50`).
        (None, Some(c)) => {
            (cleaned.matches(',').count() == 1 && cleaned.len() - c - 1 != 3).then_some(c)
        }
        (None, None) => None,
    };
    let (int_part, frac_part) = match decimal {
        Some(i) => (&cleaned[..i], &cleaned[i + 1..]),
        None => (cleaned.as_str(), ""),
    };
    // Grouping must look like grouping: 1-3 digits, then groups of exactly three.
    let mut groups = int_part.split(['.', ',']);
    let grouped_ok = groups
        .next()
        .is_some_and(|g| g.len() <= 3 || !int_part.contains(['.', ',']))
        && groups.all(|g| g.len() == 3);
    let separators: Vec<char> = int_part.chars().filter(|c| !c.is_ascii_digit()).collect();
    let one_grouping = separators.windows(2).all(|w| w[0] == w[1]);
    let decimal_char = decimal.and_then(|i| cleaned[i..].chars().next());
    let int_digits: String = int_part.chars().filter(char::is_ascii_digit).collect();
    if frac_part.contains(['.', ','])
        || !grouped_ok
        || !one_grouping
        || separators.first().is_some_and(|c| Some(*c) == decimal_char)
        || (int_digits.is_empty() && frac_part.is_empty())
    {
        return Err(bad());
    }
    let too_large = || format!("{s:?} is too large");
    let scale = 10i64.checked_pow(exponent).ok_or_else(too_large)?;
    let int: i64 = if int_digits.is_empty() {
        0
    } else {
        int_digits.parse().map_err(|_| too_large())?
    };
    let mut frac: i64 = 0;
    let mut digits = frac_part.bytes();
    for _ in 0..exponent {
        frac = frac * 10 + digits.next().map_or(0, |b| i64::from(b - b'0'));
    }
    if digits.next().is_some_and(|b| b >= b'5') {
        frac += 1;
    }
    let value = int
        .checked_mul(scale)
        .and_then(|v| v.checked_add(frac))
        .ok_or_else(too_large)?;
    Ok(if neg { -value } else { value })
}

/// Day-first or month-first, from the slashed/dotted dates of the order-date column: a
/// first number over 12 proves day-first, a second one month-first.
fn infer_date_order(rows: &[Row], cols: &Columns) -> Option<DateOrder> {
    for row in rows {
        for field in [Field::CreatedAt, Field::FulfilledAt, Field::CancelledAt] {
            if let Some((a, b, _)) = row.at(cols.get(field)).and_then(numeric_date) {
                if a > 12 {
                    return Some(DateOrder::Dmy);
                }
                if b > 12 {
                    return Some(DateOrder::Mdy);
                }
            }
        }
    }
    None
}

fn out_has_ambiguous(rows: &[Row], cols: &Columns) -> bool {
    rows.iter().any(|r| {
        r.at(cols.get(Field::CreatedAt))
            .and_then(numeric_date)
            .is_some_and(|(a, b, _)| a != b)
    })
}

/// `01/02/2024` or `1.2.2024` (the date part only): the three numbers, year last.
fn numeric_date(s: &str) -> Option<(u32, u32, u32)> {
    let date = s.split([' ', 'T', ',']).next()?;
    let mut parts = date.split(['/', '.', '-']);
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || c.len() != 4 || a.len() > 2 || b.len() > 2 {
        return None;
    }
    Some((a.parse().ok()?, b.parse().ok()?, c.parse().ok()?))
}

/// A date and time as exports write them: `2017-04-21 15:32:38 -0400`, RFC 3339,
/// `2024-05-01 10:00:00` (no zone: the shop's `tz`), `2024-05-01`, `05/01/2024 10:00 PM`.
pub fn parse_when(s: &str, tz: &TimeZone, order: DateOrder) -> Result<Millis, String> {
    let bad = |why: &str| format!("{s:?} is not a date ({why})");
    let s = s.trim();
    let (date, rest) = match s.find([' ', 'T', 't']) {
        Some(i) => (&s[..i], s[i + 1..].trim_start_matches(',').trim()),
        None => (s, ""),
    };
    let (year, month, day) =
        parse_date(date, order).ok_or_else(|| bad("expected 2024-05-01 or 01/05/2024"))?;
    let (mut hour, mut minute, mut second, mut nanos) = (0, 0, 0, 0);
    let mut zone = rest;
    if !rest.is_empty() {
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
            .unwrap_or(rest.len());
        let (time, after) = rest.split_at(end);
        let mut parts = time.split(':');
        hour = num(parts.next()).ok_or_else(|| bad("bad hour"))?;
        minute = num(parts.next()).ok_or_else(|| bad("bad minute"))?;
        if let Some(sec) = parts.next() {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            second = num(Some(whole)).ok_or_else(|| bad("bad second"))?;
            let frac: String = frac.chars().take(9).collect();
            if !frac.is_empty() {
                let padded = format!("{frac:0<9}");
                nanos = padded.parse::<i32>().map_err(|_| bad("bad fraction"))?;
            }
        }
        if parts.next().is_some() {
            return Err(bad("bad time"));
        }
        zone = after.trim();
        let lower = zone.to_ascii_lowercase();
        let meridiem = ["am", "a.m.", "pm", "p.m."]
            .iter()
            .find(|m| lower.starts_with(*m));
        if let Some(m) = meridiem {
            if !(1..=12).contains(&hour) {
                return Err(bad("bad 12-hour time"));
            }
            hour = match (m.starts_with('p'), hour) {
                (false, 12) => 0,
                (true, 12) => 12,
                (true, h) => h + 12,
                (false, h) => h,
            };
            zone = zone[m.len()..].trim();
        }
    }
    let dt = DateTime::new(year, month, day, hour, minute, second, nanos)
        .map_err(|e| bad(&e.to_string()))?;
    let ts = match parse_offset(zone).ok_or_else(|| bad("unknown time zone"))? {
        Some(offset) => offset.to_timestamp(dt),
        None => tz.to_ambiguous_timestamp(dt).compatible(),
    }
    .map_err(|e| bad(&e.to_string()))?;
    Ok(ts.as_millisecond())
}

fn num<T: std::str::FromStr>(s: Option<&str>) -> Option<T> {
    let s = s?;
    (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn parse_date(date: &str, order: DateOrder) -> Option<(i16, i8, i8)> {
    let sep = date.chars().find(|c| matches!(c, '-' | '/' | '.'))?;
    let parts: Vec<&str> = date.split(sep).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    if a.len() == 4 {
        return Some((num(Some(a))?, num(Some(b))?, num(Some(c))?));
    }
    if c.len() != 4 {
        return None;
    }
    let (x, y): (i8, i8) = (num(Some(a))?, num(Some(b))?);
    let year = num(Some(c))?;
    Some(match order {
        DateOrder::Dmy => (year, y, x),
        DateOrder::Mdy => (year, x, y),
    })
}

/// `Z`, `UTC`, `GMT`, `+02:00`, `-0400`, `+05`: `Some(offset)`; empty: `Some(None)` (local);
/// anything else: `None`.
fn parse_offset(zone: &str) -> Option<Option<Offset>> {
    let z = zone.trim();
    if z.is_empty() {
        return Some(None);
    }
    if matches!(z.to_ascii_uppercase().as_str(), "Z" | "UTC" | "GMT") {
        return Some(Some(Offset::UTC));
    }
    let z = z
        .strip_prefix("UTC")
        .or_else(|| z.strip_prefix("GMT"))
        .unwrap_or(z);
    let sign = match z.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i32, i32) = match digits.len() {
        1 | 2 => (digits.parse().ok()?, 0),
        4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
        _ => return None,
    };
    if h > 18 || m > 59 {
        return None;
    }
    Offset::from_seconds(sign * (h * 3600 + m * 60))
        .ok()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    fn ts(s: &str) -> Millis {
        s.parse::<jiff::Timestamp>()
            .expect("timestamp")
            .as_millisecond()
    }

    /// Amounts become exact minor units whatever the grouping and decimal separators.
    #[test]
    fn money_is_exact() {
        assert_eq!(parse_money("1,234.50", 2), Ok(123_450));
        assert_eq!(parse_money("12.5", 2), Ok(1_250));
        assert_eq!(parse_money("10", 2), Ok(1_000));
        assert_eq!(parse_money("0.1", 2), Ok(10));
        assert_eq!(parse_money("1.234,50", 2), Ok(123_450));
        assert_eq!(parse_money("12,50", 2), Ok(1_250));
        assert_eq!(parse_money("1,234", 2), Ok(123_400));
        assert_eq!(parse_money("$19.99", 2), Ok(1_999));
        assert_eq!(parse_money("120 zł", 2), Ok(12_000));
        assert_eq!(parse_money("₪ 1 234,5", 2), Ok(123_450));
        assert_eq!(parse_money("-3.10", 2), Ok(-310));
        assert_eq!(parse_money("1500", 0), Ok(1_500));
        assert_eq!(parse_money("1.5", 3), Ok(1_500));
        assert_eq!(parse_money("8.264463", 2), Ok(826));
        assert_eq!(parse_money("8.265", 2), Ok(827));
        assert!(parse_money("abc", 2).is_err());
        assert!(parse_money("1.2.3,4,5", 2).is_err());
        assert!(parse_money("1,23,4.5", 2).is_err());
        assert_eq!(parse_money("1.234.567", 2), Ok(123_456_700));
        assert!(parse_money("99999999999999999999", 2).is_err());
        assert!(parse_money("", 2).is_err());
        // 0.1 + 0.2 in floats is not 0.3; here it is.
        assert_eq!(
            parse_money("0.1", 2).and_then(|a| parse_money("0.2", 2).map(|b| a + b)),
            parse_money("0.3", 2)
        );
    }

    /// Offsets are honoured; a time without one is the shop's local time.
    #[test]
    fn dates_with_and_without_offsets() {
        let mdy = DateOrder::Mdy;
        assert_eq!(
            parse_when("2017-04-21 15:32:38 -0400", &utc(), mdy),
            Ok(ts("2017-04-21T19:32:38Z"))
        );
        assert_eq!(
            parse_when("2024-05-01T10:00:00+02:00", &utc(), mdy),
            Ok(ts("2024-05-01T08:00:00Z"))
        );
        assert_eq!(
            parse_when("2024-05-01T10:00:00.250Z", &utc(), mdy),
            Ok(ts("2024-05-01T10:00:00.25Z"))
        );
        let jerusalem = TimeZone::fixed(jiff::tz::offset(3));
        assert_eq!(
            parse_when("2024-05-01 10:00:00", &jerusalem, mdy),
            Ok(ts("2024-05-01T07:00:00Z"))
        );
        assert_eq!(
            parse_when("2024-05-01 10:00", &utc(), mdy),
            Ok(ts("2024-05-01T10:00:00Z"))
        );
        assert_eq!(
            parse_when("2024-05-01", &utc(), mdy),
            Ok(ts("2024-05-01T00:00:00Z"))
        );
        assert_eq!(
            parse_when("05/01/2024 10:00 PM", &utc(), mdy),
            Ok(ts("2024-05-01T22:00:00Z"))
        );
        assert_eq!(
            parse_when("01/05/2024 12:15 am", &utc(), DateOrder::Dmy),
            Ok(ts("2024-05-01T00:15:00Z"))
        );
        assert_eq!(
            parse_when("2024-05-01 10:00:00 UTC", &jerusalem, mdy),
            Ok(ts("2024-05-01T10:00:00Z"))
        );
        for bad in [
            "yesterday",
            "2024-13-01",
            "2024-02-30 10:00",
            "2024-05-01 25:00",
            "2024-05-01 10:00 +99",
            "2024-05-01 10:00 Mars",
        ] {
            assert!(parse_when(bad, &utc(), mdy).is_err(), "{bad}");
        }
    }

    /// Headers match whatever their case, spacing and punctuation.
    #[test]
    fn headers_are_normalised() {
        assert_eq!(norm("\u{FEFF}Lineitem  Name "), "lineitem name");
        assert_eq!(norm("Email (Billing)"), "email billing");
        assert_eq!(norm("billing_email"), "billing email");
        assert_eq!(norm("Quantity (- Refund)"), "quantity refund");
    }

    /// Shopify: one row per line item, order fields on the first; columns found by name
    /// even when reordered; a failing row is a problem with its line, the rest kept.
    #[test]
    fn shopify_rows_group_into_orders() {
        let csv = "Lineitem quantity,Name,Email,Financial Status,Fulfillment Status,Currency,Total,Created at,Lineitem name,Lineitem price,Lineitem sku,Billing Name\n\
                   2,#1001,Dana@Example.test,paid,fulfilled,ILS,\"1,234.50\",2024-05-01 10:00:00 +0300,\"Mug, blue\",12.5,M-1,Dana Levi\n\
                   1,#1001,Dana@Example.test,,,,,,Plate,1209.50,P-1,\n\
                   x,#1001,,,,,,,Bowl,3,,\n\
                   1,#1002,bo@example.test,pending,,ILS,5,not a date,Cup,5,,\n";
        let file = parse_orders(csv.as_bytes(), OrderFormat::Auto, None, &utc()).expect("parse");
        assert_eq!(file.format, OrderFormat::Shopify);
        assert_eq!(file.orders.len(), 1);
        let o = &file.orders[0];
        assert_eq!(
            (
                o.number.as_str(),
                o.line,
                o.total_minor,
                o.currency.as_deref()
            ),
            ("#1001", 2, Some(123_450), Some("ILS"))
        );
        assert_eq!(o.created_at, ts("2024-05-01T07:00:00Z"));
        assert_eq!(o.name.as_deref(), Some("Dana Levi"));
        let lines: Vec<(&str, i64, Option<i64>)> = o
            .lines
            .iter()
            .map(|l| (l.title.as_str(), l.quantity, l.price_minor))
            .collect();
        assert_eq!(
            lines,
            [("Mug, blue", 2, Some(1_250)), ("Plate", 1, Some(120_950))]
        );
        let where_: Vec<usize> = file.problems.iter().map(|p| p.line).collect();
        assert_eq!(where_, [4, 5], "{:?}", file.problems);
        assert!(
            file.problems[1].message.contains("not a date"),
            "{:?}",
            file.problems
        );
    }

    /// A quoted field with newlines keeps the following rows' line numbers right.
    #[test]
    fn line_numbers_survive_multiline_fields() {
        let csv = "Name,Created at,Lineitem name,Lineitem quantity,Financial Status\n\
                   #1,2024-05-01,\"Card\nwith\nthree lines\",1,paid\n\
                   #2,2024-05-01,Pen,lots,paid\n";
        let file = parse_orders(csv.as_bytes(), OrderFormat::Shopify, None, &utc()).expect("parse");
        assert_eq!(file.orders[0].lines[0].title, "Card\nwith\nthree lines");
        assert_eq!(file.orders[1].line, 5);
        assert_eq!(
            file.problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            [5]
        );
    }

    /// Unknown columns: the error lists what was found and what was expected, and points at
    /// --mapping; binary data and empty files are refused, not parsed.
    #[test]
    fn refuses_what_is_not_an_order_export() {
        let err =
            parse_orders(b"Foo,Bar\n1,2\n", OrderFormat::Auto, None, &utc()).expect_err("unknown");
        let msg = err.to_string();
        assert!(
            msg.contains("\"Foo\", \"Bar\"")
                && msg.contains("Order number")
                && msg.contains("--mapping"),
            "{msg}"
        );
        let err = parse_orders(
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            OrderFormat::Auto,
            None,
            &utc(),
        )
        .expect_err("binary");
        assert!(matches!(err, OrdersError::NotCsv { line: 3, .. }), "{err}");
        assert_eq!(
            parse_orders(b"", OrderFormat::Auto, None, &utc()),
            Err(OrdersError::Empty)
        );
        assert_eq!(
            parse_orders(b"\n\n", OrderFormat::Auto, None, &utc()),
            Err(OrdersError::Empty)
        );
        let err = parse_orders(
            b"Order Number,Total\n1,2\n",
            OrderFormat::Woocommerce,
            None,
            &utc(),
        )
        .expect_err("no date");
        assert!(err.to_string().contains("no order date column"), "{err}");
    }

    /// Ragged rows (too few or too many fields) and a huge field do not stop the file.
    #[test]
    fn ragged_rows_and_huge_fields() {
        let huge = "x".repeat(5 << 20);
        let csv = format!(
            "Order Number,Order Date,Item Name,Quantity,Billing Email\n\
             7,2024-05-01,{huge},1,a@x.test,extra,fields\n\
             8\n\
             9,2024-05-02,Pen\n"
        );
        let file = parse_orders(csv.as_bytes(), OrderFormat::Auto, None, &utc()).expect("parse");
        assert_eq!(file.format, OrderFormat::Woocommerce);
        assert_eq!(
            file.orders
                .iter()
                .map(|o| o.number.as_str())
                .collect::<Vec<_>>(),
            ["7", "9"]
        );
        assert_eq!(file.orders[0].lines[0].title.len(), 5 << 20);
        assert_eq!(file.orders[1].lines[0].quantity, 1);
        assert_eq!(
            file.problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            [3]
        );
    }

    /// A legacy-code-page export is read with replacement characters and one problem at
    /// its first bad row, not one per row.
    #[test]
    fn non_utf8_is_one_problem() {
        let mut csv = b"Order ID,Order Date,Item Name\n".to_vec();
        csv.extend_from_slice(b"1,2024-05-01,Caf\xe9\n2,2024-05-01,Tea\n3,2024-05-01,Cr\xe8me\n");
        let file = parse_orders(&csv, OrderFormat::Auto, None, &utc()).expect("parse");
        assert_eq!(file.orders.len(), 3);
        assert_eq!(file.orders[0].lines[0].title, "Caf\u{FFFD}");
        assert_eq!(file.problems.len(), 1, "{:?}", file.problems);
        assert_eq!(file.problems[0].line, 2);
        assert!(
            file.problems[0].message.contains("2 rows"),
            "{:?}",
            file.problems
        );
    }

    /// A mapping file reads a layout no plugin writes; it must name columns that exist.
    #[test]
    fn mapping_reads_unknown_layouts() {
        let mapping = ColumnMapping::from_json(
            br#"{"number": "Nr", "created_at": "Kiedy", "email": "Mail", "item_name": "Towar", "item_price": "Cena", "total": "Razem", "currency": "Waluta", "date_order": "dmy"}"#,
        )
        .expect("mapping");
        let csv = "Nr;Kiedy;Mail;Towar;Cena;Razem;Waluta\nA-1;03/04/2024 10:00;ola@x.test;Świeca;12,50;12,50;PLN\n";
        let file =
            parse_orders(csv.as_bytes(), OrderFormat::Auto, Some(&mapping), &utc()).expect("parse");
        let o = &file.orders[0];
        assert_eq!(
            (o.source.as_str(), o.number.as_str(), o.total_minor),
            ("woocommerce", "A-1", Some(1_250))
        );
        assert_eq!(o.created_at, ts("2024-04-03T10:00:00Z"));
        assert_eq!(o.lines[0].price_minor, Some(1_250));
        let bad = ColumnMapping::from_json(br#"{"number": "Nope", "created_at": "Kiedy"}"#)
            .expect("mapping");
        let err = parse_orders(csv.as_bytes(), OrderFormat::Auto, Some(&bad), &utc())
            .expect_err("missing column");
        assert!(err.to_string().contains("\"Nope\""), "{err}");
        assert!(ColumnMapping::from_json(br#"{"numbr": "Nr"}"#).is_err());
        assert!(ColumnMapping::from_json(b"[1,2]").is_err());
    }

    /// Slashed dates: a day over 12 anywhere in the file decides the order for all rows.
    #[test]
    fn date_order_is_inferred_from_the_file() {
        let csv = "Order ID,Order Date\n1,01/02/2024\n2,25/02/2024\n";
        let file =
            parse_orders(csv.as_bytes(), OrderFormat::Woocommerce, None, &utc()).expect("parse");
        assert_eq!(file.orders[0].created_at, ts("2024-02-01T00:00:00Z"));
        assert!(file.problems.is_empty(), "{:?}", file.problems);
        let ambiguous = parse_orders(
            b"Order ID,Order Date\n1,01/02/2024\n",
            OrderFormat::Woocommerce,
            None,
            &utc(),
        )
        .expect("parse");
        assert_eq!(ambiguous.orders[0].created_at, ts("2024-01-02T00:00:00Z"));
        assert!(
            ambiguous.problems[0].message.contains("date_order"),
            "{:?}",
            ambiguous.problems
        );
    }
}
