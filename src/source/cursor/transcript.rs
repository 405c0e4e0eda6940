//! Reads Cursor's agent transcripts (formats-more-tools.md 1.1): the JSONL generation (one
//! record per line, `<id>/<id>.jsonl` or flat `<id>.jsonl`) and the single-array `.json` one here,
//! the plain-text `.txt` one in `txt.rs`.
//!
//! No generation records ids, times, models or the cwd. A message's id is its record's position
//! (the line in a JSONL file, the index in a `.json` array, the block in a `.txt` file): records
//! are only ever appended, so a re-run or an append gives the same ids. Its time is its turn's
//! `<timestamp>` tag, else the conversation's creation time (`session.rs`). The cwd is read from
//! the folder name when the absolute paths in the tool calls (or a workspace another store names)
//! settle it (`cwd.rs`). One model response spans many `assistant` lines; each is a message.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, ErrorKind, Read as _, Seek, SeekFrom};
use std::path::Path;

use chrono::{DateTime, Utc};
use std::borrow::Cow;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::limits::READ_BUFFER;
use crate::model::{Block, BlockKind, Diagnostic, DiagnosticKind, FileStats, Role};
use crate::source::jsonl::{decode_document, read_records, Owned};
use crate::source::open_listed_file;

use super::bubble::text_at;
use super::cwd::{collect_paths, resolve_folder};
use super::locate::{Format, TranscriptFile};
use super::marker;
use super::session::{Conversation, Draft, MessageTime};
use super::text::{assistant_blocks, push_text, tool_use_block, user_text};

/// How much of a transcript's end its revision marker covers, with its size: an append or a
/// rewrite moves it, a copy or a touch does not.
const MARKER_TAIL: u64 = 4096;

/// What reading one transcript gives: the conversation, and the file's accounting.
pub(super) struct Transcript {
    pub conversation: Conversation,
    pub stats: FileStats,
}

/// The revision marker of a transcript: its size and the hash of its last bytes. `None` when it
/// cannot be read (it vanished; the read reports it).
pub(super) fn file_marker(path: &Path) -> Option<i64> {
    let mut file = File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(size.saturating_sub(MARKER_TAIL)))
        .ok()?;
    std::io::Read::take(file, MARKER_TAIL)
        .read_to_end(&mut tail)
        .ok()?;
    Some(marker(&[b"transcript", &size.to_le_bytes(), &tail]))
}

/// Reads one transcript. `known_cwd` is whether another store already says where the
/// conversation ran; if not, the folder name is resolved among `workspaces` (the folders other
/// stores name) and the paths in the transcript's tool calls. A file that cannot be read is a
/// diagnostic and `None`.
pub(super) fn read(
    file: &TranscriptFile,
    known_cwd: bool,
    workspaces: &[&str],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Transcript> {
    let handle = open_listed_file(&file.path, diagnostics)?;
    let mut paths = BTreeSet::new();
    let read = match file.format {
        Format::Jsonl => read_jsonl(handle, &file.path, &mut paths, diagnostics),
        Format::Json => read_json(handle, &file.path, &mut paths, diagnostics),
        Format::Txt => super::txt::read_txt(handle, &file.path, &mut paths, diagnostics),
    };
    let mut read = match read {
        Ok(read) => read,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            diagnostics.push(Diagnostic::vanished(&file.path));
            return None;
        }
        Err(error) => {
            diagnostics.push(Diagnostic::unreadable(&file.path, error));
            return None;
        }
    };
    if !known_cwd {
        if let Some(folder) = &file.folder {
            read.conversation.head.cwd = resolve_folder(folder, workspaces.iter().copied(), &paths)
                .map(|cwd| (cwd, "transcript_folder"));
        }
    }
    read.conversation.fallback_times = file_times(&file.path);
    Some(read)
}

/// The file's birth time (where the platform keeps one), then its modification time.
pub(super) fn file_times(path: &Path) -> Vec<(DateTime<Utc>, &'static str)> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Vec::new();
    };
    [
        (meta.created(), "file_birth_time"),
        (meta.modified(), "file_mtime"),
    ]
    .into_iter()
    .filter_map(|(time, origin)| Some((DateTime::<Utc>::from(time.ok()?), origin)))
    .collect()
}

