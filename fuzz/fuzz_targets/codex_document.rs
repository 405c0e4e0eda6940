//! Codex CLI 2025 single-document sessions: arbitrary bytes as a `.json` rollout.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memtree::model::Tool;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::parse_file(
        Tool::Codex,
        "rollout-2025-09-01-5973b6c0-94b8-487b-a530-2aeb6098ae0e.json",
        data,
    );
});
