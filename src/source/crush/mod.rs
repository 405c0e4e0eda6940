//! Crush sessions (formats-more-tools.md section 4): one SQLite database per project,
//! `<project>/.crush/crush.db`, holding every session run there.
//!
//! Discovery finds the databases in project directories as Aider's files are found
//! (`source::walk`: at and below the `--project` directory, else in a bounded, pruned search of
//! the home directory); a database file given by `--source` is read as it is. One candidate is
//! one data directory (or that file), its database read strictly read-only and safely while
//! Crush writes it (`source::sqlite`), session by session, each in one read transaction; only the `sessions` and
//! `messages` tables are read (never `files`, Crush's snapshots of the files it edited). An empty
//! database is normal: Crush creates it on its first start.
//!
//! A session is a `sessions` row; a child session (`parent_session_id`: a subagent's) is a
//! sidechain, and the one Crush runs to write a title (`title-<parent>`) is not conversation. Its
//! messages are its `messages` rows in order of creation (`convert`); times are epoch seconds
//! despite the schema's comments. The revision the session ledger keeps is `updated_at`, which
//! Crush moves with every message added; a session whose answer is still being written (an
//! assistant row without `finished_at`) gets none, so it is read again until it is finished. The
//! cwd is the directory holding `.crush/`; Crush records no version.

mod convert;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::Connection;

use crate::env::{home_dir, EnvLookup, Variable};
use crate::model::{Diagnostic, DiagnosticKind, KnownRevisions, Session, SessionFacts, Tool};
use crate::scope::ProjectScope;
use crate::source::sqlite::{columns, diagnostic, integer, size_with_wal, text, Database};
use crate::source::title::title_from_prompt;
use crate::source::walk::find_in_projects;
use crate::source::{Candidate, Discovery, ParseOutcome, Source, StoreReader, Unit};

use convert::{epoch, Conversation, Row};

/// Crush: one SQLite database per project.
pub struct Crush;

pub(super) const TOOL: Tool = Tool::named("crush");

/// Crush's data directory in a project, and its database.
const DATA_DIR: &str = ".crush";
const DATABASE: &str = "crush.db";

/// The title Crush gives a session until it has written one.
const PLACEHOLDER_TITLE: &str = "New Session";

/// How the cwd was found (`SessionFacts::cwd_origin`): the directory holding `.crush/`.
const CWD_ORIGIN: &str = "data_dir_parent";
const UNRESOLVED: &str = "unresolved";

impl Source for Crush {
    fn tool(&self) -> Tool {
        TOOL
    }

    fn about(&self) -> &'static str {
        "Crush sessions (.crush/crush.db in project directories under ~)"
    }

    fn layout(&self) -> &'static str {
        "a project directory (or a directory above projects) holding `.crush/crush.db`"
    }

    fn variables(&self) -> &'static [Variable] {
        &[]
    }

    /// The home directory, searched as `source::walk` says.
    fn default_roots(&self, env: EnvLookup<'_>) -> Vec<PathBuf> {
        home_dir(env).into_iter().collect()
    }

    fn discover(&self, roots: &[PathBuf], scope: Option<&ProjectScope>) -> Discovery {
        find_in_projects(roots, scope, |path, is_dir| {
            let is_data_dir = is_dir && path.file_name().is_some_and(|name| name == DATA_DIR);
            (is_data_dir && path.join(DATABASE).is_file()).then(|| path.to_path_buf())
        })
    }

    fn unit(&self) -> Unit<'_> {
        Unit::Store(self)
    }
}

impl StoreReader for Crush {
    fn read(
        &self,
        candidate: &Candidate,
        known: &KnownRevisions,
        emit: &mut dyn FnMut(Session),
    ) -> ParseOutcome {
        let mut outcome = ParseOutcome::default();
        let db = database_of(&candidate.path);
        let db = db.as_path();
        outcome.stats.bytes = size_with_wal(db);
        if let Err(problem) = read_database(db, known, &mut outcome, emit) {
            outcome
                .diagnostics
                .push(diagnostic(db, DiagnosticKind::Unreadable, problem));
        }
        outcome.stats.malformed_lines = outcome
            .diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.kind == DiagnosticKind::Malformed)
            .count() as u64;
        outcome
    }
}

