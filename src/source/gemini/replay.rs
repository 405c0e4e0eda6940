//! Replaying a Gemini CLI chat log (formats.md 4.3) as Gemini CLI's own reader does: metadata
//! lines (the first of a session id and start wins, later summaries and kinds replace earlier
//! ones), a message record appended again when updated (same `id`, the later version wins),
//! `{"$set":{…}}` updates whose `messages` replace the whole list, and `{"$rewindTo": id}`, which
//! drops that message and every one recorded after it (all of them when the id is unknown).
//!
//! A message is emitted once, in its final version, at the line of that version (`Message::line`,
//! with its position in the line for a `$set` list): so a whole read, a read on from a checkpoint
//! and a read in parts agree. The [`State`] carried in a checkpoint is the replay without texts:
//! the session's facts and, per live message, its place in the log. A read on from it emits only
//! the messages whose final version it read; one rewound after an earlier run imported it stays
//! imported (memtree never deletes rows), one updated is emitted again under its id.
//!
//! Once the text held passes the read's budget, each live message read is counted instead of
//! held (`source::parts`); pass 2 reads the same lines again and emits the versions that
//! survived ([`Survivors`]).

use std::path::Path;

use chrono::{DateTime, Utc};
// Ids are hashed for every record: foldhash is several times cheaper than SipHash.
use foldhash::{HashMap, HashSet};
use serde::{Deserialize, Serialize};

use crate::model::{Diagnostic, Message};
use crate::scope::MessageTally;
use crate::source::jsonl;
use crate::source::parts::{text_bytes, PartBudget};
use crate::source::timestamp::parse_rfc3339;
use crate::source::title::title_from_prompt;

use super::message::{messages_of, prompt_of, time_of};
use super::wire::{Line, LineKind};

/// Workspace directories kept for resolving the project (`/dir add` can list many).
const MAX_DIRECTORIES: usize = 64;

/// What the replay carries from one read to the next: everything but the texts.
#[derive(Default, Serialize, Deserialize)]
pub(super) struct State {
    pub session_id: Option<String>,
    pub project_hash: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    /// The first message's time: the start of a session whose metadata has none.
    pub first_time: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    /// The metadata says `kind: "subagent"`.
    pub subagent: bool,
    pub directories: Vec<String>,
    /// The first model recorded: the session's.
    pub model: Option<String>,
    /// The first typed prompt, as a title.
    pub first_prompt: Option<String>,
    /// The order the next new message is recorded in.
    next_seq: u64,
    /// Every live message (conversation or notice): a rewind drops by recording order.
    live: HashMap<String, Live>,
}

/// A live message: when it was first recorded (`seq`), and where its final version is (line,
/// and position in the line).
#[derive(Clone, Copy, Serialize, Deserialize)]
struct Live(u64, u64, u32);

impl Live {
    fn seq(self) -> u64 {
        self.0
    }

    fn place(self) -> (u64, u32) {
        (self.1, self.2)
    }
}

/// The places (line, position) of the final versions a pass 1 that counted found alive: the
/// messages pass 2 emits.
pub(super) type Survivors = HashSet<(u64, u32)>;

/// The messages of one record's final version, held.
struct Held {
    messages: Vec<Message>,
    bytes: u64,
}

/// A log being replayed by one read.
pub(super) struct Replay<'p> {
    path: &'p Path,
    pub state: State,
    /// Text held past which messages are counted (`None`: all are held).
    budget: Option<PartBudget>,
    /// The final versions this read found, by id.
    held: HashMap<String, Held>,
    held_bytes: u64,
    /// Set once the held text passed the budget: each final version's tally instead.
    counted: Option<HashMap<String, MessageTally>>,
    /// A message record or a session id was read (a file of neither is not a session).
    saw_session: bool,
    pub diagnostics: Vec<Diagnostic>,
    pub malformed: u64,
}

impl<'p> Replay<'p> {
    /// A replay going on from `state` (a checkpoint's, or the start), holding messages up to
    /// `budget`.
    pub fn new(path: &'p Path, state: Option<State>, budget: Option<PartBudget>) -> Self {
        Replay {
            path,
            saw_session: state.is_some(),
            state: state.unwrap_or_default(),
            budget,
            held: HashMap::default(),
            held_bytes: 0,
            counted: None,
            diagnostics: Vec::new(),
            malformed: 0,
        }
    }

