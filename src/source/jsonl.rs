//! Streaming JSONL reading with bounded memory: one typed record per line, bad lines reported.
//!
//! Lines up to [`MAX_BUFFERED_LINE`] bytes are read whole and decoded from the buffer. Longer
//! lines are first reduced (`reduce`): read in chunks with every string longer than
//! [`STRING_BUDGET`] cut, then decoded from the reduced text, so a 64 MB tool output costs a few
//! copies of what the planner stores, not of the line. A line that is still too long after that
//! (many long strings, or mostly structure) is decoded from the stream for its rest. A last line
//! without a newline is a torn write the tool has not finished: it is left for the next run, not
//! reported as malformed.

mod reduce;

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, Read};
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{DeserializeOwned, Deserializer, Visitor};
use serde::Deserialize;

use crate::limits::{MAX_BUFFERED_LINE, MAX_REDUCED_LINE, STRING_BUDGET};
use crate::model::{Diagnostic, DiagnosticKind, FileStats};
use crate::source::visit::text_to;
use crate::source::ParseOutcome;

/// How much of one line is held in memory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LineLimits {
    /// Lines up to this long are decoded as they are.
    pub buffered: usize,
    pub reduce: reduce::Limits,
}

impl Default for LineLimits {
    fn default() -> Self {
        LineLimits {
            buffered: MAX_BUFFERED_LINE,
            reduce: reduce::Limits {
                string_budget: STRING_BUDGET,
                reduced_text: MAX_REDUCED_LINE,
            },
        }
    }
}

/// What one line decodes into. The record may borrow from the line (`Cow<'line, str>` fields
/// with `#[serde(borrow)]`), so only strings with escapes allocate; it lives until `on_record`
/// returns. Borrowed fields must be `Cow`s, not `&str`: a line too long to hold is decoded from
/// the stream, where its strings cannot be borrowed.
pub trait LineRecord {
    type Of<'line>: Deserialize<'line>;
}

/// A JSON string borrowed from the line unless it has escapes. serde borrows a bare
/// `Cow<str>` field only, never one inside an `Option` or another container: use this there.
pub struct LineText<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for LineText<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = LineText<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            text_to!(|text| LineText(text));
        }
        deserializer.deserialize_str(TextVisitor(PhantomData))
    }
}

/// [`LineRecord`] for a type that owns its data.
pub struct Owned<T>(PhantomData<T>);

impl<T: DeserializeOwned> LineRecord for Owned<T> {
    type Of<'line> = T;
}