/// The columns present in the tables read: Crush adds columns across versions (`provider`,
/// `summary_message_id`, `is_summary_message`), so optional ones are read as NULL when absent.
struct Schema {
    sessions: HashSet<String>,
    messages: HashSet<String>,
}

impl Schema {
    fn load(conn: &Connection) -> rusqlite::Result<Schema> {
        Ok(Schema {
            sessions: columns(conn, "sessions")?,
            messages: columns(conn, "messages")?,
        })
    }

    /// Why this is not a Crush database, if it is not.
    fn missing(&self) -> Option<String> {
        for (table, present, required) in [
            ("sessions", &self.sessions, &["id"][..]),
            (
                "messages",
                &self.messages,
                &["id", "session_id", "role", "parts"][..],
            ),
        ] {
            if present.is_empty() {
                return Some(format!("not a Crush database: no `{table}` table"));
            }
            if let Some(column) = required.iter().find(|column| !present.contains(**column)) {
                return Some(format!(
                    "not a Crush database: table `{table}` has no `{column}` column"
                ));
            }
        }
        None
    }

    /// `alias.column` when the table has it, else `NULL`.
    fn column(present: &HashSet<String>, alias: &str, column: &str) -> String {
        if present.contains(column) {
            format!("{alias}.\"{column}\"")
        } else {
            "NULL".to_owned()
        }
    }
}

/// A `sessions` row.
struct Head {
    id: String,
    parent: Option<String>,
    title: Option<String>,
    created: Option<i64>,
    updated: Option<i64>,
    summary_message: Option<String>,
    /// An assistant row of the session has no `finished_at` yet.
    unfinished: bool,
}

fn read_database(
    db: &Path,
    known: &KnownRevisions,
    outcome: &mut ParseOutcome,
    emit: &mut dyn FnMut(Session),
) -> Result<(), String> {
    let mut database = Database::open(db)?;
    let schema = database.read_stable(Schema::load)?;
    if let Some(problem) = schema.missing() {
        return Err(problem);
    }
    let heads = database.read_stable(|conn| list_sessions(conn, &schema))?;
    let cwd = project_dir(db);
    for head in heads {
        if head
            .parent
            .as_ref()
            .is_some_and(|parent| head.id == format!("title-{parent}"))
        {
            continue;
        }
        let revision = (!head.unfinished).then_some(head.updated).flatten();
        if revision.is_some() && known.get(&head.id) == revision.as_ref() {
            outcome.unchanged_sessions += 1;
            continue;
        }
        let read = database.read_stable(|conn| {
            let tx = conn.unchecked_transaction()?;
            read_messages(&tx, &schema, db, &head)
        });
        let (conversation, diagnostics) = match read {
            Ok(read) => read,
            Err(problem) => {
                // A damaged or locked file fails the same way for every later session.
                let problem = format!("session {}: {problem}", head.id);
                outcome
                    .diagnostics
                    .push(diagnostic(db, DiagnosticKind::Unreadable, problem));
                break;
            }
        };
        outcome.diagnostics.extend(diagnostics);
        emit(session(db, &cwd, head, revision, conversation));
    }
    Ok(())
}

fn list_sessions(conn: &Connection, schema: &Schema) -> rusqlite::Result<Vec<Head>> {
    let column = |name: &str| Schema::column(&schema.sessions, "s", name);
    let unfinished = if schema.messages.contains("finished_at") {
        "EXISTS (SELECT 1 FROM messages m WHERE m.session_id = s.id AND m.role = 'assistant' \
         AND m.finished_at IS NULL)"
    } else {
        "0"
    };
    let sql = format!(
        "SELECT s.id, {}, {}, {}, {}, {}, {unfinished} FROM sessions s ORDER BY {}, s.id",
        column("parent_session_id"),
        column("title"),
        column("created_at"),
        column("updated_at"),
        column("summary_message_id"),
        column("created_at"),
    );
    let mut statement = conn.prepare(&sql)?;
    let mut rows = statement.query([])?;
    let mut heads = Vec::new();
    while let Some(row) = rows.next()? {
        let Some(id) = text(row, 0) else { continue };
        heads.push(Head {
            id,
            parent: text(row, 1),
            title: text(row, 2),
            created: integer(row, 3),
            updated: integer(row, 4),
            summary_message: text(row, 5),
            unfinished: integer(row, 6).is_some_and(|flag| flag != 0),
        });
    }
    Ok(heads)
}

