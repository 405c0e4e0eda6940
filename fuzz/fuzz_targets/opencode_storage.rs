//! OpenCode JSON storage: the input, split at `\n--\n`, becomes the session, message and part
//! files of one session in the global `storage/` layout, and the whole tree is converted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memtree::model::Tool;
use memtree::source::{self, Candidate};

#[path = "common.rs"]
mod common;

const FILES: [&str; 4] = [
    "session/prj/ses_1.json",
    "message/ses_1/msg_1.json",
    "part/msg_1/prt_1.json",
    "part/msg_1/prt_2.json",
];

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    let mut pieces = common::split(data, b"\n--\n");
    for file in FILES {
        let path = storage.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, pieces.next().unwrap_or(b"{}")).unwrap();
    }
    let candidate = Candidate {
        tool: Tool::OpenCode,
        path: storage,
        sidechain: false,
    };
    let outcome = source::parse(&candidate);
    common::check(&outcome, &dir.path().join("storage"));
});
