//! Running the release `memtree` binary as a child process: a clean environment pointing at
//! the corpus's private home and the benchmark's database only, the wall time, the peak RSS
//! (sampled from /proc), and the counts of its `--json` report.

use std::fs::File;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

/// How often the child's peak memory is sampled.
const RSS_SAMPLE_INTERVAL: Duration = Duration::from_millis(2);

/// The tools, in the order every scenario imports them: every source memtree reads. A source
/// the corpus has no sessions for is imported too (it finds nothing), so it shows in the tables.
pub fn tools() -> impl Iterator<Item = &'static str> {
    memtree::source::SOURCES.iter().map(|source| source.name())
}

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
            // Aider's and Crush's sessions have the project holding their files as cwd, which
            // lies in the corpus's temporary home: taken as any project's would be.
            .arg("--include-temp-cwd")
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
        // The report comes at the end: read it on a thread while this one samples memory.
        let reader = child.stdout.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut stdout = Vec::new();
                pipe.read_to_end(&mut stdout).map(|_| stdout)
            })
        });
        let (status, peak_rss_bytes) = wait_with_peak_rss(&mut child)?;
        let stdout = match reader {
            Some(reader) => reader
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
            None => Vec::new(),
        };
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

/// Samples the child's peak resident set size (`VmHWM` in /proc/<pid>/status) until it has
/// exited, then reaps it. Not `wait4`'s `ru_maxrss`: Linux folds the parent's own peak into it
/// when the child is spawned (the exec inherits the spawning address space's high-water mark),
/// which would charge the benchmark's memory to memtree. Growth in the last sampling interval
/// before exit can be missed. Returns the exit code and the peak in bytes.
fn wait_with_peak_rss(child: &mut Child) -> anyhow::Result<(i32, u64)> {
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    loop {
        if let Some(kib) = vm_hwm_kib(&status_path) {
            peak_kib = peak_kib.max(kib);
        }
        if exited_unreaped(child.id())? {
            break;
        }
        std::thread::sleep(RSS_SAMPLE_INTERVAL);
    }
    let status = child.wait().context("reap memtree")?;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Ok((code, peak_kib * 1024))
}

pub fn vm_hwm_kib(status_path: &str) -> Option<u64> {
    let status = std::fs::read_to_string(status_path).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether the child has exited, leaving it unreaped (so its pid cannot be reused while sampled).
fn exited_unreaped(pid: u32) -> anyhow::Result<bool> {
    // SAFETY: an all-zero siginfo_t is a valid value for waitid to overwrite.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: polling our own child with a valid pointer to a local.
        let result = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        if result == 0 {
            // SAFETY: waitid filled `info`; si_pid is 0 while the child still runs.
            return Ok(unsafe { info.si_pid() } != 0);
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error).context("wait for memtree");
        }
    }
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
