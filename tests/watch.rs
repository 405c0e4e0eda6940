//! End-to-end tests of `memtree watch`, and of the retention guard it shares with `import`: the
//! binary follows a Claude Code projects directory while the test writes to it as the tool would,
//! against a real PostgreSQL; every wait polls for the outcome with a generous deadline instead of
//! sleeping a fixed time.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{memtree, memtree_command, written, Run};
use serde_json::Value;

/// How long any one expected change may take to show: far above the second or so it takes, for
/// a loaded machine.
const DEADLINE: Duration = Duration::from_secs(90);

/// A running `memtree watch`, its output collected line by line as it comes.
struct Watch {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Watch {
    /// `memtree watch <args>` with HOME `home` and the extra environment `vars`.
    fn start(home: &Path, args: &[&str], vars: &[(&str, &Path)]) -> Watch {
        let mut command = memtree_command(home);
        command.arg("watch").args(args);
        for (name, value) in vars {
            command.env(name, value);
        }
        Watch::from_child(command.spawn().expect("start memtree watch"))
    }

    /// `memtree watch claude --json` of the projects directory `source` into `url`, with a short
    /// quiet period.
    fn claude_projects(home: &Path, url: &str, source: &str) -> Watch {
        let args = [
            "claude",
            "--json",
            "--debounce",
            "50",
            "--database-url",
            url,
            "--source",
            source,
        ];
        Watch::start(home, &args, &[])
    }

    /// Collects the output of a started watch.
    fn from_child(mut child: Child) -> Watch {
        let collect = |stream: Box<dyn std::io::Read + Send>| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
            lines
        };
        let stdout = collect(Box::new(child.stdout.take().unwrap()));
        let stderr = collect(Box::new(child.stderr.take().unwrap()));
        Watch {
            child,
            stdout,
            stderr,
        }
    }

