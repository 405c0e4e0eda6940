//! Gemini CLI end to end: the `memtree` binary imports Gemini chats into a real PostgreSQL
//! (tests/common) through both spellings of the command, from `$GEMINI_CLI_HOME`, and again as a
//! log grows with new, updated and rewound messages; `--project` takes only sessions whose
//! project was resolved, and the same message read from several files is one row. The prompt log
//! salvages the prompts of a deleted chat, which the chat's rows replace when it comes back.

mod common;

use std::path::Path;

use common::{written, Run};
use serde_json::{json, Value};

/// Runs `memtree` through the harness (a clean environment, a private HOME) with the variables
/// `env`; returns its exit code, its report (`null` when stdout is not JSON) and its stderr.
fn memtree(args: &[&str], home: &Path, env: &[(&str, &Path)]) -> (i32, Value, String) {
    let run = Run::of_command(common::memtree_command(home).args(args).envs(env.iter().copied()));
    let report = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    (run.code, report, run.stderr)
}

/// `memtree gemini import --json` of `source` into `url`, which must succeed.
fn import(url: &str, source: &Path, extra: &[&str]) -> Value {
    let home = tempfile::tempdir().unwrap();
    let source = source.display().to_string();
    let mut args = vec![
        "gemini",
        "import",
        "--json",
        "--database-url",
        url,
        "--source",
        &source,
    ];
    args.extend_from_slice(extra);
    let (code, report, stderr) = memtree(&args, home.path(), &[]);
    assert_eq!(code, 0, "{stderr}");
    report
}

/// Every stored row as `(message id, content)`, by message id.
async fn rows(db: &common::TestDb) -> Vec<(String, String)> {
    let client = db.client().await;
    common::query_rows(
        &client,
        "select meta->>'source_message_id', content from memory order by 1, 2",
        |row| (row.get(0), row.get(1)),
    )
    .await
}

/// Every stored session with its cwd and how it was found.
async fn sessions(db: &common::TestDb) -> Vec<(String, Option<String>, Option<String>)> {
    let client = db.client().await;
    common::query_rows(
        &client,
        "select distinct meta->>'source_session_id', meta->>'source_cwd', meta->>'source_cwd_origin' \
         from memory order by 1",
        |row| (row.get(0), row.get(1), row.get(2)),
    )
    .await
}

fn copy_fixture(case: &str, to: &Path) {
    common::copy_tree(&common::fixture(&format!("gemini/{case}/source")), to);
}

#[tokio::test]
async fn both_commands_and_the_gemini_cli_home_import_the_same_rows() {
    let scratch = tempfile::tempdir().unwrap();
    let gemini_home = scratch.path().join("cli-home/.gemini");
    copy_fixture("jsonl-slug-dirs", &gemini_home);

    let by_tool = common::test_db().await;
    let report = import(&by_tool.url(), &gemini_home, &[]);
    let (inserted, _, _) = written(&report);
    assert!(inserted >= 10, "{report}");
    assert_eq!(report["tool"], "gemini");

    let home = tempfile::tempdir().unwrap();
    let by_import = common::test_db().await;
    let source = gemini_home.display().to_string();
    let (code, report, stderr) = memtree(
        &[
            "import",
            "gemini",
            "--json",
            "--database-url",
            &by_import.url(),
            "--source",
            &source,
        ],
        home.path(),
        &[],
    );
    assert_eq!((code, written(&report).0), (0, inserted), "{stderr}");
    assert_eq!(rows(&by_tool).await, rows(&by_import).await);

    // Without --source: `$GEMINI_CLI_HOME/.gemini`.
    let by_default = common::test_db().await;
    let (code, report, stderr) = memtree(
        &["gemini", "import", "--json", "--database-url", &by_default.url()],
        home.path(),
        &[("GEMINI_CLI_HOME", &scratch.path().join("cli-home"))],
    );
    assert_eq!((code, written(&report).0), (0, inserted), "{stderr}");
    assert_eq!(rows(&by_tool).await, rows(&by_default).await);
    assert_eq!(
        sessions(&by_tool).await,
        [
            (
                "3494a697-74ae-4441-a15b-0d9c80154b8b",
                "c:\\beta-project\\vibe engineering\\ticketing-vc",
                "project_root"
            ),
            (
                "5d0c1f2e-8a7b-4c3d-9e1f-0a2b3c4d5e6f",
                "/home/dev/registered-only",
                "projects.json"
            ),
            (
                "e435870b-a192-4f84-bd7e-1ec28e9c2f31",
                "c:\\beta-project\\vibe engineering\\ticketing-vc",
                "project_root"
            ),
            // Salvaged from the project's logs.json: its chat is gone.
            (
                "eb888ce4-23a2-4d68-a7b0-d056c0647c5b",
                "c:\\beta-project\\vibe engineering\\ticketing-vc",
                "project_root"
            ),
        ]
        .map(|(id, cwd, origin)| (id.to_owned(), Some(cwd.to_owned()), Some(origin.to_owned())))
    );
}

