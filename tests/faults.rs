//! Fault tests: imports killed at named failpoints and at random moments, the database taken
//! away mid-import, concurrent imports, and source files that change while they are read. Each
//! ends by comparing the whole database with one uninterrupted import of the same sources.
//!
//! The `memtree` binary is run with `MEMTREE_FAILPOINT` (src/failpoint.rs): `<point>[:<nth>]`
//! kills it with SIGKILL at that point; `...:stop` stops it there (SIGSTOP) so the test can
//! change something at that exact moment and let it go on (SIGCONT).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::Run;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Sources

/// Claude Code sessions written by the test: `files` transcripts of `messages` lines each, over
/// twelve projects of which six share the base slug `app` (so slugs get disambiguated).
struct Corpus {
    _dir: tempfile::TempDir,
    projects: PathBuf,
}

impl Corpus {
    fn new(files: usize, messages: usize) -> Corpus {
        let dir = tempfile::tempdir().unwrap();
        let projects = dir.path().join("projects");
        for file in 0..files {
            let cwd = match file % 12 {
                n if n < 6 => format!("/nonexistent/team{n}/app"),
                n => format!("/nonexistent/tools/tool{n}"),
            };
            write_session(&projects, &session_id(file), &cwd, messages);
        }
        Corpus { _dir: dir, projects }
    }

    fn source(&self) -> String {
        self.projects.display().to_string()
    }

