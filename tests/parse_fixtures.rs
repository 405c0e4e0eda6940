//! Data-driven parser tests: every `fixtures/<tool>/<case>/` directory holds a `source/` tree laid
//! out as the tool writes it and an `expected.json` with what discovery and parsing must yield.
//!
//! Run with `UPDATE_EXPECT=1` to rewrite the expected files after an intended change, then review
//! the diff: the expected files are the specification.

mod common;

use std::path::Path;

use common::fixtures_root;
use memtree::source::{Source, SOURCES};
use serde_json::{json, Value};

/// Discovers and parses one case, with the case directory replaced by `$CASE` in every path.
fn run_case(source: &dyn Source, case_dir: &Path) -> Value {
    let source_dir = case_dir.join("source");
    let discovery = source.discover(std::slice::from_ref(&source_dir), None);
    let mut units = Vec::new();
    for candidate in &discovery.candidates {
        let outcome = source.parse(candidate);
        units.push(json!({
            "path": candidate.path,
            "sidechain": candidate.sidechain,
            "stats": outcome.stats,
            "sessions": outcome.sessions,
            "diagnostics": outcome.diagnostics,
        }));
    }
    let result = json!({ "discovery_diagnostics": discovery.diagnostics, "units": units });
    let text = serde_json::to_string(&result).unwrap();
    let case = case_dir.to_str().unwrap();
    serde_json::from_str(&text.replace(case, "$CASE")).unwrap()
}

#[test]
fn every_fixture_case_parses_as_expected() {
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut n_cases = 0;
    let mut failures = Vec::new();
    for source in SOURCES {
        if !fixtures_root().join(source.name()).is_dir() {
            continue;
        }
        for case_dir in common::fixture_cases(source.name()) {
            n_cases += 1;
            let actual = run_case(*source, &case_dir);
            let expected_path = case_dir.join("expected.json");
            if update {
                std::fs::write(
                    &expected_path,
                    serde_json::to_string_pretty(&actual).unwrap() + "\n",
                )
                .unwrap();
                continue;
            }
            let expected: Value = match std::fs::read_to_string(&expected_path) {
                Ok(text) => serde_json::from_str(&text).unwrap(),
                Err(_) => {
                    failures.push(format!(
                        "{}: no expected.json (run with UPDATE_EXPECT=1)",
                        case_dir.display()
                    ));
                    continue;
                }
            };
            if actual != expected {
                failures.push(format!(
                    "{}: output differs from expected.json\n--- actual ---\n{}",
                    case_dir.display(),
                    serde_json::to_string_pretty(&actual).unwrap()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        n_cases > 0 || update,
        "no fixture cases found under {}",
        fixtures_root().display()
    );
}
