//! The `FileBuilder`: the lines of one transcript file, decoded, routed to its threads and turned
//! into messages by the noise rules, and the threads finished into sessions.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::path::Path;

use crate::model::{Block, BlockKind, Diagnostic, DiagnosticKind, Message, Role};
use crate::source::parts::PartBudget;
use crate::source::timestamp::parse_rfc3339;
use crate::source::{jsonl, own_fact};

use super::noise;
use super::text::{
    compact_summary_block, non_blank, non_blank_text, non_empty, tool_call_text, tool_result_text,
};
use super::thread::{fill_once, replace_if_present, Carried, Finished, Thread};
use super::wire::{AgentMeta, BlockType, Content, ContentBlock, MessageField, Record, RecordKind};

/// The model Claude Code records on messages it made up itself (formats.md §1.4).
const SYNTHETIC_MODEL: &str = "<synthetic>";
/// The acknowledgement a real model sends after a hook-wrapped prompt (reference-importer.md §3).
const NO_RESPONSE_ACK: &str = "No response requested.";

/// Claude names session files by their UUID; anything else is not trusted as an id.
fn looks_like_session_id(stem: &str) -> bool {
    stem.len() == 36
        && stem.char_indices().all(|(at, ch)| match at {
            8 | 13 | 18 | 23 => ch == '-',
            _ => ch.is_ascii_hexdigit(),
        })
}

/// How a read holds the messages it keeps (`source::parts`).
pub(super) enum Holding<'a> {
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
pub(super) struct FileBuilder<'a> {
    path: &'a Path,
    /// A subagent transcript: every line belongs to one sidechain session.
    is_agent_file: bool,
    /// Read on from a checkpoint: the sessions hold only the messages after it.
    resumed: bool,
    /// The session id a main file is named by (formats.md §1.2); other files take the first
    /// line's.
    named_id: Option<&'a str>,
    pub(super) carried: Carried,
    holding: Holding<'a>,
    pub(super) diagnostics: Vec<Diagnostic>,
    pub(super) malformed_messages: u64,
}

impl<'a> FileBuilder<'a> {
    pub(super) fn new(
        path: &'a Path,
        is_agent_file: bool,
        resumed_from: Option<Carried>,
        holding: Holding<'a>,
    ) -> Self {
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

    pub(super) fn push(&mut self, line: u64, mut record: Record<'_>) {
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
    pub(super) fn hand_over_rest(&mut self) {
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
        self.diagnostics.push(jsonl::malformed(self.path, line, problem));
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

    pub(super) fn finish(
        self,
        agent_meta: Option<AgentMeta>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Vec<Finished> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_uuid_shaped_stems() {
        assert!(looks_like_session_id("d0995987-2936-477b-8152-63baad3c266f"));
        assert!(!looks_like_session_id("agent-a05b3d3"));
        assert!(!looks_like_session_id("d0995987-2936-477b-8152-63baad3c266"));
        assert!(!looks_like_session_id("d0995987x2936-477b-8152-63baad3c266f"));
    }
}
