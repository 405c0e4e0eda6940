//! The per-file ledger: which source files are unchanged since the memories read from them were
//! written, so that a re-run can skip them without opening them.
//!
//! A file is unchanged when its size, modification time and inode match the entry recorded by a
//! run with the same importer version and the same row-shaping options. A file that changed
//! otherwise, is the same inode and is at least as long as the bytes its entry accounts for, is
//! read on from the entry's checkpoint, when it has one (`source::resume` then checks that the
//! prefix is unchanged). Anything else (another importer version or content mode, a replaced or
//! truncated file, no checkpoint) means the file is read again in full; rows that are already
//! current are then filtered out by the store.
//! This module is pure apart from `stat` and the host name; the store persists entries.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::model::KnownRevisions;

/// What `stat` says about a file: enough to notice appends, rewrites and replacements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileState {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
}

impl FileState {
    /// The state of a regular file; `None` for anything else or when it cannot be read.
    pub fn of(path: &Path) -> Option<FileState> {
        use std::os::unix::fs::MetadataExt;
        let metadata = std::fs::metadata(path).ok()?;
        metadata.is_file().then(|| FileState {
            size: metadata.size(),
            mtime_ns: metadata
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(metadata.mtime_nsec()),
            inode: metadata.ino(),
        })
    }
}

/// One recorded file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerEntry {
    pub path: String,
    pub state: FileState,
    /// Bytes of complete lines read; a torn last line is left for a later run.
    pub consumed: u64,
    pub importer_version: String,
    pub options_key: String,
    /// A checkpoint is recorded with the entry (it is loaded only for files that grew).
    pub resumable: bool,
}

/// One recorded session of a multi-session store (OpenCode's database or storage tree).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionLedgerEntry {
    pub session_id: String,
    /// The store's revision marker when the session was read.
    pub revision: i64,
    pub importer_version: String,
    pub options_key: String,
}

/// The entries of one host and tool, with the option keys under which an entry still holds.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: HashMap<String, LedgerEntry>,
    /// Entries recorded under any of these keys are valid for this run.
    accepted_keys: Vec<String>,
    importer_version: String,
}

impl Ledger {
    /// `accepted_keys`: the key of this run's options, and the key of the same options without
    /// session filters (a file fully imported without `--project/--since/--until` is also fully
    /// imported for a filtered run).
    pub fn new(entries: Vec<LedgerEntry>, accepted_keys: Vec<String>, importer_version: &str) -> Self {
        Ledger {
            entries: entries
                .into_iter()
                .map(|entry| (entry.path.clone(), entry))
                .collect(),
            accepted_keys,
            importer_version: importer_version.to_owned(),
        }
    }

    pub fn is_unchanged(&self, path: &str, state: &FileState) -> bool {
        self.entries.get(path).is_some_and(|entry| {
            entry.state == *state && self.holds(&entry.importer_version, &entry.options_key)
        })
    }

    /// Whether a changed file can be read on from its entry's checkpoint: the same file (inode),
    /// not shorter than what the checkpoint accounts for, recorded under accepted options.
    pub fn can_resume(&self, path: &str, state: &FileState) -> bool {
        self.entries.get(path).is_some_and(|entry| {
            entry.resumable
                && entry.state.inode == state.inode
                && state.size >= entry.consumed
                && self.holds(&entry.importer_version, &entry.options_key)
        })
    }

    /// The session revisions recorded under this run's importer version and options: sessions
    /// still at these revisions need not be read.
    pub fn known_revisions(&self, sessions: Vec<SessionLedgerEntry>) -> KnownRevisions {
        sessions
            .into_iter()
            .filter(|entry| self.holds(&entry.importer_version, &entry.options_key))
            .map(|entry| (entry.session_id, entry.revision))
            .collect()
    }

    fn holds(&self, importer_version: &str, options_key: &str) -> bool {
        importer_version == self.importer_version && self.accepted_keys.iter().any(|key| key == options_key)
    }
}

