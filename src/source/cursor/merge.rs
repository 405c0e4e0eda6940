//! One session per conversation, whatever stores hold it. The stores under a candidate's roots
//! are first listed without their messages (an inventory: per conversation id, each store's facts
//! and revision marker); then each conversation is read once, from its best copy:
//!
//! 1. an IDE database composer with at least one message (the global database before a
//!    workspace's, the one with more messages first),
//! 2. a cursor-agent `store.db`,
//! 3. a transcript: `.jsonl`, then `.json`, then `.txt`.
//!
//! A copy that yields no message (a transcript that no longer parses) leaves the conversation to
//! the next. Facts the chosen copy lacks (title, cwd, model, mode, creation time, parent) are
//! taken from the others in that order. The session's revision is the chosen copy's marker when
//! it is the only one, else a marker of every copy's, so the ledger skips a conversation until
//! one of its copies changes, without reading its messages.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::model::{Diagnostic, DiagnosticKind, KnownRevisions, Session};
use crate::source::sqlite::size_with_wal;
use crate::source::{Candidate, ParseOutcome};

use super::locate::{Format, Stores};
use super::session::{assemble, Conversation, Head};
use super::{agent_store, marker, transcript, vscdb};

/// Which copy of a conversation, by store index in [`Stores`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Copy {
    Ide(usize),
    Agent(usize),
    Transcript(usize),
}

/// What one store knows of a conversation.
#[derive(Debug)]
struct Sighting {
    copy: Copy,
    /// Lower is preferred; `None` is never chosen (an empty composer).
    rank: Option<(u8, usize)>,
    marker: i64,
    head: Head,
}

/// A conversation to read: its copies that may be chosen, best first, and the facts of all.
struct Planned {
    id: String,
    copies: Vec<Copy>,
    revision: i64,
    head: Head,
    /// The conversation's transcripts: where its cwd may be read when the copy read says none.
    transcripts: Vec<usize>,
}

/// Reads every conversation under the candidate's roots, each once, handing each session to
/// `emit` as soon as it is read. Conversations whose revision is in `known` are counted as
/// unchanged and not read.
pub(super) fn read(
    candidate: &Candidate,
    known: &KnownRevisions,
    emit: &mut dyn FnMut(Session),
) -> ParseOutcome {
    let roots: Vec<PathBuf> = std::iter::once(&candidate.path)
        .chain(&candidate.also)
        .cloned()
        .collect();
    let mut stores = Stores::locate(&roots);
    let mut outcome = ParseOutcome::default();
    outcome.diagnostics.append(&mut stores.diagnostics);
    let (sightings, workspaces) = inventory(&stores, &mut outcome);
    let workspaces: Vec<&str> = workspaces.iter().map(String::as_str).collect();
    let mut plans = Vec::new();
    for (id, mut sightings) in sightings {
        sightings.sort_by_key(|sighting| (sighting.rank.is_none(), sighting.rank));
        let Some(chosen) = sightings.first().filter(|sighting| sighting.rank.is_some()) else {
            continue;
        };
        let revision = match sightings.as_slice() {
            [only] => only.marker,
            all => {
                let markers: Vec<[u8; 8]> =
                    all.iter().map(|sighting| sighting.marker.to_le_bytes()).collect();
                let parts: Vec<&[u8]> = markers.iter().map(|marker| marker.as_slice()).collect();
                marker(&parts)
            }
        };
        if known.get(&id) == Some(&revision) {
            outcome.unchanged_sessions += 1;
            continue;
        }
        let mut head = chosen.head.clone();
        for other in &sightings[1..] {
            head.fill_from(&other.head);
        }
        let transcripts = sightings
            .iter()
            .filter_map(|sighting| match sighting.copy {
                Copy::Transcript(index) => Some(index),
                _ => None,
            })
            .collect();
        let copies = sightings
            .iter()
            .filter(|sighting| sighting.rank.is_some())
            .map(|sighting| sighting.copy)
            .collect();
        plans.push(Planned {
            id,
            copies,
            revision,
            head,
            transcripts,
        });
    }
    // One store open at a time: the conversations of each store are read together.
    plans.sort_by(|a, b| (a.copies.first(), &a.id).cmp(&(b.copies.first(), &b.id)));
    let mut reader = CopyReader {
        stores: &stores,
        workspaces: &workspaces,
        ide: None,
    };
    for plan in plans {
        // The best copy that holds messages: a damaged one (a transcript that no longer parses)
        // leaves the conversation to the next, rather than losing it.
        let mut read = None;
        for copy in &plan.copies {
            let Some(found) = reader.read(*copy, &plan, &mut outcome) else {
                continue;
            };
            let has_messages = !found.0.drafts.is_empty();
            if read.is_none() || has_messages {
                read = Some((*copy, found));
            }
            if has_messages {
                break;
            }
        }
        // Gone since the inventory (deleted, or emptied), or unreadable and reported.
        let Some((used, (conversation, source_file))) = read else {
            continue;
        };
        let mut head = plan.head;
        if head.cwd.is_none() && conversation.head.cwd.is_none() {
            let others: Vec<usize> = plan
                .transcripts
                .iter()
                .copied()
                .filter(|index| used != Copy::Transcript(*index))
                .collect();
            head.cwd = cwd_from_transcripts(&stores, &others, &workspaces);
        }
        emit(assemble(plan.id, source_file, conversation, &head, plan.revision));
    }
    outcome.stats.malformed_lines = outcome
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.kind == DiagnosticKind::Malformed)
        .count() as u64;
    outcome
}

