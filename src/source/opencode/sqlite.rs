//! Reads OpenCode's SQLite database (`opencode.db`, 1.2+, formats.md 3.2) strictly read-only and
//! safely while OpenCode runs and writes it.
//!
//! OpenCode keeps the database in WAL mode, so recent rows may live only in `opencode.db-wal`.
//! How the file is opened depends on what lies next to it, because a read-only SQLite connection
//! to a WAL database creates `-wal` and `-shm` files when they are missing:
//!
//! - rollback-journal database: opened read-only (`mode=ro`); readers never create files.
//! - WAL database with `-wal` and `-shm` (OpenCode running, or it crashed): opened read-only; the
//!   connection joins the shared-memory protocol as any reader does, sees every committed row in
//!   the WAL, never checkpoints (also disabled on close) and never takes the write lock.
//! - WAL database without `-wal` (OpenCode closed cleanly): nothing is pending, so the file alone
//!   is the whole state; it is opened `immutable`, which creates nothing, and the read is kept only
//!   if the file did not change meanwhile (OpenCode may start and checkpoint), else retried.
//! - WAL database with `-wal` but no `-shm`, or one the read-only open cannot use: db and WAL are
//!   copied into a private temporary directory, kept only if neither changed during the copy.
//!
//! Every connection also sets `query_only`. Each session's rows are read inside one read
//! transaction, so a session is a consistent snapshot even while OpenCode appends to it. Only
//! explicit columns of `session`, `project`, `message` and `part` are read: never the tables that
//! hold accounts, credentials or share secrets.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rusqlite::config::DbConfig;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, Row};
use serde_json::Value;

use crate::model::{Diagnostic, DiagnosticKind, KnownRevisions, Session};
use crate::source::ParseOutcome;

use super::convert::{self, MessageRecord, PartRecord, SessionInfo, SessionRecord};

/// The first 16 bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
/// How long a read waits for a lock OpenCode holds (its writes are short).
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a read that raced with a checkpoint is retried.
const ATTEMPTS: usize = 3;

/// Reads every session of the database at `db` whose id is not in `taken`, handing each to
/// `emit` as soon as it is read and adding its id to `taken`. A database that cannot be read at
/// all is one `Unreadable` diagnostic naming it.
pub(super) fn read_database(
    db: &Path,
    known: &KnownRevisions,
    taken: &mut HashSet<String>,
    outcome: &mut ParseOutcome,
    emit: &mut dyn FnMut(Session),
) {
    outcome.stats.bytes += [db.to_path_buf(), wal_path(db)]
        .iter()
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|meta| meta.len())
        .sum::<u64>();
    let mut read = DatabaseRead {
        taken,
        emit,
        unchanged: 0,
        diagnostics: Vec::new(),
    };
    if let Err(problem) = read_consistently(db, known, &mut read) {
        read.diagnostics
            .push(diagnostic(db, DiagnosticKind::Unreadable, problem));
    }
    outcome.unchanged_sessions += read.unchanged;
    outcome.stats.malformed_lines += read
        .diagnostics
        .iter()
        .filter(|d| d.kind == DiagnosticKind::Malformed)
        .count() as u64;
    outcome.diagnostics.extend(read.diagnostics);
}

/// Where one read of a database delivers what it finds.
struct DatabaseRead<'a> {
    /// Ids of the sessions already delivered or known unchanged (by any store).
    taken: &'a mut HashSet<String>,
    emit: &'a mut dyn FnMut(Session),
    /// Sessions not read because their revision is known; they are taken too, so that an older
    /// copy in another store does not replace them.
    unchanged: u64,
    diagnostics: Vec<Diagnostic>,
}

/// How the database file can be opened without touching the user's files (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Access {
    ReadOnly,
    Immutable,
    Copy,
}

/// Why a read could not start.
enum Failure {
    Sqlite(rusqlite::Error),
    NotOpenCode(String),
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        Failure::Sqlite(error)
    }
}

