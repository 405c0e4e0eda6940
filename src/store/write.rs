//! Classifying and writing planned memories: batched upserts that skip rows already current,
//! with a group's ledger entries committed in the transaction of its last batch.
//!
//! A stored row is current when it has the same id and its meta has the same rendering keys
//! ([`RENDERING_KEYS`]: importer version, content mode, redaction) as the planned row. Current rows are filtered out before the upsert
//! (`ON CONFLICT ... DO UPDATE ... WHERE` would still lock and WAL-log them), so a re-run writes
//! nothing at all, not even a fresh `imported_at`.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio_postgres::types::Type;
use uuid::Uuid;

use crate::failpoint;
use crate::limits::{BATCH_BYTES, BATCH_ROWS, CLASSIFY_ROWS};
use crate::plan::row::{without_nul, PlannedMemory, RENDERING_KEYS};

use super::{retry, LedgerRecords, Store, StoreError, WriteCounts};

/// SQL condition, over input row `i` and stored row `m`, for "m was rendered as `i` is": their
/// rendering keys agree. `i.meta` is the planned row's meta when writing, and the run's rendering
/// keys alone when classifying.
static SAME_RENDERING: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    RENDERING_KEYS
        .iter()
        .map(|key| format!("m.meta -> '{key}' is not distinct from i.meta -> '{key}'"))
        .collect::<Vec<_>>()
        .join(" and ")
});

/// SQL condition for "m is current" when writing: rendered alike, with the same content and tree.
/// A message the tool rewrote in place (Gemini CLI and OpenCode update a message as its tool
/// calls finish) keeps its id and gets its new content; meta facts that change with the world
/// (the repository's HEAD) or the run (`imported_at`) do not make a row stale.
static ROW_IS_CURRENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{} and m.content = i.content and m.tree::text = i.tree",
        *SAME_RENDERING
    )
});

impl Store {
    /// Read-only: how many rows with these ids, rendered as `rendering` says (their
    /// [`RENDERING_KEYS`], the same for every row of a run), would be inserted, updated or left
    /// unchanged. A dry run holds no content, so a stored row rendered alike counts as unchanged
    /// even when the tool has since rewritten its message, which the import would update.
    pub async fn classify(
        &self,
        ids: &[Uuid],
        rendering: &Map<String, Value>,
    ) -> Result<WriteCounts, StoreError> {
        let (unique, duplicates) = first_of_each_id(ids, |id| *id);
        let mut counts = WriteCounts {
            unchanged: duplicates,
            ..WriteCounts::default()
        };
        let mut pooled = self.client().await?;
        let client: &mut tokio_postgres::Client = &mut pooled;
        let sql = format!(
            "select count(*) filter (where m.id is null), \
                    count(*) filter (where m.id is not null and not ({same_rendering})), \
                    count(*) filter (where m.id is not null and {same_rendering}) \
             from (select id, $2::jsonb as meta from unnest($1::uuid[]) as id) i \
             left join {} m on m.id = i.id",
            self.table("memory"),
            same_rendering = *SAME_RENDERING,
        );
        let rendering = tokio_postgres::types::Json(rendering);
        for chunk in unique.chunks(CLASSIFY_ROWS) {
            let ids: Vec<Uuid> = chunk.iter().map(|id| **id).collect();
            let row = client
                .query_typed_one(&sql, &[(&ids, Type::UUID_ARRAY), (&rendering, Type::JSONB)])
                .await
                .map_err(StoreError::query("classifying memories against the database"))?;
            counts += WriteCounts {
                inserted: count(row.get(0)),
                updated: count(row.get(1)),
                unchanged: count(row.get(2)),
                ..WriteCounts::default()
            };
        }
        Ok(counts)
    }

