//! Reads OpenCode's JSON storage trees (formats.md 3.1): the global `storage/` layout of
//! OpenCode before 1.2 and the older per-project `project/<dir>/storage/session/` layout.
//!
//! Ids come from file names, as OpenCode's own database migration takes them (formats.md 3.1 era
//! 3), so a session matches its database copy. Files may vanish while OpenCode runs (atomic
//! renames, cleanup): a file that is gone is skipped silently; one that cannot be read or parsed
//! is a diagnostic.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, ErrorKind};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::model::{Diagnostic, DiagnosticKind, KnownRevisions, Session};
use crate::source::jsonl::decode_document;
use crate::source::ParseOutcome;

use super::convert::{self, MessageRecord, PartRecord, SessionInfo, SessionRecord};

/// Which JSON tree a storage directory holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum JsonLayout {
    /// `storage/{project/<pid>.json, session/<pid>/<ses>.json, message/<ses>/<msg>.json,
    /// part/<msg>/<prt>.json}`.
    Global,
    /// `project/<dir>/storage/session/{info/<ses>.json, message/<ses>/<msg>.json,
    /// part/<ses>/<msg>/<prt>.json}` (to ~mid 2025).
    PerProject,
}

/// Reads every session under `storage` whose id is not in `taken`, handing each to `emit` as
/// soon as it is read and adding its id to `taken`.
pub(super) fn read_storage(
    storage: &Path,
    layout: JsonLayout,
    known: &KnownRevisions,
    taken: &mut HashSet<String>,
    outcome: &mut ParseOutcome,
    emit: &mut dyn FnMut(Session),
) {
    let mut reader = StorageReader {
        storage,
        layout,
        outcome,
        worktrees: HashMap::new(),
        unchanged: Vec::new(),
    };
    let session_files = match layout {
        JsonLayout::Global => {
            let mut files = Vec::new();
            for (_, project_dir) in reader.list(&storage.join("session"), EntryKind::Dir) {
                files.extend(reader.list(&project_dir, EntryKind::JsonFile));
            }
            files
        }
        JsonLayout::PerProject => reader.list(&storage.join("session").join("info"), EntryKind::JsonFile),
    };
    for (session_id, path) in session_files {
        if taken.contains(&session_id) {
            continue;
        }
        if let Some(session) = reader.read_session(session_id, &path, known) {
            taken.insert(session.id.clone());
            emit(session);
        }
    }
    // An unchanged session is taken too: an older copy in another store must not replace it.
    taken.extend(reader.unchanged);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Dir,
    JsonFile,
}

struct StorageReader<'a> {
    storage: &'a Path,
    layout: JsonLayout,
    outcome: &'a mut ParseOutcome,
    /// Project worktrees by project id, read once each.
    worktrees: HashMap<String, Option<String>>,
    /// Sessions skipped because their revision is known.
    unchanged: Vec<String>,
}

