//! Everything after parsing, for one run: counting and filtering sessions, project slugs,
//! planning and writing (or, in a dry run, comparing with the database), with the report they
//! fill in.
//!
//! Groups of sessions go through it one after the other: a chunk of transcripts, a part of an
//! outlined session, or a group of a store's sessions (`limits::GROUP_SESSIONS`,
//! `limits::GROUP_BYTES`). Each group's write runs on the store's runtime while the next group is
//! parsed, at most `limits::WRITES_IN_FLIGHT` at once. Within a group, sessions are planned in a
//! fixed order (main sessions first, then by file and id), so a message copied into several
//! files is kept from the same one every run. An outlined session is read in parts at its place
//! in that order, each part planned and written as it arrives, and counted once in the report.
//! A group's ledger entries are written in the transaction of its last rows, after every earlier
//! group of the same files, so the ledger is never ahead of the data; a file with problems is
//! never recorded, so its problems are reported until fixed.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use chrono::Utc;
use rayon::prelude::*;
use uuid::Uuid;

use super::chunks::{Judged, Listed, ParsedFile};
use super::ledger::{ledger_entries, ledger_path, Checkpoints, ChunkRead, ReadFile};
use super::readers::read_beside;
use super::settings::ImportSettings;
use super::ImportError;
use crate::failpoint;
use crate::filter::{self, SkipReason};
use crate::git::{strip_credentials, GitCache, GitFacts};
use crate::ledger::{self, Ledger};
use crate::limits::{GROUP_BYTES, GROUP_SESSIONS, STREAM_QUEUE, WRITES_IN_FLIGHT};
use crate::model::{KnownRevisions, ResumeOutcome, Session};
use crate::plan::{
    self, without_nul, PlanOptions, PlannedMemory, PreparedSession, ProjectContext, RowOutput,
};
use crate::redact::Redactor;
use crate::report::{ImportReport, ProjectEntry, SessionEntry};
use crate::slug::{ProjectKey, SlugBook};
use crate::source::{Candidate, OutlinedSession, ParseOutcome, PartBudget, StoreReader, TranscriptParser};
use crate::store::{LedgerRecords, Store, StoreError, WriteCounts};

/// A write of planned rows (with their ledger entries) running on the database runtime.
type PendingWrite = tokio::task::JoinHandle<Result<WriteCounts, StoreError>>;

/// Everything after parsing, for one run: filtering, project slugs, planning and writing, with
/// the report they fill in. Groups of sessions go through it one after the other; each group's
/// write runs while the next group is parsed.
pub(super) struct Pipeline<'a> {
    settings: &'a ImportSettings,
    runtime: &'a tokio::runtime::Runtime,
    store: Option<Arc<Store>>,
    host: String,
    plan_options: PlanOptions<'a>,
    git: GitCache,
    slugs: SlugBook,
    /// Ids planned so far in this run: a message copied into several files is stored once.
    selected: plan::SelectedIds,
    projects: BTreeMap<String, ProjectEntry>,
    /// Writes started and not yet awaited, oldest first: at most [`WRITES_IN_FLIGHT`].
    in_flight: VecDeque<PendingWrite>,
    report: ImportReport,
    /// The message text one read of a transcript holds before its sessions are read in parts.
    part_budget: PartBudget,
}

/// A session that passed the session filters: whole, or outlined, to be read in parts from its
/// file.
enum Admitted<'c> {
    Whole(PreparedSession),
    Outlined(&'c Candidate, OutlinedSession),
}

impl Admitted<'_> {
    fn session(&self) -> &Session {
        match self {
            Admitted::Whole(PreparedSession { session, .. })
            | Admitted::Outlined(_, OutlinedSession { session, .. }) => session,
        }
    }
}

