//! Builds one Codex session from its records in file order: session facts, turn state (model,
//! cwd), the fork replay, noise removal, message ids and timestamps (formats.md section 2).
//!
//! Message ids: the item's native `id` where it has one; a call's `call_id` for the call and
//! `<call_id>:output` for its output (two messages, never one shared id: reference pitfall 2);
//! otherwise the record's position in the file, `ordinal:<n>` when the line carries the tool's own
//! running number and `line:<n>` when it does not (`item:<i>` in a `.json` document). A position
//! never changes when the file grows (Codex only appends), does not depend on how many noise
//! records before it were dropped (reference pitfall 3), and survives zstd recompression, which
//! keeps every line. Forked files do not need ids shared with their parent because their replayed
//! prefix is skipped (see [`SessionBuilder::observe_session_meta`]).
//!
//! A rollout whose messages pass the read's budget is counted instead of held once past it
//! ([`Counted`], `source::parts`): whether a user item is kept and when an undated message is
//! are only known at the end, so the count keeps them apart until then.

use chrono::{DateTime, TimeDelta, Utc};
// Ids are hashed for every message: foldhash is several times cheaper than SipHash.
use foldhash::{HashMap, HashSet};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Block, BlockKind, Message, Role, Session, SessionFacts};
use crate::scope::MessageTally;
use crate::source::own_fact;
use crate::source::parts::{text_bytes, PartBudget};
use crate::source::timestamp::parse_rfc3339;

use super::pending::{keeps, settle, Counted, Pending};
use super::prompt::{environment_cwd, is_injected_context, prompt_title};
use super::record::{owned, part_texts, raw_text, str_field, value_text, Record};

/// Codex writes a fork's copied history in one burst, every line stamped with the instant of
/// writing; the forked session's own records start when the user (or model) next acts. A gap
/// longer than this between two records ends the copied burst.
const REPLAY_BURST_GAP: TimeDelta = TimeDelta::seconds(1);

/// Where a record sits in its file; synthetic message ids derive from it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Position {
    /// A JSONL line (1-based) and the `ordinal` it carries, if any.
    Line { line: u64, ordinal: Option<u64> },
    /// An entry of a `.json` document's `items` array (0-based).
    Item(usize),
}

impl Position {
    fn synthetic_id(self) -> String {
        match self {
            Position::Line {
                ordinal: Some(ordinal),
                ..
            } => format!("ordinal:{ordinal}"),
            Position::Line { line, .. } => format!("line:{line}"),
            Position::Item(index) => format!("item:{index}"),
        }
    }

    fn line(self) -> u64 {
        match self {
            Position::Line { line, .. } => line,
            Position::Item(_) => 0,
        }
    }
}

/// What a call item records: the tool and the text of its `tool_use` block.
pub(super) struct Call<'a> {
    pub native_id: Option<&'a str>,
    pub call_id: Option<&'a str>,
    pub tool_name: String,
    pub text: String,
}

/// Accumulates one session while its records are read in order. All but the messages is carried
/// to the next read in a checkpoint.
#[derive(Default, Serialize, Deserialize)]
pub(super) struct SessionBuilder {
    own_id: Option<String>,
    facts: SessionFacts,
    /// `<cwd>` of the first `<environment_context>`: the only cwd the bare-line era records.
    context_cwd: Option<String>,
    /// The model and cwd of the latest `turn_context`.
    turn_model: Option<String>,
    turn_cwd: Option<String>,
    last_timestamp: Option<DateTime<Utc>>,
    first_timestamp: Option<DateTime<Utc>>,
    /// Set while inside a fork's copied history: the time of its latest record.
    replay_until: Option<DateTime<Utc>>,
    call_tools: HashMap<String, String>,
    used_ids: HashSet<String>,
    saw_user_events: bool,
    /// The file is of the wrapped era (`{timestamp,type,payload}` lines), which records
    /// `user_message` events.
    wrapped: bool,
    /// The title, settled when a read ends with messages (the first prompt's).
    title: Option<String>,
    #[serde(skip)]
    pending: Vec<Pending>,
    /// Text bytes of `pending`.
    #[serde(skip)]
    pending_bytes: u64,
    /// Pending text past which messages are counted instead of held (`None`: all are held).
    #[serde(skip)]
    budget: Option<PartBudget>,
    /// Set once `pending` passed the budget: the messages read since are counted here.
    #[serde(skip)]
    counted: Option<Counted>,
    /// Read on from a checkpoint: only the messages after it are here.
    #[serde(skip)]
    resumed: bool,
}

