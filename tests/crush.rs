//! Crush end to end: the `memtree` binary imports Crush's databases (fixtures/crush) into a real
//! PostgreSQL (tests/common), and a database is read while another connection writes it. What
//! the fixtures cannot freeze is built here: a live database in WAL mode, a session that changes,
//! an answer still being written, and the search for databases in project directories.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::written;
use rusqlite::{params, Connection};
use serde_json::{json, Value};

fn fixture(case: &str) -> PathBuf {
    common::fixture(&format!("crush/{case}/source"))
}

/// `memtree crush import --json` of `sources` into `db`, every session taken (the databases made
/// here live in a temporary directory, which is their cwd).
fn import(db: &common::TestDb, home: &Path, sources: &[&Path], extra: &[&str]) -> common::Run {
    let url = db.url();
    let sources: Vec<String> = sources.iter().map(|path| path.display().to_string()).collect();
    let mut args = vec![
        "crush",
        "import",
        "--json",
        "--include-trivial",
        "--include-sidechains",
        "--include-temp-cwd",
        "--full-transcript",
    ];
    args.extend(["--database-url", &url, "--source"]);
    args.extend(sources.iter().map(String::as_str));
    args.extend_from_slice(extra);
    common::memtree(&args, home)
}

/// Every stored row: (session, message id, row version).
async fn rows(db: &common::TestDb) -> Vec<(String, String, String)> {
    let client = db.client().await;
    common::query_rows(
        &client,
        "select meta->>'source_session_id', meta->>'source_message_id', xmin::text from memory order by 1, 2",
        |row| (row.get(0), row.get(1), row.get(2)),
    )
    .await
}

#[tokio::test]
async fn both_commands_import_and_a_rerun_writes_nothing() {
    let db = common::test_db().await;
    let home = tempfile::tempdir().unwrap();
    let sources = [
        fixture("schema-2025"),
        fixture("schema-2026"),
        fixture("child-session-built"),
    ];
    let sources: Vec<&Path> = sources.iter().map(PathBuf::as_path).collect();
    let first = import(&db, home.path(), &sources, &[]).succeeded();
    let (inserted, updated, unchanged) = written(&first);
    assert!(inserted > 60, "{first}");
    assert_eq!((updated, unchanged), (0, 0));
    // Two, two and two: the title session is not conversation.
    assert_eq!(first["sessions"]["found"], 6, "{first}");

    let client = db.client().await;
    let meta: Value = common::query_value(
        &client,
        "select meta from memory where meta->>'source_message_id' = '9e8d7c6b-0002-4000-8000-000000000004'",
        &[],
    )
    .await;
    assert_eq!(meta["source_tool"], "crush");
    assert_eq!(meta["source_is_sidechain"], true);
    assert_eq!(
        meta["source_parent_session_id"],
        "0f3c9a52-6d1e-4b7a-9c2e-5a8d1f4b7e10"
    );
    assert_eq!(meta["source_model"], "claude-haiku-4.5");
    assert_eq!(meta["source_provider"], "copilot");
    assert_eq!(meta["source_cwd_origin"], "data_dir_parent");
    assert!(meta["source_cwd"]
        .as_str()
        .unwrap()
        .ends_with("crush/child-session-built/source"));
    let before = rows(&db).await;
    assert_eq!(before.len() as u64, inserted);

    // The other spelling; the ledger knows every session at its revision: none is read again.
    let url = db.url();
    let listed: Vec<String> = sources.iter().map(|path| path.display().to_string()).collect();
    let mut args = vec![
        "import",
        "crush",
        "--json",
        "--include-trivial",
        "--include-sidechains",
    ];
    args.extend([
        "--include-temp-cwd",
        "--full-transcript",
        "--database-url",
        &url,
        "--source",
    ]);
    args.extend(listed.iter().map(String::as_str));
    let second = common::memtree(&args, home.path()).succeeded();
    assert_eq!(written(&second), (0, 0, 0), "{second}");
    assert_eq!(second["sessions"]["found"], 0, "{second}");
    assert_eq!(second["sessions"]["unchanged"], 6, "{second}");

    // Read whole again, every row is found current and none rewritten.
    let third = import(&db, home.path(), &sources, &["--rescan"]).succeeded();
    assert_eq!(written(&third), (0, 0, inserted), "{third}");
    assert_eq!(rows(&db).await, before, "no row was rewritten");
}

