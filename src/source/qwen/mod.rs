//! Qwen Code sessions (formats-more-tools.md section 5): discovery, and reading each chat file
//! into its session (and the sidechain of its subagents' records), and each older prompt log
//! into the sessions it holds prompts of. A chat file is only appended to: it is read on from a
//! checkpoint when it grew, and in parts when its messages pass the read's budget
//! (`source::parts`). A prompt log is rewritten whole: it is read whole.
//!
//! [`wire`] decodes the records, [`chat`] turns a chat file's records into sessions,
//! [`prompts`] reads a prompt log, [`discover`] lists both.

mod chat;
mod discover;
mod prompts;
mod wire;

use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use crate::env::{EnvLookup, Variable};
use crate::limits::READ_BUFFER;
use crate::model::{Diagnostic, Message, Session, SessionFacts, Tool};
use crate::scope::ProjectScope;
use crate::source::jsonl::read_records;
use crate::source::parts::{OutlinedSession, PartBudget, Reread};
use crate::source::resume::{self, ResumeRequest};
use crate::source::{open_listed_file, Candidate, Discovery, ParseOutcome, Source, TranscriptParser, Unit};

use crate::source::visit::Boxed;
use chat::{Builder, Carried, Holding, Thread};
use wire::ChatLine;

/// Qwen Code: one chat file per session, and the older per-project prompt logs.
pub struct Qwen;

const TOOL: Tool = Tool::named("qwen");

const QWEN_RUNTIME_DIR: Variable = Variable::setting(
    "QWEN_RUNTIME_DIR",
    "Qwen Code's runtime directory, which holds its sessions (`projects/*/chats`, `tmp/*/logs.json`; default `$QWEN_HOME`)",
);
const QWEN_HOME: Variable = Variable::setting(
    "QWEN_HOME",
    "Qwen Code's home, which holds its sessions unless `QWEN_RUNTIME_DIR` is set (default `~/.qwen`)",
);

impl Source for Qwen {
    fn tool(&self) -> Tool {
        TOOL
    }

    fn about(&self) -> &'static str {
        "Qwen Code sessions (~/.qwen/projects/*/chats, ~/.qwen/tmp/*/logs.json)"
    }

    fn layout(&self) -> &'static str {
        "`~/.qwen`, holding `projects/<project>/chats/<session>.jsonl` and `tmp/<project hash>/logs.json`"
    }

    fn variables(&self) -> &'static [Variable] {
        &[QWEN_RUNTIME_DIR, QWEN_HOME]
    }

    fn default_roots(&self, env: EnvLookup<'_>) -> Vec<PathBuf> {
        discover::default_roots(env)
    }

    fn discover(&self, roots: &[PathBuf], _scope: Option<&ProjectScope>) -> Discovery {
        discover::discover(roots)
    }

    fn unit(&self) -> Unit<'_> {
        Unit::Transcript(self)
    }
}

