//! Instants as HubSpot reads and writes them.
//!
//! HubSpot stores datetimes as epoch milliseconds and prints them the way Java's
//! `Instant.toString()` does: UTC with a `Z`, with `.SSS` only when the milliseconds are
//! non-zero (`2025-04-24T20:01:33Z` next to `2025-05-01T13:39:33.903Z`). Input is either
//! ISO 8601 or epoch milliseconds.

use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Milliseconds since the Unix epoch, the unit HubSpot keeps every instant in.
pub type EpochMillis = i64;

const MILLIS_PER_DAY: i64 = 86_400_000;
/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: instants outside four-digit years are
/// refused, so every stored instant prints in HubSpot's format and parses back.
const MIN_MILLIS: EpochMillis = -62_167_219_200_000;
const MAX_MILLIS: EpochMillis = 253_402_300_799_999;

fn in_range(millis: EpochMillis) -> Option<EpochMillis> {
    (MIN_MILLIS..=MAX_MILLIS)
        .contains(&millis)
        .then_some(millis)
}

/// The current time, truncated to the millisecond like every instant HubSpot returns.
pub fn now_millis() -> EpochMillis {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    since.as_millis() as EpochMillis
}

/// Formats an instant as `Instant.toString()` does at millisecond precision.
///
/// Every record read renders four or five of these, so the common case (years 0–9999) writes
/// its digits straight into the string: through `format!` it cost ~1,500 instructions, ~6 %
/// of a whole `GET` (callgrind, `benches/callgrind/instructions.sh`).
pub fn format_datetime(millis: EpochMillis) -> String {
    let Ok(at) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000) else {
        // Out of the representable range: fall back to the raw number rather than panic.
        return millis.to_string();
    };
    let fraction = millis.rem_euclid(1000);
    let Ok(year) = u16::try_from(at.year()) else {
        return format_datetime_slowly(&at, fraction);
    };
    if year > 9999 {
        return format_datetime_slowly(&at, fraction);
    }
    let mut text = String::with_capacity(24);
    push_digits(&mut text, u32::from(year), 4);
    text.push('-');
    push_digits(&mut text, u32::from(u8::from(at.month())), 2);
    text.push('-');
    push_digits(&mut text, u32::from(at.day()), 2);
    text.push('T');
    push_digits(&mut text, u32::from(at.hour()), 2);
    text.push(':');
    push_digits(&mut text, u32::from(at.minute()), 2);
    text.push(':');
    push_digits(&mut text, u32::from(at.second()), 2);
    if fraction != 0 {
        text.push('.');
        // `rem_euclid(1000)` is in 0..1000.
        push_digits(&mut text, fraction as u32, 3);
    }
    text.push('Z');
    text
}

/// Appends `value`'s last `width` decimal digits, zero-padded.
fn push_digits(text: &mut String, value: u32, width: u32) {
    for position in (0..width).rev() {
        let digit = value / 10u32.pow(position) % 10;
        text.push(char::from(b'0' + digit as u8));
    }
}

/// [`format_datetime`] for years outside 0–9999, which `Instant.toString()` writes with a
/// sign or more digits.
fn format_datetime_slowly(at: &OffsetDateTime, fraction: i64) -> String {
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    if fraction == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{fraction:03}Z")
    }
}

/// Formats a date property value (`YYYY-MM-DD`) from its midnight-UTC instant.
pub fn format_date(millis: EpochMillis) -> String {
    let julian_day = i32::try_from(2_440_588 + millis.div_euclid(MILLIS_PER_DAY)).ok();
    match julian_day.map(Date::from_julian_day) {
        Some(Ok(date)) => format!(
            "{:04}-{:02}-{:02}",
            date.year(),
            u8::from(date.month()),
            date.day()
        ),
        _ => millis.to_string(),
    }
}

/// Reads a datetime given as epoch milliseconds or ISO 8601.
///
/// A bare number is always milliseconds, as on HubSpot (a seconds value silently becomes a
/// 1970 date there too). ISO forms accepted: full RFC 3339 with offset, the same without an
/// offset (read as UTC), and a bare date (midnight UTC).
pub fn parse_datetime(text: &str) -> Option<EpochMillis> {
    parse_any_datetime(text.trim()).and_then(in_range)
}