/// Reads every line of `reader` as an `L::Of`, calling `on_record(line_number, record)` for each
/// well-formed one. Malformed lines become diagnostics; an I/O error ends the file early and is
/// returned after the records before it were delivered.
pub fn read_records<R, L>(
    reader: R,
    path: &Path,
    diagnostics: &mut Vec<Diagnostic>,
    on_record: impl FnMut(u64, L::Of<'_>),
) -> io::Result<FileStats>
where
    R: BufRead,
    L: LineRecord,
{
    read_records_limited::<R, L>(reader, path, diagnostics, LineLimits::default(), on_record)
}

/// [`read_records`] with explicit limits, so tests can exercise the reducing and streaming paths
/// with small lines.
pub(crate) fn read_records_limited<R, L>(
    mut reader: R,
    path: &Path,
    diagnostics: &mut Vec<Diagnostic>,
    limits: LineLimits,
    mut on_record: impl FnMut(u64, L::Of<'_>),
) -> io::Result<FileStats>
where
    R: BufRead,
    L: LineRecord,
{
    let mut stats = FileStats::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        crate::failpoint::hit("parse.line");
        // A line that lies whole in the reader's buffer is decoded where it lies, not copied.
        let mut replaced_in_place = None;
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if let Some(length) = memchr::memchr(b'\n', available).filter(|length| *length <= limits.buffered) {
            let line_number = stats.lines + 1;
            stats.lines += 1;
            stats.bytes += length as u64 + 1;
            if let Some(line) = line_content(&available[..length]) {
                let decoded =
                    decode_buffered::<L>(line, &mut replaced_in_place, path, line_number, diagnostics);
                deliver(decoded, line_number, &mut stats, diagnostics, &mut on_record);
            }
            reader.consume(length + 1);
            continue;
        }
        let read = read_line_limited(&mut reader, &mut buf, limits.buffered)?;
        if read == LineEnd::Eof && buf.is_empty() {
            break;
        }
        let line_number = stats.lines + 1;
        // What a record may borrow besides `buf`: the reduced line, or the line with invalid
        // UTF-8 replaced. Both live until the record is delivered.
        let reduced;
        let mut replaced = None;
        let decoded = match read {
            LineEnd::Eof => {
                if !buf.iter().all(u8::is_ascii_whitespace) {
                    stats.torn_tail = true;
                }
                break;
            }
            LineEnd::Newline => {
                stats.lines += 1;
                stats.bytes += buf.len() as u64 + 1;
                let Some(line) = line_content(&buf) else {
                    continue;
                };
                decode_buffered::<L>(line, &mut replaced, path, line_number, diagnostics)
            }
            LineEnd::Overflow => {
                let prefix_len = buf.len() as u64;
                reduced = reduce::reduce(&buf, &mut reader, reduce::Extent::Line, limits.reduce)?;
                let (decoded, ended, consumed) = match reduced.end {
                    reduce::End::Newline => {
                        // The reduced text holds the line now: free the full buffer first, so
                        // the line is never held three times while it is decoded.
                        buf = Vec::new();
                        (
                            decode_buffered::<L>(
                                &reduced.text,
                                &mut replaced,
                                path,
                                line_number,
                                diagnostics,
                            ),
                            LineEnd::Newline,
                            reduced.consumed,
                        )
                    }
                    reduce::End::Eof => {
                        stats.torn_tail = true;
                        break;
                    }
                    reduce::End::Full { prefix_rest } => {
                        let mut rest = LineRest {
                            inner: &mut reader,
                            ended: None,
                            consumed: 0,
                        };
                        let result = decode_stream::<_, L>(
                            io::Cursor::new(&reduced.text[..])
                                .chain(&buf[prefix_rest..])
                                .chain(&mut rest),
                        );
                        let ended = rest.drain()?;
                        (
                            result.map_err(|err| malformed(path, line_number, &err)),
                            ended,
                            reduced.consumed + rest.consumed,
                        )
                    }
                };
                if ended == LineEnd::Eof {
                    stats.torn_tail = true;
                    break;
                }
                stats.lines += 1;
                stats.bytes += prefix_len + consumed + 1;
                decoded
            }
        };
        deliver(decoded, line_number, &mut stats, diagnostics, &mut on_record);
    }
    Ok(stats)
}

/// Hands a decoded line's record on, or counts the line as malformed and reports it.
fn deliver<T>(
    decoded: Result<T, Diagnostic>,
    line_number: u64,
    stats: &mut FileStats,
    diagnostics: &mut Vec<Diagnostic>,
    on_record: &mut impl FnMut(u64, T),
) {
    match decoded {
        Ok(record) => on_record(line_number, record),
        Err(diagnostic) => {
            stats.malformed_lines += 1;
            diagnostics.push(diagnostic);
        }
    }
}

/// Decodes one record from a stream, as `serde_json::from_reader` does, for a record type that
/// may borrow: from a stream nothing is borrowed, every `Cow` comes out owned.
fn decode_stream<'any, R: Read, L: LineRecord>(reader: R) -> serde_json::Result<L::Of<'any>> {
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let record = L::Of::deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(record)
}

/// One JSON document decoded by [`decode_document`].
pub(crate) struct Document<T> {
    pub decoded: serde_json::Result<T>,
    /// The bytes read.
    pub bytes: u64,
    /// Invalid UTF-8 was replaced with U+FFFD to decode it.
    pub invalid_utf8_replaced: bool,
}

/// Reads a session file that is one JSON document ([`decode_document`]) into `outcome`: the
/// bytes read, and invalid UTF-8 replaced as a diagnostic. `None`, with the file unreadable, when
/// it could not be read; else the decoded value, or why it is malformed.
pub(crate) fn read_document<T: DeserializeOwned>(
    file: File,
    path: &Path,
    outcome: &mut ParseOutcome,
) -> Option<serde_json::Result<T>> {
    let read = match decode_document::<T>(io::BufReader::new(file)) {
        Ok(read) => read,
        Err(err) => {
            outcome.diagnostics.push(Diagnostic::unreadable(path, &err));
            return None;
        }
    };
    outcome.stats.bytes = read.bytes;
    if read.invalid_utf8_replaced {
        outcome.diagnostics.push(Diagnostic::invalid_utf8(path, None));
    }
    Some(read.decoded)
}

/// Decodes one JSON document (which may span lines) from `reader`, reduced like an overlong
/// line, so a big document costs a few copies of what the planner stores, not of the file.
pub(crate) fn decode_document<T: DeserializeOwned>(mut reader: impl BufRead) -> io::Result<Document<T>> {
    let limits = LineLimits::default().reduce;
    let reduced = reduce::reduce(&[], &mut reader, reduce::Extent::Input, limits)?;
    if !matches!(reduced.end, reduce::End::Full { .. }) {
        let (decoded, invalid_utf8_replaced) =
            decode_replacing_invalid_utf8::<Owned<T>>(&reduced.text, &mut None);
        return Ok(Document {
            decoded,
            bytes: reduced.consumed,
            invalid_utf8_replaced,
        });
    }
    let mut rest = CountingReader {
        inner: reader,
        count: 0,
    };
    match serde_json::from_reader(io::Cursor::new(&reduced.text[..]).chain(&mut rest)) {
        Err(err) if err.is_io() => Err(err.into()),
        decoded => Ok(Document {
            decoded,
            bytes: reduced.consumed + rest.count,
            invalid_utf8_replaced: false,
        }),
    }
}

/// A reader that counts the bytes read through it.
struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(out)?;
        self.count += read as u64;
        Ok(read)
    }
}