impl SessionBuilder {
    /// Notes a record's timestamp (an unparseable one counts as absent) and returns it.
    pub fn observe_time(&mut self, timestamp: Option<&str>) -> Option<DateTime<Utc>> {
        let at = timestamp.and_then(parse_rfc3339)?;
        self.first_timestamp.get_or_insert(at);
        self.last_timestamp = Some(at);
        Some(at)
    }

    /// Whether a record at `at` belongs to a fork's copied history and must be skipped.
    pub fn in_replay(&mut self, at: Option<DateTime<Utc>>) -> bool {
        let Some(until) = self.replay_until else {
            return false;
        };
        match at {
            Some(at) if at - until > REPLAY_BURST_GAP => {
                self.replay_until = None;
                false
            }
            Some(at) => {
                self.replay_until = Some(until.max(at));
                true
            }
            None => true,
        }
    }

    /// A `session_meta` (or the bare-line era's first line). The first one describes this
    /// session. One naming another session id is a copy of an ancestor's meta: Codex writes a
    /// fork as its own meta, then the parent's whole rollout (metas included) re-stamped to the
    /// fork instant. Those copied messages are the parent's: they were imported from the parent's
    /// file under the parent's ids and original times, which this file no longer has, so
    /// importing them again would duplicate them under new ids. They are skipped.
    pub fn observe_session_meta(&mut self, meta: &Record, line_time: Option<DateTime<Utc>>) {
        let meta_id = meta.id.as_ref().or(meta.session_id.as_ref());
        let is_own = match (&self.own_id, meta_id) {
            (Some(own), Some(id)) => own == id,
            (Some(_), None) => false,
            (None, _) => true,
        };
        if !is_own {
            if let Some(id) = meta_id {
                self.facts.parent_session_id.get_or_insert_with(|| id.to_string());
            }
            self.start_replay(line_time);
            return;
        }
        if self.own_id.is_none() {
            self.own_id = meta_id.map(|id| id.to_string());
        }
        let facts = &mut self.facts;
        let started = meta.timestamp.as_deref().and_then(parse_rfc3339);
        fill(&mut facts.started_at, started.or(line_time));
        fill(&mut facts.cwd, owned(&meta.cwd));
        fill(&mut facts.tool_version, owned(&meta.cli_version));
        fill(&mut facts.originator, owned(&meta.originator));
        fill(&mut facts.provider, owned(&meta.model_provider));
        let git = meta.git.as_ref();
        fill(
            &mut facts.git_commit,
            str_field(git, "commit_hash").map(str::to_owned),
        );
        fill(&mut facts.git_branch, str_field(git, "branch").map(str::to_owned));
        fill(
            &mut facts.git_repo,
            str_field(git, "repository_url").map(str::to_owned),
        );
        let subagent = meta.source.as_ref().and_then(|source| source.get("subagent"));
        let spawn_parent = subagent
            .and_then(|subagent| subagent.get("thread_spawn"))
            .and_then(|spawn| str_field(Some(spawn), "parent_thread_id"));
        let thread_source_is_subagent = match &meta.thread_source {
            Some(Value::String(source)) => source.to_ascii_lowercase().contains("subagent"),
            Some(Value::Object(object)) => object.contains_key("subagent"),
            _ => false,
        };
        if subagent.is_some()
            || thread_source_is_subagent
            || meta.agent_role.is_some()
            || meta.parent_thread_id.is_some()
        {
            facts.is_sidechain = true;
        }
        fill(
            &mut facts.parent_session_id,
            spawn_parent
                .map(str::to_owned)
                .or_else(|| owned(&meta.parent_thread_id)),
        );
        if let Some(forked_from) = &meta.forked_from_id {
            fill(&mut facts.parent_session_id, Some(forked_from.to_string()));
            self.start_replay(line_time);
        }
    }

    fn start_replay(&mut self, at: Option<DateTime<Utc>>) {
        if let Some(at) = at.or(self.last_timestamp) {
            self.replay_until = Some(self.replay_until.map_or(at, |until| until.max(at)));
        }
    }

