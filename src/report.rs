//! The outcome of an import, as counted by the pipeline: serialised for `--json`, rendered as
//! text for people. Rendering writes to the writers it is given; it never decides exit codes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::filter::SkipReason;
use crate::model::{Diagnostic, DiagnosticKind, FileStats, Tool};
use crate::plan::{ContentMode, MessageSkip};
use crate::redact::Redactions;
use crate::store::WriteCounts;

/// How many diagnostics the text summary lists before pointing at `--json`.
const MAX_LISTED_DIAGNOSTICS: usize = 20;

#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub tool: Tool,
    pub dry_run: bool,
    /// Where rows went (password masked), or `None` when no database was used.
    pub database: Option<String>,
    /// Why a dry run could not compare against a database.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_note: Option<String>,
    /// Set when the tool's default location does not exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_note: Option<String>,
    pub tree_root: String,
    pub sessions_node_name: String,
    pub content_mode: ContentMode,
    pub files: FileCounts,
    pub sessions: SessionCounts,
    pub messages: MessageCounts,
    pub projects: Vec<ProjectEntry>,
    pub session_list: Vec<SessionEntry>,
    pub diagnostics: Vec<Diagnostic>,
    /// Session files not imported that their tool will delete on its own soon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_risk: Option<RetentionRisk>,
    pub duration_ms: u64,
}

/// Session files on disk, not imported, that their tool deletes within `within_days` by its own
/// retention setting.
#[derive(Debug, Serialize)]
pub struct RetentionRisk {
    pub tool: Tool,
    pub files: u64,
    pub within_days: u64,
    /// The tool's setting, and where it was read.
    pub setting: String,
}

impl RetentionRisk {
    /// The warning for stderr.
    pub fn warning(&self) -> String {
        let (files, them) = match self.files {
            1 => ("1 session file".to_owned(), "it"),
            n => (format!("{n} session files"), "them"),
        };
        format!(
            "{files} of {tool} not imported yet will be deleted by {tool} within {days} days \
             ({setting}): import {them} now; memtree never deletes what it stored when a source file goes away",
            tool = self.tool.as_str(),
            days = self.within_days,
            setting = self.setting,
        )
    }
}

