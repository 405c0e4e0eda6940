//! Reading a legacy `.json` chat (Gemini CLI up to v0.38, formats.md 4.2): one document
//! `{sessionId, projectHash, startTime, lastUpdated, messages, summary?, kind?}` that Gemini CLI
//! rewrote whole on every change. It is read whole, as one metadata record holding its messages
//! (line 0), and never read on from a checkpoint. A document caught mid-rewrite does not decode:
//! that is a diagnostic, so the file is not recorded as read and is read again next run.

use std::fs::File;

use serde_json::value::RawValue;

use crate::source::jsonl::{malformed_document, read_document};
use crate::source::{Candidate, ParseOutcome};

use super::replay::Replay;
use super::session_of;
use super::wire::Record;

/// Reads one document into its session, whole.
pub(super) fn parse(candidate: &Candidate, file: File, mut outcome: ParseOutcome) -> ParseOutcome {
    let path = candidate.path.as_path();
    // Decoded owned and raw (long strings cut, as in a JSONL line), then read as a record
    // borrowing that text.
    let Some(read) = read_document::<Box<RawValue>>(file, path, &mut outcome) else {
        return outcome;
    };
    let raw = match read {
        Ok(raw) => raw,
        Err(err) => return malformed(outcome, candidate, &err),
    };
    let record = match serde_json::from_str::<Record<'_>>(raw.get()) {
        Ok(record) => record,
        Err(err) => return malformed(outcome, candidate, &err),
    };
    let mut replay = Replay::new(path, None, None);
    replay.apply_document(&record.0);
    outcome.stats.malformed_lines += replay.malformed;
    outcome.diagnostics.append(&mut replay.diagnostics);
    if !replay.is_session() {
        return outcome;
    }
    let mut session = session_of(candidate, &replay.state, false);
    session.messages = replay.take_messages().unwrap_or_default();
    outcome.sessions.push(session);
    outcome
}

fn malformed(mut outcome: ParseOutcome, candidate: &Candidate, err: &serde_json::Error) -> ParseOutcome {
    outcome.stats.malformed_lines += 1;
    let message = format!("malformed session document: {err}");
    outcome
        .diagnostics
        .push(malformed_document(&candidate.path, message));
    outcome
}
