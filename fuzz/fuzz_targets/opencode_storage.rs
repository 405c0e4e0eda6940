//! OpenCode JSON storage: the input, split at `\n--\n`, becomes the session, message and part
//! files of one session in the global `storage/` layout, and the whole tree is converted.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| common::opencode_storage(data));
