//! Qwen Code end to end: the `memtree` binary imports Qwen Code's chats and prompt logs
//! (fixtures/qwen) into a real PostgreSQL (tests/common) through both spellings of the command and
//! from `$QWEN_RUNTIME_DIR` or `$QWEN_HOME`; a re-run writes nothing; a chat that grows is read on
//! from its checkpoint; and a prompt log rewritten beside its project's chats adds only the
//! prompts no chat holds.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use common::{import_everything, written};

/// A stored row: session, sidechain, message id, content, row version.
type Row = (String, bool, String, String, String);

async fn rows(db: &common::TestDb) -> Vec<Row> {
    let client = db.client().await;
    common::query_rows(
        &client,
        "select meta->>'source_session_id', coalesce((meta->>'source_is_sidechain')::bool, false), \
         meta->>'source_message_id', content, xmin::text from memory order by 1, 2, 3",
        |row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)),
    )
    .await
}

/// Rows without their version, to compare imports into different databases.
fn contents(rows: &[Row]) -> Vec<(String, bool, String, String)> {
    rows.iter()
        .map(|(session, side, id, content, _)| (session.clone(), *side, id.clone(), content.clone()))
        .collect()
}

fn fixture(case: &str) -> PathBuf {
    common::fixture(&format!("qwen/{case}/source"))
}

/// A runtime directory holding chats of several projects, a subagent's records, and two prompt
/// logs (one beside the chats of its project).
fn runtime_dir(home: &Path) -> PathBuf {
    let runtime = home.join("runtime");
    for case in [
        "tool-calls-and-results",
        "subagent-sidechain",
        "prompt-log-and-chat",
        "prompt-log",
        "chat-0.14",
    ] {
        common::copy_tree(&fixture(case), &runtime);
    }
    runtime
}

#[tokio::test]
async fn both_commands_and_the_runtime_dir_import_the_same_rows() {
    let home = tempfile::tempdir().unwrap();
    let runtime = runtime_dir(home.path());
    let source = runtime.display().to_string();

    let by_tool = common::test_db().await;
    let report =
        import_everything(&by_tool, home.path(), ["qwen", "import"], &["--source", &source]).succeeded();
    assert_eq!(report["tool"], "qwen");
    assert_eq!(report["files"]["scanned"], 6, "{report}");
    assert_eq!(report["diagnostics"], json!([]), "{report}");
    let (inserted, _, _) = written(&report);
    assert!(inserted > 30, "{report}");
    let stored = rows(&by_tool).await;

    let by_import = common::test_db().await;
    let report = import_everything(
        &by_import,
        home.path(),
        ["import", "qwen"],
        &["--source", &source],
    )
    .succeeded();
    assert_eq!(written(&report).0, inserted);
    assert_eq!(contents(&rows(&by_import).await), contents(&stored));

    // Without --source: `$QWEN_RUNTIME_DIR`, which wins over `$QWEN_HOME`; else `$QWEN_HOME`.
    let elsewhere = home.path().join("qwen-home-without-sessions");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let settings: [&[(&str, &Path)]; 2] = [
        &[("QWEN_RUNTIME_DIR", &runtime), ("QWEN_HOME", &elsewhere)],
        &[("QWEN_HOME", &runtime)],
    ];
    for env in settings {
        let db = common::test_db().await;
        let run = common::Run::of_command(
            common::memtree_command(home.path())
                .args([
                    "qwen",
                    "import",
                    "--json",
                    "--include-trivial",
                    "--include-sidechains",
                ])
                .args(["--full-transcript", "--database-url", &db.url()])
                .envs(env.iter().copied()),
        );
        assert_eq!(written(&run.succeeded()).0, inserted, "{env:?}");
        assert_eq!(contents(&rows(&db).await), contents(&stored), "{env:?}");
    }

    // The chat's session comes from the chat; its prompts in the log are not stored again.
    let chat_session = "6e7f8091-a2b3-4d4e-9f50-6a7b8c9d0e1f";
    let of_session: Vec<&str> = stored
        .iter()
        .filter(|row| row.0 == chat_session)
        .map(|row| row.2.as_str())
        .collect();
    assert_eq!(of_session.len(), 4, "{of_session:?}");
    assert!(of_session.iter().all(|id| !id.starts_with("prompt-")));
    let client = by_tool.client().await;
    let logged: Vec<(String, Option<String>, Option<String>)> = common::query_rows(
        &client,
        "select distinct meta->>'source_session_id', meta->>'source_cwd', meta->>'source_cwd_origin' \
         from memory where meta->>'source_file' like '%/logs.json' order by 1",
        |row| (row.get(0), row.get(1), row.get(2)),
    )
    .await;
    assert_eq!(
        logged,
        [
            (
                "0f1e2d3c-4b5a-4698-8776-655443322110".to_owned(),
                Some("/home/dev/src/shop".to_owned()),
                Some("project_hash".to_owned())
            ),
            (
                "3c212e4b-4935-4f2f-a7ca-cd45c1e895b6".to_owned(),
                None,
                Some("unresolved".to_owned())
            ),
        ]
    );
    let sidechains: i64 = common::query_value(
        &client,
        "select count(*) from memory where meta->>'source_is_sidechain' = 'true' \
         and meta->>'source_parent_session_id' = '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d'",
        &[],
    )
    .await;
    assert_eq!(
        sidechains, 5,
        "the subagent's records are a sidechain of their session"
    );
}