impl<'a> Pipeline<'a> {
    /// A pipeline for one run, writing to `store` (none in a dry run without a database).
    pub(super) fn new(
        settings: &'a ImportSettings,
        runtime: &'a tokio::runtime::Runtime,
        store: Option<Store>,
        slugs: SlugBook,
        report: ImportReport,
        redactor: Option<&'a Redactor>,
        part_bytes: u64,
    ) -> Self {
        Pipeline {
            settings,
            runtime,
            store: store.map(Arc::new),
            host: ledger::host_name(),
            plan_options: PlanOptions {
                tree_root: &settings.tree_root,
                sessions_node_name: &settings.sessions_node_name,
                mode: settings.mode,
                window: settings.window,
                imported_at: Utc::now(),
                redactor,
            },
            git: GitCache::default(),
            slugs,
            selected: Default::default(),
            projects: BTreeMap::new(),
            in_flight: VecDeque::new(),
            report,
            part_budget: PartBudget {
                bytes: part_bytes,
                window: settings.window,
            },
        }
    }

    pub(super) fn settings(&self) -> &'a ImportSettings {
        self.settings
    }

    pub(super) fn plan_options(&self) -> PlanOptions<'a> {
        self.plan_options
    }

    /// The message text one read of a transcript holds before its sessions are read in parts.
    pub(super) fn part_budget(&self) -> PartBudget {
        self.part_budget
    }

    /// Whether this run records what it read in the ledger (a real import with a database).
    pub(super) fn records_ledger(&self) -> bool {
        self.store.is_some() && !self.settings.dry_run
    }

    /// What planning builds of each row: a dry run only shows or compares counts and ids.
    pub(super) fn row_output(&self) -> RowOutput {
        if self.settings.dry_run {
            RowOutput::IdOnly
        } else {
            RowOutput::Whole
        }
    }

    /// Prepares an admitted session for planning (see [`PreparedSession`]).
    fn prepare(&self, session: Session) -> PreparedSession {
        plan::prepare(session, &self.plan_options, self.row_output())
    }

    /// The recorded checkpoints of the files of a chunk that can be read on from them.
    pub(super) fn checkpoints_for<'f>(
        &self,
        files: impl IntoIterator<Item = &'f Listed>,
        ledger: &Ledger,
    ) -> Result<Checkpoints, ImportError> {
        let Some(store) = &self.store else {
            return Ok(Checkpoints::new());
        };
        let paths: Vec<String> = files
            .into_iter()
            .filter_map(|(candidate, state)| {
                let path = ledger_path(candidate);
                state
                    .is_some_and(|state| ledger.can_resume(&path, &state))
                    .then_some(path)
            })
            .collect();
        if paths.is_empty() {
            return Ok(Checkpoints::new());
        }
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let tool = self.settings.source.name();
        Ok(self
            .runtime
            .block_on(store.load_checkpoints(&self.host, tool, &paths))?)
    }

    /// Counts a parsed session and returns it if it passes the session filters.
    fn admit(&mut self, session: Session, read: &mut ChunkRead) -> Option<Session> {
        let skip = filter::session_skip_reason(&session, &self.settings.filter_options());
        self.count_found(&session, skip, read).then_some(session)
    }

    /// [`Pipeline::admit`] for an outlined session, judged on the tally of all its messages.
    fn admit_outlined(&mut self, outlined: OutlinedSession, read: &mut ChunkRead) -> Option<OutlinedSession> {
        let options = self.settings.filter_options();
        let skip = filter::tally_skip_reason(&outlined.session.facts, &outlined.tally, &options);
        self.count_found(&outlined.session, skip, read)
            .then_some(outlined)
    }

    /// Counts a session found, and lists it if `skip` says why it is not imported; returns
    /// whether it is.
    fn count_found(&mut self, session: &Session, skip: Option<SkipReason>, read: &mut ChunkRead) -> bool {
        self.report.sessions.found += 1;
        if let Some(revision) = session.facts.revision {
            read.sessions.push((session.id.clone(), revision));
        }
        let Some(reason) = skip else { return true };
        *self.report.sessions.skipped.entry(reason).or_default() += 1;
        self.report
            .session_list
            .push(session_entry(session, None, 0, Some(reason)));
        false
    }

    /// Takes in the outcomes of parsing a chunk's files (in the chunk's order): counts and
    /// filters their sessions, and plans and writes those admitted.
    pub(super) fn take_chunk(
        &mut self,
        parser: &dyn TranscriptParser,
        files: &[Listed],
        parsed: Vec<ParsedFile>,
    ) -> Result<(), ImportError> {
        let mut kept = Vec::new();
        let mut read = ChunkRead::default();
        for (
            listed,
            ParsedFile {
                mut outcome,
                sessions,
            },
        ) in files.iter().zip(parsed)
        {
            let candidate = &listed.0;
            let outlined = std::mem::take(&mut outcome.outlined);
            let (yielded, before) = (sessions.len() + outlined.len(), kept.len());
            for judged in sessions {
                match judged {
                    Judged::Admitted(prepared) => {
                        self.count_found(&prepared.session, None, &mut read);
                        kept.push(Admitted::Whole(prepared));
                    }
                    Judged::Skipped(session, reason) => {
                        self.count_found(&session, Some(reason), &mut read);
                    }
                }
            }
            kept.extend(
                outlined
                    .into_iter()
                    .filter_map(|outlined| self.admit_outlined(outlined, &mut read))
                    .map(|outlined| Admitted::Outlined(candidate, outlined)),
            );
            if kept.len() - before < yielded {
                // A skipped session may be taken once it grows (a trivial one gets a second
                // prompt): its file is read whole next time, not on from here.
                outcome.checkpoint = None;
            }
            self.absorb(listed, outcome, &mut read);
        }
        self.plan_chunk(parser, kept, read)
    }

    /// Leaves out of `sessions` the salvaged ones whose transcript's rows the store already
    /// holds (salvaging them would store their prompts twice), listing them as skipped.
    fn drop_transcribed(&mut self, sessions: &mut Vec<PreparedSession>) -> Result<(), ImportError> {
        let salvaged: Vec<&str> = sessions
            .iter()
            .filter(|prepared| prepared.session.facts.salvaged)
            .map(|prepared| prepared.session.id.as_str())
            .collect();
        let Some(store) = self.store.as_ref().filter(|_| !salvaged.is_empty()) else {
            return Ok(());
        };
        let tool = self.settings.source.name();
        let transcribed = self
            .runtime
            .block_on(store.transcribed_sessions(tool, &salvaged))?;
        if transcribed.is_empty() {
            return Ok(());
        }
        let reason = SkipReason::TranscriptImported;
        for prepared in sessions.extract_if(.., |prepared| {
            prepared.session.facts.salvaged && transcribed.contains(&prepared.session.id)
        }) {
            *self.report.sessions.skipped.entry(reason).or_default() += 1;
            self.report
                .session_list
                .push(session_entry(&prepared.session, None, 0, Some(reason)));
        }
        Ok(())
    }

    /// Plans and writes a chunk's admitted sessions. An outlined session is read in parts at its
    /// place in the order [`Pipeline::plan_and_write`] plans a group in, so every message is
    /// selected in the same order (and a copied one kept from the same file) as if all were whole.
    fn plan_chunk(
        &mut self,
        parser: &dyn TranscriptParser,
        mut admitted: Vec<Admitted<'_>>,
        mut read: ChunkRead,
    ) -> Result<(), ImportError> {
        // Nearly every chunk: one group, whose write goes on while the next chunk is read.
        if !admitted.iter().any(|item| matches!(item, Admitted::Outlined(..))) {
            let sessions = admitted
                .into_iter()
                .filter_map(|item| match item {
                    Admitted::Whole(session) => Some(session),
                    Admitted::Outlined(..) => None,
                })
                .collect();
            return self.plan_and_write(sessions, read);
        }
        admitted.sort_by(|a, b| session_order(a.session()).cmp(&session_order(b.session())));
        let mut group = Vec::new();
        for item in admitted {
            match item {
                Admitted::Whole(session) => group.push(session),
                Admitted::Outlined(candidate, outlined) => {
                    if !group.is_empty() {
                        self.plan_and_write(std::mem::take(&mut group), ChunkRead::default())?;
                    }
                    self.stream_parts(parser, candidate, outlined, &mut read)?;
                }
            }
        }
        // This chunk's groups share its files: its ledger entries go with its last group, once
        // every earlier group is written, so no file is recorded ahead of its rows.
        while !self.in_flight.is_empty() {
            self.wait_for_write()?;
        }
        self.plan_and_write(group, read)
    }

    /// Reads an outlined session's messages in parts on their own thread, and plans and writes
    /// each part as it arrives, so memory follows a part, not the session. The report counts the
    /// session once, with the rows of all its parts. A file whose parts do not add up to the
    /// outline (it could not be read again, or changed meanwhile) is not recorded in the ledger.
    fn stream_parts(
        &mut self,
        parser: &dyn TranscriptParser,
        candidate: &Candidate,
        outlined: OutlinedSession,
        read: &mut ChunkRead,
    ) -> Result<(), ImportError> {
        let part_bytes = self.part_budget.bytes;
        let listed = self.report.session_list.len();
        let what = format!("the parts of `{}`", candidate.path.display());
        // A rendezvous: the reader builds the next part while this one is planned, no more.
        let (problem, planned) = read_beside(
            &what,
            0,
            |emit| parser.reread(candidate, &outlined, part_bytes, emit),
            |parts| {
                for part in parts {
                    self.plan_and_write(vec![self.prepare(part)], ChunkRead::default())?;
                    self.merge_into_first_part(listed);
                }
                Ok::<(), ImportError>(())
            },
        )?;
        planned?;
        if let Some(problem) = problem {
            let path = ledger_path(candidate);
            read.files.retain(|file| file.path != path);
            self.report.absorb_diagnostics(vec![problem]);
        }
        Ok(())
    }

    /// Folds the entry [`Pipeline::plan_and_write`] added for a later part of a session into the
    /// session's first, at `first`: a session read in parts is one session, with all its rows.
    fn merge_into_first_part(&mut self, first: usize) {
        if self.report.session_list.len() <= first + 1 {
            return;
        }
        let Some(part) = self.report.session_list.pop() else {
            return;
        };
        self.report.session_list[first].messages += part.messages;
        self.report.sessions.imported -= 1;
        if let Some(project) = self
            .projects
            .values_mut()
            .find(|project| part.tree.as_ref() == Some(&project.tree))
        {
            project.sessions -= 1;
        }
    }

    /// Takes in what reading one candidate found besides its sessions. A candidate read without
    /// problems is recorded in the ledger with its group; one with problems is read again next
    /// time, so the problem is reported until it is fixed.
    fn absorb(&mut self, (candidate, state): &Listed, outcome: ParseOutcome, read: &mut ChunkRead) {
        self.report.absorb_file(&outcome.stats);
        self.report.sessions.unchanged += outcome.unchanged_sessions;
        match outcome.resume {
            ResumeOutcome::Resumed { .. } => self.report.files.resumed += 1,
            ResumeOutcome::Restarted => self.report.files.restarted += 1,
            ResumeOutcome::NotTried => {}
        }
        if let Some(state) = state.filter(|_| !outcome.diagnostics.iter().any(|d| d.kind.is_problem())) {
            // The ledger keeps one offset, which a checkpoint is read back with: the checkpoint's
            // (a parser may take it before the end of the read), else the read's end.
            let consumed = outcome
                .checkpoint
                .as_ref()
                .map_or(outcome.consumed(), |checkpoint| checkpoint.consumed);
            read.files.push(ReadFile {
                path: ledger_path(candidate),
                state,
                consumed,
                checkpoint: outcome.checkpoint,
            });
        }
        self.report.absorb_diagnostics(outcome.diagnostics);
    }

    /// Reads a store of many sessions on its own thread, and plans and writes its sessions in
    /// groups as they arrive, so memory follows one group, not the store.
    pub(super) fn stream_store(
        &mut self,
        reader: &dyn StoreReader,
        listed: &Listed,
        known: &KnownRevisions,
    ) -> Result<(), ImportError> {
        let candidate = &listed.0;
        crate::failpoint::hit("parse.file");
        let what = format!("the store `{}`", candidate.path.display());
        let mut read = ChunkRead::default();
        let (outcome, streamed) = read_beside(
            &what,
            STREAM_QUEUE,
            |emit| reader.read(candidate, known, emit),
            |sessions| self.plan_stream(sessions, &mut read),
        )?;
        let last_group = streamed?;
        self.absorb(listed, outcome, &mut read);
        self.plan_and_write(last_group, read)
    }

    /// Admits the sessions arriving from a store reader and plans and writes them in groups
    /// bounded by sessions and text; returns the last, incomplete group.
    fn plan_stream(
        &mut self,
        receiver: std::sync::mpsc::Receiver<Session>,
        read: &mut ChunkRead,
    ) -> Result<Vec<PreparedSession>, ImportError> {
        let mut group = Vec::new();
        let mut group_bytes = 0;
        for session in receiver {
            if let Some(session) = self.admit(session, read) {
                group_bytes += text_bytes(&session);
                group.push(self.prepare(session));
            }
            if group.len() >= GROUP_SESSIONS || group_bytes >= GROUP_BYTES {
                self.plan_and_write(std::mem::take(&mut group), std::mem::take(read))?;
                group_bytes = 0;
            }
        }
        Ok(group)
    }

    /// Plans one group of admitted sessions and starts writing it (in a dry run, comparing it
    /// with the database) once the previous group's write finished.
    fn plan_and_write(
        &mut self,
        mut sessions: Vec<PreparedSession>,
        read: ChunkRead,
    ) -> Result<(), ImportError> {
        self.drop_transcribed(&mut sessions)?;
        // Main sessions first, so that a message copied into a sidechain is stored with its main
        // session.
        sessions.sort_by(|a, b| session_order(&a.session).cmp(&session_order(&b.session)));
        // Decides, in order, which copy of a repeated message is kept; planning (rendering,
        // redaction, meta) then runs on every session at once.
        self.selected.select(&mut sessions);
        let git = &self.git;
        let located: Vec<(PreparedSession, ProjectKey, GitFacts)> = sessions
            .into_par_iter()
            .map(|prepared| {
                let (key, facts) = project_of(&prepared.session, git);
                (prepared, key, facts)
            })
            .collect();
        let keys: Vec<ProjectKey> = located.iter().map(|(_, key, _)| key.clone()).collect();
        match (&self.store, self.settings.dry_run) {
            (Some(store), false) => self.slugs = self.runtime.block_on(store.assign_slugs(&keys))?,
            _ => {
                self.slugs.assign(&keys);
            }
        }
        let (slugs, plan_options) = (&self.slugs, &self.plan_options);
        let planned: Vec<(plan::SessionPlan, ProjectEntry, SessionEntry, bool)> = located
            .into_par_iter()
            .map(|(prepared, key, facts)| {
                let slug = slugs
                    .get(&key.key)
                    .map(str::to_owned)
                    .unwrap_or_else(|| key.base_slug());
                let project = ProjectContext { slug, git: facts };
                let tree = project.tree(plan_options);
                failpoint::hit("plan.session");
                let mut listed = session_entry(&prepared.session, Some(tree.clone()), 0, None);
                let salvaged = prepared.session.facts.salvaged;
                let plan = plan::plan_prepared(prepared, &project, plan_options);
                let rows = plan.rows();
                listed.messages = rows;
                let entry = ProjectEntry {
                    slug: project.slug,
                    key: key.key,
                    tree: tree.clone(),
                    sessions: 1,
                    messages: rows,
                };
                (plan, entry, listed, salvaged)
            })
            .collect();
        let report = &mut self.report;
        let mut memories: Vec<PlannedMemory> = Vec::new();
        let mut ids: Vec<Uuid> = Vec::new();
        // Rows of a session read from its transcript replace any salvaged ones.
        let mut transcribed: Vec<String> = Vec::new();
        for (plan, project, session, salvaged) in planned {
            if !salvaged && project.messages > 0 {
                transcribed.push(session.id.clone());
            }
            report.messages.planned += project.messages;
            report.messages.truncated += plan.truncated;
            report.messages.redactions.merge(&plan.redactions);
            for (reason, n) in plan.skipped {
                *report.messages.skipped.entry(reason).or_default() += n;
            }
            let (sessions, messages) = (project.sessions, project.messages);
            let entry = self.projects.entry(project.slug.clone()).or_insert(ProjectEntry {
                sessions: 0,
                messages: 0,
                ..project
            });
            entry.sessions += sessions;
            entry.messages += messages;
            report.sessions.imported += 1;
            report.session_list.push(session);
            memories.extend(plan.memories);
            ids.extend(plan.ids);
        }
        while self.in_flight.len() >= WRITES_IN_FLIGHT {
            self.wait_for_write()?;
        }
        let Some(store) = &self.store else { return Ok(()) };
        let store = Arc::clone(store);
        if self.settings.dry_run {
            let keys = plan::rendering_keys(&self.plan_options);
            self.in_flight.push_back(
                self.runtime
                    .spawn(async move { store.classify(&ids, &keys).await }),
            );
        } else {
            // Each group records its own files and sessions in the transaction of its own last
            // rows: groups never share a file, so two writes in flight never record a file
            // ahead of its rows.
            let (files, sessions) = ledger_entries(self.settings, read);
            let (host, tool) = (self.host.clone(), self.settings.source.name());
            self.in_flight.push_back(self.runtime.spawn(async move {
                let ledger = LedgerRecords {
                    host: &host,
                    tool,
                    files: &files,
                    sessions: &sessions,
                    transcribed: &transcribed,
                };
                let counts = store.write_recording(&memories, ledger).await?;
                failpoint::hit("import.chunk_written");
                Ok(counts)
            }));
        }
        Ok(())
    }

    /// Waits for the oldest write in flight.
    fn wait_for_write(&mut self) -> Result<(), ImportError> {
        if let Some(write) = self.in_flight.pop_front() {
            self.report.messages.written += self
                .runtime
                .block_on(write)
                .map_err(|error| ImportError::WriteTask(error.to_string()))??;
        }
        Ok(())
    }

    /// Waits for the last writes and completes the report.
    pub(super) fn finish(mut self) -> Result<ImportReport, ImportError> {
        while !self.in_flight.is_empty() {
            self.wait_for_write()?;
        }
        self.report.projects = self.projects.into_values().collect();
        // Listed by file, not in the order chunks admitted and planned them: a dry run reads
        // bigger chunks than an import, and lists the same sessions in the same order.
        self.report.session_list.sort_by(|a, b| a.file.cmp(&b.file));
        Ok(self.report)
    }
}

