//! Turns Crush's rows into the normalised model: a `messages` row's `parts` (a JSON array of
//! `{"type", "data"}`, `internal/message/message.go`) into blocks, a row into a message, a
//! `sessions` row and its messages into a session.
//!
//! Parts: `text` is text, `reasoning` thinking, `tool_call` a tool use (its `input` is the tool's
//! JSON arguments as a string inside the JSON), `tool_result` (on `tool` rows) a tool result, a
//! `finish` that reports an error a system block; `image_url`, `binary` (an attachment, whose
//! base64 data is never read) and `shell_command` are named or shown as the tool did; unknown
//! types are skipped. A part whose data is not of its type's shape is reported and skipped.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::limits::STRING_BUDGET;
use crate::model::{Block, BlockKind, Message, Role};

/// How Crush words the prompt it queues again after summarizing a session that was still
/// working (`internal/agent/agent.go`): its own message, not the user's.
const CONTINUATION: &str = "The previous session was interrupted because it got too long";

/// A session's conversation as it is read: tool names by call id (results name none before
/// 2026), and the first prompt.
#[derive(Default)]
pub(super) struct Conversation {
    pub messages: Vec<Message>,
    pub first_prompt: Option<String>,
    pub model: Option<(String, Option<String>)>,
    tool_names: HashMap<String, String>,
}

/// One `messages` row.
pub(super) struct Row<'a> {
    pub id: String,
    pub role: &'a str,
    pub parts: &'a str,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub at: DateTime<Utc>,
    /// The session's summary of what came before (`is_summary_message`, `summary_message_id`).
    pub summary: bool,
}

#[derive(Deserialize)]
struct Part<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Text {
    text: Option<String>,
}

#[derive(Deserialize)]
struct Reasoning {
    thinking: Option<String>,
}

#[derive(Deserialize)]
struct ImageUrl {
    url: Option<String>,
}

/// A `binary` part's fields carry Go's names (the struct has no JSON tags); `Data` is not read.
#[derive(Deserialize)]
struct Binary {
    #[serde(rename = "Path")]
    path: Option<String>,
    #[serde(rename = "MIMEType")]
    mime: Option<String>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    id: Option<String>,
    name: Option<String>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ToolResult {
    tool_call_id: Option<String>,
    name: Option<String>,
    content: Option<String>,
}

#[derive(Deserialize)]
struct Finish {
    reason: Option<String>,
    message: Option<String>,
    details: Option<String>,
}

#[derive(Deserialize)]
struct ShellCommand {
    command: Option<String>,
    output: Option<String>,
}

impl Conversation {
    /// Adds one row; the problems of its parts are returned, the rest of it is still taken.
    pub fn push(&mut self, row: Row<'_>, line: u64) -> Vec<String> {
        let mut problems = Vec::new();
        let parts: Vec<Part<'_>> = match serde_json::from_str(row.parts) {
            Ok(parts) => parts,
            Err(error) => {
                problems.push(format!("`parts` is not a JSON array of parts: {error}"));
                return problems;
            }
        };
        let role = match (row.role, row.summary) {
            (_, true) | ("system", _) => Role::System,
            ("user", _) => Role::User,
            ("tool", _) => Role::ToolResult,
            _ => Role::Assistant,
        };
        let mut blocks = Vec::new();
        for (index, part) in parts.iter().enumerate() {
            if let Err(error) = self.part_blocks(role, part, &mut blocks) {
                let kind = part.kind.as_deref().unwrap_or("?");
                problems.push(format!(
                    "part {index} (`{kind}`) is not of its type's shape: {error}"
                ));
            }
        }
        if blocks.is_empty() {
            return problems;
        }
        let role = if role == Role::User && blocks.iter().all(|block| block.kind == BlockKind::System) {
            Role::System
        } else {
            role
        };
        if role == Role::User && self.first_prompt.is_none() {
            self.first_prompt = blocks
                .iter()
                .find(|block| block.kind == BlockKind::Text)
                .map(|block| block.text.clone());
        }
        let model = row.model.filter(|model| !model.is_empty());
        if role == Role::Assistant && self.model.is_none() {
            if let Some(model) = &model {
                let provider = row.provider.filter(|provider| !provider.is_empty());
                self.model = Some((model.clone(), provider));
            }
        }
        let tool_name = match role {
            Role::ToolResult => blocks.iter().find_map(|block| block.tool_name.clone()),
            _ => None,
        };
        let session_model = self.model.as_ref().map(|(model, _)| model.as_str());
        self.messages.push(Message {
            model: crate::source::own_fact(model.as_deref(), session_model),
            id: row.id,
            origin_session_id: None,
            timestamp: row.at,
            role,
            blocks,
            tool_name,
            cwd: None,
            line,
        });
        problems
    }

