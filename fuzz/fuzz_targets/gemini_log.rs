//! Gemini CLI chat logs: arbitrary bytes as a `.jsonl` log, read whole and in parts.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::gemini_log(data));
