-- The memory table: one row per stored memory, compatible with the reference importer's table
-- (reference-importer.md section 8, "Plain PG15 + ltree equivalent").
-- Runs with search_path set to the target schema, then the schema holding ltree.

create extension if not exists ltree schema public;

create table memory (
    -- Deterministic UUIDv7 ids (src/id.rs): version nibble 7, RFC 4122 variant.
    id uuid primary key
        constraint memory_id_is_uuid_v7
        check (substr(id::text, 15, 1) = '7' and substr(id::text, 20, 1) in ('8', '9', 'a', 'b')),
    content text not null,
    meta jsonb not null default '{}' constraint memory_meta_is_object check (jsonb_typeof(meta) = 'object'),
    tree ltree not null,
    temporal tstzrange,
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    -- A point [t,t] or a half-open range [a,b) with a < b, as the reference requires.
    constraint temporal_bounds_convention check (
        temporal is null
        or (lower(temporal) = upper(temporal) and lower_inc(temporal) and upper_inc(temporal))
        or (lower(temporal) < upper(temporal) and lower_inc(temporal) and not upper_inc(temporal))
    )
);

create index memory_tree_idx on memory using gist (tree);
create index memory_meta_idx on memory using gin (meta);
create index memory_temporal_idx on memory using gist (temporal) where temporal is not null;
-- to_tsvector fails on documents whose tsvector would exceed 1 MB ("string is too long for
-- tsvector"), which would make one huge message fail its whole batch; index a bounded prefix.
-- Queries must use the same expression to use the index.
create index memory_content_fts_idx on memory
    using gin (to_tsvector('english'::regconfig, left(content, 100000)));

-- lz4 compresses and decompresses large transcripts much faster than pglz, but only servers
-- built with it accept it.
do $$
begin
    if exists (
        select 1 from pg_settings
        where name = 'default_toast_compression' and 'lz4' = any(enumvals)
    ) then
        alter table memory alter column content set compression lz4;
        alter table memory alter column meta set compression lz4;
    end if;
end
$$;
