//! Streaming JSONL reading with bounded memory: one typed record per line, bad lines reported.
//!
//! Lines up to [`MAX_BUFFERED_LINE`] bytes are read whole and decoded from the buffer; longer
//! lines are decoded straight from the stream, so a 64 MB line costs only the fields the record
//! type keeps (an ignored base64 image costs nothing). A last line without a newline is a torn
//! write the tool has not finished: it is left for the next run, not reported as malformed.

use std::io::{self, BufRead, Read};
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::model::{Diagnostic, DiagnosticKind, FileStats};

/// Lines longer than this are decoded from the stream instead of from a buffer.
pub const MAX_BUFFERED_LINE: usize = 8 << 20;

/// Reads every line of `reader` as a `T`, calling `on_record(line_number, record)` for each
/// well-formed one. Malformed lines become diagnostics; an I/O error ends the file early and is
/// returned after the records before it were delivered.
pub fn read_records<R, T>(
    reader: R,
    path: &Path,
    diagnostics: &mut Vec<Diagnostic>,
    on_record: impl FnMut(u64, T),
) -> io::Result<FileStats>
where
    R: BufRead,
    T: DeserializeOwned,
{
    read_records_limited(reader, path, diagnostics, MAX_BUFFERED_LINE, on_record)
}

/// [`read_records`] with an explicit buffering limit, so tests can exercise the streaming path
/// with small lines.
pub(crate) fn read_records_limited<R, T>(
    mut reader: R,
    path: &Path,
    diagnostics: &mut Vec<Diagnostic>,
    max_buffered: usize,
    mut on_record: impl FnMut(u64, T),
) -> io::Result<FileStats>
where
    R: BufRead,
    T: DeserializeOwned,
{
    let mut stats = FileStats::default();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        crate::failpoint::hit("parse.line");
        let read = read_line_limited(&mut reader, &mut buf, max_buffered)?;
        if read == LineEnd::Eof && buf.is_empty() {
            break;
        }
        let line_number = stats.lines + 1;
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
                trim_line_end(&mut buf);
                if buf.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                decode_buffered::<T>(&buf, path, line_number, diagnostics)
            }
            LineEnd::Overflow => {
                let mut rest = LineRest {
                    inner: &mut reader,
                    ended: None,
                    consumed: 0,
                };
                let result = serde_json::from_reader::<_, T>(io::Cursor::new(&buf[..]).chain(&mut rest));
                let ended = rest.drain()?;
                let consumed = buf.len() as u64 + rest.consumed;
                if ended == LineEnd::Eof {
                    stats.torn_tail = true;
                    break;
                }
                stats.lines += 1;
                stats.bytes += consumed + 1;
                result.map_err(|err| malformed(path, line_number, &err))
            }
        };
        match decoded {
            Ok(record) => on_record(line_number, record),
            Err(diagnostic) => {
                stats.malformed_lines += 1;
                diagnostics.push(diagnostic);
            }
        }
    }
    Ok(stats)
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

fn trim_line_end(buf: &mut Vec<u8>) {
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
}

fn decode_buffered<T: DeserializeOwned>(
    line: &[u8],
    path: &Path,
    line_number: u64,
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<T, Diagnostic> {
    match serde_json::from_slice::<T>(line) {
        Ok(record) => Ok(record),
        Err(err) if std::str::from_utf8(line).is_err() => {
            // Invalid UTF-8 inside a string: keep the line, with the bad bytes replaced.
            let lossy = String::from_utf8_lossy(line);
            match serde_json::from_str::<T>(&lossy) {
                Ok(record) => {
                    diagnostics.push(Diagnostic {
                        file: path.to_path_buf(),
                        line: Some(line_number),
                        kind: DiagnosticKind::InvalidUtf8,
                        message: "invalid UTF-8 replaced with U+FFFD".to_owned(),
                    });
                    Ok(record)
                }
                Err(_) => Err(malformed(path, line_number, &err)),
            }
        }
        Err(err) => Err(malformed(path, line_number, &err)),
    }
}

fn malformed(path: &Path, line_number: u64, err: &serde_json::Error) -> Diagnostic {
    Diagnostic {
        file: path.to_path_buf(),
        line: Some(line_number),
        kind: DiagnosticKind::Malformed,
        message: format!("malformed record: {err}"),
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
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Rec {
        n: u32,
        #[serde(default)]
        s: String,
    }

    fn read(input: &[u8], max: usize) -> (Vec<(u64, Rec)>, FileStats, Vec<Diagnostic>) {
        let mut records = Vec::new();
        let mut diagnostics = Vec::new();
        let stats = read_records_limited(input, Path::new("f.jsonl"), &mut diagnostics, max, |line, rec| {
            records.push((line, rec))
        })
        .unwrap();
        (records, stats, diagnostics)
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

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        let (_, stats, _) = read(deep.as_bytes(), 1 << 20);
        assert_eq!(stats.malformed_lines, 1);
        let (_, stats, _) = read(deep.as_bytes(), 64);
        assert_eq!(stats.malformed_lines, 1);
    }
}
