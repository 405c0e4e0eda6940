//! Aider chat histories (formats-more-tools.md section 3) where Aider writes them: one
//! `.aider.chat.history.md` in each project directory under the home (`~/src/<project>`), appended
//! to by every launch (a header, the interface lines Aider prints on start, then prompts, answers
//! with SEARCH/REPLACE blocks and the interface lines after each), beside its
//! `.aider.input.history` (the time each input was typed, answers to Aider's questions included).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::text::{Rng, TextPools};
use super::{answer_len, prompt_len, session_start, tool_output_len, Project, ToolStats};

const VERSION: &str = "0.86.1";
const MODELS: &[&str] = &[
    "gpt-4.1",
    "claude-sonnet-4-5",
    "deepseek/deepseek-chat",
    "gemini/gemini-2.5-pro",
];
const FORMATS: &[&str] = &["diff", "whole", "udiff"];

/// One project's history, kept so that it can be continued.
struct History {
    path: PathBuf,
    inputs: PathBuf,
    cwd: String,
    model: &'static str,
    /// The time of the last thing written, in epoch ms.
    clock_ms: i64,
}

/// The generated histories and what is needed to add to them.
pub struct Histories {
    files: Vec<History>,
    rng: Rng,
}

/// Bytes, lines and messages written.
#[derive(Default)]
struct Written {
    bytes: u64,
    lines: u64,
    messages: u64,
}

impl Written {
    fn add(&mut self, text: &str) {
        self.bytes += text.len() as u64;
        self.lines += text.matches('\n').count() as u64;
    }
}

impl Histories {
    /// Writes launches into the projects' histories, each project in turn, until about `budget`
    /// bytes.
    pub fn generate(
        home: &Path,
        projects: &[Project],
        rng: Rng,
        text: &TextPools,
        budget: u64,
    ) -> io::Result<(Histories, ToolStats)> {
        let mut histories = Histories {
            files: Vec::new(),
            rng,
        };
        let mut stats = ToolStats::default();
        let mut written = Written::default();
        while written.bytes < budget {
            let project = histories.rng.choose(projects);
            let dir = project_dir(home, project);
            let index = match histories
                .files
                .iter()
                .position(|history| history.cwd == project.cwd)
            {
                Some(index) => index,
                None => {
                    fs::create_dir_all(&dir)?;
                    let start = session_start(&mut histories.rng);
                    histories.files.push(History {
                        path: dir.join(".aider.chat.history.md"),
                        inputs: dir.join(".aider.input.history"),
                        cwd: project.cwd.clone(),
                        model: histories.rng.pick(MODELS),
                        clock_ms: start,
                    });
                    histories.files.len() - 1
                }
            };
            let turns = histories.rng.log_uniform(1.0, 40.0) as u64;
            histories.launch(index, turns, text, &mut written)?;
            stats.sessions += 1;
        }
        stats.bytes = written.bytes;
        stats.records = written.lines;
        stats.messages = written.messages;
        Ok((histories, stats))
    }

    /// Adds about 10% more lines to every tenth history (the first among them, so that a small
    /// corpus has one): turns of its last launch, and in every other one a new launch after them.
    pub fn append_to_a_tenth(&mut self, text: &TextPools) -> io::Result<ToolStats> {
        let mut stats = ToolStats::default();
        let mut written = Written::default();
        for (nth, index) in (0..self.files.len()).step_by(10).enumerate() {
            let lines = fs::read(&self.files[index].path)?
                .iter()
                .filter(|&&byte| byte == b'\n')
                .count() as u64;
            let target = written.lines + (lines / 10).max(1);
            let (mut out, mut inputs) = self.open(index)?;
            while written.lines < target {
                self.turn(index, &mut out, &mut inputs, text, &mut written)?;
            }
            out.flush()?;
            inputs.flush()?;
            if !nth.is_multiple_of(2) {
                self.launch(index, 2, text, &mut written)?;
            }
            stats.sessions += 1;
        }
        stats.bytes = written.bytes;
        stats.records = written.lines;
        stats.messages = written.messages;
        Ok(stats)
    }