    /// Applies one line (a `.json` document is one line, 0).
    pub fn apply(&mut self, line: u64, record: &Line<'_>) {
        match record.kind() {
            LineKind::Rewind(target) => self.rewind(target),
            LineKind::Message(message) => self.record(line, 0, message),
            LineKind::Set(fields, messages) => {
                self.metadata(fields);
                if messages.is_some() {
                    self.clear();
                }
            }
            LineKind::Metadata(fields) => self.metadata(fields),
            LineKind::Other => return,
        }
        if !matches!(record.kind(), LineKind::Message(_)) {
            for (index, message) in record.records() {
                self.record(line, index, message);
            }
        }
    }

    /// Applies a `.json` document: its metadata, then its messages, at line 0.
    pub fn apply_document(&mut self, document: &Line<'_>) {
        self.metadata(document);
        for (index, message) in document.listed_records() {
            self.record(0, index, message);
        }
    }

    fn metadata(&mut self, fields: &Line<'_>) {
        let state = &mut self.state;
        if state.session_id.is_none() {
            state.session_id = fields.session_id.as_deref().map(str::to_owned);
        }
        self.saw_session |= state.session_id.is_some();
        if let Some(hash) = &fields.project_hash {
            state.project_hash = Some(hash.to_string());
        }
        if state.started_at.is_none() {
            state.started_at = fields.start_time.as_deref().and_then(parse_rfc3339);
        }
        if let Some(summary) = fields
            .summary
            .as_deref()
            .filter(|summary| !summary.trim().is_empty())
        {
            state.summary = Some(summary.to_owned());
        }
        if let Some(kind) = &fields.conversation_kind {
            state.subagent = kind == "subagent";
        }
        if !fields.directories.0.is_empty() {
            state.directories = fields
                .directories
                .0
                .iter()
                .take(MAX_DIRECTORIES)
                .map(|directory| directory.to_string())
                .collect();
        }
    }

    /// A message record's version at `line`, position `index`.
    fn record(&mut self, line: u64, index: u32, record: &Line<'_>) {
        let Some(id) = record.message_id() else { return };
        self.saw_session = true;
        let state = &mut self.state;
        if state.first_time.is_none() {
            state.first_time = time_of(record);
        }
        if state.model.is_none() && record.kind.as_deref() == Some("gemini") {
            state.model = record
                .model
                .as_deref()
                .filter(|model| !model.is_empty())
                .map(str::to_owned);
        }
        let messages = match messages_of(record, state.model.as_deref(), line) {
            Ok(messages) => messages,
            Err(problem) => {
                self.malformed += 1;
                self.diagnostics.push(jsonl::malformed(self.path, line, problem));
                Vec::new()
            }
        };
        let state = &mut self.state;
        if state.first_prompt.is_none() {
            state.first_prompt = prompt_of(&messages)
                .map(title_from_prompt)
                .filter(|title| !title.is_empty());
        }
        match state.live.get_mut(id) {
            Some(live) => *live = Live(live.seq(), line, index),
            None => {
                state
                    .live
                    .insert(id.to_owned(), Live(state.next_seq, line, index));
                state.next_seq += 1;
            }
        }
        self.hold(id, messages);
    }

    /// Holds the messages of a record's latest version, or counts them once past the budget.
    fn hold(&mut self, id: &str, messages: Vec<Message>) {
        if let Some(counted) = &mut self.counted {
            let window = self.budget.map(|budget| budget.window).unwrap_or_default();
            counted.insert(id.to_owned(), MessageTally::of(&messages, window));
            return;
        }
        let bytes = messages.iter().map(text_bytes).sum();
        if let Some(earlier) = self.held.insert(id.to_owned(), Held { messages, bytes }) {
            self.held_bytes -= earlier.bytes;
        }
        self.held_bytes += bytes;
        if let Some(budget) = self.budget.filter(|budget| !budget.holds_whole(self.held_bytes)) {
            let counted = self
                .held
                .drain()
                .map(|(id, held)| (id, MessageTally::of(&held.messages, budget.window)))
                .collect();
            self.counted = Some(counted);
            self.held_bytes = 0;
        }
    }

