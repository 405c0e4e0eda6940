//! End-to-end tests: the `memtree` binary run on fixture sessions against a real PostgreSQL
//! (started by tests/common), asserting exit codes, reports and the rows stored.

mod common;

use std::path::{Path, PathBuf};

use common::{clean_sources, copy_fixture, fixture, memtree, memtree_command, written, Run};
use memtree::source::{Source, Unit, SOURCES};
use serde_json::Value;

/// A test's own database and private HOME, for runs of `memtree` against them.
struct Scene {
    db: common::TestDb,
    home: tempfile::TempDir,
    url: String,
}

impl Scene {
    async fn new() -> Scene {
        let db = common::test_db().await;
        let home = tempfile::tempdir().unwrap();
        let url = db.url();
        Scene { db, home, url }
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    fn run(&self, args: &[&str]) -> Run {
        memtree(args, self.home())
    }

    /// `tool import --json` of `source` into the test's database, with `extra` options.
    fn import(&self, tool: &str, source: impl AsRef<Path>, extra: &[&str]) -> Run {
        let source = source.as_ref().to_str().expect("a UTF-8 source path");
        let mut args = vec![
            tool,
            "import",
            "--json",
            "--database-url",
            &self.url,
            "--source",
            source,
        ];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// [`import_args`] of every source in `sources` into the test's database, with `extra` options.
    fn import_all(&self, tool: &str, sources: &[String], extra: &[&str]) -> Run {
        let extra: Vec<&str> = ["--database-url", self.url.as_str()]
            .into_iter()
            .chain(extra.iter().copied())
            .collect();
        self.run(&import_args(tool, sources, &extra))
    }

    /// A projects directory in HOME holding one [`write_claude_session`] per `(session id, cwd)`.
    fn claude_projects(&self, sessions: &[(&str, &str)]) -> PathBuf {
        let projects = self.home().join("projects");
        for (session_id, cwd) in sessions {
            write_claude_session(&projects, session_id, cwd);
        }
        projects
    }
}

fn codex_sources() -> Vec<String> {
    clean_sources("codex")
}

fn import_args<'a>(tool: &'a str, sources: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![tool, "import", "--json", "--include-trivial", "--source"];
    args.extend(sources.iter().map(String::as_str));
    args.extend_from_slice(extra);
    args
}

/// The report's file counts named by `names`, in that order.
fn file_counts<const N: usize>(report: &Value, names: [&str; N]) -> [Option<u64>; N] {
    names.map(|name| report["files"][name].as_u64())
}

/// Rows in `table` (a fixed name from the test, never input).
async fn count_rows(client: &tokio_postgres::Client, table: &str) -> u64 {
    let count: i64 = common::query_value(client, &format!("select count(*) from {table}"), &[]).await;
    count as u64
}

/// Every stored row's id with its transaction id: equal snapshots mean nothing was rewritten.
async fn row_versions(client: &tokio_postgres::Client) -> Vec<(uuid::Uuid, String)> {
    common::query_rows(client, "select id, xmin::text from memory order by id", |row| {
        (row.get(0), row.get(1))
    })
    .await
}

#[tokio::test]
async fn a_second_run_over_the_same_files_writes_nothing() {
    for source in SOURCES {
        second_run_writes_nothing(*source).await;
    }
}

async fn second_run_writes_nothing(source: &dyn Source) {
    let tool = source.name();
    let scene = Scene::new().await;
    let sources = clean_sources(tool);
    let options = ["--include-sidechains", "--full-transcript"];

    let first = scene.import_all(tool, &sources, &options);
    let (inserted, updated, unchanged) = written(&first.succeeded());
    assert!(inserted > 10, "{tool}: the fixtures hold more than 10 messages");
    assert_eq!((updated, unchanged), (0, 0));
    let client = scene.db.client().await;
    let before = row_versions(&client).await;
    assert_eq!(before.len() as u64, inserted);

    // Read everything again: the database finds every row current and writes none.
    let second = scene.import_all(tool, &sources, &[&options[..], &["--rescan"]].concat());
    assert_eq!(written(&second.succeeded()), (0, 0, inserted), "{tool}");
    assert_eq!(
        row_versions(&client).await,
        before,
        "{tool}: no row was rewritten"
    );

    // Without --rescan the ledger skips unchanged files (a store: unchanged sessions) unread.
    // What a salvaging run reads is read like a store: every run, its sessions unchanged.
    let report = scene.import_all(tool, &sources, &options).json();
    assert_eq!(written(&report), (0, 0, 0), "{tool}");
    match source.unit() {
        Unit::Store(_) => {
            assert_eq!(report["sessions"]["found"], 0, "{tool}");
            assert!(report["sessions"]["unchanged"].as_u64().unwrap() > 0, "{tool}");
        }
        Unit::Transcript(_) => {
            let roots: Vec<PathBuf> = sources.iter().map(PathBuf::from).collect();
            let salvaged = source.salvage().map_or(0, |salvage| salvage.files(&roots).len());
            assert_eq!(report["files"]["scanned"], salvaged, "{tool}");
            assert_eq!(report["sessions"]["found"], 0, "{tool}");
            assert!(report["files"]["unchanged"].as_u64().unwrap() > 0, "{tool}");
        }
    }
    assert_eq!(
        row_versions(&client).await,
        before,
        "{tool}: no row was rewritten"
    );
}

#[tokio::test]
async fn switching_to_full_transcript_rerenders_rows_in_place() {
    let scene = Scene::new().await;
    let sources = codex_sources();
    let default_run = scene.import_all("codex", &sources, &[]);
    let (text_rows, _, _) = written(&default_run.json());

    let full = scene.import_all("codex", &sources, &["--full-transcript"]);
    let (inserted, updated, unchanged) = written(&full.succeeded());
    assert_eq!(updated, text_rows, "every text row is re-rendered");
    assert!(inserted > 0, "tool calls and reasoning become new rows");
    assert_eq!(unchanged, 0);

    let client = scene.db.client().await;
    let modes: Vec<String> = common::query_rows(
        &client,
        "select distinct meta->>'content_mode' from memory",
        |row| row.get(0),
    )
    .await;
    assert_eq!(modes, vec!["full_transcript".to_owned()]);
    let created_kept: i64 = common::query_value(
        &client,
        "select count(*) from memory where updated_at is not null and created_at < updated_at",
        &[],
    )
    .await;
    assert_eq!(
        created_kept as u64, text_rows,
        "updated rows keep their id and created_at"
    );
}

#[tokio::test]
async fn dry_run_classifies_against_the_database_and_writes_nothing() {
    let scene = Scene::new().await;
    let sources = codex_sources();

    let report = scene.import_all("codex", &sources, &["--dry-run"]).succeeded();
    assert_eq!(report["messages"]["compared_with_database"], false);
    assert!(report["database_note"]
        .as_str()
        .unwrap()
        .contains("does not exist yet"));
    let client = scene.db.client().await;
    let tables: i64 = common::query_value(
        &client,
        "select count(*) from pg_tables where tablename = 'memory'",
        &[],
    )
    .await;
    assert_eq!(tables, 0, "a dry run creates nothing");

    let import = scene.import_all("codex", &sources, &[]);
    let (inserted, _, _) = written(&import.json());
    let versions = row_versions(&client).await;

    let report = scene
        .import_all("codex", &sources, &["--dry-run", "--full-transcript"])
        .json();
    assert_eq!(report["messages"]["compared_with_database"], true);
    let listed: Vec<&str> = report["session_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|session| session["file"].as_str().unwrap())
        .collect();
    assert!(
        listed.windows(2).all(|pair| pair[0] <= pair[1]),
        "sessions are listed by file, whatever the chunks they were read in: {listed:?}"
    );
    assert!(
        report["session_list"]
            .as_array()
            .unwrap()
            .iter()
            .any(|session| session["skipped"].is_string()),
        "the list mixes skipped and imported sessions"
    );
    let (would_insert, would_update, would_keep) = written(&report);
    assert_eq!(would_update, inserted);
    assert!(would_insert > 0);
    assert_eq!(would_keep, 0);
    assert_eq!(row_versions(&client).await, versions, "a dry run never writes");
}

#[test]
fn dry_run_works_without_any_database_and_starts_none() {
    let home = tempfile::tempdir().unwrap();
    let sources = codex_sources();
    let report = memtree(&import_args("codex", &sources, &["--dry-run"]), home.path()).succeeded();
    assert_eq!(report["messages"]["compared_with_database"], false);
    assert!(report["database_note"].as_str().unwrap().contains("not running"));
    assert!(report["messages"]["planned"].as_u64().unwrap() > 10);
    assert!(report["projects"]
        .as_array()
        .unwrap()
        .iter()
        .all(|project| project["tree"].as_str().unwrap().starts_with("projects.")));
    assert!(
        !home.path().join("data/memtree").exists(),
        "no local database was created"
    );
}

#[test]
fn text_dry_run_lists_the_plan_on_stdout_and_the_summary_on_stderr() {
    let home = tempfile::tempdir().unwrap();
    let sources = codex_sources();
    let mut args = vec!["codex", "import", "--dry-run", "--include-trivial", "--source"];
    args.extend(sources.iter().map(String::as_str));
    let run = memtree(&args, home.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("project ") && run.stdout.contains("session "),
        "{}",
        run.stdout
    );
    assert!(run.stderr.starts_with("Would import "), "{}", run.stderr);
}

#[test]
fn malformed_input_finishes_with_exit_code_1_naming_file_and_line() {
    let home = tempfile::tempdir().unwrap();
    let sources = vec![fixture("codex/malformed-torn/source").display().to_string()];
    let run = memtree(&import_args("codex", &sources, &["--dry-run"]), home.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    let diagnostic = &report["diagnostics"][0];
    assert!(diagnostic["file"].as_str().unwrap().ends_with(".jsonl"));
    assert!(diagnostic["line"].as_u64().is_some());
    assert!(report["files"]["malformed_lines"].as_u64().unwrap() > 0);
}

#[test]
fn usage_errors_exit_2_and_say_what_is_wrong() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("nope");
    let missing = missing.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["claude", "import", "--tree-root", "Bad-Root"], "--tree-root"),
        (vec!["claude", "import", "--since", "last tuesday"], "--since"),
        (vec!["claude", "import", "--source", missing], missing),
        (
            vec![
                "claude",
                "import",
                "--since",
                "2026-02-01",
                "--until",
                "2026-01-01",
            ],
            "--since",
        ),
    ];
    for (args, needle) in cases {
        let run = memtree(&args, home.path());
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{args:?}: {}", run.stderr);
    }
}