    /// Writes in batches bounded by rows and bytes, each batch one transaction, over the pool's
    /// connections concurrently (the last once the others have committed: see
    /// [`Store::write_recording`]). Rows already current are not touched; changed
    /// rows are rewritten in place (content, meta, tree, temporal, `updated_at = now()`),
    /// keeping their id and `created_at`. Repeated ids: the first is written.
    ///
    /// Each batch inserts its rows in id order, so concurrent imports writing the same rows lock
    /// them in the same order and wait for each other instead of deadlocking. A batch that fails
    /// on a transient error (connection lost, deadlock) is retried (`retry.rs`); on any other
    /// error, batches already committed stay written and re-running is safe.
    pub async fn write(&self, memories: &[PlannedMemory]) -> Result<WriteCounts, StoreError> {
        self.write_recording(memories, LedgerRecords::default()).await
    }

    /// [`Store::write`], recording `ledger` in the transaction of the last batch, which starts
    /// only once every other batch has committed: the entries commit with the last of the rows
    /// they account for, or (on a crash or an error) not at all, and the next run reads their
    /// files again. With no rows to write, the entries are recorded in a transaction of their own.
    ///
    /// The last batch waits for the others rather than holding its transaction open until they
    /// commit: an open transaction waiting on work outside the database could deadlock with
    /// another import without the server noticing, and would hold one of the two connections.
    /// The batches of the next group in flight keep the other connection busy meanwhile.
    pub async fn write_recording(
        &self,
        memories: &[PlannedMemory],
        ledger: LedgerRecords<'_>,
    ) -> Result<WriteCounts, StoreError> {
        let (unique, duplicates) = first_of_each_id(memories, |memory| memory.id);
        let mut batches = batches(&unique);
        let last = batches.pop().unwrap_or_default();
        let sql = self.upsert_sql();
        let next_batch = AtomicUsize::new(0);
        let worker = || async {
            let mut counts = WriteCounts::default();
            while let Some(batch) = batches.get(next_batch.fetch_add(1, Ordering::Relaxed)) {
                // A batch is idempotent: when its connection fails, it is written again on another.
                counts += retry::run(|| async {
                    self.write_batch(&mut *self.client().await?, &sql, batch, None)
                        .await
                })
                .await?;
            }
            Ok::<_, StoreError>(counts)
        };
        let (first, second) = tokio::try_join!(worker(), worker())?;
        let ledger = Some(ledger).filter(|ledger| !ledger.is_empty());
        let last = if last.is_empty() && ledger.is_none() {
            WriteCounts::default()
        } else {
            // Rows and ledger entries alike are upserts: the whole transaction is idempotent.
            retry::run(|| async {
                self.write_batch(&mut *self.client().await?, &sql, &last, ledger)
                    .await
            })
            .await?
        };
        Ok(first
            + second
            + last
            + WriteCounts {
                unchanged: duplicates,
                ..WriteCounts::default()
            })
    }

    /// The upsert of one batch, given as arrays: rows already current are filtered out first.
    fn upsert_sql(&self) -> String {
        format!(
            "with i as (select id, content, meta::jsonb as meta, tree, at \
                 from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) \
                 as i(id, content, meta, tree, at)), \
             changed as (select i.* from i left join {memory} m on m.id = i.id \
                 where m.id is null or not ({row_is_current})) \
             insert into {memory} as m (id, content, meta, tree, temporal) \
             select id, content, meta, tree::{ltree}, tstzrange(at, at, '[]') from changed order by id \
             on conflict (id) do update set content = excluded.content, meta = excluded.meta, \
                 tree = excluded.tree, temporal = excluded.temporal, updated_at = now() \
             returning (xmax = 0)",
            memory = self.table("memory"),
            ltree = self.ltree_type,
            row_is_current = *ROW_IS_CURRENT,
        )
    }