    /// `$rewindTo`: drops the message and every one recorded after it; an unknown id drops all.
    fn rewind(&mut self, target: &str) {
        let live = &mut self.state.live;
        match live.get(target).map(|found| found.seq()) {
            Some(seq) => live.retain(|_, live| live.seq() < seq),
            None => live.clear(),
        }
        let live = &self.state.live;
        let mut dropped = 0;
        self.held.retain(|id, held| {
            let keep = live.contains_key(id);
            if !keep {
                dropped += held.bytes;
            }
            keep
        });
        self.held_bytes -= dropped;
        if let Some(counted) = &mut self.counted {
            counted.retain(|id, _| live.contains_key(id));
        }
    }

    /// A `$set` of `messages`: the list starts anew.
    fn clear(&mut self) {
        self.state.live.clear();
        self.held.clear();
        self.held_bytes = 0;
        if let Some(counted) = &mut self.counted {
            counted.clear();
        }
    }

    /// Whether the log is a session: it named one, or recorded a message.
    pub fn is_session(&self) -> bool {
        self.saw_session
    }

    /// Whether this read found the final version of a message that holds a memory (a notice
    /// re-appended, or a history sync of notices only, holds none).
    pub fn found_any(&self) -> bool {
        self.held.values().any(|held| !held.messages.is_empty())
            || self
                .counted
                .as_ref()
                .is_some_and(|counted| counted.values().any(|tally| tally.messages() > 0))
    }

    /// The state to go on from, as JSON; `None` while the log has named no session (its id would
    /// come from the file name, and change once the metadata arrives).
    pub fn checkpoint_state(&self) -> Option<String> {
        self.state.session_id.as_ref()?;
        serde_json::to_string(&self.state).ok()
    }

    /// The final versions this read found, in log order; `None` when they were counted instead.
    pub fn take_messages(&mut self) -> Option<Vec<Message>> {
        if self.counted.is_some() {
            return None;
        }
        let live = &self.state.live;
        let mut found: Vec<((u64, u32), Vec<Message>)> = self
            .held
            .drain()
            .filter_map(|(id, held)| live.get(&id).map(|live| (live.place(), held.messages)))
            .collect();
        found.sort_unstable_by_key(|(place, _)| *place);
        self.held_bytes = 0;
        Some(found.into_iter().flat_map(|(_, messages)| messages).collect())
    }

