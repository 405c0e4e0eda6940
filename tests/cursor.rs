//! Cursor end to end: the `memtree` binary imports Cursor's stores (fixtures/cursor) into a real
//! PostgreSQL (tests/common), and the IDE database is read while another connection writes it.
//! What the fixtures cannot freeze is built here: a transcript that grows, a live database, a
//! re-run against the session ledger.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::written;
use rusqlite::{params, Connection};
use serde_json::{json, Value};

/// The fake credentials every Cursor fixture database holds beside its conversations.
const FAKE_TOKEN: &str = "FAKE-cursor-access-token-never-imported";
const FAKE_KEY: &str = "FAKE-blob-encryption-key-never-imported";

/// `memtree cursor import --json` of `sources` into `db`, every session taken.
fn import(db: &common::TestDb, home: &Path, sources: &[&Path], extra: &[&str]) -> common::Run {
    let url = db.url();
    let sources: Vec<String> = sources.iter().map(|path| path.display().to_string()).collect();
    let mut args = vec![
        "cursor",
        "import",
        "--json",
        "--include-trivial",
        "--include-sidechains",
        "--full-transcript",
    ];
    args.extend(["--database-url", &url, "--source"]);
    args.extend(sources.iter().map(String::as_str));
    args.extend_from_slice(extra);
    common::memtree(&args, home)
}

/// Every stored row: (session, message id, timestamp, row version).
async fn rows(db: &common::TestDb) -> Vec<(String, String, String, String)> {
    let client = db.client().await;
    common::query_rows(
        &client,
        "select meta->>'source_session_id', meta->>'source_message_id', \
         to_char(lower(temporal) at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS'), xmin::text \
         from memory order by 1, 2",
        |row| (row.get(0), row.get(1), row.get(2), row.get(3)),
    )
    .await
}

fn fixture(case: &str) -> PathBuf {
    common::fixture(&format!("cursor/{case}/source"))
}

#[tokio::test]
async fn both_commands_import_and_a_rerun_writes_nothing() {
    let db = common::test_db().await;
    let home = tempfile::tempdir().unwrap();
    let sources = [fixture("two-stores"), fixture("vscdb-v16"), fixture("jsonl-ide")];
    let sources: Vec<&Path> = sources.iter().map(PathBuf::as_path).collect();
    let first = import(&db, home.path(), &sources, &[]).succeeded();
    let (inserted, updated, unchanged) = written(&first);
    assert!(inserted > 20, "{first}");
    assert_eq!((updated, unchanged), (0, 0));
    assert_eq!(first["sessions"]["found"], 4, "{first}");
    let before = rows(&db).await;
    assert_eq!(before.len() as u64, inserted);

    // The ledger knows every session at its revision: nothing is read again.
    let url = db.url();
    let mut args = vec![
        "import",
        "cursor",
        "--json",
        "--include-trivial",
        "--include-sidechains",
    ];
    args.extend(["--full-transcript", "--database-url", &url, "--source"]);
    let listed: Vec<String> = sources.iter().map(|path| path.display().to_string()).collect();
    args.extend(listed.iter().map(String::as_str));
    let second = common::memtree(&args, home.path()).succeeded();
    assert_eq!(written(&second), (0, 0, 0), "{second}");
    assert_eq!(second["sessions"]["found"], 0, "{second}");
    assert_eq!(second["sessions"]["unchanged"], 4, "{second}");

    // Read whole again, every row is found current and none rewritten.
    let third = import(&db, home.path(), &sources, &["--rescan"]).succeeded();
    assert_eq!(written(&third), (0, 0, inserted), "{third}");
    assert_eq!(rows(&db).await, before, "no row was rewritten");
}

