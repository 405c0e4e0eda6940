//! Running the release `memtree` binary as a child process: a clean environment pointing at
//! the corpus's private home and the benchmark's database only, the wall time, the peak RSS
//! (from `wait4`), and the counts of its `--json` report.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

/// The tools, in the order every scenario imports them.
pub const TOOLS: [&str; 3] = ["claude", "codex", "opencode"];

/// How to run `memtree import` for the benchmark.
pub struct Runner {
    pub binary: PathBuf,
    /// The private home holding the corpus (HOME and XDG_DATA_HOME point into it).
    pub home: PathBuf,
    pub database_url: String,
    pub full_transcript: bool,
    /// Where each run's stderr is kept.
    pub log_dir: PathBuf,
}

/// What one `memtree <tool> import` did.
#[derive(Clone, Debug, Default)]
pub struct ToolRun {
    pub wall: Duration,
    pub peak_rss_bytes: u64,
    pub planned: u64,
    pub input_bytes: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Diagnostics that are problems (unreadable or malformed input).
    pub problems: u64,
}

impl Runner {
    /// Runs `memtree <tool> import --json ...` and waits for it, collecting its resource usage.
    pub fn run(&self, tool: &str, dry_run: bool, label: &str) -> anyhow::Result<ToolRun> {
        let log_path = self.log_dir.join(format!("{label}-{tool}.stderr"));
        let mut command = Command::new(&self.binary);
        command
            .args([tool, "import", "--json", "--database-url", &self.database_url])
            .args(self.full_transcript.then_some("--full-transcript"))
            .args(dry_run.then_some("--dry-run"))
            // Nothing of the user's: no DATABASE_URL/PG* variables, no real home, no local
            // database (the URL is explicit), no CLAUDE_CONFIG_DIR or CODEX_HOME.
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_DATA_HOME", self.home.join(".local").join("share"))
            .current_dir(&self.home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(&log_path)?);
        let started = Instant::now();
        let mut child = command.spawn().context("start memtree")?;
        let mut stdout = Vec::new();
        if let Some(mut pipe) = child.stdout.take() {
            pipe.read_to_end(&mut stdout)?;
        }
        let (status, peak_rss_bytes) = wait_with_peak_rss(child.id())?;
        let wall = started.elapsed();
        // 0: clean; 1: finished with problems in the input; anything else: could not run.
        if status != 0 && status != 1 {
            bail!("memtree {tool} import exited with {status}:\n{}", tail(&log_path));
        }
        let report: Value = serde_json::from_slice(&stdout).with_context(|| {
            format!(
                "memtree {tool} import printed no JSON report:\n{}",
                tail(&log_path)
            )
        })?;
        let count = |pointer: &str| report.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
        let problems = report["diagnostics"].as_array().map_or(0, |diagnostics| {
            diagnostics
                .iter()
                .filter(|diagnostic| matches!(diagnostic["kind"].as_str(), Some("unreadable" | "malformed")))
                .count() as u64
        });
        Ok(ToolRun {
            wall,
            peak_rss_bytes,
            planned: count("/messages/planned"),
            input_bytes: count("/files/bytes"),
            inserted: count("/messages/written/inserted"),
            updated: count("/messages/written/updated"),
            unchanged: count("/messages/written/unchanged"),
            problems,
        })
    }
}

/// Reaps the child with `wait4`, which also returns its resource usage: `ru_maxrss` is the peak
/// resident set size in KiB on Linux. Returns the exit code (128 + signal when killed).
fn wait_with_peak_rss(pid: u32) -> anyhow::Result<(i32, u64)> {
    let pid = pid as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waiting for our own child with valid pointers to locals.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error).context("wait for memtree");
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok((code, usage.ru_maxrss as u64 * 1024))
}

/// The end of a run's stderr, for error messages.
fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(4000);
    let start = (start..text.len())
        .find(|&at| text.is_char_boundary(at))
        .unwrap_or(text.len());
    text[start..].to_owned()
}