    /// One batch in one transaction, with `ledger` recorded after its rows and before its commit.
    async fn write_batch(
        &self,
        client: &mut tokio_postgres::Client,
        sql: &str,
        batch: &[&PlannedMemory],
        ledger: Option<LedgerRecords<'_>>,
    ) -> Result<WriteCounts, StoreError> {
        let ids: Vec<Uuid> = batch.iter().map(|memory| memory.id).collect();
        let contents: Vec<Cow<'_, str>> = batch
            .iter()
            .map(|memory| without_nul(memory.content.as_str()))
            .collect();
        let metas: Vec<Cow<'_, str>> = batch
            .iter()
            .map(|memory| meta_without_nul(&memory.meta))
            .collect();
        let trees: Vec<&str> = batch.iter().map(|memory| memory.tree.as_str()).collect();
        let times: Vec<DateTime<Utc>> = batch.iter().map(|memory| memory.at).collect();
        let contents: Vec<&str> = contents.iter().map(|content| content.as_ref()).collect();
        let metas: Vec<&str> = metas.iter().map(|meta| meta.as_ref()).collect();
        let failed = |error: tokio_postgres::Error| match ids.first() {
            Some(first) => {
                let detail = format!(
                    "batch of {} rows from id {first}: {}",
                    batch.len(),
                    super::pg_detail(&error)
                );
                StoreError::classified("writing memories", detail, &error)
            }
            // A group with nothing to write records only its ledger entries.
            None => StoreError::classified("recording the ledger", super::pg_detail(&error), &error),
        };
        failpoint::hit("write.before_batch");
        let transaction = client.transaction().await.map_err(failed)?;
        let rows = if batch.is_empty() {
            Vec::new()
        } else {
            transaction
                .query_typed(
                    sql,
                    &[
                        (&ids, Type::UUID_ARRAY),
                        (&contents, Type::TEXT_ARRAY),
                        (&metas, Type::TEXT_ARRAY),
                        (&trees, Type::TEXT_ARRAY),
                        (&times, Type::TIMESTAMPTZ_ARRAY),
                    ],
                )
                .await
                .map_err(failed)?
        };
        let mut superseded = 0;
        if let Some(ledger) = ledger {
            superseded = self
                .delete_superseded(&transaction, ledger.tool, ledger.transcribed)
                .await?;
            self.record_ledger(&transaction, ledger.host, ledger.tool, ledger.files)
                .await?;
            self.record_session_ledger(&transaction, ledger.host, ledger.tool, ledger.sessions)
                .await?;
            failpoint::hit("write.ledger_recorded");
        }
        failpoint::hit("write.before_commit");
        transaction.commit().await.map_err(failed)?;
        failpoint::hit("write.after_commit");
        let inserted = rows.iter().filter(|row| row.get::<_, bool>(0)).count() as u64;
        let written = rows.len() as u64;
        Ok(WriteCounts {
            inserted,
            updated: written - inserted,
            unchanged: batch.len() as u64 - written,
            superseded,
        })
    }
}

/// The first row of each id, in input order, and how many repeats were dropped. Repeats in one
/// statement would make `ON CONFLICT DO UPDATE` fail the whole batch.
fn first_of_each_id<T>(rows: &[T], id: impl Fn(&T) -> Uuid) -> (Vec<&T>, u64) {
    let mut seen = HashSet::with_capacity(rows.len());
    let unique: Vec<&T> = rows.iter().filter(|row| seen.insert(id(row))).collect();
    let duplicates = (rows.len() - unique.len()) as u64;
    (unique, duplicates)
}

