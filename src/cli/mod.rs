//! The command line: clap definitions, built from the registry of sources, and the validation
//! and resolution of every flag value.
//!
//! Values are checked here, at parse time, so a bad one exits with code 2 and a message naming
//! the flag, the value and the expected form before anything is read or written. Each source is
//! a `memtree <tool> import` subcommand and a value of `memtree import [<tool>]`, and likewise of
//! `watch`; the commands that read the store have their flags in `read`.

mod read;

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use clap::builder::PossibleValuesParser;
use clap::error::ErrorKind;
use clap::{Arg, ArgMatches, Args, FromArgMatches, Parser, Subcommand};

use crate::env::{self, EnvLookup, Variable};
use crate::import::{ImportError, ImportSettings};
use crate::plan::ContentMode;
use crate::scope::{ProjectScope, TimeWindow};
use crate::source::{self, Source, SOURCES};
use crate::store::target;
use crate::watch::WatchSettings;
pub use read::{ManArgs, SearchArgs, ShowArgs, StatusArgs, StoreArgs};

/// Import the session histories AI coding agents leave on disk into a searchable PostgreSQL
/// memory store: one row per message, with its project, session, git and model facts.
#[derive(Debug, Parser)]
#[command(
    name = "memtree",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = environment_help(env::VARIABLES)
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Flags accepted by every command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// More detail on stderr (-v: per-session lines and debug logs, -vv: trace logs)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr; no progress, no summary
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print one machine-readable JSON report on stdout instead of the text summary
    #[arg(long, global = true)]
    pub json: bool,
}

/// What to do: `memtree <tool> import` and `memtree import <tool>` are the same command.
#[derive(Debug)]
pub enum Command {
    /// Import the sessions of one tool.
    Import {
        source: &'static dyn Source,
        args: ImportArgs,
    },
    /// Import the sessions of every tool found on this machine (`memtree import`).
    ImportAll { args: ImportArgs },
    /// Search the store.
    Search(SearchArgs),
    /// Print one session.
    Show(ShowArgs),
    /// What the store holds, and what is not imported yet.
    Status(StatusArgs),
    /// Print a shell completion script.
    Completions { shell: clap_complete::Shell },
    /// Print the manual page.
    Man(ManArgs),
    /// Import the sessions of the tools named (all when none is) whenever they change.
    Watch {
        sources: Vec<&'static dyn Source>,
        args: ImportArgs,
        watch: WatchArgs,
    },
    /// Manage the local default database.
    Db { action: DbAction },
    /// Manage the user service that runs `memtree watch`.
    Service { action: ServiceAction },
}

const IMPORT: &str = "import";
const WATCH: &str = "watch";
const DB: &str = "db";
const SERVICE: &str = "service";
const SEARCH: &str = "search";
const SHOW: &str = "show";
const STATUS: &str = "status";
const COMPLETIONS: &str = "completions";
const MAN: &str = "man";
/// Every command name that is not a tool's.
const COMMANDS: [&str; 9] = [IMPORT, WATCH, DB, SERVICE, SEARCH, SHOW, STATUS, COMPLETIONS, MAN];

