//! Reads Cursor's IDE databases (`state.vscdb`, formats-more-tools.md 1.2): the composers
//! (`composerData:<id>` in `cursorDiskKV`: name, times, mode, model, workspace and the ordered
//! list of message headers), their messages (`bubbleId:<composer>:<bubble>`), and from a
//! workspace's database the composers it lists (`composer.composerData` in `ItemTable`).
//!
//! Only those keys and the version key are ever queried: the credentials beside them
//! (`cursorAuth/*`) are never read, and of a composer only the fields named here are taken, never
//! its encryption keys. Values may be NULL (Cursor's deletions) and headers may name bubbles
//! that no longer exist; both are skipped without a word. A value that is not JSON is reported.
//! Memory follows one composer: the inventory keeps a few facts per composer, and a composer's
//! bubbles are read one by one when it is read.

use std::io::Cursor;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension};
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use crate::model::{Diagnostic, DiagnosticKind};
use crate::source::jsonl::decode_document;
use crate::source::sqlite::{bytes, diagnostic, has_table, Database};
use crate::source::visit::skip_to;

use super::bubble::{bubble_draft, ms_at, text_at};
use super::cwd::uri_path;
use super::session::{Conversation, Head};
use super::{marker, ORIGINATOR_IDE};

/// `cursorDiskKV` keys of composers lie in `[COMPOSER_FROM, COMPOSER_TO)`: a range the key index
/// serves, and exact where `LIKE` ignores case.
const COMPOSER_FROM: &str = "composerData:";
const COMPOSER_TO: &str = "composerData;";
/// The Cursor version that last wrote the database, in `ItemTable`.
const VERSION_KEY: &str = "releaseNotes/lastVersion";
/// A workspace's list of its composers, in `ItemTable`.
const WORKSPACE_COMPOSERS_KEY: &str = "composer.composerData";

/// What one database holds, without its messages.
#[derive(Debug, Default)]
pub(super) struct Inventory {
    pub composers: Vec<Composer>,
    /// The composers a workspace database lists as its own.
    pub listed: Vec<String>,
}

/// One composer's facts.
#[derive(Debug)]
pub(super) struct Composer {
    pub id: String,
    /// Its message headers (or legacy inline messages): 0 is an empty composer, never a session.
    pub messages: usize,
    /// `lastUpdatedAt`, else a marker of its creation time and message count.
    pub marker: i64,
    pub head: Head,
    /// `workspaceIdentifier.id`: the `workspaceStorage` folder of its workspace.
    pub workspace_id: Option<String>,
    /// Its subagent and sub-composer ids.
    pub children: Vec<String>,
}

/// The fields of `composerData` the inventory takes; every other field is skipped unread.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ComposerFields {
    #[serde(default)]
    name: Value,
    #[serde(default)]
    created_at: Value,
    #[serde(default)]
    last_updated_at: Value,
    #[serde(default)]
    unified_mode: Value,
    #[serde(default)]
    force_mode: Value,
    #[serde(default)]
    model_config: Value,
    #[serde(default)]
    workspace_identifier: Value,
    #[serde(default)]
    subagent_composer_ids: Value,
    #[serde(default)]
    sub_composer_ids: Value,
    #[serde(default)]
    full_conversation_headers_only: Counted,
    #[serde(default)]
    conversation: Counted,
}

/// The fields of `composerData` a read of its messages takes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ComposerBody {
    #[serde(default)]
    full_conversation_headers_only: Value,
    /// Early builds kept the messages inline.
    #[serde(default)]
    conversation: Value,
}

/// The length of a JSON array, counted without keeping its elements; 0 for anything else.
#[derive(Default)]
struct Counted(usize);

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountVisitor;
        impl<'de> Visitor<'de> for CountVisitor {
            type Value = Counted;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Counted, A::Error> {
                let mut count = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    count += 1;
                }
                Ok(Counted(count))
            }
            skip_to!(Counted(0);
                visit_map(),
                visit_bool(bool),
                visit_i64(i64),
                visit_u64(u64),
                visit_f64(f64),
                visit_str(&str),
                visit_unit()
            );
        }
        deserializer.deserialize_any(CountVisitor)
    }
}

