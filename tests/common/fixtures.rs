//! Finding the fixtures: `fixtures/<tool>/<case>/` holds a `source/` tree laid out as the tool
//! writes it and the `expected.json` it must yield.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository's `fixtures/` directory.
pub fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A path under `fixtures/`.
pub fn fixture(path: &str) -> PathBuf {
    fixtures_root().join(path)
}

/// Every directory under `fixtures/<tool>/`, whether or not it is a well-formed case, sorted.
pub fn case_dirs(tool: &str) -> Vec<PathBuf> {
    let dir = fixtures_root().join(tool);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|case| case.is_dir())
        .collect();
    cases.sort();
    cases
}

/// Every case directory of a tool's fixtures (those holding a `source/` tree), sorted. A directory
/// without one is not a case: `tests/parse_fixtures.rs` fails on it.
pub fn fixture_cases(tool: &str) -> Vec<PathBuf> {
    case_dirs(tool)
        .into_iter()
        .filter(|case| case.join("source").is_dir())
        .collect()
}

/// Whether a case's `expected.json` holds a problem (a malformed line, an unreadable file): a
/// diagnostic that makes an import of it exit with code 1 and keeps its file out of the ledger.
pub fn expects_problem(case: &Path) -> bool {
    let path = case.join("expected.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    let expected: Value = serde_json::from_str(&text).unwrap();
    let units = expected["units"].as_array().into_iter().flatten();
    expected["discovery_diagnostics"]
        .as_array()
        .into_iter()
        .chain(units.map(|unit| &unit["diagnostics"]).filter_map(Value::as_array))
        .flatten()
        .any(|diagnostic| matches!(diagnostic["kind"].as_str(), Some("malformed" | "unreadable")))
}

/// The case directories of a tool whose import has no problem ([`expects_problem`]), sorted.
pub fn clean_cases(tool: &str) -> Vec<PathBuf> {
    fixture_cases(tool)
        .into_iter()
        .filter(|case| !expects_problem(case))
        .collect()
}

/// The `source/` trees of [`clean_cases`], as `--source` arguments.
pub fn clean_sources(tool: &str) -> Vec<String> {
    clean_cases(tool)
        .iter()
        .map(|case| case.join("source").display().to_string())
        .collect()
}

/// Copies a directory tree (to make a fixture writable).
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Copies the fixture tree `path` (under `fixtures/`) to `to`.
pub fn copy_fixture(path: &str, to: &Path) {
    copy_tree(&fixture(path), to);
}

/// Byte offsets just after each newline of `bytes`: where a cut leaves whole lines.
pub fn line_ends(bytes: &[u8]) -> Vec<usize> {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == b'\n')
        .map(|(at, _)| at + 1)
        .collect()
}
