//! The shape of one Codex record, read leniently: every era's line (the bare meta line, bare
//! response items, `{"record_type":"state"}`, `{timestamp,type,payload}` wrappers) and every
//! response item or chat item of a 2025 `.json` document decode into the one [`Record`] type.
//!
//! Only the fields memtree uses are declared, so large fields it never reads
//! (`encrypted_content`, `base_instructions`, `compacted.replacement_history`) are skipped while
//! decoding. Fields whose type varies between versions are taken only when they have the expected
//! type, so a new shape of one field never makes the whole line malformed (formats.md section 0).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::source::json_string::string_literal_text;
use crate::source::jsonl::{LineRecord, LineText};
use crate::source::visit::{maybe_text, skip_to, text_to, MaybeText};

/// What [`read_records`](crate::source::jsonl::read_records) decodes a rollout line into: a
/// [`Record`] borrowing the line, boxed as it is decoded. A record declares every era's fields
/// (several hundred bytes): boxed, each line moves a pointer from the decoder to the session
/// builder rather than the record.
pub(super) struct RolloutLine;

impl LineRecord for RolloutLine {
    type Of<'line> = Box<Record<'line>>;
}

/// One line's fields, of every era, each absent unless present. Each field is `default` on its
/// own: `#[serde(default)]` on the struct built a whole default record for every one decoded.
#[derive(Debug, Deserialize)]
pub(super) struct Record<'a> {
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub timestamp: Option<Cow<'a, str>>,
    /// The wrapper kind (`session_meta`, `response_item`, ...) or, for a bare or wrapped item,
    /// the item kind (`message`, `function_call`, ...).
    #[serde(default, rename = "type", borrow, deserialize_with = "lenient_string")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub payload: Option<Box<Record<'a>>>,
    /// `{"record_type":"state"}` separator lines of the bare-line era.
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub record_type: Option<Cow<'a, str>>,
    /// 2026: the tool's own running number of the line.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub ordinal: Option<u64>,

    // Response items and events.
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub role: Option<Cow<'a, str>>,
    #[serde(default)]
    pub content: Option<PartTexts<'a>>,
    #[serde(default)]
    pub summary: Option<PartTexts<'a>>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub name: Option<Cow<'a, str>>,
    // Tool arguments and outputs, and prompts: usually strings, and most of a rollout's bytes.
    // Kept raw and read with `raw_text`.
    #[serde(default, borrow)]
    pub arguments: Option<&'a RawValue>,
    #[serde(default, borrow)]
    pub input: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub call_id: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub output: Option<&'a RawValue>,
    /// `event_msg/user_message.message`.
    #[serde(default, borrow)]
    pub message: Option<&'a RawValue>,
    #[serde(default)]
    pub action: Option<Value>,

    // Chat-style items of the 2025 `.json` documents.
    #[serde(default)]
    pub reasoning: Option<Value>,
    #[serde(default)]
    pub tool_calls: Option<Value>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub tool_call_id: Option<Cow<'a, str>>,

    // `session_meta` and `turn_context`.
    /// 2026: duplicates `id`.
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub session_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub cwd: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub originator: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub cli_version: Option<Cow<'a, str>>,
    /// A string (`cli`, `vscode`, `exec`) or an object such as `{"subagent":"review"}`.
    #[serde(default)]
    pub source: Option<Value>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub model_provider: Option<Cow<'a, str>>,
    #[serde(default)]
    pub git: Option<Value>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub forked_from_id: Option<Cow<'a, str>>,
    #[serde(default)]
    pub thread_source: Option<Value>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub agent_role: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub parent_thread_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "lenient_string")]
    pub model: Option<Cow<'a, str>>,
}

/// A string field, borrowed from the line unless it has escapes; any other JSON type, and the
/// empty string (bare-line items carry `"id":""`), count as absent. Other types are skipped
/// without building a value.
fn lenient_string<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'a, str>>, D::Error> {
    Ok(maybe_text(deserializer)?.filter(|text| !text.is_empty()))
}

