//! Reading one task: `api_conversation_history.json`, a JSON array of Cline's
//! `ClineStorageMessage` (an Anthropic `MessageParam`, `{role, content}`, with the optional
//! `id`, `ts` in epoch ms, `modelInfo {modelId, providerId, mode}` and `metrics`), and the
//! task's `task_metadata.json` beside it (`model_usage`, `environment_history`).
//!
//! The document is read whole, its strings cut as an overlong line's are; one caught mid-rewrite
//! does not decode, which is a diagnostic so the file is read again next run. A message that does
//! not decode is a malformed part of the document, and the rest is read. Messages have no lines:
//! each is line 0 and its id is its place in the array. A message without a `ts` of its own
//! (older versions wrote none) takes the time before it, from the task's id (the epoch ms the
//! task started) or else the file's time, and the session's `time_origin` says so.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::model::{Block, BlockKind, Message, Role, Session, SessionFacts};
use crate::source::json_string::call_text;
use crate::source::jsonl::{malformed_document, read_document};
use crate::source::title::title_from_prompt;
use crate::source::{own_fact, Candidate, ParseOutcome};

use super::discover::{fork, METADATA_FILE};
use super::noise::{environment_cwd, text_tool_result, user_text};
use super::TOOL;

/// A task's metadata file is a few kilobytes; a longer one is not read.
const MAX_METADATA: u64 = 4 << 20;

#[derive(Deserialize)]
struct StoredMessage {
    role: Option<String>,
    /// A string, or a list of [`ContentBlock`]s (decoded apart: blocks hold raw values, which an
    /// untagged enum cannot).
    content: Option<Box<RawValue>>,
    ts: Option<f64>,
    #[serde(rename = "modelInfo")]
    model_info: Option<ModelInfo>,
}

/// One content block, flat: the fields of every block type the extensions write.
#[derive(Deserialize)]
struct ContentBlock {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    thinking: Option<String>,
    id: Option<String>,
    name: Option<String>,
    input: Option<Box<RawValue>>,
    tool_use_id: Option<String>,
    content: Option<Value>,
}

#[derive(Deserialize)]
struct ModelInfo {
    #[serde(rename = "modelId")]
    model_id: Option<String>,
    #[serde(rename = "providerId")]
    provider_id: Option<String>,
    mode: Option<String>,
}

#[derive(Deserialize, Default)]
struct TaskMetadata {
    #[serde(default)]
    model_usage: Vec<ModelUsage>,
    #[serde(default)]
    environment_history: Vec<EnvironmentEntry>,
}

#[derive(Deserialize)]
struct ModelUsage {
    model_id: Option<String>,
    model_provider_id: Option<String>,
    mode: Option<String>,
}

#[derive(Deserialize)]
struct EnvironmentEntry {
    cline_version: Option<String>,
}

/// Reads one task file into its session, whole.
pub(super) fn parse(candidate: &Candidate, file: File, mut outcome: ParseOutcome) -> ParseOutcome {
    let path = candidate.path.as_path();
    let modified = file.metadata().and_then(|meta| meta.modified()).ok();
    let Some(read) = read_document::<Vec<Box<RawValue>>>(file, path, &mut outcome) else {
        return outcome;
    };
    let stored = match read {
        Ok(stored) => stored,
        Err(err) => {
            outcome.stats.malformed_lines += 1;
            let message = format!("malformed task document: {err}");
            outcome.diagnostics.push(malformed_document(path, message));
            return outcome;
        }
    };
    let place = Place::of(path);
    let mut task = Task::new(&place, modified.map(DateTime::<Utc>::from));
    for (index, raw) in stored.iter().enumerate() {
        let pushed =
            serde_json::from_str::<StoredMessage>(raw.get()).and_then(|message| task.push(index, message));
        match pushed {
            Ok(()) => {}
            Err(err) => {
                outcome.stats.malformed_lines += 1;
                let message = format!("malformed message {index}: {err}");
                outcome.diagnostics.push(malformed_document(path, message));
            }
        }
    }
    if task.messages.is_empty() {
        return outcome;
    }
    let metadata = read_metadata(path);
    outcome.sessions.push(task.finish(candidate, place, metadata));
    outcome
}

/// What the task file's path tells: the task's id and the fork that wrote it.
struct Place {
    task_id: String,
    fork: Option<&'static str>,
    /// The task id as the epoch ms it was made from.
    started_at: Option<DateTime<Utc>>,
}