fn parse_any_datetime(text: &str) -> Option<EpochMillis> {
    if let Some(millis) = parse_epoch_millis(text) {
        return Some(millis);
    }
    if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some(instant_millis(at));
    }
    let local_forms = [
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
    ];
    for form in local_forms {
        if let Ok(at) = PrimitiveDateTime::parse(text, form) {
            return Some(instant_millis(at.assume_offset(UtcOffset::UTC)));
        }
    }
    parse_iso_date(text)
}

/// Reads a date property value: `YYYY-MM-DD`, or epoch milliseconds at midnight UTC.
pub fn parse_date(text: &str) -> Option<EpochMillis> {
    let text = text.trim();
    let millis = match parse_epoch_millis(text) {
        Some(millis) => (millis.rem_euclid(MILLIS_PER_DAY) == 0).then_some(millis),
        None => parse_iso_date(text),
    };
    millis.and_then(in_range)
}

fn parse_iso_date(text: &str) -> Option<EpochMillis> {
    let date = Date::parse(text, format_description!("[year]-[month]-[day]")).ok()?;
    Some(instant_millis(date.midnight().assume_utc()))
}

/// Epoch milliseconds written as an integer, optionally with a `.0` tail as some JSON
/// encoders produce for whole numbers.
fn parse_epoch_millis(text: &str) -> Option<EpochMillis> {
    let digits = text.strip_suffix(".0").unwrap_or(text);
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn instant_millis(at: OffsetDateTime) -> EpochMillis {
    (at.unix_timestamp_nanos() / 1_000_000) as EpochMillis
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_and_slow_formatting_agree() {
        // Before and at the epoch, a leap day, the last millisecond of 9999 and a spread between.
        let samples = [
            -1,
            -86_400_000,
            0,
            5,
            999,
            1_000,
            951_782_400_000,
            253_402_300_799_999,
        ]
        .into_iter()
        .chain((0..2_000).map(|i: i64| i * 126_230_400_037 + i % 1000));
        for millis in samples {
            let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
                .expect("in range");
            assert_eq!(
                format_datetime(millis),
                format_datetime_slowly(&at, millis.rem_euclid(1000)),
                "{millis}"
            );
        }
    }

    #[test]
    fn formats_like_java_instant() {
        assert_eq!(format_datetime(1_745_524_893_000), "2025-04-24T20:01:33Z");
        assert_eq!(
            format_datetime(1_746_106_773_903),
            "2025-05-01T13:39:33.903Z"
        );
        assert_eq!(format_datetime(5), "1970-01-01T00:00:00.005Z");
    }

    #[test]
    fn reads_both_input_forms() {
        assert_eq!(parse_datetime("1745524893000"), Some(1_745_524_893_000));
        assert_eq!(
            parse_datetime("2025-04-24T20:01:33.000Z"),
            Some(1_745_524_893_000)
        );
        assert_eq!(
            parse_datetime("2025-04-24T22:01:33+02:00"),
            Some(1_745_524_893_000)
        );
        assert_eq!(
            parse_datetime("2025-04-24T20:01:33"),
            Some(1_745_524_893_000)
        );
        assert_eq!(parse_datetime("2025-04-24"), Some(1_745_452_800_000));
        assert_eq!(parse_datetime("yesterday"), None);
        assert_eq!(parse_datetime("2025-13-01"), None);
        // Outside four-digit years: refused rather than stored unprintable.
        assert_eq!(parse_datetime("253402300800000"), None);
        assert_eq!(parse_datetime("9223372036854775807"), None);
        assert_eq!(parse_date("185542500700800000"), None);
    }

    #[test]
    fn dates_must_be_midnight() {
        assert_eq!(parse_date("2025-04-24"), Some(1_745_452_800_000));
        assert_eq!(parse_date("1745452800000"), Some(1_745_452_800_000));
        assert_eq!(parse_date("1745452800001"), None);
        assert_eq!(format_date(1_745_452_800_000), "2025-04-24");
    }
}
