//! OpenCode database reading under the conditions fixtures cannot freeze: a database OpenCode is
//! writing (rows only in the WAL), WAL leftovers, locks, corruption, older schemas, and the
//! promise never to create, change or lock the user's files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use memtree::model::DiagnosticKind;
use memtree::source::{self, Candidate, ParseOutcome, Source, StoreReader, Unit};

fn opencode() -> &'static dyn Source {
    source::named("opencode").unwrap()
}

fn store_reader() -> &'static dyn StoreReader {
    match opencode().unit() {
        Unit::Store(reader) => reader,
        Unit::Transcript(_) => panic!("opencode is a store"),
    }
}
use rusqlite::config::DbConfig;
use rusqlite::{params, Connection};

/// The 1.x tables memtree reads, as OpenCode 1.17 creates them (formats.md 3.2), plus a credential
/// table that must never be read.
const SCHEMA: &str = "
CREATE TABLE project (id text PRIMARY KEY, worktree text NOT NULL, vcs text, name text,
  time_created integer NOT NULL, time_updated integer NOT NULL, sandboxes text NOT NULL);
CREATE TABLE session (id text PRIMARY KEY, project_id text NOT NULL, parent_id text, slug text NOT NULL,
  directory text NOT NULL, title text NOT NULL, version text NOT NULL, time_created integer NOT NULL,
  time_updated integer NOT NULL, agent text, model text);
CREATE TABLE message (id text PRIMARY KEY, session_id text NOT NULL, time_created integer NOT NULL,
  time_updated integer NOT NULL, data text NOT NULL);
CREATE TABLE part (id text PRIMARY KEY, message_id text NOT NULL, session_id text NOT NULL,
  time_created integer NOT NULL, time_updated integer NOT NULL, data text NOT NULL);
CREATE INDEX message_session_time_created_id_idx ON message (session_id, time_created, id);
CREATE INDEX part_message_id_id_idx ON part (message_id, id);
CREATE TABLE credential (id text PRIMARY KEY, secret text NOT NULL);
INSERT INTO credential VALUES ('cred_1', 'sk-never-read');
INSERT INTO project VALUES ('global', '/', NULL, NULL, 1, 1, '[]');
";

const SESSION: &str = "ses_1000000000ffeTestSession001";

fn insert_session(conn: &Connection, id: &str, parent: Option<&str>) {
    conn.execute(
        "INSERT INTO session VALUES (?1, 'global', ?2, 'slug', '/home/dev/app', 'Live session', '1.17.3', 1000, 1000, 'build', NULL)",
        params![id, parent],
    )
    .unwrap();
}

/// Inserts a user message with one text part; ids ascend with `n` as OpenCode's do.
fn insert_message(conn: &Connection, session: &str, n: i64, text: &str) {
    let message = format!("msg_{n:012}{session}");
    let data = serde_json::json!({"role": "user", "time": {"created": 1000 + n}}).to_string();
    conn.execute(
        "INSERT INTO message VALUES (?1, ?2, ?3, ?3, ?4)",
        params![message, session, 1000 + n, data],
    )
    .unwrap();
    let part = serde_json::json!({"type": "text", "text": text}).to_string();
    conn.execute(
        "INSERT INTO part VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
        params![format!("prt_{n:012}"), message, session, 1000 + n, part],
    )
    .unwrap();
}

