//! Planning: turns filtered sessions into the exact rows to store (ids, content, meta, trees).
//!
//! Pure: no I/O. Given the same sessions, slugs and options it produces the same rows.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::git::{strip_credentials, GitFacts};
use crate::id::memory_id;
use crate::model::{Block, BlockKind, Message, Session, Tool};
use crate::redact::{Redactions, Redactor};
use crate::scope::TimeWindow;

/// Written into every row's meta; rows carrying another version are re-rendered.
pub const IMPORTER_VERSION: &str = "memtree-1";

/// The meta keys that say how a row was rendered. A stored row whose values for all of them
/// equal the planned row's is current and left untouched; otherwise it is rewritten in place.
pub const RENDERING_KEYS: [&str; 3] = ["importer_version", "content_mode", "secrets_redacted"];

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

/// One row to store in the memory table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedMemory {
    pub id: Uuid,
    pub content: String,
    /// A JSON object, as text: a row's meta is only ever sent to the database, so it is
    /// serialised once when planned instead of being held as a tree of values. Its
    /// [`RENDERING_KEYS`] decide whether a stored row is current.
    pub meta: String,
    /// `<tree-root>.<project_slug>.<sessions-node-name>`.
    pub tree: String,
    /// The message's time; stored as the point range `[at, at]`.
    pub at: DateTime<Utc>,
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

pub use crate::limits::MAX_CONTENT_BYTES;

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
    rows: Vec<Result<PreparedRow, MessageSkip>>,
}

/// A message that can become a row, as [`RowOutput`] asked for it.
#[derive(Debug)]
enum PreparedRow {
    /// To be rendered whole once the session's project is known.
    Whole(Uuid, Message),
    /// To be planned as an id: what the report counts of its row, its texts already dropped.
    Counted(Uuid, RowCounts),
}

impl PreparedRow {
    fn id(&self) -> Uuid {
        match self {
            PreparedRow::Whole(id, _) | PreparedRow::Counted(id, _) => *id,
        }
    }
}

/// What the report counts of one row besides its session's facts.
#[derive(Debug)]
struct RowCounts {
    truncated: bool,
    /// Secrets replaced in the message's content and cwd.
    redactions: Redactions,
    /// The message's own facts, which replace the session's in its row (see [`OwnFacts`]).
    own: OwnFacts,
}

