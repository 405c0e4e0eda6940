//! `.aider.input.history`, beside the chat history: prompt_toolkit's `FileHistory`, every input
//! as `\n# <local time with microseconds>\n` and one `+<line>` per line, appended when the input
//! is accepted (before Aider logs it in the chat history). It also holds answers to Aider's
//! questions (`y`, `n`), which the chat history logs as interface output.
//!
//! A prompt takes the time of the first input with the same text among the next few
//! ([`LOOK_AHEAD`]) not taken yet and not older than its launch: inputs are in the order the
//! prompts are, with the answers between them. The reader goes on from a byte offset a
//! checkpoint can carry, holds only each input's time and the digest of its text, and treats
//! whatever is not in this shape as no input.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::model::Diagnostic;

use super::lines::{decode, read_line};
use super::text::{digest, local_time, normalized};

/// How many inputs past the last one taken a prompt is looked for among.
pub(super) const LOOK_AHEAD: usize = 8;

/// The input history's file name, in the chat history's directory.
pub(super) const INPUT_HISTORY: &str = ".aider.input.history";

/// One input: where it starts, when it was typed, and the digest of its normalized text.
#[derive(Clone, Copy, Debug)]
struct Input {
    offset: u64,
    at: Option<DateTime<Utc>>,
    digest: u64,
}

/// The inputs of one `.aider.input.history`, read on demand from an offset.
pub(super) struct InputHistory {
    path: PathBuf,
    reader: Option<BufReader<File>>,
    /// Whether the file was opened (or found missing or unreadable): it is opened once.
    opened: bool,
    /// Where reading goes on: the offset of the first input not yet in `ahead`.
    next: u64,
    /// The `# <time>` line read past the last input, which starts the next one.
    pending: Option<(u64, Option<DateTime<Utc>>)>,
    ahead: VecDeque<Input>,
    ended: bool,
    buf: Vec<u8>,
}

impl InputHistory {
    /// The input history beside `chat_history`, read from byte `from`.
    pub fn beside(chat_history: &Path, from: u64) -> InputHistory {
        InputHistory {
            path: chat_history.with_file_name(INPUT_HISTORY),
            reader: None,
            opened: false,
            next: from,
            pending: None,
            ahead: VecDeque::new(),
            ended: false,
            buf: Vec::new(),
        }
    }

    /// The offset of the first input not taken: where a later read goes on from.
    pub fn position(&self) -> u64 {
        self.ahead
            .front()
            .map(|input| input.offset)
            .or(self.pending.map(|(offset, _)| offset))
            .unwrap_or(self.next)
    }