impl Subcommand for Command {
    fn augment_subcommands(mut command: clap::Command) -> clap::Command {
        for source in SOURCES {
            let import = clap::Command::new(IMPORT)
                .about("Import this tool's sessions into the memory table")
                .after_help(source_help(*source));
            let watch = clap::Command::new(WATCH)
                .about("Import this tool's sessions whenever they change, until SIGINT or SIGTERM")
                .after_help(source_help(*source));
            command = command.subcommand(
                clap::Command::new(source.name())
                    .about(source.about())
                    .subcommand_required(true)
                    .arg_required_else_help(true)
                    .subcommand(with_import_flags(import))
                    .subcommand(with_watch_flags(watch)),
            );
        }
        let tool = Arg::new("tool")
            .value_name("TOOL")
            .help("The agent tool whose sessions to import [default: every tool found here]")
            .value_parser(PossibleValuesParser::new(
                SOURCES.iter().map(|source| source.name()),
            ));
        let import = clap::Command::new(IMPORT)
            .about(
                "Import the sessions of every tool found here, or of one (same as `memtree <tool> import`)",
            )
            .arg(tool);
        let tools = Arg::new("tools")
            .num_args(0..)
            .value_name("TOOL")
            .help("The agent tools whose sessions to follow [default: all]")
            .value_parser(PossibleValuesParser::new(
                SOURCES.iter().map(|source| source.name()),
            ));
        let watch = clap::Command::new(WATCH)
            .about(
                "Import sessions whenever they change, until SIGINT or SIGTERM (same flags as import; \
                 same as `memtree <tool> watch` for one tool)",
            )
            .arg(tools);
        let db = clap::Command::new(DB)
            .about("Manage the local default database (used when no database URL or PG variable is set)")
            .subcommand_required(true)
            .arg_required_else_help(true);
        let shell = Arg::new("shell")
            .required(true)
            .value_name("SHELL")
            .help("The shell to complete for")
            .value_parser(clap::value_parser!(clap_complete::Shell));
        command
            .subcommand(with_import_flags(import))
            .subcommand(with_watch_flags(watch))
            .subcommand(with_flags(SearchArgs::augment_args,
                clap::Command::new(SEARCH).about("Search the store: ranked full-text search with filters"),
            ))
            .subcommand(with_flags(ShowArgs::augment_args,
                clap::Command::new(SHOW).about("Print a session's messages in order, as a transcript"),
            ))
            .subcommand(with_flags(StatusArgs::augment_args, clap::Command::new(STATUS).about(
                "What the store holds per tool and project, the last imports, and what is not imported yet",
            )))
            .subcommand(
                clap::Command::new(COMPLETIONS)
                    .about("Print a shell completion script (bash, zsh, fish, elvish, powershell)")
                    .arg(shell),
            )
            .subcommand(with_flags(ManArgs::augment_args,
                clap::Command::new(MAN).about("Print the manual page (roff), or write one per command"),
            ))
            .subcommand(DbAction::augment_subcommands(db))
            .subcommand(ServiceAction::augment_subcommands(
                clap::Command::new(SERVICE)
                    .about("Run `memtree watch` as a user service (systemd on Linux, launchd on macOS)")
                    .subcommand_required(true)
                    .arg_required_else_help(true),
            ))
    }

    fn augment_subcommands_for_update(command: clap::Command) -> clap::Command {
        Self::augment_subcommands(command)
    }

    fn has_subcommand(name: &str) -> bool {
        COMMANDS.contains(&name) || source::named(name).is_some()
    }
}

impl FromArgMatches for Command {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let missing = || clap::Error::raw(ErrorKind::MissingSubcommand, "a subcommand is required\n");
        let (name, matches) = matches.subcommand().ok_or_else(missing)?;
        let import = |source: &'static dyn Source, matches: &ArgMatches| {
            Ok(Command::Import {
                source,
                args: ImportArgs::from_arg_matches(matches)?,
            })
        };
        let watch = |sources: Vec<&'static dyn Source>, matches: &ArgMatches| {
            Ok(Command::Watch {
                sources,
                args: ImportArgs::from_arg_matches(matches)?,
                watch: WatchArgs::from_arg_matches(matches)?,
            })
        };
        match name {
            WATCH => {
                let named = matches.get_many::<String>("tools").into_iter().flatten();
                let sources = named
                    .map(|tool| source::named(tool).ok_or_else(|| unknown_tool(tool)))
                    .collect::<Result<Vec<_>, _>>()?;
                watch(sources, matches)
            }
            IMPORT => match matches.get_one::<String>("tool") {
                Some(tool) => {
                    let source = source::named(tool).ok_or_else(|| unknown_tool(tool))?;
                    import(source, matches)
                }
                None => {
                    let args = ImportArgs::from_arg_matches(matches)?;
                    if !args.source.is_empty() {
                        return Err(clap::Error::raw(
                            ErrorKind::MissingRequiredArgument,
                            "--source needs a tool: `memtree import <TOOL> --source PATH...`\n",
                        ));
                    }
                    Ok(Command::ImportAll { args })
                }
            },
            SEARCH => Ok(Command::Search(SearchArgs::from_arg_matches(matches)?)),
            SHOW => Ok(Command::Show(ShowArgs::from_arg_matches(matches)?)),
            STATUS => Ok(Command::Status(StatusArgs::from_arg_matches(matches)?)),
            COMPLETIONS => Ok(Command::Completions {
                shell: *matches
                    .get_one::<clap_complete::Shell>("shell")
                    .ok_or_else(missing)?,
            }),
            MAN => Ok(Command::Man(ManArgs::from_arg_matches(matches)?)),
            DB => Ok(Command::Db {
                action: DbAction::from_arg_matches(matches)?,
            }),
            SERVICE => Ok(Command::Service {
                action: ServiceAction::from_arg_matches(matches)?,
            }),
            tool => {
                let source = source::named(tool).ok_or_else(|| unknown_tool(tool))?;
                match matches.subcommand() {
                    Some((IMPORT, matches)) => import(source, matches),
                    Some((WATCH, matches)) => watch(vec![source], matches),
                    _ => Err(missing()),
                }
            }
        }
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

