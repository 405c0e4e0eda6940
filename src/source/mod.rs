//! Source formats: where each agent tool keeps its sessions, and how to read them.
//!
//! Each tool is one module implementing [`Source`], registered once in [`SOURCES`]; nothing else
//! in memtree names a tool. Parsers read files and return data: they never touch the database,
//! never fail on bad content (it becomes a [`Diagnostic`]) and return sessions with noise already
//! removed.

pub mod json_string;
pub mod jsonl;
pub mod parts;
mod prompt_log;
pub mod resume;
mod retention;
pub mod salvage;
mod sqlite;
pub mod timestamp;
mod title;
mod visit;
mod walk;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::env::{EnvLookup, Variable};
use crate::model::{Checkpoint, Diagnostic, FileStats, KnownRevisions, ResumeOutcome, Session, Tool};
use crate::scope::{MessageTally, ProjectScope};
use parts::Reread;
pub use parts::{OutlinedSession, PartBudget};
pub use resume::ResumeRequest;
pub use retention::Retention;
pub use salvage::Salvage;

// One module per tool, each listed once in `SOURCES` below. Plain `mod` items, so rustfmt and
// every other tool that follows them reach the sources.
pub mod aider;
pub mod claude;
pub mod cline;
pub mod codex;
pub mod copilot;
pub mod crush;
pub mod cursor;
pub mod gemini;
pub mod opencode;
pub mod qwen;

/// Every tool memtree reads, in the order commands list them. The only registry: the command
/// line, the import, the tests and the benchmark all take their tools from here.
pub static SOURCES: &[&dyn Source] = &[
    &claude::Claude,
    &codex::Codex,
    &opencode::OpenCode,
    &gemini::Gemini,
    &cursor::Cursor,
    &copilot::Copilot,
    &qwen::Qwen,
    &aider::Aider,
    &crush::Crush,
    &cline::Cline,
];

/// One agent tool's sessions on disk: where they are, and how to read them.
pub trait Source: Sync {
    /// The tool's name: its subcommand, `meta.source_tool`, and part of every memory id, so it is
    /// never renamed. Lower-case ASCII letters and digits.
    fn tool(&self) -> Tool;

    /// One line for `memtree --help`: the tool, and where it keeps its sessions.
    fn about(&self) -> &'static str;

    /// Where the tool keeps its sessions, for messages that tell the user what to point memtree at.
    fn layout(&self) -> &'static str;

    /// The environment variables [`Source::default_roots`] reads besides `HOME`.
    fn variables(&self) -> &'static [Variable];

    /// The roots the tool keeps its sessions in when `--source` is not given.
    fn default_roots(&self, env: EnvLookup<'_>) -> Vec<PathBuf>;

    /// Lists the candidates under `roots` in a stable order, skipping whatever cannot match
    /// `scope` when that can be told without parsing.
    fn discover(&self, roots: &[PathBuf], scope: Option<&ProjectScope>) -> Discovery;

    /// What one candidate is, and how it is read.
    fn unit(&self) -> Unit<'_>;

    /// How long the tool keeps a session file after its last change before deleting it on its
    /// own, by the user's settings and the tool's defaults; `None` for a tool that keeps them.
    fn retention(&self, _env: EnvLookup<'_>) -> Option<Retention> {
        None
    }

    /// What the tool keeps of its sessions' prompts after deleting their transcripts (Claude
    /// Code's `history.jsonl`, Gemini CLI's `logs.json`), read when the run salvages
    /// (`--salvage`, the default); `None` for a tool that keeps nothing of the kind.
    fn salvage(&self) -> Option<&dyn Salvage> {
        None
    }
}

/// What one candidate of a source is: this decides how the import reads it and what its ledger
/// records.
#[derive(Clone, Copy)]
pub enum Unit<'s> {
    /// A transcript file of one or two sessions that the tool only appends to: recorded in the
    /// file ledger by size, time and inode, read on from a checkpoint when it grew, and read in
    /// parts when its messages are too many to hold.
    Transcript(&'s dyn TranscriptParser),
    /// A store of any number of sessions (a database, a tree of files) whose file state does not
    /// say which changed: streamed session by session, and recorded per session by revision.
    Store(&'s dyn StoreReader),
}

/// Reads a transcript file ([`Unit::Transcript`]).
pub trait TranscriptParser: Sync {
    /// Parses one candidate into its sessions, read on from `resume`'s checkpoint when the file's
    /// prefix is unchanged (and taking the next one if asked, see [`resume`]). Once the messages
    /// held pass `budget`, its sessions come out outlined ([`ParseOutcome::outlined`]), to be read
    /// again with [`TranscriptParser::read_parts`]. Never panics on bad content and never fails:
    /// unreadable input is a diagnostic in the outcome.
    fn parse(&self, candidate: &Candidate, resume: ResumeRequest<'_>, budget: PartBudget) -> ParseOutcome;

    /// Pass 2 of a session [`TranscriptParser::parse`] outlined (see [`parts`]): reads its
    /// messages again, only the bytes the outlining parsed and through the file it opened, and
    /// hands them to `emit` in order, in parts of about `budget` bytes of text, each a session
    /// with the outline's facts. Diagnostics were reported by pass 1 and are not repeated.
    fn read_parts(
        &self,
        candidate: &Candidate,
        outlined: &OutlinedSession,
        budget: u64,
        emit: &mut dyn FnMut(Session),
    ) -> io::Result<()>;
}

/// Reads a store of many sessions ([`Unit::Store`]).
pub trait StoreReader: Sync {
    /// Reads every session of the store and hands each to `emit` as soon as it is read, so memory
    /// follows one session, not the store. Sessions whose revision is in `known` are counted as
    /// unchanged and not read. The outcome carries no sessions.
    fn read(
        &self,
        candidate: &Candidate,
        known: &KnownRevisions,
        emit: &mut dyn FnMut(Session),
    ) -> ParseOutcome;
}

impl dyn Source + '_ {
    /// The tool's name ([`Source::tool`]).
    pub fn name(&self) -> &'static str {
        self.tool().as_str()
    }

    /// Reads one candidate whole, whatever its unit: every session, nothing known, no checkpoint,
    /// no budget. A store's sessions are listed in the order they started.
    pub fn parse(&self, candidate: &Candidate) -> ParseOutcome {
        match self.unit() {
            Unit::Transcript(parser) => {
                parser.parse(candidate, ResumeRequest::default(), PartBudget::unbounded())
            }
            Unit::Store(reader) => {
                let mut sessions = Vec::new();
                let mut outcome = reader.read(candidate, &KnownRevisions::new(), &mut |session| {
                    sessions.push(session)
                });
                sessions.sort_by(|a, b| (a.facts.started_at, &a.id).cmp(&(b.facts.started_at, &b.id)));
                outcome.sessions = sessions;
                outcome
            }
        }
    }
}

impl fmt::Debug for dyn Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The source named `name`, if memtree reads that tool.
pub fn named(name: &str) -> Option<&'static dyn Source> {
    SOURCES.iter().copied().find(|source| source.name() == name)
}

