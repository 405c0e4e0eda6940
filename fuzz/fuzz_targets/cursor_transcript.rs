//! Cursor agent transcripts: arbitrary bytes cut into a `.jsonl`, a `.json` and a `.txt`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::cursor_transcript(data));
