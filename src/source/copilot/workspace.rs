//! A session directory's `workspace.yaml` (formats-more-tools.md section 2): flat `key: value`
//! lines Copilot CLI writes beside `events.jsonl`, holding the session's cwd, git facts and the
//! name it gave the session. Only the top-level scalars memtree uses are read, with YAML's three
//! scalar styles (plain, single- and double-quoted); anything else (block scalars, nested maps,
//! lists) counts as absent. The file is a few hundred bytes; only its start is read.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::model::Diagnostic;

/// The file's name, beside `events.jsonl`.
pub(super) const FILE_NAME: &str = "workspace.yaml";

/// More than a workspace file ever holds; the rest of a longer one is not read.
const MAX_BYTES: u64 = 64 << 10;

/// What a `workspace.yaml` says about its session.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Workspace {
    pub cwd: Option<String>,
    pub branch: Option<String>,
    /// `owner/name`.
    pub repository: Option<String>,
    /// `github` for github.com.
    pub host_type: Option<String>,
    /// The session's name: set by the user or generated from the first prompt.
    pub name: Option<String>,
    /// The front-end that ran the session (`github/cli`).
    pub client_name: Option<String>,
}

impl Workspace {
    /// The workspace file of the session directory holding `events`; none when there is no such
    /// file (a flat transcript has none). A file that cannot be read is a diagnostic.
    pub(super) fn beside(events: &Path, diagnostics: &mut Vec<Diagnostic>) -> Workspace {
        let Some(path) = events.parent().map(|dir| dir.join(FILE_NAME)) else {
            return Workspace::default();
        };
        let mut bytes = Vec::new();
        let read = File::open(&path).and_then(|file| file.take(MAX_BYTES).read_to_end(&mut bytes));
        match read {
            Ok(_) => Workspace::parse(&String::from_utf8_lossy(&bytes)),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Workspace::default(),
            Err(err) => {
                diagnostics.push(Diagnostic::unreadable(&path, err));
                Workspace::default()
            }
        }
    }

    pub(super) fn parse(text: &str) -> Workspace {
        let mut workspace = Workspace::default();
        for line in text.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            // Nested keys are indented; top-level ones never are.
            if key.starts_with([' ', '\t', '#', '-']) {
                continue;
            }
            let slot = match key.trim_end() {
                "cwd" => &mut workspace.cwd,
                "branch" => &mut workspace.branch,
                "repository" => &mut workspace.repository,
                "host_type" => &mut workspace.host_type,
                "name" => &mut workspace.name,
                "client_name" => &mut workspace.client_name,
                _ => continue,
            };
            *slot = scalar(value).filter(|value| !value.trim().is_empty());
        }
        workspace
    }
}

/// The text of a one-line YAML scalar (what follows `key:`), or `None` for anything else.
fn scalar(value: &str) -> Option<String> {
    let value = value.trim();
    if let Some(quoted) = value.strip_prefix('\'') {
        // Single-quoted: `''` is a quote, nothing else is escaped.
        let inner = quoted.strip_suffix('\'')?;
        return Some(inner.replace("''", "'"));
    }
    if value.starts_with('"') {
        return double_quoted(value);
    }
    // A plain scalar ends at ` #` (a comment); block scalars, flow collections, anchors, tags
    // and nulls are not text memtree reads.
    let plain = value.split(" #").next().unwrap_or_default().trim_end();
    if plain.is_empty()
        || plain.starts_with(['|', '>', '[', '{', '&', '*', '!', '#'])
        || matches!(plain, "~" | "null" | "Null" | "NULL")
    {
        return None;
    }
    Some(plain.to_owned())
}

/// A double-quoted scalar: JSON's escapes are YAML's common ones, so a JSON string decodes it;
/// one with another escape (`\e`, `\x..`) is taken as written.
fn double_quoted(value: &str) -> Option<String> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    serde_json::from_str::<String>(value)
        .ok()
        .or_else(|| Some(inner.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_top_level_scalars_of_a_real_file() {
        let text = "id: feeb765c-b05d-456f-bb55-ff2504dad88b\ncwd: /Users/t/.dotfiles/.copilot\n\
                    git_root: /Users/t/.dotfiles\nrepository: XEFF09/dotfiles\nhost_type: github\n\
                    branch: main\nname: Initialize Project Setup\nclient_name: github/cli\n\
                    user_named: false\nsummary_count: 0\ncreated_at: 2026-06-08T02:44:54.319Z\n";
        assert_eq!(
            Workspace::parse(text),
            Workspace {
                cwd: Some("/Users/t/.dotfiles/.copilot".to_owned()),
                branch: Some("main".to_owned()),
                repository: Some("XEFF09/dotfiles".to_owned()),
                host_type: Some("github".to_owned()),
                name: Some("Initialize Project Setup".to_owned()),
                client_name: Some("github/cli".to_owned()),
            }
        );
    }

    #[test]
    fn quoted_and_odd_values() {
        let parsed = Workspace::parse(
            "name: 'Fix: it''s broken'\ncwd: \"C:\\\\Users\\\\dev \\\"x\\\"\"\nbranch: main # current\n\
             repository: ~\nclient_name: |\n  multi\nhost_type: \"\\e bad escape\"\n  name: nested\n",
        );
        assert_eq!(parsed.name.as_deref(), Some("Fix: it's broken"));
        assert_eq!(parsed.cwd.as_deref(), Some("C:\\Users\\dev \"x\""));
        assert_eq!(parsed.branch.as_deref(), Some("main"));
        assert_eq!(parsed.repository, None);
        assert_eq!(parsed.client_name, None);
        assert_eq!(parsed.host_type.as_deref(), Some("\\e bad escape"));
        assert_eq!(
            Workspace::parse("\u{0}garbage\n:::\nname:\n"),
            Workspace::default()
        );
    }

    #[test]
    fn a_missing_file_is_no_workspace_and_an_unreadable_one_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let events = dir.path().join("s/events.jsonl");
        let mut diagnostics = Vec::new();
        assert_eq!(Workspace::beside(&events, &mut diagnostics), Workspace::default());
        assert!(diagnostics.is_empty());
        std::fs::create_dir_all(dir.path().join("s").join(FILE_NAME)).unwrap();
        assert_eq!(Workspace::beside(&events, &mut diagnostics), Workspace::default());
        assert_eq!(diagnostics.len(), 1);
    }
}
