//! Overlong JSON text reduced to a bounded size before decoding: structure is copied through and
//! every string (value or key) longer than a budget is cut at a valid point and closed.
//!
//! A 64 MB tool output would otherwise cost the decoder two full copies (its scratch buffer and
//! the owned `String`) although the planner stores at most `plan::MAX_CONTENT_BYTES` of it. The
//! budget is counted in decoded bytes and a cut string keeps at least the budget, so a string
//! the planner would cut is still seen as too long and cut and counted there. Cuts never split
//! an escape sequence (a `\uXXXX` surrogate pair included) or a UTF-8 character, so the reduced
//! text decodes whenever the original does, and every string in it is a prefix of the original.
//! (Invalid bytes or control characters in the part of a string that is dropped are dropped
//! with it: such a line decodes where the original would not.)
//!
//! The input is read in the reader's own chunks and searched with `memchr`, never byte by byte.
//! When the reduced text reaches its limit anyway (many long strings, or a line that is mostly
//! structure), reduction stops at a point where the rest of the input continues the reduced text
//! exactly, so the caller decodes the rest from the stream: nothing is lost.

use std::io::{self, BufRead};

use memchr::{memchr, memchr2, memchr3};

/// How far reduction goes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// A string is cut once this many decoded bytes of it were kept.
    pub string_budget: usize,
    /// Reduction stops once the reduced text is this long.
    pub reduced_text: usize,
}

/// Where the text being reduced ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Extent {
    /// At the next newline (which is consumed, not kept): one JSONL line.
    Line,
    /// At the end of the input: one JSON document, which may span lines.
    Input,
}

/// How reduction stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The newline ending the line was found and consumed.
    Newline,
    /// The input ended (for a line: before its newline).
    Eof,
    /// The reduced text reached its limit: the rest of the prefix from this offset, then the
    /// rest of the reader, continue it exactly and were not read.
    Full { prefix_rest: usize },
}

/// The reduced text and how much input it took.
#[derive(Debug)]
pub(crate) struct Reduced {
    pub text: Vec<u8>,
    /// Bytes consumed from the reader, not counting the newline that ended the line.
    pub consumed: u64,
    pub end: End,
}

/// Reduces `prefix` (text already read, holding no newline) followed by the rest of `reader`,
/// up to the end of the `extent`.
pub(crate) fn reduce<R: BufRead>(
    prefix: &[u8],
    reader: &mut R,
    extent: Extent,
    limits: Limits,
) -> io::Result<Reduced> {
    let mut scanner = Scanner::new(extent, limits);
    let mut reduced = Reduced {
        text: Vec::new(),
        consumed: 0,
        end: End::Eof,
    };
    let step = scanner.feed(prefix);
    if step.stop == Some(Stop::Full) {
        reduced.end = End::Full {
            prefix_rest: step.consumed,
        };
        reduced.text = scanner.out;
        return Ok(reduced);
    }
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if chunk.is_empty() {
            break;
        }
        let step = scanner.feed(chunk);
        reduced.consumed += step.consumed as u64;
        match step.stop {
            None => reader.consume(step.consumed),
            Some(Stop::Newline) => {
                reader.consume(step.consumed + 1);
                reduced.end = End::Newline;
                break;
            }
            Some(Stop::Full) => {
                reader.consume(step.consumed);
                reduced.end = End::Full {
                    prefix_rest: prefix.len(),
                };
                break;
            }
        }
    }
    reduced.text = scanner.out;
    Ok(reduced)
}

/// Where the scanner is in the JSON text.
#[derive(Clone, Copy, Debug)]
enum State {
    /// Outside any string.
    Structure,
    /// Inside a string that is being kept: `decoded` bytes of it so far.
    Text(Text),
    /// Inside an escape sequence of a kept string, after its backslash.
    Escape { text: Text, escape: Escape },
    /// Inside a string that was cut (its closing quote is already written): its bytes are dropped.
    Dropped { after_backslash: bool },
}

#[derive(Clone, Copy, Debug)]
struct Text {
    decoded: usize,
    /// The last unit was a `\uD800`-`\uDBFF` escape: the low half that follows belongs to it.
    after_high_surrogate: bool,
}

