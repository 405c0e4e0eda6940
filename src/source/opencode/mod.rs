//! The OpenCode source (formats.md section 3): where OpenCode keeps its data, and reading the
//! union of its two stores, the SQLite database (1.2+) and the JSON storage trees it left behind.
//!
//! One candidate is one data root: the data directory, a database file, or a storage directory.
//! Parsing reads every store under it and returns each session once, by id, preferring the
//! database copy (OpenCode 1.2 imports `storage/` once and leaves it on disk, and that import has
//! known gaps, formats.md 3.1 era 3).

mod convert;
mod json;
mod sqlite;

use std::collections::HashSet;
use std::fs::Metadata;
use std::path::{Path, PathBuf};

use crate::env::{home_dir, EnvLookup, Variable};
use crate::model::{KnownRevisions, Session, Tool};
use crate::scope::ProjectScope;

use super::walk::data_roots;
use super::{Candidate, Discovery, ParseOutcome, Source, StoreReader, Unit};

use json::JsonLayout;

/// OpenCode: one SQLite database (and the JSON storage trees older versions left) holding every
/// session of every project.
pub struct OpenCode;

/// The tool whose sessions these are.
pub(super) const TOOL: Tool = Tool::named("opencode");

const XDG_DATA_HOME: Variable = Variable::setting(
    "XDG_DATA_HOME",
    "OpenCode's data is in `$XDG_DATA_HOME/opencode` (default `~/.local/share`)",
);

impl Source for OpenCode {
    fn tool(&self) -> Tool {
        TOOL
    }

    fn about(&self) -> &'static str {
        "OpenCode sessions (opencode.db and JSON storage under ~/.local/share/opencode)"
    }

    fn layout(&self) -> &'static str {
        "`~/.local/share/opencode`, holding `opencode.db` or `storage/`"
    }

    fn variables(&self) -> &'static [Variable] {
        &[XDG_DATA_HOME]
    }

    fn default_roots(&self, env: EnvLookup<'_>) -> Vec<PathBuf> {
        default_roots(env)
    }

    /// The scope is not used: whether a session belongs to a project is only known after reading
    /// it (the database holds every project).
    fn discover(&self, roots: &[PathBuf], _scope: Option<&ProjectScope>) -> Discovery {
        discover(roots)
    }

    fn unit(&self) -> Unit<'_> {
        Unit::Store(self)
    }
}

impl StoreReader for OpenCode {
    /// Reads every store under the candidate's root; a session found in several stores is taken
    /// from the first: databases (`opencode.db` first), then `storage/`, then the per-project
    /// trees.
    fn read(
        &self,
        candidate: &Candidate,
        known: &KnownRevisions,
        emit: &mut dyn FnMut(Session),
    ) -> ParseOutcome {
        let stores = Stores::locate(&candidate.path);
        let mut outcome = ParseOutcome::default();
        let mut taken = HashSet::new();
        for database in &stores.databases {
            sqlite::read_database(database, known, &mut taken, &mut outcome, emit);
        }
        for (storage, layout) in &stores.storages {
            json::read_storage(storage, *layout, known, &mut taken, &mut outcome, emit);
        }
        outcome
    }
}

/// The database OpenCode's release channels use; other channels write `opencode-<channel>.db`
/// beside it.
const DATABASE_NAME: &str = "opencode.db";

/// `$XDG_DATA_HOME/opencode`, else `$HOME/.local/share/opencode` (formats.md 3).
fn default_roots(env: EnvLookup<'_>) -> Vec<PathBuf> {
    // The XDG spec says a relative `XDG_DATA_HOME` is invalid and must be ignored.
    let data_home = XDG_DATA_HOME
        .path(env)
        .filter(|path| path.is_absolute())
        .or_else(|| home_dir(env).map(|home| home.join(".local").join("share")));
    data_home.map(|dir| dir.join("opencode")).into_iter().collect()
}

/// One candidate per root that holds OpenCode data.
fn discover(roots: &[PathBuf]) -> Discovery {
    let mut discovery = Discovery::default();
    let holds = |path: &Path, meta: &Metadata| meta.is_file() || !Stores::locate(path).is_empty();
    discovery.candidates = data_roots(roots, "OpenCode", holds, &mut discovery.diagnostics)
        .into_iter()
        .map(|path| Candidate {
            path,
            also: Vec::new(),
            sidechain: false,
        })
        .collect();
    discovery
}

