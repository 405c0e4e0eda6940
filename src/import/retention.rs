//! The retention guard: the session files on disk, not imported yet, that their tool will delete
//! on its own within [`WARNING_DAYS`] by its retention setting ([`Source::retention`]).
//!
//! Counted among the files this run was to read (the ledger's unchanged files are imported), and
//! after the run among those still not imported: every one in a dry run, and in an import those
//! the ledger will not record because they had a problem.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::chunks::Listed;
use super::ledger::ledger_path;
use crate::env::EnvLookup;
use crate::report::{ImportReport, RetentionRisk};
use crate::source::{Retention, Source};

/// How far ahead the guard looks: a session deleted by its tool within this many days is warned of.
pub const WARNING_DAYS: u64 = 7;

/// The files of `listed` whose tool deletes them within [`WARNING_DAYS`] of `now`, with the
/// retention that says so; `None` when there is none or the tool keeps its sessions.
pub(super) fn doomed(
    source: &dyn Source,
    env: EnvLookup<'_>,
    listed: &[Listed],
    now: SystemTime,
) -> Option<(Retention, BTreeSet<String>)> {
    let retention = source.retention(env)?;
    let horizon = now + Duration::from_secs(WARNING_DAYS * 86_400);
    let files: BTreeSet<String> = listed
        .iter()
        .filter_map(|(candidate, state)| {
            let changed = UNIX_EPOCH + Duration::from_nanos(u64::try_from(state.as_ref()?.mtime_ns).ok()?);
            (changed + retention.max_age <= horizon).then(|| ledger_path(candidate))
        })
        .collect();
    (!files.is_empty()).then_some((retention, files))
}

/// What the report says of `doomed` once the run is over: the files still not imported.
pub(super) fn still_doomed(
    doomed: Option<(Retention, BTreeSet<String>)>,
    report: &ImportReport,
) -> Option<RetentionRisk> {
    let (retention, files) = doomed?;
    let not_imported = if report.dry_run {
        files.len()
    } else {
        let with_problems: BTreeSet<String> = report
            .diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.kind.is_problem())
            .map(|diagnostic| diagnostic.file.to_string_lossy().into_owned())
            .collect();
        files.intersection(&with_problems).count()
    };
    (not_imported > 0).then_some(RetentionRisk {
        tool: report.tool,
        files: not_imported as u64,
        within_days: WARNING_DAYS,
        setting: retention.setting,
    })
}
