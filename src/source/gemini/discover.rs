//! Where Gemini CLI keeps chats and which files under a root are sessions (formats.md 4.1):
//! `<home>/tmp/<project id>/chats/session-*.json` (legacy documents) and `session-*.jsonl`
//! (logs), subagent logs in `chats/<parent session>/<session>.jsonl`, and the copies Gemini CLI
//! set aside as unreadable before it rewrote a log (`*.jsonl.unreadable-<ms>`), which may hold
//! messages the rewrite lost. Partial writes (`*.tmp-<pid>`) are never read, nor is anything
//! outside `tmp/*/chats` but the markers that say where a project is (`project`).
//!
//! The walk has a fixed depth (home, tmp, project, chats, parent session), so symlinked
//! directories are followed but can never loop.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::env::{home_dir, EnvLookup};
use crate::model::Diagnostic;
use crate::scope::ProjectScope;
use crate::source::walk::{self, Entry};
use crate::source::{Candidate, Discovery};

use super::project::recorded_root;
use super::GEMINI_CLI_HOME;

/// `$GEMINI_CLI_HOME/.gemini` when set and non-empty, else `$HOME/.gemini`.
pub(super) fn default_roots(env: EnvLookup<'_>) -> Vec<PathBuf> {
    GEMINI_CLI_HOME
        .path(env)
        .or_else(|| home_dir(env))
        .map(|home| home.join(".gemini"))
        .into_iter()
        .collect()
}

/// How a chat file is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Container {
    /// The event log (v0.39+), appended to.
    Log,
    /// The legacy whole document, rewritten on every change.
    Document,
}

/// A chat file's container and whether it is a copy set aside as unreadable; `None` for
/// anything else (partial writes, other files).
pub(super) fn chat_file(name: &str) -> Option<(Container, bool)> {
    let (live, set_aside) = match name.split_once(".unreadable-") {
        Some((live, _)) => (live, true),
        None => (name, false),
    };
    if live.ends_with(".jsonl") {
        Some((Container::Log, set_aside))
    } else if live.ends_with(".json") {
        Some((Container::Document, set_aside))
    } else {
        None
    }
}

/// Lists the chats under `roots`: a Gemini home (holding `tmp/`), a `tmp/` directory, one
/// project's temp directory, a `chats/` directory, or one file. Within a `chats/` directory a
/// log comes before the legacy document it was resumed from and before copies set aside, so the
/// live version of a message is the one a run keeps (the planner keeps the first of an id). With
/// a `scope`, projects whose recorded root is outside it are skipped; unrecorded ones are read
/// (their sessions say `unresolved`, and no `--project` matches them).
pub(super) fn discover(roots: &[PathBuf], scope: Option<&ProjectScope>) -> Discovery {
    let mut walk = Walk {
        discovery: Discovery::default(),
        scope,
    };
    for root in roots {
        match fs::metadata(root) {
            Ok(meta) if meta.is_dir() => walk.root(root),
            Ok(_) => {
                let name = root
                    .file_name()
                    .and_then(|name| name.to_str())
                    .unwrap_or_default();
                if chat_file(name).is_some() {
                    let sidechain = super::project::Place::of(root).parent_session.is_some();
                    walk.push(root.clone(), sidechain);
                }
            }
            Err(err) => walk.unreadable(root, &err),
        }
    }
    walk.discovery
}

struct Walk<'s> {
    discovery: Discovery,
    scope: Option<&'s ProjectScope>,
}

