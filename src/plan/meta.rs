//! Meta: the facts a session shares with each of its rows, and the JSON object writer rows'
//! meta is written with.

use chrono::SecondsFormat;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::git::strip_credentials;
use crate::model::Session;

use super::row::{without_nul, SALVAGED_FROM};
use super::{rendering_keys, PlanOptions, ProjectContext};

/// Meta shared by every message of a session.
pub(super) fn session_meta(
    session: &Session,
    project: &ProjectContext,
    options: &PlanOptions<'_>,
) -> Map<String, Value> {
    let facts = &session.facts;
    let mut meta = Map::new();
    put(&mut meta, "type", Some("agent_session"));
    put(&mut meta, "source_tool", Some(session.tool.as_str()));
    put(&mut meta, "source_session_title", facts.title.as_deref());
    put(&mut meta, "source_cwd", facts.cwd.as_deref());
    put(&mut meta, "source_cwd_origin", facts.cwd_origin.as_deref());
    put(&mut meta, "source_time_origin", facts.time_origin.as_deref());
    put(&mut meta, "source_project_slug", Some(&project.slug));
    put(&mut meta, "source_git_root", project.git.root.as_deref());
    put(&mut meta, "source_git_branch", facts.git_branch.as_deref());
    put(
        &mut meta,
        "source_git_commit",
        facts.git_commit.as_deref().or(project.git.commit.as_deref()),
    );
    let recorded_repo = facts.git_repo.as_deref().map(strip_credentials);
    put(
        &mut meta,
        "source_git_repo",
        recorded_repo.as_deref().or(project.git.remote.as_deref()),
    );
    put(&mut meta, "source_tool_version", facts.tool_version.as_deref());
    put(&mut meta, "source_model", facts.model.as_deref());
    put(&mut meta, "source_provider", facts.provider.as_deref());
    put(&mut meta, "source_agent_mode", facts.agent_mode.as_deref());
    put(
        &mut meta,
        "source_parent_session_id",
        facts.parent_session_id.as_deref(),
    );
    if facts.is_sidechain {
        meta.insert("source_is_sidechain".to_owned(), true.into());
    }
    put(&mut meta, "source_file", Some(&session.source_file));
    // The one key a salvaged row has that a transcript's has not: what supersedes it looks for it.
    put(
        &mut meta,
        SALVAGED_FROM,
        facts.salvaged.then_some(session.source_file.as_str()),
    );
    put(
        &mut meta,
        "imported_at",
        Some(&options.imported_at.to_rfc3339_opts(SecondsFormat::Millis, true)),
    );
    meta.extend(rendering_keys(options));
    meta
}

/// A JSON object written as text, field by field.
pub(super) struct JsonObject(Vec<u8>);

impl JsonObject {
    pub(super) fn with_capacity(capacity: usize) -> JsonObject {
        let mut json = Vec::with_capacity(capacity);
        json.push(b'{');
        JsonObject(json)
    }

    /// One field, `"key":value`, as JSON text.
    pub(super) fn field(key: &str, value: &impl Serialize) -> String {
        let mut object = JsonObject(Vec::new());
        object.write(key, value);
        String::from_utf8_lossy(&object.0).into_owned()
    }

    /// Appends a field made by [`JsonObject::field`].
    pub(super) fn push_field(&mut self, field: &str) {
        self.separate();
        self.0.extend_from_slice(field.as_bytes());
    }

    pub(super) fn push(&mut self, key: &str, value: &impl Serialize) {
        self.separate();
        self.write(key, value);
    }

    /// [`put`] for an object written as text.
    pub(super) fn put(&mut self, key: &str, value: Option<&str>) {
        let Some(value) = value.filter(|value| !value.is_empty()) else {
            return;
        };
        if needs_no_escaping(value) {
            self.separate();
            self.write_str(key);
            self.0.extend_from_slice(b":\"");
            self.0.extend_from_slice(value.as_bytes());
            self.0.push(b'"');
        } else {
            self.push(key, &without_nul(value));
        }
    }

    /// A JSON string. Keys, ids, roles, paths and model names rarely need escaping: written as
    /// they are, they skip serde_json's byte-by-byte escaping, with the same bytes as a result.
    fn write_str(&mut self, text: &str) {
        if needs_no_escaping(text) {
            self.0.push(b'"');
            self.0.extend_from_slice(text.as_bytes());
            self.0.push(b'"');
        } else {
            // Writing a string into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.0, text);
        }
    }

    fn separate(&mut self) {
        if self.0.len() > 1 {
            self.0.push(b',');
        }
    }

    fn write(&mut self, key: &str, value: &impl Serialize) {
        self.write_str(key);
        self.0.push(b':');
        // Writing strings, string lists, booleans and counts into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.0, value);
    }

    pub(super) fn finish(mut self) -> String {
        self.0.push(b'}');
        // serde_json writes UTF-8 only.
        String::from_utf8(self.0)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
    }
}

/// Whether serde_json would write `text` as it is between quotes: it escapes control characters
/// (NUL among them), `"` and `\` only.
fn needs_no_escaping(text: &str) -> bool {
    // No early exit: the compiler checks many bytes per instruction this way.
    !text.bytes().fold(false, |escape, byte| {
        escape | (byte < 0x20) | (byte == b'"') | (byte == b'\\')
    })
}

/// Sets `key` to a non-empty value; absent or empty facts are omitted, never stored as "".
fn put(meta: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(value) = value.filter(|value| !value.is_empty()) {
        let value = without_nul(value).into_owned();
        meta.insert(key.to_owned(), Value::String(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_text_is_what_serde_json_writes() {
        let values = [
            "plain /home/dev/src-app é ✓ \u{7f}",
            "a \"quoted\" word",
            "back\\slash",
            "tab\tand\nnewline\r",
            "bell\u{7}",
            "nul\0inside",
            "\u{1f}",
        ];
        for value in values {
            let mut meta = JsonObject::with_capacity(0);
            meta.put("key", Some(value));
            meta.put("empty", Some(""));
            meta.put("absent", None);
            let expected = serde_json::json!({ "key": value.replace('\0', "\u{fffd}") }).to_string();
            assert_eq!(meta.finish(), expected, "{value:?}");
        }
    }
}
