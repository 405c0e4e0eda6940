//! Claude Code transcripts: arbitrary bytes as a `.jsonl` session file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memtree::model::Tool;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    common::parse_file(Tool::Claude, "0d9a5e4c-1b2f-4c3d-8e9f-a0b1c2d3e4f5.jsonl", data);
});
