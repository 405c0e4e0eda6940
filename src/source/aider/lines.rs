//! Aider's chat history line by line: reading lines in bounded memory, and telling what each
//! line is from its first bytes, its last two and the line before it.
//!
//! `aider/io.py` writes every line of the file through `append_chat_history`:
//!
//! - a launch opens with `\n# aider chat started at <local time>\n\n`;
//! - a prompt is `\n#### <line>  ` per input line (the two spaces are a Markdown line break);
//! - interface output is `> <text>  `, one line per message line, except that `tool_output` of a
//!   text of several lines prefixes only its first with `> ` and ends only its last with the two
//!   spaces (`/settings`, `/map`, a shell command's lines);
//! - an answer is `\n<text>\n\n`, Markdown as the model wrote it.
//!
//! So a prompt line needs a blank line or a prompt line before it and ends in two spaces (an
//! answer's `#### Heading` does not); an interface line is `> ` ending in two spaces, or `> `
//! right after another interface line or a prompt (an answer's quote follows a blank line or its
//! own text); a line right after an interface line is more of it (answers and prompts start after
//! an empty line; a line of spaces there is padding of output); and an interface line without the
//! two spaces goes on, blank lines included, until a line that has them.

use std::io::{self, BufRead};

use serde::{Deserialize, Serialize};

use crate::limits::STRING_BUDGET;

/// The kind of the last line read: what decides the next line's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) enum Prev {
    /// A blank line, or the start of the file.
    #[default]
    Blank,
    Header,
    User,
    Ui,
    /// Interface output whose last line is still to come.
    UiOpen,
    Assistant,
}

/// What one line is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Kind<'a> {
    /// A launch header, with the text after `started at`.
    Header(&'a str),
    User,
    /// Interface output; `Some` with the text after `> ` when the line opens a piece of it.
    Ui(Option<&'a str>),
    Blank,
    Assistant,
}

const HEADER: &str = "# aider chat started at";

/// What `line` (without its line end) is, after a line of kind `prev`; returns the kind the next
/// line sees.
pub(super) fn classify(line: &str, prev: Prev) -> (Kind<'_>, Prev) {
    let bytes = line.as_bytes();
    // Old versions capitalised it (`# Aider chat started at`).
    if bytes.len() >= HEADER.len() && bytes[..HEADER.len()].eq_ignore_ascii_case(HEADER.as_bytes()) {
        return (Kind::Header(line[HEADER.len()..].trim()), Prev::Header);
    }
    let line_break = line.ends_with("  ");
    let ui_next = if line_break { Prev::Ui } else { Prev::UiOpen };
    if prev == Prev::UiOpen {
        return (Kind::Ui(None), ui_next);
    }
    let after_output = matches!(prev, Prev::Ui | Prev::User);
    // The separators Aider writes are empty lines; spaces alone are padding of a shell
    // command's lines in interface output.
    if line.is_empty() || (line.trim().is_empty() && !after_output) {
        return (Kind::Blank, Prev::Blank);
    }
    let is_prompt_line = bytes.starts_with(b"####") && (bytes.len() == 4 || bytes[4] == b' ');
    if is_prompt_line && line_break && matches!(prev, Prev::Blank | Prev::Header | Prev::User) {
        return (Kind::User, Prev::User);
    }
    let quoted = bytes.starts_with(b">") && (bytes.len() == 1 || bytes[1] == b' ');
    if quoted && (line_break || after_output) {
        let text = line.get(1..).unwrap_or_default();
        return (Kind::Ui(Some(text.strip_prefix(' ').unwrap_or(text))), ui_next);
    }
    if after_output {
        return (Kind::Ui(None), ui_next);
    }
    (Kind::Assistant, Prev::Assistant)
}

/// One line as read.
pub(super) struct RawLine {
    /// Bytes consumed, line end included.
    pub consumed: u64,
    /// Whether a newline ended it (else the file ended: a line still being written).
    pub complete: bool,
    /// Whether it was longer than what is kept of a line.
    pub cut: bool,
}

/// Reads the next line into `buf` (cleared first), keeping at most [`STRING_BUDGET`] bytes of it
/// and without its line end; `None` at the end of the input.
pub(super) fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Option<RawLine>> {
    buf.clear();
    let mut line = RawLine {
        consumed: 0,
        complete: false,
        cut: false,
    };
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok((line.consumed > 0).then_some(line));
        }
        let (take, end) = match memchr::memchr(b'\n', available) {
            Some(at) => (at + 1, Some(at)),
            None => (available.len(), None),
        };
        let content = end.unwrap_or(take);
        let room = STRING_BUDGET.saturating_sub(buf.len()).min(content);
        line.cut |= room < content;
        buf.extend_from_slice(&available[..room]);
        reader.consume(take);
        line.consumed += take as u64;
        if end.is_some() {
            line.complete = true;
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Some(line));
        }
    }
}

