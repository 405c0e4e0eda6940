//! One import's settings: every flag validated and every default filled in (`cli` resolves them
//! from the command line), and what they decide for the ledger and the session filters.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::Utc;

use crate::filter::FilterOptions;
use crate::ledger;
use crate::plan::ContentMode;
use crate::scope::{ProjectScope, TimeWindow};
use crate::source::Source;
use crate::store::target::DbTarget;

/// A fully resolved import: every flag validated, every default filled in.
#[derive(Clone, Debug)]
pub struct ImportSettings {
    /// The tool whose sessions are imported.
    pub source: &'static dyn Source,
    pub roots: Vec<PathBuf>,
    /// The roots came from `--source` (a missing one is then an error, not an empty history).
    pub roots_given: bool,
    pub project: Option<ProjectScope>,
    pub window: TimeWindow,
    pub tree_root: String,
    pub sessions_node_name: String,
    pub mode: ContentMode,
    pub include_sidechains: bool,
    pub include_temp_cwd: bool,
    pub include_trivial: bool,
    pub dry_run: bool,
    /// Read every file, even those the ledger says are unchanged.
    pub rescan: bool,
    /// Replace secrets before anything is stored (off with `--no-redact`).
    pub redact: bool,
    /// Import the prompts the tool keeps of sessions whose transcript is gone
    /// (`Source::salvage`; off with `--no-salvage`).
    pub salvage: bool,
    pub database: DbTarget,
    pub schema: String,
    /// When set (by `watch`, on SIGINT or SIGTERM), the run ends after the group being written:
    /// what was committed stays, and the next run reads the rest.
    pub stop: Option<Arc<AtomicBool>>,
}

impl ImportSettings {
    /// Whether the run was asked to end early ([`ImportSettings::stop`]).
    pub(super) fn stopping(&self) -> bool {
        self.stop.as_ref().is_some_and(|stop| stop.load(Ordering::SeqCst))
    }

    /// The ledger key of this run: every option that changes what rows a file yields.
    pub(super) fn ledger_key(&self) -> String {
        ledger::options_key(&[self.shape_options(), self.scope_options()].concat())
    }

    /// Keys under which recorded files count as unchanged: this run's, and the same options
    /// without session filters (a file fully imported is also imported for a narrower run).
    pub(super) fn accepted_ledger_keys(&self) -> Vec<String> {
        vec![
            self.ledger_key(),
            ledger::options_key(&[self.shape_options(), Self::unfiltered_scope()].concat()),
        ]
    }

    fn shape_options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("content_mode", self.mode.as_str().to_owned()),
            ("tree_root", self.tree_root.clone()),
            ("sessions_node_name", self.sessions_node_name.clone()),
            ("include_sidechains", self.include_sidechains.to_string()),
            ("include_temp_cwd", self.include_temp_cwd.to_string()),
            ("include_trivial", self.include_trivial.to_string()),
            ("redact", self.redact.to_string()),
        ]
    }

    fn scope_options(&self) -> Vec<(&'static str, String)> {
        let time = |at: Option<chrono::DateTime<Utc>>| at.map(|at| at.to_rfc3339()).unwrap_or_default();
        vec![
            (
                "project",
                self.project
                    .as_ref()
                    .map(|scope| scope.roots().join("\u{1f}"))
                    .unwrap_or_default(),
            ),
            ("since", time(self.window.since)),
            ("until", time(self.window.until)),
        ]
    }

    fn unfiltered_scope() -> Vec<(&'static str, String)> {
        vec![
            ("project", String::new()),
            ("since", String::new()),
            ("until", String::new()),
        ]
    }

    pub(super) fn filter_options(&self) -> FilterOptions<'_> {
        FilterOptions {
            include_sidechains: self.include_sidechains,
            include_temp_cwd: self.include_temp_cwd,
            include_trivial: self.include_trivial,
            project: self.project.as_ref(),
            window: self.window,
        }
    }
}
