//! The store against a real PostgreSQL: migrations, writes, classification, slugs, schemas.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::{query_rows, query_value};
use memtree::ledger::{FileState, LedgerEntry, SessionLedgerEntry};
use memtree::model::{Checkpoint, Tool};
use memtree::plan::{PlannedMemory, IMPORTER_VERSION, RENDERING_KEYS};
use memtree::slug::ProjectKey;
use memtree::store::{LedgerRecords, Store, StoreError, WriteCounts};
use serde_json::{json, Map, Value};
use uuid::Uuid;

fn at(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 1, 10, 0, second % 60).unwrap()
        + chrono::Duration::minutes(i64::from(second / 60))
}

fn memory(message: &str, second: u32) -> PlannedMemory {
    PlannedMemory {
        id: memtree::id::memory_id(Tool::named("claude"), "session-1", message, at(second)),
        content: format!("content of {message}"),
        meta: json!({
            "type": "agent_session",
            "source_tool": "claude",
            "source_message_id": message,
            "content_mode": "default",
            "importer_version": IMPORTER_VERSION,
        })
        .to_string(),
        tree: "claude.proj.sessions".to_owned(),
        at: at(second),
    }
}

/// A row's meta (JSON text) as a value.
fn meta_of(row: &PlannedMemory) -> Value {
    serde_json::from_str(&row.meta).unwrap()
}

/// Changes a row's meta with `edit`.
fn edit_meta(row: &mut PlannedMemory, edit: impl FnOnce(&mut Value)) {
    let mut meta = meta_of(row);
    edit(&mut meta);
    row.meta = meta.to_string();
}

fn memories(count: u32) -> Vec<PlannedMemory> {
    (0..count).map(|n| memory(&format!("m{n}"), n)).collect()
}

/// What a dry run asks the store about these rows: their ids, rendered as `like` is (a run
/// renders every row with the same keys).
async fn classified(store: &Store, rows: &[PlannedMemory], like: &PlannedMemory) -> WriteCounts {
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let meta = meta_of(like);
    let rendering: Map<String, Value> = RENDERING_KEYS
        .iter()
        .filter_map(|key| Some((key.to_string(), meta.get(*key)?.clone())))
        .collect();
    store.classify(&ids, &rendering).await.unwrap()
}

fn counts(inserted: u64, updated: u64, unchanged: u64) -> WriteCounts {
    WriteCounts {
        inserted,
        updated,
        unchanged,
        ..WriteCounts::default()
    }
}

/// A fresh database with the store opened (and migrated) in `public`.
async fn opened_store() -> (common::TestDb, Store) {
    let db = common::test_db().await;
    let store = Store::open(db.config.clone(), "public").await.unwrap();
    (db, store)
}

/// Opening the store again once `tamper` (SQL) changed its migration history: the refusal.
async fn reopen_after(db: &common::TestDb, tamper: &str) -> StoreError {
    Store::open(db.config.clone(), "public").await.unwrap();
    db.client().await.execute(tamper, &[]).await.unwrap();
    Store::open(db.config.clone(), "public")
        .await
        .err()
        .expect("a changed migration history is refused")
}

/// Stored (id, content, meta, tree, temporal, created_at, updated_at, xmin) ordered by id.
type StoredRow = (
    Uuid,
    String,
    Value,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    String,
);

async fn stored(client: &tokio_postgres::Client, schema: &str) -> Vec<StoredRow> {
    let sql = format!(
        "select id, content, meta, tree::text, temporal::text, created_at, updated_at, xmin::text \
         from \"{schema}\".memory order by id"
    );
    query_rows(client, &sql, |row| {
        (
            row.get(0),
            row.get(1),
            row.get(2),
            row.get(3),
            row.get(4),
            row.get(5),
            row.get(6),
            row.get(7),
        )
    })
    .await
}

