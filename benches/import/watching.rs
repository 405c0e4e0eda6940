//! Scenario (8), `memtree watch` (issue 21): the release binary follows 20 Claude Code
//! transcripts that grow by whole turns at a steady rate (one turn every [`TURN_INTERVAL`], the
//! transcripts in turn) for `MEMTREE_BENCH_WATCH_SECS` seconds (60 by default). Measured: the lag
//! from a turn being written to its row being visible (p50, p95, max), memtree's CPU time per
//! appended MB, its CPU time while nothing changes, and its peak RSS. Targets: p95 lag <= 2 s,
//! idle CPU ~0, RSS <= 100 MB.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

use crate::child::{vm_hwm_kib, Runner};

const TRANSCRIPTS: usize = 20;
/// One turn (a prompt and an answer) is appended to one transcript this often.
const TURN_INTERVAL: Duration = Duration::from_millis(250);
/// How often the database is asked which turns are visible.
const POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How long nothing changes while the idle CPU time is measured.
const IDLE: Duration = Duration::from_secs(5);
/// The longest a turn may take to show before the scenario fails.
const GIVE_UP: Duration = Duration::from_secs(60);

/// What the watch scenario measured.
pub struct WatchMeasure {
    pub turns: usize,
    pub appended_bytes: u64,
    pub lag_p50: Duration,
    pub lag_p95: Duration,
    pub lag_max: Duration,
    /// memtree's CPU time (user + system) while the transcripts grew.
    pub cpu: Duration,
    /// memtree's CPU time during [`IDLE`] without a change.
    pub idle_cpu: Duration,
    pub peak_rss_bytes: u64,
}

impl WatchMeasure {
    /// The scenario's lines of the benchmark's report, with the targets.
    pub fn render(&self) -> String {
        let ms = |lag: Duration| lag.as_secs_f64() * 1e3;
        let per_mb = self.cpu.as_secs_f64() / (self.appended_bytes as f64 / 1e6).max(1e-9);
        format!(
            "(8) watch: {} turns ({:.2} MB) appended to {TRANSCRIPTS} transcripts, one every {} ms\n\
             \x20   lag from write to visible row: p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms (target p95 <= 2000 ms)\n\
             \x20   CPU {:.2} s, {:.2} s per appended MB; idle CPU {:.3} s in {} s (target ~0); peak RSS {:.1} MB (target <= 100 MB)\n",
            self.turns,
            self.appended_bytes as f64 / 1e6,
            TURN_INTERVAL.as_millis(),
            ms(self.lag_p50),
            ms(self.lag_p95),
            ms(self.lag_max),
            self.cpu.as_secs_f64(),
            per_mb,
            self.idle_cpu.as_secs_f64(),
            IDLE.as_secs(),
            self.peak_rss_bytes as f64 / 1e6,
        )
    }
}