/// An unsigned integer field; any other JSON value is skipped and counts as absent.
fn lenient_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    struct UnsignedVisitor;
    impl<'de> Visitor<'de> for UnsignedVisitor {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
            Ok(Some(value))
        }
        skip_to!(None;
            visit_unit(),
            visit_bool(bool),
            visit_i64(i64),
            visit_f64(f64),
            visit_str(&str),
            visit_seq(),
            visit_map()
        );
    }
    deserializer.deserialize_any(UnsignedVisitor)
}

/// An owned copy of a string field, for what outlives the line.
pub(super) fn owned(text: &Option<Cow<'_, str>>) -> Option<String> {
    text.as_deref().map(str::to_owned)
}

/// The texts of a `content` (or `summary`) value: a plain string, or the `text` of each part
/// (`input_text`, `output_text`, `summary_text`, `reasoning_text`, chat `text`) and each string
/// of a list; images and other parts without text are skipped, as is any other value. Decoded
/// straight from the line, borrowing the texts that have no escapes: no JSON value is built.
#[derive(Debug, Default, PartialEq)]
pub(super) struct PartTexts<'a>(pub Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for PartTexts<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextsVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextsVisitor<'a> {
            type Value = PartTexts<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            text_to!(|text| PartTexts(vec![text]));
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut texts = Vec::new();
                while let Some(part) = seq.next_element::<PartText<'a>>()? {
                    texts.extend(part.0);
                }
                Ok(PartTexts(texts))
            }
            skip_to!(PartTexts::default();
                visit_unit(),
                visit_bool(bool),
                visit_i64(i64),
                visit_u64(u64),
                visit_f64(f64),
                visit_map()
            );
        }
        deserializer.deserialize_any(TextsVisitor(PhantomData))
    }
}

/// One element of a part list: a string, or an object's `text` when that is a string (the last
/// `text` wins, as in a JSON value); anything else has no text.
struct PartText<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for PartText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PartVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for PartVisitor<'a> {
            type Value = PartText<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            text_to!(|text| PartText(Some(text)));
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut text = None;
                while let Some(key) = map.next_key::<LineText<'a>>()? {
                    if key.0 == "text" {
                        text = map.next_value::<MaybeText<'a>>()?.0;
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(PartText(text))
            }
            skip_to!(PartText(None);
                visit_unit(),
                visit_bool(bool),
                visit_i64(i64),
                visit_u64(u64),
                visit_f64(f64),
                visit_seq()
            );
        }
        deserializer.deserialize_any(PartVisitor(PhantomData))
    }
}

/// The texts of a part list or string, as `&str`s.
pub(super) fn part_texts<'t>(texts: Option<&'t PartTexts<'_>>) -> Vec<&'t str> {
    texts.map_or_else(Vec::new, |texts| texts.0.iter().map(AsRef::as_ref).collect())
}

/// A value that is usually a string but may be structured (tool arguments and outputs): the
/// string itself, the joined texts of a part list, or else compact JSON.
pub(super) fn value_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(array @ Value::Array(_)) => {
            // The rule of a part list decoded from a line; decoding a JSON value cannot fail.
            let texts = PartTexts::deserialize(array).unwrap_or_default();
            if texts.0.is_empty() {
                array.to_string()
            } else {
                texts.0.join("\n")
            }
        }
        Some(Value::Object(object)) => match object.get("content") {
            Some(Value::String(text)) => text.clone(),
            // Written as the object's JSON value would be; writing to a string cannot fail.
            _ => serde_json::to_string(object).unwrap_or_default(),
        },
        Some(other) => other.to_string(),
    }
}

/// [`value_text`] of a field kept raw. A string (a tool's output or arguments) is unescaped once
/// into its text, with no detour through serde_json's scratch buffer; a string that does not
/// decode (a lone surrogate) is kept as written rather than lost. Anything else is decoded and
/// rendered by [`value_text`].
pub(super) fn raw_text(raw: Option<&RawValue>) -> String {
    let Some(raw) = raw.map(|raw| raw.get().trim()) else {
        return String::new();
    };
    if raw.starts_with('"') {
        return string_literal_text(raw).unwrap_or_else(|| raw.to_owned());
    }
    value_text(serde_json::from_str::<Value>(raw).ok().as_ref())
}

