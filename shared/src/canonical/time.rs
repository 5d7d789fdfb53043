//! Time conventions: store UTC, group by the shop's business day.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serializer};

/// The default business time zone (SPEC: `Asia/Shanghai`).
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Asia::Shanghai;

/// The business date of an instant in a shop's time zone.
pub fn business_date(at: DateTime<Utc>, tz: Tz) -> NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// Parses an IANA time-zone name (`Asia/Shanghai`).
pub fn parse_time_zone(name: &str) -> Option<Tz> {
    name.parse().ok()
}

/// RFC 3339 with an explicit `+00:00` offset, second precision unless there are fractions.
pub fn format_utc(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// Serde helpers: (de)serialise `DateTime<Utc>` as RFC 3339, accepting any offset on input.
pub mod rfc3339 {
    use super::*;

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_utc(at))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time: {e}")))
    }
}

/// Same as [`rfc3339`] for optional times (`null` or absent is `None`).
pub mod rfc3339_opt {
    use super::*;

    pub fn serialize<S: Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => s.serialize_str(&format_utc(at)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
        match text.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => DateTime::parse_from_rfc3339(text)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|e| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn business_date_follows_the_shop_time_zone() {
        // 17:30 UTC on the 20th is 01:30 on the 21st in Shanghai.
        let at = Utc.with_ymd_and_hms(2026, 11, 20, 17, 30, 0).single().expect("valid");
        assert_eq!(business_date(at, DEFAULT_TIME_ZONE).to_string(), "2026-11-21");
        assert_eq!(business_date(at, chrono_tz::America::New_York).to_string(), "2026-11-20");
    }

    #[test]
    fn formats_with_explicit_offset() {
        let at = Utc.with_ymd_and_hms(2026, 11, 20, 6, 3, 11).single().expect("valid");
        assert_eq!(format_utc(&at), "2026-11-20T06:03:11+00:00");
    }
}