#[test]
fn an_unreachable_database_exits_2_without_showing_the_password() {
    let home = tempfile::tempdir().unwrap();
    let sources = codex_sources();
    let url = "postgresql://memtree:hunter2secret@127.0.0.1:1/memory";
    let run = memtree(
        &import_args("codex", &sources, &["--database-url", url]),
        home.path(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("127.0.0.1"), "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2secret") && !run.stdout.contains("hunter2secret"));
}

#[tokio::test]
async fn a_custom_schema_holds_the_table() {
    let scene = Scene::new().await;
    let run = scene.import_all("codex", &codex_sources(), &["--schema", "agent_history"]);
    let (inserted, _, _) = written(&run.succeeded());
    assert_eq!(
        count_rows(&scene.db.client().await, "agent_history.memory").await,
        inserted
    );
}

#[test]
fn a_tool_never_used_here_imports_nothing_without_error() {
    let home = tempfile::tempdir().unwrap();
    for tool in SOURCES.iter().map(|source| source.name()) {
        let run = memtree(&[tool, "import", "--dry-run", "--json"], home.path());
        assert_eq!(run.code, 0, "{tool}: {}", run.stderr);
        let report = run.json();
        assert_eq!(report["files"]["scanned"], 0, "{tool}");
        assert!(
            report["source_note"]
                .as_str()
                .unwrap()
                .starts_with(&format!("no {tool} sessions at")),
            "{tool}"
        );
    }
}