/// The order [`Pipeline::plan_and_write`] plans a group's sessions in.
fn session_order(session: &Session) -> (bool, &str, &str) {
    (session.facts.is_sidechain, &session.source_file, &session.id)
}

/// Bytes of message text in a session: what planning it will hold in memory.
fn text_bytes(session: &Session) -> u64 {
    session
        .messages
        .iter()
        .flat_map(|message| &message.blocks)
        .map(|block| block.text.len() as u64)
        .sum()
}

/// The project a session belongs to: its git root when the cwd is in a repository, else the cwd.
fn project_of(session: &Session, git: &GitCache) -> (ProjectKey, GitFacts) {
    let cwd = session.facts.cwd.as_deref().unwrap_or("");
    let facts = if cwd.is_empty() {
        GitFacts::default()
    } else {
        git.facts(cwd)
    };
    // Stored as text, so without NUL (a cwd of a bad record may hold one), as the planner writes
    // `source_cwd`: key and `source_cwd` agree.
    let key = ProjectKey {
        key: without_nul(facts.root.as_deref().unwrap_or(cwd)).into_owned(),
        // The slug book stores the remote: a recorded URL loses its credentials, as git's do.
        remote: match session.facts.git_repo.as_deref() {
            Some(recorded) => Some(without_nul(strip_credentials(recorded)).into_owned()),
            None => facts
                .remote
                .as_deref()
                .map(|remote| without_nul(remote).into_owned()),
        },
    };
    (key, facts)
}

fn session_entry(
    session: &Session,
    tree: Option<String>,
    messages: u64,
    skipped: Option<SkipReason>,
) -> SessionEntry {
    SessionEntry {
        id: session.id.clone(),
        file: session.source_file.clone(),
        title: session.facts.title.clone(),
        cwd: session.facts.cwd.clone(),
        tree,
        messages,
        skipped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tool;

    #[test]
    fn a_recorded_remote_is_keyed_without_its_credentials() {
        let session = Session {
            tool: Tool::named("codex"),
            id: "s".to_owned(),
            source_file: "/f.jsonl".to_owned(),
            facts: crate::model::SessionFacts {
                git_repo: Some("https://user:s3cret-t0ken@github.com/o/r.git".to_owned()),
                ..Default::default()
            },
            messages: Vec::new(),
        };
        let (key, _) = project_of(&session, &GitCache::default());
        assert_eq!(key.remote.as_deref(), Some("https://github.com/o/r.git"));
    }
}
