//! Schema migrations: the ordered SQL files of `sql/`, embedded in the binary and applied once.
//!
//! Each migration runs in its own transaction together with its row in
//! `<schema>.memtree_migrations`, under a transaction-level advisory lock keyed by the schema, so
//! concurrent runs apply each file exactly once. Two schemas migrating at once in one database can
//! still race on `create extension`: the loser's unique violation in the catalog is transient, and
//! `apply` is run again (`Store::open`). An applied file whose text changed is refused: the
//! database would no longer match what the code expects.
//!
//! Hosted servers often give memtree a role that may not create extensions, schemas or tables.
//! So `apply` changes nothing, and needs no more than reading the history, when every migration
//! is applied: a role with SELECT, INSERT and UPDATE on memtree's tables can import. When
//! something is to be done that the role may not do, or a table is not what memtree made, it
//! refuses before changing anything, with the statements an administrator must run
//! ([`StoreError::NeedsAdmin`]).

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use tokio_postgres::types::Type;
use tokio_postgres::{Client, GenericClient, IsolationLevel};

use crate::failpoint;

pub(crate) use super::migrations::*;
use super::{retry, SchemaName, StoreError};

/// The tables an import writes, besides the history it only reads.
const DATA_TABLES: &[&str] = &[
    "memory",
    "memtree_projects",
    "memtree_ledger",
    "memtree_ledger_sessions",
    "memtree_import_runs",
];
const HISTORY_TABLE: &str = "memtree_migrations";

/// First key of the advisory lock serialising migrations (the second is the schema's hash).
const MIGRATION_LOCK: i32 = 0x6d74_6d01;

fn checksum(sql: &str) -> Vec<u8> {
    Sha256::digest(sql.as_bytes()).to_vec()
}

/// Applies the pending migrations to `schema`, creating it if needed.
pub(crate) async fn apply(client: &mut Client, schema: &SchemaName) -> Result<(), StoreError> {
    {
        // The checks read one snapshot: a run migrating meanwhile is seen before or after a
        // migration, never between its table and its history row.
        let snapshot = catalog_snapshot(client).await?;
        let applied = verify_in(&snapshot, schema, Access::Write).await?;
        if let Some(applied) = &applied {
            if MIGRATIONS
                .iter()
                .all(|migration| applied.contains(&migration.version))
            {
                return Ok(());
            }
        }
        check_can_migrate(&snapshot, schema, applied.as_deref().unwrap_or_default()).await?;
    }

    let quoted = schema.quoted();
    let setup = client
        .transaction()
        .await
        .map_err(StoreError::query("starting the migrations"))?;
    lock(&setup, schema).await?;
    // `if not exists` alone would not do: PostgreSQL checks the right to create before it
    // checks what exists, and a role may own the schema without the right to create schemas.
    let (has_schema, has_history) = find_schema(&setup, schema).await?;
    if !has_schema {
        setup
            .batch_execute(&format!("create schema {quoted}"))
            .await
            .map_err(StoreError::query("creating the schema"))?;
    }
    if !has_history {
        setup
            .batch_execute(&format!(
                "create table if not exists {quoted}.memtree_migrations (
                     version integer primary key,
                     name text not null,
                     checksum bytea not null,
                     applied_at timestamptz not null default now()
                 );"
            ))
            .await
            .map_err(StoreError::query("creating the migration history"))?;
    }
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
            .query_typed_one(
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
            .execute_typed(
                &format!(
                    "insert into {quoted}.memtree_migrations (version, name, checksum) values ($1, $2, $3)"
                ),
                &[
                    (&migration.version, Type::INT4),
                    (&migration.name, Type::TEXT),
                    (&checksum(migration.sql), Type::BYTEA),
                ],
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

/// What a run does with memtree's tables, and so the privileges it needs on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// A dry run.
    Read,
    /// An import.
    Write,
}

/// The versions applied in `schema` (each checked against its embedded file, and the tables
/// against the shape the migrations gave them), or `None` when memtree never migrated it. An
/// error when the history disagrees with the embedded files, when the tables are not what the
/// migrations made, or when this role lacks the privileges `access` needs.
pub(crate) async fn verify_existing(
    client: &mut Client,
    schema: &SchemaName,
    access: Access,
) -> Result<Option<Vec<i32>>, StoreError> {
    verify_in(&catalog_snapshot(client).await?, schema, access).await
}

/// A read-only transaction whose every catalog read sees one snapshot: another run migrating
/// meanwhile is never seen half-way (a table of a migration whose history row was read before
/// that migration committed).
async fn catalog_snapshot(client: &mut Client) -> Result<tokio_postgres::Transaction<'_>, StoreError> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(StoreError::query("looking for the migration history"))
}

