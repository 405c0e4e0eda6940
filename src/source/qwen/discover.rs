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
use crate::source::prompt_log::PROMPT_LOG;
use crate::source::walk::{self, Entry};
use crate::source::Discovery;

use super::{QWEN_HOME, QWEN_RUNTIME_DIR};

pub(super) const PROJECTS: &str = "projects";
pub(super) const TMP: &str = "tmp";
pub(super) const CHATS: &str = "chats";

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
    walk::files_under(roots, |root, found, diagnostics| {
        Walk { found, diagnostics }.root(root)
    })
}

struct Walk<'a> {
    found: &'a mut Vec<PathBuf>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Walk<'_> {
    fn root(&mut self, root: &Path) {
        let named = |name: &str| root.file_name().is_some_and(|own| own == name);
        let (projects, tmp) = (root.join(PROJECTS), root.join(TMP));
        if projects.is_dir() || tmp.is_dir() {
            for container in [projects, tmp] {
                if container.is_dir() {
                    self.container(&container);
                }
            }
        } else if named(CHATS) {
            self.chats(root);
        } else if root.join(CHATS).is_dir() || root.join(PROMPT_LOG).is_file() {
            self.project(root);
        } else {
            self.container(root);
        }
    }

    /// `projects/` or `tmp/`: one directory per project.
    fn container(&mut self, dir: &Path) {
        for entry in self.list(dir) {
            if entry.is_dir {
                self.project(&entry.path);
            }
        }
    }

    /// A project's directory: its `chats/`, or its prompt log.
    fn project(&mut self, dir: &Path) {
        let chats = dir.join(CHATS);
        if chats.is_dir() {
            self.chats(&chats);
        }
        let log = dir.join(PROMPT_LOG);
        match fs::metadata(&log) {
            Ok(meta) if meta.is_file() => self.found.push(log),
            _ => {}
        }
    }

    fn chats(&mut self, dir: &Path) {
        for entry in self.list(dir) {
            if !entry.is_dir && is_chat_file(&entry.path) {
                self.found.push(entry.path);
            }
        }
    }

    /// The entries of `dir`; what cannot be listed is a diagnostic, and so is a chat file that
    /// cannot be resolved.
    fn list(&mut self, dir: &Path) -> Vec<Entry> {
        walk::list_reporting(dir, is_chat_file, self.diagnostics)
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