/// A string member of a JSON object.
pub(super) fn str_field<'a>(value: Option<&'a Value>, key: &str) -> Option<&'a str> {
    value?.get(key)?.as_str().filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_an_unexpected_type_are_absent_not_errors() {
        let record: Record =
            serde_json::from_str(r#"{"type":7,"id":"","cwd":["x"],"ordinal":"3","model":"m"}"#).unwrap();
        assert_eq!(record.kind, None);
        assert_eq!(record.id, None);
        assert_eq!(record.cwd, None);
        assert_eq!(record.ordinal, None);
        assert_eq!(record.model.as_deref(), Some("m"));
        let record: Record = serde_json::from_str(
            r#"{"ordinal":5,"id":{"a":[1,{"b":null}]},"name":null,"role":-1.5,"call_id":"c"}"#,
        )
        .unwrap();
        assert_eq!(record.ordinal, Some(5));
        assert_eq!(record.id, None);
        assert_eq!(record.name, None);
        assert_eq!(record.role, None);
        assert_eq!(record.call_id.as_deref(), Some("c"));
        for ordinal in ["-1", "1.0", "true", "null", "[5]"] {
            let line = format!(r#"{{"ordinal":{ordinal}}}"#);
            assert_eq!(
                serde_json::from_str::<Record>(&line).unwrap().ordinal,
                None,
                "{ordinal}"
            );
        }
    }

    /// The texts of a content value by the rule on JSON values that memtree applied before
    /// decoding part lists itself.
    fn texts_of_value(value: &Value) -> Vec<&str> {
        match value {
            Value::String(text) => vec![text.as_str()],
            Value::Array(parts) => parts
                .iter()
                .filter_map(|part| match part {
                    Value::String(text) => Some(text.as_str()),
                    other => other.get("text").and_then(Value::as_str),
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn content_texts_come_from_strings_and_parts() {
        let cases = [
            r#"[{"type":"input_text","text":"a"},{"type":"input_image","image_url":"x"},"b"]"#,
            r#"[{"text":7},{"text":"x","text":"last"},{"text":"x","text":null},[1,"no"],null,3,""]"#,
            r#"[{"type":"output_text","text":"line\none \u00e9","annotations":[{"text":"not this"}]}]"#,
            r#""plain""#,
            r#"{"text":"an object is no list"}"#,
            "null",
            "true",
            "5",
            "[]",
        ];
        for case in cases {
            let decoded: PartTexts = serde_json::from_str(case).unwrap();
            let value: Value = serde_json::from_str(case).unwrap();
            assert_eq!(part_texts(Some(&decoded)), texts_of_value(&value), "{case}");
            assert_eq!(PartTexts::deserialize(&value).unwrap(), decoded, "{case}");
        }
        let decoded: PartTexts = serde_json::from_str(r#"["as is","esc\naped"]"#).unwrap();
        assert!(matches!(decoded.0[..], [Cow::Borrowed("as is"), Cow::Owned(_)]));
        assert!(part_texts(None).is_empty());
    }

    #[test]
    fn structured_outputs_render_as_text() {
        assert_eq!(value_text(Some(&serde_json::json!("plain"))), "plain");
        assert_eq!(
            value_text(Some(&serde_json::json!({"content":"c","success":true}))),
            "c"
        );
        assert_eq!(
            value_text(Some(&serde_json::json!([{"type":"input_text","text":"t"}]))),
            "t"
        );
        assert_eq!(value_text(Some(&serde_json::json!({"a":1}))), r#"{"a":1}"#);
        assert_eq!(value_text(None), "");
        let raw = |text: &str| RawValue::from_string(text.to_owned()).unwrap();
        assert_eq!(raw_text(Some(&raw(r#""line\nnext é""#))), "line\nnext é");
        assert_eq!(raw_text(Some(&raw(r#"{"b":1,"a":[2]}"#))), r#"{"a":[2],"b":1}"#);
        assert_eq!(raw_text(Some(&raw(r#"{"content":"c"}"#))), "c");
        assert_eq!(raw_text(Some(&raw(r#""lone \ud800""#))), r#""lone \ud800""#);
        assert_eq!(raw_text(Some(&raw("null"))), "");
        assert_eq!(raw_text(None), "");
    }
}
