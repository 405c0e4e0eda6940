//! The Cursor source (formats-more-tools.md section 1): Cursor keeps one conversation in several
//! stores, and which ones depends on its version and front-end: the IDE's `state.vscdb`
//! databases (global and per workspace), cursor-agent's `store.db` chats, and agent transcripts
//! in three generations (`.txt`, `.json`, `.jsonl`). All are read and merged into one session
//! per conversation id (`merge.rs`).
//!
//! One candidate spans every root (`~/.cursor` and the Cursor user directory by default, or every
//! `--source`), since the copies of one conversation lie in both: it is a store of many
//! sessions, streamed one by one, each with a revision for the session ledger.

mod agent_store;
mod bubble;
mod cwd;
mod locate;
mod merge;
mod session;
mod text;
mod transcript;
mod txt;
mod vscdb;

use std::fs::Metadata;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::env::{home_dir, EnvLookup, Variable, XDG_CONFIG_HOME};
use crate::model::{KnownRevisions, Session, Tool};
use crate::scope::ProjectScope;

use super::walk::{app_data_dir, data_roots};
use super::{Candidate, Discovery, ParseOutcome, Source, StoreReader, Unit};

use locate::Stores;

/// Cursor: the IDE, its agent and the cursor-agent CLI.
pub struct Cursor;

/// The tool whose sessions these are.
pub(super) const TOOL: Tool = Tool::named("cursor");

/// `SessionFacts::originator` of a conversation the IDE database holds.
const ORIGINATOR_IDE: &str = "cursor-ide";
/// `SessionFacts::originator` of a cursor-agent chat.
const ORIGINATOR_AGENT: &str = "cursor-agent";

impl Source for Cursor {
    fn tool(&self) -> Tool {
        TOOL
    }

    fn about(&self) -> &'static str {
        "Cursor conversations (IDE state.vscdb, cursor-agent chats, agent transcripts in ~/.cursor)"
    }

    fn layout(&self) -> &'static str {
        "`~/.cursor` (`projects/*/agent-transcripts/`, `chats/`) and Cursor's user directory \
         (`~/.config/Cursor/User`, `~/Library/Application Support/Cursor/User` on macOS), or a \
         `state.vscdb`, `store.db` or transcript file"
    }

    fn variables(&self) -> &'static [Variable] {
        &[XDG_CONFIG_HOME]
    }

    fn default_roots(&self, env: EnvLookup<'_>) -> Vec<PathBuf> {
        default_roots(env, cfg!(target_os = "macos"))
    }

    /// The scope is not used: which project a conversation belongs to is only known once its
    /// stores are read.
    fn discover(&self, roots: &[PathBuf], _scope: Option<&ProjectScope>) -> Discovery {
        discover(roots)
    }

    fn unit(&self) -> Unit<'_> {
        Unit::Store(self)
    }
}

impl StoreReader for Cursor {
    fn read(
        &self,
        candidate: &Candidate,
        known: &KnownRevisions,
        emit: &mut dyn FnMut(Session),
    ) -> ParseOutcome {
        merge::read(candidate, known, emit)
    }
}

/// `~/.cursor`, then the user directory: `~/Library/Application Support/Cursor/User` on macOS,
/// else `$XDG_CONFIG_HOME/Cursor/User` (Electron's `appData`), by default
/// `~/.config/Cursor/User`.
fn default_roots(env: EnvLookup<'_>, macos: bool) -> Vec<PathBuf> {
    let user_dir = app_data_dir(env, &XDG_CONFIG_HOME, macos);
    home_dir(env)
        .map(|home| home.join(".cursor"))
        .into_iter()
        .chain(user_dir.map(|dir| dir.join("Cursor").join("User")))
        .collect()
}

/// One candidate spanning every root that holds a Cursor store.
fn discover(roots: &[PathBuf]) -> Discovery {
    let mut discovery = Discovery::default();
    let holds = |path: &Path, _: &Metadata| !Stores::locate(&[path.to_path_buf()]).is_empty();
    let mut found = data_roots(roots, "Cursor", holds, &mut discovery.diagnostics).into_iter();
    if let Some(path) = found.next() {
        discovery.candidates.push(Candidate {
            path,
            also: found.collect(),
            sidechain: false,
        });
    }
    discovery
}

/// A revision marker made of `parts`: equal parts give equal markers on every run and host.
fn marker(parts: &[&[u8]]) -> i64 {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let digest = hasher.finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_le_bytes(bytes) & i64::MAX
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::fake;

    #[test]
    fn default_roots_are_the_cursor_home_and_the_platforms_user_directory() {
        let env = fake(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "/x/config")]);
        assert_eq!(
            default_roots(&env, false),
            [
                PathBuf::from("/h/.cursor"),
                PathBuf::from("/x/config/Cursor/User")
            ]
        );
        let env = fake(&[("HOME", "/h"), ("XDG_CONFIG_HOME", "relative")]);
        assert_eq!(
            default_roots(&env, false),
            [
                PathBuf::from("/h/.cursor"),
                PathBuf::from("/h/.config/Cursor/User")
            ]
        );
        assert_eq!(
            default_roots(&env, true),
            [
                PathBuf::from("/h/.cursor"),
                PathBuf::from("/h/Library/Application Support/Cursor/User")
            ]
        );
        assert!(default_roots(&fake(&[]), true).is_empty());
        assert_eq!(
            default_roots(&fake(&[("XDG_CONFIG_HOME", "/x")]), false),
            [PathBuf::from("/x/Cursor/User")]
        );
    }

    #[test]
    fn every_root_with_a_store_is_one_candidate() {
        let dir = tempfile::tempdir().unwrap();
        let transcripts = dir.path().join(".cursor/projects/p/agent-transcripts");
        std::fs::create_dir_all(&transcripts).unwrap();
        std::fs::write(transcripts.join("s.jsonl"), "").unwrap();
        let user = dir.path().join("User/globalStorage");
        std::fs::create_dir_all(&user).unwrap();
        std::fs::write(user.join("state.vscdb"), "").unwrap();
        let empty = dir.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let roots = [
            dir.path().join(".cursor"),
            empty,
            dir.path().join("missing"),
            dir.path().join("User"),
            dir.path().join(".cursor"),
        ];
        let discovery = discover(&roots);
        assert!(discovery.diagnostics.is_empty());
        assert_eq!(
            discovery.candidates,
            [Candidate {
                path: dir.path().join(".cursor"),
                also: vec![dir.path().join("User")],
                sidechain: false,
            }]
        );
        assert!(discover(&[dir.path().join("missing")]).candidates.is_empty());
    }

    #[test]
    fn markers_are_stable_and_apart() {
        assert_eq!(marker(&[b"a", b"bc"]), marker(&[b"a", b"bc"]));
        assert_ne!(marker(&[b"a", b"bc"]), marker(&[b"ab", b"c"]));
        assert!(marker(&[b"x"]) >= 0);
    }
}
