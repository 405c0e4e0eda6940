//! Deterministic memory ids: the reference importer's UUIDv7 construction, bit for bit.
//!
//! The 48-bit timestamp prefix keeps ids time-ordered (good for the primary key index); the rest
//! comes from SHA-256 of `<tool>:<session>:<message>`, so re-importing a message always yields the
//! same id and never a duplicate row.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::model::Tool;

/// The memory id of one message.
pub fn memory_id(tool: Tool, session_id: &str, message_id: &str, at: DateTime<Utc>) -> Uuid {
    let digest = Sha256::new()
        .chain_update(tool.as_str())
        .chain_update(b":")
        .chain_update(session_id)
        .chain_update(b":")
        .chain_update(message_id)
        .finalize();
    let millis = at.timestamp_millis().max(0) as u64 & 0xffff_ffff_ffff;
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    bytes[6] = 0x70 | (digest[0] & 0x0f);
    bytes[7] = digest[1];
    bytes[8] = 0x80 | (digest[2] & 0x3f);
    bytes[9..].copy_from_slice(&digest[3..10]);
    Uuid::from_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(millis).unwrap()
    }

    fn iso(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    /// The golden vectors of the reference importer (reference-importer.md, section 6).
    #[test]
    fn golden_vectors_match_the_reference_importer() {
        let cases = [
            (
                Tool::named("claude"),
                "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee",
                "user-1",
                iso("2026-04-01T10:00:01Z"),
                "019d487c-54e8-7f5b-b31f-90dcb043b69f",
            ),
            (
                Tool::named("codex"),
                "01234567-89ab-71de-9abc-def012345678",
                "m-1",
                iso("2026-03-03T10:00:01Z"),
                "019cb323-e8e8-7e91-9743-f4eae2585d27",
            ),
            (
                Tool::named("codex"),
                "01234567-89ab-71de-9abc-def012345678",
                "c1",
                iso("2026-03-03T10:00:03Z"),
                "019cb323-f0b8-7e81-874d-77b30623c1cb",
            ),
            (
                Tool::named("opencode"),
                "ses_test",
                "msg_1",
                ms(1_770_400_000_000),
                "019c3410-2800-71e7-9835-8dc5af34f140",
            ),
            (
                Tool::named("claude"),
                "session-123",
                "msg-1",
                ms(1_700_000_000_000),
                "018bcfe5-6800-758d-8d74-5aa8e87c91f6",
            ),
        ];
        for (tool, session, message, at, expected) in cases {
            assert_eq!(
                memory_id(tool, session, message, at).to_string(),
                expected,
                "{tool} {message}"
            );
        }
    }

    #[test]
    fn ids_are_version_7_with_the_timestamp_prefix() {
        let id = memory_id(Tool::named("claude"), "s", "m", ms(1_700_000_000_123));
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        let prefix = u64::from_be_bytes([
            0,
            0,
            id.as_bytes()[0],
            id.as_bytes()[1],
            id.as_bytes()[2],
            id.as_bytes()[3],
            id.as_bytes()[4],
            id.as_bytes()[5],
        ]);
        assert_eq!(prefix, 1_700_000_000_123);
    }

    #[test]
    fn ids_depend_on_tool_session_and_message() {
        let at = ms(1_700_000_000_000);
        let base = memory_id(Tool::named("claude"), "s", "m", at);
        assert_eq!(base, memory_id(Tool::named("claude"), "s", "m", at));
        assert_ne!(base, memory_id(Tool::named("codex"), "s", "m", at));
        assert_ne!(base, memory_id(Tool::named("claude"), "t", "m", at));
        assert_ne!(base, memory_id(Tool::named("claude"), "s", "n", at));
    }

    #[test]
    fn times_before_1970_clamp_to_zero() {
        let id = memory_id(Tool::named("claude"), "s", "m", ms(-5));
        assert_eq!(&id.as_bytes()[..6], &[0; 6]);
    }
}