#[tokio::test]
async fn a_conversation_in_two_stores_is_one_set_of_rows() {
    let db = common::test_db().await;
    let home = tempfile::tempdir().unwrap();
    let report = import(&db, home.path(), &[&fixture("two-stores")], &[]).succeeded();
    assert_eq!(report["sessions"]["found"], 2, "{report}");
    let client = db.client().await;
    let files: Vec<(String, String, i64)> = common::query_rows(
        &client,
        "select meta->>'source_session_id', meta->>'source_file', count(*) from memory \
         group by 1, 2 order by 1",
        |row| (row.get(0), row.get(1), row.get(2)),
    )
    .await;
    let summary: Vec<(&str, &str, i64)> = files
        .iter()
        .map(|(session, file, count)| (session.as_str(), file.rsplit("/source/").next().unwrap(), *count))
        .collect();
    assert_eq!(
        summary,
        [
            // The IDE's composer, not its transcript; the cursor-agent store, not its transcript.
            (
                "b7e3f1a2-4c5d-4e6f-9a0b-1c2d3e4f5a6b",
                ".config/Cursor/User/globalStorage/state.vscdb#composer/b7e3f1a2-4c5d-4e6f-9a0b-1c2d3e4f5a6b",
                4
            ),
            (
                "e8d7c6b5-a493-4827-9160-5f4e3d2c1b0a",
                ".cursor/chats/d931e651fcc8ea502005569080ca09a5/e8d7c6b5-a493-4827-9160-5f4e3d2c1b0a/store.db",
                6
            ),
        ]
    );
    // The transcript's facts were not needed; the IDE's are the session's.
    let meta: Value = common::query_value(
        &client,
        "select meta from memory where meta->>'source_message_id' = '11111111-aaaa-4aaa-8aaa-000000000001'",
        &[],
    )
    .await;
    assert_eq!(meta["source_cwd"], "/home/lena/src/weather-api");
    assert_eq!(meta["source_cwd_origin"], "workspace_json");
    assert_eq!(meta["source_session_title"], "Rename weather API key variable");
    assert_eq!(meta["source_model"], "claude-4.5-sonnet");
}

#[tokio::test]
async fn a_dry_run_plans_and_writes_nothing() {
    let db = common::test_db().await;
    let home = tempfile::tempdir().unwrap();
    let run = import(&db, home.path(), &[&fixture("vscdb-v9")], &["--dry-run"]);
    let report = run.succeeded();
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["sessions"]["imported"], 1, "{report}");
    assert!(report["messages"]["planned"].as_u64().unwrap() >= 12, "{report}");
    let client = db.client().await;
    let stored: i64 = common::query_value(
        &client,
        "select count(*) from pg_tables where tablename = 'memory'",
        &[],
    )
    .await;
    if stored > 0 {
        let rows: i64 = common::query_value(&client, "select count(*) from memory", &[]).await;
        assert_eq!(rows, 0);
    }
}

/// Appends `records` (JSON lines) to the file at `path`.
fn append(path: &Path, records: &[Value]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    for record in records {
        writeln!(file, "{record}").unwrap();
    }
}

#[tokio::test]
async fn a_transcript_that_grows_keeps_the_ids_and_times_of_its_earlier_messages() {
    let db = common::test_db().await;
    let home = tempfile::tempdir().unwrap();
    let root = home.path().join(".cursor");
    common::copy_tree(&fixture("jsonl-flat").join(".cursor"), &root);
    let transcript = root.join(
        "projects/home-lena-src-weather-api/agent-transcripts/3f2a1c7e-5b9d-4e8f-a012-6c4d8e9f1a2b.jsonl",
    );
    let first = import(&db, home.path(), &[&root], &[]).succeeded();
    assert_eq!(written(&first).1, 0);
    let before = rows(&db).await;

    append(
        &transcript,
        &[
            json!({"role": "user", "message": {"content": [{"type": "text", "text":
                "<timestamp>Wednesday, Mar 11, 2026, 8:00 AM (UTC-7)</timestamp>\n<user_query>\nand a readiness probe\n</user_query>"}]}}),
            json!({"role": "assistant", "message": {"content": [
                {"type": "text", "text": "Added `GET /ready`."}]}}),
            json!({"type": "turn_ended", "status": "success"}),
        ],
    );
    let second = import(&db, home.path(), &[&root], &[]).succeeded();
    assert_eq!(written(&second), (2, 0, before.len() as u64), "{second}");
    let after = rows(&db).await;
    for row in &before {
        assert!(after.contains(row), "earlier row kept as it was: {row:?}");
    }
    let new: Vec<_> = after.iter().filter(|row| !before.contains(row)).collect();
    let new: Vec<(&str, &str)> = new.iter().map(|row| (row.1.as_str(), row.2.as_str())).collect();
    assert_eq!(
        new,
        [("12", "2026-03-11T15:00:00"), ("13", "2026-03-11T15:00:00")],
        "new lines get the next positions and their own turn's time"
    );
}

