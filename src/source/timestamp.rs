//! Transcript timestamps: RFC 3339, read on a fast path in the form the tools write.

use chrono::{DateTime, NaiveDate, Utc};

/// An RFC 3339 timestamp in UTC, or `None` when it is not one. Claude Code and Codex write every
/// line's time as `2026-01-21T07:04:19.643Z`; that form is read here directly, a few times faster
/// than chrono's general parser, which reads every other form (offsets, leap seconds, more than
/// nine fraction digits) and decides everything the fast path does not accept.
pub fn parse_rfc3339(text: &str) -> Option<DateTime<Utc>> {
    utc_with_fraction(text.as_bytes())
        .or_else(|| DateTime::parse_from_rfc3339(text).ok().map(|at| at.to_utc()))
}

/// `YYYY-MM-DDTHH:MM:SS[.F{1,9}]Z` with a valid date and time up to second 59, else `None`.
fn utc_with_fraction(text: &[u8]) -> Option<DateTime<Utc>> {
    let (head, rest) = text.split_at_checked(19)?;
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        head[range].iter().try_fold(0u32, |value, byte| {
            byte.is_ascii_digit().then(|| value * 10 + u32::from(byte - b'0'))
        })
    };
    if [head[4], head[7], head[10], head[13], head[16]] != [b'-', b'-', b'T', b':', b':'] {
        return None;
    }
    let nanos = match rest {
        [b'Z'] => 0,
        [b'.', fraction @ .., b'Z'] if (1..=9).contains(&fraction.len()) => {
            let value = fraction.iter().try_fold(0u32, |value, byte| {
                byte.is_ascii_digit().then(|| value * 10 + u32::from(byte - b'0'))
            })?;
            value * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    let second = digits(17..19)?;
    if second > 59 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(digits(0..4)? as i32, digits(5..7)?, digits(8..10)?)?;
    let time = date.and_hms_nano_opt(digits(11..13)?, digits(14..16)?, second, nanos)?;
    Some(time.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text).ok().map(|at| at.to_utc())
    }

    #[test]
    fn the_fast_path_reads_the_tools_form_exactly_as_chrono_does() {
        let mut state = 11u64;
        let mut next = move |below: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % below
        };
        let mut fast = 0;
        for _ in 0..20_000 {
            // Mostly valid times, with fields past their range (day 31 of February, hour 24).
            let mut text = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
                1960 + next(100),
                1 + next(12),
                1 + next(31),
                next(25),
                next(61),
                next(61)
            );
            let digits = next(11);
            if digits > 0 {
                text.push('.');
                for _ in 0..digits {
                    text.push(char::from(b'0' + next(10) as u8));
                }
            }
            text.push('Z');
            fast += usize::from(utc_with_fraction(text.as_bytes()).is_some());
            assert_eq!(parse_rfc3339(&text), chrono(&text), "{text}");
        }
        assert!(fast > 10_000, "most samples take the fast path: {fast}");
    }

    #[test]
    fn other_forms_are_left_to_chrono() {
        for text in [
            "2026-01-21T07:04:19.643+02:00",
            "2026-01-21t07:04:19z",
            "2026-01-21 07:04:19Z",
            "2026-12-31T23:59:60Z",
            "2026-01-21T07:04:19.1234567891Z",
            "2026-01-21T07:04:19.Z",
            "2026-01-21T07:04Z",
            "2026-1-21T07:04:19Z",
            "+2026-01-21T07:04:19Z",
            "2026-01-21T07:04:19Zjunk",
            "",
            "not a time",
            "２０２６-01-21T07:04:19Z",
        ] {
            assert_eq!(utc_with_fraction(text.as_bytes()), None, "{text}");
            assert_eq!(parse_rfc3339(text), chrono(text), "{text}");
        }
    }
}
