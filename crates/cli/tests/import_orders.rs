//! `shopdesk import orders` and `shopdesk orders`: order CSVs land once, update on
//! re-import, and every buyer is a customer, found by email, then by phone, merged when
//! an order proves two customers are one person. Bad files are refused whole, naming the
//! file and line.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

const SHOPIFY: &str = "shopify_transporter@1ca276c/spec/files/transporter_csv_templates/orders.csv";

fn run(db: &Path, args: &[&str]) -> Output {
    shopdesk_systests::cli::run_with_stdin(env!("CARGO_BIN_EXE_shopdesk"), db, args, "")
}

/// Runs a command that must succeed and print JSON.
fn json(db: &Path, args: &[&str]) -> Value {
    let out = run(db, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Runs a command that must fail; returns its error message.
fn fails(db: &Path, args: &[&str]) -> String {
    let out = run(db, args);
    assert!(
        !out.status.success(),
        "{args:?} should fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/orders")
        .join(name)
}

fn numbers(orders: &Value) -> Vec<&str> {
    orders
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|o| o["number"].as_str())
        .collect()
}

/// Shopify's template: 2 orders with their line items (prices in cents), newest first;
/// each buyer is a customer found by email, and `orders --customer` lists theirs.
#[test]
fn shopify_orders_link_customers_by_email() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("o.db");
    let csv = shopdesk_systests::corpus::corpus_file(SHOPIFY).unwrap_or_else(|e| panic!("{e}"));
    let report = json(
        &db,
        &["import", "orders", s(&csv), "--format", "shopify", "--json"],
    );
    assert_eq!(
        (
            report["new"].as_u64(),
            report["updated"].as_u64(),
            report["customers_created"].as_u64()
        ),
        (Some(2), Some(0), Some(2))
    );
    assert_eq!(
        report["problems"][0]["location"],
        format!("{}:3", csv.display()),
        "{report}"
    );

    let orders = json(&db, &["orders", "--json"]);
    assert_eq!(numbers(&orders), ["#MA-1098", "#MA-1097"]);
    let boots = &orders[0];
    assert_eq!(
        (
            boots["financial_status"].as_str(),
            boots["cancelled_at"].as_str()
        ),
        (Some("refunded"), Some("2018-01-19T20:54:42Z"))
    );
    let tools = &orders[1];
    assert_eq!(tools["created_at"], "2018-01-04T23:51:23Z");
    let lines: Vec<(&str, i64, i64)> = tools["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["title"].as_str().unwrap_or(""),
                l["quantity"].as_i64().unwrap_or(0),
                l["price_minor"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("Garden Trowel - Composite / Small", 2, 1000),
            ("Mini Handle Shovel", 3, 2000)
        ]
    );

    let customers = json(&db, &["customers", "--json"]);
    let john = customers
        .as_array()
        .expect("list")
        .iter()
        .find(|c| {
            c["identities"]
                .as_array()
                .is_some_and(|ids| ids.iter().any(|i| i["value"] == "john.doe@acme.com"))
        })
        .expect("a customer with john's email");
    assert_eq!(
        (john["name"].as_str(), john["order_count"].as_i64()),
        (Some("Ami Shaperi"), Some(1))
    );
    assert_eq!(tools["customer_id"], john["id"]);
    let his = json(
        &db,
        &["orders", "--customer", &john["id"].to_string(), "--json"],
    );
    assert_eq!(numbers(&his), ["#MA-1097"]);
}

const ORDERS_V1: &str = "Name,Email,Phone,Financial Status,Fulfillment Status,Currency,Total,Created at,Fulfilled at,Lineitem name,Lineitem quantity,Lineitem price,Lineitem sku,Billing Name
#1001,dana@example.test,,paid,unfulfilled,ILS,240.00,2024-05-01 10:00:00 +0300,,Mug,2,60.00,M-1,Dana Levi
#1001,dana@example.test,,,,,,,,Plate,1,120.00,P-1,
#1002,omer@example.test,,paid,unfulfilled,ILS,45.50,2024-05-02 11:00:00 +0300,,Card,1,45.50,C-1,Omer Katz
";

