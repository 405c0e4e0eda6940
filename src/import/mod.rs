//! The import of one tool's sessions: discover -> parse -> filter -> plan -> write.
//!
//! `run` lists the candidates and drops those the ledger records as unchanged; transcripts are
//! then read in chunks (`chunks`), a store session by session on a thread of its own
//! (`readers`), and last what the tool keeps of deleted transcripts, like a store (`--salvage`).
//! Every group of sessions goes through the `pipeline` (filter, slugs, plan, write) while the
//! next is read, so memory follows a group, not the history. The only I/O here
//! is calling the stages that own it; the store runs on a small tokio runtime owned by the run.

mod all;
mod chunks;
mod ledger;
mod pipeline;
mod readers;
mod retention;
mod settings;

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use chrono::Utc;

use crate::env::{self, EnvLookup};
use crate::failpoint;
use crate::limits::PART_BYTES;
use crate::output::Progress;
use crate::redact::Redactor;
use crate::report::ImportReport;
use crate::slug::SlugBook;
use crate::source::{Candidate, Discovery, Salvage, Unit};
use crate::store::{self, RunOutcome, StoreError};
pub use all::run_all;
use pipeline::Pipeline;
pub use settings::ImportSettings;

/// Why an import could not run at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot start the database runtime: {0}")]
    Runtime(std::io::Error),
    /// A reader thread panicked: a bug in memtree, never bad input (parsers turn that into
    /// diagnostics).
    #[error("reading {what} failed: the reader panicked ({message}); this is a bug in memtree, please report it; what was committed before is kept")]
    ReaderPanicked { what: String, message: String },
    /// A write running on the database runtime panicked or was cancelled.
    #[error(
        "a database write failed to finish: {0}; what was committed before is kept: run the import again"
    )]
    WriteTask(String),
}

