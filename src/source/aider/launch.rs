//! One read of a chat history, line by line: launches become sessions, prompts and answers
//! messages, interface lines facts; and the state carried to the next read.
//!
//! A message ends only where the next thing begins (an answer can hold blank lines), so the
//! last message a read sees may still grow. The read hands it over as it is, and the state for
//! a checkpoint is the one from before that message's first line: the next read starts there
//! and hands the message over again, grown, under the same id. Everything before it is settled.

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::limits::STRING_BUDGET;
use crate::model::{
    Block, BlockKind, Diagnostic, DiagnosticKind, FileStats, Message, Role, Session, SessionFacts,
};
use crate::scope::MessageTally;
use crate::source::own_fact;
use crate::source::parts::{text_bytes, Held, PartBudget};
use crate::source::title::title_from_prompt;

use super::history::InputHistory;
use super::lines::{classify, decode, Kind, Prev, RawLine};
use super::text::{
    answer_blocks, digest, fact, input, local_time, naive_time, normalized, user_line, Fact, Input,
};

/// Where the times of a launch's messages came from (`SessionFacts::time_origin`).
const FROM_HEADER: &str = "launch_header";
const FROM_INPUTS: &str = "input_history";
const FROM_PREVIOUS: &str = "previous_launch";
const FROM_FILE: &str = "file_time";

/// What a read carries to the next: everything but the messages.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct State {
    prev: Prev,
    /// Launches begun in the file.
    launches: u64,
    /// The last header's time and how many launches in a row had it: two launches started in
    /// the same second get different ids.
    last_header: Option<(String, u32)>,
    /// The last launch's start: the start of a launch whose header has no time.
    last_start: Option<DateTime<Utc>>,
    /// The file's creation (else modification) time: the start of what precedes every header.
    file_time: Option<DateTime<Utc>>,
    /// Where `.aider.input.history` is read on from.
    input: u64,
    launch: Option<Launch>,
}

/// The launch being read.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Launch {
    id: String,
    /// The header's line (0 before any header): a message's id is its first line counted from it.
    line: u64,
    started_at: DateTime<Utc>,
    /// Where `started_at` came from.
    start_origin: String,
    /// Some prompt took its time from the input history.
    input_times: bool,
    title: Option<String>,
    tool_version: Option<String>,
    model: Option<String>,
    edit_format: Option<String>,
    /// The model in force (`/model` switches it).
    current_model: Option<String>,
    /// The last prompt's time, which the answers after it take.
    last_time: DateTime<Utc>,
    /// Messages read so far.
    messages: u64,
    /// The digest of the prompt the last command sends, and the command's time.
    pending_command: Option<(u64, DateTime<Utc>)>,
    /// The digest of the last answer's text.
    last_answer: Option<u64>,
}

/// What the messages of a read go to.
pub(super) enum Holding<'a> {
    /// Pass 1: held while the read's text is within the budget, then counted.
    Whole(PartBudget),
    /// Pass 2 of one launch: handed over in parts of about `budget` bytes of text.
    Parts {
        budget: u64,
        emit: &'a mut dyn FnMut(Vec<Message>),
    },
}

/// A launch as pass 1 read it: whole, or counted (to be read again in parts from `from`).
pub(super) struct Finished {
    pub session: Session,
    pub counted: Option<MessageTally>,
    /// Where this read of the launch began (its header, or the checkpoint it went on from), the
    /// lines before there and the state there, and where the launch ends.
    pub from: u64,
    pub lines_before: u64,
    pub state: State,
    pub until: u64,
}

/// The state at the start of a line, and where that line is.
pub(super) struct Mark {
    pub state: State,
    pub offset: u64,
    pub lines: u64,
}

/// The message being read.
struct Open {
    role: Role,
    line: u64,
    text: String,
    /// Blank lines read after the text, written only if more text follows.
    blanks: usize,
    /// A user message's lines, normalized when it ends.
    lines: Vec<String>,
    bytes: usize,
}

/// A launch in this read.
struct Current {
    from: u64,
    lines_before: u64,
    state: State,
    resumed: bool,
    held: Held,
    counted: Option<MessageTally>,
    read: u64,
}

/// One read of a chat history.
pub(super) struct Reader<'a> {
    source_file: String,
    cwd: Option<String>,
    state: State,
    open: Option<Open>,
    /// Where the open message began, with the state before it.
    at_open: Option<Mark>,
    history: InputHistory,
    holding: Holding<'a>,
    current: Option<Current>,
    finished: Vec<Finished>,
    held_bytes: u64,
    offset: u64,
    line: u64,
    pub stats: FileStats,
    pub diagnostics: Vec<Diagnostic>,
    path: &'a Path,
}