#[tokio::test]
async fn a_second_run_writes_nothing_and_a_dry_run_never_writes() {
    let scratch = tempfile::tempdir().unwrap();
    copy_fixture("log-replay", scratch.path());
    let db = common::test_db().await;

    let dry = import(&db.url(), scratch.path(), &["--dry-run", "--full-transcript"]);
    let planned = dry["messages"]["planned"].as_u64().unwrap();
    assert!(planned > 0, "{dry}");
    assert_eq!(written(&dry), (0, 0, 0));
    let client = db.client().await;
    let table: bool = common::query_value(&client, "select to_regclass('memory') is not null", &[]).await;
    assert!(!table || rows(&db).await.is_empty(), "a dry run stores nothing");

    let first = import(&db.url(), scratch.path(), &["--full-transcript"]);
    assert_eq!(written(&first), (planned, 0, 0));
    let stored = rows(&db).await;
    let again = import(&db.url(), scratch.path(), &["--full-transcript"]);
    assert_eq!(written(&again), (0, 0, 0));
    assert_eq!(again["files"]["unchanged"], 2, "{again}");
    let rescan = import(&db.url(), scratch.path(), &["--full-transcript", "--rescan"]);
    assert_eq!(written(&rescan), (0, 0, planned));
    assert_eq!(rows(&db).await, stored);
}

/// A Gemini CLI log of `records`, one JSON line each.
fn log_lines(records: &[Value]) -> String {
    records.iter().map(|record| format!("{record}\n")).collect()
}

fn prompt(id: &str, at: &str, text: &str) -> Value {
    json!({"id": id, "timestamp": format!("2026-06-01T10:{at}Z"), "type": "user", "content": [{"text": text}]})
}

fn answer(id: &str, at: &str, text: &str) -> Value {
    json!({"id": id, "timestamp": format!("2026-06-01T10:{at}Z"), "type": "gemini", "content": text,
        "model": "gemini-3-flash-preview", "thoughts": []})
}

fn ids(rows: &[(String, String)]) -> Vec<&str> {
    rows.iter().map(|(id, _)| id.as_str()).collect()
}

#[tokio::test]
async fn a_log_that_grows_is_read_on_and_keeps_what_a_rewind_dropped() {
    let scratch = tempfile::tempdir().unwrap();
    let chats = scratch.path().join("tmp/app/chats");
    std::fs::create_dir_all(&chats).unwrap();
    std::fs::write(scratch.path().join("tmp/app/.project_root"), "/home/dev/app").unwrap();
    let log = chats.join("session-2026-06-01T10-00-6a1b2c3d.jsonl");
    let meta = json!({"sessionId": "6a1b2c3d-0000-4000-8000-000000000001", "projectHash": "0",
        "startTime": "2026-06-01T10:00:00.000Z", "lastUpdated": "2026-06-01T10:00:00.000Z", "kind": "main"});
    let mut text = log_lines(&[
        meta,
        prompt("u1", "00:01.000", "first question"),
        answer("g1", "00:02.000", "First answer."),
        prompt("u2", "01:00.000", "second question"),
        answer("g2", "01:02.000", "Second answer."),
    ]);
    std::fs::write(&log, &text).unwrap();
    let db = common::test_db().await;
    assert_eq!(written(&import(&db.url(), scratch.path(), &[])), (4, 0, 0));

    // g1 is rewritten in place, a turn is added, rewound, and another added.
    text.push_str(&log_lines(&[
        answer("g1", "00:02.000", "First answer, corrected."),
        json!({"$set": {"lastUpdated": "2026-06-01T10:03:00.000Z"}}),
        prompt("u3", "03:00.000", "third question"),
        answer("g3", "03:02.000", "An answer the user rewound."),
        json!({"$rewindTo": "g3"}),
        prompt("u4", "04:00.000", "fourth question"),
        answer("g4", "04:02.000", "Fourth answer."),
    ]));
    std::fs::write(&log, &text).unwrap();
    let second = import(&db.url(), scratch.path(), &[]);
    assert_eq!(second["files"]["resumed"], 1, "{second}");
    assert_eq!(written(&second), (3, 1, 0), "u3, u4, g4 new; g1 rewritten");
    let stored = rows(&db).await;
    assert_eq!(ids(&stored), ["g1", "g2", "g4", "u1", "u2", "u3", "u4"]);
    assert!(stored.contains(&("g1".to_owned(), "First answer, corrected.".to_owned())));

    // A rewind past what an earlier run imported: those rows stay, nothing is duplicated.
    text.push_str(&log_lines(&[
        json!({"$rewindTo": "u4"}),
        prompt("u5", "05:00.000", "fifth question"),
        answer("g5", "05:02.000", "Fifth answer."),
    ]));
    std::fs::write(&log, &text).unwrap();
    let third = import(&db.url(), scratch.path(), &[]);
    assert_eq!(written(&third), (2, 0, 0), "{third}");
    let stored = rows(&db).await;

    // A whole read of the final log has every row but the two a rewind dropped after their import.
    let fresh = common::test_db().await;
    assert_eq!(written(&import(&fresh.url(), scratch.path(), &[])), (7, 0, 0));
    let whole = rows(&fresh).await;
    let kept_only_here: Vec<_> = stored.iter().filter(|row| !whole.contains(row)).collect();
    assert_eq!(
        ids(&kept_only_here.into_iter().cloned().collect::<Vec<_>>()),
        ["g4", "u4"]
    );
    assert!(whole.iter().all(|row| stored.contains(row)));
}

