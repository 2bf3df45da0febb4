//! `import orders PATH`: a Shopify or WooCommerce order CSV (or any layout with a mapping
//! file). The whole file is parsed first and stored in one transaction, so a file is
//! imported entirely or not at all; rows that cannot be read are problems with their
//! `file:line`, the other rows are imported. Re-importing updates orders, never duplicates.

use crate::{App, AppError, ErrorCode, Progress, Result};
use serde::Serialize;
use shopdesk_core::CustomerId;
use shopdesk_ingest::orders::{ColumnMapping, OrderFormat, OrdersError, parse_orders};
use shopdesk_store::{ImportProblem, ImportReport, OrderRow};
use std::path::Path;

/// What an order import did. `imported` (new + updated) and `duplicates` (unchanged) are
/// the counts every import reports; the rest says which.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrdersImportReport {
    /// The format the file was read as: shopify | woocommerce.
    pub format: OrderFormat,
    pub imported: usize,
    pub duplicates: usize,
    pub new: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub customers_created: usize,
    pub customers_merged: usize,
    pub problems: Vec<ImportProblem>,
}

impl App {
    /// Imports the orders in the CSV at `path`, read as `format` (`Auto`: from its
    /// headers), through the mapping file at `mapping` when given. Phone numbers without a
    /// country code are read in the `default_phone_region` setting. Calls `progress`
    /// with the number of orders stored.
    pub fn import_orders(
        &mut self,
        path: &Path,
        format: OrderFormat,
        mapping: Option<&Path>,
        mut progress: impl FnMut(Progress),
    ) -> Result<OrdersImportReport> {
        let started = self.host.now();
        let mapping = match mapping {
            Some(m) => {
                let bytes = std::fs::read(m).map_err(|e| AppError::io(m, e))?;
                Some(ColumnMapping::from_json(&bytes).map_err(|e| orders_error(m, &e))?)
            }
            None => None,
        };
        let bytes = std::fs::read(path).map_err(|e| AppError::io(path, e))?;
        let file = parse_orders(&bytes, format, mapping.as_ref(), &self.host.time_zone())
            .map_err(|e| orders_error(path, &e))?;
        drop(bytes);
        let total = file.orders.len();
        progress(Progress { done: 0, total });
        let region = self.store.default_phone_region()?;
        let stored = self
            .store
            .store_orders(&file.orders, region.as_deref(), self.host.now())?;
        progress(Progress { done: total, total });

        let problems: Vec<ImportProblem> = file
            .problems
            .iter()
            .map(|p| ImportProblem {
                location: format!("{}:{}", path.display(), p.line),
                message: p.message.clone(),
            })
            .collect();
        let record = ImportReport {
            kind: "orders".into(),
            source: path.display().to_string(),
            imported: stored.new + stored.updated,
            duplicates: stored.unchanged,
            problems: problems.clone(),
        };
        self.store
            .record_import(&record, started, self.host.now())?;
        Ok(OrdersImportReport {
            format: file.format,
            imported: record.imported,
            duplicates: record.duplicates,
            new: stored.new,
            updated: stored.updated,
            unchanged: stored.unchanged,
            customers_created: stored.customers_created,
            customers_merged: stored.customers_merged,
            problems,
        })
    }

    /// Orders newest first with their lines; only `customer`'s (and those of customers
    /// merged into it) when given.
    pub fn orders(&self, customer: Option<CustomerId>) -> Result<Vec<OrderRow>> {
        Ok(self.store.orders(customer)?)
    }
}

/// A file that is not an order export, named with the line that says so.
fn orders_error(path: &Path, e: &OrdersError) -> AppError {
    let location = match e.line() {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    };
    AppError::new(ErrorCode::InvalidInput, format!("{location}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedHost;

    fn app(dir: &Path) -> App {
        App::open(
            &dir.join("a.db"),
            FixedHost {
                now: 1_800_000_000_000,
                tz: jiff::tz::TimeZone::UTC,
            },
        )
        .expect("open")
    }

    /// Problems carry `file:line`; the import is recorded with kind "orders"; unknown
    /// columns are refused as invalid input naming the file and line 1, storing nothing.
    #[test]
    fn reports_locations_and_refuses_unknown_layouts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut app = app(dir.path());
        let csv = dir.path().join("o.csv");
        std::fs::write(&csv, "Name,Email,Created at,Lineitem name,Lineitem quantity\n#1,a@x.test,2024-05-01,Mug,two\n").expect("write");
        let report = app
            .import_orders(&csv, OrderFormat::Auto, None, |_| {})
            .expect("import");
        assert_eq!((report.new, report.imported), (1, 1));
        assert_eq!(report.problems[0].location, format!("{}:2", csv.display()));
        let kind: String = rusqlite::Connection::open(dir.path().join("a.db"))
            .expect("db")
            .query_row("SELECT kind FROM imports", [], |r| r.get(0))
            .expect("recorded");
        assert_eq!(kind, "orders");

        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "When,Who\n2024-05-01,me\n").expect("write");
        let err = app
            .import_orders(&bad, OrderFormat::Auto, None, |_| {})
            .expect_err("unknown columns");
        assert_eq!(err.code, ErrorCode::InvalidInput);
        assert!(
            err.message.starts_with(&format!("{}:1: ", bad.display())),
            "{}",
            err.message
        );
        assert_eq!(app.orders(None).expect("orders").len(), 1);
    }
}