/// Which of a row's facts are the message's own, in place of its session's.
#[derive(Clone, Copy, Debug)]
struct OwnFacts {
    cwd: bool,
    model: bool,
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

/// The memory ids selected so far in a run, so that a message copied into several files is
/// stored once, from the first file selected.
///
/// A run selects hundreds of thousands of ids, in its order, between the parallel parts of its
/// work. In one set, each insert was a cache miss, and they all ran on one thread. The ids are
/// held in shards by their random bits instead: each shard is small enough to stay in cache, and
/// the shards are selected into in parallel. Equal ids share a shard, and each shard takes its
/// ids in run order, so every row is decided as one set in run order would decide it.
pub struct SelectedIds {
    shards: Vec<foldhash::HashSet<Uuid>>,
}

impl Default for SelectedIds {
    fn default() -> Self {
        SelectedIds {
            shards: (0..SELECTED_ID_SHARDS).map(|_| Default::default()).collect(),
        }
    }
}

/// Shards of [`SelectedIds`]: a power of two.
const SELECTED_ID_SHARDS: usize = 64;

impl SelectedIds {
    /// Selects the rows of `sessions`, in order: a row whose id an earlier row took (in these
    /// sessions or in an earlier selection) becomes a [`MessageSkip::Duplicate`].
    pub fn select(&mut self, sessions: &mut [PreparedSession]) {
        // Each row's place, by the shard of its id, in run order.
        let mut by_shard: Vec<Vec<(Uuid, usize, usize)>> = vec![Vec::new(); SELECTED_ID_SHARDS];
        for (session_index, session) in sessions.iter().enumerate() {
            for (row_index, row) in session.rows.iter().enumerate() {
                if let Ok(row) = row {
                    let id = row.id();
                    let shard = usize::from(id.as_bytes()[15]) & (SELECTED_ID_SHARDS - 1);
                    by_shard[shard].push((id, session_index, row_index));
                }
            }
        }
        let duplicates: Vec<(usize, usize)> = self
            .shards
            .par_iter_mut()
            .zip(by_shard)
            .flat_map_iter(|(shard, rows)| {
                shard.reserve(rows.len());
                rows.into_iter()
                    .filter(|(id, ..)| !shard.insert(*id))
                    .map(|(_, session_index, row_index)| (session_index, row_index))
                    .collect::<Vec<_>>()
            })
            .collect();
        for (session_index, row_index) in duplicates {
            sessions[session_index].rows[row_index] = Err(MessageSkip::Duplicate);
        }
    }
}

/// Plans the rows of one session: [`prepare`], [`SelectedIds::select`], then [`plan_prepared`].
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

/// A message's content and cwd as stored: rendered in this mode, secrets replaced (counted in
/// `redactions`), content bounded. `None` when this mode leaves no text.
fn stored_texts<'m>(
    blocks: Vec<Block>,
    cwd: Option<&'m str>,
    options: &PlanOptions<'_>,
    redactions: &mut Redactions,
) -> Option<StoredTexts<'m>> {
    let (content, kinds) = render(blocks, options.mode)?;
    // Before the size bound, so that a secret cut at the boundary is still recognised.
    // Replaced only when a secret was found: a giant clean text is never copied.
    let redacted = options
        .redactor
        .and_then(|redactor| match redactor.redact(&content, redactions) {
            Cow::Owned(redacted) => Some(redacted),
            Cow::Borrowed(_) => None,
        });
    let (content, truncated) = bound_content(redacted.unwrap_or(content));
    let cwd = cwd.map(|cwd| match options.redactor {
        Some(redactor) => redactor.redact(cwd, redactions),
        None => cwd.into(),
    });
    Some(StoredTexts {
        content,
        kinds,
        truncated,
        cwd,
    })
}

/// See [`stored_texts`].
struct StoredTexts<'m> {
    content: String,
    /// The kinds of the blocks the content was rendered from.
    kinds: BlockKinds,
    truncated: bool,
    cwd: Option<Cow<'m, str>>,
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

/// Meta shared by every message of a session.
fn session_meta(
    session: &Session,
    project: &ProjectContext,
    options: &PlanOptions<'_>,
) -> Map<String, Value> {
    let facts = &session.facts;
    let mut meta = Map::new();
    put(&mut meta, "type", Some("agent_session"));
    put(&mut meta, "source_tool", Some(session.tool.as_str()));
    put(&mut meta, "source_session_title", facts.title.as_deref());
    put(&mut meta, "source_cwd", facts.cwd.as_deref());
    put(&mut meta, "source_project_slug", Some(&project.slug));
    put(&mut meta, "source_git_root", project.git.root.as_deref());
    put(&mut meta, "source_git_branch", facts.git_branch.as_deref());
    put(
        &mut meta,
        "source_git_commit",
        facts.git_commit.as_deref().or(project.git.commit.as_deref()),
    );
    let recorded_repo = facts.git_repo.as_deref().map(strip_credentials);
    put(
        &mut meta,
        "source_git_repo",
        recorded_repo.as_deref().or(project.git.remote.as_deref()),
    );
    put(&mut meta, "source_tool_version", facts.tool_version.as_deref());
    put(&mut meta, "source_model", facts.model.as_deref());
    put(&mut meta, "source_provider", facts.provider.as_deref());
    put(&mut meta, "source_agent_mode", facts.agent_mode.as_deref());
    put(
        &mut meta,
        "source_parent_session_id",
        facts.parent_session_id.as_deref(),
    );
    if facts.is_sidechain {
        meta.insert("source_is_sidechain".to_owned(), true.into());
    }
    put(&mut meta, "source_file", Some(&session.source_file));
    put(
        &mut meta,
        "imported_at",
        Some(&options.imported_at.to_rfc3339_opts(SecondsFormat::Millis, true)),
    );
    meta.extend(rendering_keys(options));
    meta
}

