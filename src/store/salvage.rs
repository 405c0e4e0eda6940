//! Salvaged rows in the store: which salvaged sessions already have their transcript's rows (and
//! are then not salvaged again), and the deletion of a session's salvaged rows once its
//! transcript's rows are written, the only rows memtree ever deletes.

use std::borrow::Cow;
use std::collections::HashSet;

use tokio_postgres::types::Type;

use crate::plan::{without_nul, SALVAGED_FROM};

use super::{Store, StoreError};

impl Store {
    /// Which of `sessions` of `tool` have rows read from their transcript, not salvaged: a
    /// salvaged copy of those would duplicate what the store holds. Ids are compared as stored,
    /// without NUL.
    pub async fn transcribed_sessions(
        &self,
        tool: &str,
        sessions: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        if sessions.is_empty() {
            return Ok(HashSet::new());
        }
        let stored: Vec<Cow<'_, str>> = sessions.iter().map(|id| without_nul(*id)).collect();
        let client = self.client().await?;
        let sql = format!(
            "select distinct meta ->> 'source_session_id' from {} \
             where meta ->> 'source_session_id' = any($2::text[]) \
               and meta ->> 'source_tool' = $1 and not meta ? '{SALVAGED_FROM}'",
            self.table("memory"),
        );
        let rows = client
            .query_typed(&sql, &[(&tool, Type::TEXT), (&stored, Type::TEXT_ARRAY)])
            .await
            .map_err(StoreError::query(
                "looking up the transcripts of salvaged sessions",
            ))?;
        let found: HashSet<String> = rows.iter().map(|row| row.get(0)).collect();
        Ok(sessions
            .iter()
            .zip(&stored)
            .filter(|(_, stored)| found.contains(stored.as_ref()))
            .map(|(id, _)| (*id).to_owned())
            .collect())
    }

    /// Deletes the salvaged rows of `sessions` of `tool`, in `transaction`, where their
    /// transcript's rows are written; returns how many. `memory_salvaged_idx` holds only salvaged
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
        let stored: Vec<Cow<'_, str>> = sessions.iter().map(|id| without_nul(id.as_str())).collect();
        let memory = self.table("memory");
        // Nearly always there is none: then nothing is deleted, and a role granted no DELETE
        // (which memtree needs for nothing else) imports as before.
        let found = transaction
            .query_typed_one(
                &format!(
                    "select exists (select 1 from {memory} where meta ? '{SALVAGED_FROM}' \
                       and meta ->> 'source_session_id' = any($2::text[]) \
                       and meta ->> 'source_tool' = $1), \
                     has_table_privilege($3, 'DELETE'), current_user::text, \
                     current_database()::text"
                ),
                &[
                    (&tool, Type::TEXT),
                    (&stored, Type::TEXT_ARRAY),
                    (&memory, Type::TEXT),
                ],
            )
            .await
            .map_err(StoreError::query(
                "looking for salvaged rows replaced by their transcript",
            ))?;
        if !found.get::<_, bool>(0) {
            return Ok(0);
        }
        if !found.get::<_, bool>(1) {
            let role: String = found.get(2);
            return Err(StoreError::NeedsAdmin {
                statements: vec![format!(
                    "grant delete on {memory} to {};",
                    super::migrate::ident(&role)
                )],
                problem: format!(
                    "role {} may not delete the salvaged prompts a returned transcript replaces",
                    super::migrate::ident(&role)
                ),
                role,
                database: found.get(3),
            });
        }
        let sql = format!(
            "delete from {memory} where meta ? '{SALVAGED_FROM}' \
               and meta ->> 'source_session_id' = any($2::text[]) and meta ->> 'source_tool' = $1",
        );
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
