//! The serde shapes of Claude Code transcript lines (formats.md §1.2–§1.4), kept private to the
//! parser. Unknown fields and record types are ignored; a field of the wrong type makes the line
//! malformed.
//!
//! Strings are borrowed from the line (`Cow`), so only those with escapes are copied while the
//! line is decoded; the parser copies what it keeps.
//!
//! Lines are decoded in one pass. The record type is not known while `message` is decoded (it
//! often follows `message` on assistant lines), so `message` is decoded whenever it is an object
//! and otherwise only noted, for the parser to judge by record type.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::source::jsonl::{LineRecord, LineText};
use crate::source::visit::{skip_to, text_to};

/// What [`read_records`](crate::source::jsonl::read_records) decodes a transcript line into: a [`Record`] borrowing the line.
pub(super) struct TranscriptLine;

impl LineRecord for TranscriptLine {
    type Of<'line> = Record<'line>;
}

/// One line of a transcript.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Record<'a> {
    #[serde(rename = "type", default)]
    pub kind: RecordKind,
    #[serde(borrow, default, deserialize_with = "text")]
    pub uuid: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub session_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub cwd: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub git_branch: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub version: Option<Cow<'a, str>>,
    pub is_sidechain: Option<bool>,
    pub is_meta: Option<bool>,
    pub is_compact_summary: Option<bool>,
    pub is_api_error_message: Option<bool>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub prompt_id: Option<Cow<'a, str>>,
    /// `summary` records.
    #[serde(borrow, default, deserialize_with = "text")]
    pub summary: Option<Cow<'a, str>>,
    /// `ai-title` records.
    #[serde(borrow, default, deserialize_with = "text")]
    pub ai_title: Option<Cow<'a, str>>,
    /// `custom-title` records.
    #[serde(borrow, default, deserialize_with = "text")]
    pub custom_title: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub message: Option<MessageField<'a>>,
}

/// An optional string, borrowed from the line unless it has escapes. (serde's own `Cow`
/// support borrows only a bare `Cow<str>` field, never one inside an `Option`.)
fn text<'de: 'a, 'a, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    Ok(Option::<LineText<'a>>::deserialize(deserializer)?.map(|text| text.0))
}

/// The `message` field: decoded when it is an object, anything else kept as a shape error.
pub(super) enum MessageField<'a> {
    Object(WireMessage<'a>),
    NotAnObject,
}

impl<'de: 'a, 'a> Deserialize<'de> for MessageField<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for FieldVisitor<'a> {
            type Value = MessageField<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MessageField<'a>, A::Error> {
                WireMessage::deserialize(MapAccessDeserializer::new(map)).map(MessageField::Object)
            }
            skip_to!(MessageField::NotAnObject;
                visit_seq(),
                visit_str(&str),
                visit_bool(bool),
                visit_i64(i64),
                visit_u64(u64),
                visit_f64(f64)
            );
        }
        deserializer.deserialize_any(FieldVisitor(PhantomData))
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
pub(super) struct WireMessage<'a> {
    #[serde(borrow, default, deserialize_with = "text")]
    pub model: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub content: Option<Content<'a>>,
}

/// `message.content`: a typed prompt string, or an array of blocks.
pub(super) enum Content<'a> {
    Text(Cow<'a, str>),
    Blocks(Vec<ContentBlock<'a>>),
}

impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ContentVisitor<'a> {
            type Value = Content<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of content blocks")
            }
            text_to!(|text| Content::Text(text));
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content<'a>, A::Error> {
                let mut blocks = Vec::new();
                while let Some(block) = seq.next_element()? {
                    blocks.push(block);
                }
                Ok(Content::Blocks(blocks))
            }
        }
        deserializer.deserialize_any(ContentVisitor(PhantomData))
    }
}

/// One content block. A flat struct rather than a tagged enum: unknown block types (images,
/// documents, server tools) decode without buffering and are ignored by kind.
/// `input` and `content` stay raw JSON text, borrowed from the line: the parser renders them
/// straight into the block's text.
#[derive(Deserialize)]
pub(super) struct ContentBlock<'a> {
    #[serde(rename = "type", default)]
    pub kind: BlockType,
    #[serde(borrow, default, deserialize_with = "text")]
    pub text: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub thinking: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub input: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub tool_use_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub content: Option<&'a RawValue>,
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
