//! Cline, Roo Code and Kilo Code (formats-more-tools.md section 6): three forks of one VS Code
//! extension that keep each task in `<globalStorage>/<extension id>/tasks/<task id>/`, the
//! conversation in `api_conversation_history.json` (Anthropic `MessageParam`s, rewritten whole
//! on every change: read whole, never read on from a checkpoint) and model and version facts in
//! `task_metadata.json`. The fork a task belongs to is its `SessionFacts::originator`.
//!
//! [`discover`] finds the task files in the user directories of VS Code and its forks (Cursor,
//! Windsurf, VSCodium, ...), [`task`] reads one into its session, [`noise`] takes what the
//! extension wrapped around or added to the user's words out of them.

mod discover;
mod noise;
mod task;

use std::io;
use std::path::PathBuf;

use crate::env::{EnvLookup, Variable};
use crate::model::{Session, Tool};
use crate::scope::ProjectScope;
use crate::source::parts::{OutlinedSession, PartBudget};
use crate::source::resume::ResumeRequest;
use crate::source::{open_listed_file, Candidate, Discovery, ParseOutcome, Source, TranscriptParser, Unit};

/// Cline and its forks Roo Code and Kilo Code: one task file per session.
pub struct Cline;

const TOOL: Tool = Tool::named("cline");

const XDG_CONFIG_HOME: Variable = Variable::setting(
    "XDG_CONFIG_HOME",
    "the user directories of VS Code, Cursor, Windsurf, ... on Linux are in `$XDG_CONFIG_HOME` \
     (default `~/.config`), whose `<App>/User/globalStorage` hold the extensions' tasks",
);

impl Source for Cline {
    fn tool(&self) -> Tool {
        TOOL
    }

    fn about(&self) -> &'static str {
        "Cline, Roo Code and Kilo Code tasks (<App>/User/globalStorage/<extension>/tasks)"
    }

    fn layout(&self) -> &'static str {
        "the directory holding VS Code's and its forks' user directories (`~/.config`, \
         `~/Library/Application Support` on macOS), an `<App>/User/globalStorage` directory, an \
         extension's directory or its `tasks`, or an `api_conversation_history.json`"
    }

    fn variables(&self) -> &'static [Variable] {
        &[XDG_CONFIG_HOME]
    }

    fn default_roots(&self, env: EnvLookup<'_>) -> Vec<PathBuf> {
        discover::default_roots(env, cfg!(target_os = "macos"))
    }

    /// The scope is not used: a task's directory is only known once its file is read.
    fn discover(&self, roots: &[PathBuf], _scope: Option<&ProjectScope>) -> Discovery {
        discover::discover(roots)
    }

    fn unit(&self) -> Unit<'_> {
        Unit::Transcript(self)
    }
}

impl TranscriptParser for Cline {
    /// Read whole, whatever the request: the file is rewritten in place, so neither a checkpoint
    /// nor parts apply.
    fn parse(&self, candidate: &Candidate, _resume: ResumeRequest<'_>, _budget: PartBudget) -> ParseOutcome {
        let mut outcome = ParseOutcome::default();
        match open_listed_file(&candidate.path, &mut outcome.diagnostics) {
            Some(file) => task::parse(candidate, file, outcome),
            None => outcome,
        }
    }

    /// Never called: [`Cline::parse`] outlines nothing.
    fn read_parts(
        &self,
        _candidate: &Candidate,
        _outlined: &OutlinedSession,
        _budget: u64,
        _emit: &mut dyn FnMut(Session),
    ) -> io::Result<()> {
        Ok(())
    }
}
