//! One Copilot CLI session as its events are read in file order: which events are conversation,
//! the messages they become, and the facts carried from one read of the file to the next.
//!
//! Conversation: `user.message` (what the user typed: `content` without the
//! `<current_datetime>` the 2025 releases append to it, else `transformedContent` without the
//! injected blocks), `assistant.message` (its `reasoningText` as thinking and its `content`, then
//! each of its `toolRequests` as a call of its own), and `tool.execution_complete` (the result of
//! the call with its `toolCallId`). A `tool.execution_start` repeats a request's call; one whose
//! call no request announced is a call of its own. Everything else (`system.message`, the whole
//! system prompt, re-logged every turn in the 2025 layout; hooks; permissions; turn markers;
//! `session.*` notices; `abort`) is not conversation; `session.start` and `session.model_change`
//! give facts.
//!
//! Ids: the event's `id`; a requested call is `<event id>/call/<toolCallId>` (its index in the
//! request list when it has none, and that suffixed when repeated). An event without an `id`
//! takes `line:<n>`, which an append never changes. Times: each event's `timestamp`; a
//! conversation event without one is reported and skipped. Events are read in file order, which
//! is the order Copilot CLI wrote them: their `parentId` chain has gaps (it names events the file
//! never got, such as streamed deltas), so it is not followed.

use std::borrow::Cow;
use std::path::Path;

use chrono::{DateTime, Utc};
// Call ids are hashed for every tool event: foldhash is several times cheaper than SipHash.
use foldhash::HashMap;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::model::{Block, BlockKind, Diagnostic, Message, Role};
use crate::scope::MessageTally;
use crate::source::json_string::call_text;
use crate::source::parts::{Held, PartBudget};
use crate::source::timestamp::parse_rfc3339;
use crate::source::title::title_from_prompt;
use crate::source::{jsonl, own_fact};

use super::wire::{Content, Data, Fields};

/// The block Copilot CLI appends to a prompt in the 2025 layout (and puts first in
/// `transformedContent` since).
const DATETIME: (&str, &str) = ("<current_datetime>", "</current_datetime>");
/// Context Copilot CLI wraps some prompts in (`transformedContent`).
const REMINDER: (&str, &str) = ("<reminder>", "</reminder>");
/// How a system prompt states the session's cwd.
const CWD_LINE: &str = "Current working directory:";
/// The version the 2025 releases record.
const UNKNOWN_VERSION: &str = "unknown";

/// What the events read so far say about the session: carried to the next read in a checkpoint.
#[derive(Default, Serialize, Deserialize)]
pub(super) struct State {
    /// Events read, of any type.
    pub events: u64,
    pub session_id: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    /// The first event's time: the start of a session without `session.start`.
    pub first_time: Option<DateTime<Utc>>,
    pub cwd: Option<String>,
    /// The cwd the system prompt names: the only one the 2025 layout records.
    pub prompt_cwd: Option<String>,
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub repository: Option<String>,
    pub tool_version: Option<String>,
    /// The first model recorded: the session's.
    pub model: Option<String>,
    /// The first prompt, on one line: the title of last resort.
    pub first_prompt: Option<String>,
    /// Each call's tool, by call id: results name the tool of their call.
    tools: HashMap<String, String>,
}

/// How a read holds the messages it keeps (`source::parts`).
pub(super) enum Holding<'a> {
    /// Pass 1: every message while their text is within the budget; past it, none (counted).
    Whole(PartBudget),
    /// Pass 2: the messages, handed to `emit` in parts of about `budget` bytes.
    Parts {
        budget: u64,
        emit: &'a mut dyn FnMut(Vec<Message>),
    },
}

/// The session of one file as its events are read.
pub(super) struct Builder<'a> {
    path: &'a Path,
    pub state: State,
    holding: Holding<'a>,
    held: Held,
    /// Set once the held text passed the budget: the messages are counted here instead.
    pub counted: Option<MessageTally>,
    pub diagnostics: Vec<Diagnostic>,
    /// Conversation events that could not be imported.
    pub malformed: u64,
}

