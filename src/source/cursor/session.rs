//! What every Cursor store yields on the way to a session: the facts a store knows of a
//! conversation without reading its messages ([`Head`]), the messages as a store holds them
//! ([`Draft`]), and the session assembled from the chosen store's messages and the facts of every
//! store that holds the conversation.
//!
//! Times are part of every memory id, so they must not move between runs: a message without a
//! time of its own takes its turn's `<timestamp>` tag, else the conversation's creation time
//! (from the IDE database or the cursor-agent store when either holds it, else what the chosen
//! store offers: its earliest tag or message time, the file's birth time, its modification
//! time), and `time_origin` says which.

use chrono::{DateTime, Utc};

use crate::model::{BlockKind, Message, Role, Session, SessionFacts};
use crate::source::own_fact;
use crate::source::title::title_from_prompt;

/// A conversation's facts as one store knows them; every field may be missing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Head {
    pub title: Option<String>,
    /// The cwd and how it was found (`SessionFacts::cwd_origin`).
    pub cwd: Option<(String, &'static str)>,
    pub model: Option<String>,
    pub mode: Option<String>,
    pub tool_version: Option<String>,
    pub originator: Option<&'static str>,
    /// When the conversation was created, and the name of that time's origin.
    pub created: Option<(DateTime<Utc>, &'static str)>,
    /// The conversation this one was spawned from (a subagent).
    pub parent: Option<String>,
}

impl Head {
    /// Takes every fact this head lacks from `other`.
    pub fn fill_from(&mut self, other: &Head) {
        fill(&mut self.title, &other.title);
        fill(&mut self.cwd, &other.cwd);
        fill(&mut self.model, &other.model);
        fill(&mut self.mode, &other.mode);
        fill(&mut self.tool_version, &other.tool_version);
        fill(&mut self.originator, &other.originator);
        fill(&mut self.created, &other.created);
        fill(&mut self.parent, &other.parent);
    }
}

fn fill<T: Clone>(slot: &mut Option<T>, other: &Option<T>) {
    if slot.is_none() {
        slot.clone_from(other);
    }
}

/// Where a message's time comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MessageTime {
    /// The store recorded it for this message.
    Own(DateTime<Utc>),
    /// The `<timestamp>` tag of the turn the message belongs to.
    Tag(DateTime<Utc>),
    /// None: the conversation's creation time is given.
    Undated,
}

/// One message as a store holds it, before its time is settled.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Draft {
    pub id: String,
    pub role: Role,
    pub blocks: Vec<crate::model::Block>,
    pub time: MessageTime,
    pub model: Option<String>,
    pub tool_name: Option<String>,
    pub line: u64,
}