#[derive(Clone, Copy, Debug)]
enum Escape {
    /// The escape letter comes next.
    Letter,
    /// `digits` hex digits of a `\u` escape were read, making `code`.
    Unicode { digits: u8, code: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    /// A newline ends the line at `consumed`.
    Newline,
    /// The reduced text is full: input from `consumed` on was not taken.
    Full,
}

struct Step {
    consumed: usize,
    stop: Option<Stop>,
}

struct Scanner {
    state: State,
    out: Vec<u8>,
    extent: Extent,
    limits: Limits,
}

impl Scanner {
    fn new(extent: Extent, limits: Limits) -> Self {
        Scanner {
            state: State::Structure,
            out: Vec::new(),
            extent,
            limits,
        }
    }

    /// Takes input until it ends, the line ends, or the reduced text is full.
    fn feed(&mut self, input: &[u8]) -> Step {
        let mut at = 0;
        while at < input.len() {
            let room = self.limits.reduced_text.saturating_sub(self.out.len());
            if room == 0 && !matches!(self.state, State::Dropped { .. }) {
                return Step {
                    consumed: at,
                    stop: Some(Stop::Full),
                };
            }
            let rest = &input[at..];
            // Each step takes some of `rest` (at least one byte) and says how much, or `None`
            // when `rest` starts with the newline that ends the line.
            let taken = match self.state {
                State::Structure => self.structure(rest, room),
                State::Text(text) => self.text(rest, room, text),
                State::Escape { text, escape } => self.escape(rest[0], text, escape),
                State::Dropped { after_backslash } => self.dropped(rest, after_backslash),
            };
            match taken {
                Some(taken) => at += taken,
                None => {
                    return Step {
                        consumed: at,
                        stop: Some(Stop::Newline),
                    }
                }
            }
        }
        Step {
            consumed: at,
            stop: None,
        }
    }

    fn ends_line(&self, byte: u8) -> bool {
        byte == b'\n' && self.extent == Extent::Line
    }

    fn structure(&mut self, rest: &[u8], room: usize) -> Option<usize> {
        let window = &rest[..rest.len().min(room)];
        let found = match self.extent {
            Extent::Line => memchr2(b'"', b'\n', window),
            Extent::Input => memchr(b'"', window),
        };
        let Some(found) = found else {
            self.out.extend_from_slice(window);
            return Some(window.len());
        };
        self.out.extend_from_slice(&window[..found]);
        if self.ends_line(window[found]) {
            return (found > 0).then_some(found);
        }
        self.out.push(b'"');
        self.state = State::Text(Text {
            decoded: 0,
            after_high_surrogate: false,
        });
        Some(found + 1)
    }

    fn text(&mut self, rest: &[u8], room: usize, mut text: Text) -> Option<usize> {
        let budget = self.limits.string_budget;
        let first = rest[0];
        if text.decoded >= budget && self.may_cut_before(first, text) {
            self.out.push(b'"');
            self.state = State::Dropped {
                after_backslash: false,
            };
            return self.dropped(rest, false);
        }
        // Past the budget only the rest of the current character is taken, one byte at a time.
        let allowance = budget.saturating_sub(text.decoded).max(1);
        let window = &rest[..rest.len().min(room).min(allowance)];
        let found = match self.extent {
            Extent::Line => memchr3(b'"', b'\\', b'\n', window),
            Extent::Input => memchr2(b'"', b'\\', window),
        };
        let plain = found.unwrap_or(window.len());
        self.out.extend_from_slice(&window[..plain]);
        if plain > 0 {
            text.decoded += plain;
            text.after_high_surrogate = false;
        }
        self.state = State::Text(text);
        let Some(found) = found else {
            return Some(plain);
        };
        match window[found] {
            b'"' => {
                self.out.push(b'"');
                self.state = State::Structure;
            }
            b'\\' => {
                self.out.push(b'\\');
                self.state = State::Escape {
                    text,
                    escape: Escape::Letter,
                };
            }
            _ => return (found > 0).then_some(found),
        }
        Some(found + 1)
    }

    /// A kept string past its budget may be cut before `byte` unless that byte continues the
    /// current unit: a UTF-8 continuation byte, or the low half of a surrogate pair. A closing
    /// quote or a newline is simply taken as it comes.
    fn may_cut_before(&self, byte: u8, text: Text) -> bool {
        let continues_character = (0x80..0xC0).contains(&byte);
        let continues_pair = text.after_high_surrogate && byte == b'\\';
        !(continues_character || continues_pair || byte == b'"' || self.ends_line(byte))
    }

