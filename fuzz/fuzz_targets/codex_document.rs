//! Codex CLI 2025 single-document sessions: arbitrary bytes as a `.json` rollout.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::codex_document(data));
