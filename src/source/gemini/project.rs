//! Where a Gemini CLI chat file sits, and which directory its session ran in. No chat file
//! records its cwd (formats.md 4.1, 4.5): it is the project whose temp directory
//! (`tmp/<id>/`) holds the file, found, in this order, from the `.project_root` marker Gemini CLI
//! keeps in `tmp/<id>/` or `history/<id>/`, from `projects.json` (path → id), or by hashing the
//! paths those name (and the session's workspace directories) against the session's
//! `projectHash`, the SHA-256 of its project root that older versions named `tmp/<id>` by. A
//! session none of these resolve says so (`unresolved`) rather than guess.
//!
//! Only those files are read: credentials Gemini keeps beside them (`oauth_creds.json`,
//! `google_accounts.json`, settings) never are.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The marker file holding a project directory's absolute path.
pub(super) const PROJECT_ROOT_FILE: &str = ".project_root";
/// The path → id registry in Gemini's home.
const REGISTRY_FILE: &str = "projects.json";
/// A marker is one path; anything longer is not one.
const MAX_MARKER_BYTES: u64 = 64 << 10;
/// The registry holds one line per project.
const MAX_REGISTRY_BYTES: u64 = 16 << 20;

/// How a session's cwd was found, for `SessionFacts::cwd_origin`.
pub(super) const FROM_MARKER: &str = "project_root";
pub(super) const FROM_REGISTRY: &str = "projects.json";
pub(super) const FROM_HASH: &str = "project_hash";
pub(super) const UNRESOLVED: &str = "unresolved";

/// Where a chat file sits in Gemini's home.
#[derive(Debug, Default)]
pub(super) struct Place {
    /// The project's temp directory, `tmp/<id>/`.
    pub project_dir: Option<PathBuf>,
    /// The Gemini home holding `tmp/` (and `history/`, `projects.json`).
    pub home: Option<PathBuf>,
    /// The parent session of a subagent's chat (`chats/<parent>/<session>.jsonl`).
    pub parent_session: Option<String>,
    /// The session id the file name gives: a subagent's whole id, a main chat's
    /// `session-<start>-<first 8 characters>`.
    pub fallback_id: String,
}

impl Place {
    /// Where `path` (`tmp/<id>/chats/[<parent>/]<file>`) sits; parts that are not laid out so
    /// are unknown.
    pub fn of(path: &Path) -> Place {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default();
        let live_name = name.split_once(".unreadable-").map_or(name, |(live, _)| live);
        let fallback_id = live_name
            .strip_suffix(".jsonl")
            .or_else(|| live_name.strip_suffix(".json"))
            .unwrap_or(live_name)
            .to_owned();
        let is_chats = |dir: &Path| dir.file_name().is_some_and(|name| name == "chats");
        let parent = path.parent();
        let (chats, parent_session) = match parent {
            Some(dir) if is_chats(dir) => (Some(dir), None),
            Some(dir) => match dir.parent() {
                Some(chats) if is_chats(chats) => (
                    Some(chats),
                    dir.file_name().and_then(|name| name.to_str()).map(str::to_owned),
                ),
                _ => (None, None),
            },
            None => (None, None),
        };
        let project_dir = chats.and_then(Path::parent);
        Place {
            parent_session,
            fallback_id,
            ..project_dir.map(Place::of_project).unwrap_or_default()
        }
    }

    /// Where the project temp directory `dir` (`tmp/<id>/`) sits; what a file in it but
    /// outside `chats/` (its prompt log) shares with the chats.
    pub fn of_project(dir: &Path) -> Place {
        let home = dir
            .parent()
            .filter(|tmp| tmp.file_name().is_some_and(|name| name == "tmp"))
            .and_then(Path::parent)
            .map(Path::to_path_buf);
        Place {
            project_dir: Some(dir.to_path_buf()),
            home,
            ..Place::default()
        }
    }
}

/// The session's cwd, if found, and how (`FROM_*`, or [`UNRESOLVED`]).
pub(super) fn resolve(
    place: &Place,
    project_hash: Option<&str>,
    directories: &[String],
) -> (Option<String>, &'static str) {
    if let Some(dir) = &place.project_dir {
        if let Some(found) = recorded_root(dir, place.home.as_deref()) {
            return (Some(found.0), found.1);
        }
    }
    let dir_hash = place
        .project_dir
        .as_deref()
        .and_then(|dir| dir.file_name())
        .and_then(|name| name.to_str())
        .filter(|name| is_sha256_hex(name));
    let hashes: Vec<&str> = project_hash.into_iter().chain(dir_hash).collect();
    if !hashes.is_empty() {
        let known = place.home.as_deref().map(known_paths).unwrap_or_default();
        let found = known
            .iter()
            .chain(directories)
            .find(|path| hashes.contains(&sha256_hex(path).as_str()));
        if let Some(path) = found {
            return (Some(path.clone()), FROM_HASH);
        }
    }
    (None, UNRESOLVED)
}

/// The project root Gemini CLI recorded for the temp directory `project_dir`: its marker, the
/// marker of its `history/` twin, or its entry in the registry. No hashing: discovery asks this
/// of every project directory.
pub(super) fn recorded_root(project_dir: &Path, home: Option<&Path>) -> Option<(String, &'static str)> {
    let id = project_dir.file_name()?.to_str()?;
    if let Some(root) = read_marker(&project_dir.join(PROJECT_ROOT_FILE)) {
        return Some((root, FROM_MARKER));
    }
    let home = home?;
    if let Some(root) = read_marker(&home.join("history").join(id).join(PROJECT_ROOT_FILE)) {
        return Some((root, FROM_MARKER));
    }
    registry(home)
        .into_iter()
        .find(|(_, slug)| slug == id)
        .map(|(path, _)| (path, FROM_REGISTRY))
}