/// Reads the composers of the database at `path` (and, for a workspace's, the composers it
/// lists). A database that cannot be read is one `Unreadable` diagnostic; a composer whose value
/// is not JSON is a `Malformed` one.
pub(super) fn inventory(path: &Path, diagnostics: &mut Vec<Diagnostic>) -> Option<Inventory> {
    let read = Database::open(path).and_then(|mut db| {
        db.read_stable(|conn| {
            let mut found = Vec::new();
            let inventory = read_inventory(conn, path, &mut found)?;
            Ok((inventory, found))
        })
    });
    match read {
        Ok((inventory, found)) => {
            diagnostics.extend(found);
            Some(inventory)
        }
        Err(problem) => {
            diagnostics.push(diagnostic(
                path,
                DiagnosticKind::Unreadable,
                format!("cannot read {}: {problem}", path.display()),
            ));
            None
        }
    }
}

fn read_inventory(
    conn: &Connection,
    path: &Path,
    diagnostics: &mut Vec<Diagnostic>,
) -> rusqlite::Result<Inventory> {
    let mut inventory = Inventory::default();
    let tx = conn.unchecked_transaction()?;
    // Plain text (`3.7.36`), or a JSON string.
    let version = item(&tx, VERSION_KEY)?.and_then(|value| {
        let text = String::from_utf8_lossy(&value);
        let text = serde_json::from_str::<String>(&text).unwrap_or_else(|_| text.into_owned());
        let text = text.trim();
        (!text.is_empty() && text.len() <= 64).then(|| text.to_owned())
    });
    let listing =
        item(&tx, WORKSPACE_COMPOSERS_KEY)?.and_then(|value| serde_json::from_slice::<Value>(&value).ok());
    if let Some(listing) = listing {
        if let Some(all) = listing.get("allComposers").and_then(Value::as_array) {
            inventory.listed = all
                .iter()
                .filter_map(|composer| text_at(composer, "/composerId"))
                .map(str::to_owned)
                .collect();
        }
    }
    if !has_table(&tx, "cursorDiskKV")? {
        return Ok(inventory);
    }
    let mut statement =
        tx.prepare("SELECT key, value FROM cursorDiskKV WHERE key >= ?1 AND key < ?2 ORDER BY key")?;
    let mut rows = statement.query([COMPOSER_FROM, COMPOSER_TO])?;
    while let Some(row) = rows.next()? {
        let Some(id) = bytes(row, 0)
            .and_then(|key| std::str::from_utf8(key).ok())
            .and_then(|key| key.strip_prefix(COMPOSER_FROM))
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
        else {
            continue;
        };
        // NULL: a composer Cursor deleted.
        let Some(value) = bytes(row, 1) else { continue };
        match decode::<ComposerFields>(value, path, &format!("composerData:{id}"), diagnostics) {
            Some(fields) => inventory.composers.push(composer(id, fields, version.as_deref())),
            None => continue,
        }
    }
    Ok(inventory)
}

fn composer(id: String, fields: ComposerFields, version: Option<&str>) -> Composer {
    let messages = fields.full_conversation_headers_only.0.max(fields.conversation.0);
    let created_ms = ms_at(&fields.created_at, "");
    let updated_ms = ms_at(&fields.last_updated_at, "");
    let owned = |value: &Value, pointer: &str| text_at(value, pointer).map(str::to_owned);
    let workspace = &fields.workspace_identifier;
    let cwd = ["/uri/fsPath", "/uri/path"]
        .iter()
        .find_map(|pointer| owned(workspace, pointer))
        .or_else(|| text_at(workspace, "/uri/external").and_then(uri_path))
        .map(|cwd| (cwd, "workspace_identifier"));
    let children = [&fields.subagent_composer_ids, &fields.sub_composer_ids]
        .into_iter()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .filter(|child| !child.is_empty())
        .map(str::to_owned)
        .collect();
    Composer {
        marker: updated_ms.unwrap_or_else(|| {
            marker(&[
                b"composer",
                &created_ms.unwrap_or(0).to_le_bytes(),
                &messages.to_le_bytes(),
            ])
        }),
        head: Head {
            title: owned(&fields.name, ""),
            cwd,
            model: owned(&fields.model_config, "/modelName"),
            mode: owned(&fields.unified_mode, "").or_else(|| owned(&fields.force_mode, "")),
            tool_version: version.map(str::to_owned),
            originator: Some(ORIGINATOR_IDE),
            created: created_ms
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|at| (at, "composer_created")),
            parent: None,
        },
        workspace_id: owned(workspace, "/id"),
        messages,
        children,
        id,
    }
}

