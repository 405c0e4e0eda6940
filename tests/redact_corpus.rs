//! Redaction against its corpora: every secret in `fixtures/redact/secrets.txt` is redacted to its
//! kind, nothing in `fixtures/redact/clean.txt` is touched, and the hits in every parser fixture's
//! session files match `fixtures/redact/fixture_counts.json` (regenerate with `UPDATE_EXPECT=1`, then read it:
//! each hit there must be a real secret-shaped string).

mod common;

use std::borrow::Cow;
use std::collections::BTreeMap;

use common::{fixture, fixtures_root};
use memtree::redact::{Redactions, Redactor, SecretKind};
use serde_json::{json, Value};

/// `(header, text)` for each `### <header>` section of a corpus file; `#` lines before the first
/// section are comments.
fn sections(file: &str) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(fixture("redact").join(file)).unwrap();
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(header) = line.strip_prefix("### ") {
            sections.push((header.trim().to_owned(), String::new()));
        } else if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    for (_, body) in &mut sections {
        body.truncate(body.trim_end().len());
    }
    sections
}

fn kind_named(name: &str) -> SecretKind {
    *SecretKind::ALL
        .iter()
        .find(|kind| kind.as_str() == name)
        .unwrap_or_else(|| panic!("unknown kind {name}"))
}

#[test]
fn every_secret_in_the_corpus_is_redacted_to_its_kind() {
    let redactor = Redactor::new();
    let cases = sections("secrets.txt");
    let mut kinds_seen = Vec::new();
    for (name, marked) in &cases {
        let kind = kind_named(name);
        kinds_seen.push(kind);
        let input = marked.replace(['«', '»'], "");
        let (before, rest) = marked
            .split_once('«')
            .expect("each case marks its secret with «»");
        let (_, after) = rest.split_once('»').unwrap();
        let expected = format!("{before}[REDACTED:{name}]{after}");
        let mut counts = Redactions::default();
        let output = redactor.redact(&input, &mut counts);
        assert_eq!(output, expected, "case {name}");
        assert_eq!(
            (counts.total(), counts.get(kind)),
            (1, 1),
            "case {name}: {counts:?}"
        );
    }
    for kind in SecretKind::ALL {
        assert!(kinds_seen.contains(&kind), "no corpus case for {}", kind.as_str());
    }
}

#[test]
fn near_misses_in_the_clean_corpus_are_untouched() {
    let redactor = Redactor::new();
    let cases = sections("clean.txt");
    assert!(cases.len() >= 10);
    for (name, text) in &cases {
        let mut counts = Redactions::default();
        let output = redactor.redact(text, &mut counts);
        assert!(
            matches!(output, Cow::Borrowed(_)) && counts.is_empty(),
            "case {name} was redacted: {counts:?}\n{output}"
        );
    }
}

/// The session files of every parser case (`fixtures/<tool>/<case>/source/...`: real sessions,
/// trimmed). Only sources: an `expected.json` repeats its source's text, and counting it would
/// count every secret twice.
fn fixture_texts() -> Vec<(String, String)> {
    let root = fixtures_root();
    let mut texts = Vec::new();
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let entry = entry.unwrap();
        let relative = entry.path().strip_prefix(&root).unwrap();
        let in_source = relative
            .components()
            .nth(2)
            .is_some_and(|dir| dir.as_os_str() == "source");
        if !entry.file_type().is_file() || !in_source {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        // Binary files (zstd, SQLite) are skipped: their text is covered by their parsers' tests.
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        if !text.contains('\0') {
            texts.push((relative.to_string_lossy().into_owned(), text));
        }
    }
    texts
}

#[test]
fn hits_in_the_session_fixtures_match_the_checked_in_counts() {
    let redactor = Redactor::new();
    let mut total = Redactions::default();
    let mut files = BTreeMap::new();
    let texts = fixture_texts();
    assert!(texts.len() > 20, "the fixtures were not found");
    for (path, text) in &texts {
        let mut counts = Redactions::default();
        redactor.redact(text, &mut counts);
        if !counts.is_empty() {
            total.merge(&counts);
            files.insert(path.clone(), counts);
        }
    }
    let actual = json!({"total": total, "files": files});
    let expected_path = fixture("redact/fixture_counts.json");
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        let pretty = serde_json::to_string_pretty(&actual).unwrap();
        std::fs::write(&expected_path, pretty + "\n").unwrap();
    }
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
    assert_eq!(
        actual, expected,
        "rules changed what the fixtures redact: review, then UPDATE_EXPECT=1"
    );
}