/// The stores under one root.
#[derive(Debug, Default, PartialEq, Eq)]
struct Stores {
    databases: Vec<PathBuf>,
    storages: Vec<(PathBuf, JsonLayout)>,
}

impl Stores {
    fn is_empty(&self) -> bool {
        self.databases.is_empty() && self.storages.is_empty()
    }

    /// What `root` holds: a database file; a storage directory itself (global or per-project
    /// layout); or a data directory with databases, `storage/` and `project/<dir>/storage/`.
    fn locate(root: &Path) -> Stores {
        if root.is_file() {
            return Stores {
                databases: vec![root.to_path_buf()],
                storages: Vec::new(),
            };
        }
        if root.join("session").join("info").is_dir() {
            return Stores {
                databases: Vec::new(),
                storages: vec![(root.to_path_buf(), JsonLayout::PerProject)],
            };
        }
        if root.join("session").is_dir() {
            return Stores {
                databases: Vec::new(),
                storages: vec![(root.to_path_buf(), JsonLayout::Global)],
            };
        }
        let mut stores = Stores {
            databases: channel_databases(root),
            storages: Vec::new(),
        };
        let global = root.join("storage");
        if global.is_dir() {
            stores.storages.push((global, JsonLayout::Global));
        }
        stores.storages.extend(
            sorted_entries(&root.join("project"))
                .into_iter()
                .map(|project| project.join("storage"))
                .filter(|storage| storage.join("session").join("info").is_dir())
                .map(|storage| (storage, JsonLayout::PerProject)),
        );
        stores
    }
}

/// `opencode.db`, then `opencode-<channel>.db` in name order.
fn channel_databases(dir: &Path) -> Vec<PathBuf> {
    let mut databases: Vec<PathBuf> = sorted_entries(dir)
        .into_iter()
        .filter(|path| {
            let name = path
                .file_name()
                .and_then(|name| name.to_str())
                .unwrap_or_default();
            name == DATABASE_NAME || (name.starts_with("opencode-") && name.ends_with(".db"))
        })
        .filter(|path| path.is_file())
        .collect();
    databases.sort_by_key(|path| !path.ends_with(DATABASE_NAME));
    databases
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.flatten().map(|entry| entry.path()).collect(),
        Err(_) => Vec::new(),
    };
    entries.sort();
    entries
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    fn roots_with(vars: &[(&str, &str)]) -> Vec<PathBuf> {
        let lookup = |name: &str| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        };
        default_roots(&lookup)
    }

    #[test]
    fn default_root_follows_xdg_data_home_then_home() {
        assert_eq!(
            roots_with(&[("XDG_DATA_HOME", "/x/data"), ("HOME", "/h")]),
            [PathBuf::from("/x/data/opencode")]
        );
        assert_eq!(
            roots_with(&[("XDG_DATA_HOME", "rel"), ("HOME", "/h")]),
            [PathBuf::from("/h/.local/share/opencode")]
        );
        assert_eq!(
            roots_with(&[("XDG_DATA_HOME", ""), ("HOME", "/h")]),
            [PathBuf::from("/h/.local/share/opencode")]
        );
        assert!(roots_with(&[]).is_empty());
    }

    #[test]
    fn locate_finds_databases_and_both_storage_layouts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for sub in [
            "storage/session/global",
            "project/repo/storage/session/info",
            "project/empty",
        ] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        for file in ["opencode-dev.db", "opencode.db", "other.db"] {
            std::fs::write(root.join(file), "").unwrap();
        }
        let stores = Stores::locate(root);
        assert_eq!(
            stores.databases,
            [root.join("opencode.db"), root.join("opencode-dev.db")]
        );
        assert_eq!(
            stores.storages,
            [
                (root.join("storage"), JsonLayout::Global),
                (root.join("project/repo/storage"), JsonLayout::PerProject)
            ]
        );
        assert_eq!(
            Stores::locate(&root.join("storage")).storages,
            [(root.join("storage"), JsonLayout::Global)]
        );
        let legacy = root.join("project/repo/storage");
        assert_eq!(
            Stores::locate(&legacy).storages,
            [(legacy.clone(), JsonLayout::PerProject)]
        );
        assert!(Stores::locate(&root.join("project/empty")).is_empty());
    }
}
