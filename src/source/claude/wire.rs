//! The serde shapes of Claude Code transcript lines (formats.md §1.2–§1.4), kept private to the
//! parser. Unknown fields and record types are ignored; a field of the wrong type makes the line
//! malformed.
//!
//! Lines are decoded in one pass. The record type is not known while `message` is decoded (it
//! often follows `message` on assistant lines), so `message` is decoded whenever it is an object
//! and otherwise only noted, for the parser to judge by record type.

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// One line of a transcript.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Record {
    #[serde(rename = "type", default)]
    pub kind: RecordKind,
    pub uuid: Option<String>,
    pub session_id: Option<String>,
    pub timestamp: Option<String>,
    pub cwd: Option<String>,
    pub git_branch: Option<String>,
    pub version: Option<String>,
    pub is_sidechain: Option<bool>,
    pub is_meta: Option<bool>,
    pub is_compact_summary: Option<bool>,
    pub is_api_error_message: Option<bool>,
    pub prompt_id: Option<String>,
    /// `summary` records.
    pub summary: Option<String>,
    /// `ai-title` records.
    pub ai_title: Option<String>,
    /// `custom-title` records.
    pub custom_title: Option<String>,
    pub message: Option<MessageField>,
}

/// The `message` field: decoded when it is an object, anything else kept as a shape error.
pub(super) enum MessageField {
    Object(WireMessage),
    NotAnObject,
}

impl<'de> Deserialize<'de> for MessageField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = MessageField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MessageField, A::Error> {
                WireMessage::deserialize(MapAccessDeserializer::new(map)).map(MessageField::Object)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MessageField, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MessageField::NotAnObject)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<MessageField, E> {
                Ok(MessageField::NotAnObject)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<MessageField, E> {
                Ok(MessageField::NotAnObject)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<MessageField, E> {
                Ok(MessageField::NotAnObject)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<MessageField, E> {
                Ok(MessageField::NotAnObject)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<MessageField, E> {
                Ok(MessageField::NotAnObject)
            }
        }
        deserializer.deserialize_any(FieldVisitor)
    }
}

/// The record types the parser acts on; every other type only contributes envelope facts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum RecordKind {
    User,
    Assistant,
    Summary,
    AiTitle,
    CustomTitle,
    #[default]
    Other,
}

impl<'de> Deserialize<'de> for RecordKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KindVisitor;
        impl Visitor<'_> for KindVisitor {
            type Value = RecordKind;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a record type string")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<RecordKind, E> {
                Ok(match value {
                    "user" => RecordKind::User,
                    "assistant" => RecordKind::Assistant,
                    "summary" => RecordKind::Summary,
                    "ai-title" => RecordKind::AiTitle,
                    "custom-title" => RecordKind::CustomTitle,
                    _ => RecordKind::Other,
                })
            }
        }
        deserializer.deserialize_str(KindVisitor)
    }
}

/// The `message` object of a `user` / `assistant` line.
#[derive(Deserialize)]
pub(super) struct WireMessage {
    pub model: Option<String>,
    pub content: Option<Content>,
}

/// `message.content`: a typed prompt string, or an array of blocks.
pub(super) enum Content {
    Text(String),
    Blocks(Vec<ContentBlock>),
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor;
        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = Content;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of content blocks")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Content, E> {
                Ok(Content::Text(value.to_owned()))
            }
            fn visit_string<E: de::Error>(self, value: String) -> Result<Content, E> {
                Ok(Content::Text(value))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content, A::Error> {
                let mut blocks = Vec::new();
                while let Some(block) = seq.next_element()? {
                    blocks.push(block);
                }
                Ok(Content::Blocks(blocks))
            }
        }
        deserializer.deserialize_any(ContentVisitor)
    }
}

/// One content block. A flat struct rather than a tagged enum: unknown block types (images,
/// documents, server tools) decode without buffering and are ignored by kind.
#[derive(Deserialize)]
pub(super) struct ContentBlock {
    #[serde(rename = "type", default)]
    pub kind: BlockType,
    pub text: Option<String>,
    pub thinking: Option<String>,
    pub id: Option<String>,
    pub name: Option<String>,
    pub input: Option<Box<RawValue>>,
    pub tool_use_id: Option<String>,
    pub content: Option<Box<RawValue>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum BlockType {
    Text,
    Thinking,
    ToolUse,
    ToolResult,
    #[default]
    Other,
}

impl<'de> Deserialize<'de> for BlockType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BlockTypeVisitor;
        impl Visitor<'_> for BlockTypeVisitor {
            type Value = BlockType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a content block type string")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<BlockType, E> {
                Ok(match value {
                    "text" => BlockType::Text,
                    "thinking" => BlockType::Thinking,
                    "tool_use" => BlockType::ToolUse,
                    "tool_result" => BlockType::ToolResult,
                    _ => BlockType::Other,
                })
            }
        }
        deserializer.deserialize_str(BlockTypeVisitor)
    }
}

/// One element of an array `tool_result.content`; only `text` parts are kept (images and
/// `tool_reference` parts are skipped without being decoded).
#[derive(Deserialize)]
pub(super) struct ToolResultPart {
    pub text: Option<serde_json::Value>,
}

/// A subagent's `agent-<id>.meta.json` (formats.md §1.1).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AgentMeta {
    pub description: Option<String>,
    pub agent_type: Option<String>,
}
