//! Claude Code transcripts (formats.md §1): discovery, and parsing each JSONL file into a main
//! session and, for 1.0.x files with inline subagent lines, a sidechain session, with the noise
//! of formats.md §1.6 removed. A file whose messages pass the read's budget is read twice
//! (`source::parts`): its sessions come out outlined, and `read_parts` reads their messages in parts.
//!
//! `builder` turns a file's lines into its threads (`thread`), whose state is carried from one
//! read to the next in a checkpoint; `text` writes the text of tool calls and results. `history`
//! reads the prompt history `history.jsonl` a salvaging run adds, for sessions whose transcript
//! is gone.

mod builder;
mod discover;
mod history;
mod noise;
mod text;
mod thread;
mod wire;

use std::fs;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use crate::env::{EnvLookup, Variable};
use crate::model::{Diagnostic, DiagnosticKind, Message, Session, Tool};
use crate::scope::ProjectScope;
use crate::source::parts::{OutlinedSession, PartBudget, Reread};
use crate::source::resume::{self, ResumeRequest};
use crate::source::{
    jsonl, open_listed_file, retention, Candidate, Discovery, ParseOutcome, Retention, Salvage, Source,
    TranscriptParser, Unit,
};

use builder::{FileBuilder, Holding};
use thread::{Carried, Finished};
use wire::{AgentMeta, TranscriptLine};

/// Claude Code: one JSONL transcript per session.
pub struct Claude;

const TOOL: Tool = Tool::named("claude");

const CLAUDE_CONFIG_DIR: Variable = Variable::setting(
    "CLAUDE_CONFIG_DIR",
    "Claude Code's config directory (sessions in `$CLAUDE_CONFIG_DIR/projects`; default `~/.claude`)",
);

impl Source for Claude {
    fn tool(&self) -> Tool {
        TOOL
    }

    fn about(&self) -> &'static str {
        "Claude Code sessions (~/.claude/projects)"
    }

    fn layout(&self) -> &'static str {
        "`~/.claude` or `~/.claude/projects`, holding `<project>/<session>.jsonl`"
    }

    fn variables(&self) -> &'static [Variable] {
        &[CLAUDE_CONFIG_DIR]
    }

    fn default_roots(&self, env: EnvLookup<'_>) -> Vec<PathBuf> {
        discover::default_roots(env)
    }

    fn discover(&self, roots: &[PathBuf], scope: Option<&ProjectScope>) -> Discovery {
        discover::discover(roots, scope)
    }

    fn unit(&self) -> Unit<'_> {
        Unit::Transcript(self)
    }

    /// The prompt history `history.jsonl` beside the transcripts (`history`).
    fn salvage(&self) -> Option<&dyn Salvage> {
        Some(&history::History)
    }

    /// `cleanupPeriodDays` in the user's `settings.json` (30 when unset): at start-up Claude Code
    /// deletes the transcripts not changed for that many days (formats.md §1).
    fn retention(&self, env: EnvLookup<'_>) -> Option<Retention> {
        let file = discover::config_dir(env)?.join("settings.json");
        let retention = match retention::setting(&file, &["cleanupPeriodDays"]).and_then(|days| days.as_f64())
        {
            Some(days) if days > 0.0 => Retention::days(
                days,
                format!("cleanupPeriodDays = {days} in `{}`", file.display()),
            ),
            _ => Retention::days(30.0, "cleanupPeriodDays, 30 days by default".to_owned()),
        };
        Some(retention)
    }
}

