//! What in Cursor's message text is the user typing, the model thinking, or the harness: the
//! `<user_query>` wrapper, the context blocks Cursor puts around it, the `<timestamp>` tag, inline
//! `<think>` reasoning, the `[REDACTED]` placeholder of hidden reasoning and the follow-up prompts
//! Cursor sends on the user's behalf (formats-more-tools.md 1.1).

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use regex::Regex;

use crate::model::{Block, BlockKind, Role};

/// The placeholder Cursor writes where hidden reasoning was.
const REDACTED: &str = "[REDACTED]";

/// How the prompts Cursor itself sends after a background task start: they come as `user`
/// records but nobody typed them (fixture `jsonl-ide`).
const FOLLOW_UP_PREFIXES: [&str; 1] = ["Briefly inform the user about the task result"];

/// A user record's text, split into what was typed and what Cursor added.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct UserText {
    /// The typed prompt (every `<user_query>`, or the text outside Cursor's context blocks), with
    /// an `[Image]` line per pasted image.
    pub typed: String,
    /// The time of the `<timestamp>` tag at the start, when it could be read.
    pub at: Option<DateTime<Utc>>,
    /// The prompt is one Cursor sends on its own (a follow-up after a task), not typed.
    pub follow_up: bool,
}

/// Splits a user record's text (formats-more-tools.md 1.1: `<timestamp>`, context blocks such
/// as `<attached_files>` or `<git_status>`, then `<user_query>`).
pub(super) fn user_text(raw: &str) -> UserText {
    let mut text = raw.trim_start();
    let mut at = None;
    if let Some(rest) = text.strip_prefix("<timestamp>") {
        if let Some((tag, after)) = rest.split_once("</timestamp>") {
            at = timestamp_tag(tag);
            text = after;
        }
    }
    let image_lines = |text: &str| text.lines().filter(|line| line.trim() == "[Image]").count();
    let queries = tag_contents(text, "user_query");
    let images = image_lines(text).saturating_sub(queries.iter().map(|query| image_lines(query)).sum());
    let mut typed = if queries.is_empty() {
        without_context_blocks(text)
    } else {
        queries.join("\n\n")
    };
    typed = typed.trim().to_owned();
    // Without a `<user_query>` the markers are part of the text already.
    if !queries.is_empty() {
        add_image_lines(&mut typed, images);
    }
    let follow_up = FOLLOW_UP_PREFIXES.iter().any(|prefix| typed.starts_with(prefix));
    UserText { typed, at, follow_up }
}

impl UserText {
    /// The message this text makes, its block pushed onto `blocks`: what was typed, with an
    /// `[Image]` line more per image the record attached (`images`). A follow-up Cursor sent on
    /// its own is a system message.
    pub(super) fn into_message(self, images: usize, blocks: &mut Vec<Block>) -> Role {
        let mut typed = self.typed;
        add_image_lines(&mut typed, images);
        let (role, kind) = if self.follow_up {
            (Role::System, BlockKind::System)
        } else {
            (Role::User, BlockKind::Text)
        };
        push_text(blocks, kind, &typed);
        role
    }
}

/// Ends `typed` with an `[Image]` line per image, the marker Cursor shows for one.
fn add_image_lines(typed: &mut String, images: usize) {
    for _ in 0..images {
        if !typed.is_empty() {
            typed.push('\n');
        }
        typed.push_str("[Image]");
    }
}

/// The contents of every `<tag>…</tag>` in `text`, trimmed; an unclosed last one runs to the end.
fn tag_contents<'t>(text: &'t str, tag: &str) -> Vec<&'t str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        let inner = &rest[start + open.len()..];
        match inner.find(&close) {
            Some(end) => {
                found.push(inner[..end].trim());
                rest = &inner[end + close.len()..];
            }
            None => {
                found.push(inner.trim());
                break;
            }
        }
    }
    found
}

/// `text` without the blocks Cursor wraps context in: a line opening `<name>` or `<name attr…>`
/// (lower-case name) through the line that closes it. An unclosed block is kept as text.
fn without_context_blocks(text: &str) -> String {
    let mut kept = String::new();
    let mut lines = text.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        if let Some(name) = opening_tag(line) {
            let close = format!("</{name}>");
            if line.contains(&close) {
                continue;
            }
            let rest: Vec<&str> = lines.clone().collect();
            if let Some(end) = rest.iter().position(|line| line.contains(&close)) {
                for _ in 0..=end {
                    lines.next();
                }
                continue;
            }
        }
        kept.push_str(line);
    }
    kept
}

/// The tag name of a line that opens a context block.
fn opening_tag(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('<')?;
    let end = rest
        .find(|ch: char| !(ch.is_ascii_lowercase() || ch == '_' || ch == '-'))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    let next = rest[end..].chars().next();
    (!name.is_empty() && matches!(next, Some('>' | ' '))).then_some(name)
}

/// An assistant text as blocks: `<think>` sections as thinking, the rest as text, without the
/// `[REDACTED]` placeholder lines.
pub(super) fn assistant_blocks(text: &str, blocks: &mut Vec<Block>) {
    let mut rest = text;
    while let Some(start) = rest.find("<think>") {
        push_text(blocks, BlockKind::Text, &rest[..start]);
        let inner = &rest[start + "<think>".len()..];
        match inner.find("</think>") {
            Some(end) => {
                push_text(blocks, BlockKind::Thinking, &inner[..end]);
                rest = &inner[end + "</think>".len()..];
            }
            None => {
                push_text(blocks, BlockKind::Thinking, inner);
                return;
            }
        }
    }
    push_text(blocks, BlockKind::Text, rest);
}

