//! Claude Code transcripts (formats.md §1): discovery, and parsing each JSONL file into a main
//! session and, for 1.0.x files with inline subagent lines, a sidechain session, with the noise
//! of formats.md §1.6 removed. A file whose messages pass the read's budget is read twice
//! (`source::parts`): its sessions come out outlined, and [`read_parts`] reads their messages in parts.

mod discover;
mod noise;
mod wire;

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
// Ids and tool names are hashed for every line: foldhash is several times cheaper than SipHash.
use foldhash::{HashMap, HashSet};
use serde::{Deserialize, Serialize};

use crate::env::{EnvLookup, Variable};
use crate::model::{Block, BlockKind, Diagnostic, DiagnosticKind, Message, Role, Session, SessionFacts, Tool};
use crate::scope::{MessageTally, ProjectScope};
use crate::source::json_string::string_literal_text;
use crate::source::parts::{Held, OutlinedSession, PartBudget, Reread};
use crate::source::resume::{self, ResumeRequest};
use crate::source::timestamp::parse_rfc3339;
use crate::source::{
    jsonl, open_listed_file, own_fact, Candidate, Discovery, ParseOutcome, Source, TranscriptParser, Unit,
};

use wire::{
    AgentMeta, BlockType, Content, ContentBlock, MessageField, Record, RecordKind, ToolResultPart,
    TranscriptLine,
};

/// Claude Code: one JSONL transcript per session.
pub struct Claude;

const TOOL: Tool = Tool::named("claude");

const CLAUDE_CONFIG_DIR: Variable = Variable::setting(
    "CLAUDE_CONFIG_DIR",
    "Claude Code's config directory (sessions in `$CLAUDE_CONFIG_DIR/projects`; default `~/.claude`)",
);

impl Source for Claude {
    fn tool(&self) -> Tool {
        TOOL
    }

    fn about(&self) -> &'static str {
        "Claude Code sessions (~/.claude/projects)"
    }

    fn layout(&self) -> &'static str {
        "`~/.claude` or `~/.claude/projects`, holding `<project>/<session>.jsonl`"
    }

    fn variables(&self) -> &'static [Variable] {
        &[CLAUDE_CONFIG_DIR]
    }

    fn default_roots(&self, env: EnvLookup<'_>) -> Vec<PathBuf> {
        discover::default_roots(env)
    }

    fn discover(&self, roots: &[PathBuf], scope: Option<&ProjectScope>) -> Discovery {
        discover::discover(roots, scope)
    }

    fn unit(&self) -> Unit<'_> {
        Unit::Transcript(self)
    }
}

impl TranscriptParser for Claude {
    fn parse(&self, candidate: &Candidate, resume: ResumeRequest<'_>, budget: PartBudget) -> ParseOutcome {
        parse(candidate, resume, budget)
    }

    fn read_parts(
        &self,
        candidate: &Candidate,
        outlined: &OutlinedSession,
        budget: u64,
        emit: &mut dyn FnMut(Session),
    ) -> io::Result<()> {
        read_parts(candidate, outlined, budget, emit)
    }
}

/// Which thread of a file an outlined session is: the main thread, or the inline 1.0.x
/// sidechain.
struct OutlinedThread {
    sidechain: bool,
}

/// The model Claude Code records on messages it made up itself (formats.md §1.4).
const SYNTHETIC_MODEL: &str = "<synthetic>";
/// The acknowledgement a real model sends after a hook-wrapped prompt (reference-importer.md §3).
const NO_RESPONSE_ACK: &str = "No response requested.";
/// Titles built from the first prompt are cut to this many characters.
const TITLE_MAX_CHARS: usize = 80;

