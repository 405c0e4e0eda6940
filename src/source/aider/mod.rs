//! Aider chat histories (formats-more-tools.md section 3): `.aider.chat.history.md` in a
//! project's root (the git repository's, where Aider writes it by default), one file appended to
//! by every launch.
//!
//! Discovery finds the files in project directories (`source::walk`: at and below the
//! `--project` directory, else in a bounded, pruned search of the home directory); a file given
//! by `--source` is read whatever its name (`--chat-history-file`).
//!
//! Each `# aider chat started at <local time>` launch is a session; `####` lines are the user's
//! prompts (interface commands such as `/add` are not), `>` lines interface output (the version
//! and model lines are facts, the rest is dropped), the rest the assistant's answers (a
//! reasoning model's thinking is a block of its own). `lines` tells the kinds apart.
//!
//! Ids are synthetic and stay what they are as the file grows: a session is its launch's header
//! time (`2025-12-03T14:43:45`, `-2` for a second launch started in the same second), a message
//! its first line counted from the header. Times are local times read in this machine's zone: a
//! launch starts at its header's time, a prompt takes the time it was typed from
//! `.aider.input.history` when it is found there (`history`), and an answer takes its prompt's;
//! `time_origin` says which were used. The cwd is the file's directory.
//!
//! The file is read line by line in bounded memory (a line or a message is cut at the row's
//! size), decoded lossily (Aider writes in the user's encoding and drops what it cannot encode);
//! a line holding a NUL byte is not text and is reported malformed. A read is checkpointed at the
//! start of the message still open at its end (`launch`), and a file whose messages pass the
//! budget is read again in parts, one launch's bytes at a time.

mod history;
mod launch;
mod lines;
mod text;

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::env::{home_dir, EnvLookup, Variable};
use crate::limits::READ_BUFFER;
use crate::model::{Diagnostic, FileStats, Message, Session, Tool};
use crate::scope::ProjectScope;
use crate::source::parts::{OutlinedSession, PartBudget, Reread};
use crate::source::resume::{self, ResumeRequest};
use crate::source::walk::find_in_projects;
use crate::source::{open_listed_file, Candidate, Discovery, ParseOutcome, Source, TranscriptParser, Unit};

use launch::{Holding, Reader, State};

/// Aider: one Markdown chat history per project.
pub struct Aider;

pub(super) const TOOL: Tool = Tool::named("aider");

/// The chat history's default name (`--chat-history-file`).
const CHAT_HISTORY: &str = ".aider.chat.history.md";

/// How the cwd was found (`SessionFacts::cwd_origin`): the directory holding the file.
const CWD_ORIGIN: &str = "history_file_dir";

impl Source for Aider {
    fn tool(&self) -> Tool {
        TOOL
    }

    fn about(&self) -> &'static str {
        "Aider chat histories (.aider.chat.history.md in project directories under ~)"
    }

    fn layout(&self) -> &'static str {
        "a project directory (or a directory above projects) holding `.aider.chat.history.md`"
    }

    fn variables(&self) -> &'static [Variable] {
        &[]
    }

    /// The home directory, searched as `source::walk` says.
    fn default_roots(&self, env: EnvLookup<'_>) -> Vec<PathBuf> {
        home_dir(env).into_iter().collect()
    }

    fn discover(&self, roots: &[PathBuf], scope: Option<&ProjectScope>) -> Discovery {
        find_in_projects(roots, scope, |path, is_dir| {
            (!is_dir && path.file_name().is_some_and(|name| name == CHAT_HISTORY)).then(|| path.to_path_buf())
        })
    }

    fn unit(&self) -> Unit<'_> {
        Unit::Transcript(self)
    }
}

impl TranscriptParser for Aider {
    fn parse(&self, candidate: &Candidate, resume: ResumeRequest<'_>, budget: PartBudget) -> ParseOutcome {
        parse(candidate, resume, budget)
    }

    fn read_parts(
        &self,
        candidate: &Candidate,
        outlined: &OutlinedSession,
        budget: u64,
        emit: &mut dyn FnMut(Session),
    ) -> io::Result<()> {
        read_parts(candidate, outlined, budget, emit)
    }
}

