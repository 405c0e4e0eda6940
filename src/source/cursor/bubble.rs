//! One IDE message (`bubbleId:<composer>:<bubble>` in `cursorDiskKV`, formats-more-tools.md 1.2)
//! as a message: `type` 1 is the user, 2 the assistant; an assistant bubble may hold thinking,
//! text and one tool call with its result together. Every field may be missing or of another
//! type across Cursor versions; such a field is read as absent.

use serde_json::Value;

use crate::model::{Block, BlockKind, Role};
use crate::source::timestamp::parse_rfc3339;

use super::session::{Draft, MessageTime};
use super::text::{assistant_blocks, push_text, tool_use_block};

/// A non-empty string at `pointer`.
pub(super) fn text_at<'v>(value: &'v Value, pointer: &str) -> Option<&'v str> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|text| !text.trim().is_empty())
}

/// Epoch milliseconds at `pointer` (an integer, or a float Cursor wrote), if a valid instant.
pub(super) fn ms_at(value: &Value, pointer: &str) -> Option<i64> {
    let value = value.pointer(pointer)?;
    value
        .as_i64()
        .or_else(|| {
            value
                .as_f64()
                .filter(|ms| ms.is_finite() && ms.abs() < 9e15)
                .map(|ms| ms as i64)
        })
        .filter(|ms| chrono::DateTime::from_timestamp_millis(*ms).is_some())
}

/// The message a bubble holds, or `None` when it holds nothing to keep. `header_type` is the
/// type the composer's header list gives, for a bubble that lacks its own.
pub(super) fn bubble_draft(bubble_id: &str, bubble: &Value, header_type: Option<i64>) -> Option<Draft> {
    let kind = bubble.get("type").and_then(Value::as_i64).or(header_type);
    let mut blocks = Vec::new();
    let role = if kind == Some(1) {
        let mut typed = text_at(bubble, "/text").unwrap_or_default().trim().to_owned();
        let images = bubble.get("images").and_then(Value::as_array).map_or(0, Vec::len);
        for _ in 0..images {
            if !typed.is_empty() {
                typed.push('\n');
            }
            typed.push_str("[Image]");
        }
        if super::text::user_text(&typed).follow_up {
            push_text(&mut blocks, BlockKind::System, &typed);
            Role::System
        } else {
            push_text(&mut blocks, BlockKind::Text, &typed);
            Role::User
        }
    } else {
        if let Some(thinking) = text_at(bubble, "/thinking/text") {
            push_text(&mut blocks, BlockKind::Thinking, thinking);
        }
        if let Some(text) = text_at(bubble, "/text") {
            assistant_blocks(text, &mut blocks);
        }
        push_tool(bubble.get("toolFormerData"), &mut blocks);
        Role::Assistant
    };
    if blocks.is_empty() {
        return None;
    }
    let time = match text_at(bubble, "/createdAt").and_then(parse_rfc3339) {
        Some(at) => MessageTime::Own(at),
        None => match ms_at(bubble, "/createdAt").and_then(chrono::DateTime::from_timestamp_millis) {
            Some(at) => MessageTime::Own(at),
            None => MessageTime::Undated,
        },
    };
    let tool_name = blocks
        .iter()
        .find(|block| block.kind == BlockKind::ToolUse)
        .and_then(|block| block.tool_name.clone());
    Some(Draft {
        id: bubble_id.to_owned(),
        role,
        blocks,
        time,
        model: text_at(bubble, "/modelInfo/modelName").map(str::to_owned),
        tool_name,
        line: 0,
    })
}

/// `toolFormerData`: the call (`name` with `rawArgs`, else `params`) and, once it ran, its
/// `result` (else its `error`).
fn push_tool(tool: Option<&Value>, blocks: &mut Vec<Block>) {
    let Some(tool) = tool.filter(|tool| tool.is_object()) else {
        return;
    };
    let Some(name) = text_at(tool, "/name") else {
        return;
    };
    let input = text_at(tool, "/rawArgs")
        .or_else(|| text_at(tool, "/params"))
        .unwrap_or_default();
    blocks.push(tool_use_block(name, input));
    let result = ["/result", "/error"]
        .iter()
        .find_map(|pointer| match tool.pointer(pointer) {
            Some(Value::String(text)) if !text.trim().is_empty() => Some(text.clone()),
            Some(value @ (Value::Object(_) | Value::Array(_))) => Some(value.to_string()),
            _ => None,
        });
    if let Some(result) = result {
        blocks.push(Block::with_tool(BlockKind::ToolResult, result, name));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kinds(draft: &Draft) -> Vec<(BlockKind, &str)> {
        draft.blocks.iter().map(|b| (b.kind, b.text.as_str())).collect()
    }

    #[test]
    fn an_assistant_bubble_holds_thinking_text_and_a_tool_call_with_its_result() {
        let bubble = json!({
            "type": 2, "createdAt": "2026-06-18T00:11:24.635Z",
            "thinking": {"text": "look first"}, "text": "Reading it.\n\n[REDACTED]",
            "modelInfo": {"modelName": "composer-2.5"},
            "toolFormerData": {"name": "read_file_v2", "rawArgs": "{\"path\":\"/a\"}",
                "params": "{}", "result": "{\"contents\":\"x\"}", "status": "completed"}
        });
        let draft = bubble_draft("b1", &bubble, None).unwrap();
        assert_eq!(draft.role, Role::Assistant);
        assert_eq!(
            kinds(&draft),
            [
                (BlockKind::Thinking, "look first"),
                (BlockKind::Text, "Reading it."),
                (BlockKind::ToolUse, r#"read_file_v2({"path":"/a"})"#),
                (BlockKind::ToolResult, r#"{"contents":"x"}"#),
            ]
        );
        assert_eq!(draft.tool_name.as_deref(), Some("read_file_v2"));
        assert_eq!(draft.model.as_deref(), Some("composer-2.5"));
        assert!(matches!(draft.time, MessageTime::Own(_)));
    }

    #[test]
    fn user_bubbles_are_prompts_unless_cursor_sent_them_and_wrong_types_are_absent() {
        let user = bubble_draft("u", &json!({"type": 1, "text": " fix it ", "images": [{}]}), None).unwrap();
        assert_eq!(
            (user.role, kinds(&user)),
            (Role::User, vec![(BlockKind::Text, "fix it\n[Image]")])
        );
        assert_eq!(user.time, MessageTime::Undated);
        let follow = json!({"text": "Briefly inform the user about the task result."});
        let follow = bubble_draft("f", &follow, Some(1)).unwrap();
        assert_eq!(follow.role, Role::System);
        let odd =
            json!({"type": 2, "text": 7, "thinking": "x", "toolFormerData": {"name": 3}, "createdAt": []});
        assert_eq!(bubble_draft("o", &odd, None), None);
        let pending = json!({"type": 2, "toolFormerData": {"name": "edit_file", "status": "loading"}});
        let pending = bubble_draft("p", &pending, None).unwrap();
        assert_eq!(kinds(&pending), [(BlockKind::ToolUse, "edit_file()")]);
    }
}
