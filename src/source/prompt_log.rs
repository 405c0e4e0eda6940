//! The prompt log `tmp/<project>/logs.json` of Gemini CLI and of Qwen Code, its fork: one JSON
//! array per project of `{sessionId, messageId, type, message, timestamp}` entries, rewritten
//! whole on every prompt as the input history the prompt recalls (formats.md 4.1,
//! formats-more-tools.md section 5). It holds what the user typed and nothing else, so each
//! session's `user` entries are user messages of that session; other types (`model_switch`) are
//! not conversation.
//!
//! What both tools share is here: the entries ([`LogEntry`], read leniently), decoding the
//! document whole through the bounded decoder, grouping the entries by session, the ids and the
//! user messages, and the session they make. What differs is the tool's [`Layout`]: which
//! sessions have a chat on disk (their prompts are read from the chat, and the log's are
//! skipped, so no prompt is stored twice), how the project's cwd is found, and whether the log's
//! sessions are salvaged (Gemini CLI: what is left of deleted chats) or a primary record (Qwen
//! Code: releases that wrote no chats).
//!
//! Ids: `prompt-<messageId>`, the session's running number of the entry, with `-<n>` for its
//! n-th repeat (a prompt cancelled and the next one logged under the same number). An entry
//! without text or time is skipped; one whose time is not RFC 3339 is a malformed entry. The
//! document is never read on from a checkpoint; one caught mid-rewrite does not decode, which is
//! reported, so the file is read again next run.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::fs::File;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::model::{Block, BlockKind, Message, Role, Session, SessionFacts, Tool};
use crate::source::jsonl::{malformed_document, read_document};
use crate::source::salvage::is_bare_slash_command;
use crate::source::timestamp::parse_rfc3339;
use crate::source::title::title_from_prompt;
use crate::source::visit::{maybe_text, skip_to, Object};
use crate::source::{Candidate, ParseOutcome};

/// The prompt log's file name, in each project's temp directory.
pub(super) const PROMPT_LOG: &str = "logs.json";

/// What a tool's layout says about the sessions of one of its prompt logs.
pub(super) trait Layout {
    /// Whether the session's chat is on disk, where its prompts are read from.
    fn has_chat(&mut self, session_id: &str) -> bool;

    /// The cwd of the log's project, if found, and how (`SessionFacts::cwd_origin`). Asked once,
    /// and only when the log yields a session.
    fn project_cwd(&mut self) -> (Option<String>, &'static str);
}

/// How one tool reads its prompt logs.
pub(super) struct Reading<'a> {
    pub tool: Tool,
    /// `Session::source_file` of the log.
    pub source_file: String,
    /// The log's sessions are salvaged ([`SessionFacts::salvaged`]).
    pub salvaged: bool,
    pub layout: &'a mut dyn Layout,
}

/// Reads one prompt log whole into the sessions whose chat is not on disk.
pub(super) fn parse(
    candidate: &Candidate,
    file: File,
    mut outcome: ParseOutcome,
    reading: Reading<'_>,
) -> ParseOutcome {
    let path = candidate.path.as_path();
    // Decoded owned and raw (long strings cut, as in a JSONL line), then read from that text.
    let Some(read) = read_document::<Box<RawValue>>(file, path, &mut outcome) else {
        return outcome;
    };
    let decoded = read.and_then(|raw| serde_json::from_str::<LogEntries>(raw.get()));
    let entries = match decoded {
        Ok(LogEntries(entries)) => entries,
        Err(err) => {
            outcome.stats.malformed_lines += 1;
            outcome
                .diagnostics
                .push(malformed_document(path, format!("malformed prompt log: {err}")));
            return outcome;
        }
    };
    let Reading {
        tool,
        source_file,
        salvaged,
        layout,
    } = reading;
    let mut cwd = None;
    for (session_id, entries) in by_session(entries) {
        if layout.has_chat(&session_id) {
            continue;
        }
        let mut messages = messages_of(&session_id, entries, candidate, &mut outcome);
        if salvaged {
            // As a chat records them: a bare command is not conversation.
            messages.retain(|message| !is_bare_slash_command(message.blocks[0].text.trim()));
        }
        let Some(first) = messages.first() else {
            continue;
        };
        let (cwd, cwd_origin) = cwd.get_or_insert_with(|| layout.project_cwd()).clone();
        let facts = SessionFacts {
            title: Some(title_from_prompt(&first.blocks[0].text)).filter(|title| !title.is_empty()),
            cwd,
            cwd_origin: Some(cwd_origin.to_owned()),
            started_at: Some(first.timestamp),
            salvaged,
            ..SessionFacts::default()
        };
        outcome.sessions.push(Session {
            tool,
            id: session_id,
            source_file: source_file.clone(),
            facts,
            messages,
        });
    }
    outcome
}

