//! Claude Code's prompt history, `<config dir>/history.jsonl` (formats.md §1.1): one line per
//! prompt typed, `{display, pastedContents, timestamp (epoch ms), project, sessionId}`, kept after
//! Claude Code deletes the transcripts (`cleanupPeriodDays`). A salvaging run reads it for the
//! sessions whose transcript is gone: what the user typed, and nothing of the answers.
//!
//! A session whose transcript `projects/*/<session>.jsonl` is beside the history is never read
//! from it: the transcript holds every prompt the history does. A line without a `sessionId`
//! (releases before it was recorded) cannot be told apart from a transcript's prompt, so it is
//! left out. Pasted text is put back where `display` shows its `[Pasted text #n …]` placeholder
//! when the line holds it (longer pastes are kept by hash in `paste-cache/`, which is not read);
//! images stay placeholders. As in a transcript, a bare slash command (`/model`) and a shell
//! command (`!ls`) are not conversation.
//!
//! Ids: `history-<timestamp ms>`, with `-<n>` for the n-th repeat in a session. The file is read
//! whole whenever it changed: whether a session's transcript is on disk can change between runs
//! without the history changing where a checkpoint would notice.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use chrono::DateTime;
use serde::Deserialize;
use serde_json::Value;

use crate::model::{Block, BlockKind, Diagnostic, Message, Role, Session, SessionFacts};
use crate::source::jsonl::{self, Owned};
use crate::source::title::title_from_prompt;
use crate::source::{open_listed_file, own_fact, Candidate, ParseOutcome};

use super::TOOL;

/// The history's file name, in Claude Code's config directory.
const HISTORY_FILE: &str = "history.jsonl";
/// Where the config directory keeps the transcripts.
const PROJECTS: &str = "projects";

/// The history beside the transcripts of each root: a root is the config directory (holding
/// `projects/`) or its `projects/` directory, as discovery takes them.
pub(super) fn salvage_files(roots: &[PathBuf]) -> Vec<Candidate> {
    let mut found: Vec<PathBuf> = roots
        .iter()
        .filter_map(|root| {
            if root.join(PROJECTS).is_dir() {
                Some(root.as_path())
            } else {
                root.parent()
                    .filter(|_| root.file_name().is_some_and(|name| name == PROJECTS))
            }
        })
        .map(|config| config.join(HISTORY_FILE))
        .filter(|history| history.is_file())
        .collect();
    found.sort();
    found.dedup();
    found
        .into_iter()
        .map(|path| Candidate {
            path,
            also: Vec::new(),
            sidechain: false,
        })
        .collect()
}

/// Whether `path` is a prompt history rather than a transcript (whose name is a session id).
pub(super) fn is_history_file(path: &Path) -> bool {
    path.file_name().is_some_and(|name| name == HISTORY_FILE)
}

/// One line of the history. Fields are read leniently; a line whose fields have other types is
/// malformed.
#[derive(Deserialize)]
struct HistoryLine {
    #[serde(default)]
    display: Option<String>,
    #[serde(default, rename = "pastedContents")]
    pasted: Option<Value>,
    #[serde(default)]
    timestamp: Option<Value>,
    #[serde(default)]
    project: Option<String>,
    #[serde(default, rename = "sessionId")]
    session_id: Option<String>,
}

/// A session being salvaged, in the order sessions first appear.
struct Salvaged {
    id: String,
    cwd: Option<String>,
    messages: Vec<Message>,
    /// How many prompts of each millisecond were taken, for the ids of repeats.
    repeats: HashMap<i64, u32>,
}