    /// Every transcript, sorted.
    fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = walkdir(&self.projects)
            .into_iter()
            .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
            .collect();
        files.sort();
        files
    }
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(walkdir(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn session_id(n: usize) -> String {
    format!("{n:08x}-0000-4000-8000-000000000000")
}

/// One line of a Claude Code transcript: message `n` of `session`, alternating user and assistant.
fn session_line(session: &str, cwd: &str, n: usize) -> String {
    let (kind, content) = if n.is_multiple_of(2) {
        (
            "user",
            Value::from(format!("prompt {n} of {session}: please look at this")),
        )
    } else {
        (
            "assistant",
            serde_json::json!([{ "type": "text", "text": format!("answer {n}: here is what I found") }]),
        )
    };
    serde_json::json!({
        "type": kind, "sessionId": session, "uuid": format!("{session}-{n}"), "cwd": cwd,
        "timestamp": format!("2026-05-01T10:{:02}:{:02}.000Z", n / 60 % 60, n % 60), "version": "2.1.0",
        "message": { "role": kind, "model": "claude-opus-4-5", "content": content },
    })
    .to_string()
        + "\n"
}

fn session_text(session: &str, cwd: &str, lines: std::ops::Range<usize>) -> String {
    lines.map(|n| session_line(session, cwd, n)).collect()
}

/// Writes a session of `messages` lines and returns its path.
fn write_session(projects: &Path, session: &str, cwd: &str, messages: usize) -> PathBuf {
    let dir = projects.join(cwd.replace(|ch: char| !ch.is_ascii_alphanumeric(), "-"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{session}.jsonl"));
    std::fs::write(&path, session_text(session, cwd, 0..messages)).unwrap();
    path
}

/// The corpus of the crash, outage and concurrency tests, which takes about a second to import:
/// 300 files (two chunks of parsing, so two rounds of slug assignment) and 3 600 rows (four write
/// batches for the first chunk, one for the second).
const FILES: usize = 300;
const MESSAGES: usize = 12;

fn big_corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| Corpus::new(FILES, MESSAGES))
}

// ---------------------------------------------------------------------------------------------
// Running memtree

/// `memtree` with a clean environment (no database variables, a private HOME) importing
/// `source` into `url`.
fn import_command(url: &str, source: &str, home: &Path, extra: &[&str]) -> Command {
    tool_import_command("claude", url, source, home, extra)
}

fn tool_import_command(tool: &str, url: &str, source: &str, home: &Path, extra: &[&str]) -> Command {
    let mut command = common::memtree_command(home);
    command
        .args([
            tool,
            "import",
            "--json",
            "--include-trivial",
            "--database-url",
            url,
            "--source",
            source,
        ])
        .args(extra);
    command
}

/// Waits for `child`, which must succeed after retrying something the database refused.
fn assert_succeeded_after_retrying(child: Child, context: &str) {
    let run = Run::of(child);
    run.succeeded_as(context);
    assert!(run.stderr.contains("retrying"), "{}", run.stderr);
}

fn run(mut command: Command) -> Run {
    Run::of(command.spawn().unwrap())
}

/// Starts an import that stops itself at `failpoint` (`<point>[:<nth>]`), and waits until it has.
fn start_stopped_at(mut command: Command, failpoint: &str) -> Child {
    command.env("MEMTREE_FAILPOINT", format!("{failpoint}:stop"));
    let mut child = command.spawn().unwrap();
    wait_until_stopped(&mut child, failpoint);
    child
}

/// Waits until the process is stopped (state `T` in /proc), failing if it ends first.
fn wait_until_stopped(child: &mut Child, failpoint: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id())).unwrap_or_default();
        // The state follows the parenthesised command name.
        if stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('T'))
        {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the import ended ({status}) before reaching failpoint {failpoint}");
        }
        assert!(Instant::now() < deadline, "failpoint {failpoint} not reached");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn resume(child: &Child) {
    // SAFETY: signalling a child process we started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGCONT);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// What a fault test imports with: a runtime for its database calls, a private HOME, and the
/// Claude Code sources (`--source`) it imports.
struct Setup {
    runtime: tokio::runtime::Runtime,
    home: tempfile::TempDir,
    source: String,
}

impl Setup {
    fn new(source: String) -> Setup {
        Setup::in_home(tempfile::tempdir().unwrap(), source)
    }

    /// For sources written into `home` itself.
    fn in_home(home: tempfile::TempDir, source: String) -> Setup {
        Setup {
            runtime: runtime(),
            home,
            source,
        }
    }

    fn home(&self) -> &Path {
        self.home.path()
    }

    fn test_db(&self) -> common::TestDb {
        self.runtime.block_on(common::test_db())
    }

    /// The import of the sources into `db`, with `extra` options.
    fn import(&self, db: &common::TestDb, extra: &[&str]) -> Command {
        import_command(&db.url(), &self.source, self.home(), extra)
    }

    /// The import into `db`, started and stopped at `failpoint` (see [`start_stopped_at`]).
    fn import_stopped_at(&self, db: &common::TestDb, failpoint: &str) -> Child {
        start_stopped_at(self.import(db, &[]), failpoint)
    }

    /// Runs the import into `db` with `MEMTREE_FAILPOINT` set.
    fn run_with_failpoint(&self, db: &common::TestDb, failpoint: &str) -> Run {
        let mut command = self.import(db, &[]);
        command.env("MEMTREE_FAILPOINT", failpoint);
        run(command)
    }

    fn dump(&self, db: &common::TestDb) -> Dump {
        self.runtime.block_on(dump(db))
    }

    fn count_memories(&self, db: &common::TestDb) -> i64 {
        self.runtime.block_on(count_memories(db))
    }
}

// ---------------------------------------------------------------------------------------------
// Comparing databases

/// Everything an import stores, apart from when it ran: every memory (id, content, meta without
/// `imported_at`, tree, temporal), the slug book and the migration history.
#[derive(PartialEq)]
struct Dump {
    memories: Vec<String>,
    projects: Vec<String>,
    migrations: Vec<String>,
}

async fn dump_schema(client: &tokio_postgres::Client, schema: &str) -> Dump {
    let lines = |sql: String| async move { common::query_rows(client, &sql, |row| row.get(0)).await };
    Dump {
        memories: lines(format!(
            "select concat_ws(' | ', id::text, content, (meta - 'imported_at')::text, tree::text, temporal::text) \
             from {schema}.memory order by id"
        ))
        .await,
        projects: lines(format!(
            "select concat_ws(' | ', project_key, slug, git_remote) from {schema}.memtree_projects order by project_key"
        ))
        .await,
        migrations: lines(format!(
            "select concat_ws(' | ', version, name, encode(checksum, 'hex')) from {schema}.memtree_migrations order by version"
        ))
        .await,
    }
}

async fn dump(db: &common::TestDb) -> Dump {
    dump_schema(&db.client().await, "public").await
}

/// Asserts two dumps are equal, showing the first difference rather than 12 000 rows.
fn assert_same(expected: &Dump, actual: &Dump, context: &str) {
    for (what, expected, actual) in [
        ("memories", &expected.memories, &actual.memories),
        ("projects", &expected.projects, &actual.projects),
        ("migrations", &expected.migrations, &actual.migrations),
    ] {
        if expected == actual {
            continue;
        }
        let first = expected
            .iter()
            .zip(actual.iter())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(actual.len()));
        panic!(
            "{context}: {what} differ ({} expected, {} stored); first difference at row {first}:\nexpected: {:?}\nstored:   {:?}",
            expected.len(),
            actual.len(),
            expected.get(first),
            actual.get(first)
        );
    }
}

