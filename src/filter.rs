//! Which sessions and messages an import takes: the `--project`, `--since/--until`, sidechain,
//! temporary-directory and trivial-session rules, as pure predicates over parsed sessions.

use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{BlockKind, Message, Role, Session, SessionFacts};

/// Sessions with fewer user messages with text than this are trivial (probes, aborted starts).
pub const TRIVIAL_USER_MESSAGE_THRESHOLD: usize = 2;

/// Why a whole session was not imported. The first rule that matches is the one recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// No messages survived parsing and noise removal.
    Empty,
    Sidechain,
    TempCwd,
    Trivial,
    ProjectFilter,
    SinceFilter,
    UntilFilter,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Empty => "empty",
            SkipReason::Sidechain => "sidechain",
            SkipReason::TempCwd => "temp_cwd",
            SkipReason::Trivial => "trivial",
            SkipReason::ProjectFilter => "project_filter",
            SkipReason::SinceFilter => "since_filter",
            SkipReason::UntilFilter => "until_filter",
        }
    }
}

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

    /// A scope over exactly these absolute directories (tests, and callers that resolved them).
    pub fn from_roots(roots: impl IntoIterator<Item = String>) -> Self {
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

/// Whether a cwd is a throwaway directory (`/tmp`, macOS per-user temp folders).
pub fn is_temp_cwd(cwd: &str) -> bool {
    const EXACT: [&str; 2] = ["/tmp", "/private/tmp"];
    const PREFIXES: [&str; 4] = ["/tmp/", "/private/tmp/", "/private/var/folders/", "/var/folders/"];
    EXACT.contains(&cwd) || PREFIXES.iter().any(|prefix| cwd.starts_with(prefix))
}

/// The session-level rules of one import.
#[derive(Clone, Copy, Debug, Default)]
pub struct FilterOptions<'a> {
    pub include_sidechains: bool,
    pub include_temp_cwd: bool,
    pub include_trivial: bool,
    pub project: Option<&'a ProjectScope>,
    pub window: TimeWindow,
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
}

/// Why `session` is not imported at all, or `None` when some of it is.
pub fn session_skip_reason(session: &Session, options: &FilterOptions<'_>) -> Option<SkipReason> {
    tally_skip_reason(
        &session.facts,
        &MessageTally::of(&session.messages, options.window),
        options,
    )
}

/// [`session_skip_reason`] for a session known by its facts and the tally of its messages.
pub fn tally_skip_reason(
    facts: &SessionFacts,
    tally: &MessageTally,
    options: &FilterOptions<'_>,
) -> Option<SkipReason> {
    let cwd = facts.cwd.as_deref();
    if tally.messages == 0 {
        return Some(SkipReason::Empty);
    }
    if facts.is_sidechain && !options.include_sidechains {
        return Some(SkipReason::Sidechain);
    }
    if !options.include_temp_cwd && cwd.is_some_and(is_temp_cwd) {
        return Some(SkipReason::TempCwd);
    }
    // A resumed session's earlier messages passed this rule when they were imported.
    if !options.include_trivial
        && !facts.resumed
        && tally.user_text_messages < TRIVIAL_USER_MESSAGE_THRESHOLD as u64
    {
        return Some(SkipReason::Trivial);
    }
    if let Some(project) = options.project {
        if !cwd.is_some_and(|cwd| project.matches(cwd)) {
            return Some(SkipReason::ProjectFilter);
        }
    }
    if !tally.any_in_window {
        return Some(if tally.all_before_since {
            SkipReason::SinceFilter
        } else {
            SkipReason::UntilFilter
        });
    }
    None
}

/// User messages that carry typed text (after noise removal).
pub fn count_user_text_messages(session: &Session) -> usize {
    session
        .messages
        .iter()
        .filter(|message| is_user_text_message(message))
        .count()
}

