//! Instants and business days as plain integers: the rollup handles millions of timestamps, so it
//! keeps them as microseconds since the epoch and days since 1970-01-01 instead of chrono values.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Offset, TimeZone};
use chrono_tz::Tz;

/// Days since 1970-01-01 (a business date).
pub type Day = i32;

const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// Parses an RFC 3339 time (`2026-10-01T08:15:00Z`, `…+08:00`, fractional seconds) to
/// microseconds since the epoch. The common shapes take a fast path; anything else goes to chrono.
pub fn parse_instant(text: &str) -> Option<i64> {
    fast_rfc3339(text.as_bytes()).or_else(|| {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.timestamp() * MICROS_PER_SEC + i64::from(t.timestamp_subsec_micros()))
    })
}

fn digits(b: &[u8]) -> Option<i64> {
    let mut n = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
    }
    Some(n)
}

fn fast_rfc3339(b: &[u8]) -> Option<i64> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return None;
    }
    if b[16] != b':' {
        return None;
    }
    let (year, month, day) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (hour, minute, second) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut micros = 0i64;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        let frac = &rest[1..1 + n];
        let kept = &frac[..n.min(6)];
        micros = digits(kept)? * 10i64.pow(6 - kept.len() as u32);
        rest = &rest[1 + n..];
    }
    let offset_secs = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let secs = digits(&[*h1, *h2])? * 3600 + digits(&[*m1, *m2])? * 60;
            if *sign == b'-' {
                -secs
            } else {
                secs
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    if day > days_in_month(year, month) {
        return None;
    }
    let secs = days * SECS_PER_DAY + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * MICROS_PER_SEC + micros)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn day_of(date: NaiveDate) -> Day {
    (date - epoch_date()).num_days() as Day
}

pub fn date_of(day: Day) -> NaiveDate {
    epoch_date() + chrono::Duration::days(i64::from(day))
}

fn epoch_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// Local business day and hour of instants in one time zone. Offsets are memoised per
/// 15-minute slot of UTC time (every zone in use changes offset on such a boundary), which keeps
/// millions of conversions cheap without trusting a fixed offset across a DST change.
#[derive(Debug, Clone)]
pub struct LocalClock {
    tz: Tz,
    // Looked up for every instant of the day: a fast integer hash, not SipHash.
    offsets: HashMap<i64, i64, super::partial::IntHash>,
}

const SLOT_SECS: i64 = 900;

impl LocalClock {
    pub fn new(tz: Tz) -> Self {
        LocalClock { tz, offsets: HashMap::default() }
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    fn local_secs(&mut self, micros: i64) -> i64 {
        let secs = micros.div_euclid(MICROS_PER_SEC);
        let slot = secs.div_euclid(SLOT_SECS);
        let tz = self.tz;
        let offset = *self.offsets.entry(slot).or_insert_with(|| {
            DateTime::from_timestamp(slot * SLOT_SECS, 0)
                .map(|utc| i64::from(tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc()))
                .unwrap_or(0)
        });
        secs + offset
    }

    /// The business day of an instant in this zone.
    pub fn day(&mut self, micros: i64) -> Day {
        self.local_secs(micros).div_euclid(SECS_PER_DAY) as Day
    }

    /// The business day and local hour (0–23) of an instant.
    pub fn day_hour(&mut self, micros: i64) -> (Day, i32) {
        let local = self.local_secs(micros);
        (local.div_euclid(SECS_PER_DAY) as Day, (local.rem_euclid(SECS_PER_DAY) / 3600) as i32)
    }

    /// The instant (µs) a business day starts in this zone.
    pub fn start_of(&self, day: Day) -> i64 {
        let date = date_of(day);
        let midnight = date.and_hms_opt(0, 0, 0).unwrap_or_default();
        let start = self
            .tz
            .from_local_datetime(&midnight)
            .earliest()
            .map_or_else(|| midnight.and_utc().timestamp() - 12 * 3600, |t| t.timestamp());
        start * MICROS_PER_SEC
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono_micros(text: &str) -> i64 {
        let t = DateTime::parse_from_rfc3339(text).expect("valid");
        t.timestamp() * MICROS_PER_SEC + i64::from(t.timestamp_subsec_micros())
    }

    #[test]
    fn fast_path_agrees_with_chrono() {
        for text in [
            "2026-10-01T00:00:00Z",
            "2026-10-01T23:59:59.123456Z",
            "2024-02-29T12:00:00.5+08:00",
            "1999-12-31T23:30:00-05:30",
            "2026-03-29T01:59:59.999999999+01:00",
        ] {
            assert_eq!(fast_rfc3339(text.as_bytes()), Some(chrono_micros(text)), "{text}");
        }
    }

    #[test]
    fn odd_shapes_fall_back_or_fail() {
        assert_eq!(fast_rfc3339(b"2026-02-30T00:00:00Z"), None);
        assert_eq!(parse_instant("2026-02-30T00:00:00Z"), None);
        assert_eq!(parse_instant("not a time"), None);
        assert_eq!(parse_instant("2026-10-01t08:00:00z"), Some(chrono_micros("2026-10-01T08:00:00Z")));
    }

    #[test]
    fn local_day_and_hour_follow_dst() {
        let mut berlin = LocalClock::new(chrono_tz::Europe::Berlin);
        // 2026-10-25 01:30 UTC is 02:30 CET after the change back at 01:00 UTC (03:00 CEST).
        let at = parse_instant("2026-10-25T01:30:00Z").expect("valid");
        let (day, hour) = berlin.day_hour(at);
        assert_eq!(date_of(day), NaiveDate::from_ymd_opt(2026, 10, 25).expect("date"));
        assert_eq!(hour, 2);
        let before = parse_instant("2026-10-25T00:30:00Z").expect("valid");
        assert_eq!(berlin.day_hour(before).1, 2, "00:30 UTC is 02:30 CEST");
        let mut shanghai = LocalClock::new(chrono_tz::Asia::Shanghai);
        let late = parse_instant("2026-10-01T16:00:00Z").expect("valid");
        assert_eq!(date_of(shanghai.day(late)), NaiveDate::from_ymd_opt(2026, 10, 2).expect("date"));
        let day = shanghai.day(late);
        assert_eq!(shanghai.start_of(day), late);
    }
}
