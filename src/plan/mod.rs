//! Planning: turns filtered sessions into the exact rows to store (ids, content, meta, trees).
//!
//! Pure: no I/O. Given the same sessions, slugs and options it produces the same rows.
//!
//! A session goes through its parts in this order: `prepare` (each message's id, or why it cannot
//! be a row, worked out in the job that parsed it), `select` (each id stored once, in run order),
//! then [`plan_prepared`] here, which renders each row's content (`render`) and meta (`meta`).
//! `row` is what the store relies on of a row.

mod meta;
mod prepare;
mod render;
pub(crate) mod row;
mod select;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::git::GitFacts;
use crate::model::{Message, Session};
use crate::redact::{Redactions, Redactor};
use crate::scope::TimeWindow;

use meta::{session_meta, JsonObject};
use prepare::{OwnFacts, PreparedRow};
use render::{stored_texts, StoredTexts};

pub use crate::limits::MAX_CONTENT_BYTES;
pub use prepare::{prepare, MessageSkip, PreparedSession};
pub use render::{render, BlockKinds};
pub use row::{without_nul, PlannedMemory, IMPORTER_VERSION, RENDERING_KEYS, SALVAGED_FROM};
pub use select::SelectedIds;

/// Which blocks a memory's content is rendered from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentMode {
    /// Text blocks only: what the user typed and the assistant answered.
    #[default]
    Default,
    /// Every block: thinking, tool calls and tool results too.
    FullTranscript,
}

impl ContentMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ContentMode::Default => "default",
            ContentMode::FullTranscript => "full_transcript",
        }
    }
}

/// What planning builds of each row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowOutput {
    /// The whole row, to be written.
    Whole,
    /// The row's id and what the report counts of it (truncation, secrets): all a dry run shows
    /// or compares with the database. Its meta and tree are never built.
    IdOnly,
}

/// The [`RENDERING_KEYS`] of every row a run with these options plans, as a JSON object: they
/// are run settings, the same for each row, so a dry run compares them once per run rather than
/// once per row.
pub fn rendering_keys(options: &PlanOptions<'_>) -> Map<String, Value> {
    let mut keys = Map::new();
    keys.insert("importer_version".to_owned(), IMPORTER_VERSION.into());
    keys.insert("content_mode".to_owned(), options.mode.as_str().into());
    keys.insert("secrets_redacted".to_owned(), options.redactor.is_some().into());
    keys
}

/// The per-run settings that shape rows.
#[derive(Clone, Copy, Debug)]
pub struct PlanOptions<'a> {
    pub tree_root: &'a str,
    pub sessions_node_name: &'a str,
    pub mode: ContentMode,
    pub window: TimeWindow,
    pub imported_at: DateTime<Utc>,
    /// Replaces secrets in content and meta before anything is stored; `None` with `--no-redact`.
    pub redactor: Option<&'a Redactor>,
}

/// The project a session belongs to, as resolved before planning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectContext {
    pub slug: String,
    pub git: GitFacts,
}

impl ProjectContext {
    pub fn tree(&self, options: &PlanOptions<'_>) -> String {
        format!(
            "{}.{}.{}",
            options.tree_root, self.slug, options.sessions_node_name
        )
    }
}

/// The rows planned for one session, and what was skipped.
#[derive(Debug, Default)]
pub struct SessionPlan {
    /// The rows, when planned with [`RowOutput::Whole`].
    pub memories: Vec<PlannedMemory>,
    /// The rows' ids, when planned with [`RowOutput::IdOnly`].
    pub ids: Vec<Uuid>,
    pub skipped: BTreeMap<MessageSkip, u64>,
    /// Messages whose content was cut to [`MAX_CONTENT_BYTES`].
    pub truncated: u64,
    /// Secrets replaced in this session's rows, by kind.
    pub redactions: Redactions,
}

impl SessionPlan {
    /// How many rows were planned, whole or as ids.
    pub fn rows(&self) -> u64 {
        (self.memories.len() + self.ids.len()) as u64
    }
}

/// Plans the rows of one session: [`prepare()`], [`SelectedIds::select`], then [`plan_prepared`].
pub fn plan_session(
    session: Session,
    project: &ProjectContext,
    options: &PlanOptions<'_>,
    selected: &mut SelectedIds,
) -> SessionPlan {
    let mut prepared = prepare(session, options, RowOutput::Whole);
    selected.select(std::slice::from_mut(&mut prepared));
    plan_prepared(prepared, project, options)
}