/// One uninterrupted import of the big corpus, and how long it took.
struct Reference {
    dump: Dump,
    duration: Duration,
}

fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let runtime = runtime();
        let db = runtime.block_on(common::test_db());
        let home = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let report = run(import_command(
            &db.url(),
            &big_corpus().source(),
            home.path(),
            &[],
        ))
        .succeeded_as("the reference import");
        let duration = started.elapsed();
        eprintln!("the reference import took {} ms", duration.as_millis());
        assert_eq!(
            report["messages"]["written"]["inserted"],
            (FILES * MESSAGES) as u64
        );
        let dump = runtime.block_on(dump(&db));
        assert_eq!(dump.memories.len(), FILES * MESSAGES);
        assert_eq!(dump.projects.len(), 12);
        Reference { dump, duration }
    })
}

// ---------------------------------------------------------------------------------------------
// 1. Crash anywhere

/// Named points, each with the hit at which the import is killed: across migrations, discovery,
/// parsing (first and second chunk), slug assignment, planning and writing.
const CRASH_POINTS: &[&str] = &[
    "migrate.before_commit:1",
    "migrate.after_commit:1",
    "migrate.before_commit:2",
    "migrate.after_commit:2",
    "import.discovered",
    "parse.file:1",
    "parse.file:200",
    "parse.file:290",
    "parse.line:1",
    "parse.line:1800",
    "parse.line:3500",
    "slugs.before_commit:1",
    "slugs.after_commit:1",
    "plan.session:1",
    "plan.session:256",
    "write.before_batch:1",
    "write.before_commit:1",
    "write.after_commit:1",
    "write.before_batch:3",
    "write.before_commit:3",
    "write.after_commit:4",
    "write.ledger_recorded:1",
    "import.chunk_written:1",
    "slugs.before_commit:2",
    "slugs.after_commit:2",
    "plan.session:300",
    "write.before_commit:5",
    "write.after_commit:5",
    "write.ledger_recorded:2",
    "import.chunk_written:2",
];

#[test]
fn an_import_killed_at_any_named_point_is_completed_by_the_next_run() {
    let reference = reference();
    let source = big_corpus().source();
    // Two at a time: each case is a killed run and a full one, on a database of its own.
    std::thread::scope(|scope| {
        for points in CRASH_POINTS.chunks(CRASH_POINTS.len().div_ceil(2)) {
            let source = &source;
            scope.spawn(move || {
                let setup = Setup::new(source.clone());
                for point in points {
                    let db = setup.test_db();
                    let crashed = setup.run_with_failpoint(&db, point);
                    assert!(
                        crashed.killed(),
                        "{point}: the import was not killed there ({:?}): the point is not reached\n{}",
                        crashed.status,
                        crashed.stderr
                    );
                    run(setup.import(&db, &[])).succeeded_as(point);
                    assert_same(&reference.dump, &setup.dump(&db), point);
                }
            });
        }
    });
}

