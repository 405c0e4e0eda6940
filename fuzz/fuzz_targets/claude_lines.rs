//! Claude Code transcripts: arbitrary bytes as a `.jsonl` session file.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::claude_lines(data));