    /// The tally of the final versions counted, and their places for pass 2; `None` when they
    /// were held.
    pub fn outline(&self, budget: &PartBudget) -> Option<(MessageTally, Survivors)> {
        let counted = self.counted.as_ref()?;
        let mut tally = MessageTally::new(budget.window);
        let mut survivors = Survivors::default();
        for (id, counted) in counted {
            if let Some(live) = self.state.live.get(id) {
                tally.merge(counted);
                survivors.insert(live.place());
            }
        }
        Some((tally, survivors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::gemini::wire::Record;

    fn record(text: &str) -> Record<'_> {
        serde_json::from_str(text).unwrap()
    }

    const TS: &str = "2026-04-25T08:42:51.457Z";

    fn message(id: &str, text: &str) -> String {
        format!(r#"{{"id":"{id}","timestamp":"{TS}","type":"user","content":"{text}"}}"#)
    }

    /// Replays `lines` (1-based) and returns `(id, text, line)` of the messages emitted.
    fn replay(lines: &[String], state: Option<State>, from: u64) -> (Vec<(String, String, u64)>, State) {
        let mut replay = Replay::new(Path::new("f.jsonl"), state, None);
        for (at, text) in lines.iter().enumerate().skip(from as usize) {
            replay.apply(at as u64 + 1, &record(text).0);
        }
        let messages = replay
            .take_messages()
            .unwrap()
            .into_iter()
            .map(|message| (message.id, message.blocks[0].text.clone(), message.line))
            .collect();
        (messages, replay.state)
    }

    fn owned(found: &[(&str, &str, u64)]) -> Vec<(String, String, u64)> {
        found
            .iter()
            .map(|(id, text, line)| (id.to_string(), text.to_string(), *line))
            .collect()
    }

    #[test]
    fn updates_rewinds_and_sets_replay_as_gemini_cli_reads_them() {
        let lines = vec![
            r#"{"sessionId":"s","projectHash":"h","startTime":"2026-04-25T08:41:35.150Z"}"#.to_owned(),
            message("a", "one"),
            message("b", "two"),
            message("a", "one, updated"),
            message("c", "three"),
            // Drops b and c (recorded after b); a was recorded before b, and stays.
            r#"{"$rewindTo":"b"}"#.to_owned(),
            message("d", "four"),
        ];
        let (found, state) = replay(&lines, None, 0);
        assert_eq!(found, owned(&[("a", "one, updated", 4), ("d", "four", 7)]));
        assert_eq!(state.session_id.as_deref(), Some("s"));
        assert_eq!(state.first_prompt.as_deref(), Some("one"));

        let mut more = lines.clone();
        more.push(r#"{"$rewindTo":"nobody"}"#.to_owned());
        more.push(message("e", "five"));
        more.push(format!(
            r#"{{"$set":{{"summary":"Sum","messages":[{},7,{}]}}}}"#,
            message("f", "six"),
            message("e", "five again")
        ));
        let (found, state) = replay(&more, None, 0);
        assert_eq!(found, owned(&[("f", "six", 10), ("e", "five again", 10)]));
        assert_eq!(state.summary.as_deref(), Some("Sum"));
    }

    #[test]
    fn a_read_on_from_a_checkpoint_emits_only_versions_it_read() {
        let lines = vec![
            r#"{"sessionId":"s","projectHash":"h"}"#.to_owned(),
            message("a", "one"),
            message("b", "two"),
            message("c", "three"),
            message("b", "two, updated"),
            r#"{"$rewindTo":"c"}"#.to_owned(),
            message("d", "four"),
        ];
        let (_, state) = replay(&lines[..4], None, 0);
        let carried: State = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        let (found, _) = replay(&lines, Some(carried), 4);
        assert_eq!(found, owned(&[("b", "two, updated", 5), ("d", "four", 7)]));
    }

    #[test]
    fn a_log_naming_no_session_takes_no_checkpoint_and_notices_are_no_news() {
        let mut replay = Replay::new(Path::new("f.jsonl"), None, None);
        replay.apply(1, &record(&message("a", "one")).0);
        assert!(replay.is_session());
        assert_eq!(
            replay.checkpoint_state(),
            None,
            "its id would come from the file name"
        );
        replay.apply(2, &record(r#"{"sessionId":"s","projectHash":"h"}"#).0);
        assert!(replay.checkpoint_state().is_some());

        let mut resumed = Replay::new(Path::new("f.jsonl"), Some(replay.state), None);
        let notice =
            format!(r#"{{"id":"n","timestamp":"{TS}","type":"info","content":"Request cancelled."}}"#);
        resumed.apply(3, &record(&notice).0);
        assert!(!resumed.found_any(), "a notice holds no memory");
        resumed.apply(4, &record(&message("b", "two")).0);
        assert!(resumed.found_any());
    }

    #[test]
    fn past_the_budget_final_versions_are_counted_with_their_places() {
        let budget = PartBudget {
            bytes: 1,
            window: Default::default(),
        };
        let mut replay = Replay::new(Path::new("f.jsonl"), None, Some(budget));
        for (line, text) in [message("a", "one"), message("b", "two"), message("a", "uno")]
            .iter()
            .enumerate()
        {
            replay.apply(line as u64 + 1, &record(text).0);
        }
        assert!(replay.take_messages().is_none());
        let (tally, survivors) = replay.outline(&budget).unwrap();
        assert_eq!((tally.messages(), tally.prompts()), (2, 2));
        assert_eq!(survivors, Survivors::from_iter([(2, 0), (3, 0)]));
    }
}