/// `command` with the import's flags. clap makes the doc comment of a flags struct the `about`
/// of the command taking it: the command's own is put back.
fn with_import_flags(command: clap::Command) -> clap::Command {
    with_flags(ImportArgs::augment_args, command)
}

/// `command` with the import's and the watch's flags, its own `about` kept.
fn with_watch_flags(command: clap::Command) -> clap::Command {
    with_flags(
        |command| WatchArgs::augment_args(ImportArgs::augment_args(command)),
        command,
    )
}

/// `command` with the flags `add` gives it, its own `about` kept (a flags struct's doc comment
/// would replace it).
fn with_flags(add: impl FnOnce(clap::Command) -> clap::Command, command: clap::Command) -> clap::Command {
    match command.get_about().cloned() {
        Some(about) => add(command).about(about),
        None => add(command),
    }
}

fn unknown_tool(name: &str) -> clap::Error {
    clap::Error::raw(
        ErrorKind::InvalidSubcommand,
        format!("memtree does not read `{name}`\n"),
    )
}

/// The help after a tool's `import`: where it reads from, and the variables that move that.
fn source_help(source: &dyn Source) -> String {
    let mut help = format!("Reads {} by default.", source.layout());
    if !source.variables().is_empty() {
        help.push_str("\n\n");
        help.push_str(&environment_help(source.variables()));
    }
    help
}

/// The variables users may set, one per line (test knobs are not listed).
fn environment_help(variables: &[Variable]) -> String {
    let mut help = "Environment:".to_owned();
    for variable in variables.iter().filter(|variable| !variable.test_knob) {
        help.push_str(&format!("\n  {:<18} {}", variable.name, variable.meaning));
    }
    help
}

#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Initialise (first time) and start the local database
    Start,
    /// Stop the local database
    Stop,
    /// Show whether the local database exists and runs, and where
    Status,
    /// Print the connection URL of the local database
    Url,
}

#[derive(Debug, Subcommand)]
pub enum ServiceAction {
    /// Write the service that runs `memtree watch` with the current database target, and start it
    Install {
        /// The agent tools to follow [default: all]
        #[arg(value_name = "TOOL", value_parser = PossibleValuesParser::new(SOURCES.iter().map(|source| source.name())))]
        tools: Vec<String>,
        /// The database, as for import (a password belongs in ~/.pgpass, never in the service)
        /// [default: $DATABASE_URL, else the PG* variables, else the local default database]
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
        /// Flags for `memtree watch`, after `--` (`-- --full-transcript --schema mem`); checked
        /// as `memtree watch` would take them before anything is written
        #[arg(last = true, value_name = "WATCH FLAGS")]
        flags: Vec<String>,
    },
    /// Stop the service and remove its file
    Uninstall,
    /// Show whether the service is installed and running, and where it logs
    Status,
}

