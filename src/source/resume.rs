//! Reading a grown transcript on from where the last run stopped: checking that the bytes a
//! checkpoint accounts for are still the file's prefix, starting the read after them, and taking
//! the next checkpoint when the read ends.
//!
//! Transcripts (Claude Code, plain Codex rollouts) only ever grow by whole lines, so the parser's
//! state after the first `consumed` bytes plus the lines after them give the same messages as a
//! read of the whole file. The prefix is checked with SHA-256 (hardware-accelerated, several
//! times faster than parsing) before the state is trusted: a rewritten, truncated or replaced
//! file is read from its start. The state is JSON of each parser's own shape; one a parser cannot
//! decode (written by another memtree version) also means a read from the start.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::model::{Checkpoint, Diagnostic, FileStats, ResumeOutcome};

/// What a read of one transcript is asked to do about checkpoints.
#[derive(Clone, Copy, Debug, Default)]
pub struct ResumeRequest<'a> {
    /// Read on from here if the file's prefix is unchanged.
    pub from: Option<&'a Checkpoint>,
    /// Take a checkpoint at the end of the read (costs a hash of the file: not for dry runs).
    pub checkpoint_wanted: bool,
}

/// Where a read begins, and the hash of the bytes before it when a checkpoint is wanted.
pub(crate) struct ReadStart {
    offset: u64,
    lines: u64,
    pub outcome: ResumeOutcome,
    prefix: Option<Sha256>,
}

impl ReadStart {
    /// Lines before the read's start: the reader counts from 1 there, so a file's line number
    /// is this plus the reader's.
    pub fn lines_before(&self) -> u64 {
        self.lines
    }

    /// Renumbers the lines of diagnostics the reader added as file lines.
    pub fn renumber(&self, diagnostics: &mut [Diagnostic]) {
        for diagnostic in diagnostics {
            if let Some(line) = &mut diagnostic.line {
                *line += self.lines;
            }
        }
    }

    /// The checkpoint after this read: `state` is the parser's state after the last complete
    /// line, `stats` what the read parsed. Hashes the bytes read (again, from the page cache)
    /// through the same open file, so the hash is of what was parsed even if the path was
    /// replaced meanwhile. `None` when no checkpoint was wanted or the file cannot be re-read.
    pub fn finish(self, file: &mut File, stats: &FileStats, state: Option<String>) -> Option<Checkpoint> {
        let (mut hasher, state) = (self.prefix?, state?);
        file.seek(SeekFrom::Start(self.offset)).ok()?;
        if hash_exactly(file, stats.bytes, &mut hasher).ok()? != stats.bytes {
            return None;
        }
        Some(Checkpoint {
            consumed: self.offset + stats.bytes,
            lines: self.lines + stats.lines,
            prefix_sha256: hasher.finalize().to_vec(),
            state,
        })
    }
}

/// Positions `file` where the read begins and returns the parser state to start from: the
/// checkpoint's, when its prefix is unchanged and its state decodes as `S`; else the start.
pub(crate) fn begin<S: DeserializeOwned>(
    file: &mut File,
    request: ResumeRequest<'_>,
) -> io::Result<(ReadStart, Option<S>)> {
    let mut start = ReadStart {
        offset: 0,
        lines: 0,
        outcome: ResumeOutcome::NotTried,
        prefix: request.checkpoint_wanted.then(Sha256::new),
    };
    let Some(checkpoint) = request.from else {
        return Ok((start, None));
    };
    start.outcome = ResumeOutcome::Restarted;
    let state = serde_json::from_str::<S>(&checkpoint.state).ok();
    if let Some(state) = state {
        let mut hasher = Sha256::new();
        let hashed = hash_exactly(file, checkpoint.consumed, &mut hasher)?;
        if hashed == checkpoint.consumed && hasher.clone().finalize().as_slice() == checkpoint.prefix_sha256 {
            start.offset = checkpoint.consumed;
            start.lines = checkpoint.lines;
            start.outcome = ResumeOutcome::Resumed {
                at: checkpoint.consumed,
            };
            start.prefix = start.prefix.map(|_| hasher);
            return Ok((start, Some(state)));
        }
    }
    file.seek(SeekFrom::Start(0))?;
    Ok((start, None))
}

