//! The normalised conversation model every source parser produces: plain data, no I/O.
//!
//! Parsers turn each tool's on-disk format into [`Session`]s made of [`Message`]s made of
//! [`Block`]s. Nothing here knows about PostgreSQL, ltree or rendering; the planner decides
//! what becomes a memory.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The agent tool a session was recorded by, by name (`claude`, `codex`, ...): each source
/// declares its own (`source::Source::tool`). The name is part of every memory id, so a tool is
/// never renamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tool(&'static str);

impl Tool {
    pub const fn named(name: &'static str) -> Tool {
        Tool(name)
    }

    /// The name used in ids, meta (`source_tool`) and on the command line.
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Tool {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0)
    }
}

/// Who (or what) produced a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
    System,
    /// A reasoning summary emitted as its own item (Codex `reasoning`).
    Reasoning,
    /// A tool invocation emitted as its own item (Codex `function_call`, ...).
    ToolCall,
    /// The output of a tool invocation emitted as its own item.
    ToolResult,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
            Role::Reasoning => "reasoning",
            Role::ToolCall => "tool_call",
            Role::ToolResult => "tool_result",
        }
    }
}

/// The kind of one content block. Default rendering keeps [`BlockKind::Text`] only;
/// `--full-transcript` keeps every kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    Text,
    Thinking,
    ToolUse,
    ToolResult,
    System,
}

impl BlockKind {
    /// Every kind (`plan::BlockKinds` holds a slot for each).
    pub const ALL: [BlockKind; 5] = [
        BlockKind::Text,
        BlockKind::Thinking,
        BlockKind::ToolUse,
        BlockKind::ToolResult,
        BlockKind::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BlockKind::Text => "text",
            BlockKind::Thinking => "thinking",
            BlockKind::ToolUse => "tool_use",
            BlockKind::ToolResult => "tool_result",
            BlockKind::System => "system",
        }
    }
}

/// One piece of a message's content, already reduced to text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Block {
    pub kind: BlockKind,
    pub text: String,
    /// The tool that produced a `tool_use` / `tool_result` block.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
}

impl Block {
    pub fn new(kind: BlockKind, text: impl Into<String>) -> Self {
        Block {
            kind,
            text: text.into(),
            tool_name: None,
        }
    }

    pub fn with_tool(kind: BlockKind, text: impl Into<String>, tool_name: impl Into<String>) -> Self {
        Block {
            kind,
            text: text.into(),
            tool_name: Some(tool_name.into()),
        }
    }
}

/// One message of a session: the unit that becomes one memory.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Message {
    /// The tool's own stable id for the message (or a synthetic one that stays stable when the
    /// file grows). Together with the tool and session id it determines the memory id.
    pub id: String,
    /// The session the message was first recorded in, when it differs from the session it was
    /// read from (Claude copies history into resumed sessions). Ids derive from this session so a
    /// copied message maps to the same memory as its original.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin_session_id: Option<String>,
    pub timestamp: DateTime<Utc>,
    pub role: Role,
    pub blocks: Vec<Block>,
    /// The tool invoked, for tool call/result messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_name: Option<String>,
    /// The model in force for this message, when the format records it per message or turn.
    /// Without one, the session's is in force: a parser may leave out a model equal to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The working directory recorded with this message, when the format records it per message.
    /// Without one, the session's is in force: a parser may leave out a cwd equal to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// 1-based line in the source file, or 0 where the source has no lines.
    pub line: u64,
}

/// Facts about a session that do not change per message.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionFacts {
    pub title: Option<String>,
    pub cwd: Option<String>,
    pub git_branch: Option<String>,
    pub git_commit: Option<String>,
    /// The remote URL the tool recorded (Codex `repository_url`).
    pub git_repo: Option<String>,
    pub tool_version: Option<String>,
    /// The front-end that wrote the session (Codex `originator`: `codex_cli_rs`, `codex-tui`, ...).
    pub originator: Option<String>,
    pub model: Option<String>,
    pub provider: Option<String>,
    pub agent_mode: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    /// A subagent / review / side-question session, imported only with `--include-sidechains`.
    pub is_sidechain: bool,
    /// The session this one was spawned from (subagents) or forked from.
    pub parent_session_id: Option<String>,
    /// How the cwd was found when the format does not record it beside the messages (Gemini's
    /// `projects.json`, a `.project_root` file, ...), or `unresolved` when it could not be told
    /// and `cwd` is `None`. `None` when the format records the cwd itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd_origin: Option<String>,
    /// Where message times came from when the format records none per message (a turn's
    /// timestamp tag, the file's time). `None` when every message carries its own time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_origin: Option<String>,
    /// The store's own change marker for the session (OpenCode `time_updated`, epoch ms). The
    /// ledger skips sessions whose marker has not moved since they were imported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// Read on from a [`Checkpoint`]: only the messages after it are here, the earlier ones were
    /// imported by an earlier run, so rules that count a session's messages do not apply.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
    /// Read from a record the tool keeps after the transcript itself is gone (Claude Code's
    /// prompt history, Gemini CLI's prompt log): only what the user typed. Its rows carry
    /// `meta.salvaged_from`, and the session's transcript rows replace them if the transcript is
    /// imported later (`source::Source::salvage`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub salvaged: bool,
}

