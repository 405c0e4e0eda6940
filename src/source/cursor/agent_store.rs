//! Reads a cursor-agent chat store (`~/.cursor/chats/<md5(workspace)>/<agent id>/store.db`,
//! formats-more-tools.md 1.3): `meta` key `0` holds the chat's facts as hex-encoded JSON, and
//! `blobs` holds content-addressed blobs: JSON messages `{role, content}` and protobuf nodes whose
//! field 1 lists child blob ids (32 raw bytes each). The conversation is the messages met walking
//! the nodes from `latestRootBlobId`, depth first, in field order.
//!
//! A message's id is its blob id (the SHA-256 of its bytes), so it does not move when the tree is
//! rebuilt; the same blob met again (a repeated prompt) gets `#2`, `#3`, ... The store records no
//! time per message: they take the chat's `createdAt`. The workspace is the one cursor-agent
//! states in its `<user_info>` context, or the one a tool call's path lies in, when its MD5 is the
//! chats folder's name.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use crate::model::{Block, BlockKind, Diagnostic, DiagnosticKind, Role};
use crate::source::sqlite::{bytes, diagnostic, has_table, Database};

use super::bubble::{ms_at, text_at};
use super::cwd::{chats_folder_matches, collect_paths, user_info_workspace};
use super::locate::AgentStore;
use super::session::{Conversation, Draft, Head, MessageTime};
use super::text::{assistant_blocks, push_text, tool_use_block, user_text};
use super::vscdb::decode;
use super::{marker, ORIGINATOR_AGENT};

/// How deep the node tree is followed; deeper is a damaged store.
const MAX_DEPTH: usize = 64;

/// One chat's facts, from `meta`.
#[derive(Debug)]
pub(super) struct Chat {
    pub id: String,
    /// Moves whenever the conversation does: made from `latestRootBlobId`.
    pub marker: i64,
    pub head: Head,
}

/// The chat a store holds, or `None` (with a diagnostic) when it cannot be read.
pub(super) fn inventory(store: &AgentStore, diagnostics: &mut Vec<Diagnostic>) -> Option<Chat> {
    let read =
        Database::open(&store.path).and_then(|mut db| db.read_stable(|conn| read_meta(conn, &store.path)));
    match read {
        Ok(Ok(meta)) => {
            let root = text_at(&meta, "/latestRootBlobId").unwrap_or_default();
            Some(Chat {
                id: text_at(&meta, "/agentId").unwrap_or(&store.agent_id).to_owned(),
                marker: marker(&[b"agent", root.as_bytes()]),
                head: Head {
                    title: text_at(&meta, "/name").map(str::to_owned),
                    model: text_at(&meta, "/lastUsedModel").map(str::to_owned),
                    mode: text_at(&meta, "/mode").map(str::to_owned),
                    originator: Some(ORIGINATOR_AGENT),
                    created: ms_at(&meta, "/createdAt")
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .map(|at| (at, "chat_created")),
                    ..Head::default()
                },
            })
        }
        Ok(Err(problem)) => {
            diagnostics.push(diagnostic(&store.path, DiagnosticKind::Malformed, problem));
            None
        }
        Err(problem) => {
            diagnostics.push(diagnostic(
                &store.path,
                DiagnosticKind::Unreadable,
                format!("cannot read {}: {problem}", store.path.display()),
            ));
            None
        }
    }
}

/// `meta` key `0`: hex-encoded JSON (plain JSON is taken too).
fn read_meta(conn: &Connection, path: &Path) -> rusqlite::Result<Result<Value, String>> {
    if !has_table(conn, "meta")? || !has_table(conn, "blobs")? {
        return Ok(Err(format!(
            "{}: not a cursor-agent store (no `meta` and `blobs` tables)",
            path.display()
        )));
    }
    let value: Option<Option<Vec<u8>>> = conn
        .query_row("SELECT value FROM meta WHERE key = '0'", [], |row| {
            Ok(bytes(row, 0).map(<[u8]>::to_vec))
        })
        .optional()?;
    let Some(Some(value)) = value else {
        return Ok(Err("meta key 0: missing".to_owned()));
    };
    let json = hex_decode(value.trim_ascii()).unwrap_or(value);
    Ok(match serde_json::from_slice::<Value>(&json) {
        Ok(meta) if meta.is_object() => Ok(meta),
        Ok(_) => Err("meta key 0: not a JSON object".to_owned()),
        Err(error) => Err(format!("meta key 0: not JSON: {error}")),
    })
}

