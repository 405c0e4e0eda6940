//! One Qwen Code chat file (`projects/<project>/chats/<session>.jsonl`, formats-more-tools.md
//! section 5) as its records are read in file order: a uuid tree of records like Claude Code's,
//! whose messages are Gemini `Content`s of `parts`.
//!
//! Conversation: `user` records (a typed prompt, `mid_turn_user_message` and
//! `realtime_message` included: the text the user typed, `systemPayload.displayText` where it is
//! recorded, else the message's text parts before the content of the files its `@` references
//! brought in), `assistant` records (their
//! `thought` parts as thinking, their other text parts as the answer, each `functionCall` part as
//! a call of its own) and `tool_result` records (each `functionResponse` part as a result).
//! `system` records (`ui_telemetry`, `chat_compression`, `slash_command`, `at_command`, ...) and
//! the `user` records Qwen Code makes itself (`notification`, `cron`, `goal_runtime`) are not
//! conversation; `custom_title` names the session (the last one wins) and `parent_session` names
//! the session that spawned it.
//!
//! Records a subagent produced (`isSidechain: true`) are a sidechain session of their own beside
//! the main one. Every record is kept, those a rewind left on a dead branch of the tree too:
//! memtree never deletes what the user once said, and the tree's last leaf is only known at the
//! file's end, which a read on from a checkpoint never sees whole.
//!
//! Ids: the record's `uuid` (`line:<n>` without one); a call is `<uuid>/call/<call id>`, a
//! result the record's uuid, or `<uuid>/result/<call id>` when one record holds several. Records
//! `/branch` copied from another session keep their uuid and carry `forkedFrom.sessionId`: their
//! messages keep that session (`Message::origin_session_id`), so each is stored once.

use std::path::Path;

use chrono::{DateTime, Utc};
// Ids and call ids are hashed for every record: foldhash is several times cheaper than SipHash.
use foldhash::HashMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{Block, BlockKind, Diagnostic, Message, Role};
use crate::scope::MessageTally;
use crate::source::json_string::call_text;
use crate::source::parts::{Held, PartBudget};
use crate::source::timestamp::parse_rfc3339;
use crate::source::title::title_from_prompt;
use crate::source::{jsonl, own_fact};

use super::wire::{Fields, Part};

/// The part Qwen Code (after Gemini CLI) puts between a prompt and the files its `@` references
/// brought in.
const REFERENCED_FILES: &str = "--- Content from referenced files ---";
/// The version Qwen Code records when it does not know its own.
const UNKNOWN_VERSION: &str = "unknown";

/// The conversation of one session (main or sidechain) as a file is read; all but the messages
/// is carried to the next read in a checkpoint.
#[derive(Default, Serialize, Deserialize)]
pub(super) struct Thread {
    /// Records routed to this thread, of any type.
    pub records: u64,
    #[serde(skip)]
    pub messages: Held,
    /// Set once the file's messages passed the budget: they are counted here, not held.
    #[serde(skip)]
    pub counted: Option<MessageTally>,
    pub cwd: Option<String>,
    pub git_branch: Option<String>,
    pub tool_version: Option<String>,
    /// The first model recorded: the session's.
    pub model: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    /// The first prompt, on one line: the title of last resort.
    pub first_prompt: Option<String>,
}

impl Thread {
    /// Envelope facts come from the first record that carries them, of any type.
    fn note_facts(&mut self, record: &Fields<'_>) {
        fill_once(&mut self.cwd, record.cwd.as_deref());
        fill_once(&mut self.git_branch, record.git_branch.as_deref());
        fill_once(
            &mut self.tool_version,
            record
                .version
                .as_deref()
                .filter(|version| *version != UNKNOWN_VERSION),
        );
        if self.started_at.is_none() {
            self.started_at = record.timestamp.as_deref().and_then(parse_rfc3339);
        }
    }

