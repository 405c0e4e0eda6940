//! `memtree status` for people: per tool its totals, last import, what is pending on disk and
//! the warnings (pending files its tool deletes soon, imported files gone from disk), then its
//! projects. (`--json` is the [`StatusReport`] itself.)

use std::fmt::Write as _;
use std::path::Path;

use super::{minute, tilde};
use crate::status::{Gone, Pending, StatusReport, ToolStatus};
use crate::store::LastRun;

/// How many pending files the text lists by name.
const LISTED_FILES: usize = 5;

pub fn status_text(report: &StatusReport, home: Option<&Path>) -> String {
    let mut out = format!("database: {}\n", report.database);
    for tool in &report.tools {
        out.push('\n');
        tool_text(&mut out, tool, home);
    }
    out
}

fn tool_text(out: &mut String, tool: &ToolStatus, home: Option<&Path>) {
    let span = match (tool.first, tool.last) {
        (Some(first), Some(last)) => format!(", {} to {} UTC", minute(Some(first)), minute(Some(last))),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "{}: {} sessions, {} messages{span}",
        tool.tool, tool.sessions, tool.messages
    );
    let _ = writeln!(out, "  last import: {}", last_run_text(tool.last_run.as_ref()));
    pending_text(out, &tool.pending, home);
    if let Some(risk) = &tool.retention_risk {
        let _ = writeln!(out, "  warning: {}", risk.warning());
    }
    if let Some(gone) = tool.gone.filter(|gone| gone.files > 0) {
        let _ = writeln!(out, "  warning: {}", gone_text(gone));
    }
    for project in &tool.projects {
        let name = match (project.project.as_deref(), project.slug.as_str()) {
            (Some(key), _) if !key.is_empty() => tilde(key, home),
            (_, "") => "(no working directory)".to_owned(),
            (_, slug) => slug.to_owned(),
        };
        let _ = writeln!(
            out,
            "  {name}: {} sessions, {} messages, last {}",
            project.sessions,
            project.messages,
            minute(project.last)
        );
    }
}

fn last_run_text(run: Option<&LastRun>) -> String {
    let Some(run) = run else {
        return "never".to_owned();
    };
    let outcome = &run.outcome;
    let what = match outcome.outcome.as_str() {
        "running" => "still running, or stopped before its end".to_owned(),
        "failed" => format!("failed: {}", outcome.error.as_deref().unwrap_or("")),
        other => format!(
            "{other} ({} new, {} updated, {} unchanged{})",
            outcome.written.inserted,
            outcome.written.updated,
            outcome.written.unchanged,
            if outcome.problems > 0 {
                format!(", {} problems", outcome.problems)
            } else {
                String::new()
            }
        ),
    };
    format!("{} UTC on {}, {what}", minute(Some(run.started_at)), run.host)
}

fn pending_text(out: &mut String, pending: &Pending, home: Option<&Path>) {
    if !pending.found {
        let _ = writeln!(out, "  on disk: nothing here (not used on this machine)");
        return;
    }
    if pending.is_empty() {
        let _ = writeln!(out, "  on disk: everything is imported");
        return;
    }
    if !pending.files.is_empty() {
        let _ = writeln!(
            out,
            "  on disk, not imported yet: {} files ({:.1} MB), new or changed since their import",
            pending.files.len(),
            pending.bytes as f64 / 1e6
        );
        for file in pending.files.iter().take(LISTED_FILES) {
            let _ = writeln!(out, "    {}", tilde(&file.to_string_lossy(), home));
        }
        if pending.files.len() > LISTED_FILES {
            let _ = writeln!(
                out,
                "    ... and {} more (see `--json`)",
                pending.files.len() - LISTED_FILES
            );
        }
    }
    if pending.sessions > 0 {
        let _ = writeln!(
            out,
            "  on disk, not imported yet: {} sessions, new or changed since their import",
            pending.sessions
        );
    }
}

/// The warning for imported files gone from disk.
fn gone_text(gone: Gone) -> String {
    let (files, them) = match gone.files {
        1 => ("1 imported file is".to_owned(), "it"),
        n => (format!("{n} imported files are"), "them"),
    };
    match gone.sessions {
        0 => format!("{files} no longer on disk; no stored session was read from {them}"),
        1 => format!("{files} no longer on disk: memtree holds the only copy of 1 session"),
        n => format!("{files} no longer on disk: memtree holds the only copy of {n} sessions"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gone_files_are_counted_with_their_sessions() {
        let gone = |files, sessions| gone_text(Gone { files, sessions });
        assert_eq!(
            gone(1, 1),
            "1 imported file is no longer on disk: memtree holds the only copy of 1 session"
        );
        assert_eq!(
            gone(3, 12),
            "3 imported files are no longer on disk: memtree holds the only copy of 12 sessions"
        );
        assert_eq!(
            gone(2, 0),
            "2 imported files are no longer on disk; no stored session was read from them"
        );
    }
}