/// Parses one transcript file. A file yields no session (empty, or no session id anywhere), one,
/// or two (main thread plus inline 1.0.x sidechain lines). Read on from a checkpoint, it yields
/// only the sessions that have new messages, holding only those. Once the messages held pass
/// `budget`, its sessions are outlined instead (`ParseOutcome::outlined`).
fn parse(candidate: &Candidate, resume: ResumeRequest<'_>, budget: PartBudget) -> ParseOutcome {
    let path = candidate.path.as_path();
    let mut outcome = ParseOutcome::default();
    let Some(mut file) = open_listed_file(path, &mut outcome.diagnostics) else {
        return outcome;
    };
    let is_agent_file = candidate.sidechain || discover::is_agent_file_name(path);
    let (start, carried) = match resume::begin::<Carried>(&mut file, resume) {
        Ok(begun) => begun,
        Err(err) => {
            outcome.diagnostics.push(Diagnostic::unreadable(path, &err));
            return outcome;
        }
    };
    outcome.resume = start.outcome;
    let mut builder = FileBuilder::new(path, is_agent_file, carried, Holding::Whole(budget));
    let mut reader = BufReader::with_capacity(crate::limits::READ_BUFFER, &mut file);
    match jsonl::read_records::<_, TranscriptLine>(
        &mut reader,
        path,
        &mut outcome.diagnostics,
        |line, record| builder.push(start.lines_before() + line, record),
    ) {
        Ok(stats) => outcome.stats = stats,
        Err(err) => outcome.diagnostics.push(Diagnostic::unreadable(path, &err)),
    }
    drop(reader);
    start.renumber(&mut outcome.diagnostics);
    outcome.stats.malformed_lines += builder.malformed_messages;
    outcome.diagnostics.append(&mut builder.diagnostics);
    let state = resume
        .checkpoint_wanted
        .then(|| serde_json::to_string(&builder.carried).ok())
        .flatten();
    let lines_before = start.lines_before();
    outcome.checkpoint = start.finish(&mut file, &outcome.stats, state);
    let agent_meta = if is_agent_file {
        read_agent_meta(path, &mut outcome.diagnostics)
    } else {
        None
    };
    let (from, consumed) = (outcome.resumed_at(), outcome.consumed());
    let reread_of = |sidechain: bool| {
        // Pass 2 starts where this read did, from the same state.
        let state = resume
            .from
            .filter(|_| from > 0)
            .map(|checkpoint| checkpoint.state.clone());
        Reread::new(&file, from, lines_before, consumed, state, OutlinedThread { sidechain })
    };
    let finished = builder.finish(agent_meta, &mut outcome.diagnostics);
    for thread in finished {
        match thread {
            Finished::Whole(session) => outcome.sessions.push(session),
            Finished::Outlined(session, tally) => {
                match reread_of(session.facts.is_sidechain && !is_agent_file) {
                    Ok(reread) => outcome.outlined.push(OutlinedSession {
                        session,
                        tally,
                        reread,
                    }),
                    Err(err) => outcome.diagnostics.push(Diagnostic::unreadable(path, &err)),
                }
            }
        }
    }
    outcome.diagnostics.sort_by_key(|diagnostic| diagnostic.line);
    outcome
}

/// Pass 2 of an outlined session (`source::parts`): reads its messages again and hands them to
/// `emit` in parts of about `budget` bytes of text, each a session with the outline's facts.
/// Diagnostics were reported by pass 1 and are not repeated.
fn read_parts(
    candidate: &Candidate,
    outlined: &OutlinedSession,
    budget: u64,
    emit: &mut dyn FnMut(Session),
) -> io::Result<()> {
    let path = candidate.path.as_path();
    let reread = &outlined.reread;
    let Some(&OutlinedThread { sidechain }) = reread.of::<OutlinedThread>() else {
        return Ok(());
    };
    let carried = match reread.state.as_deref() {
        Some(state) => Some(serde_json::from_str::<Carried>(state).map_err(io::Error::other)?),
        None => None,
    };
    let is_agent_file = candidate.sidechain || discover::is_agent_file_name(path);
    let mut emit_part = |messages: Vec<Message>| emit(outlined.part(messages));
    let holding = Holding::Parts {
        sidechain,
        budget,
        emit: &mut emit_part,
    };
    let mut builder = FileBuilder::new(path, is_agent_file, carried, holding);
    let mut repeated_diagnostics = Vec::new();
    jsonl::read_records::<_, TranscriptLine>(
        reread.reader()?,
        path,
        &mut repeated_diagnostics,
        |line, record| builder.push(reread.lines_before + line, record),
    )?;
    builder.hand_over_rest();
    Ok(())
}