/// One `ItemTable` value; missing or NULL is `None`.
fn item(conn: &Connection, key: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    let value = conn
        .query_row("SELECT value FROM ItemTable WHERE key = ?1", [key], |row| {
            Ok(bytes(row, 0).map(<[u8]>::to_vec))
        })
        .optional();
    match value {
        Ok(value) => Ok(value.flatten()),
        // A database without `ItemTable` is read for its composers alone.
        Err(rusqlite::Error::SqliteFailure(_, Some(message))) if message.contains("no such table") => {
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Reads composers' messages from one database, one composer per read transaction.
pub(super) struct Reader {
    db: Database,
    path: std::path::PathBuf,
}

impl Reader {
    pub fn open(path: &Path) -> Result<Reader, String> {
        Ok(Reader {
            db: Database::open(path)?,
            path: path.to_path_buf(),
        })
    }

    /// The messages of composer `id`, or `None` when it is gone (or empty) now.
    pub fn conversation(
        &mut self,
        id: &str,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Result<Option<Conversation>, String> {
        let path = self.path.clone();
        let (conversation, found) = self.db.read_stable(|conn| {
            let mut found = Vec::new();
            let tx = conn.unchecked_transaction()?;
            let conversation = read_conversation(&tx, &path, id, &mut found)?;
            Ok((conversation, found))
        })?;
        diagnostics.extend(found);
        Ok(conversation)
    }
}

fn read_conversation(
    conn: &Connection,
    path: &Path,
    id: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> rusqlite::Result<Option<Conversation>> {
    let key = format!("{COMPOSER_FROM}{id}");
    let mut lookup = conn.prepare_cached("SELECT value FROM cursorDiskKV WHERE key = ?1")?;
    let value: Option<Option<Vec<u8>>> = lookup
        .query_row([&key], |row| Ok(bytes(row, 0).map(<[u8]>::to_vec)))
        .optional()?;
    let Some(Some(value)) = value else {
        return Ok(None);
    };
    let Some(body) = decode::<ComposerBody>(&value, path, &key, diagnostics) else {
        return Ok(None);
    };
    drop(value);
    let mut conversation = Conversation::default();
    if let Some(headers) = body
        .full_conversation_headers_only
        .as_array()
        .filter(|headers| !headers.is_empty())
    {
        for header in headers {
            let Some(bubble_id) = text_at(header, "/bubbleId") else {
                continue;
            };
            let key = format!("bubbleId:{id}:{bubble_id}");
            let bubble: Option<Option<Value>> = lookup
                .query_row([&key], |row| {
                    Ok(bytes(row, 0).and_then(|value| decode::<Value>(value, path, &key, diagnostics)))
                })
                .optional()?;
            // A header naming a bubble that is gone, or one Cursor emptied (NULL).
            let Some(Some(bubble)) = bubble else { continue };
            let header_type = header.get("type").and_then(Value::as_i64);
            conversation
                .drafts
                .extend(bubble_draft(bubble_id, &bubble, header_type));
        }
    } else if let Some(inline) = body.conversation.as_array() {
        for bubble in inline {
            if let Some(bubble_id) = text_at(bubble, "/bubbleId") {
                conversation.drafts.extend(bubble_draft(bubble_id, bubble, None));
            }
        }
    }
    Ok(Some(conversation))
}

/// Decodes one value (long strings cut while decoding, as a long transcript line's are); one
/// that is not JSON of the expected shape is reported as malformed, naming its key.
pub(super) fn decode<T: serde::de::DeserializeOwned>(
    value: &[u8],
    path: &Path,
    key: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<T> {
    // JSON `null`, like SQL NULL, is a value Cursor emptied.
    if value.trim_ascii() == b"null" {
        return None;
    }
    let document = match decode_document::<T>(Cursor::new(value)) {
        Ok(document) => document,
        Err(error) => {
            diagnostics.push(diagnostic(
                path,
                DiagnosticKind::Malformed,
                format!("{key}: {error}"),
            ));
            return None;
        }
    };
    if document.invalid_utf8_replaced {
        diagnostics.push(diagnostic(
            path,
            DiagnosticKind::InvalidUtf8,
            format!("{key}: invalid UTF-8 replaced with U+FFFD"),
        ));
    }
    match document.decoded {
        Ok(decoded) => Some(decoded),
        Err(error) => {
            diagnostics.push(diagnostic(
                path,
                DiagnosticKind::Malformed,
                format!("{key}: not the JSON expected: {error}"),
            ));
            None
        }
    }
}
