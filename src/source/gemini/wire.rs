//! The shape of one Gemini CLI record, read leniently: every kind of `.jsonl` line (metadata,
//! message record, `{"$set":{…}}`, `{"$rewindTo":"<id>"}`), the `$set` payload and the legacy
//! `.json` document's messages all decode into the one [`Line`] type (formats.md 4.3, 4.4).
//!
//! Only the fields memtree uses are declared (`tokens`, `resultDisplay`, `memoryScratchpad` are
//! skipped while decoding). A field of an unexpected type counts as absent, so a new shape of
//! one field never makes a whole line malformed; only broken JSON does.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::source::jsonl::LineRecord;
use crate::source::visit::{maybe_text, skip_to, text_to, Boxed, MaybeText, Object};

/// What [`read_records`](crate::source::jsonl::read_records) decodes a `.jsonl` line into,
/// boxed: a line declares every kind's fields.
pub(super) struct LogLine;

impl LineRecord for LogLine {
    type Of<'line> = Record<'line>;
}

/// A whole line: see [`Boxed`].
pub(super) type Record<'a> = Boxed<Line<'a>>;

/// One line's fields, of every kind, each absent unless present with its expected type. The
/// `$set` payload and the messages of a `$set`, of a metadata line or of a `.json` document are
/// lines too.
#[derive(Default, Deserialize)]
pub(super) struct Line<'a> {
    #[serde(default, rename = "$rewindTo", borrow, deserialize_with = "maybe_text")]
    pub rewind_to: Option<Cow<'a, str>>,
    #[serde(default, rename = "$set", borrow)]
    pub set: Object<Box<Line<'a>>>,

    // Message records.
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub timestamp: Option<Cow<'a, str>>,
    /// `user`, `gemini`, `info`, `warning`, `error`.
    #[serde(default, rename = "type", borrow, deserialize_with = "maybe_text")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub content: Content<'a>,
    /// What the user typed, when it differs from what was sent (`@file` expansions).
    #[serde(default, rename = "displayContent", borrow)]
    pub display_content: Content<'a>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub model: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub thoughts: List<Thought<'a>>,
    #[serde(default, rename = "toolCalls", borrow)]
    pub tool_calls: List<ToolCall<'a>>,

    // Metadata (the first line, repeated lines, `$set` payloads, `.json` documents).
    #[serde(default, rename = "sessionId", borrow, deserialize_with = "maybe_text")]
    pub session_id: Option<Cow<'a, str>>,
    #[serde(default, rename = "projectHash", borrow, deserialize_with = "maybe_text")]
    pub project_hash: Option<Cow<'a, str>>,
    #[serde(default, rename = "startTime", borrow, deserialize_with = "maybe_text")]
    pub start_time: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub summary: Option<Cow<'a, str>>,
    /// `main` or `subagent`.
    #[serde(default, rename = "kind", borrow, deserialize_with = "maybe_text")]
    pub conversation_kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub directories: Texts<'a>,
    /// The whole message list: replaces it in a `$set`, extends it in a metadata line.
    #[serde(default, borrow)]
    pub messages: List<Line<'a>>,
}

/// What a line does to the replayed log, in the order Gemini CLI's own reader tells them apart
/// (`chatRecordingService.ts`, `loadConversationRecord`).
pub(super) enum LineKind<'l, 'a> {
    /// Drops the message with this id and every later one; all of them when it is unknown.
    Rewind(&'l str),
    /// A message record, created or updated.
    Message(&'l Line<'a>),
    /// A metadata update; with `Some` messages, they replace the whole list.
    Set(&'l Line<'a>, Option<&'l [Line<'a>]>),
    /// A metadata line; its messages, if any, are added to the list.
    Metadata(&'l Line<'a>),
    /// Anything else: not part of the log.
    Other,
}

impl<'a> Line<'a> {
    pub(super) fn kind(&self) -> LineKind<'_, 'a> {
        if let Some(target) = &self.rewind_to {
            LineKind::Rewind(target)
        } else if self.message_id().is_some() {
            LineKind::Message(self)
        } else if let Object(Some(set)) = &self.set {
            LineKind::Set(set, set.messages.0.as_deref())
        } else if self.session_id.is_some() && self.project_hash.is_some() {
            LineKind::Metadata(self)
        } else {
            LineKind::Other
        }
    }

    /// A message record's id: a non-empty string.
    pub(super) fn message_id(&self) -> Option<&str> {
        self.id.as_deref().filter(|id| !id.is_empty())
    }

