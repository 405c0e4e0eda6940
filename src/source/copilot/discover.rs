//! Where Copilot CLI keeps sessions and which files under a root are transcripts
//! (formats-more-tools.md section 2): `<home>/session-state/<session>.jsonl` (the 2025 flat
//! layout) and `<home>/session-state/<session>/events.jsonl` (since). A session directory
//! without `events.jsonl` (only `workspace.yaml`: opened, never used) holds no session and is
//! passed over without a word. Nothing else in a session directory (`session.db` of todos,
//! checkpoints, rewind snapshots, lock files) is read, nor anything else in Copilot's home.
//!
//! The walk has a fixed depth (home, `session-state`, session directory), so symlinked
//! directories are followed but can never loop.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::env::{home_dir, EnvLookup};
use crate::model::Diagnostic;
use crate::source::{walk, Discovery};

use super::COPILOT_HOME;

/// The directory of sessions in Copilot's home.
const SESSION_STATE: &str = "session-state";
/// A session directory's transcript.
pub(super) const EVENTS: &str = "events.jsonl";

/// `$COPILOT_HOME/session-state` when set and non-empty, else `$HOME/.copilot/session-state`.
pub(super) fn default_roots(env: EnvLookup<'_>) -> Vec<PathBuf> {
    COPILOT_HOME
        .path(env)
        .or_else(|| home_dir(env).map(|home| home.join(".copilot")))
        .map(|home| home.join(SESSION_STATE))
        .into_iter()
        .collect()
}

/// Lists the transcripts under `roots` (Copilot's home, its `session-state/`, one session
/// directory, or one file), sorted by path within each root. Copilot keeps no project layer, so
/// `--project` cannot prune.
pub(super) fn discover(roots: &[PathBuf]) -> Discovery {
    walk::files_under(roots, |root, found, diagnostics| {
        let state = root.join(SESSION_STATE);
        let dir = if state.is_dir() { state.as_path() } else { root };
        if is_file(&dir.join(EVENTS)) {
            found.push(dir.join(EVENTS));
        } else {
            sessions(dir, found, diagnostics);
        }
    })
}

/// The flat transcripts and the session directories' `events.jsonl` in `dir`. A transcript that
/// cannot be resolved (a dangling link, a loop) is reported rather than skipped unseen; anything
/// else named so is not Copilot's.
fn sessions(dir: &Path, found: &mut Vec<PathBuf>, diagnostics: &mut Vec<Diagnostic>) {
    for entry in walk::list_reporting(dir, is_transcript, diagnostics) {
        if entry.is_dir {
            let events = entry.path.join(EVENTS);
            match fs::metadata(&events) {
                Ok(meta) if meta.is_file() => found.push(events),
                // A directory of a session that never started, or a directory named so.
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => diagnostics.push(Diagnostic::unreadable(&events, &err)),
            }
        } else if entry.is_file && is_transcript(&entry.path) {
            found.push(entry.path);
        }
    }
}

/// A flat transcript's name.
fn is_transcript(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "jsonl")
}

fn is_file(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|meta| meta.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "{}\n").unwrap();
    }

    fn listed(discovery: &Discovery, base: &Path) -> Vec<String> {
        discovery
            .candidates
            .iter()
            .map(|candidate| candidate.path.strip_prefix(base).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn default_root_is_copilot_home_or_home() {
        let env = |name: &str| match name {
            "COPILOT_HOME" => Some(OsString::from("/c")),
            "HOME" => Some(OsString::from("/h")),
            _ => None,
        };
        assert_eq!(default_roots(&env), [PathBuf::from("/c/session-state")]);
        let env = |name: &str| (name == "HOME").then(|| OsString::from("/h"));
        assert_eq!(default_roots(&env), [PathBuf::from("/h/.copilot/session-state")]);
        assert!(default_roots(&|_: &str| None).is_empty());
    }

    #[test]
    fn finds_both_layouts_and_skips_sessions_that_never_started() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join(".copilot");
        let state = home.join("session-state");
        for file in [
            "63df9229.jsonl",
            "3cc3555e/events.jsonl",
            "3cc3555e/workspace.yaml",
            "3cc3555e/session.db",
            "3cc3555e/checkpoints/index.md",
            "25873420/workspace.yaml",
            "notes.txt",
        ] {
            touch(&state.join(file));
        }
        touch(&home.join("config.json"));
        fs::create_dir_all(state.join("dir.jsonl")).unwrap();
        fs::create_dir_all(state.join("odd/events.jsonl")).unwrap();
        let discovery = discover(std::slice::from_ref(&home));
        assert!(discovery.diagnostics.is_empty(), "{:?}", discovery.diagnostics);
        assert_eq!(
            listed(&discovery, &state),
            ["3cc3555e/events.jsonl", "63df9229.jsonl"]
        );
        // The same from `session-state/`, one session directory, one file.
        assert_eq!(
            discover(std::slice::from_ref(&state)).candidates,
            discovery.candidates
        );
        assert_eq!(
            listed(&discover(&[state.join("3cc3555e")]), &state),
            ["3cc3555e/events.jsonl"]
        );
        assert_eq!(
            listed(&discover(&[state.join("63df9229.jsonl")]), &state),
            ["63df9229.jsonl"]
        );
    }

    #[test]
    fn a_missing_root_and_a_dangling_transcript_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(discover(&[dir.path().join("missing")]).diagnostics.len(), 1);
        std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("s.jsonl")).unwrap();
        let discovery = discover(&[dir.path().to_path_buf()]);
        assert!(discovery.candidates.is_empty());
        assert_eq!(discovery.diagnostics.len(), 1);
    }
}
