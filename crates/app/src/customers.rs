//! One customer across channels: showing a customer, merging two, splitting an identity
//! off, undoing either, merge suggestions, and the settings that decide who is the shop
//! in chats (`chat_names`) and how phone numbers without a country code are read
//! (`default_phone_region`).

use crate::{App, AppError, ErrorCode, Result};
use shopdesk_core::phone::{is_known_region, normalize_phone};
use shopdesk_core::{CustomerId, IdentityKind, normalize_email};
use shopdesk_store::{CustomerChange, CustomerDetail, SplitOutcome, Suggestion, normalize_name};

/// Who the event log names for changes made from this machine's user interface or CLI.
const ACTOR: &str = "user";

/// The settings `settings get|set` knows, and what each must hold.
const SETTINGS: &[(&str, &str)] = &[
    (
        "chat_names",
        "a JSON list of names, e.g. [\"My Shop\", \"Dana\"]",
    ),
    (
        "default_phone_region",
        "a two-letter country code, e.g. IL or PL",
    ),
    ("own_addresses", "a JSON list of email addresses"),
    (
        "notify_new_mail",
        "true or false: a desktop notification for new customer mail while the app runs",
    ),
    (
        "shop_name",
        "the shop's name as customers know it, e.g. \"Sklep Ania\"",
    ),
    (
        "default_language",
        "the language of saved replies when the customer's is unknown: he, ar, pl or en",
    ),
    ("ui_language", "the window's language: en, he, ar or pl"),
    (
        "response_target_email_minutes",
        "minutes a customer may wait for an email answer before the inbox highlights it (default 60)",
    ),
    (
        "response_target_chat_minutes",
        "minutes a customer may wait for a chat answer before the inbox highlights it (default 5)",
    ),
];

/// The window's languages.
const UI_LANGUAGES: &[&str] = &["en", "he", "ar", "pl"];

impl App {
    /// One customer (merged ones too, which then point at the customer they joined).
    pub fn customer(&self, id: CustomerId) -> Result<CustomerDetail> {
        Ok(self.store.customer(id)?)
    }

    /// Merges customer `absorbed` into `keep`; returns the change id `undo` takes.
    pub fn merge_customers(&mut self, keep: CustomerId, absorbed: CustomerId) -> Result<i64> {
        let now = self.host.now();
        Ok(self.store.merge_customers(keep, absorbed, ACTOR, now)?)
    }

    /// Moves one identity of `customer` (an identity id, or `kind:value` such as
    /// `phone:+972 50-123-4567` or `email:Anna@X.test`) and what came through it to a new
    /// customer.
    pub fn split_customer(&mut self, customer: CustomerId, identity: &str) -> Result<SplitOutcome> {
        let id = self.identity_id(identity)?;
        let now = self.host.now();
        Ok(self.store.split_customer(customer, id, ACTOR, now)?)
    }

    /// Undoes a merge or split by its change id.
    pub fn undo_customer_change(&mut self, change: i64) -> Result<CustomerChange> {
        let now = self.host.now();
        Ok(self.store.undo_merge(change, ACTOR, now)?)
    }

    /// Pairs of customers that may be one person (never merged without the user).
    pub fn merge_suggestions(&self) -> Result<Vec<Suggestion>> {
        Ok(self.store.merge_suggestions()?)
    }

    /// Turns a suggestion down for good.
    pub fn dismiss_suggestion(&mut self, a: CustomerId, b: CustomerId) -> Result<()> {
        let now = self.host.now();
        Ok(self.store.dismiss_suggestion(a, b, now)?)
    }