#[test]
fn a_source_without_sessions_says_where_they_are_kept() {
    let home = tempfile::tempdir().unwrap();
    let empty = home.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let source = empty.display().to_string();
    for tool_source in SOURCES {
        let tool = tool_source.name();
        let run = memtree(
            &[tool, "import", "--dry-run", "--json", "--source", &source],
            home.path(),
        );
        assert_eq!(run.code, 0, "{tool}: {}", run.stderr);
        let note = run.json()["source_note"].as_str().unwrap_or_default().to_owned();
        assert!(
            note.contains(&source) && note.contains(tool_source.layout()),
            "{tool}: {note}"
        );
    }
    // The layouts those notes quote name where the tools keep their sessions.
    for (tool, place) in [
        ("claude", "~/.claude/projects"),
        ("codex", "~/.codex/sessions"),
        ("opencode", "opencode.db"),
    ] {
        let layout = memtree::source::named(tool).unwrap().layout();
        assert!(layout.contains(place), "{tool}: {layout}");
    }
    // Claude's config directory itself is read through its `projects/`.
    let config = home.path().join(".claude");
    copy_fixture("claude/noise/source", &config.join("projects"));
    let config = config.display().to_string();
    let run = memtree(
        &["claude", "import", "--dry-run", "--json", "--source", &config],
        home.path(),
    );
    let report = run.json();
    assert!(report["files"]["scanned"].as_u64().unwrap() > 0, "{report}");
    assert!(report.get("source_note").is_none_or(Value::is_null), "{report}");
}

