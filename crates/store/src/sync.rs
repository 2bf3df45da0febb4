//! How far each IMAP folder has been synced, and the folder locations of messages.
//!
//! A message's identity is its content (source key), not its place: a location is a
//! (account, folder, UIDVALIDITY, UID) row in `message_sources`. Forgetting a location
//! (expunged, moved to a folder we do not sync, UIDVALIDITY changed) never deletes the
//! message: the shop's history stays, only the pointer to the server goes.

use crate::{Result, Store};
use rusqlite::{OptionalExtension, params};
use shopdesk_core::Millis;

/// A folder's sync position; all empty for a folder never synced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FolderState {
    pub uidvalidity: Option<u32>,
    /// Every UID up to this one has been fetched and stored.
    pub last_uid: u32,
    /// CONDSTORE position of the last finished pass; flag changes after it are asked for.
    pub highest_modseq: Option<u64>,
}

impl Store {
    pub fn folder_state(&self, account_id: i64, folder: &str) -> Result<FolderState> {
        let row = self
            .conn
            .prepare_cached("SELECT uidvalidity, last_uid, highest_modseq FROM sync_folders WHERE account_id = ?1 AND name = ?2")?
            .query_row(params![account_id, folder], |r| {
                Ok(FolderState {
                    uidvalidity: r.get::<_, Option<i64>>(0)?.and_then(|v| u32::try_from(v).ok()),
                    last_uid: u32::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    highest_modseq: r.get::<_, Option<i64>>(2)?.and_then(|v| u64::try_from(v).ok()),
                })
            })
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    /// Starts `folder` over under a new UIDVALIDITY (first sync, or the server recreated
    /// the folder): locations under any other validity are forgotten, the position goes
    /// back to UID 0. Returns how many locations were forgotten.
    pub fn reset_folder(&mut self, account_id: i64, folder: &str, role: &str, uidvalidity: u32) -> Result<usize> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO sync_folders(account_id, name, role, uidvalidity, last_uid, highest_modseq)
                 VALUES (?1, ?2, ?3, ?4, 0, NULL)
                 ON CONFLICT(account_id, name) DO UPDATE SET role = excluded.role, uidvalidity = excluded.uidvalidity,
                     last_uid = 0, highest_modseq = NULL",
                params![account_id, folder, role, uidvalidity],
            )?;
            Ok(tx.execute(
                "DELETE FROM message_sources WHERE account_id = ?1 AND folder = ?2 AND uidvalidity IS NOT ?3",
                params![account_id, folder, uidvalidity],
            )?)
        })
    }

    /// Records that every UID up to `last_uid` is stored.
    pub fn set_last_uid(&mut self, account_id: i64, folder: &str, last_uid: u32) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE sync_folders SET last_uid = max(last_uid, ?3) WHERE account_id = ?1 AND name = ?2",
                params![account_id, folder, last_uid],
            )?;
            Ok(())
        })
    }

    /// Marks a pass over `folder` finished at `modseq` (the value from its SELECT).
    pub fn finish_folder_pass(&mut self, account_id: i64, folder: &str, modseq: Option<u64>, now: Millis) -> Result<()> {
        let modseq = modseq.and_then(|m| i64::try_from(m).ok());
        self.write(|tx| {
            tx.execute(
                "UPDATE sync_folders SET highest_modseq = ?3, last_sync_at = ?4 WHERE account_id = ?1 AND name = ?2",
                params![account_id, folder, modseq, now],
            )?;
            Ok(())
        })
    }

    /// UIDs we hold a location for in `folder` under `uidvalidity`, ascending.
    pub fn folder_uids(&self, account_id: i64, folder: &str, uidvalidity: u32) -> Result<Vec<u32>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT uid FROM message_sources WHERE account_id = ?1 AND folder = ?2 AND uidvalidity = ?3 ORDER BY uid",
        )?;
        let rows = stmt.query_map(params![account_id, folder, uidvalidity], |r| r.get::<_, i64>(0))?;
        let mut out = Vec::new();
        for uid in rows {
            out.extend(u32::try_from(uid?).ok());
        }
        Ok(out)
    }

    /// Forgets the locations of messages no longer in `folder` (expunged or moved away).
    pub fn remove_locations(&mut self, account_id: i64, folder: &str, uidvalidity: u32, uids: &[u32]) -> Result<usize> {
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "DELETE FROM message_sources WHERE account_id = ?1 AND folder = ?2 AND uidvalidity = ?3 AND uid = ?4",
            )?;
            let mut removed = 0;
            for uid in uids {
                removed += stmt.execute(params![account_id, folder, uidvalidity, uid])?;
            }
            Ok(removed)
        })
    }

    /// Stores the flags another client set (read, flagged, …) on known locations.
    /// Returns how many locations changed.
    pub fn update_flags(&mut self, account_id: i64, folder: &str, uidvalidity: u32, changes: &[(u32, String)]) -> Result<usize> {
        self.write(|tx| {
            let mut stmt = tx.prepare_cached(
                "UPDATE message_sources SET flags = ?5
                 WHERE account_id = ?1 AND folder = ?2 AND uidvalidity = ?3 AND uid = ?4 AND flags IS NOT ?5",
            )?;
            let mut changed = 0;
            for (uid, flags) in changes {
                changed += stmt.execute(params![account_id, folder, uidvalidity, uid, flags])?;
            }
            Ok(changed)
        })
    }
}