/// Claude names session files by their UUID; anything else is not trusted as an id.
fn looks_like_session_id(stem: &str) -> bool {
    stem.len() == 36
        && stem.char_indices().all(|(at, ch)| match at {
            8 | 13 | 18 | 23 => ch == '-',
            _ => ch.is_ascii_hexdigit(),
        })
}

/// The conversation of one session as it is read. All but the messages is carried to the next
/// read in a checkpoint.
#[derive(Default, Serialize, Deserialize)]
struct Thread {
    /// Lines routed to this thread, of any type.
    records: u64,
    #[serde(skip)]
    messages: Held,
    /// Set once the file's messages passed the budget: they are counted here, not held.
    #[serde(skip)]
    counted: Option<MessageTally>,
    cwd: Option<String>,
    git_branch: Option<String>,
    tool_version: Option<String>,
    model: Option<String>,
    started_at: Option<DateTime<Utc>>,
    /// The first typed prompt, on one line: the title of last resort.
    first_prompt: Option<String>,
}

impl Thread {
    /// Envelope facts come from the first line that carries them, of any record type.
    fn note_facts(&mut self, record: &Record) {
        fill_once(&mut self.cwd, record.cwd.as_deref());
        fill_once(&mut self.tool_version, record.version.as_deref());
        fill_once(
            &mut self.git_branch,
            record.git_branch.as_deref().filter(|branch| *branch != "HEAD"),
        );
        if self.started_at.is_none() {
            self.started_at = record.timestamp.as_deref().and_then(parse_rfc3339);
        }
    }

    fn push(&mut self, message: Message) {
        if self.first_prompt.is_none() && message.role == Role::User {
            self.first_prompt = message
                .blocks
                .iter()
                .find(|block| block.kind == BlockKind::Text)
                .map(|block| one_line(&block.text, TITLE_MAX_CHARS))
                .filter(|title| !title.is_empty());
        }
        match &mut self.counted {
            Some(tally) => tally.count(&message),
            None => self.messages.push(message),
        }
    }

    /// Drops the messages held and counts them, and those read after, instead.
    fn count_instead(&mut self, budget: &PartBudget) {
        self.counted = Some(MessageTally::of(&self.messages.take(), budget.window));
    }

    /// Whether the thread read any message (held or counted).
    fn has_messages(&self) -> bool {
        !self.messages.is_empty() || self.counted.is_some_and(|tally| tally.messages() > 0)
    }

    fn into_session(
        mut self,
        path: &Path,
        id: &str,
        title: Option<String>,
        sidechain_of: Option<&str>,
        resumed: bool,
    ) -> Finished {
        let messages = self.messages.take();
        let provider = self
            .model
            .as_deref()
            .filter(|model| model.starts_with("claude-"))
            .map(|_| "anthropic");
        let session = Session {
            tool: TOOL,
            id: id.to_owned(),
            source_file: std::path::absolute(path)
                .unwrap_or_else(|_| path.to_path_buf())
                .display()
                .to_string(),
            facts: SessionFacts {
                title,
                cwd: self.cwd,
                git_branch: self.git_branch,
                tool_version: self.tool_version,
                provider: provider.map(str::to_owned),
                model: self.model,
                started_at: self.started_at,
                is_sidechain: sidechain_of.is_some(),
                parent_session_id: sidechain_of.map(str::to_owned),
                resumed,
                ..SessionFacts::default()
            },
            messages,
        };
        match self.counted {
            Some(tally) => Finished::Outlined(session, tally),
            None => Finished::Whole(session),
        }
    }
}

/// A session a read finished: with its messages, or outlined (their tally only).
enum Finished {
    Whole(Session),
    Outlined(Session, MessageTally),
}

/// Session titles recorded in the file; the last of each kind wins (formats.md §1.3).
#[derive(Default, Serialize, Deserialize)]
struct Titles {
    custom: Option<String>,
    ai: Option<String>,
    summary: Option<String>,
}

