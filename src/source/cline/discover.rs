//! Where the extensions keep their tasks: `<appData>/<App>/User/globalStorage/<extension
//! id>/tasks/<task id>/api_conversation_history.json`, `<App>` being `Code`, `Cursor`,
//! `Windsurf` or any other VS Code fork, and the extension one of [`FORKS`].
//!
//! A root may be any level of that path: the directory holding the user directories, one app's
//! directory, a `globalStorage`, an extension's directory (the defaults), its `tasks`, one
//! task's directory, or a task file itself. The layout has a fixed depth, so symbolic links are
//! followed but can never loop.

use std::path::{Path, PathBuf};

use crate::env::EnvLookup;
use crate::model::Diagnostic;
use crate::source::walk::{app_data_dir, is_present_dir, list};
use crate::source::{Candidate, Discovery};

use super::XDG_CONFIG_HOME;

/// The conversation file of a task (Cline `GlobalFileNames.apiConversationHistory`).
pub(super) const HISTORY_FILE: &str = "api_conversation_history.json";

/// The model and environment facts of a task (`GlobalFileNames.taskMetadata`).
pub(super) const METADATA_FILE: &str = "task_metadata.json";

/// Each fork's extension id (its `globalStorage` directory, lower-case as VS Code writes it)
/// and the name recorded as its sessions' originator.
pub(super) const FORKS: &[(&str, &str)] = &[
    ("saoudrizwan.claude-dev", "cline"),
    ("rooveterinaryinc.roo-cline", "roo-code"),
    ("kilocode.kilo-code", "kilo-code"),
];

/// The VS Code forks the extensions run in, by their user directories' names.
const KNOWN_APPS: &[&str] = &["Code", "Code - Insiders", "Cursor", "Windsurf", "VSCodium"];

/// Each fork's extension directory in each app's `globalStorage`: the known apps' whether they
/// exist or not, and any other app's that has a `globalStorage`. Not the whole `appData`
/// directory (`~/.config`), which `memtree watch` would follow in all its depth.
pub(super) fn default_roots(env: EnvLookup<'_>, macos: bool) -> Vec<PathBuf> {
    let Some(app_data) = app_data_dir(env, &XDG_CONFIG_HOME, macos) else {
        return Vec::new();
    };
    let mut apps: Vec<PathBuf> = KNOWN_APPS.iter().map(|app| app_data.join(app)).collect();
    let mut others: Vec<PathBuf> = std::fs::read_dir(&app_data)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|app| !apps.contains(app) && app.join("User").join("globalStorage").is_dir())
        .collect();
    others.sort();
    apps.extend(others);
    apps.iter()
        .flat_map(|app| {
            FORKS
                .iter()
                .map(move |(id, _)| app.join("User").join("globalStorage").join(id))
        })
        .collect()
}

/// The fork whose extension directory is named `name`.
pub(super) fn fork(name: &str) -> Option<&'static str> {
    FORKS
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(name))
        .map(|(_, fork)| *fork)
}

pub(super) fn discover(roots: &[PathBuf]) -> Discovery {
    let mut walk = Walk::default();
    for root in roots {
        walk.root(root);
    }
    Discovery {
        candidates: walk.found,
        diagnostics: walk.diagnostics,
    }
}

#[derive(Default)]
struct Walk {
    found: Vec<Candidate>,
    diagnostics: Vec<Diagnostic>,
}

impl Walk {
    fn root(&mut self, root: &Path) {
        match std::fs::metadata(root) {
            Ok(meta) if meta.is_file() => return self.push(root.to_path_buf()),
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return,
            Err(err) => return self.diagnostics.push(Diagnostic::unreadable(root, &err)),
        }
        let name = root
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        if root.join(HISTORY_FILE).is_file() {
            self.push(root.join(HISTORY_FILE));
        } else if name == "tasks" {
            self.tasks(root);
        } else if fork(name).is_some() {
            self.tasks(&root.join("tasks"));
        } else if name == "globalStorage" {
            self.global_storage(root);
        } else if root.join("User").join("globalStorage").is_dir() {
            self.global_storage(&root.join("User").join("globalStorage"));
        } else {
            self.apps(root);
        }
    }

