//! Turns OpenCode records (a session, its messages and their parts, in the shape both the database
//! and the JSON storage hold them, formats.md 3.1-3.3) into the normalised model.
//!
//! Both stores keep a message's and a part's fields in one JSON object (the database's `data`
//! column is the JSON file minus its ids), so the readers only locate records and this module alone
//! decides what they mean.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::{Block, BlockKind, Message, Role, Session, SessionFacts};

/// The session-level fields, from the `session` row or the session JSON file.
#[derive(Debug, Default)]
pub(super) struct SessionInfo {
    pub title: Option<String>,
    pub directory: Option<String>,
    /// The project's `worktree`: the cwd when the session records no `directory`.
    pub worktree: Option<String>,
    pub version: Option<String>,
    pub parent_id: Option<String>,
    /// The session's `agent` column (database 1.x only).
    pub agent: Option<String>,
    /// The session's `model` column (database 1.x only): `{id, providerID, variant?}`.
    pub model: Option<Value>,
    pub created_ms: Option<i64>,
    /// `time_updated` / `time.updated`: the session's revision for the ledger.
    pub updated_ms: Option<i64>,
}

/// One session as read from either store.
#[derive(Debug)]
pub(super) struct SessionRecord {
    pub id: String,
    /// `<db>#session/<id>` or the session JSON file.
    pub source_file: String,
    pub info: SessionInfo,
    pub messages: Vec<MessageRecord>,
}

/// One message: its native `msg_…` id, creation time and JSON body (`role`, `time`, `model`, ...).
#[derive(Debug)]
pub(super) struct MessageRecord {
    pub id: String,
    pub created_ms: i64,
    pub info: Value,
    pub parts: Vec<PartRecord>,
}

/// One part: its native `prt_…` id and JSON body (`type`, `text`, `state`, ...).
#[derive(Debug)]
pub(super) struct PartRecord {
    pub id: String,
    pub data: Value,
}

/// `time.created` of a message body, in epoch milliseconds.
pub(super) fn created_ms(info: &Value) -> Option<i64> {
    epoch_ms(info.pointer("/time/created")?)
}

/// An epoch-millisecond number; OpenCode writes integers, but a float must not lose the record.
/// A number outside the range of timestamps counts as absent, so the one record is reported
/// without losing the rest of its session.
pub(super) fn epoch_ms(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|ms| ms.is_finite()).map(|ms| ms as i64))
        .filter(|ms| timestamp(*ms).is_some())
}

/// A non-empty string field.
pub(super) fn text_field(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

fn timestamp(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

/// Builds the session; an out-of-range timestamp is an error the caller reports as malformed
/// (every OpenCode time is epoch milliseconds, formats.md 3.3).
pub(super) fn build_session(record: SessionRecord) -> Result<Session, String> {
    let SessionRecord {
        id,
        source_file,
        info,
        mut messages,
    } = record;
    // Message ids ascend with creation, so (created, id) is the conversation order (formats.md 3.3).
    messages.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));

    let facts = session_facts(&info, &messages)?;
    let mut converted = Vec::with_capacity(messages.len());
    for mut message in messages {
        let Some(at) = timestamp(message.created_ms) else {
            return Err(format!(
                "message {} has an out-of-range time {}",
                message.id, message.created_ms
            ));
        };
        // Part ids ascend in creation order, the order OpenCode itself loads and shows them
        // (`ORDER BY id`). `time.start` cannot order them: tool and step parts have no top-level
        // `time`, and a text part's start is when streaming began, not where it sits.
        message.parts.sort_by(|a, b| a.id.cmp(&b.id));
        let role = message_role(&message.info);
        let mut blocks = Vec::new();
        for part in &message.parts {
            push_part_blocks(&part.data, &mut blocks);
        }
        if blocks.is_empty() {
            continue;
        }
        converted.push(Message {
            model: message_model(&message.info).map(|(model, _)| model),
            cwd: text_field(&message.info, "/path/cwd"),
            id: message.id,
            origin_session_id: None,
            timestamp: at,
            role,
            blocks,
            tool_name: None,
            line: 0,
        });
    }
    Ok(Session {
        tool: super::TOOL,
        id,
        source_file,
        facts,
        messages: converted,
    })
}