/// What the rules for later lines consult: carried from one read to the next in a checkpoint.
#[derive(Default, Serialize, Deserialize)]
struct Carried {
    first_session_id: Option<String>,
    main: Thread,
    /// Inline 1.0.x subagent lines (`isSidechain: true` in a main file, formats.md §1.7).
    inline_sidechain: Thread,
    titles: Titles,
    seen_message_ids: HashSet<String>,
    tool_names: HashMap<String, String>,
    /// `promptId`s of `isMeta` lines: a later SDK replay of the same prompt is dropped.
    meta_prompt_ids: HashSet<String>,
}

/// How a read holds the messages it keeps (`source::parts`).
enum Holding<'a> {
    /// Pass 1: every message while their text is within the budget; past it, none (counted).
    Whole(PartBudget),
    /// Pass 2: the messages of one thread, handed to `emit` in parts of about `budget` bytes.
    Parts {
        sidechain: bool,
        budget: u64,
        emit: &'a mut dyn FnMut(Vec<Message>),
    },
}

/// Per-file parsing state.
struct FileBuilder<'a> {
    path: &'a Path,
    /// A subagent transcript: every line belongs to one sidechain session.
    is_agent_file: bool,
    /// Read on from a checkpoint: the sessions hold only the messages after it.
    resumed: bool,
    /// The session id a main file is named by (formats.md §1.2); other files take the first
    /// line's.
    named_id: Option<&'a str>,
    carried: Carried,
    holding: Holding<'a>,
    diagnostics: Vec<Diagnostic>,
    malformed_messages: u64,
}

impl<'a> FileBuilder<'a> {
    fn new(path: &'a Path, is_agent_file: bool, resumed_from: Option<Carried>, holding: Holding<'a>) -> Self {
        let named_id = path
            .file_stem()
            .and_then(OsStr::to_str)
            .filter(|stem| !is_agent_file && looks_like_session_id(stem));
        FileBuilder {
            path,
            is_agent_file,
            resumed: resumed_from.is_some(),
            named_id,
            carried: resumed_from.unwrap_or_default(),
            holding,
            diagnostics: Vec::new(),
            malformed_messages: 0,
        }
    }

    fn push(&mut self, line: u64, mut record: Record<'_>) {
        let carried = &mut self.carried;
        if carried.first_session_id.is_none() {
            carried.first_session_id = non_empty(record.session_id.as_deref()).map(str::to_owned);
        }
        match record.kind {
            RecordKind::Summary => replace_if_present(&mut carried.titles.summary, record.summary.take()),
            RecordKind::AiTitle => replace_if_present(&mut carried.titles.ai, record.ai_title.take()),
            RecordKind::CustomTitle => {
                replace_if_present(&mut carried.titles.custom, record.custom_title.take())
            }
            RecordKind::User | RecordKind::Assistant | RecordKind::Other => {}
        }
        let sidechain = !self.is_agent_file && record.is_sidechain == Some(true);
        let thread = self.thread(sidechain);
        thread.records += 1;
        thread.note_facts(&record);
        if let Some(message) = self.message(line, record, sidechain) {
            self.keep(message, sidechain);
        }
    }

    /// Holds (or counts) a message, as [`Holding`] says.
    fn keep(&mut self, message: Message, sidechain: bool) {
        match &mut self.holding {
            Holding::Whole(budget) => {
                let budget = *budget;
                self.thread(sidechain).push(message);
                let carried = &mut self.carried;
                let (main, side) = (&mut carried.main, &mut carried.inline_sidechain);
                if main.counted.is_none()
                    && !budget.holds_whole(main.messages.bytes() + side.messages.bytes())
                {
                    main.count_instead(&budget);
                    side.count_instead(&budget);
                }
            }
            Holding::Parts {
                sidechain: wanted,
                budget,
                emit,
            } => {
                let thread = if sidechain {
                    &mut self.carried.inline_sidechain
                } else {
                    &mut self.carried.main
                };
                if sidechain == *wanted {
                    thread.messages.push(message);
                    if thread.messages.reached(*budget) {
                        emit(thread.messages.take());
                    }
                }
            }
        }
    }