/// A group's ledger entries are recorded in the transaction of its last write batch, which starts
/// once the group's other batches have committed. Killed after recording them and before that
/// commit, the import leaves the other batches' rows and neither the last batch's rows nor a
/// single ledger entry; the next run reads every file again and stores exactly what one
/// uninterrupted import stores, its ledger entries committed with its last rows.
#[test]
fn a_groups_ledger_entries_commit_with_its_last_rows_or_not_at_all() {
    // One group of 100 files (one chunk of parsing): 1 200 rows, written as 1 000 and then 200.
    const GROUP_FILES: i64 = 100;
    let corpus = Corpus::new(GROUP_FILES as usize, MESSAGES);
    let setup = Setup::new(corpus.source());
    let db = setup.test_db();
    let crashed = setup.run_with_failpoint(&db, "write.ledger_recorded");
    assert!(crashed.killed(), "{:?}\n{}", crashed.status, crashed.stderr);
    let stored = || {
        setup.runtime.block_on(async {
            let client = db.client().await;
            let rows: i64 = common::query_value(&client, "select count(*) from memory", &[]).await;
            let files: i64 = common::query_value(&client, "select count(*) from memtree_ledger", &[]).await;
            (rows, files)
        })
    };
    assert_eq!(stored(), (1000, 0), "the first batch only, and no ledger entry");

    let report = run(setup.import(&db, &[])).succeeded_as("the run after the kill");
    assert_eq!(report["files"]["unchanged"], 0, "every file is read again");
    assert_eq!(report["messages"]["written"]["inserted"], 200);
    assert_eq!(report["messages"]["written"]["unchanged"], 1000);
    let once = setup.test_db();
    run(setup.import(&once, &[])).succeeded_as("one uninterrupted import");
    assert_same(&setup.dump(&once), &setup.dump(&db), "after the kill");
    assert_eq!(stored(), (GROUP_FILES * MESSAGES as i64, GROUP_FILES));
    let with_ledger: i64 = setup.runtime.block_on(async {
        common::query_value(
            &db.client().await,
            "select count(*) from memory where xmin in (select xmin from memtree_ledger)",
            &[],
        )
        .await
    });
    assert_eq!(
        with_ledger, 200,
        "the ledger committed with the 200 rows written last"
    );
}

/// A small xorshift generator: random enough for kill times, and its seed is printed so that a
/// failure can be replayed with `FAULTS_SEED`.
struct Random(u64);

