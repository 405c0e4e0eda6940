//! Codex CLI sessions: where rollouts live (`$CODEX_HOME/sessions`, `…/archived_sessions`), which
//! files are rollouts, and reading one into a [`Session`].
//!
//! A rollout is `rollout-<local time>-<uuid>.jsonl`, its zstd-compressed `.jsonl.zst` form, or a
//! 2025 single-document `rollout-<date>-<uuid>.json` (formats.md section 2). One file is one
//! session; a file that only holds its `session_meta` is a session without messages. A plain
//! or compressed rollout whose messages pass the read's budget comes out outlined, and
//! `read_parts` reads its messages in parts (`source::parts`); documents are read whole.

mod document;
mod pending;
mod prompt;
mod record;
mod rollout;
mod session;

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};
use regex::Regex;
use walkdir::WalkDir;

use crate::env::{home_dir, EnvLookup, Variable};
use crate::limits::READ_BUFFER;
use crate::model::{Diagnostic, DiagnosticKind, FileStats, Session, Tool};
use crate::scope::ProjectScope;

use super::jsonl::read_records;
use super::parts::{OutlinedSession, PartBudget, Reread};
use super::resume::{self, ResumeRequest};
use super::{open_listed_file, Candidate, Discovery, ParseOutcome, Source, TranscriptParser, Unit};
use record::RolloutLine;
use session::SessionBuilder;

/// Codex CLI: one rollout file per session, plain, compressed or a whole JSON document.
pub struct Codex;

/// The tool whose sessions these are.
pub(super) const TOOL: Tool = Tool::named("codex");

const CODEX_HOME: Variable = Variable::setting(
    "CODEX_HOME",
    "Codex CLI's home (sessions in `sessions/` and `archived_sessions/`; default `~/.codex`)",
);

impl Source for Codex {
    fn tool(&self) -> Tool {
        TOOL
    }

    fn about(&self) -> &'static str {
        "Codex CLI sessions (~/.codex/sessions and archived_sessions)"
    }

    fn layout(&self) -> &'static str {
        "`~/.codex` or `~/.codex/sessions`, holding `YYYY/MM/DD/rollout-*.jsonl`"
    }

    fn variables(&self) -> &'static [Variable] {
        &[CODEX_HOME]
    }

    fn default_roots(&self, env: EnvLookup<'_>) -> Vec<PathBuf> {
        default_roots(env)
    }

    /// Codex folders are date-sharded, so `--project` cannot prune.
    fn discover(&self, roots: &[PathBuf], _scope: Option<&ProjectScope>) -> Discovery {
        discover(roots)
    }

    fn unit(&self) -> Unit<'_> {
        Unit::Transcript(self)
    }
}

impl TranscriptParser for Codex {
    /// Reads one rollout into one session. An unreadable file yields only a diagnostic. A JSONL
    /// rollout, plain or compressed, is outlined once its messages pass `budget`; a plain one is
    /// read on from a checkpoint when asked. Compressed rollouts are rewritten as a whole by Codex,
    /// so they are never read on from a checkpoint; documents are always read whole.
    fn parse(&self, candidate: &Candidate, resume: ResumeRequest<'_>, budget: PartBudget) -> ParseOutcome {
        let path = &candidate.path;
        let mut outcome = ParseOutcome::default();
        let name = file_name(path).unwrap_or_default();
        let Some(mut file) = open_listed_file(path, &mut outcome.diagnostics) else {
            return outcome;
        };
        let mut builder = SessionBuilder::default();
        let mut lines_before = 0;
        let container = Container::of(name).unwrap_or(Container::Jsonl);
        let read = match container {
            Container::Jsonl => match resume::begin::<SessionBuilder>(&mut file, resume) {
                Ok((start, carried)) => {
                    outcome.resume = start.outcome;
                    if let Some(carried) = carried {
                        builder = carried.resumed();
                    }
                    builder = builder.within(budget);
                    let mut reader = BufReader::with_capacity(READ_BUFFER, &mut file);
                    let read = read_rollout(
                        &mut reader,
                        path,
                        &mut builder,
                        &mut outcome.diagnostics,
                        start.lines_before(),
                    );
                    drop(reader);
                    start.renumber(&mut outcome.diagnostics);
                    lines_before = start.lines_before();
                    if let Ok(stats) = &read {
                        let state = resume
                            .checkpoint_wanted
                            .then(|| builder.checkpoint_state())
                            .flatten();
                        outcome.checkpoint = start.finish(&mut file, stats, state);
                    }
                    read
                }
                Err(err) => Err(err),
            },
            Container::JsonlZst => zstd::stream::read::Decoder::new(&file).and_then(|decoder| {
                builder = SessionBuilder::default().within(budget);
                read_rollout(
                    BufReader::with_capacity(READ_BUFFER, decoder),
                    path,
                    &mut builder,
                    &mut outcome.diagnostics,
                    0,
                )
            }),
            Container::Document => read_document(&file, path, &mut builder, &mut outcome.diagnostics),
        };
        match read {
            Ok(stats) => outcome.stats = stats,
            Err(err) => outcome.diagnostics.push(Diagnostic::unreadable(path, &err)),
        }
        let (fallback_id, fallback_start) = names_of(name);
        let source_file = path.to_string_lossy().into_owned();
        let user_items_kept = builder.user_items_kept();
        match builder.finish(source_file, fallback_id, fallback_start) {
            None => {}
            Some((session, None)) => outcome.sessions.push(session),
            Some((session, Some(tally))) => {
                // Pass 2 starts where this read did, from the same state.
                let from = outcome.resumed_at();
                let state = resume
                    .from
                    .filter(|_| from > 0)
                    .map(|checkpoint| checkpoint.state.clone());
                let of = UserItems {
                    kept: user_items_kept,
                };
                let reread =
                    Reread::new(&file, from, lines_before, outcome.consumed(), state, of).map(|reread| {
                        match container {
                            Container::JsonlZst => reread.compressed(),
                            _ => reread,
                        }
                    });
                outcome.push_outlined(path, session, tally, reread);
            }
        }
        outcome
    }