fn session_facts(info: &SessionInfo, messages: &[MessageRecord]) -> Result<SessionFacts, String> {
    let started_ms = info
        .created_ms
        .or_else(|| messages.first().map(|message| message.created_ms));
    let started_at = match started_ms {
        Some(ms) => Some(timestamp(ms).ok_or_else(|| format!("session has an out-of-range time {ms}"))?),
        None => None,
    };
    // The first message that names a model sets it (and its provider); the session's own `model`
    // column is the fallback, so a session reads the same from either store.
    let (model, provider) = messages
        .iter()
        .find_map(|message| message_model(&message.info))
        .or_else(|| {
            let column = info.model.as_ref()?;
            Some((text_field(column, "/id")?, text_field(column, "/providerID")))
        })
        .map_or((None, None), |(model, provider)| (Some(model), provider));
    let agent_mode = messages
        .iter()
        .find_map(|message| {
            text_field(&message.info, "/agent").or_else(|| text_field(&message.info, "/mode"))
        })
        .or_else(|| info.agent.clone());
    // cwd: the session's `directory`; else where the assistant ran; else the project's worktree.
    let cwd = info
        .directory
        .clone()
        .or_else(|| {
            messages
                .iter()
                .find_map(|message| text_field(&message.info, "/path/cwd"))
        })
        .or_else(|| info.worktree.clone());
    Ok(SessionFacts {
        title: info.title.clone(),
        cwd,
        tool_version: info.version.clone(),
        model,
        provider,
        agent_mode,
        started_at,
        is_sidechain: info.parent_id.is_some(),
        parent_session_id: info.parent_id.clone(),
        revision: info.updated_ms,
        ..SessionFacts::default()
    })
}

/// The model and provider of one message: nested `model{providerID, modelID}` on user messages,
/// flat `modelID`/`providerID` on assistant messages (formats.md 3.1).
fn message_model(info: &Value) -> Option<(String, Option<String>)> {
    if let Some(model) = text_field(info, "/model/modelID") {
        return Some((model, text_field(info, "/model/providerID")));
    }
    let model = text_field(info, "/modelID")?;
    Some((model, text_field(info, "/providerID")))
}

fn message_role(info: &Value) -> Role {
    match info.get("role").and_then(Value::as_str) {
        Some("user") => Role::User,
        Some("system") => Role::System,
        _ => Role::Assistant,
    }
}

fn is_true(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool) == Some(true)
}

/// A JSON value as block text: strings as they are, anything else as compact JSON.
fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn push_block(blocks: &mut Vec<Block>, kind: BlockKind, text: String, tool_name: Option<&str>) {
    if text.trim().is_empty() {
        return;
    }
    blocks.push(match tool_name {
        Some(tool) => Block::with_tool(kind, text, tool),
        None => Block::new(kind, text),
    });
}

