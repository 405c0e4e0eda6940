//! What an import is asked to take, as data every layer can hold: the `--project` scope, the
//! `--since/--until` window, and the tally of a session's messages that the session rules judge
//! (counted by a parser while it reads a session too big to hold, or at once for a whole one).

use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::model::{BlockKind, Message, Role};

/// An inclusive time window over message timestamps; open ends are unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeWindow {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl TimeWindow {
    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.since.is_none_or(|since| at >= since) && self.until.is_none_or(|until| at <= until)
    }
}

/// The directory `--project` names, in every spelling a recorded cwd may use for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectScope {
    /// The absolute path as given (with `~` expanded and `.`/`..` resolved), then its canonical
    /// form when that differs (symlinks resolved). No trailing slash, except for `/` itself.
    roots: Vec<String>,
}

impl ProjectScope {
    /// Resolves a `--project` value: `~` against `home`, relative paths against `cwd`, symlinks
    /// when the directory exists. A directory that no longer exists still works, so the history of
    /// a deleted project can be imported.
    pub fn resolve(given: &Path, cwd: &Path, home: Option<&Path>) -> Result<Self, String> {
        let expanded = match given.strip_prefix("~") {
            Ok(rest) => match home {
                Some(home) => home.join(rest),
                None => return Err("`~` cannot be expanded: HOME is not set".to_owned()),
            },
            Err(_) => given.to_path_buf(),
        };
        let absolute = normalize_lexically(&cwd.join(expanded));
        let mut roots = vec![path_text(&absolute)?];
        if let Ok(canonical) = std::fs::canonicalize(&absolute) {
            let canonical = path_text(&canonical)?;
            if !roots.contains(&canonical) {
                roots.push(canonical);
            }
        }
        Ok(ProjectScope { roots })
    }

    /// A scope over exactly these absolute directories.
    #[cfg(test)]
    pub(crate) fn from_roots(roots: impl IntoIterator<Item = String>) -> Self {
        ProjectScope {
            roots: roots
                .into_iter()
                .map(|root| trim_trailing_slash(&root).to_owned())
                .collect(),
        }
    }

    pub fn roots(&self) -> &[String] {
        &self.roots
    }

    /// Whether `cwd` is the project directory or below it, by whole path components
    /// (`/a/proj` matches `/a/proj/src`, not `/a/project-other`).
    pub fn matches(&self, cwd: &str) -> bool {
        let cwd = trim_trailing_slash(cwd);
        self.roots.iter().any(|root| {
            root == "/"
                || cwd == root
                || (cwd.len() > root.len()
                    && cwd.starts_with(root.as_str())
                    && cwd.as_bytes()[root.len()] == b'/')
        })
    }
}

fn trim_trailing_slash(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() && path.starts_with('/') {
        "/"
    } else {
        trimmed
    }
}

fn path_text(path: &Path) -> Result<String, String> {
    path.to_str()
        .map(|text| trim_trailing_slash(text).to_owned())
        .ok_or_else(|| format!("`{}` is not valid UTF-8", path.display()))
}

/// Resolves `.` and `..` without touching the filesystem.
fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// What the session rules need to know of a session's messages, gathered one message at a time:
/// a session too big to hold whole is counted as it is read and judged on the count
/// (`source::parts`), exactly as a session held whole is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageTally {
    window: TimeWindow,
    messages: u64,
    user_text_messages: u64,
    /// Some message's time is inside the window.
    any_in_window: bool,
    /// Every message time seen so far is before `--since` (vacuously true before the first).
    all_before_since: bool,
}

impl MessageTally {
    /// An empty tally against the run's time window.
    pub fn new(window: TimeWindow) -> Self {
        MessageTally {
            window,
            messages: 0,
            user_text_messages: 0,
            any_in_window: false,
            all_before_since: true,
        }
    }

    /// The tally of `messages`, in one go.
    pub fn of(messages: &[Message], window: TimeWindow) -> Self {
        let mut tally = MessageTally::new(window);
        messages.iter().for_each(|message| tally.count(message));
        tally
    }

    /// Counts one message at its own time.
    pub fn count(&mut self, message: &Message) {
        self.count_undated(message);
        self.date(message.timestamp);
    }

    /// Counts one message whose time is settled later (a Codex record before any timestamp gets
    /// the session's start): [`MessageTally::date`] then gives it.
    pub fn count_undated(&mut self, message: &Message) {
        self.messages += 1;
        self.user_text_messages += u64::from(is_user_text_message(message));
    }

    /// Notes that counted messages are at `at`.
    pub fn date(&mut self, at: DateTime<Utc>) {
        self.any_in_window |= self.window.contains(at);
        self.all_before_since &= self.window.since.is_some_and(|since| at < since);
    }

    /// Adds the messages `other` counted.
    pub fn merge(&mut self, other: &MessageTally) {
        self.messages += other.messages;
        self.user_text_messages += other.user_text_messages;
        self.any_in_window |= other.any_in_window;
        self.all_before_since &= other.all_before_since;
    }

    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// User messages with typed text.
    pub fn prompts(&self) -> u64 {
        self.user_text_messages
    }

    /// Whether some message's time is inside the window.
    pub fn any_in_window(&self) -> bool {
        self.any_in_window
    }

    /// Whether every message time is before `--since` (vacuously true without messages).
    pub fn all_before_since(&self) -> bool {
        self.all_before_since
    }
}

/// A user message that carries typed text (after noise removal): a prompt.
fn is_user_text_message(message: &Message) -> bool {
    message.role == Role::User && message.blocks.iter().any(|block| block.kind == BlockKind::Text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_scope_matches_by_whole_components() {
        let scope = ProjectScope::from_roots(["/a/proj/".to_owned()]);
        assert!(scope.matches("/a/proj"));
        assert!(scope.matches("/a/proj/src/x"));
        assert!(scope.matches("/a/proj/"));
        assert!(!scope.matches("/a/project-other"));
        assert!(!scope.matches("/a/pro"));
        assert!(!scope.matches("/a"));
        assert!(ProjectScope::from_roots(["/".to_owned()]).matches("/anything"));
    }

    #[test]
    fn project_scope_resolves_tilde_relative_and_dot_dot() {
        let home = Path::new("/home/u");
        let scope = ProjectScope::resolve(Path::new("~/code/x"), Path::new("/w"), Some(home)).unwrap();
        assert_eq!(scope.roots()[0], "/home/u/code/x");
        let scope = ProjectScope::resolve(Path::new("../p/./q/"), Path::new("/w/sub"), Some(home)).unwrap();
        assert_eq!(scope.roots()[0], "/w/p/q");
    }

    #[cfg(unix)]
    #[test]
    fn project_scope_also_matches_the_symlink_target() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
        let scope = ProjectScope::resolve(Path::new("link"), dir.path(), None).unwrap();
        let real = std::fs::canonicalize(&real).unwrap();
        assert!(scope.matches(&format!("{}/src", real.display())));
        assert!(scope.matches(&format!("{}/link", dir.path().display())));
    }
}
