//! Aider end to end: the `memtree` binary imports chat histories (fixtures/aider) into a real
//! PostgreSQL (tests/common). What the fixtures cannot freeze is built here: a history that grows
//! by new turns and by a new launch, an answer still being written, and the search for histories
//! in project directories. Aider's times are local times: every run reads them in UTC.

mod common;

use std::path::{Path, PathBuf};

use common::written;
use serde_json::Value;

fn fixture(case: &str) -> PathBuf {
    common::fixture(&format!("aider/{case}/source"))
}

/// `memtree <args>` in UTC with a private HOME.
fn memtree(args: &[&str], home: &Path) -> common::Run {
    common::Run::of_command(common::memtree_command(home).env("TZ", "UTC").args(args))
}

/// `memtree aider import --json` of `sources` into `db`, every session taken (the copies made
/// here live in a temporary directory, which is their cwd).
fn import(db: &common::TestDb, home: &Path, sources: &[&Path], extra: &[&str]) -> common::Run {
    let url = db.url();
    let sources: Vec<String> = sources.iter().map(|path| path.display().to_string()).collect();
    let mut args = vec![
        "aider",
        "import",
        "--json",
        "--include-trivial",
        "--include-temp-cwd",
    ];
    args.extend(["--database-url", &url, "--source"]);
    args.extend(sources.iter().map(String::as_str));
    args.extend_from_slice(extra);
    memtree(&args, home)
}

/// Every stored row: (session, message id, time, row version, content).
async fn rows(db: &common::TestDb) -> Vec<(String, String, String, String, String)> {
    let client = db.client().await;
    common::query_rows(
        &client,
        "select meta->>'source_session_id', meta->>'source_message_id', \
         to_char(lower(temporal) at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), xmin::text, content \
         from memory order by 1, (meta->>'source_message_id')::int",
        |row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)),
    )
    .await
}

#[tokio::test]
async fn both_commands_import_and_a_rerun_writes_nothing() {
    let db = common::test_db().await;
    let home = tempfile::tempdir().unwrap();
    let sources = [
        fixture("recent-0-86"),
        fixture("main-model-0-83"),
        fixture("oldest-2023"),
    ];
    let sources: Vec<&Path> = sources.iter().map(PathBuf::as_path).collect();
    let first = import(&db, home.path(), &sources, &[]).succeeded();
    let (inserted, updated, unchanged) = written(&first);
    assert!(inserted > 30, "{first}");
    assert_eq!((updated, unchanged), (0, 0));
    assert_eq!(first["sessions"]["found"], 3, "{first}");

    let client = db.client().await;
    let meta: Value = common::query_value(
        &client,
        "select meta from memory where meta->>'source_session_id' = '2025-12-03T14:43:45' \
         and meta->>'source_message_id' = '15'",
        &[],
    )
    .await;
    assert_eq!(meta["source_tool"], "aider");
    assert_eq!(meta["source_tool_version"], "0.86.1");
    assert_eq!(meta["source_model"], "openrouter/openai/gpt-4o-mini");
    assert_eq!(meta["source_agent_mode"], "diff");
    assert_eq!(meta["source_cwd_origin"], "history_file_dir");
    assert_eq!(meta["source_time_origin"], "launch_header+input_history");
    assert!(meta["source_cwd"]
        .as_str()
        .unwrap()
        .ends_with("aider/recent-0-86/source"));
    let before = rows(&db).await;
    assert_eq!(before.len() as u64, inserted);
    // The prompt's time is when it was typed (`.aider.input.history`), its answer's the same.
    let answer = before
        .iter()
        .find(|row| row.0 == "2025-12-03T14:43:45" && row.1 == "15")
        .unwrap();
    assert_eq!(answer.2, "2025-12-03T14:46:02.414589");

    // The other spelling; the ledger knows every file: none is read again.
    let url = db.url();
    let listed: Vec<String> = sources.iter().map(|path| path.display().to_string()).collect();
    let mut args = vec![
        "import",
        "aider",
        "--json",
        "--include-trivial",
        "--include-temp-cwd",
    ];
    args.extend(["--database-url", &url, "--source"]);
    args.extend(listed.iter().map(String::as_str));
    let second = memtree(&args, home.path()).succeeded();
    assert_eq!(written(&second), (0, 0, 0), "{second}");
    assert_eq!(second["files"]["unchanged"], 3, "{second}");

    // Read whole again, every row is found current and none rewritten.
    let third = import(&db, home.path(), &sources, &["--rescan"]).succeeded();
    assert_eq!(written(&third), (0, 0, inserted), "{third}");
    assert_eq!(rows(&db).await, before, "no row was rewritten");
}

