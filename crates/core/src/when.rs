//! "When" as a person types it on the command line: `--until`, `--due`.
//!
//! Accepted forms (local forms are read in the time zone passed in, never the machine's):
//! - RFC 3339 with an offset: `2026-12-01T09:00:00Z`, `2026-12-01T11:00:00+02:00`;
//! - a duration from now: `+30m`, `+2h`, `+3d`, `+1w`, combined `+1d12h`. Days and weeks
//!   are calendar days in the zone (so `+1d` across a DST change keeps the wall-clock time);
//!   minutes and hours are exact;
//! - `today HH:MM`, `tomorrow HH:MM`, `tomorrow` (= 9:00, the start of a working day);
//! - a local date and time: `2026-12-24 18:00`, `2026-12-24T18:00`, or a date alone (9:00).
//!
//! The result may be in the past (`today 8:00` in the afternoon); the caller decides whether
//! that is an error, since a snooze and a follow-up treat it differently.

use crate::Millis;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, Zoned};

/// Why a "when" could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhenError {
    #[error("no time given; use RFC 3339, +2h, +3d, 'tomorrow 9:00' or '2026-12-24 18:00'")]
    Empty,
    #[error(
        "cannot read {input:?} as a time; use RFC 3339 (2026-12-01T09:00:00Z), a duration \
         (+30m, +2h, +3d, +1w), 'today 17:00', 'tomorrow 9:00' or a local '2026-12-24 18:00'"
    )]
    Unrecognised { input: String },
    #[error("{input:?} is out of range")]
    OutOfRange { input: String },
}

/// The hour a day without a time stands for.
const DEFAULT_HOUR: i8 = 9;

/// Reads `text` relative to `now`, local forms in `tz`; returns milliseconds since the epoch.
pub fn parse_when(text: &str, now: Millis, tz: &TimeZone) -> Result<Millis, WhenError> {
    let input = text.trim();
    if input.is_empty() {
        return Err(WhenError::Empty);
    }
    let unrecognised = || WhenError::Unrecognised {
        input: input.to_string(),
    };
    let out_of_range = || WhenError::OutOfRange {
        input: input.to_string(),
    };
    let now_ts = Timestamp::from_millisecond(now).map_err(|_| out_of_range())?;
    let now_local = now_ts.to_zoned(tz.clone());

    if let Some(rest) = input.strip_prefix('+') {
        let span = parse_duration(rest).ok_or_else(unrecognised)?;
        let at = now_local.checked_add(span).map_err(|_| out_of_range())?;
        return Ok(at.timestamp().as_millisecond());
    }

    let lower = input.to_lowercase();
    let mut words = lower.split_whitespace();
    let first = words.next().unwrap_or_default();
    let day_offset = match first {
        "today" => Some(0),
        "tomorrow" => Some(1),
        _ => None,
    };
    if let Some(days) = day_offset {
        let time = match (words.next(), words.next()) {
            (None, _) => Time::constant(DEFAULT_HOUR, 0, 0, 0),
            (Some(t), None) => parse_clock(t).ok_or_else(unrecognised)?,
            _ => return Err(unrecognised()),
        };
        let date = now_local
            .date()
            .checked_add(Span::new().days(days))
            .map_err(|_| out_of_range())?;
        return local(date.to_datetime(time), tz).ok_or_else(out_of_range);
    }

    // An explicit offset or Z: an instant, whatever the zone.
    if let Ok(ts) = input.parse::<Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    // A local date, optionally with a time after a space or 'T'.
    let (date_part, time_part) = match input.split_once([' ', 'T', 't']) {
        Some((d, t)) => (d, Some(t.trim())),
        None => (input, None),
    };
    let date: Date = date_part.parse().map_err(|_| unrecognised())?;
    let time = match time_part {
        None => Time::constant(DEFAULT_HOUR, 0, 0, 0),
        Some(t) => parse_clock(t).ok_or_else(unrecognised)?,
    };
    local(date.to_datetime(time), tz).ok_or_else(out_of_range)
}