/// Plans the selected rows of one prepared session, whole or as ids as it was prepared. Pure and
/// independent of every other session, so sessions are planned in parallel.
pub fn plan_prepared(
    prepared: PreparedSession,
    project: &ProjectContext,
    options: &PlanOptions<'_>,
) -> SessionPlan {
    let mut plan = SessionPlan::default();
    let PreparedSession { session, rows } = prepared;
    let tree = project.tree(options);
    let mut session_meta = session_meta(&session, project, options);
    // Secrets in session facts (a title, a remote URL with a password) are replaced once for all
    // rows; ids are never touched, so identity does not depend on the rules.
    let mut session_redactions = SessionRedactions::default();
    if let Some(redactor) = options.redactor {
        for (key, value) in session_meta.iter_mut() {
            let counts = match key.as_str() {
                "source_cwd" => &mut session_redactions.cwd,
                "source_model" => &mut session_redactions.model,
                _ => &mut session_redactions.rest,
            };
            redactor.redact_json(value, counts);
        }
    }
    // Serialised once, and only for whole rows: every row of the session starts with these
    // fields.
    let whole = rows.iter().any(|row| matches!(row, Ok(PreparedRow::Whole(..))));
    let session_fields: Vec<(String, String)> = match whole {
        true => session_meta
            .iter()
            .map(|(key, value)| (key.clone(), JsonObject::field(key, value)))
            .collect(),
        false => Vec::new(),
    };
    let shared = SharedFields {
        own_id: &session.id,
        tree: &tree,
        session_fields: &session_fields,
        session_redactions: &session_redactions,
    };
    // Messages are planned on every thread: a long session must not leave the others idle
    // while sessions beside it are done.
    let outcomes: Vec<MessageOutcome> = rows
        .into_par_iter()
        .map(|row| match row {
            Ok(PreparedRow::Whole(id, message)) => plan_message(message, id, &shared, options),
            Ok(PreparedRow::Counted(id, counts)) => {
                let mut redactions = session_redactions.of_row(counts.own);
                redactions.merge(&counts.redactions);
                MessageOutcome::Planned {
                    row: PlannedRow::Id(id),
                    truncated: counts.truncated,
                    redactions: (!redactions.is_empty()).then_some(redactions),
                }
            }
            Err(skip) => MessageOutcome::Skipped(skip),
        })
        .collect();
    for outcome in outcomes {
        match outcome {
            MessageOutcome::Skipped(skip) => *plan.skipped.entry(skip).or_default() += 1,
            MessageOutcome::Planned {
                row,
                truncated,
                redactions,
            } => {
                plan.truncated += u64::from(truncated);
                if let Some(redactions) = redactions {
                    plan.redactions.merge(&redactions);
                }
                match row {
                    PlannedRow::Whole(memory) => plan.memories.push(memory),
                    PlannedRow::Id(id) => plan.ids.push(id),
                }
            }
        }
    }
    plan
}

/// What one session shares with each of its rows.
struct SharedFields<'s> {
    own_id: &'s str,
    tree: &'s str,
    session_fields: &'s [(String, String)],
    session_redactions: &'s SessionRedactions,
}

/// The secrets replaced in a session's facts, apart by whether a message's own fact can take the
/// fact's place in its row.
#[derive(Default)]
struct SessionRedactions {
    cwd: Redactions,
    model: Redactions,
    rest: Redactions,
}

impl SessionRedactions {
    /// Those a row carries: a message's own cwd or model replaces the session's in its meta, and
    /// the secrets counted in it with it.
    fn of_row(&self, own: OwnFacts) -> Redactions {
        let mut counts = self.rest.clone();
        if !own.cwd {
            counts.merge(&self.cwd);
        }
        if !own.model {
            counts.merge(&self.model);
        }
        counts
    }
}

/// One planned row, as [`RowOutput`] asked for it.
enum PlannedRow {
    Whole(PlannedMemory),
    Id(Uuid),
}

/// What became of one message of a session.
enum MessageOutcome {
    Skipped(MessageSkip),
    Planned {
        row: PlannedRow,
        truncated: bool,
        /// The secrets replaced in this row, when any were.
        redactions: Option<Redactions>,
    },
}

fn plan_message(
    mut message: Message,
    id: Uuid,
    shared: &SharedFields<'_>,
    options: &PlanOptions<'_>,
) -> MessageOutcome {
    let tool_name = message
        .tool_name
        .take()
        .or_else(|| message.blocks.iter().find_map(|block| block.tool_name.clone()));
    let mut own_redactions = Redactions::default();
    let blocks = std::mem::take(&mut message.blocks);
    let Some(StoredTexts {
        content,
        kinds,
        truncated,
        cwd,
    }) = stored_texts(blocks, message.cwd.as_deref(), options, &mut own_redactions)
    else {
        // `prepare` found text in this mode; `render` keeps exactly that text.
        return MessageOutcome::Skipped(MessageSkip::NoText);
    };
    let session_id = message.origin_session_id.as_deref().unwrap_or(shared.own_id);
    // A message's own cwd and model replace the session's.
    let own_cwd = cwd.as_deref().filter(|cwd| !cwd.is_empty());
    let own_model = message.model.as_deref().filter(|model| !model.is_empty());
    let mut redactions = shared.session_redactions.of_row(OwnFacts {
        cwd: own_cwd.is_some(),
        model: own_model.is_some(),
    });
    redactions.merge(&own_redactions);
    let mut meta = JsonObject::with_capacity(
        shared
            .session_fields
            .iter()
            .map(|(_, field)| field.len() + 1)
            .sum::<usize>()
            + 256,
    );
    for (key, field) in shared.session_fields {
        let replaced =
            (key == "source_cwd" && own_cwd.is_some()) || (key == "source_model" && own_model.is_some());
        if !replaced {
            meta.push_field(field);
        }
    }
    meta.put("source_session_id", Some(session_id));
    meta.put("source_message_id", Some(&message.id));
    meta.put("source_message_role", Some(message.role.as_str()));
    meta.push("source_message_block_kinds", &kinds);
    meta.put("source_cwd", own_cwd);
    meta.put("source_model", own_model);
    meta.put("source_tool_name", tool_name.as_deref());
    // Where the message starts in its file, so `show` keeps the order of messages that share a time.
    if message.line > 0 {
        meta.push("source_line", &message.line);
    }
    if truncated {
        meta.push("content_truncated", &true);
    }
    let redactions = (!redactions.is_empty()).then(|| {
        meta.push("redactions", &redactions);
        redactions
    });
    MessageOutcome::Planned {
        row: PlannedRow::Whole(PlannedMemory {
            id,
            content,
            meta: meta.finish(),
            tree: shared.tree.to_owned(),
            at: message.timestamp,
        }),
        truncated,
        redactions,
    }
}