/// (version, name, checksum length, applied_at) of every applied migration.
async fn history(client: &tokio_postgres::Client) -> Vec<(i32, String, i32, DateTime<Utc>)> {
    query_rows(
        client,
        "select version, name, length(checksum), applied_at from public.memtree_migrations order by version",
        |row| (row.get(0), row.get(1), row.get(2), row.get(3)),
    )
    .await
}

#[tokio::test]
async fn migrations_apply_once_and_are_recorded() {
    let db = common::test_db().await;
    Store::open(db.config.clone(), "public").await.unwrap();
    let client = db.client().await;
    let first = history(&client).await;
    let names: Vec<(i32, &str, i32)> = first
        .iter()
        .map(|(v, n, len, _)| (*v, n.as_str(), *len))
        .collect();
    assert_eq!(
        names,
        [
            (1, "memory", 32),
            (2, "projects", 32),
            (3, "ledger", 32),
            (4, "ledger_checkpoints", 32),
            (5, "search", 32),
            (6, "import_runs", 32),
            (7, "salvaged", 32)
        ]
    );

    Store::open(db.config.clone(), "public").await.unwrap();
    assert_eq!(history(&client).await, first, "a re-open applies nothing");

    let indexes: Vec<String> = query_rows(
        &client,
        "select indexname from pg_indexes where schemaname = 'public' and tablename = 'memory' order by 1",
        |row| row.get(0),
    )
    .await;
    assert_eq!(
        indexes,
        [
            "memory_meta_idx",
            "memory_pkey",
            "memory_salvaged_idx",
            "memory_search_idx",
            "memory_session_idx",
            "memory_temporal_idx",
            "memory_time_idx",
            "memory_tree_idx"
        ]
    );

    let lz4_available: bool = query_value(
        &client,
        "select exists (select 1 from pg_settings where name = 'default_toast_compression' and 'lz4' = any(enumvals))",
        &[],
    )
    .await;
    let compression: Vec<String> = query_rows(
        &client,
        "select attcompression::text from pg_attribute \
             where attrelid = 'public.memory'::regclass and attname in ('content', 'meta', 'search') order by attname",
        |row| row.get(0),
    )
    .await;
    let expected = if lz4_available { "l" } else { "" };
    assert_eq!(compression, [expected, expected, expected]);
}

