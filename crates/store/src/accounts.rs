//! Mailbox accounts. The password is never here: it lives in the OS keyring under the
//! account name (see crates/app).

use crate::conversations::parse_col;
use crate::{Result, Store, StoreError};
use rusqlite::{ErrorCode, params};
use serde::{Deserialize, Serialize};
use shopdesk_core::{Millis, TlsMode, normalize_email};

/// A mailbox as configured: where to fetch (IMAP) and send (SMTP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// 0 until stored.
    #[serde(default)]
    pub id: i64,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub display_name: Option<String>,
    pub username: String,
    pub imap_host: String,
    pub imap_port: u16,
    pub imap_tls: TlsMode,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_tls: TlsMode,
    /// Extra trusted CA certificate (PEM file) for servers with a private CA.
    pub ca_file: Option<String>,
    /// Folders to sync besides INBOX and Sent.
    #[serde(default)]
    pub folders: Vec<String>,
    pub signature: Option<String>,
}

impl Store {
    /// Stores a new account; the name must be unused.
    pub fn add_account(&mut self, a: &Account, now: Millis) -> Result<i64> {
        let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned());
        let aliases: Vec<String> = a.aliases.iter().map(|x| normalize_email(x)).collect();
        let inserted = self.conn.execute(
            "INSERT INTO accounts(name, email, aliases, display_name, username, imap_host, imap_port, imap_tls,
                                  smtp_host, smtp_port, smtp_tls, ca_file, folders, signature, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                a.name,
                a.email.trim(),
                json(&aliases),
                a.display_name,
                a.username,
                a.imap_host,
                a.imap_port,
                a.imap_tls.as_str(),
                a.smtp_host,
                a.smtp_port,
                a.smtp_tls.as_str(),
                a.ca_file,
                json(&a.folders),
                a.signature,
                now
            ],
        );
        match inserted {
            Ok(_) => Ok(self.conn.last_insert_rowid()),
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                Err(StoreError::AlreadyExists { what: "account", name: a.name.clone() })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every account, by name.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, email, aliases, display_name, username, imap_host, imap_port, imap_tls,
                    smtp_host, smtp_port, smtp_tls, ca_file, folders, signature
               FROM accounts ORDER BY name",
        )?;
        let rows = stmt
            .query_map([], |r| {
                let list = |i: usize| -> rusqlite::Result<Vec<String>> {
                    Ok(serde_json::from_str(&r.get::<_, String>(i)?).unwrap_or_default())
                };
                Ok(Account {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    email: r.get(2)?,
                    aliases: list(3)?,
                    display_name: r.get(4)?,
                    username: r.get(5)?,
                    imap_host: r.get(6)?,
                    imap_port: r.get(7)?,
                    imap_tls: parse_col(r, 8)?,
                    smtp_host: r.get(9)?,
                    smtp_port: r.get(10)?,
                    smtp_tls: parse_col(r, 11)?,
                    ca_file: r.get(12)?,
                    folders: list(13)?,
                    signature: r.get(14)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The account called `name`, or NotFound.
    pub fn account(&self, name: &str) -> Result<Account> {
        self.accounts()?
            .into_iter()
            .find(|a| a.name == name)
            .ok_or_else(|| StoreError::NotFoundByName { what: "account", name: name.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Account {
        Account {
            id: 0,
            name: "shop".into(),
            email: "Hello@Shop.test".into(),
            aliases: vec!["Orders@Shop.test".into()],
            display_name: Some("Sunflower Shop".into()),
            username: "hello@shop.test".into(),
            imap_host: "127.0.0.1".into(),
            imap_port: 993,
            imap_tls: TlsMode::Tls,
            smtp_host: "127.0.0.1".into(),
            smtp_port: 587,
            smtp_tls: TlsMode::Starttls,
            ca_file: None,
            folders: vec!["Orders".into()],
            signature: Some("-- \nSunflower Shop".into()),
        }
    }

    /// An account round-trips, names are unique, and its addresses count as the shop's own.
    #[test]
    fn accounts_round_trip_and_mark_own_addresses() {
        let mut store = Store::open_in_memory().expect("open");
        let id = store.add_account(&sample(), 0).expect("add");
        let stored = store.account("shop").expect("get");
        assert_eq!(stored, Account { id, aliases: vec!["orders@shop.test".into()], ..sample() });
        let err = store.add_account(&sample(), 0).expect_err("duplicate name");
        assert!(err.to_string().contains("shop"), "{err}");
        assert_eq!(store.own_addresses().expect("own"), vec!["hello@shop.test".to_owned(), "orders@shop.test".to_owned()]);
        assert!(store.account("nope").is_err());
    }

    /// The schema has no place for a password.
    #[test]
    fn no_password_column() {
        let store = Store::open_in_memory().expect("open");
        let cols: Vec<String> = store
            .conn
            .prepare("SELECT name FROM pragma_table_info('accounts')")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("columns");
        assert!(cols.iter().all(|c| !c.contains("pass")), "{cols:?}");
    }
}
