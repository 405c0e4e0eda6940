//! How `search`, `show` and `status` present what they read: text for people and JSON for
//! programs, both for stdout. Rendering writes to the writer it is given; it never decides exit
//! codes.

mod search;
mod show;
mod status;

use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use search::{search_json, search_text};
pub use show::TranscriptWriter;
pub use status::status_text;

/// A time as people read it: UTC to the minute.
fn minute(at: Option<DateTime<Utc>>) -> String {
    at.map(|at| at.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "(no time)".to_owned())
}

/// A path with the home directory shown as `~`.
fn tilde(path: &str, home: Option<&Path>) -> String {
    match home.and_then(|home| Path::new(path).strip_prefix(home).ok()) {
        Some(rest) if rest.as_os_str().is_empty() => "~".to_owned(),
        Some(rest) => format!("~/{}", rest.display()),
        None => path.to_owned(),
    }
}

/// A string field of a row's meta.
fn meta_str<'m>(meta: &'m Value, key: &str) -> Option<&'m str> {
    meta.get(key).and_then(Value::as_str)
}

/// The project a row belongs to, as people know it: its git root, else its working directory.
fn project_of(meta: &Value, home: Option<&Path>) -> String {
    meta_str(meta, "source_git_root")
        .or_else(|| meta_str(meta, "source_cwd"))
        .map(|path| tilde(path, home))
        .unwrap_or_else(|| "(no project)".to_owned())
}

/// The first characters of an id, enough to tell sessions apart and to give to `show`.
fn short_id(id: &str) -> &str {
    match id.char_indices().nth(12) {
        Some((end, _)) => &id[..end],
        None => id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_home_are_shortened() {
        let home = Path::new("/home/dev");
        assert_eq!(tilde("/home/dev/src/app", Some(home)), "~/src/app");
        assert_eq!(tilde("/home/dev", Some(home)), "~");
        assert_eq!(tilde("/home/devx", Some(home)), "/home/devx");
        assert_eq!(tilde("/srv", None), "/srv");
    }

    #[test]
    fn short_ids_keep_twelve_characters() {
        assert_eq!(short_id("0a1b2c3d-4e5f-6789"), "0a1b2c3d-4e5");
        assert_eq!(short_id("ses_1"), "ses_1");
    }
}
