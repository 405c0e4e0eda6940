-- Checkpoints: where a grown transcript can be read on from (src/source/resume.rs). `lines` is
-- how many lines the file's first `consumed` bytes hold, `prefix_sha256` their SHA-256 (a file
-- whose prefix changed is read again in full), `checkpoint` the parser's state after them (JSON,
-- each parser its own shape). All null for a file that is never read on from (compressed, a
-- single document, a session that was skipped): it is read in full when it changes.

alter table memtree_ledger
    add column lines bigint,
    add column prefix_sha256 bytea,
    add column checkpoint text;
