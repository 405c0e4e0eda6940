//! The shapes of Qwen Code's files, read leniently: a chat record (`ChatRecord` of
//! `chatRecordingService.ts`: an envelope, a Gemini `Content` message of `parts`, and a
//! `systemPayload`) and an entry of the older `logs.json` prompt log. Only the fields memtree
//! uses are declared; a field of an unexpected type counts as absent, so only broken JSON, or a
//! line that is not a JSON object, is malformed.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::source::jsonl::LineRecord;
use crate::source::visit::{flag, maybe_text, skip_to, Boxed, Object, Objects};

/// What [`read_records`](crate::source::jsonl::read_records) decodes a chat line into.
pub(super) struct ChatLine;

impl LineRecord for ChatLine {
    type Of<'line> = Record<'line>;
}

/// A whole line: see [`Boxed`].
pub(super) type Record<'a> = Boxed<Fields<'a>>;

/// One chat record's fields.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Fields<'a> {
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub uuid: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub session_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub timestamp: Option<Cow<'a, str>>,
    /// `user`, `assistant`, `tool_result` or `system`.
    #[serde(default, rename = "type", borrow, deserialize_with = "maybe_text")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub subtype: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub cwd: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub version: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub git_branch: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub model: Option<Cow<'a, str>>,
    /// A record a subagent produced: a sidechain off the session.
    #[serde(default, deserialize_with = "flag")]
    pub is_sidechain: Option<bool>,
    #[serde(default, borrow)]
    pub message: Object<Content<'a>>,
    #[serde(default, borrow)]
    pub system_payload: Object<Payload<'a>>,
    /// Set on every record `/branch` copied from another session.
    #[serde(default, borrow)]
    pub forked_from: Object<ForkedFrom<'a>>,
}

/// A Gemini `Content`: `{role, parts}`.
#[derive(Default, Deserialize)]
pub(super) struct Content<'a> {
    #[serde(default, borrow)]
    pub parts: Objects<Part<'a>>,
}

/// One part of a `Content`: text (a thought or not), a call, or a call's response.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Part<'a> {
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub text: Option<Cow<'a, str>>,
    /// The text is the model's reasoning, not its answer.
    #[serde(default, deserialize_with = "flag")]
    pub thought: Option<bool>,
    #[serde(default, borrow)]
    pub function_call: Object<FunctionCall<'a>>,
    #[serde(default, borrow)]
    pub function_response: Object<FunctionResponse<'a>>,
}

#[derive(Default, Deserialize)]
pub(super) struct FunctionCall<'a> {
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub name: Option<Cow<'a, str>>,
    /// Kept as written (compact, in the model's key order).
    #[serde(default)]
    pub args: Option<Box<RawValue>>,
}

#[derive(Default, Deserialize)]
pub(super) struct FunctionResponse<'a> {
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub name: Option<Cow<'a, str>>,
    #[serde(default)]
    pub response: Option<Value>,
}

/// The `systemPayload` fields memtree reads, of every kind of record.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Payload<'a> {
    /// A prompt's text as the user typed it (`user` records of newer releases).
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub display_text: Option<Cow<'a, str>>,
    /// `custom_title` records.
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub custom_title: Option<Cow<'a, str>>,
    /// `parent_session` records: the session that spawned this one.
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub parent_session_id: Option<Cow<'a, str>>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ForkedFrom<'a> {
    #[serde(default, borrow, deserialize_with = "maybe_text")]
    pub session_id: Option<Cow<'a, str>>,
}

/// One entry of a `logs.json` array. Qwen Code's own reader keeps an entry only when its
/// `sessionId`, `timestamp`, `type` and `message` are strings and its `messageId` a number.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LogEntry {
    #[serde(default, deserialize_with = "owned_text")]
    pub session_id: Option<String>,
    #[serde(default, deserialize_with = "number")]
    pub message_id: Option<u64>,
    #[serde(default, rename = "type", deserialize_with = "owned_text")]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "owned_text")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "owned_text")]
    pub timestamp: Option<String>,
}

/// A `logs.json` document: an array whose entries are [`LogEntry`]s (other elements skipped);
/// anything but an array is not a prompt log.
pub(super) struct LogEntries(pub Vec<LogEntry>);

