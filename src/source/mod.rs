//! Source formats: where each agent tool keeps its sessions, and how to read them.
//!
//! Each tool has one module exposing the same three functions (`default_roots`, `discover`,
//! `parse`); this module dispatches on [`Tool`]. Parsers read files and return data: they never
//! touch the database, never fail on bad content (it becomes a [`Diagnostic`]) and return
//! sessions with noise already removed.

pub mod claude;
pub mod codex;
pub mod json_string;
pub mod jsonl;
pub mod opencode;
pub mod parts;
pub mod resume;
pub mod timestamp;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::filter::ProjectScope;
use crate::model::{Diagnostic, KnownRevisions, ParseOutcome, Session, Tool};
pub use parts::{OutlinedSession, PartBudget, PART_BYTES};
pub use resume::ResumeRequest;

/// A message's own cwd or model: `None` when it is the session's, which the planner gives every
/// message without one of its own (see [`crate::model::Message`]). Every message of a transcript
/// usually repeats its session's; leaving those out saves a copy per message.
pub(crate) fn own_fact(value: Option<&str>, session_value: Option<&str>) -> Option<String> {
    value
        .filter(|value| session_value != Some(*value))
        .map(str::to_owned)
}

/// Reads one environment variable; injected so tests can fake the environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// One unit of input found by discovery: a transcript file, or a store such as `opencode.db`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub tool: Tool,
    pub path: PathBuf,
    /// Discovery already knows the unit holds sidechain sessions (Claude `subagents/` files).
    pub sidechain: bool,
}

/// What discovery found, and what it could not look into.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Candidates in a stable order (sorted by path within each root).
    pub candidates: Vec<Candidate>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The roots a tool keeps its sessions in when `--source` is not given.
pub fn default_roots(tool: Tool, env: EnvLookup<'_>) -> Vec<PathBuf> {
    match tool {
        Tool::Claude => claude::default_roots(env),
        Tool::Codex => codex::default_roots(env),
        Tool::OpenCode => opencode::default_roots(env),
    }
}

/// Lists the candidates under `roots`, skipping whatever cannot match `scope` when that can be
/// told without parsing.
pub fn discover(tool: Tool, roots: &[PathBuf], scope: Option<&ProjectScope>) -> Discovery {
    match tool {
        Tool::Claude => claude::discover(roots, scope),
        Tool::Codex => codex::discover(roots, scope),
        Tool::OpenCode => opencode::discover(roots, scope),
    }
}

/// Parses one candidate into sessions. Never panics on bad content and never returns an error:
/// unreadable input is a diagnostic in the outcome.
pub fn parse(candidate: &Candidate) -> ParseOutcome {
    parse_known(candidate, &KnownRevisions::new())
}

/// [`parse`], skipping the sessions of stores that keep per-session revisions (OpenCode) whose
/// revision is already `known`: they are counted, not read.
pub fn parse_known(candidate: &Candidate, known: &KnownRevisions) -> ParseOutcome {
    parse_resuming(candidate, known, ResumeRequest::default())
}

/// [`parse_known`], reading a transcript on from a checkpoint when its prefix is unchanged, and
/// taking the next one if asked (see [`resume`]). Stores and files that cannot be read on from
/// (compressed, single documents) ignore the request and are read whole.
pub fn parse_resuming(
    candidate: &Candidate,
    known: &KnownRevisions,
    resume: ResumeRequest<'_>,
) -> ParseOutcome {
    parse_within(candidate, known, resume, PartBudget::unbounded())
}

/// [`parse_resuming`], holding at most about `budget` of message text: a transcript with more
/// yields its sessions outlined (`ParseOutcome::outlined`), to be read in parts with
/// [`read_parts`] (see [`parts`]). Stores are read session by session ([`read_known`]) instead.
pub fn parse_within(
    candidate: &Candidate,
    known: &KnownRevisions,
    resume: ResumeRequest<'_>,
    budget: PartBudget,
) -> ParseOutcome {
    crate::failpoint::hit("parse.file");
    match candidate.tool {
        Tool::Claude => claude::parse(candidate, resume, budget),
        Tool::Codex => codex::parse(candidate, resume, budget),
        Tool::OpenCode => opencode::parse(candidate, known),
    }
}

