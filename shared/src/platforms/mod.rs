//! Platform adapters: authenticate a delivery, name it, and parse it into canonical records.
//!
//! Each sender format (`shopify`, `woocommerce`, `youzan`, `standard`) has a module with the
//! same three pure functions: `verify` (constant-time), `event_key` (stable across the
//! platform's retries where it can be) and `parse` (into [`CanonicalRecord`]s). Nothing here
//! does I/O, so all of it is tested on recorded payloads in `fixtures/platforms/`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::canonical::CanonicalRecord;

mod headers;
pub mod outbound;
pub mod shopify;
pub mod signature;
pub mod standard;
pub mod woocommerce;
pub mod youzan;

pub use headers::Headers;

/// The sender format, i.e. the `{platform}` segment of `POST /webhooks/{platform}/{shop_id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Platform {
    Shopify,
    WooCommerce,
    Youzan,
    /// Standard Webhooks: our POS, mini-programs, ERP and middleware.
    Standard,
}

impl Platform {
    pub const ALL: [Platform; 4] = [Platform::Shopify, Platform::WooCommerce, Platform::Youzan, Platform::Standard];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Shopify => "shopify",
            Platform::WooCommerce => "woocommerce",
            Platform::Youzan => "youzan",
            Platform::Standard => "standard",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The route named a platform omnilake does not speak.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform `{0}` (expected shopify, woocommerce, youzan or standard)")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| UnknownPlatform(s.to_string()))
    }
}

/// Why a delivery is not authentic. All of these answer 401 and store nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    #[error("signature does not match")]
    BadSignature,
    #[error("timestamp is {skew_s} s away from now (tolerance {tolerance_s} s)")]
    StaleTimestamp { skew_s: i64, tolerance_s: i64 },
    #[error("malformed header `{0}`")]
    MalformedHeader(&'static str),
    /// The shop's stored secret is unusable: a configuration problem, not the sender's.
    #[error("the shop's secret is malformed")]
    MalformedSecret,
}

/// What an authentic delivery is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// An event to land: its key (unique per delivery, stable across retries where the
    /// platform allows) and its topic.
    Event { event_key: String, topic: String },
    /// WooCommerce's webhook-creation ping: answer 200, store nothing.
    Ping,
}

/// Authenticates a delivery for a shop whose secret is `secret`.
pub fn verify(
    platform: Platform,
    headers: &Headers,
    body: &[u8],
    secret: &str,
    now: DateTime<Utc>,
) -> Result<Verified, VerifyError> {
    match platform {
        Platform::Shopify => shopify::verify(headers, body, secret),
        Platform::WooCommerce => woocommerce::verify(headers, body, secret),
        Platform::Youzan => youzan::verify(headers, body, secret),
        Platform::Standard => standard::verify(headers, body, secret, now),
    }
}

/// What the parser knows besides the body: the route and the shop's settings.
#[derive(Debug, Clone)]
pub struct ParseContext<'a> {
    pub shop_id: &'a str,
    pub topic: &'a str,
    /// When omnilake received the delivery (used only where the body has no time at all).
    pub received_at: DateTime<Utc>,
    /// The shop's time zone, for platforms that send local times without an offset.
    pub time_zone: Tz,
    /// The shop's currency, for bodies that do not name one.
    pub currency: &'a str,
}

/// Why an authentic body could not become canonical records (it goes to quarantine).
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("body is not the expected JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Invalid(String),
    #[error("topic `{0}` is not handled")]
    UnsupportedTopic(String),
}

impl ParseError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ParseError::Invalid(message.into())
    }
}

/// Parses an authentic body into canonical records.
pub fn parse(platform: Platform, body: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<CanonicalRecord>, ParseError> {
    let records = match platform {
        Platform::Shopify => shopify::parse(body, ctx)?,
        Platform::WooCommerce => woocommerce::parse(body, ctx)?,
        Platform::Youzan => youzan::parse(body, ctx)?,
        Platform::Standard => standard::parse(body, ctx)?,
    };
    for record in &records {
        if let CanonicalRecord::Order(order) = record {
            order.validate().map_err(ParseError::Invalid)?;
        }
    }
    Ok(records)
}

/// Turns a platform id (Shopify sends numbers, others strings) into a string.
pub(crate) fn id_string(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A delivery id is usable in an S3 key only if it is short and plain; otherwise hash it.
pub(crate) fn key_from_delivery_id(prefix: &str, id: &str) -> String {
    let plain = !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if plain {
        format!("{prefix}-{id}")
    } else {
        format!("{prefix}-{}", signature::sha256_hex(id.as_bytes()))
    }
}

/// Parses a time that may carry an offset (RFC 3339) or be local to `tz`
/// (`2026-11-20 14:03:11`, `2026-11-20T14:03:11`).
pub fn parse_time(text: &str, tz: Tz) -> Result<DateTime<Utc>, ParseError> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return tz
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| ParseError::invalid(format!("`{text}` does not exist in {tz}")));
        }
    }
    Err(ParseError::invalid(format!("`{text}` is not a time")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_names_round_trip() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>(), Ok(p));
        }
        assert!("bigcommerce".parse::<Platform>().is_err());
    }

    #[test]
    fn delivery_ids_become_safe_keys() {
        assert_eq!(key_from_delivery_id("shopify", "b54557e4-bdd9"), "shopify-b54557e4-bdd9");
        let odd = key_from_delivery_id("standard", "msg/../../etc");
        assert!(odd.starts_with("standard-") && !odd.contains('/'));
    }

    #[test]
    fn local_times_use_the_shop_time_zone() {
        let t = parse_time("2026-11-20 14:03:11", chrono_tz::Asia::Shanghai).expect("time");
        assert_eq!(t.to_rfc3339(), "2026-11-20T06:03:11+00:00");
        let t = parse_time("2026-11-20T14:03:11+08:00", chrono_tz::UTC).expect("time");
        assert_eq!(t.to_rfc3339(), "2026-11-20T06:03:11+00:00");
        assert!(parse_time("yesterday", chrono_tz::UTC).is_err());
    }
}