/// The session's messages in order, and the problems of its rows. A row without a time takes the
/// one before it (else the session's start); one whose `parts` cannot be read is reported.
fn read_messages(
    conn: &Connection,
    schema: &Schema,
    db: &Path,
    head: &Head,
) -> rusqlite::Result<(Conversation, Vec<Diagnostic>)> {
    let column = |name: &str| Schema::column(&schema.messages, "m", name);
    let sql = format!(
        "SELECT m.id, m.role, m.parts, {}, {}, {}, {} FROM messages m WHERE m.session_id = ?1 \
         ORDER BY {}, m.rowid",
        column("model"),
        column("provider"),
        column("created_at"),
        column("is_summary_message"),
        column("created_at"),
    );
    let mut statement = conn.prepare(&sql)?;
    let mut rows = statement.query([&head.id])?;
    let mut conversation = Conversation::default();
    let mut diagnostics = Vec::new();
    let mut last_time = head.created.and_then(epoch);
    while let Some(row) = rows.next()? {
        let Some(id) = text(row, 0) else { continue };
        let (role, parts) = (text(row, 1).unwrap_or_default(), text(row, 2).unwrap_or_default());
        let Some(at) = integer(row, 5).and_then(epoch).or(last_time) else {
            let problem = format!("session {}, message {id}: no creation time", head.id);
            diagnostics.push(diagnostic(db, DiagnosticKind::Malformed, problem));
            continue;
        };
        last_time = Some(at);
        let summary = integer(row, 6).is_some_and(|flag| flag != 0)
            || head.summary_message.as_deref() == Some(id.as_str());
        let message_row = Row {
            id: id.clone(),
            role: &role,
            parts: &parts,
            model: text(row, 3),
            provider: text(row, 4),
            at,
            summary,
        };
        for problem in conversation.push(message_row, 0) {
            let problem = format!("session {}, message {id}: {problem}", head.id);
            diagnostics.push(diagnostic(db, DiagnosticKind::Malformed, problem));
        }
    }
    Ok((conversation, diagnostics))
}

fn session(
    db: &Path,
    cwd: &Option<String>,
    head: Head,
    revision: Option<i64>,
    conversation: Conversation,
) -> Session {
    let title = head
        .title
        .filter(|title| title.trim() != PLACEHOLDER_TITLE && !title.trim().is_empty())
        .or_else(|| conversation.first_prompt.as_deref().map(title_from_prompt));
    let started_at = head
        .created
        .and_then(epoch)
        .or_else(|| conversation.messages.first().map(|message| message.timestamp));
    let (model, provider) = conversation
        .model
        .map_or((None, None), |(model, provider)| (Some(model), provider));
    Session {
        tool: TOOL,
        source_file: format!("{}#session/{}", db.display(), head.id),
        id: head.id,
        facts: SessionFacts {
            title,
            cwd: cwd.clone(),
            cwd_origin: Some(if cwd.is_some() { CWD_ORIGIN } else { UNRESOLVED }.to_owned()),
            model,
            provider,
            started_at,
            is_sidechain: head.parent.is_some(),
            parent_session_id: head.parent,
            revision,
            ..SessionFacts::default()
        },
        messages: conversation.messages,
    }
}

/// The database a candidate is: a data directory's, or a database file given as it is.
fn database_of(candidate: &Path) -> PathBuf {
    if candidate.is_dir() {
        candidate.join(DATABASE)
    } else {
        candidate.to_path_buf()
    }
}

/// The project: the directory holding `.crush/` (a database elsewhere has none).
fn project_dir(db: &Path) -> Option<String> {
    let data_dir = db.parent()?;
    if data_dir.file_name()? != DATA_DIR {
        return None;
    }
    Some(data_dir.parent()?.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_is_the_directory_holding_the_data_directory() {
        assert_eq!(
            project_dir(Path::new("/p/app/.crush/crush.db")).as_deref(),
            Some("/p/app")
        );
        assert_eq!(project_dir(Path::new("/backup/crush.db")), None);
    }
}
