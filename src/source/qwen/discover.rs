//! Where Qwen Code keeps sessions and which files under a root are read (formats-more-tools.md
//! section 5): chat files `<runtime dir>/projects/<sanitized cwd>/chats/<session>.jsonl` (0.14 and
//! later) and the older prompt logs `<runtime dir>/tmp/<SHA-256 of the project root>/logs.json`.
//! Nothing else is read: not the todo lists (`todos/`), checkpoints or shell history beside them,
//! and never the credentials and settings in Qwen Code's home (`oauth_creds.json`,
//! `settings.json`).
//!
//! The walk has a fixed depth (runtime dir, `projects/` or `tmp/`, project, `chats/`), so
//! symlinked directories are followed but can never loop.

use std::fs;
use std::path::{Path, PathBuf};

use crate::env::{home_dir, EnvLookup};
use crate::model::Diagnostic;
use crate::source::{Candidate, Discovery};

use super::{QWEN_HOME, QWEN_RUNTIME_DIR};

pub(super) const PROJECTS: &str = "projects";
pub(super) const TMP: &str = "tmp";
pub(super) const CHATS: &str = "chats";
pub(super) const PROMPT_LOG: &str = "logs.json";

/// Where Qwen Code keeps its sessions, as it resolves it: `$QWEN_RUNTIME_DIR`, else
/// `$QWEN_HOME`, else `~/.qwen`.
pub(super) fn default_roots(env: EnvLookup<'_>) -> Vec<PathBuf> {
    QWEN_RUNTIME_DIR
        .path(env)
        .or_else(|| QWEN_HOME.path(env))
        .or_else(|| home_dir(env).map(|home| home.join(".qwen")))
        .into_iter()
        .collect()
}

/// Whether a file of that name is a chat file.
pub(super) fn is_chat_file(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "jsonl")
}

/// Lists the chat files and prompt logs under `roots`: a runtime directory, its `projects/` or
/// `tmp/`, one project's directory, a `chats/` directory, or one file; sorted by path within each
/// root (so a home's chats come before its prompt logs). The project directories' names are a
/// lossy (and on Windows lower-cased) form of the cwd, so `--project` cannot prune.
pub(super) fn discover(roots: &[PathBuf]) -> Discovery {
    let mut walk = Walk::default();
    for root in roots {
        let mut found = Vec::new();
        match fs::metadata(root) {
            Ok(meta) if meta.is_dir() => walk.root(root, &mut found),
            Ok(_) => found.push(root.clone()),
            Err(err) => walk.diagnostics.push(Diagnostic::unreadable(root, &err)),
        }
        found.sort();
        walk.candidates.extend(found);
    }
    Discovery {
        candidates: walk
            .candidates
            .into_iter()
            .map(|path| Candidate {
                path,
                also: Vec::new(),
                sidechain: false,
            })
            .collect(),
        diagnostics: walk.diagnostics,
    }
}

#[derive(Default)]
struct Walk {
    candidates: Vec<PathBuf>,
    diagnostics: Vec<Diagnostic>,
}

impl Walk {
    fn root(&mut self, root: &Path, found: &mut Vec<PathBuf>) {
        let named = |name: &str| root.file_name().is_some_and(|own| own == name);
        let (projects, tmp) = (root.join(PROJECTS), root.join(TMP));
        if projects.is_dir() || tmp.is_dir() {
            for container in [projects, tmp] {
                if container.is_dir() {
                    self.container(&container, found);
                }
            }
        } else if named(CHATS) {
            self.chats(root, found);
        } else if root.join(CHATS).is_dir() || root.join(PROMPT_LOG).is_file() {
            self.project(root, found);
        } else {
            self.container(root, found);
        }
    }

    /// `projects/` or `tmp/`: one directory per project.
    fn container(&mut self, dir: &Path, found: &mut Vec<PathBuf>) {
        for (path, is_dir) in self.list(dir) {
            if is_dir {
                self.project(&path, found);
            }
        }
    }

    /// A project's directory: its `chats/`, or its prompt log.
    fn project(&mut self, dir: &Path, found: &mut Vec<PathBuf>) {
        let chats = dir.join(CHATS);
        if chats.is_dir() {
            self.chats(&chats, found);
        }
        let log = dir.join(PROMPT_LOG);
        match fs::metadata(&log) {
            Ok(meta) if meta.is_file() => found.push(log),
            _ => {}
        }
    }