    fn escape(&mut self, byte: u8, mut text: Text, escape: Escape) -> Option<usize> {
        if self.ends_line(byte) {
            return None;
        }
        self.out.push(byte);
        let next = match escape {
            Escape::Letter if byte == b'u' => Escape::Unicode { digits: 0, code: 0 },
            Escape::Letter => {
                text.decoded += 1;
                text.after_high_surrogate = false;
                self.state = State::Text(text);
                return Some(1);
            }
            Escape::Unicode { digits, code } => {
                // A bad digit makes the text malformed for the decoder anyway; count it as 0.
                let code = code * 16 + char::from(byte).to_digit(16).unwrap_or(0);
                if digits < 3 {
                    Escape::Unicode {
                        digits: digits + 1,
                        code,
                    }
                } else {
                    text.decoded += escaped_utf8_len(code);
                    text.after_high_surrogate = (0xD800..0xDC00).contains(&code);
                    self.state = State::Text(text);
                    return Some(1);
                }
            }
        };
        self.state = State::Escape { text, escape: next };
        Some(1)
    }

    fn dropped(&mut self, rest: &[u8], after_backslash: bool) -> Option<usize> {
        if self.ends_line(rest[0]) {
            return None;
        }
        if after_backslash {
            self.state = State::Dropped {
                after_backslash: false,
            };
            return Some(1);
        }
        let found = match self.extent {
            Extent::Line => memchr3(b'"', b'\\', b'\n', rest),
            Extent::Input => memchr2(b'"', b'\\', rest),
        };
        let Some(found) = found else {
            return Some(rest.len());
        };
        match rest[found] {
            b'"' => self.state = State::Structure,
            b'\\' => {
                self.state = State::Dropped {
                    after_backslash: true,
                }
            }
            _ => return Some(found),
        }
        Some(found + 1)
    }
}

/// Decoded UTF-8 length of one `\uXXXX` escape; each half of a surrogate pair counts half of
/// the pair's four bytes.
fn escaped_utf8_len(code: u32) -> usize {
    match code {
        0..=0x7F => 1,
        0x80..=0x7FF => 2,
        0xD800..=0xDFFF => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::io::{BufReader, Read};

    fn limits(string_budget: usize, reduced_text: usize) -> Limits {
        Limits {
            string_budget,
            reduced_text,
        }
    }

    /// Reduces `input` read through a reader of `capacity` bytes, after a prefix of `split` bytes.
    fn reduce_split(input: &[u8], split: usize, capacity: usize, extent: Extent, limits: Limits) -> Reduced {
        let mut reader = BufReader::with_capacity(capacity, &input[split..]);
        reduce(&input[..split], &mut reader, extent, limits).unwrap()
    }

    fn reduce_line(input: &str, budget: usize) -> String {
        let reduced = reduce_split(input.as_bytes(), 0, 3, Extent::Line, limits(budget, 1 << 20));
        String::from_utf8(reduced.text).unwrap()
    }

    /// The only string in a reduced `{"s":"…"}` line.
    fn reduced_string(value: &str, budget: usize) -> String {
        let line = reduce_line(value, budget);
        let parsed: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|err| panic!("{line}: {err}"));
        parsed["s"].as_str().unwrap().to_owned()
    }

    #[test]
    fn short_strings_and_structure_are_copied_as_they_are() {
        let line = r#"{"a": [1, 2.5e3, true, null], "b": {"c": "d\n\"e\""}, "":"x"}"#;
        assert_eq!(reduce_line(line, 8), line);
    }

    #[test]
    fn a_long_string_is_cut_just_past_its_budget_and_closed() {
        assert_eq!(reduced_string(r#"{"s":"abcdefghij","t":1}"#, 4), "abcd");
        let line = reduce_line(r#"{"s":"abcdefghij","t":1}"#, 4);
        assert_eq!(line, r#"{"s":"abcd","t":1}"#);
    }

    #[test]
    fn a_string_exactly_at_its_budget_is_not_cut() {
        assert_eq!(reduce_line(r#"{"s":"abcd"}"#, 4), r#"{"s":"abcd"}"#);
    }

    #[test]
    fn cuts_never_split_an_escape() {
        // The budget is reached inside `\n`, `\"`, `\\` and `\u00e9`: each is kept whole.
        assert_eq!(reduced_string(r#"{"s":"ab\ncdef"}"#, 3), "ab\n");
        assert_eq!(reduced_string(r#"{"s":"ab\"cdef"}"#, 3), "ab\"");
        assert_eq!(reduced_string(r#"{"s":"ab\\cdef"}"#, 3), "ab\\");
        assert_eq!(reduced_string(r#"{"s":"ab\u00e9cdef"}"#, 3), "abé");
        // A cut right after an escape leaves no dangling backslash.
        assert_eq!(reduce_line(r#"{"s":"a\\\\bcd"}"#, 2), r#"{"s":"a\\"}"#);
    }

    #[test]
    fn escapes_count_their_decoded_bytes() {
        // Six bytes of `\u00e9` are two decoded bytes: the budget of 4 keeps two of them.
        assert_eq!(reduced_string(r#"{"s":"\u00e9\u00e9\u00e9"}"#, 4), "éé");
        assert_eq!(reduced_string(r#"{"s":"\n\n\n\n\n\n"}"#, 2), "\n\n");
    }

    #[test]
    fn cuts_never_split_a_surrogate_pair() {
        let emoji = r#"{"s":"a\ud83d\ude00\ud83d\ude00"}"#;
        assert_eq!(reduced_string(emoji, 2), "a😀");
        assert_eq!(reduced_string(emoji, 3), "a😀");
        assert_eq!(reduced_string(emoji, 5), "a😀");
        assert_eq!(reduced_string(emoji, 6), "a😀😀");
    }

    #[test]
    fn cuts_never_split_a_utf8_character() {
        let line = r#"{"s":"aé😀b"}"#;
        assert_eq!(reduced_string(line, 2), "aé");
        assert_eq!(reduced_string(line, 4), "aé😀");
        assert_eq!(reduced_string(line, 7), "aé😀");
        assert_eq!(reduced_string(line, 8), "aé😀b");
    }

    #[test]
    fn long_keys_are_cut_too() {
        assert_eq!(
            reduce_line(r#"{"abcdef":"abcdef","x":1}"#, 3),
            r#"{"abc":"abc","x":1}"#
        );
    }

    #[test]
    fn nested_structures_keep_their_shape() {
        let line = r#"[{"a":["xxxxxx",{"b":"yyyyyy\"zz"}]},"wwwwww",[[["vvvvvv"]]]]"#;
        assert_eq!(
            reduce_line(line, 2),
            r#"[{"a":["xx",{"b":"yy"}]},"ww",[[["vv"]]]]"#
        );
    }

    #[test]
    fn a_dropped_rest_may_hold_escaped_quotes_and_backslashes() {
        assert_eq!(reduce_line(r#"["ab\"cd\\","e"]"#, 1), r#"["a","e"]"#);
        assert_eq!(reduce_line(r#"["ab\\\"\\","e"]"#, 1), r#"["a","e"]"#);
    }

    #[test]
    fn a_line_ends_at_its_newline_and_counts_what_it_read() {
        let input = "[\"abcdef\"]\r\n[\"next\"]\n";
        let mut reader = BufReader::with_capacity(2, &input.as_bytes()[3..]);
        let reduced = reduce(&input.as_bytes()[..3], &mut reader, Extent::Line, limits(2, 64)).unwrap();
        assert_eq!(reduced.text, b"[\"ab\"]\r");
        assert_eq!(reduced.end, End::Newline);
        // `bcdef"]\r` came from the reader; the newline was consumed but not counted.
        assert_eq!(reduced.consumed, 8);
        let mut next = String::new();
        reader.read_line(&mut next).unwrap();
        assert_eq!(next, "[\"next\"]\n");
    }

    #[test]
    fn a_torn_line_ends_at_eof_inside_a_kept_or_a_dropped_string() {
        for input in [r#"{"s":"ab"#, r#"{"s":"abcdefgh"#, r#"{"s":"abcdefgh\"#] {
            let reduced = reduce_split(input.as_bytes(), 2, 2, Extent::Line, limits(4, 64));
            assert_eq!(reduced.end, End::Eof, "{input}");
            assert_eq!(reduced.consumed, input.len() as u64 - 2);
        }
    }

    #[test]
    fn a_newline_ends_a_line_even_inside_a_string_or_an_escape() {
        for input in ["[\"ab\ncd\"]", "[\"abcdef\ng\"]", "[\"ab\\\ncd\"]"] {
            let reduced = reduce_split(input.as_bytes(), 0, 1, Extent::Line, limits(4, 64));
            assert_eq!(reduced.end, End::Newline, "{input:?}");
            let newline = input.find('\n').unwrap();
            assert_eq!(reduced.consumed, newline as u64);
        }
    }

    #[test]
    fn a_document_spans_lines() {
        let input = "{\n  \"s\": \"abcdef\",\n  \"t\": [\n    1\n  ]\n}\n";
        let reduced = reduce_split(input.as_bytes(), 0, 4, Extent::Input, limits(3, 1024));
        assert_eq!(reduced.end, End::Eof);
        assert_eq!(reduced.consumed, input.len() as u64);
        assert_eq!(
            reduced.text,
            "{\n  \"s\": \"abc\",\n  \"t\": [\n    1\n  ]\n}\n".as_bytes()
        );
    }

    #[test]
    fn a_full_reduction_stops_where_the_rest_continues_it() {
        // Mostly structure: the reduced text fills up, and text plus unread rest is the input.
        let input = format!("[{}\"abcdefgh\"]", "1,".repeat(40));
        for split in [0, 10, input.len()] {
            for capacity in [1, 7, 64] {
                let mut reader = BufReader::with_capacity(capacity, &input.as_bytes()[split..]);
                let reduced = reduce(
                    &input.as_bytes()[..split],
                    &mut reader,
                    Extent::Line,
                    limits(64, 16),
                )
                .unwrap();
                let End::Full { prefix_rest } = reduced.end else {
                    panic!("not full: {:?}", reduced.end);
                };
                assert_eq!(reduced.text.len(), 16);
                let mut whole = reduced.text.clone();
                whole.extend_from_slice(&input.as_bytes()[..split][prefix_rest..]);
                reader.read_to_end(&mut whole).unwrap();
                assert_eq!(whole, input.as_bytes(), "split {split}, capacity {capacity}");
            }
        }
    }

    #[test]
    fn a_full_reduction_keeps_earlier_cuts() {
        let input = r#"["abcdefgh","abcdefgh",1,2,3,4,5,6,7,8,9]"#;
        let reduced = reduce_split(input.as_bytes(), 0, 4, Extent::Line, limits(2, 16));
        let End::Full { .. } = reduced.end else {
            panic!("not full: {:?}", reduced.end);
        };
        assert!(reduced.text.starts_with(br#"["ab","ab",1,2,3"#));
    }

    /// A JSON value as the decoder saw it, with object members in order (duplicates kept: cut
    /// keys may collide).
    #[derive(Clone, Debug, PartialEq)]
    enum Tree {
        Scalar(String),
        Text(String),
        List(Vec<Tree>),
        Object(Vec<(String, Tree)>),
    }

    impl<'de> Deserialize<'de> for Tree {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(TreeVisitor)
        }
    }

    struct TreeVisitor;

    impl<'de> Visitor<'de> for TreeVisitor {
        type Value = Tree;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Tree, E> {
            Ok(Tree::Scalar(v.to_string()))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Tree, E> {
            Ok(Tree::Scalar(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Tree, E> {
            Ok(Tree::Scalar(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Tree, E> {
            Ok(Tree::Scalar(v.to_string()))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Tree, E> {
            Ok(Tree::Scalar("null".to_owned()))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Tree, E> {
            Ok(Tree::Text(v.to_owned()))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(Tree::List(items))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
            let mut members = Vec::new();
            while let Some(member) = map.next_entry()? {
                members.push(member);
            }
            Ok(Tree::Object(members))
        }
    }

    /// A string as JSON text, each character written as it is or escaped (`\uXXXX`, as a
    /// surrogate pair beyond the BMP, or a short escape where one exists).
    fn encode_string(chars: &[(char, bool)]) -> String {
        let mut out = String::from("\"");
        for &(c, escape) in chars {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' if escape => out.push_str("\\n"),
                c if escape || (c as u32) < 0x20 => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    fn string_chars() -> impl Strategy<Value = Vec<(char, bool)>> {
        let character = prop_oneof![
            Just('a'),
            Just('"'),
            Just('\\'),
            Just('\n'),
            Just('\u{1}'),
            Just('é'),
            Just('€'),
            Just('😀'),
            any::<char>(),
        ];
        proptest::collection::vec((character, any::<bool>()), 0..12)
    }

    /// A random JSON value as text, with every whitespace choice the decoder accepts.
    fn json_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            any::<i32>().prop_map(|n| n.to_string()),
            Just("-1.5e-3".to_owned()),
            string_chars().prop_map(|chars| encode_string(&chars)),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6)
                    .prop_map(|items| format!("[{}]", items.join(", "))),
                proptest::collection::vec((string_chars(), inner), 0..6).prop_map(|members| {
                    let members: Vec<String> = members
                        .iter()
                        .map(|(key, value)| format!("{} :{value}", encode_string(key)))
                        .collect();
                    format!("{{ {} }}", members.join(","))
                }),
            ]
        })
    }

    /// `reduced` is `original` with every string over `budget` bytes cut to a prefix of at least
    /// `budget` bytes.
    fn assert_reduced(original: &Tree, reduced: &Tree, budget: usize) {
        let assert_text = |original: &str, reduced: &str| {
            assert!(
                original.starts_with(reduced),
                "{reduced:?} is not a prefix of {original:?}"
            );
            if original.len() <= budget {
                assert_eq!(reduced, original);
            } else {
                assert!(reduced.len() >= budget, "{reduced:?} is shorter than {budget}");
            }
        };
        match (original, reduced) {
            (Tree::Text(original), Tree::Text(reduced)) => assert_text(original, reduced),
            (Tree::List(original), Tree::List(reduced)) => {
                assert_eq!(original.len(), reduced.len());
                for (original, reduced) in original.iter().zip(reduced) {
                    assert_reduced(original, reduced, budget);
                }
            }
            (Tree::Object(original), Tree::Object(reduced)) => {
                assert_eq!(original.len(), reduced.len());
                for ((original_key, original), (reduced_key, reduced)) in original.iter().zip(reduced) {
                    assert_text(original_key, reduced_key);
                    assert_reduced(original, reduced, budget);
                }
            }
            (original, reduced) => assert_eq!(original, reduced),
        }
    }

    proptest! {
        #[test]
        fn reduced_text_decodes_to_the_original_with_long_strings_cut(
            text in json_text(),
            budget in 0usize..16,
            split in any::<prop::sample::Index>(),
            capacity in 1usize..16,
        ) {
            let original: Tree = serde_json::from_str(&text).unwrap();
            let line = format!("{text}\n");
            let split = split.index(text.len() + 1).min(text.len());
            let reduced = reduce_split(line.as_bytes(), split, capacity, Extent::Line, limits(budget, 1 << 20));
            prop_assert_eq!(reduced.end, End::Newline);
            prop_assert_eq!(reduced.consumed, (text.len() - split) as u64);
            let decoded: Tree = serde_json::from_slice(&reduced.text)
                .unwrap_or_else(|err| panic!("{}: {err}", String::from_utf8_lossy(&reduced.text)));
            assert_reduced(&original, &decoded, budget);
        }

        #[test]
        fn a_full_reduction_plus_its_unread_rest_decodes_like_a_whole_one(
            text in json_text(),
            budget in 0usize..16,
            reduced_text in 1usize..64,
            capacity in 1usize..16,
        ) {
            let mut reader = BufReader::with_capacity(capacity, text.as_bytes());
            let limits = limits(budget, reduced_text);
            let reduced = reduce(&[], &mut reader, Extent::Input, limits).unwrap();
            let mut whole = reduced.text.clone();
            if let End::Full { .. } = reduced.end {
                reader.read_to_end(&mut whole).unwrap();
            }
            let unlimited = reduce_split(text.as_bytes(), 0, capacity, Extent::Input, self::limits(budget, usize::MAX));
            let decoded: Tree = serde_json::from_slice(&whole).unwrap();
            let original: Tree = serde_json::from_str(&text).unwrap();
            // Strings after the stop are whole: the result lies between the original and the
            // fully reduced value.
            assert_reduced(&original, &decoded, budget);
            let fully_reduced: Tree = serde_json::from_slice(&unlimited.text).unwrap();
            assert_reduced(&decoded, &fully_reduced, budget);
        }
    }
}
