//! Single-document `.json` sessions of 2025: `{"session":{timestamp,id,instructions},"items":[…]}`.
//!
//! Items are Responses-API items (`{"type":"message",…}`) or, as in the samples written by the
//! ocodex fork, chat-completion items (`{role, content, reasoning?, tool_calls?}` and
//! `{role:"tool", tool_call_id, content}`). Items carry no timestamps: every message takes the
//! session's start. The file is rewritten whole, so items keep their index as it grows.

use std::io::{self, BufRead};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::model::Diagnostic;
use crate::source::jsonl::{decode_document, malformed_document};

use super::record::{owned, part_texts, str_field, value_text, Record};
use super::session::{Call, Position, SessionBuilder};

/// Decoded owned, as raw JSON text: the session and each item are then read as a [`Record`]
/// borrowing its text, one at a time.
#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    session: Option<Box<RawValue>>,
    #[serde(default)]
    items: Vec<Box<RawValue>>,
}

/// Feeds a whole document to `builder` and returns the bytes read; a document that does not
/// decode, or an item that does not, is a diagnostic. Overlong strings are cut as in JSONL lines
/// (`jsonl::decode_document`), so a big document is not read into memory whole.
pub(super) fn observe_document(
    builder: &mut SessionBuilder,
    reader: impl BufRead,
    path: &Path,
    diagnostics: &mut Vec<Diagnostic>,
) -> io::Result<u64> {
    let read = decode_document::<Document>(reader)?;
    if read.invalid_utf8_replaced {
        diagnostics.push(Diagnostic::invalid_utf8(path, None));
    }
    let document = match read.decoded {
        Ok(document) => document,
        Err(err) => {
            diagnostics.push(malformed_document(
                path,
                format!("malformed session document: {err}"),
            ));
            return Ok(read.bytes);
        }
    };
    let session = match document.session.as_deref().map(record_of).transpose() {
        Ok(session) => session,
        Err(err) => {
            diagnostics.push(malformed_document(
                path,
                format!("malformed session document: {err}"),
            ));
            return Ok(read.bytes);
        }
    };
    let start = match &session {
        Some(session) => {
            let at = builder.observe_time(session.timestamp.as_deref());
            builder.observe_session_meta(session, at);
            at
        }
        None => None,
    };
    for (index, raw) in document.items.iter().enumerate() {
        match record_of(raw) {
            Ok(item) if item.kind.is_some() => builder.observe_item(&item, Position::Item(index), start),
            Ok(item) => observe_chat_item(builder, &item, raw, index, start),
            Err(err) => diagnostics.push(malformed_document(path, format!("malformed item {index}: {err}"))),
        }
    }
    Ok(read.bytes)
}

/// A session or an item of a document, borrowing its raw text; one that is not an object is
/// malformed (a struct would otherwise also decode from an array, its fields by position).
fn record_of(raw: &RawValue) -> serde_json::Result<Record<'_>> {
    let found = match raw.get().as_bytes().first() {
        Some(b'{') => return serde_json::from_str(raw.get()),
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        _ => "a number",
    };
    Err(serde::de::Error::custom(format_args!(
        "expected a JSON object, found {found}"
    )))
}

/// The `content` of a chat tool item, as a JSON value: a tool's output may be structured, and is
/// then stored as JSON text.
#[derive(Deserialize)]
struct ToolItem {
    #[serde(default)]
    content: Option<Value>,
}

/// A chat-completion item (`raw`, read as `item`): its reasoning, text and tool calls become
/// separate messages.
fn observe_chat_item(
    builder: &mut SessionBuilder,
    item: &Record,
    raw: &RawValue,
    index: usize,
    at: Option<DateTime<Utc>>,
) {
    let position = Position::Item(index);
    let base_id = owned(&item.id).unwrap_or_else(|| format!("item:{index}"));
    if item.role.as_deref() == Some("tool") {
        // The item decoded as a record, so it decodes as this smaller shape too.
        let content = serde_json::from_str::<ToolItem>(raw.get())
            .ok()
            .and_then(|tool| tool.content);
        let text = value_text(content.as_ref());
        builder.push_output(None, item.tool_call_id.as_deref(), text, position, at);
        return;
    }
    if let Some(reasoning) = item.reasoning.as_ref().and_then(Value::as_str) {
        builder.push_reasoning(reasoning, format!("{base_id}:reasoning"), position, at);
    }
    let texts = part_texts(item.content.as_ref());
    builder.observe_role_message(item.role.as_deref(), &texts, base_id.clone(), position, at);
    let Some(Value::Array(tool_calls)) = &item.tool_calls else {
        return;
    };
    for (call_index, tool_call) in tool_calls.iter().enumerate() {
        let function = tool_call.get("function");
        let tool_name = str_field(function, "name").unwrap_or("function").to_owned();
        let arguments = value_text(function.and_then(|function| function.get("arguments")));
        let call_id = str_field(Some(tool_call), "id");
        let native_id = if call_id.is_some() {
            None
        } else {
            Some(format!("{base_id}:call:{call_index}"))
        };
        let call = Call {
            native_id: native_id.as_deref(),
            call_id,
            text: format!("{tool_name}({arguments})"),
            tool_name,
        };
        builder.push_call(call, position, at);
    }
}