    fn chats(&mut self, dir: &Path, found: &mut Vec<PathBuf>) {
        for (path, is_dir) in self.list(dir) {
            if !is_dir && is_chat_file(&path) {
                found.push(path);
            }
        }
    }

    /// The entries of `dir` with whether each is a directory (symlinks resolved); what cannot be
    /// listed is a diagnostic, and so is a chat file that cannot be resolved.
    fn list(&mut self, dir: &Path) -> Vec<(PathBuf, bool)> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) => {
                self.diagnostics.push(Diagnostic::unreadable(dir, &err));
                return Vec::new();
            }
        };
        let mut listed = Vec::new();
        for entry in entries {
            let path = match entry {
                Ok(entry) => entry.path(),
                Err(err) => {
                    self.diagnostics.push(Diagnostic::unreadable(dir, &err));
                    continue;
                }
            };
            match fs::metadata(&path) {
                Ok(meta) => listed.push((path, meta.is_dir())),
                Err(err) if is_chat_file(&path) => self.diagnostics.push(Diagnostic::unreadable(&path, &err)),
                Err(_) => {}
            }
        }
        listed
    }
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
    fn default_root_is_the_runtime_dir_then_qwen_home_then_home() {
        let env = |name: &str| match name {
            "QWEN_RUNTIME_DIR" => Some(OsString::from("/r")),
            "QWEN_HOME" => Some(OsString::from("/q")),
            "HOME" => Some(OsString::from("/h")),
            _ => None,
        };
        assert_eq!(default_roots(&env), [PathBuf::from("/r")]);
        let env = |name: &str| match name {
            "QWEN_HOME" => Some(OsString::from("/q")),
            "HOME" => Some(OsString::from("/h")),
            _ => None,
        };
        assert_eq!(default_roots(&env), [PathBuf::from("/q")]);
        let env = |name: &str| (name == "HOME").then(|| OsString::from("/h"));
        assert_eq!(default_roots(&env), [PathBuf::from("/h/.qwen")]);
        assert!(default_roots(&|_: &str| None).is_empty());
    }

    #[test]
    fn finds_chats_and_prompt_logs_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join(".qwen");
        for file in [
            "projects/-home-dev-app/chats/a.jsonl",
            "projects/-home-dev-app/chats/b.jsonl",
            "projects/-home-dev-app/chats/notes.txt",
            "projects/c--users-dev-x/chats/c.jsonl",
            "tmp/94a6b447/logs.json",
            "tmp/94a6b447/shell_history",
            "tmp/94a6b447/chats/checkpoint-tag.json",
            "todos/a.json",
            "oauth_creds.json",
            "settings.json",
        ] {
            touch(&home.join(file));
        }
        fs::create_dir_all(home.join("projects/-home-dev-app/chats/dir.jsonl")).unwrap();
        let discovery = discover(std::slice::from_ref(&home));
        assert!(discovery.diagnostics.is_empty(), "{:?}", discovery.diagnostics);
        let all = [
            "projects/-home-dev-app/chats/a.jsonl",
            "projects/-home-dev-app/chats/b.jsonl",
            "projects/c--users-dev-x/chats/c.jsonl",
            "tmp/94a6b447/logs.json",
        ];
        assert_eq!(listed(&discovery, &home), all);
        // The same files from every level of the layout.
        let from = |root: &str| listed(&discover(&[home.join(root)]), &home);
        assert_eq!(from("projects"), all[..3]);
        assert_eq!(from("projects/-home-dev-app"), all[..2]);
        assert_eq!(from("projects/-home-dev-app/chats"), all[..2]);
        assert_eq!(from("tmp"), all[3..]);
        assert_eq!(from("tmp/94a6b447"), all[3..]);
        assert_eq!(from("tmp/94a6b447/logs.json"), all[3..]);
    }

    #[test]
    fn a_missing_root_and_a_dangling_chat_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(discover(&[dir.path().join("missing")]).diagnostics.len(), 1);
        let chats = dir.path().join("chats");
        fs::create_dir_all(&chats).unwrap();
        std::os::unix::fs::symlink(chats.join("gone"), chats.join("s.jsonl")).unwrap();
        let discovery = discover(&[chats]);
        assert!(discovery.candidates.is_empty());
        assert_eq!(discovery.diagnostics.len(), 1);
    }
}
