//! The record of import runs (`memtree_import_runs`): a row written when an import starts and
//! completed when it ends, so `memtree status` can say when each tool was last imported and how
//! that went. A run killed before its end keeps the outcome `running`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_postgres::types::Type;

use super::{Store, StoreError, WriteCounts};

/// How an import run ended, with its counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunOutcome {
    /// `running`, `ok`, `problems` (some input could not be read) or `failed`.
    pub outcome: String,
    pub files_scanned: u64,
    pub sessions_imported: u64,
    pub written: WriteCounts,
    pub problems: u64,
    /// Why a failed run stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The last run of one tool, as `status` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LastRun {
    pub tool: String,
    pub host: String,
    pub started_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub outcome: RunOutcome,
}

impl Store {
    /// Records that an import of `tool` started on `host` at `started_at`.
    pub async fn record_run_start(
        &self,
        host: &str,
        tool: &str,
        started_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.client()
            .await?
            .execute_typed(
                &format!(
                    "insert into {} (host, tool, started_at, outcome) values ($1, $2, $3, 'running') \
                     on conflict (host, tool, started_at) do nothing",
                    self.table("memtree_import_runs")
                ),
                &[
                    (&host, Type::TEXT),
                    (&tool, Type::TEXT),
                    (&started_at, Type::TIMESTAMPTZ),
                ],
            )
            .await
            .map_err(StoreError::query("recording the start of the import run"))?;
        Ok(())
    }

    /// Completes the record of the run that started at `started_at`.
    pub async fn record_run_end(
        &self,
        host: &str,
        tool: &str,
        started_at: DateTime<Utc>,
        outcome: &RunOutcome,
    ) -> Result<(), StoreError> {
        let count = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        self.client()
            .await?
            .execute_typed(
                &format!(
                    "update {} set finished_at = now(), outcome = $4, files_scanned = $5, \
                       sessions_imported = $6, inserted = $7, updated = $8, unchanged = $9, \
                       problems = $10, error = $11 \
                     where host = $1 and tool = $2 and started_at = $3",
                    self.table("memtree_import_runs")
                ),
                &[
                    (&host, Type::TEXT),
                    (&tool, Type::TEXT),
                    (&started_at, Type::TIMESTAMPTZ),
                    (&outcome.outcome, Type::TEXT),
                    (&count(outcome.files_scanned), Type::INT8),
                    (&count(outcome.sessions_imported), Type::INT8),
                    (&count(outcome.written.inserted), Type::INT8),
                    (&count(outcome.written.updated), Type::INT8),
                    (&count(outcome.written.unchanged), Type::INT8),
                    (&count(outcome.problems), Type::INT8),
                    (&outcome.error, Type::TEXT),
                ],
            )
            .await
            .map_err(StoreError::query("recording the end of the import run"))?;
        Ok(())
    }

    /// The latest run of each tool, on any host.
    pub async fn last_runs(&self) -> Result<Vec<LastRun>, StoreError> {
        let rows = self
            .client()
            .await?
            .query_typed(
                &format!(
                    "select distinct on (tool) tool, host, started_at, finished_at, outcome, files_scanned, \
                       sessions_imported, inserted, updated, unchanged, problems, error \
                     from {} order by tool, started_at desc",
                    self.table("memtree_import_runs")
                ),
                &[],
            )
            .await
            .map_err(StoreError::query("reading the import runs"))?;
        let count = |value: i64| value.max(0) as u64;
        Ok(rows
            .into_iter()
            .map(|row| LastRun {
                tool: row.get(0),
                host: row.get(1),
                started_at: row.get(2),
                finished_at: row.get(3),
                outcome: RunOutcome {
                    outcome: row.get(4),
                    files_scanned: count(row.get(5)),
                    sessions_imported: count(row.get(6)),
                    written: WriteCounts {
                        inserted: count(row.get(7)),
                        updated: count(row.get(8)),
                        unchanged: count(row.get(9)),
                        ..WriteCounts::default()
                    },
                    problems: count(row.get(10)),
                    error: row.get(11),
                },
            })
            .collect())
    }
}