/// One JSONL record: `{"role", "message": {"content"}}`, or `{"type": "turn_ended"}`. Only a
/// JSON object is a record; its other fields are skipped unread.
#[derive(Default)]
struct Line {
    role: Value,
    message: Value,
}

impl<'de> Deserialize<'de> for Line {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LineVisitor;
        impl<'de> Visitor<'de> for LineVisitor {
            type Value = Line;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Line, A::Error> {
                let mut line = Line::default();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    match key.as_ref() {
                        "role" => line.role = map.next_value()?,
                        "message" => line.message = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(line)
            }
        }
        deserializer.deserialize_map(LineVisitor)
    }
}

fn read_jsonl(
    file: File,
    path: &Path,
    paths: &mut BTreeSet<String>,
    diagnostics: &mut Vec<Diagnostic>,
) -> std::io::Result<Transcript> {
    let mut conversation = Conversation::default();
    let mut turn = None;
    let reader = BufReader::with_capacity(READ_BUFFER, file);
    let stats = read_records::<_, Owned<Line>>(reader, path, diagnostics, |line_number, line| {
        let content = line.message.get("content").unwrap_or(&Value::Null);
        let draft = match line.role.as_str() {
            Some("user") => user_draft(&content_text(content), image_count(content), &mut turn),
            Some("assistant") => assistant_draft(content, paths, turn),
            _ => None,
        };
        conversation.drafts.extend(draft.map(|draft| Draft {
            id: line_number.to_string(),
            line: line_number,
            ..draft
        }));
    })?;
    Ok(Transcript { conversation, stats })
}

