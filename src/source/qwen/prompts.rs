//! The older prompt log `tmp/<project hash>/logs.json` (formats-more-tools.md section 5): one
//! JSON array per project of `{sessionId, messageId, type, message, timestamp}` entries, which
//! Qwen Code (after Gemini CLI) rewrites whole on every prompt as the input history its prompt
//! recalls. It holds what the user typed and nothing else, so each session's `user` entries are
//! user messages of that session; `model_switch` entries are not conversation.
//!
//! Releases that record chats write this log too. A session whose chat file exists
//! (`projects/*/chats/<session>.jsonl` in the same runtime directory) is read from the chat,
//! which holds every prompt the log does: the log's entries of that session are skipped, so no
//! prompt is stored twice. (What only the log holds of such a session is the input history of
//! commands, `/…` and `!…`, which the chat records as commands, not conversation.)
//!
//! Ids: `prompt-<messageId>`, the session's running number of the entry, with `-<n>` for its
//! n-th repeat (a prompt cancelled and the next one logged under the same number). The log names
//! no cwd: it is the chat cwd whose SHA-256 is the directory's name, when a chat of the project
//! records one, else `unresolved`. The document is read whole and never read on from a
//! checkpoint; one caught mid-rewrite does not decode, which is reported, so the file is read
//! again next run.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::model::{Block, BlockKind, Diagnostic, DiagnosticKind, Message, Role, Session, SessionFacts};
use crate::source::jsonl::{decode_document, malformed_document};
use crate::source::timestamp::parse_rfc3339;
use crate::source::title::title_from_prompt;
use crate::source::visit::Boxed;
use crate::source::{Candidate, ParseOutcome};

use super::discover::{is_chat_file, CHATS, PROJECTS, TMP};
use super::wire::{LogEntries, LogEntry, Record};
use super::{source_file, TOOL};

/// How a log's cwd was found (`SessionFacts::cwd_origin`).
const FROM_HASH: &str = "project_hash";
const UNRESOLVED: &str = "unresolved";
/// A chat's first record is a few KB; one longer than this is not read for its cwd.
const MAX_FIRST_LINE: u64 = 256 << 10;

/// Reads one prompt log into its sessions, whole.
pub(super) fn parse(candidate: &Candidate, file: File, mut outcome: ParseOutcome) -> ParseOutcome {
    let path = candidate.path.as_path();
    // Decoded owned and raw (long strings cut, as in a JSONL line), then read from that text.
    let read = match decode_document::<Box<RawValue>>(BufReader::new(file)) {
        Ok(read) => read,
        Err(err) => {
            outcome.diagnostics.push(Diagnostic::unreadable(path, &err));
            return outcome;
        }
    };
    outcome.stats.bytes = read.bytes;
    if read.invalid_utf8_replaced {
        outcome.diagnostics.push(Diagnostic {
            file: path.to_path_buf(),
            line: None,
            kind: DiagnosticKind::InvalidUtf8,
            message: "invalid UTF-8 replaced with U+FFFD".to_owned(),
        });
    }
    let decoded = read
        .decoded
        .and_then(|raw| serde_json::from_str::<LogEntries>(raw.get()));
    let entries = match decoded {
        Ok(LogEntries(entries)) => entries,
        Err(err) => {
            outcome.stats.malformed_lines += 1;
            outcome
                .diagnostics
                .push(malformed_document(path, format!("malformed prompt log: {err}")));
            return outcome;
        }
    };
    let place = Place::of(path);
    let chatted = place.chat_sessions();
    let mut cwd = None;
    for (session_id, entries) in by_session(entries) {
        if chatted.contains(&session_id) {
            continue;
        }
        let mut messages = Vec::new();
        let mut ids = HashSet::new();
        for entry in entries {
            let (Some(text), Some(at)) = (entry.message, entry.timestamp) else {
                continue;
            };
            if text.trim().is_empty() {
                continue;
            }
            let Some(at) = parse_rfc3339(&at) else {
                outcome.stats.malformed_lines += 1;
                outcome.diagnostics.push(malformed_document(
                    path,
                    format!("malformed prompt log entry: a prompt of session {session_id} without an RFC 3339 `timestamp`"),
                ));
                continue;
            };
            let number = entry.message_id.unwrap_or_default();
            let mut id = format!("prompt-{number}");
            let mut repeat = 0;
            while !ids.insert(id.clone()) {
                repeat += 1;
                id = format!("prompt-{number}-{repeat}");
            }
            messages.push(Message {
                id,
                origin_session_id: None,
                timestamp: at,
                role: Role::User,
                blocks: vec![Block::new(BlockKind::Text, text)],
                tool_name: None,
                model: None,
                cwd: None,
                line: 0,
            });
        }
        let Some(first) = messages.first() else {
            continue;
        };
        let (cwd, cwd_origin) = cwd.get_or_insert_with(|| place.project_cwd()).clone();
        let facts = SessionFacts {
            title: Some(title_from_prompt(&first.blocks[0].text)).filter(|title| !title.is_empty()),
            cwd,
            cwd_origin: Some(cwd_origin.to_owned()),
            started_at: Some(first.timestamp),
            ..SessionFacts::default()
        };
        outcome.sessions.push(Session {
            tool: TOOL,
            id: session_id,
            source_file: source_file(path),
            facts,
            messages,
        });
    }
    outcome
}