/// Reads one copy of a conversation, keeping the IDE database last read open.
struct CopyReader<'s> {
    stores: &'s Stores,
    workspaces: &'s [&'s str],
    ide: Option<(usize, Result<vscdb::Reader, String>)>,
}

impl CopyReader<'_> {
    /// The conversation as `copy` holds it, with the name of where it was read; `None` when it
    /// is gone or cannot be read (reported).
    fn read(
        &mut self,
        copy: Copy,
        plan: &Planned,
        outcome: &mut ParseOutcome,
    ) -> Option<(Conversation, String)> {
        match copy {
            Copy::Ide(index) => {
                let database = &self.stores.databases[index];
                if self.ide.as_ref().is_none_or(|(open, _)| *open != index) {
                    let reader = vscdb::Reader::open(&database.path);
                    if let Err(problem) = &reader {
                        outcome.diagnostics.push(unreadable(&database.path, problem));
                    }
                    self.ide = Some((index, reader));
                }
                let Some((_, Ok(reader))) = self.ide.as_mut() else {
                    return None;
                };
                match reader.conversation(&plan.id, &mut outcome.diagnostics) {
                    Ok(conversation) => {
                        let name = format!("{}#composer/{}", database.path.display(), plan.id);
                        conversation.map(|conversation| (conversation, name))
                    }
                    Err(problem) => {
                        outcome.diagnostics.push(unreadable(&database.path, &problem));
                        None
                    }
                }
            }
            Copy::Agent(index) => {
                let store = &self.stores.agent_stores[index];
                match agent_store::conversation(store, &mut outcome.diagnostics) {
                    Ok(conversation) => {
                        conversation.map(|conversation| (conversation, store.path.display().to_string()))
                    }
                    Err(problem) => {
                        outcome.diagnostics.push(unreadable(&store.path, &problem));
                        None
                    }
                }
            }
            Copy::Transcript(index) => {
                let file = &self.stores.transcripts[index];
                let read = transcript::read(
                    file,
                    plan.head.cwd.is_some(),
                    self.workspaces,
                    &mut outcome.diagnostics,
                )?;
                outcome.stats.bytes += read.stats.bytes;
                outcome.stats.lines += read.stats.lines;
                Some((read.conversation, file.path.display().to_string()))
            }
        }
    }
}

