//! Where mailbox passwords live: the OS keyring (Secret Service on Linux), never SQLite,
//! logs or output. One entry per account: service `shopdesk`, user = the account name.

use crate::{AppError, ErrorCode};
use std::collections::HashMap;
use std::sync::Mutex;

/// A place to keep secrets by key.
pub trait SecretStore: Send + Sync {
    fn set(&self, key: &str, secret: &str) -> Result<(), AppError>;
    fn get(&self, key: &str) -> Result<Option<String>, AppError>;
    fn delete(&self, key: &str) -> Result<(), AppError>;
}

const SERVICE: &str = "shopdesk";

/// The OS keyring through the keyring crate.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeyring;

fn keyring_error(e: keyring::Error) -> AppError {
    AppError::new(
        ErrorCode::Keyring,
        format!("the OS keyring is not available ({e}); start a keyring such as gnome-keyring and unlock it"),
    )
}

impl SecretStore for OsKeyring {
    fn set(&self, key: &str, secret: &str) -> Result<(), AppError> {
        keyring::Entry::new(SERVICE, key).and_then(|e| e.set_password(secret)).map_err(keyring_error)
    }

    fn get(&self, key: &str) -> Result<Option<String>, AppError> {
        match keyring::Entry::new(SERVICE, key).and_then(|e| e.get_password()) {
            Ok(p) => Ok(Some(p)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn delete(&self, key: &str) -> Result<(), AppError> {
        match keyring::Entry::new(SERVICE, key).and_then(|e| e.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }
}

/// Secrets in memory, for tests of code that needs a keyring but is not about it.
#[derive(Debug, Default)]
pub struct MemorySecrets(Mutex<HashMap<String, String>>);

impl SecretStore for MemorySecrets {
    fn set(&self, key: &str, secret: &str) -> Result<(), AppError> {
        self.0.lock().map_err(|_| AppError::new(ErrorCode::Internal, "poisoned"))?.insert(key.to_owned(), secret.to_owned());
        Ok(())
    }
    fn get(&self, key: &str) -> Result<Option<String>, AppError> {
        Ok(self.0.lock().map_err(|_| AppError::new(ErrorCode::Internal, "poisoned"))?.get(key).cloned())
    }
    fn delete(&self, key: &str) -> Result<(), AppError> {
        self.0.lock().map_err(|_| AppError::new(ErrorCode::Internal, "poisoned"))?.remove(key);
        Ok(())
    }
}