impl<'de> Deserialize<'de> for LogEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = LogEntries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON array of log entries")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LogEntries, A::Error> {
                let mut entries = Vec::new();
                while let Some(Object(entry)) = seq.next_element::<Object<LogEntry>>()? {
                    entries.extend(entry);
                }
                Ok(LogEntries(entries))
            }
        }
        deserializer.deserialize_seq(EntriesVisitor)
    }
}

/// [`maybe_text`], owned.
fn owned_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(maybe_text(deserializer)?.map(Cow::into_owned))
}

/// An optional whole number; any other JSON value counts as absent.
fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    struct NumberVisitor;
    impl<'de> Visitor<'de> for NumberVisitor {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
            Ok(Some(value))
        }
        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
            Ok(u64::try_from(value).ok())
        }
        fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
            // A number with a fraction is no message id: counted from 0 up by one.
            Ok((value.fract() == 0.0 && (0.0..9.0e15).contains(&value)).then_some(value as u64))
        }
        skip_to!(None; visit_str(&str), visit_bool(bool), visit_unit(), visit_seq(), visit_map());
    }
    deserializer.deserialize_any(NumberVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_record_decodes() {
        let line = r#"{"uuid":"7c5a","parentUuid":"549d","sessionId":"67ed","timestamp":"2026-04-11T22:49:03.629Z","type":"assistant","cwd":"c:\\Users\\C","version":"0.14.3","gitBranch":"main","model":"coder-model","message":{"role":"model","parts":[{"text":"User sent a greeting.","thought":true},{"text":"Hello!"}]},"usageMetadata":{"promptTokenCount":32032},"contextWindowSize":1000000}"#;
        let Boxed(fields): Record = serde_json::from_str(line).unwrap();
        assert_eq!(fields.kind.as_deref(), Some("assistant"));
        assert_eq!(fields.cwd.as_deref(), Some("c:\\Users\\C"));
        let parts = &fields.message.0.as_ref().unwrap().parts.0;
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].thought, Some(true));
        assert_eq!(parts[1].text.as_deref(), Some("Hello!"));
    }

    #[test]
    fn fields_of_another_type_count_as_absent_and_only_objects_are_records() {
        let line = r#"{"uuid":7,"type":["user"],"isSidechain":"yes","message":"hi","systemPayload":[1],
            "forkedFrom":{"sessionId":{"a":1}},"cwd":null}"#;
        let Boxed(fields): Record = serde_json::from_str(line).unwrap();
        assert!(fields.uuid.is_none() && fields.kind.is_none() && fields.cwd.is_none());
        assert!(fields.is_sidechain.is_none() && fields.message.0.is_none());
        assert!(fields.system_payload.0.is_none());
        assert!(fields.forked_from.0.unwrap().session_id.is_none());
        let parts = r#"{"message":{"parts":[7,"x",{"text":5,"thought":"no","functionCall":[1]},{"functionResponse":{"response":"ok"}}]}}"#;
        let Boxed(fields): Record = serde_json::from_str(parts).unwrap();
        let parts = &fields.message.0.unwrap().parts.0;
        assert_eq!(parts.len(), 2);
        assert!(parts[0].text.is_none() && parts[0].thought.is_none() && parts[0].function_call.0.is_none());
        assert_eq!(
            parts[1].function_response.0.as_ref().unwrap().response,
            Some(Value::from("ok"))
        );
        for not_an_object in ["[]", "\"x\"", "7", "null"] {
            assert!(
                serde_json::from_str::<Record<'_>>(not_an_object).is_err(),
                "{not_an_object}"
            );
        }
    }

    #[test]
    fn log_entries_keep_their_typed_fields_and_skip_other_elements() {
        let text = r#"[{"sessionId":"s","messageId":0,"type":"user","message":"a","timestamp":"t"},
            7,"x",{"sessionId":1,"messageId":"2","message":["b"]},{"messageId":1.5},{"messageId":-1},{"messageId":3.0}]"#;
        let LogEntries(entries) = serde_json::from_str(text).unwrap();
        assert_eq!(entries.len(), 5);
        assert_eq!(entries[0].session_id.as_deref(), Some("s"));
        assert_eq!(entries[0].message_id, Some(0));
        assert!(entries[1].session_id.is_none() && entries[1].message_id.is_none());
        assert!(entries[1].message.is_none());
        assert_eq!(entries[2].message_id, None);
        assert_eq!(entries[3].message_id, None);
        assert_eq!(entries[4].message_id, Some(3));
        assert!(serde_json::from_str::<LogEntries>(r#"{"sessionId":"s"}"#).is_err());
    }
}
