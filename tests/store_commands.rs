//! End-to-end tests of the commands that use the store: `memtree import` of every tool found in
//! a home, `search`, `show`, `status`, completions and the manual page; the real binary against a
//! real PostgreSQL (tests/common).

mod common;

use std::path::{Path, PathBuf};

use common::{copy_fixture, fixture, memtree, memtree_command, Run};
use memtree::source::{Source, SOURCES};
use serde_json::{json, Value};

/// A test's own database and private HOME.
struct Scene {
    db: common::TestDb,
    home: tempfile::TempDir,
    url: String,
}

impl Scene {
    async fn new() -> Scene {
        let db = common::test_db().await;
        let url = db.url();
        Scene {
            db,
            home: tempfile::tempdir().unwrap(),
            url,
        }
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    /// `memtree args... --database-url <the test's>` (before a `--`, which ends the flags).
    fn run(&self, args: &[&str]) -> Run {
        let mut args = args.to_vec();
        let at = args.iter().position(|arg| *arg == "--").unwrap_or(args.len());
        args.splice(at..at, ["--database-url", self.url.as_str()]);
        memtree(&args, self.home())
    }

    /// Imports a fixture case's `source/` tree with `tool`, every session included.
    fn import_case(&self, tool: &str, case: &str) {
        let source = fixture(&format!("{tool}/{case}/source"));
        self.run(&[
            tool,
            "import",
            "--json",
            "--include-trivial",
            "--include-sidechains",
            "--source",
            source.to_str().unwrap(),
        ])
        .succeeded_as(&format!("import of {tool}/{case}"));
    }

    /// Where `source` keeps its sessions in this HOME: its last default location (the only one
    /// but for Cursor, whose last is the IDE's user directory, where its cases' trees go).
    fn default_root(&self, source: &dyn Source) -> PathBuf {
        let home = self.home().to_owned();
        let env = move |name: &str| match name {
            "HOME" => Some(home.clone().into_os_string()),
            "XDG_DATA_HOME" => Some(home.join("data").into_os_string()),
            _ => None,
        };
        source.default_roots(&env).pop().unwrap()
    }

    /// Copies a fixture case's `source/` tree to where its tool looks by default in this HOME.
    fn install_case(&self, tool: &str, case: &str) {
        let root = self.default_root(memtree::source::named(tool).unwrap());
        copy_fixture(&format!("{tool}/{case}/source"), &root);
    }

    fn search(&self, args: &[&str]) -> Value {
        let mut all = vec!["search", "--json"];
        all.extend_from_slice(args);
        self.run(&all).succeeded_as(&format!("search {args:?}"))
    }
}

/// A fixture case of each tool that imports without problems, with a conversation of prompts and
/// answers that each carry a time of their own or a line in their file (`show` orders a session's
/// messages by time, then line).
const CASES: [(&str, &str); 10] = [
    ("claude", "reference-session"),
    ("codex", "reference-codex"),
    ("opencode", "database-and-storage"),
    ("gemini", "jsonl-slug-dirs"),
    ("cursor", "vscdb-v16"),
    ("copilot", "session-dir-2026"),
    ("qwen", "chat-0.14"),
    ("aider", "recent-0-86"),
    ("crush", "schema-2026"),
    ("cline", "vscode-tool-use"),
];

#[test]
fn every_tool_has_a_case_here() {
    for source in SOURCES {
        assert!(
            CASES.iter().any(|(tool, _)| *tool == source.name()),
            "add a case of {} to CASES",
            source.name()
        );
    }
}

/// Writes a Claude Code session of two prompts and an answer into `projects`.
fn write_claude_session(projects: &Path, session_id: &str, cwd: &str, texts: [&str; 3]) {
    let dir = projects.join(cwd.replace(|ch: char| !ch.is_ascii_alphanumeric(), "-"));
    std::fs::create_dir_all(&dir).unwrap();
    let line = |n: usize, role: &str, content: Value| {
        json!({
            "type": role, "sessionId": session_id, "uuid": format!("{session_id}-{n}"), "cwd": cwd,
            "timestamp": format!("2026-05-0{n}T10:00:00.000Z"), "version": "2.1.0",
            "message": { "role": role, "model": "claude-opus-4-5", "content": content },
        })
        .to_string()
    };
    let lines = [
        line(1, "user", Value::from(texts[0])),
        line(2, "assistant", json!([{ "type": "text", "text": texts[1] }])),
        line(3, "user", Value::from(texts[2])),
    ];
    std::fs::write(dir.join(format!("{session_id}.jsonl")), lines.join("\n") + "\n").unwrap();
}

const KNOWN: &str = "The borrow checker rejects parse_time_at in src/store/write.rs with E0502 \
                     and HashMapEntry; see os.path.join too";

#[tokio::test]
async fn search_finds_a_known_message_by_word_phrase_identifier_and_path_with_each_filter() {
    let scene = Scene::new().await;
    for (tool, case) in CASES {
        scene.import_case(tool, case);
    }
    let projects = scene.home().join("projects");
    write_claude_session(
        &projects,
        "5ea4c100-0000-4000-8000-000000000001",
        "/w/searched",
        [KNOWN, "an answer about lifetimes", "thanks"],
    );
    // The same words elsewhere: another project, so filters have something to leave out.
    write_claude_session(
        &projects,
        "5ea4c100-0000-4000-8000-000000000002",
        "/w/elsewhere",
        ["the borrow checker rejects it again", "E0502 again", "bye"],
    );
    let projects = projects.display().to_string();
    scene
        .run(&["claude", "import", "--json", "--source", &projects])
        .succeeded();
    let client = scene.db.client().await;
    let known: uuid::Uuid = common::query_value(
        &client,
        "select id from memory where content = $1",
        &[&KNOWN.to_owned()],
    )
    .await;

    let queries = [
        ("a word", "rejects"),
        ("a stemmed word", "rejecting"),
        ("two words", "borrow checker"),
        ("a phrase", "\"borrow checker rejects\""),
        ("an exclusion", "borrow -zebra"),
        ("an alternative", "zebra or HashMapEntry"),
        ("a snake_case identifier", "parse_time_at"),
        ("a CamelCase identifier", "HashMapEntry"),
        ("an error code", "E0502"),
        ("a path", "src/store/write.rs"),
        ("a partial path", "store/write.rs"),
        ("a file name", "write.rs"),
        ("a module path", "path.join"),
    ];
    let filters: [(&str, &[&str], bool); 12] = [
        ("no filter", &[], true),
        ("--project", &["--project", "/w/searched"], true),
        ("--project elsewhere", &["--project", "/w/elsewhere"], false),
        ("--tool", &["--tool", "claude"], true),
        ("--tool other", &["--tool", "codex"], false),
        ("--since", &["--since", "2026-05-01"], true),
        ("--since after", &["--since", "2026-05-02"], false),
        ("--until", &["--until", "2026-05-01T10:00:00Z"], true),
        ("--until before", &["--until", "2026-04-30"], false),
        (
            "--session",
            &["--session", "5ea4c100-0000-4000-8000-000000000001"],
            true,
        ),
        ("--role", &["--role", "user"], true),
        ("--role other", &["--role", "assistant"], false),
    ];
    let mut failures = Vec::new();
    for (what, query) in queries {
        for (filter, flags, finds) in filters {
            let mut args = flags.to_vec();
            args.extend(["--", query]);
            let report = scene.search(&args);
            let ids: Vec<&str> = report["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|hit| hit["id"].as_str().unwrap())
                .collect();
            if ids.contains(&known.to_string().as_str()) != finds {
                failures.push(format!("{what} `{query}` with {filter}: {ids:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn search_results_carry_ranks_meta_and_a_snippet_and_say_when_nothing_matches() {
    let scene = Scene::new().await;
    let projects = scene.home().join("projects");
    write_claude_session(
        &projects,
        "5ea4c100-0000-4000-8000-000000000003",
        "/w/ranked",
        [
            "deadlock deadlock deadlock in the writer",
            "a deadlock, once",
            "unrelated words",
        ],
    );
    let projects = projects.display().to_string();
    scene
        .run(&["claude", "import", "--json", "--source", &projects])
        .succeeded();

    let report = scene.search(&["deadlock"]);
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{report}");
    assert_eq!(
        results[0]["role"], "user",
        "the denser match ranks first: {report}"
    );
    assert!(results[0]["score"].as_f64().unwrap() > results[1]["score"].as_f64().unwrap());
    for hit in results {
        assert_eq!(hit["tool"], "claude");
        assert_eq!(hit["cwd"], "/w/ranked");
        assert_eq!(hit["session_id"], "5ea4c100-0000-4000-8000-000000000003");
        assert!(hit["snippet"].as_str().unwrap().contains("**deadlock**"), "{hit}");
        assert_eq!(hit["meta"]["source_tool"], "claude");
    }

    let text = scene.run(&["search", "deadlock", "writer"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("claude  /w/ranked"), "{}", text.stdout);
    assert!(text.stdout.contains("**writer**"), "{}", text.stdout);

    let none = scene.run(&["search", "zebra"]);
    assert_eq!((none.code, none.stdout.as_str()), (0, ""), "{}", none.stderr);
    assert!(none.stderr.contains("no message matches"), "{}", none.stderr);
    let stopwords = scene.run(&["search", "the"]);
    assert_eq!(stopwords.code, 2);
    assert!(
        stopwords.stderr.contains("no word to search for"),
        "{}",
        stopwords.stderr
    );
}

/// The messages of a fixture session with text, as the default mode stores them.
fn expected_messages(session: &Value) -> Vec<(String, String)> {
    session["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|message| {
            let texts: Vec<&str> = message["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|block| block["kind"] == "text")
                .map(|block| block["text"].as_str().unwrap().trim_end())
                .filter(|text| !text.trim().is_empty())
                .collect();
            (!texts.is_empty()).then(|| (message["role"].as_str().unwrap().to_owned(), texts.join("\n\n")))
        })
        .collect()
}

#[tokio::test]
async fn show_reproduces_each_tools_fixture_session_in_order() {
    let scene = Scene::new().await;
    for (tool, case) in CASES {
        scene.import_case(tool, case);
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(fixture(&format!("{tool}/{case}/expected.json"))).unwrap(),
        )
        .unwrap();
        // The main session with the most messages.
        let session = expected["units"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|unit| unit["sessions"].as_array().unwrap())
            .filter(|session| session["facts"]["is_sidechain"] != true)
            .max_by_key(|session| session["messages"].as_array().unwrap().len())
            .unwrap();
        let id = session["id"].as_str().unwrap();
        let messages = expected_messages(session);
        assert!(messages.len() >= 2, "{tool}/{case}");

        // By a prefix of its id, as JSON and as text.
        let prefix = &id[..id.len() - 4];
        let shown = scene.run(&["show", "--json", prefix]).succeeded_as(tool);
        assert_eq!(shown["session"]["id"], id, "{tool}");
        assert_eq!(shown["session"]["tool"], tool);
        // Subagent threads the session holds come after its main thread, marked.
        let stored: Vec<(String, String)> = shown["messages"]
            .as_array()
            .unwrap()
            .iter()
            .take_while(|message| message["sidechain"] == false)
            .map(|message| {
                (
                    message["role"].as_str().unwrap().to_owned(),
                    message["content"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(stored, messages, "{tool}/{case}");

        let text = scene.run(&["show", id]);
        assert_eq!(text.code, 0, "{}", text.stderr);
        let mut at = 0;
        for (role, content) in &messages {
            let header = format!("--- {role}  ");
            let found = text.stdout[at..]
                .find(&header)
                .unwrap_or_else(|| panic!("{tool}: no {header:?} after byte {at}:\n{}", text.stdout));
            at += found + header.len();
            let body = text.stdout[at..].find(content.as_str());
            assert!(body.is_some(), "{tool}: {content:?} after its header");
        }
    }
    let missing = scene.run(&["show", "no-such-session"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no session `no-such-session`"),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn show_last_takes_the_newest_session_of_a_project() {
    let scene = Scene::new().await;
    let projects = scene.home().join("projects");
    for (n, id) in [
        "5ea4c100-0000-4000-8000-00000000000a",
        "5ea4c100-0000-4000-8000-00000000000b",
    ]
    .iter()
    .enumerate()
    {
        write_claude_session(
            &projects,
            id,
            &format!("/w/last{n}"),
            ["first prompt", "an answer", "second prompt"],
        );
    }
    let projects = projects.display().to_string();
    scene
        .run(&["claude", "import", "--json", "--source", &projects])
        .succeeded();
    for (project, id) in [
        ("/w/last0", "5ea4c100-0000-4000-8000-00000000000a"),
        ("/w/last1", "5ea4c100-0000-4000-8000-00000000000b"),
    ] {
        let shown = scene
            .run(&["show", "--last", "--json", "--project", project])
            .succeeded();
        assert_eq!(shown["session"]["id"], id);
        assert_eq!(shown["messages"].as_array().unwrap().len(), 3);
    }
    let ambiguous = scene.run(&["show", "5ea4c100"]);
    assert_eq!(ambiguous.code, 2);
    assert!(
        ambiguous.stderr.contains("more than one session")
            && ambiguous.stderr.contains("00000000000a")
            && ambiguous.stderr.contains("00000000000b"),
        "{}",
        ambiguous.stderr
    );
}

/// Per tool, sessions and messages as SQL counts them.
async fn sql_counts(client: &tokio_postgres::Client) -> Vec<(String, i64, i64)> {
    common::query_rows(
        client,
        "select meta->>'source_tool', count(distinct meta->>'source_session_id'), count(*) \
         from memory group by 1 order by 1",
        |row| (row.get(0), row.get(1), row.get(2)),
    )
    .await
}

#[tokio::test]
async fn import_with_no_tool_takes_every_tool_in_home_and_status_counts_and_finds_what_is_pending() {
    let scene = Scene::new().await;
    // Every tool used here but OpenCode.
    let present = ["claude", "codex", "gemini", "cursor"];
    for (tool, case) in CASES.iter().filter(|(tool, _)| present.contains(tool)) {
        scene.install_case(tool, case);
    }
    let run = scene.run(&["import", "--json", "--include-trivial"]);
    let report = run.succeeded_as("memtree import");
    let tools = report["tools"].as_array().unwrap();
    assert_eq!(tools.len(), SOURCES.len(), "{report}");
    for (entry, source) in tools.iter().zip(SOURCES) {
        assert_eq!(entry["tool"], source.name());
        if present.contains(&source.name()) {
            assert_eq!(entry["outcome"], "imported", "{entry}");
            assert!(
                entry["report"]["messages"]["written"]["inserted"]
                    .as_u64()
                    .unwrap()
                    > 0
            );
        } else {
            assert_eq!(entry["outcome"], "not_found", "{entry}");
            assert!(entry["note"].as_str().unwrap().contains("sessions at"), "{entry}");
        }
    }
    let text = scene.run(&["import"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stderr.contains("opencode: not found"), "{}", text.stderr);
    assert!(
        text.stderr.contains("unchanged messages across"),
        "{}",
        text.stderr
    );

    let client = scene.db.client().await;
    let status = scene.run(&["status", "--json"]).succeeded_as("status");
    let mut counted: Vec<(String, i64, i64)> = status["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|tool| tool["messages"].as_u64().unwrap() > 0)
        .map(|tool| {
            let projects = tool["projects"].as_array().unwrap();
            let sum = |key: &str| projects.iter().map(|p| p[key].as_i64().unwrap()).sum::<i64>();
            assert_eq!(sum("messages"), tool["messages"].as_i64().unwrap());
            (
                tool["tool"].as_str().unwrap().to_owned(),
                tool["sessions"].as_i64().unwrap(),
                tool["messages"].as_i64().unwrap(),
            )
        })
        .collect();
    counted.sort();
    assert_eq!(counted, sql_counts(&client).await);
    for tool in status["tools"].as_array().unwrap() {
        let name = tool["tool"].as_str().unwrap();
        let used = present.contains(&name);
        assert_eq!(tool["pending"]["found"], used, "{tool}");
        assert_eq!(tool["pending"]["files"], json!([]), "{tool}");
        assert_eq!(tool["pending"]["sessions"], 0, "{tool}");
        if used {
            assert_eq!(tool["last_run"]["outcome"], "ok", "{tool}");
        } else {
            assert!(tool["last_run"].is_null(), "{tool}");
        }
    }

    // New on disk since the import: a Codex rollout and an OpenCode store.
    let codex_root = scene.default_root(memtree::source::named("codex").unwrap());
    copy_fixture("codex/wrapped-2026/source", &codex_root);
    let added: Vec<PathBuf> = walkdir::WalkDir::new(fixture("codex/wrapped-2026/source"))
        .into_iter()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| {
            codex_root.join(
                entry
                    .path()
                    .strip_prefix(fixture("codex/wrapped-2026/source"))
                    .unwrap(),
            )
        })
        .collect();
    scene.install_case("opencode", "database-and-storage");
    let status = scene.run(&["status", "--json"]).succeeded_as("status after");
    let tool = |name: &str| {
        status["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|tool| tool["tool"] == name)
            .unwrap()
            .clone()
    };
    let pending: Vec<PathBuf> = tool("codex")["pending"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|path| PathBuf::from(path.as_str().unwrap()))
        .collect();
    assert_eq!(pending, added);
    assert!(
        tool("opencode")["pending"]["sessions"].as_u64().unwrap() > 0,
        "{status}"
    );
    let text = scene.run(&["status"]);
    assert!(text.stdout.contains("not imported yet"), "{}", text.stdout);
    // Once imported, nothing is pending.
    scene.run(&["import", "--include-trivial"]);
    let status = scene.run(&["status", "--json"]).succeeded_as("status at last");
    for tool in status["tools"].as_array().unwrap() {
        assert_eq!(tool["pending"]["files"], json!([]), "{tool}");
        assert_eq!(tool["pending"]["sessions"], 0, "{tool}");
    }
}

#[tokio::test]
async fn reading_commands_on_a_missing_or_empty_store_exit_2_saying_nothing_is_imported() {
    let commands: [&[&str]; 3] = [&["search", "anything"], &["show", "some-session"], &["status"]];
    // Nothing configured and no local database: none is created.
    let home = tempfile::tempdir().unwrap();
    for command in commands {
        for json in [false, true] {
            let mut args = command.to_vec();
            if json {
                args.push("--json");
            }
            let run = memtree(&args, home.path());
            assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
            assert!(
                run.stderr.contains("nothing imported yet: run `memtree import`"),
                "{args:?}: {}",
                run.stderr
            );
            if json {
                assert_eq!(run.json()["error"], "nothing imported yet: run `memtree import`");
            } else {
                assert_eq!(run.stdout, "", "{args:?}");
            }
        }
    }
    assert!(
        !home.path().join("data").exists(),
        "no local database was created"
    );

    // A database without memtree's tables, then with them but no row.
    let scene = Scene::new().await;
    let empty_dir = scene.home().join("empty");
    std::fs::create_dir_all(&empty_dir).unwrap();
    for stage in ["no table", "no row"] {
        for command in commands {
            let run = scene.run(command);
            assert_eq!(run.code, 2, "{stage} {command:?}: {}", run.stderr);
            assert!(run.stderr.contains("nothing imported yet"), "{}", run.stderr);
        }
        let empty = empty_dir.display().to_string();
        scene
            .run(&["codex", "import", "--json", "--source", &empty])
            .succeeded();
    }
}

#[test]
fn completions_and_the_manual_page_are_generated() {
    let home = tempfile::tempdir().unwrap();
    for (shell, marker) in [
        ("bash", "_memtree()"),
        ("zsh", "#compdef memtree"),
        ("fish", "complete -c memtree"),
    ] {
        let run = memtree(&["completions", shell], home.path());
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(run.stdout.contains(marker), "{shell}");
        for command in ["search", "show", "status", "import"] {
            assert!(run.stdout.contains(command), "{shell} completes {command}");
        }
    }
    let man = memtree(&["man"], home.path());
    assert_eq!(man.code, 0, "{}", man.stderr);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH memtree"),
        "{}",
        &man.stdout[..200]
    );
    assert!(man.stdout.contains("search"));
    let dir = home.path().join("man");
    let pages = Run::of_command(memtree_command(home.path()).arg("man").arg("--dir").arg(&dir));
    assert_eq!(pages.code, 0, "{}", pages.stderr);
    for page in [
        "memtree.1",
        "memtree-search.1",
        "memtree-show.1",
        "memtree-status.1",
        "memtree-import.1",
    ] {
        let text = std::fs::read_to_string(dir.join(page)).unwrap_or_else(|_| panic!("{page}"));
        assert!(text.contains(".TH"), "{page}");
    }
    let bad = memtree(&["completions", "tcsh"], home.path());
    assert_eq!(bad.code, 2);
}

#[test]
fn import_with_no_tool_refuses_a_source_without_its_tool() {
    let home = tempfile::tempdir().unwrap();
    let run = memtree(&["import", "--source", "/tmp", "--dry-run"], home.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--source needs a tool"), "{}", run.stderr);
}

/// Sets a file's last change `days` days back.
fn age_file(path: &Path, days: u64) {
    let at = std::time::SystemTime::now() - std::time::Duration::from_secs(days * 86_400);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(at)
        .unwrap();
}

/// The entry of `tool` in a `status --json` report.
fn tool_status<'r>(status: &'r Value, tool: &str) -> &'r Value {
    status["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["tool"] == tool)
        .unwrap_or_else(|| panic!("no {tool} in {status}"))
}

#[tokio::test]
async fn status_warns_of_pending_files_deleted_soon_and_counts_imported_files_gone_from_disk() {
    let scene = Scene::new().await;
    // Something stored (status needs it), from files that stay: nothing of it is gone.
    scene.import_case("codex", "reference-codex");
    let claude = memtree::source::named("claude").unwrap();
    let projects = scene.default_root(claude);
    let config = projects.parent().unwrap();
    std::fs::create_dir_all(config).unwrap();
    std::fs::write(config.join("settings.json"), r#"{"cleanupPeriodDays": 10}"#).unwrap();
    let (old, young) = (
        "5ea4c100-0000-4000-8000-0000000000c1",
        "5ea4c100-0000-4000-8000-0000000000c2",
    );
    write_claude_session(&projects, old, "/w/old", ["an old prompt", "an answer", "bye"]);
    write_claude_session(&projects, young, "/w/young", ["a new prompt", "an answer", "bye"]);
    let file = |id: &str, cwd: &str| projects.join(cwd.replace('/', "-")).join(format!("{id}.jsonl"));
    let (old_file, young_file) = (file(old, "/w/old"), file(young, "/w/young"));
    assert!(old_file.is_file() && young_file.is_file());
    let deleted_soon = "will be deleted by claude within 7 days";

    // Both files changed now: Claude Code deletes them in 10 days, after the warning's 7.
    let status = scene
        .run(&["status", "--json"])
        .succeeded_as("status, young files");
    let entry = tool_status(&status, "claude");
    assert_eq!(entry["pending"]["files"].as_array().unwrap().len(), 2, "{entry}");
    assert!(entry["retention_risk"].is_null(), "{entry}");
    assert_eq!(entry["gone"], json!({"files": 0, "sessions": 0}), "{entry}");
    assert_eq!(
        tool_status(&status, "codex")["gone"],
        json!({"files": 0, "sessions": 0})
    );
    let text = scene.run(&["status"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(!text.stdout.contains(deleted_soon), "{}", text.stdout);
    assert!(!text.stdout.contains("no longer on disk"), "{}", text.stdout);

    // Five days old, one of them goes in five days.
    age_file(&old_file, 5);
    let status = scene
        .run(&["status", "--json"])
        .succeeded_as("status, an old file");
    let risk = &tool_status(&status, "claude")["retention_risk"];
    assert_eq!(risk["tool"], "claude", "{risk}");
    assert_eq!(risk["files"], 1, "{risk}");
    assert_eq!(risk["within_days"], 7, "{risk}");
    assert!(
        risk["setting"]
            .as_str()
            .unwrap()
            .contains("cleanupPeriodDays = 10"),
        "{risk}"
    );
    // Gemini keeps no session here: no warning of it.
    assert!(tool_status(&status, "gemini")["retention_risk"].is_null());
    let text = scene.run(&["status"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let warning = text
        .stdout
        .lines()
        .find(|line| line.contains(deleted_soon))
        .unwrap_or_else(|| panic!("no retention warning:\n{}", text.stdout));
    assert!(
        warning.starts_with("  warning: 1 session file of claude"),
        "{warning}"
    );
    assert!(warning.contains("cleanupPeriodDays = 10"), "{warning}");
    assert!(
        warning.contains("memtree never deletes what it stored"),
        "{warning}"
    );

    // Imported, nothing is at risk.
    scene.run(&["import", "--json"]).succeeded_as("import");
    let status = scene.run(&["status", "--json"]).succeeded_as("status, imported");
    let entry = tool_status(&status, "claude");
    assert_eq!(entry["pending"]["files"], json!([]), "{entry}");
    assert!(entry["retention_risk"].is_null(), "{entry}");
    assert_eq!(entry["gone"], json!({"files": 0, "sessions": 0}), "{entry}");
    assert!(!scene.run(&["status"]).stdout.contains(deleted_soon));

    // Claude Code deletes the old one: its rows stay, and status says memtree has the only copy.
    std::fs::remove_file(&old_file).unwrap();
    let status = scene
        .run(&["status", "--json"])
        .succeeded_as("status, a file gone");
    let entry = tool_status(&status, "claude");
    assert_eq!(entry["gone"], json!({"files": 1, "sessions": 1}), "{entry}");
    assert_eq!(entry["sessions"], 2, "{entry}");
    // A store's gone sessions are not counted.
    assert!(tool_status(&status, "opencode")["gone"].is_null());
    let client = scene.db.client().await;
    let kept: i64 = common::query_value(
        &client,
        "select count(*) from memory where meta->>'source_session_id' = $1",
        &[&old.to_owned()],
    )
    .await;
    assert_eq!(kept, 3);
    let text = scene.run(&["status"]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(
        text.stdout.contains(
            "  warning: 1 imported file is no longer on disk: memtree holds the only copy of 1 session\n"
        ),
        "{}",
        text.stdout
    );
}