/// Reads the messages of a session [`parse_within`] outlined, and hands them to `emit` in parts
/// of about `budget` bytes of text, in order, each a session with the outline's facts. Only the
/// bytes the outlining read parsed are read, through the file it opened. A failure to read them
/// again, or parts that do not add up to the outline (the file was rewritten meanwhile), is the
/// one diagnostic returned (the rest of the file's diagnostics came with the outline); the parts
/// emitted before it stand.
pub fn read_parts(
    candidate: &Candidate,
    outlined: &OutlinedSession,
    budget: u64,
    emit: &mut dyn FnMut(Session),
) -> Option<Diagnostic> {
    let mut read_again = 0;
    let mut counting = |part: Session| {
        read_again += part.messages.len() as u64;
        emit(part);
    };
    let read = match candidate.tool {
        Tool::Claude => claude::read_parts(candidate, outlined, budget, &mut counting),
        Tool::Codex => codex::read_parts(candidate, outlined, budget, &mut counting),
        Tool::OpenCode => Ok(()),
    };
    let expected = outlined.tally.messages();
    match read {
        Err(err) => Some(Diagnostic::unreadable(&candidate.path, err)),
        Ok(()) if read_again != expected => Some(Diagnostic::unreadable(
            &candidate.path,
            format_args!("it changed while it was read: {read_again} of its {expected} messages read again"),
        )),
        Ok(()) => None,
    }
}

/// Where the tool keeps its sessions, for messages that tell the user what to point memtree at.
pub fn layout(tool: Tool) -> &'static str {
    match tool {
        Tool::Claude => "`~/.claude` or `~/.claude/projects`, holding `<project>/<session>.jsonl`",
        Tool::Codex => "`~/.codex` or `~/.codex/sessions`, holding `YYYY/MM/DD/rollout-*.jsonl`",
        Tool::OpenCode => "`~/.local/share/opencode`, holding `opencode.db` or `storage/`",
    }
}

/// Whether one candidate of this tool can hold any number of sessions (a store, not a
/// transcript): such a candidate is read with [`read_known`], session by session.
pub fn holds_many_sessions(tool: Tool) -> bool {
    tool == Tool::OpenCode
}

/// [`parse_known`] for a store of many sessions: each session goes to `emit` as soon as it is
/// read, so memory follows one session, not the store. The outcome carries no sessions.
pub fn read_known(
    candidate: &Candidate,
    known: &KnownRevisions,
    emit: &mut dyn FnMut(Session),
) -> ParseOutcome {
    if !holds_many_sessions(candidate.tool) {
        let mut outcome = parse_known(candidate, known);
        outcome.sessions.drain(..).for_each(emit);
        return outcome;
    }
    crate::failpoint::hit("parse.file");
    opencode::read(candidate, known, emit)
}

/// Opens a file listed by discovery. One that vanished since is a `vanished` warning, any other
/// failure an `Unreadable` diagnostic naming it; either way there is nothing to read.
pub(crate) fn open_listed_file(path: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<std::fs::File> {
    match std::fs::File::open(path) {
        Ok(file) => Some(file),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            diagnostics.push(Diagnostic::vanished(path));
            None
        }
        Err(err) => {
            diagnostics.push(Diagnostic::unreadable(path, err));
            None
        }
    }
}

/// The home directory, from `HOME`.
pub(crate) fn home_dir(env: EnvLookup<'_>) -> Option<PathBuf> {
    env("HOME").filter(|home| !home.is_empty()).map(PathBuf::from)
}

/// An environment variable that is set to a non-empty value, as a path.
pub(crate) fn env_path(env: EnvLookup<'_>, name: &str) -> Option<PathBuf> {
    env(name).filter(|value| !value.is_empty()).map(PathBuf::from)
}

/// An environment holding exactly `vars`, for tests of environment-dependent defaults.
#[cfg(test)]
pub(crate) fn fake_env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let vars: std::collections::HashMap<String, OsString> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), OsString::from(value)))
        .collect();
    move |name| vars.get(name).cloned()
}