/// The blocks one part contributes (formats.md 3.3); unknown part types contribute nothing.
fn push_part_blocks(part: &Value, blocks: &mut Vec<Block>) {
    let text = |key: &str| {
        part.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match part.get("type").and_then(Value::as_str) {
        // `synthetic` text is injected by OpenCode ("The following tool was executed by the user",
        // file contents read for an @-mention); `ignored` text was withdrawn from the conversation.
        Some("text") if is_true(part, "synthetic") || is_true(part, "ignored") => {}
        Some("text") => push_block(blocks, BlockKind::Text, text("text"), None),
        Some("reasoning") => push_block(blocks, BlockKind::Thinking, text("text"), None),
        Some("tool") => {
            let tool = part
                .get("tool")
                .and_then(Value::as_str)
                .filter(|name| !name.is_empty())
                .unwrap_or("tool");
            let state = part.get("state").unwrap_or(&Value::Null);
            let input = state
                .get("input")
                .filter(|input| !input.is_null())
                .map(Value::to_string);
            push_block(
                blocks,
                BlockKind::ToolUse,
                format!("{tool}({})", input.unwrap_or_default()),
                Some(tool),
            );
            // A pending or running call (the process may have died) has neither.
            let result = ["output", "error"]
                .iter()
                .find_map(|key| state.get(*key).filter(|value| !value.is_null()));
            if let Some(result) = result {
                push_block(blocks, BlockKind::ToolResult, value_text(result), Some(tool));
            }
        }
        Some("file") => push_block(blocks, BlockKind::Text, file_label(part), None),
        Some("patch") => {
            let files: Vec<&str> = part
                .get("files")
                .and_then(Value::as_array)
                .map(|files| files.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !files.is_empty() {
                push_block(
                    blocks,
                    BlockKind::System,
                    format!("[patch: {}]", files.join(", ")),
                    None,
                );
            }
        }
        _ => {}
    }
}

/// A short text naming an attached file. Never the `url`'s content: it may be a `data:` URL
/// holding the whole file as base64.
fn file_label(part: &Value) -> String {
    let name = text_field(part, "/filename")
        .or_else(|| text_field(part, "/source/path"))
        .or_else(|| text_field(part, "/url").filter(|url| !url.starts_with("data:")))
        .unwrap_or_else(|| "attachment".to_owned());
    match text_field(part, "/mime") {
        Some(mime) => format!("[file: {name} ({mime})]"),
        None => format!("[file: {name}]"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn blocks_of(parts: Vec<Value>) -> Vec<Block> {
        let mut blocks = Vec::new();
        for part in &parts {
            push_part_blocks(part, &mut blocks);
        }
        blocks
    }

    fn record(messages: Vec<MessageRecord>) -> SessionRecord {
        SessionRecord {
            id: "ses_x".into(),
            source_file: "f".into(),
            info: SessionInfo::default(),
            messages,
        }
    }

    fn message(id: &str, created_ms: i64, info: Value, parts: Vec<(&str, Value)>) -> MessageRecord {
        let parts = parts
            .into_iter()
            .map(|(id, data)| PartRecord { id: id.into(), data })
            .collect();
        MessageRecord {
            id: id.into(),
            created_ms,
            info,
            parts,
        }
    }

    #[test]
    fn tool_part_gives_a_call_and_its_output_or_error() {
        let blocks = blocks_of(vec![
            json!({"type": "tool", "tool": "bash", "state": {"status": "completed", "input": {"command": "ls"}, "output": "a\n"}}),
            json!({"type": "tool", "tool": "read", "state": {"status": "error", "input": {"filePath": "/x"}, "error": "not found"}}),
            json!({"type": "tool", "tool": "edit", "state": {"status": "running", "input": {}}}),
        ]);
        let got: Vec<_> = blocks
            .iter()
            .map(|b| (b.kind, b.text.as_str(), b.tool_name.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (BlockKind::ToolUse, r#"bash({"command":"ls"})"#, Some("bash")),
                (BlockKind::ToolResult, "a\n", Some("bash")),
                (BlockKind::ToolUse, r#"read({"filePath":"/x"})"#, Some("read")),
                (BlockKind::ToolResult, "not found", Some("read")),
                (BlockKind::ToolUse, "edit({})", Some("edit")),
            ]
        );
    }

    #[test]
    fn synthetic_ignored_and_blank_text_are_dropped() {
        let blocks = blocks_of(vec![
            json!({"type": "text", "text": "injected", "synthetic": true}),
            json!({"type": "text", "text": "withdrawn", "ignored": true}),
            json!({"type": "text", "text": "  \n"}),
            json!({"type": "reasoning", "text": ""}),
            json!({"type": "step-start"}),
            json!({"type": "text", "text": "kept", "synthetic": false}),
        ]);
        assert_eq!(blocks, [Block::new(BlockKind::Text, "kept")]);
    }

    #[test]
    fn file_part_names_the_file_and_never_its_data() {
        let blocks = blocks_of(vec![
            json!({"type": "file", "mime": "image/png", "filename": "shot.png", "url": "data:image/png;base64,AAAA"}),
            json!({"type": "file", "mime": "image/png", "url": "data:image/png;base64,AAAA"}),
            json!({"type": "patch", "hash": "h", "files": ["/a.rs", "/b.rs"]}),
        ]);
        let texts: Vec<_> = blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "[file: shot.png (image/png)]",
                "[file: attachment (image/png)]",
                "[patch: /a.rs, /b.rs]"
            ]
        );
    }

    #[test]
    fn messages_order_by_time_then_id_and_parts_by_id() {
        let text = |t: &str| json!({"type": "text", "text": t});
        let session = build_session(record(vec![
            message(
                "msg_b",
                2,
                json!({"role": "assistant"}),
                vec![("prt_2", text("second")), ("prt_1", text("first"))],
            ),
            message("msg_a", 2, json!({"role": "user"}), vec![("prt_0", text("hi"))]),
            message(
                "msg_0",
                1,
                json!({"role": "user"}),
                vec![("prt_9", json!({"type": "step-start"}))],
            ),
        ]))
        .unwrap();
        let ids: Vec<_> = session.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["msg_a", "msg_b"], "msg_0 has no content and is dropped");
        let texts: Vec<_> = session.messages[1]
            .blocks
            .iter()
            .map(|b| b.text.as_str())
            .collect();
        assert_eq!(texts, ["first", "second"]);
        assert_eq!(session.facts.started_at, DateTime::from_timestamp_millis(1));
    }

    #[test]
    fn facts_prefer_message_model_then_session_column() {
        let text = json!({"type": "text", "text": "x"});
        let nested =
            json!({"role": "user", "agent": "plan", "model": {"providerID": "google", "modelID": "gemini"}});
        let flat = json!({"role": "assistant", "mode": "build", "modelID": "kimi", "providerID": "opencode"});
        let session = build_session(record(vec![
            message("msg_1", 1, nested, vec![("prt_1", text.clone())]),
            message("msg_2", 2, flat.clone(), vec![("prt_2", text.clone())]),
        ]))
        .unwrap();
        let facts = (
            session.facts.model.as_deref(),
            session.facts.provider.as_deref(),
            session.facts.agent_mode.as_deref(),
        );
        assert_eq!(facts, (Some("gemini"), Some("google"), Some("plan")));
        assert_eq!(session.messages[1].model.as_deref(), Some("kimi"));

        let mut only_column = record(vec![message(
            "msg_1",
            1,
            json!({"role": "user"}),
            vec![("prt_1", text)],
        )]);
        only_column.info.model = Some(json!({"id": "moonshotai/kimi-k2.6", "providerID": "opencode"}));
        only_column.info.agent = Some("build".into());
        let facts = build_session(only_column).unwrap().facts;
        assert_eq!(facts.model.as_deref(), Some("moonshotai/kimi-k2.6"));
        assert_eq!(facts.provider.as_deref(), Some("opencode"));
        assert_eq!(facts.agent_mode.as_deref(), Some("build"));
    }

    #[test]
    fn cwd_falls_back_to_assistant_path_then_worktree_and_parent_marks_a_sidechain() {
        let mut session = record(vec![]);
        session.info.worktree = Some("/repo".into());
        session.info.parent_id = Some("ses_parent".into());
        let facts = build_session(session).unwrap().facts;
        assert_eq!(facts.cwd.as_deref(), Some("/repo"));
        assert!(facts.is_sidechain);
        assert_eq!(facts.parent_session_id.as_deref(), Some("ses_parent"));

        let mut session = record(vec![message(
            "msg_1",
            1,
            json!({"role": "assistant", "path": {"cwd": "/repo/sub"}}),
            vec![],
        )]);
        session.info.worktree = Some("/repo".into());
        assert_eq!(
            build_session(session).unwrap().facts.cwd.as_deref(),
            Some("/repo/sub")
        );
    }

    #[test]
    fn epoch_ms_takes_numbers_that_are_instants() {
        assert_eq!(epoch_ms(&json!(1_756_720_800_000_i64)), Some(1_756_720_800_000));
        assert_eq!(epoch_ms(&json!(1.5e12)), Some(1_500_000_000_000));
        // Year 99999 is an instant; beyond chrono's range (and PostgreSQL's) is not.
        assert!(epoch_ms(&json!(3_093_527_980_800_000_i64)).is_some());
        assert_eq!(epoch_ms(&json!(-8_334_601_228_800_001_i64)), None);
        assert_eq!(epoch_ms(&json!(1e20)), None);
        assert_eq!(epoch_ms(&json!("1756720800000")), None);
    }

    #[test]
    fn out_of_range_time_is_an_error_not_a_panic() {
        let text = json!({"type": "text", "text": "x"});
        let session = record(vec![message(
            "msg_1",
            i64::MAX,
            json!({"role": "user"}),
            vec![("prt_1", text)],
        )]);
        assert!(build_session(session).is_err());
    }
}