impl<'a> Builder<'a> {
    pub fn new(path: &'a Path, state: Option<State>, holding: Holding<'a>) -> Self {
        Builder {
            path,
            state: state.unwrap_or_default(),
            holding,
            held: Held::default(),
            counted: None,
            diagnostics: Vec::new(),
            malformed: 0,
        }
    }

    /// Reads one event (line `line` of the file).
    pub fn push(&mut self, line: u64, event: Fields<'_>) {
        let state = &mut self.state;
        state.events += 1;
        let at = event.timestamp.as_deref().and_then(parse_rfc3339);
        if state.first_time.is_none() {
            state.first_time = at;
        }
        let Some(data) = event.data.0 else {
            return;
        };
        let id = match event.id.as_deref().filter(|id| !id.is_empty()) {
            Some(id) => id.to_owned(),
            None => format!("line:{line}"),
        };
        let messages = match event.kind.as_deref() {
            Some("session.start") => {
                self.note_start(data);
                return;
            }
            Some("session.model_change") => {
                fill_once(&mut self.state.model, data.new_model.as_deref());
                return;
            }
            Some("system.message") => {
                let state = &mut self.state;
                if state.prompt_cwd.is_none() {
                    state.prompt_cwd = data.content.as_deref().and_then(cwd_in_system_prompt);
                }
                return;
            }
            Some("user.message") => self.prompt(&id, &data),
            Some("assistant.message") => self.answer(&id, data),
            Some("tool.execution_start") => self.started_call(&id, data),
            Some("tool.execution_complete") => self.result(&id, data),
            _ => return,
        };
        if messages.is_empty() {
            return;
        }
        let Some(at) = at else {
            self.malformed += 1;
            self.diagnostics.push(jsonl::malformed(
                self.path,
                line,
                "a message without an RFC 3339 `timestamp`",
            ));
            return;
        };
        for (id, role, blocks, tool_name, model) in messages {
            self.keep(Message {
                id,
                origin_session_id: None,
                timestamp: at,
                role,
                blocks,
                tool_name,
                model,
                cwd: None,
                line,
            });
        }
    }

    fn note_start(&mut self, data: Data<'_>) {
        let state = &mut self.state;
        fill_once(&mut state.session_id, data.session_id.as_deref());
        if state.started_at.is_none() {
            state.started_at = data.start_time.as_deref().and_then(parse_rfc3339);
        }
        fill_once(
            &mut state.tool_version,
            data.copilot_version
                .as_deref()
                .filter(|version| *version != UNKNOWN_VERSION),
        );
        if let Some(context) = data.context.0 {
            fill_once(&mut state.cwd, context.cwd.as_deref());
            fill_once(&mut state.branch, context.branch.as_deref());
            fill_once(&mut state.commit, context.head_commit.as_deref());
            let host = context
                .repository_host
                .as_deref()
                .or_else(|| host_of(context.host_type.as_deref()));
            let repository = context
                .repository
                .as_deref()
                .map(|repository| repository_url(repository, host));
            fill_once(&mut state.repository, repository.as_deref());
        }
    }

    fn prompt(&self, id: &str, data: &Data<'_>) -> Vec<Pending> {
        let Some(text) = prompt_text(data.content.as_deref(), data.transformed_content.as_deref()) else {
            return Vec::new();
        };
        vec![(
            id.to_owned(),
            Role::User,
            vec![Block::new(BlockKind::Text, text)],
            None,
            None,
        )]
    }

