use crate::{Result, StoreError};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, ErrorCode, OpenFlags};
use rusqlite_migration::{M, Migrations};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The numbered files of `migrations/`, in order. A landed file is never edited.
const MIGRATION_FILES: &[&str] = &[
    include_str!("../../../migrations/0001_init.sql"),
    include_str!("../../../migrations/0002_chats.sql"),
    include_str!("../../../migrations/0003_search.sql"),
];

/// How many schema versions this build knows (`PRAGMA user_version` after migrating).
pub const MIGRATIONS_COUNT: usize = MIGRATION_FILES.len();

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATION_FILES.iter().map(|sql| M::up(sql)).collect())
}

/// An open Shopdesk database.
pub struct Store {
    pub(crate) conn: Connection,
    path: Option<PathBuf>,
}

impl Store {
    /// Opens (creating if missing) the database at `path` and brings its schema up to date.
    ///
    /// Refuses, leaving the file as it was: a file that is not SQLite, a schema newer than
    /// this build, a location that cannot be written.
    pub fn open(path: &Path) -> Result<Store> {
        check_sqlite_header(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| classify(path, e))?;
        // Read the version before anything writes (WAL switch, migrations).
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| classify(path, e))?;
        let known = MIGRATIONS_COUNT as i64;
        if found > known {
            return Err(StoreError::SchemaTooNew { path: path.to_owned(), found, known });
        }
        let mut store = Store { conn, path: Some(path.to_owned()) };
        store.prepare().map_err(|e| match e {
            StoreError::Sqlite(e) => classify(path, e),
            other => other,
        })?;
        Ok(store)
    }

    /// A fresh database in memory, for tests.
    pub fn open_in_memory() -> Result<Store> {
        let mut store = Store { conn: Connection::open_in_memory()?, path: None };
        store.prepare()?;
        Ok(store)
    }

    /// Where the database lives; `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Per-connection settings, SQL functions, then migrations.
    fn prepare(&mut self) -> Result<()> {
        // WAL: the UI reads while sync writes. busy_timeout: a second process (CLI next to
        // the app) waits instead of failing. foreign_keys is off by default in SQLite.
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        self.conn.pragma_update(None, "busy_timeout", 5000)?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        register_functions(&self.conn)?;
        migrations().to_latest(&mut self.conn)?;
        Ok(())
    }

    /// Runs `f` in one transaction, committed if it returns Ok.
    pub(crate) fn write<T>(&mut self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction()?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Trades durability for speed during a bulk write into a file nobody else uses yet
    /// (the demo generator writes a temporary file that is renamed into place afterwards).
    pub fn set_bulk_mode(&self) -> Result<()> {
        self.conn.pragma_update(None, "synchronous", "OFF")?;
        Ok(())
    }

    /// Folds the write-ahead log into the main file and leaves it in rollback-journal
    /// mode, so the database is one self-contained file that can be renamed.
    pub fn close_as_single_file(self) -> Result<()> {
        self.conn.pragma_update(None, "journal_mode", "DELETE")?;
        self.conn.close().map_err(|(_, e)| StoreError::Sqlite(e))
    }
}

/// The functions the schema's triggers call; see `migrations/0001_init.sql`.
fn register_functions(conn: &Connection) -> Result<()> {
    conn.create_scalar_function(
        "shopdesk_fold",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let text: Option<String> = ctx.get(0)?;
            Ok(text.map(|t| shopdesk_core::text::fold(&t)))
        },
    )?;
    Ok(())
}

/// A non-empty file that does not start with SQLite's magic is refused before SQLite sees
/// it (SQLite would otherwise fail only on first use, after we may have tried to write).
fn check_sqlite_header(path: &Path) -> Result<()> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(StoreError::ReadOnly { path: path.to_owned(), reason: e.to_string() });
        }
        Err(e) if path.is_dir() || e.raw_os_error() == Some(21) => {
            return Err(StoreError::NotADatabase { path: path.to_owned() });
        }
        Err(e) => return Err(StoreError::Io(e)),
    };
    if path.is_dir() {
        return Err(StoreError::NotADatabase { path: path.to_owned() });
    }
    let mut header = [0u8; 16];
    let n = file.read(&mut header)?;
    if n == 0 {
        return Ok(());
    }
    if n < 16 || &header != b"SQLite format 3\0" {
        return Err(StoreError::NotADatabase { path: path.to_owned() });
    }
    Ok(())
}