/// Feeds up to `len` bytes of `file` (from its position) to `hasher`; returns how many there were.
fn hash_exactly(file: &mut File, len: u64, hasher: &mut Sha256) -> io::Result<u64> {
    let mut buffer = vec![0u8; 256 << 10];
    let mut limited = file.take(len);
    let mut total = 0;
    loop {
        match limited.read(&mut buffer) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                hasher.update(&buffer[..n]);
                total += n as u64;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct State {
        n: u32,
    }

    fn file_with(text: &str) -> (tempfile::NamedTempFile, File) {
        let mut named = tempfile::NamedTempFile::new().unwrap();
        named.write_all(text.as_bytes()).unwrap();
        let file = File::open(named.path()).unwrap();
        (named, file)
    }

    fn checkpoint_of(text: &str, state: &str) -> Checkpoint {
        let (_named, mut file) = file_with(text);
        let request = ResumeRequest {
            from: None,
            checkpoint_wanted: true,
        };
        let (start, _) = begin::<State>(&mut file, request).unwrap();
        let stats = FileStats {
            bytes: text.len() as u64,
            lines: text.lines().count() as u64,
            ..FileStats::default()
        };
        start.finish(&mut file, &stats, Some(state.to_owned())).unwrap()
    }

    #[test]
    fn a_grown_file_is_read_on_from_its_checkpoint() {
        let checkpoint = checkpoint_of("a\nb\n", r#"{"n":2}"#);
        assert_eq!((checkpoint.consumed, checkpoint.lines), (4, 2));
        let (_named, mut file) = file_with("a\nb\nc\n");
        let request = ResumeRequest {
            from: Some(&checkpoint),
            checkpoint_wanted: true,
        };
        let (start, state) = begin::<State>(&mut file, request).unwrap();
        assert_eq!(start.outcome, ResumeOutcome::Resumed { at: 4 });
        assert_eq!(state, Some(State { n: 2 }));
        assert_eq!(start.lines_before(), 2, "line numbers go on from the checkpoint");
        let mut rest = String::new();
        file.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "c\n", "the read starts after the checkpoint");
        let stats = FileStats {
            bytes: 2,
            lines: 1,
            ..FileStats::default()
        };
        let next = start
            .finish(&mut file, &stats, Some(r#"{"n":3}"#.to_owned()))
            .unwrap();
        assert_eq!(
            next,
            checkpoint_of("a\nb\nc\n", r#"{"n":3}"#),
            "same as a read of the whole file"
        );
    }

    #[test]
    fn a_changed_prefix_or_an_unreadable_state_restarts_from_the_beginning() {
        let checkpoint = checkpoint_of("a\nb\n", r#"{"n":2}"#);
        let stale_state = Checkpoint {
            state: r#"{"other":1}"#.to_owned(),
            ..checkpoint.clone()
        };
        for (text, from) in [
            ("a\nX\nc\n", &checkpoint),
            ("a\n", &checkpoint),
            ("a\nb\nc\n", &stale_state),
        ] {
            let (_named, mut file) = file_with(text);
            let request = ResumeRequest {
                from: Some(from),
                checkpoint_wanted: false,
            };
            let (start, state) = begin::<State>(&mut file, request).unwrap();
            assert_eq!(start.outcome, ResumeOutcome::Restarted, "{text:?}");
            assert_eq!(state, None);
            assert_eq!(start.lines_before(), 0);
            let mut all = String::new();
            file.read_to_string(&mut all).unwrap();
            assert_eq!(all, text, "read from the start");
        }
    }

    #[test]
    fn no_checkpoint_is_taken_unless_wanted() {
        let (_named, mut file) = file_with("a\n");
        let (start, _) = begin::<State>(&mut file, ResumeRequest::default()).unwrap();
        assert_eq!(start.outcome, ResumeOutcome::NotTried);
        let stats = FileStats {
            bytes: 2,
            lines: 1,
            ..FileStats::default()
        };
        assert_eq!(start.finish(&mut file, &stats, Some("{}".to_owned())), None);
    }
}
