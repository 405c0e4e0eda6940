//! Opens the SQLite databases tools keep their sessions in (OpenCode's `opencode.db`, Cursor's
//! `state.vscdb` and cursor-agent `store.db`, Crush's `crush.db`) strictly read-only and safely
//! while the tool runs and writes them, and reads their columns leniently. Each store's queries
//! live in its own module.
//!
//! The tools keep their databases in WAL mode, so recent rows may live only in the `-wal` file.
//! How a file is opened depends on what lies next to it, because a read-only SQLite connection to
//! a WAL database creates `-wal` and `-shm` files when they are missing:
//!
//! - rollback-journal database: opened read-only (`mode=ro`); readers never create files.
//! - WAL database with `-wal` and `-shm` (the tool running, or it crashed): opened read-only; the
//!   connection joins the shared-memory protocol as any reader does, sees every committed row in
//!   the WAL, never checkpoints (also disabled on close) and never takes the write lock.
//! - WAL database without `-wal` (the tool closed cleanly): nothing is pending, so the file alone
//!   is the whole state; it is opened `immutable`, which creates nothing, and what is read is kept
//!   only while the file stays unchanged (the tool may start and checkpoint), else read again.
//! - WAL database with `-wal` but no `-shm`, or one the read-only open cannot use: database and
//!   WAL are copied into a private temporary directory, the copy kept only if neither changed
//!   during the copy.
//!
//! Every connection also sets `query_only`.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::config::DbConfig;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, Row};

use crate::model::{Diagnostic, DiagnosticKind};

/// The first 16 bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
/// How long a read waits for a lock the tool holds (its writes are short).
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);
/// How often an open or a read that raced with a writer is tried.
pub(super) const ATTEMPTS: usize = 3;

/// An open, read-only connection to a tool's database.
pub(super) struct Database {
    conn: Connection,
    path: PathBuf,
    /// The file's state when it was opened `immutable`: such a read cannot see a writer, so it
    /// is kept only while the file stays so.
    immutable_since: Option<Fingerprint>,
    /// The private copy read instead of the file, removed on drop.
    _scratch: Option<tempfile::TempDir>,
}

/// How the file can be opened without touching the user's files (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    ReadOnly,
    Immutable,
    Copy,
}

type Fingerprint = Option<(u64, SystemTime)>;

impl Database {
    /// Opens `path`; the error says why it cannot be read, in words for a diagnostic.
    pub fn open(path: &Path) -> Result<Database, String> {
        for _ in 0..ATTEMPTS {
            let opened = match choose_access(path)? {
                Access::ReadOnly => match connect(&file_uri(path, "mode=ro")) {
                    Ok(conn) => Some(Database::new(conn, path, None, None)),
                    // The read-only open cannot use the WAL index (`-shm` unwritable and
                    // uninitialised): read a private copy instead.
                    Err(error) if needs_private_copy(&error) => copy(path)?,
                    Err(error) => return Err(describe(&error)),
                },
                Access::Immutable => {
                    let before = fingerprint(path);
                    let conn = connect(&file_uri(path, "mode=ro&immutable=1")).map_err(|e| describe(&e))?;
                    Some(Database::new(conn, path, Some(before), None))
                }
                Access::Copy => copy(path)?,
            };
            if let Some(database) = opened {
                return Ok(database);
            }
        }
        Err(format!(
            "the database kept changing while it was opened ({ATTEMPTS} attempts); run the import again"
        ))
    }

