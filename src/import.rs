//! The import pipeline for one tool: discover -> parse -> filter -> plan -> write.
//!
//! Files are handled in chunks: each chunk is parsed in parallel (rayon), filtered, given
//! project slugs, planned, and written (or, in a dry run, compared with the database) before the
//! next one is read, so memory follows the chunk, not the history. A big file is parsed as a job
//! of its own, in a dry run started a few chunks ahead, so no thread waits for it. A transcript
//! whose messages pass the part budget is read again and planned in parts at its place in the
//! chunk (`source::parts`), so memory follows a part, not the session. The only I/O here is
//! calling the stages that own it; the store runs on a small tokio runtime owned by this module.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use rayon::prelude::*;
use uuid::Uuid;

use crate::cli::ImportArgs;
use crate::failpoint;
use crate::filter::{self, FilterOptions, ProjectScope, SkipReason, TimeWindow};
use crate::git::{strip_credentials, GitCache, GitFacts};
use crate::ledger::{self, FileState, Ledger, LedgerEntry, SessionLedgerEntry};
use crate::localdb;
use crate::model::{Checkpoint, KnownRevisions, ParseOutcome, ResumeOutcome, Session, Tool};
use crate::output::Progress;
use crate::plan::{
    self, without_nul, ContentMode, PlanOptions, PlannedMemory, PreparedSession, ProjectContext, RowOutput,
};
use crate::redact::Redactor;
use crate::report::{ImportReport, ProjectEntry, SessionEntry};
use crate::slug::{ProjectKey, SlugBook};
use crate::source::{self, Candidate, EnvLookup, OutlinedSession, PartBudget, ResumeRequest};
use crate::store::target::{self, DbTarget};
use crate::store::{LedgerRecords, Store, StoreError, WriteCounts};

/// Files parsed together before their rows are written.
const CHUNK_FILES: usize = 256;
/// Bytes of files parsed together before their rows are written (a larger file counts as half
/// a chunk). A chunk's rows are held until written, and three chunks' rows can be alive at once
/// (two group writes in flight, one being planned): this keeps them inside the memory target.
const CHUNK_BYTES: u64 = 4 << 20;
/// Bytes of files parsed together in a dry run, which plans each row's id only
/// (`RowOutput::IdOnly`): its sessions are prepared where they are parsed, and hold only each
/// row's id and counts after that, so a chunk holds little. Every chunk ends in a wait for its
/// slowest file; chunks of 64 MiB made a dry run 2-4 % faster than chunks of 16 MiB, for 3-4 MB
/// more memory.
const DRY_RUN_CHUNK_BYTES: u64 = 64 << 20;
/// Files this big are parsed as jobs of their own, in a dry run ahead of their chunk, beside the
/// chunks before it: a file far larger than the rest (a 200 MB session) would otherwise keep
/// one thread busy while the others, done with the rest of its chunk, wait for it.
const BIG_FILE_BYTES: u64 = 32 << 20;
/// How many chunks ahead of its own a dry run starts parsing a big file: enough for the other
/// threads to parse meanwhile. Only big files' sessions are held ahead, not whole chunks, and
/// only one chunk's big files at a time.
const BIG_FILE_CHUNKS_AHEAD: usize = 8;
/// Testing knob: the size from which a file is big ([`BIG_FILE_BYTES`] when unset), so tests
/// can send every file down that path.
const BIG_FILE_BYTES_VAR: &str = "MEMTREE_BIG_FILE_BYTES";
/// The most message text of one group of sessions streamed from a store.
const GROUP_BYTES: u64 = 4 << 20;
/// Group writes running at once: the next group's batches keep both connections busy while the
/// last batch of the previous group finishes.
const WRITES_IN_FLIGHT: usize = 2;
/// Most sessions of one group streamed from a store.
const GROUP_SESSIONS: usize = 128;
/// Sessions read ahead from a store while a group is planned.
const STREAM_QUEUE: usize = 4;
/// Testing knob: the message text of one part ([`source::PART_BYTES`] when unset; a session is
/// held whole up to twice that), so tests can exercise parts with small fixtures.
const PART_BYTES_VAR: &str = "MEMTREE_PART_BYTES";

/// A fully resolved import: every flag validated, every default filled in.
#[derive(Clone, Debug)]
pub struct ImportSettings {
    pub tool: Tool,
    pub roots: Vec<PathBuf>,
    /// The roots came from `--source` (a missing one is then an error, not an empty history).
    pub roots_given: bool,
    pub project: Option<ProjectScope>,
    pub window: TimeWindow,
    pub tree_root: String,
    pub sessions_node_name: String,
    pub mode: ContentMode,
    pub include_sidechains: bool,
    pub include_temp_cwd: bool,
    pub include_trivial: bool,
    pub dry_run: bool,
    /// Read every file, even those the ledger says are unchanged.
    pub rescan: bool,
    /// Replace secrets before anything is stored (off with `--no-redact`).
    pub redact: bool,
    pub database: DbTarget,
    pub schema: String,
}

