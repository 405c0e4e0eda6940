//! The persisted ledger (`memtree_ledger`): reading a host's entries, recording new ones.

use crate::ledger::{FileState, LedgerEntry, SessionLedgerEntry};

use super::{Store, StoreError};

impl Store {
    /// Every entry recorded for this host and tool; none when the ledger table does not exist yet
    /// (a dry run against a database migrated by an older memtree).
    pub async fn load_ledger(&self, host: &str, tool: &str) -> Result<Vec<LedgerEntry>, StoreError> {
        if !self.has_ledger {
            return Ok(Vec::new());
        }
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "select path, size, mtime_ns, inode, consumed, importer_version, options_key \
                     from {} where host = $1 and tool = $2",
                    self.table("memtree_ledger")
                ),
                &[&host, &tool],
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
            })
            .collect())
    }

    /// Records (or replaces) entries. Call only after the memories read from these files are
    /// committed, so the ledger is never ahead of the data.
    pub async fn record_ledger(
        &self,
        host: &str,
        tool: &str,
        entries: &[LedgerEntry],
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let paths: Vec<&str> = entries.iter().map(|entry| entry.path.as_str()).collect();
        let sizes: Vec<i64> = entries.iter().map(|entry| entry.state.size as i64).collect();
        let mtimes: Vec<i64> = entries.iter().map(|entry| entry.state.mtime_ns).collect();
        let inodes: Vec<i64> = entries.iter().map(|entry| entry.state.inode as i64).collect();
        let consumed: Vec<i64> = entries.iter().map(|entry| entry.consumed as i64).collect();
        let versions: Vec<&str> = entries
            .iter()
            .map(|entry| entry.importer_version.as_str())
            .collect();
        let keys: Vec<&str> = entries.iter().map(|entry| entry.options_key.as_str()).collect();
        let client = self.client().await?;
        client
            .execute(
                &format!(
                    "insert into {} as l (host, tool, path, size, mtime_ns, inode, consumed, importer_version, options_key) \
                     select $1, $2, * from unnest($3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::text[], $9::text[]) \
                     on conflict (host, tool, path) do update set size = excluded.size, mtime_ns = excluded.mtime_ns, \
                       inode = excluded.inode, consumed = excluded.consumed, importer_version = excluded.importer_version, \
                       options_key = excluded.options_key, updated_at = now()",
                    self.table("memtree_ledger")
                ),
                &[&host, &tool, &paths, &sizes, &mtimes, &inodes, &consumed, &versions, &keys],
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
            .query(
                &format!(
                    "select session_id, revision, importer_version, options_key from {} \
                     where host = $1 and tool = $2",
                    self.table("memtree_ledger_sessions")
                ),
                &[&host, &tool],
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

    /// Records (or replaces) session revisions, after their memories are committed.
    pub async fn record_session_ledger(
        &self,
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
        let client = self.client().await?;
        client
            .execute(
                &format!(
                    "insert into {} (host, tool, session_id, revision, importer_version, options_key) \
                     select $1, $2, * from unnest($3::text[], $4::int8[], $5::text[], $6::text[]) \
                     on conflict (host, tool, session_id) do update set revision = excluded.revision, \
                       importer_version = excluded.importer_version, options_key = excluded.options_key, \
                       updated_at = now()",
                    self.table("memtree_ledger_sessions")
                ),
                &[&host, &tool, &ids, &revisions, &versions, &keys],
            )
            .await
            .map_err(StoreError::query("recording the session ledger"))?;
        Ok(())
    }
}