    /// A `turn_context`: the model (and cwd) in force from here on.
    pub fn observe_turn_context(&mut self, context: &Record) {
        if let Some(model) = &context.model {
            self.turn_model = Some(model.to_string());
            fill(&mut self.facts.model, Some(model.to_string()));
        }
        if let Some(cwd) = &context.cwd {
            self.turn_cwd = Some(cwd.to_string());
        }
    }

    /// An `event_msg/user_message`: the user's prompt without injected context.
    pub fn observe_user_event(&mut self, event: &Record, position: Position, at: Option<DateTime<Utc>>) {
        self.saw_user_events = true;
        let text = raw_text(event.message);
        if !text.trim().is_empty() {
            let block = Block::new(BlockKind::Text, text);
            self.push(
                position.synthetic_id(),
                position,
                at,
                Role::User,
                vec![block],
                None,
            );
        }
    }

    /// One response item (wrapped, bare or from a `.json` document).
    pub fn observe_item(&mut self, item: &Record, position: Position, at: Option<DateTime<Utc>>) {
        let id = || owned(&item.id).unwrap_or_else(|| position.synthetic_id());
        match item.kind.as_deref() {
            Some("message") => {
                let texts = part_texts(item.content.as_ref());
                self.observe_role_message(item.role.as_deref(), &texts, id(), position, at);
            }
            Some("reasoning") => {
                let summary = part_texts(item.summary.as_ref());
                // Older models wrote readable reasoning in `content` and no summary; the
                // `encrypted_content` blob is never read.
                let texts = if summary.is_empty() {
                    part_texts(item.content.as_ref())
                } else {
                    summary
                };
                self.push_reasoning(&texts.join("\n\n"), id(), position, at);
            }
            Some("function_call") => {
                self.push_call(call(item, "function", &raw_text(item.arguments)), position, at)
            }
            Some("custom_tool_call") => {
                self.push_call(call(item, "custom_tool", &raw_text(item.input)), position, at)
            }
            Some("local_shell_call") => {
                let command = item.action.as_ref().and_then(|action| action.get("command"));
                let command = match command {
                    Some(Value::Array(words)) => words
                        .iter()
                        .map(|word| value_text(Some(word)))
                        .collect::<Vec<_>>()
                        .join(" "),
                    other => value_text(other.or(item.action.as_ref())),
                };
                self.push_call(call(item, "local_shell", &command), position, at);
            }
            Some("web_search_call") => {
                let action = item.action.as_ref();
                let query = str_field(action, "query").map(str::to_owned).unwrap_or_else(|| {
                    value_text(action.and_then(|action| action.get("queries")).or(action))
                });
                self.push_call(call(item, "web_search", &query), position, at);
            }
            Some(kind) if kind.ends_with("_call_output") => {
                self.push_output(
                    item.id.as_deref(),
                    item.call_id.as_deref(),
                    raw_text(item.output),
                    position,
                    at,
                );
            }
            // ghost_snapshot (undo bookkeeping), compaction items and kinds added later.
            _ => {}
        }
    }

    /// A message item by role: user text minus injected context, assistant and system text;
    /// developer (permission/sandbox) messages are dropped.
    pub fn observe_role_message(
        &mut self,
        role: Option<&str>,
        texts: &[&str],
        id: String,
        position: Position,
        at: Option<DateTime<Utc>>,
    ) {
        let (role, kind) = match role {
            Some("user") => (Role::User, BlockKind::Text),
            Some("assistant") => (Role::Assistant, BlockKind::Text),
            Some("system") => (Role::System, BlockKind::System),
            _ => return,
        };
        let mut kept = Vec::new();
        for text in texts {
            if role == Role::User && is_injected_context(text) {
                if self.context_cwd.is_none() {
                    self.context_cwd = environment_cwd(text);
                }
            } else if !text.trim().is_empty() {
                kept.push(*text);
            }
        }
        if kept.is_empty() {
            return;
        }
        let block = Block::new(kind, kept.join("\n"));
        let mut pending = self.pending_message(id, position, at, role, vec![block], None);
        pending.user_item = role == Role::User;
        self.hold(pending);
    }

    pub fn push_reasoning(&mut self, text: &str, id: String, position: Position, at: Option<DateTime<Utc>>) {
        if !text.trim().is_empty() {
            let block = Block::new(BlockKind::Thinking, text);
            self.push(id, position, at, Role::Reasoning, vec![block], None);
        }
    }

