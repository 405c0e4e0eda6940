//! The synthetic session history the import benchmark reads: Claude Code, Codex CLI, OpenCode,
//! Gemini CLI, Cursor, GitHub Copilot CLI, Qwen Code, Aider and Crush data laid out in a private
//! home directory exactly where each tool keeps it on Linux (formats.md sections 1-4,
//! formats-more-tools.md sections 1-5; Aider's and Crush's in project directories under `~/src`),
//! generated deterministically from a fixed seed and a scale.
//!
//! At scale 1.0 the corpus is about 1 GB: half Claude transcripts (including one 200 MB
//! progress-heavy session), a third Codex rollouts (including one 64 MB tool output line), the
//! rest an OpenCode database, and a few percent more of Gemini chats (logs with answers updated
//! in place, and some legacy documents), of Cursor data (an IDE database and agent transcripts),
//! of Copilot CLI event logs (both layouts), of Qwen Code chats and prompt logs, of Aider chat
//! histories and of Crush databases. Session lengths and tool output sizes are log-uniform, a few
//! tool outputs are over 100 KB, and some sessions have a single prompt (which the importer skips
//! by default).
//! Every size, the big file and the big line included, scales linearly.

mod aider;
mod claude;
mod codex;
mod copilot;
mod crush;
mod cursor;
mod gemini;
mod opencode;
mod qwen;
mod text;

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use text::{Rng, TextPools};

/// Bytes of the corpus at scale 1.0 (the issue asks for about 1 GB / 500k messages).
const FULL_SCALE_BYTES: f64 = 1.0e9;
/// Each tool's part of the corpus bytes.
const CLAUDE_SHARE: f64 = 0.50;
const CODEX_SHARE: f64 = 0.35;
const OPENCODE_SHARE: f64 = 0.15;
/// On top of the others, generated last: the other tools' data stays what it was without it.
const GEMINI_SHARE: f64 = 0.03;
/// One Gemini session in this many is a legacy `.json` document.
const GEMINI_DOCUMENT_EVERY: u64 = 12;
/// Likewise on top of the others, generated after Gemini's.
const CURSOR_SHARE: f64 = 0.04;
/// Likewise, generated after Cursor's, in this order.
const AIDER_SHARE: f64 = 0.02;
const CRUSH_SHARE: f64 = 0.02;
const COPILOT_SHARE: f64 = 0.03;
const QWEN_SHARE: f64 = 0.02;
/// The one long Claude session at scale 1.0.
const BIG_FILE_BYTES: f64 = 200.0e6;
/// The one huge Codex tool output line at scale 1.0.
const BIG_LINE_BYTES: f64 = 64.0e6;
/// Distinct project directories the sessions were run in.
const PROJECTS: usize = 60;
/// Sessions start between 2026-01-05 and about six months later.
const FIRST_SESSION_MS: i64 = 1_767_571_200_000;
const SESSION_SPREAD_MS: i64 = 180 * 24 * 3600 * 1000;
const SEED: u64 = 0x6d65_6d74_7265_6521;

/// What was generated for one tool.
#[derive(Clone, Copy, Debug, Default)]
pub struct ToolStats {
    /// Transcript files, or sessions in the OpenCode database.
    pub sessions: u64,
    pub bytes: u64,
    /// JSONL lines, or OpenCode message and part rows.
    pub records: u64,
    /// Conversation records a full-transcript import can store: prompts, answers, thinking,
    /// tool calls and tool results (progress and bookkeeping lines not counted).
    pub messages: u64,
}

impl std::ops::AddAssign for ToolStats {
    fn add_assign(&mut self, other: ToolStats) {
        self.sessions += other.sessions;
        self.bytes += other.bytes;
        self.records += other.records;
        self.messages += other.messages;
    }
}