impl TranscriptParser for Qwen {
    /// Reads a prompt log whole, or one chat file: no session (empty, or nothing but its
    /// subagents'), the main session, its sidechain, or both. Read on from a checkpoint, a chat
    /// file yields only the sessions that have new messages, holding only those; once the
    /// messages held pass `budget`, they come out outlined.
    fn parse(&self, candidate: &Candidate, resume: ResumeRequest<'_>, budget: PartBudget) -> ParseOutcome {
        let path = candidate.path.as_path();
        let mut outcome = ParseOutcome::default();
        let Some(mut file) = open_listed_file(path, &mut outcome.diagnostics) else {
            return outcome;
        };
        if !discover::is_chat_file(path) {
            return prompts::parse(candidate, file, outcome);
        }
        let (start, carried) = match resume::begin::<Carried>(&mut file, resume) {
            Ok(begun) => begun,
            Err(err) => {
                outcome.diagnostics.push(Diagnostic::unreadable(path, &err));
                return outcome;
            }
        };
        outcome.resume = start.outcome;
        let resumed = carried.is_some();
        let lines_before = start.lines_before();
        let mut builder = Builder::new(path, carried, Holding::Whole(budget));
        let mut reader = BufReader::with_capacity(READ_BUFFER, &mut file);
        match read_records::<_, ChatLine>(&mut reader, path, &mut outcome.diagnostics, |line, record| {
            let Boxed(fields) = record;
            builder.push(lines_before + line, *fields);
        }) {
            Ok(stats) => outcome.stats = stats,
            Err(err) => outcome.diagnostics.push(Diagnostic::unreadable(path, &err)),
        }
        drop(reader);
        start.renumber(&mut outcome.diagnostics);
        outcome.stats.malformed_lines += builder.malformed;
        outcome.diagnostics.append(&mut builder.diagnostics);
        outcome.diagnostics.sort_by_key(|diagnostic| diagnostic.line);
        let state = resume
            .checkpoint_wanted
            .then(|| serde_json::to_string(&builder.carried).ok())
            .flatten();
        outcome.checkpoint = start.finish(&mut file, &outcome.stats, state);
        let (from, consumed) = (outcome.resumed_at(), outcome.consumed());
        let Carried {
            session_id,
            main,
            sidechain,
            title,
            parent_session,
            ..
        } = builder.carried;
        let id = session_id
            .or_else(|| Some(path.file_stem()?.to_str()?.to_owned()))
            .unwrap_or_default();
        // A thread read on from a checkpoint is a session only if it has new messages.
        let yields = |thread: &Thread| thread.records > 0 && (!resumed || thread.has_messages());
        let mut threads = Vec::new();
        if yields(&main) {
            let title = title.or_else(|| main.first_prompt.clone());
            threads.push((main, title, parent_session, false));
        }
        if yields(&sidechain) {
            let title = sidechain.first_prompt.clone();
            threads.push((sidechain, title, Some(id.clone()), true));
        }
        for (mut thread, title, parent, is_sidechain) in threads {
            let messages = thread.messages.take();
            let facts = SessionFacts {
                title,
                cwd: thread.cwd,
                git_branch: thread.git_branch,
                tool_version: thread.tool_version,
                model: thread.model,
                started_at: thread.started_at,
                is_sidechain,
                parent_session_id: parent,
                resumed,
                ..SessionFacts::default()
            };
            let session = Session {
                tool: TOOL,
                id: id.clone(),
                source_file: source_file(path),
                facts,
                messages,
            };
            let Some(tally) = thread.counted else {
                outcome.sessions.push(session);
                continue;
            };
            // Pass 2 reads the bytes this read did, from the state it began in.
            let state = resume
                .from
                .filter(|_| from > 0)
                .map(|checkpoint| checkpoint.state.clone());
            let of = OutlinedThread {
                sidechain: is_sidechain,
            };
            let reread = Reread::new(&file, from, lines_before, consumed, state, of);
            outcome.push_outlined(path, session, tally, reread);
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
        let path = candidate.path.as_path();
        let reread = &outlined.reread;
        let Some(&OutlinedThread { sidechain }) = reread.of::<OutlinedThread>() else {
            return Ok(());
        };
        let carried = match reread.state.as_deref() {
            Some(state) => Some(serde_json::from_str::<Carried>(state).map_err(io::Error::other)?),
            None => None,
        };
        let mut emit_part = |messages: Vec<Message>| emit(outlined.part(messages));
        let holding = Holding::Parts {
            sidechain,
            budget,
            emit: &mut emit_part,
        };
        let mut builder = Builder::new(path, carried, holding);
        let mut repeated_diagnostics = Vec::new();
        read_records::<_, ChatLine>(
            reread.reader()?,
            path,
            &mut repeated_diagnostics,
            |line, record| {
                let Boxed(fields) = record;
                builder.push(reread.lines_before + line, *fields);
            },
        )?;
        builder.hand_over_rest();
        Ok(())
    }
}

/// Which thread of a chat file an outlined session is: the main one, or its subagents'.
struct OutlinedThread {
    sidechain: bool,
}

fn source_file(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}
