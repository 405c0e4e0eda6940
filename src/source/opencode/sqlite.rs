//! Reads OpenCode's SQLite database (`opencode.db`, 1.2+, formats.md 3.2), opened read-only and
//! safely while OpenCode runs and writes it (`source/sqlite.rs`).
//!
//! Each session's rows are read inside one read transaction, so a session is a consistent
//! snapshot even while OpenCode appends to it. Only explicit columns of `session`, `project`,
//! `message` and `part` are read: never the tables that hold accounts, credentials or share
//! secrets.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rusqlite::{Connection, Row};
use serde_json::Value;

use crate::model::{Diagnostic, DiagnosticKind, KnownRevisions, Session};
use crate::source::sqlite::{
    self, columns, diagnostic, integer, kept_changing, size_with_wal, text, Database, ATTEMPTS,
};
use crate::source::ParseOutcome;

use super::convert::{self, MessageRecord, PartRecord, SessionInfo, SessionRecord};

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
    outcome.stats.bytes += size_with_wal(db);
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

/// Reads the database, opening it again when it changed under a read that cannot see changes.
/// Sessions are delivered as they are read; a retry skips those already delivered, and the
/// diagnostics of an abandoned attempt are dropped (the retry reports them again).
fn read_consistently(db: &Path, known: &KnownRevisions, read: &mut DatabaseRead<'_>) -> Result<(), String> {
    for _ in 0..ATTEMPTS {
        let reported = read.diagnostics.len();
        let database = Database::open(db)?;
        if read_sessions(&database, db, known, read).map_err(describe)? {
            return Ok(());
        }
        read.diagnostics.truncate(reported);
    }
    Err(kept_changing())
}

fn describe(failure: Failure) -> String {
    match failure {
        Failure::NotOpenCode(problem) => format!("not an OpenCode database: {problem}"),
        Failure::Sqlite(error) => sqlite::describe(&error),
    }
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
        let columns = |table: &str| columns(conn, table);
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
/// soon as the file changed under a read that cannot see it (the sessions delivered before were
/// read while it had not).
fn read_sessions(
    database: &Database,
    db: &Path,
    known: &KnownRevisions,
    read: &mut DatabaseRead<'_>,
) -> Result<bool, Failure> {
    let conn = database.connection();
    let schema = Schema::load(conn)?;
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
        if database.changed() {
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
                let problem = sqlite::describe(&error);
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

/// A `data` column holding a JSON object.
fn json_column(row: &Row<'_>, index: usize) -> Result<Value, String> {
    let body = text(row, index).ok_or("empty `data` column")?;
    match serde_json::from_str::<Value>(&body) {
        Ok(value) if value.is_object() => Ok(value),
        Ok(_) => Err("`data` is not a JSON object".to_owned()),
        Err(error) => Err(format!("`data` is not valid JSON: {error}")),
    }
}
