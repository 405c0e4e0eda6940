//! Gemini CLI chats (formats.md section 4): discovery, and reading each chat file into one
//! session. A chat is a legacy `.json` document (rewritten whole on every change: read whole,
//! never read on from a checkpoint) or, since v0.39, a `.jsonl` event log replayed as Gemini CLI
//! replays it ([`replay`]): read on from a checkpoint when it grew, and in parts when its
//! messages pass the read's budget.
//!
//! Gemini CLI deletes chats past its session retention, but keeps every prompt typed in a
//! project in its prompt log `tmp/<project id>/logs.json`: a salvaging run reads it too
//! ([`Source::salvage`]), and its sessions whose chat is gone become salvaged sessions of
//! user messages ([`prompts`]).
//!
//! [`wire`] decodes the records, [`message`] turns a record into memories, [`project`] finds the
//! directory a session ran in, [`discover`] lists the chat files, [`log`] and [`document`] read
//! the two containers, [`prompts`] the prompt log.

mod discover;
mod document;
mod log;
mod message;
mod project;
mod prompts;
mod replay;
mod wire;

use std::io;
use std::path::{Path, PathBuf};

use crate::env::{EnvLookup, Variable};
use crate::model::{Session, SessionFacts, Tool};
use crate::scope::ProjectScope;
use crate::source::parts::{OutlinedSession, PartBudget};
use crate::source::resume::ResumeRequest;
use crate::source::Salvage;
use crate::source::{
    open_listed_file, retention, Candidate, Discovery, ParseOutcome, Retention, Source, TranscriptParser,
    Unit,
};

use discover::Container;
use project::Place;
use replay::State;

/// Gemini CLI: one chat file per session, a legacy JSON document or a JSONL event log.
pub struct Gemini;

const TOOL: Tool = Tool::named("gemini");

/// A log's metadata line is a few hundred bytes; one longer than this is not read for its id.
const MAX_METADATA_LINE: u64 = 64 << 10;

const GEMINI_CLI_HOME: Variable = Variable::setting(
    "GEMINI_CLI_HOME",
    "replaces the home directory for Gemini CLI (chats in `$GEMINI_CLI_HOME/.gemini/tmp`; default `~/.gemini`)",
);

impl Source for Gemini {
    fn tool(&self) -> Tool {
        TOOL
    }

    fn about(&self) -> &'static str {
        "Gemini CLI sessions (~/.gemini/tmp/<project>/chats; logs.json for the prompts of deleted chats)"
    }

    fn layout(&self) -> &'static str {
        "`~/.gemini` or `~/.gemini/tmp`, holding `<project>/chats/session-*.json[l]` (and `<project>/logs.json`)"
    }

    fn variables(&self) -> &'static [Variable] {
        &[GEMINI_CLI_HOME]
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

    /// The prompt log of each project (`tmp/<project id>/logs.json`).
    fn salvage(&self) -> Option<&dyn Salvage> {
        Some(&prompts::PromptLogs)
    }

    /// `general.sessionRetention` in `~/.gemini/settings.json`: when `enabled` (the default
    /// since 2026), Gemini CLI deletes at start-up the chats last updated more than `maxAge` ago
    /// (`30d` by default). Its `maxCount` also deletes by number, which no age foretells.
    fn retention(&self, env: EnvLookup<'_>) -> Option<Retention> {
        let file = discover::default_roots(env).pop()?.join("settings.json");
        let key = ["general", "sessionRetention"];
        let configured = retention::setting(&file, &key);
        let field = |name: &str| configured.as_ref().and_then(|value| value.get(name));
        if field("enabled").and_then(|enabled| enabled.as_bool()) == Some(false) {
            return None;
        }
        let Some(max_age) = field("maxAge") else {
            return Some(Retention::days(
                30.0,
                "general.sessionRetention.maxAge, 30d by default".to_owned(),
            ));
        };
        let text = max_age.as_str()?;
        Some(Retention {
            max_age: retention::gemini_period(text)?,
            setting: format!("general.sessionRetention.maxAge = {text} in `{}`", file.display()),
        })
    }
}

impl TranscriptParser for Gemini {
    fn parse(&self, candidate: &Candidate, resume: ResumeRequest<'_>, budget: PartBudget) -> ParseOutcome {
        let mut outcome = ParseOutcome::default();
        let path = candidate.path.as_path();
        let Some(file) = open_listed_file(path, &mut outcome.diagnostics) else {
            return outcome;
        };
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        match discover::chat_file(name).map(|(container, _)| container) {
            Some(Container::Document) => document::parse(candidate, file, outcome),
            _ => log::parse(candidate, file, resume, budget, outcome),
        }
    }

    fn read_parts(
        &self,
        candidate: &Candidate,
        outlined: &OutlinedSession,
        budget: u64,
        emit: &mut dyn FnMut(Session),
    ) -> io::Result<()> {
        log::read_parts(candidate, outlined, budget, emit)
    }
}