/// Adds `text` as a block of `kind` unless it is blank once the `[REDACTED]` lines are gone.
pub(super) fn push_text(blocks: &mut Vec<Block>, kind: BlockKind, text: &str) {
    let text = if text.contains(REDACTED) {
        text.lines()
            .filter(|line| line.trim() != REDACTED)
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        text.to_owned()
    };
    let text = text.trim();
    if !text.is_empty() {
        blocks.push(Block::new(kind, text));
    }
}

/// A tool call as one block: `name(input)`.
pub(super) fn tool_use_block(name: &str, input: &str) -> Block {
    Block::with_tool(BlockKind::ToolUse, format!("{name}({input})"), name)
}

/// `Friday, Sep 4, 2026, 10:37 AM (UTC+5:30)`: the local time Cursor tags a turn's first prompt
/// with, and its offset from UTC.
static TIMESTAMP_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:[a-z]+,\s*)?([a-z]{3})[a-z]*\.?\s+(\d{1,2}),?\s+(\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([ap]\.?m\.?)?\s*\(\s*(?:utc|gmt)\s*(?:([+-])\s*(\d{1,2})(?::?(\d{2}))?)?\s*\)\s*$",
    )
    .expect("static regex")
});

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// The instant a `<timestamp>` tag names, or `None` when it is not of the form Cursor writes.
pub(super) fn timestamp_tag(tag: &str) -> Option<DateTime<Utc>> {
    let captures = TIMESTAMP_TAG.captures(tag)?;
    let number = |index: usize| -> Option<u32> { captures.get(index)?.as_str().parse().ok() };
    let month_name = captures.get(1)?.as_str().to_ascii_lowercase();
    let month = MONTHS.iter().position(|name| *name == month_name)? as u32 + 1;
    let mut hour = number(4)?;
    if let Some(meridiem) = captures.get(7) {
        if hour == 0 || hour > 12 {
            return None;
        }
        let afternoon = meridiem.as_str().starts_with(['p', 'P']);
        hour = hour % 12 + if afternoon { 12 } else { 0 };
    }
    let local = NaiveDate::from_ymd_opt(number(3)? as i32, month, number(2)?)?.and_hms_opt(
        hour,
        number(5)?,
        number(6).unwrap_or(0),
    )?;
    let offset_seconds = match captures.get(8) {
        Some(sign) => {
            let seconds = (number(9)? * 60 + number(10).unwrap_or(0)) as i32 * 60;
            if sign.as_str() == "-" {
                -seconds
            } else {
                seconds
            }
        }
        None => 0,
    };
    let offset = FixedOffset::east_opt(offset_seconds)?;
    Some(local.and_local_timezone(offset).single()?.to_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    #[test]
    fn timestamp_tags_are_read_with_their_offset() {
        assert_eq!(
            timestamp_tag("Friday, Sep 4, 2026, 10:37 AM (UTC+5:30)"),
            Some(utc("2026-09-04T05:07:00Z"))
        );
        assert_eq!(
            timestamp_tag("Monday, January 12, 2026, 12:05 PM (UTC-8)"),
            Some(utc("2026-01-12T20:05:00Z"))
        );
        assert_eq!(
            timestamp_tag("Sat, Mar 7, 2026, 12:00 AM (UTC)"),
            Some(utc("2026-03-07T00:00:00Z"))
        );
        assert_eq!(
            timestamp_tag("Mar 7, 2026, 23:59:30 (UTC+00:00)"),
            Some(utc("2026-03-07T23:59:30Z"))
        );
        for bad in [
            "",
            "yesterday",
            "Friday, Smarch 4, 2026, 10:37 AM (UTC+5:30)",
            "Friday, Feb 30, 2026, 10:37 AM (UTC)",
            "Friday, Sep 4, 2026, 13:37 PM (UTC)",
            "Friday, Sep 4, 2026, 10:37 AM (UTC+99)",
            "Friday, Sep 4, 2026, 10:37 AM",
        ] {
            assert_eq!(timestamp_tag(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_typed_prompt_is_the_user_query_without_context_or_tag() {
        let text = "<timestamp>Friday, Sep 4, 2026, 10:37 AM (UTC+5:30)</timestamp>\n<attached_files>\n\
                    <code_selection path=\"/a\">x</code_selection>\n</attached_files>\n<user_query>\nfix it\n</user_query>";
        let user = user_text(text);
        assert_eq!(user.typed, "fix it");
        assert_eq!(user.at, Some(utc("2026-09-04T05:07:00Z")));
        assert!(!user.follow_up);

        let image =
            user_text("[Image]\n<image_files>\n1. /x.png\n</image_files>\n<user_query>\n\n</user_query>");
        assert_eq!(image.typed, "[Image]");

        let context_only =
            user_text("<git_status>\nM a.rs\n</git_status>\n\n<agent_skills>\n<x>\n</agent_skills>\n");
        assert_eq!(context_only.typed, "");

        let plain = user_text("just typed <b>bold</b>\n<unclosed>\nstill text");
        assert_eq!(plain.typed, "just typed <b>bold</b>\n<unclosed>\nstill text");

        let follow =
            user_text("<user_query>Briefly inform the user about the task result and go on.</user_query>");
        assert!(follow.follow_up);
    }

    #[test]
    fn think_sections_are_thinking_and_redacted_lines_vanish() {
        let mut blocks = Vec::new();
        assistant_blocks("<think>\nplan\n</think>\nanswer\n\n[REDACTED]", &mut blocks);
        assistant_blocks("[REDACTED]", &mut blocks);
        assistant_blocks("before<think>unclosed", &mut blocks);
        let got: Vec<_> = blocks.iter().map(|b| (b.kind, b.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (BlockKind::Thinking, "plan"),
                (BlockKind::Text, "answer"),
                (BlockKind::Text, "before"),
                (BlockKind::Thinking, "unclosed"),
            ]
        );
    }
}
