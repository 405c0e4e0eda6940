//! Gemini CLI's prompt log `tmp/<project id>/logs.json` (formats.md 4.1), read by
//! `source::prompt_log` to salvage the prompts of chats Gemini CLI deleted: it keeps every
//! prompt typed in the project there (`Logger` of `core/logger.ts`, keyed by the session id its
//! chats record) but deletes chats past its session retention. Each of the log's sessions
//! whose chat is not in the project's `chats/` is a salvaged session of user messages; one with
//! a chat on disk is read from the chat, never from the log, so no prompt is stored twice.
//!
//! A chat is on disk when the project's `chats/` holds a main chat
//! `session-<start>-<first 8 characters>.json[l]` (or a copy of one set aside as unreadable) or
//! a subagent chat `<parent>/<session>.jsonl`, named by the session id as Gemini CLI names it
//! (`chatRecordingService.ts`: the id with every character but `[A-Za-z0-9_-]` replaced by
//! `_`), and the `sessionId` the file starts with is the session's (as Gemini CLI's own
//! `sessionExists` checks). A chat whose start cannot be read counts as the session's: a short
//! id is a match unless the file says otherwise.
//!
//! The cwd is the project's, found as the chats find it ([`super::project`]). Only the log is
//! read in the project's directory, and the chats' first bytes; never the credentials in
//! Gemini's home.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::model::{KnownRevisions, Session};
use crate::source::prompt_log::{self, Layout, Reading, PROMPT_LOG};
use crate::source::salvage::{self, Salvage};
use crate::source::walk::{self, Entry};
use crate::source::{open_listed_file, Candidate, ParseOutcome, StoreReader};

use super::discover::{chat_file, Container};
use super::project::{self, Place};
use super::{chat_session_id, source_file, TOOL};

/// Gemini CLI's prompt logs, read for salvage ([`Salvage`]).
pub(super) struct PromptLogs;

impl Salvage for PromptLogs {
    fn files(&self, roots: &[PathBuf]) -> Vec<Candidate> {
        salvage_files(roots)
    }
}

impl StoreReader for PromptLogs {
    /// Reads one log whole (Gemini CLI rewrites it whole, so it is as small as Gemini keeps it)
    /// and hands over its salvaged sessions but those whose revision `known` holds.
    fn read(
        &self,
        candidate: &Candidate,
        known: &KnownRevisions,
        emit: &mut dyn FnMut(Session),
    ) -> ParseOutcome {
        let mut outcome = ParseOutcome::default();
        let Some(file) = open_listed_file(&candidate.path, &mut outcome.diagnostics) else {
            return outcome;
        };
        salvage::emit_new(parse(candidate, file, outcome), known, emit)
    }
}

/// The prompt logs under `roots`, for every root form discovery takes (a Gemini home, a `tmp/`
/// directory, one project's temp directory), sorted by path within each root. A `chats/`
/// directory or a single file has no log. What cannot be listed is passed over: discovery,
/// walking the same directories, reports it.
fn salvage_files(roots: &[PathBuf]) -> Vec<Candidate> {
    let mut candidates = Vec::new();
    for root in roots.iter().filter(|root| root.is_dir()) {
        let mut found = Vec::new();
        if root.join("tmp").is_dir() {
            logs_in_tmp(&root.join("tmp"), &mut found);
        } else if root.file_name().is_some_and(|name| name == "chats") {
            // A `chats/` directory: its project's log is outside the root.
        } else if root.join("chats").is_dir() || root.join(PROMPT_LOG).is_file() {
            found.extend(log_of(root));
        } else {
            logs_in_tmp(root, &mut found);
        }
        found.sort();
        candidates.extend(found.into_iter().map(|path| Candidate {
            path,
            also: Vec::new(),
            sidechain: false,
        }));
    }
    candidates
}

/// `tmp/`: the log of each project directory.
fn logs_in_tmp(tmp: &Path, found: &mut Vec<PathBuf>) {
    for entry in walk::list(tmp, &mut Vec::new()) {
        if entry.is_dir {
            found.extend(log_of(&entry.path));
        }
    }
}

fn log_of(project_dir: &Path) -> Option<PathBuf> {
    let log = project_dir.join(PROMPT_LOG);
    log.is_file().then_some(log)
}

/// Reads one prompt log whole into the salvaged sessions of the chats that are gone.
fn parse(candidate: &Candidate, file: File, outcome: ParseOutcome) -> ParseOutcome {
    let path = candidate.path.as_path();
    let place = path.parent().map(Place::of_project).unwrap_or_default();
    let mut layout = Log { place, chats: None };
    let reading = Reading {
        tool: TOOL,
        source_file: source_file(path),
        salvaged: true,
        layout: &mut layout,
    };
    prompt_log::parse(candidate, file, outcome, reading)
}

/// A prompt log's project: its chats (listed when first asked), and where it is.
struct Log {
    place: Place,
    chats: Option<Vec<Entry>>,
}

impl Log {
    fn chats(&mut self) -> &[Entry] {
        let place = &self.place;
        self.chats.get_or_insert_with(|| match &place.project_dir {
            // Discovery reports a `chats/` that cannot be listed.
            Some(dir) => walk::list(&dir.join("chats"), &mut Vec::new()),
            None => Vec::new(),
        })
    }
}