    fn push(&mut self, message: Message) {
        if self.first_prompt.is_none() && message.role == Role::User {
            let title = title_from_prompt(&message.blocks[0].text);
            self.first_prompt = Some(title).filter(|title| !title.is_empty());
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
    pub fn has_messages(&self) -> bool {
        !self.messages.is_empty() || self.counted.is_some_and(|tally| tally.messages() > 0)
    }
}

/// What the rules for later records consult: carried from one read to the next in a checkpoint.
#[derive(Default, Serialize, Deserialize)]
pub(super) struct Carried {
    pub session_id: Option<String>,
    pub main: Thread,
    pub sidechain: Thread,
    /// The last `custom_title`.
    pub title: Option<String>,
    /// The session a `parent_session` record names.
    pub parent_session: Option<String>,
    /// Each call's tool, by call id: a result without a name takes its call's.
    tools: HashMap<String, String>,
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

/// The sessions of one chat file as its records are read.
pub(super) struct Builder<'a> {
    path: &'a Path,
    pub carried: Carried,
    holding: Holding<'a>,
    pub diagnostics: Vec<Diagnostic>,
    /// Conversation records that could not be imported.
    pub malformed: u64,
}

impl<'a> Builder<'a> {
    pub fn new(path: &'a Path, carried: Option<Carried>, holding: Holding<'a>) -> Self {
        Builder {
            path,
            carried: carried.unwrap_or_default(),
            holding,
            diagnostics: Vec::new(),
            malformed: 0,
        }
    }

    /// Reads one record (line `line` of the file).
    pub fn push(&mut self, line: u64, record: Fields<'_>) {
        let carried = &mut self.carried;
        fill_once(&mut carried.session_id, record.session_id.as_deref());
        if record.kind.as_deref() == Some("system") {
            let payload = record.system_payload.0.as_ref();
            match record.subtype.as_deref() {
                Some("custom_title") => {
                    if let Some(title) =
                        payload.and_then(|payload| non_blank(payload.custom_title.as_deref()))
                    {
                        carried.title = Some(title.to_owned());
                    }
                }
                Some("parent_session") => fill_once(
                    &mut carried.parent_session,
                    payload.and_then(|payload| payload.parent_session_id.as_deref()),
                ),
                _ => {}
            }
        }
        let sidechain = record.is_sidechain == Some(true);
        let thread = self.thread(sidechain);
        thread.records += 1;
        thread.note_facts(&record);
        let pending = self.messages_of(line, &record, sidechain);
        if pending.is_empty() {
            return;
        }
        let Some(at) = record.timestamp.as_deref().and_then(parse_rfc3339) else {
            self.malformed += 1;
            self.diagnostics.push(jsonl::malformed(
                self.path,
                line,
                "a message without an RFC 3339 `timestamp`",
            ));
            return;
        };
        let origin_session_id = record
            .forked_from
            .0
            .as_ref()
            .and_then(|forked| non_blank(forked.session_id.as_deref()))
            .filter(|origin| Some(*origin) != self.carried.session_id.as_deref())
            .map(str::to_owned);
        let cwd = own_fact(
            non_blank(record.cwd.as_deref()),
            self.thread(sidechain).cwd.as_deref(),
        );
        for (id, role, blocks, model) in pending {
            let message = Message {
                id,
                origin_session_id: origin_session_id.clone(),
                timestamp: at,
                role,
                tool_name: blocks[0].tool_name.clone(),
                blocks,
                model,
                cwd: cwd.clone(),
                line,
            };
            self.keep(message, sidechain);
        }
    }

    /// The messages a record holds, before its time is checked.
    fn messages_of(&mut self, line: u64, record: &Fields<'_>, sidechain: bool) -> Vec<Pending> {
        // A message that is no `Content` has no parts; a prompt's typed text may still stand.
        let parts = record
            .message
            .0
            .as_ref()
            .map_or(&[][..], |content| &content.parts.0[..]);
        let id = match non_blank(record.uuid.as_deref()) {
            Some(uuid) => uuid.to_owned(),
            None => format!("line:{line}"),
        };
        match (record.kind.as_deref(), record.subtype.as_deref()) {
            (Some("user"), None | Some("mid_turn_user_message" | "realtime_message")) => {
                let typed = record
                    .system_payload
                    .0
                    .as_ref()
                    .and_then(|payload| non_blank(payload.display_text.as_deref()))
                    .map(str::to_owned);
                let mut messages: Vec<Pending> = typed
                    .or_else(|| non_blank_owned(typed_text(parts)))
                    .map(|text| {
                        (
                            id.clone(),
                            Role::User,
                            vec![Block::new(BlockKind::Text, text)],
                            None,
                        )
                    })
                    .into_iter()
                    .collect();
                messages.extend(self.results(&id, parts, false));
                messages
            }
            (Some("assistant"), _) => {
                let model = non_blank(record.model.as_deref());
                let session_model = &mut self.thread(sidechain).model;
                fill_once(session_model, model);
                let model = own_fact(model, session_model.as_deref());
                self.answer(&id, parts, model)
            }
            (Some("tool_result"), _) => self.results(&id, parts, true),
            _ => Vec::new(),
        }
    }

    /// An answer (its thinking and text), then each of its calls as a message of its own.
    fn answer(&mut self, id: &str, parts: &[Part<'_>], model: Option<String>) -> Vec<Pending> {
        let mut blocks: Vec<Block> = parts
            .iter()
            .filter(|part| part.thought == Some(true))
            .filter_map(|part| non_blank(part.text.as_deref()))
            .map(|text| Block::new(BlockKind::Thinking, text))
            .collect();
        blocks.extend(non_blank_owned(plain_text(parts)).map(|text| Block::new(BlockKind::Text, text)));
        let mut messages = Vec::new();
        if !blocks.is_empty() {
            messages.push((id.to_owned(), Role::Assistant, blocks, model.clone()));
        }
        let mut call_ids: Vec<String> = Vec::new();
        for (index, call) in parts
            .iter()
            .filter_map(|part| part.function_call.0.as_ref())
            .enumerate()
        {
            let name = tool_name(call.name.as_deref());
            let call_id = non_blank(call.id.as_deref());
            if let Some(call_id) = call_id {
                self.carried.tools.insert(call_id.to_owned(), name.to_owned());
            }
            let unique = unique_id(call_id, index, &call_ids);
            let block = Block::with_tool(BlockKind::ToolUse, call_text(name, call.args.as_deref()), name);
            messages.push((
                format!("{id}/call/{unique}"),
                Role::ToolCall,
                vec![block],
                model.clone(),
            ));
            call_ids.push(unique);
        }
        messages
    }

    /// The results of a record's `functionResponse` parts. A `tool_result` record's other text
    /// parts belong to its last result, or are its result when it has no response part.
    fn results(&mut self, id: &str, parts: &[Part<'_>], text_is_result: bool) -> Vec<Pending> {
        let mut results: Vec<(Option<&str>, String, String)> = Vec::new();
        for part in parts {
            if let Some(response) = part.function_response.0.as_ref() {
                let call_id = non_blank(response.id.as_deref());
                let name = non_blank(response.name.as_deref())
                    .map(str::to_owned)
                    .or_else(|| call_id.and_then(|call_id| self.carried.tools.get(call_id).cloned()))
                    .unwrap_or_else(|| "tool".to_owned());
                let text = response.response.as_ref().map(response_text).unwrap_or_default();
                results.push((call_id, name, text));
            }
        }
        let loose = plain_text(parts);
        if text_is_result && !loose.trim().is_empty() {
            match results.last_mut() {
                Some((_, _, text)) if text.trim().is_empty() => *text = loose,
                Some((_, _, text)) => {
                    text.push('\n');
                    text.push_str(&loose);
                }
                None => results.push((None, "tool".to_owned(), loose)),
            }
        }
        // A prompt holds the record's uuid: responses beside it are named apart.
        let several = results.len() > 1 || !text_is_result;
        let mut ids: Vec<String> = Vec::new();
        let mut messages = Vec::new();
        for (index, (call_id, name, text)) in results.into_iter().enumerate() {
            let unique = unique_id(call_id, index, &ids);
            let message_id = if several {
                format!("{id}/result/{unique}")
            } else {
                id.to_owned()
            };
            ids.push(unique);
            if !text.trim().is_empty() {
                let block = Block::with_tool(BlockKind::ToolResult, text, name);
                messages.push((message_id, Role::ToolResult, vec![block], None));
            }
        }
        messages
    }

    /// Holds (or counts) a message, as [`Holding`] says.
    fn keep(&mut self, message: Message, sidechain: bool) {
        match &mut self.holding {
            Holding::Whole(budget) => {
                let budget = *budget;
                self.thread(sidechain).push(message);
                let carried = &mut self.carried;
                let (main, side) = (&mut carried.main, &mut carried.sidechain);
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
                if sidechain == *wanted {
                    let thread = if sidechain {
                        &mut self.carried.sidechain
                    } else {
                        &mut self.carried.main
                    };
                    thread.messages.push(message);
                    if thread.messages.reached(*budget) {
                        emit(thread.messages.take());
                    }
                }
            }
        }
    }

    /// Pass 2's last part: the messages after the last full one.
    pub fn hand_over_rest(&mut self) {
        if let Holding::Parts { sidechain, emit, .. } = &mut self.holding {
            let thread = if *sidechain {
                &mut self.carried.sidechain
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
            &mut self.carried.sidechain
        } else {
            &mut self.carried.main
        }
    }
}

/// A message of a record, before its time is known: id, role, blocks and own model.
type Pending = (String, Role, Vec<Block>, Option<String>);

/// A prompt's text parts before the files its `@` references brought in: what the user typed.
fn typed_text(parts: &[Part<'_>]) -> String {
    let before_files = parts
        .iter()
        .position(|part| {
            part.text
                .as_deref()
                .is_some_and(|text| text.trim_start().starts_with(REFERENCED_FILES))
        })
        .unwrap_or(parts.len());
    plain_text(&parts[..before_files])
}

/// The text parts that are not thoughts, joined as Qwen Code (after Gemini CLI) joins them.
fn plain_text(parts: &[Part<'_>]) -> String {
    parts
        .iter()
        .filter(|part| part.thought != Some(true))
        .filter_map(|part| part.text.as_deref())
        .collect()
}

/// A call's id within its record: its own, or its index; a repeated one gets its index too.
fn unique_id(call_id: Option<&str>, index: usize, earlier: &[String]) -> String {
    match call_id {
        Some(id) if !earlier.iter().any(|earlier| earlier == id) => id.to_owned(),
        Some(id) => format!("{id}@{index}"),
        None => index.to_string(),
    }
}

fn tool_name(name: Option<&str>) -> &str {
    non_blank(name).unwrap_or("tool")
}

/// What a tool returned: its `output` (or `error`, or the whole response as JSON).
fn response_text(response: &Value) -> String {
    let field = |name| response.get(name).and_then(Value::as_str);
    match (response, field("output"), field("error")) {
        (Value::String(text), ..) => text.clone(),
        (_, Some(output), _) => output.to_owned(),
        (_, None, Some(error)) => format!("error: {error}"),
        (Value::Null, ..) => String::new(),
        _ => response.to_string(),
    }
}

fn non_blank(text: Option<&str>) -> Option<&str> {
    text.filter(|text| !text.trim().is_empty())
}

fn non_blank_owned(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

/// Sets `slot` from the first non-empty value seen.
fn fill_once(slot: &mut Option<String>, value: Option<&str>) {
    if slot.is_none() {
        *slot = value.filter(|value| !value.is_empty()).map(str::to_owned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::qwen::wire::Record;
    use crate::source::visit::Boxed;

    fn read(lines: &[&str]) -> (Carried, Vec<Message>, Vec<Message>, Vec<Diagnostic>) {
        let path = Path::new("chat.jsonl");
        let mut builder = Builder::new(path, None, Holding::Whole(PartBudget::unbounded()));
        for (index, line) in lines.iter().enumerate() {
            let Boxed(fields): Record = serde_json::from_str(line).unwrap();
            builder.push(index as u64 + 1, *fields);
        }
        let mut carried = builder.carried;
        let (main, side) = (carried.main.messages.take(), carried.sidechain.messages.take());
        (carried, main, side, builder.diagnostics)
    }

    type Summary = (String, Role, BlockKind, String, Option<String>);

    fn summary(messages: &[Message]) -> Vec<Summary> {
        messages
            .iter()
            .map(|message| {
                let block = &message.blocks[0];
                (
                    message.id.clone(),
                    message.role,
                    block.kind,
                    block.text.clone(),
                    message.tool_name.clone(),
                )
            })
            .collect()
    }

    const TS: &str = r#""timestamp":"2026-04-11T22:48:59.579Z","sessionId":"s1","cwd":"/w""#;

    #[test]
    fn prompts_answers_calls_and_results() {
        let lines = [
            format!(
                r#"{{"uuid":"u1",{TS},"type":"user","message":{{"role":"user","parts":[{{"text":"explain @a.ts"}},{{"text":"\n--- Content ---"}}]}},"systemPayload":{{"displayText":"explain @a.ts"}}}}"#
            ),
            format!(
                r#"{{"uuid":"t1",{TS},"type":"system","subtype":"ui_telemetry","systemPayload":{{"uiEvent":{{"model":"m"}}}}}}"#
            ),
            format!(
                r#"{{"uuid":"a1",{TS},"type":"assistant","model":"m1","message":{{"role":"model","parts":[{{"text":"plan","thought":true}},{{"text":"Reading."}},{{"functionCall":{{"id":"c1","name":"read_file","args":{{"path": "a.ts"}}}}}},{{"functionCall":{{"name":"ls"}}}}]}}}}"#
            ),
            format!(
                r#"{{"uuid":"r1",{TS},"type":"tool_result","message":{{"role":"user","parts":[{{"functionResponse":{{"id":"c1","response":{{"output":"code"}}}}}},{{"functionResponse":{{"id":"x","name":"ls","response":{{"error":"denied"}}}}}}]}}}}"#
            ),
            format!(
                r#"{{"uuid":"r2",{TS},"type":"tool_result","message":{{"role":"user","parts":[{{"functionResponse":{{"id":"c1","response":{{"output":""}}}}}},{{"text":"appended"}}]}}}}"#
            ),
            format!(
                r#"{{"uuid":"n1",{TS},"type":"user","subtype":"notification","message":{{"role":"user","parts":[{{"text":"agent done"}}]}}}}"#
            ),
            format!(
                r#"{{"uuid":"a2",{TS},"type":"assistant","model":"m2","message":{{"role":"model","parts":[{{"text":"Done."}}]}}}}"#
            ),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (carried, main, side, diagnostics) = read(&lines);
        assert!(diagnostics.is_empty() && side.is_empty());
        let row = |id: &str, role, kind, text: &str, tool: Option<&str>| {
            (
                id.to_owned(),
                role,
                kind,
                text.to_owned(),
                tool.map(str::to_owned),
            )
        };
        assert_eq!(
            summary(&main),
            [
                row("u1", Role::User, BlockKind::Text, "explain @a.ts", None),
                row("a1", Role::Assistant, BlockKind::Thinking, "plan", None),
                row(
                    "a1/call/c1",
                    Role::ToolCall,
                    BlockKind::ToolUse,
                    r#"read_file({"path":"a.ts"})"#,
                    Some("read_file")
                ),
                row(
                    "a1/call/1",
                    Role::ToolCall,
                    BlockKind::ToolUse,
                    "ls()",
                    Some("ls")
                ),
                row(
                    "r1/result/c1",
                    Role::ToolResult,
                    BlockKind::ToolResult,
                    "code",
                    Some("read_file")
                ),
                row(
                    "r1/result/x",
                    Role::ToolResult,
                    BlockKind::ToolResult,
                    "error: denied",
                    Some("ls")
                ),
                row(
                    "r2",
                    Role::ToolResult,
                    BlockKind::ToolResult,
                    "appended",
                    Some("read_file")
                ),
                row("a2", Role::Assistant, BlockKind::Text, "Done.", None),
            ]
        );
        assert_eq!(
            main[1].blocks[1].text, "Reading.",
            "the answer after its thinking"
        );
        assert_eq!(carried.main.model.as_deref(), Some("m1"));
        assert_eq!(main[7].model.as_deref(), Some("m2"));
        assert!(main[..7].iter().all(|message| message.model.is_none()));
        assert_eq!(carried.main.first_prompt.as_deref(), Some("explain @a.ts"));
    }

    #[test]
    fn sidechains_titles_forks_and_undated_records() {
        let lines = [
            format!(r#"{{"uuid":"u1",{TS},"type":"user","message":{{"parts":[{{"text":"hi"}}]}},"forkedFrom":{{"sessionId":"s0","messageUuid":"u1"}}}}"#),
            format!(r#"{{"uuid":"s1",{TS},"type":"user","isSidechain":true,"agentId":"explore-1","message":{{"parts":[{{"text":"find the tests"}}]}}}}"#),
            format!(r#"{{"uuid":"c1",{TS},"type":"system","subtype":"custom_title","systemPayload":{{"customTitle":"First"}}}}"#),
            format!(r#"{{"uuid":"c2",{TS},"type":"system","subtype":"custom_title","systemPayload":{{"customTitle":"Second","titleSource":"auto"}}}}"#),
            format!(r#"{{"uuid":"p1",{TS},"type":"system","subtype":"parent_session","systemPayload":{{"parentSessionId":"s9"}}}}"#),
            r#"{"uuid":"u2","sessionId":"s1","type":"user","message":{"parts":[{"text":"no time"}]}}"#.to_owned(),
            r#"{"uuid":"u3","sessionId":"s1","type":"user","timestamp":"2026-04-11T22:50:00Z","message":{"parts":[{"text":"elsewhere"}]},"cwd":"/other"}"#.to_owned(),
        ];
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (carried, main, side, diagnostics) = read(&lines);
        assert_eq!(main.len(), 2);
        assert_eq!(main[0].origin_session_id.as_deref(), Some("s0"));
        assert_eq!(main[1].cwd.as_deref(), Some("/other"));
        assert_eq!(summary(&side)[0].3, "find the tests");
        assert_eq!(carried.title.as_deref(), Some("Second"));
        assert_eq!(carried.parent_session.as_deref(), Some("s9"));
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].line, Some(6));
    }

    #[test]
    fn a_prompt_is_what_was_typed_without_the_files_it_referenced() {
        let line = format!(
            r#"{{"uuid":"u1",{TS},"type":"user","message":{{"role":"user","parts":[{{"text":"explain "}},{{"text":"@a.ts"}},{{"text":"\n--- Content from referenced files ---\n"}},{{"text":"const a = 1;"}},{{"text":"\n--- End of content ---\n"}}]}}}}"#
        );
        let (_, main, _, _) = read(&[line.as_str()]);
        assert_eq!(main[0].blocks[0].text, "explain @a.ts");
        let only_files = format!(
            r#"{{"uuid":"u2",{TS},"type":"user","message":{{"parts":[{{"text":"--- Content from referenced files ---"}},{{"text":"x"}}]}}}}"#
        );
        let (_, main, _, _) = read(&[only_files.as_str()]);
        assert!(main.is_empty(), "nothing typed: no prompt");
    }
}