/// [`verify_existing`], reading through `snapshot`.
async fn verify_in(
    snapshot: &impl GenericClient,
    schema: &SchemaName,
    access: Access,
) -> Result<Option<Vec<i32>>, StoreError> {
    let (_, history_exists) = find_schema(snapshot, schema).await?;
    if !history_exists {
        return Ok(None);
    }
    check_access(snapshot, schema, access).await?;
    let applied = check_history(snapshot, schema).await?;
    let problems = shape_problems(snapshot, schema, &applied).await?;
    if !problems.is_empty() {
        return Err(needs_admin(snapshot, problems).await?);
    }
    Ok(Some(applied))
}

/// Whether the schema and its migration history exist; read from the catalog, which needs no
/// privilege on the schema.
async fn find_schema(client: &impl GenericClient, schema: &SchemaName) -> Result<(bool, bool), StoreError> {
    let row = client
        .query_typed_one(
            "select exists (select 1 from pg_namespace where nspname = $1), \
                    exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                            where n.nspname = $1 and c.relname = $2)",
            &[(&schema.as_str(), Type::TEXT), (&HISTORY_TABLE, Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("looking for the migration history"))?;
    Ok((row.get(0), row.get(1)))
}

/// What an administrator must do, and why.
struct Problem {
    why: String,
    statements: Vec<String>,
}

async fn needs_admin(client: &impl GenericClient, problems: Vec<Problem>) -> Result<StoreError, StoreError> {
    let row = client
        .query_typed_one("select current_user::text, current_database()::text", &[])
        .await
        .map_err(StoreError::query("naming the role and database"))?;
    let mut statements: Vec<String> = Vec::new();
    for problem in &problems {
        // Several problems may need the same grant, given once; a migration's transaction
        // (`begin;` ... `commit;`) is given whole for each migration.
        for statement in &problem.statements {
            if !(statement.starts_with("grant ") && statements.contains(statement)) {
                statements.push(statement.clone());
            }
        }
    }
    Ok(StoreError::NeedsAdmin {
        role: row.get(0),
        database: row.get(1),
        problem: problems
            .iter()
            .map(|problem| problem.why.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        statements,
    })
}

/// `"name"`, as PostgreSQL's `quote_ident` would quote any name.
pub(super) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The privileges a run needs on the tables of an applied schema: USAGE on the schema, SELECT on
/// the history, and SELECT (a dry run) or SELECT, INSERT and UPDATE (an import) on the rest.
async fn check_access(
    client: &impl GenericClient,
    schema: &SchemaName,
    access: Access,
) -> Result<(), StoreError> {
    let writes = access == Access::Write;
    let row = client
        .query_typed_one(
            "select current_user::text, \
                    coalesce((select has_schema_privilege(oid, 'USAGE') from pg_namespace where nspname = $1), false), \
                    array(select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                          where n.nspname = $1 and c.relname = any($2) \
                            and not (has_table_privilege(c.oid, 'SELECT') \
                                     and (not $3 or c.relname = $4 \
                                          or (has_table_privilege(c.oid, 'INSERT') and has_table_privilege(c.oid, 'UPDATE')))) \
                          order by 1)",
            &[
                (&schema.as_str(), Type::TEXT),
                (&[DATA_TABLES, &[HISTORY_TABLE]].concat(), Type::TEXT_ARRAY),
                (&writes, Type::BOOL),
                (&HISTORY_TABLE, Type::TEXT),
            ],
        )
        .await
        .map_err(StoreError::query("checking the role's privileges"))?;
    let role: String = row.get(0);
    let usage: bool = row.get(1);
    let lacking: Vec<String> = row.get(2);
    let mut problems = Vec::new();
    let quoted_role = ident(&role);
    if !usage {
        problems.push(Problem {
            why: format!("role {quoted_role} may not use schema \"{}\"", schema.as_str()),
            statements: vec![format!(
                "grant usage on schema {} to {quoted_role};",
                schema.quoted()
            )],
        });
    }
    let table = |name: &str| format!("{}.{}", schema.quoted(), ident(name));
    let history = lacking.iter().any(|name| name == HISTORY_TABLE);
    let data: Vec<&String> = lacking.iter().filter(|name| *name != HISTORY_TABLE).collect();
    if history {
        problems.push(Problem {
            why: format!("role {quoted_role} may not read memtree's migration history"),
            statements: vec![format!(
                "grant select on {} to {quoted_role};",
                table(HISTORY_TABLE)
            )],
        });
    }
    if !data.is_empty() {
        let privileges = if writes {
            "select, insert, update"
        } else {
            "select"
        };
        problems.push(Problem {
            why: format!(
                "role {quoted_role} lacks {} on {}",
                privileges.to_uppercase(),
                data.iter().map(|name| table(name)).collect::<Vec<_>>().join(", ")
            ),
            statements: vec![format!(
                "grant {privileges} on {} to {quoted_role};",
                data.iter().map(|name| table(name)).collect::<Vec<_>>().join(", ")
            )],
        });
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(needs_admin(client, problems).await?)
}

/// The tables of `schema` that memtree knows, with their columns' types.
async fn tables(
    client: &impl GenericClient,
    schema: &SchemaName,
) -> Result<HashMap<String, Vec<(String, String)>>, StoreError> {
    let names: Vec<&str> = MIGRATIONS
        .iter()
        .flat_map(|migration| migration.shape.iter().map(|(table, _)| *table))
        .collect();
    let rows = client
        .query_typed(
            "select c.relname::text, a.attname::text, t.typname::text \
             from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped \
             join pg_type t on t.oid = a.atttypid \
             where n.nspname = $1 and c.relname = any($2) order by c.relname, a.attnum",
            &[(&schema.as_str(), Type::TEXT), (&names, Type::TEXT_ARRAY)],
        )
        .await
        .map_err(StoreError::query("reading the shape of memtree's tables"))?;
    let mut tables: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for row in rows {
        tables
            .entry(row.get(0))
            .or_default()
            .push((row.get(1), row.get(2)));
    }
    Ok(tables)
}

/// Where the tables differ from what the applied migrations made, or a table a pending
/// migration would create already exists: memtree would write into something else, or fail
/// halfway through a migration.
async fn shape_problems(
    client: &impl GenericClient,
    schema: &SchemaName,
    applied: &[i32],
) -> Result<Vec<Problem>, StoreError> {
    let found = tables(client, schema).await?;
    let mut created = Vec::new();
    let mut problems = Vec::new();
    for migration in MIGRATIONS {
        let is_applied = applied.contains(&migration.version);
        for (table, columns) in migration.shape {
            let creates = !created.contains(table);
            created.push(*table);
            let qualified = format!("{}.{}", schema.quoted(), ident(table));
            let existing = found.get(*table);
            if !is_applied {
                if let (true, Some(existing)) = (creates, existing) {
                    let described: Vec<String> = existing
                        .iter()
                        .map(|(name, kind)| format!("{name} {kind}"))
                        .collect();
                    problems.push(Problem {
                        why: format!(
                            "table {qualified} exists, but memtree did not create it (its columns: {}), and migration {} (`sql/{}`) must",
                            described.join(", "),
                            migration.version,
                            migration.file
                        ),
                        statements: vec![format!("alter table {qualified} rename to {};", ident(&format!("{table}_before_memtree")))],
                    });
                }
                continue;
            }
            let Some(existing) = existing else {
                problems.push(Problem {
                    why: format!(
                        "table {qualified}, which migration {} created, is missing",
                        migration.version
                    ),
                    statements: vec![format!(
                        "delete from {}.memtree_migrations where version = {};",
                        schema.quoted(),
                        migration.version
                    )],
                });
                continue;
            };
            let mut differences = Vec::new();
            let mut statements = Vec::new();
            for (column, kind) in *columns {
                match existing.iter().find(|(name, _)| name == column) {
                    Some((_, found)) if found == kind => {}
                    Some((_, found)) => {
                        differences.push(format!("column {column} is {found}, not {kind}"));
                        statements.push(format!(
                            "alter table {qualified} alter column {} type {kind} using {}::{kind};",
                            ident(column),
                            ident(column)
                        ));
                    }
                    None => {
                        differences.push(format!("column {column} is missing"));
                        statements.push(format!(
                            "alter table {qualified} add column {} {kind};",
                            ident(column)
                        ));
                    }
                }
            }
            if !differences.is_empty() {
                problems.push(Problem {
                    why: format!(
                        "table {qualified} does not have the shape memtree's migrations gave it ({})",
                        differences.join(", ")
                    ),
                    statements,
                });
            }
        }
    }
    Ok(problems)
}

/// Before applying `pending` migrations: that nothing stands in their way, and that this role
/// may do what they do (create the schema, the ltree extension, tables). Everything lacking is
/// reported at once.
async fn check_can_migrate(
    client: &impl GenericClient,
    schema: &SchemaName,
    applied: &[i32],
) -> Result<(), StoreError> {
    let mut problems = shape_problems(client, schema, applied).await?;
    let row = client
        .query_typed_one(
            "select current_user::text, \
                    coalesce((select rolsuper from pg_roles where rolname = current_user), false), \
                    has_database_privilege(current_database(), 'CREATE'), \
                    n.oid is not null, \
                    n.oid is not null and has_schema_privilege(n.oid, 'CREATE'), \
                    exists (select 1 from pg_extension where extname = 'ltree'), \
                    exists (select 1 from pg_available_extensions where name = 'ltree'), \
                    coalesce((select v.trusted from pg_available_extension_versions v \
                              join pg_available_extensions a on a.name = v.name and a.default_version = v.version \
                              where v.name = 'ltree'), false) \
             from (select 1) one left join pg_namespace n on n.nspname = $1",
            &[(&schema.as_str(), Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("checking the role's privileges"))?;
    let role = ident(&row.get::<_, String>(0));
    let superuser: bool = row.get(1);
    let may_create_schemas: bool = superuser || row.get::<_, bool>(2);
    let schema_exists: bool = row.get(3);
    let may_create_tables: bool = superuser || row.get::<_, bool>(4);
    let (has_ltree, ltree_available, ltree_trusted): (bool, bool, bool) =
        (row.get(5), row.get(6), row.get(7));

    if !schema_exists && !may_create_schemas {
        problems.push(Problem {
            why: format!(
                "schema {} does not exist, and role {role} may not create it",
                schema.quoted()
            ),
            statements: vec![format!("create schema {} authorization {role};", schema.quoted())],
        });
    } else if schema_exists && !may_create_tables {
        problems.push(Problem {
            why: format!("role {role} may not create tables in schema {}", schema.quoted()),
            statements: vec![format!(
                "grant usage, create on schema {} to {role};",
                schema.quoted()
            )],
        });
    }
    problems.extend(not_owned(client, schema, applied).await?);
    problems.extend(may_not_record(client, schema).await?);
    if !applied.contains(&MEMORY_VERSION) && !has_ltree {
        let statement = "create extension if not exists ltree schema public;".to_owned();
        if !ltree_available {
            problems.push(Problem {
                why: "the server has no ltree extension to install: an administrator of the server must first install PostgreSQL's contrib modules on it (Debian and Ubuntu: the postgresql-contrib package)".to_owned(),
                statements: vec![statement],
            });
        } else if !(superuser || (ltree_trusted && may_create_schemas)) {
            problems.push(Problem {
                why: format!(
                    "the ltree extension is not installed, and role {role} may not install it (only a superuser{} may)",
                    if ltree_trusted { " or a role with CREATE on the database" } else { "" }
                ),
                statements: vec![statement],
            });
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(needs_admin(client, problems).await?)
}

/// The pending migrations that alter a table this role does not own (only an owner may): each
/// is a problem whose statements apply it by hand, exactly as `apply` would.
async fn not_owned(
    client: &impl GenericClient,
    schema: &SchemaName,
    applied: &[i32],
) -> Result<Vec<Problem>, StoreError> {
    let pending: Vec<&Migration> = MIGRATIONS
        .iter()
        .filter(|migration| !applied.contains(&migration.version) && !migration.alters.is_empty())
        .collect();
    let tables: Vec<&str> = pending
        .iter()
        .flat_map(|migration| migration.alters.iter().copied())
        .collect();
    if tables.is_empty() {
        return Ok(Vec::new());
    }
    let rows = client
        .query_typed(
            "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where n.nspname = $1 and c.relname = any($2) and not pg_has_role(c.relowner, 'USAGE')",
            &[(&schema.as_str(), Type::TEXT), (&tables, Type::TEXT_ARRAY)],
        )
        .await
        .map_err(StoreError::query("checking who owns memtree's tables"))?;
    let foreign: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    let role: String = client
        .query_typed_one("select current_user::text", &[])
        .await
        .map_err(StoreError::query("naming the role"))?
        .get(0);
    Ok(pending
        .into_iter()
        .filter(|migration| {
            migration
                .alters
                .iter()
                .any(|table| foreign.iter().any(|name| name == table))
        })
        .map(|migration| Problem {
            why: format!(
                "migration {} (`sql/{}`) changes {}, which role {} does not own",
                migration.version,
                migration.file,
                migration
                    .alters
                    .iter()
                    .map(|table| format!("{}.{}", schema.quoted(), ident(table)))
                    .collect::<Vec<_>>()
                    .join(", "),
                ident(&role)
            ),
            statements: manual_statements(migration, schema),
        })
        .collect())
}

/// When the migration history exists but this role may not add to it: applying a migration
/// records it there.
async fn may_not_record(
    client: &impl GenericClient,
    schema: &SchemaName,
) -> Result<Option<Problem>, StoreError> {
    let row = client
        .query_typed_one(
            "select current_user::text, coalesce((select not has_table_privilege(c.oid, 'INSERT') \
                 from pg_class c join pg_namespace n on n.oid = c.relnamespace \
                 where n.nspname = $1 and c.relname = $2), false)",
            &[(&schema.as_str(), Type::TEXT), (&HISTORY_TABLE, Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("checking the role's privileges"))?;
    let role = ident(&row.get::<_, String>(0));
    Ok(row.get::<_, bool>(1).then(|| Problem {
        why: format!("role {role} may not record migrations in memtree's migration history"),
        statements: vec![format!(
            "grant insert on {}.{} to {role};",
            schema.quoted(),
            ident(HISTORY_TABLE)
        )],
    }))
}

/// What `apply` runs for `migration`, as statements for an administrator: in one transaction,
/// with the search path it sets, the file without its comments, and the history row it adds
/// (with the file's checksum).
fn manual_statements(migration: &Migration, schema: &SchemaName) -> Vec<String> {
    let mut statements = vec![
        "begin;".to_owned(),
        format!("set local search_path to {}, public;", schema.quoted()),
    ];
    // One statement, as `apply` sends it: the file may hold a `do` block.
    let code: String = migration
        .sql
        .lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    statements.push(code.replace("( ", "(").replace(" )", ")"));
    let hex: String = checksum(migration.sql)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    statements.push(format!(
        "insert into {}.memtree_migrations (version, name, checksum) values ({}, '{}', '\\x{hex}');",
        schema.quoted(),
        migration.version,
        migration.name
    ));
    statements.push("commit;".to_owned());
    statements
}

async fn lock(client: &impl GenericClient, schema: &SchemaName) -> Result<(), StoreError> {
    client
        .execute_typed(
            "select pg_advisory_xact_lock($1, hashtext($2))",
            &[(&MIGRATION_LOCK, Type::INT4), (&schema.as_str(), Type::TEXT)],
        )
        .await
        .map_err(StoreError::query("waiting for the migration lock"))?;
    Ok(())
}

/// The applied versions, after checking each against the embedded file of the same version.
async fn check_history(client: &impl GenericClient, schema: &SchemaName) -> Result<Vec<i32>, StoreError> {
    let rows = client
        .query_typed(
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

    #[test]
    fn each_table_a_migration_shapes_is_named_in_its_file() {
        for migration in MIGRATIONS {
            for (table, columns) in migration.shape {
                assert!(migration.sql.contains(table), "{} {table}", migration.file);
                for (column, _) in *columns {
                    assert!(
                        migration.sql.contains(column),
                        "{} {table}.{column}",
                        migration.file
                    );
                }
            }
        }
    }
}
