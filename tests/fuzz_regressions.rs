//! Replays every input kept under `fuzz/regressions/<target>/` through the same entry point as
//! the cargo-fuzz target of that name (`fuzz/fuzz_targets/common.rs`, shared by `#[path]`), so a
//! crash found by a long fuzzing run by hand stays fixed in every `cargo test`, on the stable
//! toolchain. Each input must parse without a panic and with the targets' invariants
//! (diagnostics name the file read, lines exist).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

#[path = "../fuzz/fuzz_targets/common.rs"]
mod common;

#[test]
fn every_kept_fuzz_input_replays_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut replayed = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        // A directory that names no target would never be replayed: fail instead.
        let Some(&(_, target)) = common::TARGETS.iter().find(|(target, _)| *target == name) else {
            panic!("{}: no fuzz target of that name", dir.display());
        };
        let mut inputs: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .collect();
        inputs.sort();
        for input in inputs {
            let data = std::fs::read(&input).unwrap();
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| target(&data))) {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|text| text.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{}: {message}", input.display()));
            }
            replayed += 1;
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        replayed >= common::TARGETS.len(),
        "only {replayed} inputs under {}",
        root.display()
    );
}
