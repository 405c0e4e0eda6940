//! Where Claude Code keeps transcripts and which files under a root are sessions
//! (formats.md §1.1, §1.7): `<root>/<encoded-cwd>/<session>.jsonl`, flat 2.0.x
//! `agent-*.jsonl` beside them, and 2.1.x `<session>/subagents/agent-*.jsonl`.
//!
//! The walk has a fixed depth (root, project, session, `subagents`), so symlinked directories
//! are followed but can never loop.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::env::{home_dir, EnvLookup};
use crate::model::Diagnostic;
use crate::scope::ProjectScope;
use crate::source::walk::{self, Entry};
use crate::source::{Candidate, Discovery};

use super::CLAUDE_CONFIG_DIR;

const SESSION_EXTENSION: &str = ".jsonl";
const AGENT_PREFIX: &str = "agent-";

/// `$CLAUDE_CONFIG_DIR/projects` when set and non-empty, else `$HOME/.claude/projects`.
pub fn default_roots(env: EnvLookup<'_>) -> Vec<PathBuf> {
    config_dir(env)
        .map(|config| config.join("projects"))
        .into_iter()
        .collect()
}

/// Claude Code's config directory: `$CLAUDE_CONFIG_DIR`, else `~/.claude`.
pub(super) fn config_dir(env: EnvLookup<'_>) -> Option<PathBuf> {
    CLAUDE_CONFIG_DIR
        .path(env)
        .or_else(|| home_dir(env).map(|home| home.join(".claude")))
}

/// Lists the transcripts under `roots`, sorted by path (component-wise, so a session's
/// `subagents/` sort just before its own file) within each root. With a `scope`, project
/// directories whose name cannot be the encoding of a directory inside the scope are skipped.
pub fn discover(roots: &[PathBuf], scope: Option<&ProjectScope>) -> Discovery {
    let prefixes = scope.map(ProjectPrefixes::new);
    let mut discovery = Discovery::default();
    for root in roots {
        // The config directory itself (`~/.claude`, `$CLAUDE_CONFIG_DIR`) keeps its transcripts
        // under `projects/`; a project directory is never named `projects` (a launch cwd's
        // encoding starts with `-`).
        let projects = root.join("projects");
        let root = if projects.is_dir() { &projects } else { root };
        let mut walk = Walk {
            candidates: Vec::new(),
            diagnostics: &mut discovery.diagnostics,
        };
        match fs::metadata(root) {
            Ok(meta) if meta.is_dir() => walk.root(root, prefixes.as_ref()),
            Ok(_) => walk.push(root.clone(), is_agent_file_name(root)),
            Err(err) => walk.unreadable(root, &err),
        }
        let mut candidates = walk.candidates;
        candidates.sort_by(|a, b| a.path.cmp(&b.path));
        discovery.candidates.extend(candidates);
    }
    discovery
}

/// Claude's name for the project directory of a launch cwd: every UTF-16 code unit that is not
/// `[A-Za-z0-9]` becomes `-` (formats.md §1.1; Claude Code does this with a JS regex, so a
/// character outside the BMP becomes two dashes).
pub(super) fn encode_project_dir(cwd: &str) -> String {
    let mut encoded = String::with_capacity(cwd.len());
    for ch in cwd.chars() {
        if ch.is_ascii_alphanumeric() {
            encoded.push(ch);
        } else {
            encoded.extend(std::iter::repeat_n('-', ch.len_utf16()));
        }
    }
    encoded
}

/// The encoded scope roots a project directory name must equal or extend with `-`.
struct ProjectPrefixes {
    /// `None` when a scope root is `/`: every project directory may match.
    encoded: Option<Vec<String>>,
}

impl ProjectPrefixes {
    fn new(scope: &ProjectScope) -> Self {
        let roots = scope.roots();
        let encoded = (!roots.iter().any(|root| root == "/"))
            .then(|| roots.iter().map(|root| encode_project_dir(root)).collect());
        ProjectPrefixes { encoded }
    }

    /// Conservative: a directory is kept when a session launched inside the scope could live in it.
    fn may_hold(&self, dir_name: Option<&str>) -> bool {
        let Some(encoded) = &self.encoded else { return true };
        let Some(name) = dir_name else { return false };
        encoded.iter().any(|prefix| {
            name.strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
        })
    }
}