    fn part_blocks(
        &mut self,
        role: Role,
        part: &Part<'_>,
        blocks: &mut Vec<Block>,
    ) -> serde_json::Result<()> {
        let Some(data) = part.data else { return Ok(()) };
        let data = data.get();
        match part.kind.as_deref().unwrap_or_default() {
            "text" => {
                let text = serde_json::from_str::<Text>(data)?.text.unwrap_or_default();
                match role {
                    Role::System => push(blocks, BlockKind::System, Some(text), None),
                    Role::User if text.starts_with(CONTINUATION) => {
                        push(blocks, BlockKind::System, Some(text), None);
                    }
                    Role::Assistant => match text.trim_start().strip_prefix("<think>") {
                        // Models that think in their answer (`<think>...</think>` first).
                        Some(rest) => {
                            let (thinking, answer) = rest.split_once("</think>").unwrap_or((rest, ""));
                            push(
                                blocks,
                                BlockKind::Thinking,
                                Some(thinking.trim().to_owned()),
                                None,
                            );
                            push(blocks, BlockKind::Text, Some(answer.trim().to_owned()), None);
                        }
                        None => push(blocks, BlockKind::Text, Some(text), None),
                    },
                    _ => push(blocks, BlockKind::Text, Some(text), None),
                }
            }
            "reasoning" => push(
                blocks,
                BlockKind::Thinking,
                serde_json::from_str::<Reasoning>(data)?.thinking,
                None,
            ),
            "image_url" => {
                let url = serde_json::from_str::<ImageUrl>(data)?.url.unwrap_or_default();
                // A `data:` URL is the image itself.
                let label = if url.is_empty() || url.starts_with("data:") {
                    "[image]".to_owned()
                } else {
                    format!("[image: {url}]")
                };
                push(blocks, BlockKind::Text, Some(label), None);
            }
            "binary" => {
                let binary = serde_json::from_str::<Binary>(data)?;
                let name = binary
                    .path
                    .filter(|path| !path.is_empty())
                    .unwrap_or_else(|| "attachment".to_owned());
                let label = match binary.mime.filter(|mime| !mime.is_empty()) {
                    Some(mime) => format!("[file: {name} ({mime})]"),
                    None => format!("[file: {name}]"),
                };
                push(blocks, BlockKind::Text, Some(label), None);
            }
            "tool_call" => {
                let call = serde_json::from_str::<ToolCall<'_>>(data)?;
                let name = call
                    .name
                    .filter(|name| !name.is_empty())
                    .unwrap_or_else(|| "tool".to_owned());
                if let Some(id) = call.id {
                    self.tool_names.insert(id, name.clone());
                }
                let input = match call.input.map(RawValue::get) {
                    // The arguments are JSON held in a JSON string.
                    Some(raw) if raw.starts_with('"') => serde_json::from_str::<String>(raw)?,
                    Some(raw) if raw != "null" => raw.to_owned(),
                    _ => String::new(),
                };
                let text = format!("{name}({})", input.trim());
                push(blocks, BlockKind::ToolUse, Some(text), Some(&name));
            }
            "tool_result" => {
                let result = serde_json::from_str::<ToolResult>(data)?;
                let name = result
                    .name
                    .filter(|name| !name.is_empty())
                    .or_else(|| {
                        result
                            .tool_call_id
                            .and_then(|id| self.tool_names.get(&id).cloned())
                    })
                    .unwrap_or_else(|| "tool".to_owned());
                push(blocks, BlockKind::ToolResult, result.content, Some(&name));
            }
            "finish" => {
                let finish = serde_json::from_str::<Finish>(data)?;
                if finish.reason.as_deref() == Some("error") {
                    let said: Vec<String> = [finish.message, finish.details].into_iter().flatten().collect();
                    push(
                        blocks,
                        BlockKind::System,
                        Some(format!("[error] {}", said.join(": "))),
                        None,
                    );
                }
            }
            "shell_command" => {
                let shell = serde_json::from_str::<ShellCommand>(data)?;
                push(blocks, BlockKind::ToolUse, shell.command, Some("shell"));
                push(blocks, BlockKind::ToolResult, shell.output, Some("shell"));
            }
            _ => {}
        }
        Ok(())
    }
}

