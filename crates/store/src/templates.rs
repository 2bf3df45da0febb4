//! Saved replies: one row per (name, language), checked when saved.

use crate::time::ser_rfc3339;
use crate::workflow::log_event;
use crate::{Result, Store, StoreError};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use shopdesk_core::Millis;
use shopdesk_core::template::{normalize_language, parse, validate_body};

/// One saved reply in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateRow {
    pub id: i64,
    pub name: String,
    pub language: String,
    pub subject: Option<String>,
    pub body: String,
    #[serde(serialize_with = "ser_rfc3339")]
    pub created_at: Millis,
    #[serde(serialize_with = "ser_rfc3339")]
    pub updated_at: Millis,
}

/// Whether saving added a language version or replaced one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Saved {
    Added,
    Updated,
}

fn bad(part: &'static str, reason: impl ToString) -> StoreError {
    StoreError::BadTemplate {
        part,
        reason: reason.to_string(),
    }
}

fn template_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TemplateRow> {
    Ok(TemplateRow {
        id: r.get(0)?,
        name: r.get(1)?,
        language: r.get(2)?,
        subject: r.get(3)?,
        body: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

/// A language code as stored: `he`, `ar`, `pl`, `en` (`he-IL` → `he`).
pub fn template_language(code: &str) -> Result<String> {
    normalize_language(code).ok_or_else(|| {
        bad(
            "language",
            format!("{code:?} is not a language code (he, ar, pl, en, …)"),
        )
    })
}

impl Store {
    /// Adds or replaces the `language` version of template `name`. The subject and body
    /// are checked first: an unknown variable or unbalanced braces refuse the save.
    pub fn save_template(
        &mut self,
        name: &str,
        language: &str,
        subject: Option<&str>,
        body: &str,
        actor: &str,
        now: Millis,
    ) -> Result<Saved> {
        let name = name.trim();
        if name.is_empty() {
            return Err(bad("name", "a template needs a name"));
        }
        let language = template_language(language)?;
        let subject = subject.map(str::trim).filter(|s| !s.is_empty());
        if let Some(subject) = subject {
            if subject.contains(['\r', '\n']) {
                return Err(bad("subject", "a subject is one line"));
            }
            parse(subject).map_err(|e| bad("subject", e))?;
        }
        validate_body(body).map_err(|e| bad("body", e))?;
        self.write(|tx| {
            let existing: Option<i64> = tx
                .query_row("SELECT id FROM templates WHERE name = ?1 AND language = ?2", params![name, language], |r| {
                    r.get(0)
                })
                .optional()?;
            let (id, saved) = match existing {
                Some(id) => {
                    tx.execute(
                        "UPDATE templates SET subject = ?1, body = ?2, updated_at = ?3 WHERE id = ?4",
                        params![subject, body, now, id],
                    )?;
                    (id, Saved::Updated)
                }
                None => {
                    tx.execute(
                        "INSERT INTO templates(name, language, subject, body, created_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                        params![name, language, subject, body, now],
                    )?;
                    (tx.last_insert_rowid(), Saved::Added)
                }
            };
            let action = if saved == Saved::Added { "added" } else { "updated" };
            log_event(tx, now, actor, "templates", Some(id), action, &serde_json::json!({"name": name, "language": language}))?;
            Ok(saved)
        })
    }

    /// Every template version, by name then language.
    pub fn templates(&self) -> Result<Vec<TemplateRow>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT id, name, language, subject, body, created_at, updated_at FROM templates ORDER BY name, language",
            )?
            .query_map([], template_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    /// The language versions of one template, by language; NotFound when there is none.
    pub fn template_versions(&self, name: &str) -> Result<Vec<TemplateRow>> {
        let rows: Vec<TemplateRow> = self
            .conn
            .prepare_cached(
                "SELECT id, name, language, subject, body, created_at, updated_at FROM templates
                  WHERE name = ?1 ORDER BY language",
            )?
            .query_map([name.trim()], template_row)?
            .collect::<rusqlite::Result<_>>()?;
        if rows.is_empty() {
            return Err(StoreError::NotFoundByName {
                what: "template",
                name: name.to_string(),
            });
        }
        Ok(rows)
    }

    /// Deletes one language version, or (`None`) all of them; returns how many went.
    pub fn delete_template(
        &mut self,
        name: &str,
        language: Option<&str>,
        actor: &str,
        now: Millis,
    ) -> Result<usize> {
        let language = language.map(template_language).transpose()?;
        let name = name.trim();
        self.write(|tx| {
            let ids: Vec<i64> = tx
                .prepare_cached("DELETE FROM templates WHERE name = ?1 AND (?2 IS NULL OR language = ?2) RETURNING id")?
                .query_map(params![name, language], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            if ids.is_empty() {
                let shown = match &language {
                    Some(l) => format!("{name} ({l})"),
                    None => name.to_string(),
                };
                return Err(StoreError::NotFoundByName { what: "template", name: shown });
            }
            for id in &ids {
                log_event(tx, now, actor, "templates", Some(*id), "deleted", &serde_json::json!({"name": name}))?;
            }
            Ok(ids.len())
        })
    }
}
