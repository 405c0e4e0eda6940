//! Salvage: what a tool keeps after deleting a transcript (Claude Code's prompt history, Gemini
//! CLI's prompt log), read as a store of sessions: one file holds many sessions, each streamed
//! out on its own and recorded in the session ledger by a revision, so memory follows a session
//! and a re-read plans only the sessions that gained a prompt.
//!
//! A salvage reader yields only sessions whose transcript is not on disk, each marked
//! [`crate::model::SessionFacts::salvaged`]; the rest of the pipeline skips those whose
//! transcript rows are stored, and deletes a session's salvaged rows when its transcript's are
//! written.

use std::path::PathBuf;

use crate::model::{KnownRevisions, Message, Session};

use super::{Candidate, ParseOutcome, StoreReader};

/// Reads what a tool keeps of its sessions' prompts once their transcripts are gone.
pub trait Salvage: StoreReader {
    /// The files under `roots` (given as the tool's discovery takes them) that keep prompts.
    fn files(&self, roots: &[PathBuf]) -> Vec<Candidate>;
}

/// A salvaged session's revision: the time of its last prompt (epoch ms). Prompts are only
/// added, each later than the last, so a session whose revision is known has nothing new.
fn revision(messages: &[Message]) -> Option<i64> {
    messages
        .iter()
        .map(|message| message.timestamp.timestamp_millis())
        .max()
}

/// Hands the sessions of a read made whole to `emit`, each with its revision, but those whose
/// revision `known` holds, which are counted as unchanged.
pub(crate) fn emit_new(
    mut outcome: ParseOutcome,
    known: &KnownRevisions,
    emit: &mut dyn FnMut(Session),
) -> ParseOutcome {
    for mut session in std::mem::take(&mut outcome.sessions) {
        let revision = revision(&session.messages);
        if revision.is_some() && known.get(&session.id) == revision.as_ref() {
            outcome.unchanged_sessions += 1;
            continue;
        }
        session.facts.revision = revision;
        emit(session);
    }
    outcome
}

/// A slash command typed without arguments (`/model`, `/quit`), which transcripts record as a
/// command memtree leaves out; a path (`/tmp/x`) or a command with arguments is conversation.
pub(crate) fn is_bare_slash_command(text: &str) -> bool {
    text.strip_prefix('/').is_some_and(|name| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
    })
}
