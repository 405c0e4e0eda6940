//! `cargo bench --bench import`: the end-to-end import benchmark (issue 5; docs/PERFORMANCE.md).
//!
//! Generates a deterministic corpus of every tool's sessions in a private home directory
//! (`corpus`), starts a throwaway PostgreSQL cluster with PostgreSQL's normal
//! durability (tests/common), runs the release `memtree` binary for each scenario as a child
//! process (`child`: wall time, peak RSS, its `--json` report), measures the parse and COPY
//! ceilings in-process (`ceiling`), and prints one table with the targets (`report`).
//!
//! `MEMTREE_BENCH_SCALE` (default 1.0, about 1 GB) scales the corpus; 0.02 is a quick run.
//! `MEMTREE_BENCH_WATCH_SECS` (default 60) is how long the watch scenario's transcripts grow.
//! `MEMTREE_BENCH_FULL_TRANSCRIPT=0` imports conversation text only instead of full transcripts.
//! `MEMTREE_BENCH_CORPUS_ONLY=<dir>` only generates the corpus into `<dir>` (its `home/`) and
//! exits, to profile memtree by hand on it. `MEMTREE_BENCH_SEARCH_ONLY=1` runs the fresh import
//! and the search scenario only (`search`): at scale 2.7, a store of a million messages.
//! `MEMTREE_BENCH_SEARCH_URL=<url>` runs only the search scenario, against that database as it
//! is (a store built by an earlier run, or by hand).
//! The temp directory and the cluster are removed at exit, also after a panic.

#[path = "../../tests/common/mod.rs"]
mod common;

mod ceiling;
mod child;
mod corpus;
mod report;
mod search;
mod typed_line;
mod watching;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use tokio::runtime::Runtime;

use child::Runner;
use report::{CopyLoad, Results, Scenario, ToolMeasure, JSONL_TOOLS};

/// Parallel COPY streams for the raw COPY ceiling: as many connections as memtree writes with.
const COPY_STREAMS: usize = 2;
/// Times the parse ceiling and the dry run are each measured.
const PARSE_ROUNDS: usize = 3;

