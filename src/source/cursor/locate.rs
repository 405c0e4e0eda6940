//! Finding Cursor's stores under the roots of a candidate: agent transcripts
//! (`~/.cursor/projects/<folder>/agent-transcripts/`), cursor-agent chats
//! (`~/.cursor/chats/<md5>/<agent id>/store.db`) and the IDE databases of a user directory
//! (`globalStorage/state.vscdb`, `workspaceStorage/<id>/state.vscdb` beside `workspace.json`).
//!
//! A root may be a home directory, `~/.cursor` or any directory in it down to a single file, a
//! Cursor user directory or any directory in it; a root holding several of these layouts (a
//! `.cursor` and a user directory side by side) is read as all of them. Only the directories of
//! these layouts are listed, never `~/.cursor/extensions` or any other tree.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::model::Diagnostic;

use super::cwd::uri_path;

/// Where a Cursor user directory lies under a home directory, per platform.
const USER_DIRS: [&str; 3] = [
    ".config/Cursor/User",
    "Library/Application Support/Cursor/User",
    "AppData/Roaming/Cursor/User",
];

/// Every store under a candidate's roots, each once, in path order.
#[derive(Debug, Default)]
pub(super) struct Stores {
    pub databases: Vec<IdeDatabase>,
    pub agent_stores: Vec<AgentStore>,
    pub transcripts: Vec<TranscriptFile>,
    /// The folder each workspace (`workspaceStorage/<id>`) names in its `workspace.json`.
    pub workspaces: BTreeMap<String, String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A `state.vscdb`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct IdeDatabase {
    pub path: PathBuf,
    /// The workspace id (its `workspaceStorage` folder) of a per-workspace database; `None` for
    /// the global one.
    pub workspace: Option<String>,
}

/// A cursor-agent `store.db`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct AgentStore {
    pub path: PathBuf,
    /// The folder it lies in: the chat's agent id.
    pub agent_id: String,
    /// The folder above: the MD5 of the workspace path.
    pub chats_folder: Option<String>,
}

/// The three transcript generations (formats-more-tools.md 1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Format {
    Jsonl,
    Json,
    Txt,
}

/// One agent transcript file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct TranscriptFile {
    pub path: PathBuf,
    pub session_id: String,
    pub format: Format,
    /// The project folder it lies in (`~/.cursor/projects/<folder>`): the encoded workspace.
    pub folder: Option<String>,
    /// The session a `subagents/` transcript was spawned from.
    pub parent: Option<String>,
}

/// `workspace.json`: the folder (or multi-root workspace file) a workspace opened.
#[derive(Deserialize)]
struct WorkspaceJson {
    folder: Option<String>,
}

impl Stores {
    /// The stores under every root; a root that does not exist holds none.
    pub fn locate(roots: &[PathBuf]) -> Stores {
        let mut stores = Stores::default();
        for root in roots {
            stores.root(root);
        }
        stores.databases.sort();
        stores.databases.dedup();
        stores.agent_stores.sort();
        stores.agent_stores.dedup();
        stores.transcripts.sort();
        stores.transcripts.dedup();
        // The global database first: it holds the conversations, a workspace's mostly their list.
        stores.databases.sort_by_key(|db| db.workspace.is_some());
        stores
    }

    pub fn is_empty(&self) -> bool {
        self.databases.is_empty() && self.agent_stores.is_empty() && self.transcripts.is_empty()
    }

