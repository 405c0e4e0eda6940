//! Planning: turns filtered sessions into the exact rows to store (ids, content, meta, trees).
//!
//! Pure: no I/O. Given the same sessions, slugs and options it produces the same rows.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// Written into every row's meta; rows carrying another version are re-rendered.
pub const IMPORTER_VERSION: &str = "memtree-1";

/// Which blocks a memory's content is rendered from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentMode {
    /// Text blocks only: what the user typed and the assistant answered.
    #[default]
    Default,
    /// Every block: thinking, tool calls and tool results too.
    FullTranscript,
}

impl ContentMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ContentMode::Default => "default",
            ContentMode::FullTranscript => "full_transcript",
        }
    }
}

/// One row to store in the memory table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlannedMemory {
    pub id: Uuid,
    pub content: String,
    /// A JSON object; `importer_version` and `content_mode` decide whether a stored row is current.
    pub meta: serde_json::Value,
    /// `<tree-root>.<project_slug>.<sessions-node-name>`.
    pub tree: String,
    /// The message's time; stored as the point range `[at, at]`.
    pub at: DateTime<Utc>,
}
