//! Qwen Code runtime directories: arbitrary bytes as a chat file and its project's prompt log,
//! the chat read whole and in parts.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::qwen_chat(data));