    fn root(&mut self, root: &Path) {
        if root.is_file() {
            self.file(root);
            return;
        }
        if !root.is_dir() {
            return;
        }
        let name = file_name(root);
        let parent_name = root.parent().map(file_name).unwrap_or_default();
        if root.join(".cursor").is_dir() {
            self.cursor_dir(&root.join(".cursor"));
        }
        for user_dir in USER_DIRS {
            if root.join(user_dir).is_dir() {
                self.user_dir(&root.join(user_dir));
            }
        }
        self.cursor_dir(root);
        self.user_dir(root);
        if root.join("User").join("globalStorage").is_dir()
            || root.join("User").join("workspaceStorage").is_dir()
        {
            self.user_dir(&root.join("User"));
        }
        match name.as_str() {
            "projects" => self.projects(root),
            "chats" => self.chats(root),
            "agent-transcripts" => self.transcripts_dir(root, Some(parent_name.clone())),
            "workspaceStorage" => self.workspace_storage(root),
            "globalStorage" => self.database(&root.join("state.vscdb"), None),
            _ => {}
        }
        if root.join("agent-transcripts").is_dir() {
            self.transcripts_dir(&root.join("agent-transcripts"), Some(name.clone()));
        }
        if root.join("store.db").is_file() {
            self.file(&root.join("store.db"));
        }
        if root.join("state.vscdb").is_file() && root.join("workspace.json").is_file() {
            self.workspace(root);
        }
        // `agent-transcripts/<id>`: one IDE transcript and its subagents.
        if parent_name == "agent-transcripts" {
            let folder = root.parent().and_then(Path::parent).map(file_name);
            self.transcript(&root.join(format!("{name}.jsonl")), folder.clone(), None);
            for sub in self.list(&root.join("subagents")) {
                self.transcript(&sub, folder.clone(), Some(name.clone()));
            }
        }
        // `~/.cursor/chats/<md5>`: the agent folders of one workspace.
        if parent_name == "chats" {
            for agent in self.list(root).into_iter().filter(|path| path.is_dir()) {
                self.agent_store(&agent.join("store.db"));
            }
        }
    }

    /// `~/.cursor` (or a directory laid out like it): `projects/` and `chats/`.
    fn cursor_dir(&mut self, dir: &Path) {
        if dir.join("projects").is_dir() {
            self.projects(&dir.join("projects"));
        }
        if dir.join("chats").is_dir() {
            self.chats(&dir.join("chats"));
        }
    }

    fn projects(&mut self, dir: &Path) {
        for project in self.list(dir) {
            let transcripts = project.join("agent-transcripts");
            if transcripts.is_dir() {
                self.transcripts_dir(&transcripts, Some(file_name(&project)));
            }
        }
    }

    /// An `agent-transcripts` directory: `<id>.jsonl|json|txt` and `<id>/<id>.jsonl` with
    /// `<id>/subagents/<sub id>.jsonl`.
    fn transcripts_dir(&mut self, dir: &Path, folder: Option<String>) {
        for entry in self.list(dir) {
            if entry.is_dir() {
                let id = file_name(&entry);
                self.transcript(&entry.join(format!("{id}.jsonl")), folder.clone(), None);
                let subagents = entry.join("subagents");
                if subagents.is_dir() {
                    for sub in self.list(&subagents) {
                        self.transcript(&sub, folder.clone(), Some(id.clone()));
                    }
                }
            } else {
                self.transcript(&entry, folder.clone(), None);
            }
        }
    }

    fn transcript(&mut self, path: &Path, folder: Option<String>, parent: Option<String>) {
        let Some((session_id, format)) = transcript_name(path) else {
            return;
        };
        if !path.is_file() {
            // A link that leads nowhere (a loop, a target gone) may hide a transcript: say so.
            if path
                .symlink_metadata()
                .is_ok_and(|meta| meta.file_type().is_symlink())
            {
                if let Err(error) = std::fs::metadata(path) {
                    self.unreadable(path, error);
                }
            }
            return;
        }
        self.transcripts.push(TranscriptFile {
            path: path.to_path_buf(),
            session_id,
            format,
            folder,
            parent,
        });
    }

    fn chats(&mut self, dir: &Path) {
        for workspace in self.list(dir) {
            if workspace.is_dir() {
                for agent in self.list(&workspace) {
                    self.agent_store(&agent.join("store.db"));
                }
            }
        }
    }

    fn agent_store(&mut self, path: &Path) {
        if !path.is_file() {
            return;
        }
        let agent_dir = path.parent().unwrap_or(path);
        self.agent_stores.push(AgentStore {
            path: path.to_path_buf(),
            agent_id: file_name(agent_dir),
            chats_folder: agent_dir.parent().map(file_name).filter(|name| !name.is_empty()),
        });
    }

