-- Import runs: one row per `memtree import` of one tool on one host, written when the run starts
-- and completed when it ends, so `memtree status` can say when each tool was last imported and
-- how that went. A run that was killed keeps the outcome `running`.

create table memtree_import_runs (
    host text not null,
    tool text not null,
    started_at timestamptz not null,
    finished_at timestamptz,
    -- running, ok (no problem), problems (some files could not be read), failed (see error)
    outcome text not null,
    files_scanned bigint not null default 0,
    sessions_imported bigint not null default 0,
    inserted bigint not null default 0,
    updated bigint not null default 0,
    unchanged bigint not null default 0,
    problems bigint not null default 0,
    error text,
    primary key (host, tool, started_at)
);