/// Every path the home names: the registry's, and every marker's.
fn known_paths(home: &Path) -> Vec<String> {
    let mut paths: Vec<String> = registry(home).into_iter().map(|(path, _)| path).collect();
    for dir in ["tmp", "history"] {
        let Ok(entries) = fs::read_dir(home.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            paths.extend(read_marker(&entry.path().join(PROJECT_ROOT_FILE)));
        }
    }
    paths
}

/// The registry's `(path, id)` pairs; none when it is missing, too big or not the registry
/// (Gemini CLI itself starts a new one then).
fn registry(home: &Path) -> Vec<(String, String)> {
    #[derive(Deserialize)]
    struct Registry {
        #[serde(default)]
        projects: serde_json::Map<String, serde_json::Value>,
    }
    let Some(bytes) = read_bounded(&home.join(REGISTRY_FILE), MAX_REGISTRY_BYTES) else {
        return Vec::new();
    };
    let Ok(registry) = serde_json::from_slice::<Registry>(&bytes) else {
        return Vec::new();
    };
    registry
        .projects
        .into_iter()
        .filter_map(|(path, slug)| Some((path, slug.as_str()?.to_owned())))
        .collect()
}

/// A marker's path, trimmed; `None` when it is missing, empty, too long or not UTF-8.
fn read_marker(path: &Path) -> Option<String> {
    let bytes = read_bounded(path, MAX_MARKER_BYTES)?;
    let text = String::from_utf8(bytes).ok()?;
    let trimmed = text.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

/// The file's bytes, when it is a file of at most `max` bytes.
fn read_bounded(path: &Path, max: u64) -> Option<Vec<u8>> {
    let file = File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= max).then_some(bytes)
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn is_sha256_hex(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn a_file_knows_its_project_dir_home_and_parent() {
        let main = Place::of(Path::new(
            "/h/.gemini/tmp/p/chats/session-2026-04-25T08-41-3494a697.jsonl.unreadable-17",
        ));
        assert_eq!(main.project_dir.as_deref(), Some(Path::new("/h/.gemini/tmp/p")));
        assert_eq!(main.home.as_deref(), Some(Path::new("/h/.gemini")));
        assert_eq!(main.parent_session, None);
        assert_eq!(main.fallback_id, "session-2026-04-25T08-41-3494a697");
        let sub = Place::of(Path::new("/h/.gemini/tmp/p/chats/parent-id/child-id.jsonl"));
        assert_eq!(sub.project_dir.as_deref(), Some(Path::new("/h/.gemini/tmp/p")));
        assert_eq!(sub.parent_session.as_deref(), Some("parent-id"));
        assert_eq!(sub.fallback_id, "child-id");
        let loose = Place::of(Path::new("/x/session-a.json"));
        assert_eq!(
            (loose.project_dir, loose.home, loose.fallback_id.as_str()),
            (None, None, "session-a")
        );
        let no_home = Place::of(Path::new("/x/p/chats/session-a.json"));
        assert_eq!(no_home.home, None);
    }

    #[test]
    fn the_cwd_comes_from_markers_then_the_registry_then_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join(".gemini");
        let file = |id: &str| Place::of(&home.join("tmp").join(id).join("chats/session-x.jsonl"));
        write(&home.join("tmp/marked/.project_root"), "/w/marked\n");
        write(&home.join("history/historic/.project_root"), "/w/historic");
        write(
            &home.join("projects.json"),
            r#"{"projects":{"/w/registered":"registered","/w/other":7}}"#,
        );
        write(&home.join("tmp/ignored/.project_root"), "/w/elsewhere");
        assert_eq!(
            resolve(&file("marked"), None, &[]),
            (Some("/w/marked".to_owned()), FROM_MARKER)
        );
        assert_eq!(
            resolve(&file("historic"), None, &[]),
            (Some("/w/historic".to_owned()), FROM_MARKER)
        );
        assert_eq!(
            resolve(&file("registered"), None, &[]),
            (Some("/w/registered".to_owned()), FROM_REGISTRY)
        );
        // An old hash-named directory: any path the home names, or the session's directories.
        let hashed = sha256_hex("/w/elsewhere");
        assert_eq!(
            resolve(&file(&hashed), None, &[]),
            (Some("/w/elsewhere".to_owned()), FROM_HASH)
        );
        let listed = sha256_hex("/w/listed");
        assert_eq!(
            resolve(&file("slug"), Some(&listed), &["/w/listed".to_owned()]),
            (Some("/w/listed".to_owned()), FROM_HASH)
        );
        assert_eq!(
            resolve(&file("slug"), Some(&hashed[1..]), &[]),
            (None, UNRESOLVED)
        );
        assert_eq!(
            resolve(&Place::of(Path::new("/x/f.jsonl")), Some(&hashed), &[]),
            (None, UNRESOLVED)
        );
    }

    #[test]
    fn a_broken_registry_or_marker_resolves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        write(&home.join("projects.json"), "{not json");
        write(&home.join("tmp/empty/.project_root"), " \n");
        fs::create_dir_all(home.join("tmp/dir/.project_root")).unwrap();
        for id in ["empty", "dir", "unknown"] {
            assert_eq!(
                recorded_root(&home.join("tmp").join(id), Some(home)),
                None,
                "{id}"
            );
        }
    }
}
