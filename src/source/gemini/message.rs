//! The memories one Gemini CLI message record holds (formats.md 4.4): a `user` prompt, a
//! `gemini` answer with its thoughts, and each of its tool calls and their results as messages of
//! their own. `info`, `warning` and `error` records are interface notices and hold none.
//!
//! Ids: the record's `id` for the prompt or answer; `<id>/call/<call id>` and
//! `<id>/result/<call id>` for a call and its result (two memories, never one id), the call's
//! index when it has no id. A call's `timestamp` is when it completed: its result is dated by it.
//! Calls are read from `toolCalls`, which Gemini CLI writes for every call it runs: the
//! `functionCall` parts of a history sync and the `functionResponse` parts of the `user` record
//! a tool's answer is sent in repeat them, and are not read again.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::{Block, BlockKind, Message, Role};
use crate::source::json_string::call_text;
use crate::source::own_fact;
use crate::source::timestamp::parse_rfc3339;

use super::wire::{Content, Line, ToolCall};

/// Text Gemini CLI injects as a user turn, which it never shows as a prompt either
/// (`sessionUtils.ts`, `isIgnoredUserContent`): the A2A server's `<session_context>` and hook
/// context.
const INJECTED_PREFIXES: [&str; 2] = ["<session_context>", "<hook_context>"];

/// Why a record holds no memory although it has content.
pub(super) const UNDATED: &str = "a message without an RFC 3339 `timestamp`";

/// The messages `record` holds, in order, at `line`; `Err` when it has content but no time to
/// date it by. `session_model` is the session's model (the first recorded): a message's own is
/// kept only where it differs.
pub(super) fn messages_of(
    record: &Line<'_>,
    session_model: Option<&str>,
    line: u64,
) -> Result<Vec<Message>, &'static str> {
    let Some(id) = record.message_id() else {
        return Ok(Vec::new());
    };
    let at = record.timestamp.as_deref().and_then(parse_rfc3339);
    let message = |role, blocks, at| Message {
        id: id.to_owned(),
        origin_session_id: None,
        timestamp: at,
        role,
        blocks,
        tool_name: None,
        model: None,
        cwd: None,
        line,
    };
    match record.kind.as_deref() {
        Some("user") => {
            let Some(text) = prompt_text(record) else {
                return Ok(Vec::new());
            };
            let at = at.ok_or(UNDATED)?;
            Ok(vec![message(
                Role::User,
                vec![Block::new(BlockKind::Text, text)],
                at,
            )])
        }
        Some("gemini") => {
            let blocks = answer_blocks(record);
            let calls = record.tool_calls.items();
            if blocks.is_empty() && calls.is_empty() {
                return Ok(Vec::new());
            }
            let at = at.ok_or(UNDATED)?;
            let model = own_fact(record.model.as_deref(), session_model);
            let mut messages = Vec::with_capacity(1 + 2 * calls.len());
            if !blocks.is_empty() {
                messages.push(Message {
                    model: model.clone(),
                    ..message(Role::Assistant, blocks, at)
                });
            }
            let mut call_ids: Vec<Cow<'_, str>> = Vec::with_capacity(calls.len());
            for (index, call) in calls.iter().enumerate() {
                let call_id = unique_call_id(call, index, &call_ids);
                let name = call
                    .name
                    .as_deref()
                    .filter(|name| !name.is_empty())
                    .unwrap_or("tool");
                messages.push(Message {
                    id: format!("{id}/call/{call_id}"),
                    tool_name: Some(name.to_owned()),
                    model: model.clone(),
                    ..message(
                        Role::ToolCall,
                        vec![Block::with_tool(
                            BlockKind::ToolUse,
                            call_text(name, call.args.as_deref()),
                            name,
                        )],
                        at,
                    )
                });
                if let Some(result) = result_text(&call.result) {
                    let done = call.timestamp.as_deref().and_then(parse_rfc3339).unwrap_or(at);
                    messages.push(Message {
                        id: format!("{id}/result/{call_id}"),
                        tool_name: Some(name.to_owned()),
                        model: model.clone(),
                        ..message(
                            Role::ToolResult,
                            vec![Block::with_tool(BlockKind::ToolResult, result, name)],
                            done,
                        )
                    });
                }
                call_ids.push(call_id);
            }
            Ok(messages)
        }
        // `info`, `warning`, `error` and kinds added later.
        _ => Ok(Vec::new()),
    }
}

