//! (7) search latency: a fixed set of queries over the benchmark's store, through memtree's own
//! search (`Store::search`, the statement `memtree search` runs), with a warm cache: each query
//! runs once untimed, then [`RUNS`] times; its median counts. p50, p95 and max are over the
//! queries' medians. The whole command (`memtree search --json`, process start, connection and
//! schema check included) is timed once per query, for context.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, TimeZone, Utc};
use memtree::store::{target, Filters, SearchRequest, SearchResults, Store};

/// Timed runs of each query.
const RUNS: usize = 5;
/// Results asked for, as `memtree search` shows by default.
const LIMIT: u32 = 20;
/// The target: p95 at a million messages.
pub const P95_TARGET: Duration = Duration::from_millis(100);
pub const TARGET_MESSAGES: u64 = 1_000_000;

/// One query of the set.
struct Query {
    text: &'static str,
    kind: &'static str,
    filter: Filter,
}

#[derive(Clone, Copy)]
enum Filter {
    None,
    /// One of the corpus's 60 project directories.
    Project,
    /// The corpus's last month (sessions start between 2026-01-05 and early July).
    Since,
    /// Its first month.
    Until,
    Tool,
    Role,
}

/// The fixed set: words of every frequency the corpus has (its prose draws from about two
/// hundred words, so every English word is common, and a phrase of two is rare), identifiers
/// and paths it holds (the corpus is generated from a fixed seed), phrases, exclusions,
/// alternatives, and filters.
const QUERIES: &[Query] = &[
    q("deadlock", "common word", Filter::None),
    q("migration", "common word", Filter::None),
    q("latency throughput", "two common words", Filter::None),
    q("borrow lifetime trait", "three common words", Filter::None),
    q("cache timeout retry socket", "four common words", Filter::None),
    q("\"borrow lifetime\"", "phrase", Filter::None),
    q("\"schema migration\"", "phrase", Filter::None),
    q("\"the parser fails\"", "phrase with a stopword", Filter::None),
    q("deadlock -timeout", "exclusion", Filter::None),
    q("symlink or permission", "alternative", Filter::None),
    q("zyzzyva", "absent word", Filter::None),
    q("cursor_deadlock", "identifier (snake_case)", Filter::None),
    q("slow_schema474", "rare identifier", Filter::None),
    q("Result<(), Error>", "code", Filter::None),
    q("src/release/version.rs", "path", Filter::None),
    q("version.rs", "file name", Filter::None),
    q("日本語 données", "non-ASCII words", Filter::None),
    q("deadlock", "common word, --project", Filter::Project),
    q("\"borrow lifetime\"", "phrase, --project", Filter::Project),
    q("huge_trait1352", "rare identifier, --project", Filter::Project),
    q("deadlock", "common word, --since last month", Filter::Since),
    q(
        "latency throughput",
        "two words, --until first month",
        Filter::Until,
    ),
    q("src/release/version.rs", "path, --since", Filter::Since),
    q("migration", "common word, --tool codex", Filter::Tool),
    q("deadlock", "common word, --role user", Filter::Role),
];

const fn q(text: &'static str, kind: &'static str, filter: Filter) -> Query {
    Query { text, kind, filter }
}

/// One query's timings.
pub struct QueryTiming {
    pub text: &'static str,
    pub kind: &'static str,
    pub hits: usize,
    pub median: Duration,
    /// `memtree search --json` end to end, once.
    pub command: Duration,
}

/// The scenario's result.
pub struct SearchScenario {
    pub rows: u64,
    pub queries: Vec<QueryTiming>,
}

impl SearchScenario {
    /// The `p`-th percentile (0-100) of the queries' medians, nearest rank.
    pub fn percentile(&self, p: f64) -> Duration {
        let mut medians: Vec<Duration> = self.queries.iter().map(|query| query.median).collect();
        medians.sort();
        let rank = ((p / 100.0) * medians.len() as f64).ceil().max(1.0) as usize;
        medians[rank.min(medians.len()) - 1]
    }

    fn command_median(&self) -> Duration {
        let mut times: Vec<Duration> = self.queries.iter().map(|query| query.command).collect();
        times.sort();
        times[times.len() / 2]
    }

