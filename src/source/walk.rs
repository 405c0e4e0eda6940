//! What the sources' discovery shares: listing the directories of a fixed-depth layout (Claude
//! Code's projects, Gemini CLI's chats, Copilot CLI's and Qwen Code's sessions), taking each root
//! given as a file or a directory to walk, finding the roots that hold a store (OpenCode's,
//! Cursor's), and finding what a tool keeps inside project directories (Aider's
//! `.aider.chat.history.md`, Crush's `.crush/crush.db`) rather than in a home of its own.
//!
//! The project search ([`find_in_projects`]; the README states the same rule):
//!
//! - a root that is a file is taken as it is, whatever its name;
//! - with a `--project` scope, the search starts at each of the scope's directories, or at a
//!   root that lies inside one (a root above or beside the scope, such as the home directory,
//!   is not searched outside it), so a project is found wherever it lives;
//! - without one, it starts at each root (the home directory by default);
//! - from a start it goes at most [`MAX_DEPTH`] directories down, never into a hidden directory
//!   (`.git`, `.cache`, `.venv`, ...: only the entries a tool names, like `.crush`, are looked
//!   at), a directory named in [`PRUNED`] (dependency trees, build output, macOS's `Library`),
//!   below a directory holding a marker of generated content ([`MARKERS`]: a virtualenv's
//!   `pyvenv.cfg`, a cache's `CACHEDIR.TAG`), or through a symbolic link to a directory.
//!
//! A directory that cannot be listed is a diagnostic naming it, and the search goes on.

use std::collections::HashSet;
use std::fs::{self, Metadata};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::env::{home_dir, EnvLookup, Variable};
use crate::model::{Diagnostic, DiagnosticKind};
use crate::scope::ProjectScope;

use super::{Candidate, Discovery};

/// One directory entry, with symlinks resolved.
pub(super) struct Entry {
    pub path: PathBuf,
    pub is_dir: bool,
    /// A regular file (a FIFO or a socket is neither a file nor a directory).
    pub is_file: bool,
}

/// Electron's `appData`, where VS Code and its forks keep their user directories
/// (`<appData>/<App>/User`): `~/Library/Application Support` on macOS, else `$XDG_CONFIG_HOME`
/// (`xdg_config_home`, the source's own declaration of it), by default `~/.config`.
pub(super) fn app_data_dir(env: EnvLookup<'_>, xdg_config_home: &Variable, macos: bool) -> Option<PathBuf> {
    let home = home_dir(env);
    if macos {
        return home.map(|home| home.join("Library").join("Application Support"));
    }
    // The XDG spec says a relative `XDG_CONFIG_HOME` is invalid and must be ignored.
    xdg_config_home
        .path(env)
        .filter(|path| path.is_absolute())
        .or_else(|| home.map(|home| home.join(".config")))
}

/// The entries of `dir`, sorted by path; what cannot be listed or resolved (a dangling link, a
/// loop) is an `Unreadable` diagnostic.
pub(super) fn list(dir: &Path, diagnostics: &mut Vec<Diagnostic>) -> Vec<Entry> {
    list_reporting(dir, |_| true, diagnostics)
}