#[derive(Debug, Default, Serialize)]
pub struct FileCounts {
    /// Files read.
    pub scanned: u64,
    /// Files not opened because the ledger records them as imported and unchanged.
    pub unchanged: u64,
    /// Files that grew and were read on from their checkpoint: only the new lines were parsed
    /// (and counted in `bytes` and `lines`).
    pub resumed: u64,
    /// Files with a checkpoint whose start had changed (rewritten, truncated): read whole again.
    pub restarted: u64,
    pub bytes: u64,
    pub lines: u64,
    pub malformed_lines: u64,
    /// Files whose last line is still being written; it is imported by a later run.
    pub pending_torn_lines: u64,
    pub unreadable: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct SessionCounts {
    pub found: u64,
    /// Sessions of a multi-session store not read: unchanged since their import.
    pub unchanged: u64,
    pub imported: u64,
    pub skipped: BTreeMap<SkipReason, u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct MessageCounts {
    /// Rows planned (one per message that has content in this mode).
    pub planned: u64,
    /// Whether `written` compares against a database (false for a dry run without one).
    pub compared_with_database: bool,
    /// Rows inserted / updated / left unchanged (would be, in a dry run).
    pub written: WriteCounts,
    pub skipped: BTreeMap<MessageSkip, u64>,
    pub truncated: u64,
    /// Secrets replaced before storing, by kind.
    pub redactions: Redactions,
}

#[derive(Debug, Serialize)]
pub struct ProjectEntry {
    pub slug: String,
    /// The git root, else the cwd, that identifies the project.
    pub key: String,
    pub tree: String,
    pub sessions: u64,
    pub messages: u64,
}

#[derive(Debug, Serialize)]
pub struct SessionEntry {
    pub id: String,
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree: Option<String>,
    pub messages: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<SkipReason>,
}

impl ImportReport {
    pub fn absorb_file(&mut self, stats: &FileStats) {
        self.files.scanned += 1;
        self.files.bytes += stats.bytes;
        self.files.lines += stats.lines;
        self.files.malformed_lines += stats.malformed_lines;
        self.files.pending_torn_lines += u64::from(stats.torn_tail);
    }

    pub fn absorb_diagnostics(&mut self, diagnostics: Vec<Diagnostic>) {
        self.files.unreadable += diagnostics
            .iter()
            .filter(|d| d.kind == DiagnosticKind::Unreadable)
            .count() as u64;
        self.diagnostics.extend(diagnostics);
    }

    /// Input that could not be read or understood: the run finished, but with exit code 1.
    pub fn problems(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.kind.is_problem())
            .count()
    }

    /// The human summary, for stderr.
    pub fn summary_text(&self, verbose: bool) -> String {
        let mut out = String::new();
        let messages = &self.messages;
        let written = messages.written;
        let n_sessions = self.sessions.imported;
        let verb = if self.dry_run { "Would import" } else { "Imported" };
        if messages.compared_with_database {
            let _ = writeln!(
                out,
                "{verb} {} new, {} updated, {} unchanged messages across {n_sessions} sessions for {}",
                written.inserted, written.updated, written.unchanged, self.tool
            );
        } else {
            let _ = writeln!(
                out,
                "{verb} {} messages across {n_sessions} sessions for {}",
                messages.planned, self.tool
            );
        }
        if written.superseded > 0 {
            let _ = writeln!(
                out,
                "  Replaced {} salvaged prompts with the messages of their returned transcripts",
                written.superseded
            );
        }
        if let Some(note) = &self.source_note {
            let _ = writeln!(out, "  Nothing to read: {note}");
        }
        if let Some(note) = &self.database_note {
            let _ = writeln!(out, "  No database comparison: {note}");
        }
        let files = &self.files;
        let _ = writeln!(
            out,
            "  Scanned {} files ({}, {} lines)",
            files.scanned,
            human_bytes(files.bytes),
            files.lines
        );
        if files.resumed > 0 {
            let _ = writeln!(
                out,
                "  Read on from where the last import stopped: {} grown files (only their new lines)",
                files.resumed
            );
        }
        if files.restarted > 0 {
            let _ = writeln!(
                out,
                "  Read again from the start: {} files whose beginning changed since their last import",
                files.restarted
            );
        }
        if self.sessions.unchanged > 0 {
            let _ = writeln!(
                out,
                "  Not read, unchanged since their last import: {} sessions",
                self.sessions.unchanged
            );
        }
        if files.unchanged > 0 {
            let _ = writeln!(
                out,
                "  Not read, unchanged since their last import: {} files",
                files.unchanged
            );
        }
        if !self.sessions.skipped.is_empty() {
            let _ = writeln!(
                out,
                "  Sessions skipped: {}",
                counts_text(&self.sessions.skipped, SkipReason::as_str)
            );
        }
        if !messages.skipped.is_empty() {
            let _ = writeln!(
                out,
                "  Messages skipped: {}",
                counts_text(&messages.skipped, MessageSkip::as_str)
            );
        }
        if messages.truncated > 0 {
            let _ = writeln!(out, "  Messages cut to the size limit: {}", messages.truncated);
        }
        if !messages.redactions.is_empty() {
            let kinds: Vec<String> = messages
                .redactions
                .iter()
                .map(|(kind, n)| format!("{}={n}", kind.as_str()))
                .collect();
            let _ = writeln!(
                out,
                "  Secrets redacted: {} ({})",
                messages.redactions.total(),
                kinds.join(", ")
            );
        }
        if files.malformed_lines > 0 {
            let _ = writeln!(out, "  Malformed lines: {}", files.malformed_lines);
        }
        if files.unreadable > 0 {
            let _ = writeln!(out, "  Unreadable: {}", files.unreadable);
        }
        if files.pending_torn_lines > 0 {
            let _ = writeln!(
                out,
                "  Files with an unfinished last line (left for the next run): {}",
                files.pending_torn_lines
            );
        }
        if verbose {
            for project in &self.projects {
                let _ = writeln!(
                    out,
                    "  Project {} -> {} ({} sessions, {} messages)",
                    project.key, project.tree, project.sessions, project.messages
                );
            }
            for session in &self.session_list {
                let short_id: String = session.id.chars().take(8).collect();
                let title = session.title.as_deref().unwrap_or("(untitled)");
                let _ = match session.skipped {
                    Some(reason) => writeln!(out, "  {short_id} {title}  skipped: {}", reason.as_str()),
                    None => writeln!(out, "  {short_id} {title}  {} messages", session.messages),
                };
            }
        }
        let _ = writeln!(out, "  Finished in {:.1}s", self.duration_ms as f64 / 1000.0);
        let listed = if verbose {
            self.diagnostics.len()
        } else {
            MAX_LISTED_DIAGNOSTICS
        };
        for diagnostic in self.diagnostics.iter().take(listed) {
            let level = if diagnostic.kind.is_problem() {
                "error"
            } else {
                "warning"
            };
            let location = match diagnostic.line {
                Some(line) => format!("{}:{line}", diagnostic.file.display()),
                None => diagnostic.file.display().to_string(),
            };
            let _ = writeln!(out, "{level}: `{location}`: {}", diagnostic.message);
        }
        if self.diagnostics.len() > listed {
            let _ = writeln!(
                out,
                "  ... and {} more (see `--json` or `-v`)",
                self.diagnostics.len() - listed
            );
        }
        out
    }

    /// The dry-run plan, for stdout: every project with its tree, every session with its fate.
    pub fn plan_text(&self) -> String {
        let mut out = String::new();
        for project in &self.projects {
            let _ = writeln!(
                out,
                "project {}  {}  ({} sessions, {} messages)",
                project.slug, project.tree, project.sessions, project.messages
            );
            let _ = writeln!(out, "  key {}", project.key);
        }
        for session in &self.session_list {
            let title = session.title.as_deref().unwrap_or("(untitled)");
            let fate = match session.skipped {
                Some(reason) => format!("skipped: {}", reason.as_str()),
                None => format!(
                    "{} messages -> {}",
                    session.messages,
                    session.tree.as_deref().unwrap_or("")
                ),
            };
            let _ = writeln!(out, "session {}  {title}  {fate}", session.id);
        }
        out
    }
}

/// `memtree import` with no tool: what became of each source, in the order of `SOURCES`.
#[derive(Debug, Serialize)]
pub struct CombinedReport {
    pub tools: Vec<ToolImport>,
}

/// One source's part of a [`CombinedReport`].
#[derive(Debug, Serialize)]
pub struct ToolImport {
    pub tool: Tool,
    pub outcome: ToolOutcome,
    /// The import's report, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<ImportReport>,
    /// Why it was not found, or why it failed or did not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolOutcome {
    Imported,
    /// None of the tool's default locations exists: it is not used on this machine.
    NotFound,
    Failed,
    /// Not run: an earlier import lost the database.
    NotRun,
}

impl CombinedReport {
    /// Per-file problems in all the imports that ran.
    pub fn problems(&self) -> usize {
        self.tools
            .iter()
            .filter_map(|tool| tool.report.as_ref())
            .map(ImportReport::problems)
            .sum()
    }

