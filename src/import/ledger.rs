//! What an import takes from the ledger before parsing (which files are unchanged since their
//! import, and which sessions of a store are known at their revision) and records in it after:
//! the entries of what each group read, written with the group's last rows.

use std::collections::HashMap;

use super::chunks::Listed;
use super::settings::ImportSettings;
use super::ImportError;
use crate::ledger::{FileState, Ledger, LedgerEntry, SessionLedgerEntry};
use crate::model::{Checkpoint, KnownRevisions};
use crate::plan;
use crate::report::ImportReport;
use crate::source::{Candidate, Unit};
use crate::store::Store;

/// Recorded checkpoints by ledger path.
pub(super) type Checkpoints = HashMap<String, Checkpoint>;

/// The ledger of earlier runs on this host, and the revisions it knows of a store's sessions;
/// empty without a database or with `--rescan`.
pub(super) fn load(
    store: Option<&Store>,
    runtime: &tokio::runtime::Runtime,
    settings: &ImportSettings,
    host: &str,
) -> Result<(Ledger, KnownRevisions), ImportError> {
    let Some(store) = store.filter(|_| !settings.rescan) else {
        return Ok((Ledger::default(), KnownRevisions::new()));
    };
    let tool = settings.source.name();
    Ok(match settings.source.unit() {
        Unit::Transcript(_) => {
            let files = runtime.block_on(store.load_ledger(host, tool))?;
            let ledger = Ledger::new(files, settings.accepted_ledger_keys(), plan::IMPORTER_VERSION);
            // The sessions salvaged from what the tool keeps are recorded as a store's.
            let known = if settings.salvage && settings.source.salvage().is_some() {
                ledger.known_revisions(runtime.block_on(store.load_session_ledger(host, tool))?)
            } else {
                KnownRevisions::new()
            };
            (ledger, known)
        }
        // A store's file state does not say which of its sessions changed: its ledger records
        // each session's own revision instead.
        Unit::Store(_) => {
            let ledger = Ledger::new(
                Vec::new(),
                settings.accepted_ledger_keys(),
                plan::IMPORTER_VERSION,
            );
            let known = ledger.known_revisions(runtime.block_on(store.load_session_ledger(host, tool))?);
            (ledger, known)
        }
    })
}

/// The candidates to read: those the ledger does not record as unchanged, which are counted.
pub(super) fn changed(candidates: Vec<Candidate>, ledger: &Ledger, report: &mut ImportReport) -> Vec<Listed> {
    let mut changed = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let state = FileState::of(&candidate.path);
        if state.is_some_and(|state| ledger.is_unchanged(&ledger_path(&candidate), &state)) {
            report.files.unchanged += 1;
        } else {
            changed.push((candidate, state));
        }
    }
    changed
}

/// The ledger's name for a candidate (paths that are not UTF-8 are stored lossily, which is
/// stable from run to run).
pub(super) fn ledger_path(candidate: &Candidate) -> String {
    candidate.path.to_string_lossy().into_owned()
}

/// A file read completely enough to be recorded in the ledger.
pub(super) struct ReadFile {
    pub(super) path: String,
    pub(super) state: FileState,
    pub(super) consumed: u64,
    /// Where the next read can go on from; `None` reads the file whole when it changes.
    pub(super) checkpoint: Option<Checkpoint>,
}

/// What a chunk read that the ledger can record: whole files, and sessions with revisions.
#[derive(Default)]
pub(super) struct ChunkRead {
    pub(super) files: Vec<ReadFile>,
    /// Session id and revision of every session read from a multi-session store.
    pub(super) sessions: Vec<(String, i64)>,
}

/// Ledger entries of files, each with its checkpoint.
type FileRecords = Vec<(LedgerEntry, Option<Checkpoint>)>;

/// The ledger entries of what a chunk read, under this run's options.
pub(super) fn ledger_entries(
    settings: &ImportSettings,
    read: ChunkRead,
) -> (FileRecords, Vec<SessionLedgerEntry>) {
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