/// A project holding a Crush database of the 2026 schema with no session (a copy of the empty
/// fixture), opened for writing as Crush does: WAL, and (as a busy Crush between checkpoints)
/// every commit kept in the WAL. Crush's triggers stamp `updated_at` with the clock's second; the
/// tests stamp it themselves ([`add_message`]), so that what they write moves it.
fn live_project(dir: &Path) -> (PathBuf, Connection) {
    let data = dir.join(".crush");
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("crush.db");
    std::fs::copy(fixture("empty-db").join(".crush/crush.db"), &db).unwrap();
    let conn = Connection::open(&db).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    let triggers: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for trigger in triggers {
        conn.execute_batch(&format!("DROP TRIGGER \"{trigger}\""))
            .unwrap();
    }
    (db, conn)
}

/// Creates session `id` as Crush does.
fn create_session(conn: &Connection, id: &str, at: i64) {
    conn.execute(
        "INSERT INTO sessions (id, title, updated_at, created_at) VALUES (?1, 'New Session', ?2, ?2)",
        params![id, at],
    )
    .unwrap();
}

/// Adds a message with one text part (an assistant message is finished unless `finished` is
/// false) and moves its session's `updated_at` and `message_count` as Crush's triggers do.
fn add_message(conn: &Connection, session: &str, id: &str, role: &str, text: &str, at: i64, finished: bool) {
    let parts = json!([{"type": "text", "data": {"text": text}}]).to_string();
    let finished_at = (role == "assistant" && finished).then_some(at);
    conn.execute(
        "INSERT INTO messages (id, session_id, role, parts, model, provider, created_at, updated_at, finished_at) \
         VALUES (?1, ?2, ?3, ?4, 'gpt-5-mini', 'openai', ?5, ?5, ?6)",
        params![id, session, role, parts, at, finished_at],
    )
    .unwrap();
    conn.execute(
        "UPDATE sessions SET updated_at = ?2, message_count = message_count + 1 WHERE id = ?1",
        params![session, at],
    )
    .unwrap();
}

fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect()
}

const SESSION: &str = "11111111-2222-4333-8444-555555555555";

#[test]
fn a_database_crush_is_writing_is_read_without_error_and_without_writing_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = live_project(dir.path());
    create_session(&writer, SESSION, 1_775_000_000);
    add_message(
        &writer,
        SESSION,
        "m1",
        "user",
        "first prompt",
        1_775_000_001,
        true,
    );
    let data = db.parent().unwrap().to_path_buf();
    let wal = data.join("crush.db-wal");
    let wal_before = std::fs::read(&wal).unwrap();
    assert!(!wal_before.is_empty(), "the session lives only in the WAL");
    let files_before = listing(&data);

    let (sessions, problems) = common::read_store("crush", &data, &mut |_| {});
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(sessions.len(), 1);
    assert_eq!(common::block_texts(&sessions[0]), ["first prompt"]);
    assert_eq!(
        listing(&data),
        files_before,
        "no file created beside the database"
    );
    assert_eq!(
        std::fs::read(&wal).unwrap(),
        wal_before,
        "no checkpoint, no write"
    );

    // Crush writes on while the session is being planned: the read ends cleanly, and the next
    // one sees what was written.
    let (sessions, problems) = common::read_store("crush", &data, &mut |_| {
        add_message(
            &writer,
            SESSION,
            "m2",
            "assistant",
            "an answer",
            1_775_000_002,
            true,
        );
        create_session(&writer, "22222222-2222-4333-8444-555555555555", 1_775_000_003);
        add_message(
            &writer,
            "22222222-2222-4333-8444-555555555555",
            "m3",
            "user",
            "another",
            1_775_000_003,
            true,
        );
    });
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(sessions.len(), 1);
    let (sessions, _) = common::read_store("crush", &data, &mut |_| {});
    assert_eq!(sessions.len(), 2);
    assert_eq!(common::block_texts(&sessions[0]), ["first prompt", "an answer"]);
    assert_eq!(listing(&data), files_before);
}

#[test]
fn a_database_closed_cleanly_is_read_without_creating_wal_or_shm_files() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = live_project(dir.path());
    create_session(&writer, SESSION, 1_775_000_000);
    add_message(
        &writer,
        SESSION,
        "m1",
        "user",
        "first prompt",
        1_775_000_001,
        true,
    );
    drop(writer);
    let data = db.parent().unwrap().to_path_buf();
    assert_eq!(listing(&data), BTreeSet::from(["crush.db".to_owned()]));
    let (sessions, problems) = common::read_store("crush", &data, &mut |_| {});
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(common::block_texts(&sessions[0]), ["first prompt"]);
    assert_eq!(listing(&data), BTreeSet::from(["crush.db".to_owned()]));
}