#[tokio::test]
async fn project_matches_only_sessions_whose_project_was_resolved() {
    let scratch = tempfile::tempdir().unwrap();
    copy_fixture("jsonl-slug-dirs", scratch.path());
    copy_fixture("unresolved-cwd", &scratch.path().join("other-home"));
    let unresolved = scratch.path().join("other-home");
    let db = common::test_db().await;
    let sources = [scratch.path(), unresolved.as_path()].map(|path| path.display().to_string());
    let home = tempfile::tempdir().unwrap();
    let run = |project: &str| {
        let mut args = vec!["gemini", "import", "--json", "--dry-run", "--database-url"];
        let url = db.url();
        args.push(&url);
        args.extend(["--project", project, "--source", &sources[0], &sources[1]]);
        let (code, report, stderr) = memtree(&args, home.path(), &[]);
        assert_eq!(code, 0, "{stderr}");
        report
    };
    let scoped = run("/home/dev/registered-only");
    assert_eq!(scoped["sessions"]["imported"], 1, "{scoped}");
    // `/` holds every resolved directory (the Windows one too, and the session salvaged from its
    // logs.json); the unresolved session is never matched.
    let everything = run("/");
    assert_eq!(everything["sessions"]["imported"], 4, "{everything}");
    let unmatched: Vec<&str> = everything["session_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|session| session["skipped"] == "project_filter")
        .map(|session| session["id"].as_str().unwrap())
        .collect();
    assert_eq!(unmatched, ["3f2e1d0c-b9a8-4765-8432-10fedcba9876"]);
    // Without --project the unresolved session is imported, saying so.
    let db_all = common::test_db().await;
    import(&db_all.url(), &unresolved, &[]);
    assert_eq!(
        sessions(&db_all).await,
        [(
            "3f2e1d0c-b9a8-4765-8432-10fedcba9876".to_owned(),
            None,
            Some("unresolved".to_owned())
        )]
    );
}

#[tokio::test]
async fn a_message_read_from_several_files_is_one_row_and_subagents_are_sidechains() {
    let scratch = tempfile::tempdir().unwrap();
    copy_fixture("json-resumed-into-jsonl", &scratch.path().join("resumed"));
    copy_fixture("subagent-chat", &scratch.path().join("agents"));
    let db = common::test_db().await;
    let report = import(&db.url(), &scratch.path().join("resumed"), &[]);
    // The legacy document repeats four messages of the log it was resumed into.
    assert_eq!(written(&report), (6, 0, 0), "{report}");
    assert_eq!(report["messages"]["skipped"]["duplicate"], 4, "{report}");
    assert_eq!(ids(&rows(&db).await), ["m1", "m2", "m4", "m5", "m6", "m7"]);

    let agents = scratch.path().join("agents");
    // A subagent's chat holds its one objective as its prompt.
    let main_only = import(&db.url(), &agents, &["--include-trivial"]);
    assert_eq!(main_only["sessions"]["skipped"]["sidechain"], 1, "{main_only}");
    let with_sidechains = import(
        &db.url(),
        &agents,
        &["--include-trivial", "--include-sidechains", "--rescan"],
    );
    assert_eq!(written(&with_sidechains).0, 3, "{with_sidechains}");
    let client = db.client().await;
    let parents: Vec<Option<String>> = common::query_rows(
        &client,
        "select distinct meta->>'source_parent_session_id' from memory where meta ? 'source_is_sidechain'",
        |row| row.get(0),
    )
    .await;
    assert_eq!(parents, [Some("d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6".to_owned())]);
}

#[tokio::test]
async fn a_rewritten_log_is_read_again_whole_and_a_copy_set_aside_adds_no_duplicate() {
    let scratch = tempfile::tempdir().unwrap();
    let chats = scratch.path().join("tmp/app/chats");
    std::fs::create_dir_all(&chats).unwrap();
    let log = chats.join("session-2026-06-01T10-00-6a1b2c3d.jsonl");
    let meta = json!({"sessionId": "6a1b2c3d-0000-4000-8000-000000000002", "projectHash": "0",
        "startTime": "2026-06-01T10:00:00.000Z", "lastUpdated": "2026-06-01T10:00:00.000Z"});
    let first = [
        meta.clone(),
        prompt("u1", "00:01.000", "first question"),
        answer("g1", "00:02.000", "First answer."),
        prompt("u2", "01:00.000", "second question"),
        answer("g2", "01:02.000", "Second answer."),
    ];
    std::fs::write(&log, log_lines(&first)).unwrap();
    let db = common::test_db().await;
    assert_eq!(written(&import(&db.url(), scratch.path(), &[])), (4, 0, 0));

    // Rewritten in place with another beginning, longer than before: the checkpoint's prefix no
    // longer holds, so the file is read from its start.
    let rewritten = [
        meta.clone(),
        prompt("u0", "00:00.500", "a question asked first after all"),
        prompt("u1", "00:01.000", "first question"),
        answer("g1", "00:02.000", "First answer."),
        prompt("u2", "01:00.000", "second question"),
        answer("g2", "01:02.000", "Second answer."),
    ];
    std::fs::write(&log, log_lines(&rewritten)).unwrap();
    let report = import(&db.url(), scratch.path(), &[]);
    assert_eq!(report["files"]["restarted"], 1, "{report}");
    assert_eq!(written(&report), (1, 0, 4));

    // Set aside as unreadable and rewritten whole under the old name (a new file): the rewrite
    // lost the last turn and goes on; the copy still has it, under the same ids.
    let set_aside = chats.join("session-2026-06-01T10-00-6a1b2c3d.jsonl.unreadable-1780000000000");
    std::fs::rename(&log, &set_aside).unwrap();
    let rewrite = [
        meta,
        prompt("u0", "00:00.500", "a question asked first after all"),
        prompt("u1", "00:01.000", "first question"),
        answer("g1", "00:02.000", "First answer."),
        prompt("u3", "02:00.000", "third question"),
    ];
    std::fs::write(&log, log_lines(&rewrite)).unwrap();
    let report = import(&db.url(), scratch.path(), &[]);
    assert_eq!(report["files"]["resumed"], 0, "{report}");
    assert_eq!(written(&report).0, 1, "only u3 is new: {report}");
    assert_eq!(
        ids(&rows(&db).await),
        ["g1", "g2", "u0", "u1", "u2", "u3"],
        "nothing lost, nothing twice"
    );
}

/// One entry of a `logs.json` prompt log.
fn logged(session: &str, number: u64, at: &str, text: &str) -> Value {
    json!({"sessionId": session, "messageId": number, "type": "user", "message": text,
        "timestamp": format!("2026-06-01T10:{at}Z")})
}

/// Every row of `session`: `(message id, role, content, salvaged_from)`.
async fn session_rows(db: &common::TestDb, session: &str) -> Vec<(String, String, String, Option<String>)> {
    let client = db.client().await;
    let sql = "select meta->>'source_message_id', meta->>'source_message_role', content, \
               meta->>'salvaged_from' from memory where meta->>'source_session_id' = $1 order by 1";
    let found = client.query(sql, &[&session]).await.unwrap();
    found
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect()
}

#[tokio::test]
async fn a_deleted_chats_prompts_are_salvaged_from_the_log_and_replaced_by_the_chat_when_it_returns() {
    let scratch = tempfile::tempdir().unwrap();
    let home = scratch.path().join(".gemini");
    let project = home.join("tmp/app");
    let chats = project.join("chats");
    std::fs::create_dir_all(&chats).unwrap();
    std::fs::write(project.join(".project_root"), "/home/dev/app").unwrap();
    let (a, b) = (
        "a1b2c3d4-0000-4000-8000-00000000000a",
        "b1c2d3e4-0000-4000-8000-00000000000b",
    );
    let meta = |session: &str| {
        json!({"sessionId": session, "projectHash": "0", "startTime": "2026-06-01T10:00:00.000Z",
            "lastUpdated": "2026-06-01T10:00:00.000Z", "kind": "main"})
    };
    std::fs::write(
        chats.join("session-2026-06-01T10-00-a1b2c3d4.jsonl"),
        log_lines(&[
            meta(a),
            prompt("a1", "00:01.000", "fix the login bug"),
            answer("a2", "00:02.000", "Fixed: the cookie was not refreshed."),
            prompt("a3", "01:01.000", "add a test for it"),
            answer("a4", "01:02.000", "Added."),
        ]),
    )
    .unwrap();
    let chat_b = chats.join("session-2026-06-01T10-10-b1c2d3e4.jsonl");
    let backup = scratch.path().join("backup.jsonl");
    std::fs::write(
        &backup,
        log_lines(&[
            meta(b),
            prompt("b1", "10:01.000", "add a dark mode toggle"),
            answer("b2", "10:02.000", "Added the toggle."),
            prompt("b3", "11:01.000", "make it persist in localStorage"),
            answer("b4", "11:02.000", "It persists now."),
        ]),
    )
    .unwrap();
    let log = project.join("logs.json");
    let entries = json!([
        logged(a, 0, "00:01.000", "fix the login bug"),
        logged(a, 1, "01:01.000", "add a test for it"),
        logged(b, 0, "10:01.000", "add a dark mode toggle"),
        logged(b, 1, "11:01.000", "make it persist in localStorage"),
    ]);
    std::fs::write(&log, serde_json::to_string_pretty(&entries).unwrap()).unwrap();

    // --no-salvage: the log is not read.
    let unsalvaged = common::test_db().await;
    import(&unsalvaged.url(), &home, &["--no-salvage"]);
    assert_eq!(ids(&rows(&unsalvaged).await), ["a1", "a2", "a3", "a4"]);

    // B's chat is gone: its prompts come from the log, A's only from its chat.
    let db = common::test_db().await;
    let report = import(&db.url(), &home, &[]);
    assert_eq!(written(&report).0, 6, "{report}");
    let log_path = log.display().to_string();
    let salvaged = |id: &str, text: &str| {
        (
            id.to_owned(),
            "user".to_owned(),
            text.to_owned(),
            Some(log_path.clone()),
        )
    };
    assert_eq!(
        session_rows(&db, b).await,
        [
            salvaged("prompt-0", "add a dark mode toggle"),
            salvaged("prompt-1", "make it persist in localStorage"),
        ]
    );
    let a_rows = session_rows(&db, a).await;
    let a_ids: Vec<&str> = a_rows.iter().map(|row| row.0.as_str()).collect();
    assert_eq!(
        a_ids,
        ["a1", "a2", "a3", "a4"],
        "no prompt of a chat on disk is salvaged"
    );
    assert!(a_rows.iter().all(|row| row.3.is_none()));

    // B's chat is restored: its rows replace the salvaged ones, and no prompt is stored twice.
    std::fs::copy(&backup, &chat_b).unwrap();
    let report = import(&db.url(), &home, &[]);
    assert_eq!(written(&report).0, 4, "{report}");
    let b_rows = session_rows(&db, b).await;
    let b_ids: Vec<&str> = b_rows.iter().map(|row| row.0.as_str()).collect();
    assert_eq!(b_ids, ["b1", "b2", "b3", "b4"]);
    let client = db.client().await;
    let still_salvaged: i64 = common::query_value(
        &client,
        "select count(*) from memory where meta->>'source_session_id' = $1 and meta ? 'salvaged_from'",
        &[&b],
    )
    .await;
    assert_eq!(still_salvaged, 0);
    let twice: i64 = common::query_value(
        &client,
        "select count(*) from (select content from memory where meta->>'source_message_role' = 'user' \
         group by content having count(*) > 1) repeated",
        &[],
    )
    .await;
    assert_eq!(twice, 0, "no prompt appears twice");
    // Another run changes nothing.
    assert_eq!(written(&import(&db.url(), &home, &[])), (0, 0, 0));
}