    /// The scenario's rows of the table, and its target line.
    pub fn render(&self) -> String {
        let ms = |duration: Duration| duration.as_secs_f64() * 1000.0;
        let mut out = format!(
            "(7) search: {} queries x {RUNS} runs, warm cache, {} messages: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms \
             (memtree search --json end to end: p50 {:.1} ms)\n",
            self.queries.len(),
            self.rows,
            ms(self.percentile(50.0)),
            ms(self.percentile(95.0)),
            ms(self.percentile(100.0)),
            ms(self.command_median()),
        );
        for query in &self.queries {
            out.push_str(&format!(
                "    {:<28} {:<34} {:>4} hits {:>8.1} ms {:>8.1} ms command\n",
                query.text,
                query.kind,
                query.hits,
                ms(query.median),
                ms(query.command)
            ));
        }
        let p95 = self.percentile(95.0);
        let verdict = if self.rows >= TARGET_MESSAGES {
            if p95 <= P95_TARGET {
                "PASS"
            } else {
                "FAIL"
            }
        } else {
            "not judged below 1,000,000 messages"
        };
        out.push_str(&format!(
            "Target: search p95 <= {} ms at {TARGET_MESSAGES} messages: {verdict} ({:.1} ms at {})\n",
            P95_TARGET.as_millis(),
            ms(p95),
            self.rows
        ));
        out
    }
}

/// Runs the query set against the benchmark's database at `url`.
pub async fn run(
    client: &tokio_postgres::Client,
    url: &str,
    binary: &Path,
    home: &Path,
) -> anyhow::Result<SearchScenario> {
    let target = target::resolve(Some(url), &|_| None)?;
    let settings = target.settings().context("a URL gives connection settings")?;
    let store = Store::open(settings, "public").await?;
    let rows: i64 = client.query_one("select count(*) from memory", &[]).await?.get(0);
    let project = median_project(client).await?;
    let mut queries = Vec::new();
    for query in QUERIES {
        let request = request(query, &project);
        let hits = match store.search(&request).await? {
            SearchResults::Hits(hits) => hits.len(),
            SearchResults::NoSearchableWords => bail!("`{}` has no searchable word", query.text),
        };
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let started = Instant::now();
            store.search(&request).await?;
            times.push(started.elapsed());
        }
        times.sort();
        queries.push(QueryTiming {
            text: query.text,
            kind: query.kind,
            hits,
            median: times[RUNS / 2],
            command: command_time(binary, home, url, query, &project)?,
        });
    }
    Ok(SearchScenario {
        rows: rows as u64,
        queries,
    })
}

fn request(query: &Query, project: &str) -> SearchRequest {
    let mut filters = Filters::default();
    let at = |month: u32| -> DateTime<Utc> { Utc.with_ymd_and_hms(2026, month, 1, 0, 0, 0).unwrap() };
    match query.filter {
        Filter::None => {}
        Filter::Project => filters.project_roots = vec![project.to_owned()],
        Filter::Since => filters.since = Some(at(6)),
        Filter::Until => filters.until = Some(at(2)),
        Filter::Tool => filters.tool = Some("codex".to_owned()),
        Filter::Role => filters.role = Some("user".to_owned()),
    }
    SearchRequest {
        query: query.text.to_owned(),
        filters,
        limit: LIMIT,
    }
}

/// The flags of `memtree search` for a query's filter.
fn flags(query: &Query, project: &str) -> Vec<String> {
    let pair = |flag: &str, value: &str| vec![flag.to_owned(), value.to_owned()];
    match query.filter {
        Filter::None => Vec::new(),
        Filter::Project => pair("--project", project),
        Filter::Since => pair("--since", "2026-06-01"),
        Filter::Until => pair("--until", "2026-02-01"),
        Filter::Tool => pair("--tool", "codex"),
        Filter::Role => pair("--role", "user"),
    }
}

/// One `memtree search --json` run, in the corpus's home with nothing else of the user's.
fn command_time(
    binary: &Path,
    home: &Path,
    url: &str,
    query: &Query,
    project: &str,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let output = Command::new(binary)
        .args([
            "search",
            "--json",
            "--limit",
            &LIMIT.to_string(),
            "--database-url",
            url,
        ])
        .args(flags(query, project))
        .arg("--")
        .arg(query.text)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .output()
        .context("run memtree search")?;
    let elapsed = started.elapsed();
    if !output.status.success() {
        bail!(
            "memtree search `{}` failed: {}",
            query.text,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(elapsed)
}

/// The project of the `--project` queries: the corpus's project of median size (its
/// directories do not exist on the machine, so `--project` takes them as given).
async fn median_project(client: &tokio_postgres::Client) -> anyhow::Result<String> {
    let row = client
        .query_one(
            "with projects as (select meta ->> 'source_cwd' as cwd, count(*) as n from memory \
                 where meta ? 'source_cwd' group by 1) \
             select cwd from projects order by n offset (select count(*) / 2 from projects) limit 1",
            &[],
        )
        .await?;
    Ok(row.get(0))
}
