//! An Aider chat history and its input history, cut from the input at `\n--\n`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::aider_history(data));