/// The user messages of one session's entries, in the log's order.
fn messages_of(
    session_id: &str,
    entries: Vec<LogEntry>,
    candidate: &Candidate,
    outcome: &mut ParseOutcome,
) -> Vec<Message> {
    let mut messages = Vec::new();
    let mut ids = HashSet::new();
    for entry in entries {
        let (Some(text), Some(at)) = (entry.message, entry.timestamp) else {
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let Some(at) = parse_rfc3339(&at) else {
            outcome.stats.malformed_lines += 1;
            outcome.diagnostics.push(malformed_document(
                &candidate.path,
                format!("malformed prompt log entry: a prompt of session {session_id} without an RFC 3339 `timestamp`"),
            ));
            continue;
        };
        let number = entry.message_id.unwrap_or_default();
        let mut id = format!("prompt-{number}");
        let mut repeat = 0;
        while !ids.insert(id.clone()) {
            repeat += 1;
            id = format!("prompt-{number}-{repeat}");
        }
        messages.push(Message {
            id,
            origin_session_id: None,
            timestamp: at,
            role: Role::User,
            blocks: vec![Block::new(BlockKind::Text, text)],
            tool_name: None,
            model: None,
            cwd: None,
            line: 0,
        });
    }
    messages
}

/// The `user` entries of each session, in the order the sessions first appear.
fn by_session(entries: Vec<LogEntry>) -> Vec<(String, Vec<LogEntry>)> {
    let mut sessions: Vec<(String, Vec<LogEntry>)> = Vec::new();
    for entry in entries {
        if entry.kind.as_deref() != Some("user") {
            continue;
        }
        let Some(session_id) = entry.session_id.clone().filter(|id| !id.is_empty()) else {
            continue;
        };
        // A log holds a handful of sessions: a linear search keeps their order.
        match sessions.iter_mut().find(|(id, _)| *id == session_id) {
            Some((_, listed)) => listed.push(entry),
            None => sessions.push((session_id, vec![entry])),
        }
    }
    sessions
}

/// One entry of a `logs.json` array, read leniently: a field of an unexpected type counts as
/// absent. (The tools' own readers keep an entry only when its `sessionId`, `timestamp`, `type`
/// and `message` are strings and its `messageId` a number.)
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogEntry {
    #[serde(default, deserialize_with = "owned_text")]
    session_id: Option<String>,
    #[serde(default, deserialize_with = "number")]
    message_id: Option<u64>,
    #[serde(default, rename = "type", deserialize_with = "owned_text")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "owned_text")]
    message: Option<String>,
    #[serde(default, deserialize_with = "owned_text")]
    timestamp: Option<String>,
}

/// A `logs.json` document: an array whose entries are [`LogEntry`]s (other elements skipped);
/// anything but an array is not a prompt log.
struct LogEntries(Vec<LogEntry>);

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

    #[test]
    fn sessions_keep_their_order_and_only_user_entries() {
        let entry = |session: &str, kind: &str, id: u64| LogEntry {
            session_id: Some(session.to_owned()),
            message_id: Some(id),
            kind: Some(kind.to_owned()),
            message: Some(format!("{session}{id}")),
            timestamp: Some("2025-09-21T00:30:37.499Z".to_owned()),
        };
        let grouped = by_session(vec![
            entry("b", "user", 0),
            entry("a", "user", 0),
            entry("b", "model_switch", 1),
            entry("b", "user", 2),
            entry("", "user", 0),
        ]);
        let summary: Vec<(String, usize)> = grouped
            .iter()
            .map(|(id, entries)| (id.clone(), entries.len()))
            .collect();
        assert_eq!(summary, [("b".to_owned(), 2), ("a".to_owned(), 1)]);
    }
}