impl Random {
    fn new() -> Random {
        let seed = std::env::var("FAULTS_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("random kills: FAULTS_SEED={seed}");
        Random(seed)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

/// Kills from outside (SIGKILL at a random moment), several times in a row on the same database,
/// so later kills land in runs that are completing an earlier killed one; then one run to the end.
#[test]
fn an_import_killed_at_random_moments_is_completed_by_the_next_run() {
    const ROUNDS: usize = 4;
    const KILLS_PER_ROUND: usize = 6;
    let reference = reference();
    let setup = Setup::new(big_corpus().source());
    let mut random = Random::new();
    let window = reference.duration.as_millis() as u64;
    for round in 0..ROUNDS {
        let db = setup.test_db();
        let mut kills = 0;
        let mut attempts = 0;
        while kills < KILLS_PER_ROUND {
            attempts += 1;
            assert!(
                attempts < 10 * KILLS_PER_ROUND,
                "the imports keep finishing before the kill"
            );
            // Every killed run reads every file (and records the ledger as it goes), so it takes
            // as long as the reference; the final run trusts the ledger the killed runs left.
            let mut child = setup.import(&db, &["--rescan"]).spawn().unwrap();
            std::thread::sleep(Duration::from_millis(random.below(window)));
            child.kill().unwrap();
            let run = Run::of(child);
            if run.killed() {
                kills += 1;
            } else {
                run.succeeded_as("an import that finished before its kill");
            }
        }
        run(setup.import(&db, &[])).succeeded_as("the run after the kills");
        assert_same(
            &reference.dump,
            &setup.dump(&db),
            &format!("round {round} of random kills"),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. The database goes away

/// The server stops (immediate shutdown) while a batch is waiting to commit: after retrying for a
/// few seconds the import gives up with a clear error and exit code 2; once the server is back,
/// the next run completes the import with nothing lost or doubled.
#[test]
fn a_database_that_goes_away_is_a_clear_error_and_the_next_run_completes() {
    let reference = reference();
    let setup = Setup::new(big_corpus().source());
    let mut cluster = common::PrivateCluster::start();
    let db = setup.runtime.block_on(cluster.test_db("outage"));

    let importing = setup.import_stopped_at(&db, "write.before_commit:3");
    cluster.stop();
    resume(&importing);
    let failed = Run::of(importing);
    assert_eq!(failed.code, 2, "{:?}\n{}", failed.status, failed.stderr);
    for needle in ["error: ", "gave up after", "run the import again"] {
        assert!(
            failed.stderr.contains(needle),
            "{needle:?} in:\n{}",
            failed.stderr
        );
    }
    let error = failed.json()["error"].as_str().map(str::to_owned);
    assert!(
        error.is_some_and(|error| error.contains("gave up after")),
        "--json reports the error"
    );

    cluster.start_again();
    run(setup.import(&db, &[])).succeeded_as("the run after the outage");
    assert_same(&reference.dump, &setup.dump(&db), "after the outage");

    // A server that is back within the retry window: the same import succeeds on its own.
    let db = setup.runtime.block_on(cluster.test_db("blip"));
    let importing = setup.import_stopped_at(&db, "write.before_commit:2");
    cluster.stop();
    resume(&importing);
    std::thread::sleep(Duration::from_millis(200));
    cluster.start_again();
    assert_succeeded_after_retrying(importing, "an import whose server restarted");
    assert_same(&reference.dump, &setup.dump(&db), "after a restart");
}

/// The import's connections are terminated (`pg_terminate_backend`) while a batch is waiting to
/// commit: the batch is retried on a new connection and the import completes.
#[test]
fn an_import_whose_connections_are_terminated_retries_and_completes() {
    let reference = reference();
    let setup = Setup::new(big_corpus().source());
    let db = setup.test_db();
    let importing = setup.import_stopped_at(&db, "write.before_commit:2");
    let terminated: i64 = setup.runtime.block_on(async {
        let client = db.client().await;
        let terminated = common::query_value(
            &client,
            "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity \
             where datname = current_database() and application_name = 'memtree'",
            &[],
        )
        .await;
        // pg_terminate_backend only signals: wait until the backends are gone, or a loaded
        // machine may resume the import before its batch's backend has died (nothing to retry).
        for _ in 0..200 {
            let alive: i64 = common::query_value(
                &client,
                "select count(*) from pg_stat_activity \
                 where datname = current_database() and application_name = 'memtree'",
                &[],
            )
            .await;
            if alive == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        terminated
    });
    assert!(terminated >= 1, "the import's connections were found");
    resume(&importing);
    assert_succeeded_after_retrying(importing, "an import whose connections were terminated");
    assert_same(&reference.dump, &setup.dump(&db), "after the terminations");
}

// ---------------------------------------------------------------------------------------------
// 3. Concurrency

/// Two imports of the same sources at once into a new database (racing on the first migrations,
/// the slug book and the same rows) both succeed and leave what one import leaves.
#[test]
fn two_imports_at_once_both_succeed_and_store_what_one_stores() {
    let reference = reference();
    let setup = Setup::new(big_corpus().source());
    for round in 0..3 {
        let db = setup.test_db();
        let children: Vec<Child> = (0..2).map(|_| setup.import(&db, &[]).spawn().unwrap()).collect();
        for child in children {
            Run::of(child).succeeded_as(&format!("round {round}: a concurrent import"));
        }
        assert_same(
            &reference.dump,
            &setup.dump(&db),
            &format!("round {round} of concurrent imports"),
        );
    }
}

/// Concurrent imports of overlapping project scopes each assign slugs under the lock: every
/// project ends with one slug, and every row's tree uses its project's slug.
#[test]
fn concurrent_imports_of_different_scopes_agree_on_slugs() {
    let setup = Setup::new(big_corpus().source());
    let db = setup.test_db();
    let scopes: [&[&str]; 3] = [
        &["--project", "/nonexistent/team3/app"],
        &["--project", "/nonexistent/team1/app"],
        &[],
    ];
    let children: Vec<Child> = scopes
        .iter()
        .map(|scope| setup.import(&db, scope).spawn().unwrap())
        .collect();
    for child in children {
        Run::of(child).succeeded_as("an import of one scope");
    }
    let (projects, mismatched): (i64, i64) = setup.runtime.block_on(async {
        let client = db.client().await;
        let projects =
            common::query_value(&client, "select count(distinct slug) from memtree_projects", &[]).await;
        let mismatched = common::query_value(
            &client,
            "select count(*) from memory m left join memtree_projects p on p.project_key = m.meta->>'source_cwd' \
             where p.slug is distinct from subpath(m.tree, 1, 1)::text",
            &[],
        )
        .await;
        (projects, mismatched)
    });
    assert_eq!(projects, 12);
    assert_eq!(mismatched, 0, "rows whose tree does not use their project's slug");
    let again = run(setup.import(&db, &["--rescan"])).succeeded_as("a later import");
    assert_eq!(
        again["messages"]["written"]["unchanged"],
        (FILES * MESSAGES) as u64
    );
}

/// Two schemas migrated at once in a new database: the second `create extension if not exists
/// ltree` waits for the first and then fails with a unique violation in the catalog; the
/// migration is retried and sees the extension.
#[test]
fn two_schemas_created_at_once_both_get_their_tables() {
    let corpus = Corpus::new(3, 4);
    let setup = Setup::new(corpus.source());
    let db = setup.test_db();
    // The first holds the new extension uncommitted...
    let first = start_stopped_at(setup.import(&db, &["--schema", "one"]), "migrate.before_commit:1");
    // ... while the second's `create extension` queues behind it.
    let mut second = setup.import(&db, &["--schema", "two"]).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while setup.runtime.block_on(waiting_on_a_lock(&db)) == 0 {
        if second.try_wait().unwrap().is_some() {
            panic!("the second import did not wait: {}", Run::of(second).stderr);
        }
        assert!(
            Instant::now() < deadline,
            "the second import never waited for the first"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    resume(&first);
    Run::of(first).succeeded_as("the first schema");
    assert_succeeded_after_retrying(second, "the second schema");
    let (one, two) = setup.runtime.block_on(async {
        let client = db.client().await;
        (
            dump_schema(&client, "one").await,
            dump_schema(&client, "two").await,
        )
    });
    assert_eq!(one.memories.len(), 12);
    assert_same(&one, &two, "the two schemas");
}

async fn waiting_on_a_lock(db: &common::TestDb) -> i64 {
    common::query_value(
        &db.client().await,
        "select count(*) from pg_stat_activity where datname = current_database() \
         and application_name = 'memtree' and wait_event_type = 'Lock'",
        &[],
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// 4. Sources that change under the import

async fn count_memories(db: &common::TestDb) -> i64 {
    common::query_value(&db.client().await, "select count(*) from memory", &[]).await
}

fn vanished(report: &Value) -> usize {
    report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|diagnostic| diagnostic["kind"] == "vanished")
        .count()
}

/// Files deleted or renamed between discovery and parsing are warnings (exit code 0), not
/// problems; a renamed file is imported under its new name next time without duplicating rows,
/// and deleting source files never deletes their memories.
#[test]
fn files_that_vanish_or_are_renamed_are_warnings_and_lose_nothing() {
    let corpus = Corpus::new(3, 4);
    let setup = Setup::new(corpus.source());
    let db = setup.test_db();
    let files = corpus.files();
    let renamed = files[1].with_file_name(format!("{}.jsonl", session_id(999)));

    let importing = setup.import_stopped_at(&db, "import.discovered");
    std::fs::remove_file(&files[0]).unwrap();
    std::fs::rename(&files[1], &renamed).unwrap();
    resume(&importing);
    let report = Run::of(importing).succeeded_as("files vanished during the import");
    assert_eq!(vanished(&report), 2, "{report:#}");
    assert_eq!(setup.count_memories(&db), 4);

    let report = run(setup.import(&db, &[])).succeeded_as("the next run");
    assert_eq!(
        report["messages"]["written"]["inserted"], 4,
        "the renamed file is read"
    );
    std::fs::rename(&renamed, &files[1]).unwrap();
    let report = run(setup.import(&db, &[])).succeeded_as("renamed back");
    assert_eq!(
        report["messages"]["written"]["inserted"], 0,
        "a renamed file is not imported twice"
    );

    for file in corpus.files() {
        std::fs::remove_file(file).unwrap();
    }
    run(setup.import(&db, &[])).succeeded_as("every file deleted");
    assert_eq!(setup.count_memories(&db), 8, "deleting sources deletes no memory");
}

/// The same for Codex rollouts, which have their own parser.
#[test]
fn codex_rollouts_that_vanish_are_warnings() {
    let home = tempfile::tempdir().unwrap();
    let sessions = home.path().join("sessions");
    common::copy_fixture("codex/reference-codex/source", &sessions);
    let rollouts = walkdir(&sessions);
    let setup = Setup::in_home(home, sessions.display().to_string());
    let db = setup.test_db();
    let child = start_stopped_at(
        tool_import_command("codex", &db.url(), &setup.source, setup.home(), &[]),
        "import.discovered",
    );
    for rollout in &rollouts {
        std::fs::remove_file(rollout).unwrap();
    }
    resume(&child);
    let report = Run::of(child).succeeded_as("rollouts vanished during the import");
    assert_eq!(vanished(&report), rollouts.len(), "{report:#}");
}

/// A transcript larger than the reader's buffer, so that lines appended while it is read are
/// read too (`parse.line:10` stops the import once the first 256 KiB are buffered).
const LONG_SESSION: usize = 2000;

/// The transcript of [`long_session_setup`]: its path, session id and cwd.
struct LongSession {
    path: PathBuf,
    session: String,
    cwd: String,
}

/// A [`LONG_SESSION`] transcript in the projects directory of a fresh HOME (the source), and a
/// database to import it into.
fn long_session_setup() -> (Setup, LongSession, common::TestDb) {
    let home = tempfile::tempdir().unwrap();
    let session = session_id(7);
    let cwd = "/nonexistent/growing".to_owned();
    let path = write_session(&home.path().join("projects"), &session, &cwd, LONG_SESSION);
    assert!(std::fs::metadata(&path).unwrap().len() > 2 * 256 * 1024);
    let source = home.path().join("projects").display().to_string();
    let setup = Setup::in_home(home, source);
    let db = setup.test_db();
    (setup, LongSession { path, session, cwd }, db)
}

/// A session file that grows while it is read (the tool is still writing it): the complete new
/// lines are imported, a half-written last line is left for the next run without being an error,
/// and the next run ends exactly where a single import of the finished file does.
#[test]
fn a_file_that_grows_while_read_is_completed_by_the_next_run() {
    let (setup, LongSession { path, session, cwd }, db) = long_session_setup();
    let importing = setup.import_stopped_at(&db, "parse.line:10");
    let appended = session_text(&session, &cwd, LONG_SESSION..LONG_SESSION + 10);
    let last = session_line(&session, &cwd, LONG_SESSION + 10);
    let (torn, rest) = last.split_at(last.len() / 2);
    append(&path, &(appended + torn));
    resume(&importing);
    let report = Run::of(importing).succeeded_as("a file growing during the import");
    assert_eq!(report["files"]["pending_torn_lines"], 1, "{report:#}");
    assert_eq!(report["files"]["malformed_lines"], 0);
    assert_eq!(setup.count_memories(&db), (LONG_SESSION + 10) as i64);

    append(&path, rest);
    run(setup.import(&db, &[])).succeeded_as("the next run");
    let once = setup.test_db();
    run(setup.import(&once, &[])).succeeded_as("one import of the final file");
    assert_same(&setup.dump(&once), &setup.dump(&db), "a grown file");
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// A session file rewritten shorter while it is read, and again between runs: no error, and
/// nothing already imported is lost.
#[test]
fn a_file_rewritten_shorter_loses_nothing_already_imported() {
    let (setup, LongSession { path, session, cwd }, db) = long_session_setup();
    let importing = setup.import_stopped_at(&db, "parse.line:10");
    std::fs::write(&path, session_text(&session, &cwd, 0..100)).unwrap();
    resume(&importing);
    let report = Run::of(importing).succeeded_as("a file shrinking during the import");
    assert_eq!(report["files"]["malformed_lines"], 0, "{report:#}");
    let imported = setup.count_memories(&db);
    assert!(imported >= 100, "what was read is imported ({imported} rows)");

    let report = run(setup.import(&db, &[])).succeeded_as("the next run");
    assert_eq!(report["messages"]["written"]["unchanged"], 100, "{report:#}");
    assert_eq!(setup.count_memories(&db), imported, "nothing is lost");
}
