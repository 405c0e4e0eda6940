//! Copilot CLI session directories: arbitrary bytes as an `events.jsonl` and its `workspace.yaml`,
//! read whole and in parts.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::copilot_events(data));
