//! Qwen Code's layout of the older prompt log `tmp/<project hash>/logs.json`
//! (formats-more-tools.md section 5), read by `source::prompt_log`: which of its sessions have a
//! chat, and the project's cwd. The log is a primary record here, not salvage: releases before
//! 0.14 wrote no chats, and their sessions are only in it.
//!
//! Releases that record chats write this log too. A session whose chat file exists
//! (`projects/*/chats/<session>.jsonl` in the same runtime directory) is read from the chat,
//! which holds every prompt the log does: the log's entries of that session are skipped, so no
//! prompt is stored twice. (What only the log holds of such a session is the input history of
//! commands, `/…` and `!…`, which the chat records as commands, not conversation.)
//!
//! The log names no cwd: it is the chat cwd whose SHA-256 is the directory's name, when a chat
//! of the project records one, else `unresolved`.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::source::prompt_log::{self, Layout, Reading};
use crate::source::visit::Boxed;
use crate::source::{Candidate, ParseOutcome};

use super::discover::{is_chat_file, CHATS, PROJECTS, TMP};
use super::wire::Record;
use super::{source_file, TOOL};

/// How a log's cwd was found (`SessionFacts::cwd_origin`).
const FROM_HASH: &str = "project_hash";
const UNRESOLVED: &str = "unresolved";
/// A chat's first record is a few KB; one longer than this is not read for its cwd.
const MAX_FIRST_LINE: u64 = 256 << 10;

/// Reads one prompt log into its sessions, whole.
pub(super) fn parse(candidate: &Candidate, file: File, outcome: ParseOutcome) -> ParseOutcome {
    let path = candidate.path.as_path();
    let place = Place::of(path);
    let mut layout = Log {
        chatted: place.chat_sessions(),
        place,
    };
    let reading = Reading {
        tool: TOOL,
        source_file: source_file(path),
        salvaged: false,
        layout: &mut layout,
    };
    prompt_log::parse(candidate, file, outcome, reading)
}

/// A prompt log's layout: the sessions with chats, and where the project is.
struct Log {
    place: Place,
    chatted: HashSet<String>,
}

impl Layout for Log {
    fn has_chat(&mut self, session_id: &str) -> bool {
        self.chatted.contains(session_id)
    }

    fn project_cwd(&mut self) -> (Option<String>, &'static str) {
        self.place.project_cwd()
    }
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
}