/// The generated history, and what is needed to grow it.
pub struct Corpus {
    /// The private home directory holding `.claude`, `.codex`, `.local/share/opencode`,
    /// `.gemini`, `.cursor`, `.config/Cursor`, `.copilot`, `.qwen` and the projects under `src/`
    /// (Aider's histories, Crush's databases).
    pub home: PathBuf,
    pub claude: ToolStats,
    pub codex: ToolStats,
    pub opencode: ToolStats,
    pub gemini: ToolStats,
    pub cursor: ToolStats,
    pub copilot: ToolStats,
    pub qwen: ToolStats,
    pub aider: ToolStats,
    pub crush: ToolStats,
    /// Claude and Codex transcripts: the JSONL files of the parse ceiling.
    transcripts: Vec<Box<dyn Session>>,
    /// Gemini logs, Copilot event logs and Qwen chats, grown with the transcripts.
    gemini_logs: Vec<Box<dyn Session>>,
    copilot_logs: Vec<Box<dyn Session>>,
    qwen_chats: Vec<Box<dyn Session>>,
    opencode_db: opencode::Database,
    cursor_store: cursor::Store,
    aider_histories: aider::Histories,
    crush_databases: crush::Databases,
    text: TextPools,
}

impl Corpus {
    pub fn total(&self) -> ToolStats {
        let mut total = self.claude;
        total += self.codex;
        total += self.opencode;
        total += self.gemini;
        total += self.cursor;
        total += self.copilot;
        total += self.qwen;
        total += self.aider;
        total += self.crush;
        total
    }

    /// Every JSONL transcript (Claude and Codex), for the parse ceiling.
    pub fn jsonl_files(&self) -> Vec<PathBuf> {
        self.transcripts
            .iter()
            .map(|transcript| transcript.path().to_path_buf())
            .collect()
    }

    /// Appends about 10% more lines (whole turns) to every tenth transcript, Gemini log, Copilot
    /// event log, Qwen chat and Aider history (every other Aider one also a new launch), and 10%
    /// more messages to every tenth OpenCode session, Cursor composer and Crush session: sessions
    /// resumed since the last import.
    pub fn append_to_a_tenth(&mut self) -> io::Result<ToolStats> {
        let mut added = ToolStats::default();
        // Every tenth Gemini log, Copilot log and Qwen chat from the first: a small share of the
        // corpus holds few.
        let grown = self
            .transcripts
            .iter_mut()
            .skip(9)
            .step_by(10)
            .chain(self.gemini_logs.iter_mut().step_by(10))
            .chain(self.copilot_logs.iter_mut().step_by(10))
            .chain(self.qwen_chats.iter_mut().step_by(10));
        for transcript in grown {
            let mut out = JsonlOut::append(transcript.path())?;
            let target = (transcript.lines() / 10).max(1);
            let mut messages = 0;
            while out.lines < target {
                messages += transcript.write_turn(&mut out, &self.text)?;
            }
            out.finish()?;
            transcript.add_lines(out.lines);
            added += ToolStats {
                sessions: 1,
                bytes: out.bytes,
                records: out.lines,
                messages,
            };
        }
        added += self.opencode_db.append_to_a_tenth(&self.text)?;
        added += self.cursor_store.append_to_a_tenth(&self.text)?;
        added += self.aider_histories.append_to_a_tenth(&self.text)?;
        added += self.crush_databases.append_to_a_tenth(&self.text)?;
        Ok(added)
    }
}