/// Checks the `flags` that `service install` will give `memtree watch <tools>` by parsing and
/// resolving them as that command would, so that a mistake fails before anything is written.
pub fn check_service_watch(
    tools: &[String],
    flags: &[String],
    env: EnvLookup<'_>,
    cwd: &Path,
) -> Result<(), ImportError> {
    let argv = ["memtree", WATCH]
        .into_iter()
        .map(str::to_owned)
        .chain(tools.iter().cloned())
        .chain(flags.iter().cloned());
    let not_watch = |detail: String| {
        ImportError::Usage(format!(
            "the flags after `--` must be those of `memtree watch`: {detail}"
        ))
    };
    let parsed = Cli::try_parse_from(argv).map_err(|error| {
        let text = error.to_string();
        not_watch(
            text.lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_owned(),
        )
    })?;
    let Command::Watch { sources, args, watch } = parsed.command else {
        return Err(not_watch("they name another command".to_owned()));
    };
    if args.database_url.is_some() {
        return Err(not_watch(
            "give the database as `service install --database-url URL`, before `--`".to_owned(),
        ));
    }
    if args.source.iter().any(|source| source.is_relative()) {
        return Err(not_watch(
            "--source paths must be absolute: the service does not run in this directory".to_owned(),
        ));
    }
    watch.resolve(&sources, &args, env, cwd).map(drop)
}

/// The flags of `watch` besides the import's.
#[derive(Clone, Debug, Args)]
pub struct WatchArgs {
    /// Look at the files every SECONDS instead of listening to file-system events (for network
    /// mounts and other file systems without events; used anyway where events are unavailable)
    #[arg(long, value_name = "SECONDS", value_parser = parse_poll)]
    pub poll: Option<StdDuration>,

    /// Milliseconds without a further change before an import starts, so a burst of writes is
    /// imported once
    #[arg(long, value_name = "MS", default_value = "300", value_parser = parse_debounce)]
    pub debounce: StdDuration,
}

impl WatchArgs {
    /// Resolves a `watch` of `sources` (every tool when empty) with the import flags `args`.
    pub fn resolve(
        &self,
        sources: &[&'static dyn Source],
        args: &ImportArgs,
        env: EnvLookup<'_>,
        cwd: &Path,
    ) -> Result<WatchSettings, ImportError> {
        if args.dry_run {
            return Err(ImportError::Usage(
                "--dry-run does not go with `watch`, which imports: audit with `memtree <tool> import --dry-run`"
                    .to_owned(),
            ));
        }
        if !args.source.is_empty() && sources.len() != 1 {
            return Err(ImportError::Usage(
                "--source reads one tool's layout: name that tool (`memtree watch <tool> --source PATH`)"
                    .to_owned(),
            ));
        }
        let sources = if sources.is_empty() { SOURCES } else { sources };
        let imports = sources
            .iter()
            .map(|source| args.resolve(*source, env, cwd))
            .collect::<Result<_, _>>()?;
        Ok(WatchSettings {
            imports,
            poll: self.poll,
            debounce: self.debounce,
        })
    }
}

/// The flags shared by every `import` command.
#[derive(Clone, Debug, Args)]
pub struct ImportArgs {
    /// Where to read sessions from instead of the tool's default location: one or more
    /// directories as the tool lays them out, or single session files or databases
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub source: Vec<PathBuf>,

    /// Only sessions whose working directory is DIR or below it (`~`, relative paths and
    /// symlinks are resolved; `/a/proj` does not match `/a/project-other`)
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,

    /// Only messages at or after TIME: RFC 3339 (`2026-03-01T12:00:00Z`), a date (`2026-03-01`,
    /// UTC midnight), a date-time without offset (taken as UTC) or an age (`30d`, `12h`, `45m`,
    /// `2w`). Sessions with no message in the window are skipped
    #[arg(long, value_name = "TIME", value_parser = parse_time_bound)]
    pub since: Option<DateTime<Utc>>,

    /// Only messages at or before TIME (same forms as --since; a date means its UTC midnight)
    #[arg(long, value_name = "TIME", value_parser = parse_time_bound)]
    pub until: Option<DateTime<Utc>>,

    /// First labels of every memory's tree path
    #[arg(long, value_name = "PATH", default_value = "projects", value_parser = parse_tree_root)]
    pub tree_root: String,

    /// Last label of every memory's tree path
    #[arg(long, value_name = "NAME", default_value = "agent_sessions", value_parser = parse_tree_label)]
    pub sessions_node_name: String,

