//! Reading transcripts in chunks: files are grouped by count and size (`limits::CHUNK_BYTES`; a
//! file larger than half a chunk counts as half, so small files are parsed beside it), each chunk
//! is parsed in parallel (rayon) and handed to the pipeline in its order, so memory follows a
//! chunk, not the history.
//!
//! A file of `limits::BIG_FILE_BYTES` or more is parsed as a rayon job of its own; a dry run,
//! which holds only ids and counts, starts it up to `limits::BIG_FILE_CHUNKS_AHEAD` chunks before
//! its own, so the other threads parse those chunks meanwhile. Only big files' outcomes are held
//! ahead, at most one chunk's at a time, and each takes its place in its chunk, so nothing is
//! planned in another order. A parse job also judges its sessions by the session filters and
//! prepares those taken for planning (`plan::prepare`) while their texts are in cache; a dry run
//! drops the texts there. Each file is read on from its recorded checkpoint when it has one, and
//! the checkpoint it takes is redacted like the rows before it is stored.

use std::collections::HashMap;

use rayon::prelude::*;

use super::ledger::{ledger_path, Checkpoints};
use super::pipeline::Pipeline;
use super::ImportError;
use crate::env::{self, EnvLookup};
use crate::failpoint;
use crate::filter::{self, FilterOptions, SkipReason};
use crate::ledger::{FileState, Ledger};
use crate::limits::{BIG_FILE_BYTES, BIG_FILE_CHUNKS_AHEAD, CHUNK_BYTES, CHUNK_FILES, DRY_RUN_CHUNK_BYTES};
use crate::model::{Checkpoint, Session};
use crate::output::Progress;
use crate::plan::{self, PlanOptions, PreparedSession, RowOutput};
use crate::redact::Redactor;
use crate::source::{Candidate, ParseOutcome, PartBudget, ResumeRequest, TranscriptParser};

/// A candidate and its file state when discovery listed it.
pub(super) type Listed = (Candidate, Option<FileState>);

/// Reads every transcript of `files` in chunks and hands each chunk's outcomes to `pipeline` in
/// order.
pub(super) fn read_transcripts(
    pipeline: &mut Pipeline<'_>,
    parser: &dyn TranscriptParser,
    files: &[Listed],
    ledger: &Ledger,
    progress: &Progress,
    redactor: Option<&Redactor>,
    env: EnvLookup<'_>,
) -> Result<(), ImportError> {
    let output = pipeline.row_output();
    let chunk_bytes = match output {
        RowOutput::Whole => CHUNK_BYTES,
        RowOutput::IdOnly => DRY_RUN_CHUNK_BYTES,
    };
    let chunks = chunks_by_size(files, chunk_bytes);
    let file_parse = FileParse {
        parser,
        checkpoint_wanted: pipeline.records_ledger(),
        budget: pipeline.part_budget(),
        redactor,
        progress,
        filter: pipeline.settings().filter_options(),
        plan: pipeline.plan_options(),
        output,
    };
    // A dry run holds little, so it can hold big files' sessions ahead; an import holds a
    // chunk's rows until they are written, and parses as fast as it writes anyway.
    let chunks_ahead = match output {
        RowOutput::Whole => 0,
        RowOutput::IdOnly => BIG_FILE_CHUNKS_AHEAD,
    };
    let big_file_bytes = env::MEMTREE_BIG_FILE_BYTES.bytes(env, BIG_FILE_BYTES);
    rayon::in_place_scope(|scope| -> Result<(), ImportError> {
        let mut chunk_parser = ChunkParser::new(scope, &file_parse, big_file_bytes, chunks_ahead);
        for (index, chunk) in chunks.iter().enumerate() {
            if pipeline.settings().stopping() {
                break;
            }
            while let Some((next, files)) = chunk_parser.next_to_look_at(index, &chunks) {
                for (position, file) in files.iter().enumerate() {
                    if chunk_parser.is_big(file) {
                        let checkpoints = pipeline.checkpoints_for([file], ledger)?;
                        chunk_parser.start_big((next, position), &file.0, checkpoints);
                    }
                }
            }
            let small_files = chunk.iter().filter(|file| !chunk_parser.is_big(file));
            let checkpoints = pipeline.checkpoints_for(small_files, ledger)?;
            let outcomes = chunk_parser.parse_chunk(index, chunk, checkpoints);
            pipeline.take_chunk(parser, chunk, outcomes)?;
        }
        Ok(())
    })
}