/// Why an import could not run at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    LocalDb(#[from] localdb::LocalDbError),
    #[error("cannot start the database runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

impl ImportSettings {
    /// Resolves the command line against the environment and the current directory.
    pub fn resolve(
        tool: Tool,
        args: &ImportArgs,
        env: EnvLookup<'_>,
        cwd: &Path,
    ) -> Result<Self, ImportError> {
        let home = source::home_dir(env);
        let project = args
            .project
            .as_deref()
            .map(|dir| ProjectScope::resolve(dir, cwd, home.as_deref()))
            .transpose()
            .map_err(|reason| ImportError::Usage(format!("invalid --project: {reason}")))?;
        if let (Some(since), Some(until)) = (args.since, args.until) {
            if since > until {
                return Err(ImportError::Usage(format!(
                    "--since ({}) is after --until ({}): no message can match",
                    since.to_rfc3339(),
                    until.to_rfc3339()
                )));
            }
        }
        let roots_given = !args.source.is_empty();
        let roots = if roots_given {
            args.source.iter().map(|root| cwd.join(root)).collect()
        } else {
            source::default_roots(tool, env)
        };
        let database = target::resolve(args.database_url.as_deref(), env)?;
        Ok(ImportSettings {
            tool,
            roots,
            roots_given,
            project,
            window: TimeWindow {
                since: args.since,
                until: args.until,
            },
            tree_root: args.tree_root.clone(),
            sessions_node_name: args.sessions_node_name.clone(),
            mode: if args.full_transcript {
                ContentMode::FullTranscript
            } else {
                ContentMode::Default
            },
            include_sidechains: args.include_sidechains,
            include_temp_cwd: args.include_temp_cwd,
            include_trivial: args.include_trivial,
            dry_run: args.dry_run,
            rescan: args.rescan,
            redact: !args.no_redact,
            database,
            schema: args.schema.clone(),
        })
    }

    /// Whether the ledger tracks whole files (one or two sessions each) rather than sessions:
    /// OpenCode keeps many sessions in one database or tree, whose file state does not tell
    /// which changed, so its ledger records each session's own revision instead.
    fn uses_file_ledger(&self) -> bool {
        self.tool != Tool::OpenCode
    }

    /// The ledger key of this run: every option that changes what rows a file yields.
    fn ledger_key(&self) -> String {
        ledger::options_key(&[self.shape_options(), self.scope_options()].concat())
    }

    /// Keys under which recorded files count as unchanged: this run's, and the same options
    /// without session filters (a file fully imported is also imported for a narrower run).
    fn accepted_ledger_keys(&self) -> Vec<String> {
        vec![
            self.ledger_key(),
            ledger::options_key(&[self.shape_options(), Self::unfiltered_scope()].concat()),
        ]
    }

    fn shape_options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("content_mode", self.mode.as_str().to_owned()),
            ("tree_root", self.tree_root.clone()),
            ("sessions_node_name", self.sessions_node_name.clone()),
            ("include_sidechains", self.include_sidechains.to_string()),
            ("include_temp_cwd", self.include_temp_cwd.to_string()),
            ("include_trivial", self.include_trivial.to_string()),
            ("redact", self.redact.to_string()),
        ]
    }

    fn scope_options(&self) -> Vec<(&'static str, String)> {
        let time = |at: Option<chrono::DateTime<Utc>>| at.map(|at| at.to_rfc3339()).unwrap_or_default();
        vec![
            (
                "project",
                self.project
                    .as_ref()
                    .map(|scope| scope.roots().join("\u{1f}"))
                    .unwrap_or_default(),
            ),
            ("since", time(self.window.since)),
            ("until", time(self.window.until)),
        ]
    }

    fn unfiltered_scope() -> Vec<(&'static str, String)> {
        vec![
            ("project", String::new()),
            ("since", String::new()),
            ("until", String::new()),
        ]
    }

    fn filter_options(&self) -> FilterOptions<'_> {
        FilterOptions {
            include_sidechains: self.include_sidechains,
            include_temp_cwd: self.include_temp_cwd,
            include_trivial: self.include_trivial,
            project: self.project.as_ref(),
            window: self.window,
        }
    }
}