/// One conversation as the chosen store holds it.
#[derive(Debug, Default)]
pub(super) struct Conversation {
    /// What reading the messages taught about the conversation (a cwd from the paths in it, the
    /// model of its messages).
    pub head: Head,
    pub drafts: Vec<Draft>,
    /// Times the store can offer for undated messages when no store knows the creation time, in
    /// order of preference (`file_birth_time`, `file_mtime`).
    pub fallback_times: Vec<(DateTime<Utc>, &'static str)>,
}

/// The session of `conversation`, with the facts of `merged` (the chosen store's head, then every
/// other store's) where the messages taught nothing.
pub(super) fn assemble(
    id: String,
    source_file: String,
    conversation: Conversation,
    merged: &Head,
    revision: i64,
) -> Session {
    let Conversation {
        mut head,
        drafts,
        fallback_times,
    } = conversation;
    head.fill_from(merged);
    let earliest = |tagged: bool| {
        drafts
            .iter()
            .filter_map(|draft| match draft.time {
                MessageTime::Tag(at) if tagged => Some(at),
                MessageTime::Own(at) if !tagged => Some(at),
                _ => None,
            })
            .min()
    };
    let created = head
        .created
        .or_else(|| earliest(true).map(|at| (at, "timestamp_tag")))
        .or_else(|| earliest(false).map(|at| (at, "earliest_message")))
        .or_else(|| fallback_times.first().copied());
    let mut tagged = false;
    let mut undated = false;
    let mut messages = Vec::with_capacity(drafts.len());
    for draft in drafts {
        let timestamp = match draft.time {
            MessageTime::Own(at) => at,
            MessageTime::Tag(at) => {
                tagged = true;
                at
            }
            MessageTime::Undated => match created {
                Some((at, _)) => {
                    undated = true;
                    at
                }
                // Nothing at all tells when: the message cannot be placed in time.
                None => continue,
            },
        };
        messages.push(Message {
            id: draft.id,
            origin_session_id: None,
            timestamp,
            role: draft.role,
            blocks: draft.blocks,
            tool_name: draft.tool_name,
            model: own_fact(draft.model.as_deref(), head.model.as_deref()),
            cwd: None,
            line: draft.line,
        });
    }
    let mut origins = Vec::new();
    for origin in [
        tagged.then_some("timestamp_tag"),
        undated.then(|| created.map(|(_, origin)| origin)).flatten(),
    ]
    .into_iter()
    .flatten()
    {
        if !origins.contains(&origin) {
            origins.push(origin);
        }
    }
    let time_origin = origins.join("+");
    let title = head.title.clone().or_else(|| {
        messages
            .iter()
            .filter(|message| message.role == Role::User)
            .flat_map(|message| &message.blocks)
            .find(|block| block.kind == BlockKind::Text)
            .map(|block| title_from_prompt(&block.text))
    });
    let (cwd, cwd_origin) = match head.cwd {
        Some((cwd, origin)) => (Some(cwd), origin),
        None => (None, "unresolved"),
    };
    let started_at = created
        .map(|(at, _)| at)
        .or_else(|| messages.iter().map(|message| message.timestamp).min());
    Session {
        tool: super::TOOL,
        id,
        source_file,
        facts: SessionFacts {
            title,
            cwd,
            tool_version: head.tool_version,
            originator: head.originator.map(str::to_owned),
            model: head.model,
            agent_mode: head.mode,
            started_at,
            is_sidechain: head.parent.is_some(),
            parent_session_id: head.parent,
            cwd_origin: Some(cwd_origin.to_owned()),
            time_origin: (!time_origin.is_empty()).then_some(time_origin),
            revision: Some(revision),
            ..SessionFacts::default()
        },
        messages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Block, BlockKind};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn draft(id: &str, role: Role, text: &str, time: MessageTime) -> Draft {
        Draft {
            id: id.into(),
            role,
            blocks: vec![Block::new(BlockKind::Text, text)],
            time,
            model: None,
            tool_name: None,
            line: 0,
        }
    }

    #[test]
    fn undated_messages_take_the_creation_time_and_the_origins_are_named() {
        let conversation = Conversation {
            drafts: vec![
                draft("1", Role::User, "first prompt", MessageTime::Undated),
                draft("2", Role::User, "second", MessageTime::Tag(at(50))),
                draft("3", Role::Assistant, "answer", MessageTime::Own(at(60))),
            ],
            fallback_times: vec![(at(5), "file_mtime")],
            ..Conversation::default()
        };
        let merged = Head {
            created: Some((at(10), "composer_created")),
            ..Head::default()
        };
        let session = assemble("s".into(), "f".into(), conversation, &merged, 7);
        let times: Vec<_> = session.messages.iter().map(|m| m.timestamp).collect();
        assert_eq!(times, [at(10), at(50), at(60)]);
        let facts = &session.facts;
        assert_eq!(
            facts.time_origin.as_deref(),
            Some("timestamp_tag+composer_created")
        );
        assert_eq!(facts.started_at, Some(at(10)));
        assert_eq!(facts.title.as_deref(), Some("first prompt"));
        assert_eq!(facts.cwd_origin.as_deref(), Some("unresolved"));
        assert_eq!(facts.revision, Some(7));
    }

    #[test]
    fn without_a_creation_time_the_earliest_tag_or_message_then_the_file_time_is_taken() {
        let tagged = Conversation {
            drafts: vec![
                draft("1", Role::Assistant, "a", MessageTime::Undated),
                draft("2", Role::User, "b", MessageTime::Tag(at(90))),
                draft("3", Role::User, "c", MessageTime::Tag(at(80))),
            ],
            fallback_times: vec![(at(5), "file_mtime")],
            ..Conversation::default()
        };
        let session = assemble("s".into(), "f".into(), tagged, &Head::default(), 1);
        assert_eq!(session.messages[0].timestamp, at(80));
        assert_eq!(session.facts.time_origin.as_deref(), Some("timestamp_tag"));

        let bubbles = Conversation {
            drafts: vec![
                draft("1", Role::User, "a", MessageTime::Undated),
                draft("2", Role::Assistant, "b", MessageTime::Own(at(70))),
            ],
            fallback_times: vec![(at(5), "file_mtime")],
            ..Conversation::default()
        };
        let session = assemble("s".into(), "f".into(), bubbles, &Head::default(), 1);
        assert_eq!(session.messages[0].timestamp, at(70));
        assert_eq!(session.facts.time_origin.as_deref(), Some("earliest_message"));

        let untagged = Conversation {
            drafts: vec![draft("1", Role::User, "a", MessageTime::Undated)],
            fallback_times: vec![(at(3), "file_birth_time"), (at(5), "file_mtime")],
            ..Conversation::default()
        };
        let session = assemble("s".into(), "f".into(), untagged, &Head::default(), 1);
        assert_eq!(session.messages[0].timestamp, at(3));
        assert_eq!(session.facts.time_origin.as_deref(), Some("file_birth_time"));
    }

    #[test]
    fn own_facts_win_and_a_parent_makes_a_sidechain() {
        let conversation = Conversation {
            head: Head {
                cwd: Some(("/own".into(), "transcript_folder")),
                ..Head::default()
            },
            ..Conversation::default()
        };
        let merged = Head {
            cwd: Some(("/other".into(), "workspace_json")),
            title: Some("Named".into()),
            parent: Some("p".into()),
            ..Head::default()
        };
        let facts = assemble("s".into(), "f".into(), conversation, &merged, 1).facts;
        assert_eq!(facts.cwd.as_deref(), Some("/own"));
        assert_eq!(facts.cwd_origin.as_deref(), Some("transcript_folder"));
        assert_eq!(facts.title.as_deref(), Some("Named"));
        assert!(facts.is_sidechain);
        assert_eq!(facts.parent_session_id.as_deref(), Some("p"));
    }
}