/// Reads the database, retrying when it changed under a read that cannot see changes. Sessions
/// are delivered as they are read; a retry skips those already delivered, and the diagnostics of
/// an abandoned attempt are dropped (the retry reports them again).
fn read_consistently(db: &Path, known: &KnownRevisions, read: &mut DatabaseRead<'_>) -> Result<(), String> {
    for _ in 0..ATTEMPTS {
        let reported = read.diagnostics.len();
        let completed = match choose_access(db)? {
            Access::ReadOnly => match open_and_read(&file_uri(db, "mode=ro"), db, known, None, read) {
                // The read-only open cannot use the WAL index (e.g. `-shm` unwritable and
                // uninitialised): read a private copy instead.
                Err(Failure::Sqlite(error)) if needs_private_copy(&error) => read_copy(db, known, read)?,
                result => result.map_err(describe)?,
            },
            Access::Immutable => {
                // Nothing shows an immutable read that the file changed: each session is kept
                // only if the file is still as it was when the read began.
                let before = fingerprint(db);
                let unchanged = || fingerprint(db) == before;
                open_and_read(
                    &file_uri(db, "mode=ro&immutable=1"),
                    db,
                    known,
                    Some(&unchanged),
                    read,
                )
                .map_err(describe)?
            }
            Access::Copy => read_copy(db, known, read)?,
        };
        if completed {
            return Ok(());
        }
        read.diagnostics.truncate(reported);
    }
    Err(format!(
        "the database kept changing while it was read ({ATTEMPTS} attempts); run the import again"
    ))
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
        match (wal_mode, exists(wal_path(db)), exists(sibling(db, "-shm"))) {
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

/// Copies the database and its WAL into a private directory and reads the copy; `false` when
/// either file changed during the copy (nothing was read then).
fn read_copy(db: &Path, known: &KnownRevisions, read: &mut DatabaseRead<'_>) -> Result<bool, String> {
    let scratch = tempfile::Builder::new()
        .prefix("memtree-opencode-")
        .tempdir()
        .map_err(|error| format!("cannot create a temporary directory to copy the database into: {error}"))?;
    let copy = scratch.path().join("opencode.db");
    let wal = wal_path(db);
    let before = (fingerprint(db), fingerprint(&wal));
    std::fs::copy(db, &copy).map_err(|error| format!("cannot copy the database: {error}"))?;
    match std::fs::copy(&wal, wal_path(&copy)) {
        Ok(_) => {}
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(format!("cannot copy the database's WAL file: {error}")),
    }
    if (fingerprint(db), fingerprint(&wal)) != before {
        return Ok(false);
    }
    open_and_read(&file_uri(&copy, "mode=ro"), db, known, None, read).map_err(describe)
}

fn describe(failure: Failure) -> String {
    match failure {
        Failure::NotOpenCode(problem) => format!("not an OpenCode database: {problem}"),
        Failure::Sqlite(error) => match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                format!("the database is locked by another process: {error}")
            }
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
                format!("the database is corrupt or not an SQLite database: {error}")
            }
            _ => format!("cannot read the database: {error}"),
        },
    }
}