impl<'a> Reader<'a> {
    /// A read of `path` beginning `offset` bytes (`lines` lines) into it, in `state` (a
    /// checkpoint's, or the start's).
    pub fn new(
        path: &'a Path,
        state: Option<State>,
        offset: u64,
        lines: u64,
        file_time: Option<DateTime<Utc>>,
        holding: Holding<'a>,
    ) -> Reader<'a> {
        let mut state = state.unwrap_or_default();
        state.file_time = state.file_time.or(file_time);
        let history = InputHistory::beside(path, state.input);
        let resumed = state.launch.as_ref().is_some_and(|launch| launch.messages > 0);
        let current = Current {
            from: offset,
            lines_before: lines,
            state: state.clone(),
            resumed,
            held: Held::default(),
            counted: None,
            read: 0,
        };
        Reader {
            source_file: path.display().to_string(),
            cwd: path.parent().map(|dir| dir.to_string_lossy().into_owned()),
            state,
            open: None,
            at_open: None,
            history,
            holding,
            current: Some(current),
            finished: Vec::new(),
            held_bytes: 0,
            offset,
            line: lines,
            stats: FileStats::default(),
            diagnostics: Vec::new(),
            path,
        }
    }

    /// Takes one line read from the file (its bytes without the line end); `false` once the file
    /// ended in a line still being written, which is left for the next read.
    pub fn push(&mut self, raw: &RawLine, bytes: &[u8]) -> bool {
        if !raw.complete {
            if !bytes.iter().all(u8::is_ascii_whitespace) {
                self.stats.torn_tail = true;
            }
            return false;
        }
        let start = self.offset;
        self.offset += raw.consumed;
        self.line += 1;
        self.stats.bytes += raw.consumed;
        self.stats.lines += 1;
        match decode(bytes, raw.cut) {
            None => {
                self.stats.malformed_lines += 1;
                self.report(
                    DiagnosticKind::Malformed,
                    "a NUL byte: binary data, not the text Aider writes",
                );
            }
            Some((text, invalid)) => {
                if invalid {
                    self.report(DiagnosticKind::InvalidUtf8, "invalid UTF-8 replaced with U+FFFD");
                }
                self.take_line(&text, start);
            }
        }
        true
    }

    fn report(&mut self, kind: DiagnosticKind, message: &str) {
        self.diagnostics.push(Diagnostic {
            file: self.path.to_path_buf(),
            line: Some(self.line),
            kind,
            message: message.to_owned(),
        });
    }

    fn take_line(&mut self, text: &str, start: u64) {
        let (kind, next) = classify(text, self.state.prev);
        match kind {
            Kind::Header(time) => {
                self.close();
                self.end_launch(start);
                self.begin_launch(time, start);
            }
            Kind::User => {
                if self.open.as_ref().is_some_and(|open| open.role != Role::User) {
                    self.close();
                }
                self.open_message(Role::User, start);
                if let Some(open) = self.open.as_mut() {
                    if open.bytes < STRING_BUDGET {
                        open.bytes += text.len() + 1;
                        open.lines.push(user_line(text).to_owned());
                    }
                }
            }
            Kind::Ui(opening) => {
                self.close();
                if let (Some(text), Some(launch)) = (opening, self.state.launch.as_mut()) {
                    match fact(text) {
                        Some(Fact::Version(version)) => {
                            launch.tool_version.get_or_insert_with(|| version.to_owned());
                        }
                        Some(Fact::Model(model, format)) => {
                            launch.current_model = Some(model.to_owned());
                            if launch.model.is_none() {
                                launch.model = Some(model.to_owned());
                                launch.edit_format = format.map(str::to_owned);
                            }
                        }
                        None => {}
                    }
                }
            }
            Kind::Blank => match self.open.as_mut() {
                Some(open) if open.role == Role::Assistant => open.blanks += 1,
                Some(_) => self.close(),
                None => {}
            },
            Kind::Assistant => {
                if self
                    .open
                    .as_ref()
                    .is_some_and(|open| open.role != Role::Assistant)
                {
                    self.close();
                }
                self.open_message(Role::Assistant, start);
                if let Some(open) = self.open.as_mut() {
                    if open.bytes < STRING_BUDGET {
                        for _ in 0..std::mem::take(&mut open.blanks) {
                            open.text.push('\n');
                        }
                        if !open.text.is_empty() {
                            open.text.push('\n');
                        }
                        open.text.push_str(text);
                        open.bytes = open.text.len();
                    }
                }
            }
        }
        self.state.prev = next;
    }

    /// Opens a message of `role` at the current line unless one is open; notes the state before it.
    fn open_message(&mut self, role: Role, start: u64) {
        if self.open.is_some() {
            return;
        }
        self.state.input = self.history.position();
        self.at_open = Some(Mark {
            state: self.state.clone(),
            offset: start,
            lines: self.line - 1,
        });
        self.open = Some(Open {
            role,
            line: self.line,
            text: String::new(),
            blanks: 0,
            lines: Vec::new(),
            bytes: 0,
        });
    }

    /// Ends the open message and hands it over, unless it is noise.
    fn close(&mut self) {
        let Some(open) = self.open.take() else { return };
        self.at_open = None;
        if self.state.launch.is_none() {
            self.begin_launch_without_header();
        }
        let Some(launch) = self.state.launch.as_mut() else {
            return;
        };
        let id = (open.line - launch.line).to_string();
        let message = match open.role {
            Role::User => {
                let text = normalized(open.lines.iter().map(String::as_str));
                let input = input(&text);
                let echoed = match (&input, launch.pending_command.take()) {
                    (Input::Prompt(prompt), Some((command, at))) if digest(prompt) == command => Some(at),
                    _ => None,
                };
                // The prompt a command sends takes the command's time; an empty input has none.
                let typed_at = match (&input, echoed) {
                    (_, Some(at)) => Some(at),
                    (Input::Blank, None) => None,
                    _ => self
                        .history
                        .time_of(digest(&text), launch.started_at, &mut self.diagnostics),
                };
                if let Some(at) = typed_at {
                    launch.last_time = at;
                    launch.input_times = true;
                }
                let prompt = match input {
                    Input::Prompt(prompt) => prompt,
                    Input::Command(prompt) => {
                        launch.pending_command = prompt.map(|prompt| (digest(prompt), launch.last_time));
                        return;
                    }
                    Input::Blank => return,
                };
                // An architect hands its answer to the editor as the editor's prompt.
                if launch.last_answer == Some(digest(prompt)) {
                    return;
                }
                if launch.title.is_none() {
                    launch.title = Some(title_from_prompt(prompt)).filter(|title| !title.is_empty());
                }
                let blocks = vec![Block::new(BlockKind::Text, prompt)];
                message(id, launch.last_time, Role::User, blocks, None, open.line)
            }
            _ => {
                let blocks = answer_blocks(&open.text);
                if blocks.is_empty() {
                    return;
                }
                launch.last_answer = Some(digest(&normalized(open.text.lines())));
                let model = own_fact(launch.current_model.as_deref(), launch.model.as_deref());
                message(id, launch.last_time, Role::Assistant, blocks, model, open.line)
            }
        };
        launch.messages += 1;
        self.hand_over(message);
    }

    fn hand_over(&mut self, message: Message) {
        match &mut self.holding {
            Holding::Parts { budget, emit } => {
                let current = self
                    .current
                    .get_or_insert_with(|| Current::new(0, 0, State::default()));
                current.held.push(message);
                if current.held.reached(*budget) {
                    emit(current.held.take());
                }
            }
            Holding::Whole(budget) => {
                let Some(current) = self.current.as_mut() else {
                    return;
                };
                current.read += 1;
                if let Some(tally) = current.counted.as_mut() {
                    tally.count(&message);
                    return;
                }
                self.held_bytes += text_bytes(&message);
                current.held.push(message);
                if !budget.holds_whole(self.held_bytes) {
                    // Launches already read stay whole; this one and those after are counted.
                    current.counted = Some(MessageTally::of(&current.held.take(), budget.window));
                }
            }
        }
    }

    fn begin_launch(&mut self, time: &str, start: u64) {
        self.state.launch = None;
        self.state.input = self.history.position();
        let mut current = Current::new(start, self.line - 1, self.state.clone());
        if self.counting() {
            current.counted = Some(MessageTally::of(&[], self.window()));
        }
        self.current = Some(current);
        self.state.launches += 1;
        let naive = naive_time(time);
        let repeat = match &mut self.state.last_header {
            Some((last, count)) if last == time => {
                *count += 1;
                *count
            }
            _ => {
                self.state.last_header = Some((time.to_owned(), 1));
                1
            }
        };
        let id = match naive {
            Some(naive) if repeat == 1 => naive.format("%Y-%m-%dT%H:%M:%S").to_string(),
            Some(naive) => format!("{}-{repeat}", naive.format("%Y-%m-%dT%H:%M:%S")),
            None => format!("launch-{}", self.state.launches),
        };
        let started = match local_time(time) {
            Some(at) => Some((at, FROM_HEADER)),
            None => self
                .state
                .last_start
                .map(|at| (at, FROM_PREVIOUS))
                .or(self.state.file_time.map(|at| (at, FROM_FILE))),
        };
        self.start(id, self.line, started);
    }

    /// Lines before the first header (a file whose start was cut off) are a launch of their own.
    fn begin_launch_without_header(&mut self) {
        let started = self.state.file_time.map(|at| (at, FROM_FILE));
        self.start("launch-0".to_owned(), 0, started);
    }

    fn start(&mut self, id: String, line: u64, started: Option<(DateTime<Utc>, &str)>) {
        // Nothing tells when: the epoch, so the ids stay what they are.
        let (started_at, origin) = started.unwrap_or((DateTime::UNIX_EPOCH, FROM_FILE));
        self.state.last_start = Some(started_at);
        self.state.launch = Some(Launch {
            id,
            line,
            started_at,
            start_origin: origin.to_owned(),
            input_times: false,
            title: None,
            tool_version: None,
            model: None,
            edit_format: None,
            current_model: None,
            last_time: started_at,
            messages: 0,
            pending_command: None,
            last_answer: None,
        });
    }

    fn counting(&self) -> bool {
        self.finished.iter().any(|finished| finished.counted.is_some())
            || self
                .current
                .as_ref()
                .is_some_and(|current| current.counted.is_some())
    }

    fn window(&self) -> crate::scope::TimeWindow {
        match &self.holding {
            Holding::Whole(budget) => budget.window,
            Holding::Parts { .. } => crate::scope::TimeWindow::default(),
        }
    }

    /// Ends the launch being read at `until`: a session if this read found messages in it.
    fn end_launch(&mut self, until: u64) {
        let Some(current) = self.current.take() else {
            return;
        };
        let Some(launch) = self.state.launch.as_ref() else {
            return;
        };
        if current.read == 0 || matches!(self.holding, Holding::Parts { .. }) {
            return;
        }
        let mut origins = vec![launch.start_origin.as_str()];
        if launch.input_times {
            origins.push(FROM_INPUTS);
        }
        let session = Session {
            tool: super::TOOL,
            id: launch.id.clone(),
            source_file: self.source_file.clone(),
            facts: SessionFacts {
                title: launch.title.clone(),
                cwd: self.cwd.clone(),
                cwd_origin: Some(super::CWD_ORIGIN.to_owned()),
                tool_version: launch.tool_version.clone(),
                model: launch.model.clone(),
                agent_mode: launch.edit_format.clone(),
                started_at: Some(launch.started_at),
                time_origin: Some(origins.join("+")),
                resumed: current.resumed,
                ..SessionFacts::default()
            },
            messages: Vec::new(),
        };
        let Current {
            from,
            lines_before,
            state,
            mut held,
            counted,
            ..
        } = current;
        let session = Session {
            messages: held.take(),
            ..session
        };
        self.finished.push(Finished {
            session,
            counted,
            from,
            lines_before,
            state,
            until,
        });
    }

    /// Ends the read (at the end of the file, or of the launch a pass 2 reads): the launches it
    /// found, and the mark a checkpoint takes (the start of the message still open, else the end
    /// of the read). An answer still open is handed over as it is; a prompt at the end of the
    /// file waits for what Aider writes after every prompt (the answer, or interface output).
    pub fn finish(mut self, end_of_file: bool) -> (Vec<Finished>, Mark) {
        self.state.input = self.history.position();
        let end = Mark {
            state: self.state.clone(),
            offset: self.offset,
            lines: self.line,
        };
        let mark = self.at_open.take().unwrap_or(end);
        if end_of_file && self.open.as_ref().is_some_and(|open| open.role == Role::User) {
            self.open = None;
        }
        self.close();
        if let Holding::Parts { emit, .. } = &mut self.holding {
            if let Some(current) = self.current.as_mut() {
                if !current.held.is_empty() {
                    emit(current.held.take());
                }
            }
        }
        self.end_launch(self.offset);
        (self.finished, mark)
    }

    /// The end of the last complete line read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.diagnostics)
    }
}

impl Current {
    fn new(from: u64, lines_before: u64, state: State) -> Current {
        Current {
            from,
            lines_before,
            state,
            resumed: false,
            held: Held::default(),
            counted: None,
            read: 0,
        }
    }
}

fn message(
    id: String,
    at: DateTime<Utc>,
    role: Role,
    blocks: Vec<Block>,
    model: Option<String>,
    line: u64,
) -> Message {
    Message {
        id,
        origin_session_id: None,
        timestamp: at,
        role,
        blocks,
        tool_name: None,
        model,
        cwd: None,
        line,
    }
}