fn create_database(path: &Path, wal: bool) -> Connection {
    let conn = Connection::open(path).unwrap();
    if wal {
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        // Keep every later commit in the WAL, as a busy OpenCode between checkpoints does.
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    }
    conn.execute_batch(SCHEMA).unwrap();
    if wal {
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    conn
}

/// A database (in WAL mode or not) in a fresh directory, holding [`SESSION`] with one prompt:
/// the directory, the database's path and the writer's connection.
fn database_with_one_prompt(wal: bool, prompt: &str) -> (tempfile::TempDir, PathBuf, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("opencode.db");
    let writer = create_database(&db, wal);
    insert_session(&writer, SESSION, None);
    insert_message(&writer, SESSION, 1, prompt);
    (dir, db, writer)
}

fn parse_root(root: &Path) -> ParseOutcome {
    let discovery = opencode().discover(&[root.to_path_buf()], None);
    assert!(discovery.diagnostics.is_empty(), "{:?}", discovery.diagnostics);
    assert_eq!(discovery.candidates.len(), 1, "one candidate per data root");
    opencode().parse(&discovery.candidates[0])
}

/// [`parse_root`] of a root that must read without any diagnostic.
fn parse_cleanly(root: &Path) -> ParseOutcome {
    let outcome = parse_root(root);
    assert!(outcome.diagnostics.is_empty(), "{:?}", outcome.diagnostics);
    outcome
}

fn texts(outcome: &ParseOutcome, session: &str) -> Vec<String> {
    let session = outcome
        .sessions
        .iter()
        .find(|s| s.id == session)
        .expect("session imported");
    session
        .messages
        .iter()
        .flat_map(|m| m.blocks.iter().map(|b| b.text.clone()))
        .collect()
}

fn dir_listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

fn sibling(db: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", db.display()))
}

#[test]
fn rows_only_in_the_wal_of_a_database_being_written_are_seen_without_disturbing_the_writer() {
    let (dir, db, writer) = database_with_one_prompt(true, "first prompt");
    let wal_before = std::fs::read(sibling(&db, "-wal")).unwrap();
    assert!(!wal_before.is_empty(), "the rows live only in the WAL");
    let files_before = dir_listing(dir.path());

    let outcome = parse_cleanly(&db);
    assert_eq!(texts(&outcome, SESSION), ["first prompt"]);
    let session = &outcome.sessions[0];
    assert_eq!(session.source_file, format!("{}#session/{SESSION}", db.display()));

    assert_eq!(
        dir_listing(dir.path()),
        files_before,
        "no file created next to the database"
    );
    assert_eq!(
        std::fs::read(sibling(&db, "-wal")).unwrap(),
        wal_before,
        "no checkpoint, no write"
    );
    // The writer was not locked out and goes on; the next import sees its new row.
    insert_message(&writer, SESSION, 2, "second prompt");
    assert_eq!(
        texts(&parse_root(&db), SESSION),
        ["first prompt", "second prompt"]
    );
}

#[test]
fn a_cleanly_closed_wal_database_is_read_without_creating_wal_or_shm_files() {
    let (dir, _db, writer) = database_with_one_prompt(true, "hello");
    drop(writer); // the last connection checkpoints and removes -wal and -shm
    assert_eq!(
        dir_listing(dir.path()),
        BTreeSet::from(["opencode.db".to_owned()])
    );

    let outcome = parse_cleanly(dir.path());
    assert_eq!(texts(&outcome, SESSION), ["hello"]);
    assert_eq!(
        dir_listing(dir.path()),
        BTreeSet::from(["opencode.db".to_owned()])
    );
}

#[test]
fn a_cleanly_closed_database_that_changes_during_the_read_is_read_again_without_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("opencode.db");
    let writer = create_database(&db, true);
    let id = |n: usize| format!("ses_1000000000ffeTestSession00{n}");
    for n in 0..3 {
        insert_session(&writer, &id(n), None);
        insert_message(&writer, &id(n), n as i64 + 1, &format!("message {n}"));
    }
    drop(writer); // closed cleanly: read `immutable`, which cannot see later writes by itself
    let discovery = opencode().discover(&[dir.path().to_path_buf()], None);
    let mut delivered = Vec::new();
    let outcome = store_reader().read(&discovery.candidates[0], &Default::default(), &mut |session| {
        if delivered.is_empty() {
            // OpenCode adds a session while the first one is planned.
            let writer = Connection::open(&db).unwrap();
            insert_session(&writer, &id(3), None);
            insert_message(&writer, &id(3), 4, "message 3");
        }
        delivered.push(session.id.clone());
    });
    assert!(outcome.diagnostics.is_empty(), "{:?}", outcome.diagnostics);
    delivered.sort();
    assert_eq!(
        delivered,
        (0..4).map(id).collect::<Vec<_>>(),
        "the read restarted (the new session is seen) and delivered nothing twice"
    );
}

#[test]
fn a_wal_left_without_its_shm_is_read_from_a_private_copy() {
    let (_dir, db, writer) = database_with_one_prompt(true, "only in the WAL");
    // Closing without a checkpoint leaves the rows in the WAL.
    writer
        .set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .unwrap();
    drop(writer);
    let _ = std::fs::remove_file(sibling(&db, "-shm"));
    let wal = std::fs::read(sibling(&db, "-wal")).unwrap();
    assert!(!wal.is_empty());

    let outcome = parse_cleanly(&db);
    assert_eq!(texts(&outcome, SESSION), ["only in the WAL"]);
    assert!(
        !sibling(&db, "-shm").exists(),
        "no -shm created next to the user's database"
    );
    assert_eq!(std::fs::read(sibling(&db, "-wal")).unwrap(), wal);
}

