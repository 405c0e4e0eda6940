//! Schema migrations: the ordered SQL files of `sql/`, embedded in the binary and applied once.
//!
//! Each migration runs in its own transaction together with its row in
//! `<schema>.memtree_migrations`, under a transaction-level advisory lock keyed by the schema, so
//! concurrent runs apply each file exactly once. Two schemas migrating at once in one database can
//! still race on `create extension`: the loser's unique violation in the catalog is transient, and
//! `apply` is run again (`Store::open`). An applied file whose text changed is refused: the
//! database would no longer match what the code expects.

use sha2::{Digest, Sha256};
use tokio_postgres::{Client, GenericClient};

use crate::failpoint;

use super::{retry, SchemaName, StoreError};

/// One embedded migration file.
pub(crate) struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub file: &'static str,
    pub sql: &'static str,
}

/// Every migration, in the order they apply. Append only: never edit or reorder an entry.
pub(crate) const MEMORY_VERSION: i32 = 1;
pub(crate) const PROJECTS_VERSION: i32 = 2;
pub(crate) const LEDGER_VERSION: i32 = 3;
pub(crate) const CHECKPOINTS_VERSION: i32 = 4;

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: MEMORY_VERSION,
        name: "memory",
        file: "0001_memory.sql",
        sql: include_str!("../../sql/0001_memory.sql"),
    },
    Migration {
        version: PROJECTS_VERSION,
        name: "projects",
        file: "0002_projects.sql",
        sql: include_str!("../../sql/0002_projects.sql"),
    },
    Migration {
        version: LEDGER_VERSION,
        name: "ledger",
        file: "0003_ledger.sql",
        sql: include_str!("../../sql/0003_ledger.sql"),
    },
    Migration {
        version: CHECKPOINTS_VERSION,
        name: "ledger_checkpoints",
        file: "0004_ledger_checkpoints.sql",
        sql: include_str!("../../sql/0004_ledger_checkpoints.sql"),
    },
];

/// First key of the advisory lock serialising migrations (the second is the schema's hash).
const MIGRATION_LOCK: i32 = 0x6d74_6d01;

fn checksum(sql: &str) -> Vec<u8> {
    Sha256::digest(sql.as_bytes()).to_vec()
}

/// Applies the pending migrations to `schema`, creating it if needed.
pub(crate) async fn apply(client: &mut Client, schema: &SchemaName) -> Result<(), StoreError> {
    let quoted = schema.quoted();
    let setup = client
        .transaction()
        .await
        .map_err(StoreError::query("starting the migrations"))?;
    lock(&setup, schema).await?;
    setup
        .batch_execute(&format!(
            "create schema if not exists {quoted};
             create table if not exists {quoted}.memtree_migrations (
                 version integer primary key,
                 name text not null,
                 checksum bytea not null,
                 applied_at timestamptz not null default now()
             );"
        ))
        .await
        .map_err(StoreError::query("creating the schema and its migration history"))?;
    setup
        .commit()
        .await
        .map_err(StoreError::query("creating the migration history"))?;

    for migration in MIGRATIONS {
        let transaction = client
            .transaction()
            .await
            .map_err(StoreError::query("starting a migration"))?;
        lock(&transaction, schema).await?;
        // Read under the lock: another run may have applied this migration meanwhile.
        if check_history(&transaction, schema)
            .await?
            .contains(&migration.version)
        {
            continue; // dropping the transaction rolls it back
        }
        let failed = |error: tokio_postgres::Error| {
            let detail = super::pg_detail(&error);
            if retry::is_transient(&error) || retry::is_catalog_race(&error) {
                return StoreError::Transient {
                    action: "applying a migration",
                    detail: format!(
                        "migration {} (`sql/{}`): {detail}",
                        migration.version, migration.file
                    ),
                };
            }
            StoreError::Migration {
                version: migration.version,
                file: migration.file,
                schema: schema.as_str().to_owned(),
                detail,
            }
        };
        // The ltree type must resolve for `create table`; the extension lives where it was
        // installed (public when 0001 installs it).
        let ltree_schema: String = transaction
            .query_one(
                "select coalesce((select quote_ident(n.nspname) from pg_extension e \
                 join pg_namespace n on n.oid = e.extnamespace where e.extname = 'ltree'), 'public')",
                &[],
            )
            .await
            .map_err(failed)?
            .get(0);
        transaction
            .batch_execute(&format!("set local search_path to {quoted}, {ltree_schema}"))
            .await
            .map_err(failed)?;
        transaction.batch_execute(migration.sql).await.map_err(failed)?;
        transaction
            .execute(
                &format!(
                    "insert into {quoted}.memtree_migrations (version, name, checksum) values ($1, $2, $3)"
                ),
                &[&migration.version, &migration.name, &checksum(migration.sql)],
            )
            .await
            .map_err(failed)?;
        failpoint::hit("migrate.before_commit");
        transaction.commit().await.map_err(failed)?;
        failpoint::hit("migrate.after_commit");
        tracing::info!(
            version = migration.version,
            file = migration.file,
            schema = schema.as_str(),
            "applied migration"
        );
    }
    Ok(())
}

/// Read-only check for `--dry-run`: the versions applied in `schema` (each checked against its embedded file), or `None` when
/// memtree never migrated it. An error when its history disagrees with the embedded files.
pub(crate) async fn verify_existing(
    client: &Client,
    schema: &SchemaName,
) -> Result<Option<Vec<i32>>, StoreError> {
    let history_exists: bool = client
        .query_one(
            "select to_regclass($1) is not null",
            &[&format!("{}.memtree_migrations", schema.quoted())],
        )
        .await
        .map_err(StoreError::query("looking for the migration history"))?
        .get(0);
    if !history_exists {
        return Ok(None);
    }
    check_history(client, schema).await.map(Some)
}

async fn lock(client: &impl GenericClient, schema: &SchemaName) -> Result<(), StoreError> {
    client
        .execute(
            "select pg_advisory_xact_lock($1, hashtext($2))",
            &[&MIGRATION_LOCK, &schema.as_str()],
        )
        .await
        .map_err(StoreError::query("waiting for the migration lock"))?;
    Ok(())
}

/// The applied versions, after checking each against the embedded file of the same version.
async fn check_history(client: &impl GenericClient, schema: &SchemaName) -> Result<Vec<i32>, StoreError> {
    let rows = client
        .query(
            &format!(
                "select version, name, checksum from {}.memtree_migrations order by version",
                schema.quoted()
            ),
            &[],
        )
        .await
        .map_err(StoreError::query("reading the migration history"))?;
    let mut applied = Vec::with_capacity(rows.len());
    for row in rows {
        let version: i32 = row.get(0);
        let Some(migration) = MIGRATIONS.iter().find(|migration| migration.version == version) else {
            return Err(StoreError::MigrationUnknown {
                version,
                name: row.get(1),
                schema: schema.as_str().to_owned(),
            });
        };
        if row.get::<_, &[u8]>(2) != checksum(migration.sql).as_slice() {
            return Err(StoreError::MigrationChanged {
                version,
                file: migration.file,
                schema: schema.as_str().to_owned(),
            });
        }
        applied.push(version);
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_and_named_after_their_files() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, index as i32 + 1);
            assert_eq!(
                migration.file,
                format!("{:04}_{}.sql", migration.version, migration.name)
            );
        }
    }
}