    fn read_parts(
        &self,
        candidate: &Candidate,
        outlined: &OutlinedSession,
        budget: u64,
        emit: &mut dyn FnMut(Session),
    ) -> io::Result<()> {
        let reread = &outlined.reread;
        let Some(&UserItems {
            kept: user_items_kept,
        }) = reread.of::<UserItems>()
        else {
            return Ok(());
        };
        let mut builder = match reread.state.as_deref() {
            Some(state) => serde_json::from_str::<SessionBuilder>(state)
                .map_err(io::Error::other)?
                .resumed(),
            None => SessionBuilder::default(),
        };
        let start = outlined.session.facts.started_at.unwrap_or(DateTime::UNIX_EPOCH);
        let mut emit_part = |builder: &mut SessionBuilder| {
            let messages = builder.take_part(user_items_kept, start);
            if !messages.is_empty() {
                emit(outlined.part(messages));
            }
        };
        let mut repeated_diagnostics = Vec::new();
        read_records::<_, RolloutLine>(
            reread.reader()?,
            &candidate.path,
            &mut repeated_diagnostics,
            |line, record| {
                rollout::observe_line(&mut builder, reread.lines_before + line, &record);
                if builder.held_bytes() >= budget {
                    emit_part(&mut builder);
                }
            },
        )?;
        emit_part(&mut builder);
        Ok(())
    }
}

/// Whether an outlined rollout's user response items are kept: it has no `user_message` events
/// (formats.md 2.4), which only its end tells.
struct UserItems {
    kept: bool,
}

/// `rollout-<YYYY-MM-DD[Thh-mm-ss]>-<uuid>.<ext>`: the start (machine-local time) and session id.
static ROLLOUT_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^rollout-(\d{4}-\d{2}-\d{2}(?:T\d{2}-\d{2}-\d{2})?)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.",
    )
    .expect("the rollout name pattern is valid")
});

/// How a rollout file is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Container {
    Jsonl,
    JsonlZst,
    Document,
}

impl Container {
    fn of(name: &str) -> Option<Container> {
        if name.ends_with(".jsonl") {
            Some(Container::Jsonl)
        } else if name.ends_with(".jsonl.zst") {
            Some(Container::JsonlZst)
        } else if name.ends_with(".json") {
            Some(Container::Document)
        } else {
            None
        }
    }
}

/// `$CODEX_HOME/sessions` and `$CODEX_HOME/archived_sessions`; `CODEX_HOME` defaults to `~/.codex`.
fn default_roots(env: EnvLookup<'_>) -> Vec<PathBuf> {
    let Some(codex_home) = CODEX_HOME
        .path(env)
        .or_else(|| home_dir(env).map(|home| home.join(".codex")))
    else {
        return Vec::new();
    };
    vec![codex_home.join("sessions"), codex_home.join("archived_sessions")]
}

/// Every rollout under `roots` (recursively; symlinked directories are not followed, symlinked
/// rollouts are read), sorted by path within each root. A root may also be a single file. A root
/// that does not exist is skipped: a fresh Codex home has no `archived_sessions`. Codex folders
/// are date-sharded, so `--project` cannot prune.
fn discover(roots: &[PathBuf]) -> Discovery {
    let mut discovery = Discovery::default();
    let mut seen = HashSet::new();
    for root in roots {
        let mut found = Vec::new();
        match std::fs::metadata(root) {
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => discovery.diagnostics.push(Diagnostic::unreadable(root, &err)),
            Ok(meta) if meta.is_file() => {
                if file_name(root).and_then(Container::of).is_some() {
                    found.push(root.clone());
                }
            }
            Ok(_) => walk(root, &mut found, &mut discovery.diagnostics),
        }
        found.sort();
        let present: HashSet<PathBuf> = found.iter().cloned().collect();
        for path in found {
            // Codex keeps the plain file when both exist (codex-rs/rollout/src/compression.rs).
            let shadowed =
                path.extension() == Some(OsStr::new("zst")) && present.contains(&path.with_extension(""));
            if !shadowed && seen.insert(path.clone()) {
                discovery.candidates.push(Candidate {
                    path,
                    also: Vec::new(),
                    sidechain: false,
                });
            }
        }
    }
    discovery
}

