//! JSONL rollouts (plain or zstd-compressed): routes each line of either era to the session
//! builder.
//!
//! Bare-line era (mid-2025): a first line `{id,timestamp,instructions,git?}`, bare response
//! items, `{"record_type":"state"}` separators, no per-line timestamps. Wrapped era (every later
//! version): `{timestamp,type,payload}` with optional 2026 `ordinal` and `metadata`; unknown
//! kinds are ignored (formats.md 2.2, 2.3).

use chrono::{DateTime, Utc};

use super::record::Record;
use super::session::{Position, SessionBuilder};

/// Feeds one decoded line to `builder`.
pub(super) fn observe_line(builder: &mut SessionBuilder, line: u64, record: &Record) {
    let at = builder.observe_time(record.timestamp.as_deref());
    let position = Position::Line {
        line,
        ordinal: record.ordinal,
    };
    match record.payload.as_deref() {
        Some(payload) => {
            builder.observe_wrapped_line();
            observe_wrapped(builder, record.kind.as_deref(), payload, position, at)
        }
        None if record.record_type.is_some() => {}
        // The bare-line era's first line: a session meta without a kind.
        None if record.kind.is_none() && record.id.is_some() => builder.observe_session_meta(record, at),
        None => {
            if !builder.in_replay(at) {
                builder.observe_item(record, position, at);
            }
        }
    }
}

fn observe_wrapped(
    builder: &mut SessionBuilder,
    kind: Option<&str>,
    payload: &Record,
    position: Position,
    at: Option<DateTime<Utc>>,
) {
    if kind == Some("session_meta") {
        builder.observe_session_meta(payload, at);
        return;
    }
    if builder.in_replay(at) {
        return;
    }
    match kind {
        Some("turn_context") => builder.observe_turn_context(payload),
        Some("response_item") => builder.observe_item(payload, position, at),
        Some("event_msg") if payload.kind.as_deref() == Some("user_message") => {
            builder.observe_user_event(payload, position, at)
        }
        // Other events repeat response items (agent_message, agent_reasoning) or are UI
        // bookkeeping (token_count, task_*); `compacted` repeats earlier history.
        _ => {}
    }
}