impl StorageReader<'_> {
    /// Reads one session, unless its revision is `known` (then it is counted and skipped before
    /// its messages and parts are listed).
    fn read_session(&mut self, session_id: String, path: &Path, known: &KnownRevisions) -> Option<Session> {
        let body = self.read_json(path)?;
        let updated_ms = body.pointer("/time/updated").and_then(convert::epoch_ms);
        if updated_ms.is_some() && known.get(&session_id) == updated_ms.as_ref() {
            self.outcome.unchanged_sessions += 1;
            self.unchanged.push(session_id);
            return None;
        }
        let mut info = SessionInfo {
            title: convert::text_field(&body, "/title"),
            directory: convert::text_field(&body, "/directory"),
            version: convert::text_field(&body, "/version"),
            parent_id: convert::text_field(&body, "/parentID"),
            created_ms: body.pointer("/time/created").and_then(convert::epoch_ms),
            updated_ms,
            ..SessionInfo::default()
        };
        if info.directory.is_none() {
            if let Some(project_id) = convert::text_field(&body, "/projectID") {
                info.worktree = self.worktree(&project_id);
            }
        }
        let messages = self.read_messages(&session_id);
        let source_file = path.to_string_lossy().into_owned();
        let record = SessionRecord {
            id: session_id,
            source_file,
            info,
            messages,
        };
        match convert::build_session(record) {
            Ok(session) => Some(session),
            Err(problem) => {
                self.diagnose(path, DiagnosticKind::Malformed, problem);
                None
            }
        }
    }

    fn read_messages(&mut self, session_id: &str) -> Vec<MessageRecord> {
        let message_dir = match self.layout {
            JsonLayout::Global => self.storage.join("message").join(session_id),
            JsonLayout::PerProject => self.storage.join("session").join("message").join(session_id),
        };
        let mut messages = Vec::new();
        for (message_id, path) in self.list(&message_dir, EntryKind::JsonFile) {
            let Some(info) = self.read_json(&path) else {
                continue;
            };
            let Some(created_ms) = convert::created_ms(&info) else {
                self.diagnose(
                    &path,
                    DiagnosticKind::Malformed,
                    "message has no valid time.created".to_owned(),
                );
                continue;
            };
            let part_dir = match self.layout {
                JsonLayout::Global => self.storage.join("part").join(&message_id),
                JsonLayout::PerProject => self
                    .storage
                    .join("session")
                    .join("part")
                    .join(session_id)
                    .join(&message_id),
            };
            let mut parts = Vec::new();
            for (part_id, part_path) in self.list(&part_dir, EntryKind::JsonFile) {
                if let Some(data) = self.read_json(&part_path) {
                    parts.push(PartRecord { id: part_id, data });
                }
            }
            messages.push(MessageRecord {
                id: message_id,
                created_ms,
                info,
                parts,
            });
        }
        messages
    }

    /// The `worktree` of `storage/project/<id>.json` (global layout only).
    fn worktree(&mut self, project_id: &str) -> Option<String> {
        if self.layout != JsonLayout::Global {
            return None;
        }
        if let Some(known) = self.worktrees.get(project_id) {
            return known.clone();
        }
        let path = self.storage.join("project").join(format!("{project_id}.json"));
        let worktree = self
            .read_json(&path)
            .and_then(|project| convert::text_field(&project, "/worktree"));
        self.worktrees.insert(project_id.to_owned(), worktree.clone());
        worktree
    }

    /// The entries of `dir` of one kind as (id, path), sorted by id. Temporary files
    /// (`.oc-<name>.<pid>.<ts>.tmp`) and other hidden entries are skipped.
    fn list(&mut self, dir: &Path, kind: EntryKind) -> Vec<(String, PathBuf)> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == ErrorKind::NotFound => return Vec::new(),
            Err(error) => {
                self.diagnose(
                    dir,
                    DiagnosticKind::Unreadable,
                    format!("cannot list directory: {error}"),
                );
                return Vec::new();
            }
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let name = match entry.file_name().into_string() {
                Ok(name) => name,
                Err(raw) => {
                    // OpenCode names everything by ASCII ids, so this is not one of its records,
                    // but it may hold one (a copy, a restore): say so rather than skip it unseen.
                    if kind == EntryKind::Dir || raw.as_encoded_bytes().ends_with(b".json") {
                        self.diagnose(
                            &entry.path(),
                            DiagnosticKind::Malformed,
                            "not read: its name is not valid UTF-8, so it is no OpenCode id \
                             (rename it to an OpenCode id to import it)"
                                .to_owned(),
                        );
                    }
                    continue;
                }
            };
            if name.starts_with('.') {
                continue;
            }
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            // Follow symlinks the way opening the path would.
            let is_dir = file_type.is_dir() || (file_type.is_symlink() && path.is_dir());
            let id = match kind {
                EntryKind::Dir if is_dir => name,
                EntryKind::JsonFile if !is_dir => match name.strip_suffix(".json") {
                    Some(stem) if !stem.is_empty() => stem.to_owned(),
                    _ => continue,
                },
                _ => continue,
            };
            found.push((id, path));
        }
        found.sort();
        found
    }

    /// Reads one JSON object file; `None` when it vanished or is reported as unreadable/malformed.
    fn read_json(&mut self, path: &Path) -> Option<Value> {
        // Read like an overlong JSONL line: a part holding a 64 MB tool output is cut to what
        // the planner stores while it is read, not held whole.
        let read = File::open(path).and_then(|file| decode_document::<Value>(BufReader::new(file)));
        let read = match read {
            Ok(read) => read,
            Err(error) if error.kind() == ErrorKind::NotFound => return None,
            Err(error) => {
                self.diagnose(
                    path,
                    DiagnosticKind::Unreadable,
                    format!("cannot read file: {error}"),
                );
                return None;
            }
        };
        self.outcome.stats.bytes += read.bytes;
        if read.invalid_utf8_replaced {
            self.diagnose(
                path,
                DiagnosticKind::InvalidUtf8,
                "invalid UTF-8 replaced with U+FFFD".to_owned(),
            );
        }
        match read.decoded {
            Ok(value) if value.is_object() => Some(value),
            Ok(_) => {
                self.diagnose(path, DiagnosticKind::Malformed, "not a JSON object".to_owned());
                None
            }
            Err(error) => {
                self.diagnose(path, DiagnosticKind::Malformed, format!("invalid JSON: {error}"));
                None
            }
        }
    }

    fn diagnose(&mut self, path: &Path, kind: DiagnosticKind, message: String) {
        if kind == DiagnosticKind::Malformed {
            self.outcome.stats.malformed_lines += 1;
        }
        self.outcome.diagnostics.push(Diagnostic {
            file: path.to_path_buf(),
            line: None,
            kind,
            message,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    use super::*;

    #[test]
    fn entries_with_names_that_are_not_utf8_are_reported_not_skipped_unseen() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = dir.path().join("session");
        std::fs::create_dir_all(&sessions).unwrap();
        let odd = |suffix: &[u8]| sessions.join(OsStr::from_bytes(&[b"ses_\xff", suffix].concat()));
        std::fs::write(odd(b".json"), "{}").unwrap();
        std::fs::write(odd(b".txt"), "").unwrap();
        std::fs::write(sessions.join("ses_ok.json"), "{}").unwrap();
        let mut outcome = ParseOutcome::default();
        let mut reader = StorageReader {
            storage: dir.path(),
            layout: JsonLayout::Global,
            outcome: &mut outcome,
            worktrees: HashMap::new(),
            unchanged: Vec::new(),
        };
        let listed = reader.list(&sessions, EntryKind::JsonFile);
        assert_eq!(listed, [("ses_ok".to_owned(), sessions.join("ses_ok.json"))]);
        let reported: Vec<_> = outcome
            .diagnostics
            .iter()
            .map(|d| (d.file.clone(), d.kind))
            .collect();
        assert_eq!(
            reported,
            [(odd(b".json"), DiagnosticKind::Malformed)],
            "only what could be a record"
        );
    }
}