/// Writes the corpus into `home` (which must exist and be empty).
pub fn generate(home: &Path, scale: f64) -> io::Result<Corpus> {
    let text = TextPools::new(SEED);
    let mut rng = Rng::new(SEED);
    let projects: Vec<Project> = (0..PROJECTS).map(|_| Project::new(&mut rng)).collect();
    let budget = |share: f64| (FULL_SCALE_BYTES * scale * share) as u64;
    let mut transcripts: Vec<Box<dyn Session>> = Vec::new();

    let claude_dir = home.join(".claude").join("projects");
    let mut claude = ToolStats::default();
    let big_file = (BIG_FILE_BYTES * scale) as u64;
    let mut big = claude::Session::new(&claude_dir, rng.choose(&projects), rng.fork(), true);
    claude += write_session(&mut big, &text, |out| out.bytes < big_file)?;
    transcripts.push(Box::new(big));
    while claude.bytes < budget(CLAUDE_SHARE) {
        let mut session = claude::Session::new(&claude_dir, rng.choose(&projects), rng.fork(), false);
        claude += write_session(&mut session, &text, turns(&mut rng))?;
        transcripts.push(Box::new(session));
    }

    let codex_dir = home.join(".codex").join("sessions");
    let mut codex = ToolStats::default();
    let big_line = (BIG_LINE_BYTES * scale) as usize;
    let mut giant = codex::Session::new(&codex_dir, rng.choose(&projects), rng.fork(), Some(big_line));
    codex += write_session(&mut giant, &text, turns(&mut rng))?;
    transcripts.push(Box::new(giant));
    while codex.bytes < budget(CODEX_SHARE) {
        let mut session = codex::Session::new(&codex_dir, rng.choose(&projects), rng.fork(), None);
        codex += write_session(&mut session, &text, turns(&mut rng))?;
        transcripts.push(Box::new(session));
    }

    let opencode_dir = home.join(".local").join("share").join("opencode");
    fs::create_dir_all(&opencode_dir)?;
    let (opencode_db, opencode) = opencode::Database::generate(
        &opencode_dir.join("opencode.db"),
        &projects,
        rng.fork(),
        &text,
        budget(OPENCODE_SHARE),
    )?;

    let gemini_home = home.join(".gemini");
    let mut gemini = ToolStats::default();
    let mut registry = gemini::Registry::default();
    let mut gemini_logs: Vec<Box<dyn Session>> = Vec::new();
    while gemini.bytes < budget(GEMINI_SHARE) {
        let project = rng.choose(&projects);
        if (gemini.sessions + 1) % GEMINI_DOCUMENT_EVERY == 0 {
            let turns = rng.log_uniform(1.0, 40.0) as u64;
            gemini += gemini::write_document(&gemini_home, project, rng.fork(), &text, turns)?;
            continue;
        }
        let mut session = gemini::Session::new(&gemini_home, &mut registry, project, rng.fork());
        gemini += write_session(&mut session, &text, turns(&mut rng))?;
        gemini_logs.push(Box::new(session));
    }
    registry.write(&gemini_home)?;
    let (cursor_store, cursor) =
        cursor::Store::generate(home, &projects, rng.fork(), &text, budget(CURSOR_SHARE))?;
    let (aider_histories, aider) =
        aider::Histories::generate(home, &projects, rng.fork(), &text, budget(AIDER_SHARE))?;
    let (crush_databases, crush) =
        crush::Databases::generate(home, &projects, rng.fork(), &text, budget(CRUSH_SHARE))?;

    let copilot_state = home.join(".copilot").join("session-state");
    let mut copilot = ToolStats::default();
    let mut copilot_logs: Vec<Box<dyn Session>> = Vec::new();
    let mut unstarted = rng.fork();
    while copilot.bytes < budget(COPILOT_SHARE) {
        let project = rng.choose(&projects);
        let nth = copilot.sessions + 1;
        if nth % copilot::UNSTARTED_EVERY == 0 {
            copilot::Session::write_unstarted(&copilot_state, project, &mut unstarted)?;
        }
        let flat = nth % copilot::FLAT_EVERY == 0;
        let mut session = copilot::Session::new(&copilot_state, project, rng.fork(), flat);
        copilot += write_session(&mut session, &text, turns(&mut rng))?;
        copilot_logs.push(Box::new(session));
    }

    let qwen_runtime = home.join(".qwen");
    let mut qwen = ToolStats::default();
    let mut prompt_logs = qwen::PromptLogs::default();
    let mut qwen_chats: Vec<Box<dyn Session>> = Vec::new();
    while qwen.bytes < budget(QWEN_SHARE) {
        let project = rng.choose(&projects);
        if (qwen.sessions + 1) % qwen::CHATS_PER_LOGGED_SESSION == 0 {
            qwen += prompt_logs.write_logged_session(project, rng.fork(), &text);
        }
        let mut session = qwen::Session::new(&qwen_runtime, project, rng.fork());
        qwen += write_session(&mut session, &text, turns(&mut rng))?;
        session.log_prompts(&mut prompt_logs);
        qwen_chats.push(Box::new(session));
    }
    qwen += prompt_logs.write(&qwen_runtime)?;

    Ok(Corpus {
        home: home.to_path_buf(),
        claude,
        codex,
        opencode,
        gemini,
        cursor,
        copilot,
        qwen,
        aider,
        crush,
        transcripts,
        gemini_logs,
        copilot_logs,
        qwen_chats,
        opencode_db,
        cursor_store,
        aider_histories,
        crush_databases,
        text,
    })
}