    /// The message records this line carries, each with its position in the line: a message
    /// line is its own record at 0, a `$set` or metadata line its `messages` in order.
    pub(super) fn records(&self) -> impl Iterator<Item = (u32, &Line<'a>)> {
        let (own, listed): (Option<&Line<'a>>, &[Line<'a>]) = match self.kind() {
            LineKind::Message(record) => (Some(record), &[]),
            LineKind::Set(_, Some(messages)) => (None, messages),
            LineKind::Metadata(metadata) => (None, metadata.messages.0.as_deref().unwrap_or(&[])),
            _ => (None, &[]),
        };
        own.map(|record| (0, record)).into_iter().chain(with_ids(listed))
    }

    /// The message records of `messages`, each with its position, whatever kind of line holds
    /// them (a `.json` document).
    pub(super) fn listed_records(&self) -> impl Iterator<Item = (u32, &Line<'a>)> {
        with_ids(self.messages.items())
    }
}

/// The records of a list that have an id, each with its position in the list.
fn with_ids<'l, 'a>(listed: &'l [Line<'a>]) -> impl Iterator<Item = (u32, &'l Line<'a>)> {
    listed
        .iter()
        .enumerate()
        .filter(|(_, record)| record.message_id().is_some())
        .map(|(index, record)| (u32::try_from(index).unwrap_or(u32::MAX), record))
}

/// A `thoughts` entry of a `gemini` record.
#[derive(Deserialize)]
pub(super) struct Thought<'a> {
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub subject: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub description: Option<Cow<'a, str>>,
}

/// A `toolCalls` entry of a `gemini` record: the call, and its result once it ran.
#[derive(Deserialize)]
pub(super) struct ToolCall<'a> {
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub name: Option<Cow<'a, str>>,
    /// Kept as written (compact, in the model's key order).
    #[serde(default)]
    pub args: Option<Box<RawValue>>,
    #[serde(default, borrow)]
    pub result: Content<'a>,
    /// When the call completed.
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub timestamp: Option<Cow<'a, str>>,
}

/// A `PartListUnion` (`content`, `displayContent`, a call's `result`): a string, one part, or a
/// list of parts and strings, as its parts. Any other value holds none.
#[derive(Default)]
pub(super) struct Content<'a>(pub Vec<Part<'a>>);

/// One part of a [`Content`]: only text and function responses are read.
#[derive(Default, Deserialize)]
pub(super) struct Part<'a> {
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub text: Option<Cow<'a, str>>,
    /// The text is the model's reasoning, not its answer.
    #[serde(default, deserialize_with = "flag")]
    pub thought: bool,
    #[serde(default, rename = "functionResponse")]
    pub function_response: Object<FunctionResponse>,
}

/// A `functionResponse` part: what a tool returned to the model.
#[derive(Deserialize)]
pub(super) struct FunctionResponse {
    #[serde(default)]
    pub response: Option<Value>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ContentVisitor<'a> {
            type Value = Content<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            text_to!(|text| Content(vec![Part::of_text(text)]));
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content<'a>, A::Error> {
                let mut parts = Vec::new();
                while let Some(Listed(part)) = seq.next_element::<Listed<'a>>()? {
                    parts.extend(part);
                }
                Ok(Content(parts))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Content<'a>, A::Error> {
                Ok(Content(vec![Part::deserialize(MapAccessDeserializer::new(map))?]))
            }
            skip_to!(Content::default(); visit_unit(), visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64));
        }
        deserializer.deserialize_any(ContentVisitor(PhantomData))
    }
}

impl<'a> Part<'a> {
    fn of_text(text: Cow<'a, str>) -> Part<'a> {
        Part {
            text: Some(text),
            ..Part::default()
        }
    }
}

/// An element of a part list: a string or an object is a part, anything else none.
struct Listed<'a>(Option<Part<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Listed<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListedVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ListedVisitor<'a> {
            type Value = Listed<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            text_to!(|text| Listed(Some(Part::of_text(text))));
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Listed<'a>, A::Error> {
                Ok(Listed(Some(Part::deserialize(MapAccessDeserializer::new(map))?)))
            }
            skip_to!(Listed(None); visit_unit(), visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64), visit_seq());
        }
        deserializer.deserialize_any(ListedVisitor(PhantomData))
    }
}

/// An array's objects decoded as `T` (other elements skipped); `None` when the value is not an
/// array.
pub(super) struct List<T>(pub Option<Vec<T>>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(None)
    }
}

impl<T> List<T> {
    /// The elements, none when the value was not an array.
    pub(super) fn items(&self) -> &[T] {
        self.0.as_deref().unwrap_or(&[])
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(Object(item)) = seq.next_element::<Object<T>>()? {
                    items.extend(item);
                }
                Ok(List(Some(items)))
            }
            skip_to!(List(None); visit_unit(), visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64), visit_str(&str), visit_map());
        }
        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

