//! Application settings: one JSON value per key (`settings` table).
//!
//! Keys in use: `own_addresses` (list of the shop's addresses), `chat_names` (list of the
//! shop's own names in chat exports), `default_phone_region` (ISO 3166 alpha-2, e.g.
//! `"IL"`, for phone numbers written without a country code).

use crate::{Result, Store, StoreError};
use rusqlite::{Connection, OptionalExtension};

impl Store {
    /// The value stored under `key`, or `None` when unset.
    pub fn setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        setting_in(&self.conn, key)
    }

    /// Stores `value` under `key`, replacing what was there.
    pub fn set_setting(&mut self, key: &str, value: &serde_json::Value) -> Result<()> {
        self.conn.execute(
            "INSERT INTO settings(key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [key, &value.to_string()],
        )?;
        Ok(())
    }

    /// A list-of-strings setting (`chat_names`, `own_addresses`); empty when unset.
    pub fn setting_strings(&self, key: &str) -> Result<Vec<String>> {
        Ok(match self.setting(key)? {
            Some(serde_json::Value::Array(items)) => items
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        })
    }

    /// The region for phone numbers without a country code (`default_phone_region`).
    pub fn default_phone_region(&self) -> Result<Option<String>> {
        Ok(self
            .setting("default_phone_region")?
            .and_then(|v| v.as_str().map(str::to_owned)))
    }
}

/// [`Store::setting`] on any connection or transaction (a `Transaction` derefs to one).
pub(crate) fn setting_in(conn: &Connection, key: &str) -> Result<Option<serde_json::Value>> {
    let raw: Option<String> = conn
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    match raw {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| StoreError::BadSetting {
                key: key.to_owned(),
                reason: e.to_string(),
            }),
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use serde_json::json;

    /// A value reads back as written; setting again replaces it; unset keys are None.
    #[test]
    fn settings_round_trip() {
        let mut store = Store::open_in_memory().expect("store");
        assert_eq!(store.setting("chat_names").expect("read"), None);
        store
            .set_setting("chat_names", &json!(["Shop", "Dana"]))
            .expect("write");
        assert_eq!(
            store.setting_strings("chat_names").expect("read"),
            vec!["Shop", "Dana"]
        );
        store
            .set_setting("default_phone_region", &json!("IL"))
            .expect("write");
        store
            .set_setting("default_phone_region", &json!("PL"))
            .expect("write");
        assert_eq!(
            store.default_phone_region().expect("read").as_deref(),
            Some("PL")
        );
    }
}
