//! Codex CLI rollouts: arbitrary bytes as a JSONL rollout file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memtree::model::Tool;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::parse_file(
        Tool::Codex,
        "rollout-2025-09-01T10-00-00-5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl",
        data,
    );
});
