//! Adding and listing mailbox accounts. The password goes to a [`SecretStore`] (the OS
//! keyring in the product), the rest to the database.

use crate::secrets::SecretStore;
use crate::{App, AppError, ErrorCode, Result};
use serde::Serialize;
use shopdesk_store::Account;

/// An account as listed: its settings and whether its password is in the keyring.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AccountListing {
    #[serde(flatten)]
    pub account: Account,
    pub password_stored: bool,
}

impl App {
    /// Stores the account and its password. An existing name is refused before the
    /// keyring is touched, so another account's password is never overwritten.
    pub fn add_account(&mut self, account: &Account, password: &str, secrets: &dyn SecretStore) -> Result<i64> {
        if account.name.trim().is_empty() || account.email.trim().is_empty() || !account.email.contains('@') {
            return Err(AppError::new(ErrorCode::InvalidInput, "an account needs a name and an email address"));
        }
        if password.is_empty() {
            return Err(AppError::new(ErrorCode::InvalidInput, "the password is empty"));
        }
        if let Some(ca) = account.ca_file.as_ref().filter(|ca| !std::path::Path::new(ca).is_file()) {
            return Err(AppError::new(ErrorCode::InvalidInput, format!("CA file {ca} does not exist")));
        }
        if self.store.accounts()?.iter().any(|a| a.name == account.name) {
            return Err(AppError::new(ErrorCode::InvalidInput, format!("account {:?} already exists", account.name)));
        }
        secrets.set(&account.name, password)?;
        match self.store.add_account(account, self.host.now()) {
            Ok(id) => Ok(id),
            Err(e) => {
                let _ = secrets.delete(&account.name);
                Err(e.into())
            }
        }
    }

    /// Logs in to the account's IMAP and SMTP servers with `password` and logs out again,
    /// saving nothing: the account form's "test connection". The error names the server
    /// that failed and what it said.
    pub fn test_account(&self, account: &Account, password: &str) -> Result<()> {
        let imap = crate::sync::imap_settings_with(account, password.to_owned());
        shopdesk_mailbox::ImapMailbox::connect(&imap)
            .map_err(|e| {
                let e = AppError::from(e);
                AppError::new(e.code, format!("IMAP {}:{}: {}", account.imap_host, account.imap_port, e.message))
            })?
            .logout();
        let smtp = crate::outbox::smtp_settings_with(account, password.to_owned());
        let failed = |e: shopdesk_outbound::SendError| {
            AppError::new(ErrorCode::MailServer, format!("SMTP {}:{}: {}", account.smtp_host, account.smtp_port, e.message))
        };
        shopdesk_outbound::SmtpSender::new(&smtp).map_err(failed)?.check().map_err(failed)
    }

    /// The account called `name`.
    pub fn account(&self, name: &str) -> Result<Account> {
        Ok(self.store.account(name)?)
    }

    /// Every account, without keyring lookups (for sync, which reads one password each).
    pub fn account_settings(&self) -> Result<Vec<Account>> {
        Ok(self.store.accounts()?)
    }

    pub fn accounts(&self, secrets: &dyn SecretStore) -> Result<Vec<AccountListing>> {
        self.store
            .accounts()?
            .into_iter()
            .map(|account| {
                let password_stored = secrets.get(&account.name)?.is_some();
                Ok(AccountListing { account, password_stored })
            })
            .collect()
    }
}
