//! Reading a transcript whose messages are too many to hold at once, in two passes, so memory
//! follows a budget and not the file (one Claude session or Codex rollout can hold a gigabyte of
//! tool output).
//!
//! Pass 1 is the ordinary read. While the messages it holds stay within twice [`PART_BYTES`](crate::limits::PART_BYTES) of
//! text nothing changes; once they pass it, the parser drops them and reads on to the end only
//! counting them (a [`MessageTally`], what the session filters need) besides the facts, stats,
//! diagnostics and checkpoint state it keeps anyway. Such a session comes out as an
//! [`OutlinedSession`]: its final facts without messages. Session facts can depend on the last
//! lines of a file (a Claude title), so no message can be planned before pass 1 ends.
//! Pass 2 ([`super::TranscriptParser::read_parts`]) reads the same bytes again, through the same open file and
//! never past what pass 1 consumed (the file may be growing), from the state pass 1 started in,
//! and hands the messages over in parts of about the budget, each a [`Session`] with the final
//! facts. The parts, in order, are the messages a whole read yields.

use std::any::Any;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};

use crate::limits::READ_BUFFER;
use crate::model::{Message, Session};
use crate::scope::{MessageTally, TimeWindow};

/// How much message text one read of a transcript may hold, and the window the session filters
/// count messages against when it holds none.
#[derive(Clone, Copy, Debug)]
pub struct PartBudget {
    /// The text of one part; a whole session may hold twice as much ([`PartBudget::holds_whole`]).
    pub bytes: u64,
    pub window: TimeWindow,
}

impl PartBudget {
    /// Whether a read holding `held` bytes of message text keeps holding it whole. Up to twice
    /// the part size: one message alone may carry a row's most text (`plan::MAX_CONTENT_BYTES`,
    /// also 8 MiB), and a session just past one part is cheaper held once than read twice.
    pub fn holds_whole(&self, held: u64) -> bool {
        held <= self.bytes.saturating_mul(2)
    }

    /// Holds every message: the read yields whole sessions only.
    pub fn unbounded() -> Self {
        PartBudget {
            bytes: u64::MAX,
            window: TimeWindow::default(),
        }
    }
}

/// A session read without its messages: they were more than a [`PartBudget`] allows.
#[derive(Debug)]
pub struct OutlinedSession {
    /// The session with its final facts and no messages.
    pub session: Session,
    /// What the session filters need of its messages.
    pub tally: MessageTally,
    /// Where pass 2 reads its messages.
    pub reread: Reread,
}

impl OutlinedSession {
    /// One part of the session: `messages`, with the outline's id and facts.
    pub(crate) fn part(&self, messages: Vec<Message>) -> Session {
        let session = &self.session;
        Session {
            tool: session.tool,
            id: session.id.clone(),
            source_file: session.source_file.clone(),
            facts: session.facts.clone(),
            messages,
        }
    }
}

/// The bytes pass 1 parsed and the state it started from, for pass 2.
pub struct Reread {
    /// The file pass 1 read (kept open, so a file renamed or replaced meanwhile is still it).
    file: File,
    /// Where pass 1 began: 0, or a checkpoint's offset.
    from: u64,
    /// Lines before `from`.
    pub(crate) lines_before: u64,
    /// Where pass 1 stopped: the end of its last complete line (in the decompressed text of a
    /// compressed file).
    until: u64,
    /// The file is zstd-compressed: pass 2 decompresses it again from its start.
    compressed: bool,
    /// The parser state pass 1 began with (a checkpoint's), as JSON of the parser's own shape.
    pub(crate) state: Option<String>,
    /// Which of the file's sessions, and what pass 1 settled that pass 2 needs to know early: a
    /// value of the parser's own type, which only it reads back ([`Reread::of`]).
    of: Box<dyn Any + Send + Sync>,
}

impl fmt::Debug for Reread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reread")
            .field("from", &self.from)
            .field("lines_before", &self.lines_before)
            .field("until", &self.until)
            .field("compressed", &self.compressed)
            .finish_non_exhaustive()
    }
}

impl Reread {
    /// Pass 2's bounds on `file`: `consumed` bytes of complete lines from `from`.
    pub(crate) fn new(
        file: &File,
        from: u64,
        lines_before: u64,
        consumed: u64,
        state: Option<String>,
        of: impl Any + Send + Sync,
    ) -> io::Result<Reread> {
        Ok(Reread {
            file: file.try_clone()?,
            from,
            lines_before,
            until: consumed,
            compressed: false,
            state,
            of: Box::new(of),
        })
    }

    /// What the parser that outlined the session settled for pass 2, if it is of type `T`.
    pub(crate) fn of<T: 'static>(&self) -> Option<&T> {
        self.of.downcast_ref()
    }

    /// The same bounds on a zstd-compressed file, read from its start.
    pub(crate) fn compressed(self) -> Reread {
        Reread {
            compressed: true,
            ..self
        }
    }

    /// The bytes pass 1 parsed, from where it began.
    pub(crate) fn reader(&self) -> io::Result<Box<dyn io::BufRead + '_>> {
        let mut file = &self.file;
        file.seek(SeekFrom::Start(self.from))?;
        let length = self.until.saturating_sub(self.from);
        Ok(if self.compressed {
            let decoder = zstd::stream::read::Decoder::new(file)?;
            Box::new(BufReader::with_capacity(READ_BUFFER, decoder.take(length)))
        } else {
            Box::new(BufReader::with_capacity(READ_BUFFER, file.take(length)))
        })
    }
}

/// Messages held while a read goes on, with their text size.
#[derive(Debug, Default)]
pub(crate) struct Held {
    messages: Vec<Message>,
    bytes: u64,
}

impl Held {
    pub fn push(&mut self, message: Message) {
        self.bytes += text_bytes(&message);
        self.messages.push(message);
    }

    /// Whether the held text reached `budget`.
    pub fn reached(&self, budget: u64) -> bool {
        self.bytes >= budget
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The messages held, in order; holds none after.
    pub fn take(&mut self) -> Vec<Message> {
        self.bytes = 0;
        std::mem::take(&mut self.messages)
    }
}

/// Bytes of a message's text: what holding it costs.
pub(crate) fn text_bytes(message: &Message) -> u64 {
    message.blocks.iter().map(|block| block.text.len() as u64).sum()
}