impl ImportError {
    /// Whether the same import may succeed later without anything changed by hand: the database
    /// was away ([`StoreError::may_pass`]).
    pub fn may_pass(&self) -> bool {
        matches!(self, ImportError::Store(error) if error.may_pass())
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
    check_given_roots(settings)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ImportError::Runtime)?;
    let mut report = empty_report(settings);
    let found = discover(settings, &mut report);
    // A tool whose default locations hold none of its sessions is not used here: nothing to record.
    let used_here = settings.roots_given || report.source_note.is_none();
    let opened = runtime.block_on(store::open_for_run(
        &settings.database,
        &settings.schema,
        settings.dry_run,
        env,
    ))?;
    (report.database, report.database_note) = (opened.described, opened.note);
    report.messages.compared_with_database = opened.store.is_some();
    // A real import is recorded from its start, so a run killed halfway shows as one.
    let record = match (&opened.store, settings.dry_run) {
        (Some(store), false) if used_here => {
            let record = RunRecord {
                store: store.clone(),
                host: crate::ledger::host_name(),
                started_at: Utc::now(),
            };
            runtime.block_on(record.store.record_run_start(
                &record.host,
                settings.source.name(),
                record.started_at,
            ))?;
            Some(record)
        }
        _ => None,
    };
    let result = import(
        settings,
        env,
        show_progress,
        &runtime,
        opened.store,
        report,
        found,
    );
    if let Some(record) = record {
        let outcome = run_outcome(&result);
        let recorded = runtime.block_on(record.store.record_run_end(
            &record.host,
            settings.source.name(),
            record.started_at,
            &outcome,
        ));
        if let Err(error) = recorded {
            tracing::warn!("could not record the end of the import run: {error}");
        }
    }
    let mut report = result?;
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Where the record of a real import is kept.
struct RunRecord {
    store: store::Store,
    host: String,
    started_at: chrono::DateTime<Utc>,
}

/// What the run record says of an import's result.
fn run_outcome(result: &Result<ImportReport, ImportError>) -> RunOutcome {
    match result {
        Ok(report) => RunOutcome {
            outcome: if report.problems() > 0 { "problems" } else { "ok" }.to_owned(),
            files_scanned: report.files.scanned,
            sessions_imported: report.sessions.imported,
            written: report.messages.written,
            problems: report.problems() as u64,
            error: None,
        },
        Err(error) => RunOutcome {
            outcome: "failed".to_owned(),
            error: Some(error.to_string()),
            ..RunOutcome::default()
        },
    }
}

/// Reads and writes everything once the database is open: the part of a run its record covers.
fn import(
    settings: &ImportSettings,
    env: EnvLookup<'_>,
    show_progress: bool,
    runtime: &tokio::runtime::Runtime,
    store: Option<store::Store>,
    mut report: ImportReport,
    found: Found,
) -> Result<ImportReport, ImportError> {
    let slugs = match (&store, settings.dry_run) {
        (Some(store), true) => runtime.block_on(store.load_slugs())?,
        _ => SlugBook::default(),
    };
    let (ledger, known) = ledger::load(store.as_ref(), runtime, settings, &crate::ledger::host_name())?;
    let candidates = ledger::changed(found.candidates, &ledger, &mut report);
    let doomed = retention::doomed(settings.source, env, &candidates, SystemTime::now());
    failpoint::hit("import.discovered");
    let files = candidates.len() + found.salvage.len();
    let progress = Progress::new(show_progress, files as u64, "reading");
    let redactor = settings.redact.then(Redactor::new);
    let part_bytes = env::MEMTREE_PART_BYTES.bytes(env, PART_BYTES);
    let mut pipeline = Pipeline::new(
        settings,
        runtime,
        store,
        slugs,
        report,
        redactor.as_ref(),
        part_bytes,
    );
    match settings.source.unit() {
        Unit::Transcript(parser) => {
            let redactor = redactor.as_ref();
            chunks::read_transcripts(
                &mut pipeline,
                parser,
                &candidates,
                &ledger,
                &progress,
                redactor,
                env,
            )?;
        }
        Unit::Store(reader) => {
            for listed in candidates.iter().take_while(|_| !settings.stopping()) {
                pipeline.stream_store(reader, listed, &known)?;
                progress.inc(1);
            }
        }
    }
    // Read as stores: every run, each session planned only when it gained a prompt.
    if let Some(salvage) = salvage_reader(settings) {
        for candidate in found.salvage.into_iter().take_while(|_| !settings.stopping()) {
            pipeline.stream_store(salvage, &(candidate, None), &known)?;
            progress.inc(1);
        }
    }
    progress.finish();
    let mut report = pipeline.finish()?;
    report.retention_risk = retention::still_doomed(doomed, &report);
    Ok(report)
}

/// A `--source` that does not exist is a usage error, not an empty history.
fn check_given_roots(settings: &ImportSettings) -> Result<(), ImportError> {
    if !settings.roots_given {
        return Ok(());
    }
    match settings.roots.iter().find(|root| !root.exists()) {
        Some(missing) => Err(ImportError::Usage(format!(
            "--source `{}` does not exist; give a directory as {} lays it out, or a session file",
            missing.display(),
            settings.source.name()
        ))),
        None => Ok(()),
    }
}

fn empty_report(settings: &ImportSettings) -> ImportReport {
    ImportReport {
        tool: settings.source.tool(),
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
        retention_risk: None,
        duration_ms: 0,
    }
}

/// Lists the candidates under the roots, noting in the report when there is nothing to read.
/// A default location that does not exist means the tool was never used here: nothing to import,
/// not a problem.
fn discover(settings: &ImportSettings, report: &mut ImportReport) -> Found {
    let source = settings.source;
    let roots: Vec<PathBuf> = settings
        .roots
        .iter()
        .filter(|root| settings.roots_given || root.exists())
        .cloned()
        .collect();
    let listed = |roots: &[PathBuf]| {
        roots
            .iter()
            .map(|root| format!("`{}`", root.display()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Discovery {
        candidates,
        diagnostics,
    } = source.discover(&roots, settings.project.as_ref());
    let salvage = salvage_reader(settings)
        .map(|salvage| salvage.files(&roots))
        .unwrap_or_default();
    // A default location searched for projects (the home directory) is there even where the
    // tool was never used.
    let found_nothing = candidates.is_empty() && salvage.is_empty() && diagnostics.is_empty();
    if roots.is_empty() || (!settings.roots_given && found_nothing) {
        report.source_note = Some(format!(
            "no {} sessions at {}",
            source.name(),
            listed(&settings.roots)
        ));
    }
    if settings.roots_given && found_nothing {
        report.source_note = Some(format!(
            "no {} sessions under {}: give the directory where {} keeps them ({}), or a session file",
            source.name(),
            listed(&roots),
            source.name(),
            source.layout(),
        ));
    }
    report.absorb_diagnostics(diagnostics);
    Found { candidates, salvage }
}

/// What discovery found: the source's own candidates, and the files a salvaging run reads.
struct Found {
    candidates: Vec<Candidate>,
    salvage: Vec<Candidate>,
}

/// The source's salvage reader, when the run salvages and the tool keeps anything to salvage.
fn salvage_reader(settings: &ImportSettings) -> Option<&'static dyn Salvage> {
    settings.salvage.then(|| settings.source.salvage()).flatten()
}