#[tokio::test]
async fn an_edited_applied_migration_is_refused() {
    let db = common::test_db().await;
    let error = reopen_after(
        &db,
        "update public.memtree_migrations set checksum = '\\x00' where version = 1",
    )
    .await;
    assert!(
        matches!(error, StoreError::MigrationChanged { version: 1, .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains("migration 1") && message.contains("sql/0001_memory.sql"),
        "{message}"
    );
    let error = Store::open_existing(db.config.clone(), "public")
        .await
        .err()
        .expect("dry runs check too");
    assert!(
        matches!(error, StoreError::MigrationChanged { version: 1, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn a_migration_from_a_newer_memtree_is_refused() {
    let db = common::test_db().await;
    let error = reopen_after(
        &db,
        "insert into public.memtree_migrations (version, name, checksum) values (999, 'future', '\\x00')",
    )
    .await;
    assert!(
        matches!(error, StoreError::MigrationUnknown { version: 999, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("upgrade memtree"));
}

#[tokio::test]
async fn open_existing_creates_nothing() {
    let db = common::test_db().await;
    assert!(Store::open_existing(db.config.clone(), "public")
        .await
        .unwrap()
        .is_none());
    assert!(Store::open_existing(db.config.clone(), "other")
        .await
        .unwrap()
        .is_none());
    let client = db.client().await;
    let tables: i64 = query_value(
        &client,
        "select count(*) from pg_tables where tablename like 'memtree%' or tablename = 'memory'",
        &[],
    )
    .await;
    let schema: bool = query_value(
        &client,
        "select exists (select 1 from pg_namespace where nspname = 'other')",
        &[],
    )
    .await;
    assert_eq!((tables, schema), (0, false));

    Store::open(db.config.clone(), "public").await.unwrap();
    let existing = Store::open_existing(db.config.clone(), "public")
        .await
        .unwrap()
        .expect("migrated schema");
    let rows = memories(3);
    assert_eq!(classified(&existing, &rows, &rows[0]).await, counts(3, 0, 0));
}

#[tokio::test]
async fn a_second_identical_write_changes_nothing() {
    let (db, store) = opened_store().await;
    let rows = memories(5);
    assert_eq!(store.write(&rows).await.unwrap(), counts(5, 0, 0));
    let client = db.client().await;
    let before = stored(&client, "public").await;
    assert_eq!(before.len(), 5);
    let first = before.iter().find(|row| row.0 == rows[0].id).unwrap();
    assert_eq!(
        (&first.1, &first.2, first.3.as_str()),
        (&rows[0].content, &meta_of(&rows[0]), "claude.proj.sessions")
    );
    assert_eq!(first.4, "[\"2026-04-01 10:00:00+00\",\"2026-04-01 10:00:00+00\"]");
    assert!(first.6.is_none());

    // Even with a fresh imported_at, an up-to-date row is not rewritten.
    let mut again = rows.clone();
    for row in &mut again {
        edit_meta(row, |meta| meta["imported_at"] = json!("2030-01-01T00:00:00Z"));
    }
    assert_eq!(store.write(&again).await.unwrap(), counts(0, 0, 5));
    assert_eq!(
        stored(&client, "public").await,
        before,
        "same updated_at, same xmin: nothing written"
    );
}

#[tokio::test]
async fn a_new_mode_or_version_rewrites_rows_in_place() {
    let (db, store) = opened_store().await;
    let rows = memories(3);
    store.write(&rows).await.unwrap();
    let client = db.client().await;
    let before = stored(&client, "public").await;

    let mut full = rows.clone();
    for row in &mut full {
        edit_meta(row, |meta| meta["content_mode"] = json!("full_transcript"));
        row.content.push_str(" with tools");
        row.tree = "claude.moved.sessions".to_owned();
    }
    edit_meta(&mut full[2], |meta| {
        meta["importer_version"] = json!("older-but-different")
    });
    assert_eq!(classified(&store, &full, &full[0]).await, counts(0, 3, 0));
    assert_eq!(store.write(&full).await.unwrap(), counts(0, 3, 0));
    let after = stored(&client, "public").await;
    for (old, new) in before.iter().zip(&after) {
        assert_eq!(old.0, new.0, "same id");
        assert_eq!(old.5, new.5, "created_at kept");
        assert!(new.6.is_some(), "updated_at set");
        assert!(new.1.ends_with(" with tools"));
        assert_eq!(new.3, "claude.moved.sessions");
    }

    let mut version_bump = full.clone();
    edit_meta(&mut version_bump[0], |meta| {
        meta["importer_version"] = json!("memtree-next")
    });
    assert_eq!(store.write(&version_bump).await.unwrap(), counts(0, 1, 2));

    // A message its tool rewrote in place keeps its id and gets its new content; a dry run,
    // which holds no content, cannot tell.
    let mut edited = version_bump.clone();
    edited[1].content = "edited".to_owned();
    assert_eq!(
        classified(&store, &edited[1..2], &edited[1]).await,
        counts(0, 0, 1)
    );
    assert_eq!(store.write(&edited).await.unwrap(), counts(0, 1, 2));
    let rewritten = stored(&client, "public").await;
    assert_eq!(
        rewritten.iter().find(|row| row.0 == edited[1].id).unwrap().1,
        "edited"
    );
    assert_eq!(store.write(&edited).await.unwrap(), counts(0, 0, 3));
}

#[tokio::test]
async fn repeated_ids_in_one_write_keep_the_first() {
    let (db, store) = opened_store().await;
    let mut rows = memories(2);
    let mut repeat = rows[0].clone();
    repeat.content = "the second copy".to_owned();
    rows.push(repeat);
    assert_eq!(classified(&store, &rows, &rows[0]).await, counts(2, 0, 1));
    assert_eq!(store.write(&rows).await.unwrap(), counts(2, 0, 1));
    let client = db.client().await;
    let content: String = query_value(
        &client,
        "select content from memory where id = $1",
        &[&rows[0].id],
    )
    .await;
    assert_eq!(content, rows[0].content);
}

#[tokio::test]
async fn classify_counts_without_writing() {
    let (_db, store) = opened_store().await;
    let rows = memories(10);
    assert_eq!(classified(&store, &rows, &rows[0]).await, counts(10, 0, 0));
    store.write(&rows[..4]).await.unwrap();
    assert_eq!(classified(&store, &rows, &rows[0]).await, counts(6, 0, 4));
    let mut full = rows[0].clone();
    edit_meta(&mut full, |meta| meta["content_mode"] = json!("full_transcript"));
    assert_eq!(classified(&store, &rows, &full).await, counts(6, 4, 0));
    let mut unversioned = rows[0].clone();
    edit_meta(&mut unversioned, |meta| {
        meta.as_object_mut().unwrap().remove("importer_version");
    });
    assert_eq!(classified(&store, &rows, &unversioned).await, counts(6, 4, 0));
    let mut redacted = rows[0].clone();
    edit_meta(&mut redacted, |meta| meta["secrets_redacted"] = json!(true));
    assert_eq!(classified(&store, &rows, &redacted).await, counts(6, 4, 0));
    assert_eq!(
        classified(&store, &rows, &rows[0]).await,
        counts(6, 0, 4),
        "classify wrote nothing"
    );
    assert_eq!(classified(&store, &[], &rows[0]).await, counts(0, 0, 0));
}

#[tokio::test]
async fn many_batches_over_two_connections() {
    let (db, store) = opened_store().await;
    let rows = memories(2600);
    assert_eq!(store.write(&rows).await.unwrap(), counts(2600, 0, 0));
    assert_eq!(store.write(&rows).await.unwrap(), counts(0, 0, 2600));
    let client = db.client().await;
    let total: i64 = query_value(&client, "select count(*) from memory", &[]).await;
    assert_eq!(total, 2600);
}

/// A ledger entry for `path`, resumable from a checkpoint when `resumable`.
fn ledger_entry(path: &str, resumable: bool) -> (LedgerEntry, Option<Checkpoint>) {
    let entry = LedgerEntry {
        path: path.to_owned(),
        state: FileState {
            size: 120,
            mtime_ns: 1_700_000_000_000_000_000,
            inode: 42,
        },
        consumed: 100,
        importer_version: IMPORTER_VERSION.to_owned(),
        options_key: "key".to_owned(),
        resumable,
    };
    let checkpoint = resumable.then(|| Checkpoint {
        consumed: 100,
        lines: 3,
        prefix_sha256: vec![7; 32],
        state: "{}".to_owned(),
    });
    (entry, checkpoint)
}

/// The transaction ids (`xmin`) that wrote `table`'s rows, distinct, in order.
async fn writers(client: &tokio_postgres::Client, table: &str) -> Vec<i64> {
    let sql = format!("select distinct xmin::text::int8 from {table} order by 1");
    query_rows(client, &sql, |row| row.get(0)).await
}

/// A group's ledger entries commit in the transaction of its last batch, which starts after the
/// other batches; a group with no rows to write still records its entries, on their own.
#[tokio::test]
async fn ledger_entries_commit_with_the_last_batch_of_their_rows() {
    let (db, store) = opened_store().await;
    let client = db.client().await;
    let files = [ledger_entry("/a.jsonl", true), ledger_entry("/b.jsonl", false)];
    let sessions = [SessionLedgerEntry {
        session_id: "ses_1".to_owned(),
        revision: 5,
        importer_version: IMPORTER_VERSION.to_owned(),
        options_key: "key".to_owned(),
    }];
    let ledger = LedgerRecords {
        host: "host",
        tool: "claude",
        files: &files,
        sessions: &sessions,
        ..LedgerRecords::default()
    };
    let rows = memories(2600);
    assert_eq!(
        store.write_recording(&rows, ledger).await.unwrap(),
        counts(2600, 0, 0)
    );
    let recorded = writers(&client, "memtree_ledger").await;
    assert_eq!(recorded.len(), 1, "one transaction records every file");
    assert_eq!(writers(&client, "memtree_ledger_sessions").await, recorded);
    let with_ledger: i64 = query_value(
        &client,
        "select count(*) from memory where xmin::text::int8 = $1",
        &[&recorded[0]],
    )
    .await;
    assert_eq!(with_ledger, 600, "the ledger shares the last batch's transaction");
    let batches = writers(&client, "memory").await;
    assert_eq!(batches.len(), 3);
    assert_eq!(
        batches.last(),
        recorded.first(),
        "the last batch starts after the others"
    );
    let loaded = store.load_ledger("host", "claude").await.unwrap();
    let mut paths: Vec<(&str, bool)> = loaded
        .iter()
        .map(|entry| (entry.path.as_str(), entry.resumable))
        .collect();
    paths.sort();
    assert_eq!(paths, [("/a.jsonl", true), ("/b.jsonl", false)]);
    assert_eq!(
        store.load_session_ledger("host", "claude").await.unwrap(),
        sessions
    );

    // Nothing left to write (every row current, or no rows at all): the entries still commit.
    let current = [ledger_entry("/c.jsonl", false)];
    let empty = [ledger_entry("/d.jsonl", false)];
    for (rows, files) in [(&rows[..], &current), (&[][..], &empty)] {
        let ledger = LedgerRecords {
            files,
            sessions: &[],
            ..ledger
        };
        assert_eq!(
            store.write_recording(rows, ledger).await.unwrap(),
            counts(0, 0, rows.len() as u64)
        );
    }
    assert_eq!(store.load_ledger("host", "claude").await.unwrap().len(), 4);
    assert_eq!(writers(&client, "memory").await, batches, "no row was rewritten");
}

/// A row of `tool`'s session `session`, salvaged from `salvaged_from` when given.
fn session_row(tool: &str, session: &str, message: &str, salvaged_from: Option<&str>) -> PlannedMemory {
    let mut row = memory(message, 0);
    row.id = memtree::id::memory_id(
        Tool::named("claude"),
        &format!("{tool}/{session}"),
        message,
        at(0),
    );
    edit_meta(&mut row, |meta| {
        meta["source_tool"] = json!(tool);
        meta["source_session_id"] = json!(session);
        if let Some(file) = salvaged_from {
            meta["salvaged_from"] = json!(file);
        }
    });
    row
}

#[tokio::test]
async fn a_transcripts_rows_delete_only_the_salvaged_rows_of_their_sessions_in_their_transaction() {
    let (db, store) = opened_store().await;
    let client = db.client().await;
    let history = Some("/home/u/.claude/history.jsonl");
    let salvaged = [
        session_row("claude", "returned", "prompt-1", history),
        session_row("claude", "returned", "prompt-2", history),
        session_row("claude", "still-gone", "prompt-1", history),
        session_row("gemini", "returned", "prompt-1", history),
    ];
    store.write(&salvaged).await.unwrap();
    assert_eq!(
        store
            .transcribed_sessions("claude", &["returned", "still-gone"])
            .await
            .unwrap(),
        Default::default(),
        "salvaged rows are not a transcript's"
    );

    let transcript = [
        session_row("claude", "returned", "m1", None),
        session_row("claude", "returned", "m2", None),
    ];
    let ledger = LedgerRecords {
        host: "host",
        tool: "claude",
        transcribed: &["returned".to_owned()],
        ..LedgerRecords::default()
    };
    let written = store.write_recording(&transcript, ledger).await.unwrap();
    assert_eq!((written.inserted, written.superseded), (2, 2));

    let left: Vec<(String, String, bool)> = query_rows(
        &client,
        "select meta->>'source_tool', meta->>'source_session_id', meta ? 'salvaged_from' \
         from memory order by 1, 2, 3",
        |row| (row.get(0), row.get(1), row.get(2)),
    )
    .await;
    let expected = [
        ("claude", "returned", false),
        ("claude", "returned", false),
        ("claude", "still-gone", true),
        ("gemini", "returned", true),
    ]
    .map(|(tool, session, salvaged)| (tool.to_owned(), session.to_owned(), salvaged));
    assert_eq!(left, expected);
    assert_eq!(
        store
            .transcribed_sessions("claude", &["returned", "still-gone"])
            .await
            .unwrap(),
        ["returned".to_owned()].into_iter().collect()
    );

    // Written again, the transcript deletes nothing more: the write is idempotent.
    let again = LedgerRecords {
        host: "host",
        tool: "claude",
        transcribed: &["returned".to_owned()],
        ..LedgerRecords::default()
    };
    let rewritten = store.write_recording(&transcript, again).await.unwrap();
    assert_eq!((rewritten.unchanged, rewritten.superseded), (2, 0));
}

#[tokio::test]
async fn hostile_schema_names_are_refused_and_custom_schemas_work() {
    let db = common::test_db().await;
    for bad in ["x\"; drop table memory; --", "Public", "a-b", "pg_catalog", ""] {
        let error = Store::open(db.config.clone(), bad).await.err().expect("refused");
        assert!(
            matches!(error, StoreError::InvalidSchema { .. }),
            "{bad:?}: {error}"
        );
    }
    let custom = Store::open(db.config.clone(), "memtree_custom").await.unwrap();
    let other = Store::open(db.config.clone(), "second").await.unwrap();
    assert_eq!(custom.write(&memories(2)).await.unwrap(), counts(2, 0, 0));
    assert_eq!(other.write(&memories(1)).await.unwrap(), counts(1, 0, 0));
    let client = db.client().await;
    assert_eq!(stored(&client, "memtree_custom").await.len(), 2);
    assert_eq!(stored(&client, "second").await.len(), 1);
    let public_memory: bool =
        query_value(&client, "select to_regclass('public.memory') is not null", &[]).await;
    assert!(!public_memory, "nothing lands in public");
}

#[tokio::test]
async fn slugs_persist_and_stay_stable() {
    let (db, store) = opened_store().await;
    let project = |key: &str| ProjectKey {
        key: key.to_owned(),
        remote: None,
    };
    let book = store
        .assign_slugs(&[project("/y/app"), project("/z/tool")])
        .await
        .unwrap();
    assert_eq!(
        (book.get("/y/app"), book.get("/z/tool")),
        (Some("app"), Some("tool"))
    );

    // A later run sees a project that sorts first; the stored one keeps its slug.
    let reopened = Store::open(db.config.clone(), "public").await.unwrap();
    let book = reopened.assign_slugs(&[project("/a/app")]).await.unwrap();
    assert_eq!(book.get("/y/app"), Some("app"));
    assert_eq!(
        book.get("/a/app"),
        Some(project("/a/app").collision_slug(4).as_str())
    );
    assert_eq!(reopened.load_slugs().await.unwrap(), book);
    assert_eq!(book.len(), 3);
}

#[tokio::test]
async fn concurrent_slug_assignment_agrees() {
    let db = common::test_db().await;
    let first = Store::open(db.config.clone(), "public").await.unwrap();
    let second = Store::open(db.config.clone(), "public").await.unwrap();
    let project = |key: &str| ProjectKey {
        key: key.to_owned(),
        remote: Some(format!("git@x:{key}")),
    };
    let left: Vec<ProjectKey> = (0..40).map(|n| project(&format!("/left/{n}/app"))).collect();
    let right: Vec<ProjectKey> = (0..40).map(|n| project(&format!("/right/{n}/app"))).collect();
    let (a, b) = tokio::join!(first.assign_slugs(&left), second.assign_slugs(&right));
    let (a, b) = (a.unwrap(), b.unwrap());
    let stored = first.load_slugs().await.unwrap();
    assert_eq!(stored.len(), 80);
    // Whichever ran second saw the first's slugs: one of the two books is the whole book.
    assert!(a == stored || b == stored);
    for key in left.iter().chain(&right) {
        let slug = stored.get(&key.key).unwrap();
        assert_eq!(a.get(&key.key).unwrap_or(slug), slug);
        assert_eq!(b.get(&key.key).unwrap_or(slug), slug);
    }
    let client = db.client().await;
    let distinct: i64 = query_value(&client, "select count(distinct slug) from memtree_projects", &[]).await;
    assert_eq!(distinct, 80);
}

#[tokio::test]
async fn a_3_mb_message_is_stored_and_searchable() {
    let (db, store) = opened_store().await;
    let mut big = memory("big", 1);
    big.content = (0..400_000).map(|n| format!("w{n} ")).collect();
    assert!(big.content.len() > 3_000_000);
    assert_eq!(
        store.write(std::slice::from_ref(&big)).await.unwrap(),
        counts(1, 0, 0)
    );

    let client = db.client().await;
    let length: i32 = query_value(&client, "select length(content) from memory", &[]).await;
    assert_eq!(length as usize, big.content.len());
    let found: i64 = query_value(
        &client,
        "select count(*) from memory where to_tsvector('english', left(content, 100000)) @@ to_tsquery('english', 'w5')",
        &[],
    )
    .await;
    assert_eq!(found, 1);
    // The bound matters: indexing the whole content would have failed this row's batch.
    let unbounded = client
        .query_one("select to_tsvector('english', content) from memory", &[])
        .await
        .unwrap_err();
    assert!(
        unbounded
            .as_db_error()
            .unwrap()
            .message()
            .contains("too long for tsvector"),
        "{unbounded:?}"
    );
}

#[tokio::test]
async fn hostile_strings_round_trip() {
    let (db, store) = opened_store().await;
    let hostile = "'; drop table memory; -- $1 $$ \\x00 \\ \" \u{202e}é 🦀 \r\n\t";
    let mut row = memory("hostile", 2);
    row.content = format!("{hostile} and a NUL: \0.");
    edit_meta(&mut row, |meta| meta["source_session_title"] = json!(hostile));
    edit_meta(&mut row, |meta| {
        meta[hostile] = json!([hostile, {"nested": "\0"}])
    });
    store.write(std::slice::from_ref(&row)).await.unwrap();

    let client = db.client().await;
    let (content, meta): (String, Value) = client
        .query_one("select content, meta from memory where id = $1", &[&row.id])
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(
        content,
        format!("{hostile} and a NUL: \u{fffd}."),
        "NUL, which PostgreSQL cannot store, is replaced"
    );
    let mut expected = meta_of(&row);
    expected[hostile] = json!([hostile, {"nested": "\u{fffd}"}]);
    assert_eq!(meta, expected);
    let tables: i64 = query_value(
        &client,
        "select count(*) from pg_tables where tablename = 'memory'",
        &[],
    )
    .await;
    assert_eq!(tables, 1);
}

#[tokio::test]
async fn trees_answer_ltree_queries() {
    let (db, store) = opened_store().await;
    let mut rows = memories(3);
    rows[2].tree = "codex.other.sessions".to_owned();
    store.write(&rows).await.unwrap();
    let client = db.client().await;
    let under: i64 = query_value(
        &client,
        "select count(*) from memory where tree <@ 'claude.proj'",
        &[],
    )
    .await;
    assert_eq!(under, 2);
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error() {
    let mut config = tokio_postgres::Config::new();
    config
        .host_path("/nonexistent-memtree-socket-dir")
        .port(5432)
        .user("nobody")
        .password("hunter2")
        .dbname("x");
    let error = Store::open(config, "public")
        .await
        .err()
        .expect("no server there");
    let message = error.to_string();
    assert!(matches!(error, StoreError::Connect { .. }), "{message}");
    assert!(
        message.contains("/nonexistent-memtree-socket-dir") && message.contains("***"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}
