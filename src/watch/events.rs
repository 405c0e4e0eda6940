//! What `watch` listens to: file-system events under each tool's roots (notify: inotify, FSEvents,
//! kqueue, or polling), reduced to one "this tool changed" flag per tool and one wake-up.
//!
//! Nothing here grows with the events: a burst of a million events sets the same flags and leaves
//! at most one wake-up waiting, so memory stays the same over days. A root that does not exist
//! yet (the tool was never run) is watched through its nearest existing ancestor, without
//! recursion; when something appears on the way to it, the watches are armed again.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;
use std::time::Duration;

use notify::{Config, EventKind, PollWatcher, RecommendedWatcher, RecursiveMode, Watcher};

/// One wake-up of the watch loop: something changed, or a signal asked it to stop.
pub(super) struct Wake;

/// What the event handler shares with the loop: per tool, whether it changed since its last
/// import, and whether the watches must be armed again.
pub(super) struct Changes {
    /// Each tool's roots, in the order of the loop's tools.
    roots: Vec<Vec<PathBuf>>,
    dirty: Vec<AtomicBool>,
    rearm: AtomicBool,
    wake: SyncSender<Wake>,
}

impl Changes {
    pub(super) fn new(roots: Vec<Vec<PathBuf>>, wake: SyncSender<Wake>) -> Arc<Changes> {
        let dirty = roots.iter().map(|_| AtomicBool::new(true)).collect();
        Arc::new(Changes {
            roots,
            dirty,
            rearm: AtomicBool::new(false),
            wake,
        })
    }

    /// Takes the tools that changed since the last call, clearing their flags: a change that
    /// arrives while they are imported sets the flag again, for the next cycle.
    pub(super) fn take_dirty(&self) -> Vec<usize> {
        (0..self.dirty.len())
            .filter(|&index| self.dirty[index].swap(false, Ordering::SeqCst))
            .collect()
    }

    /// Marks a tool changed again, so its import is retried (its database was away).
    pub(super) fn mark(&self, index: usize) {
        self.dirty[index].store(true, Ordering::SeqCst);
    }

    pub(super) fn any_dirty(&self) -> bool {
        self.dirty.iter().any(|flag| flag.load(Ordering::SeqCst))
    }

    /// Whether something appeared on the way to a root since the last call.
    pub(super) fn take_rearm(&self) -> bool {
        self.rearm.swap(false, Ordering::SeqCst)
    }

    /// Takes in one notify event: which tools it concerns, and whether a root may now exist.
    fn note(&self, event: notify::Result<notify::Event>) {
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                // An error may mean events were missed (a watched directory vanished, the queue
                // overflowed): import everything once more, it costs only a look at the ledger.
                tracing::warn!("watching for changes: {error}; checking every tool again");
                self.everything_changed();
                return;
            }
        };
        if event.need_rescan() {
            self.everything_changed();
            return;
        }
        // Opening or reading a file changes nothing; memtree's own reads would wake it forever.
        if matches!(event.kind, EventKind::Access(_)) {
            return;
        }
        let mut woke = false;
        for (index, roots) in self.roots.iter().enumerate() {
            for path in &event.paths {
                let under = roots.iter().any(|root| path.starts_with(root));
                let on_the_way = roots.iter().any(|root| root.starts_with(path) && root != path);
                if on_the_way {
                    self.rearm.store(true, Ordering::SeqCst);
                }
                if under || on_the_way {
                    self.dirty[index].store(true, Ordering::SeqCst);
                    woke = true;
                }
            }
        }
        if woke {
            self.wake();
        }
    }

    fn everything_changed(&self) {
        for flag in &self.dirty {
            flag.store(true, Ordering::SeqCst);
        }
        self.rearm.store(true, Ordering::SeqCst);
        self.wake();
    }

    /// Leaves one wake-up for the loop; one already waiting is enough.
    pub(super) fn wake(&self) {
        let _ = self.wake.try_send(Wake);
    }
}

/// The watcher and what it watches now.
pub(super) struct Watches {
    watcher: Box<dyn Watcher + Send>,
    /// Whether the watcher polls (asked for, or because events are unavailable here).
    pub(super) polling: bool,
    poll_interval: Duration,
    changes: Arc<Changes>,
    watched: Vec<(PathBuf, RecursiveMode)>,
}

impl Watches {
    /// A watcher on every root: file-system events, or polling every `poll` when given or when
    /// events are unavailable here.
    pub(super) fn new(
        changes: Arc<Changes>,
        poll: Option<Duration>,
        poll_fallback: Duration,
    ) -> notify::Result<Watches> {
        let poll_interval = poll.unwrap_or(poll_fallback);
        let (watcher, polling) = match poll {
            Some(interval) => (poller(&changes, interval)?, true),
            None => {
                let handler = Arc::clone(&changes);
                match RecommendedWatcher::new(move |event| handler.note(event), Config::default()) {
                    Ok(watcher) => (Box::new(watcher) as Box<dyn Watcher + Send>, false),
                    Err(error) => {
                        tracing::warn!(
                            "file-system events are unavailable ({error}); polling every {} s instead",
                            poll_interval.as_secs()
                        );
                        (poller(&changes, poll_interval)?, true)
                    }
                }
            }
        };
        let mut watches = Watches {
            watcher,
            polling,
            poll_interval,
            changes,
            watched: Vec::new(),
        };
        watches.arm();
        Ok(watches)
    }

