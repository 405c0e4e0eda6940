//! GitHub Copilot CLI end to end: the `memtree` binary imports Copilot's session state
//! (fixtures/copilot) into a real PostgreSQL (tests/common) through both spellings of the command
//! and from `$COPILOT_HOME`; a re-run writes nothing; an event log that grows is read on from its
//! checkpoint; and directories of sessions that never started, the todo database and Copilot's
//! own configuration are never read.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use common::{import_everything, written};

/// Stands for a credential in Copilot's `config.json`; never imported.
const FAKE_TOKEN: &str = "gho_FAKEcopilotTokenNeverImported000000";

/// Every stored row: (session, message id, role, content, row version).
async fn rows(db: &common::TestDb) -> Vec<(String, String, String, String, String)> {
    let client = db.client().await;
    common::query_rows(
        &client,
        "select meta->>'source_session_id', meta->>'source_message_id', meta->>'source_message_role', content, \
         xmin::text from memory order by 1, 2",
        |row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)),
    )
    .await
}

/// Rows without their version, to compare imports into different databases.
fn contents(rows: &[(String, String, String, String, String)]) -> Vec<(String, String, String, String)> {
    rows.iter()
        .map(|(session, id, role, content, _)| (session.clone(), id.clone(), role.clone(), content.clone()))
        .collect()
}

/// A stored session: id, cwd, how the cwd was found, title.
type SessionFacts = (String, Option<String>, Option<String>, Option<String>);

fn fixture(case: &str) -> PathBuf {
    common::fixture(&format!("copilot/{case}/source"))
}

/// A Copilot home holding both layouts, a session that never started, the todo database of a
/// session and Copilot's own configuration with a credential.
fn copilot_home(home: &Path) -> PathBuf {
    let copilot = home.join("copilot-home");
    let state = copilot.join("session-state");
    common::copy_tree(&fixture("session-dir-2026"), &copilot);
    common::copy_tree(&fixture("flat-2025"), &copilot);
    common::copy_tree(&fixture("start-without-completion"), &state);
    std::fs::write(
        state.join("3cc3555e-5462-44f9-95de-c67b1cb220b9/session.db"),
        b"not a database: never opened",
    )
    .unwrap();
    std::fs::write(
        copilot.join("config.json"),
        json!({"logged_in_users": [{"host": "https://github.com", "login": "dev"}],
            "copilot_tokens": {"https://github.com:dev": FAKE_TOKEN}})
        .to_string(),
    )
    .unwrap();
    copilot
}

