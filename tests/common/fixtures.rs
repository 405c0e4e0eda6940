//! Finding the fixtures: `fixtures/<tool>/<case>/` holds a `source/` tree laid out as the tool
//! writes it and the `expected.json` it must yield.

use std::path::{Path, PathBuf};

/// The repository's `fixtures/` directory.
pub fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A path under `fixtures/`.
pub fn fixture(path: &str) -> PathBuf {
    fixtures_root().join(path)
}

/// Every case directory of a tool's fixtures (those holding a `source/` tree), sorted.
pub fn fixture_cases(tool: &str) -> Vec<PathBuf> {
    let dir = fixtures_root().join(tool);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|case| case.join("source").is_dir())
        .collect();
    cases.sort();
    cases
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

/// Byte offsets just after each newline of `bytes`: where a cut leaves whole lines.
pub fn line_ends(bytes: &[u8]) -> Vec<usize> {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, byte)| **byte == b'\n')
        .map(|(at, _)| at + 1)
        .collect()
}