    /// Pass 2's last part: the messages after the last full one.
    fn hand_over_rest(&mut self) {
        if let Holding::Parts { sidechain, emit, .. } = &mut self.holding {
            let thread = if *sidechain {
                &mut self.carried.inline_sidechain
            } else {
                &mut self.carried.main
            };
            if !thread.messages.is_empty() {
                emit(thread.messages.take());
            }
        }
    }

    fn thread(&mut self, sidechain: bool) -> &mut Thread {
        if sidechain {
            &mut self.carried.inline_sidechain
        } else {
            &mut self.carried.main
        }
    }

    /// The message a `user` / `assistant` line contributes, after the noise rules.
    fn message(&mut self, line: u64, record: Record<'_>, sidechain: bool) -> Option<Message> {
        let mut role = match record.kind {
            RecordKind::User => Role::User,
            RecordKind::Assistant => Role::Assistant,
            _ => return None,
        };
        let body = self.decode_message(line, record.message?)?;
        let content = body.content?;
        let mut model = None;
        let blocks = if role == Role::User && record.is_compact_summary == Some(true) {
            // A model-written summary of the compacted history, not the user (formats.md §1.8).
            role = Role::System;
            compact_summary_block(content).into_iter().collect()
        } else {
            if record.is_meta == Some(true) {
                if let Some(prompt_id) = record.prompt_id {
                    self.carried.meta_prompt_ids.insert(prompt_id.into_owned());
                }
                return None;
            }
            if role == Role::Assistant {
                if body.model_is_synthetic || record.is_api_error_message == Some(true) {
                    return None;
                }
                let real_model = body.model.filter(|model| !model.is_empty());
                let session_model = &mut self.thread(sidechain).model;
                fill_once(session_model, real_model.as_deref());
                if is_no_response_ack(&content) {
                    return None;
                }
                model = own_fact(real_model.as_deref(), session_model.as_deref());
            } else if self.is_replay_of_meta_prompt(record.prompt_id.as_deref(), &content) {
                return None;
            }
            self.blocks(role, content)
        };
        if blocks.is_empty() {
            return None;
        }
        let id = non_empty(record.uuid.as_deref()).map(str::to_owned);
        let timestamp = record.timestamp.as_deref().and_then(parse_rfc3339);
        let (Some(id), Some(timestamp)) = (id, timestamp) else {
            // Without an id or a time the message cannot be stored: say so rather than lose it.
            self.malformed_message(line, "a message without a `uuid` or an RFC 3339 `timestamp`");
            return None;
        };
        if !self.carried.seen_message_ids.insert(id.clone()) {
            return None;
        }
        // Lines copied from an earlier session keep its id (formats.md §1.2); the session's own
        // is not repeated on each message.
        let origin_session_id = non_empty(record.session_id.as_deref())
            .filter(|origin| Some(*origin) != self.session_id())
            .map(str::to_owned);
        Some(Message {
            id,
            origin_session_id,
            timestamp,
            role,
            blocks,
            tool_name: None,
            model,
            cwd: own_fact(
                non_empty(record.cwd.as_deref()),
                self.thread(sidechain).cwd.as_deref(),
            ),
            line,
        })
    }

