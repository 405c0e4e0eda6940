//! Text of JSON that serde_json captured raw (`RawValue`): string literals decoded once, into
//! the final `String`, instead of through serde_json's scratch buffer and a copy; a tool call's
//! arguments written compact.

use serde_json::value::RawValue;

/// The text of a JSON string literal (quotes included) that serde_json already captured as a raw
/// value, or `None` where decoding it as a string fails (a lone surrogate). Tool outputs are most
/// of a transcript's text: finding their escapes with SIMD (`memchr`) and writing the text once
/// costs a fraction of decoding the literal with serde_json.
pub(crate) fn string_literal_text(literal: &str) -> Option<String> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    let bytes = inner.as_bytes();
    let mut text = String::with_capacity(inner.len());
    let mut at = 0;
    while let Some(offset) = memchr::memchr(b'\\', &bytes[at..]) {
        text.push_str(&inner[at..at + offset]);
        at += offset + 1;
        let escape = *bytes.get(at)?;
        at += 1;
        let unescaped = match escape {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = hex_unit(bytes.get(at..at + 4)?)?;
                at += 4;
                match unit {
                    0xD800..=0xDBFF => {
                        // A leading surrogate must be followed by an escaped trailing one.
                        if bytes.get(at..at + 2)? != b"\\u" {
                            return None;
                        }
                        let low = hex_unit(bytes.get(at + 2..at + 6)?)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        at += 6;
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?
                    }
                    0xDC00..=0xDFFF => return None,
                    unit => char::from_u32(unit)?,
                }
            }
            _ => return None,
        };
        text.push(unescaped);
    }
    text.push_str(&inner[at..]);
    Some(text)
}

/// The value of four hex digits.
fn hex_unit(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0, |unit, &digit| {
        Some(unit * 16 + char::from(digit).to_digit(16)?)
    })
}

/// `name(arguments)`, the arguments as compact JSON in the order the model gave them (an indented
/// document's whitespace goes); JSON `null` is no arguments.
pub(crate) fn call_text(name: &str, arguments: Option<&RawValue>) -> String {
    let arguments = arguments.map(RawValue::get).filter(|raw| *raw != "null");
    let mut text = String::with_capacity(name.len() + 2 + arguments.map_or(0, str::len));
    text.push_str(name);
    text.push('(');
    if let Some(arguments) = arguments {
        push_compact_json(&mut text, arguments);
    }
    text.push(')');
    text
}

/// Appends JSON text without the whitespace between its tokens; strings are copied as written.
fn push_compact_json(out: &mut String, json: &str) {
    let (mut in_string, mut escaped) = (false, false);
    for ch in json.chars() {
        if in_string {
            out.push(ch);
            match ch {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if ch == '"' {
            in_string = true;
            out.push(ch);
        } else if !ch.is_ascii_whitespace() {
            out.push(ch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_arguments_are_compact_json_in_their_own_order() {
        let raw = |json: &str| RawValue::from_string(json.to_owned()).unwrap();
        let indented =
            raw("{\n  \"path\": \"a b\",\n  \"text\": \"say \\\"hi\\\" \\\\\",\n  \"n\": [1, 2]\n}");
        assert_eq!(
            call_text("write", Some(&indented)),
            r#"write({"path":"a b","text":"say \"hi\" \\","n":[1,2]})"#
        );
        assert_eq!(call_text("list", Some(&raw("null"))), "list()");
        assert_eq!(call_text("list", None), "list()");
    }

    proptest::proptest! {
        /// Every string literal serde_json captures as a raw value decodes as serde_json decodes
        /// it, and fails where serde_json fails.
        #[test]
        fn string_literals_decode_as_serde_json_decodes_them(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "a", "plain text ", "é", "😀", "\\n", "\\t", "\\r", "\\b", "\\f", "\\/", "\\\\",
                "\\\"", "\\u0041", "\\u00e9", "\\u00E9", "\\u0000", "\\ud83d\\ude00", "\\uD83D\\uDE00",
                "\\ud800", "\\udc00", "\\udbff\\udfff", "\\ud800\\u0041", "\\ud800\\ud800", "\\ud800x",
                "\\uZZZZ", "\\u12", "\\x", "\\", "\u{1}", "\"",
            ]), 0..12)
        ) {
            let literal = format!("\"{}\"", pieces.concat());
            proptest::prop_assume!(serde_json::from_str::<Box<serde_json::value::RawValue>>(&literal).is_ok());
            proptest::prop_assert_eq!(
                string_literal_text(&literal),
                serde_json::from_str::<String>(&literal).ok()
            );
        }
    }
}
