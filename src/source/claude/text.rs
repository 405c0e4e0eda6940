//! The text of a Claude Code message's parts: tool calls with their input as compact JSON, tool
//! results, compact summaries, and the small text helpers (blank and empty text).

use std::borrow::Cow;

use crate::model::{Block, BlockKind};
use crate::source::json_string::string_literal_text;

use super::wire::{BlockType, Content, ToolResultPart};

pub(super) fn compact_summary_block(content: Content<'_>) -> Option<Block> {
    let text = match content {
        Content::Text(text) => text.into_owned(),
        Content::Blocks(blocks) => blocks
            .into_iter()
            .filter(|block| block.kind == BlockType::Text)
            .filter_map(|block| block.text)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    non_blank(text).map(|text| Block::new(BlockKind::System, text))
}

/// `tool_result.content`: a string as is, an array's `text` parts joined with `\n`, anything
/// else as compact JSON.
pub(super) fn tool_result_text(content: Option<&serde_json::value::RawValue>) -> String {
    let Some(raw) = content.map(|raw| raw.get()) else {
        return String::new();
    };
    match raw.trim_start().as_bytes().first() {
        Some(b'"') => string_literal_text(raw.trim()).unwrap_or_else(|| compact_json(raw)),
        Some(b'[') => match serde_json::from_str::<Vec<ToolResultPart>>(raw) {
            Ok(parts) => parts
                .into_iter()
                .filter_map(|part| match part.text {
                    Some(serde_json::Value::String(text)) => Some(text),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Err(_) => compact_json(raw),
        },
        Some(b'n') => String::new(),
        _ => compact_json(raw),
    }
}

/// A tool call as a block's text: `name(input)`, the input as [`compact_json`].
pub(super) fn tool_call_text(name: &str, input: &str) -> String {
    let mut out = Vec::with_capacity(name.len() + input.len() + 2);
    out.extend_from_slice(name.as_bytes());
    out.push(b'(');
    push_compact_json(&mut out, input);
    out.push(b')');
    utf8_text(out)
}

/// Removes insignificant whitespace from JSON text, keeping key order and escapes as written
/// (what `JSON.stringify` of the parsed value gives for Claude's own compact output).
fn compact_json(raw: &str) -> String {
    let mut out = Vec::with_capacity(raw.len());
    push_compact_json(&mut out, raw);
    utf8_text(out)
}

/// Appends [`compact_json`] of `raw` to `out`. Works on bytes: only ASCII bytes are removed, so
/// what it appends stays valid UTF-8.
fn push_compact_json(out: &mut Vec<u8>, raw: &str) {
    let bytes = raw.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                let start = at;
                at += 1;
                // Copy the string through its closing quote, jumping over escapes.
                loop {
                    match memchr::memchr2(b'"', b'\\', &bytes[at..]) {
                        Some(offset) if bytes[at + offset] == b'\\' => {
                            at = (at + offset + 2).min(bytes.len());
                        }
                        Some(offset) => {
                            at += offset + 1;
                            break;
                        }
                        None => {
                            at = bytes.len();
                            break;
                        }
                    }
                }
                out.extend_from_slice(&bytes[start..at]);
            }
            b' ' | b'\t' | b'\n' | b'\r' => at += 1,
            byte => {
                out.push(byte);
                at += 1;
            }
        }
    }
}

/// Text made of UTF-8 pieces (replaced where a piece was cut inside a character).
fn utf8_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

pub(super) fn non_blank(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

/// [`non_blank`] for text that is copied only when it is kept.
pub(super) fn non_blank_text(text: Cow<'_, str>) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.into_owned())
}

pub(super) fn non_empty(text: Option<&str>) -> Option<&str> {
    text.filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_json_keeps_order_and_string_whitespace() {
        assert_eq!(
            compact_json("{ \"b\": 1,\n \"a\": \"x y\\\" z\" }"),
            "{\"b\":1,\"a\":\"x y\\\" z\"}"
        );
        // A string ending in an escaped backslash, non-ASCII text, and an unterminated string.
        assert_eq!(compact_json("[ \"é \\\\\" , \"ü\" ]"), "[\"é \\\\\",\"ü\"]");
        assert_eq!(compact_json("\"open \\"), "\"open \\");
        assert_eq!(
            tool_call_text("Edit", "{ \"path\": \"a b\",\n  \"n\": [1, 2] }"),
            "Edit({\"path\":\"a b\",\"n\":[1,2]})"
        );
    }

    #[test]
    fn tool_result_content_shapes() {
        let raw = |text: &str| serde_json::value::RawValue::from_string(text.to_owned()).unwrap();
        assert_eq!(tool_result_text(Some(&raw("\"out\""))), "out");
        assert_eq!(
            tool_result_text(Some(&raw(
                r#"[{"type":"text","text":"a"},{"type":"image","source":{"data":"QUJD"}},{"type":"text","text":"b"}]"#
            ))),
            "a\nb"
        );
        assert_eq!(tool_result_text(Some(&raw(r#"{"ok": true}"#))), "{\"ok\":true}");
        assert_eq!(tool_result_text(Some(&raw("[1, 2]"))), "[1,2]");
        assert_eq!(tool_result_text(Some(&raw("null"))), "");
        assert_eq!(tool_result_text(None), "");
    }
}