fn walk(root: &Path, found: &mut Vec<PathBuf>, diagnostics: &mut Vec<Diagnostic>) {
    for entry in WalkDir::new(root).follow_links(false).sort_by_file_name() {
        match entry {
            Ok(entry) => {
                let name = entry.file_name().to_str().unwrap_or_default();
                if !name.starts_with("rollout-") || Container::of(name).is_none() {
                    continue;
                }
                if entry.file_type().is_file() {
                    found.push(entry.into_path());
                } else if entry.path_is_symlink() {
                    // A symlinked rollout is read (a file symlink cannot loop the walk); one that
                    // does not resolve (dangling, a loop) is reported rather than skipped unseen.
                    match std::fs::metadata(entry.path()) {
                        Ok(meta) if meta.is_file() => found.push(entry.into_path()),
                        Ok(_) => {}
                        Err(err) => diagnostics.push(Diagnostic::unreadable(entry.path(), &err)),
                    }
                }
            }
            Err(err) => {
                let path = err.path().unwrap_or(root).to_path_buf();
                diagnostics.push(Diagnostic::unreadable(&path, &err));
            }
        }
    }
}

/// Reads the lines of a rollout; `lines_before` were read by an earlier run (a checkpoint).
fn read_rollout(
    reader: impl io::BufRead,
    path: &Path,
    builder: &mut SessionBuilder,
    diagnostics: &mut Vec<Diagnostic>,
    lines_before: u64,
) -> io::Result<FileStats> {
    read_records::<_, RolloutLine>(reader, path, diagnostics, |line, record| {
        rollout::observe_line(builder, lines_before + line, &record)
    })
}

fn read_document(
    file: &File,
    path: &Path,
    builder: &mut SessionBuilder,
    diagnostics: &mut Vec<Diagnostic>,
) -> io::Result<FileStats> {
    let bytes = document::observe_document(builder, BufReader::new(file), path, diagnostics)?;
    Ok(FileStats {
        bytes,
        malformed_lines: diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.kind == DiagnosticKind::Malformed)
            .count() as u64,
        ..FileStats::default()
    })
}

/// The session id and start a rollout's file name gives (the id falls back to the name itself).
/// The name's time is the writing machine's local time, so it is read in this machine's zone: a
/// last resort for files without any record timestamp.
fn names_of(name: &str) -> (String, Option<DateTime<Utc>>) {
    match ROLLOUT_NAME.captures(name) {
        Some(captures) => {
            let start =
                naive_start(&captures[1]).and_then(|naive| Local.from_local_datetime(&naive).earliest());
            (
                captures[2].to_ascii_lowercase(),
                start.map(|start| start.to_utc()),
            )
        }
        None => (name.split('.').next().unwrap_or(name).to_owned(), None),
    }
}

fn naive_start(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H-%M-%S")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()?
                .and_hms_opt(0, 0, 0)
        })
}

fn file_name(path: &Path) -> Option<&str> {
    path.file_name()?.to_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    #[test]
    fn default_roots_use_codex_home_then_home() {
        let env = |name: &str| (name == "CODEX_HOME").then(|| OsString::from("/c"));
        assert_eq!(
            default_roots(&env),
            [
                PathBuf::from("/c/sessions"),
                PathBuf::from("/c/archived_sessions")
            ]
        );
        let env = |name: &str| match name {
            "HOME" => Some(OsString::from("/h")),
            "CODEX_HOME" => Some(OsString::new()),
            _ => None,
        };
        assert_eq!(default_roots(&env)[0], PathBuf::from("/h/.codex/sessions"));
        assert!(default_roots(&|_: &str| None).is_empty());
    }

    #[test]
    fn file_names_give_the_id_and_the_local_start() {
        let name = "rollout-2025-12-26T01-48-36-019B5669-8da8-7bc3-bed8-e1c1b805dad5.jsonl.zst";
        let (id, start) = names_of(name);
        assert_eq!(id, "019b5669-8da8-7bc3-bed8-e1c1b805dad5");
        assert!(start.is_some());
        assert_eq!(
            naive_start("2025-12-26T01-48-36"),
            NaiveDate::from_ymd_opt(2025, 12, 26).and_then(|date| date.and_hms_opt(1, 48, 36))
        );
        assert_eq!(
            naive_start("2025-08-23"),
            NaiveDate::from_ymd_opt(2025, 8, 23).and_then(|d| d.and_hms_opt(0, 0, 0))
        );
        assert_eq!(names_of("odd.jsonl"), ("odd".to_owned(), None));
    }

    #[test]
    fn containers_are_told_by_extension() {
        assert_eq!(Container::of("rollout-x.jsonl"), Some(Container::Jsonl));
        assert_eq!(Container::of("rollout-x.jsonl.zst"), Some(Container::JsonlZst));
        assert_eq!(Container::of("rollout-x.json"), Some(Container::Document));
        assert_eq!(Container::of("state_5.sqlite"), None);
        assert_eq!(Container::of("rollout-x.jsonl.tmp"), None);
    }
}