    /// The JSON cycle reports printed so far.
    fn cycles(&self) -> Vec<Value> {
        let lines = self.stdout.lock().unwrap();
        lines
            .iter()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {line}")))
            .collect()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    fn signal(&self, signal: i32) {
        // SAFETY: signalling our own child.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0);
    }

    /// Sends SIGTERM and waits for the process to end; returns its exit code.
    fn terminate(mut self) -> i32 {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("watch did not end after SIGTERM:\n{}", self.stderr());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it holds or [`DEADLINE`] passes, then fails showing `what` and the
/// watch's output.
async fn eventually<F, Fut>(what: &str, watch: &Watch, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {DEADLINE:?}\nstdout:\n{}\nstderr:\n{}",
            watch.stdout.lock().unwrap().join("\n"),
            watch.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One Claude Code transcript line of session `session`.
fn claude_line(session: &str, uuid: &str, cwd: &str, role: &str, text: &str) -> String {
    let content = match role {
        "user" => Value::from(text),
        _ => serde_json::json!([{ "type": "text", "text": text }]),
    };
    serde_json::json!({
        "type": role, "sessionId": session, "uuid": uuid, "cwd": cwd,
        "timestamp": "2026-05-01T10:00:00.000Z", "version": "2.1.0",
        "message": { "role": role, "model": "claude-opus-4-5", "content": content },
    })
    .to_string()
        + "\n"
}

/// Writes a session of two prompts and an answer (three rows) under `projects`, as Claude Code
/// lays it out for `cwd`; returns its file.
fn write_session(projects: &Path, session: &str, cwd: &str) -> PathBuf {
    let dir = projects.join(cwd.replace('/', "-"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{session}.jsonl"));
    let text = [
        claude_line(session, &format!("{session}-1"), cwd, "user", "first prompt"),
        claude_line(session, &format!("{session}-2"), cwd, "assistant", "an answer"),
        claude_line(session, &format!("{session}-3"), cwd, "user", "second prompt"),
    ]
    .concat();
    std::fs::write(&file, text).unwrap();
    file
}

fn append(file: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(file).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

async fn rows(client: &tokio_postgres::Client) -> i64 {
    let exists: bool = common::query_value(client, "select to_regclass('memory') is not null", &[]).await;
    if !exists {
        return 0;
    }
    common::query_value(client, "select count(*) from memory", &[]).await
}

async fn has_content(client: &tokio_postgres::Client, text: &str) -> bool {
    rows(client).await > 0
        && common::query_value(
            client,
            "select exists(select 1 from memory where content = $1)",
            &[&text],
        )
        .await
}

const CWD_A: &str = "/nonexistent/watch/app";
const CWD_B: &str = "/nonexistent/watch/other";
const S1: &str = "11111111-0000-4000-8000-000000000001";
const S2: &str = "22222222-0000-4000-8000-000000000002";
const S3: &str = "33333333-0000-4000-8000-000000000003";

/// A fresh HOME whose projects directory holds session [`S1`], and a watch of it into `db` that
/// has imported it: the HOME, the projects directory, the session's file and the watch.
async fn watching_a_session(db: &common::TestDb) -> (tempfile::TempDir, PathBuf, PathBuf, Watch) {
    let home = tempfile::tempdir().unwrap();
    let projects = home.path().join("projects");
    let first = write_session(&projects, S1, CWD_A);
    let watch = Watch::claude_projects(home.path(), &db.url(), &projects.display().to_string());
    let client = db.client().await;
    eventually("the session there at start is imported", &watch, || async {
        rows(&client).await == 3
    })
    .await;
    (home, projects, first, watch)
}

#[tokio::test(flavor = "multi_thread")]
async fn watch_imports_appended_turns_new_sessions_new_projects_and_rewritten_files() {
    let db = common::test_db().await;
    let (home, projects, first, watch) = watching_a_session(&db).await;
    let client = db.client().await;

    append(
        &first,
        &claude_line(S1, "appended-1", CWD_A, "user", "an appended prompt"),
    );
    eventually("an appended turn is imported", &watch, || async {
        has_content(&client, "an appended prompt").await
    })
    .await;

    write_session(&projects, S2, CWD_A);
    eventually("a new session file is imported", &watch, || async {
        rows(&client).await == 7
    })
    .await;

    write_session(&projects, S3, CWD_B);
    eventually(
        "a session in a new project directory is imported",
        &watch,
        || async { rows(&client).await == 10 },
    )
    .await;

    // The tool rewrites a transcript shorter, with a turn of its own: the new turn is imported
    // and nothing stored before is removed.
    let first_line = std::fs::read_to_string(&first)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    std::fs::write(
        &first,
        first_line + "\n" + &claude_line(S1, "rewritten-1", CWD_A, "user", "a prompt after the rewrite"),
    )
    .unwrap();
    eventually("a rewritten file's new turn is imported", &watch, || async {
        has_content(&client, "a prompt after the rewrite").await
    })
    .await;
    assert_eq!(rows(&client).await, 11);

    let cycles = watch.cycles();
    assert!(cycles.len() >= 5, "one line per cycle: {cycles:?}");
    assert!(
        cycles.iter().all(|cycle| cycle["tools"][0]["tool"] == "claude"),
        "{cycles:?}"
    );
    assert_eq!(watch.terminate(), 0);

    // Everything the watch saw is in the ledger: an import after it finds nothing to read.
    let (url, source) = (db.url(), projects.display().to_string());
    let after = memtree(
        &[
            "claude",
            "import",
            "--json",
            "--database-url",
            &url,
            "--source",
            &source,
        ],
        home.path(),
    )
    .succeeded();
    assert_eq!(written(&after), (0, 0, 0));
    assert_eq!(after["files"]["scanned"], 0, "{after}");
}

/// With polling instead of file-system events, as on a network mount.
#[tokio::test(flavor = "multi_thread")]
async fn a_tool_installed_after_the_watch_started_is_followed_by_polling() {
    let db = common::test_db().await;
    let url = db.url();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("later/claude-config");
    let watch = Watch::start(
        home.path(),
        &["claude", "--json", "--poll", "1", "--database-url", &url],
        &[("CLAUDE_CONFIG_DIR", &config)],
    );
    eventually("a first cycle with nothing to read", &watch, || async {
        !watch.cycles().is_empty()
    })
    .await;
    // Claude Code runs for the first time: its config directory and projects appear.
    write_session(&config.join("projects"), S1, CWD_A);
    let client = db.client().await;
    eventually("the first session is imported", &watch, || async {
        rows(&client).await == 3
    })
    .await;
    assert_eq!(watch.terminate(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_going_away_under_a_running_watch_loses_nothing() {
    let mut cluster = common::PrivateCluster::start();
    let db = cluster.test_db("watch_outage").await;
    let (_home, projects, first, watch) = watching_a_session(&db).await;

    cluster.stop();
    append(
        &first,
        &claude_line(
            S1,
            "while-away-1",
            CWD_A,
            "user",
            "written while the database was away",
        ),
    );
    write_session(&projects, S2, CWD_B);
    eventually("the watch notices the database is away", &watch, || async {
        watch.cycles().iter().any(|cycle| cycle["error"].is_string())
    })
    .await;
    let away = watch
        .cycles()
        .into_iter()
        .find(|cycle| cycle["error"].is_string())
        .unwrap();
    assert!(away["retry_in_ms"].as_u64().unwrap() > 0, "{away}");

    cluster.start_again();
    let client = db.client().await;
    eventually("what was written meanwhile is imported", &watch, || async {
        rows(&client).await == 7
    })
    .await;
    assert!(has_content(&client, "written while the database was away").await);
    assert_eq!(watch.terminate(), 0);
}

/// SIGTERM while a cycle is writing: the process finishes the cycle and exits 0, and an import
/// afterwards leaves the same table as an import that was never interrupted.
#[cfg(feature = "failpoints")]
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_import_exits_0_and_the_next_run_completes_the_same_table() {
    let home = tempfile::tempdir().unwrap();
    let projects = home.path().join("projects");
    // Four chunks of files (`limits::CHUNK_FILES`), each written as a group: the import reads at
    // most two ahead of the write it is waiting for, so the last is still to come when it stops.
    for n in 0..1024 {
        write_session(
            &projects,
            &format!("{n:08}-0000-4000-8000-000000000000"),
            &format!("/nonexistent/p{n}"),
        );
    }
    let source = projects.display().to_string();
    let (interrupted, whole) = (common::test_db().await, common::test_db().await);
    let watch = {
        let mut command = memtree_command(home.path());
        command
            .args([
                "watch",
                "claude",
                "--json",
                "--database-url",
                &interrupted.url(),
                "--source",
                &source,
            ])
            // Stops itself once the first group is written: the test signals it mid-import.
            .env("MEMTREE_FAILPOINT", "import.chunk_written:1:stop");
        Watch::from_child(command.spawn().unwrap())
    };
    let pid = watch.child.id();
    eventually("the watch stops itself after its first group", &watch, || async {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|stat| stat.split_whitespace().nth(2) == Some("T"))
    })
    .await;
    watch.signal(libc::SIGTERM);
    watch.signal(libc::SIGCONT);
    assert_eq!(watch.terminate(), 0);
    {
        let client = interrupted.client().await;
        let stored = rows(&client).await;
        assert!(
            (1..3072).contains(&stored),
            "it ended after the group it was writing, not the whole import: {stored} rows"
        );
    }

    let import = |url: &str| -> Run {
        memtree(
            &[
                "claude",
                "import",
                "--json",
                "--database-url",
                url,
                "--source",
                &source,
            ],
            home.path(),
        )
    };
    import(&interrupted.url()).succeeded();
    import(&whole.url()).succeeded();
    let table = |db: common::TestDb| async move {
        let client = db.client().await;
        common::query_rows(
            &client,
            "select id::text, content from memory order by id",
            |row| (row.get::<_, String>(0), row.get::<_, String>(1)),
        )
        .await
    };
    let (interrupted, whole) = (table(interrupted).await, table(whole).await);
    assert_eq!(interrupted.len(), 3072);
    assert_eq!(interrupted, whole);
}

/// The retention guard: a session Claude Code will delete within a week by its
/// `cleanupPeriodDays` is warned of until it is imported; a younger one, or one under the default
/// 30 days, is not.
#[tokio::test(flavor = "multi_thread")]
async fn sessions_their_tool_deletes_within_a_week_are_warned_of_until_imported() {
    let db = common::test_db().await;
    let url = db.url();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("claude-config");
    let projects = config.join("projects");
    let old = write_session(&projects, S1, CWD_A);
    write_session(&projects, S2, CWD_B);
    let five_days_ago = std::time::SystemTime::now() - Duration::from_secs(5 * 86_400);
    std::fs::File::options()
        .append(true)
        .open(&old)
        .unwrap()
        .set_modified(five_days_ago)
        .unwrap();
    let run = |args: &[&str]| -> Run {
        let mut command = memtree_command(home.path());
        command
            .args(["claude", "import", "--json"])
            .args(args)
            .env("CLAUDE_CONFIG_DIR", &config);
        Run::of_command(&mut command)
    };
    let warned = |run: &Run| run.stderr.contains("will be deleted by claude");

    // By default Claude Code keeps 30 days: a session 5 days old has 25 to go.
    let by_default = run(&["--dry-run"]);
    assert!(!warned(&by_default), "{}", by_default.stderr);
    assert!(by_default.json().get("retention_risk").is_none());

    // Ten days: the old session goes in five, the new one in ten.
    std::fs::write(config.join("settings.json"), r#"{"cleanupPeriodDays": 10}"#).unwrap();
    let dry = run(&["--dry-run"]);
    assert!(
        dry.stderr.contains("1 session file of claude not imported yet will be deleted by claude within 7 days (cleanupPeriodDays = 10 in")
            && dry.stderr.contains("memtree never deletes what it stored"),
        "{}",
        dry.stderr
    );
    assert_eq!(dry.json()["retention_risk"]["files"], 1);

    // Imported, it is safe: neither the import nor a later dry run warns.
    let imported = run(&["--database-url", &url]);
    assert_eq!(written(&imported.succeeded()), (6, 0, 0));
    assert!(!warned(&imported), "{}", imported.stderr);
    let after = run(&["--dry-run", "--database-url", &url]);
    assert!(!warned(&after), "{}", after.stderr);
}