struct Walk<'a> {
    candidates: Vec<Candidate>,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Walk<'_> {
    /// A root holds project directories; when it directly holds transcripts it is a project
    /// directory itself (`--source ~/.claude/projects/<one-project>`).
    fn root(&mut self, root: &Path, prefixes: Option<&ProjectPrefixes>) {
        let entries = self.list(root);
        let root_is_project = entries
            .iter()
            .any(|entry| !entry.is_dir && is_session_file_name(&entry.path));
        for entry in entries {
            if entry.is_dir {
                let name = entry.path.file_name().and_then(|name| name.to_str());
                if prefixes.is_none_or(|prefixes| prefixes.may_hold(name)) {
                    self.project(&entry.path);
                }
                if root_is_project {
                    self.subagents(&entry.path);
                }
            } else if is_session_file_name(&entry.path) {
                let sidechain = is_agent_file_name(&entry.path);
                self.push(entry.path, sidechain);
            }
        }
    }

    /// Session files of one project directory, and the subagents of each session.
    fn project(&mut self, dir: &Path) {
        for entry in self.list(dir) {
            if entry.is_dir {
                self.subagents(&entry.path);
            } else if is_session_file_name(&entry.path) {
                let sidechain = is_agent_file_name(&entry.path);
                self.push(entry.path, sidechain);
            }
        }
    }

    /// `<session>/subagents/agent-*.jsonl` (2.1.x, formats.md §1.7).
    fn subagents(&mut self, session_dir: &Path) {
        let dir = session_dir.join("subagents");
        if !walk::is_present_dir(&dir, self.diagnostics) {
            return;
        }
        for entry in self.list(&dir) {
            if !entry.is_dir && is_session_file_name(&entry.path) && is_agent_file_name(&entry.path) {
                self.push(entry.path, true);
            }
        }
    }

    fn list(&mut self, dir: &Path) -> Vec<Entry> {
        walk::list(dir, self.diagnostics)
    }

    fn push(&mut self, path: PathBuf, sidechain: bool) {
        self.candidates.push(Candidate {
            path,
            also: Vec::new(),
            sidechain,
        });
    }

    fn unreadable(&mut self, path: &Path, err: &io::Error) {
        self.diagnostics.push(Diagnostic::unreadable(path, err));
    }
}

/// Compared as bytes: a name that is not UTF-8 is still a transcript (its session id comes
/// from its lines).
fn is_session_file_name(path: &Path) -> bool {
    path.file_name().is_some_and(|name| {
        let name = name.as_encoded_bytes();
        name.len() > SESSION_EXTENSION.len() && name.ends_with(SESSION_EXTENSION.as_bytes())
    })
}