    /// Store thinking, tool calls and tool results too, not only the conversation text
    #[arg(long)]
    pub full_transcript: bool,

    /// Also import sessions run in temporary directories (/tmp, /var/folders, ...)
    #[arg(long)]
    pub include_temp_cwd: bool,

    /// Also import sessions with fewer than two user prompts
    #[arg(long)]
    pub include_trivial: bool,

    /// Also import subagent, review and side-question sessions
    #[arg(long)]
    pub include_sidechains: bool,

    /// Report what would be imported, and with a reachable database what would be inserted,
    /// updated or left unchanged; never writes anything
    #[arg(long)]
    pub dry_run: bool,

    /// Store secrets as they are instead of replacing them with `[REDACTED:<kind>]` (API keys,
    /// tokens, private keys, passwords in URLs and `*_SECRET=`-style assignments)
    #[arg(long)]
    pub no_redact: bool,

    /// Import the prompts a tool keeps after deleting a session's transcript (Claude Code's
    /// `history.jsonl`, Gemini CLI's `logs.json`) for sessions whose transcript is gone and was
    /// never imported; replaced by the transcript's rows if it returns. On by default
    #[arg(long, overrides_with = "no_salvage")]
    pub salvage: bool,

    /// Do not salvage prompts of sessions whose transcript is gone (see --salvage)
    #[arg(long, overrides_with = "salvage")]
    pub no_salvage: bool,

    /// Read every file again from its start, even those the database's ledger records as
    /// unchanged since they were imported, or could read on from a checkpoint (for example after
    /// deleting rows by hand)
    #[arg(long)]
    pub rescan: bool,

    /// PostgreSQL connection URL or libpq `key=value` string, with libpq's parameters (sslmode,
    /// sslrootcert, sslcert, sslkey, service, passfile, connect_timeout, target_session_attrs,
    /// ...) [default: $DATABASE_URL, else the PG* variables, else the local default database]
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,

    /// Schema holding the memory table
    #[arg(long, value_name = "NAME", default_value = "public", value_parser = parse_schema)]
    pub schema: String,
}

impl ImportArgs {
    /// Resolves these flags for `source` against the environment and the current directory.
    pub fn resolve(
        &self,
        source: &'static dyn Source,
        env: EnvLookup<'_>,
        cwd: &Path,
    ) -> Result<ImportSettings, ImportError> {
        let home = env::home_dir(env);
        let project = self
            .project
            .as_deref()
            .map(|dir| ProjectScope::resolve(dir, cwd, home.as_deref()))
            .transpose()
            .map_err(|reason| ImportError::Usage(format!("invalid --project: {reason}")))?;
        if let (Some(since), Some(until)) = (self.since, self.until) {
            if since > until {
                return Err(ImportError::Usage(format!(
                    "--since ({}) is after --until ({}): no message can match",
                    since.to_rfc3339(),
                    until.to_rfc3339()
                )));
            }
        }
        let roots_given = !self.source.is_empty();
        let roots = if roots_given {
            self.source.iter().map(|root| cwd.join(root)).collect()
        } else {
            source.default_roots(env)
        };
        let database = target::resolve(self.database_url.as_deref(), env)?;
        Ok(ImportSettings {
            source,
            roots,
            roots_given,
            project,
            window: TimeWindow {
                since: self.since,
                until: self.until,
            },
            tree_root: self.tree_root.clone(),
            sessions_node_name: self.sessions_node_name.clone(),
            mode: if self.full_transcript {
                ContentMode::FullTranscript
            } else {
                ContentMode::Default
            },
            include_sidechains: self.include_sidechains,
            include_temp_cwd: self.include_temp_cwd,
            include_trivial: self.include_trivial,
            dry_run: self.dry_run,
            rescan: self.rescan,
            redact: !self.no_redact,
            salvage: !self.no_salvage,
            database,
            schema: self.schema.clone(),
            stop: None,
        })
    }
}

/// PostgreSQL 15 ltree labels: ASCII letters, digits and `_`, under 256 characters.
const MAX_LABEL_LEN: usize = 255;

fn is_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL_LEN
        && label
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
}