/// How a line read stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LineEnd {
    /// A newline was found (and consumed, but not stored).
    Newline,
    /// The input ended without a newline.
    Eof,
    /// The buffer limit was reached before the newline.
    Overflow,
}

/// Appends bytes up to the next newline to `buf`, but never more than `max` bytes in all.
fn read_line_limited(reader: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<LineEnd> {
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        if available.is_empty() {
            return Ok(LineEnd::Eof);
        }
        let newline = memchr::memchr(b'\n', available);
        let wanted = newline.unwrap_or(available.len());
        let room = max - buf.len();
        if wanted > room {
            buf.extend_from_slice(&available[..room]);
            reader.consume(room);
            return Ok(LineEnd::Overflow);
        }
        buf.extend_from_slice(&available[..wanted]);
        match newline {
            Some(_) => {
                reader.consume(wanted + 1);
                return Ok(LineEnd::Newline);
            }
            None => reader.consume(wanted),
        }
    }
}

/// A line without its line end (`\r` before the newline), or `None` for a blank line.
fn line_content(line: &[u8]) -> Option<&[u8]> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    (!line.iter().all(u8::is_ascii_whitespace)).then_some(line)
}

/// Decodes one buffered line; a line with invalid UTF-8 is decoded from its repaired copy,
/// kept in `replaced` for the record to borrow.
fn decode_buffered<'line, L: LineRecord>(
    line: &'line [u8],
    replaced: &'line mut Option<String>,
    path: &Path,
    line_number: u64,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<L::Of<'line>, Diagnostic> {
    let (decoded, invalid_utf8_replaced) = decode_replacing_invalid_utf8::<L>(line, replaced);
    if invalid_utf8_replaced {
        diagnostics.push(Diagnostic::invalid_utf8(path, Some(line_number)));
    }
    decoded.map_err(|err| malformed(path, line_number, &err))
}