#[tokio::test]
async fn credentials_beside_the_conversations_never_reach_the_database_or_the_report() {
    let db = common::test_db().await;
    let home = tempfile::tempdir().unwrap();
    let cases: Vec<PathBuf> = common::clean_cases("cursor")
        .into_iter()
        .map(|case| case.join("source"))
        .collect();
    let sources: Vec<&Path> = cases.iter().map(PathBuf::as_path).collect();
    // The fixtures do hold them, next to what is imported.
    let mut holding = 0;
    for source in &cases {
        for entry in walkdir::WalkDir::new(source) {
            let entry = entry.unwrap();
            if entry.file_type().is_file() {
                let bytes = std::fs::read(entry.path()).unwrap();
                let text = String::from_utf8_lossy(&bytes);
                holding += usize::from(text.contains(FAKE_TOKEN) || text.contains(FAKE_KEY));
            }
        }
    }
    assert!(holding >= 5, "the fixtures hold fake credentials ({holding})");
    let run = import(&db, home.path(), &sources, &[]);
    let report = run.succeeded();
    assert!(written(&report).0 > 50, "{report}");
    for output in [&run.stdout, &run.stderr] {
        assert!(!output.contains(FAKE_TOKEN) && !output.contains(FAKE_KEY));
        assert!(!output.contains("example.invalid"));
    }
    let client = db.client().await;
    let leaks: i64 = common::query_value(
        &client,
        "select count(*) from memory where content like '%' || $1 || '%' or meta::text like '%' || $1 || '%' \
         or content like '%' || $2 || '%' or meta::text like '%' || $2 || '%' or meta::text like '%example.invalid%'",
        &[&FAKE_TOKEN, &FAKE_KEY],
    )
    .await;
    assert_eq!(leaks, 0);
}

// ---------------------------------------------------------------------------------------------
// A live IDE database

const COMPOSER: &str = "5a5a5a5a-1111-4222-8333-444444444444";

/// A global `state.vscdb` in WAL mode, every commit kept in the WAL (as a busy Cursor between
/// checkpoints), holding one composer with one prompt and a credential row.
fn live_database(dir: &Path) -> (PathBuf, Connection) {
    let path = dir.join("globalStorage/state.vscdb");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    conn.execute_batch(
        "CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);
         CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);",
    )
    .unwrap();
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
    conn.execute(
        "INSERT INTO ItemTable VALUES ('cursorAuth/accessToken', ?1)",
        [FAKE_TOKEN],
    )
    .unwrap();
    write_conversation(&conn, COMPOSER, &["first prompt"]);
    (path, conn)
}

/// Writes composer `id` with one user bubble per prompt, as Cursor does after each message.
fn write_conversation(conn: &Connection, id: &str, prompts: &[&str]) {
    let headers: Vec<Value> = (0..prompts.len())
        .map(|n| json!({"bubbleId": format!("bubble-{n}"), "type": 1}))
        .collect();
    let composer = json!({"_v": 16, "composerId": id, "name": "Live", "createdAt": 1_770_000_000_000_i64,
        "lastUpdatedAt": 1_770_000_000_000_i64 + prompts.len() as i64, "fullConversationHeadersOnly": headers,
        "blobEncryptionKey": FAKE_KEY});
    conn.execute(
        "INSERT INTO cursorDiskKV VALUES (?1, ?2)",
        params![format!("composerData:{id}"), composer.to_string()],
    )
    .unwrap();
    for (n, prompt) in prompts.iter().enumerate() {
        let bubble = json!({"_v": 3, "type": 1, "bubbleId": format!("bubble-{n}"), "text": prompt,
            "createdAt": format!("2026-02-02T02:00:0{n}.000Z")});
        conn.execute(
            "INSERT INTO cursorDiskKV VALUES (?1, ?2)",
            params![format!("bubbleId:{id}:bubble-{n}"), bubble.to_string()],
        )
        .unwrap();
    }
}

fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect()
}