impl Layout for Log {
    fn has_chat(&mut self, session_id: &str) -> bool {
        let safe = file_name_part(session_id);
        let short_suffix = format!("-{}", &safe[..safe.len().min(8)]);
        self.chats().iter().any(|entry| {
            if entry.is_dir {
                let subagent = entry.path.join(format!("{safe}.jsonl"));
                return subagent.is_file() && is_chat_of(&subagent, Container::Log, session_id);
            }
            let Some(name) = entry.path.file_name().and_then(|name| name.to_str()) else {
                return false;
            };
            let Some((container, _)) = chat_file(name).filter(|_| name.starts_with("session-")) else {
                return false;
            };
            let live = name.split_once(".unreadable-").map_or(name, |(live, _)| live);
            let stem = live
                .strip_suffix(".jsonl")
                .or_else(|| live.strip_suffix(".json"))
                .unwrap_or(live);
            stem.ends_with(&short_suffix) && is_chat_of(&entry.path, container, session_id)
        })
    }

    fn project_cwd(&mut self) -> (Option<String>, &'static str) {
        project::resolve(&self.place, None, &[])
    }
}

/// Whether the chat `path`, whose name matches the session, is the session's: the id it starts
/// with says so, or cannot be read (it is read as the chat of whatever session it holds).
fn is_chat_of(path: &Path, container: Container, session_id: &str) -> bool {
    chat_session_id(path, container).is_none_or(|found| found == session_id)
}

/// A session id as Gemini CLI puts it in a file name (`sanitizeFilenamePart`): every UTF-16
/// unit that is not `[A-Za-z0-9_-]` replaced by `_`.
fn file_name_part(session_id: &str) -> String {
    let mut safe = String::with_capacity(session_id.len());
    for ch in session_id.chars() {
        if ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' {
            safe.push(ch);
        } else {
            safe.extend(std::iter::repeat_n('_', ch.len_utf16()));
        }
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn file_names_carry_the_sanitized_id() {
        assert_eq!(file_name_part("eb888ce4-23a2-4d68"), "eb888ce4-23a2-4d68");
        assert_eq!(file_name_part("a2a/server.x"), "a2a_server_x");
        assert_eq!(file_name_part("é😀"), "___");
    }

    #[test]
    fn the_logs_of_every_root_form_and_none_of_chats_or_files() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join(".gemini");
        for file in [
            "tmp/a/logs.json",
            "tmp/a/chats/session-x.jsonl",
            "tmp/b/logs.json",
            "tmp/c/chats/session-y.jsonl",
            "oauth_creds.json",
        ] {
            write(&home.join(file), "[]");
        }
        let logs = |root: PathBuf| -> Vec<PathBuf> {
            salvage_files(&[root])
                .into_iter()
                .map(|candidate| candidate.path)
                .collect()
        };
        let both = vec![home.join("tmp/a/logs.json"), home.join("tmp/b/logs.json")];
        assert_eq!(logs(home.clone()), both);
        assert_eq!(logs(home.join("tmp")), both);
        assert_eq!(logs(home.join("tmp/a")), both[..1]);
        // A project whose chats are all gone, `chats/` with them.
        assert_eq!(logs(home.join("tmp/b")), both[1..]);
        assert!(logs(home.join("tmp/c")).is_empty());
        assert!(logs(home.join("tmp/a/chats")).is_empty());
        assert!(logs(home.join("tmp/a/logs.json")).is_empty());
        assert!(logs(home.join("missing")).is_empty());
    }

    #[test]
    fn a_chat_is_on_disk_when_its_name_and_start_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("tmp/p");
        let chats = project.join("chats");
        let id = |short: &str| format!("{short}-0000-4000-8000-000000000000");
        write(
            &chats.join("session-2026-01-01T00-00-aaaaaaaa.jsonl"),
            &format!("{{\"sessionId\":\"{}\",\"projectHash\":\"h\"}}\n", id("aaaaaaaa")),
        );
        write(
            &chats.join("session-2026-01-01T00-00-bbbbbbbb.json"),
            &format!(
                "{{\n  \"sessionId\": \"{}\",\n  \"messages\": []\n}}",
                id("bbbbbbbb")
            ),
        );
        write(&chats.join("session-2026-01-01T00-00-cccccccc.jsonl"), "{torn");
        write(
            &chats.join("session-2026-01-01T00-00-dddddddd.jsonl.unreadable-17"),
            &format!("{{\"sessionId\":\"{}\"}}\n", id("dddddddd")),
        );
        write(&chats.join("session-2026-01-01T00-00-eeeeeeee.jsonl.tmp-4"), "{}");
        write(
            &chats.join(format!("{}/{}.jsonl", id("aaaaaaaa"), id("ffffffff"))),
            &format!("{{\"sessionId\":\"{}\",\"kind\":\"subagent\"}}\n", id("ffffffff")),
        );
        let mut log = Log {
            place: Place::of_project(&project),
            chats: None,
        };
        for (session, on_disk) in [
            (id("aaaaaaaa"), true),
            (id("bbbbbbbb"), true),
            (id("cccccccc"), true),
            (id("dddddddd"), true),
            (id("eeeeeeee"), false),
            (id("ffffffff"), true),
            // Same first eight characters, another session.
            ("aaaaaaaa-other".to_owned(), false),
            ("bbbbbbbb".to_owned(), false),
            ("gggggggg".to_owned(), false),
        ] {
            assert_eq!(log.has_chat(&session), on_disk, "{session}");
        }
    }
}