/// Re-importing the same export changes nothing; a later export where one order was
/// fulfilled updates that order in place: same rows, no duplicate orders or lines.
#[test]
fn reimport_updates_without_duplicates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("o.db");
    let csv = dir.path().join("orders_export.csv");
    std::fs::write(&csv, ORDERS_V1).expect("write");
    let first = json(&db, &["import", "orders", s(&csv), "--json"]);
    assert_eq!(
        (first["new"].as_u64(), first["format"].as_str()),
        (Some(2), Some("shopify")),
        "{first}"
    );
    let same = json(&db, &["import", "orders", s(&csv), "--json"]);
    assert_eq!(
        (
            same["new"].as_u64(),
            same["updated"].as_u64(),
            same["unchanged"].as_u64()
        ),
        (Some(0), Some(0), Some(2))
    );

    let v2 = ORDERS_V1.replacen(
        "paid,unfulfilled,ILS,240.00,2024-05-01 10:00:00 +0300,,",
        "paid,fulfilled,ILS,240.00,2024-05-01 10:00:00 +0300,2024-05-03 09:00:00 +0300,",
        1,
    );
    assert_ne!(v2, ORDERS_V1);
    std::fs::write(&csv, v2).expect("write");
    let second = json(&db, &["import", "orders", s(&csv), "--json"]);
    assert_eq!(
        (
            second["new"].as_u64(),
            second["updated"].as_u64(),
            second["unchanged"].as_u64()
        ),
        (Some(0), Some(1), Some(1)),
        "{second}"
    );

    let orders = json(&db, &["orders", "--json"]);
    assert_eq!(numbers(&orders), ["#1002", "#1001"]);
    let dana = &orders[1];
    assert_eq!(
        (
            dana["fulfillment_status"].as_str(),
            dana["fulfilled_at"].as_str()
        ),
        (Some("fulfilled"), Some("2024-05-03T06:00:00Z"))
    );
    assert_eq!(dana["lines"].as_array().map(Vec::len), Some(2));
    assert_eq!(dana["total_minor"], 24000);
    let stats = json(&db, &["stats", "--json"]);
    assert_eq!(
        (stats["orders"].as_i64(), stats["customers"].as_i64()),
        (Some(2), Some(2))
    );
}

const DANA_MAIL: &str = "From: dana@example.test
To: hello@shop.test
Subject: Where is my mug?
Date: Mon, 06 May 2024 10:00:00 +0300
Message-ID: <mug-1@example.test>

Hi, my order has not arrived.
";

/// A customer who emails from an address and another known only by a phone number (an
/// earlier order without email) are one person once an order shows both: the order
/// merges them, and the merged customer has the mail conversation and both orders. The
/// national number is read in the `default_phone_region` setting.
#[test]
fn order_with_email_and_phone_merges_two_customers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("o.db");
    let eml = dir.path().join("dana.eml");
    std::fs::write(&eml, DANA_MAIL).expect("write");
    json(
        &db,
        &[
            "import",
            "mail",
            s(&eml),
            "--me",
            "hello@shop.test",
            "--json",
        ],
    );
    rusqlite::Connection::open(&db)
        .expect("db")
        .execute(
            "INSERT INTO settings(key, value) VALUES ('default_phone_region', '\"IL\"')",
            [],
        )
        .expect("setting");

    let by_phone = dir.path().join("phone.csv");
    std::fs::write(
        &by_phone,
        "Order Number,Order Date,Phone (Billing),First Name (Billing),Last Name (Billing),Item Name,Quantity,Item Cost\n\
         501,2024-04-01 09:00,+972 50-123-4567,Dana,L.,Candle,1,30\n",
    )
    .expect("write");
    let first = json(&db, &["import", "orders", s(&by_phone), "--json"]);
    assert_eq!(first["customers_created"], 1, "{first}");
    assert_eq!(
        json(&db, &["customers", "--json"]).as_array().map(Vec::len),
        Some(2)
    );

    let both = dir.path().join("both.csv");
    std::fs::write(
        &both,
        "Order Number,Order Date,Email (Billing),Phone (Billing),First Name (Billing),Last Name (Billing),Item Name,Quantity,Item Cost\n\
         502,2024-05-01 09:00,Dana@Example.test,050-1234567,Dana,Levi,Mug,1,60\n",
    )
    .expect("write");
    let second = json(&db, &["import", "orders", s(&both), "--json"]);
    assert_eq!(
        (
            second["customers_merged"].as_u64(),
            second["customers_created"].as_u64()
        ),
        (Some(1), Some(0)),
        "{second}"
    );

    let customers = json(&db, &["customers", "--json"]);
    let customers = customers.as_array().expect("list");
    assert_eq!(customers.len(), 1, "{customers:?}");
    let dana = &customers[0];
    let mut ids: Vec<(&str, &str)> = dana["identities"]
        .as_array()
        .expect("identities")
        .iter()
        .filter_map(|i| Some((i["kind"].as_str()?, i["value"].as_str()?)))
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [("email", "dana@example.test"), ("phone", "+972501234567")]
    );
    assert_eq!(
        (
            dana["conversation_count"].as_i64(),
            dana["order_count"].as_i64()
        ),
        (Some(1), Some(2))
    );
    let hers = json(
        &db,
        &["orders", "--customer", &dana["id"].to_string(), "--json"],
    );
    assert_eq!(numbers(&hers), ["502", "501"]);
    assert_eq!(hers[0]["phone"], "+972501234567");
    let conversations = json(&db, &["conversations", "--json"]);
    assert_eq!(conversations[0]["customer_id"], dana["id"]);
}