impl dyn TranscriptParser + '_ {
    /// [`TranscriptParser::read_parts`], checked: a failure to read the parts again, or parts
    /// that do not add up to the outline (the file was rewritten meanwhile), is the one
    /// diagnostic returned; the parts emitted before it stand.
    pub fn reread(
        &self,
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
        let read = self.read_parts(candidate, outlined, budget, &mut counting);
        let expected = outlined.tally.messages();
        match read {
            Err(err) => Some(Diagnostic::unreadable(&candidate.path, err)),
            Ok(()) if read_again != expected => Some(Diagnostic::unreadable(
                &candidate.path,
                format_args!(
                    "it changed while it was read: {read_again} of its {expected} messages read again"
                ),
            )),
            Ok(()) => None,
        }
    }
}

/// Every environment variable the sources read, beside memtree's own ([`crate::env::VARIABLES`]).
pub fn variables() -> impl Iterator<Item = &'static Variable> {
    SOURCES.iter().flat_map(|source| source.variables())
}

/// A message's own cwd or model: `None` when it is the session's, which the planner gives every
/// message without one of its own (see [`crate::model::Message`]). Every message of a transcript
/// usually repeats its session's; leaving those out saves a copy per message.
pub(crate) fn own_fact(value: Option<&str>, session_value: Option<&str>) -> Option<String> {
    value
        .filter(|value| session_value != Some(*value))
        .map(str::to_owned)
}

/// One unit of input found by discovery: a transcript file, or a store such as `opencode.db`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub path: PathBuf,
    /// Further roots read together with `path` as one unit, because the tool keeps one session
    /// in several of them and only a read of all can tell which copy to take (Cursor's
    /// `~/.cursor` and its user directory). Empty for every other source.
    pub also: Vec<PathBuf>,
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

/// Everything one read of a candidate (a file, or a store) yielded.
#[derive(Debug, Default)]
pub struct ParseOutcome {
    pub sessions: Vec<Session>,
    /// Sessions not read because their revision is in the [`KnownRevisions`] given.
    pub unchanged_sessions: u64,
    pub diagnostics: Vec<Diagnostic>,
    /// Counts what this read parsed: after the checkpoint only, when it read on from one.
    pub stats: FileStats,
    /// Whether the read went on from a checkpoint.
    pub resume: ResumeOutcome,
    /// Where the next read can go on from, when one was asked for and the parser can.
    pub checkpoint: Option<Checkpoint>,
    /// Sessions whose messages passed the read's budget, each holding its open file to be read
    /// again in parts ([`TranscriptParser::read_parts`]). Their file's stats, diagnostics and
    /// checkpoint are in this outcome.
    pub outlined: Vec<OutlinedSession>,
}

impl ParseOutcome {
    /// Bytes of complete lines from the file's start through this read.
    pub fn consumed(&self) -> u64 {
        self.resumed_at() + self.stats.bytes
    }

    /// Where in the file this read began: a checkpoint's offset, or 0.
    pub fn resumed_at(&self) -> u64 {
        match self.resume {
            ResumeOutcome::Resumed { at } => at,
            _ => 0,
        }
    }

    /// Adds `session` as outlined, its messages to be read again through `reread`; when the file
    /// at `path` could not be opened again for that, the session is left out and the failure is
    /// an `Unreadable` diagnostic.
    pub(crate) fn push_outlined(
        &mut self,
        path: &Path,
        session: Session,
        tally: MessageTally,
        reread: io::Result<Reread>,
    ) {
        match reread {
            Ok(reread) => self.outlined.push(OutlinedSession {
                session,
                tally,
                reread,
            }),
            Err(err) => self.diagnostics.push(Diagnostic::unreadable(path, &err)),
        }
    }
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