/// A JSON object written as text, field by field.
struct JsonObject(Vec<u8>);

impl JsonObject {
    fn with_capacity(capacity: usize) -> JsonObject {
        let mut json = Vec::with_capacity(capacity);
        json.push(b'{');
        JsonObject(json)
    }

    /// One field, `"key":value`, as JSON text.
    fn field(key: &str, value: &impl Serialize) -> String {
        let mut object = JsonObject(Vec::new());
        object.write(key, value);
        String::from_utf8_lossy(&object.0).into_owned()
    }

    /// Appends a field made by [`JsonObject::field`].
    fn push_field(&mut self, field: &str) {
        self.separate();
        self.0.extend_from_slice(field.as_bytes());
    }

    fn push(&mut self, key: &str, value: &impl Serialize) {
        self.separate();
        self.write(key, value);
    }

    /// [`put`] for an object written as text.
    fn put(&mut self, key: &str, value: Option<&str>) {
        let Some(value) = value.filter(|value| !value.is_empty()) else {
            return;
        };
        if needs_no_escaping(value) {
            self.separate();
            self.write_str(key);
            self.0.extend_from_slice(b":\"");
            self.0.extend_from_slice(value.as_bytes());
            self.0.push(b'"');
        } else {
            self.push(key, &without_nul(value));
        }
    }

    /// A JSON string. Keys, ids, roles, paths and model names rarely need escaping: written as
    /// they are, they skip serde_json's byte-by-byte escaping, with the same bytes as a result.
    fn write_str(&mut self, text: &str) {
        if needs_no_escaping(text) {
            self.0.push(b'"');
            self.0.extend_from_slice(text.as_bytes());
            self.0.push(b'"');
        } else {
            // Writing a string into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.0, text);
        }
    }

    fn separate(&mut self) {
        if self.0.len() > 1 {
            self.0.push(b',');
        }
    }

    fn write(&mut self, key: &str, value: &impl Serialize) {
        self.write_str(key);
        self.0.push(b':');
        // Writing strings, string lists, booleans and counts into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.0, value);
    }

    fn finish(mut self) -> String {
        self.0.push(b'}');
        // serde_json writes UTF-8 only.
        String::from_utf8(self.0)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
    }
}

/// Whether serde_json would write `text` as it is between quotes: it escapes control characters
/// (NUL among them), `"` and `\` only.
fn needs_no_escaping(text: &str) -> bool {
    // No early exit: the compiler checks many bytes per instruction this way.
    !text.bytes().fold(false, |escape, byte| {
        escape | (byte < 0x20) | (byte == b'"') | (byte == b'\\')
    })
}

/// Sets `key` to a non-empty value; absent or empty facts are omitted, never stored as "".
fn put(meta: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(value) = value.filter(|value| !value.is_empty()) {
        let value = without_nul(value).into_owned();
        meta.insert(key.to_owned(), Value::String(value));
    }
}

/// PostgreSQL text and jsonb cannot hold U+0000: it would fail a whole write batch, so it
/// becomes U+FFFD. Copies `text` only when it holds a NUL. The one rule for every text memtree
/// stores: content and meta (here), ledger and project keys (`import`), and rows handed to the
/// store by any caller (`store::write`).
pub fn without_nul<'t>(text: impl Into<Cow<'t, str>>) -> Cow<'t, str> {
    let text = text.into();
    // memchr scans with SIMD; `str::contains` goes a word at a time.
    if memchr::memchr(0, text.as_bytes()).is_some() {
        Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        text
    }
}