#[test]
fn default_locations_follow_the_tools_environment_variables() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("claude-config");
    copy_fixture("claude/noise/source", &config.join("projects"));
    let run = Run::of_command(
        memtree_command(home.path())
            .args(["claude", "import", "--dry-run", "--json"])
            .env("CLAUDE_CONFIG_DIR", &config),
    );
    assert_eq!(run.json()["sessions"]["imported"], 1, "{}", run.stderr);
}

#[test]
fn every_fixture_case_imports_and_only_broken_input_exits_1() {
    let home = tempfile::tempdir().unwrap();
    for tool in SOURCES.iter().map(|source| source.name()) {
        for case in common::fixture_cases(tool) {
            let has_problem = common::expects_problem(&case);
            let source = case.join("source").display().to_string();
            let args = [
                tool,
                "import",
                "--dry-run",
                "--json",
                "--include-sidechains",
                "--include-trivial",
                "--source",
                &source,
            ];
            let run = memtree(&args, home.path());
            assert_eq!(run.code, i32::from(has_problem), "{source}: {}", run.stderr);
            if has_problem {
                assert!(
                    !run.json()["diagnostics"].as_array().unwrap().is_empty(),
                    "{source}: the problem is named"
                );
            }
        }
    }
}

/// Writes a two-prompt Claude Code session run in `cwd` into a projects directory.
fn write_claude_session(projects: &Path, session_id: &str, cwd: &str) {
    let dir = projects.join(cwd.replace(|ch: char| !ch.is_ascii_alphanumeric(), "-"));
    std::fs::create_dir_all(&dir).unwrap();
    let line = |n: u32, kind: &str, content: Value| {
        serde_json::json!({
            "type": kind, "sessionId": session_id, "uuid": format!("{session_id}-{n}"), "cwd": cwd,
            "timestamp": format!("2026-05-0{n}T10:00:00.000Z"), "version": "2.1.0",
            "message": { "role": kind, "model": "claude-opus-4-5", "content": content },
        })
        .to_string()
    };
    let text = [
        line(1, "user", Value::from(format!("first prompt in {cwd}"))),
        line(
            2,
            "assistant",
            serde_json::json!([{ "type": "text", "text": "an answer" }]),
        ),
        line(3, "user", Value::from("second prompt")),
    ]
    .join("\n");
    std::fs::write(dir.join(format!("{session_id}.jsonl")), text + "\n").unwrap();
}

async fn stored_trees(client: &tokio_postgres::Client) -> Vec<(String, String)> {
    common::query_rows(
        client,
        "select distinct meta->>'source_cwd', tree::text from memory order by 1",
        |row| (row.get(0), row.get(1)),
    )
    .await
}

#[tokio::test]
async fn each_row_carries_the_cwd_and_model_in_force_for_its_message() {
    let scene = Scene::new().await;
    let source = fixture("claude/cwd-and-model-change/source");
    assert_eq!(written(&scene.import("claude", &source, &[]).succeeded()).0, 6);
    let client = scene.db.client().await;
    let rows = common::query_rows(
        &client,
        "select meta->>'source_message_id', meta->>'source_cwd', meta->>'source_model' \
         from memory order by lower(temporal)",
        |row| {
            (
                row.get::<_, String>(0),
                row.get::<_, String>(1),
                row.get::<_, String>(2),
            )
        },
    )
    .await;
    let row = |id: &str, cwd: &str, model: &str| (id.to_owned(), cwd.to_owned(), model.to_owned());
    // The session's cwd and model are its first; a message in another directory, or answered by
    // another model, keeps its own.
    assert_eq!(
        rows,
        [
            row("abab-u1", "/w/shop", "claude-sonnet-4-6"),
            row("abab-a1", "/w/shop", "claude-sonnet-4-6"),
            row("abab-u2", "/w/shop/api", "claude-sonnet-4-6"),
            row("abab-a2", "/w/shop/api", "claude-opus-4-6"),
            row("abab-u3", "/w/shop", "claude-sonnet-4-6"),
            row("abab-a3", "/w/shop", "claude-sonnet-4-6"),
        ]
    );

    // Codex: the second turn runs in a subdirectory with another model. Its prompt comes before
    // its `turn_context`, so it is stored with the first turn's.
    let source = fixture("codex/wrapped-2026/source");
    assert_eq!(
        written(&scene.import("codex", &source, &["--full-transcript"]).succeeded()).0,
        10
    );
    let rows = common::query_rows(
        &client,
        "select meta->>'source_message_role', meta->>'source_cwd', meta->>'source_model', count(*) \
         from memory where meta->>'source_tool' = 'codex' group by 1, 2, 3 order by 1, 2, 3",
        |row| {
            let text = |column: usize| row.get::<_, String>(column);
            (text(0), text(1), text(2), row.get::<_, i64>(3))
        },
    )
    .await;
    let (root, web) = ("/Users/x/patent-platform", "/Users/x/patent-platform/web");
    let group = |role: &str, cwd: &str, model: &str, rows: i64| {
        (role.to_owned(), cwd.to_owned(), model.to_owned(), rows)
    };
    assert_eq!(
        rows,
        [
            group("assistant", root, "gpt-5.4", 2),
            group("assistant", web, "gpt-5.5", 1),
            group("tool_call", root, "gpt-5.4", 2),
            group("tool_call", web, "gpt-5.5", 1),
            group("tool_result", root, "gpt-5.4", 1),
            group("tool_result", web, "gpt-5.5", 1),
            group("user", root, "gpt-5.4", 2),
        ]
    );
}