#[test]
fn a_locked_database_is_one_unreadable_diagnostic_and_the_json_storage_is_still_read() {
    let (dir, db, writer) = database_with_one_prompt(false, "in the database");
    writer
        .execute_batch("BEGIN EXCLUSIVE; UPDATE session SET title = 'being written';")
        .unwrap();
    let storage = dir.path().join("storage");
    let json_session = "ses_0900000000ffeJsonBesideLock";
    std::fs::create_dir_all(storage.join("session/global")).unwrap();
    std::fs::create_dir_all(storage.join("message").join(json_session)).unwrap();
    std::fs::create_dir_all(storage.join("part/msg_1")).unwrap();
    std::fs::write(
        storage.join(format!("session/global/{json_session}.json")),
        r#"{"title": "json"}"#,
    )
    .unwrap();
    let message = r#"{"role": "user", "time": {"created": 5}}"#;
    std::fs::write(
        storage.join(format!("message/{json_session}/msg_1.json")),
        message,
    )
    .unwrap();
    std::fs::write(
        storage.join("part/msg_1/prt_1.json"),
        r#"{"type": "text", "text": "from json"}"#,
    )
    .unwrap();

    let outcome = parse_root(dir.path());
    assert_eq!(outcome.diagnostics.len(), 1, "{:?}", outcome.diagnostics);
    let diagnostic = &outcome.diagnostics[0];
    assert_eq!(
        (diagnostic.kind, diagnostic.file.as_path()),
        (DiagnosticKind::Unreadable, db.as_path())
    );
    assert!(diagnostic.message.contains("locked"), "{}", diagnostic.message);
    assert_eq!(texts(&outcome, json_session), ["from json"]);
    writer.execute_batch("COMMIT").unwrap();
}

/// A database with enough rows to span many pages.
fn filled_database(dir: &Path) -> PathBuf {
    let db = dir.join("opencode.db");
    let conn = create_database(&db, false);
    insert_session(&conn, SESSION, None);
    for n in 1..200 {
        insert_message(&conn, SESSION, n, &"words ".repeat(100));
    }
    db
}

fn assert_one_unreadable(db: &Path) {
    let outcome = parse_root(db);
    let kinds: Vec<_> = outcome
        .diagnostics
        .iter()
        .map(|d| (d.kind, d.file.clone()))
        .collect();
    assert_eq!(
        kinds,
        [(DiagnosticKind::Unreadable, db.to_path_buf())],
        "{:?}",
        outcome.diagnostics
    );
}

#[test]
fn a_truncated_database_is_unreadable_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = filled_database(dir.path());
    let bytes = std::fs::read(&db).unwrap();
    std::fs::write(&db, &bytes[..bytes.len() / 3]).unwrap();
    assert_one_unreadable(&db);
}

#[test]
fn a_corrupt_database_is_unreadable_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = filled_database(dir.path());
    let mut bytes = std::fs::read(&db).unwrap();
    // Keep the 100-byte header, destroy every page after it.
    for byte in &mut bytes[100..] {
        *byte = 0xA5;
    }
    std::fs::write(&db, bytes).unwrap();
    assert_one_unreadable(&db);
}

#[test]
fn an_sqlite_file_without_opencode_tables_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("opencode.db");
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE other (x)")
        .unwrap();
    assert_one_unreadable(&db);
}

#[test]
fn an_older_schema_without_optional_columns_and_tables_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("opencode.db");
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE session (id text PRIMARY KEY, parent_id text, title text);
         CREATE TABLE message (id text PRIMARY KEY, session_id text, data text);
         CREATE TABLE part (id text PRIMARY KEY, message_id text, data text);
         INSERT INTO session VALUES ('ses_child', 'ses_parent', 'Old child');
         INSERT INTO message VALUES ('msg_1', 'ses_child', '{\"role\":\"assistant\",\"time\":{\"created\":1700000000000},\"modelID\":\"m\"}');
         INSERT INTO part VALUES ('prt_1', 'msg_1', '{\"type\":\"text\",\"text\":\"old answer\"}');
         INSERT INTO part VALUES ('prt_2', 'msg_1', 'not json');",
    )
    .unwrap();
    drop(conn);
    let outcome = parse_root(&db);
    let kinds: Vec<_> = outcome.diagnostics.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [DiagnosticKind::Malformed],
        "the `not json` part: {:?}",
        outcome.diagnostics
    );
    assert_eq!(texts(&outcome, "ses_child"), ["old answer"]);
    let facts = &outcome.sessions[0].facts;
    assert_eq!(
        (facts.is_sidechain, facts.parent_session_id.as_deref()),
        (true, Some("ses_parent"))
    );
    assert_eq!(
        facts.started_at.map(|t| t.timestamp_millis()),
        Some(1_700_000_000_000)
    );
}

#[test]
fn discovery_takes_a_data_dir_a_database_or_a_storage_dir_and_skips_what_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("opencode");
    std::fs::create_dir_all(data.join("storage/session/global")).unwrap();
    drop(create_database(&data.join("opencode.db"), false));
    let roots = [
        data.clone(),
        data.join("opencode.db"),
        data.join("storage"),
        data.clone(),
        dir.path().join("missing"),
    ];
    let discovery = opencode().discover(&roots, None);
    let paths: Vec<_> = discovery
        .candidates
        .iter()
        .map(|c: &Candidate| c.path.clone())
        .collect();
    assert_eq!(
        paths,
        [data.clone(), data.join("opencode.db"), data.join("storage")]
    );
    assert!(discovery.diagnostics.is_empty());
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(opencode().discover(&[empty], None).candidates.is_empty());
}
