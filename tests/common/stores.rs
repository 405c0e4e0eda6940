//! Reading a store-backed tool's data in a test without the binary: the tool's `StoreReader`, a
//! whole read of one candidate, and the texts of a session's messages.

use std::path::Path;

use memtree::model::Session;
use memtree::source::{self, Candidate, StoreReader, Unit};

/// `tool`'s store reader; panics if `tool` reads transcripts.
pub fn store_reader(tool: &str) -> &'static dyn StoreReader {
    match source::named(tool).unwrap().unit() {
        Unit::Store(reader) => reader,
        Unit::Transcript(_) => panic!("{tool} is not a store"),
    }
}

/// Every session `tool` reads from `root`, each shown to `during` as it is emitted, and the
/// messages of the diagnostics.
pub fn read_store(tool: &str, root: &Path, during: &mut dyn FnMut(&Session)) -> (Vec<Session>, Vec<String>) {
    let candidate = Candidate {
        path: root.to_path_buf(),
        also: Vec::new(),
        sidechain: false,
    };
    let mut sessions = Vec::new();
    let outcome = store_reader(tool).read(&candidate, &Default::default(), &mut |session| {
        during(&session);
        sessions.push(session);
    });
    let problems = outcome.diagnostics.iter().map(|d| d.message.clone()).collect();
    (sessions, problems)
}

/// The text of every block of the session's messages, in order.
pub fn block_texts(session: &Session) -> Vec<&str> {
    session
        .messages
        .iter()
        .flat_map(|message| message.blocks.iter().map(|block| block.text.as_str()))
        .collect()
}