    pub fn push_call(&mut self, call: Call<'_>, position: Position, at: Option<DateTime<Utc>>) {
        if let Some(call_id) = call.call_id {
            self.call_tools.insert(call_id.to_owned(), call.tool_name.clone());
        }
        let id = call
            .native_id
            .or(call.call_id)
            .map_or_else(|| position.synthetic_id(), str::to_owned);
        let block = Block::with_tool(BlockKind::ToolUse, call.text, call.tool_name.clone());
        self.push(
            id,
            position,
            at,
            Role::ToolCall,
            vec![block],
            Some(call.tool_name),
        );
    }

    pub fn push_output(
        &mut self,
        native_id: Option<&str>,
        call_id: Option<&str>,
        text: String,
        position: Position,
        at: Option<DateTime<Utc>>,
    ) {
        let tool_name = call_id.and_then(|call_id| self.call_tools.get(call_id)).cloned();
        let id = match (native_id, call_id) {
            (Some(native), _) => native.to_owned(),
            (None, Some(call_id)) => format!("{call_id}:output"),
            (None, None) => position.synthetic_id(),
        };
        let block = Block {
            kind: BlockKind::ToolResult,
            text,
            tool_name: tool_name.clone(),
        };
        self.push(id, position, at, Role::ToolResult, vec![block], tool_name);
    }

    fn push(
        &mut self,
        id: String,
        position: Position,
        at: Option<DateTime<Utc>>,
        role: Role,
        blocks: Vec<Block>,
        tool_name: Option<String>,
    ) {
        let pending = self.pending_message(id, position, at, role, blocks, tool_name);
        self.hold(pending);
    }

    /// Holds a message read, or counts it once the held text passed the budget.
    fn hold(&mut self, pending: Pending) {
        if let Some(counted) = &mut self.counted {
            counted.count(&pending);
            return;
        }
        self.pending_bytes += text_bytes(&pending.message);
        self.pending.push(pending);
        if let Some(budget) = self
            .budget
            .filter(|budget| !budget.holds_whole(self.pending_bytes))
        {
            let mut counted = Counted::new(&budget);
            for pending in self.take_pending() {
                counted.count(&pending);
            }
            self.counted = Some(counted);
        }
    }

    fn take_pending(&mut self) -> Vec<Pending> {
        self.pending_bytes = 0;
        std::mem::take(&mut self.pending)
    }

    fn pending_message(
        &mut self,
        id: String,
        position: Position,
        at: Option<DateTime<Utc>>,
        role: Role,
        blocks: Vec<Block>,
        tool_name: Option<String>,
    ) -> Pending {
        // Ids must be unique within a session; a repeated native or call id (some providers
        // number calls per turn) keeps its first use and gets the position appended after that.
        let id = if self.used_ids.contains(&id) {
            format!("{id}@{}", position.synthetic_id())
        } else {
            id
        };
        self.used_ids.insert(id.clone());
        let at = at.or(self.last_timestamp);
        Pending {
            message: Message {
                id,
                origin_session_id: None,
                timestamp: at.unwrap_or(DateTime::UNIX_EPOCH),
                role,
                blocks,
                tool_name,
                // A user prompt precedes its turn's `turn_context`: the model in force is only
                // known for what the turn produced. The session's model and cwd never change
                // once known; a message made before they are known keeps its own.
                model: if role == Role::User {
                    None
                } else {
                    own_fact(self.turn_model.as_deref(), self.facts.model.as_deref())
                },
                cwd: own_fact(self.turn_cwd.as_deref(), self.facts.cwd.as_deref()),
                line: position.line(),
            },
            undated: at.is_none(),
            user_item: false,
        }
    }

    /// A builder going on from a checkpoint's state.
    pub fn resumed(mut self) -> Self {
        self.resumed = true;
        self
    }