#[tokio::test]
async fn both_commands_and_copilot_home_import_the_same_rows() {
    let home = tempfile::tempdir().unwrap();
    let copilot = copilot_home(home.path());
    let source = copilot.display().to_string();

    let by_tool = common::test_db().await;
    let run = import_everything(
        &by_tool,
        home.path(),
        ["copilot", "import"],
        &["--source", &source],
    );
    let report = run.succeeded();
    assert_eq!(report["tool"], "copilot");
    assert_eq!(report["files"]["scanned"], 3, "{report}");
    assert_eq!(report["diagnostics"], json!([]), "nothing to say about the rest");
    let (inserted, _, _) = written(&report);
    assert!(inserted > 50, "{report}");
    let stored = rows(&by_tool).await;

    let by_import = common::test_db().await;
    let run = import_everything(
        &by_import,
        home.path(),
        ["import", "copilot"],
        &["--source", &source],
    );
    assert_eq!(written(&run.succeeded()).0, inserted);
    assert_eq!(contents(&rows(&by_import).await), contents(&stored));

    // Without --source: `$COPILOT_HOME/session-state`.
    let by_default = common::test_db().await;
    let run = common::Run::of_command(
        common::memtree_command(home.path())
            .args([
                "copilot",
                "import",
                "--json",
                "--include-trivial",
                "--include-sidechains",
            ])
            .args(["--full-transcript", "--database-url", &by_default.url()])
            .env("COPILOT_HOME", &copilot),
    );
    assert_eq!(written(&run.succeeded()).0, inserted);
    assert_eq!(contents(&rows(&by_default).await), contents(&stored));

    for output in [&run.stdout, &run.stderr] {
        assert!(!output.contains(FAKE_TOKEN));
    }
    let client = by_tool.client().await;
    let leaks: i64 = common::query_value(
        &client,
        "select count(*) from memory where content like '%' || $1 || '%' or meta::text like '%' || $1 || '%'",
        &[&FAKE_TOKEN],
    )
    .await;
    assert_eq!(leaks, 0);
    let sessions: Vec<SessionFacts> = common::query_rows(
        &client,
        "select distinct meta->>'source_session_id', meta->>'source_cwd', meta->>'source_cwd_origin', \
         meta->>'source_session_title' from memory order by 1",
        |row| (row.get(0), row.get(1), row.get(2), row.get(3)),
    )
    .await;
    let owned = |text: &str| Some(text.to_owned());
    assert_eq!(
        sessions,
        [
            (
                "3cc3555e-5462-44f9-95de-c67b1cb220b9".to_owned(),
                owned("/Users/thatpong/Documents/workspace/dotnet-trial/demoapi"),
                None,
                owned("Initialize Project Setup")
            ),
            (
                "63df9229-7aae-4df0-b05e-3dd1a3063822".to_owned(),
                owned("c:\\Users\\endri\\HAWZX\\HAWZX-AI"),
                owned("system_prompt"),
                owned("fechei sem querer")
            ),
            (
                "feeb765c-b05d-456f-bb55-ff2504dad88b".to_owned(),
                owned("/Users/thatpong/.dotfiles/.copilot"),
                None,
                owned("Initialize Project Setup")
            ),
        ]
    );
    // The 2025 layout re-logs the whole system prompt every turn: never a row.
    let prompts: i64 = common::query_value(
        &client,
        "select count(*) from memory where content like '%You are the GitHub Copilot CLI%'",
        &[],
    )
    .await;
    assert_eq!(prompts, 0);
}

#[tokio::test]
async fn a_second_run_writes_nothing_and_a_dry_run_never_writes() {
    let home = tempfile::tempdir().unwrap();
    let copilot = copilot_home(home.path());
    let source = copilot.display().to_string();
    let db = common::test_db().await;

    let dry = import_everything(
        &db,
        home.path(),
        ["copilot", "import"],
        &["--source", &source, "--dry-run"],
    );
    let dry = dry.succeeded();
    let planned = dry["messages"]["planned"].as_u64().unwrap();
    assert!(planned > 50, "{dry}");
    assert_eq!(written(&dry), (0, 0, 0));
    let client = db.client().await;
    let table: bool = common::query_value(&client, "select to_regclass('memory') is not null", &[]).await;
    assert!(!table, "a dry run creates nothing");

    let first = import_everything(&db, home.path(), ["copilot", "import"], &["--source", &source]);
    assert_eq!(written(&first.succeeded()), (planned, 0, 0));
    let stored = rows(&db).await;
    let again =
        import_everything(&db, home.path(), ["copilot", "import"], &["--source", &source]).succeeded();
    assert_eq!(written(&again), (0, 0, 0), "{again}");
    assert_eq!(again["files"]["unchanged"], 3, "{again}");
    let rescan = import_everything(
        &db,
        home.path(),
        ["copilot", "import"],
        &["--source", &source, "--rescan"],
    );
    assert_eq!(written(&rescan.succeeded()), (0, 0, planned));
    assert_eq!(rows(&db).await, stored, "no row was rewritten");
}

/// Appends `events` (JSON lines) to the file at `path`, and `tail` as written.
fn append(path: &Path, events: &[Value], tail: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    for event in events {
        writeln!(file, "{event}").unwrap();
    }
    file.write_all(tail.as_bytes()).unwrap();
}