/// A line's bytes as text: `None` when they are not text at all (a NUL byte: Aider writes text
/// only), else the text with invalid UTF-8 replaced (Aider writes in the user's encoding and
/// drops what it cannot encode) and whether any was. The end of a cut line may split a
/// character: that is the cut, not invalid input.
pub(super) fn decode(bytes: &[u8], cut: bool) -> Option<(String, bool)> {
    if memchr::memchr(0, bytes).is_some() {
        return None;
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Some((text.to_owned(), false)),
        Err(error) if cut && error.error_len().is_none() => Some((
            String::from_utf8_lossy(&bytes[..error.valid_up_to()]).into_owned(),
            false,
        )),
        Err(_) => Some((String::from_utf8_lossy(bytes).into_owned(), true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<String> {
        let mut prev = Prev::Blank;
        text.lines()
            .map(|line| {
                let (kind, next) = classify(line, prev);
                prev = next;
                match kind {
                    Kind::Header(time) => format!("H {time}"),
                    Kind::User => "U".to_owned(),
                    Kind::Ui(Some(text)) => format!("> {}", text.trim_end()),
                    Kind::Ui(None) => ">".to_owned(),
                    Kind::Blank => "_".to_owned(),
                    Kind::Assistant => "A".to_owned(),
                }
            })
            .collect()
    }

    #[test]
    fn lines_are_told_apart_by_what_aider_writes_around_them() {
        let text = "\n# aider chat started at 2025-12-03 14:43:45\n\n> Aider v0.86.1  \n\n\
                    #### fix it  \n####   \n#### please  \n\nSure.\n\n#### Heading\n> a quote\n\
                    >>>>>>> REPLACE\n\n> Tokens: 1k sent  \n> cd server   \n   npm start  \n\n\
                    #### /settings  \n> Command Line Args: --x\n\nDefaults:\n  --a:1  \n\nDone.\n\n\
                    > Commit 1b2614a feat  \n> # start it \ncd server     \n             \n# then\nnpm start  \n\nEnd.\n";
        assert_eq!(
            kinds(text),
            [
                "_",
                "H 2025-12-03 14:43:45",
                "_",
                "> Aider v0.86.1",
                "_",
                "U",
                "U",
                "U",
                "_",
                "A",
                "_",
                "A",
                "A",
                "A",
                "_",
                "> Tokens: 1k sent",
                "> cd server",
                ">",
                "_",
                "U",
                "> Command Line Args: --x",
                ">",
                ">",
                ">",
                "_",
                "A",
                "_",
                "> Commit 1b2614a feat",
                "> # start it",
                ">",
                ">",
                ">",
                ">",
                "_",
                "A"
            ]
        );
    }

    #[test]
    fn a_prompt_line_needs_a_blank_line_before_it_and_a_line_break_after_it() {
        assert_eq!(kinds("text\n#### not a prompt  \n"), ["A", "A"]);
        assert_eq!(kinds("\n#### prompt  \n#### more  \n"), ["_", "U", "U"]);
        assert_eq!(
            kinds("# Aider chat started at 2023-05-17 10:00:00\n"),
            ["H 2023-05-17 10:00:00"]
        );
    }

    #[test]
    fn long_lines_are_cut_and_a_last_line_without_newline_is_incomplete() {
        let long = "x".repeat(STRING_BUDGET + 10);
        let input = format!("{long}\r\nshort\r\ntail");
        let mut reader = io::BufReader::with_capacity(1024, input.as_bytes());
        let mut buf = Vec::new();
        let first = read_line(&mut reader, &mut buf).unwrap().unwrap();
        assert!(first.complete && first.cut);
        assert_eq!(
            (buf.len(), first.consumed),
            (STRING_BUDGET, STRING_BUDGET as u64 + 12)
        );
        let second = read_line(&mut reader, &mut buf).unwrap().unwrap();
        assert!(second.complete && !second.cut);
        assert_eq!(buf, b"short");
        let tail = read_line(&mut reader, &mut buf).unwrap().unwrap();
        assert!(!tail.complete);
        assert!(read_line(&mut reader, &mut buf).unwrap().is_none());
    }

    #[test]
    fn text_is_decoded_lossily_and_a_nul_byte_is_not_text() {
        assert_eq!(decode(b"caf\xc3\xa9", false), Some(("café".to_owned(), false)));
        assert_eq!(decode(b"caf\xe9", false), Some(("caf\u{fffd}".to_owned(), true)));
        assert_eq!(decode(b"caf\xc3", true), Some(("caf".to_owned(), false)));
        assert_eq!(decode(b"a\0b", false), None);
    }
}
