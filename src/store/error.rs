//! The store's errors: each names what failed and hints at what to do; none prints a password.

/// A failure talking to PostgreSQL or preparing to.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid schema name `{schema}`: {reason}; use lowercase ASCII letters, digits and `_`, not starting with a digit")]
    InvalidSchema { schema: String, reason: &'static str },

    /// A connection string or libpq variable that cannot be used; `detail` has the password masked.
    #[error("invalid database target from {origin}: {detail}")]
    InvalidTarget { origin: String, detail: String },

    /// No host of the target accepted a connection; `hint` is the fix for what went wrong.
    #[error("cannot connect to {target}: {detail}; {hint}")]
    Connect {
        target: String,
        detail: String,
        hint: String,
        /// The server was unreachable or slow, which may pass; a refusal (authentication, TLS)
        /// would only be repeated.
        transient: bool,
    },

    #[error("migration {version} (`sql/{file}`) failed in schema `{schema}`: {detail}")]
    Migration {
        version: i32,
        file: &'static str,
        schema: String,
        detail: String,
    },

    #[error("migration {version} (`sql/{file}`) was edited after it was applied to schema `{schema}`; applied migrations must never change: restore the file and put the change in a new migration")]
    MigrationChanged {
        version: i32,
        file: &'static str,
        schema: String,
    },

    #[error("schema `{schema}` has migration {version} (`{name}`) applied, which this memtree does not know: it was migrated by a newer memtree; upgrade memtree")]
    MigrationUnknown {
        version: i32,
        name: String,
        schema: String,
    },

    #[error("{action} failed: {detail}")]
    Query { action: &'static str, detail: String },

    /// The role may not do what the schema needs (create the ltree extension, the schema or
    /// tables; read or write memtree's tables), or a table is not what memtree made: nothing was
    /// changed, and `statements` are what an administrator must run.
    #[error("{problem}; an administrator must run, connected to database \"{database}\":\n{}\nthen run the import again (once migrated, memtree needs only SELECT, INSERT and UPDATE on its tables)", .statements.iter().map(|statement| format!("    {statement}")).collect::<Vec<_>>().join("\n"))]
    NeedsAdmin {
        role: String,
        database: String,
        problem: String,
        statements: Vec<String>,
    },

    /// A failure that may pass when tried again: the connection dropped, the server is restarting,
    /// or the transaction lost a serialization or deadlock race (see `retry.rs`).
    #[error("{action} failed: {detail}")]
    Transient { action: &'static str, detail: String },

    /// A command that reads the store found no memory table, or an empty one.
    #[error("nothing imported yet: run `memtree import`")]
    NothingImported,

    /// memtree's local database, used when nothing else is configured, cannot be used.
    #[error(transparent)]
    LocalDb(#[from] crate::localdb::LocalDbError),

    #[error("{last}; gave up after {attempts} attempts in {waited_ms} ms; everything committed before is kept: run the import again once the database is reachable")]
    GaveUp {
        attempts: u32,
        waited_ms: u64,
        last: Box<StoreError>,
    },
}

impl StoreError {
    pub(crate) fn query(action: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
        move |error| StoreError::classified(action, pg_detail(&error), &error)
    }

    /// `Transient` when trying again may help, else `Query`.
    pub(crate) fn classified(
        action: &'static str,
        detail: String,
        error: &tokio_postgres::Error,
    ) -> StoreError {
        if super::retry::is_transient(error) {
            StoreError::Transient { action, detail }
        } else {
            StoreError::Query { action, detail }
        }
    }

    /// Whether the operation that failed may be tried again: it did not commit anything, or what
    /// it committed is rewritten identically.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Transient { .. } | StoreError::Connect { transient: true, .. }
        )
    }

    /// Whether the database may answer if asked again later: it was unreachable, or went away
    /// and stayed away through the retries. A refusal or a data error would only be repeated.
    pub fn may_pass(&self) -> bool {
        self.is_transient() || matches!(self, StoreError::GaveUp { .. })
    }
}

/// A statement a connection pooler refused rather than the server: PgBouncer in statement mode
/// allows no transaction, and a prepared statement may be missing where a pooler moved the
/// session to another server connection. Trying again meets the same pooler.
pub(crate) fn is_pooler_refusal(error: &tokio_postgres::Error) -> bool {
    error.as_db_error().is_some_and(|db| {
        db.message().contains("pooling mode")
            || (db.code() == &tokio_postgres::error::SqlState::INVALID_SQL_STATEMENT_NAME
                && db.message().starts_with("prepared statement"))
    })
}

/// The whole story of a PostgreSQL error: tokio-postgres's own `Display` says only "db error",
/// the server's message, detail and hint live in its source.
pub(crate) fn pg_detail(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        let mut text = db.message().to_owned();
        if let Some(detail) = db.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        if let Some(hint) = db.hint() {
            text.push_str(&format!("; hint: {hint}"));
        }
        if is_pooler_refusal(error) {
            text.push_str(
                "; the connection pooler refused it: memtree needs transaction or session pooling \
                 (PgBouncer's pool_mode=transaction or session): use the URL of such a pool, or of the server itself",
            );
        }
        return text;
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