/// Adds a block of non-blank text, cut at what a row can store (the planner still sees that it
/// was longer and marks the cut).
fn push(blocks: &mut Vec<Block>, kind: BlockKind, text: Option<String>, tool: Option<&str>) {
    let Some(mut text) = text.filter(|text| !text.trim().is_empty()) else {
        return;
    };
    if text.len() > STRING_BUDGET {
        let mut cut = STRING_BUDGET;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    blocks.push(match tool {
        Some(tool) => Block::with_tool(kind, text, tool),
        None => Block::new(kind, text),
    });
}

/// A Crush time: epoch seconds (the schema's comments say milliseconds, but Crush writes
/// `strftime('%s')`); a value too large for seconds is read as milliseconds. Zero or less is none.
pub(super) fn epoch(value: i64) -> Option<DateTime<Utc>> {
    const MILLIS_FROM: i64 = 100_000_000_000;
    match value {
        ..=0 => None,
        MILLIS_FROM.. => DateTime::from_timestamp_millis(value),
        _ => DateTime::from_timestamp(value, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row<'a>(role: &'a str, parts: &'a str) -> Row<'a> {
        Row {
            id: "m".to_owned(),
            role,
            parts,
            model: None,
            provider: None,
            at: DateTime::UNIX_EPOCH,
            summary: false,
        }
    }

    fn blocks(conversation: &Conversation) -> Vec<(BlockKind, &str, Option<&str>)> {
        conversation
            .messages
            .iter()
            .flat_map(|message| &message.blocks)
            .map(|block| (block.kind, block.text.as_str(), block.tool_name.as_deref()))
            .collect()
    }

    #[test]
    fn parts_become_blocks_and_results_are_named_by_their_call() {
        let mut conversation = Conversation::default();
        let assistant = r#"[{"type":"reasoning","data":{"thinking":"hm","signature":""}},
            {"type":"text","data":{"text":"Listing."}},
            {"type":"tool_call","data":{"id":"c1","name":"ls","input":"{\"path\": \"/p\"}","finished":true}},
            {"type":"finish","data":{"reason":"tool_use","time":1}}]"#;
        let tool = r#"[{"type":"tool_result","data":{"tool_call_id":"c1","name":"","content":"a.txt","metadata":"{}"}}]"#;
        let user = r#"[{"type":"text","data":{"text":""}},{"type":"binary","data":{"Path":"paste_1.txt","MIMEType":"text/plain","Data":"aGk="}},
            {"type":"image_url","data":{"url":"data:image/png;base64,AAAA"}},{"type":"future","data":{}}]"#;
        assert!(conversation.push(row("assistant", assistant), 0).is_empty());
        assert!(conversation.push(row("tool", tool), 0).is_empty());
        assert!(conversation.push(row("user", user), 0).is_empty());
        assert_eq!(
            blocks(&conversation),
            [
                (BlockKind::Thinking, "hm", None),
                (BlockKind::Text, "Listing.", None),
                (BlockKind::ToolUse, "ls({\"path\": \"/p\"})", Some("ls")),
                (BlockKind::ToolResult, "a.txt", Some("ls")),
                (BlockKind::Text, "[file: paste_1.txt (text/plain)]", None),
                (BlockKind::Text, "[image]", None),
            ]
        );
        assert_eq!(conversation.messages[1].tool_name.as_deref(), Some("ls"));
        assert_eq!(conversation.messages[1].role, Role::ToolResult);
    }

    #[test]
    fn an_error_finish_is_a_system_block_and_a_summary_a_system_message() {
        let mut conversation = Conversation::default();
        let failed = r#"[{"type":"finish","data":{"reason":"error","message":"Internal Server Error","details":"busy"}}]"#;
        let canceled =
            r#"[{"type":"finish","data":{"reason":"canceled","message":"User canceled request"}}]"#;
        assert!(conversation.push(row("assistant", failed), 0).is_empty());
        assert!(conversation.push(row("assistant", canceled), 0).is_empty());
        let summary = Row {
            summary: true,
            ..row("assistant", r#"[{"type":"text","data":{"text":"So far: ..."}}]"#)
        };
        assert!(conversation.push(summary, 0).is_empty());
        assert_eq!(
            blocks(&conversation),
            [
                (BlockKind::System, "[error] Internal Server Error: busy", None),
                (BlockKind::System, "So far: ...", None)
            ]
        );
        assert_eq!(conversation.messages[1].role, Role::System);
    }

    #[test]
    fn parts_of_the_wrong_shape_are_reported_and_the_rest_is_kept() {
        let mut conversation = Conversation::default();
        let parts = r#"[{"type":"text","data":{"text":5}},{"type":"text","data":{"text":"kept"}}]"#;
        let problems = conversation.push(row("user", parts), 0);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("part 0 (`text`)"));
        assert_eq!(blocks(&conversation), [(BlockKind::Text, "kept", None)]);
        assert_eq!(conversation.push(row("user", "{}"), 0).len(), 1);
        assert_eq!(conversation.messages.len(), 1);
    }

    #[test]
    fn times_are_seconds_unless_too_large_for_them() {
        assert_eq!(epoch(1_754_605_244).unwrap().timestamp(), 1_754_605_244);
        assert_eq!(
            epoch(1_754_605_244_123).unwrap().timestamp_millis(),
            1_754_605_244_123
        );
        assert_eq!(epoch(0), None);
        assert_eq!(epoch(-5), None);
    }
}