/// The text of a `user` record as the user typed it (`displayContent` when recorded), or `None`
/// for a record without typed text: blank, injected context, or only a tool's answer.
fn prompt_text(record: &Line<'_>) -> Option<String> {
    let typed = plain_text(&record.display_content);
    let text = if typed.trim().is_empty() {
        plain_text(&record.content)
    } else {
        typed
    };
    let trimmed = text.trim_start();
    if trimmed.is_empty() || INJECTED_PREFIXES.iter().any(|prefix| trimmed.starts_with(prefix)) {
        return None;
    }
    Some(text)
}

/// A `gemini` record's thinking and answer blocks. Thoughts come from `thoughts`; a history sync
/// also writes them into `content` as `thought` parts, which are read only when `thoughts` holds
/// none.
fn answer_blocks(record: &Line<'_>) -> Vec<Block> {
    let mut blocks: Vec<Block> = record
        .thoughts
        .items()
        .iter()
        .filter_map(|thought| {
            let description = thought.description.as_deref().unwrap_or_default();
            let text = match thought
                .subject
                .as_deref()
                .filter(|subject| !subject.trim().is_empty())
            {
                // As Gemini CLI itself renders a thought back to the model.
                Some(subject) => format!("**{subject}** {description}"),
                None => description.to_owned(),
            };
            non_blank(text).map(|text| Block::new(BlockKind::Thinking, text))
        })
        .collect();
    if blocks.is_empty() {
        blocks.extend(
            record
                .content
                .0
                .iter()
                .filter(|part| part.thought)
                .filter_map(|part| part.text.as_deref())
                .filter(|text| !text.trim().is_empty())
                .map(|text| Block::new(BlockKind::Thinking, text)),
        );
    }
    if let Some(text) = non_blank(plain_text(&record.content)) {
        blocks.push(Block::new(BlockKind::Text, text));
    }
    blocks
}

/// The text parts that are not thoughts, joined as Gemini CLI joins them.
fn plain_text(content: &Content<'_>) -> String {
    content
        .0
        .iter()
        .filter(|part| !part.thought)
        .filter_map(|part| part.text.as_deref())
        .collect()
}

/// A call's id within its message: its own, or its index; a repeated one gets its index too.
fn unique_call_id<'c>(call: &'c ToolCall<'_>, index: usize, earlier: &[Cow<'_, str>]) -> Cow<'c, str> {
    match call.id.as_deref().filter(|id| !id.is_empty()) {
        Some(id) if !earlier.iter().any(|earlier| earlier == id) => Cow::Borrowed(id),
        Some(id) => Cow::Owned(format!("{id}@{index}")),
        None => Cow::Owned(index.to_string()),
    }
}

/// What a call returned: each function response's `output` (or `error`, or the whole response as
/// JSON) and each text part, one per line; `None` when it returned nothing (not run yet,
/// cancelled before it ran).
fn result_text(result: &Content<'_>) -> Option<String> {
    let texts: Vec<Cow<'_, str>> = result
        .0
        .iter()
        .filter_map(|part| match (&part.function_response.0, &part.text) {
            (Some(response), _) => response.response.as_ref().map(response_text),
            (None, Some(text)) => Some(Cow::Borrowed(text.as_ref())),
            (None, None) => None,
        })
        .collect();
    non_blank(texts.join("\n"))
}

fn response_text(response: &Value) -> Cow<'_, str> {
    let field = |name| response.get(name).and_then(Value::as_str);
    match (response, field("output"), field("error")) {
        (Value::String(text), ..) => Cow::Borrowed(text),
        (_, Some(output), _) => Cow::Borrowed(output),
        (_, None, Some(error)) => Cow::Owned(format!("error: {error}")),
        _ => Cow::Owned(response.to_string()),
    }
}

