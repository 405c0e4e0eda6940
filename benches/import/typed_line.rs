//! The typed parse of the parse ceiling: a minimal transcript line, read as a transcript reader
//! must (record type, ids, timestamp, message text and content blocks, for Codex the payload's
//! texts), with every string borrowed from the line unless it has escapes and everything else
//! skipped. One shape serves Claude and Codex lines: each leaves the other's fields absent.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use memtree::source::jsonl::LineText as Text;

/// One JSONL line of either tool.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Text<'a>>,
    #[serde(borrow, default)]
    uuid: Option<Text<'a>>,
    #[serde(borrow, default)]
    session_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    timestamp: Option<Text<'a>>,
    /// Claude: the message of a `user` / `assistant` line.
    #[serde(borrow, default)]
    message: Option<Message<'a>>,
    /// Codex: the item or event of a wrapped line.
    #[serde(borrow, default)]
    payload: Option<Payload<'a>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    role: Option<Text<'a>>,
    #[serde(borrow, default)]
    model: Option<Text<'a>>,
    #[serde(borrow, default)]
    content: Option<Body<'a>>,
}

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Text<'a>>,
    #[serde(borrow, default)]
    id: Option<Text<'a>>,
    #[serde(borrow, default)]
    role: Option<Text<'a>>,
    #[serde(borrow, default)]
    call_id: Option<Text<'a>>,
    #[serde(borrow, default)]
    name: Option<Text<'a>>,
    #[serde(borrow, default)]
    content: Option<Body<'a>>,
    #[serde(borrow, default)]
    summary: Option<Body<'a>>,
    #[serde(borrow, default)]
    arguments: Option<Body<'a>>,
    #[serde(borrow, default)]
    output: Option<Body<'a>>,
    /// `event_msg/user_message`.
    #[serde(borrow, default)]
    message: Option<Body<'a>>,
}

/// A content block (Claude) or content part (Codex). Tool inputs are skipped, not kept.
#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Text<'a>>,
    #[serde(borrow, default)]
    text: Option<Text<'a>>,
    #[serde(borrow, default)]
    thinking: Option<Text<'a>>,
    #[serde(borrow, default)]
    id: Option<Text<'a>>,
    #[serde(borrow, default)]
    name: Option<Text<'a>>,
    #[serde(borrow, default)]
    tool_use_id: Option<Text<'a>>,
    /// A tool result's output: a string or a list of parts.
    #[serde(borrow, default)]
    content: Option<Body<'a>>,
}

/// A text-bearing value: a string, a list of blocks, or something else (skipped).
enum Body<'a> {
    Text(Cow<'a, str>),
    Blocks(Vec<Block<'a>>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Body<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BodyVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for BodyVisitor<'a> {
            type Value = Body<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a text value")
            }
            fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Body<'a>, E> {
                Ok(Body::Text(Cow::Borrowed(value)))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Body<'a>, E> {
                Ok(Body::Text(Cow::Owned(value.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Body<'a>, A::Error> {
                let mut blocks = Vec::new();
                while let Some(block) = seq.next_element::<Option<Block<'a>>>()? {
                    blocks.extend(block);
                }
                Ok(Body::Blocks(blocks))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body<'a>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Body::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Body<'a>, E> {
                Ok(Body::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Body<'a>, E> {
                Ok(Body::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Body<'a>, E> {
                Ok(Body::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Body<'a>, E> {
                Ok(Body::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Body<'a>, E> {
                Ok(Body::Other)
            }
        }
        deserializer.deserialize_any(BodyVisitor(PhantomData))
    }
}

impl Line<'_> {
    /// The bytes of every string extracted: what a reader would go on to use, and a result the
    /// compiler cannot discard.
    pub fn text_bytes(&self) -> usize {
        let texts = [&self.kind, &self.uuid, &self.session_id, &self.timestamp];
        let mut sum = texts.into_iter().map(text_len).sum::<usize>();
        if let Some(message) = &self.message {
            sum += text_len(&message.role) + text_len(&message.model) + body_len(&message.content);
        }
        if let Some(payload) = &self.payload {
            let texts = [
                &payload.kind,
                &payload.id,
                &payload.role,
                &payload.call_id,
                &payload.name,
            ];
            sum += texts.into_iter().map(text_len).sum::<usize>();
            let bodies = [
                &payload.content,
                &payload.summary,
                &payload.arguments,
                &payload.output,
                &payload.message,
            ];
            sum += bodies.into_iter().map(body_len).sum::<usize>();
        }
        sum
    }
}

fn text_len(text: &Option<Text<'_>>) -> usize {
    text.as_ref().map_or(0, |text| text.0.len())
}

fn body_len(body: &Option<Body<'_>>) -> usize {
    match body {
        Some(Body::Text(text)) => text.len(),
        Some(Body::Blocks(blocks)) => blocks
            .iter()
            .map(|block| {
                [
                    &block.kind,
                    &block.text,
                    &block.thinking,
                    &block.id,
                    &block.name,
                    &block.tool_use_id,
                ]
                .into_iter()
                .map(text_len)
                .sum::<usize>()
                    + body_len(&block.content)
            })
            .sum(),
        Some(Body::Other) | None => 0,
    }
}
