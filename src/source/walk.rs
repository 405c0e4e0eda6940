//! What the sources' discovery shares: listing the directories of a fixed-depth layout (Claude
//! Code's projects, Gemini CLI's chats, Copilot CLI's and Qwen Code's sessions), taking each root
//! given as a file or a directory to walk, and finding the roots that hold a store (OpenCode's,
//! Cursor's).

use std::fs::{self, Metadata};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::model::{Diagnostic, DiagnosticKind};
use crate::source::{Candidate, Discovery};

/// One directory entry, with symlinks resolved.
pub(super) struct Entry {
    pub path: PathBuf,
    pub is_dir: bool,
    /// A regular file (a FIFO or a socket is neither a file nor a directory).
    pub is_file: bool,
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