#[tokio::test]
async fn a_slug_once_given_never_changes_whatever_later_runs_see() {
    let scene = Scene::new().await;
    let projects = scene.claude_projects(&[
        ("11111111-0000-4000-8000-000000000001", "/nonexistent/zeta/app"),
        ("22222222-0000-4000-8000-000000000002", "/nonexistent/alpha/app"),
    ]);
    let source = projects.display().to_string();
    let only_zeta = ["--project", "/nonexistent/zeta/app"];
    let report = scene.import("claude", &source, &only_zeta).succeeded();
    assert_eq!(report["sessions"]["imported"], 1);
    assert_eq!(
        report["files"]["scanned"], 1,
        "the other project's directory is pruned, not parsed"
    );

    let second = scene.import("claude", &source, &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let client = scene.db.client().await;
    let trees = stored_trees(&client).await;
    assert_eq!(
        trees[1],
        (
            "/nonexistent/zeta/app".to_owned(),
            "projects.app.agent_sessions".to_owned()
        ),
        "the first project keeps the plain slug"
    );
    let (alpha_cwd, alpha_tree) = &trees[0];
    assert_eq!(alpha_cwd, "/nonexistent/alpha/app");
    assert!(
        alpha_tree.starts_with("projects.app_") && alpha_tree.ends_with(".agent_sessions"),
        "{alpha_tree}"
    );

    // A third run in the other order of discovery and scope changes nothing.
    let only_alpha = ["--rescan", "--project", "/nonexistent/alpha"];
    let third = scene.import("claude", &source, &only_alpha);
    assert_eq!(written(&third.json()), (0, 0, 3));
    assert_eq!(stored_trees(&client).await, trees);
}

#[tokio::test]
async fn trees_and_sessions_can_be_queried_with_ltree_operators() {
    let scene = Scene::new().await;
    let projects =
        scene.claude_projects(&[("33333333-0000-4000-8000-000000000003", "/nonexistent/shop/web")]);
    let source = projects.display().to_string();
    // A plain run (no --json): the rows are what is checked.
    let run = scene.run(&[
        "claude",
        "import",
        "--database-url",
        &scene.url,
        "--source",
        &source,
        "--tree-root",
        "me.work",
        "--sessions-node-name",
        "chats",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let client = scene.db.client().await;
    let row = client
        .query_one(
            "select count(*), min(lower(temporal))::text, bool_and(lower(temporal) = upper(temporal)) from memory \
             where tree <@ 'me.work.web' and meta @> '{\"source_tool\":\"claude\",\"source_message_role\":\"user\"}'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 2);
    assert_eq!(row.get::<_, String>(1), "2026-05-01 10:00:00+00");
    assert!(row.get::<_, bool>(2), "temporal is a point");
}

#[tokio::test]
async fn a_skipped_trivial_session_that_grows_is_read_whole() {
    let scene = Scene::new().await;
    let id = "66666666-0000-4000-8000-000000000006";
    let projects = scene.claude_projects(&[(id, "/nonexistent/late/app")]);
    let file = projects.join(format!("-nonexistent-late-app/{id}.jsonl"));
    let whole = std::fs::read_to_string(&file).unwrap();
    let first_two: String = whole.lines().take(2).map(|line| format!("{line}\n")).collect();
    std::fs::write(&file, &first_two).unwrap();
    let source = projects.display().to_string();
    let report = scene.import("claude", &source, &[]).json();
    assert_eq!(report["sessions"]["skipped"]["trivial"], 1);
    assert_eq!(written(&report), (0, 0, 0));

    // A second prompt makes it a conversation: its first prompt and answer are imported too, so
    // the file is read from its start, not on from where the last run stopped.
    std::fs::write(&file, &whole).unwrap();
    let report = scene.import("claude", &source, &[]).json();
    assert_eq!(report["files"]["resumed"], 0);
    assert_eq!(written(&report), (3, 0, 0));
}

#[tokio::test]
async fn a_grown_codex_rollout_is_read_on_from_its_checkpoint() {
    let scene = Scene::new().await;
    let source = scene.home().join("sessions");
    copy_fixture("codex/wrapped-0-63/source", &source);
    let source = source.display().to_string();
    let first = scene.import("codex", &source, &[]).json();
    let imported = written(&first).0;
    assert!(imported > 0);

    // Codex appends a turn: the prompt event and the answer.
    let rollout = walkdir::WalkDir::new(&source)
        .into_iter()
        .map(|entry| entry.unwrap().into_path())
        .find(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .unwrap();
    let turn = [
        serde_json::json!({"timestamp": "2025-11-27T03:41:00.000Z", "type": "event_msg",
            "payload": {"type": "user_message", "message": "and a test, please"}}),
        serde_json::json!({"timestamp": "2025-11-27T03:41:05.000Z", "type": "response_item",
            "payload": {"type": "message", "role": "assistant",
                "content": [{"type": "output_text", "text": "Added."}]}}),
    ]
    .map(|line| format!("{line}\n"))
    .concat();
    let mut text = std::fs::read_to_string(&rollout).unwrap();
    text.push_str(&turn);
    std::fs::write(&rollout, &text).unwrap();
    let second = scene.import("codex", &source, &[]).json();
    assert_eq!(second["files"]["resumed"], 1);
    assert_eq!(
        second["files"]["bytes"].as_u64(),
        Some(turn.len() as u64),
        "only the new turn is parsed"
    );
    assert_eq!(written(&second), (2, 0, 0));

    // The same rows as an import of the whole grown file into an empty database.
    let fresh = Scene::new().await;
    let whole = fresh.import("codex", &source, &[]).json();
    assert_eq!(written(&whole), (imported + 2, 0, 0));
    assert_eq!(stored_rows(&scene).await, stored_rows(&fresh).await);
}

/// Every stored row's id and content, in id order.
async fn stored_rows(scene: &Scene) -> Vec<String> {
    let client = scene.db.client().await;
    common::query_rows(
        &client,
        "select id::text || ' ' || content from memory order by id",
        |row| row.get::<_, String>(0),
    )
    .await
}

#[tokio::test]
async fn checkpoints_hold_no_secret_that_the_rows_do_not_hold() {
    const TOKEN: &str = "ghp_aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2zA4";
    let scene = Scene::new().await;
    let id = "77777777-0000-4000-8000-000000000007";
    let projects = scene.claude_projects(&[(id, "/nonexistent/secret/app")]);
    let file = projects.join(format!("-nonexistent-secret-app/{id}.jsonl"));
    // The first prompt, which is also the session's title, holds a token.
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("first prompt in", &format!("first prompt with {TOKEN} in"));
    std::fs::write(&file, &text).unwrap();
    let source = projects.display().to_string();
    assert_eq!(written(&scene.import("claude", &source, &[]).json()), (3, 0, 0));
    let client = scene.db.client().await;
    let checkpoint: String = common::query_value(&client, "select checkpoint from memtree_ledger", &[]).await;
    assert!(checkpoint.contains("[REDACTED:github_token]"), "{checkpoint}");
    assert!(!checkpoint.contains(TOKEN), "{checkpoint}");

    // Read on from that checkpoint, the new row's title is redacted like the earlier rows'.
    let appended = serde_json::json!({
        "type": "user", "sessionId": id, "uuid": "appended-secret", "cwd": "/nonexistent/secret/app",
        "timestamp": "2026-05-09T10:00:00.000Z", "message": { "role": "user", "content": "later" },
    });
    std::fs::write(&file, format!("{text}{appended}\n")).unwrap();
    let report = scene.import("claude", &source, &[]).json();
    assert_eq!(
        (report["files"]["resumed"].as_u64(), written(&report)),
        (Some(1), (1, 0, 0))
    );
    let titles: Vec<String> = common::query_rows(
        &client,
        "select distinct meta->>'source_session_title' from memory",
        |row| row.get(0),
    )
    .await;
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert!(titles[0].contains("[REDACTED:github_token]") && !titles[0].contains(TOKEN));
}

#[tokio::test]
async fn changed_files_are_read_again_and_nothing_stored_is_lost() {
    let scene = Scene::new().await;
    let projects = scene.claude_projects(&[
        ("44444444-0000-4000-8000-000000000004", "/nonexistent/grow/app"),
        ("55555555-0000-4000-8000-000000000005", "/nonexistent/still/app"),
    ]);
    let source = projects.display().to_string();
    let import = |extra: &[&str]| scene.import("claude", &source, extra);
    assert_eq!(written(&import(&[]).json()), (6, 0, 0));

    // The tool appends a message to one session: only that file is opened, and only its new line
    // is parsed (read on from the checkpoint the ledger keeps); only the new row is written.
    let grown = projects.join("-nonexistent-grow-app/44444444-0000-4000-8000-000000000004.jsonl");
    let mut text = std::fs::read_to_string(&grown).unwrap();
    let appended_line = |uuid: &str, prompt: &str| {
        serde_json::json!({
            "type": "user", "sessionId": "44444444-0000-4000-8000-000000000004", "uuid": uuid,
            "cwd": "/nonexistent/grow/app", "timestamp": "2026-05-09T10:00:00.000Z",
            "message": { "role": "user", "content": prompt },
        })
        .to_string()
            + "\n"
    };
    let line = appended_line("appended-1", "a later prompt");
    text.push_str(&line);
    std::fs::write(&grown, &text).unwrap();
    let report = import(&[]).json();
    assert_eq!(
        file_counts(&report, ["scanned", "unchanged", "resumed"]),
        [Some(1), Some(1), Some(1)]
    );
    assert_eq!(
        report["files"]["bytes"].as_u64(),
        Some(line.len() as u64),
        "only the new line is parsed"
    );
    assert_eq!(written(&report), (1, 0, 0));

    // The same file edited before its end (and grown): the checkpoint no longer describes its
    // start, so it is read again from the beginning, and nothing already stored is written again.
    text = text.replacen("\"uuid\"", "\"uuid\" ", 1);
    text.push_str(&appended_line("appended-2", "yet another prompt"));
    std::fs::write(&grown, &text).unwrap();
    let report = import(&[]).json();
    assert_eq!(
        file_counts(&report, ["resumed", "restarted", "bytes"]),
        [Some(0), Some(1), Some(text.len() as u64)]
    );
    assert_eq!(written(&report), (1, 0, 4));

    // The file is rewritten shorter (history compacted away): what was imported stays.
    let first_line = text.lines().next().unwrap().to_owned();
    std::fs::write(&grown, first_line + "\n").unwrap();
    let report = import(&["--include-trivial"]).json();
    assert_eq!(report["files"]["scanned"], 2, "other options: every file is read");
    let client = scene.db.client().await;
    assert_eq!(
        count_rows(&client, "memory").await,
        8,
        "rewriting or deleting a source file never deletes its memories"
    );

    // A deleted source file leaves its memories in place too.
    std::fs::remove_file(&grown).unwrap();
    assert_eq!(import(&[]).code, 0);
    assert_eq!(count_rows(&client, "memory").await, 8);
}

#[tokio::test]
async fn files_with_problems_are_read_again_until_fixed() {
    let scene = Scene::new().await;
    let source = fixture("claude/damaged/source");
    for _ in 0..2 {
        let run = scene.import("claude", &source, &["--include-trivial"]);
        assert_eq!(
            run.code, 1,
            "the malformed line is reported on every run: {}",
            run.stderr
        );
        assert_eq!(run.json()["files"]["scanned"], 1);
    }
}

#[tokio::test]
async fn an_opencode_session_that_changed_is_read_again_alone() {
    let scene = Scene::new().await;
    let data = scene.home().join("opencode");
    copy_fixture("opencode/database-and-storage/source", &data);
    let source = data.display().to_string();
    let import = || {
        scene.import(
            "opencode",
            &source,
            &["--include-trivial", "--include-sidechains"],
        )
    };
    let first = import().json();
    let n_sessions = first["sessions"]["found"].as_u64().unwrap();
    assert!(n_sessions >= 2);

    let database = data.join("opencode.db");
    let connection = rusqlite::Connection::open(&database).unwrap();
    let changed: String = connection
        .query_row("select id from session order by id limit 1", [], |row| row.get(0))
        .unwrap();
    connection
        .execute(
            "update session set time_updated = time_updated + 1 where id = ?1",
            [&changed],
        )
        .unwrap();
    drop(connection);

    let second = import().json();
    assert_eq!(second["sessions"]["found"], 1, "only the changed session is read");
    assert_eq!(second["session_list"][0]["id"], changed.as_str());
    assert_eq!(second["sessions"]["unchanged"].as_u64().unwrap(), n_sessions - 1);
}

/// Sessions added to `database`: `copies` copies of its first main session, each with its own
/// session, message and part ids.
fn add_session_copies(database: &Path, copies: usize) {
    let connection = rusqlite::Connection::open(database).unwrap();
    let original: String = connection
        .query_row(
            "select id from session where parent_id is null order by id limit 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    for n in 0..copies {
        let suffix = format!("copy{n:04}");
        connection
            .execute_batch(&format!(
                "create temp table s as select * from session where id = '{original}';
                 update s set id = id || '{suffix}';
                 insert into session select * from s;
                 create temp table m as select * from message where session_id = '{original}';
                 update m set id = id || '{suffix}', session_id = session_id || '{suffix}';
                 insert into message select * from m;
                 create temp table p as select * from part where session_id = '{original}';
                 update p set id = id || '{suffix}', message_id = message_id || '{suffix}',
                     session_id = session_id || '{suffix}';
                 insert into part select * from p;
                 drop table s; drop table m; drop table p;"
            ))
            .unwrap();
    }
}

#[tokio::test]
async fn an_opencode_store_larger_than_one_group_is_imported_whole_and_recorded() {
    let scene = Scene::new().await;
    let data = scene.home().join("opencode");
    copy_fixture("opencode/database-and-storage/source", &data);
    // More sessions than one planning group holds (256), so the store is written in groups.
    add_session_copies(&data.join("opencode.db"), 600);
    let source = data.display().to_string();
    let import = || scene.import("opencode", &source, &["--include-trivial"]);
    let first = import().succeeded();
    let found = first["sessions"]["found"].as_u64().unwrap();
    assert!(found > 600, "{first}");
    let planned = first["messages"]["planned"].as_u64().unwrap();
    assert_eq!(written(&first), (planned, 0, 0));
    assert_eq!(count_rows(&scene.db.client().await, "memory").await, planned);

    // Every group recorded its sessions: nothing is read again.
    let second = import().json();
    assert_eq!(second["sessions"]["found"], 0, "{second}");
    assert_eq!(second["sessions"]["unchanged"].as_u64().unwrap(), found);
}

#[tokio::test]
async fn secrets_never_reach_the_database_unless_asked() {
    let scene = Scene::new().await;
    let secret = "sk-ant-api03-Zq8mR2vX7nT4pL9wK3cY6hB1jF5dG0sA8eU2iO7rN4tM9xQ3zV6bC1kH5gJ0fD2lP8aS7wE4yR";
    let projects =
        scene.claude_projects(&[("66666666-0000-4000-8000-000000000006", "/nonexistent/keys/app")]);
    let file = projects.join("-nonexistent-keys-app/66666666-0000-4000-8000-000000000006.jsonl");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("second prompt", &format!("my key is {secret}"));
    std::fs::write(&file, text).unwrap();
    let source = projects.display().to_string();

    let dry = scene
        .run(&["claude", "import", "--json", "--dry-run", "--source", &source])
        .json();
    assert_eq!(
        dry["messages"]["redactions"]["anthropic_key"], 1,
        "a dry run shows the counts"
    );

    let run = scene.import("claude", &source, &[]);
    assert_eq!(run.json()["messages"]["redactions"]["anthropic_key"], 1);
    let client = scene.db.client().await;
    let leaked: i64 = common::query_value(
        &client,
        "select count(*) from memory where content like '%' || $1 || '%' or meta::text like '%' || $1 || '%'",
        &[&secret],
    )
    .await;
    assert_eq!(leaked, 0);
    let marked: i64 = common::query_value(
        &client,
        "select count(*) from memory where content like '%[REDACTED:anthropic_key]%' and meta->'redactions'->>'anthropic_key' = '1'",
        &[],
    )
    .await;
    assert_eq!(marked, 1);

    let kept = scene.import("claude", &source, &["--no-redact"]);
    assert_eq!(
        written(&kept.json()).1,
        3,
        "--no-redact is another option set: rows are re-rendered"
    );
    let stored: i64 = common::query_value(
        &client,
        "select count(*) from memory where content like '%' || $1 || '%'",
        &[&secret],
    )
    .await;
    assert_eq!(stored, 1, "--no-redact stores the text as it is");
}

/// The README's first command must keep working on the bundled fixtures (checked here as a dry
/// run, so no local database is started).
#[test]
fn the_readme_quickstart_imports_without_problems() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let command = readme
        .lines()
        .find_map(|line| line.strip_prefix("cargo run --release -- "))
        .expect("the README shows a `cargo run --release -- ...` command");
    let home = tempfile::tempdir().unwrap();
    // Paths under `fixtures/` are relative to the repository, where the README's command runs.
    let args: Vec<String> = command
        .split_whitespace()
        .map(|arg| match arg.strip_prefix("fixtures/") {
            Some(path) => fixture(path).display().to_string(),
            None => arg.to_owned(),
        })
        .chain(["--dry-run".to_owned(), "--json".to_owned()])
        .collect();
    let run = memtree(&args, home.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.json()["messages"]["planned"].as_u64().unwrap() > 0);
}
