//! `memtree status`: what the store holds per tool and project, the last import run of each
//! tool, what is on disk but not imported yet, what of that its tool deletes soon, and what was
//! imported but is gone from disk, so a user knows whether the store is complete.
//!
//! "Pending" compares discovery over each tool's default locations with this host's ledger:
//! a transcript is pending when the ledger has no entry for it or its size, time or inode
//! changed since (whatever options it was imported with); a store's session is pending when the
//! ledger does not record it at its current revision. A file with problems is never recorded,
//! so it stays pending until it can be read.
//!
//! The retention warning counts the pending transcripts that their tool's retention setting
//! ([`Source::retention`]) deletes within [`Retention::WARNING_DAYS`], by the same rule as
//! `import` ([`Retention::deletes_within`]).
//!
//! "Gone" counts this host's ledger entries of a transcript tool whose file no longer exists
//! (wherever it was imported from; a relative path, from `--source` given relative, cannot be
//! resolved here and is left out), and the stored sessions read from them, whose only copy is now
//! memtree's: nothing stored is ever deleted when a source file goes away. A store's (OpenCode,
//! Cursor, ...) deleted sessions are not counted: its ledger records sessions by revision, and
//! its reader lists only the sessions new or changed since, never those missing, so finding them
//! would take reading every session id of every store; `gone` is null for a store.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::env::EnvLookup;
use crate::ledger::{self, FileState};
use crate::model::{KnownRevisions, Tool};
use crate::report::RetentionRisk;
use crate::source::{self, Retention, Source, Unit, SOURCES};
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
    /// Pending files its tool deletes on its own within `within_days`; null when none is.
    pub retention_risk: Option<RetentionRisk>,
    /// What was imported and is no longer on disk; null for a store, where it is not counted.
    pub gone: Option<Gone>,
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

/// Imported transcripts no longer on disk: memtree holds the only copy of their sessions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Gone {
    /// This host's ledger entries whose file no longer exists.
    pub files: u64,
    /// The stored sessions of the tool with rows read from those files.
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
    let now = SystemTime::now();
    let mut tools = Vec::new();
    for source in SOURCES {
        let name = source.name();
        let projects: Vec<ProjectCounts> = counts.iter().filter(|row| row.tool == name).cloned().collect();
        let OnDisk {
            pending,
            retention_risk,
            gone,
        } = on_disk(*source, store, &host, env, now).await?;
        tools.push(ToolStatus {
            tool: name.to_owned(),
            sessions: projects.iter().map(|project| project.sessions).sum(),
            messages: projects.iter().map(|project| project.messages).sum(),
            first: projects.iter().filter_map(|project| project.first).min(),
            last: projects.iter().filter_map(|project| project.last).max(),
            last_run: runs.iter().find(|run| run.tool == name).cloned(),
            pending,
            retention_risk,
            gone,
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
            retention_risk: None,
            gone: None,
            projects: vec![row.clone()],
        });
    }
    Ok(StatusReport {
        database: store.target().to_owned(),
        tools,
    })
}

/// What status finds on disk of one tool.
struct OnDisk {
    pending: Pending,
    retention_risk: Option<RetentionRisk>,
    gone: Option<Gone>,
}

/// What of `source`'s default locations this host's ledger does not account for, what of that
/// the tool deletes soon, and what the ledger records that is gone.
async fn on_disk(
    source: &dyn Source,
    store: &Store,
    host: &str,
    env: EnvLookup<'_>,
    now: SystemTime,
) -> Result<OnDisk, StoreError> {
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
    let tool: Tool = source.tool();
    match source.unit() {
        Unit::Transcript(_) => {
            // Loaded even when nothing is found: a tool's whole directory may be gone.
            let recorded: HashMap<String, FileState> = store
                .load_ledger(host, tool.as_str())
                .await?
                .into_iter()
                .map(|entry| (entry.path, entry.state))
                .collect();
            let mut pending_changed_at = Vec::new();
            for candidate in discovery.candidates {
                let state = FileState::of(&candidate.path);
                let path = candidate.path.to_string_lossy().into_owned();
                if state.is_none() || recorded.get(&path) != state.as_ref() {
                    pending.bytes += state.map(|state| state.size).unwrap_or_default();
                    pending.files.push(candidate.path);
                    pending_changed_at.extend(state.map(|state| state.mtime_ns));
                }
            }
            let retention_risk = source
                .retention(env)
                .and_then(|retention| retention_risk(tool, retention, &pending_changed_at, now));
            let gone = gone(store, tool, recorded.keys()).await?;
            Ok(OnDisk {
                pending,
                retention_risk,
                gone: Some(gone),
            })
        }
        Unit::Store(reader) => {
            let known: KnownRevisions = if pending.found {
                store
                    .load_session_ledger(host, tool.as_str())
                    .await?
                    .into_iter()
                    .map(|entry| (entry.session_id, entry.revision))
                    .collect()
            } else {
                KnownRevisions::new()
            };
            for candidate in discovery.candidates {
                let mut changed = 0;
                // A store is read on this thread: status runs on a runtime of its own.
                tokio::task::block_in_place(|| {
                    reader.read(&candidate, &known, &mut |_session| changed += 1);
                });
                pending.sessions += changed;
            }
            Ok(OnDisk {
                pending,
                retention_risk: None,
                gone: None,
            })
        }
    }
}

/// The warning for pending files last changed at `changed_at` that `retention` deletes within
/// [`Retention::WARNING_DAYS`] of `now`; `None` when there is none.
fn retention_risk(
    tool: Tool,
    retention: Retention,
    changed_at: &[i64],
    now: SystemTime,
) -> Option<RetentionRisk> {
    let files = changed_at
        .iter()
        .filter(|mtime_ns| retention.deletes_within(**mtime_ns, now, Retention::WARNING_DAYS))
        .count();
    (files > 0).then_some(RetentionRisk {
        tool,
        files: files as u64,
        within_days: Retention::WARNING_DAYS,
        setting: retention.setting,
    })
}

/// The ledger's files (`recorded`) that no longer exist, and the stored sessions read from them:
/// one query, only when some file is gone.
async fn gone(
    store: &Store,
    tool: Tool,
    recorded: impl Iterator<Item = &String>,
) -> Result<Gone, StoreError> {
    let gone: Vec<&Path> = recorded
        .map(Path::new)
        // Only a file known not to exist: one that cannot be looked at (permissions) is not gone.
        .filter(|path| path.is_absolute() && matches!(path.try_exists(), Ok(false)))
        .collect();
    if gone.is_empty() {
        return Ok(Gone::default());
    }
    // Rows name their file as its parser did (`source_file`): the listed path or its absolute
    // form, by tool, which differ only by `.` components or doubled separators: both are asked.
    let names: BTreeSet<String> = gone
        .iter()
        .flat_map(|path| {
            let absolute = std::path::absolute(path).ok();
            [
                Some(path.to_string_lossy().into_owned()),
                absolute.map(|path| path.display().to_string()),
            ]
        })
        .flatten()
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    Ok(Gone {
        files: gone.len() as u64,
        sessions: store.sessions_from_files(tool.as_str(), &names).await?,
    })
}