    fn answer(&mut self, id: &str, data: Data<'_>) -> Vec<Pending> {
        let model = self.own_model(data.model.as_deref());
        let mut messages = Vec::with_capacity(1 + data.tool_requests.0.len());
        let blocks: Vec<Block> = [
            (BlockKind::Thinking, data.reasoning_text),
            (BlockKind::Text, data.content),
        ]
        .into_iter()
        .filter_map(|(kind, text)| non_blank(text?).map(|text| Block::new(kind, text)))
        .collect();
        if !blocks.is_empty() {
            messages.push((id.to_owned(), Role::Assistant, blocks, None, model.clone()));
        }
        let mut call_ids: Vec<String> = Vec::with_capacity(data.tool_requests.0.len());
        for (index, request) in data.tool_requests.0.iter().enumerate() {
            let call_id = request.tool_call_id.as_deref().filter(|call| !call.is_empty());
            let name = tool_name(request.name.as_deref());
            if let Some(call_id) = call_id {
                self.state.tools.insert(call_id.to_owned(), name.to_owned());
            }
            let unique = match call_id {
                Some(call) if !call_ids.iter().any(|earlier| earlier == call) => call.to_owned(),
                Some(call) => format!("{call}@{index}"),
                None => index.to_string(),
            };
            messages.push(call(
                format!("{id}/call/{unique}"),
                name,
                request.arguments.as_deref(),
                model.clone(),
            ));
            call_ids.push(unique);
        }
        messages
    }

    /// A call no request announced (a request's own start only repeats it).
    fn started_call(&mut self, id: &str, data: Data<'_>) -> Vec<Pending> {
        let Some(call_id) = data.tool_call_id.as_deref().filter(|call| !call.is_empty()) else {
            return Vec::new();
        };
        if self.state.tools.contains_key(call_id) {
            return Vec::new();
        }
        let name = tool_name(data.tool_name.as_deref());
        self.state.tools.insert(call_id.to_owned(), name.to_owned());
        let model = self.own_model(data.model.as_deref());
        vec![call(id.to_owned(), name, data.arguments.as_deref(), model)]
    }

    fn result(&mut self, id: &str, data: Data<'_>) -> Vec<Pending> {
        let text = if data.success == Some(false) {
            data.error.as_deref().map(error_text)
        } else {
            None
        };
        let text = text.or_else(|| data.result.0.and_then(|output| output.content).map(content_text));
        let Some(text) = text.and_then(non_blank_string) else {
            return Vec::new();
        };
        let tool = data
            .tool_call_id
            .as_deref()
            .and_then(|call_id| self.state.tools.get(call_id))
            .cloned();
        let model = self.own_model(data.model.as_deref());
        let block = Block {
            kind: BlockKind::ToolResult,
            text,
            tool_name: tool.clone(),
        };
        vec![(id.to_owned(), Role::ToolResult, vec![block], tool, model)]
    }

    /// A message's model where it is not the session's (the first recorded).
    fn own_model(&mut self, model: Option<&str>) -> Option<String> {
        let model = model.filter(|model| !model.is_empty());
        fill_once(&mut self.state.model, model);
        own_fact(model, self.state.model.as_deref())
    }

    /// Holds (or counts) a message, as [`Holding`] says.
    fn keep(&mut self, message: Message) {
        if self.state.first_prompt.is_none() && message.role == Role::User {
            let title = title_from_prompt(&message.blocks[0].text);
            self.state.first_prompt = Some(title).filter(|title| !title.is_empty());
        }
        match &mut self.holding {
            Holding::Whole(budget) => match &mut self.counted {
                Some(tally) => tally.count(&message),
                None => {
                    self.held.push(message);
                    if !budget.holds_whole(self.held.bytes()) {
                        self.counted = Some(MessageTally::of(&self.held.take(), budget.window));
                    }
                }
            },
            Holding::Parts { budget, emit } => {
                self.held.push(message);
                if self.held.reached(*budget) {
                    emit(self.held.take());
                }
            }
        }
    }

    /// The messages held (pass 1 within its budget), or pass 2's last part handed over.
    pub fn take_rest(&mut self) -> Vec<Message> {
        let rest = self.held.take();
        match &mut self.holding {
            Holding::Parts { emit, .. } if !rest.is_empty() => {
                emit(rest);
                Vec::new()
            }
            _ => rest,
        }
    }

    /// Whether the read found any message (held or counted).
    pub fn has_messages(&self) -> bool {
        !self.held.is_empty() || self.counted.is_some_and(|tally| tally.messages() > 0)
    }
}

/// A message of an event, before its time is known: id, role, blocks, tool and own model.
type Pending = (String, Role, Vec<Block>, Option<String>, Option<String>);