/// Whether [`render`] leaves anything of these blocks in this mode (without rendering them).
fn has_content(blocks: &[Block], mode: ContentMode) -> bool {
    blocks.iter().any(|block| {
        (mode == ContentMode::FullTranscript || block.kind == BlockKind::Text)
            && !block.text.trim().is_empty()
    })
}

/// Renders the blocks this mode keeps: each trimmed at the end, empty ones dropped, joined by a
/// blank line. Returns the content and the kinds of the blocks it was made from, or `None` when
/// nothing is left. A message of one kept block (most are) keeps that block's text as it is,
/// without a copy.
pub fn render(blocks: Vec<Block>, mode: ContentMode) -> Option<(String, BlockKinds)> {
    let mut kept: Vec<Block> = blocks
        .into_iter()
        .filter(|block| mode == ContentMode::FullTranscript || block.kind == BlockKind::Text)
        .filter(|block| !block.text.trim().is_empty())
        .collect();
    let mut kinds = BlockKinds::default();
    for block in &kept {
        kinds.add(block.kind);
    }
    let content = match kept.len() {
        0 => return None,
        1 => {
            let mut text = std::mem::take(&mut kept[0].text);
            text.truncate(text.trim_end().len());
            text
        }
        _ => {
            let length = kept.iter().map(|block| block.text.len() + 2).sum();
            let mut content = String::with_capacity(length);
            for block in &kept {
                if !content.is_empty() {
                    content.push_str("\n\n");
                }
                content.push_str(block.text.trim_end());
            }
            content
        }
    };
    Some((content, kinds))
}

/// The kinds of the blocks a message's content was rendered from, each once, in the order they
/// first appear: a row's `source_message_block_kinds`. Held inline, as every message has some.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockKinds([Option<BlockKind>; BlockKind::ALL.len()]);

impl BlockKinds {
    fn add(&mut self, kind: BlockKind) {
        if let Some(slot) = self
            .0
            .iter_mut()
            .find(|slot| slot.is_none_or(|held| held == kind))
        {
            *slot = Some(kind);
        }
    }

    /// The kinds' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map_while(|kind| kind.map(BlockKind::as_str))
    }
}

impl Serialize for BlockKinds {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.names())
    }
}

