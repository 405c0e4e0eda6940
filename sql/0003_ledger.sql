-- The ledger: what each source file looked like when the memories read from it were last
-- written, so that a re-run does not open unchanged files. Keyed by host, so several machines
-- can import into one database. Rows are written only after the memories they account for are
-- committed: a crash can leave the ledger behind the data (the file is read again, its rows are
-- found current), never ahead of it.

create table memtree_ledger (
    host text not null,
    tool text not null,
    path text not null,
    size bigint not null,
    mtime_ns bigint not null,
    inode bigint not null,
    -- Bytes of complete lines read; a torn last line is not counted.
    consumed bigint not null,
    importer_version text not null,
    -- Fingerprint of the options that change what a file yields (content mode, tree, filters).
    options_key text not null,
    updated_at timestamptz not null default now(),
    primary key (host, tool, path)
);

-- The same for stores that keep many sessions in one database (OpenCode): per session, the
-- store's own revision marker (`time_updated`) when its memories were last written.
create table memtree_ledger_sessions (
    host text not null,
    tool text not null,
    session_id text not null,
    revision bigint not null,
    importer_version text not null,
    options_key text not null,
    updated_at timestamptz not null default now(),
    primary key (host, tool, session_id)
);
