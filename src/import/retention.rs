//! The retention guard of an import: the session files on disk, not imported yet, that their
//! tool will delete on its own within [`Retention::WARNING_DAYS`] by its retention setting
//! ([`Source::retention`], [`Retention::deletes_within`]; `status` warns of the same files).
//!
//! Counted among the files this run was to read (the ledger's unchanged files are imported), and
//! after the run among those still not imported: every one in a dry run, and in an import those
//! the ledger will not record because they had a problem.

use std::collections::BTreeSet;
use std::time::SystemTime;

use super::chunks::Listed;
use super::ledger::ledger_path;
use crate::env::EnvLookup;
use crate::report::{ImportReport, RetentionRisk};
use crate::source::{Retention, Source};

/// The files of `listed` whose tool deletes them within [`Retention::WARNING_DAYS`] of `now`, with the
/// retention that says so; `None` when there is none or the tool keeps its sessions.
pub(super) fn doomed(
    source: &dyn Source,
    env: EnvLookup<'_>,
    listed: &[Listed],
    now: SystemTime,
) -> Option<(Retention, BTreeSet<String>)> {
    let retention = source.retention(env)?;
    let files: BTreeSet<String> = listed
        .iter()
        .filter(|(_, state)| {
            state.is_some_and(|state| retention.deletes_within(state.mtime_ns, now, Retention::WARNING_DAYS))
        })
        .map(|(candidate, _)| ledger_path(candidate))
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
        within_days: Retention::WARNING_DAYS,
        setting: retention.setting,
    })
}
