//! The migrations: the ordered SQL files of `sql/`, embedded in the binary, with what each
//! gives the tables (checked against the catalog by `migrate`). Append only: an applied file
//! never changes, and a change to the schema is a new file.

/// One embedded migration file.
pub(crate) struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub file: &'static str,
    pub sql: &'static str,
    /// The columns it gives each table (the first migration to name a table creates it), by
    /// `pg_type.typname`: what the shape check compares the catalog with.
    pub shape: &'static [(&'static str, &'static [(&'static str, &'static str)])],
    /// Tables an earlier migration created that it alters or indexes: only their owner may, so
    /// a role that does not own them gets the migration's statements to hand to one who does.
    pub alters: &'static [&'static str],
}

/// Every migration, in the order they apply. Append only: never edit or reorder an entry.
pub(crate) const MEMORY_VERSION: i32 = 1;
pub(crate) const PROJECTS_VERSION: i32 = 2;
pub(crate) const LEDGER_VERSION: i32 = 3;
pub(crate) const CHECKPOINTS_VERSION: i32 = 4;
pub(crate) const SEARCH_VERSION: i32 = 5;
pub(crate) const IMPORT_RUNS_VERSION: i32 = 6;
pub(crate) const SALVAGED_VERSION: i32 = 7;

pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: MEMORY_VERSION,
        name: "memory",
        file: "0001_memory.sql",
        sql: include_str!("../../sql/0001_memory.sql"),
        shape: &[(
            "memory",
            &[
                ("id", "uuid"),
                ("content", "text"),
                ("meta", "jsonb"),
                ("tree", "ltree"),
                ("temporal", "tstzrange"),
                ("created_at", "timestamptz"),
                ("updated_at", "timestamptz"),
            ],
        )],
        alters: &[],
    },
    Migration {
        version: PROJECTS_VERSION,
        name: "projects",
        file: "0002_projects.sql",
        sql: include_str!("../../sql/0002_projects.sql"),
        shape: &[(
            "memtree_projects",
            &[
                ("project_key", "text"),
                ("slug", "text"),
                ("git_remote", "text"),
                ("created_at", "timestamptz"),
            ],
        )],
        alters: &[],
    },
    Migration {
        version: LEDGER_VERSION,
        name: "ledger",
        file: "0003_ledger.sql",
        sql: include_str!("../../sql/0003_ledger.sql"),
        shape: &[
            (
                "memtree_ledger",
                &[
                    ("host", "text"),
                    ("tool", "text"),
                    ("path", "text"),
                    ("size", "int8"),
                    ("mtime_ns", "int8"),
                    ("inode", "int8"),
                    ("consumed", "int8"),
                    ("importer_version", "text"),
                    ("options_key", "text"),
                    ("updated_at", "timestamptz"),
                ],
            ),
            (
                "memtree_ledger_sessions",
                &[
                    ("host", "text"),
                    ("tool", "text"),
                    ("session_id", "text"),
                    ("revision", "int8"),
                    ("importer_version", "text"),
                    ("options_key", "text"),
                    ("updated_at", "timestamptz"),
                ],
            ),
        ],
        alters: &[],
    },
    Migration {
        version: CHECKPOINTS_VERSION,
        name: "ledger_checkpoints",
        file: "0004_ledger_checkpoints.sql",
        sql: include_str!("../../sql/0004_ledger_checkpoints.sql"),
        shape: &[(
            "memtree_ledger",
            &[
                ("lines", "int8"),
                ("prefix_sha256", "bytea"),
                ("checkpoint", "text"),
            ],
        )],
        alters: &["memtree_ledger"],
    },
    Migration {
        version: SEARCH_VERSION,
        name: "search",
        file: "0005_search.sql",
        sql: include_str!("../../sql/0005_search.sql"),
        shape: &[("memory", &[("search", "tsvector")])],
        alters: &["memory"],
    },
    Migration {
        version: IMPORT_RUNS_VERSION,
        name: "import_runs",
        file: "0006_import_runs.sql",
        sql: include_str!("../../sql/0006_import_runs.sql"),
        shape: &[(
            "memtree_import_runs",
            &[
                ("host", "text"),
                ("tool", "text"),
                ("started_at", "timestamptz"),
                ("finished_at", "timestamptz"),
                ("outcome", "text"),
                ("files_scanned", "int8"),
                ("sessions_imported", "int8"),
                ("inserted", "int8"),
                ("updated", "int8"),
                ("unchanged", "int8"),
                ("problems", "int8"),
                ("error", "text"),
            ],
        )],
        alters: &[],
    },
    Migration {
        version: SALVAGED_VERSION,
        name: "salvaged",
        file: "0007_salvaged.sql",
        sql: include_str!("../../sql/0007_salvaged.sql"),
        shape: &[],
        alters: &["memory"],
    },
];
