//! The two ceilings the importer is measured against, timed in-process: parsing every JSONL
//! line into a minimal typed record with the faster of serde_json and simd-json (2 threads, as
//! many as the machine has), and loading the imported rows back with a plain `COPY` into the same
//! fully indexed table.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::de::IgnoredAny;

use crate::typed_line::Line;

/// Threads for the parse ceiling: the benchmark machine's cores.
const PARSE_THREADS: usize = 2;
/// The columns a `COPY` moves: the whole row, as the import left it.
const COLUMNS: &str = "id, content, meta, tree, temporal, created_at, updated_at";

/// One pass of one parser over every line.
#[derive(Clone, Copy, Debug)]
pub struct ParsePass {
    pub parser: &'static str,
    /// Lines decoded into a typed record with their texts extracted (a candidate for the
    /// ceiling), rather than only validated.
    pub typed: bool,
    pub wall: Duration,
    pub lines: u64,
    pub bytes: u64,
    /// Lines the parser rejected (the corpus has none: a non-zero count is a generator bug).
    pub rejected: u64,
}

/// Every parser's pass, fastest first.
pub struct ParseCeiling {
    pub passes: Vec<ParsePass>,
}

impl ParseCeiling {
    /// Each parser's fastest pass over several rounds, fastest first.
    pub fn fastest_of(rounds: Vec<ParseCeiling>) -> ParseCeiling {
        let mut passes: Vec<ParsePass> = Vec::new();
        for pass in rounds.into_iter().flat_map(|round| round.passes) {
            match passes.iter_mut().find(|kept| kept.parser == pass.parser) {
                Some(kept) if pass.wall < kept.wall => *kept = pass,
                Some(_) => {}
                None => passes.push(pass),
            }
        }
        passes.sort_by_key(|pass| pass.wall);
        ParseCeiling { passes }
    }

    /// The ceiling: issue 5's "faster of serde_json (typed) and a SIMD parser", both decoding
    /// the same typed record.
    pub fn fastest(&self) -> &ParsePass {
        self.passes
            .iter()
            .find(|pass| pass.typed)
            .unwrap_or(&self.passes[0])
    }
}

/// Parses every line of `files` into the typed [`Line`] with serde_json and with simd-json's
/// serde support (the ceiling candidates), and, for context, with serde_json into `IgnoredAny`
/// (validation without building values) and with simd-json into its tape (validated structure,
/// no values either).
pub fn parse_ceiling(files: &[PathBuf]) -> io::Result<ParseCeiling> {
    let files = largest_first(files)?;
    let mut passes = vec![
        parse_all("serde_json typed", true, &files, |line| {
            serde_json::from_slice::<Line>(line).map(|line| std::hint::black_box(line.text_bytes()))
        })?,
        parse_all("simd-json typed", true, &files, |line| {
            simd_json::serde::from_slice::<Line>(line).map(|line| std::hint::black_box(line.text_bytes()))
        })?,
        parse_all("serde_json IgnoredAny", false, &files, |line| {
            serde_json::from_slice::<IgnoredAny>(line).map(|_| 0)
        })?,
        parse_all("simd-json tape", false, &files, |line| {
            simd_json::to_tape(line).map(|tape| {
                std::hint::black_box(&tape);
                0
            })
        })?,
    ];
    passes.sort_by_key(|pass| pass.wall);
    Ok(ParseCeiling { passes })
}

/// Parses every line of one tool's transcripts alone with serde_json into the typed [`Line`],
/// as `parser` (the tool's name): the ceiling that tool's dry run, which reads its files alone,
/// is compared with for context. The two tools' passes together take longer than the one pass
/// over all files, in which the threads share the tools' longest files.
pub fn tool_ceiling(tool: &'static str, files: &[PathBuf]) -> io::Result<ParsePass> {
    let files = largest_first(files)?;
    parse_all(tool, true, &files, |line| {
        serde_json::from_slice::<Line>(line).map(|line| std::hint::black_box(line.text_bytes()))
    })
}

/// `files` largest first, so that the threads parsing them finish together.
fn largest_first(files: &[PathBuf]) -> io::Result<Vec<&Path>> {
    let mut by_size: Vec<(u64, &Path)> = files
        .iter()
        .map(|path| Ok((std::fs::metadata(path)?.len(), path.as_path())))
        .collect::<io::Result<_>>()?;
    by_size.sort_by_key(|(size, _)| std::cmp::Reverse(*size));
    Ok(by_size.into_iter().map(|(_, path)| path).collect())
}

/// Times `parse` on every line; a line it returns an error for counts as rejected.
fn parse_all<E>(
    parser: &'static str,
    typed: bool,
    files: &[&Path],
    parse: impl Fn(&mut [u8]) -> Result<usize, E> + Sync,
) -> io::Result<ParsePass> {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let worker = || -> io::Result<(u64, u64, u64)> {
        let (mut lines, mut bytes, mut rejected) = (0, 0, 0);
        let mut line = Vec::with_capacity(1 << 16);
        while let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
            let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
            loop {
                line.clear();
                let read = reader.read_until(b'\n', &mut line)?;
                if read == 0 {
                    break;
                }
                bytes += read as u64;
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                lines += 1;
                rejected += u64::from(parse(&mut line).is_err());
            }
        }
        Ok((lines, bytes, rejected))
    };
    let totals = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..PARSE_THREADS).map(|_| scope.spawn(worker)).collect();
        workers
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<io::Result<Vec<_>>>()
    })?;
    let wall = started.elapsed();
    let (lines, bytes, rejected) = totals.iter().fold((0, 0, 0), |sum, part| {
        (sum.0 + part.0, sum.1 + part.1, sum.2 + part.2)
    });
    Ok(ParsePass {
        parser,
        typed,
        wall,
        lines,
        bytes,
        rejected,
    })
}

/// Saves the rows of `memory` in binary COPY format, split by id into one file per path (each
/// file is one parallel load stream); returns the row count.
pub async fn export_rows(client: &tokio_postgres::Client, paths: &[PathBuf]) -> anyhow::Result<u64> {
    for (part, path) in paths.iter().enumerate() {
        // The last byte of a UUIDv7 is random: an even split.
        let sql = format!(
            "COPY (SELECT {COLUMNS} FROM memory WHERE get_byte(uuid_send(id), 15) % {} = {part}) \
             TO STDOUT (FORMAT binary)",
            paths.len()
        );
        let stream = client.copy_out(&sql).await.context("start COPY TO")?;
        let mut stream = Box::pin(stream);
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        while let Some(chunk) = stream.next().await {
            out.write_all(&chunk.context("COPY TO")?)?;
        }
        out.flush()?;
    }
    let rows: i64 = client.query_one("SELECT count(*) FROM memory", &[]).await?.get(0);
    Ok(rows as u64)
}

/// Loads one file saved by [`export_rows`] with one `COPY FROM STDIN`; returns the rows loaded.
pub async fn load_rows(client: &tokio_postgres::Client, path: &Path) -> anyhow::Result<u64> {
    let mut file = File::open(path)?;
    let mut chunk = vec![0u8; 1 << 20];
    let sql = format!("COPY memory ({COLUMNS}) FROM STDIN (FORMAT binary)");
    let sink = client
        .copy_in::<_, Bytes>(&sql)
        .await
        .context("start COPY FROM")?;
    let mut sink = Box::pin(sink);
    loop {
        let read = file.read(&mut chunk)?;
        if read == 0 {
            break;
        }
        sink.send(Bytes::copy_from_slice(&chunk[..read]))
            .await
            .context("COPY FROM")?;
    }
    sink.as_mut().finish().await.context("finish COPY FROM")
}
