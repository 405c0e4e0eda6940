//! The plain-text transcript generation (`<id>.txt`, formats-more-tools.md 1.1): blocks opened
//! by a line `user:` or `assistant:` after a blank line. A user block wraps the prompt in
//! `<user_query>`; an assistant block holds `[Thinking]` summaries or `<think>` sections, prose,
//! `[Tool call] Name` followed by `key: value` argument lines (a value's further lines are not
//! indented) and `[Tool result] Name` lines without the result. A block's id is its position.
//!
//! Cursor writes the file whole, without a newline after its last line, so the last line is
//! read too. A line longer than a row can store is cut.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use chrono::{DateTime, Utc};

use crate::limits::{READ_BUFFER, STRING_BUDGET};
use crate::model::{BlockKind, Diagnostic, FileStats, Role};

use super::cwd::collect_paths;
use super::session::{Conversation, Draft};
use super::text::{assistant_blocks, push_text, tool_use_block};
use super::transcript::{draft, user_draft, Transcript};

/// One block: its role, first line and text lines.
struct Record {
    role: Role,
    line: u64,
    lines: Vec<String>,
    bytes: usize,
}

pub(super) fn read_txt(
    file: File,
    path: &Path,
    paths: &mut BTreeSet<String>,
    diagnostics: &mut Vec<Diagnostic>,
) -> std::io::Result<Transcript> {
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    let mut stats = FileStats::default();
    let mut conversation = Conversation::default();
    let mut turn = None;
    let mut record: Option<Record> = None;
    let mut position = 0u64;
    let mut previous_blank = true;
    let mut buf = Vec::new();
    let mut invalid_utf8 = false;
    loop {
        buf.clear();
        let read = read_line_capped(&mut reader, &mut buf)?;
        if read == 0 {
            break;
        }
        stats.bytes += read as u64;
        stats.lines += 1;
        let line = match std::str::from_utf8(&buf) {
            Ok(line) => line.to_owned(),
            Err(_) => {
                invalid_utf8 = true;
                String::from_utf8_lossy(&buf).into_owned()
            }
        };
        let line = line.trim_end_matches(['\n', '\r']);
        let opens = match line.to_ascii_lowercase().as_str() {
            "user:" => Some(Role::User),
            "assistant:" => Some(Role::Assistant),
            _ => None,
        };
        match opens.filter(|_| previous_blank) {
            Some(role) => {
                if let Some(done) = record.take() {
                    position += 1;
                    finish(done, position, &mut turn, paths, &mut conversation);
                }
                record = Some(Record {
                    role,
                    line: stats.lines,
                    lines: Vec::new(),
                    bytes: 0,
                });
            }
            None => {
                if let Some(record) = record.as_mut().filter(|record| record.bytes < STRING_BUDGET) {
                    record.bytes += line.len() + 1;
                    record.lines.push(line.to_owned());
                }
            }
        }
        previous_blank = line.trim().is_empty();
    }
    if let Some(done) = record.take() {
        position += 1;
        finish(done, position, &mut turn, paths, &mut conversation);
    }
    if invalid_utf8 {
        diagnostics.push(Diagnostic::invalid_utf8(path, None));
    }
    Ok(Transcript { conversation, stats })
}

/// Reads one line into `buf`, keeping at most [`STRING_BUDGET`] bytes of it; returns the bytes
/// consumed (0 at the end).
fn read_line_capped(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    let mut consumed = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok(consumed);
        }
        let (take, done) = match memchr::memchr(b'\n', available) {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        let room = STRING_BUDGET.saturating_sub(buf.len()).min(take);
        buf.extend_from_slice(&available[..room]);
        reader.consume(take);
        consumed += take;
        if done {
            return Ok(consumed);
        }
    }
}

fn finish(
    record: Record,
    position: u64,
    turn: &mut Option<DateTime<Utc>>,
    paths: &mut BTreeSet<String>,
    conversation: &mut Conversation,
) {
    let draft = match record.role {
        Role::User => user_draft(&record.lines.join("\n"), 0, turn),
        _ => assistant(&record.lines, paths, *turn),
    };
    conversation.drafts.extend(draft.map(|draft| Draft {
        id: position.to_string(),
        line: record.line,
        ..draft
    }));
}