#[tokio::test]
async fn a_second_run_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let source = runtime_dir(home.path()).display().to_string();
    let db = common::test_db().await;
    let first = import_everything(&db, home.path(), ["qwen", "import"], &["--source", &source]).succeeded();
    let (inserted, _, _) = written(&first);
    let stored = rows(&db).await;
    let again = import_everything(&db, home.path(), ["qwen", "import"], &["--source", &source]).succeeded();
    assert_eq!(written(&again), (0, 0, 0), "{again}");
    assert_eq!(again["files"]["unchanged"], 6, "{again}");
    let rescan = import_everything(
        &db,
        home.path(),
        ["qwen", "import"],
        &["--source", &source, "--rescan"],
    );
    assert_eq!(written(&rescan.succeeded()), (0, 0, inserted));
    assert_eq!(rows(&db).await, stored, "no row was rewritten");
}

/// Appends `records` (JSON lines) to the file at `path`.
fn append(path: &Path, records: &[Value]) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    for record in records {
        writeln!(file, "{record}").unwrap();
    }
}

fn record(uuid: &str, kind: &str, at: &str, extra: Value) -> Value {
    let mut record = json!({"uuid": uuid, "parentUuid": null, "sessionId": "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d",
        "timestamp": format!("2026-03-20T15:{at}Z"), "type": kind, "cwd": "/home/dev/src/docs",
        "version": "0.14.3", "gitBranch": "docs/search"});
    record
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    record
}

#[tokio::test]
async fn a_chat_that_grows_is_read_on_from_its_checkpoint() {
    let home = tempfile::tempdir().unwrap();
    let runtime = home.path().join(".qwen");
    common::copy_tree(&fixture("subagent-sidechain"), &runtime);
    let chat = runtime.join("projects/-home-dev-src-docs/chats/2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d.jsonl");
    let source = runtime.display().to_string();
    let db = common::test_db().await;
    let first = import_everything(&db, home.path(), ["qwen", "import"], &["--source", &source]).succeeded();
    let (inserted, _, _) = written(&first);
    let before = rows(&db).await;

    // A new turn of the main session, with a call, and a new subagent round.
    append(
        &chat,
        &[
            record(
                "g1",
                "user",
                "10:00.000",
                json!({"message": {"role": "user", "parts": [{"text": "Check the sitemap too."}]}}),
            ),
            record(
                "g2",
                "assistant",
                "10:05.000",
                json!({"model": "qwen3-coder-plus", "message": {"role": "model", "parts": [
                    {"text": "Looking at it.", "thought": true},
                    {"functionCall": {"id": "call_9", "name": "read_file", "args": {"absolute_path": "/home/dev/src/docs/sitemap.xml"}}}]}}),
            ),
            record(
                "g3",
                "tool_result",
                "10:06.000",
                json!({"message": {"role": "user", "parts": [{"functionResponse": {"id": "call_9", "response": {"output": "<urlset/>"}}}]}}),
            ),
            record(
                "g4",
                "assistant",
                "10:07.000",
                json!({"isSidechain": true, "agentId": "explore-9a1b", "model": "qwen3-coder-plus",
                    "message": {"role": "model", "parts": [{"text": "The sitemap has no old links."}]}}),
            ),
        ],
    );
    let second = import_everything(&db, home.path(), ["qwen", "import"], &["--source", &source]).succeeded();
    assert_eq!(second["files"]["resumed"], 1, "{second}");
    assert_eq!(written(&second), (5, 0, 0), "{second}");
    let after = rows(&db).await;
    for row in &before {
        assert!(after.contains(row), "an earlier row is left as it was: {row:?}");
    }
    let new: Vec<(bool, &str)> = after
        .iter()
        .filter(|row| !before.contains(row))
        .map(|row| (row.1, row.2.as_str()))
        .collect();
    assert_eq!(
        new,
        [
            (false, "g1"),
            (false, "g2"),
            (false, "g2/call/call_9"),
            (false, "g3"),
            (true, "g4")
        ]
    );
    let client = db.client().await;
    let tool: String = common::query_value(
        &client,
        "select meta->>'source_tool_name' from memory where meta->>'source_message_id' = 'g3'",
        &[],
    )
    .await;
    assert_eq!(
        tool, "read_file",
        "a result takes its call's tool from the checkpoint"
    );

    let fresh = common::test_db().await;
    let whole =
        import_everything(&fresh, home.path(), ["qwen", "import"], &["--source", &source]).succeeded();
    assert_eq!(
        written(&whole).0,
        inserted + 5,
        "a whole read stores the same rows"
    );
    assert_eq!(contents(&rows(&fresh).await), contents(&rows(&db).await));
}

