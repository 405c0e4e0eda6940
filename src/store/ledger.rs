//! The persisted ledger (`memtree_ledger`, `memtree_ledger_sessions`): reading a host's entries,
//! and recording new ones inside the transaction that commits the rows they account for.

use std::collections::HashMap;

use tokio_postgres::types::Type;
use tokio_postgres::GenericClient;

use crate::ledger::{FileState, LedgerEntry, SessionLedgerEntry};
use crate::model::Checkpoint;

use super::{Store, StoreError};

/// What one group's write records in the ledger besides its rows: the files (each with the
/// checkpoint to read it on from, if any) and the store sessions the rows were read from.
#[derive(Clone, Copy, Debug, Default)]
pub struct LedgerRecords<'a> {
    pub host: &'a str,
    pub tool: &'a str,
    pub files: &'a [(LedgerEntry, Option<Checkpoint>)],
    pub sessions: &'a [SessionLedgerEntry],
    /// Sessions these rows were read from transcripts of: their salvaged rows (see
    /// [`crate::plan::SALVAGED_FROM`]) are deleted in the same transaction.
    pub transcribed: &'a [String],
}

impl LedgerRecords<'_> {
    pub(super) fn is_empty(&self) -> bool {
        self.files.is_empty() && self.sessions.is_empty() && self.transcribed.is_empty()
    }
}

impl Store {
    /// Every entry recorded for this host and tool; none when the ledger table does not exist yet
    /// (a dry run against a database migrated by an older memtree).
    pub async fn load_ledger(&self, host: &str, tool: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        if !self.has_ledger {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let resumable = if self.has_checkpoints {
            "checkpoint is not null"
        } else {
            "false"
        };
        let rows = client
            .query_typed(
                &format!(
                    "select path, size, mtime_ns, inode, consumed, importer_version, options_key, {resumable} \
                     from {} where host = $1 and tool = $2",
                    self.table("memtree_ledger")
                ),
                &[(&host, Type::TEXT), (&tool, Type::TEXT)],
            )
            .await
            .map_err(StoreError::query("reading the ledger"))?;
        Ok(rows
            .into_iter()
            .map(|row| LedgerEntry {
                path: row.get(0),
                state: FileState {
                    size: row.get::<_, i64>(1) as u64,
                    mtime_ns: row.get(2),
                    inode: row.get::<_, i64>(3) as u64,
                },
                consumed: row.get::<_, i64>(4) as u64,
                importer_version: row.get(5),
                options_key: row.get(6),
                resumable: row.get(7),
            })
            .collect())
    }

    /// The checkpoints recorded for these files (those that have one).
    pub async fn load_checkpoints(
        &self,
        host: &str,
        tool: &str,
        paths: &[&str],
    ) -> Result<HashMap<String, Checkpoint>, StoreError> {
        if !self.has_checkpoints || paths.is_empty() {
            return Ok(HashMap::new());
        }
        let client = self.client().await?;
        let rows = client
            .query_typed(
                &format!(
                    "select path, consumed, lines, prefix_sha256, checkpoint from {} \
                     where host = $1 and tool = $2 and path = any($3) and checkpoint is not null",
                    self.table("memtree_ledger")
                ),
                &[
                    (&host, Type::TEXT),
                    (&tool, Type::TEXT),
                    (&paths, Type::TEXT_ARRAY),
                ],
            )
            .await
            .map_err(StoreError::query("reading the ledger's checkpoints"))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let checkpoint = Checkpoint {
                    consumed: row.get::<_, i64>(1) as u64,
                    lines: row.get::<_, Option<i64>>(2).unwrap_or_default() as u64,
                    prefix_sha256: row.get::<_, Option<Vec<u8>>>(3).unwrap_or_default(),
                    state: row.get(4),
                };
                (row.get(0), checkpoint)
            })
            .collect())
    }

    /// Records (or replaces) file entries, each with the checkpoint to read its file on from, if
    /// any, on `client`: the transaction that writes the last rows read from these files, once
    /// every other row read from them is committed (`write.rs`), so the entries commit with the
    /// data they account for or not at all. Idempotent, like the rows' upsert, so that
    /// transaction can be retried whole.
    pub(super) async fn record_ledger(
        &self,
        client: &(impl GenericClient + Sync),
        host: &str,
        tool: &str,
        entries: &[(LedgerEntry, Option<Checkpoint>)],
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let column = |value: fn(&LedgerEntry) -> i64| -> Vec<i64> {
            entries.iter().map(|(entry, _)| value(entry)).collect()
        };
        let paths: Vec<&str> = entries.iter().map(|(entry, _)| entry.path.as_str()).collect();
        let sizes = column(|entry| entry.state.size as i64);
        let mtimes = column(|entry| entry.state.mtime_ns);
        let inodes = column(|entry| entry.state.inode as i64);
        let consumed = column(|entry| entry.consumed as i64);
        let versions: Vec<&str> = entries
            .iter()
            .map(|(entry, _)| entry.importer_version.as_str())
            .collect();
        let keys: Vec<&str> = entries
            .iter()
            .map(|(entry, _)| entry.options_key.as_str())
            .collect();
        let lines: Vec<Option<i64>> = entries
            .iter()
            .map(|(_, checkpoint)| checkpoint.as_ref().map(|checkpoint| checkpoint.lines as i64))
            .collect();
        let hashes: Vec<Option<&[u8]>> = entries
            .iter()
            .map(|(_, checkpoint)| {
                checkpoint
                    .as_ref()
                    .map(|checkpoint| checkpoint.prefix_sha256.as_slice())
            })
            .collect();
        let states: Vec<Option<&str>> = entries
            .iter()
            .map(|(_, checkpoint)| checkpoint.as_ref().map(|checkpoint| checkpoint.state.as_str()))
            .collect();
        client
            .execute_typed(
                &format!(
                    "insert into {} as l (host, tool, path, size, mtime_ns, inode, consumed, importer_version, options_key, \
                       lines, prefix_sha256, checkpoint) \
                     select $1, $2, * from unnest($3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::text[], $9::text[], \
                       $10::int8[], $11::bytea[], $12::text[]) \
                     on conflict (host, tool, path) do update set size = excluded.size, mtime_ns = excluded.mtime_ns, \
                       inode = excluded.inode, consumed = excluded.consumed, importer_version = excluded.importer_version, \
                       options_key = excluded.options_key, lines = excluded.lines, prefix_sha256 = excluded.prefix_sha256, \
                       checkpoint = excluded.checkpoint, updated_at = now()",
                    self.table("memtree_ledger")
                ),
                &[
                    (&host, Type::TEXT),
                    (&tool, Type::TEXT),
                    (&paths, Type::TEXT_ARRAY),
                    (&sizes, Type::INT8_ARRAY),
                    (&mtimes, Type::INT8_ARRAY),
                    (&inodes, Type::INT8_ARRAY),
                    (&consumed, Type::INT8_ARRAY),
                    (&versions, Type::TEXT_ARRAY),
                    (&keys, Type::TEXT_ARRAY),
                    (&lines, Type::INT8_ARRAY),
                    (&hashes, Type::BYTEA_ARRAY),
                    (&states, Type::TEXT_ARRAY),
                ],
            )
            .await
            .map_err(StoreError::query("recording the ledger"))?;
        Ok(())
    }
}