/// Turns SQLite's error codes into the errors a user can act on.
fn classify(path: &Path, e: rusqlite::Error) -> StoreError {
    let code = e.sqlite_error_code();
    match code {
        Some(ErrorCode::NotADatabase) => StoreError::NotADatabase { path: path.to_owned() },
        Some(ErrorCode::ReadOnly) => StoreError::ReadOnly {
            path: path.to_owned(),
            reason: "the file or its folder is read-only".to_owned(),
        },
        Some(ErrorCode::CannotOpen) | Some(ErrorCode::PermissionDenied) => StoreError::ReadOnly {
            path: path.to_owned(),
            reason: format!("{e} (does the folder exist and may this user write to it?)"),
        },
        _ => StoreError::Open { path: path.to_owned(), source: e },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rusqlite_migration's own check: every migration applies cleanly to an empty database.
    #[test]
    fn migrations_validate() {
        let conn = Connection::open_in_memory().expect("memory db");
        register_functions(&conn).expect("functions");
        migrations().validate().expect("migrations are valid");
    }

    /// Every numbered file in migrations/ is applied, in order, and none is skipped.
    #[test]
    fn every_migration_file_is_listed() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("migrations dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        assert_eq!(files.len(), MIGRATIONS_COUNT, "{files:?}");
        for (i, name) in files.iter().enumerate() {
            assert!(name.starts_with(&format!("{:04}_", i + 1)), "{name} out of sequence");
            let text = std::fs::read_to_string(dir.join(name)).expect("read migration");
            assert_eq!(text, MIGRATION_FILES[i], "{name} differs from the compiled-in copy");
        }
    }

    /// Connections come up with WAL, foreign keys and a busy timeout.
    #[test]
    fn pragmas_are_set_per_connection() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("s.db")).expect("open");
        let mode: String = store.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("pragma");
        let fk: i64 = store.conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).expect("pragma");
        let busy: i64 = store.conn.query_row("PRAGMA busy_timeout", [], |r| r.get(0)).expect("pragma");
        assert_eq!((mode.as_str(), fk, busy), ("wal", 1, 5000));
        let version: i64 = store.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("pragma");
        assert_eq!(version, MIGRATIONS_COUNT as i64);
    }

    /// A file that is not SQLite is refused and left byte-for-byte as it was.
    #[test]
    fn refuses_non_sqlite_file_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notes.txt");
        std::fs::write(&path, b"dear diary, this is not a database\n").expect("write");
        let err = Store::open(&path).err().expect("must refuse");
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), b"dear diary, this is not a database\n");
        assert!(!dir.path().join("notes.txt-wal").exists());
    }

    /// A database from a newer Shopdesk is refused, not downgraded or written to.
    #[test]
    fn refuses_newer_schema_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("future.db");
        {
            let conn = Connection::open(&path).expect("create");
            conn.execute_batch("CREATE TABLE t(x); PRAGMA user_version = 999;").expect("setup");
        }
        let before = std::fs::read(&path).expect("read");
        let err = Store::open(&path).err().expect("must refuse");
        assert!(matches!(err, StoreError::SchemaTooNew { found: 999, .. }), "{err}");
        assert!(err.to_string().contains("999"), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), before);
    }

    /// Opening twice is a no-op for the schema (migrations are not re-applied).
    #[test]
    fn reopening_keeps_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        Store::open(&path)
            .expect("open")
            .conn
            .execute("INSERT INTO settings(key, value) VALUES ('k', '1')", [])
            .expect("insert");
        let store = Store::open(&path).expect("reopen");
        let v: String = store.conn.query_row("SELECT value FROM settings WHERE key='k'", [], |r| r.get(0)).expect("row");
        assert_eq!(v, "1");
    }
}
