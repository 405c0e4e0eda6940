//! Which sessions and messages an import takes: the `--project`, `--since/--until`, sidechain,
//! temporary-directory and trivial-session rules, as pure predicates over parsed sessions.

use serde::Serialize;

use crate::model::{Session, SessionFacts};
use crate::scope::{MessageTally, ProjectScope, TimeWindow};

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
    /// A salvaged session whose transcript is already in the store.
    TranscriptImported,
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
            SkipReason::TranscriptImported => "transcript_imported",
        }
    }
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
    if tally.messages() == 0 {
        return Some(SkipReason::Empty);
    }
    if facts.is_sidechain && !options.include_sidechains {
        return Some(SkipReason::Sidechain);
    }
    if !options.include_temp_cwd && cwd.is_some_and(is_temp_cwd) {
        return Some(SkipReason::TempCwd);
    }
    // A resumed session's earlier messages passed this rule when they were imported.
    if !options.include_trivial && !facts.resumed && tally.prompts() < TRIVIAL_USER_MESSAGE_THRESHOLD as u64 {
        return Some(SkipReason::Trivial);
    }
    if let Some(project) = options.project {
        if !cwd.is_some_and(|cwd| project.matches(cwd)) {
            return Some(SkipReason::ProjectFilter);
        }
    }
    if !tally.any_in_window() {
        return Some(if tally.all_before_since() {
            SkipReason::SinceFilter
        } else {
            SkipReason::UntilFilter
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Block, BlockKind, Message, Role, Tool};
    use chrono::{DateTime, TimeZone, Utc};

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
            tool: Tool::named("claude"),
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