/// Decodes `text`; text that does not decode because it holds invalid UTF-8 (inside a string)
/// is decoded again with the bad bytes replaced (the repaired text is kept in `replaced`), and
/// says so. The first error is the one kept.
fn decode_replacing_invalid_utf8<'text, L: LineRecord>(
    text: &'text [u8],
    replaced: &'text mut Option<String>,
) -> (serde_json::Result<L::Of<'text>>, bool) {
    // Valid text (nearly every line) is checked once, with SIMD where the CPU has it, and then
    // decoded as text: cheaper than serde_json checking each string of a byte slice it decodes.
    if let Ok(valid) = simdutf8::basic::from_utf8(text) {
        return (serde_json::from_str::<L::Of<'text>>(valid), false);
    }
    // Invalid UTF-8 inside a string the record skips does not make the line malformed: decode
    // the bytes as they are first, and repair them only when that fails.
    match serde_json::from_slice::<L::Of<'text>>(text) {
        Err(err) => {
            let repaired = replaced.insert(String::from_utf8_lossy(text).into_owned());
            match serde_json::from_str::<L::Of<'text>>(repaired) {
                Ok(record) => (Ok(record), true),
                Err(_) => (Err(err), false),
            }
        }
        decoded => (decoded, false),
    }
}

/// Line `line_number` of `path` holds a record that cannot be imported, for `problem`: one that
/// does not decode, or whose content a parser cannot use.
pub(crate) fn malformed(path: &Path, line_number: u64, problem: impl fmt::Display) -> Diagnostic {
    Diagnostic {
        file: path.to_path_buf(),
        line: Some(line_number),
        kind: DiagnosticKind::Malformed,
        message: format!("malformed record: {problem}"),
    }
}

/// `path`, a JSON document read whole, holds something that cannot be imported, as `message`
/// says: the document itself, or a part of it, which has no line of its own.
pub(crate) fn malformed_document(path: &Path, message: String) -> Diagnostic {
    Diagnostic {
        file: path.to_path_buf(),
        line: None,
        kind: DiagnosticKind::Malformed,
        message,
    }
}

/// The remainder of one overlong line, read straight from the underlying reader.
struct LineRest<'a, R> {
    inner: &'a mut R,
    /// Set once the newline (or the end of input) was reached.
    ended: Option<LineEnd>,
    consumed: u64,
}

impl<R: BufRead> LineRest<'_, R> {
    /// Skips whatever the decoder left of the line and tells how the line ended.
    fn drain(&mut self) -> io::Result<LineEnd> {
        let mut sink = [0u8; 8192];
        while self.read(&mut sink)? > 0 {}
        Ok(self.ended.unwrap_or(LineEnd::Eof))
    }
}