    /// The decoded `message` of a conversation line; one that is not an object makes the line
    /// malformed.
    fn decode_message<'line>(
        &mut self,
        line: u64,
        field: MessageField<'line>,
    ) -> Option<DecodedMessage<'line>> {
        match field {
            MessageField::Object(message) => Some(DecodedMessage {
                model_is_synthetic: message.model.as_deref() == Some(SYNTHETIC_MODEL),
                model: message.model,
                content: message.content,
            }),
            MessageField::NotAnObject => {
                self.malformed_message(line, "`message` is not an object");
                None
            }
        }
    }

    /// Reports a conversation line whose message cannot be imported.
    fn malformed_message(&mut self, line: u64, problem: &str) {
        self.malformed_messages += 1;
        self.diagnostics.push(Diagnostic {
            file: self.path.to_path_buf(),
            line: Some(line),
            kind: DiagnosticKind::Malformed,
            message: format!("malformed record: {problem}"),
        });
    }

    /// The SDK re-sends a hook-wrapped prompt as a replay bundle under the `promptId` of the
    /// `isMeta` line. Since 2.1.7x every line of a prompt shares its `promptId` (formats.md §1.2),
    /// so only replay bundles are dropped: tool results and real prompts under that id are kept
    /// (the aside-question and skill-body lines in the samples).
    fn is_replay_of_meta_prompt(&self, prompt_id: Option<&str>, content: &Content<'_>) -> bool {
        prompt_id.is_some_and(|id| self.carried.meta_prompt_ids.contains(id))
            && first_text(content).is_some_and(noise::is_sdk_replay_bundle)
    }

    fn blocks(&mut self, role: Role, content: Content<'_>) -> Vec<Block> {
        match content {
            Content::Text(text) => text_block(role, text).into_iter().collect(),
            Content::Blocks(blocks) => blocks
                .into_iter()
                .filter_map(|block| self.block(role, block))
                .collect(),
        }
    }

    fn block(&mut self, role: Role, block: ContentBlock<'_>) -> Option<Block> {
        match block.kind {
            BlockType::Text => text_block(role, block.text?),
            BlockType::Thinking => {
                non_blank_text(block.thinking?).map(|text| Block::new(BlockKind::Thinking, text))
            }
            BlockType::ToolUse => {
                let name = non_empty(block.name.as_deref())?.to_owned();
                if let Some(id) = block.id {
                    self.carried.tool_names.insert(id.into_owned(), name.clone());
                }
                let text = match block.input {
                    Some(input) => tool_call_text(&name, input.get()),
                    None => name.clone(),
                };
                Some(Block::with_tool(BlockKind::ToolUse, text, name))
            }
            BlockType::ToolResult => {
                let text = non_blank(tool_result_text(block.content))?;
                let tool_name = block
                    .tool_use_id
                    .and_then(|id| self.carried.tool_names.get(id.as_ref()).cloned());
                Some(Block {
                    kind: BlockKind::ToolResult,
                    text,
                    tool_name,
                })
            }
            BlockType::Other => None,
        }
    }

    /// The id of the file's session: known from the first line that has one on.
    fn session_id(&self) -> Option<&str> {
        self.named_id.or(self.carried.first_session_id.as_deref())
    }

    fn finish(self, agent_meta: Option<AgentMeta>, diagnostics: &mut Vec<Diagnostic>) -> Vec<Finished> {
        // Agent files carry their parent's id; a main file is named by its own (formats.md §1.2).
        let id = self.session_id().map(str::to_owned);
        let carried = self.carried;
        let Some(id) = id else {
            if carried.main.has_messages() || carried.inline_sidechain.has_messages() {
                diagnostics.push(Diagnostic {
                    file: self.path.to_path_buf(),
                    line: None,
                    kind: DiagnosticKind::Malformed,
                    message: "messages without any sessionId in a file not named by a session id".to_owned(),
                });
            }
            return Vec::new();
        };
        // A thread read on from a checkpoint is a session only if it has new messages.
        let yields = |thread: &Thread| thread.records > 0 && (!self.resumed || thread.has_messages());
        let mut sessions = Vec::new();
        if yields(&carried.main) {
            let agent_title = agent_meta.and_then(|meta| {
                meta.description
                    .filter(|text| !text.trim().is_empty())
                    .or(meta.agent_type)
            });
            let title = agent_title
                .or(carried.titles.custom)
                .or(carried.titles.ai)
                .or(carried.titles.summary)
                .and_then(non_blank)
                .or_else(|| carried.main.first_prompt.clone());
            let parent = self.is_agent_file.then_some(id.as_str());
            sessions.push(
                carried
                    .main
                    .into_session(self.path, &id, title, parent, self.resumed),
            );
        }
        if yields(&carried.inline_sidechain) {
            let title = carried.inline_sidechain.first_prompt.clone();
            sessions.push(carried.inline_sidechain.into_session(
                self.path,
                &id,
                title,
                Some(&id),
                self.resumed,
            ));
        }
        sessions
    }
}