impl TranscriptParser for Claude {
    /// Parses one transcript file. A file yields no session (empty, or no session id anywhere),
    /// one, or two (main thread plus inline 1.0.x sidechain lines). Read on from a checkpoint, it
    /// yields only the sessions that have new messages, holding only those. Once the messages held
    /// pass `budget`, its sessions are outlined instead (`ParseOutcome::outlined`).
    fn parse(&self, candidate: &Candidate, resume: ResumeRequest<'_>, budget: PartBudget) -> ParseOutcome {
        let path = candidate.path.as_path();
        let mut outcome = ParseOutcome::default();
        let Some(mut file) = open_listed_file(path, &mut outcome.diagnostics) else {
            return outcome;
        };
        let is_agent_file = candidate.sidechain || discover::is_agent_file_name(path);
        let (start, carried) = match resume::begin::<Carried>(&mut file, resume) {
            Ok(begun) => begun,
            Err(err) => {
                outcome.diagnostics.push(Diagnostic::unreadable(path, &err));
                return outcome;
            }
        };
        outcome.resume = start.outcome;
        let mut builder = FileBuilder::new(path, is_agent_file, carried, Holding::Whole(budget));
        let mut reader = BufReader::with_capacity(crate::limits::READ_BUFFER, &mut file);
        match jsonl::read_records::<_, TranscriptLine>(
            &mut reader,
            path,
            &mut outcome.diagnostics,
            |line, record| builder.push(start.lines_before() + line, record),
        ) {
            Ok(stats) => outcome.stats = stats,
            Err(err) => outcome.diagnostics.push(Diagnostic::unreadable(path, &err)),
        }
        drop(reader);
        start.renumber(&mut outcome.diagnostics);
        outcome.stats.malformed_lines += builder.malformed_messages;
        outcome.diagnostics.append(&mut builder.diagnostics);
        let state = resume
            .checkpoint_wanted
            .then(|| serde_json::to_string(&builder.carried).ok())
            .flatten();
        let lines_before = start.lines_before();
        outcome.checkpoint = start.finish(&mut file, &outcome.stats, state);
        let agent_meta = if is_agent_file {
            read_agent_meta(path, &mut outcome.diagnostics)
        } else {
            None
        };
        let (from, consumed) = (outcome.resumed_at(), outcome.consumed());
        let reread_of = |sidechain: bool| {
            // Pass 2 starts where this read did, from the same state.
            let state = resume
                .from
                .filter(|_| from > 0)
                .map(|checkpoint| checkpoint.state.clone());
            Reread::new(
                &file,
                from,
                lines_before,
                consumed,
                state,
                OutlinedThread { sidechain },
            )
        };
        let finished = builder.finish(agent_meta, &mut outcome.diagnostics);
        for thread in finished {
            match thread {
                Finished::Whole(session) => outcome.sessions.push(session),
                Finished::Outlined(session, tally) => {
                    let reread = reread_of(session.facts.is_sidechain && !is_agent_file);
                    outcome.push_outlined(path, session, tally, reread);
                }
            }
        }
        outcome.diagnostics.sort_by_key(|diagnostic| diagnostic.line);
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
        let is_agent_file = candidate.sidechain || discover::is_agent_file_name(path);
        let mut emit_part = |messages: Vec<Message>| emit(outlined.part(messages));
        let holding = Holding::Parts {
            sidechain,
            budget,
            emit: &mut emit_part,
        };
        let mut builder = FileBuilder::new(path, is_agent_file, carried, holding);
        let mut repeated_diagnostics = Vec::new();
        jsonl::read_records::<_, TranscriptLine>(
            reread.reader()?,
            path,
            &mut repeated_diagnostics,
            |line, record| builder.push(reread.lines_before + line, record),
        )?;
        builder.hand_over_rest();
        Ok(())
    }
}

/// Which thread of a file an outlined session is: the main thread, or the inline 1.0.x
/// sidechain.
struct OutlinedThread {
    sidechain: bool,
}

fn read_agent_meta(transcript: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<AgentMeta> {
    let meta_path = transcript.with_extension("meta.json");
    let bytes = match fs::read(&meta_path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return None,
        Err(err) => {
            diagnostics.push(Diagnostic::unreadable(&meta_path, &err));
            return None;
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(meta) => Some(meta),
        Err(err) => {
            diagnostics.push(Diagnostic {
                file: meta_path,
                line: None,
                kind: DiagnosticKind::Malformed,
                message: format!("malformed subagent meta: {err}"),
            });
            None
        }
    }
}