fn main() {
    // Errors end here, after every temp dir is dropped; the cluster stops in its exit handler.
    if let Err(error) = run() {
        eprintln!("import benchmark failed: {error:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let scale = env_number("MEMTREE_BENCH_SCALE", 1.0)?;
    if !(scale > 0.0 && scale <= 10.0) {
        bail!("MEMTREE_BENCH_SCALE must be in (0, 10], not {scale}");
    }
    let full_transcript = env_number("MEMTREE_BENCH_FULL_TRANSCRIPT", 1.0)? != 0.0;
    if let Some(dir) = std::env::var_os("MEMTREE_BENCH_CORPUS_ONLY") {
        let home = PathBuf::from(dir).join("home");
        std::fs::create_dir_all(&home)?;
        let corpus = corpus::generate(&home, scale).context("generate the corpus")?;
        progress(&format!(
            "corpus of {:.1} MB generated in {}",
            corpus.total().bytes as f64 / 1e6,
            home.display()
        ));
        return Ok(());
    }
    let load_before = load_average();
    if let Ok(url) = std::env::var("MEMTREE_BENCH_SEARCH_URL") {
        return search_existing(&url, &load_before);
    }
    let work = tempfile::Builder::new().prefix("memtree-bench.").tempdir()?;
    let home = work.path().join("home");
    let logs = work.path().join("logs");
    std::fs::create_dir_all(&home)?;
    std::fs::create_dir_all(&logs)?;

    progress(&format!("generating the corpus at scale {scale}"));
    let started = Instant::now();
    let mut corpus = corpus::generate(&home, scale).context("generate the corpus")?;
    let total = corpus.total();
    progress(&format!(
        "corpus: {:.1} MB, {} sessions, {} message records, generated in {:.1}s",
        total.bytes as f64 / 1e6,
        total.sessions,
        total.messages,
        started.elapsed().as_secs_f64(),
    ));
    for (tool, stats) in [
        ("claude", corpus.claude),
        ("codex", corpus.codex),
        ("opencode", corpus.opencode),
        ("gemini", corpus.gemini),
        ("cursor", corpus.cursor),
        ("copilot", corpus.copilot),
        ("qwen", corpus.qwen),
        ("aider", corpus.aider),
        ("crush", corpus.crush),
    ] {
        progress(&format!(
            "  {tool}: {:.1} MB, {} sessions, {} records, {} message records",
            stats.bytes as f64 / 1e6,
            stats.sessions,
            stats.records,
            stats.messages
        ));
    }

    let db = Database::start()?;
    let runner = Runner {
        binary: env!("CARGO_BIN_EXE_memtree").into(),
        home: corpus.home.clone(),
        database_url: db.url.clone(),
        full_transcript,
        log_dir: logs,
    };
    if env_number("MEMTREE_BENCH_SEARCH_ONLY", 0.0)? != 0.0 {
        let fresh = db.scenario(&runner, "(2) fresh import", false)?;
        let search = db.search(&runner)?;
        println!(
            "\nmemtree search benchmark: scale {scale}, {:.1} MB corpus, {} messages imported in {:.1} s, \
             PostgreSQL {}, load average {} before, {} after\n",
            total.bytes as f64 / 1e6,
            fresh.messages(),
            fresh.wall().as_secs_f64(),
            db.server_version()?,
            load_before,
            load_average(),
        );
        print!("{}", search.render());
        return Ok(());
    }
    // The parse ceiling and the dry run take about a second each: on a machine whose speed
    // drifts they are measured in alternation, and the fastest of each counts.
    let mut parses = Vec::with_capacity(PARSE_ROUNDS);
    let mut tool_parses = Vec::with_capacity(PARSE_ROUNDS);
    let mut dry_runs = Vec::with_capacity(PARSE_ROUNDS);
    let jsonl_files = corpus.jsonl_files();
    let tool_files: Vec<(&'static str, Vec<PathBuf>)> = JSONL_TOOLS
        .into_iter()
        .map(|tool| {
            let root = corpus.home.join(format!(".{tool}"));
            let files = jsonl_files
                .iter()
                .filter(|path| path.starts_with(&root))
                .cloned()
                .collect();
            (tool, files)
        })
        .collect();
    for round in 1..=PARSE_ROUNDS {
        progress(&format!("(0) parse ceiling, round {round} of {PARSE_ROUNDS}"));
        let parse = ceiling::parse_ceiling(&jsonl_files)?;
        for pass in &parse.passes {
            if pass.rejected > 0 {
                bail!("{} rejected {} generated lines", pass.parser, pass.rejected);
            }
        }
        parses.push(parse);
        let passes = tool_files
            .iter()
            .map(|(tool, files)| ceiling::tool_ceiling(tool, files))
            .collect::<std::io::Result<_>>()?;
        tool_parses.push(ceiling::ParseCeiling { passes });
        dry_runs.push(db.scenario(&runner, &format!("(1) dry run, round {round}"), true)?);
    }
    let parse = ceiling::ParseCeiling::fastest_of(parses);
    let tool_parse = ceiling::ParseCeiling::fastest_of(tool_parses);
    let dry_run = Scenario::fastest_of(dry_runs);
    let fresh = db.scenario(&runner, "(2) fresh import", false)?;
    let exports: Vec<PathBuf> = (0..COPY_STREAMS)
        .map(|part| work.path().join(format!("memory-{part}.copy")))
        .collect();
    let exported = db.block_on(ceiling::export_rows(&db.client, &exports))?;
    if exported != fresh.messages() {
        progress(&format!(
            "note: {exported} rows stored for {} planned messages",
            fresh.messages()
        ));
    }
    let unchanged = db.scenario(&runner, "(3) unchanged re-run", false)?;
    let added = corpus.append_to_a_tenth().context("append to the corpus")?;
    progress(&format!(
        "appended {} message records ({:.1} MB) to {} sessions",
        added.messages,
        added.bytes as f64 / 1e6,
        added.sessions
    ));
    let append = db.scenario(&runner, "(4) append re-run", false)?;
    progress("marking every row and ledger entry as written by an older importer (not timed)");
    db.execute("UPDATE memory SET meta = jsonb_set(meta, '{importer_version}', '\"old\"')")?;
    db.execute("UPDATE memtree_ledger SET importer_version = 'old'")?;
    db.execute("UPDATE memtree_ledger_sessions SET importer_version = 'old'")?;
    let version_bump = db.scenario(&runner, "(5) version bump", false)?;
    let copy = db.copy_loads(&exports)?;
    let search = db.search(&runner)?;
    let watch_seconds = env_number("MEMTREE_BENCH_WATCH_SECS", 60.0)?;
    progress(&format!("(8) watch: transcripts growing for {watch_seconds} s"));
    let watch = watching::measure(&runner, watch_seconds, &|contents| db.visible(contents))?;

    let results = Results {
        parse,
        tool_parse,
        dry_run,
        fresh,
        unchanged,
        append,
        version_bump,
        copy,
    };
    println!(
        "\nmemtree import benchmark: scale {scale}, {:.1} MB corpus, {} mode, PostgreSQL {} \
         (normal durability), load average {} before, {} after\n",
        total.bytes as f64 / 1e6,
        if full_transcript {
            "full-transcript"
        } else {
            "conversation-only"
        },
        db.server_version()?,
        load_before,
        load_average(),
    );
    print!("{}", results.render());
    print!("\n{}", search.render());
    print!("\n{}", watch.render());
    Ok(())
}

/// (7) alone, against the database at `url`.
fn search_existing(url: &str, load_before: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let home = tempfile::tempdir()?;
    let search = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        client.batch_execute("VACUUM (ANALYZE) memory").await?;
        search::run(&client, url, env!("CARGO_BIN_EXE_memtree").as_ref(), home.path()).await
    })?;
    println!(
        "\nmemtree search benchmark on an existing store, load average {load_before} before, {} after\n",
        load_average()
    );
    print!("{}", search.render());
    Ok(())
}

/// The benchmark's own database on its throwaway cluster, with one admin connection.
struct Database {
    runtime: Runtime,
    client: tokio_postgres::Client,
    url: String,
    test_db: common::TestDb,
}

impl Database {
    fn start() -> anyhow::Result<Database> {
        // Always a private cluster, never a server named in the environment.
        std::env::remove_var("TEST_DATABASE_URL");
        common::keep_durability();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?;
        progress("starting a throwaway PostgreSQL cluster");
        let db = runtime.block_on(common::test_db());
        let client = runtime.block_on(db.client());
        Ok(Database {
            url: db.url(),
            runtime,
            client,
            test_db: db,
        })
    }

    fn block_on<T>(&self, work: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(work)
    }

    fn execute(&self, sql: &str) -> anyhow::Result<()> {
        self.block_on(self.client.batch_execute(sql))
            .with_context(|| format!("run `{sql}`"))
    }

    /// Which of `contents` are stored as a row's content.
    fn visible(&self, contents: &[String]) -> anyhow::Result<Vec<String>> {
        let rows = self.block_on(
            self.client
                .query("SELECT content FROM memory WHERE content = ANY($1)", &[&contents]),
        )?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    fn server_version(&self) -> anyhow::Result<String> {
        let row = self.block_on(self.client.query_one("SHOW server_version", &[]))?;
        Ok(row.get(0))
    }

    fn wal_position(&self) -> anyhow::Result<String> {
        let row = self.block_on(self.client.query_one("SELECT pg_current_wal_lsn()::text", &[]))?;
        Ok(row.get(0))
    }

    fn wal_since(&self, position: &str) -> anyhow::Result<u64> {
        let row = self.block_on(self.client.query_one(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::text::pg_lsn)::bigint",
            &[&position],
        ))?;
        Ok(row.get::<_, i64>(0).max(0) as u64)
    }

    /// Runs every tool's import once. First, not timed: a `VACUUM ANALYZE` of the table (so that
    /// autovacuum does not run during the scenario and charge its WAL to memtree, and the table
    /// is in the state a later run would find), and a checkpoint (so that each scenario starts
    /// with the same pending WAL and full-page writes).
    fn scenario(&self, runner: &Runner, label: &str, dry_run: bool) -> anyhow::Result<Scenario> {
        let mut tools = Vec::new();
        let table = self.block_on(
            self.client
                .query_one("SELECT to_regclass('public.memory') IS NOT NULL", &[]),
        )?;
        if table.get::<_, bool>(0) {
            self.execute("VACUUM (ANALYZE) memory")?;
        }
        self.execute("CHECKPOINT")?;
        for tool in child::tools() {
            progress(&format!("{label}: {tool}"));
            let position = self.wal_position()?;
            let run = runner.run(
                tool,
                dry_run,
                &label.replace(|ch: char| !ch.is_alphanumeric(), "_"),
            )?;
            let wal_bytes = self.wal_since(&position)?;
            if run.problems > 0 {
                progress(&format!("warning: {} problems reported for {tool}", run.problems));
            }
            tools.push(ToolMeasure { tool, run, wal_bytes });
        }
        Ok(Scenario { tools })
    }

    /// (7): the search latency scenario, over the table as it is, vacuumed and analysed first
    /// (not timed) as a store is once autovacuum has seen it.
    fn search(&self, runner: &Runner) -> anyhow::Result<search::SearchScenario> {
        self.execute("VACUUM (ANALYZE) memory")?;
        progress("(7) search");
        self.block_on(search::run(&self.client, &self.url, &runner.binary, &runner.home))
    }

    /// (6): loads the fresh import's rows into the emptied table (emptying not timed), once over
    /// one connection and once with one COPY per export file, each on its own connection at the
    /// same time (as many as memtree's connection pool).
    fn copy_loads(&self, exports: &[PathBuf]) -> anyhow::Result<Vec<CopyLoad>> {
        let mut clients = vec![&self.client];
        let extra: Vec<tokio_postgres::Client> = (1..exports.len())
            .map(|_| self.block_on(self.test_db.client()))
            .collect();
        clients.extend(extra.iter());
        let bytes = exports
            .iter()
            .map(|path| std::fs::metadata(path).map(|meta| meta.len()))
            .sum::<std::io::Result<u64>>()?;
        let mut loads = Vec::new();
        for streams in [1, exports.len()] {
            progress(&format!("(6) raw COPY over {streams} connection(s)"));
            self.execute("TRUNCATE memory")?;
            self.execute("CHECKPOINT")?;
            let position = self.wal_position()?;
            let started = Instant::now();
            let rows: u64 = self.block_on(async {
                if streams == 1 {
                    let mut rows = 0;
                    for path in exports {
                        rows += ceiling::load_rows(&self.client, path).await?;
                    }
                    Ok::<_, anyhow::Error>(rows)
                } else {
                    let loads = exports
                        .iter()
                        .zip(&clients)
                        .map(|(path, client)| ceiling::load_rows(client, path));
                    Ok(futures_util::future::try_join_all(loads).await?.into_iter().sum())
                }
            })?;
            loads.push(CopyLoad {
                streams,
                wall: started.elapsed(),
                rows,
                bytes,
                wal_bytes: self.wal_since(&position)?,
            });
        }
        loads.sort_by_key(|load| load.wall);
        Ok(loads)
    }
}

fn env_number(name: &str, default: f64) -> anyhow::Result<f64> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse()
            .with_context(|| format!("{name} must be a number, not {value:?}")),
        _ => Ok(default),
    }
}

/// The 1-minute load average: other work on the machine skews every figure.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".to_owned())
}

fn progress(message: &str) {
    eprintln!("[bench] {message}");
}
