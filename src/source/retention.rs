//! How long a tool keeps its sessions before deleting them on its own, read from the tool's
//! settings file: the figures [`super::Source::retention`] returns, and which files that deletes
//! soon ([`Retention::deletes_within`]), for the retention guard of `import` and `status`.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
    /// How far ahead the retention guard looks: a session file its tool deletes within this many
    /// days is warned of.
    pub const WARNING_DAYS: u64 = 7;

    pub fn days(days: f64, setting: String) -> Retention {
        Retention {
            max_age: DAY.mul_f64(days),
            setting,
        }
    }

    /// Whether the tool deletes a session file last changed at `mtime_ns` (nanoseconds since the
    /// epoch, as the ledger's `FileState` has it) within `days` days of `now`: already due
    /// counts too. A time before the epoch is taken for no time at all.
    pub fn deletes_within(&self, mtime_ns: i64, now: SystemTime, days: u64) -> bool {
        let Ok(nanos) = u64::try_from(mtime_ns) else {
            return false;
        };
        let changed = UNIX_EPOCH + Duration::from_nanos(nanos);
        changed + self.max_age <= now + DAY * days as u32
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
    fn a_file_is_deleted_within_the_days_its_age_and_the_retention_leave() {
        let retention = Retention::days(10.0, "cleanupPeriodDays = 10".to_owned());
        let now = UNIX_EPOCH + DAY * 1000;
        let aged = |days: u32| (now - DAY * days).duration_since(UNIX_EPOCH).unwrap().as_nanos() as i64;
        // Deleted 10 days after its last change: in 5 days, in 3, today, or (now) in 10.
        assert!(retention.deletes_within(aged(5), now, Retention::WARNING_DAYS));
        assert!(retention.deletes_within(aged(3), now, Retention::WARNING_DAYS));
        assert!(retention.deletes_within(aged(40), now, Retention::WARNING_DAYS));
        assert!(!retention.deletes_within(aged(2), now, Retention::WARNING_DAYS));
        assert!(!retention.deletes_within(aged(0), now, Retention::WARNING_DAYS));
        assert!(retention.deletes_within(aged(0), now, 10));
        assert!(!retention.deletes_within(-1, now, Retention::WARNING_DAYS));
    }

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
