//! The flags of the commands that read the store (`search`, `show`, `status`) and of those that
//! describe the command line itself (`completions`, `man`), and their resolution.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use clap::builder::PossibleValuesParser;
use clap::Args;

use super::{parse_schema, parse_time_bound};
use crate::env::{self, EnvLookup};
use crate::scope::ProjectScope;
use crate::source::SOURCES;
use crate::store::target::{self, DbTarget};
use crate::store::{Filters, SearchRequest, StoreError};

/// The roles a message can have, as `--role` takes them.
const ROLES: [&str; 6] = [
    "user",
    "assistant",
    "system",
    "reasoning",
    "tool_call",
    "tool_result",
];

fn tools() -> PossibleValuesParser {
    PossibleValuesParser::new(SOURCES.iter().map(|source| source.name()))
}

/// Which database and schema a reading command uses, resolved as an import resolves them.
#[derive(Clone, Debug, Args)]
pub struct StoreArgs {
    /// PostgreSQL connection URL or libpq `key=value` string [default: $DATABASE_URL, else the
    /// PG* variables, else the local default database]
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,

    /// Schema holding the memory table
    #[arg(long, value_name = "NAME", default_value = "public", value_parser = parse_schema)]
    pub schema: String,
}

impl StoreArgs {
    pub fn target(&self, env: EnvLookup<'_>) -> Result<DbTarget, StoreError> {
        target::resolve(self.database_url.as_deref(), env)
    }
}

/// `memtree search`.
#[derive(Clone, Debug, Args)]
#[command(
    after_help = "Query syntax, as in web search: words must all appear (in any form: \
    `fixing` finds `fixed`); \"a phrase\" in quotes; -word excludes; `or` between alternatives. \
    Identifiers and paths are found as written: snake_case, CamelCase, E0502, src/store/write.rs, \
    store/write.rs or write.rs.\n\nResults are ranked by how well each message matches, newer \
    first among equals. The newest 200 matches are ranked; when matches are rare, search looks at \
    the newest 50,000 messages, then 400,000, then all, and ranks the matches of the first that \
    holds --limit of them (--project and --session look at all at once). Use --since and --until \
    to search further back."
)]
pub struct SearchArgs {
    /// What to look for (several words are one query)
    #[arg(required = true, num_args = 1.., value_name = "QUERY")]
    pub query: Vec<String>,

    /// Only messages whose working directory is DIR or below it (resolved as import resolves it)
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Only messages of this tool
    #[arg(long, value_name = "TOOL", value_parser = tools())]
    pub tool: Option<String>,

    /// Only messages at or after TIME (RFC 3339, a date, or an age such as 30d, 12h, 2w)
    #[arg(long, value_name = "TIME", value_parser = parse_time_bound)]
    pub since: Option<DateTime<Utc>>,

    /// Only messages at or before TIME (same forms as --since)
    #[arg(long, value_name = "TIME", value_parser = parse_time_bound)]
    pub until: Option<DateTime<Utc>>,

    /// Only messages of this session (its id, or the start of it)
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,

    /// Only messages of this role
    #[arg(long, value_name = "ROLE", value_parser = PossibleValuesParser::new(ROLES))]
    pub role: Option<String>,

    /// How many results to show
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,

    #[command(flatten)]
    pub store: StoreArgs,
}

impl SearchArgs {
    /// The search these flags ask for; `session` is the session's whole id, once resolved.
    pub fn request(
        &self,
        env: EnvLookup<'_>,
        cwd: &Path,
        session: Option<String>,
    ) -> Result<SearchRequest, String> {
        if let (Some(since), Some(until)) = (self.since, self.until) {
            if since > until {
                return Err(format!(
                    "--since ({}) is after --until ({}): no message can match",
                    since.to_rfc3339(),
                    until.to_rfc3339()
                ));
            }
        }
        Ok(SearchRequest {
            query: self.query.join(" "),
            filters: Filters {
                tool: self.tool.clone(),
                project_roots: project_roots(self.project.as_deref(), env, cwd)?,
                since: self.since,
                until: self.until,
                session,
                role: self.role.clone(),
                project_slugs: None,
            },
            limit: self.limit,
        })
    }
}

/// `memtree show`.
#[derive(Clone, Debug, Args)]
pub struct ShowArgs {
    /// The session: its id, or the start of it if no other session's id starts the same
    #[arg(
        value_name = "SESSION",
        required_unless_present = "last",
        conflicts_with = "last"
    )]
    pub session: Option<String>,

    /// Show the most recent session of a project (--project, else the current directory)
    #[arg(long)]
    pub last: bool,

    /// With --last: the project directory (resolved as import resolves --project)
    #[arg(long, value_name = "DIR", requires = "last")]
    pub project: Option<PathBuf>,

    /// With --last: only sessions of this tool
    #[arg(long, value_name = "TOOL", requires = "last", value_parser = tools())]
    pub tool: Option<String>,

    #[command(flatten)]
    pub store: StoreArgs,
}

impl ShowArgs {
    /// The filters that choose the session of `--last`.
    pub fn last_filters(&self, env: EnvLookup<'_>, cwd: &Path) -> Result<Filters, String> {
        let project = self.project.as_deref().unwrap_or(cwd);
        Ok(Filters {
            tool: self.tool.clone(),
            project_roots: project_roots(Some(project), env, cwd)?,
            ..Filters::default()
        })
    }
}

/// `memtree status`.
#[derive(Clone, Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `memtree man`.
#[derive(Clone, Debug, Args)]
pub struct ManArgs {
    /// Write a page per command (memtree.1, memtree-search.1, ...) into DIR instead of printing
    /// memtree.1
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The directories a `--project DIR` stands for, resolved as an import resolves it.
fn project_roots(dir: Option<&Path>, env: EnvLookup<'_>, cwd: &Path) -> Result<Vec<String>, String> {
    let Some(dir) = dir else {
        return Ok(Vec::new());
    };
    let home = env::home_dir(env);
    ProjectScope::resolve(dir, cwd, home.as_deref())
        .map(|scope| scope.roots().to_vec())
        .map_err(|reason| format!("invalid --project: {reason}"))
}