/// A short fingerprint of the options that change what rows a file yields.
pub fn options_key(parts: &[(&str, String)]) -> String {
    let mut hasher = Sha256::new();
    for (name, value) in parts {
        hasher.update(name.as_bytes());
        hasher.update(b"=");
        hasher.update(value.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize()[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// This machine's name: ledger entries are per host, so several machines can share a database.
pub fn host_name() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length; gethostname writes at most that much.
    let code = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    let end = buffer.iter().position(|&byte| byte == 0).unwrap_or(buffer.len());
    match (code, String::from_utf8_lossy(&buffer[..end])) {
        (0, name) if !name.is_empty() => name.into_owned(),
        _ => "localhost".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64, key: &str) -> LedgerEntry {
        LedgerEntry {
            path: path.to_owned(),
            state: state(size, 7, 9),
            consumed: size,
            importer_version: "v1".to_owned(),
            options_key: key.to_owned(),
            resumable: true,
        }
    }

    /// A ledger of `entries` that accepts the options key `k`, for importer `version`.
    fn ledger_of(entries: Vec<LedgerEntry>, version: &str) -> Ledger {
        Ledger::new(entries, vec!["k".to_owned()], version)
    }

    fn state(size: u64, mtime_ns: i64, inode: u64) -> FileState {
        FileState {
            size,
            mtime_ns,
            inode,
        }
    }

    #[test]
    fn only_identical_files_under_accepted_options_are_unchanged() {
        let ledger = ledger_of(vec![entry("/a", 10, "k"), entry("/b", 10, "other")], "v1");
        let same = state(10, 7, 9);
        assert!(ledger.is_unchanged("/a", &same));
        assert!(!ledger.is_unchanged("/b", &same), "recorded under other options");
        assert!(!ledger.is_unchanged("/c", &same), "never recorded");
        for changed in [
            FileState { size: 11, ..same },
            FileState { mtime_ns: 8, ..same },
            FileState { inode: 1, ..same },
        ] {
            assert!(!ledger.is_unchanged("/a", &changed), "{changed:?}");
        }
        let bumped = ledger_of(vec![entry("/a", 10, "k")], "v2");
        assert!(!bumped.is_unchanged("/a", &same), "another importer version");
    }

    #[test]
    fn only_grown_files_with_a_checkpoint_under_accepted_options_resume() {
        let without_checkpoint = LedgerEntry {
            resumable: false,
            ..entry("/n", 10, "k")
        };
        let ledger = ledger_of(
            vec![entry("/a", 10, "k"), entry("/b", 10, "other"), without_checkpoint],
            "v1",
        );
        let grown = state(15, 8, 9);
        assert!(ledger.can_resume("/a", &grown));
        assert!(
            ledger.can_resume("/a", &FileState { size: 10, ..grown }),
            "rewritten in place"
        );
        assert!(
            !ledger.can_resume("/a", &FileState { size: 9, ..grown }),
            "truncated"
        );
        assert!(
            !ledger.can_resume("/a", &FileState { inode: 1, ..grown }),
            "replaced"
        );
        assert!(!ledger.can_resume("/b", &grown), "recorded under other options");
        assert!(!ledger.can_resume("/n", &grown), "no checkpoint");
        assert!(!ledger.can_resume("/c", &grown), "never recorded");
        let bumped = ledger_of(vec![entry("/a", 10, "k")], "v2");
        assert!(!bumped.can_resume("/a", &grown), "another importer version");
    }

    #[test]
    fn only_sessions_recorded_under_accepted_options_are_known() {
        let session = |id: &str, version: &str, key: &str| SessionLedgerEntry {
            session_id: id.to_owned(),
            revision: 5,
            importer_version: version.to_owned(),
            options_key: key.to_owned(),
        };
        let ledger = Ledger::new(Vec::new(), vec!["k".to_owned(), "unfiltered".to_owned()], "v1");
        let known = ledger.known_revisions(vec![
            session("a", "v1", "k"),
            session("b", "v1", "unfiltered"),
            session("c", "v1", "other"),
            session("d", "v0", "k"),
        ]);
        assert_eq!(
            known,
            KnownRevisions::from([("a".to_owned(), 5), ("b".to_owned(), 5)])
        );
    }

    #[test]
    fn option_keys_change_with_any_option() {
        let base = options_key(&[("mode", "default".to_owned()), ("root", "projects".to_owned())]);
        assert_eq!(base.len(), 16);
        assert_eq!(
            base,
            options_key(&[("mode", "default".to_owned()), ("root", "projects".to_owned())])
        );
        assert_ne!(
            base,
            options_key(&[
                ("mode", "full_transcript".to_owned()),
                ("root", "projects".to_owned())
            ])
        );
    }

    #[test]
    fn file_state_sees_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.jsonl");
        std::fs::write(&path, "a\n").unwrap();
        let before = FileState::of(&path).unwrap();
        std::fs::write(&path, "a\nb\n").unwrap();
        assert_ne!(FileState::of(&path).unwrap(), before);
        assert_eq!(FileState::of(dir.path()), None, "directories have no file state");
    }
}