    /// A setting's value (JSON), `None` when unset.
    pub fn setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        known_setting(key)?;
        Ok(self.store.setting(key)?)
    }

    /// Every setting that has a value, by key (the settings screen).
    pub fn settings(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        let mut out = serde_json::Map::new();
        for (key, _) in SETTINGS {
            if let Some(v) = self.store.setting(key)? {
                out.insert((*key).to_owned(), v);
            }
        }
        Ok(out)
    }

    /// Sets a setting from what the user typed: JSON, or a bare word taken as a string
    /// (`settings set default_phone_region IL`). Refuses values of the wrong shape.
    pub fn set_setting(&mut self, key: &str, raw: &str) -> Result<serde_json::Value> {
        let expected = known_setting(key)?;
        let value = serde_json::from_str(raw)
            .unwrap_or_else(|_| serde_json::Value::String(raw.trim().to_owned()));
        let ok = match key {
            "default_phone_region" => value.as_str().is_some_and(is_known_region),
            "shop_name" => value.as_str().is_some_and(|v| !v.trim().is_empty()),
            "notify_new_mail" => value.is_boolean(),
            "ui_language" => value.as_str().is_some_and(|v| UI_LANGUAGES.contains(&v)),
            "response_target_email_minutes" | "response_target_chat_minutes" => {
                value.as_u64().is_some_and(|m| (1..=10_080).contains(&m))
            }
            "default_language" => value
                .as_str()
                .is_some_and(|v| shopdesk_core::template::normalize_language(v).is_some()),
            _ => value
                .as_array()
                .is_some_and(|items| items.iter().all(serde_json::Value::is_string)),
        };
        if !ok {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("{key} must be {expected}; got {raw}"),
            ));
        }
        let value = match (key, value) {
            ("default_phone_region", serde_json::Value::String(r)) => {
                serde_json::Value::String(r.to_ascii_uppercase())
            }
            ("shop_name", serde_json::Value::String(n)) => {
                serde_json::Value::String(n.trim().to_owned())
            }
            ("default_language", serde_json::Value::String(l)) => serde_json::Value::String(
                shopdesk_core::template::normalize_language(&l).unwrap_or(l),
            ),
            (_, v) => v,
        };
        self.store.set_setting(key, &value)?;
        Ok(value)
    }

    /// An identity by id or `kind:value` (the value normalised as stored).
    fn identity_id(&self, identity: &str) -> Result<i64> {
        if let Ok(id) = identity.trim().parse::<i64>() {
            return Ok(id);
        }
        let bad = || {
            AppError::new(
                ErrorCode::InvalidInput,
                format!(
                    "{identity:?} is not an identity: give its id or kind:value (email:a@x.test, phone:+972501234567, whatsapp:anna)"
                ),
            )
        };
        let (kind, value) = identity.split_once(':').ok_or_else(bad)?;
        let kind: IdentityKind = kind.trim().parse().map_err(|_| bad())?;
        let region = self.store.default_phone_region()?;
        let candidates: Vec<String> = match kind {
            IdentityKind::Email => vec![normalize_email(value)],
            IdentityKind::Phone => normalize_phone(value, region.as_deref())
                .into_iter()
                .collect(),
            _ => vec![value.trim().to_owned(), normalize_name(value)],
        };
        for candidate in &candidates {
            if let Some(id) = self.store.find_identity(kind, candidate)? {
                return Ok(id);
            }
        }
        Err(AppError::new(
            ErrorCode::NotFound,
            format!("no customer has the identity {kind}:{}", value.trim()),
        ))
    }
}

fn known_setting(key: &str) -> Result<&'static str> {
    SETTINGS
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, what)| *what)
        .ok_or_else(|| {
            let keys: Vec<&str> = SETTINGS.iter().map(|(k, _)| *k).collect();
            AppError::new(
                ErrorCode::InvalidInput,
                format!("unknown setting {key:?}; known: {}", keys.join(", ")),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixedHost;

    fn app(dir: &std::path::Path) -> App {
        App::open(
            &dir.join("s.db"),
            FixedHost {
                now: 1_700_000_000_000,
                tz: jiff::tz::TimeZone::UTC,
            },
        )
        .expect("app")
    }

    /// Settings take JSON or a bare word, are checked against their shape, and unknown
    /// keys are refused with the list of known ones.
    #[test]
    fn settings_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut app = app(dir.path());
        assert_eq!(
            app.set_setting("default_phone_region", "il").expect("set"),
            serde_json::json!("IL")
        );
        assert_eq!(
            app.setting("default_phone_region").expect("get"),
            Some(serde_json::json!("IL"))
        );
        assert_eq!(
            app.set_setting("chat_names", r#"["My Shop"]"#)
                .expect("set"),
            serde_json::json!(["My Shop"])
        );
        assert_eq!(
            app.set_setting("chat_names", "My Shop")
                .expect_err("not a list")
                .code,
            ErrorCode::InvalidInput
        );
        assert_eq!(
            app.set_setting("default_phone_region", "XX")
                .expect_err("no such region")
                .code,
            ErrorCode::InvalidInput
        );
        let err = app.setting("colour").expect_err("unknown");
        assert!(err.message.contains("chat_names"), "{}", err.message);
    }

    /// `kind:value` finds the identity whatever way the value is written; an unknown one
    /// is NotFound, a malformed one InvalidInput.
    #[test]
    fn identities_by_kind_and_value() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut app = app(dir.path());
        app.set_setting("default_phone_region", "IL")
            .expect("region");
        let file = dir.path().join("WhatsApp Chat with Anna.txt");
        std::fs::write(
            &file,
            "01/02/2024, 10:00 - +972 50-123-4567: hi\n01/02/2024, 10:01 - Anna Nowak: hello\n",
        )
        .expect("write");
        app.import_chat(
            crate::ChatSource::Whatsapp,
            &file,
            &crate::ChatImportOptions::default(),
            |_| {},
        )
        .expect("import");
        assert!(app.identity_id("phone:050-1234567").is_ok());
        assert!(app.identity_id("whatsapp:Anna  NOWAK").is_ok());
        assert_eq!(
            app.identity_id("email:nobody@x.test")
                .expect_err("none")
                .code,
            ErrorCode::NotFound
        );
        assert_eq!(
            app.identity_id("fax:123").expect_err("bad kind").code,
            ErrorCode::InvalidInput
        );
    }
}