/// A decoded `message`, with whether Claude Code made it up itself.
struct DecodedMessage<'line> {
    model: Option<Cow<'line, str>>,
    model_is_synthetic: bool,
    content: Option<Content<'line>>,
}

/// A text block: user text is sanitised, assistant text kept unless blank.
fn text_block(role: Role, text: Cow<'_, str>) -> Option<Block> {
    let text = match role {
        Role::User => noise::sanitize_user_text(&text)?,
        _ => non_blank_text(text)?,
    };
    Some(Block::new(BlockKind::Text, text))
}

fn compact_summary_block(content: Content<'_>) -> Option<Block> {
    let text = match content {
        Content::Text(text) => text.into_owned(),
        Content::Blocks(blocks) => blocks
            .into_iter()
            .filter(|block| block.kind == BlockType::Text)
            .filter_map(|block| block.text)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    non_blank(text).map(|text| Block::new(BlockKind::System, text))
}

fn first_text<'c>(content: &'c Content<'_>) -> Option<&'c str> {
    match content {
        Content::Text(text) => Some(text.as_ref()),
        Content::Blocks(blocks) => blocks
            .iter()
            .find(|block| block.kind == BlockType::Text)
            .and_then(|block| block.text.as_deref()),
    }
}

/// Exactly one text block saying "No response requested." (reference-importer.md §3, step 4).
fn is_no_response_ack(content: &Content<'_>) -> bool {
    match content {
        Content::Text(text) => text.trim() == NO_RESPONSE_ACK,
        Content::Blocks(blocks) => {
            matches!(blocks.as_slice(), [only] if only.kind == BlockType::Text
                && only.text.as_deref().is_some_and(|text| text.trim() == NO_RESPONSE_ACK))
        }
    }
}

/// `tool_result.content`: a string as is, an array's `text` parts joined with `\n`, anything
/// else as compact JSON.
fn tool_result_text(content: Option<&serde_json::value::RawValue>) -> String {
    let Some(raw) = content.map(|raw| raw.get()) else {
        return String::new();
    };
    match raw.trim_start().as_bytes().first() {
        Some(b'"') => string_literal_text(raw.trim()).unwrap_or_else(|| compact_json(raw)),
        Some(b'[') => match serde_json::from_str::<Vec<ToolResultPart>>(raw) {
            Ok(parts) => parts
                .into_iter()
                .filter_map(|part| match part.text {
                    Some(serde_json::Value::String(text)) => Some(text),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Err(_) => compact_json(raw),
        },
        Some(b'n') => String::new(),
        _ => compact_json(raw),
    }
}

/// A tool call as a block's text: `name(input)`, the input as [`compact_json`].
fn tool_call_text(name: &str, input: &str) -> String {
    let mut out = Vec::with_capacity(name.len() + input.len() + 2);
    out.extend_from_slice(name.as_bytes());
    out.push(b'(');
    push_compact_json(&mut out, input);
    out.push(b')');
    utf8_text(out)
}

/// Removes insignificant whitespace from JSON text, keeping key order and escapes as written
/// (what `JSON.stringify` of the parsed value gives for Claude's own compact output).
fn compact_json(raw: &str) -> String {
    let mut out = Vec::with_capacity(raw.len());
    push_compact_json(&mut out, raw);
    utf8_text(out)
}

/// Appends [`compact_json`] of `raw` to `out`. Works on bytes: only ASCII bytes are removed, so
/// what it appends stays valid UTF-8.
fn push_compact_json(out: &mut Vec<u8>, raw: &str) {
    let bytes = raw.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                let start = at;
                at += 1;
                // Copy the string through its closing quote, jumping over escapes.
                loop {
                    match memchr::memchr2(b'"', b'\\', &bytes[at..]) {
                        Some(offset) if bytes[at + offset] == b'\\' => {
                            at = (at + offset + 2).min(bytes.len());
                        }
                        Some(offset) => {
                            at += offset + 1;
                            break;
                        }
                        None => {
                            at = bytes.len();
                            break;
                        }
                    }
                }
                out.extend_from_slice(&bytes[start..at]);
            }
            b' ' | b'\t' | b'\n' | b'\r' => at += 1,
            byte => {
                out.push(byte);
                at += 1;
            }
        }
    }
}