impl Place {
    fn of(path: &Path) -> Place {
        let task_dir = path.parent();
        let name = |dir: Option<&Path>| {
            dir.and_then(|dir| dir.file_name())
                .and_then(|name| name.to_str())
                .map(str::to_owned)
        };
        let task_id = name(task_dir).unwrap_or_default();
        let extension = name(task_dir.and_then(Path::parent).and_then(Path::parent));
        let started_at = task_id
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis);
        Place {
            fork: extension.as_deref().and_then(fork),
            task_id,
            started_at,
        }
    }
}

/// The messages of a task as they are read, and what they tell of it.
struct Task {
    messages: Vec<Message>,
    /// The time a message without one of its own takes: the last one seen.
    clock: Option<DateTime<Utc>>,
    /// Where [`Task::clock`] started, for the `time_origin` of messages that used it.
    clock_origin: &'static str,
    borrowed_time: bool,
    tool_names: Vec<(String, String)>,
    title: Option<String>,
    cwd: Option<String>,
    model: Option<(String, Option<String>)>,
    mode: Option<String>,
}

impl Task {
    fn new(place: &Place, modified: Option<DateTime<Utc>>) -> Task {
        let (clock, clock_origin) = match place.started_at {
            Some(time) => (Some(time), "task_id"),
            None => (modified, "file_time"),
        };
        Task {
            messages: Vec::new(),
            clock,
            clock_origin,
            borrowed_time: false,
            tool_names: Vec::new(),
            title: None,
            cwd: None,
            model: None,
            mode: None,
        }
    }

    fn push(&mut self, index: usize, stored: StoredMessage) -> serde_json::Result<()> {
        let own_time = stored
            .ts
            .and_then(|ts| DateTime::from_timestamp_millis(ts as i64));
        let timestamp = match own_time.or(self.clock) {
            Some(time) => time,
            None => return Ok(()),
        };
        if own_time.is_none() {
            self.borrowed_time = true;
        }
        self.clock = Some(timestamp);
        let model = stored.model_info.as_ref().and_then(|info| info.model_id.clone());
        if let Some(info) = stored.model_info {
            if self.model.is_none() {
                self.model = info.model_id.map(|model| (model, info.provider_id));
            }
            self.mode = self.mode.take().or(info.mode);
        }
        let is_user = match stored.role.as_deref() {
            Some("user") => true,
            Some("assistant") => false,
            _ => return Ok(()),
        };
        let blocks = match stored.content.as_deref().map(RawValue::get) {
            Some(raw) if raw.starts_with('"') => {
                let text = serde_json::from_str(raw)?;
                self.text_blocks(is_user, text).into_iter().collect()
            }
            Some(raw) => self.blocks(is_user, serde_json::from_str(raw)?),
            None => Vec::new(),
        };
        if blocks.is_empty() {
            return Ok(());
        }
        let role = match is_user {
            false => Role::Assistant,
            true if blocks.iter().all(|block| block.kind == BlockKind::ToolResult) => Role::ToolResult,
            true => Role::User,
        };
        if role == Role::User && self.title.is_none() {
            let prompt = blocks.iter().find(|block| block.kind == BlockKind::Text);
            self.title = prompt.map(|block| title_from_prompt(&block.text));
        }
        let tool_name = match role {
            Role::ToolResult => blocks.iter().find_map(|block| block.tool_name.clone()),
            _ => None,
        };
        self.messages.push(Message {
            id: index.to_string(),
            origin_session_id: None,
            timestamp,
            role,
            blocks,
            tool_name,
            model,
            cwd: None,
            line: 0,
        });
        Ok(())
    }

    fn text_blocks(&mut self, is_user: bool, text: String) -> Option<Block> {
        if !is_user {
            return (!text.trim().is_empty()).then(|| Block::new(BlockKind::Text, text));
        }
        if self.cwd.is_none() {
            self.cwd = environment_cwd(&text).map(str::to_owned);
        }
        if let Some(tool) = text_tool_result(&text) {
            return Some(Block::with_tool(BlockKind::ToolResult, text.trim(), tool));
        }
        user_text(&text).map(|text| Block::new(BlockKind::Text, text))
    }