impl Store {
    /// Every session revision recorded for this host and tool (none before the ledger existed).
    pub async fn load_session_ledger(
        &self,
        host: &str,
        tool: &str,
    ) -> Result<Vec<SessionLedgerEntry>, StoreError> {
        if !self.has_ledger {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let rows = client
            .query_typed(
                &format!(
                    "select session_id, revision, importer_version, options_key from {} \
                     where host = $1 and tool = $2",
                    self.table("memtree_ledger_sessions")
                ),
                &[(&host, Type::TEXT), (&tool, Type::TEXT)],
            )
            .await
            .map_err(StoreError::query("reading the session ledger"))?;
        Ok(rows
            .into_iter()
            .map(|row| SessionLedgerEntry {
                session_id: row.get(0),
                revision: row.get(1),
                importer_version: row.get(2),
                options_key: row.get(3),
            })
            .collect())
    }

    /// Records (or replaces) session revisions on `client`, as [`Store::record_ledger`] does files.
    pub(super) async fn record_session_ledger(
        &self,
        client: &(impl GenericClient + Sync),
        host: &str,
        tool: &str,
        entries: &[SessionLedgerEntry],
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = entries.iter().map(|entry| entry.session_id.as_str()).collect();
        let revisions: Vec<i64> = entries.iter().map(|entry| entry.revision).collect();
        let versions: Vec<&str> = entries
            .iter()
            .map(|entry| entry.importer_version.as_str())
            .collect();
        let keys: Vec<&str> = entries.iter().map(|entry| entry.options_key.as_str()).collect();
        client
            .execute_typed(
                &format!(
                    "insert into {} (host, tool, session_id, revision, importer_version, options_key) \
                     select $1, $2, * from unnest($3::text[], $4::int8[], $5::text[], $6::text[]) \
                     on conflict (host, tool, session_id) do update set revision = excluded.revision, \
                       importer_version = excluded.importer_version, options_key = excluded.options_key, \
                       updated_at = now()",
                    self.table("memtree_ledger_sessions")
                ),
                &[
                    (&host, Type::TEXT),
                    (&tool, Type::TEXT),
                    (&ids, Type::TEXT_ARRAY),
                    (&revisions, Type::INT8_ARRAY),
                    (&versions, Type::TEXT_ARRAY),
                    (&keys, Type::TEXT_ARRAY),
                ],
            )
            .await
            .map_err(StoreError::query("recording the session ledger"))?;
        Ok(())
    }
}