fn hex_decode(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.is_empty() {
        return None;
    }
    text.chunks_exact(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// The conversation of a store: its messages in tree order, and the workspace it ran in.
pub(super) fn conversation(
    store: &AgentStore,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Option<Conversation>, String> {
    let mut db = Database::open(&store.path)?;
    let (conversation, found) = db.read_stable(|conn| {
        let mut found = Vec::new();
        let tx = conn.unchecked_transaction()?;
        let conversation = match read_meta(&tx, &store.path)? {
            Ok(meta) => Some(read_tree(&tx, store, &meta, &mut found)?),
            Err(_) => None,
        };
        Ok((conversation, found))
    })?;
    diagnostics.extend(found);
    Ok(conversation.map(|conversation| Conversation {
        fallback_times: super::transcript::file_times(&store.path),
        ..conversation
    }))
}

fn read_tree(
    conn: &Connection,
    store: &AgentStore,
    meta: &Value,
    diagnostics: &mut Vec<Diagnostic>,
) -> rusqlite::Result<Conversation> {
    let mut conversation = Conversation::default();
    let mut lookup = conn.prepare_cached("SELECT data FROM blobs WHERE id = ?1")?;
    let mut seen_nodes = HashSet::new();
    let mut occurrences: HashMap<String, usize> = HashMap::new();
    let mut paths = BTreeSet::new();
    let mut user_info = None;
    let mut stack: Vec<(String, usize)> = text_at(meta, "/latestRootBlobId")
        .map(|root| vec![(root.to_ascii_lowercase(), 0)])
        .unwrap_or_default();
    while let Some((id, depth)) = stack.pop() {
        let data: Option<Option<Vec<u8>>> = lookup
            .query_row([&id], |row| Ok(bytes(row, 0).map(<[u8]>::to_vec)))
            .optional()?;
        // A child the store no longer holds.
        let Some(Some(data)) = data else { continue };
        if data.first() == Some(&b'{') {
            let key = format!("blob {id}");
            let Some(message) = decode::<Value>(&data, &store.path, &key, diagnostics) else {
                continue;
            };
            let count = occurrences.entry(id.clone()).or_insert(0);
            *count += 1;
            let message_id = if *count == 1 { id } else { format!("{id}#{count}") };
            if let Some(draft) = message_draft(message_id, &message, &mut paths, &mut user_info) {
                conversation.drafts.push(draft);
            }
        } else if depth < MAX_DEPTH && seen_nodes.insert(id) {
            let children = node_children(&data);
            stack.extend(children.into_iter().rev().map(|child| (child, depth + 1)));
        }
    }
    conversation.head.cwd = workspace(store, user_info, &paths);
    Ok(conversation)
}

/// The hex ids in field 1 of a protobuf node (length-delimited, 32 bytes each); whatever does not
/// parse ends the list.
fn node_children(data: &[u8]) -> Vec<String> {
    let mut children = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let Some((key, next)) = varint(data, at) else {
            break;
        };
        at = next;
        let skip = match key & 7 {
            0 => match varint(data, at) {
                Some((_, next)) => next - at,
                None => break,
            },
            1 => 8,
            2 => match varint(data, at) {
                Some((length, next)) => {
                    let Some(end) = usize::try_from(length)
                        .ok()
                        .and_then(|length| next.checked_add(length))
                    else {
                        break;
                    };
                    if end > data.len() {
                        break;
                    }
                    if key >> 3 == 1 && end - next == 32 {
                        children.push(data[next..end].iter().map(|byte| format!("{byte:02x}")).collect());
                    }
                    end - at
                }
                None => break,
            },
            5 => 4,
            _ => break,
        };
        at += skip;
    }
    children
}

fn varint(data: &[u8], mut at: usize) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(at)?;
        at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some((value, at));
        }
    }
    None
}