#[test]
fn a_database_cursor_is_writing_is_read_without_error_and_without_writing_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = live_database(dir.path());
    let storage = db.parent().unwrap().to_path_buf();
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    let wal_before = std::fs::read(&wal).unwrap();
    assert!(!wal_before.is_empty(), "the conversation lives only in the WAL");
    let files_before = listing(&storage);

    let (sessions, problems) = common::read_store("cursor", dir.path(), &mut |_| {});
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(sessions.len(), 1);
    assert_eq!(common::block_texts(&sessions[0]), ["first prompt"]);
    assert_eq!(
        listing(&storage),
        files_before,
        "no file created beside the database"
    );
    assert_eq!(
        std::fs::read(&wal).unwrap(),
        wal_before,
        "no checkpoint, no write"
    );

    // Cursor writes on while the conversation is being planned: the read ends cleanly, and the
    // next one sees the new message.
    let (sessions, problems) = common::read_store("cursor", dir.path(), &mut |_| {
        write_conversation(&writer, COMPOSER, &["first prompt", "second prompt"]);
        write_conversation(&writer, "6b6b6b6b-1111-4222-8333-444444444444", &["another chat"]);
    });
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(sessions.len(), 1);
    let (sessions, _) = common::read_store("cursor", dir.path(), &mut |_| {});
    let composer = sessions.iter().find(|session| session.id == COMPOSER).unwrap();
    assert_eq!(common::block_texts(composer), ["first prompt", "second prompt"]);
    assert_eq!(sessions.len(), 2);
    assert_eq!(listing(&storage), files_before);
}

#[test]
fn a_database_closed_cleanly_is_read_without_creating_wal_or_shm_files() {
    let dir = tempfile::tempdir().unwrap();
    let (db, writer) = live_database(dir.path());
    drop(writer);
    let storage = db.parent().unwrap().to_path_buf();
    assert_eq!(listing(&storage), BTreeSet::from(["state.vscdb".to_owned()]));
    let (sessions, problems) = common::read_store("cursor", dir.path(), &mut |_| {});
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(common::block_texts(&sessions[0]), ["first prompt"]);
    assert_eq!(listing(&storage), BTreeSet::from(["state.vscdb".to_owned()]));
}

#[test]
fn a_locked_database_is_one_unreadable_diagnostic_and_the_transcripts_are_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("globalStorage/state.vscdb");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let writer = Connection::open(&path).unwrap();
    writer
        .execute_batch("CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);")
        .unwrap();
    write_conversation(&writer, COMPOSER, &["in the database"]);
    writer
        .execute_batch("BEGIN EXCLUSIVE; INSERT INTO cursorDiskKV VALUES ('x', 'being written');")
        .unwrap();
    let transcript = dir.path().join("projects/home-a/agent-transcripts/t-1.jsonl");
    std::fs::create_dir_all(transcript.parent().unwrap()).unwrap();
    std::fs::write(
        &transcript,
        "{\"role\":\"user\",\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"<timestamp>Mon, Feb 2, 2026, 2:00 AM (UTC)</timestamp>\\n<user_query>\\nfrom the transcript\\n</user_query>\"}]}}\n",
    )
    .unwrap();
    let (sessions, problems) = common::read_store("cursor", dir.path(), &mut |_| {});
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("locked"), "{problems:?}");
    assert_eq!(sessions.len(), 1);
    assert_eq!(common::block_texts(&sessions[0]), ["from the transcript"]);
    writer.execute_batch("COMMIT").unwrap();
}

#[test]
fn a_copy_that_no_longer_parses_leaves_the_conversation_to_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let transcripts = dir.path().join("projects/home-a/agent-transcripts");
    std::fs::create_dir_all(&transcripts).unwrap();
    // The `.json` copy is preferred, but cut off; the `.txt` copy of the same conversation holds it.
    std::fs::write(
        transcripts.join("s-1.json"),
        r#"[{"role":"user","text":"<user_query>\nfrom the js"#,
    )
    .unwrap();
    std::fs::write(
        transcripts.join("s-1.txt"),
        "user:\n<user_query>\nfrom the txt\n</user_query>\n\nassistant:\nanswered",
    )
    .unwrap();
    let (sessions, problems) = common::read_store("cursor", dir.path(), &mut |_| {});
    assert_eq!(problems.len(), 1, "the cut copy is reported: {problems:?}");
    assert_eq!(sessions.len(), 1);
    assert_eq!(common::block_texts(&sessions[0]), ["from the txt", "answered"]);
    assert!(sessions[0].source_file.ends_with("s-1.txt"));
}
