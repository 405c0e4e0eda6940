//! Every byte and count budget memory depends on, in one place, with the arithmetic that keeps a
//! run's peak memory under 100 MB whatever the size of a file, a line or the history.
//!
//! What is alive at the worst moment of an import, and the budget that bounds each:
//!
//! | held | bound |
//! |---|---|
//! | one line being decoded, per parse thread | [`MAX_BUFFERED_LINE`] (8 MiB); a longer one is reduced while read to strings of [`STRING_BUDGET`], at most [`MAX_REDUCED_LINE`] (32 MiB) held, the rest decoded from the stream |
//! | the read buffer of each open transcript | [`READ_BUFFER`] (256 KiB) |
//! | the sessions of the chunk being parsed | [`CHUNK_BYTES`] (4 MiB of files, [`CHUNK_FILES`] files) |
//! | a session too big to hold | read in parts of [`PART_BYTES`] (8 MiB); held whole up to twice that |
//! | one row's content | [`MAX_CONTENT_BYTES`] (8 MiB), cut beyond |
//! | rows planned and not yet written | [`WRITES_IN_FLIGHT`] (2) group writes + the group being planned: 3 groups of about a chunk or a part each |
//! | one write batch on the wire | [`BATCH_BYTES`] (4 MiB) or [`BATCH_ROWS`] rows |
//! | a store (OpenCode) read session by session | [`STREAM_QUEUE`] sessions ahead, groups of [`GROUP_SESSIONS`] sessions or [`GROUP_BYTES`] (4 MiB) |
//!
//! So an import holds about two lines being decoded (2 threads x 8 MiB), three groups of rows
//! (3 x 8 MiB of text, each with its meta), one part being read ahead (8 MiB) and a batch being
//! sent (4 MiB): about 60 MB of data beside the program, its allocator's slack and the database
//! client's buffers, inside 100 MB. A dry run keeps no text past the parse job (only ids and
//! counts), so it reads bigger chunks ([`DRY_RUN_CHUNK_BYTES`]) and starts big files
//! ([`BIG_FILE_BYTES`]) up to [`BIG_FILE_CHUNKS_AHEAD`] chunks ahead, holding at most one chunk's
//! big files' outcomes at once. The figures measured against these budgets are in
//! `docs/PERFORMANCE.md`.

/// Content longer than this is cut (at a character boundary) and marked, so one giant tool
/// output cannot dominate memory or a write batch.
pub const MAX_CONTENT_BYTES: usize = 8 << 20;

/// The read buffer of a transcript: a line that lies whole in it is decoded where it lies, so it
/// must hold most lines (tool outputs run to tens of kilobytes), and it makes few read calls.
pub const READ_BUFFER: usize = 256 << 10;

/// Lines longer than this are reduced before they are decoded.
pub const MAX_BUFFERED_LINE: usize = 8 << 20;

/// Strings in an overlong line keep this many decoded bytes: more than the planner stores, so it
/// still sees such a string as too long and cuts it with its marker and count.
pub const STRING_BUDGET: usize = MAX_CONTENT_BYTES + (64 << 10);

/// A reduced line longer than this is decoded from the stream for its rest.
pub const MAX_REDUCED_LINE: usize = 32 << 20;

/// Message text a session read in parts hands over at a time. While a part is planned the next
/// is built and earlier parts' rows are being written, so about five parts' worth of text can be
/// alive at once. A read holds a session whole up to twice this: one message alone may carry a
/// row's most text ([`MAX_CONTENT_BYTES`]), and a session just past one part is cheaper held once
/// than read twice.
pub const PART_BYTES: u64 = 8 << 20;

/// Files parsed together before their rows are written.
pub const CHUNK_FILES: usize = 256;

/// Bytes of files parsed together before their rows are written (a larger file counts as half
/// a chunk, so small files are parsed beside it). A chunk's rows are held until written, and
/// three chunks' rows can be alive at once.
pub const CHUNK_BYTES: u64 = 4 << 20;

/// Bytes of files parsed together in a dry run: its sessions hold only each row's id and counts
/// once prepared, so a chunk holds little, and fewer chunks end in fewer waits for their slowest
/// file.
pub const DRY_RUN_CHUNK_BYTES: u64 = 64 << 20;

/// Files this big are parsed as jobs of their own: a file far larger than the rest (a 200 MB
/// session) would otherwise keep one thread busy while the others, done with the rest of its
/// chunk, wait for it.
pub const BIG_FILE_BYTES: u64 = 32 << 20;

/// How many chunks ahead of its own a dry run starts parsing a big file: enough for the other
/// threads to parse meanwhile.
pub const BIG_FILE_CHUNKS_AHEAD: usize = 8;

/// Group writes running at once: the next group's batches keep both connections busy while the
/// last batch of the previous group finishes.
pub const WRITES_IN_FLIGHT: usize = 2;

/// Most sessions of one group streamed from a store.
pub const GROUP_SESSIONS: usize = 128;

/// The most message text of one group of sessions streamed from a store.
pub const GROUP_BYTES: u64 = 4 << 20;

/// Sessions read ahead from a store while a group is planned.
pub const STREAM_QUEUE: usize = 4;

/// Most rows in one write batch (one transaction).
pub const BATCH_ROWS: usize = 1000;

/// Most bytes of content and meta in one write batch; a larger single row goes alone.
pub const BATCH_BYTES: usize = 4 << 20;

/// Most ids per classification query of a dry run.
pub const CLASSIFY_ROWS: usize = 10_000;