/// Runs the scenario: `visible` returns which of the given contents have a row.
pub fn measure(
    runner: &Runner,
    seconds: f64,
    visible: &dyn Fn(&[String]) -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<WatchMeasure> {
    let projects = runner.home.join("watch-bench").join("projects");
    let files: Vec<PathBuf> = (0..TRANSCRIPTS)
        .map(|index| {
            let dir = projects.join(format!("-bench-watch-p{index}"));
            std::fs::create_dir_all(&dir)?;
            Ok(dir.join(format!("{index:08}-0000-4000-8000-00000000beef.jsonl")))
        })
        .collect::<std::io::Result<_>>()?;
    let mut turn = 0;
    let mut first = Vec::new();
    for file in &files {
        // Two prompts at start, so that no session is skipped as trivial.
        for _ in 0..2 {
            let (text, content) = turn_lines(file, turn);
            append(file, &text)?;
            first.push(content);
            turn += 1;
        }
    }
    let mut child = start(runner, &projects)?;
    let started = Instant::now();
    let mut waiting: VecDeque<(String, Instant)> =
        first.into_iter().map(|content| (content, started)).collect();
    while !waiting.is_empty() {
        if started.elapsed() > GIVE_UP {
            bail!("the first turns were not imported within {GIVE_UP:?}");
        }
        std::thread::sleep(POLL_INTERVAL);
        waiting = pending_after(visible, waiting, &mut Vec::new())?;
    }
    let idle_from = cpu_time(&child)?;
    std::thread::sleep(IDLE);
    let idle_cpu = cpu_time(&child)? - idle_from;

    let cpu_from = cpu_time(&child)?;
    let mut pending: VecDeque<(String, Instant)> = VecDeque::new();
    let mut lags = Vec::new();
    let (mut appended_bytes, mut turns) = (0, 0);
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let mut next_turn = Instant::now();
    while Instant::now() < until || !pending.is_empty() {
        if Instant::now() >= next_turn && Instant::now() < until {
            let file = &files[turns % TRANSCRIPTS];
            let (text, content) = turn_lines(file, turn);
            append(file, &text)?;
            pending.push_back((content, Instant::now()));
            appended_bytes += text.len() as u64;
            (turn, turns) = (turn + 1, turns + 1);
            next_turn += TURN_INTERVAL;
        }
        pending = pending_after(visible, pending, &mut lags)?;
        if pending
            .front()
            .is_some_and(|(_, written)| written.elapsed() > GIVE_UP)
        {
            bail!("a turn was not imported within {GIVE_UP:?}");
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    let cpu = cpu_time(&child)? - cpu_from;
    let peak_rss_bytes = vm_hwm_kib(&format!("/proc/{}/status", child.id())).unwrap_or(0) * 1024;
    stop(&mut child)?;
    lags.sort_unstable();
    let at = |share: f64| lags[((lags.len() as f64 * share) as usize).min(lags.len() - 1)];
    Ok(WatchMeasure {
        turns,
        appended_bytes,
        lag_p50: at(0.5),
        lag_p95: at(0.95),
        lag_max: *lags.last().context("no turn was appended")?,
        cpu,
        idle_cpu,
        peak_rss_bytes,
    })
}

/// The turns of `pending` not visible yet; the lags of those that are go to `lags`.
fn pending_after(
    visible: &dyn Fn(&[String]) -> anyhow::Result<Vec<String>>,
    pending: VecDeque<(String, Instant)>,
    lags: &mut Vec<Duration>,
) -> anyhow::Result<VecDeque<(String, Instant)>> {
    let contents: Vec<String> = pending.iter().map(|(content, _)| content.clone()).collect();
    let seen = visible(&contents)?;
    let now = Instant::now();
    Ok(pending
        .into_iter()
        .filter(|(content, written)| {
            let shown = seen.contains(content);
            if shown {
                lags.push(now - *written);
            }
            !shown
        })
        .collect())
}

/// A turn of the transcript `file`: a prompt and an answer, and the prompt's text, unique.
fn turn_lines(file: &Path, turn: usize) -> (String, String) {
    let session = file
        .file_stem()
        .and_then(|stem| stem.to_str())
        .unwrap_or_default();
    let cwd = "/bench/watch";
    let prompt = format!("watch bench prompt {turn}:{}", " words of a prompt".repeat(20));
    let line = |role: &str, content: Value| {
        serde_json::json!({
            "type": role, "sessionId": session, "uuid": format!("{session}-{turn}-{role}"), "cwd": cwd,
            "timestamp": "2026-05-01T10:00:00.000Z", "version": "2.1.0",
            "message": { "role": role, "model": "claude-opus-4-5", "content": content },
        })
        .to_string()
            + "\n"
    };
    let answer = serde_json::json!([{ "type": "text", "text": "an answer".repeat(80) }]);
    (
        line("user", Value::from(prompt.clone())) + &line("assistant", answer),
        prompt,
    )
}

fn append(file: &Path, text: &str) -> std::io::Result<()> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?
        .write_all(text.as_bytes())
}

fn start(runner: &Runner, projects: &Path) -> anyhow::Result<Child> {
    let source = projects.to_str().context("a UTF-8 home")?;
    Command::new(&runner.binary)
        .args([
            "watch",
            "claude",
            "--json",
            "--database-url",
            &runner.database_url,
        ])
        .args(["--source", source])
        .args(runner.full_transcript.then_some("--full-transcript"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &runner.home)
        .env("XDG_DATA_HOME", runner.home.join(".local").join("share"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(runner.log_dir.join("watch.stderr"))?)
        .spawn()
        .context("start memtree watch")
}

/// SIGTERM, and a clean exit within the deadline.
fn stop(child: &mut Child) -> anyhow::Result<()> {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + GIVE_UP;
    loop {
        if let Some(status) = child.try_wait()? {
            if status.code() != Some(0) {
                bail!("memtree watch ended with {status} after SIGTERM");
            }
            return Ok(());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("memtree watch did not end within {GIVE_UP:?} of SIGTERM");
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// The child's CPU time so far, user and system (`/proc/<pid>/stat`).
fn cpu_time(child: &Child) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", child.id()))?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("a /proc stat line")?
        .1
        .split_whitespace()
        .collect();
    let ticks =
        |index: usize| -> anyhow::Result<u64> { Ok(fields.get(index).context("a stat field")?.parse()?) };
    // utime and stime are fields 14 and 15 of the line: 11 and 12 counting from the state (3).
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok(Duration::from_secs_f64(
        (ticks(11)? + ticks(12)?) as f64 / per_second,
    ))
}