/// Consecutive runs of at most [`BATCH_ROWS`] rows and, unless one row alone exceeds it,
/// [`BATCH_BYTES`] bytes.
fn batches<'a>(memories: &[&'a PlannedMemory]) -> Vec<Vec<&'a PlannedMemory>> {
    let mut batches = Vec::new();
    let mut batch: Vec<&PlannedMemory> = Vec::new();
    let mut bytes = 0;
    for &memory in memories {
        let size = memory.content.len() + memory.tree.len() + memory.meta.len();
        if !batch.is_empty() && (batch.len() == BATCH_ROWS || bytes + size > BATCH_BYTES) {
            batches.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        batch.push(memory);
        bytes += size;
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    batches
}

fn count(value: i64) -> u64 {
    value.max(0) as u64
}

/// [`without_nul`] for meta as JSON text, where a NUL is the escape `\u0000` (which jsonb
/// rejects too).
fn meta_without_nul(meta: &str) -> Cow<'_, str> {
    fn replace(value: Value) -> Value {
        match value {
            Value::String(text) => Value::String(without_nul(text).into_owned()),
            Value::Array(items) => Value::Array(items.into_iter().map(replace).collect()),
            Value::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(key, value)| (without_nul(key).into_owned(), replace(value)))
                    .collect(),
            ),
            other => other,
        }
    }
    // Also matches an escaped backslash followed by `u0000`, which re-serialises unchanged.
    if !meta.contains("\\u0000") {
        return Cow::Borrowed(meta);
    }
    match serde_json::from_str::<Value>(meta) {
        Ok(value) => Cow::Owned(replace(value).to_string()),
        Err(_) => Cow::Borrowed(meta),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(id: u128, content_len: usize) -> PlannedMemory {
        PlannedMemory {
            id: Uuid::from_u128(id),
            content: "x".repeat(content_len),
            meta: "{}".to_owned(),
            tree: "t".to_owned(),
            at: DateTime::from_timestamp(0, 0).unwrap(),
        }
    }

    #[test]
    fn batches_are_bounded_by_rows_and_bytes() {
        let small: Vec<PlannedMemory> = (0..2500).map(|id| memory(id, 10)).collect();
        let refs: Vec<&PlannedMemory> = small.iter().collect();
        let sizes: Vec<usize> = batches(&refs).iter().map(Vec::len).collect();
        assert_eq!(sizes, [1000, 1000, 500]);

        let big: Vec<PlannedMemory> = (0..5).map(|id| memory(id, 3 * 1024 * 1024)).collect();
        let refs: Vec<&PlannedMemory> = big.iter().collect();
        let sizes: Vec<usize> = batches(&refs).iter().map(Vec::len).collect();
        assert_eq!(sizes, [1, 1, 1, 1, 1], "one 3 MiB row per 4 MiB batch");

        let huge = [memory(1, 9 * 1024 * 1024)];
        let refs: Vec<&PlannedMemory> = huge.iter().collect();
        assert_eq!(
            batches(&refs).len(),
            1,
            "an oversized row still gets written, alone"
        );
    }

    #[test]
    fn repeated_ids_keep_the_first() {
        let mut second = memory(1, 3);
        second.content = "second".to_owned();
        let memories = [memory(1, 1), memory(2, 2), second];
        let (unique, duplicates) = first_of_each_id(&memories, |memory| memory.id);
        assert_eq!(duplicates, 1);
        assert_eq!(
            unique
                .iter()
                .map(|memory| memory.content.as_str())
                .collect::<Vec<_>>(),
            ["x", "xx"]
        );
    }

    #[test]
    fn nul_characters_are_replaced_everywhere() {
        assert_eq!(without_nul("a\0b"), "a\u{fffd}b");
        assert!(matches!(without_nul("plain"), Cow::Borrowed(_)));
        let meta = serde_json::json!({"k\0": ["x\0", {"y": "\0"}], "n": 1}).to_string();
        let cleaned: Value = serde_json::from_str(&meta_without_nul(&meta)).unwrap();
        assert_eq!(
            cleaned,
            serde_json::json!({"k\u{fffd}": ["x\u{fffd}", {"y": "\u{fffd}"}], "n": 1})
        );
        let clean = serde_json::json!({"a": "b", "path": "C:\\u0000"}).to_string();
        assert_eq!(
            meta_without_nul(&clean),
            clean,
            "an escaped backslash is not a NUL"
        );
    }
}