/// A shop's own layout imports through a mapping file; without one the error names the
/// file, line 1, the headers found and `--mapping`.
#[test]
fn unknown_layout_needs_a_mapping() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("o.db");
    let csv = fixture("custom-layout.csv");
    let err = fails(&db, &["import", "orders", s(&csv)]);
    assert!(
        err.contains(&format!("{}:1: ", csv.display()))
            && err.contains("Nr zamówienia")
            && err.contains("--mapping"),
        "{err}"
    );
    let mapping = fixture("custom-layout.mapping.json");
    let report = json(
        &db,
        &[
            "import",
            "orders",
            s(&csv),
            "--mapping",
            s(&mapping),
            "--json",
        ],
    );
    assert_eq!(report["new"], 2, "{report}");
    let locations: Vec<&str> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["location"].as_str())
        .collect();
    assert_eq!(
        locations,
        [
            format!("{}:4", csv.display()),
            format!("{}:5", csv.display())
        ]
    );
    let orders = json(&db, &["orders", "--json"]);
    assert!(
        orders
            .as_array()
            .expect("list")
            .iter()
            .all(|o| o["source"] == "sklep"),
        "{orders}"
    );

    let broken = dir.path().join("broken.json");
    std::fs::write(
        &broken,
        "{\n  \"number\": \"Nr zamówienia\",\n  \"bogus\": 1\n}\n",
    )
    .expect("write");
    let err = fails(&db, &["import", "orders", s(&csv), "--mapping", s(&broken)]);
    assert!(
        err.contains(&format!("{}:3: ", broken.display())) && err.contains("bogus"),
        "{err}"
    );
}

/// Hostile files: binary data (even after good rows), no header, unknown columns are
/// refused whole with file:line and store nothing; ragged rows, a quoted field spanning
/// lines and a 20 MB field import, with problems on the right lines.
#[test]
fn hostile_files_are_refused_whole_or_read_with_exact_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("o.db");

    let mut binary = ORDERS_V1.as_bytes().to_vec();
    binary.extend_from_slice(b"#1003,x@example.test,\x00\x01\x02\xff\xfe binary tail\n");
    let bin = dir.path().join("tail.csv");
    std::fs::write(&bin, &binary).expect("write");
    let err = fails(&db, &["import", "orders", s(&bin)]);
    assert!(
        err.contains(&format!("{}:5: ", bin.display())) && err.contains("binary"),
        "{err}"
    );

    let png = dir.path().join("photo.csv");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0").expect("write");
    let err = fails(&db, &["import", "orders", s(&png)]);
    assert!(err.contains(&format!("{}:3: ", png.display())), "{err}");

    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").expect("write");
    assert!(fails(&db, &["import", "orders", s(&empty)]).contains("empty"));

    let chat = dir.path().join("chat.txt");
    std::fs::write(
        &chat,
        "12/05/2024, 10:00 - Dana: hi\n12/05/2024, 10:01 - Shop: hello\n",
    )
    .expect("write");
    let err = fails(&db, &["import", "orders", s(&chat)]);
    assert!(
        err.contains(&format!("{}:1: ", chat.display())) && err.contains("--mapping"),
        "{err}"
    );

    assert_eq!(
        json(&db, &["orders", "--json"]),
        serde_json::json!([]),
        "refused files stored nothing"
    );
    assert_eq!(json(&db, &["stats", "--json"])["customers"], 0);

    let huge = "x".repeat(20 << 20);
    let ragged = format!(
        "Name,Email,Created at,Lineitem name,Lineitem quantity,Lineitem price\n\
         #1,a@example.test,2024-05-01 10:00:00 +0000,\"Card\nwith three\nlines\",1,5.00\n\
         #2,b@example.test,2024-05-01 10:00:00 +0000,{huge},1,5.00,extra,fields\n\
         #3,c@example.test\n\
         #4,d@example.test,2024-05-01 10:00:00 +0000,Pen,one,1.00\n"
    );
    let ragged_path = dir.path().join("ragged.csv");
    std::fs::write(&ragged_path, ragged).expect("write");
    let report = json(&db, &["import", "orders", s(&ragged_path), "--json"]);
    assert_eq!(
        report["new"],
        3,
        "{}",
        &report.to_string()[..report.to_string().len().min(2000)]
    );
    let locations: Vec<&str> = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .filter_map(|p| p["location"].as_str())
        .collect();
    assert_eq!(
        locations,
        [
            format!("{}:6", ragged_path.display()),
            format!("{}:7", ragged_path.display())
        ]
    );
    let orders = json(&db, &["orders", "--json"]);
    assert_eq!(numbers(&orders).len(), 3);
}