    /// A Cursor user directory: `globalStorage/` and `workspaceStorage/`.
    fn user_dir(&mut self, dir: &Path) {
        self.database(&dir.join("globalStorage").join("state.vscdb"), None);
        if dir.join("workspaceStorage").is_dir() {
            self.workspace_storage(&dir.join("workspaceStorage"));
        }
    }

    fn workspace_storage(&mut self, dir: &Path) {
        for workspace in self.list(dir) {
            if workspace.is_dir() {
                self.workspace(&workspace);
            }
        }
    }

    /// `workspaceStorage/<id>`: its folder from `workspace.json`, and its database.
    fn workspace(&mut self, dir: &Path) {
        let id = file_name(dir);
        let json = dir.join("workspace.json");
        match std::fs::read(&json) {
            Ok(bytes) => {
                // Multi-root workspaces and empty windows name no folder: no cwd.
                let folder = serde_json::from_slice::<WorkspaceJson>(&bytes)
                    .ok()
                    .and_then(|workspace| workspace.folder)
                    .and_then(|uri| uri_path(&uri));
                if let Some(folder) = folder {
                    self.workspaces.insert(id.clone(), folder);
                }
            }
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => self.unreadable(&json, error),
        }
        self.database(&dir.join("state.vscdb"), Some(id));
    }

    fn database(&mut self, path: &Path, workspace: Option<String>) {
        if path.is_file() {
            self.databases.push(IdeDatabase {
                path: path.to_path_buf(),
                workspace,
            });
        }
    }

    /// A root that is one file: a database, a cursor-agent store or a transcript.
    fn file(&mut self, path: &Path) {
        let name = file_name(path);
        let parent = path.parent();
        let parent_name = parent.map(file_name).unwrap_or_default();
        if name.ends_with(".vscdb") {
            let workspace = parent
                .filter(|dir| dir.join("workspace.json").is_file())
                .map(|dir| {
                    self.workspace(dir);
                    file_name(dir)
                });
            if workspace.is_none() {
                self.database(path, None);
            }
        } else if name == "store.db" {
            self.agent_store(path);
        } else if let Some((session_id, _)) = transcript_name(path) {
            // `<folder>/agent-transcripts/<id>.x`, `.../<id>/<id>.jsonl` or `.../<id>/subagents/<sub>.jsonl`.
            let ancestors: Vec<String> = path.ancestors().skip(1).take(4).map(file_name).collect();
            let ancestor = |n: usize| ancestors.get(n).cloned();
            let (folder, parent_id) = if parent_name == "agent-transcripts" {
                (ancestor(1), None)
            } else if parent_name == session_id && ancestor(1).as_deref() == Some("agent-transcripts") {
                (ancestor(2), None)
            } else if parent_name == "subagents" && ancestor(2).as_deref() == Some("agent-transcripts") {
                (ancestor(3), ancestor(1))
            } else {
                (None, None)
            };
            self.transcript(path, folder, parent_id);
        }
    }

    /// The entries of `dir`, sorted, hidden ones left out; one that cannot be listed is reported.
    fn list(&mut self, dir: &Path) -> Vec<PathBuf> {
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                let mut paths: Vec<PathBuf> = entries
                    .flatten()
                    .filter(|entry| !entry.file_name().as_encoded_bytes().starts_with(b"."))
                    .map(|entry| entry.path())
                    .collect();
                paths.sort();
                paths
            }
            Err(error) if error.kind() == ErrorKind::NotFound => Vec::new(),
            Err(error) => {
                self.unreadable(dir, error);
                Vec::new()
            }
        }
    }

    fn unreadable(&mut self, path: &Path, error: std::io::Error) {
        self.diagnostics.push(Diagnostic::unreadable(path, error));
    }
}