/// `agent-<id>.jsonl`: a subagent transcript (flat 2.0.x or 2.1.x `subagents/`).
pub(super) fn is_agent_file_name(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.as_encoded_bytes().starts_with(AGENT_PREFIX.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::DiagnosticKind;
    use std::ffi::OsString;

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "{}\n").unwrap();
    }

    fn relative_paths(discovery: &Discovery, root: &Path) -> Vec<(String, bool)> {
        discovery
            .candidates
            .iter()
            .map(|c| {
                (
                    c.path.strip_prefix(root).unwrap().display().to_string(),
                    c.sidechain,
                )
            })
            .collect()
    }

    #[test]
    fn default_root_prefers_a_non_empty_config_dir() {
        let env = |name: &str| match name {
            "CLAUDE_CONFIG_DIR" => Some(OsString::from("/cfg")),
            "HOME" => Some(OsString::from("/home/u")),
            _ => None,
        };
        assert_eq!(default_roots(&env), vec![PathBuf::from("/cfg/projects")]);
        let env = |name: &str| match name {
            "CLAUDE_CONFIG_DIR" => Some(OsString::new()),
            "HOME" => Some(OsString::from("/home/u")),
            _ => None,
        };
        assert_eq!(
            default_roots(&env),
            vec![PathBuf::from("/home/u/.claude/projects")]
        );
        assert!(default_roots(&|_: &str| None).is_empty());
    }

    #[test]
    fn encoding_replaces_every_non_alphanumeric_utf16_unit() {
        assert_eq!(
            encode_project_dir("/Users/x/tele/paas-controller/.claude/worktrees/a_b"),
            "-Users-x-tele-paas-controller--claude-worktrees-a-b"
        );
        assert_eq!(encode_project_dir("/h/é/😀"), "-h-----");
        assert_eq!(encode_project_dir("C:\\w"), "C--w");
    }

    #[test]
    fn finds_sessions_flat_agents_and_subagents_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join("-p/b.jsonl"));
        touch(&root.join("-p/a.jsonl"));
        touch(&root.join("-p/agent-1234abcd.jsonl"));
        touch(&root.join("-p/notes.txt"));
        touch(&root.join("-p/a/subagents/agent-x.jsonl"));
        touch(&root.join("-p/a/subagents/agent-x.meta.json"));
        touch(&root.join("-p/a/subagents/other.jsonl"));
        touch(&root.join("-p/a/tool-results/t.txt"));
        fs::create_dir_all(root.join("-p/dir.jsonl")).unwrap();
        touch(&root.join("-p/deep/nested/x.jsonl"));
        let discovery = discover(&[root.to_path_buf()], None);
        assert!(discovery.diagnostics.is_empty(), "{:?}", discovery.diagnostics);
        assert_eq!(
            relative_paths(&discovery, root),
            vec![
                ("-p/a/subagents/agent-x.jsonl".to_owned(), true),
                ("-p/a.jsonl".to_owned(), false),
                ("-p/agent-1234abcd.jsonl".to_owned(), true),
                ("-p/b.jsonl".to_owned(), false),
            ]
        );
    }

    #[test]
    fn a_root_holding_transcripts_is_a_project_dir_and_a_file_root_is_one_candidate() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("-p");
        touch(&root.join("s.jsonl"));
        touch(&root.join("s/subagents/agent-a.jsonl"));
        let discovery = discover(std::slice::from_ref(&root), None);
        assert_eq!(
            relative_paths(&discovery, &root),
            vec![
                ("s/subagents/agent-a.jsonl".to_owned(), true),
                ("s.jsonl".to_owned(), false)
            ]
        );
        let file = root.join("s/subagents/agent-a.jsonl");
        let discovery = discover(std::slice::from_ref(&file), None);
        assert_eq!(discovery.candidates.len(), 1);
        assert!(discovery.candidates[0].sidechain);
    }

    #[test]
    fn the_config_directory_is_read_through_its_projects_directory() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join(".claude");
        touch(&config.join("projects/-p/s.jsonl"));
        touch(&config.join("todos/t.json"));
        let discovery = discover(std::slice::from_ref(&config), None);
        assert_eq!(
            relative_paths(&discovery, &config),
            vec![("projects/-p/s.jsonl".to_owned(), false)]
        );
    }

    #[test]
    fn scope_prunes_only_dirs_that_cannot_hold_the_project() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for project in ["-a-proj", "-a-proj-sub", "-a-project", "-a", "-b-proj"] {
            touch(&root.join(project).join("s.jsonl"));
        }
        let scope = ProjectScope::from_roots(["/a/proj".to_owned()]);
        let kept = relative_paths(&discover(&[root.to_path_buf()], Some(&scope)), root);
        assert_eq!(
            kept,
            vec![
                ("-a-proj/s.jsonl".to_owned(), false),
                ("-a-proj-sub/s.jsonl".to_owned(), false)
            ]
        );
        let everything = ProjectScope::from_roots(["/".to_owned()]);
        assert_eq!(
            discover(&[root.to_path_buf()], Some(&everything))
                .candidates
                .len(),
            5
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loops_and_missing_roots_are_diagnostics() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join("-p/s.jsonl"));
        std::os::unix::fs::symlink(root.join("-p/loop"), root.join("-p/loop")).unwrap();
        std::os::unix::fs::symlink(root, root.join("-p/s2")).unwrap();
        let missing = root.join("missing");
        let discovery = discover(&[root.to_path_buf(), missing.clone()], None);
        assert_eq!(
            relative_paths(&discovery, root),
            vec![("-p/s.jsonl".to_owned(), false)]
        );
        let unreadable: Vec<_> = discovery
            .diagnostics
            .iter()
            .map(|d| (d.file.clone(), d.kind))
            .collect();
        assert_eq!(
            unreadable,
            vec![
                (root.join("-p/loop"), DiagnosticKind::Unreadable),
                (missing, DiagnosticKind::Unreadable)
            ]
        );
    }
}