/// Lists what every store holds, by conversation id, and the workspace folders the stores name.
fn inventory(
    stores: &Stores,
    outcome: &mut ParseOutcome,
) -> (BTreeMap<String, Vec<Sighting>>, BTreeSet<String>) {
    let mut sightings: BTreeMap<String, Vec<Sighting>> = BTreeMap::new();
    let mut parents: BTreeMap<String, String> = BTreeMap::new();
    let mut listed_cwds: BTreeMap<String, String> = BTreeMap::new();
    let mut workspaces: BTreeSet<String> = stores.workspaces.values().cloned().collect();
    for (index, database) in stores.databases.iter().enumerate() {
        outcome.stats.bytes += size_with_wal(&database.path);
        let Some(found) = vscdb::inventory(&database.path, &mut outcome.diagnostics) else {
            continue;
        };
        let own_folder = database
            .workspace
            .as_ref()
            .and_then(|id| stores.workspaces.get(id));
        for listed in found.listed {
            if let Some(folder) = own_folder {
                listed_cwds.entry(listed).or_insert_with(|| folder.clone());
            }
        }
        for mut composer in found.composers {
            for child in &composer.children {
                parents
                    .entry(child.clone())
                    .or_insert_with(|| composer.id.clone());
            }
            if composer.head.cwd.is_none() {
                let folder = composer
                    .workspace_id
                    .as_ref()
                    .and_then(|id| stores.workspaces.get(id))
                    .or(own_folder);
                composer.head.cwd = folder.map(|folder| (folder.clone(), "workspace_json"));
            }
            if let Some((cwd, _)) = &composer.head.cwd {
                workspaces.insert(cwd.clone());
            }
            let workspace_db = u8::from(database.workspace.is_some());
            sightings.entry(composer.id).or_default().push(Sighting {
                copy: Copy::Ide(index),
                rank: (composer.messages > 0).then_some((workspace_db, usize::MAX - composer.messages)),
                marker: composer.marker,
                head: composer.head,
            });
        }
    }
    for (index, store) in stores.agent_stores.iter().enumerate() {
        outcome.stats.bytes += size_with_wal(&store.path);
        if let Some(chat) = agent_store::inventory(store, &mut outcome.diagnostics) {
            sightings.entry(chat.id).or_default().push(Sighting {
                copy: Copy::Agent(index),
                rank: Some((2, 0)),
                marker: chat.marker,
                head: chat.head,
            });
        }
    }
    for (index, file) in stores.transcripts.iter().enumerate() {
        let Some(file_marker) = transcript::file_marker(&file.path) else {
            outcome.diagnostics.push(Diagnostic::vanished(&file.path));
            continue;
        };
        let rank = match file.format {
            Format::Jsonl => 3,
            Format::Json => 4,
            Format::Txt => 5,
        };
        sightings
            .entry(file.session_id.clone())
            .or_default()
            .push(Sighting {
                copy: Copy::Transcript(index),
                rank: Some((rank, 0)),
                marker: file_marker,
                head: Head {
                    parent: file.parent.clone(),
                    ..Head::default()
                },
            });
    }
    for (id, copies) in &mut sightings {
        let parent = parents.get(id);
        let listed = listed_cwds.get(id);
        for sighting in copies {
            if sighting.head.parent.is_none() {
                sighting.head.parent = parent.cloned();
            }
            if sighting.head.cwd.is_none() {
                sighting.head.cwd = listed.map(|cwd| (cwd.clone(), "workspace_json"));
            }
        }
    }
    // A subagent works in its parent's workspace.
    let cwds: BTreeMap<String, (String, &'static str)> = sightings
        .iter()
        .filter_map(|(id, copies)| Some((id.clone(), copies.iter().find_map(|s| s.head.cwd.clone())?)))
        .collect();
    for copies in sightings.values_mut() {
        for sighting in copies {
            if sighting.head.cwd.is_none() {
                sighting.head.cwd = sighting
                    .head
                    .parent
                    .as_ref()
                    .and_then(|parent| cwds.get(parent))
                    .cloned();
            }
        }
    }
    (sightings, workspaces)
}

/// The cwd the conversation's other transcripts settle, when the chosen copy says none. Their
/// problems are not reported: none of their messages is imported.
fn cwd_from_transcripts(
    stores: &Stores,
    transcripts: &[usize],
    workspaces: &[&str],
) -> Option<(String, &'static str)> {
    transcripts.iter().find_map(|&index| {
        let read = transcript::read(&stores.transcripts[index], false, workspaces, &mut Vec::new())?;
        read.conversation.head.cwd
    })
}

fn unreadable(path: &std::path::Path, problem: &str) -> Diagnostic {
    Diagnostic {
        file: path.to_path_buf(),
        line: None,
        kind: DiagnosticKind::Unreadable,
        message: format!("cannot read {}: {problem}", path.display()),
    }
}