/// Text made of UTF-8 pieces (replaced where a piece was cut inside a character).
fn utf8_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// Whitespace runs collapsed to one space, cut to `max_chars` characters.
fn one_line(text: &str, max_chars: usize) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max_chars)
        .collect()
}

fn non_blank(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

/// [`non_blank`] for text that is copied only when it is kept.
fn non_blank_text(text: Cow<'_, str>) -> Option<String> {
    (!text.trim().is_empty()).then(|| text.into_owned())
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.filter(|text| !text.is_empty())
}

/// Sets `slot` from the first non-empty value seen.
fn fill_once(slot: &mut Option<String>, value: Option<&str>) {
    if slot.is_none() {
        *slot = value.filter(|value| !value.is_empty()).map(str::to_owned);
    }
}

/// Keeps the last non-blank value seen.
fn replace_if_present(slot: &mut Option<String>, value: Option<Cow<'_, str>>) {
    if let Some(value) = value.and_then(non_blank_text) {
        *slot = Some(value);
    }
}

fn read_agent_meta(transcript: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<AgentMeta> {
    let meta_path = transcript.with_extension("meta.json");
    let bytes = match fs::read(&meta_path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return None,
        Err(err) => {
            diagnostics.push(Diagnostic::unreadable(&meta_path, &err));
            return None;
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(meta) => Some(meta),
        Err(err) => {
            diagnostics.push(Diagnostic {
                file: meta_path,
                line: None,
                kind: DiagnosticKind::Malformed,
                message: format!("malformed subagent meta: {err}"),
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_json_keeps_order_and_string_whitespace() {
        assert_eq!(
            compact_json("{ \"b\": 1,\n \"a\": \"x y\\\" z\" }"),
            "{\"b\":1,\"a\":\"x y\\\" z\"}"
        );
        // A string ending in an escaped backslash, non-ASCII text, and an unterminated string.
        assert_eq!(compact_json("[ \"é \\\\\" , \"ü\" ]"), "[\"é \\\\\",\"ü\"]");
        assert_eq!(compact_json("\"open \\"), "\"open \\");
        assert_eq!(
            tool_call_text("Edit", "{ \"path\": \"a b\",\n  \"n\": [1, 2] }"),
            "Edit({\"path\":\"a b\",\"n\":[1,2]})"
        );
    }

    #[test]
    fn tool_result_content_shapes() {
        let raw = |text: &str| serde_json::value::RawValue::from_string(text.to_owned()).unwrap();
        assert_eq!(tool_result_text(Some(&raw("\"out\""))), "out");
        assert_eq!(
            tool_result_text(Some(&raw(
                r#"[{"type":"text","text":"a"},{"type":"image","source":{"data":"QUJD"}},{"type":"text","text":"b"}]"#
            ))),
            "a\nb"
        );
        assert_eq!(tool_result_text(Some(&raw(r#"{"ok": true}"#))), "{\"ok\":true}");
        assert_eq!(tool_result_text(Some(&raw("[1, 2]"))), "[1,2]");
        assert_eq!(tool_result_text(Some(&raw("null"))), "");
        assert_eq!(tool_result_text(None), "");
    }

    #[test]
    fn session_ids_are_uuid_shaped_stems() {
        assert!(looks_like_session_id("d0995987-2936-477b-8152-63baad3c266f"));
        assert!(!looks_like_session_id("agent-a05b3d3"));
        assert!(!looks_like_session_id("d0995987-2936-477b-8152-63baad3c266"));
        assert!(!looks_like_session_id("d0995987x2936-477b-8152-63baad3c266f"));
    }

    #[test]
    fn titles_are_one_line_and_cut() {
        assert_eq!(one_line("  fix\n\tthe   bug ", 80), "fix the bug");
        assert_eq!(one_line(&"é".repeat(100), 80).chars().count(), 80);
    }
}