/// An outlined launch (its own bytes are what pass 2 reads): whether they end the file.
struct OutlinedLaunch {
    last: bool,
}

fn parse(candidate: &Candidate, resume: ResumeRequest<'_>, budget: PartBudget) -> ParseOutcome {
    let path = candidate.path.as_path();
    let mut outcome = ParseOutcome::default();
    let Some(mut file) = open_listed_file(path, &mut outcome.diagnostics) else {
        return outcome;
    };
    let (start, carried) = match resume::begin::<State>(&mut file, resume) {
        Ok(begun) => begun,
        Err(error) => {
            outcome.diagnostics.push(Diagnostic::unreadable(path, error));
            return outcome;
        }
    };
    outcome.resume = start.outcome;
    let (from, lines_before) = match start.outcome {
        crate::model::ResumeOutcome::Resumed { at } => (at, start.lines_before()),
        _ => (0, 0),
    };
    let mut reader = Reader::new(
        path,
        carried,
        from,
        lines_before,
        file_time(&file),
        Holding::Whole(budget),
    );
    if let Err(error) = read_lines(&mut file, &mut reader) {
        outcome.diagnostics.push(Diagnostic::unreadable(path, error));
    }
    outcome.stats = reader.stats;
    outcome.diagnostics.append(&mut reader.take_diagnostics());
    let consumed = reader.offset();
    let (finished, mark) = reader.finish(true);
    let state = resume
        .checkpoint_wanted
        .then(|| serde_json::to_string(&mark.state).ok())
        .flatten();
    let settled = FileStats {
        bytes: mark.offset - from,
        lines: mark.lines - lines_before,
        ..FileStats::default()
    };
    outcome.checkpoint = start.finish(&mut file, &settled, state);
    for launch in finished {
        let Some(tally) = launch.counted else {
            outcome.sessions.push(launch.session);
            continue;
        };
        let state = serde_json::to_string(&launch.state).ok();
        let of = OutlinedLaunch {
            last: launch.until == consumed,
        };
        match Reread::new(&file, launch.from, launch.lines_before, launch.until, state, of) {
            Ok(reread) => outcome.outlined.push(OutlinedSession {
                session: launch.session,
                tally,
                reread,
            }),
            Err(error) => outcome.diagnostics.push(Diagnostic::unreadable(path, error)),
        }
    }
    outcome
}

/// Pass 2 of an outlined launch: reads its bytes again from the state its read began in and
/// hands its messages to `emit` in parts of about `budget` bytes of text.
fn read_parts(
    candidate: &Candidate,
    outlined: &OutlinedSession,
    budget: u64,
    emit: &mut dyn FnMut(Session),
) -> io::Result<()> {
    let reread = &outlined.reread;
    let Some(&OutlinedLaunch { last }) = reread.of::<OutlinedLaunch>() else {
        return Ok(());
    };
    let state = match reread.state.as_deref() {
        Some(state) => Some(serde_json::from_str::<State>(state).map_err(io::Error::other)?),
        None => None,
    };
    let mut emit_part = |messages: Vec<Message>| emit(outlined.part(messages));
    let holding = Holding::Parts {
        budget,
        emit: &mut emit_part,
    };
    let mut reader = Reader::new(&candidate.path, state, 0, reread.lines_before, None, holding);
    read_lines(reread.reader()?, &mut reader)?;
    reader.finish(last);
    Ok(())
}

/// Feeds every line of `input` to `reader`, up to a last line still being written.
fn read_lines(input: impl Read, reader: &mut Reader<'_>) -> io::Result<()> {
    let mut input = BufReader::with_capacity(READ_BUFFER, input);
    let mut buf = Vec::new();
    while let Some(raw) = lines::read_line(&mut input, &mut buf)? {
        crate::failpoint::hit("parse.line");
        if !reader.push(&raw, &buf) {
            break;
        }
    }
    Ok(())
}

/// The file's creation time, else its modification time: when a launch without a readable
/// header started.
fn file_time(file: &File) -> Option<DateTime<Utc>> {
    let meta = file.metadata().ok()?;
    let time = meta.created().or_else(|_| meta.modified()).ok()?;
    Some(DateTime::<Utc>::from(time))
}