/// Runs one import. Per-file problems are in the report; only a failure that stops the whole
/// run (bad `--source`, database unreachable for a real import) is an error.
pub fn run(
    settings: &ImportSettings,
    env: EnvLookup<'_>,
    show_progress: bool,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    if settings.roots_given {
        if let Some(missing) = settings.roots.iter().find(|root| !root.exists()) {
            return Err(ImportError::Usage(format!(
                "--source `{}` does not exist; give a directory as {} lays it out, or a session file",
                missing.display(),
                settings.tool
            )));
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut report = ImportReport {
        tool: settings.tool,
        dry_run: settings.dry_run,
        database: None,
        database_note: None,
        source_note: None,
        tree_root: settings.tree_root.clone(),
        sessions_node_name: settings.sessions_node_name.clone(),
        content_mode: settings.mode,
        files: Default::default(),
        sessions: Default::default(),
        messages: Default::default(),
        projects: Vec::new(),
        session_list: Vec::new(),
        diagnostics: Vec::new(),
        duration_ms: 0,
    };
    let store = runtime.block_on(connect(settings, env, &mut report))?;
    report.messages.compared_with_database = store.is_some();
    let slugs = match (&store, settings.dry_run) {
        (Some(store), true) => runtime.block_on(store.load_slugs())?,
        _ => SlugBook::default(),
    };

    // A default location that does not exist means the tool was never used here: nothing to
    // import, not a problem. A `--source` that does not exist was rejected above.
    let roots: Vec<PathBuf> = settings
        .roots
        .iter()
        .filter(|root| settings.roots_given || root.exists())
        .cloned()
        .collect();
    if roots.is_empty() {
        report.source_note = Some(format!(
            "no {} sessions at {}",
            settings.tool,
            settings
                .roots
                .iter()
                .map(|root| format!("`{}`", root.display()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let discovery = source::discover(settings.tool, &roots, settings.project.as_ref());
    if settings.roots_given && discovery.candidates.is_empty() && discovery.diagnostics.is_empty() {
        report.source_note = Some(format!(
            "no {} sessions under {}: give the directory where {} keeps them ({}), or a session file",
            settings.tool,
            roots
                .iter()
                .map(|root| format!("`{}`", root.display()))
                .collect::<Vec<_>>()
                .join(", "),
            settings.tool,
            source::layout(settings.tool),
        ));
    }
    report.absorb_diagnostics(discovery.diagnostics);
    let host = ledger::host_name();
    let (ledger, known) = match &store {
        Some(store) if !settings.rescan => {
            let tool = settings.tool.as_str();
            let files = if settings.uses_file_ledger() {
                runtime.block_on(store.load_ledger(&host, tool))?
            } else {
                Vec::new()
            };
            let ledger = Ledger::new(files, settings.accepted_ledger_keys(), plan::IMPORTER_VERSION);
            let known = if settings.uses_file_ledger() {
                KnownRevisions::new()
            } else {
                ledger.known_revisions(runtime.block_on(store.load_session_ledger(&host, tool))?)
            };
            (ledger, known)
        }
        _ => (Ledger::default(), KnownRevisions::new()),
    };
    let mut candidates = Vec::with_capacity(discovery.candidates.len());
    for candidate in discovery.candidates {
        let state = FileState::of(&candidate.path);
        if state.is_some_and(|state| ledger.is_unchanged(&ledger_path(&candidate), &state)) {
            report.files.unchanged += 1;
        } else {
            candidates.push((candidate, state));
        }
    }
    failpoint::hit("import.discovered");
    let progress = Progress::new(show_progress, candidates.len() as u64, "reading");
    let redactor = settings.redact.then(Redactor::new);
    let mut pipeline = Pipeline {
        settings,
        runtime: &runtime,
        store: store.map(Arc::new),
        host: ledger::host_name(),
        plan_options: PlanOptions {
            tree_root: &settings.tree_root,
            sessions_node_name: &settings.sessions_node_name,
            mode: settings.mode,
            window: settings.window,
            imported_at: Utc::now(),
            redactor: redactor.as_ref(),
        },
        git: GitCache::default(),
        slugs,
        selected: Default::default(),
        projects: BTreeMap::new(),
        in_flight: VecDeque::new(),
        report,
        part_budget: PartBudget {
            bytes: knob_bytes(env, PART_BYTES_VAR, source::PART_BYTES),
            window: settings.window,
        },
    };
    let chunk_bytes = match pipeline.row_output() {
        RowOutput::Whole => CHUNK_BYTES,
        RowOutput::IdOnly => DRY_RUN_CHUNK_BYTES,
    };
    let chunks = chunks_by_size(&candidates, chunk_bytes);
    let file_parse = FileParse {
        known: &known,
        checkpoint_wanted: pipeline.records_ledger(),
        budget: pipeline.part_budget,
        redactor: redactor.as_ref(),
        progress: &progress,
        filter: settings.filter_options(),
        plan: pipeline.plan_options,
        output: pipeline.row_output(),
    };
    // A dry run holds little, so it can hold big files' sessions ahead; an import holds a
    // chunk's rows until they are written, and parses as fast as it writes anyway.
    let chunks_ahead = match pipeline.row_output() {
        RowOutput::Whole => 0,
        RowOutput::IdOnly => BIG_FILE_CHUNKS_AHEAD,
    };
    rayon::in_place_scope(|scope| -> Result<(), ImportError> {
        let mut parser = ChunkParser::new(
            scope,
            &file_parse,
            knob_bytes(env, BIG_FILE_BYTES_VAR, BIG_FILE_BYTES),
            chunks_ahead,
        );
        for (index, chunk) in chunks.iter().enumerate() {
            if let [(candidate, state)] = chunk {
                if source::holds_many_sessions(candidate.tool) {
                    pipeline.stream_store(candidate, *state, &known)?;
                    progress.inc(1);
                    continue;
                }
            }
            while let Some((next, files)) = parser.next_to_look_at(index, &chunks) {
                for (position, file) in files.iter().enumerate() {
                    if parser.is_big(file) {
                        let checkpoints = pipeline.checkpoints_for([file], &ledger)?;
                        parser.start_big((next, position), &file.0, checkpoints);
                    }
                }
            }
            let small_files = chunk.iter().filter(|file| !parser.is_big(file));
            let checkpoints = pipeline.checkpoints_for(small_files, &ledger)?;
            let outcomes = parser.parse_chunk(index, chunk, checkpoints);
            pipeline.take_chunk(chunk, outcomes)?;
        }
        Ok(())
    })?;
    progress.finish();
    let mut report = pipeline.finish()?;
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// What parsing one file needs, shared by every parse of a run.
struct FileParse<'a> {
    known: &'a KnownRevisions,
    checkpoint_wanted: bool,
    budget: PartBudget,
    redactor: Option<&'a Redactor>,
    progress: &'a Progress,
    filter: FilterOptions<'a>,
    plan: PlanOptions<'a>,
    output: RowOutput,
}

/// One file's parse, with its sessions judged by the session filters and those admitted
/// prepared for planning.
struct ParsedFile {
    /// What the parse yielded besides its whole sessions (`outcome.sessions` is empty).
    outcome: ParseOutcome,
    sessions: Vec<Judged>,
}

/// A parsed session, as the session filters judged it.
enum Judged {
    Admitted(PreparedSession),
    /// Skipped, for this reason; only its facts are kept, for the report.
    Skipped(Session, SkipReason),
}

impl FileParse<'_> {
    /// Parses one file, read on from its recorded checkpoint when it has one (the checkpoint it
    /// returns has no secrets), and judges and prepares its sessions while they are in cache.
    fn parse(&self, candidate: &Candidate, checkpoint: Option<Checkpoint>) -> ParsedFile {
        let resume = ResumeRequest {
            from: checkpoint.as_ref(),
            checkpoint_wanted: self.checkpoint_wanted,
        };
        let mut outcome = source::parse_within(candidate, self.known, resume, self.budget);
        outcome.checkpoint = outcome
            .checkpoint
            .take()
            .and_then(|checkpoint| without_secrets(checkpoint, self.redactor));
        let sessions = std::mem::take(&mut outcome.sessions)
            .into_iter()
            .map(
                |mut session| match filter::session_skip_reason(&session, &self.filter) {
                    Some(reason) => {
                        session.messages = Vec::new();
                        Judged::Skipped(session, reason)
                    }
                    None => Judged::Admitted(plan::prepare(session, &self.plan, self.output)),
                },
            )
            .collect();
        self.progress.inc(1);
        ParsedFile { outcome, sessions }
    }
}

/// Whether chunk `next`'s big files may be started while chunk `current` is taken in, with
/// `in_flight` big files started and not taken yet: always those of `current` itself; those of a
/// later chunk, up to `chunks_ahead` after it, only while none is in flight.
fn may_look_at(next: usize, current: usize, chunks_ahead: usize, in_flight: usize) -> bool {
    next <= current || (next <= current + chunks_ahead && in_flight == 0)
}

/// A file's place: its chunk and its position in the chunk.
type FileSlot = (usize, usize);

/// Parses chunks of files: each file in parallel (rayon), and each big file
/// ([`BIG_FILE_BYTES`]) as a job of its own, started up to `chunks_ahead` chunks before its
/// own, whose outcome is handed over when its chunk is parsed.
struct ChunkParser<'scope, 'env> {
    scope: &'scope rayon::Scope<'env>,
    parse: &'env FileParse<'env>,
    min_bytes: u64,
    chunks_ahead: usize,
    /// Chunks whose big files were started.
    looked_at: usize,
    started: HashMap<FileSlot, std::sync::mpsc::Receiver<std::thread::Result<ParsedFile>>>,
}

impl<'scope, 'env> ChunkParser<'scope, 'env> {
    fn new(
        scope: &'scope rayon::Scope<'env>,
        parse: &'env FileParse<'env>,
        min_bytes: u64,
        chunks_ahead: usize,
    ) -> Self {
        ChunkParser {
            scope,
            parse,
            min_bytes,
            chunks_ahead,
            looked_at: 0,
            started: HashMap::new(),
        }
    }

    fn is_big(&self, (_, state): &(Candidate, Option<FileState>)) -> bool {
        state.is_some_and(|state| state.size >= self.min_bytes)
    }

    /// The next chunk, and its index, whose big files are to be started while chunk `current`
    /// is taken in ([`may_look_at`]), each chunk once. No more big files' sessions are held at
    /// once than one chunk can hold (two).
    fn next_to_look_at<'c, T>(&mut self, current: usize, chunks: &[&'c [T]]) -> Option<(usize, &'c [T])> {
        let next = self.looked_at;
        if !may_look_at(next, current, self.chunks_ahead, self.started.len()) {
            return None;
        }
        let files = chunks.get(next)?;
        self.looked_at += 1;
        Some((next, files))
    }

    /// Starts parsing a big file, from its checkpoint in `checkpoints`.
    fn start_big(
        &mut self,
        slot: FileSlot,
        candidate: &'env Candidate,
        mut checkpoints: HashMap<String, Checkpoint>,
    ) {
        let checkpoint = checkpoints.remove(&ledger_path(candidate));
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let parse = self.parse;
        self.scope.spawn(move |_| {
            // A panic is handed to the planning thread, which resumes it, as a parallel
            // iterator would.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                parse.parse(candidate, checkpoint)
            }));
            // Sending fails only once planning stopped on an error, which the run fails with.
            let _ = sender.send(outcome);
        });
        self.started.insert(slot, receiver);
    }

    /// Parses the files of chunk `index` but its big ones, which were started before, each from
    /// its checkpoint in `checkpoints`; returns every outcome in the chunk's order.
    fn parse_chunk(
        &mut self,
        index: usize,
        chunk: &[(Candidate, Option<FileState>)],
        mut checkpoints: HashMap<String, Checkpoint>,
    ) -> Vec<ParsedFile> {
        let resumes: Vec<Option<Option<Checkpoint>>> = chunk
            .iter()
            .map(|file| (!self.is_big(file)).then(|| checkpoints.remove(&ledger_path(&file.0))))
            .collect();
        let parse = self.parse;
        let parsed: Vec<Option<ParsedFile>> = resumes
            .into_par_iter()
            .zip(chunk.par_iter())
            .map(|(resume, (candidate, _))| resume.map(|checkpoint| parse.parse(candidate, checkpoint)))
            .collect();
        parsed
            .into_iter()
            .enumerate()
            .map(|(position, outcome)| outcome.unwrap_or_else(|| self.big_outcome((index, position))))
            .collect()
    }

    /// The outcome of the big file at `slot`, once it is parsed.
    fn big_outcome(&mut self, slot: FileSlot) -> ParsedFile {
        let receiver = self
            .started
            .remove(&slot)
            .expect("a chunk's big files are started before the chunk is taken in");
        match receiver.recv().expect("a parse job always sends its outcome") {
            Ok(outcome) => outcome,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// A write of planned rows (with their ledger entries) running on the database runtime.
type PendingWrite = tokio::task::JoinHandle<Result<WriteCounts, StoreError>>;

/// Everything after parsing, for one run: filtering, project slugs, planning and writing, with
/// the report they fill in. Groups of sessions go through it one after the other; each group's
/// write runs while the next group is parsed.
struct Pipeline<'a> {
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

impl Pipeline<'_> {
    /// Whether this run records what it read in the ledger (a real import with a database).
    fn records_ledger(&self) -> bool {
        self.store.is_some() && !self.settings.dry_run
    }

    /// What planning builds of each row: a dry run only shows or compares counts and ids.
    fn row_output(&self) -> RowOutput {
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
    fn checkpoints_for<'f>(
        &self,
        files: impl IntoIterator<Item = &'f (Candidate, Option<FileState>)>,
        ledger: &Ledger,
    ) -> Result<HashMap<String, Checkpoint>, ImportError> {
        let Some(store) = &self.store else {
            return Ok(HashMap::new());
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
            return Ok(HashMap::new());
        }
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let tool = self.settings.tool.as_str();
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
    fn take_chunk(
        &mut self,
        files: &[(Candidate, Option<FileState>)],
        parsed: Vec<ParsedFile>,
    ) -> Result<(), ImportError> {
        let mut kept = Vec::new();
        let mut read = ChunkRead::default();
        for (
            (candidate, state),
            ParsedFile {
                mut outcome,
                sessions,
            },
        ) in files.iter().zip(parsed)
        {
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
            self.absorb(candidate, *state, outcome, &mut read);
        }
        self.plan_chunk(kept, read)
    }

    /// Plans and writes a chunk's admitted sessions. An outlined session is read in parts at its
    /// place in the order [`Pipeline::plan_and_write`] plans a group in, so every message is
    /// selected in the same order (and a copied one kept from the same file) as if all were whole.
    fn plan_chunk(
        &mut self,
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
                    self.stream_parts(candidate, outlined, &mut read)?;
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
        candidate: &Candidate,
        outlined: OutlinedSession,
        read: &mut ChunkRead,
    ) -> Result<(), ImportError> {
        let part_bytes = self.part_budget.bytes;
        // A rendezvous: the reader builds the next part while this one is planned, no more.
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Session>(0);
        std::thread::scope(|scope| {
            let reader = scope.spawn(move || {
                // Sending fails only once planning stopped on an error, which the run fails with.
                source::read_parts(candidate, &outlined, part_bytes, &mut |part| {
                    let _ = sender.send(part);
                })
            });
            let listed = self.report.session_list.len();
            let mut planned = Ok(());
            for part in receiver {
                planned = self.plan_and_write(vec![self.prepare(part)], ChunkRead::default());
                if planned.is_err() {
                    break;
                }
                self.merge_into_first_part(listed);
            }
            let problem = reader
                .join()
                .map_err(|_| ImportError::Runtime(std::io::Error::other("the part reader panicked")))?;
            planned?;
            if let Some(problem) = problem {
                let path = ledger_path(candidate);
                read.files.retain(|file| file.path != path);
                self.report.absorb_diagnostics(vec![problem]);
            }
            Ok(())
        })
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
    fn absorb(
        &mut self,
        candidate: &Candidate,
        state: Option<FileState>,
        outcome: ParseOutcome,
        read: &mut ChunkRead,
    ) {
        self.report.absorb_file(&outcome.stats);
        self.report.sessions.unchanged += outcome.unchanged_sessions;
        match outcome.resume {
            ResumeOutcome::Resumed { .. } => self.report.files.resumed += 1,
            ResumeOutcome::Restarted => self.report.files.restarted += 1,
            ResumeOutcome::NotTried => {}
        }
        if let Some(state) = state.filter(|_| !outcome.diagnostics.iter().any(|d| d.kind.is_problem())) {
            read.files.push(ReadFile {
                path: ledger_path(candidate),
                state,
                consumed: outcome.consumed(),
                checkpoint: outcome.checkpoint,
            });
        }
        self.report.absorb_diagnostics(outcome.diagnostics);
    }

    /// Reads a store of many sessions (OpenCode) on its own thread, and plans and writes its
    /// sessions in groups as they arrive, so memory follows one group, not the store.
    fn stream_store(
        &mut self,
        candidate: &Candidate,
        state: Option<FileState>,
        known: &KnownRevisions,
    ) -> Result<(), ImportError> {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Session>(STREAM_QUEUE);
        std::thread::scope(|scope| {
            let reader = scope.spawn(move || {
                // Sending fails only once the receiver has stopped on an error; the sessions
                // read after that are dropped, and the run fails with that error.
                source::read_known(candidate, known, &mut |session| {
                    let _ = sender.send(session);
                })
            });
            let mut read = ChunkRead::default();
            // The receiver is consumed (and dropped) before the reader is joined, so a reader
            // blocked on a full queue is released when planning fails.
            let streamed = self.plan_stream(receiver, &mut read);
            let outcome = reader
                .join()
                .map_err(|_| ImportError::Runtime(std::io::Error::other("the store reader panicked")))?;
            let last_group = streamed?;
            self.absorb(candidate, state, outcome, &mut read);
            self.plan_and_write(last_group, read)
        })
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
        let planned: Vec<(plan::SessionPlan, ProjectEntry, SessionEntry)> = located
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
                (plan, entry, listed)
            })
            .collect();
        let report = &mut self.report;
        let mut memories: Vec<PlannedMemory> = Vec::new();
        let mut ids: Vec<Uuid> = Vec::new();
        for (plan, project, session) in planned {
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
            let (host, tool) = (self.host.clone(), self.settings.tool.as_str());
            self.in_flight.push_back(self.runtime.spawn(async move {
                let ledger = LedgerRecords {
                    host: &host,
                    tool,
                    files: &files,
                    sessions: &sessions,
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
            self.report.messages.written += self.runtime.block_on(write).map_err(join_error)??;
        }
        Ok(())
    }

    /// Waits for the last writes and completes the report.
    fn finish(mut self) -> Result<ImportReport, ImportError> {
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

/// A checkpoint fit to store: the parser's state holds text from the transcript (titles, the
/// first prompt, directories), which must not reach the database unredacted when the rows do not.
/// Its strings are redacted like the rows' (ids do not look like secrets, so they stay); a state
/// that is not JSON is not stored (the file is then read whole next time). Session facts read on
/// from a checkpoint are thus already redacted: their secrets are not counted again in later
/// rows' `redactions`. Runs where the file was parsed, in parallel.
fn without_secrets(mut checkpoint: Checkpoint, redactor: Option<&Redactor>) -> Option<Checkpoint> {
    let Some(redactor) = redactor else {
        return Some(checkpoint);
    };
    let mut state: serde_json::Value = serde_json::from_str(&checkpoint.state).ok()?;
    let mut found = crate::redact::Redactions::default();
    redactor.redact_json(&mut state, &mut found);
    if !found.is_empty() {
        checkpoint.state = state.to_string();
    }
    Some(checkpoint)
}

/// The order [`Pipeline::plan_and_write`] plans a group's sessions in.
fn session_order(session: &Session) -> (bool, &str, &str) {
    (session.facts.is_sidechain, &session.source_file, &session.id)
}

/// A size set by a testing knob (a positive number of bytes), or `default`.
fn knob_bytes(env: EnvLookup<'_>, knob: &str, default: u64) -> u64 {
    env(knob)
        .and_then(|value| value.to_str()?.parse::<u64>().ok())
        .filter(|bytes| *bytes > 0)
        .unwrap_or(default)
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

/// Opens the database this run uses. A real import must reach it; a dry run uses it when it can
/// and otherwise says why it could not compare.
async fn connect(
    settings: &ImportSettings,
    env: EnvLookup<'_>,
    report: &mut ImportReport,
) -> Result<Option<Store>, ImportError> {
    if !settings.dry_run {
        let config = match settings.database.config()? {
            Some(config) => config,
            None => localdb::ensure_running(env)?,
        };
        report.database = Some(settings.database.describe());
        return Ok(Some(Store::open(config, &settings.schema).await?));
    }
    let config = match settings.database.config()? {
        Some(config) => config,
        None => match localdb::running_config(env) {
            Some(config) => config,
            None => {
                report.database_note =
                    Some("the local database is not running (`memtree db start`)".to_owned());
                return Ok(None);
            }
        },
    };
    match Store::open_existing(config, &settings.schema).await {
        Ok(store) => {
            report.database = Some(settings.database.describe());
            if store.is_none() {
                report.database_note =
                    Some("the memory table does not exist yet: every message would be new".to_owned());
            }
            Ok(store)
        }
        Err(err) => {
            report.database_note = Some(format!(
                "{} is not reachable: {err}",
                settings.database.describe()
            ));
            Ok(None)
        }
    }
}

/// A file read completely enough to be recorded in the ledger.
struct ReadFile {
    path: String,
    state: FileState,
    consumed: u64,
    /// Where the next read can go on from; `None` reads the file whole when it changes.
    checkpoint: Option<Checkpoint>,
}

/// What a chunk read that the ledger can record: whole files, and sessions with revisions.
#[derive(Default)]
struct ChunkRead {
    files: Vec<ReadFile>,
    /// Session id and revision of every session read from a multi-session store.
    sessions: Vec<(String, i64)>,
}

/// Splits candidates into chunks of at most [`CHUNK_FILES`] files and about `chunk_bytes`.
/// A file larger than half a chunk counts as half a chunk: the files after it are parsed beside
/// it, instead of the other threads waiting while it is parsed alone. Every store of many
/// sessions is a chunk of its own, streamed (`Pipeline::stream_store`).
fn chunks_by_size(
    candidates: &[(Candidate, Option<FileState>)],
    chunk_bytes: u64,
) -> Vec<&[(Candidate, Option<FileState>)]> {
    if candidates
        .iter()
        .any(|(candidate, _)| source::holds_many_sessions(candidate.tool))
    {
        return candidates.chunks(1).collect();
    }
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (index, (_, state)) in candidates.iter().enumerate() {
        let size = state.map_or(0, |state| state.size).min(chunk_bytes / 2);
        if index > start && (index - start >= CHUNK_FILES || bytes + size > chunk_bytes) {
            chunks.push(&candidates[start..index]);
            (start, bytes) = (index, 0);
        }
        bytes += size;
    }
    if start < candidates.len() {
        chunks.push(&candidates[start..]);
    }
    chunks
}

/// The ledger's name for a candidate (paths that are not UTF-8 are stored lossily, which is
/// stable from run to run).
fn ledger_path(candidate: &Candidate) -> String {
    candidate.path.to_string_lossy().into_owned()
}

/// Ledger entries of files, each with its checkpoint.
type FileRecords = Vec<(LedgerEntry, Option<Checkpoint>)>;

/// The ledger entries of what a chunk read, under this run's options.
fn ledger_entries(settings: &ImportSettings, read: ChunkRead) -> (FileRecords, Vec<SessionLedgerEntry>) {
    let options_key = settings.ledger_key();
    let files = read
        .files
        .into_iter()
        .map(|file| {
            let entry = LedgerEntry {
                path: file.path,
                state: file.state,
                consumed: file.consumed,
                importer_version: plan::IMPORTER_VERSION.to_owned(),
                options_key: options_key.clone(),
                resumable: file.checkpoint.is_some(),
            };
            (entry, file.checkpoint)
        })
        .collect();
    let sessions = read
        .sessions
        .into_iter()
        .map(|(session_id, revision)| SessionLedgerEntry {
            session_id,
            revision,
            importer_version: plan::IMPORTER_VERSION.to_owned(),
            options_key: options_key.clone(),
        })
        .collect();
    (files, sessions)
}

fn join_error(error: tokio::task::JoinError) -> ImportError {
    ImportError::Runtime(std::io::Error::other(format!("a database task failed: {error}")))
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

    #[test]
    fn a_recorded_remote_is_keyed_without_its_credentials() {
        let session = Session {
            tool: Tool::Codex,
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

    fn candidates(tool: Tool, sizes: &[u64]) -> Vec<(Candidate, Option<FileState>)> {
        sizes
            .iter()
            .enumerate()
            .map(|(n, &size)| {
                let candidate = Candidate {
                    tool,
                    path: PathBuf::from(format!("/f{n}")),
                    sidechain: false,
                };
                let state = FileState {
                    size,
                    mtime_ns: 0,
                    inode: n as u64,
                };
                (candidate, Some(state))
            })
            .collect()
    }

    fn chunk_lengths(tool: Tool, sizes: &[u64]) -> Vec<usize> {
        chunks_by_size(&candidates(tool, sizes), CHUNK_BYTES)
            .iter()
            .map(|chunk| chunk.len())
            .collect()
    }

    #[test]
    fn big_files_are_started_ahead_one_chunk_at_a_time() {
        // (next, current, chunks ahead, in flight) -> may its big files be started?
        let cases = [
            ((3, 3, 0, 0), true),  // the chunk taken in now: always
            ((3, 3, 0, 2), true),  // even with others in flight (its own are needed now)
            ((4, 3, 0, 0), false), // an import looks at no chunk ahead
            ((4, 3, 8, 0), true),  // a dry run looks ahead while none is in flight
            ((11, 3, 8, 0), true), // up to 8 chunks ahead
            ((12, 3, 8, 0), false),
            ((4, 3, 8, 1), false), // but not while a big file is in flight
        ];
        for ((next, current, ahead, in_flight), expected) in cases {
            assert_eq!(
                may_look_at(next, current, ahead, in_flight),
                expected,
                "next {next}, current {current}, ahead {ahead}, in flight {in_flight}"
            );
        }
    }

    #[test]
    fn chunks_are_bounded_by_bytes_and_files_and_a_big_file_shares_its_chunk() {
        let third = CHUNK_BYTES / 3;
        assert_eq!(
            chunk_lengths(Tool::Claude, &[third, third, third, third, 1]),
            [3, 2]
        );
        // A file fifty chunks long counts as half a chunk: small files are parsed beside it.
        let small = CHUNK_BYTES / 4;
        assert_eq!(
            chunk_lengths(Tool::Claude, &[50 * CHUNK_BYTES, small, small, small]),
            [3, 1]
        );
        assert_eq!(chunk_lengths(Tool::Codex, &vec![1; 600]), [256, 256, 88]);
        assert!(chunk_lengths(Tool::Codex, &[]).is_empty());
        // Stores are streamed, each on its own.
        assert_eq!(chunk_lengths(Tool::OpenCode, &[1, 1]), [1, 1]);
        // A run that keeps no rows reads bigger chunks.
        let quarter = CHUNK_BYTES / 4;
        let sizes = vec![quarter; 16];
        let counting: Vec<usize> = chunks_by_size(&candidates(Tool::Claude, &sizes), DRY_RUN_CHUNK_BYTES)
            .iter()
            .map(|chunk| chunk.len())
            .collect();
        assert_eq!(counting, [16]);
        assert_eq!(chunk_lengths(Tool::Claude, &sizes), [4, 4, 4, 4]);
    }
}