/// [`list`], but an entry that cannot be resolved is reported only where `reported` says the
/// layout would read it (a transcript's name), and otherwise passed over.
pub(super) fn list_reporting(
    dir: &Path,
    reported: impl Fn(&Path) -> bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Entry> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(err) => {
            diagnostics.push(Diagnostic::unreadable(dir, &err));
            return Vec::new();
        }
    };
    let mut entries = Vec::new();
    for entry in read {
        let path = match entry {
            Ok(entry) => entry.path(),
            Err(err) => {
                diagnostics.push(Diagnostic::unreadable(dir, &err));
                continue;
            }
        };
        match fs::metadata(&path) {
            Ok(meta) => entries.push(Entry {
                path,
                is_dir: meta.is_dir(),
                is_file: meta.is_file(),
            }),
            Err(err) if reported(&path) => diagnostics.push(Diagnostic::unreadable(&path, &err)),
            Err(_) => {}
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    entries
}

/// The files under `roots`, sorted by path within each root, each a candidate of its own: a root
/// that is a file is read as it is, a directory is handed to `walk`, which adds the files it holds
/// to the list it is given. A root that cannot be looked at is an `Unreadable` diagnostic.
pub(super) fn files_under(
    roots: &[PathBuf],
    mut walk: impl FnMut(&Path, &mut Vec<PathBuf>, &mut Vec<Diagnostic>),
) -> Discovery {
    let mut discovery = Discovery::default();
    for root in roots {
        let mut found = Vec::new();
        match fs::metadata(root) {
            Ok(meta) if meta.is_dir() => walk(root, &mut found, &mut discovery.diagnostics),
            Ok(_) => found.push(root.clone()),
            Err(err) => discovery.diagnostics.push(Diagnostic::unreadable(root, &err)),
        }
        found.sort();
        discovery
            .candidates
            .extend(found.into_iter().map(|path| Candidate {
                path,
                also: Vec::new(),
                sidechain: false,
            }));
    }
    discovery
}

/// Whether `dir`, a directory the layout may have, is there to be listed. Its absence (or a file
/// in its place) is no problem; a failure to look is an `Unreadable` diagnostic.
pub(super) fn is_present_dir(dir: &Path, diagnostics: &mut Vec<Diagnostic>) -> bool {
    match fs::metadata(dir) {
        Ok(meta) => meta.is_dir(),
        Err(err) if err.kind() == ErrorKind::NotFound => false,
        Err(err) => {
            diagnostics.push(Diagnostic::unreadable(dir, &err));
            false
        }
    }
}

/// The roots, made absolute and each once, that `holds` says hold `tool`'s data. A root that
/// does not exist holds none; one that cannot be looked at is an `Unreadable` diagnostic.
pub(super) fn data_roots(
    roots: &[PathBuf],
    tool: &str,
    holds: impl Fn(&Path, &Metadata) -> bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for root in roots {
        let path = std::path::absolute(root).unwrap_or_else(|_| root.clone());
        match fs::metadata(&path) {
            Ok(meta) if !found.contains(&path) && holds(&path, &meta) => found.push(path),
            Ok(_) => {}
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => diagnostics.push(Diagnostic {
                file: path,
                line: None,
                kind: DiagnosticKind::Unreadable,
                message: format!("cannot read {tool} data root: {error}"),
            }),
        }
    }
    found
}

/// How many directories below a start the search goes (`~/src/github.com/org/repo` is four).
pub(crate) const MAX_DEPTH: usize = 6;

/// Directories never searched: dependencies, build output and the like, which hold thousands of
/// directories and no project a tool was run in.
pub(crate) const PRUNED: &[&str] = &[
    "node_modules",
    "bower_components",
    "vendor",
    "target",
    "__pycache__",
    "site-packages",
    "Library",
];

/// Files that mark their directory's tree as generated: a Python virtualenv, and any cache that
/// follows the cache directory tagging convention (Cargo's `target/` among them).
pub(crate) const MARKERS: &[&str] = &["pyvenv.cfg", "CACHEDIR.TAG"];

/// What a search looks for: the candidate file an entry is or holds, if any, given the entry's
/// path and whether it is a directory (a symbolic link counts as what it points to).
pub(crate) type Finder = fn(path: &Path, is_dir: bool) -> Option<PathBuf>;

/// Lists what `finder` finds under `roots` by the search rule of the module doc; each file once,
/// sorted by path within each start.
pub(crate) fn find_in_projects(roots: &[PathBuf], scope: Option<&ProjectScope>, finder: Finder) -> Discovery {
    let mut search = Search {
        finder,
        seen: HashSet::new(),
        discovery: Discovery::default(),
    };
    let mut starts: Vec<PathBuf> = Vec::new();
    for root in roots {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.clone());
        match fs::metadata(&root) {
            Ok(meta) if meta.is_dir() => match scope {
                None => starts.push(root),
                Some(scope) => {
                    for dir in scope.roots().iter().map(PathBuf::from) {
                        starts.push(if root.starts_with(&dir) { root.clone() } else { dir });
                    }
                }
            },
            Ok(_) => search.take(vec![root]),
            Err(error) if error.kind() == ErrorKind::NotFound => {}
            Err(error) => search
                .discovery
                .diagnostics
                .push(Diagnostic::unreadable(&root, error)),
        }
    }
    let mut started = HashSet::new();
    for start in starts {
        if started.insert(start.clone()) && start.is_dir() {
            let mut found = Vec::new();
            if let Some(file) = finder(&start, true) {
                found.push(file);
            }
            search.walk(&start, 0, &mut found);
            found.sort();
            search.take(found);
        }
    }
    search.discovery
}

struct Search {
    finder: Finder,
    /// Files taken, by canonical path: a scope's two spellings of one directory, or two roots
    /// around one project, list each file once.
    seen: HashSet<PathBuf>,
    discovery: Discovery,
}

impl Search {
    fn take(&mut self, files: Vec<PathBuf>) {
        for path in files {
            let key = fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if self.seen.insert(key) {
                self.discovery.candidates.push(Candidate {
                    path,
                    also: Vec::new(),
                    sidechain: false,
                });
            }
        }
    }