/// A parsed session, ready for filtering and planning.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Session {
    pub tool: Tool,
    pub id: String,
    /// Where the session was read from: an absolute file path, or `<db>#session/<id>`.
    pub source_file: String,
    pub facts: SessionFacts,
    /// Messages in conversation order, noise already removed.
    pub messages: Vec<Message>,
}

/// What went wrong with one piece of input; never fatal to the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based line number, when the problem is on one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    pub kind: DiagnosticKind,
    pub message: String,
}

/// Categories of [`Diagnostic`], counted in the summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiagnosticKind {
    /// A line or record that is not valid JSON or not of the expected shape.
    Malformed,
    /// A line that is not valid UTF-8 (decoded lossily and still imported).
    InvalidUtf8,
    /// A file or database that could not be opened or read.
    Unreadable,
    /// A message that had to be cut to the size limit.
    Truncated,
    /// A file discovery listed that was gone when it was opened: the tool deleted or renamed it
    /// meanwhile. Not a problem: nothing is lost (rows already imported stay, a renamed file is
    /// read under its new name next run), so it is a warning and does not change the exit code.
    Vanished,
}

impl Diagnostic {
    /// `file` could not be opened or read.
    pub fn unreadable(file: &Path, error: impl fmt::Display) -> Diagnostic {
        Diagnostic {
            file: file.to_path_buf(),
            line: None,
            kind: DiagnosticKind::Unreadable,
            message: format!("cannot read {}: {error}", file.display()),
        }
    }

    /// Invalid UTF-8 in `file` (at `line`, when it is on one) was replaced with U+FFFD to read it.
    pub fn invalid_utf8(file: &Path, line: Option<u64>) -> Diagnostic {
        Diagnostic {
            file: file.to_path_buf(),
            line,
            kind: DiagnosticKind::InvalidUtf8,
            message: "invalid UTF-8 replaced with U+FFFD".to_owned(),
        }
    }

    /// `file` was listed by discovery but no longer existed when it was opened.
    pub fn vanished(file: &Path) -> Diagnostic {
        Diagnostic {
            file: file.to_path_buf(),
            line: None,
            kind: DiagnosticKind::Vanished,
            message: format!(
                "{} was deleted or renamed while the import ran; skipped (a renamed file is read next run)",
                file.display()
            ),
        }
    }
}

impl DiagnosticKind {
    /// Whether this kind means input was lost or could not be read (exit code 1).
    pub fn is_problem(self) -> bool {
        matches!(self, DiagnosticKind::Malformed | DiagnosticKind::Unreadable)
    }
}

/// Line accounting for one source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FileStats {
    pub bytes: u64,
    pub lines: u64,
    pub malformed_lines: u64,
    /// The file ended in a line without a newline: the tool is still writing it, so it was
    /// left for the next run.
    pub torn_tail: bool,
}

/// Where a transcript that only ever grows can be read on from: the parser's state after the
/// file's first `consumed` bytes, and what those bytes were (`source::resume`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Bytes of complete lines the state accounts for.
    pub consumed: u64,
    /// Lines in those bytes: line numbers (and ids made from them) go on from here.
    pub lines: u64,
    /// SHA-256 of those bytes: a file whose prefix changed is read again from its start.
    pub prefix_sha256: Vec<u8>,
    /// The parser's state, as JSON of the parser's own shape.
    pub state: String,
}

/// How a read of a transcript that had a checkpoint began.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ResumeOutcome {
    /// No checkpoint was given: read from the start.
    #[default]
    NotTried,
    /// Read on from the checkpoint, `at` this many bytes into the file.
    Resumed { at: u64 },
    /// The file's prefix is not what the checkpoint saw (rewritten, truncated, replaced), or the
    /// state is not one this parser reads: read from the start.
    Restarted,
}

/// Sessions the ledger has seen at their current revision: session id to revision.
pub type KnownRevisions = std::collections::HashMap<String, i64>;