#[tokio::test]
async fn a_rewritten_prompt_log_adds_only_the_prompts_no_chat_holds() {
    let home = tempfile::tempdir().unwrap();
    let runtime = home.path().join(".qwen");
    common::copy_tree(&fixture("prompt-log-and-chat"), &runtime);
    let source = runtime.display().to_string();
    let log = std::fs::read_dir(runtime.join("tmp"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("logs.json");
    let db = common::test_db().await;
    let first = import_everything(&db, home.path(), ["qwen", "import"], &["--source", &source]).succeeded();
    assert_eq!(
        written(&first),
        (7, 0, 0),
        "four chat messages and three logged prompts"
    );

    // Qwen Code rewrites the log whole on every prompt: a new prompt of the chat's session (the
    // chat holds it) and one of a session without a chat.
    let mut entries: Vec<Value> = serde_json::from_slice(&std::fs::read(&log).unwrap()).unwrap();
    entries.push(
        json!({"sessionId": "6e7f8091-a2b3-4d4e-9f50-6a7b8c9d0e1f", "messageId": 3, "type": "user",
        "message": "Also validate on the server.", "timestamp": "2026-05-01T12:05:00.000Z"}),
    );
    entries.push(
        json!({"sessionId": "99887766-5544-4332-8110-ffeeddccbbaa", "messageId": 0, "type": "user",
        "message": "Which Node version does CI use?", "timestamp": "2026-05-02T09:00:00.000Z"}),
    );
    std::fs::write(&log, serde_json::to_string_pretty(&entries).unwrap()).unwrap();
    let second = import_everything(&db, home.path(), ["qwen", "import"], &["--source", &source]).succeeded();
    assert_eq!(
        written(&second),
        (1, 0, 3),
        "the log is read whole: its earlier prompts are current"
    );
    let client = db.client().await;
    let new: Vec<(String, String, Option<String>)> = common::query_rows(
        &client,
        "select meta->>'source_session_id', meta->>'source_message_id', meta->>'source_cwd' \
         from memory where content = 'Which Node version does CI use?'",
        |row| (row.get(0), row.get(1), row.get(2)),
    )
    .await;
    assert_eq!(
        new,
        [(
            "99887766-5544-4332-8110-ffeeddccbbaa".to_owned(),
            "prompt-0".to_owned(),
            Some("/home/dev/src/shop".to_owned())
        )]
    );
    let server_prompt: i64 = common::query_value(
        &client,
        "select count(*) from memory where content = 'Also validate on the server.'",
        &[],
    )
    .await;
    assert_eq!(
        server_prompt, 0,
        "a prompt of a session with a chat comes from the chat"
    );
}