/// `H:MM`, `HH:MM` or `HH:MM:SS`, 24-hour.
fn parse_clock(text: &str) -> Option<Time> {
    let mut parts = text.split(':');
    let hour: i8 = parse_digits(parts.next()?, 2)?;
    let minute: i8 = parse_digits(parts.next()?, 2)?;
    let second: i8 = match parts.next() {
        Some(s) => parse_digits(s, 2)?,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Time::new(hour, minute, second, 0).ok()
}

fn parse_digits<T: std::str::FromStr>(text: &str, max_len: usize) -> Option<T> {
    if text.is_empty() || text.len() > max_len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `30m`, `2h`, `3d`, `1w`, or several of them run together (`1d12h`).
fn parse_duration(text: &str) -> Option<Span> {
    if text.is_empty() {
        return None;
    }
    // Summed per unit, then built once: jiff cannot add a day span to an hour span without
    // a reference date.
    let (mut minutes, mut hours, mut days, mut weeks) = (0i64, 0i64, 0i64, 0i64);
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        // Six digits is already years of minutes; more is a typo, not a plan.
        if digits == 0 || digits > 6 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        let unit = rest[digits..].chars().next()?;
        match unit.to_ascii_lowercase() {
            'm' => minutes += n,
            'h' => hours += n,
            'd' => days += n,
            'w' => weeks += n,
            _ => return None,
        }
        rest = &rest[digits + unit.len_utf8()..];
    }
    Span::new()
        .try_weeks(weeks)
        .and_then(|s| s.try_days(days))
        .and_then(|s| s.try_hours(hours))
        .and_then(|s| s.try_minutes(minutes))
        .ok()
}

/// A wall-clock time in `tz`; a time skipped by a DST jump moves forward (jiff's
/// "compatible" rule), a repeated one takes the earlier instant.
fn local(dt: DateTime, tz: &TimeZone) -> Option<Millis> {
    let zoned: Zoned = dt.to_zoned(tz.clone()).ok()?;
    Some(zoned.timestamp().as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).expect("zone in the bundled tzdb")
    }

    fn ms(rfc3339: &str) -> Millis {
        rfc3339
            .parse::<Timestamp>()
            .expect("valid timestamp")
            .as_millisecond()
    }

    /// RFC 3339 with an offset is an instant regardless of the zone passed in.
    #[test]
    fn rfc3339_is_absolute() {
        let now = ms("2026-12-01T10:00:00Z");
        assert_eq!(
            parse_when("2026-12-02T11:00:00+02:00", now, &tz("America/New_York")),
            Ok(ms("2026-12-02T09:00:00Z"))
        );
        assert_eq!(
            parse_when("2026-12-02T09:00:00Z", now, &tz("Asia/Jerusalem")),
            Ok(ms("2026-12-02T09:00:00Z"))
        );
    }

    /// Minutes and hours are exact durations; days keep the wall-clock time across DST.
    #[test]
    fn durations_from_now() {
        let jer = tz("Asia/Jerusalem");
        let now = ms("2026-12-01T10:00:00Z");
        assert_eq!(parse_when("+2h", now, &jer), Ok(now + 2 * crate::HOUR));
        assert_eq!(parse_when("+30m", now, &jer), Ok(now + 30 * crate::MINUTE));
        assert_eq!(parse_when("+3d", now, &jer), Ok(now + 3 * crate::DAY));
        assert_eq!(parse_when("+1w", now, &jer), Ok(now + 7 * crate::DAY));
        assert_eq!(
            parse_when("+1d12h", now, &jer),
            Ok(now + crate::DAY + 12 * crate::HOUR)
        );
        // Warsaw leaves summer time on 2026-10-25: +1d from 12:00 local is 12:00 local,
        // which is 25 hours later.
        let waw = tz("Europe/Warsaw");
        let before = ms("2026-10-24T10:00:00Z");
        assert_eq!(
            parse_when("+1d", before, &waw),
            Ok(before + crate::DAY + crate::HOUR)
        );
        assert_eq!(parse_when("+24h", before, &waw), Ok(before + crate::DAY));
    }

    /// `tomorrow 9:00` is 9:00 on the next local day in the given zone, not the machine's.
    #[test]
    fn tomorrow_and_today_are_local() {
        // 23:30 UTC on Dec 1 is already Dec 2 in Jerusalem (UTC+2).
        let now = ms("2026-12-01T23:30:00Z");
        let jer = tz("Asia/Jerusalem");
        assert_eq!(
            parse_when("tomorrow 9:00", now, &jer),
            Ok(ms("2026-12-03T07:00:00Z"))
        );
        assert_eq!(
            parse_when("Tomorrow", now, &jer),
            Ok(ms("2026-12-03T07:00:00Z"))
        );
        assert_eq!(
            parse_when("today 17:30", now, &jer),
            Ok(ms("2026-12-02T15:30:00Z"))
        );
        assert_eq!(
            parse_when("tomorrow 9:00", now, &TimeZone::UTC),
            Ok(ms("2026-12-02T09:00:00Z"))
        );
    }

    /// A local date with or without a time is read in the zone; a date alone is 9:00.
    #[test]
    fn local_dates() {
        let now = ms("2026-12-01T10:00:00Z");
        let waw = tz("Europe/Warsaw");
        assert_eq!(
            parse_when("2026-12-24 18:00", now, &waw),
            Ok(ms("2026-12-24T17:00:00Z"))
        );
        assert_eq!(
            parse_when("2026-12-24T18:00", now, &waw),
            Ok(ms("2026-12-24T17:00:00Z"))
        );
        assert_eq!(
            parse_when("2026-07-01", now, &waw),
            Ok(ms("2026-07-01T07:00:00Z"))
        );
    }

    /// Anything else is an error that names the input and shows the accepted forms.
    #[test]
    fn rejects_garbage_with_a_clear_message() {
        let now = ms("2026-12-01T10:00:00Z");
        let utc = TimeZone::UTC;
        for bad in [
            "soon",
            "+",
            "+2",
            "+2y",
            "+h",
            "+9999999d",
            "tomorrow 25:00",
            "tomorrow 9",
            "tomorrow 9:00 pm",
            "2026-13-01",
            "2026-12-01 9:60",
            "+2h\u{5d0}",
            "‏מחר",
        ] {
            let err = parse_when(bad, now, &utc).expect_err(bad);
            let message = err.to_string();
            assert!(
                message.contains("+2h") || message.contains("out of range"),
                "{bad}: {message}"
            );
        }
        assert_eq!(parse_when("  ", now, &utc), Err(WhenError::Empty));
    }
}
