//! `memtree import` with no tool: every source in turn, as `memtree import <tool>` would run it,
//! into one combined report. A source none of whose default locations exists, or holds any of its
//! sessions, is not used on this machine: it is listed as not found, not as an error.

use super::{run, ImportError, ImportSettings};
use crate::env::EnvLookup;
use crate::report::{CombinedReport, ToolImport, ToolOutcome};

/// Runs the import of each of `settings` (one per source, in `SOURCES` order). An import that
/// fails is reported and the next runs, unless the database failed: the next would fail alike.
pub fn run_all(settings: &[ImportSettings], env: EnvLookup<'_>, show_progress: bool) -> CombinedReport {
    let mut tools = Vec::with_capacity(settings.len());
    let mut lost_database = false;
    for settings in settings {
        let tool = settings.source.tool();
        let entry = |outcome, report, note| ToolImport {
            tool,
            outcome,
            report,
            note,
        };
        if lost_database {
            tools.push(entry(
                ToolOutcome::NotRun,
                None,
                Some("an earlier import could not use the database".to_owned()),
            ));
            continue;
        }
        if !settings.roots_given && !settings.roots.iter().any(|root| root.exists()) {
            let places: Vec<String> = settings
                .roots
                .iter()
                .map(|root| format!("`{}`", root.display()))
                .collect();
            let note = format!("no {tool} sessions at {}", places.join(", "));
            tools.push(entry(ToolOutcome::NotFound, None, Some(note)));
            continue;
        }
        match run(settings, env, show_progress) {
            // A default location that is there but holds nothing of the tool (the home
            // directory that Aider's and Crush's projects are searched in) is not found either.
            Ok(report) if !settings.roots_given && report.source_note.is_some() => {
                tools.push(entry(ToolOutcome::NotFound, None, report.source_note))
            }
            Ok(report) => tools.push(entry(ToolOutcome::Imported, Some(report), None)),
            Err(error) => {
                lost_database = matches!(error, ImportError::Store(_));
                tools.push(entry(ToolOutcome::Failed, None, Some(error.to_string())));
            }
        }
    }
    CombinedReport { tools }
}
