//! Order exports: Shopify's template from the shared corpus and WooCommerce exports in two
//! real plugin layouts plus a shop's own layout read through a mapping file
//! (`tests/fixtures/orders/`).
//!
//! Each file's expectations below were checked by hand against the file. Golden files
//! (`tests/golden/orders/<name>.json`) hold the whole parse for review;
//! `UPDATE_GOLDEN=1 cargo test -p shopdesk-ingest --test corpus_orders` rewrites them.

use jiff::tz::{TimeZone, offset};
use shopdesk_core::Millis;
use shopdesk_core::order::ParsedOrder;
use shopdesk_ingest::orders::{ColumnMapping, OrderFormat, OrdersFile, parse_orders};
use std::path::{Path, PathBuf};

const SHOPIFY: &str = "shopify_transporter@1ca276c/spec/files/transporter_csv_templates/orders.csv";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/orders")
        .join(name)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The shop's zone for times written without an offset (WooCommerce).
fn shop_tz() -> TimeZone {
    TimeZone::fixed(offset(3))
}

fn ts(s: &str) -> Millis {
    s.parse::<jiff::Timestamp>()
        .expect("timestamp")
        .as_millisecond()
}

/// (title, quantity, unit price in minor units, sku) of each line.
fn lines(o: &ParsedOrder) -> Vec<(&str, i64, Option<i64>, Option<&str>)> {
    o.lines
        .iter()
        .map(|l| {
            (
                l.title.as_str(),
                l.quantity,
                l.price_minor,
                l.sku.as_deref(),
            )
        })
        .collect()
}

fn problem_lines(f: &OrdersFile) -> Vec<usize> {
    f.problems.iter().map(|p| p.line).collect()
}

/// The whole parse equals its reviewed golden file.
fn check_golden(name: &str, file: &OrdersFile) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/orders")
        .join(format!("{name}.json"));
    let got = serde_json::to_string_pretty(file).expect("json") + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    assert_eq!(got, want, "{name}: parse differs from {}", path.display());
}

/// Shopify's template: 2 orders over 4 rows, order fields only on the first row of each;
/// line items with titles, quantities and unit prices in cents; the refunded and cancelled
/// order's statuses and times; the quoted comma in the first row's note does not shift
/// the columns after it (phone, names). Its third row has every column from Billing Name
/// on shifted one to the right: that line item is still read, and the shift reported.
#[test]
fn shopify_template() {
    let path = shopdesk_systests::corpus::corpus_file(SHOPIFY).unwrap_or_else(|e| panic!("{e}"));
    let file = parse_orders(&read(&path), OrderFormat::Auto, None, &TimeZone::UTC).expect("parse");
    assert_eq!(file.format, OrderFormat::Shopify);
    assert_eq!(file.orders.len(), 2, "{:#?}", file.orders);

    let a = &file.orders[0];
    assert_eq!(
        (a.source.as_str(), a.number.as_str(), a.line),
        ("shopify", "#MA-1097", 2)
    );
    assert_eq!(a.email.as_deref(), Some("john.doe@acme.com"));
    assert_eq!(a.phone.as_deref(), Some("555 555-5555"));
    assert_eq!(a.name.as_deref(), Some("Ami Shaperi"));
    assert_eq!(
        (
            a.financial_status.as_deref(),
            a.fulfillment_status.as_deref()
        ),
        (Some("paid"), Some("unfulfilled"))
    );
    assert_eq!(a.currency.as_deref(), Some("USD"));
    assert_eq!(a.total_minor, None, "the template has no Total column");
    assert_eq!(
        a.created_at,
        ts("2018-01-04T23:51:23Z"),
        "Processed At, -0800"
    );
    assert_eq!((a.fulfilled_at, a.cancelled_at), (None, None));
    assert_eq!(
        lines(a),
        [
            (
                "Garden Trowel - Composite / Small",
                2,
                Some(1000),
                Some("a-123")
            ),
            ("Mini Handle Shovel", 3, Some(2000), Some("a-456"))
        ]
    );

    let b = &file.orders[1];
    assert_eq!((b.number.as_str(), b.line), ("#MA-1098", 5));
    assert_eq!(b.email.as_deref(), Some("jane.doe@acme.com"));
    assert_eq!((b.name.as_deref(), b.phone.as_deref()), (None, None));
    assert_eq!(
        (
            b.financial_status.as_deref(),
            b.fulfillment_status.as_deref()
        ),
        (Some("refunded"), Some("unfulfilled"))
    );
    assert_eq!(b.created_at, ts("2018-01-19T20:54:41Z"));
    assert_eq!(b.cancelled_at, Some(ts("2018-01-19T20:54:42Z")));
    assert_eq!(
        lines(b),
        [("Big Brown Bear Boots", 1, Some(3000), Some("b-001"))]
    );

    assert_eq!(problem_lines(&file), [3], "{:?}", file.problems);
    assert!(
        file.problems[0]
            .message
            .contains("shifted one column to the right"),
        "{:?}",
        file.problems
    );
    check_golden("shopify-template", &file);
}