/// The `text` parts of a content list (or a content string), joined.
fn content_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|part| match part {
                Value::String(text) => Some(text.as_str()),
                _ if text_at(part, "/type") == Some("text") => part.get("text").and_then(Value::as_str),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn image_count(content: &Value) -> usize {
    content.as_array().map_or(0, |parts| {
        parts
            .iter()
            .filter(|part| text_at(part, "/type") == Some("image"))
            .count()
    })
}

/// A user record's message; its `<timestamp>` tag starts a new turn in `turn`. A follow-up Cursor
/// sent is a system message; a record of context alone is none.
pub(super) fn user_draft(raw: &str, images: usize, turn: &mut Option<DateTime<Utc>>) -> Option<Draft> {
    let user = user_text(raw);
    if user.at.is_some() {
        *turn = user.at;
    }
    let mut blocks = Vec::new();
    let role = user.into_message(images, &mut blocks);
    draft(role, blocks, *turn, None)
}

/// An assistant record's message: its text (with inline `<think>`), thinking and tool calls.
fn assistant_draft(
    content: &Value,
    paths: &mut BTreeSet<String>,
    turn: Option<DateTime<Utc>>,
) -> Option<Draft> {
    let parts: Vec<&Value> = match content {
        Value::Array(parts) => parts.iter().collect(),
        Value::String(_) => vec![content],
        _ => Vec::new(),
    };
    let mut blocks = Vec::new();
    for part in parts {
        if let Value::String(text) = part {
            assistant_blocks(text, &mut blocks);
            continue;
        }
        match text_at(part, "/type") {
            Some("text") => assistant_blocks(text_at(part, "/text").unwrap_or_default(), &mut blocks),
            Some("thinking" | "reasoning") => {
                let text = text_at(part, "/thinking").or_else(|| text_at(part, "/text"));
                push_text(&mut blocks, BlockKind::Thinking, text.unwrap_or_default());
            }
            Some("tool_use") => {
                let name = text_at(part, "/name").unwrap_or("tool");
                blocks.push(tool_call(name, part.get("input"), paths));
            }
            Some("tool_result") => {
                let text = match part.get("content") {
                    Some(content @ Value::Array(_)) => content_text(content),
                    Some(Value::String(text)) => text.clone(),
                    _ => String::new(),
                };
                push_text(&mut blocks, BlockKind::ToolResult, &text);
            }
            _ => {}
        }
    }
    draft(Role::Assistant, blocks, turn, None)
}

/// A tool call block, its input's absolute paths noted for the cwd.
pub(super) fn tool_call(name: &str, input: Option<&Value>, paths: &mut BTreeSet<String>) -> Block {
    let input = match input {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    collect_paths(&input, paths);
    tool_use_block(name, &input)
}

/// A draft of `blocks`, or `None` when there are none; its id and line are set by the caller.
pub(super) fn draft(
    role: Role,
    blocks: Vec<Block>,
    turn: Option<DateTime<Utc>>,
    tool_name: Option<String>,
) -> Option<Draft> {
    if blocks.is_empty() {
        return None;
    }
    let tool_name = tool_name.or_else(|| {
        blocks
            .iter()
            .find(|block| block.kind == BlockKind::ToolUse)
            .and_then(|block| block.tool_name.clone())
    });
    Some(Draft {
        id: String::new(),
        role,
        blocks,
        time: turn.map_or(MessageTime::Undated, MessageTime::Tag),
        model: None,
        tool_name,
        line: 0,
    })
}

/// The `.json` generation: one array of `{role: user, text}`, `{role: assistant, text,
/// toolCalls: [{toolName, args}]}` and `{role: tool, toolResult: {toolName}}` records (the
/// results carry no output).
fn read_json(
    file: File,
    path: &Path,
    paths: &mut BTreeSet<String>,
    diagnostics: &mut Vec<Diagnostic>,
) -> std::io::Result<Transcript> {
    let document = decode_document::<Value>(BufReader::with_capacity(READ_BUFFER, file))?;
    let mut stats = FileStats {
        bytes: document.bytes,
        ..FileStats::default()
    };
    if document.invalid_utf8_replaced {
        diagnostics.push(problem(
            path,
            DiagnosticKind::InvalidUtf8,
            "invalid UTF-8 replaced with U+FFFD",
        ));
    }
    let records = match document.decoded {
        Ok(Value::Array(records)) => records,
        Ok(_) => {
            stats.malformed_lines += 1;
            diagnostics.push(problem(
                path,
                DiagnosticKind::Malformed,
                "not a JSON array of messages",
            ));
            Vec::new()
        }
        Err(error) => {
            stats.malformed_lines += 1;
            diagnostics.push(problem(
                path,
                DiagnosticKind::Malformed,
                &format!("invalid JSON: {error}"),
            ));
            Vec::new()
        }
    };
    let mut conversation = Conversation::default();
    let mut turn = None;
    for (index, record) in records.iter().enumerate() {
        let text = text_at(record, "/text").unwrap_or_default();
        let draft = match text_at(record, "/role") {
            Some("user") => user_draft(text, 0, &mut turn),
            Some("assistant") => {
                let mut blocks = Vec::new();
                assistant_blocks(text, &mut blocks);
                for call in record
                    .get("toolCalls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name = text_at(call, "/toolName")
                        .or_else(|| text_at(call, "/name"))
                        .unwrap_or("tool");
                    blocks.push(tool_call(name, call.get("args"), paths));
                }
                draft(Role::Assistant, blocks, turn, None)
            }
            Some("tool") => {
                let name = text_at(record, "/toolResult/toolName").unwrap_or("tool");
                let mut blocks = Vec::new();
                if let Some(result) = text_at(record, "/toolResult/result") {
                    blocks.push(Block::with_tool(BlockKind::ToolResult, result, name));
                }
                draft(Role::ToolResult, blocks, turn, Some(name.to_owned()))
            }
            _ => None,
        };
        conversation.drafts.extend(draft.map(|draft| Draft {
            id: (index + 1).to_string(),
            ..draft
        }));
    }
    Ok(Transcript { conversation, stats })
}

fn problem(path: &Path, kind: DiagnosticKind, message: &str) -> Diagnostic {
    Diagnostic {
        file: path.to_path_buf(),
        line: None,
        kind,
        message: message.to_owned(),
    }
}