/// An array's strings (other elements skipped); empty for any other value.
#[derive(Default)]
pub(super) struct Texts<'a>(pub Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Texts<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextsVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextsVisitor<'a> {
            type Value = Texts<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Texts<'a>, A::Error> {
                let mut texts = Vec::new();
                while let Some(MaybeText(text)) = seq.next_element::<MaybeText<'a>>()? {
                    texts.extend(text);
                }
                Ok(Texts(texts))
            }
            skip_to!(Texts::default(); visit_unit(), visit_bool(bool), visit_i64(i64), visit_u64(u64), visit_f64(f64), visit_str(&str), visit_map());
        }
        deserializer.deserialize_any(TextsVisitor(PhantomData))
    }
}

/// `true` only for the JSON value `true`.
fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    struct FlagVisitor;
    impl<'de> Visitor<'de> for FlagVisitor {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
            Ok(value)
        }
        skip_to!(false; visit_unit(), visit_i64(i64), visit_u64(u64), visit_f64(f64), visit_str(&str), visit_seq(), visit_map());
    }
    deserializer.deserialize_any(FlagVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(json: &str) -> Line<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn lines_are_told_apart_as_gemini_cli_tells_them() {
        assert!(matches!(
            line(r#"{"$rewindTo":"m1","id":"x"}"#).kind(),
            LineKind::Rewind("m1")
        ));
        assert!(matches!(
            line(r#"{"id":"m1","$set":{}}"#).kind(),
            LineKind::Message(_)
        ));
        assert!(matches!(
            line(r#"{"$set":{"summary":"s"}}"#).kind(),
            LineKind::Set(_, None)
        ));
        assert!(matches!(
            line(r#"{"$set":{"messages":[{"id":"a"},7,{"id":""}]}}"#).kind(),
            LineKind::Set(_, Some([_, _]))
        ));
        assert!(matches!(
            line(r#"{"sessionId":"s","projectHash":"h"}"#).kind(),
            LineKind::Metadata(_)
        ));
        // Gemini CLI needs both to take a line as metadata.
        assert!(matches!(line(r#"{"sessionId":"s"}"#).kind(), LineKind::Other));
        assert!(matches!(line(r#"{"id":"","$set":7}"#).kind(), LineKind::Other));
        let set = line(r#"{"$set":{"messages":[{"id":"a"},{"x":1},{"id":"b"}]}}"#);
        let records: Vec<_> = set
            .records()
            .map(|(index, record)| (index, record.message_id()))
            .collect();
        assert_eq!(records, [(0, Some("a")), (2, Some("b"))]);
    }

    #[test]
    fn fields_of_another_type_are_absent_and_content_takes_every_shape() {
        let record = line(
            r#"{"id":7,"timestamp":["x"],"model":{"a":1},"thoughts":"t","toolCalls":{"id":"c"},
                "content":[{"text":"a"},"b",7,{"text":"c","thought":true},{"functionResponse":{"name":"f","response":{"output":"o"}}}],
                "displayContent":{"text":"typed"},"directories":["/a",7,"/b"]}"#,
        );
        assert_eq!((record.id, record.timestamp, record.model), (None, None, None));
        assert!(record.thoughts.0.is_none() && record.tool_calls.0.is_none());
        let texts: Vec<_> = record
            .content
            .0
            .iter()
            .map(|part| (part.text.as_deref(), part.thought))
            .collect();
        assert_eq!(
            texts,
            [
                (Some("a"), false),
                (Some("b"), false),
                (Some("c"), true),
                (None, false)
            ]
        );
        assert!(record.content.0[3].function_response.0.is_some());
        assert_eq!(record.display_content.0[0].text.as_deref(), Some("typed"));
        assert_eq!(record.directories.0, ["/a", "/b"]);
        assert!(line(r#"{"content":null}"#).content.0.is_empty());
        assert!(line(r#"{"content":7}"#).content.0.is_empty());
    }

    #[test]
    fn broken_json_and_lines_that_are_no_object_are_errors() {
        assert!(serde_json::from_str::<Record>(r#"{"id":"a","content":[{"text":}]}"#).is_err());
        assert!(serde_json::from_str::<Record>(r#"["m1"]"#).is_err());
        assert!(serde_json::from_str::<Record>(r#""text""#).is_err());
        assert!(serde_json::from_str::<Record>(r#"{"content":[["nested"]]}"#)
            .unwrap()
            .0
            .content
            .0
            .is_empty());
    }
}
