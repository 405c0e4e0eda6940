//! The row contract with the store: what a planned row is, how its rendering is recorded, and
//! the one rule for text PostgreSQL cannot hold.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// Written into every row's meta; rows carrying another version are re-rendered.
pub const IMPORTER_VERSION: &str = "memtree-1";

/// The meta keys that say how a row was rendered. A stored row whose values for all of them
/// equal the planned row's is current and left untouched; otherwise it is rewritten in place.
pub const RENDERING_KEYS: [&str; 3] = ["importer_version", "content_mode", "secrets_redacted"];

/// The meta key of a salvaged row ([`crate::model::SessionFacts::salvaged`]): the file its
/// prompt was read from. The store deletes such rows of a session once its transcript's rows
/// are written, the only rows memtree ever deletes.
pub const SALVAGED_FROM: &str = "salvaged_from";

/// One row to store in the memory table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedMemory {
    pub id: Uuid,
    pub content: String,
    /// A JSON object, as text: a row's meta is only ever sent to the database, so it is
    /// serialised once when planned instead of being held as a tree of values. Its
    /// [`RENDERING_KEYS`] decide whether a stored row is current.
    pub meta: String,
    /// `<tree-root>.<project_slug>.<sessions-node-name>`.
    pub tree: String,
    /// The message's time; stored as the point range `[at, at]`.
    pub at: DateTime<Utc>,
}

/// PostgreSQL text and jsonb cannot hold U+0000: it would fail a whole write batch, so it
/// becomes U+FFFD. Copies `text` only when it holds a NUL. The one rule for every text memtree
/// stores: content and meta (`plan`), ledger and project keys (`import`), and rows handed to the
/// store by any caller (`store::write`).
pub fn without_nul<'t>(text: impl Into<Cow<'t, str>>) -> Cow<'t, str> {
    let text = text.into();
    // memchr scans with SIMD; `str::contains` goes a word at a time.
    if memchr::memchr(0, text.as_bytes()).is_some() {
        Cow::Owned(text.replace('\0', "\u{fffd}"))
    } else {
        text
    }
}