/// The session id and format of a transcript file name (`<id>.jsonl`, `<id>.json`, `<id>.txt`).
fn transcript_name(path: &Path) -> Option<(String, Format)> {
    let name = path.file_name()?.to_str()?;
    let (stem, format) = [
        (".jsonl", Format::Jsonl),
        (".json", Format::Json),
        (".txt", Format::Txt),
    ]
    .into_iter()
    .find_map(|(extension, format)| Some((name.strip_suffix(extension)?, format)))?;
    (!stem.is_empty() && !stem.starts_with('.')).then(|| (stem.to_owned(), format))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "").unwrap();
    }

    #[test]
    fn a_home_holds_every_layout_and_each_store_is_found_once() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let projects = home.join(".cursor/projects/home-dev-app/agent-transcripts");
        for file in [
            "a.txt",
            "a.json",
            "b.jsonl",
            "c/c.jsonl",
            "c/subagents/d.jsonl",
            "notes.md",
            ".hidden.jsonl",
        ] {
            touch(&projects.join(file));
        }
        touch(&home.join(".cursor/chats/0123/agent-1/store.db"));
        touch(&home.join(".cursor/extensions/x/y.jsonl"));
        let user = home.join(".config/Cursor/User");
        touch(&user.join("globalStorage/state.vscdb"));
        touch(&user.join("workspaceStorage/ws1/state.vscdb"));
        std::fs::write(
            user.join("workspaceStorage/ws1/workspace.json"),
            r#"{"folder": "file:///home/dev/app"}"#,
        )
        .unwrap();

        let roots = [home.to_path_buf(), home.join(".cursor/projects"), user.clone()];
        let stores = Stores::locate(&roots);
        let transcripts: Vec<_> = stores
            .transcripts
            .iter()
            .map(|t| {
                (
                    t.session_id.as_str(),
                    t.format,
                    t.folder.as_deref(),
                    t.parent.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            transcripts,
            [
                ("a", Format::Json, Some("home-dev-app"), None),
                ("a", Format::Txt, Some("home-dev-app"), None),
                ("b", Format::Jsonl, Some("home-dev-app"), None),
                ("c", Format::Jsonl, Some("home-dev-app"), None),
                ("d", Format::Jsonl, Some("home-dev-app"), Some("c")),
            ]
        );
        assert_eq!(stores.agent_stores.len(), 1);
        assert_eq!(stores.agent_stores[0].agent_id, "agent-1");
        assert_eq!(stores.agent_stores[0].chats_folder.as_deref(), Some("0123"));
        let databases: Vec<_> = stores.databases.iter().map(|d| d.workspace.as_deref()).collect();
        assert_eq!(databases, [None, Some("ws1")]);
        assert_eq!(stores.workspaces["ws1"], "/home/dev/app");
    }

    #[test]
    fn single_files_and_inner_directories_are_roots_too() {
        let dir = tempfile::tempdir().unwrap();
        let transcripts = dir.path().join("projects/f/agent-transcripts");
        touch(&transcripts.join("s/subagents/t.jsonl"));
        touch(&transcripts.join("s/s.jsonl"));
        let stores = Stores::locate(&[transcripts.join("s/subagents/t.jsonl")]);
        let sub = &stores.transcripts[0];
        assert_eq!(
            (sub.folder.as_deref(), sub.parent.as_deref()),
            (Some("f"), Some("s"))
        );
        let stores = Stores::locate(&[transcripts.join("s/s.jsonl")]);
        assert_eq!(stores.transcripts[0].folder.as_deref(), Some("f"));
        let stores = Stores::locate(std::slice::from_ref(&transcripts));
        assert_eq!(stores.transcripts.len(), 2);
        let stores = Stores::locate(&[transcripts.join("s")]);
        let found: Vec<_> = stores
            .transcripts
            .iter()
            .map(|t| (t.folder.as_deref(), t.parent.as_deref()))
            .collect();
        assert_eq!(found, [(Some("f"), None), (Some("f"), Some("s"))]);

        touch(&dir.path().join("chats/0123/agent-1/store.db"));
        for root in [
            "chats",
            "chats/0123",
            "chats/0123/agent-1",
            "chats/0123/agent-1/store.db",
        ] {
            let stores = Stores::locate(&[dir.path().join(root)]);
            assert_eq!(stores.agent_stores.len(), 1, "{root}");
        }
        assert!(Stores::locate(&[dir.path().join("missing")]).is_empty());
    }
}
