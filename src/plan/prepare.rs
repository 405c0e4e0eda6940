//! Preparation: each message's id or skip reason, and a dry run's row counts, worked out in the
//! job that parsed the session.

use rayon::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::id::memory_id;
use crate::model::{Message, Session, Tool};
use crate::redact::Redactions;

use super::render::{has_content, stored_texts};
use super::{PlanOptions, RowOutput};

/// Why a message of an imported session did not become a memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageSkip {
    /// Nothing left to store in this content mode (e.g. a tool result without --full-transcript).
    NoText,
    /// Outside the `--since/--until` window.
    OutsideWindow,
    /// Already planned in this run from another file (history copied into a resumed session).
    Duplicate,
}

impl MessageSkip {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageSkip::NoText => "no_text",
            MessageSkip::OutsideWindow => "outside_window",
            MessageSkip::Duplicate => "duplicate",
        }
    }
}

/// A session made ready for planning by the work that does not depend on the rest of the run:
/// each message's id, or why it cannot be a row whatever else the run holds (outside the time
/// window, no text in this mode), and, for rows planned as ids, what the report counts of each
/// (truncation, secrets), after which their texts are dropped. Pure and independent of every
/// other session, so it runs in the job that parsed the session, while its texts are in cache.
#[derive(Debug)]
pub struct PreparedSession {
    /// The session's facts. Its messages are in `rows`.
    pub session: Session,
    /// One entry per message of the session, in order.
    pub(super) rows: Vec<Result<PreparedRow, MessageSkip>>,
}

/// A message that can become a row, as [`RowOutput`] asked for it.
#[derive(Debug)]
pub(super) enum PreparedRow {
    /// To be rendered whole once the session's project is known.
    Whole(Uuid, Message),
    /// To be planned as an id: what the report counts of its row, its texts already dropped.
    Counted(Uuid, RowCounts),
}

impl PreparedRow {
    pub(super) fn id(&self) -> Uuid {
        match self {
            PreparedRow::Whole(id, _) | PreparedRow::Counted(id, _) => *id,
        }
    }
}

/// What the report counts of one row besides its session's facts.
#[derive(Debug)]
pub(super) struct RowCounts {
    pub(super) truncated: bool,
    /// Secrets replaced in the message's content and cwd.
    pub(super) redactions: Redactions,
    /// The message's own facts, which replace the session's in its row (see [`OwnFacts`]).
    pub(super) own: OwnFacts,
}

/// Which of a row's facts are the message's own, in place of its session's.
#[derive(Clone, Copy, Debug)]
pub(super) struct OwnFacts {
    pub(super) cwd: bool,
    pub(super) model: bool,
}

/// Prepares a session's messages for planning as `output` asks (see [`PreparedSession`]).
pub fn prepare(mut session: Session, options: &PlanOptions<'_>, output: RowOutput) -> PreparedSession {
    let messages = std::mem::take(&mut session.messages);
    let session_id = &session.id;
    let rows = messages
        .into_par_iter()
        .map(|message| {
            let id = candidate_id(session.tool, session_id, &message, options)?;
            Ok(match output {
                RowOutput::Whole => PreparedRow::Whole(id, message),
                RowOutput::IdOnly => PreparedRow::Counted(id, counts_of(message, options)?),
            })
        })
        .collect();
    PreparedSession { session, rows }
}

/// A message's memory id, or why it cannot be a row whatever else the run holds.
fn candidate_id(
    tool: Tool,
    session_id: &str,
    message: &Message,
    options: &PlanOptions<'_>,
) -> Result<Uuid, MessageSkip> {
    if !options.window.contains(message.timestamp) {
        return Err(MessageSkip::OutsideWindow);
    }
    if !has_content(&message.blocks, options.mode) {
        return Err(MessageSkip::NoText);
    }
    let session_id = message.origin_session_id.as_deref().unwrap_or(session_id);
    Ok(memory_id(tool, session_id, &message.id, message.timestamp))
}

/// What the report counts of a message's row, found as its whole row would be made.
fn counts_of(message: Message, options: &PlanOptions<'_>) -> Result<RowCounts, MessageSkip> {
    let mut redactions = Redactions::default();
    let stored = stored_texts(message.blocks, message.cwd.as_deref(), options, &mut redactions)
        .ok_or(MessageSkip::NoText)?;
    Ok(RowCounts {
        truncated: stored.truncated,
        redactions,
        own: OwnFacts {
            cwd: stored.cwd.is_some_and(|cwd| !cwd.is_empty()),
            model: message.model.is_some_and(|model| !model.is_empty()),
        },
    })
}