    fn open(&self, index: usize) -> io::Result<(BufWriter<File>, BufWriter<File>)> {
        let history = &self.files[index];
        let append = |path: &Path| -> io::Result<BufWriter<File>> {
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            Ok(BufWriter::with_capacity(1 << 16, file))
        };
        Ok((append(&history.path)?, append(&history.inputs)?))
    }

    /// One launch of `turns` turns at the end of history `index`.
    fn launch(
        &mut self,
        index: usize,
        turns: u64,
        text: &TextPools,
        written: &mut Written,
    ) -> io::Result<()> {
        let (mut out, mut inputs) = self.open(index)?;
        let history = &mut self.files[index];
        history.clock_ms += 3_600_000 + self.rng.below(48 * 3_600_000) as i64;
        let format = self.rng.pick(FORMATS);
        let model = history.model;
        let header = format!(
            "\n# aider chat started at {}\n\n> /home/dev/.local/bin/aider --model {model}  \n> Aider v{VERSION}  \n\
             > Main model: {model} with {format} edit format  \n> Git repo: .git with {} files  \n\
             > Repo-map: using 4096 tokens, auto refresh  \n",
            local_time(history.clock_ms, false),
            self.rng.between(10, 900),
        );
        out.write_all(header.as_bytes())?;
        written.add(&header);
        for _ in 0..turns {
            self.turn(index, &mut out, &mut inputs, text, written)?;
        }
        out.flush()?;
        inputs.flush()
    }

    /// A prompt (typed, so also in the input history), its answer with an edit, and the interface
    /// lines Aider writes after it.
    fn turn(
        &mut self,
        index: usize,
        out: &mut impl Write,
        inputs: &mut impl Write,
        text: &TextPools,
        written: &mut Written,
    ) -> io::Result<()> {
        let rng = &mut self.rng;
        let history = &mut self.files[index];
        history.clock_ms += 5_000 + rng.below(900_000) as i64;
        let len = prompt_len(rng);
        let prompt = text.prose(rng, len);
        let prompt = prompt.trim();
        let mut typed = format!("\n# {}\n", local_time(history.clock_ms, true));
        let mut logged = String::from("\n");
        for line in prompt.lines() {
            typed.push_str(&format!("+{line}\n"));
            logged.push_str(&format!("#### {line}  \n"));
        }
        inputs.write_all(typed.as_bytes())?;
        let len = answer_len(rng);
        let answer = text.prose(rng, len);
        let len = tool_output_len(rng).min(20_000);
        let code = text.code(rng, len);
        let file = format!("src/{}.rs", rng.base62(6));
        let commit = rng.hex(7);
        let reply = format!(
            "\n{}\n\n{file}\n```rust\n<<<<<<< SEARCH\n=======\n{}\n>>>>>>> REPLACE\n```\n\n",
            answer.trim(),
            code.trim_end()
        );
        let after = format!(
            "> Tokens: {}k sent, {} received. Cost: $0.0{} message, $0.{} session.  \n\
             > Applied edit to {file}  \n> Commit {commit} feat: {}  \n",
            rng.between(2, 40),
            rng.between(50, 3000),
            rng.between(1, 9),
            rng.between(10, 99),
            text.prose(rng, 40).trim().replace('\n', " "),
        );
        for piece in [&logged, &reply, &after] {
            out.write_all(piece.as_bytes())?;
            written.add(piece);
        }
        written.messages += 2;
        Ok(())
    }
}

/// The project's directory on disk: `~/src/<its name>`.
fn project_dir(home: &Path, project: &Project) -> PathBuf {
    let name = project.cwd.rsplit('/').next().unwrap_or("project");
    home.join("src").join(name)
}

/// A time as Aider writes it (the machine's local time, UTC here), with microseconds in the input
/// history.
fn local_time(unix_ms: i64, micros: bool) -> String {
    let at = chrono::DateTime::from_timestamp_millis(unix_ms).unwrap_or_default();
    if micros {
        at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
    } else {
        at.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}