fn parse_tree_root(value: &str) -> Result<String, String> {
    if value.split('.').all(is_label) {
        Ok(value.to_owned())
    } else {
        Err("must match [a-z0-9_]+(\\.[a-z0-9_]+)* (labels of at most 255 characters)".to_owned())
    }
}

fn parse_tree_label(value: &str) -> Result<String, String> {
    if is_label(value) {
        Ok(value.to_owned())
    } else {
        Err("must match [a-z0-9_]+ (at most 255 characters)".to_owned())
    }
}

pub(crate) fn parse_schema(value: &str) -> Result<String, String> {
    let mut bytes = value.bytes();
    let valid_start = bytes
        .next()
        .is_some_and(|byte| byte.is_ascii_lowercase() || byte == b'_');
    if valid_start
        && value.len() <= 63
        && bytes.all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
    {
        Ok(value.to_owned())
    } else {
        Err("must match [a-z_][a-z0-9_]* (at most 63 characters)".to_owned())
    }
}

const TIME_FORMS: &str =
    "expected RFC 3339 (2026-03-01T12:00:00Z), a date (2026-03-01), or an age (30d, 12h, 45m, 2w)";

pub(crate) fn parse_time_bound(value: &str) -> Result<DateTime<Utc>, String> {
    parse_time_at(value, Utc::now())
}

/// Parses a `--since`/`--until` value; ages count back from `now`.
pub fn parse_time_at(value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let value = value.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.to_utc());
    }
    if let Ok(date) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).map(|at| at.and_utc()).unwrap_or(now));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(value, format) {
            return Ok(at.and_utc());
        }
    }
    parse_age(value)
        .map(|age| now - age)
        .ok_or_else(|| TIME_FORMS.to_owned())
}

fn parse_poll(value: &str) -> Result<StdDuration, String> {
    match value.parse::<u64>() {
        Ok(seconds @ 1..=3600) => Ok(StdDuration::from_secs(seconds)),
        _ => Err(format!("`{value}` is not a number of seconds from 1 to 3600")),
    }
}

fn parse_debounce(value: &str) -> Result<StdDuration, String> {
    match value.parse::<u64>() {
        Ok(ms @ 0..=60_000) => Ok(StdDuration::from_millis(ms)),
        _ => Err(format!(
            "`{value}` is not a number of milliseconds from 0 to 60000"
        )),
    }
}

