//! `memtree status`: what the store holds per tool and project, the last import run of each
//! tool, and what is on disk but not imported yet, so a user knows whether the store is complete.
//!
//! "Pending" compares discovery over each tool's default locations with this host's ledger:
//! a transcript is pending when the ledger has no entry for it or its size, time or inode
//! changed since (whatever options it was imported with); a store's session is pending when the
//! ledger does not record it at its current revision. A file with problems is never recorded,
//! so it stays pending until it can be read.

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::env::EnvLookup;
use crate::ledger::{self, FileState};
use crate::model::{KnownRevisions, Tool};
use crate::source::{self, Source, Unit, SOURCES};
use crate::store::{LastRun, ProjectCounts, Store, StoreError};

/// Everything `status` shows.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    /// The database, described without its password.
    pub database: String,
    pub tools: Vec<ToolStatus>,
}

/// One tool: totals, projects, last run, and what is pending on disk.
#[derive(Debug, Serialize)]
pub struct ToolStatus {
    pub tool: String,
    pub sessions: u64,
    pub messages: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<DateTime<Utc>>,
    pub last_run: Option<LastRun>,
    pub pending: Pending,
    pub projects: Vec<ProjectCounts>,
}

/// What is on disk and not in the store yet.
#[derive(Debug, Default, Serialize)]
pub struct Pending {
    /// Whether the tool's default locations hold anything of it.
    pub found: bool,
    /// Where the tool keeps its sessions here.
    pub roots: Vec<PathBuf>,
    /// Transcript files never imported, or changed since their import.
    pub files: Vec<PathBuf>,
    pub bytes: u64,
    /// Sessions of a store (OpenCode, Cursor) new or changed since their import.
    pub sessions: u64,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.sessions == 0
    }
}

/// Builds the status of every tool memtree reads.
pub async fn status(store: &Store, env: EnvLookup<'_>) -> Result<StatusReport, StoreError> {
    let counts = store.project_counts().await?;
    let runs = store.last_runs().await?;
    let host = ledger::host_name();
    let mut tools = Vec::new();
    for source in SOURCES {
        let name = source.name();
        let projects: Vec<ProjectCounts> = counts.iter().filter(|row| row.tool == name).cloned().collect();
        let pending = pending(*source, store, &host, env).await?;
        tools.push(ToolStatus {
            tool: name.to_owned(),
            sessions: projects.iter().map(|project| project.sessions).sum(),
            messages: projects.iter().map(|project| project.messages).sum(),
            first: projects.iter().filter_map(|project| project.first).min(),
            last: projects.iter().filter_map(|project| project.last).max(),
            last_run: runs.iter().find(|run| run.tool == name).cloned(),
            pending,
            projects,
        });
    }
    // Rows of a tool this memtree does not read (imported by another version) are still counted.
    let unknown: Vec<&ProjectCounts> = counts
        .iter()
        .filter(|row| source::named(&row.tool).is_none())
        .collect();
    for row in unknown {
        tools.push(ToolStatus {
            tool: row.tool.clone(),
            sessions: row.sessions,
            messages: row.messages,
            first: row.first,
            last: row.last,
            last_run: None,
            pending: Pending::default(),
            projects: vec![row.clone()],
        });
    }
    Ok(StatusReport {
        database: store.target().to_owned(),
        tools,
    })
}

/// What of `source`'s default locations this host's ledger does not account for.
async fn pending(
    source: &dyn Source,
    store: &Store,
    host: &str,
    env: EnvLookup<'_>,
) -> Result<Pending, StoreError> {
    let roots: Vec<PathBuf> = source
        .default_roots(env)
        .into_iter()
        .filter(|root| root.exists())
        .collect();
    let discovery = source.discover(&roots, None);
    // A default location searched for projects (the home directory) is there even where the
    // tool was never used: found means something of the tool is there.
    let mut pending = Pending {
        found: !discovery.candidates.is_empty() || !discovery.diagnostics.is_empty(),
        roots: roots.clone(),
        ..Pending::default()
    };
    if !pending.found {
        return Ok(pending);
    }
    let tool: Tool = source.tool();
    match source.unit() {
        Unit::Transcript(_) => {
            let recorded: HashMap<String, FileState> = store
                .load_ledger(host, tool.as_str())
                .await?
                .into_iter()
                .map(|entry| (entry.path, entry.state))
                .collect();
            for candidate in discovery.candidates {
                let state = FileState::of(&candidate.path);
                let path = candidate.path.to_string_lossy().into_owned();
                if state.is_none() || recorded.get(&path) != state.as_ref() {
                    pending.bytes += state.map(|state| state.size).unwrap_or_default();
                    pending.files.push(candidate.path);
                }
            }
        }
        Unit::Store(reader) => {
            let known: KnownRevisions = store
                .load_session_ledger(host, tool.as_str())
                .await?
                .into_iter()
                .map(|entry| (entry.session_id, entry.revision))
                .collect();
            for candidate in discovery.candidates {
                let mut changed = 0;
                // A store is read on this thread: status runs on a runtime of its own.
                tokio::task::block_in_place(|| {
                    reader.read(&candidate, &known, &mut |_session| changed += 1);
                });
                pending.sessions += changed;
            }
        }
    }
    Ok(pending)
}