    /// Counts the messages instead of holding them once their text passes `budget`.
    pub fn within(mut self, budget: PartBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Text bytes of the messages held.
    pub fn held_bytes(&self) -> u64 {
        self.pending_bytes
    }

    /// Pass 2 (`source::parts`): the messages held, settled as `finish` settles them given what
    /// pass 1 found at the end: whether user items are kept, and the session's start.
    pub fn take_part(&mut self, user_items_kept: bool, start: DateTime<Utc>) -> Vec<Message> {
        self.take_pending()
            .into_iter()
            .filter_map(|pending| settle(pending, user_items_kept, start))
            .collect()
    }

    /// Whether a user item is kept: only when the file has no `user_message` event.
    pub fn user_items_kept(&self) -> bool {
        !self.saw_user_events
    }

    /// Fixes the title from the first prompt kept, once there is one.
    fn settle_title(&mut self) {
        if self.title.is_none() {
            let user_items_kept = self.user_items_kept();
            self.title = match &self.counted {
                Some(counted) => counted.title(user_items_kept),
                None => self
                    .pending
                    .iter()
                    .filter(|pending| keeps(pending, user_items_kept))
                    .find_map(|pending| prompt_title(&pending.message)),
            };
        }
    }

    /// Notes a line of the wrapped era.
    pub fn observe_wrapped_line(&mut self) {
        self.wrapped = true;
    }

    /// The state to go on from after this read, as JSON. None while a wrapped file has no
    /// `user_message` event yet: whether its user items are the prompts is only known once the
    /// first event arrives, so such a file is read whole next time.
    pub fn checkpoint_state(&mut self) -> Option<String> {
        if self.wrapped && !self.saw_user_events {
            return None;
        }
        self.settle_title();
        serde_json::to_string(self).ok()
    }

    /// Settles the session: the user-text source, timestamps, fallbacks and the title.
    /// `fallback_id` and `fallback_start` come from the file name. `None` when the read went on
    /// from a checkpoint and found no new message. A session whose messages were counted comes
    /// without them, with their tally.
    pub fn finish(
        mut self,
        source_file: String,
        fallback_id: String,
        fallback_start: Option<DateTime<Utc>>,
    ) -> Option<(Session, Option<MessageTally>)> {
        self.settle_title();
        let mut facts = std::mem::take(&mut self.facts);
        fill(&mut facts.started_at, self.first_timestamp.or(fallback_start));
        fill(&mut facts.cwd, self.context_cwd.take());
        facts.title = self.title.take();
        facts.resumed = self.resumed;
        let start = facts.started_at.unwrap_or(DateTime::UNIX_EPOCH);
        let user_items_kept = self.user_items_kept();
        let messages = self.take_part(user_items_kept, start);
        let tally = self
            .counted
            .as_ref()
            .map(|counted| counted.kept(user_items_kept, start));
        let read_none = tally.map_or(messages.is_empty(), |tally| tally.messages() == 0);
        if self.resumed && read_none {
            return None;
        }
        let session = Session {
            tool: super::TOOL,
            id: self.own_id.unwrap_or(fallback_id),
            source_file,
            facts,
            messages,
        };
        Some((session, tally))
    }
}

/// The call an item records, its input rendered as `name(input)`.
fn call<'a>(item: &'a Record, default_name: &str, input: &str) -> Call<'a> {
    let tool_name = owned(&item.name).unwrap_or_else(|| default_name.to_owned());
    let text = format!("{tool_name}({input})");
    Call {
        native_id: item.id.as_deref(),
        call_id: item.call_id.as_deref(),
        tool_name,
        text,
    }
}

fn fill<T>(slot: &mut Option<T>, value: Option<T>) {
    if slot.is_none() {
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0)
    }

    #[test]
    fn a_copied_burst_ends_at_the_first_gap_longer_than_a_second() {
        let mut builder = SessionBuilder::default();
        builder.start_replay(at(0));
        assert!(builder.in_replay(at(0)));
        assert!(builder.in_replay(at(1)));
        assert!(builder.in_replay(None));
        assert!(!builder.in_replay(at(5)));
        assert!(!builder.in_replay(at(5)), "the replay never restarts by itself");
    }

    #[test]
    fn repeated_ids_keep_the_first_and_disambiguate_the_rest() {
        let mut builder = SessionBuilder::default();
        for line in [3, 9] {
            let position = Position::Line { line, ordinal: None };
            let call = Call {
                native_id: None,
                call_id: Some("call_0"),
                tool_name: "shell".into(),
                text: "shell(ls)".into(),
            };
            builder.push_call(call, position, at(0));
        }
        let (session, _) = builder
            .finish("f".into(), "s".into(), None)
            .expect("a fresh read is a session");
        let ids: Vec<_> = session
            .messages
            .iter()
            .map(|message| message.id.as_str())
            .collect();
        assert_eq!(ids, ["call_0", "call_0@line:9"]);
    }
}