/// Splits candidates into chunks of at most [`CHUNK_FILES`] files and about `chunk_bytes`.
/// A file larger than half a chunk counts as half a chunk: the files after it are parsed beside
/// it, instead of the other threads waiting while it is parsed alone.
fn chunks_by_size(candidates: &[Listed], chunk_bytes: u64) -> Vec<&[Listed]> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (index, (_, state)) in candidates.iter().enumerate() {
        let size = state.map_or(0, |state| state.size).min(chunk_bytes / 2);
        if index > start && (index - start >= CHUNK_FILES || bytes + size > chunk_bytes) {
            chunks.push(&candidates[start..index]);
            (start, bytes) = (index, 0);
        }
        bytes += size;
    }
    if start < candidates.len() {
        chunks.push(&candidates[start..]);
    }
    chunks
}

/// What parsing one file needs, shared by every parse of a run.
struct FileParse<'a> {
    parser: &'a dyn TranscriptParser,
    checkpoint_wanted: bool,
    budget: PartBudget,
    redactor: Option<&'a Redactor>,
    progress: &'a Progress,
    filter: FilterOptions<'a>,
    plan: PlanOptions<'a>,
    output: RowOutput,
}

/// One file's parse, with its sessions judged by the session filters and those admitted
/// prepared for planning.
pub(super) struct ParsedFile {
    /// What the parse yielded besides its whole sessions (`outcome.sessions` is empty).
    pub(super) outcome: ParseOutcome,
    pub(super) sessions: Vec<Judged>,
}

/// A parsed session, as the session filters judged it.
pub(super) enum Judged {
    Admitted(PreparedSession),
    /// Skipped, for this reason; only its facts are kept, for the report.
    Skipped(Session, SkipReason),
}

impl FileParse<'_> {
    /// Parses one file, read on from its recorded checkpoint when it has one (the checkpoint it
    /// returns has no secrets), and judges and prepares its sessions while they are in cache.
    fn parse(&self, candidate: &Candidate, checkpoint: Option<Checkpoint>) -> ParsedFile {
        let resume = ResumeRequest {
            from: checkpoint.as_ref(),
            checkpoint_wanted: self.checkpoint_wanted,
        };
        failpoint::hit("parse.file");
        let mut outcome = self.parser.parse(candidate, resume, self.budget);
        outcome.checkpoint = outcome
            .checkpoint
            .take()
            .and_then(|checkpoint| without_secrets(checkpoint, self.redactor));
        let sessions = std::mem::take(&mut outcome.sessions)
            .into_iter()
            .map(
                |mut session| match filter::session_skip_reason(&session, &self.filter) {
                    Some(reason) => {
                        session.messages = Vec::new();
                        Judged::Skipped(session, reason)
                    }
                    None => Judged::Admitted(plan::prepare(session, &self.plan, self.output)),
                },
            )
            .collect();
        self.progress.inc(1);
        ParsedFile { outcome, sessions }
    }
}