fn parse_age(value: &str) -> Option<Duration> {
    let unit_at = value.find(|ch: char| !ch.is_ascii_digit())?;
    let (number, unit) = value.split_at(unit_at);
    let number: i64 = number.parse().ok()?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    Duration::try_seconds(number.checked_mul(seconds_per_unit)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 12, 0, 0).unwrap()
    }

    #[test]
    fn time_bounds_accept_every_documented_form() {
        let cases = [
            (
                "2026-03-01T12:00:00Z",
                Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
            ),
            (
                "2026-03-01T14:00:00+02:00",
                Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
            ),
            ("2026-03-01", Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()),
            (
                "2026-03-01T08:30",
                Utc.with_ymd_and_hms(2026, 3, 1, 8, 30, 0).unwrap(),
            ),
            ("30d", now() - Duration::days(30)),
            ("12h", now() - Duration::hours(12)),
            ("45m", now() - Duration::minutes(45)),
            ("2w", now() - Duration::days(14)),
        ];
        for (value, expected) in cases {
            assert_eq!(parse_time_at(value, now()), Ok(expected), "{value}");
        }
    }

    #[test]
    fn time_bounds_reject_other_forms() {
        for value in [
            "yesterday",
            "1",
            "30x",
            "d",
            "2026-13-01",
            "99999999999999999999d",
            "",
        ] {
            assert!(parse_time_at(value, now()).is_err(), "{value}");
        }
    }

    #[test]
    fn invalid_flag_values_exit_2_naming_flag_and_form() {
        let cases = [
            (vec!["--tree-root", "agent-sessions"], "--tree-root"),
            (vec!["--tree-root", "a..b"], "--tree-root"),
            (vec!["--sessions-node-name", "A"], "--sessions-node-name"),
            (vec!["--since", "soon"], "--since"),
            (vec!["--schema", "x; drop"], "--schema"),
        ];
        for (flags, flag) in cases {
            let mut argv = vec!["memtree", "claude", "import"];
            argv.extend(flags.iter().copied());
            let err = Cli::try_parse_from(&argv).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{argv:?}");
            let text = err.to_string();
            assert!(text.contains(flag) && text.contains(flags[1]), "{text}");
        }
    }

    #[test]
    fn both_spellings_of_import_parse_for_every_source() {
        for source in SOURCES {
            let cli = Cli::try_parse_from(["memtree", "import", source.name(), "--dry-run"]).unwrap();
            assert!(
                matches!(cli.command, Command::Import { source: parsed, ref args } if parsed.name() == source.name() && args.dry_run),
                "{}",
                source.name()
            );
            let cli = Cli::try_parse_from(["memtree", source.name(), "import", "--json"]).unwrap();
            assert!(cli.global.json);
            assert!(
                matches!(cli.command, Command::Import { source: parsed, .. } if parsed.name() == source.name())
            );
        }
        let err = Cli::try_parse_from(["memtree", "import", "notatool"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("notatool"), "{err}");
    }

    #[test]
    fn watch_takes_tools_both_ways_and_refuses_what_it_cannot_do() {
        let parsed = |argv: &[&str]| match Cli::try_parse_from(argv).unwrap().command {
            Command::Watch { sources, args, watch } => (sources, args, watch),
            other => panic!("{argv:?} parsed as {other:?}"),
        };
        let (sources, _, watch) = parsed(&["memtree", "watch", "claude", "codex", "--poll", "5"]);
        let names: Vec<&str> = sources.iter().map(|source| source.name()).collect();
        assert_eq!(names, ["claude", "codex"]);
        assert_eq!(watch.poll, Some(StdDuration::from_secs(5)));
        assert_eq!(watch.debounce, StdDuration::from_millis(300));
        let (sources, _, _) = parsed(&["memtree", "gemini", "watch"]);
        assert_eq!(sources.len(), 1);

        let env = env::fake(&[("HOME", "/h")]);
        let cwd = Path::new("/w");
        let (sources, args, watch) = parsed(&["memtree", "watch"]);
        let settings = watch.resolve(&sources, &args, &env, cwd).unwrap();
        assert_eq!(settings.imports.len(), SOURCES.len(), "no tool named: every tool");
        for (argv, flag) in [
            (&["memtree", "watch", "claude", "--dry-run"][..], "--dry-run"),
            (&["memtree", "watch", "--source", "/x"][..], "--source"),
        ] {
            let (sources, args, watch) = parsed(argv);
            let error = watch.resolve(&sources, &args, &env, cwd).unwrap_err();
            assert!(error.to_string().contains(flag), "{error}");
        }
        let err = Cli::try_parse_from(["memtree", "watch", "--poll", "0"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("--poll"), "{err}");
    }

    #[test]
    fn tool_names_are_unique_lowercase_and_not_other_commands() {
        let mut names: Vec<&str> = SOURCES.iter().map(|source| source.name()).collect();
        for name in &names {
            assert!(
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit()),
                "{name}"
            );
            assert!(!COMMANDS.contains(name) && *name != "help", "{name}");
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), SOURCES.len());
    }

    #[test]
    fn every_command_keeps_its_own_description() {
        use clap::CommandFactory;
        let cli = Cli::command();
        let about = |path: &[&str]| {
            let mut command = &cli;
            for name in path {
                command = command.find_subcommand(name).unwrap();
            }
            command
                .get_about()
                .map(|about| about.to_string())
                .unwrap_or_default()
        };
        assert!(about(&["import"]).starts_with("Import the sessions of every tool found here"));
        assert!(about(&["search"]).starts_with("Search the store"));
        assert!(about(&["status"]).starts_with("What the store holds"));
        assert!(about(&["watch"]).starts_with("Import sessions whenever they change"));
        assert!(about(&["claude", "import"]).starts_with("Import this tool's sessions into"));
        assert!(about(&["claude", "watch"]).starts_with("Import this tool's sessions whenever"));
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