/// The session a replay describes, without messages: its id and final facts.
fn session_of(candidate: &Candidate, state: &State, resumed: bool) -> Session {
    let path = candidate.path.as_path();
    let place = Place::of(path);
    let (cwd, cwd_origin) = project::resolve(&place, state.project_hash.as_deref(), &state.directories);
    let facts = SessionFacts {
        title: state.summary.clone().or_else(|| state.first_prompt.clone()),
        cwd,
        cwd_origin: Some(cwd_origin.to_owned()),
        provider: state.model.as_ref().map(|_| "google".to_owned()),
        model: state.model.clone(),
        started_at: state.started_at.or(state.first_time),
        is_sidechain: candidate.sidechain || place.parent_session.is_some() || state.subagent,
        parent_session_id: place.parent_session.clone(),
        resumed,
        ..SessionFacts::default()
    };
    Session {
        tool: TOOL,
        id: state
            .session_id
            .clone()
            .or_else(|| live_copy_session_id(path))
            .unwrap_or(place.fallback_id),
        source_file: source_file(path),
        facts,
        messages: Vec::new(),
    }
}

/// The session id of the live log a copy set aside as unreadable was taken from, when the copy
/// names none itself (its metadata line is what made it unreadable): the copy's messages are that
/// session's, and must map to the ids the live log gives them.
fn live_copy_session_id(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let (live_name, _) = name.split_once(".unreadable-")?;
    let id = chat_session_id(&path.with_file_name(live_name), Container::Log)?;
    // The name keeps the id's first eight characters: a live log of another session is not it.
    let short = live_name.trim_end_matches(".jsonl").rsplit('-').next()?;
    id.starts_with(short).then_some(id)
}

/// The session id a chat file starts with, read from its first bytes: a log's first line, its
/// metadata, or a legacy document's first member, which Gemini CLI writes as `sessionId`.
fn chat_session_id(path: &Path, container: Container) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut start = Vec::new();
    let mut reader = io::BufReader::new(io::Read::take(file, MAX_METADATA_LINE));
    match container {
        Container::Log => {
            io::BufRead::read_until(&mut reader, b'\n', &mut start).ok()?;
            let record = serde_json::from_slice::<wire::Record<'_>>(&start).ok()?;
            Some(record.0.session_id?.into_owned())
        }
        Container::Document => {
            io::Read::read_to_end(&mut reader, &mut start).ok()?;
            leading_session_id(&start)
        }
    }
}

/// The `sessionId` a JSON document opens with (`{"sessionId": "..."`), from its first bytes.
fn leading_session_id(start: &[u8]) -> Option<String> {
    let first_string = |text: &[u8]| {
        let mut strings = serde_json::Deserializer::from_slice(text).into_iter::<String>();
        let value = strings.next()?.ok()?;
        Some((value, strings.byte_offset()))
    };
    let members = start.trim_ascii_start().strip_prefix(b"{")?;
    let (key, end) = first_string(members)?;
    let value = members[end..].trim_ascii_start().strip_prefix(b":")?;
    (key == "sessionId")
        .then(|| first_string(value))
        .flatten()
        .map(|(id, _)| id)
}

fn source_file(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::fake;

    #[test]
    fn a_document_names_its_session_first() {
        let pretty = b"{\n  \"sessionId\": \"29eb990e-c773\",\n  \"projectHash\": \"41d5";
        assert_eq!(leading_session_id(pretty).as_deref(), Some("29eb990e-c773"));
        assert_eq!(
            leading_session_id(br#"{"sessionId":"a\u0062"}"#).as_deref(),
            Some("ab")
        );
        for other in [
            &b"{\"projectHash\":\"x\",\"sessionId\":\"a\"}"[..],
            b"[\"sessionId\"]",
            b"{\"sessionId\":7}",
            b"{\"sessionId\": \"cut",
        ] {
            assert_eq!(leading_session_id(other), None);
        }
    }

    #[test]
    fn retention_follows_session_retention_and_its_defaults() {
        let home = tempfile::tempdir().unwrap();
        let gemini = home.path().join(".gemini");
        std::fs::create_dir_all(&gemini).unwrap();
        let env = fake(&[("GEMINI_CLI_HOME", home.path().to_str().unwrap())]);
        let days = |days: u64| Some(std::time::Duration::from_secs(days * 86_400));
        let max_age = || Gemini.retention(&env).map(|retention| retention.max_age);
        assert_eq!(max_age(), days(30), "no settings: the default");
        let settings = gemini.join("settings.json");
        for (text, expected) in [
            (
                r#"{"general":{"sessionRetention":{"enabled":true,"maxAge":"2w"}}}"#,
                days(14),
            ),
            (r#"{"general":{"sessionRetention":{"maxCount":5}}}"#, days(30)),
            (
                r#"{"general":{"sessionRetention":{"enabled":false,"maxAge":"1d"}}}"#,
                None,
            ),
            (r#"{"general":{"sessionRetention":{"maxAge":"soon"}}}"#, None),
        ] {
            std::fs::write(&settings, text).unwrap();
            assert_eq!(max_age(), expected, "{text}");
        }
    }
}
