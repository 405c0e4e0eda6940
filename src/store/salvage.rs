//! Salvaged rows in the store: which salvaged sessions already have their transcript's rows (and
//! are then not salvaged again), and the deletion of a session's salvaged rows once its
//! transcript's rows are written, the only rows memtree ever deletes.

use std::collections::HashSet;

use tokio_postgres::types::Type;

use crate::plan::{without_nul, SALVAGED_FROM};

use super::{Store, StoreError};

impl Store {
    /// Which of `sessions` of `tool` have rows read from their transcript, not salvaged: a
    /// salvaged copy of those would duplicate what the store holds. The ids are the parsers'; they
    /// are looked up as rows store them (a NUL replaced, [`without_nul`]).
    pub async fn transcribed_sessions(
        &self,
        tool: &str,
        sessions: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        if sessions.is_empty() {
            return Ok(HashSet::new());
        }
        let client = self.client().await?;
        let sql = format!(
            "select distinct meta ->> 'source_session_id' from {} \
             where meta ->> 'source_session_id' = any($2::text[]) \
               and meta ->> 'source_tool' = $1 and not meta ? '{SALVAGED_FROM}'",
            self.table("memory"),
        );
        let stored = stored_ids(sessions.iter().copied());
        let rows = client
            .query_typed(&sql, &[(&tool, Type::TEXT), (&stored, Type::TEXT_ARRAY)])
            .await
            .map_err(StoreError::query(
                "looking up the transcripts of salvaged sessions",
            ))?;
        let found: HashSet<String> = rows.iter().map(|row| row.get(0)).collect();
        Ok(sessions
            .iter()
            .filter(|id| found.contains(without_nul(**id).as_ref()))
            .map(|id| (*id).to_owned())
            .collect())
    }

    /// Deletes the salvaged rows of `sessions` of `tool` (the parsers' ids, looked up as rows
    /// store them), in `transaction`, where their transcript's rows are written; returns how many. `memory_salvaged_idx` holds only salvaged
    /// rows, so this is an index probe per session however big the table.
    pub(super) async fn delete_superseded(
        &self,
        transaction: &tokio_postgres::Transaction<'_>,
        tool: &str,
        sessions: &[String],
    ) -> Result<u64, StoreError> {
        if sessions.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "delete from {} where meta ? '{SALVAGED_FROM}' \
               and meta ->> 'source_session_id' = any($2::text[]) and meta ->> 'source_tool' = $1",
            self.table("memory"),
        );
        let stored = stored_ids(sessions.iter().map(String::as_str));
        transaction
            .execute_typed(&sql, &[(&tool, Type::TEXT), (&stored, Type::TEXT_ARRAY)])
            .await
            .map_err(|error| {
                StoreError::classified(
                    "deleting salvaged rows replaced by their transcript",
                    super::pg_detail(&error),
                    &error,
                )
            })
    }
}

/// Session ids as the rows' `meta.source_session_id` holds them: PostgreSQL text holds no NUL.
fn stored_ids<'a>(sessions: impl Iterator<Item = &'a str>) -> Vec<String> {
    sessions.map(|id| without_nul(id).into_owned()).collect()
}