impl<R: BufRead> Read for LineRest<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.ended.is_some() || out.is_empty() {
            return Ok(0);
        }
        let available = self.inner.fill_buf()?;
        if available.is_empty() {
            self.ended = Some(LineEnd::Eof);
            return Ok(0);
        }
        // Only look as far as the caller can take: the decoder reads one byte per call, and
        // searching the whole buffer each time would make a long line quadratic.
        let window = &available[..available.len().min(out.len())];
        let newline = memchr::memchr(b'\n', window);
        let wanted = newline.unwrap_or(window.len());
        out[..wanted].copy_from_slice(&available[..wanted]);
        let at_newline = newline.is_some();
        self.inner.consume(wanted + usize::from(at_newline));
        self.consumed += wanted as u64;
        if at_newline {
            self.ended = Some(LineEnd::Newline);
        }
        Ok(wanted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Rec {
        n: u32,
        #[serde(default)]
        s: String,
    }

    fn read(input: &[u8], max: usize) -> (Vec<(u64, Rec)>, FileStats, Vec<Diagnostic>) {
        let limits = LineLimits {
            buffered: max,
            ..LineLimits::default()
        };
        read_with(input, limits)
    }

    fn read_with(input: &[u8], limits: LineLimits) -> (Vec<(u64, Rec)>, FileStats, Vec<Diagnostic>) {
        let mut records = Vec::new();
        let mut diagnostics = Vec::new();
        let stats = read_records_limited::<_, Owned<Rec>>(
            input,
            Path::new("f.jsonl"),
            &mut diagnostics,
            limits,
            |line, rec| records.push((line, rec)),
        )
        .unwrap();
        (records, stats, diagnostics)
    }

    #[test]
    fn lines_across_the_read_buffer_read_as_lines_within_it() {
        // Whole in the buffer, a line is decoded where it lies; one that straddles the buffer's
        // end is copied out first. Every buffer size must give the same records and accounting.
        let input: &[u8] =
            b"{\"n\":1,\"s\":\"a\\nb\"}\r\n  \nnot json\n{\"n\":2,\"s\":\"\xff\"}\n\n{\"n\":3}\n{\"n\":4";
        let whole = read(input, 1024);
        assert_eq!(
            whole.0.iter().map(|(l, r)| (*l, r.n)).collect::<Vec<_>>(),
            [(1, 1), (4, 2), (6, 3)]
        );
        assert_eq!(
            (whole.1.lines, whole.1.malformed_lines, whole.1.torn_tail),
            (6, 1, true)
        );
        for capacity in 1..=input.len() {
            let mut records = Vec::new();
            let mut diagnostics = Vec::new();
            let stats = read_records_limited::<_, Owned<Rec>>(
                io::BufReader::with_capacity(capacity, input),
                Path::new("f.jsonl"),
                &mut diagnostics,
                LineLimits {
                    buffered: 1024,
                    ..LineLimits::default()
                },
                |line, rec| records.push((line, rec)),
            )
            .unwrap();
            assert_eq!((records, stats, diagnostics), whole, "buffer of {capacity} bytes");
        }
    }

    #[test]
    fn reads_lines_and_reports_malformed_ones_with_line_numbers() {
        let (records, stats, diagnostics) = read(b"{\"n\":1}\nnot json\n\n{\"n\":3}\r\n", 1024);
        assert_eq!(
            records.iter().map(|(l, r)| (*l, r.n)).collect::<Vec<_>>(),
            vec![(1, 1), (4, 3)]
        );
        assert_eq!(stats.lines, 4);
        assert_eq!(stats.malformed_lines, 1);
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].line, Some(2));
        assert_eq!(diagnostics[0].kind, DiagnosticKind::Malformed);
        assert!(!stats.torn_tail);
    }

    #[test]
    fn torn_last_line_is_left_for_later_and_not_malformed() {
        let (records, stats, diagnostics) = read(b"{\"n\":1}\n{\"n\":2", 1024);
        assert_eq!(records.len(), 1);
        assert!(stats.torn_tail);
        assert_eq!(stats.bytes, 8);
        assert!(diagnostics.is_empty());
    }

    #[test]
    fn invalid_utf8_is_replaced_and_reported() {
        let (records, _, diagnostics) = read(b"{\"n\":1,\"s\":\"a\xffb\"}\n", 1024);
        assert_eq!(records[0].1.s, "a\u{fffd}b");
        assert_eq!(diagnostics[0].kind, DiagnosticKind::InvalidUtf8);
    }

    #[test]
    fn overlong_lines_are_streamed_and_keep_line_accounting() {
        let long = format!("{{\"n\":2,\"s\":\"{}\"}}\n", "x".repeat(100));
        let input = format!("{{\"n\":1}}\n{long}garbage that is long enough to overflow\n{{\"n\":4}}\n");
        let (records, stats, diagnostics) = read(input.as_bytes(), 16);
        assert_eq!(
            records.iter().map(|(l, r)| (*l, r.n)).collect::<Vec<_>>(),
            vec![(1, 1), (2, 2), (4, 4)]
        );
        assert_eq!(records[1].1.s.len(), 100);
        assert_eq!(stats.lines, 4);
        assert_eq!(stats.bytes, input.len() as u64);
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].line, Some(3));
    }

    fn small_limits(string_budget: usize, reduced_text: usize) -> LineLimits {
        LineLimits {
            buffered: 16,
            reduce: reduce::Limits {
                string_budget,
                reduced_text,
            },
        }
    }

    #[test]
    fn overlong_lines_have_their_long_strings_cut() {
        let input = format!(
            "{{\"n\":1,\"s\":\"{}\",\"x\":\"{}\"}}\n{{\"n\":2}}\n",
            "é".repeat(50),
            "z".repeat(50)
        );
        let (records, stats, diagnostics) = read_with(input.as_bytes(), small_limits(9, 1024));
        assert_eq!(records[0].1.s, "é".repeat(5));
        assert_eq!(records[1].1.n, 2);
        assert_eq!(stats.lines, 2);
        assert_eq!(stats.bytes, input.len() as u64);
        assert!(diagnostics.is_empty());
    }

    #[test]
    fn overlong_lines_with_invalid_utf8_are_kept_as_buffered_ones_are() {
        let input = b"{\"n\":1,\"s\":\"a\xffbcdefghijklmnopqrstuvwxyz\"}\n";
        let (records, _, diagnostics) = read_with(input, small_limits(4, 1024));
        assert_eq!(records[0].1.s, "a\u{fffd}bc");
        assert_eq!(diagnostics[0].kind, DiagnosticKind::InvalidUtf8);
        assert_eq!(diagnostics[0].line, Some(1));
    }

    #[test]
    fn a_line_too_long_even_reduced_is_decoded_from_the_stream_for_its_rest() {
        // The reduced text fills up inside the structure: the first string is cut, the one
        // after the stop is decoded whole, and the accounting stays exact.
        let line = format!(
            "{{\"x\":\"{}\",\"pad\":[{}0],\"n\":7,\"s\":\"{}\"}}",
            "w".repeat(40),
            "1,".repeat(40),
            "y".repeat(40)
        );
        let input = format!("{line}\n{line}\n{}", &line[..60]);
        let (records, stats, diagnostics) = read_with(input.as_bytes(), small_limits(8, 48));
        assert_eq!(records.len(), 2);
        assert_eq!((records[0].1.n, records[0].1.s.len()), (7, 40));
        assert_eq!(records[1].0, 2);
        assert_eq!(stats.lines, 2);
        assert_eq!(stats.bytes, 2 * (line.len() as u64 + 1));
        assert!(stats.torn_tail);
        assert!(diagnostics.is_empty());
    }

    #[test]
    fn a_malformed_overlong_line_is_reported_on_its_line() {
        let input = format!("{{\"n\":1,\"s\":\"{}\" oops}}\n{{\"n\":2}}\n", "q".repeat(40));
        for limits in [small_limits(8, 1024), small_limits(8, 20)] {
            let (records, stats, diagnostics) = read_with(input.as_bytes(), limits);
            assert_eq!(records.len(), 1);
            assert_eq!(stats.malformed_lines, 1);
            assert_eq!(diagnostics[0].line, Some(1));
            assert_eq!(stats.bytes, input.len() as u64);
        }
    }

    #[test]
    fn a_document_spans_lines_and_counts_its_bytes() {
        let text = format!("{{\n  \"n\": 3,\n  \"s\": \"{}\"\n}}\n", "d".repeat(100));
        let document = decode_document::<Rec>(text.as_bytes()).unwrap();
        assert_eq!(
            document.decoded.unwrap(),
            Rec {
                n: 3,
                s: "d".repeat(100)
            }
        );
        assert_eq!(document.bytes, text.len() as u64);
        assert!(!document.invalid_utf8_replaced);
        let document = decode_document::<Rec>(&b"{\"n\": 3} trailing"[..]).unwrap();
        assert!(document.decoded.is_err());
        let document = decode_document::<Rec>(&b"{\"n\": 3, \"s\": \"\xff\"}"[..]).unwrap();
        assert_eq!(document.decoded.unwrap().s, "\u{fffd}");
        assert!(document.invalid_utf8_replaced);
    }

    #[test]
    fn streaming_a_long_line_takes_linear_time() {
        // The decoder pulls the streamed rest one byte at a time from a reader whose buffer
        // holds the whole input: scanning that buffer per byte would never finish.
        let input = format!("{{\"n\":1,\"s\":\"{}\"}}\n{{\"n\":2}}\n", "z".repeat(4 << 20));
        let started = std::time::Instant::now();
        let (records, stats, _) = read(input.as_bytes(), 16);
        assert_eq!(records.len(), 2);
        assert_eq!(stats.lines, 2);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn overlong_torn_tail_is_left_for_later() {
        let input = format!("{{\"n\":1}}\n{{\"n\":2,\"s\":\"{}\"}}", "y".repeat(64));
        let (records, stats, diagnostics) = read(input.as_bytes(), 16);
        assert_eq!(records.len(), 1);
        assert!(stats.torn_tail);
        assert!(diagnostics.is_empty());
    }

    #[test]
    fn two_records_glued_on_one_line_are_malformed() {
        let (records, stats, _) = read(b"{\"n\":1}{\"n\":2}\n", 1024);
        assert!(records.is_empty());
        assert_eq!(stats.malformed_lines, 1);
    }

    /// A record borrowing its string from the line.
    #[derive(Deserialize)]
    struct Borrowing<'a> {
        #[serde(borrow)]
        s: Cow<'a, str>,
    }

    struct BorrowingLine;

    impl LineRecord for BorrowingLine {
        type Of<'line> = Borrowing<'line>;
    }

    /// Each record's string and whether it was borrowed.
    fn read_borrowing(input: &[u8], limits: LineLimits) -> Vec<(String, bool)> {
        let mut records = Vec::new();
        read_records_limited::<_, BorrowingLine>(
            input,
            Path::new("f.jsonl"),
            &mut Vec::new(),
            limits,
            |_, rec| records.push((rec.s.to_string(), matches!(rec.s, Cow::Borrowed(_)))),
        )
        .unwrap();
        records
    }

    #[test]
    fn records_borrow_from_the_line_unless_they_cannot() {
        let input = b"{\"s\":\"plain\"}\n{\"s\":\"esc\\n\"}\n{\"s\":\"bad\xff\"}\n";
        assert_eq!(
            read_borrowing(input, LineLimits::default()),
            vec![
                ("plain".to_owned(), true),
                ("esc\n".to_owned(), false),
                // Decoded from the repaired copy of the line, which it may borrow too.
                ("bad\u{fffd}".to_owned(), true),
            ]
        );
        // Too long even reduced: decoded from the stream, so the string is owned.
        let line = format!(
            "{{\"pad\":[{}0],\"s\":\"{}\"}}\n",
            "1,".repeat(40),
            "y".repeat(40)
        );
        assert_eq!(
            read_borrowing(line.as_bytes(), small_limits(8, 48)),
            vec![("y".repeat(40), false)]
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let (_, stats, _) = read(deep.as_bytes(), 1 << 20);
        assert_eq!(stats.malformed_lines, 1);
        let (_, stats, _) = read(deep.as_bytes(), 64);
        assert_eq!(stats.malformed_lines, 1);
    }
}
