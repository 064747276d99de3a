//! Dates and times as smtpsh writes them, all from the `time` crate and
//! all in UTC: the RFC 5322 `Date:` form for headers, a readable form for
//! `status` and `inbox`, RFC 3339 for machines, and a compact form for file
//! names.

use std::time::SystemTime;
use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc2822;
use time::macros::format_description;
use time::{OffsetDateTime, UtcDateTime};

/// `2026-12-06 17:39:35 UTC`.
const READABLE: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
/// `2026-12-06T17:39:35Z`.
const RFC3339: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
/// `2026-12-06T17:39:35.123Z`.
const STAMP: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
/// `20261206T173935Z`.
const COMPACT: &[BorrowedFormatItem<'static>] =
    format_description!("[year][month][day]T[hour][minute][second]Z");

/// `t` as a UTC date-time; times before 1970 or past what `time` holds
/// become the nearest one it does.
fn utc(t: SystemTime) -> UtcDateTime {
    let secs = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    from_unix(secs)
}

/// Seconds since the epoch as a UTC date-time, clamped to what `time` holds.
fn from_unix(secs: i64) -> UtcDateTime {
    UtcDateTime::from_unix_timestamp(secs).unwrap_or(if secs < 0 {
        UtcDateTime::MIN
    } else {
        UtcDateTime::MAX
    })
}

/// The RFC 5322 §3.3 date-time of `t` in UTC, for `Date:` and
/// `Received:` headers: `Sun, 06 Dec 2026 17:39:35 +0000`.
pub fn rfc5322(t: SystemTime) -> String {
    // RFC 2822's date-time is RFC 5322's (minus the obsolete forms).
    OffsetDateTime::from(utc(t))
        .format(&Rfc2822)
        .unwrap_or_else(|_| "Thu, 01 Jan 1970 00:00:00 +0000".to_string())
}

/// Seconds since the epoch (negative before it) as `2026-12-06 17:39:35
/// UTC`, for people: certificate validity in `status` (`i64`, as
/// `x509-parser` and rustls give it), arrival times in `inbox` (`u64`).
/// Times past what `time` holds become the nearest one it does.
pub fn readable_unix(secs: impl Into<i128>) -> String {
    let secs: i128 = secs.into();
    let clamped = i64::try_from(secs).unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX });
    from_unix(clamped)
        .format(READABLE)
        .unwrap_or_else(|_| format!("{secs} s after the epoch"))
}

/// `2026-12-06T17:39:35Z` (RFC 3339, UTC), for machines: serve's events,
/// `inbox --json`.
pub fn rfc3339(t: SystemTime) -> String {
    rfc3339_of(utc(t))
}

/// Seconds since the epoch as [`rfc3339`] gives it.
pub fn rfc3339_unix(secs: u64) -> String {
    rfc3339_of(from_unix(i64::try_from(secs).unwrap_or(i64::MAX)))
}

fn rfc3339_of(t: UtcDateTime) -> String {
    t.format(RFC3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// `2026-12-06T17:39:35.123Z` (RFC 3339 with milliseconds, UTC), for
/// each line of a `--log` transcript.
pub fn stamp(t: SystemTime) -> String {
    let ms = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::from(d.subsec_millis()));
    let whole = utc(t);
    whole
        .checked_add(time::Duration::milliseconds(ms))
        .unwrap_or(whole)
        .format(STAMP)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_string())
}

/// `20261206T173935Z`, for file names that sort by time.
pub fn compact(t: SystemTime) -> String {
    utc(t)
        .format(COMPACT)
        .unwrap_or_else(|_| "00000000T000000Z".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn log_stamps_have_milliseconds() {
        let t = at(1_796_578_775) + Duration::from_millis(42);
        assert_eq!(stamp(t), "2026-12-06T17:39:35.042Z");
        assert_eq!(stamp(at(0)), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn rfc5322_dates_in_utc() {
        assert_eq!(rfc5322(at(0)), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc5322(at(951_782_400)), "Tue, 29 Feb 2000 00:00:00 +0000");
        assert_eq!(
            rfc5322(at(1_796_578_775)),
            "Sun, 06 Dec 2026 17:39:35 +0000"
        );
    }

    #[test]
    fn readable_and_compact_forms() {
        assert_eq!(readable_unix(0u64), "1970-01-01 00:00:00 UTC");
        assert_eq!(readable_unix(951_782_400 + 3723), "2000-02-29 01:02:03 UTC");
        assert_eq!(compact(at(1_700_000_000)), "20231114T221320Z");
        assert_eq!(rfc3339(at(1_700_000_000)), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339_unix(1_700_000_000), "2023-11-14T22:13:20Z");
        assert!(rfc3339_unix(u64::MAX).ends_with('Z'));
        assert_eq!(utc(at(1_700_000_000)).unix_timestamp(), 1_700_000_000);
    }

    #[test]
    fn out_of_range_times_do_not_panic() {
        assert!(readable_unix(i64::MAX).contains("UTC"));
        assert!(readable_unix(i64::MIN).contains("UTC"));
        assert!(readable_unix(u64::MAX).contains("UTC"));
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(86_400);
        assert_eq!(utc(before).unix_timestamp(), -86_400);
        assert_eq!(readable_unix(-86_400), "1969-12-31 00:00:00 UTC");
    }
}
