//! The PostgreSQL store: which database a run opens, connection pool, migrations, the slug book, classification and writes.
//!
//! The store never reads transcripts: it receives planned rows and writes them. Every value goes
//! to the server as a bound parameter; the only text formatted into SQL is the schema name, which
//! is validated ([`SchemaName`]) and always quoted.

mod browse;
mod connect;
mod conninfo;
mod error;
mod filters;
mod ledger;
mod migrate;
mod migrations;
mod open;
mod passfile;
mod retry;
mod runs;
mod salvage;
mod search;
mod slugs;
pub mod target;
mod tls;
mod write;

use deadpool::managed::Pool;
use serde::Serialize;

pub use browse::{ProjectCounts, SessionSummary, StoredMessage};
pub use connect::{ConnectSettings, Endpoint, Password, PasswordSource, SessionAttrs};
use error::pg_detail;
pub use error::StoreError;
pub use filters::Filters;
pub use ledger::LedgerRecords;
pub use open::{open_for_reading, open_for_run, Opened};
pub use runs::{LastRun, RunOutcome};
pub use search::{SearchHit, SearchRequest, SearchResults, CANDIDATES};
pub use tls::{RootCerts, SslMode, TlsSettings};

/// Connections per store: enough to overlap one batch's network time with another's work
/// without loading a shared server.
const POOL_SIZE: usize = 2;

/// A validated schema name, safe to quote into SQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaName(String);

