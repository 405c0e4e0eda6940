//! The shapes of Qwen Code's chat records, read leniently (`ChatRecord` of
//! `chatRecordingService.ts`: an envelope, a Gemini `Content` message of `parts`, and a
//! `systemPayload`; the entries of the older `logs.json` prompt log are `source::prompt_log`'s).
//! Only the fields memtree uses are declared; a field of an unexpected type counts as absent, so only broken JSON, or a
//! line that is not a JSON object, is malformed.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::source::jsonl::LineRecord;
use crate::source::visit::{flag, maybe_text, Boxed, Object, Objects};

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
}
