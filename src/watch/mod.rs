//! `memtree watch`: one long-running process that imports each tool's sessions as they change.
//!
//! It owns the loop, not the import: file-system events (`events`) mark which tools changed, a
//! short quiet period lets a burst settle, and each changed tool then goes through one ordinary
//! `import::run`, whose ledger and checkpoints make it read only what changed (a grown transcript
//! from its checkpoint, a new file whole; unchanged files are a `stat` each). A cycle is one such
//! import per changed tool. When the database is away, the tool stays marked and its import is
//! tried again after a wait that doubles up to [`MAX_BACKOFF`]: the files on disk are the queue,
//! so nothing is held in memory and nothing is lost. SIGINT and SIGTERM end the import under way
//! after the group it is writing (that transaction completes; the next run reads the rest) and
//! then the loop; a wait is cut short.

mod events;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::env::EnvLookup;
use crate::import::{self, ImportError, ImportSettings};
use events::{Changes, Wake, Watches};

/// The longest wait between two attempts to reach a database that is away.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The first wait after the database was found away; each further failure doubles it.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// How often to look at the files when file-system events are unavailable and `--poll` was not
/// given.
const FALLBACK_POLL: Duration = Duration::from_secs(2);
/// A burst of changes (a tool writing a turn line by line) delays a cycle by at most this many
/// quiet periods, so a file written without pause is still imported as it grows.
const MAX_DEBOUNCES: u32 = 4;

/// A resolved `memtree watch`: the imports it repeats and how it watches.
#[derive(Clone, Debug)]
pub struct WatchSettings {
    /// One import per tool watched, with the flags given.
    pub imports: Vec<ImportSettings>,
    /// Poll the files this often instead of listening to file-system events.
    pub poll: Option<Duration>,
    /// The quiet period after a change before a cycle starts.
    pub debounce: Duration,
}

/// Why watching stopped other than by a signal (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("cannot watch for changes: {0}")]
    Watcher(#[from] notify::Error),
    #[error("cannot listen for SIGINT and SIGTERM: {0}")]
    Signals(std::io::Error),
}

/// One cycle: what each tool's import did, or why the database could not be reached.
#[derive(Debug, Serialize)]
pub struct CycleReport {
    pub cycle: u64,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: u64,
    pub tools: Vec<ToolCycle>,
    /// The database was away: the tools not imported are tried again after `retry_in_ms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<u64>,
}

/// One tool's import in a cycle.
#[derive(Debug, Serialize)]
pub struct ToolCycle {
    pub tool: &'static str,
    pub files_read: u64,
    pub files_unchanged: u64,
    pub sessions: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Input that could not be read (malformed lines, unreadable files); read again next cycle.
    pub problems: usize,
}

impl CycleReport {
    /// The cycle as one line for people.
    pub fn line(&self) -> String {
        let tools: Vec<String> = self
            .tools
            .iter()
            .map(|tool| {
                let mut text = if tool.inserted + tool.updated == 0 {
                    format!("{}: nothing new", tool.tool)
                } else {
                    format!("{}: {} new, {} updated", tool.tool, tool.inserted, tool.updated)
                };
                text.push_str(&format!(" ({} files read", tool.files_read));
                if tool.problems > 0 {
                    text.push_str(&format!(", {} problems", tool.problems));
                }
                text.push(')');
                text
            })
            .collect();
        let mut line = format!("watch: cycle {}", self.cycle);
        if !tools.is_empty() {
            line.push_str(&format!(": {}", tools.join("; ")));
        }
        if let Some(error) = &self.error {
            let retry = Duration::from_millis(self.retry_in_ms.unwrap_or_default());
            line.push_str(&format!(": {error}; trying again in {} s", retry.as_secs()));
        }
        line.push_str(&format!(" in {} ms", self.duration_ms));
        line
    }
}