    /// Watches each root that exists, recursively, and the nearest existing ancestor of each
    /// that does not, alone; drops watches no longer needed. Called at start and whenever
    /// something appeared on the way to a root.
    pub(super) fn arm(&mut self) {
        let wanted = targets(self.changes.roots.iter().flatten());
        for (path, _) in self.watched.iter().filter(|watched| !wanted.contains(watched)) {
            // The path may be gone already, which removed its watch.
            let _ = self.watcher.unwatch(path);
        }
        let mut armed = Vec::new();
        for (path, mode) in wanted {
            if self.watched.contains(&(path.clone(), mode)) {
                armed.push((path, mode));
                continue;
            }
            match self.watcher.watch(&path, mode) {
                Ok(()) => armed.push((path, mode)),
                Err(error) if !self.polling && is_watch_limit(&error) => {
                    match poller(&self.changes, self.poll_interval) {
                        Ok(poller) => {
                            tracing::warn!(
                                "cannot watch `{}`: {error} (raise fs.inotify.max_user_watches); polling every {} s instead",
                                path.display(),
                                self.poll_interval.as_secs()
                            );
                            self.watcher = poller;
                            self.polling = true;
                            self.watched.clear();
                            return self.arm();
                        }
                        Err(poll_error) => tracing::warn!(
                            "cannot watch `{}`: {error}, and cannot poll instead: {poll_error}",
                            path.display()
                        ),
                    }
                }
                // Vanished between the look and the watch: the next event or cycle arms it.
                Err(error) => tracing::debug!("cannot watch `{}`: {error}", path.display()),
            }
        }
        self.watched = armed;
    }
}

fn poller(changes: &Arc<Changes>, interval: Duration) -> notify::Result<Box<dyn Watcher + Send>> {
    let handler = Arc::clone(changes);
    let config = Config::default().with_poll_interval(interval);
    let watcher = PollWatcher::new(move |event| handler.note(event), config)?;
    Ok(Box::new(watcher))
}

fn is_watch_limit(error: &notify::Error) -> bool {
    match &error.kind {
        notify::ErrorKind::MaxFilesWatch => true,
        notify::ErrorKind::Io(io) => io.raw_os_error() == Some(libc::ENOSPC),
        _ => false,
    }
}

/// What to watch for `roots`: an existing directory recursively; a file through its directory
/// (a tool that replaces the file would end a watch on the file itself); a missing root through
/// its nearest existing ancestor, alone. A path already covered by a recursive watch is left out.
fn targets<'r>(roots: impl Iterator<Item = &'r PathBuf>) -> Vec<(PathBuf, RecursiveMode)> {
    let mut wanted: Vec<(PathBuf, RecursiveMode)> = Vec::new();
    for root in roots {
        let target = if root.is_dir() {
            (root.clone(), RecursiveMode::Recursive)
        } else if root.exists() {
            (parent_of(root), RecursiveMode::NonRecursive)
        } else {
            let mut ancestor = parent_of(root);
            while !ancestor.is_dir() && ancestor.parent().is_some() {
                ancestor = parent_of(&ancestor);
            }
            (ancestor, RecursiveMode::NonRecursive)
        };
        if !wanted.contains(&target) {
            wanted.push(target);
        }
    }
    let recursive: Vec<PathBuf> = wanted
        .iter()
        .filter(|(_, mode)| *mode == RecursiveMode::Recursive)
        .map(|(path, _)| path.clone())
        .collect();
    wanted.retain(|(path, mode)| {
        !recursive
            .iter()
            .any(|outer| path.starts_with(outer) && (outer != path || *mode == RecursiveMode::NonRecursive))
    });
    wanted
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent().unwrap_or(Path::new("/")).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_roots_are_watched_through_their_nearest_ancestor_and_nested_ones_once() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        std::fs::write(base.join("a/file.json"), "{}").unwrap();
        let roots = [
            base.join("a"),
            base.join("a/b"),
            base.join("a/file.json"),
            base.join("missing/deeper/root"),
        ];
        assert_eq!(
            targets(roots.iter()),
            vec![
                (base.join("a"), RecursiveMode::Recursive),
                (base.to_path_buf(), RecursiveMode::NonRecursive),
            ]
        );
    }

    #[test]
    fn events_mark_the_tools_they_concern_and_reading_marks_none() {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let changes = Changes::new(
            vec![
                vec![PathBuf::from("/h/.claude/projects")],
                vec![PathBuf::from("/h/.codex/sessions")],
            ],
            sender,
        );
        assert_eq!(changes.take_dirty(), vec![0, 1]);
        let event = |kind, path: &str| Ok(notify::Event::new(kind).add_path(PathBuf::from(path)));
        changes.note(event(
            EventKind::Access(notify::event::AccessKind::Any),
            "/h/.claude/projects/p/s.jsonl",
        ));
        assert!(!changes.any_dirty() && receiver.try_recv().is_err());
        for _ in 0..1000 {
            changes.note(event(
                EventKind::Modify(notify::event::ModifyKind::Any),
                "/h/.claude/projects/p/s.jsonl",
            ));
        }
        assert_eq!(changes.take_dirty(), vec![0]);
        assert!(!changes.take_rearm());
        // One wake-up waits, however many events came.
        assert!(receiver.try_recv().is_ok() && receiver.try_recv().is_err());
        changes.note(event(
            EventKind::Create(notify::event::CreateKind::Any),
            "/h/.codex",
        ));
        assert_eq!(changes.take_dirty(), vec![1]);
        assert!(changes.take_rearm());
    }
}
