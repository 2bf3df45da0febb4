//! Import reports and the shop's own addresses (which decide the direction of mail).

use crate::{Result, Store};
use rusqlite::params;
use serde::Serialize;
use shopdesk_core::{Millis, normalize_email};

/// One thing an import could not read, with where it was (`file:line` or a path).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportProblem {
    pub location: String,
    pub message: String,
}

/// What an import or sync did; stored in `imports` and shown to the user.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ImportReport {
    pub kind: String,
    pub source: String,
    pub imported: usize,
    pub duplicates: usize,
    pub problems: Vec<ImportProblem>,
}

impl Store {
    /// The shop's own addresses: every account's address and aliases, plus the
    /// `own_addresses` setting (a JSON list), normalised.
    pub fn own_addresses(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut stmt = self.conn.prepare_cached("SELECT email, aliases FROM accounts")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (email, aliases) = row?;
            out.push(normalize_email(&email));
            out.extend(serde_json::from_str::<Vec<String>>(&aliases).unwrap_or_default().iter().map(|a| normalize_email(a)));
        }
        let setting: Option<String> = rusqlite::OptionalExtension::optional(self.conn.query_row(
            "SELECT value FROM settings WHERE key = 'own_addresses'",
            [],
            |r| r.get(0),
        ))?;
        if let Some(json) = setting {
            out.extend(serde_json::from_str::<Vec<String>>(&json).unwrap_or_default().iter().map(|a| normalize_email(a)));
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Adds addresses to the `own_addresses` setting (kept, so later imports agree).
    pub fn add_own_addresses(&mut self, addresses: &[String]) -> Result<()> {
        if addresses.is_empty() {
            return Ok(());
        }
        let mut all = self.own_addresses()?;
        all.extend(addresses.iter().map(|a| normalize_email(a)));
        all.sort();
        all.dedup();
        self.conn.execute(
            "INSERT INTO settings(key, value) VALUES ('own_addresses', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [serde_json::to_string(&all).unwrap_or_else(|_| "[]".to_owned())],
        )?;
        Ok(())
    }

    /// Keeps the report of a finished import.
    pub fn record_import(&mut self, report: &ImportReport, started_at: Millis, finished_at: Millis) -> Result<()> {
        self.conn.execute(
            "INSERT INTO imports(kind, source, started_at, finished_at, imported, duplicates, problems)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                report.kind,
                report.source,
                started_at,
                finished_at,
                report.imported as i64,
                report.duplicates as i64,
                serde_json::to_string(&report.problems).unwrap_or_else(|_| "[]".to_owned())
            ],
        )?;
        Ok(())
    }
}