fn event(kind: &str, id: &str, at: &str, data: Value) -> Value {
    json!({"type": kind, "data": data, "id": id, "timestamp": format!("2026-05-20T09:{at}Z"), "parentId": null})
}

#[tokio::test]
async fn an_event_log_that_grows_is_read_on_from_its_checkpoint() {
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join(".copilot/session-state");
    common::copy_tree(&fixture("empty-content-fallbacks"), &state);
    let events = state.join("7b2d9c1e-4f3a-4d6b-9e8f-0a1b2c3d4e5f/events.jsonl");
    let source = state.display().to_string();
    let db = common::test_db().await;
    let first = import_everything(&db, home.path(), ["copilot", "import"], &["--source", &source]);
    let (inserted, _, _) = written(&first.succeeded());
    let before = rows(&db).await;
    assert_eq!(before.len() as u64, inserted);

    // A turn, and the start of the next event: written, but not yet whole.
    append(
        &events,
        &[
            event("assistant.turn_start", "g1", "02:00.000", json!({"turnId": "1"})),
            event(
                "assistant.message",
                "g2",
                "02:05.000",
                json!({"messageId": "m4", "model": "gpt-5.2", "content": "Installing it.",
                    "toolRequests": [{"toolCallId": "call_3", "name": "bash", "arguments": {"command": "pip install pytest"}}]}),
            ),
            event(
                "tool.execution_start",
                "g3",
                "02:05.000",
                json!({"toolCallId": "call_3", "toolName": "bash", "arguments": {"command": "pip install pytest"}}),
            ),
            event(
                "tool.execution_complete",
                "g4",
                "02:30.000",
                json!({"toolCallId": "call_3", "success": true, "result": {"content": "Successfully installed pytest-8.4.0"}}),
            ),
        ],
        r#"{"type":"assistant.message","data":{"content":"3 pass"#,
    );
    let second =
        import_everything(&db, home.path(), ["copilot", "import"], &["--source", &source]).succeeded();
    assert_eq!(second["files"]["resumed"], 1, "{second}");
    assert_eq!(second["files"]["pending_torn_lines"], 1, "{second}");
    assert_eq!(
        written(&second),
        (3, 0, 0),
        "the answer, its call and the call's result"
    );
    let after = rows(&db).await;
    for row in &before {
        assert!(after.contains(row), "an earlier row is left as it was: {row:?}");
    }
    let new: Vec<(&str, &str)> = after
        .iter()
        .filter(|row| !before.contains(row))
        .map(|(_, id, role, _, _)| (id.as_str(), role.as_str()))
        .collect();
    assert_eq!(
        new,
        [
            ("g2", "assistant"),
            ("g2/call/call_3", "tool_call"),
            ("g4", "tool_result")
        ]
    );
    let client = db.client().await;
    let tool: String = common::query_value(
        &client,
        "select meta->>'source_tool_name' from memory where meta->>'source_message_id' = 'g4'",
        &[],
    )
    .await;
    assert_eq!(
        tool, "bash",
        "a result names the tool its call did, from the checkpoint"
    );

    // The torn event is completed: read on again, from the end of the last whole line.
    append(
        &events,
        &[],
        "ed.\",\"toolRequests\":[]},\"id\":\"g5\",\"timestamp\":\"2026-05-20T09:03:00.000Z\"}\n",
    );
    let third =
        import_everything(&db, home.path(), ["copilot", "import"], &["--source", &source]).succeeded();
    assert_eq!(written(&third), (1, 0, 0), "{third}");
    let fresh = common::test_db().await;
    let whole =
        import_everything(&fresh, home.path(), ["copilot", "import"], &["--source", &source]).succeeded();
    assert_eq!(
        written(&whole).0,
        inserted + 4,
        "a whole read stores the same rows"
    );
    assert_eq!(contents(&rows(&fresh).await), contents(&rows(&db).await));
}