/// Reads the history whole into the sessions whose transcript is not beside it.
pub(super) fn parse(candidate: &Candidate) -> ParseOutcome {
    let path = candidate.path.as_path();
    let mut outcome = ParseOutcome::default();
    let Some(file) = open_listed_file(path, &mut outcome.diagnostics) else {
        return outcome;
    };
    // Unless every transcript beside it can be listed, no session can be told gone.
    let projects = path.parent().unwrap_or(Path::new("")).join(PROJECTS);
    let transcribed = match transcripts_in(&projects) {
        Ok(transcribed) => transcribed,
        Err(err) => {
            outcome.diagnostics.push(Diagnostic::unreadable(&projects, &err));
            return outcome;
        }
    };
    let mut sessions: Vec<Salvaged> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut malformed = Vec::new();
    let reader = BufReader::with_capacity(crate::limits::READ_BUFFER, file);
    let read = jsonl::read_records::<_, Owned<HistoryLine>>(
        reader,
        path,
        &mut outcome.diagnostics,
        |line, entry| {
            let Some(session_id) = entry.session_id.filter(|id| !id.is_empty()) else {
                return;
            };
            if transcribed.contains(&session_id) {
                return;
            }
            let Some(text) = prompt_text(entry.display.as_deref(), entry.pasted.as_ref()) else {
                return;
            };
            let Some(at) = entry
                .timestamp
                .as_ref()
                .and_then(Value::as_i64)
                .and_then(DateTime::from_timestamp_millis)
            else {
                malformed.push(jsonl::malformed(
                    path,
                    line,
                    "a prompt without an epoch-milliseconds `timestamp`",
                ));
                return;
            };
            let at_ms = at.timestamp_millis();
            let slot = *index.entry(session_id.clone()).or_insert_with(|| {
                sessions.push(Salvaged {
                    id: session_id,
                    cwd: entry.project.clone().filter(|project| !project.is_empty()),
                    messages: Vec::new(),
                    repeats: HashMap::new(),
                });
                sessions.len() - 1
            });
            let session = &mut sessions[slot];
            let repeat = session.repeats.entry(at_ms).or_default();
            let id = match *repeat {
                0 => format!("history-{at_ms}"),
                n => format!("history-{at_ms}-{n}"),
            };
            *repeat += 1;
            session.messages.push(Message {
                id,
                origin_session_id: None,
                timestamp: at,
                role: Role::User,
                blocks: vec![Block::new(BlockKind::Text, text)],
                tool_name: None,
                model: None,
                cwd: own_fact(entry.project.as_deref(), session.cwd.as_deref()),
                line,
            });
        },
    );
    match read {
        Ok(stats) => outcome.stats = stats,
        Err(err) => outcome.diagnostics.push(Diagnostic::unreadable(path, &err)),
    }
    outcome.stats.malformed_lines += malformed.len() as u64;
    outcome.diagnostics.append(&mut malformed);
    outcome.diagnostics.sort_by_key(|diagnostic| diagnostic.line);
    let source_file = std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string();
    outcome.sessions = sessions
        .into_iter()
        .map(|salvaged| {
            let first = &salvaged.messages[0];
            let facts = SessionFacts {
                title: Some(title_from_prompt(&first.blocks[0].text)).filter(|title| !title.is_empty()),
                cwd: salvaged.cwd,
                started_at: Some(first.timestamp),
                salvaged: true,
                ..SessionFacts::default()
            };
            Session {
                tool: TOOL,
                id: salvaged.id,
                source_file: source_file.clone(),
                facts,
                messages: salvaged.messages,
            }
        })
        .collect();
    outcome
}

/// The session ids of the transcripts under `projects` (`<project>/<session>.jsonl`); empty
/// when there is no `projects/`, the error when a directory of it cannot be listed.
fn transcripts_in(projects: &Path) -> std::io::Result<HashSet<String>> {
    let mut sessions = HashSet::new();
    let dirs = match fs::read_dir(projects) {
        Ok(dirs) => dirs,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(sessions),
        Err(err) => return Err(err),
    };
    for dir in dirs {
        let dir = dir?.path();
        if !dir.is_dir() {
            continue;
        }
        for file in fs::read_dir(&dir)? {
            let name = file?.file_name();
            if let Some(session) = name.to_str().and_then(|name| name.strip_suffix(".jsonl")) {
                sessions.insert(session.to_owned());
            }
        }
    }
    Ok(sessions)
}