#[tokio::test]
async fn a_session_that_changed_is_read_again_alone_and_an_answer_until_it_is_finished() {
    let db = common::test_db().await;
    let home = tempfile::tempdir().unwrap();
    let project = home.path().join("app");
    let (_, writer) = live_project(&project);
    let other = "33333333-2222-4333-8444-555555555555";
    create_session(&writer, other, 1_775_000_000);
    add_message(
        &writer,
        other,
        "o1",
        "user",
        "a finished session",
        1_775_000_000,
        true,
    );
    add_message(
        &writer,
        other,
        "o2",
        "assistant",
        "its answer",
        1_775_000_001,
        true,
    );
    create_session(&writer, SESSION, 1_775_000_010);
    add_message(
        &writer,
        SESSION,
        "m1",
        "user",
        "first prompt",
        1_775_000_010,
        true,
    );
    add_message(
        &writer,
        SESSION,
        "m2",
        "assistant",
        "the answer be",
        1_775_000_011,
        false,
    );
    let first = import(&db, home.path(), &[&project], &[]).succeeded();
    assert_eq!(written(&first), (4, 0, 0), "{first}");

    // The answer is still being written: its session is read again, the other one is not.
    let second = import(&db, home.path(), &[&project], &[]).succeeded();
    assert_eq!(second["sessions"]["found"], 1, "{second}");
    assert_eq!(second["sessions"]["unchanged"], 1, "{second}");
    assert_eq!(written(&second), (0, 0, 2), "{second}");

    // Crush finishes it.
    let parts = json!([{"type": "text", "data": {"text": "the answer begins and ends"}}]).to_string();
    writer
        .execute(
            "UPDATE messages SET parts = ?1, finished_at = 1775000012, updated_at = 1775000012 WHERE id = 'm2'",
            [&parts],
        )
        .unwrap();
    let third = import(&db, home.path(), &[&project], &[]).succeeded();
    assert_eq!(written(&third), (0, 1, 1), "{third}");
    let fourth = import(&db, home.path(), &[&project], &[]).succeeded();
    assert_eq!(fourth["sessions"]["found"], 0, "{fourth}");

    // A new message moves the session's `updated_at`: read again alone.
    add_message(&writer, other, "o3", "user", "one more", 1_775_100_000, true);
    let fifth = import(&db, home.path(), &[&project], &[]).succeeded();
    assert_eq!(fifth["sessions"]["found"], 1, "{fifth}");
    assert_eq!(written(&fifth), (1, 0, 2), "{fifth}");
}

/// A project under `home/relative` whose Crush database holds one session with `prompt`.
fn project_in(home: &Path, relative: &str, prompt: &str) {
    let (_, writer) = live_project(&home.join(relative));
    create_session(&writer, SESSION, 1_775_000_000);
    add_message(
        &writer,
        SESSION,
        &format!("{relative}-1"),
        "user",
        prompt,
        1_775_000_000,
        true,
    );
    add_message(
        &writer,
        SESSION,
        &format!("{relative}-2"),
        "assistant",
        "ok",
        1_775_000_001,
        true,
    );
    writer.pragma_update(None, "journal_mode", "DELETE").unwrap();
}

fn titles(report: &Value) -> Vec<String> {
    let mut titles: Vec<String> = report["session_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}

#[test]
fn the_home_directory_is_searched_pruned_and_a_project_narrows_the_search() {
    let home = tempfile::tempdir().unwrap();
    project_in(home.path(), "code/api", "in api");
    project_in(home.path(), "code/web", "in web");
    project_in(home.path(), "code/web/node_modules/dep", "in node_modules");
    project_in(home.path(), ".cache/copy", "in a hidden directory");
    project_in(home.path(), "code/rust/target/debug", "in build output");
    let args = [
        "crush",
        "import",
        "--dry-run",
        "--json",
        "--include-trivial",
        "--include-temp-cwd",
    ];
    let everything = common::memtree(&args, home.path()).succeeded();
    assert_eq!(everything["files"]["scanned"], 2, "{everything}");
    assert_eq!(titles(&everything), ["in api", "in web"]);

    let scoped =
        common::memtree(&[&args[..], &["--project", "~/code/web"]].concat(), home.path()).succeeded();
    assert_eq!(scoped["files"]["scanned"], 1, "{scoped}");
    assert_eq!(titles(&scoped), ["in web"]);

    // The database itself, or its data directory, given as the source.
    let data = home.path().join("code/api/.crush");
    for given in [data.clone(), data.join("crush.db")] {
        let given = given.display().to_string();
        let report = common::memtree(&[&args[..], &["--source", &given]].concat(), home.path()).succeeded();
        assert_eq!(titles(&report), ["in api"], "{given}");
    }
}