fn call(id: String, name: &str, arguments: Option<&RawValue>, model: Option<String>) -> Pending {
    let block = Block::with_tool(BlockKind::ToolUse, call_text(name, arguments), name);
    (id, Role::ToolCall, vec![block], Some(name.to_owned()), model)
}

fn tool_name(name: Option<&str>) -> &str {
    name.filter(|name| !name.trim().is_empty()).unwrap_or("tool")
}

/// What the user typed: `content` without the `<current_datetime>` blocks, else (a release
/// that left it empty) `transformedContent` without the blocks Copilot CLI injects.
pub(super) fn prompt_text(content: Option<&str>, transformed: Option<&str>) -> Option<String> {
    let typed = content.map(|content| without_blocks(content, &[DATETIME]));
    typed
        .filter(|text| !text.is_empty())
        .or_else(|| transformed.map(|text| without_blocks(text, &[DATETIME, REMINDER])))
        .filter(|text| !text.is_empty())
}

/// `text` without every `open…close` block of `blocks`, trimmed. An unclosed block is kept.
fn without_blocks(text: &str, blocks: &[(&str, &str)]) -> String {
    let mut rest = Cow::Borrowed(text);
    for (open, close) in blocks {
        while let Some(start) = rest.find(open) {
            let Some(length) = rest[start..].find(close) else {
                break;
            };
            let end = start + length + close.len();
            rest = Cow::Owned(format!("{}{}", &rest[..start], &rest[end..]));
        }
    }
    rest.trim().to_owned()
}

/// The working directory a system prompt states (`* Current working directory: <path>`).
pub(super) fn cwd_in_system_prompt(prompt: &str) -> Option<String> {
    let (_, rest) = prompt.split_once(CWD_LINE)?;
    let cwd = rest.lines().next()?.trim();
    (!cwd.is_empty()).then(|| cwd.to_owned())
}

/// A tool's output: text as is, an MCP content list's `text` parts one per line, any other value
/// as JSON.
fn content_text(content: Content<'_>) -> String {
    match content {
        Content::Text(text) => text.into_owned(),
        Content::Json(Value::Array(parts)) if parts.iter().all(Value::is_object) => parts
            .iter()
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        Content::Json(Value::Null) => String::new(),
        Content::Json(value) => value.to_string(),
    }
}

/// A failed call's error: its `message`, else the error as written.
fn error_text(error: &RawValue) -> String {
    #[derive(Deserialize)]
    struct Error {
        message: Option<String>,
    }
    let message = serde_json::from_str::<String>(error.get())
        .ok()
        .or_else(|| serde_json::from_str::<Error>(error.get()).ok()?.message);
    match message {
        Some(message) => format!("error: {message}"),
        None => format!("error: {}", error.get()),
    }
}

/// The host of a repository Copilot CLI names by host type only (`workspace.yaml`).
pub(super) fn host_of(host_type: Option<&str>) -> Option<&'static str> {
    (host_type == Some("github")).then_some("github.com")
}

/// The remote of `owner/name` on `host`: the URL the host serves it at; without a host, the name
/// as recorded.
pub(super) fn repository_url(repository: &str, host: Option<&str>) -> String {
    match host.filter(|host| !host.is_empty() && !repository.contains("://")) {
        Some(host) => format!("https://{host}/{repository}"),
        None => repository.to_owned(),
    }
}

fn non_blank(text: Cow<'_, str>) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.into_owned())
}