    /// Looks at every entry of `dir` and goes down into those the rule allows.
    fn walk(&mut self, dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
        let listing = match fs::read_dir(dir) {
            Ok(listing) => listing,
            // Removed since it was seen: nothing to find in it.
            Err(error) if error.kind() == ErrorKind::NotFound => return,
            Err(error) => {
                self.discovery
                    .diagnostics
                    .push(Diagnostic::unreadable(dir, error));
                return;
            }
        };
        let mut entries: Vec<(PathBuf, fs::FileType)> = Vec::new();
        for entry in listing {
            match entry {
                Ok(entry) => match entry.file_type() {
                    Ok(kind) => entries.push((entry.path(), kind)),
                    Err(error) => self
                        .discovery
                        .diagnostics
                        .push(Diagnostic::unreadable(&entry.path(), error)),
                },
                Err(error) => self
                    .discovery
                    .diagnostics
                    .push(Diagnostic::unreadable(dir, error)),
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let generated = entries.iter().any(|(path, kind)| {
            !kind.is_dir()
                && path
                    .file_name()
                    .is_some_and(|name| MARKERS.iter().any(|marker| name == *marker))
        });
        let mut below = Vec::new();
        for (path, kind) in entries {
            // A link is followed to tell what it is, never gone down into; one that leads nowhere
            // is looked at as a file, so a tool's file behind a broken link is reported when read.
            let is_dir = if kind.is_symlink() {
                fs::metadata(&path).is_ok_and(|meta| meta.is_dir())
            } else {
                kind.is_dir()
            };
            if let Some(file) = (self.finder)(&path, is_dir) {
                found.push(file);
            }
            if kind.is_dir() && !generated && depth < MAX_DEPTH && !is_pruned(&path) {
                below.push(path);
            }
        }
        for path in below {
            self.walk(&path, depth + 1, found);
        }
    }
}

/// Hidden directories and those named in [`PRUNED`].
fn is_pruned(dir: &Path) -> bool {
    dir.file_name().is_none_or(|name| {
        let name = name.as_encoded_bytes();
        name.starts_with(b".") || PRUNED.iter().any(|pruned| name == pruned.as_bytes())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "found.txt";

    fn finder(path: &Path, is_dir: bool) -> Option<PathBuf> {
        (!is_dir && path.file_name().is_some_and(|name| name == NAME)).then(|| path.to_path_buf())
    }

    fn touch(root: &Path, relative: &str) {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "x").unwrap();
    }

    fn relative(discovery: &Discovery, root: &Path) -> Vec<String> {
        discovery
            .candidates
            .iter()
            .map(|candidate| candidate.path.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    #[test]
    fn the_walk_skips_hidden_pruned_generated_deep_and_linked_trees() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for kept in [
            "found.txt",
            "a/found.txt",
            "a/b/c/d/e/f/found.txt",
            "src/app/found.txt",
        ] {
            touch(root, kept);
        }
        for skipped in [
            ".hidden/found.txt",
            "a/.git/found.txt",
            "a/node_modules/pkg/found.txt",
            "rust/target/debug/found.txt",
            "Library/Caches/found.txt",
            "env/lib/found.txt",
            "cache/sub/found.txt",
            "a/b/c/d/e/f/g/found.txt",
        ] {
            touch(root, skipped);
        }
        touch(root, "env/pyvenv.cfg");
        touch(root, "cache/CACHEDIR.TAG");
        std::os::unix::fs::symlink(root.join("src"), root.join("link")).unwrap();
        let discovery = find_in_projects(&[root.to_path_buf()], None, finder);
        assert_eq!(
            relative(&discovery, root),
            [
                "a/b/c/d/e/f/found.txt",
                "a/found.txt",
                "found.txt",
                "src/app/found.txt"
            ]
        );
        assert!(discovery.diagnostics.is_empty());
    }

    #[test]
    fn a_scope_starts_the_search_at_its_directories_and_a_file_is_taken_as_given() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in ["one/found.txt", "one/sub/found.txt", "two/found.txt", "other.log"] {
            touch(root, file);
        }
        let scope = ProjectScope::from_roots([root.join("one").display().to_string()]);
        let home = vec![root.to_path_buf()];
        assert_eq!(
            relative(&find_in_projects(&home, Some(&scope), finder), root),
            ["one/found.txt", "one/sub/found.txt"]
        );
        // A root inside the scope narrows the search; a file is taken whatever its name.
        let given = vec![root.join("one/sub"), root.join("other.log")];
        assert_eq!(
            relative(&find_in_projects(&given, Some(&scope), finder), root),
            ["other.log", "one/sub/found.txt"]
        );
        // A scope outside every root is searched all the same: it names where to look.
        let elsewhere = vec![root.join("two")];
        assert_eq!(
            relative(&find_in_projects(&elsewhere, Some(&scope), finder), root),
            ["one/found.txt", "one/sub/found.txt"]
        );
    }

    #[test]
    fn a_directory_that_cannot_be_listed_is_a_diagnostic_and_the_rest_is_found() {
        use std::os::unix::fs::PermissionsExt;
        // SAFETY: reading our own effective uid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            return; // root lists any directory
        }
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(root, "locked/found.txt");
        touch(root, "open/found.txt");
        fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o000)).unwrap();
        let discovery = find_in_projects(&[root.to_path_buf()], None, finder);
        fs::set_permissions(root.join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(relative(&discovery, root), ["open/found.txt"]);
        assert_eq!(discovery.diagnostics.len(), 1);
        assert_eq!(discovery.diagnostics[0].file, root.join("locked"));
    }
}