/// A checkpoint fit to store: the parser's state holds text from the transcript (titles, the
/// first prompt, directories), which must not reach the database unredacted when the rows do not.
/// Its strings are redacted like the rows' (ids do not look like secrets, so they stay); a state
/// that is not JSON is not stored (the file is then read whole next time). Session facts read on
/// from a checkpoint are thus already redacted: their secrets are not counted again in later
/// rows' `redactions`. Runs where the file was parsed, in parallel.
fn without_secrets(mut checkpoint: Checkpoint, redactor: Option<&Redactor>) -> Option<Checkpoint> {
    let Some(redactor) = redactor else {
        return Some(checkpoint);
    };
    let mut state: serde_json::Value = serde_json::from_str(&checkpoint.state).ok()?;
    let mut found = crate::redact::Redactions::default();
    redactor.redact_json(&mut state, &mut found);
    if !found.is_empty() {
        checkpoint.state = state.to_string();
    }
    Some(checkpoint)
}

/// Whether chunk `next`'s big files may be started while chunk `current` is taken in, with
/// `in_flight` big files started and not taken yet: always those of `current` itself; those of a
/// later chunk, up to `chunks_ahead` after it, only while none is in flight.
fn may_look_at(next: usize, current: usize, chunks_ahead: usize, in_flight: usize) -> bool {
    next <= current || (next <= current + chunks_ahead && in_flight == 0)
}

/// A file's place: its chunk and its position in the chunk.
type FileSlot = (usize, usize);

/// Parses chunks of files: each file in parallel (rayon), and each big file
/// ([`BIG_FILE_BYTES`]) as a job of its own, started up to `chunks_ahead` chunks before its
/// own, whose outcome is handed over when its chunk is parsed.
struct ChunkParser<'scope, 'env> {
    scope: &'scope rayon::Scope<'env>,
    parse: &'env FileParse<'env>,
    min_bytes: u64,
    chunks_ahead: usize,
    /// Chunks whose big files were started.
    looked_at: usize,
    started: HashMap<FileSlot, std::sync::mpsc::Receiver<std::thread::Result<ParsedFile>>>,
}

impl<'scope, 'env> ChunkParser<'scope, 'env> {
    fn new(
        scope: &'scope rayon::Scope<'env>,
        parse: &'env FileParse<'env>,
        min_bytes: u64,
        chunks_ahead: usize,
    ) -> Self {
        ChunkParser {
            scope,
            parse,
            min_bytes,
            chunks_ahead,
            looked_at: 0,
            started: HashMap::new(),
        }
    }

    fn is_big(&self, (_, state): &Listed) -> bool {
        state.is_some_and(|state| state.size >= self.min_bytes)
    }

