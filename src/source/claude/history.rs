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
//! Ids: `history-<timestamp ms>`, with `-<n>` for the n-th repeat in a session. The history is
//! read as a store ([`crate::source::salvage`]): every run reads it (whether a session's
//! transcript is on disk can change without the history changing), and plans only the sessions
//! whose last prompt is not the one the session ledger recorded.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::model::{Block, BlockKind, Diagnostic, KnownRevisions, Message, Role, Session, SessionFacts};
use crate::source::jsonl::{self, Owned};
use crate::source::salvage::is_bare_slash_command;
use crate::source::title::title_from_prompt;
use crate::source::{open_listed_file, own_fact, Candidate, ParseOutcome, Salvage, StoreReader};

use super::TOOL;

/// The history's file name, in Claude Code's config directory.
const HISTORY_FILE: &str = "history.jsonl";
/// Where the config directory keeps the transcripts.
const PROJECTS: &str = "projects";

/// Claude Code's prompt history, read for salvage ([`Salvage`]).
pub(super) struct History;

impl Salvage for History {
    /// The history beside the transcripts of each root: a root is the config directory (holding
    /// `projects/`) or its `projects/` directory, as discovery takes them.
    fn files(&self, roots: &[PathBuf]) -> Vec<Candidate> {
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

/// A prompt of a session to salvage, as one history line gives it.
struct Prompt {
    session_id: String,
    text: String,
    at: DateTime<Utc>,
    project: Option<String>,
}

/// The prompt on a history line, when its session is to be salvaged: `None` for a line of a
/// session whose transcript is on disk, without a session, or without a prompt; `Err` for a
/// prompt without a time.
fn prompt_of(entry: HistoryLine, transcribed: &HashSet<String>) -> Option<Result<Prompt, &'static str>> {
    let session_id = entry.session_id.filter(|id| !id.is_empty())?;
    if transcribed.contains(&session_id) {
        return None;
    }
    let text = prompt_text(entry.display.as_deref(), entry.pasted.as_ref())?;
    let at = entry
        .timestamp
        .as_ref()
        .and_then(Value::as_i64)
        .and_then(DateTime::from_timestamp_millis);
    Some(match at {
        Some(at) => Ok(Prompt {
            session_id,
            text,
            at,
            project: entry.project.filter(|project| !project.is_empty()),
        }),
        None => Err("a prompt without an epoch-milliseconds `timestamp`"),
    })
}

/// What the first pass learns of a session to salvage.
struct Outline {
    /// The line of its last prompt: pass 2 hands the session over once past it.
    last_line: u64,
    revision: i64,
}

/// A session being read in pass 2.
struct Salvaged {
    cwd: Option<String>,
    messages: Vec<Message>,
    /// How many prompts of each millisecond were taken, for the ids of repeats.
    repeats: HashMap<i64, u32>,
}

impl StoreReader for History {
    /// Reads the history in two passes, so memory follows the sessions open at once, not the
    /// file: the first finds each session to salvage, its last line and its revision; the second
    /// reads the prompts of those whose revision is not in `known` and hands each session over
    /// at its last line.
    fn read(
        &self,
        candidate: &Candidate,
        known: &KnownRevisions,
        emit: &mut dyn FnMut(Session),
    ) -> ParseOutcome {
        let path = candidate.path.as_path();
        let mut outcome = ParseOutcome::default();
        let Some(mut file) = open_listed_file(path, &mut outcome.diagnostics) else {
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
        let mut outlines: HashMap<String, Outline> = HashMap::new();
        let mut malformed = Vec::new();
        let reader = BufReader::with_capacity(crate::limits::READ_BUFFER, &mut file);
        let read = jsonl::read_records::<_, Owned<HistoryLine>>(
            reader,
            path,
            &mut outcome.diagnostics,
            |line, entry| match prompt_of(entry, &transcribed) {
                Some(Ok(prompt)) => {
                    let outline = outlines.entry(prompt.session_id).or_insert(Outline {
                        last_line: line,
                        revision: i64::MIN,
                    });
                    outline.last_line = line;
                    outline.revision = outline.revision.max(prompt.at.timestamp_millis());
                }
                Some(Err(problem)) => malformed.push(jsonl::malformed(path, line, problem)),
                None => {}
            },
        );
        match read {
            Ok(stats) => outcome.stats = stats,
            Err(err) => {
                outcome.diagnostics.push(Diagnostic::unreadable(path, &err));
                return outcome;
            }
        }
        outcome.stats.malformed_lines += malformed.len() as u64;
        outcome.diagnostics.append(&mut malformed);
        outcome.diagnostics.sort_by_key(|diagnostic| diagnostic.line);
        outlines.retain(|session_id, outline| {
            let unchanged = known.get(session_id) == Some(&outline.revision);
            outcome.unchanged_sessions += u64::from(unchanged);
            !unchanged
        });
        if outlines.is_empty() {
            return outcome;
        }
        let source_file = std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string();
        // Pass 2 reads the bytes pass 1 read, not what was appended since.
        let reread = file
            .seek(SeekFrom::Start(0))
            .map(|_| BufReader::with_capacity(crate::limits::READ_BUFFER, (&file).take(outcome.stats.bytes)));
        let reader = match reread {
            Ok(reader) => reader,
            Err(err) => {
                outcome.diagnostics.push(Diagnostic::unreadable(path, &err));
                return outcome;
            }
        };
        let mut open: HashMap<String, Salvaged> = HashMap::new();
        let mut hand_over = |session_id: String, salvaged: Salvaged, revision: i64| {
            emit(session(session_id, salvaged, revision, &source_file));
        };
        let reread =
            jsonl::read_records::<_, Owned<HistoryLine>>(reader, path, &mut Vec::new(), |line, entry| {
                // Most lines are of sessions recorded already: passed over before their text is built.
                if !entry
                    .session_id
                    .as_ref()
                    .is_some_and(|id| outlines.contains_key(id))
                {
                    return;
                }
                let Some(Ok(prompt)) = prompt_of(entry, &transcribed) else {
                    return;
                };
                let Some(outline) = outlines.get(&prompt.session_id) else {
                    return;
                };
                let (last_line, revision) = (outline.last_line, outline.revision);
                let salvaged = open.entry(prompt.session_id.clone()).or_insert_with(|| Salvaged {
                    cwd: prompt.project.clone(),
                    messages: Vec::new(),
                    repeats: HashMap::new(),
                });
                let at_ms = prompt.at.timestamp_millis();
                let repeat = salvaged.repeats.entry(at_ms).or_default();
                let id = match *repeat {
                    0 => format!("history-{at_ms}"),
                    n => format!("history-{at_ms}-{n}"),
                };
                *repeat += 1;
                salvaged.messages.push(Message {
                    id,
                    origin_session_id: None,
                    timestamp: prompt.at,
                    role: Role::User,
                    blocks: vec![Block::new(BlockKind::Text, prompt.text)],
                    tool_name: None,
                    model: None,
                    cwd: own_fact(prompt.project.as_deref(), salvaged.cwd.as_deref()),
                    line,
                });
                if line >= last_line {
                    if let Some(salvaged) = open.remove(&prompt.session_id) {
                        hand_over(prompt.session_id, salvaged, revision);
                    }
                }
            });
        if let Err(err) = reread {
            outcome.diagnostics.push(Diagnostic::unreadable(path, &err));
        }
        // Sessions the second pass did not see to their end (the file was rewritten meanwhile)
        // are handed over as far as they were read: their ids are the same either way.
        let mut rest: Vec<(String, Salvaged)> = open.into_iter().collect();
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        for (session_id, salvaged) in rest {
            let revision = outlines
                .get(&session_id)
                .map_or(i64::MIN, |outline| outline.revision);
            hand_over(session_id, salvaged, revision);
        }
        outcome
    }
}

/// A salvaged session of the prompts read.
fn session(id: String, salvaged: Salvaged, revision: i64, source_file: &str) -> Session {
    let first = &salvaged.messages[0];
    let facts = SessionFacts {
        title: Some(title_from_prompt(&first.blocks[0].text)).filter(|title| !title.is_empty()),
        cwd: salvaged.cwd,
        started_at: Some(first.timestamp),
        revision: Some(revision),
        salvaged: true,
        ..SessionFacts::default()
    };
    Session {
        tool: TOOL,
        id,
        source_file: source_file.to_owned(),
        facts,
        messages: salvaged.messages,
    }
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