/// Advanced Order Export for WooCommerce, default fields: one row per item with the order
/// columns repeated, CRLF, labels as statuses, no currency column, local times, grouped
/// amounts ("1,339.70").
#[test]
fn woocommerce_advanced_order_export() {
    let file = parse_orders(
        &read(&fixture("woocommerce-advanced-order-export.csv")),
        OrderFormat::Auto,
        None,
        &shop_tz(),
    )
    .expect("parse");
    assert_eq!(file.format, OrderFormat::Woocommerce);
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    assert_eq!(file.orders.len(), 2);
    let a = &file.orders[0];
    assert_eq!(
        (a.source.as_str(), a.number.as_str(), a.line),
        ("woocommerce", "2041", 2)
    );
    assert_eq!(
        (a.email.as_deref(), a.phone.as_deref()),
        (Some("Noa.Cohen@example.test"), Some("050-123 4567"))
    );
    assert_eq!(a.name.as_deref(), Some("נועה כהן"));
    assert_eq!(
        (
            a.fulfillment_status.as_deref(),
            a.financial_status.as_deref()
        ),
        (Some("processing"), None)
    );
    assert_eq!(
        (a.total_minor, a.currency.as_deref()),
        (Some(133_970), None)
    );
    assert_eq!(a.created_at, ts("2024-05-02T11:05:00Z"));
    assert_eq!(
        lines(a),
        [
            ("Lavender candle", 2, Some(5485), Some("CNDL-LAV")),
            ("Oak lamp, large", 1, Some(120_000), Some("LAMP-OAK"))
        ]
    );
    let b = &file.orders[1];
    assert_eq!(
        (b.number.as_str(), b.line, b.fulfillment_status.as_deref()),
        ("2042", 4, Some("completed"))
    );
    assert_eq!(
        (b.name.as_deref(), b.phone.as_deref()),
        (Some("Jan Kowalski"), Some("+48 601 234 567"))
    );
    assert_eq!(lines(b), [("Mug", 1, Some(4500), Some("MUG-01"))]);
    check_golden("woocommerce-advanced-order-export", &file);
}

/// WooCommerce Customer/Order/Coupon Export, "Default - One Row per Item": snake_case
/// headers (`date`, `billing_email`, `item_quantity`), a note spanning two lines (the rows
/// after it keep their file lines), a refunded order.
#[test]
fn woocommerce_customer_order_export() {
    let file = parse_orders(
        &read(&fixture("woocommerce-customer-order-export.csv")),
        OrderFormat::Woocommerce,
        None,
        &shop_tz(),
    )
    .expect("parse");
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    let numbers: Vec<(&str, usize)> = file
        .orders
        .iter()
        .map(|o| (o.number.as_str(), o.line))
        .collect();
    assert_eq!(numbers, [("188", 2), ("189", 6)]);
    let a = &file.orders[0];
    assert_eq!(
        (
            a.currency.as_deref(),
            a.total_minor,
            a.fulfillment_status.as_deref()
        ),
        (Some("EUR"), Some(3750), Some("completed"))
    );
    assert_eq!(
        (a.name.as_deref(), a.email.as_deref()),
        (Some("Skyler White"), Some("skyler@example.test"))
    );
    assert_eq!(a.created_at, ts("2024-06-10T15:20:05Z"));
    assert_eq!(
        lines(a),
        [
            ("Tea towel", 2, Some(825), Some("TT-1")),
            ("Apron \"Chef\"", 1, Some(1600), Some("AP-2"))
        ]
    );
    let b = &file.orders[1];
    assert_eq!(
        (b.fulfillment_status.as_deref(), b.name.as_deref()),
        (Some("refunded"), Some("Ana Núñez"))
    );
    assert_eq!(lines(b), [("Coaster set", 1, Some(1200), Some("CS-4"))]);
    check_golden("woocommerce-customer-order-export", &file);
}

/// A layout no plugin writes (`;`-separated, Polish headers, day-first dotted dates,
/// "1 149,80") read through its mapping file; a bad date and a bad quantity are problems
/// on their lines, the rest kept.
#[test]
fn custom_layout_with_mapping() {
    let mapping =
        ColumnMapping::from_json(&read(&fixture("custom-layout.mapping.json"))).expect("mapping");
    let bytes = read(&fixture("custom-layout.csv"));
    let err = parse_orders(&bytes, OrderFormat::Auto, None, &shop_tz())
        .expect_err("unknown without a mapping");
    assert!(
        err.to_string().contains("\"Nr zamówienia\"") && err.to_string().contains("--mapping"),
        "{err}"
    );

    let file = parse_orders(&bytes, OrderFormat::Auto, Some(&mapping), &shop_tz()).expect("parse");
    let numbers: Vec<&str> = file.orders.iter().map(|o| o.number.as_str()).collect();
    assert_eq!(numbers, ["Z/2024/101", "Z/2024/103"]);
    let a = &file.orders[0];
    assert_eq!(
        (a.source.as_str(), a.currency.as_deref(), a.total_minor),
        ("sklep", Some("PLN"), Some(114_980))
    );
    assert_eq!(a.created_at, ts("2024-04-03T07:15:00Z"));
    assert_eq!(
        (
            a.name.as_deref(),
            a.phone.as_deref(),
            a.fulfillment_status.as_deref()
        ),
        (Some("Ola Nowak"), Some("601 234 567"), Some("wysłane"))
    );
    assert_eq!(
        lines(a),
        [
            ("Świeca sojowa", 2, Some(4990), None),
            ("Lampa „Dąb”", 1, Some(105_000), None)
        ]
    );
    assert!(file.orders[1].lines.is_empty());
    assert_eq!(problem_lines(&file), [4, 5], "{:?}", file.problems);
    assert!(
        file.problems[0]
            .message
            .contains("\"wczoraj\" is not a date"),
        "{:?}",
        file.problems
    );
    assert!(
        file.problems[1]
            .message
            .contains("\"trzy\" is not a whole number"),
        "{:?}",
        file.problems
    );
    check_golden("custom-layout", &file);
}