impl Walk<'_> {
    fn root(&mut self, root: &Path) {
        let is_named = |name: &str| root.file_name().is_some_and(|own| own == name);
        if root.join("tmp").is_dir() {
            self.tmp(&root.join("tmp"), Some(root));
        } else if is_named("chats") {
            self.chats(root);
        } else if root.join("chats").is_dir() {
            let home = root.parent().and_then(Path::parent);
            self.project(root, home);
        } else {
            let home = root.parent().filter(|_| is_named("tmp"));
            self.tmp(root, home);
        }
    }

    /// `tmp/`: one directory per project.
    fn tmp(&mut self, tmp: &Path, home: Option<&Path>) {
        for entry in self.list(tmp) {
            if entry.is_dir {
                self.project(&entry.path, home);
            }
        }
    }

    fn project(&mut self, dir: &Path, home: Option<&Path>) {
        if let Some(scope) = self.scope {
            if let Some((root, _)) = recorded_root(dir, home) {
                if !scope.matches(&root) {
                    return;
                }
            }
        }
        let chats = dir.join("chats");
        if walk::is_present_dir(&chats, &mut self.discovery.diagnostics) {
            self.chats(&chats);
        }
    }

    /// `chats/`: main chats, and a directory of subagent chats per parent session.
    fn chats(&mut self, chats: &Path) {
        let mut found = Vec::new();
        for entry in self.list(chats) {
            if entry.is_dir {
                for file in self.list(&entry.path) {
                    if !file.is_dir {
                        found.push((file.path, true));
                    }
                }
            } else if entry
                .path
                .file_name()
                .is_some_and(|name| name.as_encoded_bytes().starts_with(b"session-"))
            {
                found.push((entry.path, false));
            }
        }
        let mut found: Vec<_> = found
            .into_iter()
            .filter_map(|(path, sidechain)| {
                let name = path.file_name()?.to_str()?;
                let (container, set_aside) = chat_file(name)?;
                let live = name.split_once(".unreadable-").map_or(name, |(live, _)| live);
                let stem = live.rsplit_once('.').map_or(live, |(stem, _)| stem).to_owned();
                let key = (path.parent().map(Path::to_path_buf), stem, set_aside, container);
                Some((key, path, sidechain))
            })
            .collect();
        found.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        for (_, path, sidechain) in found {
            self.push(path, sidechain);
        }
    }

    fn list(&mut self, dir: &Path) -> Vec<Entry> {
        walk::list(dir, &mut self.discovery.diagnostics)
    }

    fn push(&mut self, path: PathBuf, sidechain: bool) {
        self.discovery.candidates.push(Candidate {
            path,
            also: Vec::new(),
            sidechain,
        });
    }

    fn unreadable(&mut self, path: &Path, err: &io::Error) {
        self.discovery.diagnostics.push(Diagnostic::unreadable(path, err));
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

    fn listed(discovery: &Discovery, base: &Path) -> Vec<(String, bool)> {
        discovery
            .candidates
            .iter()
            .map(|candidate| {
                let path = candidate.path.strip_prefix(base).unwrap();
                (path.display().to_string(), candidate.sidechain)
            })
            .collect()
    }

    #[test]
    fn default_root_is_the_gemini_cli_home_or_home() {
        let env = |name: &str| match name {
            "GEMINI_CLI_HOME" => Some(OsString::from("/g")),
            "HOME" => Some(OsString::from("/h")),
            _ => None,
        };
        assert_eq!(default_roots(&env), [PathBuf::from("/g/.gemini")]);
        let env = |name: &str| (name == "HOME").then(|| OsString::from("/h"));
        assert_eq!(default_roots(&env), [PathBuf::from("/h/.gemini")]);
        assert!(default_roots(&|_: &str| None).is_empty());
    }

    #[test]
    fn finds_chats_subagents_and_set_aside_copies_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join(".gemini");
        let chats = home.join("tmp/p/chats");
        for name in [
            "session-2026-01-01T00-00-aaaaaaaa.json",
            "session-2026-01-01T00-00-aaaaaaaa.jsonl",
            "session-2026-01-01T00-00-aaaaaaaa.jsonl.unreadable-1700000000000",
            "session-2026-01-01T00-00-aaaaaaaa.jsonl.tmp-42",
            "session-2026-02-01T00-00-bbbbbbbb.jsonl",
            "checkpoint-tag.json",
            "notes.txt",
            "parent/child.jsonl",
            "parent/child.jsonl.tmp-7",
        ] {
            touch(&chats.join(name));
        }
        for other in [
            "oauth_creds.json",
            "google_accounts.json",
            "settings.json",
            "tmp/p/logs.json",
            "tmp/q/shell_history",
        ] {
            touch(&home.join(other));
        }
        let discovery = discover(std::slice::from_ref(&home), None);
        assert!(discovery.diagnostics.is_empty(), "{:?}", discovery.diagnostics);
        let base = home.join("tmp/p/chats");
        assert_eq!(
            listed(&discovery, &base),
            [
                ("session-2026-01-01T00-00-aaaaaaaa.jsonl", false),
                ("session-2026-01-01T00-00-aaaaaaaa.json", false),
                (
                    "session-2026-01-01T00-00-aaaaaaaa.jsonl.unreadable-1700000000000",
                    false
                ),
                ("session-2026-02-01T00-00-bbbbbbbb.jsonl", false),
                ("parent/child.jsonl", true),
            ]
            .map(|(path, sidechain)| (path.to_owned(), sidechain))
        );
        // The same files from every level of the layout.
        for root in [home.join("tmp"), home.join("tmp/p"), base.clone()] {
            assert_eq!(discover(&[root], None).candidates, discovery.candidates);
        }
        let file = base.join("parent/child.jsonl");
        assert!(discover(std::slice::from_ref(&file), None).candidates[0].sidechain);
    }

    #[test]
    fn scope_skips_only_projects_recorded_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        for project in ["in", "out", "unknown"] {
            touch(&home.join("tmp").join(project).join("chats/session-x.jsonl"));
        }
        fs::write(home.join("tmp/in/.project_root"), "/w/proj/sub").unwrap();
        fs::write(home.join("projects.json"), r#"{"projects":{"/w/other":"out"}}"#).unwrap();
        let scope = ProjectScope::from_roots(["/w/proj".to_owned()]);
        let found = discover(&[home.to_path_buf()], Some(&scope));
        assert_eq!(
            listed(&found, &home.join("tmp")),
            [
                ("in/chats/session-x.jsonl".to_owned(), false),
                ("unknown/chats/session-x.jsonl".to_owned(), false)
            ]
        );
    }

    #[test]
    fn a_missing_root_is_a_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let discovery = discover(&[dir.path().join("missing")], None);
        assert!(discovery.candidates.is_empty());
        assert_eq!(discovery.diagnostics.len(), 1);
    }
}
