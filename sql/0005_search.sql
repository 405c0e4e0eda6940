-- Search: a stored tsvector, so ranking reads each match's vector instead of parsing its content
-- again, and the indexes `memtree search`, `show` and `status` use.
--
-- Code is searched as well as prose: `/`, `.` and `\` become spaces before parsing, so a path
-- (`src/store/write.rs`), a file name (`write.rs`), a module path (`os.path.join`) and a version
-- are a run of adjacent lexemes that a phrase of any of their parts matches, where the parser
-- would otherwise keep `src/store/write.rs` as one lexeme that `write.rs` does not match.
-- `snake_case` splits at `_` and `CamelCase` stays one word, as the parser does; queries are
-- translated the same way (src/store/search.rs). As before, a bounded prefix is indexed:
-- to_tsvector fails on documents whose vector would pass 1 MB.
--
-- A generated column is computed by the server for every insert and update, whoever writes.

alter table memory add column search tsvector generated always as (
    to_tsvector('english'::regconfig, translate(left(content, 100000), '/.\', '   '))
) stored;
-- As content and meta (0001): lz4 where the server has it, for the vectors stored out of line.
do $$
begin
    if exists (
        select 1 from pg_settings
        where name = 'default_toast_compression' and 'lz4' = any(enumvals)
    ) then
        alter table memory alter column search set compression lz4;
    end if;
end
$$;
create index memory_search_idx on memory using gin (search);
drop index memory_content_fts_idx;

-- Newest first: the candidates of a search whose words are common are the newest matches.
create index memory_time_idx on memory (lower(temporal));
-- `show` takes a session id or a unique prefix of one.
create index memory_session_idx on memory ((meta ->> 'source_session_id') text_pattern_ops);
-- `--tool` and `--role` are tested on each candidate: without statistics of their own the planner
-- takes either for a rare value and reads every match of the words through the index.
create statistics memory_tool_stats on (meta ->> 'source_tool') from memory;
create statistics memory_role_stats on (meta ->> 'source_message_role') from memory;