/// Size and modification time: a change means a writer touched the file.
fn fingerprint(path: &Path) -> Option<(u64, SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn wal_path(db: &Path) -> PathBuf {
    sibling(db, "-wal")
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

fn open(uri: &str) -> rusqlite::Result<Connection> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri, flags)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// The columns present in each table read (an empty set: the table is missing). OpenCode adds
/// columns across versions (formats.md 3.2), so optional ones are read as NULL when absent.
struct Schema {
    session: HashSet<String>,
    project: HashSet<String>,
    message: HashSet<String>,
}

impl Schema {
    fn load(conn: &Connection) -> Result<Schema, Failure> {
        let columns = |table: &str| -> rusqlite::Result<HashSet<String>> {
            let mut statement = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
            let names = statement.query_map([table], |row| row.get::<_, String>(0))?;
            names.collect()
        };
        let schema = Schema {
            session: columns("session")?,
            project: columns("project")?,
            message: columns("message")?,
        };
        let part = columns("part")?;
        for (table, present, required) in [
            ("session", &schema.session, &["id"][..]),
            ("message", &schema.message, &["id", "session_id", "data"][..]),
            ("part", &part, &["id", "message_id", "data"][..]),
        ] {
            if present.is_empty() {
                return Err(Failure::NotOpenCode(format!("no `{table}` table")));
            }
            if let Some(missing) = required.iter().find(|column| !present.contains(**column)) {
                return Err(Failure::NotOpenCode(format!(
                    "table `{table}` has no `{missing}` column"
                )));
            }
        }
        Ok(schema)
    }

    /// `column` when the table has it, else `NULL`.
    fn column(present: &HashSet<String>, column: &str) -> String {
        if present.contains(column) {
            format!("\"{column}\"")
        } else {
            "NULL".to_owned()
        }
    }
}

/// Reads every session not yet taken and delivers it. Returns `false`, abandoning the read, as
/// soon as `still_valid` says the file changed under it (the sessions delivered before were read
/// while it had not).
fn open_and_read(
    uri: &str,
    db: &Path,
    known: &KnownRevisions,
    still_valid: Option<&dyn Fn() -> bool>,
    read: &mut DatabaseRead<'_>,
) -> Result<bool, Failure> {
    let conn = open(uri)?;
    let schema = Schema::load(&conn)?;
    let sessions: Vec<(String, Option<i64>)> = {
        let sql = format!(
            "SELECT id, {} FROM session ORDER BY id",
            Schema::column(&schema.session, "time_updated")
        );
        let mut statement = conn.prepare(&sql)?;
        let rows = statement.query_map([], |row| Ok((row.get(0)?, integer(row, 1))))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (id, updated_ms) in sessions {
        if read.taken.contains(&id) {
            continue;
        }
        if updated_ms.is_some() && known.get(&id) == updated_ms.as_ref() {
            read.unchanged += 1;
            read.taken.insert(id);
            continue;
        }
        // One read transaction per session: its rows are one snapshot, and OpenCode is never
        // kept from checkpointing for longer than one session takes to read.
        let session = conn
            .unchecked_transaction()
            .and_then(|tx| read_session(&tx, &schema, db, &id, &mut read.diagnostics));
        if still_valid.is_some_and(|still_valid| !still_valid()) {
            return Ok(false);
        }
        match session {
            Ok(Some(record)) => match convert::build_session(record) {
                Ok(session) => {
                    read.taken.insert(id);
                    (read.emit)(session);
                }
                Err(problem) => read.diagnostics.push(diagnostic(
                    db,
                    DiagnosticKind::Malformed,
                    format!("session {id}: {problem}"),
                )),
            },
            // Deleted since the session list was read.
            Ok(None) => {}
            Err(error) => {
                // A damaged or locked file fails the same way for every later session.
                let problem = describe(Failure::Sqlite(error));
                read.diagnostics.push(diagnostic(
                    db,
                    DiagnosticKind::Unreadable,
                    format!("session {id}: {problem}"),
                ));
                break;
            }
        }
    }
    Ok(true)
}

/// Reads one session's rows; `None` when the session no longer exists.
fn read_session(
    conn: &Connection,
    schema: &Schema,
    db: &Path,
    id: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> rusqlite::Result<Option<SessionRecord>> {
    let column = |name: &str| Schema::column(&schema.session, name);
    let sql = format!(
        "SELECT {}, {}, {}, {}, {}, {}, {}, {}, {} FROM session WHERE id = ?1",
        column("parent_id"),
        column("directory"),
        column("title"),
        column("version"),
        column("agent"),
        column("model"),
        column("time_created"),
        column("project_id"),
        column("time_updated"),
    );
    let row = conn
        .query_row(&sql, [id], |row| {
            Ok((
                SessionInfo {
                    parent_id: text(row, 0),
                    directory: text(row, 1),
                    title: text(row, 2),
                    version: text(row, 3),
                    agent: text(row, 4),
                    model: None,
                    worktree: None,
                    created_ms: integer(row, 6),
                    updated_ms: integer(row, 8),
                },
                text(row, 5),
                text(row, 7),
            ))
        })
        .map(Some)
        .or_else(|error| match error {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            other => Err(other),
        })?;
    let Some((mut info, model, project_id)) = row else {
        return Ok(None);
    };
    if let Some(model) = model {
        match serde_json::from_str::<Value>(&model) {
            Ok(model) => info.model = Some(model),
            Err(error) => diagnostics.push(diagnostic(
                db,
                DiagnosticKind::Malformed,
                format!("session {id}: `model` column is not JSON: {error}"),
            )),
        }
    }
    if info.directory.is_none() && schema.project.contains("id") && schema.project.contains("worktree") {
        if let Some(project_id) = project_id {
            info.worktree = conn
                .query_row(
                    "SELECT worktree FROM project WHERE id = ?1",
                    [&project_id],
                    |row| Ok(text(row, 0)),
                )
                .or_else(|error| match error {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    other => Err(other),
                })?;
        }
    }

    let mut parts: HashMap<String, Vec<PartRecord>> = HashMap::new();
    {
        let mut statement = conn.prepare(
            "SELECT p.id, p.message_id, p.data FROM part p JOIN message m ON m.id = p.message_id \
             WHERE m.session_id = ?1",
        )?;
        let mut rows = statement.query([id])?;
        while let Some(row) = rows.next()? {
            let (Some(part_id), Some(message_id)) = (text(row, 0), text(row, 1)) else {
                continue;
            };
            match json_column(row, 2) {
                Ok(data) => parts
                    .entry(message_id)
                    .or_default()
                    .push(PartRecord { id: part_id, data }),
                Err(problem) => diagnostics.push(diagnostic(
                    db,
                    DiagnosticKind::Malformed,
                    format!("session {id}, part {part_id}: {problem}"),
                )),
            }
        }
    }

    let mut messages = Vec::new();
    let sql = format!(
        "SELECT id, {}, data FROM message WHERE session_id = ?1",
        Schema::column(&schema.message, "time_created")
    );
    let mut statement = conn.prepare(&sql)?;
    let mut rows = statement.query([id])?;
    while let Some(row) = rows.next()? {
        let Some(message_id) = text(row, 0) else { continue };
        let info = match json_column(row, 2) {
            Ok(info) => info,
            Err(problem) => {
                let problem = format!("session {id}, message {message_id}: {problem}");
                diagnostics.push(diagnostic(db, DiagnosticKind::Malformed, problem));
                continue;
            }
        };
        let Some(created_ms) = convert::created_ms(&info).or_else(|| integer(row, 1)) else {
            let problem = format!("session {id}, message {message_id}: no creation time");
            diagnostics.push(diagnostic(db, DiagnosticKind::Malformed, problem));
            continue;
        };
        let parts = parts.remove(&message_id).unwrap_or_default();
        messages.push(MessageRecord {
            id: message_id,
            created_ms,
            info,
            parts,
        });
    }
    let source_file = format!("{}#session/{id}", db.display());
    Ok(Some(SessionRecord {
        id: id.to_owned(),
        source_file,
        info,
        messages,
    }))
}

/// A text column; blobs are decoded lossily, numbers spelled out, NULL and empty text are `None`.
fn text(row: &Row<'_>, index: usize) -> Option<String> {
    let value = match row.get_ref(index).ok()? {
        ValueRef::Text(bytes) | ValueRef::Blob(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        ValueRef::Integer(number) => number.to_string(),
        ValueRef::Real(number) => number.to_string(),
        ValueRef::Null => return None,
    };
    (!value.is_empty()).then_some(value)
}

fn integer(row: &Row<'_>, index: usize) -> Option<i64> {
    match row.get_ref(index).ok()? {
        ValueRef::Integer(number) => Some(number),
        ValueRef::Real(number) if number.is_finite() => Some(number as i64),
        ValueRef::Text(bytes) => std::str::from_utf8(bytes).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// A `data` column holding a JSON object.
fn json_column(row: &Row<'_>, index: usize) -> Result<Value, String> {
    let body = text(row, index).ok_or("empty `data` column")?;
    match serde_json::from_str::<Value>(&body) {
        Ok(value) if value.is_object() => Ok(value),
        Ok(_) => Err("`data` is not a JSON object".to_owned()),
        Err(error) => Err(format!("`data` is not valid JSON: {error}")),
    }
}

fn diagnostic(db: &Path, kind: DiagnosticKind, message: String) -> Diagnostic {
    Diagnostic {
        file: db.to_path_buf(),
        line: None,
        kind,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uri_escapes_what_sqlite_would_read_as_uri_syntax() {
        assert_eq!(
            file_uri(Path::new("/a b/x?y#z%.db"), "mode=ro"),
            "file:/a%20b/x%3Fy%23z%25.db?mode=ro"
        );
    }
}
