//! Shared by the targets: write the input to a file, parse it, check the outcome's invariants.
#![allow(dead_code)] // each target uses its own part

use std::path::Path;

use memtree::model::{ParseOutcome, Tool};
use memtree::source::{self, Candidate};

/// Parses `data` as the file `name` of `tool`; parsing must not panic and its diagnostics must
/// point at lines the file has.
pub fn parse_file(tool: Tool, name: &str, data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, data).unwrap();
    let candidate = Candidate {
        tool,
        path: path.clone(),
        sidechain: false,
    };
    let outcome = source::parse(&candidate);
    check(&outcome, dir.path());
    let lines = data.iter().filter(|&&byte| byte == b'\n').count() as u64;
    for diagnostic in &outcome.diagnostics {
        if let Some(line) = diagnostic.line {
            assert!(
                line >= 1 && line <= lines,
                "line {line} of {lines}: {diagnostic:?}"
            );
        }
    }
    for session in &outcome.sessions {
        for message in &session.messages {
            assert!(message.line <= lines, "message line {} of {lines}", message.line);
        }
    }
}

/// Every diagnostic names a file under `root`.
pub fn check(outcome: &ParseOutcome, root: &Path) {
    for diagnostic in &outcome.diagnostics {
        assert!(diagnostic.file.starts_with(root), "{diagnostic:?}");
    }
}

/// `data` cut at every `separator`.
pub fn split<'a>(data: &'a [u8], separator: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let current = rest?;
        match current
            .windows(separator.len())
            .position(|window| window == separator)
        {
            Some(at) => {
                rest = Some(&current[at + separator.len()..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}