const HEADER: &str = "\n# aider chat started at 2026-03-02 09:00:00\n\n> Aider v0.86.1  \n\
                      > Main model: gpt-4.1 with diff edit format  \n\n";

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[tokio::test]
async fn a_history_that_grows_keeps_its_ids_and_is_read_on_from_its_checkpoint() {
    let db = common::test_db().await;
    let home = tempfile::tempdir().unwrap();
    let project = home.path().join("src/app");
    std::fs::create_dir_all(&project).unwrap();
    let history = project.join(".aider.chat.history.md");
    // The answer to the second prompt is still being written.
    let start = format!(
        "{HEADER}#### first prompt  \n\nfirst answer\n\n> Tokens: 1k sent, 10 received.  \n\n\
         #### second prompt  \n\nthe second answer begins\n"
    );
    std::fs::write(&history, &start).unwrap();
    let first = import(&db, home.path(), &[&project], &[]).succeeded();
    assert_eq!(written(&first), (4, 0, 0), "{first}");
    let before = rows(&db).await;
    assert_eq!(before[3].4, "the second answer begins");

    // The answer goes on, then a new prompt in the same launch.
    append(
        &history,
        "\nand ends here.\n\n> Tokens: 2k sent, 30 received.  \n\n#### third prompt  \n\nthird answer\n\n\
         > Tokens: 3k sent, 5 received.  \n",
    );
    let second = import(&db, home.path(), &[&project], &[]).succeeded();
    assert_eq!(second["files"]["resumed"], 1, "{second}");
    assert_eq!(written(&second), (2, 1, 0), "{second}");
    let after = rows(&db).await;
    assert_eq!(&after[..3], &before[..3], "settled messages are not read again");
    assert_eq!(after[3].1, before[3].1, "the grown answer keeps its id");
    assert_eq!(after[3].4, "the second answer begins\n\nand ends here.");
    let ids: Vec<&str> = after.iter().map(|row| row.1.as_str()).collect();
    assert_eq!(
        ids,
        ["5", "7", "11", "13", "19", "21"],
        "lines counted from the header"
    );
    assert!(after.iter().all(|row| row.0 == "2026-03-02T09:00:00"));

    // A new launch.
    append(
        &history,
        "\n# aider chat started at 2026-03-02 11:30:00\n\n> Aider v0.86.1  \n\n#### next day  \n\nyes\n\n\
         > Tokens: 1k sent, 1 received.  \n",
    );
    let third = import(&db, home.path(), &[&project], &[]).succeeded();
    assert_eq!(third["files"]["resumed"], 1, "{third}");
    assert_eq!(written(&third), (2, 0, 0), "{third}");
    let last = rows(&db).await;
    assert_eq!(&last[..6], &after[..], "the first launch is left alone");
    let new: Vec<(&str, &str, &str)> = last[6..]
        .iter()
        .map(|row| (row.0.as_str(), row.1.as_str(), row.2.as_str()))
        .collect();
    assert_eq!(
        new,
        [
            ("2026-03-02T11:30:00", "4", "2026-03-02T11:30:00.000000"),
            ("2026-03-02T11:30:00", "6", "2026-03-02T11:30:00.000000")
        ]
    );
}

#[tokio::test]
async fn a_prompt_at_the_end_of_the_history_waits_for_what_follows_it() {
    let db = common::test_db().await;
    let home = tempfile::tempdir().unwrap();
    let project = home.path().join("app");
    std::fs::create_dir_all(&project).unwrap();
    let history = project.join(".aider.chat.history.md");
    std::fs::write(&history, format!("{HEADER}#### a prompt  \n")).unwrap();
    let first = import(&db, home.path(), &[&project], &[]).succeeded();
    assert_eq!(written(&first), (0, 0, 0), "{first}");
    append(&history, "\nits answer\n");
    let second = import(&db, home.path(), &[&project], &[]).succeeded();
    assert_eq!(second["files"]["resumed"], 1, "{second}");
    assert_eq!(written(&second), (2, 0, 0), "{second}");
}

/// Writes a one-launch history with `prompt` under `home/relative`.
fn history_in(home: &Path, relative: &str, prompt: &str) {
    let dir = home.join(relative);
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!("{HEADER}#### {prompt}  \n\nanswered\n\n> Tokens: 1k sent, 1 received.  \n");
    std::fs::write(dir.join(".aider.chat.history.md"), text).unwrap();
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
    history_in(home.path(), "src/app", "in app");
    history_in(home.path(), "src/github.com/org/lib", "in lib");
    history_in(home.path(), "src/app/node_modules/dep", "in node_modules");
    history_in(home.path(), ".local/share/copy", "in a hidden directory");
    history_in(home.path(), "venv/lib", "in a virtualenv");
    std::fs::write(home.path().join("venv/pyvenv.cfg"), "home = /usr/bin\n").unwrap();
    history_in(home.path(), "a/b/c/d/e/f/g/deep", "too deep");
    std::os::unix::fs::symlink(home.path().join("src"), home.path().join("linked")).unwrap();

    let args = [
        "aider",
        "import",
        "--dry-run",
        "--json",
        "--include-trivial",
        "--include-temp-cwd",
    ];
    let everything = memtree(&args, home.path()).succeeded();
    assert_eq!(everything["files"]["scanned"], 2, "{everything}");
    assert_eq!(titles(&everything), ["in app", "in lib"]);

    let app = home.path().join("src/app").display().to_string();
    let scoped = memtree(&[&args[..], &["--project", &app]].concat(), home.path()).succeeded();
    assert_eq!(scoped["files"]["scanned"], 1, "{scoped}");
    assert_eq!(titles(&scoped), ["in app"]);

    // `~` is the home directory the search starts in.
    let scoped = memtree(
        &[&args[..], &["--project", "~/src/github.com"]].concat(),
        home.path(),
    )
    .succeeded();
    assert_eq!(titles(&scoped), ["in lib"]);
}

#[test]
fn a_history_file_given_by_name_is_read_whatever_its_name() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("notes/aider-log.md");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        format!("{HEADER}#### custom name  \n\nanswered\n\n> Tokens: 1k sent.  \n"),
    )
    .unwrap();
    let file = file.display().to_string();
    let args = [
        "aider",
        "import",
        "--dry-run",
        "--json",
        "--include-trivial",
        "--include-temp-cwd",
        "--source",
        &file,
    ];
    let report = memtree(&args, home.path()).succeeded();
    assert_eq!(titles(&report), ["custom name"], "{report}");
}