/// What the user typed on one history line, pastes put back; `None` when there is nothing, or
/// only a command that is not conversation.
fn prompt_text(display: Option<&str>, pasted: Option<&Value>) -> Option<String> {
    let display = display?.trim();
    if display.is_empty() || display.starts_with('!') || is_bare_slash_command(display) {
        return None;
    }
    let mut text = display.to_owned();
    if let Some(Value::Object(pastes)) = pasted {
        for (key, paste) in pastes {
            let (Some("text"), Some(content)) = (
                paste.get("type").and_then(Value::as_str),
                paste.get("content").and_then(Value::as_str),
            ) else {
                continue;
            };
            let id = paste.get("id").and_then(Value::as_u64).map(|id| id.to_string());
            let id = id.as_deref().unwrap_or(key);
            text = put_back_paste(&text, id, content);
        }
    }
    Some(text)
}

/// A slash command typed without arguments (`/model`, `/compact`), which transcripts record as a
/// command wrapper memtree leaves out; a path (`/tmp/x`) or a command with arguments is kept.
fn is_bare_slash_command(text: &str) -> bool {
    text.strip_prefix('/').is_some_and(|name| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
    })
}

/// `text` with the placeholder of paste `id` (`[Pasted text #<id>]` or `[Pasted text #<id> +<n>
/// lines]`) replaced by `content`; unchanged when it shows none.
fn put_back_paste(text: &str, id: &str, content: &str) -> String {
    let opening = format!("[Pasted text #{id}");
    let mut out = String::with_capacity(text.len() + content.len());
    let mut rest = text;
    while let Some(at) = rest.find(&opening) {
        let after = &rest[at + opening.len()..];
        let Some(close) = after.find(']') else { break };
        let between = &after[..close];
        // `#1` must not match `#12`: only ` +<n> lines` may follow the id.
        if !(between.is_empty() || between.starts_with(" +")) {
            out.push_str(&rest[..at + opening.len()]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..at]);
        out.push_str(content);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pastes_are_put_back_at_their_placeholders_only() {
        assert_eq!(
            put_back_paste("see [Pasted text #1 +12 lines] and [Pasted text #12]", "1", "ONE"),
            "see ONE and [Pasted text #12]"
        );
        assert_eq!(put_back_paste("[Pasted text #2]!", "2", "two"), "two!");
        assert_eq!(put_back_paste("no paste", "1", "x"), "no paste");
        assert_eq!(
            put_back_paste("[Pasted text #1 unclosed", "1", "x"),
            "[Pasted text #1 unclosed"
        );
    }

    #[test]
    fn commands_are_not_prompts_but_paths_and_arguments_are() {
        assert_eq!(prompt_text(Some("/model"), None), None);
        assert_eq!(prompt_text(Some(" /compact "), None), None);
        assert_eq!(prompt_text(Some("!ls -la"), None), None);
        assert_eq!(prompt_text(Some("   "), None), None);
        assert_eq!(prompt_text(None, None), None);
        assert_eq!(
            prompt_text(Some("/review fix the bug"), None).as_deref(),
            Some("/review fix the bug")
        );
        assert_eq!(prompt_text(Some("/tmp/x"), None).as_deref(), Some("/tmp/x"));
        let pasted = serde_json::json!({"1": {"id": 1, "type": "text", "content": "fn main() {}"},
                                        "2": {"id": 2, "type": "image", "content": "iVBORw0"}});
        assert_eq!(
            prompt_text(Some("fix [Pasted text #1 +1 lines] [Image #2]"), Some(&pasted)).as_deref(),
            Some("fix fn main() {} [Image #2]")
        );
    }
}