/// Watches until SIGINT or SIGTERM, handing each cycle's report to `on_cycle`. Returns once a
/// signal arrived and the group being written is committed; fails when a tool cannot be imported for a
/// reason waiting will not cure (bad settings, a refused login, a migration to run by hand).
pub fn run(
    settings: &WatchSettings,
    env: EnvLookup<'_>,
    on_cycle: &mut dyn FnMut(&CycleReport),
) -> Result<(), WatchError> {
    // Capacity one: a wake-up waiting says all there is to say, whatever else happened.
    let (wake, woken) = sync_channel(1);
    let changes = Changes::new(
        settings
            .imports
            .iter()
            .map(|import| import.roots.clone())
            .collect(),
        wake,
    );
    let stop = listen_for_signals(&changes)?;
    // A signal also ends the import under way, after the group it is writing.
    let imports: Vec<ImportSettings> = settings
        .imports
        .iter()
        .map(|import| ImportSettings {
            stop: Some(Arc::clone(&stop)),
            ..import.clone()
        })
        .collect();
    let mut watches = Watches::new(Arc::clone(&changes), settings.poll, FALLBACK_POLL)?;
    let mut backoff: Option<Duration> = None;
    let mut cycle = 0;
    while !stop.load(Ordering::SeqCst) {
        if changes.take_rearm() {
            watches.arm();
        }
        if !changes.any_dirty() {
            // Nothing to do: sleep until an event or a signal.
            let _ = woken.recv();
            settle(&woken, settings.debounce, &stop);
            continue;
        }
        cycle += 1;
        let report = run_cycle(cycle, &imports, &changes, env, &mut backoff)?;
        on_cycle(&report);
        if let Some(wait) = backoff {
            // Events meanwhile only mark tools; the wait is cut short by a signal alone.
            let deadline = Instant::now() + wait;
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                let _ = woken.recv_timeout(deadline.saturating_duration_since(Instant::now()));
            }
        }
    }
    Ok(())
}

/// One import of every tool marked changed. A database that is away leaves the tools not done
/// marked and sets `backoff`; one that answers clears it.
fn run_cycle(
    cycle: u64,
    imports: &[ImportSettings],
    changes: &Changes,
    env: EnvLookup<'_>,
    backoff: &mut Option<Duration>,
) -> Result<CycleReport, WatchError> {
    let started = Instant::now();
    let mut report = CycleReport {
        cycle,
        finished_at: Utc::now(),
        duration_ms: 0,
        tools: Vec::new(),
        error: None,
        retry_in_ms: None,
    };
    let dirty = changes.take_dirty();
    for (at, &index) in dirty.iter().enumerate() {
        let import = &imports[index];
        if import
            .stop
            .as_ref()
            .is_some_and(|stop| stop.load(Ordering::SeqCst))
        {
            break;
        }
        match import::run(import, env, false) {
            Ok(done) => {
                let written = done.messages.written;
                report.tools.push(ToolCycle {
                    tool: import.source.name(),
                    files_read: done.files.scanned,
                    files_unchanged: done.files.unchanged,
                    sessions: done.sessions.imported,
                    inserted: written.inserted,
                    updated: written.updated,
                    unchanged: written.unchanged,
                    problems: done.problems(),
                });
                for diagnostic in done.diagnostics.iter().filter(|d| d.kind.is_problem()) {
                    tracing::warn!("{}: {}", diagnostic.file.display(), diagnostic.message);
                }
                if let Some(risk) = &done.retention_risk {
                    tracing::warn!("{}", risk.warning());
                }
            }
            Err(error) if error.may_pass() => {
                for &later in &dirty[at..] {
                    changes.mark(later);
                }
                let wait = backoff.map_or(FIRST_BACKOFF, |wait| (wait * 2).min(MAX_BACKOFF));
                *backoff = Some(wait);
                report.error = Some(format!("{error:#}"));
                report.retry_in_ms = Some(wait.as_millis() as u64);
                break;
            }
            Err(error) => return Err(error.into()),
        }
    }
    if report.error.is_none() {
        *backoff = None;
    }
    report.finished_at = Utc::now();
    report.duration_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Waits until no wake-up came for `quiet` (a burst of writes has settled), at most
/// [`MAX_DEBOUNCES`] quiet periods, or a signal.
fn settle(woken: &Receiver<Wake>, quiet: Duration, stop: &AtomicBool) {
    let deadline = Instant::now() + quiet * MAX_DEBOUNCES;
    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        match woken.recv_timeout(quiet) {
            Ok(Wake) => continue,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// SIGINT and SIGTERM set the returned flag and wake the loop, instead of ending the process in
/// the middle of a write.
fn listen_for_signals(changes: &Arc<Changes>) -> Result<Arc<AtomicBool>, WatchError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        // Set in the handler itself, so the import sees it before its next group whatever the
        // thread below is doing.
        signal_hook::flag::register(signal, Arc::clone(&stop)).map_err(WatchError::Signals)?;
    }
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(WatchError::Signals)?;
    // The loop may be asleep waiting for a change: wake it to see the flag.
    let changes = Arc::clone(changes);
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            for signal in signals.forever() {
                tracing::debug!("signal {signal}: stopping after the group being written");
                changes.wake();
            }
        })
        .map_err(WatchError::Signals)?;
    Ok(stop)
}