/// One message blob as a draft: `system` prompts and context-only user messages are dropped
/// (their `<user_info>` noted), tool results become their own messages.
fn message_draft(
    id: String,
    message: &Value,
    paths: &mut BTreeSet<String>,
    user_info: &mut Option<String>,
) -> Option<Draft> {
    let content = message.get("content").unwrap_or(&Value::Null);
    let parts: Vec<&Value> = match content {
        Value::Array(parts) => parts.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
    let mut blocks = Vec::new();
    let mut tool_name = None;
    let role = match message.get("role").and_then(Value::as_str) {
        Some("user") => {
            let raw: Vec<&str> = parts.iter().filter_map(|part| part_text(part)).collect();
            let raw = raw.join("\n");
            if user_info.is_none() {
                *user_info = user_info_workspace(&raw);
            }
            let images = parts
                .iter()
                .filter(|part| text_at(part, "/type") == Some("image"))
                .count();
            user_text(&raw).into_message(images, &mut blocks)
        }
        Some("assistant") => {
            for part in &parts {
                match part {
                    Value::String(text) => assistant_blocks(text, &mut blocks),
                    _ => match text_at(part, "/type") {
                        Some("text") => {
                            assistant_blocks(text_at(part, "/text").unwrap_or_default(), &mut blocks)
                        }
                        Some("reasoning" | "thinking") => {
                            let text = text_at(part, "/text").or_else(|| text_at(part, "/thinking"));
                            push_text(&mut blocks, BlockKind::Thinking, text.unwrap_or_default());
                        }
                        Some("tool-call" | "tool_use") => {
                            let name = text_at(part, "/toolName")
                                .or_else(|| text_at(part, "/name"))
                                .unwrap_or("tool");
                            let args = part
                                .get("args")
                                .or_else(|| part.get("input"))
                                .unwrap_or(&Value::Null);
                            let args = match args {
                                Value::Null => String::new(),
                                Value::String(text) => text.clone(),
                                other => other.to_string(),
                            };
                            collect_paths(&args, paths);
                            tool_name.get_or_insert_with(|| name.to_owned());
                            blocks.push(tool_use_block(name, &args));
                        }
                        _ => {}
                    },
                }
            }
            Role::Assistant
        }
        Some("tool") => {
            for part in &parts {
                let name = text_at(part, "/toolName").unwrap_or("tool");
                let result = match part.get("result") {
                    Some(Value::String(text)) => text.clone(),
                    Some(Value::Null) | None => continue,
                    Some(other) => other.to_string(),
                };
                if !result.trim().is_empty() {
                    tool_name.get_or_insert_with(|| name.to_owned());
                    blocks.push(Block::with_tool(BlockKind::ToolResult, result, name));
                }
            }
            Role::ToolResult
        }
        // `system`: the agent's instructions, not the conversation.
        _ => return None,
    };
    if blocks.is_empty() {
        return None;
    }
    Some(Draft {
        id,
        role,
        blocks,
        time: MessageTime::Undated,
        model: None,
        tool_name,
        line: 0,
    })
}

/// The text of one user content part (a string, or a `text` part).
fn part_text(part: &Value) -> Option<&str> {
    match part {
        Value::String(text) => Some(text),
        _ if text_at(part, "/type") == Some("text") => part.get("text").and_then(Value::as_str),
        _ => None,
    }
}

/// The workspace: the first of the stated one and the directories of the tool paths whose MD5
/// names the chats folder; else the stated one.
fn workspace(
    store: &AgentStore,
    user_info: Option<String>,
    paths: &BTreeSet<String>,
) -> Option<(String, &'static str)> {
    if let Some(folder) = &store.chats_folder {
        let stated = user_info.iter().map(String::as_str);
        let directories = paths.iter().flat_map(|path| {
            path.char_indices()
                .filter(|(at, ch)| *at > 0 && (*ch == '/' || *ch == '\\'))
                .map(move |(at, _)| &path[..at])
                .chain([path.as_str()])
        });
        if let Some(found) = stated
            .chain(directories)
            .find(|candidate| chats_folder_matches(folder, candidate))
        {
            return Some((found.to_owned(), "chat_folder_hash"));
        }
    }
    user_info.map(|path| (path, "user_info"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn node_children_are_the_32_byte_entries_of_field_1() {
        let a = [0xaa_u8; 32];
        let b = [0xbb_u8; 32];
        let mut node = vec![0x0a, 32];
        node.extend(a);
        node.extend([0x12, 32]);
        node.extend([0xcc; 32]);
        node.extend([0x28, 0x96, 0x01]);
        node.extend([0x0a, 32]);
        node.extend(b);
        node.extend([0x0a, 3, 1, 2, 3]);
        assert_eq!(node_children(&node), ["aa".repeat(32), "bb".repeat(32)]);
        assert!(node_children(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_empty());
        assert!(node_children(&[0xff; 12]).is_empty());
        assert_eq!(hex_decode(b"7b7d"), Some(b"{}".to_vec()));
        assert_eq!(hex_decode(b"{}"), None);
    }

    #[test]
    fn messages_drop_the_system_prompt_and_context_and_keep_tool_results() {
        let (mut paths, mut info) = (BTreeSet::new(), None);
        let mut draft = |message: Value| message_draft("m".into(), &message, &mut paths, &mut info);
        assert_eq!(draft(json!({"role": "system", "content": "You are..."})), None);
        let context = json!({"role": "user", "content": "<user_info>The absolute path of the user's workspace is /w/app. The user's shell is zsh.</user_info>"});
        assert_eq!(draft(context), None);
        let prompt = draft(
            json!({"role": "user", "content": [{"type": "text", "text": "<user_query>\nhi\n</user_query>"}]}),
        )
        .unwrap();
        assert_eq!((prompt.role, prompt.blocks[0].text.as_str()), (Role::User, "hi"));
        let call = draft(
            json!({"role": "assistant", "id": "1", "content": [{"type": "text", "text": "Looking."},
            {"type": "tool-call", "toolName": "list_dir", "args": {"target_directory": "/w/app/src"}}]}),
        )
        .unwrap();
        assert_eq!(
            call.blocks[1].text,
            r#"list_dir({"target_directory":"/w/app/src"})"#
        );
        let result = draft(json!({"role": "tool", "content": [{"type": "tool-result", "toolName": "list_dir", "result": "a.rs"}]})).unwrap();
        assert_eq!(
            (result.role, result.tool_name.as_deref()),
            (Role::ToolResult, Some("list_dir"))
        );
        assert_eq!(info.as_deref(), Some("/w/app"));
        assert!(paths.contains("/w/app/src"));
    }
}