/// A session's length in turns: log-uniform from 1 to 120 (one in seven has a single prompt).
fn turns(rng: &mut Rng) -> impl FnMut(&JsonlOut) -> bool {
    let turns = rng.log_uniform(1.0, 120.0) as u64;
    let mut written = 0;
    move |_| {
        written += 1;
        written <= turns
    }
}

/// Writes turns while `more` says so (asked before each turn), then closes the file.
fn write_session(
    session: &mut dyn Session,
    text: &TextPools,
    mut more: impl FnMut(&JsonlOut) -> bool,
) -> io::Result<ToolStats> {
    let mut out = JsonlOut::create(session.path())?;
    let mut messages = session.write_header(&mut out, text)?;
    while more(&out) {
        messages += session.write_turn(&mut out, text)?;
    }
    out.finish()?;
    session.add_lines(out.lines);
    Ok(ToolStats {
        sessions: 1,
        bytes: out.bytes,
        records: out.lines,
        messages,
    })
}

/// A JSONL transcript that can be written turn by turn, and continued later.
trait Session {
    fn path(&self) -> &Path;
    /// Lines written so far.
    fn lines(&self) -> u64;
    fn add_lines(&mut self, lines: u64);
    /// The lines before the first prompt; returns the messages among them.
    fn write_header(&mut self, out: &mut JsonlOut, text: &TextPools) -> io::Result<u64>;
    /// One prompt and everything up to the final answer; returns the messages written.
    fn write_turn(&mut self, out: &mut JsonlOut, text: &TextPools) -> io::Result<u64>;
}

/// A directory sessions run in, with its git facts.
pub struct Project {
    pub cwd: String,
    pub branch: String,
    pub remote: String,
}

impl Project {
    fn new(rng: &mut Rng) -> Project {
        const OWNERS: &[&str] = &["dev", "alex", "sam", "kim"];
        const NAMES: &[&str] = &[
            "api", "web", "cli", "core", "infra", "docs", "engine", "tools", "mobile", "data",
        ];
        let name = format!("{}-{}{}", rng.pick(NAMES), rng.pick(NAMES), rng.below(100));
        Project {
            cwd: format!("/home/{}/src/{name}", rng.pick(OWNERS)),
            branch: rng
                .pick(&["main", "main", "main", "develop", "feature/import", "fix/parser"])
                .to_string(),
            remote: format!("https://github.com/example/{name}.git"),
        }
    }
}

/// A buffered JSONL file that counts its lines and bytes.
pub struct JsonlOut {
    writer: BufWriter<File>,
    line: Vec<u8>,
    pub bytes: u64,
    pub lines: u64,
}

impl JsonlOut {
    fn create(path: &Path) -> io::Result<JsonlOut> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        Ok(JsonlOut::new(File::create(path)?))
    }

    fn append(path: &Path) -> io::Result<JsonlOut> {
        Ok(JsonlOut::new(OpenOptions::new().append(true).open(path)?))
    }

    fn new(file: File) -> JsonlOut {
        JsonlOut {
            writer: BufWriter::with_capacity(1 << 20, file),
            line: Vec::with_capacity(64 * 1024),
            bytes: 0,
            lines: 0,
        }
    }

    pub fn write(&mut self, record: &Value) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, record)?;
        self.line.push(b'\n');
        self.writer.write_all(&self.line)?;
        self.bytes += self.line.len() as u64;
        self.lines += 1;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// A tool output's size: mostly tens of bytes to a few KB, and one in 700 from 100 to 400 KB.
fn tool_output_len(rng: &mut Rng) -> usize {
    if rng.chance(0.0015) {
        rng.log_uniform(100_000.0, 400_000.0) as usize
    } else {
        rng.log_uniform(20.0, 2_500.0) as usize
    }
}

/// A typed prompt's size.
fn prompt_len(rng: &mut Rng) -> usize {
    rng.log_uniform(15.0, 2_000.0) as usize
}

/// An answer's size.
fn answer_len(rng: &mut Rng) -> usize {
    rng.log_uniform(20.0, 2_500.0) as usize
}

/// A new session's start time.
fn session_start(rng: &mut Rng) -> i64 {
    FIRST_SESSION_MS + rng.below(SESSION_SPREAD_MS as usize) as i64
}