/// An assistant block's blocks: prose (with `<think>` sections), `[Thinking]` summaries, tool
/// calls with their arguments.
fn assistant(lines: &[String], paths: &mut BTreeSet<String>, turn: Option<DateTime<Utc>>) -> Option<Draft> {
    let mut blocks = Vec::new();
    let mut prose: Vec<&str> = Vec::new();
    let mut at = 0;
    let flush = |prose: &mut Vec<&str>, blocks: &mut Vec<_>| {
        assistant_blocks(&prose.join("\n"), blocks);
        prose.clear();
    };
    while at < lines.len() {
        let line = lines[at].as_str();
        if let Some(first) = line.strip_prefix("[Thinking]") {
            flush(&mut prose, &mut blocks);
            let (thinking, next) = thinking(lines, at, first.trim());
            push_text(&mut blocks, BlockKind::Thinking, &thinking);
            at = next;
        } else if let Some(name) = line.strip_prefix("[Tool call]") {
            flush(&mut prose, &mut blocks);
            let end = (at + 1..lines.len())
                .find(|&i| lines[i].starts_with("[Tool call]") || lines[i].starts_with("[Tool result]"))
                .unwrap_or(lines.len());
            let args: Vec<&str> = lines[at + 1..end]
                .iter()
                .map(|line| line.strip_prefix("  ").unwrap_or(line))
                .collect();
            let args = args.join("\n");
            let args = args.trim_end();
            collect_paths(args, paths);
            let name = name.trim();
            let name = if name.is_empty() { "tool" } else { name };
            blocks.push(tool_use_block(name, args));
            at = end;
        } else if line.starts_with("[Tool result]") {
            // The result's output was never written to this generation.
            flush(&mut prose, &mut blocks);
            at += 1;
        } else {
            prose.push(line);
            at += 1;
        }
    }
    flush(&mut prose, &mut blocks);
    draft(Role::Assistant, blocks, turn, None)
}

/// A `[Thinking]` section from line `at`: summaries of a bold title line, a blank line and one
/// paragraph line, one after the other; a first line that is not a title is the whole section.
/// Returns its text and the line after it.
fn thinking(lines: &[String], at: usize, first: &str) -> (String, usize) {
    let is_title = |line: &str| {
        let line = line.trim();
        line.len() > 4 && line.starts_with("**") && line.ends_with("**")
    };
    let mut text = vec![first.to_owned()];
    let mut next = at + 1;
    if !is_title(first) {
        return (first.to_owned(), next);
    }
    loop {
        while lines.get(next).is_some_and(|line| line.trim().is_empty()) {
            next += 1;
        }
        match lines.get(next) {
            Some(body) if !body.starts_with('[') && !is_title(body) => {
                text.push(String::new());
                text.push(body.clone());
                next += 1;
            }
            _ => break,
        }
        match lines.get(next) {
            Some(title) if is_title(title) => {
                text.push(title.clone());
                next += 1;
            }
            _ => break,
        }
    }
    (text.join("\n"), next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BlockKind;

    fn parse(text: &str) -> (Conversation, BTreeSet<String>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        std::fs::write(&path, text).unwrap();
        let mut paths = BTreeSet::new();
        let mut diagnostics = Vec::new();
        let read = read_txt(File::open(&path).unwrap(), &path, &mut paths, &mut diagnostics).unwrap();
        assert!(diagnostics.is_empty());
        (read.conversation, paths)
    }

    #[test]
    fn blocks_split_into_prompts_thinking_prose_and_tool_calls() {
        let text = "user:\n<user_query>\nlist it\n</user_query>\n\nassistant:\n[Thinking] **Listing**\n\nI will list.\n\
                    **Checking**\n\nThen check.\nHere is the plan.\n[Tool call] LS\n  target_directory: /home/u/app\n\
                    [Tool call] Write\n  path: /home/u/app/a.txt\n  contents: line one\nline two\n\n[Tool result] LS\n\n\
                    [Tool result] Write\n\nassistant:\n<think>\nhmm\n</think>\nDone.\nuser: is not a block here\n\nuser:\n\
                    <user_query>\nthanks\n</user_query>";
        let (conversation, paths) = parse(text);
        let got: Vec<_> = conversation
            .drafts
            .iter()
            .map(|d| {
                let blocks: Vec<_> = d.blocks.iter().map(|b| (b.kind, b.text.clone())).collect();
                (d.id.clone(), d.line, d.role, blocks)
            })
            .collect();
        let text = |kind, text: &str| (kind, text.to_owned());
        assert_eq!(
            got,
            [
                ("1".into(), 1, Role::User, vec![text(BlockKind::Text, "list it")]),
                (
                    "2".into(),
                    6,
                    Role::Assistant,
                    vec![
                        text(
                            BlockKind::Thinking,
                            "**Listing**\n\nI will list.\n**Checking**\n\nThen check."
                        ),
                        text(BlockKind::Text, "Here is the plan."),
                        text(BlockKind::ToolUse, "LS(target_directory: /home/u/app)"),
                        text(
                            BlockKind::ToolUse,
                            "Write(path: /home/u/app/a.txt\ncontents: line one\nline two)"
                        ),
                    ]
                ),
                (
                    "3".into(),
                    25,
                    Role::Assistant,
                    vec![
                        text(BlockKind::Thinking, "hmm"),
                        text(BlockKind::Text, "Done.\nuser: is not a block here")
                    ]
                ),
                ("4".into(), 32, Role::User, vec![text(BlockKind::Text, "thanks")]),
            ]
        );
        assert!(paths.contains("/home/u/app") && paths.contains("/home/u/app/a.txt"));
    }
}