/// The `user` entries of each session, in the order the sessions first appear.
fn by_session(entries: Vec<LogEntry>) -> Vec<(String, Vec<LogEntry>)> {
    let mut sessions: Vec<(String, Vec<LogEntry>)> = Vec::new();
    for entry in entries {
        if entry.kind.as_deref() != Some("user") {
            continue;
        }
        let Some(session_id) = entry.session_id.clone().filter(|id| !id.is_empty()) else {
            continue;
        };
        // A log holds a handful of sessions: a linear search keeps their order.
        match sessions.iter_mut().find(|(id, _)| *id == session_id) {
            Some((_, listed)) => listed.push(entry),
            None => sessions.push((session_id, vec![entry])),
        }
    }
    sessions
}

/// Where a prompt log sits: `<runtime dir>/tmp/<project hash>/logs.json`.
struct Place {
    /// The directory's name: the SHA-256 of the project's root.
    hash: Option<String>,
    /// The runtime directory's `projects/`, holding the chats.
    projects: Option<PathBuf>,
}

impl Place {
    fn of(log: &Path) -> Place {
        let dir = log.parent();
        let hash = dir
            .and_then(Path::file_name)
            .and_then(|name| name.to_str())
            .map(str::to_owned);
        let projects = dir
            .and_then(Path::parent)
            .filter(|tmp| tmp.file_name().is_some_and(|name| name == TMP))
            .and_then(Path::parent)
            .map(|runtime| runtime.join(PROJECTS));
        Place { hash, projects }
    }

    /// The chat files of each project directory of the runtime directory, sorted.
    fn chats(&self) -> Vec<Vec<PathBuf>> {
        let Some(projects) = &self.projects else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for project in sorted_entries(projects) {
            let mut chats: Vec<PathBuf> = sorted_entries(&project.join(CHATS))
                .into_iter()
                .filter(|path| is_chat_file(path))
                .collect();
            if !chats.is_empty() {
                chats.sort();
                found.push(chats);
            }
        }
        found
    }

    /// The sessions the runtime directory has chat files of (named by their session id).
    fn chat_sessions(&self) -> HashSet<String> {
        self.chats()
            .into_iter()
            .flatten()
            .filter_map(|path| Some(path.file_stem()?.to_str()?.to_owned()))
            .collect()
    }

    /// The project's cwd: a chat's recorded cwd whose SHA-256 names the log's directory.
    fn project_cwd(&self) -> (Option<String>, &'static str) {
        let Some(hash) = self.hash.as_deref() else {
            return (None, UNRESOLVED);
        };
        for chats in self.chats() {
            // Every chat of a project directory records its root: the first that reads tells.
            if let Some(cwd) = chats.iter().find_map(|chat| first_cwd(chat)) {
                if hex_sha256(&cwd) == hash {
                    return (Some(cwd), FROM_HASH);
                }
            }
        }
        (None, UNRESOLVED)
    }
}

/// The entries of `dir`, sorted; none when it cannot be listed (the chats are listed, and their
/// problems reported, by discovery).
fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| entries.filter_map(|entry| Some(entry.ok()?.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

/// The cwd a chat's first record names.
fn first_cwd(chat: &Path) -> Option<String> {
    let mut line = Vec::new();
    let file = File::open(chat).ok()?;
    BufReader::new(file.take(MAX_FIRST_LINE))
        .read_until(b'\n', &mut line)
        .ok()?;
    let Boxed(fields) = serde_json::from_slice::<Record<'_>>(&line).ok()?;
    fields
        .cwd
        .filter(|cwd| !cwd.is_empty())
        .map(|cwd| cwd.into_owned())
}

fn hex_sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_directory_is_the_sha256_of_the_project_root() {
        assert_eq!(
            hex_sha256("/root/terraform-project"),
            format!("{:x}", Sha256::digest(b"/root/terraform-project"))
        );
        assert_eq!(hex_sha256("").len(), 64);
    }

    #[test]
    fn sessions_keep_their_order_and_only_user_entries() {
        let entry = |session: &str, kind: &str, id: u64| LogEntry {
            session_id: Some(session.to_owned()),
            message_id: Some(id),
            kind: Some(kind.to_owned()),
            message: Some(format!("{session}{id}")),
            timestamp: Some("2025-09-21T00:30:37.499Z".to_owned()),
        };
        let grouped = by_session(vec![
            entry("b", "user", 0),
            entry("a", "user", 0),
            entry("b", "model_switch", 1),
            entry("b", "user", 2),
            entry("", "user", 0),
        ]);
        let summary: Vec<(String, usize)> = grouped
            .iter()
            .map(|(id, entries)| (id.clone(), entries.len()))
            .collect();
        assert_eq!(summary, [("b".to_owned(), 2), ("a".to_owned(), 1)]);
    }
}
