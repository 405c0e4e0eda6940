//! How long a tool keeps its sessions before deleting them on its own, read from the tool's
//! settings file: the figures [`super::Source::retention`] returns.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

const DAY: Duration = Duration::from_secs(86_400);

/// A tool's own deletion of its sessions: each session file goes `max_age` after its last change.
#[derive(Clone, Debug, PartialEq)]
pub struct Retention {
    pub max_age: Duration,
    /// The setting that says so, and where it was read, for the warning.
    pub setting: String,
}

impl Retention {
    pub fn days(days: f64, setting: String) -> Retention {
        Retention {
            max_age: DAY.mul_f64(days),
            setting,
        }
    }
}

/// The value at `path` (object keys) in the JSON settings file `file`; `None` when the file, the
/// key or valid JSON is missing (the tool then applies its default, and so does memtree).
pub(crate) fn setting(file: &Path, path: &[&str]) -> Option<Value> {
    let text = std::fs::read_to_string(file).ok()?;
    let settings: Value = match serde_json::from_str(&text) {
        Ok(settings) => settings,
        Err(error) => {
            tracing::debug!(
                "{}: not plain JSON ({error}); taking the defaults",
                file.display()
            );
            return None;
        }
    };
    path.iter()
        .try_fold(&settings, |value, key| value.get(key))
        .cloned()
}

/// A Gemini CLI duration (`<n>h`, `<n>d`, `<n>w` or `<n>m`, a month being 30 days), as Gemini
/// CLI's session cleanup parses it; `None` for anything else, which disables its cleanup.
pub(crate) fn gemini_period(text: &str) -> Option<Duration> {
    let unit_at = text.len().checked_sub(1)?;
    let (number, unit) = text.split_at(unit_at);
    let number: u32 = number
        .parse()
        .ok()
        .filter(|n| *n > 0 && number.bytes().all(|b| b.is_ascii_digit()))?;
    let unit = match unit {
        "h" => Duration::from_secs(3600),
        "d" => DAY,
        "w" => DAY * 7,
        "m" => DAY * 30,
        _ => return None,
    };
    Some(unit * number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_periods_parse_as_gemini_cli_parses_them() {
        assert_eq!(gemini_period("30d"), Some(DAY * 30));
        assert_eq!(gemini_period("12h"), Some(Duration::from_secs(12 * 3600)));
        assert_eq!(gemini_period("2w"), Some(DAY * 14));
        assert_eq!(gemini_period("1m"), Some(DAY * 30));
        for bad in ["0d", "d", "30", "30 d", "-1d", "1.5d", "", "30y"] {
            assert_eq!(gemini_period(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_are_read_by_key_path_and_broken_files_give_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("settings.json");
        std::fs::write(&file, r#"{"general":{"sessionRetention":{"maxAge":"7d"}}}"#).unwrap();
        assert_eq!(
            setting(&file, &["general", "sessionRetention", "maxAge"]),
            Some(Value::from("7d"))
        );
        assert_eq!(setting(&file, &["cleanupPeriodDays"]), None);
        std::fs::write(&file, "{ // a comment\n}").unwrap();
        assert_eq!(setting(&file, &["general"]), None);
        assert_eq!(setting(&dir.path().join("missing.json"), &["general"]), None);
    }
}