    fn new(
        conn: Connection,
        path: &Path,
        immutable_since: Option<Fingerprint>,
        scratch: Option<tempfile::TempDir>,
    ) -> Self {
        Database {
            conn,
            path: path.to_path_buf(),
            immutable_since,
            _scratch: scratch,
        }
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Whether what was read may be torn: the file changed under an `immutable` read.
    pub fn changed(&self) -> bool {
        self.immutable_since
            .as_ref()
            .is_some_and(|before| fingerprint(&self.path) != *before)
    }

    /// Runs `read` and keeps its result only if the file did not change under it, opening the
    /// file again (in the mode its new state calls for) and running `read` again otherwise.
    pub fn read_stable<T>(
        &mut self,
        mut read: impl FnMut(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, String> {
        for _ in 0..ATTEMPTS {
            let result = read(&self.conn);
            if !self.changed() {
                return result.map_err(|error| describe(&error));
            }
            *self = Database::open(&self.path)?;
        }
        Err(kept_changing())
    }
}

/// Why a read that went on changing was given up.
pub(super) fn kept_changing() -> String {
    format!("the database kept changing while it was read ({ATTEMPTS} attempts); run the import again")
}

/// Picks the access mode from the header and the files next to the database.
fn choose_access(db: &Path) -> Result<Access, String> {
    let mut header = [0u8; 100];
    let read = std::fs::File::open(db).and_then(|mut file| file.read_exact(&mut header));
    match read {
        Ok(()) if header.starts_with(SQLITE_MAGIC) => {}
        Ok(()) => return Err("not an SQLite database (bad header)".to_owned()),
        Err(error) if error.kind() == ErrorKind::UnexpectedEof => {
            return Err("not an SQLite database (shorter than its 100-byte header)".to_owned())
        }
        Err(error) => return Err(format!("cannot read the database file: {error}")),
    }
    // Header bytes 18/19 (file format read/write version) are 2 for a WAL database.
    let wal_mode = header[18] == 2 || header[19] == 2;
    let exists = |path: PathBuf| path.try_exists().unwrap_or(true);
    Ok(
        match (wal_mode, exists(sibling(db, "-wal")), exists(sibling(db, "-shm"))) {
            (false, _, _) | (true, true, true) => Access::ReadOnly,
            (true, false, _) => Access::Immutable,
            (true, true, false) => Access::Copy,
        },
    )
}

/// Errors of a read-only open that a private copy avoids.
fn needs_private_copy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly)
    )
}

/// Copies the database and its WAL into a private directory and opens the copy; `None` when
/// either file changed during the copy.
fn copy(db: &Path) -> Result<Option<Database>, String> {
    let scratch = tempfile::Builder::new()
        .prefix("memtree-sqlite-")
        .tempdir()
        .map_err(|error| format!("cannot create a temporary directory to copy the database into: {error}"))?;
    let copy = scratch.path().join("copy.db");
    let wal = sibling(db, "-wal");
    let before = (fingerprint(db), fingerprint(&wal));
    std::fs::copy(db, &copy).map_err(|error| format!("cannot copy the database: {error}"))?;
    match std::fs::copy(&wal, sibling(&copy, "-wal")) {
        Ok(_) => {}
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(format!("cannot copy the database's WAL file: {error}")),
    }
    if (fingerprint(db), fingerprint(&wal)) != before {
        return Ok(None);
    }
    let conn = connect(&file_uri(&copy, "mode=ro")).map_err(|error| describe(&error))?;
    Ok(Some(Database::new(conn, db, None, Some(scratch))))
}

/// A read-only connection, checked by reading the schema (a damaged file or an unusable WAL
/// index fails here rather than at the first query).
fn connect(uri: &str) -> rusqlite::Result<Connection> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri, flags)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", true)?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
    Ok(conn)
}

/// A diagnostic's words for an SQLite failure.
pub(super) fn describe(error: &rusqlite::Error) -> String {
    match error.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            format!("the database is locked by another process: {error}")
        }
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            format!("the database is corrupt or not an SQLite database: {error}")
        }
        _ => format!("cannot read the database: {error}"),
    }
}

/// Whether `table` exists.
pub(super) fn has_table(conn: &Connection, table: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [table],
        |row| row.get::<_, i64>(0),
    )
    .map(|count| count > 0)
}

/// The columns of `table`; empty when there is no such table.
pub(super) fn columns(conn: &Connection, table: &str) -> rusqlite::Result<HashSet<String>> {
    let mut statement = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = statement.query_map([table], |row| row.get::<_, String>(0))?;
    names.collect()
}