    /// Whether an import failed or could not run.
    pub fn failed(&self) -> bool {
        self.tools
            .iter()
            .any(|tool| matches!(tool.outcome, ToolOutcome::Failed | ToolOutcome::NotRun))
    }

    /// The human summary, for stderr: each tool's own, or one line saying why there is none.
    pub fn summary_text(&self, verbose: bool) -> String {
        let mut out = String::new();
        for tool in &self.tools {
            match (&tool.report, tool.outcome) {
                (Some(report), _) => out.push_str(&report.summary_text(verbose)),
                (None, outcome) => {
                    let what = match outcome {
                        ToolOutcome::NotFound => "not found",
                        ToolOutcome::Failed => "failed",
                        _ => "not run",
                    };
                    let note = tool
                        .note
                        .as_deref()
                        .map(|note| format!(": {note}"))
                        .unwrap_or_default();
                    let _ = writeln!(out, "{}: {what}{note}", tool.tool);
                }
            }
        }
        out
    }

    /// The dry-run plans of every import that ran, for stdout.
    pub fn plan_text(&self) -> String {
        self.tools
            .iter()
            .filter_map(|tool| tool.report.as_ref())
            .map(ImportReport::plan_text)
            .collect()
    }
}

fn counts_text<K: Copy>(counts: &BTreeMap<K, u64>, name: fn(K) -> &'static str) -> String {
    counts
        .iter()
        .map(|(key, n)| format!("{}={n}", name(*key)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_read_naturally() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(12_300_000), "12.3 MB");
        assert_eq!(human_bytes(4_000_000_000), "4.0 GB");
    }
}