fn non_blank_string(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

/// Sets `slot` from the first non-empty value seen.
pub(super) fn fill_once(slot: &mut Option<String>, value: Option<&str>) {
    if slot.is_none() {
        *slot = value.filter(|value| !value.is_empty()).map(str::to_owned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::copilot::wire::Event;

    fn read(lines: &[&str]) -> (State, Vec<Message>, Vec<Diagnostic>) {
        let path = Path::new("events.jsonl");
        let mut builder = Builder::new(path, None, Holding::Whole(PartBudget::unbounded()));
        for (index, line) in lines.iter().enumerate() {
            let Event(fields) = serde_json::from_str(line).unwrap();
            builder.push(index as u64 + 1, fields);
        }
        let messages = builder.take_rest();
        (builder.state, messages, builder.diagnostics)
    }

    type Summary = (String, Role, Vec<(BlockKind, String)>, Option<String>);

    fn summary(messages: &[Message]) -> Vec<Summary> {
        messages
            .iter()
            .map(|message| {
                let blocks = message
                    .blocks
                    .iter()
                    .map(|block| (block.kind, block.text.clone()))
                    .collect();
                (message.id.clone(), message.role, blocks, message.model.clone())
            })
            .collect()
    }

    #[test]
    fn prompts_lose_the_injected_datetime_and_fall_back_to_the_sent_text() {
        assert_eq!(
            prompt_text(
                Some("fix it\n\n<current_datetime>2025-12-02T05:48:47.774Z</current_datetime>"),
                None
            ),
            Some("fix it".to_owned())
        );
        assert_eq!(
            prompt_text(
                Some(" "),
                Some("<current_datetime>x</current_datetime>\n\n<reminder>ctx</reminder>\nreal question")
            ),
            Some("real question".to_owned())
        );
        assert_eq!(
            prompt_text(Some("/init"), Some("long expansion")),
            Some("/init".to_owned())
        );
        assert_eq!(
            prompt_text(Some("<current_datetime>x</current_datetime>"), None),
            None
        );
        assert_eq!(
            prompt_text(Some("a <current_datetime> unclosed"), None),
            Some("a <current_datetime> unclosed".to_owned())
        );
    }

    #[test]
    fn an_answer_is_its_reasoning_and_text_then_each_call_and_results_name_their_tool() {
        let (state, messages, diagnostics) = read(&[
            r#"{"type":"session.model_change","data":{"newModel":"m1"},"id":"e0","timestamp":"2026-01-01T00:00:00Z"}"#,
            r#"{"type":"assistant.message","id":"e1","timestamp":"2026-01-01T00:00:01Z","data":{"content":"Looking.",
               "reasoningText":"plan","model":"m1","toolRequests":[{"toolCallId":"c1","name":"view","arguments":{"path":"a b"}},
               {"toolCallId":"c1","name":"bash","arguments":"ls"},{"name":""}]}}"#,
            r#"{"type":"tool.execution_start","id":"e2","timestamp":"2026-01-01T00:00:02Z","data":{"toolCallId":"c1","toolName":"view"}}"#,
            r#"{"type":"tool.execution_start","id":"e3","timestamp":"2026-01-01T00:00:02Z","data":{"toolCallId":"c9","toolName":"task","arguments":{}}}"#,
            r#"{"type":"tool.execution_complete","id":"e4","timestamp":"2026-01-01T00:00:03Z","data":{"toolCallId":"c1","success":true,"result":{"content":"file","detailedContent":"diff"},"model":"m2"}}"#,
            r#"{"type":"tool.execution_complete","id":"e5","timestamp":"2026-01-01T00:00:04Z","data":{"toolCallId":"c9","success":false,"error":{"message":"denied","code":"failure"}}}"#,
            r#"{"type":"tool.execution_complete","id":"e6","timestamp":"2026-01-01T00:00:05Z","data":{"toolCallId":"c1","success":true,"result":{"content":" "}}}"#,
        ]);
        assert!(diagnostics.is_empty());
        assert_eq!(state.model.as_deref(), Some("m1"));
        let text = |kind, text: &str| (kind, text.to_owned());
        assert_eq!(
            summary(&messages),
            [
                (
                    "e1".to_owned(),
                    Role::Assistant,
                    vec![
                        text(BlockKind::Thinking, "plan"),
                        text(BlockKind::Text, "Looking.")
                    ],
                    None
                ),
                (
                    "e1/call/c1".to_owned(),
                    Role::ToolCall,
                    vec![text(BlockKind::ToolUse, r#"view({"path":"a b"})"#)],
                    None
                ),
                (
                    "e1/call/c1@1".to_owned(),
                    Role::ToolCall,
                    vec![text(BlockKind::ToolUse, r#"bash("ls")"#)],
                    None
                ),
                (
                    "e1/call/2".to_owned(),
                    Role::ToolCall,
                    vec![text(BlockKind::ToolUse, "tool()")],
                    None
                ),
                (
                    "e3".to_owned(),
                    Role::ToolCall,
                    vec![text(BlockKind::ToolUse, "task({})")],
                    None
                ),
                (
                    "e4".to_owned(),
                    Role::ToolResult,
                    vec![text(BlockKind::ToolResult, "file")],
                    Some("m2".to_owned())
                ),
                (
                    "e5".to_owned(),
                    Role::ToolResult,
                    vec![text(BlockKind::ToolResult, "error: denied")],
                    None
                ),
            ]
        );
        assert_eq!(
            messages[5].tool_name.as_deref(),
            Some("bash"),
            "the call id's last request"
        );
        assert_eq!(messages[6].tool_name.as_deref(), Some("task"));
    }

    #[test]
    fn noise_gives_no_message_and_an_undated_message_is_reported() {
        let (state, messages, diagnostics) = read(&[
            r#"{"type":"session.start","data":{"sessionId":"s1","copilotVersion":"unknown","startTime":"2025-12-02T05:48:47.760Z"},"id":"a","timestamp":"2025-12-02T05:48:47.760Z","parentId":null}"#,
            r#"{"type":"system.message","data":{"role":"system","content":"You are the GitHub Copilot CLI"},"id":"b","timestamp":"2025-12-02T05:48:48Z"}"#,
            r#"{"type":"session.info","data":{"infoType":"authentication","message":"Logged in"},"id":"c","timestamp":"2025-12-02T05:48:48Z"}"#,
            r#"{"type":"hook.start","data":{"hookType":"postToolUse","input":{"toolName":"view"}},"id":"d","timestamp":"2025-12-02T05:48:48Z"}"#,
            r#"{"type":"user.message","data":{"content":"hi"},"id":"e"}"#,
            r#"{"type":"user.message","data":{"content":"hello"},"timestamp":"2025-12-02T05:50:00Z"}"#,
        ]);
        assert_eq!(state.session_id.as_deref(), Some("s1"));
        assert_eq!(state.tool_version, None, "`unknown` is no version");
        assert_eq!(summary(&messages)[0].0, "line:6");
        assert_eq!(messages.len(), 1);
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].line, Some(5));
        assert_eq!(
            state.first_prompt.as_deref(),
            Some("hello"),
            "the first prompt kept"
        );
    }

    #[test]
    fn the_system_prompt_names_the_cwd_the_2025_layout_records_nowhere_else() {
        let prompt = "You are the GitHub Copilot CLI.\n# Environment\n* Current working directory: c:\\Users\\e\\app \r\n* Git repository root: C:\\Users\\e\n";
        assert_eq!(cwd_in_system_prompt(prompt).as_deref(), Some("c:\\Users\\e\\app"));
        assert_eq!(cwd_in_system_prompt("* Current working directory: \n"), None);
        assert_eq!(cwd_in_system_prompt("no environment"), None);
        let (state, messages, _) = read(&[
            r#"{"type":"system.message","data":{"role":"system","content":"* Current working directory: /w/a\n"},"id":"s1","timestamp":"2025-12-02T05:48:48Z"}"#,
            r#"{"type":"system.message","data":{"role":"system","content":"* Current working directory: /w/b\n"},"id":"s2","timestamp":"2025-12-02T05:49:48Z"}"#,
        ]);
        assert_eq!(state.prompt_cwd.as_deref(), Some("/w/a"), "the first prompt's");
        assert!(messages.is_empty(), "a system prompt is no message");
    }

    #[test]
    fn repositories_become_urls_when_their_host_is_known() {
        assert_eq!(
            repository_url("o/r", Some("github.com")),
            "https://github.com/o/r"
        );
        assert_eq!(
            repository_url("o/r", host_of(Some("github"))),
            "https://github.com/o/r"
        );
        assert_eq!(repository_url("o/r", host_of(Some("ghe"))), "o/r");
        assert_eq!(repository_url("https://x/o/r", Some("x")), "https://x/o/r");
    }
}