    /// The time of the input `text` was typed as (its [`digest`]), if one of the next
    /// [`LOOK_AHEAD`] inputs at or after `since` has it; that input and those before it are taken.
    pub fn time_of(
        &mut self,
        text_digest: u64,
        since: DateTime<Utc>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<DateTime<Utc>> {
        loop {
            self.fill(diagnostics);
            match self.ahead.front() {
                Some(input) if input.at.is_none_or(|at| at < since) => {
                    self.ahead.pop_front();
                }
                _ => break,
            }
        }
        let found = self.ahead.iter().position(|input| input.digest == text_digest)?;
        let at = self.ahead[found].at;
        self.ahead.drain(..=found);
        at
    }

    /// Reads inputs until [`LOOK_AHEAD`] are held or the file ends.
    fn fill(&mut self, diagnostics: &mut Vec<Diagnostic>) {
        if !self.opened {
            self.opened = true;
            self.open(diagnostics);
        }
        while self.ahead.len() < LOOK_AHEAD && !self.ended {
            match self.read_input() {
                Ok(Some(input)) => self.ahead.push_back(input),
                Ok(None) => self.ended = true,
                Err(error) => {
                    diagnostics.push(Diagnostic::unreadable(&self.path, error));
                    self.ended = true;
                }
            }
        }
    }

    fn open(&mut self, diagnostics: &mut Vec<Diagnostic>) {
        let opened = File::open(&self.path).and_then(|mut file| {
            // A file shorter than the offset was rewritten: it is read from its start.
            if file.metadata()?.len() < self.next {
                self.next = 0;
            }
            file.seek(SeekFrom::Start(self.next))?;
            Ok(file)
        });
        match opened {
            Ok(file) => self.reader = Some(BufReader::new(file)),
            Err(error) => {
                // Without it, prompts take their launch's time.
                if error.kind() != io::ErrorKind::NotFound {
                    diagnostics.push(Diagnostic::unreadable(&self.path, error));
                }
                self.ended = true;
            }
        }
    }

    /// The next whole input: its `# <time>` line and the `+` lines after it, up to the next
    /// `# ` line (kept as pending) or the end of the file. Lines of any other shape are skipped.
    fn read_input(&mut self) -> io::Result<Option<Input>> {
        let Some(reader) = self.reader.as_mut() else {
            return Ok(None);
        };
        let mut current = self.pending.take();
        let mut lines: Vec<String> = Vec::new();
        loop {
            let offset = self.next;
            let Some(raw) = read_line(reader, &mut self.buf)? else {
                break;
            };
            if !raw.complete {
                // Still being written: the next read takes it.
                break;
            }
            self.next += raw.consumed;
            let Some((line, _)) = decode(&self.buf, raw.cut) else {
                continue;
            };
            if let Some(time) = line.strip_prefix("# ") {
                let header = (offset, local_time(time));
                if current.is_some() {
                    self.pending = Some(header);
                    break;
                }
                current = Some(header);
            } else if let Some(text) = line.strip_prefix('+') {
                if current.is_some() {
                    lines.push(text.to_owned());
                }
            }
        }
        Ok(current.map(|(offset, at)| Input {
            offset,
            at,
            digest: digest(&normalized(lines.iter().map(String::as_str))),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        local_time(text).unwrap()
    }

    fn history(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(INPUT_HISTORY), text).unwrap();
        let chat = dir.path().join(".aider.chat.history.md");
        (dir, chat)
    }

    #[test]
    fn prompts_take_the_time_of_their_input_and_answers_between_them_are_passed_over() {
        let text = "\n# 2025-01-01 09:00:00.5\n+old\n\n# 2025-01-02 10:00:01.25\n+fix it\n\n\
                    # 2025-01-02 10:00:05\n+y\n\n# 2025-01-02 10:01:00.000001\n+two\n+  lines  \n";
        let (_dir, chat) = history(text);
        let mut inputs = InputHistory::beside(&chat, 0);
        let mut diagnostics = Vec::new();
        let since = at("2025-01-02 10:00:00");
        assert_eq!(
            inputs.time_of(digest("old"), since, &mut diagnostics),
            None,
            "older than the launch"
        );
        assert_eq!(
            inputs.time_of(digest("fix it"), since, &mut diagnostics),
            Some(at("2025-01-02 10:00:01.25"))
        );
        let offset = inputs.position();
        assert_eq!(
            inputs.time_of(digest("two\n  lines"), since, &mut diagnostics),
            Some(at("2025-01-02 10:01:00.000001"))
        );
        assert_eq!(inputs.time_of(digest("fix it"), since, &mut diagnostics), None);
        assert!(diagnostics.is_empty());
        // Read again from the position a checkpoint keeps, the same inputs are found.
        let mut again = InputHistory::beside(&chat, offset);
        assert_eq!(
            again.time_of(digest("two\n  lines"), since, &mut diagnostics),
            Some(at("2025-01-02 10:01:00.000001"))
        );
    }

    #[test]
    fn a_missing_history_gives_no_time_and_no_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let mut inputs = InputHistory::beside(&dir.path().join("chat.md"), 0);
        let mut diagnostics = Vec::new();
        assert_eq!(
            inputs.time_of(digest("x"), at("2025-01-01 00:00:00"), &mut diagnostics),
            None
        );
        assert!(diagnostics.is_empty());
    }

    #[test]
    fn only_the_next_few_inputs_are_looked_at() {
        let mut text = String::new();
        for n in 0..=LOOK_AHEAD {
            text.push_str(&format!("\n# 2025-01-02 10:00:{n:02}\n+input {n}\n"));
        }
        let (_dir, chat) = history(&text);
        let mut inputs = InputHistory::beside(&chat, 0);
        let mut diagnostics = Vec::new();
        let since = at("2025-01-02 10:00:00");
        let last = digest(&format!("input {LOOK_AHEAD}"));
        assert_eq!(inputs.time_of(last, since, &mut diagnostics), None);
        assert!(inputs
            .time_of(digest("input 0"), since, &mut diagnostics)
            .is_some());
        assert!(inputs.time_of(last, since, &mut diagnostics).is_some());
    }
}
