//! Codex CLI rollouts: arbitrary bytes as a JSONL rollout file.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::codex_rollout(data));