/// A text column; blobs are decoded lossily, numbers spelled out, NULL and empty text are `None`.
pub(super) fn text(row: &Row<'_>, index: usize) -> Option<String> {
    let value = match row.get_ref(index).ok()? {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        ValueRef::Integer(number) => number.to_string(),
        ValueRef::Real(number) => number.to_string(),
        ValueRef::Null => return None,
    };
    (!value.is_empty()).then_some(value)
}

/// An integer column; a real is truncated and text holding a number is read, the rest is `None`.
pub(super) fn integer(row: &Row<'_>, index: usize) -> Option<i64> {
    match row.get_ref(index).ok()? {
        ValueRef::Integer(number) => Some(number),
        ValueRef::Real(number) if number.is_finite() => Some(number as i64),
        ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// A diagnostic about a database as a whole (it has no lines).
pub(super) fn diagnostic(db: &Path, kind: DiagnosticKind, message: String) -> Diagnostic {
    Diagnostic {
        file: db.to_path_buf(),
        line: None,
        kind,
        message,
    }
}

/// A column's bytes (text or blob); NULL and numbers are `None`.
pub(super) fn bytes<'r>(row: &'r Row<'_>, index: usize) -> Option<&'r [u8]> {
    match row.get_ref(index).ok()? {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => Some(bytes),
        _ => None,
    }
}

/// Size and modification time: a change means a writer touched the file.
fn fingerprint(path: &Path) -> Fingerprint {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

/// The database's size with its WAL: what a read of it covers.
pub(super) fn size_with_wal(db: &Path) -> u64 {
    [db.to_path_buf(), sibling(db, "-wal")]
        .iter()
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|meta| meta.len())
        .sum()
}

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// An SQLite `file:` URI for `path` with `query` parameters; bytes outside the unreserved set
/// are percent-encoded so `?`, `#` and `%` in a path stay part of it.
fn file_uri(path: &Path, query: &str) -> String {
    let bytes = path.as_os_str().as_encoded_bytes();
    let mut uri = String::from("file:");
    if !bytes.starts_with(b"/") {
        // A Windows drive path `C:\x` becomes `file:/C:/x`.
        uri.push('/');
    }
    for &byte in bytes {
        match byte {
            b'\\' if cfg!(windows) => uri.push('/'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' | b':' => {
                uri.push(char::from(byte))
            }
            _ => {
                let _ = write!(uri, "%{byte:02X}");
            }
        }
    }
    uri.push('?');
    uri.push_str(query);
    uri
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_closed_cleanly_is_opened_immutable_and_one_written_is_seen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.vscdb");
        let writer = Connection::open(&path).unwrap();
        writer.pragma_update(None, "journal_mode", "WAL").unwrap();
        writer
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        drop(writer);
        let listing = || {
            let mut names: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            names.sort();
            names
        };
        let before = listing();
        let mut db = Database::open(&path).unwrap();
        assert!(db.immutable_since.is_some());
        let count = db
            .read_stable(|conn| conn.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)))
            .unwrap();
        assert_eq!(count, 1);
        assert_eq!(listing(), before, "nothing created beside the database");
        assert!(!has_table(&db.conn, "cursorAuth").unwrap());
        assert!(columns(&db.conn, "t").unwrap().contains("x"));
        assert!(columns(&db.conn, "cursorAuth").unwrap().is_empty());
    }

    #[test]
    fn what_is_not_a_database_is_said_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.vscdb");
        std::fs::write(&path, "plain text").unwrap();
        assert!(Database::open(&path)
            .err()
            .unwrap()
            .contains("not an SQLite database"));
        assert!(Database::open(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn file_uri_escapes_what_sqlite_would_read_as_uri_syntax() {
        assert_eq!(
            file_uri(Path::new("/a b/x?y#z%.db"), "mode=ro"),
            "file:/a%20b/x%3Fy%23z%25.db?mode=ro"
        );
    }
}
