//! GitHub Copilot CLI sessions (formats-more-tools.md section 2): discovery, and reading each
//! transcript into one session. A transcript is the 2025 flat `<session>.jsonl` or a session
//! directory's `events.jsonl`; both are event logs Copilot CLI only appends to, read on from a
//! checkpoint when they grew and in parts when their messages pass the read's budget
//! (`source::parts`). A session directory's `workspace.yaml` adds the facts the events lack.
//!
//! [`wire`] decodes an event, [`session`] turns events into messages and facts, [`workspace`]
//! reads `workspace.yaml`, [`discover`] lists the transcripts.

mod discover;
mod session;
mod wire;
mod workspace;

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

use session::{host_of, repository_url, Builder, Holding, State};
use wire::{Event, EventLine};
use workspace::Workspace;

/// `SessionFacts::cwd_origin` of a cwd only the system prompt states (the 2025 layout).
const FROM_SYSTEM_PROMPT: &str = "system_prompt";

/// GitHub Copilot CLI: one event log per session.
pub struct Copilot;

const TOOL: Tool = Tool::named("copilot");

const COPILOT_HOME: Variable = Variable::setting(
    "COPILOT_HOME",
    "GitHub Copilot CLI's home (sessions in `$COPILOT_HOME/session-state`; default `~/.copilot`)",
);

impl Source for Copilot {
    fn tool(&self) -> Tool {
        TOOL
    }

    fn about(&self) -> &'static str {
        "GitHub Copilot CLI sessions (~/.copilot/session-state)"
    }

    fn layout(&self) -> &'static str {
        "`~/.copilot` or `~/.copilot/session-state`, holding `<session>/events.jsonl` or `<session>.jsonl`"
    }

    fn variables(&self) -> &'static [Variable] {
        &[COPILOT_HOME]
    }

    fn default_roots(&self, env: EnvLookup<'_>) -> Vec<PathBuf> {
        discover::default_roots(env)
    }

    /// Copilot keeps no project layer in its paths, so `--project` cannot prune.
    fn discover(&self, roots: &[PathBuf], _scope: Option<&ProjectScope>) -> Discovery {
        discover::discover(roots)
    }

    fn unit(&self) -> Unit<'_> {
        Unit::Transcript(self)
    }
}

impl TranscriptParser for Copilot {
    /// Reads one transcript into its session: whole, read on from `resume`'s checkpoint (then only
    /// with its new messages, and none when it has none), or outlined once its messages pass
    /// `budget`. A file without any event is no session.
    fn parse(&self, candidate: &Candidate, resume: ResumeRequest<'_>, budget: PartBudget) -> ParseOutcome {
        let path = candidate.path.as_path();
        let mut outcome = ParseOutcome::default();
        let Some(mut file) = open_listed_file(path, &mut outcome.diagnostics) else {
            return outcome;
        };
        let (start, carried) = match resume::begin::<State>(&mut file, resume) {
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
        match read_records::<_, EventLine>(&mut reader, path, &mut outcome.diagnostics, |line, event| {
            let Event(fields) = event;
            builder.push(lines_before + line, fields);
        }) {
            Ok(stats) => outcome.stats = stats,
            Err(err) => outcome.diagnostics.push(Diagnostic::unreadable(path, &err)),
        }
        drop(reader);
        start.renumber(&mut outcome.diagnostics);
        outcome.stats.malformed_lines += builder.malformed;
        outcome.diagnostics.append(&mut builder.diagnostics);
        let state = resume
            .checkpoint_wanted
            .then(|| serde_json::to_string(&builder.state).ok())
            .flatten();
        outcome.checkpoint = start.finish(&mut file, &outcome.stats, state);
        let workspace = if is_events_file(path) {
            Workspace::beside(path, &mut outcome.diagnostics)
        } else {
            Workspace::default()
        };
        outcome.diagnostics.sort_by_key(|diagnostic| diagnostic.line);
        if builder.state.events == 0 || (resumed && !builder.has_messages()) {
            return outcome;
        }
        let mut session = session_of(path, &builder.state, workspace, resumed);
        match builder.counted {
            None => {
                session.messages = builder.take_rest();
                outcome.sessions.push(session);
            }
            Some(tally) => {
                // Pass 2 reads the bytes this read did, from the state it began in.
                let (from, consumed) = (outcome.resumed_at(), outcome.consumed());
                let state = resume
                    .from
                    .filter(|_| from > 0)
                    .map(|checkpoint| checkpoint.state.clone());
                let reread = Reread::new(&file, from, lines_before, consumed, state, OutlinedEvents);
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
        let path = candidate.path.as_path();
        let reread = &outlined.reread;
        if reread.of::<OutlinedEvents>().is_none() {
            return Ok(());
        }
        let state = match reread.state.as_deref() {
            Some(state) => Some(serde_json::from_str::<State>(state).map_err(io::Error::other)?),
            None => None,
        };
        let mut emit_part = |messages: Vec<Message>| emit(outlined.part(messages));
        let holding = Holding::Parts {
            budget,
            emit: &mut emit_part,
        };
        let mut builder = Builder::new(path, state, holding);
        let mut repeated_diagnostics = Vec::new();
        read_records::<_, EventLine>(
            reread.reader()?,
            path,
            &mut repeated_diagnostics,
            |line, event| {
                let Event(fields) = event;
                builder.push(reread.lines_before + line, fields);
            },
        )?;
        builder.take_rest();
        Ok(())
    }
}

/// What an outlined session's pass 2 reads: the events of the transcript pass 1 outlined.
struct OutlinedEvents;

/// A session directory's transcript, beside its `workspace.yaml`.
fn is_events_file(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == discover::EVENTS)
}

/// The session the events describe, without messages: its id and final facts. The events'
/// facts come first; `workspace.yaml` fills what they lack and names the session; the 2025
/// layout records no cwd but in the system prompt.
fn session_of(path: &Path, state: &State, workspace: Workspace, resumed: bool) -> Session {
    let fallback_id = if is_events_file(path) {
        path.parent().and_then(Path::file_name)
    } else {
        path.file_stem()
    };
    let id = state
        .session_id
        .clone()
        .or_else(|| fallback_id.map(|name| name.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let workspace_repository = workspace
        .repository
        .as_deref()
        .map(|repository| repository_url(repository, host_of(workspace.host_type.as_deref())));
    let recorded_cwd = state.cwd.clone().or(workspace.cwd);
    let cwd_origin =
        (recorded_cwd.is_none() && state.prompt_cwd.is_some()).then(|| FROM_SYSTEM_PROMPT.to_owned());
    let facts = SessionFacts {
        title: workspace.name.or_else(|| state.first_prompt.clone()),
        cwd: recorded_cwd.or_else(|| state.prompt_cwd.clone()),
        cwd_origin,
        git_branch: state.branch.clone().or(workspace.branch),
        git_commit: state.commit.clone(),
        git_repo: state.repository.clone().or(workspace_repository),
        tool_version: state.tool_version.clone(),
        originator: workspace.client_name,
        model: state.model.clone(),
        started_at: state.started_at.or(state.first_time),
        resumed,
        ..SessionFacts::default()
    };
    Session {
        tool: TOOL,
        id,
        source_file: std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string(),
        facts,
        messages: Vec::new(),
    }
}