    /// Every app's user directory under `dir`.
    fn apps(&mut self, dir: &Path) {
        for entry in list(dir, &mut self.diagnostics) {
            let storage = entry.path.join("User").join("globalStorage");
            if entry.is_dir && storage.is_dir() {
                self.global_storage(&storage);
            }
        }
    }

    fn global_storage(&mut self, dir: &Path) {
        for (extension, _) in FORKS {
            self.tasks(&dir.join(extension).join("tasks"));
        }
    }

    fn tasks(&mut self, dir: &Path) {
        if !is_present_dir(dir, &mut self.diagnostics) {
            return;
        }
        for entry in list(dir, &mut self.diagnostics) {
            let file = entry.path.join(HISTORY_FILE);
            if entry.is_dir && file.is_file() {
                self.push(file);
            }
        }
    }

    fn push(&mut self, path: PathBuf) {
        let path = std::path::absolute(&path).unwrap_or(path);
        if !self.found.iter().any(|found| found.path == path) {
            self.found.push(Candidate {
                path,
                also: Vec::new(),
                sidechain: false,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::fake;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "[]").unwrap();
    }

    #[test]
    fn default_roots_are_each_forks_directory_in_each_apps_global_storage() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().to_str().unwrap();
        std::fs::create_dir_all(dir.path().join("Trae/User/globalStorage")).unwrap();
        std::fs::create_dir_all(dir.path().join("unrelated/cache")).unwrap();
        let env = fake(&[("HOME", "/h"), ("XDG_CONFIG_HOME", config)]);
        let roots = default_roots(&env, false);
        assert_eq!(roots.len(), (KNOWN_APPS.len() + 1) * FORKS.len());
        assert!(roots.contains(&dir.path().join("Code/User/globalStorage/saoudrizwan.claude-dev")));
        assert!(roots.contains(&dir.path().join("Trae/User/globalStorage/kilocode.kilo-code")));
        assert!(!roots
            .iter()
            .any(|root| root.starts_with(dir.path().join("unrelated"))));
        assert!(default_roots(&env, true).contains(&PathBuf::from(
            "/h/Library/Application Support/Cursor/User/globalStorage/rooveterinaryinc.roo-cline"
        )));
        assert!(default_roots(&fake(&[]), false).is_empty());
    }

    #[test]
    fn finds_every_forks_tasks_in_every_app_from_any_level() {
        let dir = tempfile::tempdir().unwrap();
        let code = dir.path().join("Code/User/globalStorage");
        let cursor = dir.path().join("Cursor/User/globalStorage");
        touch(&code.join("saoudrizwan.claude-dev/tasks/1/api_conversation_history.json"));
        touch(&code.join("kilocode.kilo-code/tasks/2/api_conversation_history.json"));
        touch(&cursor.join("rooveterinaryinc.roo-cline/tasks/3/api_conversation_history.json"));
        // Not a task: no conversation file, or another extension.
        touch(&code.join("saoudrizwan.claude-dev/tasks/4/ui_messages.json"));
        touch(&code.join("other.extension/tasks/5/api_conversation_history.json"));
        let found = |root: PathBuf| -> Vec<String> {
            let discovery = discover(&[root]);
            assert!(discovery.diagnostics.is_empty(), "{:?}", discovery.diagnostics);
            discovery
                .candidates
                .iter()
                .map(|candidate| {
                    let task = candidate.path.parent().unwrap();
                    task.file_name().unwrap().to_string_lossy().into_owned()
                })
                .collect()
        };
        assert_eq!(found(dir.path().to_path_buf()), ["1", "2", "3"]);
        assert_eq!(found(dir.path().join("Code")), ["1", "2"]);
        assert_eq!(found(cursor.clone()), ["3"]);
        assert_eq!(found(code.join("kilocode.kilo-code")), ["2"]);
        assert_eq!(found(code.join("saoudrizwan.claude-dev/tasks")), ["1"]);
        assert_eq!(found(code.join("saoudrizwan.claude-dev/tasks/1")), ["1"]);
        assert!(found(dir.path().join("missing")).is_empty());
    }
}
