//! The shape of one Copilot CLI event line (`{type, data, id, timestamp, parentId}`), read
//! leniently: `data` is one struct holding the fields of every event type memtree reads, each
//! absent unless present with its expected type. Only broken JSON, or a line that is not a JSON
//! object, is malformed; a field of an unexpected type never makes a whole line malformed
//! (Copilot CLI is closed source and its events change from release to release).
//!
//! Strings are borrowed from the line unless they have escapes; tool arguments stay raw JSON.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::source::jsonl::LineRecord;
use crate::source::visit::{flag, maybe_text, text_to, Object, Objects};

/// What [`read_records`](crate::source::jsonl::read_records) decodes an event line into.
pub(super) struct EventLine;

impl LineRecord for EventLine {
    type Of<'line> = Event<'line>;
}

/// A whole line: a JSON object. Anything else is malformed (a struct would otherwise also decode
/// from an array, its fields by position).
pub(super) struct Event<'a>(pub Fields<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for Event<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EventVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for EventVisitor<'a> {
            type Value = Event<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Event<'a>, A::Error> {
                Fields::deserialize(MapAccessDeserializer::new(map)).map(Event)
            }
        }
        deserializer.deserialize_map(EventVisitor(PhantomData))
    }
}

/// The envelope every event has.
#[derive(Default, Deserialize)]
pub(super) struct Fields<'a> {
    #[serde(default, rename = "type", borrow, deserialize_with = "maybe_text")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub timestamp: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub data: Object<Data<'a>>,
}

/// `data`, of every event type read.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Data<'a> {
    // session.start
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub session_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub copilot_version: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub start_time: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub context: Object<Context<'a>>,

    // session.model_change
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub new_model: Option<Cow<'a, str>>,

    // user.message, assistant.message
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub content: Option<Cow<'a, str>>,
    /// The prompt as sent: `content` wrapped in injected context.
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub transformed_content: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub model: Option<Cow<'a, str>>,
    /// The model's reasoning summary.
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub reasoning_text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub tool_requests: Objects<ToolRequest<'a>>,

    // tool.execution_start, tool.execution_complete
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub tool_call_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub tool_name: Option<Cow<'a, str>>,
    #[serde(default)]
    pub arguments: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "flag")]
    pub success: Option<bool>,
    #[serde(default, borrow)]
    pub result: Object<ToolOutput<'a>>,
    /// A failed call's `{message, code}` (or, leniently, a string).
    #[serde(default)]
    pub error: Option<Box<RawValue>>,
}

/// `session.start`'s `context` (2026 releases): where the session ran.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Context<'a> {
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub cwd: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub branch: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub head_commit: Option<Cow<'a, str>>,
    /// `owner/name` on `repositoryHost`.
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub repository: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub repository_host: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub host_type: Option<Cow<'a, str>>,
}

/// One entry of an answer's `toolRequests`.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ToolRequest<'a> {
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub tool_call_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub name: Option<Cow<'a, str>>,
    #[serde(default)]
    pub arguments: Option<Box<RawValue>>,
}

/// `tool.execution_complete`'s `result`: `content` is what the model was given (`detailedContent`
/// repeats it as a diff for the interface).
#[derive(Default, Deserialize)]
pub(super) struct ToolOutput<'a> {
    #[serde(default, borrow)]
    pub content: Option<Content<'a>>,
}

/// A tool output: text (borrowed from the line unless it has escapes), or any other JSON value.
pub(super) enum Content<'a> {
    Text(Cow<'a, str>),
    Json(Value),
}

impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ContentVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for ContentVisitor<'a> {
            type Value = Content<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            text_to!(|text| Content::Text(text));
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Content<'a>, E> {
                Ok(Content::Json(Value::Bool(value)))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Content<'a>, E> {
                Ok(Content::Json(Value::from(value)))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Content<'a>, E> {
                Ok(Content::Json(Value::from(value)))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Content<'a>, E> {
                Ok(Content::Json(Value::from(value)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Content<'a>, E> {
                Ok(Content::Json(Value::Null))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Content<'a>, A::Error> {
                Value::deserialize(SeqAccessDeserializer::new(seq)).map(Content::Json)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Content<'a>, A::Error> {
                Value::deserialize(MapAccessDeserializer::new(map)).map(Content::Json)
            }
        }
        deserializer.deserialize_any(ContentVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> serde_json::Result<Event<'_>> {
        serde_json::from_str(json)
    }

    #[test]
    fn fields_of_another_type_count_as_absent() {
        let line = r#"{"type":"assistant.message","id":7,"timestamp":["t"],"data":{"content":{"a":1},
            "model":"m","toolRequests":[{"toolCallId":"c","name":5,"arguments":{"x":[1]}},7,"s"],
            "success":"yes","result":[1],"reasoningText":null}}"#;
        let Event(fields) = event(line).unwrap();
        assert_eq!(fields.kind.as_deref(), Some("assistant.message"));
        assert!(fields.id.is_none() && fields.timestamp.is_none());
        let data = fields.data.0.unwrap();
        assert!(data.content.is_none() && data.reasoning_text.is_none());
        assert_eq!(data.model.as_deref(), Some("m"));
        assert_eq!(data.tool_requests.0.len(), 1);
        assert!(data.tool_requests.0[0].name.is_none());
        assert_eq!(
            data.tool_requests.0[0].arguments.as_deref().map(RawValue::get),
            Some(r#"{"x":[1]}"#)
        );
        assert!(data.success.is_none() && data.result.0.is_none());
        let Event(fields) = event(r#"{"type":"x","data":"text"}"#).unwrap();
        assert!(fields.data.0.is_none());
    }

    #[test]
    fn only_an_object_is_an_event() {
        assert!(event(r#"["user.message"]"#).is_err());
        assert!(event(r#""user.message""#).is_err());
        assert!(event("7").is_err());
        assert!(event("{}").is_ok());
    }

    #[test]
    fn tool_output_is_text_or_raw_json() {
        let content = |json: &str| {
            let output: ToolOutput<'_> = serde_json::from_str(json).unwrap();
            match output.content {
                Some(Content::Text(text)) => format!("text {text}"),
                Some(Content::Json(value)) => format!("json {value}"),
                None => "none".to_owned(),
            }
        };
        assert_eq!(content(r#"{"content":"a\nb"}"#), "text a\nb");
        assert_eq!(
            content(r#"{"content":[{"type":"text","text":"t"}]}"#),
            r#"json [{"text":"t","type":"text"}]"#
        );
        assert_eq!(content(r#"{"detailedContent":"d"}"#), "none");
    }
}