fn non_blank(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

/// The first prompt of `messages`, for a title.
pub(super) fn prompt_of(messages: &[Message]) -> Option<&str> {
    messages
        .iter()
        .find(|message| message.role == Role::User)
        .and_then(|message| message.blocks.first())
        .map(|block| block.text.as_str())
}

/// The time of a record, when it has a valid one.
pub(super) fn time_of(record: &Line<'_>) -> Option<DateTime<Utc>> {
    record.timestamp.as_deref().and_then(parse_rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Line<'_> {
        serde_json::from_str(json).unwrap()
    }

    type Summary = (String, Role, Vec<(BlockKind, String)>);

    fn summary(messages: &[Message]) -> Vec<Summary> {
        messages
            .iter()
            .map(|message| {
                let blocks = message
                    .blocks
                    .iter()
                    .map(|block| (block.kind, block.text.clone()))
                    .collect();
                (message.id.clone(), message.role, blocks)
            })
            .collect()
    }

    #[test]
    fn an_answer_is_its_thoughts_and_text_then_each_call_and_result() {
        let answer = record(
            r#"{"id":"g1","timestamp":"2026-01-10T20:00:27.560Z","type":"gemini","content":"done","model":"m2",
                "thoughts":[{"subject":"Plan","description":"write it"},{"description":" "}],
                "toolCalls":[
                  {"id":"c1","name":"write_file","args":{"path":"a"},"timestamp":"2026-01-10T20:00:29Z",
                   "result":[{"functionResponse":{"id":"c1","name":"write_file","response":{"output":"ok"}}}]},
                  {"id":"c1","name":"shell","result":[{"functionResponse":{"response":{"error":"denied"}}}]},
                  {"name":"pending"}]}"#,
        );
        let messages = messages_of(&answer, Some("m1"), 7).unwrap();
        assert_eq!(
            summary(&messages),
            [
                (
                    "g1".to_owned(),
                    Role::Assistant,
                    vec![
                        (BlockKind::Thinking, "**Plan** write it".to_owned()),
                        (BlockKind::Text, "done".to_owned())
                    ]
                ),
                (
                    "g1/call/c1".to_owned(),
                    Role::ToolCall,
                    vec![(BlockKind::ToolUse, r#"write_file({"path":"a"})"#.to_owned())]
                ),
                (
                    "g1/result/c1".to_owned(),
                    Role::ToolResult,
                    vec![(BlockKind::ToolResult, "ok".to_owned())]
                ),
                (
                    "g1/call/c1@1".to_owned(),
                    Role::ToolCall,
                    vec![(BlockKind::ToolUse, "shell()".to_owned())]
                ),
                (
                    "g1/result/c1@1".to_owned(),
                    Role::ToolResult,
                    vec![(BlockKind::ToolResult, "error: denied".to_owned())]
                ),
                (
                    "g1/call/2".to_owned(),
                    Role::ToolCall,
                    vec![(BlockKind::ToolUse, "pending()".to_owned())]
                ),
            ]
        );
        assert!(messages
            .iter()
            .all(|message| message.model.as_deref() == Some("m2") && message.line == 7));
        assert_eq!(
            messages[2].timestamp,
            parse_rfc3339("2026-01-10T20:00:29Z").unwrap()
        );
        assert_eq!(
            messages[4].timestamp, messages[0].timestamp,
            "a result without a time is its call's"
        );
        let same_model = messages_of(&answer, Some("m2"), 7).unwrap();
        assert!(same_model.iter().all(|message| message.model.is_none()));
    }

    #[test]
    fn prompts_are_what_the_user_typed_and_never_injected_text() {
        let prompt = |json| {
            messages_of(&record(json), None, 1)
                .unwrap()
                .first()
                .map(|message| message.blocks[0].text.clone())
        };
        assert_eq!(
            prompt(
                r#"{"id":"u","timestamp":"2026-01-01T00:00:00Z","type":"user","content":[{"text":"a"},{"text":"b"}]}"#
            ),
            Some("ab".to_owned())
        );
        assert_eq!(
            prompt(
                r#"{"id":"u","timestamp":"2026-01-01T00:00:00Z","type":"user","content":"expanded @f","displayContent":[{"text":"@f"}]}"#
            ),
            Some("@f".to_owned())
        );
        assert_eq!(
            prompt(
                r#"{"id":"u","timestamp":"2026-01-01T00:00:00Z","type":"user","content":[{"text":" <session_context>\nx"}]}"#
            ),
            None
        );
        assert_eq!(
            prompt(
                r#"{"id":"u","timestamp":"2026-01-01T00:00:00Z","type":"user","content":[{"functionResponse":{"response":{"output":"o"}}}]}"#
            ),
            None,
            "a tool's answer sent as a user turn repeats the call's result"
        );
        assert_eq!(
            prompt(
                r#"{"id":"i","timestamp":"2026-01-01T00:00:00Z","type":"info","content":"Request cancelled."}"#
            ),
            None
        );
        assert_eq!(
            messages_of(&record(r#"{"id":"u","type":"user","content":"hi"}"#), None, 1),
            Err(UNDATED)
        );
        assert_eq!(
            messages_of(&record(r#"{"id":"u","type":"user","content":" "}"#), None, 1),
            Ok(Vec::new()),
            "nothing to date: not a problem"
        );
    }

    #[test]
    fn thought_parts_are_read_only_without_thoughts() {
        let synced = record(
            r#"{"id":"g","timestamp":"2026-01-01T00:00:00Z","type":"gemini",
                "content":[{"text":"**Plan** think","thought":true},{"text":"answer"},{"functionCall":{"name":"f"}}]}"#,
        );
        assert_eq!(
            summary(&messages_of(&synced, None, 1).unwrap())[0].2,
            [
                (BlockKind::Thinking, "**Plan** think".to_owned()),
                (BlockKind::Text, "answer".to_owned())
            ]
        );
    }
}
