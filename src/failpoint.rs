//! Fault injection for the crash tests: named points in the pipeline that kill (or stop) the
//! process when `MEMTREE_FAILPOINT` names them, and do nothing otherwise.
//!
//! `MEMTREE_FAILPOINT=<name>[:<nth>][:stop]`: the `nth` time (default the first) the point named
//! `name` is reached, the process sends itself SIGKILL, as a power cut or the OOM killer would:
//! no destructor, no flush, no rollback from our side. With `:stop` it sends itself SIGSTOP
//! instead, so a test can change the world at that exact moment (delete a source file, stop the
//! database) and let it go on with SIGCONT. The variable is read once.
//!
//! Points exist only in builds with the `failpoints` feature (the crash tests'); in every other
//! build, release included, [`hit`] is an empty inline function and the points cost nothing.

#[cfg(feature = "failpoints")]
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(feature = "failpoints")]
use std::sync::OnceLock;

/// Marks the point `name`: without the `failpoints` feature, nothing.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn hit(_name: &str) {}

#[cfg(feature = "failpoints")]
#[derive(Debug, PartialEq, Eq)]
struct Armed {
    name: String,
    nth: u64,
    action: Action,
}

#[cfg(feature = "failpoints")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Kill,
    Stop,
}

#[cfg(feature = "failpoints")]
static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
#[cfg(feature = "failpoints")]
static HITS: AtomicU64 = AtomicU64::new(0);

/// Marks the point `name`: kills or stops the process if it is the armed point's nth hit.
#[cfg(feature = "failpoints")]
pub fn hit(name: &str) {
    let armed = ARMED.get_or_init(|| {
        crate::env::MEMTREE_FAILPOINT
            .text(&crate::env::process)
            .as_deref()
            .and_then(parse)
    });
    if let Some(armed) = armed {
        if armed.name == name && HITS.fetch_add(1, Ordering::SeqCst) + 1 == armed.nth {
            trigger(armed.action);
        }
    }
}

#[cfg(feature = "failpoints")]
fn trigger(action: Action) {
    let signal = match action {
        Action::Kill => libc::SIGKILL,
        Action::Stop => libc::SIGSTOP,
    };
    // Sent to this thread, not the process: a process-wide signal may be taken by another
    // thread while this one runs on past the point (a stopped import would commit first).
    // SAFETY: signalling our own thread has no memory-safety preconditions.
    unsafe {
        libc::raise(signal);
    }
}

/// `<name>[:<nth>][:stop]`; anything else (empty, a zero or non-numeric count) arms nothing.
#[cfg(feature = "failpoints")]
fn parse(spec: &str) -> Option<Armed> {
    let mut parts = spec.split(':');
    let name = parts.next().filter(|name| !name.is_empty())?.to_owned();
    let mut nth = 1;
    let mut action = Action::Kill;
    for part in parts {
        match part {
            "stop" => action = Action::Stop,
            count => nth = count.parse().ok().filter(|&n| n > 0)?,
        }
    }
    Some(Armed { name, nth, action })
}

#[cfg(all(test, feature = "failpoints"))]
mod tests {
    use super::*;

    #[test]
    fn specs_name_a_point_a_count_and_an_action() {
        let armed = |name: &str, nth, action| {
            Some(Armed {
                name: name.to_owned(),
                nth,
                action,
            })
        };
        assert_eq!(
            parse("write.before_commit"),
            armed("write.before_commit", 1, Action::Kill)
        );
        assert_eq!(parse("parse.file:7"), armed("parse.file", 7, Action::Kill));
        assert_eq!(
            parse("import.discovered:stop"),
            armed("import.discovered", 1, Action::Stop)
        );
        assert_eq!(
            parse("parse.record:3:stop"),
            armed("parse.record", 3, Action::Stop)
        );
        for disarmed in ["", ":3", "write:0", "write:x", "write:-1"] {
            assert_eq!(parse(disarmed), None, "{disarmed:?}");
        }
    }
}