    /// The blocks of a message; the text blocks after a text-protocol tool result's label are
    /// that result's output.
    fn blocks(&mut self, is_user: bool, content: Vec<ContentBlock>) -> Vec<Block> {
        let mut blocks: Vec<Block> = Vec::with_capacity(content.len());
        let mut open_result = false;
        for block in content {
            let is_text = block.kind.as_deref() == Some("text");
            let Some(block) = self.block(is_user, block) else {
                continue;
            };
            match blocks.last_mut() {
                Some(result) if open_result && is_text && block.kind == BlockKind::Text => {
                    result.text.push('\n');
                    result.text.push_str(&block.text);
                }
                _ => {
                    open_result = is_text && block.kind == BlockKind::ToolResult;
                    blocks.push(block);
                }
            }
        }
        blocks
    }

    fn block(&mut self, is_user: bool, block: ContentBlock) -> Option<Block> {
        match block.kind.as_deref()? {
            "text" => self.text_blocks(is_user, block.text?),
            "thinking" => {
                let text = block.thinking.filter(|text| !text.trim().is_empty())?;
                Some(Block::new(BlockKind::Thinking, text))
            }
            "image" => Some(Block::new(BlockKind::Text, "[image]")),
            "tool_use" => {
                let name = block.name.filter(|name| !name.is_empty())?;
                if let Some(id) = block.id {
                    self.tool_names.push((id, name.clone()));
                }
                let text = call_text(&name, block.input.as_deref());
                Some(Block::with_tool(BlockKind::ToolUse, text, name))
            }
            "tool_result" => {
                let text = result_text(block.content.as_ref());
                let tool_name = block.tool_use_id.and_then(|id| {
                    self.tool_names
                        .iter()
                        .rev()
                        .find(|(call, _)| *call == id)
                        .map(|(_, name)| name.clone())
                });
                Some(Block {
                    kind: BlockKind::ToolResult,
                    text,
                    tool_name,
                })
            }
            _ => None,
        }
    }

    fn finish(self, candidate: &Candidate, place: Place, metadata: TaskMetadata) -> Session {
        let usage = metadata.model_usage.first();
        let (model, provider) = match self.model {
            Some((model, provider)) => (Some(model), provider),
            None => (
                usage.and_then(|usage| usage.model_id.clone()),
                usage.and_then(|usage| usage.model_provider_id.clone()),
            ),
        };
        let mut messages = self.messages;
        for message in &mut messages {
            message.model = own_fact(message.model.as_deref(), model.as_deref());
        }
        let facts = SessionFacts {
            title: self.title,
            cwd_origin: Some(
                if self.cwd.is_some() {
                    "environment_details"
                } else {
                    "unresolved"
                }
                .to_owned(),
            ),
            cwd: self.cwd,
            tool_version: metadata
                .environment_history
                .into_iter()
                .rev()
                .find_map(|entry| entry.cline_version),
            originator: place.fork.map(str::to_owned),
            model,
            provider,
            agent_mode: self.mode.or_else(|| usage.and_then(|usage| usage.mode.clone())),
            started_at: place
                .started_at
                .or(messages.first().map(|message| message.timestamp)),
            time_origin: self.borrowed_time.then(|| self.clock_origin.to_owned()),
            ..SessionFacts::default()
        };
        Session {
            tool: TOOL,
            id: place.task_id,
            source_file: candidate.path.display().to_string(),
            facts,
            messages,
        }
    }
}

/// A `tool_result`'s content: a string as is, a list's texts joined by lines (an image as
/// `[image]`), anything else as JSON.
fn result_text(content: Option<&Value>) -> String {
    match content {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|part| match part.get("type").and_then(Value::as_str) {
                Some("text") => part.get("text").and_then(Value::as_str).map(str::to_owned),
                Some("image") => Some("[image]".to_owned()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Some(other) => other.to_string(),
    }
}

/// The task's `task_metadata.json`, or nothing when it is missing, too long or not one.
fn read_metadata(history: &Path) -> TaskMetadata {
    let path = history.with_file_name(METADATA_FILE);
    let mut text = Vec::new();
    let read = File::open(path).and_then(|file| file.take(MAX_METADATA + 1).read_to_end(&mut text));
    match read {
        Ok(len) if (len as u64) <= MAX_METADATA => serde_json::from_slice(&text).unwrap_or_default(),
        _ => TaskMetadata::default(),
    }
}
