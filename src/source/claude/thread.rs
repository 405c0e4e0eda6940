//! One session's thread as a file is read (facts, the first prompt, its messages held or counted)
//! and the state carried from one read of the file to the next in a checkpoint.

use std::borrow::Cow;
use std::path::Path;

use chrono::{DateTime, Utc};
// Ids and tool names are hashed for every line: foldhash is several times cheaper than SipHash.
use foldhash::{HashMap, HashSet};
use serde::{Deserialize, Serialize};

use crate::model::{BlockKind, Message, Role, Session, SessionFacts};
use crate::scope::MessageTally;
use crate::source::parts::{Held, PartBudget};
use crate::source::timestamp::parse_rfc3339;
use crate::source::title::title_from_prompt;

use super::text::non_blank_text;
use super::wire::Record;
use super::TOOL;

/// The conversation of one session as it is read. All but the messages is carried to the next
/// read in a checkpoint.
#[derive(Default, Serialize, Deserialize)]
pub(super) struct Thread {
    /// Lines routed to this thread, of any type.
    pub(super) records: u64,
    #[serde(skip)]
    pub(super) messages: Held,
    /// Set once the file's messages passed the budget: they are counted here, not held.
    #[serde(skip)]
    pub(super) counted: Option<MessageTally>,
    pub(super) cwd: Option<String>,
    git_branch: Option<String>,
    tool_version: Option<String>,
    pub(super) model: Option<String>,
    started_at: Option<DateTime<Utc>>,
    /// The first typed prompt, on one line: the title of last resort.
    pub(super) first_prompt: Option<String>,
}

impl Thread {
    /// Envelope facts come from the first line that carries them, of any record type.
    pub(super) fn note_facts(&mut self, record: &Record) {
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

    pub(super) fn push(&mut self, message: Message) {
        if self.first_prompt.is_none() && message.role == Role::User {
            self.first_prompt = message
                .blocks
                .iter()
                .find(|block| block.kind == BlockKind::Text)
                .map(|block| title_from_prompt(&block.text))
                .filter(|title| !title.is_empty());
        }
        match &mut self.counted {
            Some(tally) => tally.count(&message),
            None => self.messages.push(message),
        }
    }

    /// Drops the messages held and counts them, and those read after, instead.
    pub(super) fn count_instead(&mut self, budget: &PartBudget) {
        self.counted = Some(MessageTally::of(&self.messages.take(), budget.window));
    }

    /// Whether the thread read any message (held or counted).
    pub(super) fn has_messages(&self) -> bool {
        !self.messages.is_empty() || self.counted.is_some_and(|tally| tally.messages() > 0)
    }

    pub(super) fn into_session(
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
pub(super) enum Finished {
    Whole(Session),
    Outlined(Session, MessageTally),
}

/// Session titles recorded in the file; the last of each kind wins (formats.md §1.3).
#[derive(Default, Serialize, Deserialize)]
pub(super) struct Titles {
    pub(super) custom: Option<String>,
    pub(super) ai: Option<String>,
    pub(super) summary: Option<String>,
}

/// What the rules for later lines consult: carried from one read to the next in a checkpoint.
#[derive(Default, Serialize, Deserialize)]
pub(super) struct Carried {
    pub(super) first_session_id: Option<String>,
    pub(super) main: Thread,
    /// Inline 1.0.x subagent lines (`isSidechain: true` in a main file, formats.md §1.7).
    pub(super) inline_sidechain: Thread,
    pub(super) titles: Titles,
    pub(super) seen_message_ids: HashSet<String>,
    pub(super) tool_names: HashMap<String, String>,
    /// `promptId`s of `isMeta` lines: a later SDK replay of the same prompt is dropped.
    pub(super) meta_prompt_ids: HashSet<String>,
}

/// Sets `slot` from the first non-empty value seen.
pub(super) fn fill_once(slot: &mut Option<String>, value: Option<&str>) {
    if slot.is_none() {
        *slot = value.filter(|value| !value.is_empty()).map(str::to_owned);
    }
}

/// Keeps the last non-blank value seen.
pub(super) fn replace_if_present(slot: &mut Option<String>, value: Option<Cow<'_, str>>) {
    if let Some(value) = value.and_then(non_blank_text) {
        *slot = Some(value);
    }
}