impl SchemaName {
    /// Accepts `[a-z_][a-z0-9_]*` of at most 63 bytes (PostgreSQL's identifier limit), except
    /// the `pg_` prefix that PostgreSQL reserves.
    pub fn parse(name: &str) -> Result<SchemaName, StoreError> {
        let invalid = |reason| StoreError::InvalidSchema {
            schema: name.to_owned(),
            reason,
        };
        let mut bytes = name.bytes();
        match bytes.next() {
            None => return Err(invalid("it is empty")),
            Some(first) if !(first.is_ascii_lowercase() || first == b'_') => {
                return Err(invalid("it must start with a lowercase letter or `_`"))
            }
            Some(_) => {}
        }
        if !bytes.all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_') {
            return Err(invalid("it may contain only lowercase letters, digits and `_`"));
        }
        if name.len() > 63 {
            return Err(invalid("it is longer than 63 bytes"));
        }
        if name.starts_with("pg_") {
            return Err(invalid("the `pg_` prefix is reserved by PostgreSQL"));
        }
        Ok(SchemaName(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as a quoted SQL identifier (validation guarantees it holds no quote).
    pub fn quoted(&self) -> String {
        format!("\"{}\"", self.0)
    }
}

/// How many rows a write inserted, updated in place, or left as they were.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct WriteCounts {
    pub inserted: u64,
    pub updated: u64,
    /// Rows already current, plus repeated ids within one call (only the first is written).
    pub unchanged: u64,
    /// Salvaged rows deleted because their session's transcript rows were written.
    #[serde(skip_serializing_if = "is_zero")]
    pub superseded: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl std::ops::Add for WriteCounts {
    type Output = WriteCounts;

    fn add(self, other: WriteCounts) -> WriteCounts {
        WriteCounts {
            inserted: self.inserted + other.inserted,
            updated: self.updated + other.updated,
            unchanged: self.unchanged + other.unchanged,
            superseded: self.superseded + other.superseded,
        }
    }
}

impl std::ops::AddAssign for WriteCounts {
    fn add_assign(&mut self, other: WriteCounts) {
        *self = *self + other;
    }
}

/// A pool of connections to one database, bound to one schema. Clones share the pool.
#[derive(Clone)]
pub struct Store {
    pool: Pool<connect::Connector>,
    /// The database, described without its password, for error messages.
    target: String,
    schema: SchemaName,
    /// The quoted name of the ltree type, qualified with the schema the extension lives in, so
    /// casts work whatever the connection's search_path.
    ltree_type: String,
    /// Whether the ledger table exists (a dry run may meet a database migrated before it).
    has_ledger: bool,
    /// Whether the ledger has its checkpoint columns (the same).
    has_checkpoints: bool,
    /// Whether every migration is applied (a store opened as it is may lack the latest).
    migrated: bool,
}

impl Store {
    /// Connects and applies pending migrations.
    pub async fn open(settings: impl Into<ConnectSettings>, schema: &str) -> Result<Store, StoreError> {
        let schema = SchemaName::parse(schema)?;
        let (pool, target) = connect(settings.into())?;
        // A server that cannot be reached fails the run at once; one lost during the migrations,
        // or a race with another schema's migrations, is retried (the migrations are idempotent).
        drop(pool.get().await.map_err(pool_error)?);
        retry::run(|| async { migrate::apply(&mut *pool.get().await.map_err(pool_error)?, &schema).await })
            .await?;
        let client = pool.get().await.map_err(pool_error)?;
        let ltree_type = ltree_type(&client).await?.ok_or_else(|| StoreError::Query {
            action: "finding the ltree extension",
            detail: "the extension is missing after the migrations created it".to_owned(),
        })?;
        drop(client);
        Ok(Store {
            pool,
            target,
            schema,
            ltree_type,
            has_ledger: true,
            has_checkpoints: true,
            migrated: true,
        })
    }

    /// Connects without creating or migrating anything (for --dry-run); `Ok(None)` when the
    /// schema has no memtree tables yet (then everything would be an insert).
    pub async fn open_existing(
        settings: impl Into<ConnectSettings>,
        schema: &str,
    ) -> Result<Option<Store>, StoreError> {
        let schema = SchemaName::parse(schema)?;
        let (pool, target) = connect(settings.into())?;
        let mut client = pool.get().await.map_err(pool_error)?;
        let applied = migrate::verify_existing(&mut client, &schema, migrate::Access::Read)
            .await?
            .unwrap_or_default();
        // Classification needs the memory table and the slug book; the ledger is optional.
        if !(applied.contains(&migrate::MEMORY_VERSION) && applied.contains(&migrate::PROJECTS_VERSION)) {
            return Ok(None);
        }
        let has_ledger = applied.contains(&migrate::LEDGER_VERSION);
        let has_checkpoints = applied.contains(&migrate::CHECKPOINTS_VERSION);
        let migrated = migrate::MIGRATIONS
            .iter()
            .all(|migration| applied.contains(&migration.version));
        let Some(ltree_type) = ltree_type(&client).await? else {
            return Ok(None);
        };
        drop(client);
        Ok(Some(Store {
            pool,
            target,
            schema,
            ltree_type,
            has_ledger,
            has_checkpoints,
            migrated,
        }))
    }

    pub fn schema(&self) -> &SchemaName {
        &self.schema
    }

    /// `<schema>.<table>`, quoted.
    fn table(&self, table: &str) -> String {
        format!("{}.{table}", self.schema.quoted())
    }

    async fn client(&self) -> Result<deadpool::managed::Object<connect::Connector>, StoreError> {
        self.pool.get().await.map_err(pool_error)
    }

    /// The database, described without its password.
    pub fn target(&self) -> &str {
        &self.target
    }
}

/// Builds the pool (connections open on first use) and describes its target.
fn connect(settings: ConnectSettings) -> Result<(Pool<connect::Connector>, String), StoreError> {
    let connector = connect::Connector::new(settings)?;
    let target = connector.target().to_owned();
    let pool = Pool::builder(connector)
        .max_size(POOL_SIZE)
        .build()
        .map_err(|error| StoreError::Query {
            action: "creating the connection pool",
            detail: error.to_string(),
        })?;
    Ok((pool, target))
}

/// A connection the pool could not give: the connector's own error, or the pool's.
fn pool_error(error: deadpool::managed::PoolError<StoreError>) -> StoreError {
    match error {
        deadpool::managed::PoolError::Backend(error) => error,
        other => StoreError::Query {
            action: "taking a connection from the pool",
            detail: other.to_string(),
        },
    }
}

/// The quoted, schema-qualified ltree type, or `None` when the extension is not installed.
async fn ltree_type(client: &tokio_postgres::Client) -> Result<Option<String>, StoreError> {
    let row = client
        .query_typed_opt(
            "select quote_ident(n.nspname) || '.ltree' from pg_extension e \
             join pg_namespace n on n.oid = e.extnamespace where e.extname = 'ltree'",
            &[],
        )
        .await
        .map_err(StoreError::query("finding the ltree extension"))?;
    Ok(row.map(|row| row.get(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_validated() {
        for good in ["public", "memtree", "_x", "a1_b2", &"a".repeat(63)] {
            assert_eq!(SchemaName::parse(good).unwrap().quoted(), format!("\"{good}\""));
        }
        for bad in [
            "",
            "Public",
            "1abc",
            "a-b",
            "a\"b",
            "x; drop table memory",
            "a b",
            "pg_x",
            "é",
            &"a".repeat(64),
        ] {
            let error = SchemaName::parse(bad).unwrap_err();
            assert!(matches!(error, StoreError::InvalidSchema { .. }), "{bad:?}");
            assert!(error.to_string().contains(&format!("`{bad}`")), "{error}");
        }
    }

    #[test]
    fn counts_add_up() {
        let mut total = WriteCounts {
            inserted: 1,
            updated: 2,
            unchanged: 3,
            superseded: 4,
        };
        total += WriteCounts {
            inserted: 10,
            updated: 20,
            unchanged: 30,
            superseded: 40,
        };
        assert_eq!(
            total,
            WriteCounts {
                inserted: 11,
                updated: 22,
                unchanged: 33,
                superseded: 44,
            }
        );
    }
}