    /// The next chunk, and its index, whose big files are to be started while chunk `current`
    /// is taken in ([`may_look_at`]), each chunk once. No more big files' sessions are held at
    /// once than one chunk can hold (two).
    fn next_to_look_at<'c, T>(&mut self, current: usize, chunks: &[&'c [T]]) -> Option<(usize, &'c [T])> {
        let next = self.looked_at;
        if !may_look_at(next, current, self.chunks_ahead, self.started.len()) {
            return None;
        }
        let files = chunks.get(next)?;
        self.looked_at += 1;
        Some((next, files))
    }

    /// Starts parsing a big file, from its checkpoint in `checkpoints`.
    fn start_big(&mut self, slot: FileSlot, candidate: &'env Candidate, mut checkpoints: Checkpoints) {
        let checkpoint = checkpoints.remove(&ledger_path(candidate));
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let parse = self.parse;
        self.scope.spawn(move |_| {
            // A panic is handed to the planning thread, which resumes it, as a parallel
            // iterator would.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                parse.parse(candidate, checkpoint)
            }));
            // Sending fails only once planning stopped on an error, which the run fails with.
            let _ = sender.send(outcome);
        });
        self.started.insert(slot, receiver);
    }

    /// Parses the files of chunk `index` but its big ones, which were started before, each from
    /// its checkpoint in `checkpoints`; returns every outcome in the chunk's order.
    fn parse_chunk(
        &mut self,
        index: usize,
        chunk: &[Listed],
        mut checkpoints: Checkpoints,
    ) -> Vec<ParsedFile> {
        let resumes: Vec<Option<Option<Checkpoint>>> = chunk
            .iter()
            .map(|file| (!self.is_big(file)).then(|| checkpoints.remove(&ledger_path(&file.0))))
            .collect();
        let parse = self.parse;
        let parsed: Vec<Option<ParsedFile>> = resumes
            .into_par_iter()
            .zip(chunk.par_iter())
            .map(|(resume, (candidate, _))| resume.map(|checkpoint| parse.parse(candidate, checkpoint)))
            .collect();
        parsed
            .into_iter()
            .enumerate()
            .map(|(position, outcome)| outcome.unwrap_or_else(|| self.big_outcome((index, position))))
            .collect()
    }

    /// The outcome of the big file at `slot`, once it is parsed.
    fn big_outcome(&mut self, slot: FileSlot) -> ParsedFile {
        let receiver = self
            .started
            .remove(&slot)
            .expect("a chunk's big files are started before the chunk is taken in");
        match receiver.recv().expect("a parse job always sends its outcome") {
            Ok(outcome) => outcome,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn candidates(sizes: &[u64]) -> Vec<Listed> {
        sizes
            .iter()
            .enumerate()
            .map(|(n, &size)| {
                let candidate = Candidate {
                    path: PathBuf::from(format!("/f{n}")),
                    also: Vec::new(),
                    sidechain: false,
                };
                let state = FileState {
                    size,
                    mtime_ns: 0,
                    inode: n as u64,
                };
                (candidate, Some(state))
            })
            .collect()
    }

    fn chunk_lengths(sizes: &[u64]) -> Vec<usize> {
        chunks_by_size(&candidates(sizes), CHUNK_BYTES)
            .iter()
            .map(|chunk| chunk.len())
            .collect()
    }

    #[test]
    fn big_files_are_started_ahead_one_chunk_at_a_time() {
        // (next, current, chunks ahead, in flight) -> may its big files be started?
        let cases = [
            ((3, 3, 0, 0), true),  // the chunk taken in now: always
            ((3, 3, 0, 2), true),  // even with others in flight (its own are needed now)
            ((4, 3, 0, 0), false), // an import looks at no chunk ahead
            ((4, 3, 8, 0), true),  // a dry run looks ahead while none is in flight
            ((11, 3, 8, 0), true), // up to 8 chunks ahead
            ((12, 3, 8, 0), false),
            ((4, 3, 8, 1), false), // but not while a big file is in flight
        ];
        for ((next, current, ahead, in_flight), expected) in cases {
            assert_eq!(
                may_look_at(next, current, ahead, in_flight),
                expected,
                "next {next}, current {current}, ahead {ahead}, in flight {in_flight}"
            );
        }
    }

    #[test]
    fn chunks_are_bounded_by_bytes_and_files_and_a_big_file_shares_its_chunk() {
        let third = CHUNK_BYTES / 3;
        assert_eq!(chunk_lengths(&[third, third, third, third, 1]), [3, 2]);
        // A file fifty chunks long counts as half a chunk: small files are parsed beside it.
        let small = CHUNK_BYTES / 4;
        assert_eq!(chunk_lengths(&[50 * CHUNK_BYTES, small, small, small]), [3, 1]);
        assert_eq!(chunk_lengths(&vec![1; 600]), [256, 256, 88]);
        assert!(chunk_lengths(&[]).is_empty());
        // A run that keeps no rows reads bigger chunks.
        let quarter = CHUNK_BYTES / 4;
        let sizes = vec![quarter; 16];
        let counting: Vec<usize> = chunks_by_size(&candidates(&sizes), DRY_RUN_CHUNK_BYTES)
            .iter()
            .map(|chunk| chunk.len())
            .collect();
        assert_eq!(counting, [16]);
        assert_eq!(chunk_lengths(&sizes), [4, 4, 4, 4]);
    }
}