/// Cuts content to [`MAX_CONTENT_BYTES`] with a visible marker, and removes NUL characters.
fn bound_content(content: String) -> (String, bool) {
    let mut content = without_nul(content).into_owned();
    if content.len() <= MAX_CONTENT_BYTES {
        return (content, false);
    }
    let mut cut = MAX_CONTENT_BYTES;
    while !content.is_char_boundary(cut) {
        cut -= 1;
    }
    let dropped = content.len() - cut;
    content.truncate(cut);
    // "At least": a string far over the bound was already cut while its line was read
    // (source::jsonl), so the bytes dropped here are not all that was dropped.
    content.push_str(&format!(
        "\n\n[memtree: at least {dropped} more bytes not stored]"
    ));
    (content, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, Role, SessionFacts, Tool};
    use chrono::TimeZone;

    #[test]
    fn id_only_plans_count_what_whole_plans_count_and_keys_are_every_rows() {
        let redactor = Redactor::new();
        let big = "x".repeat(MAX_CONTENT_BYTES + 1);
        let secret = "ghp_R8x2Lq9ZtV4mWc7NpK3sYd6HbF1jGe5QaU0o";
        let mut with_cwd = message("c", Role::User, vec![text(&format!("token {secret}"))]);
        with_cwd.cwd = Some(format!("/home/{secret}"));
        let mut late = message("late", Role::User, vec![text("after the window")]);
        late.timestamp = at(50);
        let session = session(vec![
            message("a", Role::User, vec![text("hello")]),
            message("b", Role::Assistant, vec![text(&big)]),
            with_cwd,
            message(
                "t",
                Role::Assistant,
                vec![Block::new(BlockKind::ToolUse, "Bash(ls)")],
            ),
            message("a", Role::User, vec![text("hello")]),
            late,
        ]);
        let mut options = options(ContentMode::Default);
        options.redactor = Some(&redactor);
        options.window = TimeWindow {
            since: None,
            until: Some(at(10)),
        };
        // The session planned whole and as ids, each as the first of its run.
        let plans = |session: &Session| {
            let plan = |output| {
                let mut prepared = prepare(session.clone(), &options, output);
                SelectedIds::default().select(std::slice::from_mut(&mut prepared));
                plan_prepared(prepared, &project(), &options)
            };
            (plan(RowOutput::Whole), plan(RowOutput::IdOnly))
        };
        let (whole, id_only) = plans(&session);
        let whole_ids: Vec<Uuid> = whole.memories.iter().map(|row| row.id).collect();
        assert_eq!(
            whole_ids.len(),
            3,
            "a, b and c; t has no text, a repeats, late is out"
        );
        assert_eq!(id_only.ids, whole_ids);
        assert!(id_only.memories.is_empty());
        assert_eq!((id_only.rows(), whole.rows()), (3, 3));
        assert_eq!((id_only.truncated, whole.truncated), (1, 1));
        assert_eq!(id_only.redactions, whole.redactions);
        assert_eq!(
            whole.redactions.get(crate::redact::SecretKind::GithubToken),
            2,
            "content and cwd"
        );
        assert_eq!(id_only.skipped, whole.skipped);
        assert_eq!(whole.skipped.len(), 3);
        let keys = Value::Object(rendering_keys(&options));
        for row in &whole.memories {
            let meta = meta_of(row);
            for key in RENDERING_KEYS {
                assert_eq!(meta[key], keys[key], "{key}");
            }
        }
        assert_eq!(keys.as_object().map(Map::len), Some(RENDERING_KEYS.len()));

        // A secret in a session fact counts once per row, with or without meta.
        let mut titled = session.clone();
        titled.facts.title = Some(format!("use {secret}"));
        let (whole, id_only) = plans(&titled);
        assert_eq!(
            whole.redactions.get(crate::redact::SecretKind::GithubToken),
            5,
            "the title in each of 3 rows, content and cwd"
        );
        assert_eq!(id_only.redactions, whole.redactions);

        // A message's own cwd replaces the session's in its row: a secret in both counts once
        // there, and the session's counts in the rows without a cwd of their own.
        let mut in_cwd = session.clone();
        in_cwd.facts.cwd = Some(format!("/home/{secret}"));
        let (whole, id_only) = plans(&in_cwd);
        let github = |row: &PlannedMemory| meta_of(row)["redactions"]["github_token"].as_u64();
        let per_row: Vec<Option<u64>> = whole.memories.iter().map(github).collect();
        assert_eq!(
            per_row,
            [Some(1), Some(1), Some(2)],
            "a and b: the session's cwd; c: its content and its own cwd"
        );
        assert_eq!(whole.redactions.get(crate::redact::SecretKind::GithubToken), 4);
        assert_eq!(id_only.redactions, whole.redactions);
    }

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 4, 1, 10, 0, second).unwrap()
    }

    fn message(id: &str, role: Role, blocks: Vec<Block>) -> Message {
        Message {
            id: id.to_owned(),
            origin_session_id: None,
            timestamp: at(1),
            role,
            blocks,
            tool_name: None,
            model: None,
            cwd: None,
            line: 1,
        }
    }

    fn session(messages: Vec<Message>) -> Session {
        Session {
            tool: Tool::named("claude"),
            id: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee".to_owned(),
            source_file: "/home/u/.claude/projects/-p/a.jsonl".to_owned(),
            facts: SessionFacts {
                cwd: Some("/p".to_owned()),
                git_branch: Some(String::new()),
                model: Some("claude-opus-4-5".to_owned()),
                ..SessionFacts::default()
            },
            messages,
        }
    }

    fn project() -> ProjectContext {
        ProjectContext {
            slug: "p".to_owned(),
            git: GitFacts::default(),
        }
    }

    fn options(mode: ContentMode) -> PlanOptions<'static> {
        PlanOptions {
            tree_root: "projects",
            sessions_node_name: "agent_sessions",
            mode,
            window: TimeWindow::default(),
            imported_at: at(59),
            redactor: None,
        }
    }

    pub(super) fn meta_of(row: &PlannedMemory) -> Value {
        serde_json::from_str(&row.meta).expect("meta is a JSON object")
    }

    /// The plan of `session` alone in the default mode.
    fn plan_default(session: Session) -> SessionPlan {
        plan_session(
            session,
            &project(),
            &options(ContentMode::Default),
            &mut Default::default(),
        )
    }

    fn text(text: &str) -> Block {
        Block::new(BlockKind::Text, text)
    }

    /// [`render`]'s content and block kinds' names.
    fn rendered(blocks: Vec<Block>, mode: ContentMode) -> Option<(String, Vec<&'static str>)> {
        render(blocks, mode).map(|(content, kinds)| (content, kinds.names().collect()))
    }

    #[test]
    fn block_kinds_are_named_once_each_in_the_order_they_first_appear() {
        let mut kinds = BlockKinds::default();
        for kind in [
            BlockKind::ToolResult,
            BlockKind::Text,
            BlockKind::ToolResult,
            BlockKind::System,
            BlockKind::Thinking,
            BlockKind::Text,
            BlockKind::ToolUse,
        ] {
            kinds.add(kind);
        }
        let names = ["tool_result", "text", "system", "thinking", "tool_use"];
        assert_eq!(kinds.names().collect::<Vec<_>>(), names);
        assert_eq!(serde_json::to_value(kinds).unwrap(), serde_json::json!(names));
        assert_eq!(
            serde_json::to_value(BlockKinds::default()).unwrap(),
            serde_json::json!([])
        );
    }

    #[test]
    fn default_mode_renders_text_only_and_full_mode_everything() {
        let blocks = vec![
            Block::new(BlockKind::Thinking, "hmm"),
            text("answer  \n"),
            Block::with_tool(BlockKind::ToolUse, "Read({})", "Read"),
            text("   "),
        ];
        assert_eq!(
            rendered(blocks.clone(), ContentMode::Default),
            Some(("answer".to_owned(), vec!["text"]))
        );
        assert_eq!(
            rendered(blocks, ContentMode::FullTranscript),
            Some((
                "hmm\n\nanswer\n\nRead({})".to_owned(),
                vec!["thinking", "text", "tool_use"]
            ))
        );
        let tool_only = vec![Block::new(BlockKind::ToolResult, "output")];
        assert_eq!(render(tool_only, ContentMode::Default), None);
    }

    #[test]
    fn rows_carry_reference_ids_trees_and_meta_without_empty_facts() {
        let session = session(vec![message("user-1", Role::User, vec![text("hello")])]);
        let plan = plan_default(session.clone());
        let row = &plan.memories[0];
        assert_eq!(row.id.to_string(), "019d487c-54e8-7f5b-b31f-90dcb043b69f");
        assert_eq!(row.tree, "projects.p.agent_sessions");
        assert_eq!(row.content, "hello");
        let meta = meta_of(row);
        let meta = meta.as_object().unwrap();
        assert_eq!(meta["type"], "agent_session");
        assert_eq!(meta["source_session_id"], session.id.as_str());
        assert_eq!(meta["source_message_role"], "user");
        assert_eq!(meta["source_message_block_kinds"], serde_json::json!(["text"]));
        assert_eq!(meta["content_mode"], "default");
        assert_eq!(meta["importer_version"], IMPORTER_VERSION);
        assert_eq!(meta["imported_at"], "2026-04-01T10:00:59.000Z");
        assert!(!meta.contains_key("source_git_branch"), "empty facts are omitted");
        assert!(!meta.contains_key("source_git_root"));
    }

    #[test]
    fn selecting_in_shards_decides_as_one_set_in_run_order() {
        // Ids from a small pool, so that they repeat within a session, across sessions and
        // across selections; some rows were skipped before they were selected.
        let pool: Vec<Uuid> = (0..300)
            .map(|n| memory_id(Tool::named("claude"), "s", &n.to_string(), at(0)))
            .collect();
        let mut state = 7u64;
        let mut next = move |below: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize % below
        };
        let counts = || RowCounts {
            truncated: false,
            redactions: Redactions::default(),
            own: OwnFacts {
                cwd: false,
                model: false,
            },
        };
        let mut one_set = std::collections::HashSet::new();
        let mut selected = SelectedIds::default();
        let mut duplicates = 0;
        for _ in 0..5 {
            let mut sessions: Vec<PreparedSession> = (0..8)
                .map(|_| PreparedSession {
                    session: session(Vec::new()),
                    rows: (0..next(60))
                        .map(|_| match next(10) {
                            0 => Err(MessageSkip::NoText),
                            _ => Ok(PreparedRow::Counted(pool[next(pool.len())], counts())),
                        })
                        .collect(),
                })
                .collect();
            let as_one_set: Vec<Vec<bool>> = sessions
                .iter()
                .map(|session| {
                    let rows = session.rows.iter();
                    rows.map(|row| row.as_ref().is_ok_and(|row| !one_set.insert(row.id())))
                        .collect()
                })
                .collect();
            selected.select(&mut sessions);
            let taken_as_duplicates: Vec<Vec<bool>> = sessions
                .iter()
                .map(|session| {
                    let rows = session.rows.iter();
                    rows.map(|row| matches!(row, Err(MessageSkip::Duplicate)))
                        .collect()
                })
                .collect();
            assert_eq!(taken_as_duplicates, as_one_set);
            duplicates += as_one_set
                .iter()
                .flatten()
                .filter(|duplicate| **duplicate)
                .count();
        }
        assert!(duplicates > 100, "the pool repeats ids: {duplicates} duplicates");
    }

    #[test]
    fn copied_messages_keep_their_origin_id_and_are_planned_once() {
        let mut copy = message("user-1", Role::User, vec![text("hello")]);
        copy.origin_session_id = Some("older-session".to_owned());
        let first = session(vec![copy.clone()]);
        let mut seen = SelectedIds::default();
        let plan = plan_session(
            first.clone(),
            &project(),
            &options(ContentMode::Default),
            &mut seen,
        );
        assert_eq!(meta_of(&plan.memories[0])["source_session_id"], "older-session");
        let again = plan_session(
            first.clone(),
            &project(),
            &options(ContentMode::Default),
            &mut seen,
        );
        assert!(again.memories.is_empty());
        assert_eq!(again.skipped[&MessageSkip::Duplicate], 1);
    }

    #[test]
    fn messages_outside_the_window_or_without_text_are_counted() {
        let messages = vec![
            message("a", Role::User, vec![text("in")]),
            message(
                "b",
                Role::ToolResult,
                vec![Block::new(BlockKind::ToolResult, "x")],
            ),
        ];
        let mut late = message("c", Role::User, vec![text("late")]);
        late.timestamp = at(30);
        let session = session(messages.into_iter().chain([late]).collect());
        let mut options = options(ContentMode::Default);
        options.window.until = Some(at(10));
        let plan = plan_session(session, &project(), &options, &mut Default::default());
        assert_eq!(plan.memories.len(), 1);
        assert_eq!(plan.skipped[&MessageSkip::NoText], 1);
        assert_eq!(plan.skipped[&MessageSkip::OutsideWindow], 1);
    }

    #[test]
    fn nul_characters_never_reach_the_database() {
        let mut session = session(vec![message("m\0", Role::User, vec![text("a\0b")])]);
        session.facts.title = Some("t\0".to_owned());
        let plan = plan_default(session);
        let row = &plan.memories[0];
        assert_eq!(row.content, "a\u{fffd}b");
        assert!(!row.meta.contains("\\u0000"));
    }

    #[test]
    fn giant_content_is_cut_at_a_char_boundary_and_marked() {
        let big = "é".repeat(MAX_CONTENT_BYTES);
        let session = session(vec![message("m", Role::User, vec![text(&big)])]);
        let plan = plan_default(session);
        let row = &plan.memories[0];
        assert!(row.content.len() < MAX_CONTENT_BYTES + 100);
        assert!(row.content.ends_with("more bytes not stored]"));
        assert_eq!(meta_of(row)["content_truncated"], true);
        assert_eq!(plan.truncated, 1);
    }

    #[test]
    fn meta_text_is_what_serde_json_writes() {
        let values = [
            "plain /home/dev/src-app é ✓ \u{7f}",
            "a \"quoted\" word",
            "back\\slash",
            "tab\tand\nnewline\r",
            "bell\u{7}",
            "nul\0inside",
            "\u{1f}",
        ];
        for value in values {
            let mut meta = JsonObject::with_capacity(0);
            meta.put("key", Some(value));
            meta.put("empty", Some(""));
            meta.put("absent", None);
            let expected = serde_json::json!({ "key": value.replace('\0', "\u{fffd}") }).to_string();
            assert_eq!(meta.finish(), expected, "{value:?}");
        }
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::tests::meta_of;
    use super::*;
    use crate::model::{Message, Role, SessionFacts, Tool};

    #[test]
    fn secrets_are_replaced_in_content_and_meta_and_counted_per_row() {
        let redactor = Redactor::new();
        let at = DateTime::from_timestamp(1_770_000_000, 0).unwrap();
        let secret = "ghp_R8x2Lq9ZtV4mWc7NpK3sYd6HbF1jGe5QaU0o";
        let session = Session {
            tool: Tool::named("claude"),
            id: "s".to_owned(),
            source_file: "/f.jsonl".to_owned(),
            facts: SessionFacts {
                git_repo: Some("https://github.com/o/r.git".to_owned()),
                title: Some(format!("use {secret} please")),
                ..SessionFacts::default()
            },
            messages: vec![Message {
                id: "m".to_owned(),
                origin_session_id: None,
                timestamp: at,
                role: Role::User,
                blocks: vec![Block::new(
                    BlockKind::Text,
                    format!("export GITHUB_TOKEN={secret}"),
                )],
                tool_name: None,
                model: None,
                cwd: None,
                line: 1,
            }],
        };
        let project = ProjectContext {
            slug: "p".to_owned(),
            git: GitFacts::default(),
        };
        let mut options = PlanOptions {
            tree_root: "projects",
            sessions_node_name: "agent_sessions",
            mode: ContentMode::Default,
            window: TimeWindow::default(),
            imported_at: at,
            redactor: Some(&redactor),
        };
        let plan = plan_session(session.clone(), &project, &options, &mut Default::default());
        let row = &plan.memories[0];
        assert!(!row.content.contains(secret) && !row.meta.contains(secret));
        assert!(row.content.contains("[REDACTED:github_token]"), "{}", row.content);
        assert_eq!(
            meta_of(row)["redactions"]["github_token"],
            2,
            "one in the content, one in the title"
        );
        assert_eq!(plan.redactions.get(crate::redact::SecretKind::GithubToken), 2);
        assert_eq!(meta_of(row)["source_message_id"], "m");

        options.redactor = None;
        let plan = plan_session(session, &project, &options, &mut Default::default());
        assert!(
            plan.memories[0].content.contains(secret),
            "--no-redact keeps the text as it is"
        );
        assert!(meta_of(&plan.memories[0]).get("redactions").is_none());
    }
}