fn is_user_text_message(message: &Message) -> bool {
    message.role == Role::User && message.blocks.iter().any(|block| block.kind == BlockKind::Text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Block, Tool};
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 4, 1, hour, 0, 0).unwrap()
    }

    fn message(role: Role, hour: u32) -> Message {
        Message {
            id: format!("m{hour}"),
            origin_session_id: None,
            timestamp: at(hour),
            role,
            blocks: vec![Block::new(BlockKind::Text, "hi")],
            tool_name: None,
            model: None,
            cwd: None,
            line: 0,
        }
    }

    fn session(cwd: &str, messages: Vec<Message>) -> Session {
        Session {
            tool: Tool::Claude,
            id: "s".into(),
            source_file: "/f.jsonl".into(),
            facts: SessionFacts {
                cwd: Some(cwd.into()),
                ..SessionFacts::default()
            },
            messages,
        }
    }

    fn two_prompts() -> Vec<Message> {
        vec![
            message(Role::User, 1),
            message(Role::Assistant, 2),
            message(Role::User, 3),
        ]
    }

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

    #[test]
    fn temp_dirs_are_detected() {
        for cwd in [
            "/tmp",
            "/tmp/x",
            "/private/tmp/y",
            "/var/folders/ab/T/z",
            "/private/var/folders/q",
        ] {
            assert!(is_temp_cwd(cwd), "{cwd}");
        }
        for cwd in ["/var/tmp", "/tmpfoo", "/home/u/tmp"] {
            assert!(!is_temp_cwd(cwd), "{cwd}");
        }
    }

    #[test]
    fn rules_apply_in_order_and_name_the_first_match() {
        let options = FilterOptions::default();
        assert_eq!(
            session_skip_reason(&session("/p", vec![]), &options),
            Some(SkipReason::Empty)
        );
        let mut side = session("/tmp/x", vec![message(Role::User, 1)]);
        side.facts.is_sidechain = true;
        assert_eq!(session_skip_reason(&side, &options), Some(SkipReason::Sidechain));
        side.facts.is_sidechain = false;
        assert_eq!(session_skip_reason(&side, &options), Some(SkipReason::TempCwd));
        let temp_ok = FilterOptions {
            include_temp_cwd: true,
            ..options
        };
        assert_eq!(session_skip_reason(&side, &temp_ok), Some(SkipReason::Trivial));
        assert_eq!(session_skip_reason(&session("/p", two_prompts()), &options), None);
    }

    #[test]
    fn one_user_message_is_trivial_two_are_not() {
        let options = FilterOptions::default();
        let one = session("/p", vec![message(Role::User, 1), message(Role::Assistant, 2)]);
        assert_eq!(session_skip_reason(&one, &options), Some(SkipReason::Trivial));
        let include = FilterOptions {
            include_trivial: true,
            ..options
        };
        assert_eq!(session_skip_reason(&one, &include), None);
    }

    #[test]
    fn project_filter_skips_other_and_missing_cwds() {
        let scope = ProjectScope::from_roots(["/p".to_owned()]);
        let options = FilterOptions {
            project: Some(&scope),
            ..FilterOptions::default()
        };
        assert_eq!(
            session_skip_reason(&session("/p/sub", two_prompts()), &options),
            None
        );
        assert_eq!(
            session_skip_reason(&session("/p-other", two_prompts()), &options),
            Some(SkipReason::ProjectFilter)
        );
        let mut no_cwd = session("/p", two_prompts());
        no_cwd.facts.cwd = None;
        assert_eq!(
            session_skip_reason(&no_cwd, &options),
            Some(SkipReason::ProjectFilter)
        );
    }

    #[test]
    fn window_skips_sessions_with_no_message_inside_it() {
        let since = FilterOptions {
            window: TimeWindow {
                since: Some(at(4)),
                until: None,
            },
            ..FilterOptions::default()
        };
        assert_eq!(
            session_skip_reason(&session("/p", two_prompts()), &since),
            Some(SkipReason::SinceFilter)
        );
        let until = FilterOptions {
            window: TimeWindow {
                since: None,
                until: Some(at(0)),
            },
            ..FilterOptions::default()
        };
        assert_eq!(
            session_skip_reason(&session("/p", two_prompts()), &until),
            Some(SkipReason::UntilFilter)
        );
        let overlapping = FilterOptions {
            window: TimeWindow {
                since: Some(at(3)),
                until: Some(at(3)),
            },
            ..FilterOptions::default()
        };
        assert_eq!(
            session_skip_reason(&session("/p", two_prompts()), &overlapping),
            None
        );
    }
}
