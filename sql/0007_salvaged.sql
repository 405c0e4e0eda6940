-- Salvaged rows: prompts imported from what a tool keeps after deleting a transcript (Claude
-- Code's history.jsonl, Gemini CLI's logs.json) carry `meta.salvaged_from`. When the transcript is
-- imported later, its rows replace them: every write of a tool's sessions deletes their salvaged
-- rows in the same transaction. This index holds the salvaged rows alone, so that delete costs an
-- index probe per session whether the table holds none of them or millions of other rows.

create index memory_salvaged_idx on memory ((meta ->> 'source_session_id'))
    where meta ? 'salvaged_from';
